#!/bin/bash
# completion.t - contrib/gridrun.bash-completion, sourced in bash and driven
# through COMP_WORDS/COMP_CWORD as readline would: every subcommand of
# `gridrun help` and every option of `gridrun help COMMAND` completes, and
# spec files (*.json) complete where a spec goes, directories after the OCI
# form's --bundle, and signals where kill takes one (after --all too).
set -u
G=${GRIDRUN:?GRIDRUN: the gridrun binary}
SRC=${GRIDRUN_SRC:?GRIDRUN_SRC: the source tree}
D=$(mktemp -d /tmp/gridrun-test.XXXXXX)
trap 'rm -rf "$D"' EXIT
complete() { :; } # the file's own `complete` line needs no interactive shell here
. "$SRC/contrib/gridrun.bash-completion"
n=0
t() { n=$((n + 1)); if [ "$1" = "$2" ]; then echo "ok $n - $3"; else echo "not ok $n - $3 (got '$1', want '$2')"; fi; }
comp() { # WORD... (the last one is being completed): the sorted replies, one line
	COMP_WORDS=(gridrun "$@"); COMP_CWORD=$#; COMPREPLY=()
	_gridrun
	printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}
cd "$D" && mkdir sub && touch job.json other.txt sub/inner.json
has() { case " $1 " in *" $2 "*) echo yes;; *) echo no;; esac; }
cmds=$("$G" help | sed -n 's/^  gridrun \([a-z]*\).*/\1/p')
echo "1..$(( $(echo $cmds | wc -w) * 2 + 13 + $(for c in $cmds; do "$G" help $c | grep -o -- '--[a-z-]*' | sort -u; done | wc -l) ))"
for c in $cmds; do
	t "$(has "$(comp "")" "$c")" yes "gridrun <TAB> offers $c"
	t "$(has "$(comp "${c:0:1}")" "$c")" yes "gridrun ${c:0:1}<TAB> offers $c"
	for o in $("$G" help $c | grep -o -- '--[a-z-]*' | sort -u); do
		t "$(has "$(comp "$c" "--")" "$o")" yes "gridrun $c --<TAB> offers $o"
	done
done
t "$(comp r)" "resume run" "gridrun r<TAB>: resume run"
t "$(comp run "")" "job.json sub/" "gridrun run <TAB>: spec files and directories"
t "$(comp run "sub/")" "sub/inner.json" "gridrun run sub/<TAB>: spec files in it"
t "$(comp j)" "job.json" "gridrun j<TAB>: a spec file (gridrun SPEC.json)"
t "$(comp ps --format "")" "json table" "gridrun ps --format <TAB>"
t "$(comp seccomp dump "")" "grid-default job.json strict sub/" "gridrun seccomp dump <TAB>: built-in profiles and files"
t "$(comp run --bundle "")" "sub/" "gridrun run --bundle <TAB>: directories only"
t "$(comp run -b "")" "sub/" "gridrun run -b <TAB>: directories only"
t "$(comp create -b "")" "sub/" "gridrun create -b <TAB>: directories only"
t "$(comp create "")" "" "gridrun create <TAB>: an ID, no spec file"
t "$(comp kill job-1 K)" "KILL" "gridrun kill ID K<TAB>: a signal"
t "$(comp kill --all job-1 K)" "KILL" "gridrun kill --all ID K<TAB>: a signal after the option"
t "$(comp kill --all "")" "" "gridrun kill --all <TAB>: an ID, no signal yet"
