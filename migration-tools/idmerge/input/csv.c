/*
 * The CSV reader: RFC 4180 with a header row, quoted fields holding delimiters, doubled
 * quotes and line breaks, CRLF or LF.
 * Parsing runs over the decoded UTF-8 window of encoding.c, a run of ordinary bytes at a
 * time, copying values into the reader's fixed store.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migration-tools/idmerge/input/format.h"

#define CSV_MAX_COLS 1024

enum csv_class { CL_PLAIN, CL_DELIM, CL_QUOTE, CL_CR, CL_LF, CL_BAD };
enum csv_state { ST_START, ST_PLAIN, ST_QUOTED, ST_QUOTE_END };

struct csv {
	size_t ncols;
	uint64_t header_line;
	int col_of[MIG_F_COUNT];           /* header index per field, -1 unmapped */
	size_t foff[CSV_MAX_COLS];         /* store offset of each field of the row */
	unsigned char cls_plain[256];
	unsigned char cls_quoted[256];
};

/* The row being parsed: i bytes of the window belong to it so far. */
struct row {
	size_t i;
	size_t nfields;
	size_t fstart;         /* store offset where the current field starts */
	uint64_t line;         /* the row's first line */
	uint64_t lfs;          /* line feeds inside the row so far */
	enum csv_state st;
	int err;               /* the first record-level error, or 0 */
	char msg[256];
};

static void __attribute__((format(printf, 3, 4)))
row_fail(struct row *w, int code, const char *fmt, ...)
{
	va_list ap;

	if (w->err != 0)
		return;
	w->err = code;
	va_start(ap, fmt);
	vsnprintf(w->msg, sizeof(w->msg), fmt, ap);
	va_end(ap);
}

/* Makes byte i of the window available: 1 when it is, 0 at the end of the file. */
static int
have_byte(struct mig_reader *r, size_t i)
{
	int rc;

	while (mig_input_avail(r->in) <= i) {
		if ((rc = mig_input_more(r->in)) == YH_ERR_NOT_FOUND)
			return 0;
		if (rc != 0)
			return rc;
	}
	return 1;
}

/* Appends n bytes of the current field to the store (the row is within
 * MIG_RECORD_MAX, so the store cannot fill). */
static void
field_add(struct mig_reader *r, const char *p, size_t n)
{
	memcpy(r->store + r->store_len, p, n);
	r->store_len += n;
}

static void
field_end(struct mig_reader *r, struct csv *c, struct row *w)
{
	size_t flen = r->store_len - w->fstart;

	r->store[r->store_len++] = '\0';
	if (flen > MIG_FIELD_MAX)
		row_fail(w, YH_ERR_TOO_LONG, "field %zu is longer than %d bytes", w->nfields + 1,
		    MIG_FIELD_MAX);
	if (w->nfields < CSV_MAX_COLS)
		c->foff[w->nfields] = w->fstart;
	w->nfields++;
	w->fstart = r->store_len;
}

static void
bad_byte(struct mig_reader *r, struct row *w, unsigned char b)
{
	char what[64];

	if (b == 0)
		snprintf(what, sizeof(what), "NUL byte");
	else
		snprintf(what, sizeof(what), "invalid %s byte sequence", r->src->encoding);
	if (w->lfs == 0)
		row_fail(w, YH_ERR_INVALID, "%s", what);
	else
		row_fail(w, YH_ERR_INVALID, "%s in line %llu (inside a quoted field)", what,
		    (unsigned long long)(w->line + w->lfs));
}

/* Copies the run of bytes of class CL_PLAIN at window offset w->i (bounded by the
 * record cap) into the field. Returns the class of the byte after it, or -1 when the
 * run reached the end of the bytes at hand. */
