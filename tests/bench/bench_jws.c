/*
 * JWS signing and verification rates through token/ beside the raw OpenSSL EVP rate for
 * the same key, measured in the same run, single thread.
 *
 * The raw baseline is the fastest honest hand-written EVP path, the one token/ itself
 * takes (token/jose_alg.c): a context initialized once per key (Digest{Sign,Verify}Init_ex
 * with every parameter: PSS padding and salt, the SM2 distinguishing ID) and copied with
 * EVP_MD_CTX_copy_ex for each operation, one-shot Digest{Sign,Verify} over the same
 * signing input, and for ES256 and SM2 the DER <-> raw r||s conversion a JWS needs (with
 * token/'s converter: a byte shuffle every JWS signer pays). Where an OpenSSL cannot copy
 * a context, both sides initialize afresh per operation and the output names the alg. So
 * a ratio is what token/ adds on top: the JSON header, the base64url encoding and
 * decoding, parsing and the key lookup.
 *
 * Each raw/token pair is measured in alternating slices (ROUNDS of them) so that load
 * from other processes on a shared machine affects both sides of a ratio alike.
 *
 * Usage: bench_jws [seconds-per-measurement]   (default 0.4, at most 2)
 * Prints a table and the ES256 sign ratio against raw EVP (token/'s overhead; it should
 * stay above 85%).
 * Never fails on speed: the exit status only reflects errors.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "common/b64.h"
#include "common/timeutil.h"
#include "token/jose_alg.h"
#include "token/jwk.h"
#include "token/jws.h"

static const char claims[] =
    "{\"iss\":\"https://id.example.gov.cn\",\"sub\":\"3bW2cK9sXn0pQ7rT4vY1uZ8aE5dF6gH2\","
    "\"aud\":\"portal-gov-service\",\"exp\":1790000000,\"iat\":1789996400,"
    "\"auth_time\":1789996300,\"nonce\":\"n-0S6_WzA2Mj\",\"acr\":\"urn:yihao:loa:3\","
    "\"amr\":[\"pwd\",\"otp\"],\"sid\":\"08a5019c-17e1-4977-8f42-65a12843ea02\"}";

static double budget_s = 0.4;

#define ROUNDS 8

/* Counts fn calls until deadline; adds calls and elapsed ns. Returns -1 on error. */
static int
run_until(int (*fn)(void *), void *arg, int64_t ns, long *calls, int64_t *spent)
{
	int64_t start = yh_mono_ns(), now;

	do {
		if (fn(arg) != 0)
			return -1;
		(*calls)++;
		now = yh_mono_ns();
	} while (now - start < ns);
	*spent += now - start;
	return 0;
}

/* Measures a and b in ROUNDS alternating slices of the budget each, so a change in the
 * background load of a shared machine hits both alike. Rates in operations per second;
 * returns -1 on error. */
static int
rate_pair(int (*a)(void *), int (*b)(void *), void *arg, double *ra, double *rb)
{
	int64_t slice = (int64_t)(budget_s * 1e9) / ROUNDS, ta = 0, tb = 0;
	long na = 0, nb = 0;

	for (int i = 0; i < ROUNDS; i++) {
		if (run_until(a, arg, slice, &na, &ta) != 0 || run_until(b, arg, slice, &nb, &tb) != 0)
			return -1;
	}
	*ra = (double)na * 1e9 / (double)ta;
	*rb = (double)nb * 1e9 / (double)tb;
	return 0;
}

struct ctx {
	enum tok_alg alg;
	struct tok_key *key;
	struct tok_keyset set;
	char *token;           /* a token made once, for verifying */
	size_t input_len;      /* header.payload length inside token */
	unsigned char sig[TOK_SIG_MAX];  /* token's JOSE signature (raw r||s for EC) */
	size_t siglen;
	EVP_MD_CTX *sign_proto;    /* initialized once; NULL when it cannot be copied */
	EVP_MD_CTX *verify_proto;
	EVP_MD_CTX *work;          /* each raw operation copies a prototype into it */
};

static const char *
md_name(enum tok_alg alg)
{
	return alg == TOK_ALG_EDDSA ? NULL : alg == TOK_ALG_SM2 ? "SM3" : "SHA256";
}

