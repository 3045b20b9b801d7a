#!/usr/bin/env bash
# What the checks at the plugin boundary cost (output finite and in range, guard words
# after every buffer, the sampled const-weights check): the main job with a build that
# compiles them out (-DREGULA_BOUNDARY_CHECKS=OFF) against the normal one, interleaved
# A B A B by cli_before_after.sh, on two recipes: the main job (l2: penalty hooks) and
# the main job with dropout (activation hooks) and an augmenter.
#   bench/checks_overhead.sh [ROUNDS]      (after ./run.sh build)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
cmake -S . -B build-nochecks -DREGULA_BOUNDARY_CHECKS=OFF -DREGULA_BUILD_TESTS=OFF >/dev/null
cmake --build build-nochecks -j"$(nproc)" -- --no-print-directory >/dev/null
echo "== main job (A: checks compiled out, B: checks on)"
bench/cli_before_after.sh build-nochecks/bin/regula build/bin/regula "$ROUNDS"
echo "== main job + --reg dropout:rate=0.2 --aug hflip"
BENCH_EXTRA="--reg dropout:rate=0.2 --aug hflip" \
    bench/cli_before_after.sh build-nochecks/bin/regula build/bin/regula "$ROUNDS"
