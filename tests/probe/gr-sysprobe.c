/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gr-sysprobe - run inside a gridrun job by tests/seccomp_test.c: raw
 * syscalls against the job's seccomp filter. Each subcommand prints one
 * "key value" line per attempt: "ok", an errno name (EPERM, ENOSYS, ...),
 * or the signal that killed the attempt (SIGSYS). Attempts that could do
 * harm if the filter let them through run in a forked child.
 *
 *   deny NAME:NR:NR32 ...   each syscall by native number, with the x32 bit
 *                           and through int 0x80 (NR32: its i386 number)
 *   clone                   threads, fork, posix_spawn, clone3, clone and
 *                           unshare with namespace flags, syscall 1000
 *   ptrace TARGET           a tracer rewrites its child's getppid() into
 *                           TARGET (getpid, unshare, x32-unshare, keyctl, 1000)
 *   nested                  nested user/net namespaces, max_user_namespaces
 *   ioctl                   TIOCSTI/TIOCLINUX with and without high bits
 *   personality, socket     the argument filters of those calls
 *   compute                 what the strict profile allows and denies
 *   call NR                 syscall NR with zero arguments
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef AUDIT_ARCH_X86_64
#define AUDIT_ARCH_X86_64 0xc000003eu
#define AUDIT_ARCH_I386 0x40000003u
#endif
#define X32_BIT 0x40000000L

extern char **environ;
/* declared here: the probe need not depend on the system header; only NULLs are passed */
int posix_spawn(pid_t *pid, const char *path, const void *file_actions, const void *attr,
		char *const argv[], char *const envp[]);

static const char *errname(long r, int e)
{
	static char buf[32];

	if (r >= 0)
		return "ok";
	switch (e) {
	case EPERM: return "EPERM";
	case ENOSYS: return "ENOSYS";
	case EACCES: return "EACCES";
	case EROFS: return "EROFS";
	case EINVAL: return "EINVAL";
	case ENOTTY: return "ENOTTY";
	case EBADF: return "EBADF";
	case EFAULT: return "EFAULT";
	case EAFNOSUPPORT: return "EAFNOSUPPORT";
	}
	snprintf(buf, sizeof(buf), "errno%d", e);
	return buf;
}

/* r's outcome; errno is read here, after r was computed (not as an argument
 * beside the call, whose order of evaluation C leaves open) */
static const char *ename(long r)
{
	return errname(r, errno);
}

/* Run fn(arg) in a child; its one-line answer, or the signal that killed it. */
static void in_child(const char *key, void (*fn)(long arg, int fd), long arg)
{
	char buf[128] = "";
	int p[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe(p) < 0 || (pid = fork()) < 0) {
		printf("%s setup-failed %s\n", key, strerror(errno));
		return;
	}
	if (pid == 0) {
		close(p[0]);
		fn(arg, p[1]);
		_exit(0);
	}
	close(p[1]);
	n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	waitpid(pid, &status, 0);
	if (WIFSIGNALED(status))
		printf("%s SIG%s\n", key, sigabbrev_np(WTERMSIG(status)) ?: "?");
	else
		printf("%s %.*s\n", key, n > 0 ? (int)n : 6, n > 0 ? buf : "silent");
}

static void answer(int fd, const char *s)
{
	(void)!write(fd, s, strlen(s));
}

/*
 * Stack a filter that answers SECCOMP_RET_TRACE for (arch, nr). With no
 * tracer attached the call then fails with ENOSYS without running; an
 * earlier filter's ERRNO or KILL outranks TRACE. So: EPERM = the job's
 * filter denied it, ENOSYS = the job's filter allowed it; never run.
 */
static int trace_only(uint32_t arch, uint32_t nr)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arch, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

static long int80(long nr)
{
	long r;

	/* the i386 entry point from 64-bit code: eax, ebx, ecx, edx, esi, edi */
	__asm__ volatile("int $0x80"
			 : "=a"(r)
			 : "a"(nr), "b"(0L), "c"(0L), "d"(0L), "S"(0L), "D"(0L)
			 : "memory", "r8", "r9", "r10", "r11");
	return r;
}

static void deny_native(long nr, int fd)
{
	long r;

	if (trace_only(AUDIT_ARCH_X86_64, (uint32_t)nr) < 0) {
		answer(fd, "trace-filter-failed");
		return;
	}
	r = syscall(nr, 0, 0, 0, 0, 0, 0);
	answer(fd, r < 0 && errno == ENOSYS ? "allowed" : ename(r));
}

