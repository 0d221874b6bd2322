/* keyd's seccomp filter: see sandbox.h. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "authd/keyd/sandbox.h"

#if defined(__SANITIZE_ADDRESS__)
#define KD_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KD_ASAN 1
#endif
#endif

#if defined(__x86_64__)
#define KD_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define KD_ARCH AUDIT_ARCH_AARCH64
#endif

#if defined(KD_ARCH) && !defined(KD_ASAN)

/* Calls that mean keyd is being used for something it never does: stop it. */
static const int killed[] = {
	__NR_execve, __NR_execveat, __NR_ptrace, __NR_process_vm_readv,
	__NR_process_vm_writev, __NR_clone, __NR_clone3, __NR_socket, __NR_connect,
#ifdef __NR_fork
	__NR_fork, __NR_vfork,
#endif
};

/* What answering requests and re-reading key files needs. */
static const int allowed[] = {
	/* the channels, the log, the key files */
	__NR_read, __NR_write, __NR_readv, __NR_writev, __NR_pread64, __NR_recvmsg,
	__NR_recvfrom, __NR_sendmsg, __NR_sendto, __NR_shutdown, __NR_close, __NR_openat,
	__NR_fstat, __NR_newfstatat, __NR_statx, __NR_lseek, __NR_fcntl, __NR_flock, __NR_fsync,
	__NR_fdatasync, __NR_renameat, __NR_renameat2, __NR_linkat, __NR_unlinkat,
	__NR_fchmod, __NR_getdents64, __NR_faccessat, __NR_umask,
#ifdef __NR_open
	__NR_open, __NR_stat, __NR_lstat, __NR_access, __NR_rename, __NR_link, __NR_unlink,
#endif
	/* memory, threads, time, randomness, exit */
	__NR_mmap, __NR_munmap, __NR_mremap, __NR_mprotect, __NR_madvise, __NR_brk,
	__NR_futex, __NR_sched_yield, __NR_nanosleep, __NR_clock_nanosleep,
	__NR_clock_gettime, __NR_gettimeofday, __NR_getrandom, __NR_getpid, __NR_gettid,
	__NR_getppid, __NR_rt_sigreturn, __NR_rt_sigprocmask, __NR_tgkill, __NR_exit,
	__NR_exit_group, __NR_rseq, __NR_set_robust_list, __NR_sched_getaffinity,
	__NR_sched_setaffinity,
	/* the owner checks of the key files and the ring's directory on a re-read */
	__NR_geteuid,
};

#define N_KILLED (sizeof(killed) / sizeof(killed[0]))
#define N_ALLOWED (sizeof(allowed) / sizeof(allowed[0]))
/* load arch, check, load nr, (x32 check), each call, two returns */
#define PROG_MAX (6 + N_KILLED + N_ALLOWED + 4)

int
kd_sandbox(char *why, size_t whysz)
{
	struct sock_filter f[PROG_MAX];
	struct sock_fprog prog;
	size_t n = 0, kill_at, allow_at;

	/* Layout: header, one jump per call, then [errno] (where no jump matched) [kill]
	 * [allow]. */
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, arch));
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, KD_ARCH, 1, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, nr));
#if defined(__x86_64__)
	/* x32 calls have the same numbers with bit 30 set: never let them in. */
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
#endif
	kill_at = n + N_KILLED + N_ALLOWED + 1;
	allow_at = kill_at + 1;
	for (size_t i = 0; i < N_KILLED; i++, n++)
		f[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)killed[i],
		    (unsigned char)(kill_at - n - 1), 0);
	for (size_t i = 0; i < N_ALLOWED; i++, n++)
		f[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)allowed[i],
		    (unsigned char)(allow_at - n - 1), 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	_Static_assert(N_KILLED + N_ALLOWED < 250, "every jump fits in 8 bits");
	prog.len = (unsigned short)n;
	prog.filter = f;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC,
	    &prog) != 0) {
		snprintf(why, whysz, "the kernel refused the seccomp filter: %s", strerror(errno));
		return YH_ERR_INTERNAL;
	}
	return 0;
}

#else

int
kd_sandbox(char *why, size_t whysz)
{
#if defined(KD_ASAN)
	snprintf(why, whysz, "an address-sanitizing build (ASan: its leak checker traces the "
	    "process at exit)");
#else
	snprintf(why, whysz, "no system-call list for this CPU architecture");
#endif
	return YH_ERR_UNSUPPORTED;
}

#endif
