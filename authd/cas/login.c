/*
 * GET /cas/login: the CAS entry point on the single sign-on session (the rules at the
 * top of authd/cas/cas.h). It finds the app by its service URL, asks for the session as
 * /authorize does (oidc_az_session), sends the browser to /login or the TOTP step-up and
 * back, and ends with a service ticket appended to the service URL, or with method=POST
 * with a page whose form POSTs the ticket to the service.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authcore/clients/clients.h"
#include "authd/app.h"
#include "authd/cas/cas.h"
#include "authd/keyd/keys.h"
#include "authd/login/login.h"
#include "authd/oidc/authorize.h"
#include "authd/oidc/oidc.h"
#include "authd/session/sess.h"
#include "authd/ui/csrf.h"
#include "authd/ui/pages.h"
#include "authd/ui/templates_gen.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/timeutil.h"

#define CL_MARK_SIZE OIDC_MARK_SIZE
#define CL_MARK_WINDOW 600            /* seconds a marker is honoured */
#define CL_LOCATION_MAX 16384

#define CL_POST_FORM_ID "yh-cas-post"
#define CL_POST_SCRIPT "document.getElementById(\"" CL_POST_FORM_ID "\").submit();"

enum { CL_SERVICE, CL_RENEW, CL_GATEWAY, CL_METHOD, CL_MARK, CL_NPARAMS };

static const struct {
	const char *name;
	size_t max;
} cl_params[CL_NPARAMS] = {
	[CL_SERVICE] = { "service", SESS_SERVICE_MAX },
	[CL_RENEW] = { "renew", 16 },
	[CL_GATEWAY] = { "gateway", 16 },
	[CL_METHOD] = { "method", 16 },
	[CL_MARK] = { "yh_reauth", CL_MARK_SIZE - 1 },
};

/* A /cas/login request being answered. */
struct cl_ctx {
	struct http_req *req;
	struct authd_app *app;
	const char *v[CL_NPARAMS];        /* NULL when absent */
	bool renew, gateway, post;
	const struct clients_client *client;
	int64_t now;
	char browser[CSRF_TOKEN_SIZE];    /* this browser's pre-session cookie */
};

/* A flag parameter: set when present, unless "false" (CAS sends "true"). */
static bool
flag_set(const char *v)
{
	return v != NULL && strcmp(v, "false") != 0;
}

/* The marker's MAC over the label, t, this browser (or, without its pre-session cookie,
 * sid: csrf_mark_binding), service and the flags (cas.h rule 4); YH_ERR_DENIED when
 * bound to neither. */
static int
cl_mark(const struct cl_ctx *c, int64_t t, const char *sid, char out[CL_MARK_SIZE])
{
	char ts[24], bind[CSRF_MARK_BINDING_SIZE];
	struct yh_buf b;
	int r;

	out[0] = '\0';
	if (!csrf_mark_binding(sid, c->browser, bind))
		return YH_ERR_DENIED;
	snprintf(ts, sizeof(ts), "%lld", (long long)t);
	yh_buf_init(&b, SESS_SERVICE_MAX + 256);
	if ((r = yh_buf_append(&b, CAS_MARK_LABEL, sizeof(CAS_MARK_LABEL))) == 0 &&
	    (r = yh_buf_append(&b, ts, strlen(ts) + 1)) == 0 &&
	    (r = yh_buf_append(&b, bind, strlen(bind) + 1)) == 0 &&
	    (r = yh_buf_append(&b, c->v[CL_SERVICE], strlen(c->v[CL_SERVICE]) + 1)) == 0 &&
	    (r = yh_buf_putc(&b, c->renew ? '1' : '0')) == 0 &&
	    (r = yh_buf_putc(&b, c->gateway ? '1' : '0')) == 0)
		r = oidc_mark_seal(c->app->keys, ts, &b, out);
	yh_buf_free(&b);
	return r;
}

/* True when the request's marker shows that si logged in after this request was sent
 * to the login page from this browser (its pre-session cookie: csrf_mark_binding), in
 * the session the detour was made from or in a new one. */
