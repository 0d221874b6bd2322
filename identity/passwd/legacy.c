/*
 * Legacy password schemes found in department databases: bare and salted hex
 * digests, Django PBKDF2, crypt(3) strings through libxcrypt, and plaintext. Each one
 * only verifies; a match always means "rehash with argon2id". Digests go through
 * OpenSSL EVP and are compared with yh_ct_eq; nothing derived from the password
 * outlives the call.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <crypt.h>
#include <openssl/evp.h>

#include "common/b64.h"
#include "common/buf.h"
#include "common/secmem.h"
#include "identity/passwd/passwd.h"

/* A stored bcrypt cost or SHA-crypt round count above these is treated as malformed:
 * a poisoned row must not pin a worker thread for minutes. */
#define BCRYPT_COST_MAX 16
#define YESCRYPT_MEM_MAX (64u * 1024 * 1024) /* bytes of memory a stored $y$ may ask */
#define SHACRYPT_ROUNDS_MAX 2000000u

enum salt_pos { SALT_NONE, SALT_AFTER, SALT_BEFORE };

struct digest_scheme {
	const char *name;
	const char *md;          /* OpenSSL digest name */
	enum salt_pos salt;
};

static const struct digest_scheme digest_schemes[] = {
	{ "md5-hex", "MD5", SALT_NONE },
	{ "sha1-hex", "SHA1", SALT_NONE },
	{ "sha256-hex", "SHA256", SALT_NONE },
	{ "md5-salt", "MD5", SALT_AFTER },
	{ "sha1-salt", "SHA1", SALT_AFTER },
	{ "sha256-salt", "SHA256", SALT_AFTER },
	{ "md5-saltfirst", "MD5", SALT_BEFORE },
	{ "sha1-saltfirst", "SHA1", SALT_BEFORE },
	{ "sha256-saltfirst", "SHA256", SALT_BEFORE },
};

/* Hashes [salt ||] password [|| salt] into out (EVP_MAX_MD_SIZE bytes). */
static int
digest_compute(const EVP_MD *md, enum salt_pos pos, const char *salt,
    const char *pw, size_t pwlen, unsigned char *out, unsigned int *outlen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t saltlen = strlen(salt);
	int ok;

	if (ctx == NULL)
		return YH_ERR_ALLOC;
	ok = EVP_DigestInit_ex(ctx, md, NULL) == 1 &&
	    (pos != SALT_BEFORE || EVP_DigestUpdate(ctx, salt, saltlen) == 1) &&
	    EVP_DigestUpdate(ctx, pw, pwlen) == 1 &&
	    (pos != SALT_AFTER || EVP_DigestUpdate(ctx, salt, saltlen) == 1) &&
	    EVP_DigestFinal_ex(ctx, out, outlen) == 1;
	EVP_MD_CTX_free(ctx);   /* cleanses the digest state */
	return ok ? 0 : YH_ERR_CRYPTO;
}

static int
verify_digest(const struct digest_scheme *ds, const char *hash, const char *salt,
    const char *pw, size_t pwlen)
{
	unsigned char want[EVP_MAX_MD_SIZE], got[EVP_MAX_MD_SIZE];
	unsigned int gotlen = 0;
	size_t mdlen;
	const EVP_MD *md;
	int rc;

	if ((md = EVP_get_digestbyname(ds->md)) == NULL)
		return YH_ERR_UNSUPPORTED;
	mdlen = (size_t)EVP_MD_get_size(md);
	if (strlen(hash) != 2 * mdlen || yh_hex_decode(hash, 2 * mdlen, want, mdlen) != 0)
		return YH_ERR_INVALID;
	if ((rc = digest_compute(md, ds->salt, salt, pw, pwlen, got, &gotlen)) != 0)
		goto out;
	if (gotlen != mdlen) {
		rc = YH_ERR_INTERNAL;
		goto out;
	}
	rc = yh_ct_eq(got, want, mdlen) ? 0 : YH_ERR_AUTH;
out:
	yh_wipe(got, sizeof(got));
	yh_wipe(want, sizeof(want));
	return rc;
}

