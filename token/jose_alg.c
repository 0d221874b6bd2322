/*
 * JOSE algorithms over OpenSSL 3 EVP: key objects, signing, verifying, r||s <-> DER.
 *
 * Speed: each key keeps, per algorithm it can do, a "prototype" EVP_MD_CTX already
 * initialized for signing (private keys) and for verifying. A call copies the prototype
 * (EVP_MD_CTX_copy_ex duplicates the provider context) instead of running
 * EVP_DigestSignInit, which would look up the digest and signature implementations in
 * the provider store under a lock on every call. Prototypes are built once when the key
 * is created and only read afterwards, so concurrent calls are safe; each call works on
 * its own copy.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "common/atomicfile.h"
#include "common/secmem.h"
#include "token/jose_alg.h"

#define PEM_MAX TOK_PEM_MAX
#define EC_SIG_RAW 64
#define EC_FIELD 32

struct tok_key {
	int refs;
	EVP_PKEY *pkey;
	enum tok_family family;
	enum tok_alg alg;
	enum tok_use use;
	bool priv;
	unsigned bits;
	char kid[TOK_KID_MAX + 1];
	EVP_MD_CTX *sign_proto[TOK_ALG_COUNT];
	EVP_MD_CTX *verify_proto[TOK_ALG_COUNT];
	tok_sign_fn signer;   /* signs for a public key whose private half is elsewhere */
	tok_submit_fn submit; /* the same signer, taking jobs (NULL: it has none) */
	void *signer_ctx;
	/* The RFC 7638 thumbprint once tok_jwk_thumbprint computed it (tok_key_thumb_put):
	 * the public key never changes. thumb_state: 0 none, 1 being written, 2 set. */
	int thumb_state;
	char thumb[TOK_THUMB_MEMO_MAX + 1];
};

static const char *const alg_names[TOK_ALG_COUNT] = {
	[TOK_ALG_UNSET] = NULL,
	[TOK_ALG_ES256] = "ES256",
	[TOK_ALG_EDDSA] = "EdDSA",
	[TOK_ALG_RS256] = "RS256",
	[TOK_ALG_PS256] = "PS256",
	[TOK_ALG_SM2] = "SM2",
};

/* Group orders, big-endian: r and s must lie in [1, n-1]. */
static const unsigned char p256_order[EC_FIELD] = {
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63,
	0x25, 0x51,
};
static const unsigned char sm2_order[EC_FIELD] = {
	0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0x72, 0x03, 0xdf, 0x6b, 0x21, 0xc6, 0x05, 0x2b, 0x53, 0xbb, 0xf4, 0x09, 0x39, 0xd5,
	0x41, 0x23,
};

/* ---- names and families ---- */

const char *
tok_alg_name(enum tok_alg alg)
{
	if ((unsigned)alg >= TOK_ALG_COUNT)
		return NULL;
	return alg_names[alg];
}

int
tok_alg_from_mem(const char *name, size_t len, enum tok_alg *out)
{
	*out = TOK_ALG_UNSET;
	if (name == NULL)
		return YH_ERR_UNSUPPORTED;
	for (unsigned a = 1; a < TOK_ALG_COUNT; a++) {
		if (strlen(alg_names[a]) == len && memcmp(alg_names[a], name, len) == 0) {
			*out = (enum tok_alg)a;
			return 0;
		}
	}
	return YH_ERR_UNSUPPORTED;
}

int
tok_alg_from_name(const char *name, enum tok_alg *out)
{
	*out = TOK_ALG_UNSET;
	if (name == NULL)
		return YH_ERR_UNSUPPORTED;
	return tok_alg_from_mem(name, strlen(name), out);
}

int
tok_algset_parse(const char *list, unsigned *out, const char **bad)
{
	enum tok_alg alg;
	size_t n;

	*out = 0;
	if (bad != NULL)
		*bad = NULL;
	if (list == NULL)
		return YH_ERR_INVALID;
	for (const char *p = list; *p != '\0'; p += n) {
		if (*p == ' ' || *p == ',' || *p == '\t') {
			n = 1;
			continue;
		}
		n = strcspn(p, " ,\t");
		if (tok_alg_from_mem(p, n, &alg) != 0) {
			if (bad != NULL)
				*bad = p;
			*out = 0;
			return YH_ERR_UNSUPPORTED;
		}
		*out |= TOK_ALGSET(alg);
	}
	return *out != 0 ? 0 : YH_ERR_INVALID;
}

