/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <linux/securebits.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "caps.h"

int gr_caps_drop_in_child(struct gr_error **err)
{
	cap_t empty;
	cap_value_t c;
	int r;

	/*
	 * Bounding set: needs CAP_SETPCAP, so before the permitted set goes.
	 * One prctl per capability, up to the first number the kernel does not
	 * know (EINVAL), instead of libcap's read-then-drop: half the calls.
	 */
	for (c = 0;; c++) {
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) == 0)
			continue;
		if (errno == EINVAL && c > CAP_SETPCAP)
			break;
		return gr_error_sys(err, errno, "caps: drop %s from the bounding set",
				    cap_to_name(c) ? cap_to_name(c) : "?");
	}
	/* one call, where libcap would test each capability first */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return gr_error_sys(err, errno, "caps: clear the ambient set");
	if (prctl(PR_SET_SECUREBITS,
		  SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
		  SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
		  SECBIT_KEEP_CAPS_LOCKED |
		  SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED, 0, 0, 0) < 0)
		return gr_error_sys(err, errno, "caps: lock securebits");
	empty = cap_init();
	if (!empty)
		return gr_error_sys(err, errno, "caps: cap_init");
	r = cap_set_proc(empty);
	cap_free(empty);
	if (r < 0)
		return gr_error_sys(err, errno, "caps: clear permitted, effective and inheritable");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return gr_error_sys(err, errno, "caps: set no_new_privs");
	return 0;
}
