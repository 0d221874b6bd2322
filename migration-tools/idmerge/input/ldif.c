/*
 * The LDIF reader (RFC 2849 content records): entries separated by blank lines, each
 * starting with "dn:", lines "attr: value" or "attr:: base64", a line starting with one
 * space continuing the one before, "#" comments, an optional "version: 1" first.
 * Attribute names match the sources file without regard to case ("dn" may be mapped
 * too; an attribute with options such as "cn;lang-zh" matches only a column written
 * with the same options); of a multi-valued attribute the first value is taken and the
 * field's bit set in rec->multivalued. Base64 values are bytes in the source's declared
 * encoding and are converted like the rest. Values given by URL ("attr:< file:...") and
 * change records are record-level errors.
 *
 * This file frames entries within the size cap and counts lines; OpenLDAP's libldap
 * (ldif.h) reads inside an entry: ldif_getline unfolds continuation lines and skips
 * comments, ldif_parse_line2 splits "attr: value" and decodes base64, both in place in a
 * copy of the entry. A URL value is refused before ldif_parse_line2 sees it, which would
 * otherwise open the file it names.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <lber.h>
#include <ldif.h>

#include "common/buf.h"
#include "migration-tools/idmerge/input/format.h"

#define ATTR_MAX 256
#define FOLD '\r'   /* libldap's mark for what unfolding removed (and for CR) */

struct ldif {
	struct yh_buf entry;     /* a copy of the entry for libldap to parse in place */
	struct yh_buf value;     /* a converted base64 value */
	bool seen_first;         /* past the place where "version:" may stand */
};

/* One entry being parsed. */
struct entry {
	long off[MIG_F_COUNT];
	uint32_t multi;
	uint32_t seen;           /* fields whose attribute the entry holds */
	uint64_t line;           /* physical line of the logical line at hand */
	uint64_t dn_line;
	bool has_dn;
};

static bool
blank_line(const char *p, size_t n)
{
	return n == 0 || (n == 1 && p[0] == '\r');
}

/* Skips blank lines at the start of the window. 1 when an entry follows, 0 at the end. */
static int
skip_blank(struct mig_reader *r)
{
	const char *d, *lf;
	size_t avail;
	int rc;

	for (;;) {
		d = mig_input_data(r->in);
		avail = mig_input_avail(r->in);
		lf = memchr(d, '\n', avail);
		if (lf != NULL && blank_line(d, (size_t)(lf - d))) {
			mig_input_consume(r->in, (size_t)(lf - d) + 1);
			r->line++;
			continue;
		}
		if (lf != NULL || !blank_line(d, avail))
			return 1;
		if ((rc = mig_input_more(r->in)) == YH_ERR_NOT_FOUND)
			break;
		if (rc != 0)
			return rc;
	}
	mig_input_consume(r->in, mig_input_avail(r->in));
	return 0;
}

/* Finds the end of the entry at the start of the window: *end is where its bytes end,
 * *next where the following entry may begin. 1, or YH_ERR_TOO_LONG past the cap. */
static int
find_entry(struct mig_reader *r, size_t *end, size_t *next)
{
	const char *d, *lf;
	size_t pos = 0, avail;
	int rc;

	for (;;) {
		d = mig_input_data(r->in);
		avail = mig_input_avail(r->in);
		lf = memchr(d + pos, '\n', avail - pos);
		if (lf == NULL) {
			if (avail > MIG_RECORD_MAX)
				return YH_ERR_TOO_LONG;
			if ((rc = mig_input_more(r->in)) == YH_ERR_NOT_FOUND) {
				*end = *next = mig_input_avail(r->in);
				return 1;
			}
			if (rc != 0)
				return rc;
			continue;
		}
		if (blank_line(d + pos, (size_t)(lf - d) - pos)) {
			*end = pos;
			*next = (size_t)(lf - d) + 1;
			return 1;
		}
		pos = (size_t)(lf - d) + 1;
		if (pos > MIG_RECORD_MAX)
			return YH_ERR_TOO_LONG;
	}
}

