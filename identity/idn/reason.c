/*
 * Identity numbers, the first steps every check shares: folding raw input (what clerks
 * and spreadsheets make of a number), the reasons a folded value is refused before any
 * kind-specific check, the province-level codes, and the reason names. No allocation,
 * no locale: byte tables and a strict UTF-8 decoder. idnum.c, uscc.c, orgcode.c and
 * idkind.c use these; this file uses none of them.
 */
#include <stdint.h>
#include <string.h>

#include "common/fold.h"
#include "common/utf8.h"
#include "identity/idn/idnum.h"

/* What idn_fold does with an ASCII byte. */
enum fold_class {
	FC_COPY = 0,   /* digits, upper-case letters, other printable bytes: kept */
	FC_UPPER,      /* a-z: upper-cased */
	FC_DROP,       /* spaces and dashes: removed */
	FC_QUOTE,      /* ' and ": removed at either end, kept in the middle */
	FC_NUL,        /* a NUL byte: the input is rejected */
	FC_MULTI,      /* a UTF-8 lead byte: decoded the slow way */
};

static const unsigned char fold_class[256] = {
	[0] = FC_NUL,
	[' '] = FC_DROP, ['\t'] = FC_DROP, ['\n'] = FC_DROP, ['\r'] = FC_DROP,
	['\v'] = FC_DROP, ['\f'] = FC_DROP, ['-'] = FC_DROP,
	['\''] = FC_QUOTE, ['"'] = FC_QUOTE,
	['a'] = FC_UPPER, ['b'] = FC_UPPER, ['c'] = FC_UPPER, ['d'] = FC_UPPER,
	['e'] = FC_UPPER, ['f'] = FC_UPPER, ['g'] = FC_UPPER, ['h'] = FC_UPPER,
	['i'] = FC_UPPER, ['j'] = FC_UPPER, ['k'] = FC_UPPER, ['l'] = FC_UPPER,
	['m'] = FC_UPPER, ['n'] = FC_UPPER, ['o'] = FC_UPPER, ['p'] = FC_UPPER,
	['q'] = FC_UPPER, ['r'] = FC_UPPER, ['s'] = FC_UPPER, ['t'] = FC_UPPER,
	['u'] = FC_UPPER, ['v'] = FC_UPPER, ['w'] = FC_UPPER, ['x'] = FC_UPPER,
	['y'] = FC_UPPER, ['z'] = FC_UPPER,
	[0x80 ... 0xff] = FC_MULTI,
};

/* Maps a non-ASCII code point to the ASCII byte it folds to, FC_DROP/FC_QUOTE markers
 * through *cls, or leaves it alone (returns 0, *cls = FC_COPY). Width and the spaces and
 * dashes dropped are common/fold.h's, shared with the phone key and the log redactor. */
static unsigned char
fold_wide(uint32_t cp, int *cls)
{
	uint32_t c = yh_fold_width(cp);

	*cls = FC_COPY;
	if (c < 0x80) {                               /* full-width ASCII, U+3000 */
		*cls = fold_class[c];
		if (*cls == FC_UPPER)
			return (unsigned char)(c - 'a' + 'A');
		return (unsigned char)c;
	}
	if (yh_fold_is_space(c) || yh_fold_is_dash(c)) {
		*cls = FC_DROP;
		return 0;
	}
	switch (c) {
	case 0x2018: case 0x2019:
		*cls = FC_QUOTE;
		return '\'';
	case 0x201c: case 0x201d:
		*cls = FC_QUOTE;
		return '"';
	default:
		return 0;
	}
}

