/*
 * The run: the output directory and its private temporary directory, pass 1 (read and
 * cleanse every source into the partition files), passes 2-5 (match.c, merge.c), the
 * report and the invariant check, and publishing the outputs once everything succeeded.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/atomicfile.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/timeutil.h"
#include "migration-tools/idmerge/mig.h"

/* Chooses the number of partitions from the input size: about 8 MiB of input per
 * partition, a power of two between 4 and 256. The same input gives the same count. */
static unsigned
choose_nparts(const struct mig_sources *s)
{
	uint64_t total = 0;
	unsigned k = 4;
	struct stat st;

	for (size_t i = 0; i < s->n; i++)
		if (stat(s->v[i].path, &st) == 0 && st.st_size > 0)
			total += (uint64_t)st.st_size;
	while (k < 256 && (uint64_t)k * (8u << 20) < total)
		k *= 2;
	return k;
}

unsigned
mig_default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > MIG_THREADS_DEFAULT_MAX ? MIG_THREADS_DEFAULT_MAX : (unsigned)n;
}

static int
make_out_dir(const char *dir, bool *created, char *err, size_t errsz)
{
	struct stat st;

	*created = mkdir(dir, 0700) == 0;
	if (!*created && errno != EEXIST) {
		snprintf(err, errsz, "cannot create output directory %s: %s", dir, strerror(errno));
		return YH_ERR_IO;
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || access(dir, W_OK | X_OK) != 0) {
		snprintf(err, errsz, "output directory %s is not a writable directory", dir);
		return YH_ERR_PERM;
	}
	return 0;
}

static const char *const output_names[3] = {
	"identities.jsonl", "rejects.jsonl", "review.jsonl"
};

/* The outputs are written inside the temporary directory and moved into the output
 * directory only when the run has finished (publish_outputs): a run that fails, e.g. on
 * a mapped key that no record holds, leaves no output file behind. */
static int
open_outputs(struct mig_run *r, char *err, size_t errsz)
{
	FILE **slots[3] = { &r->ident, &r->rejects, &r->review };
	char path[4200];

	if (r->o.dry_run)
		return 0;
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", r->tmp, output_names[i]);
		if (mig_create_file(path, slots[i]) != 0) {
			snprintf(err, errsz, "cannot create %s", path);
			return YH_ERR_IO;
		}
	}
	return 0;
}

/*
 * Moves the finished run from the temporary directory into the output directory: the
 * data files, then report.html, then report.json last, so a report.json in the output
 * directory always describes the data files beside it. The previous run's reports go
 * first: should a move fail halfway, no complete-looking old report stays next to new
 * data. A run that fails earlier leaves the previous run's outputs as they were.
 */
static int
publish_outputs(struct mig_run *r, char *err, size_t errsz)
{
	static const char *const reports[2] = { "report.html", "report.json" };
	const char *names[5];
	char from[4200], to[4200];
	size_t n = 0;

	for (size_t i = 0; i < 2; i++) {
		snprintf(to, sizeof(to), "%s/%s", r->o.out_dir, reports[i]);
		if (unlink(to) != 0 && errno != ENOENT) {
			snprintf(err, errsz, "cannot replace %s: %s", to, strerror(errno));
			return YH_ERR_IO;
		}
	}
	if (!r->o.dry_run)
		for (size_t i = 0; i < 3; i++)
			names[n++] = output_names[i];
	names[n++] = reports[0];
	names[n++] = reports[1];
	for (size_t i = 0; i < n; i++) {
		snprintf(from, sizeof(from), "%s/%s", r->tmp, names[i]);
		snprintf(to, sizeof(to), "%s/%s", r->o.out_dir, names[i]);
		if (rename(from, to) != 0) {
			snprintf(err, errsz, "cannot move %s into %s: %s", names[i],
			    r->o.out_dir, strerror(errno));
			return YH_ERR_IO;
		}
	}
	if (yh_file_sync_dir(r->o.out_dir) != 0) {
		snprintf(err, errsz, "cannot sync %s: %s", r->o.out_dir, strerror(errno));
		return YH_ERR_IO;
	}
	return 0;
}

