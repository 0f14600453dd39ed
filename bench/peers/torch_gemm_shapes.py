#!/usr/bin/env python3
"""PyTorch CPU fp32 matmul on given shapes, by process CPU time: the peer of native/bench/gemm_bench's
--sizes (same shape syntax: MxNxK followed by t for a transposed B (x @ W.T of a linear layer) and/or a
for a transposed A (dY.T @ X)). Torch and OpenBLAS at one thread, OPENBLAS_CORETYPE unset (OpenBLAS
then picks the kernels for this CPU). Figures include torch's per-call dispatch (~0.5-1 us), which
dominates the smallest shapes.

  python3 bench/peers/torch_gemm_shapes.py 32x256x784t,32x10x256t,32x256x10,10x256x32a,256x784x32a

The MLP 784-256-10 Adam step at batch 32 multiplies 32x256x784t and 32x10x256t forward, 32x256x10,
10x256x32a and 256x784x32a backward (lib/ops/matmul.ts linear).
"""
import os
import sys
import time

os.environ.pop("OPENBLAS_CORETYPE", None)
os.environ["OPENBLAS_NUM_THREADS"] = "1"
import torch  # noqa: E402


def parse(spec):
    body = spec.rstrip("at")
    flags = spec[len(body):]
    dims = [int(x) for x in body.split("x")]
    m, n, k = dims if len(dims) == 3 else dims * 3  # "512": 512³, as gemm_bench
    return m, n, k, "a" in flags, "t" in flags


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread, by process CPU time")
    for spec in sys.argv[1].split(","):
        m, n, k, ta, tb = parse(spec)
        a = (torch.rand(k, m) - 0.5).t() if ta else torch.rand(m, k) - 0.5
        b = (torch.rand(n, k) - 0.5).t() if tb else torch.rand(k, n) - 0.5
        out = torch.empty(m, n)
        fl = 2.0 * m * n * k
        reps = max(1, int(3e7 / fl))  # about 200 us of work per sample at ~150 GFLOP/s
        for _ in range(3):
            torch.matmul(a, b, out=out)
        cs = []
        end = time.time() + 1.0
        while len(cs) < 5 or (time.time() < end and len(cs) < 2000):
            c0 = time.process_time()
            for _ in range(reps):
                torch.matmul(a, b, out=out)
            cs.append((time.process_time() - c0) / reps)
        cs.sort()
        c = cs[len(cs) // 2]
        print(f"{spec}: {fl / c / 1e9:.1f} GFLOP/s ({c * 1e6:.2f} us a call)")


if __name__ == "__main__":
    main()
