#!/usr/bin/env python3
"""The PyTorch peer: on the GPU (cuBLAS / cuDNN / fused optimizers), or on the CPU (--device cpu:
OpenBLAS matmul, oneDNN conv, at a given thread count), on the same shapes as wattgrad's bench.

Times, with CUDA events after warm-up, medians over many samples, inputs rotated when they fit in
L2 (50 MB on H100):
  matmul   torch.matmul fp32 (TF32 off), TF32, bf16
  conv2d   cuDNN forward, grad-input, grad-weight (aten.convolution_backward), fp32 (TF32 off) and TF32
  lstm/gru nn.LSTM / nn.GRU (cuDNN), forward + backward of out.sum(), input requires grad
  adamw    torch.optim.AdamW(fused=True);  sgd: torch.optim.SGD(momentum=0.9, foreach=True)
  softmax  F.softmax;  xent: F.cross_entropy forward + backward
  train    the MNIST MLP / CNN of bench/e2e/models.ts, one Adam(fused=True) step

Case ids match bench/ops/*.ts and bench/e2e/train.ts exactly; the Node report matches on them.

  python3 bench/peers/torch_ops.py --json out.json [--quick] [--ops matmul,conv2d,...] [--device cuda|cpu]
  python3 bench/peers/torch_ops.py --list-ids [--quick] [--device cuda|cpu]   # ids only, nothing timed

Writes {"device": ..., "torch": ..., "cuda": ..., "cudnn": ..., "torch_device": "cuda"|"cpu", "timing": ...,
"copy_bytes_per_s": ..., ["errors": [...]], "cases": [{"id", "peer", "dtype", "median_ms", "note"?}]};
median_ms is null (with a note) for a case skipped for memory. On cpu, cases timed by time_cuda also
carry "cpu_ms": the median process CPU time per call (robust to other load at 1 thread).

--device cpu is the CPU peer of the Node bench's js backend (its --backend js ids; bench/lib/cpu-goals.ts
runs it at 1 thread and at all cores): timing is time.perf_counter() around batches of calls, no
TF32 rows (a CUDA setting), no cuDNN settings, AdamW / Adam use foreach=True (this torch has no
fused CPU optimizers; noted per case). --threads N sets torch.set_num_threads(N) and OpenBLAS's own
pool (openblas_set_num_threads: Debian's torch calls a pthread OpenBLAS that otherwise uses every
core whatever torch's setting); the JSON's "blas" names the library file, OpenBLAS's config and the
kernel core it picked (OPENBLAS_CORETYPE in the environment forces one), "threads" both counts.
--goals runs the CPU goal cases of issue 12 instead of --ops: matmul 512³–2048³, the small-CNN conv
layers (fwd, grad-input, grad-weight), LSTM/GRU h128 b32 T28 fwd+bwd, AdamW 1e6 params, the MNIST
CNN train step at batch 64, the bench MLP's and the 784-256-10 MLP's Adam step at batch 32.

  python3 bench/peers/torch_ops.py --device cpu --threads 1 --goals --json cpu1.json
"""
import argparse
import json
import math
import os
import platform
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

L2_BYTES = 50 * 1024 * 1024

# "cuda" (the peer) or "cpu" (smoke mode); set once by main() from --device
DEVICE = "cuda"


def on_cuda():
    return DEVICE == "cuda"


def shape_backend():
    """Which of the Node bench's shape lists to mirror: its cuda backend on the GPU, its js backend on cpu."""
    return "cuda" if on_cuda() else "js"


def sync():
    if on_cuda():
        torch.cuda.synchronize()


def empty_cache():
    if on_cuda():
        torch.cuda.empty_cache()


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


class Ms(float):
    """A median in ms; on cpu it also carries cpu_ms, the median process CPU time per call (what a
    loaded machine disturbs least at 1 thread; main() writes it as the case's "cpu_ms")."""
    cpu_ms = None


