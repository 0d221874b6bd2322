/*
 * Unit tests for X.509 trust (federation/x509.h), over certificates made here with
 * OpenSSL: the cert.ca.* and cert.profile.* keys read through a configuration table
 * (errors naming file:line), SM2 paths signed with the default distinguishing ID (and
 * one signed with an empty ID, refused), a path through a configured cross-certificate
 * and the refusal when it is not configured (also when the client sends it), RSA and
 * ECDSA mixed, an expired certificate, a wrong key usage, a policy allow-list, a broken
 * signature, the identity from each place a profile may name, and the proof of
 * possession (a challenge signed with SM2, ECDSA P-256 and P-384, RSA), and CRLs (SM2
 * verified with the default distinguishing ID, refused with an empty one or another key;
 * RSA; the sorted lookup; nextUpdate and issuer).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "common/b64.h"
#include "common/config.h"
#include "federation/x509.h"
#include "tmpdir.h"

#define ID_A "11010519491231002X"
#define ID_B "110105198001010016"
#define USCC "91350100M000100Y43"

static const struct yh_cfg_opt opts[] = {
	{ .name = "cert.ca.", .type = YH_CFG_FAMILY, .flags = YH_CFG_RELOADABLE,
	  .family = fed_x509_cfg_line },
	{ .name = "cert.profile.", .type = YH_CFG_FAMILY, .flags = YH_CFG_RELOADABLE,
	  .family = fed_x509_cfg_line },
	{ .name = NULL },
};

static EVP_PKEY *
key(const char *kind)
{
	if (strcmp(kind, "sm2") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	if (strcmp(kind, "rsa") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", kind);
}

static void
ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	e = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

/* A certificate extension oid whose value is a PrintableString. */
static void
string_ext(X509 *x, const char *oid, const char *value)
{
	ASN1_PRINTABLESTRING *s = ASN1_PRINTABLESTRING_new();
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	unsigned char *der = NULL;
	int n;
	X509_EXTENSION *e;
	ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);

	ASN1_STRING_set(s, value, (int)strlen(value));
	n = i2d_ASN1_PRINTABLESTRING(s, &der);
	ASN1_OCTET_STRING_set(os, der, n);
	e = X509_EXTENSION_create_by_OBJ(NULL, o, 0, os);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
	ASN1_OBJECT_free(o);
	ASN1_OCTET_STRING_free(os);
	ASN1_PRINTABLESTRING_free(s);
	OPENSSL_free(der);
}

/* Signs x with k: SM2 over SM3 with the distinguishing ID id (NULL: none set). */
static void
sign(X509 *x, EVP_PKEY *k, const char *id)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	bool sm2 = EVP_PKEY_is_a(k, "SM2");

	assert_int_equal(EVP_DigestSignInit_ex(m, &pctx, sm2 ? "SM3" : "SHA256", NULL, NULL, k,
	    NULL), 1);
	if (sm2 && id != NULL)
		assert_true(EVP_PKEY_CTX_set1_id(pctx, id, (int)strlen(id)) > 0);
	assert_true(X509_sign_ctx(x, m) > 0);
	EVP_MD_CTX_free(m);
}

struct mk {
	const char *cn;
	EVP_PKEY *key;
	X509 *issuer;          /* NULL: self-signed */
	EVP_PKEY *issuer_key;
	bool ca;
	const char *ku;        /* NULL: by ca */
	long days_from, days_to;
	const char *id;        /* distinguishing ID of an SM2 signature */
};

static X509 *
mkcert(const struct mk *m)
{
	static long serial = 1;
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)m->cn, -1, -1,
	    0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, m->issuer != NULL ? X509_get_subject_name(m->issuer) : n);
	X509_gmtime_adj(X509_getm_notBefore(x), m->days_from * 86400);
	X509_gmtime_adj(X509_getm_notAfter(x), (m->days_to != 0 ? m->days_to : 365) * 86400);
	X509_set_pubkey(x, m->key);
	ext(x, m->issuer, NID_basic_constraints, m->ca ? "critical,CA:TRUE" :
	    "critical,CA:FALSE");
	ext(x, m->issuer, NID_key_usage, m->ku != NULL ? m->ku : m->ca ?
	    "critical,keyCertSign,cRLSign" : "critical,digitalSignature,nonRepudiation");
	ext(x, m->issuer, NID_subject_key_identifier, "hash");
	X509_NAME_free(n);
	return x;
}

