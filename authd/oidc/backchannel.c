/*
 * Back-channel logout delivery: a bounded queue of deliveries and one thread that mints
 * the logout tokens and POSTs them with libcurl's multi interface, with retries. See
 * authd/oidc/backchannel.h for the rules.
 */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "authcore/audit/audit.h"
#include "authd/oidc/backchannel.h"
#include "authd/cas/cas.h"
#include "authcore/clients/clients.h"
#include "common/metrics.h"
#include "authd/oidc/oidc.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/timeutil.h"
#include "federation/http.h"
#include "token/jws.h"
#include "token/jwt.h"
#include "token/keyring.h"

#define BCL_ATTEMPTS_MAX 20
#define BCL_POLL_MAX_MS 1000       /* the thread looks at its queue at least this often */
#define BCL_BODY_PREFIX "logout_token="

/* One delivery: one logout token for one client of one ended session, or (cas) one
 * CAS LogoutRequest for one ticket the session issued. */
struct bcl_job {
	struct bcl_job *next;
	bool cas;                  /* CAS single logout; else OIDC back-channel logout */
	char uid[SESS_UID_MAX + 1];
	char sid[SESS_PUBID_SIZE];
	char client_id[SESS_CLIENT_MAX + 1];
	char ticket[SESS_TICKET_SIZE];  /* cas: the SessionIndex */
	char *service;             /* cas: the service the ticket was issued for */
	enum sess_reason why;
	unsigned attempts;
	int64_t due_ms;            /* monotonic time of the next attempt */
	long http_status;          /* of the last attempt; 0 when there was no answer */
	char *body;                /* "logout_token=<jwt>", minted at the first attempt */
	char *uri;                 /* the registered backchannel_logout_uri */
	CURL *easy;                /* while in flight */
	char errbuf[CURL_ERROR_SIZE];
};

enum bcl_result { BCL_DELIVERED, BCL_FAILED, BCL_DROPPED, BCL_SKIPPED };

struct bcl {
	struct bcl_config cfg;
	char *issuer;
	CURLM *multi;
	struct curl_slist *headers;   /* shared by every transfer; read-only */
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t idle;       /* signalled when pending drops */
	bool stopping;
	struct bcl_job *queue;     /* new deliveries and retries waiting for their time */
	struct bcl_job *inflight;  /* owned by the thread */
	unsigned ninflight;        /* owned by the thread */
	size_t pending;            /* queued + being prepared + in flight */
	struct bcl_stats stats;
	struct mx_counter *mx_delivered, *mx_failed, *mx_dropped, *mx_att_ok, *mx_att_err;
	struct mx_gauge *mx_pending;
};

void
bcl_config_defaults(struct bcl_config *c)
{
	memset(c, 0, sizeof(*c));
	c->max_attempts = BCL_DEFAULT_ATTEMPTS;
	c->base_delay_ms = BCL_DEFAULT_BASE_DELAY_MS;
	c->connect_timeout_ms = BCL_DEFAULT_CONNECT_TIMEOUT_MS;
	c->timeout_ms = BCL_DEFAULT_TIMEOUT_MS;
	c->max_pending = BCL_DEFAULT_MAX_PENDING;
	c->max_parallel = BCL_DEFAULT_PARALLEL;
}

static void
job_free(struct bcl_job *j)
{
	if (j == NULL)
		return;
	yh_strfree_secret(j->body);
	free(j->uri);
	free(j->service);
	yh_wipe(j->ticket, sizeof(j->ticket));
	free(j);
}

static const char *
reason_name(enum sess_reason why)
{
	switch (why) {
	case SESS_END_LOGOUT: return "logout";
	case SESS_END_EXPIRED: return "expired";
	case SESS_END_USER: return "user";
	case SESS_END_ADMIN: return "admin";
	case SESS_END_EVICTED: return "evicted";
	default: return "other";
	}
}

/* ---- statistics and the record of delivery --------------------------------------- */

/* What a delivery is called in the log. */
static const char *
kind_name(const struct bcl_job *j)
{
	return j->cas ? "CAS single logout" : "back-channel logout";
}

