/*
 * JWS compact serialization (RFC 7515) over token/jose_alg.h keys.
 *
 * Parsing is strict and bounded: at most TOK_JWS_MAX bytes in all and TOK_JWS_HEADER_MAX
 * bytes of decoded header; exactly three parts; strict unpadded base64url; the header a
 * JSON object without duplicate member names; "alg" a string naming an algorithm in the
 * caller's allow-list that the chosen key's family can do; "crit" is rejected (this
 * library understands no extension); "jwk", "jku", "x5u" and "x5c" are rejected (keys are
 * never taken from the token). The verifying key comes from the caller's key set only.
 */
#ifndef YH_TOKEN_JWS_H
#define YH_TOKEN_JWS_H

#include <stddef.h>
#include <jansson.h>

#include "common/buf.h"
#include "common/err.h"
#include "token/jose_alg.h"

#define TOK_JWS_MAX 16384        /* longest compact JWS accepted or produced, in bytes */
#define TOK_JWS_HEADER_MAX 1024  /* longest decoded protected header, in bytes */

/* A verified JWS. Owns everything it points to except key; release with tok_jws_clear. */
struct tok_jws {
	json_t *header;            /* the protected header object (a reference; json_decref) */
	enum tok_alg alg;          /* the verified algorithm */
	unsigned char *payload;    /* the decoded payload, plus a NUL byte past payload_len */
	size_t payload_len;
	const struct tok_key *key; /* the key that verified: borrowed from the key set, valid
	                              while the set holds it */
};

/* Signs payload (len bytes, any content) with key under tok_key_sign_alg(key). The
 * protected header is {"alg":...,"typ":typ,"kid":kid}: typ is left out when NULL, kid
 * when the key has none. *out is a malloc'd NUL-terminated compact JWS (caller frees).
 * YH_ERR_KEY when key has no private half, YH_ERR_TOO_LONG when the token would exceed
 * TOK_JWS_MAX, YH_ERR_INVALID for a typ that is not 1..64 printable ASCII bytes without
 * '"' or '\\', YH_ERR_CRYPTO. Thread-safe. */
int tok_jws_sign(const struct tok_key *key, const char *typ, const void *payload,
    size_t len, char **out) YH_WUR;

/* Like tok_jws_sign with more protected header members: extra (may be NULL) is a JSON
 * object whose members are added after alg/typ/kid ("typ" may be given here instead of
 * through typ; both at once is YH_ERR_INVALID). extra must not contain "alg", "kid",
 * "crit", "b64", "jwk", "jku", "x5u", "x5c" (YH_ERR_INVALID), and the header must stay
 * within TOK_JWS_HEADER_MAX (YH_ERR_TOO_LONG). extra is not modified. */
int tok_jws_sign_ex(const struct tok_key *key, const char *typ, const json_t *extra,
    const void *payload, size_t len, char **out) YH_WUR;

/* A compact JWS signed without waiting for the signature (tok_jws_submit). */
struct tok_jws_job {
	struct tok_sign_job sign;
	struct yh_buf tok;     /* the signing input, then the whole token (yh_buf_cstr) */
	void (*done)(struct tok_jws_job *j, int rc);
};

/*
 * Starts signing payload as tok_jws_sign does (no extra header members), through
 * tok_key_sign_submit: j->done(j, rc) runs exactly once, with rc 0 and the NUL-terminated
 * token in j->tok, or rc < 0 (the errors of tok_jws_sign) -- later on the key holder's
 * thread when key's signer takes jobs, else before this returns. Returns 0 once started,
 * or an error of tok_jws_sign with done not called and nothing to free. j must stay alive
 * until done runs; release it then with tok_jws_job_free.
 */
int tok_jws_submit(struct tok_jws_job *j, const struct tok_key *key, const char *typ,
    const void *payload, size_t len, void (*done)(struct tok_jws_job *j, int rc)) YH_WUR;

/* Frees a submitted job's token (after done ran). */
void tok_jws_job_free(struct tok_jws_job *j);

/* Verifies the compact JWS in token (len bytes, need not be NUL-terminated) against keys
 * with algorithms limited to allow (a TOK_ALGSET bit set). The key is chosen by the
 * header "kid" (exact match); a token without kid is tried against every key in the set
 * that can do its alg. On success fills *out (clear it with tok_jws_clear); on any error
 * *out is left empty. Errors, checked in this order:
 *   YH_ERR_TOO_LONG     token over TOK_JWS_MAX or header over TOK_JWS_HEADER_MAX
 *   YH_ERR_INVALID      not three parts, bad base64url, header not a JSON object, duplicate
 *                       header names, alg/kid/typ not strings, a NUL byte
 *   YH_ERR_DENIED       header "jwk", "jku", "x5u" or "x5c" present
 *   YH_ERR_UNSUPPORTED  "crit" present, alg unknown, "none", HMAC, or not in allow
 *   YH_ERR_NOT_FOUND    kid names no key in the set, or no key in the set can do alg
 *   YH_ERR_UNSUPPORTED  the kid's key cannot do alg (other family, pinned alg, use "enc")
 *   YH_ERR_AUTH         the signature does not verify (wrong length and r/s out of range
 *                       included)
 *   YH_ERR_ALLOC, YH_ERR_CRYPTO */
int tok_jws_verify(const char *token, size_t len, const struct tok_keyset *keys,
    unsigned allow, struct tok_jws *out) YH_WUR;

/* Releases what a tok_jws holds and zeroes it. Safe on a zeroed or cleared struct. */
void tok_jws_clear(struct tok_jws *jws);

#endif
