/*
 * The token-side endpoints of authd's OpenID Connect provider and the client
 * authentication they share:
 *
 *   oidc_token.c       POST /token (authorization_code, refresh_token, client_credentials)
 *   oidc_userinfo.c    GET/POST /userinfo
 *   oidc_introspect.c  POST /introspect (RFC 7662), POST /revoke (RFC 7009)
 *   oidc_client_auth.c client_secret_basic, client_secret_post, private_key_jwt, public
 *   oidc_cors.c        CORS for /token, /userinfo, /revoke (OPTIONS preflights)
 *
 * Each register function adds its routes with http_routes_add(srv, routes, app); the
 * handlers use app->cfg, app->dir, app->ring, app->sess, app->clients, app->audit,
 * app->issuer and app->keys (authd/app.h), which must be set before the
 * server starts.
 *
 * Decisions (docs/integration.md):
 *   - A refresh token is issued with every authorization_code grant to a client that
 *     has the refresh_token grant (the default). Without scope offline_access the
 *     refresh family is bound to the login session: once the session ends (logout,
 *     expiry, "end this session") refreshing fails, and it lives token.refresh_lifetime.
 *     With offline_access it outlives the session (token.offline_lifetime).
 *   - Access tokens are RFC 9068 JWTs (typ at+jwt) with aud [client_id, issuer], the
 *     pairwise sub, scope, client_id, jti, acr/amr/auth_time, sid when the grant is
 *     bound to a session, and yh_ref (the internal user id sealed for the client, see
 *     oidc_uref_seal). /userinfo and /introspect answer "inactive" once the session
 *     named by sid has ended or the token was revoked at /revoke (its jti is recorded
 *     in the session store until the token expires).
 *   - Access tokens issued with a refresh family (by the code exchange or a refresh)
 *     carry its id in yh_fam. Whenever the family is revoked for cause (code replay,
 *     refresh-token reuse, a refresh token presented by another client, /revoke of the
 *     refresh token) its access tokens are revoked with it (oidc_family_revoke).
 *   - A code presented a second time revokes the refresh family and the access tokens
 *     issued from it, and the code's own access token by its jti (the code's "issued"
 *     record is "<family id>:<jti>"; a client without refresh tokens has no family).
 *   - A code is bound to its client in the session store (sess_code_take): another
 *     client gets the answer to an unknown code and the code stays good for its own.
 */
#ifndef YH_AUTHD_OIDC_TOKEN_H
#define YH_AUTHD_OIDC_TOKEN_H

#include <stdbool.h>
#include <stdint.h>

#include "authcore/clients/clients.h"
#include "authd/http/http.h"
#include "common/err.h"

struct authd_app;
struct sess_store;

#define OIDC_ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#define OIDC_LEEWAY 30                   /* clock skew allowed on client assertions, seconds */

/* ---- client authentication (oidc_client_auth.c) --------------------------------------- */

enum oidc_auth_method {
	OIDC_AUTH_UNSET = 0,
	OIDC_AUTH_BASIC,         /* client_secret_basic */
	OIDC_AUTH_POST,          /* client_secret_post */
	OIDC_AUTH_JWT,           /* private_key_jwt */
	OIDC_AUTH_PUBLIC,        /* none: a public client named by client_id */
};

struct oidc_client_auth {
	const struct clients_client *client; /* borrowed from the snapshot given */
	enum oidc_auth_method method;
	bool basic;              /* an Authorization: Basic header was sent */
	const char *why;         /* on failure: a static description for the client */
};

/*
 * Authenticates the client of a token-type request (POST form): exactly one of HTTP
 * Basic (id and secret form-urlencoded inside, RFC 6749 2.3.1), client_id +
 * client_secret in the form, a private_key_jwt client assertion (RFC 7523: signed by a
 * key of the client's registered JWKS, iss = sub = client_id, aud the token endpoint,
 * endpoint_url or the issuer, exp at most token.client_assertion_max_lifetime ahead (1 h
 * by default), jti used once), or a bare client_id for a public client. On success out->client is set (borrowed
 * from snap). Returns 0, YH_ERR_AUTH (answer invalid_client: oidc_client_auth_fail),
 * YH_ERR_INVALID (invalid_request: several methods, malformed parameters),
 * YH_ERR_UNAVAILABLE (the session store is down), YH_ERR_ALLOC.
 */
