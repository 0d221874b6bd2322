/*
 * libFuzzer target for the identity-number parsers and matching keys. Every parser gets
 * the same bytes; beyond "no crash, no sanitizer report" it checks invariants: folding
 * is idempotent and never grows the input, a valid result's canonical form re-validates
 * to itself, classification agrees with the direct checks, keys are stable.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "identity/idn/idnum.h"
#include "identity/match/matchkey.h"

#define FUZZ_TODAY 20261122

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static void
fuzz_fold(const char *s, size_t n)
{
	char out[IDN_INPUT_MAX + 1], again[IDN_INPUT_MAX + 1];
	size_t len;

	if (idn_fold(s, n, out, sizeof(out)) != 0) {
		CHECK(out[0] == '\0');
		return;
	}
	len = strlen(out);
	CHECK(len <= n);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)out[i];

		CHECK(!(c >= 'a' && c <= 'z') && c != ' ' && c != '-' && c != '\t');
	}
	CHECK(idn_fold(out, len, again, sizeof(again)) == 0);
	CHECK(strcmp(out, again) == 0);
}

static void
fuzz_resident(const char *s, size_t n)
{
	struct idn_resident r, r2;

	if (idn_resident_check_at(s, n, FUZZ_TODAY, &r) != IDN_OK) {
		CHECK(r.canonical[0] == '\0');
		return;
	}
	CHECK(strlen(r.canonical) == 18);
	CHECK(idn_resident_check_char(r.canonical) == r.canonical[17]);
	CHECK(r.sex == 'M' || r.sex == 'F');
	CHECK(r.birth_year * 10000 + r.birth_month * 100 + r.birth_day <= FUZZ_TODAY);
	CHECK(idn_resident_check_at(r.canonical, 18, FUZZ_TODAY, &r2) == IDN_OK);
	CHECK(strcmp(r.canonical, r2.canonical) == 0);
	CHECK(r.birth_year == r2.birth_year && r.sex == r2.sex && !r2.upgraded);
}

static void
fuzz_uscc(const char *s, size_t n)
{
	struct idn_uscc u, u2;
	struct idn_orgcode o;

	if (idn_uscc_check(s, n, &u) != IDN_OK) {
		CHECK(u.canonical[0] == '\0');
		return;
	}
	CHECK(strlen(u.canonical) == 18);
	CHECK(idn_uscc_check_char(u.canonical) == u.canonical[17]);
	CHECK(idn_uscc_check(u.canonical, 18, &u2) == IDN_OK);
	CHECK(strcmp(u.canonical, u2.canonical) == 0);
	CHECK(idn_orgcode_check(u.org_code, strlen(u.org_code), &o) == IDN_OK);
	CHECK(memcmp(o.canonical, u.canonical + 8, 9) == 0);
}

static void
fuzz_orgcode(const char *s, size_t n)
{
	struct idn_orgcode o, o2;

	if (idn_orgcode_check(s, n, &o) != IDN_OK) {
		CHECK(o.canonical[0] == '\0');
		return;
	}
	CHECK(strlen(o.canonical) == 9);
	CHECK(idn_orgcode_check(o.canonical, 9, &o2) == IDN_OK);
	CHECK(strcmp(o.canonical, o2.canonical) == 0);
}

static void
fuzz_classify(const char *s, size_t n)
{
	struct idn_any a;
	struct idn_resident r;
	struct idn_uscc u;
	struct idn_orgcode o;
	char masked[sizeof(a.canonical)];
	enum idn_reason why = idn_classify(s, n, FUZZ_TODAY, &a);

	CHECK(why == a.reason);
	CHECK(idn_reason_str(why) != NULL);
	if (why != IDN_OK)
		return;
	CHECK(a.kind != IDN_KIND_NONE && idn_kind_str(a.kind) != NULL);
	switch (a.kind) {
	case IDN_KIND_RESIDENT:
		CHECK(idn_resident_check_at(s, n, FUZZ_TODAY, &r) == IDN_OK);
		CHECK(strcmp(r.canonical, a.canonical) == 0);
		break;
	case IDN_KIND_USCC:
		CHECK(idn_uscc_check(s, n, &u) == IDN_OK);
		CHECK(strcmp(u.canonical, a.canonical) == 0);
		break;
	case IDN_KIND_ORGCODE:
		CHECK(idn_orgcode_check(s, n, &o) == IDN_OK);
		CHECK(strcmp(o.canonical, a.canonical) == 0);
		break;
	case IDN_KIND_NONE:
		break;
	}
	idn_mask(a.canonical, masked, sizeof(masked));
	CHECK(strlen(masked) == strlen(a.canonical));
	CHECK(strchr(masked, '*') != NULL);
}

static void
fuzz_name(const char *s, size_t n)
{
	char key[MK_NAME_MAX * 2 + 1], again[MK_NAME_MAX * 2 + 1];
	size_t len;

	if (mk_name_key(s, n, key, sizeof(key)) != 0) {
		CHECK(key[0] == '\0');
		return;
	}
	len = strlen(key);
	CHECK(len > 0);
	if (len <= MK_NAME_MAX) {
		CHECK(mk_name_key(key, len, again, sizeof(again)) == 0);
		CHECK(strcmp(key, again) == 0);
	}
}

static void
fuzz_phone(const char *s, size_t n)
{
	char key[32], again[32];
	size_t len;

	if (mk_phone_key(s, n, key, sizeof(key)) != 0) {
		CHECK(key[0] == '\0');
		return;
	}
	len = strlen(key);
	CHECK(len == 11 || len == 12);
	CHECK(strspn(key, "0123456789") == len);
	CHECK(mk_phone_is_mobile(key) == (key[0] == '1'));
	CHECK(mk_phone_key(key, len, again, sizeof(again)) == 0);
	CHECK(strcmp(key, again) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A private copy, so that reads past the end are caught by ASan. */
	char *s = malloc(size ? size : 1);

	if (s == NULL)
		return 0;
	if (size > 0)
		memcpy(s, data, size);
	fuzz_fold(s, size);
	fuzz_resident(s, size);
	fuzz_uscc(s, size);
	fuzz_orgcode(s, size);
	fuzz_classify(s, size);
	fuzz_name(s, size);
	fuzz_phone(s, size);
	free(s);
	return 0;
}
