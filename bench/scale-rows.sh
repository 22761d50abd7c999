#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The 1000-job rows of `make bench` (issue #13): a /bin/true start on an idle
# node against one while N jobs run (the ratio), gridrun's and, for what the
# node itself adds to any start, bwrap's; and N concurrent starts of a
# sleeping job until all of them run, gridrun against bwrap in the same run.
# The CPU of every row is read from a cgroup (cpuacct.usage on v1, cpu.stat
# usage_usec on v2) that holds the measured command's whole tree, and the
# jobs' own cgroups beneath it: nothing escapes it as wait4() lets a daemon
# or a PID 1 that is never waited for escape.
#
#   bench/scale-rows.sh GRIDRUN     print the table (markdown)
#
# As root. Environment: BENCH_SCALE_N jobs (1000), BENCH_SCALE_K /bin/true
# starts per start row (20). Exit status 0, 1 when a gridrun row failed, 2 on
# setup errors. Nothing is left behind: the jobs are killed by pid, the
# scratch directory and the measuring cgroups are removed at exit.
set -u
GRIDRUN=${1:?usage: $0 GRIDRUN}
# in a private mount namespace: the template rows' pin goes with it
if [ -z "${SCALE_ROWS_PRIVATE:-}" ]; then
	SCALE_ROWS_PRIVATE=1 exec unshare -m --propagation private "$0" "$@"
fi
N=${BENCH_SCALE_N:-1000}
K=${BENCH_SCALE_K:-20}
BWRAP=$(command -v bwrap || echo bwrap)
[ "$(id -u)" = 0 ] || { echo "scale-rows: run as root" >&2; exit 2; }

T=$(mktemp -d /tmp/gridrun-bench.XXXXXX) || exit 2
S=$(mktemp -d /dev/shm/gridrun-bench-state.XXXXXX) || exit 2
export GRIDRUN_STATE_DIR=$S
# the template rows' state directory, with a template mount namespace
ST=$S-template
# The measuring cgroup: beneath this shell's own, as gridrun puts its jobs.
if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
	CG=/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)
	CGV=2
else
	CG=/sys/fs/cgroup/cpuacct$(awk -F: '$2 ~ /(^|,)cpuacct(,|$)/ { print $3 }' /proc/self/cgroup)
	CGV=1
fi
CG=${CG%/}/gridrun-bench-scale.$$
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	# the jobs' cgroups (gridrun removes its own) and ours, innermost first
	[ -d "$CG" ] && find "$CG" -depth -mindepth 1 -type d -exec rmdir {} + 2>/dev/null
	[ -d "$CG" ] && rmdir "$CG" 2>/dev/null
	[ -d "$ST" ] && GRIDRUN_STATE_DIR=$ST "$GRIDRUN" template remove >/dev/null 2>&1
	rm -rf "$T" "$S" "$ST"
}
trap cleanup EXIT
mkdir "$ST" && GRIDRUN_STATE_DIR=$ST "$GRIDRUN" template >/dev/null ||
	{ echo "scale-rows: gridrun template failed" >&2; exit 2; }
trap 'exit 130' INT TERM HUP
mkdir "$CG" || { echo "scale-rows: cannot create $CG" >&2; exit 2; }

