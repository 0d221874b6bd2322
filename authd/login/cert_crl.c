/*
 * The CRLs of cert.ca.NAME.crl = URL, fetched in the background, never on a login
 * (docs/certificates.md "Revocation"): one thread looks once a second at the trust set in
 * force (app->cfg->cert_trust; after a SIGHUP, login_crl_refresh makes every CRL of
 * the set then in force due) and fetches each CRL source (each CA's, and each
 * distribution point a configured intermediate names: fed_x509_trust_ncrl) that
 * fed_x509_trust_crl_due says is due, through federation/http.c's rules (no redirects, timeouts, a bounded answer),
 * handing the answer to fed_x509_trust_crl_put, which verifies it, keeps the last good
 * copy in STATE_DIR/crl and swaps it in. A failure is logged and retried later; the CRL
 * in force (or the copy read at start) stays until its nextUpdate, after which its
 * status is unknown and the CA's fail policy decides.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "authcore/authd_config.h"
#include "authd/app.h"
#include "authd/login/login.h"
#include "common/buf.h"
#include "common/log.h"
#include "federation/http.h"
#include "federation/x509.h"

#define CRL_FETCH_TIMEOUT_MS 30000
#define CRL_CONNECT_TIMEOUT_MS 5000

struct login_crl {
	struct authd_app *app;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop, refresh;
};

/* GETs url into b (bounded by FED_X509_CRL_MAX). 0, or -1 with why. */
static int
crl_get(const char *url, struct yh_buf *b, char *why, size_t whysz)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURLcode cc;
	CURL *e;

	if ((e = curl_easy_init()) == NULL) {
		snprintf(why, whysz, "libcurl: cannot make a handle");
		return -1;
	}
	cc = fed_http_setup(e, &(struct fed_http_opts){ .url = url,
	    .user_agent = "yihao crl-fetch", .connect_timeout_ms = CRL_CONNECT_TIMEOUT_MS,
	    .timeout_ms = CRL_FETCH_TIMEOUT_MS, .errbuf = errbuf });
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, fed_http_collect);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(e, CURLOPT_WRITEDATA, b);
	if (cc == CURLE_OK)
		cc = curl_easy_perform(e);
	if (cc == CURLE_OK)
		(void)curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(e);
	if (cc == CURLE_WRITE_ERROR)
		snprintf(why, whysz, "the answer is over %d bytes", FED_X509_CRL_MAX);
	else if (cc != CURLE_OK)
		snprintf(why, whysz, "%.150s", errbuf[0] != '\0' ? errbuf :
		    curl_easy_strerror(cc));
	else if (status != 200)
		snprintf(why, whysz, "HTTP status %ld", status);
	else
		return 0;
	return -1;
}

/* Fetches CA i's CRL of t and takes it (or records the failure). */
static void
crl_fetch(struct fed_x509_trust *t, const char *dir, size_t i)
{
	const char *name = fed_x509_trust_ca_name(t, i), *why = NULL;
	char reason[200], url[FED_X509_URL_MAX];
	struct yh_buf b;
	int r;

	if (fed_x509_trust_crl_url(t, i, url, sizeof(url)) != 0)
		return;
	yh_buf_init(&b, FED_X509_CRL_MAX);
	if (dir != NULL && mkdir(dir, 0700) != 0 && errno != EEXIST)
		yh_warn("cert.ca.%s.crl: cannot make %s: its copy will not be kept", name, dir);
	if (crl_get(url, &b, reason, sizeof(reason)) != 0) {
		yh_warn("cert.ca.%s.crl: %s: %s (tried again in %d s)", name, url, reason,
		    FED_X509_CRL_RETRY_S);
		fed_x509_trust_crl_failed(t, i, time(NULL));
	} else if ((r = fed_x509_trust_crl_put(t, i, b.data, b.len, time(NULL), &why)) != 0) {
		yh_warn("cert.ca.%s.crl: the CRL from %s %s: not taken (tried again in %d s)",
		    name, url, why != NULL ? why : yh_strerror(r), FED_X509_CRL_RETRY_S);
		fed_x509_trust_crl_failed(t, i, time(NULL));
	} else {
		yh_info("cert.ca.%s.crl: a new CRL from %s taken (%zu bytes)", name, url, b.len);
	}
	yh_buf_free(&b);
}

static void *
crl_loop(void *arg)
{
	struct login_crl *l = arg;
	struct fed_x509_trust *t;
	struct timespec until;
	bool stop = false;

	while (!stop) {
		const struct authd_cfg *c = l->app->cfg;

		t = c->cert_trust;
		pthread_mutex_lock(&l->mu);
		if (l->refresh)
			fed_x509_trust_crl_reset(t);
		l->refresh = false;
		pthread_mutex_unlock(&l->mu);
		for (size_t i = 0; i < fed_x509_trust_ncrl(t); i++)
			if (fed_x509_trust_crl_due(t, i, time(NULL)))
				crl_fetch(t, c->cert.crl_dir, i);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_mutex_lock(&l->mu);
		while (!l->stop && !l->refresh &&
		    pthread_cond_timedwait(&l->cv, &l->mu, &until) == 0)
			;
		stop = l->stop;
		pthread_mutex_unlock(&l->mu);
	}
	return NULL;
}

int
login_crl_start(struct authd_app *app, struct login_crl **out)
{
	struct login_crl *l;
	int r;

	*out = NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return YH_ERR_ALLOC;
	l->app = app;
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	if ((r = fed_http_global_ref()) != 0 ||
	    (r = pthread_create(&l->th, NULL, crl_loop, l) != 0 ? YH_ERR_INTERNAL : 0) != 0) {
		if (r == YH_ERR_INTERNAL)
			fed_http_global_unref();
		pthread_cond_destroy(&l->cv);
		pthread_mutex_destroy(&l->mu);
		free(l);
		return r;
	}
	*out = l;
	return 0;
}

void
login_crl_refresh(struct login_crl *l)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->mu);
	l->refresh = true;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

void
login_crl_stop(struct login_crl *l)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->mu);
	l->stop = true;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->th, NULL);
	fed_http_global_unref();
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	free(l);
}
