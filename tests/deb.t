#!/bin/bash
# deb.t - `make deb` builds the Debian package (lintian: no errors), and the
# package installs, runs a job and purges cleanly in a scratch root: a
# private mount namespace with overlays over /usr, /etc and /var (upper dirs
# in a scratch directory, the host's dirs below, untouched) and a tmpfs on
# /run, so no maintainer script reaches the host's systemd. Checks the
# paths and modes, the helper's setuid bit or file capabilities (postinst's
# choice), the conffile, `systemd-analyze verify` of the units, a job run by
# the installed /usr/bin/gridrun, and that purge leaves nothing behind.
set -u
SRC=${GRIDRUN_SRC:?GRIDRUN_SRC: the source tree}
if [ -z "${GR_DEB_INNER:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "1..1"; echo "not ok 1 - deb.t needs root (a private mount namespace)"; exit 0; }
	D=$(mktemp -d /tmp/gridrun-test.XXXXXX)
	trap 'rm -rf "$D"' EXIT
	unset MAKEFLAGS MFLAGS MAKELEVEL
	B=$D/build
	start=$(date +%s)
	DEB_BUILD_OPTIONS="parallel=$(nproc) noautodbgsym nocheck" make -s -C "$SRC" deb BUILD="$B" >"$D/make.log" 2>&1
	rc=$?
	echo "# make deb: $(( $(date +%s) - start )) s"
	GR_DEB_INNER=1 GR_DEB_RC=$rc GR_DEB_DIR=$D unshare -m --propagation private "$0"
	exit $?
fi

D=$GR_DEB_DIR
n=0
t() { n=$((n + 1)); if [ "$1" = "$2" ]; then echo "ok $n - $3"; else echo "not ok $n - $3 (got '$1', want '$2')"; fi; }
echo "1..35"
t "$GR_DEB_RC" 0 "make deb (dpkg-buildpackage, lintian --fail-on error) exits 0"
[ "$GR_DEB_RC" = 0 ] || sed 's/^/# /' "$D/make.log" | tail -n 40
deb=$(ls "$D"/build/deb/gridrun_*_*.deb 2>/dev/null | head -n 1)
bu=$(dpkg-deb -f "$deb" Built-Using 2>/dev/null)
# postinst's setcap comes from libcap2-bin
case ", $(dpkg-deb -f "$deb" Depends 2>/dev/null), " in *", libcap2-bin, "*) t yes yes "Depends names libcap2-bin";;
*) t "$(dpkg-deb -f "$deb" Depends 2>/dev/null)" "..., libcap2-bin" "Depends names libcap2-bin";; esac
for s in jansson libinih libseccomp libcap2 libnl3 zlib libcgroup; do
	case "$bu" in *"$s (= "*) t yes yes "Built-Using names $s";; *) t "$bu" "$s (= ...)" "Built-Using names $s";; esac
done

for d in usr etc var; do
	mkdir -p "$D/upper/$d" "$D/work/$d"
	mount -t overlay overlay -o "lowerdir=/$d,upperdir=$D/upper/$d,workdir=$D/work/$d" "/$d" || exit 1