static int
plain_run(struct mig_reader *r, struct row *w, const unsigned char *cls)
{
	const unsigned char *d = (const unsigned char *)mig_input_data(r->in);
	size_t avail = mig_input_avail(r->in), lim = MIG_RECORD_MAX + 1, j = w->i;

	if (avail > lim)
		avail = lim;
	while (j < avail && cls[d[j]] == CL_PLAIN)
		j++;
	field_add(r, (const char *)d + w->i, j - w->i);
	w->i = j;
	return j < avail ? cls[d[j]] : -1;
}

/* A CR at w->i: CRLF ends the row (returns 1); a CR at the end of the file too. */
static int
at_cr(struct mig_reader *r, struct row *w)
{
	int h = have_byte(r, w->i + 1);

	if (h < 0)
		return h;
	if (h == 0 || mig_input_data(r->in)[w->i + 1] == '\n') {
		w->i += h == 0 ? 1 : 2;
		w->lfs += h == 0 ? 0 : 1;
		return 1;
	}
	row_fail(w, YH_ERR_INVALID, "carriage return without line feed outside quotes");
	field_add(r, "\r", 1);
	w->i++;
	return 0;
}

/* One step in an unquoted field or after a closing quote. Returns 1 at the row's end. */
static int
step_plain(struct mig_reader *r, struct csv *c, struct row *w)
{
	int k = plain_run(r, w, c->cls_plain);

	switch (k) {
	case -1:
		return 0;
	case CL_DELIM:
		field_end(r, c, w);
		w->st = ST_START;
		w->i++;
		return 0;
	case CL_LF:
		w->i++;
		w->lfs++;
		return 1;
	case CL_CR:
		return at_cr(r, w);
	case CL_QUOTE:
		row_fail(w, YH_ERR_INVALID, "quote inside an unquoted field %zu", w->nfields + 1);
		field_add(r, "\"", 1);
		w->i++;
		return 0;
	default:
		bad_byte(r, w, (unsigned char)mig_input_data(r->in)[w->i]);
		w->i++;
		return 0;
	}
}

static int
step_quoted(struct mig_reader *r, struct csv *c, struct row *w)
{
	int k = plain_run(r, w, c->cls_quoted);

	switch (k) {
	case -1:
		return 0;
	case CL_QUOTE:
		w->st = ST_QUOTE_END;
		break;
	case CL_LF:
		field_add(r, "\n", 1);
		w->lfs++;
		break;
	default:
		bad_byte(r, w, (unsigned char)mig_input_data(r->in)[w->i]);
		break;
	}
	w->i++;
	return 0;
}

static int
step_quote_end(struct mig_reader *r, struct csv *c, struct row *w)
{
	char b = mig_input_data(r->in)[w->i];

	if (b == '"') {
		field_add(r, "\"", 1);
		w->st = ST_QUOTED;
		w->i++;
		return 0;
	}
	if (b != r->src->delimiter && b != '\r' && b != '\n')
		row_fail(w, YH_ERR_INVALID, "text after the closing quote of field %zu",
		    w->nfields + 1);
	w->st = ST_PLAIN;
	return step_plain(r, c, w);
}

/* Skips to the end of the line holding window offset w->i, consuming as it goes. */
static int
skip_line(struct mig_reader *r, struct row *w)
{
	const char *d, *lf;
	int h;

	for (;;) {
		if ((h = have_byte(r, w->i)) <= 0)
			return h;
		d = mig_input_data(r->in);
		if ((lf = memchr(d + w->i, '\n', mig_input_avail(r->in) - w->i)) != NULL) {
			w->i = (size_t)(lf - d) + 1;
			w->lfs++;
			return 0;
		}
		mig_input_consume(r->in, mig_input_avail(r->in));
		w->i = 0;
	}
}

/* A quote still open at the end of the file or past the record cap: the row is an
 * error and reading resumes on the line after its first one. */
