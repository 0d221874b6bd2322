/* Opening every key of authd's configuration: see holder.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authcore/audit/audit.h"
#include "authd/keyd/holder.h"
#include "authd/keyd/keys.h"
#include "common/log.h"
#include "common/secmem.h"
#include "identity/identity.h"
#include "identity/vault/vault.h"
#include "token/keyring.h"

_Static_assert(VAULT_KID_LEN == KD_KID_MAX && YH_AUDIT_KID_LEN == KD_KID_MAX &&
    CLIENTS_KID_LEN == KD_KID_MAX, "every key id fits the protocol's");
_Static_assert(IDENT_SUBJECT_KEY_LEN == KEYS_KEY_LEN && YH_AUDIT_KEY_LEN == KEYS_KEY_LEN,
    "the subject and audit keys are what keys_local_new takes");

/*
 * The directory holding the key file (or key directory) path: only the key holder's
 * user or root may own it, and group and others may not write it unless it has the
 * sticky bit (the state directory under `user`, root:GROUP 1770: the HTTP process's
 * account makes its own files there but cannot rename or remove keyd's). Otherwise
 * another account could swap a key file for another, or the ring's directory for one of
 * its choosing. A directory that does not exist yet is made by the first start.
 */
static int
dir_safe(const char *path, char *err, size_t errsz)
{
	const char *slash = strrchr(path, '/');
	char dir[4096] = ".";
	size_t n = slash == NULL ? 0 : slash == path ? 1 : (size_t)(slash - path);
	struct stat st;

	if (n >= sizeof(dir))
		return YH_FAIL(YH_ERR_CONFIG, err, errsz, "%s: path too long", path);
	if (n > 0) {
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	if (stat(dir, &st) != 0)
		return errno == ENOENT ? 0 : YH_FAIL(YH_ERR_IO, err, errsz, "%s: %s", dir,
		    strerror(errno));
	if (st.st_uid != geteuid() && st.st_uid != 0)
		return YH_FAIL(YH_ERR_PERM, err, errsz, "%s, the directory of the key file %s, "
		    "is owned by uid %u: it must be the key holder's (uid %u) or root's", dir,
		    path, (unsigned)st.st_uid, (unsigned)geteuid());
	if ((st.st_mode & 022) != 0 && !(st.st_mode & S_ISVTX))
		return YH_FAIL(YH_ERR_PERM, err, errsz, "%s, the directory of the key file %s, "
		    "is writable by group or others without the sticky bit (mode %04o): another "
		    "account could swap the key files; chmod 700 it (1770 under `user`)", dir,
		    path, (unsigned)(st.st_mode & 07777));
	return 0;
}

/* dir_safe for every key of cfg: the vault key, the state directory's (subject.key,
 * client-secret.key), the audit key and the ring's directory. */
static int
key_dirs_safe(const struct authd_cfg *cfg, char *err, size_t errsz)
{
	char *audit = authd_cfg_state_path(cfg, cfg->audit_key_file, "audit.key");
	char *keys = authd_cfg_state_path(cfg, cfg->keys_dir, "keys");
	char *subject = authd_cfg_state_path(cfg, NULL, IDENT_SUBJECT_KEY_NAME);
	int r = YH_ERR_ALLOC;

	if (audit == NULL || keys == NULL || subject == NULL)
		snprintf(err, errsz, "out of memory");
	else if ((r = dir_safe(cfg->ident.vault_key_file, err, errsz)) == 0 &&
	    (r = dir_safe(subject, err, errsz)) == 0 && (r = dir_safe(audit, err, errsz)) == 0)
		r = dir_safe(keys, err, errsz);
	free(audit);
	free(keys);
	free(subject);
	return r;
}

/* Refuses an audit key file that is another key's file: each key has one job. */
static int
audit_key_alone(const struct authd_cfg *cfg, const char *key, char *err, size_t errsz)
{
	const char *others[] = { cfg->ident.vault_key_file, NULL };
	char subject[4096];
	struct stat k, o;

	if ((size_t)snprintf(subject, sizeof(subject), "%s/%s", cfg->ident.state_dir,
	    IDENT_SUBJECT_KEY_NAME) < sizeof(subject))
		others[1] = subject;
	if (stat(key, &k) != 0)
		return 0;
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		if (others[i] != NULL && stat(others[i], &o) == 0 && o.st_dev == k.st_dev &&
		    o.st_ino == k.st_ino) {
			snprintf(err, errsz, "audit.key_file %s is the key file %s: the audit "
			    "checkpoint key must be a key of its own", key, others[i]);
			return YH_ERR_CONFIG;
		}
	return 0;
}

/* The audit checkpoint key (created on first start) and the subject key, as keys. */
static int
open_keys(struct kh *k, const struct authd_cfg *cfg,
    const unsigned char subject[IDENT_SUBJECT_KEY_LEN], char *err, size_t errsz)
{
	struct yh_audit_key ak;
	char *path;
	int r;

	memset(&ak, 0, sizeof(ak));
	if ((path = authd_cfg_state_path(cfg, cfg->audit_key_file, "audit.key")) == NULL)
		return YH_ERR_ALLOC;
	if ((r = audit_key_alone(cfg, path, err, errsz)) != 0 ||
	    (r = yh_audit_key_load(path, true, &ak, err, errsz)) != 0)
		goto out;
	memcpy(k->audit_kid, ak.kid, sizeof(k->audit_kid));
	if ((r = keys_local_new(subject, ak.key, &k->keys)) != 0)
		snprintf(err, errsz, "cannot set up the keys: %s", yh_strerror(r));
out:
	yh_audit_key_wipe(&ak);
	free(path);
	return r;
}

/* The signing key ring, created on first start with keys.alg's chain; then every
 * algorithm of keys.algs gets its chain if the ring has none (a ring written by a version
 * that signed with one algorithm is upgraded here, and says so in the log). */
static int
open_ring(struct kh *k, const struct authd_cfg *cfg, char *err, size_t errsz)
{
	struct tok_ring_opts ro = { .create = true, .alg = cfg->key_default_alg };
	char names[64];
	unsigned added = 0;
	char *path;
	int r;

	if ((path = authd_cfg_state_path(cfg, cfg->keys_dir, "keys")) == NULL)
		return YH_ERR_ALLOC;
	if ((r = tok_ring_open(path, &ro, &k->ring, err, errsz)) == 0 &&
	    (r = tok_ring_ensure_algs(k->ring, cfg->key_algs, &added, err, errsz)) == 0 &&
	    added != 0 && tok_algset_format(added, names, sizeof(names)) == 0)
		yh_info("key ring %s: generated an active and a next key for %s (keys.algs)",
		    path, names);
	free(path);
	return r;
}

int
kh_open(const struct authd_cfg *cfg, struct kh **out, char *err, size_t errsz)
{
	unsigned char subject[IDENT_SUBJECT_KEY_LEN];
	struct kh *k;
	int r;

	*out = NULL;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return YH_ERR_ALLOC;
	if (pthread_rwlock_init(&k->secret_lock, NULL) != 0) {
		free(k);
		return YH_ERR_INTERNAL;
	}
	if ((r = key_dirs_safe(cfg, err, errsz)) != 0)
		goto out;
	/* The vault and the subject key: made with a new directory; beside an existing
	 * one a missing key is an error (a new one would lose data or change every sub). */
	if ((r = ident_open_keys(&cfg->ident, true, &k->vault, subject, err, errsz)) != 0)
		goto out;
	if ((k->state_dir = strdup(cfg->ident.state_dir)) == NULL) {
		r = YH_ERR_ALLOC;
		goto out;
	}
	if ((r = open_ring(k, cfg, err, errsz)) != 0 ||
	    (r = clients_secret_key_load(k->state_dir, false, &k->secret, err, errsz)) != 0 ||
	    (r = open_keys(k, cfg, subject, err, errsz)) != 0)
		goto out;
	*out = k;
	k = NULL;
out:
	yh_wipe(subject, sizeof(subject));
	kh_free(k);
	return r;
}

void
kh_free(struct kh *k)
{
	if (k == NULL)
		return;
	vault_close(k->vault);
	keys_free(k->keys);
	tok_ring_free(k->ring);
	free(k->state_dir);
	pthread_rwlock_destroy(&k->secret_lock);
	yh_freezero(k, sizeof(*k));
}

int
kh_secret_kid(struct kh *k, bool create, char kid[KD_KID_MAX + 1], char *err, size_t errsz)
{
	struct clients_secret_key fresh;
	int r;

	kid[0] = '\0';
	if ((r = clients_secret_key_load(k->state_dir, create, &fresh, err, errsz)) != 0)
		goto out;
	pthread_rwlock_wrlock(&k->secret_lock);
	k->secret = fresh;
	if (k->secret.have)
		memcpy(kid, k->secret.kid, KD_KID_MAX + 1);
	pthread_rwlock_unlock(&k->secret_lock);
	r = kid[0] != '\0' ? 0 : YH_ERR_NOT_FOUND;
out:
	yh_wipe(&fresh, sizeof(fresh));
	return r;
}

int
kh_secret_hash(struct kh *k, const char *id, const char *secret, size_t len,
    unsigned char out[CLIENTS_HASH_LEN], char kid[KD_KID_MAX + 1])
{
	int r;

	pthread_rwlock_rdlock(&k->secret_lock);
	memcpy(kid, k->secret.have ? k->secret.kid : "", k->secret.have ? KD_KID_MAX + 1 : 1);
	r = clients_secret_key_hash(&k->secret, id, secret, len, out);
	pthread_rwlock_unlock(&k->secret_lock);
	return r;
}
