/*
 * Deadlines for request heads and bodies (see authd/http/watch.h). Reading this file:
 * the set and its shards, registering and phases (the HTTP threads' side), then the
 * sweeper (its own thread).
 */
#include <errno.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "authd/http/watch.h"
#include "common/log.h"
#include "common/timeutil.h"

#define HW_SHARDS 16
#define HW_SWEEP_MS 500
#define HW_LOG_EVERY_MS 10000
#define HW_PHASE_MASK 3u

struct hw_conn {
	struct hw_conn *prev, *next;    /* the shard's list, under its lock */
	unsigned shard;
	int fd;
	/* written by the connection's HTTP thread */
	uint64_t seq;                   /* phase changes so far (that thread only) */
	_Atomic uint64_t stage;         /* seq << 2 | phase */
	_Atomic int64_t body_deadline;  /* monotonic ms; set before stage says HW_BODY */
	_Atomic int cut;                /* enum hw_cut, set by the sweeper */
	/* the sweeper's own view, under the shard lock */
	uint64_t seen;                  /* the stage of the last sweep */
	bool rx_known;                  /* rx_mark holds the bytes received when it began */
	uint64_t rx_mark;
	int64_t head_deadline;          /* 0: the next head has not started */
};

struct hw_shard {
	pthread_mutex_t lock;
	struct hw_conn *head;
};

struct hw_set {
	int64_t head_ms, body_ms;
	unsigned max_conns;
	struct hw_shard shards[HW_SHARDS];
	atomic_uint open;
	_Atomic int64_t limit_warned;   /* monotonic ms of the last "limit reached" line */
	struct mx_counter *cut_head, *cut_body;
	/* the sweeper */
	pthread_t thread;
	bool running;
	pthread_mutex_t run_lock;
	pthread_cond_t run_cond;
	bool stopping;                  /* under run_lock */
	unsigned pending_head, pending_body;   /* cuts not logged yet (sweeper only) */
	int64_t last_log;
};

static void *sweeper_main(void *arg);

static int
metrics_setup(struct hw_set *s, struct mx_registry *m)
{
	static const char help[] = "HTTP connections closed because their request head or "
	    "body was not complete in time (http.head_timeout, http.body_timeout).";
	int r;

	if (m == NULL)
		return 0;
	if ((r = mx_counter_get(m, "yh_http_connections_cut_total", help, "reason=\"head\"",
	    &s->cut_head)) != 0)
		return r;
	return mx_counter_get(m, "yh_http_connections_cut_total", help, "reason=\"body\"",
	    &s->cut_body);
}

int
hw_set_new(const struct hw_opts *opts, struct hw_set **out)
{
	struct hw_set *s;
	int r;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return YH_ERR_ALLOC;
	s->head_ms = (int64_t)opts->head_timeout * 1000;
	s->body_ms = (int64_t)opts->body_timeout * 1000;
	s->max_conns = opts->max_conns;
	for (size_t i = 0; i < HW_SHARDS; i++)
		pthread_mutex_init(&s->shards[i].lock, NULL);
	pthread_mutex_init(&s->run_lock, NULL);
	pthread_cond_init(&s->run_cond, NULL);
	if ((r = metrics_setup(s, opts->metrics)) == 0) {
		if (pthread_create(&s->thread, NULL, sweeper_main, s) == 0)
			s->running = true;
		else
			r = YH_ERR_INTERNAL;
	}
	if (r != 0) {
		hw_set_free(s);
		return r;
	}
	*out = s;
	return 0;
}

void
hw_set_free(struct hw_set *s)
{
	if (s == NULL)
		return;
	if (s->running) {
		pthread_mutex_lock(&s->run_lock);
		s->stopping = true;
		pthread_cond_broadcast(&s->run_cond);
		pthread_mutex_unlock(&s->run_lock);
		pthread_join(s->thread, NULL);
	}
	for (size_t i = 0; i < HW_SHARDS; i++) {
		struct hw_conn *c, *next;

		for (c = s->shards[i].head; c != NULL; c = next) {
			next = c->next;
			free(c);
		}
		pthread_mutex_destroy(&s->shards[i].lock);
	}
	pthread_mutex_destroy(&s->run_lock);
	pthread_cond_destroy(&s->run_cond);
	free(s);
}

/* ------------------------------------------------------------------ the HTTP threads */

/* One line when the connection limit is reached, at most every HW_LOG_EVERY_MS. */
static void
warn_at_limit(struct hw_set *s, unsigned open)
{
	int64_t now = yh_mono_ms(), last = atomic_load(&s->limit_warned);

	if (open < s->max_conns || (last != 0 && now - last < HW_LOG_EVERY_MS) ||
	    !atomic_compare_exchange_strong(&s->limit_warned, &last, now))
		return;
	yh_warn("http: %u connections open, the limit (http.max_connections): new "
	    "connections wait in the listen backlog until one closes", open);
}

