/*
 * Matching keys: names and phone numbers folded so that the same person written by two
 * departments' clerks compares equal. Used by idmerge and by login-identifier lookup.
 */
#ifndef YH_IDENTITY_MATCHKEY_H
#define YH_IDENTITY_MATCHKEY_H

#include <stddef.h>
#include <stdint.h>
#include "common/err.h"

/* Names (UTF-8) longer than this in bytes are rejected. */
#define MK_NAME_MAX 256

/*
 * The matching key of a person's name: Unicode width folding (full-width ASCII to half-
 * width), all whitespace removed, the middle-dot variants of minority names
 * (U+00B7 ·, U+2022 •, U+30FB ・, '.', U+2027 ‧, U+FF0E, U+FF65, U+2219, U+22C5, U+318D)
 * folded to U+00B7, Latin letters lower-cased, traditional characters folded to simplified
 * (common surname and given-name characters). Separators at either end are dropped and a
 * run of them counts as one. Returns 0, YH_ERR_INVALID (bad UTF-8, a control character or
 * empty result) or YH_ERR_TOO_LONG (name over MK_NAME_MAX, or out too small: len + 1
 * bytes always suffice except that each ASCII '.' separator grows by one byte).
 */
int mk_name_key(const char *name, size_t len, char *out, size_t outsz) YH_WUR;

/*
 * The matching key of a phone number: full-width digits folded, separators (spaces,
 * dashes, dots, parentheses) removed, a +86 / 86 / 0086 prefix dropped from a mainland
 * mobile number, giving 11 digits starting with 1; a landline keeps its area code
 * ("010-8888 6666" -> "01088886666"; with +86 the leading 0 is restored). A bare "86"
 * is taken as the country code only before an 11-digit mobile number, and the long-
 * distance 0 once dialled before a mobile ("013812345678") is dropped. Numbers without
 * an area code, other countries' numbers and extensions are YH_ERR_INVALID (not a
 * plausible mainland number); an input over 64 bytes or an out too small for the key
 * is YH_ERR_TOO_LONG (13 bytes always suffice).
 */
int mk_phone_key(const char *phone, size_t len, char *out, size_t outsz) YH_WUR;

/*
 * Masks a phone number for display: the first 3 and last 4 digits kept
 * ("13812345678" -> "138****5678"); shorter values keep less. out >= strlen(phone)+1.
 */
void mk_phone_mask(const char *phone, char *out, size_t outsz);

/*
 * Masks a person's name for display: the first character (the family name) kept and
 * every later character shown as '*' ("张三丰" -> "张**", "Li Lei" -> "L*****"). A name
 * that is not valid UTF-8 is all '*'. out is "" when it is too small (4 bytes per
 * character of name plus one always suffice).
 */
void mk_name_mask(const char *name, char *out, size_t outsz);

/* True when a phone key is a mainland mobile number (11 digits starting with 1). */
int mk_phone_is_mobile(const char *key);

/*
 * The simplified form of a traditional Chinese character (a Unicode code point), or cp
 * itself when the table (identity/match/tradsimp.c) has no entry for it. Pure, no allocation.
 */
uint32_t mk_trad_to_simp(uint32_t cp);

/* The number of pairs in that table, and pair i (traditional returned, simplified in
 * *simp; 0 and 0 past the end): for tests. */
size_t mk_trad_to_simp_count(void);
uint32_t mk_trad_to_simp_entry(size_t i, uint32_t *simp);

#endif