/*
 * The run's uid key: --uid-key FILE, else OUT/uid.key, made (0600, atomically) on the
 * first run into OUT and reused by every later one, so uids stay stable. A dry run that
 * finds no OUT/uid.key leaves none behind: its uids, written nowhere, use a throwaway
 * key. A key this run made is removed again should the run fail (mig_run_free).
 */
static int
open_uid_key(struct mig_run *r, char *err, size_t errsz)
{
	unsigned char key[MIG_UID_KEY_FILE_LEN];
	struct stat st;
	int e;

	if (r->o.uid_key_file != NULL)
		return mig_uid_key_load(r->o.uid_key_file, false, &r->uid, err, errsz);
	if ((size_t)snprintf(r->key_path, sizeof(r->key_path), "%s/%s", r->o.out_dir,
	    MIG_UID_KEY_NAME) >= sizeof(r->key_path)) {
		snprintf(err, errsz, "output directory path too long");
		return YH_ERR_CONFIG;
	}
	if (lstat(r->key_path, &st) == 0 || errno != ENOENT)
		return mig_uid_key_load(r->key_path, true, &r->uid, err, errsz);
	if (r->o.dry_run) {
		if ((e = yh_random(key, sizeof(key))) == 0)
			e = mig_uid_key_new(key, sizeof(key), &r->uid);
		yh_wipe(key, sizeof(key));
		if (e != 0)
			snprintf(err, errsz, "cannot make a uid key: %s", yh_strerror(e));
		return e;
	}
	r->key_created = true;
	return mig_uid_key_load(r->key_path, true, &r->uid, err, errsz);
}

int
mig_run_open(const struct mig_run_opts *o, const struct mig_sources *s, struct mig_run **out,
    char *err, size_t errsz)
{
	struct mig_run *r;
	int e;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return YH_ERR_ALLOC;
	r->o = *o;
	r->s = s;
	r->today = o->today > 0 ? o->today : yh_today_cst();
	r->nparts = o->nparts > 0 ? o->nparts : choose_nparts(s);
	r->threads = o->threads > 0 ? o->threads : mig_default_threads();
	if (r->threads > MIG_THREADS_MAX)
		r->threads = MIG_THREADS_MAX;
	yh_buf_init(&r->sink.line, 256u << 20);
	r->c.n_src = s->n;
	if ((r->c.src = calloc(s->n ? s->n : 1, sizeof(*r->c.src))) == NULL) {
		e = YH_ERR_ALLOC;
		goto fail;
	}
	if ((e = make_out_dir(o->out_dir, &r->out_created, err, errsz)) != 0 ||
	    (e = open_uid_key(r, err, errsz)) != 0)
		goto fail;
	snprintf(r->tmp, sizeof(r->tmp), "%s/.idmerge-tmp-XXXXXX", o->out_dir);
	if (mkdtemp(r->tmp) == NULL) {
		snprintf(err, errsz, "cannot create a temporary directory in %s: %s", o->out_dir,
		    strerror(errno));
		r->tmp[0] = '\0';
		e = YH_ERR_IO;
		goto fail;
	}
	if ((e = mig_open_set(r, 'P', false, &r->pf)) != 0 ||
	    (e = mig_open_set(r, 'N', false, &r->nf)) != 0 ||
	    (e = mig_open_set(r, 'O', false, &r->of)) != 0) {
		snprintf(err, errsz, "cannot create temporary files in %s", r->tmp);
		goto fail;
	}
	if ((e = open_outputs(r, err, errsz)) != 0)
		goto fail;
	r->sink.s = s;
	r->sink.nparts = r->nparts;
	r->sink.uid = r->uid;
	r->sink.ident = r->ident;
	r->sink.rejects = r->rejects;
	r->sink.review = r->review;
	r->sink.c = &r->c;
	r->prog = mig_progress_new(false);
	if (!o->progress) {
		mig_progress_free(r->prog);
		r->prog = NULL;
	}
	*out = r;
	return 0;
fail:
	mig_run_free(r);
	return e;
}

