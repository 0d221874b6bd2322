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

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "authd/oidc/oidc.h"
#include "authd/app.h"
#include "authd/session/sess.h"
#include "common/digest.h"
#include "common/log.h"
#include "common/secmem.h"
#include "identity/dir/dir.h"
#include "token/jwk.h"
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
 * Access tokens whose signature was verified: a resource server introspects (or calls
 * userinfo with) the same token many times, and its ES256 verification is most of the
 * cost of each call. A slot remembers, under the SHA-256 of the whole token (header,
 * payload and signature: another signature is another token), the key that verified it
 * (its kid and its RFC 7638 thumbprint), the algorithm, the header's typ and the claims.
 * On a hit the signature is taken as verified only when the ring still holds a key
 * with that kid whose thumbprint is the same (the same public key: a retired or
 * replaced key ends its tokens at once) and the algorithm is still allowed; the
 * claims are then checked again in full (expiry, issuer, audience), and revocation and
 * the session after that, as on a miss. Bounded by size: a fixed table, a new token
 * takes its slot from whatever was there.
 */
#define ATC_SLOTS 1024            /* power of two */
#define ATC_LOCKS 16
#define ATC_TYP_MAX 32

struct atc_slot {
	unsigned char digest[32];
	char kid[TOK_KID_MAX + 1];
	char thumb[TOK_THUMBPRINT_LEN + 1];
	char typ[ATC_TYP_MAX + 1];   /* "" when the header had none */
	enum tok_alg alg;
	char *claims;                /* compact JSON; NULL: empty slot */
};

static struct {
	pthread_mutex_t lock[ATC_LOCKS];
	struct atc_slot slot[ATC_SLOTS];
} atc = { .lock = {
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
	PTHREAD_MUTEX_INITIALIZER } };

static size_t
atc_index(const unsigned char d[32])
{
	return ((size_t)d[0] << 8 | d[1]) & (ATC_SLOTS - 1);
}

/* A hit: the verified token under digest d, checked against ring and chk as described
 * above, into jwt. 0 (jwt set), YH_ERR_NOT_FOUND (no usable slot: verify in full), or
 * tok_claims_check's error for claims that no longer pass. */
static int
atc_get(const unsigned char d[32], struct tok_ring_snap *ring, const struct tok_check *chk,
    struct tok_jwt *jwt, char *why, size_t whysz)
{
	struct atc_slot copy;
	size_t i = atc_index(d);
	const struct tok_key *key;
	char thumb[TOK_THUMBPRINT_LEN + 1];
	json_t *claims;
	int r = YH_ERR_NOT_FOUND;

	memset(&copy, 0, sizeof(copy));
	pthread_mutex_lock(&atc.lock[i % ATC_LOCKS]);
	if (atc.slot[i].claims != NULL && memcmp(atc.slot[i].digest, d, 32) == 0) {
		copy = atc.slot[i];
		copy.claims = strdup(atc.slot[i].claims);
	}
	pthread_mutex_unlock(&atc.lock[i % ATC_LOCKS]);
	if (copy.claims == NULL)
		return YH_ERR_NOT_FOUND;
	if ((tok_snap_algs(ring) & TOK_ALGSET(copy.alg)) == 0 ||
	    (key = tok_keyset_find(tok_snap_keyset(ring), copy.kid)) == NULL ||
	    tok_jwk_thumbprint(key, thumb) != 0 || strcmp(thumb, copy.thumb) != 0)
		goto out;
	if ((claims = json_loads(copy.claims, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		goto out;
	if ((r = tok_claims_check(claims, copy.typ[0] != '\0' ? copy.typ : NULL, copy.alg,
	    chk, why, whysz)) != 0) {
		json_decref(claims);
		goto out;
	}
	jwt->header = NULL;
	jwt->claims = claims;
	jwt->alg = copy.alg;
	jwt->key = key;
out:
	free(copy.claims);
	return r;
}

/* Remembers a token just verified in full (best effort: nothing is kept on error). */
static void
atc_put(const unsigned char d[32], const struct tok_jwt *jwt)
{
	const char *kid = tok_key_kid(jwt->key);
	const char *typ = json_string_value(json_object_get(jwt->header, "typ"));
	struct atc_slot n;
	size_t i = atc_index(d);
	char *old;

	memset(&n, 0, sizeof(n));
	if (kid == NULL || yh_strlcpy(n.kid, kid, sizeof(n.kid)) != 0 ||
	    yh_strlcpy(n.typ, typ != NULL ? typ : "", sizeof(n.typ)) != 0 ||
	    tok_jwk_thumbprint(jwt->key, n.thumb) != 0 ||
	    (n.claims = json_dumps(jwt->claims, JSON_COMPACT)) == NULL)
		return;
	memcpy(n.digest, d, 32);
	n.alg = jwt->alg;
	pthread_mutex_lock(&atc.lock[i % ATC_LOCKS]);
	old = atc.slot[i].claims;
	atc.slot[i] = n;
	pthread_mutex_unlock(&atc.lock[i % ATC_LOCKS]);
	free(old);
}

/* tok_jwt_verify of an access token, through the cache of verified ones. */
static int
at_verify(const char *token, struct tok_ring_snap *ring, const struct tok_check *chk,
    struct tok_jwt *jwt, char *why, size_t whysz)
{
	unsigned char d[YH_SHA256_LEN];
	size_t len = strlen(token);
	bool hashed;
	int r;

	hashed = yh_sha256(token, len, d) == 0;
	if (hashed && (r = atc_get(d, ring, chk, jwt, why, whysz)) != YH_ERR_NOT_FOUND)
		return r;
	if ((r = tok_jwt_verify(token, len, tok_snap_keyset(ring), tok_snap_algs(ring), chk,
	    jwt, why, whysz)) == 0 && hashed)
		atc_put(d, jwt);
	return r;
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
	if (at_verify(token, ring, &chk, jwt, why, sizeof(why)) != 0) {
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

/* True when client_id is registered and not disabled. */
static bool
client_enabled(struct authd_app *app, const char *client_id)
{
	struct clients_snap *snap;
	const struct clients_client *c;
	bool ok;

	(void)clients_refresh_if_changed(app->clients);
	snap = clients_acquire(app->clients);
	ok = (c = clients_find(snap, client_id)) != NULL && !c->disabled;
	clients_release(snap);
	return ok;
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
	if (!client_enabled(app, info.client_id))
		return YH_ERR_AUTH;   /* its app was removed or disabled since */
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
