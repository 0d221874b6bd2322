/* Prometheus metrics: a registry of families and series updated with atomics. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/metrics.h"

#define MX_MAX_SERIES 4096   /* per family: a guard against unbounded label sets */
#define MX_MAX_BOUNDS 32
#define MX_NAME_MAX 128
#define MX_LABELS_MAX 512

const double mx_latency_buckets[] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};
const size_t mx_latency_nbuckets = sizeof(mx_latency_buckets) / sizeof(mx_latency_buckets[0]);

/* MX_COUNTER_FN and MX_GAUGE_FN: series read at rendering (mx_*_fn_add). */
enum mx_type { MX_COUNTER, MX_GAUGE, MX_HIST, MX_COUNTER_FN, MX_GAUGE_FN };

struct mx_fn {
	mx_read_fn fn;
	void *ctx;
};

struct mx_counter {
	_Atomic uint64_t v;
};

struct mx_gauge {
	_Atomic int64_t v;
};

struct mx_hist {
	size_t nbounds;
	const double *bounds;              /* the family's copy */
	_Atomic uint64_t buckets[MX_MAX_BOUNDS + 1]; /* non-cumulative; last is +Inf */
	_Atomic uint64_t sum_bits;         /* a double, updated by compare-and-swap */
};

struct mx_series {
	struct mx_series *next;
	char *labels;
	union {
		struct mx_counter c;
		struct mx_gauge g;
		struct mx_hist h;
		struct mx_fn f;
	} u;
};

struct mx_family {
	struct mx_family *next;
	char *name;
	char *help;
	enum mx_type type;
	double bounds[MX_MAX_BOUNDS];
	size_t nbounds;
	size_t nseries;
	struct mx_series *series, *last;
};

struct mx_registry {
	pthread_mutex_t lock;
	struct mx_family *families, *last;
};

int
mx_registry_new(struct mx_registry **out)
{
	struct mx_registry *reg;

	*out = NULL;
	if ((reg = calloc(1, sizeof(*reg))) == NULL)
		return YH_ERR_ALLOC;
	if (pthread_mutex_init(&reg->lock, NULL) != 0) {
		free(reg);
		return YH_ERR_ALLOC;
	}
	*out = reg;
	return 0;
}

static void
family_free(struct mx_family *f)
{
	struct mx_series *s, *next;

	for (s = f->series; s != NULL; s = next) {
		next = s->next;
		free(s->labels);
		free(s);
	}
	free(f->name);
	free(f->help);
	free(f);
}

void
mx_registry_free(struct mx_registry *reg)
{
	struct mx_family *f, *next;

	if (reg == NULL)
		return;
	for (f = reg->families; f != NULL; f = next) {
		next = f->next;
		family_free(f);
	}
	pthread_mutex_destroy(&reg->lock);
	free(reg);
}

static bool
name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > MX_NAME_MAX || (name[0] >= '0' && name[0] <= '9'))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == ':'))
			return false;
	}
	return true;
}

