/*
 * The registry of apps (OAuth/OIDC clients), prefix clients_.
 *
 * On disk, in the state directory:
 *
 *   STATE_DIR/clients.json        the registry (mode 0600; under `user` the account's,
 *                                 clients_opts.owner), the single source of truth:
 *                                 {"format":"yihao-clients/1","clients":[ one object per
 *                                 line ]}; written only by clients_add, _set_secret,
 *                                 _set_disabled and _remove (authctl client ...): temporary file,
 *                                 fsync, rename, fsync of the directory
 *   STATE_DIR/clients.lock        flock(2) target held by writers around their
 *                                 read-modify-write, so two authctl runs never lose an
 *                                 update (readers need no lock: a rename is atomic)
 *   STATE_DIR/client-secret.key   the per-installation key (32 random bytes, hex, mode
 *                                 0600) under which client secrets are hashed; created
 *                                 on the first client that has a secret
 *
 * A client secret is never stored: the file keeps HMAC-SHA256(key, "yihao-client-secret
 * /1" NUL client_id NUL secret) and the key's id. Secrets generated here are 256-bit
 * random (43 base64url characters); operator-chosen ones must be at least
 * CLIENTS_SECRET_MIN bytes. A keyed hash, not argon2: these secrets are high-entropy, so a
 * slow hash adds nothing but would cap the token endpoint (see docs/crypto.md).
 *
 * Redirect URIs (and post-logout redirect URIs) are registered in full and matched as
 * exact byte strings: no prefix, no wildcard, no normalization (a trailing slash, a
 * letter's case, the query all matter). At registration a URI must be absolute, ASCII,
 * without a fragment, without userinfo, and one of:
 *   - https://HOST[:PORT][/PATH][?QUERY]
 *   - http:// on a loopback host: 127.0.0.1, [::1] or localhost (RFC 8252 7.3)
 *   - a private-use scheme for native apps with a dot in it, e.g. com.example.app:/cb
 *     (RFC 8252 7.1)
 * The back-channel logout URI follows the first two rules (no custom scheme). An http(s)
 * URI is parsed with libcurl's URL API and its host must be written as curl reads it (a
 * DNS name of letters, digits, dots and hyphens, a dotted-quad IPv4 address, an [IPv6]
 * literal without a zone), its port 1..65535; the stored string is never curl's.
 *
 * CAS services (authd/cas/): an app that speaks CAS registers the service URLs it sends
 * as `service`, each either exact (cas_services) or a prefix (cas_service_prefixes), no
 * regular expression. Both are https (or http on loopback) URLs that pass the rules
 * above, without a query; a prefix ends in '/'. A service URL presented by an app is
 * matched on what comes before its '?': the query an app adds to its page is not matched
 * (Apereo CAS matches the whole URL by a pattern that usually ends in ".*"; phpCAS and
 * mod_auth_cas send the page's own query), but a ticket is bound to the service string
 * in full, query included. An exact service matches those bytes exactly; a prefix
 * matches when they start with it. Before either, the presented URL must itself pass
 * the registration rules (so a userinfo, an unusual way of writing the host or port, a
 * fragment are refused, and "https://a.gov.cn/app/" cannot match "https://a.gov.cn.evil/"
 * or "https://a.gov.cn/app-other"), and its path may hold no "." or ".." segment (also
 * percent-encoded, or with ";" parameters: "..;x"), no encoded '/', '\\' or '%', no '%'
 * without two hex digits, no bytes that are not UTF-8 and no backslash, so that nothing
 * under a prefix names a page above it. An app with CAS services and no redirect URI is a
 * CAS-only app: no grant, no secret (auth "none").
 *
 * Scopes a client may be granted come from a fixed, documented set: openid, profile,
 * phone, email, yh_id_number, offline_access, org, staff (no operator-defined scopes
 * yet). The yh_id_number scope needs allow_id_number, and allow_id_number implies it.
 *
 * An app may be registered as an organization's system ("org": its unified social
 * credit code, canonical): its client_credentials access tokens then name that
 * organization (yh_org). The registry checks the code's form only; whether the
 * organization exists and is active is authctl's check at registration and authd's at
 * every grant.
 *
 * In memory, a struct clients_registry hands out immutable, reference-counted snapshots
 * (a sorted array searched by binary search). clients_refresh_if_changed() stats the file
 * at most once per check interval and swaps in a freshly loaded snapshot when the file's
 * identity (device, inode, size, mtime) changed; a file that does not load keeps the last
 * good snapshot and logs one error naming file:line and the problem. One registry may be
 * shared by any number of threads.
 *
 * Apps may also be declared by the operator in a file of their own, named by the config
 * option clients.file (clients_opts.apps_file): the same document and members, read-only
 * to Yihao, so apps can live in configuration management next to authd.conf. There a
 * client_secret app gives its secret as "secret_file": a path (relative to the apps file)
 * to a file of the secret alone (one trailing newline ignored) that neither group nor
 * others may read; it is hashed under the installation key when loaded and the plain text
 * wiped. "created" is optional there. A client id declared in both files is a load error;
 * authctl client add/remove/set-secret/disable/enable refuse to touch an app of the
 * apps file (there it is disabled with "disabled": true in its entry). Both files
 * are watched; a change to a secret file alone is picked up on SIGHUP (clients_reload).
 *
 * An app that knew its users by the ids of a department's old system names that system
 * ("legacy_source": a source name as idmerge's sources file spells it, whose account links
 * idmerge imported). Its OIDC ID tokens and userinfo then carry yh_legacy_id (and
 * yh_legacy_username) for a person with an active account there; a CAS app may also take
 * that id as its <cas:user> ("cas_user": "legacy"; default "subject", the pairwise
 * subject). With "legacy_required" a person without such an account is refused at login
 * instead of falling back to the pairwise subject. cas_user "legacy" and legacy_required
 * need a legacy_source.
 *
 * CORS (docs/integration.md, "Single-page apps"): a public client's browser code may call
 * /token, /userinfo and /revoke from the origins of its http(s) redirect URIs (scheme, host
 * and port, written as a browser sends them in Origin: host in lower case, an IPv6
 * literal in its RFC 5952 form, no default port) and from the origins it registers as
 * "allowed_origins" (at most CLIENTS_ORIGINS_MAX). A registered origin is an https (or
 * http on loopback) URI with nothing after the port, no wildcard, written already the
 * way a browser sends it. A confidential client has no origins. The set ("cors_origins")
 * and the registry-wide set are computed when a snapshot loads, never per request.
 * An app may choose the algorithm its tokens are signed with (OpenID Connect Dynamic
 * Client Registration's id_token_signed_response_alg, for its ID tokens and back-channel
 * logout tokens; access_token_signed_response_alg for its JWT access tokens, which
 * follows the first when absent). It must be one the server enables (clients_opts.
 * token_algs); an app without one gets the server's default (keys.alg).
 *
 * Errors carry one line in the caller's err buffer (err may be NULL; 512 bytes is
 * plenty), e.g. "STATE/clients.json:7: client 3 \"portal\": redirect_uris[0]:
 * https://p.example/cb#x: fragment (#) not allowed" (client 3 = the fourth entry).
 */
