/*
 * The PII vault: the key file, sealing and opening values, the blind index.
 *
 * Key file (text, mode 0600, at most VAULT_FILE_MAX bytes; '#' lines are comments):
 *   yihao-vault-key v1
 *   cipher aes-256-gcm|sm4-gcm
 *   kid <16 hex>      first 8 bytes of SHA-256("yihao-vault-kid-v1|" cipher "|" enc idx)
 *   enc <64 hex>      256-bit encryption key
 *   idx <64 hex>      256-bit blind-index key
 * The kid is recomputed on load, so a damaged key line is caught before any data is
 * decrypted or indexed with the wrong key.
 *
 * Sealed value: "v1.<kid>.<b64url nonce>.<b64url ciphertext||tag>", associated data
 * "yihao-vault.v1.<kid>.<domain>".
 *   aes-256-gcm: 12-byte random nonce, 16-byte GCM tag.
 *   sm4-gcm:     OpenSSL 3.0 has no SM4-GCM (nor SM4-CCM), so this is SM4-CTR with a
 *                16-byte random IV, then HMAC-SM3 over
 *                be64(len(aad)) || aad || iv || ciphertext, 32-byte tag (encrypt-then-
 *                MAC). The SM4 key (16 bytes) and the MAC key (32 bytes) are derived
 *                from `enc` with HKDF-SM3 and distinct info strings.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "common/atomicfile.h"
#include "common/b64.h"
#include "common/buf.h"
#include "common/secmem.h"
#include "identity/vault/vault.h"

#define VAULT_FILE_MAX 4096
#define VAULT_MAGIC "yihao-vault-key v1"
#define VAULT_KEY_BYTES 32
#define GCM_NONCE 12
#define GCM_TAG 16
#define SM4_IV 16
#define SM4_KEY 16
#define SM3_TAG 32
#define AAD_MAX 80   /* "yihao-vault.v1." + kid + "." + domain (<= 32) + NUL = 65 */

enum vault_alg { ALG_AES_GCM, ALG_SM4_CTR_HMAC };

struct vault {
	enum vault_alg alg;
	char kid[VAULT_KID_LEN + 1];
	unsigned char enc[VAULT_KEY_BYTES];     /* the file's encryption key (AES key) */
	unsigned char idx[VAULT_KEY_BYTES];     /* blind-index key */
	unsigned char sm4_key[SM4_KEY];         /* derived, sm4 only */
	unsigned char mac_key[SM3_TAG];         /* derived, sm4 only */
	EVP_CIPHER *cipher;                     /* AES-256-GCM or SM4-CTR */
	EVP_MAC *hmac;
	const char *mdname;                     /* "SHA256" or "SM3" */
	const struct vault_ops *ops;            /* keys held elsewhere: none of the above */
	void *ops_ctx;
};

/* The parsed contents of a key file. */
struct keyfile {
	char cipher[16];
	char kid[VAULT_KID_LEN + 1];
	unsigned char enc[VAULT_KEY_BYTES];
	unsigned char idx[VAULT_KEY_BYTES];
};

/* The tree's one error formatter, under this file's old name. */
#define seterr yh_errf

static bool
cipher_known(const char *name)
{
	return strcmp(name, VAULT_CIPHER_AES) == 0 || strcmp(name, VAULT_CIPHER_SM4) == 0;
}

