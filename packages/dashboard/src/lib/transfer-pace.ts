// Each node's transfer pace as the Data movement panel shows it, and the cap an operator
// types in to change it (PUT /jobs/pace; docs/design.md, "Background work and overload").
// A cap counts decimal megabytes per second and 0 means none. The table's other setting,
// the background floor, reads and parses in background-floor.ts; both are a PaceField, so
// one control sends either. A change goes to the serving node with ?node=<id>, which
// forwards it, like pause and resume (job-control.ts).
import type { Pace, PaceUpdate } from '@ringkv/client';
import { describeError } from './error-text.js';

/** `no cap` for 0, otherwise the cap as set: `7 MB/s`, `0.5 MB/s`, `1,500 MB/s`. */
export function describeTransferCap(transferMbPerSecond: number): string {
  if (!Number.isFinite(transferMbPerSecond) || transferMbPerSecond < 0) return '–';
  if (transferMbPerSecond === 0) return 'no cap';
  return `${transferMbPerSecond.toLocaleString('en-US', { maximumFractionDigits: 2 })} MB/s`;
}

/** A typed field read: the change to send, or why it is refused before anything is sent. */
export type PaceInput = { ok: true; update: PaceUpdate } | { ok: false; reason: string };

/**
 * Reads the cap field. An empty field is refused rather than read as 0, so that pressing
 * Set by mistake cannot lift a cap; the node checks the upper bound and says so.
 */
export function parseTransferCap(text: string): PaceInput {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, reason: 'Enter a cap in MB/s (0 lifts the cap).' };
  const value = Number(trimmed);
  if (!Number.isFinite(value) || value < 0) return { ok: false, reason: 'The cap is a number of MB/s, 0 or more (0 lifts the cap).' };
  return { ok: true, update: { transferMbPerSecond: value } };
}

/**
 * One setting the Pace table offers a field and a Set for per node: how the field reads,
 * what Set sends and how the outcome reads. Plain data, so the control stays one component.
 */
export interface PaceField {
  /** Names the field's CSS class, `pace-control-<name>`. */
  name: string;
  /** Heading of the table's column of these fields. */
  heading: string;
  /** Inserted after `pace-<node>` in the ids of the field, its Set and its outcome. */
  idPart: string;
  /** The unit, shown in the empty field. */
  placeholder: string;
  /** Hints for the browser's number field; parse is what enforces the bounds. */
  min: number;
  max?: number;
  step: number | 'any';
  /** The field's label and the button's name, for assistive technology. */
  fieldLabel: (node: string) => string;
  buttonLabel: (node: string) => string;
  parse: (text: string) => PaceInput;
  describeAnswer: (pace: Pace) => string;
  describeError: (error: unknown) => string;
}

/** A Set answer: the node's pace right after the change. */
export interface PaceAnswer {
  pace: Pace;
  /** Browser time the answer arrived. */
  atMs: number;
}

/**
 * The polled paces with each answered change applied until a poll newer than the answer
 * arrives, so the list shows a new cap or floor at once rather than up to one poll later.
 */
export function withPaceAnswers(paces: readonly Pace[], answers: ReadonlyMap<string, PaceAnswer>, polledAtMs: number | null): Pace[] {
  return paces.map((pace) => {
    const answer = answers.get(pace.node);
    return answer !== undefined && (polledAtMs === null || answer.atMs > polledAtMs) ? answer.pace : pace;
  });
}

/** What a Set of the cap answered, in one sentence. */
export function describeTransferCapAnswer(pace: Pace): string {
  return pace.transferMbPerSecond === 0
    ? `${pace.node} now receives transfers with no cap.`
    : `${pace.node} now receives transfers at up to ${describeTransferCap(pace.transferMbPerSecond)}.`;
}

/** Why a Set of the cap failed, quoting the node's problem detail. */
export function describeTransferCapError(error: unknown): string {
  return `Setting the cap failed: ${describeError(error)}`;
}

/** The cap's field: its ids predate the floor's, so they have no part of their own. */
export const transferCapField: PaceField = {
  name: 'cap',
  heading: 'Set cap',
  idPart: '',
  placeholder: 'MB/s',
  min: 0,
  step: 'any',
  fieldLabel: (node) => `New transfer cap of ${node} in MB/s, 0 for no cap`,
  buttonLabel: (node) => `Set the transfer cap of ${node}`,
  parse: parseTransferCap,
  describeAnswer: describeTransferCapAnswer,
  describeError: describeTransferCapError,
};
