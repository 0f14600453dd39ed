#!/usr/bin/env bash
# scripts/gpu-check.sh — everything the GPU machine has to run, in one command.
#
#   Here (no GPU):  npm run gpu:bundle                 # -> .gpu-bundle/wattgrad-gpu.tar.xz (< 60 MiB)
#                   bash scripts/gpu-check.sh /tmp/gpucheck-out --dry-run   # the same steps, GPU-free
#   GPU machine (device tool `run`, carry [".gpu-bundle/wattgrad-gpu.tar.xz"], timeout_s 600):
#                   bash scripts/gpu-check.sh "$OUT"
#
# Needs only bash, xz, tar and coreutils there (node, node_modules and the addon come in the
# bundle; python3 with torch and nvidia-smi are used when present). Finishes in about 8 minutes
# (--budget, default 470 s; each step gets a timeout from what is left) so one device command
# (10 min max) holds it. Steps, all output under OUTDIR:
#   1. unpack the bundle into .gpu-bundle/run                      gpu-check.log
#   2. nvidia-smi: the device, driver, clocks, power limits        nvidia-smi.txt, nvidia-smi-q.txt, nvidia-smi-device.csv
#   3. load the carried addon and ask it for the GPU; when it cannot use it, rebuild with the
#      machine's nvcc for its compute capability (if nvcc is there)  cuda-status.json, rebuild.log
#   4. the WHOLE vitest suite with WATTGRAD_REQUIRE_CUDA=1 (cuda tests fail, not skip, when cuda
#      is unavailable)                                              vitest.log, vitest.json
#   5. energy cross-check: a ~2 s matmul loop through the library inside an EnergyMeter window
#      while nvidia-smi samples power.draw every 100 ms           energy-check.json, nvidia-smi-power.csv
#   6. the PyTorch peer, once: python3 bench/peers/torch_ops.py    torch.json, torch.log
#   7. the benchmarks on cuda, reading the peer from torch.json (so torch is not run twice):
#      node dist-bench/bench/run.js --backend cuda --json bench.json --peer-json torch.json
#                                                                  bench.json, bench.log
#   8. summary.json (exit codes, seconds per step, the bundle's manifest, cuda status)
# Exit status: the test suite's (non-zero when tests failed); 2 when the bundle is missing.
#
# Options:
#   --dry-run        no WATTGRAD_REQUIRE_CUDA, no rebuild, no torch; the suite runs with cuda
#                    unavailable and the bench entry is smoke-tested on js (--op matmul --quick)
#   --tests PATTERN  limit vitest to files matching PATTERN
#   --no-bench       skip steps 5-7
#   --full-bench     the full benchmark (no --quick; ~15+ min: run it as its own device command
#                    with --no-tests)
#   --no-tests       skip step 4
#   --budget S       total seconds (default 470)
#   --bundle FILE    default .gpu-bundle/wattgrad-gpu.tar.xz
set -u
OUT=""; DRY=0; TESTS=""; BENCH=1; FULL=0; RUN_TESTS=1; BUDGET=470; BUNDLE=".gpu-bundle/wattgrad-gpu.tar.xz"
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY=1 ;;
    --tests) TESTS="$2"; shift ;;
    --no-bench) BENCH=0 ;;
    --full-bench) FULL=1 ;;
    --no-tests) RUN_TESTS=0 ;;
    --budget) BUDGET="$2"; shift ;;
    --bundle) BUNDLE="$2"; shift ;;
    -*) echo "gpu-check: unknown option $1" >&2; exit 2 ;;
    *) OUT="$1" ;;
  esac
  shift
