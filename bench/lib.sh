# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/lib.sh - what the exporter benchmarks share (exporter-bench.sh,
# exporter-load.sh, exporter-scrape-cost.sh); sourced, after `set -euo
# pipefail`, never run:
#
#   bench_scratch NAME    scratch dir S=/dev/shm/NAME.XXXXXX with S/state
#                         (both 0755, GRIDRUN_STATE_DIR), removed at exit with
#                         all the bench started: PIDS are killed, SUPERVISORS
#                         get TERM (each forwards it to its job), DIRS rmdir'd
#   start_jobs N POLL TRIES
#                         N jobs (`sleep` under `gridrun run` as account
#                         atlas001; $GRIDRUN), at most 25 starts in flight,
#                         polled every POLL s; fails unless all N run after
#                         TRIES more polls
#   start_exporter K EXPORTER [ARG...]
#                         EXPORTER --listen 127.0.0.1:0 on S/state, its stderr
#                         S/err.K: EPIDS[K] once it serves URLS[K]; in a
#                         cgroup of its own where one can be made (ECGS[K])
#   listed URL N          how many jobs URL lists, once N (or after 30 s)
#   cpu_ns PID            PID's on-CPU time over its live threads, ns
#   exporter_cpu_ns K     exporter K's on-CPU time, ns: from its cgroup, so
#                         threads that ended count too; else cpu_ns
#   scrape_rounds ROUNDS [HOOK]
#                         ROUNDS times each exporter in turn, 250 ms apart (a
#                         scrape younger than 200 ms is served again): one
#                         GET into S/scrape.K, curl's time_total (s) appended
#                         to S/wall.K, the exporter's CPU for it (ns) to
#                         S/c.K; then HOOK K, if given
#   textfile_runs RUNS EXPORTER...
#                         RUNS times each `--textfile` one-shot in turn,
#                         wall ns start to exit appended to S/o.K (to the µs)
#
# With EXPORTER_RT=1 in the environment the exporters, curl and the one-shots
# (not the jobs) run at real-time priority (chrt -f 50): on a node others
# load, that leaves out the waiting for a CPU but not the kernel's locks.

PRIO=()
[ "${EXPORTER_RT:-0}" = 1 ] && PRIO=(chrt -f 50)
PIDS=()
SUPERVISORS=()
DIRS=()
EPIDS=()
URLS=()
ECGS=()

