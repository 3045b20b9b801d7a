"""Training regula on NumPy arrays from Python, printing the learning curve.

    PYTHONPATH=<prefix>/lib/python3/dist-packages python3 train_numpy.py
"""
import numpy as np

import regula


def images(n, seed):
    """8x8 images of four classes: class k is a bright quadrant over noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 4
    x = rng.uniform(0, 0.5, size=(n, 1, 8, 8)).astype(np.float32)
    for k in range(4):
        r, c = (k // 2) * 4, (k % 2) * 4
        x[y == k, 0, r:r + 4, c:c + 4] += 0.4
    return x, y


def main():
    ctx = regula.Context(threads=2)
    xtr, ytr = images(800, 1)
    xte, yte = images(200, 2)
    train = regula.Dataset.from_arrays(ctx, xtr, ytr)
    test = regula.Dataset.from_arrays(ctx, xte, yte)
    run = regula.Run(ctx, train=train, test=test, model="mlp:32", epochs=5, batch=32, lr=0.1,
                     lr_schedule="cosine", reg=["l2:lambda=1e-4"])
    print("epoch  train_loss  val_loss  val_accuracy")
    res = run.fit(on_epoch=lambda e: print("%5d  %10.4f  %8.4f  %12.4f" % (
        e["epoch"], e["train_loss"], e["val_loss"], e["val_accuracy"])))
    probs = run.predict(xte[:5])
    print("test accuracy %.4f; first predictions %s, labels %s" % (
        res["test"]["accuracy"], probs.argmax(axis=1).tolist(), yte[:5].tolist()))
    if res["test"]["accuracy"] < 0.9:
        raise SystemExit("the model did not learn")


if __name__ == "__main__":
    main()
