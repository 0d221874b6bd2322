/*
 * Logging in (prefix login_): the password form (password.c), the TOTP step-up
 * (totp.c) and self-registration (register.c), their routes (routes.c), plus what they
 * share with each other and the rest of authd (common.c): the session cookie, the `next`
 * rule, the LoA policy.
 *
 *   GET  /login?next=...[&force=1][&login_hint=...]   the form: username, password,
 *                                                     hidden csrf and next
 *   POST /login          CSRF; lockout checks; password check on the worker pool;
 *                        session created (or re-authenticated: the id rotates);
 *                        yh_sid set; 303 to next. A username NAME\user whose NAME is an
 *                        ldap_source block checks the password by a bind to that
 *                        department's directory instead (federation/ldapsrc.h), after
 *                        the same lockout checks, and grants its staff relation
 *   GET  /login/totp?next=...&loa=N   (a session is required) the code form
 *   POST /login/totp     CSRF; code checked and its time step consumed; session
 *                        re-authenticated with amr + "otp"; 303 to next
 *   GET  /register?next=...           the registration form
 *   POST /register       CSRF; field checks; argon2 on the worker pool; person at LoA 1;
 *                        the same "done" page whether or not the ID number was taken;
 *                        with an SMS gateway, action=send_code sends a code to the
 *                        phone and the registration needs it (the phone is verified)
 *   GET  /login/sms, POST /login/sms     the SMS code login (sms.c): action=send asks
 *                        for a code for a phone, action=login logs in with it (amr sms)
 *   GET  /login/forgot, POST /login/forgot   account recovery (recover.c): with an SMS
 *                        gateway a new password by a code to the verified phone
 *   /login/qr, /qr/...   the QR-code login from the mobile app (qr.c, authd/login/qr.h)
 *   GET  /login/cert, GET /login/cert/challenge, POST /login/cert   the certificate
 *                        login (cert.c): a challenge signed by the USBKey's key, the
 *                        certificate verified against cert.ca.*; LoA 4, amr hwk x509
 *
 * Everything answers in pages (authd/ui/pages.h), Simplified Chinese by default. Failures
 * and lockouts are audited (login.failure, login.lockout, login.success, login.stepup,
 * register, and the SMS pages' lines: smscode.c, sms.c, recover.c) before the response is
 * sent.
 */
#ifndef YH_AUTHD_LOGIN_H
#define YH_AUTHD_LOGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authd/http/http.h"
#include "authd/session/sess.h"
#include "authd/ui/csrf.h"
#include "authd/ui/pages.h"
#include "common/err.h"

struct authd_app;
struct authd_cfg;
struct page;

#define LOGIN_SID_COOKIE "yh_sid"          /* "__Host-yh_sid" over HTTPS (page_cookie) */
#define LOGIN_NEXT_DEFAULT "/account"
#define LOGIN_NEXT_MAX 4096

/*
 * Brute-force policy: the login.* options (authd_config.h) of the configuration in
 * force, the option table's defaults when authd runs without one (unit tests).
 * Failures count per account (the person's uid; for an identifier that names nobody, a
 * keyed hash of it, so that unknown and known identifiers behave alike) and per client
 * address, in a window of login.failure_window; reaching the limit locks for
 * login.lockout. An address gets a higher limit: a whole office may sit behind one NAT.
 */

/*
 * Second-factor codes have a floor the configuration cannot lower: a TOTP code is one of
 * 10^6 and three are valid at once, so a password policy relaxed for a helpdesk's sake
 * (say 1000 failures, 1 s lockout) must not make codes guessable in a day. TOTP failures
 * count at most LOGIN_OTP_MAX_FAILURES per window of at least LOGIN_OTP_MIN_WINDOW_S and
 * lock for at least LOGIN_OTP_MIN_LOCKOUT_S: about 500 guesses a day at the most.
 */
#define LOGIN_OTP_MAX_FAILURES 10
#define LOGIN_OTP_MIN_WINDOW_S 1800
#define LOGIN_OTP_MIN_LOCKOUT_S 300

