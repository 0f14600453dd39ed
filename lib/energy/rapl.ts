// CPU package energy from RAPL through the Linux powercap interface.
//
//   /sys/class/powercap/intel-rapl:0/            package-0   <- we read these (top-level zones)
//   /sys/class/powercap/intel-rapl:0/energy_uj   a µJ counter that wraps at max_energy_range_uj
//   /sys/class/powercap/intel-rapl:0:0/          core        <- sub-zones: already inside the
//   /sys/class/powercap/intel-rapl:0:1/          uncore         package, never added (no double count)
//
// AMD Zen CPUs appear under the same `intel-rapl` driver on current kernels; an `amd-rapl:N` top
// level zone is read the same way. Also skipped: `psys` zones (the whole SoC platform, which
// contains the packages) and `intel-rapl-mmio:N` (the package counter again, via MMIO).
//
// Since CVE-2020-8694 (Platypus, Linux 5.10) energy_uj is readable by root only; the reader then
// says so and how to grant access instead of reporting 0 J.

import * as nodeFs from 'node:fs';
import * as path from 'node:path';

/** The file operations the reader needs; tests inject their own. */
export interface RaplFs {
  readdir(dir: string): string[];
  readFile(file: string): string;
}

export interface RaplOptions {
  /** powercap root; default /sys/class/powercap */
  root?: string;
  fs?: RaplFs;
}

export interface RaplZone {
  /** directory name, e.g. "intel-rapl:0" */
  id: string;
  /** contents of `name`, e.g. "package-0" */
  name: string;
  dir: string;
  /** counter range in µJ; null when max_energy_range_uj is unreadable */
  maxEnergyRangeUj: number | null;
}

export const DEFAULT_POWERCAP_ROOT = '/sys/class/powercap';

const nodeRaplFs: RaplFs = {
  readdir: (dir) => nodeFs.readdirSync(dir),
  readFile: (file) => nodeFs.readFileSync(file, 'utf8'),
};

const TOP_LEVEL = /^(intel-rapl|amd-rapl):\d+$/;

function errCode(e: unknown): string {
  const c = (e as NodeJS.ErrnoException | null)?.code;
  return typeof c === 'string' ? c : ((e as Error)?.message ?? String(e));
}

/** How to grant read access to the counters; part of every "not readable" reason. */
export function raplAccessHint(root: string = DEFAULT_POWERCAP_ROOT): string {
  return (
    `energy_uj is root-only since CVE-2020-8694; grant read access with ` +
    `\`sudo chmod o+r ${root}/intel-rapl:*/energy_uj\` (until reboot) or a udev rule ` +
    `(/etc/udev/rules.d/99-rapl.rules: ` +
    `ACTION=="add", SUBSYSTEM=="powercap", KERNEL=="intel-rapl:*", RUN+="/bin/chmod o+r /sys%p/energy_uj")`
  );
}

function parseUj(text: string, file: string): number {
  const v = Number(text.trim());
  if (!Number.isFinite(v) || v < 0) throw new Error(`${file}: not a counter value: ${JSON.stringify(text.trim())}`);
  return v;
}

/** The package zones of one machine. `open()` never throws; check `available`. */
export class Rapl {
  private constructor(
    readonly root: string,
    readonly available: boolean,
    /** why RAPL cannot be read ("no RAPL package zones under …", "… is not readable …") */
    readonly reason: string | null,
    readonly zones: RaplZone[],
    /** top-level zones deliberately not summed, with why (psys, mmio) */
    readonly skipped: string[],
    private readonly fs: RaplFs,
  ) {}

