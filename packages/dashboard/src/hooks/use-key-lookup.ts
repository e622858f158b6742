// Reads a key and asks every replica which version it holds, at the same time. Only
// the answer to the latest request is kept, so a slow earlier look-up cannot overwrite it.
// A key the token may not reach (outside its prefix) is refused by the node for both
// requests; that is kept as one refusal, quoted once, rather than two errors.
import { useCallback, useRef, useState } from 'react';
import type { ConsistencyLevel, KeyReplicas, StoredValue } from '@ringkv/client';
import { describeRefusal } from '../lib/access';
import { describeError } from '../lib/error-text';
import { useDashboardSession } from '../session-context';

export type KeyLookup =
  | { kind: 'idle' }
  | { kind: 'loading'; key: string }
  | {
      kind: 'done';
      key: string;
      /** The read's answer; null when the key is absent or deleted, undefined when not read. */
      stored: StoredValue | null | undefined;
      readError: string | null;
      replicas: KeyReplicas | null;
      replicasError: string | null;
      /** Why the node refused the token this key (403), quoting it; null when it did not. */
      refusal: string | null;
    };

export interface LookupOptions {
  /** Skip the read (e.g. right after a delete, when absence is known) and fetch only replicas. */
  replicasOnly?: boolean;
}

export function useKeyLookup() {
  const { client } = useDashboardSession().api;
  const [lookup, setLookup] = useState<KeyLookup>({ kind: 'idle' });
  const latestRequest = useRef(0);

  const run = useCallback(async (key: string, level: ConsistencyLevel, options: LookupOptions = {}) => {
    const request = ++latestRequest.current;
    setLookup({ kind: 'loading', key });
    const [read, replicas] = await Promise.allSettled([
      options.replicasOnly ? Promise.resolve(undefined) : client.get(key, level),
      client.replicas(key),
    ]);
    if (request !== latestRequest.current) return;
    const readRefusal = read.status === 'rejected' ? describeRefusal(read.reason) : null;
    const replicasRefusal = replicas.status === 'rejected' ? describeRefusal(replicas.reason) : null;
    setLookup({
      kind: 'done',
      key,
      stored: read.status === 'fulfilled' ? read.value : undefined,
      readError: read.status === 'rejected' && readRefusal === null ? describeError(read.reason) : null,
      replicas: replicas.status === 'fulfilled' ? replicas.value : null,
      replicasError: replicas.status === 'rejected' && replicasRefusal === null ? describeError(replicas.reason) : null,
      refusal: readRefusal ?? replicasRefusal,
    });
  }, [client]);

  return { lookup, run };
}
