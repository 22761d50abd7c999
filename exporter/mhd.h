/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mhd.h - libmicrohttpd for gridrun-exporter's HTTP server (main.c), loaded
 * with dlopen() only when the exporter serves HTTP. A --textfile run never
 * maps it and the nine libraries it needs (gnutls and the rest): that was
 * ~3 ms of a one-shot's start (exporter/README.md, "Cost"). The functions
 * keep libmicrohttpd's own prototypes (microhttpd.h); the constants and
 * types come from that header at build time, as before.
 *
 * gr_mhd_load() loads it once, by the soname the exporter was built
 * against (GR_MHD_SONAME, from the Makefile), and resolves every function
 * below; the pointers in gr_mhd are valid only after it returned 0. A
 * library that cannot be loaded, or lacks one of them, is -ENOENT with the
 * loader's reason in *err, and nothing is served.
 */
#ifndef GRIDRUN_EXPORTER_MHD_H
#define GRIDRUN_EXPORTER_MHD_H

#include <microhttpd.h>

#include "error.h"

#ifndef GR_MHD_SONAME
#define GR_MHD_SONAME "libmicrohttpd.so.12"
#endif

struct gr_mhd {
	__typeof__(MHD_start_daemon) *start_daemon;
	__typeof__(MHD_stop_daemon) *stop_daemon;
	__typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
	__typeof__(MHD_add_response_header) *add_response_header;
	__typeof__(MHD_destroy_response) *destroy_response;
	__typeof__(MHD_queue_response) *queue_response;
	__typeof__(MHD_lookup_connection_value) *lookup_connection_value;
	__typeof__(MHD_get_connection_info) *get_connection_info;
};

extern struct gr_mhd gr_mhd;

int gr_mhd_load(struct gr_error **err);

#endif
