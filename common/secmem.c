#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/secmem.h"

void
yh_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

void
yh_freezero(void *p, size_t n)
{
	if (p == NULL)
		return;
	yh_wipe(p, n);
	free(p);
}

void
yh_strfree_secret(char *s)
{
	if (s == NULL)
		return;
	yh_freezero(s, strlen(s));
}

bool
yh_ct_eq(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

bool
yh_ct_streq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la != lb) {
		/* Compare a with itself so the time still depends on a's length only. */
		(void)CRYPTO_memcmp(a, a, la);
		return false;
	}
	return CRYPTO_memcmp(a, b, la) == 0;
}

int
yh_random(void *buf, size_t n)
{
	if (n > (size_t)0x7fffffff)
		return YH_ERR_TOO_LONG;
	return RAND_bytes(buf, (int)n) == 1 ? 0 : YH_ERR_CRYPTO;
}

void
yh_hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int
yh_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
yh_hex_decode(const char *hex, size_t hexlen, unsigned char *out, size_t outlen)
{
	if (hexlen != 2 * outlen)
		return YH_ERR_INVALID;
	for (size_t i = 0; i < outlen; i++) {
		int hi = yh_hex_digit(hex[2 * i]), lo = yh_hex_digit(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return YH_ERR_INVALID;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}