struct hw_conn *
hw_conn_add(struct hw_set *s, int fd)
{
	struct hw_conn *c;
	struct hw_shard *sh;

	if (fd < 0 || (c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->fd = fd;
	c->shard = (unsigned)fd % HW_SHARDS;
	c->seq = 1;
	atomic_init(&c->stage, (c->seq << 2) | HW_WAIT);
	c->seen = atomic_load(&c->stage);
	c->rx_known = true;     /* every byte it will have received belongs to its first head */
	sh = &s->shards[c->shard];
	pthread_mutex_lock(&sh->lock);
	c->next = sh->head;
	if (sh->head != NULL)
		sh->head->prev = c;
	sh->head = c;
	pthread_mutex_unlock(&sh->lock);
	warn_at_limit(s, atomic_fetch_add(&s->open, 1) + 1);
	return c;
}

void
hw_conn_remove(struct hw_set *s, struct hw_conn *c)
{
	struct hw_shard *sh;

	if (c == NULL)
		return;
	sh = &s->shards[c->shard];
	pthread_mutex_lock(&sh->lock);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		sh->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&sh->lock);
	atomic_fetch_sub(&s->open, 1);
	free(c);
}

void
hw_conn_phase(struct hw_set *s, struct hw_conn *c, enum hw_phase p)
{
	if (c == NULL)
		return;
	if (p == HW_BODY)
		atomic_store_explicit(&c->body_deadline, s->body_ms > 0 ?
		    yh_mono_ms() + s->body_ms : 0, memory_order_relaxed);
	c->seq++;
	atomic_store_explicit(&c->stage, (c->seq << 2) | (unsigned)p, memory_order_release);
}

enum hw_cut
hw_conn_cut(const struct hw_conn *c)
{
	return c == NULL ? HW_CUT_NONE : (enum hw_cut)atomic_load(&c->cut);
}

/* ------------------------------------------------------------------ the sweeper */

/* The bytes the kernel has received on fd so far. Returns 0 or YH_ERR_UNSUPPORTED. */
static int
rx_bytes(int fd, uint64_t *out)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 ||
	    len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(ti.tcpi_bytes_received))
		return YH_ERR_UNSUPPORTED;
	*out = ti.tcpi_bytes_received;
	return 0;
}

/* Closes c's socket for both directions; libmicrohttpd sees the close. Shard locked
 * (so the socket number is still c's). */
static void
cut(struct hw_set *s, struct hw_conn *c, enum hw_cut why)
{
	atomic_store(&c->cut, why);
	(void)shutdown(c->fd, SHUT_RDWR);
	if (why == HW_CUT_HEAD) {
		s->pending_head++;
		mx_counter_add(s->cut_head, 1);
	} else {
		s->pending_body++;
		mx_counter_add(s->cut_body, 1);
	}
}

/* Between requests: notices the first byte of the next head, then holds it to the
 * head deadline. */
static void
sweep_waiting(struct hw_set *s, struct hw_conn *c, int64_t now)
{
	uint64_t rx;

	if (s->head_ms == 0)
		return;
	if (c->head_deadline != 0) {
		if (now >= c->head_deadline)
			cut(s, c, HW_CUT_HEAD);
		return;
	}
	if (rx_bytes(c->fd, &rx) != 0) {
		/* No byte count (a kernel older than 4.1): the deadline runs from the first
		 * sweep that sees the connection waiting, so it bounds the idle wait too. */
		c->head_deadline = now + s->head_ms;
		return;
	}
	if (!c->rx_known) {
		c->rx_known = true;
		c->rx_mark = rx;
	} else if (rx != c->rx_mark)
		c->head_deadline = now + s->head_ms;
}

static void
sweep_conn(struct hw_set *s, struct hw_conn *c, int64_t now)
{
	uint64_t stage = atomic_load_explicit(&c->stage, memory_order_acquire);
	int64_t dl;

	if (atomic_load(&c->cut) != HW_CUT_NONE)
		return;
	if (stage != c->seen) {         /* a new phase since the last sweep */
		c->seen = stage;
		c->rx_known = false;
		c->head_deadline = 0;
	}
	switch (stage & HW_PHASE_MASK) {
	case HW_WAIT:
		sweep_waiting(s, c, now);
		break;
	case HW_BODY:
		dl = atomic_load_explicit(&c->body_deadline, memory_order_relaxed);
		if (dl != 0 && now >= dl)
			cut(s, c, HW_CUT_BODY);
		break;
	default:
		break;
	}
}

/* The summary of the cuts since the last line, at most every HW_LOG_EVERY_MS. */
static void
log_cuts(struct hw_set *s, int64_t now)
{
	if ((s->pending_head == 0 && s->pending_body == 0) ||
	    (s->last_log != 0 && now - s->last_log < HW_LOG_EVERY_MS))
		return;
	yh_warn("http: closed %u connections whose request head took longer than %lld s "
	    "and %u whose body took longer than %lld s (slow or stalled clients)",
	    s->pending_head, (long long)(s->head_ms / 1000), s->pending_body,
	    (long long)(s->body_ms / 1000));
	s->pending_head = s->pending_body = 0;
	s->last_log = now;
}

static void
sweep(struct hw_set *s)
{
	int64_t now = yh_mono_ms();

	for (size_t i = 0; i < HW_SHARDS; i++) {
		struct hw_shard *sh = &s->shards[i];

		pthread_mutex_lock(&sh->lock);
		for (struct hw_conn *c = sh->head; c != NULL; c = c->next)
			sweep_conn(s, c, now);
		pthread_mutex_unlock(&sh->lock);
	}
	log_cuts(s, now);
}

static void *
sweeper_main(void *arg)
{
	struct hw_set *s = arg;
	struct timespec ts;

	pthread_mutex_lock(&s->run_lock);
	while (!s->stopping) {
		yh_realtime_after_ms(HW_SWEEP_MS, &ts);
		if (pthread_cond_timedwait(&s->run_cond, &s->run_lock, &ts) != ETIMEDOUT)
			continue;
		pthread_mutex_unlock(&s->run_lock);
		sweep(s);
		pthread_mutex_lock(&s->run_lock);
	}
	pthread_mutex_unlock(&s->run_lock);
	return NULL;
}
