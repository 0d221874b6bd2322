/* Unit tests for token/jwt: claims validation, token hashes, minting and checking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <jansson.h>

#include "common/err.h"
#include "token/jwk.h"
#include "token/jws.h"
#include "token/jwt.h"

#define NOW 1800000000
#define ISS "https://id.example.gov.cn"
#define CLIENT "portal-app"

static json_t *
claims_of(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &je);

	if (j == NULL)
		fail_msg("bad test JSON: %s", je.text);
	return j;
}

/* A valid ID token claims set at NOW. */
static json_t *
id_claims(void)
{
	return claims_of("{\"iss\":\"" ISS "\",\"sub\":\"u1\",\"aud\":\"" CLIENT "\","
	    "\"exp\":1800000300,\"iat\":1800000000,\"nonce\":\"n-0S6\",\"amr\":[\"pwd\"],"
	    "\"acr\":\"urn:yihao:loa:2\",\"auth_time\":1799999990}");
}

static struct tok_check
chk_of(enum tok_kind kind)
{
	struct tok_check c;

	memset(&c, 0, sizeof(c));
	c.kind = kind;
	c.iss = ISS;
	c.aud = CLIENT;
	c.now = NOW;
	return c;
}

static int
check(const json_t *c, const char *typ, const struct tok_check *chk)
{
	char why[200];
	int rc = tok_claims_check(c, typ, TOK_ALG_ES256, chk, why, sizeof(why));

	if (rc != 0)
		assert_true(why[0] != '\0');  /* every failure says why */
	return rc;
}

static void
test_time_window(void **state)
{
	json_t *c = id_claims();
	struct tok_check k = chk_of(TOK_KIND_ID);

	(void)state;
	assert_int_equal(check(c, NULL, &k), 0);
	assert_int_equal(check(c, "JWT", &k), 0);
	/* expired: now == exp is already too late */
	k.now = 1800000300;
	assert_int_equal(check(c, NULL, &k), YH_ERR_EXPIRED);
	k.now = 1800000299;
	assert_int_equal(check(c, NULL, &k), 0);
	/* leeway keeps it valid a little longer, not forever */
	k.now = 1800000330;
	k.leeway = 30;
	assert_int_equal(check(c, NULL, &k), YH_ERR_EXPIRED);
	k.now = 1800000329;
	assert_int_equal(check(c, NULL, &k), 0);
	/* iat in the future */
	k.leeway = 0;
	k.now = 1799999999;
	assert_int_equal(check(c, NULL, &k), YH_ERR_EXPIRED);
	k.leeway = 1;
	assert_int_equal(check(c, NULL, &k), 0);
	/* nbf */
	k = chk_of(TOK_KIND_ID);
	json_object_set_new(c, "nbf", json_integer(NOW + 10));
	assert_int_equal(check(c, NULL, &k), YH_ERR_EXPIRED);
	k.leeway = 9;
	assert_int_equal(check(c, NULL, &k), YH_ERR_EXPIRED);
	k.leeway = 10;
	assert_int_equal(check(c, NULL, &k), 0);
	/* NumericDate may be fractional */
	json_object_set_new(c, "nbf", json_real(NOW - 0.5));
	json_object_set_new(c, "exp", json_real(NOW + 0.5));
	k.leeway = 0;
	assert_int_equal(check(c, NULL, &k), 0);
	json_object_set_new(c, "exp", json_real(NOW - 0.5));
	assert_int_equal(check(c, NULL, &k), YH_ERR_EXPIRED);
	/* leeway bounds */
	k.leeway = TOK_LEEWAY_MAX + 1;
	assert_int_equal(check(c, NULL, &k), YH_ERR_INTERNAL);
	k.leeway = -1;
	assert_int_equal(check(c, NULL, &k), YH_ERR_INTERNAL);
	json_decref(c);
}