/* idn_fold that also gives the length of the result in *outlen (0 on error). */
static int
fold_len(const char *in, size_t len, char *out, size_t outsz, size_t *outlen)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0, i = 0;
	int err = 0;

	*outlen = 0;
	if (out == NULL || outsz == 0)
		return YH_ERR_TOO_LONG;
	out[0] = '\0';
	if (in == NULL && len > 0)
		return YH_ERR_INVALID;
	if (len > IDN_INPUT_MAX)
		return YH_ERR_TOO_LONG;
	/* Fast path: the run of bytes copied as they are (usually the whole value), while
	 * the output cannot overflow (folding never grows the input). The first byte may
	 * not be a quote, which FC_COPY excludes anyway. */
	if (outsz > len)
		while (i < len && fold_class[p[i]] == FC_COPY)
			out[o++] = (char)p[i++];
	while (i < len) {
		unsigned char c = p[i], emit = c;
		int cls = fold_class[c];
		size_t step = 1;

		if (cls == FC_MULTI) {
			uint32_t cp;

			step = yh_utf8_next((const char *)p + i, len - i, &cp);
			if (step == 0) {
				err = YH_ERR_INVALID;
				goto out;
			}
			emit = fold_wide(cp, &cls);
			if (cls == FC_COPY && emit == 0) {
				/* Not foldable: kept as it is, the validators reject it. */
				if (o + step >= outsz) {
					err = YH_ERR_TOO_LONG;
					goto out;
				}
				memcpy(out + o, p + i, step);
				o += step;
				i += step;
				continue;
			}
		} else if (cls == FC_NUL) {
			err = YH_ERR_INVALID;
			goto out;
		} else if (cls == FC_UPPER) {
			emit = (unsigned char)(c - 'a' + 'A');
		}
		i += step;
		if (cls == FC_DROP || (cls == FC_QUOTE && o == 0))
			continue;
		if (o + 1 >= outsz) {
			err = YH_ERR_TOO_LONG;
			goto out;
		}
		out[o++] = (char)emit;
	}
	/* Trailing quotes ("110...X" pasted with its quotes). */
	while (o > 0 && (out[o - 1] == '"' || out[o - 1] == '\''))
		o--;
out:
	if (err != 0)
		o = 0;
	out[o] = '\0';
	*outlen = o;
	return err;
}

int
idn_fold(const char *in, size_t len, char *out, size_t outsz)
{
	size_t n;

	return fold_len(in, len, out, outsz, &n);
}

enum idn_reason
idn_fold_reason(const char *in, size_t len, char *buf, size_t *n)
{
	int err = fold_len(in, len, buf, IDN_INPUT_MAX + 1, n);

	if (err != 0)
		return err == YH_ERR_TOO_LONG ? IDN_BAD_LENGTH : IDN_BAD_CHARSET;
	return IDN_OK;
}

enum idn_reason
idn_folded_reason(const char *s, size_t n)
{
	if (n == 0)
		return IDN_EMPTY;
	return idn_is_scientific(s, n) ? IDN_SCIENTIFIC : IDN_OK;
}

bool
idn_is_scientific(const char *s, size_t len)
{
	size_t i = 0, digits = 0, exp = 0;

	/* mantissa: d[.ddd] */
	if (len < 3 || s[0] < '0' || s[0] > '9')
		return false;
	i = 1;
	if (i < len && s[i] == '.') {
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
		if (digits == 0)
			return false;
	}
	if (i >= len || s[i] != 'E')
		return false;
	i++;
	if (i < len && s[i] == '+')
		i++;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		exp++;
	return exp > 0 && exp <= 3 && i == len;
}

enum idn_reason
idn_length_reason(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return IDN_BAD_CHARSET;
	return IDN_BAD_LENGTH;
}

/* Bit n set: n is a known province-level code (see idn_province_known). */
static const uint64_t province_lo =  /* codes 11..63 as bits */
	(0x1fULL << 11) | (0x7ULL << 21) | (0x7fULL << 31) | (0x3fULL << 41) |
	(0x1fULL << 50) | (0x7ULL << 61);

bool
idn_province_known(int code)
{
	if (code >= 0 && code < 64)
		return (province_lo >> code) & 1;
	return code == 64 || code == 65 || code == 71 || code == 81 || code == 82 ||
	    code == 83;
}

const char *
idn_reason_str(enum idn_reason r)
{
	switch (r) {
	case IDN_OK: return "ok";
	case IDN_EMPTY: return "empty";
	case IDN_BAD_LENGTH: return "bad_length";
	case IDN_BAD_CHARSET: return "bad_charset";
	case IDN_BAD_CHECKSUM: return "bad_checksum";
	case IDN_BAD_BIRTHDATE: return "bad_birthdate";
	case IDN_FUTURE_BIRTHDATE: return "future_birthdate";
	case IDN_BAD_REGION: return "bad_region";
	case IDN_BAD_REGISTRATION: return "bad_registration";
	case IDN_BAD_ORG_CODE: return "bad_org_code";
	case IDN_SCIENTIFIC: return "scientific_notation";
	}
	return "unknown";
}
