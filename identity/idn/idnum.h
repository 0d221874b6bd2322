/*
 * Identity numbers: the resident ID number (GB 11643-1999), the unified social credit
 * code (GB 32100-2015) and the organization code (GB 11714). Pure functions, no
 * allocation, safe on any bytes: every input is bounded and every rejection has a
 * stable reason code.
 */
#ifndef YH_IDENTITY_IDNUM_H
#define YH_IDENTITY_IDNUM_H

#include <stdbool.h>
#include <stddef.h>
#include "common/err.h"

/* Inputs longer than this (in bytes, before canonicalization) are rejected as bad_length. */
#define IDN_INPUT_MAX 256

enum idn_reason {
	IDN_OK = 0,
	IDN_EMPTY,             /* "empty": nothing left after canonicalization */
	IDN_BAD_LENGTH,        /* "bad_length" */
	IDN_BAD_CHARSET,       /* "bad_charset" */
	IDN_BAD_CHECKSUM,      /* "bad_checksum" */
	IDN_BAD_BIRTHDATE,     /* "bad_birthdate": not a real date */
	IDN_FUTURE_BIRTHDATE,  /* "future_birthdate" */
	IDN_BAD_REGION,        /* "bad_region": implausible province prefix */
	IDN_BAD_REGISTRATION,  /* "bad_registration": unknown USCC authority/type pair */
	IDN_BAD_ORG_CODE,      /* "bad_org_code": the embedded organization code fails */
	IDN_SCIENTIFIC,        /* "scientific_notation": an Excel-mangled 1.10101E+17 */
};

/* The stable reason code string ("ok", "bad_checksum", ...). Never NULL. */
const char *idn_reason_str(enum idn_reason r);

/* A validated resident ID number. */
struct idn_resident {
	char canonical[19];   /* 18 characters, 'X' upper case */
	int birth_year, birth_month, birth_day;
	char sex;             /* 'M' (odd 17th digit) or 'F' */
	bool foreign;         /* foreign permanent resident (leading 9) */
	bool upgraded;        /* was a 15-digit number */
};

/* A validated unified social credit code. */
struct idn_uscc {
	char canonical[19];
	char org_code[10];    /* positions 9-17, the GB 11714 organization code */
	char authority;       /* registration authority code (position 1) */
	char type;            /* organization type code (position 2) */
	char region[7];       /* positions 3-8, administrative division */
};

/* A validated GB 11714 organization code. */
struct idn_orgcode {
	char canonical[10];   /* 9 characters, no dash */
};

/*
 * Folds an identity-number-like input: full-width ASCII to half-width, removes spaces
 * (ASCII, full-width, NBSP), dashes (ASCII, full-width, en/em), a leading apostrophe
 * (Excel text marker) and surrounding quotes, and upper-cases letters. Writes a NUL-
 * terminated result into out. Returns 0, YH_ERR_TOO_LONG (input over IDN_INPUT_MAX or
 * out too small) or YH_ERR_INVALID (invalid UTF-8 or a NUL byte).
 */
int idn_fold(const char *in, size_t len, char *out, size_t outsz) YH_WUR;

/*
 * Canonicalizes and validates a resident ID number as of today (China Standard Time).
 * 15-digit numbers are upgraded to 18. On IDN_OK *out is filled; otherwise it is zeroed.
 */
enum idn_reason idn_resident_check(const char *in, size_t len, struct idn_resident *out);

/* The same as of a given date (yyyymmdd; 0 means today in China Standard Time): for
 * tests and reproducible imports. */
enum idn_reason idn_resident_check_at(const char *in, size_t len, int today,
    struct idn_resident *out);

/* The MOD 11-2 check character ('0'-'9' or 'X') for 17 digits; '\0' if one of them
 * is not a digit. */
char idn_resident_check_char(const char *digits17);

/* Canonicalizes and validates a unified social credit code. */
enum idn_reason idn_uscc_check(const char *in, size_t len, struct idn_uscc *out);

/* The MOD 31 check character for the first 17 characters of a credit code; '\0' if
 * one of them is outside the alphabet. */
char idn_uscc_check_char(const char *chars17);

/*
 * The kind of a legal person. GB 32100-2015 (Annex A) tells some kinds apart by the
 * credit code's registration authority (position 1) and organization type (position 2):
 *   11 机关 -> government agency          12 事业单位 -> public institution
 *   13 群众团体 (编办) -> social organization
 *   51 社会团体, 52 民办非企业单位, 53 基金会 -> social organization
 *   91 企业 -> enterprise                 92 个体工商户 -> individual business
 * Every other pair (cooperatives, law firms, religious sites, "other" types, ...) says
 * nothing that fits these kinds: IDN_ORG_KIND_UNSPECIFIED, and an operator may set one.
 */
