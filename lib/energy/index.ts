// Energy measurement: GPU (NVML), CPU (RAPL), FLOP/J and CO2e of named windows, and reports.

export { EnergyMeter, trapezoidJoules } from './meter.js';
export type {
  CpuEnergy,
  EndOptions,
  EnergyMeterOptions,
  EnergyMethod,
  EnergyProgress,
  EnergyResult,
  GpuEnergy,
  PowerSeries,
} from './meter.js';
export { defaultNvml, openNvml } from './nvml.js';
export type { NvmlDevice, NvmlSource, PowerSampler } from './nvml.js';
export { DEFAULT_POWERCAP_ROOT, Rapl, RaplCounter, raplAccessHint } from './rapl.js';
export type { RaplFs, RaplOptions, RaplZone } from './rapl.js';
export {
  GRID_INTENSITY,
  GRID_INTENSITY_SOURCE,
  GRID_INTENSITY_YEAR,
  JOULES_PER_KWH,
  co2eGrams,
  joulesToKWh,
  resolveCarbon,
} from './carbon.js';
export type { CarbonOptions, CarbonSettings } from './carbon.js';
export {
  energyMethods,
  energyWarnings,
  formatEnergyProgress,
  formatEnergySummary,
  formatGrams,
  formatJoules,
  formatSeconds,
  formatSI,
} from './format.js';
export { renderHtmlReport, writeHtmlReport } from './report.js';
export type { EpochRecord, HtmlReportData } from './report.js';
