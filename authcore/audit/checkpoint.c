/* Checkpoint keys and the checkpoint format the writer and the verifier share. */
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "authcore/audit/audit_int.h"
#include "common/digest.h"
#include "common/keyfile.h"
#include "common/secmem.h"

/* Labels: the key id and the tag are HMACs of different, versioned messages. */
#define KID_LABEL "yihao-audit-kid/1"
#define CP_LABEL "yihao-audit-checkpoint/1"

int
audit_sha256_hex(const char *p, size_t n, char out[65])
{
	unsigned char md[YH_SHA256_LEN];

	if (yh_sha256(p, n, md) != 0)
		return YH_ERR_CRYPTO;
	yh_hex_encode(md, YH_SHA256_LEN, out);
	return 0;
}

int
audit_cp_message(struct yh_buf *b, uint64_t seq, const char *ts, const char *prev)
{
	return yh_buf_printf(b, CP_LABEL "\nseq=%llu\nts=%s\nprev=%s\n",
	    (unsigned long long)seq, ts, prev);
}

int
audit_cp_path(const char *path, char *out, size_t outsz)
{
	if ((size_t)snprintf(out, outsz, "%s" YH_AUDIT_CHECKPOINT_SUFFIX, path) >= outsz)
		return YH_ERR_TOO_LONG;
	return 0;
}

int
yh_audit_key_mac(void *ctx, const void *msg, size_t len, unsigned char tag[YH_AUDIT_TAG_LEN])
{
	const struct yh_audit_key *k = ctx;
	unsigned int n = 0;

	if (HMAC(EVP_sha256(), k->key, YH_AUDIT_KEY_LEN, msg, len, tag, &n) == NULL ||
	    n != YH_AUDIT_TAG_LEN)
		return YH_ERR_CRYPTO;
	return 0;
}

int
yh_audit_key_set(struct yh_audit_key *k, const unsigned char key[YH_AUDIT_KEY_LEN])
{
	unsigned char id[YH_AUDIT_TAG_LEN];
	int r;

	memcpy(k->key, key, YH_AUDIT_KEY_LEN);
	if ((r = yh_audit_key_mac(k, KID_LABEL, sizeof(KID_LABEL) - 1, id)) != 0) {
		yh_audit_key_wipe(k);
		return r;
	}
	yh_hex_encode(id, YH_AUDIT_KID_LEN / 2, k->kid);
	return 0;
}

int
yh_audit_key_load(const char *path, bool create, struct yh_audit_key *out, char *err,
    size_t errsz)
{
	unsigned char key[YH_AUDIT_KEY_LEN];
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = yh_keyfile_get(path, sizeof(key), create, key, err, errsz)) != 0)
		return r;
	if ((r = yh_audit_key_set(out, key)) != 0)
		snprintf(err, errsz, "%s: cannot derive the key's id", path);
	yh_wipe(key, sizeof(key));
	return r;
}

void
yh_audit_key_wipe(struct yh_audit_key *k)
{
	if (k != NULL)
		yh_wipe(k, sizeof(*k));
}
