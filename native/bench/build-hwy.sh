#!/usr/bin/env bash
# Builds native/bench/hwy_gemm.cc (the GEMM driver over Google Highway, bench only) for AVX-512 and
# AVX2 into build/gemm-bench/, linked with native/cpu's own kernels for the side-by-side timing.
# Needs libhwy-dev (Debian: apt-get install libhwy-dev). Usage: bash native/bench/build-hwy.sh
set -eu
cd "$(dirname "$0")/../.."
bash native/bench/build.sh >/dev/null
out=build/gemm-bench
CXX=${CXX:-g++}
F="-O3 -std=c++17 -Wall -Wextra -Wno-unused-parameter"
objs="$out/dispatch.o $out/pool.o $out/isa_sse2.o $out/isa_avx2.o $out/isa_avx512.o"
# Highway 1.0.3 takes its static target from the -m flags: AVX3 needs x86-64-v4 plus AES and
# PCLMUL, AVX2 x86-64-v3 plus them (with less it silently falls back to SSSE3)
$CXX $F -march=x86-64-v4 -maes -mpclmul native/bench/hwy_gemm.cc $objs -o $out/hwy_gemm_avx512 -lpthread &
$CXX $F -march=x86-64-v3 -maes -mpclmul native/bench/hwy_gemm.cc $objs -o $out/hwy_gemm_avx2 -lpthread &
wait
echo "$out/hwy_gemm_avx512 $out/hwy_gemm_avx2"
