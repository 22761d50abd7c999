#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Where the start-to-exit time of a plain `gridrun run` of /bin/true goes:
# N runs under `perf record` of scheduler and syscall tracepoints (no ptrace,
# so the run is not slowed down as strace slows it), cut into phases by the
# events of the supervisor, the job's init and the job; the table gives each
# phase's median and mean over the runs, in ms (BENCHMARKS.md, "Where the
# time goes").
#
#   bench/phases.sh [-n N] GRIDRUN...   N runs of each (default 60), as root
#
# Two or more builds (an A/B) run interleaved, run 1 of each, then run 2 of
# each, ..., so that the node's other load hits them alike, and the table
# has a median column per build (the mean only for one build).
# The phases follow each supervisor (a copy of the GRIDRUN in the scratch
# directory, under a name no other process has, matched by its comm), its
# first child (init: the clone3 that returns 0) and the process that execs
# /bin/true. A run whose events are incomplete (a cgroup v2 host makes no v1
# directories) is left out and counted. The spec and the state directory
# (GRIDRUN_STATE_DIR) are in a scratch directory on /dev/shm, removed at
# exit with perf's data.
# Exit status: 0; 1 when no run of a build could be cut into phases; 2 on
# usage errors.
set -eu
N=60
if [ "${1:-}" = -n ]; then N=${2:?}; shift 2; fi
[ $# -ge 1 ] || { echo "usage: bench/phases.sh [-n N] GRIDRUN..." >&2; exit 2; }
command -v perf >/dev/null || { echo "bench/phases.sh: perf is not installed" >&2; exit 2; }
T=$(mktemp -d /dev/shm/gridrun-phases.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/state"
# one job id for all runs (one at a time): its cgroups are gridrun-grph-PID
echo '{"process":{"args":["/bin/true"],"env":["PATH=/usr/bin:/bin"]},"gridrun":{"job_id":"grph-'$$'"}}' > "$T/spec.json"
# copies under names of their own: the phases follow each supervisor by its
# comm, and other gridruns may run on the node meanwhile
k=0 NAMES= BINS=
for gr in "$@"; do
	[ -x "$gr" ] || { echo "bench/phases.sh: $gr is not executable" >&2; exit 2; }
	k=$((k+1))
	cp "$gr" "$T/grph$$-$k"
	NAMES="$NAMES grph$$-$k" BINS="$BINS $T/grph$$-$k"
done
EVENTS=sched:sched_process_exec,sched:sched_process_exit,syscalls:sys_enter_clone3,syscalls:sys_exit_clone3
EVENTS=$EVENTS,syscalls:sys_enter_mkdir,syscalls:sys_enter_pivot_root,syscalls:sys_exit_pivot_root
EVENTS=$EVENTS,syscalls:sys_enter_waitid,syscalls:sys_exit_rmdir,syscalls:sys_enter_exit_group,syscalls:sys_exit_recvfrom,syscalls:sys_exit_recvmsg
GRIDRUN_STATE_DIR=$T/state perf record -q -o "$T/perf.data" -a -e "$EVENTS" -- \
	sh -c 'n=$1 spec=$2; shift 2; i=0; while [ $i -lt "$n" ]; do i=$((i+1)); for b; do "$b" run "$spec" || exit 1; done; done' \
	sh "$N" "$T/spec.json" $BINS >/dev/null 2>"$T/perf.err" || { cat "$T/perf.err" >&2; exit 2; }
perf script -i "$T/perf.data" -F comm,pid,time,event,trace > "$T/events.txt" 2>/dev/null
python3 - "$T/events.txt" "$@" -- $NAMES <<'EOF'
import os, re, statistics, sys

sep = sys.argv.index('--')
labels, names = sys.argv[2:sep], sys.argv[sep + 1:]
runs, cur = {n: [] for n in names}, None
for line in open(sys.argv[1]):
    m = re.match(r'\s*(.+?)\s+(\d+)\s+([\d.]+):\s+(\S+):\s*(.*)', line)
    if not m:
        continue
    comm, pid, t, ev, args = m.group(1), int(m.group(2)), float(m.group(3)) * 1e3, m.group(4), m.group(5)
    if ev == 'sched:sched_process_exec' and comm in runs:
        cur = {'sup': pid, 'exec': t, 'mkdir': [], 'rmdir': []}
        runs[comm].append(cur)
        continue
    if cur is None:
        continue
    if pid == cur['sup']:
        if ev == 'syscalls:sys_enter_mkdir':
            cur['mkdir'].append(t)
        elif ev == 'syscalls:sys_enter_clone3':
            cur['clone'] = t
        elif ev == 'syscalls:sys_exit_clone3' and args.split()[-1] != '0x0':
            cur['init'] = int(args.split()[-1], 16)
        elif ev == 'syscalls:sys_enter_waitid':
            cur['waitid'] = t
        elif ev == 'syscalls:sys_exit_rmdir':
            cur['rmdir'].append(t)
        elif ev == 'syscalls:sys_enter_exit_group':
            cur['end'] = t
    elif pid == cur.get('init'):
        # sync #1: recvmsg since it may carry an fd (sync.h), recvfrom before
        if ev in ('syscalls:sys_exit_recvfrom', 'syscalls:sys_exit_recvmsg') and 'maps' not in cur:
            cur['maps'] = t
        elif ev == 'syscalls:sys_enter_pivot_root':
            cur['pivot0'] = t
        elif ev == 'syscalls:sys_exit_pivot_root':
            cur['pivot1'] = t
        elif ev == 'syscalls:sys_enter_exit_group':
            cur['init_exit'] = t
    elif comm == 'true':
        if ev == 'sched:sched_process_exec':
            cur['job_exec'] = t
        elif ev == 'sched:sched_process_exit':
            cur['job_exit'] = t

phases = [
    ('exec of gridrun, spec parsed, state gc, state entry claimed', 'exec', 'cg0'),
    ('job cgroup directories in six v1 hierarchies, `tasks` opened', 'cg0', 'clone'),
    ('`clone3` into new namespaces, uid/gid maps, until init reads sync #1', 'clone', 'maps'),
    ('mount tree up to `pivot_root`', 'maps', 'pivot0'),
    ('`pivot_root` (walks every task on the node)', 'pivot0', 'pivot1'),
    ('old root detached, sync #2/#3, cgroup namespace, Landlock ruleset, job forked, signals reset, caps dropped, seccomp, `execve`', 'pivot1', 'job_exec'),
    ('`/bin/true` from `execve` to exit', 'job_exec', 'job_exit'),
    ('init reaps it, reports (#5, #6), exits', 'job_exit', 'init_exit'),
    ('init\'s exit (mount, IPC, PID namespaces torn down) until the supervisor wakes', 'init_exit', 'waitid'),
    ('cgroup emptied, its usage read, six directories removed', 'waitid', 'cg1'),
    ('record, record copy, state entry removed, supervisor exits', 'cg1', 'end'),
]
ok = {}
for n in names:
    ok[n] = []
    for r in runs[n]:
        # the first mkdir is the state directory's, then one per v1 hierarchy
        if len(r['mkdir']) >= 7 and r['rmdir']:
            r['cg0'], r['cg1'] = r['mkdir'][1], r['rmdir'][-1]
            if all(k in r for _, a, b in phases for k in (a, b)):
                ok[n].append(r)
    if not ok[n]:
        print(f"bench/phases.sh: none of {len(runs[n])} runs of {labels[names.index(n)]} could be cut into phases",
              file=sys.stderr)
        sys.exit(1)
one = len(names) == 1
for n, l in zip(names, labels):
    print(f"{l}: {len(ok[n])} of {len(runs[n])} runs cut into phases")
print("ms from the supervisor's exec" + ("" if one else ", medians"))
print()
heads = ["median ms", "mean ms"] if one else [os.path.basename(l) for l in labels]
print("| phase | " + " | ".join(heads) + " |")
print("|---|" + "--:|" * len(heads))
def cells(f):
    if one:
        v = [f(r) for r in ok[names[0]]]
        return [statistics.median(v), statistics.mean(v)]
    return [statistics.median([f(r) for r in ok[n]]) for n in names]
rows = [(name, (lambda a, b: lambda r: r[b] - r[a])(a, b)) for name, a, b in phases]
rows.append(("whole run, supervisor's exec to its exit", lambda r: r['end'] - r['exec']))
for name, f in rows:
    print(f"| {name} | " + " | ".join(f"{x:.2f}" for x in cells(f)) + " |")
EOF
