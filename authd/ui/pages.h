/*
 * Server-rendered pages (prefix page_): one layout, HTML escaping by default, and the
 * two languages of the user interface, Simplified Chinese (the default) and English.
 *
 * Building a page:
 *
 *     struct page p;
 *     page_init(&p, req, "/login");        // language negotiated from the request
 *     page_begin(&p, page_msg(p.lang, PAGE_MSG_LOGIN_TITLE));
 *     page_html(&p, "<p class=\"note\">%s</p>", user_supplied_text);   // escaped
 *     return page_send(&p, req, 200);     // layout end, headers, response; frees p
 *
 * page_html's format is trusted markup written in the source; every %s argument is
 * HTML-escaped (& < > " ' and control characters), so untrusted text can only ever be
 * text. Only %s, %d, %u, %zu and %% are understood (the compiler checks the argument
 * types, printf-style). Raw markup from a variable is never accepted, except through
 * page_raw_trusted, whose argument must come from this program (an SVG the account page
 * drew, say), never from a request or the directory.
 *
 * Errors are sticky: page_* calls record the first failure (allocation, the page's
 * size cap, a bad format) and page_send reports it, so a builder need not test every
 * call. The page is freed by page_send or page_free.
 *
 * Every page: <html lang>, a title, a language switch link on the same URL (keeping
 * `next` and `loa`), a small inline stylesheet allowed by its hash in the CSP, no
 * JavaScript, no external resource, Cache-Control: no-store.
 *
 * Language (page_lang_negotiate): the `lang` query parameter (a switch link; it also
 * sets the yh_lang cookie for a year) > the yh_lang cookie > ui_locales (of the request
 * itself, or of the /authorize request carried in `next`) > Accept-Language > zh-CN.
 */
#ifndef YH_AUTHD_PAGES_H
#define YH_AUTHD_PAGES_H

#include <stdbool.h>
#include <stddef.h>

#include "authd/http/http.h"
#include "common/buf.h"
#include "common/err.h"

#define PAGE_LANG_COOKIE "yh_lang"
#define PAGE_MAX (256 * 1024)        /* bytes of one rendered page */
#define PAGE_PATH_MAX 128            /* the page's own path (for the switch link) */
#define PAGE_NEXT_MAX 4096           /* bytes of a `next` parameter */

enum page_lang { PAGE_LANG_ZH = 0, PAGE_LANG_EN = 1 };

/* Parses one language tag: "zh", "zh-CN", "zh-Hans", "zh-Hans-CN", ... -> ZH; "en",
 * "en-US", ... -> EN (ASCII case-insensitive). Returns 0 or YH_ERR_NOT_FOUND. */
int page_lang_parse(const char *tag, size_t len, enum page_lang *out) YH_WUR;

/*
 * The language for a request from its parts, in priority order (each may be NULL):
 * the lang query parameter, the yh_lang cookie, ui_locales (space-separated, in
 * preference order: the first supported one wins), Accept-Language (highest q among
 * supported tags; q=0 excludes; ties: first listed). Unsupported or malformed values
 * are skipped; nothing usable gives PAGE_LANG_ZH.
 */
enum page_lang page_lang_negotiate(const char *lang_param, const char *cookie,
    const char *ui_locales, const char *accept_language);

/* page_lang_negotiate on a request: the lang query parameter, the yh_lang cookie, the
 * ui_locales query parameter or the one inside the `next` query parameter's query, and
 * the Accept-Language header. */
enum page_lang page_lang_of(struct http_req *req);

/* Picks the text of the page's language: zh or en. For strings outside the table. */
const char *page_pick(enum page_lang l, const char *zh, const char *en);