/* Consumes lines up to and including the next blank line (or the end of the file). */
static int
skip_entry(struct mig_reader *r)
{
	bool blank = false;
	int rc;

	while ((rc = mig_skip_line(r, &blank)) == 1 && !blank)
		;
	return rc < 0 ? rc : 0;
}

/* The attribute name of an unfolded line, [p, colon), without libldap's fold marks,
 * into name. false when it is not letters, digits, '-', ';' and '.'. */
static bool
attr_name(const char *p, const char *colon, char name[ATTR_MAX + 1], size_t *len)
{
	size_t n = 0;

	for (; p < colon; p++) {
		if (*p == FOLD)
			continue;
		if (n == ATTR_MAX || (!isalnum((unsigned char)*p) && *p != '-' && *p != ';' &&
		    *p != '.'))
			return false;
		name[n++] = *p;
	}
	name[n] = '\0';
	*len = n;
	return n > 0;
}

static bool
attr_is(const char *p, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(p, name, n) == 0;
}

/* Converts a base64-decoded value (bytes in the source's encoding) into l->value. */
static int
convert_value(struct mig_reader *r, struct ldif *l, const struct berval *raw, char *err,
    size_t errsz, struct entry *e)
{
	int rc;

	yh_buf_reset(&l->value);
	rc = mig_input_convert(r->in, raw->bv_val, raw->bv_len, &l->value);
	if (rc == YH_ERR_TOO_LONG)
		mig_record_error(r, e->line, err, errsz, "value longer than %d bytes",
		    MIG_FIELD_MAX);
	else if (rc != 0)
		mig_record_error(r, e->line, err, errsz, "base64 value is not valid %s text",
		    r->src->encoding);
	return rc;
}

/* Stores a value for every field mapped to the attribute. */
static int
store_value(struct mig_reader *r, struct entry *e, const char *attr, size_t alen,
    const char *v, size_t vlen, char *err, size_t errsz)
{
	for (int f = 0; f < MIG_F_COUNT; f++) {
		if (r->src->columns[f] == NULL || !attr_is(attr, alen, r->src->columns[f]))
			continue;
		e->seen |= 1u << f;
		if (e->off[f] >= 0) {
			e->multi |= 1u << f;
			continue;
		}
		if (vlen > MIG_FIELD_MAX) {
			mig_record_error(r, e->line, err, errsz, "attribute %.*s longer than %d "
			    "bytes", (int)alen, attr, MIG_FIELD_MAX);
			return YH_ERR_TOO_LONG;
		}
		if ((e->off[f] = mig_store_add(r, v, vlen)) < 0) {
			mig_record_error(r, e->line, err, errsz, "entry too large");
			return YH_ERR_TOO_LONG;
		}
	}
	return 0;
}

/*
 * True when base64 text (fold marks aside) is whole groups of the RFC 4648 alphabet,
 * padded only at its end. libldap's decoder is only handed such text: it stops at the
 * first '=' and ignores what follows, and on a bad byte it prints that byte to stderr
 * whatever the debug level (values are personal data).
 */
static bool
base64_ok(const char *p)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/";
	size_t n = 0, pad = 0;

	for (; *p != '\0'; p++) {
		if (*p == FOLD)
			continue;
		if (*p == '=')
			pad++;
		else if (pad > 0 || strchr(alphabet, *p) == NULL)
			return false;
		n++;
	}
	return n % 4 == 0 && pad <= 2;
}

/* Splits an unfolded line with libldap: v is the value (base64 decoded, fold marks
 * removed). A base64 value may end in spaces and may be empty, as RFC 2849 allows and
 * libldap does not. Never called on a URL value. */
static int
split_line(char *line, char *colon, bool b64, struct berval *v)
{
	struct berval type;
	char *end = colon + strlen(colon), *b;
	int freeval = 0;

	while (b64 && end > colon + 2 && (end[-1] == ' ' || end[-1] == FOLD))
		*--end = '\0';
	b = colon + 2 + strspn(colon + 2, " \r");
	if (b64 && *b == '\0') {
		v->bv_val = end;
		v->bv_len = 0;
		return 0;
	}
	if ((b64 && !base64_ok(b)) || ldif_parse_line2(line, &type, v, &freeval) != 0)
		return YH_ERR_INVALID;
	if (freeval != 0) {   /* a fetched URL: cannot happen, refused before */
		ber_memfree(v->bv_val);
		return YH_ERR_INVALID;
	}
	return 0;
}

