/*
 * JWS compact serialization: build and strict, bounded parse.
 */
#include <stdlib.h>
#include <string.h>

#include "common/b64.h"
#include "common/buf.h"
#include "common/secmem.h"
#include "token/jws.h"

#define TYP_MAX 64

/* Header members that would let the token choose its own key or change how it must be
 * processed: never produced, never accepted. */
static const char *const key_naming[] = { "jwk", "jku", "x5u", "x5c" };
#define KEY_NAMING_N 4

/* True when s is 1..max printable ASCII bytes without '"' or '\\' (safe to place in
 * JSON as is). */
static bool
plain_token(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
			return false;
	}
	return true;
}

/* Checks the caller's extra header members. */
static int
check_extra(const json_t *extra, const char *typ)
{
	static const char *const reserved[] = { "alg", "kid", "crit", "b64" };

	if (extra == NULL)
		return 0;
	if (!json_is_object(extra))
		return YH_ERR_INVALID;
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (json_object_get(extra, reserved[i]) != NULL)
			return YH_ERR_INVALID;
	for (size_t i = 0; i < KEY_NAMING_N; i++)
		if (json_object_get(extra, key_naming[i]) != NULL)
			return YH_ERR_INVALID;
	if (typ != NULL && json_object_get(extra, "typ") != NULL)
		return YH_ERR_INVALID;
	return 0;
}

/* Writes the protected header JSON into hdr. */
static int
build_header(const struct tok_key *key, enum tok_alg alg, const char *typ,
    const json_t *extra, struct yh_buf *hdr)
{
	char *more = NULL;
	int r;

	if ((r = yh_buf_puts(hdr, "{\"alg\":\"")) != 0 ||
	    (r = yh_buf_puts(hdr, tok_alg_name(alg))) != 0 || (r = yh_buf_putc(hdr, '"')) != 0)
		return r;
	if (typ != NULL && ((r = yh_buf_puts(hdr, ",\"typ\":\"")) != 0 ||
	    (r = yh_buf_puts(hdr, typ)) != 0 || (r = yh_buf_putc(hdr, '"')) != 0))
		return r;
	if (tok_key_kid(key)[0] != '\0' && ((r = yh_buf_puts(hdr, ",\"kid\":\"")) != 0 ||
	    (r = yh_buf_puts(hdr, tok_key_kid(key))) != 0 || (r = yh_buf_putc(hdr, '"')) != 0))
		return r;
	if (extra != NULL && json_object_size(extra) > 0) {
		size_t n;

		if ((more = json_dumps(extra, JSON_COMPACT)) == NULL)
			return YH_ERR_ALLOC;
		n = strlen(more);
		/* "{...}" -> ",..." */
		if (n < 2 || more[0] != '{' || more[n - 1] != '}') {
			r = YH_ERR_INTERNAL;
			goto out;
		}
		if ((r = yh_buf_putc(hdr, ',')) != 0 ||
		    (r = yh_buf_append(hdr, more + 1, n - 2)) != 0)
			goto out;
	}
	r = yh_buf_putc(hdr, '}');
out:
	free(more);
	return r;
}

/* Writes the signing input of a JWS, BASE64URL(header) "." BASE64URL(payload), into tok
 * (a buffer of TOK_JWS_MAX with room left for the signature) and the algorithm into *alg:
 * the checks of tok_jws_sign_ex. */
static int
signing_input(const struct tok_key *key, const char *typ, const json_t *extra,
    const void *payload, size_t len, struct yh_buf *tok, enum tok_alg *alg)
{
	struct yh_buf hdr;
	int r;

	yh_buf_init(&hdr, TOK_JWS_HEADER_MAX);
	if (key == NULL || (payload == NULL && len > 0)) {
		r = YH_ERR_INTERNAL;
		goto out;
	}
	if (!tok_key_can_sign(key)) {
		r = YH_ERR_KEY;
		goto out;
	}
	if (typ != NULL && !plain_token(typ, TYP_MAX)) {
		r = YH_ERR_INVALID;
		goto out;
	}
	if ((r = check_extra(extra, typ)) != 0)
		goto out;
	if (len > TOK_JWS_MAX) {
		r = YH_ERR_TOO_LONG;
		goto out;
	}
	*alg = tok_key_sign_alg(key);
	if ((r = build_header(key, *alg, typ, extra, &hdr)) != 0)
		goto out;
	/* The whole token in one allocation: header.payload.signature. */
	if ((r = yh_buf_reserve(tok, yh_b64url_len(hdr.len) + yh_b64url_len(len) +
	    yh_b64url_len(TOK_SIG_MAX) + 2)) != 0 && r != YH_ERR_TOO_LONG)
		goto out;
	if ((r = yh_b64url_append(tok, (const unsigned char *)hdr.data, hdr.len)) != 0 ||
	    (r = yh_buf_putc(tok, '.')) != 0)
		goto out;
	r = yh_b64url_append(tok, payload, len);
out:
	yh_buf_free(&hdr);
	return r;
}

