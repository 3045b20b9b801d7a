#!/usr/bin/env bash
# Installs regula to a temporary prefix and uses it as a third party would:
# checks the exported symbols, builds sdk/template with CMake
# (find_package(Regula) + regula_add_plugin) and with plain cc + pkg-config,
# then trains a few steps with both template plugins loaded by the installed
# regula, which must also find its own stock plugins; builds and runs the embedding
# example (find_package and pkg-config) and the Python example on the installed package.
#   test_install.sh BUILD_DIR SOURCE_DIR
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" install
BUILD=$1
SRC=$2

step "cmake --install to $TMP/prefix"
cmake --install "$BUILD" --prefix "$TMP/prefix" >/dev/null
P=$TMP/prefix
LIB=$(dirname "$(find "$P" -name 'libregula.so.*.*.*' | head -1)")
[ -n "$LIB" ] || fail "libregula.so.X.Y.Z not installed"
[ -L "$LIB/libregula.so.0" ] || fail "soname link libregula.so.0 missing"
[ -f "$P/include/regula/plugin.h" ] || fail "plugin.h not installed"
[ -x "$P/bin/regula" ] || fail "regula not installed"

step "exported symbols"
exports=$(nm -D --defined-only "$LIB"/libregula.so.0 | awk '$2 ~ /[TDBRVW]/ {print $3}' | sort | tr '\n' ' ')
# exactly the functions regula.h declares with RG_API (static inline helpers are not exported)
expected=$(tr '\n' ' ' < "$P/include/regula/regula.h" | grep -oE 'RG_API [^;{]*\(' |
           sed -E 's/\($//; s/.*[ *]//' | sort | tr '\n' ' ')
[ "$(echo "$expected" | wc -w)" -ge 40 ] || fail "could not read the API from regula.h: '$expected'"
[ "$exports" = "$expected" ] || fail "libregula exports '$exports', regula.h declares '$expected'"
step "the regula command uses only what libregula exports"
used=$(ldd "$P/bin/regula" | awk '$1 == "libregula.so.0" {print $3}')
[ -n "$used" ] && [ "$(readlink -f "$used")" = "$(readlink -f "$LIB/libregula.so.0")" ] ||
    fail "installed regula does not load the installed libregula: $(ldd "$P/bin/regula")"
for sym in $(nm -D --undefined-only "$P/bin/regula" | awk '$2 ~ /^rg_/ {print $2}'); do
    case " $exports " in *" $sym "*) ;; *) fail "regula uses $sym, which libregula does not export";; esac
done
nm "$P/bin/regula" | grep -qE ' [Tt] rg_run_fit$' && fail "regula carries its own copy of the library"
step "libregula links no cairo, fontconfig or X11"
if ldd "$LIB/libregula.so.0" | grep -E 'cairo|fontconfig|libX11'; then
    fail "libregula.so depends on the plotting stack"