#ifndef YH_AUTHD_CLIENTS_H
#define YH_AUTHD_CLIENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/config.h"
#include "common/err.h"
#include "token/jose_alg.h"

#define CLIENTS_FILE "clients.json"
#define CLIENTS_LOCK_FILE "clients.lock"
#define CLIENTS_KEY_FILE "client-secret.key"

#define CLIENTS_ID_MAX 64            /* client_id: [A-Za-z0-9._-]{1,64} */
#define CLIENTS_NAME_MAX 128         /* display name, UTF-8 bytes */
#define CLIENTS_URI_MAX 1024         /* any registered URI, bytes */
#define CLIENTS_URIS_MAX 16          /* redirect URIs (and post-logout ones) per client */
#define CLIENTS_CAS_MAX 16           /* CAS services, and CAS service prefixes, per client */
#define CLIENTS_ORIGINS_MAX 16       /* allowed_origins per client (CORS) */
#define CLIENTS_SECTOR_MAX 255       /* sector name: [A-Za-z0-9._:-]{1,255} */
#define CLIENTS_SOURCE_MAX 64        /* legacy source name: UTF-8 text, as idmerge's */
#define CLIENTS_SECRET_MIN 32        /* operator-chosen secret, bytes */
#define CLIENTS_SECRET_MAX 256
#define CLIENTS_SECRET_GEN_LEN 43    /* base64url of 32 random bytes */
#define CLIENTS_MAX 4096             /* clients in one registry */
#define CLIENTS_FILE_MAX (8u << 20)  /* clients.json size cap */
#define CLIENTS_HASH_LEN 32          /* HMAC-SHA256 output */
#define CLIENTS_KID_LEN 16           /* hex id of the secret key (8 bytes of its SHA-256) */
#define CLIENTS_LIFETIME_MIN 60      /* a client's token lifetimes, seconds; at most what
                                      * the token.* option may be set to */
