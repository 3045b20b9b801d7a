#!/usr/bin/env bash
# Bash completion as bash runs it: completion/regula.bash sourced, `complete -p regula`
# names its function, and the function called as bash calls it (COMP_LINE and COMP_POINT
# for the line typed so far, COMP_WORDS split at bash's word breaks, ':' and '=' included)
# offers the expected words.
# usage: test_completion.sh BUILD_BIN_DIR SOURCE_DIR
set -u
bin=$1 src=$2
export PATH="$bin:$PATH" REGULA_PLUGIN_PATH=
# shellcheck source=/dev/null
source "$src/completion/regula.bash"
fail=0

spec=$(complete -p regula)
[[ $spec == "complete -F _regula regula" ]] || { echo "FAIL: complete -p regula: $spec"; fail=1; }

# expect LINE WORD...: completing LINE (the cursor at its end) offers every WORD
expect() {
    local line=$1
    shift
    COMP_LINE=$line COMP_POINT=${#line}
    local IFS=$' \t\n:='
    # shellcheck disable=SC2206
    COMP_WORDS=($line)
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    unset IFS
    COMPREPLY=()
    _regula
    local w got=" ${COMPREPLY[*]} "
    for w in "$@"; do
        if [[ $w == !* ]]; then
            [[ $got != *" ${w#!} "* ]] || { echo "FAIL: '$line' offers ${w#!}:$got"; fail=1; }
        else
            [[ $got == *" $w "* ]] || { echo "FAIL: '$line' lacks $w:$got"; fail=1; }
        fi
    done
}

expect "regula tr" train
expect "regula " train sweep info plugins --version
expect "regula help sw" sweep
expect "regula train --opt" --optimizer
expect "regula train --save-" --save-best
expect "regula train --optimizer " sgd adam
expect "regula train --lr-schedule c" cosine constant
expect "regula train --reg " l2 dropout dropblock '!hflip'
expect "regula train --aug " hflip rotate '!l2'
expect "regula train --reg dro" dropout dropblock
# after ':' bash replaces only what follows it: the parameter names, then after ',' again
expect "regula train --reg l2:" lambda= convention= layers= tensors=
# (after "rate=0.3," bash replaces "0.3,": the offers carry it)
expect "regula train --reg dropout:rate=0.3," 0.3,rate= 0.3,after=
expect "regula train --reg rotate:" '!degrees='
expect "regula train --aug rotate:" degrees=
expect "regula sweep --dir d --sweep l2.lambda=1e-4 -- --ep" --epochs
expect "regula plugin check --ti" --timeout
expect "regula plot --ti" --title
expect "regula info --mo" --model
expect "regula eval --" --data
exit $fail
