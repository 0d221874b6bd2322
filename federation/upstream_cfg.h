/*
 * The configuration of upstream identity providers, prefix fed_up_: one block of
 * upstream.NAME.* options per upstream (docs/federation.md), read from authd's file by
 * authd and authctl. NAME is chosen by the operator, so the block's rows are a table of
 * their own (fed_up_opts, names without "upstream.NAME."), applied to one struct
 * fed_up_cfg per NAME through a YH_CFG_FAMILY row of common/config. Every
 * option remembers the file:line that set it, so a check names it.
 *
 *   kind = oidc     an OpenID Connect provider (a provincial platform, or a provincial
 *                   installation of Yihao): issuer, client_id, client_secret, scopes
 *   kind = ticket   redirect -> one-time ticket -> server-to-server exchange: login_url,
 *                   validate_url, app_id, app_secret, sign
 *
 * and for both the claim mapping (map.*: a claim name or a dotted JSON path), the level
 * of assurance (loa, acr_map), auto_register, link and logout.
 */
#ifndef YH_FEDERATION_UPSTREAM_CFG_H
#define YH_FEDERATION_UPSTREAM_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/err.h"
#include "token/jose_alg.h"

#define FED_UP_MAX 16          /* upstream blocks in a file */
#define FED_UP_NAME_MAX 32     /* bytes of NAME: [a-z0-9_-] */
#define FED_UP_LOA_MAX 4       /* levels of assurance are 1..4 */
#define FED_UP_ACR_MAX 16      /* entries of acr_map */

/* One upstream.NAME block. */
struct fed_up_cfg {
	char name[FED_UP_NAME_MAX + 1];
	char *kind;              /* oidc | ticket */
	char *display_name;      /* the button's name: "使用 {display_name} 登录" */
	char *display_name_en;   /* the same in English; NULL: display_name */
	int64_t loa;             /* level of a login whose acr is absent or unmapped */
	char *acr_map;           /* "acr=N, acr=N": the level of each upstream acr */
	bool auto_register;      /* an unknown person is created */
	char *link;              /* id_number | sub: what finds the person on a first login */
	char *logout;            /* local | propagate: a local logout goes on upstream */
	int64_t timeout;         /* seconds a call to the upstream may take */
	char *ca_file;           /* PEM CAs of the upstream's https; NULL: the system's */
	char *map_sub;           /* map.sub: the upstream's subject */
	char *map_id_number;     /* map.id_number */
	char *map_name;          /* map.name */
	char *map_phone;         /* map.phone */
	char *map_user_type;     /* map.user_type: person or organization */
	char *map_uscc;          /* map.uscc: the organization's credit code */
	char *map_org_name;      /* map.org_name */
	char *org_user_type;     /* map.user_type's value for a legal-person login */
	/* kind = oidc */
	char *issuer;            /* discovery at ISSUER/.well-known/openid-configuration */
	char *client_id;
	char *client_secret;     /* SENSITIVE */
	char *token_auth;        /* client_secret_basic | client_secret_post |
	                            private_key_jwt */
	char *private_key;       /* private_key_jwt: our key (PEM, 0600, ours) */
	char *private_key_alg;   /* private_key_jwt: ES256 | RS256 | PS256 | EdDSA | SM2 */
	char *scopes;            /* space-separated, with openid */
	char *algs;              /* ID token algorithms accepted */
	int64_t discovery_refresh; /* seconds a fetched discovery document is used */
	/* kind = ticket */
	char *login_url;         /* where the browser goes, with app id and return URL */
	char *validate_url;      /* where the ticket is exchanged */
	char *app_id;
	char *app_secret;        /* SENSITIVE: the secret, or the HMAC key */
	char *sign;              /* secret | hmac-sha256 | hmac-sm3 | sm2-sm3 */
	char *sign_key_file;     /* sm2-sm3: our SM2 private key (PEM, 0600) */
	char *app_id_param;      /* the query parameter names of the redirect */
	char *return_param;
	char *ticket_param;
	char *result_field;      /* the answer's member saying success (dotted path) */
	char *result_value;      /* its value on success */

	/* Not options: where each option was set ("file:line"; NULL: default). */
	char *where[48];
	char *first;             /* the block's first line */
	struct tok_key *client_key; /* private_key loaded by fed_up_check (kid: its
	                               RFC 7638 thumbprint); NULL otherwise */
};

/* The blocks of one file, in the order they first appear. */
struct fed_up_set {
	struct fed_up_cfg *up[FED_UP_MAX];
	size_t n;
};

/* The rows of a block (names without "upstream.NAME."), NULL-terminated. */
extern const struct yh_cfg_opt fed_up_opts[];

/* The prefix of the blocks: a YH_CFG_FAMILY row of authd's table. */
#define FED_UP_PREFIX "upstream."

/*
 * The YH_CFG_FAMILY hook of "upstream." (common/config.h; slot: a struct fed_up_set):
 * key is upstream.NAME.OPTION, read at line lineno of file; a new NAME starts a block
 * with every option at its default. Errors (err filled, where first): a malformed NAME,
 * more than FED_UP_MAX blocks, an unknown OPTION, one given twice, a value the row
 * refuses. Returns 0, YH_ERR_CONFIG or YH_ERR_ALLOC.
 */
int fed_up_cfg_line(void *slot, const char *key, const char *value, const char *file,
    unsigned lineno, struct yh_cfg_err *err) YH_WUR;

/*
 * Checks every block for what the rows cannot: what kind requires, URLs (an issuer or
 * endpoint over http only for a loopback address), scopes with openid, algs,
 * acr_map's form and levels, map.* paths, link = id_number needing map.id_number, a
 * sign key file (0600). With token_auth = private_key_jwt it loads private_key (a
 * file of mode 0600 or stricter owned by the effective uid, a key of private_key_alg)
 * into the block's client_key, its kid set to its thumbprint. On error err (errsz
 * bytes) holds "file:line: upstream.NAME.OPTION: problem". Returns 0, YH_ERR_CONFIG or
 * YH_ERR_ALLOC.
 */
int fed_up_check(struct fed_up_set *s, char *err, size_t errsz) YH_WUR;

/* The block called name, or NULL. */
const struct fed_up_cfg *fed_up_find(const struct fed_up_set *s, const char *name);

/*
 * The level of a login through u whose upstream asserted acr (NULL or "": none): the
 * level acr_map gives acr, else u->loa. Never more than the mapping gives.
 */
int fed_up_loa(const struct fed_up_cfg *u, const char *acr);

/* True when a and b hold the same blocks with the same values. */
bool fed_up_equal(const struct fed_up_set *a, const struct fed_up_set *b);

/* Copies src into *dst (every string duplicated, client_key shared by reference). Returns 0 or YH_ERR_ALLOC (*dst
 * then empty). */
int fed_up_copy(struct fed_up_set *dst, const struct fed_up_set *src) YH_WUR;

/* Frees the blocks of s (wiping secrets, dropping client_key) and empties it; safe on an empty set. */
void fed_up_free(struct fed_up_set *s);

#endif
