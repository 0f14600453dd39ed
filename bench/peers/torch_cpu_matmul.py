#!/usr/bin/env python3
"""The CPU matmul peer for bench/lib/cpu-native.ts: torch.matmul fp32 on the CPU at a given thread
count (torch.set_num_threads), medians of time.perf_counter() around single calls after warm-up.

  python3 bench/peers/torch_cpu_matmul.py --threads N --sizes 512,1024,2048 [--budget-ms 1500]

Prints one JSON object: {"torch", "threads", "blas" (torch.__config__ BLAS line, the library file,
OpenBLAS's config and the kernel core it runs), "cases": [{"n", "median_ms", "gflops"}]}. Debian's
python3-torch uses OpenBLAS when libopenblas0-pthread is installed (else the reference BLAS: check
"blas"). That OpenBLAS is the pthread build with its own pool, which ignores torch.set_num_threads
and uses every core: --threads sets both (openblas_set_num_threads through ctypes). The core is
OpenBLAS's run-time pick unless OPENBLAS_CORETYPE forces one (bench/lib/cpu-native.ts removes a
forced core from this script's environment and says so).
"""
import argparse
import json
import os
import platform
import re
import statistics
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--sizes", default="512,1024,2048")
    ap.add_argument("--budget-ms", type=float, default=1500.0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    ob = None
    try:
        import ctypes
        ob = ctypes.CDLL("/usr/lib/%s-linux-gnu/libblas.so.3" % platform.machine())
        ob.openblas_set_num_threads(a.threads)
        ob.openblas_get_corename.restype = ctypes.c_char_p
        ob.openblas_get_config.restype = ctypes.c_char_p
    except (OSError, AttributeError):
        ob = None
    cfg = torch.__config__.show()
    m = re.search(r"BLAS_INFO=([^,]*)", cfg)
    # Debian's torch links the generic libblas.so.3, which the alternatives system points at
    # OpenBLAS (pthread) when libopenblas0-pthread is installed: name the file it resolves to
    lib = "/usr/lib/%s-linux-gnu/libblas.so.3" % platform.machine()
    blas = "BLAS_INFO=%s, libblas.so.3 -> %s" % (m.group(1) if m else "?", os.path.realpath(lib) if os.path.exists(lib) else "missing")
    if ob is not None:
        blas += ", %s, core %s, %d OpenBLAS thread(s)" % (ob.openblas_get_config().decode(), ob.openblas_get_corename().decode(), ob.openblas_get_num_threads())
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas, "cases": []}
    g = torch.Generator().manual_seed(0)
    for n in [int(s) for s in a.sizes.split(",")]:
        A = torch.rand(n, n, generator=g) - 0.5
        B = torch.rand(n, n, generator=g) - 0.5
        for _ in range(3):
            torch.matmul(A, B)
        times = []
        t_end = time.perf_counter() + a.budget_ms / 1000
        while len(times) < 5 or (time.perf_counter() < t_end and len(times) < 200):
            t0 = time.perf_counter()
            torch.matmul(A, B)
            times.append(time.perf_counter() - t0)
        ms = statistics.median(times) * 1000
        out["cases"].append({"n": n, "median_ms": ms, "gflops": 2 * n ** 3 / (ms / 1000) / 1e9})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
