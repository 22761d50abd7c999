#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Start-to-exit time of /bin/true: plain fork+exec, gridrun (default namespaces,
# with a network namespace, in a leased range without and with a sandbox
# handed over by idmapped mount or by chown, in a leased range with the BPF
# task iterator pinned for its holder scans, and in helper mode), bubblewrap,
# unshare(1) and runc, measured in one interleaved run by build/bench/startbench
# (bench/startbench.c); helper mode with the iterator pinned where the setuid
# helper reads it, and bwrap, in a second run of the driver in a namespace of
# their own; then the sandbox hand-over alone for 10 000 files,
# idmapped mount against chown walk (bench/handover-bench.c).
#
#   bench/run.sh GRIDRUN                  print the tables and the machine facts
#   bench/run.sh GRIDRUN --write FILE     ... and put them into FILE between
#                                         <!-- bench:start --> and <!-- bench:end -->
#
# As root, with gridrun-helper and bench/handover-bench built beside GRIDRUN
# (`make bench` builds them). Helper mode needs an account with a pool in
# /etc/gridrun/gridrun.conf (the path gridrun-helper reads, fixed at build
# time) and in passwd/group, but the host's /etc is never touched: the driver,
# with all its rows, runs in a private mount namespace (unshare -m) in which
# a scratch copy of /etc that has them is bind-mounted over /etc, and the
# helper is a setuid-root copy in the scratch directory. Nothing is left
# behind: the scratch directories are removed at exit, the mounts die with
# their namespace.
#
# Environment: BENCH_N measured runs per row (200), BENCH_WARMUP warm-up rounds
# (5), BENCH_SCALE_N and BENCH_SCALE_K for bench/scale-rows.sh (1000, 20), CC (cc). `make bench` installs bubblewrap and runc and runs this.
# Exit status: 0, or 1 when a gridrun row or the hand-over failed (other rows
# may fail and are reported in the table), 2 on usage or setup errors.
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
HELPER=$(dirname "$GRIDRUN")/gridrun-helper
HANDOVER_BENCH=$(dirname "$GRIDRUN")/bench/handover-bench
for f in "$HELPER" "$HANDOVER_BENCH"; do
	[ -x "$f" ] || { echo "bench: $f is missing (make bench builds it)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "bench: run as root (helper mode's setuid helper, the hand-over)" >&2; exit 2; }
for t in unshare mount setpriv findmnt getent; do
	command -v "$t" >/dev/null 2>&1 || { echo "bench: $t is missing" >&2; exit 2; }
done

N=${BENCH_N:-200}
WARMUP=${BENCH_WARMUP:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/build/bench
DRIVER=$OUT/startbench

# The owner of the root-mode rows' sandboxes, and helper mode's account: ids
# outside every pool below, that no user or group of the host has.
SBX_OWNER=3899998
ACCOUNT=gridrun-bench
ACCOUNT_UID=3899997
for id in "$SBX_OWNER" "$ACCOUNT_UID" "$ACCOUNT"; do
	if getent passwd "$id" >/dev/null || getent group "$id" >/dev/null; then
		echo "bench: a user or group $id exists on this host; the bench needs it unused" >&2
		exit 2
	fi
done

# --- the driver, built here ------------------------------------------------
mkdir -p "$OUT"
${CC:-cc} -O2 -Wall -Wextra -Werror -o "$DRIVER" "$ROOT/bench/startbench.c"

# --- a scratch directory for specs and the runc bundle; the runtimes' state -
# (gridrun's state dir, runc's --root) on tmpfs, where their defaults /run/gridrun
# and /run/runc are on a Debian host: a disk-backed /run (as in some
# containers) adds file-system journal work that is not the runtime's.
T=$(mktemp -d /tmp/gridrun-bench.XXXXXX)
S=$(mktemp -d /dev/shm/gridrun-bench-state.XXXXXX)
case "$T" in /tmp/gridrun-bench.?*) ;; *) echo "bench: mktemp gave \"$T\"" >&2; exit 2 ;; esac
H=
RUNC_ID=gridrun-bench-$$
cleanup() {
	if command -v runc >/dev/null 2>&1 && [ -d "$S/runc-state" ]; then
		runc --root "$S/runc-state" delete -f "$RUNC_ID" >/dev/null 2>&1 || true
	fi
	rm -rf "$T" "$S"
	[ -z "$H" ] || rm -rf "$H"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE
# helper mode's account reaches its spec, sandbox, state and binaries in here
chmod 0711 "$T" "$S"
mkdir -p "$S/state" "$S/runc-state"
export GRIDRUN_STATE_DIR="$S/state"

cat >"$T/spec.json" <<'EOF'
{"process":{"args":["/bin/true"],"env":["PATH=/usr/bin:/bin"]}}
EOF
# A leased range (root mode): a pool of 64 with no quarantine, so that every
# run can lease again; FILE LEASE_DIR FIRST_UID ACCOUNT [SANDBOX_HANDOVER].
pool_conf() {
	{
		echo "[runtime]"
		echo "lease_dir = $2"
		[ $# -lt 5 ] || echo "sandbox_handover = $5"
		echo
		echo "[pool bench]"
		echo "first_uid = $3"
		echo "ranges = 64"
		echo "accounts = $4"
		echo "quarantine_seconds = 0"
	} >"$1"
	chmod 0644 "$1"
}
pool_conf "$T/gridrun.conf" "$T/leases" 3900000000 bench
cat >"$T/spec-lease.json" <<'EOF'
{"process":{"args":["/bin/true"],"env":["PATH=/usr/bin:/bin"]},"gridrun":{"pool":"bench","account":"bench"}}
EOF
# The same with a sandbox handed over to the range, one way each: an empty
# directory, 0700, of an owner outside the pool (as a pilot's or slot user's).
mkdir -m 0755 "$T/execute"
for way in idmap chown; do
	pool_conf "$T/gridrun-$way.conf" "$T/leases" 3900000000 bench "$way"
	mkdir -m 0700 "$T/execute/$way"
	chown "$SBX_OWNER:$SBX_OWNER" "$T/execute/$way"
	cat >"$T/spec-$way.json" <<EOF
{"process":{"args":["/bin/true"],"env":["PATH=/usr/bin:/bin"]},"gridrun":{"pool":"bench","account":"bench","sandbox":"$T/execute/$way"}}
EOF
done
cat >"$T/spec-nolandlock.json" <<'EOF'
{"process":{"args":["/bin/true"],"env":["PATH=/usr/bin:/bin"]},"gridrun":{"landlock":false}}
EOF
cat >"$T/spec-net.json" <<'EOF'
{"process":{"args":["/bin/true"],"env":["PATH=/usr/bin:/bin"]},"gridrun":{"network":"none"}}
EOF

# Helper mode: the account and its pool (sandbox_handover = idmap, so that
# the row compares with the root-mode idmap row) in a scratch copy of /etc,
# which only the mount namespaces of in_ns see as /etc. gridrun-helper setuid
# root, and gridrun beside it, where the account can reach them (the build
# tree may be in a home directory it cannot enter), on a filesystem without
# nosuid (else in the build tree, as tests/lib/gt-world.c does).
cp -a /etc "$T/etc"
echo "$ACCOUNT:x:$ACCOUNT_UID:$ACCOUNT_UID::/nonexistent:/usr/sbin/nologin" >>"$T/etc/passwd"
echo "$ACCOUNT:x:$ACCOUNT_UID:" >>"$T/etc/group"
mkdir -p -m 0755 "$T/etc/gridrun"
pool_conf "$T/etc/gridrun/gridrun.conf" "$T/leases-helper" 3910000000 "$ACCOUNT" idmap
nosuid() { findmnt -n -o OPTIONS -T "$1" | tr , '\n' | grep -qx nosuid; }
HB=$T/bin
if nosuid "$T"; then
	H=$(mktemp -d "$OUT/helper.XXXXXX")
	HB=$H
	if nosuid "$H"; then
		echo "bench: /tmp and $OUT are both mounted nosuid: no place for the setuid helper" >&2
		exit 2
	fi
fi
mkdir -p "$HB"
chmod 0755 "$HB"
cp "$HELPER" "$HB/gridrun-helper"
chown root:root "$HB/gridrun-helper"
chmod 04755 "$HB/gridrun-helper"
cp "$GRIDRUN" "$HB/gridrun"
chmod 0755 "$HB/gridrun"
mkdir -m 0700 "$T/execute/helper" "$S/state-helper"
chown "$ACCOUNT_UID:$ACCOUNT_UID" "$T/execute/helper" "$S/state-helper"
cat >"$T/spec-helper.json" <<EOF
{"process":{"args":["/bin/true"],"env":["PATH=/usr/bin:/bin"]},"gridrun":{"pool":"bench","account":"$ACCOUNT","sandbox":"$T/execute/helper"}}
EOF
chmod 0644 "$T"/spec*.json

# The BPF task iterator (kmod-optional/gridrun_tasks.bpf.c) for the row
# "leased range, iterator pinned": in_ns mounts a bpf filesystem on $T/bpf in
# its namespace and pins it there (gridrun-lsm load-tasks); the pin goes with
# the namespace. The row alone is pointed at it (GRIDRUN_LSM_PIN).
LSM=$(dirname "$GRIDRUN")/gridrun-lsm
mkdir -m 0700 "$T/bpf"
ITER_PIN=$T/bpf/gridrun

# The row "gridrun, mount template": its own state directory, whose template
# mount namespace (gridrun template) in_ns makes in its namespace, after the
# /etc bind (the template's mounts must be those the jobs' supervisors see).
TMPL_STATE=$S/state-template
mkdir -p "$TMPL_STATE"

# CMD... in a mount namespace of its own whose /etc is the scratch copy
in_ns() {
	unshare -m --propagation private sh -c 'mount --bind "$0" /etc || exit 2
		if [ -x "$1" ] && mount -t bpf -o mode=0700 bpf "$2"; then
			"$1" --pin "$2/gridrun" load-tasks >/dev/null || true
		fi
		GRIDRUN_STATE_DIR="$3" "$4" template >/dev/null || exit 2
		shift 4
		exec "$@"' "$T/etc" "$LSM" "$T/bpf" "$TMPL_STATE" "$GRIDRUN" "$@"
}

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

# --- the hand-over rows do hand over ----------------------------------------
# One run of each with GRIDRUN_DEBUG=1 before the measurement: gridrun says
# which way it took (a sandbox it does not hand over would time nothing).
rc=0
SEEN=
check_handover() { # LABEL WANT CMD...
	label=$1
	want=$2
	shift 2
	got=$(in_ns env GRIDRUN_DEBUG=1 "$@" 2>&1 >/dev/null |
		sed -n 's/^gridrun: debug: job [^ ]*: sandbox hand-over \(.*\), [0-9.]* ms$/\1/p')
	SEEN="$SEEN${SEEN:+; }$label: ${got:-none}"
	if [ "$got" != "$want" ]; then
		echo "bench: $label: sandbox hand-over \"${got:-none}\", expected \"$want\"" >&2
		rc=1
	fi
}
check_handover "leased range, sandbox idmap" "idmap, 0 entries" \
	"$GRIDRUN" run --config "$T/gridrun-idmap.conf" "$T/spec-idmap.json"
check_handover "leased range, sandbox chown" "chown, 2 entries" \
	"$GRIDRUN" run --config "$T/gridrun-chown.conf" "$T/spec-chown.json"
# and the iterator row does read the iterator: every holder scan of a run (the
# acquire's; a confined job's release makes none, lease.h) reads it, none walks /proc
dbg=$(in_ns env GRIDRUN_DEBUG=1 GRIDRUN_LSM_PIN="$ITER_PIN" "$GRIDRUN" run --config "$T/gridrun.conf" \
	"$T/spec-lease.json" 2>&1 >/dev/null)
got=$(printf '%s\n' "$dbg" | grep -c -E ': (task iterator|holder scan): ' || true)
walked=$(printf '%s\n' "$dbg" | grep -c ': /proc walk' || true)
if [ ! -x "$LSM" ]; then
	echo "bench: $LSM is not built (clang, bpftool): the iterator row walks /proc" >&2
elif [ "$got" -lt 1 ] || [ "$walked" != 0 ]; then
	echo "bench: leased range, iterator pinned: $got holder scans read the task iterator, $walked walked /proc" >&2
	rc=1
fi
# and the template row is cloned from the template
if ! in_ns env GRIDRUN_DEBUG=1 GRIDRUN_STATE_DIR="$TMPL_STATE" "$GRIDRUN" run "$T/spec.json" 2>&1 >/dev/null |
	grep -q "mount template: the job's namespace is a copy of it"; then
	echo "bench: gridrun, mount template: the job was not cloned from the template" >&2
	rc=1
fi
check_handover "helper mode" "idmap, 0 entries" \
	setpriv --reuid="$ACCOUNT_UID" --regid="$ACCOUNT_UID" --clear-groups \
	env GRIDRUN_HELPER="$HB/gridrun-helper" GRIDRUN_STATE_DIR="$S/state-helper" "$HB/gridrun" run "$T/spec-helper.json"

# --- the rows --------------------------------------------------------------
# Shown in the output with the scratch directory written as $T.
set -- \
	-r "floor" /bin/true -- \
	-R "gridrun" "$GRIDRUN" run "$T/spec.json" -- \
	-e "GRIDRUN_STATE_DIR=$TMPL_STATE" \
	-R "gridrun, mount template" "$GRIDRUN" run "$T/spec.json" -- \
	-R "gridrun, Landlock off" "$GRIDRUN" run "$T/spec-nolandlock.json" -- \
	-R "gridrun, network none" "$GRIDRUN" run "$T/spec-net.json" -- \
	-R "gridrun, leased range" "$GRIDRUN" run --config "$T/gridrun.conf" "$T/spec-lease.json" -- \
	-e "GRIDRUN_LSM_PIN=$ITER_PIN" \
	-R "gridrun, leased range, iterator pinned" "$GRIDRUN" run --config "$T/gridrun.conf" "$T/spec-lease.json" -- \
	-R "gridrun, leased range, sandbox idmap" "$GRIDRUN" run --config "$T/gridrun-idmap.conf" "$T/spec-idmap.json" -- \
	-R "gridrun, leased range, sandbox chown" "$GRIDRUN" run --config "$T/gridrun-chown.conf" "$T/spec-chown.json" -- \
	-u "$ACCOUNT_UID" -e "GRIDRUN_HELPER=$HB/gridrun-helper" -e "GRIDRUN_STATE_DIR=$S/state-helper" \
	-R "gridrun, helper mode, sandbox idmap" "$HB/gridrun" run "$T/spec-helper.json" -- \
	-r "bwrap --unshare-all" "$BWRAP" --unshare-all --die-with-parent --ro-bind / / --dev /dev --proc /proc /bin/true -- \
	-r "unshare -Urmpif" "$UNSHARE" -Urmpif /bin/true -- \
	-r "runc run" "$RUNC" --root "$S/runc-state" run --bundle "$B" "$RUNC_ID" --

LOAD0=$(cut -d' ' -f1 /proc/loadavg)
drc=0
in_ns "$DRIVER" -n "$N" -w "$WARMUP" -o "$OUT/runs.tsv" -x "bwrap --unshare-all" "$@" >"$T/table.md" || drc=$?
if [ "$drc" -ge 2 ]; then
	echo "bench: the driver failed (status $drc)" >&2
	exit 2
fi
[ "$drc" = 0 ] || rc=1

# --- helper mode with the task iterator: a second driver pass ---------------
# The setuid helper ignores GRIDRUN_LSM_PIN (its environment is cleared): it
# reads the iterator only at /sys/fs/bpf/gridrun. So this row runs in a mount
# namespace of its own (in_sys_bpf: the scratch /etc, and a bpf filesystem,
# mode 0700 as systemd mounts it, on /sys/fs/bpf there with the iterator
# pinned as /sys/fs/bpf/gridrun/tasks), which the first pass's rows never
# see, with bwrap beside it for its ratios.
in_sys_bpf() {
	unshare -m --propagation private sh -c 'mount --bind "$0" /etc || exit 2
		if [ -x "$1" ] && mount -t bpf -o mode=0700 bpf /sys/fs/bpf; then
			"$1" --pin /sys/fs/bpf/gridrun load-tasks >/dev/null || true
		fi
		shift
		exec "$@"' "$T/etc" "$LSM" "$@"
}
rows_iter() { # CMD... with this pass's rows after it
	"$@" -u "$ACCOUNT_UID" -e "GRIDRUN_HELPER=$HB/gridrun-helper" -e "GRIDRUN_STATE_DIR=$S/state-helper" \
		-R "gridrun, helper mode, sandbox idmap, iterator pinned" "$HB/gridrun" run "$T/spec-helper.json" -- \
		-r "bwrap --unshare-all" "$BWRAP" --unshare-all --die-with-parent --ro-bind / / --dev /dev --proc /proc /bin/true --
}
# and the helper does read it: lease-map's acquire opens the iterator's pin
# or runs the holder scan program pinned next to it (DIR/scan, kernels 6.7
# on), as one traced job shows. The release scans too, unless it is
# "pending" (the job's user namespace still lives: nearly always here), so
# a job makes one read or two
ITER_SEEN="not checked (no strace)"
if [ ! -x "$LSM" ]; then
	ITER_SEEN="none: $LSM is not built"
	echo "bench: $LSM is not built (clang, bpftool): the helper's iterator row walks /proc" >&2
elif command -v strace >/dev/null 2>&1; then
	in_sys_bpf strace -f -e trace=openat,bpf -o "$T/helper-iter.strace" \
		setpriv --reuid="$ACCOUNT_UID" --regid="$ACCOUNT_UID" --clear-groups \
		env GRIDRUN_HELPER="$HB/gridrun-helper" GRIDRUN_STATE_DIR="$S/state-helper" \
		"$HB/gridrun" run "$T/spec-helper.json" >/dev/null 2>&1 || true
	got=$(grep -c -E 'openat\([0-9]*, "tasks", |bpf\(BPF_PROG_TEST_RUN, ' "$T/helper-iter.strace" || true)
	ITER_SEEN="$got read$([ "$got" = 1 ] || echo s) of the pin in one traced job"
	if [ "$got" -lt 1 ]; then
		echo "bench: helper mode, iterator pinned: the helper read the pin $got times, expected at least 1 (lease-map's acquire)" >&2
		rc=1
	fi
fi
drc=0
rows_iter in_sys_bpf "$DRIVER" -n "$N" -w "$WARMUP" -o "$OUT/runs-iter.tsv" -x "bwrap --unshare-all" >"$T/table-iter.md" || drc=$?
if [ "$drc" -ge 2 ]; then
	echo "bench: the driver failed (status $drc) in the iterator pass" >&2
	exit 2
fi
[ "$drc" = 0 ] || rc=1
LOAD1=$(cut -d' ' -f1 /proc/loadavg)

# --- the hand-over alone ---------------------------------------------------
hrc=0
"$HANDOVER_BENCH" -p "$T" >"$T/handover.md" || hrc=$?
if [ "$hrc" != 0 ]; then
	echo "**handover-bench failed** (exit status $hrc; its message is on stderr)" >>"$T/handover.md"
	rc=1
fi

# --- the 1000-job rows (bench/scale-rows.sh; BENCH_SCALE_N jobs) -----------
src=0
"$ROOT/bench/scale-rows.sh" "$GRIDRUN" >"$T/scale.md" || src=$?
if [ "$src" != 0 ]; then
	echo "**scale-rows failed** (exit status $src; its message is on stderr)" >>"$T/scale.md"
	rc=1
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
		who= # the row's -u and -e
		env=
		while [ "$1" = -u ] || [ "$1" = -e ]; do
			case "$1" in
			-u) who="as uid $2" ;;
			-e) env="$env $2" ;;
			esac
			shift 2
		done
		shift # -r / -R
		label=$1
		shift
		cmd=
		while [ "$1" != -- ]; do
			cmd="$cmd $1"
			shift
		done
		shift
		pre=
		[ -z "$who$env" ] || pre=" ($who${who:+${env:+, }}${env# })"
		printf -- '- %s:%s%s\n' "$label" "$pre" "$cmd"
	done | sed -e "s|$T|\$T|g" -e "s|$S|\$S|g" -e "s| $ROOT/| |g"
}

