#!/bin/sh
# tests/oci.t - the OCI verbs (runtime/oci.h) called the way Slurm's oci.conf
# calls them (examples/slurm/oci.conf): RunTimeRun by `/bin/sh -c` as the
# job's user, from the bundle, with a bare environment; RunTimeQuery, Kill
# and Delete as root afterwards, their output parsed as JSON. Runs in a
# private mount namespace whose /tmp is a scratch directory, so the user's
# default state directory (/tmp/gridrun-UID) is this test's own. The
# bundles are real ones (tests/lib/oci-bundle.sh): `runc spec`, `runc spec
# --rootless` and `crun spec` with a busybox-static rootfs, only
# process.args changed; every run's ids are its own (I, below).
GRIDRUN=${GRIDRUN:-$PWD/build/gridrun}
SRC=${GRIDRUN_SRC:-$PWD}
. "$SRC/tests/lib/t-root.sh"
gt_root_ns "root's verbs on a user's job" "$0" "$@"
set -u
# /tmp: $T/tmp, with $T, and the source tree and binary where they lie below
# /tmp (a CI clone), still reachable at their names inside it
. "$SRC/tests/lib/private-tmp.sh"
gt_private_tmp "$T" "$SRC" "$GRIDRUN" || { echo "1..1"; echo "not ok 1 - private /tmp"; exit 1; }
. "$SRC/tests/lib/oci-bundle.sh"
unset GRIDRUN_STATE_DIR XDG_RUNTIME_DIR
U=23481
G=$GRIDRUN
I=$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')   # this run's ids: node.u.$I.N.0
PIDS=
stop() { for p in $PIDS; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }
trap stop EXIT
jget() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); print(v.get(sys.argv[2], "-"))' "$1" "$2" 2>/dev/null; }

# a real bundle (KIND: runc, runc-rootless, crun), the user's, as Slurm leaves it
bundle() { # DIR KIND ARGS-JSON
	gt_oci_bundle "$1" "$2" "$3" || echo "# bundle $1 ($2) could not be made"
	chown -R $U:$U "$1"
}
# RunTimeRun="gridrun run --bundle %b %n.%u.%j.%s.%t" as Slurm runs it
# ($WRAP, if set, runs it: strace below)
runtime_run() { # BUNDLE ID [more options]: in the background, rc to BUNDLE/rc
	b=$1; id=$2; shift 2
	(cd "$b" && env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin SLURM_CONF=/nonexistent \
		${WRAP:-} setpriv --reuid $U --regid $U --clear-groups /bin/sh -c "$G run --bundle $b $* $id" \
		>"$b/out" 2>"$b/err"; echo $? >"$b/rc") &
	PIDS="$PIDS $!"
}
# (2 minutes at most: a root job's start in the emulated v2 guest, BPF LSM
# loaded, takes tens of seconds)
wait_for() { i=0; while ! eval "$1" && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done; eval "$1"; }
running() { "$G" state "$1" >"$T/st.json" 2>"$T/st.err" && [ "$(jget "$T/st.json" status)" = running ]; }
# the job's own first line of output, then its state says running
started() { grep -q '^started$' "$1/out" && running "$2"; }
# gridrun's lines but its notices (what it does not honour in a runc spec)
errlines() { grep -v '^gridrun: notice: ' "$@"; }

echo "1..37"

# 1. a user's job: root queries it, then kills it
B1=$T/b1
bundle "$B1" runc '["sh", "-c", "echo started; exec sleep 60"]'
runtime_run "$B1" node.u.$I.1.0 --pid-file "$B1/pid"
wait_for "started $B1 node.u.$I.1.0"
check "root: state of a job a user started is running, with its pid, bundle, ociVersion and id" \
	"[ \"\$(jget $T/st.json status)\" = running ] && [ \"\$(jget $T/st.json pid)\" = \"\$(cat $B1/pid)\" ] && [ \"\$(jget $T/st.json bundle)\" = $B1 ] && [ \"\$(jget $T/st.json id)\" = node.u.$I.1.0 ] && [ \"\$(jget $T/st.json ociVersion)\" = 1.0.2 ] && [ ! -s $T/st.err ]" \
	"$T/st.json" "$T/st.err" "$B1/err"
