/*
 * The PII vault: personal data (resident ID numbers, phone numbers, ...) is stored
 * encrypted and found through a keyed blind index.
 *
 * Ciphers (chosen when the key file is created and recorded in it):
 *   "aes-256-gcm" (default)  AES-256-GCM, 96-bit random nonce, 128-bit tag.
 *   "sm4-gcm"                The SM4 (GB/T 32907) AEAD of this deployment. OpenSSL 3.0
 *                            has no SM4-GCM/SM4-CCM cipher, so it is built as
 *                            SM4-CTR + HMAC-SM3 encrypt-then-MAC (128-bit random IV,
 *                            full 256-bit tag, keys derived from the file's encryption
 *                            key with HKDF-SM3). See docs/crypto.md.
 * Blind index: HMAC-SHA256 (aes-256-gcm) or HMAC-SM3 (sm4-gcm) under a separate index
 * key, over "<domain>:<value>", as 64 lower-case hex digits.
 *
 * Sealed values are ASCII strings "v1.<kid>.<nonce>.<ciphertext||tag>" (kid 16 hex
 * digits, the other two fields unpadded base64url); the domain and the kid are bound
 * as associated data, so a value sealed for "idnum" does not open as "phone".
 *
 * Domains are short names [a-z0-9_-]{1,32}; use the VAULT_DOMAIN_* constants.
 * Callers canonicalize values (idn_resident_check, matchkey phone folding) before
 * vault_blind, so that equal identities give equal index entries.
 *
 * A struct vault is immutable after vault_open and safe to use from many threads at
 * once (every call builds its own EVP contexts).
 */
#ifndef YH_IDENTITY_VAULT_H
#define YH_IDENTITY_VAULT_H

#include <stdbool.h>
#include <stddef.h>
#include "common/err.h"

#define VAULT_CIPHER_AES "aes-256-gcm"
#define VAULT_CIPHER_SM4 "sm4-gcm"
#define VAULT_CIPHER_DEFAULT VAULT_CIPHER_AES

#define VAULT_DOMAIN_IDNUM "idnum"   /* canonical 18-character resident ID number */
#define VAULT_DOMAIN_PHONE "phone"   /* phone matching key (11-digit mobile, ...) */
#define VAULT_DOMAIN_USCC "uscc"     /* unified social credit code */
#define VAULT_DOMAIN_NAME "name"     /* person name (encrypted only if a site wants it) */

#define VAULT_DOMAIN_MAX 32
#define VAULT_VALUE_MAX 4096         /* plaintext bytes per sealed value */
#define VAULT_SEALED_MAX 8192        /* sealed string length accepted by open_value */
#define VAULT_BLIND_HEX_LEN 64       /* vault_blind writes this many digits + NUL */
#define VAULT_KID_LEN 16             /* hex digits of a key id */

struct vault;

/*
 * Opens the vault key file at key_path. cipher is "aes-256-gcm", "sm4-gcm" or NULL
 * (NULL: whatever the file says; a new file gets the default).
 *
 * When the file does not exist and create_if_missing is true, a new key file is
 * created atomically (O_CREAT|O_EXCL, mode 0600 whatever the umask, fsync'd, and the
 * directory fsync'd) with fresh 256-bit encryption and index keys. It never replaces
 * an existing file.
 *
 * Errors (err gets one line naming the file and the problem; err may be NULL):
 *   YH_ERR_KEY      missing file with create_if_missing false; corrupted, truncated
 *                   or unknown-version file; key id that does not match the keys
 *   YH_ERR_PERM     file readable or writable by group/other, not owned by the process's
 *                   effective uid, or not a regular file
 *   YH_ERR_CONFIG   cipher unknown, or different from the one recorded in the file
 *   YH_ERR_IO       cannot read or create the file (errno text in err)
 *   YH_ERR_UNSUPPORTED  the OpenSSL in use lacks the cipher
 *   YH_ERR_ALLOC, YH_ERR_CRYPTO
 * *out is NULL on error; on success free it with vault_close.
 */
