"""regula export --npz, read back by NumPy into an equivalent PyTorch nn.Sequential: the
test accuracy PyTorch computes with regula's weights equals what `regula eval` prints, to
the fourth decimal. A CNN with batch norm covers conv layouts, buffers and flatten order.

    test_npz_torch.py REGULA_BINARY
"""
import gzip
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import torch
from torch import nn

REGULA = sys.argv[1]
DATA = os.environ.get("REGULA_DATA") or "/usr/share/datasets/fashion-mnist"
MODEL = "conv:6:3,batchnorm,relu,maxpool:2,conv:8:3:2:0,relu,flatten,dense:24,relu,dense:10"


def idx(path):
    """IDX file (Yann LeCun's format): magic, dims, then the data, big-endian."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def torch_model(w):
    net = nn.Sequential(
        nn.Conv2d(1, 6, 3, padding=1), nn.BatchNorm2d(6, eps=1e-5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 8, 3, stride=2, padding=0), nn.ReLU(), nn.Flatten(),
        nn.Linear(8 * 6 * 6, 24), nn.ReLU(), nn.Linear(24, 10))
    names = {0: "conv1", 1: "batchnorm1", 4: "conv2", 7: "dense1", 9: "dense2"}
    state = {}
    for i, layer in names.items():
        for key in net[i].state_dict():
            if key == "num_batches_tracked":
                state["%d.%s" % (i, key)] = torch.tensor(0)
                continue
            state["%d.%s" % (i, key)] = torch.from_numpy(w["%s.%s" % (layer, key)])
    net.load_state_dict(state)
    return net.eval()


def main():
    with tempfile.TemporaryDirectory() as d:
        ckpt, npz = os.path.join(d, "m.ckpt"), os.path.join(d, "m.npz")
        subprocess.run([REGULA, "train", "--model", MODEL, "--epochs", "1", "--train-limit",
                        "3000", "--quiet", "--save", ckpt], check=True, stdout=subprocess.DEVNULL)
        out = subprocess.run([REGULA, "eval", ckpt], check=True, capture_output=True,
                             text=True).stdout
        regula_acc = re.search(r"test accuracy (\d\.\d{4})", out).group(1)
        subprocess.run([REGULA, "export", ckpt, "--npz", npz], check=True,
                       stdout=subprocess.DEVNULL)
        w = np.load(npz)
        assert w["conv1.weight"].shape == (6, 1, 3, 3), w["conv1.weight"].shape
        assert w["dense1.weight"].shape == (24, 288), w["dense1.weight"].shape
        assert "batchnorm1.running_var" in w.files, w.files
        net = torch_model(w)
    x = torch.from_numpy(idx(os.path.join(DATA, "t10k-images-idx3-ubyte.gz"))
                         .astype(np.float32)[:, None] / 255.0)
    y = torch.from_numpy(idx(os.path.join(DATA, "t10k-labels-idx1-ubyte.gz")).astype(np.int64))
    with torch.no_grad():
        acc = (net(x).argmax(1) == y).double().mean().item()
    torch_acc = "%.4f" % acc
    print("regula eval %s, PyTorch with the exported weights %s" % (regula_acc, torch_acc))
    if torch_acc != regula_acc:
        sys.exit("FAIL: the accuracies differ")
    if float(regula_acc) < 0.5:
        sys.exit("FAIL: the model did not learn (%s), so the comparison proves little"
                 % regula_acc)


if __name__ == "__main__":
    main()
