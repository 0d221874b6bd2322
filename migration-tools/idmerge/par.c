/*
 * A pass over the partitions on several threads. The partitions of a pass are
 * independent (records meet only within a key, and a key lives in one partition), so
 * each thread takes the next partition, loads, sorts and works on it, writing into its
 * own sink: memory streams for the outputs and for every temporary file the pass
 * appends to, its own counts and its own uid context. A partition's lines then reach
 * the files only in partition order (a thread waits for its turn), and its counts are
 * added in that order too, so the files are the same bytes as on one thread. At most
 * one partition per thread is in memory, plus what it wrote.
 *
 * On one thread the run's own sink is used: the work writes straight into the files.
 */
#define _GNU_SOURCE   /* open_memstream */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "migration-tools/idmerge/mig.h"

/* A memory stream and the buffer it fills. */
struct mstream {
	FILE *f;
	char *data;
	size_t len;
};

/* One thread's sink and its memory streams: [0..2] the outputs, then nparts for each
 * temporary type appended to (P, N, O in that order). */
struct worker {
	struct par *par;
	pthread_t tid;
	bool started;
	struct mig_sink sink;
	struct mig_counts c;
	struct mstream *ms;
	size_t nms;
	FILE **sets[3];
	int err;
};

/* The pass shared by the threads. */
struct par {
	struct mig_run *r;
	char type;
	mig_part_fn fn;
	FILE **real[3];            /* the run's append sets of P, N, O, or NULL */
	pthread_mutex_t mu;
	pthread_cond_t turn;
	unsigned next;             /* the next partition to take */
	unsigned committed;        /* partitions whose lines are in the files */
	int failed;                /* the first error */
};

static const char set_types[3] = { 'P', 'N', 'O' };

static int
ms_open(struct mstream *m)
{
	m->data = NULL;
	m->len = 0;
	return (m->f = open_memstream(&m->data, &m->len)) == NULL ? YH_ERR_ALLOC : 0;
}

static void
ms_close(struct mstream *m)
{
	if (m->f != NULL)
		(void)fclose(m->f);
	free(m->data);
	memset(m, 0, sizeof(*m));
}

/* Copies what m holds to f (NULL: nowhere) and empties m. */
static int
ms_drain(struct mstream *m, FILE *f)
{
	if (fflush(m->f) != 0)
		return YH_ERR_ALLOC;
	if (f != NULL && m->len > 0 && fwrite(m->data, 1, m->len, f) != m->len)
		return YH_ERR_IO;
	ms_close(m);
	return ms_open(m);
}

static void
worker_free(struct worker *w)
{
	for (size_t i = 0; i < w->nms; i++)
		ms_close(&w->ms[i]);
	free(w->ms);
	for (int t = 0; t < 3; t++)
		free(w->sets[t]);
	free(w->c.src);
	yh_buf_free(&w->sink.line);
	mig_uid_key_free(w->sink.uid);
}

/* Makes a thread's sink: memory streams where the run has files. */
static int
worker_init(struct par *pa, struct worker *w)
{
	struct mig_run *r = pa->r;
	FILE *out[3] = { r->ident, r->rejects, r->review };
	size_t m = 3;
	int e;

	w->par = pa;
	w->sink.s = r->s;
	w->sink.nparts = r->nparts;
	w->sink.c = &w->c;
	yh_buf_init(&w->sink.line, r->sink.line.max);
	w->c.n_src = r->c.n_src;
	if ((w->c.src = calloc(r->c.n_src ? r->c.n_src : 1, sizeof(*w->c.src))) == NULL)
		return YH_ERR_ALLOC;
	if ((e = mig_uid_key_dup(r->uid, &w->sink.uid)) != 0)
		return e;
	w->nms = 3;
	for (int t = 0; t < 3; t++)
		if (pa->real[t] != NULL)
			w->nms += r->nparts;
	if ((w->ms = calloc(w->nms, sizeof(*w->ms))) == NULL)
		return YH_ERR_ALLOC;
	for (size_t i = 0; i < w->nms; i++)
		if ((e = ms_open(&w->ms[i])) != 0)
			return e;
	w->sink.ident = out[0] != NULL ? w->ms[0].f : NULL;
	w->sink.rejects = out[1] != NULL ? w->ms[1].f : NULL;
	w->sink.review = out[2] != NULL ? w->ms[2].f : NULL;
	for (int t = 0; t < 3; t++) {
		if (pa->real[t] == NULL)
			continue;
		if ((w->sets[t] = calloc(r->nparts, sizeof(FILE *))) == NULL)
			return YH_ERR_ALLOC;
		for (unsigned i = 0; i < r->nparts; i++)
			w->sets[t][i] = w->ms[m++].f;
	}
	w->sink.pf = w->sets[0];
	w->sink.nf = w->sets[1];
	w->sink.of = w->sets[2];
	return 0;
}

/* Writes a thread's partition into the files and its counts into the run's; called in
 * partition order, under the lock. The streams are reopened: the sink's pointers
 * follow. */
