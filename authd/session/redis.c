/*
 * The Redis session store, shared by any number of authd processes. Every key starts
 * with the configured prefix P:
 *
 *   P s:<key32>   hash: the record in one-letter fields (common.c: sess_rec_fields),
 *                 c:<client>..., t:<ticket>...; small enough for Redis's compact form
 *                 PEXPIREAT = expiry + grace, so the sweep can still end it with an event
 *   P x:<shard>   sorted sets: session key32 -> expiry (ms), read by the sweep; 16384
 *                 of them (four hex digits, the key's first two bytes modulo 16384), so
 *                 each stays compact (128 entries) up to about 1.3 million sessions. The
 *                 sweep scans XSCAN of them per script call. An older version's 1024
 *                 (P x:000 .. x:3ff) are emptied into these by the sweep as their
 *                 entries fall due (session_expired_move.lua)
 *   P ui:<shard>  hashes: the user index, session key32 -> its user's tag; 16384 of them
 *                 (four hex digits), the shard and the tag (23 bits, an integer so
 *                 Redis packs it small) both from the SHA-256 of the uid, so each
 *                 stays compact up to about 1.3 million sessions. No TTL: an entry
 *                 leaves with its session (sess_end, the sweep) or, when Redis
 *                 expired the record first, by the sweep's scan (index_clean.lua)
 *   P v:<uid>     hash: an older version's index of the user's session key32s, read
 *                 and unlinked until it expires by itself (TTL)
 *   P c:<key>     hash: p (payload), u (used), i (what was issued)       TTL = code lifetime
 *   P w:<key>     string: a flow's payload (compare-and-swap in flow_swap.lua) TTL = flow's
 *   P rt:<key>    string: family id                                      TTL = family's
 *   P rf:<id>     hash: j (uid, client, sid JSON), p (payload), cur (current token key), rev
 *   P uf:<uid>    set of the user's family ids
 *   P k:<hash>    counter (INCR + PEXPIRE in one script);  P l:<hash>  lock (PX)
 *   P d:<hash>    denylist entry (a revoked access token or family; PX, the longer kept)
 *   P events      pub/sub channel of session events (compact JSON)
 *
 * A session's key in Redis, key32, is the 32 bytes its hex key (SHA-256 of the id)
 * stands for: half the bytes in each of the three places it is kept. Sessions stored
 * by an older version (P s:<hex key>, P z:sess, P u:<uid>) are not read: they end
 * with the upgrade and their keys expire (docs/operations.md).
 *
 * Multi-key steps run as Lua scripts (authd/session/lua/, compiled in; EVALSHA, EVAL
 * when the server forgot them). The refresh script derives the family key from the
 * token's value, so the store suits a single Redis or Sentinel, not Cluster.
 *
 * Sentinel (session.redis_sentinels, session.redis_master): each new connection asks
 * the sentinels in turn (SENTINEL get-master-addr-by-name) where the master is and
 * checks with ROLE that the server it reaches is one. A watcher thread subscribes to
 * +switch-master on one sentinel; a failover it reports, a READONLY or MASTERDOWN
 * reply, or a lost connection drop the pool's connections, so the next calls reach
 * the new master (calls made meanwhile fail with YH_ERR_UNAVAILABLE: 503).
 *
 * Connections: a small pool, each under a mutex, with connect and command timeouts. A
 * failed command drops its connection; the next use reconnects, at most every
 * RETRY_MS per connection, so while Redis is down calls fail at once with
 * YH_ERR_UNAVAILABLE. A subscriber thread on its own connection delivers other nodes'
 * events and resubscribes after a reconnect (with a RESYNC event). Replies are checked
 * for type and size before use.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <openssl/evp.h>

#define YH_SESS_INTERNAL
#include "authd/session/lua_gen.h"
#include "authd/session/sess.h"
#include "common/buf.h"
#include "common/digest.h"
#include "common/log.h"
#include "common/netaddr.h"
#include "common/secmem.h"
#include "common/timeutil.h"

#define RETRY_MS 250
#define NARG 40
#define KEYBUF 320
#define KEY32 32
#define XSHARDS 16384           /* expiry index shards (a power of two) */
#define XSCAN 1024               /* expiry index shards scanned per script call */
#define XMOVE 1024               /* older expiry entries moved per script call */
#define XMOVE_MAX 16384          /* ... and per sweep (what a sweep can end: 64 x 256) */
#define UISHARDS 16384           /* user index shards (a power of two) */
#define UISCAN 32                /* user index shards the sweep scans per round */
#define MSG_MAX 2048
#define SESS_FIELDS_MAX (11 + SESS_CLIENTS_MAX + SESS_CAS_MAX)

struct rconn {
	pthread_mutex_t lock;
	redisContext *c;
	int64_t retry_at;              /* monotonic ms before which no reconnect is tried */
	unsigned gen;                  /* the failover generation it was made in */
};

struct rds {
	struct rconn *pool;
	unsigned n;
	atomic_uint next;
	/* subscriber */
	pthread_t sub;
	bool sub_running;
	atomic_bool stop;
	int wake[2];
	pthread_mutex_t sub_lock;
	pthread_cond_t sub_cond;
	bool sub_tried;                /* the first subscription attempt finished */
	char chan[64];
	atomic_uint sweep_shard;       /* where the next expiry scan starts */
	atomic_uint clean_shard;       /* where the next user index scan starts */
	atomic_bool old_x_gone;        /* no older expiry set was left (checked at each
	                                * sweep until then, from each start) */
	/* Sentinel */
	struct net_hostport sent[NET_HOSTPORT_LIST_MAX];
	size_t nsent;
	atomic_uint next_sent;         /* the sentinel asked first */
	atomic_uint gen;               /* failovers seen: connections of an older one go */
	pthread_t watch;
	bool watch_running;
	pthread_mutex_t addr_lock;
	char master[NET_HOSTPORT_HOST_MAX + 8];   /* last master address, "host:port" */
};

/* ---- scripts -------------------------------------------------------------------------- */

/* The scripts are authd/session/lua/NAME.lua, compiled in as sess_lua_text[SESS_LUA_NAME]
 * (authd/session/lua_gen.h); each one's header says its KEYS, ARGV and reply. */
static char script_sha[SESS_LUA_COUNT][41];
static pthread_once_t script_once = PTHREAD_ONCE_INIT;

static void
scripts_hash(void)
{
	for (int i = 0; i < SESS_LUA_COUNT; i++) {
		unsigned char md[20];
		unsigned int n = 0;

		if (EVP_Digest(sess_lua_text[i], sess_lua_len[i], md, &n, EVP_sha1(), NULL) == 1 &&
		    n == 20)
			yh_hex_encode(md, 20, script_sha[i]);
	}
}

/* ---- command arguments ------------------------------------------------------------------ */

struct rargs {
	const char *v[NARG];
	size_t l[NARG];
	int n;
	char keys[6][KEYBUF];
	int nkeys;
	char nums[6][24];
	int nnums;
	unsigned char k32[2][KEY32];   /* session keys as stored */
	int nk32;
	char tag[12];                  /* the user's tag in the user index */
	struct sess_rec_text rec;
};

static void
arg(struct rargs *a, const char *p, size_t len)
{
	if (a->n < NARG) {
		a->v[a->n] = p;
		a->l[a->n++] = len;
	}
}

static void
arg_s(struct rargs *a, const char *p)
{
	arg(a, p, strlen(p));
}

/* Adds the key P<kind><name>. */
static void
arg_key(struct sess_store *s, struct rargs *a, const char *kind, const char *name)
{
	char *k;

	if (a->nkeys >= 6)
		return;
	k = a->keys[a->nkeys++];
	snprintf(k, KEYBUF, "%s%s%s", s->prefix, kind, name);
	arg_s(a, k);
}

/* Adds the key P<kind> followed by the len bytes at name (which may hold any byte). */
static void
arg_key_bin(struct sess_store *s, struct rargs *a, const char *kind, const void *name,
    size_t len)
{
	char *k;
	size_t pl = strlen(s->prefix), kl = strlen(kind);

	if (a->nkeys >= 6 || pl + kl + len > KEYBUF)
		return;
	k = a->keys[a->nkeys++];
	memcpy(k, s->prefix, pl);
	memcpy(k + pl, kind, kl);
	memcpy(k + pl + kl, name, len);
	arg(a, k, pl + kl + len);
}

/* The 32 bytes hex key stands for, kept in a (a's first two only); NULL when key is not
 * a session key. */
