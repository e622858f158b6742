// Checks the cluster-wide scan's merge and cut: table cases of members' pages with `more`,
// then a differential property test that pages through random members' engines (real
// MemoryEngines behind an in-process transport) and must return exactly the newest copy of
// every key, once, in UTF-8 order, also with members failing or sending malformed pages.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import { scanRecordsLimitMax, scanRecordsReplyBytesMax } from '../limits.js';
import type { MemberAddress, PeerReply, ScanRecordsRequest } from '../protocol/messages.js';
import { PeerError, type Transport } from '../protocol/transport.js';
import { compareUtf8 } from '../keys.js';
import { loadKeyHasher, type KeyHasher } from '../ring/hash.js';
import { MemoryEngine } from '../storage/memory-engine.js';
import { formatVersion, supersedes, type StoredRecord } from '../storage/record.js';
import { mergeScanPages, scanClusterPage, scannedRecordsOf, ScanUnavailableError, type KeyScanDeps, type MemberScanPage } from './key-scan.js';

let hash: KeyHasher;
before(async () => {
  hash = await loadKeyHasher();
});

function value(hlc: number, nodeId = 'a'): StoredRecord {
  return { value: hlc, hlc, nodeId, tombstone: false };
}

function page(nodeId: string, keys: Array<[string, number]>, more: boolean): MemberScanPage {
  return { nodeId, entries: keys.map(([key, hlc]) => [key, value(hlc, nodeId)] as const), more };
}

function keysOf(entries: ReadonlyArray<readonly [string, StoredRecord]>): string[] {
  return entries.map(([key]) => key);
}

describe('mergeScanPages', () => {
  it('cuts at the smallest last key among members that have more, so no member skips keys', () => {
    const merged = mergeScanPages(
      [page('n1', [['a', 1], ['c', 1], ['e', 1]], true), page('n2', [['b', 1], ['d', 1]], true), page('n3', [['a', 1], ['f', 1]], false)],
      10,
    );
    // n2 may hold keys after d that n1 and n3 sorted after it too: the page ends at d.
    assert.deepEqual(keysOf(merged.entries), ['a', 'b', 'c', 'd']);
    assert.equal(merged.next, 'd');
  });

  it('takes every key and ends the scan when no member has more', () => {
    const merged = mergeScanPages([page('n1', [['a', 1], ['z', 1]], false), page('n2', [['m', 1]], false)], 10);
    assert.deepEqual(keysOf(merged.entries), ['a', 'm', 'z']);
    assert.equal(merged.next, null);
  });

  it('keeps the newest version of a key that several members hold, tombstones included', () => {
    const tombstone: StoredRecord = { value: undefined, hlc: 9, nodeId: 'n2', tombstone: true };
    const merged = mergeScanPages(
      [
        { nodeId: 'n1', entries: [['k', value(5, 'n1')], ['t', value(3, 'n1')]], more: false },
        { nodeId: 'n2', entries: [['k', value(5, 'n2')], ['t', tombstone]], more: false },
        { nodeId: 'n3', entries: [['k', value(4, 'n3')]], more: false },
      ],
      10,
    );
    assert.deepEqual(
      merged.entries.map(([key, record]) => `${key}@${formatVersion(record)}${record.tombstone ? ' deleted' : ''}`),
      ['k@5-n2', 't@9-n2 deleted'],
    );
  });

  it('holds at most limit entries and resumes after the last one', () => {
    const merged = mergeScanPages([page('n1', [['a', 1], ['c', 1]], false), page('n2', [['b', 1], ['d', 1]], false)], 3);
    assert.deepEqual(keysOf(merged.entries), ['a', 'b', 'c']);
    assert.equal(merged.next, 'c');
  });

  it('orders keys by UTF-8 bytes as the engines do, not by UTF-16 units', () => {
    const astral = '\u{1F600}';
    const merged = mergeScanPages([page('n1', [['\uFFFD', 1], [astral, 1]], false), page('n2', [['a', 1]], false)], 10);
    assert.deepEqual(keysOf(merged.entries), ['a', '\uFFFD', astral]);
  });
});

