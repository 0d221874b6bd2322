/*
 * Health and metrics: /healthz (the process answers), /readyz (every registered
 * dependency answers, and the directory and the audit log can be written: 503 naming
 * the first check that fails), /metrics (Prometheus text). None of them needs authentication;
 * expose /metrics only to the monitoring network (see docs/operations.md).
 */
#include <stdio.h>
#include <string.h>

#include "authcore/audit/audit.h"
#include "authd/app.h"
#include "common/log.h"
#include "identity/dir/dir.h"

#define METRICS_MAX (8 * 1024 * 1024)

int
authd_add_check(struct authd_app *app, const char *name, authd_check_fn fn, void *ctx)
{
	if (app->nchecks >= AUTHD_MAX_CHECKS)
		return YH_ERR_LIMIT;
	app->checks[app->nchecks].name = name;
	app->checks[app->nchecks].fn = fn;
	app->checks[app->nchecks].ctx = ctx;
	app->nchecks++;
	return 0;
}

int
authd_check_directory(void *ctx, char *reason, size_t reasonsz)
{
	struct dir *d = ctx;
	char why[160];
	int r;

	if (d == NULL) {
		snprintf(reason, reasonsz, "directory not open");
		return YH_ERR_UNAVAILABLE;
	}
	if ((r = dir_ping(d, why, sizeof(why))) != 0)
		snprintf(reason, reasonsz, "directory (%s): %s", dir_backend_name(d),
		    why[0] != '\0' ? why : yh_strerror(r));
	return r;
}

int
authd_check_audit(void *ctx, char *reason, size_t reasonsz)
{
	char why[160];
	int r;

	if ((r = yh_audit_room(ctx, why, sizeof(why))) != 0)
		snprintf(reason, reasonsz, "audit log: %s", why);
	return r;
}

static int
healthz(struct http_req *req, void *arg)
{
	json_t *o = json_pack("{s:s}", "status", "ok");

	return http_respond_json(req, 200, o);
}

/* Runs every check (so that a full disk under both the directory and the audit log
 * shows both); the first failure gives check and reason, "failed" names them all. */
static int
readyz(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	json_t *o = NULL, *failed = json_array();
	char reason[256];

	if (failed == NULL)
		return YH_ERR_ALLOC;
	for (size_t i = 0; i < app->nchecks; i++) {
		const struct authd_check *c = &app->checks[i];

		reason[0] = '\0';
		if (c->fn(c->ctx, reason, sizeof(reason)) == 0)
			continue;
		yh_warn("not ready: %s: %s", c->name, reason);
		if (json_array_append_new(failed, json_string(c->name)) != 0) {
			json_decref(failed);
			json_decref(o);
			return YH_ERR_ALLOC;
		}
		if (o == NULL && (o = json_pack("{s:s, s:s, s:s}", "status", "unavailable",
		    "check", c->name, "reason", reason)) == NULL) {
			json_decref(failed);
			return YH_ERR_ALLOC;
		}
	}
	if (o == NULL) {
		json_decref(failed);
		return http_respond_json(req, 200, json_pack("{s:s}", "status", "ok"));
	}
	if (json_object_set_new(o, "failed", failed) != 0) {
		json_decref(o);
		return YH_ERR_ALLOC;
	}
	return http_respond_json(req, 503, o);
}

static int
metrics(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct yh_buf b;
	int r;

	yh_buf_init(&b, METRICS_MAX);
	if ((r = mx_render(app->metrics, &b)) == 0)
		r = http_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", b.data,
		    b.len);
	yh_buf_free(&b);
	return r;
}

static const struct http_route health_routes[] = {
	{ "GET", "/healthz", healthz, HTTP_ROUTE_NO_STORE },
	{ "GET", "/readyz", readyz, HTTP_ROUTE_NO_STORE },
	{ "GET", "/metrics", metrics, HTTP_ROUTE_NO_STORE },
	{ NULL, NULL, NULL, 0 },
};

int
routes_health_register(struct http_server *srv, struct authd_app *app)
{
	return http_routes_add(srv, health_routes, app);
}
