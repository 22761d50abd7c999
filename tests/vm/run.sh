#!/bin/bash
# tests/vm/run.sh [options] -- CMD [ARGS...]
#
# Run CMD as root in a throw-away QEMU guest whose kernel is Debian's and whose
# cgroups are cgroup v2 only: cgroup2 at /sys/fs/cgroup, every controller
# enabled in the root's cgroup.subtree_control. The guest's / is the host's /
# (9p, read-only) under a tmpfs overlay: CMD may write anywhere, but only the
# --rw directories keep what it wrote. /tmp and /run start empty, and / is
# rshared, as systemd leaves it.
# CMD runs in the current directory with a clean environment (PATH, HOME, ...)
# plus the -e variables. Its stdout and stderr are streamed back as it runs.
#
# Exit status: CMD's; 124 when the guest timed out; 125 when the guest failed
# (no exit status came back - the console log is printed then).
#
# Options:
#   -t SECS      give up after SECS seconds (default 600)
#   -m MEM       guest memory (default 2G)
#   -c CPUS      guest CPUs (default 2)
#   -e VAR=VAL   set VAR in CMD's environment (repeatable)
#   --rw DIR     share DIR read-write: the guest's writes reach the host (repeatable)
#   --vm-dir DIR where build.sh puts the guest (default $GRIDRUN_VM_DIR, else
#                ${GRIDRUN_BUILD:-<repo>/build}/vm); (re)built there when
#                missing or made by other versions of the guest scripts
#   --accel A    tcg, kvm or auto (default: kvm only with a usable /dev/kvm
#                on a CPU with vmx/svm, else tcg)
#   -v           print the qemu command line and, afterwards, the console log
# Env: GRIDRUN_VM_APPEND - more kernel command line (e.g. loglevel=7 with -v)
# The guest boots with the BPF LSM active (lsm=...,landlock,bpf: tests/lsm_test.c).
set -euo pipefail
# bash reads a script as it runs it: the braces make it read all of it first,
# so editing this file (or a git checkout) cannot derail a run in progress.
{
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
usage() { sed -n '2,/^set -e/{/^set -e/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2; exit 2; }
die() { echo "vm/run: $*" >&2; exit 125; }

TIMEOUT=600 MEM=2G CPUS=2 ACCEL=auto VERBOSE=0
VMDIR=${GRIDRUN_VM_DIR:-${GRIDRUN_BUILD:-$SRC/build}/vm}
RW=() ENVS=()
while [ $# -gt 0 ]; do
	case $1 in
	-t | -m | -c | -e | --rw | --vm-dir | --accel)
		[ $# -ge 2 ] || { echo "vm/run: $1 needs an argument" >&2; exit 2; } ;;&
	-t) TIMEOUT=$2; shift 2 ;;
	-m) MEM=$2; shift 2 ;;
	-c) CPUS=$2; shift 2 ;;
	-e)
		[[ $2 =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || { echo "vm/run: -e wants VAR=VAL, not '$2'" >&2; exit 2; }
		ENVS+=("$2"); shift 2 ;;
	--rw)
		[ -d "$2" ] || { echo "vm/run: --rw $2: not a directory" >&2; exit 2; }
		RW+=("$(realpath "$2")"); shift 2 ;;
	--vm-dir) VMDIR=$2; shift 2 ;;
	--accel) ACCEL=$2; shift 2 ;;
	-v) VERBOSE=1; shift ;;
	-h | --help) usage ;;
	--) shift; break ;;
	-*) echo "vm/run: unknown option $1" >&2; usage ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || usage

# (Re)build when the guest is missing or was built from other guest scripts;
# a newer kernel package is only looked for by build.sh itself (lane.t).
sum=$(cat "$HERE/build.sh" "$HERE/init" "$HERE/stage2" | sha256sum | cut -c1-16)
case $(cat "$VMDIR/stamp" 2>/dev/null) in
*" guest:$sum") ;;
*) "$HERE/build.sh" "$VMDIR" >&2 || die "cannot build the guest in $VMDIR" ;;
esac
KERNEL=$VMDIR/vmlinux
[ -s "$KERNEL" ] || KERNEL=$VMDIR/vmlinuz
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (scripts/install-deps.sh vm)"

