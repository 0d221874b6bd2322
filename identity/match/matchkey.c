/*
 * Matching keys for names and phone numbers: what two departments' clerks typed for the
 * same person, folded until it compares equal. No allocation, no locale.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/fold.h"
#include "common/utf8.h"
#include "identity/match/matchkey.h"

/* Phone inputs longer than this (bytes) are rejected. */
#define MK_PHONE_MAX 64
/* Digits kept from a phone number at most (0086 + 12-digit landline). */
#define MK_PHONE_DIGITS 20

#define MIDDLE_DOT 0x00b7

/* Appends cp as UTF-8 at out[*o]; false when it (and a NUL after it) does not fit. */
static bool
utf8_put(char *out, size_t outsz, size_t *o, uint32_t cp)
{
	unsigned char b[YH_UTF8_MAX];
	size_t n = yh_utf8_put(cp, b);

	if (*o + n >= outsz)
		return false;
	memcpy(out + *o, b, n);
	*o += n;
	return true;
}

/* The separators of minority (and foreign) names' parts, all folded to U+00B7. */
static bool
is_middle_dot(uint32_t cp)
{
	switch (cp) {
	case '.': case 0x00b7: case 0x0387: case 0x16eb: case 0x2022: case 0x2027:
	case 0x2219: case 0x22c5: case 0x2e31: case 0x30fb: case 0x318d: case 0xff0e:
	case 0xff65:
		return true;
	default:
		return false;
	}
}

int
mk_name_key(const char *name, size_t len, char *out, size_t outsz)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t i = 0, o = 0;
	bool last_dot = false;
	int err = 0;

	if (out == NULL || outsz == 0)
		return YH_ERR_TOO_LONG;
	out[0] = '\0';
	if (len > MK_NAME_MAX)
		return YH_ERR_TOO_LONG;
	if (name == NULL && len > 0)
		return YH_ERR_INVALID;
	while (i < len) {
		uint32_t cp;
		size_t step = yh_utf8_next((const char *)p + i, len - i, &cp);

		if (step == 0) {
			err = YH_ERR_INVALID;
			goto out;
		}
		i += step;
		cp = yh_fold_width(cp);
		if (yh_fold_is_space(cp))
			continue;
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
			err = YH_ERR_INVALID;     /* control characters are no part of a name */
			goto out;
		}
		if (is_middle_dot(cp)) {
			if (o == 0 || last_dot)
				continue;         /* leading or repeated separators */
			cp = MIDDLE_DOT;
		} else if (cp >= 'A' && cp <= 'Z') {
			cp += 'a' - 'A';
		} else if (cp >= 0x3400) {
			cp = mk_trad_to_simp(cp);
		}
		if (!utf8_put(out, outsz, &o, cp)) {
			err = YH_ERR_TOO_LONG;
			goto out;
		}
		last_dot = cp == MIDDLE_DOT;
	}
	if (last_dot)
		o -= 2;                           /* a trailing separator */
	if (o == 0)
		err = YH_ERR_INVALID;
out:
	if (err != 0)
		o = 0;
	out[o] = '\0';
	return err;
}

/* 11 digits, 1 then 3-9: a mainland mobile number. */
static bool
digits_mobile(const char *d, size_t n)
{
	return n == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9';
}

/* A landline with its area code: 010 or 02x and 8 digits, 0xxx and 7 or 8 digits. */
static bool
digits_landline(const char *d, size_t n)
{
	if (n < 2 || d[0] != '0')
		return false;
	if (d[1] == '1')
		return n == 11 && d[2] == '0';
	if (d[1] == '2')
		return n == 11;
	if (d[1] >= '3' && d[1] <= '9')
		return n == 11 || n == 12;
	return false;
}

/* Collects the digits of a phone number; *plus tells a leading '+'. */
static int
phone_digits(const char *phone, size_t len, char *d, size_t *nd, bool *plus)
{
	const unsigned char *p = (const unsigned char *)phone;
	size_t i = 0, n = 0;

	*plus = false;
	while (i < len) {
		uint32_t cp;
		size_t step = yh_utf8_next((const char *)p + i, len - i, &cp);

		if (step == 0)
			return YH_ERR_INVALID;
		i += step;
		cp = yh_fold_width(cp);
		if (cp >= '0' && cp <= '9') {
			if (n == MK_PHONE_DIGITS)
				return YH_ERR_INVALID;
			d[n++] = (char)cp;
		} else if (cp == '+' && n == 0 && !*plus) {
			*plus = true;
		} else if (!(yh_fold_is_space(cp) || yh_fold_is_dash(cp) || cp == '.' || cp == '(' ||
		    cp == ')')) {
			return YH_ERR_INVALID;
		}
	}
	*nd = n;
	return 0;
}

