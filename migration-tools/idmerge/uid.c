/*
 * Uids: the stable directory uid of an identity, an HMAC of its canonical key.
 */
#include <string.h>

#include <openssl/evp.h>

#include "common/secmem.h"
#include "migration-tools/idmerge/mig.h"

/* The public HMAC key used for uids when the operator gives none. */
static const char uid_domain[] = "yihao/idmerge/uid/v1";

/* SHA-256 fetched once: HMAC() would fetch it (under a lock) for every uid. */
static const EVP_MD *
sha256_md(void)
{
	static EVP_MD *md;

	if (md == NULL)
		md = EVP_MD_fetch(NULL, "SHA256", NULL);
	return md;
}

int
mig_uid(const unsigned char *key, size_t keylen, char kind, const char *canon, char *out,
    size_t outsz)
{
	unsigned char pad[64 + 64], inner[32], outer[64 + 32], md[32];
	unsigned int len = 0;
	size_t n = strlen(canon);
	const EVP_MD *sha = sha256_md();
	int e = 0;

	if (outsz < 33 || n + 2 > 64 || sha == NULL)
		return YH_ERR_INTERNAL;
	if (key == NULL || keylen == 0) {
		key = (const unsigned char *)uid_domain;
		keylen = sizeof(uid_domain) - 1;
	}
	if (keylen > 64)
		return YH_ERR_INTERNAL;
	/* HMAC-SHA256 (RFC 2104) over kind ':' canon; the kind is inside the MAC so a
	 * person and an organization never share a uid. */
	memset(pad, 0, sizeof(pad));
	memcpy(pad, key, keylen);
	memcpy(outer, pad, 64);
	for (int i = 0; i < 64; i++) {
		pad[i] ^= 0x36;
		outer[i] ^= 0x5c;
	}
	pad[64] = (unsigned char)kind;
	pad[65] = ':';
	memcpy(pad + 66, canon, n);
	if (EVP_Digest(pad, 66 + n, inner, &len, sha, NULL) != 1 || len != 32) {
		e = YH_ERR_CRYPTO;
		goto out;
	}
	memcpy(outer + 64, inner, 32);
	if (EVP_Digest(outer, sizeof(outer), md, &len, sha, NULL) != 1 || len != 32) {
		e = YH_ERR_CRYPTO;
		goto out;
	}
	yh_hex_encode(md, 16, out);
out:
	yh_wipe(pad, sizeof(pad));
	yh_wipe(outer, sizeof(outer));
	return e;
}