static bool
cl_mark_honoured(const struct cl_ctx *c, const struct sess_info *si)
{
	const char *m = c->v[CL_MARK], *dot;
	char want[CL_MARK_SIZE];
	uint64_t t;
	bool ok;

	if (m == NULL || (dot = strchr(m, '.')) == NULL ||
	    yh_span_u64((struct yh_span){ m, (size_t)(dot - m) }, 1, (uint64_t)c->now, &t) != 0 ||
	    c->now - (int64_t)t > CL_MARK_WINDOW || si->auth_time < (int64_t)t)
		return false;
	ok = cl_mark(c, (int64_t)t, si->sid, want) == 0 && yh_ct_streq(m, want);
	yh_wipe(want, sizeof(want));
	return ok;
}

/* "/cas/login?service=..[&renew=true][&gateway=true][&method=POST][&yh_reauth=mark]"
 * into *out. */
static int
cl_next(const struct cl_ctx *c, const char *mark, char **out)
{
	struct yh_buf b;
	int r;

	*out = NULL;
	yh_buf_init(&b, PAGE_NEXT_MAX);
	if ((r = yh_buf_puts(&b, "/cas/login")) == 0 &&
	    (r = oidc_url_param(&b, "service", c->v[CL_SERVICE])) == 0 &&
	    (r = oidc_url_param(&b, "renew", c->renew ? "true" : NULL)) == 0 &&
	    (r = oidc_url_param(&b, "gateway", c->gateway ? "true" : NULL)) == 0 &&
	    (r = oidc_url_param(&b, "method", c->post ? "POST" : NULL)) == 0 &&
	    (r = oidc_url_param(&b, "yh_reauth", mark)) == 0 &&
	    (*out = yh_buf_steal(&b)) == NULL)
		r = YH_ERR_ALLOC;
	yh_buf_free(&b);
	return r;
}

/* A detour to page (/login or /login/totp) and back here. */
static int
cl_detour(struct cl_ctx *c, const char *page, const char *sid, bool force, int loa)
{
	char mark[CL_MARK_SIZE], n[8], *next = NULL;
	struct yh_buf b;
	int r = 0;

	snprintf(n, sizeof(n), "%d", loa);
	yh_buf_init(&b, CL_LOCATION_MAX);
	if (strcmp(page, LOGIN_PATH) == 0)
		r = cl_mark(c, c->now, sid, mark);
	if (r == 0)
		r = cl_next(c, strcmp(page, LOGIN_PATH) == 0 ? mark : c->v[CL_MARK], &next);
	if (r == 0 && (r = yh_buf_puts(&b, page)) == 0 &&
	    (r = oidc_url_param(&b, "next", next)) == 0 &&
	    (r = oidc_url_param(&b, "force", force ? "1" : NULL)) == 0 &&
	    (r = oidc_url_param(&b, "loa", loa > 0 ? n : NULL)) == 0)
		r = http_respond_redirect(c->req, 302, yh_buf_cstr(&b));
	if (r == YH_ERR_TOO_LONG)
		r = page_error_send(c->req, 400, page_msg(page_lang_of(c->req),
		    PAGE_MSG_CAS_SERVICE), NULL, NULL);
	free(next);
	yh_buf_free(&b);
	return r;
}

/* method=POST: a page whose form POSTs the ticket to the service, sent by its one
 * script (allowed by its hash, page_script) or by its button where scripts do not run.
 * Its language switch comes back here for a new ticket in the other language. */