static int
unclosed_quote(struct mig_reader *r, struct row *w)
{
	const char *d = mig_input_data(r->in);
	const char *lf = memchr(d, '\n', w->i);

	row_fail(w, YH_ERR_INVALID, "quoted field not closed%s", w->i > MIG_RECORD_MAX ?
	    " within the record size limit" : " before the end of the file");
	if (lf == NULL)
		return skip_line(r, w);
	w->i = (size_t)(lf - d) + 1;
	w->lfs = 1;
	return 0;
}

static int
oversized(struct mig_reader *r, struct row *w)
{
	if (w->st == ST_QUOTED)
		return unclosed_quote(r, w);
	row_fail(w, YH_ERR_TOO_LONG, "record longer than %d bytes", MIG_RECORD_MAX);
	return skip_line(r, w);
}

/* Skips blank lines before a row. Returns 1 when a row starts, 0 at the end, < 0. */
static int
skip_blank(struct mig_reader *r)
{
	const char *d;
	int h;

	for (;;) {
		if ((h = have_byte(r, 0)) <= 0)
			return h;
		d = mig_input_data(r->in);
		if (d[0] == '\n') {
			mig_input_consume(r->in, 1);
			r->line++;
			continue;
		}
		if (d[0] != '\r')
			return 1;
		if ((h = have_byte(r, 1)) < 0)
			return h;
		d = mig_input_data(r->in);
		if (h == 1 && d[1] != '\n')
			return 1;
		mig_input_consume(r->in, h == 1 ? 2 : 1);
		r->line += (uint64_t)h;
	}
}

/* Parses one row into the store. Returns 0 (check w->err), YH_ERR_NOT_FOUND at the
 * end of the file, or a stream error. */
static int
csv_row(struct mig_reader *r, struct csv *c, struct row *w)
{
	int h, done = 0;

	memset(w, 0, sizeof(*w));
	r->store_len = 0;
	if ((h = skip_blank(r)) <= 0)
		return h == 0 ? YH_ERR_NOT_FOUND : h;
	w->line = r->line;
	while (!done) {
		if (w->i > MIG_RECORD_MAX) {
			if ((h = oversized(r, w)) < 0)
				return h;
			break;
		}
		if ((h = have_byte(r, w->i)) < 0)
			return h;
		if (h == 0) {
			if (w->st == ST_QUOTED && (h = unclosed_quote(r, w)) < 0)
				return h;
			if (w->err == 0)
				field_end(r, c, w);
			break;
		}
		switch (w->st) {
		case ST_START:
			w->st = ST_PLAIN;
			if (mig_input_data(r->in)[w->i] == '"') {
				w->st = ST_QUOTED;
				w->i++;
			}
			break;
		case ST_PLAIN:
			done = step_plain(r, c, w);
			break;
		case ST_QUOTED:
			done = step_quoted(r, c, w);
			break;
		case ST_QUOTE_END:
			done = step_quote_end(r, c, w);
			break;
		}
		if (done < 0)
			return done;
	}
	if (done && w->err == 0)
		field_end(r, c, w);
	mig_input_consume(r->in, w->i);
	r->line += w->lfs;
	return 0;
}

static int
csv_next(struct mig_reader *r, struct mig_record *rec, char *err, size_t errsz)
{
	struct csv *c = r->fmt;
	struct row w;
	int rc;

	if ((rc = csv_row(r, c, &w)) != 0) {
		if (rc != YH_ERR_NOT_FOUND)
			mig_record_error(r, r->line, err, errsz, "read error: %s", yh_strerror(rc));
		return rc;
	}
	rec->seq = ++r->seq;
	rec->line = w.line;
	if (w.err != 0) {
		mig_record_error(r, w.line, err, errsz, "%s", w.msg);
		return w.err;
	}
	if (w.nfields != c->ncols) {
		mig_record_error(r, w.line, err, errsz, "%zu fields where the header has %zu",
		    w.nfields, c->ncols);
		return YH_ERR_INVALID;
	}
	for (int f = 0; f < MIG_F_COUNT; f++)
		if (c->col_of[f] >= 0)
			rec->f[f] = r->store + c->foff[c->col_of[f]];
	return 0;
}

