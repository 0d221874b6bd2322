/*
 * JWK import/export, JWK Sets, RFC 7638 thumbprints.
 *
 * Import builds the EVP_PKEY with EVP_PKEY_fromdata from strictly decoded members, then
 * checks it: EC points on the curve (OpenSSL's decoder and EVP_PKEY_public_check),
 * Ed25519 points decodable (checked here: OpenSSL only finds out at verify time), private
 * halves matching public halves (pairwise check), RSA modulus size and exponent.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

#include "common/b64.h"
#include "common/buf.h"
#include "common/secmem.h"
#include "token/jwk.h"

#define FIELD 32                          /* P-256, SM2 and Ed25519 coordinates */
#define RSA_MAX_BYTES (TOK_RSA_MAX_BITS / 8)
#define RSA_E_MAX 8                       /* bytes of public exponent accepted */

/* ---- member access ---- */

/* *out is the string member name, or NULL when absent. YH_ERR_INVALID when present but
 * not a string. */
static int
opt_str(const json_t *o, const char *name, const char **out)
{
	json_t *v = json_object_get(o, name);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return YH_ERR_INVALID;
	*out = json_string_value(v);
	return 0;
}

/* Decodes the base64url member name into buf (at most max bytes). Absent: *len = 0 and
 * *present false (an error only when required). */
static int
b64_member(const json_t *o, const char *name, bool required, unsigned char *buf,
    size_t max, size_t *len, bool *present)
{
	json_t *v = json_object_get(o, name);
	int r;

	*len = 0;
	if (present != NULL)
		*present = false;
	if (v == NULL)
		return required ? YH_ERR_INVALID : 0;
	if (!json_is_string(v))
		return YH_ERR_INVALID;
	r = yh_b64url_decode(json_string_value(v), json_string_length(v), buf, max, len);
	if (r == YH_ERR_TOO_LONG)
		r = YH_ERR_INVALID;
	if (r != 0)
		return r;
	if (*len == 0)
		return YH_ERR_INVALID;
	if (present != NULL)
		*present = true;
	return 0;
}

/* A fixed-size member: exactly FIELD bytes. */
static int
b64_fixed(const json_t *o, const char *name, bool required, unsigned char *buf,
    bool *present)
{
	unsigned char tmp[FIELD + 1];
	size_t len;
	int r;

	r = b64_member(o, name, required, tmp, sizeof(tmp), &len, present);
	if (r == 0 && len != 0 && len != FIELD)
		r = YH_ERR_INVALID;
	if (r == 0 && len == FIELD)
		memcpy(buf, tmp, FIELD);
	yh_wipe(tmp, sizeof(tmp));
	return r;
}

/* ---- metadata: alg, use, kid ---- */

static int
apply_meta(const json_t *jwk, struct tok_key *key)
{
	const char *alg, *use, *kid;
	enum tok_alg a;
	int r;

	if ((r = opt_str(jwk, "alg", &alg)) != 0 || (r = opt_str(jwk, "use", &use)) != 0 ||
	    (r = opt_str(jwk, "kid", &kid)) != 0)
		return r;
	if (alg != NULL) {
		if ((r = tok_alg_from_name(alg, &a)) != 0)
			return YH_ERR_UNSUPPORTED;
		if (tok_key_set_alg(key, a) != 0)
			return YH_ERR_UNSUPPORTED; /* an alg of another family */
	}
	if (use != NULL) {
		if (strcmp(use, "sig") == 0)
			tok_key_set_use(key, TOK_USE_SIG);
		else if (strcmp(use, "enc") == 0)
			tok_key_set_use(key, TOK_USE_ENC);
		else
			return YH_ERR_UNSUPPORTED;
	}
	if (kid != NULL && (r = tok_key_set_kid(key, kid)) != 0)
		return YH_ERR_INVALID;
	return 0;
}

/* ---- building keys ---- */

/* Runs fromdata for keytype with params; selection from whether a private part is in. */
static int
pkey_fromdata(const char *keytype, OSSL_PARAM *params, bool priv, EVP_PKEY **out)
{
	EVP_PKEY_CTX *ctx = NULL;
	int r = YH_ERR_INVALID;

	*out = NULL;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, keytype, NULL)) == NULL) {
		r = YH_ERR_CRYPTO;
		goto out;
	}
	if (EVP_PKEY_fromdata_init(ctx) != 1) {
		r = YH_ERR_CRYPTO;
		goto out;
	}
	if (EVP_PKEY_fromdata(ctx, out, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
	    params) != 1) {
		*out = NULL;
		goto out;
	}
	r = 0;