int
tok_algset_format(unsigned set, char *out, size_t outsz)
{
	size_t used = 0;

	if (outsz == 0)
		return YH_ERR_TOO_LONG;
	out[0] = '\0';
	for (unsigned a = 1; a < TOK_ALG_COUNT; a++) {
		int n;

		if ((set & TOK_ALGSET(a)) == 0)
			continue;
		n = snprintf(out + used, outsz - used, "%s%s", used > 0 ? " " : "", alg_names[a]);
		if (n < 0 || (size_t)n >= outsz - used)
			return YH_ERR_TOO_LONG;
		used += (size_t)n;
	}
	return 0;
}

enum tok_family
tok_alg_family(enum tok_alg alg)
{
	switch (alg) {
	case TOK_ALG_ES256:
		return TOK_FAM_EC_P256;
	case TOK_ALG_EDDSA:
		return TOK_FAM_ED25519;
	case TOK_ALG_RS256:
	case TOK_ALG_PS256:
		return TOK_FAM_RSA;
	case TOK_ALG_SM2:
		return TOK_FAM_SM2;
	default:
		return TOK_FAM_NONE;
	}
}

bool
tok_key_can_alg(const struct tok_key *key, enum tok_alg alg)
{
	if (key == NULL || alg == TOK_ALG_UNSET || (unsigned)alg >= TOK_ALG_COUNT)
		return false;
	if (tok_alg_family(alg) != key->family)
		return false;
	if (key->alg != TOK_ALG_UNSET && key->alg != alg)
		return false;
	return key->use != TOK_USE_ENC;
}

/* ---- EVP contexts ---- */

static const char *
alg_md_name(enum tok_alg alg)
{
	switch (alg) {
	case TOK_ALG_ES256:
	case TOK_ALG_RS256:
	case TOK_ALG_PS256:
		return "SHA256";
	case TOK_ALG_SM2:
		return "SM3";
	default:
		return NULL; /* EdDSA hashes internally */
	}
}

/* Initializes mctx for signing (or verifying) with key under alg, setting every
 * algorithm parameter explicitly (padding, PSS salt, SM2 ID). */
static int
ctx_init(EVP_MD_CTX *mctx, const struct tok_key *key, enum tok_alg alg, bool verify)
{
	EVP_PKEY_CTX *pctx = NULL;
	const char *md = alg_md_name(alg);
	int ok;

	if (verify)
		ok = EVP_DigestVerifyInit_ex(mctx, &pctx, md, NULL, NULL, key->pkey, NULL);
	else
		ok = EVP_DigestSignInit_ex(mctx, &pctx, md, NULL, NULL, key->pkey, NULL);
	if (ok != 1 || pctx == NULL)
		return YH_ERR_CRYPTO;
	switch (alg) {
	case TOK_ALG_RS256:
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)
			return YH_ERR_CRYPTO;
		break;
	case TOK_ALG_PS256:
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, "SHA256", NULL) <= 0)
			return YH_ERR_CRYPTO;
		break;
	case TOK_ALG_SM2:
		/* OpenSSL 3.0 would use an empty ID: always set GM/T 0009's default. */
		if (EVP_PKEY_CTX_set1_id(pctx, TOK_SM2_ID, (int)strlen(TOK_SM2_ID)) <= 0)
			return YH_ERR_CRYPTO;
		break;
	default:
		break;
	}
	return 0;
}