static const unsigned char *
key32(struct rargs *a, const char *key)
{
	unsigned char *k;

	if (a->nk32 >= 2 || !sess_key_ok(key))
		return NULL;
	k = a->k32[a->nk32++];
	return yh_hex_decode(key, 2 * KEY32, k, KEY32) == 0 ? k : NULL;
}

/* Adds the keys P s:<key32> and P x:<its shard>. */
static void
arg_sess_keys(struct sess_store *s, struct rargs *a, const unsigned char *k)
{
	char shard[5];

	snprintf(shard, sizeof(shard), "%04x", ((unsigned)k[0] << 8 | k[1]) % XSHARDS);
	arg_key_bin(s, a, "s:", k, KEY32);
	arg_key(s, a, "x:", shard);
}

/* Adds the key P ui:<uid's shard>, and P v:<uid> (an older version's index) when
 * legacy is set, and keeps the uid's tag in a->tag (the shard and the tag: the
 * SHA-256 of uid, bytes 0-1 and 2-4). */
static int
arg_user_keys(struct sess_store *s, struct rargs *a, const char *uid, bool legacy)
{
	unsigned char md[YH_SHA256_LEN];
	char shard[5];

	if (yh_sha256(uid, strlen(uid), md) != 0)
		return YH_ERR_INTERNAL;
	snprintf(shard, sizeof(shard), "%04x", ((unsigned)md[0] << 8 | md[1]) % UISHARDS);
	snprintf(a->tag, sizeof(a->tag), "%u",
	    ((unsigned)md[2] << 16 | (unsigned)md[3] << 8 | md[4]) & 0x7fffffu);
	arg_key(s, a, "ui:", shard);
	if (legacy)
		arg_key(s, a, "v:", uid);
	return 0;
}

/* Adds rec's field, value pairs (sess_rec_fields). */
static void
arg_rec(struct rargs *a, const struct sess_info *rec, bool all)
{
	sess_rec_fields(rec, all, &a->rec);
	for (size_t i = 0; i < a->rec.n; i++)
		arg(a, a->rec.v[i], a->rec.l[i]);
}

static void
arg_i(struct rargs *a, int64_t v)
{
	char *p;

	if (a->nnums >= 6)
		return;
	p = a->nums[a->nnums++];
	snprintf(p, sizeof(a->nums[0]), "%lld", (long long)v);
	arg_s(a, p);
}

/* ---- reply checks --------------------------------------------------------------------- */

static bool
is_arr(const redisReply *r, size_t min, size_t max)
{
	return r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements >= min &&
	    r->elements <= max;
}

static bool
is_str(const redisReply *r, size_t max)
{
	return r != NULL && r->type == REDIS_REPLY_STRING && r->len <= max &&
	    memchr(r->str, '\0', r->len) == NULL;
}

static bool
is_int(const redisReply *r)
{
	return r != NULL && r->type == REDIS_REPLY_INTEGER;
}

/* The integer status of a script's {status, ...} reply, or -1. */
static long long
status_of(const redisReply *r)
{
	return is_arr(r, 1, 8) && is_int(r->element[0]) ? r->element[0]->integer : -1;
}

/* A reply string as a new C string (max bytes), or NULL. */
static char *
str_dup(const redisReply *r, size_t max)
{
	char *p;

	if (!is_str(r, max) || (p = malloc(r->len + 1)) == NULL)
		return NULL;
	memcpy(p, r->str, r->len);
	p[r->len] = '\0';
	return p;
}

/* Copies a reply string into dst (size bytes) when it fits. */
static bool
str_copy(const redisReply *r, char *dst, size_t size)
{
	if (!is_str(r, size - 1))
		return false;
	memcpy(dst, r->str, r->len);
	dst[r->len] = '\0';
	return true;
}

static bool
str_i64(const redisReply *r, int64_t *v)
{
	char buf[24];

	return str_copy(r, buf, sizeof(buf)) && yh_parse_i64(buf, INT64_MIN + 1, INT64_MAX, v) == 0;
}

/* ---- connections ---------------------------------------------------------------------- */

static struct timeval
tv_ms(int64_t ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	return tv;
}

/* A context connected to host:port with the store's timeouts, or NULL. */
static redisContext *
connect_to(struct sess_store *s, const char *host, int port)
{
	redisContext *c = redisConnectWithTimeout(host, port, tv_ms(s->cfg.redis_timeout_ms));

	if (c != NULL && (c->err != 0 ||
	    redisSetTimeout(c, tv_ms(s->cfg.redis_timeout_ms)) != REDIS_OK)) {
		redisFree(c);
		c = NULL;
	}
	if (c != NULL)
		(void)redisEnableKeepAlive(c);
	return c;
}

/* Asks sentinel i where the master is: 0 with host (size bytes) and *port. */
static int
sentinel_ask(struct sess_store *s, size_t i, char *host, size_t size, int *port)
{
	struct rds *rd = s->be;
	redisContext *c = connect_to(s, rd->sent[i].host, rd->sent[i].port);
	redisReply *r = NULL;
	int64_t p = 0;
	int rc = YH_ERR_UNAVAILABLE;

	if (c == NULL)
		return rc;
	r = redisCommand(c, "SENTINEL get-master-addr-by-name %s", s->cfg.redis_master);
	if (is_arr(r, 2, 2) && str_copy(r->element[0], host, size) && host[0] != '\0' &&
	    str_i64(r->element[1], &p) && p >= 1 && p <= 65535) {
		*port = (int)p;
		rc = 0;
	}
	freeReplyObject(r);
	redisFree(c);
	return rc;
}

/* The master's address from the first sentinel that knows it; logs a change. */
static int
master_addr(struct sess_store *s, char *host, size_t size, int *port)
{
	struct rds *rd = s->be;
	unsigned first = atomic_load(&rd->next_sent);
	char now[sizeof(rd->master)];

	for (size_t k = 0; k < rd->nsent; k++) {
		size_t i = (first + k) % rd->nsent;

		if (sentinel_ask(s, i, host, size, port) != 0)
			continue;
		atomic_store(&rd->next_sent, (unsigned)i);
		snprintf(now, sizeof(now), "%s:%d", host, *port);
		pthread_mutex_lock(&rd->addr_lock);
		if (strcmp(now, rd->master) != 0) {
			yh_info("redis: sentinel %s:%u names %s as master %s", rd->sent[i].host,
			    rd->sent[i].port, now, s->cfg.redis_master);
			memcpy(rd->master, now, sizeof(now));
		}
		pthread_mutex_unlock(&rd->addr_lock);
		return 0;
	}
	return YH_ERR_UNAVAILABLE;
}

/* True when c's server is a master (ROLE), as a sentinel's answer may be stale. */
static bool
is_master(redisContext *c)
{
	redisReply *r = redisCommand(c, "ROLE");
	bool ok = is_arr(r, 1, 8) && is_str(r->element[0], 16) && r->element[0]->len == 6 &&
	    memcmp(r->element[0]->str, "master", 6) == 0;

	freeReplyObject(r);
	return ok;
}

/* A connected, authenticated context, or NULL. */
static redisContext *
connect_ctx(struct sess_store *s)
{
	char host[NET_HOSTPORT_HOST_MAX + 1];
	int port = s->cfg.redis_port;
	redisContext *c;
	redisReply *r;

	if (s->cfg.redis_sentinels == NULL)
		snprintf(host, sizeof(host), "%s", s->cfg.redis_host);
	else if (master_addr(s, host, sizeof(host), &port) != 0)
		return NULL;
	if ((c = connect_to(s, host, port)) == NULL)
		return NULL;
	(void)redisEnableKeepAlive(c);
	if (s->cfg.redis_password != NULL) {
		r = redisCommand(c, "AUTH %s", s->cfg.redis_password);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			if (r != NULL)
				yh_warn("redis: AUTH refused");
			freeReplyObject(r);
			goto fail;
		}
		freeReplyObject(r);
	}
	if (s->cfg.redis_db != 0) {
		r = redisCommand(c, "SELECT %d", s->cfg.redis_db);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			freeReplyObject(r);
			goto fail;
		}
		freeReplyObject(r);
	}
	if (s->cfg.redis_sentinels != NULL && !is_master(c))
		goto fail;
	return c;
fail:
	redisFree(c);
	return NULL;
}

