// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * usage.c - live cgroup usage through gridrun's state, and the accounting
 * record (usage.h has the contract).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroups.h"
#include "state.h"
#include "usage.h"
#include "util.h"

int gr_condor_live_usage(const char *state_dir, const char *job_id, struct gr_condor_usage *u,
			 struct gr_error **err)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_gr_job_state_ struct gr_job_state st = { 0 };
	_cleanup_gr_error_ struct gr_error *e = NULL;
	struct gr_cgroup_usage cu;
	const char *dirs[8];
	size_t n = 0;
	int r;

	memset(u, 0, sizeof(*u));
	r = gr_state_read(state_dir, job_id, &text, NULL);
	if (r < 0)
		return -ENOENT;
	if (gr_job_state_parse(text, GR_JOB_STATE_PARTIAL, &st, &e) < 0)
		return gr_error_set(err, EINVAL, "state of job %s: %s", job_id, e->msg);
	for (size_t i = 0; i < st.ncgroups && n < ARRAY_SIZE(dirs); i++)
		dirs[n++] = st.cgroups[i];
	/* the supervisor's own reader (cgroups.h): the same figures the
	 * record will have, v1 CPU split from the exact cpuacct.usage */
	if (n && gr_cgroup_usage_read(st.cgroup_version, dirs, n, job_id, &cu, NULL) >= 0) {
		u->cpu_known = cu.cpu_known;
		u->cpu_user_usec = cu.cpu_user_ns / 1000;
		u->cpu_sys_usec = cu.cpu_system_ns / 1000;
		u->memory_known = cu.memory_known;
		u->memory_peak_bytes = cu.memory_peak_bytes;
	}
	return u->cpu_known || u->memory_known ? 0 : -ENOENT;
}

static bool get_u64(json_t *o, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

int gr_condor_record_parse(const char *text, struct gr_condor_record *rec, struct gr_error **err)
{
	const char *path = "from gridrun";
	json_error_t je;
	json_t *o = json_loads(text, 0, &je), *range;
	const char *reason = NULL, *isolation = NULL;
	uint64_t user_ns = 0, sys_ns = 0, x = 0;

	memset(rec, 0, sizeof(*rec));
	rec->exit_code = -1;
	if (!o)
		return gr_error_set(err, EINVAL, "record %s: %s", path, je.text);
	if (json_unpack(o, "{s:s, s:s}", "reason", &reason, "isolation", &isolation) < 0 ||
	    strlen(reason) >= sizeof(rec->reason) || strlen(isolation) >= sizeof(rec->isolation)) {
		json_decref(o);
		return gr_error_set(err, EINVAL, "record %s: not a gridrun accounting record", path);
	}
	snprintf(rec->reason, sizeof(rec->reason), "%s", reason);
	snprintf(rec->isolation, sizeof(rec->isolation), "%s", isolation);
	if (get_u64(o, "exit_code", &x))
		rec->exit_code = (int)x;
	if (get_u64(o, "signal", &x))
		rec->signal = (int)x;
	rec->u.cpu_known = get_u64(o, "cpu_user_ns", &user_ns) && get_u64(o, "cpu_system_ns", &sys_ns);
	rec->u.cpu_user_usec = user_ns / 1000;
	rec->u.cpu_sys_usec = sys_ns / 1000;
	rec->u.memory_known = get_u64(o, "memory_peak_bytes", &rec->u.memory_peak_bytes);
	rec->oom_killed = json_is_true(json_object_get(o, "oom_killed"));
	rec->killed_at_end_known = get_u64(o, "killed_at_end", &rec->killed_at_end);
	range = json_object_get(o, "uid_range");
	get_u64(range, "first", &rec->uid_first);
	get_u64(range, "count", &rec->uid_count);
	json_decref(o);
	return 0;
}
