/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mhd.c - libmicrohttpd, loaded when the exporter serves HTTP (mhd.h).
 */
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "mhd.h"
#include "util.h"

struct gr_mhd gr_mhd;

int gr_mhd_load(struct gr_error **err)
{
	static const struct {
		const char *name;
		size_t off;
	} fns[] = {
		{ "MHD_start_daemon", offsetof(struct gr_mhd, start_daemon) },
		{ "MHD_stop_daemon", offsetof(struct gr_mhd, stop_daemon) },
		{ "MHD_create_response_from_buffer", offsetof(struct gr_mhd, create_response_from_buffer) },
		{ "MHD_add_response_header", offsetof(struct gr_mhd, add_response_header) },
		{ "MHD_destroy_response", offsetof(struct gr_mhd, destroy_response) },
		{ "MHD_queue_response", offsetof(struct gr_mhd, queue_response) },
		{ "MHD_lookup_connection_value", offsetof(struct gr_mhd, lookup_connection_value) },
		{ "MHD_get_connection_info", offsetof(struct gr_mhd, get_connection_info) },
	};
	struct gr_mhd m;
	void *lib;

	if (gr_mhd.start_daemon)
		return 0;
	/* kept loaded until exit: the server runs until then */
	lib = dlopen(GR_MHD_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		return gr_error_set(err, ENOENT, "cannot load libmicrohttpd (the HTTP server): %s", dlerror());
	for (size_t i = 0; i < ARRAY_SIZE(fns); i++) {
		void *f = dlsym(lib, fns[i].name);

		if (!f) {
			dlclose(lib);
			return gr_error_set(err, ENOENT, "%s has no %s", GR_MHD_SONAME, fns[i].name);
		}
		memcpy((char *)&m + fns[i].off, &f, sizeof(f));
	}
	gr_mhd = m;
	return 0;
}
