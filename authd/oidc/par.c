/*
 * POST /par: pushed authorization requests (RFC 9126). The client authenticates as at
 * /token (oidc_client_authenticate: the same methods, the same 401 invalid_client), and
 * the form carries the parameters of an authorization request, which are checked by the
 * rules /authorize applies before it looks at any session (oidc_az_check: client and
 * redirect URI, response_type, scope, PKCE, prompt, max_age, acr_values, ...). A request
 * that passes is kept in the session store (oidc_par_store: single use, bound to the
 * client, oidc.par_lifetime) and answered 201 with its request_uri; /authorize takes it
 * by that reference (authd/oidc/authorize.c). Every refusal is JSON (RFC 9126 2.3),
 * never a redirect: the client, not a browser, is talking to us.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authcore/clients/clients.h"
#include "authd/app.h"
#include "authd/oidc/authorize.h"
#include "authd/oidc/oidc.h"
#include "authd/oidc/token.h"
#include "authd/session/sess.h"
#include "common/log.h"
#include "common/secmem.h"

/*
 * The pushed parameters p of the client c, checked: NULL when they may be stored, else
 * the error with *desc. client_id may be left out of the form when the client
 * authenticated otherwise (HTTP Basic, an assertion): then it is c's.
 */
static const char *
par_check(struct authd_app *app, const struct clients_snap *cs,
    const struct clients_client *c, struct oidc_az_params *p, const char **desc)
{
	*desc = NULL;
	if (p->err[OIDC_AZ_RESPONSE_TYPE] == YH_ERR_UNSUPPORTED)
		return (*desc = "the body must be application/x-www-form-urlencoded",
		    "invalid_request");
	/* RFC 9126 2.1: request_uri must not be pushed; request objects (JAR) we lack */
	if (p->err[OIDC_AZ_REQUEST_URI] != YH_ERR_NOT_FOUND)
		return (*desc = "request_uri may not be pushed", "invalid_request");
	if (p->err[OIDC_AZ_CLIENT_ID] == YH_ERR_NOT_FOUND) {
		if ((p->v[OIDC_AZ_CLIENT_ID] = strdup(c->id)) == NULL)
			return NULL;
		p->err[OIDC_AZ_CLIENT_ID] = 0;
	} else if (p->v[OIDC_AZ_CLIENT_ID] == NULL ||
	    strcmp(p->v[OIDC_AZ_CLIENT_ID], c->id) != 0) {
		return (*desc = "client_id is not the authenticated client", "invalid_request");
	}
	return oidc_az_check(app, cs, p, desc);
}

/* 201 {"request_uri": uri, "expires_in": ttl}. */
static int
par_created(struct http_req *req, const char *uri, int64_t ttl)
{
	json_t *o = json_pack("{s:s, s:I}", "request_uri", uri, "expires_in", (json_int_t)ttl);

	if (o == NULL)
		return YH_ERR_ALLOC;
	http_resp_no_store(req);
	return http_respond_json(req, 201, o);
}

static int
par_handler(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct oidc_client_auth ca;
	struct oidc_az_params p;
	struct clients_snap *cs;
	char uri[OIDC_PAR_URI_SIZE], url[CLIENTS_URI_MAX + 16];
	const char *error, *desc;
	int64_t ttl = oidc_lifetime(app, OIDC_LT_PAR);
	int r;

	memset(&p, 0, sizeof(p));
	uri[0] = '\0';
	http_resp_no_store(req);
	(void)clients_refresh_if_changed(app->clients);
	cs = clients_acquire(app->clients);
	snprintf(url, sizeof(url), "%s/par", app->issuer);
	if ((r = oidc_client_authenticate(req, app, cs, url, &ca)) != 0) {
		r = oidc_client_auth_fail(req, &ca, r);
		goto out;
	}
	if ((r = oidc_az_params_read(req, true, &p)) != 0)
		goto out;
	if ((error = par_check(app, cs, ca.client, &p, &desc)) != NULL) {
		yh_debug("par: client %s: %s (%s)", ca.client->id, error, desc);
		r = oidc_error(req, error, desc);
		goto out;
	}
	if (p.v[OIDC_AZ_CLIENT_ID] == NULL) {
		r = YH_ERR_ALLOC;
		goto out;
	}
	r = oidc_par_store(app, &p, ttl, uri);
	if (r == YH_ERR_TOO_LONG)
		r = oidc_error(req, "invalid_request", "the request is too large");
	else if (r == 0)
		r = par_created(req, uri, ttl);
out:
	yh_wipe(uri, sizeof(uri));
	oidc_az_params_clear(&p);
	clients_release(cs);
	return r;
}

static const struct http_route par_routes[] = {
	{ "POST", "/par", par_handler, HTTP_ROUTE_NO_STORE | HTTP_ROUTE_PREAUTH },
	{ NULL, NULL, NULL, 0 },
};

int
oidc_par_register(struct http_server *srv, struct authd_app *app)
{
	if (app == NULL || app->issuer == NULL || app->clients == NULL || app->sess == NULL)
		return YH_ERR_INVALID;
	return http_routes_add(srv, par_routes, app);
}