cpu_ns() { # the measuring cgroup's CPU so far, in ns
	if [ "$CGV" = 2 ]; then
		echo $(( $(sed -n 's/^usage_usec //p' "$CG/cpu.stat") * 1000 ))
	else
		cat "$CG/cpuacct.usage"
	fi
}
now_ns() { date +%s%N; }
# CMD... in the measuring cgroup
in_cg() { sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG" "$@"; }

cat >"$T/true.json" <<'EOF'
{"process":{"args":["/bin/true"],"env":["PATH=/usr/bin:/bin"]}}
EOF
# the sleeping job, told apart from anything else by its argument
SLEEP_ARG=600.$$
cat >"$T/sleep.json" <<EOF
{"process":{"args":["/bin/sleep","$SLEEP_ARG"],"env":["PATH=/usr/bin:/bin"]}}
EOF
running() { pgrep -c -x -f "/bin/sleep $SLEEP_ARG"; }

rc=0
# The three start rows, K rounds, interleaved (gridrun, gridrun with the
# template, bwrap, in turn, so that what the node is doing falls on each
# alike): per row the median wall ms and the CPU ms per start, each start's
# CPU the measuring cgroup's growth over it. bwrap's row is what the node
# (not gridrun) adds to any start among N jobs: pivot_root's walk of every
# thread, kernel workers tearing down what ended jobs left.
three_starts() {
	local i j t0 c0 w0= w1= w2= u0=0 u1=0 u2=0 r=
	for i in $(seq "$K"); do
		for j in 0 1 2; do
			c0=$(cpu_ns)
			t0=$(now_ns)
			case $j in
			0) GRIDRUN_STATE_DIR=$S in_cg "$GRIDRUN" run "$T/true.json" || r=1 ;;
			1) GRIDRUN_STATE_DIR=$ST in_cg "$GRIDRUN" run "$T/true.json" || r=1 ;;
			2) in_cg "$BWRAP" --unshare-all --die-with-parent --ro-bind / / --dev /dev --proc /proc /bin/true ;;
			esac
			eval "w$j=\"\$w$j $(( $(now_ns) - t0 ))\"; u$j=\$(( u$j + \$(cpu_ns) - c0 ))"
		done
	done
	med0=$(median_ms $w0) med1=$(median_ms $w1) med2=$(median_ms $w2)
	cpu0=$(per_start_ms "$u0") cpu1=$(per_start_ms "$u1") cpu2=$(per_start_ms "$u2")
	[ -z "$r" ] || rc=1
}
median_ms() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] / 1e6 }'; }
per_start_ms() { awk -v d="$1" -v k="$K" 'BEGIN { printf "%.1f", d / k / 1e6 }'; }
# N starts of the sleeping job at once by CMD...: seconds until all run, CPU s
n_starts() {
	local t0 c0 i
	c0=$(cpu_ns)
	t0=$(now_ns)
	for i in $(seq "$N"); do
		# not through in_cg: $! must be the process that becomes CMD
		sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG" "$@" >/dev/null 2>&1 &
		PIDS+=($!)
	done
	while [ "$(running)" -lt "$N" ]; do
		if [ $(( $(now_ns) - t0 )) -gt $((600 * 1000000000)) ]; then
			echo "scale-rows: $* : not all $N jobs ran within 600 s" >&2
			rc=1
			break
		fi
		sleep 0.2
	done
	all_s=$(awk -v d=$(( $(now_ns) - t0 )) 'BEGIN { printf "%.1f", d / 1e9 }')
	all_cpu=$(awk -v d=$(( $(cpu_ns) - c0 )) 'BEGIN { printf "%.1f", d / 1e9 }')
}
stop_all() { # TERM the supervisors (bwrap: KILL), then wait for them
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	sleep 1
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	PIDS=()
	while [ "$(running)" -gt 0 ]; do sleep 0.2; done
}

three_starts
idle_wall=$med0 idle_cpu=$cpu0 idle_t_wall=$med1 idle_t_cpu=$cpu1 idle_b_wall=$med2 idle_b_cpu=$cpu2
n_starts "$GRIDRUN" run "$T/sleep.json"
gr_all=$all_s gr_all_cpu=$all_cpu
three_starts
busy_wall=$med0 busy_cpu=$cpu0 busy_t_wall=$med1 busy_t_cpu=$cpu1 busy_b_wall=$med2 busy_b_cpu=$cpu2
stop_all
n_starts "$BWRAP" --unshare-all --die-with-parent --ro-bind / / --dev /dev --proc /proc /bin/sleep "$SLEEP_ARG"
bw_all=$all_s bw_all_cpu=$all_cpu
stop_all

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "–" }'; }
echo "| scale row (N=$N) | wall | CPU (cgroup) | ratio |"
echo "|---|--:|--:|--:|"
echo "| gridrun /bin/true, idle node (median of $K) | $idle_wall ms | $idle_cpu ms | 1 |"
echo "| gridrun /bin/true while $N jobs run (median of $K) | $busy_wall ms | $busy_cpu ms | $(ratio "$busy_wall" "$idle_wall")× idle |"
echo "| gridrun /bin/true with the mount template, idle node (median of $K) | $idle_t_wall ms | $idle_t_cpu ms | 1 |"
echo "| gridrun /bin/true with the mount template while $N jobs run (median of $K) | $busy_t_wall ms | $busy_t_cpu ms | $(ratio "$busy_t_wall" "$idle_t_wall")× idle |"
echo "| bwrap --unshare-all /bin/true, idle node (median of $K) | $idle_b_wall ms | $idle_b_cpu ms | 1 |"
echo "| bwrap --unshare-all /bin/true while $N gridrun jobs run (median of $K) | $busy_b_wall ms | $busy_b_cpu ms | $(ratio "$busy_b_wall" "$idle_b_wall")× idle |"
echo "| gridrun, $N concurrent starts until all run | $gr_all s | $gr_all_cpu s | $(ratio "$gr_all" "$bw_all")× bwrap |"
echo "| bwrap --unshare-all, $N concurrent starts until all run | $bw_all s | $bw_all_cpu s | 1 |"
exit "$rc"