/* Locks a pool connection that is connected; YH_ERR_UNAVAILABLE when none can be. */
static int
conn_get(struct sess_store *s, struct rconn **out)
{
	struct rds *r = s->be;
	struct rconn *rc = &r->pool[atomic_fetch_add(&r->next, 1) % r->n];
	unsigned gen = atomic_load(&r->gen);

	*out = NULL;
	pthread_mutex_lock(&rc->lock);
	if (rc->c != NULL && rc->gen != gen) {     /* made before a failover */
		redisFree(rc->c);
		rc->c = NULL;
		rc->retry_at = 0;
	}
	if (rc->c == NULL) {
		int64_t now = yh_mono_ms();

		rc->gen = gen;
		if (now < rc->retry_at || (rc->c = connect_ctx(s)) == NULL) {
			if (now >= rc->retry_at)
				rc->retry_at = now + RETRY_MS;
			pthread_mutex_unlock(&rc->lock);
			return YH_ERR_UNAVAILABLE;
		}
	}
	*out = rc;
	return 0;
}

static void
conn_put(struct rconn *rc, bool broken)
{
	if (broken && rc->c != NULL) {
		redisFree(rc->c);
		rc->c = NULL;
		rc->retry_at = 0;    /* the next call may try at once (Redis may be back) */
	}
	pthread_mutex_unlock(&rc->lock);
}

/* True when error reply r starts with word. */
static bool
starts(const redisReply *r, const char *word)
{
	return r->len >= strlen(word) && strncmp(r->str, word, strlen(word)) == 0;
}

/* Server errors that mean "not now" rather than "bug". */
static bool
transient_error(const redisReply *r)
{
	static const char *const words[] = { "LOADING", "READONLY", "MASTERDOWN", "BUSY",
		"NOAUTH", "TRYAGAIN", "CLUSTERDOWN", "OOM" };

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (starts(r, words[i]))
			return true;
	return false;
}

/*
 * Runs one command. *out gets a reply that is not an error (free with freeReplyObject).
 * YH_ERR_UNAVAILABLE when Redis cannot be reached or is not ready, YH_ERR_INTERNAL on
 * any other server error (logged), YH_ERR_NOT_FOUND for NOSCRIPT (caller falls back).
 */
static int
rcmd(struct sess_store *s, struct rargs *a, redisReply **out)
{
	struct rconn *rc;
	redisReply *r;
	int ret = 0;

	*out = NULL;
	if (a->n >= NARG)
		return YH_ERR_INTERNAL;
	if ((ret = conn_get(s, &rc)) != 0)
		return ret;
	r = redisCommandArgv(rc->c, a->n, a->v, a->l);
	if (r == NULL) {
		conn_put(rc, true);
		return YH_ERR_UNAVAILABLE;
	}
	/* a master demoted by a failover: reconnect (through the sentinels) next time */
	conn_put(rc, r->type == REDIS_REPLY_ERROR && (starts(r, "READONLY") ||
	    starts(r, "MASTERDOWN")));
	if (r->type == REDIS_REPLY_ERROR) {
		if (r->len >= 8 && strncmp(r->str, "NOSCRIPT", 8) == 0) {
			ret = YH_ERR_NOT_FOUND;
		} else if (transient_error(r)) {
			ret = YH_ERR_UNAVAILABLE;
		} else {
			yh_error("redis: %.*s", (int)(r->len > 200 ? 200 : r->len), r->str);
			ret = YH_ERR_INTERNAL;
		}
		freeReplyObject(r);
		return ret;
	}
	*out = r;
	return 0;
}

/* Runs script sc with the keys and args already in a (after a 3-slot head). */
static int
reval(struct sess_store *s, enum sess_lua_file sc, int nkeys, struct rargs *a, redisReply **out)
{
	char nk[8];
	int rc;

	snprintf(nk, sizeof(nk), "%d", nkeys);
	a->v[0] = "EVALSHA";
	a->l[0] = 7;
	a->v[1] = script_sha[sc];
	a->l[1] = 40;
	a->v[2] = nk;
	a->l[2] = strlen(nk);
	rc = rcmd(s, a, out);
	if (rc == YH_ERR_NOT_FOUND) {
		a->v[0] = "EVAL";
		a->l[0] = 4;
		a->v[1] = sess_lua_text[sc];
		a->l[1] = sess_lua_len[sc];
		rc = rcmd(s, a, out);
	}
	return rc;
}

/* Starts an EVAL argument list (3 head slots filled by reval). */
static void
eval_init(struct rargs *a)
{
	memset(a, 0, sizeof(*a));
	a->n = 3;
}

/* Decodes a session hash (HGETALL pairs) into out. */
static int
parse_sess(const redisReply *h, const char *key, struct sess_info *out)
{
	unsigned have = 0;

	memset(out, 0, sizeof(*out));
	if (!is_arr(h, 2, 2 * SESS_FIELDS_MAX) || h->elements % 2 != 0)
		return YH_ERR_INVALID;
	for (size_t i = 0; i < h->elements; i += 2) {
		const redisReply *f = h->element[i], *v = h->element[i + 1];

		/* every value is text but the sid's 16 bytes */
		if (!is_str(f, 2 + SESS_CLIENT_MAX) || (f->len == 1 && f->str[0] == 'i' ?
		    v->type != REDIS_REPLY_STRING || v->len > 64 : !is_str(v, 4096)) ||
		    sess_rec_field(f->str, f->len, v->str, v->len, out, &have) != 0)
			return YH_ERR_INVALID;
		if (f->len > 2 && memcmp(f->str, "c:", 2) == 0 &&
		    out->nclients < SESS_CLIENTS_MAX) {
			memcpy(out->clients[out->nclients], f->str + 2, f->len - 2);
			out->clients[out->nclients++][f->len - 2] = '\0';
		} else if (f->len > 2 && memcmp(f->str, "t:", 2) == 0) {
			out->ncas++;
		}
	}
	if (sess_rec_finish(out, have) != 0)
		return YH_ERR_INVALID;
	return yh_strlcpy(out->key, key, sizeof(out->key)) == 0 ? 0 : YH_ERR_INVALID;
}

/* ---- sessions ------------------------------------------------------------------------- */

static int64_t
grace_ms(struct sess_store *s)
{
	return s->cfg.redis_grace_s * 1000;
}

static int
rd_s_put(struct sess_store *s, const struct sess_info *rec)
{
	struct rargs a;
	redisReply *r = NULL;
	const unsigned char *k;
	int rc;

	eval_init(&a);
	if ((k = key32(&a, rec->key)) == NULL)
		return YH_ERR_INVALID;
	arg_sess_keys(s, &a, k);
	if ((rc = arg_user_keys(s, &a, rec->uid, false)) != 0)
		return rc;
	arg_i(&a, rec->expires_ms);
	arg_i(&a, rec->expires_ms + grace_ms(s));
	arg(&a, (const char *)k, KEY32);
	arg_s(&a, a.tag);
	arg_rec(&a, rec, true);
	if ((rc = reval(s, SESS_LUA_SESSION_PUT, 3, &a, &r)) == 0)
		rc = !is_int(r) ? YH_ERR_INTERNAL : r->integer == 1 ? 0 : YH_ERR_EXISTS;
	freeReplyObject(r);
	return rc;
}

static int
rd_s_get(struct sess_store *s, const char *key, bool touch, int64_t now, struct sess_info *out)
{
	struct rargs a;
	redisReply *r = NULL;
	const unsigned char *k;
	long long st;
	int rc;

	eval_init(&a);
	if ((k = key32(&a, key)) == NULL)
		return YH_ERR_NOT_FOUND;
	arg_sess_keys(s, &a, k);
	arg_i(&a, now);
	arg_s(&a, touch ? "1" : "0");
	arg_i(&a, grace_ms(s));
	arg(&a, (const char *)k, KEY32);
	if ((rc = reval(s, SESS_LUA_SESSION_GET, 2, &a, &r)) != 0)
		goto out;
	st = status_of(r);
	if (st == 0) {
		rc = YH_ERR_NOT_FOUND;
	} else if ((st == 1 || st == 2) && r->elements == 2) {
		if (parse_sess(r->element[1], key, out) != 0) {
			yh_error("redis: malformed session record");
			rc = YH_ERR_INTERNAL;
		} else if (st == 2)
			rc = YH_ERR_EXPIRED;
	} else {
		rc = YH_ERR_INTERNAL;
	}
out:
	freeReplyObject(r);
	return rc;
}

/* One t:<ticket> field of a session hash into e: false when it is not one. */
static bool
parse_cas(const redisReply *f, const redisReply *v, struct sess_cas_entry *e)
{
	const char *nl;
	size_t cl;

	if (f->len < 3 || memcmp(f->str, "t:", 2) != 0 || f->len - 2 >= sizeof(e->ticket) ||
	    (nl = memchr(v->str, '\n', v->len)) == NULL ||
	    (cl = (size_t)(nl - v->str)) == 0 || cl >= sizeof(e->client_id) ||
	    v->len - cl - 1 == 0 || v->len - cl - 1 >= sizeof(e->service))
		return false;
	memcpy(e->ticket, f->str + 2, f->len - 2);
	e->ticket[f->len - 2] = '\0';
	memcpy(e->client_id, v->str, cl);
	e->client_id[cl] = '\0';
	memcpy(e->service, nl + 1, v->len - cl - 1);
	e->service[v->len - cl - 1] = '\0';
	return true;
}

