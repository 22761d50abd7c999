// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * condor-job.c - an HTCondor job's environment and ads, and its spec
 * (condor-job.h has the contract).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "condor-job.h"
#include "util.h"

int gr_condor_signal(const char *name)
{
	char *end;
	long n;

	if (!name || !*name)
		return 0;
	if (!strncasecmp(name, "SIG", 3))
		name += 3;
	for (int s = 1; s < NSIG; s++) {
		const char *abbrev = sigabbrev_np(s);

		if (abbrev && !strcasecmp(name, abbrev))
			return s;
	}
	n = strtol(name, &end, 10);
	return *name && !*end && n > 0 && n < NSIG ? (int)n : 0;
}

const struct gr_pool *gr_condor_pick_pool(const struct gr_config *cfg, const char *account, const char *vo)
{
	if (!cfg || !account)
		return NULL;
	for (size_t i = 0; i < cfg->npools; i++) {
		const struct gr_pool *p = &cfg->pools[i];
		bool vo_ok = p->nvos == 0;

		for (size_t j = 0; j < p->nvos && vo; j++)
			vo_ok |= !strcmp(p->vos[j], vo);
		if (vo_ok && gr_pool_check_account(p, account, NULL) == 0)
			return p;
	}
	return NULL;
}

static int env_path(const char *var, bool required, char **out, struct gr_error **err)
{
	const char *v = getenv(var);

	*out = NULL;
	if (!v || !*v)
		return required ? gr_error_set(err, ENOENT, "%s is not set", var) : 0;
	if (v[0] != '/')
		return gr_error_set(err, EINVAL, "%s `%s` is not an absolute path", var, v);
	*out = strdup(v);
	return *out ? 0 : gr_error_sys(err, ENOMEM, "%s", var);
}

/* An optional integer attribute: -1 when absent; an error when mistyped. */
static int opt_int(const struct gr_classad *ad, const char *name, long long *out, struct gr_error **err)
{
	int r;

	*out = -1;
	if (!ad)
		return 0;
	r = gr_classad_int(ad, name, out, err);
	if (r == -ENOENT) {
		*out = -1;
		return 0;
	}
	return r;
}

static int opt_string(const struct gr_classad *ad, const char *name, char **out, struct gr_error **err)
{
	const char *s;
	int r = gr_classad_string(ad, name, &s, err);

	*out = NULL;
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	*out = strdup(s);
	return *out ? 0 : gr_error_sys(err, ENOMEM, "%s", name);
}

static int opt_signal(const struct gr_classad *ad, const char *name, int *out, struct gr_error **err)
{
	const struct gr_ca_attr *a = gr_classad_get(ad, name);

	*out = 0;
	if (!a || a->type == GR_CA_UNDEFINED)
		return 0;
	*out = gr_condor_signal(a->type == GR_CA_STRING ? a->str : a->text);
	if (!*out)
		return gr_error_set(err, EINVAL, "%s:%u: %s: `%s` is not a signal", ad->file, a->line,
				    a->name, a->text);
	return 0;
}

static int required(int r, const struct gr_classad *ad, const char *name, struct gr_error **err)
{
	if (r == -ENOENT)
		return gr_error_set(err, ENOENT, "%s: %s: missing", ad->file, name);
	return r;
}

/* [A-Za-z0-9._-] only (the job id's alphabet). */
static void sanitize(char *s)
{
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '.' || *s == '_' || *s == '-'))
			*s = '_';
}

static int pick_account(struct gr_condor_job *job, struct gr_error **err)
{
	struct passwd *pw;

	if (geteuid() == 0)
		job->account = strdup(job->owner);
	else if ((pw = getpwuid(getuid())))
		job->account = strdup(pw->pw_name);
	else if (asprintf(&job->account, "uid%u", (unsigned)getuid()) < 0)
		job->account = NULL;
	return job->account ? 0 : gr_error_sys(err, ENOMEM, "account");
}

static int from_ads(struct gr_condor_job *job, const struct gr_classad *ad, const struct gr_classad *mad,
		    struct gr_error **err)
{
	const char *s;
	int r;