static struct mx_family *
family_find(struct mx_registry *reg, const char *name)
{
	for (struct mx_family *f = reg->families; f != NULL; f = f->next)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

static int
family_new(struct mx_registry *reg, const char *name, const char *help, enum mx_type type,
    const double *bounds, size_t nbounds, struct mx_family **out)
{
	struct mx_family *f;

	*out = NULL;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return YH_ERR_ALLOC;
	f->name = strdup(name);
	f->help = strdup(help != NULL ? help : "");
	if (f->name == NULL || f->help == NULL) {
		family_free(f);
		return YH_ERR_ALLOC;
	}
	f->type = type;
	f->nbounds = nbounds;
	if (nbounds > 0)
		memcpy(f->bounds, bounds, nbounds * sizeof(*bounds));
	if (reg->last != NULL)
		reg->last->next = f;
	else
		reg->families = f;
	reg->last = f;
	*out = f;
	return 0;
}

static bool
bounds_valid(const double *bounds, size_t nbounds)
{
	if (nbounds > MX_MAX_BOUNDS || (nbounds > 0 && bounds == NULL))
		return false;
	for (size_t i = 1; i < nbounds; i++)
		if (!(bounds[i] > bounds[i - 1]))
			return false;
	return true;
}

/* Finds or creates family name and its series labels; called with the lock held. */
static int
series_get_locked(struct mx_registry *reg, const char *name, const char *help,
    enum mx_type type, const char *labels, const double *bounds, size_t nbounds,
    struct mx_series **out)
{
	struct mx_family *f = family_find(reg, name);
	struct mx_series *s;
	int r;

	if (f == NULL && (r = family_new(reg, name, help, type, bounds, nbounds, &f)) != 0)
		return r;
	if (f->type != type || (type == MX_HIST && (f->nbounds != nbounds ||
	    memcmp(f->bounds, bounds, nbounds * sizeof(*bounds)) != 0)))
		return YH_ERR_INVALID;
	for (s = f->series; s != NULL; s = s->next)
		if (strcmp(s->labels, labels) == 0) {
			*out = s;
			return 0;
		}
	if (f->nseries >= MX_MAX_SERIES)
		return YH_ERR_LIMIT;
	if ((s = calloc(1, sizeof(*s))) == NULL || (s->labels = strdup(labels)) == NULL) {
		free(s);
		return YH_ERR_ALLOC;
	}
	if (type == MX_HIST) {
		s->u.h.nbounds = nbounds;
		s->u.h.bounds = f->bounds;
	}
	if (f->last != NULL)
		f->last->next = s;
	else
		f->series = s;
	f->last = s;
	f->nseries++;
	*out = s;
	return 0;
}

static bool
args_valid(struct mx_registry *reg, const char *name, const char *labels,
    const double *bounds, size_t nbounds)
{
	return reg != NULL && name != NULL && name_valid(name) &&
	    strlen(labels) <= MX_LABELS_MAX && bounds_valid(bounds, nbounds);
}

static int
series_get(struct mx_registry *reg, const char *name, const char *help, enum mx_type type,
    const char *labels, const double *bounds, size_t nbounds, struct mx_series **out)
{
	int r;

	*out = NULL;
	if (labels == NULL)
		labels = "";
	if (!args_valid(reg, name, labels, bounds, nbounds))
		return YH_ERR_INVALID;
	pthread_mutex_lock(&reg->lock);
	r = series_get_locked(reg, name, help, type, labels, bounds, nbounds, out);
	pthread_mutex_unlock(&reg->lock);
	return r;
}

/* Finds or creates a series read at rendering and sets its reader, under the lock. */
static int
fn_add(struct mx_registry *reg, const char *name, const char *help, enum mx_type type,
    const char *labels, mx_read_fn fn, void *ctx)
{
	struct mx_series *s;
	int r;

	if (labels == NULL)
		labels = "";
	if (fn == NULL || !args_valid(reg, name, labels, NULL, 0))
		return YH_ERR_INVALID;
	pthread_mutex_lock(&reg->lock);
	if ((r = series_get_locked(reg, name, help, type, labels, NULL, 0, &s)) == 0) {
		s->u.f.fn = fn;
		s->u.f.ctx = ctx;
	}
	pthread_mutex_unlock(&reg->lock);
	return r;
}

int
mx_counter_fn_add(struct mx_registry *reg, const char *name, const char *help,
    const char *labels, mx_read_fn fn, void *ctx)
{
	return fn_add(reg, name, help, MX_COUNTER_FN, labels, fn, ctx);
}

int
mx_gauge_fn_add(struct mx_registry *reg, const char *name, const char *help,
    const char *labels, mx_read_fn fn, void *ctx)
{
	return fn_add(reg, name, help, MX_GAUGE_FN, labels, fn, ctx);
}

int
mx_counter_get(struct mx_registry *reg, const char *name, const char *help,
    const char *labels, struct mx_counter **out)
{
	struct mx_series *s;
	int r = series_get(reg, name, help, MX_COUNTER, labels, NULL, 0, &s);

	*out = r == 0 ? &s->u.c : NULL;
	return r;
}

int
mx_gauge_get(struct mx_registry *reg, const char *name, const char *help,
    const char *labels, struct mx_gauge **out)
{
	struct mx_series *s;
	int r = series_get(reg, name, help, MX_GAUGE, labels, NULL, 0, &s);

	*out = r == 0 ? &s->u.g : NULL;
	return r;
}

int
mx_hist_get(struct mx_registry *reg, const char *name, const char *help,
    const char *labels, const double *bounds, size_t nbounds, struct mx_hist **out)
{
	struct mx_series *s;
	int r = series_get(reg, name, help, MX_HIST, labels, bounds, nbounds, &s);

	*out = r == 0 ? &s->u.h : NULL;
	return r;
}

void
mx_counter_add(struct mx_counter *c, uint64_t n)
{
	if (c != NULL)
		atomic_fetch_add_explicit(&c->v, n, memory_order_relaxed);
}

void
mx_gauge_set(struct mx_gauge *g, int64_t v)
{
	if (g != NULL)
		atomic_store_explicit(&g->v, v, memory_order_relaxed);
}

void
mx_gauge_add(struct mx_gauge *g, int64_t delta)
{
	if (g != NULL)
		atomic_fetch_add_explicit(&g->v, delta, memory_order_relaxed);
}

static uint64_t
dbl_bits(double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	return u;
}

static double
bits_dbl(uint64_t u)
{
	double d;

	memcpy(&d, &u, sizeof(d));
	return d;
}

void
mx_hist_observe(struct mx_hist *h, double v)
{
	uint64_t old, upd;
	size_t i = 0;

	if (h == NULL)
		return;
	while (i < h->nbounds && v > h->bounds[i])
		i++;
	atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
	old = atomic_load_explicit(&h->sum_bits, memory_order_relaxed);
	do
		upd = dbl_bits(bits_dbl(old) + v);
	while (!atomic_compare_exchange_weak_explicit(&h->sum_bits, &old, upd,
	    memory_order_relaxed, memory_order_relaxed));
}

int
mx_label_escape(struct yh_buf *out, const char *value)
{
	int r = 0;

	for (const char *p = value; *p != '\0' && r == 0; p++) {
		if (*p == '\\')
			r = yh_buf_puts(out, "\\\\");
		else if (*p == '"')
			r = yh_buf_puts(out, "\\\"");
		else if (*p == '\n')
			r = yh_buf_puts(out, "\\n");
		else
			r = yh_buf_putc(out, *p);
	}
	return r;
}

/* Writes name{labels[,extra]} (braces only when something is inside). */
static int
series_name(struct yh_buf *out, const char *name, const char *suffix, const char *labels,
    const char *extra)
{
	bool has_l = labels[0] != '\0', has_e = extra != NULL && extra[0] != '\0';

	if (!has_l && !has_e)
		return yh_buf_printf(out, "%s%s", name, suffix);
	return yh_buf_printf(out, "%s%s{%s%s%s}", name, suffix, labels,
	    has_l && has_e ? "," : "", has_e ? extra : "");
}

static int
render_hist(struct yh_buf *out, const struct mx_family *f, const struct mx_series *s)
{
	const struct mx_hist *h = &s->u.h;
	uint64_t cum = 0;
	char le[48];
	int r = 0;

	for (size_t i = 0; i <= h->nbounds && r == 0; i++) {
		cum += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
		if (i < h->nbounds)
			snprintf(le, sizeof(le), "le=\"%g\"", h->bounds[i]);
		else
			snprintf(le, sizeof(le), "le=\"+Inf\"");
		if ((r = series_name(out, f->name, "_bucket", s->labels, le)) == 0)
			r = yh_buf_printf(out, " %llu\n", (unsigned long long)cum);
	}
	if (r == 0 && (r = series_name(out, f->name, "_sum", s->labels, NULL)) == 0)
		r = yh_buf_printf(out, " %.9g\n",
		    bits_dbl(atomic_load_explicit(&h->sum_bits, memory_order_relaxed)));
	if (r == 0 && (r = series_name(out, f->name, "_count", s->labels, NULL)) == 0)
		r = yh_buf_printf(out, " %llu\n", (unsigned long long)cum);
	return r;
}

/* A series read at rendering: name{labels} value, or nothing when its reader fails. */
static int
render_fn(struct yh_buf *out, const struct mx_family *f, const struct mx_series *s)
{
	double v;
	int r;

	if (s->u.f.fn(s->u.f.ctx, &v) != 0)
		return 0;
	if ((r = series_name(out, f->name, "", s->labels, NULL)) != 0)
		return r;
	return yh_buf_printf(out, " %.15g\n", v);
}

static int
render_family(struct yh_buf *out, const struct mx_family *f)
{
	static const char *const type_names[] = {
		"counter", "gauge", "histogram", "counter", "gauge",
	};
	int r;

	r = yh_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
	    type_names[f->type]);
	for (const struct mx_series *s = f->series; s != NULL && r == 0; s = s->next) {
		if (f->type == MX_HIST) {
			r = render_hist(out, f, s);
			continue;
		}
		if (f->type == MX_COUNTER_FN || f->type == MX_GAUGE_FN) {
			r = render_fn(out, f, s);
			continue;
		}
		if ((r = series_name(out, f->name, "", s->labels, NULL)) != 0)
			break;
		if (f->type == MX_COUNTER)
			r = yh_buf_printf(out, " %llu\n", (unsigned long long)
			    atomic_load_explicit(&s->u.c.v, memory_order_relaxed));
		else
			r = yh_buf_printf(out, " %lld\n", (long long)
			    atomic_load_explicit(&s->u.g.v, memory_order_relaxed));
	}
	return r;
}

int
mx_render(struct mx_registry *reg, struct yh_buf *out)
{
	int r = 0;

	pthread_mutex_lock(&reg->lock);
	for (const struct mx_family *f = reg->families; f != NULL && r == 0; f = f->next)
		r = render_family(out, f);
	pthread_mutex_unlock(&reg->lock);
	return r;
}
