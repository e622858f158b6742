// Building POST /batch requests and reading their answers (issue 11, part 4). A batch runs
// many puts, gets and deletes in one request; each op's result is the status and body its
// single request would have had. Not atomic: an op that failed undoes nothing before it.
import type { BatchAnswer, BatchOp, BatchResult } from './batch-schemas.js';
import type { ConsistencyLevel, DeleteResult, Problem, StoredValue } from './types.js';

/**
 * The ops one batch may carry on a node with default limits (batchOpsMax in the core's
 * limits.ts; @ringkv/client imports nothing from the core). A larger batch is refused with 413.
 */
export const batchOpsMaxDefault = 1000;

export interface BatchPutOptions {
  /** Write consistency; not with a condition (a majority of the key's replicas decides those). */
  w?: ConsistencyLevel;
  /** Only if the key's current version is exactly this one (a `version` an answer gave). */
  ifMatch?: string;
  /** Only if the key is absent or deleted. */
  ifAbsent?: boolean;
  /** Seconds until the key expires (1..630720000), as `ttl` on a single put. */
  ttl?: number;
}

export interface BatchDeleteOptions {
  w?: ConsistencyLevel;
  ifMatch?: string;
}

export function putOp(key: string, value: unknown, options: BatchPutOptions = {}): BatchOp {
  return {
    op: 'put',
    key,
    value,
    ...(options.w !== undefined ? { w: String(options.w) } : {}),
    ...(options.ifMatch !== undefined ? { ifMatch: options.ifMatch } : {}),
    ...(options.ifAbsent === true ? { ifNoneMatch: '*' as const } : {}),
    ...(options.ttl !== undefined ? { ttl: options.ttl } : {}),
  };
}

/** A read; `serial` is linearizable with conditional writes. */
export function getOp(key: string, r?: ConsistencyLevel | 'serial'): BatchOp {
  return { op: 'get', key, ...(r !== undefined ? { r: String(r) } : {}) };
}

export function deleteOp(key: string, options: BatchDeleteOptions = {}): BatchOp {
  return {
    op: 'delete',
    key,
    ...(options.w !== undefined ? { w: String(options.w) } : {}),
    ...(options.ifMatch !== undefined ? { ifMatch: options.ifMatch } : {}),
  };
}

/** A result that failed (4xx or 5xx): its body is problem details. */
export function isFailedResult(result: BatchResult): result is { status: number; body: Problem } {
  return result.status >= 400;
}

/** The body of a successful put or get result. */
export function storedValueOf(result: BatchResult): StoredValue | undefined {
  return result.status === 200 && 'value' in result.body ? (result.body as StoredValue) : undefined;
}

/** The body of a successful delete result. */
export function deleteResultOf(result: BatchResult): DeleteResult | undefined {
  return result.status === 200 && 'deleted' in result.body ? (result.body as DeleteResult) : undefined;
}

/**
 * Runs any number of ops as consecutive batches of at most `opsPerBatch`, and answers one
 * result per op, in order. Ops on one key keep their order (the batches run one at a time).
 * A batch the node refuses whole (400, 413, 503) rejects, with the ops before it already done.
 */
export async function runBatches(client: { batch(ops: readonly BatchOp[]): Promise<BatchAnswer> }, ops: readonly BatchOp[], opsPerBatch = batchOpsMaxDefault): Promise<BatchResult[]> {
  if (!Number.isInteger(opsPerBatch) || opsPerBatch < 1) throw new RangeError(`opsPerBatch must be a whole number of at least 1, not ${opsPerBatch}`);
  const results: BatchResult[] = [];
  for (let start = 0; start < ops.length; start += opsPerBatch) {
    const answer = await client.batch(ops.slice(start, start + opsPerBatch));
    results.push(...answer.results);
  }
  return results;
}
