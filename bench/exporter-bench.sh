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
# curl's time_total; CPU is the exporter's on-CPU time (its own cgroup's,
# so threads that ended count too; bench/lib.sh) across the scrapes,
# divided by their number; RSS is VmRSS after the scrapes and VmHWM, its peak so far.
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

. "$(dirname "$0")/lib.sh"
bench_scratch gridrun-exbench
start_exporter 0 "$EXPORTER" --max-connections 64
EXPID=${EPIDS[0]}
URL=${URLS[0]}

echo "| running jobs | scrape median ms | scrape p90 ms | max ms | CPU ms per scrape | exposition KiB | RSS KiB | peak RSS KiB |"
echo "|--:|--:|--:|--:|--:|--:|--:|--:|"
for n in "${COUNTS[@]}"; do
	start_jobs "$n" 0.1 600
	# the exporter must list them all before we measure
	got=$(listed "$URL" "$n")
	[ "$got" -ge "$n" ] || { echo "the exporter lists $got of $n jobs" >&2; exit 1; }
	sleep 0.3
	c0=$(exporter_cpu_ns 0)
	times=()
	for _ in $(seq "$SCRAPES"); do
		sleep 0.25
		times+=("$(curl -s -o "$S/scrape.txt" -w '%{time_total}' "$URL")")
	done
	c1=$(exporter_cpu_ns 0)
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
