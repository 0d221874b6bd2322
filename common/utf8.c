#include <string.h>

#include "common/utf8.h"

size_t
yh_utf8_next_multi(const unsigned char *p, size_t n, uint32_t *cp)
{
	uint32_t c = p[0], min;
	size_t len;

	if (c >= 0xc2 && c <= 0xdf) {
		len = 2; c &= 0x1f; min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3; c &= 0x0f; min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4; c &= 0x07; min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* The length of the sequence a lead byte starts (0: not a lead byte). */
static size_t
lead_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return 2;
	if (c >= 0xe0 && c <= 0xef)
		return 3;
	if (c >= 0xf0 && c <= 0xf4)
		return 4;
	return 0;
}

bool
yh_utf8_valid(const char *p, size_t n)
{
	uint32_t cp;
	size_t k;

	for (size_t i = 0; i < n; i += k)
		if ((k = yh_utf8_next(p + i, n - i, &cp)) == 0)
			return false;
	return true;
}

bool
yh_utf8_incomplete(const char *p, size_t n)
{
	unsigned char lo[YH_UTF8_MAX], hi[YH_UTF8_MAX];
	size_t len = lead_len((unsigned char)p[0]);
	uint32_t cp;

	if (len <= n)
		return false;
	/* The completions of a prefix span an interval of code points; when any of them is
	 * valid, the lowest (continued with 0x80s) or the highest (0xBFs) is. */
	memset(lo, 0x80, sizeof(lo));
	memset(hi, 0xbf, sizeof(hi));
	memcpy(lo, p, n);
	memcpy(hi, p, n);
	return yh_utf8_next_multi(lo, len, &cp) == len || yh_utf8_next_multi(hi, len, &cp) == len;
}

size_t
yh_utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

size_t
yh_utf8_put(uint32_t cp, unsigned char out[YH_UTF8_MAX])
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xc0 | (cp >> 6));
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xe0 | (cp >> 12));
		out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | (cp >> 18));
	out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}
