/*
 * What the files of the client registry share (authcore/clients/): the snapshot and
 * registry structures, the on-disk constants, and the helpers one file offers another.
 * Not for use outside authcore/clients/; the public API is clients.h.
 */
#ifndef YH_AUTHCORE_CLIENTS_INT_H
#define YH_AUTHCORE_CLIENTS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <pthread.h>
#include <jansson.h>

#include "authcore/clients/clients.h"
#include "common/err.h"
#include "common/snapshot.h"

#define CLIENTS_FORMAT "yihao-clients/1"
#define KEY_MAGIC "yihao-client-secret-key/1"
#define KEY_BYTES 32
#define KEY_FILE_MAX 1024
#define HASH_ALG "hmac-sha256"
#define HASH_DOMAIN "yihao-client-secret/1"
#define PATH_MAX_ 4096
#define SCOPE_TEXT_MAX 1024

/* What identifies one version of clients.json: a rename always gives a new inode. */
struct file_ident {
	bool present;
	dev_t dev;
	ino_t ino;
	off_t size;
	int64_t mtime_ns;
};

/* Both files' identities: clients.json and the apps file. */
struct idents {
	struct file_ident state, apps;
};

struct clients_snap {
	struct yh_snap hdr;             /* the reference count */
	json_t *root;                   /* clients.json parsed: client strings point into it */
	json_t *apps_root;              /* the apps file parsed (NULL: none) */
	char *state_path, *apps_path;   /* for clients_client.file */
	struct clients_client *v;       /* sorted by id */
	size_t n;
	bool have_key;
	unsigned char key[KEY_BYTES];   /* only without a hasher */
	char kid[CLIENTS_KID_LEN + 1];
	const struct clients_hasher *hasher;  /* the key is elsewhere (clients_opts.hasher) */
	const char **origins;           /* every client's cors_origins, sorted, once each */
	size_t n_origins;
};

struct clients_registry {
	char *dir;
	char path[PATH_MAX_];
	char apps_path[PATH_MAX_];      /* "": no apps file */
	struct clients_opts opts;
	struct yh_snap_slot slot;       /* the current snapshot */
	pthread_mutex_t reload_mu;      /* one loader at a time; guards the idents */
	struct idents loaded;           /* identities of the files cur came from */
	struct idents failed;           /* identities of the last files that failed to load */
	bool have_failed;
	int64_t next_check;             /* atomic: mono ms of the next allowed stat */
};

/* The scope and grant names, NULL-terminated; bit i is 1u << i (names.c). */
extern const char *const clients_scope_names[];
extern const char *const clients_grant_names[];

/* The auth kind named s ("none", "client_secret", "private_key_jwt"). */
int clients_auth_from_name(const char *s, enum clients_auth *out) YH_WUR;

/* private_key_jwt: checks that text is a JWKS of 1..TOK_KEYSET_MAX public signing keys;
 * out (may be NULL) gets them. YH_ERR_INVALID with err set (check.c). */
int clients_jwks_check(const char *text, struct tok_keyset *out, char *err, size_t errsz)
    YH_WUR;

/* True when uri (NULL, or longer than CLIENTS_URI_MAX: false) is one of v[0..n) (uri.c). */
bool clients_uri_in(const char *const *v, size_t n, const char *uri);

/* clients_cas_service_ok in two halves, so that a search over every app checks the
 * presented URL once: whether it passes the registration rules and the path check
 * (nothing above a prefix), and whether an app's services or prefixes match it (no
 * checks: only for a URL that passed the first). */
bool clients_cas_service_presentable(const char *service);
bool clients_cas_service_matches(const struct clients_client *c, const char *service);

/* The allowed_origins of c against the rules (clients.h): YH_ERR_INVALID with err set
 * (origin.c). */
int clients_origins_check(const struct clients_client *c, char *err, size_t errsz) YH_WUR;

/* Derives c's cors_origins (origin.c); YH_ERR_ALLOC. */
int clients_cors_derive(struct clients_client *c) YH_WUR;

/* Collects the cors_origins of every client of s into s->origins (origin.c);
 * YH_ERR_ALLOC. */
int clients_snap_origins(struct clients_snap *s) YH_WUR;
/* Checks the signing algorithms c chose against the enabled ones (TOK_ALGSET bits; 0:
 * every supported one). YH_ERR_INVALID with err set (check.c). */
int clients_algs_check(const struct clients_client *c, unsigned enabled, char *err,
    size_t errsz) YH_WUR;

/* out (PATH_MAX_ bytes) = dir/name; YH_ERR_TOO_LONG when it does not fit. */
int clients_dir_path(char *out, const char *dir, const char *name) YH_WUR;

/* The identity of a file from its stat. */
void clients_ident_of(const struct stat *st, struct file_ident *id);

/* A new empty snapshot with one reference (NULL: out of memory), and its destructor. */
struct clients_snap *clients_snap_new(void);
void clients_snap_free(struct clients_snap *s);

/* Loads clients.json and the apps file (if any) of r into a new snapshot holding the key
 * of the state directory; *id gets the files' identities (load.c). */
int clients_snap_load(const struct clients_registry *r, struct clients_snap **out,
    struct idents *id, char *err, size_t errsz) YH_WUR;

/* The installation key of s: read from DIR/client-secret.key (created first, 32 random
 * bytes, with create when missing), or only its id from s->hasher. No key at all leaves
 * s->have_key false. (key.c) */
int clients_snap_key(struct clients_snap *s, const char *dir, bool create, char *err,
    size_t errsz) YH_WUR;

/* The keyed hash of a secret under s's key (all zeros without one, so that the work is
 * the same): computed here, or by s->hasher, which must use the key s names. */
int clients_snap_hash(const struct clients_snap *s, const char *id, const char *secret,
    size_t len, unsigned char out[CLIENTS_HASH_LEN]) YH_WUR;

/* Hashes a new secret of client id under the installation key, creating the key on
 * first use: kid and hash get the stored form. */
int clients_hash_new_secret(struct clients_registry *r, const char *id, const char *secret,
    char kid[CLIENTS_KID_LEN + 1], unsigned char hash[CLIENTS_HASH_LEN], char *err,
    size_t errsz) YH_WUR;

#endif
