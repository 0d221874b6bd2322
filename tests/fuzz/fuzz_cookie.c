/*
 * libFuzzer target for what authd does with the cookies a browser sends: which cookie
 * page_cookie picks (the __Host- name over HTTPS, the plain one over HTTP), and the
 * readers of their values: the session cookie (the token decoder of authd/session/sess.c,
 * through sess_get and sess_refresh_peek on a memory store), the CSRF cookie
 * (csrf_cookie_ok, csrf_token_check) and the language cookie (page_lang_of, with the
 * query, ui_locales, next and Accept-Language it is weighed against).
 *
 * libmicrohttpd splits the Cookie header; page_cookie and page_lang_of (authd/ui/pages.c)
 * read the result through http_req_cookie, http_req_query, http_req_header and
 * http_req_is_https. pages.c is compiled into this target (its archive member is then
 * not linked) with those four renamed to stubs that read a request made from the input.
 *
 * At start a memory store gets one session and one refresh-token family.
 *
 * Input: byte 0 bit 0 says HTTPS; the rest is the request, one item per line: "NAME=VALUE"
 * a cookie, "?NAME=VALUE" a query parameter, ":NAME=VALUE" a header (at most 16 of
 * each). A line "=T" or "=R" stands for a cookie value equal to the live session token
 * or refresh token (so the accepting paths are reached), and a cookie line without '='
 * is a cookie name of its own, asked for through page_cookie.
 *
 * Invariants checked, beyond "no crash, no leak":
 *   - page_cookie(name) returns the cookie named "__Host-" name over HTTPS and name over
 *     HTTP (NULL when there is none), never another one, and NULL for a name with bytes
 *     other than [A-Za-z0-9_-] or longer than 32 bytes;
 *   - a session cookie finds the session only when it is the session's token byte for
 *     byte, likewise a refresh token its family (a one-byte change never does);
 *   - csrf_cookie_ok accepts exactly the canonical base64url of 32 bytes, and a CSRF
 *     token checks only for its own cookie;
 *   - the language is the documented choice: lang parameter > yh_lang cookie >
 *     ui_locales > Accept-Language > zh-CN, where the cookie counts when it is a whole
 *     supported tag.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"

#include "authd/http/http.h"

/* pages.c reads the request through these stubs. */
const char *fuzz_req_cookie(struct http_req *req, const char *name);
bool fuzz_req_is_https(const struct http_req *req);
int fuzz_req_query(struct http_req *req, const char *name, size_t max, const char **out);
const char *fuzz_req_header(struct http_req *req, const char *name);
#define http_req_cookie fuzz_req_cookie
#define http_req_is_https fuzz_req_is_https
#define http_req_query fuzz_req_query
#define http_req_header fuzz_req_header
#include "authd/ui/pages.c"
#undef http_req_cookie
#undef http_req_is_https
#undef http_req_query
#undef http_req_header

#include "authd/keyd/keys.h"
#include "authd/ui/csrf.h"
#include "authd/login/login.h"
#include "authd/session/sess.h"
#include "common/b64.h"
#include "common/log.h"
#include "common/secmem.h"

#define INPUT_MAX 8192
#define ITEMS_MAX 16

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the request the stubs read ---------------------------------------------------------- */

struct item {
	const char *name, *value;
};

static struct {
	bool https;
	struct item cookies[ITEMS_MAX], query[ITEMS_MAX], headers[ITEMS_MAX];
	size_t ncookies, nquery, nheaders;
	const char *asked[ITEMS_MAX];        /* cookie names to ask page_cookie for */
	size_t nasked;
} rq;

static const char *
find(const struct item *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return v[i].value;
	return NULL;
}

const char *
fuzz_req_cookie(struct http_req *req, const char *name)
{
	(void)req;
	return find(rq.cookies, rq.ncookies, name);
}

bool
fuzz_req_is_https(const struct http_req *req)
{
	(void)req;
	return rq.https;
}

int
fuzz_req_query(struct http_req *req, const char *name, size_t max, const char **out)
{
	const char *v = find(rq.query, rq.nquery, name);

	(void)req;
	*out = NULL;
	if (v == NULL)
		return YH_ERR_NOT_FOUND;
	if (strlen(v) > max)
		return YH_ERR_TOO_LONG;
	*out = v;
	return 0;
}

const char *
fuzz_req_header(struct http_req *req, const char *name)
{
	(void)req;
	return find(rq.headers, rq.nheaders, name);
}

/* ---- the store ------------------------------------------------------------------------------ */

static struct sess_store *store;
static char session_token[SESS_TOKEN_SIZE], refresh_token[SESS_TOKEN_SIZE];
static struct keys *csrf_keys;     /* the CSRF MAC over a fixed subject key */
static const char csrf_fixed[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

static void
cleanup(void)
{
	sess_close(store);
	store = NULL;
	keys_free(csrf_keys);
	csrf_keys = NULL;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const unsigned char subject[32] = "fuzz-cookie-subject-key-32-bytes";
	static const char *const amr[] = { "pwd" };
	struct sess_config c;
	struct sess_auth a = { .uid = "0123456789abcdef0123456789abcdef", .loa = 2, .amr = amr,
		.namr = 1, .ua = "fuzz", .addr = "127.0.0.1" };
	struct sess_family fam;

	(void)argc;
	(void)argv;
	yh_log_set_level(YH_LOG_OFF);
	sess_config_defaults(&c);
	c.sweep_interval_ms = 0;
	CHECK(sess_open(&c, &store) == 0);
	atexit(cleanup);
	CHECK(sess_create(store, &a, session_token, NULL) == 0);
	memset(&fam, 0, sizeof(fam));
	snprintf(fam.uid, sizeof(fam.uid), "%s", a.uid);
	snprintf(fam.client_id, sizeof(fam.client_id), "rp");
	CHECK(sess_refresh_new(store, &fam, "{}", 3600, refresh_token) == 0);
	CHECK(keys_local_new(subject, NULL, &csrf_keys) == 0);
	return 0;
}

/* ---- the readers ----------------------------------------------------------------------------- */

static bool
name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > PAGE_COOKIE_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		    (name[i] >= '0' && name[i] <= '9') || name[i] == '_' || name[i] == '-'))
			return false;
	return true;
}