static int
worker_commit(struct worker *w)
{
	struct par *pa = w->par;
	struct mig_run *r = pa->r;
	FILE *out[3] = { r->ident, r->rejects, r->review };
	FILE **dst[3] = { &w->sink.ident, &w->sink.rejects, &w->sink.review };
	size_t m = 3;
	int e;

	for (int i = 0; i < 3; i++) {
		if ((e = ms_drain(&w->ms[i], out[i])) != 0)
			return e;
		if (*dst[i] != NULL)
			*dst[i] = w->ms[i].f;
	}
	for (int t = 0; t < 3; t++) {
		if (pa->real[t] == NULL)
			continue;
		for (unsigned i = 0; i < r->nparts; i++, m++) {
			if ((e = ms_drain(&w->ms[m], pa->real[t][i])) != 0)
				return e;
			w->sets[t][i] = w->ms[m].f;
		}
	}
	mig_counts_move(&r->c, &w->c);
	return 0;
}

/* Loads, sorts and works on partition k into sink. */
static int
do_part(struct mig_run *r, char type, mig_part_fn fn, struct mig_sink *sink, unsigned k)
{
	struct mig_part p;
	char path[4200];
	int e;

	mig_tmp_path(r, type, k, path, sizeof(path));
	if ((e = mig_part_load(path, &p)) == 0 && (e = mig_part_sort(&p)) == 0)
		e = fn(sink, k, &p);
	mig_part_free(&p);
	return e;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct par *pa = w->par;
	unsigned k;
	int e;

	for (;;) {
		pthread_mutex_lock(&pa->mu);
		if (pa->failed != 0 || pa->next >= pa->r->nparts) {
			pthread_mutex_unlock(&pa->mu);
			break;
		}
		k = pa->next++;
		pthread_mutex_unlock(&pa->mu);
		e = do_part(pa->r, pa->type, pa->fn, &w->sink, k);
		pthread_mutex_lock(&pa->mu);
		while (pa->failed == 0 && pa->committed != k)
			pthread_cond_wait(&pa->turn, &pa->mu);
		if (e == 0 && pa->failed == 0)
			e = worker_commit(w);
		if (e != 0 && pa->failed == 0)
			pa->failed = e;
		pa->committed++;
		if (pa->failed == 0)
			mig_progress_update(pa->r->prog, pa->committed, 0);
		pthread_cond_broadcast(&pa->turn);
		pthread_mutex_unlock(&pa->mu);
	}
	return NULL;
}

/* The pass on the calling thread alone, writing straight into the files. */
static int
pass_serial(struct par *pa)
{
	struct mig_run *r = pa->r;
	struct mig_sink *sink = &r->sink;
	int e = 0;

	sink->pf = pa->real[0];
	sink->nf = pa->real[1];
	sink->of = pa->real[2];
	for (unsigned k = 0; k < r->nparts && e == 0; k++) {
		e = do_part(r, pa->type, pa->fn, sink, k);
		mig_progress_update(r->prog, k + 1, 0);
	}
	sink->pf = sink->nf = sink->of = NULL;
	return e;
}

static int
pass_threads(struct par *pa, unsigned n)
{
	struct worker *w;
	unsigned started = 0;
	int e = 0;

	if ((w = calloc(n, sizeof(*w))) == NULL)
		return YH_ERR_ALLOC;
	for (unsigned i = 0; i < n && e == 0; i++)
		e = worker_init(pa, &w[i]);
	for (unsigned i = 0; i < n && e == 0; i++) {
		if (pthread_create(&w[i].tid, NULL, worker_main, &w[i]) != 0) {
			yh_error("cannot start a thread");
			pthread_mutex_lock(&pa->mu);
			pa->failed = YH_ERR_INTERNAL;
			pthread_cond_broadcast(&pa->turn);
			pthread_mutex_unlock(&pa->mu);
			break;
		}
		w[i].started = true;
		started++;
	}
	for (unsigned i = 0; i < n; i++)
		if (w[i].started)
			pthread_join(w[i].tid, NULL);
	if (e == 0)
		e = pa->failed;
	if (e == 0 && started == 0)
		e = YH_ERR_INTERNAL;
	for (unsigned i = 0; i < n; i++)
		worker_free(&w[i]);
	free(w);
	return e;
}

int
mig_par_pass(struct mig_run *r, char type, const char *appends, const char *label,
    mig_part_fn fn)
{
	struct par pa;
	unsigned n = r->threads < r->nparts ? r->threads : r->nparts;
	int e = 0;

	memset(&pa, 0, sizeof(pa));
	pa.r = r;
	pa.type = type;
	pa.fn = fn;
	for (int t = 0; t < 3 && e == 0; t++)
		if (strchr(appends, set_types[t]) != NULL)
			e = mig_open_set(r, set_types[t], true, &pa.real[t]);
	mig_progress_phase(r->prog, label, r->nparts);
	if (e == 0 && n <= 1)
		e = pass_serial(&pa);
	else if (e == 0) {
		pthread_mutex_init(&pa.mu, NULL);
		pthread_cond_init(&pa.turn, NULL);
		e = pass_threads(&pa, n);
		pthread_cond_destroy(&pa.turn);
		pthread_mutex_destroy(&pa.mu);
	}
	for (int t = 0; t < 3; t++)
		if (mig_close_set(pa.real[t], r->nparts) != 0 && e == 0)
			e = YH_ERR_IO;
	return e;
}