static X509 *
finish(X509 *x, const struct mk *m)
{
	sign(x, m->issuer_key != NULL ? m->issuer_key : m->key,
	    m->id != NULL ? m->id : "1234567812345678");
	return x;
}

static void
write_pem(const char *name, X509 *const *certs, size_t n)
{
	char path[160];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	assert_non_null(f = fopen(path, "w"));
	for (size_t i = 0; i < n; i++)
		assert_int_equal(PEM_write_X509(f, certs[i]), 1);
	fclose(f);
}

static int
load(const char *text, struct fed_x509_cfg *c, struct fed_x509_trust **t, char *err,
    size_t errsz)
{
	const char *path = write_file("t.conf", text, 0600);
	struct yh_cfg_err e;
	int r;

	memset(c, 0, sizeof(*c));
	*t = NULL;
	if ((r = yh_cfg_load_file(opts, c, path, 0, &e)) != 0) {
		yh_cfg_err_format(&e, err, errsz);
		return r;
	}
	if ((r = fed_x509_cfg_check(c, err, errsz)) != 0)
		return r;
	return t != NULL ? fed_x509_trust_load(c, t, err, errsz) : 0;
}

static void
expect_err(const char *text, const char *want)
{
	struct fed_x509_cfg c;
	struct fed_x509_trust *t;
	char err[1024] = "";

	assert_int_equal(load(text, &c, &t, err, sizeof(err)), YH_ERR_CONFIG);
	if (strstr(err, want) == NULL)
		fail_msg("'%s' does not hold '%s'", err, want);
	fed_x509_trust_free(t);
	fed_x509_cfg_free(&c);
}

static void
test_config(void **state)
{
	(void)state;
	expect_err("cert.ca.a.roots = x.pem\ncert.ca.a.rooots = y\n",
	    "t.conf:2: cert.ca.a.rooots: unknown field");
	expect_err("cert.ca.a.revocation = sometimes\n", "t.conf:1: cert.ca.a.revocation: "
	    "expected crl");
	expect_err("cert.ca.A!.roots = x\n", "t.conf:1: cert.ca.A!.roots: expected");
	expect_err("cert.ca.a.policies = 1.2.x\n", "t.conf:1: cert.ca.a.policies: not a list");
	expect_err("\ncert.ca.a.fail = open\n", "t.conf:2: cert.ca.a.roots is missing");
	expect_err("cert.ca.a.roots = none.pem\ncert.ca.a.profile = p\n",
	    "t.conf:2: cert.ca.a.profile: no profile 'p'");
	expect_err("cert.profile.p.id_number = subject:CN ~ (\n",
	    "t.conf:1: cert.profile.p.id_number: not a POSIX");
	expect_err("cert.profile.p.id_number = where:1.2\n", "t.conf:1: cert.profile.p.id_number: "
	    "a source is");
	expect_err("cert.ca.a.roots = none.pem\n", "t.conf:1: cert.ca.a.roots: ");
}

/* The PKI of the path tests. */
struct pki {
	EVP_PKEY *ka, *kia, *kb, *kr, *kee;
	X509 *ra, *ia, *rb, *cross, *rr;
};

