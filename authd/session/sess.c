/*
 * The session store's shared logic: configuration, ids and their hashes, validation,
 * events, the sweep thread, and the public calls composed from the backend ops.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>

#include "authcore/authd_config.h"
#include "common/metrics.h"
#define YH_SESS_INTERNAL
#include "authd/session/sess.h"
#include "common/b64.h"
#include "common/buf.h"
#include "common/digest.h"
#include "common/log.h"
#include "common/secmem.h"

#define PUBID_BYTES 16

/* ---- small helpers ------------------------------------------------------------------ */

/* Hex SHA-256 of n bytes into key. */
static int
hash_hex(const void *p, size_t n, char key[SESS_KEY_SIZE])
{
	unsigned char md[YH_SHA256_LEN];

	if (yh_sha256(p, n, md) != 0)
		return YH_ERR_CRYPTO;
	yh_hex_encode(md, YH_SHA256_LEN, key);
	return 0;
}

/* A new random token and its key. */
static int
token_new(char token[SESS_TOKEN_SIZE], char key[SESS_KEY_SIZE])
{
	unsigned char raw[SESS_TOKEN_BYTES];
	int rc;

	token[0] = '\0';
	if ((rc = yh_random(raw, sizeof(raw))) != 0)
		return rc;
	yh_b64url_encode(raw, sizeof(raw), token);
	rc = hash_hex(raw, sizeof(raw), key);
	yh_wipe(raw, sizeof(raw));
	if (rc != 0)
		yh_wipe(token, SESS_TOKEN_SIZE);
	return rc;
}

/* The key of a token's SESS_TOKEN_BYTES raw bytes bound to bind (see token_key_bound). */
static int
raw_key_bound(const unsigned char raw[SESS_TOKEN_BYTES], const char *bind,
    char key[SESS_KEY_SIZE])
{
	unsigned char buf[SESS_TOKEN_BYTES + SESS_BIND_MAX];
	size_t n = strnlen(bind, SESS_BIND_MAX + 1);
	int rc;

	key[0] = '\0';
	if (n > SESS_BIND_MAX)
		return YH_ERR_NOT_FOUND;
	memcpy(buf, raw, SESS_TOKEN_BYTES);
	memcpy(buf + SESS_TOKEN_BYTES, bind, n);
	rc = hash_hex(buf, SESS_TOKEN_BYTES + n, key);
	yh_wipe(buf, sizeof(buf));
	return rc;
}

/*
 * The key of a token handed back by a client, bound to bind ("" for none): hex SHA-256 of
 * the token's 32 bytes followed by bind (at most SESS_BIND_MAX bytes). Unbound keys are
 * the SHA-256 of the token alone. YH_ERR_NOT_FOUND when the token is malformed.
 */
static int
token_key_bound(const char *token, const char *bind, char key[SESS_KEY_SIZE])
{
	unsigned char raw[SESS_TOKEN_BYTES];
	size_t len = 0;
	int rc = YH_ERR_NOT_FOUND;

	key[0] = '\0';
	if (token == NULL || strnlen(token, SESS_TOKEN_SIZE) != SESS_TOKEN_SIZE - 1)
		return YH_ERR_NOT_FOUND;
	if (yh_b64url_decode(token, SESS_TOKEN_SIZE - 1, raw, sizeof(raw), &len) == 0 &&
	    len == SESS_TOKEN_BYTES)
		rc = raw_key_bound(raw, bind, key);
	yh_wipe(raw, sizeof(raw));
	return rc;
}

/* The key of a token handed back by a client; YH_ERR_NOT_FOUND when malformed. */
static int
token_key(const char *token, char key[SESS_KEY_SIZE])
{
	return token_key_bound(token, "", key);
}

static int
pubid_new(char id[SESS_PUBID_SIZE])
{
	unsigned char raw[PUBID_BYTES];
	int rc;

	id[0] = '\0';
	if ((rc = yh_random(raw, sizeof(raw))) != 0)
		return rc;
	yh_b64url_encode(raw, sizeof(raw), id);
	return 0;
}

int
sess_family_id_new(char id[SESS_PUBID_SIZE])
{
	return pubid_new(id);
}

/* The key of a counter or lock name. */
static int
name_key(const char *name, char key[SESS_KEY_SIZE])
{
	key[0] = '\0';
	if (!sess_str_ok(name, SESS_NAME_MAX))
		return YH_ERR_INVALID;
	return hash_hex(name, strlen(name), key);
}

static int
auth_check(const struct sess_auth *a)
{
	if (a == NULL || !sess_str_ok(a->uid, SESS_UID_MAX) || a->loa < 0 || a->loa > 4 ||
	    a->namr > SESS_AMR_MAX || (a->namr > 0 && a->amr == NULL) || a->auth_time < 0)
		return YH_ERR_INVALID;
	for (size_t i = 0; i < a->namr; i++)
		if (!sess_amr_ok(a->amr[i]))
			return YH_ERR_INVALID;
	if (a->addr != NULL && strnlen(a->addr, SESS_ADDR_MAX + 1) > SESS_ADDR_MAX)
		return YH_ERR_INVALID;
	return 0;
}

/* Adds the amr values of a to rec (a set; the cap drops extras). */
static void
amr_merge(struct sess_info *rec, const struct sess_auth *a)
{
	for (size_t i = 0; i < a->namr; i++) {
		bool have = false;

		for (size_t j = 0; j < rec->namr; j++)
			if (strcmp(rec->amr[j], a->amr[i]) == 0)
				have = true;
		if (!have && rec->namr < SESS_AMR_MAX)
			sess_copy_cut(rec->amr[rec->namr++], SESS_AMR_LEN, a->amr[i]);
	}
}

/* ---- events ------------------------------------------------------------------------ */

static void
emit(struct sess_store *s, enum sess_event_type type, enum sess_reason why,
    const struct sess_info *rec, const char *new_key, const struct sess_cas_list *cas)
{
	struct sess_event ev = {
		.type = type, .reason = why, .key = rec->key, .new_key = new_key,
		.sid = rec->sid, .uid = rec->uid, .origin = true, .info = rec,
		.cas = cas != NULL && cas->n > 0 ? cas : NULL,
	};

	if (type == SESS_EV_ENDED && why >= SESS_END_LOGOUT && why <= SESS_END_EVICTED) {
		mx_counter_add(s->mx.ended[why], 1);
		mx_gauge_add(s->mx.active, -1);
	} else if (type == SESS_EV_CHANGED) {
		mx_counter_add(s->mx.reauth, 1);
	}
	if (s->cfg.on_event != NULL)
		s->cfg.on_event(s->cfg.event_ctx, &ev);
	if (s->ops->publish != NULL)
		s->ops->publish(s, &ev);
}

/* ---- open / close / sweep ------------------------------------------------------------- */

void
sess_config_defaults(struct sess_config *c)
{
	const struct authd_cfg *d = authd_cfg_builtin();

	memset(c, 0, sizeof(*c));
	c->backend = SESS_BACKEND_MEMORY;
	c->idle_timeout_s = d->session_idle;
	c->absolute_timeout_s = d->session_absolute;
	c->max_per_user = 32;
	c->sweep_interval_ms = 30000;
	c->max_entries = 1000000;
	c->shards = 16;
	c->redis_host = d->redis_host;
	c->redis_port = (int)d->redis_port;
	c->redis_db = (int)d->redis_db;
	c->prefix = d->redis_prefix;
	c->redis_sentinels = d->redis_sentinels;
	c->redis_master = d->redis_master;
	c->redis_timeout_ms = 500;
	c->redis_pool = 4;
	c->redis_grace_s = 120;
}

