/*
 * What authd's OpenID Connect endpoints share (prefix oidc_): OAuth error responses,
 * scopes, the grant record stored with a code or a refresh family, pairwise subjects,
 * assurance levels (acr) and the user claims released to an app.
 *
 * Used by oidc_authorize.c, oidc_token.c, oidc_userinfo.c, oidc_introspect.c,
 * oidc_logout.c and consent.c. Nothing here keeps state; every call is thread-safe.
 *
 * Decisions recorded here (see docs/integration.md):
 *   - sub is pairwise: base64url(HMAC-SHA256(subject_key, sector "\0" uid)), sector =
 *     the client's sector (default: its id), unless the directory pins another sub for
 *     (uid, sector): the one the person had before idmerge rekey changed their uid.
 *   - Claims by scope: profile gives name, phone_number masked ("138****5678") and
 *     yh_id_type; phone gives phone_number unmasked; phone_number_verified (true only
 *     for a phone an operator, an import or a later SMS check vouched for) goes with
 *     either phone_number; email gives email; yh_id_number
 *     gives yh_id_number and yh_id_type, only when the client has allow_id_number (the
 *     scope in a grant means the user consented to it). The ID token and /userinfo
 *     carry the same user claims.
 *   - An app that names its old system (legacy_source) gets, whatever the scopes,
 *     yh_legacy_id (the person's id in that system) and yh_legacy_username (when the
 *     system had one) for a person with an active account there, nothing otherwise;
 *     with legacy_required a person without one is refused at /authorize.
 *   - LoA: password alone = min(person LoA, 2); password + TOTP when the person's LoA is
 *     at least 2 = 3; 4 only from a certificate or an in-person check at a counter.
 */
#ifndef YH_AUTHD_OIDC_H
#define YH_AUTHD_OIDC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "authcore/clients/clients.h"
#include "authd/http/http.h"
#include "authd/session/sess.h"
#include "common/buf.h"
#include "common/err.h"

struct dir;
struct keys;

#define OIDC_SUB_SIZE 65            /* a pairwise sub (43 base64url characters) or a
                                     * pinned one (DIR_SUB_MAX), + NUL */
#define OIDC_ACR_SIZE 24            /* "urn:yihao:loa:N" + NUL, with room */
#define OIDC_ACR_PREFIX "urn:yihao:loa:"
#define OIDC_SCOPE_MAX 1024         /* a scope parameter, bytes */
#define OIDC_NONCE_MAX 512          /* a nonce / state parameter, bytes */
#define OIDC_CHALLENGE_MAX 128      /* a PKCE code_challenge (S256: 43) */

struct authd_app;

/* The server-wide lifetimes: the token.* options. */
enum oidc_lifetime {
	OIDC_LT_CODE,     /* token.code_lifetime */
	OIDC_LT_ACCESS,   /* token.access_lifetime */
	OIDC_LT_ID,       /* token.id_lifetime */
	OIDC_LT_REFRESH,  /* token.refresh_lifetime (bound to the login session) */
	OIDC_LT_OFFLINE,  /* token.offline_lifetime (offline_access) */
	OIDC_LT_ASSERTION, /* token.client_assertion_max_lifetime */
	OIDC_LT_PAR,      /* oidc.par_lifetime: a pushed request's request_uri */
	OIDC_LT_DEVICE,   /* oidc.device_lifetime: a device code and its user code */
	OIDC_LT_DEVICE_INTERVAL, /* oidc.device_interval: between two polls (not a
	                  * lifetime, but read the same way) */
};

/* The server-wide lifetime in seconds: the token.* value of app's configuration in
 * force, or the option table's default when app has none (unit tests). A client's own
 * lifetime, when registered, wins over this. */
int64_t oidc_lifetime(const struct authd_app *app, enum oidc_lifetime which);

/* ---- OAuth error responses (RFC 6749 5.2, RFC 6750 3) ------------------------------- */

