/*
 * The device authorization grant (RFC 8628; prefix oidc_dev_): a kiosk or a shared
 * screen, which has no keyboard a person would type a password into, gets a device code
 * for itself and a short user code for the person, who approves the request on their
 * own phone or computer in the usual login pages.
 *
 *   POST /device_authorization   the client authenticated as at /token (a public client
 *        by client_id), registered with the device_code grant; scope optional. Answers
 *        device_code (256 bits), user_code ("XXXX-XXXX"), verification_uri
 *        (ISSUER/device), verification_uri_complete (ISSUER/device?user_code=...),
 *        expires_in and interval.
 *   GET  /device[?user_code=...]  (a session is required: /login first) the form for
 *        the code, or, for a code that names a pending request, the app, the claims its
 *        scopes release and "approve"/"deny", the form's CSRF token bound to the session.
 *        The app's min_loa holds as at /authorize: a session below it is sent to the
 *        TOTP step-up when one can reach it, else refused.
 *   GET  /device/qr?user_code=... a page a kiosk may display: the code and
 *        verification_uri_complete as a QR code (inline SVG); no session, no lookup.
 *   POST /device                 (csrf, user_code, action=approve|deny) approve records
 *        the consent (dir_consent_set, consent.grant) and the grant (the session's uid,
 *        sid, loa, amr, auth_time) in the request; deny marks it refused.
 *   POST /token with grant_type urn:ietf:params:oauth:grant-type:device_code and
 *        device_code: authorization_pending, slow_down (a poll sooner than interval
 *        after the last: the interval grows by 5 s for every later poll), access_denied,
 *        expired_token; once approved, the tokens of the grant (as the code grant's),
 *        once: a second redemption is invalid_grant.
 *
 * The request is one flow record of the session store (sess_flow_*) under the device
 * code's SHA-256 bound to the client ("dev:" client id), so that another client polling
 * with it finds nothing (invalid_grant); the user code is a second record, keyed by the
 * SHA-256 of the normalized code, holding the first record's key. The codes are good
 * for oidc.device_lifetime (10 minutes by default), the first poll interval is
 * oidc.device_interval (5 s); the device code's record is kept OIDC_DEV_GRACE longer, so
 * that a late poll is told expired_token rather than invalid_grant. User codes entered wrong count against the
 * person (sess_fail): OIDC_DEV_MAX_FAILURES in OIDC_DEV_FAILURE_WINDOW lock the form for
 * that long, so the 20^8 codes cannot be walked. A GET /device?user_code= another site
 * started (Sec-Fetch-Site cross-site or same-site) only fills in the form, so that no
 * other site can spend a person's allowance. New requests are limited per client
 * address, OIDC_DEV_PER_ADDR in OIDC_DEV_ADDR_WINDOW (then 429 slow_down with
 * Retry-After), so that nobody fills the session store with pending requests through a
 * public client.
 *
 * Audit: device.authorize (the client, the scopes), device.approve and device.deny (the
 * person, the client), token.issue with grant device_code, token.replay for a device code
 * redeemed twice; a pending poll writes nothing.
 */
#ifndef YH_AUTHD_OIDC_DEVICE_H
#define YH_AUTHD_OIDC_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authd/http/http.h"
#include "common/err.h"

struct authd_app;

#define OIDC_DEV_GRANT_TYPE "urn:ietf:params:oauth:grant-type:device_code"
#define OIDC_DEV_PATH "/device"
#define OIDC_DEV_QR_PATH "/device/qr"
#define OIDC_DEV_GRACE 600            /* seconds kept past oidc.device_lifetime, to say
                                       * expired_token */
#define OIDC_DEV_SLOW_DOWN 5          /* seconds added to the interval by slow_down */
#define OIDC_DEV_MAX_FAILURES 10      /* wrong user codes per person per window */
#define OIDC_DEV_FAILURE_WINDOW 900   /* that window and the lock it leads to, seconds */
#define OIDC_DEV_PER_ADDR 600         /* new requests per client address per window: one a
                                       * second on average, room for a hall of kiosks
                                       * behind one address */
#define OIDC_DEV_ADDR_WINDOW 600      /* that window and the wait it leads to, seconds */

/* The user code's alphabet (RFC 8628 6.1): 20 consonants, no vowel (no words), none
 * that reads as another (no 0/O, 1/I/L confusion: no digits, no A E I O U Y). */