	r = required(gr_classad_string(ad, "Owner", &s, err), ad, "Owner", err);
	if (r < 0)
		return r;
	if (!(job->owner = strdup(s)))
		return gr_error_sys(err, ENOMEM, "Owner");
	r = required(gr_classad_int(ad, "ClusterId", &job->cluster, err), ad, "ClusterId", err);
	if (r >= 0)
		r = required(gr_classad_int(ad, "ProcId", &job->proc, err), ad, "ProcId", err);
	if (r >= 0)
		r = opt_int(ad, "RequestCpus", &job->request_cpus, err);
	if (r >= 0)
		r = opt_int(ad, "RequestMemory", &job->request_memory_mb, err);
	if (r >= 0)
		r = opt_int(mad, "Cpus", &job->cpus, err);
	if (r >= 0)
		r = opt_int(mad, "Memory", &job->memory_mb, err);
	if (r >= 0)
		r = opt_signal(ad, "KillSig", &job->kill_sig, err);
	if (r >= 0)
		r = opt_signal(ad, "RemoveKillSig", &job->remove_kill_sig, err);
	if (r >= 0)
		r = opt_signal(ad, "HoldKillSig", &job->hold_kill_sig, err);
	if (r >= 0)
		r = opt_signal(ad, "CheckpointSig", &job->checkpoint_sig, err);
	if (r >= 0)
		r = opt_string(ad, "x509UserProxy", &job->proxy, err);
	if (r >= 0)
		r = opt_string(ad, "x509userproxysubject", &job->proxy_subject, err);
	if (r >= 0)
		r = opt_string(ad, "x509UserProxyVOName", &job->vo, err);
	return r;
}

