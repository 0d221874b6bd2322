/* Base64 and strict base64url (RFC 4648 section 5, no padding, no stray characters). */
#ifndef YH_COMMON_B64_H
#define YH_COMMON_B64_H

#include <stddef.h>
#include "common/buf.h"

/* Length of the unpadded base64url encoding of n bytes. */
size_t yh_b64url_len(size_t n);

/* Encodes n bytes as unpadded base64url into out (size >= yh_b64url_len(n)+1), NUL-terminated. */
void yh_b64url_encode(const unsigned char *in, size_t n, char *out);

/* Appends the base64url encoding of n bytes to b. */
int yh_b64url_append(struct yh_buf *b, const unsigned char *in, size_t n) YH_WUR;

/* Decodes strict unpadded base64url: rejects '=', '+', '/', whitespace, a length of
 * 1 mod 4 and non-zero trailing bits. Writes at most outmax bytes; *outlen is set.
 * YH_ERR_INVALID on bad input, YH_ERR_TOO_LONG when out is too small. */
int yh_b64url_decode(const char *in, size_t len, unsigned char *out, size_t outmax,
    size_t *outlen) YH_WUR;

/* Decodes standard base64 (RFC 4648 section 4, padding required). Same contract. */
int yh_b64_decode(const char *in, size_t len, unsigned char *out, size_t outmax,
    size_t *outlen) YH_WUR;

/* Encodes standard padded base64 into out (size >= 4*((n+2)/3)+1). */
void yh_b64_encode(const unsigned char *in, size_t n, char *out);

#endif