/*
 * The HTTP status of an OAuth error code at the token-type endpoints: invalid_client
 * 401, invalid_token 401, insufficient_scope 403, server_error 500,
 * temporarily_unavailable 503, everything else (invalid_request, invalid_grant,
 * unauthorized_client, unsupported_grant_type, invalid_scope, ...) 400.
 */
unsigned oidc_error_status(const char *error);

/*
 * Answers {"error": error, "error_description": description} (description may be NULL)
 * with oidc_error_status(error), Cache-Control: no-store. Returns what the http_respond
 * call returned (0 = response set).
 */
int oidc_error(struct http_req *req, const char *error, const char *description) YH_WUR;

/*
 * Answers 401 invalid_client. When the client tried HTTP Basic authentication (basic
 * true) the response carries WWW-Authenticate: Basic realm="yihao", as RFC 6749 5.2 asks.
 */
int oidc_error_client(struct http_req *req, bool basic, const char *description) YH_WUR;

/*
 * Answers a protected-resource error (RFC 6750 3): status 401 (error NULL: no token
 * was sent, or invalid_token) or 403 (insufficient_scope), with WWW-Authenticate:
 * Bearer realm="yihao"[, error="...", error_description="..."]. description must not
 * contain '"' or '\\' (it is our own static text).
 */
int oidc_error_bearer(struct http_req *req, const char *error, const char *description)
    YH_WUR;

/* ---- URLs ---------------------------------------------------------------------------- */

/*
 * Appends "name=value" (value percent-encoded) to a URL being built in b, preceded by
 * '?' when b holds no '?' yet and by '&' otherwise (a registered redirect URI may carry
 * a query). value NULL appends nothing. Used for redirects with code, state, iss, error.
 */
int oidc_url_param(struct yh_buf *b, const char *name, const char *value) YH_WUR;

/* ---- scopes ------------------------------------------------------------------------- */

/*
 * The scopes granted for a request: the CLIENTS_SCOPE_* bits named in requested that
 * the client may be granted (unknown names are ignored, RFC 6749 3.3). yh_id_number
 * is kept only when the client has allow_id_number. Returns 0, YH_ERR_INVALID (bad
 * scope syntax) or YH_ERR_TOO_LONG.
 */
int oidc_scope_grant(const struct clients_client *c, const char *requested, unsigned *granted)
    YH_WUR;

/*
 * A narrower scope for a refresh (RFC 6749 6): requested NULL or "" keeps granted;
 * otherwise every scope named must be in granted (unknown names too are refused).
 * Returns 0 (*out set), YH_ERR_DENIED (asks for more: invalid_scope), YH_ERR_INVALID.
 */
int oidc_scope_narrow(unsigned granted, const char *requested, unsigned *out) YH_WUR;

/* ---- assurance levels ------------------------------------------------------------- */

#define OIDC_AMR_PWD 0x1u   /* a password */
#define OIDC_AMR_OTP 0x2u   /* a TOTP code */

/*
 * The LoA a session reaches with these authentications (OIDC_AMR_* bits) for a person
 * whose verified LoA is person_loa (1..4): password alone min(person_loa, 2); password
 * and a TOTP code: 3 with person_loa 2 or 3, 4 with person_loa 4 (checked in person at a
 * counter); a second factor never lifts a person who is not real-name verified. 0 when no
 * password.
 */
int oidc_loa_for(int person_loa, unsigned methods);

/* Writes "urn:yihao:loa:N" for loa 1..4 into out (size OIDC_ACR_SIZE). Returns 0 or
 * YH_ERR_INVALID for a level out of range. */
int oidc_acr_format(int loa, char out[OIDC_ACR_SIZE]) YH_WUR;

/* Parses "urn:yihao:loa:N" (exactly; N 1..4). Returns 0 or YH_ERR_INVALID. */
int oidc_acr_parse(const char *acr, int *loa) YH_WUR;

