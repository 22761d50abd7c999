/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lease-nsalive.c - is a range's user namespace still alive (threats S33,
 * issue 12)? What lease-userns.c's scan of /proc cannot see.
 *
 * An nsfs fd in flight (SCM_RIGHTS queued on a unix socket) is in no
 * process's fd table, yet it keeps the job's user namespace alive, and in
 * helper mode the pilot owns that namespace: once it receives the fd back
 * it can setns() into it and become the range's first uid while the next
 * tenant runs. No scan finds it; the namespace's own life does.
 *
 * The means: nsfs file handles (6.18). When the helper maps a job's user
 * namespace it takes the namespace's handle (name_to_handle_at on the very
 * nsfs fd it then checks, see gr_lease_userns_mapped()) and notes it in the
 * lease ("userns"). At release and gc, once every holder lease-userns.c sees
 * is dead, open_by_handle_at(FD_NSFS_ROOT, handle) succeeds exactly while
 * the namespace has a reference left anywhere (the kernel looks it up by its
 * 64-bit id and takes a reference only if the count is not zero): an fd in
 * flight, a file opened with the namespace's credentials, an idmapped mount
 * made with it. Those go away asynchronously after the last holder dies (RCU,
 * the mount namespace's teardown: ~20 ms after the job's end here), so gc
 * asks again for about a second before the range is kept "blocked". A
 * release does not wait on the job's exit path: one that finds the namespace
 * still alive and has no sandbox to walk back leaves the range "pending"
 * (blocked, quietly) without looking for its holders (2-3 ms a release on
 * an idle node), which the next gc (a full pool runs one) settles: by a
 * holder scan while the namespace lives, and by none at all once it is gone
 * and gc's pool-wide scan saw no task with the range's ids (a task that
 * took one since would be in that namespace and keep it alive).
 *
 * Limits, said rather than guessed: the kernel answers for another namespace
 * only to a caller in the host's PID namespace with CAP_SYS_ADMIN (ESTALE
 * otherwise, which looks like "gone"): a lease is noted only where that
 * holds, and a release elsewhere says it cannot tell (blocked). A kernel
 * without nsfs file handles (before 6.18; Debian 12's 6.1) notes nothing:
 * `gridrun check` says so, and so does GRIDRUN_DEBUG at release.
 * Cost: a map adds one name_to_handle_at and one fork (the map check); a
 * release one open_by_handle_at when the namespace is gone.
 *
 * Root mode needs none of this: there gridrun itself makes the namespace, as
 * root, and gr_lease_userns_root() confirms it from the kernel (owner uid 0,
 * parent our own namespace) while the job's init lives. Nobody but root can
 * enter such a namespace, so a holder of it (also an fd in flight) keeps a
 * husk no one can use, and the release neither scans for holders of it nor
 * asks for its end (lease-reclaim.c's gr_lease_settle()).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lease-int.h"
#include "util.h"

#ifndef FD_NSFS_ROOT
#define FD_NSFS_ROOT -10003   /* the nsfs root, for open_by_handle_at (6.18) */
#endif
#define PROC_PID_INIT_INO 0xEFFFFFFCull   /* the host PID namespace's inode, fixed */
#define HANDLE_MAX 32

/* We run in the host's PID namespace (the kernel's condition for a handle's answer). */
static bool in_host_pidns(void)
{
	struct stat st;

	return stat("/proc/self/ns/pid", &st) == 0 && (unsigned long long)st.st_ino == PROC_PID_INIT_INO;
}

int gr_lease_userns_handle(int nsfd, char *out, size_t size)
{
	union {
		struct file_handle fh;
		char buf[sizeof(struct file_handle) + HANDLE_MAX];
	} h;
	int mnt, n;

	memset(&h, 0, sizeof(h));
	h.fh.handle_bytes = HANDLE_MAX;
	if (name_to_handle_at(nsfd, "", &h.fh, &mnt, AT_EMPTY_PATH) < 0)
		return errno == EOPNOTSUPP || errno == ENOTSUP ? -EOPNOTSUPP : -errno;
	if (!in_host_pidns())
		return -EXDEV;
	if (size < 2 * h.fh.handle_bytes + 12)
		return -ENAMETOOLONG;
	n = snprintf(out, size, "%x:", (unsigned)h.fh.handle_type);
	for (unsigned i = 0; i < h.fh.handle_bytes; i++)
		n += snprintf(out + n, size - (size_t)n, "%02x", (unsigned char)h.fh.f_handle[i]);
	return 0;
}

/* One question: 1 alive, 0 gone, -errno cannot tell. */
static int ask(const char *text)
{
	union {
		struct file_handle fh;
		char buf[sizeof(struct file_handle) + HANDLE_MAX];
	} h;
	unsigned type, byte;
	const char *p = strchr(text, ':');
	size_t len;
	int fd;

	memset(&h, 0, sizeof(h));
	if (!p || sscanf(text, "%x:", &type) != 1 || (len = strlen(p + 1)) % 2 || len / 2 > HANDLE_MAX || !len)
		return -EINVAL;
	for (size_t i = 0; i < len / 2; i++) {
		if (sscanf(p + 1 + 2 * i, "%2x", &byte) != 1)
			return -EINVAL;
		h.fh.f_handle[i] = (unsigned char)byte;
	}
	h.fh.handle_bytes = (unsigned)(len / 2);
	h.fh.handle_type = (int)type;
	fd = open_by_handle_at(FD_NSFS_ROOT, &h.fh, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return 1;
	}
	return errno == ESTALE ? 0 : -errno;
}

int gr_lease_userns_alive(const char *handle, bool patient, char *why, size_t size)
{
	unsigned long long deadline = gr_now_ns() + (patient ? NS : 0);
	int r;

	if (!strcmp(handle, "?")) {
		snprintf(why, size, "a user namespace was mapped to it that gridrun could not identify (the "
			 "helper's map check failed); remove N.quarantine once no process can hold it");
		return -EBUSY;
	}
	if (!in_host_pidns()) {
		snprintf(why, size, "cannot tell whether its user namespace still lives outside the host's "
			 "PID namespace");
		return -EBUSY;
	}
	r = ask(handle);
	/* the last references go asynchronously after the holders died (RCU:
	 * tens of ms on a loaded node); an ask costs ~15 us, so ask every 0.5 ms
	 * rather than back off past the moment it ends */
	while (r > 0 && gr_now_ns() < deadline) {
		struct timespec ts = { 0, 500000 };

		nanosleep(&ts, NULL);
		r = ask(handle);
	}
	if (r > 0 && !patient)
		snprintf(why, size, "pending: its user namespace was still ending at release (its last "
			 "references go after the job's end); the next `gridrun gc` settles it");
	else if (r > 0)
		snprintf(why, size, "its user namespace still lives after every process that held it was "
			 "killed (an nsfs fd in flight in a unix socket?); `gridrun gc` retries");
	else if (r < 0)
		snprintf(why, size, "cannot tell whether its user namespace still lives: %s", strerror(-r));
	return r > 0 ? 1 : r;
}

int gr_lease_userns_mapped(int nsfd, uid_t first, unsigned long count)
{
	_cleanup_close_ int parent = ioctl(nsfd, NS_GET_PARENT);
	struct stat a, b;

	/* a child of ours (the host's), so that its map is in host ids */
	if (parent < 0 || fstat(parent, &a) < 0 || stat("/proc/self/ns/user", &b) < 0)
		return parent < 0 && errno == EPERM ? 0 : -errno;
	if (a.st_ino != b.st_ino || a.st_dev != b.st_dev)
		return 0;
	return gr_lease_map_of(nsfd, first, (unsigned long long)first + count);
}

bool gr_lease_userns_handles(void)
{
	_cleanup_close_ int fd = open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC);
	char buf[80];
	/* outside the host's PID namespace (-EXDEV) the kernel would not answer */
	return fd >= 0 && gr_lease_userns_handle(fd, buf, sizeof(buf)) == 0;
}

int gr_lease_userns_root(pid_t pid)
{
	char path[64];
	_cleanup_close_ int fd = -1, parent = -1;
	struct stat a, b;
	uid_t owner;

	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, NS_GET_OWNER_UID, &owner) < 0 || owner != 0)
		return 0;
	/* a child of our own namespace, so that "0" is our root, not a root below us */
	parent = ioctl(fd, NS_GET_PARENT);
	if (parent < 0 || fstat(parent, &a) < 0 || stat("/proc/self/ns/user", &b) < 0)
		return 0;
	return a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}
