// Checks how seeds given as host names become the seeds the core compares with member
// addresses: table tests of the pure choice (family, self-dropping, names kept for nodes
// that advertise names), and real resolution of `localhost` and of a name that never resolves.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { joinHostPort, resolveSeeds, seedsForCore, splitHostPort, systemLookup, type SeedResolutionOptions } from './seed-addresses.js';

const quietLog = { info: () => undefined, warn: () => undefined };

describe('seedsForCore', () => {
  const cases: Array<{ name: string; seeds: Array<[string, number, string[] | undefined]>; self: [string, number, string[]]; expected: string[]; dropped?: string[] }> = [
    {
      name: 'a node advertising an IP gets every IPv4 address of a headless-service name, without its own',
      seeds: [['ringkv-peers:8000', 8000, ['10.0.0.1', '10.0.0.2', '10.0.0.3']]],
      self: ['10.0.0.2', 8000, ['10.0.0.2']],
      expected: ['10.0.0.1:8000', '10.0.0.3:8000'],
    },
    {
      name: 'a seed that is the pod itself is dropped, the others resolve',
      seeds: [
        ['ringkv-0.ringkv-peers:8000', 8000, ['10.0.0.1']],
        ['ringkv-1.ringkv-peers:8000', 8000, ['10.0.0.2']],
      ],
      self: ['10.0.0.1', 8000, ['10.0.0.1']],
      expected: ['10.0.0.2:8000'],
      dropped: ['ringkv-0.ringkv-peers:8000'],
    },
    {
      name: 'localhost resolving to 127.0.0.1 and ::1 gives an IPv4 node only the IPv4 seed',
      seeds: [['localhost:8001', 8001, ['::1', '127.0.0.1']]],
      self: ['127.0.0.1', 8000, ['127.0.0.1']],
      expected: ['127.0.0.1:8001'],
    },
    {
      name: 'an IPv6 node gets the IPv6 address, in brackets',
      seeds: [['localhost:8001', 8001, ['127.0.0.1', '::1']]],
      self: ['::1', 8000, ['::1']],
      expected: ['[::1]:8001'],
    },
    {
      name: 'the same port on another address is not this node; another port on this address is not either',
      seeds: [
        ['10.0.0.9:8000', 8000, ['10.0.0.9']],
        ['10.0.0.1:8001', 8001, ['10.0.0.1']],
      ],
      self: ['10.0.0.1', 8000, ['10.0.0.1']],
      expected: ['10.0.0.9:8000', '10.0.0.1:8001'],
    },
    {
      name: 'a node advertising a name keeps seeds as given but drops the one resolving to itself',
      seeds: [
        ['ringkv-0.ringkv-peers:8000', 8000, ['10.0.0.1']],
        ['ringkv-1.ringkv-peers:8000', 8000, ['10.0.0.2']],
      ],
      self: ['ringkv-1.ringkv-peers', 8000, ['10.0.0.2']],
      expected: ['ringkv-0.ringkv-peers:8000'],
      dropped: ['ringkv-1.ringkv-peers:8000'],
    },
    {
      name: 'a name that did not resolve is kept as given, and dropped when it is literally this node',
      seeds: [
        ['ringkv-2.ringkv-peers:8000', 8000, undefined],
        ['10.0.0.1:8000', 8000, undefined],
      ],
      self: ['10.0.0.1', 8000, ['10.0.0.1']],
      expected: ['ringkv-2.ringkv-peers:8000'],
      dropped: ['10.0.0.1:8000'],
    },
    {
      name: 'two names for the same address give one seed',
      seeds: [
        ['a:8000', 8000, ['10.0.0.5']],
        ['b:8000', 8000, ['10.0.0.5']],
      ],
      self: ['10.0.0.1', 8000, ['10.0.0.1']],
      expected: ['10.0.0.5:8000'],
    },
  ];
  for (const testCase of cases) {
    it(testCase.name, () => {
      const chosen = seedsForCore(
        testCase.seeds.map(([given, port, addresses]) => ({ given, port, addresses })),
        { advertise: testCase.self[0], port: testCase.self[1], addresses: testCase.self[2] },
      );
      assert.deepEqual(chosen.seeds, testCase.expected);
      assert.deepEqual(chosen.dropped, testCase.dropped ?? []);
    });
  }

  it('splits and joins host:port, IPv6 in brackets', () => {
    assert.deepEqual(splitHostPort('[::1]:8000'), { host: '::1', port: 8000 });
    assert.deepEqual(splitHostPort('ringkv-0.ringkv-peers:8000'), { host: 'ringkv-0.ringkv-peers', port: 8000 });
    assert.equal(joinHostPort('::1', 8000), '[::1]:8000');
    assert.equal(joinHostPort('10.0.0.1', 8000), '10.0.0.1:8000');
    assert.throws(() => splitHostPort('no-port'), /not host:port/);
  });
});

describe('resolveSeeds with the system resolver', () => {
  const options = (waitMsMax: number): SeedResolutionOptions => ({ waitMsMax, retryMs: 100, lookupTimeoutMs: 2000, lookup: systemLookup, log: quietLog });

  it('resolves localhost to the loopback address of the advertised family, and drops this node', async () => {
    const seeds = await resolveSeeds(['localhost:8001', 'localhost:8000', '127.0.0.1:8002'], { host: '127.0.0.1', port: 8000 }, options(1000));
    assert.deepEqual(seeds, ['127.0.0.1:8001', '127.0.0.1:8002']);
  });

  it('retries a name that does not resolve for a bounded time, says so, then keeps it as given', async () => {
    const messages: string[] = [];
    const log = { info: (_: object, message: string) => void messages.push(message), warn: (_: object, message: string) => void messages.push(message) };
    const startedMs = performance.now();
    // `.invalid` never resolves (RFC 2606).
    const seeds = await resolveSeeds(['ringkv-absent.invalid:8001', 'localhost:8002'], { host: '127.0.0.1', port: 8000 }, { ...options(400), log });
    const elapsedMs = performance.now() - startedMs;
    assert.deepEqual(seeds, ['ringkv-absent.invalid:8001', '127.0.0.1:8002']);
    assert.ok(elapsedMs >= 300 && elapsedMs < 10_000, `waited ${elapsedMs} ms`);
    assert.ok(messages.some((message) => /waiting for host names to resolve/.test(message)), messages.join('; '));
    assert.ok(messages.some((message) => /still do not resolve/.test(message)), messages.join('; '));
  });

  it('asks the resolver again until a name appears (as pods\' records do when they start)', async () => {
    let calls = 0;
    const lookup = async (host: string) => {
      calls++;
      if (host === 'ringkv-1.ringkv-peers' && calls < 4) throw Object.assign(new Error('not yet'), { code: 'ENOTFOUND' });
      return host === 'ringkv-1.ringkv-peers' ? ['10.0.0.2'] : [];
    };
    const seeds = await resolveSeeds(['ringkv-1.ringkv-peers:8000'], { host: '10.0.0.1', port: 8000 }, { ...options(5000), lookup });
    assert.deepEqual(seeds, ['10.0.0.2:8000']);
    assert.equal(calls, 4);
  });
});
