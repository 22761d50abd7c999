#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Issue 13's exporter target, with real jobs: N jobs (`sleep` under
# `gridrun run`, each in its own namespaces and cgroups below ours) run while
# one or more exporters (e.g. an older build, then this one) are measured
# interleaved, so that the machine's load falls on each alike:
#
#   bench/exporter-load.sh GRIDRUN N ROUNDS EXPORTER [EXPORTER...]
#
# Per exporter: HTTP scrape latency (curl's time_total of GET /metrics,
# 250 ms apart so that every scrape is built afresh) median, p90 and p99 over
# ROUNDS scrapes; its on-CPU time per scrape (/proc/PID/task/*/schedstat);
# and the wall time of `--textfile` one-shots, start to exit (TEXTFILE_RUNS,
# 5), median and max. The load average is printed before and after. Target
# (issue 13): at 1000 jobs a scrape at most 25 ms median and 50 ms p99, a
# one-shot at most 100 ms. Run as root; every job started here is ended
# (TERM to its supervisor, which forwards it) and the scratch dir removed.
set -euo pipefail

[ $# -ge 4 ] || { echo "usage: $0 GRIDRUN N ROUNDS EXPORTER [EXPORTER...]" >&2; exit 2; }
GRIDRUN=$1 N=$2 ROUNDS=$3
shift 3
EXPORTERS=("$@")

S=$(mktemp -d /dev/shm/gridrun-exload.XXXXXX)
chmod 755 "$S"
export GRIDRUN_STATE_DIR=$S/state
mkdir -m 755 "$S/state"
SUPERVISORS=()
EPIDS=()
cleanup() {
	for p in "${EPIDS[@]}"; do kill "$p" 2>/dev/null || true; done
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

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
t0=$(date +%s)
while [ ${#SUPERVISORS[@]} -lt "$N" ]; do
	"$GRIDRUN" run "$S/spec.json" </dev/null >/dev/null 2>>"$S/jobs.err" &
	SUPERVISORS+=($!)
	# at most 25 starts in flight
	[ $((${#SUPERVISORS[@]} % 25)) -eq 0 ] && while [ "$(running)" -lt $((${#SUPERVISORS[@]} - 25)) ]; do sleep 0.2; done
done
for _ in $(seq 1200); do
	[ "$(running)" -ge "$N" ] && break
	sleep 0.5
done
[ "$(running)" -ge "$N" ] || { echo "only $(running) of $N jobs started" >&2; tail -5 "$S/jobs.err" >&2; exit 1; }
echo "$N jobs running after $(( $(date +%s) - t0 )) s"

cpu_ns() {
	local sum=0 t ns
	for t in /proc/$1/task/*/schedstat; do
		read -r ns _ <"$t" && sum=$((sum + ns))
	done
	echo "$sum"
}

ulimit -n "$(ulimit -Hn)"
URLS=()
for k in "${!EXPORTERS[@]}"; do
	"${EXPORTERS[$k]}" --listen 127.0.0.1:0 --state-dir "$S/state" 2>"$S/err.$k" &
	EPIDS+=($!)
	for _ in $(seq 100); do
		grep -q serving "$S/err.$k" && break
		sleep 0.05
	done
	URLS+=("$(grep -o 'http://[^ ]*/metrics' "$S/err.$k")")
	got=0
	for _ in $(seq 100); do
		got=$(curl -s "${URLS[$k]}" | grep -c '^gridrun_job_pids{' || true)
		[ "$got" -ge "$N" ] && break
		sleep 0.3
	done
	[ "$got" -ge "$N" ] || { echo "${EXPORTERS[$k]} lists $got of $N jobs" >&2; exit 1; }
	: >"$S/t.$k"
	: >"$S/c.$k"
	: >"$S/o.$k"
done
for _ in $(seq "$ROUNDS"); do
	for k in "${!URLS[@]}"; do
		sleep 0.25
		c0=$(cpu_ns "${EPIDS[$k]}")
		curl -s -o "$S/scrape.$k" -w '%{time_total}\n' "${URLS[$k]}" >>"$S/t.$k"
		echo $(( $(cpu_ns "${EPIDS[$k]}") - c0 )) >>"$S/c.$k"
	done
done
for _ in $(seq "${TEXTFILE_RUNS:-5}"); do
	for k in "${!EXPORTERS[@]}"; do
		t1=$(date +%s%N)
		"${EXPORTERS[$k]}" --textfile "$S/one.$k.prom" --state-dir "$S/state" 2>/dev/null
		echo $(( $(date +%s%N) - t1 )) >>"$S/o.$k"
	done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| exporter | jobs | scrape median ms | p90 ms | p99 ms | CPU ms per scrape (median) | textfile one-shot median ms | max ms |"
echo "|--|--:|--:|--:|--:|--:|--:|--:|"
pct='function p(q) { i = int(NR * q + 0.999); if (i < 1) i = 1; return t[i] }'
for k in "${!EXPORTERS[@]}"; do
	lat=$(sort -g "$S/t.$k" | awk "$pct"' { t[NR] = $1 * 1000 } END { printf "%.2f | %.2f | %.2f", p(0.5), p(0.9), p(0.99) }')
	cpu=$(sort -g "$S/c.$k" | awk "$pct"' { t[NR] = $1 / 1e6 } END { printf "%.2f", p(0.5) }')
	one=$(sort -g "$S/o.$k" | awk "$pct"' { t[NR] = $1 / 1e6 } END { printf "%.1f | %.1f", p(0.5), t[NR] }')
	echo "| ${EXPORTERS[$k]} | $N | $lat | $cpu | $one |"
done