static bool
is_ec(enum tok_alg alg)
{
	return alg == TOK_ALG_ES256 || alg == TOK_ALG_SM2;
}

/* The hand-written EVP setup for alg, every parameter explicit. */
static int
raw_init(EVP_MD_CTX *m, struct ctx *c, int verify)
{
	EVP_PKEY_CTX *p = NULL;
	EVP_PKEY *pk = tok_key_pkey(c->key);
	int ok = verify ? EVP_DigestVerifyInit_ex(m, &p, md_name(c->alg), NULL, NULL, pk, NULL)
	    : EVP_DigestSignInit_ex(m, &p, md_name(c->alg), NULL, NULL, pk, NULL);

	if (ok != 1)
		return -1;
	if (c->alg == TOK_ALG_RS256 && EVP_PKEY_CTX_set_rsa_padding(p, RSA_PKCS1_PADDING) <= 0)
		return -1;
	if (c->alg == TOK_ALG_PS256 &&
	    (EVP_PKEY_CTX_set_rsa_padding(p, RSA_PKCS1_PSS_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(p, 32) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md_name(p, "SHA256", NULL) <= 0))
		return -1;
	if (c->alg == TOK_ALG_SM2 && EVP_PKEY_CTX_set1_id(p, TOK_SM2_ID, 16) <= 0)
		return -1;
	return 0;
}

/* A context initialized once, kept only when this OpenSSL can copy it. */
static EVP_MD_CTX *
raw_proto(struct ctx *c, int verify)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new(), *probe = EVP_MD_CTX_new();

	if (m == NULL || probe == NULL || raw_init(m, c, verify) != 0 ||
	    EVP_MD_CTX_copy_ex(probe, m) != 1) {
		EVP_MD_CTX_free(m);
		m = NULL;
	}
	EVP_MD_CTX_free(probe);
	ERR_clear_error();
	return m;
}

/* c->work ready for one operation: a copy of the prototype, else initialized afresh. */
static int
raw_ready(struct ctx *c, int verify)
{
	EVP_MD_CTX *proto = verify ? c->verify_proto : c->sign_proto;

	if (proto != NULL)
		return EVP_MD_CTX_copy_ex(c->work, proto) == 1 ? 0 : -1;
	EVP_MD_CTX_reset(c->work);
	return raw_init(c->work, c, verify);
}

static int
raw_sign(void *arg)
{
	struct ctx *c = arg;
	unsigned char sig[TOK_SIG_MAX], jose[TOK_SIG_MAX];
	size_t n = sizeof(sig), jn;

	if (raw_ready(c, 0) != 0 ||
	    EVP_DigestSign(c->work, sig, &n, (const unsigned char *)c->token, c->input_len) != 1)
		return -1;
	/* A JWS carries ES256 and SM2 signatures as raw r||s, not DER. */
	if (is_ec(c->alg) && tok_sig_der_to_raw(c->alg, sig, n, jose, sizeof(jose), &jn) != 0)
		return -1;
	return 0;
}

static int
raw_verify(void *arg)
{
	struct ctx *c = arg;
	unsigned char *der = NULL;
	const unsigned char *s = c->sig;
	size_t n = c->siglen;
	int r = -1;

	if (is_ec(c->alg)) {
		if (tok_sig_raw_to_der(c->alg, c->sig, c->siglen, &der, &n) != 0)
			return -1;
		s = der;
	}
	if (raw_ready(c, 1) == 0 &&
	    EVP_DigestVerify(c->work, s, n, (const unsigned char *)c->token, c->input_len) == 1)
		r = 0;
	free(der);
	return r;
}

static int
jws_sign(void *arg)
{
	struct ctx *c = arg;
	char *tok = NULL;
	int r = tok_jws_sign(c->key, "JWT", claims, strlen(claims), &tok);

	free(tok);
	return r;
}

static int
jws_verify(void *arg)
{
	struct ctx *c = arg;
	struct tok_jws jws;
	int r = tok_jws_verify(c->token, strlen(c->token), &c->set, TOK_ALGSET(c->alg), &jws);

	tok_jws_clear(&jws);
	return r;
}