enum idn_org_kind {
	IDN_ORG_KIND_UNSPECIFIED = 0,
	IDN_ORG_KIND_ENTERPRISE,
	IDN_ORG_KIND_INDIVIDUAL_BUSINESS,
	IDN_ORG_KIND_SOCIAL_ORGANIZATION,
	IDN_ORG_KIND_GOVERNMENT_AGENCY,
	IDN_ORG_KIND_PUBLIC_INSTITUTION,
};

/* The kind a validated credit code's positions 1-2 define (see above), or
 * IDN_ORG_KIND_UNSPECIFIED when the standard does not define one. */
enum idn_org_kind idn_uscc_kind(const struct idn_uscc *u);

/* "enterprise", "individual_business", "social_organization", "government_agency",
 * "public_institution" or "unspecified" (never NULL). */
const char *idn_org_kind_str(enum idn_org_kind k);

/* Parses the names above ("unspecified" included). Returns 0 or YH_ERR_INVALID. */
int idn_org_kind_parse(const char *s, enum idn_org_kind *out) YH_WUR;

/* Canonicalizes ("12345678-9" and "123456789" alike) and validates an organization code. */
enum idn_reason idn_orgcode_check(const char *in, size_t len, struct idn_orgcode *out);

/* The MOD 11 check character ('0'-'9' or 'X') for the first 8 characters of an
 * organization code; '\0' if one of them is not a digit or upper-case letter. */
char idn_orgcode_check_char(const char *chars8);

enum idn_kind { IDN_KIND_NONE = 0, IDN_KIND_RESIDENT, IDN_KIND_USCC, IDN_KIND_ORGCODE };

/* "resident_id", "uscc", "org_code" or NULL for IDN_KIND_NONE. */
const char *idn_kind_str(enum idn_kind k);

/* The result of classifying an unknown identifier. */
struct idn_any {
	enum idn_kind kind;       /* what it is (valid) or most likely was meant (invalid) */
	enum idn_reason reason;
	char canonical[19];
	struct idn_resident resident; /* when kind == IDN_KIND_RESIDENT and valid */
	struct idn_uscc uscc;         /* when kind == IDN_KIND_USCC and valid */
};

/*
 * Classifies and validates any of the three kinds: an 18-character value is tried as a
 * resident ID, then as a credit code; 15 digits as a resident ID; 9 (or "8-1") as an
 * organization code. On failure kind is the likeliest intended kind (NONE when no
 * length fits) and reason why it failed. today is yyyymmdd or 0 for today.
 */
enum idn_reason idn_classify(const char *in, size_t len, int today, struct idn_any *out);

/*
 * Masks an identifier for display and logs: keeps the first 6 and last 4 characters of
 * an 18-character number ("110101********0011"); shorter inputs keep less (at most a
 * third visible). Writes a NUL-terminated result into out (outsz >= len + 1).
 */
void idn_mask(const char *canonical, char *out, size_t outsz);

/*
 * True when a folded value (see idn_fold) is a number that a spreadsheet rewrote in
 * scientific notation, such as "1.10105E+17": the digits it stood for are lost.
 */
bool idn_is_scientific(const char *folded, size_t len);

/*
 * The three checks on a value already folded by idn_fold (folded[0..n), NUL-terminated
 * or not): for callers that fold once and try several kinds (idn_classify, imports).
 * Same results as the unfolded entry points; *out zeroed unless IDN_OK. today as for
 * idn_resident_check_at.
 */
enum idn_reason idn_resident_check_folded(const char *folded, size_t n, int today,
    struct idn_resident *out);
enum idn_reason idn_uscc_check_folded(const char *folded, size_t n, struct idn_uscc *out);
enum idn_reason idn_orgcode_check_folded(const char *folded, size_t n,
    struct idn_orgcode *out);

/*
 * The first steps of every check. idn_fold_reason folds in (see idn_fold) into buf
 * (IDN_INPUT_MAX + 1 bytes; *n its length) and returns IDN_OK, or the reason the raw
 * input is refused: IDN_BAD_LENGTH (too long) or IDN_BAD_CHARSET (NUL byte, malformed
 * UTF-8). idn_folded_reason returns IDN_EMPTY, IDN_SCIENTIFIC or IDN_OK for a folded value.
 */
enum idn_reason idn_fold_reason(const char *in, size_t len, char *buf, size_t *n);
enum idn_reason idn_folded_reason(const char *folded, size_t n);

/*
 * The reason to give a folded value whose length fits no kind: bad_charset when it holds
 * a non-ASCII character (its length in bytes means little), else bad_length.
 */
enum idn_reason idn_length_reason(const char *folded, size_t len);

/*
 * True when code (two digits, 11..83) is a province-level division that appears as the
 * first two digits of resident ID numbers: 11-15, 21-23, 31-37, 41-46, 50-54, 61-65,
 * 71 (Taiwan), 81 (Hong Kong), 82 (Macao), 83 (Taiwan residents' residence permits).
 */
bool idn_province_known(int code);

#endif
