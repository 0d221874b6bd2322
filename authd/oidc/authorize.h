/*
 * The browser-facing OIDC endpoints (prefix oidc_az_ for /authorize, oidc_lo_ for
 * /logout) and their register functions:
 *
 *   oidc_discovery.c   GET /.well-known/openid-configuration, GET /jwks
 *   oidc_authorize.c   GET and POST /authorize
 *   oidc_logout.c      GET and POST /logout (RP-Initiated Logout 1.0)
 *
 * Each endpoint's decision logic is a function over already-read parameters, so it can
 * be tested without HTTP: the handlers only read the request, call it, and turn the
 * result into a response.
 *
 * /authorize, in order (the first rule that applies decides):
 *   0. A request by reference (request_uri, RFC 9126 4): the request pushed at /par
 *      (authd/oidc/par.c) under it is taken once for the client named by client_id and
 *      decided by the rules below in place of the browser's parameters (of which only
 *      client_id, yh_reauth and the choice page's org count). client_id missing or
 *      unknown: rule 1's page; a request_uri unknown, malformed, expired, used or
 *      pushed by another client: an error page (invalid_request_uri; the redirect URI
 *      is in the pushed request, so there is none to trust). A detour of a pushed
 *      request (rules 3 to 5b) stores it again (SESS_PAR_TTL_MAX) and carries only
 *      client_id and the new request_uri (for /consent also redirect_uri, scope and
 *      state, which it reads; with consent taken out of the stored prompt), so that
 *      login_hint and org_hint never reach a browser URL; /login then gets no
 *      login_hint. An app registered require_par without a pushed request:
 *      invalid_request to its redirect URI (after rule 1).
 *   1. client_id unknown, missing, repeated or malformed, or redirect_uri not one of the
 *      client's registered URIs (exact bytes): an error PAGE (400), never a redirect.
 *   2. Every other error goes back to the redirect URI as error, error_description,
 *      state and iss (RFC 9207): request / registration ->
 *      request_not_supported / registration_not_supported;
 *      a parameter given twice, over its cap or with a NUL byte -> invalid_request;
 *      response_type not "code" -> unsupported_response_type (missing: invalid_request);
 *      a client without the authorization_code grant -> unauthorized_client;
 *      response_mode other than "query" -> invalid_request; no openid among the scopes
 *      the client may get -> invalid_scope (other unknown or unallowed scopes are left
 *      out of the grant, RFC 6749 3.3); prompt with an unknown value or none with
 *      another -> invalid_request; a bad max_age or acr_values -> invalid_request;
 *      PKCE: code_challenge_method other than S256 (plain is refused), a challenge
 *      without S256 or not 43 base64url characters, or a public client (or one
 *      registered with require_pkce) without a challenge -> invalid_request.
 *   3. No live session (or its person is gone or not active): prompt=none ->
 *      login_required, else 302 to /login?next=<this request>.
 *      prompt=login, or max_age exceeded: prompt=none -> login_required, else 302 to
 *      /login?next=...&force=1. Every next sent to /login carries a re-authentication
 *      marker yh_reauth=<t>.<mac>: t is the time of the detour, mac an HMAC-SHA256 under
 *      a key derived from the subject key over t, this browser ("browser:" and its
 *      yh_csrf pre-session cookie, which /authorize sets when it is missing; only
 *      without the cookie the public sid of the session the detour was made from:
 *      csrf_mark_binding) and every forwarded parameter of the request. The resumed
 *      request counts its session's login as the re-authentication that prompt=login
 *      and max_age ask for only when the marker is at most 10 minutes old, the
 *      session's auth_time >= t, and the MAC is right for this request and this
 *      browser: any login in this browser after the detour counts, in the session it
 *      was made from or in a new one (there was none, or another person logged in),
 *      and a marker made in another browser (someone's own, passed on in a link)
 *      counts for nothing. That ends the loop without dropping
 *      prompt=login from next (so skipping the login page does not skip the
 *      re-authentication), and a marker written by hand, taken from another browser or
 *      carried over to another request (other state, nonce, max_age, ...) counts for
 *      nothing: internal state never comes from the query string unchecked.
 *      A MAC rather than a single-use record in the session store because the detour
 *      comes before any authentication: a record per detour would let anyone fill the
 *      store by requesting /authorize (the reason CSRF tokens are MACs too,
 *      authd/ui/csrf.h), while a MAC costs no state and holds on every node. What it does
 *      not stop, the same marker again for the same request in the same session within
 *      10 minutes, gains nothing: it still needs a login made after this very request
 *      was sent to the login page, which is all the marker stands for.
 *   4. Session LoA below max(client min LoA, lowest level in acr_values): when a TOTP
 *      step-up can reach it (a confirmed TOTP enrolment, the session has no "otp" yet
 *      and oidc_loa_for(person LoA, pwd+otp) reaches the level): prompt=none ->
 *      login_required, else 302 to /login/totp?next=...&loa=N; otherwise
 *      unmet_authentication_requirements.
 *   4b. An app registered with legacy_required and a person without an active account
 *      in its legacy_source (oidc_legacy_account): access_denied, whatever prompt says.
 *   5. prompt=consent, or the person has not consented to the granted scopes
 *      (consent_granted, authd/oidc/consent.h): prompt=none -> consent_required, else 302 to
 *      /consent?next=... (prompt=consent stays in next: the consent page takes it out).
 *   5b. Scope org granted (authd/oidc/org.c; docs/integration.md "Acting for an
 *      enterprise"): the person's current relations (oidc_org_choices). A choice posted
 *      back from the choice page (org=CODE or org=self, its CSRF token bound to the
 *      session checked by the handler: p->org_confirmed) decides: self acts as the
 *      person, a listed code acts for it, any other value is refused with an error page
 *      (403, nothing issued). Without a posted choice: no relation -> the person, with
 *      no page (org_hint ignored); org_hint naming a listed organization and no
 *      prompt=select_account -> that organization, no page; otherwise prompt=none ->
 *      account_selection_required, else the choice page (STEP_ORG, 200, org_hint
 *      preselected when it is listed; an org_hint that is not is ignored, never an
 *      error, so the answer tells the app nothing about relations the person lacks).
 *   5c. A session an enterprise certificate opened (authd/login/cert.c: the uid is the
 *      organization's own, amr x509; oidc_org_self) stands for a session at its LoA:
 *      no consent page (no person's data is released) and no choice page; the code
 *      acts for that organization in the role OIDC_ORG_ROLE_CERT_HOLDER, so the app
 *      gets the organization's pairwise sub and yh_org. An app registered
 *      require_person instead sends the browser to /login (forced) for the person at
 *      the keyboard, with a one-time code (yh_certorg, 600 s, bound to the browser's
 *      yh_csrf cookie, holding the organization's uid and the time) in next; that
 *      session is ended by the person's login. When the request comes back with a
 *      person's session authenticated since, the code is taken (once) and the code
 *      acts for the organization as cert_holder with the person's uid (the person's
 *      sub); a code unknown, used, of another browser, or older than the person's
 *      login is access_denied. prompt=none: login_required; a pushed request
 *      (PAR): invalid_request (not supported).
 *   6. A code (sess_code_new, 60 s, payload oidc_grant_json), the client recorded in the
 *      session (sess_add_client, for back-channel logout), 302 to the redirect URI with
 *      code, state and iss.
 * The login, step-up and consent redirects also carry ui_locales, and /login carries
 * login_hint. /authorize writes no audit line (token.issue is written by /token when the
 * code is redeemed); errors are logged at debug level.
 */
