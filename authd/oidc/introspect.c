/*
 * POST /introspect (RFC 7662) and POST /revoke (RFC 7009).
 *
 * Both take a token of ours: an access token (a JWT: anything with a '.') or a refresh
 * token (43 base64url characters). A client sees only its own tokens: another client's
 * token is "inactive" at /introspect and left alone at /revoke (200 either way, so a
 * client cannot probe other clients' tokens). Introspection needs a confidential client
 * (secret or private_key_jwt); revocation accepts public clients too (RFC 7009 5).
 *
 * /revoke answers CORS for a public client's origins (oidc_cors_named); /introspect,
 * for confidential clients only, never does.
 *
 * Revoking a refresh token revokes its whole family and the access tokens issued from it
 * (oidc_family_revoke); revoking an access token records its jti in the session store
 * until the token expires. /userinfo and /introspect refuse what was revoked.
 */
#include "authd/oidc/token.h"

#include <string.h>

#include "authcore/audit/audit.h"
#include "authd/oidc/oidc.h"
#include "authd/app.h"
#include "authd/session/sess.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/timeutil.h"
#include "token/jws.h"
#include "token/jwt.h"
#include "token/keyring.h"

/* One request to either endpoint. */
struct ireq {
	struct authd_app *app;
	struct http_req *req;
	struct clients_snap *snap;
	struct tok_ring_snap *ring;
	struct oidc_client_auth ca;
	char *token;
};

static void
ireq_clear(struct ireq *q)
{
	tok_snap_release(q->ring);
	clients_release(q->snap);
	yh_strfree_secret(q->token);
	memset(q, 0, sizeof(*q));
}

/*
 * Common start: client authentication against endpoint, then the token parameter.
 * Returns 0 (go on, unless a refusal was answered: http_req_answered) or a negative
 * error.
 */
static int
ireq_start(struct ireq *q, const char *endpoint, bool confidential)
{
	char url[CLIENTS_URI_MAX + 32];
	int r;

	http_resp_no_store(q->req);
	(void)clients_refresh_if_changed(q->app->clients);
	q->snap = clients_acquire(q->app->clients);
	snprintf(url, sizeof(url), "%s%s", q->app->issuer, endpoint);
	if ((r = oidc_client_authenticate(q->req, q->app, q->snap, url, &q->ca)) != 0)
		return oidc_client_auth_fail(q->req, &q->ca, r);
	if (confidential && q->ca.method == OIDC_AUTH_PUBLIC)
		return oidc_error_client(q->req, false, "this endpoint needs client authentication");
	r = http_req_form(q->req, "token", TOK_JWS_MAX, &q->token);
	if (r == YH_ERR_ALLOC)
		return r;
	if (r != 0)
		return oidc_error(q->req, "invalid_request", "token missing or malformed");
	q->ring = tok_ring_acquire(q->app->ring);
	return 0;
}

static int
respond_inactive(struct http_req *req)
{
	return http_respond_json(req, 200, json_pack("{s:b}", "active", 0));
}

/* Writes token.revoke. */
static int
audit_revoke(struct ireq *q, const char *kind, const char *uid, const char *id)
{
	char actor[CLIENTS_ID_MAX + 8];
	json_t *f;
	int r;

	snprintf(actor, sizeof(actor), "client:%s", q->ca.client->id);
	if ((f = json_pack("{s:s, s:s}", "token_type", kind, "id", id)) == NULL)
		return YH_ERR_ALLOC;
	if (uid != NULL && uid[0] != '\0' && json_object_set_new(f, "uid", json_string(uid)) != 0) {
		json_decref(f);
		return YH_ERR_ALLOC;
	}
	r = yh_audit_write(q->app->audit, "token.revoke", actor, f);
	json_decref(f);
	return r;
}

/* ---- introspection ------------------------------------------------------------------ */

/* Introspects an access token. */
static int
introspect_access(struct ireq *q)
{
	static const char *const copy[] = { "scope", "client_id", "sub", "exp", "iat", "nbf",
		"iss", "aud", "jti", "auth_time", "acr", "amr", "sid" };
	const char *client_id = NULL;
	char uid[SESS_UID_MAX + 1];
	struct tok_jwt jwt;
	json_t *o = NULL, *v;
	size_t i;
	int r;

	memset(&jwt, 0, sizeof(jwt));
	r = oidc_at_check(q->app, q->token, q->ring, &jwt, &client_id, uid, sizeof(uid));
	if (r == YH_ERR_AUTH || (r == 0 && strcmp(client_id, q->ca.client->id) != 0)) {
		r = respond_inactive(q->req);
		goto out;
	}
	if (r != 0)
		goto out;
	if ((o = json_pack("{s:b, s:s}", "active", 1, "token_type", "Bearer")) == NULL) {
		r = YH_ERR_ALLOC;
		goto out;
	}
	for (i = 0; i < sizeof(copy) / sizeof(copy[0]); i++)
		if ((v = json_object_get(jwt.claims, copy[i])) != NULL &&
		    json_object_set(o, copy[i], v) != 0) {
			r = YH_ERR_ALLOC;
			goto out;
		}
	r = http_respond_json(q->req, 200, o);
	o = NULL;
out:
	json_decref(o);
	tok_jwt_clear(&jwt);
	return r;
}