/* True when v is within the bounds of authd's option name. */
static bool
opt_int_ok(const char *name, int64_t v)
{
	return yh_cfg_int_ok(authd_cfg_opt(name), v);
}

/* True when s is a value of authd's string option name, without control bytes. */
static bool
opt_text_ok(const char *name, const char *s)
{
	const struct yh_cfg_opt *o = authd_cfg_opt(name);

	return yh_cfg_str_ok(o, s) && sess_str_ok(s, (size_t)o->max);
}

static int
config_check(const struct sess_config *c)
{
	if (!opt_int_ok("session.idle_timeout", c->idle_timeout_s) ||
	    !opt_int_ok("session.absolute_timeout", c->absolute_timeout_s) ||
	    c->max_per_user < 1 || c->max_per_user > SESS_LIST_MAX || c->sweep_interval_ms < 0)
		return YH_ERR_CONFIG;
	if (c->backend == SESS_BACKEND_MEMORY)
		return (c->shards >= 1 && c->shards <= 1024 && c->max_entries >= c->shards) ?
		    0 : YH_ERR_CONFIG;
	if (c->backend != SESS_BACKEND_REDIS)
		return YH_ERR_CONFIG;
	/* The prefix also fits the store's own key buffers (sess_prefix_ok). */
	if (!opt_text_ok("session.redis_host", c->redis_host) ||
	    !opt_int_ok("session.redis_port", c->redis_port) ||
	    !opt_text_ok("session.redis_prefix", c->prefix) || !sess_prefix_ok(c->prefix) ||
	    !opt_int_ok("session.redis_db", c->redis_db) ||
	    (c->redis_password != NULL &&
	    !opt_text_ok("session.redis_password", c->redis_password)) ||
	    c->redis_timeout_ms < 10 || c->redis_timeout_ms > 60000 ||
	    c->redis_pool < 1 || c->redis_pool > 64 || c->redis_grace_s < 0 ||
	    (c->redis_sentinels == NULL) != (c->redis_master == NULL) ||
	    (c->redis_sentinels != NULL &&
	    (!opt_text_ok("session.redis_sentinels", c->redis_sentinels) ||
	    !opt_text_ok("session.redis_master", c->redis_master))))
		return YH_ERR_CONFIG;
	return 0;
}