/* Writes one record to partition file part of a set (0 P, 1 N, 2 O); when sources are
 * read on several threads the line holds that file's lock (the order of lines in a
 * partition file does not matter: every pass sorts a partition in a total order of its
 * lines). */
static int
put_rec(const struct mig_run *r, int set, unsigned part, const struct mig_rec *x)
{
	FILE *const *files[3] = { r->pf, r->nf, r->of };
	pthread_mutex_t *mu;
	int e;

	if (r->part_locks == NULL)
		return mig_rec_write(files[set][part], x);
	mu = &r->part_locks[(size_t)set * r->nparts + part];
	pthread_mutex_lock(mu);
	e = mig_rec_write(files[set][part], x);
	pthread_mutex_unlock(mu);
	return e;
}

/* Writes the legal-representative request of an organization record. */
static int
write_legal_request(struct mig_run *r, const struct mig_rec *org)
{
	struct mig_rec l;

	memset(&l, 0, sizeof(l));
	for (int i = 0; i < MV_COUNT; i++)
		l.v[i] = "";
	l.type = MIG_T_LEGALREQ;
	l.key = org->v[MV_LEGAL_REP];
	l.src = org->src;
	l.seq = org->seq;
	l.v[MV_ORG_CODE] = org->key;
	return put_rec(r, 0, mig_part_of(l.key, r->nparts), &l);
}

/* Pass 1 for one record, writing rejects and review lines into sink, with scratch c. */
static int
add_record(struct mig_run *r, struct mig_sink *sink, struct mig_clean *c, uint32_t src_index,
    const struct mig_record *rec)
{
	int e;

	if (src_index >= r->s->n || rec->src != &r->s->v[src_index])
		return YH_ERR_INTERNAL;
	r->c.src[src_index].read++;
	__atomic_add_fetch(&r->records, 1, __ATOMIC_RELAXED);
	if ((e = mig_cleanse(rec, src_index, r->today, c)) != 0) {
		char id[32];

		snprintf(id, sizeof(id), "#%llu", (unsigned long long)rec->seq);
		return mig_emit_reject(sink, src_index, id, "too_long", NULL, NULL);
	}
	switch (c->dest) {
	case MIG_DEST_REJECT:
		return mig_emit_reject(sink, src_index, c->rec.v[MV_LEGACY_ID], c->reason,
		    c->field, c->value);
	case MIG_DEST_REVIEW:
		return mig_emit_review(sink, &c->rec, c->reason, NULL, NULL, 0);
	case MIG_DEST_KEEP:
		break;
	}
	switch (c->rec.type) {
	case MIG_T_PERSON:
		return put_rec(r, 0, mig_part_of(c->rec.key, r->nparts), &c->rec);
	case MIG_T_NOID:
		return put_rec(r, 1, mig_part_of(c->rec.key, r->nparts), &c->rec);
	case MIG_T_ORG:
		if ((e = put_rec(r, 2, mig_part_of(c->rec.key, r->nparts), &c->rec)) != 0)
			return e;
		if (c->rec.v[MV_LEGAL_REP][0] != '\0')
			return write_legal_request(r, &c->rec);
		return 0;
	default:
		return YH_ERR_INTERNAL;
	}
}

int
mig_run_add(struct mig_run *r, uint32_t src_index, const struct mig_record *rec)
{
	return add_record(r, &r->sink, &r->clean, src_index, rec);
}

