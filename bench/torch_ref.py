#!/usr/bin/python3
# Copied into the project from the reference tools supplied with regula's design brief, then
# extended here with the `study` mode (and its `selftest`): PyTorch trainings of the recipes
# regula's benchmarks compare against.
"""PyTorch CPU reference numbers on Fashion-MNIST (Debian python3-torch 1.13).

Reads the IDX .gz files directly (gzip + numpy), no torchvision.
Data dir: $FMNIST_DIR or /usr/share/datasets/fashion-mnist (apt: dataset-fashion-mnist).

Usage (use Debian's interpreter, not pyenv's python3):
  /usr/bin/python3 torch_ref.py mlp     [--epochs 5] [--seeds 0] [--train-limit N] [--no-eval]
  /usr/bin/python3 torch_ref.py cnn     [--epochs 2] [--seeds 0] [--train-limit N] [--no-eval]
  /usr/bin/python3 torch_ref.py overfit [--epochs 60] [--seeds 0 1 2]
  /usr/bin/python3 torch_ref.py all
  /usr/bin/python3 torch_ref.py study   --model cnn|mlp [--seeds 1 2 3] [--epochs 30] [--patience 8]
                                        [--l2 LAMBDA] [--dropout RATE] [--aug SPEC] [--label TEXT]
  /usr/bin/python3 torch_ref.py selftest
Every result is also appended as one JSON line to --out (default results.jsonl next to this file).

Fair timing: compare at the same thread count, batch size and model, against PyTorch's best setting
on the machine at hand: its default environment, OMP_WAIT_POLICY=PASSIVE, and the tuned glibc allocator
(MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=17179869184 MALLOC_TOP_PAD_=268435456); take the fastest.

Conventions: float32, pixels /255 -> [0,1] (no mean/std normalisation), torch.set_num_threads(2),
PyTorch default weight init, CrossEntropyLoss (mean), SGD lr 0.05 momentum 0.9,
shuffled each epoch with a seeded torch.Generator.  "s/epoch" = wall time of the training loop
only (shuffle + batch slicing + forward/backward/step), evaluation excluded; median over epochs.

The `study` and `selftest` modes, and the mlp/cnn options --train-limit N (train on the first N
training images only; default all) and --no-eval (skip the accuracy evaluations after training:
test_acc, and the MLP's train_acc, are then null; bench/compare.sh times the epochs only), were
added in this project (they are not part of the supplied reference tools).  `study` trains one
configuration of regula's bench/regularization_study recipe, so its numbers can be read next to
regula's: 2,000 training and 5,000 validation images drawn from the training set by a permutation
seeded with the run's seed, batch 64, cosine learning rate per step, early stopping on validation
accuracy with the best epoch's weights restored, the 10,000 test images evaluated once at the end.
--l2 is weight_decay on the conv/linear weights only (not the biases), as regula's l2 plugin;
--dropout goes between the CNN's dense layers or after each of the MLP's hidden layers.
--aug SPEC is '+'-joined, applied in the order given:
  crop:P  flip  rotate:D  erasing:P  cutout:S  mixup:A     e.g. --aug rotate:10+crop:2+flip
(regula's random_crop:padding=P, hflip, rotate:degrees=D, random_erasing:p=P, cutout:size=S,
mixup:alpha=A).  `selftest` checks the augmentations, schedule, split and early stopping in seconds.
"""
import argparse
import gzip
import json
import math
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


def cnn(dropout=0.0):
    # Dropout between the dense layers, as the study's regula recipe (dropout:after=relu3). The
    # layers are created in order (default init draws from the global RNG in creation order) and
    # Dropout has no parameters, so cnn() initialises and names exactly what it did before.
    layers = [nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
              nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
              nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(128, 10))
    return nn.Sequential(*layers)


# ---------------------------------------------------------------- augmentation
def crop_flip(x, gen, pad=4):
    """x: (B,28,28). Random crop from zero-padded (28+2*pad)^2 image + horizontal flip p=0.5."""
    # Same generator draws in the same order as before the split into two functions.
    return random_hflip(random_crop(x, gen, pad), gen)


