#!/bin/bash
# install.t - the README's `make install`, into a scratch DESTDIR: every
# program and profile lands where the README and condor/README.md say, with
# its mode; gridrun-helper setuid root (helper mode's only privileged code);
# the man pages, bash completion, systemd units and the commented
# /etc/gridrun/gridrun.conf; `make uninstall` takes it all away again but
# the site's gridrun.conf. The helper's file capabilities have one list,
# contrib/gridrun-helper.caps, installed beside the profiles: it must name
# exactly what gridrun-helper keeps (runtime/helper/helper.c's kept[]) and
# what its entry alone uses (entry_only[]), the README's
# setcap line must give exactly it, and no other file may spell it out.
set -u
SRC=${GRIDRUN_SRC:?GRIDRUN_SRC: the source tree}
echo "1..29"
unset MAKEFLAGS MFLAGS MAKELEVEL
D=$(mktemp -d /tmp/gridrun-test.XXXXXX)
trap 'rm -rf "$D"' EXIT
out=$(make -s -C "$SRC" install DESTDIR="$D" PREFIX=/usr/local 2>&1)
rc=$?
if [ "$rc" = 0 ]; then echo "ok 1 - make install exits 0"; else echo "not ok 1 - make install exits $rc"; printf '%s\n' "$out" | sed 's/^/# /'; fi
n=1
want() { # PATH MODE OWNER
	n=$((n + 1))
	got=$(stat -c '%a %U' "$D$1" 2>/dev/null)
	if [ "$got" = "$2 $3" ]; then echo "ok $n - $1 is $2 $3"; else echo "not ok $n - $1 is '${got:-missing}', not '$2 $3'"; fi
}
want /usr/local/bin/gridrun 755 root
want /usr/local/bin/gridrun-exporter 755 root
want /usr/local/bin/gridrun-condor 755 root
want /usr/local/libexec/gridrun/gridrun-helper 4755 root
want /usr/local/share/gridrun/seccomp/grid-default.json 644 root
want /usr/local/share/gridrun/seccomp/strict.json 644 root
want /usr/local/share/gridrun/gridrun-helper.caps 644 root
for m in man1/gridrun.1 man1/gridrun-condor.1 man8/gridrun-exporter.8 man8/gridrun-helper.8 \
	man5/gridrun.conf.5 man5/gridrun-spec.5 man8/gridrun-lsm.8; do
	want /usr/local/share/man/$m 644 root
done
want /usr/local/share/bash-completion/completions/gridrun 644 root
want /usr/local/lib/systemd/system/gridrun-exporter.service 644 root
want /usr/local/lib/systemd/system/gridrun-gc.timer 644 root
want /etc/gridrun/gridrun.conf 644 root
# the BPF LSM's loader and unit: installed exactly when the build made it
if [ -x "$SRC/build/gridrun-lsm" ]; then
	want /usr/local/bin/gridrun-lsm 755 root
	want /usr/local/lib/systemd/system/gridrun-lsm.service 644 root
else
	for f in /usr/local/bin/gridrun-lsm /usr/local/lib/systemd/system/gridrun-lsm.service; do
		n=$((n + 1))
		if [ -e "$D$f" ]; then echo "not ok $n - $f installed without gridrun-lsm built"; else echo "ok $n - no $f (gridrun-lsm not built)"; fi
	done
fi
n=$((n + 1))
x=$(sed -n 's/^ExecStart=//p' "$D/usr/local/lib/systemd/system/gridrun-exporter.service" | cut -d' ' -f1)
if [ "$x" = /usr/local/bin/gridrun-exporter ]; then echo "ok $n - the exporter unit runs \$(PREFIX)/bin/gridrun-exporter"; else echo "not ok $n - ExecStart is '$x'"; fi
# gc's unit must leave it the node's mounts and IPC objects: the leftover
# scan that frees a range reads /tmp, /var/tmp, /dev/shm, /run/lock and the
# IPC namespace, and gc remakes the mount template from what it sees
u="$D/usr/local/lib/systemd/system/gridrun-gc.service"
x=$(sed -n 's/^ExecStart=//p' "$u")
ns=$(grep -oE '^(PrivateTmp|PrivateDevices|PrivateIPC|PrivateMounts|PrivateNetwork|PrivateUsers|ProtectSystem|ProtectHome|ProtectKernelTunables|ProtectKernelModules|ProtectKernelLogs|ProtectControlGroups|ProtectProc|ProcSubset|ProtectHostname|ReadOnlyPaths|ReadWritePaths|InaccessiblePaths|ExecPaths|NoExecPaths|TemporaryFileSystem|BindPaths|BindReadOnlyPaths|RootDirectory|RootImage|MountAPIVFS|MountFlags|NetworkNamespacePath|IPCNamespacePath|DynamicUser)=' "$u" 2>/dev/null | tr '\n' ' ')
n=$((n + 1))
if [ "$x" = "/usr/local/bin/gridrun gc" ] && [ -z "$ns" ]; then
	echo "ok $n - the gc unit runs \$(PREFIX)/bin/gridrun gc in the node's own mount and IPC namespaces"
