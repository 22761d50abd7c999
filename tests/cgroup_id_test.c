/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cgroup_id_test - one job id, one job cgroup (cgroups.h). A second
 * gr_cgroup_create() of an id whose gridrun-<id> exists fails with -EEXIST
 * and one clear message, and leaves the first job's directories as they
 * are: not removed and recreated (before this, an empty one, i.e. a job
 * between its cgroup's creation and its init's attach, was replaced under
 * it), and not removed by the failed create's clean-up. Runs on this host's
 * v1 (hybrid) and in the v2 guest (tests/vm/).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "cgroups.h"

TEST(an_existing_job_cgroup_is_neither_joined_nor_replaced)
{
	struct gr_resources res;
	struct gr_cgroup *first = NULL, *second = (struct gr_cgroup *)1;
	struct gr_error *err = NULL;
	const char *got[8];
	char *paths[8];
	ino_t ino[8];
	struct stat st;
	char id[64];
	size_t n;

	memset(&res, 0, sizeof(res));
	res.memory_limit = res.memory_swap = res.cpu_quota = -1;
	snprintf(id, sizeof(id), "dup-id-%d", (int)getpid());
	ASSERT_EQ(0, gr_cgroup_create(id, &res, &first, &err)) TH_LOG("%s", err->msg);
	ASSERT_NE(NULL, first) TH_LOG("no cgroup for root on this node");
	n = gr_cgroup_paths(first, got, 8);
	ASSERT_LT(0U, n);
	for (size_t i = 0; i < n; i++) {
		paths[i] = strdup(got[i]);   /* they outlive first */
		ASSERT_NE(NULL, paths[i]);
		ASSERT_EQ(0, stat(paths[i], &st)) TH_LOG("%s", paths[i]);
		ino[i] = st.st_ino;
	}

	/* the first job's cgroup is empty (no task attached yet) */
	EXPECT_EQ(-EEXIST, gr_cgroup_create(id, &res, &second, &err));
	EXPECT_EQ(NULL, second);
	ASSERT_NE(NULL, err);
	EXPECT_NE(NULL, strstr(err->msg, "exists: a job with this id is running")) TH_LOG("%s", err->msg);
	EXPECT_NE(NULL, strstr(err->msg, id)) TH_LOG("%s", err->msg);
	gr_error_free(err);
	err = NULL;
	for (size_t i = 0; i < n; i++) {
		EXPECT_EQ(0, stat(paths[i], &st)) TH_LOG("%s is gone", paths[i]);
		EXPECT_EQ(ino[i], st.st_ino) TH_LOG("%s was removed and recreated", paths[i]);
	}

	ASSERT_EQ(0, gr_cgroup_destroy(first, &err)) TH_LOG("%s", err->msg);
	for (size_t i = 0; i < n; i++) {
		EXPECT_NE(0, access(paths[i], F_OK)) TH_LOG("%s is left", paths[i]);
		free(paths[i]);
	}
}

TEST_HARNESS_MAIN
