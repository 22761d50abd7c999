#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/lsm-overhead.sh - issue 14's measurement of gridrun's BPF LSM, as
# ratios within one interleaved run: blocks of jobs without the programs and
# with them loaded alternate (the LSM is loaded and unloaded between blocks,
# never during a timed job). Three figures, each the median of its runs:
#   start-up   wall time of `gridrun run` of /bin/true in a leased range
#              (registration, the tag, every hook the start passes);
#   stat/open  a job's own loop over the first BENCH_LSM_FILES entries under
#              /usr: lstat each, open and close each regular file (timed
#              inside the job);
#   stat/open, tmpfs  the same loop over BENCH_LSM_FILES files the job made in
#              its own /tmp first (untimed): no 9p under it, so the figure
#              is the hooks' cost where the guest's /usr is the host's;
#   create     a job's own loop creating and removing BENCH_LSM_FILES files
#              in its /tmp (the path_mknod rule's cost, timed in the job).
# Output is TAP (one ok with the figures as diagnostics), so the cgroup v2
# guest, which has the BPF LSM active, runs it as a test file:
#   GRIDRUN_TESTS="$PWD/bench/lsm-overhead.sh" prove -v tests/vm/lane.t
# Timing is not asserted (the machine is shared); it fails only when a job
# fails or the programs do not load. As root; GRIDRUN and GRIDRUN_BUILD as for
# the tests. Everything lives in a private mount namespace (its own bpf
# filesystem for the pins) and a scratch directory removed at exit.
# Environment: BENCH_LSM_BLOCKS (10) blocks per side, BENCH_LSM_N (3) start-up
# runs per block, BENCH_LSM_FILES (2000; /usr is 9p in the guest, slow).
set -u
GR=${GRIDRUN:?GRIDRUN: the gridrun binary}
LSM=${GRIDRUN_BUILD:?GRIDRUN_BUILD: the build directory}/gridrun-lsm
BLOCKS=${BENCH_LSM_BLOCKS:-10}
N=${BENCH_LSM_N:-3}
FILES=${BENCH_LSM_FILES:-2000}
if [ -z "${GR_LSM_BENCH_NS:-}" ]; then
	GR_LSM_BENCH_NS=1 exec unshare -m --propagation private "$0" "$@"
fi
echo "1..1"
D=$(mktemp -d /tmp/gridrun-lsmbench.XXXXXX) || exit 1
trap 'GRIDRUN_LSM_PIN=$D/bpf/gridrun "$LSM" --pin "$D/bpf/gridrun" unload >/dev/null 2>&1; umount "$D/bpf" 2>/dev/null; rm -rf "$D"' EXIT
mkdir -p "$D/bpf" "$D/leases" "$D/state" "$D/py"
chmod 700 "$D/leases"
mount -t bpf bpf "$D/bpf" -o mode=0700 || { echo "not ok 1 - mount a bpf filesystem"; exit 1; }
export GRIDRUN_LSM_PIN=$D/bpf/gridrun GRIDRUN_STATE_DIR=$D/state
first=$((3900000000 + ($$ % 64) * 131072))
cat >"$D/gridrun.conf" <<EOF
[runtime]
lease_dir = $D/leases

[pool atlas]
first_uid = $first
ranges = 2
accounts = atlas001
quarantine_seconds = 0
EOF
chmod 644 "$D/gridrun.conf"
spec() { # spec NAME ARGS_JSON
	printf '{"process": {"args": %s, "env": ["PATH=/usr/bin:/bin"]}, "gridrun": {"pool": "atlas", "account": "atlas001", "job_id": "lsmb-%s"}}\n' "$2" "$1" >"$D/$1.json"
}
spec true '["/bin/true"]'
cat >"$D/py/loop.py" <<'EOF'
import os, sys, time
n = int(sys.argv[2])
if sys.argv[1] in ('stat', 'stattmp'):
    paths = []
    top = '/usr'
    if sys.argv[1] == 'stattmp':
        top = '/tmp/tree'
        os.mkdir(top)
        for i in range(n):
            os.close(os.open('%s/f%d' % (top, i), os.O_CREAT | os.O_WRONLY, 0o644))
    for root, dirs, files in os.walk(top):
        for f in dirs + files:
            paths.append(os.path.join(root, f))
            if len(paths) >= n:
                break
        if len(paths) >= n:
            break
    t = time.perf_counter()
    for p in paths:
        st = os.lstat(p)
        if (st.st_mode & 0o170000) == 0o100000:
            try:
                os.close(os.open(p, os.O_RDONLY))
            except OSError:
                pass