#define CLIENTS_CHECK_INTERVAL_MS 1000  /* default stat rate limit of refresh_if_changed */

/* How a client authenticates at the token endpoint. */
enum clients_auth {
	CLIENTS_AUTH_NONE = 0,        /* public client (native app, SPA): PKCE required */
	CLIENTS_AUTH_SECRET,          /* client_secret_basic or client_secret_post */
	CLIENTS_AUTH_PRIVATE_KEY_JWT, /* a JWT signed by a key of the client's JWKS */
};

/* What a CAS app gets as <cas:user>. */
enum clients_cas_user {
	CLIENTS_CAS_USER_SUBJECT = 0, /* the pairwise subject */
	CLIENTS_CAS_USER_LEGACY,      /* the person's id in the app's legacy_source */
};

/* Scopes, as bits of clients_client.scopes. */
enum {
	CLIENTS_SCOPE_OPENID = 1u << 0,
	CLIENTS_SCOPE_PROFILE = 1u << 1,
	CLIENTS_SCOPE_PHONE = 1u << 2,
	CLIENTS_SCOPE_EMAIL = 1u << 3,
	CLIENTS_SCOPE_ID_NUMBER = 1u << 4,     /* "yh_id_number" */
	CLIENTS_SCOPE_OFFLINE_ACCESS = 1u << 5,
	CLIENTS_SCOPE_ORG = 1u << 6,           /* acting for an organization: yh_org */
	CLIENTS_SCOPE_STAFF = 1u << 7,         /* "staff": the yh_staff claim */
	CLIENTS_SCOPE_QR_LOGIN = 1u << 8,      /* "qr_login": its access token may confirm a
	                                        * QR-code login of a browser (authd/login/qr.c) */
};
#define CLIENTS_SCOPE_LAST CLIENTS_SCOPE_QR_LOGIN   /* the highest bit */
#define CLIENTS_SCOPES_DEFAULT (CLIENTS_SCOPE_OPENID | CLIENTS_SCOPE_PROFILE)

/* Grant types, as bits of clients_client.grants. */
enum {
	CLIENTS_GRANT_AUTHORIZATION_CODE = 1u << 0,
	CLIENTS_GRANT_REFRESH_TOKEN = 1u << 1,
	CLIENTS_GRANT_CLIENT_CREDENTIALS = 1u << 2,  /* confidential clients only */
	CLIENTS_GRANT_DEVICE_CODE = 1u << 3,         /* "device_code": the device
	                                              * authorization grant (RFC 8628) */
};
#define CLIENTS_GRANTS_DEFAULT (CLIENTS_GRANT_AUTHORIZATION_CODE | CLIENTS_GRANT_REFRESH_TOKEN)

/*
 * One registered app. Inside a snapshot everything is read-only and owned by the
 * snapshot. As input to clients_add, the caller fills it (clients_client_init first) and
 * keeps ownership of every string it points to.
 */
