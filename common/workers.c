/* A fixed pool of worker threads over a bounded ring of jobs. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/metrics.h"
#include "common/timeutil.h"
#include "common/workers.h"

#define NS_PER_MS 1000000LL

struct wk_job {
	wk_job_fn fn;
	void *arg;
};

struct wk_pool {
	pthread_mutex_t lock;
	pthread_cond_t ready;        /* a job was queued, or stopping */
	struct wk_job *ring;
	size_t cap, head, count;     /* jobs at ring[(head + i) % cap], i < count */
	size_t running;
	bool stopping;
	pthread_t *threads;
	unsigned nthreads;           /* threads actually started */
	int nice;                    /* added to each worker's niceness */
	int64_t max_wait_ns;         /* 0: only the queue's size bounds the wait */
	int64_t job_ns;              /* moving average of a job's run time; 0 = none yet */
	int64_t (*clock_ns)(void);   /* monotonic clock for run times */
};

/* A new run time d folded into the moving average (weight 1/8). Pool locked. */
static void
job_time_add(struct wk_pool *p, int64_t d)
{
	if (d < 1)
		d = 1;
	p->job_ns = p->job_ns == 0 ? d : p->job_ns + (d - p->job_ns) / 8;
}

/* How long a job queued now would take to finish: the jobs ahead of it (queued and
 * running), spread over the threads in rounds, and its own round, each round one
 * average run time. 0 before the first job ran. Pool locked. */
static int64_t
expected_ns(const struct wk_pool *p)
{
	if (p->nthreads == 0)
		return 0;
	return (int64_t)((p->count + p->running + p->nthreads) / p->nthreads) * p->job_ns;
}

/* Lowers the calling thread's priority by p->nice (best effort: lowering one's own
 * priority needs no privilege; nice values stop at WK_NICE_MAX). */
static void
lower_priority(const struct wk_pool *p)
{
	int base;

	if (p->nice <= 0)
		return;
	errno = 0;
	base = getpriority(PRIO_PROCESS, (id_t)gettid());
	if (errno != 0)
		return;
	(void)setpriority(PRIO_PROCESS, (id_t)gettid(),
	    base + p->nice > WK_NICE_MAX ? WK_NICE_MAX : base + p->nice);
}

