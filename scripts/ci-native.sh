#!/usr/bin/env bash
# scripts/ci-native.sh — the native part of CI (no GPU needed), called by .ci/run.
#
#  1. a clean CUDA build for sm_90a only (fast enough for 2 cores) into build/ — the addon the
#     test suite then loads (build/Release/wattgrad.node);
#  2. a clean build with nvcc hidden from PATH (CUDACXX unset; falls back to WATTGRAD_CUDA=OFF if
#     CMake still finds a toolkit) into build/nocuda/;
#  3. checks on both: no libcuda / libcudart in the dynamic dependencies (readelf), the addon loads
#     in node, cudaStatus() reports unavailable with a reason on this GPU-less machine, buildInfo.
# Prints sizes and times; exit status non-zero on any failure.
set -eu
cd "$(dirname "$0")/.."
T0=$(date +%s)
say() { echo "ci-native: $* ($(( $(date +%s) - T0 )) s)"; }
fail() { echo "ci-native: FAIL: $*" >&2; exit 1; }

check_addon() {  # FILE EXPECT_CUDA(true|false)
  local f="$1" want="$2"
  [ -f "$f" ] || fail "$f missing"
  if readelf -d "$f" | grep NEEDED | grep -Eq 'libcuda|libcudart|libnvidia'; then
    readelf -d "$f" | grep NEEDED >&2; fail "$f depends on a CUDA/driver library"
  fi
  node -e "
    const b = require('$(pwd)/$f');
    const s = b.cudaStatus(), i = b.buildInfo;
    if (i.cuda !== $want) { console.error('buildInfo.cuda is', i.cuda, 'expected $want'); process.exit(1); }
    if (!s.available && !s.reason) { console.error('unavailable without a reason'); process.exit(1); }
    console.log('  ' + '$f'.padEnd(34) + ' cuda=' + i.cuda + ' kernels=' + i.kernels + ' nvml=' + i.nvml +
      ' archs=' + (i.cudaArchs || '-') + ' | cuda ' + (s.available ? 'available' : 'unavailable: ' + s.reason));
  " || fail "$f does not load or reports wrongly"
  say "$f: $(du -h "$f" | cut -f1)"
}

rm -rf build/Release build/nocuda build/CMakeCache.txt build/CMakeFiles; mkdir -p build
say "CUDA build (sm_90a)"
node scripts/build-native.mjs --cuda --arch=90a --clean --out=build > build/ci-cuda.log 2>&1 || { tail -40 build/ci-cuda.log; fail "CUDA build"; }
check_addon build/Release/wattgrad.node true

say "build with nvcc hidden"
NOCUDA_PATH="$(echo "$PATH" | tr ':' '\n' | grep -v -E '^/usr/local/bin$|cuda' | paste -sd: -)"
if env -u CUDACXX -u CUDA_PATH PATH="$NOCUDA_PATH" sh -c 'command -v nvcc' >/dev/null 2>&1; then
  fail "nvcc is still on the reduced PATH"
fi
env -u CUDACXX -u CUDA_PATH -u WATTGRAD_CUDA PATH="$NOCUDA_PATH" node scripts/build-native.mjs --clean --out=build/nocuda > build/ci-nocuda.log 2>&1 \
  || { tail -40 build/ci-nocuda.log; fail "no-nvcc build"; }
if grep -q "wattgrad: CUDA" build/ci-nocuda.log; then
  say "CMake found a CUDA toolkit without nvcc on PATH; forcing WATTGRAD_CUDA=OFF"
  node scripts/build-native.mjs --no-cuda --clean --out=build/nocuda > build/ci-nocuda.log 2>&1 || fail "no-CUDA build"
fi
check_addon build/nocuda/Release/wattgrad.node false
mkdir -p build
say "ok"
