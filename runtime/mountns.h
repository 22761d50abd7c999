/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mountns.h - the job's mount tree (design §6), built in the child's new
 * mount namespace and entered with pivot_root.
 *
 *   /                  the host root (or root.path), recursively read-only,
 *                      nosuid, nodev
 *   /proc              fresh procfs of the job's PID namespace; the masked
 *                      paths are covered (files by /dev/null, directories by
 *                      one empty read-only directory of the job's tmpfs), the
 *                      read-only paths re-mounted read-only
 *   /dev               a directory of the job's tmpfs (read-only once
 *                      populated): null zero full random urandom tty bound
 *                      from the host, a new devpts instance at /dev/pts with
 *                      /dev/ptmx, /dev/shm, /dev/mqueue of the job's IPC
 *                      namespace, the fd/stdin/... links
 *   /tmp /var/tmp /run the job's one private tmpfs, nosuid, nodev (a directory
 *                      each, and /dev/shm, /dev and the masked directories'
 *                      one empty directory); it and a spec tmpfs without
 *                      size= are bounded by the plan's tmpfs_size (each one;
 *                      0: the kernel's default)
 *   SANDBOX            the sandbox, read-write at its own path; its parent (or
 *                      the plan's sandbox_cover, an ancestor) is covered by an
 *                      empty read-only tmpfs so that sibling sandboxes are not
 *                      even visible
 *   spec mounts        binds (ro/rw, noexec as asked; always nosuid, nodev)
 *                      and tmpfs, in spec order
 *   /sys               the host's, read-only as part of the root (a fresh
 *                      sysfs would need the job's own net namespace)
 *
 * Symlink races (runc CVE-2021-30465 class, threat S04): every host source
 * is cloned into a detached mount (open_tree) before the new root is
 * attached; every target inside the new root is opened with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
 * relative to the root's fd and mounted on through that fd (move_mount
 * MOVE_MOUNT_T_EMPTY_PATH). No path is ever re-resolved. Missing targets
 * are created only where the tree is writable (our own tmpfs); in the
 * read-only root they are an error, never a write to the host.
 *
 * Nothing propagates back to the host: "/" is made a recursive slave first.
 */
#ifndef GRIDRUN_MOUNTNS_H
#define GRIDRUN_MOUNTNS_H

#include <stddef.h>

#include "error.h"
#include "spec.h"

struct gr_mount_plan {
	const char *root_path;            /* host path of the new root */
	const char *sandbox;              /* host path, mounted at the same path; may be NULL */
	const char *sandbox_cover;        /* the ancestor of sandbox to cover; NULL: its parent */
	int sandbox_mnt;                  /* >= 0: the sandbox's detached mount to use
					   * (an idmapped one, handover.h); else cloned */
	const struct gr_mount *mounts;
	size_t nmounts;
	char *const *masked_paths;        /* extra to the defaults */
	size_t nmasked_paths;
	char *const *readonly_paths;
	size_t nreadonly_paths;
	unsigned long long tmpfs_size;    /* bytes; 0: no size= */
	bool template_root;               /* the namespace is a copy of the template
					   * (mnt-template.h): its "/" (root_path "/") is the
					   * new root, made read-only here; no pivot_root */
};

/*
 * Two steps. gr_mountns_sources() makes "/" a recursive slave and clones
 * every host source (root, sandbox, spec binds) into detached mounts: the
 * child calls it before it takes the job's ids, so a source is reached with
 * the caller's own identity (a job of a leased range is a stranger to the
 * pilot's 0700 directories; what it may then do inside them is still its
 * own ids' business). gr_mountns_in_child() builds the tree from them and
 * pivot_roots into it; the caller's cwd is "/" after. Either one closes the
 * sources on failure; gr_mount_sources_close() is idempotent.
 */
struct gr_mount_sources {
	int root, sandbox;                /* -1: none */
	int *binds;                       /* per plan->mounts[i]; -1 for non-binds */
	size_t n;
};
int gr_mountns_sources(const struct gr_mount_plan *plan, struct gr_mount_sources *src, struct gr_error **err);
void gr_mount_sources_close(struct gr_mount_sources *src);
int gr_mountns_in_child(const struct gr_mount_plan *plan, struct gr_mount_sources *src,
			struct gr_error **err);

#endif