def random_crop(x, gen, pad):
    """x: (B,H,W). Crop HxW back out of the zero-padded image at a uniform offset per image."""
    B, H, W = x.shape
    xp = F.pad(x, (pad, pad, pad, pad))
    oy = torch.randint(0, 2 * pad + 1, (B,), generator=gen)
    ox = torch.randint(0, 2 * pad + 1, (B,), generator=gen)
    rows = (oy[:, None] + torch.arange(H))[:, :, None]          # B,H,1
    cols = (ox[:, None] + torch.arange(W))[:, None, :]          # B,1,W
    return xp[torch.arange(B)[:, None, None], rows, cols]       # B,H,W


def random_hflip(x, gen):
    flip = torch.rand(x.shape[0], generator=gen) < 0.5
    return torch.where(flip[:, None, None], x.flip(-1), x)


def rotate(x, degrees):
    """x: (B,H,W), degrees: (B,). Rotate image i counter-clockwise by degrees[i] about its centre,
    bilinear, zero fill.

    The mapping of regula's rotate plugin (and torchvision's RandomRotation): output pixel (x, y)
    samples the input at c + R(t) ((x, y) - c), c = ((W-1)/2, (H-1)/2) in pixel coordinates."""
    B, H, W = x.shape
    t = degrees.to(torch.float64) * (math.pi / 180)
    c, s, zero = torch.cos(t), torch.sin(t), torch.zeros_like(t)
    # affine_grid's coordinates run over [-1, 1] separately along each axis, so a rotation in
    # pixels needs the aspect factors H/W and W/H on its off-diagonal terms.
    theta = torch.stack([torch.stack([c, -s * H / W, zero], 1),
                         torch.stack([s * W / H, c, zero], 1)], 1).to(x.dtype)
    grid = F.affine_grid(theta, (B, 1, H, W), align_corners=False)
    out = F.grid_sample(x.unsqueeze(1), grid, mode="bilinear", padding_mode="zeros",
                        align_corners=False)
    return out.squeeze(1)


def random_rotate(x, gen, max_degrees):
    u = torch.rand(x.shape[0], generator=gen, dtype=torch.float64)
    return rotate(x, max_degrees * (2 * u - 1))


def random_erasing(x, gen, p, scale=(0.02, 0.33), ratio=(0.3, 3.3), tries=10):
    """torchvision RandomErasing(p, scale, ratio, value=0) on x: (B,H,W), vectorised.

    All `tries` attempts are drawn up front and the first one that fits is used, which is the same
    distribution as torchvision's loop (an image where none fits is left unchanged)."""
    B, H, W = x.shape
    erase = torch.rand(B, generator=gen) < p
    u = torch.rand(B, tries, 4, generator=gen, dtype=torch.float64)
    area = H * W * (scale[0] + (scale[1] - scale[0]) * u[..., 0])
    lo, hi = math.log(ratio[0]), math.log(ratio[1])
    r = torch.exp(lo + (hi - lo) * u[..., 1])
    # torch.round rounds half to even, as Python's round() in torchvision does
    eh = torch.round(torch.sqrt(area * r)).long()
    ew = torch.round(torch.sqrt(area / r)).long()
    fits = (eh < H) & (ew < W)
    first = torch.where(fits, torch.arange(tries), tries).min(1).values.clamp(max=tries - 1)

    def chosen(v):
        return v.gather(1, first[:, None]).squeeze(1)

    eh, ew = chosen(eh), chosen(ew)
    top = torch.minimum((chosen(u[..., 2]) * (H - eh + 1)).long(), H - eh)
    left = torch.minimum((chosen(u[..., 3]) * (W - ew + 1)).long(), W - ew)
    mask = box_mask(top, left, eh, ew, H, W) & (erase & fits.any(1))[:, None, None]
    return x.masked_fill(mask, 0.0)


