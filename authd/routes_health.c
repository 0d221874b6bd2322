/*
 * Health and metrics: /healthz (the process answers), /readyz (every registered
 * dependency answers), /metrics (Prometheus text). None of them needs authentication;
 * expose /metrics only to the monitoring network (see docs/operations.md).
 */
#include <stdio.h>
#include <string.h>

#include "authd/routes.h"
#include "common/log.h"
#include "identity/dir.h"

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

static int
healthz(struct http_req *req, void *arg)
{
	json_t *o = json_pack("{s:s}", "status", "ok");

	return http_respond_json(req, 200, o);
}

static int
readyz(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	char reason[256];

	for (size_t i = 0; i < app->nchecks; i++) {
		const struct authd_check *c = &app->checks[i];

		reason[0] = '\0';
		if (c->fn(c->ctx, reason, sizeof(reason)) != 0) {
			yh_warn("not ready: %s: %s", c->name, reason);
			return http_respond_json(req, 503, json_pack("{s:s, s:s, s:s}", "status",
			    "unavailable", "check", c->name, "reason", reason));
		}
	}
	return http_respond_json(req, 200, json_pack("{s:s}", "status", "ok"));
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
