// Checks that node colours are distinct, stable under natural ordering, and total.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assignNodeColors, colorAt, colorOf, nodePalette, sortNodeIds } from './node-colors.js';

test('sortNodeIds orders embedded numbers numerically and drops duplicates', () => {
  assert.deepEqual(sortNodeIds(['node-10', 'node-2', 'node-1', 'node-2']), ['node-1', 'node-2', 'node-10']);
});

test('assignNodeColors gives each node a distinct colour independent of input order', () => {
  const a = assignNodeColors(['node-3', 'node-1', 'node-2']);
  const b = assignNodeColors(['node-2', 'node-3', 'node-1']);
  assert.deepEqual([...a.entries()], [...b.entries()]);
  assert.equal(new Set(a.values()).size, 3);
  assert.equal(a.get('node-1'), nodePalette[0]);
});

test('a node joining later in natural order leaves existing colours unchanged', () => {
  const before = assignNodeColors(['node-1', 'node-2']);
  const after = assignNodeColors(['node-1', 'node-2', 'node-3']);
  assert.equal(after.get('node-1'), before.get('node-1'));
  assert.equal(after.get('node-2'), before.get('node-2'));
});

test('colours past the palette stay distinct', () => {
  const many = Array.from({ length: 40 }, (_, index) => colorAt(index));
  assert.equal(new Set(many).size, 40);
});

test('colorOf falls back to grey for an unknown node', () => {
  assert.equal(colorOf(new Map(), 'stranger'), '#8a8f98');
});