static void
audit_delivery(struct bcl *b, const struct bcl_job *j, const char *status)
{
	json_t *f;
	char actor[SESS_UID_MAX + 16];

	if (b->cfg.audit == NULL)
		return;
	snprintf(actor, sizeof(actor), "user:%s", j->uid[0] != '\0' ? j->uid : "unknown");
	f = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "client", j->client_id, "sid",
	    j->sid, "protocol", j->cas ? "cas" : "oidc", "status", status, "attempts",
	    (json_int_t)j->attempts, "http_status", (json_int_t)j->http_status, "reason",
	    reason_name(j->why));
	if (f == NULL || yh_audit_write(b->cfg.audit, "logout.delivery", actor, f) != 0)
		yh_error("%s to client %s: the audit line could not be written", kind_name(j),
		    j->client_id);
	json_decref(f);
}

/*
 * Ends a delivery: records it (log, metrics, audit), then counts it and wakes
 * bcl_drain, so that a drained deliverer has written its record. Frees j. Called
 * without the lock held.
 */
static void
job_finish(struct bcl *b, struct bcl_job *j, enum bcl_result res)
{
	if (res == BCL_DELIVERED) {
		mx_counter_add(b->mx_delivered, 1);
		yh_info("%s delivered to client %s (sid %s, %u attempt%s)", kind_name(j),
		    j->client_id, j->sid, j->attempts, j->attempts == 1 ? "" : "s");
		audit_delivery(b, j, "delivered");
	} else if (res == BCL_FAILED) {
		mx_counter_add(b->mx_failed, 1);
		yh_warn("%s to client %s (sid %s) failed after %u attempts "
		    "(last HTTP status %ld%s%s)", kind_name(j), j->client_id, j->sid, j->attempts,
		    j->http_status, j->errbuf[0] != '\0' ? ": " : "", j->errbuf);
		audit_delivery(b, j, "failed");
	} else if (res == BCL_DROPPED) {
		mx_counter_add(b->mx_dropped, 1);
		yh_warn("%s to client %s (sid %s) dropped", kind_name(j), j->client_id, j->sid);
		if (j->attempts > 0)
			audit_delivery(b, j, "dropped");
	} else if (res == BCL_SKIPPED && j->attempts > 0) {
		yh_info("%s to client %s (sid %s) stopped after %u attempt%s: the client no "
		    "longer registers that endpoint", kind_name(j), j->client_id, j->sid,
		    j->attempts, j->attempts == 1 ? "" : "s");
		audit_delivery(b, j, "skipped");
	}
	pthread_mutex_lock(&b->lock);
	switch (res) {
	case BCL_DELIVERED: b->stats.delivered++; break;
	case BCL_FAILED: b->stats.failed++; break;
	case BCL_DROPPED: b->stats.dropped++; break;
	case BCL_SKIPPED: b->stats.skipped++; break;
	}
	if (b->pending > 0)
		b->pending--;
	mx_gauge_set(b->mx_pending, (int64_t)b->pending);
	pthread_cond_broadcast(&b->idle);
	pthread_mutex_unlock(&b->lock);
	job_free(j);
}

/* ---- queueing (any thread) ------------------------------------------------------- */

/* Queues a delivery to client_id for the ended session sid of uid: a logout token, or
 * with cas the LogoutRequest for that ticket. */
static int
queue_one(struct bcl *b, const char *uid, const char *sid, const char *client_id,
    const struct sess_cas_entry *cas, enum sess_reason why)
{
	struct bcl_job *j;
	int r = 0;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return YH_ERR_ALLOC;
	j->cas = cas != NULL;
	if (yh_strlcpy(j->uid, uid, sizeof(j->uid)) != 0 ||
	    yh_strlcpy(j->sid, sid, sizeof(j->sid)) != 0 ||
	    yh_strlcpy(j->client_id, client_id, sizeof(j->client_id)) != 0 ||
	    (cas != NULL && (yh_strlcpy(j->ticket, cas->ticket, sizeof(j->ticket)) != 0 ||
	    (j->service = strdup(cas->service)) == NULL))) {
		job_free(j);
		return YH_ERR_INVALID;
	}
	j->why = why;
	j->due_ms = yh_mono_ms();
	pthread_mutex_lock(&b->lock);
	if (b->stopping)
		r = YH_ERR_UNAVAILABLE;
	else if (b->pending >= b->cfg.max_pending)
		r = YH_ERR_LIMIT;
	if (r != 0) {
		b->stats.dropped++;
		pthread_mutex_unlock(&b->lock);
		mx_counter_add(b->mx_dropped, 1);
		yh_warn("%s to client %s (sid %s) dropped: %s", kind_name(j), client_id,
		    sid, r == YH_ERR_LIMIT ? "the queue is full" : "shutting down");
		job_free(j);
		return r;
	}
	j->next = b->queue;
	b->queue = j;
	b->pending++;
	mx_gauge_set(b->mx_pending, (int64_t)b->pending);
	pthread_mutex_unlock(&b->lock);
	return 0;
}