struct login_policy {
	int64_t max_failures;        /* per account (password, current password) */
	int64_t addr_max_failures;   /* per client address (password logins) */
	int64_t window_s;            /* failures older than this no longer count */
	int64_t lockout_s;           /* how long a reached limit locks */
	int64_t otp_max_failures;    /* the same for TOTP codes, with the floor above */
	int64_t otp_window_s;
	int64_t otp_lockout_s;
};

/* The policy of app (its cfg in force; the table's defaults when app or app->cfg is
 * NULL). */
void login_policy_get(const struct authd_app *app, struct login_policy *out);

#define LOGIN_REG_PER_ADDR 20          /* registrations per address per window */
#define LOGIN_REG_WINDOW_S 3600

/* Counts a registration (the form's, or a certificate's first login under
 * cert.auto_register) against the client address ip: 0, YH_ERR_LIMIT when over
 * LOGIN_REG_PER_ADDR in LOGIN_REG_WINDOW_S, or the session store's error. */
int login_reg_count_address(struct authd_app *app, const char *ip) YH_WUR;
#define LOGIN_PASSWORD_MIN 8           /* characters of a new password */

/* The rules of a new password (registration, recovery): at most PW_PASSWORD_MAX bytes,
 * at least LOGIN_PASSWORD_MIN characters, not digits only, not the ID number or the
 * phone as typed or folded (id_canonical, phone_key: "" when unknown). The message of
 * the first rule broken, or PAGE_MSG_NONE. */
/* Hashes password with argon2id at the configured cost (app->ident's; the defaults
 * without one) and stores it as uid's credential. Slow: on the worker pool. Returns 0,
 * pw_hash's or the directory's errors. */
int login_password_store(struct authd_app *app, const char *uid, const char *password)
    YH_WUR;

enum page_msg login_password_problem(const char *password, const char *id_number,
    const char *id_canonical, const char *phone, const char *phone_key);

#define LOGIN_PATH "/login"
#define LOGIN_TOTP_PATH "/login/totp"
#define LOGIN_REG_PATH "/register"
#define LOGIN_FORGOT_PATH "/login/forgot"   /* account recovery (recover.c) */

/* Adds the login room's routes (routes.c): GET/POST /login, /login/totp and /register,
 * GET /login/forgot and the site icon, GET /favicon.ico.
 * They need app->dir, ->ident, ->sess, ->audit, ->keys; app->workers NULL runs
 * the password checks and hashing inline. */
int login_register(struct http_server *srv, struct authd_app *app) YH_WUR;

/* The handlers (http_handler_fn, arg = the struct authd_app): GET/POST /login
 * (password.c), /login/totp (totp.c), /register (register.c). */
int login_password_get(struct http_req *req, void *arg);
int login_forgot_get(struct http_req *req, void *arg);
int login_forgot_post(struct http_req *req, void *arg);
int login_password_post(struct http_req *req, void *arg);
int login_totp_get(struct http_req *req, void *arg);
int login_totp_post(struct http_req *req, void *arg);
int login_signup_get(struct http_req *req, void *arg);
int login_signup_post(struct http_req *req, void *arg);
int login_privacy_get(struct http_req *req, void *arg);
int login_sms_get(struct http_req *req, void *arg);
int login_sms_post(struct http_req *req, void *arg);
int login_cert_get(struct http_req *req, void *arg);
int login_cert_challenge_get(struct http_req *req, void *arg);
int login_cert_post(struct http_req *req, void *arg);
int login_cert_tls_post(struct http_req *req, void *arg);

#define LOGIN_CERT_PATH "/login/cert"                  /* certificate login (cert.c) */

/*
 * The background fetch of the CRLs given by URL (cert_crl.c): a thread that fetches
 * each CA's CRL of the trust set in force when fed_x509_trust_crl_due says so (at start
 * and within a second of each SIGHUP, before nextUpdate, a failure again after a
 * while). start: 0, YH_ERR_ALLOC, YH_ERR_INTERNAL; refresh: every CRL due now (SIGHUP);
 * stop: joins the thread and frees it (NULL is nothing).
 */
