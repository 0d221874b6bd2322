/*
 * TOTP (RFC 6238 over RFC 4226 HOTP) with liboath: HMAC-SHA-1, 30-second steps from the
 * Unix epoch, 6 digits, a window of one step either side of the current one. A code is
 * accepted at most once: the directory records the last time step used
 * (dir_totp_consume_step), so a step, and every earlier one, cannot be used again.
 *
 * Seeds are 160 random bits (RFC 4226's recommended length). Enrolment hands the seed
 * to the user's authenticator app as an otpauth:// URI (the Google Authenticator "Key
 * Uri Format", understood by every common app) which the account page shows as a QR
 * code; the user confirms with a first code before the seed counts (dir_totp_confirm).
 *
 * Every function is thread-safe. Seeds are secrets: callers wipe them (yh_wipe).
 */
#ifndef YH_IDENTITY_TOTP_H
#define YH_IDENTITY_TOTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/err.h"

struct dir;

#define TOTP_SEED_BYTES 20      /* 160-bit seeds */
#define TOTP_DIGITS 6
#define TOTP_STEP_S 30
#define TOTP_WINDOW 1           /* steps accepted either side of the current one */
#define TOTP_CODE_MAX 8         /* digits accepted by totp_generate (6..8) */
#define TOTP_ISSUER_DEFAULT "Yihao"

/* Fills seed with TOTP_SEED_BYTES random bytes. Returns 0 or YH_ERR_CRYPTO. */
int totp_new_seed(unsigned char seed[TOTP_SEED_BYTES]) YH_WUR;

/* The RFC 6238 time step of Unix time `now` (floor(now / 30)); -1 for now < 0. */
int64_t totp_step_of(int64_t now);

/*
 * Writes the code for time `now` (Unix seconds) with `digits` digits (6..8) and a NUL
 * into out (outsz > digits). For enrolment previews and tests; the login path uses
 * totp_check. Returns 0, YH_ERR_INVALID (empty or over-long seed, bad digits, now < 0,
 * out too small) or YH_ERR_CRYPTO.
 */
int totp_generate(const unsigned char *seed, size_t len, int64_t now, unsigned digits,
    char *out, size_t outsz) YH_WUR;

/*
 * Checks a user-typed code (exactly TOTP_DIGITS digits, ASCII or full-width as a
 * Chinese input method types them; surrounding spaces and one inner space, as in
 * "123 456", are tolerated) against seed at time `now`, within
 * TOTP_WINDOW steps either side. Comparison is constant-time. On a match *step (may be
 * NULL) gets the matching time step, which the caller must then consume
 * (dir_totp_consume_step) before accepting the code. Returns 0, YH_ERR_AUTH (no match),
 * YH_ERR_INVALID (not a code: wrong length or characters, or a bad seed), YH_ERR_CRYPTO.
 */
int totp_check(const unsigned char *seed, size_t len, int64_t now, const char *code,
    int64_t *step) YH_WUR;

#define TOTP_ALLOW_UNCONFIRMED 0x1u   /* accept a seed not yet confirmed (enrolment) */

/*
 * The whole login check for a person: reads uid's enrolment from the directory, checks
 * code at `now` (0 = the current time) and consumes the matching step, so the same code
 * (or an older one) is refused afterwards. Without TOTP_ALLOW_UNCONFIRMED a seed that
 * was never confirmed counts as none. Returns 0, YH_ERR_NOT_FOUND (no usable
 * enrolment), YH_ERR_AUTH (wrong code), YH_ERR_REPLAY (the code's step, or a later
 * one, was already used), YH_ERR_INVALID (not a code), or the directory's errors.
 * On 0, *step (may be NULL) gets the consumed step.
 */
int totp_verify(struct dir *d, const char *uid, const char *code, int64_t now,
    unsigned flags, int64_t *step) YH_WUR;

/*
 * The otpauth:// URI that enrols seed in an authenticator app:
 *   otpauth://totp/ISSUER:LABEL?secret=BASE32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30
 * issuer NULL or "" means TOTP_ISSUER_DEFAULT. label names the account in the app; it
 * is shown on the user's phone, so pass something masked (idn_mask'd ID number, a
 * masked phone number), never a full ID number. Both are percent-encoded (UTF-8 kept as
 * bytes). *out is a malloc'd string holding the secret: free it with
 * yh_strfree_secret. Returns 0, YH_ERR_INVALID (empty seed, empty label, a control
 * byte), YH_ERR_TOO_LONG (issuer or label over 128 bytes, seed over 64), YH_ERR_ALLOC.
 */
int totp_uri(const unsigned char *seed, size_t len, const char *issuer, const char *label,
    char **out) YH_WUR;

/*
 * RFC 4648 base32 (upper case, no padding) of n bytes into out (outsz >= (n*8+4)/5+1).
 * Returns 0 or YH_ERR_TOO_LONG. Exposed for the account page ("enter this key by hand").
 */
int totp_base32(const unsigned char *in, size_t n, char *out, size_t outsz) YH_WUR;

#endif