/*
 * The level an acr_values request parameter asks for: the lowest level among the
 * values we know (levels nest: a session at 3 satisfies a request listing 2 or 3);
 * unknown values are ignored; 0 when none is known or acr_values is NULL/"".
 * Returns 0 or YH_ERR_INVALID / YH_ERR_TOO_LONG (over OIDC_SCOPE_MAX bytes, control
 * bytes).
 */
int oidc_acr_values_min(const char *acr_values, int *loa) YH_WUR;

/* ---- signing keys -------------------------------------------------------------------- */

struct tok_ring_snap;
struct tok_key;

/*
 * The key of ring that signs client c's ID and logout tokens (access false: the
 * algorithm c chose, id_token_signed_response_alg) or its JWT access tokens (access true:
 * access_token_signed_response_alg, else the ID tokens' algorithm); an app that chose
 * none gets def (keys.alg; TOK_ALG_UNSET: the ring's default). NULL, logged, when the ring
 * has no active key of that algorithm. Borrowed from ring.
 */
const struct tok_key *oidc_client_key(const struct tok_ring_snap *ring,
    const struct clients_client *c, enum tok_alg def, bool access);

/* keys.alg of app's configuration (TOK_ALG_UNSET without one: the ring's default). */
enum tok_alg oidc_default_alg(const struct authd_app *app);

/* ---- pairwise subject --------------------------------------------------------------- */

/* The sector of a client: its registered sector, or its id (clients_sector). */
const char *oidc_client_sector(const struct clients_client *c);

/*
 * The sub of the person uid for the apps of sector, into out: the subject pin of (uid,
 * sector) in dir when there is one (dir_subject_pin_find: the sub the person had before
 * idmerge rekey gave them a new uid), else base64url(HMAC-SHA256(subject_key, sector ||
 * "\0" || uid)) (43 characters, keys_sub_str: the key stays with the key holder). Every
 * place that hands an app a person's sub calls this, so a pin holds everywhere alike.
 * dir NULL: the HMAC alone (tests without a directory). Returns 0, YH_ERR_INVALID
 * (empty or over-long sector or uid), YH_ERR_CRYPTO, or the directory's error (never
 * the HMAC instead of a pin the directory could not be asked for).
 */
int oidc_pairwise_sub(const struct keys *keys, struct dir *dir, const char *sector,
    const char *uid, char out[OIDC_SUB_SIZE]) YH_WUR;

/* ---- the grant record --------------------------------------------------------------- */

/*
 * What a code carries from /authorize to /token (the JSON payload of sess_code_new, the
 * contract's field names) and what a refresh family carries between refreshes. Strings
 * are borrowed when serializing; after oidc_grant_parse they are owned by the struct
 * (oidc_grant_clear frees them). Optional strings are NULL when absent.
 */
struct oidc_grant {
	const char *client_id;          /* required */
	const char *redirect_uri;       /* codes: required */
	const char *uid;                /* required: the directory's internal id */
	const char *sid;                /* session public id (NULL: none, e.g. offline) */
	const char *scope;              /* granted (consented) scopes, space-separated */
	const char *nonce;              /* codes only */
	const char *code_challenge;     /* codes only */
	const char *code_challenge_method; /* "S256" (plain is refused) */
	int64_t auth_time;              /* seconds */
	int loa;                        /* 1..4; acr is derived from it */
	const char *amr[SESS_AMR_MAX];
	size_t namr;
	const char *org;                /* scope org: the credit code acted for, or NULL */
	const char *org_role;           /* with org: the relation (DIR_ROLE_*) */
	bool offline;                   /* refresh families: not bound to the session */
	int64_t exp;                    /* refresh families: absolute expiry (seconds) */
	json_t *root;                   /* parsed: owns the strings above */
};

/*
 * Serializes g as compact JSON ({"client_id","redirect_uri","uid","sid","scope","nonce",
 * "code_challenge","code_challenge_method","auth_time","acr","amr","loa"} plus
 * "offline"/"exp" and "org"/"org_role" when set; org and org_role go together). *out is malloc'd (free() it). YH_ERR_INVALID when a
 * required field is missing or loa is out of range; YH_ERR_TOO_LONG over
 * SESS_PAYLOAD_MAX.
 */
