#include <string.h>

#include "common/b64.h"

static const char url_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char std_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
yh_b64url_len(size_t n)
{
	return (n / 3) * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

static void
encode(const char *alpha, const unsigned char *in, size_t n, char *out, int pad)
{
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];

		out[o++] = alpha[v >> 18 & 63];
		out[o++] = alpha[v >> 12 & 63];
		out[o++] = alpha[v >> 6 & 63];
		out[o++] = alpha[v & 63];
	}
	if (n - i == 1) {
		unsigned v = (unsigned)in[i] << 16;

		out[o++] = alpha[v >> 18 & 63];
		out[o++] = alpha[v >> 12 & 63];
		if (pad) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (n - i == 2) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;

		out[o++] = alpha[v >> 18 & 63];
		out[o++] = alpha[v >> 12 & 63];
		out[o++] = alpha[v >> 6 & 63];
		if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
}

void
yh_b64url_encode(const unsigned char *in, size_t n, char *out)
{
	encode(url_alpha, in, n, out, 0);
}

void
yh_b64_encode(const unsigned char *in, size_t n, char *out)
{
	encode(std_alpha, in, n, out, 1);
}

int
yh_b64url_append(struct yh_buf *b, const unsigned char *in, size_t n)
{
	char chunk[4 * 64 + 1];
	int r;

	/* Encode in 192-byte slices so no large temporary is needed. */
	while (n > 0) {
		size_t take = n > 192 ? 192 : n;

		yh_b64url_encode(in, take, chunk);
		if ((r = yh_buf_puts(b, chunk)) != 0)
			return r;
		in += take;
		n -= take;
	}
	return 0;
}

/* The value of c in alpha (the two alphabets differ only in their last two letters), or
 * -1; computed rather than searched for, as every token and header decoded goes through
 * here byte by byte. */
static int
val(const char *alpha, char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c != '\0' && c == alpha[62])
		return 62;
	if (c != '\0' && c == alpha[63])
		return 63;
	return -1;
}

static int
decode(const char *alpha, const char *in, size_t len, unsigned char *out, size_t outmax,
    size_t *outlen)
{
	size_t o = 0, i;
	unsigned acc = 0;
	int bits = 0;

	*outlen = 0;
	if (len % 4 == 1)
		return YH_ERR_INVALID;
	for (i = 0; i < len; i++) {
		int v = val(alpha, in[i]);

		if (v < 0)
			return YH_ERR_INVALID;
		acc = (acc << 6 | (unsigned)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outmax)
				return YH_ERR_TOO_LONG;
			out[o++] = (unsigned char)(acc >> bits & 0xff);
		}
	}
	/* Leftover bits must be zero: one encoding per value. */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return YH_ERR_INVALID;
	*outlen = o;
	return 0;
}

int
yh_b64url_decode(const char *in, size_t len, unsigned char *out, size_t outmax,
    size_t *outlen)
{
	return decode(url_alpha, in, len, out, outmax, outlen);
}

int
yh_b64_decode(const char *in, size_t len, unsigned char *out, size_t outmax,
    size_t *outlen)
{
	size_t pad = 0;

	*outlen = 0;
	if (len % 4 != 0)
		return YH_ERR_INVALID;
	while (pad < 2 && len > 0 && in[len - 1] == '=') {
		len--;
		pad++;
	}
	return decode(std_alpha, in, len, out, outmax, outlen);
}
