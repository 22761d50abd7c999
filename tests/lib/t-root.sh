# tests/lib/t-root.sh - sourced first by the shell tests that run as root in
# a private mount namespace of their own (oci.t, oci_targets.t, slurm.t),
# with a scratch directory T that is removed when they end, and their TAP
# lines.
#
# gt_root_ns WHY SCRIPT ARGS...: outside, check that we are root (else one
# failing TAP line saying WHY), make T (/tmp/gridrun-test.*, 0755), run
# SCRIPT again as `SCRIPT inner T` in a private mount namespace, remove T and
# exit with its status; inside, set T and return.
gt_root_ns() {
	_why=$1
	_script=$2
	shift 2
	if [ "${1:-}" = inner ]; then
		T=$2
		return 0
	fi
	[ "$(id -u)" = 0 ] || { echo "1..1"; echo "not ok 1 - ${_script##*/} needs root ($_why)"; exit 1; }
	T=$(mktemp -d /tmp/gridrun-test.XXXXXX) || exit 1
	chmod 0755 "$T"
	unshare -m --propagation private "$_script" inner "$T"
	_rc=$?
	case "$T" in /tmp/gridrun-test.*) rm -rf "$T" ;; esac
	exit $_rc
}

# TAP: ok NAME; nok NAME [FILE...] (the files' lines as comments, and
# $T/tap marks the run failed); check NAME COND [FILE...] (COND evaluated).
# n counts the lines; a script ends with `gt_tap_status`.
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; echo x >>"$T/tap"; shift; for f in "$@"; do [ -f "$f" ] && sed 's/^/# /' "$f"; done; }
check() { name=$1; shift; if eval "$1"; then ok "$name"; else shift; nok "$name" "$@"; fi; }
gt_tap_status() { [ ! -s "$T/tap" ]; }