/* Appends "." BASE64URL(signature) to the signing input in tok. */
static int
append_sig(struct yh_buf *tok, const unsigned char *sig, size_t siglen)
{
	int r;

	if ((r = yh_buf_putc(tok, '.')) != 0)
		return r;
	return yh_b64url_append(tok, sig, siglen);
}

int
tok_jws_sign_ex(const struct tok_key *key, const char *typ, const json_t *extra,
    const void *payload, size_t len, char **out)
{
	struct yh_buf tok;
	unsigned char sig[TOK_SIG_MAX];
	size_t siglen = 0;
	enum tok_alg alg = TOK_ALG_UNSET;
	int r;

	*out = NULL;
	yh_buf_init(&tok, TOK_JWS_MAX);
	if ((r = signing_input(key, typ, extra, payload, len, &tok, &alg)) != 0 ||
	    (r = tok_key_sign(key, alg, tok.data, tok.len, sig, sizeof(sig), &siglen)) != 0 ||
	    (r = append_sig(&tok, sig, siglen)) != 0)
		goto out;
	if ((*out = yh_buf_steal(&tok)) == NULL)
		r = YH_ERR_ALLOC;
out:
	yh_buf_free(&tok);
	return r;
}

/* The signature of a submitted JWS arrived (or failed): the token is finished. */
static void
jws_signed(struct tok_sign_job *sj)
{
	struct tok_jws_job *j = (struct tok_jws_job *)((char *)sj -
	    offsetof(struct tok_jws_job, sign));
	int r = sj->rc;

	if (r == 0)
		r = append_sig(&j->tok, sj->sig, sj->siglen);
	yh_wipe(sj->sig, sizeof(sj->sig));
	tok_key_free((struct tok_key *)sj->key);
	sj->key = NULL;
	j->done(j, r);
}

int
tok_jws_submit(struct tok_jws_job *j, const struct tok_key *key, const char *typ,
    const void *payload, size_t len, void (*done)(struct tok_jws_job *j, int rc))
{
	enum tok_alg alg = TOK_ALG_UNSET;
	int r;

	memset(&j->sign, 0, sizeof(j->sign));
	yh_buf_init_secret(&j->tok, TOK_JWS_MAX);   /* it becomes a bearer token */
	if ((r = signing_input(key, typ, NULL, payload, len, &j->tok, &alg)) != 0) {
		yh_buf_free(&j->tok);
		return r;
	}
	j->done = done;
	/* The caller's snapshot of the ring may be gone before the signature is. */
	j->sign.key = tok_key_ref((struct tok_key *)key);
	j->sign.alg = alg;
	j->sign.data = j->tok.data;
	j->sign.len = j->tok.len;
	j->sign.done = jws_signed;
	tok_key_sign_submit(&j->sign);
	return 0;
}

void
tok_jws_job_free(struct tok_jws_job *j)
{
	yh_buf_free(&j->tok);
}

int
tok_jws_sign(const struct tok_key *key, const char *typ, const void *payload, size_t len,
    char **out)
{
	return tok_jws_sign_ex(key, typ, NULL, payload, len, out);
}

/* ---- verify ---- */

/* The three parts of a compact JWS, and the signing input (header.payload). */
struct parts {
	struct yh_span hdr, payload, sig;
	size_t input_len;
};

static int
split_parts(const char *token, size_t len, struct parts *p)
{
	const char *d1, *d2;

	memset(p, 0, sizeof(*p));
	if (len > TOK_JWS_MAX)
		return YH_ERR_TOO_LONG;
	if (len == 0 || memchr(token, '\0', len) != NULL)
		return YH_ERR_INVALID;
	if ((d1 = memchr(token, '.', len)) == NULL)
		return YH_ERR_INVALID;
	if ((d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token))) == NULL)
		return YH_ERR_INVALID;
	if (memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)) != NULL)
		return YH_ERR_INVALID; /* JWE (five parts) or junk */
	p->hdr = yh_span_mem(token, (size_t)(d1 - token));
	p->payload = yh_span_mem(d1 + 1, (size_t)(d2 - d1 - 1));
	p->sig = yh_span_mem(d2 + 1, len - (size_t)(d2 + 1 - token));
	p->input_len = (size_t)(d2 - token);
	if (p->hdr.len == 0 || p->sig.len == 0)
		return YH_ERR_INVALID;
	return 0;
}

/* Decodes and parses the header; checks member types and the forbidden members.
 * Returns the alg name in *alg_name (borrowed from *hdr). */
