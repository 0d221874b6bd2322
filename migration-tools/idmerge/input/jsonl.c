/*
 * The JSON-lines reader: one JSON object per line (RFC 8259 grammar, checked strictly
 * by a small parser here rather than jansson: it builds no tree, and it keeps numbers
 * as written). A mapped key holding a string gives the unescaped text; a number its
 * text exactly as written, so an ID number exported as a number keeps every digit and
 * 1.1e17 stays "1.1e17" for the cleanser to reject as scientific notation; true and
 * false their names; null or a missing key leaves the field NULL. A mapped key given
 * twice or holding an object or array is a record-level error; unmapped members are
 * checked and skipped. Blank lines are skipped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/secmem.h"
#include "common/utf8.h"
#include "migration-tools/idmerge/input/format.h"

/* Finds the end of the line at the start of the window, within the record cap.
 * Returns 1 with *len (without the LF) and *next (with it), 0 at the end of the file,
 * YH_ERR_TOO_LONG when the line is over the cap, or a stream error. */
static int
find_line(struct mig_reader *r, size_t *len, size_t *next)
{
	const char *d, *lf;
	size_t scanned = 0, avail;
	int rc;

	for (;;) {
		d = mig_input_data(r->in);
		avail = mig_input_avail(r->in);
		if ((lf = memchr(d + scanned, '\n', avail - scanned)) != NULL) {
			*len = (size_t)(lf - d);
			*next = *len + 1;
			return *len > MIG_RECORD_MAX ? YH_ERR_TOO_LONG : 1;
		}
		scanned = avail;
		if (avail > MIG_RECORD_MAX)
			return YH_ERR_TOO_LONG;
		if ((rc = mig_input_more(r->in)) == YH_ERR_NOT_FOUND) {
			*len = *next = mig_input_avail(r->in);
			return *len > 0 ? 1 : 0;
		}
		if (rc != 0)
			return rc;
	}
}

static bool
blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return false;
	return true;
}

/* ---- a strict parser for one flat JSON object per line (RFC 8259 grammar) ---- */

#define JS_DEPTH_MAX 32
#define JS_KEY_MAX 256

enum js_type { JS_STRING, JS_SCALAR, JS_NULL, JS_NESTED };

struct js {
	const char *p;
	const char *end;
	const char *start;
	const char *why;          /* what went wrong, for the message */
};

static int
js_fail(struct js *j, const char *why)
{
	if (j->why == NULL)
		j->why = why;
	return YH_ERR_INVALID;
}

static void
js_ws(struct js *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r' || *j->p == '\n'))
		j->p++;
}

/* Appends one byte to out when capturing; *len counts even past cap (then truncated). */
static void
put(char *out, size_t cap, size_t *len, char c)
{
	if (out != NULL && *len < cap)
		out[*len] = c;
	(*len)++;
}

static int
hex4(struct js *j, unsigned *v)
{
	*v = 0;
	if (j->end - j->p < 4)
		return js_fail(j, "short \\u escape");
	for (int i = 0; i < 4; i++) {
		int d = yh_hex_digit(*j->p++);

		if (d < 0)
			return js_fail(j, "bad \\u escape");
		*v = *v << 4 | (unsigned)d;
	}
	return 0;
}

static void
put_utf8(char *out, size_t cap, size_t *len, unsigned cp)
{
	unsigned char b[YH_UTF8_MAX];
	size_t n = yh_utf8_put(cp, b);

	for (size_t i = 0; i < n; i++)
		put(out, cap, len, (char)b[i]);
}

static int
js_escape(struct js *j, char *out, size_t cap, size_t *len)
{
	unsigned cp, lo;
	char c;

	if (j->p >= j->end)
		return js_fail(j, "unterminated string");
	switch ((c = *j->p++)) {
	case '"': case '\\': case '/':
		put(out, cap, len, c);
		return 0;
	case 'b': put(out, cap, len, '\b'); return 0;
	case 'f': put(out, cap, len, '\f'); return 0;
	case 'n': put(out, cap, len, '\n'); return 0;
	case 'r': put(out, cap, len, '\r'); return 0;
	case 't': put(out, cap, len, '\t'); return 0;
	case 'u':
		break;
	default:
		return js_fail(j, "bad escape");
	}
	if (hex4(j, &cp) != 0)
		return YH_ERR_INVALID;
	if (cp >= 0xDC00 && cp <= 0xDFFF)
		return js_fail(j, "lone surrogate");
	if (cp >= 0xD800 && cp <= 0xDBFF) {
		if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u')
			return js_fail(j, "lone surrogate");
		j->p += 2;
		if (hex4(j, &lo) != 0)
			return YH_ERR_INVALID;
		if (lo < 0xDC00 || lo > 0xDFFF)
			return js_fail(j, "lone surrogate");
		cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
	}
	if (cp == 0)
		return js_fail(j, "NUL character in string");
	put_utf8(out, cap, len, cp);
	return 0;
}

/* A string at j->p ('"'); decoded into out (when not NULL) up to cap bytes; *len is
 * the full decoded length. The line is valid UTF-8 already. */