def time_cuda(fn, budget_ms=1500.0, min_samples=5, max_samples=200, warmup=3, min_sample_ms=1.0):
    """Median ms of one fn(i) call, CUDA events around a batch of calls per sample
    (on cpu: time.perf_counter() around the batch)."""
    i = 0
    sync()
    one = float("inf")
    t_w = time.perf_counter()
    k = 0
    while k < warmup or ((time.perf_counter() - t_w) * 1000 < budget_ms * 0.1 and k < 50):
        t = time.perf_counter()
        fn(i)
        i += 1
        sync()
        one = min(one, (time.perf_counter() - t) * 1000)
        k += 1
    iters = max(1, min(1000, math.ceil(min_sample_ms / max(one, 1e-4))))
    if not on_cuda():
        samples, cpu = [], []
        start = time.perf_counter()
        while len(samples) < max_samples and (len(samples) < min_samples or (time.perf_counter() - start) * 1000 < budget_ms):
            t, c = time.perf_counter(), time.process_time()
            for _ in range(iters):
                fn(i)
                i += 1
            samples.append((time.perf_counter() - t) * 1000 / iters)
            cpu.append((time.process_time() - c) * 1000 / iters)
        r = Ms(median(samples))
        r.cpu_ms = median(cpu)
        return r
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
    if not on_cuda():
        return
    torch.backends.cuda.matmul.allow_tf32 = on
    torch.backends.cudnn.allow_tf32 = on


def total_memory():
    if on_cuda():
        return torch.cuda.mem_get_info()[1]
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


# ---- shapes (mirror bench/ops/*.ts and bench/e2e/models.ts: backend 'cuda', or 'js' on --device cpu) ----

def matmul_shapes(quick, backend="cuda"):
    if quick:
        return [(64, 64, 64), (128, 128, 128)] if backend == "js" else [(1024, 1024, 1024), (128, 2048, 7168)]
    if backend == "js":
        return [(s, s, s) for s in (256, 512, 1024)]
    sq = [(s, s, s) for s in (1024, 2048, 4096, 8192)]
    return sq + [(4096, 4096, 7168), (4096, 7168, 16384), (1, 7168, 2048), (1, 2048, 7168), (128, 7168, 2048), (128, 2048, 7168)]


def conv_shapes(quick, backend="cuda"):
    if backend == "js":
        n = 2 if quick else 32
        return [(n, 1, 28, 16, 5, 1, 2), (n, 16, 14, 32, 5, 1, 2)]
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


def rnn_shapes(quick, backend="cuda"):
    if quick:
        return [(16, 4, 5, 8)]
    if backend == "js":
        return [(128, 32, 28, 28)]
    return [(h, b, t, h) for h in (512, 1024, 2048) for b in (16, 64) for t in (25, 100)]


def optim_shapes(quick, backend="cuda"):
    if quick:
        return [(10000, 10)] if backend == "js" else [(int(1e6), 100)]
    if backend == "js":
        return [(int(1e6), 100)]
    return [(int(1e6), 100), (int(1e8), 1000), (int(1e9), 1000)]


def softmax_shapes(quick, backend="cuda"):
    if quick:
        return [(16, 1000)]
    return [(256, 32000)] if backend == "js" else [(4096, 32000)]


def train_batch(quick, backend="cuda"):
    # bench/e2e/models.ts e2eBatch: QUICK_BATCH, CPU_BATCH (js), BATCH
    return 4 if quick else (32 if backend == "js" else 64)


def fmt_count(n):
    # bench/ops/optim.ts fmtCount: JS number formatting of n/1e9 or n/1e6
    def js(x):
        return str(int(x)) if float(x).is_integer() else repr(x)
    if n >= 1e9:
        return f"{js(n / 1e9)}e9"
    if n >= 1e6:
        return f"{js(n / 1e6)}e6"
    return str(n)


# ---- case ids (bench/ops/*.ts matmulId, convId, rnnId, optimId, softmaxId; bench/e2e/train.ts e2eId) ----

def matmul_id(m, n, k):
    return f"matmul {m}x{n}x{k}"


def conv_id(pass_, n, c, h, k, r, s, p):
    return f"conv2d {pass_} n{n} {h}x{h} {c}->{k} k{r} s{s} p{p}"


def rnn_id(kind, h, b, t, i_):
    return f"{kind} fwd+bwd h{h} b{b} t{t} i{i_}"