static void
pki_make(struct pki *p)
{
	struct mk m;

	p->ka = key("sm2");
	p->kia = key("sm2");
	p->kb = key("sm2");
	p->kr = key("rsa");
	p->kee = key("sm2");
	m = (struct mk){ .cn = "Root A", .key = p->ka, .ca = true };
	p->ra = finish(mkcert(&m), &m);
	m = (struct mk){ .cn = "CA A Persons", .key = p->kia, .issuer = p->ra,
	    .issuer_key = p->ka, .ca = true };
	p->ia = finish(mkcert(&m), &m);
	m = (struct mk){ .cn = "Root B", .key = p->kb, .ca = true };
	p->rb = finish(mkcert(&m), &m);
	m = (struct mk){ .cn = "Root B", .key = p->kb, .issuer = p->ra, .issuer_key = p->ka,
	    .ca = true };
	p->cross = finish(mkcert(&m), &m);
	m = (struct mk){ .cn = "Root R", .key = p->kr, .ca = true };
	p->rr = finish(mkcert(&m), &m);
	write_pem("ra.pem", &p->ra, 1);
	write_pem("ia.pem", &p->ia, 1);
	write_pem("rb.pem", &p->rb, 1);
	write_pem("cross.pem", &p->cross, 1);
	write_pem("rr.pem", &p->rr, 1);
}

static void
pki_free(struct pki *p)
{
	EVP_PKEY_free(p->ka);
	EVP_PKEY_free(p->kia);
	EVP_PKEY_free(p->kb);
	EVP_PKEY_free(p->kr);
	EVP_PKEY_free(p->kee);
	X509_free(p->ra);
	X509_free(p->ia);
	X509_free(p->rb);
	X509_free(p->cross);
	X509_free(p->rr);
}

/* A person's certificate under issuer, its ID number in the GM/T 0015 extension. */
static X509 *
person(struct mk *m, const char *id_number)
{
	X509 *x = mkcert(m);

	if (id_number != NULL)
		string_ext(x, "1.2.156.10260.4.1.1", id_number);
	return finish(x, m);
}

static enum fed_x509_why
verify(const struct fed_x509_trust *t, X509 *x, STACK_OF(X509) *chain,
    struct fed_x509_result *res)
{
	assert_int_equal(fed_x509_verify(t, x, chain, time(NULL), res), 0);
	return res->why;
}

static const char conf_a[] =
    "cert.ca.a.roots = ra.pem\n"
    "cert.ca.a.intermediates = ia.pem\n"
    "cert.ca.a.cross_certs = cross.pem\n"
    "cert.ca.r.roots = rr.pem\n"
    "cert.ca.r.policies = 1.2.156.1.9\n";