/* A ready context for one call: a copy of the key's prototype, or a fresh one. */
static int
ctx_get(const struct tok_key *key, enum tok_alg alg, bool verify, EVP_MD_CTX **out)
{
	EVP_MD_CTX *proto = verify ? key->verify_proto[alg] : key->sign_proto[alg];
	EVP_MD_CTX *m;
	int r;

	*out = NULL;
	if ((m = EVP_MD_CTX_new()) == NULL)
		return YH_ERR_ALLOC;
	if (proto != NULL && EVP_MD_CTX_copy_ex(m, proto) == 1) {
		*out = m;
		return 0;
	}
	ERR_clear_error();
	EVP_MD_CTX_reset(m);
	if ((r = ctx_init(m, key, alg, verify)) != 0) {
		EVP_MD_CTX_free(m);
		return r;
	}
	*out = m;
	return 0;
}

/* Builds the prototypes for every algorithm the key's family can do. A prototype that
 * cannot be made (or copied) is simply absent: calls then initialize afresh. */
static void
protos_build(struct tok_key *key)
{
	for (unsigned a = 1; a < TOK_ALG_COUNT; a++) {
		if (tok_alg_family((enum tok_alg)a) != key->family)
			continue;
		for (int v = 0; v < 2; v++) {
			EVP_MD_CTX *m, *probe;

			if (!v && !key->priv)
				continue;
			if ((m = EVP_MD_CTX_new()) == NULL)
				continue;
			if (ctx_init(m, key, (enum tok_alg)a, v) != 0) {
				EVP_MD_CTX_free(m);
				continue;
			}
			/* Keep it only if copying works for this provider. */
			probe = EVP_MD_CTX_new();
			if (probe == NULL || EVP_MD_CTX_copy_ex(probe, m) != 1) {
				EVP_MD_CTX_free(m);
				m = NULL;
			}
			EVP_MD_CTX_free(probe);
			if (v)
				key->verify_proto[a] = m;
			else
				key->sign_proto[a] = m;
		}
	}
	ERR_clear_error();
}

static void
protos_free(struct tok_key *key)
{
	for (unsigned a = 0; a < TOK_ALG_COUNT; a++) {
		EVP_MD_CTX_free(key->sign_proto[a]);
		EVP_MD_CTX_free(key->verify_proto[a]);
		key->sign_proto[a] = NULL;
		key->verify_proto[a] = NULL;
	}
}

/* ---- r||s <-> DER ---- */

static const unsigned char *
alg_order(enum tok_alg alg)
{
	if (alg == TOK_ALG_ES256)
		return p256_order;
	if (alg == TOK_ALG_SM2)
		return sm2_order;
	return NULL;
}

/* True when the 32-byte big-endian v is in [1, n-1]. */
static bool
scalar_in_range(const unsigned char *v, const unsigned char *n)
{
	bool nonzero = false;

	for (size_t i = 0; i < EC_FIELD; i++)
		nonzero |= v[i] != 0;
	return nonzero && memcmp(v, n, EC_FIELD) < 0;
}

/* Appends a DER INTEGER holding the unsigned 32-byte big-endian v. */
static size_t
der_put_uint(unsigned char *p, const unsigned char *v)
{
	size_t skip = 0, o = 0;

	while (skip < EC_FIELD - 1 && v[skip] == 0)
		skip++;
	p[o++] = 0x02;
	if (v[skip] & 0x80) {
		p[o++] = (unsigned char)(EC_FIELD - skip + 1);
		p[o++] = 0;
	} else {
		p[o++] = (unsigned char)(EC_FIELD - skip);
	}
	memcpy(p + o, v + skip, EC_FIELD - skip);
	return o + EC_FIELD - skip;
}

/* Reads one minimal, non-negative DER INTEGER of at most 32 value bytes into v (padded). */
static int
der_get_uint(const unsigned char **pp, const unsigned char *end, unsigned char *v)
{
	const unsigned char *p = *pp;
	size_t len;

	if (end - p < 2 || p[0] != 0x02)
		return YH_ERR_AUTH;
	len = p[1];
	p += 2;
	if (len == 0 || len > EC_FIELD + 1 || (size_t)(end - p) < len)
		return YH_ERR_AUTH;
	if (p[0] & 0x80)
		return YH_ERR_AUTH; /* negative */
	if (len > 1 && p[0] == 0 && !(p[1] & 0x80))
		return YH_ERR_AUTH; /* not minimal */
	if (p[0] == 0) {
		p++;
		len--;
	}
	if (len > EC_FIELD)
		return YH_ERR_AUTH;
	memset(v, 0, EC_FIELD - len);
	memcpy(v + EC_FIELD - len, p, len);
	*pp = p + len;
	return 0;
}