static void
test_iss_aud(void **state)
{
	json_t *c = id_claims();
	struct tok_check k = chk_of(TOK_KIND_ID);

	(void)state;
	k.iss = "https://evil.example";
	assert_int_equal(check(c, NULL, &k), YH_ERR_DENIED);
	k.iss = ISS "/";  /* exact match only */
	assert_int_equal(check(c, NULL, &k), YH_ERR_DENIED);
	k = chk_of(TOK_KIND_ID);
	k.aud = "other-app";
	assert_int_equal(check(c, NULL, &k), YH_ERR_DENIED);
	k = chk_of(TOK_KIND_ID);
	json_object_set_new(c, "aud", json_pack("[ss]", "other-app", CLIENT));
	assert_int_equal(check(c, NULL, &k), 0);
	json_object_set_new(c, "aud", json_pack("[s]", "other-app"));
	assert_int_equal(check(c, NULL, &k), YH_ERR_DENIED);
	json_object_set_new(c, "aud", json_pack("[]"));
	assert_int_equal(check(c, NULL, &k), YH_ERR_INVALID);
	json_object_set_new(c, "aud", json_pack("[si]", CLIENT, 5));
	assert_int_equal(check(c, NULL, &k), YH_ERR_INVALID);
	/* azp present must be us */
	json_object_set_new(c, "aud", json_pack("[ss]", "other-app", CLIENT));
	json_object_set_new(c, "azp", json_string("other-app"));
	assert_int_equal(check(c, NULL, &k), YH_ERR_DENIED);
	json_object_set_new(c, "azp", json_string(CLIENT));
	assert_int_equal(check(c, NULL, &k), 0);
	/* a typed check without iss or aud is a configuration bug, never a pass */
	k.iss = NULL;
	assert_int_equal(check(c, NULL, &k), YH_ERR_INTERNAL);
	k = chk_of(TOK_KIND_ACCESS);
	k.aud = NULL;
	assert_int_equal(check(c, "at+jwt", &k), YH_ERR_INTERNAL);
	/* the generic kind checks only what it is given */
	k = chk_of(TOK_KIND_JWT);
	k.iss = NULL;
	k.aud = NULL;
	assert_int_equal(check(c, "whatever", &k), 0);
	k.typ = "at+jwt";
	assert_int_equal(check(c, "whatever", &k), YH_ERR_DENIED);
	assert_int_equal(check(c, "application/AT+JWT", &k), 0);
	json_decref(c);
}

static void
test_missing_and_types(void **state)
{
	static const char *const id_req[] = { "iss", "sub", "aud", "exp", "iat" };
	struct tok_check k = chk_of(TOK_KIND_ID);
	json_t *c;

	(void)state;
	for (size_t i = 0; i < sizeof(id_req) / sizeof(id_req[0]); i++) {
		c = id_claims();
		json_object_del(c, id_req[i]);
		assert_int_equal(check(c, NULL, &k), YH_ERR_INVALID);
		json_decref(c);
	}
	/* wrong JSON types */
	c = id_claims();
	json_object_set_new(c, "exp", json_string("1800000300"));
	assert_int_equal(check(c, NULL, &k), YH_ERR_INVALID);
	json_decref(c);
	c = id_claims();
	json_object_set_new(c, "sub", json_integer(42));
	assert_int_equal(check(c, NULL, &k), YH_ERR_INVALID);
	json_decref(c);
	c = id_claims();
	json_object_set_new(c, "amr", json_string("pwd"));
	assert_int_equal(check(c, NULL, &k), YH_ERR_INVALID);
	json_decref(c);
	c = id_claims();
	json_object_set_new(c, "auth_time", json_true());
	assert_int_equal(check(c, NULL, &k), YH_ERR_INVALID);
	json_decref(c);
	c = id_claims();
	json_object_set_new(c, "nonce", json_null());
	assert_int_equal(check(c, NULL, &k), YH_ERR_INVALID);
	json_decref(c);
	/* not an object at all */
	c = json_array();
	assert_int_equal(check(c, NULL, &k), YH_ERR_INVALID);
	json_decref(c);
	/* access tokens need jti and client_id too */
	k = chk_of(TOK_KIND_ACCESS);
	c = id_claims();
	json_object_del(c, "nonce");
	json_object_set_new(c, "client_id", json_string(CLIENT));
	assert_int_equal(check(c, "at+jwt", &k), YH_ERR_INVALID);
	json_object_set_new(c, "jti", json_string("j1"));
	assert_int_equal(check(c, "at+jwt", &k), 0);
	json_object_del(c, "client_id");
	assert_int_equal(check(c, "at+jwt", &k), YH_ERR_INVALID);
	json_decref(c);
}