static void
test_paths(void **state)
{
	struct pki p;
	struct fed_x509_cfg c;
	struct fed_x509_trust *t = NULL;
	struct fed_x509_result res;
	char err[1024];
	X509 *x;
	EVP_PKEY *ec = key("P-256");
	struct mk m;
	STACK_OF(X509) *chain = sk_X509_new_null();

	(void)state;
	pki_make(&p);
	assert_int_equal(load(conf_a, &c, &t, err, sizeof(err)), 0);

	/* SM2 all the way, the ID number from the extension. */
	m = (struct mk){ .cn = "Zhang San", .key = p.kee, .issuer = p.ia, .issuer_key = p.kia };
	x = person(&m, ID_A);
	assert_int_equal(verify(t, x, NULL, &res), FED_X509_OK);
	assert_string_equal(res.ca->name, "a");
	assert_int_equal(sk_X509_num(res.path), 3);
	assert_int_equal(res.kind, FED_X509_PERSON);
	assert_string_equal(res.value, ID_A);
	assert_string_equal(res.source, "ext:1.2.156.10260.4.1.1");
	fed_x509_result_clear(&res);
	X509_free(x);

	/* The same signed with an empty distinguishing ID: not GM/T 0009's, refused. */
	m.id = "";
	x = person(&m, ID_A);
	assert_int_equal(verify(t, x, NULL, &res), FED_X509_BAD_SIGNATURE);
	fed_x509_result_clear(&res);
	X509_free(x);

	/* Under B, an ECDSA key signed by B's SM2 root: through the cross-certificate. */
	m = (struct mk){ .cn = "Wang Wu", .key = ec, .issuer = p.rb, .issuer_key = p.kb };
	x = person(&m, ID_B);
	assert_int_equal(verify(t, x, NULL, &res), FED_X509_OK);
	assert_string_equal(res.ca->name, "a");
	assert_int_equal(sk_X509_num(res.path), 3);
	assert_string_equal(res.value, ID_B);
	fed_x509_result_clear(&res);
	fed_x509_trust_free(t);
	fed_x509_cfg_free(&c);

	/* Without the cross-certificate configured: unknown, also when the client sends it. */
	assert_int_equal(load("cert.ca.a.roots = ra.pem\n", &c, &t, err, sizeof(err)), 0);
	assert_int_equal(verify(t, x, NULL, &res), FED_X509_UNKNOWN_CA);
	fed_x509_result_clear(&res);
	assert_int_equal(sk_X509_push(chain, p.cross), 1);
	assert_int_equal(verify(t, x, chain, &res), FED_X509_UNKNOWN_CA);
	assert_non_null(strstr(res.detail, "not configured"));
	fed_x509_result_clear(&res);
	fed_x509_trust_free(t);
	fed_x509_cfg_free(&c);
	X509_free(x);

	/* The intermediate sent by the client when it is configured only as a root's. */
	assert_int_equal(load(conf_a, &c, &t, err, sizeof(err)), 0);
	sk_X509_zero(chain);
	assert_int_equal(sk_X509_push(chain, p.ia), 1);
	m = (struct mk){ .cn = "Zhang San", .key = p.kee, .issuer = p.ia, .issuer_key = p.kia };
	x = person(&m, ID_A);
	assert_int_equal(verify(t, x, chain, &res), FED_X509_OK);
	fed_x509_result_clear(&res);
	X509_free(x);

	/* Expired; wrong key usage; a broken signature. */
	m.days_from = -400;
	m.days_to = -30;
	x = person(&m, ID_A);
	assert_int_equal(verify(t, x, NULL, &res), FED_X509_EXPIRED);
	fed_x509_result_clear(&res);
	X509_free(x);
	m.days_from = 0;
	m.days_to = 0;
	m.ku = "critical,keyEncipherment";
	x = person(&m, ID_A);
	assert_int_equal(verify(t, x, NULL, &res), FED_X509_KEY_USAGE);
	fed_x509_result_clear(&res);
	X509_free(x);
	m.ku = NULL;
	x = person(&m, ID_A);
	{
		const ASN1_BIT_STRING *sig;

		X509_get0_signature(&sig, NULL, x);
		((ASN1_BIT_STRING *)sig)->data[10] ^= 1;
	}
	assert_int_equal(verify(t, x, NULL, &res), FED_X509_BAD_SIGNATURE);
	fed_x509_result_clear(&res);
	X509_free(x);

	/* RSA root, ECDSA end-entity; CA r allows one policy the certificate lacks. */
	m = (struct mk){ .cn = "Zhao Liu", .key = ec, .issuer = p.rr, .issuer_key = p.kr };
	x = person(&m, ID_B);
	assert_int_equal(verify(t, x, NULL, &res), FED_X509_POLICY);
	fed_x509_result_clear(&res);
	X509_free(x);
	x = mkcert(&m);
	string_ext(x, "1.2.156.10260.4.1.1", ID_B);
	{
		CERTIFICATEPOLICIES *cp = CERTIFICATEPOLICIES_new();
		POLICYINFO *pi = POLICYINFO_new();

		pi->policyid = OBJ_txt2obj("1.2.156.1.9", 1);
		sk_POLICYINFO_push(cp, pi);
		assert_int_equal(X509_add1_ext_i2d(x, NID_certificate_policies, cp, 0,
		    X509V3_ADD_DEFAULT), 1);
		CERTIFICATEPOLICIES_free(cp);
	}
	finish(x, &m);
	assert_int_equal(verify(t, x, NULL, &res), FED_X509_OK);
	assert_string_equal(res.ca->name, "r");
	fed_x509_result_clear(&res);
	X509_free(x);

	fed_x509_trust_free(t);
	fed_x509_cfg_free(&c);
	sk_X509_free(chain);
	EVP_PKEY_free(ec);
	pki_free(&p);
}

