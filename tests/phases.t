#!/bin/bash
# phases.t - bench/phases.sh, the per-phase timeline of BENCHMARKS.md's
# "Where the time goes", here with 3 runs: of one build (a median and a
# mean per phase) and of two interleaved (an A/B: a median per build). It
# exits 0, every run is cut into phases, each of the twelve rows has its
# figures, and nothing is left behind (its scratch directory on /dev/shm,
# the jobs' cgroups). (Timing is not asserted: this is the command, not the
# figures.) Host only (Makefile): the phases are those of a cgroup v1 host.
set -u
SRC=${GRIDRUN_SRC:?GRIDRUN_SRC: the source tree}
BUILD=${GRIDRUN_BUILD:-$SRC/build}
echo "1..7"
leftovers() { ls -d /dev/shm/gridrun-phases.* /sys/fs/cgroup/*/gridrun-grph-* 2>/dev/null | sort; }
before=$(leftovers)
num='[0-9]+\.[0-9]{2}'
cols="$num \| $num"   # median and mean, or the two builds' medians
t=0
for mode in one ab; do
	if [ $mode = one ]; then
		out=$("$SRC/bench/phases.sh" -n 3 "$BUILD/gridrun" 2>&1); rc=$?; cut=1
	else
		out=$("$SRC/bench/phases.sh" -n 3 "$BUILD/gridrun" "$BUILD/gridrun" 2>&1); rc=$?; cut=2
	fi
	t=$((t+1)); [ $rc -eq 0 ] && echo "ok $t - $mode: bench/phases.sh exits 0" \
		|| { echo "not ok $t - $mode: bench/phases.sh exited $rc"; echo "$out" | sed 's/^/# /'; }
	n=$(echo "$out" | grep -c ': 3 of 3 runs cut into phases$')
	t=$((t+1)); [ "$n" -eq $cut ] && echo "ok $t - $mode: every run cut into phases" \
		|| { echo "not ok $t - $mode: $n builds with all runs cut, not $cut"; echo "$out" | sed 's/^/# /'; }
	rows=$(echo "$out" | grep -cE "^\| [^|]+ \| $cols \|\$")
	t=$((t+1)); [ "$rows" -eq 12 ] && echo "ok $t - $mode: twelve rows with figures" \
		|| { echo "not ok $t - $mode: $rows rows with figures, not 12"; echo "$out" | sed 's/^/# /'; }
done
after=$(leftovers)
[ "$before" = "$after" ] && echo "ok 7 - nothing left behind" \
	|| { echo "not ok 7 - left behind:"; diff <(echo "$before") <(echo "$after") | sed 's/^/# /'; }