out:
	ERR_clear_error();
	EVP_PKEY_CTX_free(ctx);
	return r;
}

/* OpenSSL's public check (when pub) and, when priv, the pairwise consistency check. */
static int
pkey_check(EVP_PKEY *pk, bool pub, bool priv)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	int r = 0;

	if (ctx == NULL)
		return YH_ERR_CRYPTO;
	if (pub && EVP_PKEY_public_check(ctx) != 1)
		r = YH_ERR_INVALID;
	else if (priv && EVP_PKEY_pairwise_check(ctx) != 1)
		r = YH_ERR_INVALID;
	ERR_clear_error();
	EVP_PKEY_CTX_free(ctx);
	return r;
}

/* Big-endian to the native-endian integer OSSL_PARAM_construct_BN expects. */
static void
be_to_native(const unsigned char *in, unsigned char *out, size_t n)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	for (size_t i = 0; i < n; i++)
		out[i] = in[n - 1 - i];
#else
	memcpy(out, in, n);
#endif
}

/* EC P-256 or SM2 from x, y (and d). */
static int
import_ec(const json_t *jwk, enum tok_family fam, struct tok_key **out)
{
	unsigned char pub[1 + 2 * FIELD], d[FIELD], dn[FIELD];
	char group[8];
	OSSL_PARAM params[4];
	EVP_PKEY *pk = NULL;
	bool priv = false;
	size_t np = 0;
	int r;

	*out = NULL;
	pub[0] = 0x04;
	if ((r = b64_fixed(jwk, "x", true, pub + 1, NULL)) != 0 ||
	    (r = b64_fixed(jwk, "y", true, pub + 1 + FIELD, NULL)) != 0 ||
	    (r = b64_fixed(jwk, "d", false, d, &priv)) != 0)
		goto out;
	if ((r = yh_strlcpy(group, fam == TOK_FAM_SM2 ? "SM2" : "P-256", sizeof(group))) != 0)
		goto out;
	params[np++] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	params[np++] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub,
	    sizeof(pub));
	if (priv) {
		be_to_native(d, dn, FIELD);
		params[np++] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_PRIV_KEY, dn, FIELD);
	}
	params[np] = OSSL_PARAM_construct_end();
	if ((r = pkey_fromdata(fam == TOK_FAM_SM2 ? "SM2" : "EC", params, priv, &pk)) != 0 ||
	    (r = pkey_check(pk, true, priv)) != 0)
		goto out;
	r = tok_key_from_pkey(pk, TOK_ALG_UNSET, out);
out:
	yh_wipe(d, sizeof(d));
	yh_wipe(dn, sizeof(dn));
	EVP_PKEY_free(pk);
	return r;
}

/* True when the 32-byte Ed25519 encoding decodes to a curve point (RFC 8032 5.1.3):
 * y < p and (y^2 - 1) / (d y^2 + 1) is a square mod p, and x = 0 has sign bit 0. */
static bool
ed25519_point_ok(const unsigned char enc[FIELD])
{
	static const char p_hex[] =
	    "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffed";
	static const char d_hex[] =
	    "52036cee2b6ffe738cc740797779e89800700a4d4141d8ab75eb4dca135978a3";
	unsigned char ybe[FIELD];
	BN_CTX *bc = BN_CTX_new();
	BIGNUM *p = NULL, *d = NULL, *y, *u, *v, *e;
	bool ok = false;
	int sign = enc[FIELD - 1] >> 7;

	for (size_t i = 0; i < FIELD; i++)
		ybe[i] = enc[FIELD - 1 - i];
	ybe[0] &= 0x7f;
	if (bc == NULL)
		return false;
	BN_CTX_start(bc);
	y = BN_CTX_get(bc);
	u = BN_CTX_get(bc);
	v = BN_CTX_get(bc);
	e = BN_CTX_get(bc);
	if (e == NULL || BN_hex2bn(&p, p_hex) == 0 || BN_hex2bn(&d, d_hex) == 0 ||
	    BN_bin2bn(ybe, FIELD, y) == NULL)
		goto out;
	if (BN_cmp(y, p) >= 0)
		goto out;
	/* u = y^2 - 1, v = d*y^2 + 1 */
	if (!BN_mod_sqr(u, y, p, bc) || !BN_mod_mul(v, u, d, p, bc) ||
	    !BN_mod_add(v, v, BN_value_one(), p, bc) ||
	    !BN_mod_sub(u, u, BN_value_one(), p, bc))
		goto out;
	if (BN_is_zero(u)) {
		ok = sign == 0; /* x = 0 */
		goto out;
	}
	/* Euler's criterion on u * v^-1: (u v^-1)^((p-1)/2) == 1 */
	if (BN_mod_inverse(v, v, p, bc) == NULL || !BN_mod_mul(u, u, v, p, bc) ||
	    !BN_sub(e, p, BN_value_one()) || !BN_rshift1(e, e) ||
	    !BN_mod_exp(u, u, e, p, bc))
		goto out;
	ok = BN_is_one(u);
out:
	BN_free(p);
	BN_free(d);
	BN_CTX_end(bc);
	BN_CTX_free(bc);
	ERR_clear_error();
	return ok;
}

