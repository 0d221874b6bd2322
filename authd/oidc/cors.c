/*
 * CORS (the Fetch standard's CORS protocol) for the endpoints a single-page app calls from
 * the browser: /token, /userinfo and /revoke. Which origins an app has is the registry's
 * (authcore/clients/clients.h: the origins of a public client's redirect URIs, and its
 * allowed_origins); which answer goes with which request is decided here (see
 * authd/oidc/token.h and docs/integration.md, "Single-page apps").
 *
 * No answer carries Access-Control-Allow-Credentials: these endpoints take no cookie, the
 * app presents its token or its client_id itself. Access-Control-Allow-Origin is always
 * the request's own origin, never "*", and every answer of these endpoints varies by
 * Origin (Vary: Origin), whether or not it allowed the origin.
 */
#include "authd/oidc/token.h"

#include <stdlib.h>
#include <string.h>

#include "authd/app.h"

#define CORS_MAX_AGE "600"   /* seconds a browser may keep a preflight's answer */

/* Vary: Origin, and when allow Access-Control-Allow-Origin: origin, with the bearer
 * refusal's WWW-Authenticate readable by the app. */
static int
cors_answer(struct http_req *req, const char *origin, bool allow)
{
	int r;

	if ((r = http_resp_header(req, "Vary", "Origin")) != 0 || !allow ||
	    (r = http_resp_header(req, "Access-Control-Allow-Origin", origin)) != 0)
		return r;
	return http_resp_header(req, "Access-Control-Expose-Headers", "WWW-Authenticate");
}

int
oidc_cors_for_client(struct http_req *req, const struct clients_client *c)
{
	const char *origin = http_req_header(req, "Origin");

	return cors_answer(req, origin, clients_origin_ok(c, origin));
}

int
oidc_cors_for_any(struct http_req *req, const struct clients_snap *snap)
{
	const char *origin = http_req_header(req, "Origin");

	return cors_answer(req, origin, clients_origin_known(snap, origin));
}

int
oidc_cors_named(struct http_req *req, const struct clients_snap *snap)
{
	char *id = NULL;
	int r;

	r = http_req_form(req, "client_id", CLIENTS_ID_MAX, &id);
	if (r == YH_ERR_ALLOC)
		return r;
	r = oidc_cors_for_client(req, r == 0 ? clients_find(snap, id) : NULL);
	free(id);
	return r;
}

/*
 * OPTIONS /token, /userinfo, /revoke: a preflight carries no client_id and no token, so
 * the origin is judged against every registered app: allowed when it is one of any
 * public client's (clients_origin_known). The request that follows is judged against
 * its own app. Answered 204, with the CORS headers only for an allowed origin.
 */
static int
preflight_handler(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct clients_snap *snap;
	const char *origin = http_req_header(req, "Origin");
	bool allow;
	int r;

	(void)clients_refresh_if_changed(app->clients);
	snap = clients_acquire(app->clients);
	allow = clients_origin_known(snap, origin);
	clients_release(snap);
	if ((r = cors_answer(req, origin, allow)) != 0)
		return r;
	if (allow && ((r = http_resp_header(req, "Access-Control-Allow-Methods",
	    strcmp(http_req_path(req), "/userinfo") == 0 ? "GET, POST" : "POST")) != 0 ||
	    (r = http_resp_header(req, "Access-Control-Allow-Headers",
	    "Authorization, Content-Type")) != 0 ||
	    (r = http_resp_header(req, "Access-Control-Max-Age", CORS_MAX_AGE)) != 0))
		return r;
	return http_respond(req, 204, NULL, NULL, 0);
}

static const struct http_route cors_routes[] = {
	{ "OPTIONS", "/token", preflight_handler, HTTP_ROUTE_PREAUTH },
	{ "OPTIONS", "/userinfo", preflight_handler, HTTP_ROUTE_PREAUTH },
	{ "OPTIONS", "/revoke", preflight_handler, HTTP_ROUTE_PREAUTH },
	{ NULL, NULL, NULL, 0 },
};

int
oidc_cors_register(struct http_server *srv, struct authd_app *app)
{
	return http_routes_add(srv, cors_routes, app);
}
