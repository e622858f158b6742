// Checks the dashboard's number formatting on boundary values of each unit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatAge,
  formatBytes,
  formatClockTime,
  formatCount,
  formatDurationSeconds,
  formatLatencyMs,
  formatMegabytes,
  formatMegabytesPerSecond,
  formatPercent,
  formatRate,
} from './format.js';

test('formatBytes picks the largest binary unit below 1024', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1023), '1023 B');
  assert.equal(formatBytes(1536), '1.50 KiB');
  assert.equal(formatBytes(52.25 * 1024 * 1024), '52.3 MiB');
  assert.equal(formatBytes(300 * 1024 * 1024), '300 MiB');
  assert.equal(formatBytes(3 * 1024 ** 3), '3.00 GiB');
  assert.equal(formatBytes(-1), '–');
  assert.equal(formatBytes(Number.NaN), '–');
});

test('formatMegabytes counts decimal megabytes, the unit transfers are capped in', () => {
  assert.equal(formatMegabytes(0), '0 MB');
  assert.equal(formatMegabytes(9_999), '< 0.01 MB');
  assert.equal(formatMegabytes(2_345_000), '2.35 MB');
  assert.equal(formatMegabytes(52_250_000), '52.3 MB');
  assert.equal(formatMegabytes(1_048_576), '1.05 MB', 'a MiB is a little more than a MB');
  assert.equal(formatMegabytes(12_345_678_901), '12,346 MB');
  assert.equal(formatMegabytes(-1), '–');
  assert.equal(formatMegabytes(Number.NaN), '–');
});

test('formatMegabytesPerSecond gives the number for a column headed MB/s', () => {
  assert.equal(formatMegabytesPerSecond(0), '0');
  assert.equal(formatMegabytesPerSecond(1_250_000), '1.25');
  assert.equal(formatMegabytesPerSecond(7_000_000), '7.00');
  assert.equal(formatMegabytesPerSecond(140_400_000), '140');
  assert.equal(formatMegabytesPerSecond(Number.POSITIVE_INFINITY), '–');
});

test('formatDurationSeconds shows the two largest non-zero units', () => {
  assert.equal(formatDurationSeconds(0), '0 s');
  assert.equal(formatDurationSeconds(45.9), '45 s');
  assert.equal(formatDurationSeconds(723), '12 min 3 s');
  assert.equal(formatDurationSeconds(3 * 3600 + 4 * 60 + 5), '3 h 4 min');
  assert.equal(formatDurationSeconds(3600), '1 h');
  assert.equal(formatDurationSeconds(2 * 86_400 + 5 * 3600), '2 d 5 h');
  assert.equal(formatDurationSeconds(-3), '–');
});

test('formatLatencyMs keeps about three significant digits', () => {
  assert.equal(formatLatencyMs(0.4213), '0.42 ms');
  assert.equal(formatLatencyMs(12.34), '12.3 ms');
  assert.equal(formatLatencyMs(250.4), '250 ms');
  assert.equal(formatLatencyMs(1240), '1.24 s');
  assert.equal(formatLatencyMs(Number.POSITIVE_INFINITY), '–');
});

test('formatPercent turns a fraction into a percentage', () => {
  assert.equal(formatPercent(1 / 3), '33.3%');
  assert.equal(formatPercent(1), '100.0%');
  assert.equal(formatPercent(0.5, 0), '50%');
  assert.equal(formatPercent(Number.NaN), '–');
});

test('formatRate and formatCount', () => {
  assert.equal(formatRate(0), '0.0');
  assert.equal(formatRate(12.345), '12.3');
  assert.equal(formatRate(12_345.6), '12,346');
  assert.equal(formatCount(1_234_567), '1,234,567');
});

test('formatClockTime pads hours, minutes and seconds', () => {
  assert.equal(formatClockTime(new Date(2024, 0, 1, 4, 3, 5).getTime()), '04:03:05');
  assert.equal(formatClockTime(new Date(2024, 0, 1, 23, 59, 0).getTime()), '23:59:00');
});

test('formatAge counts back from the reference time, never below zero', () => {
  const nowMs = 1_700_000_000_000;
  assert.equal(formatAge(nowMs - 12_400, nowMs), '12 s ago');
  assert.equal(formatAge(nowMs - (3600 + 120) * 1000, nowMs), '1 h 2 min ago');
  assert.equal(formatAge(nowMs + 500, nowMs), '0 s ago');
  assert.equal(formatAge(Number.NaN, nowMs), '–');
});
