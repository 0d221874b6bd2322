/*
 * CSRF protection for authd's forms (prefix csrf_), login CSRF included.
 *
 * Every browser gets a pre-session cookie yh_csrf: 256 random bits (43 characters of
 * base64url), set the first time a form is shown to it. A form's token is
 *
 *     base64url(HMAC-SHA256(K, "yh-csrf-v1" || 0x00 || cookie || 0x00 || purpose))
 *
 * where purpose names the form ("login", "totp", "register", "consent", "account"),
 * and K is derived from the server's subject key (app->subject_key, STATE_DIR/subject.key)
 * as HMAC-SHA256(subject_key, "yihao/csrf/v1"), so that every node sharing the state
 * directory accepts every node's forms and the key is never used raw for two jobs.
 *
 * Why a keyed hash of the cookie rather than a single-use nonce in the session store:
 * showing a form must not write server state. The login and registration pages are
 * anonymous: with stored nonces any client could fill the store (memory or Redis) by
 * reloading /login, and a full store would refuse everyone's logins. A token bound to
 * the cookie costs one HMAC, works on any node, survives the back button and a failed
 * attempt. What it guarantees is what CSRF protection needs: a cross-site attacker can
 * neither read the victim's yh_csrf cookie nor compute a token for it, and can't plant
 * a token of their own for their own cookie in the victim's browser (login CSRF)
 * without also setting the victim's cookie. Replay of a form within one browser is no
 * threat (the password or code is checked anyway). Tokens are compared in constant time.
 *
 * A missing or wrong token (or a missing cookie) answers 400 with an error page.
 */
#ifndef YH_AUTHD_CSRF_H
#define YH_AUTHD_CSRF_H

#include <stdbool.h>
#include <stddef.h>

#include "authd/http.h"
#include "common/err.h"

#define CSRF_COOKIE "yh_csrf"
#define CSRF_FIELD "csrf"            /* the hidden form field */
#define CSRF_KEY_BYTES 32
#define CSRF_TOKEN_SIZE 44           /* 43 base64url characters + NUL (cookie and token) */
#define CSRF_PURPOSE_MAX 64

/* The form-token key from the server's 32-byte subject key (see above). Wipe it after
 * use. Returns 0 or YH_ERR_CRYPTO. */
int csrf_key_derive(const unsigned char subject_key[32], unsigned char key[CSRF_KEY_BYTES])
    YH_WUR;

/* True when cookie is a well-formed yh_csrf value (43 base64url characters). */
bool csrf_cookie_ok(const char *cookie);

/* Writes a fresh random cookie value to out. Returns 0 or YH_ERR_CRYPTO. */
int csrf_cookie_new(char out[CSRF_TOKEN_SIZE]) YH_WUR;

/*
 * The token for a form of purpose (1..CSRF_PURPOSE_MAX bytes, no NUL) in the browser
 * whose cookie is cookie. Returns 0, YH_ERR_INVALID (malformed cookie or purpose) or
 * YH_ERR_CRYPTO.
 */
int csrf_token_make(const unsigned char key[CSRF_KEY_BYTES], const char *cookie,
    const char *purpose, char out[CSRF_TOKEN_SIZE]) YH_WUR;

/* 0 when token is the one for (cookie, purpose); YH_ERR_DENIED when not (also when
 * token, cookie or purpose is NULL or malformed); YH_ERR_CRYPTO. Constant-time. */
int csrf_token_check(const unsigned char key[CSRF_KEY_BYTES], const char *cookie,
    const char *purpose, const char *token) YH_WUR;

/*
 * For a handler about to render a form: the token for purpose in token. Reads the
 * request's yh_csrf cookie; when it is absent or malformed, makes a new one and adds
 * its Set-Cookie to the response (HttpOnly; SameSite=Lax; Path=/; Secure over HTTPS;
 * a browser-session cookie). subject_key is app->subject_key (the form-token key is
 * derived from it on each call: two HMACs). Returns 0, YH_ERR_CRYPTO, or what
 * http_resp_header returns.
 */
int csrf_prepare(struct http_req *req, const unsigned char subject_key[32],
    const char *purpose, char token[CSRF_TOKEN_SIZE]) YH_WUR;

/*
 * For a handler receiving a form: checks its `csrf` field against the yh_csrf cookie
 * for purpose. Returns 0, YH_ERR_DENIED (missing or wrong token, or no cookie),
 * YH_ERR_CRYPTO. On YH_ERR_DENIED answer with csrf_respond_rejected.
 */
int csrf_verify(struct http_req *req, const unsigned char subject_key[32],
    const char *purpose) YH_WUR;

/* Sets the 400 page for a rejected form ("the form expired or was not sent from this
 * site; go back and try again"), in the request's language. Returns as page_send. */
int csrf_respond_rejected(struct http_req *req) YH_WUR;

#endif