/* Introspects a refresh token. */
static int
introspect_refresh(struct ireq *q)
{
	const struct clients_client *c = q->ca.client;
	char sub[OIDC_SUB_SIZE], acr[OIDC_ACR_SIZE], *payload = NULL;
	struct sess_family fam;
	struct oidc_grant g;
	json_t *o = NULL;
	int r;

	memset(&g, 0, sizeof(g));
	r = sess_refresh_peek(q->app->sess, q->token, &fam, &payload);
	if (r == YH_ERR_NOT_FOUND || r == YH_ERR_DENIED || r == YH_ERR_INVALID ||
	    (r == 0 && strcmp(fam.client_id, c->id) != 0)) {
		r = respond_inactive(q->req);
		goto out;
	}
	if (r != 0)
		goto out;
	if (oidc_grant_parse(payload, &g) != 0 ||
	    (r = oidc_subject_active(q->app->dir, g.uid)) == YH_ERR_DENIED) {
		r = respond_inactive(q->req);   /* no refresh would be answered for it */
		goto out;
	}
	if (r != 0)
		goto out;
	if (!g.offline && g.sid != NULL) {
		r = oidc_sid_alive(q->app->sess, g.uid, g.sid);
		if (r == YH_ERR_NOT_FOUND) {
			r = respond_inactive(q->req);
			goto out;
		}
		if (r != 0)
			goto out;
	}
	if ((r = oidc_pairwise_sub(q->app->keys, q->app->dir, oidc_client_sector(c), g.uid,
	    sub)) != 0 ||
	    (r = oidc_acr_format(g.loa, acr)) != 0)
		goto out;
	if ((o = json_pack("{s:b, s:s, s:s, s:s, s:s, s:s, s:I}", "active", 1, "token_type",
	    "refresh_token", "client_id", c->id, "sub", sub, "iss", q->app->issuer, "scope",
	    g.scope, "auth_time", (json_int_t)g.auth_time)) == NULL ||
	    json_object_set_new(o, "acr", json_string(acr)) != 0 ||
	    (g.exp != 0 && json_object_set_new(o, "exp", json_integer(g.exp)) != 0) ||
	    (g.sid != NULL && !g.offline && json_object_set_new(o, "sid", json_string(g.sid)) != 0)) {
		r = YH_ERR_ALLOC;
		goto out;
	}
	r = http_respond_json(q->req, 200, o);
	o = NULL;
out:
	json_decref(o);
	free(payload);
	oidc_grant_clear(&g);
	return r;
}

static int
introspect_handler(struct http_req *req, void *arg)
{
	struct ireq q;
	int r;

	memset(&q, 0, sizeof(q));
	q.app = arg;
	q.req = req;
	if ((r = ireq_start(&q, "/introspect", true)) != 0 || http_req_answered(req))
		goto out;
	if (strchr(q.token, '.') != NULL)
		r = introspect_access(&q);
	else
		r = introspect_refresh(&q);
out:
	ireq_clear(&q);
	return r;
}

/* ---- revocation --------------------------------------------------------------------- */

static int
revoke_access(struct ireq *q)
{
	const char *client_id = NULL, *jti;
	char uid[SESS_UID_MAX + 1];
	struct tok_jwt jwt;
	const json_t *exp;
	int64_t ttl;
	int r;

	memset(&jwt, 0, sizeof(jwt));
	r = oidc_at_check(q->app, q->token, q->ring, &jwt, &client_id, uid, sizeof(uid));
	if (r == YH_ERR_AUTH || (r == 0 && strcmp(client_id, q->ca.client->id) != 0)) {
		r = 0;                 /* nothing (of this client's) to revoke */
		goto out;
	}
	if (r != 0)
		goto out;
	jti = json_string_value(json_object_get(jwt.claims, "jti"));
	exp = json_object_get(jwt.claims, "exp");
	ttl = (json_is_integer(exp) ? json_integer_value(exp) - yh_now() : 0) + OIDC_LEEWAY;
	if ((r = oidc_at_revoke(q->app->sess, jti, ttl)) != 0)
		goto out;
	r = audit_revoke(q, "access_token", uid, jti);
out:
	tok_jwt_clear(&jwt);
	return r;
}

static int
revoke_refresh(struct ireq *q)
{
	struct sess_family fam;
	int r;

	r = sess_refresh_peek(q->app->sess, q->token, &fam, NULL);
	if (r == YH_ERR_NOT_FOUND || r == YH_ERR_DENIED || r == YH_ERR_INVALID ||
	    (r == 0 && strcmp(fam.client_id, q->ca.client->id) != 0))
		return 0;
	if (r != 0)
		return r;
	/* RFC 7009 2.1: the access tokens of the same grant go with it. */
	if ((r = oidc_family_revoke(q->app, q->ca.client, fam.id)) != 0)
		return r;
	return audit_revoke(q, "refresh_token", fam.uid, fam.id);
}

static int
revoke_handler(struct http_req *req, void *arg)
{
	struct ireq q;
	int r;

	memset(&q, 0, sizeof(q));
	q.app = arg;
	q.req = req;
	if ((r = ireq_start(&q, "/revoke", false)) != 0 || http_req_answered(req))
		goto out;
	if (strchr(q.token, '.') != NULL)
		r = revoke_access(&q);
	else
		r = revoke_refresh(&q);
	if (r == 0)
		r = http_respond(req, 200, "application/json", "{}", 2);
out:
	if (r == 0)   /* the answer, success or refusal, is for the client it names */
		r = oidc_cors_named(req, q.snap);
	ireq_clear(&q);
	return r;
}

static const struct http_route introspect_routes[] = {
	{ "POST", "/introspect", introspect_handler, HTTP_ROUTE_NO_STORE | HTTP_ROUTE_PREAUTH },
	{ "POST", "/revoke", revoke_handler, HTTP_ROUTE_NO_STORE | HTTP_ROUTE_PREAUTH },
	{ NULL, NULL, NULL, 0 },
};

int
oidc_introspect_register(struct http_server *srv, struct authd_app *app)
{
	return http_routes_add(srv, introspect_routes, app);
}
