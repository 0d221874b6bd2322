/* JWT minting (ID, access, logout tokens) and checking. See token/jwt.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/evp.h>

#include "common/b64.h"
#include "common/secmem.h"
#include "common/timeutil.h"
#include "token/jws.h"
#include "token/jwt.h"

/* Claim types. */
enum ctype { CT_STR, CT_NUM, CT_AUD, CT_STRARR, CT_OBJ };

#define K_ID (1u << TOK_KIND_ID)
#define K_AT (1u << TOK_KIND_ACCESS)
#define K_LO (1u << TOK_KIND_LOGOUT)

/* Every claim this library knows: its JSON type, and the kinds that require it. The
 * names are also the ones "extra" claims may not redefine. */
static const struct claim_rule {
	const char *name;
	enum ctype type;
	unsigned required;
} claim_rules[] = {
	{ "iss", CT_STR, K_ID | K_AT | K_LO },
	{ "sub", CT_STR, K_ID | K_AT },
	{ "aud", CT_AUD, K_ID | K_AT | K_LO },
	{ "exp", CT_NUM, K_ID | K_AT | K_LO },
	{ "iat", CT_NUM, K_ID | K_AT | K_LO },
	{ "nbf", CT_NUM, 0 },
	{ "jti", CT_STR, K_AT | K_LO },
	{ "client_id", CT_STR, K_AT },
	{ "scope", CT_STR, 0 },
	{ "auth_time", CT_NUM, 0 },
	{ "nonce", CT_STR, 0 },
	{ "acr", CT_STR, 0 },
	{ "amr", CT_STRARR, 0 },
	{ "azp", CT_STR, 0 },
	{ "sid", CT_STR, 0 },
	{ "at_hash", CT_STR, 0 },
	{ "c_hash", CT_STR, 0 },
	{ "events", CT_OBJ, K_LO },
};

#define NRULES (sizeof(claim_rules) / sizeof(claim_rules[0]))

/* yh_errf then rc, with the arguments in this file's order. */
#define why_set(why, whysz, rc, ...) YH_FAIL(rc, why, whysz, __VA_ARGS__)

/* --- hashes and ids ----------------------------------------------------------------- */

static const EVP_MD *
token_hash_md(enum tok_alg alg)
{
	switch (alg) {
	case TOK_ALG_ES256:
	case TOK_ALG_RS256:
	case TOK_ALG_PS256:
		return EVP_sha256();
	case TOK_ALG_EDDSA:
		return EVP_sha512();
	case TOK_ALG_SM2:
		return EVP_sm3();
	default:
		return NULL;
	}
}