/* The shared string table. */
enum page_msg {
	PAGE_MSG_SITE = 0,            /* the site name in the header */
	PAGE_MSG_SWITCH,              /* the language switch link text (in the OTHER language) */
	PAGE_MSG_FOOTER,
	PAGE_MSG_LOGIN_TITLE,
	PAGE_MSG_LOGIN_INTRO,
	PAGE_MSG_USERNAME,
	PAGE_MSG_USERNAME_HINT,
	PAGE_MSG_PASSWORD,
	PAGE_MSG_LOGIN_BUTTON,
	PAGE_MSG_LOGIN_FAILED,        /* the one answer for every failed login */
	PAGE_MSG_LOCKED,              /* too many failures; try again later */
	PAGE_MSG_MISSING_FIELDS,
	PAGE_MSG_NO_ACCOUNT,          /* "no account yet?" before the register link */
	PAGE_MSG_REGISTER_LINK,
	PAGE_MSG_TOTP_TITLE,
	PAGE_MSG_TOTP_INTRO,
	PAGE_MSG_TOTP_CODE,
	PAGE_MSG_TOTP_BUTTON,
	PAGE_MSG_TOTP_FAILED,
	PAGE_MSG_TOTP_NONE,           /* no authenticator enrolled */
	PAGE_MSG_TOTP_NOT_ENOUGH,     /* a verified identity is needed for this level */
	PAGE_MSG_REG_TITLE,
	PAGE_MSG_REG_INTRO,
	PAGE_MSG_REG_NAME,
	PAGE_MSG_REG_ID_NUMBER,
	PAGE_MSG_REG_PHONE,
	PAGE_MSG_REG_PASSWORD,
	PAGE_MSG_REG_PASSWORD_HINT,
	PAGE_MSG_REG_PASSWORD2,
	PAGE_MSG_REG_BUTTON,
	PAGE_MSG_REG_HAVE_ACCOUNT,
	PAGE_MSG_REG_DONE_TITLE,
	PAGE_MSG_REG_DONE_TEXT,       /* the same words whether or not the ID was taken */
	PAGE_MSG_REG_TOO_MANY,
	PAGE_MSG_ERR_NAME,
	PAGE_MSG_ERR_PHONE,
	PAGE_MSG_ERR_PW_SHORT,
	PAGE_MSG_ERR_PW_DIGITS,
	PAGE_MSG_ERR_PW_SAME,         /* equal to the ID number or phone */
	PAGE_MSG_ERR_PW_MISMATCH,
	PAGE_MSG_ERR_PW_LONG,
	PAGE_MSG_ERROR_TITLE,
	PAGE_MSG_BAD_REQUEST,         /* generic 400 */
	PAGE_MSG_CSRF,                /* the form expired or came from elsewhere */
	PAGE_MSG_UNAVAILABLE,         /* 503 */
	PAGE_MSG_NOT_SAVED,           /* 503: the disk is full, nothing could be saved */
	PAGE_MSG_SERVER_ERROR,        /* 500 */
	PAGE_MSG_BACK_TO_LOGIN,
	PAGE_MSG_CONTINUE,
	PAGE_MSG_ACCOUNT_LINK,
	PAGE_MSG_COUNT
};

/* The text of a message in a language (never NULL; static storage). */
const char *page_msg(enum page_lang l, enum page_msg m);

/* The words for an ID number rejection (identity/idn/idnum.h enum idn_reason). */
const char *page_idn_reason(enum page_lang l, int idn_reason);

/* A page being built. Fields are read-only for callers except where noted. */
struct page {
	struct yh_buf b;
	enum page_lang lang;
	bool set_lang_cookie;           /* the request had ?lang=: send yh_lang */
	bool https;                     /* cookies get Secure */
	char path[PAGE_PATH_MAX];       /* this page's path, for the switch link */
	char *next;                     /* `next` kept by the switch link (owned), or NULL */
	int loa;                        /* `loa` kept by the switch link when > 0 */
	int err;                        /* the first error, or 0 */
	bool begun;
};

/*
 * Starts a page for req at path (its own path, for the language switch link; copied):
 * negotiates the language (page_lang_of), remembers whether to set the yh_lang cookie
 * and the request's `next` query parameter. Call page_set_next to keep another next
 * (a POST's form field). Never fails by itself: problems are sticky (see above).
 */
void page_init(struct page *p, struct http_req *req, const char *path);

/* page_init without a request (tests, error pages made off the HTTP thread). */
void page_init_lang(struct page *p, enum page_lang lang, bool https, const char *path);

/* Replaces the next kept by the switch link (copied; NULL drops it). */
void page_set_next(struct page *p, const char *next);

/* Writes the document head and the page header, and opens <main> with an <h1>
 * holding title (escaped). */
void page_begin(struct page *p, const char *title);

