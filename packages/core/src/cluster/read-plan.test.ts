// Table tests of whom a read asks first: itself, then healthy replicas in preference order,
// then slow ones, then those believed down.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readOrder } from './read-plan.js';

describe('readOrder', () => {
  const cases: Array<{ name: string; replicas: string[]; self: string; down: string[]; slow: string[]; order: string[]; available: number }> = [
    { name: 'itself first, then preference order', replicas: ['a', 'b', 'c'], self: 'b', down: [], slow: [], order: ['b', 'a', 'c'], available: 3 },
    { name: 'itself last in preference: first, the others in their order', replicas: ['a', 'b', 'c', 'd'], self: 'd', down: [], slow: [], order: ['d', 'a', 'b', 'c'], available: 4 },
    { name: 'not a replica itself', replicas: ['a', 'b', 'c'], self: 'x', down: [], slow: [], order: ['a', 'b', 'c'], available: 3 },
    { name: 'a slow replica goes behind the healthy ones', replicas: ['a', 'b', 'c'], self: 'c', down: [], slow: ['a'], order: ['c', 'b', 'a'], available: 3 },
    { name: 'a down replica goes behind the slow ones', replicas: ['a', 'b', 'c'], self: 'x', down: ['a'], slow: ['b'], order: ['c', 'b', 'a'], available: 2 },
    { name: 'itself stays first even if it looks slow', replicas: ['a', 'b', 'c'], self: 'a', down: [], slow: ['a'], order: ['a', 'b', 'c'], available: 3 },
    { name: 'all slow: preference order among them', replicas: ['a', 'b', 'c'], self: 'x', down: [], slow: ['a', 'b', 'c'], order: ['a', 'b', 'c'], available: 3 },
    { name: 'all down', replicas: ['a', 'b'], self: 'x', down: ['a', 'b'], slow: [], order: ['a', 'b'], available: 0 },
  ];
  for (const test of cases) {
    it(test.name, () => {
      const result = readOrder(test.replicas, test.self, (nodeId) => !test.down.includes(nodeId), (nodeId) => test.slow.includes(nodeId));
      assert.deepEqual(result, { order: test.order, available: test.available });
    });
  }
});
