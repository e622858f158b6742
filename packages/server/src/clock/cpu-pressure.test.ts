import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CpuPressureMeter, cpuPressurePaths, cpuPressureSource, stalledMicros } from './cpu-pressure.js';

const psi = (someMicros: number) => `some avg10=1.37 avg60=28.20 avg300=26.08 total=${someMicros}\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n`;

describe('stalledMicros', () => {
  it("reads the 'some' line's total, not the 'full' one", () => {
    assert.equal(stalledMicros(psi(7147346073)), 7147346073);
    assert.equal(stalledMicros('full avg10=0.00 avg60=0.00 avg300=0.00 total=12\nsome avg10=0.00 avg60=0.00 avg300=0.00 total=34\n'), 34);
  });

  it('is undefined for a file that is not PSI', () => {
    assert.equal(stalledMicros(''), undefined);
    assert.equal(stalledMicros('cpu  2499406 1956 378091 1884374'), undefined);
  });
});

describe('cpuPressurePaths', () => {
  it("puts the process's cgroup v2 group first, then the machine", () => {
    assert.deepEqual(cpuPressurePaths('0::/system.slice/ringkv.service\n'), ['/sys/fs/cgroup/system.slice/ringkv.service/cpu.pressure', '/proc/pressure/cpu']);
    assert.deepEqual(cpuPressurePaths('0::/\n'), ['/sys/fs/cgroup/cpu.pressure', '/proc/pressure/cpu'], 'a container with its own cgroup namespace');
  });

  it('takes the machine alone under cgroup v1 or without /proc', () => {
    assert.deepEqual(cpuPressurePaths('12:cpu,cpuacct:/docker/abc\n11:memory:/docker/abc\n'), ['/proc/pressure/cpu']);
    assert.deepEqual(cpuPressurePaths(undefined), ['/proc/pressure/cpu']);
  });
});

describe('cpuPressureSource', () => {
  it('is the first path that reads as PSI', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringkv-psi-'));
    try {
      const junk = join(dir, 'junk');
      const good = join(dir, 'cpu.pressure');
      writeFileSync(junk, 'not pressure');
      writeFileSync(good, psi(5));
      assert.equal(cpuPressureSource([join(dir, 'missing'), junk, good]), good);
      assert.equal(cpuPressureSource([join(dir, 'missing'), junk]), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('CpuPressureMeter', () => {
  it('gives the share of each window in which threads waited, read once a window', () => {
    let nowMs = 0;
    let total = 1_000_000;
    let reads = 0;
    const meter = new CpuPressureMeter({
      path: '/psi',
      nowMs: () => nowMs,
      windowMs: 250,
      read: () => {
        reads++;
        return psi(total);
      },
    });
    assert.equal(meter.measured(), true);
    assert.equal(meter.share(), undefined, 'the first reading only marks the start');
    nowMs = 100;
    total += 50_000;
    assert.equal(meter.share(), undefined, 'within the window: no new reading');
    assert.equal(reads, 1);
    nowMs = 250;
    assert.equal(meter.share(), 0.2, '50 ms of 250 ms');
    nowMs = 500;
    total += 250_000;
    assert.equal(meter.share(), 1);
    nowMs = 750;
    total += 400_000;
    assert.equal(meter.share(), 1, 'several threads waiting at once still counts as the whole window');
    nowMs = 1000;
    assert.equal(meter.share(), 0);
    assert.equal(reads, 5);
  });

  it('measures nothing without a file, and stops when its file goes away', () => {
    const none = new CpuPressureMeter({ path: undefined, nowMs: () => 0 });
    assert.equal(none.measured(), false);
    assert.equal(none.share(), undefined);
    let nowMs = 0;
    let gone = false;
    const meter = new CpuPressureMeter({
      path: '/psi',
      nowMs: () => nowMs,
      windowMs: 250,
      read: () => {
        if (gone) throw new Error('ENOENT');
        return psi(0);
      },
    });
    meter.share();
    nowMs = 250;
    assert.equal(meter.share(), 0);
    gone = true;
    nowMs = 500;
    assert.equal(meter.share(), undefined);
    assert.equal(meter.measured(), false);
  });
});
