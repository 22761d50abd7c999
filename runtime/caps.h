/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * caps.h - dropping every privilege before job code runs (threat S11).
 *
 * gr_caps_drop_in_child() empties all five capability sets (bounding and
 * ambient first, while CAP_SETPCAP is still held, then permitted, effective
 * and inheritable through libcap), locks the securebits so that uid 0 inside
 * the job never regains capabilities on execve (SECBIT_NOROOT and friends,
 * each with its _LOCKED bit), and sets PR_SET_NO_NEW_PRIVS. After it returns,
 * the calling process can gain no privilege by any means the kernel offers
 * (setuid binaries, file capabilities, ambient raise).
 */
#ifndef GRIDRUN_CAPS_H
#define GRIDRUN_CAPS_H

#include "error.h"

int gr_caps_drop_in_child(struct gr_error **err);

#endif
