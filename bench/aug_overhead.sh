#!/usr/bin/env bash
# Cost of augmentation in the CNN epoch: the same training with and without
# `random_crop:padding=4 + hflip + rotate:degrees=10`, interleaved (none,
# aug, none, aug, ...) so machine drift hits both. Batches are augmented on
# the input pipeline's worker thread while the previous batch trains.
#   bench/aug_overhead.sh [--limit N] [--rounds R] [--threads T]
set -euo pipefail
cd "$(dirname "$0")/.."
LIMIT=20000 ROUNDS=2 THREADS=2
while [ $# -gt 0 ]; do
    case "$1" in
    --limit) LIMIT=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    *) echo "usage: $0 [--limit N] [--rounds R] [--threads T]" >&2; exit 2 ;;
    esac
done
[ -x build/bin/regula ] || ./run.sh build
MODEL=conv:32:3,relu,maxpool:2,conv:64:3,relu,maxpool:2,flatten,dense:128,relu,dense:10
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
for r in $(seq 1 "$ROUNDS"); do
    for v in none aug; do
        extra=()
        [ "$v" = aug ] && extra=(--aug random_crop:padding=4 --aug hflip --aug rotate:degrees=10)
        build/bin/regula train --model "$MODEL" --epochs 1 --train-limit "$LIMIT" --val 0 \
            --threads "$THREADS" --quiet --no-test "${extra[@]}" --summary "$OUT/$v-$r.json" >/dev/null
    done
done
/usr/bin/python3 - "$OUT" "$ROUNDS" "$LIMIT" "$THREADS" <<'PY'
import json, statistics, sys
out, rounds, limit, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
t = {v: [json.load(open(f"{out}/{v}-{r}.json"))["seconds_per_epoch"] for r in range(1, rounds + 1)]
     for v in ("none", "aug")}
n, a = statistics.median(t["none"]), statistics.median(t["aug"])
print(f"CNN epoch on {limit} images, {threads} threads, median of {rounds}")
print(f"no augmentation          {n:7.2f} s")
print(f"crop + hflip + rotate    {a:7.2f} s")
print(f"ratio aug/none = {a / n:.3f}")
PY
