#!/usr/bin/env bash
# Seconds per epoch of the default MLP (784-512-256-10, batch 128, SGD lr 0.05
# momentum 0.9, L2 / weight decay 5e-4, all 60,000 training images) in regula
# and in PyTorch (bench/torch_ref.py, Debian python3-torch), at the
# same thread count, interleaved so machine drift hits both alike.
#
#   bench/mlp_vs_torch.sh [--epochs N] [--threads T] [--rounds R]
#
# PyTorch runs with OMP_WAIT_POLICY=PASSIVE, its best setting on this machine
# (BASELINES.md); regula runs as shipped. Prints the median s/epoch of each
# and the ratio torch / regula (above 1: regula is faster).
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=3 THREADS=2 ROUNDS=2
while [ $# -gt 0 ]; do
    case "$1" in
    --epochs) EPOCHS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    *) echo "usage: $0 [--epochs N] [--threads T] [--rounds R]" >&2; exit 2 ;;
    esac
done
TORCH_REF=${TORCH_REF:-$(dirname "$0")/torch_ref.py}
[ -f "$TORCH_REF" ] || { echo "bench: $TORCH_REF not found (set TORCH_REF)" >&2; exit 1; }
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    echo "bench: installing python3-torch" >&2
    sudo=(); [ "$(id -u)" -ne 0 ] && sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq python3-torch >/dev/null
fi
./run.sh build
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
for r in $(seq 1 "$ROUNDS"); do
    echo "round $r/$ROUNDS: regula" >&2
    build/bin/regula train --epochs "$EPOCHS" --val 0 --threads "$THREADS" --quiet \
        --reg l2:lambda=5e-4 --seed "$r" --summary "$OUT/regula-$r.json" >/dev/null
    echo "round $r/$ROUNDS: pytorch" >&2
    OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 "$TORCH_REF" mlp --only wd5e-4 \
        --epochs "$EPOCHS" --seeds "$r" --threads "$THREADS" --out "$OUT/torch.jsonl" >/dev/null
done
/usr/bin/python3 - "$OUT" "$ROUNDS" "$THREADS" "$EPOCHS" <<'PY'
import json, statistics, sys, glob
out, rounds, threads, epochs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
reg = [h["seconds"] for f in sorted(glob.glob(out + "/regula-*.json"))
       for h in json.load(open(f))["history"]]
reg_acc = [json.load(open(f))["test_accuracy"] for f in sorted(glob.glob(out + "/regula-*.json"))]
tor, tor_acc = [], []
for line in open(out + "/torch.jsonl"):
    rec = json.loads(line)
    tor += rec["epoch_times"]
    tor_acc.append(rec["test_acc"])
r, t = statistics.median(reg), statistics.median(tor)
print(f"MLP 784-512-256-10, batch 128, {epochs} epochs x {rounds} rounds, {threads} threads")
print(f"regula   {r:6.3f} s/epoch (median of {len(reg)})  test acc {statistics.median(reg_acc):.4f}")
print(f"pytorch  {t:6.3f} s/epoch (median of {len(tor)})  test acc {statistics.median(tor_acc):.4f}")
print(f"ratio pytorch/regula = {t / r:.2f}")
PY
