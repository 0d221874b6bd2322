/* sd_notify for the unit's Type=notify and WatchdogSec= (authd/notify.h). */
#include "authd/notify.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>
#include <systemd/sd-daemon.h>

#include "common/log.h"

/* Sends state; a failure is logged once (the manager is gone or the socket is wrong:
 * authd serves on regardless). */
static void
notify(const char *state)
{
	static int warned;
	int r = sd_notify(0, state);

	if (r < 0 && !warned) {
		warned = 1;
		yh_warn("cannot notify the service manager (NOTIFY_SOCKET): error %d", -r);
	}
}

void
svc_notify_ready(const char *status)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status != NULL ? status : "serving");
	notify(msg);
}

void
svc_notify_reloading(void)
{
	struct timespec ts;
	char msg[96];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
	    (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
	notify(msg);
}

void
svc_notify_stopping(void)
{
	notify("STOPPING=1");
}

int
svc_watchdog_every_ms(void)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return 0;
	usec /= 2000u;                      /* half the interval, in milliseconds */
	return usec == 0 ? 1 : usec > 3600000u ? 3600000 : (int)usec;
}

void
svc_watchdog_ping(void)
{
	notify("WATCHDOG=1");
}
