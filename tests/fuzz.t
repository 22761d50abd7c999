#!/bin/sh
# S15: gridrun-helper's argv and environment fuzzed (libFuzzer, ASan, UBSan)
# for a bounded time, $GRIDRUN_FUZZ_SECONDS (20); `make fuzz` runs longer.
# The corpus grows in a scratch copy of the seeds, removed afterwards.
B=${GRIDRUN_BUILD:-build}
S=${GRIDRUN_SRC:-.}
secs=${GRIDRUN_FUZZ_SECONDS:-20}
echo "1..1"
dir=$(mktemp -d /tmp/gridrun-test.XXXXXX) || exit 1
trap 'rm -rf "$dir"' EXIT
cp "$S"/tests/fuzz/helper-seeds/* "$dir"/
if (cd "$dir" && "$B/fuzz/helper_fuzz" -max_total_time="$secs" -max_len=512 -print_final_stats=1 . ) >"$dir.log" 2>&1; then
	echo "ok 1 - helper request fuzzed ${secs}s: $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$dir.log" | grep -o '[0-9]*$') runs, no crash"
else
	sed 's/^/# /' "$dir.log" | tail -30
	echo "not ok 1 - helper request fuzz found a crash (artifact in $dir is removed; see the log above)"
fi
rm -f "$dir.log"