/* raw_to_der into a caller buffer of at least 72 bytes. */
static int
raw_to_der_buf(const unsigned char *order, const unsigned char *raw, size_t rawlen,
    unsigned char *der, size_t *derlen)
{
	size_t o = 2;

	*derlen = 0;
	if (rawlen != EC_SIG_RAW || !scalar_in_range(raw, order) ||
	    !scalar_in_range(raw + EC_FIELD, order))
		return YH_ERR_AUTH;
	o += der_put_uint(der + o, raw);
	o += der_put_uint(der + o, raw + EC_FIELD);
	der[0] = 0x30;
	der[1] = (unsigned char)(o - 2);
	*derlen = o;
	return 0;
}

int
tok_sig_raw_to_der(enum tok_alg alg, const unsigned char *raw, size_t rawlen,
    unsigned char **der, size_t *derlen)
{
	const unsigned char *order = alg_order(alg);
	unsigned char tmp[80];
	int r;

	*der = NULL;
	*derlen = 0;
	if (order == NULL)
		return YH_ERR_UNSUPPORTED;
	if ((r = raw_to_der_buf(order, raw, rawlen, tmp, derlen)) != 0)
		return r;
	if ((*der = malloc(*derlen)) == NULL) {
		*derlen = 0;
		return YH_ERR_ALLOC;
	}
	memcpy(*der, tmp, *derlen);
	return 0;
}

int
tok_sig_der_to_raw(enum tok_alg alg, const unsigned char *der, size_t derlen,
    unsigned char *raw, size_t rawmax, size_t *rawlen)
{
	const unsigned char *order = alg_order(alg);
	const unsigned char *p = der, *end;
	int r;

	*rawlen = 0;
	if (order == NULL)
		return YH_ERR_UNSUPPORTED;
	if (rawmax < EC_SIG_RAW)
		return YH_ERR_TOO_LONG;
	if (derlen < 2 || der[0] != 0x30 || der[1] >= 0x80 || (size_t)der[1] + 2 != derlen)
		return YH_ERR_AUTH;
	p = der + 2;
	end = der + derlen;
	if ((r = der_get_uint(&p, end, raw)) != 0 ||
	    (r = der_get_uint(&p, end, raw + EC_FIELD)) != 0)
		return r;
	if (p != end || !scalar_in_range(raw, order) || !scalar_in_range(raw + EC_FIELD, order))
		return YH_ERR_AUTH;
	*rawlen = EC_SIG_RAW;
	return 0;
}

/* ---- sign / verify ---- */

static bool
alg_is_ec(enum tok_alg alg)
{
	return alg == TOK_ALG_ES256 || alg == TOK_ALG_SM2;
}

int
tok_key_sign(const struct tok_key *key, enum tok_alg alg, const void *data, size_t len,
    unsigned char *sig, size_t sigmax, size_t *siglen)
{
	EVP_MD_CTX *m = NULL;
	unsigned char der[80];
	size_t n;
	int r;

	*siglen = 0;
	if (key == NULL)
		return YH_ERR_INTERNAL;
	if (alg == TOK_ALG_UNSET)
		alg = tok_key_sign_alg(key);
	if (!tok_key_can_alg(key, alg))
		return YH_ERR_UNSUPPORTED;
	if (key->signer != NULL)
		return key->signer(key->signer_ctx, key, alg, data, len, sig, sigmax, siglen);
	if (!key->priv)
		return YH_ERR_KEY;
	if ((r = ctx_get(key, alg, false, &m)) != 0)
		goto out;
	if (alg_is_ec(alg)) {
		n = sizeof(der);
		if (EVP_DigestSign(m, der, &n, data, len) != 1) {
			r = YH_ERR_CRYPTO;
			goto out;
		}
		r = tok_sig_der_to_raw(alg, der, n, sig, sigmax, siglen);
		if (r == YH_ERR_AUTH)
			r = YH_ERR_CRYPTO; /* our own signature cannot be malformed */
		goto out;
	}
	if (EVP_DigestSign(m, NULL, &n, data, len) != 1) {
		r = YH_ERR_CRYPTO;
		goto out;
	}
	if (n > sigmax) {
		r = YH_ERR_TOO_LONG;
		goto out;
	}
	if (EVP_DigestSign(m, sig, &n, data, len) != 1) {
		r = YH_ERR_CRYPTO;
		goto out;
	}
	*siglen = n;
	r = 0;
out:
	if (r != 0)
		ERR_clear_error();
	EVP_MD_CTX_free(m);
	return r;
}

