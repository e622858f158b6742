// Each node's transfer pace as the Data movement panel shows it, and the cap an operator
// types in to change it (PUT /jobs/pace; docs/design.md, "Background work and overload").
// A cap counts decimal megabytes per second and 0 means none. The change goes to the serving
// node with ?node=<id>, which forwards it, like pause and resume (job-control.ts).
import type { Pace } from '@ringkv/client';
import { describeError } from './error-text.js';

/** `no cap` for 0, otherwise the cap as set: `7 MB/s`, `0.5 MB/s`, `1,500 MB/s`. */
export function describeTransferCap(transferMbPerSecond: number): string {
  if (!Number.isFinite(transferMbPerSecond) || transferMbPerSecond < 0) return '–';
  if (transferMbPerSecond === 0) return 'no cap';
  return `${transferMbPerSecond.toLocaleString('en-US', { maximumFractionDigits: 2 })} MB/s`;
}

export type TransferCapInput = { ok: true; transferMbPerSecond: number } | { ok: false; reason: string };

/**
 * Reads the cap field. An empty field is refused rather than read as 0, so that pressing
 * Set by mistake cannot lift a cap; the node checks the upper bound and says so.
 */
export function parseTransferCap(text: string): TransferCapInput {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, reason: 'Enter a cap in MB/s (0 lifts the cap).' };
  const value = Number(trimmed);
  if (!Number.isFinite(value) || value < 0) return { ok: false, reason: 'The cap is a number of MB/s, 0 or more (0 lifts the cap).' };
  return { ok: true, transferMbPerSecond: value };
}

/** A Set answer: the node's pace right after the change. */
export interface PaceAnswer {
  pace: Pace;
  /** Browser time the answer arrived. */
  atMs: number;
}

/**
 * The polled paces with each answered change applied until a poll newer than the answer
 * arrives, so the list shows a new cap at once rather than up to one poll later.
 */
export function withPaceAnswers(paces: readonly Pace[], answers: ReadonlyMap<string, PaceAnswer>, polledAtMs: number | null): Pace[] {
  return paces.map((pace) => {
    const answer = answers.get(pace.node);
    return answer !== undefined && (polledAtMs === null || answer.atMs > polledAtMs) ? answer.pace : pace;
  });
}

/** What a Set answered, in one sentence. */
export function describePaceAnswer(pace: Pace): string {
  return pace.transferMbPerSecond === 0
    ? `${pace.node} now receives transfers with no cap.`
    : `${pace.node} now receives transfers at up to ${describeTransferCap(pace.transferMbPerSecond)}.`;
}

/** Why a Set failed, quoting the node's problem detail. */
export function describePaceError(error: unknown): string {
  return `Setting the cap failed: ${describeError(error)}`;
}