case $ACCEL in
auto)
	# A /dev/kvm without vmx/svm underneath (a software hypervisor) cannot
	# run a stock kernel; TCG is slower but works everywhere.
	if [ -r /dev/kvm ] && [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then ACCEL=kvm; else ACCEL=tcg; fi ;;
tcg | kvm) ;;
*) echo "vm/run: --accel tcg|kvm|auto" >&2; exit 2 ;;
esac
if [ "$ACCEL" = kvm ]; then
	ACCEL_ARGS=(-accel kvm -cpu host)
else
	ACCEL_ARGS=(-accel tcg,thread=multi -cpu max)
fi

# D/ctl is what the guest reads (its own 9p export); the serial ports end
# up in D too: console log, stdout and stderr FIFOs, exit status.
D=$(mktemp -d /tmp/gridrun-vm.XXXXXX)
QPID=
cleanup() {
	if [ -n "$QPID" ]; then kill "$QPID" 2>/dev/null || true; fi
	rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir "$D/ctl"
{
	for e in "${ENVS[@]+"${ENVS[@]}"}"; do printf 'export %q\n' "$e"; done
	printf 'cd %q || exit 125\n' "$PWD"
	printf 'exec'
	printf ' %q' "$@"
	printf '\n'
} >"$D/ctl/cmd"

NINE=security_model=none,multidevs=remap
Q=(qemu-system-x86_64 "${ACCEL_ARGS[@]}" -M pc -m "$MEM" -smp "$CPUS"
	-nodefaults -no-user-config -display none -no-reboot
	-kernel "$KERNEL" -initrd "$VMDIR/initramfs.img"
	-append "console=ttyS0 quiet loglevel=4 panic=-1 lsm=lockdown,capability,yama,landlock,bpf ${GRIDRUN_VM_APPEND:-}"
	-serial "file:$D/console"
	-chardev "file,id=out,path=$D/out" -serial chardev:out
	-chardev "file,id=err,path=$D/err" -serial chardev:err
	-serial "file:$D/status"
	-virtfs "local,path=/,mount_tag=hostroot,$NINE,readonly=on"
	-virtfs "local,path=$D/ctl,mount_tag=ctl,$NINE,readonly=on")
i=0
for p in "${RW[@]+"${RW[@]}"}"; do
	Q+=(-virtfs "local,path=$p,mount_tag=rw$i,$NINE")
	printf 'rw%d %s\n' "$i" "$p" >>"$D/ctl/rw"
	i=$((i + 1))
done
[ "$VERBOSE" = 0 ] || echo "vm/run: ${Q[*]}" >&2

# qemu writes the guest's stdout/stderr into FIFOs that we copy out while the
# guest runs.
mkfifo "$D/out" "$D/err"
cat "$D/out" &
c1=$!
cat "$D/err" >&2 &
c2=$!
set +e
timeout -k 5 "$TIMEOUT" "${Q[@]}" </dev/null &
QPID=$!
wait "$QPID"
qrc=$?
QPID=
# If qemu died before opening the FIFOs, the cats still wait in open(2):
# an O_RDWR open lets them through to EOF.
exec 8<>"$D/out" 9<>"$D/err"
exec 8>&- 9>&-
wait "$c1" "$c2"
set -e
[ "$VERBOSE" = 0 ] || { echo "vm/run: console log:" >&2; cat "$D/console" >&2; }
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	echo "vm/run: the guest timed out after ${TIMEOUT}s" >&2
	exit 124
fi
rc=$(tr -dc 0-9 <"$D/status" 2>/dev/null || true)
if [ -z "$rc" ]; then
	echo "vm/run: the guest returned no exit status (qemu exit $qrc); console log:" >&2
	cat "$D/console" >&2 2>/dev/null || true
	exit 125
fi
exit "$rc"
exit
}