struct clients_client {
	char id[CLIENTS_ID_MAX + 1];
	const char *name;                  /* display name (consent page); NULL in: = id */
	enum clients_auth auth;
	bool require_pkce;                 /* always true for public clients */
	const char *const *redirect_uris;  /* exact strings */
	size_t n_redirect_uris;
	const char *const *post_logout_uris;
	size_t n_post_logout_uris;
	const char *backchannel_logout_uri; /* NULL: none */
	const char *const *cas_services;   /* CAS: exact service URLs (see above) */
	size_t n_cas_services;
	const char *const *cas_prefixes;   /* CAS: service URL prefixes, each ending in '/' */
	size_t n_cas_prefixes;
	unsigned scopes;                   /* CLIENTS_SCOPE_* the client may be granted */
	unsigned grants;                   /* CLIENTS_GRANT_* */
	bool allow_id_number;              /* the yh_id_number claim may be released */
	int min_loa;                       /* 1..4 */
	const char *sector;                /* pairwise-subject sector; NULL in: = id */
	const char *org;                   /* the organization the app's client_credentials
	                                    * tokens act for (canonical credit code); NULL */
	const char *legacy_source;         /* the old system whose user ids the app gets
	                                    * (yh_legacy_id); NULL: none */
	enum clients_cas_user cas_user;    /* CAS: what <cas:user> is */
	bool legacy_required;              /* refuse a person without an account there */
	bool require_par;                  /* require_pushed_authorization_requests (RFC
	                                    * 9126 6): /authorize only with a request_uri */
	bool require_person;               /* after an enterprise certificate's login, the
	                                    * person at the keyboard logs in too: the app
	                                    * gets the person's sub with the organization's
	                                    * yh_org (authd/oidc/authorize.h rule 5c) */
	const char *const *cas_proxy_callbacks; /* CAS: the pgtUrl values it may give (exact,
	                                    * https); none: it gets no proxy-granting ticket */
	size_t n_cas_proxy_callbacks;
	bool cas_accept_proxy;             /* CAS: /cas/proxy may issue proxy tickets for its
	                                    * services (off: they take service tickets only) */
	int64_t access_token_lifetime;     /* seconds; 0 = the server's default */
	int64_t id_token_lifetime;         /* seconds; 0 = the server's default */
	int64_t refresh_token_lifetime;    /* seconds; 0 = the server's default */
	int64_t created;                   /* seconds since the epoch (set by clients_add) */
	bool disabled;                     /* "disabled": the app is kept but refused
	                                    * everywhere (clients_set_disabled, below) */
	const char *const *allowed_origins; /* public clients: more CORS origins (above) */
	size_t n_allowed_origins;
	const char *const *cors_origins;   /* snapshots only: every origin CORS answers for,
	                                    * derived at load (above); owned by the snapshot */
	size_t n_cors_origins;
	enum tok_alg id_token_alg;         /* id_token_signed_response_alg: signs its ID and
	                                    * logout tokens; UNSET: the server's keys.alg */
	enum tok_alg access_token_alg;     /* access_token_signed_response_alg; UNSET: as
	                                    * id_token_alg */
	const char *jwks_json;             /* private_key_jwt: the public JWKS as JSON text */
	struct tok_keyset jwks;            /* its keys, parsed (in snapshots only) */

	/* Internal to authcore/clients/: the stored secret hash. */
	bool has_secret;
	char secret_kid[CLIENTS_KID_LEN + 1];
	unsigned char secret_hash[CLIENTS_HASH_LEN];
	int line;                          /* line in its file, for messages */
	const char *file;                  /* that file's path (owned by the snapshot) */
	bool from_apps_file;               /* declared in clients.file, not by authctl */
	const char *secret_file;           /* apps file: where the secret was read from */
};

struct clients_registry;
struct clients_snap;

/*
 * Client secrets hashed where the installation key is not in this process (authd's key
 * holder, keyd). Both are called from any thread at once.
 */
struct clients_hasher {
	/* The id of the installation key (CLIENTS_KID_LEN hex digits and a NUL into kid);
	 * with create, the key file is made first when there is none. Returns 0,
	 * YH_ERR_NOT_FOUND (no key, and not create) or an error with err set (one line). */
	int (*kid)(void *ctx, bool create, char kid[CLIENTS_KID_LEN + 1], char *err,
	    size_t errsz);
	/* The keyed hash of a secret (see above) of client id into out, and the id of the
	 * key it was made with into kid. Returns 0, YH_ERR_NOT_FOUND (no key) or an error. */
	int (*hash)(void *ctx, const char *id, const char *secret, size_t len,
	    unsigned char out[CLIENTS_HASH_LEN], char kid[CLIENTS_KID_LEN + 1]);
	void *ctx;
};