def optim_id(kind, nparams, ntensors):
    return f"{kind} {fmt_count(nparams)} params {ntensors} tensors"


def softmax_id(kind, r, c):
    return f"{'softmax fwd' if kind == 'softmax' else 'cross_entropy fwd+bwd'} {r}x{c}"


def train_id(model, batch):
    return f"train {model} b{batch}"


CONV_PASSES = ("fwd", "grad-input", "grad-weight")
ALL_OPS = ("matmul", "conv2d", "lstm", "gru", "adamw", "sgd", "softmax", "xent", "mlp", "cnn")


def case_ids(ops, quick, backend):
    """Every id a run over ops would write (memory-skipped ones included), in run order."""
    ids = []
    if "matmul" in ops:
        ids += [matmul_id(*s) for s in matmul_shapes(quick, backend)]
    if "conv2d" in ops:
        ids += [conv_id(p, *s) for s in conv_shapes(quick, backend) for p in CONV_PASSES]
    for kind in ("lstm", "gru"):
        if kind in ops:
            ids += [rnn_id(kind, *s) for s in rnn_shapes(quick, backend)]
    for kind in ("adamw", "sgd"):
        if kind in ops:
            ids += [optim_id(kind, *s) for s in optim_shapes(quick, backend)]
    for kind in ("softmax", "xent"):
        if kind in ops:
            ids += [softmax_id(kind, *s) for s in softmax_shapes(quick, backend)]
    for model in ("mlp", "cnn"):
        if model in ops:
            ids.append(train_id(model, train_batch(quick, backend)))
    return ids


# ---- cases ------------------------------------------------------------------------------------

def bench_matmul(quick, budget, out, shapes=None, fp32_only=False):
    variants = (("torch fp32", torch.float32, False), ("torch tf32", torch.float32, True), ("torch bf16", torch.bfloat16, False))
    if not on_cuda():
        variants = tuple(v for v in variants if not v[2])  # TF32 is a CUDA setting
    if fp32_only:
        variants = variants[:1]
    for (m, n, k) in shapes or matmul_shapes(quick, shape_backend()):
        cid = matmul_id(m, n, k)
        for peer, dtype, tf32 in variants:
            set_tf32(tf32)
            esz = 2 if dtype == torch.bfloat16 else 4
            c = copies_for((m * k + k * n) * esz)
            A = [torch.rand(m, k, device=DEVICE, dtype=dtype) * 2 - 1 for _ in range(c)]
            B = [torch.rand(k, n, device=DEVICE, dtype=dtype) * 2 - 1 for _ in range(c)]
            ms = time_cuda(lambda i: torch.matmul(A[i % c], B[i % c]), budget)
            out.append({"id": cid, "peer": peer, "dtype": "tf32" if tf32 else ("bfloat16" if dtype == torch.bfloat16 else "float32"), "median_ms": ms})
            del A, B
    set_tf32(False)


def bench_conv(quick, budget, out):
    variants = (("torch fp32", False), ("torch tf32", True)) if on_cuda() else (("torch fp32", False),)
    if on_cuda():
        torch.backends.cudnn.benchmark = True
        note = "cuDNN, NCHW, benchmark=True"
    else:
        note = "NCHW, cpu smoke"
    conv_bwd = torch.ops.aten.convolution_backward
    for (n, c, h, k, r, s, p) in conv_shapes(quick, shape_backend()):
        q = (h + 2 * p - r) // s + 1
        for peer, tf32 in variants:
            set_tf32(tf32)
            cp = copies_for(4 * (n * c * h * h + k * c * r * r))
            X = [torch.rand(n, c, h, h, device=DEVICE) * 2 - 1 for _ in range(cp)]
            W = [(torch.rand(k, c, r, r, device=DEVICE) * 2 - 1) * 0.2 for _ in range(cp)]
            DY = [torch.rand(n, k, q, q, device=DEVICE) * 2 - 1 for _ in range(cp)]
            passes = {
                "fwd": lambda i: F.conv2d(X[i % cp], W[i % cp], None, s, p),
                "grad-input": lambda i: conv_bwd(DY[i % cp], X[i % cp], W[i % cp], None, [s, s], [p, p], [1, 1], False, [0, 0], 1, [True, False, False]),
                "grad-weight": lambda i: conv_bwd(DY[i % cp], X[i % cp], W[i % cp], None, [s, s], [p, p], [1, 1], False, [0, 0], 1, [False, True, False]),
            }
            for name in CONV_PASSES:
                ms = time_cuda(passes[name], budget)
                out.append({"id": conv_id(name, n, c, h, k, r, s, p), "peer": peer, "dtype": "tf32" if tf32 else "float32", "median_ms": ms, "note": note})
            del X, W, DY
    set_tf32(False)