static void *
worker_main(void *arg)
{
	struct wk_pool *p = arg;
	struct wk_job job;
	int64_t t0;

	lower_priority(p);
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (p->count == 0 && !p->stopping)
			pthread_cond_wait(&p->ready, &p->lock);
		if (p->count == 0)
			break;   /* stopping and drained */
		job = p->ring[p->head];
		p->head = (p->head + 1) % p->cap;
		p->count--;
		p->running++;
		pthread_mutex_unlock(&p->lock);
		t0 = p->clock_ns();
		job.fn(job.arg);
		t0 = p->clock_ns() - t0;
		pthread_mutex_lock(&p->lock);
		job_time_add(p, t0);
		p->running--;
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int
wk_pool_new(unsigned nthreads, size_t max_queue, int nice, struct wk_pool **out)
{
	struct wk_pool *p;

	*out = NULL;
	if (nthreads == 0 || nthreads > WK_THREADS_MAX || max_queue == 0 ||
	    max_queue > WK_QUEUE_MAX || nice < 0 || nice > WK_NICE_MAX)
		return YH_ERR_INVALID;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return YH_ERR_ALLOC;
	p->cap = max_queue;
	p->nice = nice;
	p->clock_ns = yh_mono_ns;
	p->ring = calloc(max_queue, sizeof(*p->ring));
	p->threads = calloc(nthreads, sizeof(*p->threads));
	if (p->ring == NULL || p->threads == NULL || pthread_mutex_init(&p->lock, NULL) != 0) {
		free(p->ring);
		free(p->threads);
		free(p);
		return YH_ERR_ALLOC;
	}
	if (pthread_cond_init(&p->ready, NULL) != 0) {
		pthread_mutex_destroy(&p->lock);
		free(p->ring);
		free(p->threads);
		free(p);
		return YH_ERR_ALLOC;
	}
	for (; p->nthreads < nthreads; p->nthreads++)
		if (pthread_create(&p->threads[p->nthreads], NULL, worker_main, p) != 0) {
			wk_pool_free(p);
			return YH_ERR_ALLOC;
		}
	*out = p;
	return 0;
}

int
wk_submit(struct wk_pool *p, wk_job_fn fn, void *arg)
{
	int r = 0;

	if (p == NULL || fn == NULL)
		return YH_ERR_INVALID;
	pthread_mutex_lock(&p->lock);
	if (p->stopping)
		r = YH_ERR_UNAVAILABLE;
	else if (p->count == p->cap || (p->max_wait_ns > 0 &&
	    p->count + p->running >= p->nthreads && expected_ns(p) > p->max_wait_ns))
		r = YH_ERR_BUSY;    /* a job a free worker takes at once is never refused */
	else {
		p->ring[(p->head + p->count) % p->cap] = (struct wk_job){ fn, arg };
		p->count++;
		pthread_cond_signal(&p->ready);
	}
	pthread_mutex_unlock(&p->lock);
	return r;
}

int
wk_pool_limit_wait(struct wk_pool *p, int64_t max_wait_ms, int64_t (*clock_ns)(void))
{
	if (p == NULL || max_wait_ms < 0 || max_wait_ms > WK_WAIT_MAX_MS)
		return YH_ERR_INVALID;
	pthread_mutex_lock(&p->lock);
	p->max_wait_ns = max_wait_ms * NS_PER_MS;
	if (clock_ns != NULL)
		p->clock_ns = clock_ns;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

unsigned
wk_retry_after_s(struct wk_pool *p)
{
	int64_t ns;

	if (p == NULL)
		return 1;
	pthread_mutex_lock(&p->lock);
	ns = expected_ns(p);
	pthread_mutex_unlock(&p->lock);
	ns = (ns + 1000 * NS_PER_MS - 1) / (1000 * NS_PER_MS);
	return ns < 1 ? 1 : ns > WK_WAIT_MAX_MS / 1000 ? WK_WAIT_MAX_MS / 1000 : (unsigned)ns;
}

void
wk_pool_load(struct wk_pool *p, size_t *queued, size_t *running)
{
	pthread_mutex_lock(&p->lock);
	*queued = p->count;
	*running = p->running;
	pthread_mutex_unlock(&p->lock);
}

static int
read_queued(void *ctx, double *v)
{
	size_t queued, running;

	wk_pool_load(ctx, &queued, &running);
	*v = (double)queued;
	return 0;
}

static int
read_running(void *ctx, double *v)
{
	size_t queued, running;

	wk_pool_load(ctx, &queued, &running);
	*v = (double)running;
	return 0;
}

static int
read_expected(void *ctx, double *v)
{
	struct wk_pool *p = ctx;

	pthread_mutex_lock(&p->lock);
	*v = (double)expected_ns(p) / 1e9;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

static int
read_capacity(void *ctx, double *v)
{
	const struct wk_pool *p = ctx;

	*v = (double)p->cap;     /* fixed at wk_pool_new */
	return 0;
}

int
wk_pool_metrics(struct wk_pool *p, struct mx_registry *reg)
{
	int r;

	if (p == NULL)
		return YH_ERR_INVALID;
	if ((r = mx_gauge_fn_add(reg, "yh_workers_queue_depth",
	    "Jobs waiting for a worker thread (password hashing and other slow work).", NULL,
	    read_queued, p)) != 0 ||
	    (r = mx_gauge_fn_add(reg, "yh_workers_busy", "Jobs running on a worker thread.",
	    NULL, read_running, p)) != 0 ||
	    (r = mx_gauge_fn_add(reg, "yh_workers_expected_wait_seconds",
	    "How long a job queued now would take to finish (jobs ahead over the threads, "
	    "times the average run time); beyond workers.max_wait new jobs are refused (503).",
	    NULL, read_expected, p)) != 0)
		return r;
	return mx_gauge_fn_add(reg, "yh_workers_queue_capacity",
	    "Jobs the worker queue holds; beyond it new jobs are refused (503).", NULL,
	    read_capacity, p);
}

void
wk_pool_stop(struct wk_pool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->ready);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	p->nthreads = 0;
}

void
wk_pool_free(struct wk_pool *p)
{
	if (p == NULL)
		return;
	wk_pool_stop(p);
	pthread_cond_destroy(&p->ready);
	pthread_mutex_destroy(&p->lock);
	free(p->ring);
	free(p->threads);
	free(p);
}
