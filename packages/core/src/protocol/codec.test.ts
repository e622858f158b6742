// Property tests for peer frames: every message survives encode, arbitrary chunking and
// decode unchanged (values holding "__proto__" keys included, carried as JSON text);
// malformed and oversized input becomes a CodecError, and so does an incarnation no
// member could ever refute (above incarnationMax).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { pack } from 'msgpackr';
import { frameBytesMax, incarnationMax, peerFrameBytesMaxUnauthenticated } from '../limits.js';
import { carriedValue, JsonText, plainValue } from '../storage/json-text.js';
import type { StoredRecord } from '../storage/record.js';
import { CodecError, decodeFrame, encodeFrame } from './codec.js';
import { FrameDecoder } from './frame-decoder.js';
import type { Frame, PeerReply, PeerRequest } from './messages.js';

const nodeId = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/);
const member = fc.record({ nodeId, address: fc.string({ maxLength: 30 }) });
const update = fc.record({
  nodeId,
  address: fc.string({ maxLength: 30 }),
  state: fc.constantFrom('up' as const, 'suspect' as const, 'down' as const),
  incarnation: fc.nat(),
  ring: fc.constantFrom('standby' as const, 'joining' as const, 'normal' as const, 'leaving' as const, 'left' as const),
  synced: fc.nat(),
  horizon: fc.nat(),
  serving: fc.boolean(),
  epoch: fc.nat(),
  life: fc.nat(),
});
/** A data request routed by the ring carries its state's epoch (at least 1) and ring digest; one not routed carries neither. */
const routed = fc.option(fc.record({ epoch: fc.integer({ min: 1, max: 2 ** 31 }), digest: fc.nat({ max: 2 ** 32 - 1 }) }), { nil: undefined });
/** JSON whose objects often hold "__proto__" keys, built as text so JSON.parse makes them own properties. */
const protoKeyText = fc.letrec<{ value: string; leaf: string; array: string; object: string }>((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, tie('leaf'), tie('array'), tie('object')),
  leaf: fc.jsonValue({ maxDepth: 0 }).map((leaf) => JSON.stringify(leaf)),
  array: fc.array(tie('value'), { maxLength: 3 }).map((items) => `[${items.join(',')}]`),
  object: fc
    .array(fc.tuple(fc.constantFrom('__proto__', '__proto_', 'constructor', 'a'), tie('value')), { maxLength: 3 })
    .map((entries) => `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(',')}}`),
})).value;
const protoKeyValue = protoKeyText.map((text) => JSON.parse(text) as unknown);

const liveRecord = fc.record({
  hlc: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  nodeId,
  tombstone: fc.constant(false),
  // The form the HTTP edge hands the cluster: values holding "__proto__" keys as JsonText.
  value: fc.oneof(fc.jsonValue().map(carriedValue), protoKeyValue.map(carriedValue)),
});
const tombstone = fc.record({
  hlc: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  nodeId,
  tombstone: fc.constant(true),
  value: fc.constant(undefined),
});
// A value written with a ttl carries its expiry, always after its version.
const expiringRecord = fc
  .tuple(liveRecord.filter((record) => record.hlc < Number.MAX_SAFE_INTEGER), fc.integer({ min: 1, max: 2 ** 50 }))
  .map(([record, ttl]) => ({ ...record, expiresAt: Math.min(Number.MAX_SAFE_INTEGER, record.hlc + ttl) }));
const record = fc.oneof(liveRecord, tombstone, expiringRecord);
const ringCursor = fc.record({ token: fc.integer({ min: 0, max: 0xffffffff }), key: fc.string({ minLength: 1 }) });

const ballot = fc.record({ hlc: fc.nat(), nodeId });
/** Idempotent writes a Paxos message carries: absent, or a non-empty list (an empty one is not sent). */
const tags = fc.option(fc.array(fc.record({ key: fc.string({ minLength: 1 }), fingerprint: fc.string(), hlc: fc.nat(), nodeId }), { minLength: 1, maxLength: 3 }), { nil: undefined });
const withTags = <T extends object>(body: T, list: readonly unknown[] | undefined) => (list === undefined ? body : { ...body, tags: list });
const paxosRequest = fc.oneof(
  fc
    .tuple(fc.record({ type: fc.constant('paxosPrepare' as const), key: fc.string({ minLength: 1 }), ballot }), fc.option(fc.string({ minLength: 1 }), { nil: undefined }), routed)
    .map(([body, idempotencyKey, route]) => ({ ...body, ...(idempotencyKey === undefined ? {} : { idempotencyKey }), ...route })),
  fc
    .tuple(fc.record({ type: fc.constantFrom('paxosAccept' as const, 'paxosCommit' as const), key: fc.string({ minLength: 1 }), ballot, record }), tags, routed)
    .map(([body, list, route]) => ({ ...withTags(body, list), ...route })),
);