else:
    t = time.perf_counter()
    for i in range(n):
        os.close(os.open('/tmp/f%d' % i, os.O_CREAT | os.O_WRONLY, 0o644))
    for i in range(n):
        os.unlink('/tmp/f%d' % i)
print('%.6f' % (time.perf_counter() - t))
EOF
# the job reads the script from a read-only bind of $D/py (no submount: the
# job's copy of one would be locked, and a bind of $D could not be cloned)
args() { printf '["/usr/bin/python3", "/run/gr-lsmb/loop.py", "%s", "%s"]' "$1" "$FILES"; }
for k in stat stattmp create; do
	spec "$k" "$(args $k)"
	sed -i "s|\"gridrun\":|\"mounts\": [{\"destination\": \"/run/gr-lsmb\", \"source\": \"$D/py\", \"options\": [\"bind\", \"ro\"]}], \"gridrun\":|" "$D/$k.json"
done
fail=0
run_block() { # run_block SIDE: N start-ups, one stat loop, one create loop
	local side=$1 i t0 t1 out
	for ((i = 0; i < N; i++)); do
		t0=$(date +%s%N)
		"$GR" run --config "$D/gridrun.conf" "$D/true.json" >/dev/null 2>>"$D/err" || fail=1
		t1=$(date +%s%N)
		echo "$(( (t1 - t0) / 1000 ))" >>"$D/start.$side"
	done
	for k in stat stattmp create; do
		out=$("$GR" run --config "$D/gridrun.conf" "$D/$k.json" 2>>"$D/err") || fail=1
		echo "$out" >>"$D/$k.$side"
	done
}
for ((b = 0; b < BLOCKS; b++)); do
	# alternate which side goes first
	for side in $( ((b % 2)) && echo "on off" || echo "off on"); do
		if [ "$side" = on ]; then
			"$LSM" --pin "$D/bpf/gridrun" load >/dev/null 2>>"$D/err" ||
				{ echo "not ok 1 - gridrun-lsm load: $(tail -1 "$D/err")"; exit 1; }
		fi
		run_block "$side"
		if [ "$side" = on ]; then
			"$LSM" --pin "$D/bpf/gridrun" unload >/dev/null 2>>"$D/err" || fail=1
		fi
	done
done
median() { sort -g "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
report() { # report NAME FILE_STEM UNIT SCALE
	local off on
	off=$(median "$D/$2.off")
	on=$(median "$D/$2.on")
	awk -v n="$1" -v a="$off" -v b="$on" -v u="$3" -v s="$4" -v c="$(wc -l <"$D/$2.on")" \
		'BEGIN { printf "# %-10s without %.2f %s, with the LSM %.2f %s: ratio %.3f (medians of %d each)\n", n, a * s, u, b * s, u, b / a, c }'
}
report start-up start ms 0.001
report stat/open stat ms 1000
report stat/tmpfs stattmp ms 1000
report create create ms 1000
echo "# load average: $(cut -d' ' -f1-3 /proc/loadavg); kernel $(uname -r); $FILES files per loop"
if [ "$fail" != 0 ]; then
	echo "not ok 1 - a job or an unload failed: $(tail -3 "$D/err" | tr '\n' ' ')"
	exit 1
fi
echo "ok 1 - measured, interleaved in $BLOCKS blocks per side"