static int
cl_post_page(struct cl_ctx *c, const char *ticket)
{
	const struct tpl_layout_keep keep[] = {
		{ "service", c->v[CL_SERVICE] }, { "method", "POST" },
	};
	struct page p;

	page_init(&p, c->req, http_req_path(c->req));
	page_set_keep(&p, keep, sizeof(keep) / sizeof(keep[0]));
	page_begin(&p, page_msg(p.lang, PAGE_MSG_CAS_POST_TITLE));
	page_html(&p, "<p>%s</p>\n<form method=\"post\" action=\"%s\" id=\"" CL_POST_FORM_ID
	    "\">\n<input type=\"hidden\" name=\"ticket\" value=\"%s\">\n"
	    "<button type=\"submit\">%s</button>\n</form>\n",
	    page_msg(p.lang, PAGE_MSG_CAS_POST_TEXT), c->v[CL_SERVICE], ticket,
	    page_msg(p.lang, PAGE_MSG_CONTINUE));
	page_script(&p, CL_POST_SCRIPT);
	return page_send(&p, c->req, 200);
}

/* 302 to the service, with a ticket when ticket is not NULL; with method=POST a ticket
 * goes by the form of cl_post_page instead. */
static int
cl_to_service(struct cl_ctx *c, const char *ticket)
{
	struct yh_buf b;
	int r;

	if (ticket != NULL && c->post)
		return cl_post_page(c, ticket);
	yh_buf_init(&b, CL_LOCATION_MAX);
	if ((r = yh_buf_puts(&b, c->v[CL_SERVICE])) == 0 &&
	    (r = oidc_url_param(&b, "ticket", ticket)) == 0)
		r = http_respond_redirect(c->req, 302, yh_buf_cstr(&b));
	yh_buf_free(&b);
	return r;
}

/* Rule 6: the app on the session, the ticket, the redirect. */
static int
cl_issue(struct cl_ctx *c, const struct sess_info *si, bool renewed)
{
	const struct authd_cfg *cfg = c->app->cfg;
	struct sess_ticket t;
	char st[SESS_TICKET_SIZE];
	int r;

	memset(&t, 0, sizeof(t));
	if (yh_strlcpy(t.service, c->v[CL_SERVICE], sizeof(t.service)) != 0 ||
	    yh_strlcpy(t.client_id, c->client->id, sizeof(t.client_id)) != 0 ||
	    yh_strlcpy(t.uid, si->uid, sizeof(t.uid)) != 0 ||
	    yh_strlcpy(t.sid, si->sid, sizeof(t.sid)) != 0)
		return YH_ERR_INVALID;
	t.auth_time = si->auth_time;
	t.loa = si->loa;
	t.renewed = renewed;
	r = sess_add_client(c->app->sess, si->key, c->client->id);
	if (r == YH_ERR_LIMIT)
		yh_warn("session %s: too many apps to record %s for logout", si->sid,
		    c->client->id);
	else if (r != 0)
		return r;
	r = sess_ticket_new(c->app->sess, &t, cfg != NULL ? cfg->cas_ticket_lifetime :
	    authd_cfg_builtin()->cas_ticket_lifetime, st);
	/* the session remembers the ticket for single logout (sess.h, sess_add_cas_ticket) */
	if (r == 0 && (r = sess_add_cas_ticket(c->app->sess, si->key, st, c->client->id,
	    c->v[CL_SERVICE])) == YH_ERR_LIMIT) {
		yh_warn("session %s: too many CAS tickets to record one for %s for single "
		    "logout", si->sid, c->client->id);
		r = 0;
	}
	if (r == 0)
		r = cl_to_service(c, st);
	yh_wipe(st, sizeof(st));
	return r;
}

