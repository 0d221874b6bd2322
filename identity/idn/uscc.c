/*
 * Unified social credit codes (GB 32100-2015): registration authority (1), organization
 * type (2), administrative division of the registering office (3-8), the GB 11714
 * organization code (9-17, with its own check) and a MOD 31 check character (18) over a
 * 31-symbol alphabet without I, O, S, V and Z.
 */
#include <stdint.h>
#include <string.h>

#include "identity/idn/idnum.h"

/* Symbol values plus one (0 = not in the alphabet): 0-9, A-H, J-N, P-R, T, U, W-Y. */
static const unsigned char uscc_val1[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5,
	['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
	['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
	['G'] = 17, ['H'] = 18, ['J'] = 19, ['K'] = 20, ['L'] = 21, ['M'] = 22,
	['N'] = 23, ['P'] = 24, ['Q'] = 25, ['R'] = 26, ['T'] = 27, ['U'] = 28,
	['W'] = 29, ['X'] = 30, ['Y'] = 31,
};

static const char uscc_alphabet[31] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/* Weights 3^(i-1) mod 31 for i = 1..17. */
static const unsigned char uscc_weight[17] = {
	1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
};

/*
 * Registration authority -> bit set of its organization type codes ('1'..'9' as bits
 * 1..9). GB 32100-2015 Annex A with the codes added since (司法行政 6 商事调解组织,
 * 民政 4/5 村民/居民委员会, 旅游 2, 工会 2, 工商 9, 公安 G, 住建 J, 侨联 Q).
 */
static const uint16_t uscc_types[256] = {
	['1'] = 1u << 1 | 1u << 2 | 1u << 3 | 1u << 9,              /* 机构编制 */
	['2'] = 1u << 1 | 1u << 9,                                  /* 外交 */
	['3'] = 1u << 1 | 1u << 2 | 1u << 3 | 1u << 4 | 1u << 5 |
		1u << 6 | 1u << 9,                                  /* 司法行政 */
	['4'] = 1u << 1 | 1u << 9,                                  /* 文化 */
	['5'] = 1u << 1 | 1u << 2 | 1u << 3 | 1u << 4 | 1u << 5 |
		1u << 9,                                            /* 民政 */
	['6'] = 1u << 1 | 1u << 2 | 1u << 9,                        /* 旅游 */
	['7'] = 1u << 1 | 1u << 2 | 1u << 9,                        /* 宗教 */
	['8'] = 1u << 1 | 1u << 2 | 1u << 9,                        /* 工会 */
	['9'] = 1u << 1 | 1u << 2 | 1u << 3 | 1u << 9,              /* 工商 (市场监管) */
	['A'] = 1u << 1 | 1u << 9,                                  /* 中央军委改革和编制办公室 */
	['G'] = 1u << 1 | 1u << 9,                                  /* 公安 */
	['J'] = 1u << 1 | 1u << 9,                                  /* 住房城乡建设 */
	['N'] = 1u << 1 | 1u << 2 | 1u << 3 | 1u << 9,              /* 农业 */
	['Q'] = 1u << 1 | 1u << 2 | 1u << 3 | 1u << 9,              /* 侨联 */
	['Y'] = 1u << 1,                                            /* 其他 */
};

/* The weighted sum of the first 17 symbols, or -1 when one is outside the alphabet. */
static int
uscc_sum(const char *s)
{
	unsigned sum = 0;
	unsigned bad = 0;

	for (int i = 0; i < 17; i++) {
		unsigned v = uscc_val1[(unsigned char)s[i]];

		bad |= (v == 0);
		sum += (v - 1) * uscc_weight[i];
	}
	return bad ? -1 : (int)(sum % 31);
}

char
idn_uscc_check_char(const char *s)
{
	int sum;

	if (s == NULL)
		return '\0';
	for (int i = 0; i < 17; i++)
		if (s[i] == '\0')
			return '\0';
	sum = uscc_sum(s);
	if (sum < 0)
		return '\0';
	/* 31 - 0 = 31 is the symbol with value 0. */
	return uscc_alphabet[(31 - sum) % 31];
}

static bool
registration_known(char authority, char type)
{
	unsigned t = (unsigned char)(type - '0');

	return t >= 1 && t <= 9 && ((uscc_types[(unsigned char)authority] >> t) & 1);
}

/* Positions 3-8: six digits of a province-level division, or 100000 (central level). */
static bool
region_plausible(const char *r)
{
	int prov;

	for (int i = 0; i < 6; i++)
		if ((unsigned char)(r[i] - '0') > 9)
			return false;
	prov = (r[0] - '0') * 10 + (r[1] - '0');
	return prov == 10 || idn_province_known(prov);
}

/* Validates a folded value of n bytes. Reads s completely before writing *out (s may
 * point into *out); on failure *out is left for the caller to clear. */
static enum idn_reason
check_folded(const char *s, size_t n, struct idn_uscc *out)
{
	char c[18];
	int sum;

	if (n != 18)
		return idn_length_reason(s, n);
	memcpy(c, s, 18);
	sum = uscc_sum(c);
	if (sum < 0 || uscc_val1[(unsigned char)c[17]] == 0)
		return IDN_BAD_CHARSET;
	if (uscc_alphabet[(31 - sum) % 31] != c[17])
		return IDN_BAD_CHECKSUM;
	if (!registration_known(c[0], c[1]))
		return IDN_BAD_REGISTRATION;
	if (!region_plausible(c + 2))
		return IDN_BAD_REGION;
	if (idn_orgcode_check_char(c + 8) != c[16])
		return IDN_BAD_ORG_CODE;
	memcpy(out->canonical, c, 18);
	out->canonical[18] = '\0';
	memcpy(out->org_code, c + 8, 9);
	out->org_code[9] = '\0';
	out->authority = c[0];
	out->type = c[1];
	memcpy(out->region, c + 2, 6);
	out->region[6] = '\0';
	return IDN_OK;
}

enum idn_reason
idn_uscc_check_folded(const char *s, size_t n, struct idn_uscc *out)
{
	enum idn_reason r = idn_folded_reason(s, n);

	if (r == IDN_OK)
		r = check_folded(s, n, out);
	if (r != IDN_OK)
		memset(out, 0, sizeof(*out));
	return r;
}

enum idn_reason
idn_uscc_check(const char *in, size_t len, struct idn_uscc *out)
{
	char buf[IDN_INPUT_MAX + 1];
	size_t n;
	enum idn_reason r = idn_fold_reason(in, len, buf, &n);

	if (r != IDN_OK) {
		memset(out, 0, sizeof(*out));
		return r;
	}
	return idn_uscc_check_folded(buf, n, out);
}

/* ---- kinds of legal person ---- */

/* The (authority, type) pairs that define a kind (idnum.h). */
static const struct {
	char authority, type;
	enum idn_org_kind kind;
} uscc_kinds[] = {
	{ '1', '1', IDN_ORG_KIND_GOVERNMENT_AGENCY },
	{ '1', '2', IDN_ORG_KIND_PUBLIC_INSTITUTION },
	{ '1', '3', IDN_ORG_KIND_SOCIAL_ORGANIZATION },
	{ '5', '1', IDN_ORG_KIND_SOCIAL_ORGANIZATION },
	{ '5', '2', IDN_ORG_KIND_SOCIAL_ORGANIZATION },
	{ '5', '3', IDN_ORG_KIND_SOCIAL_ORGANIZATION },
	{ '9', '1', IDN_ORG_KIND_ENTERPRISE },
	{ '9', '2', IDN_ORG_KIND_INDIVIDUAL_BUSINESS },
};

static const char *const org_kind_names[] = {
	[IDN_ORG_KIND_UNSPECIFIED] = "unspecified",
	[IDN_ORG_KIND_ENTERPRISE] = "enterprise",
	[IDN_ORG_KIND_INDIVIDUAL_BUSINESS] = "individual_business",
	[IDN_ORG_KIND_SOCIAL_ORGANIZATION] = "social_organization",
	[IDN_ORG_KIND_GOVERNMENT_AGENCY] = "government_agency",
	[IDN_ORG_KIND_PUBLIC_INSTITUTION] = "public_institution",
};

#define ORG_KINDS (sizeof(org_kind_names) / sizeof(org_kind_names[0]))

enum idn_org_kind
idn_uscc_kind(const struct idn_uscc *u)
{
	for (size_t i = 0; i < sizeof(uscc_kinds) / sizeof(uscc_kinds[0]); i++)
		if (uscc_kinds[i].authority == u->authority && uscc_kinds[i].type == u->type)
			return uscc_kinds[i].kind;
	return IDN_ORG_KIND_UNSPECIFIED;
}

const char *
idn_org_kind_str(enum idn_org_kind k)
{
	return (unsigned)k < ORG_KINDS ? org_kind_names[k] : "unspecified";
}

int
idn_org_kind_parse(const char *s, enum idn_org_kind *out)
{
	for (size_t i = 0; s != NULL && i < ORG_KINDS; i++)
		if (strcmp(s, org_kind_names[i]) == 0) {
			*out = (enum idn_org_kind)i;
			return 0;
		}
	return YH_ERR_INVALID;
}
