/*
 * CSRF protection for authd's forms (prefix csrf_), login CSRF included.
 *
 * A form's token is a keyed hash of what it is bound to and of its purpose:
 *
 *     base64url(HMAC-SHA256(K, "yh-csrf-v2" || 0x00 || kind || 0x00 || binding || 0x00
 *                              || purpose))
 *
 * where purpose names the form ("login", "totp", "register", "consent", "account",
 * "logout") and K is derived from the server's subject key (STATE_DIR/subject.key) as
 * HMAC-SHA256(subject_key, "yihao/csrf/v1"), so that every node sharing the state
 * directory accepts every node's forms and the key is never used raw for two jobs. The
 * HMAC is keys_mac(KEYS_MAC_CSRF) (authd/keyd/keys.h): the key holder computes it, the
 * HTTP process never holds K. What a form is bound to:
 *
 *   - a form shown in a session ("sess": the account page, consent, the TOTP step-up, a
 *     logout of a live session): the session's key, the SHA-256 of its session id, which
 *     only the server derives (sess_info.key). A token is good for that session alone:
 *     an attacker who plants a yh_csrf cookie and a token of their own in the victim's
 *     browser gets nowhere, since the victim's session id is what counts, and it can be
 *     neither read nor set from another site;
 *   - a form shown before there is a session ("pre": login, registration): the browser's
 *     pre-session cookie yh_csrf, 256 random bits (43 characters of base64url) set the
 *     first time such a form is shown.
 *
 * Over HTTPS (authd's TLS, or a trusted proxy saying X-Forwarded-Proto: https) the
 * cookies carry the __Host- prefix (__Host-yh_csrf, __Host-yh_sid: page_set_cookie), so
 * a sibling subdomain or a man in the middle on plain HTTP cannot plant them either.
 *
 * Why a keyed hash rather than a single-use nonce in the session store: showing a form
 * must not write server state. The login and registration pages are anonymous: with
 * stored nonces any client could fill the store (memory or Redis) by reloading /login,
 * and a full store would refuse everyone's logins. A bound token costs one HMAC, works
 * on any node, survives the back button and a failed attempt. Replay of a form within
 * one browser is no threat (the password or code is checked anyway). Tokens are
 * compared in constant time.
 *
 * A missing or wrong token (or a missing binding) answers 400 with an error page.
 */
#ifndef YH_AUTHD_CSRF_H
#define YH_AUTHD_CSRF_H

#include <stdbool.h>
#include <stddef.h>

#include "authd/http/http.h"
#include "authd/keyd/keys.h"
#include "common/err.h"

#define CSRF_COOKIE "yh_csrf"
#define CSRF_FIELD "csrf"            /* the hidden form field */
#define CSRF_TOKEN_SIZE 44           /* 43 base64url characters + NUL (cookie and token) */
#define CSRF_PURPOSE_MAX 64

/* True when cookie is a well-formed yh_csrf value (43 base64url characters). */
bool csrf_cookie_ok(const char *cookie);

/* Writes a fresh random cookie value to out. Returns 0 or YH_ERR_CRYPTO. */
int csrf_cookie_new(char out[CSRF_TOKEN_SIZE]) YH_WUR;

/*
 * This browser's pre-session cookie into out: the request's yh_csrf when well-formed,
 * else a new one whose Set-Cookie is added to the response (as csrf_prepare does), so
 * that the pages that follow in this browser send it. Returns 0, YH_ERR_CRYPTO, or
 * what http_resp_header returns.
 */
int csrf_browser(struct http_req *req, char out[CSRF_TOKEN_SIZE]) YH_WUR;

#define CSRF_MARK_BINDING_SIZE (8 + CSRF_TOKEN_SIZE)

/*
 * What a re-authentication marker (/authorize's and /cas/login's yh_reauth) is made
 * over: this browser's pre-session cookie ("browser:" and the cookie), which both pages
 * set when it is missing, so that a marker someone made in another browser counts for
 * nothing here while any login in this browser after the detour counts, also one that
 * switched to another person (a new session); without a well-formed cookie, the
 * session's sid. Returns false (out "") when there is neither: no marker may then be
 * made or honoured.
 */
bool csrf_mark_binding(const char *sid, const char *browser,
    char out[CSRF_MARK_BINDING_SIZE]);

/* What a token is bound to (see above). */
enum csrf_bind {
	CSRF_BIND_PRE,       /* the yh_csrf pre-session cookie (43 base64url characters) */
	CSRF_BIND_SESSION,   /* a session's key (SESS_KEY_SIZE - 1 hex characters) */
};

/*
 * The token for a form of purpose (1..CSRF_PURPOSE_MAX bytes, no NUL) bound to binding
 * of kind. Returns 0, YH_ERR_INVALID (malformed binding or purpose) or YH_ERR_CRYPTO.
 */
int csrf_token_make(const struct keys *keys, enum csrf_bind kind,
    const char *binding, const char *purpose, char out[CSRF_TOKEN_SIZE]) YH_WUR;

/* 0 when token is the one for (kind, binding, purpose); YH_ERR_DENIED when not (also
 * when token, binding or purpose is NULL or malformed); YH_ERR_CRYPTO. Constant-time. */
int csrf_token_check(const struct keys *keys, enum csrf_bind kind,
    const char *binding, const char *purpose, const char *token) YH_WUR;

/*
 * For a handler about to render a form: the token for purpose in token. session_key is
 * the key of the request's session (sess_info.key) for a form shown in a session, NULL
 * for a pre-login form: then the request's yh_csrf cookie is the binding, and when it is
 * absent or malformed a new one is made and its Set-Cookie added to the response
 * (HttpOnly; SameSite=Lax; Path=/; Secure and __Host- over HTTPS; a browser-session
 * cookie). keys is app->keys. Returns 0, YH_ERR_INVALID (a malformed session_key),
 * YH_ERR_CRYPTO, or what http_resp_header returns.
 */
int csrf_prepare(struct http_req *req, const struct keys *keys,
    const char *purpose, const char *session_key, char token[CSRF_TOKEN_SIZE]) YH_WUR;

/*
 * For a handler receiving a form: checks its `csrf` field for purpose against the
 * request's session (session_key, as for csrf_prepare) or, when session_key is NULL,
 * its yh_csrf cookie. Returns 0, YH_ERR_DENIED (missing or wrong token, no cookie),
 * YH_ERR_CRYPTO. On YH_ERR_DENIED answer with csrf_respond_rejected.
 */
int csrf_verify(struct http_req *req, const struct keys *keys,
    const char *purpose, const char *session_key) YH_WUR;

/* Sets the 400 page for a rejected form ("the form expired or was not sent from this
 * site; go back and try again"), in the request's language. Returns as page_send. */
int csrf_respond_rejected(struct http_req *req) YH_WUR;

#endif
