/* The trust set of the configured CAs and the verification of a certificate against it
 * (x509.h): OpenSSL's path building over the roots and the configured intermediates and
 * cross-certificates, SM2's distinguishing ID on every SM2-signed certificate, then the
 * checks OpenSSL leaves to its caller (key usage, extended key usage, policies). */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "common/atomicfile.h"
#include "common/b64.h"
#include "common/buf.h"
#include "common/log.h"
#include "federation/http.h"
#include "common/secmem.h"
#include "federation/x509.h"
#include "token/jose_alg.h"

#define KINDS 3   /* roots, intermediates, cross-certificates */
#define CERT_DER_MAX 16384

/* One CRL source: a CA's (cert.ca.NAME.crl, or the distribution point its end-entities
 * name), or the distribution point a configured intermediate or cross-certificate
 * names (its issuer's CRL, fetched in the background like a CRL by URL). */
struct crl_slot {
	struct fed_x509_crl *crl;         /* checked; NULL without (a CRL by URL: swapped
	                                   * under the trust's mu) */
	time_t fetched, failed;           /* a CRL by URL: last taken, last failure (0:
	                                   * none by this trust set) */
	size_t ca;                        /* the CA whose block named it */
	char url[FED_X509_URL_MAX];       /* an intermediate's: its distribution point */
	char name[FED_X509_NAME_MAX + 24];/* an intermediate's: "NAME.int-HEX" (logs, copy;
	                                   * HEX: 8 bytes of the URL's SHA-256) */
};

struct trust_ca {
	STACK_OF(X509) *set[KINDS];
	struct crl_slot s;                /* the CA's own CRL */
	char cdp[FED_X509_URL_MAX];       /* without cert.ca.NAME.crl: the first http(s) CRL
	                                   * distribution point of a certificate that
	                                   * verified under the CA ("" none yet; under mu) */
};

struct fed_x509_trust {
	const struct fed_x509_cfg *cfg;   /* borrowed: the trust set lives with it */
	X509_STORE *store;                /* every root */
	STACK_OF(X509) *pool;             /* every intermediate and cross-certificate */
	struct trust_ca *ca;              /* per configured CA, in cfg's order */
	size_t nca;
	struct crl_slot *islot;           /* the intermediates' distribution points: CRL
	                                   * index nca + k (fed_x509_trust_ncrl) */
	size_t nislot;
	pthread_mutex_t mu;               /* the CRLs by URL: their swap, and a lookup */
	struct fed_x509_ocsp_cache *ocsp; /* with a CA whose revocation uses OCSP */
};

/*
 * Reads every PEM certificate of b (at most max) into a new stack, each with its SM2
 * ID. 0, YH_ERR_INVALID (none, or one that does not parse), YH_ERR_TOO_LONG, or
 * YH_ERR_ALLOC. Consumes b.
 */
static int
pem_stack(BIO *b, int max, STACK_OF(X509) **out)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	X509 *x;
	int r = YH_ERR_ALLOC;

	*out = NULL;
	if (sk == NULL || b == NULL)
		goto out;
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		if (sk_X509_num(sk) == max || fed_x509_set_sm2_id(x) != 0 ||
		    sk_X509_push(sk, x) <= 0) {
			r = sk_X509_num(sk) == max ? YH_ERR_TOO_LONG : YH_ERR_ALLOC;
			X509_free(x);
			goto out;
		}
	r = ERR_GET_REASON(ERR_peek_last_error()) == PEM_R_NO_START_LINE &&
	    sk_X509_num(sk) > 0 ? 0 : YH_ERR_INVALID;
	if (r == 0) {
		*out = sk;
		sk = NULL;
	}
out:
	ERR_clear_error();
	BIO_free(b);
	sk_X509_pop_free(sk, X509_free);
	return r;
}

/* Reads every certificate of the PEM file path (at most FED_X509_FILE_MAX bytes) into a
 * new stack (each with its SM2 ID). */
static int
pem_read(const char *path, STACK_OF(X509) **out, const char **why)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	char *text = NULL;
	size_t n = 0;
	int r;

	*out = NULL;
	if (fd < 0) {
		*why = "cannot read the file";
		return YH_ERR_CONFIG;
	}
	r = yh_file_read_fd(fd, FED_X509_FILE_MAX, false, &text, &n);
	close(fd);
	if (r != 0) {
		*why = r == YH_ERR_TOO_LONG ? "is larger than 1 MiB" : r == YH_ERR_ALLOC ?
		    "out of memory" : "cannot read the file";
		return r == YH_ERR_ALLOC ? r : YH_ERR_CONFIG;
	}
	ERR_clear_error();
	r = pem_stack(BIO_new_mem_buf(text, (int)n), INT_MAX, out);
	free(text);
	*why = r == YH_ERR_ALLOC ? "out of memory" : "holds something else than PEM "
	    "certificates, or none";
	return r == YH_ERR_INVALID ? YH_ERR_CONFIG : r;
}

