/*
 * The identity core opened as one: the PII vault and the directory it seals for, plus
 * the password hashing cost, from a finished struct ident_cfg. authctl, authd and
 * idmerge all open their state through ident_open.
 */
#ifndef YH_IDENTITY_IDENTITY_H
#define YH_IDENTITY_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include "common/err.h"
#include "identity/dir/dir.h"
#include "identity/identity_config.h"
#include "identity/passwd/passwd.h"
#include "identity/vault/vault.h"

struct ident {
	struct vault *vault;     /* owned; thread-safe */
	struct dir *dir;         /* owned; thread-safe (see dir.h) */
	struct pw_params pw;     /* argon2id cost for new hashes and for "needs rehash" */
	char *state_dir;         /* owned copy of cfg->state_dir */
};

/*
 * The pairwise-subject key: the HMAC key from which every app's `sub` for a person is
 * derived (authd/oidc/oidc.h). It belongs to the directory, like the vault key: it is made
 * in the state directory together with a new directory (whoever creates it: authd,
 * authctl or idmerge import) and must never be replaced next to an existing one.
 */
#define IDENT_SUBJECT_KEY_LEN 32
#define IDENT_SUBJECT_KEY_NAME "subject.key"

/*
 * Reads STATE_DIR/subject.key into out, creating it first when create is true and it
 * does not exist (ident_open does, with a new directory). Returns 0, or YH_ERR_KEY
 * (missing: err says to restore it from the backup, since a new key would change every
 * user's subject identifier; or malformed), YH_ERR_PERM, YH_ERR_IO, YH_ERR_CONFIG (path
 * too long), with one line in err naming the file. out is wiped on error.
 */
int ident_subject_key(const char *state_dir, bool create,
    unsigned char out[IDENT_SUBJECT_KEY_LEN], char *err, size_t errsz) YH_WUR;

/*
 * Opens the vault and the directory of a finished configuration (ident_cfg_finish).
 *
 * With create (authd, authctl user add, idmerge import) a missing state directory is
 * created mode 0700 (with missing parents) and must be writable; a missing directory
 * database is created with a fresh vault key (or with the existing key file) and, beside
 * it, the pairwise-subject key STATE_DIR/subject.key (an existing one is kept). Without
 * create, both must exist.
 *
 * Refuses, with one line in err naming the path and what to do:
 *   - a state directory that cannot be created or written (YH_ERR_PERM / YH_ERR_IO),
 *   - a directory database whose vault key file is missing (YH_ERR_KEY: a new key
 *     would leave every sealed value unreadable; restore the key file),
 *   - a key file that is not the directory's key (YH_ERR_KEY),
 *   - a key file with unsafe permissions (YH_ERR_PERM), an unknown cipher or one that
 *     differs from the key file's (YH_ERR_CONFIG),
 *   - a missing directory without create (YH_ERR_NOT_FOUND),
 *   - an unfinished or malformed configuration (YH_ERR_CONFIG).
 * *out is NULL on error; free it with ident_close.
 */
int ident_open(const struct ident_cfg *cfg, bool create, struct ident **out, char *err,
    size_t errsz) YH_WUR;

/*
 * The key half of ident_open, for the process that holds the keys (authd's keyd, or
 * authd itself with keys.in_process): the same checks and state directory preparation,
 * the vault opened (or created with a new directory) into *vault, and the pairwise-
 * subject key read into subject_key (made with a new directory; missing beside an
 * existing one: YH_ERR_KEY, see ident_subject_key). Errors as ident_open's and
 * ident_subject_key's. On error *vault is NULL and subject_key wiped; otherwise close
 * the vault with vault_close and wipe the key.
 */
int ident_open_keys(const struct ident_cfg *cfg, bool create, struct vault **vault,
    unsigned char subject_key[IDENT_SUBJECT_KEY_LEN], char *err, size_t errsz) YH_WUR;

/*
 * The directory half of ident_open, for a process whose vault is given (a vault held
 * by keyd: vault_new_remote): the state directory ready (created with create), the
 * directory opened with vault, which the struct ident takes over (closed on error too).
 * The key files are never touched. Errors as ident_open's directory errors.
 */
int ident_open_dir(const struct ident_cfg *cfg, bool create, struct vault *vault,
    struct ident **out, char *err, size_t errsz) YH_WUR;

/* Closes the directory, wipes and frees the vault, frees the struct. NULL is fine. */
void ident_close(struct ident *id);

#endif
