#!/bin/sh
# The README's first command runs examples/demo.sh; this checks that the demo
# job really ran sandboxed and says so.
GRIDRUN=${GRIDRUN:-build/gridrun}
SRC=${GRIDRUN_SRC:-.}
echo "1..7"
out=$("$SRC/examples/demo.sh" "$GRIDRUN" 2>&1)
rc=$?
n=0
check() {
	n=$((n + 1))
	if printf '%s\n' "$out" | grep -qF -- "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; printf '%s\n' "$out" | sed 's/^/# /'; fi
}
n=$((n + 1)); if [ "$rc" = 0 ]; then echo "ok $n - demo exits 0"; else echo "not ok $n - demo exits $rc"; fi
if [ "$(id -u)" = 0 ]; then
	check "job is uid 0 inside, nobody outside" "job: uid 0, uid_map ' 0 65534 1'"
else
	check "job is uid 0 inside, the caller outside" "job: uid 0, uid_map ' 0 $(id -u) 1'"
fi
check "job is pid 2 under gridrun's init" "job: my pid is 2; PID 1 is gridrun"
check "job has a private /tmp" "job: /tmp is private"
check "root is read-only" "job: / is read-only"
check "only its own sandbox is visible" "job: sandboxes visible in execute/: dir_1001"
check "accounting record printed" '"reason":"exited","exit_code":0'
