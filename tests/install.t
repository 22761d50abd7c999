#!/bin/bash
# install.t - the README's `make install`, into a scratch DESTDIR: every
# program and profile lands where the README and condor/README.md say, with
# its mode; gridrun-helper setuid root (helper mode's only privileged code).
set -u
SRC=${GRIDRUN_SRC:?GRIDRUN_SRC: the source tree}
echo "1..7"
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
