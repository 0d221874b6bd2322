/* Proof of possession (x509.h): the signature a certificate's key made over a login
 * challenge, checked with the algorithm the key's kind fixes. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "federation/x509.h"
#include "token/jose_alg.h"

#define PROOF_MSG_MAX 4096
#define PROOF_SIG_MAX 1024

enum proof_kind { PROOF_NONE = 0, PROOF_SM2, PROOF_ECDSA, PROOF_RSA };

static enum proof_kind
kind_of(EVP_PKEY *k)
{
	char group[32] = "";

	if (k == NULL)
		return PROOF_NONE;
	if (EVP_PKEY_is_a(k, "RSA"))
		return EVP_PKEY_get_bits(k) >= TOK_RSA_MIN_BITS ? PROOF_RSA : PROOF_NONE;
	if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group,
	    sizeof(group), NULL) != 1) {
		ERR_clear_error();
		return PROOF_NONE;
	}
	if (strcmp(group, "SM2") == 0)
		return PROOF_SM2;
	if (strcmp(group, "prime256v1") == 0 || strcmp(group, "secp384r1") == 0)
		return PROOF_ECDSA;
	return PROOF_NONE;
}

const char *
fed_x509_proof_alg(X509 *x)
{
	switch (kind_of(X509_get0_pubkey(x))) {
	case PROOF_SM2: return "SM2-SM3";
	case PROOF_ECDSA: return "ECDSA-SHA256";
	case PROOF_RSA: return "RSA-SHA256";
	case PROOF_NONE: break;
	}
	return NULL;
}

int
fed_x509_proof_verify(X509 *x, const unsigned char *msg, size_t n, const unsigned char *sig,
    size_t siglen)
{
	EVP_PKEY *k = X509_get0_pubkey(x);
	enum proof_kind kind = kind_of(k);
	EVP_MD_CTX *m = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	int r = YH_ERR_ALLOC;

	if (kind == PROOF_NONE)
		return YH_ERR_UNSUPPORTED;
	if (n > PROOF_MSG_MAX || siglen > PROOF_SIG_MAX)
		return YH_ERR_TOO_LONG;
	if ((m = EVP_MD_CTX_new()) == NULL)
		goto out;
	r = YH_ERR_CRYPTO;
	if (EVP_DigestVerifyInit_ex(m, &pctx, kind == PROOF_SM2 ? "SM3" : "SHA256", NULL, NULL,
	    k, NULL) != 1 || pctx == NULL)
		goto out;
	/* OpenSSL 3.0 would use an empty ID: always GM/T 0009's default. */
	if (kind == PROOF_SM2 &&
	    EVP_PKEY_CTX_set1_id(pctx, TOK_SM2_ID, (int)strlen(TOK_SM2_ID)) <= 0)
		goto out;
	if (kind == PROOF_RSA && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)
		goto out;
	r = EVP_DigestVerify(m, sig, siglen, msg, n) == 1 ? 0 : YH_ERR_AUTH;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(m);
	return r;
}
