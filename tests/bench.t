#!/bin/bash
# bench.t - the README's `make bench` runs, here with 3 runs a row: every
# row of the table is there with figures (the leased-range rows with their
# sandbox handed over by idmapped mount and by chown, and helper mode's row,
# run as an unprivileged account through a setuid copy of gridrun-helper,
# also in a second pass with the task iterator pinned where that helper
# reads it, /sys/fs/bpf/gridrun, in a namespace of its own, whose helper did
# read the pin),
# each hand-over row did hand its sandbox over, the hand-over table of
# handover-bench has its figures, gridrun's rows did not fail, and nothing
# is left behind: no scratch or state directory, no setuid copy, no mount,
# and the host's /etc as it was (helper mode's account and pool live in a
# copy of /etc seen only inside the bench's mount namespace). The CPU column
# comes from a cgroup per run: a process the command leaves running and
# nobody waits for (bwrap's PID 1) is counted, and the cgroups are removed.
# (Timing is not asserted: this is the command, not the benchmark;
# BENCHMARKS.md has the figures.)
set -u
SRC=${GRIDRUN_SRC:?GRIDRUN_SRC: the source tree}
echo "1..10"
unset MAKEFLAGS MFLAGS MAKELEVEL
leftovers() {
	ls -d /tmp/gridrun-bench.* /dev/shm/gridrun-bench-state.* /tmp/gridrun-handover.* \
		"$SRC"/build/bench/helper.* /sys/fs/cgroup/cpuacct/startbench.* /sys/fs/cgroup/startbench.* \
		/sys/fs/cgroup/*/gridrun-bench-scale.* 2>/dev/null | sort
}
etc_state() { # what the bench must not change in the host's /etc
	ls -l --time-style=full-iso /etc/passwd /etc/group
	cat /etc/passwd /etc/group /etc/gridrun/gridrun.conf 2>&1 | sha256sum
	ls -d /etc/gridrun /etc/etc 2>&1
}
before=$(leftovers)
etc_before=$(etc_state)
out=$(BENCH_N=3 BENCH_WARMUP=1 BENCH_SCALE_N=10 BENCH_SCALE_K=3 make -s -C "$SRC" bench 2>&1)
rc=$?
if [ "$rc" = 0 ]; then echo "ok 1 - make bench exits 0"; else echo "not ok 1 - make bench exits $rc"; fi

missing=
for row in floor gridrun "gridrun, mount template" "gridrun, Landlock off" "gridrun, network none" "gridrun, leased range" \
	"gridrun, leased range, iterator pinned" "gridrun, leased range, sandbox idmap" \
	"gridrun, leased range, sandbox chown" "gridrun, helper mode, sandbox idmap" "bwrap --unshare-all" \
	"unshare -Urmpif" "runc run" "gridrun, helper mode, sandbox idmap, iterator pinned"; do
	# | row | 3 | median | p90 | x floor | cpu | rss | x bwrap | cpu x bwrap |
	printf '%s\n' "$out" | grep -qE "^\| $row \| 3 \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| [0-9]+ \| [0-9.]+ \| [0-9.]+ \|$" ||
		missing="$missing [$row]"
done
if [ -z "$missing" ]; then
	echo "ok 2 - the tables have all fourteen rows with 3 runs each and figures (the last from the iterator pass)"
else
	echo "not ok 2 - rows missing or failed:$missing"
	printf '%s\n' "$out" | sed 's/^/# /'
fi

want="Sandbox hand-over per row, from one run with GRIDRUN_DEBUG=1 before the measurement: leased range, sandbox idmap: idmap, 0 entries; leased range, sandbox chown: chown, 2 entries; helper mode: idmap, 0 entries."
if printf '%s\n' "$out" | grep -qxF "$want"; then
	echo "ok 3 - each hand-over row hands its sandbox over, the way it names"
else
	echo "not ok 3 - the hand-over rows: $(printf '%s\n' "$out" | grep '^Sandbox hand-over per row')"
fi

# | what | runs | median | min | max | entries |
missing=
for re in '\| idmapped mount: made \(`gr_handover_idmap`\) \| 20 \| ([0-9.]+ \| ){3}– \|' \
	'\| idmapped mount: released \(`close`\) \| 20 \| ([0-9.]+ \| ){3}– \|' \
	'\| chown walk to the range \(`gr_handover_chown`\) \| 5 \| ([0-9.]+ \| ){3}10101 \|' \
	'\| chown walk back \| 5 \| ([0-9.]+ \| ){3}10101 \|'; do
	printf '%s\n' "$out" | grep -qE "^$re\$" || missing="$missing [$re]"
done
if [ -z "$missing" ] && printf '%s\n' "$out" | grep -qE '^\| 10000 files in 100 directories, on [^|]+ \|'; then
	echo "ok 4 - the hand-over of 10 000 files: idmapped mount and chown walks with figures"
else
	echo "not ok 4 - hand-over rows missing or failed:$missing"
	printf '%s\n' "$out" | sed -n '/^The sandbox hand-over alone/,$p' | sed 's/^/# /'
fi

after=$(leftovers)
mounts=$(grep -E 'gridrun-bench|gridrun-handover' /proc/self/mountinfo)
if [ "$before" = "$after" ] && [ -z "$mounts" ]; then
	echo "ok 5 - no scratch or state directory, setuid copy or mount left"
else
	echo "not ok 5 - left behind: $(comm -13 <(echo "$before") <(echo "$after") | tr '\n' ' ')$mounts"
fi
if [ "$etc_before" = "$(etc_state)" ]; then
	echo "ok 6 - the host's /etc is untouched"
else
	echo "not ok 6 - the host's /etc changed:"
	diff <(echo "$etc_before") <(etc_state) | sed 's/^/# /'
fi

# the 1000-job rows, scaled down to 10 jobs (bench/scale-rows.sh)
missing=
for re in '\| gridrun /bin/true, idle node \(median of 3\) \| [0-9.]+ ms \| [0-9.]+ ms \| 1 \|' \
	'\| gridrun /bin/true while 10 jobs run \(median of 3\) \| [0-9.]+ ms \| [0-9.]+ ms \| [0-9.]+× idle \|' \
	'\| gridrun /bin/true with the mount template, idle node \(median of 3\) \| [0-9.]+ ms \| [0-9.]+ ms \| 1 \|' \
	'\| gridrun /bin/true with the mount template while 10 jobs run \(median of 3\) \| [0-9.]+ ms \| [0-9.]+ ms \| [0-9.]+× idle \|' \
	'\| bwrap --unshare-all /bin/true, idle node \(median of 3\) \| [0-9.]+ ms \| [0-9.]+ ms \| 1 \|' \
	'\| bwrap --unshare-all /bin/true while 10 gridrun jobs run \(median of 3\) \| [0-9.]+ ms \| [0-9.]+ ms \| [0-9.]+× idle \|' \
	'\| gridrun, 10 concurrent starts until all run \| [0-9.]+ s \| [0-9.]+ s \| [0-9.]+× bwrap \|' \
	'\| bwrap --unshare-all, 10 concurrent starts until all run \| [0-9.]+ s \| [0-9.]+ s \| 1 \|'; do
	printf '%s\n' "$out" | grep -qE "^$re\$" || missing="$missing [$re]"
done
if [ -z "$missing" ] && ! pgrep -f '^/bin/sleep 600\.' >/dev/null; then
	echo "ok 7 - the scale rows (10 jobs) have figures, CPU from a cgroup, and no job is left"
else
	echo "not ok 7 - scale rows missing or jobs left:$missing $(pgrep -a -f '^/bin/sleep 600\.' | head -3)"
	printf '%s\n' "$out" | sed -n '/^| scale row/,$p' | sed 's/^/# /'
fi

# The CPU column is the whole tree's, from the run's cgroup. bwrap's PID 1
# (--unshare-pid) is never waited for by the bwrap that startbench waits
# for: wait4()'s rusage (kept in runs.tsv) misses it, the cgroup does not.
tsv=$SRC/build/bench/runs.tsv
bw=$(awk -F'\t' '$2 == "bwrap --unshare-all" { n++; if ($4 > $5) more++ } END { printf "%d %d", n, more }' "$tsv" 2>/dev/null)
if [ "$bw" = "3 3" ]; then
	echo "ok 8 - the bwrap row's CPU (cgroup) is above wait4()'s in every run: its PID 1 is counted"
else
	echo "not ok 8 - bwrap runs, and runs whose cgroup CPU exceeds wait4()'s: ${bw:-no runs.tsv}"
	sed 's/^/# /' "$tsv" 2>/dev/null
fi

# A command that leaves a child burning CPU after it exits: the driver waits
# for the cgroup to empty and counts that child, which wait4() cannot see.
drv=$SRC/build/bench/startbench
burn='i=0; while [ $i -lt 150000 ]; do i=$((i+1)); done'
t9=$(mktemp /tmp/gridrun-test.XXXXXX)
"$drv" -n 3 -w 0 -o "$t9" -r "daemon" sh -c 'sh -c "$0" </dev/null >/dev/null 2>&1 & exit 0' "$burn" -- \
	-r "inline" sh -c "$burn" -- >/dev/null 2>&1
drc=$?
# per row: median cgroup CPU, median wait4 CPU
med() { awk -F'\t' -v row="$1" -v col="$2" '$2 == row { print $col }' "$t9" | sort -n | sed -n 2p; }
d_cg=$(med daemon 4) d_w4=$(med daemon 5) i_cg=$(med inline 4)
rm -f "$t9"
if [ "$drc" = 0 ] && [ -n "$d_cg" ] && [ -n "$i_cg" ] && [ "$before" = "$(leftovers)" ] &&
	awk -v dc="$d_cg" -v dw="$d_w4" -v ic="$i_cg" 'BEGIN { exit !(dc > ic / 2 && dw < ic / 4) }'; then
	echo "ok 9 - a daemonized child's CPU is counted ($d_cg ms; wait4 saw $d_w4 ms; the same loop inline: $i_cg ms)"
else
	echo "not ok 9 - daemonized child: cgroup $d_cg ms, wait4 $d_w4 ms, inline $i_cg ms (driver status $drc)"
fi

# The iterator pass's helper did read the pin (lease-map's acquire; the
# release's scan too unless it is pending), or the report says why it was
# not checked.
line=$(printf '%s\n' "$out" | grep -oE 'Pin reads by the helper: [^.]*\.')
if printf '%s\n' "$line" | grep -qE '^Pin reads by the helper: ([1-9]|[1-9][0-9]+) reads? of the pin in one traced job\.$|: not checked \(no strace\)\.$|: none: .* is not built\.$'; then
	echo "ok 10 - the iterator pass: $line"
else
	echo "not ok 10 - the iterator pass's helper and the pin: ${line:-no such line}"
fi