static bool
domain_valid(const char *d)
{
	size_t n;

	if (d == NULL || (n = strlen(d)) == 0 || n > VAULT_DOMAIN_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = d[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* ---- key id ----------------------------------------------------------------- */

static int
compute_kid(const char *cipher, const unsigned char *enc, const unsigned char *idx,
    char out[VAULT_KID_LEN + 1])
{
	unsigned char md[32];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (ctx == NULL)
		return YH_ERR_ALLOC;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, "yihao-vault-kid-v1|", 19) == 1 &&
	    EVP_DigestUpdate(ctx, cipher, strlen(cipher)) == 1 &&
	    EVP_DigestUpdate(ctx, "|", 1) == 1 &&
	    EVP_DigestUpdate(ctx, enc, VAULT_KEY_BYTES) == 1 &&
	    EVP_DigestUpdate(ctx, idx, VAULT_KEY_BYTES) == 1 &&
	    EVP_DigestFinal_ex(ctx, md, NULL) == 1;
	EVP_MD_CTX_free(ctx);
	if (ok)
		yh_hex_encode(md, VAULT_KID_LEN / 2, out);
	yh_wipe(md, sizeof(md));
	return ok ? 0 : YH_ERR_CRYPTO;
}

/* ---- key file: parse -------------------------------------------------------- */

static int
parse_hexkey(struct yh_span v, unsigned char *out)
{
	if (v.len != 2 * VAULT_KEY_BYTES)
		return YH_ERR_INVALID;
	return yh_hex_decode(v.p, v.len, out, VAULT_KEY_BYTES);
}

/* One "name value" line into kf; *seen tracks duplicates. Returns a short reason or
 * NULL. */
static const char *
parse_line(struct yh_span line, struct keyfile *kf, unsigned *seen)
{
	struct yh_span name, val = line;

	if (yh_span_split(&val, ' ', &name) != 0 || val.p == NULL)
		return "a line is not \"name value\"";
	if (yh_span_eq(name, "cipher") && !(*seen & 1)) {
		*seen |= 1;
		if (val.len >= sizeof(kf->cipher))
			return "unknown cipher";
		memcpy(kf->cipher, val.p, val.len);
		kf->cipher[val.len] = '\0';
		return cipher_known(kf->cipher) ? NULL : "unknown cipher";
	}
	if (yh_span_eq(name, "kid") && !(*seen & 2)) {
		*seen |= 2;
		if (val.len != VAULT_KID_LEN)
			return "bad kid";
		memcpy(kf->kid, val.p, val.len);
		kf->kid[val.len] = '\0';
		return NULL;
	}
	if (yh_span_eq(name, "enc") && !(*seen & 4)) {
		*seen |= 4;
		return parse_hexkey(val, kf->enc) == 0 ? NULL : "bad enc key (want 64 hex digits)";
	}
	if (yh_span_eq(name, "idx") && !(*seen & 8)) {
		*seen |= 8;
		return parse_hexkey(val, kf->idx) == 0 ? NULL : "bad idx key (want 64 hex digits)";
	}
	return "unknown or repeated line";
}

static const char *
parse_keyfile(const char *text, size_t len, struct keyfile *kf)
{
	struct yh_span s = yh_span_mem(text, len), line;
	unsigned seen = 0;
	bool magic = false;
	const char *why;
	char kid[VAULT_KID_LEN + 1];

	memset(kf, 0, sizeof(*kf));
	if (yh_span_check(s, VAULT_FILE_MAX) != 0)
		return "contains a NUL byte or is too large";
	if (len == 0 || text[len - 1] != '\n')
		return "truncated (no final newline)";
	while (yh_span_split(&s, '\n', &line) == 0) {
		if (line.len > 0 && line.p[line.len - 1] == '\r')
			line.len--;
		if (line.len == 0 || line.p[0] == '#')
			continue;
		if (!magic) {
			if (!yh_span_eq(line, VAULT_MAGIC))
				return "not a yihao vault key file (bad header or version)";
			magic = true;
			continue;
		}
		if ((why = parse_line(line, kf, &seen)) != NULL)
			return why;
	}
	if (!magic || seen != 15)
		return "truncated (a cipher, kid, enc or idx line is missing)";
	if (compute_kid(kf->cipher, kf->enc, kf->idx, kid) != 0)
		return "cannot compute the key id";
	if (!yh_ct_streq(kid, kf->kid))
		return "corrupted (the key id does not match the keys)";
	return NULL;
}

/* ---- key file: read ---------------------------------------------------------- */

/* Reads and checks a key file. YH_ERR_NOT_FOUND when it does not exist, YH_ERR_PERM,
 * YH_ERR_KEY (damaged), YH_ERR_IO; err says which. */
static int
read_keyfile(const char *path, struct keyfile *kf, char *err, size_t errsz)
{
	struct yh_file_fail f;
	char *buf = NULL;
	size_t len = 0;
	const char *why;
	int rc;

	switch ((rc = yh_file_read_key(path, VAULT_FILE_MAX, &buf, &len, &f))) {
	case 0:
		break;
	case YH_ERR_NOT_FOUND:
		seterr(err, errsz, "vault key file %s: does not exist", path);
		return rc;
	case YH_ERR_PERM:
		if (f.step == YH_FILE_MODE)
			seterr(err, errsz, "vault key file %s: unsafe permissions %04o (group or "
			    "other may access it); chmod 600 it", path, (unsigned)(f.mode & 07777));
		else if (f.step == YH_FILE_OWNER) {
			char why[YH_FILE_PATH_MAX + 256];

			yh_file_fail_msg(&f, why, sizeof(why));
			seterr(err, errsz, "vault key file %s", why);
		} else
			seterr(err, errsz, "vault key file %s: not a regular file", path);
		return rc;
	case YH_ERR_TOO_LONG:
		seterr(err, errsz, "vault key file %s: too large", path);
		return YH_ERR_KEY;
	default:
		if (f.step == YH_FILE_OPEN)
			seterr(err, errsz, "vault key file %s: cannot open: %s", path,
			    strerror(f.errnum));
		else
			seterr(err, errsz, "vault key file %s: %s", path, strerror(f.errnum));
		return YH_ERR_IO;
	}
	if ((why = parse_keyfile(buf, len, kf)) != NULL) {
		rc = YH_ERR_KEY;
		seterr(err, errsz, "vault key file %s: %s", path, why);
		memset(kf, 0, sizeof(*kf));
	}
	yh_freezero(buf, len + 1);
	return rc;
}

/* ---- key file: create -------------------------------------------------------- */

static int
format_keyfile(const char *cipher, struct yh_buf *b)
{
	unsigned char enc[VAULT_KEY_BYTES], idx[VAULT_KEY_BYTES];
	char enchex[2 * VAULT_KEY_BYTES + 1], idxhex[2 * VAULT_KEY_BYTES + 1];
	char kid[VAULT_KID_LEN + 1];
	int rc;

	if ((rc = yh_random(enc, sizeof(enc))) != 0 || (rc = yh_random(idx, sizeof(idx))) != 0)
		goto out;
	if ((rc = compute_kid(cipher, enc, idx, kid)) != 0)
		goto out;
	yh_hex_encode(enc, sizeof(enc), enchex);
	yh_hex_encode(idx, sizeof(idx), idxhex);
	rc = yh_buf_printf(b,
	    "# Yihao PII vault key file. Secret: keep it mode 0600 and back it up;\n"
	    "# without it the encrypted ID numbers and phone numbers cannot be read.\n"
	    "%s\ncipher %s\nkid %s\nenc %s\nidx %s\n",
	    VAULT_MAGIC, cipher, kid, enchex, idxhex);
out:
	yh_wipe(enc, sizeof(enc));
	yh_wipe(idx, sizeof(idx));
	yh_wipe(enchex, sizeof(enchex));
	yh_wipe(idxhex, sizeof(idxhex));
	return rc;
}

/* Writes a fresh key file to a temporary name, fsyncs it, then link()s it into place:
 * link never replaces an existing file, and nobody ever sees a half-written key file.
 * YH_ERR_EXISTS when someone else created path first. */
static int
create_keyfile(const char *path, const char *cipher, char *err, size_t errsz)
{
	struct yh_file_fail f;
	struct yh_buf b;
	int rc;

	yh_buf_init_secret(&b, VAULT_FILE_MAX);
	if ((rc = format_keyfile(cipher, &b)) != 0)
		goto out;
	/* Whatever the umask, the file ends up exactly 0600. */
	rc = yh_file_write_atomic(path, b.data, b.len, 0600, YH_FILE_NOREPLACE, &f);
	switch (f.step) {
	case YH_FILE_OK:
	case YH_FILE_RANDOM:
		break;
	case YH_FILE_NAME:
		seterr(err, errsz, "vault key file %s: path too long", path);
		break;
	case YH_FILE_CREATE:
	case YH_FILE_PLACE:
		seterr(err, errsz, "vault key file %s: cannot create: %s", path,
		    strerror(f.errnum));
		break;
	case YH_FILE_SYNC_DIR:
		seterr(err, errsz, "vault key file %s: cannot fsync its directory", path);
		break;
	default:  /* write, fsync or close of the temporary file */
		seterr(err, errsz, "vault key file %s: cannot write: %s", path,
		    strerror(f.errnum));
		break;
	}
out:
	yh_buf_free(&b);
	return rc;
}

/* ---- open / close -------------------------------------------------------------- */

static int
hkdf_sm3(const unsigned char *key, const char *info, unsigned char *out, size_t outlen)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[4];
	int ok;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SM3", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key,
	    VAULT_KEY_BYTES);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info,
	    strlen(info));
	params[3] = OSSL_PARAM_construct_end();
	ok = ctx != NULL && EVP_KDF_derive(ctx, out, outlen, params) == 1;
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return ok ? 0 : YH_ERR_CRYPTO;
}

