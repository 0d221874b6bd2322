/*
 * Unit tests for identity/passwd: argon2id, every legacy scheme, needs_rehash,
 * malformed stored hashes.
 *
 * How the vectors were made (password "s3cret-口令" in UTF-8 unless noted, salt
 * "NaCl:42"):
 *   hex digests:   python3 hashlib, e.g. hashlib.md5(pw + salt).hexdigest(); md5-hex
 *                  cross-checked with `printf %s "$P" | openssl dgst -md5`
 *   pbkdf2-sha256: python3 hashlib.pbkdf2_hmac("sha256", pw, b"Yx4fAqK2pU1r", 1000),
 *                  base64; cross-checked with `openssl kdf ... PBKDF2`
 *   $1$ $5$ $6$:   `openssl passwd -1|-5|-6 -salt ...` (independent of libxcrypt)
 *   $5$rounds=, $2b$, $2y$, $y$: python3 crypt.crypt (3.11, libxcrypt); the $y$ setting
 *                  from crypt_gensalt("$y$", 1, ...)
 *   $2a$:          the OpenBSD/John-the-Ripper bcrypt vector "U*U"
 *   argon2id:      the libargon2 reference vector (test.c: "password", "somesalt",
 *                  t=2, m=65536, p=1) and one made with argon2id_hash_encoded(t=1,
 *                  m=64, p=1, salt "0123456789abcdef").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/err.h"
#include "identity/passwd/passwd.h"

#define PW "s3cret-\xe5\x8f\xa3\xe4\xbb\xa4"
#define SALT "NaCl:42"

struct vec {
	const char *scheme;
	const char *hash;
	const char *salt;
};

static const struct vec digest_vecs[] = {
	{ "md5-hex", "f4df98c55896cef219d1b5b83cc6e402", NULL },
	{ "sha1-hex", "41886f8d017d1831ccaacd5618c34d7130a46dee", NULL },
	{ "sha256-hex", "2920f0fd8a0ba9ad30d6b12acc00eb0cd58edf7e6bdee32a79211664bf7bf8f2",
	    NULL },
	{ "md5-salt", "dd67585c8be773220698202a128cc091", SALT },
	{ "sha1-salt", "6de7a54abae735c01525f968b19a9f8d1cd4723e", SALT },
	{ "sha256-salt", "eb8bb20a74f4630e2f1f39b5aa5f01daa2ffc92e35554c7a42e032f8b66b64bc",
	    SALT },
	{ "md5-saltfirst", "5e4b2f0070da3288c72ec7d0be822126", SALT },
	{ "sha1-saltfirst", "23b91dabd38e65ae8ea21af104ccd5c8da0c0783", SALT },
	{ "sha256-saltfirst",
	    "1be60357c91a1b66b4d84ac82893dffe4881a7de553b7bad52c6d8c003891682", SALT },
};

static const char *const crypt_vecs[] = {
	"$1$saltsalt$wo/U1BuqKJqm/Mp.v6D9u0",
	"$5$saltsaltsaltsalt$cDEDqIq5oO0m507TkFh8a2mOGsUDmLPqsISY/ORwoo7",
	"$5$rounds=10000$saltsaltsaltsalt$YKeWp8TJ71YKXaAX3XjCPHhH2f4nMyni.ToWPfiCXl1",
	("$6$saltsaltsaltsalt$8cpKHKFtz68OtUs5yHxhZhhmyD.ZmK4BKvPTraU3Gyp3RlWoxQ5UkCqv8kXgxel2"
	    "Ao8ACXBdAfxEiYXp8AVKw/"),
	"$2b$04$VC/5S1UvYLoMtiOY./05M.hNz79l.wAELohK0xZl35yG87TpSCfW2",
	"$2y$05$abcdefghijklmnopqrstuu5b1QmsFf.MeOzJ0KYb/cSGK2na8vKQC",
	"$y$j75$k2XAnEHBqQ1Ct2aMXFKNa/$7aIbuHnw9/nmUOvNEUfbhXYFYkSMU4Od0bRd4SiZwjC",
};

#define PBKDF2_VEC "pbkdf2_sha256$1000$Yx4fAqK2pU1r$No6j1Xogh68Dadj0/XYrvpfrQpNXdr0J//5OHYf/2/c="
#define ARGON2_REF "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$" \
	"CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
#define ARGON2_CHEAP "$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$" \
	"X30184lwaWacprToy6mgwMSMlYiqxPGeCnc46BOFD5M"

/* Verifies and returns the code; *rehash gets needs_rehash. */
static int
check(const char *scheme, const char *hash, const char *salt, const char *pw,
    bool *rehash)
{
	struct pw_params cur;

	pw_params_test(&cur);
	*rehash = true;   /* must be overwritten */
	return pw_verify(scheme, hash, salt, pw, strlen(pw), &cur, rehash);
}