check "--pid-file holds the job's pid, a process of the user's" \
	"[ \"\$(stat -c %u /proc/\$(cat $B1/pid))\" = $U ]" "$B1/err"
"$G" kill --all node.u.$I.1.0 >"$T/k.out" 2>&1; krc=$?
wait_for "[ -s $B1/rc ]"
check "runc spec bundle, root: kill --all (TERM) ends the user's job; RunTimeRun exits 143" \
	"[ $krc = 0 ] && [ \"\$(cat $B1/rc)\" = 143 ] && grep -q started $B1/out" "$T/k.out" "$B1/err" "$B1/rc"
"$G" state node.u.$I.1.0 >"$T/st.json" 2>"$T/st.err"; src=$?
check "state after the end: stopped, exit 0, nothing on stderr; the user's state entry is gone" \
	"[ $src = 0 ] && [ \"\$(jget $T/st.json status)\" = stopped ] && [ ! -s $T/st.err ] && [ ! -e /tmp/gridrun-$U/node.u.$I.1.0 ]" \
	"$T/st.json" "$T/st.err"

# 2. unknown ids, idempotence
out=$("$G" state no.such.job 2>"$T/e"); rc=$?
check "state of an unknown id: {\"status\": \"stopped\"} on stdout, exit 0, no stderr" \
	"[ $rc = 0 ] && [ \"\$(echo '$out' | jq -r .status)\" = stopped ] && [ \"\$(echo '$out' | jq -r .id)\" = no.such.job ] && [ ! -s $T/e ]" "$T/e"
"$G" kill -a no.such.job KILL 2>"$T/e"; r1=$?; "$G" kill no.such.job 2>>"$T/e"; r2=$?
"$G" delete no.such.job 2>>"$T/e"; r3=$?; "$G" delete --force node.u.$I.1.0 2>>"$T/e"; r4=$?
check "kill, delete and delete --force of an unknown or ended id: exit 0, silent" "[ $r1$r2$r3$r4 = 0000 ] && [ ! -s $T/e ]" "$T/e"
out=$("$G" state 'bad/id' 2>&1); rc=$?
check "a malformed id: one line naming it, exit 125" "[ $rc = 125 ] && [ \$(echo '$out' | wc -l) = 1 ] && echo '$out' | grep -q 'container id .bad/id.'" 

# 3. KILL goes to the job's init: the supervisor still cleans up
B2=$T/b2
bundle "$B2" runc-rootless '["sh", "-c", "echo started; exec sleep 60"]'
runtime_run "$B2" node.u.$I.2.0
wait_for "started $B2 node.u.$I.2.0"
"$G" kill -a node.u.$I.2.0 KILL 2>"$T/e"; krc=$?
wait_for "[ -s $B2/rc ]"
check "runc spec --rootless bundle, root: kill -a ID KILL: RunTimeRun exits 137 and its supervisor removed the state entry" \
	"[ $krc = 0 ] && [ \"\$(cat $B2/rc)\" = 137 ] && [ ! -e /tmp/gridrun-$U/node.u.$I.2.0 ]" "$T/e" "$B2/err"

# 4. delete: refused while running, --force ends it
B3=$T/b3
bundle "$B3" crun '["sh", "-c", "echo started; exec sleep 60"]'
runtime_run "$B3" node.u.$I.3.0
wait_for "started $B3 node.u.$I.3.0"
out=$("$G" delete node.u.$I.3.0 2>&1); rc=$?
check "delete of a running job without --force: one line, exit 125, the job runs on" \
	"[ $rc = 125 ] && [ \$(echo '$out' | wc -l) = 1 ] && echo '$out' | grep -q 'is running' && running node.u.$I.3.0"