else echo "not ok $n - gc unit: ExecStart '$x', namespace settings '$ns'"; fi
# the helper's capabilities: "a,b,c=p" -> sorted names, one line
capset() { tr -d ' \n' | sed 's/=p$//' | tr ',' '\n' | sort | tr '\n' ' '; }
caps=$(capset <"$SRC/contrib/gridrun-helper.caps")
kept=$(sed -n '/kept\[\] = {/,/};/p; /entry_only\[\] = {/,/};/p' "$SRC/runtime/helper/helper.c" | grep -o 'CAP_[A-Z_]*' |
	tr 'A-Z' 'a-z' | sort | tr '\n' ' ')
n=$((n + 1))
if [ -n "$caps" ] && [ "$caps" = "$kept" ] && grep -qx 'cap_[a-z_,]*=p' "$SRC/contrib/gridrun-helper.caps"; then
	echo "ok $n - gridrun-helper.caps names exactly what gridrun-helper keeps, permitted only"
else echo "not ok $n - gridrun-helper.caps '$caps', helper.c keeps '$kept'"; fi
# the README's lines, as written, on the DESTDIR copy
readme=$(sed -n '/can carry file capabilities/,/^```$/p' "$SRC/README.md" | sed -n '/^```sh$/,/^```$/p' | grep -v '^```')
out=$(PATH=$PATH:/usr/sbin:/sbin; eval "$(printf '%s\n' "$readme" | sed "s|/usr/local/|$D/usr/local/|g")" 2>&1)
got=$(PATH=$PATH:/usr/sbin:/sbin getcap "$D/usr/local/libexec/gridrun/gridrun-helper" | sed 's/.* //' | capset)
n=$((n + 1))
if [ -n "$readme" ] && [ "$got" = "$caps" ] && [ "$(stat -c %a "$D/usr/local/libexec/gridrun/gridrun-helper")" = 755 ]; then
	echo "ok $n - the README's setcap lines give the installed helper exactly gridrun-helper.caps"
else echo "not ok $n - after the README's lines the helper has '$got', want '$caps'"; printf '%s\n' "$readme" "$out" | sed 's/^/# /'; fi
# one list: no other shipped file spells out a setcap argument, and what
# gridrun-helper(8) and the README explain is that list
dups=$(cd "$SRC" && grep -rlE 'cap_[a-z_]+,cap_[a-z_]+' README.md debian man contrib tests/lib |
	grep -vx contrib/gridrun-helper.caps | tr '\n' ' ')
n=$((n + 1))
if [ -z "$dups" ]; then echo "ok $n - no file but contrib/gridrun-helper.caps writes the capability list"
else echo "not ok $n - a second capability list in: $dups"; fi
man8=$(grep -o 'cap_[a-z_]*' "$SRC/man/gridrun-helper.8.scd" | sort -u | tr '\n' ' ')
miss=$(for c in $caps; do sed -n '/^### Helper mode/,/^### [^H]/p' "$SRC/README.md" | grep -q "\`$c\`" || echo "$c"; done | tr '\n' ' ')
n=$((n + 1))
if [ "$man8" = "$caps" ] && [ -z "$miss" ]; then
	echo "ok $n - gridrun-helper(8) names exactly gridrun-helper.caps, the README explains each"
else echo "not ok $n - gridrun-helper(8) names '$man8', want '$caps'; the README does not explain '$miss'"; fi
echo "# the site's file" >>"$D/etc/gridrun/gridrun.conf"
out=$(make -s -C "$SRC" install DESTDIR="$D" PREFIX=/usr/local 2>&1)
n=$((n + 1))
if tail -n 1 "$D/etc/gridrun/gridrun.conf" | grep -q "site's file"; then echo "ok $n - make install keeps an existing gridrun.conf"; else echo "not ok $n - make install overwrote gridrun.conf"; fi
out=$(make -s -C "$SRC" uninstall DESTDIR="$D" PREFIX=/usr/local 2>&1)
n=$((n + 1))
left=$(cd "$D" && find . -type f ! -path ./etc/gridrun/gridrun.conf | tr '\n' ' ')
if [ -z "$left" ]; then echo "ok $n - make uninstall removes every file but gridrun.conf"; else echo "not ok $n - left: $left"; printf '%s\n' "$out" | sed 's/^/# /'; fi
