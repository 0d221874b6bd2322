/* TOTP with liboath: see totp.h. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <liboath/oath.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/timeutil.h"
#include "common/url.h"
#include "identity/dir/dir.h"
#include "identity/totp.h"

#define TOTP_LABEL_MAX 128
#define TOTP_SEED_MAX 64

static pthread_once_t oath_once = PTHREAD_ONCE_INIT;
static int oath_init_rc = OATH_OK;

static void
oath_init_once(void)
{
	oath_init_rc = oath_init();
}

static int
oath_ready(void)
{
	pthread_once(&oath_once, oath_init_once);
	return oath_init_rc == OATH_OK ? 0 : YH_ERR_CRYPTO;
}

int
totp_new_seed(unsigned char seed[TOTP_SEED_BYTES])
{
	return yh_random(seed, TOTP_SEED_BYTES);
}

int64_t
totp_step_of(int64_t now)
{
	return now < 0 ? -1 : now / TOTP_STEP_S;
}

int
totp_generate(const unsigned char *seed, size_t len, int64_t now, unsigned digits,
    char *out, size_t outsz)
{
	char code[TOTP_CODE_MAX + 1];
	int r;

	if (outsz > 0)
		out[0] = '\0';
	if (seed == NULL || len == 0 || len > TOTP_SEED_MAX || digits < 6 ||
	    digits > TOTP_CODE_MAX || now < 0 || outsz <= digits)
		return YH_ERR_INVALID;
	if ((r = oath_ready()) != 0)
		return r;
	if (oath_totp_generate((const char *)seed, len, (time_t)now, TOTP_STEP_S, 0, digits,
	    code) != OATH_OK)
		return YH_ERR_CRYPTO;
	memcpy(out, code, digits + 1);
	yh_wipe(code, sizeof(code));
	return 0;
}

/* The ASCII digit of a full-width digit U+FF10..U+FF19 (EF BC 90..99) at p, which a
 * Chinese input method in full-width mode types, or 0. */
static char
fullwidth_digit(const char *p, const char *end)
{
	if (end - p >= 3 && (unsigned char)p[0] == 0xef && (unsigned char)p[1] == 0xbc &&
	    (unsigned char)p[2] >= 0x90 && (unsigned char)p[2] <= 0x99)
		return (char)('0' + ((unsigned char)p[2] - 0x90));
	return 0;
}

/* Copies the digits of a typed code into out (TOTP_DIGITS + 1 bytes): ASCII or
 * full-width digits, with spaces allowed around and one space inside ("123 456"). */
static int
normalize_code(const char *code, char out[TOTP_DIGITS + 1])
{
	size_t n = 0, inner_spaces = 0;
	const char *p = code, *end;
	char fw;

	if (code == NULL)
		return YH_ERR_INVALID;
	end = code + strnlen(code, 64);
	if (*end != '\0')
		return YH_ERR_INVALID;
	while (p < end && *p == ' ')
		p++;
	while (end > p && end[-1] == ' ')
		end--;
	for (; p < end; p++) {
		if (*p == ' ' && n > 0 && inner_spaces++ == 0)
			continue;
		if (n >= TOTP_DIGITS)
			return YH_ERR_INVALID;
		if ((fw = fullwidth_digit(p, end)) != 0) {
			out[n++] = fw;
			p += 2;
			continue;
		}
		if (*p < '0' || *p > '9')
			return YH_ERR_INVALID;
		out[n++] = *p;
	}
	out[n] = '\0';
	return n == TOTP_DIGITS ? 0 : YH_ERR_INVALID;
}

/* liboath's comparison callback: 0 on a match. Constant-time, unlike its default. */
static int
ct_otp_cmp(void *handle, const char *test_otp)
{
	const char *typed = handle;

	return strlen(test_otp) == TOTP_DIGITS &&
	    yh_ct_eq(typed, test_otp, TOTP_DIGITS) ? 0 : 1;
}

