/* The keys interface and its in-process implementation: see keys.h. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "authd/keyd/keys.h"
#include "common/b64.h"
#include "common/secmem.h"

#define UREF_IV 12
#define UREF_TAG 16
#define UREF_BLOB_MAX (UREF_IV + KEYS_UREF_UID_MAX + UREF_TAG)

struct keys {
	const struct keys_ops *ops;
	void *ctx;
};

/* ---- the interface ----------------------------------------------------------------- */

int
keys_new(const struct keys_ops *ops, void *ctx, struct keys **out)
{
	*out = NULL;
	if (ops == NULL || ops->sub == NULL || ops->mac == NULL || ops->uref_seal == NULL ||
	    ops->uref_open == NULL)
		return YH_ERR_INVALID;
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return YH_ERR_ALLOC;
	(*out)->ops = ops;
	(*out)->ctx = ctx;
	return 0;
}

void
keys_free(struct keys *k)
{
	if (k == NULL)
		return;
	if (k->ops->free != NULL)
		k->ops->free(k->ctx);
	free(k);
}

/* 1..max bytes before the NUL. */
static bool
str_ok(const char *s, size_t max)
{
	size_t n;

	return s != NULL && (n = strnlen(s, max + 1)) > 0 && n <= max;
}

int
keys_sub(const struct keys *k, const char *sector, const char *uid,
    unsigned char out[KEYS_MAC_LEN])
{
	memset(out, 0, KEYS_MAC_LEN);
	if (!str_ok(sector, KEYS_SECTOR_MAX) || !str_ok(uid, KEYS_UID_MAX))
		return YH_ERR_INVALID;
	return k->ops->sub(k->ctx, sector, uid, out);
}

int
keys_sub_str(const struct keys *k, const char *sector, const char *uid,
    char out[KEYS_SUB_STR_SIZE])
{
	unsigned char mac[KEYS_MAC_LEN];
	int rc;

	_Static_assert(KEYS_SUB_STR_SIZE == (KEYS_MAC_LEN * 4 + 2) / 3 + 1,
	    "base64url of the MAC without padding, and a NUL");
	out[0] = '\0';
	if ((rc = keys_sub(k, sector, uid, mac)) == 0)
		yh_b64url_encode(mac, sizeof(mac), out);
	yh_wipe(mac, sizeof(mac));
	return rc;
}

int
keys_mac(const struct keys *k, enum keys_purpose purpose, const void *msg, size_t len,
    unsigned char out[KEYS_MAC_LEN])
{
	memset(out, 0, KEYS_MAC_LEN);
	if ((unsigned)purpose < KEYS_MAC_CSRF || (unsigned)purpose > KEYS_PURPOSE_MAX ||
	    len > KEYS_MSG_MAX || (msg == NULL && len > 0))
		return YH_ERR_INVALID;
	return k->ops->mac(k->ctx, purpose, msg, len, out);
}

int
keys_uref_seal(const struct keys *k, const char *client_id, const char *uid,
    char out[KEYS_UREF_MAX])
{
	out[0] = '\0';
	if (!str_ok(client_id, KEYS_CLIENT_ID_MAX) || !str_ok(uid, KEYS_UREF_UID_MAX))
		return YH_ERR_INVALID;
	return k->ops->uref_seal(k->ctx, client_id, uid, out);
}

int
keys_uref_open(const struct keys *k, const char *client_id, const char *ref, char *uid,
    size_t uidsz)
{
	if (uidsz > 0)
		uid[0] = '\0';
	if (!str_ok(client_id, KEYS_CLIENT_ID_MAX) || !str_ok(ref, KEYS_UREF_MAX - 1) ||
	    uidsz == 0)
		return YH_ERR_INVALID;
	return k->ops->uref_open(k->ctx, client_id, ref, uid, uidsz);
}

int
keys_audit_mac(void *ctx, const void *msg, size_t len, unsigned char tag[KEYS_MAC_LEN])
{
	return keys_mac(ctx, KEYS_MAC_AUDIT, msg, len, tag);
}

/* ---- in process -------------------------------------------------------------------- */

/* The derived keys, one per label (see keys.h). */
enum { D_CSRF, D_REAUTH, D_LOGIN_NAME, D_UREF, D_PEER_KEYS, D_COUNT };

static const char *const labels[D_COUNT] = {
	[D_CSRF] = "yihao/csrf/v1",
	[D_REAUTH] = "yihao/reauth/v1",
	[D_LOGIN_NAME] = "yihao/login-name/v1",
	[D_UREF] = "yihao-uref/1",
	[D_PEER_KEYS] = "yihao/peer-jwks/v1",
};

struct local {
	unsigned char subject[KEYS_KEY_LEN];
	unsigned char derived[D_COUNT][KEYS_MAC_LEN];
	unsigned char audit[KEYS_KEY_LEN];
	bool have_audit;
};

static int
hmac256(const unsigned char key[KEYS_KEY_LEN], const void *msg, size_t len,
    unsigned char out[KEYS_MAC_LEN])
{
	unsigned int n = 0;

	if (HMAC(EVP_sha256(), key, KEYS_KEY_LEN, msg, len, out, &n) == NULL ||
	    n != KEYS_MAC_LEN)
		return YH_ERR_CRYPTO;
	return 0;
}

