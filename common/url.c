#include "common/url.h"
#include "common/secmem.h"

static int
unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '.' || c == '_' || c == '~';
}

int
yh_url_pct_encode(struct yh_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int r = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0' && r == 0; p++) {
		if (unreserved(*p)) {
			r = yh_buf_putc(b, (char)*p);
		} else {
			char esc[3] = { '%', hex[*p >> 4], hex[*p & 15] };

			r = yh_buf_append(b, esc, sizeof(esc));
		}
	}
	return r;
}

int
yh_url_pct_decode(struct yh_span s, bool plus, struct yh_buf *b)
{
	size_t i = 0;
	int r;

	while (i < s.len) {
		size_t run = i;
		char c;

		while (run < s.len && s.p[run] != '%' && s.p[run] != '\0' &&
		    !(plus && s.p[run] == '+'))
			run++;
		if (run > i && (r = yh_buf_append(b, s.p + i, run - i)) != 0)
			return r;
		if ((i = run) >= s.len)
			break;
		c = s.p[i];
		if (c == '+') {
			c = ' ';
			i++;
		} else if (c == '%') {
			int hi, lo;

			if (i + 2 >= s.len)
				return YH_ERR_INVALID;
			if ((hi = yh_hex_digit(s.p[i + 1])) < 0 || (lo = yh_hex_digit(s.p[i + 2])) < 0)
				return YH_ERR_INVALID;
			c = (char)(hi * 16 + lo);
			i += 3;
		}
		if (c == '\0')
			return YH_ERR_INVALID;
		if ((r = yh_buf_putc(b, c)) != 0)
			return r;
	}
	return 0;
}