static void
test_identity(void **state)
{
	struct pki p;
	struct fed_x509_cfg c;
	struct fed_x509_trust *t = NULL;
	struct fed_x509_result res;
	char err[1024];
	struct mk m;
	X509 *x;

	(void)state;
	pki_make(&p);
	assert_int_equal(load("cert.ca.a.roots = ra.pem\ncert.ca.a.intermediates = ia.pem\n"
	    "cert.ca.b.roots = rb.pem\ncert.ca.b.profile = cn\n"
	    "cert.profile.cn.id_number = subject:CN ~ ([0-9]{17}[0-9X])$\n"
	    "cert.profile.cn.name = subject:CN ~ ^([A-Za-z ]*[A-Za-z])\n",
	    &c, &t, err, sizeof(err)), 0);
	m = (struct mk){ .cn = "Example Ltd", .key = p.kee, .issuer = p.ia, .issuer_key = p.kia };

	/* An enterprise: the credit code wins over an ID number beside it. */
	x = mkcert(&m);
	string_ext(x, "1.2.156.10260.4.4", USCC);
	string_ext(x, "1.2.156.10260.4.1.1", ID_A);
	finish(x, &m);
	assert_int_equal(verify(t, x, NULL, &res), FED_X509_OK);
	assert_int_equal(res.kind, FED_X509_ORG);
	assert_int_equal(res.field, FED_X509_CREDIT_CODE);
	assert_string_equal(res.value, USCC);
	fed_x509_result_clear(&res);
	X509_free(x);

	/* The older OID; a bad checksum is no identity. */
	x = mkcert(&m);
	string_ext(x, "1.2.86.11.7.1", ID_A);
	finish(x, &m);
	assert_int_equal(verify(t, x, NULL, &res), FED_X509_OK);
	assert_string_equal(res.source, "ext:1.2.86.11.7.1");
	fed_x509_result_clear(&res);
	X509_free(x);
	x = person(&m, "110105194912310021");
	assert_int_equal(verify(t, x, NULL, &res), FED_X509_NO_IDENTITY);
	fed_x509_result_clear(&res);
	X509_free(x);

	/* A subject attribute and a subjectAltName otherName. */
	x = mkcert(&m);
	{
		ASN1_OBJECT *o = OBJ_txt2obj("1.2.156.10260.4.1.1", 1);

		X509_NAME_add_entry_by_OBJ(X509_get_subject_name(x), o, MBSTRING_ASC,
		    (const unsigned char *)ID_B, -1, -1, 0);
		ASN1_OBJECT_free(o);
	}
	finish(x, &m);
	assert_int_equal(verify(t, x, NULL, &res), FED_X509_OK);
	assert_string_equal(res.value, ID_B);
	assert_string_equal(res.source, "subject:1.2.156.10260.4.1.1");
	/* The built-in profile's name: the CN. */
	assert_string_equal(res.name, "Example Ltd");
	fed_x509_result_clear(&res);
	X509_free(x);
	x = mkcert(&m);
	ext(x, p.ia, NID_subject_alt_name, "otherName:1.2.156.10260.4.1.1;UTF8:" ID_A);
	finish(x, &m);
	assert_int_equal(verify(t, x, NULL, &res), FED_X509_OK);
	assert_string_equal(res.source, "san:1.2.156.10260.4.1.1");
	fed_x509_result_clear(&res);
	X509_free(x);

	/* CA b's profile: the ID number at the end of the CN. */
	m = (struct mk){ .cn = "Li Si " ID_B, .key = p.kee, .issuer = p.rb, .issuer_key = p.kb };
	x = person(&m, NULL);
	assert_int_equal(verify(t, x, NULL, &res), FED_X509_OK);
	assert_string_equal(res.ca->name, "b");
	assert_string_equal(res.value, ID_B);
	assert_string_equal(res.source, "subject:commonName ~");
	/* The profile's name field takes the name before the number. */
	assert_string_equal(res.name, "Li Si");
	fed_x509_holder_name(x, fed_x509_profile_find(&c, ""), res.name, sizeof(res.name));
	assert_string_equal(res.name, "");   /* the whole CN holds digits: no name */
	fed_x509_result_clear(&res);
	X509_free(x);

	fed_x509_trust_free(t);
	fed_x509_cfg_free(&c);
	pki_free(&p);
}

