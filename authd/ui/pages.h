/*
 * Server-rendered pages (prefix page_): one layout, HTML escaping by default, and the
 * two languages of the user interface, Simplified Chinese (the default) and English.
 *
 * The markup lives in templates (authd/ui/templates/, NAME.html) and every word in one
 * message catalog (authd/ui/messages.txt); tools/embed.py compiles both in at build time
 * (authd/ui/templates_gen.h, authd/ui/messages_gen.h) and checks them: the template
 * language and its rules are described at the top of that script. Building a page:
 *
 *     struct page p;
 *     struct tpl_totp v = { .csrf = csrf, .next = next, .loa = 3 };
 *
 *     page_init(&p, req, "/login/totp");   // language negotiated from the request
 *     page_begin(&p, page_msg(p.lang, PAGE_MSG_TOTP_TITLE));    // layout.html's top
 *     tpl_totp_render(&p, &v);             // totp.html, every slot escaped
 *     return page_send(&p, req, 200);     // layout end, headers, response; frees p
 *
 * A template's slots are the members of its struct tpl_NAME, so a slot the code does
 * not know, or one the template lost, does not compile. Every string slot is escaped for
 * where it stands (text or attribute: & < > " ' and control characters; a URL's query:
 * percent-encoded; a URL: a local path of this program's), so request text can only
 * ever be text. Raw markup is taken only from slots written {{{name}}}, which get markup
 * this program made (the stylesheet, an SVG), never a request's or the directory's.
 *
 * page_html appends markup written in the source with the same escaping of every %s
 * argument (only %s, %d, %u, %zu and %% are understood; the compiler checks the
 * argument types, printf-style).
 *
 * Errors are sticky: page_* calls record the first failure (allocation, the page's
 * size cap, a bad format, a required slot left NULL) and page_send reports it, so a
 * builder need not test every call. The page is freed by page_send or page_free.
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
#include "authd/ui/messages_gen.h"
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

/* The text of a message in a language (never NULL; static storage). The messages are
 * enum page_msg of authd/ui/messages_gen.h: PAGE_MSG_<ID> for each [id] of
 * authd/ui/messages.txt, and PAGE_MSG_NONE, the empty text. */
const char *page_msg(enum page_lang l, enum page_msg m);

/* The words for an ID number rejection (identity/idn/idnum.h enum idn_reason). */
const char *page_idn_reason(enum page_lang l, int idn_reason);

struct tpl_layout_keep;