int oidc_client_authenticate(struct http_req *req, struct authd_app *app,
    const struct clients_snap *snap, const char *endpoint_url, struct oidc_client_auth *out)
    YH_WUR;

/*
 * Answers the failure rc of oidc_client_authenticate: 401 invalid_client (with
 * WWW-Authenticate when Basic was tried) for YH_ERR_AUTH, 400 invalid_request for
 * YH_ERR_INVALID; other errors are returned as they are (the server answers 503/500).
 */
int oidc_client_auth_fail(struct http_req *req, const struct oidc_client_auth *a, int rc)
    YH_WUR;

/* ---- CORS (oidc_cors.c) ------------------------------------------------------------------ */

/*
 * Decisions (docs/integration.md, "Single-page apps"):
 *   - A public client's browser code may call /token, /revoke and /userinfo from its
 *     origins (clients_origin_ok); /introspect (confidential clients only) has no CORS.
 *   - /token and /revoke: the answer (success or error) allows the origin when it is one
 *     of the client named by the request's client_id (oidc_cors_named).
 *   - /userinfo: when the access token is valid and its app registered, the origin must
 *     be that app's (oidc_cors_for_client); the refusals where there is no such app (no
 *     token, a token not valid, its app removed) allow any registered app's origin
 *     (oidc_cors_for_any), so that an app sees the 401 that tells it to refresh: such an
 *     answer says nothing about any app or person.
 *   - A preflight (OPTIONS) names no client: see oidc_cors_register.
 * Each adds Vary: Origin, and Access-Control-Allow-Origin (the request's origin) when
 * allowed; never Allow-Credentials. Returns 0 or YH_ERR_ALLOC / YH_ERR_LIMIT.
 */
int oidc_cors_for_client(struct http_req *req, const struct clients_client *c) YH_WUR;
int oidc_cors_for_any(struct http_req *req, const struct clients_snap *snap) YH_WUR;
int oidc_cors_named(struct http_req *req, const struct clients_snap *snap) YH_WUR;

/*
 * OPTIONS /token, /userinfo and /revoke: 204; for an origin of any public client (a
 * preflight carries neither client_id nor token) with Access-Control-Allow-Origin, -Methods
 * (POST; GET, POST for /userinfo), -Headers (Authorization, Content-Type) and -Max-Age,
 * for another origin with none of them (the browser then refuses the request).
 */
int oidc_cors_register(struct http_server *srv, struct authd_app *app) YH_WUR;

/* ---- register functions ---------------------------------------------------------------- */

/* POST /token. */
int oidc_token_register(struct http_server *srv, struct authd_app *app) YH_WUR;

/* GET and POST /userinfo. */
int oidc_userinfo_register(struct http_server *srv, struct authd_app *app) YH_WUR;

/* POST /introspect and POST /revoke. */
int oidc_introspect_register(struct http_server *srv, struct authd_app *app) YH_WUR;

/*
 * Checks whether the access token with this jti was revoked (/revoke, code replay): the
 * session store's denylist (sess_deny_check, SESS_DENY_ACCESS). Returns 0 (not
 * revoked), YH_ERR_DENIED (revoked), YH_ERR_UNAVAILABLE.
 */
int oidc_at_revoked(struct sess_store *sess, const char *jti) YH_WUR;

/*
 * Verifies an access token for /userinfo and /introspect: our signature (ring), typ
 * at+jwt, iss, aud = the issuer, not expired, not revoked, its login session (sid)
 * still live, and its app (client_id) still registered and not disabled. On success *jwt holds the token (tok_jwt_clear it), *client_id points into
 * its claims and uid (uidsz bytes) gets the internal user id ("" for a
 * client_credentials token). Returns 0, YH_ERR_AUTH (not valid: invalid_token /
 * inactive), YH_ERR_UNAVAILABLE, YH_ERR_ALLOC.
 */
struct tok_ring_snap;
struct tok_jwt;
int oidc_at_check(struct authd_app *app, const char *token, struct tok_ring_snap *ring,
    struct tok_jwt *jwt, const char **client_id, char *uid, size_t uidsz) YH_WUR;

/*
 * The Bearer access token of a request (RFC 6750: the Authorization header, or
 * access_token in a POST form, not both) as a new string in *out. Returns 0,
 * YH_ERR_NOT_FOUND (none), YH_ERR_INVALID (both, or malformed), YH_ERR_ALLOC.
 */