static void
csv_close(struct mig_reader *r)
{
	free(r->fmt);
	r->fmt = NULL;
}

static void
csv_classes(struct csv *c, char delim)
{
	memset(c->cls_plain, CL_PLAIN, sizeof(c->cls_plain));
	memset(c->cls_quoted, CL_PLAIN, sizeof(c->cls_quoted));
	c->cls_plain[(unsigned char)delim] = CL_DELIM;
	c->cls_plain['"'] = c->cls_quoted['"'] = CL_QUOTE;
	c->cls_plain['\r'] = CL_CR;
	c->cls_plain['\n'] = c->cls_quoted['\n'] = CL_LF;
	c->cls_plain[0] = c->cls_quoted[0] = CL_BAD;
	c->cls_plain[MIG_ENC_BAD] = c->cls_quoted[MIG_ENC_BAD] = CL_BAD;
}

/* A header name without surrounding spaces or tabs. */
static const char *
header_name(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* Maps the source's columns to header positions. */
static int
csv_map_header(struct mig_reader *r, struct csv *c, char *err, size_t errsz)
{
	const struct mig_source *src = r->src;
	const char *names[CSV_MAX_COLS];

	for (size_t k = 0; k < c->ncols; k++) {
		names[k] = header_name(r->store + c->foff[k]);
		for (size_t j = 0; j < k && names[k][0] != '\0'; j++) {
			if (strcmp(names[j], names[k]) == 0) {
				snprintf(err, errsz, "source \"%s\": %s:%llu: column \"%s\" appears "
				    "twice in the header", src->name, src->path,
				    (unsigned long long)c->header_line, names[k]);
				return YH_ERR_CONFIG;
			}
		}
	}
	for (int f = 0; f < MIG_F_COUNT; f++) {
		c->col_of[f] = -1;
		if (src->columns[f] == NULL)
			continue;
		for (size_t k = 0; k < c->ncols && c->col_of[f] < 0; k++)
			if (strcmp(names[k], src->columns[f]) == 0)
				c->col_of[f] = (int)k;
		if (c->col_of[f] < 0) {
			snprintf(err, errsz, "source \"%s\": %s: column \"%s\" (field %s) is not in "
			    "the header", src->name, src->path, src->columns[f], mig_field_name(f));
			return YH_ERR_CONFIG;
		}
		r->seen |= 1u << f;
	}
	return 0;
}

int
mig_csv_open(struct mig_reader *r, char *err, size_t errsz)
{
	struct csv *c;
	struct row w;
	int rc;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errsz, "source \"%s\": out of memory", r->src->name);
		return YH_ERR_ALLOC;
	}
	r->fmt = c;
	r->next = csv_next;
	r->close = csv_close;
	csv_classes(c, r->src->delimiter != '\0' ? r->src->delimiter : ',');
	rc = csv_row(r, c, &w);
	if (rc == YH_ERR_NOT_FOUND) {
		snprintf(err, errsz, "source \"%s\": %s: empty file, no header row", r->src->name,
		    r->src->path);
		return YH_ERR_INVALID;
	}
	if (rc != 0) {
		snprintf(err, errsz, "source \"%s\": %s: read error: %s", r->src->name,
		    r->src->path, yh_strerror(rc));
		return rc;
	}
	if (w.err != 0 || w.nfields > CSV_MAX_COLS) {
		snprintf(err, errsz, "source \"%s\": %s:%llu: bad header row: %s", r->src->name,
		    r->src->path, (unsigned long long)w.line,
		    w.err != 0 ? w.msg : "too many columns");
		return YH_ERR_INVALID;
	}
	c->ncols = w.nfields;
	c->header_line = w.line;
	return csv_map_header(r, c, err, errsz);
}
