#!/bin/bash
# make-deps.t - on a fresh machine the Debian packages arrive during the
# build (scripts/install-deps.sh, called through the goal's stamp), so what
# the Makefile detects when it is read must be detected again after they
# arrive: here a stand-in install script puts bpftool on PATH, where make
# could not find it when it first read the Makefile, and gridrun-lsm must
# still be part of the build (a fresh CI machine once built no gridrun-lsm,
# and every BPF LSM test failed).
set -u
SRC=${GRIDRUN_SRC:?GRIDRUN_SRC: the source tree}
echo "1..3"
unset MAKEFLAGS MFLAGS MAKELEVEL
T=$(mktemp -d /tmp/gridrun-test.make-deps.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/bin"
BPFTOOL=$(command -v bpftool || echo /usr/sbin/bpftool)
cat >"$T/install" <<EOS
#!/bin/sh
echo "\$1" >>"$T/sets"
ln -sf "$BPFTOOL" "$T/bin/bpftool"
EOS
chmod +x "$T/install"

out=$(env PATH="$T/bin:/usr/bin:/bin" make -s -C "$SRC" BUILD="$T/build" INSTALL_DEPS="$T/install" \
	LSM_SBIN="$T/none" detected 2>&1)
rc=$?
if [ "$rc" = 0 ] && printf '%s\n' "$out" | grep -qx "lsm: $T/build/gridrun-lsm"; then
	echo "ok 1 - bpftool installed by the goal's stamp is found: gridrun-lsm is built"
else
	echo "not ok 1 - make detected exits $rc and finds no bpftool installed during the build"
	printf '%s\n' "$out" | sed 's/^/# /'
fi
if [ "$(cat "$T/sets" 2>/dev/null)" = build ]; then
	echo "ok 2 - the install script ran once, for the goal's set (build)"
else
	echo "not ok 2 - the install script ran for: $(tr '\n' ' ' <"$T/sets" 2>/dev/null)"
fi
# made once: a second make reads the stamp and installs nothing
env PATH="$T/bin:/usr/bin:/bin" make -s -C "$SRC" BUILD="$T/build" INSTALL_DEPS="$T/install" \
	LSM_SBIN="$T/none" detected >/dev/null 2>&1
if [ "$(wc -l <"$T/sets")" = 1 ]; then
	echo "ok 3 - a second make finds the stamp and runs no install"
else
	echo "not ok 3 - the install script ran $(wc -l <"$T/sets") times"
fi
