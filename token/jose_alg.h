/*
 * JOSE signature algorithms and signing keys (prefix tok_).
 *
 * Five algorithms exist here and nothing else: ES256 (ECDSA P-256 SHA-256, raw r||s),
 * EdDSA (Ed25519), RS256 (PKCS#1 v1.5 SHA-256), PS256 (RSASSA-PSS SHA-256, MGF1-SHA-256,
 * salt length exactly 32) and SM2 (SM2 over SM3 with the distinguishing ID
 * "1234567812345678", raw r||s). "none" and every HMAC name map to no algorithm at all,
 * so no code path can verify with them.
 *
 * A struct tok_key wraps an OpenSSL EVP_PKEY together with its JOSE metadata (kid, alg,
 * use). The key's family (EC P-256, Ed25519, RSA, SM2) fixes which algorithms it can ever
 * be used with; tok_key_verify() takes the key and an allow-list and refuses any algorithm
 * outside the intersection, so "ES256 signature under an EdDSA key" or "HS256 keyed with
 * the RSA public key" cannot be expressed.
 *
 * Keys are reference counted and immutable once shared: set kid/alg/use right after
 * creating or importing a key, before handing it to other threads or key sets. Signing
 * and verifying with one key from several threads at once is safe.
 */
#ifndef YH_TOKEN_JOSE_ALG_H
#define YH_TOKEN_JOSE_ALG_H

#include <stdbool.h>
#include <stddef.h>
#include <openssl/evp.h>

#include "common/err.h"

/* The algorithms. TOK_ALG_UNSET (0) is "no algorithm": a key whose alg is unset may be used
 * with any algorithm of its family; it is never a valid JWS alg. */
enum tok_alg {
	TOK_ALG_UNSET = 0,
	TOK_ALG_ES256,
	TOK_ALG_EDDSA,
	TOK_ALG_RS256,
	TOK_ALG_PS256,
	TOK_ALG_SM2,
};
#define TOK_ALG_COUNT 6

/* An algorithm allow-list is a bit set: TOK_ALGSET(TOK_ALG_ES256) | TOK_ALGSET(...). */
#define TOK_ALGSET(a) (1u << (unsigned)(a))
/* Every supported algorithm. */
#define TOK_ALGSET_ALL                                                                 \
	(TOK_ALGSET(TOK_ALG_ES256) | TOK_ALGSET(TOK_ALG_EDDSA) | TOK_ALGSET(TOK_ALG_RS256) | \
	    TOK_ALGSET(TOK_ALG_PS256) | TOK_ALGSET(TOK_ALG_SM2))

/* Key families: the kind of key, which fixes the algorithms it can do. */
enum tok_family {
	TOK_FAM_NONE = 0,
	TOK_FAM_EC_P256, /* ES256 only */
	TOK_FAM_ED25519, /* EdDSA only */
	TOK_FAM_RSA,     /* RS256 or PS256, modulus >= 2048 bits */
	TOK_FAM_SM2,     /* SM2 only */
};

/* JWK "use". */
enum tok_use {
	TOK_USE_UNSPEC = 0, /* no "use" member: usable for signatures */
	TOK_USE_SIG,
	TOK_USE_ENC,        /* never used by this library for signing or verifying */
};

#define TOK_KID_MAX 128      /* longest kid accepted, in bytes */
#define TOK_SIG_MAX 1024     /* largest signature produced or accepted (RSA 8192) */
#define TOK_RSA_MIN_BITS 2048
#define TOK_RSA_MAX_BITS 8192
#define TOK_SM2_ID "1234567812345678" /* the SM2 distinguishing ID, GM/T 0009 default */

/* A signing or verification key. Opaque; use the accessors below. */
struct tok_key;

/* The JWS name of alg ("ES256", "EdDSA", "RS256", "PS256", "SM2"); NULL for TOK_ALG_UNSET
 * or an out-of-range value. Static storage. */
const char *tok_alg_name(enum tok_alg alg);

/* Maps a JWS alg name (exact, case-sensitive) to the enum. YH_ERR_UNSUPPORTED for "none",
 * the HMAC names and anything unknown (*out is then TOK_ALG_UNSET). */