int
mk_phone_key(const char *phone, size_t len, char *out, size_t outsz)
{
	char d[MK_PHONE_DIGITS + 1];
	const char *k = NULL;
	size_t n = 0, kn = 0;
	bool plus, intl = false;
	int err;

	if (out == NULL || outsz == 0)
		return YH_ERR_TOO_LONG;
	out[0] = '\0';
	if (len > MK_PHONE_MAX)
		return YH_ERR_TOO_LONG;
	if (phone == NULL && len > 0)
		return YH_ERR_INVALID;
	err = phone_digits(phone, len, d, &n, &plus);
	if (err != 0)
		goto out;
	err = YH_ERR_INVALID;
	if (plus) {
		if (n < 2 || d[0] != '8' || d[1] != '6')
			goto out;             /* not China: no mainland key */
		k = d + 2;
		kn = n - 2;
		intl = true;
	} else if (n >= 4 && memcmp(d, "0086", 4) == 0) {
		k = d + 4;
		kn = n - 4;
		intl = true;
	} else if (n == 13 && d[0] == '8' && d[1] == '6' && digits_mobile(d + 2, 11)) {
		k = d + 2;
		kn = 11;
	} else if (n == 12 && d[0] == '0' && digits_mobile(d + 1, 11)) {
		k = d + 1;                /* the long-distance 0 once dialled before a mobile */
		kn = 11;
	} else {
		k = d;
		kn = n;
	}
	if (digits_mobile(k, kn)) {
		/* k is already the key */
	} else if (intl && kn > 0 && k[0] != '0') {
		/* +86 10 8888 6666: the trunk prefix 0 comes back. */
		if (kn + 1 > MK_PHONE_DIGITS)
			goto out;
		memmove(d + 1, k, kn);
		d[0] = '0';
		k = d;
		kn++;
		if (!digits_landline(k, kn))
			goto out;
	} else if (!digits_landline(k, kn)) {
		goto out;
	}
	if (kn + 1 > outsz) {
		err = YH_ERR_TOO_LONG;
		goto out;
	}
	memcpy(out, k, kn);
	out[kn] = '\0';
	err = 0;
out:
	if (err != 0)
		out[0] = '\0';
	return err;
}

int
mk_phone_is_mobile(const char *key)
{
	if (key == NULL)
		return 0;
	for (int i = 0; i < 11; i++)
		if (key[i] < '0' || key[i] > '9')
			return 0;
	return key[11] == '\0' && digits_mobile(key, 11);
}

void
mk_name_mask(const char *name, char *out, size_t outsz)
{
	size_t n, i = 0, o = 0, k;
	uint32_t cp;

	if (outsz == 0)
		return;
	out[0] = '\0';
	if (name == NULL)
		return;
	n = strlen(name);
	while (i < n) {
		k = yh_utf8_next(name + i, n - i, &cp);
		if (i == 0 && k > 0 && yh_utf8_valid(name, n)) {
			if (k + 1 > outsz)
				goto small;
			memcpy(out, name, k);
			o = k;
		} else {
			if (o + 2 > outsz)
				goto small;
			out[o++] = '*';
		}
		i += k > 0 ? k : 1;
	}
	out[o] = '\0';
	return;
small:
	out[0] = '\0';
}

void
mk_phone_mask(const char *phone, char *out, size_t outsz)
{
	size_t n, i, head = 3, tail = 4;

	if (outsz == 0)
		return;
	out[0] = '\0';
	if (phone == NULL)
		return;
	n = strlen(phone);
	if (n + 1 > outsz)
		return;
	if (n < head + tail + 1) {      /* short: keep at most a third visible */
		head = n / 3;
		tail = 0;
	}
	for (i = 0; i < n; i++)
		out[i] = (i < head || i >= n - tail) ? phone[i] : '*';
	out[n] = '\0';
}
