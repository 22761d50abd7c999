/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * handover.h - the sandbox handed to a job's leased range, and back
 * (design §6; issue 3).
 *
 * A job in a leased range runs as host uid FIRST+u and gid FIRST+g: a
 * stranger to the sandbox's owner (the pilot, the slot user), so without a
 * hand-over it could not write its own sandbox. Two ways:
 *
 *  idmap  a detached, recursive clone of the sandbox's mount with an
 *         idmapping OWNER -> FIRST+u and GROUP -> FIRST+g
 *         (mount_setattr MOUNT_ATTR_IDMAP). Inside the job the sandbox is
 *         its own; what the job creates is stored on disk as OWNER:GROUP,
 *         exactly as if OWNER had run it. O(1), nothing to undo. Other ids
 *         of the range have no on-disk id there (creating a file as one of
 *         them fails with EOVERFLOW), and files of other owners show as
 *         the overflow id. Needs Linux >= 5.12, a filesystem that allows it
 *         (ext4, xfs, btrfs; tmpfs from 6.3) and CAP_SYS_ADMIN.
 *  chown  every entry owned by OWNER becomes FIRST+u's (and, if its group
 *         is GROUP, FIRST+g's) before the job starts; after it ended,
 *         every entry owned by an id of the range goes back to OWNER
 *         (GROUP). O(entries). Needs CAP_CHOWN, CAP_DAC_READ_SEARCH and
 *         CAP_FOWNER. An entry that cannot be changed does not stop the
 *         walk; the first such failure is the error, with the count.
 *
 * The walks never follow a symlink, never leave the sandbox's mount (its
 * mount id, read without a request to the mounted file system, fsstat.h: a
 * mount point inside is skipped, and a FUSE daemon that never answers
 * stalls nothing, S36), never walk a sandbox on FUSE (its daemon would
 * answer for every owner: refused in one line), never go up by "..", and act
 * on the inode they checked: each entry is opened (O_PATH|O_NOFOLLOW; a
 * directory O_DIRECTORY|O_NOFOLLOW, and it must be the inode listed), its
 * owner read from that fd, and the fd changed (fchownat AT_EMPTY_PATH; a
 * symlink's own owner, never its target's). Someone renaming entries under
 * a walk (threat S32, renameat2 RENAME_EXCHANGE with a hard link to a root
 * file) can hide entries from it, never make it change an inode it did not
 * check. Only entries of the expected owner change at all, group included
 * (OWNER's going to the range; the range's, or OWNER's still in a range
 * group, going back): a root file of group GROUP stays root's and GROUP's.
 * On the way to the range a file with more than one link is left OWNER's
 * and counted (gr_handover_count.linked): its other name may be outside the
 * sandbox. The way back gives every inode of the range back, linked or not.
 * chown clears the set-user-ID bit and the set-group-ID bit of group
 * executables, so nothing the job left runs as OWNER; the job cannot set
 * them in the first place (gr_seccomp_guard, gr-seccomp.h). A tree deeper
 * than GR_HANDOVER_MAX_DEPTH is an error naming the depth.
 *
 * Neither way ever hands over id 0 (a job's file would become root's) nor
 * an owner inside the range: gr_handover_plan() says when there is nothing
 * to hand over. The privileged side is gridrun itself in root mode and
 * gridrun-helper's "lease" and "release" with the sandbox as fd 3 in helper mode (helper.h).
 */
#ifndef GRIDRUN_HANDOVER_H
#define GRIDRUN_HANDOVER_H

#include <stdbool.h>
#include <sys/types.h>

#include "config.h"   /* enum gr_handover_way: a setting of the site config */
#include "error.h"

#define GR_HANDOVER_MAX_DEPTH 512

struct gr_handover {
	uid_t owner;            /* on disk: the sandbox's owner */
	gid_t group;            /* (gid_t)-1: groups are not handed over */
	uid_t uid;              /* the job's host ids: FIRST+u, FIRST+g */
	gid_t gid;
	uid_t first;            /* the range, for the way back */
	unsigned long count;
};

/* "auto", "idmap" or "chown" (config: [runtime] sandbox_handover). */

/* Fill h for a sandbox owned by owner:group and a job at first+u, first+g
 * of a range of count ids. 0: there is something to hand over; 1: nothing
 * (owner 0, or already in the range); <0: error (u or g outside the range). */
int gr_handover_plan(uid_t owner, gid_t group, uid_t first, unsigned long count, uid_t u, gid_t g,
		     struct gr_handover *h, struct gr_error **err);

/* A detached mount of the directory dirfd (O_PATH is enough), idmapped as
 * above; the caller attaches it. -EINVAL/-EPERM/-EOPNOTSUPP with err set
 * when the kernel or filesystem cannot. */
