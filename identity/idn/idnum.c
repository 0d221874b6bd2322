/*
 * Resident ID numbers (GB 11643-1999): six digits of administrative division, eight of
 * birth date, three of sequence (odd for men), and an ISO 7064 MOD 11-2 check character.
 * 15-digit numbers (before 1999) are upgraded by inserting "19" before the two-digit
 * year and appending the check. Foreign permanent residents' numbers start with 9
 * followed by the province that issued them and use the same check.
 */
#include <stdint.h>
#include <string.h>

#include "common/timeutil.h"
#include "identity/idn/idnum.h"

/* Oldest birth year accepted (the standard's own example is from 1880). */
#define IDN_BIRTH_YEAR_MIN 1800

/* Weights 2^(17-i) mod 11 for i = 1..17. */
static const unsigned char mod11_2_weight[17] = {
	7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2,
};

/* The check character for each value of (weighted sum mod 11). */
static const char mod11_2_check[11] = {
	'1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2',
};

static inline bool
is_digit(char c)
{
	return (unsigned char)(c - '0') < 10;
}

/* The MOD 11-2 check character of 17 characters, or '\0' when one is not a digit.
 * Branch-free over the digits; the caller makes sure 17 bytes are readable. */
static inline char
check_char17(const char *d)
{
	unsigned sum = 0, bad = 0;

#pragma GCC unroll 17
	for (int i = 0; i < 17; i++) {
		unsigned v = (unsigned)(unsigned char)d[i] - '0';

		bad |= v > 9;
		sum += v * mod11_2_weight[i];
	}
	return bad ? '\0' : mod11_2_check[sum % 11];
}

char
idn_resident_check_char(const char *d)
{
	if (d == NULL)
		return '\0';
	for (int i = 0; i < 17; i++)
		if (d[i] == '\0')
			return '\0';     /* shorter than 17: never read past its end */
	return check_char17(d);
}

/* Two digits at s as a number (the caller checked they are digits). */
static inline int
two(const char *s)
{
	return (s[0] - '0') * 10 + (s[1] - '0');
}

/*
 * Today (China Standard Time) as yyyymmdd, cached: a birth date before the cached day
 * cannot be in the future, so the clock is read only when a date reaches the cached
 * day (and once per process). Relaxed atomics: any thread's value is a past "today".
 */
static int today_cache;

static bool
birth_in_future(int date)
{
	int t = __atomic_load_n(&today_cache, __ATOMIC_RELAXED);

	if (date < t)
		return false;
	t = yh_today_cst();
	__atomic_store_n(&today_cache, t, __ATOMIC_RELAXED);
	return date > t;
}

/* True when y-m-d is a real Gregorian date (y >= 1, as checked by the caller). */
static inline bool
date_real(int y, int m, int d)
{
	static const unsigned char mdays[13] = {
		0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31,
	};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	if (m < 1 || m > 12 || d < 1)
		return false;
	return d <= mdays[m] + (m == 2 && leap);
}

/*
 * Validates a folded value of n bytes: length and charset, check character, region,
 * birth date. Reads s completely before writing *out (s may point into *out); on
 * failure *out is left for the caller to clear.
 */
static enum idn_reason
check_folded(const char *s, size_t n, int today, struct idn_resident *out)
{
	char c[18];
	int prov, y, m, d, date;
	bool foreign = false;

	if (n == 15) {
		memcpy(c, s, 6);
		c[6] = '1';
		c[7] = '9';
		memcpy(c + 8, s + 6, 9);
		c[17] = check_char17(c);
		if (c[17] == '\0')
			return IDN_BAD_CHARSET;
	} else if (n == 18) {
		char want = check_char17(s);

		if (want == '\0' || (!is_digit(s[17]) && s[17] != 'X'))
			return IDN_BAD_CHARSET;
		if (want != s[17])
			return IDN_BAD_CHECKSUM;
		memcpy(c, s, 18);
	} else {
		return idn_length_reason(s, n);
	}
	prov = two(c);
	if (c[0] == '9') {
		/* Foreign permanent resident: 9, issuing province, nationality. */
		prov = two(c + 1);
		if (prov > 65)
			return IDN_BAD_REGION;
		foreign = true;
	}
	if (!idn_province_known(prov))
		return IDN_BAD_REGION;
	y = two(c + 6) * 100 + two(c + 8);
	m = two(c + 10);
	d = two(c + 12);
	if (y < IDN_BIRTH_YEAR_MIN || !date_real(y, m, d))
		return IDN_BAD_BIRTHDATE;
	date = y * 10000 + m * 100 + d;
	if (today > 0 ? date > today : birth_in_future(date))
		return IDN_FUTURE_BIRTHDATE;
	memcpy(out->canonical, c, 18);
	out->canonical[18] = '\0';
	out->birth_year = y;
	out->birth_month = m;
	out->birth_day = d;
	out->sex = ((c[16] - '0') & 1) ? 'M' : 'F';
	out->foreign = foreign;
	out->upgraded = n == 15;
	return IDN_OK;
}

enum idn_reason
idn_resident_check_folded(const char *s, size_t n, int today, struct idn_resident *out)
{
	enum idn_reason r = idn_folded_reason(s, n);

	if (r == IDN_OK)
		r = check_folded(s, n, today, out);
	if (r != IDN_OK)
		memset(out, 0, sizeof(*out));
	return r;
}

enum idn_reason
idn_resident_check_at(const char *in, size_t len, int today, struct idn_resident *out)
{
	char buf[IDN_INPUT_MAX + 1];
	size_t n;
	enum idn_reason r = idn_fold_reason(in, len, buf, &n);

	if (r != IDN_OK) {
		memset(out, 0, sizeof(*out));
		return r;
	}
	return idn_resident_check_folded(buf, n, today, out);
}

enum idn_reason
idn_resident_check(const char *in, size_t len, struct idn_resident *out)
{
	return idn_resident_check_at(in, len, 0, out);
}