static int
import_okp(const json_t *jwk, struct tok_key **out)
{
	unsigned char x[FIELD], d[FIELD], derived[FIELD];
	OSSL_PARAM params[2];
	EVP_PKEY *pk = NULL;
	bool priv = false;
	size_t dlen = 0;
	int r;

	*out = NULL;
	if ((r = b64_fixed(jwk, "x", true, x, NULL)) != 0 ||
	    (r = b64_fixed(jwk, "d", false, d, &priv)) != 0)
		goto out;
	if (!ed25519_point_ok(x)) {
		r = YH_ERR_INVALID;
		goto out;
	}
	/* A private key is built from d alone; its derived public half must equal x. */
	if (priv)
		params[0] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, d, FIELD);
	else
		params[0] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, x, FIELD);
	params[1] = OSSL_PARAM_construct_end();
	if ((r = pkey_fromdata("ED25519", params, priv, &pk)) != 0)
		goto out;
	if (priv) {
		if (EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, derived,
		    sizeof(derived), &dlen) != 1 || dlen != FIELD ||
		    !yh_ct_eq(derived, x, FIELD)) {
			ERR_clear_error();
			r = YH_ERR_INVALID;
			goto out;
		}
	}
	r = tok_key_from_pkey(pk, TOK_ALG_UNSET, out);
out:
	yh_wipe(d, sizeof(d));
	EVP_PKEY_free(pk);
	return r;
}

/* Decodes a base64url member into a BIGNUM (secure when secret). Minimal encoding
 * (no leading zero byte) is required when minimal is true. */
static int
bn_member(const json_t *jwk, const char *name, bool secret, bool minimal, BIGNUM **out)
{
	unsigned char buf[RSA_MAX_BYTES + 1];
	size_t len = 0;
	int r;

	*out = NULL;
	if ((r = b64_member(jwk, name, true, buf, sizeof(buf), &len, NULL)) != 0)
		goto out;
	if (minimal && buf[0] == 0) {
		r = YH_ERR_INVALID;
		goto out;
	}
	*out = secret ? BN_secure_new() : BN_new();
	if (*out == NULL || BN_bin2bn(buf, (int)len, *out) == NULL) {
		BN_clear_free(*out);
		*out = NULL;
		r = YH_ERR_ALLOC;
		goto out;
	}
out:
	if (secret)
		yh_wipe(buf, sizeof(buf));
	return r;
}

static const char *const rsa_priv_names[] = { "d", "p", "q", "dp", "dq", "qi" };
static const char *const rsa_priv_params[] = {
	OSSL_PKEY_PARAM_RSA_D, OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
	OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
	OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
};
#define RSA_PRIV_N 6

/* The odd primes below 752 multiplied together (SP 800-56B's small-factor test). */
static BIGNUM *small_primes;
static pthread_once_t small_primes_once = PTHREAD_ONCE_INIT;

static void
small_primes_init(void)
{
	BIGNUM *b = BN_new();

	if (b == NULL || !BN_one(b)) {
		BN_free(b);
		return;
	}
	for (unsigned p = 3; p < 752; p += 2) {
		bool prime = true;

		for (unsigned d = 3; prime && d * d <= p; d += 2)
			prime = p % d != 0;
		if (prime && !BN_mul_word(b, p)) {
			BN_free(b);
			return;
		}
	}
	small_primes = b;
}