/* Django: "pbkdf2_sha256$<iterations>$<salt>$<base64 of the derived key>". */
static int
verify_pbkdf2(const char *hash, const char *pw, size_t pwlen)
{
	struct yh_span s = yh_span_cstr(hash), tok, salt;
	unsigned char want[64], got[64];
	size_t wantlen = 0;
	uint64_t iter;
	int rc = YH_ERR_INVALID;

	if (yh_span_split(&s, '$', &tok) != 0 || !yh_span_eq(tok, "pbkdf2_sha256"))
		goto out;
	if (yh_span_split(&s, '$', &tok) != 0 ||
	    yh_span_u64(tok, 1, PW_PBKDF2_ITER_MAX, &iter) != 0)
		goto out;
	if (yh_span_split(&s, '$', &salt) != 0 || salt.len == 0)
		goto out;
	if (yh_span_split(&s, '$', &tok) != 0 || s.p != NULL)
		goto out;
	if (yh_b64_decode(tok.p, tok.len, want, sizeof(want), &wantlen) != 0 ||
	    wantlen < 16)
		goto out;
	if (PKCS5_PBKDF2_HMAC(pw, (int)pwlen, (const unsigned char *)salt.p, (int)salt.len,
	    (int)iter, EVP_sha256(), (int)wantlen, got) != 1) {
		rc = YH_ERR_CRYPTO;
		goto out;
	}
	rc = yh_ct_eq(got, want, wantlen) ? 0 : YH_ERR_AUTH;
out:
	yh_wipe(got, sizeof(got));
	yh_wipe(want, sizeof(want));
	return rc;
}

static bool
is_crypt64(char c)
{
	return c == '.' || c == '/' || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	    (c >= 'a' && c <= 'z');
}

/* True when hash looks like a crypt(3) string of a method we do not accept:
 * "$<id>$..." with an id of 1-10 lower-case letters and digits, traditional DES (13 characters) or BSDi ("_" + 19). */