static int
vault_init_crypto(struct vault *v, char *err, size_t errsz, const char *path)
{
	const char *cname = v->alg == ALG_AES_GCM ? "AES-256-GCM" : "SM4-CTR";

	v->mdname = v->alg == ALG_AES_GCM ? "SHA256" : "SM3";
	v->cipher = EVP_CIPHER_fetch(NULL, cname, NULL);
	v->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (v->cipher == NULL || v->hmac == NULL) {
		seterr(err, errsz, "vault key file %s: this OpenSSL lacks %s or HMAC", path, cname);
		return YH_ERR_UNSUPPORTED;
	}
	if (v->alg == ALG_SM4_CTR_HMAC &&
	    (hkdf_sm3(v->enc, "yihao-vault sm4-ctr key v1", v->sm4_key, SM4_KEY) != 0 ||
	    hkdf_sm3(v->enc, "yihao-vault hmac-sm3 key v1", v->mac_key, SM3_TAG) != 0)) {
		seterr(err, errsz, "vault key file %s: cannot derive the SM4 keys (SM3 missing?)",
		    path);
		return YH_ERR_UNSUPPORTED;
	}
	return 0;
}

int
vault_open(const char *key_path, const char *cipher, bool create_if_missing,
    struct vault **out, char *err, size_t errsz)
{
	struct keyfile kf;
	struct vault *v = NULL;
	int rc;