done
[ -n "$OUT" ] || { echo "usage: scripts/gpu-check.sh OUTDIR [--dry-run] [--tests PATTERN] [--no-bench] [--full-bench] [--no-tests] [--budget S]" >&2; exit 2; }
[ -f "$BUNDLE" ] || { echo "gpu-check: $BUNDLE not found (run npm run gpu:bundle first, and carry it)" >&2; exit 2; }
BUNDLE="$(cd "$(dirname "$BUNDLE")" && pwd)/$(basename "$BUNDLE")"
mkdir -p "$OUT"; OUT="$(cd "$OUT" && pwd)"
WORK="$(pwd)/.gpu-bundle/run"
T0=$(date +%s)
: > "$OUT/gpu-check.log"
log() { echo "gpu-check: $* ($(( $(date +%s) - T0 )) s)" | tee -a "$OUT/gpu-check.log"; }
left() { echo $(( BUDGET - ($(date +%s) - T0) )); }
# step_timeout WANT: the smaller of WANT and what is left of the budget (at least 5 s)
step_timeout() { local l; l=$(left); [ "$l" -lt "$1" ] && echo $(( l > 5 ? l : 5 )) || echo "$1"; }
STEPS=""
step_done() { STEPS="$STEPS\"$1\": {\"exit\": $2, \"seconds\": $3}, "; }
have() { command -v "$1" >/dev/null 2>&1; }

# ---- 1. unpack -----------------------------------------------------------------------------------
rm -rf "$WORK"; mkdir -p "$WORK"
xz -dc "$BUNDLE" | tar -C "$WORK" -xf - || { log "unpack failed"; exit 2; }
export PATH="$WORK/bin:$PATH"
NODE="$WORK/bin/node"
log "unpacked $(tr -d '\n ' < "$WORK/bundle.json") with node $("$NODE" --version)"
cd "$WORK"

# ---- 2. nvidia-smi -------------------------------------------------------------------------------
if have nvidia-smi; then
  nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1
  nvidia-smi -q > "$OUT/nvidia-smi-q.txt" 2>&1
  nvidia-smi --query-gpu=index,name,driver_version,compute_cap,memory.total,power.limit,power.max_limit,clocks.max.sm,clocks.max.mem,pstate \
    --format=csv > "$OUT/nvidia-smi-device.csv" 2>&1
  log "nvidia-smi: $(tail -n +2 "$OUT/nvidia-smi-device.csv" | head -1)"
else
  log "nvidia-smi not found"
fi

# ---- 3. the addon --------------------------------------------------------------------------------
status_json() {
  "$NODE" -e "
    let s; try { const b = require('./build/Release/wattgrad.node');
      s = { loaded: true, buildInfo: b.buildInfo, status: b.cudaStatus(),
            events: typeof b.createEvent === 'function', nvml: b.nvmlStatus ? b.nvmlStatus() : null };
    } catch (e) { s = { loaded: false, error: String(e && e.message || e) }; }
    console.log(JSON.stringify(s, null, 2));"
}
status_json > "$OUT/cuda-status.json"
usable() { "$NODE" -e "const s=require('$OUT/cuda-status.json'); process.exit(s.loaded && s.status.available ? 0 : 1)"; }

REBUILT=0
if usable; then
  log "addon sees the GPU: $("$NODE" -e "const s=require('$OUT/cuda-status.json'); const d=s.status.devices[0]||{}; console.log(d.name, 'cc', d.computeCapability, 'archs', s.buildInfo.cudaArchs, 'driver', s.status.driverVersion)")"
