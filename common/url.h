/*
 * Percent-encoding for the URLs the tree builds, and decoding of what requests send
 * (prefix yh_url_).
 */
#ifndef YH_COMMON_URL_H
#define YH_COMMON_URL_H

#include <stdbool.h>

#include "common/buf.h"
#include "common/err.h"

/*
 * Appends s to b percent-encoded: the RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~)
 * as they are, every other byte (UTF-8 bytes included) as %XX in upper case, a space as
 * %20 (never '+'). The result is safe as a path segment, a query name or value, and a
 * form value alike, which is what every caller needs. Returns 0 or YH_ERR_TOO_LONG (b's
 * cap reached; b then holds part of it).
 */
int yh_url_pct_encode(struct yh_buf *b, const char *s) YH_WUR;

/*
 * Appends s decoded to b: %XX a byte, with plus a '+' a space (a form component). Runs
 * of bytes that stand for themselves are appended whole (a token or an assertion is
 * hundreds of them: one append, not one per byte). Returns 0, YH_ERR_INVALID (a '%'
 * without two hex digits after it, or a NUL byte, encoded or not: a C string would be
 * cut short) or YH_ERR_TOO_LONG (b's cap reached).
 */
int yh_url_pct_decode(struct yh_span s, bool plus, struct yh_buf *b) YH_WUR;

#endif
