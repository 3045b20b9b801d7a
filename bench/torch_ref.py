#!/usr/bin/python3
# Copied into the project from the reference tools supplied with regula's design brief
# (unchanged): PyTorch trainings of the recipes regula's benchmarks compare against.
"""PyTorch CPU reference numbers on Fashion-MNIST (Debian python3-torch 1.13).

Reads the IDX .gz files directly (gzip + numpy), no torchvision.
Data dir: $FMNIST_DIR or /usr/share/datasets/fashion-mnist (apt: dataset-fashion-mnist).

Usage (use Debian's interpreter, not pyenv's python3):
  /usr/bin/python3 torch_ref.py mlp     [--epochs 5] [--seeds 0]
  /usr/bin/python3 torch_ref.py cnn     [--epochs 2] [--seeds 0]
  /usr/bin/python3 torch_ref.py overfit [--epochs 60] [--seeds 0 1 2]
  /usr/bin/python3 torch_ref.py all
Every result is also appended as one JSON line to --out (default results.jsonl next to this file).

Fair timing: compare at the same thread count, batch size and model, against PyTorch's best setting
on the machine at hand: its default environment, OMP_WAIT_POLICY=PASSIVE, and the tuned glibc allocator
(MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=17179869184 MALLOC_TOP_PAD_=268435456); take the fastest.

Conventions: float32, pixels /255 -> [0,1] (no mean/std normalisation), torch.set_num_threads(2),
PyTorch default weight init, CrossEntropyLoss (mean), SGD lr 0.05 momentum 0.9,
shuffled each epoch with a seeded torch.Generator.  "s/epoch" = wall time of the training loop
only (shuffle + batch slicing + forward/backward/step), evaluation excluded; median over epochs.
"""
import argparse
import gzip
import json
import os
import statistics
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.environ.get("FMNIST_DIR", "/usr/share/datasets/fashion-mnist")
THREADS = 2


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    assert zero == 0 and dtype == 0x08, "expected unsigned-byte IDX"
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load():
    def imgs(name):
        return torch.from_numpy(read_idx(os.path.join(DATA, name)).astype(np.float32) / 255.0)

    def labs(name):
        return torch.from_numpy(read_idx(os.path.join(DATA, name)).astype(np.int64))

    xtr, ytr = imgs("train-images-idx3-ubyte.gz"), labs("train-labels-idx1-ubyte.gz")
    xte, yte = imgs("t10k-images-idx3-ubyte.gz"), labs("t10k-labels-idx1-ubyte.gz")
    assert xtr.shape == (60000, 28, 28) and xte.shape == (10000, 28, 28)
    return xtr, ytr, xte, yte


# ---------------------------------------------------------------- models
def mlp(dropout=0.0):
    layers = [nn.Flatten(), nn.Linear(784, 512), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers += [nn.Linear(512, 256), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(256, 10))
    return nn.Sequential(*layers)


def cnn():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


# ---------------------------------------------------------------- augmentation
def crop_flip(x, gen, pad=4):
    """x: (B,28,28). Random crop from zero-padded (28+2*pad)^2 image + horizontal flip p=0.5."""
    B, H, W = x.shape
    xp = F.pad(x, (pad, pad, pad, pad))
    oy = torch.randint(0, 2 * pad + 1, (B,), generator=gen)
    ox = torch.randint(0, 2 * pad + 1, (B,), generator=gen)
    rows = (oy[:, None] + torch.arange(H))[:, :, None]          # B,H,1
    cols = (ox[:, None] + torch.arange(W))[:, None, :]          # B,1,W
    out = xp[torch.arange(B)[:, None, None], rows, cols]        # B,H,W
    flip = torch.rand(B, generator=gen) < 0.5
    return torch.where(flip[:, None, None], out.flip(-1), out)


# ---------------------------------------------------------------- train / eval
@torch.no_grad()
def accuracy(model, x, y, as_image=False, bs=1000):
    model.eval()
    correct = 0
    for i in range(0, x.shape[0], bs):
        xb = x[i:i + bs]
        xb = xb.unsqueeze(1) if as_image else xb.reshape(xb.shape[0], -1)
        correct += (model(xb).argmax(1) == y[i:i + bs]).sum().item()
    return correct / x.shape[0]


def train(model, xtr, ytr, epochs, bs, seed, weight_decay=0.0, augment=False, as_image=False,
          lr=0.05, momentum=0.9, log=None):
    gen = torch.Generator().manual_seed(seed + 1000)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    lossf = nn.CrossEntropyLoss()
    n = xtr.shape[0]
    times, losses = [], []
    for ep in range(epochs):
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=gen)
        tot = 0.0
        for i in range(0, n, bs):
            idx = perm[i:i + bs]
            xb, yb = xtr[idx], ytr[idx]
            if augment:
                xb = crop_flip(xb, gen)
            xb = xb.unsqueeze(1) if as_image else xb.reshape(xb.shape[0], -1)
            opt.zero_grad(set_to_none=True)
            loss = lossf(model(xb), yb)
            loss.backward()
            opt.step()
            tot += loss.item() * xb.shape[0]
        times.append(time.perf_counter() - t0)
        losses.append(tot / n)
        if log:
            log(f"    epoch {ep + 1}/{epochs}: {times[-1]:.2f}s  train-loss {losses[-1]:.4f}")
    return times, losses


