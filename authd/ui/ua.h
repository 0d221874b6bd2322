/*
 * A short summary of a User-Agent header for the account page (prefix ua_): the
 * browser family and the operating system family ("Chrome", "Windows"), so a person
 * recognises their own devices without reading a raw header. Only the common families
 * are known; anything else is "unknown" (NULL), never a guess. The header is read up
 * to UA_SCAN_MAX bytes.
 */
#ifndef YH_AUTHD_UA_H
#define YH_AUTHD_UA_H

#include <stddef.h>

#define UA_SCAN_MAX 1024        /* bytes of a User-Agent header examined */

struct ua_summary {
	const char *browser;    /* "Chrome", "Safari", "WeChat", ...; NULL: unknown */
	const char *os;         /* "Windows", "iPhone", "Android", ...; NULL: unknown */
};

/* Summarises ua (NULL or "" gives two unknowns). The names are static storage. A
 * summary text written by ua_summary_text reads back as the summary it was made from. */
struct ua_summary ua_summarize(const char *ua);

/*
 * Writes ua's summary as a short text, "BROWSER / OS" with "?" for an unknown family
 * ("Chrome / Android", "? / Linux"), into out (size bytes, cut to fit), for a store that
 * keeps the summary instead of the header. UA_TEXT_MAX bytes always suffice.
 */
#define UA_TEXT_MAX 48
void ua_summary_text(const char *ua, char *out, size_t size);

#endif
