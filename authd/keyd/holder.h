/*
 * Every secret key authd uses, opened from its configuration in one place (prefix kh_):
 * the vault key, the pairwise-subject key, the signing ring, the client-secret hashing
 * key and the audit checkpoint key. keyd opens them like this and answers requests with
 * them; authd with keys.in_process opens them in its own process (measurement and
 * diagnosis only). Nothing else in authd reads a key file.
 *
 * First start: the state directory, the vault key and the subject key are made with a
 * new directory (ident_open_keys), the ring with its first keys (keys.dir), and the audit
 * key (audit.key_file); the client-secret key is made by the first client with a secret.
 */
#ifndef YH_AUTHD_KEYD_HOLDER_H
#define YH_AUTHD_KEYD_HOLDER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "authcore/authd_config.h"
#include "authcore/clients/clients.h"
#include "authd/keyd/proto.h"
#include "common/err.h"

struct vault;
struct keys;
struct tok_ring;

struct kh {
	struct vault *vault;             /* owned (a caller may take it: set NULL) */
	struct keys *keys;               /* subject and audit keys (keys_local_new) */
	struct tok_ring *ring;           /* the signing ring, from its directory */
	char audit_kid[KD_KID_MAX + 1];  /* the audit key's id */
	char *state_dir;                 /* where client-secret.key is */
	pthread_rwlock_t secret_lock;    /* guards secret */
	struct clients_secret_key secret;
};

/*
 * Opens every key of cfg (creating what a first start creates, see above). err gets one
 * line naming the file and what to do, as authd printed it before keyd existed: a vault
 * key missing beside an existing directory, a key file readable by others, a broken
 * keyring.json, an audit key file that is another key's file... Key files and the ring's
 * directory must be owned by this process's effective uid; the directories holding them
 * by it or root, not writable by group or others unless sticky (so another account, the
 * HTTP process's under `user`, cannot put its own key in place of one). Returns 0 or the
 * error of the key that failed. Free *out with kh_free.
 */
int kh_open(const struct authd_cfg *cfg, struct kh **out, char *err, size_t errsz) YH_WUR;

/* Wipes and frees everything. NULL is fine. */
void kh_free(struct kh *k);

/*
 * Re-reads STATE_DIR/client-secret.key (made first when create and missing; authctl may
 * have made or replaced it since) and writes its id into kid. Returns 0,
 * YH_ERR_NOT_FOUND (no key, not create), or the load's error with err set.
 */
int kh_secret_kid(struct kh *k, bool create, char kid[KD_KID_MAX + 1], char *err,
    size_t errsz) YH_WUR;

/* The keyed hash of a client secret under the current client-secret key, and that
 * key's id. Returns 0, YH_ERR_NOT_FOUND (no key), YH_ERR_CRYPTO. */
int kh_secret_hash(struct kh *k, const char *id, const char *secret, size_t len,
    unsigned char out[CLIENTS_HASH_LEN], char kid[KD_KID_MAX + 1]) YH_WUR;

#endif