def emit(args, rec):
    rec.update(lr=args.lr, momentum=0.9, torch=torch.__version__, threads=torch.get_num_threads(),
               env={k: os.environ[k] for k in ("OMP_WAIT_POLICY", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                              "GOMP_SPINCOUNT", "LD_LIBRARY_PATH", "OPENBLAS_CORETYPE")
                    if k in os.environ})
    print("RESULT " + json.dumps(rec), flush=True)
    with open(args.out, "a") as f:
        f.write(json.dumps(rec) + "\n")


def say(s):
    print(s, flush=True)


def run_mlp(args, data):
    xtr, ytr, xte, yte = data
    variants = [("plain", 0.0, 0.0), ("wd5e-4", 5e-4, 0.0), ("dropout0.5", 0.0, 0.5)]
    for seed in args.seeds:
        for name, wd, dp in variants:
            if args.only and name != args.only:
                continue
            torch.manual_seed(seed)
            m = mlp(dp)
            say(f"[mlp {name} seed {seed}] 784-512-256-10, bs 128, {args.epochs} epochs")
            times, losses = train(m, xtr, ytr, args.epochs, 128, seed, weight_decay=wd, lr=args.lr, log=say)
            emit(args, dict(exp="mlp", variant=name, seed=seed, epochs=args.epochs, batch=128,
                            s_per_epoch_median=statistics.median(times), epoch_times=times,
                            final_train_loss=losses[-1],
                            train_acc=accuracy(m, xtr, ytr), test_acc=accuracy(m, xte, yte)))


def run_cnn(args, data):
    xtr, ytr, xte, yte = data
    for seed in args.seeds:
        torch.manual_seed(seed)
        m = cnn()
        say(f"[cnn seed {seed}] conv32-pool-conv64-pool-fc128-fc10, bs 128, {args.epochs} epochs")
        times, losses = train(m, xtr, ytr, args.epochs, 128, seed, as_image=True, lr=args.lr, log=say)
        t0 = time.perf_counter()
        te = accuracy(m, xte, yte, as_image=True)
        t_eval = time.perf_counter() - t0
        emit(args, dict(exp="cnn", variant="plain", seed=seed, epochs=args.epochs, batch=128,
                        s_per_epoch_median=statistics.median(times), epoch_times=times,
                        final_train_loss=losses[-1], test_acc=te, test_eval_s=t_eval))


def run_overfit(args, data):
    xtr, ytr, xte, yte = data
    xs, ys = xtr[:2000].clone(), ytr[:2000].clone()
    variants = [("none", 0.0, 0.0, False), ("L2 wd1e-3", 1e-3, 0.0, False),
                ("dropout0.5", 0.0, 0.5, False), ("crop4+flip", 0.0, 0.0, True)]
    for seed in args.seeds:
        for name, wd, dp, aug in variants:
            if args.only and name != args.only:
                continue
            torch.manual_seed(seed)
            m = mlp(dp)
            say(f"[overfit {name} seed {seed}] MLP on first 2000 train imgs, bs 64, {args.epochs} epochs")
            times, losses = train(m, xs, ys, args.epochs, 64, seed, weight_decay=wd, augment=aug, lr=args.lr)
            tr, te = accuracy(m, xs, ys), accuracy(m, xte, yte)
            say(f"    train {tr:.4f} test {te:.4f} gap {tr - te:.4f}  ({sum(times):.1f}s)")
            emit(args, dict(exp="overfit", variant=name, seed=seed, epochs=args.epochs, batch=64,
                            n_train=2000, train_acc=tr, test_acc=te, gap=tr - te,
                            final_train_loss=losses[-1], total_train_s=sum(times)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["mlp", "cnn", "overfit", "all"])
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--seeds", type=int, nargs="+", default=None)
    ap.add_argument("--out", default=os.path.join(HERE, "results.jsonl"))
    ap.add_argument("--only", default=None, help="run only the variant with this name (e.g. plain)")
    ap.add_argument("--lr", type=float, default=0.05, help="SGD learning rate (momentum 0.9)")
    ap.add_argument("--threads", type=int, default=THREADS, help="torch.set_num_threads (default 2)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    say(f"torch {torch.__version__} numpy {np.__version__} threads {torch.get_num_threads()} data {DATA}")
    t0 = time.perf_counter()
    data = load()
    say(f"loaded data in {time.perf_counter() - t0:.2f}s")
    defaults = dict(mlp=(5, [0]), cnn=(2, [0]), overfit=(60, [0, 1, 2]))
    todo = ["mlp", "cnn", "overfit"] if args.what == "all" else [args.what]
    for w in todo:
        sub = argparse.Namespace(**vars(args))
        sub.epochs = args.epochs or defaults[w][0]
        sub.seeds = args.seeds or defaults[w][1]
        dict(mlp=run_mlp, cnn=run_cnn, overfit=run_overfit)[w](sub, data)


if __name__ == "__main__":
    main()
