/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lsm.h - registering a job with gridrun's BPF LSM (kmod-optional/).
 *
 * The LSM is a site opt-in that `gridrun-lsm load` pins under
 * /sys/fs/bpf/gridrun (GRIDRUN_LSM_PIN overrides it, for the tests). When
 * its maps are not pinned, nothing changes for jobs: gr_lsm_register()
 * costs one failed BPF_OBJ_GET and returns 0.
 *
 * gr_lsm_register() runs in the supervisor after the job's init exists and
 * its maps are written, and before init forks the job (supervisor.c, before
 * sync #2): it keys the job by its user namespace's inode number (reliable
 * on hybrid v1, where a cgroup id is not), records its leased range (kuids;
 * none in one-uid mode) and tags init by pidfd, so that every task init
 * forks carries the tag (kmod-optional/gridrun-lsm.h). Returns 1 when
 * registered, 0 when the LSM is not loaded, -errno with *err otherwise
 * (the job must not start: the site asked for the LSM). An entry already
 * under the key is a dead job's (its supervisor was killed; namespace inode
 * numbers are reused): it is replaced, its counts dropped. Entries of
 * killed supervisors stay until their number is reused or the LSM is
 * reloaded (GR_LSM_MAX_JOBS bounds them).
 * In helper mode gridrun-helper registers the job (its request lsm-add,
 * helper.h): the supervisor cannot open root's pins, and the helper checks
 * the job's init is the caller's child and the range the caller's lease;
 * reg->via_helper then says the helper's lsm-del must undo it.
 * gr_lsm_unregister() reads the job's denials into counts[] (per hook,
 * gr_lsm_hook_name()) and removes the job and its counters; it runs after
 * the job's last task is gone. Both need root (CAP_BPF, CAP_SYS_ADMIN).
 */
#ifndef GRIDRUN_LSM_H
#define GRIDRUN_LSM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "userns.h"

#define GR_LSM_HOOKS 17

struct gr_lsm_reg {
	int jobs_fd, denials_fd;
	uint64_t job;             /* userns inode number, 0 when not registered */
	bool via_helper;          /* registered by gridrun-helper (lsm-add): */
	unsigned index;           /* the lease it was given, for lsm-del */
	char pool[33];
	bool at_release;          /* (lease-map): the lease's release unregisters it */
};
#define GR_LSM_REG_INIT { .jobs_fd = -1, .denials_fd = -1, .job = 0 }

struct gr_lsm_denials {
	bool loaded;              /* the job was registered with the LSM */
	unsigned long long total;
	unsigned long long hook[GR_LSM_HOOKS];
};

int gr_lsm_register(struct gr_lsm_reg *reg, pid_t pid, int pidfd, const struct gr_userns_plan *ids,
		    struct gr_error **err);
/* The same with the key read before (gridrun-helper reads it as the caller:
 * with euid 0 and no CAP_SYS_PTRACE, /proc/PID/ns of the caller's child is
 * not its to read); pid's pidfd is checked after, as above. key 0: read it. */
int gr_lsm_register_key(struct gr_lsm_reg *reg, pid_t pid, uint64_t key, int pidfd,
			const struct gr_userns_plan *ids, struct gr_error **err);
void gr_lsm_unregister(struct gr_lsm_reg *reg, struct gr_lsm_denials *out);
/* Close reg's fds and leave the job registered (gridrun-helper's lsm-add:
 * its caller undoes it with lsm-del). */
void gr_lsm_reg_close(struct gr_lsm_reg *reg);
/* Remove every job registered with the range of host ids [first, first +
 * count) and its counters (gridrun-helper: one entry per lease; out, if not
 * NULL, gets their denials summed). The number of entries removed, 0 too
 * when the LSM is not loaded (out->loaded false), -errno with *err. */
int gr_lsm_drop_range(uint32_t first, uint32_t count, struct gr_lsm_denials *out, struct gr_error **err);
/* How many jobs are registered with that range (0 too when not loaded). */
int gr_lsm_count_range(uint32_t first, uint32_t count, struct gr_error **err);
/* Without privilege: 0 the pins are absent (the LSM is not loaded), 1 they
 * exist or cannot be seen (only the helper can tell). */
int gr_lsm_maybe_loaded(void);
const char *gr_lsm_hook_name(unsigned hook);
/* The key of the job whose init (or any task) is host pid `pid`: the inode
 * number of its user namespace. 0, or -errno with *err. */
int gr_lsm_job_key(pid_t pid, uint64_t *job, struct gr_error **err);
/* The denials counted so far for a running job, left in place (for the
 * exporter's gridrun_job_lsm_denials_total, per hook): 1 read, 0 the LSM is
 * not loaded or the job is not registered (out zeroed, out->loaded false),
 * -errno with *err. Needs root, as registering does. */
int gr_lsm_read_denials(uint64_t job, struct gr_lsm_denials *out, struct gr_error **err);
/* GRIDRUN_DEBUG=1: one line with the job's denials per hook (stderr) */
void gr_lsm_debug(const char *job_id, const struct gr_lsm_denials *d);
/* 1: the maps are pinned (the LSM is loaded), 0: not; for gridrun check */
int gr_lsm_loaded(void);
const char *gr_lsm_pin_dir(void);

#endif
