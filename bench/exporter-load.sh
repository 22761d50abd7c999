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
# ROUNDS scrapes; its on-CPU time per scrape (its own cgroup's, so that the
# reader threads a scrape starts and ends count too; bench/lib.sh);
# and the wall time of `--textfile` one-shots, start to exit (TEXTFILE_RUNS,
# 5), min, median and max. The load average is printed before and after. Target
# (issue 13): at 1000 jobs a scrape at most 25 ms median and 50 ms p99, a
# one-shot at most 100 ms. EXPORTER_RT=1 runs the exporters, curl and the
# one-shots (not the jobs) at chrt -f 50 (bench/lib.sh). Run as root; every job started here is ended
# (TERM to its supervisor, which forwards it) and the scratch dir removed.
set -euo pipefail

[ $# -ge 4 ] || { echo "usage: $0 GRIDRUN N ROUNDS EXPORTER [EXPORTER...]" >&2; exit 2; }
GRIDRUN=$1 N=$2 ROUNDS=$3
shift 3
EXPORTERS=("$@")

. "$(dirname "$0")/lib.sh"
bench_scratch gridrun-exload

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
t0=$(date +%s)
start_jobs "$N" 0.2 3000
echo "$N jobs running after $(( $(date +%s) - t0 )) s"

ulimit -n "$(ulimit -Hn)"
for k in "${!EXPORTERS[@]}"; do
	start_exporter "$k" "${EXPORTERS[$k]}"
	got=$(listed "${URLS[$k]}" "$N")
	[ "$got" -ge "$N" ] || { echo "${EXPORTERS[$k]} lists $got of $N jobs" >&2; exit 1; }
done
scrape_rounds "$ROUNDS"
textfile_runs "${TEXTFILE_RUNS:-5}" "${EXPORTERS[@]}"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| exporter | jobs | scrape median ms | p90 ms | p99 ms | CPU ms per scrape (median) | textfile one-shot min ms | median ms | max ms |"
echo "|--|--:|--:|--:|--:|--:|--:|--:|--:|"
pct='function p(q) { i = int(NR * q + 0.999); if (i < 1) i = 1; return t[i] }'
for k in "${!EXPORTERS[@]}"; do
	lat=$(sort -g "$S/wall.$k" | awk "$pct"' { t[NR] = $1 * 1000 } END { printf "%.2f | %.2f | %.2f", p(0.5), p(0.9), p(0.99) }')
	cpu=$(sort -g "$S/c.$k" | awk "$pct"' { t[NR] = $1 / 1e6 } END { printf "%.2f", p(0.5) }')
	one=$(sort -g "$S/o.$k" | awk "$pct"' { t[NR] = $1 / 1e6 } END { printf "%.1f | %.1f | %.1f", t[1], p(0.5), t[NR] }')
	echo "| ${EXPORTERS[$k]} | $N | $lat | $cpu | $one |"
done