int tok_alg_from_name(const char *name, enum tok_alg *out) YH_WUR;

/* Same over len bytes that need not be NUL-terminated (an embedded NUL is unsupported). */
int tok_alg_from_mem(const char *name, size_t len, enum tok_alg *out) YH_WUR;

/* Parses a list of alg names separated by spaces and/or commas ("ES256 RS256, SM2") into
 * a TOK_ALGSET bit set. YH_ERR_UNSUPPORTED for an unknown name (*bad, which may be NULL,
 * then points at it inside list), YH_ERR_INVALID for an empty list. */
int tok_algset_parse(const char *list, unsigned *out, const char **bad) YH_WUR;

/* Writes the names of set as a space-separated list in the order of enum tok_alg
 * ("ES256 RS256 SM2") into out. YH_ERR_TOO_LONG if outsz is too small (32 bytes always
 * suffice). */
int tok_algset_format(unsigned set, char *out, size_t outsz) YH_WUR;

/* The family that can do alg (TOK_FAM_NONE for TOK_ALG_UNSET). */
enum tok_family tok_alg_family(enum tok_alg alg);

/* True when key can ever be used with alg: the family matches, the key's own alg (if
 * set) equals alg, and its use is not "enc". */
bool tok_key_can_alg(const struct tok_key *key, enum tok_alg alg);

/* --- key objects ------------------------------------------------------------------- */

/* Wraps an EVP_PKEY (public or private). On success the key holds its own reference to
 * pkey (the caller keeps its own and frees it as usual). alg may be TOK_ALG_UNSET (any
 * alg of the family) or an alg of the key's family. The kid is left empty.
 * YH_ERR_UNSUPPORTED for a key type this library does not do (P-384, X25519, DSA...),
 * YH_ERR_KEY for RSA outside 2048..8192 bits or an invalid key, YH_ERR_INVALID for an
 * alg of another family. */
int tok_key_from_pkey(EVP_PKEY *pkey, enum tok_alg alg, struct tok_key **out) YH_WUR;

/* Takes one more reference to key (for sharing between key sets or threads). Returns key. */
struct tok_key *tok_key_ref(struct tok_key *key);

/* Drops one reference; the last one frees the key (private material is freed by
 * OpenSSL, which clears it). NULL is fine. */
void tok_key_free(struct tok_key *key);

/* A new key holding only the public half of key, with the same kid/alg/use. */
int tok_key_public(const struct tok_key *key, struct tok_key **out) YH_WUR;

/* Sets the kid (1..TOK_KID_MAX bytes, printable ASCII without '"' or '\\'), or clears it
 * when kid is NULL. YH_ERR_INVALID / YH_ERR_TOO_LONG. Only before the key is shared. */
int tok_key_set_kid(struct tok_key *key, const char *kid) YH_WUR;

/* Pins the key to one algorithm (or TOK_ALG_UNSET for any of its family).
 * YH_ERR_INVALID when alg belongs to another family. Only before the key is shared. */
int tok_key_set_alg(struct tok_key *key, enum tok_alg alg) YH_WUR;

/* Sets the JWK "use". Only before the key is shared. */
void tok_key_set_use(struct tok_key *key, enum tok_use use);

/*
 * The key's RFC 7638 thumbprint as remembered by tok_jwk_thumbprint, which computes it
 * once per key (the public key never changes; introspection asks for it on every
 * remembered token). tok_key_thumb_get copies it into out and returns true when it is
 * set and fits; tok_key_thumb_put sets it (at most TOK_THUMB_MEMO_MAX bytes) the first
 * time and ignores later calls. Thread-safe, without a lock.
 */
#define TOK_THUMB_MEMO_MAX 64
bool tok_key_thumb_get(const struct tok_key *key, char *out, size_t outsz);
void tok_key_thumb_put(const struct tok_key *key, const char *value);