GRIDRUN_OCI_DELETE_WAIT=20 "$G" delete --force node.u.$I.3.0 2>"$T/e"; rc=$?
wait_for "[ -s $B3/rc ]"
check "crun spec bundle: delete --force: the job ends (TERM: 143), state stopped, exit 0" \
	"[ $rc = 0 ] && [ \"\$(cat $B3/rc)\" = 143 ] && ! running node.u.$I.3.0" "$T/e" "$B3/err"

# 5. forged entries in the user's own state directory: root must not
# signal a process that is not the user's, nor a reused pid
sleep 300 & victim=$!; PIDS="$PIDS $victim"
vstart=$(sed 's/.*) //' /proc/$victim/stat | cut -d' ' -f20)
D=/tmp/gridrun-$U
forge() { # ID JSON
	setpriv --reuid $U --regid $U --clear-groups sh -c "mkdir -p $D/$1 && printf '%s' '$2' >$D/$1/state.json"
}
forge forged.root "{\"supervisor_pid\": $victim, \"supervisor_start\": $vstart, \"pid\": $victim, \"pid_start\": $vstart}"
"$G" kill -a forged.root KILL 2>"$T/e"; r1=$?; "$G" delete --force forged.root 2>>"$T/e"; r2=$?
st=$("$G" state forged.root | jq -r .status)
check "a user's entry naming root's process (right pid and start time): not signalled, stopped" \
	"[ $r1$r2 = 00 ] && kill -0 $victim && [ $st = stopped ]" "$T/e"
setpriv --reuid $U --regid $U --clear-groups sleep 300 & uvictim=$!; PIDS="$PIDS $uvictim"
wait_for "[ \"\$(stat -c %u /proc/$uvictim)\" = $U ]"
forge forged.reuse "{\"supervisor_pid\": $uvictim, \"supervisor_start\": $((vstart - 1)), \"pid\": $uvictim, \"pid_start\": 1}"
"$G" kill -a forged.reuse KILL 2>"$T/e"; r1=$?
st=$("$G" state forged.reuse | jq -r .status)
check "pid reuse: an entry whose pid now is another process (start time differs) is stopped and not signalled" \
	"[ $r1 = 0 ] && kill -0 $uvictim && [ $st = stopped ]" "$T/e"
# the control: the same forged entry naming the user's own live process is
# believed (so the two refusals above are the checks', not a parse failure)
forge forged.own "{\"supervisor_pid\": $uvictim, \"supervisor_start\": $(sed 's/.*) //' /proc/$uvictim/stat | cut -d' ' -f20)}"
st=$("$G" state forged.own | jq -r '.status + " " + (.owner|tostring)')
check "control: an entry naming a live process of the directory's owner is believed (created, owner $U)" \
	"[ \"$st\" = 'created $U' ]"

# --pid-file as root in a directory the user can write: refused before the job
mkdir "$T/udir" && chown $U "$T/udir"
out=$(cd "$B3" && "$G" run --bundle "$B3" --pid-file "$T/udir/pid" node.u.$I.4.0 2>&1); rc=$?
check "root: --pid-file in a user-writable directory is refused: one line naming it, exit 125, nothing written" \
	"[ $rc = 125 ] && [ \$(echo '$out' | wc -l) = 1 ] && echo '$out' | grep -q -- '--pid-file .$T/udir/pid.: its directory must be owned' && [ -z \"\$(ls -A $T/udir)\" ]"

# 6. the old form still works: `gridrun run path/spec.json`
mkdir -p "$T/plain" && sed 's|"args": \["sh"\]|"args": ["sh", "-c", "exit 7"]|' \
	"$SRC/tests/specs/good/oci-trimmed.json" >"$T/plain/spec.json"
(cd "$T" && "$G" run plain/spec.json >/dev/null 2>"$T/e"); rc=$?
check "gridrun run DIR/spec.json is still a spec (exit 7)" "[ $rc = 7 ]" "$T/e"
(cd "$T/plain" && "$G" run spec.json >/dev/null 2>"$T/e"); rc=$?
check "gridrun run spec.json (an existing *.json) is still a spec (exit 7)" "[ $rc = 7 ]" "$T/e"