/* page_cookie picks the cookie of the name authd gives it on this request. */
static const char *
check_pick(const char *name)
{
	char full[64];
	const char *got = page_cookie(NULL, name);

	if (!name_ok(name)) {
		CHECK(got == NULL);
		return NULL;
	}
	snprintf(full, sizeof(full), "%s%s", rq.https ? PAGE_COOKIE_HOST_PREFIX : "", name);
	CHECK(got == find(rq.cookies, rq.ncookies, full));
	return got;
}

static void
check_session(const char *v)
{
	struct sess_info info;
	struct sess_family fam;
	char *payload = NULL;
	int r;

	if (v == NULL)
		return;
	r = sess_get(store, v, 0, &info);
	CHECK(strcmp(v, session_token) == 0 ? r == 0 : r == YH_ERR_NOT_FOUND);
	r = sess_refresh_peek(store, v, &fam, &payload);
	CHECK(strcmp(v, refresh_token) == 0 ? r == 0 && payload != NULL :
	    r == YH_ERR_NOT_FOUND && payload == NULL);
	free(payload);
}

static void
check_csrf(const char *v)
{
	unsigned char raw[64];
	char again[96], tok[CSRF_TOKEN_SIZE];
	size_t n = 0;
	bool canonical;

	if (v == NULL)
		return;
	canonical = strlen(v) == 43 && yh_b64url_decode(v, 43, raw, sizeof(raw), &n) == 0 &&
	    n == 32;
	if (canonical) {
		yh_b64url_encode(raw, 32, again);
		canonical = strcmp(again, v) == 0;
	}
	CHECK(csrf_cookie_ok(v) == canonical);
	CHECK(csrf_token_make(csrf_keys, CSRF_BIND_PRE, csrf_fixed, "login", tok) == 0);
	CHECK((csrf_token_check(csrf_keys, CSRF_BIND_PRE, v, "login", tok) == 0) ==
	    (strcmp(v, csrf_fixed) == 0));
}

/* A whole supported tag, as the cookie and the lang parameter must be. */
static bool
whole_tag(const char *s, enum page_lang *l)
{
	return s != NULL && page_lang_parse(s, strlen(s), l) == 0;
}

static void
check_lang(const char *cookie)
{
	const char *lang = find(rq.query, rq.nquery, "lang");
	enum page_lang got = page_lang_of(NULL), want;

	CHECK(got == PAGE_LANG_ZH || got == PAGE_LANG_EN);
	if (lang != NULL && strlen(lang) <= 35 && whole_tag(lang, &want))
		CHECK(got == want);
	else if ((lang == NULL || !whole_tag(lang, &want)) && cookie != NULL &&
	    strlen(cookie) <= 35 && whole_tag(cookie, &want))
		CHECK(got == want);
	else if (lang == NULL && cookie == NULL && find(rq.query, rq.nquery, "ui_locales") == NULL &&
	    find(rq.query, rq.nquery, "next") == NULL &&
	    find(rq.headers, rq.nheaders, "Accept-Language") == NULL)
		CHECK(got == PAGE_LANG_ZH);
}

/* ---- input ------------------------------------------------------------------------------------ */

static void
add(struct item *v, size_t *n, const char *name, const char *value)
{
	if (*n < ITEMS_MAX) {
		v[*n].name = name;
		v[*n].value = value;
		(*n)++;
	}
}

static void
parse(char *text)
{
	char *line = text, *next, *eq;

	while (line != NULL) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (line[0] == '?' && (eq = strchr(line, '=')) != NULL) {
			*eq = '\0';
			add(rq.query, &rq.nquery, line + 1, eq + 1);
		} else if (line[0] == ':' && (eq = strchr(line, '=')) != NULL) {
			*eq = '\0';
			add(rq.headers, &rq.nheaders, line + 1, eq + 1);
		} else if ((eq = strchr(line, '=')) != NULL) {
			*eq = '\0';
			add(rq.cookies, &rq.ncookies, line, strcmp(eq + 1, "T") == 0 ? session_token :
			    strcmp(eq + 1, "R") == 0 ? refresh_token : eq + 1);
		} else if (rq.nasked < ITEMS_MAX)
			rq.asked[rq.nasked++] = line;
		line = next;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[INPUT_MAX + 1];

	if (size < 1 || size - 1 > INPUT_MAX)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (memchr(text, '\0', size - 1) != NULL)
		return 0;                   /* cookie names and values reach authd as C strings */
	memset(&rq, 0, sizeof(rq));
	rq.https = (data[0] & 1) != 0;
	parse(text);
	check_session(check_pick(LOGIN_SID_COOKIE));
	check_csrf(check_pick(CSRF_COOKIE));
	check_lang(check_pick(PAGE_LANG_COOKIE));
	for (size_t i = 0; i < rq.nasked; i++)
		check_session(check_pick(rq.asked[i]));
	/* every cookie value through every reader, whatever its name */
	for (size_t i = 0; i < rq.ncookies; i++) {
		check_session(rq.cookies[i].value);
		check_csrf(rq.cookies[i].value);
	}
	return 0;
}
