/*
 * GET and POST /logout: OpenID Connect RP-Initiated Logout 1.0. Ends the browser's
 * session (the session store's ENDED event then sends the back-channel logout tokens:
 * authd/oidc/backchannel.h), clears the session cookie, writes the audit line "logout", and sends the
 * browser back to the app only when the post_logout_redirect_uri is registered for the
 * client the request identifies (through client_id or the id_token_hint's aud): any
 * other URI gets the "logged out" page instead, never a redirect (no open redirect).
 *
 * An id_token_hint that does not verify (not signed by our keys, another issuer, not an
 * ID token, its aud not a registered client) is not acted on: no session ends, no
 * redirect, a 400 error page says so (section 4 of the spec). An expired one is fine.
 *
 * A live session ends without asking only when the id_token_hint was issued in it: its
 * sid is the session's and its sub the pairwise sub of the session's person for the
 * hint's client (an expired hint is fine for that, section 4). Otherwise (no hint, a
 * hint of another person or another session, a malformed request) the person confirms
 * on our page first (sections 2 and 3): a link planted on any site reaches /logout with
 * the browser's cookie (SameSite=Lax lets a top-level GET through), and anyone can get
 * an ID token of their own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "authcore/audit/audit.h"
#include "authcore/clients/clients.h"
#include "authd/ui/csrf.h"
#include "authd/login/login.h"
#include "authd/oidc/oidc.h"
#include "authd/oidc/authorize.h"
#include "authd/ui/pages.h"
#include "authd/ui/templates_gen.h"
#include "authd/app.h"
#include "authd/session/sess.h"
#include "common/log.h"
#include "common/secmem.h"
#include "token/jws.h"
#include "token/jwt.h"
#include "token/keyring.h"

#define LO_LOCATION_MAX 8192

void
oidc_lo_result_clear(struct oidc_lo_result *r)
{
	if (r == NULL)
		return;
	free(r->location);
	memset(r, 0, sizeof(*r));
}

/*
 * The client an ID token was issued to: its aud when it is one string (or an array of
 * one), else its azp when aud lists it. NULL when it names none.
 */
static const char *
hint_client(const json_t *claims)
{
	const json_t *aud = json_object_get(claims, "aud");
	const json_t *azp = json_object_get(claims, "azp");
	size_t i;
	json_t *v;

	if (json_is_string(aud))
		return json_string_value(aud);
	if (!json_is_array(aud))
		return NULL;
	if (json_array_size(aud) == 1 && json_is_string(json_array_get(aud, 0)))
		return json_string_value(json_array_get(aud, 0));
	if (!json_is_string(azp))
		return NULL;
	json_array_foreach(aud, i, v) {
		if (json_is_string(v) && strcmp(json_string_value(v), json_string_value(azp)) == 0)
			return json_string_value(azp);
	}
	return NULL;
}

/* What a verified id_token_hint says ("" for a claim it lacks or that does not fit). */
struct lo_hint {
	char client[CLIENTS_ID_MAX + 1];  /* its aud (or azp) */
	char sub[OIDC_SUB_SIZE];
	char sid[SESS_PUBID_SIZE];
};

/* Copies the string claim name of claims into out, or "" when absent or too long. */
static void
hint_claim(const json_t *claims, const char *name, char *out, size_t outsz)
{
	const json_t *v = json_object_get(claims, name);

	if (!json_is_string(v) || yh_strlcpy(out, json_string_value(v), outsz) != 0)
		out[0] = '\0';
}

/* True when client is in the registry. */
static bool
client_known(struct authd_app *app, const char *client)
{
	struct clients_snap *cs;
	bool known;

	(void)clients_refresh_if_changed(app->clients);
	cs = clients_acquire(app->clients);
	known = clients_find(cs, client) != NULL;
	clients_release(cs);
	return known;
}

/*
 * Verifies an id_token_hint: signed by one of our published keys (the ring's, with the
 * other nodes' on a shared directory), an ID token (typ), our issuer, its aud a
 * registered client, and well-formed. Expiry does not matter: the time rules are applied
 * as of the token's own iat. On success *h says what it names. Returns 0 or the reason
 * it is not acceptable (logged).
 */