static void *
sweeper_main(void *arg)
{
	struct sess_store *s = arg;

	pthread_mutex_lock(&s->stop_lock);
	while (!s->stopping) {
		struct timespec ts;
		int64_t ms = s->cfg.sweep_interval_ms;
		size_t n;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += ms / 1000;
		ts.tv_nsec += (ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (pthread_cond_timedwait(&s->stop_cond, &s->stop_lock, &ts) != ETIMEDOUT)
			continue;
		pthread_mutex_unlock(&s->stop_lock);
		if (sess_sweep(s, &n) == 0 && n > 0)
			yh_debug("session sweep ended %zu expired sessions", n);
		pthread_mutex_lock(&s->stop_lock);
	}
	pthread_mutex_unlock(&s->stop_lock);
	return NULL;
}

static int
dup_opt(const char *src, char **dst)
{
	*dst = NULL;
	if (src == NULL)
		return 0;
	return (*dst = strdup(src)) == NULL ? YH_ERR_ALLOC : 0;
}

/* yh_session_store_records, read at each rendering. */
static int
records_read(void *ctx, double *v)
{
	size_t n = 0;
	int rc = sess_mem_records(ctx, &n);

	*v = (double)n;
	return rc;
}

/* The store's series in cfg.metrics (none without a registry). */
static int
metrics_setup(struct sess_store *s)
{
	static const char *const reasons[] = {
		[SESS_END_LOGOUT] = "logout", [SESS_END_EXPIRED] = "expired",
		[SESS_END_USER] = "user", [SESS_END_ADMIN] = "admin",
		[SESS_END_EVICTED] = "evicted",
	};
	struct mx_registry *m = s->cfg.metrics;
	char label[32];
	int rc;

	if (m == NULL)
		return 0;
	if ((rc = mx_counter_get(m, "yh_sessions_created_total", "login sessions created by "
	    "this process", NULL, &s->mx.created)) != 0 ||
	    (rc = mx_counter_get(m, "yh_sessions_reauth_total", "sessions re-authenticated "
	    "(step-up, new id) by this process", NULL, &s->mx.reauth)) != 0)
		return rc;
	for (int r = SESS_END_LOGOUT; r <= SESS_END_EVICTED; r++) {
		snprintf(label, sizeof(label), "reason=\"%s\"", reasons[r]);
		if ((rc = mx_counter_get(m, "yh_sessions_ended_total", "sessions ended by this "
		    "process, by reason", label, &s->mx.ended[r])) != 0)
			return rc;
	}
	/* Only the memory backend knows the live count; Redis is shared by many processes. */
	if (s->cfg.backend == SESS_BACKEND_MEMORY &&
	    ((rc = mx_gauge_get(m, "yh_sessions_active", "login sessions held in memory",
	    NULL, &s->mx.active)) != 0 ||
	    (rc = mx_gauge_fn_add(m, "yh_session_store_records", "records the memory session "
	    "store holds: sessions, codes, flows, refresh families and tokens, indexes, "
	    "counters, locks, denylist entries", NULL, records_read, s)) != 0))
		return rc;
	return 0;
}

int
sess_open(const struct sess_config *c, struct sess_store **out)
{
	struct sess_store *s = NULL;
	int rc;

	*out = NULL;
	if ((rc = config_check(c)) != 0)
		return rc;
	if (sess_backend_ops(c->backend) == NULL)
		return YH_ERR_CONFIG;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return YH_ERR_ALLOC;
	s->cfg = *c;
	atomic_init(&s->idle_s, c->idle_timeout_s);
	atomic_init(&s->absolute_s, c->absolute_timeout_s);
	pthread_mutex_init(&s->stop_lock, NULL);
	pthread_cond_init(&s->stop_cond, NULL);
	s->ops = sess_backend_ops(c->backend);
	if ((rc = dup_opt(c->redis_host, &s->host)) != 0 ||
	    (rc = dup_opt(c->redis_password, &s->password)) != 0 ||
	    (rc = dup_opt(c->prefix, &s->prefix)) != 0 ||
	    (rc = dup_opt(c->redis_sentinels, &s->sentinels)) != 0 ||
	    (rc = dup_opt(c->redis_master, &s->master)) != 0 || (rc = pubid_new(s->node)) != 0)
		goto out;
	s->cfg.redis_sentinels = s->sentinels;
	s->cfg.redis_master = s->master;
	s->cfg.redis_host = s->host;
	s->cfg.redis_password = s->password;
	s->cfg.prefix = s->prefix;
	if ((rc = metrics_setup(s)) != 0 || (rc = s->ops->open(s)) != 0)
		goto out;
	if (c->sweep_interval_ms > 0) {
		if (pthread_create(&s->sweeper, NULL, sweeper_main, s) != 0) {
			rc = YH_ERR_INTERNAL;
			goto out;
		}
		s->sweeper_running = true;
	}
	*out = s;
	s = NULL;
out:
	sess_close(s);
	return rc;
}

int
sess_mem_records(struct sess_store *s, size_t *n)
{
	*n = 0;
	if (s->ops->count == NULL)
		return YH_ERR_UNSUPPORTED;
	*n = s->ops->count(s);
	return 0;
}

void
sess_close(struct sess_store *s)
{
	if (s == NULL)
		return;
	if (s->sweeper_running) {
		pthread_mutex_lock(&s->stop_lock);
		s->stopping = true;
		pthread_cond_broadcast(&s->stop_cond);
		pthread_mutex_unlock(&s->stop_lock);
		pthread_join(s->sweeper, NULL);
	}
	if (s->be != NULL)
		s->ops->close(s);
	pthread_mutex_destroy(&s->stop_lock);
	pthread_cond_destroy(&s->stop_cond);
	yh_strfree_secret(s->password);
	free(s->host);
	free(s->sentinels);
	free(s->master);
	free(s->prefix);
	free(s);
}

int
sess_set_timeouts(struct sess_store *s, int64_t idle_s, int64_t absolute_s)
{
	if (!opt_int_ok("session.idle_timeout", idle_s) ||
	    !opt_int_ok("session.absolute_timeout", absolute_s))
		return YH_ERR_INVALID;
	atomic_store(&s->idle_s, idle_s);
	atomic_store(&s->absolute_s, absolute_s);
	return 0;
}

int
sess_check(void *ctx, char *reason, size_t reasonsz)
{
	struct sess_store *s = ctx;
	int rc = s->ops->ping(s);

	if (reasonsz > 0)
		snprintf(reason, reasonsz, "%s", rc == 0 ? "ok" : yh_strerror(rc));
	return rc;
}

/* Ends an expired session if it still is (exactly one caller wins), with its event. */
/* Frees the CAS tickets of an ended session, wiping their values. NULL is fine. */
static void
cas_list_free(struct sess_cas_list *cas)
{
	if (cas != NULL)
		yh_freezero(cas, sizeof(*cas) + cas->n * sizeof(cas->e[0]));
}

static int
claim_expired(struct sess_store *s, const char *key, int64_t now)
{
	struct sess_info rec;
	struct sess_cas_list *cas = NULL;
	int rc;

	if ((rc = s->ops->s_take(s, key, true, now, &rec, &cas)) != 0)
		return rc;
	s->ops->s_user_unlink(s, rec.uid, rec.key);
	emit(s, SESS_EV_ENDED, SESS_END_EXPIRED, &rec, NULL, cas);
	cas_list_free(cas);
	return 0;
}

/* Records a sweep must have freed for it to return free memory to the system. */
#define SESS_TRIM_AFTER 1024

int
sess_sweep(struct sess_store *s, size_t *n)
{
	char (*keys)[SESS_KEY_SIZE] = NULL;
	size_t got = 0, ended = 0, held = 0;
	int64_t now = sess_now(s);
	int rc = 0;

	if (n != NULL)
		*n = 0;
	if ((keys = calloc(SESS_SWEEP_BATCH, sizeof(*keys))) == NULL)
		return YH_ERR_ALLOC;
	if (s->ops->count != NULL)
		held = s->ops->count(s);
	if (s->ops->purge != NULL)
		s->ops->purge(s, now);
	for (int round = 0; round < 64; round++) {
		if ((rc = s->ops->s_expired_keys(s, now, keys, SESS_SWEEP_BATCH, &got)) != 0)
			break;
		for (size_t i = 0; i < got; i++) {
			int r = claim_expired(s, keys[i], now);

			if (r == 0)
				ended++;
			else if (r == YH_ERR_UNAVAILABLE) {
				rc = r;
				break;
			}
		}
		if (rc != 0 || got < SESS_SWEEP_BATCH)
			break;
	}
	free(keys);
	/* Records are small and made by many HTTP threads, each allocating from its own
	 * malloc arena: freed by the thousand after a busy spell they stay in those arenas
	 * and the process keeps its peak size. Hand the free pages back. */
	if (s->ops->count != NULL && held >= s->ops->count(s) + SESS_TRIM_AFTER)
		malloc_trim(0);
	if (n != NULL)
		*n = ended;
	return rc;
}

/* ---- sessions ------------------------------------------------------------------------- */

static int
cmp_created(const void *a, const void *b)
{
	const struct sess_info *x = a, *y = b;

	if (x->created_ms != y->created_ms)
		return x->created_ms < y->created_ms ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* Reads the user's sessions into a malloc'd array (all of them, up to the index cap),
 * dropping stale index entries and ending expired ones. */
static int
user_sessions(struct sess_store *s, const char *uid, struct sess_info **out, size_t *n)
{
	char (*keys)[SESS_KEY_SIZE] = NULL;
	struct sess_info *v = NULL;
	size_t nkeys = 0, cnt = 0;
	int64_t now = sess_now(s);
	int rc;

	*out = NULL;
	*n = 0;
	if (!sess_str_ok(uid, SESS_UID_MAX))
		return YH_ERR_INVALID;
	if ((keys = calloc(SESS_USER_KEYS_MAX, sizeof(*keys))) == NULL)
		return YH_ERR_ALLOC;
	if ((rc = s->ops->s_user_keys(s, uid, keys, SESS_USER_KEYS_MAX, &nkeys)) != 0)
		goto out;
	if (nkeys > 0 && (v = calloc(nkeys, sizeof(*v))) == NULL) {
		rc = YH_ERR_ALLOC;
		goto out;
	}
	for (size_t i = 0; i < nkeys; i++) {
		int r = s->ops->s_get(s, keys[i], false, now, &v[cnt]);

		if (r == 0 && strcmp(v[cnt].uid, uid) == 0) {
			cnt++;
		} else if (r == 0) {
			/* another user's session: Redis's user index shares a shard and a short
			 * tag between users, and the entry is that user's */
		} else if (r == YH_ERR_EXPIRED) {
			(void)claim_expired(s, keys[i], now);
		} else if (r == YH_ERR_NOT_FOUND) {
			s->ops->s_user_unlink(s, uid, keys[i]);
		} else {
			rc = r;
			goto out;
		}
	}
	if (cnt > 0)
		qsort(v, cnt, sizeof(*v), cmp_created);
	*out = v;
	*n = cnt;
	v = NULL;
out:
	free(v);
	free(keys);
	return rc;
}

/* Ends the oldest sessions of uid beyond max_per_user. */
static void
evict_excess(struct sess_store *s, const char *uid)
{
	struct sess_info *v = NULL;
	size_t n = 0;

	if (user_sessions(s, uid, &v, &n) != 0)
		return;
	for (size_t i = 0; n > s->cfg.max_per_user && i < n - s->cfg.max_per_user; i++)
		if (sess_end(s, v[i].key, SESS_END_EVICTED, NULL) != 0)
			yh_debug("evicting an old session failed (it may have ended already)");
	free(v);
}

int
sess_create(struct sess_store *s, const struct sess_auth *a, char token[SESS_TOKEN_SIZE],
    struct sess_info *out)
{
	struct sess_info *rec = NULL;
	char (*keys)[SESS_KEY_SIZE] = NULL;
	size_t nkeys = 0;
	int64_t now = sess_now(s);
	int rc;

	token[0] = '\0';
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if ((rc = auth_check(a)) != 0)
		return rc;
	if ((rec = calloc(1, sizeof(*rec))) == NULL)
		return YH_ERR_ALLOC;
	if ((rc = token_new(token, rec->key)) != 0 || (rc = pubid_new(rec->sid)) != 0)
		goto out;
	sess_copy_cut(rec->uid, sizeof(rec->uid), a->uid);
	rec->created_ms = rec->seen_ms = now;
	rec->idle_ms = atomic_load(&s->idle_s) * 1000;
	rec->aexp_ms = now + atomic_load(&s->absolute_s) * 1000;
	rec->expires_ms = sess_rec_expiry(now, rec->idle_ms, rec->aexp_ms);
	rec->auth_time = a->auth_time != 0 ? a->auth_time : now / 1000;
	rec->loa = a->loa;
	amr_merge(rec, a);
	sess_copy_cut(rec->ua, sizeof(rec->ua), a->ua);
	sess_copy_cut(rec->addr, sizeof(rec->addr), a->addr);
	if ((rc = s->ops->s_put(s, rec)) != 0)
		goto out;
	/* The per-user cap: only read the sessions when the index says there may be too many. */
	if ((keys = calloc(SESS_USER_KEYS_MAX, sizeof(*keys))) != NULL &&
	    s->ops->s_user_keys(s, a->uid, keys, SESS_USER_KEYS_MAX, &nkeys) == 0 &&
	    nkeys > s->cfg.max_per_user)
		evict_excess(s, a->uid);
	mx_counter_add(s->mx.created, 1);
	mx_gauge_add(s->mx.active, 1);
	if (out != NULL)
		*out = *rec;
out:
	if (rc != 0)
		yh_wipe(token, SESS_TOKEN_SIZE);
	free(keys);
	free(rec);
	return rc;
}

/* Looks up by key, ending it when found expired. */
static int
get_key(struct sess_store *s, const char *key, bool touch, struct sess_info *out)
{
	int64_t now = sess_now(s);
	int rc = s->ops->s_get(s, key, touch, now, out);

	if (rc == YH_ERR_EXPIRED) {
		int r = claim_expired(s, key, now);

		if (r == YH_ERR_UNAVAILABLE)
			rc = r;
	}
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

int
sess_get(struct sess_store *s, const char *token, unsigned flags, struct sess_info *out)
{
	char key[SESS_KEY_SIZE];
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = token_key(token, key)) != 0)
		return rc;
	return get_key(s, key, (flags & SESS_TOUCH) != 0, out);
}

int
sess_reauth(struct sess_store *s, const char *old_token, const struct sess_auth *a,
    char token[SESS_TOKEN_SIZE], struct sess_info *out)
{
	struct sess_info *rec = NULL;
	char old_key[SESS_KEY_SIZE];
	int64_t now = sess_now(s);
	int rc;

	token[0] = '\0';
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if ((rc = auth_check(a)) != 0)
		return rc;
	if ((rc = token_key(old_token, old_key)) != 0)
		return rc;
	if ((rec = calloc(1, sizeof(*rec))) == NULL)
		return YH_ERR_ALLOC;
	if ((rc = get_key(s, old_key, false, rec)) != 0)
		goto out;
	if (strcmp(rec->uid, a->uid) != 0) {
		rc = YH_ERR_DENIED;
		goto out;
	}
	if ((rc = token_new(token, rec->key)) != 0)
		goto out;
	rec->seen_ms = now;
	rec->expires_ms = sess_rec_expiry(now, rec->idle_ms, rec->aexp_ms);
	rec->auth_time = a->auth_time != 0 ? a->auth_time : now / 1000;
	if (a->replace) {
		rec->loa = a->loa;
		rec->namr = 0;
		memset(rec->amr, 0, sizeof(rec->amr));
	} else if (a->loa > rec->loa) {
		rec->loa = a->loa;
	}
	amr_merge(rec, a);
	if ((rc = s->ops->s_rotate(s, old_key, rec)) != 0)
		goto out;
	{
		/* the event names the session by its old key; new_key is the new one */
		char new_key[SESS_KEY_SIZE];

		memcpy(new_key, rec->key, sizeof(new_key));
		memcpy(rec->key, old_key, sizeof(rec->key));
		emit(s, SESS_EV_CHANGED, SESS_CHANGED_ROTATED, rec, new_key, NULL);
		memcpy(rec->key, new_key, sizeof(rec->key));
	}
	if (out != NULL)
		*out = *rec;
out:
	if (rc != 0)
		yh_wipe(token, SESS_TOKEN_SIZE);
	free(rec);
	return rc;
}

int
sess_add_client(struct sess_store *s, const char *key, const char *client_id)
{
	if (!sess_key_ok(key))
		return YH_ERR_NOT_FOUND;
	if (!sess_str_ok(client_id, SESS_CLIENT_MAX))
		return YH_ERR_INVALID;
	return s->ops->s_add_client(s, key, client_id);
}

int
sess_add_cas_ticket(struct sess_store *s, const char *key, const char *ticket,
    const char *client_id, const char *service)
{
	struct sess_cas_entry *e;
	int rc;

	if (!sess_key_ok(key))
		return YH_ERR_NOT_FOUND;
	if (ticket == NULL || strncmp(ticket, SESS_TICKET_PREFIX, 3) != 0 ||
	    !sess_str_ok(ticket, SESS_TICKET_SIZE - 1) || strchr(ticket, ' ') != NULL ||
	    !sess_str_ok(client_id, SESS_CLIENT_MAX) || !sess_str_ok(service, SESS_SERVICE_MAX))
		return YH_ERR_INVALID;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return YH_ERR_ALLOC;
	memcpy(e->ticket, ticket, strlen(ticket) + 1);
	memcpy(e->client_id, client_id, strlen(client_id) + 1);
	memcpy(e->service, service, strlen(service) + 1);
	rc = s->ops->s_add_cas(s, key, e);
	yh_freezero(e, sizeof(*e));
	return rc;
}

int
sess_end(struct sess_store *s, const char *key, enum sess_reason why, struct sess_info *ended)
{
	struct sess_info *rec;
	struct sess_cas_list *cas = NULL;
	int rc;

	if (ended != NULL)
		memset(ended, 0, sizeof(*ended));
	if (!sess_key_ok(key))
		return YH_ERR_NOT_FOUND;
	if ((rec = calloc(1, sizeof(*rec))) == NULL)
		return YH_ERR_ALLOC;
	if ((rc = s->ops->s_take(s, key, false, sess_now(s), rec, &cas)) == 0) {
		s->ops->s_user_unlink(s, rec->uid, rec->key);
		emit(s, SESS_EV_ENDED, why, rec, NULL, cas);
		if (ended != NULL)
			*ended = *rec;
	}
	cas_list_free(cas);
	free(rec);
	return rc;
}

int
sess_end_token(struct sess_store *s, const char *token, enum sess_reason why,
    struct sess_info *ended)
{
	char key[SESS_KEY_SIZE];
	int rc;

	if (ended != NULL)
		memset(ended, 0, sizeof(*ended));
	if ((rc = token_key(token, key)) != 0)
		return rc;
	return sess_end(s, key, why, ended);
}

int
sess_list_user(struct sess_store *s, const char *uid, struct sess_info **out, size_t *n)
{
	int rc = user_sessions(s, uid, out, n);

	if (rc == 0 && *n > SESS_LIST_MAX) {
		/* keep the newest SESS_LIST_MAX, oldest first */
		memmove(*out, *out + (*n - SESS_LIST_MAX), SESS_LIST_MAX * sizeof(**out));
		*n = SESS_LIST_MAX;
	}
	return rc;
}

int
sess_end_sid(struct sess_store *s, const char *uid, const char *sid, enum sess_reason why,
    struct sess_info *ended)
{
	struct sess_info *v = NULL;
	size_t n = 0;
	int rc;

	if (ended != NULL)
		memset(ended, 0, sizeof(*ended));
	if (!sess_pubid_ok(sid))
		return YH_ERR_NOT_FOUND;
	if ((rc = user_sessions(s, uid, &v, &n)) != 0)
		return rc;
	rc = YH_ERR_NOT_FOUND;
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].sid, sid) == 0) {
			rc = sess_end(s, v[i].key, why, ended);
			break;
		}
	free(v);
	return rc;
}