/* Loads one CA's files of kind k into t (roots into the store, the rest into the pool). */
static int
load_kind(struct fed_x509_trust *t, size_t i, int k, char *err, size_t errsz)
{
	const struct fed_x509_ca *ca = &t->cfg->ca[i];
	const char *path = k == 0 ? ca->roots : k == 1 ? ca->intermediates : ca->cross_certs;
	const char *where = k == 0 ? ca->where_roots : k == 1 ? ca->where_int : ca->where_cross;
	const char *key = k == 0 ? "roots" : k == 1 ? "intermediates" : "cross_certs";
	const char *why = NULL;
	int r;

	if (path == NULL)
		return (t->ca[i].set[k] = sk_X509_new_null()) != NULL ? 0 : YH_ERR_ALLOC;
	if ((r = pem_read(path, &t->ca[i].set[k], &why)) != 0)
		return YH_FAIL(r, err, errsz, "%s: cert.ca.%s.%s: %s %s", where, ca->name, key,
		    path, why);
	for (int j = 0; j < sk_X509_num(t->ca[i].set[k]); j++) {
		X509 *x = sk_X509_value(t->ca[i].set[k], j);

		if (X509_check_ca(x) < 1)
			return YH_FAIL(YH_ERR_CONFIG, err, errsz, "%s: cert.ca.%s.%s: %s: "
			    "certificate %d is not a CA certificate", where, ca->name, key, path,
			    j + 1);
		if (k == 0 ? X509_STORE_add_cert(t->store, x) != 1 :
		    sk_X509_push(t->pool, x) <= 0 || X509_up_ref(x) != 1)
			return YH_FAIL(YH_ERR_ALLOC, err, errsz, "out of memory");
	}
	ERR_clear_error();
	return 0;
}

/* CRL source i: CA i below nca, else intermediate slot i - nca. */
static struct crl_slot *
slot_of(const struct fed_x509_trust *t, size_t i)
{
	return i < t->nca ? &t->ca[i].s : &t->islot[i - t->nca];
}

/* Whether CA i's revocation consults CRLs. */
static bool
uses_crl(const struct fed_x509_ca *ca)
{
	return ca->revocation == FED_X509_REV_CRL || ca->revocation == FED_X509_REV_CRL_OCSP;
}

/* Whether CA i takes its CRL from a certificate's distribution point: revocation by
 * CRL, and neither a file nor a URL configured. */
static bool
by_cdp(const struct fed_x509_trust *t, size_t i)
{
	const struct fed_x509_ca *ca = &t->cfg->ca[i];

	return ca->crl == NULL && ca->crl_url == NULL && uses_crl(ca);
}

/* The certificates that may issue CRL source i's CRL (borrowed), in *all: CA i's, or
 * for an intermediate's distribution point every CA's (its issuer may be another CA's
 * root, through a cross-certificate). */
static int
ca_certs(const struct fed_x509_trust *t, size_t i, STACK_OF(X509) **all)
{
	size_t from = i < t->nca ? i : 0, to = i < t->nca ? i + 1 : t->nca;
	int r = 0;

	if ((*all = sk_X509_new_null()) == NULL)
		return YH_ERR_ALLOC;
	for (size_t c = from; c < to; c++)
		for (int k = 0; r == 0 && k < KINDS; k++)
			for (int j = 0; r == 0 && j < sk_X509_num(t->ca[c].set[k]); j++)
				if (sk_X509_push(*all, sk_X509_value(t->ca[c].set[k], j)) <= 0)
					r = YH_ERR_ALLOC;
	return r;
}

/* The last good copy of CRL source i's CRL by URL ("" when none is kept):
 * crl_dir/NAME.crl (an intermediate's: NAME.int-HEX.crl). */
static void
crl_copy_path(const struct fed_x509_trust *t, size_t i, char *out, size_t outsz)
{
	out[0] = '\0';
	if (t->cfg->crl_dir != NULL && (size_t)snprintf(out, outsz, "%s/%s.crl",
	    t->cfg->crl_dir, fed_x509_trust_ca_name(t, i)) >= outsz)
		out[0] = '\0';
}

/* CA i's CRL by URL starts with its last good copy, when one is kept and verifies (a
 * copy that does not is left for the next fetch to replace, with a warning). */
static int
load_crl_copy(struct fed_x509_trust *t, size_t i)
{
	char path[PATH_MAX];
	STACK_OF(X509) *all = NULL;
	const char *why = NULL;
	int r;

	crl_copy_path(t, i, path, sizeof(path));
	if (path[0] == '\0' || access(path, F_OK) != 0)
		return 0;
	if ((r = ca_certs(t, i, &all)) == 0 &&
	    (r = fed_x509_crl_load(path, all, &slot_of(t, i)->crl, &why)) == YH_ERR_CONFIG) {
		yh_warn("cert.ca.%s.crl: the copy %s %s: not used", fed_x509_trust_ca_name(t, i),
		    path, why != NULL ? why : "");
		r = 0;
	}
	sk_X509_free(all);
	return r;
}

