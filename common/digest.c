/* A SHA-256 fetched once: see digest.h. */
#include <pthread.h>

#include "common/digest.h"
#include "common/err.h"

static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static const EVP_MD *sha256_md;

static void
sha256_fetch(void)
{
	EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);

	sha256_md = md != NULL ? md : EVP_sha256();
}

const EVP_MD *
yh_sha256_md(void)
{
	pthread_once(&sha256_once, sha256_fetch);
	return sha256_md;
}

int
yh_sha256(const void *p, size_t n, unsigned char out[YH_SHA256_LEN])
{
	unsigned int len = 0;

	if (EVP_Digest(p, n, out, &len, yh_sha256_md(), NULL) != 1 || len != YH_SHA256_LEN)
		return YH_ERR_CRYPTO;
	return 0;
}