struct clients_opts {
	bool create;                     /* create the state directory (0700) if missing */
	int64_t check_interval_ms;       /* refresh_if_changed stats at most this often;
	                                  * 0 = CLIENTS_CHECK_INTERVAL_MS, < 0 = every call */
	int64_t (*mono_ms)(void);        /* clock for the rate limit; NULL = yh_mono_ms */
	const char *apps_file;           /* the operator's apps file (clients.file); NULL or
	                                  * "": none. It must exist when named. */
	const struct clients_hasher *hasher;  /* NULL: STATE_DIR/client-secret.key is read
	                                  * here; else secrets are hashed through it (borrowed:
	                                  * it must outlive the registry) */
	unsigned token_algs;             /* the signing algorithms an app may choose
	                                  * (TOK_ALGSET bits: keys.algs); an app naming
	                                  * another one does not load and is not added.
	                                  * 0: every supported algorithm */
	gid_t group;                     /* writers, when authd's HTTP process runs as
	                                  * another account (`user`): clients.json and
	                                  * clients.lock get owner:group (mode 0600), so that
	                                  * the account writes them (the console) and
	                                  * authctl run as root writes them on its behalf
	                                  * without making them root's; group 0: the
	                                  * writer's owner and group */
	uid_t owner;                     /* with group: that account's uid */
	size_t file_max;                 /* clients.json may not grow past this many bytes
	                                  * through a change (add, secret, disable,
	                                  * remove): the change is refused, nothing written
	                                  * (YH_ERR_TOO_LONG). 0: CLIENTS_FILE_MAX. Set to
	                                  * directory.ldap_value_max where the registry is
	                                  * shared through an LDAP directory */
};

/* The installation key as a key holder keeps it. */
struct clients_secret_key {
	bool have;                          /* false: there is no key file (yet) */
	unsigned char key[CLIENTS_HASH_LEN];
	char kid[CLIENTS_KID_LEN + 1];
};

/*
 * Reads STATE_DIR/client-secret.key into out (out->have false when there is none),
 * creating it first when create is true. For the key holder. Returns 0, YH_ERR_KEY
 * (malformed), YH_ERR_PERM (accessible by group or others, or not owned by this
 * process's effective uid), YH_ERR_IO, with err set. Wipe out when done.
 */
int clients_secret_key_load(const char *state_dir, bool create,
    struct clients_secret_key *out, char *err, size_t errsz) YH_WUR;

/* The keyed hash of secret (len bytes) for client id under k (see above). Returns 0,
 * YH_ERR_NOT_FOUND (no key) or YH_ERR_CRYPTO. */
int clients_secret_key_hash(const struct clients_secret_key *k, const char *id,
    const char *secret, size_t len, unsigned char out[CLIENTS_HASH_LEN]) YH_WUR;

/* Sets c to an empty input: no id, confidential with a secret, default scopes and
 * grants, min LoA 1, no lifetimes. */
void clients_client_init(struct clients_client *c);

/*
 * Opens the registry of state_dir and loads it (a missing clients.json is an empty
 * registry). opts may be NULL. *out is owned by the caller (clients_close).
 * Errors: YH_ERR_NOT_FOUND (no state directory and no create), YH_ERR_INVALID (the file
 * does not load: err names file:line), YH_ERR_KEY (the key file is unreadable or
 * malformed), YH_ERR_PERM (the key file is accessible by group or others, or another
 * user's),
 * YH_ERR_CONFIG (state_dir empty), YH_ERR_TOO_LONG, YH_ERR_IO, YH_ERR_ALLOC. A client
 * whose secret was hashed under another key (or with the key file missing) loads, with a
 * warning in the log, but can never authenticate.
 */
int clients_open(const char *state_dir, const struct clients_opts *opts,
    struct clients_registry **out, char *err, size_t errsz) YH_WUR;

