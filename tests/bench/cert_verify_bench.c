/*
 * cert_verify_bench: certificate-login verifications per second with a 100,000-entry CRL in
 * force, beside raw OpenSSL chain verification of the same certificate in the same run,
 * and the latency of verifications while another thread keeps taking a new CRL (what the
 * background refresh of a CRL by URL does). Run by bench_cert.sh, which builds the test
 * PKI with openssl: cert_verify_bench DIR, DIR holding ra.pem, ia.pem, pa.pem, pa.key (an SM2
 * chain under CA a) and crl/a.crl (CA a's intermediate's CRL of 100,000 serials).
 *
 *   login:  what a certificate login computes after the HTTP layer: the SM2 signature over
 *           a challenge (fed_x509_proof_verify) and fed_x509_verify (path building with
 *           the distinguishing ID, usage, policies, identity, the CRL lookup)
 *   chain:  X509_verify_cert alone on the same store and chain (the IDs set)
 *   refresh: login latencies (p50, p99, max) on one thread while another one parses,
 *           checks, writes and swaps in the 100,000-entry CRL again and again
 * Never passes or fails on time.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include "common/atomicfile.h"
#include "common/timeutil.h"
#include "federation/x509.h"

#define RUN_NS 2000000000LL       /* each rate: 2 s */
#define LAT_MAX 200000

static char dir[1024];

static char *
slurp(const char *name, size_t *n)
{
	char path[1200];
	char *text = NULL;
	FILE *f;
	long len;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "rb")) == NULL || fseek(f, 0, SEEK_END) != 0 ||
	    (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    (text = malloc((size_t)len + 1)) == NULL ||
	    fread(text, 1, (size_t)len, f) != (size_t)len) {
		fprintf(stderr, "cert_verify_bench: cannot read %s\n", path);
		exit(2);
	}
	fclose(f);
	text[len] = '\0';
	*n = (size_t)len;
	return text;
}

static X509 *
cert_of(const char *name)
{
	size_t n;
	char *t = slurp(name, &n);
	X509 *x = NULL;

	if (fed_x509_parse_cert(t, n, &x) != 0) {
		fprintf(stderr, "cert_verify_bench: %s is not a certificate\n", name);
		exit(2);
	}
	free(t);
	return x;
}

/* The SM2 signature of pa.key over msg (SM3, the default distinguishing ID). */
static size_t
sign(const unsigned char *msg, size_t n, unsigned char *sig, size_t sigmax)
{
	size_t kn, sl = sigmax;
	char *k = slurp("pa.key", &kn);
	BIO *b = BIO_new_mem_buf(k, (int)kn);
	EVP_PKEY *key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;

	if (key == NULL || m == NULL ||
	    EVP_DigestSignInit_ex(m, &pc, "SM3", NULL, NULL, key, NULL) != 1 ||
	    EVP_PKEY_CTX_set1_id(pc, "1234567812345678", 16) <= 0 ||
	    EVP_DigestSign(m, sig, &sl, msg, n) != 1) {
		fprintf(stderr, "cert_verify_bench: cannot sign with pa.key\n");
		exit(2);
	}
	EVP_MD_CTX_free(m);
	EVP_PKEY_free(key);
	BIO_free(b);
	free(k);
	return sl;
}

struct login {
	const struct fed_x509_trust *t;
	X509 *leaf;
	unsigned char msg[43], sig[128];
	size_t siglen;
};

static int
one_login(struct login *l)
{
	struct fed_x509_result res;
	int ok;

	if (fed_x509_proof_verify(l->leaf, l->msg, sizeof(l->msg), l->sig, l->siglen) != 0)
		return -1;
	memset(&res, 0, sizeof(res));
	ok = fed_x509_verify(l->t, l->leaf, NULL, time(NULL), &res) == 0 &&
	    res.why == FED_X509_OK && res.rev_good;
	fed_x509_result_clear(&res);
	return ok ? 0 : -1;
}

static double
rate_login(struct login *l)
{
	int64_t t0 = yh_mono_ns(), el;
	long n = 0;

	do {
		if (one_login(l) != 0) {
			fprintf(stderr, "cert_verify_bench: a login did not verify\n");
			exit(2);
		}
		n++;
	} while ((el = yh_mono_ns() - t0) < RUN_NS);
	return (double)n * 1e9 / (double)el;
}

static double
rate_chain(X509 *leaf, X509 *root, X509 *inter)
{
	X509_STORE *st = X509_STORE_new();
	STACK_OF(X509) *un = sk_X509_new_null();
	X509 *l = X509_dup(leaf), *i = X509_dup(inter);
	int64_t t0, el;
	long n = 0;

	if (st == NULL || un == NULL || l == NULL || i == NULL ||
	    fed_x509_set_sm2_id(l) != 0 || fed_x509_set_sm2_id(i) != 0 ||
	    X509_STORE_add_cert(st, root) != 1 || sk_X509_push(un, i) <= 0) {
		fprintf(stderr, "cert_verify_bench: cannot set up the raw chain check\n");
		exit(2);
	}
	t0 = yh_mono_ns();
	do {
		X509_STORE_CTX *c = X509_STORE_CTX_new();

		if (c == NULL || X509_STORE_CTX_init(c, st, l, un) != 1 ||
		    X509_verify_cert(c) != 1) {
			fprintf(stderr, "cert_verify_bench: raw OpenSSL did not verify the chain\n");
			exit(2);
		}
		X509_STORE_CTX_free(c);
		n++;
	} while ((el = yh_mono_ns() - t0) < RUN_NS);
	sk_X509_pop_free(un, X509_free);
	X509_free(l);
	X509_STORE_free(st);
	return (double)n * 1e9 / (double)el;
}

