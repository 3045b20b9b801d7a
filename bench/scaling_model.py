#!/usr/bin/env python3
"""Data-parallel scaling on paper: what a ring allreduce of the gradients costs per step
against the step's compute, for the README's two models, at 8, 64 and 512 nodes over 10
and 100 Gb/s.

Model (the standard one for ring allreduce, e.g. Patarasuk & Yuan 2009; Horovod's design):
    T_comm = 2 (N - 1) * alpha + 2 (N - 1) / N * S / B
with S the gradient bytes per step (4 bytes per parameter), B the link bandwidth and alpha
the per-message latency (two values: 2 us for RDMA-class networks, 25 us for TCP). A step
computes for T_c; backward is about 2/3 of it, and buckets started during backward (as DDP
does) hide communication up to that much:
    T_step = T_c + max(0, T_comm - overlap * T_c),  efficiency = T_c / T_step.
Weak scaling: each node keeps the per-node batch (here the recipes' 128) and T_c.

usage: bench/scaling_model.py MLP_STEP_MS CNN_STEP_MS
  the measured compute time of one step of 128 images on one node (bench/RESULTS.md)."""
import sys

PARAMS = {
    # 784-512-256-10: weights + biases
    "MLP 784-512-256-10": 784 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10,
    # conv32 3x3, conv64 3x3, two 2x2 pools (28 -> 14 -> 7), fc128, fc10
    "CNN conv32-conv64-fc128": (32 * 9 + 32) + (64 * 32 * 9 + 64) + (64 * 7 * 7 * 128 + 128)
    + (128 * 10 + 10),
}


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    step_ms = {"MLP 784-512-256-10": float(sys.argv[1]),
               "CNN conv32-conv64-fc128": float(sys.argv[2])}
    overlap = 2.0 / 3.0
    print("| model | parameters | gradient MB/step | compute ms/step | nodes | link | "
          "latency | allreduce ms | efficiency, no overlap | with overlap |")
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|")
    for name, p in PARAMS.items():
        s = 4.0 * p
        tc = step_ms[name] / 1e3
        for gbps in (10, 100):
            b = gbps * 1e9 / 8
            for alpha_us in (2, 25):
                for n in (8, 64, 512):
                    comm = 2 * (n - 1) * alpha_us * 1e-6 + 2 * (n - 1) / n * s / b
                    plain = tc / (tc + comm)
                    hidden = tc / (tc + max(0.0, comm - overlap * tc))
                    print(f"| {name} | {p:,} | {s / 1e6:.2f} | {tc * 1e3:.2f} | {n} | "
                          f"{gbps} Gb/s | {alpha_us} us | {comm * 1e3:.2f} | {100 * plain:.0f}% "
                          f"| {100 * hidden:.0f}% |")


if __name__ == "__main__":
    main()