/* "dn:" first in an entry, no change records. */
static int
check_order(struct mig_reader *r, struct entry *e, const char *name, size_t alen,
    char *err, size_t errsz)
{
	if (!e->has_dn) {
		if (!attr_is(name, alen, "dn")) {
			mig_record_error(r, e->line, err, errsz, "entry does not start with dn:");
			return YH_ERR_INVALID;
		}
		e->has_dn = true;
		e->dn_line = e->line;
	} else if (attr_is(name, alen, "changetype") || attr_is(name, alen, "control")) {
		mig_record_error(r, e->line, err, errsz, "LDIF change records are not supported");
		return YH_ERR_UNSUPPORTED;
	}
	return 0;
}

/* Handles one unfolded line of the entry copy: "version: 1" before the first entry,
 * "attr: value", "attr:: base64", or "attr:< url" (refused). */
static int
attr_line(struct mig_reader *r, struct ldif *l, struct entry *e, char *line, char *err,
    size_t errsz)
{
	char name[ATTR_MAX + 1], *colon;
	struct berval v;
	size_t alen;
	bool b64, version;
	int rc;

	if ((colon = strchr(line, ':')) == NULL || !attr_name(line, colon, name, &alen)) {
		mig_record_error(r, e->line, err, errsz, colon == NULL ? "line without ':'" :
		    "malformed attribute name");
		return YH_ERR_INVALID;
	}
	version = !l->seen_first && attr_is(name, alen, "version");
	l->seen_first = true;
	if (version) {
		if (colon[1] != '<' && colon[1] != ':' && split_line(line, colon, false, &v) == 0 &&
		    v.bv_len == 1 && v.bv_val[0] == '1')
			return 0;
		mig_record_error(r, e->line, err, errsz, "unsupported LDIF version");
		return YH_ERR_UNSUPPORTED;
	}
	if ((rc = check_order(r, e, name, alen, err, errsz)) != 0)
		return rc;
	if (colon[1] == '<') {
		mig_record_error(r, e->line, err, errsz, "value of %s given by URL is not "
		    "supported", name);
		return YH_ERR_UNSUPPORTED;
	}
	b64 = colon[1] == ':';
	if (split_line(line, colon, b64, &v) != 0) {
		mig_record_error(r, e->line, err, errsz, b64 ? "malformed base64 value" :
		    "malformed line");
		return YH_ERR_INVALID;
	}
	if (b64 && v.bv_len > 0) {
		if ((rc = convert_value(r, l, &v, err, errsz, e)) != 0)
			return rc;
		v.bv_val = l->value.data;
		v.bv_len = l->value.len;
	}
	return store_value(r, e, name, alen, v.bv_val, v.bv_len, err, errsz);
}

/* Parses the entry in the window's first n bytes: a copy goes to libldap, which hands
 * back one unfolded line at a time; the line numbers come from the window. */
static int
parse_entry(struct mig_reader *r, struct ldif *l, struct entry *e, size_t n, char *err,
    size_t errsz)
{
	const char *d = mig_input_data(r->in), *lf;
	char *next, *line;
	size_t counted = 0;   /* window bytes whose line feeds are in e->line */
	int rc;

	e->line = r->line;
	if (n > 0 && d[0] == ' ') {
		mig_record_error(r, e->line, err, errsz, "continuation line without a line "
		    "before it");
		return YH_ERR_INVALID;
	}
	yh_buf_reset(&l->entry);
	if (yh_buf_append(&l->entry, d, n) != 0 || yh_buf_putc(&l->entry, '\0') != 0) {
		mig_record_error(r, e->line, err, errsz, "entry too large");
		return YH_ERR_TOO_LONG;
	}
	next = l->entry.data;
	while ((line = ldif_getline(&next)) != NULL) {
		size_t off = (size_t)(line - l->entry.data);

		while ((lf = memchr(d + counted, '\n', off - counted)) != NULL) {
			e->line++;
			counted = (size_t)(lf - d) + 1;
		}
		counted = off;
		if ((rc = attr_line(r, l, e, line, err, errsz)) != 0)
			return rc;
	}
	return 0;
}

