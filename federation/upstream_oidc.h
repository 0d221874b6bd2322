/*
 * An OpenID Connect upstream identity provider, prefix fed_oidc_: authd as a relying
 * party of the provincial platform (or of a provincial Yihao). One struct fed_oidc per
 * upstream.NAME block with kind = oidc (federation/upstream_cfg.h); thread-safe.
 *
 *   discovery   ISSUER/.well-known/openid-configuration, whose issuer must equal ours
 *               byte for byte; kept for discovery_refresh, fetched again after (a
 *               failed refetch keeps the last good one). Until one fetch succeeded the
 *               upstream is not ready: its button is hidden.
 *   JWKS        fetched with discovery; fetched again when an ID token names an unknown
 *               kid, at most once per FED_OIDC_JWKS_RETRY_S.
 *   the flow    the authorization code flow with PKCE S256, state (the caller's) and
 *               nonce; at the callback the RFC 9207 iss parameter must equal the issuer
 *               (required when discovery says the upstream sends it), the code is
 *               exchanged at the token endpoint (client_secret_basic or _post, or
 *               private_key_jwt: an RFC 7523 assertion signed with our key), and the
 *               ID token verified: signature by a key of the upstream's JWKS with an
 *               algorithm of algs (never none, never HMAC), iss, aud (and azp) our
 *               client id, exp/iat with FED_OIDC_LEEWAY_S of skew, nonce. The
 *               userinfo endpoint is asked when a map.* claim is missing from the ID
 *               token; its sub must be the ID token's.
 *   logout      a back-channel logout token verified the same way (typ, events, no
 *               nonce; sid or sub).
 *
 * Every call goes through federation/http.c (no redirects, timeouts, bounded answers,
 * the block's ca_file) and blocks its thread for at most the block's timeout: authd
 * makes them on the worker pool.
 */
#ifndef YH_FEDERATION_UPSTREAM_OIDC_H
#define YH_FEDERATION_UPSTREAM_OIDC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "common/err.h"
#include "federation/upstream_cfg.h"

#define FED_OIDC_BODY_MAX (256 * 1024)   /* bytes of any answer of the upstream */
#define FED_OIDC_LEEWAY_S 60             /* clock skew allowed on exp/iat */
#define FED_OIDC_JWKS_RETRY_S 10         /* the least time between two JWKS fetches */
#define FED_OIDC_ASSERTION_S 60          /* private_key_jwt: exp - iat of our assertion */
#define FED_OIDC_ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#define FED_OIDC_PKCE_SIZE 44            /* 43 base64url characters + NUL */
#define FED_OIDC_CLAIM_MAX 255           /* bytes of a mapped claim kept */

struct fed_oidc;

/* What a login through an upstream established: the mapped claims (each "" when the
 * upstream sent none). */
struct fed_login {
	char sub[FED_OIDC_CLAIM_MAX + 1];       /* the upstream's subject */
	char sid[FED_OIDC_CLAIM_MAX + 1];       /* the upstream's session id (oidc) */
	char acr[FED_OIDC_CLAIM_MAX + 1];       /* as the upstream asserted it */
	int loa;                                /* fed_up_loa of acr */
	char id_number[64];
	char name[FED_OIDC_CLAIM_MAX + 1];
	char phone[32];
	char user_type[64];
	char uscc[32];
	char org_name[FED_OIDC_CLAIM_MAX + 1];
};

/*
 * Reads the mapped claims of u (map.*: a claim name or a dotted path) from claims into
 * *out, with out->loa = fed_up_loa(u, acr). A claim that is not a scalar is left "".
 * Returns 0, or YH_ERR_INVALID when map.sub names nothing (why says so).
 */
int fed_up_map(const struct fed_up_cfg *u, json_t *claims, struct fed_login *out,
    char *why, size_t whysz) YH_WUR;

/* Wipes *l (it holds an ID number). */
void fed_login_clear(struct fed_login *l);

/*
 * A client for the upstream u (borrowed: it must outlive the client), whose redirect
 * URI at the upstream is redirect_uri (copied). Nothing is fetched yet. Returns 0,
 * YH_ERR_INVALID (u is not kind = oidc), YH_ERR_ALLOC, YH_ERR_INTERNAL (libcurl).
 */