static void
expect_match(const char *scheme, const char *hash, const char *salt)
{
	bool rehash;

	assert_int_equal(check(scheme, hash, salt, PW, &rehash), 0);
	assert_true(rehash);
	assert_int_equal(check(scheme, hash, salt, PW "x", &rehash), YH_ERR_AUTH);
	assert_false(rehash);
	assert_int_equal(check(scheme, hash, salt, "", &rehash), YH_ERR_AUTH);
	assert_int_equal(check(scheme, hash, salt, "s3cret-", &rehash), YH_ERR_AUTH);
}

static void
upper(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'a' && *s <= 'f')
			*s = (char)(*s - 'a' + 'A');
}

static void
test_digest_schemes(void **state)
{
	char buf[128];
	bool rehash;

	(void)state;
	for (size_t i = 0; i < sizeof(digest_vecs) / sizeof(digest_vecs[0]); i++) {
		const struct vec *v = &digest_vecs[i];

		expect_match(v->scheme, v->hash, v->salt);
		/* Upper-case hex verifies too. */
		snprintf(buf, sizeof(buf), "%s", v->hash);
		upper(buf);
		assert_string_not_equal(buf, v->hash);
		expect_match(v->scheme, buf, v->salt);
		/* A salted scheme with another salt (or none) does not match. */
		if (v->salt != NULL) {
			assert_int_equal(check(v->scheme, v->hash, "NaCl:43", PW, &rehash),
			    YH_ERR_AUTH);
			assert_int_equal(check(v->scheme, v->hash, NULL, PW, &rehash),
			    YH_ERR_AUTH);
		}
		/* Malformed: one digit short, a non-hex digit, one digit too many. */
		snprintf(buf, sizeof(buf), "%s", v->hash);
		buf[strlen(buf) - 1] = '\0';
		assert_int_equal(check(v->scheme, buf, v->salt, PW, &rehash), YH_ERR_INVALID);
		assert_false(rehash);
		snprintf(buf, sizeof(buf), "%s", v->hash);
		buf[3] = 'g';
		assert_int_equal(check(v->scheme, buf, v->salt, PW, &rehash), YH_ERR_INVALID);
		snprintf(buf, sizeof(buf), "%s0", v->hash);
		assert_int_equal(check(v->scheme, buf, v->salt, PW, &rehash), YH_ERR_INVALID);
		assert_int_equal(check(v->scheme, "", v->salt, PW, &rehash), YH_ERR_INVALID);
	}
	/* salt vs saltfirst are different constructions. */
	assert_int_equal(check("md5-saltfirst", digest_vecs[3].hash, SALT, PW, &rehash),
	    YH_ERR_AUTH);
}