# 7. "running" only once the job's program runs: strace holds every execve
# (after its own first) for 2 s, so the job's init exists long before the
# job's program is exec'd; the state says created meanwhile
has_pid() { "$G" state "$1" 2>/dev/null | jq -e .pid >/dev/null 2>&1; }
B5=$T/b5
bundle "$B5" runc '["sh", "-c", "echo started; exec sleep 60"]'
WRAP="strace -f -qq -o /dev/null -e trace=execve -e inject=execve:delay_enter=2000000:when=2+"
runtime_run "$B5" node.u.$I.5.0
WRAP=
wait_for "has_pid node.u.$I.5.0"
"$G" state node.u.$I.5.0 >"$T/st5.json" 2>&1
check "before the job's exec (held by strace): state created, with its init's pid; the job printed nothing yet" \
	"[ \"\$(jget $T/st5.json status)\" = created ] && [ \"\$(jget $T/st5.json pid)\" -gt 0 ] && ! grep -q started $B5/out" \
	"$T/st5.json" "$B5/err"
wait_for "started $B5 node.u.$I.5.0"
check "after the job's exec: running" "running node.u.$I.5.0" "$T/st.json" "$B5/err"
"$G" kill --all node.u.$I.5.0 KILL
wait_for "[ -s $B5/rc ]"

# 8. one id, two jobs: the second is refused (one line, exit 125) and the
# first runs on, unharmed
B6=$T/b6
bundle "$B6" runc '["sh", "-c", "echo started; exec sleep 60"]'
runtime_run "$B6" node.u.$I.6.0
wait_for "started $B6 node.u.$I.6.0"
(cd "$B6" && env -i PATH=/usr/bin:/bin setpriv --reuid $U --regid $U --clear-groups \
	"$G" run --bundle "$B6" node.u.$I.6.0 >"$T/d1.out" 2>&1); rc=$?
errlines "$T/d1.out" >"$T/d1.err"
check "the user's id again: refused with one line (already running), exit 125; the first job runs on" \
	"[ $rc = 125 ] && [ \$(wc -l <$T/d1.err) = 1 ] && grep -q 'job .node.u.$I.6.0. is already running' $T/d1.err && running node.u.$I.6.0" \
	"$T/d1.out"
"$G" kill --all node.u.$I.6.0
wait_for "[ -s $B6/rc ]"
# root, two state directories: the ids meet at the job cgroup gridrun-ID
cgdirs() { find /sys/fs/cgroup -maxdepth 9 -type d -name "gridrun-$1" 2>/dev/null | wc -l; }
rstate() { GRIDRUN_STATE_DIR=$1 "$G" state "$2" 2>/dev/null | jq -r .status; }
mkdir -p "$T/sa" "$T/sb"
B7=$T/b7   # root's: its job's uid (not root) gets the mount targets made for it
gt_oci_bundle "$B7" runc '["sh", "-c", "echo started; exec sleep 60"]' && mkdir "$B7/rootfs/proc" "$B7/rootfs/dev" "$B7/rootfs/sys"
(cd "$B7" && GRIDRUN_STATE_DIR=$T/sa "$G" run -b "$B7" node.u.$I.7.0 >"$B7/out" 2>"$B7/err"; echo $? >"$B7/rc") &
PIDS="$PIDS $!"
wait_for "grep -q '^started\$' $B7/out && [ \"\$(rstate $T/sa node.u.$I.7.0)\" = running ]"
ncg=$(cgdirs node.u.$I.7.0)
(cd "$B7" && GRIDRUN_STATE_DIR=$T/sb "$G" run -b "$B7" node.u.$I.7.0 >"$T/d2.out" 2>&1); rc=$?
errlines "$T/d2.out" >"$T/d2.err"
check "root, another state directory, the same id: refused with one line (its cgroup exists), exit 125, no state entry in that directory" \
	"[ $rc = 125 ] && [ \$(wc -l <$T/d2.err) = 1 ] && grep -q 'gridrun-node.u.$I.7.0. exists: a job with this id is running' $T/d2.err && [ -z \"\$(ls -A $T/sb | grep -vx records)\" ] && [ \"\$(rstate $T/sa node.u.$I.7.0)\" = running ] && [ \$(cgdirs node.u.$I.7.0) = $ncg ]" \
	"$T/d2.out"
