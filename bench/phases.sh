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
#   bench/phases.sh GRIDRUN [N]     N runs (default 60), as root
#
# The phases follow the supervisor (a copy of GRIDRUN in the scratch
# directory, under a name no other process has, matched by its comm), its first child (init: the clone3 that returns 0) and the process
# that execs /bin/true. A run whose events are incomplete (a cgroup v2 host
# makes no v1 directories) is left out and counted. The spec and the state
# directory (GRIDRUN_STATE_DIR) are in a scratch directory on /dev/shm,
# removed at exit with perf's data.
# Exit status: 0; 1 when no run could be cut into phases; 2 on usage errors.
set -eu
[ $# -ge 1 ] || { echo "usage: bench/phases.sh GRIDRUN [N]" >&2; exit 2; }
GR=$(readlink -f "$1")
N=${2:-60}
[ -x "$GR" ] || { echo "bench/phases.sh: $1 is not executable" >&2; exit 2; }
command -v perf >/dev/null || { echo "bench/phases.sh: perf is not installed" >&2; exit 2; }
T=$(mktemp -d /dev/shm/gridrun-phases.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/state"
# a copy under a name of its own: the phases follow the supervisor by its comm,
# and other gridruns may run on the node meanwhile
cp "$GR" "$T/grph-$$"
GR=$T/grph-$$
echo '{"process":{"args":["/bin/true"],"env":["PATH=/usr/bin:/bin"]}}' > "$T/spec.json"
EVENTS=sched:sched_process_exec,sched:sched_process_exit,syscalls:sys_enter_clone3,syscalls:sys_exit_clone3
EVENTS=$EVENTS,syscalls:sys_enter_mkdir,syscalls:sys_enter_pivot_root,syscalls:sys_exit_pivot_root
EVENTS=$EVENTS,syscalls:sys_enter_waitid,syscalls:sys_exit_rmdir,syscalls:sys_enter_exit_group,syscalls:sys_exit_recvfrom
GRIDRUN_STATE_DIR=$T/state perf record -q -o "$T/perf.data" -a -e "$EVENTS" -- \
	sh -c 'i=0; while [ $i -lt "$1" ]; do i=$((i+1)); "$2" run "$3" || exit 1; done' sh "$N" "$GR" "$T/spec.json" \
	>/dev/null 2>"$T/perf.err" || { cat "$T/perf.err" >&2; exit 2; }
perf script -i "$T/perf.data" -F comm,pid,time,event,trace > "$T/events.txt" 2>/dev/null
python3 - "$T/events.txt" "grph-$$" <<'EOF'
import re, statistics, sys

comm_want = sys.argv[2]
runs, cur = [], None
for line in open(sys.argv[1]):
    m = re.match(r'\s*(.+?)\s+(\d+)\s+([\d.]+):\s+(\S+):\s*(.*)', line)
    if not m:
        continue
    comm, pid, t, ev, args = m.group(1), int(m.group(2)), float(m.group(3)) * 1e3, m.group(4), m.group(5)
    if ev == 'sched:sched_process_exec' and comm == comm_want:
        cur = {'sup': pid, 'exec': t, 'mkdir': [], 'rmdir': []}
        runs.append(cur)
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
        if ev == 'syscalls:sys_exit_recvfrom' and 'maps' not in cur:
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
ok = []
for r in runs:
    # the first mkdir is the state directory's, then one per v1 hierarchy
    if len(r['mkdir']) >= 7 and r['rmdir']:
        r['cg0'], r['cg1'] = r['mkdir'][1], r['rmdir'][-1]
        if all(k in r for _, a, b in phases for k in (a, b)):
            ok.append(r)
if not ok:
    print(f"bench/phases.sh: none of {len(runs)} runs could be cut into phases", file=sys.stderr)
    sys.exit(1)
print(f"{len(ok)} of {len(runs)} runs cut into phases; ms from the supervisor's exec")
print()
print("| phase | median ms | mean ms |")
print("|---|--:|--:|")
for name, a, b in phases:
    v = [r[b] - r[a] for r in ok]
    print(f"| {name} | {statistics.median(v):.2f} | {statistics.mean(v):.2f} |")
v = [r['end'] - r['exec'] for r in ok]
print(f"| whole run, supervisor's exec to its exit | {statistics.median(v):.2f} | {statistics.mean(v):.2f} |")
EOF