int
sess_end_user(struct sess_store *s, const char *uid, enum sess_reason why,
    struct sess_info **ended, size_t *n)
{
	struct sess_info *v = NULL;
	size_t cnt = 0, done = 0;
	int rc;

	if (ended != NULL)
		*ended = NULL;
	if (n != NULL)
		*n = 0;
	if ((rc = user_sessions(s, uid, &v, &cnt)) != 0)
		return rc;
	for (size_t i = 0; i < cnt; i++) {
		char key[SESS_KEY_SIZE];
		int r;

		memcpy(key, v[i].key, sizeof(key));
		r = sess_end(s, key, why, &v[done]);

		if (r == 0)
			done++;
		else if (r != YH_ERR_NOT_FOUND)
			rc = r;
	}
	if (ended != NULL && done > 0) {
		*ended = v;
		v = NULL;
	}
	if (n != NULL)
		*n = done;
	free(v);
	return rc;
}

/* ---- codes ---------------------------------------------------------------------------- */

static int
payload_check(const char *payload)
{
	if (payload == NULL)
		return YH_ERR_INVALID;
	return strnlen(payload, SESS_PAYLOAD_MAX + 1) > SESS_PAYLOAD_MAX ? YH_ERR_TOO_LONG : 0;
}

/* Stores payload for ttl_s seconds under a new random token (written to token) whose
 * key is bound to bind: the single-use records of codes and pushed requests. */
