/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kconfig.h - reading a kernel's build configuration (the .config kbuild
 * wrote), for `gridrun check` (check.h) and its tests.
 *
 * Contract:
 *  - A config file may be plain or gzip'd (/proc/config.gz): zlib reads
 *    plain files transparently, so callers never say which.
 *  - An option line is "CONFIG_X=V" (V without its surrounding double quotes)
 *    or "# CONFIG_X is not set" (V "n"). Trailing spaces and '\r' are
 *    dropped; every other line is a comment. A file without a single option
 *    line is not a kernel config: -EINVAL.
 *  - Nothing is created, changed or logged; the only system access is
 *    reading the file (and, in gr_kconfig_find(), checking which exist).
 *  - Errors name the file: "open `PATH`: strerror", "read `PATH`: ...".
 *
 * Kernel versions are encoded as GR_KCONFIG_KV(major, minor).
 */
#ifndef GRIDRUN_KCONFIG_H
#define GRIDRUN_KCONFIG_H

#include <stddef.h>

#include "error.h"

#define GR_KCONFIG_KV(a, b) ((a) * 1000U + (b))

/*
 * The config file of the running kernel, in this order: override (""
 * means "none, probe the running kernel": NULL is returned), else
 * /proc/config.gz, else /boot/config-RELEASE, else NULL. boot receives
 * "/boot/config-RELEASE" (RELEASE cut at 80 characters) and is what is
 * returned in that case, so it must outlive the result.
 */
const char *gr_kconfig_find(const char *override, const char *release, char *boot,
			    size_t boot_len);

/*
 * Call cb(name, value, data) for each option line of path, in file order;
 * name is "CONFIG_X". When kver is not NULL and the file has kbuild's
 * "# Linux/ARCH X.Y.Z Kernel Configuration" line, *kver is set to
 * GR_KCONFIG_KV(X, Y) (else left alone). Returns 0 or -errno.
 */
int gr_kconfig_scan(const char *path,
		    void (*cb)(const char *name, const char *value, void *data), void *data,
		    unsigned *kver, struct gr_error **err);

/*
 * Look option up ("CONFIG_USER_NS" or "USER_NS") in a plain or gzip'd kernel
 * config. Returns 1 when the file mentions it, with its value in value: "y",
 * "m", "n" for "# CONFIG_X is not set", or the text after '=' (surrounding
 * double quotes removed); 0 when the file does not mention it (value "");
 * -errno on failure (-ERANGE when len is too small, -EINVAL when the file
 * holds no CONFIG_ line at all). When an option appears twice, the last one
 * wins, as in kbuild's config merging. (Named for `gridrun check`, its user.)
 */
int gr_check_kconfig_lookup(const char *config_path, const char *option, char *value,
			    size_t len, struct gr_error **err);

#endif