#ifndef YH_AUTHD_OIDC_AUTHORIZE_H
#define YH_AUTHD_OIDC_AUTHORIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "authd/http/http.h"
#include "authd/oidc/oidc.h"
#include "authd/ui/messages_gen.h"
#include "common/buf.h"
#include "common/err.h"

struct sess_info;
struct keys;
struct clients_snap;

struct authd_app;

/* ---- register functions ---------------------------------------------------------- */

/* GET /.well-known/openid-configuration and GET /jwks. Needs app->issuer, app->ring.
 * Returns what http_routes_add returns. */
int oidc_discovery_register(struct http_server *srv, struct authd_app *app) YH_WUR;

/* GET and POST /authorize. Needs app->issuer, app->clients, app->sess, app->dir and
 * app->keys (the re-authentication marker's key). */
int oidc_authorize_register(struct http_server *srv, struct authd_app *app) YH_WUR;

/* GET and POST /logout. Needs app->issuer, app->ring, app->clients, app->sess,
 * app->audit. Back-channel logout follows from the session store's ENDED event
 * (bcl_on_session_event, authd/oidc/backchannel.h), which authd.c wires. */
int oidc_logout_register(struct http_server *srv, struct authd_app *app) YH_WUR;

/* The discovery document for issuer with the signing algorithms algs (a TOK_ALGSET bit
 * set), as a new JSON object (NULL on allocation failure). */