static int
bound_new(struct sess_store *s, const char *bind, const char *payload, int64_t ttl_s,
    char token[SESS_TOKEN_SIZE])
{
	char key[SESS_KEY_SIZE];
	int rc;

	if ((rc = token_new(token, key)) != 0 || (rc = token_key_bound(token, bind, key)) != 0 ||
	    (rc = s->ops->code_put(s, key, payload, ttl_s * 1000)) != 0)
		yh_wipe(token, SESS_TOKEN_SIZE);
	return rc;
}

int
sess_code_new(struct sess_store *s, const char *client_id, const char *payload,
    int64_t ttl_s, char code[SESS_TOKEN_SIZE])
{
	int rc;

	code[0] = '\0';
	if ((rc = payload_check(payload)) != 0)
		return rc;
	if (!opt_int_ok("token.code_lifetime", ttl_s) || !sess_str_ok(client_id, SESS_CLIENT_MAX))
		return YH_ERR_INVALID;
	return bound_new(s, client_id, payload, ttl_s, code);
}

int
sess_code_take(struct sess_store *s, const char *client_id, const char *code,
    const char *issued, char **payload, char **prev_issued)
{
	char key[SESS_KEY_SIZE];
	char *prev = NULL;
	int rc;

	*payload = NULL;
	if (prev_issued != NULL)
		*prev_issued = NULL;
	if (issued != NULL && strnlen(issued, SESS_NAME_MAX) >= SESS_NAME_MAX)
		return YH_ERR_INVALID;
	if (!sess_str_ok(client_id, SESS_CLIENT_MAX))
		return YH_ERR_INVALID;
	if ((rc = token_key_bound(code, client_id, key)) != 0)
		return rc;
	rc = s->ops->code_take(s, key, issued != NULL ? issued : "", payload, &prev);
	if (rc == YH_ERR_REPLAY && prev_issued != NULL) {
		*prev_issued = prev;
		prev = NULL;
	}
	free(prev);
	return rc;
}

/* ---- pushed authorization requests ------------------------------------------------------- */

/* What a pushed request's key is bound to: a control byte (never in a client id, so no
 * request_uri is a code and no code a request_uri), "par:", and the client id. */
static int
par_bind(const char *client_id, char bind[SESS_BIND_MAX + 1])
{
	if (!sess_str_ok(client_id, SESS_CLIENT_MAX))
		return YH_ERR_INVALID;
	snprintf(bind, SESS_BIND_MAX + 1, "\x1f" "par:%s", client_id);
	return 0;
}

int
sess_par_new(struct sess_store *s, const char *client_id, const char *payload,
    int64_t ttl_s, char token[SESS_TOKEN_SIZE])
{
	char bind[SESS_BIND_MAX + 1];
	int rc;

	token[0] = '\0';
	if ((rc = payload_check(payload)) != 0)
		return rc;
	if (ttl_s < 1 || ttl_s > SESS_PAR_TTL_MAX || par_bind(client_id, bind) != 0)
		return YH_ERR_INVALID;
	return bound_new(s, bind, payload, ttl_s, token);
}

int
sess_par_take(struct sess_store *s, const char *client_id, const char *token,
    char **payload)
{
	char bind[SESS_BIND_MAX + 1], key[SESS_KEY_SIZE];
	char *prev = NULL;
	int rc;

	*payload = NULL;
	if ((rc = par_bind(client_id, bind)) != 0 || (rc = token_key_bound(token, bind, key)) != 0)
		return rc;
	rc = s->ops->code_take(s, key, "", payload, &prev);
	free(prev);
	if (rc == YH_ERR_REPLAY) {
		free(*payload);
		*payload = NULL;
		rc = YH_ERR_NOT_FOUND;
	}
	return rc;
}

/* ---- short one-time codes ----------------------------------------------------------------- */

/* The key of a short code: hex SHA-256 of a record separator, "otc", the code, a NUL and
 * bind, so that no short code's key is a code's, a ticket's or a pushed request's. */
static int
otc_key(const char *code, const char *bind, char key[SESS_KEY_SIZE])
{
	unsigned char buf[4 + SESS_OTC_MAX + 1 + SESS_NAME_MAX];
	size_t cn, bn;
	int rc;

	key[0] = '\0';
	if (code == NULL || bind == NULL || (cn = strnlen(code, SESS_OTC_MAX + 1)) == 0 ||
	    cn > SESS_OTC_MAX || (bn = strnlen(bind, SESS_NAME_MAX + 1)) == 0 ||
	    bn > SESS_NAME_MAX)
		return YH_ERR_INVALID;
	memcpy(buf, "\x1e" "otc", 4);
	memcpy(buf + 4, code, cn);
	buf[4 + cn] = '\0';
	memcpy(buf + 5 + cn, bind, bn);
	rc = hash_hex(buf, 5 + cn + bn, key);
	yh_wipe(buf, sizeof(buf));
	return rc;
}

int
sess_otc_put(struct sess_store *s, const char *code, const char *bind, const char *payload,
    int64_t ttl_s)
{
	char key[SESS_KEY_SIZE];
	int rc;

	if ((rc = payload_check(payload)) != 0)
		return rc;
	if (ttl_s < 1 || ttl_s > SESS_OTC_TTL_MAX)
		return YH_ERR_INVALID;
	if ((rc = otc_key(code, bind, key)) != 0)
		return rc;
	return s->ops->code_put(s, key, payload, ttl_s * 1000);
}