bench_cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${SUPERVISORS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ ${#DIRS[@]} -eq 0 ] || printf '%s\0' "${DIRS[@]}" | xargs -0 rmdir 2>/dev/null || true
	[ ${#ECGS[@]} -eq 0 ] || printf '%s\0' "${ECGS[@]}" | xargs -0 rmdir 2>/dev/null || true
	rm -rf "$S"
}

bench_scratch() {
	S=$(mktemp -d "/dev/shm/$1.XXXXXX")
	mkdir -p "$S/state"
	chmod 755 "$S" "$S/state"
	export GRIDRUN_STATE_DIR=$S/state
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM HUP
}

running() { # jobs whose state names a pid
	grep -l '"pid": *[1-9]' "$S"/state/*/state.json 2>/dev/null | wc -l
}

start_jobs() {
	local n=$1 poll=$2 tries=$3
	[ -e "$S/spec.json" ] || cat >"$S/spec.json" <<EOF
{"process": {"args": ["/bin/sleep", "3600"], "env": ["PATH=/usr/bin:/bin"]},
 "gridrun": {"account": "atlas001"}}
EOF
	while [ ${#SUPERVISORS[@]} -lt "$n" ]; do
		"$GRIDRUN" run "$S/spec.json" </dev/null >/dev/null 2>>"$S/jobs.err" &
		SUPERVISORS+=($!)
		# at most 25 starts in flight
		[ $((${#SUPERVISORS[@]} % 25)) -eq 0 ] && while [ "$(running)" -lt $((${#SUPERVISORS[@]} - 25)) ]; do sleep "$poll"; done
	done
	for _ in $(seq "$tries"); do
		[ "$(running)" -ge "$n" ] && break
		sleep "$poll"
	done
	[ "$(running)" -ge "$n" ] || { echo "only $(running) of $n jobs started" >&2; tail -5 "$S/jobs.err" >&2; exit 1; }
}

# A cgroup to count exporter k's CPU in, below ours (cpuacct on v1), or none.
exporter_cgroup() {
	local base
	if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
		base=/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)
	else
		base=/sys/fs/cgroup/cpuacct$(awk -F: '$2 ~ /(^|,)cpuacct(,|$)/ { print $3 }' /proc/self/cgroup)
	fi
	mkdir "${base%/}/gridrun-bench-exporter.$$.$1" 2>/dev/null && echo "${base%/}/gridrun-bench-exporter.$$.$1"
}

start_exporter() {
	local k=$1 exe=$2
	shift 2
	ECGS[k]=$(exporter_cgroup "$k" || true)
	"${PRIO[@]}" sh -c '[ -z "$0" ] || echo $$ >"$0/cgroup.procs" || exit 1; exec "$@"' "${ECGS[$k]}" \
		"$exe" --listen 127.0.0.1:0 --state-dir "$S/state" "$@" 2>"$S/err.$k" &
	PIDS+=($!)
	EPIDS[k]=$!
	for _ in $(seq 100); do
		grep -q serving "$S/err.$k" && break
		sleep 0.05
	done
	URLS[k]=$(grep -o 'http://[^ ]*/metrics' "$S/err.$k")
}

listed() {
	local got=0
	for _ in $(seq 100); do
		got=$(curl -s "$1" | grep -c '^gridrun_job_pids{' || true)
		[ "$got" -ge "$2" ] && break
		sleep 0.3
	done
	echo "$got"
}

cpu_ns() {
	local sum=0 t ns
	for t in /proc/$1/task/*/schedstat; do
		read -r ns _ <"$t" && sum=$((sum + ns))
	done
	echo "$sum"
}

exporter_cpu_ns() {
	local cg=${ECGS[$1]:-}
	if [ -n "$cg" ] && [ -e "$cg/cpuacct.usage" ]; then
		cat "$cg/cpuacct.usage"
	elif [ -n "$cg" ] && [ -e "$cg/cpu.stat" ]; then
		echo $(( $(sed -n 's/^usage_usec //p' "$cg/cpu.stat") * 1000 ))
	else
		cpu_ns "${EPIDS[$1]}"
	fi
}

scrape_rounds() {
	local rounds=$1 hook=${2:-} k c0
	for k in "${!URLS[@]}"; do : >"$S/wall.$k"; : >"$S/c.$k"; done
	for _ in $(seq "$rounds"); do
		for k in "${!URLS[@]}"; do
			sleep 0.25
			c0=$(exporter_cpu_ns "$k")
			"${PRIO[@]}" curl -s -o "$S/scrape.$k" -w '%{time_total}\n' "${URLS[$k]}" >>"$S/wall.$k"
			echo $(( $(exporter_cpu_ns "$k") - c0 )) >>"$S/c.$k"
			[ -z "$hook" ] || "$hook" "$k"
		done
	done
}

# The clock is bash's EPOCHREALTIME (µs): `$(date +%s%N)` costs a fork and an
# exec, 3-6 ms on a busy node, which the one-shots' times used to include.
textfile_runs() {
	local runs=$1 k t0 t1
	shift
	local exporters=("$@")
	for _ in $(seq "$runs"); do
		for k in "${!exporters[@]}"; do
			t0=${EPOCHREALTIME:+${EPOCHREALTIME//[^0-9]/}000}
			t0=${t0:-$(date +%s%N)}
			"${PRIO[@]}" "${exporters[$k]}" --textfile "$S/one.$k.prom" --state-dir "$S/state" 2>/dev/null
			t1=${EPOCHREALTIME:+${EPOCHREALTIME//[^0-9]/}000}
			t1=${t1:-$(date +%s%N)}
			echo $(( t1 - t0 )) >>"$S/o.$k"
		done
	done
}
