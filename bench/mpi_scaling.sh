#!/usr/bin/env bash
# Data-parallel scaling on this machine: one process with 2 threads against
# `mpirun -np 2` processes of 1 thread each, same global batch (128) and seed, for the
# MLP 784-512-256-10 (all 60,000 images) and the CNN conv32-conv64-fc128 (6,400 images),
# interleaved over rounds (A B A B). Prints each run's median epoch seconds and, per model,
# the medians and the scaling efficiency T(np=1, 2 threads) / T(np=2, 1 thread each): 1.0
# means two processes are as fast as one process with both cores.
#
#   bench/mpi_scaling.sh [ROUNDS (default 3)]
# Needs a build with MPI (./run.sh build installs Open MPI) and mpirun.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
REGULA=build/bin/regula
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
CNN=conv:32:3,relu,maxpool:2,conv:64:3,relu,maxpool:2,flatten,dense:128,relu,dense:10
COMMON=(--data fashion-mnist --batch 128 --optimizer sgd --lr 0.05 --momentum 0.9 --seed 1
        --epochs 2 --no-test --quiet)
median_epoch() { # the run's "mean X s/epoch" is over its epochs; take the epoch lines' median
    grep -o ' [0-9.]* s$' | awk '{print $1}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
declare -A T
for r in $(seq "$ROUNDS"); do
    for model in mlp cnn; do
        if [ $model = mlp ]; then M=(--model mlp:512,256); else M=(--model "$CNN" --train-limit 6400); fi
        a=$("$REGULA" train "${COMMON[@]}" "${M[@]}" --threads 2 2>&1 | median_epoch)
        b=$(mpirun --oversubscribe --allow-run-as-root --bind-to none -np 2 \
            "$REGULA" train "${COMMON[@]}" "${M[@]}" --threads 1 2>&1 | median_epoch)
        echo "round $r $model: np=1 x 2 threads $a s/epoch, np=2 x 1 thread $b s/epoch"
        T[$model-1]="${T[$model-1]:-} $a"
        T[$model-2]="${T[$model-2]:-} $b"
    done
done
for model in mlp cnn; do
    m1=$(echo ${T[$model-1]} | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    m2=$(echo ${T[$model-2]} | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    echo "$model: median np=1 x 2 threads $m1 s/epoch, np=2 x 1 thread $m2 s/epoch," \
         "efficiency $(awk -v a="$m1" -v b="$m2" 'BEGIN {printf "%.2f", a / b}')"
done