describe('scannedRecordsOf', () => {
  it('answers one page after the cursor under the prefix, tombstones included, and says whether more remain', async () => {
    const engine = new MemoryEngine(hash);
    for (const key of ['p/a', 'p/b', 'p/c', 'q/a']) await engine.apply(key, value(1));
    await engine.apply('p/d', { value: undefined, hlc: 2, nodeId: 'a', tombstone: true });
    const first = await scannedRecordsOf(engine, { type: 'scanRecords', prefix: 'p/', after: 'p/a', limit: 2 });
    assert.ok(first.type === 'scannedRecords');
    assert.deepEqual(keysOf(first.entries), ['p/b', 'p/c']);
    assert.equal(first.more, true);
    const last = await scannedRecordsOf(engine, { type: 'scanRecords', prefix: 'p/', after: 'p/c', limit: 2 });
    assert.ok(last.type === 'scannedRecords');
    assert.deepEqual(keysOf(last.entries), ['p/d']);
    assert.equal(last.more, false);
  });

  it('stops early once the values pass the byte bound, and never answers more than the limit allows', async () => {
    const engine = new MemoryEngine(hash);
    const big = 'x'.repeat(Math.ceil(scanRecordsReplyBytesMax / 3));
    for (const key of ['a', 'b', 'c', 'd', 'e']) await engine.apply(key, { value: big, hlc: 1, nodeId: 'a', tombstone: false });
    const reply = await scannedRecordsOf(engine, { type: 'scanRecords', prefix: '', after: null, limit: 10 });
    assert.ok(reply.type === 'scannedRecords');
    assert.deepEqual(keysOf(reply.entries), ['a', 'b', 'c']);
    assert.equal(reply.more, true);
    const huge = await scannedRecordsOf(engine, { type: 'scanRecords', prefix: '', after: null, limit: scanRecordsLimitMax * 10 });
    assert.ok(huge.type === 'scannedRecords' && huge.entries.length <= scanRecordsLimitMax);
  });
});

/** Members over real engines, member i answering at most limit/(i+1) records; `failing` ones time out, `malformed` ones answer out of order. */
async function membersOf(holdings: ReadonlyArray<ReadonlyArray<[string, StoredRecord]>>, failing: ReadonlySet<number>, malformed: ReadonlySet<number>) {
  const engines = await Promise.all(
    holdings.map(async (records) => {
      const engine = new MemoryEngine(hash);
      for (const [key, record] of records) await engine.apply(key, record);
      return engine;
    }),
  );
  const members: MemberAddress[] = engines.map((_engine, index) => ({ nodeId: `n${index}`, address: `a${index}` }));
  const answer = async (index: number, request: ScanRecordsRequest): Promise<PeerReply> => {
    if (failing.has(index)) throw new PeerError('timeout', `n${index} timed out`, true);
    // Members stop short of the limit as a byte-bounded reply does: only the cut keeps their later keys.
    const reply = await scannedRecordsOf(engines[index] as MemoryEngine, { ...request, limit: Math.ceil(request.limit / (index + 1)) });
    if (!malformed.has(index) || reply.type !== 'scannedRecords') return reply;
    return { ...reply, entries: [...reply.entries].reverse() };
  };
  const transport: Transport = {
    request: async (address, body) => answer(Number(address.slice(1)), body as ScanRecordsRequest) as never,
  };
  return { members, answer, transport };
}

/** The naive reference: every key any member holds, with its newest version, in UTF-8 order. */
function reference(holdings: ReadonlyArray<ReadonlyArray<[string, StoredRecord]>>, prefix: string): string[] {
  const newest = new Map<string, StoredRecord>();
  for (const records of holdings) for (const [key, record] of records) if (key.startsWith(prefix) && supersedes(record, newest.get(key))) newest.set(key, record);
  return [...newest.entries()].sort(([a], [b]) => compareUtf8(a, b)).map(([key, record]) => `${key}@${formatVersion(record)}`);
}

