#!/bin/bash
# phases.t - bench/phases.sh, the per-phase timeline of BENCHMARKS.md's
# "Where the time goes", here with 3 runs: it exits 0, every run is cut
# into phases, each of the twelve rows has a median and a mean in ms, and
# nothing is left behind (its scratch directory on /dev/shm, the jobs'
# cgroups). (Timing is not asserted: this is the command, not the figures.)
# Host only (Makefile): the phases are those of a cgroup v1 host.
set -u
SRC=${GRIDRUN_SRC:?GRIDRUN_SRC: the source tree}
BUILD=${GRIDRUN_BUILD:-$SRC/build}
echo "1..4"
leftovers() { ls -d /dev/shm/gridrun-phases.* /sys/fs/cgroup/*/gridrun-gr-* 2>/dev/null | sort; }
before=$(leftovers)
out=$("$SRC/bench/phases.sh" "$BUILD/gridrun" 3 2>&1)
rc=$?
[ $rc -eq 0 ] && echo "ok 1 - bench/phases.sh exits 0" || { echo "not ok 1 - bench/phases.sh exited $rc"; echo "$out" | sed 's/^/# /'; }
echo "$out" | grep -q '^3 of 3 runs cut into phases' && echo "ok 2 - every run cut into phases" \
	|| { echo "not ok 2 - runs not cut into phases"; echo "$out" | sed 's/^/# /'; }
rows=$(echo "$out" | grep -cE '^\| [^|]+ \| [0-9]+\.[0-9]{2} \| [0-9]+\.[0-9]{2} \|$')
[ "$rows" -eq 12 ] && echo "ok 3 - twelve rows with a median and a mean" \
	|| { echo "not ok 3 - $rows rows with figures, not 12"; echo "$out" | sed 's/^/# /'; }
after=$(leftovers)
[ "$before" = "$after" ] && echo "ok 4 - nothing left behind" \
	|| { echo "not ok 4 - left behind:"; diff <(echo "$before") <(echo "$after") | sed 's/^/# /'; }
