/*
 * Unit tests for the session store. The same tests run against both backends: the
 * in-memory one and Redis, for which the binary starts its own redis-server on a free
 * loopback port (no persistence) and kills it by pid at the end. Two Redis-only tests
 * check pub/sub between two store instances (two authd nodes) and the fault path
 * (redis-server stopped and restarted mid-test).
 *
 * Time: each fixture gives its stores a clock (sess_config.now_ms) frozen at the real
 * time of its set-up, which only advance() moves on. With Redis, advance() also ages
 * every key under the fixture's prefix by as much (a TTL that runs out is deleted), so
 * what expires by Redis's own clock (codes, counters, locks, the denylist) expires as
 * if that time had passed. No test sleeps for an expiry, and what a test checks does
 * not depend on how fast the machine runs it.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include "common/metrics.h"
#define YH_SESS_INTERNAL   /* sess_rec_expiry, sess_rec_field: what Redis data meets */
#include "authd/session/sess.h"
#include "authd/ui/ua.h"
#include "common/buf.h"
#include "common/b64.h"
#include "common/secmem.h"
#include "common/timeutil.h"

/* ---- redis-server harness ------------------------------------------------------------- */

static pid_t redis_pid = -1;
static int redis_port;

static void
redis_kill(void)
{
	if (redis_pid > 0) {
		kill(redis_pid, SIGTERM);
		waitpid(redis_pid, NULL, 0);
		redis_pid = -1;
	}
}

static int
free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static bool
redis_pings(int port)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
	redisReply *r;
	bool ok = false;

	if (c != NULL && c->err == 0) {
		redisSetTimeout(c, tv);
		r = redisCommand(c, "PING");
		ok = r != NULL && r->type == REDIS_REPLY_STATUS;
		freeReplyObject(r);
	}
	redisFree(c);
	return ok;
}

/* Starts redis-server on redis_port and waits (at most 10 s) until it answers. */
static int
redis_start(void)
{
	char port[16];
	pid_t pid;

	snprintf(port, sizeof(port), "%d", redis_port);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("redis-server", "redis-server", "--save", "", "--appendonly", "no",
		    "--bind", "127.0.0.1", "--port", port, "--loglevel", "warning", (char *)NULL);
		_exit(127);
	}
	redis_pid = pid;
	for (int i = 0; i < 200; i++) {
		int st;

		if (redis_pings(redis_port))
			return 0;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			redis_pid = -1;
			return -1;
		}
		usleep(50000);
	}
	redis_kill();
	return -1;
}

/* ---- events --------------------------------------------------------------------------- */

#define EV_MAX 1024
#define UA_CHROME_WINDOWS "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 " \
	"(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"

struct evrec {
	enum sess_event_type type;
	enum sess_reason reason;
	char key[SESS_KEY_SIZE], new_key[SESS_KEY_SIZE], uid[SESS_UID_MAX + 1];
	bool origin, has_info;
	size_t nclients;
	size_t ncas;                     /* the CAS tickets of an ENDED event */
	char cas_ticket[4][SESS_TICKET_SIZE], cas_client[4][16];
	size_t cas_service_len[4];
	char cas_service_start[4][48];
};

struct evlog {
	pthread_mutex_t lock;
	struct evrec ev[EV_MAX];
	size_t n;
};

static void
on_event(void *ctx, const struct sess_event *e)
{
	struct evlog *l = ctx;
	struct evrec *r;

	pthread_mutex_lock(&l->lock);
	if (l->n < EV_MAX) {
		r = &l->ev[l->n++];
		memset(r, 0, sizeof(*r));
		r->type = e->type;
		r->reason = e->reason;
		snprintf(r->key, sizeof(r->key), "%s", e->key);
		snprintf(r->new_key, sizeof(r->new_key), "%s", e->new_key ? e->new_key : "");
		snprintf(r->uid, sizeof(r->uid), "%s", e->uid);
		r->origin = e->origin;
		r->has_info = e->info != NULL;
		r->nclients = e->info != NULL ? e->info->nclients : 0;
		r->ncas = e->cas != NULL ? e->cas->n : 0;
		for (size_t i = 0; i < r->ncas && i < 4; i++) {
			snprintf(r->cas_ticket[i], sizeof(r->cas_ticket[i]), "%s", e->cas->e[i].ticket);
			snprintf(r->cas_client[i], sizeof(r->cas_client[i]), "%s",
			    e->cas->e[i].client_id);
			snprintf(r->cas_service_start[i], sizeof(r->cas_service_start[i]), "%s",
			    e->cas->e[i].service);
			r->cas_service_len[i] = strlen(e->cas->e[i].service);
		}
	}
	pthread_mutex_unlock(&l->lock);
}

/* Counts events matching type/reason (reason 0: any) and key (NULL: any). */
static size_t
ev_count(struct evlog *l, enum sess_event_type type, enum sess_reason why, const char *key,
    bool origin)
{
	size_t n = 0;

	pthread_mutex_lock(&l->lock);
	for (size_t i = 0; i < l->n; i++)
		if (l->ev[i].type == type && (why == 0 || l->ev[i].reason == why) &&
		    (key == NULL || strcmp(l->ev[i].key, key) == 0) && l->ev[i].origin == origin)
			n++;
	pthread_mutex_unlock(&l->lock);
	return n;
}

/* Waits up to ms for at least want matching events. */
static bool
ev_wait(struct evlog *l, enum sess_event_type type, enum sess_reason why, const char *key,
    bool origin, size_t want, int ms)
{
	int64_t end = yh_mono_ms() + ms;

	while (yh_mono_ms() < end) {
		if (ev_count(l, type, why, key, origin) >= want)
			return true;
		usleep(10000);
	}
	return ev_count(l, type, why, key, origin) >= want;
}

/* ---- fixtures ------------------------------------------------------------------------- */

struct fx {
	enum sess_backend backend;
	struct sess_store *s, *s2;
	struct evlog log, log2;
	char prefix[32];
	int64_t clock_base;          /* the real time at set-up, ms */
	atomic_llong clock_off;      /* how far advance() moved the clock on, ms */
};

/* The stores' clock (sess_config.now_ms): clock_base + clock_off. */
static int64_t
fx_now(void *ctx)
{
	struct fx *f = ctx;

	return f->clock_base + (int64_t)atomic_load(&f->clock_off);
}

static unsigned prefix_seq;

static void
cfg_base(struct sess_config *c, struct fx *f, struct evlog *log)
{
	sess_config_defaults(c);
	c->backend = f->backend;
	c->sweep_interval_ms = 0;
	c->on_event = on_event;
	c->event_ctx = log;
	c->redis_port = redis_port;
	c->prefix = f->prefix;
	c->now_ms = fx_now;
	c->clock_ctx = f;
}

static struct sess_store *
open_with(struct sess_config *c)
{
	struct sess_store *s = NULL;

	assert_int_equal(sess_open(c, &s), 0);
	assert_non_null(s);
	return s;
}

static void
reopen(struct fx *f, int64_t idle, int64_t absolute)
{
	struct sess_config c;

	sess_close(f->s);
	cfg_base(&c, f, &f->log);
	c.idle_timeout_s = idle;
	c.absolute_timeout_s = absolute;
	f->s = open_with(&c);
}