static void
test_pbkdf2(void **state)
{
	static const char *const bad[] = {
		"pbkdf2_sha256$1000$Yx4fAqK2pU1r",
		"pbkdf2_sha256$1000$Yx4fAqK2pU1r$No6j1Xogh68Dadj0/XYrvpfrQpNXdr0J//5OHYf/2/c=$",
		"pbkdf2_sha1$1000$Yx4fAqK2pU1r$No6j1Xogh68Dadj0/XYrvpfrQpNXdr0J//5OHYf/2/c=",
		"pbkdf2_sha256$0$Yx4fAqK2pU1r$No6j1Xogh68Dadj0/XYrvpfrQpNXdr0J//5OHYf/2/c=",
		"pbkdf2_sha256$-1$Yx4fAqK2pU1r$No6j1Xogh68Dadj0/XYrvpfrQpNXdr0J//5OHYf/2/c=",
		"pbkdf2_sha256$99999999999$Yx4fAqK2pU1r$No6j1Xogh68Dadj0/XYrvpfrQpNXdr0J//5OHY=",
		"pbkdf2_sha256$1000$$No6j1Xogh68Dadj0/XYrvpfrQpNXdr0J//5OHYf/2/c=",
		"pbkdf2_sha256$1000$Yx4fAqK2pU1r$No6j1Xogh68Dadj0/XYrvpfrQpNXdr0J//5OHYf/2/c",
		"pbkdf2_sha256$1000$Yx4fAqK2pU1r$No6j1Xogh68D!dj0/XYrvpfrQpNXdr0J//5OHYf/2/c=",
		"pbkdf2_sha256$1000$Yx4fAqK2pU1r$AAAA",
		"",
	};
	bool rehash;

	(void)state;
	expect_match("pbkdf2-sha256", PBKDF2_VEC, NULL);
	/* Another salt in the string: no match. */
	assert_int_equal(check("pbkdf2-sha256",
	    "pbkdf2_sha256$1000$Yx4fAqK2pU1s$No6j1Xogh68Dadj0/XYrvpfrQpNXdr0J//5OHYf/2/c=",
	    NULL, PW, &rehash), YH_ERR_AUTH);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(check("pbkdf2-sha256", bad[i], NULL, PW, &rehash),
		    YH_ERR_INVALID);
		assert_false(rehash);
	}
}

static void
test_crypt(void **state)
{
	static const char *const invalid[] = {
		"$1$saltsalt$wo/U1BuqKJqm/Mp.v6D9u",     /* one character short */
		"$1$saltsalt$wo/U1BuqKJqm/Mp.v6D9u0x",   /* one too many */
		"$6$saltsaltsaltsalt",                   /* setting only */
		"$6$saltsaltsaltsalt$",
		"$5$saltsaltsaltsalt$cDEDqIq5oO0m507TkFh8a2mOGsUDmLPqsISY/ORwoo!",
		"$5$rounds=99999999$saltsaltsaltsalt$YKeWp8TJ71YKXaAX3XjCPHhH2f4nMyni.ToWPfiCXl1",
		"$5$rounds=x$saltsaltsaltsalt$YKeWp8TJ71YKXaAX3XjCPHhH2f4nMyni.ToWPfiCXl1",
		"$2b$31$VC/5S1UvYLoMtiOY./05M.hNz79l.wAELohK0xZl35yG87TpSCfW2",
		"$2b$4$VC/5S1UvYLoMtiOY./05M.hNz79l.wAELohK0xZl35yG87TpSCfW2",
		"$2b$04$VC/5S1UvYLoMtiOY./05M.hNz79l.wAELohK0xZl35yG87TpSCfW",
		"$2b$04$",
		/* yescrypt asking for 256 MiB (N = 2^18, r = 8): over the cost cap */
		"$y$jF5$abcdefgh$TNfXE.pvEsUzZqCI9SxL5WLrv3ihvu0jypTpWR7ROSB",
		/* yescrypt with extra parameters or unknown flags */
		"$y$j9T.$abcdefgh$TNfXE.pvEsUzZqCI9SxL5WLrv3ihvu0jypTpWR7ROSB",
		"$y$k9T$abcdefgh$TNfXE.pvEsUzZqCI9SxL5WLrv3ihvu0jypTpWR7ROSB",
		"",
		"not a hash",
	};
	static const char *const unsupported[] = {
		"abJnggxhB/yWI",                          /* traditional DES */
		"_J9..CCCCXBrJUJV154M",                   /* BSDi extended DES */
		"$7$CU..../....2Q9obwLhin8mOAqH5WPsHb$abc",  /* scrypt: not in our list */
		"$sha1$40000$jtNX3nZ2$hBNaIXkt4wBI2o5rsi8KejSjNqIq",
	};
	bool rehash;
	const char nulpw[] = "s3cret-\0x";

	(void)state;
	for (size_t i = 0; i < sizeof(crypt_vecs) / sizeof(crypt_vecs[0]); i++)
		expect_match("crypt", crypt_vecs[i], NULL);
	assert_int_equal(check("crypt",
	    "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", NULL, "U*U",
	    &rehash), 0);
	assert_true(rehash);
	assert_int_equal(check("crypt",
	    "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", NULL, "U*V",
	    &rehash), YH_ERR_AUTH);
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		assert_int_equal(check("crypt", invalid[i], NULL, PW, &rehash), YH_ERR_INVALID);
		assert_false(rehash);
	}
	for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
		assert_int_equal(check("crypt", unsupported[i], NULL, PW, &rehash),
		    YH_ERR_UNSUPPORTED);
	/* A password with a NUL byte never matches the hash of its prefix. */
	assert_int_equal(pw_verify("crypt", crypt_vecs[0], NULL, nulpw, sizeof(nulpw) - 1,
	    NULL, &rehash), YH_ERR_AUTH);
}

