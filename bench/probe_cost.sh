#!/usr/bin/env bash
# What loading a plugin costs with the safety steps of the loader (trust check, ELF
# pre-check, forked probe load) against a direct load (REGULA_PLUGIN_PROBE=0 turns the
# probe off; the other two steps stay, they are a few stat/mmap calls): `regula plugins`,
# which loads every stock plugin, interleaved A B A B, ROUNDS times each.
#   bench/probe_cost.sh [ROUNDS]           (after ./run.sh build)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-10}
BIN=build/bin/regula
n=$("$BIN" plugins --json | grep -o '"path"' | wc -l)
ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000 )); }
: > /tmp/probe_A; : > /tmp/probe_B
for r in $(seq "$ROUNDS"); do
    REGULA_PLUGIN_PROBE=0 ms "$BIN" plugins >> /tmp/probe_A
    ms "$BIN" plugins >> /tmp/probe_B
done
median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
a=$(median < /tmp/probe_A); b=$(median < /tmp/probe_B)
echo "regula plugins ($n plugins), median of $ROUNDS: probe off ${a} us, probe on ${b} us"
echo "probe cost per plugin: $(( (b - a) / n )) us"