static int
js_string(struct js *j, char *out, size_t cap, size_t *len)
{
	const char *q;

	*len = 0;
	j->p++;
	for (;;) {
		q = j->p;
		while (q < j->end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20)
			q++;
		if (out != NULL && *len < cap)
			memcpy(out + *len, j->p, (size_t)(q - j->p) < cap - *len ?
			    (size_t)(q - j->p) : cap - *len);
		*len += (size_t)(q - j->p);
		j->p = q;
		if (q >= j->end)
			return js_fail(j, "unterminated string");
		if (*q == '"') {
			j->p++;
			return 0;
		}
		if (*q != '\\')
			return js_fail(j, "control character in string");
		j->p++;
		if (js_escape(j, out, cap, len) != 0)
			return YH_ERR_INVALID;
	}
}

static bool
digit(const struct js *j)
{
	return j->p < j->end && *j->p >= '0' && *j->p <= '9';
}

/* A number: its text is kept exactly as written (an 18-digit ID number or 1.1e17). */
static int
js_number(struct js *j)
{
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (!digit(j))
		return js_fail(j, "bad number");
	if (*j->p++ != '0')
		while (digit(j))
			j->p++;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (!digit(j))
			return js_fail(j, "bad number");
		while (digit(j))
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (!digit(j))
			return js_fail(j, "bad number");
		while (digit(j))
			j->p++;
	}
	return 0;
}

static int
js_word(struct js *j, const char *w, size_t n)
{
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0)
		return js_fail(j, "unexpected character");
	j->p += n;
	return 0;
}

static int js_value(struct js *j, int depth, char *out, size_t cap, size_t *len,
    enum js_type *type);

/* An object or array at j->p, checked and skipped. */
static int
js_nested(struct js *j, int depth)
{
	char close = *j->p == '{' ? '}' : ']';
	bool obj = close == '}';
	enum js_type t;
	size_t len;

	if (depth >= JS_DEPTH_MAX)
		return js_fail(j, "nested too deep");
	j->p++;
	js_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		return 0;
	}
	for (;;) {
		if (obj) {
			if (j->p >= j->end || *j->p != '"')
				return js_fail(j, "expected a key");
			if (js_string(j, NULL, 0, &len) != 0)
				return YH_ERR_INVALID;
			js_ws(j);
			if (j->p >= j->end || *j->p++ != ':')
				return js_fail(j, "expected ':'");
			js_ws(j);
		}
		if (js_value(j, depth + 1, NULL, 0, &len, &t) != 0)
			return YH_ERR_INVALID;
		js_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			js_ws(j);
			continue;
		}
		if (j->p < j->end && *j->p == close) {
			j->p++;
			return 0;
		}
		return js_fail(j, "expected ',' or the end of the object or array");
	}
}

/* One value at j->p. A string is decoded into out (when not NULL); numbers, true and
 * false are copied as written; nested values are checked and skipped. */
static int
js_value(struct js *j, int depth, char *out, size_t cap, size_t *len, enum js_type *type)
{
	const char *from = j->p;
	int rc;

	*len = 0;
	*type = JS_SCALAR;
	if (j->p >= j->end)
		return js_fail(j, "expected a value");
	switch (*j->p) {
	case '"':
		*type = JS_STRING;
		return js_string(j, out, cap, len);
	case '{': case '[':
		*type = JS_NESTED;
		return js_nested(j, depth);
	case 't':
		rc = js_word(j, "true", 4);
		break;
	case 'f':
		rc = js_word(j, "false", 5);
		break;
	case 'n':
		*type = JS_NULL;
		return js_word(j, "null", 4);
	default:
		if (*j->p != '-' && (*j->p < '0' || *j->p > '9'))
			return js_fail(j, "expected a value");
		rc = js_number(j);
		break;
	}
	*len = (size_t)(j->p - from);
	if (rc == 0 && out != NULL)
		memcpy(out, from, *len < cap ? *len : cap);
	return rc;
}

/* The fields mapped to a key (bit per field). */
static uint32_t
key_fields(const struct mig_source *src, const char *key, size_t len)
{
	uint32_t m = 0;

	for (int f = 0; f < MIG_F_COUNT; f++)
		if (src->columns[f] != NULL && strlen(src->columns[f]) == len &&
		    memcmp(src->columns[f], key, len) == 0)
			m |= 1u << f;
	return m;
}

/* Parses one member's value into the store for the fields in mask. */
static int
member_value(struct mig_reader *r, struct js *j, uint32_t mask, long *off, char *err,
    size_t errsz, const struct mig_record *rec)
{
	size_t cap = r->store_cap - r->store_len - 1, len;
	char *out = r->store + r->store_len;
	enum js_type t;
	int f;

	if (js_value(j, 0, out, cap, &len, &t) != 0)
		return YH_ERR_INVALID;
	for (f = 0; !(mask & (1u << f)); f++)
		;
	if (t == JS_NESTED) {
		mig_record_error(r, rec->line, err, errsz, "key \"%s\" (field %s) holds an "
		    "object or array", r->src->columns[f], mig_field_name(f));
		return YH_ERR_INVALID;
	}
	if (t == JS_NULL)
		return 0;
	if (len > MIG_FIELD_MAX || len > cap) {
		mig_record_error(r, rec->line, err, errsz, "key \"%s\" is longer than %d bytes",
		    r->src->columns[f], MIG_FIELD_MAX);
		return YH_ERR_TOO_LONG;
	}
	out[len] = '\0';
	for (f = 0; f < MIG_F_COUNT; f++)
		if (mask & (1u << f))
			off[f] = (long)r->store_len;
	r->store_len += len + 1;
	return 0;
}

