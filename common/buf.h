/*
 * Bounded buffers and span parsing. Every untrusted byte goes through one of these:
 * a yh_buf never grows past its max, and span helpers take explicit limits and
 * reject embedded NULs.
 */
#ifndef YH_COMMON_BUF_H
#define YH_COMMON_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/err.h"

/* A growable byte buffer capped at max bytes; data is always NUL-terminated past len. */
struct yh_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
	bool secret;   /* wipe on every reallocation and on free */
};

/* Initializes an empty buffer that may hold at most max bytes (max > 0). */
void yh_buf_init(struct yh_buf *b, size_t max);

/* Like yh_buf_init, but the buffer holds secrets: memory is wiped when released. */
void yh_buf_init_secret(struct yh_buf *b, size_t max);

/* Makes room for n more bytes at once, so that appending up to n bytes reallocates
 * nothing. YH_ERR_TOO_LONG past max (buffer unchanged), YH_ERR_ALLOC. */
int yh_buf_reserve(struct yh_buf *b, size_t n) YH_WUR;

/* Appends n bytes. YH_ERR_TOO_LONG past max (buffer unchanged), YH_ERR_ALLOC. */
int yh_buf_append(struct yh_buf *b, const void *p, size_t n) YH_WUR;

/* Appends a NUL-terminated string. */
int yh_buf_puts(struct yh_buf *b, const char *s) YH_WUR;

/* Appends one byte. */
int yh_buf_putc(struct yh_buf *b, char c) YH_WUR;

/* Appends formatted text (vsnprintf semantics, bounded by max). */
int yh_buf_printf(struct yh_buf *b, const char *fmt, ...) YH_WUR
	__attribute__((format(printf, 2, 3)));

/* The contents as a C string ("" when empty; never NULL). Owned by the buffer. */
const char *yh_buf_cstr(const struct yh_buf *b);

/* Empties the buffer, keeping its memory (wiped first when secret). */
void yh_buf_reset(struct yh_buf *b);

/* Hands the NUL-terminated contents to the caller (free() it) and resets the buffer.
 * Returns NULL on allocation failure. An empty buffer gives "". */
char *yh_buf_steal(struct yh_buf *b);

/* Releases the memory (wiped first when secret). Safe on a zeroed or freed buffer. */
void yh_buf_free(struct yh_buf *b);

/* A read-only view of bytes owned elsewhere. */
struct yh_span {
	const char *p;
	size_t len;
};

/* A span over a NUL-terminated string (NULL gives an empty span). */
struct yh_span yh_span_cstr(const char *s);

/* A span over n bytes. */
struct yh_span yh_span_mem(const void *p, size_t n);

/* 0 when the span is at most max bytes and has no NUL byte; else YH_ERR_TOO_LONG
 * or YH_ERR_INVALID. */
int yh_span_check(struct yh_span s, size_t max) YH_WUR;

/* True when the span equals the string exactly. */
bool yh_span_eq(struct yh_span s, const char *str);

/* True when the span starts with prefix. */
bool yh_span_startswith(struct yh_span s, const char *prefix);

/* Splits off the bytes before the next delim into tok and advances s past the delim.
 * At the last token, tok gets the rest and s becomes empty with p == NULL.
 * Returns YH_ERR_NOT_FOUND when s was already exhausted (p == NULL). */
int yh_span_split(struct yh_span *s, char delim, struct yh_span *tok) YH_WUR;

/* Removes ASCII whitespace from both ends. */
struct yh_span yh_span_trim(struct yh_span s);

/* Parses an unsigned decimal with no sign, no spaces, no leading '+', at most 19
 * digits, within [min, max]. The replacement for atoi/strtol on untrusted input. */
int yh_span_u64(struct yh_span s, uint64_t min, uint64_t max, uint64_t *out) YH_WUR;

/* yh_span_u64 over a NUL-terminated string. */
int yh_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out) YH_WUR;

/* Parses a signed decimal (optional leading '-') within [min, max]. */
int yh_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out) YH_WUR;

/* Parses a yes/no word: "yes", "true", "on", "1" or "no", "false", "off", "0" (exactly,
 * lower case). Returns 0 with *out set, or YH_ERR_INVALID (*out untouched). */
int yh_parse_bool(const char *s, bool *out) YH_WUR;

/* Copies the span into a new NUL-terminated string if it passes yh_span_check(max).
 * Sets *out (NULL on error). */
int yh_span_strdup(struct yh_span s, size_t max, char **out) YH_WUR;

/* Copies a NUL-terminated string of at most max bytes into dst (dstsz bytes) with a
 * NUL. YH_ERR_TOO_LONG (dst set to "") when it does not fit. The strcpy replacement. */
int yh_strlcpy(char *dst, const char *src, size_t dstsz) YH_WUR;

#endif
