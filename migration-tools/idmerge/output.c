/*
 * Files: the temporary partition files (one escaped, tab-separated line per record)
 * and the JSON-lines outputs, all created 0600.
 */
#define _GNU_SOURCE   /* fwrite_unlocked, putc_unlocked: the streams are not shared */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "migration-tools/idmerge/mig.h"

#define REC_FIELDS (4 + MV_COUNT)

/* Writes s with tab, newline, carriage return and backslash escaped. */
static int
put_escaped(FILE *f, const char *s)
{
	while (*s) {
		size_t n = strcspn(s, "\t\n\r\\");

		if (n > 0 && fwrite_unlocked(s, 1, n, f) != n)
			return YH_ERR_IO;
		s += n;
		if (*s == '\0')
			break;
		if (putc_unlocked('\\', f) == EOF ||
		    putc_unlocked(*s == '\t' ? 't' : *s == '\n' ? 'n' : *s == '\r' ? 'r' : '\\',
		    f) == EOF)
			return YH_ERR_IO;
		s++;
	}
	return 0;
}

int
mig_rec_write(FILE *f, const struct mig_rec *r)
{
	char num[48];
	int i, n;

	if (putc_unlocked(r->type, f) == EOF || putc_unlocked('\t', f) == EOF ||
	    put_escaped(f, r->key) != 0)
		return YH_ERR_IO;
	n = snprintf(num, sizeof(num), "\t%u\t%llu", (unsigned)r->src, (unsigned long long)r->seq);
	if (n < 0 || fwrite_unlocked(num, 1, (size_t)n, f) != (size_t)n)
		return YH_ERR_IO;
	for (i = 0; i < MV_COUNT; i++)
		if (putc_unlocked('\t', f) == EOF || put_escaped(f, r->v[i] ? r->v[i] : "") != 0)
			return YH_ERR_IO;
	return putc_unlocked('\n', f) == EOF ? YH_ERR_IO : 0;
}

/* Undoes put_escaped in place. */
static void
unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (*s == '\\' && s[1] != '\0') {
			s++;
			*w++ = *s == 't' ? '\t' : *s == 'n' ? '\n' : *s == 'r' ? '\r' : *s;
		} else
			*w++ = *s;
	}
	*w = '\0';
}

static int
parse_u64_fast(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return YH_ERR_INTERNAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > UINT64_MAX / 10 - 1)
			return YH_ERR_INTERNAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/* Parses one line of len bytes (NUL-terminated, no newline) into rec, in place. */
static int
parse_line(char *line, size_t len, struct mig_rec *rec)
{
	char *f[REC_FIELDS], *p = line, *end = line + len, *t;
	uint64_t src;
	bool escaped = memchr(line, '\\', len) != NULL;
	int n = 0;

	f[n++] = line;
	while ((t = memchr(p, '\t', (size_t)(end - p))) != NULL) {
		if (n == REC_FIELDS)
			return YH_ERR_INTERNAL;
		*t = '\0';
		f[n++] = t + 1;
		p = t + 1;
	}
	if (n != REC_FIELDS || f[0][0] == '\0' || f[0][1] != '\0')
		return YH_ERR_INTERNAL;
	for (int i = 0; i < n && escaped; i++)
		unescape(f[i]);
	rec->type = f[0][0];
	rec->key = f[1];
	if (parse_u64_fast(f[2], &src) != 0 || src > UINT32_MAX ||
	    parse_u64_fast(f[3], &rec->seq) != 0)
		return YH_ERR_INTERNAL;
	rec->src = (uint32_t)src;
	for (int i = 0; i < MV_COUNT; i++)
		rec->v[i] = f[4 + i];
	return 0;
}

