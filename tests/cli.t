#!/bin/sh
# The command line itself: usage, exit codes of the non-run commands, check.
G=${GRIDRUN:-build/gridrun}
B=$(dirname "$G")
export GRIDRUN_STATE_DIR=$(mktemp -d /tmp/gridrun-cli.XXXXXX)
trap 'rm -rf "$GRIDRUN_STATE_DIR"' EXIT
echo "1..42"
n=0
t() { n=$((n + 1)); if [ "$1" = "$2" ]; then echo "ok $n - $3"; else echo "not ok $n - $3 (got '$1', want '$2')"; fi; }
"$G" >/dev/null 2>&1; t $? 125 "no arguments: exit 125"
out=$("$G" --help); t $? 0 "--help: exit 0"
case $out in usage:*) t yes yes "--help prints usage";; *) t no yes "--help prints usage";; esac
"$G" run >/dev/null 2>&1; t $? 125 "run without a spec: exit 125"
"$G" run /no/such/spec.json 2>/dev/null; t $? 125 "missing spec file: exit 125"
last=$("$G" check | tail -n 1); t "$last" "isolation: $( [ "$(id -u)" = 0 ] && echo root || echo unprivileged)" "check ends with the isolation mode"
t "$("$G" ps)" "JOB                           PID  STATE   SPEC" "ps on an empty state directory"
t "$("$G" gc)" "gridrun gc: removed 0 stale state entries" "gc on a clean state directory"
# --spec-name: what messages about the spec call it (gridrun-condor's /dev/fd/N)
bad='{"process": {"args": []}}'
err=$(echo "$bad" | "$G" run --spec-name '<spec of job 7>' /dev/stdin 2>&1); rc=$?
t "$rc $err" "125 <spec of job 7>:1:22: process.args: expected a non-empty array of strings" "run --spec-name NAME names the spec NAME"
err=$(echo "$bad" | "$G" run /dev/stdin --spec-name=job7.json 2>&1 | cut -d: -f1); t "$err" "job7.json" "run --spec-name=NAME, after the spec"
"$G" run --spec-name= /dev/null >/dev/null 2>&1; t $? 125 "an empty --spec-name: usage, exit 125"
# --sandbox-fd N: an open fd of 3 or more (gridrun_spank's checked sandbox), else one line, exit 125
for v in 2 x 7; do
	err=$("$G" run --sandbox-fd $v /dev/null 2>&1); rc=$?
	t "$rc $err" "125 gridrun: --sandbox-fd: expected an open file descriptor, 3 or more" "run --sandbox-fd $v is refused in one line"
done
# help: stdout, exit 0, for the overview and each command, both ways
out=$("$G" help 2>/dev/null); rc=$?
t "$rc $(echo "$out" | head -n 1)" "0 usage: gridrun COMMAND [ARGS...] | gridrun SPEC.json | --version | --help" "help: the overview on stdout, exit 0"
for c in run check ps gc suspend resume kill state delete seccomp help; do
	case $("$G" help $c 2>&1) in "usage: gridrun $c"*) ok=yes;; *) ok=no;; esac
	case $("$G" $c --help 2>&1) in "usage: gridrun $c"*) ok=$ok-yes;; *) ok=$ok-no;; esac
	t "$ok" "yes-yes" "help $c and $c --help: its usage"
done
"$G" run --help >/dev/null 2>&1; t $? 0 "run --help: exit 0"
# an unknown command or option: one line naming it, exit 125
one() { err=$("$G" "$@" 2>&1 >/dev/null); rc=$?; echo "$rc $(echo "$err" | wc -l) $err"; }
t "$(one nope)" "125 1 gridrun: unknown command \`nope\` (see gridrun help)" "an unknown command is named"
t "$(one help nope)" "125 1 gridrun: help: unknown command \`nope\` (see gridrun help)" "help of an unknown command"
t "$(one --nope)" "125 1 gridrun: unknown option \`--nope\` (see gridrun help)" "an unknown option is named"
t "$(one ps --nope)" "125 1 gridrun: ps: unknown option \`--nope\` (see gridrun help ps)" "an unknown option of ps"
t "$(one run --nope x.json)" "125 1 gridrun: run: unknown option \`--nope\` (see gridrun help run)" "an unknown option of run"
t "$(one state)" "125 1 gridrun: usage: gridrun state ID (see gridrun help)" "state without an id: usage, exit 125"
t "$(one delete --nope x)" "125 1 gridrun: delete: unknown option \`--nope\` (see gridrun help delete)" "an unknown option of delete"
t "$(one check -x)" "125 1 gridrun: check: unknown option \`-x\` (see gridrun help check)" "an unknown option of check"
t "$(one x.json --config c)" "125 1 gridrun: \`x.json\`: more arguments belong to \`gridrun run [OPTIONS] SPEC.json\` (see gridrun help run)" "options after a bare SPEC.json"
t "$(one nope.json)" "125 1 open spec \`nope.json\`: No such file or directory" "a missing SPEC.json is still a spec"
# ps --format json: a running entry (this shell holds it) and a stale one
mkdir "$GRIDRUN_STATE_DIR/j1" "$GRIDRUN_STATE_DIR/j2"
start=$(sed 's/.*) //' /proc/$$/stat | cut -d' ' -f20)
printf '{"supervisor_pid": %d, "supervisor_start": %s, "pid": 4242, "spec": "/a/spec.json"}' $$ "$start" \
	>"$GRIDRUN_STATE_DIR/j1/state.json"
printf '{"supervisor_pid": 2147483000, "supervisor_start": 1, "pid": 7}' >"$GRIDRUN_STATE_DIR/j2/state.json"
out=$("$G" ps --format json); rc=$?
t "$rc $(echo "$out" | jq -c 'sort_by(.job_id)')" \
	'0 [{"job_id":"j1","pid":4242,"state":"running","spec":"/a/spec.json"},{"job_id":"j2","pid":7,"state":"stale","spec":null}]' \
	"ps --format json: one array, a running and a stale job"
t "$("$G" ps --format=json --format table | head -n 1)" "JOB                           PID  STATE   SPEC" "ps --format table is the table"
# the wrapper and the helper answer --help and --version
for b in gridrun-condor gridrun-helper; do
	out=$("$B/$b" --help 2>&1); rc=$?
	case $out in "usage: $b "*) ok=yes;; *) ok="no: $out";; esac
	t "$rc $ok" "0 yes" "$b --help: usage on stdout, exit 0 (as $(id -un))"
done
t "$("$B/gridrun-condor" --version)" "gridrun-condor $("$G" --version | cut -d' ' -f2)" "gridrun-condor --version"
