/*
 * Unit tests for identity/idn/idnum.h: resident ID numbers (GB 11643), unified social credit
 * codes (GB 32100), organization codes (GB 11714), folding, classification, masking.
 * Vectors marked "reference" were computed with an independent implementation.
 * Property tests use a fixed-seed generator and a fixed "today", so they never depend on
 * the clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "identity/idn/idnum.h"

#define TODAY 20261122

static enum idn_reason
rid(const char *s, struct idn_resident *r)
{
	return idn_resident_check_at(s, strlen(s), TODAY, r);
}

static enum idn_reason
ucc(const char *s, struct idn_uscc *u)
{
	return idn_uscc_check(s, strlen(s), u);
}

static enum idn_reason
org(const char *s, struct idn_orgcode *o)
{
	return idn_orgcode_check(s, strlen(s), o);
}

/* ---- deterministic generator (xorshift64*) ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t
rng(uint32_t bound)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 32) % bound;
}

static const int provinces[] = {
	11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45,
	46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83,
};
#define NPROV (sizeof(provinces) / sizeof(provinces[0]))

/* Writes v as exactly width decimal digits at p; returns p + width. */
static char *
put_digits(char *p, unsigned v, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + width;
}

/* A random valid 18-digit resident ID number (born 1900..2025). */
static void
gen_resident(char out[19])
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	unsigned y = 1900 + rng(126), m = 1 + rng(12), d;
	char *p = out;

	d = 1 + rng((uint32_t)mdays[m - 1]);
	if (rng(10) == 0) {
		/* foreign permanent resident: 9, a mainland province, a nationality code */
		*p++ = '9';
		p = put_digits(p, (unsigned)provinces[rng(31)], 2);
		p = put_digits(p, rng(1000), 3);
	} else {
		p = put_digits(p, (unsigned)provinces[rng(NPROV)], 2);
		p = put_digits(p, rng(10000), 4);
	}
	p = put_digits(p, y, 4);
	p = put_digits(p, m, 2);
	p = put_digits(p, d, 2);
	put_digits(p, rng(1000), 3);
	out[17] = idn_resident_check_char(out);
	out[18] = '\0';
}