GRIDRUN_STATE_DIR=$T/sa "$G" kill --all node.u.$I.7.0
wait_for "[ -s $B7/rc ]"
check "the first job ran on unharmed: running with its $ncg cgroup(s) meanwhile, ended by TERM (143), its cgroups removed" \
	"[ $ncg -gt 0 ] && [ \"\$(cat $B7/rc)\" = 143 ] && [ \$(cgdirs node.u.$I.7.0) = 0 ]" "$B7/err"

# 9. create and start the runc way, as the job's user (RunTimeCreate,
# RunTimeStart), root querying: create sets the job up and holds it before
# its exec, exits 0 with its supervisor detached (its own session); start
# lets it run; it ends by itself; stopped, nothing left
as_user() { # BUNDLE NAME COMMAND...: from the bundle, as the user, bare env; output to BUNDLE/NAME.{out,err}
	b=$1; nm=$2; shift 2
	(cd "$b" && env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin setpriv --reuid $U --regid $U --clear-groups \
		/bin/sh -c "$*" >"$b/$nm.out" 2>"$b/$nm.err")
}
udir=/tmp/gridrun-$U
ostate() { "$G" state "$1" 2>/dev/null | jq -r .status; }
entries() { ls -A "$udir" 2>/dev/null | grep -vx records | grep -c "$1"; }
ppid_of() { ps -o ppid= -p "$1" | tr -d ' '; }
sid_of() { ps -o sid= -p "$1" | tr -d ' '; }
# no such process, or a zombie (create's caller is gone: whoever reaps it may be slow)
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
B9=$T/b9
# (it runs until the test creates rootfs/go: slow guests take their time)
bundle "$B9" runc '["sh", "-c", "echo started; while [ ! -e /go ]; do sleep 0.05; done; exit 5"]'
as_user "$B9" create "$G create --bundle $B9 --pid-file $B9/pid node.u.$I.9.0"; rc=$?
"$G" state node.u.$I.9.0 >"$T/st9.json" 2>&1
ipid=$(cat "$B9/pid" 2>/dev/null); sup=$(ppid_of "${ipid:-1}")
check "create (as the user): exit 0; root's state says created, pid = --pid-file's = the job's init, alive; the program has not run" \
	"[ $rc = 0 ] && [ \"\$(jget $T/st9.json status)\" = created ] && [ \"\$(jget $T/st9.json pid)\" = '$ipid' ] && kill -0 $ipid && ! grep -q started $B9/create.out" \
	"$T/st9.json" "$B9/create.err"
check "create's supervisor runs on detached: the init's parent leads its own session, not the caller's" \
	"[ -n '$sup' ] && [ \"\$(sid_of $sup)\" = '$sup' ] && [ '$sup' != \$\$ ]"
sleep 0.3
check "held: still created, the program has not run" \
	"[ \"\$(ostate node.u.$I.9.0)\" = created ] && ! grep -q started $B9/create.out" "$B9/create.err"
as_user "$B9" start "$G start node.u.$I.9.0"; rc=$?
"$G" state node.u.$I.9.0 >"$T/st9.json" 2>&1
check "start (as the user): exit 0, and the state says running at once (same pid)" \
	"[ $rc = 0 ] && [ \"\$(jget $T/st9.json status)\" = running ] && [ \"\$(jget $T/st9.json pid)\" = '$ipid' ]" \
	"$T/st9.json" "$B9/start.err"
