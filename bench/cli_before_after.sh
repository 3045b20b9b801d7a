#!/usr/bin/env bash
# The main job (./run.sh train's recipe) with two regula binaries, interleaved A B A B on
# the same machine, e.g. before and after a change:
#   git worktree add /tmp/old <commit> && (cd /tmp/old && ./run.sh build)
#   bench/cli_before_after.sh /tmp/old/build/bin/regula build/bin/regula [ROUNDS]
# Prints each run's mean s/epoch (training steps, as regula reports it) and wall seconds,
# then the medians and the ratio B/A.
set -euo pipefail
A=$1
B=$2
ROUNDS=${3:-3}
RECIPE=(train --data fashion-mnist --model mlp:512,256 --epochs 10 --batch 128 --optimizer sgd
        --lr 0.05 --momentum 0.9 --lr-schedule cosine --reg l2:lambda=5e-4 --seed 1 --quiet)
# BENCH_EXTRA="--reg dropout:rate=0.2 --aug hflip": more flags for both binaries
read -r -a EXTRA <<< "${BENCH_EXTRA:-}"
RECIPE+=("${EXTRA[@]}")
one() { # one BIN -> "s_per_epoch wall test_accuracy"
    local t0 t1 out
    t0=$(date +%s.%N)
    out=$("$1" "${RECIPE[@]}")
    t1=$(date +%s.%N)
    echo "$(echo "$out" | sed -n 's/.*mean \([0-9.]*\) s\/epoch.*/\1/p') $(echo "$t1 - $t0" | bc)" \
         "$(echo "$out" | sed -n 's/^test accuracy \([0-9.]*\).*/\1/p')"
}
median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
: > /tmp/cli_ba_A
: > /tmp/cli_ba_B
for r in $(seq "$ROUNDS"); do
    a=$(one "$A"); echo "round $r A: s/epoch wall acc = $a"; echo "$a" >> /tmp/cli_ba_A
    b=$(one "$B"); echo "round $r B: s/epoch wall acc = $b"; echo "$b" >> /tmp/cli_ba_B
done
ea=$(cut -d' ' -f1 /tmp/cli_ba_A | median); eb=$(cut -d' ' -f1 /tmp/cli_ba_B | median)
wa=$(cut -d' ' -f2 /tmp/cli_ba_A | median); wb=$(cut -d' ' -f2 /tmp/cli_ba_B | median)
echo "median s/epoch: A $ea  B $eb  B/A $(echo "scale=3; $eb / $ea" | bc)"
echo "median wall s:  A $wa  B $wb  B/A $(echo "scale=3; $wb / $wa" | bc)"