/*
 * Checks n's size and e's shape before any key is built, then the modulus: no prime
 * factor below 752 and not a base-2 probable prime (2^(n-1) mod n is not 1). This stands
 * in for OpenSSL's public check of RSA keys, whose Miller-Rabin test with random bases can
 * accept a malformed modulus in one call and refuse it in the next; a key must get the
 * same answer at every load, and a Fermat test with a fixed base does. It costs one
 * modular exponentiation, where a full primality test of a prime modulus costs 64 (seconds
 * for an 8192-bit one). Every prime is refused; so is a composite that is a base-2
 * pseudoprime, which no RSA key generator produces. (A prime power p^k would pass: it can
 * only weaken the key of whoever registered it.)
 */
static int
rsa_pub_checks(const BIGNUM *n, const BIGNUM *e)
{
	int bits = BN_num_bits(n), r = 0;
	BN_CTX *ctx;
	BIGNUM *g, *nm1;

	if (bits < TOK_RSA_MIN_BITS || bits > TOK_RSA_MAX_BITS || !BN_is_odd(n))
		return YH_ERR_KEY;
	if (BN_num_bytes(e) > RSA_E_MAX || !BN_is_odd(e) || BN_cmp(e, BN_value_one()) <= 0)
		return YH_ERR_KEY;
	if (pthread_once(&small_primes_once, small_primes_init) != 0 || small_primes == NULL)
		return YH_ERR_ALLOC;
	ctx = BN_CTX_new();
	g = BN_new();
	nm1 = BN_dup(n);
	if (ctx == NULL || g == NULL || nm1 == NULL || !BN_gcd(g, n, small_primes, ctx))
		r = YH_ERR_ALLOC;
	else if (!BN_is_one(g))
		r = YH_ERR_INVALID;
	else if (!BN_sub_word(nm1, 1) || !BN_set_word(g, 2) || !BN_mod_exp(g, g, nm1, n, ctx))
		r = YH_ERR_CRYPTO;
	else if (BN_is_one(g))
		r = YH_ERR_INVALID;
	ERR_clear_error();
	BN_free(nm1);
	BN_free(g);
	BN_CTX_free(ctx);
	return r;
}

static int
import_rsa(const json_t *jwk, struct tok_key **out)
{
	BIGNUM *n = NULL, *e = NULL, *priv[RSA_PRIV_N] = { 0 };
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY *pk = NULL;
	bool has_priv = json_object_get(jwk, "d") != NULL;
	int r;

	*out = NULL;
	if (json_object_get(jwk, "oth") != NULL)
		return YH_ERR_UNSUPPORTED;
	if ((r = bn_member(jwk, "n", false, true, &n)) != 0 ||
	    (r = bn_member(jwk, "e", false, true, &e)) != 0 || (r = rsa_pub_checks(n, e)) != 0)
		goto out;
	for (size_t i = 0; has_priv && i < RSA_PRIV_N; i++)
		if ((r = bn_member(jwk, rsa_priv_names[i], true, false, &priv[i])) != 0)
			goto out;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL) {
		r = YH_ERR_ALLOC;
		goto out;
	}
	r = YH_ERR_CRYPTO;
	if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
		goto out;
	for (size_t i = 0; has_priv && i < RSA_PRIV_N; i++)
		if (!OSSL_PARAM_BLD_push_BN(bld, rsa_priv_params[i], priv[i]))
			goto out;
	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	if ((r = pkey_fromdata("RSA", params, has_priv, &pk)) != 0 ||
	    (r = pkey_check(pk, false, has_priv)) != 0)
		goto out;
	r = tok_key_from_pkey(pk, TOK_ALG_UNSET, out);
out:
	ERR_clear_error();
	OSSL_PARAM_free(params); /* secure BNs were placed in the secure (cleared) area */
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	for (size_t i = 0; i < RSA_PRIV_N; i++)
		BN_clear_free(priv[i]);
	EVP_PKEY_free(pk);
	return r;
}

