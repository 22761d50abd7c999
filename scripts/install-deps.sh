#!/bin/sh
# Install everything gridrun needs to build, test and benchmark, from Debian 12
# packages only. Idempotent: packages already present are not fetched again, and
# apt is not touched at all when nothing is missing (so `make` stays fast).
# Usage: scripts/install-deps.sh [build|check|vm|bench|all]   (default: check)
set -eu
set_for() {
	case "$1" in
	build) echo "gcc make pkg-config libc6-dev libjansson-dev libinih-dev libseccomp-dev libcap-dev libnl-3-dev libnl-route-3-dev zlib1g-dev libcgroup-dev xz-utils libmicrohttpd-dev clang llvm libbpf-dev bpftool" ;;
	# check: runc/crun write the real bundles of tests/oci.t and slurm.t (`runc spec`,
	# `crun spec`), busybox-static is their rootfs; strace holds a job's execve in
	# oci.t (its state is "created" until the exec); linux-perf records the
	# tracepoints of bench/phases.sh (tests/phases.t)
	check) echo "$(set_for build) perl scdoc debhelper lintian fakeroot dpkg-dev linux-source-6.1 iproute2 util-linux procps psmisc python3 prometheus libcap2-bin clang libclang-rt-14-dev slurm-wlm slurmctld slurmd slurm-client munge libslurm-dev jq runc crun busybox-static strace linux-perf" ;;
	# vm: the cgroup v2 guest of tests/vm/ (kernel fetched by apt-get download)
	vm) echo "$(set_for check) qemu-system-x86" ;;
	bench) echo "$(set_for check) bubblewrap" ;;
	all) echo "$(set_for bench) $(set_for vm)" ;;
	*) echo "install-deps: unknown set '$1' (build, check, vm, bench, all)" >&2; exit 2 ;;
	esac
}
want=$(set_for "${1:-check}")
missing=
for p in $want; do
	s=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	case "$s" in ii*) ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing Debian packages:$missing (run as root, or install them)" >&2
	exit 1
fi
echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# An old or absent package list makes apt-get install fail: refresh it once.
apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1 || {
	apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends $missing >/dev/null
}
