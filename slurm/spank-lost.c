/* SPDX-License-Identifier: GPL-2.0-or-later */
/* spank-lost.c - job_epilog keeps the records gc wrote for SIGKILLed tasks; see spank-task.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "spank-task.h"
#include "util.h"

#define COPY_MAX (64 * 1024)
/* a records/ directory is read this far, no further */
#define ENTRIES_MAX 4096

/* The copy NAME in records/ (dfd), if it is a lost record of job id STEM,
 * a regular file of OWNER: its text without the copy's own keys
 * (malloc'd), else NULL. */
static char *lost_record(int dfd, const char *name, const char *stem, uid_t owner)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	json_t *o;
	char *out = NULL;
	ssize_t n;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != owner || st.st_size >= COPY_MAX ||
	    !(buf = malloc((size_t)st.st_size + 1)))
		return NULL;
	n = pread(fd, buf, (size_t)st.st_size, 0);
	if (n != st.st_size)
		return NULL;
	buf[n] = '\0';
	o = json_loads(buf, 0, NULL);
	if (json_is_object(o) && !strcmp(json_string_value(json_object_get(o, "job_id")) ?: "", stem) &&
	    !strcmp(json_string_value(json_object_get(o, "reason")) ?: "", "supervisor_lost")) {
		json_object_del(o, "account");
		json_object_del(o, "pool");
		out = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT);
	}
	json_decref(o);
	return out;
}

/* A user's records/ directory, PATH: opened with no symlink anywhere on it
 * (the user may have put one there), the user's own and written by no one
 * else. Its fd, or -errno (-EPERM: not the user's alone). */
static int user_dir_open(const char *path, uid_t owner)
{
	struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_uid != owner || (st.st_mode & 022)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

unsigned gr_slurm_keep_lost_records(const char *state_dir, uid_t owner, const char *record_dir, uint32_t job,
				    void (*say)(const char *line))
{
	_cleanup_free_ char *path = NULL;
	char prefix[32], line[512], whose[32];
	unsigned kept = 0, seen = 0;
	struct dirent *de;
	DIR *d;
	int dfd;

	if (!record_dir || asprintf(&path, "%s/records", state_dir) < 0)
		return 0;
	dfd = owner ? user_dir_open(path, owner) : gr_slurm_root_dir_open(path);
	if (dfd == -ENOENT)
		return 0;   /* no record copy at all */
	if (dfd < 0 || !(d = fdopendir(dfd))) {
		if (owner)
			snprintf(whose, sizeof(whose), "uid %u", (unsigned)owner);
		snprintf(line, sizeof(line), "gridrun_spank: job_epilog: `%s` is not %s's alone; no lost record kept",
			 path, owner ? whose : "root");
		say(line);
		if (dfd >= 0)
			close(dfd);
		return 0;
	}
	snprintf(prefix, sizeof(prefix), "slurm-%u.", (unsigned)job);
	while ((de = readdir(d)) && seen++ < ENTRIES_MAX) {
		size_t len = strlen(de->d_name);
		_cleanup_free_ char *text = NULL, *stem = NULL;
		const char *why;
		int r;

		if (strncmp(de->d_name, prefix, strlen(prefix)) || len < 6 || len >= 96 ||
		    strcmp(de->d_name + len - 5, ".json") || !(stem = strndup(de->d_name, len - 5)) ||
		    !(text = lost_record(dirfd(d), de->d_name, stem, owner)))
			continue;
		r = gr_slurm_keep_record(record_dir, stem, text, strlen(text), false, &why);
		if (r == 0) {
			kept++;
		} else if (r != -EEXIST) {   /* the runner's own record is there: it stays */
			snprintf(line, sizeof(line), "gridrun_spank: job_epilog: record %s/%s.json: %s, ignoring",
				 record_dir, stem, why ? why : strerror(-r));
			say(line);
		}
	}
	closedir(d);
	return kept;
}