def bench_rnn(quick, budget, out, kinds):
    set_tf32(False)
    for kind in kinds:
        for (h, b, t, i_) in rnn_shapes(quick, shape_backend()):
            cls = nn.LSTM if kind == "lstm" else nn.GRU
            mod = cls(i_, h).to(DEVICE)
            x = (torch.rand(t, b, i_, device=DEVICE) * 2 - 1).requires_grad_()

            def step(_i):
                y, _ = mod(x)
                y.sum().backward()
                mod.zero_grad(set_to_none=True)
                x.grad = None

            ms = time_cuda(step, budget)
            note = ("cuDNN nn." if on_cuda() else "nn.") + cls.__name__
            out.append({"id": rnn_id(kind, h, b, t, i_), "peer": "torch fp32", "dtype": "float32", "median_ms": ms, "note": note})
            del mod, x
            empty_cache()


def bench_optim(quick, budget, out, kinds):
    total = total_memory()
    for kind in kinds:
        for (nparams, ntensors) in optim_shapes(quick, shape_backend()):
            need = (16 if kind == "adamw" else 12) * nparams
            cid = optim_id(kind, nparams, ntensors)
            if need > 0.8 * total:
                out.append({"id": cid, "peer": "torch", "dtype": "float32", "median_ms": None, "note": f"skipped: needs {need / 2**30:.1f} GiB"})
                continue
            base = nparams // ntensors
            sizes = [base + (1 if i < nparams % ntensors else 0) for i in range(ntensors)]
            params = [torch.nn.Parameter(torch.rand(sz, device=DEVICE) * 2 - 1) for sz in sizes]
            for p in params:
                p.grad = (torch.rand_like(p) * 2 - 1) * 0.1
            if kind == "adamw":
                if on_cuda():
                    opt = torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, fused=True)
                    peer, note = "torch fused", "AdamW(fused=True)"
                else:
                    opt = torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, foreach=True)
                    peer, note = "torch foreach", "AdamW(foreach=True): cpu smoke, fused=True needs CUDA"
            else:
                opt = torch.optim.SGD(params, lr=0.01, momentum=0.9, foreach=True)
                peer, note = "torch foreach", "SGD(momentum=0.9, foreach=True)"
            ms = time_cuda(lambda i: opt.step(), budget)
            out.append({"id": cid, "peer": peer, "dtype": "float32", "median_ms": ms, "note": note})
            del opt, params
            empty_cache()


def bench_softmax(quick, budget, out, kinds):
    for (r, c) in softmax_shapes(quick, shape_backend()):
        cp = copies_for(4 * r * c, 4)
        X = [(torch.rand(r, c, device=DEVICE) * 8 - 4) for _ in range(cp)]
        if "softmax" in kinds:
            ms = time_cuda(lambda i: F.softmax(X[i % cp], dim=-1), budget)
            out.append({"id": softmax_id("softmax", r, c), "peer": "torch", "dtype": "float32", "median_ms": ms})
        if "xent" in kinds:
            L = [x.detach().requires_grad_() for x in X]
            tgt = torch.randint(0, c, (r,), device=DEVICE)

            def step(i):
                x = L[i % cp]
                F.cross_entropy(x, tgt).backward()
                x.grad = None

            ms = time_cuda(step, budget)
            out.append({"id": softmax_id("xent", r, c), "peer": "torch", "dtype": "float32", "median_ms": ms})
        del X


def mnist_model(name):
    if name == MLP1:  # the MLP step goal: one hidden layer
        return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    if name == "mlp":
        return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    return nn.Sequential(
        nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(1568, 10))