static void
test_typ_confusion(void **state)
{
	json_t *id = id_claims();
	json_t *at = claims_of("{\"iss\":\"" ISS "\",\"sub\":\"u1\",\"aud\":\"" CLIENT "\","
	    "\"exp\":1800000300,\"iat\":1800000000,\"jti\":\"j\",\"client_id\":\"c\"}");
	json_t *lo = claims_of("{\"iss\":\"" ISS "\",\"aud\":\"" CLIENT "\",\"sid\":\"s1\","
	    "\"exp\":1800000300,\"iat\":1800000000,\"jti\":\"j\",\"events\":{\"" TOK_BCL_EVENT
	    "\":{}}}");
	struct tok_check kid = chk_of(TOK_KIND_ID), kat = chk_of(TOK_KIND_ACCESS);
	struct tok_check klo = chk_of(TOK_KIND_LOGOUT);

	(void)state;
	assert_int_equal(check(id, NULL, &kid), 0);
	assert_int_equal(check(at, "at+jwt", &kat), 0);
	assert_int_equal(check(at, "application/at+jwt", &kat), 0);
	assert_int_equal(check(lo, "logout+jwt", &klo), 0);
	/* an ID token is not an access token, whatever its claims */
	assert_int_equal(check(at, NULL, &kat), YH_ERR_DENIED);
	assert_int_equal(check(at, "JWT", &kat), YH_ERR_DENIED);
	/* an access token is not an ID token */
	assert_int_equal(check(at, "at+jwt", &kid), YH_ERR_DENIED);
	/* a logout token is neither */
	assert_int_equal(check(lo, "logout+jwt", &kid), YH_ERR_DENIED);
	assert_int_equal(check(lo, "logout+jwt", &kat), YH_ERR_DENIED);
	assert_int_equal(check(id, NULL, &klo), YH_ERR_DENIED);
	assert_int_equal(check(id, "JWT", &klo), YH_ERR_DENIED);
	/* logout token rules */
	json_object_set_new(lo, "nonce", json_string("n"));
	assert_int_equal(check(lo, "logout+jwt", &klo), YH_ERR_DENIED);
	json_object_del(lo, "nonce");
	json_object_del(lo, "sid");
	assert_int_equal(check(lo, "logout+jwt", &klo), YH_ERR_INVALID);
	json_object_set_new(lo, "sub", json_string("u1"));
	assert_int_equal(check(lo, "logout+jwt", &klo), 0);
	/* an untyped token carrying events is not an ID token */
	assert_int_equal(check(lo, NULL, &kid), YH_ERR_DENIED);
	json_object_set_new(lo, "events", json_pack("{s:{}}", "urn:other"));
	assert_int_equal(check(lo, "logout+jwt", &klo), YH_ERR_INVALID);
	json_object_set_new(lo, "events", json_pack("{s:s}", TOK_BCL_EVENT, "x"));
	assert_int_equal(check(lo, "logout+jwt", &klo), YH_ERR_INVALID);
	json_object_del(lo, "events");
	assert_int_equal(check(lo, "logout+jwt", &klo), YH_ERR_INVALID);
	json_object_set_new(lo, "events", json_pack("{s:{}}", TOK_BCL_EVENT));
	json_object_del(lo, "exp");
	assert_int_equal(check(lo, "logout+jwt", &klo), YH_ERR_INVALID);
	json_decref(id);
	json_decref(at);
	json_decref(lo);
}

/* The base64url left half of a digest computed by the openssl command line. */
static void
openssl_half(const char *md, const char *value, char *out, size_t outsz)
{
	char cmd[512];
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof(cmd), "printf %%s '%s' | openssl dgst -%s -binary | "
	    "head -c $(( $(printf %%s '%s' | openssl dgst -%s -binary | wc -c) / 2 )) | "
	    "base64 -w0 | tr '+/' '-_' | tr -d '='", value, md, value, md);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, outsz - 1, p);
	out[n] = '\0';
	assert_int_equal(pclose(p), 0);
	assert_true(n > 10);
}