static void
test_parse(void **state)
{
	struct pki p;
	unsigned char *der = NULL;
	char b64[4096];
	int n;
	X509 *x;
	STACK_OF(X509) *sk;
	BIO *b = BIO_new(BIO_s_mem());
	char *pem;
	long len;

	(void)state;
	pki_make(&p);
	n = i2d_X509(p.ra, &der);
	yh_b64_encode(der, (size_t)n, b64);
	assert_int_equal(fed_x509_parse_cert(b64, strlen(b64), &x), 0);
	assert_int_equal(X509_cmp(x, p.ra), 0);
	X509_free(x);
	assert_int_equal(fed_x509_parse_cert("AAAA", 4, &x), YH_ERR_INVALID);
	assert_null(x);
	PEM_write_bio_X509(b, p.ia);
	PEM_write_bio_X509(b, p.cross);
	len = BIO_get_mem_data(b, &pem);
	assert_int_equal(fed_x509_parse_cert(pem, (size_t)len, &x), 0);
	assert_int_equal(X509_cmp(x, p.ia), 0);
	X509_free(x);
	assert_int_equal(fed_x509_parse_chain(pem, (size_t)len, &sk), 0);
	assert_int_equal(sk_X509_num(sk), 2);
	sk_X509_pop_free(sk, X509_free);
	assert_int_equal(fed_x509_parse_chain("junk", 4, &sk), YH_ERR_INVALID);
	BIO_free(b);
	OPENSSL_free(der);
	pki_free(&p);
}

/* msg signed with k as a login's proof: SM2 over SM3 with id, else SHA-256. */
static size_t
sign_msg(EVP_PKEY *k, const char *id, const char *msg, unsigned char *sig, size_t max)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	bool sm2 = EVP_PKEY_is_a(k, "SM2");
	size_t n = max;

	assert_int_equal(EVP_DigestSignInit_ex(m, &pctx, sm2 ? "SM3" : "SHA256", NULL, NULL, k,
	    NULL), 1);
	if (sm2)
		assert_true(EVP_PKEY_CTX_set1_id(pctx, id, (int)strlen(id)) > 0);
	assert_int_equal(EVP_DigestSign(m, sig, &n, (const unsigned char *)msg, strlen(msg)), 1);
	EVP_MD_CTX_free(m);
	return n;
}

static void
test_proof(void **state)
{
	static const char *const kinds[] = { "sm2", "P-256", "P-384", "rsa" };
	static const char *const algs[] = { "SM2-SM3", "ECDSA-SHA256", "ECDSA-SHA256",
		"RSA-SHA256" };
	const char *msg = "q8V2m0ZpQx6bH3tY_cJ-0aLrW9nE5sUfKdPg1oIiT4k";
	unsigned char sig[1024];
	size_t n;

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		EVP_PKEY *k = key(kinds[i]), *other = key(kinds[i]);
		struct mk m = { .cn = "P", .key = k };
		X509 *x = finish(mkcert(&m), &m);

		assert_string_equal(fed_x509_proof_alg(x), algs[i]);
		n = sign_msg(k, "1234567812345678", msg, sig, sizeof(sig));
		assert_int_equal(fed_x509_proof_verify(x, (const unsigned char *)msg, strlen(msg),
		    sig, n), 0);
		/* Another message, another key, a flipped byte. */
		assert_int_equal(fed_x509_proof_verify(x, (const unsigned char *)msg,
		    strlen(msg) - 1, sig, n), YH_ERR_AUTH);
		sig[n / 2] ^= 1;
		assert_int_equal(fed_x509_proof_verify(x, (const unsigned char *)msg, strlen(msg),
		    sig, n), YH_ERR_AUTH);
		n = sign_msg(other, "1234567812345678", msg, sig, sizeof(sig));
		assert_int_equal(fed_x509_proof_verify(x, (const unsigned char *)msg, strlen(msg),
		    sig, n), YH_ERR_AUTH);
		if (i == 0) {
			/* SM2 signed with an empty ID, as OpenSSL 3.0 would by default. */
			n = sign_msg(k, "", msg, sig, sizeof(sig));
			assert_int_equal(fed_x509_proof_verify(x, (const unsigned char *)msg,
			    strlen(msg), sig, n), YH_ERR_AUTH);
		}
		X509_free(x);
		EVP_PKEY_free(k);
		EVP_PKEY_free(other);
	}
}

