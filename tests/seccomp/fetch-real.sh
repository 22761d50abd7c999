#!/bin/sh
# tests/seccomp/fetch-real.sh DEST - the real-world seccomp profiles, as
# Debian ships them, into DEST (kept there: a second call does nothing):
#   DEST/podman.json  /usr/share/containers/seccomp.json of golang-github-containers-common
#   DEST/docker.json  .../docker/profiles/seccomp/default.json of golang-github-docker-docker-dev
# Taken out with apt-get download + dpkg-deb -x (the second package is not
# installed: that would pull ~80 Go packages). Their text is not in the repo.
set -eu
DEST=$1
[ -s "$DEST/podman.json" ] && [ -s "$DEST/docker.json" ] && exit 0
mkdir -p "$DEST"
W=$(mktemp -d "$DEST/.fetch.XXXXXX")
trap 'rm -rf "$W"' EXIT
cd "$W"
apt-get download golang-github-containers-common golang-github-docker-docker-dev >apt.log 2>&1 ||
	{ echo "fetch-real.sh: apt-get download failed:" >&2; tail -n 3 apt.log >&2; exit 1; }
for d in ./*.deb; do dpkg-deb -x "$d" x; done
cp x/usr/share/containers/seccomp.json "$DEST/podman.json.tmp"
cp x/usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json "$DEST/docker.json.tmp"
chmod 0644 "$DEST/podman.json.tmp" "$DEST/docker.json.tmp"
mv "$DEST/podman.json.tmp" "$DEST/podman.json"
mv "$DEST/docker.json.tmp" "$DEST/docker.json"
