/* OCSP (RFC 6960) for a certificate login (x509.h): the request with a nonce, the
 * response's signature and authority checked by hand (an SM2 responder's signature over
 * the to-be-signed bytes with the distinguishing ID, which OCSP_basic_verify cannot
 * pass), and a cache of good and revoked answers until their nextUpdate. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "common/buf.h"
#include "common/secmem.h"
#include "common/timeutil.h"
#include "federation/http.h"
#include "federation/x509.h"

#define OCSP_ANSWER_MAX (1 << 20)
#define OCSP_CACHE_MAX 4096
#define OCSP_SKEW_S 300
#define OCSP_NO_NEXT_S 300

struct ocsp_entry {
	char id[FED_X509_HEX_LEN + 1];   /* fed_x509_cert_names' id: issuer and serial */
	int status;                       /* V_OCSP_CERTSTATUS_GOOD or _REVOKED */
	time_t this_update, until;
};

struct fed_x509_ocsp_cache {
	pthread_mutex_t mu;
	struct ocsp_entry e[OCSP_CACHE_MAX];
	size_t n, next;                   /* next: the slot replaced when full */
};

int
fed_x509_ocsp_cache_new(struct fed_x509_ocsp_cache **out)
{
	struct fed_x509_ocsp_cache *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (c == NULL)
		return YH_ERR_ALLOC;
	if (fed_http_global_ref() != 0) {
		free(c);
		return YH_ERR_INTERNAL;
	}
	pthread_mutex_init(&c->mu, NULL);
	*out = c;
	return 0;
}

void
fed_x509_ocsp_cache_free(struct fed_x509_ocsp_cache *c)
{
	if (c == NULL)
		return;
	pthread_mutex_destroy(&c->mu);
	free(c);
	fed_http_global_unref();
}

/* The cached answer for id still current at now: its status, or -1. */
static int
cache_get(struct fed_x509_ocsp_cache *c, const char *id, time_t now, time_t *this_update)
{
	int st = -1;

	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->e[i].id, id) == 0 && c->e[i].this_update <= now + OCSP_SKEW_S &&
		    now <= c->e[i].until) {
			st = c->e[i].status;
			*this_update = c->e[i].this_update;
			break;
		}
	pthread_mutex_unlock(&c->mu);
	return st;
}

static void
cache_put(struct fed_x509_ocsp_cache *c, const char *id, int status, time_t this_update,
    time_t until)
{
	struct ocsp_entry *e = NULL;

	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; e == NULL && i < c->n; i++)
		if (strcmp(c->e[i].id, id) == 0)
			e = &c->e[i];
	if (e == NULL && c->n < OCSP_CACHE_MAX)
		e = &c->e[c->n++];
	if (e == NULL) {
		e = &c->e[c->next];
		c->next = (c->next + 1) % OCSP_CACHE_MAX;
	}
	memcpy(e->id, id, sizeof(e->id));
	e->status = status;
	e->this_update = this_update;
	e->until = until;
	pthread_mutex_unlock(&c->mu);
}