int oidc_bearer_token(struct http_req *req, char **out) YH_WUR;

/* Puts the access token jti on the denylist for ttl_s seconds (its remaining lifetime;
 * clamped to 1..SESS_DENY_TTL_MAX). */
int oidc_at_revoke(struct sess_store *sess, const char *jti, int64_t ttl_s) YH_WUR;

/*
 * Revokes the refresh family family_id (sess_family_revoke; one that is already gone is
 * fine) and every access token issued from it: those carry the family in their yh_fam
 * claim, and the family goes on the denylist (SESS_DENY_FAMILY) for as long as such a
 * token can live (the access-token lifetime of owner, the client the family belongs to,
 * or the server's when owner is NULL, plus OIDC_LEEWAY). Used on code replay, refresh-token reuse, a refresh
 * token presented by another client, and /revoke of a refresh token. Returns 0,
 * YH_ERR_UNAVAILABLE, YH_ERR_INVALID (malformed id).
 */
int oidc_family_revoke(struct authd_app *app, const struct clients_client *owner,
    const char *family_id) YH_WUR;

/* Whether the access tokens of family family_id were revoked (oidc_family_revoke):
 * 0 (not), YH_ERR_DENIED (revoked), YH_ERR_UNAVAILABLE. */
int oidc_family_revoked(struct sess_store *sess, const char *family_id) YH_WUR;

/*
 * Revokes every refresh family of uid, or those of client_id when it is not NULL (the
 * account page's "revoke app", an operator), and with them the access tokens issued from
 * them: sess_refresh_revoke_user with a denylist TTL of the client's access-token
 * lifetime (with client_id NULL, the longest any registered client has) plus
 * OIDC_LEEWAY. *n (may be NULL) gets how many families were live. Returns as
 * sess_refresh_revoke_user.
 */
int oidc_user_families_revoke(struct authd_app *app, const char *uid, const char *client_id,
    size_t *n) YH_WUR;

/*
 * Ends every session of uid (sess_end_user, SESS_END_ADMIN: their apps get back-channel
 * logout) and, with grants (a lock, a deregistration, a password reset), revokes every
 * refresh family of uid too, offline ones included, with their access tokens
 * (oidc_user_families_revoke): they outlive the sessions. *sessions and *families (may
 * be NULL) get the counts, *sessions also when the revocation then fails. Returns as
 * sess_end_user, then as oidc_user_families_revoke.
 */
int oidc_user_end(struct authd_app *app, const char *uid, bool grants, size_t *sessions,
    size_t *families) YH_WUR;

/*
 * Revokes the refresh families in which uid acts for the organization with credit code
 * uscc (a relation ended: an agent or admin removed, the legal representative changed,
 * the organization deregistered), and with them their access tokens, as
 * oidc_user_families_revoke does for all of a user's apps; the person's own families and
 * those for other organizations stay. The revoked families are copied to out (at most
 * max; see sess_refresh_revoke_org), for their apps' back-channel logout. Returns as
 * sess_refresh_revoke_org.
 */
struct sess_family;
int oidc_org_families_revoke(struct authd_app *app, const char *uid, const char *uscc,
    struct sess_family *out, size_t max, size_t *n) YH_WUR;

#define OIDC_ORG_FAMILIES_MAX 256   /* families of one person and organization told to
                                     * their apps at once */

/*
 * What authd does when the person uid no longer acts for the organization o (an agent
 * or admin removed, the legal representative changed, the organization deregistered):
 * oidc_org_families_revoke for o's credit code (an organization without one has no
 * grants), then, for each revoked family bound to a session (at most
 * OIDC_ORG_FAMILIES_MAX), a back-channel logout token to its app for that session
 * (bcl_client_logout; the session and the person's other apps go on). The one path of
 * the control socket's org_relation_ended and of the account page's "end an agent";
 * each caller writes its own audit line. *families: families revoked, *logouts: logout
 * tokens queued. Returns 0 or the session store's error (*families may then be > 0).
 */
struct dir_org;
int oidc_org_relation_ended(struct authd_app *app, const char *uid, const struct dir_org *o,
    size_t *families, size_t *logouts) YH_WUR;

#endif
