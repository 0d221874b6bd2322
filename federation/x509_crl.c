/* A CA's certificate revocation list (x509.h): read, its signature checked (SM2 over
 * the to-be-signed bytes with the distinguishing ID), its serials kept sorted so that a
 * lookup is a binary search however long the list. Also what the CRL, OCSP and path
 * checks share below x509.c: the SM2 distinguishing ID on a certificate, an SM2
 * signature over to-be-signed bytes, a certificate's issuer-and-serial id. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/atomicfile.h"
#include "common/digest.h"
#include "common/secmem.h"
#include "common/timeutil.h"
#include "federation/x509.h"
#include "token/jose_alg.h"

#define SERIAL_MAX 20     /* RFC 5280: a serial is at most 20 octets */

struct serial {
	unsigned char len;
	unsigned char b[SERIAL_MAX + 1];
};

struct fed_x509_crl {
	X509_NAME *issuer;
	time_t this_update, next_update;   /* next_update 0: none given */
	struct serial *s;
	size_t n;
};

static int
serial_cmp(const void *a, const void *b)
{
	const struct serial *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->b, y->b, x->len);
}

/* The content octets of serial (its DER less tag and length), or -1 when too long. */
static int
serial_of(const ASN1_INTEGER *i, struct serial *out)
{
	int n = ASN1_STRING_length(i);

	if (n < 0 || n > SERIAL_MAX + 1)
		return -1;
	out->len = (unsigned char)n;
	memcpy(out->b, ASN1_STRING_get0_data(i), (size_t)n);
	/* A negative serial (a broken CA) is kept apart from its absolute value. */
	if (ASN1_STRING_type(i) == V_ASN1_NEG_INTEGER && n <= SERIAL_MAX)
		out->b[out->len++] = 0xff;
	return 0;
}

int
fed_x509_set_sm2_id(X509 *x)
{
	ASN1_OCTET_STRING *id;

	if (X509_get_signature_nid(x) != NID_SM2_with_SM3)
		return 0;
	if ((id = ASN1_OCTET_STRING_new()) == NULL ||
	    ASN1_OCTET_STRING_set(id, (const unsigned char *)TOK_SM2_ID,
	    (int)strlen(TOK_SM2_ID)) != 1) {
		ASN1_OCTET_STRING_free(id);
		return YH_ERR_ALLOC;
	}
	X509_set0_distinguishing_id(x, id);
	return 0;
}

int
fed_x509_cert_id(X509 *x, char id[FED_X509_HEX_LEN + 1])
{
	unsigned char *der = NULL, *sder = NULL, md[32];
	EVP_MD_CTX *c = NULL;
	int n, sl, r = YH_ERR_CRYPTO;

	if ((n = i2d_X509_NAME(X509_get_issuer_name(x), &der)) > 0 &&
	    (sl = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &sder)) > 0 &&
	    (c = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestInit_ex(c, yh_sha256_md(), NULL) == 1 &&
	    EVP_DigestUpdate(c, der, (size_t)n) == 1 &&
	    EVP_DigestUpdate(c, sder, (size_t)sl) == 1 &&
	    EVP_DigestFinal_ex(c, md, NULL) == 1) {
		yh_hex_encode(md, sizeof(md), id);
		r = 0;
	}
	OPENSSL_free(der);
	OPENSSL_free(sder);
	EVP_MD_CTX_free(c);
	return r;
}

bool
fed_x509_sm2_tbs_ok(EVP_PKEY *k, const unsigned char *tbs, size_t n,
    const ASN1_BIT_STRING *sig)
{
	EVP_MD_CTX *m = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	int ok = 0;

	if (k == NULL || sig == NULL || (m = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit_ex(m, &pctx, "SM3", NULL, NULL, k, NULL) != 1 ||
	    EVP_PKEY_CTX_set1_id(pctx, TOK_SM2_ID, (int)strlen(TOK_SM2_ID)) <= 0)
		goto out;
	ok = EVP_DigestVerify(m, ASN1_STRING_get0_data(sig), (size_t)ASN1_STRING_length(sig),
	    tbs, n) == 1;
out:
	EVP_MD_CTX_free(m);
	return ok == 1;
}

static bool
sig_ok(X509_CRL *crl, X509 *issuer)
{
	EVP_PKEY *k = X509_get0_pubkey(issuer);
	const ASN1_BIT_STRING *sig = NULL;
	unsigned char *tbs = NULL;
	bool ok;
	int n;

	if (k == NULL)
		return false;
	if (X509_CRL_get_signature_nid(crl) != NID_SM2_with_SM3)
		return X509_CRL_verify(crl, k) == 1;
	/* SM2: X509_CRL_verify would use an empty distinguishing ID. */
	X509_CRL_get0_signature(crl, &sig, NULL);
	if ((n = i2d_re_X509_CRL_tbs(crl, &tbs)) <= 0)
		return false;
	ok = fed_x509_sm2_tbs_ok(k, tbs, (size_t)n, sig);
	OPENSSL_free(tbs);
	return ok;
}

static X509_CRL *
crl_parse(const char *text, size_t n)
{
	const unsigned char *p = (const unsigned char *)text;
	X509_CRL *crl = NULL;
	BIO *b;

	if (n >= 10 && memcmp(text, "-----BEGIN", 10) == 0) {
		if ((b = BIO_new_mem_buf(text, (int)n)) != NULL)
			crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);
		BIO_free(b);
		return crl;
	}
	crl = d2i_X509_CRL(NULL, &p, (long)n);
	if (crl != NULL && p != (const unsigned char *)text + n) {
		X509_CRL_free(crl);
		crl = NULL;
	}
	return crl;
}

