/*
 * JSON Web Tokens (RFC 7519) over token/jws.h: minting the three kinds of token Yihao
 * issues and checking tokens (prefix tok_).
 *
 *   ID tokens        OpenID Connect Core 1.0 section 2; header typ "JWT"; at_hash/c_hash
 *   access tokens    RFC 9068; header typ "at+jwt"
 *   logout tokens    OpenID Connect Back-Channel Logout 1.0 (final, 2022) section 2.4;
 *                    header typ "logout+jwt"; exp required, nonce forbidden
 *
 * The kinds cannot be confused: each check demands its kind's typ header (an ID token has
 * none or "JWT", so it is refused where an access or logout token is expected and vice
 * versa), its required claims with their JSON types, and refuses the claims that mark
 * another kind (an ID token carrying "events", a logout token carrying "nonce").
 *
 * at_hash and c_hash: the left half of the digest of the ASCII token, base64url, with
 * the digest of the ID token's alg, as OIDC Core section 3.1.3.6 defines it: SHA-256 for
 * ES256, RS256 and PS256; SHA-512 for EdDSA (Ed25519, as OIDC Core errata set 2 and the
 * common libraries do); SM3 for SM2, since SM3 is the hash of the "SM2" signature
 * algorithm (an RP checking an SM2-signed ID token computes it the same way).
 */
#ifndef YH_TOKEN_JWT_H
#define YH_TOKEN_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "common/err.h"
#include "token/jose_alg.h"

#define TOK_BCL_EVENT "http://schemas.openid.net/event/backchannel-logout"
#define TOK_TOKEN_HASH_MAX 44      /* longest at_hash/c_hash (SHA-512: 32 bytes) + NUL */
#define TOK_JTI_LEN 22             /* a fresh jti: 128 random bits, base64url */
#define TOK_LEEWAY_MAX 600         /* largest clock-skew allowance a check accepts, seconds */
#define TOK_LOGOUT_LIFETIME 120    /* default logout token lifetime, seconds */

/* What kind of token a check expects. */
enum tok_kind {
	TOK_KIND_JWT = 0, /* any JWT: only the claims present are checked (authctl jwt verify) */
	TOK_KIND_ID,      /* OIDC ID token */
	TOK_KIND_ACCESS,  /* RFC 9068 access token */
	TOK_KIND_LOGOUT,  /* back-channel logout token */
};

/* --- minting ------------------------------------------------------------------------ */

/* An ID token. Strings are borrowed. */
struct tok_id_token {
	const char *iss;           /* required */
	const char *sub;           /* required */
	const char *aud;           /* required: the client_id */
	int64_t iat;               /* issue time; 0: now */
	int64_t lifetime;          /* seconds from iat to exp; required, > 0 */
	int64_t auth_time;         /* when the user authenticated; 0: omitted */
	const char *nonce;         /* NULL: omitted */
	const char *acr;           /* e.g. "urn:yihao:loa:2"; NULL: omitted */
	const char *const *amr;    /* amr_n method names, e.g. {"pwd","otp"}; amr_n 0: omitted */
	size_t amr_n;
	const char *azp;           /* NULL: omitted */
	const char *sid;           /* session id for front/back-channel logout; NULL: omitted */
	const char *access_token;  /* gives at_hash; NULL: omitted */
	const char *code;          /* gives c_hash; NULL: omitted */
	const json_t *extra;       /* more claims (profile, phone...); may be NULL; must not
	                              name any claim above */
};

/* An RFC 9068 access token. */
struct tok_access_token {
	const char *iss;           /* required */
	const char *sub;           /* required */
	const char *client_id;     /* required */
	const char *const *aud;    /* required: aud_n >= 1 resource identifiers; one gives a
	                              string "aud", more an array */
	size_t aud_n;
	const char *scope;         /* space-separated; NULL: omitted */
	const char *jti;           /* NULL: a fresh random one */
	int64_t iat;               /* 0: now */
	int64_t lifetime;          /* required, > 0 */
	int64_t auth_time;         /* 0: omitted */
	const char *acr;           /* NULL: omitted */
	const char *const *amr;
	size_t amr_n;
	const json_t *extra;       /* as for tok_id_token */
};

/* A back-channel logout token: sub and/or sid; never a nonce. */
struct tok_logout_token {
	const char *iss;           /* required */
	const char *aud;           /* required: the client_id */
	const char *sub;           /* at least one of sub and sid */
	const char *sid;
	const char *jti;           /* NULL: a fresh random one */
	int64_t iat;               /* 0: now */
	int64_t lifetime;          /* 0: TOK_LOGOUT_LIFETIME */
};

/* Signs a claims object (a JSON object, serialized compactly) with key as a compact JWS
 * whose header carries alg, kid and typ (typ NULL: omitted). *out is malloc'd (caller
 * frees). YH_ERR_INVALID when claims is not an object or typ is malformed, YH_ERR_KEY
 * when key is public only, YH_ERR_TOO_LONG over TOK_JWS_MAX, YH_ERR_CRYPTO. */
