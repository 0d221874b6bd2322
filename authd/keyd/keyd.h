/*
 * keyd: authd's key holder process (prefix keyd_), after OpenSSH's monitor. authd forks
 * it first thing, before any thread starts and before any key file is read; keyd then
 * loads every key itself (authd/keyd/holder.h) and answers a fixed table of typed
 * requests (authd/keyd/proto.h) over the socket pairs it was given, and nothing else:
 * a request of an unknown type, on the wrong channel, not permitted yet (or any more), or
 * malformed in any way is logged and keyd exits; the HTTP process then stops too.
 *
 * Threads: one per channel, blocked on its socket, so a request wakes exactly the thread
 * that serves it; the thread of work channel w is bound to CPU kd_cpus()[w % n], and the
 * HTTP process takes a channel of the CPU its caller runs on, so that a request is a
 * hand-over on one CPU rather than a wake-up across CPUs (which costs a virtual machine
 * an exit; measured by tests/bench/bench_keyd.sh). A ring reload runs on the control
 * channel's thread while the others keep signing.
 *
 * The process: not dumpable (the HTTP process, same uid, can neither ptrace it nor read
 * /proc/PID/mem), killed when authd dies (PR_SET_PDEATHSIG), no core files, every other
 * descriptor closed, SIGINT/SIGTERM/SIGHUP ignored (authd drains its requests first and
 * then closes the channels, which ends keyd), and once its threads run a seccomp filter
 * (authd/keyd/sandbox.h) that forbids exec, fork, ptrace and sockets.
 *
 * Exit status: 0 when the control channel closed (authd stopped), KEYD_EXIT_KEYS when a
 * key could not be opened (told to authd in the HELLO answer first), KEYD_EXIT_REFUSED
 * after refusing a request, KEYD_EXIT_INTERNAL when keyd itself failed.
 */
#ifndef YH_AUTHD_KEYD_KEYD_H
#define YH_AUTHD_KEYD_KEYD_H

#include <stddef.h>
#include <sys/types.h>

#include "authcore/authd_config.h"

#define KEYD_EXIT_KEYS 2
#define KEYD_EXIT_REFUSED 3
#define KEYD_EXIT_INTERNAL 4

/*
 * The body of the forked child: fds[0] is the control channel, fds[1..n-1] the work
 * channels (keyd's ends of the socket pairs); parent is authd's pid (keyd exits at once
 * when it is already gone). cfg is the configuration authd loaded before forking.
 * Never returns.
 */
void keyd_main(const struct authd_cfg *cfg, pid_t parent, const int *fds, size_t n)
    __attribute__((noreturn));

#endif
