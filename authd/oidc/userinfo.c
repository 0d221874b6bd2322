/*
 * GET/POST /userinfo (OpenID Connect Core 5.3) with a Bearer access token (RFC 6750:
 * the Authorization header, or access_token in a POST form). The token must be one of
 * ours (signature by the key ring, typ at+jwt, iss, aud, exp), not revoked (by itself or
 * with its refresh family: oidc_family_revoke), issued to a client that is still
 * registered, and - when it carries sid - its login session must
 * still be live, so a logout takes effect at once. The claims are those of the scopes
 * the token carries (oidc_user_claims) plus the pairwise sub; a token acting for an
 * organization (yh_org with a role) gets yh_org again, re-checked against the directory
 * (oidc_org_claim): a relation that has ended makes the token invalid here. CORS: the
 * answer allows the origins of the token's app (token.h, oidc_cors_for_client).
 */
#include "authd/oidc/token.h"

#include <string.h>
#include <strings.h>

#include "authd/oidc/oidc.h"
#include "authd/app.h"
#include "authd/session/sess.h"
#include "common/log.h"
#include "common/secmem.h"
#include "identity/dir/dir.h"
#include "token/jws.h"
#include "token/jwt.h"
#include "token/keyring.h"

/* What a valid access token says. */
struct at_info {
	const char *client_id;
	const char *sub;
	const char *scope;
	const char *jti;
	const char *sid;
	char uid[SESS_UID_MAX + 1];
	int64_t exp;
};

int
oidc_bearer_token(struct http_req *req, char **out)
{
	const char *h = http_req_header(req, "Authorization");
	char *form = NULL;
	int r = YH_ERR_NOT_FOUND;

	*out = NULL;
	if (strcmp(http_req_method(req), "POST") == 0) {
		r = http_req_form(req, "access_token", TOK_JWS_MAX, &form);
		if (r != 0 && r != YH_ERR_NOT_FOUND && r != YH_ERR_UNSUPPORTED)
			return r == YH_ERR_ALLOC ? r : YH_ERR_INVALID;
	}
	if (h != NULL) {
		if (form != NULL) {
			free(form);
			return YH_ERR_INVALID;
		}
		if (strncasecmp(h, "Bearer ", 7) != 0)
			return YH_ERR_INVALID;
		h += 7;
		while (*h == ' ')
			h++;
		if (*h == '\0' || strlen(h) > TOK_JWS_MAX)
			return YH_ERR_INVALID;
		return (*out = strdup(h)) == NULL ? YH_ERR_ALLOC : 0;
	}
	if (form != NULL) {
		*out = form;
		return 0;
	}
	return YH_ERR_NOT_FOUND;
}

