/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * spec-oci.c - the members of an OCI config.json (runc spec, runc spec
 * --rootless, crun spec, Slurm's rewrite of them) that gridrun accepts
 * although it does not take them as written (spec.h, "OCI compatibility").
 *
 *  - The standard mounts (/proc /dev /dev/pts /dev/shm /dev/mqueue /sys
 *    /sys/fs/cgroup) with their usual types and options: gridrun mounts its
 *    own /proc and /dev (mountns.h) whatever they say, so they are checked
 *    and dropped; /sys and /sys/fs/cgroup are not mounted (a notice).
 *  - process.capabilities: names are checked; gridrun grants none (a notice).
 *  - process.terminal true: gridrun allocates none (a notice).
 *  - linux.resources.devices: only "deny" rules (allow false): the job has
 *    only gridrun's fixed /dev nodes and no capability to make others.
 *  - linux.uidMappings/gidMappings: gridrun writes its own maps (userns.h,
 *    never host root); the spec's must map process.user's id (a notice).
 *  - linux.cgroupsPath: gridrun places the job in its own cgroup (a notice).
 *  - process.env: a NAME given twice keeps its last value, as runc does
 *    (Slurm appends the submitter's whole environment).
 * Any other OCI member gridrun does not implement is "not supported", not
 * "unknown" (gr_spec_oci_unsupported()).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spec-internal.h"
#include "util.h"

static const char *const notices[] = {
	[0] = "process.capabilities: gridrun grants no capabilities, running without",
	[1] = "process.terminal: gridrun allocates no terminal, running without",
	[2] = "mounts: /sys and /sys/fs/cgroup are not mounted by gridrun, the root's are seen",
	[3] = "linux.uidMappings/gidMappings: gridrun maps the job itself (never onto host root), "
	      "the host IDs given are not used",
	[4] = "linux.cgroupsPath: gridrun places the job in its own cgroup, ignoring",
};

const char *gr_spec_notice_text(unsigned bit)
{
	for (unsigned i = 0; i < ARRAY_SIZE(notices); i++)
		if (bit == 1u << i)
			return notices[i];
	return NULL;
}

/* OCI members gridrun knows of but does not implement, per object. */
static const char *const unsupported_top[] = { "hooks", "domainname", "solaris", "windows",
					       "vm", "zos", NULL };
static const char *const unsupported_process[] = { "consoleSize", "apparmorProfile",
						   "selinuxLabel", "ioPriority", "scheduler",
						   "execCPUAffinity", "commandLine", NULL };
static const char *const unsupported_linux[] = { "devices", "sysctl", "rootfsPropagation",
						 "mountLabel", "intelRdt", "personality",
						 "timeOffsets", "memoryPolicy", "netDevices", NULL };
static const char *const unsupported_resources[] = { "hugepageLimits", "network", "rdma",
						     "unified", NULL };

int gr_spec_oci_unsupported(struct gr_spec_walk *w, const char *object, const char *key)
{
	static const struct {
		const char *name;
		const char *const *keys;
	} objs[] = {
		{ "", unsupported_top }, { "process", unsupported_process },
		{ "linux", unsupported_linux }, { "resources", unsupported_resources },
	};

	for (size_t i = 0; i < ARRAY_SIZE(objs); i++) {
		if (!streq(objs[i].name, object))
			continue;
		for (const char *const *k = objs[i].keys; *k; k++)
			if (streq(*k, key))
				return gr_spec_fail(w, "not supported");
	}
	return gr_spec_unknown_key(w);
}

static int capability_name(struct gr_spec_walk *w, size_t i, json_t *v)
{
	const char *s = json_string_value(v);

	(void)i;
	if (!s || strncmp(s, "CAP_", 4) != 0 || !s[4] ||
	    strspn(s + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") != strlen(s + 4))
		return gr_spec_fail(w, "expected a capability name \"CAP_...\"");
	ctx(w)->spec->ignored |= GR_SPEC_IGNORED_CAPS;
	return 0;
}

int gr_spec_oci_capability(struct gr_spec_walk *w, const char *key, json_t *v)
{
	if (!streq(key, "bounding") && !streq(key, "effective") &&
	    !streq(key, "inheritable") && !streq(key, "permitted") && !streq(key, "ambient"))
		return gr_spec_unknown_key(w);
	return gr_spec_each_element(w, v, "expected an array of capability names",
				    capability_name);
}

/* --- standard mounts ------------------------------------------------- */

static const struct {
	const char *destination;
	const char *type;
	const char *alt_type; /* rootless /sys: a bind of the host's */
} std_mounts[] = {
	{ "/proc", "proc", NULL },       { "/dev", "tmpfs", NULL },
	{ "/dev/pts", "devpts", NULL },  { "/dev/shm", "tmpfs", NULL },
	{ "/dev/mqueue", "mqueue", NULL }, { "/sys", "sysfs", "none" },
	{ "/sys/fs/cgroup", "cgroup", "cgroup2" },
};

static const char *const std_options[] = {
	"nosuid", "nodev", "noexec", "ro", "rw", "bind", "rbind", "rprivate", "rslave",
	"strictatime", "relatime", "noatime", "newinstance", NULL
};
static const char *const std_option_prefixes[] = { "mode=", "size=", "ptmxmode=", "gid=", NULL };

static bool std_option_ok(const char *s)
{
	for (const char *const *o = std_options; *o; o++)
		if (streq(*o, s))
			return true;
	for (const char *const *o = std_option_prefixes; *o; o++)
		if (!strncmp(*o, s, strlen(*o)) && s[strlen(*o)])
			return true;
	return false;
}

static int std_mount_member(struct gr_spec_walk *w, const char *key, json_t *v)
{
	char q[GR_SPEC_QUOTE_BUF];
	json_t *e;
	size_t i;

	if (streq(key, "destination") || streq(key, "type") || streq(key, "source"))
		return 0; /* matched by gr_spec_oci_std_mount() */
	if (!streq(key, "options"))
		return gr_spec_unknown_key(w);
	if (!json_is_array(v))
		return gr_spec_fail(w, "expected an array of strings");
	json_array_foreach(v, i, e) {
		const char *s = json_string_value(e);

		if (s && std_option_ok(s))
			continue;
		gr_spec_push(w, NULL, i);
		return s ? gr_spec_fail(w, "option %s is not supported on a standard mount",
					gr_spec_quote(s, q)) :
			   gr_spec_fail(w, "expected a string");
	}
	return 0;
}

int gr_spec_oci_std_mount(struct gr_spec_walk *w, json_t *v)
{
	const char *dest = json_string_value(json_object_get(v, "destination"));
	const char *type = json_string_value(json_object_get(v, "type"));
	const char *source = json_string_value(json_object_get(v, "source"));
	size_t k;
	int r;

	if (!dest || !type)
		return 0;
	for (k = 0; k < ARRAY_SIZE(std_mounts); k++)
		if (streq(dest, std_mounts[k].destination))
			break;
	if (k == ARRAY_SIZE(std_mounts))
		return 0;
	if (!streq(type, std_mounts[k].type) &&
	    !(std_mounts[k].alt_type && streq(type, std_mounts[k].alt_type)))
		return 0;
	/* a rootless /sys binds the host's /sys and nothing else */
	if (streq(type, "none") && (!source || !streq(source, "/sys")))
		return 0;
	r = gr_spec_each_member(w, v, "expected an object", std_mount_member);
	if (r < 0)
		return r;
	if (gr_spec_path_under(dest, "/sys"))
		ctx(w)->spec->ignored |= GR_SPEC_IGNORED_SYSFS;
	return 1;
}

/* --- linux ----------------------------------------------------------- */

static int device_member(struct gr_spec_walk *w, const char *key, json_t *v)
{
	const char *s = json_string_value(v);
	long long n;

	if (streq(key, "allow"))
		return json_is_false(v) ? 0 :
			gr_spec_fail(w, "not supported: only deny rules (false), the job gets "
				     "gridrun's fixed /dev nodes only");
	if (streq(key, "access"))
		return s && strlen(s) == strspn(s, "rwm") ? 0 :
			gr_spec_fail(w, "expected a string of r, w and m");
	if (streq(key, "type"))
		return s && (streq(s, "a") || streq(s, "b") || streq(s, "c")) ? 0 :
			gr_spec_fail(w, "expected \"a\", \"b\" or \"c\"");
	if (streq(key, "major") || streq(key, "minor"))
		return gr_spec_get_int(w, v, 0, 4294967295LL, true,
				       "expected a non-negative integer or -1", &n);
	return gr_spec_unknown_key(w);
}

static int device_element(struct gr_spec_walk *w, size_t i, json_t *v)
{
	(void)i;
	if (!json_object_get(v, "allow") && json_is_object(v))
		return gr_spec_fail(w, "missing required key \"allow\"");
	return gr_spec_each_member(w, v, "expected an object", device_member);
}

int gr_spec_oci_devices(struct gr_spec_walk *w, json_t *v)
{
	return gr_spec_each_element(w, v, "expected an array of device rules", device_element);
}

static int mapping_member(struct gr_spec_walk *w, const char *key, json_t *v)
{
	struct spec_ctx *c = ctx(w);
	long long n;
	int r;

	if (!streq(key, "containerID") && !streq(key, "hostID") && !streq(key, "size"))
		return gr_spec_unknown_key(w);
	r = gr_spec_get_int(w, v, streq(key, "size"), 4294967295LL, false,
			    streq(key, "size") ? "expected an integer from 1 to 4294967295" :
			    "expected an integer from 0 to 4294967295", &n);
	if (r == 0 && streq(key, "containerID"))
		c->map_first = n;
	else if (r == 0 && streq(key, "size"))
		c->map_size = n;
	return r;
}

static int mapping_element(struct gr_spec_walk *w, size_t i, json_t *v)
{
	struct spec_ctx *c = ctx(w);
	int r;

	(void)i;
	c->map_first = -1;
	c->map_size = -1;
	r = gr_spec_each_member(w, v, "expected an object", mapping_member);
	if (r < 0)
		return r;
	if (c->map_first < 0 || c->map_size < 0 || !json_object_get(v, "hostID"))
		return gr_spec_fail(w, "expected \"containerID\", \"hostID\" and \"size\"");
	if (c->map_cur >= c->map_first && c->map_cur - c->map_first < c->map_size)
		c->map_covered = true;
	return 0;
}

/*
 * The job runs as process.user's uid/gid inside, which gridrun maps; a spec
 * mapping that leaves that id out asks for something else. process.user
 * comes before linux in every generated config.json; a later one is
 * checked against the default 0.
 */
int gr_spec_oci_mappings(struct gr_spec_walk *w, const char *key, json_t *v)
{
	struct spec_ctx *c = ctx(w);
	bool uid = streq(key, "uidMappings");
	int r;

	c->map_cur = uid ? (long long)c->spec->uid : (long long)c->spec->gid;
	c->map_covered = false;
	r = gr_spec_each_element(w, v, "expected an array of mapping objects", mapping_element);
	if (r < 0)
		return r;
	if (!c->map_covered)
		return gr_spec_fail(w, "does not map process.user.%s %lld, which gridrun maps",
				    uid ? "uid" : "gid", c->map_cur);
	c->spec->ignored |= GR_SPEC_IGNORED_MAPPINGS;
	return 0;
}

int gr_spec_oci_cgroups_path(struct gr_spec_walk *w, json_t *v)
{
	if (!json_is_string(v))
		return gr_spec_fail(w, "expected a string");
	ctx(w)->spec->ignored |= GR_SPEC_IGNORED_CGROUPS_PATH;
	return 0;
}

/* --- after the walk -------------------------------------------------- */

static size_t env_name_len(const char *s)
{
	return (size_t)(strchr(s, '=') - s);
}

/* Keep the last of each NAME, in the order of the last ones. */
void gr_spec_oci_env_dedup(struct gr_spec *spec)
{
	size_t i, j, out = 0;

	for (i = 0; i < spec->nenv; i++) {
		size_t n = env_name_len(spec->env[i]);
		bool later = false;

		for (j = i + 1; j < spec->nenv && !later; j++)
			later = env_name_len(spec->env[j]) == n && !strncmp(spec->env[i], spec->env[j], n);
		if (later)
			free(spec->env[i]);
		else
			spec->env[out++] = spec->env[i];
	}
	for (i = out; i < spec->nenv; i++)
		spec->env[i] = NULL;
	spec->nenv = out;
}

/*
 * root.path relative to the bundle (OCI): joined here, then normalised by
 * the same rules as an absolute path ("." and ".." refused).
 */
int gr_spec_oci_root_path(struct gr_spec_walk *w, json_t *v, const char *bundle, char **out)
{
	_cleanup_free_ char *joined = NULL;
	const char *s = json_string_value(v);
	json_t *tmp;
	int r;

	if (!s || s[0] == '/')
		return gr_spec_get_path(w, v, out);
	if (!bundle)
		return gr_spec_fail(w, "a relative path needs a bundle directory (give the spec "
				    "as a file or the bundle explicitly)");
	if (!*s || asprintf(&joined, "%s/%s", bundle, s) < 0)
		return *s ? gr_spec_oom(w) : gr_spec_fail(w, "expected a non-empty path");
	tmp = json_string(joined);
	if (!tmp)
		return gr_spec_oom(w);
	r = gr_spec_get_path(w, tmp, out);
	json_decref(tmp);
	return r;
}

/* --- in the job ------------------------------------------------------ */

int gr_spec_oci_apply_in_child(const struct gr_spec *spec, struct gr_error **err)
{
	(void)err;
	if (spec->umask >= 0)
		umask((mode_t)spec->umask);
	return 0;
}

int gr_spec_oci_oom_in_child(const struct gr_spec *spec, struct gr_error **err)
{
	_cleanup_close_ int fd = -1;
	char buf[16];
	int n;

	if (!spec->has_oom_score_adj)
		return 0;
	fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return gr_error_sys(err, errno, "process.oomScoreAdj: open /proc/self/oom_score_adj");
	n = snprintf(buf, sizeof(buf), "%d", spec->oom_score_adj);
	if (write(fd, buf, (size_t)n) != n)
		return gr_error_sys(err, errno, "process.oomScoreAdj: set %d", spec->oom_score_adj);
	return 0;
}

/* --- mount targets in a bundle's rootfs ------------------------------ */

/* What gridrun itself mounts on a job's root (mountns.h). */
static const char *const own_targets[] = { "/proc", "/dev", "/tmp", "/var/tmp", "/run" };

/*
 * Open path below rootfd as if rootfd were "/": a symlink planted in the
 * rootfs (absolute or with "..") stays inside it (RESOLVE_IN_ROOT), and
 * /proc-style magic links are refused.
 */
static int open_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	do
		fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	while (fd < 0 && errno == EAGAIN);
	return fd < 0 ? -errno : fd;
}

/* Each missing component of path, a directory (the last one a file when !dir). */
static int make_target(int rootfd, const char *path, bool dir, struct gr_error **err)
{
	_cleanup_free_ char *prefix = strdup(path);
	char *p;

	if (!prefix)
		return gr_error_set(err, ENOMEM, "mount target `%s`: out of memory", path);
	for (p = prefix + 1;; p++) {
		bool last = !*p;
		_cleanup_close_ int parent = -1;
		char *slash, saved;
		int fd;

		if (*p && *p != '/')
			continue;
		saved = *p;
		*p = '\0';
		fd = open_in_root(rootfd, prefix, O_PATH);
		if (fd >= 0) {
			close(fd);
		} else if (fd == -ENOENT) {
			/* create the one name in its parent, both opened in the root:
			 * mkdirat() and O_CREAT|O_EXCL|O_NOFOLLOW never follow a
			 * symlink that is the name itself */
			slash = strrchr(prefix, '/');
			*slash = '\0';
			parent = open_in_root(rootfd, *prefix ? prefix : "/", O_PATH | O_DIRECTORY);
			*slash = '/';
			if (parent < 0)
				return gr_error_sys(err, -parent, "mount target `%s`: open `%s`", path,
						    *prefix ? prefix : "/");
			if (!last || dir)
				fd = mkdirat(parent, slash + 1, 0755);
			else
				fd = openat(parent, slash + 1, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC |
					    O_NOFOLLOW | O_NOCTTY, 0644);
			if (fd < 0 && errno != EEXIST)
				return gr_error_sys(err, errno, "create mount target `%s` in the rootfs",
						    prefix);
			if (fd > 0 && (!dir && last))
				close(fd);
		} else {
			return gr_error_sys(err, -fd, "mount target `%s`: open `%s`", path, prefix);
		}
		*p = saved;
		if (last)
			return 0;
	}
}

/* A target of the rootfs that does not exist yet (other errors are make_target's to report). */
static bool target_missing(int rootfd, const char *path)
{
	int fd = open_in_root(rootfd, path, O_PATH);

	if (fd >= 0)
		close(fd);
	return fd == -ENOENT;
}

/* Whether a bind mount's target is a directory (a file's target is a file). */
static bool mount_target_is_dir(const struct gr_mount *m)
{
	struct stat st;

	return !(m->type == GR_MOUNT_BIND && stat(m->source, &st) == 0 && !S_ISDIR(st.st_mode));
}

static bool any_target_missing(int rootfd, const struct gr_spec *spec)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(own_targets); i++)
		if (target_missing(rootfd, own_targets[i]))
			return true;
	for (i = 0; i < spec->nmounts; i++)
		if (target_missing(rootfd, spec->mounts[i].destination))
			return true;
	return false;
}

static int make_all_targets(int rootfd, const struct gr_spec *spec, struct gr_error **err)
{
	size_t i;
	int r;

	for (i = 0; i < ARRAY_SIZE(own_targets); i++) {
		r = make_target(rootfd, own_targets[i], true, err);
		if (r < 0)
			return r;
	}
	for (i = 0; i < spec->nmounts; i++) {
		r = make_target(rootfd, spec->mounts[i].destination, mount_target_is_dir(&spec->mounts[i]),
				err);
		if (r < 0)
			return gr_error_prefix(err, "mounts[%zu]", i);
	}
	return 0;
}

/*
 * make_all_targets() in a child that has become the bundle's owner (uid,
 * gid, no supplementary groups): root running a user's bundle creates in
 * it only what that user could, and the job's own ids (a leased range)
 * need no write access to the user's rootfs. The child's error comes back
 * over a pipe: its errno, then its message.
 */
static int make_targets_as(int rootfd, const struct gr_spec *spec, uid_t uid, gid_t gid,
			   struct gr_error **err)
{
	_cleanup_close_ int rd = -1, wr = -1;
	char msg[1024];
	int p[2], errnum = 0, status;
	ssize_t n;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return gr_error_sys(err, errno, "mount targets: pipe");
	rd = p[0];
	wr = p[1];
	pid = fork();
	if (pid < 0)
		return gr_error_sys(err, errno, "mount targets: fork");
	if (pid == 0) {
		struct gr_error *e = NULL;
		int r;

		if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
			r = gr_error_sys(&e, errno, "mount targets: become the bundle's owner %u:%u",
					 (unsigned)uid, (unsigned)gid);
		else
			r = make_all_targets(rootfd, spec, &e);
		if (r < 0) {
			errnum = e && e->errnum ? e->errnum : EINVAL;
			if (gr_write_all(wr, &errnum, sizeof(errnum)) == (ssize_t)sizeof(errnum) && e && e->msg)
				(void)gr_write_all(wr, e->msg, strlen(e->msg));
		}
		_exit(r < 0 ? 1 : 0);
	}
	close(wr);
	wr = -1;
	n = gr_read_full(rd, &errnum, sizeof(errnum));
	if (n == (ssize_t)sizeof(errnum)) {
		n = gr_read_full(rd, msg, sizeof(msg) - 1);
		msg[n > 0 ? n : 0] = '\0';
	} else {
		errnum = 0;
		msg[0] = '\0';
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return gr_error_sys(err, errno, "mount targets: wait");
	if (errnum)
		return gr_error_set(err, errnum, "%s", msg);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return gr_error_set(err, EIO, "mount targets: the bundle owner's process failed (status %d)",
				    status);
	return 0;
}

/*
 * The rootfs, as a directory fd: below the bundle (a relative root.path,
 * runc spec's "rootfs") it is opened from the bundle's fd and may not go
 * through a symlink, so the directory whose owner make_targets_as() becomes
 * is the one the rootfs lies in, whatever is renamed meanwhile; an absolute
 * root.path is the spec's own choice.
 */
static int open_rootfs(const struct gr_spec *spec, int bundlefd)
{
	size_t n = strlen(spec->bundle);
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	if (strncmp(spec->root_path, spec->bundle, n) || spec->root_path[n] != '/')
		return open(spec->root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	do
		fd = (int)syscall(SYS_openat2, bundlefd, spec->root_path + n + 1, &how, sizeof(how));
	while (fd < 0 && errno == EAGAIN);
	return fd;
}

int gr_spec_oci_make_targets(const struct gr_spec *spec, struct gr_error **err)
{
	_cleanup_close_ int rootfd = -1, bundlefd = -1;
	struct stat rst, hst, bst;

	if (!spec->bundle || streq(spec->root_path, "/"))
		return 0;
	rootfd = open(spec->root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return gr_error_sys(err, errno, "root.path `%s`", spec->root_path);
	if (fstat(rootfd, &rst) < 0 || stat("/", &hst) < 0)
		return gr_error_sys(err, errno, "root.path `%s`", spec->root_path);
	/* a root.path that leads to the host's own root (a symlink to /, say):
	 * nothing is ever made in it */
	if (rst.st_dev == hst.st_dev && rst.st_ino == hst.st_ino)
		return 0;
	if (!any_target_missing(rootfd, spec))
		return 0;
	/* something to make: the bundle itself, never through a symlink
	 * (O_NOFOLLOW|O_DIRECTORY: ENOTDIR), so its owner is that of the
	 * directory the caller named, and the rootfs opened from it again */
	bundlefd = open(spec->bundle, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (bundlefd < 0 && errno == ENOTDIR && lstat(spec->bundle, &bst) == 0 && S_ISLNK(bst.st_mode))
		return gr_error_set(err, ELOOP, "bundle `%s` is a symlink: name the directory itself "
				    "(missing mount targets are made as its owner)", spec->bundle);
	if (bundlefd < 0 || fstat(bundlefd, &bst) < 0)
		return gr_error_sys(err, errno, "bundle `%s`", spec->bundle);
	close(rootfd);
	rootfd = open_rootfs(spec, bundlefd);
	if (rootfd < 0)
		return gr_error_sys(err, errno, "root.path `%s` (below the bundle, never through a symlink)",
				    spec->root_path);
	if (fstat(rootfd, &rst) < 0)
		return gr_error_sys(err, errno, "root.path `%s`", spec->root_path);
	if (rst.st_dev == hst.st_dev && rst.st_ino == hst.st_ino)
		return 0;
	if (geteuid() == 0 && bst.st_uid != 0)
		return make_targets_as(rootfd, spec, bst.st_uid, bst.st_gid, err);
	return make_all_targets(rootfd, spec, err);
}