/* Frees the handle; snapshots still held stay valid until released. NULL is fine. */
void clients_close(struct clients_registry *r);

/*
 * Reloads now, whatever the file's identity. On error the current snapshot stays and
 * the error is returned (errors as clients_open).
 */
int clients_reload(struct clients_registry *r, char *err, size_t errsz) YH_WUR;

/*
 * Cheap enough for every request: returns at once unless the check interval has passed
 * since the last check (one thread does the check, the others go on with the current
 * snapshot); then stats clients.json and reloads when its identity changed. A file that
 * fails to load is logged once (yh_error, file:line: problem) and not retried until it
 * changes again; the last good snapshot stays. Returns 0 (nothing to do, or reloaded) or
 * the load error of a reload attempted in this call.
 */
int clients_refresh_if_changed(struct clients_registry *r);

/* A reference to the current snapshot (never NULL). Release it with clients_release. */
struct clients_snap *clients_acquire(struct clients_registry *r);

/* Drops a reference taken by clients_acquire. NULL is fine. */
void clients_release(struct clients_snap *s);

/* The client with this id (exact match), borrowed from the snapshot; NULL if unknown or
 * id is not a valid client id. */
const struct clients_client *clients_find(const struct clients_snap *s, const char *id);

/* Number of clients, and the i-th in client-id order (NULL past the end). */
size_t clients_count(const struct clients_snap *s);
const struct clients_client *clients_at(const struct clients_snap *s, size_t i);

/*
 * Authenticates a client by secret (client_secret_basic / _post) in one constant-time
 * path: the HMAC is computed and compared whether or not the client exists, is public,
 * or has a secret, so the answer's timing does not tell which. *out (may be NULL) gets
 * the client on success, NULL otherwise. Returns 0 or YH_ERR_AUTH (unknown client, not a
 * secret client, wrong secret: one answer for all).
 */
int clients_verify_secret(const struct clients_snap *s, const char *client_id,
    const char *secret, size_t secret_len, const struct clients_client **out) YH_WUR;

/* True when uri equals one of the client's redirect URIs byte for byte. */
bool clients_redirect_ok(const struct clients_client *c, const char *uri);

/* True when uri equals one of the client's post-logout redirect URIs byte for byte. */
bool clients_post_logout_redirect_ok(const struct clients_client *c, const char *uri);

/*
 * Checks one origin for allowed_origins (the rules above). Returns 0 or YH_ERR_INVALID /
 * YH_ERR_TOO_LONG with the reason in why (static string).
 */
int clients_origin_check(const char *origin, const char **why) YH_WUR;

/*
 * The origin of an http(s) URI that passed clients_uri_check, as a browser sends it in
 * an Origin header ("https://a.gov.cn", "http://127.0.0.1:8080"), into out. Returns 0,
 * YH_ERR_NOT_FOUND (another scheme: no web origin), YH_ERR_INVALID (not such a URI) or
 * YH_ERR_TOO_LONG (outsz too small; CLIENTS_URI_MAX + 1 always suffices).
 */
int clients_origin_of(const char *uri, char *out, size_t outsz) YH_WUR;

/* True when origin (an Origin header's value) is one of c's cors_origins. */
bool clients_origin_ok(const struct clients_client *c, const char *origin);

/* True when origin is one of the cors_origins of any client of the snapshot. */
bool clients_origin_known(const struct clients_snap *s, const char *origin);

/* True when the client registered a CAS service or service prefix. */
bool clients_has_cas(const struct clients_client *c);

/*
 * True when service, a URL an app presented as CAS `service`, is one of the client's CAS
 * services or lies under one of its prefixes (the rules above). NULL or over-long: false.
 */
bool clients_cas_service_ok(const struct clients_client *c, const char *service);

/* The app that registered service in the snapshot s (clients_cas_service_ok; one at most,
 * as clients_cas_overlap keeps registrations apart), or NULL. */
const struct clients_client *clients_cas_find(const struct clients_snap *s,
    const char *service);

/*
 * True when url, a pgtUrl presented at CAS validation, is one of the client's registered
 * proxy callbacks byte for byte (no prefix, no query matching). NULL: false.
 */
