# tests/lib/oci-bundle.sh - sourced by the shell tests that run real OCI
# bundles through gridrun (oci.t, slurm.t).
#
# gt_oci_bundle DIR KIND [ARGS-JSON]: DIR becomes a bundle as the OCI tools
# write it: config.json from `runc spec` (KIND runc), `runc spec --rootless`
# (runc-rootless) or `crun spec` (crun), unmodified but for process.args
# (when ARGS-JSON is given, with jq), and rootfs/ holding busybox-static
# (rootfs/bin/busybox) and its applets' symlinks.
gt_oci_bundle() {
	_b=$1
	mkdir -p "$_b/rootfs/bin" && cp /bin/busybox "$_b/rootfs/bin/busybox" || return 1
	for _a in sh echo cat sleep true false id ls kill; do
		ln -sf busybox "$_b/rootfs/bin/$_a" || return 1
	done
	rm -f "$_b/config.json"
	case $2 in
	runc) (cd "$_b" && runc spec) ;;
	runc-rootless) (cd "$_b" && runc spec --rootless) ;;
	crun) (cd "$_b" && crun spec) ;;
	*) false ;;
	esac || return 1
	[ $# -lt 3 ] && return 0
	jq --argjson a "$3" '.process.args = $a' "$_b/config.json" >"$_b/config.json.new" &&
		mv "$_b/config.json.new" "$_b/config.json"
}