int
sess_otc_take(struct sess_store *s, const char *code, const char *bind, char **payload)
{
	char key[SESS_KEY_SIZE];
	char *prev = NULL;
	int rc;

	*payload = NULL;
	if ((rc = otc_key(code, bind, key)) != 0)
		return rc == YH_ERR_INVALID ? YH_ERR_NOT_FOUND : rc;
	rc = s->ops->code_take(s, key, "", payload, &prev);
	free(prev);
	return rc;
}

/* ---- flows ------------------------------------------------------------------------------ */

/* What a flow's key is bound to: a control byte and "flow:" (never a code's client id,
 * a pushed request's or a ticket's binding), then the caller's bind. */
static int
flow_bind(const char *bind, char out[SESS_BIND_MAX + 1])
{
	if (!sess_str_ok(bind, SESS_BIND_MAX - 6))
		return YH_ERR_INVALID;
	snprintf(out, SESS_BIND_MAX + 1, "\x1e" "flow:%s", bind);
	return 0;
}

int
sess_flow_key(const char *bind, const char *token, char key[SESS_KEY_SIZE])
{
	char b[SESS_BIND_MAX + 1];
	int rc;

	key[0] = '\0';
	if ((rc = flow_bind(bind, b)) != 0)
		return rc;
	return token_key_bound(token, b, key);
}

int
sess_flow_name_key(const char *bind, const char *name, char key[SESS_KEY_SIZE])
{
	char b[SESS_BIND_MAX + 1];
	struct yh_buf buf;
	int rc;

	key[0] = '\0';
	if (!sess_str_ok(name, SESS_FLOW_NAME_MAX) || (rc = flow_bind(bind, b)) != 0)
		return YH_ERR_INVALID;
	yh_buf_init(&buf, 2 * SESS_BIND_MAX + SESS_FLOW_NAME_MAX);
	if ((rc = yh_buf_puts(&buf, "\x1d" "name:")) == 0 && (rc = yh_buf_puts(&buf, b)) == 0 &&
	    (rc = yh_buf_putc(&buf, '\0')) == 0 && (rc = yh_buf_puts(&buf, name)) == 0)
		rc = hash_hex(buf.data, buf.len, key);
	yh_buf_free(&buf);
	return rc;
}

int
sess_flow_new(struct sess_store *s, const char *bind, const char *payload,
    int64_t ttl_s, char token[SESS_TOKEN_SIZE], char *key)
{
	char k[SESS_KEY_SIZE];
	int rc;

	token[0] = '\0';
	if ((rc = payload_check(payload)) != 0)
		return rc;
	if (ttl_s < 1 || ttl_s > SESS_FLOW_TTL_MAX)
		return YH_ERR_INVALID;
	if ((rc = token_new(token, k)) != 0 || (rc = sess_flow_key(bind, token, k)) != 0 ||
	    (rc = s->ops->flow_put(s, k, payload, ttl_s * 1000)) != 0) {
		yh_wipe(token, SESS_TOKEN_SIZE);
		return rc;
	}
	if (key != NULL)
		memcpy(key, k, SESS_KEY_SIZE);
	return 0;
}

int
sess_flow_put(struct sess_store *s, const char *key, const char *payload, int64_t ttl_s)
{
	int rc;

	if ((rc = payload_check(payload)) != 0)
		return rc;
	if (!sess_key_ok(key) || ttl_s < 1 || ttl_s > SESS_FLOW_NAMED_TTL_MAX)
		return YH_ERR_INVALID;
	return s->ops->flow_put(s, key, payload, ttl_s * 1000);
}

int
sess_flow_get(struct sess_store *s, const char *key, char **payload)
{
	*payload = NULL;
	if (!sess_key_ok(key))
		return YH_ERR_NOT_FOUND;
	return s->ops->flow_get(s, key, payload);
}

int
sess_flow_swap(struct sess_store *s, const char *key, const char *expect,
    const char *payload)
{
	int rc;

	if ((rc = payload_check(payload)) != 0 || (rc = payload_check(expect)) != 0)
		return rc;
	if (!sess_key_ok(key))
		return YH_ERR_NOT_FOUND;
	return s->ops->flow_swap(s, key, expect, payload);
}

/* ---- CAS service tickets ---------------------------------------------------------------- */

/* Each kind's prefix and what its key is bound to: a control byte, which sess_str_ok
 * refuses in a client id, so that a ticket's key is never a code's, and the kind, so
 * that it is never a ticket of another kind. */
static const struct {
	const char *prefix, *bind;
} cas_kinds[] = {
	[SESS_CAS_ST] = { SESS_TICKET_PREFIX, "\x1f" "cas-st" },
	[SESS_CAS_PT] = { "PT-", "\x1f" "cas-pt" },
	[SESS_CAS_PGT] = { "PGT-", "\x1f" "cas-pgt" },
};

/* The bounds of a ticket's lifetime by kind (sess.h). */
static bool
cas_ttl_ok(enum sess_cas_kind k, int64_t ttl_s)
{
	if (k == SESS_CAS_PGT)
		return ttl_s >= 1 && ttl_s <= authd_cfg_max("cas.pgt_lifetime");
	return opt_int_ok("cas.ticket_lifetime", ttl_s);
}

/* A ticket's fields as every kind needs them. */
static bool
cas_fields_ok(enum sess_cas_kind k, const struct sess_ticket *t)
{
	size_t np = strnlen(t->proxies, sizeof(t->proxies));

	if (np >= sizeof(t->proxies) || (k == SESS_CAS_ST) != (np == 0) ||
	    (np > 0 && t->proxies[np - 1] != '\n'))
		return false;
	return sess_str_ok(t->service, SESS_SERVICE_MAX) &&
	    sess_str_ok(t->client_id, SESS_CLIENT_MAX) && sess_str_ok(t->uid, SESS_UID_MAX) &&
	    (t->sid[0] == '\0' || sess_pubid_ok(t->sid)) && t->loa >= 1 && t->loa <= 4 &&
	    t->auth_time >= 0;
}

int
sess_cas_make(enum sess_cas_kind k, char ticket[SESS_CAS_TICKET_SIZE])
{
	unsigned char raw[SESS_TOKEN_BYTES];
	size_t pn;
	int rc;

	ticket[0] = '\0';
	if ((unsigned)k > SESS_CAS_PGT)
		return YH_ERR_INVALID;
	if ((rc = yh_random(raw, sizeof(raw))) == 0) {
		pn = strlen(cas_kinds[k].prefix);
		memcpy(ticket, cas_kinds[k].prefix, pn);
		yh_hex_encode(raw, sizeof(raw), ticket + pn);
	}
	yh_wipe(raw, sizeof(raw));
	return rc;
}

/* The stored key of ticket, a ticket of kind k in form; YH_ERR_NOT_FOUND otherwise. */
static int
cas_key(enum sess_cas_kind k, const char *ticket, char key[SESS_KEY_SIZE])
{
	unsigned char raw[SESS_TOKEN_BYTES];
	size_t pn;
	int rc;

	if ((unsigned)k > SESS_CAS_PGT || ticket == NULL)
		return YH_ERR_NOT_FOUND;
	pn = strlen(cas_kinds[k].prefix);
	if (strncmp(ticket, cas_kinds[k].prefix, pn) != 0 ||
	    strnlen(ticket, SESS_CAS_TICKET_SIZE) != pn + 2 * SESS_TOKEN_BYTES ||
	    yh_hex_decode(ticket + pn, 2 * SESS_TOKEN_BYTES, raw, sizeof(raw)) != 0)
		return YH_ERR_NOT_FOUND;
	rc = raw_key_bound(raw, cas_kinds[k].bind, key);
	yh_wipe(raw, sizeof(raw));
	return rc != 0 ? YH_ERR_NOT_FOUND : 0;
}

