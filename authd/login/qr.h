/*
 * QR-code login from the mobile app (扫码登录; prefix login_qr_): a browser shows a QR
 * code, the person's mobile app (any registered app holding an access token of theirs
 * with scope qr_login) scans it and confirms, and the browser is logged in as that
 * person at the level of assurance of the app's login, never higher, with amr "qr".
 *
 *   POST /login/qr   (the login page's button: csrf, next) a new request: a 256-bit
 *        token T (the QR code's content, ISSUER/qr?t=T) and a 256-bit browser secret in
 *        the cookie yh_qr (HttpOnly), whose SHA-256 the request keeps; 303 to
 *        /login/qr?t=T&next=...; at most LOGIN_QR_PER_ADDR a window per address.
 *   GET  /login/qr?t=T&next=...  (the browser that made it: its yh_qr cookie) the QR
 *        code as inline SVG (pending), "confirm on your phone" (scanned), with a
 *        Refresh header and a "I have scanned" link polling the same page; once
 *        confirmed, the session is opened (sess_create; the browser's earlier session,
 *        if any, ends), login.success is audited, and 303 to next. Refused, expired,
 *        used: an error page. Another browser: 403, nothing claimed.
 *   POST /qr/scan, /qr/confirm, /qr/deny  (the app: Authorization: Bearer, t=T) JSON.
 *        scan: pending -> scanned by this person and app, answers where the browser is
 *        (its address and a summary of its user agent) and when it asked; confirm:
 *        scanned by the same person -> confirmed, at min(the scan's and the confirm's
 *        token's acr); deny: pending or scanned by the same person -> denied.
 *        Only a person's token takes part: the token of an organization's session (an
 *        enterprise certificate's login, authd/login/cert.c) is refused at every step
 *        with 403 access_denied, and its scan of a pending request also refuses the
 *        request (denied, org), so that the browser's page tells to log in there with
 *        the certificate; a token of a user who is not an active person likewise gets
 *        403 access_denied. Nothing is handed over: a certificate's login stays on the
 *        device holding the certificate.
 *
 * A request is one flow record of the session store (sess_flow_*, bound to "qr"), kept
 * login.qr_lifetime (2 minutes by default); every change is a compare-and-swap, so two parties never
 * both move it out of one state, and a confirmed request logs in one browser once.
 * Audit: qr.create, qr.scan, qr.confirm, qr.deny, qr.refused (a token that is not a
 * person's, with the reason organization_session or not_a_person), each with the
 * browser's address and user agent and, from the scan on, the person and the app; and
 * login.success with method qr.
 */
#ifndef YH_AUTHD_LOGIN_QR_H
#define YH_AUTHD_LOGIN_QR_H

#include <stdbool.h>
#include <stdint.h>

#include "authd/http/http.h"
#include "authd/session/sess.h"
#include "common/err.h"

struct authd_app;

#define LOGIN_QR_PATH "/login/qr"
#define LOGIN_QR_COOKIE "yh_qr"
#define LOGIN_QR_REFRESH "3"         /* seconds between the browser's polls */
#define LOGIN_QR_PER_ADDR 60         /* new requests per address per window */
#define LOGIN_QR_WINDOW_S 600
#define LOGIN_QR_SCOPE "qr_login"

enum login_qr_state {
	LOGIN_QR_PENDING = 0,   /* shown, nobody scanned it */
	LOGIN_QR_SCANNED,       /* an app of the person scanned it */
	LOGIN_QR_CONFIRMED,     /* the person confirmed: the browser may claim it */
	LOGIN_QR_DENIED,        /* the person refused */
	LOGIN_QR_DONE,          /* the browser was logged in */
};

/* A QR request as stored (the flow record's payload). */
struct login_qr {
	enum login_qr_state st;
	char bhash[65];                     /* SHA-256 of the browser secret, hex */
	char ua[SESS_UA_MAX + 1];           /* the browser's user agent (cut) */
	char addr[SESS_ADDR_MAX + 1];       /* its address */
	int64_t created, exp;               /* seconds */
	char uid[SESS_UID_MAX + 1];         /* from the scan on: the person */
	char client_id[SESS_CLIENT_MAX + 1]; /* the app that scanned */
	int loa;                            /* the level the browser gets */
	bool org;                           /* DENIED because an organization's token
	                                     * scanned it (its page says so) */
};

/*
 * The steps, on a request q read at time now (seconds); each changes q only on success.
 * scan: PENDING -> SCANNED by uid through client_id at loa (1..4); the same person
 *   scanning again keeps SCANNED (0). confirm: SCANNED by uid -> CONFIRMED at the lower
 *   of the scan's loa and loa. deny: PENDING, or SCANNED by uid -> DENIED. claim (the
 *   browser, bhash the SHA-256 of its cookie): CONFIRMED -> DONE.
 * Errors: YH_ERR_EXPIRED (past exp), YH_ERR_INVALID (confirm before a scan; a bad loa),
 * YH_ERR_DENIED (another person's scan, or the state does not allow the step: used,
 * refused; for claim, another browser or refused), YH_ERR_BUSY (claim: not confirmed
 * yet).
 */
int login_qr_scan(struct login_qr *q, const char *uid, const char *client_id, int loa,
    int64_t now) YH_WUR;
int login_qr_confirm(struct login_qr *q, const char *uid, int loa, int64_t now) YH_WUR;
int login_qr_deny(struct login_qr *q, const char *uid, int64_t now) YH_WUR;
int login_qr_claim(struct login_qr *q, const char *bhash, int64_t now) YH_WUR;

/* Serializes q (compact JSON, *out malloc'd) and parses it back. 0, YH_ERR_INVALID,
 * YH_ERR_ALLOC. */
int login_qr_json(const struct login_qr *q, char **out) YH_WUR;
int login_qr_parse(const char *json, struct login_qr *q) YH_WUR;

/* POST and GET /login/qr, POST /qr/scan, /qr/confirm, /qr/deny. */
int login_qr_register(struct http_server *srv, struct authd_app *app) YH_WUR;

#endif
