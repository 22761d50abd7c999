#!/bin/bash
# bench/condor-overhead.py (condor/README.md) with a few jobs: it runs, every
# job succeeds and every final Chirp update arrives. The figure itself is
# measured with 200 jobs by hand (see the report), not here.
set -u
SRC=${GRIDRUN_SRC:-.}
BUILD=${GRIDRUN_BUILD:-$SRC/build}
echo "1..1"
if out=$(python3 "$SRC/bench/condor-overhead.py" "$BUILD" 3 2>&1); then
	echo "ok 1 - bench/condor-overhead.py BUILD 3: $(echo "$out" | grep '^overhead')"
else
	echo "not ok 1 - bench/condor-overhead.py failed"
	echo "$out" | sed 's/^/# /'
	exit 1
fi
