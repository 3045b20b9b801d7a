#!/usr/bin/env bash
# One entry point for a new user and for CI:
#   ./run.sh train [extra regula train flags]   install, build, train on Fashion-MNIST
#   ./run.sh test                                install, build, run every test (+ ASan/UBSan)
#   ./run.sh build                               install and build only
# Installs missing Debian packages with apt-get (quiet when all is there).
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(gcc make cmake pkg-config libopenblas-openmp-dev libpng-dev zlib1g-dev
          libcairo2-dev libcriterion-dev libjansson-dev dataset-fashion-mnist
          python3 python3-numpy python3-torch
          libopenmpi-dev openmpi-bin   # data-parallel training (mpirun -np N regula train)
          tmux                         # tests/e2e/test_tty.py reads the progress bar back
          help2man                     # the man pages, from each command's --help
          dpkg-dev                     # cpack -G DEB (dpkg-shlibdeps) for tests/sdk/test_deb.sh
          clang libclang-rt-14-dev libomp-14-dev)  # the libFuzzer stage of `test`
JOBS=$(nproc 2>/dev/null || echo 2)

install_missing() {
    local missing=() p
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "run.sh: installing ${missing[*]}" >&2
    local sudo=()
    [ "$(id -u)" -ne 0 ] && sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq \
        --no-install-recommends "${missing[@]}" >/dev/null
}

build() { # build DIR [cmake args...]
    local dir=$1
    shift
    cmake -S . -B "$dir" -DREGULA_WERROR=ON "$@" >/dev/null
    cmake --build "$dir" -j"$JOBS" -- --no-print-directory >/dev/null
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
train)
    install_missing
    build build
    exec build/bin/regula train --data fashion-mnist --model mlp:512,256 --epochs 10 \
        --batch 128 --optimizer sgd --lr 0.05 --momentum 0.9 --lr-schedule cosine \
        --reg l2:lambda=5e-4 --seed 1 --summary build/fashion-mnist-summary.json "$@"
    ;;
test)
    install_missing
    build build
    ctest --test-dir build --output-on-failure
    # The same suite under AddressSanitizer + UndefinedBehaviorSanitizer.
    build build-asan -DREGULA_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
        ctest --test-dir build-asan --output-on-failure
    # libFuzzer harnesses (tests/fuzz, clang): regression inputs, then 20 s of fuzzing each.
    build build-fuzz -DCMAKE_C_COMPILER=clang -DREGULA_FUZZ=ON -DREGULA_BUILD_TESTS=OFF \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo
    tests/fuzz/run_fuzz.sh build-fuzz
    ;;
build)
    install_missing
    build build
    ;;
*)
    echo "usage: ./run.sh train [regula train flags] | test | build" >&2
    exit 2
    ;;
esac
