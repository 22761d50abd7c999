/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gridrun-lsm - load, report or unload gridrun's BPF LSM (root only).
 *
 *   gridrun-lsm [--pin DIR] load     load and attach the programs, pin their
 *                                    links, the task iterator (as DIR/tasks)
 *                                    and the maps jobs, tags, denials under
 *                                    DIR (default /sys/fs/bpf/gridrun)
 *   gridrun-lsm [--pin DIR] load-tasks
 *                                    pin the task iterator alone (it needs
 *                                    no BPF LSM): gridrun's faster scan for
 *                                    the holders of a range's ids; with it
 *                                    (load too) the holder scan program as
 *                                    DIR/scan where the kernel has the
 *                                    open-coded task iterator (6.7 on)
 *   gridrun-lsm [--pin DIR] status   "loaded" / "not loaded", exit 0 / 3
 *   gridrun-lsm [--pin DIR] unload   unpin everything: the links detach
 *
 * The programs stay attached as long as their pinned links exist; nothing
 * else holds them. Exit status: 0 done, 1 failed, 2 usage, 3 not loaded.
 * DIR must be on a bpf filesystem; this tool never mounts one.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>

#include "gridrun_lsm.skel.h"
#include "gridrun_tasks.skel.h"
#include "gridrun_scan.skel.h"

#define BPF_FS_MAGIC_GR 0xcafe4a11

static const char *pin = "/sys/fs/bpf/gridrun";

static int loaded(void)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/jobs", pin);
	return access(p, F_OK) == 0;
}

/* 1 active, 0 not, -1 unknown (securityfs not mounted) */
static int bpf_lsm_active(void)
{
	char buf[512] = "";
	FILE *f = fopen("/sys/kernel/security/lsm", "re");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (char *t = strtok(buf, ",\n"); t; t = strtok(NULL, ",\n"))
		if (!strcmp(t, "bpf"))
			return 1;
	return 0;
}

static int cmd_unload(void)
{
	DIR *d = opendir(pin);
	struct dirent *de;
	int dfd, r = 0;

	if (!d)
		return errno == ENOENT ? 0 : (fprintf(stderr, "gridrun-lsm: open %s: %s\n", pin, strerror(errno)), 1);
	dfd = dirfd(d);
	/* the pin directory is root's, on bpffs: only our pins are in it */
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && unlinkat(dfd, de->d_name, 0) < 0) {
			fprintf(stderr, "gridrun-lsm: unpin %s/%s: %s\n", pin, de->d_name, strerror(errno));
			r = 1;
		}
	closedir(d);
	if (!r && rmdir(pin) < 0 && errno != ENOENT) {
		fprintf(stderr, "gridrun-lsm: remove %s: %s\n", pin, strerror(errno));
		r = 1;
	}
	return r;
}

/* The pin directory, made on a bpf filesystem: 0, or 1 said. */
static int prepare_dir(void)
{
	struct statfs sf;
	char dir[4096];

	snprintf(dir, sizeof(dir), "%s", pin);
	*strrchr(dir, '/') = '\0';
	if (statfs(dir[0] ? dir : "/", &sf) < 0 || sf.f_type != BPF_FS_MAGIC_GR) {
		fprintf(stderr, "gridrun-lsm: %s is not on a bpf filesystem (mount -t bpf bpf %s)\n", pin, dir);
		return 1;
	}
	if (mkdir(pin, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "gridrun-lsm: create %s: %s\n", pin, strerror(errno));
		return 1;
	}
	return 0;
}

static int pinned(const char *name)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/%s", pin, name);
	return access(p, F_OK) == 0;
}

static int tasks_pinned(void)
{
	return pinned("tasks");
}

/* The holder scan (gridrun_scan.bpf.c) pinned as PIN/scan where the kernel
 * loads it: 0, or 1 said. A kernel without the open-coded task iterator
 * (before 6.7: no bpf_iter_task_* kfuncs) refuses it; that is no failure,
 * the reader then reads the iterator (PIN/tasks). */
static int pin_scan(void)
{
	struct gridrun_scan_bpf *skel;
	char p[4096];
	int r;

	if (pinned("scan"))
		return 0;
	snprintf(p, sizeof(p), "%s/scan", pin);
	skel = gridrun_scan_bpf__open_and_load();
	if (!skel) {
		printf("gridrun-lsm: no holder scan program (%s: the kernel has no open-coded task iterator, "
		       "6.7); the task iterator serves alone\n", strerror(errno));
		return 0;
	}
	r = bpf_program__pin(skel->progs.gr_scan, p);
	gridrun_scan_bpf__destroy(skel);
	if (r < 0)
		fprintf(stderr, "gridrun-lsm: pin the holder scan at %s: %s\n", p, strerror(-r));
	return r < 0;
}

/* The task iterator (gridrun_tasks.bpf.c) pinned as PIN/tasks, and the
 * holder scan next to it: 0, or 1 said. The iterator's link is all that
 * keeps it: reading the pin runs it. */
static int pin_tasks(void)
{
	struct gridrun_tasks_bpf *skel;
	struct bpf_link *l = NULL;
	char p[4096];
	int r;

	if (tasks_pinned())
		return pin_scan();
	snprintf(p, sizeof(p), "%s/tasks", pin);
	skel = gridrun_tasks_bpf__open_and_load();
	r = skel ? 0 : -errno;
	if (skel) {
		l = bpf_program__attach_iter(skel->progs.gr_tasks, NULL);
		r = l ? bpf_link__pin(l, p) : -errno;
		bpf_link__destroy(l);
		gridrun_tasks_bpf__destroy(skel);
	}
	if (r < 0)
		fprintf(stderr, "gridrun-lsm: pin the task iterator at %s: %s\n", p, strerror(-r));
	return r < 0 || pin_scan();
}

