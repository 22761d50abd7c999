#!/bin/bash
# asan.t - the README's `make asan`: the host lane of the suite, every
# binary built with AddressSanitizer and UBSan (any report is fatal) into
# build-asan/. One TAP line: prove's verdict, with its summary; on failure
# the failing tests' output. (make asan itself leaves this script, bench.t
# and the cgroup v2 guest lane out.)
set -u
SRC=${GRIDRUN_SRC:?GRIDRUN_SRC: the source tree}
echo "1..1"
unset MAKEFLAGS MFLAGS MAKELEVEL
log=$(mktemp /tmp/gridrun-asan.XXXXXX)
trap 'rm -f "$log"' EXIT
make -s -C "$SRC" asan >"$log" 2>&1
rc=$?
summary=$(grep -E '^Files=' "$log" | tail -n 1)
if [ "$rc" = 0 ] && grep -q '^Result: PASS' "$log"; then
	echo "ok 1 - make asan: $summary"
else
	grep -E -B40 '^not ok|ERROR: AddressSanitizer|runtime error:|LeakSanitizer' "$log" | head -n 400 | sed 's/^/# /'
	tail -n 30 "$log" | sed 's/^/# /'
	echo "not ok 1 - make asan exited $rc: $summary"
fi
