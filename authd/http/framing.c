/* The framing check of a request head (see authd/http/framing.h). */
#include <string.h>
#include <strings.h>

#include "authd/http/framing.h"
#include "common/buf.h"

/* RFC 9110 tchar: the bytes a field name may consist of. */
static bool
is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool
is_token(const char *s, size_t n)
{
	if (s == NULL || n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_tchar((unsigned char)s[i]))
			return false;
	return true;
}

/* True when the field's name is name (compared without regard to case). */
static bool
name_is(const struct http_field *f, const char *name)
{
	size_t n = strlen(name);

	return f->name_len == n && strncasecmp(f->name, name, n) == 0;
}

void
http_framing_init(struct http_framing *fr)
{
	memset(fr, 0, sizeof(*fr));
}

bool
http_framing_field(struct http_framing *fr, const struct http_field *f)
{
	if (fr->bad != NULL)
		return false;
	if (!is_token(f->name, f->name_len)) {
		/* "Transfer-Encoding : chunked" arrives as the name "Transfer-Encoding " */
		fr->bad = "a header field name that is not a token (whitespace before the colon?)";
		return false;
	}
	if (f->value == NULL || f->folded) {
		fr->bad = "a header field continued on the next line (obs-fold)";
		return false;
	}
	if (memchr(f->value, '\r', f->value_len) != NULL ||
	    memchr(f->value, '\n', f->value_len) != NULL ||
	    memchr(f->value, '\0', f->value_len) != NULL) {
		fr->bad = "a CR, LF or NUL byte in a header field value";
		return false;
	}
	if (name_is(f, "Content-Length"))
		fr->n_length++;
	else if (name_is(f, "Transfer-Encoding") && fr->n_coding++ == 0) {
		fr->coding = f->value;
		fr->coding_len = f->value_len;
	}
	return true;
}

/* True when the last transfer coding of the list is chunked. */
static bool
chunked_is_last(struct yh_span list)
{
	struct yh_span last;
	size_t i = list.len;

	while (i > 0 && list.p[i - 1] != ',')
		i--;
	last = yh_span_trim(yh_span_mem(list.p + i, list.len - i));
	return last.len == 7 && strncasecmp(last.p, "chunked", 7) == 0;
}

unsigned
http_framing_result(const struct http_framing *fr, const char *version, const char **why)
{
	struct yh_span coding;

	if ((*why = fr->bad) != NULL)
		return 400;
	if (fr->n_length > 1) {
		*why = "more than one Content-Length field";
		return 400;
	}
	if (fr->n_coding == 0)
		return 0;
	coding = yh_span_trim(yh_span_mem(fr->coding, fr->coding_len));
	if (fr->n_length > 0)
		*why = "both Content-Length and Transfer-Encoding";
	else if (fr->n_coding > 1)
		*why = "more than one Transfer-Encoding field";
	else if (version == NULL || strcmp(version, "HTTP/1.1") != 0)
		*why = "Transfer-Encoding in a request older than HTTP/1.1";
	else if (!chunked_is_last(coding))
		*why = "a Transfer-Encoding whose final coding is not chunked";
	else if (coding.len != 7) {
		*why = "a transfer coding other than chunked (only chunked is implemented)";
		return 501;
	} else if (fr->coding_len != 7)
		/* libmicrohttpd keeps trailing whitespace and then would not decode it */
		*why = "whitespace after Transfer-Encoding: chunked";
	else
		return 0;
	return 400;
}

unsigned
http_framing_check(const struct http_field *fields, size_t n, const char *version,
    const char **why)
{
	struct http_framing fr;

	http_framing_init(&fr);
	for (size_t i = 0; i < n && http_framing_field(&fr, &fields[i]); i++)
		;
	return http_framing_result(&fr, version, why);
}
