/*
 * Strict UTF-8: one decoder and one encoder for every module that walks text code point
 * by code point. Strict means RFC 3629: no overlong forms, no surrogates (U+D800-DFFF),
 * nothing above U+10FFFF, no truncated sequence. No allocation, no locale.
 */
#ifndef YH_COMMON_UTF8_H
#define YH_COMMON_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest UTF-8 sequence, in bytes. */
#define YH_UTF8_MAX 4

/* The slow path of yh_utf8_next, for a lead byte >= 0x80; call yh_utf8_next instead. */
size_t yh_utf8_next_multi(const unsigned char *p, size_t n, uint32_t *cp);

/*
 * Decodes the code point at p (n bytes available, n >= 1). Returns the length of its
 * sequence (1 to 4) and sets *cp, or returns 0 (and leaves *cp alone) when the bytes at
 * p are not a well-formed sequence: a stray continuation byte, an overlong form, a
 * surrogate, a value above U+10FFFF, or a sequence cut short by n. A NUL byte decodes as
 * U+0000 (length 1): callers that must reject it check *cp. Inline for ASCII, which is
 * what hot loops (ID number and phone validation) mostly see.
 */
static inline size_t
yh_utf8_next(const char *p, size_t n, uint32_t *cp)
{
	unsigned char c = (unsigned char)p[0];

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	return yh_utf8_next_multi((const unsigned char *)p, n, cp);
}

/* True when the n bytes at p are well-formed UTF-8 throughout (NUL bytes count as
 * well-formed: callers that refuse them check separately). */
bool yh_utf8_valid(const char *p, size_t n);

/*
 * True when the n bytes at p (n >= 1) are the well-formed start of a sequence that needs
 * more bytes than n: a reader of a stream in chunks keeps them for the next chunk rather
 * than call them invalid. False for a complete sequence and for an invalid one.
 */
bool yh_utf8_incomplete(const char *p, size_t n);

/* The number of code points in the well-formed UTF-8 string s (its bytes that are not
 * continuation bytes). */
size_t yh_utf8_chars(const char *s);

/*
 * Encodes cp (at most U+10FFFF; the caller passes only decoded or checked values) as
 * UTF-8 into out (YH_UTF8_MAX bytes, no NUL added). Returns the number of bytes written.
 */
size_t yh_utf8_put(uint32_t cp, unsigned char out[YH_UTF8_MAX]);

#endif
