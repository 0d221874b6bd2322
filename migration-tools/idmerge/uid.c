/*
 * Uids: the stable directory uid of an identity, HMAC-SHA256 of its canonical key under
 * a secret uid key. An ID number has so little entropy (a region, a birth date, three
 * digits and a check digit) that an HMAC under a known key is reversed by trying them
 * all; so there is no default key: a run takes --uid-key FILE, or OUT/uid.key, made on
 * the first run and reused by later runs and by import.
 *
 * A struct mig_uid_key is an OpenSSL EVP_MAC context (HMAC, SHA256) keyed once; every
 * uid restarts it with EVP_MAC_init(ctx, NULL, 0, NULL), which keeps the key, so a uid
 * costs no fetch, no allocation and no lock. The context is the caller's own (the run
 * holds one, and each thread of a run its copy, mig_uid_key_dup), never a static, so
 * two threads share nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "common/atomicfile.h"
#include "common/keyfile.h"
#include "common/secmem.h"
#include "migration-tools/idmerge/mig.h"

/* The fixed public key earlier versions used when given none: only to recognise the
 * uids made with it (idmerge rekey), never to make new ones. */
static const char uid_legacy_key[] = "yihao/idmerge/uid/v1";

struct mig_uid_key {
	EVP_MAC_CTX *ctx;
};

void
mig_uid_key_free(struct mig_uid_key *k)
{
	if (k == NULL)
		return;
	EVP_MAC_CTX_free(k->ctx);   /* wipes the key it holds */
	free(k);
}

/* An HMAC-SHA256 context keyed with the len bytes at key. */
static int
uid_key_make(const unsigned char *key, size_t len, struct mig_uid_key **out)
{
	OSSL_PARAM params[2];
	struct mig_uid_key *k;
	EVP_MAC *mac = NULL;
	int e = YH_ERR_CRYPTO;

	*out = NULL;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return YH_ERR_ALLOC;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) != NULL &&
	    (k->ctx = EVP_MAC_CTX_new(mac)) != NULL && EVP_MAC_init(k->ctx, key, len, params) == 1)
		e = 0;
	EVP_MAC_free(mac);   /* the context keeps its own reference */
	if (e != 0) {
		mig_uid_key_free(k);
		return e;
	}
	*out = k;
	return 0;
}

int
mig_uid_key_new(const unsigned char *key, size_t len, struct mig_uid_key **out)
{
	*out = NULL;
	if (key == NULL || len < MIG_UID_KEY_MIN || len > MIG_UID_KEY_MAX)
		return YH_ERR_KEY;
	if (len == sizeof(uid_legacy_key) - 1 && yh_ct_eq(key, uid_legacy_key, len))
		return YH_ERR_KEY;   /* public: it would make the uids reversible again */
	return uid_key_make(key, len, out);
}

int
mig_uid_key_load(const char *path, bool create, struct mig_uid_key **out, char *err,
    size_t errsz)
{
	unsigned char key[MIG_UID_KEY_FILE_LEN];
	struct yh_file_fail f;
	char *raw = NULL;
	size_t n = 0;
	int e;

	*out = NULL;
	/* The uid.key form: 32 random bytes as a line of hex, 0600, made atomically. */
	e = yh_keyfile_get(path, sizeof(key), create, key, err, errsz);
	if (e == 0) {
		e = mig_uid_key_new(key, sizeof(key), out);
		yh_wipe(key, sizeof(key));
		return e;
	}
	if (e != YH_ERR_KEY || create)
		return e;
	/* Any other private file: its bytes are the key, as --uid-key has always read it. */
	e = yh_file_read_private(path, MIG_UID_KEY_MAX, &raw, &n, &f);
	if (e == 0)
		e = mig_uid_key_new((const unsigned char *)raw, n, out);
	if (e == YH_ERR_KEY || e == YH_ERR_TOO_LONG) {
		snprintf(err, errsz, "%s: a uid key file holds %d to %d secret bytes (not the "
		    "public \"%s\"), or %d hex digits and a newline", path, MIG_UID_KEY_MIN,
		    MIG_UID_KEY_MAX, uid_legacy_key, 2 * MIG_UID_KEY_FILE_LEN);
		e = YH_ERR_KEY;
	} else if (e != 0) {
		yh_file_fail_msg(&f, err, errsz);
		e = e == YH_ERR_NOT_FOUND ? YH_ERR_KEY : e;
	}
	if (raw != NULL)
		yh_freezero(raw, n + 1);
	return e;
}

int
mig_uid_key_dup(const struct mig_uid_key *k, struct mig_uid_key **out)
{
	struct mig_uid_key *d;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return YH_ERR_ALLOC;
	if ((d->ctx = EVP_MAC_CTX_dup(k->ctx)) == NULL) {
		free(d);
		return YH_ERR_CRYPTO;
	}
	*out = d;
	return 0;
}

int
mig_uid_key_legacy(struct mig_uid_key **out)
{
	return uid_key_make((const unsigned char *)uid_legacy_key, sizeof(uid_legacy_key) - 1,
	    out);
}

int
mig_uid(struct mig_uid_key *k, char kind, const char *canon, char *out, size_t outsz)
{
	/* The kind is inside the MAC, so a person and an organization never share a uid. */
	const unsigned char prefix[2] = { (unsigned char)kind, ':' };
	unsigned char md[32];
	size_t n = strlen(canon), len = 0;

	if (k == NULL)
		return YH_ERR_KEY;
	if (outsz < 33 || n == 0 || n > MIG_UID_CANON_MAX)
		return YH_ERR_INTERNAL;
	if (EVP_MAC_init(k->ctx, NULL, 0, NULL) != 1 || EVP_MAC_update(k->ctx, prefix, 2) != 1 ||
	    EVP_MAC_update(k->ctx, (const unsigned char *)canon, n) != 1 ||
	    EVP_MAC_final(k->ctx, md, &len, sizeof(md)) != 1 || len != sizeof(md))
		return YH_ERR_CRYPTO;
	yh_hex_encode(md, 16, out);
	return 0;
}

int
mig_uid_key_open(const char *dir, const char *key_file, struct mig_uid_key **out, char *err,
    size_t errsz)
{
	char path[4200];

	if (key_file == NULL && (size_t)snprintf(path, sizeof(path), "%s/%s", dir,
	    MIG_UID_KEY_NAME) >= sizeof(path)) {
		*out = NULL;
		snprintf(err, errsz, "%s: path too long", dir);
		return YH_ERR_CONFIG;
	}
	return mig_uid_key_load(key_file != NULL ? key_file : path, false, out, err, errsz);
}