int
bcl_session_ended(struct bcl *b, const struct sess_info *info, enum sess_reason why)
{
	int r = 0, e;
	size_t n;

	if (b == NULL || info == NULL || (info->sid[0] == '\0' && info->uid[0] == '\0'))
		return YH_ERR_INVALID;
	n = info->nclients < SESS_CLIENTS_MAX ? info->nclients : SESS_CLIENTS_MAX;
	for (size_t i = 0; i < n; i++) {
		if (info->clients[i][0] == '\0')
			continue;
		if ((e = queue_one(b, info->uid, info->sid, info->clients[i], NULL, why)) != 0 &&
		    r == 0)
			r = e;
	}
	if (n > 0)
		curl_multi_wakeup(b->multi);
	return r;
}

int
bcl_cas_session_ended(struct bcl *b, const struct sess_info *info,
    const struct sess_cas_list *cas, enum sess_reason why)
{
	int r = 0, e;

	if (b == NULL || info == NULL || (info->sid[0] == '\0' && info->uid[0] == '\0'))
		return YH_ERR_INVALID;
	if (cas == NULL)
		return 0;
	for (size_t i = 0; i < cas->n; i++)
		if ((e = queue_one(b, info->uid, info->sid, cas->e[i].client_id, &cas->e[i],
		    why)) != 0 && r == 0)
			r = e;
	if (cas->n > 0)
		curl_multi_wakeup(b->multi);
	return r;
}

int
bcl_client_logout(struct bcl *b, const char *uid, const char *sid, const char *client_id,
    enum sess_reason why)
{
	int r;

	if (b == NULL || uid == NULL || sid == NULL || client_id == NULL || sid[0] == '\0' ||
	    client_id[0] == '\0')
		return YH_ERR_INVALID;
	if ((r = queue_one(b, uid, sid, client_id, NULL, why)) == 0)
		curl_multi_wakeup(b->multi);
	return r;
}

void
bcl_on_session_event(void *ctx, const struct sess_event *ev)
{
	struct bcl *b = ctx;

	if (b == NULL || ev == NULL || ev->type != SESS_EV_ENDED || !ev->origin ||
	    ev->info == NULL)
		return;
	if (ev->info->nclients > 0 && bcl_session_ended(b, ev->info, ev->reason) != 0)
		yh_warn("back-channel logout for session %s: not every delivery was queued",
		    ev->info->sid);
	if (ev->cas != NULL && bcl_cas_session_ended(b, ev->info, ev->cas, ev->reason) != 0)
		yh_warn("CAS single logout for session %s: not every delivery was queued",
		    ev->info->sid);
}

/* ---- preparing an attempt (delivery thread) -------------------------------------- */

/* Total span of the retry schedule plus the per-attempt timeouts, in seconds. */
static int64_t
schedule_span_s(const struct bcl_config *c)
{
	int64_t ms = 0, d = c->base_delay_ms;

	for (unsigned i = 1; i < c->max_attempts; i++) {
		ms += d;
		if (d < INT64_MAX / 4)
			d *= 2;
	}
	ms += (int64_t)c->max_attempts * c->timeout_ms;
	return ms / 1000 + 1;
}