int
tok_jwk_import(const json_t *jwk, struct tok_key **out)
{
	const char *kty, *crv;
	struct tok_key *key = NULL;
	int r;

	*out = NULL;
	if (!json_is_object(jwk))
		return YH_ERR_INVALID;
	if ((r = opt_str(jwk, "kty", &kty)) != 0 || (r = opt_str(jwk, "crv", &crv)) != 0)
		return r;
	if (kty == NULL)
		return YH_ERR_INVALID;
	if (strcmp(kty, "EC") == 0) {
		if (crv == NULL)
			return YH_ERR_INVALID;
		if (strcmp(crv, "P-256") == 0)
			r = import_ec(jwk, TOK_FAM_EC_P256, &key);
		else if (strcmp(crv, "SM2") == 0)
			r = import_ec(jwk, TOK_FAM_SM2, &key);
		else
			r = YH_ERR_UNSUPPORTED;
	} else if (strcmp(kty, "OKP") == 0) {
		if (crv == NULL)
			return YH_ERR_INVALID;
		r = strcmp(crv, "Ed25519") == 0 ? import_okp(jwk, &key) : YH_ERR_UNSUPPORTED;
	} else if (strcmp(kty, "RSA") == 0) {
		r = import_rsa(jwk, &key);
	} else {
		r = YH_ERR_UNSUPPORTED; /* "oct" included: no HMAC keys exist here */
	}
	if (r != 0)
		goto out;
	if ((r = apply_meta(jwk, key)) != 0)
		goto out;
	*out = key;
	key = NULL;
out:
	tok_key_free(key);
	return r;
}

int
tok_jwk_parse(const char *json, size_t len, struct tok_key **out)
{
	json_error_t err;
	json_t *root = NULL;
	int r;

	*out = NULL;
	if (json == NULL)
		return YH_ERR_INVALID;
	if (len > TOK_JWK_MAX)
		return YH_ERR_TOO_LONG;
	if ((root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err)) == NULL)
		return YH_ERR_INVALID;
	r = tok_jwk_import(root, out);
	json_decref(root);
	return r;
}

/* ---- export ---- */

/* Sets o[name] to the base64url of n bytes. */
static int
set_b64(json_t *o, const char *name, const unsigned char *p, size_t n)
{
	char enc[((RSA_MAX_BYTES + 2) / 3) * 4 + 1];
	int r = 0;

	if (yh_b64url_len(n) + 1 > sizeof(enc))
		return YH_ERR_INTERNAL;
	yh_b64url_encode(p, n, enc);
	if (json_object_set_new(o, name, json_string(enc)) != 0)
		r = YH_ERR_ALLOC;
	yh_wipe(enc, sizeof(enc));
	return r;
}

/* Sets o[name] from a BIGNUM parameter of pk: padded to pad bytes, or minimal if 0. */
static int
set_bn_param(json_t *o, const char *name, EVP_PKEY *pk, const char *param, size_t pad)
{
	unsigned char buf[RSA_MAX_BYTES];
	BIGNUM *bn = NULL;
	int n, r = 0;

	if (EVP_PKEY_get_bn_param(pk, param, &bn) != 1) {
		r = YH_ERR_CRYPTO;
		goto out;
	}
	if (pad != 0)
		n = BN_bn2binpad(bn, buf, (int)pad);
	else
		n = BN_num_bytes(bn) <= (int)sizeof(buf) ? BN_bn2bin(bn, buf) : -1;
	if (n <= 0) {
		r = YH_ERR_CRYPTO;
		goto out;
	}
	r = set_b64(o, name, buf, (size_t)n);
out:
	ERR_clear_error();
	yh_wipe(buf, sizeof(buf));
	BN_clear_free(bn);
	return r;
}

static int
set_octet_param(json_t *o, const char *name, EVP_PKEY *pk, const char *param)
{
	unsigned char buf[FIELD];
	size_t n = 0;
	int r;

	if (EVP_PKEY_get_octet_string_param(pk, param, buf, sizeof(buf), &n) != 1 ||
	    n != FIELD) {
		ERR_clear_error();
		r = YH_ERR_CRYPTO;
	} else {
		r = set_b64(o, name, buf, n);
	}
	yh_wipe(buf, sizeof(buf));
	return r;
}

static int
set_str(json_t *o, const char *name, const char *v)
{
	return json_object_set_new(o, name, json_string(v)) == 0 ? 0 : YH_ERR_ALLOC;
}

