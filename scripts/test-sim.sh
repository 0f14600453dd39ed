#!/usr/bin/env bash
# scripts/test-sim.sh — `npm run test:sim`: the cuda tests on a simulated GPU (GPGPU-Sim, functional
# mode), no NVIDIA GPU or driver needed. .ci/run calls it with --if-present.
#
#   bash scripts/test-sim.sh [--if-present] [--clean] [vitest file filters...]
#
# 1. finds the simulator package: $WATTGRAD_GPGPU_SIM, else ../shared/gpgpu-sim beside the repository,
#    else /work/shared/gpgpu-sim (the same order as scripts/build-native.mjs simPackage()). Absent:
#    an error, or with --if-present a clear "skipped" line and exit 0.
# 2. builds the simulator addon (`node scripts/build-native.mjs --sim`, into build/sim: PTX-only
#    compute_75, the simulator's libcudart.so, tensor cores compiled out; other builds untouched).
# 3. runs vitest (test/vitest.sim.config.ts) on the cuda test files (default: the backend and
#    tensor-level parity suites, the int32 wrap-around suite, test/native, test/gpu) in ONE worker from a fresh scratch folder (the simulator reads its config
#    from the cwd and writes its PTX temporaries there), with WATTGRAD_REQUIRE_CUDA=1 (cuda tests
#    fail instead of skipping) and WATTGRAD_TEST_SCALE=sim (test/util/scale.ts: smaller shapes).
#    Simulator and test output go to SCRATCH/sim.log; this script prints a per-file summary, and
#    on failure the failed tests and the log's tail. The scratch folder is removed after a pass
#    (kept on failure, or with WATTGRAD_SIM_KEEP=1).
#
# Then scripts/sim-kernel-coverage.mjs says how many of the addon's kernels the run launched.
#
# Environment: WATTGRAD_GPGPU_SIM (package folder), WATTGRAD_SIM_INSTALL_ZSTD=1 (apt-get install
# zstd when the CLI is missing; .ci/run sets it), TMPDIR (scratch parent), WATTGRAD_SIM_KERNELS=FILE
# (the full kernel table), WATTGRAD_SIM_KEEP=1, CMAKE_BUILD_PARALLEL_LEVEL.
set -euo pipefail
# (the body is one function, so bash has read all of it before it runs: editing this file during a
# long run cannot derail that run)
main() {
ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$ROOT"
T0=$(date +%s)
say() { echo "test-sim: $* ($(( $(date +%s) - T0 )) s)"; }

IF_PRESENT=0; CLEAN=""; FILES=()
for a in "$@"; do
  case "$a" in
    --if-present) IF_PRESENT=1 ;;
    --clean) CLEAN=--clean ;;
    -*) echo "test-sim: unknown option $a" >&2; exit 2 ;;
    *) FILES+=("$a") ;;
  esac
done
# default: every file of test/vitest.sim.config.ts (the parity suites, test/native, test/gpu)

# ---- 1. the simulator package -----------------------------------------------------------------
SIM=""
if [ -n "${WATTGRAD_GPGPU_SIM:-}" ]; then
  CANDS=("$WATTGRAD_GPGPU_SIM")
else
  CANDS=("$ROOT/../shared/gpgpu-sim" /work/shared/gpgpu-sim)
fi
for c in "${CANDS[@]}"; do
  if [ -f "$c/lib/libcudart.so" ] && [ -f "$c/env.sh" ]; then SIM=$(cd "$c" && pwd -P); break; fi
done
if [ -z "$SIM" ]; then
  msg="GPGPU-Sim package not found (looked in: ${CANDS[*]}; set WATTGRAD_GPGPU_SIM)"
  if [ $IF_PRESENT = 1 ]; then echo "test-sim: SKIPPED, the simulator stage did not run: $msg"; exit 0; fi
  echo "test-sim: $msg" >&2; exit 1
fi
say "simulator package $SIM"

if ! command -v zstd >/dev/null 2>&1; then
  if [ "${WATTGRAD_SIM_INSTALL_ZSTD:-}" = 1 ]; then
    say "installing zstd (the simulator's cuobjdump reads zstd-compressed fatbins through it)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zstd >/dev/null) || true
  fi
  command -v zstd >/dev/null 2>&1 || { echo "test-sim: the zstd CLI is missing (apt-get install zstd)" >&2; exit 1; }
fi