/* The exact signature length alg needs with key. */
static size_t
sig_len_for(const struct tok_key *key, enum tok_alg alg)
{
	if (alg == TOK_ALG_RS256 || alg == TOK_ALG_PS256)
		return (key->bits + 7) / 8;
	return EC_SIG_RAW; /* ES256, SM2, EdDSA */
}

int
tok_key_verify(const struct tok_key *key, unsigned allow, enum tok_alg alg,
    const void *data, size_t len, const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *m = NULL;
	unsigned char der[80];
	const unsigned char *s = sig;
	size_t slen = siglen;
	int r, ok;

	if (key == NULL || sig == NULL)
		return YH_ERR_INTERNAL;
	if ((unsigned)alg >= TOK_ALG_COUNT || alg == TOK_ALG_UNSET ||
	    !(allow & TOK_ALGSET(alg)) || !tok_key_can_alg(key, alg))
		return YH_ERR_UNSUPPORTED;
	if (siglen != sig_len_for(key, alg))
		return YH_ERR_AUTH;
	if (alg_is_ec(alg)) {
		if ((r = raw_to_der_buf(alg_order(alg), sig, siglen, der, &slen)) != 0)
			return r;
		s = der;
	}
	if ((r = ctx_get(key, alg, true, &m)) != 0)
		goto out;
	ok = EVP_DigestVerify(m, s, slen, data, len);
	r = ok == 1 ? 0 : YH_ERR_AUTH;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(m);
	return r;
}

/* ---- key objects ---- */

static bool
pkey_has_private(EVP_PKEY *pk, enum tok_family fam)
{
	BIGNUM *bn = NULL;
	size_t n = 0;
	bool has = false;

	switch (fam) {
	case TOK_FAM_EC_P256:
	case TOK_FAM_SM2:
		has = EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, &bn) == 1;
		break;
	case TOK_FAM_RSA:
		has = EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_D, &bn) == 1;
		break;
	case TOK_FAM_ED25519:
		has = EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, NULL, 0,
		    &n) == 1 && n > 0;
		break;
	default:
		break;
	}
	BN_clear_free(bn);
	ERR_clear_error();
	return has;
}

static int
pkey_family(EVP_PKEY *pk, enum tok_family *fam)
{
	char group[64];
	size_t glen = 0;

	*fam = TOK_FAM_NONE;
	if (EVP_PKEY_is_a(pk, "ED25519")) {
		*fam = TOK_FAM_ED25519;
	} else if (EVP_PKEY_is_a(pk, "RSA")) {
		*fam = TOK_FAM_RSA;
	} else if (EVP_PKEY_is_a(pk, "SM2")) {
		*fam = TOK_FAM_SM2;
	} else if (EVP_PKEY_is_a(pk, "EC")) {
		if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group,
		    sizeof(group), &glen) != 1) {
			ERR_clear_error();
			return YH_ERR_UNSUPPORTED;
		}
		if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
			*fam = TOK_FAM_EC_P256;
		else
			return YH_ERR_UNSUPPORTED; /* an SM2 key must be of type SM2 */
	} else {
		return YH_ERR_UNSUPPORTED;
	}
	return 0;
}

