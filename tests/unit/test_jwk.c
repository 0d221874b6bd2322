/*
 * Unit tests for token/jwk: import/export round trips for every key type, RFC 7638 and
 * RFC 8037 thumbprints, invalid keys (off-curve points, short RSA, unknown kty), "alg" and
 * "use", and JWK Set parsing with its limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "common/b64.h"
#include "common/buf.h"
#include "common/err.h"
#include "token/jose_alg.h"
#include "token/jwk.h"
#include "token/jws.h"

#define RFC7638_N                                                                      \
	"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc" \
	"_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGj" \
	"QR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-" \
	"bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"

#define A3_X "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
#define A3_Y "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
#define A3_D "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"
#define ED_X "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
#define ED_D "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"

static const enum tok_alg all_algs[] = {
	TOK_ALG_ES256, TOK_ALG_EDDSA, TOK_ALG_RS256, TOK_ALG_PS256, TOK_ALG_SM2,
};
#define N_ALGS (sizeof(all_algs) / sizeof(all_algs[0]))

static struct tok_key *keys[TOK_ALG_COUNT];

static int
setup_keys(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ALGS; i++)
		if (tok_key_generate(all_algs[i], 0, &keys[all_algs[i]]) != 0)
			return -1;
	return 0;
}

static int
teardown_keys(void **state)
{
	(void)state;
	for (size_t i = 0; i < TOK_ALG_COUNT; i++) {
		tok_key_free(keys[i]);
		keys[i] = NULL;
	}
	return 0;
}

static int
parse(const char *json, struct tok_key **out)
{
	return tok_jwk_parse(json, strlen(json), out);
}

/* Imports json and expects want; frees any key. */
static void
expect_import(const char *json, int want)
{
	struct tok_key *k = NULL;
	int r = parse(json, &k);

	if (r != want)
		fail_msg("import gave %s, wanted %s: %.200s", yh_errname(r), yh_errname(want), json);
	if (r != 0)
		assert_null(k);
	tok_key_free(k);
}

/* Signs with a, verifies with b (directly over bytes). */
static void
sign_verify(const struct tok_key *a, const struct tok_key *b, enum tok_alg alg, int want)
{
	unsigned char sig[TOK_SIG_MAX];
	size_t siglen = 0;

	assert_int_equal(tok_key_sign(a, alg, "msg", 3, sig, sizeof(sig), &siglen), 0);
	assert_int_equal(tok_key_verify(b, TOK_ALGSET_ALL, alg, "msg", 3, sig, siglen), want);
}

/* ---- thumbprints ---- */

