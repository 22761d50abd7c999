#!/bin/sh
# examples/demo.sh GRIDRUN - run one real job in a gridrun sandbox and show
# what it saw: its uid and uid map, PID 1, a private /tmp, a read-only root,
# a sandbox whose sibling sandboxes are invisible, and the accounting record.
set -eu
GRIDRUN=${1:-build/gridrun}
base=$(mktemp -d /tmp/gridrun-demo.XXXXXX)
trap 'rm -rf "$base"' EXIT
chmod 755 "$base"
mkdir -p "$base/execute/dir_1001" "$base/execute/dir_1002"
# a neighbour's grid proxy, which the job must not even see
echo "-----BEGIN PROXY-----" > "$base/execute/dir_1002/x509up"
chmod 600 "$base/execute/dir_1002/x509up"
echo "host-secret" > /tmp/gridrun-demo-host-file.$$
if [ "$(id -u)" = 0 ]; then chown 65534:65534 "$base/execute/dir_1001"; fi
sandbox=$base/execute/dir_1001
cat > "$base/spec.json" <<JSON
{
  "ociVersion": "1.0.2",
  "process": {
    "args": ["/bin/sh", "-c", "echo \"job: uid \$(id -u), uid_map '\$(cat /proc/self/uid_map | tr -s ' ')'\"; echo \"job: my pid is \$\$; PID 1 is \$(cat /proc/1/comm)\"; echo \"job: processes I can see: \$(ls /proc | grep -c '^[0-9]')\"; test -e /tmp/gridrun-demo-host-file.$$ && echo 'job: the host /tmp is visible' || echo 'job: /tmp is private (the host file /tmp/gridrun-demo-host-file.$$ is not there)'; touch /etc/gridrun-demo 2>/dev/null && echo 'job: wrote /etc' || echo 'job: / is read-only (touch /etc/gridrun-demo failed)'; echo \"job: sandboxes visible in execute/: \$(ls $base/execute)\"; echo done > $sandbox/result.txt; echo \"job: wrote $sandbox/result.txt\""],
    "env": ["PATH=/usr/bin:/bin"],
    "cwd": "$sandbox"
  },
  "hostname": "demo-job",
  "gridrun": { "job_id": "demo.0", "sandbox": "$sandbox", "accounting": "$base/record.json" }
}
JSON
echo "== gridrun run $base/spec.json"
set +e
"$GRIDRUN" run "$base/spec.json"
rc=$?
set -e
rm -f /tmp/gridrun-demo-host-file.$$
echo "== exit status: $rc"
echo "== on the host, the job left: $(cat "$sandbox/result.txt")"
echo "== accounting record ($base/record.json):"
cat "$base/record.json"
exit $rc