/* Accessors. kid is "" when unset (never NULL; owned by the key). */
const char *tok_key_kid(const struct tok_key *key);
enum tok_alg tok_key_alg(const struct tok_key *key);       /* as set (may be UNSET) */
enum tok_alg tok_key_sign_alg(const struct tok_key *key);  /* alg, or the family default */
enum tok_family tok_key_family(const struct tok_key *key);
enum tok_use tok_key_use(const struct tok_key *key);
bool tok_key_is_private(const struct tok_key *key);
unsigned tok_key_bits(const struct tok_key *key);
/* The wrapped EVP_PKEY, borrowed (valid while the key lives; do not modify). */
EVP_PKEY *tok_key_pkey(const struct tok_key *key);

/* --- signing and verifying bytes ---------------------------------------------------- */

/*
 * A signer: makes the signature of a key whose private half lives elsewhere (a key-holder
 * process, later a PKCS#11 token). It gets the public key (its kid and alg say which
 * private key to use), alg (never TOK_ALG_UNSET) and the bytes to sign, and writes the
 * JOSE-format signature as tok_key_sign does. Returns 0 or a negative YH_ERR_*. Called
 * from any thread at once.
 */
typedef int (*tok_sign_fn)(void *ctx, const struct tok_key *key, enum tok_alg alg,
    const void *data, size_t len, unsigned char *sig, size_t sigmax, size_t *siglen);

/*
 * A new key holding the public half of key (same kid, alg and use) whose signatures
 * tok_key_sign asks fn for (ctx is passed back; both must outlive the key). Such a key
 * holds no private material (tok_key_is_private is false) but tok_key_can_sign is true.
 * *out is owned by the caller (tok_key_free). YH_ERR_INVALID when fn is NULL.
 */
int tok_key_with_signer(const struct tok_key *key, tok_sign_fn fn, void *ctx,
    struct tok_key **out) YH_WUR;

/*
 * A signature asked for without waiting for it (tok_key_sign_submit). The caller sets key,
 * alg (TOK_ALG_UNSET: tok_key_sign_alg(key)), data, len and done, and keeps key, data
 * and the job alive until done runs; done then finds the signature in sig/siglen with rc 0, or
 * rc < 0 (the errors of tok_key_sign). next belongs to whoever holds the job meanwhile.
 */
struct tok_sign_job {
	const struct tok_key *key;
	enum tok_alg alg;
	const void *data;
	size_t len;
	void (*done)(struct tok_sign_job *job);
	unsigned char sig[TOK_SIG_MAX];
	size_t siglen;
	int rc;
	struct tok_sign_job *next;
};

/*
 * A signer that takes jobs: signs job->data for job->key (a key made by
 * tok_key_with_signer with this submit function; job->alg is set) on a thread of its
 * own, then sets job->sig, siglen and rc and calls job->done exactly once. Many jobs may
 * be signed at once (a key holder takes them in batches). Called from any thread.
 */
typedef void (*tok_submit_fn)(void *ctx, struct tok_sign_job *job);

/* Gives key (made by tok_key_with_signer) a signer that takes jobs, used by
 * tok_key_sign_submit. Only before the key is shared with other threads. */
void tok_key_set_submit(struct tok_key *key, tok_submit_fn submit);

/*
 * Signs job->len bytes at job->data as tok_key_sign does and calls job->done exactly
 * once with the result: later, on the signer's thread, for a key whose signer takes jobs
 * (tok_key_set_submit); otherwise at once, on the calling thread, before this returns.
 */
void tok_key_sign_submit(struct tok_sign_job *job);

/* True when tok_key_sign can sign with key: it holds the private key or has a signer. */
bool tok_key_can_sign(const struct tok_key *key);

/* Signs len bytes with key under alg (TOK_ALG_UNSET means tok_key_sign_alg(key)) and
 * writes the JOSE-format signature to sig (sigmax >= TOK_SIG_MAX is always enough):
 * ES256 and SM2 as raw r||s (64 bytes), EdDSA 64 bytes, RS256/PS256 the modulus size.
 * A key made by tok_key_with_signer asks its signer (and returns what it returns).
 * YH_ERR_KEY when key is public only, YH_ERR_UNSUPPORTED when the key cannot do alg,
 * YH_ERR_TOO_LONG when sigmax is too small, YH_ERR_CRYPTO. Thread-safe. */
int tok_key_sign(const struct tok_key *key, enum tok_alg alg, const void *data, size_t len,
    unsigned char *sig, size_t sigmax, size_t *siglen) YH_WUR;