static void deny_x32(long nr, int fd)
{
	long r;

	if (trace_only(AUDIT_ARCH_X86_64, (uint32_t)(nr | X32_BIT)) < 0) {
		answer(fd, "trace-filter-failed");
		return;
	}
	r = syscall(nr | X32_BIT, 0, 0, 0, 0, 0, 0);
	answer(fd, r < 0 && errno == ENOSYS ? "allowed" : ename(r));
}

static void deny_int80(long nr, int fd)
{
	long r;

	if (trace_only(AUDIT_ARCH_I386, (uint32_t)nr) < 0) {
		answer(fd, "trace-filter-failed");
		return;
	}
	/* a kernel without the i386 entry faults: die of it (not in a
	 * sanitizer's handler) so that the parent reports SIGSEGV */
	signal(SIGSEGV, SIG_DFL);
	r = int80(nr);
	answer(fd, r == -ENOSYS ? "allowed" : errname(r < 0 ? -1 : r, (int)-r));
}

static int cmd_deny(int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		char name[64], key[96];
		long nr, nr32;

		if (sscanf(argv[i], "%63[^:]:%ld:%ld", name, &nr, &nr32) != 3)
			return 2;
		snprintf(key, sizeof(key), "%s native", name);
		in_child(key, deny_native, nr);
		snprintf(key, sizeof(key), "%s x32", name);
		in_child(key, deny_x32, nr);
		if (nr32 >= 0) {
			snprintf(key, sizeof(key), "%s int80", name);
			in_child(key, deny_int80, nr32);
		}
	}
	return 0;
}

/* --- S09 ------------------------------------------------------------- */

static void *thread_fn(void *arg)
{
	return arg;
}

static void try_clone_flags(long flags, int fd)
{
	long r = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);

	if (r == 0)
		_exit(0);
	if (r > 0)
		waitpid((pid_t)r, NULL, 0);
	answer(fd, ename(r));
}

static void try_clone3(long flags, int fd)
{
	struct clone_args args = { .flags = (uint64_t)flags, .exit_signal = SIGCHLD };
	long r = syscall(SYS_clone3, &args, sizeof(args));

	if (r == 0)
		_exit(0);
	if (r > 0)
		waitpid((pid_t)r, NULL, 0);
	answer(fd, ename(r));
}

static void try_unshare(long flags, int fd)
{
	answer(fd, ename(unshare((int)flags)));
}

static int cmd_clone(void)
{
	char *const args[] = { "true", NULL };
	pthread_t t;
	void *ret = NULL;
	int r, status;
	pid_t pid;

	r = pthread_create(&t, NULL, thread_fn, (void *)42);
	if (r == 0)
		r = pthread_join(t, &ret);
	printf("pthread %s\n", r == 0 && ret == (void *)42 ? "ok" : strerror(r));
	pid = fork();
	if (pid == 0)
		_exit(7);
	printf("fork %s\n", pid > 0 && waitpid(pid, &status, 0) == pid && WEXITSTATUS(status) == 7 ?
	       "ok" : ename(-1));
	r = posix_spawn(&pid, "/bin/true", NULL, NULL, args, environ);
	printf("posix_spawn %s\n", r == 0 && waitpid(pid, &status, 0) == pid && status == 0 ?
	       "ok" : strerror(r));
	in_child("clone3", try_clone3, 0);
	in_child("clone3_newuser", try_clone3, CLONE_NEWUSER);
	in_child("clone_newuser", try_clone_flags, CLONE_NEWUSER);
	in_child("clone_newnet", try_clone_flags, CLONE_NEWNET);
	in_child("clone_newns", try_clone_flags, CLONE_NEWNS);
	in_child("unshare_newuser_newnet", try_unshare, CLONE_NEWUSER | CLONE_NEWNET);
	in_child("unshare_fs_files", try_unshare, CLONE_FS | CLONE_FILES);
	printf("syscall1000 %s\n", ename(syscall(1000, 0, 0, 0, 0, 0, 0)));
	return 0;
}

/* --- S10 ------------------------------------------------------------- */

static void ns_link(char *buf, size_t size)
{
	ssize_t n = readlink("/proc/self/ns/user", buf, size - 1);

	buf[n > 0 ? n : 0] = '\0';
}