MLP1 = "mlp784-256-10"


def bench_train(quick, budget, out, models, batch=None):
    set_tf32(False)
    batch = batch or train_batch(quick, shape_backend())
    for name in models:
        model = mnist_model(name).to(DEVICE)
        if on_cuda():
            opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
            note = "eager, Adam(fused=True), TF32 off"
        else:
            opt = torch.optim.Adam(model.parameters(), lr=1e-3, foreach=True)
            note = "eager, Adam(foreach=True): cpu smoke, fused=True needs CUDA"
        shape = (batch, 1, 28, 28) if name == "cnn" else (batch, 784)
        data = [(torch.rand(*shape, device=DEVICE), torch.randint(0, 10, (batch,), device=DEVICE)) for _ in range(8)]

        def step(i):
            x, y = data[i % len(data)]
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

        ms = time_cuda(step, budget)
        out.append({"id": train_id(name, batch), "peer": "torch", "dtype": "float32", "median_ms": ms, "note": note})


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def device_info(quick):
    if on_cuda():
        p = torch.cuda.get_device_properties(0)
        info = {"device": p.name, "torch": torch.__version__, "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
                "total_memory": p.total_memory, "sm_count": p.multi_processor_count}
        n = 256 * 1024 * 1024  # 1 GiB of fp32
        budget = 1000
    else:
        info = {"device": cpu_name(), "torch": torch.__version__, "cuda": None, "cudnn": None,
                "total_memory": total_memory(), "threads": torch.get_num_threads()}
        n = (4 if quick else 64) * 1024 * 1024  # 16 MiB / 256 MiB of fp32
        budget = 100 if quick else 1000
    info["torch_device"] = DEVICE
    info["timing"] = "CUDA events around batches of calls" if on_cuda() else "time.perf_counter() around batches of calls"
    # device-to-device copy bandwidth (read + write), a lead for the roofline
    a = torch.empty(n, device=DEVICE).uniform_()
    b = torch.empty_like(a)
    ms = time_cuda(lambda i: b.copy_(a), budget)
    info["copy_bytes_per_s"] = 2 * 4 * n / (ms / 1000)
    del a, b
    empty_cache()
    return info


def set_cpu_threads(n):
    """torch's intra-op pool and OpenBLAS's own (ctypes on the libblas.so.3 torch already loaded)."""
    torch.set_num_threads(n)
    blas = openblas()
    if blas is not None:
        blas.openblas_set_num_threads(n)


_OPENBLAS = []


def openblas():
    if not _OPENBLAS:
        import ctypes
        lib = None
        for name in ("/usr/lib/%s-linux-gnu/libblas.so.3" % platform.machine(), "libopenblas.so.0"):
            try:
                cand = ctypes.CDLL(name)
                cand.openblas_get_num_threads  # raises AttributeError when not OpenBLAS
                lib = cand
                break
            except (OSError, AttributeError):
                pass
        if lib is not None:
            lib.openblas_get_config.restype = ctypes.c_char_p
            lib.openblas_get_corename.restype = ctypes.c_char_p
        _OPENBLAS.append(lib)
    return _OPENBLAS[0]