/* Rules 3 to 6 for a request whose service belongs to c->client. */
static int
cl_flow(struct cl_ctx *c)
{
	struct sess_info si;
	bool have, can, refused, renewed = false;
	int person_loa, r;

	memset(&si, 0, sizeof(si));
	if ((r = oidc_az_session(c->app, page_cookie(c->req, LOGIN_SID_COOKIE), &si, &have,
	    &person_loa)) != 0)
		return r;
	if (!have)
		return c->gateway && !c->renew ? cl_to_service(c, NULL) :
		    cl_detour(c, LOGIN_PATH, "", c->renew, 0);
	if (c->renew) {
		if (!cl_mark_honoured(c, &si))
			return cl_detour(c, LOGIN_PATH, si.sid, true, 0);
		renewed = true;
	}
	if (si.loa < c->client->min_loa) {
		if ((r = oidc_az_can_step_up(c->app, &si, person_loa, c->client->min_loa,
		    &can)) != 0)
			return r;
		if (!can)
			return page_error_send(c->req, 403, page_msg(page_lang_of(c->req),
			    PAGE_MSG_CAS_LOA), NULL, NULL);
		return cl_detour(c, LOGIN_TOTP_PATH, si.sid, false, c->client->min_loa);
	}
	if ((r = oidc_legacy_refused(c->app->dir, c->client, si.uid, &refused)) != 0)
		return r;
	if (refused)
		return page_error_send(c->req, 403, page_msg(page_lang_of(c->req),
		    PAGE_MSG_LEGACY_REQUIRED), NULL, NULL);
	r = cl_issue(c, &si, renewed);
	if (r == YH_ERR_NOT_FOUND)  /* the session ended meanwhile */
		return cl_detour(c, LOGIN_PATH, "", c->renew, 0);
	return r;
}

static int
cas_login_handler(struct http_req *req, void *arg)
{
	struct cl_ctx c;
	struct clients_snap *cs;
	int r;

	memset(&c, 0, sizeof(c));
	c.req = req;
	c.app = arg;
	c.now = yh_now();
	for (unsigned i = 0; i < CL_NPARAMS; i++) {
		r = http_req_query(req, cl_params[i].name, cl_params[i].max, &c.v[i]);
		if (r == YH_ERR_NOT_FOUND)
			c.v[i] = NULL;
		else if (r != 0)
			return page_error_send(req, 400, page_msg(page_lang_of(req),
			    PAGE_MSG_CAS_SERVICE), NULL, NULL);
	}
	c.renew = flag_set(c.v[CL_RENEW]);
	c.gateway = flag_set(c.v[CL_GATEWAY]);
	if (c.v[CL_METHOD] != NULL && strcasecmp(c.v[CL_METHOD], "GET") != 0 &&
	    strcasecmp(c.v[CL_METHOD], "POST") != 0)
		return page_error_send(req, 400, page_msg(page_lang_of(req), PAGE_MSG_CAS_METHOD),
		    NULL, NULL);
	c.post = c.v[CL_METHOD] != NULL && strcasecmp(c.v[CL_METHOD], "POST") == 0;
	if (c.v[CL_SERVICE] == NULL)
		return http_respond_redirect(req, 302, LOGIN_NEXT_DEFAULT);
	/* A marker made without a session is bound to this cookie: it must be there, also
	 * for the login page this may send the browser to. */
	if ((r = csrf_browser(req, c.browser)) != 0)
		return page_failure_send(req, r);
	(void)clients_refresh_if_changed(c.app->clients);
	cs = clients_acquire(c.app->clients);
	if ((c.client = clients_cas_find(cs, c.v[CL_SERVICE])) == NULL) {
		yh_debug("cas/login: no app registers this service");
		r = page_error_send(req, 400, page_msg(page_lang_of(req), PAGE_MSG_CAS_SERVICE),
		    NULL, NULL);
	} else if (c.client->disabled) {
		r = page_error_send(req, 403, page_msg(page_lang_of(req),
		    PAGE_MSG_AZ_CLIENT_DISABLED), NULL, NULL);
	} else if ((r = cl_flow(&c)) != 0) {
		r = page_failure_send(req, r);
	}
	clients_release(cs);
	yh_wipe(c.browser, sizeof(c.browser));   /* what the login form's tokens are bound to */
	return r;
}

static const struct http_route cas_login_routes[] = {
	{ "GET", "/cas/login", cas_login_handler, HTTP_ROUTE_NO_STORE },
	{ NULL, NULL, NULL, 0 },
};

int
cas_login_register(struct http_server *srv, struct authd_app *app)
{
	return http_routes_add(srv, cas_login_routes, app);
}