const request: fc.Arbitrary<PeerRequest> = fc.oneof(
  paxosRequest as fc.Arbitrary<PeerRequest>,
  fc.record({
    type: fc.constant('hello' as const),
    clusterName: fc.string(),
    protocolVersion: fc.nat(),
    nodeId,
    address: fc.string(),
    proofs: fc.array(fc.string(), { minLength: 1, maxLength: 4 }),
  }),
  fc.tuple(fc.record({ type: fc.constant('put' as const), key: fc.string({ minLength: 1 }), record }), routed).map(([body, route]) => ({ ...body, ...route })),
  fc.tuple(fc.record({ type: fc.constant('get' as const), key: fc.string({ minLength: 1 }) }), routed).map(([body, route]) => ({ ...body, ...route })),
  fc.record({ type: fc.constant('state' as const), updates: fc.array(update, { maxLength: 5 }) }),
  fc.record({ type: fc.constant('versions' as const), keys: fc.array(fc.string({ minLength: 1 }), { maxLength: 5 }) }),
  fc.record({ type: fc.constant('ping' as const), from: member, updates: fc.array(update, { maxLength: 5 }) }),
  fc.record({ type: fc.constant('pingReq' as const), target: member, updates: fc.array(update, { maxLength: 5 }) }),
  fc.record({ type: fc.constant('digests' as const), ring: fc.nat(), ranges: fc.array(fc.nat(), { maxLength: 5 }), watermark: fc.nat() }),
  fc.record({ type: fc.constant('rangeEntries' as const), ring: fc.nat(), range: fc.nat() }),
  fc.record({ type: fc.constant('pullRecords' as const), keys: fc.array(fc.string({ minLength: 1 }), { maxLength: 5 }) }),
  fc.record({ type: fc.constant('pushRecords' as const), entries: fc.array(fc.tuple(fc.string({ minLength: 1 }), record), { maxLength: 4 }), sentHlc: fc.nat(), hinted: fc.boolean() }),
  fc.record({
    type: fc.constant('transferScan' as const),
    readRing: fc.nat(),
    targetRing: fc.nat(),
    forNode: nodeId,
    unavailable: fc.array(nodeId, { maxLength: 3 }),
    after: fc.option(ringCursor, { nil: null }),
    limit: fc.nat(),
  }),
  fc.record({ type: fc.constant('scanRecords' as const), prefix: fc.string(), after: fc.option(fc.string({ minLength: 1 }), { nil: null }), limit: fc.nat() }),
  fc.record({ type: fc.constant('changes' as const), prefix: fc.string(), after: fc.option(fc.nat(), { nil: null }), limit: fc.nat() }),
);