static const char uscc_alpha[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
static const char *const uscc_regs[] = {
	"11", "12", "13", "19", "21", "29", "31", "32", "33", "34", "35", "36", "39", "41",
	"49", "51", "52", "53", "54", "55", "59", "61", "62", "69", "71", "72", "79", "81",
	"82", "89", "91", "92", "93", "99", "A1", "A9", "G1", "G9", "J1", "J9", "N1", "N2",
	"N3", "N9", "Q1", "Q2", "Q3", "Q9", "Y1",
};

/* A random valid unified social credit code. */
static void
gen_uscc(char out[19])
{
	const char *reg = uscc_regs[rng(sizeof(uscc_regs) / sizeof(uscc_regs[0]))];
	int prov = rng(8) == 0 ? 10 : provinces[rng(NPROV)];

	out[0] = reg[0];
	out[1] = reg[1];
	put_digits(put_digits(out + 2, (unsigned)prov, 2), rng(10000), 4);
	for (int i = 8; i < 16; i++)
		out[i] = uscc_alpha[rng(31)];
	out[16] = idn_orgcode_check_char(out + 8);
	out[17] = idn_uscc_check_char(out);
	out[18] = '\0';
}

/* ---- resident ID numbers ---- */

static void
test_resident_standard_examples(void **state)
{
	struct idn_resident r;

	(void)state;
	assert_int_equal(rid("11010519491231002X", &r), IDN_OK);
	assert_string_equal(r.canonical, "11010519491231002X");
	assert_int_equal(r.birth_year, 1949);
	assert_int_equal(r.birth_month, 12);
	assert_int_equal(r.birth_day, 31);
	assert_int_equal(r.sex, 'F');
	assert_false(r.foreign);
	assert_false(r.upgraded);

	assert_int_equal(rid("440524188001010014", &r), IDN_OK);
	assert_int_equal(r.birth_year, 1880);
	assert_int_equal(r.birth_month, 1);
	assert_int_equal(r.birth_day, 1);
	assert_int_equal(r.sex, 'M');

	assert_int_equal(idn_resident_check_char("11010519491231002"), 'X');
	assert_int_equal(idn_resident_check_char("44052418800101001"), '4');
	assert_int_equal(idn_resident_check_char("4405241880010100A"), '\0');
	/* the same through the real clock */
	assert_int_equal(idn_resident_check("11010519491231002X", 18, &r), IDN_OK);
}

static void
test_resident_upgrade(void **state)
{
	struct idn_resident r;

	(void)state;
	assert_int_equal(rid("110101900307001", &r), IDN_OK);
	assert_string_equal(r.canonical, "110101199003070011");
	assert_true(r.upgraded);
	assert_int_equal(r.birth_year, 1990);
	assert_int_equal(r.birth_month, 3);
	assert_int_equal(r.birth_day, 7);
	assert_int_equal(r.sex, 'M');
	/* the upgraded number validates on its own */
	assert_int_equal(rid(r.canonical, &r), IDN_OK);
	assert_false(r.upgraded);
	/* 15 characters must all be digits; the date still has to be real */
	assert_int_equal(rid("11010190030700X", &r), IDN_BAD_CHARSET);
	assert_int_equal(rid("110101900230001", &r), IDN_BAD_BIRTHDATE);
	assert_int_equal(rid("200101900307001", &r), IDN_BAD_REGION);
}

static void
test_resident_reasons(void **state)
{
	struct idn_resident r;

	(void)state;
	assert_int_equal(rid("", &r), IDN_EMPTY);
	assert_int_equal(rid(" - '", &r), IDN_EMPTY);
	assert_int_equal(rid("1101051949123100", &r), IDN_BAD_LENGTH);
	assert_int_equal(rid("11010519491231002X1", &r), IDN_BAD_LENGTH);
	assert_int_equal(rid("1101051949123100X2", &r), IDN_BAD_CHARSET);
	assert_int_equal(rid("11010519491231002A", &r), IDN_BAD_CHARSET);
	assert_int_equal(rid("11010519491231002\xe4\xb8\x80", &r), IDN_BAD_CHARSET);
	assert_int_equal(rid("110105194912310021", &r), IDN_BAD_CHECKSUM);
	/* reference: valid check characters on impossible or future dates */
	assert_int_equal(rid("110105194902300020", &r), IDN_BAD_BIRTHDATE);
	assert_int_equal(rid("110105209901010020", &r), IDN_FUTURE_BIRTHDATE);
	assert_int_equal(idn_resident_check("110105209901010020", 18, &r), IDN_FUTURE_BIRTHDATE);
	assert_int_equal(idn_resident_check_at("110105209901010020", 18, 20990101, &r), IDN_OK);
	assert_int_equal(idn_resident_check_at("110105209901010020", 18, 20981231, &r),
	    IDN_FUTURE_BIRTHDATE);
	assert_int_equal(rid("200105194912310021", &r), IDN_BAD_REGION);
	/* a failed check leaves nothing behind */
	assert_int_equal(r.canonical[0], '\0');
	assert_int_equal(r.birth_year, 0);
	assert_int_equal(rid("1.10105E+17", &r), IDN_SCIENTIFIC);
	assert_int_equal(rid("1.10105e+17", &r), IDN_SCIENTIFIC);
	assert_int_equal(rid("4.40524E17", &r), IDN_SCIENTIFIC);
	assert_int_equal(rid("1.101051949123E+17", &r), IDN_SCIENTIFIC);  /* 18 characters */
	assert_int_equal(org("1.234E+17", &(struct idn_orgcode){ { 0 } }), IDN_SCIENTIFIC);
	assert_int_equal(rid("1.1E+", &r), IDN_BAD_LENGTH);
	/* an embedded NUL byte */
	assert_int_equal(idn_resident_check_at("11010519" "\0" "491231002X", 18, TODAY, &r),
	    IDN_BAD_CHARSET);
	{
		char big[IDN_INPUT_MAX + 2];

		memset(big, '1', sizeof(big));
		assert_int_equal(idn_resident_check_at(big, sizeof(big), TODAY, &r),
		    IDN_BAD_LENGTH);
	}
}

static void
test_resident_foreign_and_special_regions(void **state)
{
	struct idn_resident r;

	(void)state;
	/* reference: foreign permanent resident, issued in Beijing (9 11 000 ...) */
	assert_int_equal(rid("91100019840101123X", &r), IDN_OK);
	assert_true(r.foreign);
	assert_int_equal(r.birth_year, 1984);
	/* reference: Hong Kong residence permit prefix 81 */
	assert_int_equal(rid("810000198001011236", &r), IDN_OK);
	assert_false(r.foreign);
	assert_true(idn_province_known(11));
	assert_true(idn_province_known(65));
	assert_true(idn_province_known(83));
	assert_false(idn_province_known(10));
	assert_false(idn_province_known(16));
	assert_false(idn_province_known(24));
	assert_false(idn_province_known(47));
	assert_false(idn_province_known(55));
	assert_false(idn_province_known(66));
	assert_false(idn_province_known(84));
	assert_false(idn_province_known(-1));
}

static void
test_resident_folding(void **state)
{
	static const char *const forms[] = {
		"11010519491231002x",
		" 110105 19491231 002X ",
		"110105-19491231-002X",
		"'11010519491231002X",
		"\"11010519491231002X\"",
		"\xe2\x80\x9c" "11010519491231002X" "\xe2\x80\x9d",         /* “...” */
		"\xef\xbc\x91\xef\xbc\x91\xef\xbc\x90\xef\xbc\x91\xef\xbc\x90\xef\xbc\x95"
		"\xef\xbc\x91\xef\xbc\x99\xef\xbc\x94\xef\xbc\x99\xef\xbc\x91\xef\xbc\x92"
		"\xef\xbc\x93\xef\xbc\x91\xef\xbc\x90\xef\xbc\x90\xef\xbc\x92\xef\xbd\x98",
		"110105\xe3\x80\x80" "19491231\xc2\xa0" "002X",              /* U+3000, NBSP */
		"110105\xef\xbc\x8d" "19491231\xe2\x80\x94" "002X",          /* full-width -, em dash */
		"\t11010519491231002X\r\n",
	};
	struct idn_resident r;

	(void)state;
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		assert_int_equal(rid(forms[i], &r), IDN_OK);
		assert_string_equal(r.canonical, "11010519491231002X");
	}
	/* an apostrophe in the middle is not a text marker */
	assert_int_equal(rid("110105'19491231002X", &r), IDN_BAD_LENGTH);
}