fi
for so in "$LIB"/regula/plugins/*.so; do
    e=$(nm -D --defined-only "$so" | awk '$2 ~ /[TDBRVW]/ {print $3}' | tr '\n' ' ')
    [ "$e" = "regula_plugin_entry_v1 " ] || fail "$so exports '$e', expected only regula_plugin_entry_v1"
done

step "template with CMake"
cmake -S "$SRC/sdk/template" -B "$TMP/tb" -DCMAKE_PREFIX_PATH="$P" \
    -DCMAKE_C_FLAGS="-Wall -Wextra -Werror" >/dev/null
cmake --build "$TMP/tb" >/dev/null
for so in myreg myaug mytransform mypolicy; do
    e=$(nm -D --defined-only "$TMP/tb/$so.so" | awk '$2 ~ /[TDBRVW]/ {print $3}' | tr '\n' ' ')
    [ "$e" = "regula_plugin_entry_v1 " ] || fail "$so.so exports '$e'"
done

step "conformance checker on the template plugins"
for so in myreg myaug mytransform mypolicy; do
    "$P/bin/regula" plugin check --timeout 60 "$TMP/tb/$so.so" > "$TMP/check-$so.txt" ||
        fail "regula plugin check $so.so failed: $(cat "$TMP/check-$so.txt")"
    grep -q " 0 failed" "$TMP/check-$so.txt" || fail "no clean summary for $so.so"
done

step "template with cc + pkg-config"
CFLAGS=$(PKG_CONFIG_PATH="$LIB/pkgconfig" pkg-config --cflags regula)
for so in myreg myaug mytransform mypolicy; do
    cc -shared -fPIC -O2 -std=c11 -Wall -Wextra -Werror $CFLAGS "$SRC/sdk/template/$so.c" \
        -o "$TMP/pc-$so.so" -lm
done

step "installed regula finds its stock plugins"
out=$(REGULA_PLUGIN_PATH= "$P/bin/regula" plugins)
echo "$out" | grep -q "^l2  regularizer" || fail "installed regula does not list l2: $out"
echo "$out" | grep -q "$LIB/regula/plugins/l2.so" || fail "l2 not found in the installed plugin dir: $out"

step "training with the template plugins (CMake-built and pkg-config-built)"
for v in "$TMP/tb/" "$TMP/pc-"; do
    out=$(REGULA_PLUGIN_PATH= "$P/bin/regula" train --model mlp:32 --train-limit 600 --epochs 1 \
        --threads 2 --quiet --reg l2 --reg "${v}myreg.so:lambda=1e-3" \
        --aug "${v}myaug.so:sigma=0.1" --summary "$TMP/s.json")
    echo "$out" | grep -q "reg myreg 0.1.0" || fail "myreg not loaded: $out"
    echo "$out" | grep -q "aug myaug 0.1.0" || fail "myaug not loaded: $out"
    echo "$out" | grep -q "^test accuracy" || fail "no test accuracy: $out"
    grep -q '"name": "myaug"' "$TMP/s.json" || fail "summary lacks myaug"
done
EX=$P/share/regula/examples
# In the sanitizer build libregula needs the ASan runtime first: programs linking it are
# built with the same flags, and a Python process (which cannot load it) is not run.
SANFLAGS=
ldd "$LIB/libregula.so.0" | grep -q libasan && SANFLAGS="-fsanitize=address,undefined"
[ -f "$EX/embed.c" ] || fail "the examples are not installed in $EX"

step "sdk/examples/embed.c with find_package(Regula)"
cmake -S "$EX" -B "$TMP/eb" -DCMAKE_PREFIX_PATH="$P" -DCMAKE_C_FLAGS="-Wall -Wextra -Werror $SANFLAGS" \
    >/dev/null
cmake --build "$TMP/eb" >/dev/null
out=$(REGULA_PLUGIN_PATH= LD_LIBRARY_PATH="$LIB" "$TMP/eb/embed" "$TMP/embed1.ckpt") ||
    fail "embed (CMake) failed: $out"
echo "$out" | grep -q "^epoch 5 " || fail "embed printed no epoch 5: $out"
echo "$out" | grep -q "^test accuracy" || fail "embed printed no test accuracy: $out"
[ -f "$TMP/embed1.ckpt" ] || fail "embed saved no checkpoint"
"$P/bin/regula" export "$TMP/embed1.ckpt" --npz "$TMP/embed.npz" >/dev/null ||
    fail "regula export cannot read embed's checkpoint"

step "sdk/examples/embed.c with cc + pkg-config"
PCDIR=$(dirname "$(find "$P" -name regula.pc | head -1)")
cc -std=c11 -O2 -Wall -Wextra -Werror $SANFLAGS "$EX/embed.c" \
    $(PKG_CONFIG_PATH="$PCDIR" pkg-config --cflags --libs regula) -lm -o "$TMP/embed-pc"
out=$(LD_LIBRARY_PATH="$LIB" "$TMP/embed-pc" "$TMP/embed2.ckpt") ||
    fail "embed (pkg-config) failed: $out"
echo "$out" | grep -q "^test accuracy" || fail "embed (pkg-config) printed no test accuracy"

if [ -n "$SANFLAGS" ]; then
    echo "install test: all steps passed (the Python example runs in the normal build only)"
    exit 0
fi
step "the installed Python package, on NumPy arrays"
PYDIR=$P/lib/python3/dist-packages
[ -f "$PYDIR/regula/__init__.py" ] || fail "the Python package is not installed in $PYDIR"
out=$(cd "$TMP" && env -u REGULA_LIBRARY REGULA_PLUGIN_PATH= PYTHONPATH="$PYDIR" \
      /usr/bin/python3 "$EX/train_numpy.py") || fail "train_numpy.py failed: $out"
echo "$out" | grep -qE "^ +5 " || fail "train_numpy.py printed no curve: $out"
echo "$out" | grep -q "^test accuracy" || fail "train_numpy.py printed no accuracy: $out"
echo "install test: all steps passed"