/* The CAS tickets of a session hash (HGETALL pairs, checked by parse_sess) into *out
 * (NULL when it has none). */
static int
cas_list_of(const redisReply *h, size_t n, struct sess_cas_list **out)
{
	struct sess_cas_list *l;

	*out = NULL;
	if (n == 0)
		return 0;
	if ((l = calloc(1, sizeof(*l) + n * sizeof(l->e[0]))) == NULL)
		return YH_ERR_ALLOC;
	for (size_t i = 0; i < h->elements && l->n < n; i += 2)
		if (parse_cas(h->element[i], h->element[i + 1], &l->e[l->n]))
			l->n++;
	*out = l;
	return 0;
}

static int
rd_s_take(struct sess_store *s, const char *key, bool only_expired, int64_t now,
    struct sess_info *out, struct sess_cas_list **cas)
{
	struct rargs a;
	redisReply *r = NULL;
	const unsigned char *k;
	long long st;
	int rc;

	eval_init(&a);
	if ((k = key32(&a, key)) == NULL)
		return YH_ERR_NOT_FOUND;
	arg_sess_keys(s, &a, k);
	arg_s(&a, only_expired ? "1" : "0");
	arg_i(&a, now);
	arg(&a, (const char *)k, KEY32);
	if ((rc = reval(s, SESS_LUA_SESSION_TAKE, 2, &a, &r)) != 0)
		goto out;
	st = status_of(r);
	if (st == 0)
		rc = YH_ERR_NOT_FOUND;
	else if (st == 3)
		rc = YH_ERR_BUSY;
	else if (st == 1 && r->elements == 2)
		rc = parse_sess(r->element[1], key, out) == 0 ? 0 : YH_ERR_NOT_FOUND;
	else
		rc = YH_ERR_INTERNAL;
	if (rc == 0 && cas != NULL && cas_list_of(r->element[1], out->ncas, cas) != 0)
		yh_error("session %s: no memory for its CAS tickets: no single logout", out->sid);
out:
	freeReplyObject(r);
	return rc;
}

static int
rd_s_rotate(struct sess_store *s, const char *old_key, const struct sess_info *rec)
{
	struct rargs a;
	redisReply *r = NULL;
	const unsigned char *ok, *nk;
	int rc;

	eval_init(&a);
	if ((ok = key32(&a, old_key)) == NULL || (nk = key32(&a, rec->key)) == NULL)
		return YH_ERR_NOT_FOUND;
	arg_sess_keys(s, &a, ok);
	arg_sess_keys(s, &a, nk);
	/* KEYS s:old, s:new, x:old, x:new: the middle two swap */
	{
		const char *v = a.v[4];
		size_t l = a.l[4];

		a.v[4] = a.v[5];
		a.l[4] = a.l[5];
		a.v[5] = v;
		a.l[5] = l;
	}
	if ((rc = arg_user_keys(s, &a, rec->uid, true)) != 0)
		return rc;
	arg(&a, (const char *)ok, KEY32);
	arg(&a, (const char *)nk, KEY32);
	arg_i(&a, rec->expires_ms + grace_ms(s));
	arg_i(&a, rec->expires_ms);
	arg_s(&a, a.tag);
	arg_rec(&a, rec, false);
	if ((rc = reval(s, SESS_LUA_SESSION_ROTATE, 6, &a, &r)) == 0)
		rc = !is_int(r) ? YH_ERR_INTERNAL : r->integer == 1 ? 0 :
		    r->integer == 0 ? YH_ERR_NOT_FOUND : YH_ERR_EXISTS;
	freeReplyObject(r);
	return rc;
}

/* Adds field = value to the session hash key, at most max fields of its kind (the
 * field's first two bytes). */
static int
rd_s_add_field(struct sess_store *s, const char *key, const char *field, const char *value,
    size_t max)
{
	char prefix[3] = { field[0], field[1], '\0' };
	struct rargs a;
	redisReply *r = NULL;
	const unsigned char *k;
	int rc;

	eval_init(&a);
	if ((k = key32(&a, key)) == NULL)
		return YH_ERR_NOT_FOUND;
	arg_key_bin(s, &a, "s:", k, KEY32);
	arg_s(&a, field);
	arg_s(&a, value);
	arg_s(&a, prefix);
	arg_i(&a, (int64_t)max);
	if ((rc = reval(s, SESS_LUA_SESSION_ADD_FIELD, 1, &a, &r)) == 0)
		rc = !is_int(r) ? YH_ERR_INTERNAL : r->integer == 1 ? 0 :
		    r->integer == 0 ? YH_ERR_NOT_FOUND : YH_ERR_LIMIT;
	freeReplyObject(r);
	return rc;
}

static int
rd_s_add_client(struct sess_store *s, const char *key, const char *client_id)
{
	char field[2 + SESS_CLIENT_MAX + 1];

	snprintf(field, sizeof(field), "c:%s", client_id);
	return rd_s_add_field(s, key, field, "1", SESS_CLIENTS_MAX);
}

/* t:<ticket> = client "\n" service (neither has control bytes: sess_add_cas_ticket). */
static int
rd_s_add_cas(struct sess_store *s, const char *key, const struct sess_cas_entry *e)
{
	char field[2 + SESS_TICKET_SIZE];
	char *value;
	int rc;

	if ((value = malloc(SESS_CLIENT_MAX + SESS_SERVICE_MAX + 2)) == NULL)
		return YH_ERR_ALLOC;
	snprintf(field, sizeof(field), "t:%s", e->ticket);
	snprintf(value, SESS_CLIENT_MAX + SESS_SERVICE_MAX + 2, "%s\n%s", e->client_id,
	    e->service);
	rc = rd_s_add_field(s, key, field, value, SESS_CAS_MAX);
	yh_wipe(field, sizeof(field));
	free(value);
	return rc;
}

/* SMEMBERS of P<kind><name> into out (items of size bytes, checked by ok). */
static int
rd_members(struct sess_store *s, const char *kind, const char *name, char *out, size_t size,
    size_t max, size_t *n, bool (*ok)(const char *))
{
	struct rargs a;
	redisReply *r = NULL;
	int rc;

	*n = 0;
	memset(&a, 0, sizeof(a));
	arg_s(&a, "SMEMBERS");
	arg_key(s, &a, kind, name);
	if ((rc = rcmd(s, &a, &r)) != 0)
		return rc;
	if (r->type != REDIS_REPLY_ARRAY) {
		rc = YH_ERR_INTERNAL;
		goto out;
	}
	for (size_t i = 0; i < r->elements && *n < max; i++) {
		char *dst = out + *n * size;

		if (str_copy(r->element[i], dst, size) && ok(dst))
			(*n)++;
	}
out:
	freeReplyObject(r);
	return rc;
}

static bool
pubid_ok(const char *k)
{
	return sess_pubid_ok(k);
}

/* The key32 strings of reply array r (from element first on) as hex keys into keys (at
 * most max); others are skipped. */
static void
keys_of(const redisReply *r, size_t first, char (*keys)[SESS_KEY_SIZE], size_t max, size_t *n)
{
	for (size_t i = first; i < r->elements && *n < max; i++) {
		const redisReply *e = r->element[i];

		if (e->type == REDIS_REPLY_STRING && e->len == KEY32)
			yh_hex_encode((const unsigned char *)e->str, KEY32, keys[(*n)++]);
	}
}

static int
rd_s_user_keys(struct sess_store *s, const char *uid, char (*keys)[SESS_KEY_SIZE], size_t max,
    size_t *n)
{
	struct rargs a;
	redisReply *r = NULL;
	int rc;

	*n = 0;
	eval_init(&a);
	if ((rc = arg_user_keys(s, &a, uid, true)) != 0)
		return rc;
	arg_s(&a, a.tag);
	if ((rc = reval(s, SESS_LUA_SESSION_USER_KEYS, 2, &a, &r)) != 0)
		return rc;
	if (r->type == REDIS_REPLY_ARRAY)
		keys_of(r, 0, keys, max, n);
	else
		rc = YH_ERR_INTERNAL;
	freeReplyObject(r);
	return rc;
}