static bool
crypt_other_method(const char *hash)
{
	size_t n = strlen(hash);
	const char *d;

	if (hash[0] == '$') {
		if ((d = strchr(hash + 1, '$')) == NULL || d - hash < 2 || d - hash > 11)
			return false;
		for (const char *c = hash + 1; c < d; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')))
				return false;
		return true;
	}
	if (n == 13 || (n == 20 && hash[0] == '_')) {
		for (size_t i = hash[0] == '_' ? 1 : 0; i < n; i++)
			if (!is_crypt64(hash[i]))
				return false;
		return true;
	}
	return false;
}

/* Checks the method prefix and the cost bounds. UNSUPPORTED for other methods
 * (traditional DES, $7$, $gy$, ...), INVALID for out-of-bounds costs. */
/* The value of one crypt64 digit ("./0-9A-Za-z"), or -1. */
static int
crypt64_value(char c)
{
	static const char digits[] =
	    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	const char *p = c != '\0' ? strchr(digits, c) : NULL;

	return p != NULL ? (int)(p - digits) : -1;
}

/*
 * A stored yescrypt hash names its own cost, and nothing else stops a poisoned row from
 * asking for gigabytes: the parameters must be the plain three-character form (flags
 * 'j', N_log2 - 1, r - 1, as crypt64 digits) and 128 * N * r at most
 * YESCRYPT_MEM_MAX (4x libxcrypt's default "j9T", 16 MiB).
 */
static int
yescrypt_cost_check(const char *params)
{
	int nlog, r;

	if (strlen(params) < 4 || params[3] != '$' || params[0] != 'j')
		return YH_ERR_INVALID;
	if ((nlog = crypt64_value(params[1])) < 0 || (r = crypt64_value(params[2])) < 0)
		return YH_ERR_INVALID;
	nlog += 1;
	r += 1;
	if (nlog > 30 || (uint64_t)128 * ((uint64_t)1 << nlog) * (uint64_t)r > YESCRYPT_MEM_MAX)
		return YH_ERR_INVALID;
	return 0;
}

static int
crypt_setting_check(const char *hash)
{
	struct yh_span s = yh_span_cstr(hash), tok;
	uint64_t v;

	if (strncmp(hash, "$2b$", 4) == 0 || strncmp(hash, "$2y$", 4) == 0 ||
	    strncmp(hash, "$2a$", 4) == 0) {
		s.p += 4;
		s.len -= 4;
		if (yh_span_split(&s, '$', &tok) != 0 || tok.len != 2 ||
		    yh_span_u64(tok, 4, BCRYPT_COST_MAX, &v) != 0)
			return YH_ERR_INVALID;
		return 0;
	}
	if (strncmp(hash, "$5$", 3) == 0 || strncmp(hash, "$6$", 3) == 0) {
		if (strncmp(hash + 3, "rounds=", 7) != 0)
			return 0;
		s.p += 10;
		s.len -= 10;
		if (yh_span_split(&s, '$', &tok) != 0 ||
		    yh_span_u64(tok, 1000, SHACRYPT_ROUNDS_MAX, &v) != 0)
			return YH_ERR_INVALID;
		return 0;
	}
	if (strncmp(hash, "$y$", 3) == 0)
		return yescrypt_cost_check(hash + 3);
	if (strncmp(hash, "$1$", 3) == 0)
		return 0;
	return crypt_other_method(hash) ? YH_ERR_UNSUPPORTED : YH_ERR_INVALID;
}

/* The stored string must be a complete crypt(3) output: crypt echoes the setting and
 * appends its hash, so a well-formed string reproduces its own length exactly. */
static int
verify_crypt(const char *hash, const char *pw, size_t pwlen)
{
	struct crypt_data *cd = NULL;
	char *pwz = NULL;
	const char *r, *tail;
	int rc;

	if ((rc = crypt_setting_check(hash)) != 0)
		goto out;
	if (crypt_checksalt(hash) == CRYPT_SALT_INVALID) {
		rc = YH_ERR_INVALID;
		goto out;
	}
	tail = strrchr(hash, '$') + 1;
	if (strncmp(hash, "$2", 2) == 0)
		tail = strlen(hash) > 29 ? hash + 29 : hash + strlen(hash);
	if (*tail == '\0') {
		rc = YH_ERR_INVALID;
		goto out;
	}
	for (const char *c = tail; *c != '\0'; c++)
		if (!is_crypt64(*c)) {
			rc = YH_ERR_INVALID;
			goto out;
		}
	if (memchr(pw, '\0', pwlen) != NULL) {
		rc = YH_ERR_AUTH;    /* crypt would see a shorter password */
		goto out;
	}
	cd = calloc(1, sizeof(*cd));
	pwz = malloc(pwlen + 1);
	if (cd == NULL || pwz == NULL) {
		rc = YH_ERR_ALLOC;
		goto out;
	}
	memcpy(pwz, pw, pwlen);
	pwz[pwlen] = '\0';
	errno = 0;
	r = crypt_rn(pwz, hash, cd, (int)sizeof(*cd));
	if (r == NULL || r[0] == '*') {
		rc = errno == ENOMEM ? YH_ERR_ALLOC : YH_ERR_INVALID;
		goto out;
	}
	if (strlen(r) != strlen(hash)) {
		rc = YH_ERR_INVALID;
		goto out;
	}
	rc = yh_ct_streq(r, hash) ? 0 : YH_ERR_AUTH;
out:
	yh_freezero(cd, cd != NULL ? sizeof(*cd) : 0);
	yh_freezero(pwz, pwz != NULL ? pwlen + 1 : 0);
	return rc;
}

/* Plaintext: compare SHA-256 of both sides, so neither the contents nor the length
 * of the stored value shows in the timing. */
static int
verify_plain(const char *stored, const char *pw, size_t pwlen)
{
	unsigned char a[EVP_MAX_MD_SIZE], b[EVP_MAX_MD_SIZE];
	unsigned int alen = 0, blen = 0;
	int rc;

	if ((rc = digest_compute(EVP_sha256(), SALT_NONE, "", stored, strlen(stored), a,
	    &alen)) != 0)
		goto out;
	if ((rc = digest_compute(EVP_sha256(), SALT_NONE, "", pw, pwlen, b, &blen)) != 0)
		goto out;
	rc = yh_ct_eq(a, b, 32) ? 0 : YH_ERR_AUTH;
out:
	yh_wipe(a, sizeof(a));
	yh_wipe(b, sizeof(b));
	return rc;
}

int
pw_legacy_verify(const char *scheme, const char *hash, const char *salt,
    const char *password, size_t pwlen)
{
	if (scheme == NULL || hash == NULL || salt == NULL || password == NULL)
		return YH_ERR_INVALID;
	if (pwlen > PW_PASSWORD_MAX)
		return YH_ERR_TOO_LONG;
	for (size_t i = 0; i < sizeof(digest_schemes) / sizeof(digest_schemes[0]); i++)
		if (strcmp(scheme, digest_schemes[i].name) == 0)
			return verify_digest(&digest_schemes[i], hash, salt, password, pwlen);
	if (strcmp(scheme, "pbkdf2-sha256") == 0)
		return verify_pbkdf2(hash, password, pwlen);
	if (strcmp(scheme, "crypt") == 0)
		return verify_crypt(hash, password, pwlen);
	if (strcmp(scheme, PW_SCHEME_PLAIN) == 0)
		return verify_plain(hash, password, pwlen);
	return YH_ERR_UNSUPPORTED;
}
