#!/bin/sh
# The command line itself: usage, exit codes of the non-run commands, check.
G=${GRIDRUN:-build/gridrun}
export GRIDRUN_STATE_DIR=$(mktemp -d /tmp/gridrun-cli.XXXXXX)
trap 'rm -rf "$GRIDRUN_STATE_DIR"' EXIT
echo "1..11"
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