/* Verifies a JOSE-format signature over len bytes. alg must be in allow (a TOK_ALGSET
 * bit set) and tok_key_can_alg(key, alg) must hold, else YH_ERR_UNSUPPORTED before any
 * crypto runs. YH_ERR_AUTH when the signature is wrong, including a wrong length or an
 * ES256/SM2 r or s that is 0 or >= the group order. YH_ERR_CRYPTO on library failure.
 * Thread-safe. */
int tok_key_verify(const struct tok_key *key, unsigned allow, enum tok_alg alg,
    const void *data, size_t len, const unsigned char *sig, size_t siglen) YH_WUR;

/* Converts a raw r||s signature (64 bytes, ES256 or SM2) to DER (ECDSA-Sig-Value).
 * *der is malloc'd (caller frees). YH_ERR_AUTH when raw has the wrong length or r/s is 0
 * or >= n; YH_ERR_UNSUPPORTED for another alg. */
int tok_sig_raw_to_der(enum tok_alg alg, const unsigned char *raw, size_t rawlen,
    unsigned char **der, size_t *derlen) YH_WUR;

/* Converts a DER ECDSA-Sig-Value (ES256 or SM2) to raw r||s; raw must hold 64 bytes.
 * YH_ERR_AUTH when the DER is malformed, has trailing bytes, or r/s is out of range. */
int tok_sig_der_to_raw(enum tok_alg alg, const unsigned char *der, size_t derlen,
    unsigned char *raw, size_t rawmax, size_t *rawlen) YH_WUR;

/* --- PEM ---------------------------------------------------------------------------- */

/* The largest PEM key accepted. */
#define TOK_PEM_MAX (64 * 1024)

/* Parses one PEM key (PKCS#8 "PRIVATE KEY", traditional EC/RSA private keys, or
 * "PUBLIC KEY" SPKI) of at most TOK_PEM_MAX bytes. alg as in tok_key_from_pkey. Encrypted PEM is
 * refused (no passphrase prompt ever). The kid is left empty. */
int tok_key_from_pem(const char *pem, size_t len, enum tok_alg alg, struct tok_key **out)
    YH_WUR;

/* Reads a PEM key file (at most 64 KiB). A file holding a private key must not be group-
 * or world-accessible: YH_ERR_PERM otherwise. YH_ERR_IO when unreadable. */
int tok_key_load_pem_file(const char *path, enum tok_alg alg, struct tok_key **out) YH_WUR;

/* Writes the key as PEM: PKCS#8 private key when private is true (YH_ERR_KEY if the key
 * has none), else SPKI public key. *out is malloc'd, NUL-terminated; free a private PEM
 * with yh_strfree_secret. */
int tok_key_to_pem(const struct tok_key *key, bool private, char **out) YH_WUR;

/* Writes tok_key_to_pem output to path, created or truncated, not following a symlink,
 * mode 0600 for a private key (0644 public), fsync'd. YH_ERR_IO / YH_ERR_PERM. */
int tok_key_save_pem_file(const struct tok_key *key, bool private, const char *path) YH_WUR;

/* --- key sets ----------------------------------------------------------------------- */

#define TOK_KEYSET_MAX 64

/* A list of keys to verify against (what a JWKS document parses into). Each entry holds
 * its own reference. Zero-initialized or tok_keyset_init'd is empty. */
struct tok_keyset {
	struct tok_key **keys;
	size_t n;
	size_t cap;
};

/* Initializes an empty set. */
void tok_keyset_init(struct tok_keyset *set);

/* Adds a reference to key (the caller keeps its own). YH_ERR_EXISTS when a key with the
 * same non-empty kid is already there, YH_ERR_LIMIT past TOK_KEYSET_MAX, YH_ERR_ALLOC. */
int tok_keyset_add(struct tok_keyset *set, struct tok_key *key) YH_WUR;

/* The key with this kid (exact byte match), borrowed from the set; NULL when absent. */
const struct tok_key *tok_keyset_find(const struct tok_keyset *set, const char *kid);

/* Drops every reference and empties the set. Safe on an empty or zeroed set. */
void tok_keyset_clear(struct tok_keyset *set);

#endif