static int
local_sub(void *ctx, const char *sector, const char *uid, unsigned char out[KEYS_MAC_LEN])
{
	const struct local *l = ctx;
	unsigned char msg[KEYS_SECTOR_MAX + 1 + KEYS_UID_MAX];
	size_t sl = strlen(sector), ul = strlen(uid);
	int r;

	memcpy(msg, sector, sl);
	msg[sl] = '\0';
	memcpy(msg + sl + 1, uid, ul);
	r = hmac256(l->subject, msg, sl + 1 + ul, out);
	yh_wipe(msg, sizeof(msg));
	return r;
}

static int
local_mac(void *ctx, enum keys_purpose purpose, const void *msg, size_t len,
    unsigned char out[KEYS_MAC_LEN])
{
	const struct local *l = ctx;

	switch (purpose) {
	case KEYS_MAC_CSRF:
		return hmac256(l->derived[D_CSRF], msg, len, out);
	case KEYS_MAC_REAUTH:
		return hmac256(l->derived[D_REAUTH], msg, len, out);
	case KEYS_MAC_LOGIN_NAME:
		return hmac256(l->derived[D_LOGIN_NAME], msg, len, out);
	case KEYS_MAC_PEER_KEYS:
		return hmac256(l->derived[D_PEER_KEYS], msg, len, out);
	case KEYS_MAC_AUDIT:
		return l->have_audit ? hmac256(l->audit, msg, len, out) : YH_ERR_KEY;
	}
	return YH_ERR_INVALID;
}

/* One AES-256-GCM pass: enc seals in (n bytes) to out + tag; else opens and checks tag. */
static int
uref_gcm(bool enc, const unsigned char k[KEYS_MAC_LEN], const unsigned char *iv,
    const char *aad, const unsigned char *in, size_t n, unsigned char *out,
    unsigned char *tag)
{
	EVP_CIPHER_CTX *ctx = NULL;
	int len = 0, rc = YH_ERR_CRYPTO;

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return YH_ERR_ALLOC;
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, k, iv, enc ? 1 : 0) != 1 ||
	    EVP_CipherUpdate(ctx, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) != 1 ||
	    EVP_CipherUpdate(ctx, out, &len, in, (int)n) != 1)
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, UREF_TAG, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(ctx, out + len, &len) != 1) {
		rc = enc ? YH_ERR_CRYPTO : YH_ERR_AUTH;
		goto out;
	}
	if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, UREF_TAG, tag) != 1)
		goto out;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

static int
local_uref_seal(void *ctx, const char *client_id, const char *uid, char out[KEYS_UREF_MAX])
{
	const struct local *l = ctx;
	unsigned char blob[UREF_BLOB_MAX];
	size_t n = strlen(uid);
	int r;

	if ((r = yh_random(blob, UREF_IV)) != 0 ||
	    (r = uref_gcm(true, l->derived[D_UREF], blob, client_id, (const unsigned char *)uid,
	    n, blob + UREF_IV, blob + UREF_IV + n)) != 0)
		return r;
	if (yh_b64url_len(UREF_IV + n + UREF_TAG) + 1 > KEYS_UREF_MAX)
		return YH_ERR_TOO_LONG;
	yh_b64url_encode(blob, UREF_IV + n + UREF_TAG, out);
	return 0;
}

static int
local_uref_open(void *ctx, const char *client_id, const char *ref, char *uid, size_t uidsz)
{
	const struct local *l = ctx;
	unsigned char blob[UREF_BLOB_MAX], pt[KEYS_UREF_UID_MAX + 1];
	size_t len = 0, n;
	int r;

	if (yh_b64url_decode(ref, strlen(ref), blob, sizeof(blob), &len) != 0 ||
	    len <= UREF_IV + UREF_TAG)
		return YH_ERR_INVALID;
	n = len - UREF_IV - UREF_TAG;
	if ((r = uref_gcm(false, l->derived[D_UREF], blob, client_id, blob + UREF_IV, n, pt,
	    blob + UREF_IV + n)) != 0)
		goto out;
	pt[n] = '\0';
	if (memchr(pt, '\0', n) != NULL || n + 1 > uidsz) {
		r = YH_ERR_INVALID;
		goto out;
	}
	memcpy(uid, pt, n + 1);
out:
	yh_wipe(pt, sizeof(pt));
	return r;
}

static void
local_free(void *ctx)
{
	yh_freezero(ctx, sizeof(struct local));
}

static const struct keys_ops local_ops = {
	.sub = local_sub,
	.mac = local_mac,
	.uref_seal = local_uref_seal,
	.uref_open = local_uref_open,
	.free = local_free,
};

int
keys_local_new(const unsigned char subject_key[KEYS_KEY_LEN],
    const unsigned char *audit_key, struct keys **out)
{
	struct local *l;
	int r = 0;

	*out = NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return YH_ERR_ALLOC;
	memcpy(l->subject, subject_key, KEYS_KEY_LEN);
	for (int i = 0; i < D_COUNT && r == 0; i++)
		r = hmac256(l->subject, labels[i], strlen(labels[i]), l->derived[i]);
	if (audit_key != NULL) {
		memcpy(l->audit, audit_key, KEYS_KEY_LEN);
		l->have_audit = true;
	}
	if (r == 0 && (r = keys_new(&local_ops, l, out)) == 0)
		return 0;
	local_free(l);
	return r;
}
