/*
 * keyd's system-call filter (prefix kd_): after keyd has opened its keys and started its
 * threads, a seccomp filter limits every thread to what answering requests and
 * re-reading the key files needs (reading and writing its sockets and files, memory,
 * futexes, the clock, randomness). Starting a program (execve), making a process or a
 * thread (fork, clone), tracing another process (ptrace, process_vm_*) and opening a
 * network socket kill keyd at once; any other call outside the list fails with EPERM.
 */
#ifndef YH_AUTHD_KEYD_SANDBOX_H
#define YH_AUTHD_KEYD_SANDBOX_H

#include <stddef.h>

#include "common/err.h"

/*
 * Installs the filter on every thread of the process (and sets no_new_privs). Returns 0,
 * or YH_ERR_UNSUPPORTED with the reason in why (a CPU architecture without a list here,
 * an AddressSanitizer build, whose leak checker traces the process at exit) or
 * YH_ERR_INTERNAL (the kernel refused the filter; why says how).
 */
int kd_sandbox(char *why, size_t whysz) YH_WUR;

#endif
