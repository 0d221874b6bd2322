/*
 * libFuzzer target for the framing check of a request head (authd/http/framing.c:
 * http_framing_check, the decision authd/http/server.c applies to every request before its
 * body is read: Content-Length and Transfer-Encoding rules, field names, obs-fold).
 *
 * Input: byte 0 picks the request line's version (HTTP/1.1, HTTP/1.0, none, HTTP/1.1
 * followed by a space, HTTP/2); the rest is the header fields, one per line ('\n'), each
 * NAME ':' VALUE split at the first colon (a line without one is a name with an empty
 * value). A line starting with byte 0x01 is a field continued from the line before
 * (obs-fold: libmicrohttpd reports such a field as folded); CR and NUL bytes stay in the
 * names and values.
 *
 * Invariants checked against a model written here from RFC 9112 section 6, beyond "no
 * crash": the answer is 0, 400 or 501, with a reason exactly when it is not 0; a request
 * is never accepted when it has both Content-Length and Transfer-Encoding, two
 * Content-Length fields, two Transfer-Encoding fields, Transfer-Encoding before
 * HTTP/1.1, a Transfer-Encoding whose final coding is not chunked (or which is anything
 * but the single word chunked), a field name that is not a token, a folded field, or a
 * CR, LF or NUL byte in a value; 501 is only for HTTP/1.1 and a list ending in chunked;
 * and a request that has none of these is accepted.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz_util.h"

#include "authd/http/framing.h"

#define FIELDS_MAX 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const versions[] = { "HTTP/1.1", "HTTP/1.0", NULL, "HTTP/1.1 ", "HTTP/2" };

/* ---- the model ---------------------------------------------------------------------------- */

static bool
tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool
named(const struct http_field *f, const char *name)
{
	return f->name_len == strlen(name) && strncasecmp(f->name, name, f->name_len) == 0;
}

static bool
ows(char c)
{
	return c == ' ' || c == '\t';
}

/* The last coding of a Transfer-Encoding list, without optional white space. */
static bool
last_is_chunked(const char *v, size_t n)
{
	size_t i = n, e = n;

	while (i > 0 && v[i - 1] != ',')
		i--;
	while (i < e && ows(v[i]))
		i++;
	while (e > i && ows(v[e - 1]))
		e--;
	return e - i == 7 && strncasecmp(v + i, "chunked", 7) == 0;
}

struct model {
	bool malformed;          /* a bad name, a folded field, CR/LF/NUL in a value */
	unsigned cl, te;
	const struct http_field *first_te;
};

static void
model_of(const struct http_field *f, size_t n, struct model *m)
{
	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < n; i++) {
		bool name_ok = f[i].name_len > 0;

		for (size_t k = 0; k < f[i].name_len; k++)
			name_ok = name_ok && tchar((unsigned char)f[i].name[k]);
		if (!name_ok || f[i].folded || memchr(f[i].value, '\r', f[i].value_len) ||
		    memchr(f[i].value, '\n', f[i].value_len) ||
		    memchr(f[i].value, '\0', f[i].value_len)) {
			m->malformed = true;
			return;        /* what follows a malformed field does not matter */
		}
		if (named(&f[i], "content-length"))
			m->cl++;
		if (named(&f[i], "transfer-encoding") && m->te++ == 0)
			m->first_te = &f[i];
	}
}

/* ---- input -------------------------------------------------------------------------------- */

static size_t
fields_of(const char *p, size_t size, struct http_field *f)
{
	size_t n = 0;
	const char *end = p + size;

	while (p < end && n < FIELDS_MAX) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl != NULL ? nl : end, *colon;
		bool folded = *p == '\x01';

		if (folded)
			p++;
		colon = memchr(p, ':', (size_t)(le - p));
		f[n].name = p;
		f[n].name_len = colon != NULL ? (size_t)(colon - p) : (size_t)(le - p);
		f[n].value = colon != NULL ? colon + 1 : le;
		f[n].value_len = colon != NULL ? (size_t)(le - colon - 1) : 0;
		f[n].folded = folded;
		n++;
		p = nl != NULL ? nl + 1 : end;
	}
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http_field f[FIELDS_MAX];
	const char *version, *why = NULL;
	struct model m;
	unsigned st;
	size_t n;
	char *text;

	if (size < 1)
		return 0;
	version = versions[data[0] % (sizeof(versions) / sizeof(versions[0]))];
	/* A copy of exactly the input's bytes, so that a read past a field is caught. */
	CHECK((text = malloc(size > 1 ? size - 1 : 1)) != NULL);
	memcpy(text, data + 1, size - 1);
	n = fields_of(text, size - 1, f);
	st = http_framing_check(f, n, version, &why);
	model_of(f, n, &m);
	CHECK(st == 0 || st == 400 || st == 501);
	CHECK((st == 0) == (why == NULL));
	if (m.malformed)
		CHECK(st == 400);
	else if (m.cl > 1 || (m.cl > 0 && m.te > 0) || m.te > 1)
		CHECK(st == 400);
	else if (m.te == 1) {
		bool v11 = version != NULL && strcmp(version, "HTTP/1.1") == 0;
		const struct http_field *te = m.first_te;
		bool exact = te->value_len == 7 && strncasecmp(te->value, "chunked", 7) == 0;

		/* never accepted but as the single word chunked in HTTP/1.1; 501 (a coding
		 * authd lacks) only where a list ends in chunked (whitespace other than SP and
		 * HTAB may still trim there: the request is refused either way) */
		if (!v11 || !last_is_chunked(te->value, te->value_len))
			CHECK(st == 400 || (st == 501 && v11));
		else if (exact)
			CHECK(st == 0);
		else
			CHECK(st == 400 || st == 501);
	} else
		CHECK(st == 0);
	free(text);
	return 0;
}