report() {
	echo "\`bench/run.sh $(echo "$GRIDRUN" | sed "s|^$ROOT/||")\` (what \`make bench\` runs): N=$N measured runs per row after $WARMUP warm-up rounds, interleaved round-robin (rows in a shuffled order within each round); wall time from fork() to the end of wait4(), in ms."
	echo
	cat "$T/table.md"
	echo
	echo "CPU ms: the CPU time of the command's whole process tree, from a fresh cgroup per run (cpuacct.usage on v1, beneath the driver's own cgroup; cpu.stat usage_usec on v2) that the child joins just before its exec and that is read once no process is left in it or beneath it: processes nobody waits for (bwrap's PID 1) and the job's own cgroups are counted, which wait4()'s rusage misses (build/bench/runs.tsv has both). × / CPU × bwrap: the medians divided by the bwrap row's. Peak RSS: wait4()'s ru_maxrss, the largest high-water resident set of any single process of the tree (supervisor, its init, the job; not a sum)."
	echo
	echo "Commands (\$T: the scratch directory with the specs, the sandboxes, the runc bundle, a copy of /etc with the helper-mode account and its pool, which every row sees as /etc, and in bin/ the setuid-root copy of gridrun-helper and a copy of gridrun; \$S: the runtimes' state, on tmpfs):"
	echo
	show_row "$@"
	echo
	echo "Sandbox hand-over per row, from one run with GRIDRUN_DEBUG=1 before the measurement: $SEEN."
	echo
	echo "Helper mode with the BPF task iterator, a second pass of the driver (same N and warm-up) after the first: the setuid helper ignores GRIDRUN_LSM_PIN and reads the iterator only at /sys/fs/bpf/gridrun, so this pass runs in a mount namespace of its own with a bpf filesystem (mode 0700, as systemd mounts it) on /sys/fs/bpf and the iterator pinned there (\`gridrun-lsm --pin /sys/fs/bpf/gridrun load-tasks\`), which no row above sees; its ratios are to the bwrap row of this pass. Pin reads by the helper: $ITER_SEEN."
	echo
	cat "$T/table-iter.md"
	echo
	rows_iter show_row
	echo
	echo "Machine: Linux $(uname -r), $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), cgroup $(cgroup_mode), 1-minute load average $LOAD0 before the run, $LOAD1 after it; $(date -u '+%Y-%m-%d %H:%M UTC')."
	echo "gridrun: $(gitdesc), binary built $(date -u -r "$GRIDRUN" '+%Y-%m-%d %H:%M UTC'); $(ver "$BWRAP" --version); $(ver "$UNSHARE" --version); $(ver "$RUNC" --version)."
	echo
	echo "The sandbox hand-over alone, \`$(echo "$HANDOVER_BENCH" | sed "s|^$ROOT/||") -p \$T\` (bench/handover-bench.c, as root, with libgridrun's own gr_handover_idmap() and gr_handover_chown()): a sandbox of 10 000 two-byte files in 100 directories owned by a uid outside any pool, handed to the job's ids of a range of 65536; the idmapped mount made and released 20 times, the chown walk to the range and back 5 times each (every walk changes all 10 101 entries); in ms."
	echo
	cat "$T/handover.md"
	echo
	echo "A start on a busy node, \`bench/scale-rows.sh\` (BENCH_SCALE_N=${BENCH_SCALE_N:-1000} jobs of \`sleep\`, BENCH_SCALE_K=${BENCH_SCALE_K:-20} /bin/true starts per start row, the three start rows interleaved start by start): CPU from a cgroup holding the measured commands' whole trees, the jobs' cgroups beneath it; the bwrap rows are what the node itself adds to any runtime's start among the jobs; \"until all run\": from the first start to the last job's sleep being seen in /proc."
	echo
	cat "$T/scale.md"
}
report "$@" >"$T/report.md"
cat "$T/report.md"

if [ "$rc" -ne 0 ]; then
	echo "bench: gridrun failed; see the tables (nothing written)" >&2
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
