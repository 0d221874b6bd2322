/*
 * argon2id hashing and verification, the scheme table and the dispatcher. The legacy
 * schemes live in passwd_legacy.c.
 *
 * Stored argon2id strings are parsed here, not by libargon2's decoder, so that the
 * cost parameters can be bounded before any memory is allocated and compared with
 * the current cost (needs_rehash); the recomputed hash is compared with yh_ct_eq.
 */
#include <stdlib.h>
#include <string.h>
#include <argon2.h>

#include "common/b64.h"
#include "common/buf.h"
#include "common/secmem.h"
#include "identity/passwd/passwd.h"

#define PHC_SALT_MIN 8
#define PHC_SALT_MAX 64
#define PHC_HASH_MIN 16
#define PHC_HASH_MAX 64

/* A decoded "$argon2id$v=19$m=..,t=..,p=..$salt$hash". */
struct phc {
	struct pw_params params;
	unsigned char salt[PHC_SALT_MAX];
	size_t saltlen;
	unsigned char hash[PHC_HASH_MAX];
	size_t hashlen;
};

static const char *const scheme_names[] = {
	"argon2id",
	"md5-hex", "sha1-hex", "sha256-hex",
	"md5-salt", "sha1-salt", "sha256-salt",
	"md5-saltfirst", "sha1-saltfirst", "sha256-saltfirst",
	"pbkdf2-sha256",
	"crypt",
	"plain",
	NULL,
};

void
pw_params_default(struct pw_params *p)
{
	p->t_cost = PW_T_COST_DEFAULT;
	p->m_cost_kib = PW_M_COST_KIB_DEFAULT;
	p->parallelism = PW_PARALLELISM_DEFAULT;
}

void
pw_params_test(struct pw_params *p)
{
	p->t_cost = 1;
	p->m_cost_kib = 64;
	p->parallelism = 1;
}

int
pw_params_check(const struct pw_params *p)
{
	if (p == NULL)
		return YH_ERR_INVALID;
	if (p->t_cost < PW_T_COST_MIN || p->t_cost > PW_T_COST_MAX)
		return YH_ERR_INVALID;
	if (p->parallelism < PW_PARALLELISM_MIN || p->parallelism > PW_PARALLELISM_MAX)
		return YH_ERR_INVALID;
	if (p->m_cost_kib < PW_M_COST_KIB_MIN || p->m_cost_kib > PW_M_COST_KIB_MAX)
		return YH_ERR_INVALID;
	if (p->m_cost_kib < 8 * p->parallelism)
		return YH_ERR_INVALID;
	return 0;
}

bool
pw_scheme_valid(const char *scheme)
{
	if (scheme == NULL)
		return false;
	for (size_t i = 0; scheme_names[i] != NULL; i++)
		if (strcmp(scheme, scheme_names[i]) == 0)
			return true;
	return false;
}

bool
pw_scheme_storable(const char *scheme)
{
	return pw_scheme_valid(scheme) && strcmp(scheme, PW_SCHEME_PLAIN) != 0;
}

bool
pw_scheme_is_legacy(const char *scheme)
{
	return pw_scheme_valid(scheme) && strcmp(scheme, PW_SCHEME_ARGON2ID) != 0;
}

const char *const *
pw_scheme_names(void)
{
	return scheme_names;
}

static int
argon2_to_yh(int rc)
{
	switch (rc) {
	case ARGON2_OK:
		return 0;
	case ARGON2_MEMORY_ALLOCATION_ERROR:
		return YH_ERR_ALLOC;
	case ARGON2_PWD_TOO_LONG:
		return YH_ERR_TOO_LONG;
	default:
		return YH_ERR_CRYPTO;
	}
}