/* Appends markup (see the top of this file: %s arguments are escaped). */
void page_html(struct page *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends text, HTML-escaped. */
void page_text(struct page *p, const char *s);

/* Appends markup made by this program (never from a request or the directory). */
void page_raw_trusted(struct page *p, const char *html);

/* Appends an error box (role="alert") with msg escaped; NULL or "" appends nothing. */
void page_alert(struct page *p, const char *msg);

/* Appends <input type="hidden" name="csrf" value="..."> and, when next is set, the
 * hidden `next` input. */
void page_form_hidden(struct page *p, const char *csrf, const char *next);

/*
 * Closes the layout and sets the response: status, text/html, the page CSP,
 * no-store, and the yh_lang cookie when asked. Frees the page. Returns 0 or the
 * sticky error (the response is then not set; return the error from the handler and
 * the server answers 500).
 */
int page_send(struct page *p, struct http_req *req, unsigned status) YH_WUR;

/* Frees the page without sending. NULL is fine. */
void page_free(struct page *p);

/* The Content-Security-Policy every page carries (static storage). */
const char *page_csp(void);

/* Appends s to b HTML-escaped (& < > " ' and control bytes but tab/newline as
 * entities; invalid UTF-8 bytes replaced by U+FFFD). */
int page_escape(struct yh_buf *b, const char *s) YH_WUR;

/* ---- the pages of the login family ---- */

/* The login form: username (prefilled with username, may be NULL), password, csrf,
 * next; error (may be NULL) in an alert box above it; links to /register. */
void page_login_form(struct page *p, const char *csrf, const char *next, const char *username,
    const char *error);

/* The TOTP step-up form: code, csrf, next, loa. */
void page_totp_form(struct page *p, const char *csrf, const char *next, int loa,
    const char *error);

/* What the registration form shows again after an error (NULL fields are empty). */
struct page_reg_values {
	const char *name, *id_number, *phone;
};

/* Per-field error messages (NULL: none). */
struct page_reg_errors {
	const char *name, *id_number, *phone, *password, *password2, *form;
};

/* The registration form: name, id_number, phone, password, password2, csrf, next. */
void page_register_form(struct page *p, const char *csrf, const char *next,
    const struct page_reg_values *v, const struct page_reg_errors *e);

/*
 * A whole error page: title PAGE_MSG_ERROR_TITLE, msg (escaped) and a link to
 * link_href (NULL: none; must be a local path made by the program). Returns as
 * page_send.
 */
int page_error_send(struct http_req *req, unsigned status, const char *msg,
    const char *link_href, const char *link_text) YH_WUR;

/* page_error_send for a suspended request (the worker cannot read the request):
 * language, HTTPS and the page's path given. No link. */
int page_error_send_as(struct http_req *req, enum page_lang lang, bool https,
    const char *path, unsigned status, const char *msg) YH_WUR;

/* The status for a failure a page handler cannot recover from (a negative YH_ERR_*):
 * 503 for a temporary one (yh_err_temporary: a store down or busy, the disk full), 500
 * for the rest. */
unsigned page_failure_status(int err);

/* The words for such a failure in lang: PAGE_MSG_NOT_SAVED for a full disk,
 * PAGE_MSG_UNAVAILABLE for another temporary failure, PAGE_MSG_SERVER_ERROR else. */
const char *page_failure_msg(enum page_lang lang, int err);

/* The error page for such a failure (page_error_send with page_failure_status and
 * page_failure_msg), and its variant for a suspended request (page_error_send_as). */
int page_failure_send(struct http_req *req, int err) YH_WUR;
int page_failure_send_as(struct http_req *req, enum page_lang lang, bool https,
    const char *path, int err) YH_WUR;

/* A whole "done" page: title, text, and a button-like link (link_href may be NULL). */
int page_done_send(struct http_req *req, unsigned status, const char *title,
    const char *text, const char *link_href, const char *link_text) YH_WUR;

/*
 * Cookie names. Over HTTPS (http_req_is_https: authd's TLS, or a trusted proxy that says
 * https) every cookie authd sets is named "__Host-" + name ("__Host-yh_sid"): a browser
 * keeps such a cookie only when it is Secure, for Path=/ and without Domain, so neither a
 * sibling subdomain nor a man in the middle on plain HTTP can plant one (session
 * fixation, a planted CSRF cookie). Over plain HTTP the name is name as it is.
 */
#define PAGE_COOKIE_HOST_PREFIX "__Host-"
#define PAGE_COOKIE_NAME_MAX 32      /* bytes of a name, before the prefix */

/*
 * Sets a cookie on the response: name=value (name with the __Host- prefix when https);
 * Path=/; SameSite=Lax; HttpOnly; Secure when https; no Domain; Max-Age when
 * max_age_s > 0 (0: a browser-session cookie; < 0: expire it now, value ignored). name
 * (at most PAGE_COOKIE_NAME_MAX bytes) and value must be cookie-safe (token characters /
 * base64url). Returns 0, YH_ERR_INVALID or what http_resp_header returns.
 */
int page_set_cookie(struct http_req *req, const char *name, const char *value,
    long long max_age_s, bool https) YH_WUR;

/* The request's cookie that page_set_cookie names name on this request (the __Host-
 * one over HTTPS), or NULL. Owned by the connection. */
const char *page_cookie(struct http_req *req, const char *name);


#endif