/* Reads CA i's CRL (cert.ca.NAME.crl), checked against the CA's certificates. */
static int
load_crl(struct fed_x509_trust *t, size_t i, char *err, size_t errsz)
{
	const struct fed_x509_ca *ca = &t->cfg->ca[i];
	STACK_OF(X509) *all = NULL;
	const char *why = NULL;
	int r = 0;

	if ((ca->crl_url != NULL || by_cdp(t, i)) && (r = load_crl_copy(t, i)) != 0)
		return YH_FAIL(r, err, errsz, "out of memory");
	if (ca->crl == NULL)
		return 0;
	if ((r = ca_certs(t, i, &all)) == 0)
		r = fed_x509_crl_load(ca->crl, all, &t->ca[i].s.crl, &why);
	sk_X509_free(all);
	if (r != 0)
		return YH_FAIL(r, err, errsz, "%s: cert.ca.%s.crl: %s %s", ca->where_crl, ca->name,
		    ca->crl, why != NULL ? why : "out of memory");
	return 0;
}

static int islots_make(struct fed_x509_trust *t);

int
fed_x509_trust_load(const struct fed_x509_cfg *c, struct fed_x509_trust **out, char *err,
    size_t errsz)
{
	struct fed_x509_trust *t = calloc(1, sizeof(*t));
	int r = YH_ERR_ALLOC;

	*out = NULL;
	if (t == NULL)
		return YH_FAIL(YH_ERR_ALLOC, err, errsz, "out of memory");
	t->cfg = c;
	pthread_mutex_init(&t->mu, NULL);
	if ((t->store = X509_STORE_new()) == NULL || (t->pool = sk_X509_new_null()) == NULL ||
	    (c->nca > 0 && (t->ca = calloc(c->nca, sizeof(*t->ca))) == NULL)) {
		yh_errf(err, errsz, "out of memory");
		goto out;
	}
	t->nca = c->nca;
	for (size_t i = 0; i < c->nca; i++)
		if ((c->ca[i].revocation == FED_X509_REV_OCSP ||
		    c->ca[i].revocation == FED_X509_REV_CRL_OCSP) && t->ocsp == NULL &&
		    (r = fed_x509_ocsp_cache_new(&t->ocsp)) != 0) {
			yh_errf(err, errsz, "out of memory");
			goto out;
		}
	for (size_t i = 0; i < c->nca; i++) {
		for (int k = 0; k < KINDS; k++)
			if ((r = load_kind(t, i, k, err, errsz)) != 0)
				goto out;
		if ((r = load_crl(t, i, err, errsz)) != 0)
			goto out;
	}
	if ((r = islots_make(t)) != 0) {
		yh_errf(err, errsz, "out of memory");
		goto out;
	}
	*out = t;
	t = NULL;
	r = 0;
out:
	fed_x509_trust_free(t);
	return r;
}

void
fed_x509_trust_free(struct fed_x509_trust *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nca; i++) {
		for (int k = 0; k < KINDS; k++)
			sk_X509_pop_free(t->ca[i].set[k], X509_free);
		fed_x509_crl_free(t->ca[i].s.crl);
	}
	for (size_t k = 0; k < t->nislot; k++)
		fed_x509_crl_free(t->islot[k].crl);
	free(t->islot);
	free(t->ca);
	sk_X509_pop_free(t->pool, X509_free);
	X509_STORE_free(t->store);
	pthread_mutex_destroy(&t->mu);
	fed_x509_ocsp_cache_free(t->ocsp);
	free(t);
}

size_t
fed_x509_trust_nca(const struct fed_x509_trust *t)
{
	return t != NULL ? t->nca : 0;
}

size_t
fed_x509_trust_ncrl(const struct fed_x509_trust *t)
{
	return t != NULL ? t->nca + t->nislot : 0;
}

int
fed_x509_trust_crl_url(struct fed_x509_trust *t, size_t i, char *out, size_t outsz)
{
	int r = YH_ERR_NOT_FOUND;

	out[0] = '\0';
	if (i >= t->nca + t->nislot)
		return r;
	if (i >= t->nca)
		return yh_strlcpy(out, t->islot[i - t->nca].url, outsz);
	if (t->cfg->ca[i].crl_url != NULL)
		return yh_strlcpy(out, t->cfg->ca[i].crl_url, outsz);
	pthread_mutex_lock(&t->mu);
	if (t->ca[i].cdp[0] != '\0')
		r = yh_strlcpy(out, t->ca[i].cdp, outsz);
	pthread_mutex_unlock(&t->mu);
	return r;
}

/* x's first http(s) CRL distribution point into url[FED_X509_URL_MAX] ("" none). */
static void
cdp_of(X509 *x, char *url)
{
	STACK_OF(DIST_POINT) *dps = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL,
	    NULL);

	url[0] = '\0';

	for (int k = 0; url[0] == '\0' && k < sk_DIST_POINT_num(dps); k++) {
		DIST_POINT *dp = sk_DIST_POINT_value(dps, k);
		GENERAL_NAMES *names;

		if (dp->distpoint == NULL || dp->distpoint->type != 0)
			continue;
		names = dp->distpoint->name.fullname;
		for (int m = 0; url[0] == '\0' && m < sk_GENERAL_NAME_num(names); m++) {
			GENERAL_NAME *g = sk_GENERAL_NAME_value(names, m);
			const ASN1_IA5STRING *u = g->type == GEN_URI ? g->d.uniformResourceIdentifier :
			    NULL;

			if (u != NULL && (size_t)u->length < FED_X509_URL_MAX) {
				memcpy(url, u->data, (size_t)u->length);
				url[u->length] = '\0';
				if (strlen(url) != (size_t)u->length || !fed_http_url_ok(url))
					url[0] = '\0';
			}
		}
	}
	CRL_DIST_POINTS_free(dps);
}

