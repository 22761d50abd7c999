/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * seccomp-install - what installing a job's filter costs: grid-default
 * (or PROFILE) with the set-id guard as two stacked filters (gridrun before
 * sec11) against the two merged into one (runtime/seccomp-merge.c), each in
 * a fresh forked child with no_new_privs, timed around the seccomp(2)
 * calls; the modes alternate, N children each (a third: the profile alone,
 * no guard at all, the floor). Then N ioctl(TCGETS) in one
 * such child per mode (argument rules: the action cache cannot answer, so
 * the filters run). Also the merge itself, in the parent.
 *
 *   cc -std=gnu11 -D_GNU_SOURCE -O2 -Iruntime $(pkg-config --cflags jansson libseccomp) \
 *     -o build/bench/seccomp-install bench/seccomp-install.c build/libgridrun.a \
 *     -Wl,-Bstatic $(pkg-config --libs jansson libseccomp) -Wl,-Bdynamic
 *   build/bench/seccomp-install [N [PROFILE]]       (N defaults to 500)
 */
#include <fcntl.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "gr-seccomp.h"

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	return v[n / 2];
}

/* In a child: install f (over the guard alone unless merged); the ns it took, or per ioctl. */
static double child(const struct gr_seccomp *f, int ioctls)
{
	int p[2], status;
	double ns = -1;
	pid_t pid;

	if (pipe(p) < 0 || (pid = fork()) < 0)
		exit(2);
	if (pid == 0) {
		struct gr_error *err = NULL;
		struct termios t;
		double t0;
		int fd = open("/dev/null", O_RDONLY);

		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		t0 = now_ns();
		if (gr_seccomp_install_in_child(f, &err) < 0)
			_exit(1);
		ns = now_ns() - t0;
		if (ioctls) {
			t0 = now_ns();
			for (int i = 0; i < ioctls; i++)
				ioctl(fd, TCGETS, &t);
			ns = (now_ns() - t0) / ioctls;
		}
		_exit(write(p[1], &ns, sizeof(ns)) == sizeof(ns) ? 0 : 1);
	}
	close(p[1]);
	if (read(p[0], &ns, sizeof(ns)) != sizeof(ns) || waitpid(pid, &status, 0) != pid || status)
		exit(2);
	close(p[0]);
	return ns;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 500;
	const char *name = argc > 2 ? argv[2] : "grid-default";
	struct gr_seccomp *stacked = NULL, *merged = NULL, alone;
	struct gr_error *err = NULL;
	size_t gn;
	double *a = calloc((size_t)n, sizeof(*a)), *b = calloc((size_t)n, sizeof(*b));
	double *m = calloc((size_t)n, sizeof(*m)), *c = calloc((size_t)n, sizeof(*c));

	if (n < 1 || !a || !b || !m || !c || gr_seccomp_load(name, &stacked, &err) < 0)
		return 2;
	alone = *stacked;
	alone.has_guard = true; /* a lie: installs the profile alone */
	for (int i = 0; i < n; i++) {
		double t0;

		gr_seccomp_free(merged);
		if (gr_seccomp_load(name, &merged, &err) < 0)
			return 2;
		t0 = now_ns();
		if (gr_seccomp_add_guard(merged, &err) != 1)
			return 2;
		m[i] = now_ns() - t0;
	}
	for (int i = 0; i < n; i++) {
		a[i] = child(stacked, 0);
		b[i] = child(merged, 0);
		c[i] = child(&alone, 0);
	}
	gr_seccomp_guard(&gn);
	printf("%s: %zu + %zu (guard) instructions stacked, %zu merged\n", name, stacked->ninsns,
	       gn, merged->ninsns);
	printf("merge in the supervisor: median %.1f us\n", median(m, n) / 1e3);
	printf("install, median of %d children: stacked %.1f us, merged %.1f us, profile alone %.1f us\n",
	       n, median(a, n) / 1e3, median(b, n) / 1e3, median(c, n) / 1e3);
	for (int i = 0; i < 15; i++) {
		a[i] = child(stacked, 200000);
		b[i] = child(merged, 200000);
	}
	printf("ioctl(TCGETS), median of 15 x 200000: stacked %.0f ns, merged %.0f ns\n",
	       median(a, 15), median(b, 15));
	return 0;
}
