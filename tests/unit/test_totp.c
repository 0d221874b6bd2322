/*
 * Unit tests for identity/totp: the RFC 6238 appendix B vectors (SHA-1, 8 digits, and
 * their 6-digit truncation), the +-1 step window, code parsing, replay refusal through
 * the directory, base32 (RFC 4648 section 10) and the otpauth:// URI.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/config.h"
#include "common/secmem.h"
#include "identity/dir/dir.h"
#include "identity/identity.h"
#include "identity/idn/idnum.h"
#include "identity/totp.h"

static const unsigned char rfc_seed[] = "12345678901234567890";
#define RFC_SEED_LEN 20

static const struct {
	int64_t t;
	const char *code8;
} rfc_vectors[] = {
	{ 59, "94287082" },
	{ 1111111109, "07081804" },
	{ 1111111111, "14050471" },
	{ 1234567890, "89005924" },
	{ 2000000000, "69279037" },
	{ 20000000000, "65353130" },
};

static void
test_rfc6238_vectors(void **state)
{
	char code[16];

	(void)state;
	for (size_t i = 0; i < sizeof(rfc_vectors) / sizeof(rfc_vectors[0]); i++) {
		assert_int_equal(totp_generate(rfc_seed, RFC_SEED_LEN, rfc_vectors[i].t, 8, code,
		    sizeof(code)), 0);
		assert_string_equal(code, rfc_vectors[i].code8);
		/* 6 digits: the same dynamic truncation modulo 10^6, i.e. the last 6 digits. */
		assert_int_equal(totp_generate(rfc_seed, RFC_SEED_LEN, rfc_vectors[i].t, 6, code,
		    sizeof(code)), 0);
		assert_string_equal(code, rfc_vectors[i].code8 + 2);
		/* ... which totp_check accepts at that time, at the matching step. */
		int64_t step = -7;
		assert_int_equal(totp_check(rfc_seed, RFC_SEED_LEN, rfc_vectors[i].t, code, &step), 0);
		assert_int_equal(step, rfc_vectors[i].t / 30);
	}
	assert_int_equal(totp_generate(rfc_seed, RFC_SEED_LEN, 59, 5, code, sizeof(code)),
	    YH_ERR_INVALID);
	assert_int_equal(totp_generate(rfc_seed, RFC_SEED_LEN, 59, 6, code, 6), YH_ERR_INVALID);
	assert_int_equal(totp_generate(rfc_seed, 0, 59, 6, code, sizeof(code)), YH_ERR_INVALID);
	assert_int_equal(totp_generate(rfc_seed, RFC_SEED_LEN, -1, 6, code, sizeof(code)),
	    YH_ERR_INVALID);
}

static void
test_window(void **state)
{
	const int64_t now = 1700000015;   /* 15 s into step 56666667 */
	const int64_t s = now / 30;
	char code[8];
	int64_t step;

	(void)state;
	for (int d = -3; d <= 3; d++) {
		assert_int_equal(totp_generate(rfc_seed, RFC_SEED_LEN, (s + d) * 30, 6, code,
		    sizeof(code)), 0);
		int r = totp_check(rfc_seed, RFC_SEED_LEN, now, code, &step);
		if (d >= -1 && d <= 1) {
			assert_int_equal(r, 0);
			assert_int_equal(step, s + d);
		} else {
			/* A code two steps away is refused (unless by chance it equals one
			 * inside the window: not the case for this seed and time). */
			assert_int_equal(r, YH_ERR_AUTH);
			assert_int_equal(step, -1);
		}
	}
	/* Wrong code, wrong seed. */
	assert_int_equal(totp_generate(rfc_seed, RFC_SEED_LEN, now, 6, code, sizeof(code)), 0);
	code[5] = code[5] == '9' ? '0' : (char)(code[5] + 1);
	assert_int_equal(totp_check(rfc_seed, RFC_SEED_LEN, now, code, NULL), YH_ERR_AUTH);
	assert_int_equal(totp_generate(rfc_seed, RFC_SEED_LEN, now, 6, code, sizeof(code)), 0);
	assert_int_equal(totp_check((const unsigned char *)"another seed 0123456", 20, now, code,
	    NULL), YH_ERR_AUTH);
}