static int cmd_load_tasks(void)
{
	if (tasks_pinned() && pinned("scan")) {
		printf("gridrun-lsm: the task iterator is already pinned at %s/tasks\n", pin);
		return 0;
	}
	if (prepare_dir())
		return 1;
	if (pin_tasks()) {
		(void)rmdir(pin);   /* when it is empty */
		return 1;
	}
	printf("gridrun-lsm: task iterator pinned at %s/tasks%s\n", pin, pinned("scan") ? ", holder scan at scan" : "");
	return 0;
}

static int cmd_load(void)
{
	struct gridrun_lsm_bpf *skel;
	struct bpf_program *prog;
	char p[4096];
	int r;

	if (loaded()) {
		printf("gridrun-lsm: already loaded at %s\n", pin);
		return pin_tasks();   /* what an older loader did not pin (the holder scan) */
	}
	if (bpf_lsm_active() == 0) {
		fprintf(stderr, "gridrun-lsm: the BPF LSM is not active: boot with lsm=...,bpf (CONFIG_BPF_LSM)\n");
		return 1;
	}
	if (prepare_dir())
		return 1;
	if (pin_tasks()) {
		cmd_unload();
		return 1;
	}
	skel = gridrun_lsm_bpf__open_and_load();
	if (!skel && errno == EPERM) {
		fprintf(stderr, "gridrun-lsm: the kernel refuses BPF LSM programs (EPERM for root: "
			"lockdown or a policy of this node)\n");
		cmd_unload();
		return 1;
	}
	if (!skel) {
		fprintf(stderr, "gridrun-lsm: load the programs: %s\n", strerror(errno));
		cmd_unload();
		return 1;
	}
	r = gridrun_lsm_bpf__attach(skel);
	if (r < 0) {
		fprintf(stderr, "gridrun-lsm: attach the programs: %s\n", strerror(-r));
		goto fail;
	}
	/* maps first: gridrun looks for "jobs" to know the LSM is loaded */
	if ((r = bpf_map__pin(skel->maps.tags, (snprintf(p, sizeof(p), "%s/tags", pin), p))) < 0 ||
	    (r = bpf_map__pin(skel->maps.denials, (snprintf(p, sizeof(p), "%s/denials", pin), p))) < 0)
		goto fail_pin;
	bpf_object__for_each_program(prog, skel->obj) {
		struct bpf_link *l = NULL;

		/* the skeleton keeps one link per program, in program order */
		for (int i = 0; i < skel->skeleton->prog_cnt; i++)
			if (*skel->skeleton->progs[i].prog == prog)
				l = *skel->skeleton->progs[i].link;
		snprintf(p, sizeof(p), "%s/link-%s", pin, bpf_program__name(prog));
		if (!l || (r = bpf_link__pin(l, p)) < 0)
			goto fail_pin;
	}
	if ((r = bpf_map__pin(skel->maps.jobs, (snprintf(p, sizeof(p), "%s/jobs", pin), p))) < 0)
		goto fail_pin;
	gridrun_lsm_bpf__destroy(skel);
	printf("gridrun-lsm: loaded, pinned at %s\n", pin);
	return 0;
fail_pin:
	fprintf(stderr, "gridrun-lsm: pin %s: %s\n", p, strerror(r < 0 ? -r : EINVAL));
fail:
	gridrun_lsm_bpf__destroy(skel);
	cmd_unload();
	return 1;
}

int main(int argc, char **argv)
{
	int i = 1;

	if (argc > 2 && !strcmp(argv[1], "--pin")) {
		pin = argv[2];
		i = 3;
	}
	if (i + 1 != argc || !strchr(pin, '/') || pin[0] != '/') {
		fprintf(stderr, "usage: gridrun-lsm [--pin /DIR] load|load-tasks|status|unload\n");
		return 2;
	}
	if (!strcmp(argv[i], "status")) {
		int l = loaded();

		printf("bpf lsm: %s; gridrun lsm: %s; task iterator: %s; holder scan: %s\n",
		       (const char *[]){ "unknown (no securityfs)", "not active", "active" }[bpf_lsm_active() + 1],
		       l ? "loaded" : "not loaded", tasks_pinned() ? "pinned" : "not pinned",
		       pinned("scan") ? "pinned" : "not pinned");
		return l ? 0 : 3;
	}
	if (strcmp(argv[i], "load") && strcmp(argv[i], "load-tasks") && strcmp(argv[i], "unload")) {
		fprintf(stderr, "usage: gridrun-lsm [--pin /DIR] load|load-tasks|status|unload\n");
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "gridrun-lsm: %s needs root (CAP_BPF, CAP_SYS_ADMIN, CAP_MAC_ADMIN)\n", argv[i]);
		return 1;
	}
	if (!getenv("GRIDRUN_LSM_VERBOSE"))
		libbpf_set_print(NULL);
	if (!strcmp(argv[i], "load-tasks"))
		return cmd_load_tasks();
	return !strcmp(argv[i], "load") ? cmd_load() : cmd_unload();
}