/* Records ee's first http(s) CRL distribution point for CA i (by_cdp), once. */
static void
cdp_learn(struct fed_x509_trust *t, size_t i, X509 *ee)
{
	char url[FED_X509_URL_MAX];

	cdp_of(ee, url);
	if (url[0] == '\0')
		return;
	pthread_mutex_lock(&t->mu);
	if (t->ca[i].cdp[0] == '\0')
		memcpy(t->ca[i].cdp, url, sizeof(url));
	pthread_mutex_unlock(&t->mu);
}

const char *
fed_x509_trust_ca_name(const struct fed_x509_trust *t, size_t i)
{
	return i < t->nca ? t->cfg->ca[i].name : i < t->nca + t->nislot ?
	    t->islot[i - t->nca].name : NULL;
}

/*
 * A CRL source for each distinct http(s) distribution point named by a configured
 * intermediate or cross-certificate of a CA whose revocation consults CRLs (its
 * issuer's CRL), started with its last good copy; the background fetcher learns them
 * here, when the trust is loaded, so that a login never fetches.
 */
static int
islots_make(struct fed_x509_trust *t)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char url[FED_X509_URL_MAX], hex[17];
	size_t max = 0;
	int r;

	for (size_t i = 0; i < t->nca; i++)
		for (int k = 1; k < KINDS; k++)
			max += (size_t)sk_X509_num(t->ca[i].set[k]);
	if (max == 0 || (t->islot = calloc(max, sizeof(*t->islot))) == NULL)
		return max == 0 ? 0 : YH_ERR_ALLOC;
	for (size_t i = 0; i < t->nca; i++) {
		for (int k = 1; uses_crl(&t->cfg->ca[i]) && k < KINDS; k++)
			for (int j = 0; j < sk_X509_num(t->ca[i].set[k]); j++) {
				size_t m = 0;

				cdp_of(sk_X509_value(t->ca[i].set[k], j), url);
				while (m < t->nislot && strcmp(t->islot[m].url, url) != 0)
					m++;
				if (url[0] == '\0' || m < t->nislot)
					continue;
				t->islot[m].ca = i;
				memcpy(t->islot[m].url, url, sizeof(url));
				/* Named by its URL, so that its copy is never another URL's. */
				SHA256((const unsigned char *)url, strlen(url), md);
				yh_hex_encode(md, 8, hex);
				snprintf(t->islot[m].name, sizeof(t->islot[m].name), "%s.int-%s",
				    t->cfg->ca[i].name, hex);
				t->nislot++;
				if ((r = load_crl_copy(t, t->nca + m)) != 0)
					return r;
			}
	}
	return 0;
}

bool
fed_x509_trust_crl_due(struct fed_x509_trust *t, size_t i, time_t now)
{
	const struct crl_slot *c;
	time_t this, next;
	bool due;

	if (i >= t->nca + t->nislot ||
	    (i < t->nca && t->cfg->ca[i].crl_url == NULL && !by_cdp(t, i)))
		return false;
	c = slot_of(t, i);
	pthread_mutex_lock(&t->mu);
	if (i < t->nca && t->cfg->ca[i].crl_url == NULL && t->ca[i].cdp[0] == '\0')
		due = false;   /* no certificate named a distribution point yet */
	else if (c->failed != 0 && now < c->failed + FED_X509_CRL_RETRY_S)
		due = false;
	else if (c->fetched == 0 || c->crl == NULL)
		due = true;
	else {
		this = fed_x509_crl_this_update(c->crl);
		next = fed_x509_crl_next_update(c->crl);
		/* Without a nextUpdate: once an hour. */
		due = next > this ? now >= this + (next - this) / 4 * 3 : now >= c->fetched + 3600;
	}
	pthread_mutex_unlock(&t->mu);
	return due;
}

void
fed_x509_trust_crl_reset(struct fed_x509_trust *t)
{
	if (t == NULL)
		return;
	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < t->nca + t->nislot; i++)
		slot_of(t, i)->fetched = slot_of(t, i)->failed = 0;
	pthread_mutex_unlock(&t->mu);
}

void
fed_x509_trust_crl_failed(struct fed_x509_trust *t, size_t i, time_t now)
{
	if (i >= t->nca + t->nislot)
		return;
	pthread_mutex_lock(&t->mu);
	slot_of(t, i)->failed = now;
	pthread_mutex_unlock(&t->mu);
}

/* Whether crl is older than CA i's CRL in force. */
static bool
older(struct fed_x509_trust *t, size_t i, const struct fed_x509_crl *crl)
{
	bool o;

	pthread_mutex_lock(&t->mu);
	o = slot_of(t, i)->crl != NULL &&
	    fed_x509_crl_this_update(crl) < fed_x509_crl_this_update(slot_of(t, i)->crl);
	pthread_mutex_unlock(&t->mu);
	return o;
}