struct login_crl;
int login_crl_start(struct authd_app *app, struct login_crl **out) YH_WUR;
void login_crl_refresh(struct login_crl *l);
void login_crl_stop(struct login_crl *l);
#define LOGIN_CERT_CHALLENGE_PATH "/login/cert/challenge"
#define LOGIN_CERT_TLS_PATH "/login/cert/tls"              /* from a TLS proxy */
#define LOGIN_CERT_CHALLENGE_TTL 120                   /* seconds a challenge is good */

#define LOGIN_PRIVACY_PATH "/privacy"
/* The version of the built-in notice (authd/ui/privacy/notice_*.txt): raise it when
 * their text changes. */
#define LOGIN_PRIVACY_BUILTIN_VERSION "yihao-builtin-1"

/* The privacy notice in force, as shown in one language (borrowed: the configuration
 * holding it outlives every request, see authd/app.h). */
struct login_notice {
	const char *text;
	size_t len;
	const char *version;
	char sha256[65];       /* of text, lowercase hex */
};

/*
 * The notice in force for a page in lang: the operator's (registration.privacy_notice_*
 * of cfg, whatever the language) or else the built-in one in lang, each with its
 * version and SHA-256. Returns 0 or YH_ERR_CRYPTO.
 */
int login_notice_get(const struct authd_cfg *cfg, enum page_lang lang,
    struct login_notice *out) YH_WUR;

/*
 * True when next may be followed after a login, step-up, consent or registration: a
 * local path starting with "/authorize?" or "/cas/login?" (authd/cas/), or equal to
 * "/account", "/counter" (authd/counter/) or "/admin" (authd/admin/) or starting with
 * "/account?", or "/device" or starting with "/device?" (the device flow's approval
 * page, authd/oidc/device.h), at most LOGIN_NEXT_MAX bytes of printable ASCII (no space, no
 * backslash).
 */
bool login_next_ok(const char *next);

/* next when login_next_ok, else LOGIN_NEXT_DEFAULT (static storage). */
const char *login_next_pick(const char *next);

/*
 * The display name of the registered app a login is for, copied into out (outsz
 * bytes; CLIENTS_NAME_MAX + 1 hold any): the client_id of a next of /authorize, or the
 * app whose CAS services hold the service of a next of /cas/login. "" when next names
 * no registered app (the account page, an unknown client or service, NULL) or the name
 * does not fit. Any thread.
 */
void login_app_name(struct authd_app *app, const char *next, char *out, size_t outsz);

/* page_login_form naming the app of next (login_app_name), with the buttons of the
 * upstreams that may be shown (login_upstream_buttons). In password.c. */
void login_form(struct page *p, struct authd_app *app, const char *csrf, const char *next,
    const char *username, const char *error);

/*
 * The session named by the request's yh_sid cookie (sess_get with flags, e.g.
 * SESS_TOUCH). Returns 0 (record in *out), YH_ERR_NOT_FOUND (no cookie, unknown or
 * expired session), YH_ERR_UNAVAILABLE (the store is down). Only on the HTTP thread.
 */
int login_session_of(struct http_req *req, struct authd_app *app, unsigned flags,
    struct sess_info *out) YH_WUR;

/* Sets the yh_sid cookie to token (HttpOnly; SameSite=Lax; Path=/; Secure over HTTPS; a
 * browser-session cookie), or clears it when token is NULL. Any thread while the
 * request is suspended. */
int login_set_session_cookie(struct http_req *req, const char *token, bool https) YH_WUR;

/*
 * The LoA a session gets from an authentication (docs/integration.md, "Assurance levels"): a password alone
 * gives min(person LoA, 2); a password plus TOTP gives 3 when the person's LoA is 2 or 3
 * (real-name verified), 4 when it is 4 (checked in person at a counter), else the same as
 * the password. person_loa 0 counts as 1.
 */