static void
test_plain(void **state)
{
	bool rehash;

	(void)state;
	expect_match("plain", PW, NULL);
	assert_int_equal(check("plain", "", NULL, "", &rehash), 0);
	assert_true(rehash);
	assert_int_equal(check("plain", PW, NULL, PW PW, &rehash), YH_ERR_AUTH);
	assert_false(pw_scheme_storable("plain"));
	assert_true(pw_scheme_valid("plain"));
}

static void
test_argon2id_vectors(void **state)
{
	struct pw_params cur, weak = { 1, 64, 1 }, ref = { 2, 65536, 1 };
	bool rehash;

	(void)state;
	/* The libargon2 reference vector: 8-byte salt, t=2 < 3: verifies, needs rehash
	 * against the defaults and even against its own cost (salt shorter than ours). */
	assert_int_equal(pw_verify("argon2id", ARGON2_REF, NULL, "password", 8, NULL,
	    &rehash), 0);
	assert_true(rehash);
	assert_int_equal(pw_verify("argon2id", ARGON2_REF, NULL, "password", 8, &ref,
	    &rehash), 0);
	assert_true(rehash);
	assert_int_equal(pw_verify("argon2id", ARGON2_REF, NULL, "passwore", 8, &ref,
	    &rehash), YH_ERR_AUTH);
	assert_false(rehash);

	/* Our own cheap vector: no rehash at equal cost, rehash when any part is higher. */
	pw_params_test(&cur);
	assert_memory_equal(&cur, &weak, sizeof(cur));
	assert_int_equal(pw_verify("argon2id", ARGON2_CHEAP, NULL, PW, strlen(PW), &cur,
	    &rehash), 0);
	assert_false(rehash);
	cur.t_cost = 2;
	assert_int_equal(pw_verify("argon2id", ARGON2_CHEAP, NULL, PW, strlen(PW), &cur,
	    &rehash), 0);
	assert_true(rehash);
	pw_params_test(&cur);
	cur.m_cost_kib = 128;
	assert_int_equal(pw_verify("argon2id", ARGON2_CHEAP, NULL, PW, strlen(PW), &cur,
	    &rehash), 0);
	assert_true(rehash);
	pw_params_test(&cur);
	cur.parallelism = 2;
	assert_int_equal(pw_verify("argon2id", ARGON2_CHEAP, NULL, PW, strlen(PW), &cur,
	    &rehash), 0);
	assert_true(rehash);
	/* A current cost lower than the stored one is no reason to rehash. */
	pw_params_test(&cur);
	cur.m_cost_kib = 32;
	assert_int_equal(pw_verify("argon2id", ARGON2_CHEAP, NULL, PW, strlen(PW), &cur,
	    &rehash), 0);
	assert_false(rehash);
	assert_int_equal(check("argon2id", ARGON2_CHEAP, NULL, "s3cret", &rehash),
	    YH_ERR_AUTH);
}

