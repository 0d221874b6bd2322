/*
 * Telling the service manager how authd is doing (prefix svc_), through libsystemd's
 * sd_notify: the unit is Type=notify, so systemd counts authd as started only once it
 * serves (READY=1), knows a SIGHUP's reload is under way (RELOADING=1, then READY=1)
 * and that a stop has begun (STOPPING=1); with WatchdogSec= in the unit, authd's main
 * thread sends WATCHDOG=1 at half the interval while it and the key holder are alive,
 * so a hung or half-dead daemon is restarted. Without NOTIFY_SOCKET in the environment
 * (started by hand, by the tests, or Type=exec) every call does nothing.
 *
 * Only the process systemd started (the HTTP process, the unit's MAINPID) sends: keyd
 * never calls these. The notify socket stays reachable after the HTTP process switches
 * to `user` (systemd's socket accepts every uid; NotifyAccess=main checks the pid).
 */
#ifndef YH_AUTHD_NOTIFY_H
#define YH_AUTHD_NOTIFY_H

#include <stdint.h>

/* READY=1 with a STATUS= line saying where authd listens (status: one line, may be
 * NULL). */
void svc_notify_ready(const char *status);

/* RELOADING=1 (with MONOTONIC_USEC, as systemd 253's notify-reload expects). */
void svc_notify_reloading(void);

/* STOPPING=1. */
void svc_notify_stopping(void);

/* The interval at which svc_watchdog_ping must be called, in milliseconds: half of
 * WatchdogSec=, at least 1; 0 when no watchdog is asked for. */
int svc_watchdog_every_ms(void);

/* WATCHDOG=1. */
void svc_watchdog_ping(void);

#endif