int
mig_part_load(const char *path, struct mig_part *p)
{
	struct stat st;
	FILE *f = NULL;
	size_t lines = 0;
	char *line, *end;
	int r = 0;

	memset(p, 0, sizeof(*p));
	if ((f = fopen(path, "rb")) == NULL) {
		if (errno == ENOENT)
			return 0;
		yh_error("cannot open %s: %s", path, strerror(errno));
		return YH_ERR_IO;
	}
	if (fstat(fileno(f), &st) != 0) {
		r = YH_ERR_IO;
		goto out;
	}
	p->len = (size_t)st.st_size;
	if ((p->data = malloc(p->len + 1)) == NULL) {
		r = YH_ERR_ALLOC;
		goto out;
	}
	if (p->len > 0 && fread(p->data, 1, p->len, f) != p->len) {
		yh_error("cannot read %s", path);
		r = YH_ERR_IO;
		goto out;
	}
	p->data[p->len] = '\0';
	for (char *q = p->data, *e = p->data + p->len; (q = memchr(q, '\n', (size_t)(e - q))) != NULL;
	    q++)
		lines++;
	if (lines > 0 && (p->recs = calloc(lines, sizeof(*p->recs))) == NULL) {
		r = YH_ERR_ALLOC;
		goto out;
	}
	for (line = p->data; line < p->data + p->len; line = end + 1) {
		if ((end = memchr(line, '\n', (size_t)(p->data + p->len - line))) == NULL) {
			r = YH_ERR_INTERNAL;
			break;
		}
		*end = '\0';
		if ((r = parse_line(line, (size_t)(end - line), &p->recs[p->n])) != 0)
			break;
		p->n++;
	}
	if (r != 0)
		yh_error("malformed temporary file %s", path);
out:
	if (f != NULL)
		fclose(f);
	if (r != 0)
		mig_part_free(p);
	return r;
}

/* Total order of records: key, type, source, sequence, then content. */
static int
rec_cmp_full(const struct mig_rec *x, const struct mig_rec *y)
{
	int c = strcmp(x->key, y->key);

	if (c != 0)
		return c;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	if (x->src != y->src)
		return x->src < y->src ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	/* Auxiliary lines share source and sequence: order them by content so the sort is
	 * total and the run deterministic. */
	if ((c = strcmp(x->v[MV_UID], y->v[MV_UID])) != 0)
		return c;
	return strcmp(x->v[MV_LEGAL_REP], y->v[MV_LEGAL_REP]);
}

/* A sort slot: a 64-bit hash of the key keeps nearly every comparison inside the array
 * (ID numbers share long prefixes, so comparing strings would dominate). Records end
 * up ordered by (key hash, key, ...): any total order works, as long as equal keys are
 * adjacent and the order is the same on every run. */
struct sort_slot {
	uint64_t h;
	struct mig_rec *r;
};

static uint64_t
key_hash(const char *k)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const unsigned char *p = (const unsigned char *)k; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	return h ^ (h >> 33);
}

static int
slot_cmp(const void *a, const void *b)
{
	const struct sort_slot *x = a, *y = b;

	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	return rec_cmp_full(x->r, y->r);
}

int
mig_part_sort(struct mig_part *p)
{
	struct sort_slot *ord = NULL;
	struct mig_rec *sorted = NULL;

	if (p->n < 2)
		return 0;
	/* Sort slots, then lay the records out in order: groups stay contiguous. */
	if ((ord = malloc(p->n * sizeof(*ord))) == NULL ||
	    (sorted = malloc(p->n * sizeof(*sorted))) == NULL) {
		free(ord);
		return YH_ERR_ALLOC;
	}
	for (size_t i = 0; i < p->n; i++) {
		ord[i].h = key_hash(p->recs[i].key);
		ord[i].r = &p->recs[i];
	}
	qsort(ord, p->n, sizeof(*ord), slot_cmp);
	for (size_t i = 0; i < p->n; i++)
		sorted[i] = *ord[i].r;
	free(ord);
	free(p->recs);
	p->recs = sorted;
	return 0;
}