static int
verify_hint(struct authd_app *app, const char *hint, struct lo_hint *h)
{
	struct tok_ring_snap *snap = tok_ring_acquire(app->ring);
	struct tok_jws jws;
	struct tok_check chk;
	json_t *claims = NULL;
	const json_t *typ, *iat;
	const char *aud;
	char why[160] = "";
	int r;

	memset(h, 0, sizeof(*h));
	memset(&jws, 0, sizeof(jws));
	if ((r = tok_jws_verify(hint, strlen(hint), tok_snap_keyset(snap), tok_snap_algs(snap),
	    &jws)) != 0)
		goto out;
	claims = json_loadb((const char *)jws.payload, jws.payload_len, JSON_REJECT_DUPLICATES,
	    NULL);
	iat = json_object_get(claims, "iat");
	if (!json_is_object(claims) || !json_is_integer(iat) ||
	    (aud = hint_client(claims)) == NULL) {
		r = YH_ERR_INVALID;
		goto out;
	}
	typ = json_object_get(jws.header, "typ");
	memset(&chk, 0, sizeof(chk));
	chk.kind = TOK_KIND_ID;
	chk.iss = app->issuer;
	chk.aud = aud;
	chk.now = json_integer_value(iat);
	if ((r = tok_claims_check(claims, json_is_string(typ) ? json_string_value(typ) : NULL,
	    jws.alg, &chk, why, sizeof(why))) != 0)
		goto out;
	if ((r = yh_strlcpy(h->client, aud, sizeof(h->client))) != 0)
		goto out;
	if (!client_known(app, h->client)) {
		snprintf(why, sizeof(why), "aud %.64s is not a registered client", h->client);
		r = YH_ERR_INVALID;
		goto out;
	}
	hint_claim(claims, "sub", h->sub, sizeof(h->sub));
	hint_claim(claims, "sid", h->sid, sizeof(h->sid));
out:
	if (r != 0) {
		yh_info("logout: id_token_hint refused (%s%s%s): nothing done", yh_errname(r),
		    why[0] != '\0' ? ": " : "", why);
		memset(h, 0, sizeof(*h));
	}
	json_decref(claims);
	tok_jws_clear(&jws);
	tok_snap_release(snap);
	return r;
}

/*
 * True when the verified hint h was issued in session si: the same sid, and the sub the
 * session's person has at the hint's client (pairwise, by the client's sector).
 */
static bool
hint_is_session(struct authd_app *app, const struct lo_hint *h, const struct sess_info *si)
{
	struct clients_snap *cs;
	const struct clients_client *c;
	char sub[OIDC_SUB_SIZE];
	bool same = false;

	if (h->sid[0] == '\0' || strcmp(h->sid, si->sid) != 0 || h->sub[0] == '\0')
		return false;
	(void)clients_refresh_if_changed(app->clients);
	cs = clients_acquire(app->clients);
	if ((c = clients_find(cs, h->client)) != NULL &&
	    oidc_pairwise_sub(app->keys, app->dir, oidc_client_sector(c), si->uid,
	    sub) == 0)
		same = strcmp(sub, h->sub) == 0;
	clients_release(cs);
	return same;
}

/* The post-logout redirect, when the URI is registered for client; else *out NULL. */
static int
lo_location(struct authd_app *app, const char *client, const struct oidc_lo_params *p,
    char **out)
{
	struct clients_snap *cs;
	const struct clients_client *c;
	struct yh_buf b;
	int r = 0;

	*out = NULL;
	if (client[0] == '\0' || p->post_logout_redirect_uri == NULL)
		return 0;
	(void)clients_refresh_if_changed(app->clients);
	cs = clients_acquire(app->clients);
	c = clients_find(cs, client);
	if (c != NULL && clients_post_logout_redirect_ok(c, p->post_logout_redirect_uri)) {
		yh_buf_init(&b, LO_LOCATION_MAX);
		if ((r = yh_buf_puts(&b, p->post_logout_redirect_uri)) == 0 &&
		    (r = oidc_url_param(&b, "state", p->state)) == 0 &&
		    (*out = yh_buf_steal(&b)) == NULL)
			r = YH_ERR_ALLOC;
		yh_buf_free(&b);
	} else {
		yh_debug("logout: post_logout_redirect_uri not registered for client %s", client);
	}
	clients_release(cs);
	return r;
}

static int
lo_audit(struct authd_app *app, const struct sess_info *ended, const char *client,
    bool hint_ok)
{
	char actor[SESS_UID_MAX + 8];
	json_t *f;
	int r;

	snprintf(actor, sizeof(actor), "user:%s", ended->uid);
	f = json_pack("{s:s, s:s, s:b, s:i}", "sid", ended->sid, "client", client,
	    "id_token_hint", hint_ok, "clients", (int)ended->nclients);
	if (f == NULL)
		return YH_ERR_ALLOC;
	r = yh_audit_write(app->audit, "logout", actor, f);
	json_decref(f);
	return r;
}

/*
 * The session the cookie names: 0 with *live set (and *si) or not, or the store's
 * error (YH_ERR_UNAVAILABLE).
 */
static int
lo_session(struct authd_app *app, const char *sid_cookie, struct sess_info *si, bool *live)
{
	int r;

	*live = false;
	if (sid_cookie == NULL || sid_cookie[0] == '\0')
		return 0;
	r = sess_get(app->sess, sid_cookie, 0, si);
	if (r == YH_ERR_NOT_FOUND || r == YH_ERR_EXPIRED)
		return 0;
	*live = r == 0;
	return r;
}