static void
test_token_hash(void **state)
{
	char h[TOK_TOKEN_HASH_MAX], want[128];
	const char *code = "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk";
	const char *at = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
	const char *v = "dNZX1hEZ9wBCzNL40Upu646bdzQA";

	(void)state;
	/* OpenID Connect Core 1.0 appendix A examples (RS256 -> SHA-256) */
	assert_int_equal(tok_token_hash(TOK_ALG_RS256, at, strlen(at), h), 0);
	assert_string_equal(h, "77QmUPtjPfzWtF2AnpK9RQ");
	assert_int_equal(tok_token_hash(TOK_ALG_RS256, code, strlen(code), h), 0);
	assert_string_equal(h, "LDktKdoQak3Pk0cnXxCltA");
	assert_int_equal(tok_token_hash(TOK_ALG_ES256, code, strlen(code), h), 0);
	assert_string_equal(h, "LDktKdoQak3Pk0cnXxCltA");
	assert_int_equal(tok_token_hash(TOK_ALG_PS256, code, strlen(code), h), 0);
	assert_string_equal(h, "LDktKdoQak3Pk0cnXxCltA");
	/* EdDSA (Ed25519) -> SHA-512, left 32 bytes */
	assert_int_equal(tok_token_hash(TOK_ALG_EDDSA, v, strlen(v), h), 0);
	assert_string_equal(h, "8xltSlOGYrWy8W9yNvRlEth1i_bXW-JROWPLvCv5zog");
	openssl_half("sha512", at, want, sizeof(want));
	assert_int_equal(tok_token_hash(TOK_ALG_EDDSA, at, strlen(at), h), 0);
	assert_string_equal(h, want);
	/* SM2 -> SM3, left 16 bytes, checked against the openssl command line */
	openssl_half("sm3", at, want, sizeof(want));
	assert_int_equal(tok_token_hash(TOK_ALG_SM2, at, strlen(at), h), 0);
	assert_string_equal(h, want);
	assert_int_equal(strlen(h), 22);
	openssl_half("sha256", v, want, sizeof(want));
	assert_int_equal(tok_token_hash(TOK_ALG_ES256, v, strlen(v), h), 0);
	assert_string_equal(h, want);
	assert_int_equal(tok_token_hash(TOK_ALG_UNSET, v, strlen(v), h), YH_ERR_UNSUPPORTED);
	/* jti */
	{
		char a[TOK_JTI_LEN + 1], b[TOK_JTI_LEN + 1];
		assert_int_equal(tok_jti_new(a), 0);
		assert_int_equal(tok_jti_new(b), 0);
		assert_int_equal(strlen(a), TOK_JTI_LEN);
		assert_string_not_equal(a, b);
	}
}

struct keys {
	struct tok_key *priv;
	struct tok_keyset pub;
};

static void
keys_make(struct keys *k, enum tok_alg alg)
{
	struct tok_key *pub = NULL;

	assert_int_equal(tok_key_generate(alg, 0, &k->priv), 0);
	assert_int_equal(tok_key_public(k->priv, &pub), 0);
	tok_keyset_init(&k->pub);
	assert_int_equal(tok_keyset_add(&k->pub, pub), 0);
	tok_key_free(pub);
}

static void
keys_free(struct keys *k)
{
	tok_key_free(k->priv);
	tok_keyset_clear(&k->pub);
}

static int
verify(const struct keys *k, const char *tok, const struct tok_check *chk, struct tok_jwt *out)
{
	char why[200];
	struct tok_jwt tmp;
	int rc;

	if (out == NULL)
		out = &tmp;
	rc = tok_jwt_verify(tok, strlen(tok), &k->pub, TOK_ALGSET_ALL, chk, out, why, sizeof(why));
	if (out == &tmp)
		tok_jwt_clear(&tmp);
	return rc;
}

