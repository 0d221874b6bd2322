/*
 * JSON Web Keys (RFC 7517/7518/8037), JWK Sets and RFC 7638 thumbprints.
 *
 * Supported: {"kty":"EC","crv":"P-256","x","y"(,"d")}, {"kty":"OKP","crv":"Ed25519","x"(,"d")},
 * {"kty":"RSA","n","e"(,"d","p","q","dp","dq","qi")} of 2048..8192 bits, and
 * {"kty":"EC","crv":"SM2","x","y"(,"d")}. Every base64url member is strict, EC points must
 * lie on the curve, private keys must match their public half, fixed-size members must
 * have their exact size. "alg" (one of ours) pins the key to that algorithm; "use" is kept;
 * "kid" is kept (and never invented on import).
 */
#ifndef YH_TOKEN_JWK_H
#define YH_TOKEN_JWK_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "common/err.h"
#include "token/jose_alg.h"

#define TOK_JWK_MAX (16 * 1024)    /* largest single JWK document accepted, in bytes */
#define TOK_JWKS_MAX (256 * 1024)  /* largest JWKS document accepted, in bytes */
#define TOK_JWKS_MAX_KEYS 32       /* most keys kept from one JWKS */
#define TOK_THUMBPRINT_LEN 43      /* base64url of a SHA-256 digest */

/* Flags for tok_jwks_parse. */
#define TOK_JWKS_STRICT 1u /* reject the set on a key that would otherwise be skipped */

/* Builds a key from a parsed JWK object. Public or private depending on "d".
 * *out is owned by the caller (tok_key_free).
 *   YH_ERR_INVALID      not an object, a required member missing or not a string, bad
 *                       base64url, wrong member size, point not on the curve, private
 *                       part not matching the public part, "alg"/"use"/"kid" malformed
 *   YH_ERR_UNSUPPORTED  unknown kty or crv (incl. "oct": HMAC keys never exist here),
 *                       "alg" not one of ours or not of the key's family, RSA multi-prime
 *   YH_ERR_KEY          RSA modulus under TOK_RSA_MIN_BITS or over TOK_RSA_MAX_BITS, or
 *                       an even/too small exponent */
int tok_jwk_import(const json_t *jwk, struct tok_key **out) YH_WUR;

/* Parses a JWK document (at most TOK_JWK_MAX bytes, duplicate names rejected) and imports
 * it as tok_jwk_import does. YH_ERR_TOO_LONG when over the limit. */
int tok_jwk_parse(const char *json, size_t len, struct tok_key **out) YH_WUR;

/* Exports key as a new JWK object (*out: caller json_decref's it; when private, the
 * object holds secrets: it is the caller's job not to log it). Members: kty, crv, x, y
 * (or n, e), the private members when private is true (YH_ERR_KEY if the key has none),
 * and kid, alg, use when set. */
int tok_jwk_export(const struct tok_key *key, bool private, json_t **out) YH_WUR;

/* Computes the RFC 7638 JWK thumbprint (SHA-256 over the required public members in
 * lexicographic order, no whitespace) as unpadded base64url into out (NUL-terminated,
 * TOK_THUMBPRINT_LEN characters). */
int tok_jwk_thumbprint(const struct tok_key *key, char out[TOK_THUMBPRINT_LEN + 1]) YH_WUR;

/* Sets the kid to the key's RFC 7638 thumbprint (43 base64url characters). */
int tok_key_set_kid_thumbprint(struct tok_key *key) YH_WUR;

/* Generates a fresh key for alg. rsa_bits is used for RS256/PS256 only (0 means 2048;
 * else TOK_RSA_MIN_BITS..TOK_RSA_MAX_BITS). The new key has alg set, use "sig", and its
 * kid set to its RFC 7638 thumbprint. *out is owned by the caller (tok_key_free).
 * YH_ERR_UNSUPPORTED for TOK_ALG_UNSET, YH_ERR_INVALID for bad rsa_bits, YH_ERR_CRYPTO. */
int tok_key_generate(enum tok_alg alg, unsigned rsa_bits, struct tok_key **out) YH_WUR;

/* Parses a JWK Set document {"keys":[...]} (at most TOK_JWKS_MAX bytes, duplicate names
 * rejected anywhere) into set, which must be initialized (tok_keyset_init or zeroed): it
 * is emptied first, and left empty on error. Keys this library cannot use are skipped, per RFC 7517 section 5: unknown
 * kty or crv, "oct", "use" other than "sig", an "alg" not one of ours, RSA under 2048
 * bits. With TOK_JWKS_STRICT any such key fails the whole set (YH_ERR_UNSUPPORTED or
 * YH_ERR_KEY). A key of a supported type that is malformed (bad point, bad base64url)
 * always fails the whole set (YH_ERR_INVALID). Two keys with the same kid: YH_ERR_EXISTS.
 * More than TOK_JWKS_MAX_KEYS entries in "keys": YH_ERR_LIMIT. */
int tok_jwks_parse(const char *json, size_t len, unsigned flags, struct tok_keyset *set)
    YH_WUR;

/* Exports the set as a new {"keys":[...]} object of public JWKs (never private members).
 * *out: caller json_decref's it. */
int tok_jwks_export(const struct tok_keyset *set, json_t **out) YH_WUR;

/* Exports the set as {"keys":[...]} of public JWKs (never private members), serialized
 * compactly: *out is a malloc'd NUL-terminated string. */
int tok_jwks_export_string(const struct tok_keyset *set, char **out) YH_WUR;

#endif
