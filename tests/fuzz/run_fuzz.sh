#!/usr/bin/env bash
# Runs the libFuzzer harnesses of a -DREGULA_FUZZ=ON build (run.sh test calls it):
# for each harness, first its regression inputs tests/fuzz/regress/<name>/* (every one
# must pass), then a fuzzing session of FUZZ_SECONDS (default 20) on a copy of the seed
# corpus tests/fuzz/corpus/<name>/ made under BUILD_DIR/fuzz-work (the source tree is
# never written). Prints one line per harness (executions, cov, ft from libFuzzer's
# final "#N DONE" line) and exits non-zero if any harness crashed, leaked, timed out or
# ran out of memory; the input that did it is kept in BUILD_DIR/fuzz-work/artifacts/.
#
#   tests/fuzz/run_fuzz.sh BUILD_DIR [NAME...]      default: every harness
#   FUZZ_SECONDS=60 tests/fuzz/run_fuzz.sh build-fuzz png
#
# Inputs in tests/fuzz/crashers/<name>/ are known crashes not fixed yet: not run.
set -uo pipefail

src=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [NAME...]" >&2; exit 2; }
build=$(cd "$1" && pwd) || exit 2
shift
seconds=${FUZZ_SECONDS:-20}
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(idx png csv checkpoint model_spec params recipe elf)

work=$build/fuzz-work
rm -rf "$work"
mkdir -p "$work/tmp"
# libFuzzer writes crash-* files to the current directory unless told otherwise.
cd "$work" || exit 2
# The harnesses' scratch files (mkstemp in $TMPDIR) stay in the build tree.
export TMPDIR=$work/tmp
# A header may declare up to 16 GiB (the readers' own cap, checked before they read the
# data): such an allocation fails here, as on a machine without the memory, and the
# reader's out-of-memory path is what gets tested, instead of libFuzzer's malloc limit
# calling it a crash.
export ASAN_OPTIONS=${ASAN_OPTIONS:-allocator_may_return_null=1:max_allocation_size_mb=1024:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=()
start=$SECONDS
for name in "${names[@]}"; do
    bin=$build/fuzz/fuzz_$name
    if [ ! -x "$bin" ]; then
        echo "fuzz_$name: FAIL: $bin not built"
        failed+=("$name")
        continue
    fi
    log=$work/$name.log
    artifacts=$work/artifacts/$name
    mkdir -p "$artifacts"

    shopt -s nullglob
    regress=("$src/regress/$name"/*)
    shopt -u nullglob
    if [ ${#regress[@]} -gt 0 ] &&
        ! "$bin" -timeout=10 -rss_limit_mb=1024 -artifact_prefix="$artifacts/regress-" \
            "${regress[@]}" >"$work/$name.regress.log" 2>&1; then
        echo "fuzz_$name: FAIL: a regression input crashes (log: $work/$name.regress.log)"
        grep -E "^(==[0-9]+==ERROR|SUMMARY|Running:|fuzz)|runtime error" "$work/$name.regress.log" |
            tail -n 6 | sed 's/^/    /'
        failed+=("$name")
        continue
    fi

    corpus=$work/corpus/$name
    mkdir -p "$corpus"
    cp -R "$src/corpus/$name/." "$corpus/"
    dict=()
    [ -f "$src/dict/$name.dict" ] && dict=(-dict="$src/dict/$name.dict")
    t0=$SECONDS
    "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 "${dict[@]}" \
        -artifact_prefix="$artifacts/" -print_final_stats=1 "$corpus" >"$log" 2>&1
    rc=$?
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
    execs=$(sed -nE 's/^#([0-9]+).*/\1/p' <<<"$done_line")
    cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$done_line")
    ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$done_line")
    corp=$(sed -nE 's/.* corp: ([0-9]+)\/.*/\1/p' <<<"$done_line")
    if [ $rc -ne 0 ] || [ -z "$done_line" ]; then
        echo "fuzz_$name: FAIL (exit $rc after $((SECONDS - t0)) s; log: $log)"
        grep -E "^==[0-9]+==ERROR|^SUMMARY|runtime error|^artifact_prefix|Test unit written|^fuzz" "$log" |
            head -n 8 | sed 's/^/    /'
        failed+=("$name")
    else
        printf 'fuzz_%-11s %9s execs  cov %5s  ft %6s  corpus %4s  (%d s, %d regression inputs)\n' \
            "$name" "$execs" "$cov" "$ft" "$corp" $((SECONDS - t0)) ${#regress[@]}
    fi
done
echo "fuzz: ${#names[@]} harnesses in $((SECONDS - start)) s"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: FAILED: ${failed[*]} (crash inputs in $work/artifacts/)" >&2
    exit 1
fi
