/*
 * The LDIF reader (RFC 2849 content records): entries separated by blank lines, each
 * starting with "dn:", lines "attr: value" or "attr:: base64", a line starting with one
 * space continuing the one before, "#" comments, an optional "version: 1" first.
 * Attribute names match the sources file without regard to case ("dn" may be mapped
 * too; an attribute with options such as "cn;lang-zh" matches only a column written
 * with the same options); of a multi-valued attribute the first value is taken and the field's bit set in
 * rec->multivalued. Base64 values are bytes in the source's declared encoding and are
 * converted like the rest. Values given by URL ("attr:< file:...") and change records
 * are record-level errors.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/b64.h"
#include "common/buf.h"
#include "migration-tools/idmerge/input/format.h"

#define ATTR_MAX 256

struct ldif {
	struct yh_buf logical;   /* the unfolded line being parsed */
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

static bool
attr_name_ok(const char *p, size_t n)
{
	if (n == 0 || n > ATTR_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)p[i]) && p[i] != '-' && p[i] != ';' && p[i] != '.')
			return false;
	return true;
}

static bool
attr_is(const char *p, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(p, name, n) == 0;
}

/* Decodes a base64 value and converts it to UTF-8 in l->value. */
static int
base64_value(struct mig_reader *r, struct ldif *l, const char *p, size_t n, char *err,
    size_t errsz, struct entry *e)
{
	unsigned char *raw;
	size_t rawlen;
	int rc;

	while (n > 0 && p[n - 1] == ' ')
		n--;
	yh_buf_reset(&l->value);
	if ((raw = malloc(n / 4 * 3 + 3)) == NULL)
		return YH_ERR_ALLOC;
	if (yh_b64_decode(p, n, raw, n / 4 * 3 + 3, &rawlen) != 0) {
		mig_record_error(r, e->line, err, errsz, "malformed base64 value");
		rc = YH_ERR_INVALID;
	} else if ((rc = mig_input_convert(r->in, (const char *)raw, rawlen, &l->value)) != 0) {
		if (rc == YH_ERR_TOO_LONG)
			mig_record_error(r, e->line, err, errsz, "value longer than %d bytes",
			    MIG_FIELD_MAX);
		else
			mig_record_error(r, e->line, err, errsz, "base64 value is not valid %s "
			    "text", r->src->encoding);
	}
	free(raw);
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

/* Handles one unfolded line "attr: value", "attr:: base64" or "attr:< url". */
static int
attr_line(struct mig_reader *r, struct ldif *l, struct entry *e, char *err, size_t errsz)
{
	const char *p = l->logical.data, *colon, *v;
	size_t n = l->logical.len, alen, vlen;
	int rc;

	if (n > 0 && p[0] == '#')
		return 0;
	if ((colon = memchr(p, ':', n)) == NULL || !attr_name_ok(p, (size_t)(colon - p))) {
		mig_record_error(r, e->line, err, errsz, colon == NULL ? "line without ':'" :
		    "malformed attribute name");
		return YH_ERR_INVALID;
	}
	alen = (size_t)(colon - p);
	v = colon + 1;
	vlen = n - alen - 1;
	if (!l->seen_first && attr_is(p, alen, "version")) {
		l->seen_first = true;
		while (vlen > 0 && *v == ' ')
			v++, vlen--;
		if (vlen == 1 && v[0] == '1')
			return 0;
		mig_record_error(r, e->line, err, errsz, "unsupported LDIF version");
		return YH_ERR_UNSUPPORTED;
	}
	l->seen_first = true;
	if (!e->has_dn) {
		if (!attr_is(p, alen, "dn")) {
			mig_record_error(r, e->line, err, errsz, "entry does not start with dn:");
			return YH_ERR_INVALID;
		}
		e->has_dn = true;
		e->dn_line = e->line;
	} else if (attr_is(p, alen, "changetype") || attr_is(p, alen, "control")) {
		mig_record_error(r, e->line, err, errsz, "LDIF change records are not supported");
		return YH_ERR_UNSUPPORTED;
	}
	if (vlen > 0 && *v == '<') {
		mig_record_error(r, e->line, err, errsz, "value of %.*s given by URL is not "
		    "supported", (int)alen, p);
		return YH_ERR_UNSUPPORTED;
	}
	if (vlen > 0 && *v == ':') {
		for (v++, vlen--; vlen > 0 && *v == ' '; v++, vlen--)
			;
		if ((rc = base64_value(r, l, v, vlen, err, errsz, e)) != 0)
			return rc;
		v = l->value.data != NULL ? l->value.data : "";
		vlen = l->value.len;
	} else {
		while (vlen > 0 && *v == ' ')
			v++, vlen--;
	}
	return store_value(r, e, p, alen, v, vlen, err, errsz);
}

/* Parses the entry in the window's first n bytes. */
static int
parse_entry(struct mig_reader *r, struct ldif *l, struct entry *e, size_t n, char *err,
    size_t errsz)
{
	const char *d = mig_input_data(r->in), *lf, *line;
	size_t pos = 0, len;
	int rc;

	yh_buf_reset(&l->logical);
	for (uint64_t phys = r->line; pos < n; phys++) {
		line = d + pos;
		lf = memchr(line, '\n', n - pos);
		len = lf != NULL ? (size_t)(lf - line) : n - pos;
		pos += len + 1;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len > 0 && line[0] == ' ') {
			if (phys == r->line) {
				e->line = phys;
				mig_record_error(r, phys, err, errsz, "continuation line without a "
				    "line before it");
				return YH_ERR_INVALID;
			}
			if (yh_buf_append(&l->logical, line + 1, len - 1) != 0)
				goto too_long;
			continue;
		}
		if (phys > r->line && (rc = attr_line(r, l, e, err, errsz)) != 0)
			return rc;
		yh_buf_reset(&l->logical);
		e->line = phys;
		if (yh_buf_append(&l->logical, line, len) != 0)
			goto too_long;
	}
	return attr_line(r, l, e, err, errsz);
too_long:
	mig_record_error(r, e->line, err, errsz, "entry too large");
	return YH_ERR_TOO_LONG;
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
ldif_entry(struct mig_reader *r, struct ldif *l, struct entry *e, size_t end, char *err,
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
ldif_next(struct mig_reader *r, struct mig_record *rec, char *err, size_t errsz)
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
		rc = ldif_entry(r, l, &e, end, err, errsz);
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
ldif_close(struct mig_reader *r)
{
	struct ldif *l = r->fmt;

	if (l == NULL)
		return;
	yh_buf_free(&l->logical);
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
	yh_buf_init(&l->logical, MIG_RECORD_MAX);
	yh_buf_init(&l->value, MIG_FIELD_MAX);
	r->fmt = l;
	r->next = ldif_next;
	r->close = ldif_close;
	return 0;
}