/* Mints the logout token for j (sub pairwise for the client's sector). */
static int
mint_body(struct bcl *b, struct bcl_job *j, const struct clients_client *c)
{
	struct tok_ring_snap *snap = NULL;
	const struct tok_key *key;
	struct tok_logout_token t;
	char sub[OIDC_SUB_SIZE];
	char *jwt = NULL;
	struct yh_buf body;
	int r;

	yh_buf_init_secret(&body, TOK_JWS_MAX + sizeof(BCL_BODY_PREFIX));
	memset(&t, 0, sizeof(t));
	t.iss = b->issuer;
	t.aud = j->client_id;
	t.sid = j->sid[0] != '\0' ? j->sid : NULL;
	if (j->uid[0] != '\0') {
		if ((r = oidc_pairwise_sub(b->cfg.keys, b->cfg.dir, oidc_client_sector(c), j->uid,
		    sub)) != 0)
			goto out;
		t.sub = sub;
	}
	t.lifetime = schedule_span_s(&b->cfg) + 30;
	if (t.lifetime < TOK_LOGOUT_LIFETIME)
		t.lifetime = TOK_LOGOUT_LIFETIME;
	snap = tok_ring_acquire(b->cfg.ring);
	/* The app verifies it as it verifies its ID tokens: with their algorithm. */
	if ((key = oidc_client_key(snap, c, b->cfg.default_alg, false)) == NULL) {
		r = YH_ERR_KEY;
		goto out;
	}
	if ((r = tok_mint_logout_token(key, &t, &jwt)) != 0)
		goto out;
	if ((r = yh_buf_puts(&body, BCL_BODY_PREFIX)) != 0 ||
	    (r = yh_buf_puts(&body, jwt)) != 0)
		goto out;
	if ((j->body = yh_buf_steal(&body)) == NULL)
		r = YH_ERR_ALLOC;
out:
	if (r != 0)
		yh_error("back-channel logout to client %s: cannot mint the logout token: %s",
		    j->client_id, yh_strerror(r));
	yh_strfree_secret(jwt);
	yh_buf_free(&body);
	tok_snap_release(snap);
	return r;
}

static bool
uri_deliverable(const char *uri)
{
	return uri != NULL && (strncmp(uri, "https://", 8) == 0 ||
	    strncmp(uri, "http://", 7) == 0) && strlen(uri) <= CLIENTS_URI_MAX;
}

/*
 * Before each attempt: the first reads the client's registered URI and mints the token;
 * a retry goes only while the client is still registered with that URI (or CAS
 * service), so a client removed or changed meanwhile gets nothing more. Returns
 * BCL_DELIVERED to mean "ready to send" (the job goes on), or the result that ends it.
 */
static enum bcl_result
job_prepare(struct bcl *b, struct bcl_job *j)
{
	struct clients_snap *cs;
	const struct clients_client *c;
	enum bcl_result res = BCL_DELIVERED;

	(void)clients_refresh_if_changed(b->cfg.clients);
	cs = clients_acquire(b->cfg.clients);
	c = clients_find(cs, j->client_id);
	if (j->body != NULL) {
		if (c == NULL || (j->cas ? !clients_cas_service_ok(c, j->service) :
		    c->backchannel_logout_uri == NULL ||
		    strcmp(c->backchannel_logout_uri, j->uri) != 0))
			res = BCL_SKIPPED;
	} else if (j->cas) {
		/* the service, only while the app still registers it */
		if (c == NULL || !clients_cas_service_ok(c, j->service) ||
		    !uri_deliverable(j->service))
			res = BCL_SKIPPED;
		else if ((j->uri = strdup(j->service)) == NULL ||
		    cas_slo_body(j->ticket, yh_now_ms(), &j->body) != 0)
			res = BCL_DROPPED;
	} else if (c == NULL || c->backchannel_logout_uri == NULL) {
		res = BCL_SKIPPED;
	} else if (!uri_deliverable(c->backchannel_logout_uri)) {
		yh_warn("client %s: backchannel_logout_uri is not http(s): not delivered",
		    j->client_id);
		res = BCL_SKIPPED;
	} else if ((j->uri = strdup(c->backchannel_logout_uri)) == NULL ||
	    mint_body(b, j, c) != 0) {
		res = BCL_DROPPED;
	}
	clients_release(cs);
	return res;
}