void
mig_part_free(struct mig_part *p)
{
	if (p == NULL)
		return;
	free(p->data);
	free(p->recs);
	memset(p, 0, sizeof(*p));
}

int
mig_create_file(const char *path, FILE **out)
{
	int fd;

	*out = NULL;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		yh_error("cannot create %s: %s", path, strerror(errno));
		return YH_ERR_IO;
	}
	/* An existing file keeps its old mode through O_CREAT: force 0600. */
	if (fchmod(fd, 0600) != 0 || (*out = fdopen(fd, "w")) == NULL) {
		yh_error("cannot prepare %s: %s", path, strerror(errno));
		close(fd);
		return YH_ERR_IO;
	}
	setvbuf(*out, NULL, _IOFBF, 1 << 18);
	return 0;
}

int
mig_json_str(struct yh_buf *b, const char *s)
{
	if (s == NULL || s[0] == '\0')
		return yh_buf_puts(b, "null");
	return yh_json_quote(b, s, strlen(s));
}

unsigned
mig_part_of(const char *key, unsigned nparts)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 29;
	return (unsigned)(h % nparts);
}

void
mig_tmp_path(const struct mig_run *r, char type, unsigned i, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s/%c%04u", r->tmp, type, i);
}

/* Every reason code idmerge gives. The tables keep pointers to these static strings
 * (a reason read back from a temporary file lives only as long as its partition). */
static const char *const known_reasons[] = {
	"bad_length", "bad_charset", "bad_checksum", "bad_birthdate", "future_birthdate",
	"bad_region", "bad_registration", "bad_org_code", "scientific_notation", "placeholder",
	"missing_id", "unreadable", "too_long", "name_conflict", "uscc_conflict",
	"org_code_mismatch", "ambiguous_match", "id_contradiction", "candidate_in_conflict",
};

static const char *
intern_reason(const char *reason)
{
	for (size_t i = 0; reason != NULL && i < sizeof(known_reasons) / sizeof(known_reasons[0]); i++)
		if (strcmp(known_reasons[i], reason) == 0)
			return known_reasons[i];
	return "other";
}

/* Adds n to a reason's count (reason already interned). */
static void
reason_add_n(struct mig_reason_count *t, size_t *cnt, const char *reason, uint64_t n)
{
	size_t i;

	for (i = 0; i < *cnt; i++)
		if (strcmp(t[i].reason, reason) == 0) {
			t[i].n += n;
			return;
		}
	if (*cnt == MIG_REASONS_MAX) {
		/* The table is far larger than the set of codes; fold any excess. */
		t[*cnt - 1].reason = "other";
		t[*cnt - 1].n += n;
		return;
	}
	t[*cnt].reason = reason;
	t[*cnt].n = n;
	(*cnt)++;
}

void
mig_reason_add(struct mig_reason_count *t, size_t *n, const char *reason)
{
	reason_add_n(t, n, intern_reason(reason), 1);
}

void
mig_counts_move(struct mig_counts *to, struct mig_counts *from)
{
	for (size_t i = 0; i < from->n_src && i < to->n_src; i++) {
		struct mig_src_counts *d = &to->src[i], *x = &from->src[i];

		d->read += x->read;
		d->accounts += x->accounts;
		d->rejects += x->rejects;
		d->review += x->review;
		for (size_t k = 0; k < x->n_rej; k++)
			reason_add_n(d->rej, &d->n_rej, x->rej[k].reason, x->rej[k].n);
		for (size_t k = 0; k < x->n_rev; k++)
			reason_add_n(d->rev, &d->n_rev, x->rev[k].reason, x->rev[k].n);
		memset(x, 0, sizeof(*x));
	}
	to->persons += from->persons;
	to->orgs += from->orgs;
	to->conflicts += from->conflicts;
	from->persons = from->orgs = from->conflicts = 0;
}

