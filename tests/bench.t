#!/bin/bash
# bench.t - the README's `make bench` runs, here with 3 runs a row: every
# row of the table is there with figures, gridrun's rows did not fail, and
# no scratch or state directory is left behind. (Timing is not asserted:
# this is the command, not the benchmark; BENCHMARKS.md has the figures.)
set -u
SRC=${GRIDRUN_SRC:?GRIDRUN_SRC: the source tree}
echo "1..3"
unset MAKEFLAGS MFLAGS MAKELEVEL
before=$(ls -d /tmp/gridrun-bench.* /dev/shm/gridrun-bench-state.* 2>/dev/null | sort)
out=$(BENCH_N=3 BENCH_WARMUP=1 make -s -C "$SRC" bench 2>&1)
rc=$?
if [ "$rc" = 0 ]; then echo "ok 1 - make bench exits 0"; else echo "not ok 1 - make bench exits $rc"; fi
missing=
for row in floor gridrun "gridrun, network none" "bwrap --unshare-all" "unshare -Urmpif" "runc run"; do
	# | row | 3 | median | p90 | x floor | cpu | rss |
	printf '%s\n' "$out" | grep -qE "^\| $row \| 3 \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| [0-9]+ \|$" ||
		missing="$missing [$row]"
done
if [ -z "$missing" ]; then
	echo "ok 2 - the table has all six rows with 3 runs each and figures"
else
	echo "not ok 2 - rows missing or failed:$missing"
	printf '%s\n' "$out" | sed 's/^/# /'
fi
after=$(ls -d /tmp/gridrun-bench.* /dev/shm/gridrun-bench-state.* 2>/dev/null | sort)
if [ "$before" = "$after" ]; then
	echo "ok 3 - no scratch or state directory left"
else
	echo "not ok 3 - left behind: $(comm -13 <(echo "$before") <(echo "$after") | tr '\n' ' ')"
fi