int gr_handover_idmap(int dirfd, const struct gr_handover *h, struct gr_error **err);

/* What a chown walk did: entries changed; files (not directories) with more
 * than one link, left OWNER's on the way to the range. */
struct gr_handover_count {
	unsigned long changed, linked;
};

/* The chown walk of the tree at dirfd, the directory itself included:
 * to the range (back false) or back to the owner; n may be NULL. */
int gr_handover_chown(int dirfd, const struct gr_handover *h, bool back, struct gr_handover_count *n,
		      struct gr_error **err);

/* AUTO: idmap, else (the kernel or filesystem cannot) chown. Returns a mount
 * fd (idmap) or -1 with *chowned set (chown), or <0 on error with err set. */
int gr_handover_begin(int dirfd, const struct gr_handover *h, enum gr_handover_way way,
		      int *mntfd, struct gr_handover_count *n, struct gr_error **err);

/*
 * A run's hand-over (handover-job.c), done by the job's privilege backend
 * (priv.h) as part of its lease: gridrun itself as root, gridrun-helper
 * otherwise (one request, "lease" with the sandbox as fd 3), before the
 * job's init exists: nothing when the sandbox's owner is 0 or in the range
 * (root) or is not the caller (helper). A chown hand-over is noted in the
 * lease before it starts (lease.h: "sandbox"), so that a release or gc walks
 * it back when the run could not. The walk back is part of the release
 * (priv.h), after the job is gone (chown only): first every process left with
 * the range's ids is killed, then the files go back, then the lease notes
 * that no walk back is owed; a walk back that cannot finish leaves the range
 * in a blocked quarantine that `gridrun gc` retries (the release says why).
 * Nothing here prints: jh->linked counts the files left the owner's (more
 * than one link).
 */
struct gr_lease;
struct gr_pool;
/* gr_handover_begin() with the walk back noted in lease first (when it chowns). */
int gr_job_handover_start(int dirfd, const struct gr_handover *h, enum gr_handover_way way,
			  const struct gr_pool *pool, const struct gr_lease *lease, int *mntfd,
			  struct gr_handover_count *n, struct gr_error **err);
struct gr_job_handover {
	int mntfd;                   /* idmap: the mount for the job; chown (root
				      * mode): a clone of dirfd (gr_job_handover_clone());
				      * else -1 */
	int dirfd;                   /* the sandbox (O_PATH): until the lease, then while a
				      * chown is to be undone */
	const char *path;            /* the sandbox as the spec names it */
	uid_t owner;                 /* the sandbox's owner and group, as opened */
	gid_t group;
	uid_t u;                     /* the job's ids inside the range */
	gid_t g;
	enum gr_handover_way want;   /* the site's choice (config: sandbox_handover) */
	struct gr_handover h;        /* root: what a chown changed (for its walk back) */
	const char *way;             /* "idmap", "chown" or "none" */
	unsigned long changed;       /* entries chowned, each way */
	unsigned long linked;        /* files left OWNER's (more than one link) */
	unsigned long long t0, ns;   /* time taken, each way */
};

/* Open the sandbox as the caller (a sandbox it cannot reach is not handed
 * over), before the lease that hands it over; nothing when sandbox is NULL.
 * checked >= 0: the directory the caller checked before it started gridrun
 * (run --sandbox-fd: gridrun_spank's root runner, which checked its owner);
 * the path must still name that inode (device and inode equal), else
 * -ESTALE, nothing opened: whoever can rename a directory on the path (the
 * job's user, in their own tree) cannot swap another one in after the check. */
int gr_job_handover_open(struct gr_job_handover *jh, const char *sandbox, int checked, enum gr_handover_way way,
			 uid_t u, gid_t g, struct gr_error **err);
/* The lease's backend handed it over (handed: 1) or not (0), n what it did. */
void gr_job_handover_done(struct gr_job_handover *jh, int handed, const struct gr_handover_count *n);
/* Root mode, a chown hand-over: the job's mount of its sandbox is a clone
 * of the directory handed over (mntfd), not a lookup of its path by the
 * job's init, which whoever can rename a directory on the path (the
 * sandbox's owner: a Slurm user, racing root's runner) could have pointed
 * at another directory since. 0 (also when there is nothing to clone), or
 * -errno. */
int gr_job_handover_clone(struct gr_job_handover *jh, struct gr_error **err);
/* After the job: the idmapped mount (or the clone) goes (the walk back is the release's). */
void gr_job_handover_end(struct gr_job_handover *jh);
/* The release's walk back took t0..now and changed n entries; no fd is left. */
void gr_job_handover_walked(struct gr_job_handover *jh, unsigned long long t0, unsigned long n);

#endif
