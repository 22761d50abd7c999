/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * seccomp.c - find a profile, compile it to BPF, install it (gr-seccomp.h).
 *
 * libseccomp 2.5 can write its filter only to a file descriptor
 * (seccomp_export_bpf): the program goes through a memfd and is read back
 * into a struct sock_filter array, so that the supervisor compiles it and
 * the job's main process needs nothing but one seccomp(2) call.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gr-seccomp.h"
#include "util.h"

#ifndef GR_SECCOMP_DIR
#define GR_SECCOMP_DIR "/usr/local/share/gridrun/seccomp"
#endif

#define PROFILE_MAX_SIZE (1u << 20)

const char *gr_seccomp_dir(void)
{
	const char *d = getenv("GRIDRUN_SECCOMP_DIR");

	return d && *d ? d : GR_SECCOMP_DIR;
}

void gr_seccomp_free(struct gr_seccomp *f)
{
	if (!f)
		return;
	free(f->insns);
	free(f);
}

void gr_seccomp_freep(struct gr_seccomp **f)
{
	gr_seccomp_free(*f);
	*f = NULL;
}

/* Parse text, step along prefix (the value must be there), build the context. */
static int build_doc(const char *text, size_t len, const char *file,
		     const char *const *prefix, size_t nprefix,
		     scmp_filter_ctx *ctx, unsigned *flags, struct gr_error **err)
{
	struct gr_spec_walk w = { .text = text, .len = len, .file = file, .err = err };
	const char *nul;
	json_error_t jerr;
	json_t *root, *v;
	size_t i;
	int r;

	/* as the spec loader does (spec.c) */
	for (i = 0; i < len; i++)
		if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r')
			break;
	if (i == len)
		return gr_error_set(err, EINVAL, "%s:1:1: json: empty file, expected a JSON object", file);
	nul = memchr(text, '\0', len);
	if (nul) {
		struct gr_spec_pos pos = gr_spec_pos_at(text, len, (size_t)(nul - text));

		return gr_error_set(err, EINVAL, "%s:%u:%u: json: unexpected NUL byte",
				    file, pos.line, pos.col);
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!root)
		return gr_spec_syntax_error(err, file, text, len, jerr.line, jerr.column, jerr.position,
					    json_error_code(&jerr) == json_error_duplicate_key, jerr.text);
	v = root;
	for (i = 0; i < nprefix; i++) {
		v = json_object_get(v, prefix[i]);
		gr_spec_push(&w, prefix[i], 0);
	}
	if (!v)
		r = gr_error_set(err, ENOENT, "%s: no seccomp profile at the expected place", file);
	else
		r = gr_seccomp_build(&w, v, ctx, flags);
	json_decref(root);
	return r;
}

static int export_bpf(scmp_filter_ctx ctx, unsigned flags, struct gr_seccomp **out,
		      struct gr_error **err)
{
	_cleanup_gr_seccomp_ struct gr_seccomp *f = NULL;
	_cleanup_close_ int fd = -1;
	struct stat st;
	ssize_t n;
	int r;

	fd = memfd_create("gridrun-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return gr_error_sys(err, errno, "seccomp: memfd_create");
	r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		return gr_error_sys(err, -r, "seccomp: export the filter");
	if (fstat(fd, &st) < 0)
		return gr_error_sys(err, errno, "seccomp: stat the exported filter");
	if (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter))
		return gr_error_set(err, EIO, "seccomp: libseccomp exported %lld bytes, not a filter",
				    (long long)st.st_size);
	/* the kernel's limit per filter (BPF_MAXINSNS) */
	if (st.st_size / sizeof(struct sock_filter) > 4096)
		return gr_error_set(err, E2BIG, "seccomp: the filter has %lld instructions, more than "
				    "the kernel's 4096", (long long)(st.st_size / sizeof(struct sock_filter)));
	f = calloc(1, sizeof(*f));
	if (!f || !(f->insns = malloc((size_t)st.st_size)))
		return gr_error_set(err, ENOMEM, "seccomp: out of memory");
	f->ninsns = (size_t)st.st_size / sizeof(struct sock_filter);
	f->flags = flags;
	do
		n = pread(fd, f->insns, (size_t)st.st_size, 0);
	while (n < 0 && errno == EINTR);
	if (n != st.st_size)
		return gr_error_sys(err, n < 0 ? errno : EIO, "seccomp: read the exported filter back");
	*out = TAKE_PTR(f);
	return 0;
}