static time_t
time_of(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

/* The serials of crl, sorted, into c. */
static int
serials(X509_CRL *crl, struct fed_x509_crl *c, const char **why)
{
	STACK_OF(X509_REVOKED) *rv = X509_CRL_get_REVOKED(crl);
	int n = rv != NULL ? sk_X509_REVOKED_num(rv) : 0;

	if (n > 0 && (c->s = calloc((size_t)n, sizeof(*c->s))) == NULL) {
		*why = "out of memory";
		return YH_ERR_ALLOC;
	}
	for (int i = 0; i < n; i++)
		if (serial_of(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(rv, i)),
		    &c->s[c->n++]) != 0) {
			*why = "lists a serial longer than 20 octets";
			return YH_ERR_CONFIG;
		}
	if (c->n > 1)   /* an empty CRL has no array: qsort must not see NULL */
		qsort(c->s, c->n, sizeof(*c->s), serial_cmp);
	return 0;
}

int
fed_x509_crl_load(const char *path, STACK_OF(X509) *issuers, struct fed_x509_crl **out,
    const char **why)
{
	char *text = NULL;
	size_t n = 0;
	int fd, r;

	*out = NULL;
	*why = "cannot read the file";
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return YH_ERR_CONFIG;
	r = yh_file_read_fd(fd, FED_X509_CRL_MAX, false, &text, &n);
	close(fd);
	if (r != 0)
		return r == YH_ERR_ALLOC ? r : YH_ERR_CONFIG;
	r = fed_x509_crl_parse(text, n, issuers, out, why);
	free(text);
	return r;
}

time_t
fed_x509_crl_this_update(const struct fed_x509_crl *c)
{
	return c->this_update;
}

time_t
fed_x509_crl_next_update(const struct fed_x509_crl *c)
{
	return c->next_update;
}

/* Whether crl or one of its entries carries a critical extension. None is handled
 * here: an issuingDistributionPoint (a partition, or only some reasons or kinds of
 * certificate), a deltaCRLIndicator or an entry's certificateIssuer (RFC 5280 5.2,
 * 5.3) would make a CRL that does not list a certificate say nothing about it. */
static bool
critical_ext(const X509_CRL *crl)
{
	STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED((X509_CRL *)crl);

	for (int i = 0; i < X509_CRL_get_ext_count(crl); i++)
		if (X509_EXTENSION_get_critical(X509_CRL_get_ext(crl, i)))
			return true;
	for (int i = 0; i < sk_X509_REVOKED_num(rev); i++) {
		const X509_REVOKED *e = sk_X509_REVOKED_value(rev, i);

		for (int k = 0; k < X509_REVOKED_get_ext_count(e); k++)
			if (X509_EXTENSION_get_critical(X509_REVOKED_get_ext(e, k)))
				return true;
	}
	return false;
}

int
fed_x509_crl_parse(const char *text, size_t n, STACK_OF(X509) *issuers,
    struct fed_x509_crl **out, const char **why)
{
	struct fed_x509_crl *c = NULL;
	X509_CRL *crl = NULL;
	X509 *iss = NULL;
	int r = YH_ERR_CONFIG;

	*out = NULL;
	*why = "is not a CRL (DER or PEM)";
	if ((crl = crl_parse(text, n)) == NULL)
		goto out;
	for (int i = 0; iss == NULL && i < sk_X509_num(issuers); i++)
		if (X509_NAME_cmp(X509_get_subject_name(sk_X509_value(issuers, i)),
		    X509_CRL_get_issuer(crl)) == 0)
			iss = sk_X509_value(issuers, i);
	*why = "is issued by none of the CA's certificates";
	if (iss == NULL)
		goto out;
	*why = "has a critical extension (a delta, partitioned or indirect CRL does not "
	    "speak for every certificate of its issuer)";
	if (critical_ext(crl))
		goto out;
	*why = "has a signature that does not verify";
	if (!sig_ok(crl, iss))
		goto out;
	*why = "out of memory";
	r = YH_ERR_ALLOC;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->issuer = X509_NAME_dup(X509_CRL_get_issuer(crl))) == NULL)
		goto out;
	c->this_update = time_of(X509_CRL_get0_lastUpdate(crl));
	c->next_update = time_of(X509_CRL_get0_nextUpdate(crl));
	if ((r = serials(crl, c, why)) != 0)
		goto out;
	*out = c;
	c = NULL;
out:
	ERR_clear_error();
	fed_x509_crl_free(c);
	X509_CRL_free(crl);
	return r;
}

void
fed_x509_crl_free(struct fed_x509_crl *c)
{
	if (c == NULL)
		return;
	X509_NAME_free(c->issuer);
	free(c->s);
	free(c);
}

bool
fed_x509_crl_of_issuer(const struct fed_x509_crl *c, X509 *x)
{
	return c != NULL && X509_NAME_cmp(c->issuer, X509_get_issuer_name(x)) == 0;
}

bool
fed_x509_crl_covers(const struct fed_x509_crl *c, X509 *x, time_t now)
{
	return fed_x509_crl_of_issuer(c, x) && c->this_update <= now &&
	    (c->next_update == 0 || now <= c->next_update);
}

bool
fed_x509_crl_lists(const struct fed_x509_crl *c, const ASN1_INTEGER *serial)
{
	struct serial k;

	if (serial_of(serial, &k) != 0)
		return false;
	return c->n > 0 && bsearch(&k, c->s, c->n, sizeof(*c->s), serial_cmp) != NULL;
}

void
fed_x509_crl_source(const struct fed_x509_crl *c, char *out, size_t outsz)
{
	char iso[40];

	yh_time_iso8601((int64_t)c->this_update * 1000, iso, sizeof(iso));
	snprintf(out, outsz, "crl:%s", iso);
}