static void
test_argon2id_malformed(void **state)
{
	static const char *const bad[] = {
		"$argon2i$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$X30184lwaWacprToy6mgwMSMlYiqxPGeCnc46BOFD5M",
		"$argon2id$v=16$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$X30184lwaWacprToy6mgwMSMlYiqxPGeCnc46BOFD5M",
		"$argon2id$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$X30184lwaWacprToy6mgwMSMlYiqxPGeCnc46BOFD5M",
		"$argon2id$v=19$t=1,m=64,p=1$MDEyMzQ1Njc4OWFiY2RlZg$X30184lwaWacprToy6mgwMSMlYiqxPGeCnc46BOFD5M",
		"$argon2id$v=19$m=4,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$X30184lwaWacprToy6mgwMSMlYiqxPGeCnc46BOFD5M",
		"$argon2id$v=19$m=99999999,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$X30184lwaWacprToy6mgwMSMlYiqxPGeCnc46BOFD5M",
		"$argon2id$v=19$m=64,t=0,p=1$MDEyMzQ1Njc4OWFiY2RlZg$X30184lwaWacprToy6mgwMSMlYiqxPGeCnc46BOFD5M",
		"$argon2id$v=19$m=64,t=1,p=1000$MDEyMzQ1Njc4OWFiY2RlZg$X30184lwaWacprToy6mgwMSMlYiqxPGeCnc46BOFD5M",
		"$argon2id$v=19$m=64,t=1,p=1,data=abc$MDEyMzQ1Njc4OWFiY2RlZg$X30184lwaWacprToy6mgwMSMlYiqxPGeCnc46BOFD5M",
		"$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg==$X30184lwaWacprToy6mgwMSMlYiqxPGeCnc46BOFD5M",
		"$argon2id$v=19$m=64,t=1,p=1$MDEy$X30184lwaWacprToy6mgwMSMlYiqxPGeCnc46BOFD5M",
		"$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$X30184lwaWac",
		"$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$X30184lwaWacprToy6mgwMSMlYiqxPGeCnc46BOFD5M$",
		"$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$X30184lwaWacprToy6mgw_SMlYiqxPGeCnc46BOFD5M",
		"$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg",
		"argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$X30184lwaWacprToy6mgwMSMlYiqxPGeCnc46BOFD5M",
		"",
		"$",
	};
	bool rehash;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(check("argon2id", bad[i], NULL, PW, &rehash), YH_ERR_INVALID);
		assert_false(rehash);
	}
}

static void
test_argon2id_roundtrip(void **state)
{
	struct pw_params p;
	char *a = NULL, *b = NULL;
	bool rehash = true;
	const char bin[] = "pw\0with\xff bytes";

	(void)state;
	pw_params_test(&p);
	assert_int_equal(pw_hash(&p, PW, strlen(PW), &a), 0);
	assert_int_equal(pw_hash(&p, PW, strlen(PW), &b), 0);
	assert_non_null(a);
	assert_true(strncmp(a, "$argon2id$v=19$m=64,t=1,p=1$",
	    strlen("$argon2id$v=19$m=64,t=1,p=1$")) == 0);
	assert_string_not_equal(a, b);   /* fresh salt each time */
	assert_int_equal(pw_verify("argon2id", a, NULL, PW, strlen(PW), &p, &rehash), 0);
	assert_false(rehash);
	assert_int_equal(pw_verify("argon2id", b, "ignored", PW, strlen(PW), &p, &rehash), 0);
	assert_int_equal(pw_verify("argon2id", a, NULL, PW, strlen(PW) - 1, &p, &rehash),
	    YH_ERR_AUTH);
	free(a);
	free(b);
	a = NULL;
	/* Any bytes, including NUL, are part of the password. */
	assert_int_equal(pw_hash(&p, bin, sizeof(bin) - 1, &a), 0);
	assert_int_equal(pw_verify("argon2id", a, NULL, bin, sizeof(bin) - 1, &p, &rehash), 0);
	assert_int_equal(pw_verify("argon2id", a, NULL, bin, 2, &p, &rehash), YH_ERR_AUTH);
	free(a);
	a = NULL;
	/* Empty passwords hash (policy lives elsewhere). */
	assert_int_equal(pw_hash(&p, "", 0, &a), 0);
	assert_int_equal(pw_verify("argon2id", a, NULL, "", 0, &p, &rehash), 0);
	free(a);
}

