#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Start-to-exit time of /bin/true: plain fork+exec, gridrun (default namespaces,
# and with a network namespace), bubblewrap, unshare(1) and runc, measured in
# one interleaved run by build/bench/startbench (bench/startbench.c).
#
#   bench/run.sh GRIDRUN                  print the table and the machine facts
#   bench/run.sh GRIDRUN --write FILE     ... and put them into FILE between
#                                         <!-- bench:start --> and <!-- bench:end -->
#
# Environment: BENCH_N measured runs per row (200), BENCH_WARMUP warm-up rounds
# (5), CC (cc). `make bench` installs bubblewrap and runc and runs this.
# Exit status: 0, or 1 when a gridrun row failed (other rows may fail and are
# reported in the table), 2 on usage or setup errors.
set -eu

usage() {
	echo "usage: $0 GRIDRUN [--write FILE]" >&2
	exit 2
}
[ $# -ge 1 ] || usage
GRIDRUN=$1
shift
WRITE=
while [ $# -gt 0 ]; do
	case "$1" in
	--write) [ $# -ge 2 ] || usage; WRITE=$2; shift 2 ;;
	*) usage ;;
	esac
done
case "$GRIDRUN" in /*) ;; *) GRIDRUN=$(pwd)/$GRIDRUN ;; esac
[ -x "$GRIDRUN" ] || { echo "bench: $GRIDRUN is not an executable" >&2; exit 2; }

N=${BENCH_N:-200}
WARMUP=${BENCH_WARMUP:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/build/bench
DRIVER=$OUT/startbench

# --- the driver, built here ------------------------------------------------
mkdir -p "$OUT"
${CC:-cc} -O2 -Wall -Wextra -Werror -o "$DRIVER" "$ROOT/bench/startbench.c"

# --- a scratch directory for specs and the runc bundle; the runtimes' state -
# (gridrun's state dir, runc's --root) on tmpfs, where their defaults /run/gridrun
# and /run/runc are on a Debian host: a disk-backed /run (as in some
# containers) adds file-system journal work that is not the runtime's.
T=$(mktemp -d /tmp/gridrun-bench.XXXXXX)
S=$(mktemp -d /dev/shm/gridrun-bench-state.XXXXXX)
RUNC_ID=gridrun-bench-$$
cleanup() {
	if command -v runc >/dev/null 2>&1 && [ -d "$S/runc-state" ]; then
		runc --root "$S/runc-state" delete -f "$RUNC_ID" >/dev/null 2>&1 || true
	fi
	rm -rf "$T" "$S"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE
mkdir -p "$S/state" "$S/runc-state"
export GRIDRUN_STATE_DIR="$S/state"

cat >"$T/spec.json" <<'EOF'
{"process":{"args":["/bin/true"],"env":["PATH=/usr/bin:/bin"]}}
EOF
# A leased range (root mode): a pool of 64 with no quarantine, so that every
# run can lease again.
cat >"$T/gridrun.conf" <<EOF
[runtime]
lease_dir = $T/leases

[pool bench]
first_uid = 3900000000
ranges = 64
accounts = bench
quarantine_seconds = 0
EOF
cat >"$T/spec-lease.json" <<'EOF'
{"process":{"args":["/bin/true"],"env":["PATH=/usr/bin:/bin"]},"gridrun":{"pool":"bench","account":"bench"}}
EOF
cat >"$T/spec-net.json" <<'EOF'
{"process":{"args":["/bin/true"],"env":["PATH=/usr/bin:/bin"]},"gridrun":{"network":"none"}}
EOF

# Absolute paths, so that no row pays for a PATH search. A missing tool is
# still given to the driver by name: its row then says it could not execute.
tool() { command -v "$1" 2>/dev/null || echo "$1"; }
TRUE=$(readlink -f /bin/true)
BWRAP=$(tool bwrap)
UNSHARE=$(tool unshare)
RUNC=$(tool runc)

# runc: a tiny rootfs holding /bin/true and the libraries ldd names, and the
# config.json of `runc spec --rootless` with no terminal and /bin/true as the
# process (its namespaces, mounts, masked and read-only paths as generated).
B=$T/bundle
mkdir -p "$B/rootfs/bin" "$B/rootfs/proc" "$B/rootfs/dev" "$B/rootfs/sys" "$B/rootfs/tmp"
cp "$TRUE" "$B/rootfs/bin/true"
for lib in $(ldd "$TRUE" | grep -o '/[^ ]*'); do
	mkdir -p "$B/rootfs$(dirname "$lib")"
	cp -L "$lib" "$B/rootfs$lib"
done
if [ -x "$RUNC" ]; then
	(cd "$B" && "$RUNC" spec --rootless) || echo "bench: runc spec --rootless failed" >&2
	if [ -f "$B/config.json" ]; then
		sed -i -e 's/"terminal": true/"terminal": false/' \
			-e 's/^\([[:space:]]*\)"sh"$/\1"\/bin\/true"/' "$B/config.json"
		grep -q '"/bin/true"' "$B/config.json" ||
			echo "bench: could not set the process of runc's config.json" >&2
	fi
fi

# --- the rows --------------------------------------------------------------
# Shown in the output with the scratch directory written as $T.
set -- \
	-r "floor" /bin/true -- \
	-R "gridrun" "$GRIDRUN" run "$T/spec.json" -- \
	-R "gridrun, network none" "$GRIDRUN" run "$T/spec-net.json" -- \
	-R "gridrun, leased range" "$GRIDRUN" run --config "$T/gridrun.conf" "$T/spec-lease.json" -- \
	-r "bwrap --unshare-all" "$BWRAP" --unshare-all --ro-bind / / --dev /dev --proc /proc /bin/true -- \
	-r "unshare -Urmpif" "$UNSHARE" -Urmpif /bin/true -- \
	-r "runc run" "$RUNC" --root "$S/runc-state" run --bundle "$B" "$RUNC_ID" --

LOAD0=$(cut -d' ' -f1 /proc/loadavg)
rc=0
"$DRIVER" -n "$N" -w "$WARMUP" -o "$OUT/runs.tsv" "$@" >"$T/table.md" || rc=$?
if [ "$rc" -ge 2 ]; then
	echo "bench: the driver failed (status $rc)" >&2
	exit 2
fi

# --- the report ------------------------------------------------------------
cgroup_mode() {
	if [ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then
		echo "v2 (unified)"
	elif [ -d /sys/fs/cgroup/unified ] || grep -q ' cgroup2 ' /proc/self/mounts; then
		echo "hybrid (v1 controllers + v2)"
	else
		echo "v1"
	fi
}
ver() { "$@" 2>&1 | head -n 1 || true; }
gitdesc() { # read-only: the commit, and whether the sources differ from it
	c=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null) || { echo "not a git checkout"; return; }
	if git -C "$ROOT" diff --quiet HEAD -- runtime cgroups Makefile 2>/dev/null; then
		echo "commit $c"
	else
		echo "commit $c with uncommitted changes in runtime/, cgroups/ or the Makefile"
	fi
}
show_row() { # the command of each row, one per line, $T for the scratch dir
	while [ $# -gt 0 ]; do
		shift # -r / -R
		label=$1
		shift
		cmd=
		while [ "$1" != -- ]; do
			cmd="$cmd $1"
			shift
		done
		shift
		printf -- '- %s:%s\n' "$label" "$cmd"
	done | sed -e "s|$T|\$T|g" -e "s|$S|\$S|g" -e "s| $ROOT/| |g"
}

report() {
	echo "\`bench/run.sh $(echo "$GRIDRUN" | sed "s|^$ROOT/||")\` (what \`make bench\` runs): N=$N measured runs per row after $WARMUP warm-up rounds, interleaved round-robin (rows in a shuffled order within each round); wall time from fork() to the end of wait4(), in ms."
	echo
	cat "$T/table.md"
	echo
	echo "CPU ms: user + system time of the command's whole process tree (reaped descendants included), from wait4(). Peak RSS: wait4()'s ru_maxrss, the largest high-water resident set of any single process of the tree (supervisor, its init, the job; not a sum)."
	echo
	echo "Commands (\$T: the scratch directory with the specs and the runc bundle; \$S: the runtimes' state, on tmpfs):"
	echo
	show_row "$@"
	echo
	echo "Machine: Linux $(uname -r), $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), cgroup $(cgroup_mode), 1-minute load average $LOAD0 before the run, $(cut -d' ' -f1 /proc/loadavg) after it; $(date -u '+%Y-%m-%d %H:%M UTC')."
	echo "gridrun: $(gitdesc), binary built $(date -u -r "$GRIDRUN" '+%Y-%m-%d %H:%M UTC'); $(ver "$BWRAP" --version); $(ver "$UNSHARE" --version); $(ver "$RUNC" --version)."
}
report "$@" >"$T/report.md"
cat "$T/report.md"

if [ "$rc" -ne 0 ]; then
	echo "bench: gridrun failed; see the table (nothing written)" >&2
	exit 1
fi

if [ -n "$WRITE" ]; then
	[ -f "$WRITE" ] || : >"$WRITE"
	if grep -q '^<!-- bench:start -->$' "$WRITE" && grep -q '^<!-- bench:end -->$' "$WRITE"; then
		awk -v rep="$T/report.md" '
			/^<!-- bench:start -->$/ { print; while ((getline l < rep) > 0) print l; skip = 1; next }
			/^<!-- bench:end -->$/ { skip = 0 }
			!skip' "$WRITE" >"$T/write.md"
	else
		{ cat "$WRITE"; echo "<!-- bench:start -->"; cat "$T/report.md"; echo "<!-- bench:end -->"; } >"$T/write.md"
	fi
	cat "$T/write.md" >"$WRITE"
	echo "bench: table written to $WRITE" >&2
fi