elif [ "$DRY" = 0 ]; then
  WHY="$("$NODE" -e "const s=require('$OUT/cuda-status.json'); console.log(s.loaded ? s.status.reason : 'load failed: ' + s.error)")"
  log "carried addon not usable: $WHY"
  # A rebuild helps with a missing kernel image / arch or a driver older than our runtime; not
  # with no driver or no device at all (the suite then fails on WATTGRAD_REQUIRE_CUDA, as it should).
  if echo "$WHY" | grep -Eq 'no NVIDIA driver|no CUDA-capable device|busy or unavailable|stub library'; then
    log "not rebuilding: no usable driver/device on this machine"
  elif have nvcc || [ -x /usr/local/cuda/bin/nvcc ]; then
    ARCH="${WATTGRAD_CUDA_ARCH:-}"
    if [ -z "$ARCH" ] && have nvidia-smi; then
      ARCH="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d ' .')"
      [ "$ARCH" = "90" ] && ARCH=90a
    fi
    log "rebuilding the addon with nvcc for ${ARCH:-all}"
    t=$(date +%s)
    if PATH="$PATH:/usr/local/cuda/bin" timeout "$(step_timeout 240)" "$NODE" scripts/build-native.mjs --cuda --clean ${ARCH:+--arch=$ARCH} > "$OUT/rebuild.log" 2>&1; then
      REBUILT=1; status_json > "$OUT/cuda-status.json"
    else
      log "rebuild failed (see rebuild.log)"
    fi
    step_done rebuild "$( [ "$REBUILT" = 1 ] && echo 0 || echo 1 )" $(( $(date +%s) - t ))
  else
    log "no nvcc here; cannot rebuild"
  fi
else
  log "dry run: cuda unavailable ($("$NODE" -e "const s=require('$OUT/cuda-status.json'); console.log(s.loaded ? s.status.reason : s.error)"))"
fi

# ---- 4. the whole test suite ---------------------------------------------------------------------
TEST_RC=null
if [ "$RUN_TESTS" = 1 ]; then
  VITEST_ENV=()
  [ "$DRY" = 0 ] && VITEST_ENV+=(WATTGRAD_REQUIRE_CUDA=1)
  # leave ~150 s of the budget for steps 5-7 unless they are off
  RESERVE=$(( BENCH == 1 ? 150 : 10 ))
  TT=$(( $(left) - RESERVE )); [ "$TT" -lt 60 ] && TT=60
  log "running vitest${TESTS:+ on $TESTS} (timeout ${TT} s)$( [ "$DRY" = 1 ] && echo ' (dry run: cuda not required)')"
  t=$(date +%s)
  env ${VITEST_ENV[@]+"${VITEST_ENV[@]}"} WATTGRAD_SLOW_TESTS="${WATTGRAD_SLOW_TESTS:-0}" timeout --kill-after=10 "$TT" \
    "$NODE" node_modules/vitest/vitest.mjs run --reporter=default --reporter=json --outputFile.json="$OUT/vitest.json" \
    ${TESTS:+$TESTS} > "$OUT/vitest.log" 2>&1
  TEST_RC=$?
  step_done vitest "$TEST_RC" $(( $(date +%s) - t ))
  [ "$TEST_RC" = 124 ] && log "vitest TIMED OUT after ${TT} s"
  log "vitest exit $TEST_RC: $(sed 's/\x1b\[[0-9;]*m//g' "$OUT/vitest.log" | grep -E '^ *(Test Files|Tests) ' | tr -s ' ' | tr '\n' ';')"
fi