def cutout(x, gen, size):
    """Zero a size x size square at a uniform centre pixel, clipped at the border, in every image
    (DeVries & Taylor's reference code; regula's cutout with p=1)."""
    B, H, W = x.shape
    cy = torch.randint(0, H, (B,), generator=gen)
    cx = torch.randint(0, W, (B,), generator=gen)
    side = torch.full((B,), size)
    return x.masked_fill(box_mask(cy - size // 2, cx - size // 2, side, side, H, W), 0.0)


def box_mask(top, left, h, w, H, W):
    """(B,H,W) bool: rows [top, top+h) x columns [left, left+w) of each image; off-image parts of
    the box simply select nothing."""
    rows, cols = torch.arange(H), torch.arange(W)
    in_rows = (rows >= top[:, None]) & (rows < (top + h)[:, None])
    in_cols = (cols >= left[:, None]) & (cols < (left + w)[:, None])
    return in_rows[:, :, None] & in_cols[:, None, :]


def mixup(x, targets, gen, np_rng, alpha):
    """Mix the batch with a shuffled copy of itself, one lambda ~ Beta(alpha, alpha) per batch.

    targets is a list of (weight, labels) whose weighted cross-entropies make the loss; mixing
    splits every entry in two, which with cross-entropy equals training on the mixed labels."""
    lam = float(np_rng.beta(alpha, alpha))  # torch's Beta cannot take a generator
    perm = torch.randperm(x.shape[0], generator=gen)
    x = lam * x + (1 - lam) * x[perm]
    return x, [(w * lam, y) for w, y in targets] + [(w * (1 - lam), y[perm]) for w, y in targets]


def image_only(f):
    """Lift f(x, gen, arg) to the (x, targets, gen, np_rng, arg) signature of AUGMENTATIONS."""
    return lambda x, targets, gen, np_rng, arg: (f(x, gen, arg), targets)


# name: (type of the argument, or None for none; its valid range; the augmentation)
AUGMENTATIONS = {
    "crop": (int, lambda v: v >= 0, image_only(random_crop)),
    "flip": (None, None, image_only(lambda x, gen, _: random_hflip(x, gen))),
    "rotate": (float, lambda v: 0 <= v <= 180, image_only(random_rotate)),
    "erasing": (float, lambda v: 0 <= v <= 1, image_only(random_erasing)),
    "cutout": (int, lambda v: v >= 0, image_only(cutout)),
    "mixup": (float, lambda v: v > 0, mixup),
}


def parse_aug(spec):
    """'rotate:10+crop:2+flip' -> [('rotate', 10.0), ('crop', 2), ('flip', None)]; 'none' -> []."""
    if spec in ("", "none"):
        return []
    items = []
    for item in spec.split("+"):
        name, _, text = item.partition(":")
        if name not in AUGMENTATIONS:
            raise ValueError(f"unknown augmentation {name!r} in {spec!r} "
                             f"(known: {', '.join(AUGMENTATIONS)})")
        kind, valid, _ = AUGMENTATIONS[name]
        if kind is None:
            if text:
                raise ValueError(f"{name} takes no argument ({item!r})")
            items.append((name, None))
            continue
        try:
            value = kind(text)
        except ValueError:
            raise ValueError(f"{name} needs a{'n integer' if kind is int else ' number'} "
                             f"argument, as {name}:VALUE ({item!r})") from None
        if not valid(value):
            raise ValueError(f"{item!r}: argument out of range")
        items.append((name, value))
    return items


def make_augment(items, gen, np_rng):
    """The batch augmentation of a parsed --aug: (x, y) -> (x, [(weight, labels), ...])."""
    def augment(x, y):
        targets = [(1.0, y)]
        for name, arg in items:
            x, targets = AUGMENTATIONS[name][2](x, targets, gen, np_rng, arg)
        return x, targets
    return augment


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


def train_subset(args, xtr, ytr):
    """The first --train-limit training images (all of them by default)."""
    n = args.train_limit or xtr.shape[0]
    return xtr[:n], ytr[:n]


def run_mlp(args, data):
    xtr, ytr, xte, yte = data
    xtr, ytr = train_subset(args, xtr, ytr)
    variants = [("plain", 0.0, 0.0), ("wd5e-4", 5e-4, 0.0), ("dropout0.5", 0.0, 0.5)]
    for seed in args.seeds:
        for name, wd, dp in variants:
            if args.only and name != args.only:
                continue
            torch.manual_seed(seed)
            m = mlp(dp)
            say(f"[mlp {name} seed {seed}] 784-512-256-10, bs 128, {args.epochs} epochs")
            times, losses = train(m, xtr, ytr, args.epochs, 128, seed, weight_decay=wd, lr=args.lr, log=say)
            evaluate = not args.no_eval
            emit(args, dict(exp="mlp", variant=name, seed=seed, epochs=args.epochs, batch=128,
                            n_train=xtr.shape[0],
                            s_per_epoch_median=statistics.median(times), epoch_times=times,
                            final_train_loss=losses[-1],
                            train_acc=accuracy(m, xtr, ytr) if evaluate else None,
                            test_acc=accuracy(m, xte, yte) if evaluate else None))


def run_cnn(args, data):
    xtr, ytr, xte, yte = data
    xtr, ytr = train_subset(args, xtr, ytr)
    for seed in args.seeds:
        torch.manual_seed(seed)
        m = cnn()
        say(f"[cnn seed {seed}] conv32-pool-conv64-pool-fc128-fc10, bs 128, {args.epochs} epochs")
        times, losses = train(m, xtr, ytr, args.epochs, 128, seed, as_image=True, lr=args.lr, log=say)
        te = t_eval = None
        if not args.no_eval:
            t0 = time.perf_counter()
            te = accuracy(m, xte, yte, as_image=True)
            t_eval = time.perf_counter() - t0
        emit(args, dict(exp="cnn", variant="plain", seed=seed, epochs=args.epochs, batch=128,
                        n_train=xtr.shape[0],
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


# ---------------------------------------------------------------- study (added in this project)
STUDY_VAL, STUDY_TRAIN, STUDY_BATCH = 5000, 2000, 64
# accuracy()'s default batch of 1000 makes CPU convolutions ~9x slower per image than 64 here
# (the activations no longer fit in cache); the batch size does not change the predictions.
STUDY_EVAL_BATCH = 64


def study_split(seed, n=60000):
    """Validation and training indices into the 60,000 training images: disjoint, seeded."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return perm[:STUDY_VAL], perm[STUDY_VAL:STUDY_VAL + STUDY_TRAIN]


def l2_param_groups(model, l2):
    """regula's l2 plugin penalizes the weights of conv and dense layers but not their biases."""
    weights = [m.weight for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    decayed = {id(w) for w in weights}
    rest = [p for p in model.parameters() if id(p) not in decayed]
    return [dict(params=weights, weight_decay=l2), dict(params=rest, weight_decay=0.0)]


def cosine_per_step(total_steps):
    """LambdaLR factor of step k (0 for the first batch): regula's --lr-schedule cosine."""
    return lambda step: 0.5 * (1 + math.cos(math.pi * step / total_steps))


class EarlyStopping:
    """Keep the weights of the epoch with the strictly highest validation accuracy; stop after
    `patience` epochs without one (regula's --early-stop val_accuracy, min_delta 0)."""

    def __init__(self, patience):
        self.patience, self.wait = patience, 0
        self.best, self.best_epoch, self.state = -1.0, 0, None

    def update(self, epoch, val_acc, model):
        """Record one epoch's result; True when training should stop."""
        if val_acc > self.best:
            self.best, self.best_epoch, self.wait = val_acc, epoch, 0
            self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            return False
        self.wait += 1
        return self.wait >= self.patience

    def restore(self, model):
        model.load_state_dict(self.state)


def study_accuracy(model, x, y, as_image):
    return accuracy(model, x, y, as_image, bs=STUDY_EVAL_BATCH)


def as_input(xb, as_image):
    return xb.unsqueeze(1) if as_image else xb.reshape(xb.shape[0], -1)


def study_epoch(model, opt, sched, x, y, gen, augment, as_image):
    """One shuffled pass; returns the seconds it took (the s/epoch convention of this file)."""
    model.train()
    t0 = time.perf_counter()
    perm = torch.randperm(x.shape[0], generator=gen)
    for i in range(0, x.shape[0], STUDY_BATCH):
        idx = perm[i:i + STUDY_BATCH]
        xb, targets = augment(x[idx], y[idx])
        opt.zero_grad(set_to_none=True)
        out = model(as_input(xb, as_image))
        loss = sum(w * F.cross_entropy(out, t) for w, t in targets)
        loss.backward()
        opt.step()
        sched.step()
    return time.perf_counter() - t0


def study_seed(args, data, seed):
    """Train one seed of the configuration in args; returns its result record."""
    xtr, ytr, xte, yte = data
    val_idx, tr_idx = study_split(seed)
    xs, ys, xv, yv = xtr[tr_idx], ytr[tr_idx], xtr[val_idx], ytr[val_idx]
    as_image = args.model == "cnn"
    torch.manual_seed(seed)
    model = cnn(args.dropout) if as_image else mlp(args.dropout)
    opt = torch.optim.SGD(l2_param_groups(model, args.l2), lr=args.lr, momentum=0.9)
    steps = args.epochs * math.ceil(xs.shape[0] / STUDY_BATCH)   # the last batch may be short
    sched = torch.optim.lr_scheduler.LambdaLR(opt, cosine_per_step(steps))
    gen = torch.Generator().manual_seed(seed + 1000)   # shuffling and augmentation
    augment = make_augment(parse_aug(args.aug), gen, np.random.default_rng(seed + 1000))
    early = EarlyStopping(args.patience)
    times, val_curve = [], []
    for ep in range(1, args.epochs + 1):
        times.append(study_epoch(model, opt, sched, xs, ys, gen, augment, as_image))
        val_curve.append(study_accuracy(model, xv, yv, as_image))
        say(f"    epoch {ep}/{args.epochs}: {times[-1]:.2f}s  val {val_curve[-1]:.4f}")
        if early.update(ep, val_curve[-1], model):
            break
    early.restore(model)
    return dict(exp="study", model=args.model, label=args.label, l2=args.l2, dropout=args.dropout,
                aug=args.aug, seed=seed, epochs=args.epochs, patience=args.patience,
                batch=STUDY_BATCH, n_train=xs.shape[0], n_val=xv.shape[0],
                epochs_run=len(times), best_epoch=early.best_epoch,
                val_acc=study_accuracy(model, xv, yv, as_image),
                test_acc=study_accuracy(model, xte, yte, as_image),
                train_acc=study_accuracy(model, xs, ys, as_image),
                s_per_epoch_median=statistics.median(times), epoch_times=times, val_curve=val_curve)


def mean_sd(xs):
    if len(xs) == 1:
        return f"{xs[0]:.4f}"
    return f"{statistics.mean(xs):.4f} ± {statistics.stdev(xs):.4f}"


def default_label(args):
    parts = ([f"l2={args.l2:g}"] if args.l2 else []) + \
            ([f"dropout={args.dropout:g}"] if args.dropout else []) + \
            ([f"aug={args.aug}"] if args.aug != "none" else [])
    return f"{args.model} " + (" ".join(parts) or "none")


def run_study(args, data):
    args.label = args.label or default_label(args)
    recs = []
    for seed in args.seeds:
        say(f"[study {args.label} seed {seed}] {STUDY_TRAIN} train / {STUDY_VAL} val images, "
            f"bs {STUDY_BATCH}, cosine lr {args.lr}, up to {args.epochs} epochs, patience {args.patience}")
        recs.append(study_seed(args, data, seed))
        emit(args, recs[-1])
    n = len(recs)
    say(f"STUDY {args.label}: val {mean_sd([r['val_acc'] for r in recs])}  "
        f"test {mean_sd([r['test_acc'] for r in recs])}  "
        f"train {mean_sd([r['train_acc'] for r in recs])}  ({n} seed{'s' if n != 1 else ''})")


# ---------------------------------------------------------------- selftest (added in this project)
def _regula_rotate(img, degrees):
    """Reference for rotate(): regula's rotate plugin formula, pixel by pixel in float64."""
    H, W = img.shape
    t = math.radians(degrees)
    cy, cx = (H - 1) / 2, (W - 1) / 2
    out = np.zeros((H, W))
    for y in range(H):
        for x in range(W):
            xs = cx + (x - cx) * math.cos(t) - (y - cy) * math.sin(t)
            ys = cy + (x - cx) * math.sin(t) + (y - cy) * math.cos(t)
            x0, y0 = math.floor(xs), math.floor(ys)
            for yy, wy in ((y0, 1 - (ys - y0)), (y0 + 1, ys - y0)):
                for xx, wx in ((x0, 1 - (xs - x0)), (x0 + 1, xs - x0)):
                    if 0 <= yy < H and 0 <= xx < W:
                        out[y, x] += wy * wx * img[yy, xx]
    return out


def _check_rotate(gen):
    x = torch.rand(4, 28, 28, generator=gen)
    x[:, 2:9, 3:6] = 1.0                                   # an asymmetric bar, so a turn shows
    # identity up to the float32 rounding of affine_grid's coordinates (~2e-6 of a pixel value)
    assert torch.allclose(rotate(x, torch.zeros(4)), x, atol=1e-5), "rotate 0 is not the identity"
    assert torch.allclose(random_rotate(x, gen, 0.0), x, atol=1e-5), "rotate:0 is not the identity"
    for deg, k in ((90, 1), (-90, -1), (180, 2)):
        got, want = rotate(x, torch.full((4,), float(deg))), torch.rot90(x, k, (-2, -1))
        # float32 cos(90 deg) is not exactly 0: the border may mix in a trace of the zero fill
        assert (got - want)[:, 1:-1, 1:-1].abs().max() < 1e-5, f"rotate {deg} != rot90 k={k}"
        assert (got - want).abs().max() < 1e-3, f"rotate {deg} != rot90 k={k} at the border"
    assert not torch.allclose(rotate(x, torch.full((4,), 90.0)), x, atol=0.1)
    for deg in (30.0, -17.5):
        want = torch.from_numpy(_regula_rotate(x[0].double().numpy(), deg)).float()
        got = rotate(x[:1], torch.tensor([deg]))[0]
        assert (got - want).abs().max() < 1e-4, f"rotate {deg} differs from regula's formula"


def _check_crop_flip(gen):
    x = torch.rand(64, 28, 28, generator=gen)
    assert torch.equal(random_crop(x, gen, 0), x), "crop:0 is not the identity"
    out = random_crop(x, gen, 2)
    xp = F.pad(x, (2, 2, 2, 2))
    windows = [xp[:, dy:dy + 28, dx:dx + 28] for dy in range(5) for dx in range(5)]
    hit = torch.stack([(out == w).flatten(1).all(1) for w in windows]).any(0)
    assert hit.all(), "crop:2 is not a shifted window of the zero-padded image"
    out = random_hflip(x, gen)
    same, flipped = (out == x).flatten(1).all(1), (out == x.flip(-1)).flatten(1).all(1)
    assert (same | flipped).all() and 10 < flipped.sum() < 54, "flip is not a p=0.5 mirror"


def _zero_box(img):
    """(rows, cols) of the zeroed pixels of an image of ones, checking they form one rectangle."""
    ys, xs = torch.nonzero(img == 0, as_tuple=True)
    if ys.numel() == 0:
        return 0, 0
    h, w = int(ys.max() - ys.min() + 1), int(xs.max() - xs.min() + 1)
    assert ys.numel() == h * w, "the zeroed pixels do not form a rectangle"
    return h, w


def _check_erasing_cutout(gen):
    ones = torch.ones(500, 28, 28)
    assert torch.equal(random_erasing(ones, gen, 0.0), ones), "erasing:0 changed an image"
    boxes = [_zero_box(img) for img in random_erasing(ones, gen, 1.0)]
    erased = [(h, w) for h, w in boxes if h]
    assert len(erased) > 450, "erasing:1 erased too few images"   # a few may find no fit
    for h, w in erased:   # area within [0.02, 0.33] of 784 and aspect in [0.3, 3.3], up to rounding
        assert 0.01 * 784 <= h * w <= 0.36 * 784 and 0.2 <= h / w <= 4.5, (h, w)
    assert 200 < sum(1 for h, _ in (_zero_box(i) for i in random_erasing(ones, gen, 0.5)) if h) < 300
    boxes = [_zero_box(img) for img in cutout(ones, gen, 8)]
    assert all(h <= 8 and w <= 8 and h * w >= 16 for h, w in boxes), "cutout:8 box out of shape"
    assert sum(1 for b in boxes if b == (8, 8)) > 250, "cutout:8 rarely cut a full 8x8 square"
    assert any(h * w < 64 for h, w in boxes), "cutout:8 never clipped at the border"


def _check_mixup(gen):
    x, y = torch.rand(32, 28, 28, generator=gen), torch.randint(0, 10, (32,), generator=gen)
    rng = np.random.default_rng(0)
    augment = make_augment(parse_aug("mixup:0.2"), gen, rng)
    state = gen.get_state()
    xm, targets = augment(x, y)
    gen.set_state(state)
    lam = targets[0][0]
    perm = torch.randperm(32, generator=gen)
    assert 0 <= lam <= 1 and abs(sum(w for w, _ in targets) - 1) < 1e-12
    assert torch.allclose(xm, lam * x + (1 - lam) * x[perm]) and torch.equal(targets[1][1], y[perm])
    out = torch.randn(32, 10, generator=gen)
    soft = lam * F.one_hot(y, 10).float() + (1 - lam) * F.one_hot(y[perm], 10).float()
    loss = sum(w * F.cross_entropy(out, t) for w, t in targets)
    assert torch.allclose(loss, F.cross_entropy(out, soft)), "mixup loss != CE on mixed labels"
    lams = np.random.default_rng(1).beta(0.2, 0.2, 10000)
    assert abs(lams.mean() - 0.5) < 0.02 and (np.minimum(lams, 1 - lams) < 0.05).mean() > 0.4


def _check_spec():
    assert parse_aug("rotate:10+crop:2+flip") == [("rotate", 10.0), ("crop", 2), ("flip", None)]
    assert parse_aug("none") == []
    for bad in ("crop", "crop:x", "flip:1", "erasing:2", "blur:3", "crop:2+", "mixup:0"):
        try:
            parse_aug(bad)
        except ValueError:
            continue
        raise AssertionError(f"parse_aug accepted {bad!r}")
    gen = torch.Generator().manual_seed(0)
    x, y = torch.rand(8, 28, 28), torch.arange(8)
    spec = "rotate:10+crop:2+flip+erasing:0.5+cutout:8+mixup:0.2"
    xa, targets = make_augment(parse_aug(spec), gen, np.random.default_rng(0))(x, y)
    assert xa.shape == x.shape and len(targets) == 2


def _check_training_parts():
    model = cnn(0.5)
    assert [type(m).__name__ for m in model][7:11] == ["Linear", "ReLU", "Dropout", "Linear"]
    assert [type(m).__name__ for m in cnn()] == ["Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU",
                                                 "MaxPool2d", "Flatten", "Linear", "ReLU", "Linear"]
    torch.manual_seed(3)
    plain = cnn()
    torch.manual_seed(3)
    dropped = cnn(0.5)
    assert all(torch.equal(a, b) for a, b in zip(plain.parameters(), dropped.parameters())), \
        "dropout changed the CNN's initial weights"
    groups = l2_param_groups(model, 1e-3)
    assert [p.dim() for p in groups[0]["params"]] == [4, 4, 2, 2], "decayed are not the weights"
    assert [p.dim() for p in groups[1]["params"]] == [1, 1, 1, 1], "undecayed are not the biases"
    assert len(groups[0]["params"]) + len(groups[1]["params"]) == len(list(model.parameters()))
    p = nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.05, momentum=0.9)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, cosine_per_step(4))
    lrs = []
    for _ in range(4):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    want = [0.5 * 0.05 * (1 + math.cos(math.pi * k / 4)) for k in range(4)]
    assert np.allclose(lrs, want) and lrs[0] == 0.05, lrs
    v1, t1 = study_split(1)
    v1b, _ = study_split(1)
    v2, _ = study_split(2)
    assert len(v1) == 5000 and len(t1) == 2000 and torch.equal(v1, v1b) and not torch.equal(v1, v2)
    assert len(set(v1.tolist()) | set(t1.tolist())) == 7000, "validation and training overlap"
    net, early, stopped = nn.Linear(2, 2), EarlyStopping(3), None
    for ep, acc in enumerate([0.5, 0.7, 0.7, 0.6, 0.65, 0.9], 1):
        with torch.no_grad():
            net.weight.fill_(ep)
        if early.update(ep, acc, net):
            stopped = ep
            break
    early.restore(net)
    assert (stopped, early.best_epoch) == (5, 2) and torch.all(net.weight == 2), (stopped, early.best_epoch)


def run_selftest():
    gen = torch.Generator().manual_seed(0)
    checks = [("rotate", lambda: _check_rotate(gen)), ("crop, flip", lambda: _check_crop_flip(gen)),
              ("erasing, cutout", lambda: _check_erasing_cutout(gen)),
              ("mixup", lambda: _check_mixup(gen)), ("--aug SPEC", _check_spec),
              ("model, l2 groups, cosine lr, split, early stopping", _check_training_parts)]
    for name, check in checks:
        t0 = time.perf_counter()
        check()
        say(f"ok  {name}  ({time.perf_counter() - t0:.2f}s)")
    say("selftest passed")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["mlp", "cnn", "overfit", "all", "study", "selftest"])
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--seeds", type=int, nargs="+", default=None)
    ap.add_argument("--out", default=os.path.join(HERE, "results.jsonl"))
    ap.add_argument("--only", default=None, help="run only the variant with this name (e.g. plain)")
    ap.add_argument("--lr", type=float, default=0.05, help="SGD learning rate (momentum 0.9)")
    ap.add_argument("--threads", type=int, default=THREADS, help="torch.set_num_threads (default 2)")
    ap.add_argument("--train-limit", type=int, default=0,
                    help="mlp, cnn: train on the first N training images only (0: all)")
    ap.add_argument("--no-eval", action="store_true",
                    help="mlp, cnn: no accuracy evaluation after training (test_acc null)")
    study = ap.add_argument_group("study")
    study.add_argument("--model", choices=["cnn", "mlp"], default=None)
    study.add_argument("--patience", type=int, default=8, help="early-stopping patience, epochs")
    study.add_argument("--l2", type=float, default=0.0, help="weight_decay on the weights only")
    study.add_argument("--dropout", type=float, default=0.0, help="dropout rate")
    study.add_argument("--aug", default="none", help="e.g. rotate:10+crop:2+flip (see the docstring)")
    study.add_argument("--label", default=None, help="name of the configuration in the output")
    args = ap.parse_args()
    if (args.train_limit or args.no_eval) and args.what not in ("mlp", "cnn"):
        ap.error("--train-limit and --no-eval are options of the mlp and cnn modes")
    if not 0 <= args.train_limit <= 60000:
        ap.error("--train-limit needs 0 <= N <= 60000")
    if args.what == "study":
        if args.model is None:
            ap.error("study needs --model cnn|mlp")
        if not 0 <= args.dropout < 1 or args.l2 < 0 or args.patience < 1:
            ap.error("study needs 0 <= --dropout < 1, --l2 >= 0 and --patience >= 1")
        try:
            parse_aug(args.aug)
        except ValueError as e:
            ap.error(f"--aug: {e}")
    torch.set_num_threads(args.threads)
    say(f"torch {torch.__version__} numpy {np.__version__} threads {torch.get_num_threads()} data {DATA}")
    if args.what == "selftest":
        run_selftest()
        return
    t0 = time.perf_counter()
    data = load()
    say(f"loaded data in {time.perf_counter() - t0:.2f}s")
    defaults = dict(mlp=(5, [0]), cnn=(2, [0]), overfit=(60, [0, 1, 2]), study=(30, [1, 2, 3]))
    todo = ["mlp", "cnn", "overfit"] if args.what == "all" else [args.what]
    for w in todo:
        sub = argparse.Namespace(**vars(args))
        sub.epochs = args.epochs or defaults[w][0]
        sub.seeds = args.seeds or defaults[w][1]
        dict(mlp=run_mlp, cnn=run_cnn, overfit=run_overfit, study=run_study)[w](sub, data)


if __name__ == "__main__":
    main()