int login_session_loa(int person_loa, bool with_otp);

/*
 * True when the session si's last authentication is at most max_age_s seconds old at now
 * (an auth_time ahead of now, another node's clock, counts as age 0) and the session is
 * at LoA loa or more (loa 0: any). What /authorize's max_age asks, and what the account
 * page asks before a grant to act for an organization (a TOTP step-up within minutes).
 */
bool login_auth_fresh(const struct sess_info *si, int64_t now, int64_t max_age_s, int loa);

/*
 * Staff login policy (login.staff_methods): a person with a current staff relation
 * (dir_staff_current) is not logged in by a password alone. The password login then
 * opens the session at LOGIN_LOA_PENDING, which no app, no CAS service, no account page
 * and no counter accepts, and sends the browser to the TOTP form; a code there raises
 * the session as any step-up does. *pending says whether uid is held to it. Returns 0
 * or the directory's error (the caller refuses the login: it cannot tell).
 */
#define LOGIN_LOA_PENDING 0
int login_staff_pending(struct authd_app *app, const char *uid, bool *pending) YH_WUR;

/* True when login.staff_methods is cert: a staff member (login_staff_pending's *pending)
 * logs in by certificate only, and a password or SMS login of theirs is refused. */
bool login_staff_cert_only(const struct authd_app *app);

/* Counts a login in the yh_logins_total{method,result} metric (app->metrics may be
 * NULL). method: "pwd", "otp", "register", "qr"; result: "success", "failure", "locked". */
void login_metric(struct authd_app *app, const char *method, const char *result);

/* Writes the audit line for event with actor and fields (borrowed, may be NULL); logs
 * and returns the error when it cannot be written (the caller then fails the action):
 * YH_ERR_IO, or YH_ERR_INTERNAL when app->audit is NULL (authd.c must open it). */
int login_audit(struct authd_app *app, const char *event, const char *actor,
    json_t *fields) YH_WUR;

/* What a login attempt on the worker pool needs of its request, copied on the HTTP
 * thread (the request cannot be read while suspended). */
struct login_req_info {
	bool https;
	enum page_lang lang;
	char old_sid[SESS_TOKEN_SIZE];      /* the yh_sid cookie, or "" (wipe it) */
	char ip[SESS_ADDR_MAX + 1];
	char ua[SESS_UA_MAX + 1];           /* cut at a character boundary */
};

/* Fills *out from req. Only on the HTTP thread. */
void login_req_info_get(struct http_req *req, struct login_req_info *out);

/*
 * What the GET of a pre-login form (the SMS and certificate logins) starts with: next
 * (the query's when login_next_ok, else LOGIN_NEXT_DEFAULT; nextsz bytes), the form's
 * CSRF token for purpose in csrf (csrf_prepare: the yh_csrf cookie made when missing),
 * and ri's language and scheme. Returns csrf_prepare's result.
 */
int login_form_start(struct http_req *req, struct authd_app *app, const char *purpose,
    char *next, size_t nextsz, char csrf[CSRF_TOKEN_SIZE], struct login_req_info *ri)
    YH_WUR;

/*
 * Runs a login attempt (attempt(ctx), which answers req) on the worker pool: req is
 * suspended and resumed after; without a pool (app->workers NULL) in line. When attempt
 * returns an error (nothing answered), the failure page for it is sent in the request's
 * language, with path as the page's, and what ("login") names it in the log. A full
 * queue (or a job that would wait longer than workers.max_wait) answers 503 at once,
 * with Retry-After. free_fn(ctx) is called in every case, once attempt is
 * done or will not run. Returns what the handler returns: HTTP_SUSPENDED, 0, or an
 * error of the suspension.
 */
int login_job_start(struct http_req *req, struct authd_app *app, const char *path,
    const char *what, int (*attempt)(void *ctx), void (*free_fn)(void *ctx), void *ctx);