/* Pass 1 for a record the reader could not parse: rejected as "unreadable". */
static int
add_unreadable(struct mig_run *r, struct mig_sink *sink, uint32_t src_index, uint64_t seq,
    uint64_t line)
{
	char id[32], where[48];

	if (src_index >= r->s->n)
		return YH_ERR_INTERNAL;
	r->c.src[src_index].read++;
	__atomic_add_fetch(&r->records, 1, __ATOMIC_RELAXED);
	snprintf(id, sizeof(id), "#%llu", (unsigned long long)seq);
	snprintf(where, sizeof(where), "line %llu", (unsigned long long)line);
	return mig_emit_reject(sink, src_index, id, "unreadable", NULL, where);
}

int
mig_run_add_unreadable(struct mig_run *r, uint32_t src_index, uint64_t seq, uint64_t line)
{
	return add_unreadable(r, &r->sink, src_index, seq, line);
}

/* Reading one source: where it writes, its scratch, the reader, the shared progress. */
struct src_read {
	struct mig_run *r;
	uint32_t idx;
	struct mig_reader *rd;
	struct mig_sink *sink;     /* the run's, or own (its rejects and review files) */
	struct mig_sink own;
	struct mig_clean *clean;
	uint64_t *done_all;        /* input units of the finished part, every source */
	pthread_mutex_t *mu;       /* the progress line, or NULL on one thread */
	int e;
	char err[1024];
};

static void
read_progress(struct src_read *x, uint64_t *last)
{
	struct mig_run *r = x->r;
	uint64_t done, tot;

	if (r->prog == NULL)
		return;
	mig_reader_progress(x->rd, &done, &tot);
	if (x->mu != NULL)
		pthread_mutex_lock(x->mu);
	*x->done_all += done - *last;
	*last = done;
	mig_progress_update(r->prog, *x->done_all, __atomic_load_n(&r->records,
	    __ATOMIC_RELAXED));
	if (x->mu != NULL)
		pthread_mutex_unlock(x->mu);
}

/* Reads one source to the end, feeding pass 1. */
static int
read_source(struct src_read *x, char *err, size_t errsz)
{
	struct mig_run *r = x->r;
	struct mig_record rec;
	uint64_t last_seq = 0, last = 0, n = 0;
	int e;

	for (;;) {
		memset(&rec, 0, sizeof(rec));
		e = mig_reader_next(x->rd, &rec, err, errsz);
		if (e == YH_ERR_NOT_FOUND)
			break;
		if (e == YH_ERR_IO || e == YH_ERR_ALLOC || e == YH_ERR_INTERNAL ||
		    (e != 0 && rec.seq <= last_seq))
			return e != 0 ? e : YH_ERR_INTERNAL; /* the stream itself failed */
		last_seq = rec.seq;
		if (e != 0) {
			yh_warn("%s: record %llu unreadable: %s", r->s->v[x->idx].name,
			    (unsigned long long)rec.seq, err);
			err[0] = '\0';
			e = add_unreadable(r, x->sink, x->idx, rec.seq, rec.line);
		} else
			e = add_record(r, x->sink, x->clean, x->idx, &rec);
		if (e != 0) {
			snprintf(err, errsz, "%s: cannot write temporary files: %s",
			    r->s->v[x->idx].name, yh_strerror(e));
			return e;
		}
		if ((++n & 4095) == 0)
			read_progress(x, &last);
	}
	read_progress(x, &last);
	return mig_reader_check_keys(x->rd, err, errsz);
}

int
mig_sources_check(const struct mig_sources *s, char *err, size_t errsz)
{
	int e = 0;

	for (size_t i = 0; i < s->n && e == 0; i++) {
		struct mig_reader *rd = NULL;

		e = mig_reader_open(&s->v[i], &rd, err, errsz);
		mig_reader_close(rd);
	}
	return e;
}

/* Sources on several threads: each takes the next source, largest first. */
struct src_pool {
	struct src_read *x;
	size_t *order;
	size_t n, next;
	int e;                     /* a thread could not start its work */
	pthread_mutex_t mu;
};