/* Starts one HTTP attempt for j. Returns 0 or YH_ERR_INTERNAL. */
static int
job_start(struct bcl *b, struct bcl_job *j)
{
	CURL *e;
	CURLcode cc = CURLE_OK;

	if ((e = curl_easy_init()) == NULL)
		return YH_ERR_INTERNAL;
	j->errbuf[0] = '\0';
	j->http_status = 0;
	cc = fed_http_setup(e, &(struct fed_http_opts){ .url = j->uri,
	    .user_agent = j->cas ? "yihao-authd cas-single-logout" :
	    "yihao-authd back-channel-logout",
	    .connect_timeout_ms = b->cfg.connect_timeout_ms, .timeout_ms = b->cfg.timeout_ms,
	    .errbuf = j->errbuf });
#define SET(opt, val) \
	do { if (cc == CURLE_OK) cc = curl_easy_setopt(e, opt, val); } while (0)
	SET(CURLOPT_POSTFIELDS, j->body);
	SET(CURLOPT_POSTFIELDSIZE, (long)strlen(j->body));
	SET(CURLOPT_HTTPHEADER, b->headers);
	SET(CURLOPT_WRITEFUNCTION, fed_http_discard);
	SET(CURLOPT_PRIVATE, (void *)j);
#undef SET
	if (cc != CURLE_OK || curl_multi_add_handle(b->multi, e) != CURLM_OK) {
		yh_error("back-channel logout: libcurl setup failed: %s",
		    curl_easy_strerror(cc));
		curl_easy_cleanup(e);
		return YH_ERR_INTERNAL;
	}
	j->easy = e;
	j->attempts++;
	j->next = b->inflight;
	b->inflight = j;
	b->ninflight++;
	return 0;
}

/* ---- the delivery thread --------------------------------------------------------- */

static void
inflight_unlink(struct bcl *b, struct bcl_job *j)
{
	for (struct bcl_job **pp = &b->inflight; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == j) {
			*pp = j->next;
			j->next = NULL;
			b->ninflight--;
			return;
		}
	}
}

static bool
status_retryable(long st)
{
	return st == 0 || st == 408 || st == 425 || st == 429 || st >= 500;
}

/* An attempt ended: deliver, retry later, or give up. */
static void
job_done(struct bcl *b, struct bcl_job *j, CURLcode cc)
{
	long st = 0;
	int64_t delay;

	inflight_unlink(b, j);
	if (cc == CURLE_OK)
		(void)curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &st);
	curl_multi_remove_handle(b->multi, j->easy);
	curl_easy_cleanup(j->easy);
	j->easy = NULL;
	j->http_status = st;
	if (cc != CURLE_OK && j->errbuf[0] == '\0')
		snprintf(j->errbuf, sizeof(j->errbuf), "%s", curl_easy_strerror(cc));

	pthread_mutex_lock(&b->lock);
	b->stats.attempts++;
	pthread_mutex_unlock(&b->lock);
	/* a CAS client answers a LogoutRequest it acted on with a redirect to the login too
	 * (mod_auth_cas: the requester has no session of its own) */
	if ((st >= 200 && st < 300) || (j->cas && st >= 300 && st < 400)) {
		mx_counter_add(b->mx_att_ok, 1);
		job_finish(b, j, BCL_DELIVERED);
		return;
	}
	mx_counter_add(b->mx_att_err, 1);
	yh_debug("back-channel logout to client %s: attempt %u: status %ld %s", j->client_id,
	    j->attempts, st, j->errbuf);
	if (j->attempts >= b->cfg.max_attempts || !status_retryable(st)) {
		job_finish(b, j, BCL_FAILED);
		return;
	}
	delay = b->cfg.base_delay_ms;
	for (unsigned i = 1; i < j->attempts && delay < INT64_MAX / 4; i++)
		delay *= 2;
	j->due_ms = yh_mono_ms() + delay;
	pthread_mutex_lock(&b->lock);
	j->next = b->queue;
	b->queue = j;
	pthread_mutex_unlock(&b->lock);
}

/*
 * Takes the deliveries that are due off the queue (at most room of them) into *due.
 * Returns false when stopping.
 */
static bool
take_due(struct bcl *b, unsigned room, struct bcl_job **due)
{
	int64_t now = yh_mono_ms();
	struct bcl_job **pp;

	*due = NULL;
	pthread_mutex_lock(&b->lock);
	if (b->stopping) {
		pthread_mutex_unlock(&b->lock);
		return false;
	}
	pp = &b->queue;
	while (*pp != NULL) {
		struct bcl_job *j = *pp;

		if (j->due_ms <= now && room > 0) {
			*pp = j->next;
			j->next = *due;
			*due = j;
			room--;
			continue;
		}
		pp = &j->next;
	}
	pthread_mutex_unlock(&b->lock);
	return true;
}

/*
 * How long the thread may sleep: until the next queued delivery is due (0 when one is
 * due and there is room for it), at most BCL_POLL_MAX_MS. A due delivery without room
 * waits for a transfer to finish, which wakes the poll anyway.
 */
