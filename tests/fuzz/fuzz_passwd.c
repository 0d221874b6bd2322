/*
 * libFuzzer target for password verification against stored hashes (identity/passwd/passwd.h):
 * the argon2id PHC parser, the legacy digest / Django PBKDF2 / crypt(3) parsers and the
 * plaintext scheme, all through pw_verify with the cheap test cost as `current`.
 *
 * Input: byte 0 picks the scheme (low 5 bits, modulo the scheme list) and the password
 * (top 2 bits: the fixed one, empty, one with a NUL byte inside, a long one); the rest
 * is "HASH" or "HASH\nSALT".
 *
 * Stored hashes whose cost would make one run slow are skipped before pw_verify (the
 * library bounds them, but only to what a login server tolerates, not a fuzzer): argon2id
 * m > 64 KiB, t > 2 or p > 2, PBKDF2 over 100 iterations, SHA-crypt over 1000 rounds,
 * bcrypt above cost 4, yescrypt above N = 2^6 / r = 8 or with extended parameters. The
 * seeds are hashes of FUZZ_PW with those costs, so matches are reached too.
 *
 * Invariants beyond "no crash": the answer is one of those pw_verify documents for bad
 * input (never ALLOC/CRYPTO/INTERNAL here); needs_rehash is false unless it matched and
 * true for every legacy match; a hash that matched one password never matches another.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "identity/passwd/passwd.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

#define FUZZ_PW "yihao-fuzz-pw"
#define FUZZ_PW_OTHER "yihao-fuzz-pX"
#define INPUT_MAX 2048

static const char pw_nul[] = "yihao\0fuzz-pw";

/* The numeric value of a span of digits; UINT64_MAX when it is not one (empty, other
 * characters, or more than 19 digits: what yh_span_u64 refuses anyway). */
static uint64_t
digits(struct yh_span s)
{
	uint64_t v;

	if (yh_span_u64(s, 0, UINT64_MAX, &v) != 0)
		return UINT64_MAX;
	return v;
}

/* The n-th (0-based) field of s split on sep; false when there are fewer. */
static bool
field(struct yh_span s, char sep, unsigned n, struct yh_span *out)
{
	for (unsigned i = 0; i <= n; i++)
		if (yh_span_split(&s, sep, out) != 0)
			return false;
	return true;
}

/* argon2id: any m=/t=/p= token of the parameter field over the caps. Tokens that do not
 * parse make phc_parse fail before hashing, so they cost nothing. */
static bool
argon2_costly(struct yh_span h)
{
	struct yh_span params, tok;

	if (!field(h, '$', 3, &params))
		return false;
	while (yh_span_split(&params, ',', &tok) == 0) {
		uint64_t v;

		if (tok.len < 2 || tok.p[1] != '=')
			continue;
		v = digits(yh_span_mem(tok.p + 2, tok.len - 2));
		if (v == UINT64_MAX)
			continue;
		if ((tok.p[0] == 'm' && v > 64) || (tok.p[0] == 't' && v > 2) ||
		    (tok.p[0] == 'p' && v > 2))
			return true;
	}
	return false;
}

/* Index of c in the crypt(3) base-64 alphabet, 64 when not in it. */
static unsigned
itoa64(char c)
{
	static const char a[] =
	    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	const char *p = c != '\0' ? strchr(a, c) : NULL;

	return p != NULL ? (unsigned)(p - a) : 64;
}

static bool
crypt_costly(const char *h)
{
	struct yh_span s = yh_span_cstr(h), tok;

	if (strncmp(h, "$5$rounds=", 10) == 0 || strncmp(h, "$6$rounds=", 10) == 0) {
		s.p += 10;
		s.len -= 10;
		if (yh_span_split(&s, '$', &tok) != 0)
			return false;
		return digits(tok) != UINT64_MAX && digits(tok) > 1000;
	}
	if (strncmp(h, "$5$", 3) == 0 || strncmp(h, "$6$", 3) == 0)
		return true;                 /* the default: 5000 rounds, milliseconds */
	if (strncmp(h, "$2a$", 4) == 0 || strncmp(h, "$2b$", 4) == 0 ||
	    strncmp(h, "$2y$", 4) == 0)
		return strncmp(h + 4, "04$", 3) != 0;
	if (strncmp(h, "$y$", 3) == 0) {
		/* Unbounded in pw_verify (see the report): only tiny N and r here. */
		s.p += 3;
		s.len -= 3;
		if (yh_span_split(&s, '$', &tok) != 0 || tok.len != 3)
			return true;
		return itoa64(tok.p[1]) > 5 || itoa64(tok.p[2]) > 7;
	}
	return false;
}

static bool
costly(const char *scheme, const char *hash)
{
	struct yh_span h = yh_span_cstr(hash), tok;

	if (strcmp(scheme, PW_SCHEME_ARGON2ID) == 0)
		return argon2_costly(h);
	if (strcmp(scheme, "pbkdf2-sha256") == 0)
		return field(h, '$', 1, &tok) && digits(tok) != UINT64_MAX && digits(tok) > 100;
	if (strcmp(scheme, "crypt") == 0)
		return crypt_costly(hash);
	return false;
}

static bool
rc_expected(int rc)
{
	return rc == 0 || rc == YH_ERR_AUTH || rc == YH_ERR_INVALID ||
	    rc == YH_ERR_UNSUPPORTED || rc == YH_ERR_TOO_LONG;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	yh_log_set_level(YH_LOG_ERROR);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char longpw[PW_PASSWORD_MAX + 1];
	const char *const *names = pw_scheme_names();
	struct pw_params cur;
	char text[INPUT_MAX + 1], *salt = NULL, *nl;
	const char *scheme, *pw;
	size_t nschemes = 0, pwlen;
	bool rehash = true;
	int rc;

	if (size < 1 || size - 1 > INPUT_MAX)
		return 0;
	while (names[nschemes] != NULL)
		nschemes++;
	scheme = names[(data[0] & 0x1F) % nschemes];
	switch (data[0] >> 6) {
	case 0:
		pw = FUZZ_PW;
		pwlen = strlen(FUZZ_PW);
		break;
	case 1:
		pw = "";
		pwlen = 0;
		break;
	case 2:
		pw = pw_nul;
		pwlen = sizeof(pw_nul) - 1;
		break;
	default:
		memset(longpw, 'p', sizeof(longpw));
		pw = longpw;
		pwlen = (size - 1) % 2 ? PW_PASSWORD_MAX : PW_PASSWORD_MAX + 1;
		break;
	}
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (memchr(text, '\0', size - 1) != NULL)
		return 0;                    /* C strings: a NUL would only truncate */
	if ((nl = strchr(text, '\n')) != NULL) {
		*nl = '\0';
		salt = nl + 1;
	}
	if (costly(scheme, text))
		return 0;
	pw_params_test(&cur);
	rc = pw_verify(scheme, text, salt, pw, pwlen, &cur, &rehash);
	CHECK(rc_expected(rc));
	if (rc != 0) {
		CHECK(!rehash);
		return 0;
	}
	CHECK(pwlen <= PW_PASSWORD_MAX);
	if (pw_scheme_is_legacy(scheme))
		CHECK(rehash);
	/* A hash that took this password must refuse another one. */
	rc = pw_verify(scheme, text, salt, FUZZ_PW_OTHER, strlen(FUZZ_PW_OTHER), &cur, NULL);
	CHECK(rc == YH_ERR_AUTH);
	return 0;
}
