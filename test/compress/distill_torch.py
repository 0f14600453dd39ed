#!/usr/bin/env python3
"""The distillation recipe of `wattgrad optimize --distill-from cnn` and test/compress/distill.test.ts
in PyTorch, on the same digits, to tell what the loss gives from what our implementation gives.

Run:  /usr/bin/python3 test/compress/distill_torch.py [--limit 4000] [--test 2000] [--teacher-epochs 2]
          [--student-limit N] [--student-epochs 2] [--student-lr 1e-3] [--seeds 0,1,2] [--variants 4:0.5,2:0.1]
Prints one JSON line per seed: the teacher's accuracy, the MLP 784-64-10 trained alone, and the MLP
distilled with each temperature:alpha (alpha weighs the hard-label CE, the Keras convention:
loss = alpha * CE + (1 - alpha) * T^2 * KL(softmax(t/T) || softmax(s/T)), KL 'batchmean').

Data: the embedded digits of lib/data/mnist.ts (data/mnist-10k.bin.br, decompressed by node's
brotli), split 8,000/2,000 by the same mulberry32 Fisher-Yates permutation (lib/data/shuffle.ts),
scaled (x/255 - 0.1307)/0.3081; the first --limit training and --test test digits.
Models as lib/models (CNN conv5x5(16)-pool-conv5x5(32)-pool-linear) and lib/optimize/run.ts
(studentMlp). Adam, batch 64, shuffled each epoch; the student alone and the distilled student
start from the same weights and see the same batches. torch's own init and RNG, so the figures are
torch's, not bit-for-bit ours.
"""
import argparse
import json
import pathlib
import subprocess

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = pathlib.Path(__file__).resolve().parents[2]
M = 0xFFFFFFFF


def imul(a, b):
    return (a * b) & M


def mix(seed):
    lo = seed & M
    hi = (seed // 4294967296) & M
    h = (lo ^ imul(hi, 0x9E3779B1)) & M
    h = imul(h ^ (h >> 16), 0x85EBCA6B)
    h = imul(h ^ (h >> 13), 0xC2B2AE35)
    return (h ^ (h >> 16)) & M


def permutation(n, seed):
    state = mix(seed)
    p = list(range(n))
    for i in range(n - 1, 0, -1):
        state = (state + 0x6D2B79F5) & M
        t = imul(state ^ (state >> 15), state | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & M
        r = ((t ^ (t >> 14)) & M) / 4294967296
        j = int(r * (i + 1))
        p[i], p[j] = p[j], p[i]
    return p


def load(limit, test_limit):
    src = ROOT / 'data' / 'mnist-10k.bin.br'
    raw = subprocess.run(
        ['node', '-e', 'process.stdout.write(require("zlib").brotliDecompressSync(require("fs").readFileSync(process.argv[1])))', str(src)],
        check=True, capture_output=True).stdout
    assert raw[:8] == b'WGMNIST1'
    count = int.from_bytes(raw[8:12], 'little')
    rows = int.from_bytes(raw[12:14], 'little')
    cols = int.from_bytes(raw[14:16], 'little')
    labels = torch.tensor(list(raw[16:16 + count]), dtype=torch.long)
    images = torch.frombuffer(bytearray(raw[16 + count:16 + count + count * rows * cols]), dtype=torch.uint8)
    images = ((images.float() / 255 - 0.1307) / 0.3081).reshape(count, 1, rows, cols)
    p = torch.tensor(permutation(count, 20240229))
    tr, te = p[:8000][:limit], p[8000:10000][:test_limit]
    return images[tr], labels[tr], images[te], labels[te]


def cnn():
    return nn.Sequential(nn.Conv2d(1, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 5), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(512, 10))


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))


def distill_loss(s, t, y, T, alpha):
    soft = F.kl_div(F.log_softmax(s / T, dim=1), F.softmax(t / T, dim=1), reduction='batchmean') * T * T
    return alpha * F.cross_entropy(s, y) + (1 - alpha) * soft


def train(model, x, y, epochs, lr, seed, teacher=None, T=1.0, alpha=1.0):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    model.train()
    if teacher is not None:
        teacher.eval()
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=g).split(64):
            xb, yb = x[idx], y[idx]
            out = model(xb)
            if teacher is None:
                loss = F.cross_entropy(out, yb)
            else:
                with torch.no_grad():
                    t = teacher(xb)
                loss = distill_loss(out, t, yb, T, alpha)
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()


@torch.no_grad()
def accuracy(model, x, y):
    return (model(x).argmax(1) == y).float().mean().item()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--limit', type=int, default=4000)
    ap.add_argument('--test', type=int, default=2000)
    ap.add_argument('--student-limit', type=int, default=None, help='the students learn from the first N of the --limit digits (default all)')
    ap.add_argument('--teacher-epochs', type=int, default=2)
    ap.add_argument('--student-epochs', type=int, default=2)
    ap.add_argument('--student-lr', type=float, default=1e-3)
    ap.add_argument('--seeds', default='0,1,2')
    ap.add_argument('--variants', default='4:0.5,4:0.1,2:0.5,2:0.1,1:0.5')
    a = ap.parse_args()
    torch.set_num_threads(1)
    x, y, xt, yt = load(a.limit, a.test)
    for seed in map(int, a.seeds.split(',')):
        torch.manual_seed(seed)
        teacher = cnn()
        train(teacher, x, y, a.teacher_epochs, 2e-3, seed)
        init = mlp()
        alone = mlp()
        alone.load_state_dict(init.state_dict())
        xs, ys = x[:a.student_limit], y[:a.student_limit]
        train(alone, xs, ys, a.student_epochs, a.student_lr, seed + 1)
        r = {'seed': seed, 'limit': a.limit, 'studentLimit': len(xs), 'teacherEpochs': a.teacher_epochs, 'studentEpochs': a.student_epochs,
             'studentLr': a.student_lr, 'teacher': accuracy(teacher, xt, yt), 'alone': accuracy(alone, xt, yt)}
        for v in a.variants.split(','):
            T, alpha = map(float, v.split(':'))
            s = mlp()
            s.load_state_dict(init.state_dict())
            train(s, xs, ys, a.student_epochs, a.student_lr, seed + 1, teacher, T, alpha)
            r[f'T{T:g}_a{alpha:g}'] = accuracy(s, xt, yt)
        print(json.dumps(r), flush=True)


if __name__ == '__main__':
    main()