	memset(&kf, 0, sizeof(kf));
	seterr(err, errsz, "%s", "");
	if (out != NULL)
		*out = NULL;
	if (out == NULL || key_path == NULL || key_path[0] == '\0') {
		seterr(err, errsz, "vault: no key file path given");
		return YH_ERR_INVALID;
	}
	if (cipher != NULL && !cipher_known(cipher)) {
		seterr(err, errsz, "vault: unknown cipher \"%s\" (want %s or %s)", cipher,
		    VAULT_CIPHER_AES, VAULT_CIPHER_SM4);
		return YH_ERR_CONFIG;
	}
	rc = read_keyfile(key_path, &kf, err, errsz);
	if (rc == YH_ERR_NOT_FOUND) {
		if (!create_if_missing) {
			rc = YH_ERR_KEY;
			seterr(err, errsz, "vault key file %s: does not exist (it is created only "
			    "with a new, empty directory; restore it from backup)", key_path);
			goto out;
		}
		rc = create_keyfile(key_path, cipher != NULL ? cipher : VAULT_CIPHER_DEFAULT,
		    err, errsz);
		if (rc != 0 && rc != YH_ERR_EXISTS)
			goto out;
		/* Read back what is on disk now (ours, or a concurrent creator's). */
		seterr(err, errsz, "%s", "");
		rc = read_keyfile(key_path, &kf, err, errsz);
	}
	if (rc != 0)
		goto out;
	if (cipher != NULL && strcmp(cipher, kf.cipher) != 0) {
		rc = YH_ERR_CONFIG;
		seterr(err, errsz, "vault key file %s: made for cipher %s, but %s is configured "
		    "(re-encrypting means a migration, not a config change)", key_path,
		    kf.cipher, cipher);
		goto out;
	}
	if ((v = calloc(1, sizeof(*v))) == NULL) {
		rc = YH_ERR_ALLOC;
		seterr(err, errsz, "vault: out of memory");
		goto out;
	}
	v->alg = strcmp(kf.cipher, VAULT_CIPHER_AES) == 0 ? ALG_AES_GCM : ALG_SM4_CTR_HMAC;
	memcpy(v->kid, kf.kid, sizeof(v->kid));
	memcpy(v->enc, kf.enc, sizeof(v->enc));
	memcpy(v->idx, kf.idx, sizeof(v->idx));
	if ((rc = vault_init_crypto(v, err, errsz, key_path)) != 0)
		goto out;
	*out = v;
	v = NULL;
out:
	yh_wipe(&kf, sizeof(kf));
	vault_close(v);
	return rc;
}