/* A command whose reply does not matter beyond success. */
static int
rd_simple(struct sess_store *s, struct rargs *a)
{
	redisReply *r = NULL;
	int rc = rcmd(s, a, &r);

	freeReplyObject(r);
	return rc;
}

static void
rd_s_user_unlink(struct sess_store *s, const char *uid, const char *key)
{
	struct rargs a;
	redisReply *r = NULL;
	const unsigned char *k;

	eval_init(&a);
	if ((k = key32(&a, key)) == NULL || arg_user_keys(s, &a, uid, true) != 0)
		return;
	arg(&a, (const char *)k, KEY32);
	if (reval(s, SESS_LUA_SESSION_USER_UNLINK, 2, &a, &r) != 0)
		yh_debug("redis: a user index entry stays (the sweep's scan drops it)");
	freeReplyObject(r);
}

/* Scans count expiry shards from *shard on for at most max keys past now, appended to
 * keys (*n of them); *shard becomes where the next scan starts. */
static int
expired_scan(struct sess_store *s, unsigned *shard, unsigned count, int64_t now,
    char (*keys)[SESS_KEY_SIZE], size_t max, size_t *n)
{
	struct rargs a;
	redisReply *r = NULL;
	char base[KEYBUF];
	int rc;

	eval_init(&a);
	snprintf(base, sizeof(base), "%sx:", s->prefix);
	arg_s(&a, base);
	arg_i(&a, XSHARDS);
	arg_i(&a, *shard);
	arg_i(&a, count);
	arg_i(&a, now);
	arg_i(&a, (int64_t)(max - *n));
	if ((rc = reval(s, SESS_LUA_SESSION_EXPIRED, 0, &a, &r)) != 0)
		return rc;
	if (is_arr(r, 1, max - *n + 1) && is_int(r->element[0]) &&
	    r->element[0]->integer >= 0) {
		*shard = (unsigned)(r->element[0]->integer % XSHARDS);
		keys_of(r, 1, keys, max, n);
	} else {
		rc = YH_ERR_INTERNAL;
	}
	freeReplyObject(r);
	return rc;
}

/* Goes round the expiry index's shards from where the last call stopped, XSCAN per
 * script call (a sixteenth of the pass: about 7 ms of Redis time with a million
 * sessions on a loaded 2-core machine), until max keys are found or every shard was
 * scanned once. */
static int
rd_s_expired_keys(struct sess_store *s, int64_t now, char (*keys)[SESS_KEY_SIZE], size_t max,
    size_t *n)
{
	struct rds *rd = s->be;
	unsigned shard = atomic_load(&rd->sweep_shard) % XSHARDS;
	int rc = 0;

	*n = 0;
	/* at max, shard is where the scan stopped (it may hold more) */
	for (unsigned done = 0; done < XSHARDS && *n < max; done += XSCAN)
		if ((rc = expired_scan(s, &shard, XSCAN, now, keys, max, n)) != 0)
			break;
	atomic_store(&rd->sweep_shard, shard);
	return rc;
}

/* Part of each sweep until none is left: moves the entries of an older version's
 * expiry sets that are due into the current ones (session_expired_move.lua), for the
 * expiry scan to end them; at most XMOVE_MAX per sweep. */
static void
expired_move_old(struct sess_store *s, int64_t now)
{
	struct rds *rd = s->be;
	char base[KEYBUF], sk[KEYBUF];
	long long left = -1, moved = 0;

	if (atomic_load(&rd->old_x_gone))
		return;
	snprintf(base, sizeof(base), "%sx:", s->prefix);
	snprintf(sk, sizeof(sk), "%ss:", s->prefix);
	while (left < 0 && moved < XMOVE_MAX) {
		struct rargs a;
		redisReply *r = NULL;
		bool ok;

		eval_init(&a);
		arg_s(&a, base);
		arg_s(&a, sk);
		arg_i(&a, now);
		arg_i(&a, XMOVE);
		ok = reval(s, SESS_LUA_SESSION_EXPIRED_MOVE, 0, &a, &r) == 0 && is_arr(r, 2, 2) &&
		    is_int(r->element[0]) && is_int(r->element[1]);
		if (ok) {
			left = r->element[0]->integer;
			moved += r->element[1]->integer;
		}
		freeReplyObject(r);
		if (!ok)
			return;
	}
	if (moved > 0)
		yh_debug("redis: %lld entries of the older expiry index moved", moved);
	if (left == 0) {
		yh_info("redis: the older expiry index (%sx:000 .. x:3ff) is empty", s->prefix);
		atomic_store(&rd->old_x_gone, true);
	}
}

/* Part of each sweep, before its expiry scan: moves the due entries of an older
 * version's expiry index (expired_move_old), and scans the next UISCAN shards of the
 * user index for entries whose session record is gone (index_clean.lua), so no entry
 * outlives its session for long (a full pass takes UISHARDS / UISCAN sweeps). */
static void
rd_purge(struct sess_store *s, int64_t now)
{
	struct rds *rd = s->be;
	struct rargs a;
	redisReply *r = NULL;
	char ui[KEYBUF], sk[KEYBUF];

	expired_move_old(s, now);
	eval_init(&a);
	snprintf(ui, sizeof(ui), "%sui:", s->prefix);
	snprintf(sk, sizeof(sk), "%ss:", s->prefix);
	arg_s(&a, ui);
	arg_s(&a, sk);
	arg_i(&a, UISHARDS);
	arg_i(&a, atomic_load(&rd->clean_shard) % UISHARDS);
	arg_i(&a, UISCAN);
	if (reval(s, SESS_LUA_SESSION_INDEX_CLEAN, 0, &a, &r) == 0 && is_arr(r, 2, 2) &&
	    is_int(r->element[0]) && is_int(r->element[1])) {
		atomic_store(&rd->clean_shard, (unsigned)(r->element[0]->integer % UISHARDS));
		if (r->element[1]->integer > 0)
			yh_debug("redis: %lld user index entries of vanished sessions dropped",
			    r->element[1]->integer);
	}
	freeReplyObject(r);
}

/* ---- codes ---------------------------------------------------------------------------- */

static int
rd_code_put(struct sess_store *s, const char *key, const char *payload, int64_t ttl_ms)
{
	struct rargs a;
	redisReply *r = NULL;
	int rc;

	eval_init(&a);
	arg_key(s, &a, "c:", key);
	arg_s(&a, payload);
	arg_i(&a, ttl_ms);
	if ((rc = reval(s, SESS_LUA_CODE_PUT, 1, &a, &r)) == 0)
		rc = !is_int(r) ? YH_ERR_INTERNAL : r->integer == 1 ? 0 : YH_ERR_EXISTS;
	freeReplyObject(r);
	return rc;
}

static int
rd_code_take(struct sess_store *s, const char *key, const char *issued, char **payload,
    char **prev_issued)
{
	struct rargs a;
	redisReply *r = NULL;
	long long st;
	int rc;

	*payload = NULL;
	*prev_issued = NULL;
	eval_init(&a);
	arg_key(s, &a, "c:", key);
	arg_s(&a, issued);
	if ((rc = reval(s, SESS_LUA_CODE_TAKE, 1, &a, &r)) != 0)
		goto out;
	st = status_of(r);
	if (st == 0) {
		rc = YH_ERR_NOT_FOUND;
	} else if (st == 1 && r->elements == 2) {
		rc = (*payload = str_dup(r->element[1], SESS_PAYLOAD_MAX)) != NULL ? 0 :
		    YH_ERR_INTERNAL;
	} else if (st == 2 && r->elements == 3) {
		*payload = str_dup(r->element[1], SESS_PAYLOAD_MAX);
		*prev_issued = str_dup(r->element[2], SESS_NAME_MAX);
		rc = *payload != NULL && *prev_issued != NULL ? YH_ERR_REPLAY : YH_ERR_INTERNAL;
	} else {
		rc = YH_ERR_INTERNAL;
	}
out:
	if (rc != 0 && rc != YH_ERR_REPLAY) {
		free(*payload);
		free(*prev_issued);
		*payload = *prev_issued = NULL;
	}
	freeReplyObject(r);
	return rc;
}

/* ---- flows ---------------------------------------------------------------------------- */

static int
rd_flow_put(struct sess_store *s, const char *key, const char *payload, int64_t ttl_ms)
{
	struct rargs a;
	redisReply *r = NULL;
	int rc;

	memset(&a, 0, sizeof(a));
	arg_s(&a, "SET");
	arg_key(s, &a, "w:", key);
	arg_s(&a, payload);
	arg_s(&a, "NX");
	arg_s(&a, "PX");
	arg_i(&a, ttl_ms);
	if ((rc = rcmd(s, &a, &r)) != 0)
		return rc;
	rc = r->type == REDIS_REPLY_NIL ? YH_ERR_EXISTS : r->type == REDIS_REPLY_STATUS ? 0 :
	    YH_ERR_INTERNAL;
	freeReplyObject(r);
	return rc;
}

