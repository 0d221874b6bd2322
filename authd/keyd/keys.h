/*
 * The secret keys authd's endpoints use besides the vault and the signing ring, behind
 * one narrow interface (prefix keys_): the pairwise subject, a fixed set of keyed MACs,
 * and the sealed user reference of access tokens. The caller never sees a key: it hands
 * over the bytes and gets the result.
 *
 * Two implementations answer the same calls with the same bytes:
 *   - in process (keys_local_new): the keys are in this process's memory. keyd uses it
 *     to answer, and so do authd with keys.in_process (measurement and diagnosis only)
 *     and the unit tests;
 *   - remote (keys_new with keyd's client ops, authd/keyd/client.h): every call is a
 *     request to the key holder keyd.
 *
 * What each call computes (K_x = HMAC-SHA256(subject_key, label_x), each label used for
 * nothing else, so no purpose can be made to answer for another):
 *   keys_sub       HMAC-SHA256(subject_key, sector || 0x00 || uid): the pairwise `sub`
 *                  (authd/oidc/oidc.h). The raw subject key, as ever: subjects already
 *                  handed to apps must not change. A sector holds no '/' (clients.h), so
 *                  it never spells one of the labels below.
 *   keys_mac       HMAC-SHA256(K_purpose, msg) for
 *                    KEYS_MAC_CSRF        label "yihao/csrf/v1": form tokens (ui/csrf.h)
 *                    KEYS_MAC_REAUTH      label "yihao/reauth/v1": the re-authentication
 *                                         marker of /authorize
 *                    KEYS_MAC_LOGIN_NAME  label "yihao/login-name/v1": the name of the
 *                                         failed-login counter of an unknown identifier
 *                    KEYS_MAC_PEER_KEYS   label "yihao/peer-jwks/v1": the tag of the
 *                                         public signing keys a node publishes in a
 *                                         shared directory (authd/appsync.h); every
 *                                         node holds the same subject key, the
 *                                         directory's server does not
 *                  and KEYS_MAC_AUDIT: HMAC-SHA256(audit_key, msg), the audit
 *                  checkpoints' tag (authcore/audit/audit.h), under the audit key of
 *                  its own file, never the subject key.
 *   keys_uref_*    AES-256-GCM under K = HMAC-SHA256(subject_key, "yihao-uref/1"), a
 *                  random 96-bit nonce, the client id as associated data:
 *                  base64url(nonce || ciphertext || tag), the access token's yh_ref.
 *
 * Arguments are checked (lengths bounded, no NUL inside) before either implementation
 * sees them. Every call is thread-safe.
 */
#ifndef YH_AUTHD_KEYD_KEYS_H
#define YH_AUTHD_KEYD_KEYS_H

#include <stddef.h>

#include "common/err.h"

#define KEYS_KEY_LEN 32          /* the subject and audit keys, bytes */
#define KEYS_MAC_LEN 32          /* keys_sub and keys_mac output, bytes */
#define KEYS_SUB_STR_SIZE 44     /* keys_sub_str: 43 base64url characters and a NUL */
#define KEYS_SECTOR_MAX 255      /* a sector (CLIENTS_SECTOR_MAX) */
#define KEYS_UID_MAX 128         /* a user id (SESS_UID_MAX) */
#define KEYS_UREF_UID_MAX 64     /* a user id that fits in a user reference */
#define KEYS_CLIENT_ID_MAX 64    /* a client id (CLIENTS_ID_MAX) */
#define KEYS_UREF_MAX 128        /* a user reference with its NUL (OIDC_UREF_MAX) */
#define KEYS_MSG_MAX 16384       /* bytes one keys_mac call authenticates */

/* The purposes of keys_mac (values are part of keyd's protocol: never renumber). */
enum keys_purpose {
	KEYS_MAC_CSRF = 1,
	KEYS_MAC_REAUTH = 2,
	KEYS_MAC_LOGIN_NAME = 3,
	KEYS_MAC_AUDIT = 4,
	KEYS_MAC_PEER_KEYS = 5,
};
#define KEYS_PURPOSE_MAX 5

/* An implementation. Each function gets checked arguments (see keys_sub ...) and
 * returns 0 or a negative YH_ERR_*. */