/* The required public members only (what the thumbprint hashes), plus private ones. */
static int
export_members(const struct tok_key *key, bool private, json_t *o)
{
	EVP_PKEY *pk = tok_key_pkey(key);
	int r;

	switch (tok_key_family(key)) {
	case TOK_FAM_EC_P256:
	case TOK_FAM_SM2:
		if ((r = set_str(o, "kty", "EC")) != 0 ||
		    (r = set_str(o, "crv",
		        tok_key_family(key) == TOK_FAM_SM2 ? "SM2" : "P-256")) != 0 ||
		    (r = set_bn_param(o, "x", pk, OSSL_PKEY_PARAM_EC_PUB_X, FIELD)) != 0 ||
		    (r = set_bn_param(o, "y", pk, OSSL_PKEY_PARAM_EC_PUB_Y, FIELD)) != 0)
			return r;
		if (private)
			return set_bn_param(o, "d", pk, OSSL_PKEY_PARAM_PRIV_KEY, FIELD);
		return 0;
	case TOK_FAM_ED25519:
		if ((r = set_str(o, "kty", "OKP")) != 0 || (r = set_str(o, "crv", "Ed25519")) != 0 ||
		    (r = set_octet_param(o, "x", pk, OSSL_PKEY_PARAM_PUB_KEY)) != 0)
			return r;
		if (private)
			return set_octet_param(o, "d", pk, OSSL_PKEY_PARAM_PRIV_KEY);
		return 0;
	case TOK_FAM_RSA:
		if ((r = set_str(o, "kty", "RSA")) != 0 ||
		    (r = set_bn_param(o, "n", pk, OSSL_PKEY_PARAM_RSA_N, 0)) != 0 ||
		    (r = set_bn_param(o, "e", pk, OSSL_PKEY_PARAM_RSA_E, 0)) != 0)
			return r;
		for (size_t i = 0; private && i < RSA_PRIV_N; i++)
			if ((r = set_bn_param(o, rsa_priv_names[i], pk, rsa_priv_params[i], 0)) != 0)
				return r;
		return 0;
	default:
		return YH_ERR_INTERNAL;
	}
}

int
tok_jwk_export(const struct tok_key *key, bool private, json_t **out)
{
	json_t *o = NULL;
	const char *alg;
	int r;

	*out = NULL;
	if (key == NULL)
		return YH_ERR_INTERNAL;
	if (private && !tok_key_is_private(key))
		return YH_ERR_KEY;
	if ((o = json_object()) == NULL)
		return YH_ERR_ALLOC;
	if ((r = export_members(key, private, o)) != 0)
		goto out;
	if (tok_key_kid(key)[0] != '\0' && (r = set_str(o, "kid", tok_key_kid(key))) != 0)
		goto out;
	if ((alg = tok_alg_name(tok_key_alg(key))) != NULL && (r = set_str(o, "alg", alg)) != 0)
		goto out;
	if (tok_key_use(key) != TOK_USE_UNSPEC &&
	    (r = set_str(o, "use", tok_key_use(key) == TOK_USE_SIG ? "sig" : "enc")) != 0)
		goto out;
	*out = o;
	o = NULL;
out:
	json_decref(o);
	return r;
}

/* ---- thumbprint ---- */