int
oidc_lo_run(struct authd_app *app, const struct oidc_lo_params *p, const char *sid_cookie,
    struct oidc_lo_result *res)
{
	struct sess_info ended, si;
	struct lo_hint h;
	bool live = false;
	int r;

	memset(res, 0, sizeof(*res));
	memset(&ended, 0, sizeof(ended));
	memset(&h, 0, sizeof(h));
	if (p->id_token_hint != NULL && p->id_token_hint[0] != '\0') {
		res->hint_ok = verify_hint(app, p->id_token_hint, &h) == 0;
		/* a hint that does not verify is not acted on (RP-Initiated Logout 1.0,
		 * section 4): no session ended, no redirect, an error page */
		if (!res->hint_ok) {
			res->hint_bad = true;
			return 0;
		}
	}
	if (p->client_id != NULL && p->client_id[0] != '\0') {
		/* A client_id that disagrees with the hint identifies nobody. */
		if (res->hint_ok && strcmp(h.client, p->client_id) != 0)
			h.client[0] = '\0';
		else if (!res->hint_ok && yh_strlcpy(h.client, p->client_id, sizeof(h.client)) != 0)
			h.client[0] = '\0';
	}
	if (p->bad)
		h.client[0] = '\0';
	snprintf(res->client_id, sizeof(res->client_id), "%s", h.client);

	if ((r = lo_session(app, sid_cookie, &si, &live)) != 0)
		goto out;
	if (live && !p->confirmed &&
	    !(res->hint_ok && !p->bad && hint_is_session(app, &h, &si))) {
		res->confirm = true;     /* nothing ended: the person decides */
		goto out;
	}
	if (live) {
		r = sess_end_token(app->sess, sid_cookie, SESS_END_LOGOUT, &ended);
		if (r == 0) {
			res->ended = true;
			memcpy(res->sid, ended.sid, sizeof(res->sid));
		}
		else if (r != YH_ERR_NOT_FOUND && r != YH_ERR_EXPIRED)
			goto out;
	}
	if (res->ended && (r = lo_audit(app, &ended, h.client, res->hint_ok)) != 0) {
		yh_error("logout: the audit line could not be written: %s", yh_strerror(r));
		goto out;
	}
	r = lo_location(app, h.client, p, &res->location);
out:
	if (r != 0)
		oidc_lo_result_clear(res);
	return r;
}

/* ---- HTTP ------------------------------------------------------------------------ */

struct lo_raw {
	char *hint, *client_id, *uri, *state, *ui_locales;
};

static void
lo_raw_free(struct lo_raw *w)
{
	free(w->hint);
	free(w->client_id);
	free(w->uri);
	free(w->state);
	free(w->ui_locales);
}

/* Reads one parameter; a repeated, over-long or malformed one sets p->bad. */
static int
lo_read(struct http_req *req, bool post, const char *name, size_t max, char **out,
    struct oidc_lo_params *p)
{
	int r = oidc_req_param(req, post, name, max, out);

	if (r == YH_ERR_ALLOC)
		return r;
	if (r != 0 && r != YH_ERR_NOT_FOUND)
		p->bad = true;
	return 0;
}

static int
lo_params(struct http_req *req, struct lo_raw *w, struct oidc_lo_params *p)
{
	bool post = strcmp(http_req_method(req), "POST") == 0;
	int r;

	memset(w, 0, sizeof(*w));
	memset(p, 0, sizeof(*p));
	if ((r = lo_read(req, post, "id_token_hint", OIDC_LO_HINT_MAX, &w->hint, p)) != 0 ||
	    (r = lo_read(req, post, "client_id", CLIENTS_ID_MAX, &w->client_id, p)) != 0 ||
	    (r = lo_read(req, post, "post_logout_redirect_uri", CLIENTS_URI_MAX, &w->uri,
	    p)) != 0 ||
	    (r = lo_read(req, post, "state", OIDC_NONCE_MAX, &w->state, p)) != 0 ||
	    (r = lo_read(req, post, "ui_locales", 64, &w->ui_locales, p)) != 0)
		return r;
	p->id_token_hint = w->hint;
	p->client_id = w->client_id;
	p->post_logout_redirect_uri = w->uri;
	p->state = w->state;
	p->ui_locales = w->ui_locales;
	return 0;
}

/* What the confirmation's CSRF token is bound to: the live session (its key, in si),
 * or NULL when the cookie names none (the pre-session cookie then). */
static const char *
lo_csrf_binding(struct authd_app *app, struct http_req *req, struct sess_info *si)
{
	return login_session_of(req, app, 0, si) == 0 ? si->key : NULL;
}