def blas_info():
    import re
    m = re.search(r"BLAS_INFO=([^,\n]*)", torch.__config__.show())
    lib = "/usr/lib/%s-linux-gnu/libblas.so.3" % platform.machine()
    info = {"torch_blas_info": m.group(1) if m else None,
            "libblas": os.path.realpath(lib) if os.path.exists(lib) else None,
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE")}
    b = openblas()
    if b is not None:
        info["openblas_config"] = b.openblas_get_config().decode()
        info["openblas_core"] = b.openblas_get_corename().decode()
        info["openblas_threads"] = b.openblas_get_num_threads()
    return info


def goal_ids():
    """The ids bench_cpu_goals writes, in order (bench/lib/cpu-goals.ts goalCaseIds matches them)."""
    ids = [matmul_id(s, s, s) for s in (512, 1024, 2048)]
    ids += [conv_id(p, *s) for s in conv_shapes(False, "js") for p in CONV_PASSES]
    ids += [rnn_id(kind, *s) for kind in ("lstm", "gru") for s in rnn_shapes(False, "js")]
    ids += [optim_id("adamw", *s) for s in optim_shapes(False, "js")]
    ids += [train_id("cnn", 64), train_id("mlp", 32), train_id(MLP1, 32)]
    return ids


def bench_cpu_goals(budget, out):
    bench_matmul(False, budget, out, shapes=[(s, s, s) for s in (512, 1024, 2048)], fp32_only=True)
    bench_conv(False, budget, out)
    bench_rnn(False, budget, out, ("lstm", "gru"))
    bench_optim(False, budget, out, ("adamw",))
    bench_train(False, budget, out, ("cnn",), batch=64)
    bench_train(False, budget, out, ("mlp", MLP1), batch=32)


def main():
    global DEVICE
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--ops", default=",".join(ALL_OPS))
    ap.add_argument("--budget-ms", type=float, default=1500.0)
    ap.add_argument("--device", choices=("cuda", "cpu"), default="cuda", help="cpu: a smoke run of the script without a GPU")
    ap.add_argument("--list-ids", action="store_true", help="print the case ids a run would write (one a line) and exit")
    ap.add_argument("--threads", type=int, help="cpu: torch and OpenBLAS threads (default: torch's default)")
    ap.add_argument("--goals", action="store_true", help="cpu: the CPU goal cases (see the header) instead of --ops")
    a = ap.parse_args()
    DEVICE = a.device
    if a.goals and on_cuda():
        ap.error("--goals is for --device cpu")
    if DEVICE == "cpu" and a.threads:
        set_cpu_threads(a.threads)
    ops = {o.strip() for o in a.ops.split(",") if o.strip()}
    bad = sorted(ops - set(ALL_OPS))
    if bad:  # a family the Node bench has and this script not (yet): no peer rows for it, the rest still run
        print(f"torch_ops.py: no torch peer for op(s) {', '.join(bad)} (known: {', '.join(ALL_OPS)})", file=sys.stderr)
    if a.list_ids:
        for cid in goal_ids() if a.goals else case_ids(ops, a.quick, shape_backend()):
            print(cid)
        return
    if not a.json:
        ap.error("--json is required (or --list-ids)")
    if on_cuda() and not torch.cuda.is_available():
        print("torch_ops.py: CUDA is not available to torch (--device cpu runs a smoke test without it)", file=sys.stderr)
        sys.exit(2)
    budget = 200.0 if a.quick else a.budget_ms
    res = device_info(a.quick)
    if not on_cuda():
        res["threads"] = torch.get_num_threads()
        res["blas"] = blas_info()
    cases = []
    pick = lambda kinds: [k for k in kinds if k in ops]
    steps = [
        ("matmul", lambda: bench_matmul(a.quick, budget, cases) if "matmul" in ops else None),
        ("conv2d", lambda: bench_conv(a.quick, budget, cases) if "conv2d" in ops else None),
        ("rnn", lambda: bench_rnn(a.quick, budget, cases, pick(("lstm", "gru")))),
        ("optim", lambda: bench_optim(a.quick, budget, cases, pick(("adamw", "sgd")))),
        ("softmax", lambda: bench_softmax(a.quick, budget, cases, pick(("softmax", "xent"))) if ops & {"softmax", "xent"} else None),
        ("train", lambda: bench_train(a.quick, budget, cases, pick(("mlp", "cnn")))),
    ]
    if a.goals:
        steps = [("goals", lambda: bench_cpu_goals(budget, cases))]
    for name, fn in steps:
        try:
            fn()
        except Exception as e:  # keep the other families
            res.setdefault("errors", []).append(f"{name}: {type(e).__name__}: {e}")
        empty_cache()
    for c in cases:
        if getattr(c.get("median_ms"), "cpu_ms", None) is not None:
            c["cpu_ms"] = c["median_ms"].cpu_ms
    res["cases"] = cases
    with open(a.json, "w") as f:
        json.dump(res, f, indent=1)
    print(f"torch_ops.py: {len(cases)} cases -> {a.json}" + (f" ({len(res['errors'])} families failed)" if res.get("errors") else ""), file=sys.stderr)


if __name__ == "__main__":
    main()