json_t *oidc_discovery_doc(const char *issuer, unsigned algs);

/*
 * One parameter of a GET (query) or POST (x-www-form-urlencoded body) request, as a new
 * string (*out, free() it). Errors as http_req_query / http_req_form: YH_ERR_NOT_FOUND,
 * YH_ERR_CONFLICT (repeated), YH_ERR_TOO_LONG (over max), YH_ERR_INVALID, and
 * YH_ERR_UNSUPPORTED for a POST body that is not a form.
 */
int oidc_req_param(struct http_req *req, bool post, const char *name, size_t max,
    char **out) YH_WUR;

/* ---- /authorize ------------------------------------------------------------------ */

#define OIDC_PAR_URN "urn:ietf:params:oauth:request_uri:"
#define OIDC_PAR_URI_SIZE (sizeof(OIDC_PAR_URN) - 1 + SESS_TOKEN_SIZE)

enum oidc_az_param {
	OIDC_AZ_RESPONSE_TYPE = 0,
	OIDC_AZ_CLIENT_ID,
	OIDC_AZ_REDIRECT_URI,
	OIDC_AZ_SCOPE,
	OIDC_AZ_STATE,
	OIDC_AZ_NONCE,
	OIDC_AZ_PROMPT,
	OIDC_AZ_MAX_AGE,
	OIDC_AZ_ACR_VALUES,
	OIDC_AZ_LOGIN_HINT,
	OIDC_AZ_UI_LOCALES,
	OIDC_AZ_CODE_CHALLENGE,
	OIDC_AZ_CODE_CHALLENGE_METHOD,
	OIDC_AZ_RESPONSE_MODE,
	OIDC_AZ_DISPLAY,
	OIDC_AZ_CLAIMS_LOCALES,
	OIDC_AZ_REAUTH,                 /* yh_reauth: our own MAC'd marker, see above */
	OIDC_AZ_REQUEST,                /* read only to be refused */
	OIDC_AZ_REQUEST_URI,
	OIDC_AZ_REGISTRATION,
	OIDC_AZ_ID_TOKEN_HINT,          /* read (duplicates refused) and ignored */
	OIDC_AZ_CLAIMS,                 /* read (duplicates refused) and ignored */
	OIDC_AZ_ORG_HINT,               /* org_hint: a credit code to preselect */
	OIDC_AZ_ORG,                    /* org: the choice page's answer (CODE or self);
	                                 * honoured only with p->org_confirmed */
	OIDC_AZ_IDP_HINT,               /* idp_hint: an upstream.NAME to log in through,
	                                 * skipping the login page */
	OIDC_AZ_CERTORG,                /* yh_certorg: our own code linking an enterprise
	                                 * certificate's login to the person's (rule 5c) */
	OIDC_AZ_PARAM_COUNT
};

/* The request's parameters, each read once. v[i] is NULL when absent or bad; err[i] is
 * 0, YH_ERR_NOT_FOUND (absent), YH_ERR_CONFLICT (repeated), YH_ERR_TOO_LONG (over its
 * cap) or YH_ERR_INVALID (a NUL byte or bad escape). */
struct oidc_az_params {
	char *v[OIDC_AZ_PARAM_COUNT];
	int err[OIDC_AZ_PARAM_COUNT];
	bool org_confirmed;        /* v[OIDC_AZ_ORG] came from the choice page's form, its
	                            * CSRF token checked against the request's session */
	bool pushed;               /* the parameters came from a pushed request (PAR),
	                            * taken by its request_uri; never from the browser */
	const char *browser;       /* the browser's pre-session cookie (yh_csrf), set by
	                            * the handler (borrowed), or NULL */
};

/* The parameter's name ("client_id", ...) and cap in bytes. */
const char *oidc_az_param_name(enum oidc_az_param i);
size_t oidc_az_param_max(enum oidc_az_param i);

/*
 * Reads the parameters from application/x-www-form-urlencoded text (a query string or
 * a POST body; '+' is a space). p is cleared first; free with oidc_az_params_clear.
 * Returns 0 or YH_ERR_ALLOC (parameter problems are recorded in p->err).
 */
int oidc_az_params_parse(struct yh_span text, struct oidc_az_params *p) YH_WUR;