/* A page being built. Fields are read-only for callers except where noted. */
struct page {
	struct yh_buf b;
	enum page_lang lang;
	bool set_lang_cookie;           /* the request had ?lang=: send yh_lang */
	bool https;                     /* cookies get Secure */
	char path[PAGE_PATH_MAX];       /* this page's path, for the switch link */
	char *next;                     /* `next` kept by the switch link (owned), or NULL */
	int loa;                        /* `loa` kept by the switch link when > 0 */
	const struct tpl_layout_keep *keep; /* more parameters the switch link keeps */
	size_t keep_n;                  /* (borrowed, see page_set_keep) */
	int err;                        /* the first error, or 0 */
	bool begun;
	char script_src[64];            /* page_allow_script: "'sha256-...'", or "" */
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

/*
 * Makes the switch link keep the n parameters of keep too (name and value, both
 * percent-encoded in the link), for a page whose own request lives in its query, such
 * as /authorize's organization choice. Borrowed: keep must outlive page_send.
 */
void page_set_keep(struct page *p, const struct tpl_layout_keep *keep, size_t n);

/* Writes the document head and the page header, and opens <main> with an <h1>
 * holding title (escaped). */
void page_begin(struct page *p, const char *title);

/* Appends markup (see the top of this file: %s arguments are escaped). */
void page_html(struct page *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends text, HTML-escaped. */
void page_text(struct page *p, const char *s);

/*
 * Appends <script>script</script> (script: this program's own, never request text) and
 * lets this page's Content-Security-Policy run exactly that script, by its SHA-256
 * ('sha256-...' in script-src); every other page runs none. One script per page.
 */
void page_script(struct page *p, const char *script);

/* ---- templates ---- */

/* What one operation of a compiled template does (tools/embed.py writes them). */
enum page_op {
	PAGE_OP_LIT = 0,      /* the template's bytes a .. a + b, as they are */
	PAGE_OP_TEXT,         /* the string slot at offset a, HTML-escaped */
	PAGE_OP_URL,          /* the string slot: a local path ("/x", not "//x"), escaped */
	PAGE_OP_PCT,          /* the string slot, percent-encoded (a URL's query) */
	PAGE_OP_INT,          /* the int slot at offset a */
	PAGE_OP_RAW,          /* the string slot: markup made by this program */
	PAGE_OP_MSG,          /* message a in the page's language, escaped */
	PAGE_OP_IF,           /* slot a absent: go on at op end */
	PAGE_OP_UNLESS,       /* slot a present: go on at op end */
	PAGE_OP_EACH,         /* the ops up to end for each item (array at a, count at b,
	                       * item size `size`) */
	PAGE_OP_BODY,         /* the layout's split: page_begin stops here, page_send goes on */
};

/* A slot's type, for IF and UNLESS: a string is present when not NULL nor empty, an int
 * when not 0, a bool when true, a list (its count, a size_t) when not empty. */
enum page_slot { PAGE_SLOT_STR = 1, PAGE_SLOT_INT, PAGE_SLOT_BOOL, PAGE_SLOT_SIZE };

struct page_tpl_op {
	unsigned char op;             /* enum page_op */
	unsigned char kind;           /* enum page_slot */
	bool item;                    /* the slot is a field of the current list item */
	bool required;                /* a NULL string is an error (used outside {{#it}}) */
	size_t a, b, end, size;       /* see enum page_op */
	const char *name;             /* the slot's name, for error messages */
};

/* A compiled template: its literal bytes, its operations, the size of its struct. */
struct page_tpl {
	const char *name;
	const char *text;
	const struct page_tpl_op *ops;
	size_t nops;
	size_t body;                  /* the index of PAGE_OP_BODY, or nops */
	size_t size;                  /* sizeof(struct tpl_NAME) */
};

/*
 * Appends template t filled with v (a struct tpl_NAME of t: call the typed
 * tpl_NAME_render of authd/ui/templates_gen.h instead) up to its body split, if any.
 * A required string slot that is NULL, a URL slot that is not a local path or a page
 * over its cap is a sticky error.
 */
void page_render(struct page *p, const struct page_tpl *t, const void *v);

/* Every template compiled in, for the tests (NULL-terminated). */
extern const struct page_tpl *const page_tpl_all[];

/*
 * Closes the layout and sets the response: status, text/html, the page CSP,
 * no-store, and the yh_lang cookie when asked. Frees the page. Returns 0 or the
 * sticky error (the response is then not set; return the error from the handler and
 * the server answers 500).
 */
int page_send(struct page *p, struct http_req *req, unsigned status) YH_WUR;

/* Frees the page without sending. NULL is fine. */
void page_free(struct page *p);

#define PAGE_FAVICON_PATH "/favicon.ico"
#define PAGE_FAVICON_MAX_AGE "604800"     /* seconds a browser may keep the icon */

/* GET /favicon.ico (an http_handler_fn; arg unused): the compiled-in site icon,
 * image/x-icon, cacheable for PAGE_FAVICON_MAX_AGE seconds. */
int page_favicon_get(struct http_req *req, void *arg);

/* The Content-Security-Policy every page carries (static storage). */
const char *page_csp(void);

/* Appends s to b HTML-escaped (& < > " ' and control bytes but tab/newline as
 * entities; invalid UTF-8 bytes replaced by U+FFFD). */
int page_escape(struct yh_buf *b, const char *s) YH_WUR;

/* ---- what an app receives ---- */

#define PAGE_CLAIMS_MAX 10           /* most claim lines page_claims gives */

/*
 * The claim lines of what an app receives with the scopes in bits (CLIENTS_SCOPE_* of
 * authcore/clients/clients.h), in the order the consent page shows them and in the
 * words both the consent page and the account page's list of allowed apps use
 * (PAGE_MSG_CLAIM_*): profile without phone is the name and the masked phone number;
 * the ID number only when id_number (the app may receive it). At most max into out;
 * returns how many.
 */
size_t page_claims(unsigned bits, bool id_number, enum page_msg *out, size_t max);

/* ---- the pages of the login family ---- */

#define PAGE_UPSTREAMS_MAX 16   /* upstream buttons on the login form */

/* One upstream identity provider's button on the login form (strings borrowed). */
struct page_upstream_button {
	const char *path;    /* /login/upstream/NAME */
	const char *name;    /* its display name in the page's language */
};

/* The login form: username (prefilled with username, may be NULL), password, csrf,
 * next; error (may be NULL) in an alert box above it; app (NULL or "": none) named as
 * where the login leads; the nups buttons ups ("使用 NAME 登录", each carrying next);
 * with ldap, the hint that department staff may type DEPARTMENT\\account; links to
 * /register and to the account recovery page. */
void page_login_form(struct page *p, const char *csrf, const char *next, const char *username,
    const char *error, const char *app, const struct page_upstream_button *ups,
    size_t nups, bool ldap);

/* The TOTP step-up form: code, csrf, next, loa. */
void page_totp_form(struct page *p, const char *csrf, const char *next, int loa,
    const char *error);

/* What the registration form shows again after an error (NULL fields are empty). */
struct page_reg_values {
	const char *name, *id_number, *phone;
	bool agree, consent_id;       /* the person's own ticks on the form sent back */
	const char *notice, *notice_version;   /* the privacy notice in force (required) */
	bool sms;                     /* SMS codes verify the phone: the code field and the
	                               * button that sends one */
	const char *sms_notice;       /* what became of a request for a code, or NULL */
	int sms_wait_s;               /* seconds before another code may be asked for */
};

/* Per-field error messages (NULL: none). */
struct page_reg_errors {
	const char *name, *id_number, *phone, *password, *password2, *agree, *consent_id,
	    *sms_code, *form;
};

/* The registration form: name, id_number, phone, password, password2, the privacy
 * notice with the general agreement and the separate consent for the ID number, csrf,
 * next. */
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