int
tok_jwk_thumbprint(const struct tok_key *key, char out[TOK_THUMBPRINT_LEN + 1])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	json_t *o = NULL;
	char *s = NULL;
	int r;

	out[0] = '\0';
	if (key == NULL)
		return YH_ERR_INTERNAL;
	if (tok_key_thumb_get(key, out, TOK_THUMBPRINT_LEN + 1))
		return 0;
	if ((o = json_object()) == NULL)
		return YH_ERR_ALLOC;
	if ((r = export_members(key, false, o)) != 0)
		goto out;
	/* RFC 7638: required members, sorted by name, no whitespace. Every value is
	 * base64url or a fixed ASCII name, so no escaping question arises. */
	if ((s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		r = YH_ERR_ALLOC;
		goto out;
	}
	if (EVP_Digest(s, strlen(s), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
		ERR_clear_error();
		r = YH_ERR_CRYPTO;
		goto out;
	}
	yh_b64url_encode(md, sizeof(md), out);
	tok_key_thumb_put(key, out);
	r = 0;
out:
	free(s);
	json_decref(o);
	return r;
}

int
tok_key_set_kid_thumbprint(struct tok_key *key)
{
	char tp[TOK_THUMBPRINT_LEN + 1];
	int r;

	if ((r = tok_jwk_thumbprint(key, tp)) != 0)
		return r;
	return tok_key_set_kid(key, tp);
}

/* ---- new keys ---- */

int
tok_key_generate(enum tok_alg alg, unsigned rsa_bits, struct tok_key **out)
{
	EVP_PKEY *pk = NULL;
	int r;

	*out = NULL;
	switch (alg) {
	case TOK_ALG_ES256:
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case TOK_ALG_EDDSA:
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	case TOK_ALG_SM2:
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
		break;
	case TOK_ALG_RS256:
	case TOK_ALG_PS256:
		if (rsa_bits == 0)
			rsa_bits = TOK_RSA_MIN_BITS;
		if (rsa_bits < TOK_RSA_MIN_BITS || rsa_bits > TOK_RSA_MAX_BITS)
			return YH_ERR_INVALID;
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)rsa_bits);
		break;
	default:
		return YH_ERR_UNSUPPORTED;
	}
	if (pk == NULL) {
		ERR_clear_error();
		return YH_ERR_CRYPTO;
	}
	if ((r = tok_key_from_pkey(pk, alg, out)) != 0)
		goto out;
	tok_key_set_use(*out, TOK_USE_SIG);
	if ((r = tok_key_set_kid_thumbprint(*out)) != 0) {
		tok_key_free(*out);
		*out = NULL;
	}
out:
	EVP_PKEY_free(pk);
	return r;
}

/* ---- JWK Sets ---- */

/* True when an import error only means "a key we do not use" (skippable). */
static bool
skippable(int r)
{
	return r == YH_ERR_UNSUPPORTED || r == YH_ERR_KEY;
}

int
tok_jwks_parse(const char *json, size_t len, unsigned flags, struct tok_keyset *set)
{
	json_error_t err;
	json_t *root = NULL, *keys, *jwk;
	size_t i;
	int r;

	tok_keyset_clear(set);
	if (json == NULL)
		return YH_ERR_INVALID;
	if (len > TOK_JWKS_MAX)
		return YH_ERR_TOO_LONG;
	if ((root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err)) == NULL)
		return YH_ERR_INVALID;
	keys = json_object_get(root, "keys");
	if (!json_is_object(root) || !json_is_array(keys)) {
		r = YH_ERR_INVALID;
		goto out;
	}
	if (json_array_size(keys) > TOK_JWKS_MAX_KEYS) {
		r = YH_ERR_LIMIT;
		goto out;
	}
	json_array_foreach(keys, i, jwk) {
		struct tok_key *key = NULL;

		r = tok_jwk_import(jwk, &key);
		if (r == 0 && tok_key_use(key) == TOK_USE_ENC)
			r = YH_ERR_UNSUPPORTED;
		if (r != 0) {
			tok_key_free(key);
			if (skippable(r) && !(flags & TOK_JWKS_STRICT))
				continue;
			goto out;
		}
		r = tok_keyset_add(set, key);
		tok_key_free(key);
		if (r != 0)
			goto out;
	}
	r = 0;
out:
	if (r != 0)
		tok_keyset_clear(set);
	json_decref(root);
	return r;
}

int
tok_jwks_export(const struct tok_keyset *set, json_t **out)
{
	json_t *root = NULL, *arr = NULL;
	int r;

	*out = NULL;
	if ((root = json_object()) == NULL || (arr = json_array()) == NULL ||
	    json_object_set(root, "keys", arr) != 0) {
		r = YH_ERR_ALLOC;
		goto out;
	}
	for (size_t i = 0; set != NULL && i < set->n; i++) {
		json_t *jwk = NULL;

		if ((r = tok_jwk_export(set->keys[i], false, &jwk)) != 0)
			goto out;
		if (json_array_append_new(arr, jwk) != 0) {
			r = YH_ERR_ALLOC;
			goto out;
		}
	}
	*out = root;
	root = NULL;
	r = 0;
out:
	json_decref(arr);
	json_decref(root);
	return r;
}

int
tok_jwks_export_string(const struct tok_keyset *set, char **out)
{
	json_t *root = NULL;
	int r;

	*out = NULL;
	if ((r = tok_jwks_export(set, &root)) != 0)
		return r;
	if ((*out = json_dumps(root, JSON_COMPACT)) == NULL)
		r = YH_ERR_ALLOC;
	json_decref(root);
	return r;
}