int vault_open(const char *key_path, const char *cipher, bool create_if_missing,
    struct vault **out, char *err, size_t errsz) YH_WUR;

/*
 * A vault whose keys are held elsewhere (authd's key holder, keyd): the three operations
 * go to these functions, which answer exactly as vault_seal, vault_open_value and
 * vault_blind do for the vault of the holder (same errors, same outputs, *out malloc'd).
 * Arguments are checked here first, so a function never sees a NULL, a bad domain or an
 * over-long value. Each is called from any thread at once.
 */
struct vault_ops {
	int (*seal)(void *ctx, const char *domain, const void *pt, size_t n, char **out_b64);
	int (*open)(void *ctx, const char *domain, const char *sealed, char **out_pt);
	int (*blind)(void *ctx, const char *domain, const char *value,
	    char out_hex[VAULT_BLIND_HEX_LEN + 1]);
};

/*
 * Makes a vault that seals, opens and indexes through ops (borrowed, with ctx: both must
 * outlive the vault), for the holder's key of the given cipher and kid (what vault_cipher
 * and vault_kid of the holder's vault say; copied). No key is in this process. Returns
 * 0, YH_ERR_INVALID (no ops, an unknown cipher, a kid not VAULT_KID_LEN hex digits) or
 * YH_ERR_ALLOC. Free it with vault_close.
 */
int vault_new_remote(const struct vault_ops *ops, void *ctx, const char *cipher,
    const char *kid, struct vault **out) YH_WUR;

/* Wipes the keys and frees the vault. NULL is fine. */
void vault_close(struct vault *v);

/* The cipher name of an open vault ("aes-256-gcm" or "sm4-gcm"). Static storage. */
const char *vault_cipher(const struct vault *v);

/* The key id (VAULT_KID_LEN hex digits), owned by the vault. Not secret. */
const char *vault_kid(const struct vault *v);

/*
 * Encrypts n bytes (at most VAULT_VALUE_MAX, no NUL byte: values are text) for the
 * given domain. *out_b64 is a malloc'd sealed string (free() it; it is not secret).
 * Errors: YH_ERR_INVALID (bad domain, NUL in the value), YH_ERR_TOO_LONG,
 * YH_ERR_CRYPTO, YH_ERR_ALLOC. *out_b64 is NULL on error.
 */
int vault_seal(struct vault *v, const char *domain, const void *pt, size_t n,
    char **out_b64) YH_WUR;

/*
 * Decrypts a sealed string made by vault_seal for the same domain. *out_pt is a
 * malloc'd NUL-terminated plaintext: it is personal data, free it with
 * yh_strfree_secret. Errors: YH_ERR_INVALID (not a sealed string, bad domain),
 * YH_ERR_TOO_LONG, YH_ERR_KEY (sealed under another key id), YH_ERR_AUTH (tag check
 * failed: tampered, wrong key, wrong domain), YH_ERR_CRYPTO, YH_ERR_ALLOC.
 * *out_pt is NULL on error.
 */
int vault_open_value(struct vault *v, const char *domain, const char *sealed,
    char **out_pt) YH_WUR;

/*
 * Computes the blind index of a (canonical) value in a domain: a keyed HMAC over
 * "<domain>:<value>", written as VAULT_BLIND_HEX_LEN lower-case hex digits and a NUL
 * into out_hex. Stable for a given key file; different per domain and per key.
 * Errors: YH_ERR_INVALID (bad domain, NULL value), YH_ERR_TOO_LONG (value over
 * VAULT_VALUE_MAX), YH_ERR_CRYPTO. out_hex is "" on error.
 */
int vault_blind(struct vault *v, const char *domain, const char *value,
    char out_hex[VAULT_BLIND_HEX_LEN + 1]) YH_WUR;

#endif