int
vault_new_remote(const struct vault_ops *ops, void *ctx, const char *cipher,
    const char *kid, struct vault **out)
{
	struct vault *v;

	*out = NULL;
	if (ops == NULL || ops->seal == NULL || ops->open == NULL || ops->blind == NULL ||
	    cipher == NULL || !cipher_known(cipher) || kid == NULL ||
	    strlen(kid) != VAULT_KID_LEN || strspn(kid, "0123456789abcdef") != VAULT_KID_LEN)
		return YH_ERR_INVALID;
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return YH_ERR_ALLOC;
	v->alg = strcmp(cipher, VAULT_CIPHER_AES) == 0 ? ALG_AES_GCM : ALG_SM4_CTR_HMAC;
	memcpy(v->kid, kid, VAULT_KID_LEN + 1);
	v->ops = ops;
	v->ops_ctx = ctx;
	*out = v;
	return 0;
}

void
vault_close(struct vault *v)
{
	if (v == NULL)
		return;
	EVP_CIPHER_free(v->cipher);
	EVP_MAC_free(v->hmac);
	yh_freezero(v, sizeof(*v));
}

const char *
vault_cipher(const struct vault *v)
{
	return v->alg == ALG_AES_GCM ? VAULT_CIPHER_AES : VAULT_CIPHER_SM4;
}

const char *
vault_kid(const struct vault *v)
{
	return v->kid;
}

/* ---- HMAC ------------------------------------------------------------------- */

/* HMAC(key, p1 || p2 || p3) with the vault's digest into out (32 bytes). */
static int
vault_hmac(const struct vault *v, const unsigned char *key, size_t keylen,
    const struct yh_span *parts, size_t nparts, unsigned char out[32])
{
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(v->hmac);
	OSSL_PARAM params[2];
	size_t outlen = 0;
	int ok;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)v->mdname, 0);
	params[1] = OSSL_PARAM_construct_end();
	ok = ctx != NULL && EVP_MAC_init(ctx, key, keylen, params) == 1;
	for (size_t i = 0; ok && i < nparts; i++)
		ok = EVP_MAC_update(ctx, (const unsigned char *)parts[i].p, parts[i].len) == 1;
	ok = ok && EVP_MAC_final(ctx, out, &outlen, 32) == 1 && outlen == 32;
	EVP_MAC_CTX_free(ctx);
	return ok ? 0 : YH_ERR_CRYPTO;
}

int
vault_blind(struct vault *v, const char *domain, const char *value,
    char out_hex[VAULT_BLIND_HEX_LEN + 1])
{
	unsigned char mac[32];
	struct yh_span parts[3];
	int rc;

	out_hex[0] = '\0';
	if (v == NULL || !domain_valid(domain) || value == NULL)
		return YH_ERR_INVALID;
	if (strlen(value) > VAULT_VALUE_MAX)
		return YH_ERR_TOO_LONG;
	if (v->ops != NULL)
		return v->ops->blind(v->ops_ctx, domain, value, out_hex);
	parts[0] = yh_span_cstr(domain);
	parts[1] = yh_span_cstr(":");
	parts[2] = yh_span_cstr(value);
	if ((rc = vault_hmac(v, v->idx, sizeof(v->idx), parts, 3, mac)) == 0)
		yh_hex_encode(mac, sizeof(mac), out_hex);
	yh_wipe(mac, sizeof(mac));
	return rc;
}

/* ---- seal / open ------------------------------------------------------------ */

static int
make_aad(const struct vault *v, const char *domain, char *aad, size_t aadsz, size_t *len)
{
	int n = snprintf(aad, aadsz, "yihao-vault.v1.%s.%s", v->kid, domain);

	if (n < 0 || (size_t)n >= aadsz)
		return YH_ERR_INTERNAL;
	*len = (size_t)n;
	return 0;
}

static int
sm4_tag(const struct vault *v, const char *aad, size_t aadlen, const unsigned char *iv,
    const unsigned char *ct, size_t ctlen, unsigned char tag[SM3_TAG])
{
	unsigned char be[8];
	struct yh_span parts[4];

	for (int i = 0; i < 8; i++)
		be[i] = (unsigned char)((uint64_t)aadlen >> (56 - 8 * i));
	parts[0] = yh_span_mem(be, sizeof(be));
	parts[1] = yh_span_mem(aad, aadlen);
	parts[2] = yh_span_mem(iv, SM4_IV);
	parts[3] = yh_span_mem(ct, ctlen);
	return vault_hmac(v, v->mac_key, sizeof(v->mac_key), parts, 4, tag);
}