struct refresher {
	struct fed_x509_trust *t;
	char *crl;
	size_t n;
	atomic_bool stop;
	long swaps;
};

static void *
refresh_loop(void *arg)
{
	struct refresher *r = arg;
	const char *why = NULL;

	while (!atomic_load(&r->stop)) {
		if (fed_x509_trust_crl_put(r->t, 0, r->crl, r->n, time(NULL), &why) != 0) {
			fprintf(stderr, "cert_verify_bench: the CRL was not taken: %s\n", why);
			exit(2);
		}
		r->swaps++;
	}
	return NULL;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void
latencies(struct login *l, struct fed_x509_trust *t, bool refresh)
{
	static int64_t lat[LAT_MAX];
	struct refresher r = { .t = t };
	pthread_t th;
	int64_t t0 = yh_mono_ns(), s;
	size_t n = 0;

	if (refresh) {
		r.crl = slurp("crl/a.crl", &r.n);
		if (pthread_create(&th, NULL, refresh_loop, &r) != 0)
			exit(2);
	}
	while (n < LAT_MAX && yh_mono_ns() - t0 < RUN_NS) {
		s = yh_mono_ns();
		if (one_login(l) != 0)
			exit(2);
		lat[n++] = yh_mono_ns() - s;
	}
	if (refresh) {
		atomic_store(&r.stop, true);
		pthread_join(th, NULL);
		free(r.crl);
	}
	qsort(lat, n, sizeof(lat[0]), cmp_i64);
	printf("  %-28s p50 %7.1f us  p99 %7.1f us  max %8.1f us  (%zu logins%s)\n",
	    refresh ? "during CRL refreshes" : "no refresh", lat[n / 2] / 1e3,
	    lat[n * 99 / 100] / 1e3, lat[n - 1] / 1e3, n, refresh ? "" : "");
	if (refresh)
		printf("  %-28s %ld CRLs of 100,000 serials taken meanwhile\n", "", r.swaps);
}

int
main(int argc, char **argv)
{
	struct fed_x509_ca ca;
	struct fed_x509_cfg cfg;
	struct fed_x509_trust *t = NULL;
	struct login l;
	char err[512], ra[1100], ia[1100];
	X509 *root, *inter;
	double login, chain;

	if (argc != 2) {
		fprintf(stderr, "usage: cert_verify_bench DIR\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	snprintf(ra, sizeof(ra), "%s/ra.pem", dir);
	snprintf(ia, sizeof(ia), "%s/ia.pem", dir);
	memset(&ca, 0, sizeof(ca));
	memset(&cfg, 0, sizeof(cfg));
	snprintf(ca.name, sizeof(ca.name), "a");
	ca.roots = ra;
	ca.intermediates = ia;
	ca.revocation = FED_X509_REV_CRL;
	ca.crl_url = (char *)"http://127.0.0.1/a.crl";   /* its copy in DIR/crl is read */
	cfg.ca = &ca;
	cfg.nca = 1;
	cfg.crl_dir = malloc(strlen(dir) + 5);
	if (cfg.crl_dir == NULL)
		return 2;
	snprintf(cfg.crl_dir, strlen(dir) + 5, "%s/crl", dir);
	if (fed_x509_trust_load(&cfg, &t, err, sizeof(err)) != 0) {
		fprintf(stderr, "cert_verify_bench: %s\n", err);
		return 2;
	}
	memset(&l, 0, sizeof(l));
	l.t = t;
	l.leaf = cert_of("pa.pem");
	memcpy(l.msg, "bench-challenge-bench-challenge-bench-chall", sizeof(l.msg));
	l.siglen = sign(l.msg, sizeof(l.msg), l.sig, sizeof(l.sig));
	root = cert_of("ra.pem");
	inter = cert_of("ia.pem");

	printf("cert_verify_bench: SM2 person certificate under CA a, its CRL of 100,000 serials\n");
	login = rate_login(&l);
	chain = rate_chain(l.leaf, root, inter);
	printf("  %-28s %9.0f /s\n", "certificate login (verify)", login);
	printf("  %-28s %9.0f /s  (raw OpenSSL X509_verify_cert)\n", "chain only", chain);
	printf("  %-28s %9.2f\n", "login / chain", login / chain);
	latencies(&l, t, false);
	latencies(&l, t, true);

	X509_free(l.leaf);
	X509_free(root);
	X509_free(inter);
	fed_x509_trust_free(t);
	free(cfg.crl_dir);
	return 0;
}
