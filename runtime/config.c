/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config.c - the site configuration; the contract is in config.h.
 *
 * libinih does the INI syntax. It does not give the handler line numbers (not
 * in Debian's build) and calls it for keys only, so lines are fed to it by
 * our own reader, which counts them, sees every section header (empty
 * sections too) and refuses what inih would accept silently: indented lines
 * (inih's continuation lines), text after a header, over-long lines.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "config.h"
#include "config-int.h"
#include "util.h"

#define MAX_FILE (1u << 20)
#define MAX_LINE 1024

enum sect_kind { S_NONE, S_RUNTIME, S_POOL, S_ROOTFS };

static const char *const way_names[] = {
	[GR_HANDOVER_AUTO] = "auto", [GR_HANDOVER_IDMAP] = "idmap", [GR_HANDOVER_CHOWN] = "chown",
};

int gr_handover_way_parse(const char *s, enum gr_handover_way *way)
{
	for (size_t i = 0; i < ARRAY_SIZE(way_names); i++)
		if (!strcmp(s, way_names[i])) {
			*way = (enum gr_handover_way)i;
			return 0;
		}
	return -EINVAL;
}

const char *gr_handover_way_name(enum gr_handover_way way)
{
	return (size_t)way < ARRAY_SIZE(way_names) ? way_names[way] : "?";
}

static const char *const runtime_keys[] = { "state_dir", "lease_dir", "cgroup_base", "sandbox_handover",
					    "tmpfs_size", "default_pids_limit", "landlock", "record_dir",
					    "leftover_dirs", NULL };
static const char *const pool_keys[] = { "first_uid", "ranges", "range_size", "accounts",
					 "quarantine_seconds", "vos", NULL };
static const char *const rootfs_keys[] = { "path", NULL };

struct parser {
	struct gr_config *cfg;
	const char *file;
	const char *text;
	size_t len, pos;
	unsigned lineno;
	enum sect_kind kind;
	char sect[96];             /* the section as inih names it */
	char ctx[96];              /* "pool atlas", "runtime", ... for messages */
	unsigned sect_line;
	unsigned runtime_line;
	unsigned seen[12];         /* line of each key of the section, 0 = absent */
	struct gr_error *err;
	unsigned err_order;        /* when it was found: the line read then (+1 at the end) */
	bool at_end;
};

bool gr_config_name_ok(const char *name)
{
	size_t n = strlen(name);

	return n >= 1 && n <= GR_NAME_MAX && name[0] != '.' &&
	       strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

__attribute__((format(printf, 3, 4)))
static int fail(struct parser *p, unsigned line, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;

	if (p->err)
		return -EINVAL;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	p->err_order = p->lineno + p->at_end;
	return gr_error_set(&p->err, EINVAL, "%s:%u: %s", p->file, line, msg);
}

/* A decimal number: digits only, no sign, no spaces, no hex. */
static int number(struct parser *p, const char *key, const char *v, unsigned long long max,
		  unsigned long long *out)
{
	unsigned long long n = 0;
	const char *s = v;

	if (*s == '-' && isdigit((unsigned char)s[1]) && strspn(s + 1, "0123456789") == strlen(s + 1))
		return fail(p, p->lineno, "%s: %s: must not be negative", p->ctx, key);
	if (!*s || strspn(s, "0123456789") != strlen(s))
		return fail(p, p->lineno, "%s: %s: expected a number", p->ctx, key);
	for (; *s; s++) {
		if (n > (max - (unsigned)(*s - '0')) / 10)
			return fail(p, p->lineno, "%s: %s: %s is too large (at most %llu)", p->ctx, key, v, max);
		n = n * 10 + (unsigned)(*s - '0');
	}
	*out = n;
	return 0;
}

/* Bytes, with an optional k, m or g suffix (powers of 1024), at least 1 MiB. */
static int size_value(struct parser *p, const char *key, const char *v, unsigned long long *out)
{
	_cleanup_free_ char *digits = strdup(v);
	unsigned shift = 0;
	size_t n;

	if (!digits)
		return gr_error_sys(&p->err, ENOMEM, "config");
	n = strlen(digits);
	if (n > 1 && strchr("kKmMgG", digits[n - 1])) {
		shift = strchr("kK", digits[n - 1]) ? 10 : strchr("mM", digits[n - 1]) ? 20 : 30;
		digits[n - 1] = '\0';
	}
	if (number(p, key, digits, (1ull << 50) >> shift, out) < 0)
		return -EINVAL;
	*out <<= shift;
	if (*out < (1ull << 20))
		return fail(p, p->lineno, "%s: %s: %s is less than 1 MiB (bytes, or a number "
			    "with k, m or g)", p->ctx, key, v);
	return 0;
}

static bool path_ok(const char *v)
{
	return v[0] == '/' && !strstr(v, "/../") && !strstr(v, "/./") && strlen(v) < 4096 &&
	       !(strlen(v) >= 3 && !strcmp(v + strlen(v) - 3, "/.."));
}

static int path_value(struct parser *p, const char *key, const char *v, char **out)
{
	if (!path_ok(v))
		return fail(p, p->lineno, "%s: %s: expected an absolute path without `.` or `..`",
			    p->ctx, key);
	*out = strdup(v);
	return *out ? 0 : gr_error_sys(&p->err, ENOMEM, "config");
}

/* A space-separated list (accounts, vos, leftover_dirs): each word passes check. */
static int list_value(struct parser *p, const char *key, char ***list, size_t *n, const char *v,
		      int (*check)(struct parser *p, const char *key, const char *word))
{
	_cleanup_free_ char *copy = strdup(v);
	char *save = NULL, *tok;

	if (!copy)
		return gr_error_sys(&p->err, ENOMEM, "config");
	for (tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		char **a;

		if (check(p, key, tok) < 0)
			return -EINVAL;
		a = realloc(*list, (*n + 2) * sizeof(*a));
		if (!a)
			return gr_error_sys(&p->err, ENOMEM, "config");
		*list = a;
		a[*n] = strdup(tok);
		if (!a[*n])
			return gr_error_sys(&p->err, ENOMEM, "config");
		a[++*n] = NULL;
	}
	return 0;
}

static int name_ok(struct parser *p, const char *key, const char *tok)
{
	if (gr_config_name_ok(tok))
		return 0;
	return fail(p, p->lineno, "%s: %s: `%s` is not %s name "
		    "(1 to 32 characters from [A-Za-z0-9._-], not starting with '.')",
		    p->ctx, key, tok, strcmp(key, "vos") ? "an account" : "a VO");
}

static int names_value(struct parser *p, const char *key, char ***list, size_t *n, const char *v)
{
	return list_value(p, key, list, n, v, name_ok);
}

/* A directory the leftover scan reads (lease-leftover.c): absolute, without
 * `.` or `..`, and reached through no symlink, as the scan opens none. One
 * that is absent now is read once it is there. */
static int leftover_dir_ok(struct parser *p, const char *key, const char *tok)
{
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	int fd;

	if (!path_ok(tok))
		return fail(p, p->lineno, "%s: %s: `%s` is not an absolute path without `.` or `..`", p->ctx,
			    key, tok);
	fd = (int)syscall(SYS_openat2, AT_FDCWD, tok, &how, sizeof(how));
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (errno == ENOENT)
		return 0;
	if (errno == ELOOP)
		return fail(p, p->lineno, "%s: %s: `%s` is reached through a symlink (the scan follows "
			    "none: name the directory it points to)", p->ctx, key, tok);
	return fail(p, p->lineno, "%s: %s: `%s`: %s", p->ctx, key, tok, strerror(errno));
}

static int pool_key(struct parser *p, struct gr_pool *pool, int key, const char *v)
{
	unsigned long long n = 0;
	int r;

	if (key == 3)
		return names_value(p, "accounts", &pool->accounts, &pool->naccounts, v);
	if (key == 5)
		return names_value(p, "vos", &pool->vos, &pool->nvos, v);
	r = number(p, pool_keys[key], v, 4294967295ull, &n);
	if (r < 0)
		return r;
	switch (key) {
	case 0:
		if (n < GR_POOL_MIN_FIRST_UID)
			return fail(p, p->lineno, "%s: first_uid: %llu is below %u: uids 0-65535 hold root, "
				    "nobody (65534) and the system and regular accounts", p->ctx, n,
				    GR_POOL_MIN_FIRST_UID);
		if (n > GR_POOL_LAST_UID)
			return fail(p, p->lineno, "%s: first_uid: %llu is past %u, the last valid uid",
				    p->ctx, n, GR_POOL_LAST_UID);
		pool->first_uid = (uid_t)n;
		break;
	case 1:
		if (n < 1 || n > GR_POOL_MAX_RANGES)
			return fail(p, p->lineno, "%s: ranges: must be from 1 to %u", p->ctx, GR_POOL_MAX_RANGES);
		pool->ranges = (unsigned)n;
		break;
	case 2:
		if (n < 1)
			return fail(p, p->lineno, "%s: range_size: must be at least 1", p->ctx);
		pool->range_size = (unsigned)n;
		break;
	case 4:
		if (n > GR_POOL_QUARANTINE_MAX)
			return fail(p, p->lineno, "%s: quarantine_seconds: %llu is more than %u (30 days)",
				    p->ctx, n, GR_POOL_QUARANTINE_MAX);
		pool->quarantine_seconds = (unsigned)n;
		break;
	}
	return 0;
}

/* The end of a section: required keys, and a pool's extent. */
static int end_section(struct parser *p)
{
	if (p->kind == S_POOL) {
		struct gr_pool *pool = &p->cfg->pools[p->cfg->npools - 1];
		unsigned long long end;

		if (!p->seen[0])
			return fail(p, p->sect_line, "%s: missing first_uid", p->ctx);
		if (!p->seen[1])
			return fail(p, p->sect_line, "%s: missing ranges", p->ctx);
		/* 64-bit: ranges and range_size are < 2^32 each */
		end = (unsigned long long)pool->first_uid + (unsigned long long)pool->ranges * pool->range_size;
		if (end - 1 > GR_POOL_LAST_UID)
			return fail(p, p->sect_line, "%s: uids %u-%llu run past %u, the last valid uid "
				    "(first_uid + ranges * range_size)", p->ctx, pool->first_uid, end - 1,
				    GR_POOL_LAST_UID);
	}
	if (p->kind == S_ROOTFS && !p->seen[0])
		return fail(p, p->sect_line, "%s: missing path", p->ctx);
	return 0;
}

static void *grow(void *arr, size_t n, size_t size)
{
	void *a = realloc(arr, (n + 1) * size);

	if (a)
		memset((char *)a + n * size, 0, size);
	return a;
}

/* A line "[...]": close the section before, open this one. */
static int begin_section(struct parser *p, char *line)
{
	char *close = strchr(line, ']'), *rest, *name;
	size_t i;

	if (end_section(p) < 0)
		return -EINVAL;
	if (!close)
		return fail(p, p->lineno, "syntax error: `[` without `]`");
	*close = '\0';
	rest = close + 1 + strspn(close + 1, " \t\r");
	if (*rest && *rest != ';' && *rest != '#')
		return fail(p, p->lineno, "text after the section header [%s]", line + 1);
	name = line + 1;
	if (strlen(name) >= sizeof(p->sect))
		return fail(p, p->lineno, "unknown section [%.40s...]", name);
	snprintf(p->sect, sizeof(p->sect), "%s", name);
	memset(p->seen, 0, sizeof(p->seen));
	p->sect_line = p->lineno;
	if (!strcmp(name, "runtime")) {
		if (p->runtime_line)
			return fail(p, p->lineno, "duplicate section [runtime] (first at line %u)", p->runtime_line);
		p->runtime_line = p->lineno;
		p->kind = S_RUNTIME;
		snprintf(p->ctx, sizeof(p->ctx), "runtime");
		return 0;
	}
	if (!strcmp(name, "pool") || !strcmp(name, "rootfs"))
		return fail(p, p->lineno, "section [%s] needs a name: [%s NAME]", name, name);
	if (!strncmp(name, "pool ", 5) || !strncmp(name, "rootfs ", 7)) {
		bool is_pool = name[0] == 'p';
		const char *n = name + (is_pool ? 5 : 7);

		if (!gr_config_name_ok(n))
			return fail(p, p->lineno, "[%s]: the name must be 1 to 32 characters from "
				    "[A-Za-z0-9._-], not starting with '.'", name);
		snprintf(p->ctx, sizeof(p->ctx), "%s", name);
		if (is_pool) {
			struct gr_pool *pools;

			for (i = 0; i < p->cfg->npools; i++)
				if (!strcmp(p->cfg->pools[i].name, n))
					return fail(p, p->lineno, "duplicate section [%s] (first at line %u)",
						    name, p->cfg->pools[i].line);
			pools = grow(p->cfg->pools, p->cfg->npools, sizeof(*pools));
			if (!pools)
				return gr_error_sys(&p->err, ENOMEM, "config");
			p->cfg->pools = pools;
			pools[p->cfg->npools] = (struct gr_pool){
				.name = strdup(n), .line = p->lineno,
				.range_size = GR_POOL_RANGE_SIZE_DEFAULT,
				.quarantine_seconds = GR_POOL_QUARANTINE_DEFAULT,
			};
			if (!pools[p->cfg->npools++].name)
				return gr_error_sys(&p->err, ENOMEM, "config");
			p->kind = S_POOL;
		} else {
			struct gr_rootfs *rfs;

			for (i = 0; i < p->cfg->nrootfs; i++)
				if (!strcmp(p->cfg->rootfs[i].name, n))
					return fail(p, p->lineno, "duplicate section [%s] (first at line %u)",
						    name, p->cfg->rootfs[i].line);
			rfs = grow(p->cfg->rootfs, p->cfg->nrootfs, sizeof(*rfs));
			if (!rfs)
				return gr_error_sys(&p->err, ENOMEM, "config");
			p->cfg->rootfs = rfs;
			rfs[p->cfg->nrootfs] = (struct gr_rootfs){ .name = strdup(n), .line = p->lineno };
			if (!rfs[p->cfg->nrootfs++].name)
				return gr_error_sys(&p->err, ENOMEM, "config");
			p->kind = S_ROOTFS;
		}
		return 0;
	}
	return fail(p, p->lineno, "unknown section [%s]", name);
}

/* inih's reader: one line per call, so inih's line numbers are ours. */
static char *reader(char *str, int num, void *stream)
{
	struct parser *p = stream;
	const char *start, *nl;
	size_t n, indent;

	if (p->err || p->pos >= p->len)
		return NULL;
	start = p->text + p->pos;
	nl = memchr(start, '\n', p->len - p->pos);
	n = nl ? (size_t)(nl - start) : p->len - p->pos;
	p->pos += n + (nl ? 1 : 0);
	p->lineno++;
	if (memchr(start, '\0', n)) {
		fail(p, p->lineno, "NUL byte in the line");
		return NULL;
	}
	if (n > MAX_LINE || n + 2 > (size_t)num) {
		fail(p, p->lineno, "line longer than %d characters", MAX_LINE);
		return NULL;
	}
	memcpy(str, start, n);
	str[n] = '\n';
	str[n + 1] = '\0';
	indent = strspn(str, " \t\r\v\f");
	if (indent && str[indent] != '\n' && str[indent] != ';' && str[indent] != '#') {
		fail(p, p->lineno, "indented line: keys and sections start at the beginning of a line "
		     "(continuation lines are not supported)");
		return NULL;
	}
	if (str[0] == '[') {
		_cleanup_free_ char *line = strndup(str, n);

		if (!line || begin_section(p, line) < 0) {
			if (!line)
				gr_error_sys(&p->err, ENOMEM, "config");
			return NULL;
		}
	}
	return str;
}

static int key_index(const char *const *keys, const char *name)
{
	for (int i = 0; keys[i]; i++)
		if (!strcmp(keys[i], name))
			return i;
	return -1;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parser *p = user;
	const char *const *keys;
	int k;

	if (p->err)
		return 0;
	if (p->kind == S_NONE) {
		fail(p, p->lineno, "key `%s` is outside any section", name);
		return 0;
	}
	if (strcmp(section, p->sect)) {
		fail(p, p->lineno, "syntax error");
		return 0;
	}
	keys = p->kind == S_RUNTIME ? runtime_keys : p->kind == S_POOL ? pool_keys : rootfs_keys;
	k = key_index(keys, name);
	if (k < 0) {
		fail(p, p->lineno, "%s: unknown key `%s`", p->ctx, name);
		return 0;
	}
	if (p->seen[k]) {
		fail(p, p->lineno, "%s: duplicate key %s (first at line %u)", p->ctx, name, p->seen[k]);
		return 0;
	}
	p->seen[k] = p->lineno;
	switch (p->kind) {
	case S_RUNTIME: {
		/* indexed as runtime_keys[]; NULL: a key handled below */
		char **slot[] = { &p->cfg->state_dir, &p->cfg->lease_dir, &p->cfg->cgroup_base, NULL,
				   NULL, NULL, NULL, &p->cfg->record_dir, NULL };

		if (k == 4)
			return size_value(p, name, value, &p->cfg->tmpfs_size) == 0;
		if (k == 5) {
			unsigned long long n = 0;

			if (number(p, name, value, 4194304, &n) < 0)
				return 0;
			if (n < 1) {
				fail(p, p->lineno, "runtime: default_pids_limit: must be at least 1");
				return 0;
			}
			p->cfg->default_pids_limit = (long long)n;
			return 1;
		}
		if (k == 8)
			return list_value(p, name, &p->cfg->leftover_dirs, &p->cfg->nleftover_dirs, value,
					  leftover_dir_ok) == 0;
		if (k == 3) {
			if (gr_handover_way_parse(value, &p->cfg->handover) == 0)
				return 1;
			fail(p, p->lineno, "runtime: sandbox_handover: `%s` is not auto, idmap or chown", value);
			return 0;
		}
		if (k == 6) {
			if (strcmp(value, "on") && strcmp(value, "off")) {
				fail(p, p->lineno, "runtime: landlock: `%s` is not on or off", value);
				return 0;
			}
			p->cfg->landlock_off = !strcmp(value, "off");
			return 1;
		}
		return path_value(p, name, value, slot[k]) == 0;
	}
	case S_POOL:
		return pool_key(p, &p->cfg->pools[p->cfg->npools - 1], k, value) == 0;
	case S_ROOTFS:
		return path_value(p, name, value, &p->cfg->rootfs[p->cfg->nrootfs - 1].path) == 0;
	case S_NONE:
		break;
	}
	return 0;
}

static int parse(const char *text, size_t len, const char *file, struct gr_config *cfg,
		 struct gr_error **err)
{
	struct parser p = { .cfg = cfg, .file = file, .text = text, .len = len };
	int rc;

	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		p.pos = 3;
	rc = ini_parse_stream(reader, &p, handler, &p);
	p.at_end = true;
	if (!p.err)
		end_section(&p);
	/* inih goes on after a syntax error: the error found first is the one */
	if (rc > 0 && (!p.err || (unsigned)rc < p.err_order)) {
		gr_error_free(TAKE_PTR(p.err));
		return gr_error_set(err, EINVAL, "%s:%d: syntax error: expected [section] or key = value",
				    file, rc);
	}
	if (p.err) {
		gr_error_free(*err);
		*err = TAKE_PTR(p.err);
		return -EINVAL;
	}
	if (rc < 0)
		return gr_error_sys(err, ENOMEM, "%s", file);
	return 0;
}

void gr_config_free(struct gr_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->npools; i++) {
		for (size_t j = 0; j < cfg->pools[i].naccounts; j++)
			free(cfg->pools[i].accounts[j]);
		free(cfg->pools[i].accounts);
		for (size_t j = 0; j < cfg->pools[i].nvos; j++)
			free(cfg->pools[i].vos[j]);
		free(cfg->pools[i].vos);
		free(cfg->pools[i].name);
	}
	for (size_t i = 0; i < cfg->nrootfs; i++) {
		free(cfg->rootfs[i].name);
		free(cfg->rootfs[i].path);
	}
	free(cfg->pools);
	free(cfg->rootfs);
	free(cfg->file);
	free(cfg->state_dir);
	free(cfg->lease_dir);
	free(cfg->cgroup_base);
	free(cfg->record_dir);
	for (size_t i = 0; i < cfg->nleftover_dirs; i++)
		free(cfg->leftover_dirs[i]);
	free(cfg->leftover_dirs);
	free(cfg);
}

void gr_config_freep(struct gr_config **cfg)
{
	gr_config_free(*cfg);
	*cfg = NULL;
}

static int read_config(int fd, const char *path, char **text, size_t *len, struct stat *stp,
		       struct gr_error **err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return gr_error_sys(err, errno, "config `%s`", path);
	if (!S_ISREG(st.st_mode))
		return gr_error_set(err, EINVAL, "config `%s` is not a regular file", path);
	/* whoever can write it decides which host uids jobs get */
	if (geteuid() == 0 && (st.st_uid != 0 || (st.st_mode & 022)))
		return gr_error_set(err, EPERM, "config `%s` must be owned by root and writable only by it "
				    "(it is owned by uid %u, mode %04o)", path, (unsigned)st.st_uid,
				    (unsigned)(st.st_mode & 07777));
	if (st.st_size > MAX_FILE)
		return gr_error_set(err, EFBIG, "config `%s` is larger than %u bytes", path, MAX_FILE);
	{
		_cleanup_free_ char *buf = malloc((size_t)st.st_size + 2);
		ssize_t n;

		if (!buf)
			return gr_error_sys(err, ENOMEM, "config `%s`", path);
		n = gr_read_full(fd, buf, (size_t)st.st_size + 1);
		if (n < 0)
			return gr_error_sys(err, (int)-n, "read config `%s`", path);
		if ((size_t)n > (size_t)st.st_size)
			return gr_error_set(err, EAGAIN, "config `%s` changed while it was read", path);
		buf[n] = '\0';
		*len = (size_t)n;
		*stp = st;
		*text = TAKE_PTR(buf);
	}
	return 0;
}

int gr_config_load(const char *path, unsigned flags, struct gr_config **out, struct gr_error **err)
{
	struct gr_config *cfg __attribute__((cleanup(gr_config_freep))) = calloc(1, sizeof(*cfg));
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int fd = -1;
	size_t len = 0;
	int r;

	if (!cfg)
		return gr_error_sys(err, ENOMEM, "config");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && !(errno == ENOENT && (flags & GR_CONFIG_OPTIONAL)))
		return gr_error_sys(err, errno, "open config `%s`", path);
	if (fd >= 0) {
		cfg->file = strdup(path);
		if (!cfg->file)
			return gr_error_sys(err, ENOMEM, "config");
		r = read_config(fd, path, &text, &len, &cfg->file_stat, err);
		if (r < 0)
			return r;
		r = parse(text, len, path, cfg, err);
		if (r < 0)
			return r;
	}
	if (!cfg->lease_dir && !(cfg->lease_dir = strdup(GR_LEASE_DIR_DEFAULT)))
		return gr_error_sys(err, ENOMEM, "config");
	for (size_t i = 0; i < cfg->npools; i++) {
		cfg->pools[i].lease_dir = cfg->lease_dir;
		cfg->pools[i].leftover_dirs = cfg->leftover_dirs;
		cfg->pools[i].file = cfg->file;
	}
	r = gr_config_check_overlaps(cfg, err);
	if (r == 0 && (flags & GR_CONFIG_IDS_LATER))
		cfg->ids_unchecked = cfg->npools > 0;
	else if (r == 0)
		r = gr_config_ids_check(cfg, (flags & GR_CONFIG_IDS_FULL) != 0, err);
	if (r < 0)
		return r;
	*out = TAKE_PTR(cfg);
	return 0;
}

int gr_config_check_ids(struct gr_config *cfg, struct gr_error **err)
{
	int r;

	if (!cfg->ids_unchecked)
		return 0;
	r = gr_config_ids_check(cfg, false, err);
	if (r == 0)
		cfg->ids_unchecked = false;
	return r;
}

int gr_config_load_cli_flags(const char *explicit_path, unsigned flags, struct gr_config **out,
			     struct gr_error **err)
{
	const char *env = getenv("GRIDRUN_CONFIG");

	if (explicit_path)
		return gr_config_load(explicit_path, flags, out, err);
	if (env && *env)
		return gr_config_load(env, flags, out, err);
	return gr_config_load(GR_CONFIG_DEFAULT, flags | GR_CONFIG_OPTIONAL, out, err);
}

int gr_config_load_cli(const char *explicit_path, struct gr_config **out, struct gr_error **err)
{
	return gr_config_load_cli_flags(explicit_path, 0, out, err);
}

const struct gr_pool *gr_config_pool(const struct gr_config *cfg, const char *name)
{
	for (size_t i = 0; cfg && i < cfg->npools; i++)
		if (!strcmp(cfg->pools[i].name, name))
			return &cfg->pools[i];
	return NULL;
}

int gr_pool_check_account(const struct gr_pool *pool, const char *account, struct gr_error **err)
{
	_cleanup_free_ char *list = NULL;
	size_t size = 0;
	FILE *f;

	if (!pool->naccounts)
		return gr_error_set(err, EPERM, "pool %s: no account may lease from it (its accounts "
				    "in `%s` are empty)", pool->name, pool->file);
	for (size_t i = 0; i < pool->naccounts; i++)
		if (account && !strcmp(pool->accounts[i], account))
			return 0;
	f = open_memstream(&list, &size);
	if (!f)
		return gr_error_sys(err, ENOMEM, "pool %s", pool->name);
	for (size_t i = 0; i < pool->naccounts; i++)
		fprintf(f, "%s%s", i ? " " : "", pool->accounts[i]);
	fclose(f);
	return gr_error_set(err, EPERM, "pool %s: account `%s` may not lease from it (accounts: %s)",
			    pool->name, account ? account : "", list);
}

int gr_config_pool_for(const struct gr_config *cfg, const char *name, const char *account,
		       const struct gr_pool **pool, struct gr_error **err)
{
	const struct gr_pool *p = gr_config_pool(cfg, name);

	if (!p && (!cfg || !cfg->file))
		return gr_error_set(err, ENOENT, "gridrun.pool: no pool `%s`: there is no site "
				    "configuration (`%s` does not exist)", name, GR_CONFIG_DEFAULT);
	if (!p)
		return gr_error_set(err, ENOENT, "gridrun.pool: no pool `%s` in `%s`", name, cfg->file);
	if (!account)
		return gr_error_set(err, EINVAL, "gridrun.pool `%s` needs gridrun.account: the pool's "
				    "accounts decide who may lease", name);
	*pool = p;
	return gr_pool_check_account(p, account, err);
}