int
fed_x509_trust_crl_put(struct fed_x509_trust *t, size_t i, const char *data, size_t n,
    time_t now, const char **why)
{
	struct fed_x509_crl *crl = NULL, *old;
	STACK_OF(X509) *all = NULL;
	struct yh_file_fail f;
	char path[PATH_MAX];
	int r;

	*why = "out of memory";
	if (i >= t->nca + t->nislot)
		return YH_ERR_INVALID;
	if ((r = ca_certs(t, i, &all)) == 0)
		r = fed_x509_crl_parse(data, n, all, &crl, why);
	sk_X509_free(all);
	if (r == YH_ERR_CONFIG)
		r = YH_ERR_INVALID;
	if (r != 0)
		return r;
	/* The copy is written outside the lock (an fsync must not hold up logins); the
	 * CRL in force is compared again when swapping. */
	if (older(t, i, crl)) {
		*why = "is older than the CRL in force";
		fed_x509_crl_free(crl);
		return YH_ERR_INVALID;
	}
	crl_copy_path(t, i, path, sizeof(path));
	if (path[0] != '\0' && yh_file_write_atomic(path, data, n, 0600, YH_FILE_REPLACE,
	    &f) != 0) {
		*why = "cannot be kept on disk";
		fed_x509_crl_free(crl);
		return YH_ERR_IO;
	}
	pthread_mutex_lock(&t->mu);
	old = slot_of(t, i)->crl;
	if (old != NULL && fed_x509_crl_this_update(crl) < fed_x509_crl_this_update(old)) {
		*why = "is older than the CRL in force";
		r = YH_ERR_INVALID;
	}
	if (r == 0) {
		slot_of(t, i)->crl = crl;
		slot_of(t, i)->fetched = now;
		slot_of(t, i)->failed = 0;
		crl = old;
	}
	pthread_mutex_unlock(&t->mu);
	fed_x509_crl_free(crl);
	return r;
}

X509 *
fed_x509_trust_cert(const struct fed_x509_trust *t, size_t i, int kind, size_t j)
{
	if (t == NULL || i >= t->nca || kind < 0 || kind >= KINDS ||
	    j >= (size_t)sk_X509_num(t->ca[i].set[kind]))
		return NULL;
	return sk_X509_value(t->ca[i].set[kind], (int)j);
}

const char *
fed_x509_why_str(enum fed_x509_why w)
{
	static const char *const s[] = {
		"ok", "bad_input", "unknown_ca", "expired", "bad_signature", "key_usage",
		"policy", "constraints", "no_identity", "revoked", "invalid",
	};

	return (unsigned)w < sizeof(s) / sizeof(s[0]) ? s[w] : "invalid";
}

/* The CA owning x (one of its configured certificates), or -1. */
static int
owner_of(const struct fed_x509_trust *t, X509 *x)
{
	for (size_t i = 0; i < t->nca; i++)
		for (int k = 0; k < KINDS; k++)
			for (int j = 0; j < sk_X509_num(t->ca[i].set[k]); j++)
				if (X509_cmp(sk_X509_value(t->ca[i].set[k], j), x) == 0)
					return (int)i;
	return -1;
}

static enum fed_x509_why
why_of(int e)
{
	switch (e) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return FED_X509_EXPIRED;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_CERT_UNTRUSTED:
		return FED_X509_UNKNOWN_CA;
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
	case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
		return FED_X509_BAD_SIGNATURE;
	case X509_V_ERR_INVALID_CA:
	case X509_V_ERR_PATH_LENGTH_EXCEEDED:
	case X509_V_ERR_PERMITTED_VIOLATION:
	case X509_V_ERR_EXCLUDED_VIOLATION:
	case X509_V_ERR_SUBTREE_MINMAX:
	case X509_V_ERR_UNSUPPORTED_CONSTRAINT_TYPE:
	case X509_V_ERR_UNSUPPORTED_NAME_SYNTAX:
	case X509_V_ERR_INVALID_PURPOSE:
	case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
		return FED_X509_CONSTRAINTS;
	default:
		return FED_X509_INVALID;
	}
}

static void
refuse(struct fed_x509_result *res, enum fed_x509_why why, const char *detail, X509 *x)
{
	char subj[96] = "";

	if (x != NULL)
		X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof(subj));
	res->why = why;
	snprintf(res->detail, sizeof(res->detail), "%s%s%s", detail, x != NULL ? ": " : "",
	    subj);
}

