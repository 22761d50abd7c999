/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mnt-template.h - a template mount namespace (issue 13): the host's tree,
 * pivoted into once, that root-mode jobs are cloned from.
 *
 * Why: a job's mount namespace is a copy of its supervisor's (clone3
 * CLONE_NEWNS), into which init then attaches a fresh recursive clone of
 * the host's "/" and pivot_root()s. pivot_root visits every thread on the
 * node (chroot_fs_refs(), ~0.8 us each: ~2.5 ms a start at 1000 jobs), and
 * the copy it leaves is torn down at once. A job cloned while its
 * supervisor stands in the template namespace gets a copy whose root
 * already is that tree: no clone of "/", no pivot, no teardown of a copy.
 *
 * What it is: STATE_DIR/.mnt-template/ (0700, the state directory's owner,
 * reached without a symlink) holds `ns`, an nsfs bind mount of the
 * namespace, and `mountinfo`: the namespace's inode, the inode of the
 * mount namespace its maker ran in, and the maker's /proc/self/mountinfo,
 * as it was once `ns` was mounted. The namespace's tree is a recursive clone of "/" with the
 * host's own mount flags (a job's sandbox and rw binds are cloned from its
 * copy and must stay writable; init makes its root read-only itself,
 * recursively, after cloning them). No mount namespace's pin is in it (a
 * recursive clone skips them: other templates); other nsfs mounts (`ip
 * netns` pins) are there as in a job built without it, and no job may
 * setns() with them (that needs CAP_SYS_ADMIN over the host's user
 * namespace). gridrun makes it only
 * when asked (gridrun template, as root; gridrun gc refreshes a stale one
 * from the maker's namespace only):
 * a job start never creates it, so a node without one is as before.
 *
 * When a job uses it (gr_mnt_template_open()): root mode only, and only
 * while the mountinfo this supervisor reads now is byte for byte the
 * recorded one (mount ids change with every mount and unmount; options
 * with every remount) and `ns` is still the namespace recorded. Anything
 * else - no template, another mount since, a supervisor in another mount
 * namespace or chroot, a setns() refused - and the job is built as before.
 * A job's copy of the template is made in its own user namespace, so every
 * mount in it is locked (MNT_LOCKED, and its flags): the job can neither
 * uncover nor loosen anything the template holds.
 */
#ifndef GRIDRUN_MNT_TEMPLATE_H
#define GRIDRUN_MNT_TEMPLATE_H

#include <stdbool.h>

#include "error.h"
#include "state.h"

#define GR_MNT_TEMPLATE_DIR GR_STATE_MNT_TEMPLATE

/* Make (or remake) the template of state_dir from this process's mount
 * namespace. As root. */
int gr_mnt_template_make(const char *state_dir, struct gr_error **err);
/* Remove it; 1 if there was one, 0 if not. */
int gr_mnt_template_remove(const char *state_dir, struct gr_error **err);
/* Whether the template of state_dir is there but no longer matches the
 * mounts this process sees: 1 (gc remakes it then); 2 when it was made from
 * another mount namespace than this process's (a gc with a private /tmp,
 * an admin's shell under pam_namespace): gc leaves it, since a template
 * remade here would match no supervisor of the namespace jobs start in,
 * and says so; 0 when there is none or it matches. */
int gr_mnt_template_stale(const char *state_dir);
/*
 * An fd of the template namespace, fit for this process now; -1 otherwise,
 * with *why saying why not ("none", "stale: ..."). Never fails a job.
 */
int gr_mnt_template_open(const char *state_dir, const char **why);

/*
 * The supervisor's side of a clone from the template: enter() saves its
 * mount namespace, root and cwd and setns()es into tmpl; leave() puts all
 * three back (setns, chroot, fchdir). enter() fails with nothing changed
 * (the job is then cloned as before); a failed leave() must fail the run.
 */
struct gr_mnt_home {
	int ns, root, cwd;
};
int gr_mnt_template_enter(int tmpl, struct gr_mnt_home *home, struct gr_error **err);
int gr_mnt_template_leave(struct gr_mnt_home *home, struct gr_error **err);
/* The child's side: closes what enter() saved (the host's root among them). */
void gr_mnt_template_drop(struct gr_mnt_home *home);

#endif