int oidc_grant_json(const struct oidc_grant *g, char **out) YH_WUR;

/*
 * Parses a payload made by oidc_grant_json into g (cleared first; strings owned by g).
 * Returns 0, YH_ERR_INVALID (not our format) or YH_ERR_ALLOC.
 */
int oidc_grant_parse(const char *json, struct oidc_grant *g) YH_WUR;

/* Releases what a parsed grant owns and zeroes it. NULL and zeroed structs are fine. */
void oidc_grant_clear(struct oidc_grant *g);

/* ---- claims ------------------------------------------------------------------------ */


/*
 * The user claims released to client c for scopes (CLIENTS_SCOPE_* bits) about the
 * person uid, as a new JSON object (*out, json_decref it) WITHOUT sub (the caller adds
 * the pairwise sub): name, phone_number, phone_number_verified, email, yh_id_type,
 * yh_id_number as in the rules at the top of this file, yh_legacy_id and
 * yh_legacy_username (oidc_legacy_account), and yh_staff (the staff scope,
 * for a person with a current staff relation: dir_staff_current). Returns 0, YH_ERR_NOT_FOUND (no
 * such person), YH_ERR_DENIED (the person is not active: disabled, locked,
 * deregistered), or the directory's errors. uid may also be an active organization's
 * (oidc_org_self: its certificate's session): no person's claims, an empty object.
 */
int oidc_user_claims(struct dir *dir, const struct clients_client *c, const char *uid,
    unsigned scopes, json_t **out) YH_WUR;

struct dir_legacy;

/*
 * The account person uid has in the old system of app c (c->legacy_source), for the
 * app's own user ids: the active link there (dir_legacy_of_owner) into *out, freed with
 * dir_legacy_clear. Returns 0, YH_ERR_NOT_FOUND (the app names no source, or the person
 * has no active account in it), or the directory's errors.
 */
int oidc_legacy_account(struct dir *dir, const struct clients_client *c, const char *uid,
    struct dir_legacy *out) YH_WUR;

/*
 * Whether app c refuses person uid at login: *refused true when c has legacy_required
 * and the person has no active account in its legacy_source. Returns 0 or the
 * directory's errors.
 */
int oidc_legacy_refused(struct dir *dir, const struct clients_client *c, const char *uid,
    bool *refused) YH_WUR;

/* ---- acting for an organization (scope org) --------------------------------------- */

#define OIDC_USCC_SIZE 19           /* a canonical unified social credit code + NUL */

/* An organization a person may act for now, as the choice page lists it. */
struct oidc_org_choice {
	char uscc[OIDC_USCC_SIZE];      /* canonical credit code */
	char *name;                     /* the organization's name (owned) */
	const char *kind;               /* idn_org_kind_str (static) */
	const char *role;               /* DIR_ROLE_* (static): the person's strongest
	                                 * current relation, legal_rep > agent > admin */
	char *scopes;                   /* agent: the purposes granted, space-separated,
	                                 * or NULL (no limit); NULL for other roles */
};

/*
 * The organizations the person uid holds a current relation to at time at (0 = now;
 * dir_mandate_current: not revoked, begun, not ended, person and organization active),
 * one entry per organization with a unified social credit code (an organization known
 * only by an organization code is not offered), oldest relation first. *out is a
 * malloc'd array (NULL when none), free with oidc_org_choices_free. Returns 0 or the
 * directory's error.
 */
int oidc_org_choices(struct dir *dir, const char *uid, int64_t at,
    struct oidc_org_choice **out, size_t *n) YH_WUR;

/* Frees an array from oidc_org_choices. */
void oidc_org_choices_free(struct oidc_org_choice *a, size_t n);

