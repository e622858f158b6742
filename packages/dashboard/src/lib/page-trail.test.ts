// Checks forward and backward movement through pages opened by opaque cursors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { currentCursor, firstPageTrail, nextPage, pageNumber, previousPage } from './page-trail.js';

test('the first page has no cursor and number 1', () => {
  assert.equal(currentCursor(firstPageTrail), null);
  assert.equal(pageNumber(firstPageTrail), 1);
});

test('next and previous move through remembered cursors', () => {
  const third = nextPage(nextPage(firstPageTrail, 'c1'), 'c2');
  assert.equal(currentCursor(third), 'c2');
  assert.equal(pageNumber(third), 3);
  const second = previousPage(third);
  assert.equal(currentCursor(second), 'c1');
  assert.deepEqual(previousPage(previousPage(second)), firstPageTrail);
});
