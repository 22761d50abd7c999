#!/bin/sh
# tests/slurm.t - gridrun_spank.so in a real one-node Slurm on loopback
# (issue 16): munged, slurmctld and slurmd started here, in a private mount
# namespace whose /etc is a scratch copy holding the test user (the host's
# /etc is never written), with their own key, socket, ports, spool and state
# in /tmp/gridrun-test.*; every daemon is stopped by the pid this test got.
GRIDRUN=${GRIDRUN:-$PWD/build/gridrun}
BUILD=${GRIDRUN_BUILD:-$PWD/build}
SRC=${GRIDRUN_SRC:-$PWD}
. "$SRC/tests/lib/t-root.sh"
gt_root_ns "it starts slurmd" "$0" "$@"
set -u
# /tmp: $T/tmp, with $T still reachable at its name inside it, so that the
# state directory an OCI job's user gets (/tmp/gridrun-UID) is this test's
# (and the source tree, build and binary where they lie below /tmp: a CI clone)
. "$SRC/tests/lib/private-tmp.sh"
. "$SRC/tests/lib/oci-bundle.sh"
gt_private_tmp "$T" "$SRC" "$BUILD" "$GRIDRUN" || exit 1
unset GRIDRUN_STATE_DIR XDG_RUNTIME_DIR
UID1=23471
UID2=$((UID1 + 1))   # in no pool: one-uid mode
FIRST=$((3000000000 + ($$ % 256) * 4194304))
P=$((20000 + ($$ % 2000) * 2))
PIDS=
stop() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
}
trap stop EXIT

# /etc: a scratch copy with the test user, seen by this namespace only
mkdir "$T/etc" && cp -a /etc/. "$T/etc/" || exit 1
echo "grslurm:x:$UID1:$UID1::/nonexistent:/bin/sh" >>"$T/etc/passwd"
echo "grslurm:x:$UID1:" >>"$T/etc/group"
echo "grslurm2:x:$UID2:$UID2::/nonexistent:/bin/sh" >>"$T/etc/passwd"
echo "grslurm2:x:$UID2:" >>"$T/etc/group"
mount --bind "$T/etc" /etc || exit 1

mkdir -p "$T/munge" "$T/msock" "$T/state" "$T/spool" "$T/log" "$T/run" "$T/leases" "$T/records" "$T/work/u1" \
	"$T/work/other"
chmod 0700 "$T/leases" "$T/run"
chown munge:munge "$T/munge" "$T/msock" && chmod 0700 "$T/munge" && chmod 0755 "$T/msock"
head -c 1024 /dev/urandom >"$T/munge/key" && chown munge:munge "$T/munge/key" && chmod 0400 "$T/munge/key"
chown $UID1:$UID1 "$T/work/u1" && chmod 0700 "$T/work/u1"
chmod 1777 "$T/work/other"      # a directory the user may work in but does not own
cat >"$T/gridrun.conf" <<EOF
[runtime]
state_dir = $T/run
lease_dir = $T/leases
record_dir = $T/records