/* A CRL by issuer (key k) listing serials[0..n), signed with the SM2 ID id. */
static void
write_crl(const char *name, X509 *issuer, EVP_PKEY *k, const long *serials, size_t n,
    const char *id)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_new();
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	bool sm2 = EVP_PKEY_is_a(k, "SM2");
	unsigned char *der = NULL;
	char path[160];
	FILE *f;
	int len;

	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer));
	X509_gmtime_adj(t, -60);
	X509_CRL_set1_lastUpdate(crl, t);
	X509_gmtime_adj(t, 86400);
	X509_CRL_set1_nextUpdate(crl, t);
	for (size_t i = 0; i < n; i++) {
		X509_REVOKED *r = X509_REVOKED_new();
		ASN1_INTEGER *sn = ASN1_INTEGER_new();

		ASN1_INTEGER_set(sn, serials[i]);
		X509_REVOKED_set_serialNumber(r, sn);
		X509_REVOKED_set_revocationDate(r, t);
		X509_CRL_add0_revoked(crl, r);
		ASN1_INTEGER_free(sn);
	}
	X509_CRL_sort(crl);
	assert_int_equal(EVP_DigestSignInit_ex(m, &pctx, sm2 ? "SM3" : "SHA256", NULL, NULL, k,
	    NULL), 1);
	if (sm2)
		assert_true(EVP_PKEY_CTX_set1_id(pctx, id, (int)strlen(id)) > 0);
	assert_true(X509_CRL_sign_ctx(crl, m) > 0);
	len = i2d_X509_CRL(crl, &der);
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(der, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	OPENSSL_free(der);
	EVP_MD_CTX_free(m);
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
}

static void
test_crl(void **state)
{
	struct pki p;
	struct fed_x509_crl *c = NULL;
	STACK_OF(X509) *iss = sk_X509_new_null();
	const char *why = NULL;
	char path[160];
	long many[2000];
	ASN1_INTEGER *sn = ASN1_INTEGER_new();
	struct mk m;
	X509 *x;

	(void)state;
	pki_make(&p);
	sk_X509_push(iss, p.ia);
	for (size_t i = 0; i < 2000; i++)
		many[i] = (long)(i * 7919 % 100003) + 10;
	write_crl("a.crl", p.ia, p.kia, many, 2000, "1234567812345678");
	snprintf(path, sizeof(path), "%s/a.crl", tmpdir);
	assert_int_equal(fed_x509_crl_load(path, iss, &c, &why), 0);
	for (size_t i = 0; i < 2000; i += 97) {
		ASN1_INTEGER_set(sn, many[i]);
		assert_true(fed_x509_crl_lists(c, sn));
	}
	ASN1_INTEGER_set(sn, 5);
	assert_false(fed_x509_crl_lists(c, sn));
	m = (struct mk){ .cn = "Zhang San", .key = p.kee, .issuer = p.ia, .issuer_key = p.kia };
	x = person(&m, ID_A);
	assert_true(fed_x509_crl_covers(c, x, time(NULL)));
	assert_false(fed_x509_crl_covers(c, x, time(NULL) + 2 * 86400));   /* past nextUpdate */
	assert_false(fed_x509_crl_covers(c, p.ia, time(NULL)));            /* another issuer */
	X509_free(x);
	fed_x509_crl_free(c);
	c = NULL;

	/* Signed with an empty ID (OpenSSL 3.0's default), or by another key: refused. */
	write_crl("b.crl", p.ia, p.kia, many, 3, "");
	snprintf(path, sizeof(path), "%s/b.crl", tmpdir);
	assert_int_equal(fed_x509_crl_load(path, iss, &c, &why), YH_ERR_CONFIG);
	assert_string_equal(why, "has a signature that does not verify");
	write_crl("c.crl", p.ia, p.ka, many, 3, "1234567812345678");
	snprintf(path, sizeof(path), "%s/c.crl", tmpdir);
	assert_int_equal(fed_x509_crl_load(path, iss, &c, &why), YH_ERR_CONFIG);
	/* An RSA CRL through X509_CRL_verify; no issuer among the certificates. */
	sk_X509_zero(iss);
	sk_X509_push(iss, p.rr);
	write_crl("r.crl", p.rr, p.kr, many, 3, NULL);
	snprintf(path, sizeof(path), "%s/r.crl", tmpdir);
	assert_int_equal(fed_x509_crl_load(path, iss, &c, &why), 0);
	fed_x509_crl_free(c);
	c = NULL;
	sk_X509_zero(iss);
	sk_X509_push(iss, p.ra);
	assert_int_equal(fed_x509_crl_load(path, iss, &c, &why), YH_ERR_CONFIG);
	assert_string_equal(why, "is issued by none of the CA's certificates");
	assert_null(c);

	ASN1_INTEGER_free(sn);
	sk_X509_free(iss);
	pki_free(&p);
}