struct keys_ops {
	int (*sub)(void *ctx, const char *sector, const char *uid,
	    unsigned char out[KEYS_MAC_LEN]);
	int (*mac)(void *ctx, enum keys_purpose purpose, const void *msg, size_t len,
	    unsigned char out[KEYS_MAC_LEN]);
	int (*uref_seal)(void *ctx, const char *client_id, const char *uid,
	    char out[KEYS_UREF_MAX]);
	int (*uref_open)(void *ctx, const char *client_id, const char *ref, char *uid,
	    size_t uidsz);
	void (*free)(void *ctx);     /* may be NULL: ctx is then not the handle's to free */
};

struct keys;

/*
 * A handle answering through ops with ctx (ops borrowed: static storage or outliving the
 * handle; ctx freed by ops->free at keys_free). Returns 0, YH_ERR_INVALID (an op
 * missing) or YH_ERR_ALLOC. Free it with keys_free.
 */
int keys_new(const struct keys_ops *ops, void *ctx, struct keys **out) YH_WUR;

/*
 * The in-process implementation over a copy of subject_key (KEYS_KEY_LEN bytes) and,
 * when not NULL, audit_key (KEYS_KEY_LEN bytes; without it KEYS_MAC_AUDIT answers
 * YH_ERR_KEY). The derived keys are made here; every copy is wiped at keys_free. Returns
 * 0, YH_ERR_CRYPTO or YH_ERR_ALLOC.
 */
int keys_local_new(const unsigned char subject_key[KEYS_KEY_LEN],
    const unsigned char *audit_key, struct keys **out) YH_WUR;

/* Frees the handle (and wipes the keys of a local one). NULL is fine. */
void keys_free(struct keys *k);

/* The pairwise subject MAC of uid in sector (1..KEYS_SECTOR_MAX and 1..KEYS_UID_MAX
 * bytes). Returns 0, YH_ERR_INVALID, or what the implementation returns (YH_ERR_CRYPTO). */
int keys_sub(const struct keys *k, const char *sector, const char *uid,
    unsigned char out[KEYS_MAC_LEN]) YH_WUR;

/* The pairwise subject as apps see it: keys_sub in base64url without padding, into out
 * ("" on error). Returns as keys_sub. authd answers it where no subject pin overrides it
 * (authd/oidc/oidc.h); idmerge rekey pins it. */
int keys_sub_str(const struct keys *k, const char *sector, const char *uid,
    char out[KEYS_SUB_STR_SIZE]) YH_WUR;

/* The MAC of len bytes (at most KEYS_MSG_MAX) for purpose. Returns 0, YH_ERR_INVALID (an
 * unknown purpose, too many bytes), YH_ERR_KEY (KEYS_MAC_AUDIT without an audit key),
 * YH_ERR_CRYPTO. */
int keys_mac(const struct keys *k, enum keys_purpose purpose, const void *msg, size_t len,
    unsigned char out[KEYS_MAC_LEN]) YH_WUR;

/* Seals uid (1..KEYS_UREF_UID_MAX bytes) for client_id (1..KEYS_CLIENT_ID_MAX) into out
 * (NUL-terminated base64url; "" on error). Returns 0, YH_ERR_INVALID, YH_ERR_CRYPTO. */
int keys_uref_seal(const struct keys *k, const char *client_id, const char *uid,
    char out[KEYS_UREF_MAX]) YH_WUR;

/* Opens a reference sealed for client_id into uid (uidsz bytes with the NUL; "" on
 * error). Returns 0, YH_ERR_INVALID (malformed, or uid does not fit), YH_ERR_AUTH
 * (forged, or sealed for another client), YH_ERR_CRYPTO. */
int keys_uref_open(const struct keys *k, const char *client_id, const char *ref, char *uid,
    size_t uidsz) YH_WUR;

/* The audit writer's mac callback (authcore/audit/audit.h: yh_audit_cp_opts.mac) over a
 * struct keys *: keys_mac(ctx, KEYS_MAC_AUDIT, ...). */
int keys_audit_mac(void *ctx, const void *msg, size_t len, unsigned char tag[KEYS_MAC_LEN])
    YH_WUR;

#endif
