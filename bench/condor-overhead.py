#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""gridrun-condor's overhead per job on top of `gridrun run`.

    bench/condor-overhead.py BUILD_DIR [N]      (as root; N jobs each, default 200)

Runs /bin/true N times each way, interleaved, in one HTCondor-like slot
(EXECUTE/dir_<pid>/{scratch,user}, .job.ad/.machine.ad, a loopback Chirp
server that takes the cookie and the set_job_attr_delayed lines):
  run      `gridrun run SPEC` with the spec gridrun-condor would build
           (sandbox, the EXECUTE cover, the record in scratch)
  condor   `gridrun-condor /bin/true` with the starter's environment: ads
           parsed, spec built, gridrun run, record read, final Chirp update
  nochirp  the same without _CONDOR_CHIRP_CONFIG (no Chirp update)
and prints the medians (ms, start to exit, measured by perf_counter_ns
around the child; and CPU, user+sys of the child's whole tree from
RUSAGE_CHILDREN, which a loaded host does not inflate) and their difference: the wrapper's overhead (spec
building + Chirp + one extra fork/exec). Exit 1 if a job failed or a
Chirp update was missing.
"""
import json
import os
import resource
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time


def chirp_server(sock, cookie, got):
    while True:
        try:
            conn, _ = sock.accept()
        except OSError:
            return
        with conn, conn.makefile("rw") as f:
            line = f.readline().strip()
            if line != "cookie " + cookie:
                f.write("-1\n")
                continue
            f.write("0\n")
            f.flush()
            for line in f:
                parts = line.split(" ", 2)
                if parts[0] == "set_job_attr_delayed" and len(parts) == 3:
                    got.append(parts[1])
                    f.write("0\n")
                else:
                    f.write("-1\n")
                f.flush()


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: condor-overhead.py BUILD_DIR [N]")
    build = os.path.abspath(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    tmp = tempfile.mkdtemp(prefix="gridrun-test.")
    os.chmod(tmp, 0o755)
    try:
        execute = os.path.join(tmp, "execute")
        d = os.path.join(execute, "dir_%d" % os.getpid())
        scratch, user = os.path.join(d, "scratch"), os.path.join(d, "user")
        for p in (scratch, user):
            os.makedirs(p, 0o755)
        with open(os.path.join(scratch, ".job.ad"), "w") as f:
            f.write('ClusterId = 1\nCmd = "/bin/true"\nIwd = "%s"\nKillSig = "SIGTERM"\n'
                    'Owner = "atlas001"\nProcId = 0\nRequestCpus = 1\nRequestMemory = 2048\n'
                    'Requirements = (TARGET.Arch == "X86_64")\nx509UserProxyVOName = "atlas"\n' % scratch)
        with open(os.path.join(scratch, ".machine.ad"), "w") as f:
            f.write('Cpus = 1\nMemory = 2048\nName = "slot1_1@wn"\n')
        cookie = secrets.token_hex(16)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        got = []
        threading.Thread(target=chirp_server, args=(sock, cookie, got), daemon=True).start()
        with open(os.path.join(user, ".chirp.config"), "w") as f:
            f.write("127.0.0.1 %d %s\n" % (sock.getsockname()[1], cookie))
        state = os.path.join(tmp, "state")
        record = os.path.join(scratch, ".gridrun-record.json")
        env = {"PATH": "/usr/bin:/bin", "BATCH_SYSTEM": "HTCondor", "_CONDOR_SCRATCH_DIR": scratch,
               "_CONDOR_JOB_IWD": scratch, "_CONDOR_SLOT": "slot1_1",
               "_CONDOR_JOB_AD": os.path.join(scratch, ".job.ad"),
               "_CONDOR_MACHINE_AD": os.path.join(scratch, ".machine.ad"),
               "_CONDOR_CHIRP_CONFIG": os.path.join(user, ".chirp.config"),
               "_CHIRP_DELAYED_UPDATE_PREFIX": "Chirp*",
               "_CONDOR_WRAPPER_ERROR_FILE": os.path.join(scratch, ".job_wrapper_failure"),
               "GRIDRUN_STATE_DIR": state, "GRIDRUN_CONFIG": os.path.join(tmp, "none.conf")}
        with open(env["GRIDRUN_CONFIG"], "w") as f:
            f.write("[runtime]\n")
        os.chmod(env["GRIDRUN_CONFIG"], 0o644)
        spec = {"ociVersion": "1.0.2",
                "process": {"args": ["/bin/true"], "env": ["%s=%s" % kv for kv in env.items()], "cwd": scratch},
                "hostname": socket.gethostname(),
                "mounts": [{"destination": execute, "type": "tmpfs", "options": ["size=64k", "noexec"]},
                           {"destination": scratch, "source": scratch, "type": "bind", "options": ["rbind"]}],
                "gridrun": {"job_id": "condor-1.0-slot1_1", "sandbox": scratch, "accounting": record,
                            "network": "host"}}
        spec_path = os.path.join(tmp, "spec.json")
        with open(spec_path, "w") as f:
            json.dump(spec, f)
        ways = {"run": [os.path.join(build, "gridrun"), "run", spec_path],
                "condor": [os.path.join(build, "gridrun-condor"), "/bin/true"],
                "nochirp": [os.path.join(build, "gridrun-condor"), "/bin/true"]}
        nochirp_env = {k: v for k, v in env.items() if k != "_CONDOR_CHIRP_CONFIG"}
        times = {k: [] for k in ways}
        cpu = {k: [] for k in ways}
        failed = 0
        for i in range(n + 3):
            for k, argv in ways.items():
                r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                t0 = time.perf_counter_ns()
                rc = subprocess.run(argv, env=nochirp_env if k == "nochirp" else env, cwd=scratch,
                                    stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL if k == "nochirp" else None).returncode
                dt = time.perf_counter_ns() - t0
                r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                failed += rc != 0
                if i >= 3:  # warm-up rounds
                    times[k].append(dt / 1e6)
                    cpu[k].append((r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime) * 1e3)
        run, condor = statistics.median(times["run"]), statistics.median(times["condor"])
        nochirp = statistics.median(times["nochirp"])
        chirped = got.count("ChirpGridrunCpuUserUsec")  # the nochirp runs send none
        print("jobs per way: %d (interleaved, after 3 warm-up rounds)" % n)
        print("gridrun run     median %.2f ms" % run)
        print("gridrun-condor  median %.2f ms" % condor)
        print("  without Chirp median %.2f ms (no _CONDOR_CHIRP_CONFIG)" % nochirp)
        print("overhead        median %.2f ms per job (spec building + Chirp + one fork/exec)" % (condor - run))
        print("  of which Chirp %.2f ms (8 round trips to this script's Python server)" % (condor - nochirp))
        cr, cc, cn = (statistics.median(cpu[k]) for k in ("run", "condor", "nochirp"))
        print("CPU (user+sys of the whole process tree, from wait4): run %.2f ms, condor %.2f ms, "
              "without Chirp %.2f ms" % (cr, cc, cn))
        print("CPU overhead    median %.2f ms per job, of which Chirp %.2f ms" % (cc - cr, cc - cn))
        print("final Chirp updates received: %d of %d" % (chirped, n + 3))
        sys.exit(1 if failed or chirped != n + 3 else 0)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


main()