/* The tracee: stop, then one getppid() that the tracer rewrites. */
static __attribute__((noreturn)) void tracee(int fd)
{
	char before[64], after[64], out[160];
	long r;
	int e;

	ns_link(before, sizeof(before));
	if (ptrace(PTRACE_TRACEME, 0, 0, 0) < 0)
		_exit(3);
	raise(SIGSTOP);
	r = syscall(SYS_getppid);
	e = errno;
	ns_link(after, sizeof(after));
	snprintf(out, sizeof(out), "%s %s", r >= 0 ? (r == getpid() ? "own-pid" : "ok") : errname(r, e),
		 strcmp(before, after) ? "new-userns" : "same-userns");
	answer(fd, out);
	_exit(0);
}

static int cmd_ptrace(const char *target)
{
	long nr = -1, arg0 = 0;
	int p[2], status, entering = 1, rewritten = 0;
	char buf[160] = "";
	pid_t pid;
	ssize_t n;

	if (!strcmp(target, "getpid"))
		nr = SYS_getpid;
	else if (!strcmp(target, "unshare"))
		nr = SYS_unshare, arg0 = CLONE_NEWUSER;
	else if (!strcmp(target, "x32-unshare"))
		nr = SYS_unshare | X32_BIT, arg0 = CLONE_NEWUSER;
	else if (!strcmp(target, "keyctl"))
		nr = SYS_keyctl;
	else if (!strcmp(target, "1000"))
		nr = 1000;
	if (nr < 0 || pipe(p) < 0)
		return 2;
	pid = fork();
	if (pid < 0)
		return 2;
	if (pid == 0) {
		close(p[0]);
		tracee(p[1]);
	}
	close(p[1]);
	if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status)) {
		printf("ptrace no-stop\n");
		return 1;
	}
	ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL);
	for (int sig = 0;;) {
		struct user_regs_struct regs;

		if (ptrace(PTRACE_SYSCALL, pid, 0, sig) < 0 || waitpid(pid, &status, 0) != pid)
			break;
		sig = 0;
		if (WIFEXITED(status) || WIFSIGNALED(status))
			break;
		if (WSTOPSIG(status) != (SIGTRAP | 0x80)) {
			sig = WSTOPSIG(status);
			continue;
		}
		if (ptrace(PTRACE_GETREGS, pid, 0, &regs) < 0)
			break;
		/* x86-64 enters a syscall with rax = -ENOSYS */
		if (entering && (long)regs.rax == -ENOSYS && regs.orig_rax == SYS_getppid && !rewritten) {
			regs.orig_rax = (unsigned long long)nr;
			regs.rdi = (unsigned long long)arg0;
			if (ptrace(PTRACE_SETREGS, pid, 0, &regs) == 0)
				rewritten = 1;
		}
		entering = !entering;
	}
	n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	if (WIFSIGNALED(status))
		printf("ptrace rewritten %s child SIG%s\n", rewritten ? "yes" : "no",
		       sigabbrev_np(WTERMSIG(status)) ?: "?");
	else
		printf("ptrace rewritten %s child %.*s\n", rewritten ? "yes" : "no",
		       n > 0 ? (int)n : 6, n > 0 ? buf : "silent");
	return 0;
}

/* --- S12, S07, argument filters ----------------------------------------- */

static int cmd_nested(void)
{
	int fd;

	in_child("unshare_newuser", try_unshare, CLONE_NEWUSER);
	in_child("unshare_newnet", try_unshare, CLONE_NEWNET);
	in_child("unshare_newuser_newnet", try_unshare, CLONE_NEWUSER | CLONE_NEWNET);
	in_child("clone_newuser_newnet", try_clone_flags, CLONE_NEWUSER | CLONE_NEWNET);
	fd = open("/proc/sys/user/max_user_namespaces", O_WRONLY);
	printf("write_max_user_namespaces %s\n", ename(fd >= 0 && write(fd, "100", 3) == 3 ? 0 : -1));
	return 0;
}

static int cmd_ioctl(void)
{
	static const struct {
		const char *key;
		unsigned long cmd;
	} cmds[] = {
		{ "tiocsti", TIOCSTI },
		{ "tiocsti_0x123_high", (0x123UL << 32) | TIOCSTI },
		{ "tiocsti_all_high", (0xffffffffUL << 32) | TIOCSTI },
		{ "tioclinux", TIOCLINUX },
		{ "tioclinux_high", (1UL << 32) | TIOCLINUX },
		{ "tcgets", TCGETS },
		{ "tiocgwinsz", TIOCGWINSZ },
	};
	int p[2], avail = -1, r;
	char c = 0;

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		printf("%s %s\n", cmds[i].key, ename(syscall(SYS_ioctl, 0, cmds[i].cmd, &c)));
	if (pipe(p) < 0)
		return 1;
	(void)!write(p[1], "xyz", 3);
	r = ioctl(p[0], FIONREAD, &avail);
	printf("fionread_pipe %s %d\n", ename(r), avail);
	return 0;
}