static void
test_rfc7638_thumbprint(void **state)
{
	static const char jwk[] = "{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\","
	    "\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}";
	struct tok_key *k = NULL;
	char tp[TOK_THUMBPRINT_LEN + 1];

	(void)state;
	assert_int_equal(parse(jwk, &k), 0);
	assert_int_equal(tok_key_bits(k), 2048);
	assert_string_equal(tok_key_kid(k), "2011-04-29");
	assert_int_equal(tok_key_alg(k), TOK_ALG_RS256);
	assert_int_equal(tok_jwk_thumbprint(k, tp), 0);
	assert_string_equal(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	/* The second time it comes from the key's memo: the same value. */
	memset(tp, 'x', sizeof(tp));
	assert_true(tok_key_thumb_get(k, tp, sizeof(tp)));
	assert_string_equal(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	assert_false(tok_key_thumb_get(k, tp, TOK_THUMBPRINT_LEN));   /* does not fit */
	memset(tp, 'x', sizeof(tp));
	assert_int_equal(tok_jwk_thumbprint(k, tp), 0);
	assert_string_equal(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	assert_int_equal(tok_key_set_kid_thumbprint(k), 0);
	assert_string_equal(tok_key_kid(k), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	tok_key_free(k);
}

static void
test_rfc8037_thumbprint(void **state)
{
	static const char jwk[] = "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" ED_X "\"}";
	struct tok_key *k = NULL;
	char tp[TOK_THUMBPRINT_LEN + 1];

	(void)state;
	assert_int_equal(parse(jwk, &k), 0);
	assert_int_equal(tok_jwk_thumbprint(k, tp), 0);
	/* RFC 8037 appendix A.3 */
	assert_string_equal(tp, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
	tok_key_free(k);
}

static void
test_generated_kid_is_thumbprint(void **state)
{
	char tp[TOK_THUMBPRINT_LEN + 1];

	(void)state;
	for (size_t i = 0; i < N_ALGS; i++) {
		struct tok_key *k = keys[all_algs[i]];

		assert_int_equal(tok_jwk_thumbprint(k, tp), 0);
		assert_int_equal(strlen(tp), TOK_THUMBPRINT_LEN);
		assert_string_equal(tok_key_kid(k), tp);
	}
	/* Different keys, different thumbprints. */
	assert_string_not_equal(tok_key_kid(keys[TOK_ALG_RS256]), tok_key_kid(keys[TOK_ALG_PS256]));
}

/* ---- round trips ---- */

static void
test_round_trip_every_type(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ALGS; i++) {
		enum tok_alg alg = all_algs[i];
		struct tok_key *priv = NULL, *pub = NULL;
		json_t *jp = NULL, *jq = NULL;
		char tp1[TOK_THUMBPRINT_LEN + 1], tp2[TOK_THUMBPRINT_LEN + 1];

		assert_int_equal(tok_jwk_export(keys[alg], true, &jp), 0);
		assert_non_null(json_object_get(jp, "d"));
		assert_string_equal(json_string_value(json_object_get(jp, "alg")), tok_alg_name(alg));
		assert_string_equal(json_string_value(json_object_get(jp, "use")), "sig");
		assert_int_equal(tok_jwk_export(keys[alg], false, &jq), 0);
		assert_null(json_object_get(jq, "d"));
		assert_null(json_object_get(jq, "p"));
		assert_int_equal(tok_jwk_import(jp, &priv), 0);
		assert_int_equal(tok_jwk_import(jq, &pub), 0);
		assert_true(tok_key_is_private(priv));
		assert_false(tok_key_is_private(pub));
		assert_int_equal(tok_key_alg(pub), alg);
		assert_int_equal(tok_key_use(pub), TOK_USE_SIG);
		assert_string_equal(tok_key_kid(pub), tok_key_kid(keys[alg]));
		assert_int_equal(tok_jwk_thumbprint(pub, tp1), 0);
		assert_int_equal(tok_jwk_thumbprint(priv, tp2), 0);
		assert_string_equal(tp1, tp2);
		/* The imported private key signs what the original public half verifies, and
		 * the other way round. */
		sign_verify(priv, keys[alg], alg, 0);
		sign_verify(keys[alg], pub, alg, 0);
		/* A public key cannot export private members. */
		json_decref(jp);
		jp = NULL;
		assert_int_equal(tok_jwk_export(pub, true, &jp), YH_ERR_KEY);
		assert_null(jp);
		json_decref(jq);
		tok_key_free(priv);
		tok_key_free(pub);
	}
}

static void
test_sm2_jwk_shape(void **state)
{
	json_t *j = NULL;
	struct tok_key *k = NULL;
	char *s;

	(void)state;
	assert_int_equal(tok_jwk_export(keys[TOK_ALG_SM2], false, &j), 0);
	assert_string_equal(json_string_value(json_object_get(j, "kty")), "EC");
	assert_string_equal(json_string_value(json_object_get(j, "crv")), "SM2");
	assert_int_equal(json_string_length(json_object_get(j, "x")), 43);
	assert_int_equal(json_string_length(json_object_get(j, "y")), 43);
	/* The same coordinates claimed as P-256 are not a P-256 point. */
	assert_int_equal(json_object_set_new(j, "crv", json_string("P-256")), 0);
	assert_int_equal(json_object_del(j, "alg"), 0);
	s = json_dumps(j, JSON_COMPACT);
	assert_non_null(s);
	assert_int_not_equal(parse(s, &k), 0);
	assert_null(k);
	free(s);
	json_decref(j);
}

static void
test_rfc7515_a3_private_key(void **state)
{
	static const char jwk[] = "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X "\",\"y\":\""
	    A3_Y "\",\"d\":\"" A3_D "\"}";
	static const char pubjwk[] = "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X
	    "\",\"y\":\"" A3_Y "\"}";
	struct tok_key *k = NULL, *p = NULL;
	json_t *j = NULL;

	(void)state;
	assert_int_equal(parse(jwk, &k), 0);
	assert_int_equal(parse(pubjwk, &p), 0);
	assert_true(tok_key_is_private(k));
	assert_int_equal(tok_key_alg(k), TOK_ALG_UNSET);
	assert_int_equal(tok_key_sign_alg(k), TOK_ALG_ES256);
	sign_verify(k, p, TOK_ALG_ES256, 0);
	/* Export gives the same members back. */
	assert_int_equal(tok_jwk_export(k, true, &j), 0);
	assert_string_equal(json_string_value(json_object_get(j, "x")), A3_X);
	assert_string_equal(json_string_value(json_object_get(j, "y")), A3_Y);
	assert_string_equal(json_string_value(json_object_get(j, "d")), A3_D);
	assert_null(json_object_get(j, "kid"));
	json_decref(j);
	tok_key_free(k);
	tok_key_free(p);
}

/* ---- invalid keys ---- */

static void
test_point_not_on_curve(void **state)
{
	json_t *j = NULL;
	char *s;

	(void)state;
	/* P-256: y of another point, or x reused as y. */
	expect_import("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X "\",\"y\":\"" A3_X "\"}",
	    YH_ERR_INVALID);
	expect_import("{\"kty\":\"EC\",\"crv\":\"P-256\","
	    "\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
	    "\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}", YH_ERR_INVALID);
	/* SM2: a real SM2 point with y changed. */
	assert_int_equal(tok_jwk_export(keys[TOK_ALG_SM2], false, &j), 0);
	assert_int_equal(json_object_set(j, "y", json_object_get(j, "x")), 0);
	s = json_dumps(j, JSON_COMPACT);
	assert_non_null(s);
	expect_import(s, YH_ERR_INVALID);
	free(s);
	json_decref(j);
	/* Ed25519: y = 2 has no x; y = p is not canonical; y = 1 with the sign bit set is
	 * "negative zero". y = 3 is a point (control). */
	expect_import("{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
	    "\"x\":\"AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}", YH_ERR_INVALID);
	expect_import("{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
	    "\"x\":\"7f_______________________________________38\"}", YH_ERR_INVALID);
	expect_import("{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
	    "\"x\":\"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAIA\"}", YH_ERR_INVALID);
	expect_import("{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
	    "\"x\":\"AwAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}", 0);
}

static void
test_private_part_must_match(void **state)
{
	json_t *a = NULL, *b = NULL;
	char *s;

	(void)state;
	/* EC: d of the RFC key with the public point of another. */
	assert_int_equal(tok_jwk_export(keys[TOK_ALG_ES256], false, &a), 0);
	assert_int_equal(json_object_set_new(a, "d", json_string(A3_D)), 0);
	s = json_dumps(a, JSON_COMPACT);
	expect_import(s, YH_ERR_INVALID);
	free(s);
	json_decref(a);
	/* Ed25519: the RFC 8037 d with another x. */
	assert_int_equal(tok_jwk_export(keys[TOK_ALG_EDDSA], false, &a), 0);
	assert_int_equal(json_object_set_new(a, "d", json_string(ED_D)), 0);
	s = json_dumps(a, JSON_COMPACT);
	expect_import(s, YH_ERR_INVALID);
	free(s);
	json_decref(a);
	expect_import("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" ED_X "\",\"d\":\"" ED_D "\"}",
	    0);
	/* RSA: the private members of one key with the modulus of another. */
	assert_int_equal(tok_jwk_export(keys[TOK_ALG_RS256], true, &a), 0);
	assert_int_equal(tok_jwk_export(keys[TOK_ALG_PS256], false, &b), 0);
	assert_int_equal(json_object_set(a, "n", json_object_get(b, "n")), 0);
	assert_int_equal(json_object_del(a, "alg"), 0);
	s = json_dumps(a, JSON_COMPACT);
	expect_import(s, YH_ERR_INVALID);
	free(s);
	/* RSA with d but no CRT members. */
	assert_int_equal(json_object_set(a, "n", json_object_get(b, "n")), 0);
	assert_int_equal(json_object_del(a, "qi"), 0);
	s = json_dumps(a, JSON_COMPACT);
	expect_import(s, YH_ERR_INVALID);
	free(s);
	json_decref(a);
	json_decref(b);
}

/* An RSA JWK of the given size, made with OpenSSL directly. */
static char *
rsa_jwk_bits(unsigned bits)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	BIGNUM *n = NULL;
	unsigned char buf[1024];
	char enc[2048], *out;
	int len;

	assert_non_null(pk);
	assert_int_equal(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n), 1);
	len = BN_bn2bin(n, buf);
	yh_b64url_encode(buf, (size_t)len, enc);
	out = malloc(strlen(enc) + 64);
	assert_non_null(out);
	assert_true(snprintf(out, strlen(enc) + 64, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}",
	    enc) > 0);
	BN_free(n);
	EVP_PKEY_free(pk);
	return out;
}

static void
test_rsa_limits(void **state)
{
	char *j;

	(void)state;
	j = rsa_jwk_bits(1024);
	expect_import(j, YH_ERR_KEY);
	free(j);
	j = rsa_jwk_bits(2040);
	expect_import(j, YH_ERR_KEY);
	free(j);
	/* Even exponent, exponent 1, a modulus with a leading zero byte (not minimal). */
	expect_import("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAA\"}", YH_ERR_KEY);
	expect_import("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQ\"}", YH_ERR_KEY);
	expect_import("{\"kty\":\"RSA\",\"n\":\"AA" RFC7638_N "\",\"e\":\"AQAB\"}", YH_ERR_INVALID);
	expect_import("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\"}", YH_ERR_INVALID);
	/* Multi-prime keys are not supported. */
	expect_import("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\",\"oth\":[]}",
	    YH_ERR_UNSUPPORTED);
}

/* A JWK with modulus n (e = 65537). */
static char *
rsa_jwk_of(const BIGNUM *n)
{
	unsigned char buf[1100];
	char enc[1500], *out;
	int len = BN_bn2bin(n, buf);

	assert_true(len > 0 && (size_t)len <= sizeof(buf));
	yh_b64url_encode(buf, (size_t)len, enc);
	out = malloc(strlen(enc) + 64);
	assert_non_null(out);
	snprintf(out, strlen(enc) + 64, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}", enc);
	return out;
}

/* A fuzzed modulus (several factors) that OpenSSL's randomized public check accepted
 * once and refused the next time; the CI input of fuzz_jwk. */
static const char malformed_n_jwk[] =
	"{\"kty\":\"RSA\",\"n\":\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx"
	"4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSfc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5J"
	"sGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY328QQMicAtaSqzs8KJZ"
	"gnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFPksINHaQ-G_"
	"xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw\",\""
	"e\":\"AQAB\",\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}";

/* Moduli that cannot be n = pq are refused, and every key gets the same answer at
 * every load. */
static void
test_rsa_modulus(void **state)
{
	BIGNUM *n = BN_new(), *q = BN_new();
	BN_CTX *ctx = BN_CTX_new();
	struct tok_key *k = NULL;
	char *j;
	int first;

	(void)state;
	assert_non_null(n);
	assert_non_null(q);
	assert_non_null(ctx);
	/* A small factor: 751 * an odd 2047-bit number. */
	assert_int_equal(BN_rand(q, 2047, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ODD), 1);
	assert_int_equal(BN_copy(n, q) != NULL, 1);
	assert_int_equal(BN_mul_word(n, 751), 1);
	j = rsa_jwk_of(n);
	expect_import(j, YH_ERR_INVALID);
	free(j);
	/* A prime modulus: anyone can compute the private exponent. */
	assert_int_equal(BN_generate_prime_ex(n, 2048, 0, NULL, NULL, NULL), 1);
	j = rsa_jwk_of(n);
	expect_import(j, YH_ERR_INVALID);
	free(j);
	/* The same verdict fifty times over. */
	first = parse(malformed_n_jwk, &k);
	tok_key_free(k);
	for (int i = 0; i < 50; i++) {
		k = NULL;
		assert_int_equal(parse(malformed_n_jwk, &k), first);
		tok_key_free(k);
	}
	/* A real key still imports. */
	j = rsa_jwk_bits(2048);
	expect_import(j, 0);
	free(j);
	BN_CTX_free(ctx);
	BN_free(q);
	BN_free(n);
}

static void
test_unknown_kty_and_malformed(void **state)
{
	(void)state;
	expect_import("{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}", YH_ERR_UNSUPPORTED);
	expect_import("{\"kty\":\"DSA\"}", YH_ERR_UNSUPPORTED);
	expect_import("{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"AA\",\"y\":\"AA\"}",
	    YH_ERR_UNSUPPORTED);
	expect_import("{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"" ED_X "\"}",
	    YH_ERR_UNSUPPORTED);
	expect_import("{\"crv\":\"Ed25519\",\"x\":\"" ED_X "\"}", YH_ERR_INVALID);
	expect_import("{\"kty\":5}", YH_ERR_INVALID);
	expect_import("{\"kty\":\"EC\",\"x\":\"" A3_X "\",\"y\":\"" A3_Y "\"}", YH_ERR_INVALID);
	expect_import("[]", YH_ERR_INVALID);
	expect_import("{\"kty\":\"OKP\"", YH_ERR_INVALID);
	/* Strict base64url: padding, standard alphabet, wrong sizes, a number. */
	expect_import("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" ED_X "=\"}", YH_ERR_INVALID);
	expect_import("{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
	    "\"x\":\"11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}", YH_ERR_INVALID);
	expect_import("{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
	    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHUR\"}", YH_ERR_INVALID);
	expect_import("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" ED_X "AA\"}", YH_ERR_INVALID);
	expect_import("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":1}", YH_ERR_INVALID);
	/* Duplicate member names. */
	expect_import("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" ED_X "\",\"x\":\"" ED_X
	    "\"}", YH_ERR_INVALID);
}

static void
test_alg_and_use(void **state)
{
	struct tok_key *k = NULL;

	(void)state;
	/* alg pins the key. */
	assert_int_equal(parse("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\","
	    "\"alg\":\"PS256\"}", &k), 0);
	assert_true(tok_key_can_alg(k, TOK_ALG_PS256));
	assert_false(tok_key_can_alg(k, TOK_ALG_RS256));
	tok_key_free(k);
	/* alg of another family, HMAC, unknown. */
	expect_import("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" ED_X "\",\"alg\":\"ES256\"}",
	    YH_ERR_UNSUPPORTED);
	expect_import("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\",\"alg\":\"HS256\"}",
	    YH_ERR_UNSUPPORTED);
	expect_import("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\",\"alg\":\"RS512\"}",
	    YH_ERR_UNSUPPORTED);
	expect_import("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" ED_X "\",\"alg\":7}",
	    YH_ERR_INVALID);
	/* use "enc" keeps the key from signatures. */
	assert_int_equal(parse("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" ED_X "\","
	    "\"use\":\"enc\"}", &k), 0);
	assert_int_equal(tok_key_use(k), TOK_USE_ENC);
	assert_false(tok_key_can_alg(k, TOK_ALG_EDDSA));
	tok_key_free(k);
	expect_import("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" ED_X "\",\"use\":\"xyz\"}",
	    YH_ERR_UNSUPPORTED);
	/* kid must be printable. */
	expect_import("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" ED_X "\",\"kid\":\"a\\nb\"}",
	    YH_ERR_INVALID);
	expect_import("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" ED_X "\",\"kid\":\"\"}",
	    YH_ERR_INVALID);
}

/* ---- JWK Sets ---- */

static void
test_jwks_round_trip(void **state)
{
	struct tok_keyset set, back;
	char *s = NULL, *tok = NULL;
	struct tok_jws jws;

	(void)state;
	tok_keyset_init(&set);
	tok_keyset_init(&back);
	for (size_t i = 0; i < N_ALGS; i++)
		assert_int_equal(tok_keyset_add(&set, keys[all_algs[i]]), 0);
	assert_int_equal(tok_jwks_export_string(&set, &s), 0);
	assert_null(strstr(s, "\"d\""));
	assert_null(strstr(s, "\"p\""));
	assert_int_equal(tok_jwks_parse(s, strlen(s), TOK_JWKS_STRICT, &back), 0);
	assert_int_equal(back.n, N_ALGS);
	for (size_t i = 0; i < N_ALGS; i++) {
		const struct tok_key *k = tok_keyset_find(&back, tok_key_kid(keys[all_algs[i]]));

		assert_non_null(k);
		assert_false(tok_key_is_private(k));
		assert_int_equal(tok_key_alg(k), all_algs[i]);
		assert_int_equal(tok_jws_sign(keys[all_algs[i]], "JWT", "{}", 2, &tok), 0);
		assert_int_equal(tok_jws_verify(tok, strlen(tok), &back, TOK_ALGSET_ALL, &jws), 0);
		assert_ptr_equal(jws.key, k);
		tok_jws_clear(&jws);
		free(tok);
	}
	free(s);
	/* Parsing again replaces the contents. */
	assert_int_equal(tok_jwks_parse("{\"keys\":[]}", 11, 0, &back), 0);
	assert_int_equal(back.n, 0);
	tok_keyset_clear(&back);
	tok_keyset_clear(&set);
}

static void
test_jwks_skips_and_strict(void **state)
{
	static const char doc[] = "{\"keys\":["
	    "{\"kty\":\"oct\",\"k\":\"c2VjcmV0\",\"kid\":\"h\"},"
	    "{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"AA\",\"y\":\"AA\",\"kid\":\"p384\"},"
	    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" ED_X "\",\"kid\":\"enc\",\"use\":\"enc\"},"
	    "{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\",\"kid\":\"r\",\"alg\":\"RS512\"},"
	    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" ED_X "\",\"kid\":\"ed\"},"
	    "{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\",\"kid\":\"2011-04-29\"}"
	    "]}";
	struct tok_keyset set;

	(void)state;
	tok_keyset_init(&set);
	assert_int_equal(tok_jwks_parse(doc, strlen(doc), 0, &set), 0);
	assert_int_equal(set.n, 2);
	assert_non_null(tok_keyset_find(&set, "ed"));
	assert_non_null(tok_keyset_find(&set, "2011-04-29"));
	assert_null(tok_keyset_find(&set, "h"));
	assert_null(tok_keyset_find(&set, "enc"));
	assert_int_not_equal(tok_jwks_parse(doc, strlen(doc), TOK_JWKS_STRICT, &set), 0);
	assert_int_equal(set.n, 0);
	tok_keyset_clear(&set);
}

static void
test_jwks_rejects(void **state)
{
	struct tok_keyset set;
	struct yh_buf b;
	char *big;

	(void)state;
	tok_keyset_init(&set);
	/* A supported but broken key fails the whole set. */
	{
		static const char broken[] = "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
		    "\"x\":\"AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"kid\":\"b\"}]}";

		assert_int_equal(tok_jwks_parse(broken, strlen(broken), 0, &set), YH_ERR_INVALID);
	}
	/* Duplicate kid. */
	yh_buf_init(&b, 1 << 20);
	assert_int_equal(yh_buf_printf(&b, "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
	    "\"x\":\"%s\",\"kid\":\"a\"},{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\","
	    "\"kid\":\"a\"}]}", ED_X, ED_X), 0);
	assert_int_equal(tok_jwks_parse(b.data, b.len, 0, &set), YH_ERR_EXISTS);
	assert_int_equal(set.n, 0);
	/* Too many keys. */
	yh_buf_reset(&b);
	assert_int_equal(yh_buf_puts(&b, "{\"keys\":["), 0);
	for (int i = 0; i <= TOK_JWKS_MAX_KEYS; i++)
		assert_int_equal(yh_buf_printf(&b, "%s{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
		    "\"x\":\"%s\",\"kid\":\"k%d\"}", i ? "," : "", ED_X, i), 0);
	assert_int_equal(yh_buf_puts(&b, "]}"), 0);
	assert_int_equal(tok_jwks_parse(b.data, b.len, 0, &set), YH_ERR_LIMIT);
	yh_buf_free(&b);
	/* Too big. */
	big = calloc(1, TOK_JWKS_MAX + 2);
	assert_non_null(big);
	memset(big, ' ', TOK_JWKS_MAX + 1);
	assert_int_equal(tok_jwks_parse(big, TOK_JWKS_MAX + 1, 0, &set), YH_ERR_TOO_LONG);
	{
		struct tok_key *k = NULL;

		assert_int_equal(tok_jwk_parse(big, TOK_JWK_MAX + 1, &k), YH_ERR_TOO_LONG);
		assert_null(k);
	}
	free(big);
	/* Shape. */
	assert_int_equal(tok_jwks_parse("{\"keys\":{}}", 11, 0, &set), YH_ERR_INVALID);
	assert_int_equal(tok_jwks_parse("[]", 2, 0, &set), YH_ERR_INVALID);
	assert_int_equal(tok_jwks_parse("{\"keys\":[],\"keys\":[]}", 21, 0, &set), YH_ERR_INVALID);
	assert_int_equal(tok_jwks_parse("{\"keys\":[5]}", 12, 0, &set), YH_ERR_INVALID);
	tok_keyset_clear(&set);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7638_thumbprint),
		cmocka_unit_test(test_rfc8037_thumbprint),
		cmocka_unit_test(test_generated_kid_is_thumbprint),
		cmocka_unit_test(test_round_trip_every_type),
		cmocka_unit_test(test_sm2_jwk_shape),
		cmocka_unit_test(test_rfc7515_a3_private_key),
		cmocka_unit_test(test_point_not_on_curve),
		cmocka_unit_test(test_private_part_must_match),
		cmocka_unit_test(test_rsa_limits),
		cmocka_unit_test(test_rsa_modulus),
		cmocka_unit_test(test_unknown_kty_and_malformed),
		cmocka_unit_test(test_alg_and_use),
		cmocka_unit_test(test_jwks_round_trip),
		cmocka_unit_test(test_jwks_skips_and_strict),
		cmocka_unit_test(test_jwks_rejects),
	};

	return cmocka_run_group_tests(tests, setup_keys, teardown_keys);
}