#define OIDC_DEV_ALPHABET "BCDFGHJKLMNPQRSTVWXZ"
#define OIDC_DEV_CODE_LEN 8            /* characters of a user code */
#define OIDC_DEV_CODE_SIZE 10          /* "XXXX-XXXX" + NUL */

/* A new random user code, "XXXX-XXXX" from OIDC_DEV_ALPHABET (uniform: rejection
 * sampling). Returns 0 or yh_random's error. */
int oidc_dev_user_code_new(char out[OIDC_DEV_CODE_SIZE]) YH_WUR;

/*
 * The canonical form of a user code a person typed: lower case folded to upper, '-'
 * and blanks dropped, then exactly OIDC_DEV_CODE_LEN characters of the alphabet, written
 * as "XXXX-XXXX" to out. Returns 0 or YH_ERR_INVALID.
 */
int oidc_dev_user_code_norm(const char *in, char out[OIDC_DEV_CODE_SIZE]) YH_WUR;

/* The states of a device request. */
enum oidc_dev_state {
	OIDC_DEV_PENDING = 0,   /* waiting for the person */
	OIDC_DEV_APPROVED,      /* approved: the grant waits for the client's poll */
	OIDC_DEV_DENIED,        /* refused by the person: told to the client once */
	OIDC_DEV_DONE,          /* tokens issued or the refusal told: nothing more */
};

/* A device request as stored (the flow record's payload). */
struct oidc_dev {
	enum oidc_dev_state st;
	char client_id[65];
	char scope[256];          /* the scopes granted, as names */
	int64_t exp;              /* seconds: when the codes stop working */
	int64_t interval;         /* seconds between polls */
	int64_t next_ms;          /* no poll before this (ms); 0: none yet */
	char *grant;              /* APPROVED: oidc_grant_json of the person's grant */
};

/* What a poll of the token endpoint gets. */
enum oidc_dev_poll {
	OIDC_DEV_POLL_PENDING = 0,  /* authorization_pending */
	OIDC_DEV_POLL_SLOW_DOWN,    /* slow_down */
	OIDC_DEV_POLL_ISSUE,        /* the tokens of d->grant */
	OIDC_DEV_POLL_DENIED,       /* access_denied */
	OIDC_DEV_POLL_EXPIRED,      /* expired_token */
	OIDC_DEV_POLL_USED,         /* invalid_grant: redeemed or refused before */
};

/*
 * One poll at now_ms of the request d, moving it to its next state: DONE after ISSUE
 * and DENIED; a PENDING poll earlier than next_ms is SLOW_DOWN and adds
 * OIDC_DEV_SLOW_DOWN to the interval; every PENDING or SLOW_DOWN poll sets next_ms to
 * now_ms + interval. A request past exp is EXPIRED whatever its state, unless DONE.
 */
enum oidc_dev_poll oidc_dev_poll_step(struct oidc_dev *d, int64_t now_ms);

/* Serializes d (compact JSON, *out malloc'd) and parses it back (d cleared first; free
 * what it owns with oidc_dev_clear). Return 0, YH_ERR_INVALID, YH_ERR_ALLOC. */
int oidc_dev_json(const struct oidc_dev *d, char **out) YH_WUR;
int oidc_dev_parse(const char *json, struct oidc_dev *d) YH_WUR;
void oidc_dev_clear(struct oidc_dev *d);

/*
 * The token endpoint's poll of client_id with device_code at now_ms: reads the request,
 * takes one step (oidc_dev_poll_step) and stores it by compare-and-swap (read again on
 * a race), so that two polls never both get ISSUE. *res is the outcome; on ISSUE *grant
 * gets the grant's JSON (malloc'd). An unknown, malformed or other client's device code
 * is YH_ERR_NOT_FOUND (invalid_grant). Returns 0, YH_ERR_NOT_FOUND, the store's errors.
 */
int oidc_dev_poll(struct authd_app *app, const char *client_id, const char *device_code,
    int64_t now_ms, enum oidc_dev_poll *res, char **grant) YH_WUR;

/* POST /device_authorization, GET and POST /device. Needs what /token and /consent
 * need. */
int oidc_device_register(struct http_server *srv, struct authd_app *app) YH_WUR;

#endif