/* Duplicates leaf and chain (each with its SM2 ID) and adds the configured pool. */
static int
inputs(const struct fed_x509_trust *t, X509 *leaf, STACK_OF(X509) *chain, X509 **lc,
    STACK_OF(X509) **untrusted)
{
	STACK_OF(X509) *u = sk_X509_new_null();

	*untrusted = NULL;
	if (u == NULL || (*lc = X509_dup(leaf)) == NULL || fed_x509_set_sm2_id(*lc) != 0)
		goto fail;
	for (int i = 0; i < sk_X509_num(t->pool); i++)
		if (sk_X509_push(u, sk_X509_value(t->pool, i)) <= 0 ||
		    X509_up_ref(sk_X509_value(t->pool, i)) != 1)
			goto fail;
	for (int i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
		X509 *d = X509_dup(sk_X509_value(chain, i));

		if (d == NULL || fed_x509_set_sm2_id(d) != 0 || sk_X509_push(u, d) <= 0) {
			X509_free(d);
			goto fail;
		}
	}
	*untrusted = u;
	return 0;
fail:
	sk_X509_pop_free(u, X509_free);
	return YH_ERR_ALLOC;
}

/* Key usage and extended key usage of the end-entity: it signs a login. */
static bool
usage_ok(X509 *x)
{
	uint32_t ku = X509_get_key_usage(x);
	uint32_t xku = X509_get_extended_key_usage(x);

	if (X509_check_purpose(x, -1, 0) != 1)
		return false;
	if ((X509_get_extension_flags(x) & EXFLAG_KUSAGE) && !(ku & KU_DIGITAL_SIGNATURE))
		return false;
	return !(X509_get_extension_flags(x) & EXFLAG_XKUSAGE) ||
	    (xku & (XKU_SSL_CLIENT | XKU_ANYEKU)) != 0;
}

/* The end-entity names one of the CA's allowed policies (any when none are listed). */
static bool
policy_ok(X509 *x, const struct fed_x509_ca *ca)
{
	CERTIFICATEPOLICIES *cp;
	bool ok = false;

	if (ca->npolicies == 0)
		return true;
	if ((cp = X509_get_ext_d2i(x, NID_certificate_policies, NULL, NULL)) == NULL)
		return false;
	for (int i = 0; !ok && i < sk_POLICYINFO_num(cp); i++)
		for (size_t j = 0; !ok && j < ca->npolicies; j++)
			ok = OBJ_cmp(sk_POLICYINFO_value(cp, i)->policyid, ca->policies[j]) == 0;
	CERTIFICATEPOLICIES_free(cp);
	return ok;
}

static int
spki_sha256(X509 *x, unsigned char out[32])
{
	unsigned char *der = NULL;
	int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	int ok;

	if (n <= 0)
		return YH_ERR_CRYPTO;
	ok = EVP_Digest(der, (size_t)n, out, NULL, EVP_sha256(), NULL);
	OPENSSL_free(der);
	return ok == 1 ? 0 : YH_ERR_CRYPTO;
}

/* After OpenSSL accepted the path: every CA certificate of it is configured, the CA
 * the path belongs to, the end-entity's usage and policy, its identity. */
static int
check_path(const struct fed_x509_trust *t, struct fed_x509_result *res)
{
	X509 *ee = sk_X509_value(res->path, 0);
	int n = sk_X509_num(res->path), owner = -1;

	for (int d = 1; d < n; d++) {
		int o = owner_of(t, sk_X509_value(res->path, d));

		if (o < 0) {
			refuse(res, FED_X509_UNKNOWN_CA, "the path needs a CA certificate that is "
			    "not configured", sk_X509_value(res->path, d));
			return 0;
		}
		if (owner < 0)
			owner = o;
	}
	if (owner < 0) {
		refuse(res, FED_X509_UNKNOWN_CA, "no configured CA issued it", ee);
		return 0;
	}
	res->ca = &t->cfg->ca[owner];
	if (!usage_ok(ee)) {
		refuse(res, FED_X509_KEY_USAGE, "the certificate's key usage does not allow "
		    "signing a login (digitalSignature, clientAuth)", NULL);
		return 0;
	}
	if (!policy_ok(ee, res->ca)) {
		refuse(res, FED_X509_POLICY, "the certificate names none of the CA's allowed "
		    "policies", NULL);
		return 0;
	}
	if (spki_sha256(ee, res->key_sha256) != 0)
		return YH_ERR_CRYPTO;
	return fed_x509_identity(ee, fed_x509_profile_find(t->cfg, res->ca->profile), res);
}

/* The end-entity against its CA's CRL, when the CA's revocation uses one and the CRL
 * is of the end-entity's issuer and in force. */
static void
crl_check_locked(const struct fed_x509_crl *crl, struct fed_x509_result *res, time_t now)
{
	X509 *ee = sk_X509_value(res->path, 0);

	if ((res->ca->revocation != FED_X509_REV_CRL &&
	    res->ca->revocation != FED_X509_REV_CRL_OCSP) || !fed_x509_crl_covers(crl, ee, now))
		return;
	fed_x509_crl_source(crl, res->rev_source, sizeof(res->rev_source));
	if (fed_x509_crl_lists(crl, X509_get0_serialNumber(ee))) {
		snprintf(res->detail, sizeof(res->detail), "revoked (%s)", res->rev_source);
		res->why = FED_X509_REVOKED;
		return;
	}
	res->rev_good = true;
}