int
pw_hash(const struct pw_params *p, const char *password, size_t len, char **encoded_out)
{
	unsigned char salt[PW_SALT_BYTES];
	char *enc = NULL;
	size_t enclen;
	int rc;

	if (encoded_out != NULL)
		*encoded_out = NULL;
	if (encoded_out == NULL || password == NULL || pw_params_check(p) != 0)
		return YH_ERR_INVALID;
	if (len > PW_PASSWORD_MAX)
		return YH_ERR_TOO_LONG;
	if ((rc = yh_random(salt, sizeof(salt))) != 0)
		goto out;
	enclen = argon2_encodedlen(p->t_cost, p->m_cost_kib, p->parallelism,
	    sizeof(salt), PW_HASH_BYTES, Argon2_id);
	if ((enc = calloc(1, enclen + 1)) == NULL) {
		rc = YH_ERR_ALLOC;
		goto out;
	}
	rc = argon2_to_yh(argon2id_hash_encoded(p->t_cost, p->m_cost_kib, p->parallelism,
	    password, len, salt, sizeof(salt), PW_HASH_BYTES, enc, enclen + 1));
	if (rc != 0)
		goto out;
	*encoded_out = enc;
	enc = NULL;
out:
	yh_wipe(salt, sizeof(salt));
	free(enc);
	return rc;
}

/* Decodes unpadded standard base64 (the PHC alphabet) of at most outmax bytes. */
static int
phc_b64_decode(struct yh_span s, unsigned char *out, size_t outmax, size_t *outlen)
{
	char tmp[128];
	size_t n = s.len;

	*outlen = 0;
	if (n == 0 || n + 3 >= sizeof(tmp) || n % 4 == 1)
		return YH_ERR_INVALID;
	memcpy(tmp, s.p, n);
	for (size_t i = 0; i < n; i++)
		if (tmp[i] == '=')
			return YH_ERR_INVALID;
	while (n % 4 != 0)
		tmp[n++] = '=';
	if (yh_b64_decode(tmp, n, out, outmax, outlen) != 0)
		return YH_ERR_INVALID;
	return 0;
}

/* Parses "m=<u32>,t=<u32>,p=<u32>" in that order. */
static int
phc_parse_params(struct yh_span s, struct pw_params *out)
{
	static const char *const keys[] = { "m=", "t=", "p=" };
	uint32_t *dst[] = { &out->m_cost_kib, &out->t_cost, &out->parallelism };
	struct yh_span tok;
	uint64_t v;

	for (size_t i = 0; i < 3; i++) {
		if (yh_span_split(&s, ',', &tok) != 0)
			return YH_ERR_INVALID;
		if (!yh_span_startswith(tok, keys[i]))
			return YH_ERR_INVALID;
		tok.p += 2;
		tok.len -= 2;
		if (yh_span_u64(tok, 0, UINT32_MAX, &v) != 0)
			return YH_ERR_INVALID;
		*dst[i] = (uint32_t)v;
	}
	if (s.p != NULL)
		return YH_ERR_INVALID;   /* trailing ",keyid=..." or ",data=..." */
	return pw_params_check(out);
}

static int
phc_parse(const char *encoded, struct phc *out)
{
	struct yh_span s = yh_span_cstr(encoded), tok;

	memset(out, 0, sizeof(*out));
	if (yh_span_check(s, PW_HASH_MAX) != 0)
		return YH_ERR_INVALID;
	/* The string starts with '$', so the first token is empty. */
	if (yh_span_split(&s, '$', &tok) != 0 || tok.len != 0)
		return YH_ERR_INVALID;
	if (yh_span_split(&s, '$', &tok) != 0 || !yh_span_eq(tok, "argon2id"))
		return YH_ERR_INVALID;
	if (yh_span_split(&s, '$', &tok) != 0 || !yh_span_eq(tok, "v=19"))
		return YH_ERR_INVALID;
	if (yh_span_split(&s, '$', &tok) != 0 || phc_parse_params(tok, &out->params) != 0)
		return YH_ERR_INVALID;
	if (yh_span_split(&s, '$', &tok) != 0 ||
	    phc_b64_decode(tok, out->salt, sizeof(out->salt), &out->saltlen) != 0 ||
	    out->saltlen < PHC_SALT_MIN)
		return YH_ERR_INVALID;
	if (yh_span_split(&s, '$', &tok) != 0 ||
	    phc_b64_decode(tok, out->hash, sizeof(out->hash), &out->hashlen) != 0 ||
	    out->hashlen < PHC_HASH_MIN)
		return YH_ERR_INVALID;
	if (s.p != NULL)
		return YH_ERR_INVALID;
	return 0;
}