static time_t
asn1_time_t(const ASN1_GENERALIZEDTIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

/* The responder's URL: the CA's, else the first http one of ee's authorityInfoAccess. */
static int
responder_of(const struct fed_x509_ca *ca, X509 *ee, char *out, size_t outsz)
{
	STACK_OF(OPENSSL_STRING) *aia;
	int r = YH_ERR_NOT_FOUND;

	if (ca->ocsp_url != NULL)
		return yh_strlcpy(out, ca->ocsp_url, outsz);
	if ((aia = X509_get1_ocsp(ee)) == NULL)
		return r;
	for (int i = 0; r != 0 && i < sk_OPENSSL_STRING_num(aia); i++)
		if (fed_http_url_ok(sk_OPENSSL_STRING_value(aia, i)))
			r = yh_strlcpy(out, sk_OPENSSL_STRING_value(aia, i), outsz);
	X509_email_free(aia);
	return r;
}

/* POSTs the request der to url; the answer into b. 0, or -1 with why. */
static int
post(const char *url, const unsigned char *der, int n, struct yh_buf *b, char *why,
    size_t whysz)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *h = NULL;
	long status = 0;
	CURLcode cc = CURLE_OUT_OF_MEMORY;
	CURL *e;

	if ((e = curl_easy_init()) != NULL &&
	    fed_http_header_add(&h, "Content-Type: application/ocsp-request") == 0) {
		cc = fed_http_setup(e, &(struct fed_http_opts){ .url = url,
		    .user_agent = "yihao ocsp", .timeout_ms = FED_X509_OCSP_TIMEOUT_MS,
		    .errbuf = errbuf });
#define SET(opt, val) \
	do { if (cc == CURLE_OK) cc = curl_easy_setopt(e, opt, val); } while (0)
		SET(CURLOPT_POSTFIELDS, der);
		SET(CURLOPT_POSTFIELDSIZE, (long)n);
		SET(CURLOPT_HTTPHEADER, h);
		SET(CURLOPT_WRITEFUNCTION, fed_http_collect);
		SET(CURLOPT_WRITEDATA, b);
#undef SET
		if (cc == CURLE_OK)
			cc = curl_easy_perform(e);
		if (cc == CURLE_OK)
			(void)curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(e);
	if (cc != CURLE_OK)
		snprintf(why, whysz, "responder: %.60s", errbuf[0] != '\0' ? errbuf :
		    curl_easy_strerror(cc));
	else if (status != 200)
		snprintf(why, whysz, "responder: HTTP status %ld", status);
	else
		return 0;
	return -1;
}

/* Whether signer may sign for issuer's certificates: issuer's key (the response is then
 * checked with the configured certificate's, not the copy it carried), or a certificate
 * issuer signed with id-kp-OCSPSigning, valid at now. */
static bool
authority_ok(X509 **signer, X509 *issuer, time_t now)
{
	X509 *s = NULL;
	bool ok;

	if (EVP_PKEY_eq(X509_get0_pubkey(*signer), X509_get0_pubkey(issuer)) == 1) {
		*signer = issuer;
		return true;
	}
	if (X509_check_issued(issuer, *signer) != X509_V_OK ||
	    (X509_get_extension_flags(*signer) & EXFLAG_XKUSAGE) == 0 ||
	    (X509_get_extended_key_usage(*signer) & XKU_OCSP_SIGN) == 0 ||
	    X509_cmp_time(X509_get0_notBefore(*signer), &now) >= 0 ||
	    X509_cmp_time(X509_get0_notAfter(*signer), &now) <= 0)
		return false;
	/* Its signature, with the distinguishing ID set when SM2. */
	if ((s = X509_dup(*signer)) == NULL || fed_x509_set_sm2_id(s) != 0) {
		X509_free(s);
		return false;
	}
	ok = X509_verify(s, X509_get0_pubkey(issuer)) == 1;
	X509_free(s);
	return ok;
}

/* Whether bs is signed by signer's key. */
static bool
signature_ok(OCSP_BASICRESP *bs, X509 *signer)
{
	const OCSP_RESPDATA *rd = OCSP_resp_get0_respdata(bs);
	const ASN1_OCTET_STRING *sig = OCSP_resp_get0_signature(bs);
	const X509_ALGOR *alg = OCSP_resp_get0_tbs_sigalg(bs);
	unsigned char *tbs = NULL;
	bool ok;
	int n;

	if (OBJ_obj2nid(alg->algorithm) != NID_SM2_with_SM3)
		return ASN1_item_verify(ASN1_ITEM_rptr(OCSP_RESPDATA), (X509_ALGOR *)alg,
		    (ASN1_BIT_STRING *)sig, (void *)rd, X509_get0_pubkey(signer)) == 1;
	if ((n = i2d_OCSP_RESPDATA(rd, &tbs)) <= 0)
		return false;
	ok = fed_x509_sm2_tbs_ok(X509_get0_pubkey(signer), tbs, (size_t)n, sig);
	OPENSSL_free(tbs);
	return ok;
}

/*
 * Checks the answer (n bytes) to req about id, from the responder for issuer: 0 with
 * *status and the times, or -1 with why. An answer that does not echo the request's
 * nonce may have been kept and replayed: without a nextUpdate to bound it, it is taken
 * only while its thisUpdate is at most OCSP_NO_NEXT_S old.
 */
static int
answer_check(const char *text, size_t n, OCSP_REQUEST *req, OCSP_CERTID *id, X509 *issuer,
    time_t now, int *status, time_t *this_update, time_t *next_update, char *why,
    size_t whysz)
{
	const unsigned char *p = (const unsigned char *)text;
	ASN1_GENERALIZEDTIME *tu = NULL, *nu = NULL, *rev = NULL;
	STACK_OF(X509) *extra = sk_X509_new_null();
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *bs = NULL;
	X509 *signer = NULL;
	int reason, nonce, r = -1;

	if ((resp = d2i_OCSP_RESPONSE(NULL, &p, (long)n)) == NULL ||
	    p != (const unsigned char *)text + n)
		snprintf(why, whysz, "not an OCSP response");
	else if (OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL)
		snprintf(why, whysz, "responder: %s",
		    OCSP_response_status_str(OCSP_response_status(resp)));
	else if ((bs = OCSP_response_get1_basic(resp)) == NULL)
		snprintf(why, whysz, "not a basic OCSP response");
	else if ((nonce = OCSP_check_nonce(req, bs)) == 0 || nonce == 3)
		snprintf(why, whysz, "the nonce does not match");
	else if (extra == NULL || sk_X509_push(extra, issuer) <= 0 ||
	    OCSP_resp_get0_signer(bs, &signer, extra) != 1)
		snprintf(why, whysz, "no certificate of the responder");
	else if (!authority_ok(&signer, issuer, now))
		snprintf(why, whysz, "the responder may not answer for this CA");
	else if (!signature_ok(bs, signer))
		snprintf(why, whysz, "the response's signature does not verify");
	else if (OCSP_resp_find_status(bs, id, status, &reason, &rev, &tu, &nu) != 1)
		snprintf(why, whysz, "no status of this certificate in the response");
	else if (OCSP_check_validity(tu, nu, OCSP_SKEW_S, nu == NULL && nonce != 1 ?
	    OCSP_NO_NEXT_S : -1) != 1)
		snprintf(why, whysz, "the response is not current");
	else
		r = 0;
	if (r == 0) {
		*this_update = asn1_time_t(tu);
		*next_update = asn1_time_t(nu);
	}
	ERR_clear_error();
	sk_X509_free(extra);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	return r;
}

/* Asks the responder at url about ee (issued by issuer). 0 with the answer, or -1 with
 * why (res->rev_why). */
static int
ask(const char *url, X509 *ee, X509 *issuer, time_t now, int *status, time_t *tu,
    time_t *nu, char *why, size_t whysz)
{
	OCSP_CERTID *id = OCSP_cert_to_id(NULL, ee, issuer), *rid = NULL;
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	unsigned char *der = NULL;
	struct yh_buf b;
	int n = 0, r = -1;

	yh_buf_init(&b, OCSP_ANSWER_MAX);
	snprintf(why, whysz, "out of memory");
	if (id == NULL || req == NULL || (rid = OCSP_CERTID_dup(id)) == NULL ||
	    OCSP_request_add0_id(req, rid) == NULL)
		goto out;
	rid = NULL;
	if (OCSP_request_add1_nonce(req, NULL, -1) != 1 ||
	    (n = i2d_OCSP_REQUEST(req, &der)) <= 0)
		goto out;
	if (post(url, der, n, &b, why, whysz) == 0)
		r = answer_check(b.data != NULL ? b.data : "", b.len, req, id, issuer, now,
		    status, tu, nu, why, whysz);
	if (r == 0)
		why[0] = '\0';
out:
	ERR_clear_error();
	OPENSSL_free(der);
	OCSP_CERTID_free(rid);
	OCSP_CERTID_free(id);
	OCSP_REQUEST_free(req);
	yh_buf_free(&b);
	return r;
}

/* Sets res from an answer. */
static void
apply(struct fed_x509_result *res, int status, time_t this_update)
{
	char iso[40];

	if (status != V_OCSP_CERTSTATUS_GOOD && status != V_OCSP_CERTSTATUS_REVOKED) {
		snprintf(res->rev_why, sizeof(res->rev_why), "the responder does not know it");
		return;
	}
	yh_time_iso8601((int64_t)this_update * 1000, iso, sizeof(iso));
	snprintf(res->rev_source, sizeof(res->rev_source), "ocsp:%s", iso);
	if (status == V_OCSP_CERTSTATUS_REVOKED) {
		snprintf(res->detail, sizeof(res->detail), "revoked (%s)", res->rev_source);
		res->why = FED_X509_REVOKED;
		return;
	}
	res->rev_good = true;
}

void
fed_x509_ocsp_check(struct fed_x509_ocsp_cache *c, const struct fed_x509_ca *ca,
    struct fed_x509_result *res, time_t now)
{
	char url[1024], id[FED_X509_HEX_LEN + 1];
	X509 *ee, *issuer;
	time_t tu = 0, nu = 0;
	int st;

	if (c == NULL || res->path == NULL || sk_X509_num(res->path) < 2)
		return;
	ee = sk_X509_value(res->path, 0);
	issuer = sk_X509_value(res->path, 1);
	if (fed_x509_cert_id(ee, id) != 0)   /* the cache's key: issuer and serial */
		return;
	if ((st = cache_get(c, id, now, &tu)) >= 0) {
		apply(res, st, tu);
		return;
	}
	if (responder_of(ca, ee, url, sizeof(url)) != 0) {
		snprintf(res->rev_why, sizeof(res->rev_why), "no OCSP responder");
		return;
	}
	if (ask(url, ee, issuer, now, &st, &tu, &nu, res->rev_why, sizeof(res->rev_why)) != 0)
		return;
	if (st == V_OCSP_CERTSTATUS_GOOD || st == V_OCSP_CERTSTATUS_REVOKED)
		cache_put(c, id, st, tu, nu != 0 ? nu : now + OCSP_NO_NEXT_S);
	apply(res, st, tu);
}