int
tok_key_from_pkey(EVP_PKEY *pkey, enum tok_alg alg, struct tok_key **out)
{
	struct tok_key *k = NULL;
	enum tok_family fam;
	int r;

	*out = NULL;
	if (pkey == NULL)
		return YH_ERR_INTERNAL;
	if ((unsigned)alg >= TOK_ALG_COUNT)
		return YH_ERR_INVALID;
	if ((r = pkey_family(pkey, &fam)) != 0)
		return r;
	if (alg != TOK_ALG_UNSET && tok_alg_family(alg) != fam)
		return YH_ERR_INVALID;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return YH_ERR_ALLOC;
	k->refs = 1;
	k->family = fam;
	k->alg = alg;
	k->bits = (unsigned)EVP_PKEY_get_bits(pkey);
	if (fam == TOK_FAM_RSA && (k->bits < TOK_RSA_MIN_BITS || k->bits > TOK_RSA_MAX_BITS)) {
		r = YH_ERR_KEY;
		goto out;
	}
	if (EVP_PKEY_up_ref(pkey) != 1) {
		r = YH_ERR_CRYPTO;
		goto out;
	}
	k->pkey = pkey;
	k->priv = pkey_has_private(pkey, fam);
	protos_build(k);
	*out = k;
	k = NULL;
	r = 0;
out:
	tok_key_free(k);
	return r;
}

struct tok_key *
tok_key_ref(struct tok_key *key)
{
	if (key != NULL)
		__atomic_add_fetch(&key->refs, 1, __ATOMIC_RELAXED);
	return key;
}

void
tok_key_free(struct tok_key *key)
{
	if (key == NULL)
		return;
	if (__atomic_sub_fetch(&key->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	protos_free(key);
	EVP_PKEY_free(key->pkey);
	yh_freezero(key, sizeof(*key));
}

int
tok_key_public(const struct tok_key *key, struct tok_key **out)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_PKEY *pub = NULL;
	int len, r;

	*out = NULL;
	if (key == NULL)
		return YH_ERR_INTERNAL;
	if ((len = i2d_PUBKEY(key->pkey, &der)) <= 0) {
		r = YH_ERR_CRYPTO;
		goto out;
	}
	p = der;
	if ((pub = d2i_PUBKEY(NULL, &p, len)) == NULL) {
		r = YH_ERR_CRYPTO;
		goto out;
	}
	if ((r = tok_key_from_pkey(pub, key->alg, out)) != 0)
		goto out;
	memcpy((*out)->kid, key->kid, sizeof(key->kid));
	(*out)->use = key->use;
out:
	if (r != 0)
		ERR_clear_error();
	OPENSSL_free(der);
	EVP_PKEY_free(pub);
	return r;
}

int
tok_key_set_kid(struct tok_key *key, const char *kid)
{
	size_t n;

	if (kid == NULL) {
		key->kid[0] = '\0';
		return 0;
	}
	n = strlen(kid);
	if (n == 0)
		return YH_ERR_INVALID;
	if (n > TOK_KID_MAX)
		return YH_ERR_TOO_LONG;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)kid[i];

		if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
			return YH_ERR_INVALID;
	}
	memcpy(key->kid, kid, n + 1);
	return 0;
}

int
tok_key_set_alg(struct tok_key *key, enum tok_alg alg)
{
	if ((unsigned)alg >= TOK_ALG_COUNT)
		return YH_ERR_INVALID;
	if (alg != TOK_ALG_UNSET && tok_alg_family(alg) != key->family)
		return YH_ERR_INVALID;
	key->alg = alg;
	return 0;
}

void
tok_key_set_use(struct tok_key *key, enum tok_use use)
{
	key->use = use;
}

bool
tok_key_thumb_get(const struct tok_key *key, char *out, size_t outsz)
{
	size_t n;

	if (__atomic_load_n(&key->thumb_state, __ATOMIC_ACQUIRE) != 2)
		return false;
	n = strlen(key->thumb);
	if (n >= outsz)
		return false;
	memcpy(out, key->thumb, n + 1);
	return true;
}

