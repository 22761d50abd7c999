#!/bin/bash
# make-fuzz.t - the README's `make fuzz` runs, here for 2 s a target: it
# builds the three libFuzzer targets and every one of them ends without a
# finding. (The bounded S15 and job-ad runs of make check are fuzz.t and
# classad_fuzz.t; this checks the command sites would run for hours.)
set -u
SRC=${GRIDRUN_SRC:?GRIDRUN_SRC: the source tree}
echo "1..2"
unset MAKEFLAGS MFLAGS MAKELEVEL
out=$(make -s -C "$SRC" fuzz FUZZ_SECONDS=2 2>&1)
rc=$?
if [ "$rc" = 0 ]; then echo "ok 1 - make fuzz FUZZ_SECONDS=2 exits 0"; else echo "not ok 1 - make fuzz exits $rc"; printf '%s\n' "$out" | tail -40 | sed 's/^/# /'; fi
# the helper's and the job-ad fuzzers report through their TAP scripts, the
# spec fuzzer through libFuzzer's own summary
if printf '%s\n' "$out" | grep -q '^ok 1 - helper request fuzzed' &&
	printf '%s\n' "$out" | grep -q '^ok 1 - classad_fuzz' &&
	printf '%s\n' "$out" | grep -qE '^Done [0-9]+ runs in [0-9]+ second'; then
	echo "ok 2 - all three targets ran to their end"
else
	echo "not ok 2 - a target did not run to its end"
	printf '%s\n' "$out" | tail -40 | sed 's/^/# /'
fi
