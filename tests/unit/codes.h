/*
 * Valid organization codes and unified social credit codes for the unit tests, made
 * with identity/'s own check characters. Included by a test after the identity headers.
 */
#ifndef YH_TESTS_CODES_H
#define YH_TESTS_CODES_H

#include <stdio.h>
#include <string.h>

#include "identity/idn/idnum.h"

/* A valid organization code from 8 characters. */
static inline void
make_orgcode(const char *eight, char out[10])
{
	memcpy(out, eight, 8);
	out[8] = idn_orgcode_check_char(out);
	out[9] = '\0';
}

/* A valid credit code: registration authority and type reg (2 characters, "91" an
 * enterprise), region 350100, the organization code made from eight. */
static inline void
make_uscc(const char *reg, const char *eight, char out[19])
{
	char code[10];

	make_orgcode(eight, code);
	snprintf(out, 19, "%s350100%s", reg, code);
	out[17] = idn_uscc_check_char(out);
	out[18] = '\0';
}

#endif
