/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <sys/stat.h>

#include "record.h"
#include "util.h"

static json_t *ns_or_null(bool known, unsigned long long ns)
{
	return known ? json_integer((json_int_t)ns) : json_null();
}

#define cg_or_null(res, known, v) ns_or_null((res)->cg.version && (res)->cg.known, (v))

char *gr_record_format(const char *job_id, const struct gr_run_result *res)
{
	char started[40], ended[40];
	bool ran = res->reason != GR_REASON_SETUP_ERROR;
	json_t *o;
	char *text;

	gr_format_utc_ms(res->started_ns, started, sizeof(started));
	gr_format_utc_ms(res->ended_ns, ended, sizeof(ended));
	o = json_object();
	json_object_set_new(o, "job_id", json_string(job_id));
	json_object_set_new(o, "reason", json_string(gr_reason_name(res->reason)));
	json_object_set_new(o, "exit_code",
			    res->reason == GR_REASON_EXITED || res->reason == GR_REASON_SETUP_ERROR
				    ? json_integer(res->exit_code) : json_null());
	json_object_set_new(o, "signal", res->signal ? json_integer(res->signal) : json_null());
	json_object_set_new(o, "oom_killed", json_boolean(res->cg.oom_kills > 0));
	json_object_set_new(o, "wall_ns", json_integer((json_int_t)res->wall_ns));
	json_object_set_new(o, "cpu_user_ns", cg_or_null(res, cpu_known, res->cg.cpu_user_ns));
	json_object_set_new(o, "cpu_system_ns", cg_or_null(res, cpu_known, res->cg.cpu_system_ns));
	json_object_set_new(o, "rusage_user_ns", ns_or_null(res->have_rusage, res->main.ru_utime_ns));
	json_object_set_new(o, "rusage_system_ns", ns_or_null(res->have_rusage, res->main.ru_stime_ns));
	json_object_set_new(o, "memory_peak_bytes", cg_or_null(res, memory_known, res->cg.memory_peak_bytes));
	json_object_set_new(o, "pids_peak", cg_or_null(res, pids_known, res->cg.pids_peak));
	json_object_set_new(o, "io_read_bytes", cg_or_null(res, io_known, res->cg.io_read_bytes));
	json_object_set_new(o, "io_write_bytes", cg_or_null(res, io_known, res->cg.io_write_bytes));
	json_object_set_new(o, "killed_at_end",
			    ran && res->have_rusage ? json_integer(res->main.killed_at_end) : json_null());
	json_object_set_new(o, "started_at", json_string(started));
	json_object_set_new(o, "ended_at", json_string(ended));
	json_object_set_new(o, "cgroup_version", res->cg.version ? json_integer(res->cg.version) : json_null());
	json_object_set_new(o, "isolation", json_string(gr_isolation_name(res->ids.mode)));
	json_object_set_new(o, "uid_range", json_pack("{s:I, s:I}", "first", (json_int_t)res->ids.outer_uid,
						      "count", (json_int_t)res->ids.count));
	text = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT);
	json_decref(o);
	return text;
}

int gr_record_path_ok(const struct gr_spec *spec, struct gr_error **err)
{
	struct stat st;

	if (!spec->accounting || spec->accounting_fd >= 0 || lstat(spec->accounting, &st) < 0 ||
	    S_ISREG(st.st_mode))
		return 0;
	return gr_error_set(err, EEXIST, "%s: gridrun.accounting: `%s` exists and is not a regular file "
			    "(the record replaces a file; give fd:N to write to an open pipe or device)",
			    spec->file, spec->accounting);
}

int gr_record_write(const struct gr_spec *spec, const char *job_id,
		    const struct gr_run_result *res, struct gr_error **err)
{
	_cleanup_free_ char *text = NULL, *line = NULL;
	ssize_t w;

	if (!spec->accounting)
		return 0;
	text = gr_record_format(job_id, res);
	if (!text || asprintf(&line, "%s\n", text) < 0)
		return gr_error_sys(err, ENOMEM, "accounting record");
	if (spec->accounting_fd >= 0) {
		w = gr_write_all(spec->accounting_fd, line, strlen(line));
		if (w < 0)
			return gr_error_sys(err, (int)-w, "accounting: write to fd %d", spec->accounting_fd);
		return 0;
	}
	/* checked before the job ran; again, as the path may have changed */
	if (gr_record_path_ok(spec, err) < 0)
		return -EEXIST;
	if (gr_write_file_atomic(spec->accounting, line, 0644, err) < 0)
		return gr_error_prefix(err, "accounting");
	return 0;
}