/* Frees the values and zeroes p. */
void oidc_az_params_clear(struct oidc_az_params *p);

/*
 * Reads the parameters of req (its query for GET, its form body for POST) into p, as
 * oidc_az_params_parse. Returns 0 or YH_ERR_ALLOC.
 */
int oidc_az_params_read(struct http_req *req, bool post, struct oidc_az_params *p) YH_WUR;

/* ---- pushed authorization requests (RFC 9126; authd/oidc/par.c) ------------------- */

/*
 * Rules 1 and 2 for the request p (as /authorize would decide them, the client's
 * registration from cs): NULL when the request is fine, else the OAuth error code with
 * *desc its description (static strings). /par answers them as JSON (400) instead of a
 * page or a redirect.
 */
const char *oidc_az_check(struct authd_app *app, const struct clients_snap *cs,
    const struct oidc_az_params *p, const char **desc);

/*
 * Stores the forwarded parameters of p (those /authorize carries through a detour;
 * not yh_reauth nor org) for its client for ttl_s seconds (sess_par_new) and writes
 * "urn:ietf:params:oauth:request_uri:<random>" to uri. Returns 0, YH_ERR_TOO_LONG (the
 * request does not fit SESS_PAYLOAD_MAX), or the store's error.
 */
int oidc_par_store(struct authd_app *app, const struct oidc_az_params *p, int64_t ttl_s,
    char uri[OIDC_PAR_URI_SIZE]) YH_WUR;

/* POST /par (pushed authorization requests). Needs what /authorize and /token need. */
int oidc_par_register(struct http_server *srv, struct authd_app *app) YH_WUR;

enum oidc_az_step {
	OIDC_AZ_STEP_PAGE = 0,     /* an error page (no client or redirect URI to trust) */
	OIDC_AZ_STEP_ERROR,        /* an error sent to the redirect URI */
	OIDC_AZ_STEP_LOGIN,        /* to /login */
	OIDC_AZ_STEP_STEPUP,       /* to /login/totp */
	OIDC_AZ_STEP_CONSENT,      /* to /consent */
	OIDC_AZ_STEP_CODE,         /* a code sent to the redirect URI */
	OIDC_AZ_STEP_ORG,          /* the organization choice page (scope org) */
};

#define OIDC_AZ_ORG_SELF "self"    /* the choice page's value for acting as oneself */
#define OIDC_AZ_ORG_PURPOSE "org"  /* its CSRF purpose */

/* What /authorize answers. */
struct oidc_az_result {
	enum oidc_az_step step;
	unsigned status;           /* 400 for a page, 302 otherwise */
	const char *error;         /* OAuth error code (PAGE, ERROR); static */
	const char *description;   /* English text (PAGE, ERROR); static */
	enum page_msg msg;         /* PAGE: what the page says (in the page's language) */
	char *location;            /* the redirect target (malloc'd); NULL for PAGE */
	int loa;                   /* STEPUP: the level asked for */
	struct oidc_org_choice *orgs;  /* ORG: the organizations to choose from (owned) */
	size_t norgs;
	char org_selected[OIDC_USCC_SIZE]; /* ORG: the one preselected (org_hint), or "" */
	char sess_key[SESS_KEY_SIZE];  /* ORG: the session the form's token is bound to */
	char pushed_uri[OIDC_PAR_URI_SIZE]; /* ORG of a pushed request: the request stored
	                            * again, for the form to carry instead of its parameters */
};

/* Frees what r owns and zeroes it. */
void oidc_az_result_clear(struct oidc_az_result *r);

/*
 * Decides an authorization request (the rules at the top of this file) for the session
 * whose cookie value is sid_cookie (NULL: none) at time now (seconds). On success the
 * code has been issued (STEP_CODE) and *res says what to answer. A
 * refused organization choice is a PAGE with status 403 and PAGE_MSG_AZ_ORG_REFUSED. Returns 0, or a
 * negative YH_ERR_*: YH_ERR_UNAVAILABLE when the session store cannot be reached (answer
 * 503), anything else is a server error (500).
 */
int oidc_az_decide(struct authd_app *app, const struct oidc_az_params *p,
    const char *sid_cookie, int64_t now, struct oidc_az_result *res) YH_WUR;

#define OIDC_MARK_SIZE 80             /* "<t>.<43 base64url>" + NUL, with room */

