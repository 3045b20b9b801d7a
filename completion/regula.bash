# bash completion for regula: commands, each command's flags (read from its --help), plugin
# names after --reg/--aug and their parameters after NAME:, the values of choice flags.
# Installed as share/bash-completion/completions/regula; by hand: source this file.

_regula_words() { # the words `regula __complete ARGS` prints, as an array
    local IFS=$'\n'
    # shellcheck disable=SC2207
    _regula_out=($("${_regula_bin}" __complete "$@" 2>/dev/null))
}

_regula_flags() { # the flags of `regula CMD [SUB] --help`
    "${_regula_bin}" "$@" --help 2>/dev/null | grep -oE -- '(^|[ [])--[a-z][a-z0-9-]*' |
        sed 's/^[ [ ]*//' | sort -u
}

_regula() {
    # words split at blanks only: bash also breaks words at ':' and '=' (COMP_WORDBREAKS),
    # which would cut "--reg l2:lambda=" apart; COMPREPLY is then given relative to the
    # part after the last ':' or '=', as bash will insert it
    local line=${COMP_LINE:0:COMP_POINT} words
    read -ra words <<<"$line"
    [[ $line == *[[:space:]] ]] && words+=("")
    local n=${#words[@]}
    local cur=${words[n - 1]} prev=${words[n - 2]:-}
    local _regula_bin=${words[0]} cmd="" i train_args=0
    local commands="train plugins plugin eval predict export sweep plot augment dataset info help"
    COMPREPLY=()
    for ((i = 1; i < n - 1; i++)); do
        case ${words[i]} in
            --) train_args=1 ;;
            -*) ;;
            *) [[ -z $cmd ]] && cmd=${words[i]} ;;
        esac
    done
    _regula_reply "$cur" "$prev" "$cmd" "$train_args" "$commands"
    local pre=${cur%"${cur##*[:=]}"}
    [[ -n $pre ]] && COMPREPLY=("${COMPREPLY[@]#"$pre"}")
    return 0
}

_regula_reply() {
    local cur=$1 prev=$2 cmd=$3 train_args=$4 commands=$5
    if [[ -z $cmd ]]; then
        # shellcheck disable=SC2207
        COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
        return
    fi
    if [[ $cmd == help ]]; then
        # shellcheck disable=SC2207
        COMPREPLY=($(compgen -W "${commands% help}" -- "$cur"))
        return
    fi
    # a sweep's arguments after -- are train's
    local flags_of=("$cmd")
    if [[ $cmd == sweep && $train_args == 1 ]] || [[ $cmd == info ]]; then
        flags_of=(train)
    elif [[ $cmd == plugin ]]; then
        flags_of=(plugin check)
    fi
    case $prev in
        --reg | --aug | --aug-oneof)
            local role=reg
            [[ $prev == --reg ]] || role=aug
            if [[ $cur == *:* ]]; then # NAME:key=value,key...: the parameter being written
                local name=${cur%%:*} head=${cur%,*}
                [[ $head == "$cur" ]] && head=${cur%%:*}
                local sep=","
                [[ $head == "$name" ]] && sep=":"
                _regula_words params $role "$name"
                local p
                for p in "${_regula_out[@]}"; do
                    [[ $head$sep$p == "$cur"* ]] && COMPREPLY+=("$head$sep$p")
                done
                compopt -o nospace 2>/dev/null
            else
                _regula_words plugins $role
                # shellcheck disable=SC2207
                COMPREPLY=($(compgen -W "${_regula_out[*]}" -- "$cur"))
            fi
            return
            ;;
        --data)
            # shellcheck disable=SC2207
            COMPREPLY=($(compgen -W "fashion-mnist idx: png: csv:" -- "$cur"))
            return
            ;;
        --optimizer | --lr-schedule | --early-stop)
            local field=${prev#--}
            _regula_words choices "${field//-/_}"
            # shellcheck disable=SC2207
            COMPREPLY=($(compgen -W "${_regula_out[*]}" -- "$cur"))
            return
            ;;
    esac
    if [[ $cur == -* ]]; then
        # shellcheck disable=SC2207
        COMPREPLY=($(compgen -W "$(_regula_flags "${flags_of[@]}") --help --version" -- "$cur"))
        return
    fi
    # anything else is a file (checkpoints, metrics, images, plugin .so files)
    compopt -o default 2>/dev/null
}

complete -F _regula regula
