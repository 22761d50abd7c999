/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memtrim.c - see memtrim.h. */
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "memtrim.h"

struct area {
	unsigned long lo, hi;
	bool candidate;   /* file-backed, not writable */
	bool private_copy;
	long rss_kb;
};

#define MAX_AREAS 128

static bool droppable(const struct area *a)
{
	return a->candidate && !a->private_copy && a->rss_kb > 0 && a->hi > a->lo;
}

long gr_memtrim_now(void)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	struct area a = { 0 }, keep[MAX_AREAS];
	char line[512];
	size_t n = 0;
	long kb = 0;

	while (f && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi, ino;
		char perms[8];
		long v;

		if (sscanf(line, "%lx-%lx %7s %*s %*s %lu", &lo, &hi, perms, &ino) == 4) {
			/* the previous area's entry is complete */
			if (droppable(&a) && n < MAX_AREAS)
				keep[n++] = a;
			/* ino 0: anonymous, heap, stack, vdso; [vvar] and the like
			 * are special mappings madvise would refuse */
			a = (struct area){ .lo = lo, .hi = hi,
					   .candidate = ino != 0 && perms[1] == '-' && perms[3] == 'p' &&
							!strchr(line, '[') };
			continue;
		}
		if (sscanf(line, "Rss: %ld kB", &v) == 1)
			a.rss_kb = v;
		else if (sscanf(line, "Anonymous: %ld kB", &v) == 1 && v > 0)
			a.private_copy = true;
		else if (!strncmp(line, "VmFlags:", 8) && (strstr(line, " lo") || strstr(line, " io") ||
							    strstr(line, " pf")))
			a.candidate = false;   /* locked, I/O or PFN maps */
	}
	if (droppable(&a) && n < MAX_AREAS)
		keep[n++] = a;
	if (f)
		fclose(f);
	/* the file's buffer was malloc'ed: trim after closing it. Then the
	 * drops last, in a tight loop: every libc function called after them
	 * faults its pages back (with the kernel's fault-around, 64 KiB each) */
	malloc_trim(0);
	for (size_t i = 0; i < n; i++)
		if (madvise((void *)keep[i].lo, keep[i].hi - keep[i].lo, MADV_DONTNEED) == 0)
			kb += keep[i].rss_kb;
	return kb;
}