/*
 * A re-authentication marker (rule 3): "<ts>.<base64url(HMAC)>" into out, the HMAC
 * keys_mac(KEYS_MAC_REAUTH) over msg, which the caller builds starting with a label of
 * its own followed by a NUL (AZ_MARK_KEY_LABEL here, CAS_MARK_LABEL in authd/cas/), so
 * that no marker of one protocol is one of another. Returns 0 or keys_mac's error.
 */
int oidc_mark_seal(const struct keys *keys, const char *ts, const struct yh_buf *msg,
    char out[OIDC_MARK_SIZE]) YH_WUR;

/*
 * The session whose cookie value is cookie (NULL: none), touched, when it is live and its
 * person active: 0 with *have set (and *person_loa the person's LoA), or an error of the
 * store or the directory. Shared with the other protocols' entry points (authd/cas/).
 */
int oidc_az_session(struct authd_app *app, const char *cookie, struct sess_info *si,
    bool *have, int *person_loa) YH_WUR;

/*
 * Rule 4: whether a TOTP step-up can lift the session si, of a person at person_loa, to
 * loa (a second factor not used yet, enough for loa, and a confirmed TOTP of the
 * person's): 0 with *can set, or the directory's error.
 */
int oidc_az_can_step_up(struct authd_app *app, const struct sess_info *si, int person_loa,
    int loa, bool *can) YH_WUR;

/* The words of a relation to an organization (DIR_ROLE_LEGAL_REP, DIR_ROLE_AGENT, else
 * admin), as the choice page and the account page show it. */
enum page_msg oidc_org_role_words(const char *role);

/*
 * Builds the error redirect: redirect_uri + error, error_description (may be NULL),
 * state (may be NULL) and iss as query parameters ('?' or '&' as the URI needs).
 * *out is malloc'd. Returns 0, YH_ERR_TOO_LONG or YH_ERR_ALLOC.
 */
int oidc_az_error_location(const char *redirect_uri, const char *error,
    const char *description, const char *state, const char *iss, char **out) YH_WUR;

/* ---- /logout --------------------------------------------------------------------- */

#define OIDC_LO_HINT_MAX 16384        /* id_token_hint bytes (TOK_JWS_MAX) */

/* The parameters of a logout request (borrowed strings; NULL when absent). */
struct oidc_lo_params {
	const char *id_token_hint;
	const char *client_id;
	const char *post_logout_redirect_uri;
	const char *state;
	const char *ui_locales;
	bool bad;                  /* some parameter was repeated, too long or malformed */
	bool confirmed;            /* the person confirmed on our page (CSRF token checked) */
};

/* What /logout answers. */
struct oidc_lo_result {
	char *location;            /* redirect to the post-logout URI (malloc'd), or NULL:
	                            * show the "logged out" page */
	bool ended;                /* a session was ended */
	bool confirm;              /* ask first: a live session that the request does not
	                            * show to be its own; nothing was ended, no location */
	bool hint_ok;              /* the id_token_hint verified */
	bool hint_bad;             /* an id_token_hint was given and did not verify: nothing
	                            * was done (no session ended, no location) */
	char client_id[65];        /* the client the request named (or the hint's aud), "" */
	char sid[SESS_PUBID_SIZE]; /* ended: the public id of the session ended */
};

/* Frees what r owns and zeroes it. */
void oidc_lo_result_clear(struct oidc_lo_result *r);

/*
 * Carries out a logout request: verifies id_token_hint (our signature, our issuer; an
 * expired hint is accepted; its aud names a registered client; a client_id that
 * disagrees with it is ignored along with the redirect). A hint given that does not
 * verify stops here: res->hint_bad, nothing ended, no location. When the cookie sid_cookie names a live
 * session that the hint was not issued in (its sid and its pairwise sub must be the
 * session's; without a hint, or with a malformed request, it never is) and the person
 * has not confirmed (p->confirmed), nothing is ended: res->confirm is set, with
 * res->client_id for the confirmation page. Otherwise ends that session (reason logout:
 * the session store's event then sends the back-channel logout tokens), writes the
 * audit line "logout", and decides the redirect: only to a post_logout_redirect_uri
 * registered for the identified client (exact bytes), with state; otherwise none (the
 * "logged out" page). Returns 0, YH_ERR_UNAVAILABLE (session store down: 503) or
 * another error (the audit line could not be written...: 500).
 */
int oidc_lo_run(struct authd_app *app, const struct oidc_lo_params *p,
    const char *sid_cookie, struct oidc_lo_result *res) YH_WUR;

#endif
