#!/bin/bash
# The old ClassAd parser under libFuzzer (tests/fuzz/classad_fuzz.c) for a
# bounded time: GRIDRUN_FUZZ_SECONDS (default 15), from the seeds in
# tests/fuzz/classad-seeds. Any crash, leak, sanitizer report or broken
# contract fails; the crashing input is kept in the scratch dir and named.
set -u
SRC=${GRIDRUN_SRC:-.}
BUILD=${GRIDRUN_BUILD:-$SRC/build}
FUZZ=$BUILD/fuzz/classad_fuzz
SECS=${GRIDRUN_FUZZ_SECONDS:-15}
echo "1..1"
dir=$(mktemp -d /tmp/gridrun-test.XXXXXX)
mkdir -p "$dir/corpus"
if "$FUZZ" -max_total_time="$SECS" -max_len=4096 -artifact_prefix="$dir/" "$dir/corpus" \
	"$SRC/tests/fuzz/classad-seeds" >"$dir/log" 2>&1; then
	echo "ok 1 - classad_fuzz: $(grep -Eo 'Done [0-9]+ runs' "$dir/log") in ${SECS} s, no finding"
	rm -rf "$dir"
else
	echo "not ok 1 - classad_fuzz failed; artifacts in $dir"
	tail -40 "$dir/log" | sed 's/^/# /'
	exit 1
fi