void
tok_key_thumb_put(const struct tok_key *key, const char *value)
{
	/* The memo is not part of the key's value: the object itself is never const. */
	struct tok_key *k = (struct tok_key *)(uintptr_t)key;
	int expect = 0;
	size_t n = strlen(value);

	if (n > TOK_THUMB_MEMO_MAX || !__atomic_compare_exchange_n(&k->thumb_state, &expect, 1, false,
	    __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return;   /* another thread writes it (the same value) */
	memcpy(k->thumb, value, n + 1);
	__atomic_store_n(&k->thumb_state, 2, __ATOMIC_RELEASE);
}

const char *
tok_key_kid(const struct tok_key *key)
{
	return key->kid;
}

enum tok_alg
tok_key_alg(const struct tok_key *key)
{
	return key->alg;
}

enum tok_alg
tok_key_sign_alg(const struct tok_key *key)
{
	if (key->alg != TOK_ALG_UNSET)
		return key->alg;
	switch (key->family) {
	case TOK_FAM_EC_P256:
		return TOK_ALG_ES256;
	case TOK_FAM_ED25519:
		return TOK_ALG_EDDSA;
	case TOK_FAM_RSA:
		return TOK_ALG_RS256;
	case TOK_FAM_SM2:
		return TOK_ALG_SM2;
	default:
		return TOK_ALG_UNSET;
	}
}

enum tok_family
tok_key_family(const struct tok_key *key)
{
	return key->family;
}

enum tok_use
tok_key_use(const struct tok_key *key)
{
	return key->use;
}

bool
tok_key_is_private(const struct tok_key *key)
{
	return key->priv;
}

bool
tok_key_can_sign(const struct tok_key *key)
{
	return key->priv || key->signer != NULL;
}

int
tok_key_with_signer(const struct tok_key *key, tok_sign_fn fn, void *ctx,
    struct tok_key **out)
{
	int r;

	*out = NULL;
	if (key == NULL || fn == NULL)
		return YH_ERR_INVALID;
	if ((r = tok_key_public(key, out)) != 0)
		return r;
	(*out)->signer = fn;
	(*out)->signer_ctx = ctx;
	return 0;
}

void
tok_key_set_submit(struct tok_key *key, tok_submit_fn submit)
{
	if (key->signer != NULL)
		key->submit = submit;
}

void
tok_key_sign_submit(struct tok_sign_job *job)
{
	const struct tok_key *key = job->key;

	job->siglen = 0;
	if (key == NULL) {
		job->rc = YH_ERR_INTERNAL;
	} else {
		if (job->alg == TOK_ALG_UNSET)
			job->alg = tok_key_sign_alg(key);
		if (key->submit != NULL && tok_key_can_alg(key, job->alg)) {
			key->submit(key->signer_ctx, job);
			return;
		}
		job->rc = tok_key_sign(key, job->alg, job->data, job->len, job->sig,
		    sizeof(job->sig), &job->siglen);
	}
	job->done(job);
}

unsigned
tok_key_bits(const struct tok_key *key)
{
	return key->bits;
}

EVP_PKEY *
tok_key_pkey(const struct tok_key *key)
{
	return key->pkey;
}

/* ---- PEM ---- */

/* Refuses every passphrase prompt: encrypted PEM is not supported. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static bool
mem_contains(const char *hay, size_t n, const char *needle)
{
	size_t m = strlen(needle);

	for (size_t i = 0; i + m <= n; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return true;
	return false;
}

int
tok_key_from_pem(const char *pem, size_t len, enum tok_alg alg, struct tok_key **out)
{
	BIO *bio = NULL;
	EVP_PKEY *pk = NULL;
	int r;

	*out = NULL;
	if (pem == NULL)
		return YH_ERR_INTERNAL;
	if (len > PEM_MAX)
		return YH_ERR_TOO_LONG;
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return YH_ERR_ALLOC;
	if (mem_contains(pem, len, "ENCRYPTED")) {
		r = YH_ERR_UNSUPPORTED;
		goto out;
	}
	if (mem_contains(pem, len, "PRIVATE KEY-----"))
		pk = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	else
		pk = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
	if (pk == NULL) {
		r = YH_ERR_INVALID;
		goto out;
	}
	r = tok_key_from_pkey(pk, alg, out);
out:
	ERR_clear_error();
	EVP_PKEY_free(pk);
	BIO_free(bio);
	return r;
}

int
tok_key_load_pem_file(const char *path, enum tok_alg alg, struct tok_key **out)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd = -1, r;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return YH_ERR_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		r = YH_ERR_IO;
		goto out;
	}
	if ((r = yh_file_read_fd(fd, PEM_MAX, true, &buf, &len)) != 0)
		goto out;
	if (mem_contains(buf, len, "PRIVATE KEY-----") && (st.st_mode & 077) != 0) {
		r = YH_ERR_PERM;
		goto out;
	}
	r = tok_key_from_pem(buf, len, alg, out);
out:
	if (buf != NULL)
		yh_freezero(buf, len + 1);
	if (fd >= 0)
		close(fd);
	return r;
}

int
tok_key_to_pem(const struct tok_key *key, bool private, char **out)
{
	BIO *bio = NULL;
	char *data = NULL, *s = NULL;
	long n;
	int r;

	*out = NULL;
	if (key == NULL)
		return YH_ERR_INTERNAL;
	if (private && !key->priv)
		return YH_ERR_KEY;
	bio = BIO_new(private ? BIO_s_secmem() : BIO_s_mem());
	if (bio == NULL)
		return YH_ERR_ALLOC;
	if (private)
		r = PEM_write_bio_PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL);
	else
		r = PEM_write_bio_PUBKEY(bio, key->pkey);
	if (r != 1) {
		r = YH_ERR_CRYPTO;
		goto out;
	}
	n = BIO_get_mem_data(bio, &data);
	if (n <= 0 || n > PEM_MAX) {
		r = YH_ERR_CRYPTO;
		goto out;
	}
	if ((s = malloc((size_t)n + 1)) == NULL) {
		r = YH_ERR_ALLOC;
		goto out;
	}
	memcpy(s, data, (size_t)n);
	s[n] = '\0';
	*out = s;
	r = 0;
out:
	ERR_clear_error();
	BIO_free(bio); /* a secmem BIO clears its memory */
	return r;
}

int
tok_key_save_pem_file(const struct tok_key *key, bool private, const char *path)
{
	mode_t mode = private ? 0600 : 0644;
	char *pem = NULL;
	int fd = -1, r;

	if ((r = tok_key_to_pem(key, private, &pem)) != 0)
		return r;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		r = errno == EACCES || errno == EPERM ? YH_ERR_PERM : YH_ERR_IO;
		goto out;
	}
	if (fchmod(fd, mode) != 0) {
		r = YH_ERR_PERM;
		goto out;
	}
	if ((r = yh_file_write_fd(fd, pem, strlen(pem))) != 0)
		goto out;
	if (fsync(fd) != 0) {
		r = YH_ERR_IO;
		goto out;
	}
	r = 0;
out:
	if (fd >= 0 && close(fd) != 0 && r == 0)
		r = YH_ERR_IO;
	yh_strfree_secret(pem);
	return r;
}

