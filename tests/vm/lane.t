#!/bin/bash
# tests/vm/lane.t - the cgroup v2 lane of make check.
#
# This host's cgroups are hybrid v1, so the v2 backend is exercised in a QEMU
# guest (run.sh) that has nothing but cgroup2. The guest boots once and runs
# the same suite as the host lane, tests/run-prove over $GRIDRUN_TESTS (the
# Makefile passes its test binaries and tests/*.t, never this file), with the
# same GRIDRUN, GRIDRUN_SRC and GRIDRUN_BUILD. Its prove output is turned into
# TAP here: one line that the guest really is pure cgroup v2, one per test
# file the guest was to run (with the guest's failing output under a not ok),
# and one for run-prove's exit status.
#
# Env: GRIDRUN_VM_DIR (guest artifacts, default $GRIDRUN_BUILD/vm),
#      GRIDRUN_VM_TIMEOUT (seconds, default 1800), GRIDRUN_VM_VERBOSE=1 (echo
#      all of the guest's output to stderr, not only per-file progress).
set -u
# bash reads a script as it runs it: the braces make it read all of it first,
# so editing this file (or a git checkout) cannot derail a run in progress.
{
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${GRIDRUN_SRC:-$(cd "$HERE/../.." && pwd)}
BUILD=$(cd "${GRIDRUN_BUILD:-$SRC/build}" 2>/dev/null && pwd) || BUILD=${GRIDRUN_BUILD:-$SRC/build}
GR=${GRIDRUN:-$BUILD/gridrun}
VMDIR=${GRIDRUN_VM_DIR:-$BUILD/vm}
TIMEOUT=${GRIDRUN_VM_TIMEOUT:-1800}
if [ -n "${GRIDRUN_TESTS:-}" ]; then
	read -r -a TESTS <<<"$GRIDRUN_TESTS"
else
	# what the Makefile would pass, when run by hand from the repo root
	TESTS=()
	for f in "$BUILD"/tests/*_test "$SRC"/tests/*.t; do [ -x "$f" ] && TESTS+=("$f"); done
fi
if [ "${GRIDRUN_IN_VM:-0}" = 1 ]; then
	# the guest's suite must not boot a guest of its own
	echo "1..1"
	echo "not ok 1 - cgroup v2 guest: lane.t started inside the guest; leave it out of GRIDRUN_TESTS"
	exit 1
fi
LOG=$(mktemp /tmp/gridrun-lane.XXXXXX)
trap 'rm -f "$LOG" "$LOG.build"' EXIT
diag() { sed 's/^/# /'; }

if ! "$HERE/build.sh" "$VMDIR" >"$LOG.build" 2>&1; then
	echo "1..1"
	echo "not ok 1 - cgroup v2 guest: tests/vm/build.sh $VMDIR failed"
	diag <"$LOG.build"
	exit 1
fi
KREL=$(cat "$VMDIR/kernel-release")

# In the guest: state the cgroup setup, then the suite. --timer gives each
# file's duration; --merge keeps a test's stderr next to its own TAP, so
# a failure's diagnostics land under the right file.
IFS= read -r -d '' GUEST <<'EOF' || true
echo "gridrun-vm: fstype $(stat -fc %T /sys/fs/cgroup)"
echo "gridrun-vm: v1 $(awk '{ for (i = 7; i < NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup") printf "%s ", $5; break } }' /proc/self/mountinfo)"
echo "gridrun-vm: subtree $(cat /sys/fs/cgroup/cgroup.subtree_control)"
exec "$GRIDRUN_SRC/tests/run-prove" --timer --merge "$@" 2>&1
EOF
ENVS=(-e "GRIDRUN=$GR" -e "GRIDRUN_SRC=$SRC" -e "GRIDRUN_BUILD=$BUILD" -e GRIDRUN_IN_VM=1)
for v in GRIDRUN_ALLOW_SKIP GT_VERBOSE GRIDRUN_SIGNAL_RUNS GRIDRUN_R2_JOBS; do
	if [ -n "${!v+x}" ]; then ENVS+=(-e "$v=${!v}"); fi
done
# lifecycle_test's signals during the teardown: 500 runs on the host, 150
# here (each is ~0.3 s under software emulation; the v2 teardown they check
# is met in every run), unless the caller says otherwise
if [ -z "${GRIDRUN_SIGNAL_RUNS+x}" ]; then ENVS+=(-e GRIDRUN_SIGNAL_RUNS=150); fi
# R2 (pool_gc_test, helper_test): a full pool's worth of concurrent starts
# with random kills, 64 on the host, a pool of 32 here (the lane's two
# longest files; the v2 cgroup work each start does is met by any of them)
if [ -z "${GRIDRUN_R2_JOBS+x}" ]; then ENVS+=(-e GRIDRUN_R2_JOBS=32); fi

# Progress for whoever watches make check: file names and verdicts only.
progress() {
	if [ "${GRIDRUN_VM_VERBOSE:-0}" = 1 ]; then
		sed -u 's/^/vm| /'
	else
		grep --line-buffered -E '^\[[0-9:]+\] |^(ok +[0-9]+ ms|Failed |Dubious|skipped:|Files=|Result:|vm/run:|gridrun-vm:|run-prove:)' |
			sed -u 's/^/vm| /'
	fi
}
echo "# booting the cgroup v2 guest (kernel $KREL) for ${#TESTS[@]} test files" >&2
start=$(date +%s)
"$HERE/run.sh" -t "$TIMEOUT" "${ENVS[@]}" -- bash -c "$GUEST" lane "${TESTS[@]}" 2>&1 |
	tee "$LOG" | progress >&2
rc=${PIPESTATUS[0]}
secs=$(($(date +%s) - start))

awk -v kernel="$KREL" -v rc="$rc" -v secs="$secs" -v timeout="$TIMEOUT" -v allow_skip="${GRIDRUN_ALLOW_SKIP:-0}" \
    -v tests="${TESTS[*]}" '
function tap(good, what, body) {
	n++
	printf "%s %d - cgroup v2 guest (kernel %s): %s\n", good ? "ok" : "not ok", n, kernel, what
	if (!good && body != "") { gsub(/\n/, "\n# ", body); print "# " body }
	if (!good) failed++
}
/^gridrun-vm: fstype / { fstype = $3 }
/^gridrun-vm: v1/ { v1 = $0; sub(/^gridrun-vm: v1 */, "", v1); saw_v1 = 1 }
/^gridrun-vm: subtree/ { subtree = $0; sub(/^gridrun-vm: subtree */, "", subtree) }
/^\[[0-9][0-9]:[0-9][0-9]:[0-9][0-9]\] [^ ]+ \.+ ?$/ { cur = $2; seen[cur] = 1; out[cur] = ""; next }
/^\[[0-9][0-9]:[0-9][0-9]:[0-9][0-9]\] [^ ]+ \.+ skipped: / {
	seen[$2] = 1; verdict[$2] = "skip"; why[$2] = $0; sub(/.* skipped: /, "", why[$2]); cur = ""; next
}
/^\[[0-9][0-9]:[0-9][0-9]:[0-9][0-9]\]$/ { cur = ""; next }
/^Test Summary Report/ { cur = "" }
/^Files=[0-9]+, Tests=/ { summary = $0 }
cur != "" {
	out[cur] = out[cur] (out[cur] == "" ? "" : "\n") $0
	if ($0 ~ /^ok +[0-9]+ ms/) { verdict[cur] = "pass"; ms[cur] = $2 }
	else if ($0 ~ /^(Failed [0-9]+\/[0-9]+ subtests|Dubious, |No subtests run)/) verdict[cur] = "fail"
	else if ($0 ~ /^skipped: /) { verdict[cur] = "skip"; why[cur] = substr($0, 10) }
	else if ($0 ~ /^[ \t]*ok [0-9]+ .*# *(SKIP|skip)/) nskip[cur]++
	else if ($0 ~ /^[ \t]*(not )?ok [0-9]+/) ntests[cur]++
	next
}
{ other = other (other == "" ? "" : "\n") $0 }
END {
	nt = split(tests, t, " ")
	printf "1..%d\n", nt + 2
	pure = fstype == "cgroup2fs" && saw_v1 && v1 == ""
	tap(pure, sprintf("pure cgroup v2: /sys/fs/cgroup is %s, v1 hierarchies: %s; root subtree_control: %s",
	    fstype == "" ? "?" : fstype, saw_v1 ? (v1 == "" ? "none" : v1) : "?", subtree == "" ? "?" : subtree),
	    pure ? "" : other)
	for (i = 1; i <= nt; i++) {
		f = t[i]; s = nskip[f] + 0; tot = ntests[f] + s
		if (!(f in seen)) {
			# prove prints a file only once it is done: the first one
			# missing is the one that was running when the guest died
			if (!blamed && rc >= 124 && rc <= 125) {
				tap(0, f ": did not finish: " (rc == 124 ? "the guest timed out after " timeout " s" : "the VM failed"))
				blamed = 1
			} else
				tap(0, f ": did not run")
			continue
		}
		if (verdict[f] == "skip") {
			tap(allow_skip == 1, f ": whole file skipped (" why[f] ")", out[f]); continue
		}
		if (verdict[f] == "pass" && (s == 0 || allow_skip == 1)) {
			tap(1, sprintf("%s: %d tests passed%s in %.1f s", f, tot, s ? " (" s " skipped)" : "", ms[f] / 1000))
			continue
		}
		if (verdict[f] == "pass")
			tap(0, sprintf("%s: %d of %d tests skipped (skips fail the suite; GRIDRUN_ALLOW_SKIP=1)", f, s, tot), out[f])
		else
			tap(0, f (verdict[f] == "fail" ? ": failed" : ": did not finish"), out[f])
	}
	tap(rc == 0, sprintf("tests/run-prove exited %d; the guest ran %d s%s", rc, secs, summary == "" ? "" : "; " summary),
	    rc == 0 ? "" : other)
	exit (failed > 0)
}' "$LOG"
exit
}