static void
test_fold(void **state)
{
	char out[64], again[64];

	(void)state;
	assert_int_equal(idn_fold("'1.10105e+17", 12, out, sizeof(out)), 0);
	assert_string_equal(out, "1.10105E+17");
	assert_true(idn_is_scientific(out, strlen(out)));
	assert_false(idn_is_scientific("110105", 6));
	assert_false(idn_is_scientific("1.E+17", 6));
	assert_false(idn_is_scientific("1.1E+1234", 9));
	assert_false(idn_is_scientific("E+17", 4));
	assert_int_equal(idn_fold("ab\0c", 4, out, sizeof(out)), YH_ERR_INVALID);
	assert_string_equal(out, "");
	assert_int_equal(idn_fold("\xff" "1", 2, out, sizeof(out)), YH_ERR_INVALID);
	assert_int_equal(idn_fold("\xe4\xb8", 2, out, sizeof(out)), YH_ERR_INVALID);
	assert_int_equal(idn_fold("\xc0\xb1", 2, out, sizeof(out)), YH_ERR_INVALID);   /* overlong */
	assert_int_equal(idn_fold("\xed\xa0\x80", 3, out, sizeof(out)), YH_ERR_INVALID); /* surrogate */
	assert_int_equal(idn_fold("123456", 6, out, 6), YH_ERR_TOO_LONG);
	assert_int_equal(idn_fold("123456", 6, out, 7), 0);
	assert_int_equal(idn_fold("12 34", 5, out, 0), YH_ERR_TOO_LONG);
	assert_int_equal(idn_fold(NULL, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	/* non-foldable characters stay (the validators reject them) and folding is idempotent */
	assert_int_equal(idn_fold("\xe4\xb8\x80 a-b\"c", 9, out, sizeof(out)), 0);
	assert_string_equal(out, "\xe4\xb8\x80" "AB\"C");
	assert_int_equal(idn_fold(out, strlen(out), again, sizeof(again)), 0);
	assert_string_equal(again, out);
}

/* Every single-character substitution and every adjacent transposition of a valid number
 * must be rejected: MOD 11-2 guarantees it (weights are non-zero mod 11, and adjacent
 * weights differ). */
static void
assert_resident_mutations_rejected(const char *valid)
{
	static const char alphabet[] = "0123456789X";
	struct idn_resident r;
	char m[19];

	assert_int_equal(rid(valid, &r), IDN_OK);
	for (int i = 0; i < 18; i++) {
		for (const char *a = alphabet; *a != '\0'; a++) {
			if (*a == valid[i])
				continue;
			memcpy(m, valid, 19);
			m[i] = *a;
			if (rid(m, &r) == IDN_OK)
				fail_msg("substitution %s -> %s accepted", valid, m);
		}
	}
	for (int i = 0; i < 17; i++) {
		if (valid[i] == valid[i + 1])
			continue;        /* swapping equal characters changes nothing */
		memcpy(m, valid, 19);
		m[i] = valid[i + 1];
		m[i + 1] = valid[i];
		if (rid(m, &r) == IDN_OK)
			fail_msg("transposition %s -> %s accepted", valid, m);
	}
}

static void
test_resident_properties(void **state)
{
	struct idn_resident r;
	char id[19], spaced[40];

	(void)state;
	assert_resident_mutations_rejected("11010519491231002X");
	assert_resident_mutations_rejected("440524188001010014");
	assert_resident_mutations_rejected("110101199003070011");
	for (int n = 0; n < 3000; n++) {
		gen_resident(id);
		/* round trip: valid, canonical unchanged, fields read back */
		assert_int_equal(rid(id, &r), IDN_OK);
		assert_string_equal(r.canonical, id);
		assert_int_equal(r.sex, ((id[16] - '0') % 2) ? 'M' : 'F');
		assert_int_equal(r.birth_year * 10000 + r.birth_month * 100 + r.birth_day,
		    (id[6] - '0') * 10000000 + (id[7] - '0') * 1000000 + (id[8] - '0') * 100000 +
		    (id[9] - '0') * 10000 + (id[10] - '0') * 1000 + (id[11] - '0') * 100 +
		    (id[12] - '0') * 10 + (id[13] - '0'));
		assert_int_equal(r.foreign, id[0] == '9');
		/* the same through folding */
		snprintf(spaced, sizeof(spaced), " %.6s-%.8s %.4s ", id, id + 6, id + 14);
		assert_int_equal(rid(spaced, &r), IDN_OK);
		assert_string_equal(r.canonical, id);
		if (n < 400)
			assert_resident_mutations_rejected(id);
	}
}

/* ---- unified social credit codes ---- */

static void
test_uscc_standard_example(void **state)
{
	struct idn_uscc u;

	(void)state;
	assert_int_equal(ucc("91350100M000100Y43", &u), IDN_OK);
	assert_string_equal(u.canonical, "91350100M000100Y43");
	assert_string_equal(u.org_code, "M000100Y4");
	assert_int_equal(u.authority, '9');
	assert_int_equal(u.type, '1');
	assert_string_equal(u.region, "350100");
	assert_int_equal(idn_uscc_check_char("91350100M000100Y4"), '3');
	/* re-checking the canonical value in place works (in aliases out) */
	assert_int_equal(ucc(u.canonical, &u), IDN_OK);
	assert_string_equal(u.canonical, "91350100M000100Y43");
	/* folding: lower case, spaces, dashes */
	assert_int_equal(ucc(" 91350100-m000100y4-3 ", &u), IDN_OK);
	assert_string_equal(u.canonical, "91350100M000100Y43");
}

static void
test_uscc_reasons(void **state)
{
	struct idn_uscc u;

	(void)state;
	assert_int_equal(ucc("", &u), IDN_EMPTY);
	assert_int_equal(ucc("91350100M000100Y4", &u), IDN_BAD_LENGTH);
	assert_int_equal(ucc("91350100M000100I43", &u), IDN_BAD_CHARSET);   /* no I */
	assert_int_equal(ucc("91350100M000100O43", &u), IDN_BAD_CHARSET);   /* no O */
	assert_int_equal(ucc("91350100M000100Y4Z", &u), IDN_BAD_CHARSET);   /* no Z */
	assert_int_equal(ucc("91350100M000100Y44", &u), IDN_BAD_CHECKSUM);
	/* reference: valid MOD 31 check, other faults */
	assert_int_equal(ucc("95350100M000100Y4N", &u), IDN_BAD_REGISTRATION);
	assert_int_equal(ucc("91000000M000100Y45", &u), IDN_BAD_REGION);
	assert_int_equal(ucc("91350100M000100Y56", &u), IDN_BAD_ORG_CODE);
	assert_int_equal(u.canonical[0], '\0');
	assert_int_equal(u.org_code[0], '\0');
	assert_int_equal(ucc("9.13501E+17", &u), IDN_SCIENTIFIC);
	assert_int_equal(idn_uscc_check_char("91350100M000100I4"), '\0');
	assert_int_equal(idn_uscc_check_char("9135"), '\0');
}

static void
test_uscc_registration_table(void **state)
{
	static const char *const good[] = { "11", "19", "21", "36", "54", "55", "62", "82",
		"93", "99", "A1", "G1", "J9", "N3", "Q2", "Y1" };
	static const char *const bad[] = { "10", "14", "22", "37", "56", "63", "73", "83",
		"94", "A2", "B1", "G2", "N4", "Y2", "Y9", "01" };
	char code[19];
	struct idn_uscc u;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(code, sizeof(code), "%s350100M000100Y4", good[i]);
		code[17] = idn_uscc_check_char(code);
		code[18] = '\0';
		assert_int_equal(ucc(code, &u), IDN_OK);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(code, sizeof(code), "%s350100M000100Y4", bad[i]);
		code[17] = idn_uscc_check_char(code);
		code[18] = '\0';
		assert_int_equal(ucc(code, &u), IDN_BAD_REGISTRATION);
	}
	/* central-level registration: region 100000 */
	snprintf(code, sizeof(code), "11100000M000100Y4");
	code[17] = idn_uscc_check_char(code);
	code[18] = '\0';
	assert_int_equal(ucc(code, &u), IDN_OK);
}

/* A valid credit code with positions 1-2 = reg (check character computed). */
static void
kind_of(const char *reg, enum idn_org_kind want)
{
	char code[19];
	struct idn_uscc u;

	snprintf(code, sizeof(code), "%s350100M000100Y4", reg);
	code[17] = idn_uscc_check_char(code);
	code[18] = '\0';
	assert_int_equal(ucc(code, &u), IDN_OK);
	assert_int_equal(idn_uscc_kind(&u), want);
}

static void
test_uscc_kind_enterprise(void **state)
{
	(void)state;
	kind_of("91", IDN_ORG_KIND_ENTERPRISE);
	assert_string_equal(idn_org_kind_str(IDN_ORG_KIND_ENTERPRISE), "enterprise");
}

static void
test_uscc_kind_individual_business(void **state)
{
	(void)state;
	kind_of("92", IDN_ORG_KIND_INDIVIDUAL_BUSINESS);
	assert_string_equal(idn_org_kind_str(IDN_ORG_KIND_INDIVIDUAL_BUSINESS),
	    "individual_business");
}

static void
test_uscc_kind_social_organization(void **state)
{
	(void)state;
	kind_of("13", IDN_ORG_KIND_SOCIAL_ORGANIZATION);
	kind_of("51", IDN_ORG_KIND_SOCIAL_ORGANIZATION);
	kind_of("52", IDN_ORG_KIND_SOCIAL_ORGANIZATION);
	kind_of("53", IDN_ORG_KIND_SOCIAL_ORGANIZATION);
}

static void
test_uscc_kind_government_agency(void **state)
{
	(void)state;
	kind_of("11", IDN_ORG_KIND_GOVERNMENT_AGENCY);
}

static void
test_uscc_kind_public_institution(void **state)
{
	(void)state;
	kind_of("12", IDN_ORG_KIND_PUBLIC_INSTITUTION);
}

/* Pairs the standard defines no kind for; and the names round trip. */
static void
test_uscc_kind_unspecified(void **state)
{
	static const char *const none[] = { "19", "21", "31", "59", "71", "81", "93", "99",
		"A1", "N1", "Y1" };
	enum idn_org_kind k;

	(void)state;
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		kind_of(none[i], IDN_ORG_KIND_UNSPECIFIED);
	for (int i = IDN_ORG_KIND_UNSPECIFIED; i <= IDN_ORG_KIND_PUBLIC_INSTITUTION; i++) {
		assert_int_equal(idn_org_kind_parse(idn_org_kind_str((enum idn_org_kind)i), &k), 0);
		assert_int_equal(k, i);
	}
	assert_int_equal(idn_org_kind_parse("Enterprise", &k), YH_ERR_INVALID);
	assert_int_equal(idn_org_kind_parse(NULL, &k), YH_ERR_INVALID);
	assert_string_equal(idn_org_kind_str((enum idn_org_kind)99), "unspecified");
}

static void
test_uscc_remainder_zero(void **state)
{
	struct idn_uscc u;
	char code[19];
	int found = 0;

	(void)state;
	/* reference: weighted sum = 0 mod 31, so 31 - 0 = 31 -> '0' */
	assert_int_equal(idn_uscc_check_char("91110108M2QHJRWT9"), '0');
	assert_int_equal(ucc("91110108M2QHJRWT90", &u), IDN_OK);
	/* and the generator finds more of them, all valid */
	for (int n = 0; n < 20000 && found < 20; n++) {
		gen_uscc(code);
		if (code[17] != '0')
			continue;
		found++;
		assert_int_equal(ucc(code, &u), IDN_OK);
	}
	assert_true(found >= 5);
}

static void
test_uscc_properties(void **state)
{
	struct idn_uscc u;
	char code[19], m[19];

	(void)state;
	for (int n = 0; n < 2000; n++) {
		gen_uscc(code);
		assert_int_equal(ucc(code, &u), IDN_OK);
		assert_string_equal(u.canonical, code);
		assert_memory_equal(u.org_code, code + 8, 9);
		if (n >= 300)
			continue;
		/* MOD 31 over a 31-symbol alphabet catches every substitution; adjacent weights
		 * differ (3x, and 28 vs 1 at the end) so every adjacent transposition too */
		for (int i = 0; i < 18; i++) {
			for (int a = 0; a < 31; a++) {
				if (uscc_alpha[a] == code[i])
					continue;
				memcpy(m, code, 19);
				m[i] = uscc_alpha[a];
				if (ucc(m, &u) == IDN_OK)
					fail_msg("substitution %s -> %s accepted", code, m);
			}
		}
		for (int i = 0; i < 17; i++) {
			if (code[i] == code[i + 1])
				continue;
			memcpy(m, code, 19);
			m[i] = code[i + 1];
			m[i + 1] = code[i];
			if (ucc(m, &u) == IDN_OK)
				fail_msg("transposition %s -> %s accepted", code, m);
		}
	}
}

/* ---- organization codes ---- */

static void
test_orgcode(void **state)
{
	struct idn_orgcode o;
	char body[10];

	(void)state;
	/* reference vectors */
	assert_int_equal(idn_orgcode_check_char("12345678"), '8');
	assert_int_equal(idn_orgcode_check_char("M000100Y"), '4');
	assert_int_equal(idn_orgcode_check_char("78666617"), 'X');   /* 11 - r = 10 */
	assert_int_equal(idn_orgcode_check_char("12220297"), '0');   /* 11 - r = 11 */
	assert_int_equal(idn_orgcode_check_char("1234567a"), '\0');
	assert_int_equal(org("12345678-8", &o), IDN_OK);
	assert_string_equal(o.canonical, "123456788");
	assert_int_equal(org("123456788", &o), IDN_OK);
	assert_int_equal(org("78666617-x", &o), IDN_OK);
	assert_string_equal(o.canonical, "78666617X");
	assert_int_equal(org("12220297-0", &o), IDN_OK);
	assert_int_equal(org("M000100Y-4", &o), IDN_OK);
	assert_int_equal(org("12345678-9", &o), IDN_BAD_CHECKSUM);
	assert_int_equal(org("1234567-8", &o), IDN_BAD_LENGTH);
	assert_int_equal(org("1234567*-8", &o), IDN_BAD_CHARSET);
	assert_int_equal(org("12345678-A", &o), IDN_BAD_CHARSET);
	assert_int_equal(org("", &o), IDN_EMPTY);
	assert_int_equal(o.canonical[0], '\0');
	/* round trip of random codes, letters included */
	for (int n = 0; n < 2000; n++) {
		static const char chars[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

		for (int i = 0; i < 8; i++)
			body[i] = chars[rng(36)];
		body[8] = idn_orgcode_check_char(body);
		body[9] = '\0';
		assert_int_equal(org(body, &o), IDN_OK);
		assert_string_equal(o.canonical, body);
	}
}

/* ---- classification, names, masks ---- */

static void
test_classify(void **state)
{
	struct idn_any a;

	(void)state;
	assert_int_equal(idn_classify("110101900307001", 15, TODAY, &a), IDN_OK);
	assert_int_equal(a.kind, IDN_KIND_RESIDENT);
	assert_string_equal(a.canonical, "110101199003070011");
	assert_int_equal(a.resident.birth_year, 1990);

	assert_int_equal(idn_classify("91350100M000100Y43", 18, 0, &a), IDN_OK);
	assert_int_equal(a.kind, IDN_KIND_USCC);
	assert_string_equal(a.uscc.org_code, "M000100Y4");

	assert_int_equal(idn_classify("12345678-8", 10, TODAY, &a), IDN_OK);
	assert_int_equal(a.kind, IDN_KIND_ORGCODE);
	assert_string_equal(a.canonical, "123456788");
	assert_int_equal(idn_classify(a.canonical, 9, TODAY, &a), IDN_OK);
	assert_string_equal(a.canonical, "123456788");

	/* invalid: the likeliest kind and why */
	assert_int_equal(idn_classify("110105194912310021", 18, TODAY, &a), IDN_BAD_CHECKSUM);
	assert_int_equal(a.kind, IDN_KIND_RESIDENT);
	assert_int_equal(idn_classify("11010519491231002A", 18, TODAY, &a), IDN_BAD_CHARSET);
	assert_int_equal(a.kind, IDN_KIND_RESIDENT);
	assert_int_equal(idn_classify("11010519491231002I", 18, TODAY, &a), IDN_BAD_CHARSET);
	assert_int_equal(a.kind, IDN_KIND_RESIDENT);
	assert_int_equal(idn_classify("91350100M000100Y44", 18, TODAY, &a), IDN_BAD_CHECKSUM);
	assert_int_equal(a.kind, IDN_KIND_USCC);
	assert_int_equal(idn_classify("95350100M000100Y4N", 18, TODAY, &a), IDN_BAD_REGISTRATION);
	assert_int_equal(a.kind, IDN_KIND_USCC);
	assert_int_equal(idn_classify("110105209901010020", 18, TODAY, &a), IDN_FUTURE_BIRTHDATE);
	assert_int_equal(a.kind, IDN_KIND_RESIDENT);
	assert_int_equal(idn_classify("1101051949123100", 16, TODAY, &a), IDN_BAD_LENGTH);
	assert_int_equal(a.kind, IDN_KIND_NONE);
	assert_int_equal(idn_classify("1.10105E+17", 11, TODAY, &a), IDN_SCIENTIFIC);
	assert_int_equal(a.kind, IDN_KIND_RESIDENT);
	assert_int_equal(idn_classify("  ", 2, TODAY, &a), IDN_EMPTY);
	assert_int_equal(a.kind, IDN_KIND_NONE);
	assert_int_equal(idn_classify("\xff", 1, TODAY, &a), IDN_BAD_CHARSET);

	assert_string_equal(idn_kind_str(IDN_KIND_RESIDENT), "resident_id");
	assert_string_equal(idn_kind_str(IDN_KIND_USCC), "uscc");
	assert_string_equal(idn_kind_str(IDN_KIND_ORGCODE), "org_code");
	assert_null(idn_kind_str(IDN_KIND_NONE));
}

static void
test_reason_names(void **state)
{
	(void)state;
	assert_string_equal(idn_reason_str(IDN_OK), "ok");
	assert_string_equal(idn_reason_str(IDN_EMPTY), "empty");
	assert_string_equal(idn_reason_str(IDN_BAD_LENGTH), "bad_length");
	assert_string_equal(idn_reason_str(IDN_BAD_CHARSET), "bad_charset");
	assert_string_equal(idn_reason_str(IDN_BAD_CHECKSUM), "bad_checksum");
	assert_string_equal(idn_reason_str(IDN_BAD_BIRTHDATE), "bad_birthdate");
	assert_string_equal(idn_reason_str(IDN_FUTURE_BIRTHDATE), "future_birthdate");
	assert_string_equal(idn_reason_str(IDN_BAD_REGION), "bad_region");
	assert_string_equal(idn_reason_str(IDN_BAD_REGISTRATION), "bad_registration");
	assert_string_equal(idn_reason_str(IDN_BAD_ORG_CODE), "bad_org_code");
	assert_string_equal(idn_reason_str(IDN_SCIENTIFIC), "scientific_notation");
	assert_string_equal(idn_reason_str((enum idn_reason)99), "unknown");
}

static void
test_mask(void **state)
{
	char out[32];

	(void)state;
	idn_mask("110101199003070011", out, sizeof(out));
	assert_string_equal(out, "110101********0011");
	idn_mask("91350100M000100Y43", out, sizeof(out));
	assert_string_equal(out, "913501********0Y43");
	idn_mask("110101900307001", out, sizeof(out));     /* a third visible: 3 + 2 */
	assert_string_equal(out, "110**********01");
	idn_mask("123456788", out, sizeof(out));
	assert_string_equal(out, "12******8");
	idn_mask("12", out, sizeof(out));
	assert_string_equal(out, "**");
	idn_mask("", out, sizeof(out));
	assert_string_equal(out, "");
	idn_mask(NULL, out, sizeof(out));
	assert_string_equal(out, "");
	/* too small: nothing rather than a cut that could show more */
	idn_mask("110101199003070011", out, 18);
	assert_string_equal(out, "");
	idn_mask("110101199003070011", out, 19);
	assert_string_equal(out, "110101********0011");
	idn_mask("110101199003070011", NULL, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resident_standard_examples),
		cmocka_unit_test(test_resident_upgrade),
		cmocka_unit_test(test_resident_reasons),
		cmocka_unit_test(test_resident_foreign_and_special_regions),
		cmocka_unit_test(test_resident_folding),
		cmocka_unit_test(test_fold),
		cmocka_unit_test(test_resident_properties),
		cmocka_unit_test(test_uscc_standard_example),
		cmocka_unit_test(test_uscc_reasons),
		cmocka_unit_test(test_uscc_registration_table),
		cmocka_unit_test(test_uscc_remainder_zero),
		cmocka_unit_test(test_uscc_properties),
		cmocka_unit_test(test_uscc_kind_enterprise),
		cmocka_unit_test(test_uscc_kind_individual_business),
		cmocka_unit_test(test_uscc_kind_social_organization),
		cmocka_unit_test(test_uscc_kind_government_agency),
		cmocka_unit_test(test_uscc_kind_public_institution),
		cmocka_unit_test(test_uscc_kind_unspecified),
		cmocka_unit_test(test_orgcode),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_reason_names),
		cmocka_unit_test(test_mask),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
