#!/bin/sh
# tests/oci_targets.t - root runs a user's OCI bundle whose rootfs lacks the
# mount targets (runc spec bundles have no rootfs/proc): gridrun makes them
# at the job's start as the bundle's owner (spec.h,
# gr_spec_oci_make_targets()), never with the job's ids (a leased range
# cannot write the user's rootfs: EACCES before) and never as root (a
# user's root.path that leads into a directory of root's makes nothing
# there). Runs in a private mount namespace; the pool's lease directory and
# its configuration are this test's own.
GRIDRUN=${GRIDRUN:-$PWD/build/gridrun}
SRC=${GRIDRUN_SRC:-$PWD}
. "$SRC/tests/lib/t-root.sh"
gt_root_ns "it runs root's jobs of a user's bundles" "$0" "$@"
set -u
. "$SRC/tests/lib/oci-bundle.sh"
unset GRIDRUN_STATE_DIR XDG_RUNTIME_DIR
export GRIDRUN_STATE_DIR=$T/state
U=23482
G=$GRIDRUN
I=$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
errlines() { grep -v '^gridrun: notice: ' "$@"; }
cgdirs() { find /sys/fs/cgroup -maxdepth 9 -type d -name "gridrun-$1" 2>/dev/null | wc -l; }

# a pool of our own: first uid away from the other tests' (gt-world's 3000000000 + ...)
FIRST=$((3600000000 + ($$ % 1024) * 65536))
mkdir -m 0700 "$T/leases"
printf '[runtime]\nlease_dir = %s\n\n[pool atlas]\nfirst_uid = %u\nranges = 1\naccounts = atlas001\nquarantine_seconds = 0\n' \
	"$T/leases" "$FIRST" >"$T/gridrun.conf"
chmod 0644 "$T/gridrun.conf"

# a user's bundle (owned by U), ARGS-JSON, with gridrun keys GR-JSON
bundle() { # DIR ARGS-JSON GR-JSON
	gt_oci_bundle "$1" runc "$2" || echo "# bundle $1 could not be made"
	jq --argjson g "$3" '.gridrun = $g' "$1/config.json" >"$1/c.json" && mv "$1/c.json" "$1/config.json"
	chown -R $U:$U "$1"
}
owners() { stat -c %u "$1/rootfs/proc" "$1/rootfs/dev" "$1/rootfs/tmp" "$1/rootfs/var/tmp" "$1/rootfs/run" 2>&1 | sort -u; }

echo "1..4"

# 1. root, a leased range: the range cannot write the user's rootfs; the owner can
B1=$T/b1
bundle "$B1" '["sh", "-c", "echo ran as $(id -u); head -1 /proc/self/uid_map"]' '{"pool": "atlas", "account": "atlas001"}'
(cd "$B1" && "$G" run --config "$T/gridrun.conf" --bundle "$B1" oci.t.$I.1 >"$B1/out" 2>"$B1/err"); rc=$?
check "root, leased range, a user's runc spec bundle without rootfs/proc: runs (exit 0) in the range; the five targets were made, the user's" \
	"[ $rc = 0 ] && grep -q '^ran as 0\$' $B1/out && grep -Eq '^ +0 +$FIRST +65536\$' $B1/out && [ \"\$(owners $B1)\" = $U ]" \
	"$B1/out" "$B1/err"

# 2. root without a pool (the job is nobody): the same, as the bundle's owner
B2=$T/b2
bundle "$B2" '["sh", "-c", "echo ran"]' '{}'
(cd "$B2" && "$G" run --bundle "$B2" oci.t.$I.2 >"$B2/out" 2>"$B2/err"); rc=$?
check "root, no pool, a user's bundle: runs (exit 0), the targets are the user's" \
	"[ $rc = 0 ] && grep -q '^ran\$' $B2/out && [ \"\$(owners $B2)\" = $U ]" "$B2/out" "$B2/err"

# 3. the attack: the user's root.path leads into a directory of root's, and a
# mount target there that does not exist; made as root it would land in it
B3=$T/b3
mkdir -m 0755 "$T/roots"
bundle "$B3" '["true"]' '{}'
jq '.mounts += [{"destination": "/planted", "type": "tmpfs", "source": "tmpfs"}]' "$B3/config.json" >"$T/c.json" &&
	mv "$T/c.json" "$B3/config.json" && chown $U:$U "$B3/config.json"
rm -rf "$B3/rootfs" && ln -s "$T/roots" "$B3/rootfs" && chown -h $U:$U "$B3/rootfs"
(cd "$B3" && "$G" run --bundle "$B3" oci.t.$I.3 >"$B3/out" 2>"$B3/err"); rc=$?
errlines "$B3/err" >"$B3/lines"
check "a user's root.path leading into root's directory: refused (exit 125) in one line naming root.path, nothing made there, no state entry or cgroup left" \
	"[ $rc = 125 ] && [ \$(wc -l <$B3/lines) = 1 ] && grep -q 'root.path .*never through a symlink' $B3/lines && [ -z \"\$(ls -A $T/roots)\" ] && [ -z \"\$(ls -A $T/state 2>/dev/null | grep -vx records)\" ] && [ \$(cgdirs oci.t.$I.3) = 0 ]" \
	"$B3/out" "$B3/err"

# 4. the same with an absolute root.path (the spec's own choice): made as the
# bundle's owner, who cannot write root's directory
B4=$T/b4
bundle "$B4" '["true"]' '{}'
jq --arg r "$T/roots" '.root.path = $r' "$B4/config.json" >"$T/c.json" && mv "$T/c.json" "$B4/config.json" &&
	chown $U:$U "$B4/config.json"
(cd "$B4" && "$G" run --bundle "$B4" oci.t.$I.4 >"$B4/out" 2>"$B4/err"); rc=$?
errlines "$B4/err" >"$B4/lines"
check "a user's absolute root.path naming root's directory: refused (exit 125) in one line, Permission denied, nothing made there" \
	"[ $rc = 125 ] && [ \$(wc -l <$B4/lines) = 1 ] && grep -q 'mount target .*Permission denied' $B4/lines && [ -z \"\$(ls -A $T/roots)\" ]" \
	"$B4/out" "$B4/err"

gt_tap_status