int
totp_check(const unsigned char *seed, size_t len, int64_t now, const char *code,
    int64_t *step)
{
	char typed[TOTP_DIGITS + 1];
	uint64_t counter = 0;
	int pos = 0, r, rc;

	if (step != NULL)
		*step = -1;
	if (seed == NULL || len == 0 || len > TOTP_SEED_MAX || now < 0)
		return YH_ERR_INVALID;
	if ((r = normalize_code(code, typed)) != 0)
		goto out;
	if ((r = oath_ready()) != 0)
		goto out;
	rc = oath_totp_validate3_callback((const char *)seed, len, (time_t)now, TOTP_STEP_S,
	    0, TOTP_DIGITS, TOTP_WINDOW, &pos, &counter, ct_otp_cmp, typed);
	if (rc == OATH_INVALID_OTP) {
		r = YH_ERR_AUTH;
		goto out;
	}
	if (rc < 0) {
		yh_error("liboath: %s", oath_strerror(rc));
		r = YH_ERR_CRYPTO;
		goto out;
	}
	if (counter > INT64_MAX) {
		r = YH_ERR_INTERNAL;
		goto out;
	}
	if (step != NULL)
		*step = (int64_t)counter;
	r = 0;
out:
	yh_wipe(typed, sizeof(typed));
	return r;
}

int
totp_verify(struct dir *d, const char *uid, const char *code, int64_t now,
    unsigned flags, int64_t *step)
{
	struct dir_totp t;
	int64_t matched = -1;
	int r;

	memset(&t, 0, sizeof(t));
	if (step != NULL)
		*step = -1;
	if (now == 0)
		now = yh_now();
	if ((r = dir_totp_get(d, uid, &t)) != 0)
		goto out;
	if (!t.confirmed && !(flags & TOTP_ALLOW_UNCONFIRMED)) {
		r = YH_ERR_NOT_FOUND;
		goto out;
	}
	if ((r = totp_check(t.seed, t.seed_len, now, code, &matched)) != 0)
		goto out;
	/* Atomic in the directory: two concurrent logins with one code, one wins. */
	if ((r = dir_totp_consume_step(d, uid, matched)) != 0)
		goto out;
	if (step != NULL)
		*step = matched;
out:
	dir_totp_clear(&t);
	return r;
}

int
totp_base32(const unsigned char *in, size_t n, char *out, size_t outsz)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	size_t need = (n * 8 + 4) / 5, o = 0;
	unsigned bits = 0;
	uint32_t acc = 0;

	if (outsz == 0)
		return YH_ERR_TOO_LONG;
	out[0] = '\0';
	if (need + 1 > outsz)
		return YH_ERR_TOO_LONG;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = alphabet[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = alphabet[(acc << (5 - bits)) & 31];
	out[o] = '\0';
	acc = 0;
	return 0;
}

static int
check_text(const char *s, bool allow_empty)
{
	size_t n;

	if (s == NULL)
		return YH_ERR_INVALID;
	n = strnlen(s, TOTP_LABEL_MAX + 1);
	if (n > TOTP_LABEL_MAX)
		return YH_ERR_TOO_LONG;
	if (n == 0 && !allow_empty)
		return YH_ERR_INVALID;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return YH_ERR_INVALID;
	return 0;
}

int
totp_uri(const unsigned char *seed, size_t len, const char *issuer, const char *label,
    char **out)
{
	char secret[(TOTP_SEED_MAX * 8 + 4) / 5 + 1];
	struct yh_buf b;
	int r;

	*out = NULL;
	yh_buf_init_secret(&b, 1024);
	if (issuer == NULL || issuer[0] == '\0')
		issuer = TOTP_ISSUER_DEFAULT;
	if (seed == NULL || len == 0)
		return YH_ERR_INVALID;
	if (len > TOTP_SEED_MAX)
		return YH_ERR_TOO_LONG;
	if ((r = check_text(issuer, false)) != 0 || (r = check_text(label, false)) != 0)
		return r;
	if ((r = totp_base32(seed, len, secret, sizeof(secret))) != 0)
		goto out;
	if ((r = yh_buf_puts(&b, "otpauth://totp/")) != 0 || (r = yh_url_pct_encode(&b, issuer)) != 0 ||
	    (r = yh_buf_putc(&b, ':')) != 0 || (r = yh_url_pct_encode(&b, label)) != 0 ||
	    (r = yh_buf_printf(&b, "?secret=%s&issuer=", secret)) != 0 ||
	    (r = yh_url_pct_encode(&b, issuer)) != 0 ||
	    (r = yh_buf_printf(&b, "&algorithm=SHA1&digits=%d&period=%d", TOTP_DIGITS,
	    TOTP_STEP_S)) != 0)
		goto out;
	if ((*out = yh_buf_steal(&b)) == NULL)
		r = YH_ERR_ALLOC;
out:
	yh_wipe(secret, sizeof(secret));
	yh_buf_free(&b);
	return r;
}
