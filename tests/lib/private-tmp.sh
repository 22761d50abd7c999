# tests/lib/private-tmp.sh - sourced by the shell tests that give a job's user
# a /tmp of the test's own (oci.t, slurm.t), inside a private mount namespace.
#
# gt_private_tmp T PATH...: mount T/tmp over /tmp, with T and every PATH that
# lies below /tmp (a source tree, build or binary of a CI clone) still
# reachable at its name inside it. rbind, so that those binds come along.
gt_private_tmp() {
	_t=$1
	mkdir -m 1777 "$_t/tmp" || return 1
	for _d in "$@"; do
		case "$_d" in /tmp/?*) _top=${_d#/tmp/}; _top=${_top%%/*} ;; *) continue ;; esac
		[ -d "$_t/tmp/$_top" ] && continue
		mkdir "$_t/tmp/$_top" && mount --bind "/tmp/$_top" "$_t/tmp/$_top" || return 1
	done
	mount --rbind "$_t/tmp" /tmp
}
