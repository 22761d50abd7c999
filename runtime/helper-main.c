/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gridrun-helper - the privileged step of helper mode; see runtime/helper.h
 * for the request, the exit codes and the order of privilege changes.
 * Nothing is printed before every privilege is gone.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"

static int finish(struct gr_error *e, const char *out)
{
	_cleanup_gr_error_ struct gr_error *leave = NULL;

	/* step 4 on every path, before anything is printed */
	if (gr_helper_leave(&leave) < 0) {
		fprintf(stderr, "gridrun-helper: %s\n", leave->msg);
		return GR_HELPER_EXIT_FAILED;
	}
	if (e) {
		fprintf(stderr, "gridrun-helper: %s\n", e->msg ? e->msg : "failed");
		return e->code ? e->code : GR_HELPER_EXIT_FAILED;
	}
	fputs(out, stdout);
	return fflush(stdout) == 0 ? GR_HELPER_EXIT_OK : GR_HELPER_EXIT_FAILED;
}

int main(int argc, char **argv)
{
	_cleanup_gr_error_ struct gr_error *err = NULL;
	struct gr_helper_caller caller;
	struct gr_helper_req req;
	char out[128] = "";

	if (gr_helper_enter(&caller, &err) < 0 || gr_helper_parse(argc, argv, &req, &err) < 0 ||
	    gr_helper_act(&caller, &req, out, sizeof(out), &err) < 0)
		return finish(err, out);
	return finish(NULL, out);
}