/* Runs the bare cipher (GCM with AAD, or CTR) over n bytes in one go. For GCM
 * decryption, tag is checked; for GCM encryption it is filled. */
static int
run_cipher(const struct vault *v, bool enc, const unsigned char *key,
    const unsigned char *iv, const char *aad, size_t aadlen, const unsigned char *in,
    size_t n, unsigned char *out, unsigned char *gcm_tag)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int aadl = 0, outl = 0, finl = 0, rc = YH_ERR_CRYPTO;
	bool gcm = v->alg == ALG_AES_GCM;

	if (ctx == NULL)
		return YH_ERR_ALLOC;
	if (EVP_CipherInit_ex2(ctx, v->cipher, key, iv, enc ? 1 : 0, NULL) != 1)
		goto out;
	if (gcm && EVP_CipherUpdate(ctx, NULL, &aadl, (const unsigned char *)aad,
	    (int)aadlen) != 1)
		goto out;
	if (n > 0 && EVP_CipherUpdate(ctx, out, &outl, in, (int)n) != 1)
		goto out;
	if (gcm && !enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, GCM_TAG,
	    gcm_tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(ctx, out + outl, &finl) != 1) {
		rc = gcm && !enc ? YH_ERR_AUTH : YH_ERR_CRYPTO;
		goto out;
	}
	if (gcm && enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, GCM_TAG,
	    gcm_tag) != 1)
		goto out;
	rc = (size_t)(outl + finl) == n ? 0 : YH_ERR_CRYPTO;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

static size_t
nonce_len(const struct vault *v)
{
	return v->alg == ALG_AES_GCM ? GCM_NONCE : SM4_IV;
}

static size_t
tag_len(const struct vault *v)
{
	return v->alg == ALG_AES_GCM ? GCM_TAG : SM3_TAG;
}

/* Encrypts pt into body (n + tag_len bytes) with a fresh nonce. */
static int
seal_raw(const struct vault *v, const char *aad, size_t aadlen, const unsigned char *pt,
    size_t n, unsigned char *nonce, unsigned char *body)
{
	int rc;

	if ((rc = yh_random(nonce, nonce_len(v))) != 0)
		return rc;
	if (v->alg == ALG_AES_GCM)
		return run_cipher(v, true, v->enc, nonce, aad, aadlen, pt, n, body, body + n);
	if ((rc = run_cipher(v, true, v->sm4_key, nonce, NULL, 0, pt, n, body, NULL)) != 0)
		return rc;
	return sm4_tag(v, aad, aadlen, nonce, body, n, body + n);
}

int
vault_seal(struct vault *v, const char *domain, const void *pt, size_t n, char **out_b64)
{
	unsigned char nonce[SM4_IV], *body = NULL;
	char aad[AAD_MAX];
	size_t aadlen, bodylen;
	struct yh_buf b;
	int rc;

	yh_buf_init(&b, VAULT_SEALED_MAX);
	if (out_b64 != NULL)
		*out_b64 = NULL;
	if (v == NULL || out_b64 == NULL || !domain_valid(domain) || (pt == NULL && n > 0))
		return YH_ERR_INVALID;
	if (n > VAULT_VALUE_MAX)
		return YH_ERR_TOO_LONG;
	if (n > 0 && memchr(pt, '\0', n) != NULL)
		return YH_ERR_INVALID;
	if (v->ops != NULL)
		return v->ops->seal(v->ops_ctx, domain, pt, n, out_b64);
	bodylen = n + tag_len(v);
	if ((body = malloc(bodylen)) == NULL) {
		rc = YH_ERR_ALLOC;
		goto out;
	}
	if ((rc = make_aad(v, domain, aad, sizeof(aad), &aadlen)) != 0 ||
	    (rc = seal_raw(v, aad, aadlen, pt, n, nonce, body)) != 0)
		goto out;
	if ((rc = yh_buf_printf(&b, "v1.%s.", v->kid)) != 0 ||
	    (rc = yh_b64url_append(&b, nonce, nonce_len(v))) != 0 ||
	    (rc = yh_buf_putc(&b, '.')) != 0 ||
	    (rc = yh_b64url_append(&b, body, bodylen)) != 0)
		goto out;
	if ((*out_b64 = yh_buf_steal(&b)) == NULL)
		rc = YH_ERR_ALLOC;
out:
	free(body);
	yh_buf_free(&b);
	return rc;
}