static int cmd_personality(void)
{
	long cur = syscall(SYS_personality, 0xffffffffUL);

	printf("query %s\n", ename(cur));
	printf("addr_no_randomize %s\n", ename(syscall(SYS_personality, (unsigned long)ADDR_NO_RANDOMIZE)));
	printf("linux %s\n", ename(syscall(SYS_personality, (unsigned long)PER_LINUX)));
	printf("read_implies_exec %s\n", ename(syscall(SYS_personality, (unsigned long)READ_IMPLIES_EXEC)));
	printf("mmap_page_zero %s\n", ename(syscall(SYS_personality, (unsigned long)MMAP_PAGE_ZERO)));
	printf("svr4 %s\n", ename(syscall(SYS_personality, (unsigned long)PER_SVR4)));
	return 0;
}

static int cmd_socket(void)
{
	static const struct {
		const char *key;
		int family, type;
	} fams[] = {
		{ "unix", AF_UNIX, SOCK_STREAM }, { "inet", AF_INET, SOCK_DGRAM },
		{ "inet6", AF_INET6, SOCK_DGRAM }, { "netlink", AF_NETLINK, SOCK_RAW },
		{ "alg", AF_ALG, SOCK_SEQPACKET }, { "vsock", AF_VSOCK, SOCK_STREAM },
		{ "packet", AF_PACKET, SOCK_RAW },
	};
	int sv[2];

	for (size_t i = 0; i < sizeof(fams) / sizeof(fams[0]); i++)
		printf("%s %s\n", fams[i].key, ename(socket(fams[i].family, fams[i].type, 0)));
	printf("socketpair_unix %s\n", ename(socketpair(AF_UNIX, SOCK_STREAM, 0, sv)));
	return 0;
}

static void *sum_fn(void *arg)
{
	unsigned long long *n = arg, s = 0;

	for (unsigned long long i = 1; i <= *n; i++)
		s += i;
	*n = s;
	return NULL;
}

static int cmd_compute(void)
{
	unsigned long long n[4] = { 1000, 2000, 3000, 4000 };
	pthread_t t[4];
	int fd, ok = 1;
	pid_t pid;

	for (int i = 0; i < 4; i++)
		ok &= pthread_create(&t[i], NULL, sum_fn, &n[i]) == 0;
	for (int i = 0; ok && i < 4; i++)
		pthread_join(t[i], NULL);
	printf("threads %s %llu\n", ok ? "ok" : "failed", n[0] + n[1] + n[2] + n[3]);
	fd = open("/tmp/out", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	printf("write_output %s\n", ename(fd >= 0 && write(fd, "42\n", 3) == 3 ? 0 : -1));
	printf("socket %s\n", ename(socket(AF_INET, SOCK_STREAM, 0)));
	pid = fork();
	if (pid == 0)
		_exit(0);
	printf("fork %s\n", ename(pid));
	printf("ioctl %s\n", ename(syscall(SYS_ioctl, 1, TCGETS, NULL)));
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "deny"))
		return cmd_deny(argc - 2, argv + 2);
	if (!strcmp(cmd, "clone"))
		return cmd_clone();
	if (!strcmp(cmd, "ptrace") && argc > 2)
		return cmd_ptrace(argv[2]);
	if (!strcmp(cmd, "nested"))
		return cmd_nested();
	if (!strcmp(cmd, "ioctl"))
		return cmd_ioctl();
	if (!strcmp(cmd, "personality"))
		return cmd_personality();
	if (!strcmp(cmd, "socket"))
		return cmd_socket();
	if (!strcmp(cmd, "compute"))
		return cmd_compute();
	if (!strcmp(cmd, "call") && argc > 2)
		return printf("call %s\n", ename(syscall(atol(argv[2]), 0, 0, 0, 0, 0, 0))) < 0;
	fprintf(stderr, "gr-sysprobe: unknown command `%s`\n", cmd);
	return 2;
}