bool clients_cas_proxy_callback_ok(const struct clients_client *c, const char *url);

/*
 * Checks a CAS proxy callback for registration: a CAS service URL (the rules above)
 * whose scheme is https, as the CAS protocol requires of a pgtUrl. Returns 0 or
 * YH_ERR_INVALID / YH_ERR_TOO_LONG with the reason in why (static string).
 */
int clients_cas_proxy_callback_check(const char *url, const char **why) YH_WUR;

/*
 * Checks a CAS service (prefix false) or service prefix (prefix true) for registration
 * (the rules above). Returns 0 or YH_ERR_INVALID / YH_ERR_TOO_LONG with the reason in why
 * (static string).
 */
int clients_cas_service_check(const char *url, bool prefix, const char **why) YH_WUR;

/*
 * True when some service URL would match a CAS service or prefix of both a and b (the
 * same exact service, an exact service under the other's prefix, or one prefix under the
 * other): /cas/login could not tell which app it is for. *sa and *sb (may be NULL) get
 * the two registrations that overlap.
 */
bool clients_cas_overlap(const struct clients_client *a, const struct clients_client *b,
    const char **sa, const char **sb);

/* True when the client may use this grant (a CLIENTS_GRANT_* bit). */
bool clients_grant_ok(const struct clients_client *c, unsigned grant);

/*
 * Parses a space-separated scope list (OAuth scope syntax; runs of spaces allowed) into
 * CLIENTS_SCOPE_* bits. Unknown names go to *unknown (count; NULL to refuse them with
 * YH_ERR_INVALID instead). YH_ERR_INVALID also for bad characters, YH_ERR_TOO_LONG past
 * 1024 bytes. The granted set is then bits & c->scopes.
 */
int clients_scope_parse(const char *s, unsigned *bits, unsigned *unknown) YH_WUR;

/* Writes the names of the bits as a space-separated list ("openid profile") into out.
 * YH_ERR_TOO_LONG if outsz is too small (128 bytes always suffices). */
int clients_scope_format(unsigned bits, char *out, size_t outsz) YH_WUR;

/* The name of one scope bit, or NULL. Static storage. */
const char *clients_scope_name(unsigned bit);

/* Grant names: "authorization_code", "refresh_token", "client_credentials". */
int clients_grant_parse(const char *name, unsigned *bit) YH_WUR;
const char *clients_grant_name(unsigned bit);

/* "subject" or "legacy"; and back (YH_ERR_INVALID for another name). */
const char *clients_cas_user_name(enum clients_cas_user u);
int clients_cas_user_parse(const char *s, enum clients_cas_user *out) YH_WUR;

/* "none", "client_secret" or "private_key_jwt". */
const char *clients_auth_name(enum clients_auth a);

/* True for [A-Za-z0-9._-]{1,64}. */
bool clients_id_valid(const char *id);

/* The pairwise-subject sector of c: its registered sector, or its id (a snapshot's
 * clients always have one; an input struct may leave it NULL). */
const char *clients_sector(const struct clients_client *c);

/*
 * Checks one URI against the registration rules above. loopback_or_https_only refuses
 * private-use schemes (for the back-channel logout URI). Returns 0 or YH_ERR_INVALID /
 * YH_ERR_TOO_LONG with the reason in why (static string).
 */
int clients_uri_check(const char *uri, bool loopback_or_https_only, const char **why)
    YH_WUR;

/*
 * Checks a client as given to clients_add: id, name, URIs, scopes against
 * allow_id_number, grants against the auth kind, LoA, sector, lifetimes, the JWKS for
 * private_key_jwt (public keys only). Returns 0 or YH_ERR_INVALID with err set.
 */
int clients_client_check(const struct clients_client *c, char *err, size_t errsz) YH_WUR;

/*
 * Writes a fresh 256-bit secret as 43 base64url characters and a NUL into out (size >=
 * CLIENTS_SECRET_GEN_LEN + 1). The caller wipes it (yh_wipe) when done. Returns 0 or
 * YH_ERR_CRYPTO.
 */
int clients_generate_secret(char *out, size_t outsz) YH_WUR;

