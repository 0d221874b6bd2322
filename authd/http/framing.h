/*
 * The framing check of a request head (RFC 9112 section 6), as a pure decision over its
 * header fields and HTTP version: no libmicrohttpd in here, so that it can be tested
 * and fuzzed on its own. Used by authd/http/server.c on the first call of the access handler,
 * before any of the body is read.
 *
 * libmicrohttpd 0.9.75 frames a request by its first Transfer-Encoding header (chunked
 * only when the value is "chunked" in any case, else "read until the client closes"),
 * or else by its first Content-Length, and it accepts field names with whitespace
 * before the colon and obs-fold continuation lines. A proxy in front of authd that
 * frames the same bytes differently would let a second request ride inside the first
 * one's body. So a request is refused (400; 501 for a transfer coding authd does not
 * implement) when a field name is not a token, a field was folded, a value holds a CR,
 * LF or NUL byte, there are two Content-Length fields, both Content-Length and
 * Transfer-Encoding, two Transfer-Encoding fields, Transfer-Encoding before HTTP/1.1, a
 * final transfer coding other than chunked, or anything but the single coding chunked
 * with nothing around it.
 */
#ifndef YH_AUTHD_HTTP_FRAMING_H
#define YH_AUTHD_HTTP_FRAMING_H

#include <stdbool.h>
#include <stddef.h>

/* One header field as received. */
struct http_field {
	const char *name;
	size_t name_len;
	const char *value;        /* NULL counts as folded */
	size_t value_len;
	bool folded;              /* the field was continued on the next line (obs-fold) */
};

/* The framing facts gathered from the fields seen so far. */
struct http_framing {
	unsigned n_length;        /* Content-Length fields */
	unsigned n_coding;        /* Transfer-Encoding fields */
	const char *coding;       /* the first Transfer-Encoding value (borrowed) */
	size_t coding_len;
	const char *bad;          /* why a field is malformed, or NULL */
};

/* Starts a scan of a request head's fields. */
void http_framing_init(struct http_framing *fr);

/*
 * Adds one field to the scan. Returns false when the field is malformed (fr->bad says
 * why): the request is refused whatever follows, so the caller may stop there.
 */
bool http_framing_field(struct http_framing *fr, const struct http_field *f);

/*
 * The decision once every field was added: 0 when the body length is unambiguous, else
 * the status to answer (400, or 501 for a transfer coding other than chunked) with *why
 * (a static string) saying what was wrong. version is the request line's ("HTTP/1.1");
 * NULL counts as older.
 */
unsigned http_framing_result(const struct http_framing *fr, const char *version,
    const char **why);

/* http_framing_init, http_framing_field over the n fields (until one is malformed),
 * then http_framing_result. */
unsigned http_framing_check(const struct http_field *fields, size_t n, const char *version,
    const char **why);

#endif