static void *
src_thread(void *arg)
{
	struct src_pool *p = arg;
	struct mig_clean *clean;
	size_t i;

	if ((clean = malloc(sizeof(*clean))) == NULL) {
		pthread_mutex_lock(&p->mu);
		p->e = YH_ERR_ALLOC;
		p->next = p->n;
		pthread_mutex_unlock(&p->mu);
		return NULL;
	}
	for (;;) {
		pthread_mutex_lock(&p->mu);
		i = p->next < p->n ? p->order[p->next++] : SIZE_MAX;
		pthread_mutex_unlock(&p->mu);
		if (i == SIZE_MAX)
			break;
		p->x[i].clean = clean;
		if ((p->x[i].e = read_source(&p->x[i], p->x[i].err, sizeof(p->x[i].err))) != 0) {
			pthread_mutex_lock(&p->mu);
			p->next = p->n;   /* the run fails: take no further source */
			pthread_mutex_unlock(&p->mu);
		}
	}
	free(clean);
	return NULL;
}

/* Copies a source's temporary rejects or review file into the output. */
static int
append_file(FILE *from, FILE *to)
{
	char buf[1 << 16];
	size_t n;

	if (fflush(from) != 0 || fseek(from, 0, SEEK_SET) != 0)
		return YH_ERR_IO;
	while ((n = fread(buf, 1, sizeof(buf), from)) > 0)
		if (fwrite(buf, 1, n, to) != n)
			return YH_ERR_IO;
	return ferror(from) ? YH_ERR_IO : 0;
}

/* A source's own rejects and review files in the temporary directory. */
static int
open_src_sink(struct mig_run *r, size_t i, struct mig_sink *k)
{
	char path[4200];

	*k = r->sink;
	yh_buf_init(&k->line, r->sink.line.max);
	k->rejects = k->review = k->ident = NULL;
	if (r->rejects == NULL)
		return 0;
	snprintf(path, sizeof(path), "%s/R%04zu", r->tmp, i);
	if ((k->rejects = fopen(path, "w+")) == NULL)
		return YH_ERR_IO;
	snprintf(path, sizeof(path), "%s/V%04zu", r->tmp, i);
	if ((k->review = fopen(path, "w+")) == NULL)
		return YH_ERR_IO;
	return 0;
}

static void
close_src_sink(struct mig_sink *k)
{
	if (k->rejects != NULL)
		(void)fclose(k->rejects);
	if (k->review != NULL)
		(void)fclose(k->review);
	k->rejects = k->review = NULL;
	yh_buf_free(&k->line);
}

