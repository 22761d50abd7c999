/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lease-json.c - a lease or quarantine file's contents (lease.h's N.lease),
 * written and read; the protocol is described in lease.h. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lease-int.h"
#include "util.h"

char *gr_lease_json(const struct gr_lease *l, unsigned long long released_at)
{
	json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:s, s:s, s:I, s:I, s:s, s:I}",
			      "pool", l->pool, "index", (json_int_t)l->index, "first", (json_int_t)l->first,
			      "count", (json_int_t)l->count, "job_id", l->job_id, "account", l->account,
			      "holder_pid", (json_int_t)l->holder_pid,
			      "holder_start", (json_int_t)l->holder_start, "boot_id", l->boot_id,
			      "leased_at", (json_int_t)l->leased_at);
	char *text = NULL;

	if (!o)
		return NULL;
	if (released_at)
		json_object_set_new(o, "released_at", json_integer((json_int_t)released_at));
	if (l->has_sandbox) {
		const struct gr_lease_sandbox *b = &l->sandbox;
		json_t *sb = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "path", b->path,
				       "dev", (json_int_t)b->dev, "ino", (json_int_t)b->ino,
				       "mnt_id", (json_int_t)b->mnt_id, "owner", (json_int_t)b->owner,
				       "group", (json_int_t)(b->group == (gid_t)-1 ? -1 : (json_int_t)b->group));

		if (!sb)   /* a path that is not UTF-8 */
			goto out;
		json_object_set_new(o, "sandbox", sb);
	}
	if (l->blocked[0])
		json_object_set_new(o, "blocked", json_string(l->blocked));
	if (l->userns[0])
		json_object_set_new(o, "userns", json_string(l->userns));
	text = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT);
out:
	json_decref(o);
	return text;
}

static int copy_str(char *dst, size_t size, const char *src)
{
	if (!src || strlen(src) >= size)
		return -EINVAL;
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

static int parse_sandbox(json_t *sb, struct gr_lease *l)
{
	struct gr_lease_sandbox *b = &l->sandbox;
	json_int_t dev, ino, mnt, owner, group;
	const char *path;

	if (!sb)
		return 0;
	if (json_unpack(sb, "{s:s, s:I, s:I, s:I, s:I, s:I}", "path", &path, "dev", &dev, "ino", &ino,
			"mnt_id", &mnt, "owner", &owner, "group", &group) < 0 ||
	    copy_str(b->path, sizeof(b->path), path) < 0 || path[0] != '/' || owner <= 0 ||
	    owner > 4294967294ll || group < -1 || group > 4294967294ll)
		return -EINVAL;
	b->dev = (unsigned long long)dev;
	b->ino = (unsigned long long)ino;
	b->mnt_id = (unsigned long long)mnt;
	b->owner = (uid_t)owner;
	b->group = group < 0 ? (gid_t)-1 : (gid_t)group;
	l->has_sandbox = true;
	return 0;
}

static int parse_lease(const char *text, struct gr_lease *l, unsigned long long *released_at)
{
	json_t *o = json_loads(text, 0, NULL);
	json_int_t index, first, count, pid, start, at, rel = 0;
	const char *pool, *job, *account, *boot, *blocked = NULL, *userns = NULL;
	json_t *sb = NULL;
	int r = -EINVAL;

	memset(l, 0, sizeof(*l));
	if (o && json_unpack(o, "{s:s, s:I, s:I, s:I, s:s, s:s, s:I, s:I, s:s, s:I, s?I, s?o, s?s, s?s}",
			     "pool", &pool, "index", &index, "first", &first, "count", &count,
			     "job_id", &job, "account", &account, "holder_pid", &pid,
			     "holder_start", &start, "boot_id", &boot, "leased_at", &at,
			     "released_at", &rel, "sandbox", &sb, "blocked", &blocked, "userns", &userns) == 0 &&
	    parse_sandbox(sb, l) == 0 &&
	    (!blocked || copy_str(l->blocked, sizeof(l->blocked), blocked) == 0) &&
	    (!userns || copy_str(l->userns, sizeof(l->userns), userns) == 0) &&
	    index >= 0 && first > 0 && first <= 4294967294ll && count > 0 && pid > 0 && start >= 0 &&
	    copy_str(l->pool, sizeof(l->pool), pool) == 0 &&
	    copy_str(l->job_id, sizeof(l->job_id), job) == 0 &&
	    copy_str(l->account, sizeof(l->account), account) == 0 &&
	    copy_str(l->boot_id, sizeof(l->boot_id), boot) == 0) {
		l->index = (unsigned)index;
		l->first = (uid_t)first;
		l->count = (unsigned)count;
		l->holder_pid = (pid_t)pid;
		l->holder_start = (unsigned long long)start;
		l->leased_at = (unsigned long long)at;
		if (released_at)
			*released_at = (unsigned long long)rel;
		r = 0;
	}
	json_decref(o);
	return r;
}

/* Read a lease or quarantine file; -ENOENT if absent, -EINVAL if garbled. */
int gr_lease_read_entry(int dfd, const char *name, struct gr_lease *l, unsigned long long *released_at,
			struct stat *st)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	/* a path of PATH_MAX, escaped by JSON, and the rest */
	_cleanup_free_ char *buf = malloc(GR_LEASE_PATH_MAX * 6 + 4096);
	ssize_t n;

	if (fd < 0)
		return -errno;
	if (!buf)
		return -ENOMEM;
	if (st && fstat(fd, st) < 0)
		return -errno;
	n = gr_read_full(fd, buf, GR_LEASE_PATH_MAX * 6 + 4096 - 1);
	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	return parse_lease(buf, l, released_at);
}