  static open(options: RaplOptions = {}): Rapl {
    const root = options.root ?? DEFAULT_POWERCAP_ROOT;
    const fs = options.fs ?? nodeRaplFs;
    const none = (reason: string, skipped: string[] = []) => new Rapl(root, false, reason, [], skipped, fs);
    let entries: string[];
    try {
      entries = fs.readdir(root);
    } catch (e) {
      return none(`no RAPL: ${root} not readable (${errCode(e)}; not Linux, or no powercap driver)`);
    }
    const zones: RaplZone[] = [];
    const skipped: string[] = [];
    for (const id of entries) {
      if (id.startsWith('intel-rapl-mmio')) {
        if (/^intel-rapl-mmio:\d+$/.test(id)) skipped.push(`${id} (MMIO duplicate of the package counter)`);
        continue;
      }
      if (!TOP_LEVEL.test(id)) continue; // sub-zones intel-rapl:N:M and the bare driver dirs
      const dir = path.join(root, id);
      let name = id;
      try {
        name = fs.readFile(path.join(dir, 'name')).trim() || id;
      } catch {
        /* keep the directory name */
      }
      if (name.startsWith('psys')) {
        skipped.push(`${id} (${name}: whole platform, contains the packages)`);
        continue;
      }
      let maxEnergyRangeUj: number | null = null;
      try {
        maxEnergyRangeUj = parseUj(fs.readFile(path.join(dir, 'max_energy_range_uj')), 'max_energy_range_uj');
        if (maxEnergyRangeUj === 0) maxEnergyRangeUj = null;
      } catch {
        /* wrap-around cannot be corrected then; RaplCounter says so if it happens */
      }
      zones.push({ id, name, dir, maxEnergyRangeUj });
    }
    zones.sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
    if (zones.length === 0) {
      return none(`no RAPL package zones under ${root} (not an Intel/AMD CPU, a VM, or powercap not loaded)`, skipped);
    }
    const rapl = new Rapl(root, true, null, zones, skipped, fs);
    try {
      rapl.readUj();
    } catch (e) {
      return new Rapl(root, false, (e as Error).message, zones, skipped, fs);
    }
    return rapl;
  }

  /** Each zone's counter now, µJ. Throws an Error whose message is a full "why" for reports. */
  readUj(): number[] {
    return this.zones.map((z) => {
      const file = path.join(z.dir, 'energy_uj');
      let text: string;
      try {
        text = this.fs.readFile(file);
      } catch (e) {
        const code = errCode(e);
        throw new Error(`${file} is not readable (${code}); ${raplAccessHint(this.root)}`);
      }
      return parseUj(text, file);
    });
  }
}

/**
 * Joules accumulated since construction, summed over the package zones, correcting wrap-around:
 * a counter that went down wrapped once, so the step is `max_energy_range_uj - prev + cur`. Poll it
 * more often than the fastest wrap (at 250 W a 262 kJ range wraps every ~17 min); the meter polls
 * every few seconds while a window is open.
 */
export class RaplCounter {
  private last: number[];
  private totalUj = 0;
  /** set when a read failed; the counter then stays stuck (the meter reports it unavailable) */
  error: string | null = null;
  /** notes such as a wrap that could not be corrected */
  readonly warnings: string[] = [];

  constructor(readonly rapl: Rapl) {
    if (!rapl.available) throw new Error(`RAPL unavailable: ${rapl.reason}`);
    this.last = rapl.readUj();
  }

  /** Reads the counters and returns the total J since construction (null after a failed read). */
  poll(): number | null {
    if (this.error !== null) return null;
    let now: number[];
    try {
      now = this.rapl.readUj();
    } catch (e) {
      this.error = (e as Error).message;
      return null;
    }
    for (let i = 0; i < now.length; i++) {
      const prev = this.last[i]!;
      const cur = now[i]!;
      if (cur >= prev) {
        this.totalUj += cur - prev;
      } else {
        const max = this.rapl.zones[i]!.maxEnergyRangeUj;
        if (max !== null && prev <= max) {
          this.totalUj += max - prev + cur;
        } else {
          const w = `${this.rapl.zones[i]!.id}: counter went backwards with no usable max_energy_range_uj; interval skipped`;
          if (!this.warnings.includes(w)) this.warnings.push(w);
        }
      }
    }
    this.last = now;
    return this.totalUj / 1e6;
  }

  /** The total so far without reading (J). */
  get joules(): number {
    return this.totalUj / 1e6;
  }
}