/* Largest file first, so the threads end close together. */
static int
order_by_size(const struct mig_sources *s, size_t *order)
{
	struct stat st;
	off_t *sz;

	if ((sz = calloc(s->n ? s->n : 1, sizeof(*sz))) == NULL)
		return YH_ERR_ALLOC;
	for (size_t i = 0; i < s->n; i++) {
		sz[i] = stat(s->v[i].path, &st) == 0 ? st.st_size : 0;
		order[i] = i;
	}
	for (size_t i = 1; i < s->n; i++)
		for (size_t j = i; j > 0 && sz[order[j]] > sz[order[j - 1]]; j--) {
			size_t t = order[j];

			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	free(sz);
	return 0;
}

/* Pass 1 with the sources on n threads. */
static int
read_threads(struct mig_run *r, struct src_read *x, unsigned n, char *err, size_t errsz)
{
	struct src_pool p;
	pthread_t tid[MIG_THREADS_MAX];
	unsigned started = 0;
	int e = 0;

	memset(&p, 0, sizeof(p));
	p.x = x;
	p.n = r->s->n;
	if ((p.order = calloc(p.n, sizeof(*p.order))) == NULL)
		return YH_ERR_ALLOC;
	if ((e = order_by_size(r->s, p.order)) != 0) {
		snprintf(err, errsz, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < p.n && e == 0; i++) {
		x[i].sink = &x[i].own;
		if ((e = open_src_sink(r, i, &x[i].own)) != 0)
			snprintf(err, errsz, "cannot create temporary files in %s", r->tmp);
	}
	if (e != 0)
		goto out;
	if ((r->part_locks = calloc(3 * (size_t)r->nparts, sizeof(*r->part_locks))) == NULL) {
		snprintf(err, errsz, "out of memory");
		e = YH_ERR_ALLOC;
		goto out;
	}
	for (size_t i = 0; i < 3 * (size_t)r->nparts; i++)
		pthread_mutex_init(&r->part_locks[i], NULL);
	pthread_mutex_init(&p.mu, NULL);
	for (unsigned t = 0; t < n; t++)
		if (pthread_create(&tid[t], NULL, src_thread, &p) == 0)
			started++;
	for (unsigned t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
	pthread_mutex_destroy(&p.mu);
	for (size_t i = 0; i < 3 * (size_t)r->nparts; i++)
		pthread_mutex_destroy(&r->part_locks[i]);
	free(r->part_locks);
	r->part_locks = NULL;
	if (started == 0 || p.e != 0) {
		snprintf(err, errsz, "cannot start reading the sources");
		e = started == 0 ? YH_ERR_INTERNAL : p.e;
	}
	/* The first source that failed, in source order, is the one reported. */
	for (size_t i = 0; i < p.n && e == 0; i++)
		if ((e = x[i].e) != 0)
			snprintf(err, errsz, "%s", x[i].err);
	for (size_t i = 0; i < p.n && e == 0 && r->rejects != NULL; i++)
		if ((e = append_file(x[i].own.rejects, r->rejects)) != 0 ||
		    (e = append_file(x[i].own.review, r->review)) != 0)
			snprintf(err, errsz, "cannot copy the rejects of %s", r->s->v[i].name);
out:
	for (size_t i = 0; i < p.n; i++)
		close_src_sink(&x[i].own);
	free(p.order);
	return e;
}

int
mig_run_read_all(struct mig_run *r, char *err, size_t errsz)
{
	struct src_read *x;
	uint64_t total = 0, done_all = 0, done, tot;
	unsigned n = r->threads < r->s->n ? r->threads : (unsigned)r->s->n;
	int64_t t0 = yh_mono_ms();
	int e = 0;

	if ((x = calloc(r->s->n ? r->s->n : 1, sizeof(*x))) == NULL)
		return YH_ERR_ALLOC;
	/* Open every source first: a missing column is an error before any work. */
	for (size_t i = 0; i < r->s->n && e == 0; i++) {
		x[i].r = r;
		x[i].idx = (uint32_t)i;
		x[i].done_all = &done_all;
		if ((e = mig_reader_open(&r->s->v[i], &x[i].rd, err, errsz)) != 0)
			break;
		mig_reader_progress(x[i].rd, &done, &tot);
		total += tot;
	}
	if (e == 0)
		mig_progress_phase(r->prog, "1/5 read + cleanse", total);
	if (e == 0 && n > 1) {
		pthread_mutex_t mu;

		pthread_mutex_init(&mu, NULL);
		for (size_t i = 0; i < r->s->n; i++)
			x[i].mu = &mu;
		e = read_threads(r, x, n, err, errsz);
		pthread_mutex_destroy(&mu);
	}
	for (size_t i = 0; i < r->s->n && e == 0 && n <= 1; i++) {
		x[i].sink = &r->sink;
		x[i].clean = &r->clean;
		e = read_source(&x[i], err, errsz);
		mig_reader_close(x[i].rd);
		x[i].rd = NULL;
	}
	for (size_t i = 0; i < r->s->n; i++)
		mig_reader_close(x[i].rd);
	free(x);
	r->pass_ms[0] = yh_mono_ms() - t0;
	return e;
}

static int
close_outputs(struct mig_run *r)
{
	int e = 0;
	FILE **slots[3] = { &r->ident, &r->rejects, &r->review };

	for (int i = 0; i < 3; i++) {
		if (*slots[i] != NULL && (fflush(*slots[i]) != 0 || fsync(fileno(*slots[i])) != 0))
			e = YH_ERR_IO;
		if (*slots[i] != NULL && fclose(*slots[i]) != 0)
			e = YH_ERR_IO;
		*slots[i] = NULL;
	}
	r->sink.ident = r->sink.rejects = r->sink.review = NULL;
	return e;
}

int
mig_run_finish(struct mig_run *r, char *err, size_t errsz)
{
	static int (*const passes[4])(struct mig_run *) = {
		mig_pass_index, mig_pass_noid, mig_pass_persons, mig_pass_orgs
	};
	int e = 0;

	if (r->finished)
		return YH_ERR_INTERNAL;
	r->finished = true;
	if ((mig_close_set(r->pf, r->nparts) | mig_close_set(r->nf, r->nparts) |
	    mig_close_set(r->of, r->nparts)) != 0)
		e = YH_ERR_IO;
	r->pf = r->nf = r->of = NULL;
	for (int i = 0; i < 4 && e == 0; i++) {
		int64_t t0 = yh_mono_ms();

		e = passes[i](r);
		r->pass_ms[i + 1] = yh_mono_ms() - t0;
	}
	mig_progress_phase(r->prog, NULL, 0);
	if (e != 0) {
		snprintf(err, errsz, "merge failed: %s", yh_strerror(e));
		(void)close_outputs(r);
		return e;
	}
	if ((e = close_outputs(r)) != 0) {
		snprintf(err, errsz, "cannot write the outputs in %s", r->o.out_dir);
		return e;
	}
	if ((e = mig_counts_check(&r->c, r->s, err, errsz)) != 0)
		return e;
	if ((e = mig_report_write(r->tmp, r->s, &r->c, r->o.dry_run)) != 0) {
		snprintf(err, errsz, "cannot write the report in %s", r->tmp);
		return e;
	}
	if ((e = publish_outputs(r, err, errsz)) != 0)
		return e;
	r->published = true;
	return 0;
}

const struct mig_counts *
mig_run_counts(const struct mig_run *r)
{
	return &r->c;
}

void
mig_run_times(const struct mig_run *r, int64_t ms[5], unsigned *threads)
{
	memcpy(ms, r->pass_ms, sizeof(r->pass_ms));
	*threads = r->threads < r->nparts ? r->threads : r->nparts;
}

/* Removes the temporary directory and what is in it (only our own flat files). */
static void
remove_tmp(const char *dir)
{
	DIR *d;
	struct dirent *de;
	char path[4400];

	if (dir[0] == '\0' || (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		(void)unlink(path);
	}
	closedir(d);
	(void)rmdir(dir);
}

void
mig_run_free(struct mig_run *r)
{
	int e;

	if (r == NULL)
		return;
	/* Errors no longer matter here: the run already failed or finished. */
	e = mig_close_set(r->pf, r->nparts);
	e |= mig_close_set(r->nf, r->nparts);
	e |= mig_close_set(r->of, r->nparts);
	e |= close_outputs(r);
	if (e != 0)
		yh_debug("closing after the run failed");
	remove_tmp(r->tmp);
	/* A failed run leaves neither a uid key nor an empty output directory it made. */
	if (r->key_created && !r->published)
		(void)unlink(r->key_path);
	if (r->out_created && !r->published)
		(void)rmdir(r->o.out_dir);
	mig_progress_free(r->prog);
	yh_buf_free(&r->sink.line);
	free(r->c.src);
	mig_uid_key_free(r->uid);
	free(r);
}
