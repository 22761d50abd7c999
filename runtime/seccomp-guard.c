/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * seccomp-guard.c - the set-id guard (gr-seccomp.h), merged into every
 * job's filter (threat S34).
 *
 * Why a filter and not the hand-over: in the idmapped sandbox (and a rw bind)
 * what the job creates is stored as its owner's, so `chmod 6755 tool` would
 * leave a file that runs as the owner on the host; in chown mode the walk
 * back clears set-id bits of what it gives back, but not in binds, and not
 * when the walk cannot finish. A job has no business making a set-id file:
 * no_new_privs makes such a file useless inside the job anyway.
 *
 * What it denies, with EPERM, when the mode asks for S_ISUID or S_ISGID:
 * chmod, fchmod, fchmodat, fchmodat2 (6.6; libseccomp 2.5 has no name for
 * it, hence a hand-written program), mkdir, mkdirat, mknod, mknodat, creat,
 * and open/openat with O_CREAT or O_TMPFILE. openat2 carries its mode in a
 * struct a filter cannot read: it fails with ENOSYS, and libc and the
 * programs that use it fall back to openat. io_uring_setup fails with EPERM:
 * IORING_OP_OPENAT and _MKDIRAT take a mode no filter sees. cp -p and
 * install -m go through fchmod/fchmodat and get EPERM; cp -p still copies
 * the file, and says it could not preserve the mode.
 *
 * Under every profile: the job's filter is the profile's program with this
 * one merged in (seccomp-merge.c), answering for every call, architecture
 * and argument what the kernel would answer for this filter stacked under
 * the profile's: the strictest action (KILL > TRAP > ERRNO > TRACE > LOG >
 * ALLOW; between two ERRNOs, the profile's errno), so no profile, however
 * permissive, can undo it. A profile that cannot be merged gets this
 * program as a filter of its own, installed first.
 *
 * What holds beyond it: a directory created in a set-group-ID directory
 * inherits the bit (the kernel, not the mode argument, sets it), and a file
 * there gets that directory's group. Only the owner can make such a
 * directory, so the group is the owner's choice; the job can make no set-id
 * file in it (a non-member's S_ISGID is cleared by the kernel, and the guard
 * refuses it first).
 *
 * x86-64 only, with its two compat ABIs: x32 (numbers with bit 0x40000000,
 * the common calls keep their x86-64 number) and i386 (its own numbers).
 * Any other architecture is killed here, as by the profiles. The program
 * depends on the arguments only for the calls above: for every other call
 * the kernel's action cache (5.11) finds it constant ALLOW and never runs it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gr-seccomp.h"
#include "util.h"

#ifndef __x86_64__
#error "seccomp-guard.c: only x86-64's system call tables are written down here"
#endif

#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452           /* Linux 6.6, the same number on every ABI */
#endif
#ifndef __O_TMPFILE
#define __O_TMPFILE 020000000
#endif
#define X32_BIT 0x40000000u

/* i386's numbers (asm/unistd_32.h; tests/seccomp_guard_test.c checks them) */
enum {
	I386_open = 5, I386_creat = 8, I386_mknod = 14, I386_chmod = 15, I386_mkdir = 39,
	I386_fchmod = 94, I386_openat = 295, I386_mkdirat = 296, I386_mknodat = 297,
	I386_fchmodat = 306, I386_io_uring_setup = 425, I386_openat2 = 437, I386_fchmodat2 = 452,
};

/* the low 32 bits of argument i: modes and open flags are ints */
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#define SETID (S_ISUID | S_ISGID)
#define DENY SECCOMP_RET_ERRNO | EPERM
#define ALLOW SECCOMP_RET_ALLOW

/*
 * Each entry is self-contained: if the number (in A) is not its call, it
 * jumps over itself; otherwise it returns. So no jump leaves its entry.
 */
#define MODE_AT(nr, i) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 4), \
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(i)), \
	BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, SETID, 0, 1), \
	BPF_STMT(BPF_RET | BPF_K, DENY), \
	BPF_STMT(BPF_RET | BPF_K, ALLOW)
#define CREATE_AT(nr, flags, mode) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 6), \
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(flags)), \
	BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, O_CREAT | __O_TMPFILE, 0, 3), \
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(mode)), \
	BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, SETID, 0, 1), \
	BPF_STMT(BPF_RET | BPF_K, DENY), \
	BPF_STMT(BPF_RET | BPF_K, ALLOW)
#define ANSWER(nr, action) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
	BPF_STMT(BPF_RET | BPF_K, (action))

#define CALLS(P) \
	MODE_AT(P##chmod, 1), MODE_AT(P##fchmod, 1), MODE_AT(P##fchmodat, 2), \
	MODE_AT(P##fchmodat2, 2), MODE_AT(P##mkdir, 1), MODE_AT(P##mkdirat, 2), \
	MODE_AT(P##mknod, 1), MODE_AT(P##mknodat, 2), MODE_AT(P##creat, 1), \
	CREATE_AT(P##open, 1, 2), CREATE_AT(P##openat, 2, 3), \
	ANSWER(P##openat2, SECCOMP_RET_ERRNO | ENOSYS), ANSWER(P##io_uring_setup, DENY), \
	BPF_STMT(BPF_RET | BPF_K, ALLOW)

#define X86_64_BLOCK \
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)), \
	BPF_STMT(BPF_ALU | BPF_AND | BPF_K, ~X32_BIT), \
	CALLS(__NR_)
#define I386_BLOCK \
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)), \
	CALLS(I386_)
#define LEN(block) (sizeof((struct sock_filter[]){ block }) / sizeof(struct sock_filter))

static const struct {
	struct sock_filter arch[2];
	struct sock_filter x86_64[LEN(X86_64_BLOCK)];
	struct sock_filter is_i386[1];
	struct sock_filter i386[LEN(I386_BLOCK)];
	struct sock_filter other[1];
} guard = {
	.arch = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, LEN(X86_64_BLOCK)),
	},
	.x86_64 = { X86_64_BLOCK },
	.is_i386 = { BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 0, LEN(I386_BLOCK)) },
	.i386 = { I386_BLOCK },
	.other = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS) },
};

/* one program: the members follow each other with no padding */
_Static_assert(sizeof(guard) == sizeof(struct sock_filter) *
	       (2 + LEN(X86_64_BLOCK) + 1 + LEN(I386_BLOCK) + 1), "guard: padding");
_Static_assert(LEN(X86_64_BLOCK) < 256 && LEN(I386_BLOCK) < 256, "guard: a jump is 8 bits");

const struct sock_filter *gr_seccomp_guard(size_t *ninsns)
{
	*ninsns = sizeof(guard) / sizeof(struct sock_filter);
	return (const struct sock_filter *)&guard;
}

int gr_seccomp_guard_install_in_child(struct gr_error **err)
{
	struct sock_fprog prog;
	size_t n;

	prog.filter = (struct sock_filter *)gr_seccomp_guard(&n);
	prog.len = (unsigned short)n;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
		return gr_error_sys(err, errno, "seccomp: install the set-id guard");
	return 0;
}