done
mount -t tmpfs tmpfs /run || exit 1
out=$(DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" 2>&1); rc=$?
t "$rc" 0 "dpkg -i exits 0"; [ "$rc" = 0 ] || printf '%s\n' "$out" | sed 's/^/# /'
want() { # PATH MODE OWNER
	t "$(stat -c '%a %U' "$1" 2>/dev/null)" "$2 $3" "$1 is $2 $3"
}
want /usr/bin/gridrun 755 root
want /usr/bin/gridrun-exporter 755 root
want /usr/bin/gridrun-condor 755 root
want /usr/libexec/gridrun/gridrun-helper 4755 root
want /usr/share/gridrun/seccomp/grid-default.json 644 root
want /usr/share/gridrun/seccomp/strict.json 644 root
want /usr/share/gridrun/gridrun-helper.caps 644 root
want /usr/share/bash-completion/completions/gridrun 644 root
want /etc/gridrun/gridrun.conf 644 root
pages=$(ls /usr/share/man/man1/gridrun.1.gz /usr/share/man/man1/gridrun-condor.1.gz \
	/usr/share/man/man8/gridrun-exporter.8.gz /usr/share/man/man8/gridrun-helper.8.gz \
	/usr/share/man/man5/gridrun.conf.5.gz /usr/share/man/man5/gridrun-spec.5.gz 2>/dev/null | wc -l)
t "$pages" 6 "the six man pages are installed"
case "$(dpkg-query -W -f='${Conffiles}' gridrun)" in
*/etc/gridrun/gridrun.conf*) t yes yes "/etc/gridrun/gridrun.conf is a conffile";;
*) t no yes "/etc/gridrun/gridrun.conf is a conffile";; esac
t "$(grep -cv '^[#;]\|^$' /etc/gridrun/gridrun.conf)" 0 "gridrun.conf is commented out (no pools until the site writes some)"
t "$(grep -c '^# \[pool atlas\]' /etc/gridrun/gridrun.conf)" 1 "gridrun.conf carries the commented sample"
for u in gridrun-exporter.service gridrun-gc.service gridrun-gc.timer; do
	out=$(systemd-analyze verify "/lib/systemd/system/$u" 2>&1); rc=$?
	t "$rc${out:+ $out}" 0 "systemd-analyze verify $u"
done
t "$(grep -c '^ProtectSystem=strict$\|^NoNewPrivileges=yes$\|^DynamicUser=yes$' /lib/systemd/system/gridrun-exporter.service)" 3 \
	"gridrun-exporter.service: unprivileged, ProtectSystem=strict, NoNewPrivileges"
t "$(readlink /etc/systemd/system/timers.target.wants/gridrun-gc.timer)" /lib/systemd/system/gridrun-gc.timer \
	"gridrun-gc.timer is enabled"

# a job, run by the installed binary (root mode), with the installed profile
mkdir -p "$D/job"
printf '{"process":{"args":["/bin/sh","-c","echo job-ran"]},"gridrun":{"seccomp_profile":"strict","sandbox":"%s"}}\n' "$D/job" >"$D/job.json"
out=$(cd "$D/job" && GRIDRUN_STATE_DIR=$D/state /usr/bin/gridrun run "$D/job.json" 2>&1); rc=$?
t "$rc $out" "0 job-ran" "a job runs with the installed /usr/bin/gridrun"
t "$(/usr/bin/gridrun ps --config /etc/gridrun/gridrun.conf >/dev/null 2>&1; echo $?)" 0 \
	"the installed gridrun.conf loads"

# helper mode by file capabilities: postinst's other choice
echo caps >/etc/gridrun/helper-mode
/var/lib/dpkg/info/gridrun.postinst configure >/dev/null 2>&1
want /usr/libexec/gridrun/gridrun-helper 755 root
capset() { tr -d ' \n' | sed 's/=p$//' | tr ',' '\n' | sort | tr '\n' ' '; }
t "$(getcap /usr/libexec/gridrun/gridrun-helper | sed 's/.* //' | capset)" \
	"$(capset </usr/share/gridrun/gridrun-helper.caps)" \
	"postinst with helper-mode caps: exactly /usr/share/gridrun/gridrun-helper.caps"

out=$(DEBIAN_FRONTEND=noninteractive dpkg --purge gridrun 2>&1); rc=$?
t "$rc" 0 "dpkg --purge exits 0"; [ "$rc" = 0 ] || printf '%s\n' "$out" | sed 's/^/# /'
# (var/cache/man is man-db's cache, filled by systemd-analyze's man: checks)
left=$(cd "$D/upper" && find . -path ./var/cache/man -prune -o -name '*gridrun*' -print | tr '\n' ' ')
t "$left" "" "purge leaves no gridrun file in /usr, /etc or /var"
t "$(dpkg-query -W -f='${db:Status-Abbrev}' gridrun 2>/dev/null)" "" "dpkg forgets the package"
