#!/bin/sh
# tests/vm/build.sh OUTDIR - build the cgroup v2 test guest used by run.sh:
#   OUTDIR/vmlinux        uncompressed kernel, booted through its PVH entry
#   OUTDIR/vmlinuz        the packaged bzImage (fallback if vmlinux is absent)
#   OUTDIR/initramfs.img  busybox + the 9p/virtio/overlay (and loop, ext4, bfq, fuse) modules + init
#   OUTDIR/stamp          what the above were built from
# The kernel is the one Debian's linux-image-amd64 currently points at
# (override: GRIDRUN_VM_KPKG=linux-image-...). Nothing is rebuilt when the
# stamp already names the same package version and the same guest scripts.
set -eu
usage() { echo "usage: $0 OUTDIR" >&2; exit 2; }
[ $# -eq 1 ] || usage
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
say() { echo "vm/build: $*" >&2; }

"$SRC/scripts/install-deps.sh" vm

# Which kernel package, and which version of it: "NAME VERSION". The
# metapackage pins its kernel with "Depends: linux-image-X (= V)".
# apt-cache needs package lists; a CI image may have dropped them, so
# refresh them once when apt knows nothing.
kpkg() {
	if [ -n "${GRIDRUN_VM_KPKG:-}" ]; then
		apt-cache show --no-all-versions "$GRIDRUN_VM_KPKG" 2>/dev/null |
			awk '$1 == "Version:" { print "'"$GRIDRUN_VM_KPKG"'", $2; exit }'
	else
		apt-cache show --no-all-versions linux-image-amd64 2>/dev/null |
			awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ && $3 == "(=" { sub(/\)$/, "", $4); print $2, $4; exit }'
	fi
}
K=$(kpkg)
if [ -z "$K" ] && [ "$(id -u)" -eq 0 ]; then
	apt-get update -q >/dev/null 2>&1 || true
	K=$(kpkg)
fi
if [ -z "$K" ]; then
	# Offline, no package lists: the kernel package kept from the last build will do.
	for deb in "$OUT"/linux-image-*.deb; do
		[ -s "$deb" ] && K="$(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version)"
	done
	[ -n "$K" ] || { say "cannot find the kernel package (linux-image-amd64's dependency) in apt's lists"; exit 1; }
	say "apt knows no kernel package; using $K from $OUT"
fi
PKG=${K% *} VER=${K#* }
GUEST_SUM=$(cat "$HERE/build.sh" "$HERE/init" "$HERE/stage2" | sha256sum | cut -c1-16)
STAMP="$PKG $VER guest:$GUEST_SUM"
# Two make checks at once: the second waits, then finds the guest built.
exec 9>"$OUT/.lock"
flock 9
if [ -s "$OUT/initramfs.img" ] && [ -s "$OUT/kernel-release" ] &&
   { [ -s "$OUT/vmlinux" ] || [ -s "$OUT/vmlinuz" ]; } &&
   [ "$(cat "$OUT/stamp" 2>/dev/null)" = "$STAMP" ]; then
	exit 0
fi

say "building the guest from $PKG $VER"
W=$(mktemp -d "$OUT/.work.XXXXXX")
trap 'rm -rf "$W"' EXIT INT TERM
# Keep the .deb (70 MB) so that changing only the guest scripts does not
# download the kernel again; older versions are dropped.
DEB="$OUT/${PKG}_$VER.deb"
if [ ! -s "$DEB" ]; then
	rm -f "$OUT"/linux-image-*.deb
	# apt-get download writes to the current directory; as root it warns
	# that the _apt user cannot write there, which is harmless.
	( cd "$W" && apt-get download -q "$PKG=$VER" >/dev/null 2>"$W/apt.log" ) || {
		cat "$W/apt.log" >&2; say "apt-get download $PKG=$VER failed"; exit 1; }
	mv "$W"/*.deb "$DEB"
fi
KR=$W/kroot
# Only /boot and the modules are needed. Unpacking costs the same as
# picking a few files: it is the xz stream of the whole package either way.
dpkg-deb --fsys-tarfile "$DEB" | tar -x -C "$W" --transform 's,^\./,kroot/,' ./boot ./lib/modules
REL=$(ls "$KR/lib/modules")
[ -n "$REL" ] && [ -f "$KR/boot/vmlinuz-$REL" ] || { say "unexpected layout of $DEB"; exit 1; }
cp "$KR/boot/vmlinuz-$REL" "$W/vmlinuz"

# Debian's bzImage carries an xz-compressed ELF vmlinux. Booting that ELF
# through its PVH note skips the in-guest decompression, which under TCG is
# about two seconds of every boot. Try each xz magic until one yields an ELF.
rm -f "$W/vmlinux"
for off in $(LC_ALL=C grep -aboF "$(printf '\3757zXZ')" "$W/vmlinuz" | cut -d: -f1); do
	tail -c +$((off + 1)) "$W/vmlinuz" | xz -dc --single-stream >"$W/vmlinux" 2>/dev/null || true
	if [ "$(head -c 4 "$W/vmlinux" | od -An -c | tr -d ' ')" = '177ELF' ]; then break; fi
	rm -f "$W/vmlinux"
done
[ -f "$W/vmlinux" ] || say "no ELF vmlinux inside the bzImage; the guest boots the slower bzImage"

# Modules for the root filesystem, each after the modules it depends on.
# The package ships no modules.dep (depmod makes it on install), so the
# dependencies come from each module's own .modinfo "depends=" field.
MD=$KR/lib/modules/$REL
find "$MD/kernel" -name '*.ko*' | awk '{ n = $0; sub(/.*\//, "", n); sub(/\.ko.*/, "", n); gsub(/-/, "_", n); print n, $0 }' >"$W/modpaths"
modpath() { awk -v m="$1" '$1 == m { print $2; exit }' "$W/modpaths"; }
moddeps() {
	case $1 in
	*.xz) xz -dc "$1" ;; *.zst) zstd -qdc "$1" ;; *) cat "$1" ;;
	esac | tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' '
}
: >"$W/modlist"
addmod() {
	if grep -qx "$1" "$W/modlist"; then return 0; fi
	[ -n "$(modpath "$1")" ] || { say "module $1 is not in $PKG (built in?)"; exit 1; }
	for d in $(moddeps "$(modpath "$1")"); do addmod "$d"; done
	echo "$1" >>"$W/modlist"
}
for m in virtio_pci 9pnet_virtio 9p overlay; do addmod "$m"; done
# For tests/io_test: loop devices with ext4 on them (crc32c: ext4 asks the
# crypto API for it, and the guest has no modprobe to load it on demand),
# and BFQ, the IO scheduler that enforces blockIO weights.
for m in loop crc32c_generic ext4 bfq; do addmod "$m"; done
# For tests/fuse_test (S36): FUSE mounts whose daemon never answers.
addmod fuse