const reply: fc.Arbitrary<PeerReply> = fc.oneof(
  fc
    .tuple(
      fc.record({
        type: fc.constant('paxosPromise' as const),
        promised: fc.boolean(),
        highest: fc.option(ballot, { nil: null }),
        committed: fc.option(ballot, { nil: null }),
        current: fc.option(record, { nil: null }),
        remembered: fc.option(fc.record({ key: fc.string({ minLength: 1 }), fingerprint: fc.string(), hlc: fc.nat(), nodeId }), { nil: null }),
        committedTags: tags.map((list) => list ?? []),
      }),
      fc.option(fc.tuple(fc.record({ ballot, record }), tags), { nil: null }),
    )
    .map(([body, accepted]) => ({ ...body, accepted: accepted === null ? null : withTags(accepted[0], accepted[1]) })) as fc.Arbitrary<PeerReply>,
  fc.record({ type: fc.constant('welcome' as const), nodeId, address: fc.string(), proofs: fc.array(fc.string(), { minLength: 1, maxLength: 4 }) }),
  fc.record({ type: fc.constant('putAck' as const), applied: fc.boolean() }),
  fc.record({
    type: fc.constant('changesReply' as const),
    gone: fc.boolean(),
    entries: fc.array(fc.record({ pos: fc.nat(), key: fc.string(), record, expired: fc.constant(false) }), { maxLength: 3 }),
    last: fc.nat(),
    more: fc.boolean(),
    floor: fc.nat(),
    prunedThrough: fc.nat(),
  }),
  fc.record({ type: fc.constant('putAck' as const), applied: fc.constant(false), newerHlc: fc.nat() }),
  fc.record({ type: fc.constant('getReply' as const), record: fc.option(record, { nil: null }) }),
  fc.record({ type: fc.constant('pong' as const), updates: fc.array(update, { maxLength: 5 }) }),
  fc.record({ type: fc.constant('pingReqReply' as const), reached: fc.boolean(), updates: fc.array(update, { maxLength: 5 }) }),
  fc.record({ type: fc.constant('digestsReply' as const), ring: fc.nat(), summaries: fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 5 }), watermark: fc.nat() }),
  fc.record({ type: fc.constant('rangeEntriesReply' as const), ring: fc.nat(), entries: fc.array(fc.tuple(fc.string(), fc.nat()), { maxLength: 5 }) }),
  fc.record({ type: fc.constant('records' as const), entries: fc.array(fc.tuple(fc.string(), fc.option(record, { nil: null })), { maxLength: 4 }) }),
  fc.record({
    type: fc.constant('transferBatch' as const),
    ringsMatch: fc.boolean(),
    entries: fc.array(fc.tuple(fc.string({ minLength: 1 }), record), { maxLength: 4 }),
    next: fc.option(ringCursor, { nil: null }),
    scanned: fc.nat(),
    total: fc.nat(),
  }),
  fc.record({ type: fc.constant('pushAck' as const), applied: fc.nat() }),
  fc.record({ type: fc.constant('scannedRecords' as const), entries: fc.array(fc.tuple(fc.string({ minLength: 1 }), record), { maxLength: 4 }), more: fc.boolean() }),
  fc.record({ type: fc.constant('stateReply' as const), updates: fc.array(update, { maxLength: 5 }) }),
  fc.record({ type: fc.constant('versionsReply' as const), versions: fc.array(fc.option(fc.tuple(fc.nat(), nodeId), { nil: null }), { maxLength: 5 }), incomplete: fc.constant(true as const) }, { requiredKeys: ['type', 'versions'] }),
  fc.record({
    type: fc.constant('failure' as const),
    code: fc.constantFrom('refused', 'bad-request', 'storage-error', 'clock-skew', 'not-ready', 'stale-epoch' as const),
    message: fc.string(),
  }),
);

const frame: fc.Arbitrary<Frame> = fc.oneof(
  fc.record({ kind: fc.constant('request' as const), id: fc.nat(), body: request }),
  fc.record({ kind: fc.constant('reply' as const), id: fc.nat(), body: reply }),
);

/** JSON values may hold -0, which MessagePack keeps as 0; compare as JSON would. */
function normalise(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_key, item: unknown) => (Object.is(item, -0) ? 0 : item)) ?? 'null');
}

