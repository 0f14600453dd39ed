// Carbon: CO2e = kWh × PUE × grid intensity (the CodeCarbon / Green Algorithms formula).
//
// - kWh comes from measured joules only (1 kWh = 3.6e6 J); estimates are never turned into carbon.
// - PUE (power usage effectiveness) scales IT energy to facility energy. Default 1.0: a desk
//   machine has no data-centre overhead. Typical values: ~1.1 for hyperscale clouds, 1.5–1.6 for
//   an average data centre (Uptime Institute surveys).
// - Grid intensity in gCO2e/kWh: a number you give, or a region code from GRID_INTENSITY below;
//   default the world average.

import { checkOptions } from '../options.js';

/**
 * Lifecycle carbon intensity of electricity generation, gCO2e/kWh, yearly average for 2023.
 * Source: Ember, Yearly Electricity Data (2024 release), as republished by Our World in Data
 * ("Carbon intensity of electricity generation", Ember and Energy Institute). World: Ember, Global
 * Electricity Review 2024 (481 g/kWh in 2023). Values rounded to whole grams. A yearly average
 * ignores the hour-by-hour mix; pass your grid operator's figure as a number when you have it.
 */
export const GRID_INTENSITY_SOURCE = 'Ember Yearly Electricity Data, 2023 averages (via Our World in Data)';
export const GRID_INTENSITY_YEAR = 2023;

export const GRID_INTENSITY: Readonly<Record<string, { name: string; gPerKWh: number }>> = {
  WORLD: { name: 'World average', gPerKWh: 481 },
  AT: { name: 'Austria', gPerKWh: 111 },
  AU: { name: 'Australia', gPerKWh: 549 },
  BE: { name: 'Belgium', gPerKWh: 138 },
  BR: { name: 'Brazil', gPerKWh: 98 },
  CA: { name: 'Canada', gPerKWh: 170 },
  CL: { name: 'Chile', gPerKWh: 291 },
  CN: { name: 'China', gPerKWh: 582 },
  CZ: { name: 'Czechia', gPerKWh: 450 },
  DE: { name: 'Germany', gPerKWh: 381 },
  DK: { name: 'Denmark', gPerKWh: 152 },
  FI: { name: 'Finland', gPerKWh: 79 },
  FR: { name: 'France', gPerKWh: 56 },
  GR: { name: 'Greece', gPerKWh: 337 },
  IE: { name: 'Ireland', gPerKWh: 291 },
  IN: { name: 'India', gPerKWh: 713 },
  NO: { name: 'Norway', gPerKWh: 30 },
  PL: { name: 'Poland', gPerKWh: 662 },
  SE: { name: 'Sweden', gPerKWh: 41 },
};

export interface CarbonOptions {
  /** power usage effectiveness, >= 1; default 1.0 (a desk machine) */
  pue?: number;
  /** gCO2e/kWh, or a region code of GRID_INTENSITY ("FR", "world"); default "WORLD" */
  intensity?: number | string;
}

export interface CarbonSettings {
  pue: number;
  gPerKWh: number;
  /** the region code used, or null when the user gave a number */
  region: string | null;
  /** where the intensity came from */
  source: string;
}

/** Validates options and resolves the intensity. Throws on an unknown region or a bad number. */
export function resolveCarbon(options: CarbonOptions = {}): CarbonSettings {
  options = checkOptions('carbon', options, ['pue', 'intensity']);
  const pue = options.pue ?? 1.0;
  if (!Number.isFinite(pue) || pue < 1) throw new RangeError(`carbon: pue must be a number >= 1, got ${pue}`);
  const intensity = options.intensity ?? 'WORLD';
  if (typeof intensity === 'number') {
    if (!Number.isFinite(intensity) || intensity < 0) {
      throw new RangeError(`carbon: intensity must be gCO2e/kWh >= 0, got ${intensity}`);
    }
    return { pue, gPerKWh: intensity, region: null, source: 'user-supplied' };
  }
  if (typeof intensity !== 'string')
    throw new TypeError(`carbon: intensity must be gCO2e/kWh (a number) or a region code (a string), got ${typeof intensity}`);
  const code = intensity.toUpperCase();
  const row = Object.hasOwn(GRID_INTENSITY, code) ? GRID_INTENSITY[code] : undefined;
  if (row === undefined) {
    throw new RangeError(
      `carbon: unknown region ${JSON.stringify(intensity)}; use one of ${Object.keys(GRID_INTENSITY).join(', ')} or a number in gCO2e/kWh`,
    );
  }
  return { pue, gPerKWh: row.gPerKWh, region: code, source: `${row.name}, ${GRID_INTENSITY_SOURCE}` };
}

export const JOULES_PER_KWH = 3.6e6;

export function joulesToKWh(joules: number): number {
  return joules / JOULES_PER_KWH;
}

/** grams CO2e for measured joules: kWh × PUE × intensity. */
export function co2eGrams(joules: number, carbon: CarbonSettings): number {
  return joulesToKWh(joules) * carbon.pue * carbon.gPerKWh;
}
