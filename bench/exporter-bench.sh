#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# gridrun-exporter under load: scrape latency, CPU per scrape and resident
# memory with 1, 100 and 1000 running jobs (each a `sleep` under gridrun, in
# its own namespaces and cgroups), as BENCHMARKS.md reports them.
#
#   bench/exporter-bench.sh GRIDRUN EXPORTER [COUNTS...]     (default 1 100 1000)
#
# Env: SCRAPES per count (20). A scrape is `curl` of /metrics, 250 ms apart
# (the exporter serves a scrape younger than 200 ms again instead of
# rebuilding it; every measured scrape here is built afresh). Latency is
# curl's time_total; CPU is the exporter's on-CPU time over its threads
# (/proc/PID/task/*/schedstat, ns) across the scrapes, divided by their
# number; RSS is VmRSS after the scrapes and VmHWM, its peak so far.
# Jobs and state live in a scratch dir (state on tmpfs, as /run is); every
# job is ended (TERM to its supervisor, which forwards it) and the dirs
# removed at exit. Run as root: 1000 jobs need 1000 cgroups per hierarchy.
set -euo pipefail

[ $# -ge 2 ] || { echo "usage: $0 GRIDRUN EXPORTER [COUNTS...]" >&2; exit 2; }
GRIDRUN=$1
EXPORTER=$2
shift 2
COUNTS=("$@")
[ ${#COUNTS[@]} -gt 0 ] || COUNTS=(1 100 1000)
SCRAPES=${SCRAPES:-20}

S=$(mktemp -d /dev/shm/gridrun-exbench.XXXXXX)
export GRIDRUN_STATE_DIR=$S/state
mkdir -p "$S/state"
SUPERVISORS=()
EXPID=
cleanup() {
	[ -n "$EXPID" ] && kill "$EXPID" 2>/dev/null || true
	for p in "${SUPERVISORS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$S"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

cat >"$S/spec.json" <<EOF
{"process": {"args": ["/bin/sleep", "3600"], "env": ["PATH=/usr/bin:/bin"]},
 "gridrun": {"account": "atlas001"}}
EOF

running() { # jobs whose state names a pid
	grep -l '"pid": *[1-9]' "$S"/state/*/state.json 2>/dev/null | wc -l
}

"$EXPORTER" --listen 127.0.0.1:0 --state-dir "$S/state" --max-connections 64 2>"$S/exporter.err" &
EXPID=$!
for _ in $(seq 100); do
	grep -q serving "$S/exporter.err" && break
	sleep 0.05
done
URL=$(grep -o 'http://[^ ]*/metrics' "$S/exporter.err")

cpu_ns() {
	local sum=0 t
	for t in /proc/$EXPID/task/*/schedstat; do
		read -r ns _ <"$t" && sum=$((sum + ns))
	done
	echo "$sum"
}

echo "| running jobs | scrape median ms | scrape p90 ms | max ms | CPU ms per scrape | exposition KiB | RSS KiB | peak RSS KiB |"
echo "|--:|--:|--:|--:|--:|--:|--:|--:|"
for n in "${COUNTS[@]}"; do
	while [ ${#SUPERVISORS[@]} -lt "$n" ]; do
		"$GRIDRUN" run "$S/spec.json" </dev/null >/dev/null 2>>"$S/jobs.err" &
		SUPERVISORS+=($!)
		# at most 25 starts in flight
		[ $((${#SUPERVISORS[@]} % 25)) -eq 0 ] && while [ "$(running)" -lt $((${#SUPERVISORS[@]} - 25)) ]; do sleep 0.1; done
	done
	for _ in $(seq 600); do
		[ "$(running)" -ge "$n" ] && break
		sleep 0.1
	done
	[ "$(running)" -ge "$n" ] || { echo "only $(running) of $n jobs started" >&2; cat "$S/jobs.err" >&2; exit 1; }
	# the exporter must list them all before we measure
	for _ in $(seq 100); do
		got=$(curl -s "$URL" | grep -c '^gridrun_job_pids{' || true)
		[ "$got" -ge "$n" ] && break
		sleep 0.3
	done
	[ "$got" -ge "$n" ] || { echo "the exporter lists $got of $n jobs" >&2; exit 1; }
	sleep 0.3
	c0=$(cpu_ns)
	times=()
	for _ in $(seq "$SCRAPES"); do
		sleep 0.25
		times+=("$(curl -s -o "$S/scrape.txt" -w '%{time_total}' "$URL")")
	done
	c1=$(cpu_ns)
	kib=$(( $(stat -c %s "$S/scrape.txt") / 1024 ))
	rss=$(awk '/^VmRSS/ {print $2}' /proc/$EXPID/status)
	hwm=$(awk '/^VmHWM/ {print $2}' /proc/$EXPID/status)
	printf '%s\n' "${times[@]}" | sort -g | awk -v n="$n" -v cpu="$(( (c1 - c0) / SCRAPES ))" \
		-v kib="$kib" -v rss="$rss" -v hwm="$hwm" '
		{ t[NR] = $1 * 1000 }
		END {
			printf "| %d | %.2f | %.2f | %.2f | %.2f | %d | %d | %d |\n", n, t[int((NR + 1) / 2)],
			       t[int(NR * 0.9 + 0.5)], t[NR], cpu / 1e6, kib, rss, hwm
		}'
done