/* crl_check_locked under the lock of the CRLs by URL (a lookup: a binary search). */
static void
crl_check(const struct fed_x509_trust *t, struct fed_x509_result *res, time_t now)
{
	struct fed_x509_trust *w = (struct fed_x509_trust *)t;   /* the lock only */
	size_t i = (size_t)(res->ca - t->cfg->ca);

	pthread_mutex_lock(&w->mu);
	crl_check_locked(t->ca[i].s.crl, res, now);
	pthread_mutex_unlock(&w->mu);
	if (by_cdp(t, i))
		cdp_learn(w, i, sk_X509_value(res->path, 0));
}

const char *
fed_x509_cert_rev_str(enum fed_x509_cert_rev s)
{
	static const char *const n[] = { "not_checked", "good", "revoked", "unknown",
		"trust_anchor" };

	return (unsigned)s < sizeof(n) / sizeof(n[0]) ? n[s] : "not_checked";
}

/* The intermediate x against every CRL source of t, under its lock: the status a CRL
 * in force of its issuer gives, its source into pr; NOT_CHECKED when none is in force
 * (the caller tells unknown from not published). */
static void
int_lookup_locked(const struct fed_x509_trust *t, X509 *x, time_t now,
    struct fed_x509_path_rev *pr, bool *issuer_known)
{
	*issuer_known = false;
	for (size_t i = 0; i < t->nca + t->nislot; i++) {
		const struct fed_x509_crl *crl = slot_of(t, i)->crl;

		*issuer_known = *issuer_known || fed_x509_crl_of_issuer(crl, x);
		if (!fed_x509_crl_covers(crl, x, now))
			continue;
		fed_x509_crl_source(crl, pr->source, sizeof(pr->source));
		pr->status = fed_x509_crl_lists(crl, X509_get0_serialNumber(x)) ?
		    FED_X509_CERT_REV_REVOKED : FED_X509_CERT_REV_GOOD;
		return;
	}
}

/*
 * Each intermediate of res's path (not the end-entity, not the root) by a CRL of its
 * issuer, when the path's CA consults CRLs: one listed refuses the path
 * (FED_X509_REVOKED, revoked_depth); one whose issuer publishes a CRL (a CRL of that
 * issuer was taken once, or the intermediate names a distribution point) but none is in
 * force makes the path's status unknown (rev_good false: the CA's fail decides).
 */
static void
int_crl_check(const struct fed_x509_trust *t, struct fed_x509_result *res, time_t now)
{
	struct fed_x509_trust *w = (struct fed_x509_trust *)t;   /* the lock only */
	int n = sk_X509_num(res->path);
	char url[FED_X509_URL_MAX], subj[96];
	bool known;

	for (int k = 1; uses_crl(res->ca) && k < n - 1 && k < FED_X509_PATH_MAX; k++) {
		X509 *x = sk_X509_value(res->path, k);
		struct fed_x509_path_rev *pr = &res->path_rev[k];

		pthread_mutex_lock(&w->mu);
		int_lookup_locked(t, x, now, pr, &known);
		pthread_mutex_unlock(&w->mu);
		X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof(subj));
		if (pr->status == FED_X509_CERT_REV_REVOKED) {
			res->why = FED_X509_REVOKED;
			res->revoked_depth = k;
			res->rev_good = false;
			snprintf(res->detail, sizeof(res->detail), "the path's intermediate CA "
			    "certificate %s is revoked (%s)", subj, pr->source);
			return;
		}
		if (pr->status == FED_X509_CERT_REV_GOOD)
			continue;
		cdp_of(x, url);
		if (!known && url[0] == '\0')
			continue;   /* its issuer publishes no CRL we know of */
		pr->status = FED_X509_CERT_REV_UNKNOWN;
		if (res->rev_good || res->rev_why[0] == '\0')
			snprintf(res->rev_why, sizeof(res->rev_why), "no CRL in force for "
			    "the intermediate %.50s", subj);
		res->rev_good = false;
	}
}

/* The end-entity's entry of res->path_rev, from what its checks decided, and the
 * root's (a trust anchor). */
static void
ee_rev(struct fed_x509_result *res)
{
	struct fed_x509_path_rev *pr = &res->path_rev[0];
	int n = sk_X509_num(res->path);

	if (n > 1 && n <= FED_X509_PATH_MAX)
		res->path_rev[n - 1].status = FED_X509_CERT_REV_ANCHOR;

	snprintf(pr->source, sizeof(pr->source), "%s", res->rev_source);
	if (res->why == FED_X509_REVOKED && res->revoked_depth == 0)
		pr->status = FED_X509_CERT_REV_REVOKED;
	else if (res->rev_good)
		pr->status = FED_X509_CERT_REV_GOOD;
	else if (res->ca->revocation != FED_X509_REV_NONE)
		pr->status = FED_X509_CERT_REV_UNKNOWN;
}

