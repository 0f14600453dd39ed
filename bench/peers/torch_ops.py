#!/usr/bin/env python3
"""The GPU peer: PyTorch (cuBLAS / cuDNN / fused optimizers) on the same shapes as wattgrad's bench.

Times, with CUDA events after warm-up, medians over many samples, inputs rotated when they fit in
L2 (50 MB on H100):
  matmul   torch.matmul fp32 (TF32 off), TF32, bf16
  conv2d   cuDNN forward, grad-input, grad-weight (aten.convolution_backward), fp32 (TF32 off) and TF32
  lstm/gru nn.LSTM / nn.GRU (cuDNN), forward + backward of out.sum(), input requires grad
  adamw    torch.optim.AdamW(fused=True);  sgd: torch.optim.SGD(momentum=0.9, foreach=True)
  softmax  F.softmax;  xent: F.cross_entropy forward + backward
  train    the MNIST MLP / CNN of bench/e2e/models.ts, one Adam(fused=True) step

Case ids match bench/ops/*.ts and bench/e2e/train.ts exactly; the Node report matches on them.

  python3 bench/peers/torch_ops.py --json out.json [--quick] [--ops matmul,conv2d,...]

Writes {"device": ..., "torch": ..., "cuda": ..., "cases": [{"id", "peer", "dtype", "median_ms", "note"}]}.
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

L2_BYTES = 50 * 1024 * 1024


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def time_cuda(fn, budget_ms=1500.0, min_samples=5, max_samples=200, warmup=3, min_sample_ms=1.0):
    """Median ms of one fn(i) call, CUDA events around a batch of calls per sample."""
    i = 0
    torch.cuda.synchronize()
    one = float("inf")
    t_w = time.perf_counter()
    k = 0
    while k < warmup or ((time.perf_counter() - t_w) * 1000 < budget_ms * 0.1 and k < 50):
        t = time.perf_counter()
        fn(i)
        i += 1
        torch.cuda.synchronize()
        one = min(one, (time.perf_counter() - t) * 1000)
        k += 1
    iters = max(1, min(1000, math.ceil(min_sample_ms / max(one, 1e-4))))
    a = torch.cuda.Event(enable_timing=True)
    b = torch.cuda.Event(enable_timing=True)
    samples = []
    start = time.perf_counter()
    while len(samples) < max_samples and (len(samples) < min_samples or (time.perf_counter() - start) * 1000 < budget_ms):
        a.record()
        for _ in range(iters):
            fn(i)
            i += 1
        b.record()
        b.synchronize()
        samples.append(a.elapsed_time(b) / iters)
    return median(samples)


def copies_for(nbytes, cap=8):
    if nbytes <= 0:
        return 1
    return max(1, min(cap, math.ceil(2 * L2_BYTES / nbytes)))


def set_tf32(on):
    torch.backends.cuda.matmul.allow_tf32 = on
    torch.backends.cudnn.allow_tf32 = on


# ---- shapes (mirror bench/ops/*.ts, backend 'cuda') ------------------------------------------

def matmul_shapes(quick):
    if quick:
        return [(1024, 1024, 1024), (128, 2048, 7168)]
    sq = [(s, s, s) for s in (1024, 2048, 4096, 8192)]
    return sq + [(4096, 4096, 7168), (4096, 7168, 16384), (1, 7168, 2048), (1, 2048, 7168), (128, 7168, 2048), (128, 2048, 7168)]


def conv_shapes(quick):
    n = 4 if quick else 32
    all_ = [
        (n, 64, 56, 64, 3, 1, 1),
        (n, 64, 56, 256, 1, 1, 0),
        (n, 128, 28, 128, 3, 1, 1),
        (n, 256, 14, 256, 3, 1, 1),
        (n, 512, 7, 512, 3, 1, 1),
        (n, 3, 224, 64, 7, 2, 3),
    ]
    return all_[:2] if quick else all_


def rnn_shapes(quick):
    if quick:
        return [(16, 4, 5, 8)]
    return [(h, b, t, h) for h in (512, 1024, 2048) for b in (16, 64) for t in (25, 100)]


def optim_shapes(quick):
    if quick:
        return [(int(1e6), 100)]
    return [(int(1e6), 100), (int(1e8), 1000), (int(1e9), 1000)]


def softmax_shapes(quick):
    return [(16, 1000)] if quick else [(4096, 32000)]


def fmt_count(n):
    # bench/ops/optim.ts fmtCount: JS number formatting of n/1e9 or n/1e6
    def js(x):
        return str(int(x)) if float(x).is_integer() else repr(x)
    if n >= 1e9:
        return f"{js(n / 1e9)}e9"
    if n >= 1e6:
        return f"{js(n / 1e6)}e6"
    return str(n)


# ---- cases ------------------------------------------------------------------------------------

def bench_matmul(quick, budget, out):
    for (m, n, k) in matmul_shapes(quick):
        cid = f"matmul {m}x{n}x{k}"
        for peer, dtype, tf32 in (("torch fp32", torch.float32, False), ("torch tf32", torch.float32, True), ("torch bf16", torch.bfloat16, False)):
            set_tf32(tf32)
            esz = 2 if dtype == torch.bfloat16 else 4
            c = copies_for((m * k + k * n) * esz)
            A = [torch.rand(m, k, device="cuda", dtype=dtype) * 2 - 1 for _ in range(c)]
            B = [torch.rand(k, n, device="cuda", dtype=dtype) * 2 - 1 for _ in range(c)]
            ms = time_cuda(lambda i: torch.matmul(A[i % c], B[i % c]), budget)
            out.append({"id": cid, "peer": peer, "dtype": "tf32" if tf32 else ("bfloat16" if dtype == torch.bfloat16 else "float32"), "median_ms": ms})
            del A, B
    set_tf32(False)


def bench_conv(quick, budget, out):
    torch.backends.cudnn.benchmark = True
    for (n, c, h, k, r, s, p) in conv_shapes(quick):
        q = (h + 2 * p - r) // s + 1
        for peer, tf32 in (("torch fp32", False), ("torch tf32", True)):
            set_tf32(tf32)
            cp = copies_for(4 * (n * c * h * h + k * c * r * r))
            X = [torch.rand(n, c, h, h, device="cuda") * 2 - 1 for _ in range(cp)]
            W = [(torch.rand(k, c, r, r, device="cuda") * 2 - 1) * 0.2 for _ in range(cp)]
            DY = [torch.rand(n, k, q, q, device="cuda") * 2 - 1 for _ in range(cp)]
            conv_bwd = torch.ops.aten.convolution_backward
            passes = {
                "fwd": lambda i: F.conv2d(X[i % cp], W[i % cp], None, s, p),
                "grad-input": lambda i: conv_bwd(DY[i % cp], X[i % cp], W[i % cp], None, [s, s], [p, p], [1, 1], False, [0, 0], 1, [True, False, False]),
                "grad-weight": lambda i: conv_bwd(DY[i % cp], X[i % cp], W[i % cp], None, [s, s], [p, p], [1, 1], False, [0, 0], 1, [False, True, False]),
            }
            for name, fn in passes.items():
                cid = f"conv2d {name} n{n} {h}x{h} {c}->{k} k{r} s{s} p{p}"
                ms = time_cuda(fn, budget)
                out.append({"id": cid, "peer": peer, "dtype": "tf32" if tf32 else "float32", "median_ms": ms, "note": "cuDNN, NCHW, benchmark=True"})
            del X, W, DY
    set_tf32(False)


def bench_rnn(quick, budget, out):
    set_tf32(False)
    for kind in ("lstm", "gru"):
        for (h, b, t, i_) in rnn_shapes(quick):
            cls = nn.LSTM if kind == "lstm" else nn.GRU
            mod = cls(i_, h).cuda()
            x = (torch.rand(t, b, i_, device="cuda") * 2 - 1).requires_grad_()

            def step(_i):
                y, _ = mod(x)
                y.sum().backward()
                mod.zero_grad(set_to_none=True)
                x.grad = None

            ms = time_cuda(step, budget)
            out.append({"id": f"{kind} fwd+bwd h{h} b{b} t{t} i{i_}", "peer": "torch fp32", "dtype": "float32", "median_ms": ms, "note": "cuDNN nn." + cls.__name__})
            del mod, x
            torch.cuda.empty_cache()


def bench_optim(quick, budget, out, kinds):
    free, total = torch.cuda.mem_get_info()
    for kind in kinds:
        for (nparams, ntensors) in optim_shapes(quick):
            need = (16 if kind == "adamw" else 12) * nparams
            cid = f"{kind} {fmt_count(nparams)} params {ntensors} tensors"
            if need > 0.8 * total:
                out.append({"id": cid, "peer": "torch", "dtype": "float32", "median_ms": None, "note": f"skipped: needs {need / 2**30:.1f} GiB"})
                continue
            base = nparams // ntensors
            sizes = [base + (1 if i < nparams % ntensors else 0) for i in range(ntensors)]
            params = [torch.nn.Parameter(torch.rand(sz, device="cuda") * 2 - 1) for sz in sizes]
            for p in params:
                p.grad = (torch.rand_like(p) * 2 - 1) * 0.1
            if kind == "adamw":
                opt = torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, fused=True)
                peer, note = "torch fused", "AdamW(fused=True)"
            else:
                opt = torch.optim.SGD(params, lr=0.01, momentum=0.9, foreach=True)
                peer, note = "torch foreach", "SGD(momentum=0.9, foreach=True)"
            ms = time_cuda(lambda i: opt.step(), budget)
            out.append({"id": cid, "peer": peer, "dtype": "float32", "median_ms": ms, "note": note})
            del opt, params
            torch.cuda.empty_cache()


def bench_softmax(quick, budget, out, kinds):
    for (r, c) in softmax_shapes(quick):
        cp = copies_for(4 * r * c, 4)
        X = [(torch.rand(r, c, device="cuda") * 8 - 4) for _ in range(cp)]
        if "softmax" in kinds:
            ms = time_cuda(lambda i: F.softmax(X[i % cp], dim=-1), budget)
            out.append({"id": f"softmax fwd {r}x{c}", "peer": "torch", "dtype": "float32", "median_ms": ms})
        if "xent" in kinds:
            L = [x.detach().requires_grad_() for x in X]
            tgt = torch.randint(0, c, (r,), device="cuda")

            def step(i):
                x = L[i % cp]
                F.cross_entropy(x, tgt).backward()
                x.grad = None

            ms = time_cuda(step, budget)
            out.append({"id": f"cross_entropy fwd+bwd {r}x{c}", "peer": "torch", "dtype": "float32", "median_ms": ms})
        del X


def mnist_model(name):
    if name == "mlp":
        return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    return nn.Sequential(
        nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(1568, 10))


def bench_train(quick, budget, out, models):
    set_tf32(False)
    batch = 4 if quick else 64
    for name in models:
        model = mnist_model(name).cuda()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
        shape = (batch, 784) if name == "mlp" else (batch, 1, 28, 28)
        data = [(torch.rand(*shape, device="cuda"), torch.randint(0, 10, (batch,), device="cuda")) for _ in range(8)]

        def step(i):
            x, y = data[i % len(data)]
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

        ms = time_cuda(step, budget)
        out.append({"id": f"train {name} b{batch}", "peer": "torch", "dtype": "float32", "median_ms": ms, "note": "eager, Adam(fused=True), TF32 off"})


def device_info():
    p = torch.cuda.get_device_properties(0)
    info = {"device": p.name, "torch": torch.__version__, "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
            "total_memory": p.total_memory, "sm_count": p.multi_processor_count}
    # device-to-device copy bandwidth (read + write), a lead for the roofline
    n = 256 * 1024 * 1024  # 1 GiB of fp32
    a = torch.empty(n, device="cuda").uniform_()
    b = torch.empty_like(a)
    ms = time_cuda(lambda i: b.copy_(a), 1000)
    info["copy_bytes_per_s"] = 2 * 4 * n / (ms / 1000)
    del a, b
    torch.cuda.empty_cache()
    return info


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--ops", default="matmul,conv2d,lstm,gru,adamw,sgd,softmax,xent,mlp,cnn")
    ap.add_argument("--budget-ms", type=float, default=1500.0)
    a = ap.parse_args()
    ops = set(a.ops.split(","))
    if not torch.cuda.is_available():
        print("torch_ops.py: CUDA is not available to torch", file=sys.stderr)
        sys.exit(2)
    budget = 200.0 if a.quick else a.budget_ms
    res = device_info()
    cases = []
    steps = [
        ("matmul", lambda: bench_matmul(a.quick, budget, cases)),
        ("conv2d", lambda: bench_conv(a.quick, budget, cases)),
        ("rnn", lambda: bench_rnn(a.quick, budget, cases) if ops & {"lstm", "gru"} else None),
        ("optim", lambda: bench_optim(a.quick, budget, cases, [k for k in ("adamw", "sgd") if k in ops])),
        ("softmax", lambda: bench_softmax(a.quick, budget, cases, [k for k in ("softmax", "xent") if k in ops])),
        ("train", lambda: bench_train(a.quick, budget, cases, [k for k in ("mlp", "cnn") if k in ops])),
    ]
    for name, fn in steps:
        if name in ("matmul", "conv2d") and name not in ops:
            continue
        try:
            fn()
        except Exception as e:  # keep the other families
            res.setdefault("errors", []).append(f"{name}: {type(e).__name__}: {e}")
        torch.cuda.empty_cache()
    if not ({"lstm", "gru"} <= ops):
        cases = [c for c in cases if not (c["id"].startswith("lstm") and "lstm" not in ops) and not (c["id"].startswith("gru") and "gru" not in ops)]
    res["cases"] = cases
    with open(a.json, "w") as f:
        json.dump(res, f, indent=1)
    print(f"torch_ops.py: {len(cases)} cases -> {a.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