/*
 * Opens the session of a first-factor login (a password, an SMS code) of uid with the
 * one amr value amr at LoA loa, from the request described by ri: a new session, or the
 * browser's current one (ri->old_sid) re-authenticated with a new id when it is the
 * same person's (fixation); another person's current session is ended first. token
 * and *info as sess_create. Returns sess_create's or sess_reauth's errors.
 */
int login_open_session(struct authd_app *app, const struct login_req_info *ri,
    const char *uid, int loa, const char *amr, char token[SESS_TOKEN_SIZE],
    struct sess_info *info) YH_WUR;

/* login_open_session with the namr values of amr (a method proving several things:
 * a certificate login is "hwk" and "x509"). */
int login_open_session_amr(struct authd_app *app, const struct login_req_info *ri,
    const char *uid, int loa, const char *const *amr, size_t namr,
    char token[SESS_TOKEN_SIZE], struct sess_info *info) YH_WUR;

/*
 * The answer to a successful login: sets yh_sid to token and answers 303 to next, or,
 * when staff is true (login_staff_pending), to the TOTP form carrying next. Returns 0
 * or an error (nothing answered).
 */
int login_complete(struct http_req *req, bool https, const char *next, const char *token,
    bool staff) YH_WUR;

/* ---- upstream identity providers (upstream.c) -----------------------------------------
 *
 * The logins through the upstream.NAME blocks (docs/federation.md): GET
 * /login/upstream/NAME starts one, GET /login/upstream/NAME/callback finishes it. The
 * login page shows one button per upstream whose discovery succeeded.
 */
#define LOGIN_UPSTREAM_PATH "/login/upstream/"
#define LOGIN_UPSTREAM_TTL_S 600         /* how long a started upstream login may take */

struct login_ups;
struct page_upstream_button;

/*
 * The upstreams of cfg (copied), each tried once (discovery and JWKS: a failure is a
 * warning, and the button stays hidden until a later try succeeds). *out is NULL when
 * there are none. Returns 0, YH_ERR_ALLOC or YH_ERR_INTERNAL with err.
 */
int login_ups_new(struct authd_app *app, const struct authd_cfg *cfg,
    struct login_ups **out, char *err, size_t errsz) YH_WUR;

/* Frees u; NULL is fine. */
void login_ups_free(struct login_ups *u);

/*
 * Where a local logout of the session whose public id is sid sends the browser on:
 * the end_session_endpoint (with our client_id) of the upstream that logged it in when
 * that upstream's logout is propagate; *url NULL otherwise. Returns 0 or YH_ERR_ALLOC.
 */
int login_upstream_logout_url(struct authd_app *app, const char *sid, char **url) YH_WUR;

/* Adds the routes of app->ups's upstreams: the start, the callback and the back-channel
 * logout endpoint (POST /login/upstream/NAME/backchannel-logout, logout_token: the
 * sessions it names end, each with its own back-channel logout to local apps). Returns
 * http_routes_add's errors. */
int login_ups_register(struct http_server *srv, struct authd_app *app) YH_WUR;

/* The login page's upstream buttons in lang (at most max into out; strings borrowed
 * from app->ups): those whose discovery succeeded. A hidden one gets a retry on the
 * worker pool, at most every 10 seconds. */
size_t login_upstream_buttons(struct authd_app *app, enum page_lang lang,
    struct page_upstream_button *out, size_t max);

/* ---- SMS codes (smscode.c) -------------------------------------------------------------
 *
 * A code is six random digits, good for sms.code_lifetime, once, for one purpose, in the
 * browser that asked for it: the session store keeps the SHA-256 of the code with its
 * purpose, the phone's keyed name and the browser's pre-session cookie (sess_otc_put),
 * never the code. Phone numbers are named by a keyed hash (keys_mac LOGIN_NAME), never
 * in clear, and that name carries the limits: one code per sms.resend_interval and
 * sms.max_per_phone a day per phone, sms.max_per_address an hour per client address,
 * and sms.max_failures wrong, used or expired codes within sms.code_lifetime lock the
 * phone's codes for the TOTP lockout (at least LOGIN_OTP_MIN_LOCKOUT_S). A phone that
 * names nobody gets the same limits and answers; no code is kept or sent for it.
 */
