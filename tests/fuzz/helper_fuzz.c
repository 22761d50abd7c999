// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * helper_fuzz.c - libFuzzer target for gridrun-helper's request (S15): its
 * argv and its environment.
 *
 * An input is NUL-separated strings: argv (argv[0] first) up to the first
 * empty string, then the environment. The environment is installed as the
 * process's, then cleaned as the helper's entry does: nothing of it may be
 * left. argv must either parse into a request that satisfies helper.h (every
 * field in range, and the numbers written exactly as their canonical
 * decimal: no sign, space or leading zero) or be refused with one line and
 * exit code 64; nothing may crash, leak or read out of bounds.
 *
 * `make check` runs it for 20 s under ASan and UBSan (tests/fuzz.t), `make
 * fuzz` for longer; seeds are in tests/fuzz/helper-seeds/.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"

#define MAXV 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

static void check_number(const char *text, unsigned long v)
{
	char canon[32];

	snprintf(canon, sizeof(canon), "%lu", v);
	check(!strcmp(canon, text));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *argv[MAXV + 1], *envp[MAXV + 1];
	struct gr_helper_req req;
	struct gr_error *err = NULL;
	int argc = 0, envc = 0, r;
	int in_env = 0;

	check(buf != NULL);
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (char *p = buf; p <= buf + size; p += strlen(p) + 1) {
		if (!in_env && !*p)
			in_env = 1;
		else if (in_env && envc < MAXV)
			envp[envc++] = p;
		else if (!in_env && argc < MAXV)
			argv[argc++] = p;
	}
	argv[argc] = NULL;
	envp[envc] = NULL;

	environ = envp;
	gr_helper_clean_env();
	check(!environ || !environ[0]);
	for (int i = 0; i < envc; i++) {
		char *eq = strchr(envp[i], '=');

		if (eq && eq != envp[i]) {
			*eq = '\0';
			check(getenv(envp[i]) == NULL);
			*eq = '=';
		}
	}

	r = gr_helper_parse(argc, argv, &req, &err);
	if (r < 0) {
		check(err && err->msg && err->code == GR_HELPER_EXIT_USAGE);
		check(!strchr(err->msg, '\n') && strlen(err->msg) < 400);
		gr_error_free(err);
		free(buf);
		return 0;
	}
	check(!err && gr_config_name_ok(req.pool) && !strcmp(req.pool, argv[2]));
	switch (req.op) {
	case GR_HELPER_LEASE:
		check(!strcmp(req.job_id, argv[3]) && req.job_id[0] && req.job_id[0] != '.');
		/* with the sandbox (fd 3): its inner uid and gid */
		check(argc == (req.sandbox ? 6 : 4));
		if (req.sandbox) {
			check(req.uid <= GR_POOL_LAST_UID && req.gid <= GR_POOL_LAST_UID);
			check_number(argv[4], req.uid);
			check_number(argv[5], req.gid);
		} else {
			check(req.uid == 0 && req.gid == 0);
		}
		break;
	case GR_HELPER_LEASE_MAP:
		/* the job's init (fd 3: its pidfd), and with the sandbox (fd 4) its inner ids */
		check(!strcmp(req.job_id, argv[3]) && req.job_id[0] && req.job_id[0] != '.');
		check(argc == (req.sandbox ? 7 : 5) && req.pid >= 1 && req.pid <= GR_HELPER_PID_MAX);
		check_number(argv[4], (unsigned long)req.pid);
		if (req.sandbox) {
			check(req.uid <= GR_POOL_LAST_UID && req.gid <= GR_POOL_LAST_UID);
			check_number(argv[5], req.uid);
			check_number(argv[6], req.gid);
		} else {
			check(req.uid == 0 && req.gid == 0);
		}
		break;
	case GR_HELPER_MAP:
	case GR_HELPER_LSM_ADD:
		check(argc == 5 && req.pid >= 1 && req.pid <= GR_HELPER_PID_MAX);
		check_number(argv[4], (unsigned long)req.pid);
		/* fall through */
	case GR_HELPER_RELEASE:
	case GR_HELPER_LSM_DEL:
		/* release's walk back through fd 3 is the one literal word "sandbox" */
		check(req.op == GR_HELPER_RELEASE || !req.sandbox);
		check(argc == (req.op == GR_HELPER_MAP || req.op == GR_HELPER_LSM_ADD || req.sandbox ? 5 : 4) &&
		      req.index < GR_POOL_MAX_RANGES);
		check(!req.sandbox || !strcmp(argv[4], "sandbox"));
		check_number(argv[3], req.index);
		break;
	case GR_HELPER_GC:
		check(argc == 3 && !req.sandbox);
		break;
	default:
		check(0);
	}
	free(buf);
	return 0;
}