/* The entry of a whose credit code is code (any spelling idn_uscc_check accepts), or
 * NULL (none, or not a credit code). */
const struct oidc_org_choice *oidc_org_choice_find(const struct oidc_org_choice *a,
    size_t n, const char *code);

/*
 * The yh_org claim of a person acting for an organization: re-checks at time at that uid
 * holds a current relation of role to the organization with credit code uscc, and
 * returns {"uscc", "name", "kind", "role"} (plus "scopes", an array, for an agent whose
 * grant names purposes) as a new object in *out. role OIDC_ORG_ROLE_CERT_HOLDER: uid
 * must be the organization's own uid (its certificate's session) or an active person's
 * (the person its certificate login was linked to, authorize.h rule 5c: the grant
 * records the link), and the organization must be active. Returns 0, YH_ERR_DENIED (the relation does not hold: ended, revoked,
 * expired, or the person or organization is not active; no such organization), or the
 * directory's error.
 */
int oidc_org_claim(struct dir *dir, const char *uid, const char *uscc, const char *role,
    int64_t at, json_t **out) YH_WUR;

/*
 * The yh_org claim of an app registered as an organization's system (clients_client.org):
 * {"uscc", "name", "kind"} as a new object in *out. Returns 0, YH_ERR_DENIED (no such
 * organization, or not active), or the directory's error.
 */
int oidc_org_client_claim(struct dir *dir, const char *uscc, json_t **out) YH_WUR;

/* The role of yh_org in a session an enterprise certificate opened: the session's uid is
 * the organization's own (authd/login/cert.c), nobody's relation to it. */
#define OIDC_ORG_ROLE_CERT_HOLDER "cert_holder"

/*
 * Whether uid is the uid of an active organization with a credit code (the session of an
 * enterprise certificate login is the organization's): 0 with its canonical credit code
 * in uscc, YH_ERR_NOT_FOUND (no such organization, not active, or no credit code), or
 * the directory's error.
 */
int oidc_org_self(struct dir *dir, const char *uid, char uscc[OIDC_USCC_SIZE]) YH_WUR;

/*
 * Whether uid may be issued tokens now: an active person, or an active organization's own
 * (oidc_org_self). 0, YH_ERR_DENIED (locked, disabled, deregistered, or gone), or the
 * directory's error. What the grants that outlive a login session (refresh, above all
 * an offline family) and the introspection of a refresh token ask each time, so that a
 * status change anywhere (authctl while authd was down, the console, the counter, an
 * LDAP source) stops them.
 */
int oidc_subject_active(struct dir *dir, const char *uid) YH_WUR;

/* ---- opaque user reference in access tokens ---------------------------------------- */

#define OIDC_UREF_MAX 128           /* length of a sealed uid reference, bytes */

/*
 * Access tokens carry the pairwise sub only; /userinfo still needs the internal uid.
 * oidc_uref_seal encrypts uid (AES-256-GCM under a key derived from the subject key,
 * the client id as associated data: keys_uref_seal, authd/keyd/keys.h) into out as
 * base64url (claim "yh_ref"); oidc_uref_open reverses it. Returns 0, YH_ERR_INVALID /
 * YH_ERR_TOO_LONG (bad input), YH_ERR_AUTH (open: forged, or sealed for another client),
 * YH_ERR_CRYPTO.
 */
int oidc_uref_seal(const struct keys *keys, const char *client_id, const char *uid,
    char out[OIDC_UREF_MAX]) YH_WUR;
int oidc_uref_open(const struct keys *keys, const char *client_id, const char *ref,
    char *uid, size_t uidsz) YH_WUR;

/*
 * True when the session with public id sid of user uid is still live (logout, expiry
 * and "end this session" make it false). Returns 0 (live), YH_ERR_NOT_FOUND (gone),
 * YH_ERR_UNAVAILABLE.
 */
int oidc_sid_alive(struct sess_store *sess, const char *uid, const char *sid) YH_WUR;

#endif