static void
mint_all_kinds(enum tok_alg alg)
{
	static const char *const amr[] = { "pwd", "otp" };
	static const char *const aud[] = { "https://api.example.gov.cn" };
	struct keys k;
	struct tok_id_token it;
	struct tok_access_token at;
	struct tok_logout_token lt;
	struct tok_check c;
	struct tok_jwt j;
	char *id = NULL, *acc = NULL, *lo = NULL, h[TOK_TOKEN_HASH_MAX];
	json_t *extra = json_pack("{s:s}", "name", "张三");
	int64_t now = time(NULL);

	keys_make(&k, alg);
	memset(&it, 0, sizeof(it));
	it.iss = ISS;
	it.sub = "pairwise-1";
	it.aud = CLIENT;
	it.lifetime = 300;
	it.auth_time = now - 5;
	it.nonce = "n-0S6_WzA2Mj";
	it.acr = "urn:yihao:loa:3";
	it.amr = amr;
	it.amr_n = 2;
	it.sid = "sess-1";
	it.access_token = "AT-value";
	it.code = "code-value";
	it.extra = extra;
	assert_int_equal(tok_mint_id_token(k.priv, &it, &id), 0);

	c = chk_of(TOK_KIND_ID);
	c.now = 0;
	c.nonce = "n-0S6_WzA2Mj";
	c.access_token = "AT-value";
	c.code = "code-value";
	memset(&j, 0, sizeof(j));
	assert_int_equal(verify(&k, id, &c, &j), 0);
	assert_int_equal(j.alg, alg);
	assert_string_equal(json_string_value(json_object_get(j.header, "typ")), "JWT");
	assert_string_equal(json_string_value(json_object_get(j.claims, "sub")), "pairwise-1");
	assert_string_equal(json_string_value(json_object_get(j.claims, "name")), "张三");
	assert_string_equal(json_string_value(json_object_get(j.claims, "sid")), "sess-1");
	assert_int_equal(json_array_size(json_object_get(j.claims, "amr")), 2);
	assert_int_equal(json_integer_value(json_object_get(j.claims, "exp")) -
	    json_integer_value(json_object_get(j.claims, "iat")), 300);
	assert_int_equal(tok_token_hash(alg, "AT-value", 8, h), 0);
	assert_string_equal(json_string_value(json_object_get(j.claims, "at_hash")), h);
	tok_jwt_clear(&j);
	tok_jwt_clear(&j);
	c.nonce = "other";
	assert_int_equal(verify(&k, id, &c, NULL), YH_ERR_DENIED);
	c.nonce = NULL;
	c.access_token = "AT-other";
	assert_int_equal(verify(&k, id, &c, NULL), YH_ERR_DENIED);
	c.access_token = NULL;
	c.code = "code-other";
	assert_int_equal(verify(&k, id, &c, NULL), YH_ERR_DENIED);
	c = chk_of(TOK_KIND_ACCESS);
	c.now = 0;
	assert_int_equal(verify(&k, id, &c, NULL), YH_ERR_DENIED);

	memset(&at, 0, sizeof(at));
	at.iss = ISS;
	at.sub = "pairwise-1";
	at.client_id = CLIENT;
	at.aud = aud;
	at.aud_n = 1;
	at.scope = "openid profile";
	at.lifetime = 600;
	at.acr = "urn:yihao:loa:3";
	at.amr = amr;
	at.amr_n = 1;
	assert_int_equal(tok_mint_access_token(k.priv, &at, &acc), 0);
	c = chk_of(TOK_KIND_ACCESS);
	c.now = 0;
	c.aud = aud[0];
	assert_int_equal(verify(&k, acc, &c, &j), 0);
	assert_string_equal(json_string_value(json_object_get(j.header, "typ")), "at+jwt");
	assert_string_equal(json_string_value(json_object_get(j.claims, "client_id")), CLIENT);
	assert_string_equal(json_string_value(json_object_get(j.claims, "aud")), aud[0]);
	assert_int_equal(strlen(json_string_value(json_object_get(j.claims, "jti"))), TOK_JTI_LEN);
	tok_jwt_clear(&j);
	c = chk_of(TOK_KIND_ID);
	c.now = 0;
	c.aud = aud[0];
	assert_int_equal(verify(&k, acc, &c, NULL), YH_ERR_DENIED);

	memset(&lt, 0, sizeof(lt));
	lt.iss = ISS;
	lt.aud = CLIENT;
	lt.sid = "sess-1";
	lt.jti = "logout-1";
	assert_int_equal(tok_mint_logout_token(k.priv, &lt, &lo), 0);
	c = chk_of(TOK_KIND_LOGOUT);
	c.now = 0;
	assert_int_equal(verify(&k, lo, &c, &j), 0);
	assert_null(json_object_get(j.claims, "nonce"));
	assert_null(json_object_get(j.claims, "sub"));
	assert_string_equal(json_string_value(json_object_get(j.claims, "jti")), "logout-1");
	assert_true(json_is_object(json_object_get(json_object_get(j.claims, "events"),
	    TOK_BCL_EVENT)));
	assert_int_equal(json_integer_value(json_object_get(j.claims, "exp")) -
	    json_integer_value(json_object_get(j.claims, "iat")), TOK_LOGOUT_LIFETIME);
	tok_jwt_clear(&j);
	c = chk_of(TOK_KIND_ID);
	c.now = 0;
	assert_int_equal(verify(&k, lo, &c, NULL), YH_ERR_DENIED);

	free(id);
	free(acc);
	free(lo);
	json_decref(extra);
	keys_free(&k);
}

static void
test_mint_es256(void **state)
{
	(void)state;
	mint_all_kinds(TOK_ALG_ES256);
}

static void
test_mint_other_algs(void **state)
{
	(void)state;
	mint_all_kinds(TOK_ALG_EDDSA);
	mint_all_kinds(TOK_ALG_RS256);
	mint_all_kinds(TOK_ALG_PS256);
	mint_all_kinds(TOK_ALG_SM2);
}