int
fed_x509_verify(const struct fed_x509_trust *t, X509 *leaf, STACK_OF(X509) *chain,
    time_t now, struct fed_x509_result *res)
{
	X509_STORE_CTX *ctx = NULL;
	STACK_OF(X509) *untrusted = NULL;
	X509 *lc = NULL;
	int r, e;

	memset(res, 0, sizeof(*res));
	if (chain != NULL && sk_X509_num(chain) > FED_X509_CHAIN_MAX) {
		refuse(res, FED_X509_BAD_INPUT, "the chain holds too many certificates", NULL);
		return 0;
	}
	if ((r = inputs(t, leaf, chain, &lc, &untrusted)) != 0)
		goto out;
	r = YH_ERR_ALLOC;
	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, t->store, lc, untrusted) != 1)
		goto out;
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), now);
	if (X509_verify_cert(ctx) != 1) {
		e = X509_STORE_CTX_get_error(ctx);
		refuse(res, why_of(e), X509_verify_cert_error_string(e),
		    X509_STORE_CTX_get_current_cert(ctx));
		r = 0;
		goto out;
	}
	if ((res->path = X509_STORE_CTX_get1_chain(ctx)) == NULL)
		goto out;
	if ((r = check_path(t, res)) == 0 && res->why == FED_X509_OK)
		crl_check(t, res, now);
	/* OCSP: its CA's way, or crl+ocsp's when the CRL said nothing. */
	if (r == 0 && res->why == FED_X509_OK && !res->rev_good &&
	    (res->ca->revocation == FED_X509_REV_OCSP ||
	    res->ca->revocation == FED_X509_REV_CRL_OCSP))
		fed_x509_ocsp_check(t->ocsp, res->ca, res, now);
	if (r == 0 && res->ca != NULL && (res->why == FED_X509_OK ||
	    res->why == FED_X509_REVOKED)) {
		ee_rev(res);
		if (res->why == FED_X509_OK)
			int_crl_check(t, res, now);
	}
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	sk_X509_pop_free(untrusted, X509_free);
	X509_free(lc);
	return r;
}

void
fed_x509_result_clear(struct fed_x509_result *res)
{
	sk_X509_pop_free(res->path, X509_free);
	memset(res, 0, sizeof(*res));
}

int
fed_x509_parse_cert(const char *s, size_t len, X509 **out)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t n = 0;
	BIO *b;
	int r = YH_ERR_INVALID;

	*out = NULL;
	while (len > 0 && strchr(" \t\r\n", s[0]) != NULL) {
		s++;
		len--;
	}
	if (len > CERT_DER_MAX * 2)
		return YH_ERR_TOO_LONG;
	if (len >= 11 && memcmp(s, "-----BEGIN ", 11) == 0) {
		if ((b = BIO_new_mem_buf(s, (int)len)) == NULL)
			return YH_ERR_ALLOC;
		*out = PEM_read_bio_X509(b, NULL, NULL, NULL);
		BIO_free(b);
		ERR_clear_error();
		return *out != NULL ? 0 : YH_ERR_INVALID;
	}
	if ((der = malloc(CERT_DER_MAX)) == NULL)
		return YH_ERR_ALLOC;
	while (len > 0 && strchr(" \t\r\n", s[len - 1]) != NULL)
		len--;
	if (yh_b64_decode(s, len, der, CERT_DER_MAX, &n) == 0) {
		p = der;
		if ((*out = d2i_X509(NULL, &p, (long)n)) != NULL && p == der + n)
			r = 0;
	}
	if (r != 0) {
		X509_free(*out);
		*out = NULL;
	}
	ERR_clear_error();
	free(der);
	return r;
}

int
fed_x509_parse_chain(const char *s, size_t len, STACK_OF(X509) **out)
{
	*out = NULL;
	if (len > (size_t)CERT_DER_MAX * 2 * FED_X509_CHAIN_MAX)
		return YH_ERR_TOO_LONG;
	ERR_clear_error();
	return pem_stack(BIO_new_mem_buf(s, (int)len), FED_X509_CHAIN_MAX, out);
}

/* The issuer's readable name into out (RFC 2253, UTF-8 kept). */
static int
issuer_text(X509 *x, char *out, size_t outsz)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL;
	long n;
	int r = YH_ERR_ALLOC;

	if (b == NULL)
		return r;
	if (X509_NAME_print_ex(b, X509_get_issuer_name(x), 0,
	    XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0 && (n = BIO_get_mem_data(b, &p)) >= 0)
		r = (size_t)n < outsz ? 0 : YH_ERR_TOO_LONG;
	if (r == 0) {
		memcpy(out, p, (size_t)n);
		out[n] = '\0';
	}
	BIO_free(b);
	return r;
}

int
fed_x509_cert_names(X509 *x, char id[FED_X509_HEX_LEN + 1], char *issuer,
    size_t issuersz, char *serial, size_t serialsz)
{
	BIGNUM *bn = NULL;
	char *hex = NULL;
	int r;

	if ((r = issuer_text(x, issuer, issuersz)) != 0 || (r = fed_x509_cert_id(x, id)) != 0)
		return r;
	r = YH_ERR_CRYPTO;
	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL)) != NULL &&
	    (hex = BN_bn2hex(bn)) != NULL)
		r = hex[0] == '-' ? YH_ERR_INVALID :
		    yh_strlcpy(serial, hex, serialsz) == 0 ? 0 : YH_ERR_TOO_LONG;
	OPENSSL_free(hex);
	BN_free(bn);
	return r;
}