static void
test_code_parsing(void **state)
{
	char code[8], typed[16];
	const int64_t now = 1234567890;

	(void)state;
	assert_int_equal(totp_generate(rfc_seed, RFC_SEED_LEN, now, 6, code, sizeof(code)), 0);
	assert_string_equal(code, "005924");
	assert_int_equal(totp_check(rfc_seed, RFC_SEED_LEN, now, " 005924 ", NULL), 0);
	assert_int_equal(totp_check(rfc_seed, RFC_SEED_LEN, now, "005 924", NULL), 0);
	assert_int_equal(totp_check(rfc_seed, RFC_SEED_LEN, now, "００５９２４", NULL), 0);
	assert_int_equal(totp_check(rfc_seed, RFC_SEED_LEN, now, "00５ 9２4", NULL), 0);
	static const char *const bad[] = {
		"", "05924", "0059240", "00592a", "005  924", "0059 2 4", "００５９２", "００５９２４４",
		"\xef\xbc", "00592\xef\xbc", "00592\xef\xbc\x9a",
		"\357\274\21700592", /* U+FF0F then "00592" (octal: an escape ends after 3 digits) */
		"+005924", "-05924", "0x5924", "00592\t4",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(totp_check(rfc_seed, RFC_SEED_LEN, now, bad[i], NULL),
		    YH_ERR_INVALID);
	assert_int_equal(totp_check(rfc_seed, RFC_SEED_LEN, now, NULL, NULL), YH_ERR_INVALID);
	memset(typed, '1', sizeof(typed) - 1);
	typed[sizeof(typed) - 1] = '\0';
	assert_int_equal(totp_check(rfc_seed, RFC_SEED_LEN, now, typed, NULL), YH_ERR_INVALID);
}

static void
test_seed_and_base32(void **state)
{
	unsigned char a[TOTP_SEED_BYTES], b[TOTP_SEED_BYTES];
	char out[64];

	(void)state;
	assert_int_equal(totp_new_seed(a), 0);
	assert_int_equal(totp_new_seed(b), 0);
	assert_false(memcmp(a, b, sizeof(a)) == 0);
	/* RFC 4648 section 10, without padding. */
	static const struct { const char *in, *out; } v[] = {
		{ "", "" }, { "f", "MY" }, { "fo", "MZXQ" }, { "foo", "MZXW6" },
		{ "foob", "MZXW6YQ" }, { "fooba", "MZXW6YTB" }, { "foobar", "MZXW6YTBOI" },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(totp_base32((const unsigned char *)v[i].in, strlen(v[i].in), out,
		    sizeof(out)), 0);
		assert_string_equal(out, v[i].out);
	}
	assert_int_equal(totp_base32(rfc_seed, RFC_SEED_LEN, out, sizeof(out)), 0);
	assert_string_equal(out, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
	assert_int_equal(totp_base32(rfc_seed, RFC_SEED_LEN, out, 32), YH_ERR_TOO_LONG);
}

static void
test_uri(void **state)
{
	char *uri = NULL;

	(void)state;
	assert_int_equal(totp_uri(rfc_seed, RFC_SEED_LEN, NULL, "110101********0011", &uri), 0);
	assert_string_equal(uri, "otpauth://totp/Yihao:110101%2A%2A%2A%2A%2A%2A%2A%2A0011"
	    "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Yihao&algorithm=SHA1&digits=6"
	    "&period=30");
	yh_strfree_secret(uri);
	assert_int_equal(totp_uri(rfc_seed, RFC_SEED_LEN, "一号 Test&Co", "a b", &uri), 0);
	assert_string_equal(uri, "otpauth://totp/%E4%B8%80%E5%8F%B7%20Test%26Co:a%20b"
	    "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=%E4%B8%80%E5%8F%B7%20Test%26Co"
	    "&algorithm=SHA1&digits=6&period=30");
	yh_strfree_secret(uri);
	assert_int_equal(totp_uri(rfc_seed, RFC_SEED_LEN, NULL, "", &uri), YH_ERR_INVALID);
	assert_null(uri);
	assert_int_equal(totp_uri(rfc_seed, RFC_SEED_LEN, NULL, "a\nb", &uri), YH_ERR_INVALID);
	assert_int_equal(totp_uri(rfc_seed, 0, NULL, "x", &uri), YH_ERR_INVALID);
	char longl[200];
	memset(longl, 'a', sizeof(longl) - 1);
	longl[sizeof(longl) - 1] = '\0';
	assert_int_equal(totp_uri(rfc_seed, RFC_SEED_LEN, NULL, longl, &uri), YH_ERR_TOO_LONG);
	assert_null(uri);
}

/* ---- through the directory: confirmation and replay ---- */

struct fx {
	char root[64];
	struct ident_cfg cfg;
	struct ident *id;
	char uid[DIR_UID_LEN + 1];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct yh_cfg_err cerr;
	struct dir_person p;
	char err[512], dir[128], idn[19];

	assert_non_null(f);
	snprintf(f->root, sizeof(f->root), "/tmp/yh-test-totp-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	assert_int_equal(ident_cfg_init(&f->cfg, &cerr), 0);
	snprintf(dir, sizeof(dir), "%s/state", f->root);
	assert_int_equal(yh_cfg_set(ident_cfg_opts, &f->cfg, "state_dir", dir, "test", &cerr), 0);
	assert_int_equal(ident_cfg_finish(&f->cfg, err, sizeof(err)), 0);
	if (ident_open(&f->cfg, true, &f->id, err, sizeof(err)) != 0)
		fail_msg("ident_open: %s", err);
	snprintf(idn, sizeof(idn), "11010119900101001");
	idn[17] = idn_resident_check_char(idn);
	idn[18] = '\0';
	memset(&p, 0, sizeof(p));
	p.id_number = idn;
	p.name = (char *)"张三";
	assert_int_equal(dir_person_add(f->id->dir, &p, f->uid), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[160];

	ident_close(f->id);
	ident_cfg_free(&f->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void
test_verify_and_replay(void **state)
{
	struct fx *f = *state;
	struct dir *d = f->id->dir;
	const int64_t now = 1700000015, s = now / 30;
	char c0[8], cprev[8], cnext[8];
	int64_t step;

	assert_int_equal(totp_verify(d, f->uid, "123456", now, 0, NULL), YH_ERR_NOT_FOUND);
	assert_int_equal(dir_totp_set(d, f->uid, rfc_seed, RFC_SEED_LEN, false), 0);
	assert_int_equal(totp_generate(rfc_seed, RFC_SEED_LEN, now, 6, c0, sizeof(c0)), 0);
	assert_int_equal(totp_generate(rfc_seed, RFC_SEED_LEN, now - 30, 6, cprev, sizeof(cprev)), 0);
	assert_int_equal(totp_generate(rfc_seed, RFC_SEED_LEN, now + 30, 6, cnext, sizeof(cnext)), 0);
	/* Not confirmed: no enrolment for login; enrolment itself may use it. */
	assert_int_equal(totp_verify(d, f->uid, c0, now, 0, NULL), YH_ERR_NOT_FOUND);
	assert_int_equal(totp_verify(d, f->uid, cprev, now, TOTP_ALLOW_UNCONFIRMED, &step), 0);
	assert_int_equal(step, s - 1);
	assert_int_equal(dir_totp_confirm(d, f->uid), 0);
	/* The same code again: replay. */
	assert_int_equal(totp_verify(d, f->uid, cprev, now, 0, NULL), YH_ERR_REPLAY);
	/* The current one is fine once... */
	assert_int_equal(totp_verify(d, f->uid, c0, now, 0, &step), 0);
	assert_int_equal(step, s);
	assert_int_equal(totp_verify(d, f->uid, c0, now, 0, NULL), YH_ERR_REPLAY);
	/* ... a wrong code is a wrong code, whatever was used... */
	char wrong[8];
	memcpy(wrong, c0, sizeof(wrong));
	wrong[5] = wrong[5] == '9' ? '0' : (char)(wrong[5] + 1);
	assert_int_equal(totp_verify(d, f->uid, wrong, now, 0, NULL), YH_ERR_AUTH);
	/* ... the next step is accepted, after which the current one is history. */
	assert_int_equal(totp_verify(d, f->uid, cnext, now, 0, &step), 0);
	assert_int_equal(step, s + 1);
	assert_int_equal(totp_verify(d, f->uid, cnext, now + 30, 0, NULL), YH_ERR_REPLAY);
	assert_int_equal(totp_verify(d, f->uid, "12x456", now, 0, NULL), YH_ERR_INVALID);
	/* A new seed resets the history. */
	assert_int_equal(dir_totp_set(d, f->uid, rfc_seed, RFC_SEED_LEN, true), 0);
	assert_int_equal(totp_verify(d, f->uid, c0, now, 0, NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc6238_vectors),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_code_parsing),
		cmocka_unit_test(test_seed_and_base32),
		cmocka_unit_test(test_uri),
		cmocka_unit_test_setup_teardown(test_verify_and_replay, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