/* A string claim or NULL. */
static const char *
claim_str(const json_t *claims, const char *name)
{
	const json_t *v = json_object_get(claims, name);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/*
 * Verifies an access token and checks that it is still good (not revoked, session live).
 * jwt keeps the claims info points into. Returns 0, YH_ERR_AUTH (not valid: answer
 * invalid_token / inactive), YH_ERR_UNAVAILABLE, YH_ERR_ALLOC.
 */
static int
at_check(struct authd_app *app, const char *token, struct tok_ring_snap *ring,
    struct tok_jwt *jwt, struct at_info *info)
{
	struct tok_check chk;
	char why[160];
	const json_t *exp;
	int r;

	memset(info, 0, sizeof(*info));
	memset(&chk, 0, sizeof(chk));
	chk.kind = TOK_KIND_ACCESS;
	chk.iss = app->issuer;
	chk.aud = app->issuer;
	if (tok_jwt_verify(token, strlen(token), tok_snap_keyset(ring), tok_snap_algs(ring),
	    &chk, jwt, why, sizeof(why)) != 0) {
		yh_debug("access token refused: %s", why);
		return YH_ERR_AUTH;
	}
	info->client_id = claim_str(jwt->claims, "client_id");
	info->sub = claim_str(jwt->claims, "sub");
	info->scope = claim_str(jwt->claims, "scope");
	info->jti = claim_str(jwt->claims, "jti");
	info->sid = claim_str(jwt->claims, "sid");
	exp = json_object_get(jwt->claims, "exp");
	info->exp = json_is_integer(exp) ? json_integer_value(exp) : 0;
	if (info->client_id == NULL || info->sub == NULL || info->jti == NULL)
		return YH_ERR_AUTH;
	if ((r = oidc_at_revoked(app->sess, info->jti)) != 0)
		return r == YH_ERR_DENIED ? YH_ERR_AUTH : r;
	if (claim_str(jwt->claims, "yh_fam") != NULL &&
	    (r = oidc_family_revoked(app->sess, claim_str(jwt->claims, "yh_fam"))) != 0)
		return r == YH_ERR_DENIED ? YH_ERR_AUTH : r;   /* its refresh family was revoked */
	if (claim_str(jwt->claims, "yh_ref") == NULL)
		return 0;    /* a client_credentials token: no user */
	if (oidc_uref_open(app->keys, info->client_id, claim_str(jwt->claims, "yh_ref"),
	    info->uid, sizeof(info->uid)) != 0)
		return YH_ERR_AUTH;
	if (info->sid != NULL && (r = oidc_sid_alive(app->sess, info->uid, info->sid)) != 0)
		return r == YH_ERR_NOT_FOUND ? YH_ERR_AUTH : r;
	return 0;
}

int
oidc_at_check(struct authd_app *app, const char *token, struct tok_ring_snap *ring,
    struct tok_jwt *jwt, const char **client_id, char *uid, size_t uidsz)
{
	struct at_info info;
	int r;

	*client_id = NULL;
	if (uidsz > 0)
		uid[0] = '\0';
	if ((r = at_check(app, token, ring, jwt, &info)) != 0)
		return r;
	*client_id = info.client_id;
	return yh_strlcpy(uid, info.uid, uidsz) == 0 ? 0 : YH_ERR_INTERNAL;
}

/* The yh_org claim of a token acting for an organization, re-checked now, into claims.
 * Returns 0 (also for a token acting as the person), YH_ERR_DENIED (the relation has
 * ended), or the directory's error. */
static int
org_claim(struct authd_app *app, const json_t *at, const char *uid, json_t *claims)
{
	const json_t *org = json_object_get(at, "yh_org");
	json_t *c = NULL;
	int r;

	if (org == NULL)
		return 0;
	if ((r = oidc_org_claim(app->dir, uid, claim_str(org, "uscc"), claim_str(org, "role"),
	    0, &c)) != 0)
		return r;
	r = json_object_set_new(claims, "yh_org", c) == 0 ? 0 : YH_ERR_ALLOC;
	return r;
}

static int
userinfo_handler(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct tok_ring_snap *ring = NULL;
	struct clients_snap *snap = NULL;
	const struct clients_client *c = NULL;
	struct tok_jwt jwt;
	struct at_info info;
	json_t *claims = NULL;
	char *token = NULL;
	unsigned scopes = 0;
	int r;

	memset(&jwt, 0, sizeof(jwt));
	http_resp_no_store(req);
	(void)clients_refresh_if_changed(app->clients);
	snap = clients_acquire(app->clients);
	r = oidc_bearer_token(req, &token);
	if (r == YH_ERR_NOT_FOUND) {
		r = oidc_error_bearer(req, NULL, NULL);
		goto out;
	}
	if (r == YH_ERR_INVALID) {
		r = oidc_error(req, "invalid_request", "malformed or duplicated access token");
		goto out;
	}
	if (r != 0)
		goto out;
	ring = tok_ring_acquire(app->ring);
	r = at_check(app, token, ring, &jwt, &info);
	if (r == YH_ERR_AUTH || (r == 0 && info.uid[0] == '\0')) {
		r = oidc_error_bearer(req, "invalid_token", "the access token is not valid");
		goto out;
	}
	if (r != 0)
		goto out;
	if ((c = clients_find(snap, info.client_id)) == NULL || c->disabled) {
		r = oidc_error_bearer(req, "invalid_token", c == NULL ?
		    "the client is no longer registered" : "the client is disabled");
		goto out;
	}
	if (info.scope == NULL || clients_scope_parse(info.scope, &scopes, NULL) != 0 ||
	    (scopes & CLIENTS_SCOPE_OPENID) == 0) {
		r = oidc_error_bearer(req, "insufficient_scope", "the openid scope is required");
		goto out;
	}
	r = oidc_user_claims(app->dir, c, info.uid, scopes & c->scopes, &claims);
	if (r == YH_ERR_NOT_FOUND || r == YH_ERR_DENIED) {
		r = oidc_error_bearer(req, "invalid_token", "the user is not active");
		goto out;
	}
	if (r != 0)
		goto out;
	if ((r = org_claim(app, jwt.claims, info.uid, claims)) == YH_ERR_DENIED) {
		r = oidc_error_bearer(req, "invalid_token",
		    "the user no longer acts for the organization");
		goto out;
	}
	if (r != 0)
		goto out;
	if (json_object_set_new(claims, "sub", json_string(info.sub)) != 0) {
		r = YH_ERR_ALLOC;
		goto out;
	}
	r = http_respond_json(req, 200, claims);
	claims = NULL;
out:
	if (r == 0)   /* CORS: the token's app decides; without one, any app (token.h) */
		r = c != NULL ? oidc_cors_for_client(req, c) : oidc_cors_for_any(req, snap);
	json_decref(claims);
	tok_jwt_clear(&jwt);
	clients_release(snap);
	tok_snap_release(ring);
	free(token);
	return r;
}

static const struct http_route userinfo_routes[] = {
	{ "GET", "/userinfo", userinfo_handler, HTTP_ROUTE_NO_STORE },
	{ "POST", "/userinfo", userinfo_handler, HTTP_ROUTE_NO_STORE },
	{ NULL, NULL, NULL, 0 },
};

int
oidc_userinfo_register(struct http_server *srv, struct authd_app *app)
{
	return http_routes_add(srv, userinfo_routes, app);
}
