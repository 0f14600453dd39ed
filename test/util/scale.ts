// Where the cuda tests run, and how big their shapes are there.
//
// scripts/test-sim.sh (npm run test:sim) runs the cuda tests on GPGPU-Sim, a functional GPU
// simulator (~2 million simulated thread instructions per second on one core). It sets
// WATTGRAD_TEST_SCALE=sim, and the heavy tests pick smaller shapes through `scaled(full, sim)`:
// the same code paths (every tile path, odd edges, transposes), fewer and smaller cases. On a
// real GPU and on the js backend the full shapes run.
//
// `onSimulator` is true when the loaded addon is a simulator build (build-native --sim:
// buildInfo.simulator). Only there may a test skip or relabel what the simulator cannot do —
// the tensor-core paths (compiled out), a real device OOM (simulated cudaMalloc never fails),
// static cudart (the build links the simulator's libcudart.so) and the GPGPU-Sim limits listed in
// SIM_LIMITS — and it says so in its name.
import { loadNative } from '../../lib/native.js';

/** true under WATTGRAD_TEST_SCALE=sim (scripts/test-sim.sh) */
export const SIM_SCALE = process.env.WATTGRAD_TEST_SCALE === 'sim';

/** `sim` under WATTGRAD_TEST_SCALE=sim, else `full` */
export function scaled<T>(full: T, sim: T): T {
  return SIM_SCALE ? sim : full;
}

/** the loaded addon is a GPGPU-Sim build (no tensor cores, simulated device) */
export const onSimulator = loadNative().binding?.buildInfo.simulator === true;

/** What GPGPU-Sim cannot run, for test names and skip reasons (README "Status of the CUDA path"). */
export const SIM_LIMITS = {
  tensorCores: 'simulator build: tensor cores compiled out (WG_NO_TENSOR_CORES), the SIMT path runs',
  oom: 'simulator: cudaMalloc never fails (no real device OOM)',
  staticCudart: "simulator build: links the simulator's libcudart.so instead of static cudart",
  // GPGPU-Sim 4.2 functional mode aborts ("double free or corruption" in call_impl) on any call to
  // a non-inlined device function; CUDA's float64 pow (__internal_accurate_pow) and the float64
  // sin/cos slow path for |x| >= 2^31 (__internal_trig_reduction_slowpathd) are such calls.
  deviceCall: 'simulator limit: GPGPU-Sim aborts on calls to non-inlined device functions (float64 pow)',
  speed: 'simulator: too slow for full training recipes (thousands of steps); a real GPU runs this',
  nvml: 'simulator: no NVML, no power readings',
} as const;

/** `name`, with " [" + limit + "]" appended on the simulator */
export function simLabel(name: string, limit: keyof typeof SIM_LIMITS): string {
  return onSimulator ? `${name} [${SIM_LIMITS[limit]}]` : name;
}