/*
 * The confirmation page: a POST form back to /logout with the request's parameters, the
 * client named by client (the one the request identified, through client_id or the
 * hint) instead of the request's client_id and hint.
 */
static int
lo_confirm_page(struct http_req *req, struct authd_app *app, const struct oidc_lo_params *p,
    const char *client)
{
	char csrf[CSRF_TOKEN_SIZE];
	struct sess_info si;
	struct tpl_logout v;
	struct page pg;
	int r;

	if ((r = csrf_prepare(req, app->keys, "logout", lo_csrf_binding(app, req, &si),
	    csrf)) != 0)
		return r;
	v = (struct tpl_logout){
		.csrf = csrf, .client_id = client,
		.post_logout_redirect_uri = p->post_logout_redirect_uri,
		.state = p->state, .ui_locales = p->ui_locales,
	};
	page_init(&pg, req, "/logout");
	page_begin(&pg, page_msg(pg.lang, PAGE_MSG_LOGOUT));
	tpl_logout_render(&pg, &v);
	r = page_send(&pg, req, 200);
	yh_wipe(csrf, sizeof(csrf));
	return r;
}

/*
 * Reads the confirming POST's confirm=1: *asked set when it is there, p->confirmed when
 * its CSRF token is right too. 0, or an error of csrf_verify other than YH_ERR_DENIED.
 */
static int
lo_confirmation(struct http_req *req, struct authd_app *app, struct oidc_lo_params *p,
    bool *asked)
{
	struct sess_info si;
	char *confirm = NULL;
	int r = 0;

	*asked = false;
	if (strcmp(http_req_method(req), "POST") == 0 &&
	    oidc_req_param(req, true, "confirm", 8, &confirm) == 0 && strcmp(confirm, "1") == 0) {
		*asked = true;
		r = csrf_verify(req, app->keys, "logout", lo_csrf_binding(app, req, &si));
		p->confirmed = r == 0;
		if (r == YH_ERR_DENIED)
			r = 0;
	}
	free(confirm);
	return r;
}

static int
logout_handler(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct oidc_lo_params p;
	struct oidc_lo_result res;
	struct lo_raw w;
	enum page_lang l;
	char *up = NULL;
	bool asked = false;
	int r;

	memset(&res, 0, sizeof(res));
	if ((r = lo_params(req, &w, &p)) != 0 || (r = lo_confirmation(req, app, &p, &asked)) != 0)
		goto out;
	if ((r = oidc_lo_run(app, &p, page_cookie(req, LOGIN_SID_COOKIE), &res)) != 0)
		goto out;
	if (res.hint_bad) {
		l = page_lang_of(req);
		r = page_error_send(req, 400, page_msg(l, PAGE_MSG_LOGOUT_BAD_HINT), LOGIN_PATH,
		    page_msg(l, PAGE_MSG_CONTINUE));
		goto out;
	}
	if (res.confirm) {
		/* a confirming POST whose CSRF token is wrong is refused, not asked again */
		r = asked ? csrf_respond_rejected(req) : lo_confirm_page(req, app, &p, res.client_id);
		goto out;
	}
	if ((r = page_set_cookie(req, LOGIN_SID_COOKIE, "", -1, http_req_is_https(req))) != 0)
		goto out;
	/* A session an upstream with logout = propagate opened: on to its end_session. */
	if (res.ended && (r = login_upstream_logout_url(app, res.sid, &up)) != 0)
		goto out;
	if (up != NULL) {
		r = http_respond_redirect(req, 302, up);
		goto out;
	}
	if (res.location != NULL) {
		r = http_respond_redirect(req, 302, res.location);
		goto out;
	}
	l = page_lang_of(req);
	r = page_done_send(req, 200, page_msg(l, PAGE_MSG_LOGOUT_DONE_TITLE),
	    page_msg(l, PAGE_MSG_LOGOUT_DONE_TEXT), LOGIN_PATH,
	    page_msg(l, PAGE_MSG_LOGOUT_DONE_LINK));
out:
	free(up);
	oidc_lo_result_clear(&res);
	lo_raw_free(&w);
	return r;
}

static const struct http_route logout_routes[] = {
	{ "GET", "/logout", logout_handler, HTTP_ROUTE_NO_STORE },
	{ "POST", "/logout", logout_handler, HTTP_ROUTE_NO_STORE | HTTP_ROUTE_PREAUTH },
	{ NULL, NULL, NULL, 0 },
};

int
oidc_logout_register(struct http_server *srv, struct authd_app *app)
{
	if (app == NULL || app->issuer == NULL || app->ring == NULL || app->clients == NULL ||
	    app->sess == NULL || app->audit == NULL)
		return YH_ERR_INVALID;
	return http_routes_add(srv, logout_routes, app);
}
