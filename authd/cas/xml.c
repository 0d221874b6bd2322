/*
 * The XML of CAS responses: character data escaped, and refused where XML 1.0 has no
 * way to carry it (cas.h).
 */
#include <string.h>

#include "authd/cas/cas.h"
#include "common/utf8.h"

int
cas_xml_text(struct yh_buf *b, const char *s)
{
	size_t n = strlen(s), run = 0;
	int r = 0;

	if (!yh_utf8_valid(s, n))
		return YH_ERR_INVALID;
	for (size_t i = 0; i < n && r == 0; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;

		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
			return YH_ERR_INVALID;
		/* U+FFFE and U+FFFF (EF BF BE/BF) are not XML 1.0 characters either */
		if (c == 0xef && i + 2 < n && (unsigned char)s[i + 1] == 0xbf &&
		    ((unsigned char)s[i + 2] & 0xfe) == 0xbe)
			return YH_ERR_INVALID;
		switch (c) {
		case '&': esc = "&amp;"; break;
		case '<': esc = "&lt;"; break;
		case '>': esc = "&gt;"; break;
		case '"': esc = "&quot;"; break;
		case '\'': esc = "&apos;"; break;
		default: break;
		}
		if (esc == NULL) {
			run++;
			continue;
		}
		if ((r = yh_buf_append(b, s + i - run, run)) == 0)
			r = yh_buf_puts(b, esc);
		run = 0;
	}
	if (r == 0)
		r = yh_buf_append(b, s + n - run, run);
	return r;
}

int
cas_xml_elem(struct yh_buf *b, const char *name, const char *text)
{
	int r;

	if ((r = yh_buf_printf(b, "<cas:%s>", name)) == 0 && (r = cas_xml_text(b, text)) == 0)
		r = yh_buf_printf(b, "</cas:%s>", name);
	return r;
}