int fed_oidc_new(const struct fed_up_cfg *u, const char *redirect_uri, struct fed_oidc **out)
    YH_WUR;

/* Frees o; NULL is fine. */
void fed_oidc_free(struct fed_oidc *o);

/*
 * Fetches discovery and the JWKS when there is none yet or they are older than
 * discovery_refresh (force: now). Returns 0 (ready: what was fetched, or a stale copy
 * when a refresh failed) or YH_ERR_UNAVAILABLE with why (never ready yet).
 */
int fed_oidc_discover(struct fed_oidc *o, bool force, char *why, size_t whysz) YH_WUR;

/* True once a discovery fetch succeeded (the login button is shown). Never waits for a
 * fetch in progress: safe on an HTTP thread. */
bool fed_oidc_ready(struct fed_oidc *o);

/* A new PKCE verifier and its S256 challenge. 0 or YH_ERR_CRYPTO. */
int fed_oidc_pkce(char verifier[FED_OIDC_PKCE_SIZE], char challenge[FED_OIDC_PKCE_SIZE])
    YH_WUR;

/*
 * The authorization request URL (malloc'd into *url): response_type=code, client_id,
 * redirect_uri, scope, state, nonce, code_challenge (S256), and prompt when not NULL.
 * Returns 0, YH_ERR_UNAVAILABLE (not ready), YH_ERR_ALLOC.
 */
int fed_oidc_auth_url(struct fed_oidc *o, const char *state, const char *nonce,
    const char *challenge, char **url) YH_WUR;

/* What came back to the callback, and what the start stored. */
struct fed_oidc_cb {
	const char *code;
	const char *iss;        /* the iss parameter (RFC 9207), NULL when absent */
	const char *verifier;
	const char *nonce;
};

/*
 * Finishes a login: the iss check, the code exchange, the ID token's verification,
 * userinfo when needed, the mapping into *out. Returns 0, or (why says what, one line
 * for the audit trail): YH_ERR_DENIED (iss mix-up, a token that fails a check, a
 * userinfo sub that differs), YH_ERR_AUTH (a bad signature, a kid not in the JWKS),
 * YH_ERR_UNSUPPORTED (alg none or not allowed), YH_ERR_EXPIRED, YH_ERR_INVALID (a
 * malformed answer or token), YH_ERR_UNAVAILABLE (the upstream did not answer, or
 * answered an error).
 */
int fed_oidc_callback(struct fed_oidc *o, const struct fed_oidc_cb *cb,
    struct fed_login *out, char *why, size_t whysz) YH_WUR;

/* What a verified back-channel logout token says: sub and sid ("" when absent, or too
 * long to keep), its jti and its exp. */
struct fed_logout {
	char sub[FED_OIDC_CLAIM_MAX + 1];
	char sid[FED_OIDC_CLAIM_MAX + 1];
	char jti[FED_OIDC_CLAIM_MAX + 1];
	int64_t exp;
};

/*
 * Verifies a back-channel logout token from the upstream (as an ID token, with the
 * logout token's rules, which require jti and exp) into *out. A jti too long to keep
 * is refused (YH_ERR_INVALID). Errors as fed_oidc_callback's.
 */
int fed_oidc_logout_token(struct fed_oidc *o, const char *jwt, struct fed_logout *out,
    char *why, size_t whysz) YH_WUR;

/* The upstream's end_session_endpoint (malloc'd into *url; NULL when it has none).
 * Returns 0, YH_ERR_UNAVAILABLE (not ready) or YH_ERR_ALLOC. */
int fed_oidc_end_session(struct fed_oidc *o, char **url) YH_WUR;

/*
 * What o found (authctl upstream test): a new object with issuer, the endpoints,
 * iss_parameter (RFC 9207 announced), kids (the JWKS's key ids), token_auth (how we
 * authenticate at the token endpoint) and, for private_key_jwt, client_assertion_kid
 * (our key's thumbprint, the kid of our assertions). *out NULL and
 * YH_ERR_UNAVAILABLE when not ready; YH_ERR_ALLOC.
 */
int fed_oidc_describe(struct fed_oidc *o, json_t **out) YH_WUR;

/* The block o serves. */
const struct fed_up_cfg *fed_oidc_cfg(const struct fed_oidc *o);

#endif
