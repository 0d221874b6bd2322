/*
 * Password hashing. New passwords are hashed with argon2id (libargon2) into a PHC
 * string "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>". Legacy hashes imported from
 * department databases are verified through their own scheme and always answer
 * "needs rehash", so that the caller replaces them with argon2id at the next
 * successful login. Every comparison is constant-time; intermediate buffers are wiped.
 *
 * Schemes (the `scheme` column stored next to a hash):
 *   argon2id                         PHC string from pw_hash (salt argument unused)
 *   md5-hex sha1-hex sha256-hex      hex digest of the password (either case)
 *   md5-salt sha1-salt sha256-salt   hex digest of password || salt
 *   md5-saltfirst sha1-saltfirst sha256-saltfirst   hex digest of salt || password
 *   pbkdf2-sha256                    Django "pbkdf2_sha256$<iter>$<salt>$<base64 hash>"
 *   crypt                            crypt(3) string: $1$ $5$ $6$ $2b$ $2y$ $y$ (libxcrypt)
 *   plain                            legacy plaintext: accepted by pw_verify (so that an
 *                                    import can check it) but never storable: the
 *                                    directory must hash it at import (pw_scheme_storable).
 *
 * All functions are thread-safe. Hashing is slow on purpose (tens of milliseconds with
 * the defaults): call it on a worker thread, never on an event-loop thread.
 */
#ifndef YH_IDENTITY_PASSWD_H
#define YH_IDENTITY_PASSWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/err.h"

/* Defaults: OWASP's minimum for argon2id, 2 passes over 19 MiB with one lane, so that
 * two cores verify about 85 passwords a second (docs/operations.md has the capacity
 * table, tests/bench/bench_passwd measures it). The cost of 64 MiB and 3 passes took
 * 170 ms a login on an idle core (0.8 s on a busy one) and made a burst of logins wait
 * many seconds. */
#define PW_T_COST_DEFAULT 2
#define PW_M_COST_KIB_DEFAULT 19456
#define PW_PARALLELISM_DEFAULT 1

/* Bounds accepted by pw_params_check and by pw_verify on stored argon2id strings
 * (a stored hash asking for more is treated as malformed, so a poisoned database row
 * cannot make the server allocate more than PW_M_COST_KIB_MAX per verification). */
#define PW_T_COST_MIN 1
#define PW_T_COST_MAX 64
#define PW_M_COST_KIB_MIN 8           /* libargon2 also needs m >= 8 * parallelism */
#define PW_M_COST_KIB_MAX (1024u * 1024)   /* 1 GiB */
#define PW_PARALLELISM_MIN 1
#define PW_PARALLELISM_MAX 16

/* Caps on untrusted inputs. Passwords longer than PW_PASSWORD_MAX bytes are refused
 * (YH_ERR_TOO_LONG) by every function, so nobody hashes a megabyte per request. */
#define PW_PASSWORD_MAX 1024
#define PW_HASH_MAX 512      /* stored hash string, any scheme */
#define PW_SALT_MAX 256      /* stored salt string for the *-salt schemes */
#define PW_PBKDF2_ITER_MAX 10000000u
#define PW_SALT_BYTES 16     /* argon2id salt length */
#define PW_HASH_BYTES 32     /* argon2id output length */

/* argon2id cost parameters. */
struct pw_params {
	uint32_t t_cost;      /* passes */
	uint32_t m_cost_kib;  /* memory in KiB */
	uint32_t parallelism; /* lanes (and threads libargon2 may use) */
};

/* Fills *p with the production defaults: t=3, m=65536 KiB (64 MiB), p=1. */
void pw_params_default(struct pw_params *p);

/* Fills *p with a cheap profile for tests only: t=1, m=64 KiB, p=1. */
void pw_params_test(struct pw_params *p);

/* 0 when every field is within the PW_*_MIN/MAX bounds (and m >= 8*p), else
 * YH_ERR_INVALID. Use it when loading the configuration. */
int pw_params_check(const struct pw_params *p) YH_WUR;

/*
 * Hashes a password with argon2id and a fresh random salt. On success *encoded_out is
 * a malloc'd PHC string (free() it; it is not secret). Errors: YH_ERR_INVALID (bad
 * params, NULL password), YH_ERR_TOO_LONG (password over PW_PASSWORD_MAX),
 * YH_ERR_ALLOC (also when libargon2 cannot get its memory), YH_ERR_CRYPTO.
 * *encoded_out is NULL on error. The password may contain any bytes.
 */
int pw_hash(const struct pw_params *p, const char *password, size_t len,
    char **encoded_out) YH_WUR;

/*
 * Verifies a password against a stored hash of the given scheme (see the list above).
 * `salt` is used by the *-salt and *-saltfirst schemes only (NULL means ""), ignored by
 * the others (their salt, if any, is inside `hash`). `current` is the cost the server
 * hashes with now (NULL: the defaults).
 *
 * Returns 0 on a match, YH_ERR_AUTH on a mismatch, YH_ERR_UNSUPPORTED for an unknown
 * scheme (or a crypt(3) string of another method: traditional DES, $7$, $sha1$, ...),
 * YH_ERR_INVALID for a malformed stored hash (bad hex length, broken PHC/Django/crypt
 * string, out-of-bounds cost: argon2id beyond the PW_* bounds, bcrypt cost > 16,
 * SHA-crypt rounds > 2000000, PBKDF2 iterations > PW_PBKDF2_ITER_MAX), YH_ERR_TOO_LONG for a password over PW_PASSWORD_MAX or a hash/salt over its
 * cap, YH_ERR_ALLOC/YH_ERR_CRYPTO on library failure.
 *
 * *needs_rehash (may be NULL) is set only on a match: true for every legacy scheme
 * and "plain", and for argon2id when the stored parameters are weaker than `current`
 * (any of t, m, p lower) or the hash/salt are shorter than what pw_hash produces.
 * It is false whenever the return value is not 0.
 */
int pw_verify(const char *scheme, const char *hash, const char *salt,
    const char *password, size_t pwlen, const struct pw_params *current,
    bool *needs_rehash) YH_WUR;

/*
 * For an unknown user: does the same work as verifying an argon2id hash made with
 * `current` (NULL: the defaults) and always returns YH_ERR_AUTH (or YH_ERR_ALLOC /
 * YH_ERR_TOO_LONG like pw_verify), so that the response time does not tell whether the
 * account exists.
 */
int pw_verify_dummy(const struct pw_params *current, const char *password,
    size_t len) YH_WUR;

/* True when `scheme` is one of the names above (including "plain"). */
bool pw_scheme_valid(const char *scheme);

/* True when a hash of this scheme may be stored in the directory: every valid scheme
 * except "plain". The directory refuses to store anything for which this is false. */
bool pw_scheme_storable(const char *scheme);

/* True for the legacy schemes (everything except "argon2id"). */
bool pw_scheme_is_legacy(const char *scheme);

/* The NULL-terminated list of scheme names, in a stable order. Static storage. */
const char *const *pw_scheme_names(void);

/*
 * Internal (passwd_legacy.c, called by pw_verify after the common checks; exposed for
 * tests): verifies a legacy scheme (anything but "argon2id"). salt is never NULL.
 * Same return values as pw_verify; no rehash answer (legacy always needs one).
 */
int pw_legacy_verify(const char *scheme, const char *hash, const char *salt,
    const char *password, size_t pwlen) YH_WUR;

/* The scheme name of new hashes: "argon2id". */
#define PW_SCHEME_ARGON2ID "argon2id"
#define PW_SCHEME_PLAIN "plain"

#endif