/*
 * Registers c (checked with clients_client_check; name and sector default to the id).
 * For CLIENTS_AUTH_SECRET, secret is the plain secret (CLIENTS_SECRET_MIN..MAX bytes; only
 * its keyed hash is stored; the key file is created on first use); otherwise it must be
 * NULL. Holds the writer lock, works from the file on disk (never from this handle's
 * snapshot), writes it atomically, then reloads the handle.
 * Errors: YH_ERR_EXISTS (the id is taken), YH_ERR_INVALID (c, or the file on disk does
 * not load: nothing is written), YH_ERR_LIMIT (CLIENTS_MAX reached), those of clients_open.
 */
int clients_add(struct clients_registry *r, const struct clients_client *c,
    const char *secret, char *err, size_t errsz) YH_WUR;

/*
 * Replaces the secret of a client_secret client (rotation, or a client whose secret was
 * hashed under another key): the new secret's keyed hash is stored, the old one dropped.
 * Errors: YH_ERR_NOT_FOUND, YH_ERR_INVALID (not a client_secret client, secret length),
 * otherwise as clients_add.
 */
int clients_set_secret(struct clients_registry *r, const char *id, const char *secret,
    char *err, size_t errsz) YH_WUR;

/*
 * Disables (disabled true) or re-enables a client under the writer lock, then reloads.
 * A disabled app stays in the registry with its secret, redirect URIs and CAS services,
 * but authd refuses it everywhere: /authorize shows a page (never a redirect), client
 * authentication fails (invalid_client at /token, so no code, refresh token or client
 * credentials grant; /introspect, /revoke, /par and device authorization likewise),
 * userinfo refuses its access tokens, and CAS login and ticket validation refuse its
 * services. Enabling it again restores all of this. Setting the state it already has
 * succeeds and writes nothing. Errors: YH_ERR_NOT_FOUND, YH_ERR_EXISTS (an app of the
 * apps file: change it there), otherwise as clients_add.
 */
int clients_set_disabled(struct clients_registry *r, const char *id, bool disabled,
    char *err, size_t errsz) YH_WUR;

/*
 * The state file (clients.json) whole, for the nodes that share one registry through the
 * directory (authd/appsync.c): read: *doc malloc'd, "" when there is no file; replace:
 * writes doc (a registry another node wrote: a JSON object of this format with a
 * "clients" array, checked whole when reloaded) under the writer lock, then reloads,
 * provided the file still holds was (waslen bytes, what the caller read): else
 * YH_ERR_BUSY and nothing written (a writer of this host came first). A doc that does
 * not load (clients_reload's error, e.g. YH_ERR_INVALID) is taken back: the file is
 * again what it was and the last good snapshot stays in use.
 */
int clients_file_read(struct clients_registry *r, char **doc, size_t *len, char *err,
    size_t errsz) YH_WUR;
int clients_file_replace(struct clients_registry *r, const char *doc, size_t len,
    const char *was, size_t waslen, char *err, size_t errsz) YH_WUR;

/* Removes the client id under the writer lock, then reloads. YH_ERR_NOT_FOUND when absent;
 * otherwise as clients_add. */
int clients_remove(struct clients_registry *r, const char *id, char *err, size_t errsz)
    YH_WUR;

/*
 * Checks an apps file on its own (authd -t): the document, every client, each
 * secret_file readable, private and well-formed, no id twice. Touches no state (nothing
 * is hashed, no key created). Errors as clients_open, naming file:line.
 */
int clients_check_file(const char *path, char *err, size_t errsz) YH_WUR;

/* The config option naming the apps file, for the tables of authd and authctl (offset:
 * of a char * member receiving the path, resolved relative to the config file). */
#define CLIENTS_CFG_OPTIONS(off) \
	{ .name = "clients.file", .type = YH_CFG_PATH, .def = NULL, .max = 3072, \
	  .flags = YH_CFG_IMMUTABLE, \
	  .offset = (off), \
	  .help = "a file of apps declared by the operator (the format of clients.json, " \
	      "secrets as secret_file), served beside authctl's; its contents reload when " \
	      "they change" }

#endif