int
sess_cas_put(struct sess_store *s, enum sess_cas_kind k, const char *ticket,
    const struct sess_ticket *t, int64_t ttl_s)
{
	char key[SESS_KEY_SIZE];
	char *payload = NULL;
	int rc;

	if ((unsigned)k > SESS_CAS_PGT || !cas_ttl_ok(k, ttl_s) || !cas_fields_ok(k, t) ||
	    cas_key(k, ticket, key) != 0)
		return YH_ERR_INVALID;
	if ((payload = sess_ticket_json(t)) == NULL)
		return YH_ERR_ALLOC;
	if ((rc = payload_check(payload)) == 0)
		rc = s->ops->code_put(s, key, payload, ttl_s * 1000);
	free(payload);
	return rc;
}

int
sess_cas_new(struct sess_store *s, enum sess_cas_kind k, const struct sess_ticket *t,
    int64_t ttl_s, char ticket[SESS_CAS_TICKET_SIZE])
{
	int rc;

	if ((rc = sess_cas_make(k, ticket)) == 0 &&
	    (rc = sess_cas_put(s, k, ticket, t, ttl_s)) != 0)
		yh_wipe(ticket, SESS_CAS_TICKET_SIZE);
	return rc;
}

int
sess_cas_take(struct sess_store *s, enum sess_cas_kind k, const char *ticket,
    struct sess_ticket *out)
{
	char key[SESS_KEY_SIZE];
	char *payload = NULL, *prev = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (cas_key(k, ticket, key) != 0)
		return YH_ERR_NOT_FOUND;
	rc = s->ops->code_take(s, key, "", &payload, &prev);
	if ((rc == 0 || rc == YH_ERR_REPLAY) && sess_ticket_parse(payload, out) != 0) {
		yh_error("a CAS ticket's record does not parse");
		rc = YH_ERR_INTERNAL;
	}
	if (rc == YH_ERR_REPLAY && k == SESS_CAS_PGT)
		rc = 0;        /* a proxy-granting ticket is used many times */
	free(payload);
	free(prev);
	return rc;
}

int
sess_ticket_new(struct sess_store *s, const struct sess_ticket *t, int64_t ttl_s,
    char ticket[SESS_TICKET_SIZE])
{
	char v[SESS_CAS_TICKET_SIZE];
	int rc = sess_cas_new(s, SESS_CAS_ST, t, ttl_s, v);

	ticket[0] = '\0';
	if (rc == 0)
		memcpy(ticket, v, SESS_TICKET_SIZE);
	yh_wipe(v, sizeof(v));
	return rc;
}

int
sess_ticket_take(struct sess_store *s, const char *ticket, struct sess_ticket *out)
{
	return sess_cas_take(s, SESS_CAS_ST, ticket, out);
}

/* ---- refresh tokens ------------------------------------------------------------------- */

static int
family_check(const struct sess_family *f)
{
	if (!sess_pubid_ok(f->id) || !sess_str_ok(f->uid, SESS_UID_MAX) ||
	    !sess_str_ok(f->client_id, SESS_CLIENT_MAX) ||
	    (f->sid[0] != '\0' && !sess_pubid_ok(f->sid)) ||
	    (f->org[0] != '\0' && !sess_str_ok(f->org, SESS_ORG_MAX)))
		return YH_ERR_INVALID;
	return 0;
}

int
sess_refresh_new(struct sess_store *s, struct sess_family *fam, const char *payload,
    int64_t ttl_s, char token[SESS_TOKEN_SIZE])
{
	char key[SESS_KEY_SIZE];
	int rc;

	token[0] = '\0';
	if ((rc = payload_check(payload)) != 0)
		return rc;
	if (!opt_int_ok("token.refresh_lifetime", ttl_s) &&
	    !opt_int_ok("token.offline_lifetime", ttl_s))
		return YH_ERR_INVALID;
	if (fam->id[0] == '\0' && (rc = pubid_new(fam->id)) != 0)
		return rc;
	if ((rc = family_check(fam)) != 0)
		return rc;
	if ((rc = token_new(token, key)) != 0)
		return rc;
	if ((rc = s->ops->fam_put(s, fam, payload, ttl_s * 1000, key)) != 0)
		yh_wipe(token, SESS_TOKEN_SIZE);
	return rc;
}

int
sess_refresh_rotate(struct sess_store *s, const char *old_token, char token[SESS_TOKEN_SIZE],
    struct sess_family *fam, char **payload)
{
	char old_key[SESS_KEY_SIZE], new_key[SESS_KEY_SIZE];
	int rc;

	token[0] = '\0';
	*payload = NULL;
	memset(fam, 0, sizeof(*fam));
	if ((rc = token_key(old_token, old_key)) != 0)
		return rc;
	if ((rc = token_new(token, new_key)) != 0)
		return rc;
	rc = s->ops->rt_rotate(s, old_key, new_key, fam, payload);
	if (rc != 0) {
		yh_wipe(token, SESS_TOKEN_SIZE);
		if (rc != YH_ERR_REPLAY && rc != YH_ERR_DENIED)
			memset(fam, 0, sizeof(*fam));
	}
	return rc;
}

int
sess_refresh_peek(struct sess_store *s, const char *token, struct sess_family *fam,
    char **payload)
{
	char key[SESS_KEY_SIZE];
	int rc;

	memset(fam, 0, sizeof(*fam));
	if (payload != NULL)
		*payload = NULL;
	if ((rc = token_key(token, key)) != 0)
		return rc;
	return s->ops->rt_peek(s, key, fam, payload);
}

int
sess_family_revoke(struct sess_store *s, const char *family_id)
{
	int rc;

	if (!sess_pubid_ok(family_id))
		return YH_ERR_NOT_FOUND;
	rc = s->ops->fam_revoke(s, family_id);
	return rc == YH_ERR_EXISTS ? 0 : rc;
}

/* What a revocation of a user's families keeps out: the other apps' families (client_id
 * set) or the other organizations' and the person's own (org set). */
struct fam_filter {
	const char *uid, *client_id, *org;
};

static bool
fam_matches(const struct fam_filter *w, const struct sess_family *f)
{
	return strcmp(f->uid, w->uid) == 0 &&
	    (w->client_id == NULL || strcmp(f->client_id, w->client_id) == 0) &&
	    (w->org == NULL || strcmp(f->org, w->org) == 0);
}

/* Revokes the families of w->uid that w lets through (see sess_refresh_revoke_user),
 * copying at most max of them to out. */
static int
revoke_families(struct sess_store *s, const struct fam_filter *w, int64_t deny_ttl_s,
    struct sess_family *out, size_t max, size_t *n)
{
	char (*ids)[SESS_PUBID_SIZE] = NULL;
	size_t nids = 0, done = 0;
	int rc;

