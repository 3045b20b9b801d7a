#!/usr/bin/env bash
# The Debian packages as a user gets them: cpack -G DEB builds regula and libregula-dev,
# their control fields name the right dependencies, apt-get accepts them (simulated:
# installing into the test machine itself is not done), and the packages unpacked into a
# temporary root (dpkg -x) work: the installed regula finds its installed plugins, the SDK
# template builds against the installed headers and CMake package, and trains with both.
#   test_deb.sh BUILD_DIR
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" deb
BUILD=$1

step "cpack -G DEB"
(cd "$BUILD" && cpack -G DEB -B "$TMP/pkg" >"$TMP/cpack.log" 2>&1) ||
    fail "cpack failed: $(tail -20 "$TMP/cpack.log")"
RT=$(ls "$TMP"/pkg/regula_*.deb) DEV=$(ls "$TMP"/pkg/libregula-dev_*.deb)
version=$("$BUILD/bin/regula" --version | awk '{print $2}')

step "control fields"
[ "$(dpkg-deb -f "$RT" Package)" = regula ] || fail "$RT: Package"
[ "$(dpkg-deb -f "$RT" Version)" = "$version" ] || fail "$RT: Version is not $version"
deps=$(dpkg-deb -f "$RT" Depends)
for d in libc6 libopenblas0-openmp libjansson4 libpng16-16 zlib1g libcairo2 libgomp1; do
    case ", $deps," in *", $d"[\ ,]*) ;; *) fail "regula does not depend on $d: $deps";; esac
done
[ "$(dpkg-deb -f "$DEV" Depends)" = "regula (= $version)" ] ||
    fail "libregula-dev depends on '$(dpkg-deb -f "$DEV" Depends)'"

step "contents"
dpkg-deb -c "$RT" | awk '{print $6}' > "$TMP/rt.txt"
dpkg-deb -c "$DEV" | awk '{print $6}' > "$TMP/dev.txt"
for f in ./usr/bin/regula ./usr/lib/libregula.so.0 ./usr/lib/regula/plugins/l2.so \
         ./usr/lib/regula/plugins/hflip.so ./usr/share/man/man1/regula-train.1.gz \
         ./usr/share/man/man1/regula.1.gz ./usr/share/bash-completion/completions/regula; do
    grep -qx "$f" "$TMP/rt.txt" || fail "regula lacks $f"
done
for f in ./usr/include/regula/plugin.h ./usr/include/regula/regula.h ./usr/lib/libregula.so \
         ./usr/lib/pkgconfig/regula.pc ./usr/lib/cmake/Regula/RegulaConfig.cmake \
         ./usr/share/regula/template/myreg.c ./usr/share/regula/template/mytransform.c ./usr/share/regula/template/mypolicy.c \
         ./usr/share/regula/template/CMakeLists.txt; do
    grep -qx "$f" "$TMP/dev.txt" || fail "libregula-dev lacks $f"
done
grep -q include "$TMP/rt.txt" && fail "regula carries headers"
grep -q 'plugins/.*\.so' "$TMP/dev.txt" && fail "libregula-dev carries plugins"

step "apt-get install ./regula_*.deb ./libregula-dev_*.deb (simulated)"
apt-get install -s -q "$RT" "$DEV" >"$TMP/apt.log" 2>&1 || fail "apt-get refuses: $(cat "$TMP/apt.log")"
grep -q "^Inst regula " "$TMP/apt.log" && grep -q "^Inst libregula-dev " "$TMP/apt.log" ||
    fail "apt-get would not install both: $(cat "$TMP/apt.log")"

step "unpacked into $TMP/root"
dpkg -x "$RT" "$TMP/root"
dpkg -x "$DEV" "$TMP/root"
R=$TMP/root/usr
out=$(REGULA_PLUGIN_PATH= "$R/bin/regula" plugins)
echo "$out" | grep -q "$R/lib/regula/plugins/l2.so" || fail "installed l2 not listed: $out"
zcat "$R/share/man/man1/regula-train.1.gz" | grep -q '^\.SH "EXIT STATUS"' ||
    fail "regula-train.1.gz has no EXIT STATUS"

step "the SDK template against the installed headers and CMake package"
cmake -S "$R/share/regula/template" -B "$TMP/tb" -DCMAKE_PREFIX_PATH="$R" \
    -DCMAKE_C_FLAGS="-Wall -Wextra -Werror" >/dev/null
cmake --build "$TMP/tb" >/dev/null
grep -rq "$R/include" "$TMP/tb/CMakeFiles" || fail "the template did not use the installed headers"

step "training with an installed plugin and the template's"
out=$(REGULA_PLUGIN_PATH= "$R/bin/regula" train --model mlp:32 --train-limit 600 --epochs 1 \
      --threads 2 --quiet --reg l2 --reg "$TMP/tb/myreg.so:lambda=1e-3" --aug hflip) ||
    fail "train failed: $out"
echo "$out" | grep -q "reg l2 " || fail "l2 not loaded: $out"
echo "$out" | grep -q "reg myreg 0.1.0" || fail "myreg not loaded: $out"
echo "$out" | grep -q "^test accuracy" || fail "no test accuracy: $out"
echo "deb test: all steps passed"
