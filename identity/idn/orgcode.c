/*
 * Organization codes (GB 11714-1997): eight digits or upper-case letters (letters count
 * A=10 ... Z=35), then a check character C9 = 11 - (sum of weights 3 7 9 10 5 8 4 2
 * mod 11), written 'X' for 10 and '0' for 11. Usually printed "12345678-9".
 */
#include <string.h>

#include "identity/idn/idnum.h"

/* Character values plus one (0 = not allowed in the body). */
static const unsigned char org_val1[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5,
	['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
	['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
	['G'] = 17, ['H'] = 18, ['I'] = 19, ['J'] = 20, ['K'] = 21, ['L'] = 22,
	['M'] = 23, ['N'] = 24, ['O'] = 25, ['P'] = 26, ['Q'] = 27, ['R'] = 28,
	['S'] = 29, ['T'] = 30, ['U'] = 31, ['V'] = 32, ['W'] = 33, ['X'] = 34,
	['Y'] = 35, ['Z'] = 36,
};

static const unsigned char org_weight[8] = { 3, 7, 9, 10, 5, 8, 4, 2 };

/* The check character for each value of (sum mod 11): 11 - r, 10 -> X, 11 -> 0. */
static const char org_check[11] = {
	'0', 'X', '9', '8', '7', '6', '5', '4', '3', '2', '1',
};

char
idn_orgcode_check_char(const char *s)
{
	unsigned sum = 0;

	if (s == NULL)
		return '\0';
	for (int i = 0; i < 8; i++) {
		unsigned v = org_val1[(unsigned char)s[i]];

		if (v == 0)
			return '\0';
		sum += (v - 1) * org_weight[i];
	}
	return org_check[sum % 11];
}

/* Validates a folded value of n bytes. Reads s completely before writing *out (s may
 * point into *out); on failure *out is left for the caller to clear. */
static enum idn_reason
check_folded(const char *s, size_t n, struct idn_orgcode *out)
{
	char c[9], want;

	if (n != 9)
		return idn_length_reason(s, n);
	memcpy(c, s, 9);
	want = idn_orgcode_check_char(c);
	if (want == '\0' || ((unsigned char)(c[8] - '0') > 9 && c[8] != 'X'))
		return IDN_BAD_CHARSET;
	if (want != c[8])
		return IDN_BAD_CHECKSUM;
	memcpy(out->canonical, c, 9);
	out->canonical[9] = '\0';
	return IDN_OK;
}

enum idn_reason
idn_orgcode_check_folded(const char *s, size_t n, struct idn_orgcode *out)
{
	enum idn_reason r = idn_folded_reason(s, n);

	if (r == IDN_OK)
		r = check_folded(s, n, out);
	if (r != IDN_OK)
		memset(out, 0, sizeof(*out));
	return r;
}

enum idn_reason
idn_orgcode_check(const char *in, size_t len, struct idn_orgcode *out)
{
	char buf[IDN_INPUT_MAX + 1];
	size_t n;
	enum idn_reason r = idn_fold_reason(in, len, buf, &n);

	if (r != IDN_OK) {
		memset(out, 0, sizeof(*out));
		return r;
	}
	return idn_orgcode_check_folded(buf, n, out);
}