static bool
params_weaker(const struct pw_params *stored, const struct pw_params *cur)
{
	return stored->t_cost < cur->t_cost || stored->m_cost_kib < cur->m_cost_kib ||
	    stored->parallelism < cur->parallelism;
}

static int
argon2id_raw(const struct pw_params *p, const char *pw, size_t pwlen,
    const unsigned char *salt, size_t saltlen, unsigned char *out, size_t outlen)
{
	return argon2_to_yh(argon2_hash(p->t_cost, p->m_cost_kib, p->parallelism, pw, pwlen,
	    salt, saltlen, out, outlen, NULL, 0, Argon2_id, ARGON2_VERSION_13));
}

static int
verify_argon2id(const char *hash, const char *pw, size_t pwlen,
    const struct pw_params *cur, bool *needs_rehash)
{
	struct phc phc;
	unsigned char calc[PHC_HASH_MAX];
	int rc;

	if ((rc = phc_parse(hash, &phc)) != 0)
		goto out;
	rc = argon2id_raw(&phc.params, pw, pwlen, phc.salt, phc.saltlen, calc, phc.hashlen);
	if (rc != 0)
		goto out;
	if (!yh_ct_eq(calc, phc.hash, phc.hashlen)) {
		rc = YH_ERR_AUTH;
		goto out;
	}
	*needs_rehash = params_weaker(&phc.params, cur) || phc.saltlen < PW_SALT_BYTES ||
	    phc.hashlen < PW_HASH_BYTES;
out:
	yh_wipe(calc, sizeof(calc));
	yh_wipe(&phc, sizeof(phc));
	return rc;
}

int
pw_verify(const char *scheme, const char *hash, const char *salt, const char *password,
    size_t pwlen, const struct pw_params *current, bool *needs_rehash)
{
	struct pw_params defaults;
	bool rehash = false;
	int rc;

	if (needs_rehash != NULL)
		*needs_rehash = false;
	if (current == NULL) {
		pw_params_default(&defaults);
		current = &defaults;
	}
	if (scheme == NULL || hash == NULL || password == NULL)
		return YH_ERR_INVALID;
	if (!pw_scheme_valid(scheme))
		return YH_ERR_UNSUPPORTED;
	if (pwlen > PW_PASSWORD_MAX)
		return YH_ERR_TOO_LONG;
	if (strlen(hash) > PW_HASH_MAX || (salt != NULL && strlen(salt) > PW_SALT_MAX))
		return YH_ERR_TOO_LONG;
	if (strcmp(scheme, PW_SCHEME_ARGON2ID) == 0)
		rc = verify_argon2id(hash, password, pwlen, current, &rehash);
	else
		rc = pw_legacy_verify(scheme, hash, salt != NULL ? salt : "", password, pwlen);
	if (rc == 0 && needs_rehash != NULL)
		*needs_rehash = rehash || pw_scheme_is_legacy(scheme);
	return rc;
}

int
pw_verify_dummy(const struct pw_params *current, const char *password, size_t len)
{
	/* Fixed salt and target: the value never matches anything (a 2^-256 chance). */
	static const char salt[] = "yihao-dummy-salt";   /* 16 bytes used */
	static const unsigned char target[PW_HASH_BYTES] = { 0 };
	struct pw_params defaults;
	unsigned char calc[PW_HASH_BYTES];
	int rc;

	if (current == NULL) {
		pw_params_default(&defaults);
		current = &defaults;
	}
	if (password == NULL || pw_params_check(current) != 0)
		return YH_ERR_INVALID;
	if (len > PW_PASSWORD_MAX)
		return YH_ERR_TOO_LONG;
	rc = argon2id_raw(current, password, len, (const unsigned char *)salt, PW_SALT_BYTES,
	    calc, sizeof(calc));
	if (rc == 0) {
		(void)yh_ct_eq(calc, target, sizeof(calc));
		rc = YH_ERR_AUTH;
	}
	yh_wipe(calc, sizeof(calc));
	return rc;
}
