/*
 * Identifier folding, code point by code point (prefix yh_fold_): what a clerk's or a
 * citizen's spelling of an ID number or a phone number differs in from the canonical
 * digits. The one definition that the ID-number folding (identity/idn/reason.c idn_fold),
 * the name and phone matching keys (identity/match/matchkey.c) and the log redactor
 * (common/log.c) all use, so that whatever the login lookup reads as a number the logs
 * recognize as one too. Pure functions, no locale.
 */
#ifndef YH_COMMON_FOLD_H
#define YH_COMMON_FOLD_H

#include <stdbool.h>
#include <stdint.h>

/* Full-width ASCII (U+FF01-U+FF5E) to ASCII and the ideographic space U+3000 to ' ';
 * any other code point is returned as it is. */
uint32_t yh_fold_width(uint32_t cp);

/* True for a space that identifier folding drops: ASCII white space, no-break and
 * typographic spaces (U+00A0, U+1680, U+2000-U+200A, U+202F, U+205F, U+3000), line and
 * paragraph separators (U+2028, U+2029) and the zero-width ones (U+200B-U+200D, U+2060,
 * U+FEFF). */
bool yh_fold_is_space(uint32_t cp);

/* True for a hyphen or dash that identifier folding drops: '-', U+2010-U+2015 (hyphens,
 * figure dash, en and em dashes, horizontal bar), U+2212 (minus), U+FE58 and U+FE63
 * (small em dash, small hyphen-minus). The full-width U+FF0D is '-' after yh_fold_width. */
bool yh_fold_is_dash(uint32_t cp);

#endif
