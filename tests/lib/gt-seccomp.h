/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gt-seccomp.h - what seccomp_test and seccomp_merge_test share: a profile
 * loaded as a job's start loads it (gr-seccomp.h), from the built-in ones
 * (GRIDRUN_SECCOMP_DIR unset). Include it after kselftest_harness.h.
 */
#ifndef GRIDRUN_GT_SECCOMP_H
#define GRIDRUN_GT_SECCOMP_H

#include <stdlib.h>

#include "error.h"
#include "gr-seccomp.h"

/* The profile NAME, or NULL with the test failed. */
static inline struct gr_seccomp *gt_seccomp_builtin(struct __test_metadata *_metadata, const char *name)
{
	struct gr_seccomp *f = NULL;
	struct gr_error *err = NULL;

	unsetenv("GRIDRUN_SECCOMP_DIR");
	EXPECT_EQ(0, gr_seccomp_load(name, &f, &err)) TH_LOG("%s", err ? err->msg : "?");
	gr_error_free(err);
	return f;
}

#endif
