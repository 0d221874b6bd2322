/*
 * The configuration part of SIGHUP (authd_reload_): the -c file read again and checked
 * completely (authcore/authd_config.h, authd_cfg_reload). A broken file changes nothing
 * and is logged with its file:line. Otherwise every changed reloadable option is
 * applied through its hook, the session store's timeouts and the HTTP server's trusted
 * proxies through the targets given here, and the new configuration replaces the old
 * one in app->cfg for everything read at each use (login.*, token.*); every changed
 * immutable option is logged as needing a restart and not applied. The key ring and the
 * clients are reloaded apart from this (authd/main.c).
 *
 * A replaced configuration may still be read by a request in flight, so every one is
 * kept until authd_reload_free, when nothing runs any more: a few kilobytes per reload
 * that changed something.
 */
#ifndef YH_AUTHD_RELOAD_H
#define YH_AUTHD_RELOAD_H

#include <stddef.h>

#include "common/err.h"

struct authd_app;
struct authd_cfg;
struct http_server;

struct authd_reload {
	struct authd_cfg **held;   /* configurations loaded by reloads, the one in force
	                            * among them once a reload changed anything */
	size_t nheld, cap;
};

/*
 * Reloads app's configuration (app->cfg, read at start from the -c file), applying it
 * to app's session store and audit trail and to srv (may be NULL), and logs what it
 * did: each option applied ("SIGHUP: NAME = NEW (was OLD)"), each that needs a restart,
 * and a summary line, or why nothing was reloaded (then nothing changed). Only on the
 * main thread, one reload at a time.
 */
void authd_reload_config(struct authd_reload *rl, struct authd_app *app,
    struct http_server *srv);

/* Frees the configurations the reloads loaded; only once nothing reads them (the
 * daemon stopped). rl may be zeroed, never reloaded. */
void authd_reload_free(struct authd_reload *rl);

#endif
