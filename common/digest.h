/*
 * SHA-256 through a digest fetched once per process. OpenSSL 3 looks the algorithm up
 * in its provider store every time EVP_sha256()'s object is used to start a digest;
 * code that hashes on every request uses this one instead.
 */
#ifndef YH_COMMON_DIGEST_H
#define YH_COMMON_DIGEST_H

#include <stddef.h>
#include <openssl/evp.h>

#define YH_SHA256_LEN 32

/* The SHA-256 implementation, fetched on first use and kept for the life of the
 * process (EVP_sha256() when the fetch fails, which then still works, only slower).
 * Thread-safe; never NULL. */
const EVP_MD *yh_sha256_md(void);

/* out = SHA-256(p[0..n)). Returns 0 or YH_ERR_CRYPTO. */
int yh_sha256(const void *p, size_t n, unsigned char out[YH_SHA256_LEN]);

#endif