R=$W/initramfs
mkdir -p "$R/bin" "$R/lib/gridrun-vm" "$R/proc" "$R/sys" "$R/dev" "$R/lower" "$R/upper" "$R/newroot"
# The initramfs has no libc: busybox must be the static build.
if readelf -l /bin/busybox | grep -q INTERP; then say "/bin/busybox is dynamic; need busybox-static"; exit 1; fi
cp /bin/busybox "$R/bin/busybox"
: >"$R/lib/gridrun-vm/modules"
while read -r n; do
	m=$(modpath "$n")
	b=$(basename "$m")
	case $b in
	*.ko) cp "$m" "$R/lib/gridrun-vm/$b" ;;
	# busybox's insmod takes plain ELF only
	*.ko.xz) b=${b%.xz}; xz -dc "$m" >"$R/lib/gridrun-vm/$b" ;;
	*.ko.zst) b=${b%.zst}; zstd -qdc "$m" >"$R/lib/gridrun-vm/$b" ;;
	*) say "unknown module format: $m"; exit 1 ;;
	esac
	echo "$b" >>"$R/lib/gridrun-vm/modules"
done <"$W/modlist"
# A Debian system with this kernel has its config in /boot; gridrun check
# reads it there when /proc/config.gz is absent (Debian: CONFIG_IKCONFIG off).
cp "$KR/boot/config-$REL" "$R/lib/gridrun-vm/config"
cp "$HERE/init" "$R/init"
cp "$HERE/stage2" "$R/lib/gridrun-vm/stage2"
chmod 0755 "$R/init" "$R/lib/gridrun-vm/stage2"
# Left uncompressed: gunzip under TCG would cost more than reading 4 MB.
( cd "$R" && find . | /bin/busybox cpio -o -H newc 2>/dev/null ) >"$W/initramfs.img"

# Publish: artifacts first, the stamp last, so an interrupted build is redone.
rm -f "$OUT/stamp" "$OUT/vmlinux"
for f in vmlinuz vmlinux initramfs.img; do
	if [ -f "$W/$f" ]; then mv "$W/$f" "$OUT/$f"; fi
done
echo "$REL" >"$OUT/kernel-release"
echo "$STAMP" >"$OUT/stamp"
say "guest ready: kernel $REL, modules: $(tr '\n' ' ' <"$R/lib/gridrun-vm/modules")"