static int read_profile(const char *path, char **text, size_t *len, struct gr_error **err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t n = 0, cap = 0;

	struct stat st;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return gr_error_sys(err, errno, "open seccomp profile `%s`", path);
	/* a spec may name a profile by path, and gridrun may run as root: only
	 * a file everyone may read, so that its messages (which quote the
	 * text) tell the spec's author nothing new */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & S_IROTH))
		return gr_error_set(err, EACCES, "seccomp profile `%s`: not a regular file readable by "
				    "everyone", path);
	for (;;) {
		ssize_t k;

		if (n > PROFILE_MAX_SIZE)
			return gr_error_set(err, EFBIG, "read seccomp profile `%s`: larger than %u bytes",
					    path, PROFILE_MAX_SIZE);
		if (n == cap) {
			char *p = realloc(buf, cap = cap ? cap * 2 : 65536);

			if (!p)
				return gr_error_set(err, ENOMEM, "read seccomp profile `%s`: out of memory", path);
			buf = p;
		}
		k = read(fd, buf + n, cap - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return gr_error_sys(err, errno, "read seccomp profile `%s`", path);
		if (k == 0)
			break;
		n += (size_t)k;
	}
	*text = TAKE_PTR(buf);
	*len = n;
	return 0;
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 64 && s[0] != '.' &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/*
 * The text of profile name: a path (with a '/'), NAME.json in the profile
 * directory, or the built-in NAME. *text is malloc'd (*owned) or a built-in
 * one; *file names it in messages; *builtin is the built-in profile whose
 * text it is, if any. -ENOENT (with err) when there is no such profile.
 */
static int find_profile(const char *name, char **owned, const char **text, size_t *len,
			char **file, const struct gr_seccomp_builtin **builtin, struct gr_error **err)
{
	_cleanup_gr_error_ struct gr_error *e = NULL;
	int r;

	*owned = NULL;
	*builtin = NULL;
	if (strchr(name, '/')) {
		r = read_profile(name, owned, len, err);
		if (r < 0)
			return r;
		*file = strdup(name);
		goto found;
	}
	if (!valid_name(name))
		return gr_error_set(err, EINVAL, "seccomp profile name `%s`: expected 1 to 64 characters "
				    "from [A-Za-z0-9._-], not starting with '.'", name);
	if (asprintf(file, "%s/%s.json", gr_seccomp_dir(), name) < 0)
		return gr_error_set(err, ENOMEM, "seccomp: out of memory");
	r = read_profile(*file, owned, len, &e);
	if (r >= 0)
		goto found;
	free(*file);
	*file = NULL;
	if (e->errnum != ENOENT) {
		*err = TAKE_PTR(e);
		return r;
	}
	for (size_t i = 0; i < gr_seccomp_nbuiltins; i++) {
		if (strcmp(gr_seccomp_builtins[i].name, name) != 0)
			continue;
		*builtin = &gr_seccomp_builtins[i];
		*text = (*builtin)->text;
		*len = (*builtin)->len;
		*file = strdup((*builtin)->source);
		return *file ? 0 : gr_error_set(err, ENOMEM, "seccomp: out of memory");
	}
	return gr_error_set(err, ENOENT, "no seccomp profile `%s`: no %s/%s.json and none built in",
			    name, gr_seccomp_dir(), name);
found:
	*text = *owned;
	for (size_t i = 0; i < gr_seccomp_nbuiltins; i++)
		if (gr_seccomp_builtins[i].len == *len && !memcmp(gr_seccomp_builtins[i].text, *text, *len))
			*builtin = &gr_seccomp_builtins[i];
	return *file ? 0 : gr_error_set(err, ENOMEM, "seccomp: out of memory");
}

static int build_named(const char *name, scmp_filter_ctx *ctx, unsigned *flags,
		       const struct gr_seccomp_builtin **use_builtin, struct gr_error **err)
{
	_cleanup_free_ char *owned = NULL, *file = NULL;
	const struct gr_seccomp_builtin *builtin;
	const char *text = NULL;
	size_t len = 0;
	int r;

	r = find_profile(name, &owned, &text, &len, &file, &builtin, err);
	if (r < 0)
		return r;
	if (use_builtin && builtin) {
		*use_builtin = builtin;
		return 0;
	}
	return build_doc(text, len, file, NULL, 0, ctx, flags, err);
}

static int copy_builtin(const struct gr_seccomp_builtin *b, struct gr_seccomp **out,
			struct gr_error **err)
{
	_cleanup_gr_seccomp_ struct gr_seccomp *f = calloc(1, sizeof(*f));

	if (!f || !(f->insns = malloc(b->ninsns * sizeof(*f->insns))))
		return gr_error_set(err, ENOMEM, "seccomp: out of memory");
	memcpy(f->insns, b->insns, b->ninsns * sizeof(*f->insns));
	f->ninsns = b->ninsns;
	f->flags = b->flags;
	*out = TAKE_PTR(f);
	return 0;
}

int gr_seccomp_load(const char *name, struct gr_seccomp **out, struct gr_error **err)
{
	__attribute__((cleanup(gr_seccomp_releasep))) scmp_filter_ctx ctx = NULL;
	const struct gr_seccomp_builtin *builtin = NULL;
	unsigned flags = 0;
	int r;

	*out = NULL;
	r = build_named(name, &ctx, &flags, &builtin, err);
	if (r < 0)
		return r;
	return builtin ? copy_builtin(builtin, out, err) : export_bpf(ctx, flags, out, err);
}

int gr_seccomp_load_text(const char *text, size_t len, const char *file,
			 struct gr_seccomp **out, struct gr_error **err)
{
	__attribute__((cleanup(gr_seccomp_releasep))) scmp_filter_ctx ctx = NULL;
	unsigned flags = 0;
	int r;

	*out = NULL;
	r = build_doc(text ? text : "", text ? len : 0, file ? file : "<profile>", NULL, 0,
		      &ctx, &flags, err);
	return r < 0 ? r : export_bpf(ctx, flags, out, err);
}

/* The job's filter: with the guard in it (seccomp-merge.c), or stacked under it. */
static int add_guard(struct gr_seccomp **f, struct gr_error **err)
{
	int r = gr_seccomp_add_guard(*f, err);

	if (r < 0)
		gr_seccomp_freep(f);
	return r < 0 ? r : 0;
}

int gr_seccomp_for_spec(const struct gr_spec *spec, struct gr_seccomp **out, struct gr_error **err)
{
	static const char *const inline_path[] = { "linux", "seccomp" };
	__attribute__((cleanup(gr_seccomp_releasep))) scmp_filter_ctx ctx = NULL;
	unsigned flags = 0;
	int r;

	*out = NULL;
	if (!spec->seccomp_doc) {
		r = gr_seccomp_load(spec->seccomp_profile ? spec->seccomp_profile : GR_SECCOMP_DEFAULT,
				    out, err);
		if (r < 0 && spec->seccomp_profile)
			gr_error_prefix(err, "%s: gridrun.seccomp_profile", spec->file);
		return r < 0 ? r : add_guard(out, err);
	}
	/* positions in messages point into the spec file */
	r = build_doc(spec->seccomp_doc, spec->seccomp_doc_len, spec->file, inline_path,
		      ARRAY_SIZE(inline_path), &ctx, &flags, err);
	if (r >= 0)
		r = export_bpf(ctx, flags, out, err);
	return r < 0 ? r : add_guard(out, err);
}

int gr_seccomp_dump(const char *name, int fd, struct gr_error **err)
{
	__attribute__((cleanup(gr_seccomp_releasep))) scmp_filter_ctx ctx = NULL;
	unsigned flags = 0;
	int r;

	/* compiled here even when built in: PFC needs libseccomp's context */
	r = build_named(name, &ctx, &flags, NULL, err);
	if (r < 0)
		return r;
	r = seccomp_export_pfc(ctx, fd);
	if (r < 0)
		return gr_error_sys(err, -r, "seccomp: write the filter of `%s`", name);
	return 0;
}

int gr_seccomp_install_in_child(const struct gr_seccomp *f, struct gr_error **err)
{
	struct sock_fprog prog;

	/* never run a job unfiltered by mistake */
	if (!f || !f->ninsns)
		return gr_error_set(err, EINVAL, "seccomp: no filter to install");
	/* a filter without the guard in it goes over the guard alone, installed
	 * first: a profile may deny seccomp(2) itself */
	if (!f->has_guard && gr_seccomp_guard_install_in_child(err) < 0)
		return -1;
	prog = (struct sock_fprog){ .len = (unsigned short)f->ninsns, .filter = f->insns };
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, f->flags, &prog) != 0)
		return gr_error_sys(err, errno, "seccomp: install the filter");
	return 0;
}