# ---- 5-7. energy check, torch peer, bench ---------------------------------------------------------
ENERGY_RC=null; TORCH_RC=null; BENCH_RC=null
ENTRY=""
for e in dist-bench/bench/run.js dist/bench/run.js; do [ -f "$e" ] && { ENTRY="$e"; break; }; done
if [ "$BENCH" = 1 ] && [ "$DRY" = 0 ]; then
  t=$(date +%s)
  log "energy check: matmul loop under EnergyMeter with nvidia-smi sampling"
  timeout --kill-after=5 "$(step_timeout 60)" "$NODE" scripts/gpu-energy-check.mjs "$OUT" --seconds 2 > "$OUT/energy-check.log" 2>&1
  ENERGY_RC=$?
  step_done energy "$ENERGY_RC" $(( $(date +%s) - t ))
  log "energy check exit $ENERGY_RC: $(tail -1 "$OUT/energy-check.log")"

  QUICK=(--quick); [ "$FULL" = 1 ] && QUICK=()
  PEER=(--no-peers)
  if have python3 && python3 -c 'import torch,sys; sys.exit(0 if torch.cuda.is_available() else 3)' > /dev/null 2>&1; then
    t=$(date +%s)
    TB=$(( FULL == 1 ? 3000 : 120 ))
    log "torch peer: python3 bench/peers/torch_ops.py --json torch.json ${QUICK[*]} (timeout $(step_timeout $TB) s)"
    timeout --kill-after=5 "$(step_timeout $TB)" python3 bench/peers/torch_ops.py --json "$OUT/torch.json" ${QUICK[@]+"${QUICK[@]}"} > "$OUT/torch.log" 2>&1
    TORCH_RC=$?
    step_done torch "$TORCH_RC" $(( $(date +%s) - t ))
    log "torch peer exit $TORCH_RC"
    [ "$TORCH_RC" = 0 ] && [ -s "$OUT/torch.json" ] && PEER=(--peer-json "$OUT/torch.json")
  else
    log "python3 with CUDA torch not found: bench without the GPU peer"
  fi

  if [ -n "$ENTRY" ]; then
    t=$(date +%s)
    BT=$(( $(left) - 10 )); [ "$FULL" = 1 ] && BT=3600; [ "$BT" -lt 30 ] && BT=30
    log "bench: $ENTRY --backend cuda ${QUICK[*]} ${PEER[*]} (timeout ${BT} s)"
    timeout --kill-after=5 "$BT" "$NODE" "$ENTRY" --backend cuda --json "$OUT/bench.json" ${QUICK[@]+"${QUICK[@]}"} "${PEER[@]}" > "$OUT/bench.log" 2>&1
    BENCH_RC=$?
    step_done bench "$BENCH_RC" $(( $(date +%s) - t ))
    [ "$BENCH_RC" = 124 ] && log "bench TIMED OUT (partial progress in bench.log; rerun with --no-tests)"
    log "bench exit $BENCH_RC"
  else
    log "no bench entry (dist-bench/bench/run.js); skipped"
  fi
elif [ "$BENCH" = 1 ] && [ -n "$ENTRY" ]; then
  # dry run: prove the compiled bench entry runs from the bundle (js backend, one family, quick)
  t=$(date +%s)
  log "dry run: bench smoke test on js ($ENTRY --backend js --op matmul --quick --no-peers)"
  timeout --kill-after=5 "$(step_timeout 120)" "$NODE" "$ENTRY" --backend js --op matmul --quick --no-peers --json "$OUT/bench.json" > "$OUT/bench.log" 2>&1
  BENCH_RC=$?
  step_done bench-smoke "$BENCH_RC" $(( $(date +%s) - t ))
  log "bench smoke exit $BENCH_RC"
  t=$(date +%s)
  timeout --kill-after=5 30 "$NODE" scripts/gpu-energy-check.mjs "$OUT" --seconds 0.2 --n 64 > "$OUT/energy-check.log" 2>&1
  ENERGY_RC=$?
  step_done energy-smoke "$ENERGY_RC" $(( $(date +%s) - t ))
  log "dry run: energy check exit $ENERGY_RC (expected 1 without a GPU): $(tail -1 "$OUT/energy-check.log")"
fi

# ---- 8. summary ----------------------------------------------------------------------------------
cat > "$OUT/summary.json" <<JSON
{ "dryRun": $( [ "$DRY" = 1 ] && echo true || echo false ), "testsExit": $TEST_RC, "energyExit": $ENERGY_RC,
  "torchExit": $TORCH_RC, "benchExit": $BENCH_RC, "rebuilt": $( [ "$REBUILT" = 1 ] && echo true || echo false ),
  "steps": { ${STEPS%, } }, "seconds": $(( $(date +%s) - T0 )), "budgetSeconds": $BUDGET,
  "node": "$("$NODE" --version)", "bundle": $(tr -d '\n' < bundle.json),
  "cuda": $(tr -d '\n' < "$OUT/cuda-status.json") }
JSON
log "done; results in $OUT ($(ls "$OUT" | tr '\n' ' '))"
[ "$TEST_RC" = null ] && exit 0
exit "$TEST_RC"