const scanKey = fc.oneof(fc.constantFrom('a', 'a/b', 'a/c', 'b', '\uFFFD', '\u{1F600}', 'é'), fc.string({ minLength: 1, maxLength: 4 }));
const holding = fc.array(
  fc.tuple(scanKey, fc.integer({ min: 1, max: 5 }), fc.constantFrom('n0', 'n1', 'n2'), fc.boolean()).map(
    ([key, hlc, nodeId, tombstone]) => [key, { value: tombstone ? undefined : `${hlc}`, hlc, nodeId, tombstone }] as [string, StoredRecord],
  ),
  { maxLength: 25 },
);

describe('scanClusterPage, paged to the end', () => {
  it('returns the newest copy of every key exactly once, in order, whatever the page size', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(holding, { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 6 }), fc.constantFrom('', 'a'), async (holdings, limit, prefix) => {
        const { members, answer, transport } = await membersOf(holdings, new Set(), new Set());
        const deps: KeyScanDeps = { selfId: 'n0', members: () => members, isAvailable: () => true, replicas: 3, local: (request) => answer(0, request), transport, timeoutMs: 100 };
        const seen: string[] = [];
        let after: string | null = null;
        for (let pages = 0; pages < 1000; pages++) {
          const merged = await scanClusterPage(deps, { prefix, after, limit });
          assert.ok(merged.entries.length <= limit);
          seen.push(...merged.entries.map(([key, record]) => `${key}@${formatVersion(record)}`));
          if (merged.next === null) break;
          after = merged.next;
        }
        assert.deepEqual(seen, reference(holdings, prefix));
      }),
      { numRuns: 300 },
    );
  });

  it('tolerates N minus a majority of N members that fail or answer out of order (one of three), and names them', async () => {
    const everywhere: Array<[string, StoredRecord]> = [['k1', value(1)], ['k2', value(2)]];
    for (const [failing, malformed] of [[new Set([1]), new Set<number>()], [new Set<number>(), new Set([2])]] as const) {
      const { members, answer, transport } = await membersOf([everywhere, everywhere, everywhere], failing, malformed);
      const deps: KeyScanDeps = { selfId: 'n0', members: () => members, isAvailable: () => true, replicas: 3, local: (request) => answer(0, request), transport, timeoutMs: 100 };
      const merged = await scanClusterPage(deps, { prefix: '', after: null, limit: 10 });
      assert.deepEqual(keysOf(merged.entries), ['k1', 'k2']);
      assert.deepEqual(merged.unanswered, failing.size > 0 ? ['n1'] : ['n2']);
    }
    // Two of three missing could hide a key written at quorum (on two replicas): refused.
    const { members, answer, transport } = await membersOf([everywhere, everywhere, everywhere], new Set([1]), new Set([2]));
    const deps: KeyScanDeps = { selfId: 'n0', members: () => members, isAvailable: () => true, replicas: 3, local: (request) => answer(0, request), transport, timeoutMs: 100 };
    await assert.rejects(scanClusterPage(deps, { prefix: '', after: null, limit: 10 }), ScanUnavailableError);
  });

  it('refuses when more members did not answer: a key could have lost every replica that answers', async () => {
    const everywhere: Array<[string, StoredRecord]> = [['k1', value(1)]];
    const { members, answer, transport } = await membersOf([everywhere, everywhere, everywhere, everywhere], new Set([1, 2]), new Set());
    const deps: KeyScanDeps = {
      selfId: 'n0',
      members: () => members,
      isAvailable: (nodeId) => nodeId !== 'n3',
      replicas: 3,
      local: (request) => answer(0, request),
      transport,
      timeoutMs: 100,
    };
    await assert.rejects(scanClusterPage(deps, { prefix: '', after: null, limit: 10 }), (error: unknown) => {
      assert.ok(error instanceof ScanUnavailableError);
      assert.deepEqual(error.unanswered, ['n1', 'n2', 'n3']);
      assert.match(error.message, /n3: known to be down/);
      return true;
    });
  });
});