static int64_t
next_wait(struct bcl *b)
{
	int64_t now = yh_mono_ms(), wait = BCL_POLL_MAX_MS;
	bool room = b->ninflight < b->cfg.max_parallel;

	pthread_mutex_lock(&b->lock);
	for (const struct bcl_job *j = b->queue; j != NULL; j = j->next) {
		int64_t w = j->due_ms > now ? j->due_ms - now : 0;

		if ((w > 0 || room) && w < wait)
			wait = w;
	}
	pthread_mutex_unlock(&b->lock);
	return wait;
}

static void
start_due(struct bcl *b, struct bcl_job *due)
{
	while (due != NULL) {
		struct bcl_job *j = due;
		enum bcl_result res;

		due = j->next;
		j->next = NULL;
		if ((res = job_prepare(b, j)) != BCL_DELIVERED)
			job_finish(b, j, res);
		else if (job_start(b, j) != 0)
			job_finish(b, j, BCL_DROPPED);
	}
}

static void
collect_done(struct bcl *b)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(b->multi, &left)) != NULL) {
		char *priv = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		if (curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv) != CURLE_OK ||
		    priv == NULL)
			continue;
		job_done(b, (struct bcl_job *)(void *)priv, m->data.result);
	}
}

static void *
bcl_thread(void *arg)
{
	struct bcl *b = arg;

	for (;;) {
		struct bcl_job *due;
		int running = 0;

		if (!take_due(b, b->cfg.max_parallel - b->ninflight, &due))
			break;
		start_due(b, due);
		(void)curl_multi_perform(b->multi, &running);
		collect_done(b);
		(void)curl_multi_poll(b->multi, NULL, 0, (int)next_wait(b), NULL);
	}
	return NULL;
}

/* ---- lifecycle ------------------------------------------------------------------- */

static int
config_check(const struct bcl_config *c)
{
	if (c->issuer == NULL || c->issuer[0] == '\0' || c->ring == NULL || c->clients == NULL ||
	    c->keys == NULL)
		return YH_ERR_CONFIG;
	if (c->max_attempts < 1 || c->max_attempts > BCL_ATTEMPTS_MAX ||
	    c->base_delay_ms < 1 || c->base_delay_ms > 3600000 ||
	    c->connect_timeout_ms < 10 || c->connect_timeout_ms > 60000 ||
	    c->timeout_ms < 10 || c->timeout_ms > 120000 ||
	    c->max_pending < 1 || c->max_pending > 10000000 ||
	    c->max_parallel < 1 || c->max_parallel > 256)
		return YH_ERR_CONFIG;
	return 0;
}

static void
fill_defaults(struct bcl_config *c)
{
	if (c->max_attempts == 0)
		c->max_attempts = BCL_DEFAULT_ATTEMPTS;
	if (c->base_delay_ms == 0)
		c->base_delay_ms = BCL_DEFAULT_BASE_DELAY_MS;
	if (c->connect_timeout_ms == 0)
		c->connect_timeout_ms = BCL_DEFAULT_CONNECT_TIMEOUT_MS;
	if (c->timeout_ms == 0)
		c->timeout_ms = BCL_DEFAULT_TIMEOUT_MS;
	if (c->max_pending == 0)
		c->max_pending = BCL_DEFAULT_MAX_PENDING;
	if (c->max_parallel == 0)
		c->max_parallel = BCL_DEFAULT_PARALLEL;
}

static int
metrics_init(struct bcl *b)
{
	struct mx_registry *m = b->cfg.metrics;
	const char *dh = "Back-channel logout deliveries by final result.";
	const char *ah = "Back-channel logout HTTP attempts by result.";
	int r;

	if (m == NULL)
		return 0;
	if ((r = mx_counter_get(m, "yh_bcl_deliveries_total", dh, "result=\"delivered\"",
	    &b->mx_delivered)) != 0 ||
	    (r = mx_counter_get(m, "yh_bcl_deliveries_total", dh, "result=\"failed\"",
	    &b->mx_failed)) != 0 ||
	    (r = mx_counter_get(m, "yh_bcl_deliveries_total", dh, "result=\"dropped\"",
	    &b->mx_dropped)) != 0 ||
	    (r = mx_counter_get(m, "yh_bcl_attempts_total", ah, "result=\"ok\"",
	    &b->mx_att_ok)) != 0 ||
	    (r = mx_counter_get(m, "yh_bcl_attempts_total", ah, "result=\"error\"",
	    &b->mx_att_err)) != 0 ||
	    (r = mx_gauge_get(m, "yh_bcl_pending",
	    "Back-channel logout deliveries queued or in flight.", NULL, &b->mx_pending)) != 0)
		return r;
	return 0;
}

