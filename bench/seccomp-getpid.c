/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * seccomp-getpid - what a seccomp filter costs a syscall: N raw
 * syscall(SYS_getpid) calls, then N ioctl(TCGETS) calls on /dev/null
 * (which fail with ENOTTY), timed with CLOCK_MONOTONIC; prints ns per call.
 *
 *   seccomp-getpid [N]        (N defaults to 5000000; best of 5 rounds)
 *
 * Run it once outside any filter and once as a gridrun job (grid-default);
 * BENCHMARKS.md, section "seccomp", has the commands and the figures. getpid
 * is allowed whatever its arguments, so the kernel's per-filter action cache
 * (5.11+) answers it without running the BPF; ioctl has argument rules
 * (TIOCSTI, TIOCLINUX), so every call runs the filter.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Best of 5 rounds of n calls of syscall nr(a0, a1, a2), in ns per call. */
static double per_call(long n, long nr, long a0, long a1, long a2)
{
	double best = 1e30;

	for (int round = 0; round < 5; round++) {
		double t0 = now_ns(), t;

		for (long i = 0; i < n; i++)
			syscall(nr, a0, a1, a2);
		t = (now_ns() - t0) / (double)n;
		if (t < best)
			best = t;
	}
	return best;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 5000000;
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	FILE *f = fopen("/proc/self/status", "r");
	char line[256], mode[16] = "?";
	long tio[16];

	if (n <= 0 || fd < 0) {
		fprintf(stderr, "usage: seccomp-getpid [N]\n");
		return 2;
	}
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Seccomp: %15s", mode) == 1)
			break;
	if (f)
		fclose(f);
	printf("Seccomp: %s, %ld calls per round, best of 5\n", mode, n);
	printf("getpid        %6.1f ns/call\n", per_call(n, SYS_getpid, 0, 0, 0));
	printf("ioctl TCGETS  %6.1f ns/call\n", per_call(n, SYS_ioctl, fd, TCGETS, (long)tio));
	return 0;
}