[pool slurm]
first_uid = $FIRST
ranges = 4
accounts = grslurm
EOF
plugstack() {
	echo "required $BUILD/gridrun_spank.so default=optin config=$T/gridrun.conf gridrun=$GRIDRUN $*" \
		>"$T/plugstack.conf"
}
plugstack
cat >"$T/slurm.conf" <<EOF
ClusterName=grtest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$P
SlurmdPort=$((P + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$T/msock/sock
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$T/jobcomp.txt
KillWait=5
FirstJobId=$((1000 + ($$ % 5000) * 100))
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
SwitchType=switch/none
MpiDefault=none
ReturnToService=2
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
PlugStackConfig=$T/plugstack.conf
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$T/slurm.conf"
# srun --container: examples/slurm/oci.conf with this build's gridrun
sed "s|/usr/local/bin/gridrun|$GRIDRUN|" "$SRC/examples/slurm/oci.conf" >"$T/oci.conf"

setpriv --reuid munge --regid munge --clear-groups /usr/sbin/munged -F --key-file="$T/munge/key" \
	--socket="$T/msock/sock" --pid-file="$T/munge/pid" --log-file="$T/munge/log" --seed-file="$T/munge/seed" \
	>"$T/log/munged.out" 2>&1 &
PIDS="$PIDS $!"
i=0; while [ ! -S "$T/msock/sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
/usr/sbin/slurmctld -D -f "$T/slurm.conf" >"$T/log/slurmctld.out" 2>&1 &
PIDS="$PIDS $!"
/usr/sbin/slurmd -D -f "$T/slurm.conf" -N localhost >"$T/log/slurmd.out" 2>&1 &
PIDS="$PIDS $!"

echo "1..24"
i=0
until sinfo -h -o %T 2>/dev/null | grep -q idle || [ $i -ge 100 ]; do sleep 0.2; i=$((i + 1)); done
check "the one-node cluster is up" "sinfo -h -o %T | grep -q idle" "$T/log/slurmctld.log" "$T/log/slurmd.log"

as_user() { (cd "$1" && shift && timeout -k 5 90 setpriv --reuid $UID1 --regid $UID1 --clear-groups "$@"); }

# bench/slurm-overhead.sh: GRIDRUN_SLURM_BENCH=N times plain `srun true` and
# `srun --gridrun true` alternately (interleaved: load on this shared
# machine hits both alike) and prints the medians and their ratio.
if [ -n "${GRIDRUN_SLURM_BENCH:-}" ]; then
	: >"$T/plain"; : >"$T/wrapped"
	k=0
	while [ $k -lt "$GRIDRUN_SLURM_BENCH" ]; do
		for mode in plain wrapped; do
			opt=; [ $mode = wrapped ] && opt=--gridrun
			t0=$(date +%s%N)
			as_user "$T/work/u1" srun $opt true >/dev/null 2>&1 || echo "# srun $opt failed"
			echo $(( ($(date +%s%N) - t0) / 1000 )) >>"$T/$mode"
		done
		k=$((k + 1))
	done
	med() { sort -n "$1" | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
	p=$(med "$T/plain"); w=$(med "$T/wrapped")
	awk -v p="$p" -v w="$w" -v n="$GRIDRUN_SLURM_BENCH" 'BEGIN { printf "srun true, %d interleaved pairs: plain median %.1f ms, --gridrun (pool, root) median %.1f ms, ratio %.2f, +%.1f ms\n", n, p / 1000, w / 1000, w / p, (w - p) / 1000 }'
	exit 0
fi
rec() { cat "$T/records/slurm-$1.json" 2>/dev/null; }
field() { rec "$1" | python3 -c "import json,sys; v=json.load(sys.stdin); print(eval('v'+sys.argv[1]))" "$2" 2>/dev/null; }

# 1. srun -n2 --gridrun: two sandboxes, two leased ranges, both exit codes
as_user "$T/work/u1" srun -n2 --gridrun sh -c \
	'echo "task $SLURM_PROCID pwd $(pwd) map $(cat /proc/self/uid_map) ns $(readlink /proc/self/ns/pid)"; exit $((SLURM_PROCID + 3))' \
	>"$T/out1" 2>"$T/err1"
rc=$?
job=$(sed -n 's/^.*"job_id":"slurm-\([0-9]*\)\..*/\1/p' "$T"/records/*.json 2>/dev/null | head -1)
check "srun -n2 --gridrun: srun exits with the highest task code (4)" "[ $rc = 4 ]" "$T/out1" "$T/err1"
check "both tasks' exit codes reach Slurm" "grep -q 'task 0: Exited with exit code 3' $T/err1 && grep -q 'task 1: Exited with exit code 4' $T/err1" "$T/err1"
f0=$(field "$job.0.0" "['uid_range']['first']"); f1=$(field "$job.0.1" "['uid_range']['first']")
check "two records slurm-$job.0.0/1 (exit 3, 4), two distinct leased ranges of the pool" \
	"[ \"\$(field $job.0.0 \"['exit_code']\")\" = 3 ] && [ \"\$(field $job.0.1 \"['exit_code']\")\" = 4 ] && [ -n '$f0' ] && [ '$f0' != '$f1' ] && [ '$f0' -ge $FIRST ] && [ '$f1' -ge $FIRST ] && [ \"\$(field $job.0.0 \"['isolation']\")\" = root ]" \
	"$T/out1" "$T/err1" "$T"/records/*.json
check "each task in its own sandbox: cwd is the job's dir, own pid namespace, leased map" \
	"[ \$(awk -v f=$FIRST -v d=$T/work/u1 '\$4 == d && \$6 == 0 && \$7 >= f && \$7 < f + 4 * 65536 && \$8 == 65536' $T/out1 | wc -l) = 2 ] && [ \$(awk '{print \$NF}' $T/out1 | sort -u | wc -l) = 2 ]" "$T/out1"

# 2. sbatch with the option: the batch script runs as Slurm starts it and
# calls srun; the step's task is wrapped
cat >"$T/work/u1/batch.sh" <<'EOF'
#!/bin/sh
echo "batch map $(cat /proc/self/uid_map)"
srun sh -c 'echo "step map $(cat /proc/self/uid_map)"; exit 7'
echo "srun said $?"
EOF
chown $UID1 "$T/work/u1/batch.sh"
as_user "$T/work/u1" sbatch --wait --gridrun -o "$T/work/u1/batch.out" "$T/work/u1/batch.sh" >"$T/sb.out" 2>&1
bjob=$(sed -n 's/^Submitted batch job //p' "$T/sb.out")
check "sbatch --gridrun: the script is unwrapped, its srun step's task runs in a leased range and exits 7" \
	"grep -q 'batch map *0 *0 *4294967295' $T/work/u1/batch.out && awk -v f=$FIRST '\$1 == \"step\" && \$3 == 0 && \$4 >= f && \$4 < f + 4 * 65536 { ok = 1 } END { exit !ok }' $T/work/u1/batch.out && grep -q 'srun said 7' $T/work/u1/batch.out && [ \"\$(field $bjob.0.0 \"['exit_code']\")\" = 7 ]" \
	"$T/sb.out" "$T/work/u1/batch.out"

# 3. exit by signal: 0:9 as without gridrun
as_user "$T/work/u1" srun --gridrun sh -c 'kill -9 $$' >/dev/null 2>"$T/err3"
sjob=$(ls -t "$T"/records | head -1 | sed 's/slurm-\([0-9]*\)\..*/\1/')
i=0; until grep -q "JobId=$sjob " "$T/jobcomp.txt" 2>/dev/null || [ $i -ge 50 ]; do sleep 0.2; i=$((i + 1)); done
check "a task killed by signal 9: srun reports it, Slurm records ExitCode=0:9" \
	"grep -q 'task 0: Killed' $T/err3 && grep 'JobId=$sjob ' $T/jobcomp.txt | grep -q 'ExitCode=0:9' && [ \"\$(field $sjob.0.0 \"['signal']\")\" = 9 ]" \
	"$T/err3" "$T/jobcomp.txt"

# 4. scancel of a TERM-ignoring job leaves nothing, with gridrun's grace
# below KillWait (the plugin's default) and above it (gc in job_epilog)
nothing_left() { # JOB: no process, cgroup, state, lease or quarantine of it
	i=0
	while [ $i -lt 100 ]; do
		procs=$(grep -l "gr-slurm-marke[r]" /proc/[0-9]*/cmdline 2>/dev/null | wc -l)
		cgs=$(find /sys/fs/cgroup -maxdepth 4 -name "gridrun-slurm-$1.*" 2>/dev/null | wc -l)
		state=$(ls -A "$T/run" 2>/dev/null | grep -v '^records$' | wc -l)
		leases=$(find "$T/leases" -type f \( -name '*.lease' -o -name '*.quarantine' \) 2>/dev/null | wc -l)
		[ "$procs$cgs$state$leases" = 0000 ] && return 0
		sleep 0.2; i=$((i + 1))
	done
	echo "# left: procs $procs cgroups $cgs state $state leases $leases"
	find "$T/leases" "$T/run" 2>/dev/null | sed 's/^/# /'
	grep -i 'gridrun\|epilog' "$T/log/slurmd.log" | tail -5 | sed 's/^/# /'
	return 1
}
start_and_cancel() { # UID DIR NAME ERR: a TERM-ignoring task as UID in DIR, scancelled once it runs; its job in $cj
	rm -f "$2/started"
	(cd "$2" && timeout -k 5 90 setpriv --reuid "$1" --regid "$1" --clear-groups srun --gridrun -J "$3" sh -c \
		'trap "" TERM; touch started; exec sh -c "trap \"\" TERM; while :; do sleep 0.2; done" gr-slurm-marker') \
		>/dev/null 2>"$4" &
	sp=$!
	i=0; while [ ! -e "$2/started" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	cj=$(squeue -h -n "$3" -o %i | head -1)
	scancel "$cj"
	wait $sp
}
cancel_test() { # NAME: start, wait for it to run, scancel, check
	start_and_cancel $UID1 "$T/work/u1" gr-cancel "$T/err4"
	if [ -n "$cj" ] && nothing_left "$cj"; then ok "$1"; else nok "$1" "$T/err4"; fi
}
cancel_test "scancel, grace 2 s < KillWait 5 s: no process, cgroup, state entry or lease left"
plugstack grace=30
cancel_test "scancel, grace 30 s > KillWait 5 s: SIGKILL, then job_epilog's gc: nothing left"
plugstack
# the task's runner and gridrun died by that SIGKILL with the record's fd 3:
# job_epilog keeps the record root's gc wrote from the job cgroup's counters
i=0; while [ -n "$cj" ] && [ ! -e "$T/records/slurm-$cj.0.0.json" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
check "a task Slurm SIGKILLed still has its record: reason supervisor_lost, CPU and memory from its cgroup" \
	"[ -n '$cj' ] && [ \"\$(field $cj.0.0 \"['reason']\")\" = supervisor_lost ] && [ \"\$(field $cj.0.0 \"['isolation']\")\" = root ] && [ \"\$(field $cj.0.0 \"['cpu_user_ns'] is not None and v['memory_peak_bytes'] > 0\")\" = True ] && [ \"\$(field $cj.0.0 \"['exit_code']\")\" = None ]" \
	"$T/records/slurm-$cj.0.0.json" "$T/log/slurmd.log"
check "no mount of the jobs is left in the host's namespace" "! grep -q '$T/work\\|gridrun-slurm' /proc/self/mountinfo"

# 5. the sandbox a leased range gets must be the user's own
as_user "$T/work/other" srun --gridrun sh -c 'touch pwned' >/dev/null 2>"$T/err5"
rc=$?
check "a working directory the user does not own is refused: one line, exit 125, nothing written" \
	"[ $rc = 125 ] && grep -q \"gridrun_spank: the working directory \\\`$T/work/other\\\` (the sandbox) is not grslurm's own\" $T/err5 && [ ! -e $T/work/other/pwned ]" "$T/err5"

# 5b. the directory the runner checked is the one gridrun hands over: the
# user renames a directory on the path (their own tree) after the check and
# links another user's directory in its place. A wrapper as `gridrun`
# does that rename right before gridrun runs: the race, won every time.
mkdir -p "$T/work/u1/race/link/victim" "$T/work/bob/victim"
chown -R $UID1:$UID1 "$T/work/u1/race"
echo bob-secret >"$T/work/bob/victim/data"
chown -R $UID2:$UID2 "$T/work/bob" && chmod 0700 "$T/work/bob/victim" && chmod 0600 "$T/work/bob/victim/data"
printf '#!/bin/sh\nif [ "$1" = run ] && [ ! -L "%s" ]; then mv "%s" "%s.real" && ln -s "%s" "%s"; fi\nexec "%s" "$@"\n' \
	"$T/work/u1/race/link" "$T/work/u1/race/link" "$T/work/u1/race/link" "$T/work/bob" "$T/work/u1/race/link" \
	"$GRIDRUN" >"$T/swap-gridrun"
chmod 0755 "$T/swap-gridrun"
plugstack gridrun="$T/swap-gridrun"
as_user "$T/work/u1/race/link/victim" srun --gridrun sh -c 'cat data; touch pwned' >"$T/out5b" 2>"$T/err5b"
rc=$?
plugstack
check "a sandbox renamed after the runner's owner check is refused: exit 125, the other user's directory untouched" \
	"[ $rc = 125 ] && [ -L $T/work/u1/race/link ] && grep -q 'is not the directory the caller checked' $T/err5b && ! grep -q bob-secret $T/out5b && [ ! -e $T/work/bob/victim/pwned ] && [ \"\$(stat -c %u $T/work/bob/victim/data)\" = $UID2 ]" \
	"$T/out5b" "$T/err5b" "$T/swap-gridrun"

# 5c. the user kills their own task (its uid: allowed). The runner's
# parent-death signal cannot reach root from the user's dead task, so the
# runner watches the task's socket and ends gridrun (TERM, KILL after the
# grace); gridrun's own parent-death signal ends a one-uid gridrun. Nothing
# of the job may go on outside the step: a pool user, then one in no pool.
orphan_test() { # UID DIR SECONDS NAME
	rm -f "$2/started"
	(cd "$2" && timeout -k 5 90 setpriv --reuid $1 --regid $1 --clear-groups \
		srun --gridrun -J gr-orphan sh -c "touch started; exec sleep $3") >/dev/null 2>"$T/err5c" &
	sp=$!
	i=0; while [ ! -e "$2/started" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	sup=; runner=; task=
	for c in $(grep -la 'gridrun_spank spec of slur[m]-' /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do
		pp=$(awk '/^PPid:/ { print $2 }' /proc/$c/status 2>/dev/null)   # gridrun's, not its job's init
		[ -n "$pp" ] && ! grep -qa 'gridrun_spank spec of slur[m]-' /proc/$pp/cmdline 2>/dev/null && sup=$c && runner=$pp
	done
	[ -n "$runner" ] && task=$(awk '/^PPid:/ { print $2 }' /proc/$runner/status 2>/dev/null)
	# the task: the user's own process (the one slurmstepd waits for)
	[ -n "$task" ] && [ "$(awk '/^Uid:/ { print $2 }' /proc/$task/status 2>/dev/null)" = $1 ] && kill -9 "$task"
	wait $sp
	# (pgrep -f: grep's '.' matches no NUL, the separator of /proc/PID/cmdline)
	i=0; while pgrep -f "^sleep $3\$" >/dev/null && [ $i -lt 75 ]; do sleep 0.2; i=$((i + 1)); done
	left=$(pgrep -f "^sleep $3\$" | tr '\n' ' ')
	check "$4: the user kills the task; gridrun and its job end within grace + 5 s" \
		"[ -n '$task' ] && [ -n '$sup' ] && [ -z '$left' ]" "$T/err5c"
	for p in $left; do kill -9 "$p" 2>/dev/null; done
	[ -n "$sup" ] && grep -qa 'gridrun_spank spec of slur[m]-' /proc/$sup/cmdline 2>/dev/null && kill -9 "$sup"
	[ -n "$runner" ] && grep -qa 'slurmstep[d]' /proc/$runner/cmdline 2>/dev/null && kill -9 "$runner"
}
mkdir -p "$T/work/u2" && chown $UID2:$UID2 "$T/work/u2"
orphan_test $UID1 "$T/work/u1" 3003 "pool mode"
orphan_test $UID2 "$T/work/u2" 3004 "one-uid mode (a user in no pool)"

# 5d. the user's umask (srun's SLURM_UMASK; slurmstepd sets it before it
# forks the task, and so the runner) is the job's, not root's gridrun's:
# the record root keeps stays 0644 under umask 077, the job gets 077
as_user "$T/work/u1" sh -c 'umask 077; srun --gridrun sh -c "umask; touch umask-file"' >"$T/out5d" 2>"$T/err5d"
uj=$(ls -t "$T"/records | head -1 | sed 's/slurm-\([0-9]*\)\..*/\1/')
check "srun under umask 077: the job's umask is 0077, the record root keeps is still 0644" \
	"grep -qx 0077 $T/out5d && [ \"\$(stat -c %a $T/records/slurm-$uj.0.0.json)\" = 644 ] && [ \"\$(stat -c %a $T/work/u1/umask-file)\" = 600 ]" \
	"$T/out5d" "$T/err5d"

# 6. optin: without --gridrun the task runs as Slurm starts it
as_user "$T/work/u1" srun sh -c 'cat /proc/self/uid_map' >"$T/out7" 2>&1
check "default=optin: a step without --gridrun is not wrapped" "grep -q '^ *0 *0 *4294967295' $T/out7" "$T/out7"

# 7. srun --container BUNDLE: examples/slurm/oci.conf, Slurm's own calls
# (RunTimeRun as the user from the bundle it rewrote, then Query, Kill,
# Delete as root). The bundle is `runc spec`'s, unmodified (Slurm itself
# rewrites process.args, env, terminal and root.path), with a busybox-static
# rootfs (tests/lib/oci-bundle.sh).
B=$T/work/u1/bundle
gt_oci_bundle "$B" runc || echo "# bundle $B could not be made"
chown -R $UID1:$UID1 "$B"
as_user "$T/work/u1" srun --container "$B" sh -c 'echo "oci map $(cat /proc/self/uid_map) pid $$"; exit 5' \
	>"$T/out8" 2>"$T/err8"
rc=$?
check "srun --container BUNDLE: the task runs in gridrun (own PID namespace, one-uid map, job id %n.%u.%j.%s.%t), exit 5" \
	"[ $rc = 5 ] && awk -v u=$UID1 '\$1 == \"oci\" && \$4 == u && \$5 == 1 && \$7 == 2 { ok = 1 } END { exit !ok }' $T/out8 && ls /tmp/gridrun-$UID1/records/localhost.grslurm.*.0.0.json >/dev/null" \
	"$T/out8" "$T/err8" "$T/log/slurmd.log"
check "Slurm's RunTimeQuery/Kill/Delete as root after the task: no error logged, no state entry left" \
	"! grep -q 'RunTime.*failed\|oci.*error' $T/log/slurmd.log && [ -z \"\$(ls -A /tmp/gridrun-$UID1 2>/dev/null | grep -v '^records\$')\" ]" \
	"$T/log/slurmd.log"
as_user "$T/work/u1" srun --container "$B" -J gr-oci sh -c 'echo started; exec sleep 3001' >"$T/out8b" 2>"$T/err8b" &
sp=$!
# the job's own first line, then its state entry (the TERM must find a job)
i=0; oj=; seen=no
while [ $i -lt 300 ]; do
	oj=$(squeue -h -n gr-oci -o %i | head -1)
	[ -n "$oj" ] && grep -q '^started$' "$T/out8b" && ls /tmp/gridrun-$UID1 2>/dev/null | grep -q "\.$oj\.0\.0\$" &&
		seen=yes && break
	sleep 0.1; i=$((i + 1))
done
scancel "$oj"; wait $sp
i=0
while [ $i -lt 100 ] && { ls /tmp/gridrun-$UID1 | grep -q "\.$oj\." || pgrep -f '^sleep 3001$' >/dev/null; }; do
	sleep 0.1; i=$((i + 1))
done
check "scancel of an srun --container task: gridrun's job ends, its state entry goes" \
	"[ $seen = yes ] && ! ls /tmp/gridrun-$UID1 | grep -q '\.$oj\.' && ! pgrep -f '^sleep 3001\$' >/dev/null" \
	"$T/err8b"

# 8. gridrun-exporter sees a running Slurm task's usage
rm -f "$T/work/u1/started"
as_user "$T/work/u1" srun --gridrun -J gr-exp sh -c 'touch started; while :; do :; done' >/dev/null 2>"$T/err9" &
sp=$!
i=0; while [ ! -e "$T/work/u1/started" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
sleep 1
ej=$(squeue -h -n gr-exp -o %i | head -1)
"$BUILD/gridrun-exporter" --textfile "$T/metrics.prom" --state-dir "$T/run" --config "$T/gridrun.conf" 2>"$T/err9e"
scancel "$ej"; wait $sp
check "gridrun-exporter: the running Slurm task slurm-$ej.0.0 is a job with CPU time > 0" \
	"awk -v j='job_id=\"slurm-$ej.0.0\"' '/^gridrun_job_cpu_user_seconds_total/ && index(\$0, j) && \$NF > 0 { ok = 1 } END { exit !ok }' $T/metrics.prom" \
	"$T/metrics.prom" "$T/err9e" "$T/err9"
nothing_left "$ej" >/dev/null

# 8b. scancel of a one-uid task (a user in no pool) with grace 30 s >
# KillWait 5 s: Slurm SIGKILLs its runner and gridrun, which ran with the
# user's ids, its state in the user's /tmp/gridrun-UID. job_epilog's gc as
# the user writes the lost copy there, and job_epilog keeps it as the task's
# record (the user's word, as any one-uid record is)
mkdir -p "$T/work/u2" && chown $UID2:$UID2 "$T/work/u2"
plugstack grace=30
start_and_cancel $UID2 "$T/work/u2" gr-cancel2 "$T/err4b"
cj2=$cj
plugstack
i=0; while [ -n "$cj2" ] && [ ! -e "$T/records/slurm-$cj2.0.0.json" ] && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
check "one-uid mode: a task Slurm SIGKILLed has its record from the user's gc (supervisor_lost); the user's state entry is gone" \
	"[ -n '$cj2' ] && [ \"\$(field $cj2.0.0 \"['reason']\")\" = supervisor_lost ] && [ \"\$(field $cj2.0.0 \"['isolation']\")\" = unprivileged ] && [ \"\$(field $cj2.0.0 \"['exit_code']\")\" = None ] && [ -z \"\$(ls -A /tmp/gridrun-$UID2 2>/dev/null | grep -v '^records\$')\" ] && ! pgrep -f gr-slurm-marker >/dev/null" \
	"$T/records/slurm-$cj2.0.0.json" "$T/err4b" "$T/log/slurmd.log"

# 9. bad plugstack argument: one line naming it, the step fails (the last
# job: slurmd drains the node when a step's plugin stack fails)
plugstack pool=bad/name
as_user "$T/work/u1" srun --gridrun true >/dev/null 2>"$T/err6"
rc=$?
plugstack
check "a bad plugstack argument is refused naming it" "[ $rc != 0 ] && grep -q 'plugstack argument .pool=bad/name.' $T/err6" "$T/err6"

stop
trap - EXIT
left=0
for p in $PIDS; do kill -0 "$p" 2>/dev/null && left=1; done
check "every daemon started here is stopped" "[ $left = 0 ]"
gt_tap_status
