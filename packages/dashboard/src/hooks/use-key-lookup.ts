// Reads a key and asks every replica which version it holds, at the same time. Only
// the answer to the latest request is kept, so a slow earlier look-up cannot overwrite it.
import { useCallback, useRef, useState } from 'react';
import type { ConsistencyLevel, KeyReplicas, StoredValue } from '@ringkv/client';
import { client } from '../cluster-client';
import { describeError } from '../lib/error-text';

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
    };

export interface LookupOptions {
  /** Skip the read (e.g. right after a delete, when absence is known) and fetch only replicas. */
  replicasOnly?: boolean;
}

export function useKeyLookup() {
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
    setLookup({
      kind: 'done',
      key,
      stored: read.status === 'fulfilled' ? read.value : undefined,
      readError: read.status === 'rejected' ? describeError(read.reason) : null,
      replicas: replicas.status === 'fulfilled' ? replicas.value : null,
      replicasError: replicas.status === 'rejected' ? describeError(replicas.reason) : null,
    });
  }, []);

  return { lookup, run };
}