# ---- 2. the simulator build ------------------------------------------------------------------------
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/wg-sim.XXXXXX")
say "building the simulator addon (build/sim; log $SCRATCH/build.log)"
if ! WATTGRAD_GPGPU_SIM="$SIM" node scripts/build-native.mjs --sim $CLEAN > "$SCRATCH/build.log" 2>&1; then
  tail -40 "$SCRATCH/build.log"; echo "test-sim: FAIL: the simulator build failed (log $SCRATCH/build.log)" >&2; exit 1
fi
ADDON="$ROOT/build/sim/Release/wattgrad.node"
# the simulator aborts at load on any mma.sync / cvt.rna.tf32 / ldmatrix / cp.async in the binary
if strings "$ADDON" | grep -Eq 'mma\.sync|cvt\.rna\.tf32|ldmatrix|cp\.async'; then
  echo "test-sim: FAIL: $ADDON carries tensor-core PTX (WG_NO_TENSOR_CORES not honoured)" >&2; exit 1
fi

# ---- 3. the tests, from the scratch folder -----------------------------------------------------
# shellcheck disable=SC1091
. "$SIM/env.sh"
h_sim_scratch "$SCRATCH"
unset WATTGRAD_SLOW_TESTS  # test/native/pack.test.ts (npm pack, no cuda) is for the main run
export WATTGRAD_NATIVE="$ADDON" PYTORCH_BIN="$ADDON" WATTGRAD_REQUIRE_CUDA=1 WATTGRAD_TEST_SCALE=sim WATTGRAD_QUIET=1
say "running ${FILES[*]:-the cuda test files} under the simulator (output: $SCRATCH/sim.log)"
start=$(date +%s)
set +e
( cd "$SCRATCH" && "$ROOT/node_modules/.bin/vitest" run --root "$ROOT" --config "$ROOT/test/vitest.sim.config.ts" \
    --reporter=verbose --reporter=json --outputFile.json="$SCRATCH/results.json" "${FILES[@]}" ) > "$SCRATCH/sim.log" 2>&1
rc=$?
set -e
unset PYTORCH_BIN
wall=$(( $(date +%s) - start ))
node -e '
  const fs = require("fs"), path = require("path");
  const [file, root, wall] = process.argv.slice(1);
  if (!fs.existsSync(file)) { console.log("test-sim: no results file (vitest did not finish)"); process.exit(0); }
  const r = JSON.parse(fs.readFileSync(file, "utf8"));
  console.log("  file".padEnd(44) + "pass  fail  skip   time");
  for (const f of r.testResults) {
    const n = (s) => f.assertionResults.filter((a) => a.status === s).length;
    const t = ((f.endTime - f.startTime) / 1000).toFixed(1) + " s";
    console.log("  " + path.relative(root, f.name).padEnd(42) + String(n("passed")).padStart(4) + String(n("failed")).padStart(6) +
      String(n("pending") + n("skipped") + n("todo")).padStart(6) + t.padStart(9));
    if (f.status === "failed" && f.message) console.log("    FAILED (file): " + f.message.split("\n").slice(0, 6).join("\n      "));
    for (const a of f.assertionResults.filter((a) => a.status === "failed"))
      console.log("    FAILED " + a.fullName + "\n      " + (a.failureMessages[0] ?? "").split("\n").slice(0, 6).join("\n      "));
  }
  console.log(`  total: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped; vitest wall ${wall} s`);
' "$SCRATCH/results.json" "$ROOT" "$wall"
# which kernels ran (the whole table: $WATTGRAD_SIM_KERNELS, else SCRATCH/kernels.txt)
node scripts/sim-kernel-coverage.mjs "$SCRATCH" --out "${WATTGRAD_SIM_KERNELS:-$SCRATCH/kernels.txt}" || true
if [ $rc -ne 0 ]; then
  echo "test-sim: FAIL (vitest rc=$rc). Tail of $SCRATCH/sim.log (simulator lines left out):"
  sed 's/\x1b\[[0-9;]*m//g' "$SCRATCH/sim.log" | grep -a -v -E '^(GPGPU-Sim|gpgpu_|GPGPUSim|\s*$|kernel_|Destroy streams|self exe|Running md5sum|Extracting|\[cuobjdump|\*\*\*|padded cta|Max CTA|event update| ✓ )' | tail -60
  exit 1
fi
if [ "${WATTGRAD_SIM_KEEP:-}" = 1 ]; then say "ok (kept $SCRATCH)"; else rm -rf "$SCRATCH"; say "ok"; fi
}
main "$@"; exit $?