enum login_sms_purpose { LOGIN_SMS_LOGIN = 0, LOGIN_SMS_VERIFY, LOGIN_SMS_RECOVER };

#define LOGIN_SMS_CODE_SIZE 7            /* six digits + NUL */
#define LOGIN_SMS_NAME_SIZE 65           /* a phone's keyed name: 64 hex + NUL */
#define LOGIN_SMS_DAY_S 86400            /* the window of sms.max_per_phone */
#define LOGIN_SMS_ADDR_WINDOW_S 3600     /* the window of sms.max_per_address */
#define LOGIN_SMS_PATH "/login/sms"

/* "login", "verify_phone", "recovery" (audit lines). */
const char *login_sms_purpose_name(enum login_sms_purpose p);

/* The keyed name of a phone (its matching key, mk_phone_key) in out. 0, YH_ERR_INVALID,
 * or keys_mac's errors. */
int login_sms_phone_name(struct authd_app *app, const char *phone_key,
    char out[LOGIN_SMS_NAME_SIZE]) YH_WUR;

/*
 * Whether a code may be sent now to the phone named pname, asked from address ip: 0
 * (the send is counted, and *wait_s gets sms.resend_interval, the time before the
 * next), or YH_ERR_LOCKED with *wait_s the seconds until one may be sent; the store's
 * errors.
 */
int login_sms_allow(struct authd_app *app, const char *pname, const char *ip,
    int64_t *wait_s) YH_WUR;

/*
 * A new code for purpose p, phone pname and browser (its yh_csrf cookie value, 1..64
 * bytes), kept for sms.code_lifetime with payload (a uid, or what the purpose needs;
 * as for sess_otc_put). Returns 0 with the code in code (wipe it after use),
 * YH_ERR_INVALID, or the store's errors.
 */
int login_sms_code_new(struct authd_app *app, enum login_sms_purpose p, const char *pname,
    const char *browser, const char *payload, char code[LOGIN_SMS_CODE_SIZE]) YH_WUR;

/*
 * Checks and uses up code for (p, pname, browser): 0 with *payload (malloc'd); else
 * *payload NULL and YH_ERR_AUTH (wrong, expired, for another purpose, phone or
 * browser), YH_ERR_REPLAY (used before), both counted towards the lock, YH_ERR_LOCKED
 * (the phone's codes are locked: the code is not even looked at), YH_ERR_INVALID, or
 * the store's errors.
 */
int login_sms_code_check(struct authd_app *app, enum login_sms_purpose p, const char *pname,
    const char *browser, const char *code, char **payload) YH_WUR;

/* Uses up a code that was never delivered (its message failed), without counting it
 * as a wrong one. 0, YH_ERR_NOT_FOUND, YH_ERR_INVALID, or the store's errors. */
int login_sms_code_drop(struct authd_app *app, enum login_sms_purpose p, const char *pname,
    const char *browser, const char *code) YH_WUR;

struct fed_sms_result;

/*
 * Sends the message of purpose p carrying code (in lang: the words are the message
 * catalog's sms_text_*) to phone_key through app->sms, and writes the "sms.send" audit
 * line (masked phone, purpose, driver, result, why) with uid (may be NULL) as actor.
 * wait false: on the worker pool, not waited for (the answer's time must not depend
 * on whether a message went; a pool that refuses the job: not sent, audited as failed);
 * res is then untouched. wait true: in line, with the
 * result in *res (may be NULL). Returns 0 (see res->sent), YH_ERR_NOT_FOUND (no SMS
 * driver), YH_ERR_INVALID, YH_ERR_ALLOC, or the audit's error.
 */
int login_sms_deliver(struct authd_app *app, enum page_lang lang, enum login_sms_purpose p,
    const char *phone_key, const char *uid, const char *code, bool wait,
    struct fed_sms_result *res) YH_WUR;

#endif
