/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kconfig.c - kernel config files, plain or gzip'd; contract in kconfig.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "kconfig.h"
#include "util.h"

const char *gr_kconfig_find(const char *override, const char *release, char *boot,
			    size_t boot_len)
{
	snprintf(boot, boot_len, "/boot/config-%.80s", release);
	if (override)
		return *override ? override : NULL;
	if (access("/proc/config.gz", F_OK) == 0)
		return "/proc/config.gz";
	if (access(boot, F_OK) == 0)
		return boot;
	return NULL;
}

/* One line of any length into *buf: 1 a line, 0 end of file, -1 zlib error. */
static int gz_getline(gzFile gz, char **buf, size_t *cap)
{
	size_t n = 0;
	int zerr;

	for (;;) {
		if (n + 2 > *cap) {
			*cap = *cap ? *cap * 2 : 512;
			*buf = realloc(*buf, *cap);
			if (!*buf)
				abort();
		}
		if (!gzgets(gz, *buf + n, (int)(*cap - n))) {
			gzerror(gz, &zerr);
			(*buf)[n] = '\0';
			return zerr != Z_OK ? -1 : n > 0;
		}
		n += strlen(*buf + n);
		if (n > 0 && (*buf)[n - 1] == '\n') {
			(*buf)[--n] = '\0';
			return 1;
		}
	}
}

int gr_kconfig_scan(const char *path,
		    void (*cb)(const char *name, const char *value, void *data), void *data,
		    unsigned *kver, struct gr_error **err)
{
	_cleanup_free_ char *line = NULL;
	size_t cap = 0, nopts = 0;
	unsigned a, b;
	gzFile gz;
	int fd, r, zerr;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return gr_error_sys(err, errno, "open `%s`", path);
	gz = gzdopen(fd, "rb");
	if (!gz) {
		close(fd);
		return gr_error_set(err, ENOMEM, "zlib: open `%s`", path);
	}
	while ((r = gz_getline(gz, &line, &cap)) > 0) {
		char *name = line, *value, *end;
		size_t len = strlen(line);

		while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
			line[--len] = '\0';
		if (!strncmp(line, "CONFIG_", 7) && (value = strchr(line, '='))) {
			*value++ = '\0';
			len = strlen(value);
			if (len >= 2 && value[0] == '"' && value[len - 1] == '"') {
				value[len - 1] = '\0';
				value++;
			}
		} else if (!strncmp(line, "# CONFIG_", 9) && (end = strstr(line, " is not set")) &&
			   end[11] == '\0') {
			*end = '\0';
			name = line + 2;
			value = (char *)"n";
		} else {
			/* "# Linux/x86 6.1.0 Kernel Configuration" */
			if (kver && !strncmp(line, "# Linux/", 8) && (end = strchr(line + 8, ' ')) &&
			    sscanf(end, " %u.%u", &a, &b) == 2)
				*kver = GR_KCONFIG_KV(a, b);
			continue;
		}
		nopts++;
		cb(name, value, data);
	}
	if (r < 0) {
		const char *msg = gzerror(gz, &zerr);

		r = zerr == Z_ERRNO && errno ? errno : EIO;
		gr_error_set(err, r, "read `%s`: %s", path, zerr == Z_ERRNO ? strerror(r) : msg);
		gzclose(gz);
		return -r;
	}
	gzclose(gz);
	if (nopts == 0)
		return gr_error_set(err, EINVAL, "`%s`: no CONFIG_ line, not a kernel config", path);
	return 0;
}

struct lookup {
	const char *want;
	char *value;
};

static void lookup_cb(const char *name, const char *value, void *data)
{
	struct lookup *l = data;

	if (strcmp(name, l->want))
		return;
	free(l->value);
	l->value = strdup(value);
	if (!l->value)
		abort();
}

int gr_check_kconfig_lookup(const char *config_path, const char *option, char *value,
			    size_t len, struct gr_error **err)
{
	_cleanup_free_ char *want = NULL, *found = NULL;
	struct lookup l = { 0 };
	int r;

	if (!config_path || !option || !*option || !value || !len)
		return gr_error_set(err, EINVAL, "kconfig lookup: bad arguments");
	if (asprintf(&want, "%s%s", strncmp(option, "CONFIG_", 7) ? "CONFIG_" : "", option) < 0)
		abort();
	l.want = want;
	r = gr_kconfig_scan(config_path, lookup_cb, &l, NULL, err);
	found = l.value;
	value[0] = '\0';
	if (r < 0 || !found)
		return r;
	if (strlen(found) >= len)
		return gr_error_set(err, ERANGE, "kconfig lookup: %s: value longer than %zu bytes",
				    want, len - 1);
	strcpy(value, found);
	return 1;
}