wait_for "grep -q '^started\$' $B9/create.out"
check "the job's program runs, its output on create's stdout" "grep -q '^started\$' $B9/create.out" "$B9/create.err"
as_user "$B9" start2 "$G start node.u.$I.9.0"; rc=$?
check "start of a started job: one line (started already), exit 125" \
	"[ $rc = 125 ] && [ \$(wc -l <$B9/start2.err) = 1 ] && grep -q 'started already' $B9/start2.err" "$B9/start2.err"
touch "$B9/rootfs/go"
wait_for "[ \"\$(ostate node.u.$I.9.0)\" = stopped ] && gone $sup"
check "after its exit: stopped; no state entry, cgroup or process left; its record says exit 5" \
	"[ \"\$(ostate node.u.$I.9.0)\" = stopped ] && [ \$(entries node.u.$I.9.0) = 0 ] && [ \$(cgdirs node.u.$I.9.0) = 0 ] && gone $ipid && gone $sup && [ \"\$(jq .exit_code $udir/records/node.u.$I.9.0.json)\" = 5 ]" \
	"$B9/create.err"

# 10. create, then delete (root, as RunTimeDelete): a job never started is
# ended at once; nothing is left and its program never ran
B10=$T/b10
bundle "$B10" runc '["sh", "-c", "echo started; exec sleep 60"]'
as_user "$B10" create "$G create -b $B10 --pid-file $B10/pid node.u.$I.10.0"; rc=$?
ipid=$(cat "$B10/pid" 2>/dev/null); sup=$(ppid_of "${ipid:-1}")
ncg=$(cgdirs node.u.$I.10.0)
"$G" delete node.u.$I.10.0 >"$T/d10.out" 2>&1; drc=$?
check "delete of a created job (no --force): exit 0, stopped; no process, cgroup or state entry left, the program never ran" \
	"[ $rc = 0 ] && [ $drc = 0 ] && [ \"\$(ostate node.u.$I.10.0)\" = stopped ] && gone $ipid && gone $sup && [ \$(cgdirs node.u.$I.10.0) = 0 ] && [ \$(entries node.u.$I.10.0) = 0 ] && ! grep -q started $B10/create.out" \
	"$T/d10.out" "$B10/create.err"
# root's job has cgroups (the user's, on cgroup v1, has none)
B10r=$T/b10r
gt_oci_bundle "$B10r" runc '["sh", "-c", "echo started; exec sleep 60"]' && mkdir "$B10r/rootfs/proc" "$B10r/rootfs/dev" "$B10r/rootfs/sys"
(cd "$B10r" && GRIDRUN_STATE_DIR=$T/sa "$G" create -b "$B10r" --pid-file "$B10r/pid" node.u.$I.10.1 >"$B10r/out" 2>"$B10r/err"); rc=$?
ipid=$(cat "$B10r/pid" 2>/dev/null); sup=$(ppid_of "${ipid:-1}")
ncg=$(cgdirs node.u.$I.10.1)
GRIDRUN_STATE_DIR=$T/sa "$G" delete node.u.$I.10.1 >"$T/d10.out" 2>&1; drc=$?
check "root: delete of a created job: its $ncg cgroup(s) removed, no process or state entry left, the program never ran" \
	"[ $rc = 0 ] && [ $drc = 0 ] && [ $ncg -gt 0 ] && [ \"\$(rstate $T/sa node.u.$I.10.1)\" = stopped ] && gone $ipid && gone $sup && [ \$(cgdirs node.u.$I.10.1) = 0 ] && [ -z \"\$(ls -A $T/sa | grep -vx records)\" ] && ! grep -q started $B10r/out" \
	"$T/d10.out" "$B10r/err"

