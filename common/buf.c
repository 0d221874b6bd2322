#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/secmem.h"

void
yh_buf_init(struct yh_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
yh_buf_init_secret(struct yh_buf *b, size_t max)
{
	yh_buf_init(b, max);
	b->secret = true;
}

/* Makes room for need more bytes plus the terminating NUL. */
static int
reserve(struct yh_buf *b, size_t need)
{
	size_t want, ncap;
	char *n;

	if (need > b->max || b->len > b->max - need)
		return YH_ERR_TOO_LONG;
	want = b->len + need + 1;
	if (want <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 64;
	while (ncap < want)
		ncap = ncap > SIZE_MAX / 2 ? want : ncap * 2;
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	if (b->secret) {
		/* Never let realloc leave a copy of a secret behind. */
		if ((n = malloc(ncap)) == NULL)
			return YH_ERR_ALLOC;
		if (b->data != NULL)
			memcpy(n, b->data, b->len + 1);
		yh_freezero(b->data, b->cap);
	} else if ((n = realloc(b->data, ncap)) == NULL)
		return YH_ERR_ALLOC;
	b->data = n;
	b->cap = ncap;
	return 0;
}

int
yh_buf_reserve(struct yh_buf *b, size_t n)
{
	return reserve(b, n);
}

int
yh_buf_append(struct yh_buf *b, const void *p, size_t n)
{
	int r;

	if ((r = reserve(b, n)) != 0)
		return r;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
yh_buf_puts(struct yh_buf *b, const char *s)
{
	return yh_buf_append(b, s, strlen(s));
}

int
yh_buf_putc(struct yh_buf *b, char c)
{
	return yh_buf_append(b, &c, 1);
}

static int
buf_vprintf(struct yh_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n, r;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return YH_ERR_INVALID;
	if ((r = reserve(b, (size_t)n)) != 0)
		return r;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int
yh_buf_printf(struct yh_buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

const char *
yh_buf_cstr(const struct yh_buf *b)
{
	return b->data != NULL ? b->data : "";
}

void
yh_buf_reset(struct yh_buf *b)
{
	if (b->data != NULL) {
		if (b->secret)
			yh_wipe(b->data, b->cap);
		b->data[0] = '\0';
	}
	b->len = 0;
}

char *
yh_buf_steal(struct yh_buf *b)
{
	char *s = b->data;

	if (s == NULL)
		s = strdup("");
	b->data = NULL;
	b->len = b->cap = 0;
	return s;
}

void
yh_buf_free(struct yh_buf *b)
{
	if (b->secret)
		yh_freezero(b->data, b->cap);
	else
		free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

struct yh_span
yh_span_cstr(const char *s)
{
	struct yh_span sp = { s, s != NULL ? strlen(s) : 0 };

	return sp;
}

struct yh_span
yh_span_mem(const void *p, size_t n)
{
	struct yh_span sp = { p, n };

	return sp;
}

int
yh_span_check(struct yh_span s, size_t max)
{
	if (s.len > max)
		return YH_ERR_TOO_LONG;
	if (s.len > 0 && memchr(s.p, '\0', s.len) != NULL)
		return YH_ERR_INVALID;
	return 0;
}

bool
yh_span_eq(struct yh_span s, const char *str)
{
	size_t n = strlen(str);

	return s.len == n && (n == 0 || memcmp(s.p, str, n) == 0);
}

bool
yh_span_startswith(struct yh_span s, const char *prefix)
{
	size_t n = strlen(prefix);

	return s.len >= n && (n == 0 || memcmp(s.p, prefix, n) == 0);
}

int
yh_span_split(struct yh_span *s, char delim, struct yh_span *tok)
{
	const char *d;

	if (s->p == NULL)
		return YH_ERR_NOT_FOUND;
	d = s->len > 0 ? memchr(s->p, delim, s->len) : NULL;
	if (d == NULL) {
		*tok = *s;
		s->p = NULL;
		s->len = 0;
		return 0;
	}
	tok->p = s->p;
	tok->len = (size_t)(d - s->p);
	s->len -= tok->len + 1;
	s->p = d + 1;
	return 0;
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

struct yh_span
yh_span_trim(struct yh_span s)
{
	while (s.len > 0 && is_space(s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len > 0 && is_space(s.p[s.len - 1]))
		s.len--;
	return s;
}

int
yh_span_u64(struct yh_span s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	*out = 0;
	if (s.len == 0 || s.len > 19)
		return s.len == 0 ? YH_ERR_INVALID : YH_ERR_TOO_LONG;
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return YH_ERR_INVALID;
		v = v * 10 + (uint64_t)(s.p[i] - '0');
	}
	if (v < min || v > max)
		return YH_ERR_INVALID;
	*out = v;
	return 0;
}

int
yh_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	return yh_span_u64(yh_span_cstr(s), min, max, out);
}

int
yh_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	struct yh_span sp = yh_span_cstr(s);
	bool neg = sp.len > 0 && sp.p[0] == '-';
	uint64_t mag;
	int r;

	*out = 0;
	if (neg) {
		sp.p++;
		sp.len--;
	}
	if ((r = yh_span_u64(sp, 0, (uint64_t)INT64_MAX, &mag)) != 0)
		return r;
	if ((neg ? -(int64_t)mag : (int64_t)mag) < min ||
	    (neg ? -(int64_t)mag : (int64_t)mag) > max)
		return YH_ERR_INVALID;
	*out = neg ? -(int64_t)mag : (int64_t)mag;
	return 0;
}

int
yh_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1", NULL };
	static const char *const no[] = { "no", "false", "off", "0", NULL };

	for (int i = 0; s != NULL && yes[i] != NULL; i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return YH_ERR_INVALID;
}

int
yh_span_strdup(struct yh_span s, size_t max, char **out)
{
	char *d;
	int r;

	*out = NULL;
	if ((r = yh_span_check(s, max)) != 0)
		return r;
	if ((d = malloc(s.len + 1)) == NULL)
		return YH_ERR_ALLOC;
	if (s.len > 0)
		memcpy(d, s.p, s.len);
	d[s.len] = '\0';
	*out = d;
	return 0;
}

int
yh_strlcpy(char *dst, const char *src, size_t dstsz)
{
	size_t n = strlen(src);

	if (dstsz == 0)
		return YH_ERR_TOO_LONG;
	if (n >= dstsz) {
		dst[0] = '\0';
		return YH_ERR_TOO_LONG;
	}
	memcpy(dst, src, n + 1);
	return 0;
}