/* Splits "v1.<kid>.<nonce>.<body>", checks the kid and decodes both fields. */
static int
parse_sealed(const struct vault *v, const char *sealed, unsigned char *nonce,
    unsigned char *body, size_t bodymax, size_t *bodylen)
{
	struct yh_span s = yh_span_cstr(sealed), ver, kid, n64, b64;
	size_t nlen = 0;

	*bodylen = 0;
	if (yh_span_check(s, VAULT_SEALED_MAX) != 0)
		return s.len > VAULT_SEALED_MAX ? YH_ERR_TOO_LONG : YH_ERR_INVALID;
	if (yh_span_split(&s, '.', &ver) != 0 || yh_span_split(&s, '.', &kid) != 0 ||
	    yh_span_split(&s, '.', &n64) != 0 || yh_span_split(&s, '.', &b64) != 0 ||
	    s.p != NULL)
		return YH_ERR_INVALID;
	if (!yh_span_eq(ver, "v1") || kid.len != VAULT_KID_LEN)
		return YH_ERR_INVALID;
	if (!yh_span_eq(kid, v->kid))
		return YH_ERR_KEY;
	if (yh_b64url_decode(n64.p, n64.len, nonce, SM4_IV, &nlen) != 0 ||
	    nlen != nonce_len(v))
		return YH_ERR_INVALID;
	if (yh_b64url_decode(b64.p, b64.len, body, bodymax, bodylen) != 0 ||
	    *bodylen < tag_len(v))
		return YH_ERR_INVALID;
	return 0;
}

static int
open_raw(const struct vault *v, const char *aad, size_t aadlen, const unsigned char *nonce,
    const unsigned char *body, size_t ctlen, unsigned char *pt)
{
	unsigned char tag[SM3_TAG];
	int rc;

	if (v->alg == ALG_AES_GCM) {
		memcpy(tag, body + ctlen, GCM_TAG);
		return run_cipher(v, false, v->enc, nonce, aad, aadlen, body, ctlen, pt, tag);
	}
	if ((rc = sm4_tag(v, aad, aadlen, nonce, body, ctlen, tag)) != 0)
		return rc;
	if (!yh_ct_eq(tag, body + ctlen, SM3_TAG))
		return YH_ERR_AUTH;
	return run_cipher(v, false, v->sm4_key, nonce, NULL, 0, body, ctlen, pt, NULL);
}

int
vault_open_value(struct vault *v, const char *domain, const char *sealed, char **out_pt)
{
	unsigned char nonce[SM4_IV], *body = NULL, *pt = NULL;
	size_t bodymax = VAULT_VALUE_MAX + SM3_TAG, bodylen = 0, ctlen = 0;
	char aad[AAD_MAX];
	size_t aadlen;
	int rc;

	if (out_pt != NULL)
		*out_pt = NULL;
	if (v == NULL || out_pt == NULL || !domain_valid(domain) || sealed == NULL)
		return YH_ERR_INVALID;
	if (strnlen(sealed, VAULT_SEALED_MAX + 1) > VAULT_SEALED_MAX)
		return YH_ERR_TOO_LONG;
	if (v->ops != NULL)
		return v->ops->open(v->ops_ctx, domain, sealed, out_pt);
	if ((body = malloc(bodymax)) == NULL || (pt = malloc(bodymax + 1)) == NULL) {
		rc = YH_ERR_ALLOC;
		goto out;
	}
	if ((rc = parse_sealed(v, sealed, nonce, body, bodymax, &bodylen)) != 0)
		goto out;
	ctlen = bodylen - tag_len(v);
	if (ctlen > VAULT_VALUE_MAX) {
		rc = YH_ERR_TOO_LONG;
		goto out;
	}
	if ((rc = make_aad(v, domain, aad, sizeof(aad), &aadlen)) != 0 ||
	    (rc = open_raw(v, aad, aadlen, nonce, body, ctlen, pt)) != 0)
		goto out;
	pt[ctlen] = '\0';
	if (memchr(pt, '\0', ctlen) != NULL) {
		rc = YH_ERR_INVALID;
		goto out;
	}
	*out_pt = (char *)pt;
	pt = NULL;
out:
	free(body);
	yh_freezero(pt, bodymax + 1);
	return rc;
}