/* Counts the line of window offset off within the entry starting at r->line. */
static uint64_t
line_of(struct mig_reader *r, size_t off)
{
	const char *d = mig_input_data(r->in);
	uint64_t line = r->line;

	for (size_t i = 0; i < off; i++)
		line += d[i] == '\n';
	return line;
}

static int
check_entry(struct mig_reader *r, struct ldif *l, struct entry *e, size_t end, char *err,
    size_t errsz)
{
	size_t bad;

	if (mig_has_bad_byte(mig_input_data(r->in), end, &bad)) {
		mig_record_error(r, line_of(r, bad), err, errsz,
		    mig_input_data(r->in)[bad] == '\0' ? "NUL byte" : "invalid %s byte sequence",
		    r->src->encoding);
		return YH_ERR_INVALID;
	}
	return parse_entry(r, l, e, end, err, errsz);
}

static uint64_t
count_lf(const char *p, size_t n)
{
	uint64_t k = 0;
	const char *lf;

	while (n > 0 && (lf = memchr(p, '\n', n)) != NULL) {
		k++;
		n -= (size_t)(lf - p) + 1;
		p = lf + 1;
	}
	return k;
}

static int
fmt_next(struct mig_reader *r, struct mig_record *rec, char *err, size_t errsz)
{
	struct ldif *l = r->fmt;
	struct entry e;
	size_t end = 0, next = 0;
	uint64_t lines;
	int rc;

	for (;;) {
		if ((rc = skip_blank(r)) <= 0)
			return rc == 0 ? YH_ERR_NOT_FOUND : rc;
		memset(&e, 0, sizeof(e));
		for (int f = 0; f < MIG_F_COUNT; f++)
			e.off[f] = -1;
		r->store_len = 0;
		rec->line = e.line = r->line;
		if ((rc = find_entry(r, &end, &next)) == YH_ERR_TOO_LONG) {
			rec->seq = ++r->seq;
			mig_record_error(r, rec->line, err, errsz, "entry longer than %d bytes",
			    MIG_RECORD_MAX);
			return (rc = skip_entry(r)) != 0 ? rc : YH_ERR_TOO_LONG;
		}
		if (rc < 0) {
			mig_record_error(r, r->line, err, errsz, "read error: %s", yh_strerror(rc));
			return rc;
		}
		rc = check_entry(r, l, &e, end, err, errsz);
		lines = count_lf(mig_input_data(r->in), next);
		mig_input_consume(r->in, next);
		r->line += lines;
		/* Only comments, or only the version line: not an entry. */
		if (rc == YH_ERR_NOT_FOUND || (rc == 0 && !e.has_dn))
			continue;
		rec->seq = ++r->seq;
		if (rc != 0)
			return rc;
		rec->line = e.dn_line;
		rec->multivalued = e.multi;
		r->seen |= e.seen;
		for (int f = 0; f < MIG_F_COUNT; f++)
			if (e.off[f] >= 0)
				rec->f[f] = r->store + e.off[f];
		return 0;
	}
}

static void
fmt_close(struct mig_reader *r)
{
	struct ldif *l = r->fmt;

	if (l == NULL)
		return;
	yh_buf_free(&l->entry);
	yh_buf_free(&l->value);
	free(l);
	r->fmt = NULL;
}

int
mig_ldif_open(struct mig_reader *r, char *err, size_t errsz)
{
	struct ldif *l;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(err, errsz, "source \"%s\": out of memory", r->src->name);
		return YH_ERR_ALLOC;
	}
	yh_buf_init(&l->entry, MIG_RECORD_MAX + 2);
	yh_buf_init(&l->value, MIG_FIELD_MAX);
	r->fmt = l;
	r->next = fmt_next;
	r->close = fmt_close;
	return 0;
}