static int
prepare(struct ctx *c, enum tok_alg alg)
{
	struct tok_key *pub = NULL;
	const char *sig64;
	int r = -1;

	memset(c, 0, sizeof(*c));
	c->alg = alg;
	tok_keyset_init(&c->set);
	if (tok_key_generate(alg, 2048, &c->key) != 0 || tok_key_public(c->key, &pub) != 0 ||
	    tok_keyset_add(&c->set, pub) != 0)
		goto out;
	if (tok_jws_sign(c->key, "JWT", claims, strlen(claims), &c->token) != 0)
		goto out;
	c->input_len = (size_t)(strrchr(c->token, '.') - c->token);
	sig64 = c->token + c->input_len + 1;
	if (yh_b64url_decode(sig64, strlen(sig64), c->sig, sizeof(c->sig), &c->siglen) != 0)
		goto out;
	c->sign_proto = raw_proto(c, 0);
	c->verify_proto = raw_proto(c, 1);
	if ((c->work = EVP_MD_CTX_new()) == NULL)
		goto out;
	r = 0;
out:
	tok_key_free(pub);
	return r;
}

static void
release(struct ctx *c)
{
	EVP_MD_CTX_free(c->sign_proto);
	EVP_MD_CTX_free(c->verify_proto);
	EVP_MD_CTX_free(c->work);
	tok_keyset_clear(&c->set);
	tok_key_free(c->key);
	free(c->token);
}

int
main(int argc, char **argv)
{
	static const enum tok_alg algs[] = {
		TOK_ALG_ES256, TOK_ALG_EDDSA, TOK_ALG_RS256, TOK_ALG_PS256, TOK_ALG_SM2,
	};
	char fresh[64] = "";
	double es256_ratio = 0;

	if (argc > 1) {
		char *end = NULL;

		budget_s = strtod(argv[1], &end);
		if (end == argv[1] || *end != '\0' || budget_s <= 0 || budget_s > 2) {
			fprintf(stderr, "usage: bench_jws [seconds per measurement, 0 < s <= 2]\n");
			return 2;
		}
	}
	printf("bench_jws: %.2f s per measurement, single thread, payload %zu bytes, "
	    "RSA 2048\n\n", budget_s, strlen(claims));
	printf("%-6s %12s %12s %7s   %12s %12s %7s\n", "alg", "raw sign/s", "jws sign/s",
	    "ratio", "raw verif/s", "jws verif/s", "ratio");
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		struct ctx c;
		double rs, js, rv, jv;

		if (prepare(&c, algs[i]) != 0) {
			fprintf(stderr, "bench_jws: setup failed for %s\n", tok_alg_name(algs[i]));
			ERR_print_errors_fp(stderr);
			release(&c);
			return 1;
		}
		if (rate_pair(raw_sign, jws_sign, &c, &rs, &js) != 0 ||
		    rate_pair(raw_verify, jws_verify, &c, &rv, &jv) != 0) {
			fprintf(stderr, "bench_jws: an operation failed for %s\n",
			    tok_alg_name(algs[i]));
			release(&c);
			return 1;
		}
		printf("%-6s %12.0f %12.0f %6.1f%%   %12.0f %12.0f %6.1f%%\n", tok_alg_name(algs[i]),
		    rs, js, 100 * js / rs, rv, jv, 100 * jv / rv);
		if (algs[i] == TOK_ALG_ES256)
			es256_ratio = js / rs;
		if (c.sign_proto == NULL || c.verify_proto == NULL)
			snprintf(fresh + strlen(fresh), sizeof(fresh) - strlen(fresh), " %s",
			    tok_alg_name(algs[i]));
		release(&c);
	}
	printf("\nraw: a per-key context copied per operation%s%s%s\n",
	    fresh[0] != '\0' ? " (initialized afresh, as in token/, for" : "", fresh,
	    fresh[0] != '\0' ? ": this OpenSSL cannot copy it)" : "");
	printf("ES256 JWS sign rate / raw EVP ES256 sign rate: %.1f%% (goal > 85%%)\n",
	    100 * es256_ratio);
	return 0;
}