/* An intermediate against Root A's CRL given as CA a's file: listed, it refuses the
 * path (revoked_depth 1) whatever the end-entity's own status; not listed, it is good;
 * the root is the trust anchor; with no CRL of its issuer known, it is not checked. */
static void
test_int_crl(void **state)
{
	struct pki p;
	struct fed_x509_cfg c;
	struct fed_x509_trust *t = NULL;
	struct fed_x509_result res;
	char err[1024];
	long sn[1];
	struct mk m;
	X509 *x;

	(void)state;
	pki_make(&p);
	sn[0] = ASN1_INTEGER_get(X509_get0_serialNumber(p.ia));
	m = (struct mk){ .cn = "Zhang San", .key = p.kee, .issuer = p.ia, .issuer_key = p.kia };
	x = person(&m, ID_A);
	for (int listed = 1; listed >= 0; listed--) {
		write_crl("ra.crl", p.ra, p.ka, sn, (size_t)listed, "1234567812345678");
		if (load("cert.ca.a.roots = ra.pem\ncert.ca.a.intermediates = ia.pem\n"
		    "cert.ca.a.crl = ra.crl\ncert.ca.a.fail = open\n", &c, &t, err,
		    sizeof(err)) != 0)
			fail_msg("%s", err);
		assert_int_equal(verify(t, x, NULL, &res), listed ? FED_X509_REVOKED :
		    FED_X509_OK);
		assert_int_equal(res.revoked_depth, listed);
		assert_int_equal(res.path_rev[1].status, listed ? FED_X509_CERT_REV_REVOKED :
		    FED_X509_CERT_REV_GOOD);
		assert_true(strncmp(res.path_rev[1].source, "crl:", 4) == 0);
		assert_int_equal(res.path_rev[2].status, FED_X509_CERT_REV_ANCHOR);
		if (!listed)
			assert_int_equal(res.path_rev[0].status, FED_X509_CERT_REV_UNKNOWN);
		fed_x509_result_clear(&res);
		fed_x509_trust_free(t);
		fed_x509_cfg_free(&c);
	}
	assert_int_equal(load("cert.ca.a.roots = ra.pem\ncert.ca.a.intermediates = ia.pem\n"
	    "cert.ca.a.fail = open\n", &c, &t, err, sizeof(err)), 0);
	assert_int_equal(verify(t, x, NULL, &res), FED_X509_OK);
	assert_int_equal(res.path_rev[1].status, FED_X509_CERT_REV_NOT_CHECKED);
	assert_string_equal(fed_x509_cert_rev_str(res.path_rev[1].status), "not_checked");
	fed_x509_result_clear(&res);
	fed_x509_trust_free(t);
	fed_x509_cfg_free(&c);
	X509_free(x);
	pki_free(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_proof),
		cmocka_unit_test(test_crl),
		cmocka_unit_test(test_int_crl),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