static void
test_mint_errors(void **state)
{
	struct keys k;
	struct tok_id_token it;
	struct tok_logout_token lt;
	json_t *extra = json_pack("{s:s}", "aud", "sneaky");
	char *out = (char *)"x";

	(void)state;
	keys_make(&k, TOK_ALG_ES256);
	memset(&it, 0, sizeof(it));
	it.iss = ISS;
	it.sub = "s";
	it.aud = CLIENT;
	assert_int_equal(tok_mint_id_token(k.priv, &it, &out), YH_ERR_INVALID);  /* lifetime */
	assert_null(out);
	it.lifetime = 60;
	it.extra = extra;  /* may not redefine aud */
	assert_int_equal(tok_mint_id_token(k.priv, &it, &out), YH_ERR_INVALID);
	it.extra = NULL;
	it.sub = NULL;
	assert_int_equal(tok_mint_id_token(k.priv, &it, &out), YH_ERR_INVALID);
	it.sub = "s";
	/* public key cannot sign */
	assert_int_not_equal(tok_mint_id_token(k.pub.keys[0], &it, &out), 0);
	memset(&lt, 0, sizeof(lt));
	lt.iss = ISS;
	lt.aud = CLIENT;
	assert_int_equal(tok_mint_logout_token(k.priv, &lt, &out), YH_ERR_INVALID);
	assert_int_equal(tok_jwt_sign(k.priv, NULL, extra, &out), 0);
	free(out);
	{
		json_t *arr = json_array();
		assert_int_equal(tok_jwt_sign(k.priv, NULL, arr, &out), YH_ERR_INVALID);
		json_decref(arr);
	}
	json_decref(extra);
	keys_free(&k);
}

static void
test_verify_rejects(void **state)
{
	struct keys k, other;
	struct tok_id_token it;
	struct tok_check c = chk_of(TOK_KIND_ID);
	struct tok_jwt j;
	char *id = NULL, *bad, why[200];
	size_t len;

	(void)state;
	keys_make(&k, TOK_ALG_ES256);
	keys_make(&other, TOK_ALG_ES256);
	memset(&it, 0, sizeof(it));
	it.iss = ISS;
	it.sub = "s";
	it.aud = CLIENT;
	it.iat = NOW;
	it.lifetime = 60;
	assert_int_equal(tok_mint_id_token(k.priv, &it, &id), 0);
	assert_int_equal(verify(&k, id, &c, NULL), 0);
	/* other key set: no such kid */
	assert_int_equal(verify(&other, id, &c, NULL), YH_ERR_NOT_FOUND);
	/* ES256 not in the allow-list */
	memset(&j, 0, sizeof(j));
	assert_int_equal(tok_jwt_verify(id, strlen(id), &k.pub, TOK_ALGSET(TOK_ALG_RS256), &c, &j,
	    why, sizeof(why)), YH_ERR_UNSUPPORTED);
	assert_null(j.claims);
	/* tampered payload */
	bad = strdup(id);
	len = strlen(bad);
	{
		char *dot = strchr(bad, '.');
		dot[3] = dot[3] == 'A' ? 'B' : 'A';
	}
	assert_int_equal(verify(&k, bad, &c, NULL), YH_ERR_AUTH);
	/* tampered signature */
	memcpy(bad, id, len);
	bad[len - 5] = bad[len - 5] == 'A' ? 'B' : 'A';
	assert_int_equal(verify(&k, bad, &c, NULL), YH_ERR_AUTH);
	free(bad);
	/* expired at verification time */
	c.now = NOW + 60;
	assert_int_equal(tok_jwt_verify(id, strlen(id), &k.pub, TOK_ALGSET_ALL, &c, &j, why,
	    sizeof(why)), YH_ERR_EXPIRED);
	assert_non_null(strstr(why, "expired"));
	assert_null(j.claims);
	free(id);
	keys_free(&k);
	keys_free(&other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_window),
		cmocka_unit_test(test_iss_aud),
		cmocka_unit_test(test_missing_and_types),
		cmocka_unit_test(test_typ_confusion),
		cmocka_unit_test(test_token_hash),
		cmocka_unit_test(test_mint_es256),
		cmocka_unit_test(test_mint_other_algs),
		cmocka_unit_test(test_mint_errors),
		cmocka_unit_test(test_verify_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
