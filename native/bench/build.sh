#!/usr/bin/env bash
# Builds native/bench/gemm_bench (native/cpu's GEMM without Node) into build/gemm-bench/.
# Same per-ISA flags as CMakeLists.txt. Usage: [GEMM_BENCH_OUT=dir] bash native/bench/build.sh [extra g++ flags]
set -eu
cd "$(dirname "$0")/../.."
out=${GEMM_BENCH_OUT:-build/gemm-bench}
mkdir -p "$out"
CXX=${CXX:-g++}
F="-O3 -std=c++17 -Wall -Wextra -Wno-unused-parameter $*"
objs=()
for f in dispatch pool isa_sse2 isa_avx2 isa_avx512; do
  extra=""
  case $f in
    isa_avx2) extra="-mavx2 -mfma" ;;
    isa_avx512) extra="-mavx512f -mfma" ;;
  esac
  $CXX $F $extra -c native/cpu/$f.cc -o $out/$f.o &
  objs+=("$out/$f.o")
  # at most JOBS compiles at a time (default 2: the machine is shared)
  if (( ${#objs[@]} % ${JOBS:-2} == 0 )); then wait; fi
done
wait
$CXX $F native/bench/gemm_bench.cc "${objs[@]}" -o $out/gemm_bench -lpthread
echo "$out/gemm_bench"
