/* Unit tests for authd's core: listen/proxy parsing, form parsing, metrics, the worker
 * pool and configuration loading (file:line errors, derived issuer). */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/resource.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <cmocka.h>

#include "authcore/authd_config.h"
#include "authd/http/http.h"
#include "common/log.h"
#include "common/netaddr.h"
#include "common/metrics.h"
#include "common/workers.h"

static void
test_parse_listen(void **state)
{
	char host[64];
	uint16_t port;

	(void)state;
	assert_int_equal(net_listen_parse("127.0.0.1:8080", host, sizeof(host), &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 8080);
	assert_int_equal(net_listen_parse("[::1]:0", host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 0);
	assert_int_equal(net_listen_parse("0.0.0.0:65535", host, sizeof(host), &port), 0);
	static const char *const bad[] = {
		"127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:+80",
		"localhost:80", "::1:80", "[::1:80", "[127.0.0.1]:80", ":80", "1.2.3:80",
		"127.0.0.1:80 ", "127.0.0.1:0x50", "",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(net_listen_parse(bad[i], host, sizeof(host), &port),
		    YH_ERR_INVALID);
}

/* Sentinel lists: host names, IPv4, [IPv6] (kept without brackets), ports 1..65535. */
static void
test_parse_hostports(void **state)
{
	struct net_hostport hp[NET_HOSTPORT_LIST_MAX];
	char bad[80];
	size_t n = 0;

	(void)state;
	assert_int_equal(net_hostport_list_parse(" s1.example:26379,,127.0.0.1:1 , [::1]:65535",
	    hp, NET_HOSTPORT_LIST_MAX, &n, bad, sizeof(bad)), 0);
	assert_int_equal(n, 3);
	assert_string_equal(hp[0].host, "s1.example");
	assert_int_equal(hp[0].port, 26379);
	assert_string_equal(hp[1].host, "127.0.0.1");
	assert_string_equal(hp[2].host, "::1");
	assert_int_equal(hp[2].port, 65535);
	assert_int_equal(net_hostport_list_parse(NULL, hp, 4, &n, bad, sizeof(bad)), 0);
	assert_int_equal(n, 0);
	static const char *const badl[] = { "s1", "s1:", "s1:0", "s1:65536", ":80", "[::1:80",
		"[]:80", "[nope]:80", "s 1:80", "s1:80x", "a_b:80", "s1:+80" };
	for (size_t i = 0; i < sizeof(badl) / sizeof(badl[0]); i++) {
		assert_int_equal(net_hostport_list_parse(badl[i], hp, 4, &n, bad, sizeof(bad)),
		    YH_ERR_INVALID);
		assert_string_equal(bad, badl[i]);
	}
	assert_int_equal(net_hostport_list_parse("a:1,b:2,c:3", hp, 2, &n, bad, sizeof(bad)),
	    YH_ERR_INVALID);
	assert_string_equal(bad, "c:3");
}

static void
test_proxies(void **state)
{
	char bad[80];

	(void)state;
	assert_int_equal(net_cidr_list_check(NULL, bad, sizeof(bad)), 0);
	assert_int_equal(net_cidr_list_check("", bad, sizeof(bad)), 0);
	assert_int_equal(net_cidr_list_check("10.0.0.1, 192.168.0.0/16,::1, fd00::/8", bad,
	    sizeof(bad)), 0);
	assert_int_equal(net_cidr_list_check("10.0.0.1, nope", bad, sizeof(bad)), YH_ERR_INVALID);
	assert_string_equal(bad, "nope");
	assert_int_equal(net_cidr_list_check("10.0.0.0/33", bad, sizeof(bad)), YH_ERR_INVALID);
	assert_int_equal(net_cidr_list_check("::/129", bad, sizeof(bad)), YH_ERR_INVALID);
	assert_int_equal(net_cidr_list_check("10.0.0.0/", bad, sizeof(bad)), YH_ERR_INVALID);
}

static void
form_expect(const char *body, const char *name, size_t max, int want, const char *value)
{
	char *out = (char *)"sentinel";
	int r = http_form_get(yh_span_cstr(body), name, max, &out);

	assert_int_equal(r, want);
	if (want == 0)
		assert_string_equal(out, value);
	else
		assert_null(out);
	free(out);
}

static void
test_form(void **state)
{
	(void)state;
	form_expect("a=1&b=two+words&c=%E4%B8%80%e5%8f%b7", "b", 100, 0, "two words");
	form_expect("a=1&b=two+words&c=%E4%B8%80%e5%8f%b7", "c", 100, 0, "一号");
	form_expect("a=1", "a", 100, 0, "1");
	form_expect("a=", "a", 100, 0, "");
	form_expect("a", "a", 100, 0, "");
	form_expect("x%5Fy=z", "x_y", 100, 0, "z");
	form_expect("a=ab+cd%2Bef+", "a", 100, 0, "ab cd+ef ");   /* runs between escapes */
	form_expect("a=%41%42c%43", "a", 100, 0, "ABcC");
	form_expect("a=+%20+", "a", 100, 0, "   ");
	form_expect("a=1&a=2", "a", 100, YH_ERR_CONFLICT, NULL);
	form_expect("a=1&b=2", "c", 100, YH_ERR_NOT_FOUND, NULL);
	form_expect("", "a", 100, YH_ERR_NOT_FOUND, NULL);
	form_expect("a=%zz", "a", 100, YH_ERR_INVALID, NULL);
	form_expect("a=%4", "a", 100, YH_ERR_INVALID, NULL);
	form_expect("a=%", "a", 100, YH_ERR_INVALID, NULL);
	form_expect("a=x%00y", "a", 100, YH_ERR_INVALID, NULL);
	form_expect("a=12345", "a", 4, YH_ERR_TOO_LONG, NULL);
	form_expect("a=1234", "a", 4, 0, "1234");
	form_expect("a=1", "a", 0, YH_ERR_TOO_LONG, NULL);
	/* A name that does not decode is skipped, not an error for other names. */
	form_expect("%zz=1&a=2", "a", 100, 0, "2");
	/* Empty pairs are skipped. */
	form_expect("a=1&&b=2&", "b", 100, 0, "2");
	/* Names compared whole, encoded or not: a prefix is another name, an encoded name is
	 * the same name as its plain spelling. */
	form_expect("ab=1&a=2", "a", 100, 0, "2");
	form_expect("a=1", "ab", 100, YH_ERR_NOT_FOUND, NULL);
	form_expect("=1&a=2", "a", 100, 0, "2");
	form_expect("x+y=1", "x y", 100, 0, "1");
	form_expect("a=1&%61=2", "a", 100, YH_ERR_CONFLICT, NULL);
	form_expect("%61=2&a=1", "a", 100, YH_ERR_CONFLICT, NULL);
}

static void
test_metrics_render(void **state)
{
	struct mx_registry *reg;
	struct mx_counter *c, *c2;
	struct mx_gauge *g;
	struct mx_hist *h;
	const double b[] = { 0.1, 1 };
	struct yh_buf out;

	(void)state;
	assert_int_equal(mx_registry_new(&reg), 0);
	assert_int_equal(mx_counter_get(reg, "t_requests_total", "Requests.",
	    "route=\"/a\",code=\"200\"", &c), 0);
	assert_int_equal(mx_counter_get(reg, "t_requests_total", "ignored",
	    "route=\"/a\",code=\"200\"", &c2), 0);
	assert_ptr_equal(c, c2);
	mx_counter_add(c, 3);
	assert_int_equal(mx_gauge_get(reg, "t_open", "Open.", NULL, &g), 0);
	mx_gauge_add(g, 5);
	mx_gauge_add(g, -2);
	assert_int_equal(mx_hist_get(reg, "t_latency_seconds", "Latency.", "r=\"x\"", b, 2, &h), 0);
	mx_hist_observe(h, 0.05);
	mx_hist_observe(h, 0.5);
	mx_hist_observe(h, 7);
	/* Wrong type or other bounds for an existing family, bad names. */
	assert_int_equal(mx_gauge_get(reg, "t_requests_total", "x", NULL, &g), YH_ERR_INVALID);
	assert_int_equal(mx_hist_get(reg, "t_latency_seconds", "x", "r=\"y\"", b, 1, &h),
	    YH_ERR_INVALID);
	assert_int_equal(mx_counter_get(reg, "9bad", "x", NULL, &c), YH_ERR_INVALID);
	assert_int_equal(mx_counter_get(reg, "bad-name", "x", NULL, &c), YH_ERR_INVALID);
	yh_buf_init(&out, 1 << 16);
	assert_int_equal(mx_render(reg, &out), 0);
	assert_string_equal(yh_buf_cstr(&out),
	    "# HELP t_requests_total Requests.\n"
	    "# TYPE t_requests_total counter\n"
	    "t_requests_total{route=\"/a\",code=\"200\"} 3\n"
	    "# HELP t_open Open.\n"
	    "# TYPE t_open gauge\n"
	    "t_open 3\n"
	    "# HELP t_latency_seconds Latency.\n"
	    "# TYPE t_latency_seconds histogram\n"
	    "t_latency_seconds_bucket{r=\"x\",le=\"0.1\"} 1\n"
	    "t_latency_seconds_bucket{r=\"x\",le=\"1\"} 2\n"
	    "t_latency_seconds_bucket{r=\"x\",le=\"+Inf\"} 3\n"
	    "t_latency_seconds_sum{r=\"x\"} 7.55\n"
	    "t_latency_seconds_count{r=\"x\"} 3\n");
	yh_buf_reset(&out);
	assert_int_equal(mx_label_escape(&out, "a\"b\\c\nd"), 0);
	assert_string_equal(yh_buf_cstr(&out), "a\\\"b\\\\c\\nd");
	yh_buf_free(&out);
	mx_registry_free(reg);
	mx_registry_free(NULL);
}

static int
read_fixed(void *ctx, double *v)
{
	*v = *(const double *)ctx;
	return 0;
}

static int
read_fails(void *ctx, double *v)
{
	return YH_ERR_IO;
}

/* Series read at rendering: their value, their TYPE, left out when the reader fails;
 * the process series of mx_register_process are among them. */
static void
test_metrics_fn(void **state)
{
	struct mx_registry *reg;
	struct mx_gauge *g;
	double cpu = 1.25, depth = 3, other = 7;
	struct yh_buf out;
	const char *text;

	(void)state;
	assert_int_equal(mx_registry_new(&reg), 0);
	assert_int_equal(mx_counter_fn_add(reg, "t_cpu_seconds_total", "CPU.", NULL, read_fixed,
	    &cpu), 0);
	assert_int_equal(mx_gauge_fn_add(reg, "t_depth", "Depth.", "q=\"a\"", read_fixed,
	    &depth), 0);
	assert_int_equal(mx_gauge_fn_add(reg, "t_depth", "Depth.", "q=\"b\"", read_fails,
	    NULL), 0);
	/* The same series again: the new reader replaces the old one. */
	assert_int_equal(mx_gauge_fn_add(reg, "t_other", "Other.", NULL, read_fails, NULL), 0);
	assert_int_equal(mx_gauge_fn_add(reg, "t_other", "Other.", NULL, read_fixed, &other), 0);
	/* A kept gauge cannot join a family read at rendering, nor the reverse. */
	assert_int_equal(mx_gauge_get(reg, "t_depth", "x", NULL, &g), YH_ERR_INVALID);
	assert_int_equal(mx_gauge_get(reg, "t_kept", "Kept.", NULL, &g), 0);
	assert_int_equal(mx_gauge_fn_add(reg, "t_kept", "x", NULL, read_fixed, &depth),
	    YH_ERR_INVALID);
	assert_int_equal(mx_counter_fn_add(reg, "t_depth", "x", "q=\"c\"", read_fixed, &depth),
	    YH_ERR_INVALID);
	assert_int_equal(mx_gauge_fn_add(reg, "t_nofn", "x", NULL, NULL, NULL), YH_ERR_INVALID);
	assert_int_equal(mx_gauge_fn_add(reg, "bad-name", "x", NULL, read_fixed, &depth),
	    YH_ERR_INVALID);
	yh_buf_init(&out, 1 << 16);
	assert_int_equal(mx_render(reg, &out), 0);
	assert_string_equal(yh_buf_cstr(&out),
	    "# HELP t_cpu_seconds_total CPU.\n"
	    "# TYPE t_cpu_seconds_total counter\n"
	    "t_cpu_seconds_total 1.25\n"
	    "# HELP t_depth Depth.\n"
	    "# TYPE t_depth gauge\n"
	    "t_depth{q=\"a\"} 3\n"
	    "# HELP t_other Other.\n"
	    "# TYPE t_other gauge\n"
	    "t_other 7\n"
	    "# HELP t_kept Kept.\n"
	    "# TYPE t_kept gauge\n"
	    "t_kept 0\n");
	depth = 4;   /* read again at the next rendering */
	yh_buf_reset(&out);
	assert_int_equal(mx_render(reg, &out), 0);
	assert_non_null(strstr(yh_buf_cstr(&out), "\nt_depth{q=\"a\"} 4\n"));
	mx_registry_free(reg);

	assert_int_equal(mx_registry_new(&reg), 0);
	assert_int_equal(mx_register_process(reg, "1.2"), 0);
	yh_buf_reset(&out);
	assert_int_equal(mx_render(reg, &out), 0);
	text = yh_buf_cstr(&out);
	assert_non_null(strstr(text, "# TYPE process_cpu_seconds_total counter\n"
	    "process_cpu_seconds_total "));
	assert_non_null(strstr(text, "\nprocess_resident_memory_bytes "));
	assert_non_null(strstr(text, "\nprocess_open_fds "));
	assert_non_null(strstr(text, "\nprocess_max_fds "));
	assert_non_null(strstr(text, "\nyh_build_info{version=\"1.2\"} 1\n"));
	yh_buf_free(&out);
	mx_registry_free(reg);
}

#define MX_THREADS 4
#define MX_PER_THREAD 100000

static void *
bump(void *arg)
{
	struct mx_counter *c = ((void **)arg)[0];
	struct mx_hist *h = ((void **)arg)[1];

	for (int i = 0; i < MX_PER_THREAD; i++) {
		mx_counter_add(c, 1);
		mx_hist_observe(h, 0.5);
	}
	return NULL;
}

/* Concurrent updates are not lost (atomics, no lock on the hot path). */
static void
test_metrics_concurrent(void **state)
{
	struct mx_registry *reg;
	pthread_t t[MX_THREADS];
	void *args[2];
	struct yh_buf out;
	char want[128];

	(void)state;
	assert_int_equal(mx_registry_new(&reg), 0);
	assert_int_equal(mx_counter_get(reg, "c_total", "c", NULL,
	    (struct mx_counter **)&args[0]), 0);
	assert_int_equal(mx_hist_get(reg, "h_seconds", "h", NULL, mx_latency_buckets,
	    mx_latency_nbuckets, (struct mx_hist **)&args[1]), 0);
	for (int i = 0; i < MX_THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, bump, args), 0);
	for (int i = 0; i < MX_THREADS; i++)
		pthread_join(t[i], NULL);
	yh_buf_init(&out, 1 << 16);
	assert_int_equal(mx_render(reg, &out), 0);
	snprintf(want, sizeof(want), "\nc_total %d\n", MX_THREADS * MX_PER_THREAD);
	assert_non_null(strstr(yh_buf_cstr(&out), want));
	snprintf(want, sizeof(want), "\nh_seconds_count %d\n", MX_THREADS * MX_PER_THREAD);
	assert_non_null(strstr(yh_buf_cstr(&out), want));
	snprintf(want, sizeof(want), "\nh_seconds_sum %d\n", MX_THREADS * MX_PER_THREAD / 2);
	assert_non_null(strstr(yh_buf_cstr(&out), want));
	yh_buf_free(&out);
	mx_registry_free(reg);
}

struct wk_test {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int done;
	bool release;
};

static void
wk_count(void *arg)
{
	struct wk_test *w = arg;

	pthread_mutex_lock(&w->lock);
	w->done++;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

static void
wk_block(void *arg)
{
	struct wk_test *w = arg;

	pthread_mutex_lock(&w->lock);
	while (!w->release)
		pthread_cond_wait(&w->cond, &w->lock);
	w->done++;
	pthread_mutex_unlock(&w->lock);
}

static void
test_workers(void **state)
{
	struct wk_test w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false };
	struct wk_pool *p;
	struct mx_registry *reg;
	struct yh_buf out;
	size_t queued, running;

	(void)state;
	assert_int_equal(wk_pool_new(0, 4, 0, &p), YH_ERR_INVALID);
	assert_null(p);
	assert_int_equal(wk_pool_new(2, 0, 0, &p), YH_ERR_INVALID);
	/* Two workers, room for two waiting jobs: the fifth job is refused. */
	assert_int_equal(wk_pool_new(2, 2, 0, &p), 0);
	assert_int_equal(wk_submit(p, wk_block, &w), 0);
	assert_int_equal(wk_submit(p, wk_block, &w), 0);
	/* Wait (no clock) until both workers hold a blocking job. */
	do {
		wk_pool_load(p, &queued, &running);
		if (running < 2)
			sched_yield();
	} while (running < 2);
	assert_int_equal(wk_submit(p, wk_count, &w), 0);
	assert_int_equal(wk_submit(p, wk_count, &w), 0);
	assert_int_equal(wk_submit(p, wk_count, &w), YH_ERR_BUSY);
	wk_pool_load(p, &queued, &running);
	assert_int_equal(queued, 2);
	/* The same snapshot as gauges, read at rendering. */
	assert_int_equal(mx_registry_new(&reg), 0);
	assert_int_equal(wk_pool_metrics(p, reg), 0);
	assert_int_equal(wk_pool_metrics(NULL, reg), YH_ERR_INVALID);
	yh_buf_init(&out, 1 << 16);
	assert_int_equal(mx_render(reg, &out), 0);
	assert_non_null(strstr(yh_buf_cstr(&out), "\nyh_workers_queue_depth 2\n"));
	assert_non_null(strstr(yh_buf_cstr(&out), "\nyh_workers_busy 2\n"));
	assert_non_null(strstr(yh_buf_cstr(&out), "\nyh_workers_queue_capacity 2\n"));
	yh_buf_free(&out);
	pthread_mutex_lock(&w.lock);
	w.release = true;
	pthread_cond_broadcast(&w.cond);
	pthread_mutex_unlock(&w.lock);
	/* Stop runs what is queued, then refuses. */
	wk_pool_stop(p);
	assert_int_equal(w.done, 4);
	assert_int_equal(wk_submit(p, wk_count, &w), YH_ERR_UNAVAILABLE);
	wk_pool_stop(p);
	wk_pool_free(p);
	wk_pool_free(NULL);
	mx_registry_free(reg);
}

/* The workers' fake clock: each job of the wait test "runs" 300 ms on it. */
static int64_t wk_fake_now;

static int64_t
wk_fake_clock(void)
{
	return __atomic_load_n(&wk_fake_now, __ATOMIC_SEQ_CST);
}

static void
wk_slow(void *arg)
{
	__atomic_add_fetch(&wk_fake_now, 300 * 1000000LL, __ATOMIC_SEQ_CST);
	wk_block(arg);
}

/* Waits (no clock) until the pool runs `running` jobs and has `queued` waiting. */
static void
wk_settle(struct wk_pool *p, size_t want_queued, size_t want_running)
{
	size_t queued, running;

	do {
		wk_pool_load(p, &queued, &running);
		if (queued != want_queued || running != want_running)
			sched_yield();
	} while (queued != want_queued || running != want_running);
}

/* Releases the blocked jobs of w, stops and frees p, which must have run `jobs`. */
static void
wk_release_all(struct wk_pool *p, struct wk_test *w, int jobs)
{
	pthread_mutex_lock(&w->lock);
	w->release = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	wk_pool_stop(p);
	assert_int_equal(w->done, jobs);
	wk_pool_free(p);
}

/*
 * A pool bounded to 1 s of expected wait refuses the job that would finish later than
 * that, though its queue has room: one thread, jobs of 300 ms each; with one running, a
 * second and a third queue (done by 600 and 900 ms), a fourth (1200 ms) is refused with
 * a Retry-After of 2 s. Unbounded, only the queue's size refuses.
 */
static void
test_workers_max_wait(void **state)
{
	struct wk_test w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, true };
	struct wk_pool *p;

	(void)state;
	assert_int_equal(wk_pool_new(1, 100, 0, &p), 0);
	assert_int_equal(wk_pool_limit_wait(p, -1, wk_fake_clock), YH_ERR_INVALID);
	assert_int_equal(wk_pool_limit_wait(p, WK_WAIT_MAX_MS + 1, wk_fake_clock), YH_ERR_INVALID);
	assert_int_equal(wk_pool_limit_wait(p, 1000, wk_fake_clock), 0);
	/* Before any job ran there is no average: nothing is refused for time. */
	assert_int_equal(wk_retry_after_s(p), 1);
	assert_int_equal(wk_submit(p, wk_slow, &w), 0);
	wk_settle(p, 0, 0);      /* the first job ran: its 300 ms are the average */
	pthread_mutex_lock(&w.lock);
	assert_int_equal(w.done, 1);
	w.release = false;
	pthread_mutex_unlock(&w.lock);
	assert_int_equal(wk_submit(p, wk_slow, &w), 0);
	wk_settle(p, 0, 1);
	assert_int_equal(wk_submit(p, wk_slow, &w), 0);
	assert_int_equal(wk_submit(p, wk_slow, &w), 0);
	assert_int_equal(wk_submit(p, wk_slow, &w), YH_ERR_BUSY);
	assert_int_equal(wk_retry_after_s(p), 2);
	wk_release_all(p, &w, 4);

	/* A bound shorter than one run: a job a free worker takes is still accepted (the
	 * logins slow down, they do not stop); one that would wait is refused. */
	w.done = 0;
	w.release = true;
	assert_int_equal(wk_pool_new(1, 100, 0, &p), 0);
	assert_int_equal(wk_pool_limit_wait(p, 200, wk_fake_clock), 0);
	for (int i = 1; i <= 2; i++) {
		assert_int_equal(wk_submit(p, wk_slow, &w), 0);
		wk_settle(p, 0, 0);
	}
	pthread_mutex_lock(&w.lock);
	assert_int_equal(w.done, 2);
	w.release = false;
	pthread_mutex_unlock(&w.lock);
	assert_int_equal(wk_submit(p, wk_slow, &w), 0);
	wk_settle(p, 0, 1);
	assert_int_equal(wk_submit(p, wk_slow, &w), YH_ERR_BUSY);
	wk_release_all(p, &w, 3);

	/* Unbounded: the same load is taken up to the queue's size. */
	w.done = 0;
	w.release = false;
	assert_int_equal(wk_pool_new(1, 3, 0, &p), 0);
	assert_int_equal(wk_pool_limit_wait(p, 0, wk_fake_clock), 0);
	assert_int_equal(wk_submit(p, wk_slow, &w), 0);
	wk_settle(p, 0, 1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(wk_submit(p, wk_slow, &w), 0);
	assert_int_equal(wk_submit(p, wk_slow, &w), YH_ERR_BUSY);
	wk_release_all(p, &w, 4);
}

/* A worker job recording its thread's niceness. */
struct nice_probe {
	pthread_mutex_t lock;
	pthread_cond_t done;
	int nice;
	bool ran;
};

static void
wk_nice_probe(void *arg)
{
	struct nice_probe *n = arg;

	pthread_mutex_lock(&n->lock);
	errno = 0;
	n->nice = getpriority(PRIO_PROCESS, (id_t)gettid());
	n->ran = errno == 0;
	pthread_cond_signal(&n->done);
	pthread_mutex_unlock(&n->lock);
}

/* Workers run at the HTTP threads' niceness plus the configured amount. */
static void
test_workers_nice(void **state)
{
	struct nice_probe n = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false };
	struct wk_pool *p = NULL;
	int base;

	(void)state;
	assert_int_equal(wk_pool_new(1, 1, 20, &p), YH_ERR_INVALID);
	assert_int_equal(wk_pool_new(1, 1, -1, &p), YH_ERR_INVALID);
	errno = 0;
	base = getpriority(PRIO_PROCESS, (id_t)gettid());
	assert_int_equal(errno, 0);
	assert_int_equal(wk_pool_new(1, 1, 7, &p), 0);
	assert_int_equal(wk_submit(p, wk_nice_probe, &n), 0);
	pthread_mutex_lock(&n.lock);
	while (!n.ran)
		pthread_cond_wait(&n.done, &n.lock);
	pthread_mutex_unlock(&n.lock);
	assert_int_equal(n.nice, base + 7 > 19 ? 19 : base + 7);
	/* The caller's own priority is untouched. */
	assert_int_equal(getpriority(PRIO_PROCESS, (id_t)gettid()), base);
	wk_pool_stop(p);
	wk_pool_free(p);
}

static char tmpdir[] = "/tmp/yh-test-authd-XXXXXX";

static const char *
write_conf(const char *name, const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void
test_config_defaults(void **state)
{
	struct authd_cfg c;
	char err[512];

	(void)state;
	assert_int_equal(authd_cfg_load(&c, NULL, NULL, NULL, err, sizeof(err)), 0);
	assert_string_equal(c.http_listen, "127.0.0.1:8080");
	assert_string_equal(c.issuer, "http://127.0.0.1:8080");
	assert_string_equal(c.ident.state_dir, "./state");
	assert_int_equal(c.http_max_body, 65536);
	assert_true(c.threads >= 2);
	assert_true(c.issuer_derived);
	/* The built-in configuration (modules without a loaded one) is the table's. */
	{
		const struct authd_cfg *b = authd_cfg_builtin();

		assert_true(b == authd_cfg_builtin());
		assert_int_equal(b->session_idle, c.session_idle);
		assert_int_equal(b->session_absolute, c.session_absolute);
		assert_int_equal(b->login_max_failures, c.login_max_failures);
		assert_int_equal(b->code_lifetime, c.code_lifetime);
		assert_string_equal(b->redis_prefix, c.redis_prefix);
		assert_int_equal(authd_cfg_max("session.idle_timeout"), 86400);
		assert_int_equal(authd_cfg_max("log.level"), 0);
		assert_null(authd_cfg_opt("no.such"));
	}
	/* Port 0: the issuer learns the bound port. */
	authd_cfg_free(&c);
	assert_int_equal(authd_cfg_load(&c, NULL, "/tmp/s", "[::1]:0", err, sizeof(err)), 0);
	assert_string_equal(c.issuer, "http://[::1]:0");
	assert_int_equal(authd_cfg_bound_port(&c, 4242), 0);
	assert_string_equal(c.issuer, "http://[::1]:4242");
	assert_string_equal(c.ident.state_dir, "/tmp/s");
	authd_cfg_free(&c);
	authd_cfg_free(&c);
}

static void
test_config_file(void **state)
{
	struct authd_cfg c;
	const char *p;
	char err[512], want[400];

	(void)state;
	p = write_conf("good.conf", "# x\nstate_dir = st\nissuer = https://id.example.gov.cn\n"
	    "http.threads = 3\nhttp.connection_timeout = 2m\nunrelated.section = 1\n");
	/* Unknown keys are rejected, even in sections authd does not know. */
	assert_int_equal(authd_cfg_load(&c, p, NULL, NULL, err, sizeof(err)), YH_ERR_CONFIG);
	snprintf(want, sizeof(want), "%s:6: unknown option 'unrelated.section'", p);
	assert_string_equal(err, want);
	authd_cfg_free(&c);
	p = write_conf("good.conf", "# x\nstate_dir = st\nissuer = https://id.example.gov.cn\n"
	    "http.threads = 3\nhttp.connection_timeout = 2m\n");
	assert_int_equal(authd_cfg_load(&c, p, NULL, "127.0.0.1:9", err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s/st", tmpdir);
	assert_string_equal(c.ident.state_dir, want);   /* relative to the file */
	assert_string_equal(c.issuer, "https://id.example.gov.cn");
	assert_false(c.issuer_derived);
	assert_int_equal(authd_cfg_bound_port(&c, 4242), 0);
	assert_string_equal(c.issuer, "https://id.example.gov.cn");
	assert_int_equal(c.threads, 3);
	assert_int_equal(c.http_connection_timeout, 120);
	assert_string_equal(c.http_listen, "127.0.0.1:9");
	authd_cfg_free(&c);
	/* -d wins over the file. */
	assert_int_equal(authd_cfg_load(&c, p, "/elsewhere", NULL, err, sizeof(err)), 0);
	assert_string_equal(c.ident.state_dir, "/elsewhere");
	authd_cfg_free(&c);
}

static void
config_error(const char *text, const char *cli_listen, const char *want_suffix)
{
	struct authd_cfg c;
	const char *p = write_conf("bad.conf", text);
	char err[512], want[600];

	assert_int_equal(authd_cfg_load(&c, p, NULL, cli_listen, err, sizeof(err)), YH_ERR_CONFIG);
	if (want_suffix[0] == '@')
		snprintf(want, sizeof(want), "%s", want_suffix + 1);
	else
		snprintf(want, sizeof(want), "%s%s", p, want_suffix);
	assert_string_equal(err, want);
	authd_cfg_free(&c);
}

static void
test_config_errors(void **state)
{
	(void)state;
	config_error("state_dir = s\n\nhttp.listen = 10.0.0.1\n", NULL,
	    ":3: http.listen: expected ADDR:PORT with a numeric IPv4 address or [IPv6] "
	    "address and a port 0-65535");
	config_error("state_dir = s\n", "nope",
	    "@command line: http.listen: expected ADDR:PORT with a numeric IPv4 address or "
	    "[IPv6] address and a port 0-65535");
	config_error("state_dir = s\nissuer = http://x/\n", NULL,
	    ":2: issuer: must not end with '/' (clients compare the issuer byte for byte)");
	config_error("state_dir = s\nissuer = idp.example\n", NULL,
	    ":2: issuer: must start with https:// (or http:// for testing)");
	config_error("state_dir = s\nissuer = https://a?b\n", NULL,
	    ":2: issuer: must be a plain URL without query, fragment, spaces or quotes");
	config_error("state_dir = s\n  tls.key_file = k.pem\n", NULL,
	    ":2: tls.key_file: tls.cert_file and tls.key_file must be set together");
	config_error("state_dir = s\nhttp.trusted_proxies = 10.0.0.0/8,,x\n", NULL,
	    ":2: http.trusted_proxies: 'x' is not an address or CIDR");
	config_error("state_dir = s\nsession.redis_sentinels = 127.0.0.1:26379\n", NULL,
	    ":2: session.redis_sentinels: set without session.redis_master (the name the "
	    "sentinels know the master by)");
	config_error("state_dir = s\n\nsession.redis_master = m\n", NULL,
	    ":3: session.redis_master: set without session.redis_sentinels");
	config_error("state_dir = s\nsession.redis_master = m\n"
	    "session.redis_sentinels = 10.0.0.1:26379, s2.example:0\n", NULL,
	    ":3: session.redis_sentinels: 's2.example:0' is not HOST:PORT (port 1-65535; an "
	    "IPv6 address in brackets), or more than 16 sentinels");
	config_error("state_dir = s\nsession.redis_master = m\n"
	    "session.redis_sentinels = [::1:26379\n", NULL,
	    ":3: session.redis_sentinels: '[::1:26379' is not HOST:PORT (port 1-65535; an "
	    "IPv6 address in brackets), or more than 16 sentinels");
	config_error("state_dir = s\nsession.redis_master = m\nsession.redis_sentinels = ,\n",
	    NULL, ":3: session.redis_sentinels: no sentinel listed");
	config_error("state_dir = s\nsession.redis_master = my master\n"
	    "session.redis_sentinels = [::1]:26379,s1:26379\n", NULL,
	    ":2: session.redis_master: must be one word");
	config_error("http.threads = 2\n", NULL,
	    ": state_dir: no state directory configured (set state_dir in the config file or "
	    "pass -d STATE_DIR)");
	config_error("state_dir = s\nhttp.threads = 1000\n", NULL,
	    ":2: http.threads: expected a number in 0..256");
	config_error("state_dir = s\nlog.level = loud\n", NULL,
	    ":2: log.level: 'loud' is not one of the allowed values");
}

static void
test_config_reference(void **state)
{
	struct yh_buf b;

	(void)state;
	yh_buf_init(&b, 1 << 20);
	assert_int_equal(authd_cfg_reference(&b), 0);
	assert_non_null(strstr(yh_buf_cstr(&b), "| `http.listen` | string | `127.0.0.1:8080` |"));
	assert_non_null(strstr(yh_buf_cstr(&b), "| `tls.key_file` | path | (unset) |"));
	assert_non_null(strstr(yh_buf_cstr(&b), "(sensitive: never printed)"));
	assert_non_null(strstr(yh_buf_cstr(&b), "| `vault.cipher` |"));
	/* what SIGHUP does with each option */
	assert_non_null(strstr(yh_buf_cstr(&b), "| `http.listen` | string | `127.0.0.1:8080` |  | "
	    "restart |"));
	assert_non_null(strstr(yh_buf_cstr(&b), "| `login.max_failures` | integer | `5` | 1..1000 | "
	    "applied |"));
	assert_non_null(strstr(yh_buf_cstr(&b), "| `log.level` | choice | `info` | debug, info, "
	    "warn, error | applied |"));
	yh_buf_free(&b);
}

/* What the reload hooks reached (struct authd_cfg_targets' functions). */
struct reached {
	int sessions, proxies;
	int64_t idle, absolute;
	char list[64];
	bool refuse_sessions;
	char notes[8][64];
	size_t nnotes;
};

static int
reach_sessions(void *arg, int64_t idle_s, int64_t absolute_s, char *err, size_t errsz)
{
	struct reached *r = arg;

	r->sessions++;
	if (r->refuse_sessions) {
		snprintf(err, errsz, "refused");
		return YH_ERR_INVALID;
	}
	r->idle = idle_s;
	r->absolute = absolute_s;
	return 0;
}

static int
reach_proxies(void *arg, const char *list, char *err, size_t errsz)
{
	struct reached *r = arg;

	(void)err;
	(void)errsz;
	r->proxies++;
	snprintf(r->list, sizeof(r->list), "%s", list != NULL ? list : "(none)");
	return 0;
}

static void
reach_note(void *arg, const struct yh_cfg_opt *o, bool applied, const void *old,
    const void *new)
{
	struct reached *r = arg;

	(void)old;
	(void)new;
	assert_true(r->nnotes < 8);
	snprintf(r->notes[r->nnotes++], sizeof(r->notes[0]), "%s%s", applied ? "+" : "!",
	    o->name);
}

/*
 * SIGHUP's configuration reload: the file read again from the same sources; a changed
 * immutable option is noted and kept, the reloadable ones applied (through the targets
 * or by the new configuration itself); a broken file, or a hook that fails, changes
 * nothing; without a file there is nothing to reload.
 */
static void
test_config_reload(void **state)
{
	struct reached got = { 0 };
	struct authd_cfg_targets t = { .arg = &got, .sessions = reach_sessions,
	    .proxies = reach_proxies };
	struct yh_cfg_reload rl = { .ctx = &t, .note = reach_note, .note_arg = &got };
	struct authd_cfg cur, next;
	const char *p;
	char err[512], want[600];

	(void)state;
	p = write_conf("reload.conf", "state_dir = st\nlogin.max_failures = 5\n");
	assert_int_equal(authd_cfg_load(&cur, p, NULL, "127.0.0.1:0", err, sizeof(err)), 0);
	assert_int_equal(authd_cfg_bound_port(&cur, 4242), 0);
	/* nothing changed */
	assert_int_equal(authd_cfg_reload(&cur, &next, &rl, err, sizeof(err)), 0);
	assert_true(rl.applied == 0 && rl.restart == 0 && got.nnotes == 0);
	assert_string_equal(next.issuer, "http://127.0.0.1:4242");
	assert_string_equal(next.http_listen, "127.0.0.1:0");      /* -l as given */
	authd_cfg_free(&next);

	write_conf("reload.conf", "state_dir = st\nlogin.max_failures = 3\nlog.level = debug\n"
	    "workers.threads = 7\nsession.idle_timeout = 10m\nhttp.trusted_proxies = 10.0.0.1\n"
	    "http.listen = 127.0.0.1:1\n");
	assert_int_equal(authd_cfg_reload(&cur, &next, &rl, err, sizeof(err)), 0);
	yh_log_set_level(YH_LOG_INFO);
	assert_int_equal(rl.restart, 1);          /* -l wins over http.listen: unchanged */
	assert_int_equal(rl.applied, 4);
	assert_string_equal(got.notes[0], "!workers.threads");
	assert_string_equal(got.notes[1], "+http.trusted_proxies");
	assert_string_equal(got.notes[2], "+log.level");
	assert_string_equal(got.notes[3], "+session.idle_timeout");
	assert_string_equal(got.notes[4], "+login.max_failures");
	assert_true(got.sessions == 1 && got.idle == 600 && got.absolute == 28800);
	assert_true(got.proxies == 1 && strcmp(got.list, "10.0.0.1") == 0);
	assert_int_equal(next.worker_threads, cur.worker_threads);
	assert_int_equal(next.login_max_failures, 3);
	assert_string_equal(next.issuer, "http://127.0.0.1:4242");
	assert_int_equal(next.threads, cur.threads);
	authd_cfg_free(&cur);
	cur = next;

	/* A broken file: file:line, nothing applied. */
	memset(&got, 0, sizeof(got));
	p = write_conf("reload.conf", "state_dir = st\nlogin.max_failures = 0\n");
	assert_int_equal(authd_cfg_reload(&cur, &next, &rl, err, sizeof(err)), YH_ERR_CONFIG);
	snprintf(want, sizeof(want), "%s:2: login.max_failures: expected a number in 1..1000", p);
	assert_string_equal(err, want);
	assert_true(got.sessions == 0 && got.proxies == 0 && got.nnotes == 0);
	authd_cfg_free(&next);

	/* A hook that fails: the ones before it are undone, nothing is noted as taken. */
	got.refuse_sessions = true;
	write_conf("reload.conf", "state_dir = st\nsession.idle_timeout = 5m\n");
	assert_int_equal(authd_cfg_reload(&cur, &next, &rl, err, sizeof(err)), YH_ERR_INVALID);
	assert_string_equal(err, "session.idle_timeout: refused");
	assert_int_equal(got.proxies, 2);         /* dropped, then given back */
	assert_string_equal(got.list, "10.0.0.1");
	assert_int_equal(got.nnotes, 0);
	authd_cfg_free(&next);
	authd_cfg_free(&cur);

	/* Without a file there is nothing to reload. */
	assert_int_equal(authd_cfg_load(&cur, NULL, tmpdir, NULL, err, sizeof(err)), 0);
	assert_int_equal(authd_cfg_reload(&cur, &next, &rl, err, sizeof(err)), YH_ERR_NOT_FOUND);
	authd_cfg_free(&next);
	authd_cfg_free(&cur);
}

/*
 * registration.privacy_notice_*: the file read, checked and hashed at load; each
 * problem named with the file and the option; a text changed under the same version is
 * not taken by a reload (the one in force stays), a new version is.
 */
static void
test_config_privacy_notice(void **state)
{
	struct yh_cfg_reload rl = { 0 };
	struct authd_cfg c, next;
	char err[1024], want[1200], conf[600];
	static char big[AUTHD_PRIVACY_NOTICE_MAX + 2];
	char p[256];

	(void)state;
	snprintf(conf, sizeof(conf), "state_dir = st\nregistration.privacy_notice_file = "
	    "%s/notice.txt\nregistration.privacy_notice_version = 2026-01\n", tmpdir);
	/* Missing file. */
	snprintf(p, sizeof(p), "%s", write_conf("privacy.conf", conf));
	assert_int_equal(authd_cfg_load(&c, p, NULL, NULL, err, sizeof(err)), YH_ERR_CONFIG);
	snprintf(want, sizeof(want), "%s:2: registration.privacy_notice_file: cannot read "
	    "%s/notice.txt: No such file or directory", p, tmpdir);
	assert_string_equal(err, want);
	authd_cfg_free(&c);
	/* Too large. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	write_conf("notice.txt", big);
	snprintf(p, sizeof(p), "%s", write_conf("privacy.conf", conf));
	assert_int_equal(authd_cfg_load(&c, p, NULL, NULL, err, sizeof(err)), YH_ERR_CONFIG);
	snprintf(want, sizeof(want), "%s:2: registration.privacy_notice_file: %s/notice.txt is "
	    "larger than 65536 bytes", p, tmpdir);
	assert_string_equal(err, want);
	authd_cfg_free(&c);
	/* Not UTF-8 (GBK bytes), and blank. */
	write_conf("notice.txt", "\xb8\xf6\xc8\xcb\xd0\xc5\xcf\xa2\n");
	assert_int_equal(authd_cfg_load(&c, p, NULL, NULL, err, sizeof(err)), YH_ERR_CONFIG);
	snprintf(want, sizeof(want), "%s:2: registration.privacy_notice_file: %s/notice.txt is "
	    "not UTF-8 text", p, tmpdir);
	assert_string_equal(err, want);
	authd_cfg_free(&c);
	write_conf("notice.txt", " \n\n");
	assert_int_equal(authd_cfg_load(&c, p, NULL, NULL, err, sizeof(err)), YH_ERR_CONFIG);
	assert_non_null(strstr(err, "notice.txt is empty"));
	authd_cfg_free(&c);
	/* One without the other; a version with a blank in it. */
	config_error("state_dir = s\nregistration.privacy_notice_version = 1\n", NULL,
	    ":2: registration.privacy_notice_version: set without "
	    "registration.privacy_notice_file (the built-in notice has its own version)");
	snprintf(want, sizeof(want), "state_dir = s\nregistration.privacy_notice_file = "
	    "%s/notice.txt\n", tmpdir);
	config_error(want, NULL, ":2: registration.privacy_notice_file: set without "
	    "registration.privacy_notice_version (every consent records the version)");
	snprintf(want, sizeof(want), "state_dir = s\nregistration.privacy_notice_file = "
	    "%s/notice.txt\nregistration.privacy_notice_version = v 2\n", tmpdir);
	config_error(want, NULL, ":3: registration.privacy_notice_version: must be 1 to 64 "
	    "letters, digits or . _ - + :");

	/* Good: read and hashed. SHA-256("notice one\n"). */
	write_conf("notice.txt", "notice one\n");
	snprintf(p, sizeof(p), "%s", write_conf("privacy.conf", conf));
	assert_int_equal(authd_cfg_load(&c, p, NULL, NULL, err, sizeof(err)), 0);
	assert_string_equal(c.privacy_text, "notice one\n");
	assert_int_equal(c.privacy_len, 11);
	assert_int_equal(strlen(c.privacy_sha256), 64);
	/* Text changed, version not: the text in force stays. */
	write_conf("notice.txt", "notice two\n");
	assert_int_equal(authd_cfg_reload(&c, &next, &rl, err, sizeof(err)), 0);
	assert_string_equal(next.privacy_text, "notice one\n");
	assert_string_equal(next.privacy_sha256, c.privacy_sha256);
	authd_cfg_free(&next);
	/* A new version: the new text. */
	snprintf(conf, sizeof(conf), "state_dir = st\nregistration.privacy_notice_file = "
	    "%s/notice.txt\nregistration.privacy_notice_version = 2026-02\n", tmpdir);
	snprintf(p, sizeof(p), "%s", write_conf("privacy.conf", conf));
	assert_int_equal(authd_cfg_reload(&c, &next, &rl, err, sizeof(err)), 0);
	assert_int_equal(rl.applied, 1);
	assert_string_equal(next.privacy_text, "notice two\n");
	assert_string_equal(next.privacy_notice_version, "2026-02");
	assert_string_not_equal(next.privacy_sha256, c.privacy_sha256);
	authd_cfg_free(&next);
	authd_cfg_free(&c);
}

static int
setup_tmp(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown_tmp(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static int
ping_handler(struct http_req *req, void *arg)
{
	(void)arg;
	return http_respond_json(req, 200, json_pack("{s:s}", "pong", "yes"));
}

/* A loopback connection to port with a 5 s receive timeout; -1 on failure. */
static int
connect_port(uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Sends one keep-alive GET /ping on fd; returns the bytes of the answer read (0 when the
 * server closed the connection without one). */
static ssize_t
ping(int fd, char *buf, size_t bufsz)
{
	static const char rq[] = "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n";
	ssize_t n;

	if (send(fd, rq, sizeof(rq) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(rq) - 1)
		return 0;
	n = recv(fd, buf, bufsz - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? n : 0;
}

/* Reports what http_req_answered said before anything, after a header alone, and after
 * a response (which the JSON one then replaces). */
static int
answered_handler(struct http_req *req, void *arg)
{
	bool before = http_req_answered(req), with_header;
	int r;

	(void)arg;
	if ((r = http_resp_header(req, "X-Test", "1")) != 0)
		return r;
	with_header = http_req_answered(req);
	if ((r = http_respond(req, 204, NULL, NULL, 0)) != 0)
		return r;
	return http_respond_json(req, 200, json_pack("{s:b, s:b, s:b}", "before", before,
	    "header", with_header, "after", http_req_answered(req)));
}

/* Sends raw (a whole request) on a new connection to port and reads the answer into
 * buf (NUL-terminated) until the server closes or buf is full. */
static void
exchange(uint16_t port, const char *raw, size_t rawlen, char *buf, size_t bufsz)
{
	int fd = connect_port(port);
	size_t have = 0;
	ssize_t n;

	assert_true(fd >= 0);
	assert_int_equal(send(fd, raw, rawlen, MSG_NOSIGNAL), (ssize_t)rawlen);
	while (have + 1 < bufsz && (n = recv(fd, buf + have, bufsz - 1 - have, 0)) > 0)
		have += (size_t)n;
	buf[have] = '\0';
	close(fd);
}

/* A server on o with routes (arg NULL), serving. */
static struct http_server *
serve(const struct http_opts *o, const struct http_route *routes)
{
	struct http_server *srv = NULL;
	char err[256];

	assert_int_equal(http_server_new(o, &srv, err, sizeof(err)), 0);
	assert_int_equal(http_routes_add(srv, routes, NULL), 0);
	assert_int_equal(http_server_start(srv, err, sizeof(err)), 0);
	return srv;
}

/* http_req_answered: false until a response is set (a header alone does not count). */
static void
test_answered(void **state)
{
	static const struct http_route routes[] = {
		{ "GET", "/answered", answered_handler, 0 }, { NULL, NULL, NULL, 0 },
	};
	static const char rq[] = "GET /answered HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	struct http_opts o = { .listen = "127.0.0.1:0", .threads = 1, .max_body = 4096,
	    .max_header = 8192, .connection_timeout = 10, .max_connections = 8 };
	struct http_server *srv;
	char buf[4096];

	(void)state;
	srv = serve(&o, routes);
	exchange(http_server_port(srv), rq, sizeof(rq) - 1, buf, sizeof(buf));
	assert_non_null(strstr(buf, "HTTP/1.1 200"));
	assert_non_null(strstr(buf, "{\"before\":false,\"header\":false,\"after\":true}"));
	http_server_free(srv);
}

/* Answers 200 with the body's length. */
static int
length_handler(struct http_req *req, void *arg)
{
	(void)arg;
	return http_respond_json(req, 200, json_pack("{s:I}", "length",
	    (json_int_t)http_req_body(req).len));
}

/* POST path with a body of n bytes ('a'), announced by Content-Length or (chunked) sent
 * in 1000-byte chunks; the answer in buf. */
static void
post_body(uint16_t port, const char *path, size_t n, bool chunked, char *buf, size_t bufsz)
{
	size_t cap = n + n / 1000 * 16 + 512, len;
	char *rq = malloc(cap);

	assert_non_null(rq);
	len = (size_t)snprintf(rq, cap, "POST %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "Content-Type: application/octet-stream\r\n", path);
	if (!chunked) {
		len += (size_t)snprintf(rq + len, cap - len, "Content-Length: %zu\r\n\r\n", n);
		memset(rq + len, 'a', n);
		len += n;
	} else {
		len += (size_t)snprintf(rq + len, cap - len, "Transfer-Encoding: chunked\r\n\r\n");
		for (size_t left = n; left > 0;) {
			size_t k = left < 1000 ? left : 1000;

			len += (size_t)snprintf(rq + len, cap - len, "%zx\r\n", k);
			memset(rq + len, 'a', k);
			len += k;
			memcpy(rq + len, "\r\n", 2);
			len += 2;
			left -= k;
		}
		len += (size_t)snprintf(rq + len, cap - len, "0\r\n\r\n");
	}
	exchange(port, rq, len, buf, bufsz);
	free(rq);
}

/*
 * A route flagged HTTP_ROUTE_PREAUTH takes at most max_body_preauth bytes of body (413
 * when announced, the connection cut when chunked), the others max_body; a preauth cap
 * above max_body is max_body.
 */
static void
test_route_body_limit(void **state)
{
	static const struct http_route routes[] = {
		{ "POST", "/pre", length_handler, HTTP_ROUTE_PREAUTH },
		{ "POST", "/auth", length_handler, 0 },
		{ NULL, NULL, NULL, 0 },
	};
	struct http_opts o = { .listen = "127.0.0.1:0", .threads = 2, .max_body = 16384,
	    .max_body_preauth = 2048, .max_header = 8192, .connection_timeout = 10,
	    .max_connections = 8 };
	struct http_server *srv;
	char buf[4096];
	uint16_t port;

	(void)state;
	srv = serve(&o, routes);
	port = http_server_port(srv);
	post_body(port, "/pre", 2048, false, buf, sizeof(buf));
	assert_non_null(strstr(buf, "HTTP/1.1 200"));
	assert_non_null(strstr(buf, "{\"length\":2048}"));
	post_body(port, "/pre", 2049, false, buf, sizeof(buf));
	assert_non_null(strstr(buf, "HTTP/1.1 413"));
	assert_non_null(strstr(buf, "request_too_large"));
	post_body(port, "/pre", 4000, true, buf, sizeof(buf));
	assert_null(strstr(buf, "HTTP/1.1 200"));
	post_body(port, "/pre", 1500, true, buf, sizeof(buf));
	assert_non_null(strstr(buf, "{\"length\":1500}"));
	post_body(port, "/auth", 8000, false, buf, sizeof(buf));
	assert_non_null(strstr(buf, "{\"length\":8000}"));
	post_body(port, "/auth", 8000, true, buf, sizeof(buf));
	assert_non_null(strstr(buf, "{\"length\":8000}"));
	post_body(port, "/auth", 16385, false, buf, sizeof(buf));
	assert_non_null(strstr(buf, "HTTP/1.1 413"));
	http_server_free(srv);
	/* a preauth cap over max_body is max_body; 0 is max_body */
	o.max_body = 4096;
	o.max_body_preauth = 1 << 20;
	srv = serve(&o, routes);
	post_body(http_server_port(srv), "/pre", 4097, false, buf, sizeof(buf));
	assert_non_null(strstr(buf, "HTTP/1.1 413"));
	post_body(http_server_port(srv), "/pre", 4096, false, buf, sizeof(buf));
	assert_non_null(strstr(buf, "{\"length\":4096}"));
	http_server_free(srv);
	o.max_body_preauth = 0;
	srv = serve(&o, routes);
	post_body(http_server_port(srv), "/pre", 4096, false, buf, sizeof(buf));
	assert_non_null(strstr(buf, "{\"length\":4096}"));
	http_server_free(srv);
}

/* Answers 200 with the client address and scheme the server made of the request. */
static int
whoami_handler(struct http_req *req, void *arg)
{
	(void)arg;
	return http_respond_json(req, 200, json_pack("{s:s,s:b}", "ip", http_req_client_ip(req),
	    "https", http_req_is_https(req)));
}

/* The trusted proxies replaced while serving (a reload): requests after it are judged
 * by the new list; a bad list is refused and the one in force stays. */
static void
test_proxies_reload(void **state)
{
	static const struct http_route routes[] = {
		{ "GET", "/whoami", whoami_handler, 0 }, { NULL, NULL, NULL, 0 },
	};
	static const char rq[] = "GET /whoami HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "X-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: https\r\n\r\n";
	struct http_opts o = { .listen = "127.0.0.1:0", .threads = 2, .max_body = 4096,
	    .max_header = 8192, .connection_timeout = 10, .max_connections = 8,
	    .trusted_proxies = "192.0.2.1" };
	struct http_server *srv;
	char err[256], buf[4096];

	(void)state;
	srv = serve(&o, routes);
	exchange(http_server_port(srv), rq, sizeof(rq) - 1, buf, sizeof(buf));
	assert_non_null(strstr(buf, "{\"ip\":\"127.0.0.1\",\"https\":false}"));
	assert_int_equal(http_server_set_trusted_proxies(srv, "192.0.2.1, 127.0.0.0/8", err,
	    sizeof(err)), 0);
	exchange(http_server_port(srv), rq, sizeof(rq) - 1, buf, sizeof(buf));
	assert_non_null(strstr(buf, "{\"ip\":\"203.0.113.9\",\"https\":true}"));
	assert_int_equal(http_server_set_trusted_proxies(srv, "127.0.0.1, nope", err,
	    sizeof(err)), YH_ERR_INVALID);
	assert_non_null(strstr(err, "nope"));
	exchange(http_server_port(srv), rq, sizeof(rq) - 1, buf, sizeof(buf));
	assert_non_null(strstr(buf, "{\"ip\":\"203.0.113.9\",\"https\":true}"));
	assert_int_equal(http_server_set_trusted_proxies(srv, NULL, err, sizeof(err)), 0);
	exchange(http_server_port(srv), rq, sizeof(rq) - 1, buf, sizeof(buf));
	assert_non_null(strstr(buf, "{\"ip\":\"127.0.0.1\",\"https\":false}"));
	http_server_free(srv);
	/* the list a server starts with: refused the same way, trusted the same way */
	o.trusted_proxies = "127.0.0.1, nope";
	srv = NULL;
	assert_int_equal(http_server_new(&o, &srv, err, sizeof(err)), YH_ERR_INVALID);
	assert_null(srv);
	assert_non_null(strstr(err, "bad trusted proxy 'nope'"));
	o.trusted_proxies = "127.0.0.0/8";
	srv = serve(&o, routes);
	exchange(http_server_port(srv), rq, sizeof(rq) - 1, buf, sizeof(buf));
	assert_non_null(strstr(buf, "{\"ip\":\"203.0.113.9\",\"https\":true}"));
	http_server_free(srv);
}

/*
 * http_server_quiesce: a connection opened afterwards gets no answer, one already open
 * is still served, and the server drains and stops cleanly, 40 times over. (The
 * MHD_quiesce_daemon race it replaced aborted test_consent's teardown in 4 of 150 runs;
 * it needs busier threads than this test has to show.)
 */
static void
test_quiesce(void **state)
{
	static const struct http_route routes[] = {
		{ "GET", "/ping", ping_handler, 0 }, { NULL, NULL, NULL, 0 },
	};
	struct http_opts o = { .listen = "127.0.0.1:0", .threads = 4, .max_body = 4096,
	    .max_header = 8192, .connection_timeout = 10, .max_connections = 64 };
	char err[256], buf[2048];

	(void)state;
	for (int round = 0; round < 40; round++) {
		struct http_server *srv;
		int a, b;

		assert_int_equal(http_server_new(&o, &srv, err, sizeof(err)), 0);
		assert_int_equal(http_routes_add(srv, routes, NULL), 0);
		assert_int_equal(http_server_start(srv, err, sizeof(err)), 0);
		assert_true((a = connect_port(http_server_port(srv))) >= 0);
		assert_true(ping(a, buf, sizeof(buf)) > 0);
		assert_non_null(strstr(buf, "HTTP/1.1 200"));
		http_server_quiesce(srv);
		if ((b = connect_port(http_server_port(srv))) >= 0) {
			assert_int_equal(ping(b, buf, sizeof(buf)), 0);
			close(b);
		}
		assert_true(ping(a, buf, sizeof(buf)) > 0);
		assert_non_null(strstr(buf, "\"pong\""));
		close(a);
		assert_int_equal(http_server_drain(srv, 5000), 0);
		http_server_free(srv);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_listen),
		cmocka_unit_test(test_quiesce),
		cmocka_unit_test(test_answered),
		cmocka_unit_test(test_route_body_limit),
		cmocka_unit_test(test_parse_hostports),
		cmocka_unit_test(test_proxies),
		cmocka_unit_test(test_proxies_reload),
		cmocka_unit_test(test_form),
		cmocka_unit_test(test_metrics_render),
		cmocka_unit_test(test_metrics_concurrent),
		cmocka_unit_test(test_metrics_fn),
		cmocka_unit_test(test_workers),
		cmocka_unit_test(test_workers_nice),
		cmocka_unit_test(test_workers_max_wait),
		cmocka_unit_test(test_config_defaults),
		cmocka_unit_test(test_config_file),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_config_reference),
		cmocka_unit_test(test_config_privacy_notice),
		cmocka_unit_test(test_config_reload),
	};

	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