	if (n != NULL)
		*n = 0;
	if (!sess_str_ok(w->uid, SESS_UID_MAX) ||
	    (w->client_id != NULL && !sess_str_ok(w->client_id, SESS_CLIENT_MAX)) ||
	    (w->org != NULL && !sess_str_ok(w->org, SESS_ORG_MAX)) ||
	    deny_ttl_s < 1 || deny_ttl_s > SESS_DENY_TTL_MAX)
		return YH_ERR_INVALID;
	if ((ids = calloc(1024, sizeof(*ids))) == NULL)
		return YH_ERR_ALLOC;
	if ((rc = s->ops->fam_user(s, w->uid, ids, 1024, &nids)) != 0)
		goto out;
	for (size_t i = 0; i < nids; i++) {
		struct sess_family f;
		int r = s->ops->fam_get(s, ids[i], &f);

		if (r == YH_ERR_NOT_FOUND || (r == 0 && !fam_matches(w, &f)))
			continue;
		if (r == 0)
			r = sess_deny_add(s, SESS_DENY_FAMILY, ids[i], deny_ttl_s);
		if (r == 0)
			r = s->ops->fam_revoke(s, ids[i]);
		if (r == 0 && out != NULL && done < max)
			out[done] = f;
		if (r == 0)
			done++;
		else if (r != YH_ERR_NOT_FOUND && r != YH_ERR_EXISTS)  /* revoked before: not
		                                                         * counted or listed again */
			rc = r;
	}
	if (n != NULL)
		*n = done;
out:
	free(ids);
	return rc;
}

int
sess_refresh_revoke_user(struct sess_store *s, const char *uid, const char *client_id,
    int64_t deny_ttl_s, size_t *n)
{
	struct fam_filter w = { .uid = uid, .client_id = client_id };

	return revoke_families(s, &w, deny_ttl_s, NULL, 0, n);
}

int
sess_refresh_revoke_org(struct sess_store *s, const char *uid, const char *org,
    int64_t deny_ttl_s, struct sess_family *out, size_t max, size_t *n)
{
	struct fam_filter w = { .uid = uid, .org = org };

	if (org == NULL || org[0] == '\0') {
		if (n != NULL)
			*n = 0;
		return YH_ERR_INVALID;
	}
	return revoke_families(s, &w, deny_ttl_s, out, max, n);
}

/* ---- denylist ------------------------------------------------------------------------- */

/* The stored key of kind/id: the hash of "<kind>:<id>". */
static int
deny_key(enum sess_deny_kind kind, const char *id, char key[SESS_KEY_SIZE])
{
	char name[SESS_DENY_ID_MAX + 8];

	if ((kind != SESS_DENY_ACCESS && kind != SESS_DENY_FAMILY) ||
	    !sess_str_ok(id, SESS_DENY_ID_MAX))
		return YH_ERR_INVALID;
	snprintf(name, sizeof(name), "%s:%s", kind == SESS_DENY_ACCESS ? "at" : "fam", id);
	return name_key(name, key);
}

int
sess_deny_add(struct sess_store *s, enum sess_deny_kind kind, const char *id, int64_t ttl_s)
{
	char key[SESS_KEY_SIZE];
	int rc;

	if (ttl_s < 1 || ttl_s > SESS_DENY_TTL_MAX)
		return YH_ERR_INVALID;
	if ((rc = deny_key(kind, id, key)) != 0)
		return rc;
	return s->ops->deny_put(s, key, ttl_s * 1000);
}

int
sess_deny_check(struct sess_store *s, enum sess_deny_kind kind, const char *id)
{
	char key[SESS_KEY_SIZE];
	int rc;

	if ((rc = deny_key(kind, id, key)) != 0)
		return rc;
	rc = s->ops->deny_get(s, key);
	return rc == 0 ? YH_ERR_DENIED : rc == YH_ERR_NOT_FOUND ? 0 : rc;
}

/* ---- counters and locks --------------------------------------------------------------- */

int
sess_fail(struct sess_store *s, const char *name, int64_t window_s, int64_t limit,
    int64_t lockout_s, int64_t *count)
{
	char key[SESS_KEY_SIZE];
	int64_t n = 0;
	int rc;

	if (count != NULL)
		*count = 0;
	if (window_s < 1 || window_s > 30 * 86400 || limit < 0 || lockout_s < 0 ||
	    lockout_s > 365 * 86400)
		return YH_ERR_INVALID;
	if ((rc = name_key(name, key)) != 0)
		return rc;
	if ((rc = s->ops->cnt_incr(s, key, window_s * 1000, &n)) != 0)
		return rc;
	if (count != NULL)
		*count = n;
	if (limit > 0 && n >= limit) {
		if (lockout_s > 0 && (rc = s->ops->lock_set(s, key, lockout_s * 1000)) != 0)
			return rc;
		if ((rc = s->ops->cnt_del(s, key)) != 0)
			return rc;
		return YH_ERR_LOCKED;
	}
	return 0;
}

int
sess_rate(struct sess_store *s, const char *name, int64_t window_s, int64_t limit)
{
	int rc = sess_locked(s, name, NULL);

	return rc != 0 ? rc : sess_fail(s, name, window_s, limit, window_s, NULL);
}

void
sess_addr_name(char *out, size_t outsz, const char *prefix, const char *ip)
{
	unsigned char a[16];
	char folded[INET6_ADDRSTRLEN];
	bool mapped;

	if (ip == NULL)
		ip = "";
	if (strchr(ip, ':') == NULL || inet_pton(AF_INET6, ip, a) != 1) {
		snprintf(out, outsz, "%s%s", prefix, ip);
		return;
	}
	mapped = IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)(const void *)a);
	if (!mapped)
		memset(a + 8, 0, 8);
	if ((mapped ? inet_ntop(AF_INET, a + 12, folded, sizeof(folded)) :
	    inet_ntop(AF_INET6, a, folded, sizeof(folded))) == NULL)
		folded[0] = '\0';
	snprintf(out, outsz, "%s%s%s", prefix, folded, mapped ? "" : "/64");
}

int
sess_fail_count(struct sess_store *s, const char *name, int64_t *count)
{
	char key[SESS_KEY_SIZE];
	int rc;

	*count = 0;
	if ((rc = name_key(name, key)) != 0)
		return rc;
	return s->ops->cnt_get(s, key, count);
}

int
sess_fail_clear(struct sess_store *s, const char *name)
{
	char key[SESS_KEY_SIZE];
	int rc;

	if ((rc = name_key(name, key)) != 0)
		return rc;
	return s->ops->cnt_del(s, key);
}

int
sess_locked(struct sess_store *s, const char *name, int64_t *remaining_s)
{
	char key[SESS_KEY_SIZE];
	int64_t ms = 0;
	int rc;

	if (remaining_s != NULL)
		*remaining_s = 0;
	if ((rc = name_key(name, key)) != 0)
		return rc;
	if ((rc = s->ops->lock_ttl(s, key, &ms)) != 0)
		return rc;
	if (ms <= 0)
		return 0;
	if (remaining_s != NULL)
		*remaining_s = (ms + 999) / 1000;
	return YH_ERR_LOCKED;
}

int
sess_lock(struct sess_store *s, const char *name, int64_t lockout_s)
{
	char key[SESS_KEY_SIZE];
	int rc;

	if (lockout_s < 0 || lockout_s > 365 * 86400)
		return YH_ERR_INVALID;
	if ((rc = name_key(name, key)) != 0)
		return rc;
	return s->ops->lock_set(s, key, lockout_s * 1000);
}