/* Parses the object's members, filling off[] for mapped keys and *seenp with the fields
 * whose key is present (even when null). */
static int
parse_members(struct mig_reader *r, struct js *j, long *off, uint32_t *seenp, char *err,
    size_t errsz, const struct mig_record *rec)
{
	char key[JS_KEY_MAX];
	uint32_t seen = 0, mask;
	size_t klen;
	enum js_type t;
	int rc;

	for (;;) {
		if (j->p >= j->end || *j->p != '"')
			return js_fail(j, "expected a key");
		if (js_string(j, key, sizeof(key), &klen) != 0)
			return YH_ERR_INVALID;
		mask = klen <= sizeof(key) ? key_fields(r->src, key, klen) : 0;
		js_ws(j);
		if (j->p >= j->end || *j->p++ != ':')
			return js_fail(j, "expected ':'");
		js_ws(j);
		if (mask & seen) {
			mig_record_error(r, rec->line, err, errsz, "duplicate key \"%.*s\"",
			    (int)klen, key);
			return YH_ERR_INVALID;
		}
		seen |= mask;
		if (mask != 0)
			rc = member_value(r, j, mask, off, err, errsz, rec);
		else
			rc = js_value(j, 0, NULL, 0, &klen, &t);
		if (rc != 0)
			return rc;
		js_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			js_ws(j);
			continue;
		}
		if (j->p < j->end && *j->p == '}') {
			j->p++;
			*seenp = seen;
			return 0;
		}
		return js_fail(j, "expected ',' or '}'");
	}
}

static int
parse_line(struct mig_reader *r, const char *p, size_t n, struct mig_record *rec,
    char *err, size_t errsz)
{
	struct js j = { .p = p, .end = p + n, .start = p };
	long off[MIG_F_COUNT];
	uint32_t seen = 0;
	size_t bad;
	int rc = 0;

	if (mig_has_bad_byte(p, n, &bad)) {
		mig_record_error(r, rec->line, err, errsz, p[bad] == '\0' ? "NUL byte" :
		    "invalid %s byte sequence", r->src->encoding);
		return YH_ERR_INVALID;
	}
	for (int f = 0; f < MIG_F_COUNT; f++)
		off[f] = -1;
	js_ws(&j);
	if (j.p >= j.end || *j.p != '{') {
		mig_record_error(r, rec->line, err, errsz, "not a JSON object");
		return YH_ERR_INVALID;
	}
	j.p++;
	js_ws(&j);
	if (j.p < j.end && *j.p == '}')
		j.p++;
	else
		rc = parse_members(r, &j, off, &seen, err, errsz, rec);
	if (rc == 0) {
		js_ws(&j);
		if (j.p != j.end)
			rc = js_fail(&j, "text after the object");
	}
	if (rc == YH_ERR_INVALID && j.why != NULL)
		mig_record_error(r, rec->line, err, errsz, "malformed JSON (%s) at column %zu",
		    j.why, (size_t)(j.p - j.start) + 1);
	if (rc != 0)
		return rc;
	r->seen |= seen;
	for (int f = 0; f < MIG_F_COUNT; f++)
		if (off[f] >= 0)
			rec->f[f] = r->store + off[f];
	return 0;
}

static int
jsonl_next(struct mig_reader *r, struct mig_record *rec, char *err, size_t errsz)
{
	size_t len = 0, next = 0;
	bool was_blank;
	int rc;

	for (;;) {
		rc = find_line(r, &len, &next);
		if (rc == 0)
			return YH_ERR_NOT_FOUND;
		if (rc == YH_ERR_TOO_LONG) {
			rec->seq = ++r->seq;
			rec->line = r->line;
			mig_record_error(r, r->line, err, errsz, "line longer than %d bytes",
			    MIG_RECORD_MAX);
			if ((rc = mig_skip_line(r, &was_blank)) < 0)
				return rc;
			return YH_ERR_TOO_LONG;
		}
		if (rc < 0) {
			mig_record_error(r, r->line, err, errsz, "read error: %s", yh_strerror(rc));
			return rc;
		}
		if (!blank(mig_input_data(r->in), len))
			break;
		mig_input_consume(r->in, next);
		r->line++;
	}
	rec->seq = ++r->seq;
	rec->line = r->line;
	rc = parse_line(r, mig_input_data(r->in), len, rec, err, errsz);
	mig_input_consume(r->in, next);
	r->line++;
	return rc;
}

int
mig_jsonl_open(struct mig_reader *r, char *err, size_t errsz)
{
	(void)err;
	(void)errsz;
	r->next = jsonl_next;
	r->close = NULL;
	return 0;
}
