#!/usr/bin/env bash
# scripts/check-neon.sh — cross-compiles native/cpu's GEMM for arm64 (isa_neon.cc, isa_generic.cc,
# dispatch.cc, pool.cc) with native/bench/gemm_bench.cc, -Werror, and, when qemu-aarch64 is
# installed, runs the binary's check (f32 and f64 against a double reference: odd shapes, all
# transposes, block edges, NaN-poisoned outputs) on the neon and the generic path at 1 and 2
# threads; also compiles every native/cpu/*.cc for arm64 and links them (no undefined wgcpu::
# symbol). Needs g++-aarch64-linux-gnu (Debian/Ubuntu); without it, says so and exits 0 unless
# WATTGRAD_REQUIRE_NEON=1. Cheap (~30 s on 2 cores): CI can run it.
set -eu
cd "$(dirname "$0")/.."
CXX=${AARCH64_CXX:-aarch64-linux-gnu-g++}
if ! command -v "$CXX" >/dev/null 2>&1; then
  echo "check-neon: $CXX not found (apt-get install g++-aarch64-linux-gnu); skipped"
  [ "${WATTGRAD_REQUIRE_NEON:-0}" = 1 ] && exit 1
  exit 0
fi
out=build/check-neon
mkdir -p "$out"
F="-O2 -std=c++17 -Wall -Wextra -Wno-unused-parameter -Werror -march=armv8-a"
objs=()
for f in dispatch pool isa_neon isa_generic; do
  $CXX $F -c native/cpu/$f.cc -o $out/$f.o &
  objs+=("$out/$f.o")
done
wait
# every object must be non-empty where it should be: the NEON table is really compiled in
$CXX $F -static native/bench/gemm_bench.cc "${objs[@]}" -o $out/gemm_bench -lpthread
nm -C $out/isa_neon.o | grep -q 'kNeonKernels' || { echo "check-neon: isa_neon.o has no kNeonKernels"; exit 1; }
echo "check-neon: cross-compiled $out/gemm_bench (aarch64, static)"
# The addon's whole CPU part as an arm64 build compiles it: every native/cpu/*.cc (the x86 ISA
# units compile to nothing there), -Werror, linked into one shared object in which no wgcpu::
# symbol may stay undefined (an x86-only kernel referenced outside its guard would).
mkdir -p "$out/all"
rm -f "$out"/all/*.o
napi="-I node_modules/node-addon-api -I node_modules/node-api-headers/include"
pids=()
for f in native/cpu/*.cc; do
  $CXX $F -fPIC $napi -c "$f" -o "$out/all/$(basename "$f" .cc).o" &
  pids+=($!)
  if [ ${#pids[@]} -ge 2 ]; then
    wait "${pids[0]}"
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p"; done
$CXX -shared -o "$out/all/wgcpu.so" "$out"/all/*.o -lpthread
undef=$(aarch64-linux-gnu-nm -C -u "$out/all/wgcpu.so" 2>/dev/null | grep 'wgcpu::' || true)
if [ -n "$undef" ]; then
  echo "check-neon: the arm64 CPU objects leave wgcpu:: symbols undefined (x86-only code outside a guard?):"
  echo "$undef"
  exit 1
fi
echo "check-neon: every native/cpu/*.cc compiles for aarch64 (-Werror) and links with no undefined wgcpu:: symbol"
if ! command -v qemu-aarch64 >/dev/null 2>&1; then
  echo "check-neon: qemu-aarch64 not found (apt-get install qemu-user): compiled, not run"
  exit 0
fi
for isa in neon generic; do
  for t in 1 2; do
    qemu-aarch64 $out/gemm_bench --isa $isa --threads $t --check-only
  done
done
echo "check-neon: ok"
