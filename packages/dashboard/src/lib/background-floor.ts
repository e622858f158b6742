// A node's background floor as the Pace table shows it and an operator types it in: the
// smallest share of time its background jobs (transfers, cleanups, repair) keep however
// busy its clients are (backgroundShareMin of PUT /jobs/pace; docs/design.md, "Background
// work and overload"). Raising it ends a join or leave sooner and makes clients wait
// longer meanwhile; 1 means background work never gives way. The node starts again from
// --background-share-min when it restarts. Shown and typed in percent, like the share
// beside it.
import type { Pace } from '@ringkv/client';
import { describeError } from './error-text.js';
import { formatPercent } from './format.js';
import type { PaceField, PaceInput } from './transfer-pace.js';

/** The node's bound on the floor, in the percent the field takes (PaceUpdateSchema: 0.01 to 1). */
export const backgroundFloorPercentMin = 1;
export const backgroundFloorPercentMax = 100;

/** `10%`: whole percents, as the field takes them and the share column shows. */
export function describeBackgroundFloor(backgroundShareMin: number): string {
  return formatPercent(backgroundShareMin, 0);
}

/**
 * Reads the floor field, a whole percent. A fraction of a percent is refused rather than
 * rounded: the column shows whole percents, so 12.5 would read back as 13%, and the node's
 * own lower bound is 1%. The range is checked here, in the unit typed, since the node's
 * refusal would quote it as a fraction.
 */
export function parseBackgroundFloor(text: string): PaceInput {
  const trimmed = text.trim();
  const range = `${backgroundFloorPercentMin} to ${backgroundFloorPercentMax}`;
  if (trimmed === '') return { ok: false, reason: `Enter a floor in percent, ${range}.` };
  const percent = Number(trimmed);
  if (!Number.isInteger(percent) || percent < backgroundFloorPercentMin || percent > backgroundFloorPercentMax) {
    return { ok: false, reason: `The floor is a whole percent from ${range}.` };
  }
  return { ok: true, update: { backgroundShareMin: percent / 100 } };
}

/** What a Set of the floor answered, in one sentence. */
export function describeBackgroundFloorAnswer(pace: Pace): string {
  return pace.backgroundShareMin >= 1
    ? `${pace.node}'s background jobs now never give way to client load.`
    : `${pace.node}'s background jobs now keep at least ${describeBackgroundFloor(pace.backgroundShareMin)} of its time under client load.`;
}

/** Why a Set of the floor failed, quoting the node's problem detail. */
export function describeBackgroundFloorError(error: unknown): string {
  return `Setting the background floor failed: ${describeError(error)}`;
}

export const backgroundFloorField: PaceField = {
  name: 'floor',
  heading: 'Set floor',
  idPart: '-floor',
  placeholder: '%',
  min: backgroundFloorPercentMin,
  max: backgroundFloorPercentMax,
  step: 1,
  fieldLabel: (node) => `New background floor of ${node} in percent, ${backgroundFloorPercentMin} to ${backgroundFloorPercentMax}`,
  buttonLabel: (node) => `Set the background floor of ${node}`,
  parse: parseBackgroundFloor,
  describeAnswer: describeBackgroundFloorAnswer,
  describeError: describeBackgroundFloorError,
};