static int
rd_flow_get(struct sess_store *s, const char *key, char **payload)
{
	struct rargs a;
	redisReply *r = NULL;
	int rc;

	*payload = NULL;
	memset(&a, 0, sizeof(a));
	arg_s(&a, "GET");
	arg_key(s, &a, "w:", key);
	if ((rc = rcmd(s, &a, &r)) != 0)
		return rc;
	if (r->type == REDIS_REPLY_NIL)
		rc = YH_ERR_NOT_FOUND;
	else if ((*payload = str_dup(r, SESS_PAYLOAD_MAX)) == NULL)
		rc = YH_ERR_INTERNAL;
	freeReplyObject(r);
	return rc;
}

static int
rd_flow_swap(struct sess_store *s, const char *key, const char *expect, const char *payload)
{
	struct rargs a;
	redisReply *r = NULL;
	int rc;

	eval_init(&a);
	arg_key(s, &a, "w:", key);
	arg_s(&a, expect);
	arg_s(&a, payload);
	if ((rc = reval(s, SESS_LUA_FLOW_SWAP, 1, &a, &r)) == 0)
		rc = !is_int(r) ? YH_ERR_INTERNAL : r->integer == 1 ? 0 :
		    r->integer == 2 ? YH_ERR_BUSY : YH_ERR_NOT_FOUND;
	freeReplyObject(r);
	return rc;
}

/* ---- refresh families ----------------------------------------------------------------- */

static int
rd_fam_put(struct sess_store *s, const struct sess_family *f, const char *payload,
    int64_t ttl_ms, const char *token_key)
{
	struct rargs a;
	redisReply *r = NULL;
	char *j;
	int rc;

	if ((j = sess_family_json(f)) == NULL)
		return YH_ERR_ALLOC;
	eval_init(&a);
	arg_key(s, &a, "rf:", f->id);
	arg_key(s, &a, "rt:", token_key);
	arg_key(s, &a, "uf:", f->uid);
	arg_s(&a, j);
	arg_s(&a, payload);
	arg_s(&a, token_key);
	arg_i(&a, ttl_ms);
	arg_s(&a, f->id);
	if ((rc = reval(s, SESS_LUA_FAMILY_PUT, 3, &a, &r)) == 0)
		rc = !is_int(r) ? YH_ERR_INTERNAL : r->integer == 1 ? 0 : YH_ERR_EXISTS;
	freeReplyObject(r);
	free(j);
	return rc;
}

/* Fills f from a family's id and attribute JSON reply strings. */
static int
fam_fill(const redisReply *id, const redisReply *j, struct sess_family *f)
{
	if (!str_copy(id, f->id, sizeof(f->id)) || !sess_pubid_ok(f->id) || !is_str(j, 1024) ||
	    sess_family_parse(j->str, j->len, f) != 0)
		return YH_ERR_INTERNAL;
	return 0;
}

static int
rt_step(struct sess_store *s, bool rotate, const char *key, const char *new_key,
    struct sess_family *f, char **payload)
{
	char famkey[64];
	struct rargs a;
	redisReply *r = NULL;
	long long st;
	int rc;

	if (payload != NULL)
		*payload = NULL;
	snprintf(famkey, sizeof(famkey), "%srf:", s->prefix);
	eval_init(&a);
	arg_key(s, &a, "rt:", key);
	arg_key(s, &a, "rt:", rotate ? new_key : key);
	arg_s(&a, rotate ? "rot" : "peek");
	arg_s(&a, key);
	arg_s(&a, rotate ? new_key : "");
	arg_s(&a, famkey);
	if ((rc = reval(s, SESS_LUA_REFRESH_STEP, 2, &a, &r)) != 0)
		goto out;
	st = status_of(r);
	if (st == 0) {
		rc = YH_ERR_NOT_FOUND;
	} else if ((st == 2 || st == 3) && r->elements == 3) {
		rc = fam_fill(r->element[1], r->element[2], f);
		if (rc == 0)
			rc = st == 2 ? YH_ERR_REPLAY : YH_ERR_DENIED;
	} else if (st == 1 && r->elements == 4) {
		rc = fam_fill(r->element[1], r->element[2], f);
		if (rc == 0 && payload != NULL &&
		    (*payload = str_dup(r->element[3], SESS_PAYLOAD_MAX)) == NULL)
			rc = YH_ERR_INTERNAL;
	} else {
		rc = YH_ERR_INTERNAL;
	}
out:
	freeReplyObject(r);
	return rc;
}

static int
rd_rt_rotate(struct sess_store *s, const char *old_key, const char *new_key,
    struct sess_family *f, char **payload)
{
	return rt_step(s, true, old_key, new_key, f, payload);
}

static int
rd_rt_peek(struct sess_store *s, const char *key, struct sess_family *f, char **payload)
{
	return rt_step(s, false, key, NULL, f, payload);
}

static int
rd_rt_family(struct sess_store *s, const char *key, char id[SESS_PUBID_SIZE])
{
	struct rargs a;
	redisReply *r = NULL;
	int rc;

	id[0] = '\0';
	memset(&a, 0, sizeof(a));
	arg_s(&a, "GET");
	arg_key(s, &a, "rt:", key);
	if ((rc = rcmd(s, &a, &r)) != 0)
		return rc;
	if (r->type == REDIS_REPLY_NIL)
		rc = YH_ERR_NOT_FOUND;
	else if (!str_copy(r, id, SESS_PUBID_SIZE) || !sess_pubid_ok(id))
		rc = YH_ERR_INTERNAL;
	freeReplyObject(r);
	return rc;
}

static int
rd_fam_get(struct sess_store *s, const char *id, struct sess_family *f)
{
	struct rargs a;
	redisReply *r = NULL;
	int rc;

	memset(f, 0, sizeof(*f));
	memset(&a, 0, sizeof(a));
	arg_s(&a, "HGET");
	arg_key(s, &a, "rf:", id);
	arg_s(&a, "j");
	if ((rc = rcmd(s, &a, &r)) != 0)
		return rc;
	if (r->type == REDIS_REPLY_NIL)
		rc = YH_ERR_NOT_FOUND;
	else if (!is_str(r, 1024) || sess_family_parse(r->str, r->len, f) != 0 ||
	    yh_strlcpy(f->id, id, sizeof(f->id)) != 0)
		rc = YH_ERR_INTERNAL;
	freeReplyObject(r);
	return rc;
}

static int
rd_fam_revoke(struct sess_store *s, const char *id)
{
	struct rargs a;
	redisReply *r = NULL;
	int rc;

	eval_init(&a);
	arg_key(s, &a, "rf:", id);
	if ((rc = reval(s, SESS_LUA_FAMILY_REVOKE, 1, &a, &r)) == 0)
		rc = !is_int(r) ? YH_ERR_INTERNAL : r->integer == 1 ? 0 :
		    r->integer == 2 ? YH_ERR_EXISTS : YH_ERR_NOT_FOUND;
	freeReplyObject(r);
	return rc;
}

static int
rd_fam_user(struct sess_store *s, const char *uid, char (*ids)[SESS_PUBID_SIZE], size_t max,
    size_t *n)
{
	return rd_members(s, "uf:", uid, ids[0], SESS_PUBID_SIZE, max, n, pubid_ok);
}

/* ---- counters and locks --------------------------------------------------------------- */

static int
rd_cnt_incr(struct sess_store *s, const char *key, int64_t window_ms, int64_t *n)
{
	struct rargs a;
	redisReply *r = NULL;
	int rc;

	*n = 0;
	eval_init(&a);
	arg_key(s, &a, "k:", key);
	arg_i(&a, window_ms);
	if ((rc = reval(s, SESS_LUA_COUNTER_INCR, 1, &a, &r)) == 0) {
		if (is_int(r))
			*n = r->integer;
		else
			rc = YH_ERR_INTERNAL;
	}
	freeReplyObject(r);
	return rc;
}

static int
rd_cnt_get(struct sess_store *s, const char *key, int64_t *n)
{
	struct rargs a;
	redisReply *r = NULL;
	int rc;

	*n = 0;
	memset(&a, 0, sizeof(a));
	arg_s(&a, "GET");
	arg_key(s, &a, "k:", key);
	if ((rc = rcmd(s, &a, &r)) != 0)
		return rc;
	if (r->type != REDIS_REPLY_NIL && !str_i64(r, n))
		rc = YH_ERR_INTERNAL;
	freeReplyObject(r);
	return rc;
}

