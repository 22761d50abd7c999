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
# (/proc/PID/task/*/schedstat before and after each), which a loaded machine
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

S=$(mktemp -d /dev/shm/gridrun-scrapecost.XXXXXX)
mkdir -p "$S/state"
chmod 755 "$S" "$S/state"
DIRS=()
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ ${#DIRS[@]} -eq 0 ] || printf '%s\0' "${DIRS[@]}" | xargs -0 rmdir 2>/dev/null || true
	rm -rf "$S"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

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

cpu_ns() {
	local sum=0 t ns
	for t in /proc/$1/task/*/schedstat; do
		read -r ns _ <"$t" && sum=$((sum + ns))
	done
	echo "$sum"
}

ulimit -n "$(ulimit -Hn)"
URLS=()
EPIDS=()
for e in "${EXPORTERS[@]}"; do
	"$e" --listen 127.0.0.1:0 --state-dir "$S/state" 2>"$S/err.${#URLS[@]}" &
	PIDS+=($!)
	EPIDS+=($!)
	for _ in $(seq 100); do
		grep -q serving "$S/err.${#URLS[@]}" && break
		sleep 0.05
	done
	URLS+=("$(grep -o 'http://[^ ]*/metrics' "$S/err.${#URLS[@]}")")
done
for k in "${!URLS[@]}"; do
	for _ in $(seq 100); do
		[ "$(curl -s "${URLS[$k]}" | grep -c '^gridrun_job_pids{' || true)" -ge "$N" ] && break
		sleep 0.3
	done
	: >"$S/t.$k"
	: >"$S/c.$k"
done
for _ in $(seq "$ROUNDS"); do
	for k in "${!URLS[@]}"; do
		sleep 0.25
		c0=$(cpu_ns "${EPIDS[$k]}")
		curl -s -o "$S/scrape.$k" "${URLS[$k]}"
		echo $(( $(cpu_ns "${EPIDS[$k]}") - c0 )) >>"$S/c.$k"
		sed -n 's/^gridrun_exporter_scrape_duration_seconds //p' "$S/scrape.$k" >>"$S/t.$k"
	done
done
# --textfile one-shot, interleaved too: whole process, start to exit (wall)
for _ in $(seq "${TEXTFILE_RUNS:-5}"); do
	for k in "${!EXPORTERS[@]}"; do
		t0=$(date +%s%N)
		"${EXPORTERS[$k]}" --textfile "$S/one.$k.prom" --state-dir "$S/state" 2>/dev/null
		echo $(( $(date +%s%N) - t0 )) >>"$S/o.$k"
	done
done
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