int tok_jwt_sign(const struct tok_key *key, const char *typ, const json_t *claims,
    char **out) YH_WUR;

/* Mints an ID token signed by key (typ "JWT"), computing at_hash/c_hash with key's alg.
 * *out is malloc'd. YH_ERR_INVALID for a missing required field, a non-positive lifetime
 * or an extra claim that redefines a registered one; else as tok_jwt_sign. */
int tok_mint_id_token(const struct tok_key *key, const struct tok_id_token *t, char **out)
    YH_WUR;

/* Mints an RFC 9068 access token (typ "at+jwt"). Errors as tok_mint_id_token. */
int tok_mint_access_token(const struct tok_key *key, const struct tok_access_token *t,
    char **out) YH_WUR;

/* Mints a logout token (typ "logout+jwt", events claim, jti, exp). YH_ERR_INVALID when
 * both sub and sid are NULL. Errors otherwise as tok_mint_id_token. */
int tok_mint_logout_token(const struct tok_key *key, const struct tok_logout_token *t,
    char **out) YH_WUR;

/* Computes at_hash / c_hash of value (len bytes) for an ID token signed with alg (see
 * the top of this file for the digest per alg) into out (NUL-terminated).
 * YH_ERR_UNSUPPORTED for TOK_ALG_UNSET, YH_ERR_CRYPTO. */
int tok_token_hash(enum tok_alg alg, const char *value, size_t len,
    char out[TOK_TOKEN_HASH_MAX]) YH_WUR;

/* Writes a fresh jti (TOK_JTI_LEN base64url characters of 128 random bits) and a NUL. */
int tok_jti_new(char out[TOK_JTI_LEN + 1]) YH_WUR;

/* --- checking ----------------------------------------------------------------------- */

/* What a token must satisfy. Zero-initialize, then set what applies. */
struct tok_check {
	enum tok_kind kind;
	const char *iss;          /* required value of "iss"; mandatory for ID/ACCESS/LOGOUT;
	                             NULL with TOK_KIND_JWT: not checked */
	const char *aud;          /* a value "aud" must equal or contain; mandatory for
	                             ID/ACCESS/LOGOUT; NULL with TOK_KIND_JWT: not checked */
	int64_t leeway;           /* clock-skew allowance in seconds, 0..TOK_LEEWAY_MAX */
	int64_t now;              /* 0: yh_now() */
	const char *typ;          /* TOK_KIND_JWT only: required typ (NULL: any) */
	const char *nonce;        /* TOK_KIND_ID only: when set, "nonce" must equal it */
	const char *access_token; /* TOK_KIND_ID only: when set, at_hash must be present and
	                             match it */
	const char *code;         /* TOK_KIND_ID only: when set, c_hash must be present and
	                             match it */
};

/* Checks a claims set (already signature-verified) and its header typ (NULL when the
 * header has none) against chk. alg is the verified algorithm (for at_hash/c_hash).
 * Time rules, with L = leeway: refused when now >= exp + L, now + L < nbf, or
 * iat > now + L. On failure a one-line reason goes to why (may be NULL).
 *   YH_ERR_INVALID   a required claim missing, or any known claim of the wrong JSON type
 *                    (iss/sub/jti/... strings, exp/nbf/iat/auth_time numbers, aud a string
 *                    or a non-empty array of strings, amr an array of strings, events an
 *                    object), a logout token without sub and sid or without its event
 *   YH_ERR_EXPIRED   outside the exp/nbf/iat window
 *   YH_ERR_DENIED    wrong iss, aud not ours, azp not ours, wrong typ for the kind,
 *                    nonce/at_hash/c_hash mismatch, a claim that marks another kind
 *   YH_ERR_INTERNAL  chk itself is unusable (no iss/aud for a typed kind, bad leeway) */
int tok_claims_check(const json_t *claims, const char *typ, enum tok_alg alg,
    const struct tok_check *chk, char *why, size_t whysz) YH_WUR;

/* A verified token. Release with tok_jwt_clear. */
struct tok_jwt {
	json_t *header;            /* protected header (a reference) */
	json_t *claims;            /* the claims object (a reference) */
	enum tok_alg alg;          /* the verified algorithm */
	const struct tok_key *key; /* borrowed from the key set that verified it */
};

/* Verifies token (len bytes) with tok_jws_verify(keys, allow) - signature, alg allow-list,
 * kid selection, header rules - parses the payload as a JSON object (at most the JWS
 * size, duplicate names refused) and runs tok_claims_check. On success *out holds the
 * token; on failure it is empty and why explains. Errors: those of tok_jws_verify
 * (YH_ERR_AUTH for a bad signature...), YH_ERR_INVALID for a payload that is not a JSON
 * object, those of tok_claims_check. */
int tok_jwt_verify(const char *token, size_t len, const struct tok_keyset *keys,
    unsigned allow, const struct tok_check *chk, struct tok_jwt *out, char *why,
    size_t whysz) YH_WUR;

/* Releases a tok_jwt and zeroes it. Safe on a zeroed or cleared struct. */
void tok_jwt_clear(struct tok_jwt *jwt);

#endif