describe('peer codec', () => {
  it('round-trips every message', () => {
    fc.assert(
      fc.property(frame, (original) => {
        const decoded = decodeFrame(encodeFrame(original).subarray(4));
        assert.deepEqual(normalise(decoded), normalise(original));
      }),
      { numRuns: 500 },
    );
  });

  it('reassembles frames from arbitrary chunks', () => {
    fc.assert(
      fc.property(fc.array(frame, { minLength: 1, maxLength: 6 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1 }), (frames, cuts) => {
        const bytes = Buffer.concat(frames.map((item) => encodeFrame(item)));
        const decoder = new FrameDecoder();
        const payloads: Uint8Array[] = [];
        let offset = 0;
        for (let i = 0; offset < bytes.length; i++) {
          const size = cuts[i % cuts.length] as number;
          payloads.push(...decoder.push(bytes.subarray(offset, offset + size)));
          offset += size;
        }
        assert.equal(payloads.length, frames.length);
        assert.equal(decoder.pendingBytes, 0);
        payloads.forEach((payload, index) => assert.deepEqual(normalise(decodeFrame(payload)), normalise(frames[index])));
      }),
      { numRuns: 200 },
    );
  });

  it('keeps every encoded frame intact while later ones are encoded, across large frames too', () => {
    // Frames are views of msgpackr's buffer (the length prefix is room it leaves): a later
    // frame, or one too large for the buffer left, must never write over an earlier one.
    const record = (value: string): StoredRecord => ({ hlc: 7, nodeId: 'n1', tombstone: false, value });
    const frames: Frame[] = [];
    for (let i = 0; i < 300; i++) {
      const value = i % 50 === 7 ? 'v'.repeat(200_000 + i) : `small-${i}`;
      frames.push({ kind: 'request', id: i + 1, body: { type: 'put', key: `k${i}`, record: record(value) } });
    }
    const encoded = frames.map((item) => encodeFrame(item));
    const copies = encoded.map((bytes) => Buffer.from(bytes));
    const decoder = new FrameDecoder();
    const payloads = decoder.push(Buffer.concat(encoded));
    assert.equal(payloads.length, frames.length);
    payloads.forEach((payload, index) => assert.deepEqual(normalise(decodeFrame(payload)), normalise(frames[index])));
    encoded.forEach((bytes, index) => assert.deepEqual(Buffer.from(bytes), copies[index]));
  });

  it('carries a record whose value holds "__proto__" keys, nested too, exactly', () => {
    const sent = JSON.parse('{"__proto__":{"x":1},"a":2,"list":[{"__proto__":null,"__proto_":3}]}') as unknown;
    const received = putRecordThroughCodec({ hlc: 7, nodeId: 'n1', tombstone: false, value: carriedValue(sent) });
    assert.ok(received.value instanceof JsonText);
    assert.deepStrictEqual(plainValue(received.value), sent);
    assert.equal(({} as Record<string, unknown>)['x'], undefined, 'Object.prototype is untouched');
    fc.assert(
      fc.property(protoKeyValue, (value) => {
        assert.deepStrictEqual(plainValue(putRecordThroughCodec({ hlc: 1, nodeId: 'n1', tombstone: false, value: carriedValue(value) }).value), value);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a record whose flag is unknown, or whose JSON text is not JSON', () => {
    // A put request as the codec lays it out: [kind request, id, put, key, epoch, digest, repair, hlc, nodeId, flag, value].
    const put = (flag: number, value: unknown) => pack([0, 1, 2, 'k', 0, 0, 0, 1, 'n1', flag, value]);
    assert.deepEqual(plainValue((decodeFrame(put(2, '{"__proto__":1}')) as { body: { record: StoredRecord } }).body.record.value), JSON.parse('{"__proto__":1}'));
    assert.throws(() => decodeFrame(put(2, '{"a":')), /not valid JSON text/);
    assert.throws(() => decodeFrame(put(2, { a: 1 })), /record\.value must be a string/);
    assert.throws(() => decodeFrame(put(5, 'x')), /record\.flag/);
  });

  it('refuses an oversized length before buffering it', () => {
    const decoder = new FrameDecoder(1024);
    const header = new Uint8Array([0, 0, 0x10, 0]);
    assert.throws(() => decoder.push(header), CodecError);
  });

  it('turns garbage into CodecError, never another exception', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeFrame(bytes);
        } catch (error) {
          assert.ok(error instanceof CodecError, `threw ${String(error)}`);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses a membership update above incarnationMax, and carries incarnationMax itself', () => {
    const ping = (incarnation: number): Frame => ({
      kind: 'request',
      id: 1,
      body: { type: 'ping', from: { nodeId: 'a', address: 'h:1' }, updates: [{ nodeId: 'b', address: 'h:2', state: 'down', life: 0, incarnation, ring: 'normal', synced: 0, horizon: 0, serving: true, epoch: 0 }] },
    });
    for (const incarnation of [2 ** 53 - 1, incarnationMax + 1, -1]) {
      assert.throws(() => decodeFrame(encodeFrame(ping(incarnation)).subarray(4)), CodecError, `incarnation ${incarnation}`);
    }
    const decoded = decodeFrame(encodeFrame(ping(incarnationMax)).subarray(4));
    assert.equal(decoded.kind === 'request' && decoded.body.type === 'ping' ? decoded.body.updates[0]?.incarnation : undefined, incarnationMax);
  });

  it('holds the small limit until raised, then takes a frame the small limit refused', () => {
    const big = encodeFrame({ kind: 'request', id: 1, body: { type: 'pullRecords', keys: Array.from({ length: 2000 }, (_, i) => `key-${i}-${'x'.repeat(30)}`) } });
    assert.ok(big.length > peerFrameBytesMaxUnauthenticated);
    assert.throws(() => new FrameDecoder(peerFrameBytesMaxUnauthenticated).push(big), CodecError);
    const raised = new FrameDecoder(peerFrameBytesMaxUnauthenticated);
    raised.push(big.subarray(0, 2));
    raised.setBytesMax(frameBytesMax);
    assert.equal(raised.push(big.subarray(2)).length, 1);
  });
});

function putRecordThroughCodec(record: StoredRecord): StoredRecord {
  const decoded = decodeFrame(encodeFrame({ kind: 'request', id: 1, body: { type: 'put', key: 'k', record } }).subarray(4));
  assert.ok(decoded.kind === 'request' && decoded.body.type === 'put');
  return decoded.body.record;
}
