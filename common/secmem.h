/* Secure memory: wiping, constant-time comparison, randomness. */
#ifndef YH_COMMON_SECMEM_H
#define YH_COMMON_SECMEM_H

#include <stdbool.h>
#include <stddef.h>
#include "common/err.h"

/* Overwrites n bytes at p with zeros in a way the compiler cannot elide. NULL is fine. */
void yh_wipe(void *p, size_t n);

/* Wipes n bytes and frees p. NULL is fine. */
void yh_freezero(void *p, size_t n);

/* Wipes a NUL-terminated string and frees it. NULL is fine. */
void yh_strfree_secret(char *s);

/* Compares n bytes in constant time; true when equal. */
bool yh_ct_eq(const void *a, const void *b, size_t n);

/* Compares two strings; time depends only on their lengths, not on contents. */
bool yh_ct_streq(const char *a, const char *b);

/* Fills buf with n bytes from the CSPRNG. Returns 0 or YH_ERR_CRYPTO. */
int yh_random(void *buf, size_t n) YH_WUR;

/* Writes 2n lower-case hex digits and a NUL into out (size >= 2n+1). */
void yh_hex_encode(const unsigned char *in, size_t n, char *out);

/* The value of one hex digit (0-9, a-f, A-F), or -1 for any other character. */
int yh_hex_digit(char c);

/* Decodes exactly 2*outlen hex digits (either case). Returns 0 or YH_ERR_INVALID. */
int yh_hex_decode(const char *hex, size_t hexlen, unsigned char *out, size_t outlen) YH_WUR;

#endif