static int
setup(void **state, enum sess_backend b)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct sess_config c;

	if (f == NULL)
		return -1;
	f->backend = b;
	f->clock_base = yh_now_ms();
	atomic_init(&f->clock_off, 0);
	pthread_mutex_init(&f->log.lock, NULL);
	pthread_mutex_init(&f->log2.lock, NULL);
	snprintf(f->prefix, sizeof(f->prefix), "t%u-%d:", ++prefix_seq, (int)getpid());
	cfg_base(&c, f, &f->log);
	if (sess_open(&c, &f->s) != 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
setup_mem(void **state)
{
	return setup(state, SESS_BACKEND_MEMORY);
}

static int
setup_redis(void **state)
{
	if (redis_pid <= 0)
		return -1;
	return setup(state, SESS_BACKEND_REDIS);
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	sess_close(f->s);
	sess_close(f->s2);
	pthread_mutex_destroy(&f->log.lock);
	pthread_mutex_destroy(&f->log2.lock);
	free(f);
	return 0;
}

static int
group_setup_redis(void **state)
{
	(void)state;
	redis_port = free_port();
	if (redis_port <= 0 || redis_start() != 0) {
		fprintf(stderr, "cannot start redis-server on 127.0.0.1:%d\n", redis_port);
		return -1;
	}
	return 0;
}

static int
group_teardown_redis(void **state)
{
	(void)state;
	redis_kill();
	return 0;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static const char *const AMR_PWD[] = { "pwd" };
static const char *const AMR_OTP[] = { "otp", "mfa" };

static void
login(struct sess_store *s, const char *uid, char token[SESS_TOKEN_SIZE], struct sess_info *info)
{
	struct sess_auth a = { .uid = uid, .loa = 1, .amr = AMR_PWD, .namr = 1,
		.ua = UA_CHROME_WINDOWS, .addr = "127.0.0.1" };

	assert_int_equal(sess_create(s, &a, token, info), 0);
}

/* True when any key under prefix, or any string or hash field or value, contains the
 * len bytes at needle (which may be binary). */
static bool
redis_holds_bin(const char *prefix, const void *needle, size_t len)
{
	struct timeval tv = { .tv_sec = 2, .tv_usec = 0 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", redis_port, tv);
	redisReply *keys, *v;
	bool found = false;

	assert_true(len >= 32);
	assert_non_null(c);
	assert_int_equal(c->err, 0);
	keys = redisCommand(c, "KEYS %s*", prefix);
	assert_non_null(keys);
	assert_int_equal(keys->type, REDIS_REPLY_ARRAY);
	assert_true(keys->elements > 0);
	for (size_t i = 0; i < keys->elements; i++) {
		const redisReply *k = keys->element[i];

		if (memmem(k->str, k->len, needle, len) != NULL)
			found = true;
		v = redisCommand(c, "TYPE %b", k->str, k->len);
		if (v != NULL && strcmp(v->str, "hash") == 0) {
			freeReplyObject(v);
			v = redisCommand(c, "HGETALL %b", k->str, k->len);
			for (size_t j = 0; v != NULL && j < v->elements; j++)
				if (memmem(v->element[j]->str, v->element[j]->len, needle, len) != NULL)
					found = true;
		} else if (v != NULL && strcmp(v->str, "string") == 0) {
			freeReplyObject(v);
			v = redisCommand(c, "GET %b", k->str, k->len);
			if (v != NULL && v->str != NULL && memmem(v->str, v->len, needle, len) != NULL)
				found = true;
		}
		freeReplyObject(v);
	}
	freeReplyObject(keys);
	redisFree(c);
	return found;
}

static bool
redis_holds(const char *prefix, const char *needle)
{
	return redis_holds_bin(prefix, needle, strlen(needle));
}

/* True when every key under prefix is in Redis's compact encoding (listpack for a hash
 * or sorted set, what a session's keys must stay in to cost few bytes). */
static bool
redis_all_compact(const char *prefix)
{
	struct timeval tv = { .tv_sec = 2, .tv_usec = 0 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", redis_port, tv);
	redisReply *keys, *v;
	bool compact = true;

	assert_non_null(c);
	assert_int_equal(c->err, 0);
	keys = redisCommand(c, "KEYS %s*", prefix);
	assert_non_null(keys);
	assert_true(keys->elements > 0);
	for (size_t i = 0; i < keys->elements; i++) {
		const redisReply *k = keys->element[i];

		v = redisCommand(c, "TYPE %b", k->str, k->len);
		assert_non_null(v);
		if (strcmp(v->str, "string") != 0) {
			freeReplyObject(v);
			v = redisCommand(c, "OBJECT ENCODING %b", k->str, k->len);
			assert_non_null(v);
			if (v->type != REDIS_REPLY_STRING || strcmp(v->str, "listpack") != 0) {
				fprintf(stderr, "%.*s: %s\n", (int)k->len, k->str, v->str);
				compact = false;
			}
		}
		freeReplyObject(v);
	}
	freeReplyObject(keys);
	redisFree(c);
	return compact;
}

/*
 * Ages every key under prefix that has a TTL by ms, as if Redis's clock had moved on:
 * a TTL of at most ms is deleted (it would have expired), a longer one shortened.
 */
static void
redis_age(const char *prefix, int64_t ms)
{
	struct timeval tv = { 2, 0 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", redis_port, tv);
	redisReply *keys, *t, *r;

	assert_non_null(c);
	assert_int_equal(c->err, 0);
	keys = redisCommand(c, "KEYS %s*", prefix);
	assert_non_null(keys);
	assert_int_equal(keys->type, REDIS_REPLY_ARRAY);
	for (size_t i = 0; i < keys->elements; i++) {
		const char *k = keys->element[i]->str;

		t = redisCommand(c, "PTTL %s", k);
		assert_non_null(t);
		assert_int_equal(t->type, REDIS_REPLY_INTEGER);
		if (t->integer > 0) {
			r = t->integer <= ms ? redisCommand(c, "DEL %s", k) :
			    redisCommand(c, "PEXPIRE %s %lld", k, (long long)(t->integer - ms));
			assert_non_null(r);
			assert_int_equal(r->type, REDIS_REPLY_INTEGER);
			freeReplyObject(r);
		}
		freeReplyObject(t);
	}
	freeReplyObject(keys);
	redisFree(c);
}

/* Moves the fixture's clock on by ms (and, with Redis, the keys' TTLs: redis_age). */
static void
advance(struct fx *f, int64_t ms)
{
	atomic_fetch_add(&f->clock_off, ms);
	if (f->backend == SESS_BACKEND_REDIS)
		redis_age(f->prefix, ms);
}

/* ---- tests ---------------------------------------------------------------------------- */

static void
test_create_get(void **state)
{
	struct fx *f = *state;
	struct sess_info a, b;
	char tok[SESS_TOKEN_SIZE], key[SESS_KEY_SIZE], bogus[SESS_TOKEN_SIZE];
	unsigned char raw[SESS_TOKEN_BYTES], md[32];
	size_t len = 0;
	unsigned mdlen = 0;

	login(f->s, "u-alice", tok, &a);
	assert_int_equal(strlen(tok), 43);
	assert_int_equal(strlen(a.sid), 22);
	assert_string_equal(a.uid, "u-alice");
	/* the key is the SHA-256 of the raw id, never the id itself */
	assert_int_equal(yh_b64url_decode(tok, 43, raw, sizeof(raw), &len), 0);
	assert_int_equal(EVP_Digest(raw, len, md, &mdlen, EVP_sha256(), NULL), 1);
	yh_hex_encode(md, 32, key);
	assert_string_equal(a.key, key);
	assert_int_equal(sess_get(f->s, tok, SESS_TOUCH, &b), 0);
	assert_string_equal(b.key, a.key);
	assert_string_equal(b.sid, a.sid);
	assert_string_equal(b.uid, "u-alice");
	assert_int_equal(b.loa, 1);
	assert_int_equal(b.namr, 1);
	assert_string_equal(b.amr[0], "pwd");
	/* Redis keeps the user agent's summary, which reads back as what it summarised */
	assert_string_equal(b.ua, f->backend == SESS_BACKEND_REDIS ? "Chrome / Windows" :
	    UA_CHROME_WINDOWS);
	assert_string_equal(ua_summarize(b.ua).browser, "Chrome");
	assert_string_equal(ua_summarize(b.ua).os, "Windows");
	assert_string_equal(b.addr, "127.0.0.1");
	assert_true(b.expires_ms > fx_now(f));
	assert_true(b.auth_time > 0);
	/* unknown, malformed, empty */
	memcpy(bogus, tok, sizeof(bogus));
	bogus[0] = bogus[0] == 'A' ? 'B' : 'A';
	assert_int_equal(sess_get(f->s, bogus, 0, &b), YH_ERR_NOT_FOUND);
	assert_int_equal(sess_get(f->s, "short", 0, &b), YH_ERR_NOT_FOUND);
	assert_int_equal(sess_get(f->s, "", 0, &b), YH_ERR_NOT_FOUND);
	assert_int_equal(sess_get(f->s, NULL, 0, &b), YH_ERR_NOT_FOUND);
	/* bad input to create */
	{
		const char *const bad_amr[] = { "PWD!" };
		struct sess_auth x = { .uid = "", .loa = 1 };

		assert_int_equal(sess_create(f->s, &x, bogus, NULL), YH_ERR_INVALID);
		assert_string_equal(bogus, "");
		x.uid = "u";
		x.loa = 5;
		assert_int_equal(sess_create(f->s, &x, bogus, NULL), YH_ERR_INVALID);
		x.loa = 1;
		x.amr = bad_amr;
		x.namr = 1;
		assert_int_equal(sess_create(f->s, &x, bogus, NULL), YH_ERR_INVALID);
	}
	assert_int_equal(sess_check(f->s, (char[32]){ 0 }, 32), 0);
	if (f->backend == SESS_BACKEND_REDIS) {
		/* the probe sees what is there: the key's 32 bytes; and the raw id is not */
		assert_int_equal(yh_hex_decode(a.key, 64, md, sizeof(md)), 0);
		assert_true(redis_holds_bin(f->prefix, md, sizeof(md)));
		assert_false(redis_holds(f->prefix, tok));
		assert_int_equal(yh_b64url_decode(tok, 43, raw, sizeof(raw), &len), 0);
		assert_false(redis_holds_bin(f->prefix, raw, len));
		/* the session, its expiry index and its user's index: compact hashes and sets
		 * (a real browser's User-Agent included) */
		assert_int_equal(sess_add_client(f->s, a.key, "portal-gov-service"), 0);
		assert_true(redis_all_compact(f->prefix));
	}
}

static void
test_config(void **state)
{
	struct fx *f = *state;
	struct sess_config c;
	struct sess_store *s = NULL;

	cfg_base(&c, f, &f->log);
	c.backend = SESS_BACKEND_REDIS;   /* the prefix matters to Redis only */
	c.prefix = "bad prefix";
	assert_int_equal(sess_open(&c, &s), YH_ERR_CONFIG);
	assert_null(s);
	c.prefix = "";
	assert_int_equal(sess_open(&c, &s), YH_ERR_CONFIG);
	c.prefix = "yh:";
	c.redis_port = 0;
	assert_int_equal(sess_open(&c, &s), YH_ERR_CONFIG);
	c.redis_port = 1;
	c.redis_db = 256;
	assert_int_equal(sess_open(&c, &s), YH_ERR_CONFIG);
	/* the timeouts within the option table's bounds (session.*_timeout), no others */
	{
		static const int64_t bad[][2] = {
			{ 0, 3600 }, { 59, 3600 }, { 86401, 3600 }, { 60, 299 },
			{ 60, 30 * 86400 + 1 },
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			cfg_base(&c, f, &f->log);
			c.idle_timeout_s = bad[i][0];
			c.absolute_timeout_s = bad[i][1];
			assert_int_equal(sess_open(&c, &s), YH_ERR_CONFIG);
			assert_null(s);
		}
	}
	cfg_base(&c, f, &f->log);
	c.idle_timeout_s = 60;
	c.absolute_timeout_s = 300;
	s = open_with(&c);
	sess_close(s);
	s = NULL;
	cfg_base(&c, f, &f->log);
	c.max_per_user = 0;
	assert_int_equal(sess_open(&c, &s), YH_ERR_CONFIG);
	cfg_base(&c, f, &f->log);
	c.backend = (enum sess_backend)7;
	assert_int_equal(sess_open(&c, &s), YH_ERR_CONFIG);
	sess_close(NULL);
}

static void
test_idle_timeout(void **state)
{
	struct fx *f = *state;
	struct sess_info a, b;
	char tok[SESS_TOKEN_SIZE];

	reopen(f, 60, 3600);
	login(f->s, "u-idle", tok, &a);
	assert_int_equal(sess_get(f->s, tok, SESS_TOUCH, &b), 0);
	advance(f, 59999);
	assert_int_equal(sess_get(f->s, tok, 0, &b), 0);
	advance(f, 1);
	assert_int_equal(sess_get(f->s, tok, SESS_TOUCH, &b), YH_ERR_EXPIRED);
	assert_int_equal(ev_count(&f->log, SESS_EV_ENDED, SESS_END_EXPIRED, a.key, true), 1);
	assert_int_equal(sess_get(f->s, tok, 0, &b), YH_ERR_NOT_FOUND);
}

static void
test_touch_extends(void **state)
{
	struct fx *f = *state;
	struct sess_info a, b;
	char tok[SESS_TOKEN_SIZE];

	reopen(f, 60, 3600);
	login(f->s, "u-touch", tok, &a);
	advance(f, 40000);
	assert_int_equal(sess_get(f->s, tok, SESS_TOUCH, &b), 0);
	assert_true(b.seen_ms == a.seen_ms + 40000);
	advance(f, 40000);
	/* 80 s after login but 40 s after the last use: alive */
	assert_int_equal(sess_get(f->s, tok, SESS_TOUCH, &b), 0);
	/* without SESS_TOUCH the idle timer runs on */
	advance(f, 40000);
	assert_int_equal(sess_get(f->s, tok, 0, &b), 0);
	advance(f, 20000);
	assert_int_equal(sess_get(f->s, tok, SESS_TOUCH, &b), YH_ERR_EXPIRED);
}

static void
test_absolute_timeout(void **state)
{
	struct fx *f = *state;
	struct sess_info a, b;
	char tok[SESS_TOKEN_SIZE];

	reopen(f, 3600, 300);
	login(f->s, "u-abs", tok, &a);
	assert_true(a.expires_ms == a.created_ms + 300000);
	advance(f, 100000);
	assert_int_equal(sess_get(f->s, tok, SESS_TOUCH, &b), 0);
	assert_true(b.expires_ms == a.created_ms + 300000);   /* a touch cannot pass it */
	advance(f, 199999);
	assert_int_equal(sess_get(f->s, tok, SESS_TOUCH, &b), 0);
	/* used 200 s ago, well within the idle timeout, but 300 s after login */
	advance(f, 1);
	assert_int_equal(sess_get(f->s, tok, SESS_TOUCH, &b), YH_ERR_EXPIRED);
}

/* New timeouts (a reload) apply to sessions created from then on; a session keeps its
 * own, and its user's index outlives it although the absolute timeout got shorter. */
static void
test_set_timeouts(void **state)
{
	struct fx *f = *state;
	struct sess_auth up = { .uid = "u-tim", .loa = 2, .amr = AMR_OTP, .namr = 2 };
	struct sess_info a, b, got, *v = NULL;
	char ta[SESS_TOKEN_SIZE], tb[SESS_TOKEN_SIZE], tc[SESS_TOKEN_SIZE];
	size_t n = 0;

	reopen(f, 1800, 28800);
	login(f->s, "u-tim", ta, &a);
	assert_int_equal(a.idle_ms, 1800000);
	assert_true(a.aexp_ms == a.created_ms + 28800000);
	/* outside the option table's bounds: refused, nothing changes */
	assert_int_equal(sess_set_timeouts(f->s, 59, 300), YH_ERR_INVALID);
	assert_int_equal(sess_set_timeouts(f->s, 60, 299), YH_ERR_INVALID);
	assert_int_equal(sess_set_timeouts(f->s, 86401, 300), YH_ERR_INVALID);
	login(f->s, "u-una", tb, &b);
	assert_int_equal(b.idle_ms, 1800000);
	assert_int_equal(sess_set_timeouts(f->s, 60, 300), 0);
	login(f->s, "u-tim", tb, &b);
	assert_int_equal(b.idle_ms, 60000);
	assert_true(b.aexp_ms == b.created_ms + 300000);
	assert_true(b.expires_ms == b.created_ms + 60000);
	advance(f, 61000);
	assert_int_equal(sess_get(f->s, tb, SESS_TOUCH, &got), YH_ERR_EXPIRED);
	assert_int_equal(sess_get(f->s, ta, SESS_TOUCH, &got), 0);     /* still 30 min */
	assert_int_equal(got.idle_ms, 1800000);
	/* a step-up keeps the session's absolute expiry */
	assert_int_equal(sess_reauth(f->s, ta, &up, tc, &got), 0);
	assert_true(got.aexp_ms == a.aexp_ms);
	assert_true(got.expires_ms == got.seen_ms + 1800000);
	/* 500 s on: past the new absolute timeout and Redis's grace, the older session
	 * still alive is still in its user's index */
	advance(f, 439000);
	assert_int_equal(sess_list_user(f->s, "u-tim", &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].sid, a.sid);
	free(v);
}

static void
test_reauth_rotates(void **state)
{
	struct fx *f = *state;
	struct sess_info a, b, c;
	char tok[SESS_TOKEN_SIZE], tok2[SESS_TOKEN_SIZE], tok3[SESS_TOKEN_SIZE];
	struct sess_auth up = { .uid = "u-rot", .loa = 3, .amr = AMR_OTP, .namr = 2 };

	login(f->s, "u-rot", tok, &a);
	assert_int_equal(sess_add_client(f->s, a.key, "portal"), 0);
	assert_int_equal(sess_reauth(f->s, tok, &up, tok2, &b), 0);
	assert_string_not_equal(tok, tok2);
	assert_string_not_equal(a.key, b.key);
	/* the old id is dead: fixation gains nothing */
	assert_int_equal(sess_get(f->s, tok, 0, &c), YH_ERR_NOT_FOUND);
	assert_int_equal(sess_get(f->s, tok2, 0, &c), 0);
	assert_string_equal(c.sid, a.sid);
	assert_int_equal(c.created_ms, a.created_ms);
	assert_int_equal(c.loa, 3);
	assert_int_equal(c.namr, 3);
	assert_string_equal(c.amr[0], "pwd");
	assert_string_equal(c.amr[1], "otp");
	assert_string_equal(c.amr[2], "mfa");
	assert_int_equal(c.nclients, 1);
	assert_string_equal(c.clients[0], "portal");
	assert_int_equal(ev_count(&f->log, SESS_EV_CHANGED, SESS_CHANGED_ROTATED, a.key, true), 1);
	assert_string_equal(f->log.ev[f->log.n - 1].new_key, b.key);
	/* a step-up at a lower LoA does not lower the session */
	up.loa = 1;
	assert_int_equal(sess_reauth(f->s, tok2, &up, tok3, &c), 0);
	assert_int_equal(c.loa, 3);
	/* a new login (replace) stands for what it proved: its LoA and methods only */
	{
		static const char *const pwd[] = { "pwd" };
		struct sess_auth again = { .uid = "u-rot", .loa = 2, .amr = pwd, .namr = 1,
		    .replace = true };

		assert_int_equal(sess_reauth(f->s, tok3, &again, tok2, &c), 0);
		assert_int_equal(c.loa, 2);
		assert_int_equal(c.namr, 1);
		assert_string_equal(c.amr[0], "pwd");
		assert_int_equal(sess_get(f->s, tok2, 0, &b), 0);
		assert_int_equal(b.loa, 2);
		assert_int_equal(b.namr, 1);
		memcpy(tok3, tok2, sizeof(tok3));
	}
	/* another user cannot take the session over */
	up.uid = "u-mallory";
	assert_int_equal(sess_reauth(f->s, tok3, &up, tok2, &c), YH_ERR_DENIED);
	assert_int_equal(sess_get(f->s, tok3, 0, &c), 0);
	assert_int_equal(sess_reauth(f->s, tok, &up, tok2, &c), YH_ERR_NOT_FOUND);
	/* the user index follows the rotation */
	{
		struct sess_info *v = NULL;
		size_t n = 0;

		assert_int_equal(sess_list_user(f->s, "u-rot", &v, &n), 0);
		assert_int_equal(n, 1);
		assert_string_equal(v[0].sid, a.sid);
		free(v);
	}
}

static void
test_end_one_and_all(void **state)
{
	struct fx *f = *state;
	struct sess_info a[3], bob, got, *v = NULL, *ended = NULL;
	char tok[3][SESS_TOKEN_SIZE], btok[SESS_TOKEN_SIZE];
	size_t n = 0;

	for (int i = 0; i < 3; i++) {
		login(f->s, "u-carol", tok[i], &a[i]);
		advance(f, 5);
	}
	login(f->s, "u-bob", btok, &bob);
	assert_int_equal(sess_list_user(f->s, "u-carol", &v, &n), 0);
	assert_int_equal(n, 3);
	for (int i = 0; i < 3; i++)
		assert_string_equal(v[i].sid, a[i].sid);   /* oldest first */
	free(v);
	/* end one by its public sid; bob's sid is not carol's to end */
	assert_int_equal(sess_end_sid(f->s, "u-carol", bob.sid, SESS_END_USER, &got),
	    YH_ERR_NOT_FOUND);
	assert_int_equal(sess_end_sid(f->s, "u-carol", a[1].sid, SESS_END_USER, &got), 0);
	assert_string_equal(got.key, a[1].key);
	assert_int_equal(sess_get(f->s, tok[1], 0, &got), YH_ERR_NOT_FOUND);
	assert_int_equal(ev_count(&f->log, SESS_EV_ENDED, SESS_END_USER, a[1].key, true), 1);
	assert_int_equal(sess_list_user(f->s, "u-carol", &v, &n), 0);
	assert_int_equal(n, 2);
	free(v);
	/* end all */
	assert_int_equal(sess_end_user(f->s, "u-carol", SESS_END_ADMIN, &ended, &n), 0);
	assert_int_equal(n, 2);
	free(ended);
	assert_int_equal(sess_get(f->s, tok[0], 0, &got), YH_ERR_NOT_FOUND);
	assert_int_equal(sess_get(f->s, tok[2], 0, &got), YH_ERR_NOT_FOUND);
	assert_int_equal(ev_count(&f->log, SESS_EV_ENDED, SESS_END_ADMIN, NULL, true), 2);
	assert_int_equal(sess_list_user(f->s, "u-carol", &v, &n), 0);
	assert_int_equal(n, 0);
	assert_null(v);
	assert_int_equal(sess_get(f->s, btok, 0, &got), 0);
	/* logout by cookie; twice is NOT_FOUND */
	assert_int_equal(sess_end_token(f->s, btok, SESS_END_LOGOUT, &got), 0);
	assert_string_equal(got.uid, "u-bob");
	assert_int_equal(sess_end_token(f->s, btok, SESS_END_LOGOUT, &got), YH_ERR_NOT_FOUND);
	assert_int_equal(sess_end_user(f->s, "u-nobody", SESS_END_ADMIN, NULL, NULL), 0);
}

static void
test_clients(void **state)
{
	struct fx *f = *state;
	struct sess_info a, got;
	char tok[SESS_TOKEN_SIZE], name[32];

	login(f->s, "u-dave", tok, &a);
	assert_int_equal(sess_add_client(f->s, a.key, "app1"), 0);
	assert_int_equal(sess_add_client(f->s, a.key, "app2"), 0);
	assert_int_equal(sess_add_client(f->s, a.key, "app1"), 0);
	assert_int_equal(sess_add_client(f->s, a.key, ""), YH_ERR_INVALID);
	assert_int_equal(sess_add_client(f->s, a.key, "bad\nid"), YH_ERR_INVALID);
	assert_int_equal(sess_add_client(f->s, "nothex", "app1"), YH_ERR_NOT_FOUND);
	assert_int_equal(sess_get(f->s, tok, 0, &got), 0);
	assert_int_equal(got.nclients, 2);
	for (int i = 2; i < SESS_CLIENTS_MAX; i++) {
		snprintf(name, sizeof(name), "client-%d", i);
		assert_int_equal(sess_add_client(f->s, a.key, name), 0);
	}
	assert_int_equal(sess_add_client(f->s, a.key, "one-too-many"), YH_ERR_LIMIT);
	/* logout tells which clients to notify, in the return value and in the event */
	assert_int_equal(sess_end(f->s, a.key, SESS_END_LOGOUT, &got), 0);
	assert_int_equal(got.nclients, SESS_CLIENTS_MAX);
	pthread_mutex_lock(&f->log.lock);
	assert_true(f->log.n >= 1);
	assert_true(f->log.ev[f->log.n - 1].has_info);
	assert_int_equal(f->log.ev[f->log.n - 1].nclients, SESS_CLIENTS_MAX);
	pthread_mutex_unlock(&f->log.lock);
	assert_int_equal(sess_add_client(f->s, a.key, "app3"), YH_ERR_NOT_FOUND);
}

/* The last ENDED event of key, copied into *out; false when there is none. */
static bool
ev_last_ended(struct evlog *l, const char *key, struct evrec *out)
{
	bool found = false;

	pthread_mutex_lock(&l->lock);
	for (size_t i = 0; i < l->n; i++)
		if (l->ev[i].type == SESS_EV_ENDED && strcmp(l->ev[i].key, key) == 0) {
			*out = l->ev[i];
			found = true;
		}
	pthread_mutex_unlock(&l->lock);
	return found;
}

/* True when the event lists ticket (among its first four) for client and service. */
static bool
ev_has_cas(const struct evrec *r, const char *ticket, const char *client, const char *service)
{
	for (size_t i = 0; i < r->ncas && i < 4; i++)
		if (strcmp(r->cas_ticket[i], ticket) == 0)
			return strcmp(r->cas_client[i], client) == 0 &&
			    strncmp(r->cas_service_start[i], service, 47) == 0 &&
			    r->cas_service_len[i] == strlen(service);
	return false;
}

/* CAS single logout: the tickets a session issued, kept across rotation, bounded,
 * independent of the apps' list, and handed to the ENDED event however it ends. */
static void
test_cas_tickets(void **state)
{
	struct fx *f = *state;
	struct sess_info a, b, got;
	struct evrec ev;
	char tok[SESS_TOKEN_SIZE], tok2[SESS_TOKEN_SIZE], tb[SESS_TOKEN_SIZE], name[32];
	char *long_svc = malloc(SESS_SERVICE_MAX + 2);
	struct sess_auth up = { .uid = "u-cas", .loa = 3, .amr = AMR_OTP, .namr = 2 };
	size_t n = 0;

	assert_non_null(long_svc);
	memset(long_svc, 'p', SESS_SERVICE_MAX + 1);
	memcpy(long_svc, "https://a.example/", 18);
	long_svc[SESS_SERVICE_MAX + 1] = '\0';
	login(f->s, "u-cas", tok, &a);
	assert_int_equal(sess_add_cas_ticket(f->s, a.key, "ST-one", "legacy",
	    "https://a.example/app/"), 0);
	assert_int_equal(sess_add_cas_ticket(f->s, a.key, "ST-one", "legacy",
	    "https://a.example/app/"), 0);
	assert_int_equal(sess_add_cas_ticket(f->s, a.key, "ST-two", "other",
	    "https://b.example/x?a=1&b=2"), 0);
	assert_int_equal(sess_add_cas_ticket(f->s, a.key, "XX-1", "legacy", "https://a/"),
	    YH_ERR_INVALID);
	assert_int_equal(sess_add_cas_ticket(f->s, a.key, "ST-3", "", "https://a/"),
	    YH_ERR_INVALID);
	assert_int_equal(sess_add_cas_ticket(f->s, a.key, "ST-3", "legacy", "https://a/\nx"),
	    YH_ERR_INVALID);
	assert_int_equal(sess_add_cas_ticket(f->s, a.key, "ST-3", "legacy", long_svc),
	    YH_ERR_INVALID);
	assert_int_equal(sess_add_cas_ticket(f->s, "nothex", "ST-3", "legacy", "https://a/"),
	    YH_ERR_NOT_FOUND);
	long_svc[SESS_SERVICE_MAX] = '\0';    /* the longest service there may be */
	assert_int_equal(sess_add_cas_ticket(f->s, a.key, "ST-long", "legacy", long_svc), 0);
	assert_int_equal(sess_get(f->s, tok, 0, &got), 0);
	assert_int_equal(got.ncas, 3);
	/* a new authentication rotates the id and keeps the tickets */
	assert_int_equal(sess_reauth(f->s, tok, &up, tok2, &got), 0);
	assert_int_equal(got.ncas, 3);
	/* bounded, and apart from the apps' list */
	for (int i = 3; i < SESS_CAS_MAX; i++) {
		snprintf(name, sizeof(name), "ST-%d", i);
		assert_int_equal(sess_add_cas_ticket(f->s, got.key, name, "legacy",
		    "https://a.example/app/"), 0);
	}
	assert_int_equal(sess_add_cas_ticket(f->s, got.key, "ST-more", "legacy",
	    "https://a.example/app/"), YH_ERR_LIMIT);
	assert_int_equal(sess_add_client(f->s, got.key, "legacy"), 0);
	assert_int_equal(sess_end_token(f->s, tok2, SESS_END_LOGOUT, &b), 0);
	assert_int_equal(b.ncas, SESS_CAS_MAX);
	assert_int_equal(b.nclients, 1);
	assert_true(ev_last_ended(&f->log, got.key, &ev));
	assert_true(ev.origin);
	assert_int_equal(ev.ncas, SESS_CAS_MAX);
	assert_int_equal(sess_add_cas_ticket(f->s, got.key, "ST-late", "legacy",
	    "https://a.example/app/"), YH_ERR_NOT_FOUND);

	/* the ENDED event of an expiry (the sweep) carries them too, and exactly */
	reopen(f, 60, 3600);
	login(f->s, "u-cas2", tb, &b);
	assert_int_equal(sess_add_cas_ticket(f->s, b.key, "ST-one", "legacy",
	    "https://a.example/app/"), 0);
	assert_int_equal(sess_add_cas_ticket(f->s, b.key, "ST-two", "other",
	    "https://b.example/x?a=1&b=2"), 0);
	assert_int_equal(sess_add_cas_ticket(f->s, b.key, "ST-long", "legacy", long_svc), 0);
	advance(f, 60000);
	assert_int_equal(sess_sweep(f->s, &n), 0);
	assert_int_equal(n, 1);
	assert_true(ev_last_ended(&f->log, b.key, &ev));
	assert_int_equal(ev.reason, SESS_END_EXPIRED);
	assert_int_equal(ev.ncas, 3);
	assert_true(ev_has_cas(&ev, "ST-one", "legacy", "https://a.example/app/"));
	assert_true(ev_has_cas(&ev, "ST-two", "other", "https://b.example/x?a=1&b=2"));
	assert_true(ev_has_cas(&ev, "ST-long", "legacy", long_svc));
	/* a session without tickets: no list */
	login(f->s, "u-cas3", tb, &b);
	assert_int_equal(sess_end(f->s, b.key, SESS_END_ADMIN, NULL), 0);
	assert_true(ev_last_ended(&f->log, b.key, &ev));
	assert_int_equal(ev.ncas, 0);
	free(long_svc);
}

static void
test_max_per_user(void **state)
{
	struct fx *f = *state;
	struct sess_config c;
	struct sess_info a[4], got, *v = NULL;
	char tok[4][SESS_TOKEN_SIZE];
	size_t n = 0;

	sess_close(f->s);
	cfg_base(&c, f, &f->log);
	c.max_per_user = 3;
	f->s = open_with(&c);
	for (int i = 0; i < 4; i++) {
		login(f->s, "u-erin", tok[i], &a[i]);
		advance(f, 5);
	}
	assert_int_equal(sess_list_user(f->s, "u-erin", &v, &n), 0);
	assert_int_equal(n, 3);
	free(v);
	assert_int_equal(sess_get(f->s, tok[0], 0, &got), YH_ERR_NOT_FOUND);
	assert_int_equal(sess_get(f->s, tok[3], 0, &got), 0);
	assert_int_equal(ev_count(&f->log, SESS_EV_ENDED, SESS_END_EVICTED, a[0].key, true), 1);
}

static void
test_codes_single_use(void **state)
{
	struct fx *f = *state;
	char code[SESS_TOKEN_SIZE], code2[SESS_TOKEN_SIZE], *p = NULL, *prev = NULL;
	const char *payload = "{\"client_id\":\"portal\",\"scope\":\"openid\"}";

	assert_int_equal(sess_code_new(f->s, "portal", payload, 60, code), 0);
	assert_int_equal(strlen(code), 43);
	assert_int_equal(sess_code_take(f->s, "portal", code, "fam-1", &p, &prev), 0);
	assert_string_equal(p, payload);
	assert_null(prev);
	free(p);
	/* a replay within the code's lifetime: YH_ERR_REPLAY, with what the first use issued */
	assert_int_equal(sess_code_take(f->s, "portal", code, "fam-2", &p, &prev), YH_ERR_REPLAY);
	assert_string_equal(p, payload);
	assert_string_equal(prev, "fam-1");
	free(p);
	free(prev);
	assert_int_equal(sess_code_take(f->s, "portal", "xyz", NULL, &p, NULL), YH_ERR_NOT_FOUND);
	assert_null(p);
	/* the bounds */
	assert_int_equal(sess_code_new(f->s, "portal", payload, 0, code2), YH_ERR_INVALID);
	assert_int_equal(sess_code_new(f->s, "portal", payload, 9, code2), YH_ERR_INVALID);
	assert_int_equal(sess_code_new(f->s, "portal", payload, 601, code2), YH_ERR_INVALID);
	assert_int_equal(sess_code_new(f->s, "", payload, 60, code2), YH_ERR_INVALID);
	assert_int_equal(sess_code_new(f->s, NULL, payload, 60, code2), YH_ERR_INVALID);
	assert_int_equal(sess_code_take(f->s, NULL, code, NULL, &p, NULL), YH_ERR_INVALID);
	/* after its lifetime: NOT_FOUND, replay or not */
	assert_int_equal(sess_code_new(f->s, "portal", payload, 10, code2), 0);
	advance(f, 9000);
	assert_int_equal(sess_code_take(f->s, "portal", code2, NULL, &p, NULL), 0);
	free(p);
	advance(f, 1000);
	assert_int_equal(sess_code_take(f->s, "portal", code2, NULL, &p, NULL), YH_ERR_NOT_FOUND);
	assert_null(p);
}

/* A short code (SMS): the digest of the code and its binding, taken once, a replay told
 * apart while it lives, never a code or a pushed request, gone after its TTL. */
static void
test_otc_single_use(void **state)
{
	struct fx *f = *state;
	char *p = NULL, *prev = NULL;

	assert_int_equal(sess_otc_put(f->s, "123456", "bind-a", "uid-1", 60), 0);
	assert_int_equal(sess_otc_put(f->s, "123456", "bind-a", "uid-2", 60), YH_ERR_EXISTS);
	assert_int_equal(sess_otc_take(f->s, "123457", "bind-a", &p), YH_ERR_NOT_FOUND);
	assert_int_equal(sess_otc_take(f->s, "123456", "bind-b", &p), YH_ERR_NOT_FOUND);
	assert_int_equal(sess_code_take(f->s, "bind-a", "123456", NULL, &p, &prev),
	    YH_ERR_NOT_FOUND);
	assert_null(p);
	assert_int_equal(sess_otc_take(f->s, "123456", "bind-a", &p), 0);
	assert_string_equal(p, "uid-1");
	free(p);
	p = NULL;
	assert_int_equal(sess_otc_take(f->s, "123456", "bind-a", &p), YH_ERR_REPLAY);
	free(p);
	p = NULL;
	/* the bounds */
	assert_int_equal(sess_otc_put(f->s, "", "bind-a", "p", 60), YH_ERR_INVALID);
	assert_int_equal(sess_otc_put(f->s, "1", "", "p", 60), YH_ERR_INVALID);
	assert_int_equal(sess_otc_put(f->s, "1", "bind-a", "p", 0), YH_ERR_INVALID);
	assert_int_equal(sess_otc_put(f->s, "1", "bind-a", "p", SESS_OTC_TTL_MAX + 1),
	    YH_ERR_INVALID);
	assert_int_equal(sess_otc_take(f->s, "", "bind-a", &p), YH_ERR_NOT_FOUND);
	/* expiry */
	assert_int_equal(sess_otc_put(f->s, "654321", "bind-c", "p", 2), 0);
	advance(f, 3000);
	assert_int_equal(sess_otc_take(f->s, "654321", "bind-c", &p), YH_ERR_NOT_FOUND);
	assert_null(p);
}

/* A pushed request: single use, bound to its client, never a code, expires. */
static void
test_par_single_use(void **state)
{
	struct fx *f = *state;
	char tok[SESS_TOKEN_SIZE], *p = NULL, *prev = NULL;
	const char *payload = "response_type=code&client_id=portal";
	char longid[SESS_CLIENT_MAX + 1];

	assert_int_equal(sess_par_new(f->s, "portal", payload, 60, tok), 0);
	/* another client's take finds nothing and leaves it; it is no code */
	assert_int_equal(sess_par_take(f->s, "other", tok, &p), YH_ERR_NOT_FOUND);
	assert_int_equal(sess_code_take(f->s, "portal", tok, NULL, &p, &prev), YH_ERR_NOT_FOUND);
	assert_int_equal(sess_par_take(f->s, "portal", tok, &p), 0);
	assert_string_equal(p, payload);
	free(p);
	p = NULL;
	assert_int_equal(sess_par_take(f->s, "portal", tok, &p), YH_ERR_NOT_FOUND);
	assert_null(p);
	/* a code is no pushed request */
	assert_int_equal(sess_code_new(f->s, "portal", payload, 60, tok), 0);
	assert_int_equal(sess_par_take(f->s, "portal", tok, &p), YH_ERR_NOT_FOUND);
	/* the longest client id still binds */
	memset(longid, 'a', SESS_CLIENT_MAX);
	longid[SESS_CLIENT_MAX] = '\0';
	assert_int_equal(sess_par_new(f->s, longid, payload, 5, tok), 0);
	/* the bounds */
	assert_int_equal(sess_par_new(f->s, "portal", payload, 0, tok), YH_ERR_INVALID);
	assert_int_equal(sess_par_new(f->s, "portal", payload, SESS_PAR_TTL_MAX + 1, tok),
	    YH_ERR_INVALID);
	assert_int_equal(sess_par_new(f->s, "", payload, 60, tok), YH_ERR_INVALID);
	/* expiry */
	advance(f, 6000);
	assert_int_equal(sess_par_take(f->s, longid, tok, &p), YH_ERR_NOT_FOUND);
	assert_null(p);
}

/* A flow: created under a random token or a name, read, changed only from the state the
 * caller read (compare-and-swap), bound to what it was made for, never a code, expires. */
static void
test_flows(void **state)
{
	struct fx *f = *state;
	char tok[SESS_TOKEN_SIZE], key[SESS_KEY_SIZE], k2[SESS_KEY_SIZE], nk[SESS_KEY_SIZE];
	char *p = NULL, *prev = NULL;

	assert_int_equal(sess_flow_new(f->s, "dev:kiosk", "{\"st\":\"pending\"}", 60, tok, key),
	    0);
	assert_int_equal(sess_flow_key("dev:kiosk", tok, k2), 0);
	assert_string_equal(key, k2);
	/* another binding names another record; a code of that value is none */
	assert_int_equal(sess_flow_key("dev:other", tok, k2), 0);
	assert_string_not_equal(key, k2);
	assert_int_equal(sess_flow_get(f->s, k2, &p), YH_ERR_NOT_FOUND);
	assert_int_equal(sess_code_take(f->s, "dev:kiosk", tok, NULL, &p, &prev), YH_ERR_NOT_FOUND);
	assert_int_equal(sess_flow_key("dev:kiosk", "short", k2), YH_ERR_NOT_FOUND);
	assert_int_equal(sess_flow_get(f->s, key, &p), 0);
	assert_string_equal(p, "{\"st\":\"pending\"}");
	free(p);
	p = NULL;
	/* a swap from a state that is no longer the record's loses */
	assert_int_equal(sess_flow_swap(f->s, key, "{\"st\":\"pending\"}", "{\"st\":\"ok\"}"), 0);
	assert_int_equal(sess_flow_swap(f->s, key, "{\"st\":\"pending\"}", "{\"st\":\"no\"}"),
	    YH_ERR_BUSY);
	assert_int_equal(sess_flow_get(f->s, key, &p), 0);
	assert_string_equal(p, "{\"st\":\"ok\"}");
	free(p);
	p = NULL;
	/* a name: taken once */
	assert_int_equal(sess_flow_name_key("dev-user", "BCDFGHJK", nk), 0);
	assert_int_equal(sess_flow_name_key("dev-user", "BCDFGHJL", k2), 0);
	assert_string_not_equal(nk, k2);
	assert_int_equal(sess_flow_put(f->s, nk, key, 30), 0);
	assert_int_equal(sess_flow_put(f->s, nk, "x", 30), YH_ERR_EXISTS);
	assert_int_equal(sess_flow_name_key("dev-user", "", k2), YH_ERR_INVALID);
	assert_int_equal(sess_flow_name_key("dev-user", "A\nB", k2), YH_ERR_INVALID);
	/* bounds */
	assert_int_equal(sess_flow_new(f->s, "dev:kiosk", "x", 0, tok, NULL), YH_ERR_INVALID);
	assert_int_equal(sess_flow_new(f->s, "dev:kiosk", "x", SESS_FLOW_TTL_MAX + 1, tok, NULL),
	    YH_ERR_INVALID);
	assert_int_equal(sess_flow_new(f->s, "", "x", 60, tok, NULL), YH_ERR_INVALID);
	/* a record under a name may live as long as a session */
	assert_int_equal(sess_flow_name_key("fed-session", "long", k2), 0);
	assert_int_equal(sess_flow_put(f->s, k2, "x", SESS_FLOW_NAMED_TTL_MAX + 1),
	    YH_ERR_INVALID);
	assert_int_equal(sess_flow_put(f->s, k2, "x", 0), YH_ERR_INVALID);
	assert_int_equal(sess_flow_put(f->s, k2, "x", SESS_FLOW_NAMED_TTL_MAX), 0);
	/* expiry: the swap keeps the first expiry */
	advance(f, 31000);
	assert_int_equal(sess_flow_get(f->s, nk, &p), YH_ERR_NOT_FOUND);
	assert_int_equal(sess_flow_get(f->s, key, &p), 0);
	free(p);
	p = NULL;
	advance(f, 30000);
	assert_int_equal(sess_flow_get(f->s, key, &p), YH_ERR_NOT_FOUND);
	assert_int_equal(sess_flow_swap(f->s, key, "{\"st\":\"ok\"}", "x"), YH_ERR_NOT_FOUND);
	assert_null(p);
}

/* A code is bound to its client: another client's attempt finds nothing and uses nothing. */
static void
test_codes_bound_to_client(void **state)
{
	struct fx *f = *state;
	char code[SESS_TOKEN_SIZE], *p = NULL, *prev = NULL;
	const char *payload = "{\"client_id\":\"portal\"}";

	assert_int_equal(sess_code_new(f->s, "portal", payload, 60, code), 0);
	/* another client, one whose id extends the right one's, and a prefix of it */
	assert_int_equal(sess_code_take(f->s, "tax", code, "x", &p, &prev), YH_ERR_NOT_FOUND);
	assert_int_equal(sess_code_take(f->s, "portal2", code, "x", &p, &prev), YH_ERR_NOT_FOUND);
	assert_int_equal(sess_code_take(f->s, "porta", code, "x", &p, &prev), YH_ERR_NOT_FOUND);
	assert_null(p);
	assert_null(prev);
	/* the code is still good for its own client */
	assert_int_equal(sess_code_take(f->s, "portal", code, "fam-1", &p, &prev), 0);
	assert_string_equal(p, payload);
	free(p);
	/* a used code at another client is still just unknown there: no replay, no record */
	assert_int_equal(sess_code_take(f->s, "tax", code, "x", &p, &prev), YH_ERR_NOT_FOUND);
	assert_null(p);
	assert_null(prev);
	assert_int_equal(sess_code_take(f->s, "portal", code, "fam-2", &p, &prev), YH_ERR_REPLAY);
	assert_string_equal(prev, "fam-1");
	free(p);
	free(prev);
}

/* CAS service tickets: "ST-" + 64 hex digits (the CAS alphabet), single use, typed record, lifetime, never a code. */
static void
test_tickets(void **state)
{
	struct fx *f = *state;
	struct sess_ticket t, got;
	char st[SESS_TICKET_SIZE], st2[SESS_TICKET_SIZE], code[SESS_TOKEN_SIZE], *p = NULL;
	char bad[SESS_TICKET_SIZE + 1];

	memset(&t, 0, sizeof(t));
	snprintf(t.service, sizeof(t.service), "%s", "https://a.gov.cn/app/x?y=1&z=\"<>\"");
	snprintf(t.client_id, sizeof(t.client_id), "%s", "legacy");
	snprintf(t.uid, sizeof(t.uid), "%s", "u-frank");
	snprintf(t.sid, sizeof(t.sid), "%s", "AAAAAAAAAAAAAAAAAAAAAA");
	t.auth_time = 1700000000;
	t.loa = 2;
	t.renewed = true;
	assert_int_equal(sess_ticket_new(f->s, &t, 10, st), 0);
	assert_int_equal(strlen(st), 67);
	assert_memory_equal(st, "ST-", 3);
	assert_int_equal(strspn(st + 3, "0123456789abcdef"), 64);
	assert_int_equal(sess_ticket_take(f->s, st, &got), 0);
	assert_string_equal(got.service, t.service);
	assert_string_equal(got.client_id, "legacy");
	assert_string_equal(got.uid, "u-frank");
	assert_string_equal(got.sid, t.sid);
	assert_int_equal(got.auth_time, 1700000000);
	assert_int_equal(got.loa, 2);
	assert_true(got.renewed);
	/* once: a second take is a replay, with the record */
	assert_int_equal(sess_ticket_take(f->s, st, &got), YH_ERR_REPLAY);
	assert_string_equal(got.uid, "u-frank");
	/* the ticket's value without its prefix, or as a code of any client: nothing */
	t.renewed = false;
	assert_int_equal(sess_ticket_new(f->s, &t, 10, st2), 0);
	assert_int_equal(sess_code_take(f->s, "legacy", st2 + 3, NULL, &p, NULL),
	    YH_ERR_NOT_FOUND);
	assert_null(p);
	assert_int_equal(sess_code_take(f->s, "\x1f" "cas-st", st2 + 3, NULL, &p, NULL),
	    YH_ERR_INVALID);
	assert_int_equal(sess_ticket_take(f->s, st2 + 3, &got), YH_ERR_NOT_FOUND);
	snprintf(bad, sizeof(bad), "ST-%sx", st2 + 3);
	assert_int_equal(sess_ticket_take(f->s, bad, &got), YH_ERR_NOT_FOUND);
	st2[3] ^= 1;
	assert_int_equal(sess_ticket_take(f->s, st2, &got), YH_ERR_NOT_FOUND);
	st2[3] ^= 1;
	assert_int_equal(sess_ticket_take(f->s, NULL, &got), YH_ERR_NOT_FOUND);
	assert_int_equal(sess_ticket_take(f->s, st2, &got), 0);
	assert_false(got.renewed);
	/* a code's value presented as a ticket: nothing */
	assert_int_equal(sess_code_new(f->s, "legacy", "{}", 60, code), 0);
	snprintf(bad, sizeof(bad), "ST-%s", code);
	assert_int_equal(sess_ticket_take(f->s, bad, &got), YH_ERR_NOT_FOUND);
	/* bounds: the lifetime option's, every field */
	assert_int_equal(sess_ticket_new(f->s, &t, 0, st2), YH_ERR_INVALID);
	assert_int_equal(sess_ticket_new(f->s, &t, 301, st2), YH_ERR_INVALID);
	t.loa = 0;
	assert_int_equal(sess_ticket_new(f->s, &t, 10, st2), YH_ERR_INVALID);
	t.loa = 1;
	t.service[0] = '\0';
	assert_int_equal(sess_ticket_new(f->s, &t, 10, st2), YH_ERR_INVALID);
	snprintf(t.service, sizeof(t.service), "%s", "https://a.gov.cn/\n");
	assert_int_equal(sess_ticket_new(f->s, &t, 10, st2), YH_ERR_INVALID);
	snprintf(t.service, sizeof(t.service), "%s", "https://a.gov.cn/");
	snprintf(t.sid, sizeof(t.sid), "%s", "short");
	assert_int_equal(sess_ticket_new(f->s, &t, 10, st2), YH_ERR_INVALID);
	t.sid[0] = '\0';
	/* after its lifetime: gone, replay or not */
	assert_int_equal(sess_ticket_new(f->s, &t, 2, st2), 0);
	advance(f, 1900);
	assert_int_equal(sess_ticket_take(f->s, st2, &got), 0);
	assert_string_equal(got.sid, "");
	advance(f, 200);
	assert_int_equal(sess_ticket_take(f->s, st2, &got), YH_ERR_NOT_FOUND);
	assert_int_equal(sess_ticket_new(f->s, &t, 2, st2), 0);
	advance(f, 2100);
	assert_int_equal(sess_ticket_take(f->s, st2, &got), YH_ERR_NOT_FOUND);
}

/* CAS proxy tickets (single use, never a service ticket) and proxy-granting tickets
 * (used many times within their lifetime, never a proxy ticket), with their chain. */
static void
test_proxy_tickets(void **state)
{
	struct fx *f = *state;
	struct sess_ticket t, got;
	char pt[SESS_CAS_TICKET_SIZE], pgt[SESS_CAS_TICKET_SIZE], st[SESS_TICKET_SIZE];

	memset(&t, 0, sizeof(t));
	snprintf(t.service, sizeof(t.service), "%s", "https://b.gov.cn/api/");
	snprintf(t.client_id, sizeof(t.client_id), "%s", "backend");
	snprintf(t.uid, sizeof(t.uid), "%s", "u-frank");
	snprintf(t.sid, sizeof(t.sid), "%s", "AAAAAAAAAAAAAAAAAAAAAA");
	snprintf(t.proxies, sizeof(t.proxies), "%s", "https://p2/cb\nhttps://p1/cb\n");
	t.auth_time = 1700000000;
	t.loa = 2;
	assert_int_equal(sess_cas_new(f->s, SESS_CAS_PT, &t, 10, pt), 0);
	assert_int_equal(strlen(pt), 67);
	assert_memory_equal(pt, "PT-", 3);
	assert_int_equal(strspn(pt + 3, "0123456789abcdef"), 64);
	/* a proxy ticket is no service ticket, under either prefix */
	assert_int_equal(sess_ticket_take(f->s, pt, &got), YH_ERR_NOT_FOUND);
	memcpy(st, pt, sizeof(st));
	st[0] = 'S';
	assert_int_equal(sess_ticket_take(f->s, st, &got), YH_ERR_NOT_FOUND);
	assert_int_equal(sess_cas_take(f->s, SESS_CAS_PGT, pt, &got), YH_ERR_NOT_FOUND);
	assert_int_equal(sess_cas_take(f->s, SESS_CAS_PT, pt, &got), 0);
	assert_string_equal(got.proxies, t.proxies);
	assert_string_equal(got.service, t.service);
	assert_int_equal(sess_cas_take(f->s, SESS_CAS_PT, pt, &got), YH_ERR_REPLAY);
	/* the chain: required for PT and PGT, refused for ST, each URL ending in '\n' */
	assert_int_equal(sess_cas_new(f->s, SESS_CAS_ST, &t, 10, pt), YH_ERR_INVALID);
	snprintf(t.proxies, sizeof(t.proxies), "%s", "https://p1/cb");
	assert_int_equal(sess_cas_new(f->s, SESS_CAS_PT, &t, 10, pt), YH_ERR_INVALID);
	t.proxies[0] = '\0';
	assert_int_equal(sess_cas_new(f->s, SESS_CAS_PT, &t, 10, pt), YH_ERR_INVALID);
	assert_int_equal(sess_cas_new(f->s, SESS_CAS_PGT, &t, 60, pt), YH_ERR_INVALID);
	snprintf(t.proxies, sizeof(t.proxies), "%s", "https://p1/cb\n");
	/* a proxy-granting ticket: made, stored once handed out, used many times */
	assert_int_equal(sess_cas_make(SESS_CAS_PGT, pgt), 0);
	assert_int_equal(strlen(pgt), 68);
	assert_memory_equal(pgt, "PGT-", 4);
	assert_int_equal(sess_cas_take(f->s, SESS_CAS_PGT, pgt, &got), YH_ERR_NOT_FOUND);
	assert_int_equal(sess_cas_put(f->s, SESS_CAS_PT, pgt, &t, 10), YH_ERR_INVALID);
	assert_int_equal(sess_cas_put(f->s, SESS_CAS_PGT, pgt, &t, 0), YH_ERR_INVALID);
	assert_int_equal(sess_cas_put(f->s, SESS_CAS_PGT, pgt, &t, 86401), YH_ERR_INVALID);
	assert_int_equal(sess_cas_put(f->s, SESS_CAS_PGT, pgt, &t, 3), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(sess_cas_take(f->s, SESS_CAS_PGT, pgt, &got), 0);
		assert_string_equal(got.proxies, "https://p1/cb\n");
	}
	assert_int_equal(sess_cas_take(f->s, SESS_CAS_PT, pgt, &got), YH_ERR_NOT_FOUND);
	advance(f, 3100);
	assert_int_equal(sess_cas_take(f->s, SESS_CAS_PGT, pgt, &got), YH_ERR_NOT_FOUND);
}

static void
test_refresh_rotation(void **state)
{
	struct fx *f = *state;
	struct sess_family fam = { .uid = "u-frank", .client_id = "portal" }, g;
	char t1[SESS_TOKEN_SIZE], t2[SESS_TOKEN_SIZE], t3[SESS_TOKEN_SIZE], *p = NULL;

	assert_int_equal(sess_refresh_new(f->s, &fam, "{\"scope\":\"openid\"}", 3600, t1), 0);
	assert_int_equal(strlen(fam.id), 22);
	assert_int_equal(sess_refresh_rotate(f->s, t1, t2, &g, &p), 0);
	assert_string_equal(p, "{\"scope\":\"openid\"}");
	free(p);
	assert_string_equal(g.id, fam.id);
	assert_string_equal(g.uid, "u-frank");
	assert_string_equal(g.client_id, "portal");
	assert_int_equal(sess_refresh_peek(f->s, t2, &g, NULL), 0);
	assert_int_equal(sess_refresh_peek(f->s, t1, &g, NULL), YH_ERR_DENIED);
	/* reuse of the rotated token revokes the whole family */
	assert_int_equal(sess_refresh_rotate(f->s, t1, t3, &g, &p), YH_ERR_REPLAY);
	assert_null(p);
	assert_string_equal(g.id, fam.id);
	assert_int_equal(sess_refresh_rotate(f->s, t2, t3, &g, &p), YH_ERR_DENIED);
	assert_int_equal(sess_refresh_peek(f->s, t2, &g, NULL), YH_ERR_DENIED);
	assert_int_equal(sess_refresh_rotate(f->s, "garbage", t3, &g, &p), YH_ERR_NOT_FOUND);
	/* the id is taken */
	assert_int_equal(sess_refresh_new(f->s, &fam, "{}", 3600, t3), YH_ERR_EXISTS);
	/* lifetimes within the bounds of token.refresh_lifetime or token.offline_lifetime */
	{
		struct sess_family x = { .uid = "u-frank", .client_id = "portal" };

		assert_int_equal(sess_refresh_new(f->s, &x, "{}", 59, t3), YH_ERR_INVALID);
		assert_int_equal(sess_refresh_new(f->s, &x, "{}", 365 * 86400 + 1, t3),
		    YH_ERR_INVALID);
		assert_int_equal(sess_refresh_new(f->s, &x, "{}", 365 * 86400, t3), 0);
	}
	/* RFC 7009 revocation, as /revoke does it: the token's family, by id */
	memset(&fam, 0, sizeof(fam));
	snprintf(fam.uid, sizeof(fam.uid), "u-frank");
	snprintf(fam.client_id, sizeof(fam.client_id), "portal");
	assert_int_equal(sess_refresh_new(f->s, &fam, "{}", 3600, t1), 0);
	assert_int_equal(sess_refresh_peek(f->s, t1, &g, NULL), 0);
	assert_string_equal(g.id, fam.id);
	assert_int_equal(sess_family_revoke(f->s, g.id), 0);
	assert_int_equal(sess_refresh_rotate(f->s, t1, t2, &g, &p), YH_ERR_DENIED);
	/* per user and client ("my apps: revoke") */
	{
		struct sess_family a = { .uid = "u-grace", .client_id = "app1" };
		struct sess_family b = { .uid = "u-grace", .client_id = "app2" };
		char ta[SESS_TOKEN_SIZE], tb[SESS_TOKEN_SIZE], tn[SESS_TOKEN_SIZE];
		size_t n = 0;

		assert_int_equal(sess_family_id_new(a.id), 0);
		assert_int_equal(sess_refresh_new(f->s, &a, "{}", 3600, ta), 0);
		assert_int_equal(sess_refresh_new(f->s, &b, "{}", 3600, tb), 0);
		assert_int_equal(sess_refresh_revoke_user(f->s, "u-grace", "app1", 0, &n),
		    YH_ERR_INVALID);
		assert_int_equal(sess_deny_check(f->s, SESS_DENY_FAMILY, a.id), 0);
		assert_int_equal(sess_refresh_revoke_user(f->s, "u-grace", "app1", 60, &n), 0);
		assert_int_equal(n, 1);
		/* the revoked family's access tokens are denied, the other app's are not */
		assert_int_equal(sess_deny_check(f->s, SESS_DENY_FAMILY, a.id), YH_ERR_DENIED);
		assert_int_equal(sess_deny_check(f->s, SESS_DENY_FAMILY, b.id), 0);
		assert_int_equal(sess_refresh_rotate(f->s, ta, tn, &g, &p), YH_ERR_DENIED);
		assert_int_equal(sess_refresh_rotate(f->s, tb, tn, &g, &p), 0);
		free(p);
		assert_int_equal(sess_family_revoke(f->s, b.id), 0);
		assert_int_equal(sess_refresh_rotate(f->s, tn, tb, &g, &p), YH_ERR_DENIED);
		assert_int_equal(sess_family_revoke(f->s, "AAAAAAAAAAAAAAAAAAAAAA"), YH_ERR_NOT_FOUND);
	}
}

/*
 * The organization a family acts for is recorded and kept through rotation, and
 * sess_refresh_revoke_org revokes one person's families that act for one organization
 * only (and denylists them): not another organization's, not the person's own, not
 * another person's for the same organization.
 */
static void
test_refresh_revoke_org(void **state)
{
	struct fx *f = *state;
	static const char *const ORG1 = "91350100M000020011", *const ORG2 = "91350100M000020022";
	enum { A, B, C, D, E, NFAM };
	struct sess_family fam[NFAM] = {
		[A] = { .uid = "u-ivy", .client_id = "app1" },
		[B] = { .uid = "u-ivy", .client_id = "app2" },
		[C] = { .uid = "u-ivy", .client_id = "app1" },   /* another organization */
		[D] = { .uid = "u-ivy", .client_id = "app1" },   /* acting as herself */
		[E] = { .uid = "u-jack", .client_id = "app1" },  /* another person, ORG1 */
	};
	struct sess_family g, out[2];
	char tok[NFAM][SESS_TOKEN_SIZE], tn[SESS_TOKEN_SIZE], *p = NULL;
	size_t n = 99;

	snprintf(fam[A].org, sizeof(fam[A].org), "%s", ORG1);
	snprintf(fam[B].org, sizeof(fam[B].org), "%s", ORG1);
	snprintf(fam[C].org, sizeof(fam[C].org), "%s", ORG2);
	snprintf(fam[E].org, sizeof(fam[E].org), "%s", ORG1);
	for (int i = 0; i < NFAM; i++)
		assert_int_equal(sess_refresh_new(f->s, &fam[i], "{}", 3600, tok[i]), 0);
	/* the org is recorded, and kept when the token rotates */
	assert_int_equal(sess_refresh_peek(f->s, tok[A], &g, NULL), 0);
	assert_string_equal(g.org, ORG1);
	assert_int_equal(sess_refresh_peek(f->s, tok[D], &g, NULL), 0);
	assert_string_equal(g.org, "");
	assert_int_equal(sess_refresh_rotate(f->s, tok[C], tn, &g, &p), 0);
	free(p);
	p = NULL;
	assert_string_equal(g.org, ORG2);
	memcpy(tok[C], tn, sizeof(tn));
	assert_int_equal(sess_refresh_peek(f->s, tok[C], &g, NULL), 0);
	assert_string_equal(g.org, ORG2);

	/* no organization, or no time for the denylist: refused, nothing revoked */
	assert_int_equal(sess_refresh_revoke_org(f->s, "u-ivy", "", 60, NULL, 0, &n),
	    YH_ERR_INVALID);
	assert_int_equal(n, 0);
	assert_int_equal(sess_refresh_revoke_org(f->s, "u-ivy", NULL, 60, NULL, 0, NULL),
	    YH_ERR_INVALID);
	assert_int_equal(sess_refresh_revoke_org(f->s, "u-ivy", ORG1, 0, NULL, 0, &n),
	    YH_ERR_INVALID);
	for (int i = 0; i < NFAM; i++)
		assert_int_equal(sess_refresh_peek(f->s, tok[i], &g, NULL), 0);

	/* u-ivy for ORG1: A and B, both copied out */
	memset(out, 0, sizeof(out));
	assert_int_equal(sess_refresh_revoke_org(f->s, "u-ivy", ORG1, 60, out, 2, &n), 0);
	assert_int_equal(n, 2);
	assert_true((strcmp(out[0].id, fam[A].id) == 0 && strcmp(out[1].id, fam[B].id) == 0) ||
	    (strcmp(out[0].id, fam[B].id) == 0 && strcmp(out[1].id, fam[A].id) == 0));
	for (int i = 0; i < 2; i++) {
		assert_string_equal(out[i].uid, "u-ivy");
		assert_string_equal(out[i].org, ORG1);
	}
	for (int i = 0; i < NFAM; i++) {
		bool gone = i == A || i == B;

		assert_int_equal(sess_refresh_peek(f->s, tok[i], &g, NULL),
		    gone ? YH_ERR_DENIED : 0);
		assert_int_equal(sess_deny_check(f->s, SESS_DENY_FAMILY, fam[i].id),
		    gone ? YH_ERR_DENIED : 0);
	}
	assert_int_equal(sess_refresh_rotate(f->s, tok[A], tn, &g, &p), YH_ERR_DENIED);
	assert_null(p);

	/* u-jack for ORG1, with room for none: counted, not copied; u-ivy's C and D stay */
	assert_int_equal(sess_refresh_revoke_org(f->s, "u-jack", ORG1, 60, NULL, 0, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(sess_refresh_peek(f->s, tok[E], &g, NULL), YH_ERR_DENIED);
	assert_int_equal(sess_refresh_peek(f->s, tok[C], &g, NULL), 0);
	assert_int_equal(sess_refresh_peek(f->s, tok[D], &g, NULL), 0);
	/* u-ivy for ORG2: C alone; her own D stays */
	assert_int_equal(sess_refresh_revoke_org(f->s, "u-ivy", ORG2, 60, out, 2, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(out[0].id, fam[C].id);
	assert_int_equal(sess_refresh_peek(f->s, tok[C], &g, NULL), YH_ERR_DENIED);
	assert_int_equal(sess_refresh_peek(f->s, tok[D], &g, NULL), 0);
	assert_int_equal(sess_deny_check(f->s, SESS_DENY_FAMILY, fam[D].id), 0);
	/* again: the families revoked before are neither counted nor listed (their apps
	 * were told once) */
	memset(out, 0, sizeof(out));
	assert_int_equal(sess_refresh_revoke_org(f->s, "u-ivy", ORG1, 60, out, 2, &n), 0);
	assert_int_equal(n, 0);
	assert_string_equal(out[0].id, "");
	assert_int_equal(sess_refresh_revoke_user(f->s, "u-ivy", NULL, 60, &n), 0);
	assert_int_equal(n, 1);  /* D alone */
	assert_int_equal(sess_refresh_revoke_user(f->s, "u-ivy", NULL, 60, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(sess_family_revoke(f->s, fam[D].id), 0);
}

static void
test_counters_lockout(void **state)
{
	struct fx *f = *state;
	int64_t n = 0, rem = 0;

	for (int i = 1; i <= 4; i++) {
		assert_int_equal(sess_fail(f->s, "acct:u-henry", 60, 5, 30, &n), 0);
		assert_int_equal(n, i);
	}
	assert_int_equal(sess_fail_count(f->s, "acct:u-henry", &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(sess_locked(f->s, "acct:u-henry", &rem), 0);
	assert_int_equal(sess_fail(f->s, "acct:u-henry", 60, 5, 30, &n), YH_ERR_LOCKED);
	assert_int_equal(n, 5);
	assert_int_equal(sess_locked(f->s, "acct:u-henry", &rem), YH_ERR_LOCKED);
	assert_true(rem > 0 && rem <= 30);
	/* a rate: the limit-th request is refused, and those after it are not counted */
	for (int i = 1; i <= 2; i++)
		assert_int_equal(sess_rate(f->s, "new:192.0.2.9", 60, 3), 0);
	assert_int_equal(sess_rate(f->s, "new:192.0.2.9", 60, 3), YH_ERR_LOCKED);
	assert_int_equal(sess_rate(f->s, "new:192.0.2.9", 60, 3), YH_ERR_LOCKED);
	assert_int_equal(sess_fail_count(f->s, "new:192.0.2.9", &n), 0);
	assert_int_equal(n, 0);
	/* an IPv6 client's addresses in one /64 share a limit; another /64 has its own */
	{
		char a[SESS_NAME_MAX], b[SESS_NAME_MAX], c[SESS_NAME_MAX];

		sess_addr_name(a, sizeof(a), "new:", "2001:db8:1:2::1");
		sess_addr_name(b, sizeof(b), "new:", "2001:db8:1:2:ffff:1:2:3");
		sess_addr_name(c, sizeof(c), "new:", "2001:db8:1:3::1");
		assert_string_equal(a, "new:2001:db8:1:2::/64");
		assert_string_equal(b, a);
		assert_string_not_equal(c, a);
		for (int i = 1; i <= 2; i++)
			assert_int_equal(sess_rate(f->s, i == 1 ? a : b, 60, 3), 0);
		assert_int_equal(sess_rate(f->s, b, 60, 3), YH_ERR_LOCKED);
		assert_int_equal(sess_rate(f->s, c, 60, 3), 0);
		sess_addr_name(a, sizeof(a), "new:", "::ffff:192.0.2.9");
		assert_string_equal(a, "new:192.0.2.9");
		sess_addr_name(a, sizeof(a), "new:", "192.0.2.10");
		assert_string_equal(a, "new:192.0.2.10");
		sess_addr_name(a, sizeof(a), "new:", "");
		assert_string_equal(a, "new:");
		sess_addr_name(a, sizeof(a), "new:", "not:an address");
		assert_string_equal(a, "new:not:an address");
	}
	/* other names are independent */
	assert_int_equal(sess_locked(f->s, "addr:192.0.2.1", &rem), 0);
	assert_int_equal(sess_fail_count(f->s, "addr:192.0.2.1", &n), 0);
	assert_int_equal(n, 0);
	/* operator unlock; success clears the counter */
	assert_int_equal(sess_lock(f->s, "acct:u-henry", 0), 0);
	assert_int_equal(sess_locked(f->s, "acct:u-henry", &rem), 0);
	assert_int_equal(sess_fail(f->s, "acct:u-henry", 60, 5, 30, &n), 0);
	assert_int_equal(sess_fail_clear(f->s, "acct:u-henry"), 0);
	assert_int_equal(sess_fail_count(f->s, "acct:u-henry", &n), 0);
	assert_int_equal(n, 0);
	/* the window and the lockout end by themselves */
	assert_int_equal(sess_fail(f->s, "addr:198.51.100.7", 10, 3, 20, &n), 0);
	advance(f, 9000);
	assert_int_equal(sess_fail(f->s, "addr:198.51.100.7", 10, 3, 20, &n), 0);
	assert_int_equal(n, 2);
	advance(f, 1000);
	assert_int_equal(sess_fail(f->s, "addr:198.51.100.7", 10, 3, 20, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(sess_fail(f->s, "addr:198.51.100.7", 10, 3, 20, &n), 0);
	assert_int_equal(sess_fail(f->s, "addr:198.51.100.7", 10, 3, 20, &n), YH_ERR_LOCKED);
	assert_int_equal(sess_locked(f->s, "addr:198.51.100.7", &rem), YH_ERR_LOCKED);
	assert_true(rem == 20);
	advance(f, 19000);
	assert_int_equal(sess_locked(f->s, "addr:198.51.100.7", &rem), YH_ERR_LOCKED);
	assert_true(rem == 1);
	advance(f, 1000);
	assert_int_equal(sess_locked(f->s, "addr:198.51.100.7", &rem), 0);
	assert_int_equal(sess_fail(f->s, "", 60, 5, 30, &n), YH_ERR_INVALID);
}

/* The denylist: kinds apart, bad input refused, the longer TTL kept, entries gone after
 * their TTL, and only a hash of the id stored. */
static void
test_denylist(void **state)
{
	struct fx *f = *state;
	char longid[SESS_DENY_ID_MAX + 2];

	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	assert_int_equal(sess_deny_check(f->s, SESS_DENY_ACCESS, "jti-one"), 0);
	assert_int_equal(sess_deny_add(f->s, SESS_DENY_ACCESS, "jti-one", 1), 0);
	assert_int_equal(sess_deny_check(f->s, SESS_DENY_ACCESS, "jti-one"), YH_ERR_DENIED);
	assert_int_equal(sess_deny_check(f->s, SESS_DENY_FAMILY, "jti-one"), 0);
	/* a shorter second add keeps the first's longer TTL */
	assert_int_equal(sess_deny_add(f->s, SESS_DENY_FAMILY, "fam-two", 30), 0);
	assert_int_equal(sess_deny_add(f->s, SESS_DENY_FAMILY, "fam-two", 1), 0);
	/* a longer second add extends a shorter first */
	assert_int_equal(sess_deny_add(f->s, SESS_DENY_ACCESS, "jti-three", 1), 0);
	assert_int_equal(sess_deny_add(f->s, SESS_DENY_ACCESS, "jti-three", 30), 0);
	/* bad input */
	assert_int_equal(sess_deny_add(f->s, SESS_DENY_ACCESS, "", 10), YH_ERR_INVALID);
	assert_int_equal(sess_deny_add(f->s, SESS_DENY_ACCESS, NULL, 10), YH_ERR_INVALID);
	assert_int_equal(sess_deny_add(f->s, SESS_DENY_ACCESS, longid, 10), YH_ERR_INVALID);
	assert_int_equal(sess_deny_add(f->s, SESS_DENY_ACCESS, "a\nb", 10), YH_ERR_INVALID);
	assert_int_equal(sess_deny_add(f->s, SESS_DENY_ACCESS, "j", 0), YH_ERR_INVALID);
	assert_int_equal(sess_deny_add(f->s, SESS_DENY_ACCESS, "j", SESS_DENY_TTL_MAX + 1),
	    YH_ERR_INVALID);
	assert_int_equal(sess_deny_add(f->s, (enum sess_deny_kind)7, "j", 10), YH_ERR_INVALID);
	assert_int_equal(sess_deny_check(f->s, (enum sess_deny_kind)0, "j"), YH_ERR_INVALID);
	longid[SESS_DENY_ID_MAX] = '\0';
	assert_int_equal(sess_deny_add(f->s, SESS_DENY_ACCESS, longid, 10), 0);
	assert_int_equal(sess_deny_check(f->s, SESS_DENY_ACCESS, longid), YH_ERR_DENIED);
	if (f->backend == SESS_BACKEND_REDIS) {
		/* P d:<hex SHA-256 of "at:<id>">, and the id itself nowhere */
		char name[sizeof(longid) + 4], key[2 + 65];
		unsigned char md[32];
		unsigned int mdlen = 0;

		snprintf(name, sizeof(name), "at:%s", longid);
		assert_int_equal(EVP_Digest(name, strlen(name), md, &mdlen, EVP_sha256(), NULL), 1);
		memcpy(key, "d:", 2);
		yh_hex_encode(md, sizeof(md), key + 2);
		assert_true(redis_holds(f->prefix, key));
		assert_false(redis_holds(f->prefix, longid));
	}
	advance(f, 1000);
	assert_int_equal(sess_deny_check(f->s, SESS_DENY_ACCESS, "jti-one"), 0);
	assert_int_equal(sess_deny_check(f->s, SESS_DENY_FAMILY, "fam-two"), YH_ERR_DENIED);
	assert_int_equal(sess_deny_check(f->s, SESS_DENY_ACCESS, "jti-three"), YH_ERR_DENIED);
}

static void
test_sweep(void **state)
{
	struct fx *f = *state;
	struct sess_info a, b, c;
	char ta[SESS_TOKEN_SIZE], tb[SESS_TOKEN_SIZE], tc[SESS_TOKEN_SIZE];
	size_t n = 0;

	reopen(f, 60, 3600);
	login(f->s, "u-ivan", ta, &a);
	assert_int_equal(sess_add_client(f->s, a.key, "portal"), 0);
	login(f->s, "u-ivan", tb, &b);
	advance(f, 59999);
	login(f->s, "u-ivan", tc, &c);   /* fresh: the sweep must leave it */
	assert_int_equal(sess_sweep(f->s, &n), 0);
	assert_int_equal(n, 0);          /* a and b have a millisecond left */
	advance(f, 1);
	assert_int_equal(sess_sweep(f->s, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(ev_count(&f->log, SESS_EV_ENDED, SESS_END_EXPIRED, a.key, true), 1);
	assert_int_equal(ev_count(&f->log, SESS_EV_ENDED, SESS_END_EXPIRED, b.key, true), 1);
	pthread_mutex_lock(&f->log.lock);
	for (size_t i = 0; i < f->log.n; i++)
		if (strcmp(f->log.ev[i].key, a.key) == 0)
			assert_int_equal(f->log.ev[i].nclients, 1);
	pthread_mutex_unlock(&f->log.lock);
	assert_int_equal(sess_sweep(f->s, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(sess_get(f->s, tc, 0, &c), 0);
	assert_int_equal(sess_get(f->s, ta, 0, &a), YH_ERR_NOT_FOUND);
}

static void
test_sweep_thread(void **state)
{
	struct fx *f = *state;
	struct sess_config c;
	struct sess_info a;
	char tok[SESS_TOKEN_SIZE];

	sess_close(f->s);
	cfg_base(&c, f, &f->log);
	c.idle_timeout_s = 60;
	c.sweep_interval_ms = 200;
	f->s = open_with(&c);
	login(f->s, "u-judy", tok, &a);
	advance(f, 60000);
	assert_true(ev_wait(&f->log, SESS_EV_ENDED, SESS_END_EXPIRED, a.key, true, 1, 8000));
}

static void
test_mem_bounded(void **state)
{
	struct fx *f = *state;
	struct sess_config c;
	char id[32];
	int i, rc = 0;

	if (f->backend != SESS_BACKEND_MEMORY)
		skip();
	sess_close(f->s);
	cfg_base(&c, f, &f->log);
	c.max_entries = 64;
	c.shards = 4;
	f->s = open_with(&c);
	/* the denylist shares the bounded table */
	for (i = 0; i < 1000; i++) {
		snprintf(id, sizeof(id), "jti-%d", i);
		if ((rc = sess_deny_add(f->s, SESS_DENY_ACCESS, id, 600)) != 0)
			break;
	}
	assert_int_equal(rc, YH_ERR_LIMIT);
	assert_true(i <= 64);
	assert_true(i >= 4);
}

/*
 * Every kind of record the memory store keeps goes once its time is up, by the sweep
 * alone (nothing touches them again): sessions and their per-user index, codes (fresh
 * and redeemed), flows, PAR requests, short codes, refresh families with their current
 * and rotated tokens and per-user index, denylist entries, failure counters and locks.
 * The fake clock moves past every TTL and one sweep leaves no record.
 */
static void
test_mem_every_kind_expires(void **state)
{
	struct fx *f = *state;
	struct sess_family fam;
	struct sess_info a;
	char tok[SESS_TOKEN_SIZE], code[SESS_TOKEN_SIZE], code2[SESS_TOKEN_SIZE];
	char flow[SESS_TOKEN_SIZE], par[SESS_TOKEN_SIZE], rt[SESS_TOKEN_SIZE];
	char rt2[SESS_TOKEN_SIZE], key[SESS_KEY_SIZE];
	char *payload = NULL, *prev = NULL;
	size_t n = 0, held = 0, ended = 0;
	int64_t count = 0;

	if (f->backend != SESS_BACKEND_MEMORY)
		skip();
	reopen(f, 60, 600);
	assert_int_equal(sess_mem_records(f->s, &n), 0);
	assert_int_equal(n, 0);
	login(f->s, "u-ttl", tok, &a);
	assert_int_equal(sess_add_client(f->s, a.key, "portal"), 0);
	assert_int_equal(sess_code_new(f->s, "portal", "{}", 60, code), 0);
	assert_int_equal(sess_code_new(f->s, "portal", "{}", 60, code2), 0);
	assert_int_equal(sess_code_take(f->s, "portal", code2, "fam:jti", &payload, &prev), 0);
	free(payload);
	free(prev);
	payload = NULL;
	assert_int_equal(sess_flow_new(f->s, "bind-1", "{}", 300, flow, key), 0);
	assert_int_equal(sess_par_new(f->s, "portal", "{}", 90, par), 0);
	assert_int_equal(sess_otc_put(f->s, "482913", "bind-1", "{}", 300), 0);
	memset(&fam, 0, sizeof(fam));
	snprintf(fam.uid, sizeof(fam.uid), "u-ttl");
	snprintf(fam.client_id, sizeof(fam.client_id), "portal");
	assert_int_equal(sess_refresh_new(f->s, &fam, "{}", 3600, rt), 0);
	assert_int_equal(sess_refresh_rotate(f->s, rt, rt2, &fam, &payload), 0);
	free(payload);
	assert_int_equal(sess_deny_add(f->s, SESS_DENY_ACCESS, "jti-ttl", 900), 0);
	assert_int_equal(sess_fail(f->s, "login:u-ttl", 300, 5, 600, &count), 0);
	assert_int_equal(sess_lock(f->s, "login:u-other", 1200), 0);
	assert_int_equal(sess_mem_records(f->s, &held), 0);
	assert_true(held >= 14);
	/* Before any TTL has passed the sweep keeps everything. */
	assert_int_equal(sess_sweep(f->s, &ended), 0);
	assert_int_equal(sess_mem_records(f->s, &n), 0);
	assert_int_equal(n, held);
	/* Past the session's idle time (60 s): the session and its index go. */
	advance(f, 61000);
	assert_int_equal(sess_sweep(f->s, &ended), 0);
	assert_int_equal(ended, 1);
	assert_int_equal(sess_mem_records(f->s, &n), 0);
	assert_true(n < held);
	/* Past the longest TTL (the refresh family's hour): nothing is left. */
	advance(f, 3600 * 1000);
	assert_int_equal(sess_sweep(f->s, &ended), 0);
	assert_int_equal(sess_mem_records(f->s, &n), 0);
	assert_int_equal(n, 0);
}

/* Two store instances on one Redis, as two authd nodes. */
static void
test_pubsub_two_nodes(void **state)
{
	struct fx *f = *state;
	struct sess_config c;
	struct sess_info a, got;
	char tok[SESS_TOKEN_SIZE], tok2[SESS_TOKEN_SIZE];
	struct sess_auth up = { .uid = "u-kate", .loa = 3, .amr = AMR_OTP, .namr = 2 };

	cfg_base(&c, f, &f->log2);
	f->s2 = open_with(&c);
	login(f->s, "u-kate", tok, &a);
	assert_int_equal(sess_get(f->s2, tok, SESS_TOUCH, &got), 0);    /* SSO via node 2 */
	/* a step-up on node 1 is seen by node 2 */
	assert_int_equal(sess_reauth(f->s, tok, &up, tok2, &got), 0);
	assert_true(ev_wait(&f->log2, SESS_EV_CHANGED, SESS_CHANGED_ROTATED, a.key, false, 1,
	    5000));
	/* logout through node 2: node 1 hears it and refuses the session */
	assert_int_equal(sess_end_token(f->s2, tok2, SESS_END_LOGOUT, &got), 0);
	assert_true(ev_wait(&f->log, SESS_EV_ENDED, SESS_END_LOGOUT, got.key, false, 1, 5000));
	assert_int_equal(sess_get(f->s, tok2, 0, &got), YH_ERR_NOT_FOUND);
	/* each node gets its own change once, synchronously, not again from pub/sub */
	assert_int_equal(ev_count(&f->log2, SESS_EV_ENDED, SESS_END_LOGOUT, NULL, true), 1);
	sleep_ms(200);
	assert_int_equal(ev_count(&f->log2, SESS_EV_ENDED, SESS_END_LOGOUT, NULL, false), 0);
}

/* Times one call: asserts it gives want within 2 s. */
#define FAST(want, call) do { \
	int64_t t0_ = yh_mono_ms(); \
	assert_int_equal((call), (want)); \
	assert_true(yh_mono_ms() - t0_ < 2000); \
} while (0)

static void
test_redis_down_and_back(void **state)
{
	struct fx *f = *state;
	struct sess_config c;
	struct sess_info a, got;
	char tok[SESS_TOKEN_SIZE], t2[SESS_TOKEN_SIZE], *p = NULL;
	char reason[64];
	int64_t n, end;
	int rc = -1;

	cfg_base(&c, f, &f->log2);
	f->s2 = open_with(&c);
	login(f->s, "u-leo", tok, &a);
	assert_int_equal(sess_deny_add(f->s, SESS_DENY_ACCESS, "jti-leo", 600), 0);

	redis_kill();
	for (int round = 0; round < 3; round++) {
		FAST(YH_ERR_UNAVAILABLE, sess_get(f->s, tok, SESS_TOUCH, &got));
		FAST(YH_ERR_UNAVAILABLE, sess_get(f->s2, tok, 0, &got));
		FAST(YH_ERR_UNAVAILABLE, sess_create(f->s, &(struct sess_auth){ .uid = "u-leo",
		    .loa = 1 }, t2, NULL));
		FAST(YH_ERR_UNAVAILABLE, sess_code_new(f->s, "portal", "{}", 60, t2));
		FAST(YH_ERR_UNAVAILABLE, sess_code_take(f->s, "portal", tok, NULL, &p, NULL));
		FAST(YH_ERR_UNAVAILABLE, sess_fail(f->s, "acct:u-leo", 60, 5, 30, &n));
		FAST(YH_ERR_UNAVAILABLE, sess_deny_check(f->s, SESS_DENY_ACCESS, "jti-leo"));
		FAST(YH_ERR_UNAVAILABLE, sess_deny_add(f->s, SESS_DENY_FAMILY, "fam-leo", 60));
		FAST(YH_ERR_UNAVAILABLE, sess_end_user(f->s, "u-leo", SESS_END_ADMIN, NULL, NULL));
		FAST(YH_ERR_UNAVAILABLE, sess_check(f->s, reason, sizeof(reason)));
		sleep_ms(300);
	}

	assert_int_equal(redis_start(), 0);      /* same port, empty (no persistence) */
	end = yh_mono_ms() + 5000;
	while (yh_mono_ms() < end && (rc = sess_check(f->s, reason, sizeof(reason))) != 0)
		sleep_ms(50);
	assert_int_equal(rc, 0);
	login(f->s, "u-leo", tok, &a);
	assert_int_equal(sess_get(f->s2, tok, SESS_TOUCH, &got), 0);
	assert_int_equal(sess_get(f->s, tok, SESS_TOUCH, &got), 0);
	/* the subscriber found its way back (RESYNC), and events flow again */
	assert_true(ev_wait(&f->log2, SESS_EV_RESYNC, 0, "", false, 1, 5000));
	assert_true(ev_wait(&f->log, SESS_EV_RESYNC, 0, "", false, 1, 5000));
	assert_int_equal(sess_end(f->s, a.key, SESS_END_LOGOUT, NULL), 0);
	assert_true(ev_wait(&f->log2, SESS_EV_ENDED, SESS_END_LOGOUT, a.key, false, 1, 5000));
}

static void
redis_only(void **state)
{
	struct fx *f = *state;

	if (f->backend != SESS_BACKEND_REDIS)
		skip();
}

static void
test_pubsub(void **state)
{
	redis_only(state);
	test_pubsub_two_nodes(state);
}

/* ---- the Redis user index ------------------------------------------------------------- */

/* Where the Redis store indexes uid's sessions: the hash P ui:<shard> (shard in hex) and
 * the tag its entries carry, both from the SHA-256 of the uid (redis.c). */
static void
ui_place(const char *uid, char shard[5], char tag[12])
{
	unsigned char md[32];
	unsigned int n = 0;

	assert_int_equal(EVP_Digest(uid, strlen(uid), md, &n, EVP_sha256(), NULL), 1);
	snprintf(shard, 5, "%04x", ((unsigned)md[0] << 8 | md[1]) % 16384);
	snprintf(tag, 12, "%u", ((unsigned)md[2] << 16 | (unsigned)md[3] << 8 | md[4]) & 0x7fffffu);
}

/* A command on the test's own connection to the fixture's Redis (checked: not an error). */
static redisReply *
rcallv(const char *fmt, va_list ap)
{
	struct timeval tv = { 2, 0 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", redis_port, tv);
	redisReply *r;

	assert_non_null(c);
	assert_int_equal(c->err, 0);
	r = redisvCommand(c, fmt, ap);
	assert_non_null(r);
	assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
	redisFree(c);
	return r;
}

static void
rcall(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	freeReplyObject(rcallv(fmt, ap));
	va_end(ap);
}

/* The integer reply of a command (rcallv). */
static long long
rcall_int(const char *fmt, ...)
{
	redisReply *r;
	long long v;
	va_list ap;

	va_start(ap, fmt);
	r = rcallv(fmt, ap);
	va_end(ap);
	assert_int_equal(r->type, REDIS_REPLY_INTEGER);
	v = r->integer;
	freeReplyObject(r);
	return v;
}

#define CONC_USERS 8
#define CONC_THREADS 8
#define CONC_EACH 4          /* sessions per user per thread: 32 per user, the default cap */

struct conc_arg {
	struct sess_store *s;
	char (*uids)[32];
	atomic_int *failed;
};

static void *
conc_main(void *p)
{
	struct conc_arg *a = p;

	for (int i = 0; i < CONC_EACH; i++)
		for (int u = 0; u < CONC_USERS; u++) {
			struct sess_auth au = { .uid = a->uids[u], .loa = 1, .amr = AMR_PWD,
				.namr = 1, .ua = UA_CHROME_WINDOWS, .addr = "127.0.0.1" };
			char tok[SESS_TOKEN_SIZE];

			if (sess_create(a->s, &au, tok, NULL) != 0)
				atomic_fetch_add(a->failed, 1);
		}
	return NULL;
}

/* Two stores (two authd) on one Redis, four threads each, create sessions at once for
 * users whose index entries share one hash of the user index: no entry is lost, each
 * user lists all of theirs, and logging one out everywhere leaves the others'. */
static void
test_uidx_concurrent_writers(void **state)
{
	struct fx *f = *state;
	struct sess_config c;
	char uids[CONC_USERS][32], shard[5], tag[12], shard0[5];
	pthread_t th[CONC_THREADS];
	struct conc_arg ca[2];
	atomic_int failed;
	struct sess_info *v = NULL, *ended = NULL;
	size_t n = 0;
	int found = 0;

	redis_only(state);
	cfg_base(&c, f, &f->log2);
	f->s2 = open_with(&c);
	ui_place("u-conc-0", shard0, tag);
	for (unsigned i = 0; found < CONC_USERS; i++) {
		char uid[32];

		snprintf(uid, sizeof(uid), "u-conc-%u", i);
		ui_place(uid, shard, tag);
		if (strcmp(shard, shard0) == 0)
			memcpy(uids[found++], uid, sizeof(uid));
	}
	atomic_init(&failed, 0);
	ca[0] = (struct conc_arg){ .s = f->s, .uids = uids, .failed = &failed };
	ca[1] = (struct conc_arg){ .s = f->s2, .uids = uids, .failed = &failed };
	for (int t = 0; t < CONC_THREADS; t++)
		assert_int_equal(pthread_create(&th[t], NULL, conc_main, &ca[t % 2]), 0);
	for (int t = 0; t < CONC_THREADS; t++)
		pthread_join(th[t], NULL);
	assert_int_equal(atomic_load(&failed), 0);
	assert_int_equal(rcall_int("HLEN %sui:%s", f->prefix, shard0),
	    CONC_USERS * CONC_THREADS * CONC_EACH);
	for (int u = 0; u < CONC_USERS; u++) {
		assert_int_equal(sess_list_user(u % 2 ? f->s2 : f->s, uids[u], &v, &n), 0);
		assert_int_equal(n, CONC_THREADS * CONC_EACH);
		for (size_t i = 0; i < n; i++)
			assert_string_equal(v[i].uid, uids[u]);
		free(v);
	}
	assert_int_equal(sess_end_user(f->s2, uids[3], SESS_END_ADMIN, &ended, &n), 0);
	assert_int_equal(n, CONC_THREADS * CONC_EACH);
	free(ended);
	assert_int_equal(rcall_int("HLEN %sui:%s", f->prefix, shard0),
	    (CONC_USERS - 1) * CONC_THREADS * CONC_EACH);
	assert_int_equal(sess_list_user(f->s, uids[4], &v, &n), 0);
	assert_int_equal(n, CONC_THREADS * CONC_EACH);
	free(v);
}

/* The sweep drops user index entries: of sessions it ends, and of sessions whose record
 * Redis expired before any authd swept (no TTL on the index, so nothing else would). */
static void
test_uidx_sweep(void **state)
{
	struct fx *f = *state;
	struct sess_info a, b, c;
	char ta[SESS_TOKEN_SIZE], tb[SESS_TOKEN_SIZE], tc[SESS_TOKEN_SIZE];
	unsigned char ka[32], kb[32], kc[32];
	struct sess_info *v = NULL;
	size_t n = 0;
	int sweeps = 0;

	redis_only(state);
	reopen(f, 60, 3600);
	login(f->s, "u-sweep", ta, &a);
	login(f->s, "u-sweep", tb, &b);
	advance(f, 30000);
	login(f->s, "u-sweep", tc, &c);
	assert_int_equal(yh_hex_decode(a.key, 64, ka, 32), 0);
	assert_int_equal(yh_hex_decode(b.key, 64, kb, 32), 0);
	assert_int_equal(yh_hex_decode(c.key, 64, kc, 32), 0);
	/* b's record vanishes as Redis's TTL would make it (authd down past the grace) */
	assert_int_equal(rcall_int("DEL %s%s%b", f->prefix, "s:", kb, (size_t)32), 1);
	advance(f, 30000);              /* a is past its idle timeout; c is not */
	assert_int_equal(sess_sweep(f->s, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ev_count(&f->log, SESS_EV_ENDED, SESS_END_EXPIRED, a.key, true), 1);
	assert_false(redis_holds_bin(f->prefix, ka, 32));    /* a's entry went with it */
	/* b's entry goes with the sweep's scan of the index, within one pass of its
	 * shards (16384 shards, 32 per sweep) */
	while (redis_holds_bin(f->prefix, kb, 32) && sweeps++ < 512)
		assert_int_equal(sess_sweep(f->s, &n), 0);
	assert_false(redis_holds_bin(f->prefix, kb, 32));
	assert_true(redis_holds_bin(f->prefix, kc, 32));
	assert_int_equal(sess_list_user(f->s, "u-sweep", &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].key, c.key);
	free(v);
}

/* Sessions indexed by an older version (a hash per user, P v:<uid>) stay on their
 * user's list after an upgrade, move to the shared index when their id rotates, and
 * end when the user is logged out everywhere. */
static void
test_uidx_older_layout(void **state)
{
	struct fx *f = *state;
	struct sess_info a, b, got, *v = NULL, *ended = NULL;
	struct sess_auth up = { .uid = "u-old", .loa = 3, .amr = AMR_OTP, .namr = 2 };
	char ta[SESS_TOKEN_SIZE], tb[SESS_TOKEN_SIZE], ta2[SESS_TOKEN_SIZE], shard[5], tag[12];
	unsigned char ka[32], kb[32], ka2[32];
	size_t n = 0;

	redis_only(state);
	login(f->s, "u-old", ta, &a);
	login(f->s, "u-old", tb, &b);
	ui_place("u-old", shard, tag);
	assert_int_equal(yh_hex_decode(a.key, 64, ka, 32), 0);
	assert_int_equal(yh_hex_decode(b.key, 64, kb, 32), 0);
	/* both as the older version indexed them */
	for (int i = 0; i < 2; i++) {
		const unsigned char *k = i == 0 ? ka : kb;

		assert_int_equal(rcall_int("HDEL %sui:%s %b", f->prefix, shard, k, (size_t)32), 1);
		rcall("HSET %sv:u-old %b %s", f->prefix, k, (size_t)32, "");
	}
	rcall("PEXPIRE %sv:u-old 3600000", f->prefix);
	assert_int_equal(sess_list_user(f->s, "u-old", &v, &n), 0);
	assert_int_equal(n, 2);
	free(v);
	/* a step-up rotates a's id: the new key is in the shared index, the old one nowhere */
	assert_int_equal(sess_reauth(f->s, ta, &up, ta2, &got), 0);
	assert_int_equal(yh_hex_decode(got.key, 64, ka2, 32), 0);
	assert_int_equal(rcall_int("HEXISTS %sui:%s %b", f->prefix, shard, ka2, (size_t)32), 1);
	assert_int_equal(rcall_int("HEXISTS %sv:u-old %b", f->prefix, ka, (size_t)32), 0);
	assert_int_equal(sess_list_user(f->s, "u-old", &v, &n), 0);
	assert_int_equal(n, 2);
	free(v);
	assert_int_equal(sess_end_user(f->s, "u-old", SESS_END_ADMIN, &ended, &n), 0);
	assert_int_equal(n, 2);
	free(ended);
	assert_int_equal(sess_get(f->s, tb, 0, &got), YH_ERR_NOT_FOUND);
	assert_int_equal(rcall_int("EXISTS %sv:u-old", f->prefix), 0);
	assert_int_equal(rcall_int("HLEN %sui:%s", f->prefix, shard), 0);
}

/* Users share the index's shards and, rarely, a tag too: listing one user's sessions
 * skips another's record without touching its entry. */
static void
test_uidx_shared_tag(void **state)
{
	struct fx *f = *state;
	struct sess_info a, b, *v = NULL;
	char ta[SESS_TOKEN_SIZE], tb[SESS_TOKEN_SIZE], shard_a[5], tag_a[12], shard_b[5],
	    tag_b[12];
	unsigned char kb[32];
	size_t n = 0;

	redis_only(state);
	login(f->s, "u-tag-a", ta, &a);
	login(f->s, "u-tag-b", tb, &b);
	ui_place("u-tag-a", shard_a, tag_a);
	ui_place("u-tag-b", shard_b, tag_b);
	assert_int_equal(yh_hex_decode(b.key, 64, kb, 32), 0);
	/* b's entry moved to a's shard with a's tag: as if their uids' hashes agreed */
	assert_int_equal(rcall_int("HDEL %sui:%s %b", f->prefix, shard_b, kb, (size_t)32), 1);
	rcall("HSET %sui:%s %b %s", f->prefix, shard_a, kb, (size_t)32, tag_a);
	assert_int_equal(sess_list_user(f->s, "u-tag-a", &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].key, a.key);
	free(v);
	assert_int_equal(rcall_int("HEXISTS %sui:%s %b", f->prefix, shard_a, kb, (size_t)32), 1);
}

/* ---- the Redis expiry index ----------------------------------------------------------- */

/* Where the Redis store indexes a session's expiry: P x:<shard> (redis.c), with shard
 * from the key's first two bytes in four hex digits (16384 sets), or in three (1024
 * sets) in an older version's layout. */
static void
x_place(const unsigned char k[32], bool older, char shard[5])
{
	unsigned v = (unsigned)k[0] << 8 | k[1];

	if (older)
		snprintf(shard, 5, "%03x", v % 1024);
	else
		snprintf(shard, 5, "%04x", v % 16384);
}

/* A reply of rcallv for the caller to read. */
static redisReply *
rcall_reply(const char *fmt, ...)
{
	redisReply *r;
	va_list ap;

	va_start(ap, fmt);
	r = rcallv(fmt, ap);
	va_end(ap);
	return r;
}

/* The expiry recorded for hex key in P x:<its shard> (older: the older version's set), or
 * -1 when that set has none for it. */
static long long
x_score(struct fx *f, const char *key, bool older)
{
	unsigned char k[32];
	char shard[5];
	redisReply *r;
	long long v = -1;

	assert_int_equal(yh_hex_decode(key, 64, k, 32), 0);
	x_place(k, older, shard);
	r = rcall_reply("ZSCORE %sx:%s %b", f->prefix, shard, k, (size_t)32);
	if (r->type == REDIS_REPLY_STRING)
		v = strtoll(r->str, NULL, 10);
	freeReplyObject(r);
	return v;
}

/* Moves hex key's expiry entry from the current set to the older version's one, as that
 * version would have recorded it. */
static void
x_make_older(struct fx *f, const char *key)
{
	unsigned char k[32];
	char now[5], old[5];
	long long score = x_score(f, key, false);

	assert_true(score > 0);
	assert_int_equal(yh_hex_decode(key, 64, k, 32), 0);
	x_place(k, false, now);
	x_place(k, true, old);
	assert_int_equal(rcall_int("ZREM %sx:%s %b", f->prefix, now, k, (size_t)32), 1);
	assert_int_equal(rcall_int("ZADD %sx:%s %lld %b", f->prefix, old, score, k, (size_t)32),
	    1);
}

/* The number of the older version's expiry sets (P x:000 .. x:3ff) that exist. */
static long long
x_older_sets(struct fx *f)
{
	long long n = 0;

	for (unsigned i = 0; i < 1024; i++)
		n += rcall_int("EXISTS %sx:%03x", f->prefix, i);
	return n;
}

#define X_MANY 600

/* Each session's expiry is in the set of its key's shard, one of 16384 small sorted
 * sets; a sweep ends sessions spread over many of them (more than one round of 256
 * each) with their events, scanning a bounded number of sets per script call. */
static void
test_xidx_sets(void **state)
{
	struct fx *f = *state;
	struct sess_info *v = calloc(X_MANY, sizeof(*v));
	char tok[SESS_TOKEN_SIZE], uid[32], fresh_tok[SESS_TOKEN_SIZE];
	struct sess_info fresh;
	size_t n = 0;

	redis_only(state);
	assert_non_null(v);
	reopen(f, 60, 3600);
	for (int i = 0; i < X_MANY; i++) {
		snprintf(uid, sizeof(uid), "u-x-%d", i);
		login(f->s, uid, tok, &v[i]);
		assert_true(x_score(f, v[i].key, false) > 0);
		assert_int_equal(x_score(f, v[i].key, true), -1);
	}
	assert_true(redis_all_compact(f->prefix));
	advance(f, 30000);
	login(f->s, "u-x-fresh", fresh_tok, &fresh);
	advance(f, 30000);
	assert_int_equal(sess_sweep(f->s, &n), 0);
	assert_int_equal(n, X_MANY);
	for (int i = 0; i < X_MANY; i++) {
		assert_int_equal(ev_count(&f->log, SESS_EV_ENDED, SESS_END_EXPIRED, v[i].key, true),
		    1);
		assert_int_equal(x_score(f, v[i].key, false), -1);
	}
	assert_int_equal(sess_get(f->s, fresh_tok, 0, &fresh), 0);
	assert_true(x_score(f, fresh.key, false) > 0);
	assert_int_equal(sess_sweep(f->s, &n), 0);
	assert_int_equal(n, 0);
	free(v);
}

/* After an upgrade, sessions whose expiry an older version recorded (1024 sets,
 * P x:000 .. x:3ff) still end by the sweep with their event once due; an entry whose
 * record is gone is dropped, one not yet due waits, and the older sets empty. */
static void
test_xidx_older_sets(void **state)
{
	struct fx *f = *state;
	struct sess_info a, b, c, d, got;
	char ta[SESS_TOKEN_SIZE], tb[SESS_TOKEN_SIZE], tc[SESS_TOKEN_SIZE], td[SESS_TOKEN_SIZE];
	unsigned char kb[32];
	size_t n = 0;

	redis_only(state);
	reopen(f, 60, 3600);
	login(f->s, "u-xo-a", ta, &a);      /* due first */
	login(f->s, "u-xo-b", tb, &b);      /* its record vanishes */
	login(f->s, "u-xo-d", td, &d);      /* touched after the upgrade */
	advance(f, 40000);
	login(f->s, "u-xo-c", tc, &c);      /* due 40 s later */
	x_make_older(f, a.key);
	x_make_older(f, b.key);
	x_make_older(f, c.key);
	x_make_older(f, d.key);
	assert_int_equal(yh_hex_decode(b.key, 64, kb, 32), 0);
	assert_int_equal(rcall_int("DEL %ss:%b", f->prefix, kb, (size_t)32), 1);
	assert_int_equal(sess_get(f->s, td, SESS_TOUCH, &got), 0);    /* touched */
	assert_true(x_score(f, d.key, false) > x_score(f, d.key, true));
	advance(f, 20000);
	assert_int_equal(sess_sweep(f->s, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ev_count(&f->log, SESS_EV_ENDED, SESS_END_EXPIRED, a.key, true), 1);
	assert_int_equal(x_score(f, a.key, true), -1);
	assert_int_equal(x_score(f, a.key, false), -1);
	assert_int_equal(x_score(f, b.key, true), -1);       /* dropped */
	assert_int_equal(x_score(f, b.key, false), -1);
	assert_int_equal(x_score(f, d.key, true), -1);       /* due there: moved, kept */
	assert_true(x_score(f, d.key, false) > 0);
	assert_true(x_score(f, c.key, true) > 0);            /* not due: waits */
	assert_int_equal(sess_get(f->s, td, SESS_TOUCH, &got), 0);
	advance(f, 40000);
	assert_int_equal(sess_sweep(f->s, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ev_count(&f->log, SESS_EV_ENDED, SESS_END_EXPIRED, c.key, true), 1);
	assert_int_equal(x_older_sets(f), 0);
	assert_int_equal(sess_get(f->s, td, 0, &got), 0);
	/* a node started later still ends what an older one records meanwhile */
	login(f->s, "u-xo-e", ta, &a);
	x_make_older(f, a.key);
	reopen(f, 60, 3600);
	advance(f, 60000);
	assert_int_equal(sess_sweep(f->s, &n), 0);
	assert_int_equal(ev_count(&f->log, SESS_EV_ENDED, SESS_END_EXPIRED, a.key, true), 1);
	assert_int_equal(x_older_sets(f), 0);
}

static void
test_fault(void **state)
{
	redis_only(state);
	test_redis_down_and_back(state);
}

/* Times read back from Redis: seen + idle past the range saturates (it wrapped into the
 * past, undefined behaviour), and session attributes whose times their readers cannot
 * compute with (auth_time * 1000, now - auth_time) are refused. */
/* Reads "f=v" pairs (f one letter) with sess_rec_field; the first error, or 0. */
static int
rec_read(const char *const *pairs, size_t n, struct sess_info *rec, unsigned *have)
{
	int rc = 0;

	memset(rec, 0, sizeof(*rec));
	*have = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = sess_rec_field(pairs[i], 1, pairs[i] + 2, strlen(pairs[i] + 2), rec, have);
	return rc;
}

static void
test_times_from_redis(void **state)
{
	static const char *const ok[] = { "i=abcdefghijklmnopqrstuw", "u=u", "k=1700000000000",
		"a=1700000000", "l=2", "m=pwd,otp", "g=Chrome / Android", "s=1", "d=1800000",
		"x=43200000" };
	static const char *const bad[] = { "a=9223372036854775807", "a=-1", "k=-1", "l=5",
		"m=pwd,,otp", "m=PWD", "m=a,b,c,d,e,f,g,h,i", "s=", "s=12x", "d=99999999999999999999",
		"i=abcdefghijklmnopqrstuvwxyz", "i=abc" };
	struct sess_info rec;
	unsigned have = 0;
	struct sess_rec_text t;

	(void)state;
	assert_true(sess_rec_expiry(1000, 500, 2000) == 1500);
	assert_true(sess_rec_expiry(1000, 500, 1200) == 1200);
	assert_true(sess_rec_expiry(INT64_MAX, 1800000, INT64_MAX) == INT64_MAX);
	assert_true(sess_rec_expiry(INT64_MAX - 10, 1800000, 5000) == 5000);
	assert_true(sess_rec_expiry(INT64_MIN + 1, -5, 0) == INT64_MIN);
	assert_int_equal(rec_read(ok, sizeof(ok) / sizeof(ok[0]), &rec, &have), 0);
	assert_int_equal(sess_rec_finish(&rec, have), 0);
	assert_true(rec.expires_ms == 1700001800001LL);
	assert_true(rec.auth_time == 1700000000 && rec.created_ms == 1700000000000LL);
	assert_true(rec.seen_ms == 1700000000001LL && rec.idle_ms == 1800000 &&
	    rec.aexp_ms == 1700043200000LL && rec.loa == 2);
	assert_int_equal(rec.namr, 2);
	assert_string_equal(rec.amr[1], "otp");
	assert_string_equal(rec.ua, "Chrome / Android");
	/* a missing required field: the record is refused by its reader */
	assert_int_equal(rec_read(ok, 4, &rec, &have), 0);
	assert_int_equal(sess_rec_finish(&rec, have), YH_ERR_INVALID);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(rec_read(&bad[i], 1, &rec, &have), YH_ERR_INVALID);
	/* written and read back: every field under Redis's compact-hash value limit (64) */
	assert_int_equal(rec_read(ok, sizeof(ok) / sizeof(ok[0]), &rec, &have), 0);
	assert_int_equal(sess_rec_finish(&rec, have), 0);
	sess_copy_cut(rec.ua, sizeof(rec.ua), UA_CHROME_WINDOWS);
	sess_rec_fields(&rec, true, &t);
	assert_int_equal(t.n, 22);
	assert_int_equal(t.l[1], 16);          /* the sid as its 16 bytes */
	for (size_t i = 0; i < t.n; i++)
		assert_true(t.l[i] <= 64);
	{
		struct sess_info back;

		memset(&back, 0, sizeof(back));
		have = 0;
		for (size_t i = 0; i < t.n; i += 2)
			assert_int_equal(sess_rec_field(t.v[i], t.l[i], t.v[i + 1], t.l[i + 1],
			    &back, &have), 0);
		assert_int_equal(have, 0x7ffu);
		assert_int_equal(sess_rec_finish(&back, have), 0);
		assert_true(back.seen_ms == rec.seen_ms && back.expires_ms == rec.expires_ms);
		assert_string_equal(back.ua, "Chrome / Windows");
		assert_string_equal(back.sid, rec.sid);
		assert_true(back.namr == 2 && back.aexp_ms == rec.aexp_ms);
	}
	sess_rec_fields(&rec, false, &t);
	assert_int_equal(t.n, 18);
}

/* The metrics the store keeps for /metrics: created, re-authenticated, ended by reason
 * and, in memory, the live count. */
static void
test_metrics(void **state)
{
	struct fx *f = *state;
	struct mx_registry *m = NULL;
	struct sess_config c;
	struct sess_info a;
	struct sess_auth up = { .uid = "u-mx1", .loa = 3, .amr = AMR_OTP, .namr = 2 };
	char t1[SESS_TOKEN_SIZE], t2[SESS_TOKEN_SIZE], t3[SESS_TOKEN_SIZE], t4[SESS_TOKEN_SIZE];
	struct yh_buf b;
	size_t n = 0;

	assert_int_equal(mx_registry_new(&m), 0);
	sess_close(f->s);
	cfg_base(&c, f, &f->log);
	c.metrics = m;
	f->s = open_with(&c);
	login(f->s, "u-mx1", t1, &a);
	login(f->s, "u-mx2", t2, &a);
	login(f->s, "u-mx3", t3, &a);
	assert_int_equal(sess_reauth(f->s, t1, &up, t4, &a), 0);
	assert_int_equal(sess_end_token(f->s, t2, SESS_END_USER, NULL), 0);
	assert_int_equal(sess_end_user(f->s, "u-mx3", SESS_END_ADMIN, NULL, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(sess_end_token(f->s, t2, SESS_END_USER, NULL), YH_ERR_NOT_FOUND);

	yh_buf_init(&b, 1 << 20);
	assert_int_equal(mx_render(m, &b), 0);
	assert_non_null(strstr(yh_buf_cstr(&b), "\nyh_sessions_created_total 3\n"));
	assert_non_null(strstr(yh_buf_cstr(&b), "\nyh_sessions_reauth_total 1\n"));
	assert_non_null(strstr(yh_buf_cstr(&b), "\nyh_sessions_ended_total{reason=\"user\"} 1\n"));
	assert_non_null(strstr(yh_buf_cstr(&b), "\nyh_sessions_ended_total{reason=\"admin\"} 1\n"));
	assert_non_null(strstr(yh_buf_cstr(&b), "\nyh_sessions_ended_total{reason=\"logout\"} 0\n"));
	if (f->backend == SESS_BACKEND_MEMORY)
		assert_non_null(strstr(yh_buf_cstr(&b), "\nyh_sessions_active 1\n"));
	else
		assert_null(strstr(yh_buf_cstr(&b), "yh_sessions_active"));
	yh_buf_free(&b);
	sess_close(f->s);
	f->s = NULL;
	mx_registry_free(m);
}

#define BOTH(fn) \
	cmocka_unit_test_setup_teardown(fn, SETUP, teardown)

int
main(void)
{
	int failed = 0;

	signal(SIGPIPE, SIG_IGN);
	atexit(redis_kill);
#define SETUP setup_mem
	const struct CMUnitTest mem_tests[] = {
		BOTH(test_create_get), BOTH(test_config), BOTH(test_idle_timeout), BOTH(test_touch_extends),
		BOTH(test_absolute_timeout), BOTH(test_set_timeouts), BOTH(test_reauth_rotates),
		BOTH(test_end_one_and_all),
		BOTH(test_clients), BOTH(test_cas_tickets), BOTH(test_max_per_user), BOTH(test_codes_single_use),
		BOTH(test_par_single_use), BOTH(test_flows), BOTH(test_otc_single_use),
		BOTH(test_codes_bound_to_client), BOTH(test_tickets), BOTH(test_proxy_tickets),
		BOTH(test_refresh_rotation), BOTH(test_refresh_revoke_org),
		BOTH(test_counters_lockout), BOTH(test_denylist),
		BOTH(test_sweep), BOTH(test_sweep_thread),
		BOTH(test_mem_bounded), BOTH(test_mem_every_kind_expires), BOTH(test_metrics),
		cmocka_unit_test(test_times_from_redis),
	};
#undef SETUP
#define SETUP setup_redis
	const struct CMUnitTest redis_tests[] = {
		BOTH(test_create_get), BOTH(test_config), BOTH(test_idle_timeout), BOTH(test_touch_extends),
		BOTH(test_absolute_timeout), BOTH(test_set_timeouts), BOTH(test_reauth_rotates),
		BOTH(test_end_one_and_all),
		BOTH(test_clients), BOTH(test_cas_tickets), BOTH(test_max_per_user), BOTH(test_codes_single_use),
		BOTH(test_par_single_use), BOTH(test_flows), BOTH(test_otc_single_use),
		BOTH(test_codes_bound_to_client), BOTH(test_tickets), BOTH(test_proxy_tickets),
		BOTH(test_refresh_rotation), BOTH(test_refresh_revoke_org),
		BOTH(test_counters_lockout), BOTH(test_denylist),
		BOTH(test_sweep), BOTH(test_sweep_thread),
		BOTH(test_pubsub), BOTH(test_fault), BOTH(test_metrics),
		BOTH(test_uidx_concurrent_writers), BOTH(test_uidx_sweep),
		BOTH(test_uidx_shared_tag), BOTH(test_uidx_older_layout),
		BOTH(test_xidx_sets), BOTH(test_xidx_older_sets),
	};
#undef SETUP
	failed += cmocka_run_group_tests_name("sess_memory", mem_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("sess_redis", redis_tests, group_setup_redis,
	    group_teardown_redis);
	redis_kill();
	return failed;
}
