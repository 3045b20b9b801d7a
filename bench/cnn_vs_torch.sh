#!/usr/bin/env bash
# Seconds per epoch and test accuracy of the CNN conv32-pool-conv64-pool-fc128-fc10
# (3x3 convolutions, padding 1, 2x2 max pooling; bench/BASELINES.md) in regula
# and in PyTorch (bench/torch_ref.py cnn, Debian python3-torch), batch
# 128, SGD lr 0.05 momentum 0.9, all 60,000 training images, same thread count,
# run one after the other in one invocation.
#
#   bench/cnn_vs_torch.sh [--epochs N] [--threads T]
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=2 THREADS=2
while [ $# -gt 0 ]; do
    case "$1" in
    --epochs) EPOCHS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    *) echo "usage: $0 [--epochs N] [--threads T]" >&2; exit 2 ;;
    esac
done
TORCH_REF=${TORCH_REF:-$(dirname "$0")/torch_ref.py}
[ -f "$TORCH_REF" ] || { echo "bench: $TORCH_REF not found (set TORCH_REF)" >&2; exit 1; }
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    sudo=(); [ "$(id -u)" -ne 0 ] && sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq python3-torch >/dev/null
fi
./run.sh build
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
MODEL=conv:32:3,relu,maxpool:2,conv:64:3,relu,maxpool:2,flatten,dense:128,relu,dense:10
echo "regula ($EPOCHS epochs, $THREADS threads)" >&2
build/bin/regula train --model "$MODEL" --epochs "$EPOCHS" --val 0 --threads "$THREADS" --quiet \
    --seed 1 --summary "$OUT/regula.json" >/dev/null
echo "pytorch ($EPOCHS epochs, $THREADS threads)" >&2
OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 "$TORCH_REF" cnn --epochs "$EPOCHS" --seeds 0 \
    --threads "$THREADS" --out "$OUT/torch.jsonl" >/dev/null
/usr/bin/python3 - "$OUT" "$THREADS" "$EPOCHS" <<'PY'
import json, statistics, sys
out, threads, epochs = sys.argv[1:4]
r = json.load(open(out + "/regula.json"))
t = [json.loads(l) for l in open(out + "/torch.jsonl")][-1]
rs = statistics.median(h["seconds"] for h in r["history"])
ts = t["s_per_epoch_median"]
print(f"CNN conv32-pool-conv64-pool-fc128-fc10, batch 128, {epochs} epochs, {threads} threads")
print(f"regula   {rs:7.2f} s/epoch (median)  test acc {r['test_accuracy']:.4f}")
print(f"pytorch  {ts:7.2f} s/epoch (median)  test acc {t['test_acc']:.4f}")
print(f"ratio pytorch/regula = {ts / rs:.2f}")
PY