/* Writes the scratch line to f (when not a dry run). */
static int
flush_line(struct mig_sink *k, FILE *f)
{
	if (k->line.len > 0 && f != NULL && fwrite(k->line.data, 1, k->line.len, f) != k->line.len)
		return YH_ERR_IO;
	return 0;
}

/* Starts the scratch line of a reject or review record: {"source":..,"legacy_id":..,
 * "reason":.. (the caller adds the rest). */
static int
line_start(struct mig_sink *k, uint32_t src, const char *legacy_id, const char *reason)
{
	int e;

	yh_buf_reset(&k->line);
	if ((e = yh_buf_puts(&k->line, "{\"source\":")) != 0 ||
	    (e = mig_json_str(&k->line, k->s->v[src].name)) != 0 ||
	    (e = yh_buf_puts(&k->line, ",\"legacy_id\":")) != 0 ||
	    (e = mig_json_str(&k->line, legacy_id)) != 0 ||
	    (e = yh_buf_puts(&k->line, ",\"reason\":")) != 0)
		return e;
	return mig_json_str(&k->line, reason);
}

int
mig_emit_reject(struct mig_sink *k, uint32_t src, const char *legacy_id, const char *reason,
    const char *field, const char *value)
{
	struct mig_src_counts *sc = &k->c->src[src];
	int e;

	sc->rejects++;
	mig_reason_add(sc->rej, &sc->n_rej, reason);
	if (k->rejects == NULL)
		return 0;
	if ((e = line_start(k, src, legacy_id, reason)) != 0 ||
	    (e = yh_buf_puts(&k->line, ",\"field\":")) != 0 ||
	    (e = mig_json_str(&k->line, field)) != 0 ||
	    (e = yh_buf_puts(&k->line, ",\"value\":")) != 0 ||
	    (e = mig_json_str(&k->line, value)) != 0 ||
	    (e = yh_buf_puts(&k->line, "}\n")) != 0)
		return e;
	return flush_line(k, k->rejects);
}

int
mig_json_kv(struct yh_buf *b, const char *k, const char *v)
{
	int e;

	if ((e = yh_buf_puts(b, ",\"")) != 0 || (e = yh_buf_puts(b, k)) != 0 ||
	    (e = yh_buf_puts(b, "\":")) != 0)
		return e;
	return mig_json_str(b, v);
}

/* Appends ,"record":{...}: what the directory's review case needs of record x (the
 * values as cleansed; the ID number as read when it was unusable, with why). */
static int
review_record(struct mig_sink *k, const struct mig_rec *x)
{
	struct yh_buf *b = &k->line;
	const char *scheme = k->s->v[x->src].password_scheme;
	bool org = x->type == MIG_T_ORG;
	int e;

	if ((e = yh_buf_puts(b, ",\"record\":{\"kind\":")) != 0 ||
	    (e = mig_json_str(b, org ? "org" : "person")) != 0 ||
	    (e = mig_json_kv(b, "name", x->v[org ? MV_ORG_NAME : MV_NAME])) != 0 ||
	    (e = mig_json_kv(b, "name_key", x->v[MV_NAME_KEY])) != 0 ||
	    (e = mig_json_kv(b, "id_number", x->type == MIG_T_NOID ? x->v[MV_ID_RAW] :
	    org ? "" : x->key)) != 0 ||
	    (e = mig_json_kv(b, "id_problem", x->type == MIG_T_NOID ? x->v[MV_REASON] : "")) != 0 ||
	    (e = mig_json_kv(b, "uscc", x->v[MV_USCC])) != 0 ||
	    (e = mig_json_kv(b, "org_code", x->v[MV_ORG_CODE])) != 0 ||
	    (e = mig_json_kv(b, "phone", x->v[MV_PHONE])) != 0 ||
	    (e = mig_json_kv(b, "email", x->v[MV_EMAIL])) != 0 ||
	    (e = mig_json_kv(b, "username", x->v[MV_USERNAME])) != 0 ||
	    (e = mig_json_kv(b, "status", x->v[MV_STATUS])) != 0 ||
	    (e = mig_json_kv(b, "last_login", x->v[MV_LAST_LOGIN])) != 0)
		return e;
	if (x->v[MV_PW_HASH][0] == '\0' || scheme == NULL)
		return yh_buf_puts(b, ",\"credential\":null}");
	if ((e = yh_buf_puts(b, ",\"credential\":{\"scheme\":")) != 0 ||
	    (e = mig_json_str(b, scheme)) != 0 ||
	    (e = mig_json_kv(b, "hash", x->v[MV_PW_HASH])) != 0 ||
	    (e = mig_json_kv(b, "salt", x->v[MV_PW_SALT])) != 0)
		return e;
	return yh_buf_puts(b, "}}");
}

