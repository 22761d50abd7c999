/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * memtrim.h - a long job's supervisor gives back what it no longer touches.
 *
 * A node runs a thousand supervisors that sleep for hours (issue #13: at
 * most 1 MiB resident each). Most of a sleeping supervisor's RSS is pages of
 * libc and of gridrun's own text it faulted in while setting the job up.
 * gr_memtrim_now() returns free heap to the kernel (malloc_trim) and drops
 * this process's mappings of clean file pages: read-only or executable
 * file-backed areas without a private (copy-on-write) page. Only this
 * process's page tables change; the page cache, shared with every other
 * process, keeps the pages, and the few the supervisor touches again are
 * faulted back from it. Areas holding a private copy (RELRO after
 * relocation, written .data) are never dropped: MADV_DONTNEED would revert
 * them to the file's bytes.
 *
 * Contract: call only while the process is single-threaded (the supervisor
 * is), at most once per job, after its setup; never fails (a /proc it
 * cannot read leaves everything as it is). Returns the KiB dropped.
 */
#ifndef GRIDRUN_MEMTRIM_H
#define GRIDRUN_MEMTRIM_H

long gr_memtrim_now(void);

#endif
