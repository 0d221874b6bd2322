/* SIGHUP's configuration reload: the targets of the hooks, the log, the handover. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authcore/authd_config.h"
#include "authd/app.h"
#include "authd/http/http.h"
#include "authd/reload.h"
#include "authd/session/sess.h"
#include "common/log.h"

/* The longest value logged; longer ones are cut (a path, a proxy list). */
#define RELOAD_VALUE_MAX 160

/* The pieces the targets reach. */
struct reload_parts {
	struct authd_app *app;
	struct http_server *srv;
};

static int
set_sessions(void *arg, int64_t idle_s, int64_t absolute_s, char *err, size_t errsz)
{
	struct reload_parts *p = arg;
	int r;

	if (p->app->sess == NULL)
		return 0;
	if ((r = sess_set_timeouts(p->app->sess, idle_s, absolute_s)) != 0)
		snprintf(err, errsz, "the session store refused the timeouts");
	return r;
}

static int
set_proxies(void *arg, const char *list, char *err, size_t errsz)
{
	struct reload_parts *p = arg;

	return p->srv != NULL ? http_server_set_trusted_proxies(p->srv, list, err, errsz) : 0;
}

/* Logs one changed option: applied, or waiting for a restart (not applied). */
static void
note(void *arg, const struct yh_cfg_opt *o, bool applied, const void *old, const void *new)
{
	char was[RELOAD_VALUE_MAX], now[RELOAD_VALUE_MAX];

	(void)arg;
	yh_cfg_format(o, old, was, sizeof(was));
	yh_cfg_format(o, new, now, sizeof(now));
	if (applied)
		yh_info("SIGHUP: %s = %s (was %s)", o->name, now, was);
	else
		yh_warn("SIGHUP: %s = %s in the configuration file needs a restart: not applied "
		    "(still %s)", o->name, now, was);
}

/* Keeps c (loaded by a reload) until authd_reload_free. */
static int
hold(struct authd_reload *rl, struct authd_cfg *c)
{
	struct authd_cfg **v;

	if (rl->nheld == rl->cap) {
		size_t cap = rl->cap > 0 ? rl->cap * 2 : 4;

		if ((v = realloc(rl->held, cap * sizeof(*v))) == NULL)
			return YH_ERR_ALLOC;
		rl->held = v;
		rl->cap = cap;
	}
	rl->held[rl->nheld++] = c;
	return 0;
}

/* Frees the configuration held last (a reload that failed or changed nothing). */
static void
unhold_last(struct authd_reload *rl)
{
	struct authd_cfg *c = rl->held[--rl->nheld];

	authd_cfg_free(c);
	free(c);
}

void
authd_reload_config(struct authd_reload *rl, struct authd_app *app, struct http_server *srv)
{
	struct reload_parts parts = { .app = app, .srv = srv };
	struct authd_cfg_targets t = {
		.audit = app->audit, .arg = &parts, .sessions = set_sessions,
		.proxies = set_proxies,
	};
	struct yh_cfg_reload how = { .ctx = &t, .note = note };
	struct authd_cfg *next;
	char err[1024];
	int r;

	if ((next = calloc(1, sizeof(*next))) == NULL || hold(rl, next) != 0) {
		free(next);
		yh_error("SIGHUP: configuration not reloaded (everything stays as it was): out "
		    "of memory");
		return;
	}
	if ((r = authd_cfg_reload(app->cfg, next, &how, err, sizeof(err))) != 0) {
		unhold_last(rl);
		if (r == YH_ERR_NOT_FOUND)
			yh_info("SIGHUP: %s", err);
		else
			yh_error("SIGHUP: configuration not reloaded (everything stays as it was): "
			    "%s%s", err, r == YH_ERR_IO && app->cfg->run_as.set ?
			    " (the HTTP process re-reads it as `user`: give the file to that "
			    "account's group, mode 0640)" : "");
		return;
	}
	if (how.applied == 0)
		unhold_last(rl);   /* nothing reloadable changed: the one in force stays */
	else
		app->cfg = next;
	if (how.applied == 0 && how.restart == 0)
		yh_info("SIGHUP: configuration unchanged");
	else
		yh_info("SIGHUP: configuration reloaded: %zu option%s applied, %zu waiting for a "
		    "restart", how.applied, how.applied == 1 ? "" : "s", how.restart);
}

void
authd_reload_free(struct authd_reload *rl)
{
	for (size_t i = 0; i < rl->nheld; i++) {
		authd_cfg_free(rl->held[i]);
		free(rl->held[i]);
	}
	free(rl->held);
	memset(rl, 0, sizeof(*rl));
}
