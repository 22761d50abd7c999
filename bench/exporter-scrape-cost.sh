#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# What one scrape of N jobs costs gridrun-exporter itself, without starting
# N jobs: N state entries whose supervisor is one live `sleep` and whose
# cgroups are real, empty job directories (gridrun-<id>, every v1 hierarchy
# the exporter reads, or one v2 directory), as `gridrun run` would leave them.
# The reads, parsing and formatting are the same as with live jobs; what a
# loaded machine adds to latency is not (exporter-bench.sh measures that).
# Several exporters (e.g. an older build) are measured interleaved, so that
# the machine's load falls on each alike.
#
#   bench/exporter-scrape-cost.sh N ROUNDS EXPORTER [EXPORTER...]
#
# Per exporter, over ROUNDS scrapes 250 ms apart (a scrape younger than
# 200 ms is served again): the median and p90 of its on-CPU time per scrape
# (its own cgroup's CPU before and after each, bench/lib.sh: the reader
# threads a scrape starts and ends count too), which a loaded machine
# barely changes, and of gridrun_exporter_scrape_duration_seconds, its own
# wall time to build a scrape, which waits for the CPU as well; and the
# exposition's size; and the wall time of a `--textfile` one-shot (TEXTFILE_RUNS, 5). The exporters get the hard fd limit (as a service unit
# would give more), so that every job's files stay open (11 a job). Run as root; everything made is
# removed at exit.
set -euo pipefail

[ $# -ge 3 ] || { echo "usage: $0 N ROUNDS EXPORTER [EXPORTER...]" >&2; exit 2; }
N=$1 ROUNDS=$2
shift 2
EXPORTERS=("$@")

. "$(dirname "$0")/lib.sh"
bench_scratch gridrun-scrapecost

sleep 36000 &
SUP=$!
PIDS+=("$SUP")
start=$(awk '{ sub(/.*\) /, ""); print $20 }' "/proc/$SUP/stat")

# where gridrun would put job directories: below our own cgroup
if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
	ver=2
	bases=("/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)")
else
	ver=1
	bases=()
	for c in cpu cpuacct memory pids freezer blkio; do
		own=$(awk -F: -v c="$c" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' /proc/self/cgroup)
		[ -d "/sys/fs/cgroup/$c" ] && bases+=("/sys/fs/cgroup/$c${own%/}")
	done
fi
# one mkdir for all: a fork per directory takes minutes on a loaded node
for i in $(seq "$N"); do
	for b in "${bases[@]}"; do DIRS+=("$b/gridrun-cost-$i-$$"); done
	DIRS+=("$S/state/cost-$i-$$")
done
printf '%s\0' "${DIRS[@]}" | xargs -0 mkdir
for i in $(seq "$N"); do
	id=cost-$i-$$
	list=
	for b in "${bases[@]}"; do list="$list${list:+, }\"$b/gridrun-$id\""; done
	printf '{"job_id": "%s", "supervisor_pid": %d, "supervisor_start": %d, "pid": %d, "pid_start": %d, "account": "atlas001", "cgroup_version": %d, "cgroups": [%s], "layers": {"landlock": 7, "lsm": false}}\n' \
		"$id" "$SUP" "$start" "$SUP" "$start" "$ver" "$list" >"$S/state/$id/state.json"
done

ulimit -n "$(ulimit -Hn)"
for k in "${!EXPORTERS[@]}"; do
	start_exporter "$k" "${EXPORTERS[$k]}"
done
for k in "${!URLS[@]}"; do
	listed "${URLS[$k]}" "$N" >/dev/null
	: >"$S/t.$k"
done
# the exporter's own wall time to build the scrape
build_time() {
	sed -n 's/^gridrun_exporter_scrape_duration_seconds //p' "$S/scrape.$1" >>"$S/t.$1"
}
scrape_rounds "$ROUNDS" build_time
# --textfile one-shot, interleaved too: whole process, start to exit (wall)
textfile_runs "${TEXTFILE_RUNS:-5}" "${EXPORTERS[@]}"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| exporter | jobs | CPU median ms | CPU p90 ms | build wall median ms | build wall p90 ms | exposition KiB | textfile one-shot median ms |"
echo "|--|--:|--:|--:|--:|--:|--:|--:|"
for k in "${!URLS[@]}"; do
	c=$(sort -g "$S/c.$k" | awk '{ t[NR] = $1 / 1e6 } END { printf "%.2f | %.2f", t[int((NR + 1) / 2)], t[int(NR * 0.9 + 0.5)] }')
	o=$(sort -g "$S/o.$k" | awk '{ t[NR] = $1 / 1e6 } END { printf "%.1f", t[int((NR + 1) / 2)] }')
	sort -g "$S/t.$k" | awk -v e="${EXPORTERS[$k]}" -v n="$N" -v c="$c" -v o="$o" -v kib="$(( $(stat -c %s "$S/scrape.$k") / 1024 ))" '
		{ t[NR] = $1 * 1000 }
		END { printf "| %s | %d | %s | %.2f | %.2f | %d | %s |\n", e, n, c, t[int((NR + 1) / 2)], t[int(NR * 0.9 + 0.5)], kib, o }'
done
