/*
 * A fixed pool of worker threads with a bounded job queue, for the slow work that must
 * not run on an HTTP thread: argon2 password hashing, LDAP, upstream HTTP, revocation
 * checks. Used with the HTTP layer's suspend/resume (see authd/http/http.h):
 *
 *     handler:  http_req_suspend(req); copy inputs into a job struct;
 *               if (wk_submit(pool, job_fn, job) != 0) {
 *                       http_respond_error(req, 503, "temporarily_unavailable", NULL);
 *                       http_req_resume(req);     // answer at once, nothing queued
 *               }
 *               return HTTP_SUSPENDED;
 *     job_fn:   do the work; http_respond_*(req, ...); free the job; http_req_resume(req);
 *
 * A full queue refuses new jobs (YH_ERR_BUSY) instead of growing, and so does a queue
 * whose jobs would wait longer than a bound (wk_pool_limit_wait): under a login storm
 * the excess logins get 503 at once, with a Retry-After (wk_retry_after_s), instead of
 * a wait of many seconds, while token refreshes (which never queue) go on.
 */
#ifndef YH_AUTHD_WORKERS_H
#define YH_AUTHD_WORKERS_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct wk_pool;

typedef void (*wk_job_fn)(void *arg);

/* What a pool can be made with (authd's workers.* options take these bounds). */
#define WK_THREADS_MAX 256
#define WK_QUEUE_MAX 1000000
#define WK_NICE_MAX 19          /* niceness stops at 19 */
#define WK_WAIT_MAX_MS 60000    /* the longest wait bound */

/*
 * Starts nthreads workers (1..WK_THREADS_MAX) with room for max_queue waiting jobs
 * (1..WK_QUEUE_MAX). nice (0..WK_NICE_MAX) is added to the workers' scheduling niceness (Linux keeps it per thread),
 * so that CPU-bound jobs (argon2id) yield the CPU to the HTTP threads when both want it
 * and take all of it when the HTTP threads are idle. *out is NULL on error. Returns 0,
 * YH_ERR_INVALID or YH_ERR_ALLOC (threads could not be created).
 */
int wk_pool_new(unsigned nthreads, size_t max_queue, int nice, struct wk_pool **out)
    YH_WUR;

/*
 * Queues fn(arg) to run on a worker. Thread-safe. Returns 0, YH_ERR_BUSY (queue full)
 * or YH_ERR_UNAVAILABLE (the pool is stopping). On error fn is not called and arg
 * stays the caller's.
 */
int wk_submit(struct wk_pool *p, wk_job_fn fn, void *arg) YH_WUR;

/*
 * Bounds how long a job may expect to take: wk_submit then refuses (YH_ERR_BUSY) a job
 * that would have to wait when the jobs ahead of it (queued and running, spread over the
 * threads) and its own run, at the moving average of recent run times, would take
 * longer than max_wait_ms (0..WK_WAIT_MAX_MS; 0: only the queue's size bounds it). A job
 * a free worker would take at once is always accepted, even when one run alone takes
 * longer than the bound (a slow machine or a dear hash must slow logins, not stop them). clock_ns is the monotonic
 * clock the run times are taken with (NULL: yh_mono_ns; tests pass a fake). Call before
 * the first job. Returns 0 or YH_ERR_INVALID.
 */
int wk_pool_limit_wait(struct wk_pool *p, int64_t max_wait_ms, int64_t (*clock_ns)(void))
    YH_WUR;

/* The seconds (1..WK_WAIT_MAX_MS / 1000) after which a refused job may be tried again:
 * how long a job queued now would take, rounded up. For a Retry-After header. */
unsigned wk_retry_after_s(struct wk_pool *p);

/* Jobs waiting and jobs running right now (for metrics; a snapshot). */
void wk_pool_load(struct wk_pool *p, size_t *queued, size_t *running);

struct mx_registry;

/*
 * Registers gauges read at each rendering of reg: yh_workers_queue_depth (jobs waiting
 * for a worker; at the queue's capacity new jobs are refused), yh_workers_busy (jobs
 * running) and yh_workers_queue_capacity. p must stay valid while reg is rendered.
 * Returns 0 or mx_gauge_fn_add's errors.
 */
int wk_pool_metrics(struct wk_pool *p, struct mx_registry *reg) YH_WUR;

/*
 * Stops taking jobs (wk_submit then answers YH_ERR_UNAVAILABLE), runs every job already
 * queued and joins the workers. Shutdown order: http_server_quiesce, wk_pool_stop (every
 * suspended request gets resumed), http_server_drain, http_server_free, wk_pool_free.
 * Idempotent; only from one thread. NULL is fine.
 */
void wk_pool_stop(struct wk_pool *p);

/* Stops the pool if needed (wk_pool_stop) and frees it. NULL is fine. */
void wk_pool_free(struct wk_pool *p);

#endif