int gr_condor_job_load(const struct gr_config *cfg, struct gr_condor_job **out, struct gr_error **err)
{
	_cleanup_gr_condor_job_ struct gr_condor_job *job = calloc(1, sizeof(*job));
	_cleanup_gr_classad_ struct gr_classad *ad = NULL, *mad = NULL;
	_cleanup_free_ char *job_ad = NULL, *machine_ad = NULL, *slot = NULL;
	const char *v;
	struct stat st;
	int r;

	*out = NULL;
	if (!job)
		return gr_error_sys(err, ENOMEM, "job");
	job->record_fd = -1;
	job->scratch_fd = -1;
	if (env_path("_CONDOR_SCRATCH_DIR", true, &job->scratch, err) < 0 ||
	    env_path("_CONDOR_JOB_AD", true, &job_ad, err) < 0 ||
	    env_path("_CONDOR_MACHINE_AD", false, &machine_ad, err) < 0 ||
	    env_path("_CONDOR_JOB_IWD", false, &job->iwd, err) < 0 ||
	    env_path("_CONDOR_CHIRP_CONFIG", false, &job->chirp_config, err) < 0)
		return -EINVAL;
	/* before the job: its path is the starter's (EXECUTE may be a site's
	 * symlink), and the job can write only below it, not replace it */
	job->scratch_fd = open(job->scratch, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (job->scratch_fd < 0 || fstat(job->scratch_fd, &st) < 0)
		return gr_error_sys(err, errno, "_CONDOR_SCRATCH_DIR `%s`", job->scratch);
	if (!S_ISDIR(st.st_mode))
		return gr_error_set(err, ENOTDIR, "_CONDOR_SCRATCH_DIR `%s` is not a directory", job->scratch);
	v = getenv("_CONDOR_SLOT");
	job->slot = strdup(v && *v ? v : "slot");
	if (!job->slot)
		return gr_error_sys(err, ENOMEM, "slot");

	r = gr_classad_load(job_ad, ".job.ad", &ad, err);
	if (r >= 0 && machine_ad)
		r = gr_classad_load(machine_ad, ".machine.ad", &mad, err);
	if (r >= 0)
		r = from_ads(job, ad, mad, err);
	if (r >= 0)
		r = pick_account(job, err);
	if (r < 0)
		return r;
	job->pool = gr_condor_pick_pool(cfg, job->account, job->vo);

	slot = strdup(job->slot);
	if (!slot)
		return gr_error_sys(err, ENOMEM, "slot");
	sanitize(slot);
	if (asprintf(&job->job_id, "condor-%lld.%lld-%.32s", job->cluster, job->proc, slot) < 0)
		return gr_error_sys(err, ENOMEM, "job id");
	*out = TAKE_PTR(job);
	return 0;
}

void gr_condor_job_free(struct gr_condor_job *job)
{
	if (!job)
		return;
	free(job->scratch);
	free(job->iwd);
	free(job->slot);
	free(job->chirp_config);
	free(job->owner);
	free(job->proxy);
	free(job->proxy_subject);
	free(job->vo);
	free(job->account);
	free(job->job_id);
	gr_condor_chirp_unshare(job);
	gr_closep(&job->scratch_fd);
	free(job);
}

void gr_condor_job_freep(struct gr_condor_job **job)
{
	gr_condor_job_free(*job);
}

/* Is path dir or beneath it? */
static bool beneath(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return !strncmp(path, dir, n) && (path[n] == '\0' || path[n] == '/');
}

static void annotate_int(json_t *a, const char *key, long long v)
{
	char buf[32];

	if (v >= 0) {
		snprintf(buf, sizeof(buf), "%lld", v);
		json_object_set_new(a, key, json_string(buf));
	}
}

static void annotate_str(json_t *a, const char *key, const char *v)
{
	/* annotations are JSON strings: a value that is not UTF-8 is left out */
	json_t *s = v ? json_string(v) : NULL;

	if (s)
		json_object_set_new(a, key, s);
}

/* EXECUTE of the nested layout EXECUTE/dir_<pid>/scratch (malloc'd), or NULL. */
static char *nested_execute(const char *scratch)
{
	char *copy = strdup(scratch), *slash, *out = NULL;

	if (!copy)
		return NULL;
	slash = strrchr(copy, '/');
	if (slash && !strcmp(slash, "/scratch")) {
		*slash = '\0';
		slash = strrchr(copy, '/');
		if (slash && slash != copy && !strncmp(slash, "/dir_", 5)) {
			*slash = '\0';
			out = strdup(copy);
		}
	}
	free(copy);
	return out;
}

int gr_condor_chirp_share(struct gr_condor_job *job, struct gr_error **err)
{
	_cleanup_free_ char *execute = nested_execute(job->scratch), *starter_dir = NULL, *text = NULL,
			    *copy = NULL;
	_cleanup_close_ int fd = -1;
	ssize_t w;

	if (!job->chirp_config || !execute || beneath(job->chirp_config, job->scratch))
		return 0;
	starter_dir = strndup(job->scratch, strrchr(job->scratch, '/') - job->scratch);
	if (!starter_dir || asprintf(&copy, "%s/" GR_CONDOR_CHIRP_COPY, job->scratch) < 0)
		return gr_error_sys(err, ENOMEM, "chirp config");
	if (!beneath(job->chirp_config, starter_dir))
		return 0;
	if (gr_read_file_at(AT_FDCWD, job->chirp_config, &text, NULL, err) < 0)
		return gr_error_prefix(err, "chirp config for the job");
	/* an input file of that name is replaced, never written through */
	if (unlinkat(job->scratch_fd, GR_CONDOR_CHIRP_COPY, 0) < 0 && errno != ENOENT)
		return gr_error_sys(err, errno, "chirp config for the job: remove `%s`", copy);
	fd = openat(job->scratch_fd, GR_CONDOR_CHIRP_COPY, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400);
	if (fd < 0)
		return gr_error_sys(err, errno, "chirp config for the job: create `%s`", copy);
	/* 0444 whatever the umask: the job may be a stranger to the file's owner */
	w = fchmod(fd, 0444) < 0 ? -errno : gr_write_all(fd, text, strlen(text));
	if (w < 0) {
		unlinkat(job->scratch_fd, GR_CONDOR_CHIRP_COPY, 0);
		return gr_error_sys(err, (int)-w, "chirp config for the job: write `%s`", copy);
	}
	job->chirp_copy = TAKE_PTR(copy);
	return 0;
}

void gr_condor_chirp_unshare(struct gr_condor_job *job)
{
	if (!job->chirp_copy)
		return;
	/* by the fd opened before the job: a symlink the job put on the
	 * scratch dir's path cannot redirect it */
	unlinkat(job->scratch_fd, GR_CONDOR_CHIRP_COPY, 0);
	free(TAKE_PTR(job->chirp_copy));
}

/*
 * gridrun covers the sandbox's parent; in the nested layout that is only
 * dir_<pid>, so the spec's gridrun.sandbox_cover is EXECUTE, which lists the
 * other slots' dir_* (gr_condor_spec()). Then Iwd, if it lies elsewhere.
 */
static json_t *job_mounts(const struct gr_condor_job *job)
{
	_cleanup_free_ char *execute = nested_execute(job->scratch);
	json_t *m = json_array();
	struct stat st;

	if (job->iwd && !beneath(job->iwd, job->scratch) && !(execute && beneath(job->iwd, execute)) &&
	    stat(job->iwd, &st) == 0 && S_ISDIR(st.st_mode))
		json_array_append_new(m, json_pack("{s:s, s:s, s:s, s:[s]}", "destination", job->iwd,
						   "source", job->iwd, "type", "bind", "options", "rbind"));
	/* after EXECUTE's tmpfs: the target is created in it */
	if (job->chirp_copy)
		json_array_append_new(m, json_pack("{s:s, s:s, s:s, s:[s, s]}", "destination", job->chirp_config,
						   "source", job->chirp_copy, "type", "bind", "options", "bind", "ro"));
	return m;
}

char *gr_condor_spec(const struct gr_condor_job *job, char *const argv[], char *const envp[],
		     const char *cwd, struct gr_error **err)
{
	json_t *spec, *args = json_array(), *env = json_array(), *gr, *ann = json_object();
	char host[256] = "";
	char *text;

	for (size_t i = 0; argv[i]; i++) {
		json_t *s = json_string(argv[i]);

		if (!s) {
			json_decref(args);
			json_decref(env);
			json_decref(ann);
			return gr_error_set(err, EINVAL, "argument %zu of the job is not UTF-8", i), NULL;
		}
		json_array_append_new(args, s);
	}
	for (size_t i = 0; envp[i]; i++) {
		/* only NAME=value entries that JSON can carry; gridrun takes no others */
		json_t *s = envp[i][0] != '=' && strchr(envp[i], '=') ? json_string(envp[i]) : NULL;

		if (s)
			json_array_append_new(env, s);
	}
	gethostname(host, sizeof(host) - 1);
	gr = json_pack("{s:s, s:s, s:s}", "job_id", job->job_id, "sandbox", job->scratch, "network", "host");
	if (job->record_fd >= 0) {
		char fdn[24];

		snprintf(fdn, sizeof(fdn), "fd:%d", job->record_fd);
		json_object_set_new(gr, "accounting", json_string(fdn));
	}
	{
		_cleanup_free_ char *execute = nested_execute(job->scratch);

		if (execute)
			json_object_set_new(gr, "sandbox_cover", json_string(execute));
	}
	if (job->pool) {
		json_object_set_new(gr, "pool", json_string(job->pool->name));
		json_object_set_new(gr, "account", json_string(job->account));
	}
	annotate_str(ann, "condor.owner", job->owner);
	annotate_str(ann, "condor.slot", job->slot);
	annotate_int(ann, "condor.request_cpus", job->request_cpus);
	annotate_int(ann, "condor.cpus", job->cpus);
	annotate_int(ann, "condor.request_memory_mb", job->request_memory_mb);
	annotate_int(ann, "condor.memory_mb", job->memory_mb);
	annotate_str(ann, "condor.vo", job->vo);
	annotate_str(ann, "condor.proxy_subject", job->proxy_subject);
	spec = json_pack("{s:s, s:{s:o, s:o, s:s}, s:o, s:o}", "ociVersion", "1.0.2",
			 "process", "args", args, "env", env, "cwd", cwd,
			 "gridrun", gr, "annotations", ann);
	if (spec && host[0])
		json_object_set_new(spec, "hostname", json_string(host));
	if (spec)
		json_object_set_new(spec, "mounts", job_mounts(job));
	text = spec ? json_dumps(spec, JSON_INDENT(1)) : NULL;
	json_decref(spec);
	if (!text)
		gr_error_set(err, EINVAL, "spec: a value the job gave is not valid UTF-8 (cwd `%s`)", cwd);
	return text;
}