int
tok_token_hash(enum tok_alg alg, const char *value, size_t len,
    char out[TOK_TOKEN_HASH_MAX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	const EVP_MD *type = token_hash_md(alg);

	out[0] = '\0';
	if (type == NULL)
		return YH_ERR_UNSUPPORTED;
	if (EVP_Digest(value, len, md, &mdlen, type, NULL) != 1 || mdlen / 2 > 32)
		return YH_ERR_CRYPTO;
	yh_b64url_encode(md, mdlen / 2, out);
	return 0;
}

int
tok_jti_new(char out[TOK_JTI_LEN + 1])
{
	unsigned char rnd[16];
	int rc;

	out[0] = '\0';
	if ((rc = yh_random(rnd, sizeof(rnd))) != 0)
		return rc;
	yh_b64url_encode(rnd, sizeof(rnd), out);
	return 0;
}

/* --- minting ------------------------------------------------------------------------ */

int
tok_jwt_sign(const struct tok_key *key, const char *typ, const json_t *claims, char **out)
{
	char *payload;
	int rc;

	*out = NULL;
	if (key == NULL || !json_is_object(claims))
		return YH_ERR_INVALID;
	payload = json_dumps(claims, JSON_COMPACT);
	if (payload == NULL)
		return YH_ERR_ALLOC;
	rc = tok_jws_sign(key, typ, payload, strlen(payload), out);
	free(payload);
	return rc;
}

static bool
is_registered(const char *name)
{
	for (size_t i = 0; i < NRULES; i++)
		if (strcmp(claim_rules[i].name, name) == 0)
			return true;
	return false;
}

/* Sets a string claim when s is not NULL. */
static int
put_str(json_t *c, const char *name, const char *s)
{
	if (s == NULL)
		return 0;
	return json_object_set_new(c, name, json_string(s)) == 0 ? 0 : YH_ERR_INVALID;
}

/* Sets an integer claim when v is not 0. */
static int
put_int(json_t *c, const char *name, int64_t v)
{
	if (v == 0)
		return 0;
	return json_object_set_new(c, name, json_integer(v)) == 0 ? 0 : YH_ERR_ALLOC;
}

/* Sets an array-of-strings claim (n > 0), or a single string when one_as_str and n == 1. */
static int
put_strs(json_t *c, const char *name, const char *const *v, size_t n, bool one_as_str)
{
	json_t *a;

	if (n == 0)
		return 0;
	if (v == NULL)
		return YH_ERR_INVALID;
	if (n == 1 && one_as_str)
		return v[0] == NULL ? YH_ERR_INVALID : put_str(c, name, v[0]);
	if ((a = json_array()) == NULL)
		return YH_ERR_ALLOC;
	for (size_t i = 0; i < n; i++) {
		if (v[i] == NULL || json_array_append_new(a, json_string(v[i])) != 0) {
			json_decref(a);
			return YH_ERR_INVALID;
		}
	}
	return json_object_set_new(c, name, a) == 0 ? 0 : YH_ERR_ALLOC;
}

/* Adds extra claims; none may redefine a registered claim. */
static int
put_extra(json_t *c, const json_t *extra)
{
	const char *name;
	json_t *v;

	if (extra == NULL)
		return 0;
	if (!json_is_object(extra))
		return YH_ERR_INVALID;
	json_object_foreach((json_t *)extra, name, v) {
		if (is_registered(name) || json_object_get(c, name) != NULL)
			return YH_ERR_INVALID;
		if (json_object_set(c, name, v) != 0)
			return YH_ERR_ALLOC;
	}
	return 0;
}

/* iat, exp = iat + lifetime. */
static int
put_times(json_t *c, int64_t iat, int64_t lifetime)
{
	if (lifetime <= 0)
		return YH_ERR_INVALID;
	if (iat == 0)
		iat = yh_now();
	if (iat < 0 || iat > INT64_MAX - lifetime)
		return YH_ERR_INVALID;
	if (json_object_set_new(c, "iat", json_integer(iat)) != 0 ||
	    json_object_set_new(c, "exp", json_integer(iat + lifetime)) != 0)
		return YH_ERR_ALLOC;
	return 0;
}

static int
put_hash(json_t *c, const char *name, enum tok_alg alg, const char *value)
{
	char h[TOK_TOKEN_HASH_MAX];
	int rc;

	if (value == NULL)
		return 0;
	if ((rc = tok_token_hash(alg, value, strlen(value), h)) != 0)
		return rc;
	return put_str(c, name, h);
}

/* jti: the given one or a fresh one. */
static int
put_jti(json_t *c, const char *jti)
{
	char fresh[TOK_JTI_LEN + 1];
	int rc;

	if (jti == NULL) {
		if ((rc = tok_jti_new(fresh)) != 0)
			return rc;
		jti = fresh;
	}
	return put_str(c, "jti", jti);
}

int
tok_mint_id_token(const struct tok_key *key, const struct tok_id_token *t, char **out)
{
	enum tok_alg alg;
	json_t *c = NULL;
	int rc = YH_ERR_INVALID;

	*out = NULL;
	if (key == NULL || t == NULL || t->iss == NULL || t->sub == NULL || t->aud == NULL)
		return YH_ERR_INVALID;
	alg = tok_key_sign_alg(key);
	if ((c = json_object()) == NULL)
		return YH_ERR_ALLOC;
	if ((rc = put_str(c, "iss", t->iss)) != 0 || (rc = put_str(c, "sub", t->sub)) != 0 ||
	    (rc = put_str(c, "aud", t->aud)) != 0 ||
	    (rc = put_times(c, t->iat, t->lifetime)) != 0 ||
	    (rc = put_int(c, "auth_time", t->auth_time)) != 0 ||
	    (rc = put_str(c, "nonce", t->nonce)) != 0 || (rc = put_str(c, "acr", t->acr)) != 0 ||
	    (rc = put_strs(c, "amr", t->amr, t->amr_n, false)) != 0 ||
	    (rc = put_str(c, "azp", t->azp)) != 0 || (rc = put_str(c, "sid", t->sid)) != 0 ||
	    (rc = put_hash(c, "at_hash", alg, t->access_token)) != 0 ||
	    (rc = put_hash(c, "c_hash", alg, t->code)) != 0 ||
	    (rc = put_extra(c, t->extra)) != 0)
		goto out;
	rc = tok_jwt_sign(key, "JWT", c, out);
out:
	json_decref(c);
	return rc;
}

int
tok_mint_access_token(const struct tok_key *key, const struct tok_access_token *t,
    char **out)
{
	json_t *c = NULL;
	int rc = YH_ERR_INVALID;

	*out = NULL;
	if (key == NULL || t == NULL || t->iss == NULL || t->sub == NULL ||
	    t->client_id == NULL || t->aud_n == 0)
		return YH_ERR_INVALID;
	if ((c = json_object()) == NULL)
		return YH_ERR_ALLOC;
	if ((rc = put_str(c, "iss", t->iss)) != 0 || (rc = put_str(c, "sub", t->sub)) != 0 ||
	    (rc = put_strs(c, "aud", t->aud, t->aud_n, true)) != 0 ||
	    (rc = put_times(c, t->iat, t->lifetime)) != 0 || (rc = put_jti(c, t->jti)) != 0 ||
	    (rc = put_str(c, "client_id", t->client_id)) != 0 ||
	    (rc = put_str(c, "scope", t->scope)) != 0 ||
	    (rc = put_int(c, "auth_time", t->auth_time)) != 0 ||
	    (rc = put_str(c, "acr", t->acr)) != 0 ||
	    (rc = put_strs(c, "amr", t->amr, t->amr_n, false)) != 0 ||
	    (rc = put_extra(c, t->extra)) != 0)
		goto out;
	rc = tok_jwt_sign(key, "at+jwt", c, out);
out:
	json_decref(c);
	return rc;
}

int
tok_mint_logout_token(const struct tok_key *key, const struct tok_logout_token *t,
    char **out)
{
	json_t *c = NULL, *events = NULL;
	int rc = YH_ERR_INVALID;

	*out = NULL;
	if (key == NULL || t == NULL || t->iss == NULL || t->aud == NULL ||
	    (t->sub == NULL && t->sid == NULL))
		return YH_ERR_INVALID;
	if ((c = json_object()) == NULL)
		return YH_ERR_ALLOC;
	rc = YH_ERR_ALLOC;
	events = json_pack("{s:{}}", TOK_BCL_EVENT);
	if (events == NULL)
		goto out;
	if ((rc = put_str(c, "iss", t->iss)) != 0 || (rc = put_str(c, "aud", t->aud)) != 0 ||
	    (rc = put_times(c, t->iat, t->lifetime > 0 ? t->lifetime : TOK_LOGOUT_LIFETIME)) != 0 ||
	    (rc = put_jti(c, t->jti)) != 0 || (rc = put_str(c, "sub", t->sub)) != 0 ||
	    (rc = put_str(c, "sid", t->sid)) != 0)
		goto out;
	if (json_object_set(c, "events", events) != 0) {
		rc = YH_ERR_ALLOC;
		goto out;
	}
	rc = tok_jwt_sign(key, "logout+jwt", c, out);
out:
	json_decref(events);
	json_decref(c);
	return rc;
}

/* --- checking ----------------------------------------------------------------------- */

/* An array of strings (non-empty when nonempty is set). */
static bool
is_strarr(const json_t *v, bool nonempty)
{
	size_t i;
	const json_t *e;

	if (!json_is_array(v) || (nonempty && json_array_size(v) == 0))
		return false;
	json_array_foreach(v, i, e)
		if (!json_is_string(e))
			return false;
	return true;
}

static bool
type_ok(const json_t *v, enum ctype t)
{
	switch (t) {
	case CT_STR:
		return json_is_string(v);
	case CT_NUM:
		return json_is_integer(v) || (json_is_real(v) && isfinite(json_real_value(v)));
	case CT_OBJ:
		return json_is_object(v);
	case CT_AUD:
		return json_is_string(v) || is_strarr(v, true);
	case CT_STRARR:
		return is_strarr(v, false);
	}
	return false;
}

/* A NumericDate as whole seconds, rounded up: with whole-second clocks, now < exp holds
 * exactly when now < ceil(exp), and likewise for nbf and iat. Out-of-range values clamp. */
static int64_t
num_secs(const json_t *v)
{
	double d;
	int64_t t;

	if (json_is_integer(v))
		return (int64_t)json_integer_value(v);
	d = json_real_value(v);
	if (d >= 9.0e18)
		return INT64_MAX;
	if (d <= -9.0e18)
		return INT64_MIN;
	t = (int64_t)d;  /* truncates toward zero */
	return (double)t < d ? t + 1 : t;
}

/* Presence and types of every known claim. */
static int
check_types(const json_t *c, enum tok_kind kind, char *why, size_t whysz)
{
	for (size_t i = 0; i < NRULES; i++) {
		const struct claim_rule *r = &claim_rules[i];
		const json_t *v = json_object_get(c, r->name);
		if (v == NULL) {
			if ((r->required & (1u << kind)) != 0)
				return why_set(why, whysz, YH_ERR_INVALID, "missing claim \"%s\"",
				    r->name);
			continue;
		}
		if (!type_ok(v, r->type))
			return why_set(why, whysz, YH_ERR_INVALID, "claim \"%s\" has the wrong type",
			    r->name);
	}
	return 0;
}

/* Compares a typ header with a media type name, case-insensitively, "application/"
 * optional (RFC 7515 section 4.1.9). */
static bool
typ_is(const char *typ, const char *want)
{
	if (typ == NULL)
		return false;
	if (strncasecmp(typ, "application/", 12) == 0)
		typ += 12;
	return strcasecmp(typ, want) == 0;
}

static int
check_typ(const char *typ, const struct tok_check *chk, char *why, size_t whysz)
{
	bool ok;

	switch (chk->kind) {
	case TOK_KIND_ID:
		ok = typ == NULL || typ_is(typ, "JWT");
		break;
	case TOK_KIND_ACCESS:
		ok = typ_is(typ, "at+jwt");
		break;
	case TOK_KIND_LOGOUT:
		ok = typ_is(typ, "logout+jwt");
		break;
	default:
		ok = chk->typ == NULL || typ_is(typ, chk->typ);
		break;
	}
	if (!ok)
		return why_set(why, whysz, YH_ERR_DENIED, "typ \"%.40s\" is wrong for this token",
		    typ != NULL ? typ : "(none)");
	return 0;
}

static bool
aud_contains(const json_t *aud, const char *want)
{
	size_t i;
	const json_t *e;

	if (json_is_string(aud))
		return strcmp(json_string_value(aud), want) == 0;
	json_array_foreach(aud, i, e)
		if (strcmp(json_string_value(e), want) == 0)
			return true;
	return false;
}

static int
check_iss_aud(const json_t *c, const struct tok_check *chk, char *why, size_t whysz)
{
	const json_t *iss = json_object_get(c, "iss"), *aud = json_object_get(c, "aud");
	const json_t *azp = json_object_get(c, "azp");

	if (chk->iss != NULL && (iss == NULL || strcmp(json_string_value(iss), chk->iss) != 0))
		return why_set(why, whysz, YH_ERR_DENIED, "issuer is not %.100s", chk->iss);
	if (chk->aud != NULL && (aud == NULL || !aud_contains(aud, chk->aud)))
		return why_set(why, whysz, YH_ERR_DENIED, "audience does not include %.100s",
		    chk->aud);
	/* OIDC Core 3.1.3.7 (5): an azp present must be our client_id. */
	if (chk->kind == TOK_KIND_ID && azp != NULL && strcmp(json_string_value(azp), chk->aud) != 0)
		return why_set(why, whysz, YH_ERR_DENIED, "azp is not %.100s", chk->aud);
	return 0;
}

static int
check_times(const json_t *c, const struct tok_check *chk, char *why, size_t whysz)
{
	const json_t *exp = json_object_get(c, "exp"), *nbf = json_object_get(c, "nbf");
	const json_t *iat = json_object_get(c, "iat");
	int64_t now = chk->now != 0 ? chk->now : yh_now(), L = chk->leeway;

	if (exp != NULL && now - L >= num_secs(exp))
		return why_set(why, whysz, YH_ERR_EXPIRED, "token expired");
	if (nbf != NULL && now + L < num_secs(nbf))
		return why_set(why, whysz, YH_ERR_EXPIRED, "token not valid yet (nbf)");
	if (iat != NULL && num_secs(iat) > now + L)
		return why_set(why, whysz, YH_ERR_EXPIRED, "token issued in the future (iat)");
	return 0;
}

static int
check_hash(const json_t *c, const char *claim, const char *value, enum tok_alg alg,
    char *why, size_t whysz)
{
	const char *got = json_string_value(json_object_get(c, claim));
	char want[TOK_TOKEN_HASH_MAX];

	if (value == NULL)
		return 0;
	if (got == NULL)
		return why_set(why, whysz, YH_ERR_INVALID, "missing claim \"%s\"", claim);
	if (tok_token_hash(alg, value, strlen(value), want) != 0 || strcmp(got, want) != 0)
		return why_set(why, whysz, YH_ERR_DENIED, "%s does not match", claim);
	return 0;
}

/* The rules that belong to one kind. */
static int
check_kind(const json_t *c, enum tok_alg alg, const struct tok_check *chk, char *why,
    size_t whysz)
{
	const json_t *ev, *nonce;
	int rc;

	switch (chk->kind) {
	case TOK_KIND_ID:
		if (json_object_get(c, "events") != NULL)
			return why_set(why, whysz, YH_ERR_DENIED, "an ID token has no events claim");
		nonce = json_object_get(c, "nonce");
		if (chk->nonce != NULL &&
		    (nonce == NULL || strcmp(json_string_value(nonce), chk->nonce) != 0))
			return why_set(why, whysz, YH_ERR_DENIED, "nonce does not match");
		if ((rc = check_hash(c, "at_hash", chk->access_token, alg, why, whysz)) != 0)
			return rc;
		return check_hash(c, "c_hash", chk->code, alg, why, whysz);
	case TOK_KIND_LOGOUT:
		if (json_object_get(c, "nonce") != NULL)
			return why_set(why, whysz, YH_ERR_DENIED, "a logout token has no nonce");
		if (json_object_get(c, "sub") == NULL && json_object_get(c, "sid") == NULL)
			return why_set(why, whysz, YH_ERR_INVALID, "logout token without sub or sid");
		ev = json_object_get(json_object_get(c, "events"), TOK_BCL_EVENT);
		if (!json_is_object(ev))
			return why_set(why, whysz, YH_ERR_INVALID, "events lacks the back-channel "
			    "logout event");
		return 0;
	default:
		return 0;
	}
}

int
tok_claims_check(const json_t *claims, const char *typ, enum tok_alg alg,
    const struct tok_check *chk, char *why, size_t whysz)
{
	int rc;

	if (why != NULL && whysz > 0)
		why[0] = '\0';
	if (chk == NULL || chk->leeway < 0 || chk->leeway > TOK_LEEWAY_MAX ||
	    (unsigned)chk->kind > TOK_KIND_LOGOUT ||
	    (chk->kind != TOK_KIND_JWT && (chk->iss == NULL || chk->aud == NULL)))
		return why_set(why, whysz, YH_ERR_INTERNAL, "token check misconfigured");
	if (!json_is_object(claims))
		return why_set(why, whysz, YH_ERR_INVALID, "claims are not a JSON object");
	if ((rc = check_typ(typ, chk, why, whysz)) != 0 ||
	    (rc = check_types(claims, chk->kind, why, whysz)) != 0 ||
	    (rc = check_iss_aud(claims, chk, why, whysz)) != 0 ||
	    (rc = check_times(claims, chk, why, whysz)) != 0)
		return rc;
	return check_kind(claims, alg, chk, why, whysz);
}

static const char *
jws_reason(int rc)
{
	switch (rc) {
	case YH_ERR_TOO_LONG:
		return "token too large";
	case YH_ERR_INVALID:
		return "malformed token";
	case YH_ERR_DENIED:
		return "token header names a key source (jwk/jku/x5u/x5c)";
	case YH_ERR_UNSUPPORTED:
		return "algorithm not allowed, or crit header present";
	case YH_ERR_NOT_FOUND:
		return "no key for this token (kid or alg)";
	case YH_ERR_AUTH:
		return "bad signature";
	default:
		return yh_strerror(rc);
	}
}

int
tok_jwt_verify(const char *token, size_t len, const struct tok_keyset *keys,
    unsigned allow, const struct tok_check *chk, struct tok_jwt *out, char *why,
    size_t whysz)
{
	struct tok_jws jws;
	json_error_t je;
	json_t *claims = NULL;
	const char *typ;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&jws, 0, sizeof(jws));
	if ((rc = tok_jws_verify(token, len, keys, allow, &jws)) != 0)
		return why_set(why, whysz, rc, "%s", jws_reason(rc));
	claims = json_loadb((const char *)jws.payload, jws.payload_len, JSON_REJECT_DUPLICATES,
	    &je);
	if (claims == NULL || !json_is_object(claims)) {
		rc = why_set(why, whysz, YH_ERR_INVALID, "payload is not a JSON object");
		goto out;
	}
	typ = json_string_value(json_object_get(jws.header, "typ"));
	if ((rc = tok_claims_check(claims, typ, jws.alg, chk, why, whysz)) != 0)
		goto out;
	out->header = json_incref(jws.header);
	out->claims = claims;
	out->alg = jws.alg;
	out->key = jws.key;
	claims = NULL;
out:
	json_decref(claims);
	tok_jws_clear(&jws);
	return rc;
}

void
tok_jwt_clear(struct tok_jwt *jwt)
{
	if (jwt == NULL)
		return;
	json_decref(jwt->header);
	json_decref(jwt->claims);
	memset(jwt, 0, sizeof(*jwt));
}