static int
rd_del(struct sess_store *s, const char *kind, const char *key)
{
	struct rargs a;

	memset(&a, 0, sizeof(a));
	arg_s(&a, "DEL");
	arg_key(s, &a, kind, key);
	return rd_simple(s, &a);
}

static int
rd_cnt_del(struct sess_store *s, const char *key)
{
	return rd_del(s, "k:", key);
}

static int
rd_lock_set(struct sess_store *s, const char *key, int64_t ms)
{
	struct rargs a;

	if (ms <= 0)
		return rd_del(s, "l:", key);
	memset(&a, 0, sizeof(a));
	arg_s(&a, "SET");
	arg_key(s, &a, "l:", key);
	arg_s(&a, "1");
	arg_s(&a, "PX");
	arg_i(&a, ms);
	return rd_simple(s, &a);
}

static int
rd_lock_ttl(struct sess_store *s, const char *key, int64_t *ms)
{
	struct rargs a;
	redisReply *r = NULL;
	int rc;

	*ms = 0;
	memset(&a, 0, sizeof(a));
	arg_s(&a, "PTTL");
	arg_key(s, &a, "l:", key);
	if ((rc = rcmd(s, &a, &r)) != 0)
		return rc;
	if (!is_int(r))
		rc = YH_ERR_INTERNAL;
	else if (r->integer == -1)
		*ms = INT64_MAX / 2;     /* a lock without expiry: locked until removed */
	else if (r->integer > 0)
		*ms = r->integer;
	freeReplyObject(r);
	return rc;
}

/* ---- denylist ---------------------------------------------------------------------------- */

static int
rd_deny_put(struct sess_store *s, const char *key, int64_t ms)
{
	struct rargs a;
	redisReply *r = NULL;
	int rc;

	eval_init(&a);
	arg_key(s, &a, "d:", key);
	arg_i(&a, ms);
	if ((rc = reval(s, SESS_LUA_DENY_PUT, 1, &a, &r)) == 0 && !is_int(r))
		rc = YH_ERR_INTERNAL;
	freeReplyObject(r);
	return rc;
}

static int
rd_deny_get(struct sess_store *s, const char *key)
{
	struct rargs a;
	redisReply *r = NULL;
	int rc;

	memset(&a, 0, sizeof(a));
	arg_s(&a, "EXISTS");
	arg_key(s, &a, "d:", key);
	if ((rc = rcmd(s, &a, &r)) != 0)
		return rc;
	rc = !is_int(r) ? YH_ERR_INTERNAL : r->integer == 1 ? 0 : YH_ERR_NOT_FOUND;
	freeReplyObject(r);
	return rc;
}

/* ---- events ----------------------------------------------------------------------------- */

static const char *
type_name(enum sess_event_type t)
{
	return t == SESS_EV_ENDED ? "end" : t == SESS_EV_CHANGED ? "chg" : "resync";
}

static void
rd_publish(struct sess_store *s, const struct sess_event *ev)
{
	struct rds *rd = s->be;
	struct rargs a;
	json_t *o;
	char *msg = NULL;

	o = json_pack("{s:s,s:s,s:i,s:s,s:s,s:s,s:s}", "n", s->node, "t", type_name(ev->type),
	    "r", (int)ev->reason, "k", ev->key, "nk", ev->new_key != NULL ? ev->new_key : "",
	    "s", ev->sid, "u", ev->uid);
	if (o == NULL || (msg = json_dumps(o, JSON_COMPACT)) == NULL) {
		json_decref(o);
		return;
	}
	json_decref(o);
	memset(&a, 0, sizeof(a));
	arg_s(&a, "PUBLISH");
	arg_s(&a, rd->chan);
	arg_s(&a, msg);
	if (rd_simple(s, &a) != 0)
		yh_warn("redis: session event not published (other nodes learn it on access)");
	free(msg);
}