int
bcl_new(const struct bcl_config *c, struct bcl **out)
{
	struct bcl *b = NULL;
	bool curl_ref = false, sync = false;
	int r;

	*out = NULL;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return YH_ERR_ALLOC;
	b->cfg = *c;
	fill_defaults(&b->cfg);
	if ((r = config_check(&b->cfg)) != 0)
		goto out;
	if ((b->issuer = strdup(c->issuer)) == NULL) {
		r = YH_ERR_ALLOC;
		goto out;
	}
	b->cfg.issuer = b->issuer;
	if ((r = metrics_init(b)) != 0)
		goto out;
	if ((r = fed_http_global_ref()) != 0)
		goto out;
	curl_ref = true;
	if ((b->multi = curl_multi_init()) == NULL) {
		r = YH_ERR_INTERNAL;
		goto out;
	}
	(void)curl_multi_setopt(b->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
	    (long)b->cfg.max_parallel);
	/* no "Expect: 100-continue" wait on larger tokens (RSA) */
	if ((b->headers = curl_slist_append(NULL,
	    "Content-Type: application/x-www-form-urlencoded")) == NULL ||
	    curl_slist_append(b->headers, "Expect:") == NULL) {
		r = YH_ERR_ALLOC;
		goto out;
	}
	if (pthread_mutex_init(&b->lock, NULL) != 0 || pthread_cond_init(&b->idle, NULL) != 0) {
		r = YH_ERR_INTERNAL;
		goto out;
	}
	sync = true;
	if (pthread_create(&b->thread, NULL, bcl_thread, b) != 0) {
		r = YH_ERR_INTERNAL;
		goto out;
	}
	b->thread_started = true;
	*out = b;
	b = NULL;
out:
	if (b != NULL) {
		curl_slist_free_all(b->headers);
		if (b->multi != NULL)
			curl_multi_cleanup(b->multi);
		if (curl_ref)
			fed_http_global_unref();
		if (sync) {
			pthread_cond_destroy(&b->idle);
			pthread_mutex_destroy(&b->lock);
		}
		free(b->issuer);
		free(b);
	}
	return r;
}

size_t
bcl_drain(struct bcl *b, unsigned max_ms)
{
	struct timespec ts;
	size_t n;

	if (b == NULL)
		return 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += max_ms / 1000;
	ts.tv_nsec += (long)(max_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&b->lock);
	while (b->pending > 0 && !b->stopping) {
		if (pthread_cond_timedwait(&b->idle, &b->lock, &ts) == ETIMEDOUT)
			break;
	}
	n = b->pending;
	pthread_mutex_unlock(&b->lock);
	return n;
}

void
bcl_stats(struct bcl *b, struct bcl_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (b == NULL)
		return;
	pthread_mutex_lock(&b->lock);
	*out = b->stats;
	pthread_mutex_unlock(&b->lock);
}

void
bcl_free(struct bcl *b)
{
	struct bcl_job *q;

	if (b == NULL)
		return;
	if (b->thread_started) {
		pthread_mutex_lock(&b->lock);
		b->stopping = true;
		pthread_cond_broadcast(&b->idle);
		pthread_mutex_unlock(&b->lock);
		curl_multi_wakeup(b->multi);
		pthread_join(b->thread, NULL);
	}
	while (b->inflight != NULL) {
		struct bcl_job *j = b->inflight;

		inflight_unlink(b, j);
		curl_multi_remove_handle(b->multi, j->easy);
		curl_easy_cleanup(j->easy);
		j->easy = NULL;
		job_finish(b, j, BCL_DROPPED);
	}
	pthread_mutex_lock(&b->lock);
	q = b->queue;
	b->queue = NULL;
	pthread_mutex_unlock(&b->lock);
	while (q != NULL) {
		struct bcl_job *j = q;

		q = j->next;
		job_finish(b, j, BCL_DROPPED);
	}
	curl_multi_cleanup(b->multi);
	curl_slist_free_all(b->headers);
	fed_http_global_unref();
	pthread_cond_destroy(&b->idle);
	pthread_mutex_destroy(&b->lock);
	free(b->issuer);
	free(b);
}