/* ---- key sets ---- */

void
tok_keyset_init(struct tok_keyset *set)
{
	memset(set, 0, sizeof(*set));
}

int
tok_keyset_add(struct tok_keyset *set, struct tok_key *key)
{
	if (key == NULL)
		return YH_ERR_INTERNAL;
	if (key->kid[0] != '\0' && tok_keyset_find(set, key->kid) != NULL)
		return YH_ERR_EXISTS;
	if (set->n >= TOK_KEYSET_MAX)
		return YH_ERR_LIMIT;
	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 4;
		struct tok_key **k = realloc(set->keys, cap * sizeof(*k));

		if (k == NULL)
			return YH_ERR_ALLOC;
		set->keys = k;
		set->cap = cap;
	}
	set->keys[set->n++] = tok_key_ref(key);
	return 0;
}

const struct tok_key *
tok_keyset_find(const struct tok_keyset *set, const char *kid)
{
	if (set == NULL || kid == NULL || kid[0] == '\0')
		return NULL;
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->keys[i]->kid, kid) == 0)
			return set->keys[i];
	return NULL;
}

void
tok_keyset_clear(struct tok_keyset *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->n; i++)
		tok_key_free(set->keys[i]);
	free(set->keys);
	memset(set, 0, sizeof(*set));
}
