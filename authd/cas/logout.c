/*
 * GET /cas/logout[?service=URL]: ends the single sign-on session through the OpenID
 * Connect logout's own path (oidc_lo_run, as confirmed), so that the audit line, the
 * session store's ENDED event and with it the back-channel logout and CAS single logout
 * are the same whichever protocol the person logs out through (rules in cas.h).
 */
#include <stdlib.h>
#include <string.h>

#include "authcore/clients/clients.h"
#include "authd/app.h"
#include "authd/cas/cas.h"
#include "authd/login/login.h"
#include "authd/oidc/authorize.h"
#include "authd/session/sess.h"
#include "authd/ui/pages.h"
#include "common/log.h"

/* *client gets the id of the app that registers service ("" when none or no service). */
static void
lo_service_client(struct authd_app *app, const char *service, char *client, size_t size)
{
	struct clients_snap *cs;
	const struct clients_client *c;

	client[0] = '\0';
	if (service == NULL)
		return;
	(void)clients_refresh_if_changed(app->clients);
	cs = clients_acquire(app->clients);
	if ((c = clients_cas_find(cs, service)) == NULL ||
	    yh_strlcpy(client, c->id, size) != 0)
		client[0] = '\0';
	clients_release(cs);
}

static int
cas_logout_handler(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct oidc_lo_params p;
	struct oidc_lo_result res;
	char client[CLIENTS_ID_MAX + 1];
	const char *service = NULL;
	enum page_lang l = page_lang_of(req);
	int r;

	memset(&res, 0, sizeof(res));
	r = http_req_query(req, "service", SESS_SERVICE_MAX, &service);
	if (r == YH_ERR_NOT_FOUND)
		service = NULL;
	else if (r != 0)
		return page_error_send(req, 400, page_msg(l, PAGE_MSG_CAS_SERVICE), NULL, NULL);
	lo_service_client(app, service, client, sizeof(client));
	memset(&p, 0, sizeof(p));
	p.client_id = client;
	p.confirmed = true;      /* CAS logout asks nothing (cas.h) */
	if ((r = oidc_lo_run(app, &p, page_cookie(req, LOGIN_SID_COOKIE), &res)) != 0)
		return page_failure_send(req, r);
	if ((r = page_set_cookie(req, LOGIN_SID_COOKIE, "", -1, http_req_is_https(req))) != 0)
		goto out;
	if (client[0] != '\0') {
		r = http_respond_redirect(req, 302, service);
		goto out;
	}
	if (service != NULL)
		yh_debug("cas/logout: no app registers this service: the logged-out page");
	r = page_done_send(req, 200, page_msg(l, PAGE_MSG_LOGOUT_DONE_TITLE),
	    page_msg(l, PAGE_MSG_LOGOUT_DONE_TEXT), LOGIN_PATH,
	    page_msg(l, PAGE_MSG_LOGOUT_DONE_LINK));
out:
	oidc_lo_result_clear(&res);
	return r;
}

static const struct http_route cas_logout_routes[] = {
	{ "GET", "/cas/logout", cas_logout_handler, HTTP_ROUTE_NO_STORE },
	{ NULL, NULL, NULL, 0 },
};

int
cas_logout_register(struct http_server *srv, struct authd_app *app)
{
	return http_routes_add(srv, cas_logout_routes, app);
}
