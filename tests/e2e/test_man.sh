#!/usr/bin/env bash
# The man pages help2man generated from each command's --help (build/man): one per
# command, each with the command's own flags and the shared EXIT STATUS section, and
# rendering without warnings where groff is installed.
# usage: test_man.sh BUILD_DIR
set -u
man_dir=$1/man
fail=0
check() { # PAGE WORD...: the page exists and holds every WORD
    local page=$man_dir/$1.1 w
    shift
    if [[ ! -s $page ]]; then
        echo "FAIL: $page missing (is help2man installed? ./run.sh installs it)"
        fail=1
        return
    fi
    grep -q '^\.SH "EXIT STATUS"' "$page" || { echo "FAIL: $page: no EXIT STATUS"; fail=1; }
    for w in "$@"; do
        grep -qF -- "$w" "$page" || { echo "FAIL: $page lacks '$w'"; fail=1; }
    done
    if command -v groff >/dev/null; then
        local warn
        warn=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
        [[ -z $warn ]] || { echo "FAIL: $page: groff: $warn"; fail=1; }
    fi
}
check regula 'help CMD' 'REGULA_PLUGIN_PATH'
check regula-train '\-\-save\-best' '\-\-log\-every' '\-\-resume' '.TH REGULA-TRAIN'
check regula-info '\-\-json' 'regula-info \-'
check regula-sweep '\-\-ranks\-per\-trial' '\-\-halving'
check regula-plugins '\-\-json'
check regula-plugin-check '\-\-timeout'
for p in eval predict export plot augment dataset; do
    check "regula-$p"
done
exit $fail