# 11. create, then kill (root, as RunTimeKill), TERM and KILL: the held job
# ends, stopped, nothing left
for k in TERM KILL; do
	B11=$T/b11$k
	bundle "$B11" runc '["sh", "-c", "echo started; exec sleep 60"]'
	as_user "$B11" create "$G create -b $B11 --pid-file $B11/pid node.u.$I.11.$k"; rc=$?
	ipid=$(cat "$B11/pid" 2>/dev/null); sup=$(ppid_of "${ipid:-1}")
	"$G" kill --all node.u.$I.11.$k $k >"$T/k11.out" 2>&1; krc=$?
	wait_for "gone $sup"
	check "kill $k of a created job: exit 0, stopped; no process, cgroup or state entry left, the program never ran" \
		"[ $rc = 0 ] && [ $krc = 0 ] && [ \"\$(ostate node.u.$I.11.$k)\" = stopped ] && gone $ipid && [ \$(cgdirs node.u.$I.11.$k) = 0 ] && [ \$(entries node.u.$I.11.$k) = 0 ] && ! grep -q started $B11/create.out" \
		"$T/k11.out" "$B11/create.err"
done

# 12. bad input: one line, exit 125, nothing left
as_user "$B9" bad1 "$G start node.u.$I.nosuch"; rc=$?
check "start of an unknown id: one line (no job), exit 125" \
	"[ $rc = 125 ] && [ \$(wc -l <$B9/bad1.err) = 1 ] && grep -q 'start: no job' $B9/bad1.err" "$B9/bad1.err"
as_user "$B9" bad2 "$G create -b $B9 ../x"; rc=$?
check "create with a bad id: one line naming it, exit 125, no supervisor left" \
	"[ $rc = 125 ] && [ \$(errlines $B9/bad2.err | wc -l) = 1 ] && grep -q 'container id' $B9/bad2.err && [ \$(entries x) = 0 ]" "$B9/bad2.err"
mkdir -p "$T/empty" && chown $U "$T/empty"
as_user "$T/empty" bad3 "$G create -b $T/empty node.u.$I.12.0"; rc=$?
check "create of a bundle without config.json: one line, exit 125, no state entry" \
	"[ $rc = 125 ] && [ \$(wc -l <$T/empty/bad3.err) = 1 ] && [ \$(entries node.u.$I.12.0) = 0 ]" "$T/empty/bad3.err"
B12=$T/b12
bundle "$B12" runc '["sh", "-c", "echo started; exec sleep 60"]'
as_user "$B12" create "$G create -b $B12 node.u.$I.12.1"
as_user "$B12" dup "$G create -b $B12 node.u.$I.12.1"; rc=$?
check "create of an id that exists: one line (already running), exit 125; the first stays created" \
	"[ $rc = 125 ] && [ \$(errlines $B12/dup.err | wc -l) = 1 ] && grep -q 'already running' $B12/dup.err && [ \"\$(ostate node.u.$I.12.1)\" = created ]" "$B12/dup.err"
"$G" delete node.u.$I.12.1

# 13. plain `kill ID KILL` (no --all) goes to the job's init too: the
# supervisor outlives it and cleans up (killed itself, it left the state
# entry and the cgroups to gc)
B13=$T/b13
gt_oci_bundle "$B13" runc '["sh", "-c", "echo started; exec sleep 60"]' && mkdir "$B13/rootfs/proc" "$B13/rootfs/dev" "$B13/rootfs/sys"
(cd "$B13" && GRIDRUN_STATE_DIR=$T/sa "$G" run -b "$B13" node.u.$I.13.0 >"$B13/out" 2>"$B13/err"; echo $? >"$B13/rc") &
PIDS="$PIDS $!"
wait_for "grep -q '^started\$' $B13/out && [ \"\$(rstate $T/sa node.u.$I.13.0)\" = running ]"
GRIDRUN_STATE_DIR=$T/sa "$G" kill node.u.$I.13.0 KILL >"$T/k13.out" 2>&1; krc=$?
wait_for "[ -s $B13/rc ]"
check "root: kill ID KILL: exit 0, the run exits 137, its state entry and cgroups are gone" \
	"[ $krc = 0 ] && [ \"\$(cat $B13/rc)\" = 137 ] && [ -z \"\$(ls -A $T/sa | grep -vx records)\" ] && [ \$(cgdirs node.u.$I.13.0) = 0 ]" \
	"$T/k13.out" "$B13/err"

stop
trap - EXIT
gt_tap_status
