/*
 * Prometheus metrics (text exposition format 0.0.4). A registry holds metric families
 * (counter, gauge, histogram); each family holds series, one per label set. Series are
 * created once (under the registry's lock) and then updated with atomic operations only,
 * so the hot path of a request takes no lock. Series live as long as the registry: a
 * pointer returned by mx_*_get stays valid until mx_registry_free.
 *
 * Label sets are passed pre-formatted, e.g. `route="/token",code="200"`; use
 * mx_label_escape for values that are not compile-time constants. Keep label values to
 * a bounded set (route names, status codes, methods): never user input.
 */
#ifndef YH_AUTHD_METRICS_H
#define YH_AUTHD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

struct mx_registry;
struct mx_counter;
struct mx_gauge;
struct mx_hist;

/* Latency buckets in seconds shared by every HTTP histogram (upper bounds; +Inf implied). */
extern const double mx_latency_buckets[];
extern const size_t mx_latency_nbuckets;

/* Creates an empty registry. *out is NULL on error. Returns 0 or YH_ERR_ALLOC. */
int mx_registry_new(struct mx_registry **out) YH_WUR;

/* Frees the registry and every series in it. NULL is fine. */
void mx_registry_free(struct mx_registry *reg);

/*
 * Finds or creates the counter series name{labels}. help is used when the family is
 * created. labels may be NULL or "" for an unlabelled series. *out is owned by the
 * registry. Returns 0, YH_ERR_INVALID (bad metric name, or the name is already a family
 * of another type), YH_ERR_LIMIT (too many series in the family) or YH_ERR_ALLOC.
 * Thread-safe.
 */
int mx_counter_get(struct mx_registry *reg, const char *name, const char *help,
    const char *labels, struct mx_counter **out) YH_WUR;

/* Adds n to a counter (atomic; NULL is ignored). */
void mx_counter_add(struct mx_counter *c, uint64_t n);

/* Like mx_counter_get, for a gauge (a value that goes up and down). */
int mx_gauge_get(struct mx_registry *reg, const char *name, const char *help,
    const char *labels, struct mx_gauge **out) YH_WUR;

/* Sets a gauge / adds a signed delta to it (atomic; NULL is ignored). */
void mx_gauge_set(struct mx_gauge *g, int64_t v);
void mx_gauge_add(struct mx_gauge *g, int64_t delta);

/*
 * Like mx_counter_get, for a histogram with the given ascending upper bounds (seconds or
 * any unit; nbounds <= 32). Every series of one family must use the same bounds
 * (YH_ERR_INVALID otherwise).
 */
int mx_hist_get(struct mx_registry *reg, const char *name, const char *help,
    const char *labels, const double *bounds, size_t nbounds, struct mx_hist **out) YH_WUR;

/* Records one observation (atomic; NULL is ignored). */
void mx_hist_observe(struct mx_hist *h, double v);

/*
 * A series whose value is read at each rendering rather than kept: fn(ctx, &v) puts the
 * current value in v and returns 0, or returns an error and the series is left out of
 * that rendering (its HELP and TYPE stay). For values another module or the kernel keeps
 * (a queue's depth, CPU time): nothing is updated on any hot path. The _counter_ form is
 * for a value that only grows (TYPE counter), the _gauge_ form for one that goes up and
 * down. fn runs with the registry's lock held and must not call mx_*; ctx is borrowed
 * and must stay valid while the registry can be rendered. Adding the same name and
 * labels again replaces fn and ctx. Returns 0, YH_ERR_INVALID (bad name, or the name
 * is a family of another kind), YH_ERR_LIMIT or YH_ERR_ALLOC. Thread-safe.
 */
typedef int (*mx_read_fn)(void *ctx, double *v);
int mx_counter_fn_add(struct mx_registry *reg, const char *name, const char *help,
    const char *labels, mx_read_fn fn, void *ctx) YH_WUR;
int mx_gauge_fn_add(struct mx_registry *reg, const char *name, const char *help,
    const char *labels, mx_read_fn fn, void *ctx) YH_WUR;

/* Appends the whole registry in Prometheus text format to out. Returns 0 or the
 * yh_buf error (YH_ERR_TOO_LONG past the buffer's max, YH_ERR_ALLOC). */
int mx_render(struct mx_registry *reg, struct yh_buf *out) YH_WUR;

/* Appends value escaped for a label value (backslash, double quote, newline). */
int mx_label_escape(struct yh_buf *out, const char *value) YH_WUR;

/*
 * Registers the process-wide series every exporter should have (common/metrics_proc.c):
 * yh_build_info{version} = 1, process_start_time_seconds (the current wall-clock time),
 * and, read at each rendering, process_cpu_seconds_total (user and system time of every
 * thread), process_resident_memory_bytes, process_open_fds and process_max_fds (the
 * soft RLIMIT_NOFILE). Call once at start. Returns 0 or mx_gauge_get's errors.
 */
int mx_register_process(struct mx_registry *reg, const char *version) YH_WUR;

#endif
