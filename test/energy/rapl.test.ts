import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Rapl, RaplCounter, type RaplFs } from '../../lib/energy/rapl.js';

let root: string;

function zone(id: string, name: string, energyUj: number, maxUj = 262143328850): void {
  const dir = path.join(root, id);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'name'), `${name}\n`);
  fs.writeFileSync(path.join(dir, 'energy_uj'), `${energyUj}\n`);
  fs.writeFileSync(path.join(dir, 'max_energy_range_uj'), `${maxUj}\n`);
}

function setEnergy(id: string, energyUj: number): void {
  fs.writeFileSync(path.join(root, id, 'energy_uj'), `${energyUj}\n`);
}

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'wg-rapl-'));
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe('RAPL reader', () => {
  it('sums the advance of package counters', () => {
    zone('intel-rapl:0', 'package-0', 1_000_000);
    zone('intel-rapl:1', 'package-1', 5_000_000);
    const rapl = Rapl.open({ root });
    expect(rapl.available).toBe(true);
    expect(rapl.zones.map((z) => z.name)).toEqual(['package-0', 'package-1']);
    const c = new RaplCounter(rapl);
    setEnergy('intel-rapl:0', 3_500_000); // +2.5 J
    setEnergy('intel-rapl:1', 5_250_000); // +0.25 J
    expect(c.poll()).toBe(2.75);
    setEnergy('intel-rapl:0', 4_500_000); // +1 J
    expect(c.poll()).toBe(3.75);
  });

  it('corrects wrap-around at max_energy_range_uj', () => {
    zone('intel-rapl:0', 'package-0', 999_000, 1_000_000);
    const c = new RaplCounter(Rapl.open({ root }));
    setEnergy('intel-rapl:0', 500); // wrapped: 1_000_000 - 999_000 + 500 = 1500 µJ
    expect(c.poll()).toBe(0.0015);
    setEnergy('intel-rapl:0', 2_500); // +2000 µJ
    expect(c.poll()).toBe(0.0035);
  });

  it('does not add sub-zones (core, uncore, dram) to their package', () => {
    zone('intel-rapl:0', 'package-0', 10_000_000);
    zone('intel-rapl:0:0', 'core', 1_000_000);
    zone('intel-rapl:0:1', 'uncore', 1_000_000);
    const rapl = Rapl.open({ root });
    expect(rapl.zones.map((z) => z.id)).toEqual(['intel-rapl:0']);
    const c = new RaplCounter(rapl);
    setEnergy('intel-rapl:0', 12_000_000);
    setEnergy('intel-rapl:0:0', 2_000_000);
    setEnergy('intel-rapl:0:1', 1_900_000);
    expect(c.poll()).toBe(2);
  });

  it('skips psys and MMIO zones, reads amd-rapl package zones', () => {
    zone('intel-rapl:0', 'package-0', 0);
    zone('intel-rapl:1', 'psys', 0);
    zone('intel-rapl-mmio:0', 'package-0', 0);
    zone('amd-rapl:1', 'package-1', 0);
    const rapl = Rapl.open({ root });
    expect(rapl.zones.map((z) => z.id)).toEqual(['amd-rapl:1', 'intel-rapl:0']);
    expect(rapl.skipped.join(' ')).toMatch(/psys/);
    expect(rapl.skipped.join(' ')).toMatch(/mmio/);
  });

  it('says why and how to grant access when energy_uj is unreadable (a directory here: tests run as root)', () => {
    zone('intel-rapl:0', 'package-0', 0);
    fs.rmSync(path.join(root, 'intel-rapl:0', 'energy_uj'));
    fs.mkdirSync(path.join(root, 'intel-rapl:0', 'energy_uj'));
    const rapl = Rapl.open({ root });
    expect(rapl.available).toBe(false);
    expect(rapl.reason).toMatch(/energy_uj is not readable \(EISDIR\)/);
    expect(rapl.reason).toMatch(/CVE-2020-8694/);
    expect(rapl.reason).toMatch(/chmod o\+r/);
    expect(rapl.reason).toMatch(/udev/);
    expect(() => new RaplCounter(rapl)).toThrow(/RAPL unavailable/);
  });

  it('reports EACCES through an injected fs reader', () => {
    const files: Record<string, string> = {
      '/pc/intel-rapl:0/name': 'package-0',
      '/pc/intel-rapl:0/max_energy_range_uj': '262143328850',
    };
    const fakeFs: RaplFs = {
      readdir: (d) => (d === '/pc' ? ['intel-rapl:0', 'intel-rapl:0:0'] : []),
      readFile: (f) => {
        if (f in files) return files[f]!;
        throw Object.assign(new Error(`EACCES: permission denied, open '${f}'`), { code: 'EACCES' });
      },
    };
    const rapl = Rapl.open({ root: '/pc', fs: fakeFs });
    expect(rapl.available).toBe(false);
    expect(rapl.reason).toContain('/pc/intel-rapl:0/energy_uj is not readable (EACCES)');
    expect(rapl.reason).toContain('sudo chmod o+r /pc/intel-rapl:*/energy_uj');
  });

  it('a counter that becomes unreadable stops with an error instead of a zero', () => {
    zone('intel-rapl:0', 'package-0', 0);
    const c = new RaplCounter(Rapl.open({ root }));
    setEnergy('intel-rapl:0', 1_000_000);
    expect(c.poll()).toBe(1);
    fs.rmSync(path.join(root, 'intel-rapl:0', 'energy_uj'));
    expect(c.poll()).toBeNull();
    expect(c.error).toMatch(/not readable \(ENOENT\)/);
  });

  it('no RAPL at all: an empty powercap dir and a missing one', () => {
    const empty = Rapl.open({ root });
    expect(empty.available).toBe(false);
    expect(empty.reason).toMatch(/no RAPL package zones under/);
    const missing = Rapl.open({ root: path.join(root, 'nope') });
    expect(missing.available).toBe(false);
    expect(missing.reason).toMatch(/no RAPL: .*not readable \(ENOENT/);
  });
});
