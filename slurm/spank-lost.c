/* SPDX-License-Identifier: GPL-2.0-or-later */
/* spank-lost.c - job_epilog keeps the records gc wrote for SIGKILLed tasks; see spank-task.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spank-task.h"
#include "util.h"

#define COPY_MAX (64 * 1024)

/* The copy NAME in records/ (dfd), if it is a lost record of job id STEM:
 * its text without the copy's own keys (malloc'd), else NULL. */
static char *lost_record(int dfd, const char *name, const char *stem)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	json_t *o;
	char *out = NULL;
	ssize_t n;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || st.st_size >= COPY_MAX ||
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

unsigned gr_slurm_keep_lost_records(const char *state_dir, const char *record_dir, uint32_t job,
				    void (*say)(const char *line))
{
	_cleanup_free_ char *path = NULL;
	char prefix[32], line[512];
	unsigned kept = 0;
	struct dirent *de;
	DIR *d;
	int dfd;

	if (!record_dir || asprintf(&path, "%s/records", state_dir) < 0)
		return 0;
	dfd = gr_slurm_root_dir_open(path);
	if (dfd == -ENOENT)
		return 0;   /* no record copy at all */
	if (dfd < 0 || !(d = fdopendir(dfd))) {
		snprintf(line, sizeof(line), "gridrun_spank: job_epilog: `%s` is not root's alone; no lost record kept",
			 path);
		say(line);
		if (dfd >= 0)
			close(dfd);
		return 0;
	}
	snprintf(prefix, sizeof(prefix), "slurm-%u.", (unsigned)job);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		_cleanup_free_ char *text = NULL, *stem = NULL;
		const char *why;
		int r;

		if (strncmp(de->d_name, prefix, strlen(prefix)) || len < 6 || len >= 96 ||
		    strcmp(de->d_name + len - 5, ".json") || !(stem = strndup(de->d_name, len - 5)) ||
		    !(text = lost_record(dirfd(d), de->d_name, stem)))
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