static void
test_params_and_limits(void **state)
{
	struct pw_params p, bad;
	char *out = (char *)1;
	char big[PW_PASSWORD_MAX + 2];
	bool rehash = true;

	(void)state;
	pw_params_default(&p);
	assert_int_equal(p.t_cost, 2);
	assert_int_equal(p.m_cost_kib, 19456);
	assert_int_equal(p.parallelism, 1);
	assert_int_equal(pw_params_check(&p), 0);
	pw_params_test(&p);
	assert_int_equal(pw_params_check(&p), 0);
	bad = p;
	bad.t_cost = 0;
	assert_int_equal(pw_params_check(&bad), YH_ERR_INVALID);
	bad = p;
	bad.parallelism = 16;   /* needs m >= 128 */
	assert_int_equal(pw_params_check(&bad), YH_ERR_INVALID);
	assert_int_equal(pw_hash(&bad, "x", 1, &out), YH_ERR_INVALID);
	assert_null(out);

	memset(big, 'a', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(pw_hash(&p, big, PW_PASSWORD_MAX + 1, &out), YH_ERR_TOO_LONG);
	assert_int_equal(pw_verify("md5-hex", digest_vecs[0].hash, NULL, big,
	    PW_PASSWORD_MAX + 1, &p, &rehash), YH_ERR_TOO_LONG);
	assert_false(rehash);
	assert_int_equal(pw_verify("plain", big, NULL, "a", 1, &p, &rehash), YH_ERR_TOO_LONG);
	assert_int_equal(pw_verify("md5-salt", digest_vecs[3].hash, big, "a", 1, &p,
	    &rehash), YH_ERR_TOO_LONG);

	assert_int_equal(pw_verify("md5", digest_vecs[0].hash, NULL, PW, strlen(PW), &p,
	    &rehash), YH_ERR_UNSUPPORTED);
	assert_int_equal(pw_verify("", "x", NULL, PW, strlen(PW), &p, &rehash),
	    YH_ERR_UNSUPPORTED);
	assert_int_equal(pw_verify("MD5-HEX", digest_vecs[0].hash, NULL, PW, strlen(PW), &p,
	    &rehash), YH_ERR_UNSUPPORTED);
	assert_int_equal(pw_verify("md5-hex", NULL, NULL, PW, strlen(PW), &p, &rehash),
	    YH_ERR_INVALID);
	assert_int_equal(pw_verify(NULL, "x", NULL, PW, strlen(PW), &p, &rehash),
	    YH_ERR_INVALID);
	/* needs_rehash may be NULL. */
	assert_int_equal(pw_verify("md5-hex", digest_vecs[0].hash, NULL, PW, strlen(PW), &p,
	    NULL), 0);
}

static void
test_scheme_list(void **state)
{
	const char *const *names = pw_scheme_names();
	size_t n = 0;

	(void)state;
	for (; names[n] != NULL; n++) {
		assert_true(pw_scheme_valid(names[n]));
		assert_int_equal(pw_scheme_storable(names[n]), strcmp(names[n], "plain") != 0);
		assert_int_equal(pw_scheme_is_legacy(names[n]),
		    strcmp(names[n], "argon2id") != 0);
	}
	assert_int_equal(n, 13);
	assert_false(pw_scheme_valid("bcrypt"));
	assert_false(pw_scheme_valid(NULL));
	assert_false(pw_scheme_storable("nope"));
	assert_false(pw_scheme_is_legacy("nope"));
}

static void
test_dummy(void **state)
{
	struct pw_params p, bad = { 0, 64, 1 };

	(void)state;
	pw_params_test(&p);
	assert_int_equal(pw_verify_dummy(&p, PW, strlen(PW)), YH_ERR_AUTH);
	assert_int_equal(pw_verify_dummy(&p, "", 0), YH_ERR_AUTH);
	assert_int_equal(pw_verify_dummy(&bad, PW, strlen(PW)), YH_ERR_INVALID);
	assert_int_equal(pw_verify_dummy(&p, PW, PW_PASSWORD_MAX + 1), YH_ERR_TOO_LONG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digest_schemes),
		cmocka_unit_test(test_pbkdf2),
		cmocka_unit_test(test_crypt),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_argon2id_vectors),
		cmocka_unit_test(test_argon2id_malformed),
		cmocka_unit_test(test_argon2id_roundtrip),
		cmocka_unit_test(test_params_and_limits),
		cmocka_unit_test(test_scheme_list),
		cmocka_unit_test(test_dummy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