int
mig_emit_review(struct mig_sink *k, const struct mig_rec *x, const char *reason,
    const char *group, const char *const *cands, size_t ncands)
{
	struct mig_src_counts *sc = &k->c->src[x->src];
	int e;

	sc->review++;
	mig_reason_add(sc->rev, &sc->n_rev, reason);
	if (k->review == NULL)
		return 0;
	if ((e = line_start(k, x->src, x->v[MV_LEGACY_ID], reason)) != 0 ||
	    (e = yh_buf_puts(&k->line, ",\"candidates\":[")) != 0)
		return e;
	for (size_t i = 0; i < ncands; i++)
		if ((e = yh_buf_puts(&k->line, i ? "," : "")) != 0 ||
		    (e = mig_json_str(&k->line, cands[i])) != 0)
			return e;
	if ((e = yh_buf_putc(&k->line, ']')) != 0 ||
	    (group != NULL && (e = mig_json_kv(&k->line, "group", group)) != 0) ||
	    (e = review_record(k, x)) != 0 || (e = yh_buf_puts(&k->line, "}\n")) != 0)
		return e;
	return flush_line(k, k->review);
}

int
mig_open_set(const struct mig_run *r, char type, bool append, FILE ***out)
{
	char path[4200];
	FILE **set;
	int fd, e = 0;

	*out = NULL;
	if ((set = calloc(r->nparts, sizeof(*set))) == NULL)
		return YH_ERR_ALLOC;
	for (unsigned i = 0; i < r->nparts && e == 0; i++) {
		mig_tmp_path(r, type, i, path, sizeof(path));
		fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC |
		    (append ? O_APPEND : O_TRUNC), 0600);
		if (fd < 0 || (set[i] = fdopen(fd, append ? "a" : "w")) == NULL) {
			yh_error("cannot open %s: %s", path, strerror(errno));
			if (fd >= 0)
				close(fd);
			e = YH_ERR_IO;
			break;
		}
		/* Many of these are open at once: keep their buffers small. */
		setvbuf(set[i], NULL, _IOFBF, 1 << 15);
	}
	if (e != 0) {
		if (mig_close_set(set, r->nparts) != 0)
			yh_debug("closing a partial set failed too");
		return e;
	}
	*out = set;
	return 0;
}

int
mig_close_set(FILE **set, unsigned n)
{
	int e = 0;

	if (set == NULL)
		return 0;
	for (unsigned i = 0; i < n; i++)
		if (set[i] != NULL && fclose(set[i]) != 0)
			e = YH_ERR_IO;
	free(set);
	return e;
}

int
mig_read_line(FILE *f, struct yh_buf *b)
{
	char chunk[8192];
	int e;

	yh_buf_reset(b);
	while (fgets(chunk, sizeof(chunk), f) != NULL) {
		size_t n = strlen(chunk);

		if ((e = yh_buf_append(b, chunk, n)) != 0)
			return e;
		if (n > 0 && chunk[n - 1] == '\n')
			return 0;
	}
	if (ferror(f))
		return YH_ERR_IO;
	return b->len > 0 ? 0 : YH_ERR_NOT_FOUND;
}
