#!/usr/bin/env bash
# scripts/gpu-check.sh OUTDIR [--dry-run] [--tests PATTERN] [--no-bench] [--bundle FILE]
#
# Run from the repo root on a GPU machine (no node, npm or network needed): unpacks
# .gpu-bundle/wattgrad-gpu.tar.xz (npm run gpu:bundle), checks the carried addon loads and sees the
# GPU (rebuilding it with the machine's nvcc when it does not and cmake is there), runs the whole
# vitest suite with WATTGRAD_REQUIRE_CUDA=1 (cuda tests fail rather than skip when cuda is
# unavailable), then the benchmarks (dist-bench/bench/run.js or dist/bench/run.js) if present.
# Writes into OUTDIR: cuda-status.json, rebuild.log, vitest.log, vitest.json, bench.log,
# bench.json, summary.json. Exit status: non-zero when the tests failed.
#
# --dry-run: no WATTGRAD_REQUIRE_CUDA, no rebuild, no bench (checks the bundle on a machine without
# a GPU: the suite then runs on js with cuda unavailable). --tests PATTERN limits vitest to files
# matching PATTERN.
set -u
OUT=""; DRY=0; TESTS=""; BENCH=1; BUNDLE=".gpu-bundle/wattgrad-gpu.tar.xz"
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY=1 ;;
    --tests) TESTS="$2"; shift ;;
    --no-bench) BENCH=0 ;;
    --bundle) BUNDLE="$2"; shift ;;
    -*) echo "gpu-check: unknown option $1" >&2; exit 2 ;;
    *) OUT="$1" ;;
  esac
  shift
done
[ -n "$OUT" ] || { echo "usage: scripts/gpu-check.sh OUTDIR [--dry-run] [--tests PATTERN] [--no-bench]" >&2; exit 2; }
[ -f "$BUNDLE" ] || { echo "gpu-check: $BUNDLE not found (run npm run gpu:bundle first)" >&2; exit 2; }
mkdir -p "$OUT"; OUT="$(cd "$OUT" && pwd)"
WORK="$(pwd)/.gpu-bundle/run"
T0=$(date +%s)
log() { echo "gpu-check: $* ($(( $(date +%s) - T0 )) s)" | tee -a "$OUT/gpu-check.log"; }

rm -rf "$WORK"; mkdir -p "$WORK"
xz -dc "$BUNDLE" | tar -C "$WORK" -xf - || { log "unpack failed"; exit 2; }
export PATH="$WORK/bin:$PATH"
NODE="$WORK/bin/node"
log "unpacked $(cat "$WORK/bundle.json" | tr -d '\n ' ) with node $("$NODE" --version)"
cd "$WORK"

status_json() {
  "$NODE" -e "
    let s; try { const b = require('./build/Release/wattgrad.node');
      s = { loaded: true, buildInfo: b.buildInfo, status: b.cudaStatus() };
    } catch (e) { s = { loaded: false, error: String(e && e.message || e) }; }
    console.log(JSON.stringify(s, null, 2));"
}
status_json > "$OUT/cuda-status.json"
usable() { "$NODE" -e "const s=require('$OUT/cuda-status.json'); process.exit(s.loaded && s.status.available ? 0 : 1)"; }

REBUILT=0
if ! usable && [ "$DRY" = 0 ]; then
  log "carried addon not usable: $(tr -d '\n' < "$OUT/cuda-status.json" | head -c 400)"
  if command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; then
    ARCH="${WATTGRAD_CUDA_ARCH:-}"
    if [ -z "$ARCH" ] && command -v nvidia-smi >/dev/null 2>&1; then
      ARCH="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d ' .')"
      [ "$ARCH" = "90" ] && ARCH=90a
    fi
    log "rebuilding the addon with nvcc for ${ARCH:-all}"
    if "$NODE" scripts/build-native.mjs --cuda --clean ${ARCH:+--arch=$ARCH} > "$OUT/rebuild.log" 2>&1; then
      REBUILT=1; status_json > "$OUT/cuda-status.json"
    else
      log "rebuild failed (see rebuild.log)"
    fi
  fi
fi

VITEST_ENV=()
[ "$DRY" = 0 ] && VITEST_ENV+=(WATTGRAD_REQUIRE_CUDA=1)
log "running vitest${TESTS:+ on $TESTS} $( [ "$DRY" = 1 ] && echo '(dry run: cuda not required)')"
env "${VITEST_ENV[@]}" WATTGRAD_SLOW_TESTS="${WATTGRAD_SLOW_TESTS:-0}" "$NODE" node_modules/vitest/vitest.mjs run \
  --reporter=default --reporter=json --outputFile.json="$OUT/vitest.json" ${TESTS:+$TESTS} > "$OUT/vitest.log" 2>&1
TEST_RC=$?
log "vitest exit $TEST_RC: $(grep -E '^ *(Test Files|Tests) ' "$OUT/vitest.log" | tr -s ' ' | tr '\n' ';')"

BENCH_RC=null
if [ "$BENCH" = 1 ] && [ "$DRY" = 0 ]; then
  ENTRY=""
  for e in dist-bench/bench/run.js dist/bench/run.js; do [ -f "$e" ] && { ENTRY="$e"; break; }; done
  if [ -n "$ENTRY" ]; then
    log "bench: $ENTRY"
    "$NODE" "$ENTRY" --backend cuda --json "$OUT/bench.json" > "$OUT/bench.log" 2>&1
    BENCH_RC=$?
    log "bench exit $BENCH_RC"
  else
    log "no bench entry; skipped"
  fi
fi

cat > "$OUT/summary.json" <<JSON
{ "dryRun": $( [ "$DRY" = 1 ] && echo true || echo false ), "testsExit": $TEST_RC, "benchExit": $BENCH_RC,
  "rebuilt": $( [ "$REBUILT" = 1 ] && echo true || echo false ), "seconds": $(( $(date +%s) - T0 )),
  "node": "$("$NODE" --version)", "bundle": $(cat bundle.json | tr -d '\n'),
  "cuda": $(cat "$OUT/cuda-status.json" | tr -d '\n') }
JSON
log "done; results in $OUT"
exit $TEST_RC