static const char *
jstr(json_t *o, const char *name, size_t max)
{
	json_t *v = json_object_get(o, name);

	if (!json_is_string(v) || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return json_string_value(v);
}

/* Parses one pub/sub message and hands it to the handler (unless it is our own). */
static void
deliver_message(struct sess_store *s, const char *msg, size_t len)
{
	struct sess_event ev = { 0 };
	json_error_t jerr;
	json_t *o, *r;
	const char *node, *type, *nk;

	if (len > MSG_MAX || (o = json_loadb(msg, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return;
	node = jstr(o, "n", SESS_PUBID_SIZE);
	type = jstr(o, "t", 8);
	ev.key = jstr(o, "k", SESS_KEY_SIZE);
	nk = jstr(o, "nk", SESS_KEY_SIZE);
	ev.sid = jstr(o, "s", SESS_PUBID_SIZE);
	ev.uid = jstr(o, "u", SESS_UID_MAX);
	r = json_object_get(o, "r");
	if (node == NULL || type == NULL || ev.key == NULL || nk == NULL || ev.sid == NULL ||
	    ev.uid == NULL || !json_is_integer(r) || json_integer_value(r) < 0 ||
	    json_integer_value(r) > SESS_CHANGED_ROTATED || !sess_key_ok(ev.key))
		goto out;
	if (strcmp(node, s->node) == 0)
		goto out;
	if (strcmp(type, "end") == 0) {
		ev.type = SESS_EV_ENDED;
	} else if (strcmp(type, "chg") == 0 && sess_key_ok(nk)) {
		ev.type = SESS_EV_CHANGED;
		ev.new_key = nk;
	} else {
		goto out;
	}
	ev.reason = (enum sess_reason)json_integer_value(r);
	sess_deliver_remote(s, &ev);
out:
	json_decref(o);
}

static void
handle_pubsub_reply(struct sess_store *s, const redisReply *r)
{
	if (!is_arr(r, 3, 3) || !is_str(r->element[0], 16) || !is_str(r->element[2], MSG_MAX))
		return;
	if (r->element[0]->len == 7 && memcmp(r->element[0]->str, "message", 7) == 0)
		deliver_message(s, r->element[2]->str, r->element[2]->len);
}

/* Connects and subscribes; NULL on failure. */
static redisContext *
subscribe(struct sess_store *s)
{
	struct rds *rd = s->be;
	redisContext *c = connect_ctx(s);
	redisReply *r;

	if (c == NULL)
		return NULL;
	r = redisCommand(c, "SUBSCRIBE %s", rd->chan);
	if (r == NULL || !is_arr(r, 3, 3)) {
		freeReplyObject(r);
		redisFree(c);
		return NULL;
	}
	freeReplyObject(r);
	return c;
}

/* Waits up to ms for the stop signal; true when stopping. */
static bool
sub_wait(struct rds *rd, int fd, int ms, bool *readable)
{
	struct pollfd p[2] = { { .fd = rd->wake[0], .events = POLLIN },
		{ .fd = fd, .events = POLLIN } };

	*readable = false;
	if (poll(p, fd >= 0 ? 2 : 1, ms) > 0) {
		if (p[0].revents != 0)
			return true;
		*readable = fd >= 0 && p[1].revents != 0;
	}
	return atomic_load(&rd->stop);
}

static void
sub_first_done(struct rds *rd)
{
	pthread_mutex_lock(&rd->sub_lock);
	rd->sub_tried = true;
	pthread_cond_broadcast(&rd->sub_cond);
	pthread_mutex_unlock(&rd->sub_lock);
}

static void *
sub_main(void *arg)
{
	struct sess_store *s = arg;
	struct rds *rd = s->be;
	redisContext *c = NULL;
	bool first = true, readable;
	unsigned gen = atomic_load(&rd->gen);

	while (!atomic_load(&rd->stop)) {
		void *reply = NULL;

		if (c != NULL && gen != atomic_load(&rd->gen)) {   /* a failover: the new master */
			redisFree(c);
			c = NULL;
		}
		if (c == NULL) {
			gen = atomic_load(&rd->gen);
			c = subscribe(s);
			if (first)
				sub_first_done(rd);
			if (c == NULL) {
				first = false;
				if (sub_wait(rd, -1, RETRY_MS, &readable))
					break;
				continue;
			}
			if (!first) {
				struct sess_event ev = { .type = SESS_EV_RESYNC, .key = "",
					.sid = "", .uid = "" };

				yh_info("redis: session events resubscribed");
				sess_deliver_remote(s, &ev);
			}
			first = false;
		}
		if (redisGetReplyFromReader(c, &reply) != REDIS_OK) {
			redisFree(c);
			c = NULL;
			continue;
		}
		if (reply != NULL) {
			handle_pubsub_reply(s, reply);
			freeReplyObject(reply);
			continue;
		}
		if (sub_wait(rd, c->fd, 1000, &readable))
			break;
		if (readable && redisBufferRead(c) != REDIS_OK) {
			yh_warn("redis: event subscription lost; reconnecting");
			redisFree(c);
			c = NULL;
		}
	}
	if (first)
		sub_first_done(rd);
	redisFree(c);
	return NULL;
}

/* ---- Sentinel watcher -------------------------------------------------------------------- */

/* Subscribes to +switch-master on the next sentinel that answers; NULL when none. */
static redisContext *
sentinel_subscribe(struct sess_store *s)
{
	struct rds *rd = s->be;
	unsigned first = atomic_load(&rd->next_sent);

	for (size_t k = 0; k < rd->nsent; k++) {
		size_t i = (first + k) % rd->nsent;
		redisContext *c = connect_to(s, rd->sent[i].host, rd->sent[i].port);
		redisReply *r;

		if (c == NULL)
			continue;
		r = redisCommand(c, "SUBSCRIBE +switch-master");
		if (is_arr(r, 3, 3)) {
			freeReplyObject(r);
			return c;
		}
		freeReplyObject(r);
		redisFree(c);
	}
	return NULL;
}

/* A +switch-master message ("NAME OLD-IP OLD-PORT NEW-IP NEW-PORT"): a failover of our
 * master makes every pooled connection go. */
static void
handle_switch(struct sess_store *s, const redisReply *r)
{
	struct rds *rd = s->be;
	const redisReply *m;
	size_t nl = strlen(s->cfg.redis_master);

	if (!is_arr(r, 3, 3) || !is_str(r->element[0], 16) || r->element[0]->len != 7 ||
	    memcmp(r->element[0]->str, "message", 7) != 0 || !is_str(m = r->element[2], 512))
		return;
	if (m->len > nl && memcmp(m->str, s->cfg.redis_master, nl) == 0 && m->str[nl] == ' ') {
		yh_warn("redis: sentinel reports a failover: %.*s", (int)m->len, m->str);
		atomic_fetch_add(&rd->gen, 1);
	}
}

static void *
watch_main(void *arg)
{
	struct sess_store *s = arg;
	struct rds *rd = s->be;
	redisContext *c = NULL;
	bool readable;

	while (!atomic_load(&rd->stop)) {
		void *reply = NULL;

		if (c == NULL && (c = sentinel_subscribe(s)) == NULL) {
			if (sub_wait(rd, -1, 1000, &readable))
				break;
			continue;
		}
		if (redisGetReplyFromReader(c, &reply) != REDIS_OK) {
			redisFree(c);
			c = NULL;
			continue;
		}
		if (reply != NULL) {
			handle_switch(s, reply);
			freeReplyObject(reply);
			continue;
		}
		if (sub_wait(rd, c->fd, 1000, &readable))
			break;
		if (readable && redisBufferRead(c) != REDIS_OK) {
			/* another sentinel; a failover meanwhile shows in the master's answers */
			redisFree(c);
			c = NULL;
		}
	}
	redisFree(c);
	return NULL;
}

/* ---- open / close ------------------------------------------------------------------------ */

static void
rd_close(struct sess_store *s)
{
	struct rds *rd = s->be;

	if (rd == NULL)
		return;
	if (rd->sub_running || rd->watch_running) {
		atomic_store(&rd->stop, true);
		if (write(rd->wake[1], "x", 1) < 0)
			yh_warn("redis: cannot wake the subscriber: %s", strerror(errno));
	}
	if (rd->sub_running)
		pthread_join(rd->sub, NULL);
	if (rd->watch_running)
		pthread_join(rd->watch, NULL);
	if (rd->wake[0] >= 0)
		close(rd->wake[0]);
	if (rd->wake[1] >= 0)
		close(rd->wake[1]);
	for (unsigned i = 0; rd->pool != NULL && i < rd->n; i++) {
		if (rd->pool[i].c != NULL)
			redisFree(rd->pool[i].c);
		pthread_mutex_destroy(&rd->pool[i].lock);
	}
	pthread_mutex_destroy(&rd->sub_lock);
	pthread_cond_destroy(&rd->sub_cond);
	pthread_mutex_destroy(&rd->addr_lock);
	free(rd->pool);
	free(rd);
	s->be = NULL;
}

static int
rd_open(struct sess_store *s)
{
	struct rds *rd;
	int64_t deadline;

	pthread_once(&script_once, scripts_hash);
	if ((rd = calloc(1, sizeof(*rd))) == NULL)
		return YH_ERR_ALLOC;
	s->be = rd;
	rd->wake[0] = rd->wake[1] = -1;
	pthread_mutex_init(&rd->sub_lock, NULL);
	pthread_cond_init(&rd->sub_cond, NULL);
	pthread_mutex_init(&rd->addr_lock, NULL);
	if (s->cfg.redis_sentinels != NULL &&
	    (net_hostport_list_parse(s->cfg.redis_sentinels, rd->sent, NET_HOSTPORT_LIST_MAX,
	    &rd->nsent, NULL, 0) != 0 || rd->nsent == 0)) {
		rd_close(s);
		return YH_ERR_CONFIG;
	}
	snprintf(rd->chan, sizeof(rd->chan), "%sevents", s->prefix);
	if ((rd->pool = calloc(s->cfg.redis_pool, sizeof(*rd->pool))) == NULL) {
		rd_close(s);
		return YH_ERR_ALLOC;
	}
	rd->n = s->cfg.redis_pool;
	for (unsigned i = 0; i < rd->n; i++)
		pthread_mutex_init(&rd->pool[i].lock, NULL);
	if (pipe2(rd->wake, O_CLOEXEC) != 0) {
		rd->wake[0] = rd->wake[1] = -1;
		rd_close(s);
		return YH_ERR_INTERNAL;
	}
	if (rd->nsent > 0) {
		if (pthread_create(&rd->watch, NULL, watch_main, s) != 0) {
			rd_close(s);
			return YH_ERR_INTERNAL;
		}
		rd->watch_running = true;
	}
	if (s->cfg.on_event != NULL) {
		if (pthread_create(&rd->sub, NULL, sub_main, s) != 0) {
			rd_close(s);
			return YH_ERR_INTERNAL;
		}
		rd->sub_running = true;
		/* wait (bounded) for the first subscription so no early event is missed */
		deadline = yh_mono_ms() + 4 * s->cfg.redis_timeout_ms;
		pthread_mutex_lock(&rd->sub_lock);
		while (!rd->sub_tried && yh_mono_ms() < deadline) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 20 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&rd->sub_cond, &rd->sub_lock, &ts);
		}
		pthread_mutex_unlock(&rd->sub_lock);
	}
	return 0;
}

static int
rd_ping(struct sess_store *s)
{
	struct rargs a;
	redisReply *r = NULL;
	int rc;

	memset(&a, 0, sizeof(a));
	arg_s(&a, "PING");
	if ((rc = rcmd(s, &a, &r)) == 0 && r->type != REDIS_REPLY_STATUS)
		rc = YH_ERR_UNAVAILABLE;
	freeReplyObject(r);
	return rc;
}

const struct sess_ops sess_redis_ops = {
	.name = "redis",
	.open = rd_open,
	.close = rd_close,
	.ping = rd_ping,
	.s_put = rd_s_put,
	.s_get = rd_s_get,
	.s_take = rd_s_take,
	.s_rotate = rd_s_rotate,
	.s_add_client = rd_s_add_client,
	.s_add_cas = rd_s_add_cas,
	.s_user_keys = rd_s_user_keys,
	.s_user_unlink = rd_s_user_unlink,
	.s_expired_keys = rd_s_expired_keys,
	.purge = rd_purge,
	.code_put = rd_code_put,
	.code_take = rd_code_take,
	.flow_put = rd_flow_put,
	.flow_get = rd_flow_get,
	.flow_swap = rd_flow_swap,
	.fam_put = rd_fam_put,
	.rt_rotate = rd_rt_rotate,
	.rt_peek = rd_rt_peek,
	.rt_family = rd_rt_family,
	.fam_get = rd_fam_get,
	.fam_revoke = rd_fam_revoke,
	.fam_user = rd_fam_user,
	.cnt_incr = rd_cnt_incr,
	.cnt_get = rd_cnt_get,
	.cnt_del = rd_cnt_del,
	.lock_set = rd_lock_set,
	.lock_ttl = rd_lock_ttl,
	.deny_put = rd_deny_put,
	.deny_get = rd_deny_get,
	.publish = rd_publish,
};