static int
parse_header(struct yh_span enc, json_t **hdr, const char **alg_name, const char **kid)
{
	unsigned char buf[TOK_JWS_HEADER_MAX];
	json_error_t err;
	json_t *h = NULL, *alg, *k, *typ;
	size_t n = 0;
	int r;

	*hdr = NULL;
	*alg_name = NULL;
	*kid = NULL;
	if (enc.len > yh_b64url_len(TOK_JWS_HEADER_MAX))
		return YH_ERR_TOO_LONG;
	if ((r = yh_b64url_decode(enc.p, enc.len, buf, sizeof(buf), &n)) != 0)
		return r;
	if ((h = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, &err)) == NULL)
		return YH_ERR_INVALID;
	alg = json_object_get(h, "alg");
	k = json_object_get(h, "kid");
	typ = json_object_get(h, "typ");
	if (!json_is_object(h) || !json_is_string(alg) || (k != NULL && !json_is_string(k)) ||
	    (typ != NULL && !json_is_string(typ))) {
		r = YH_ERR_INVALID;
		goto out;
	}
	for (size_t i = 0; i < KEY_NAMING_N; i++) {
		if (json_object_get(h, key_naming[i]) != NULL) {
			r = YH_ERR_DENIED;
			goto out;
		}
	}
	/* We understand no extension, and unencoded payloads (b64) are not supported. */
	if (json_object_get(h, "crit") != NULL || json_object_get(h, "b64") != NULL) {
		r = YH_ERR_UNSUPPORTED;
		goto out;
	}
	*alg_name = json_string_value(alg);
	*kid = k != NULL ? json_string_value(k) : NULL;
	*hdr = h;
	h = NULL;
	r = 0;
out:
	json_decref(h);
	return r;
}

/* Decodes a base64url part into a new buffer (+1 NUL byte). */
static int
decode_part(struct yh_span enc, unsigned char **out, size_t *outlen)
{
	size_t max = enc.len / 4 * 3 + 3;
	int r;

	*outlen = 0;
	if ((*out = malloc(max + 1)) == NULL)
		return YH_ERR_ALLOC;
	if ((r = yh_b64url_decode(enc.p, enc.len, *out, max, outlen)) != 0) {
		free(*out);
		*out = NULL;
		return r;
	}
	(*out)[*outlen] = '\0';
	return 0;
}

/* Verifies against the key named by kid, or against every fitting key when kid is NULL. */
static int
verify_with_set(const struct tok_keyset *keys, const char *kid, unsigned allow,
    enum tok_alg alg, const char *input, size_t input_len, const unsigned char *sig,
    size_t siglen, const struct tok_key **used)
{
	const struct tok_key *k;
	bool tried = false;
	int r;

	*used = NULL;
	if (kid != NULL) {
		if ((k = tok_keyset_find(keys, kid)) == NULL)
			return YH_ERR_NOT_FOUND;
		if (!tok_key_can_alg(k, alg))
			return YH_ERR_UNSUPPORTED;
		if ((r = tok_key_verify(k, allow, alg, input, input_len, sig, siglen)) == 0)
			*used = k;
		return r;
	}
	for (size_t i = 0; keys != NULL && i < keys->n; i++) {
		k = keys->keys[i];
		if (!tok_key_can_alg(k, alg))
			continue;
		tried = true;
		if ((r = tok_key_verify(k, allow, alg, input, input_len, sig, siglen)) == 0) {
			*used = k;
			return 0;
		}
		if (r != YH_ERR_AUTH)
			return r;
	}
	return tried ? YH_ERR_AUTH : YH_ERR_NOT_FOUND;
}

int
tok_jws_verify(const char *token, size_t len, const struct tok_keyset *keys,
    unsigned allow, struct tok_jws *out)
{
	struct parts p;
	json_t *hdr = NULL;
	const char *alg_name, *kid;
	unsigned char *payload = NULL, sig[TOK_SIG_MAX];
	size_t payload_len = 0, siglen = 0;
	const struct tok_key *used = NULL;
	enum tok_alg alg;
	int r;

	memset(out, 0, sizeof(*out));
	if (token == NULL)
		return YH_ERR_INVALID;
	if ((r = split_parts(token, len, &p)) != 0 ||
	    (r = parse_header(p.hdr, &hdr, &alg_name, &kid)) != 0)
		goto out;
	/* Decode everything before choosing a key, so malformed input is reported as such. */
	if ((r = decode_part(p.payload, &payload, &payload_len)) != 0)
		goto out;
	r = yh_b64url_decode(p.sig.p, p.sig.len, sig, sizeof(sig), &siglen);
	if (r == YH_ERR_TOO_LONG)
		r = YH_ERR_AUTH; /* longer than any signature: simply wrong */
	if (r != 0)
		goto out;
	if ((r = tok_alg_from_name(alg_name, &alg)) != 0)
		goto out;
	if (!(allow & TOK_ALGSET(alg))) {
		r = YH_ERR_UNSUPPORTED;
		goto out;
	}
	if ((r = verify_with_set(keys, kid, allow, alg, token, p.input_len, sig, siglen,
	    &used)) != 0)
		goto out;
	out->header = hdr;
	out->alg = alg;
	out->payload = payload;
	out->payload_len = payload_len;
	out->key = used;
	hdr = NULL;
	payload = NULL;
out:
	json_decref(hdr);
	free(payload);
	return r;
}

void
tok_jws_clear(struct tok_jws *jws)
{
	if (jws == NULL)
		return;
	json_decref(jws->header);
	free(jws->payload);
	memset(jws, 0, sizeof(*jws));
}
