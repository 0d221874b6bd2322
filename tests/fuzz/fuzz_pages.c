/*
 * libFuzzer target for what the login pages do with request text (authd/ui/pages.h,
 * authd/login/login.h, authd/ui/csrf.h, identity/totp.h): HTML escaping and the page builder,
 * language negotiation (lang, yh_lang, ui_locales, Accept-Language), percent-encoding,
 * the `next` rule, CSRF cookies and tokens, and typed TOTP codes.
 *
 * Input: byte 0 picks the function (modulo FUZZ_MODES), the rest is the text (several
 * fields separated by '\n' where a function takes several).
 *
 * Invariants checked, beyond "no crash":
 *   - escaped text has no raw < > " ' and every & starts one of the five entities; no
 *     control byte but tab and newline; valid UTF-8;
 *   - a page built with fuzzed text in every slot (title, alert, username, csrf, next),
 *     and a template compiled in (the text's first byte picks which) with fuzzed text
 *     in each of its text, query and URL slots, has exactly as many < > " ' and bare &
 *     as the same page built with 'x's of the same lengths: request text never adds
 *     markup;
 *   - the language follows the documented priority (lang > cookie > ui_locales >
 *     Accept-Language > zh-CN);
 *   - an accepted `next` is "/authorize?...", "/cas/login?...", "/account",
 *     "/account?...", "/counter", "/admin", "/device" or "/device?...", printable ASCII
 *     without space or backslash, at most LOGIN_NEXT_MAX bytes;
 *   - percent-encoding decodes back to the input;
 *   - a CSRF token checks only for its own cookie and purpose;
 *   - a TOTP code is accepted only when its digits (ASCII or full-width) are the code of
 *     a step within the window.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authd/keyd/keys.h"
#include "authd/ui/csrf.h"
#include "authd/http/http.h"
#include "authd/login/login.h"
#include "authd/ui/pages.h"
#include "authd/ui/templates_gen.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/utf8.h"
#include "common/url.h"
#include "identity/totp.h"
#include "tests/unit/tpl_fill.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

#define INPUT_MAX 8192
#define TOTP_NOW 1700000000LL

enum fuzz_mode { M_ESCAPE = 0, M_LANG, M_NEXT, M_TOTP, M_CSRF, M_PCT, M_PAGE, FUZZ_MODES };

static const unsigned char totp_seed[TOTP_SEED_BYTES] = "12345678901234567890";
static const char cookie_fixed[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	yh_log_set_level(YH_LOG_OFF);
	return 0;
}

/* ---- escaping -------------------------------------------------------------------------- */

static bool
entity_at(const char *s)
{
	static const char *const ents[] = { "&amp;", "&lt;", "&gt;", "&quot;", "&#39;" };

	for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]); i++)
		if (strncmp(s, ents[i], strlen(ents[i])) == 0)
			return true;
	return false;
}

static void
fuzz_escape(const char *s)
{
	struct yh_buf b;
	const char *o;

	yh_buf_init(&b, 8 * INPUT_MAX + 16);
	CHECK(page_escape(&b, s) == 0);
	o = yh_buf_cstr(&b);
	CHECK(strlen(o) == b.len && yh_utf8_valid(o, b.len));
	for (size_t i = 0; i < b.len; i++) {
		unsigned char c = (unsigned char)o[i];

		CHECK(c != '<' && c != '>' && c != '"' && c != '\'');
		CHECK(c >= 0x20 || c == '\t' || c == '\n');
		CHECK(c != 0x7f);
		if (c == '&')
			CHECK(entity_at(o + i));
	}
	yh_buf_free(&b);
}

/* ---- the page builder ------------------------------------------------------------------- */

struct marks {
	size_t lt, gt, quot, apos, amp;
};

static void
count_marks(const char *s, size_t n, struct marks *m)
{
	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '<': m->lt++; break;
		case '>': m->gt++; break;
		case '"': m->quot++; break;
		case '\'': m->apos++; break;
		case '&': m->amp += !entity_at(s + i); break;
		default: break;
		}
	}
}

/* Builds the login page (and a TOTP form) with s in every slot; 0 or the sticky error.
 * The text is in *out (free it). */
static int
render(enum page_lang lang, const char *s, char **out, size_t *len)
{
	struct page p;
	int r;

	*out = NULL;
	page_init_lang(&p, lang, false, "/login");
	page_set_next(&p, s);
	page_begin(&p, s);
	page_html(&p, "<p class=\"note\">%s %d %s</p>\n", s, 7, s);
	page_text(&p, s);
	tpl_error_render(&p, &(struct tpl_error){ .alert = s });
	page_login_form(&p, s, s, s, s, s, (const struct page_upstream_button[]){
	    { .path = "/login/upstream/x", .name = s } }, 1, s[0] != '\0');
	page_totp_form(&p, s, s, 3, s);
	if ((r = p.err) == 0) {
		*len = p.b.len;
		r = (*out = yh_buf_steal(&p.b)) != NULL ? 0 : YH_ERR_ALLOC;
	}
	page_free(&p);
	return r;
}

/* Template t filled with text in every text and query slot and "/" + text in every URL
 * slot (tests/unit/tpl_fill.h); 0 or the sticky error, the page in *out (free it). */
static int
render_tpl(const struct page_tpl *t, enum page_lang lang, bool on, const char *text,
    char **out, size_t *len)
{
	struct tpl_fill_with w = { text, NULL, "", on };
	struct tpl_fill f;
	struct page p;
	char *url;
	int r;

	*out = NULL;
	CHECK((url = malloc(strlen(text) + 2)) != NULL);
	url[0] = '/';
	memcpy(url + 1, text, strlen(text) + 1);
	w.url = url;
	CHECK(tpl_fill(t, &w, &f) == 0);
	page_init_lang(&p, lang, false, "/t");
	page_render(&p, t, f.v);
	if ((r = p.err) == 0) {
		*len = p.b.len;
		r = (*out = yh_buf_steal(&p.b)) != NULL ? 0 : YH_ERR_ALLOC;
	}
	page_free(&p);
	tpl_fill_free(&f);
	free(url);
	return r;
}

/* The marks of a and b (two renderings) are the same when both rendered. */
static void
same_marks(int ra, const char *a, size_t la, int rb, const char *b, size_t lb)
{
	struct marks ma, mb;

	if (ra != 0 || rb != 0)
		return;
	CHECK(yh_utf8_valid(a, la));
	count_marks(a, la, &ma);
	count_marks(b, lb, &mb);
	CHECK(ma.lt == mb.lt && ma.gt == mb.gt && ma.quot == mb.quot &&
	    ma.apos == mb.apos && ma.amp == mb.amp);
}

static void
fuzz_page(unsigned sel, const char *s)
{
	size_t n = strlen(s), la = 0, lb = 0;
	char *x, *a = NULL, *b = NULL;
	enum page_lang lang = (sel & 1) ? PAGE_LANG_EN : PAGE_LANG_ZH;
	const struct page_tpl *t;
	size_t ntpl = 0;
	int ra, rb;

	while (page_tpl_all[ntpl] != NULL)
		ntpl++;

	CHECK((x = malloc(n + 1)) != NULL);
	memset(x, 'x', n);
	x[n] = '\0';
	ra = render(lang, s, &a, &la);
	rb = render(lang, x, &b, &lb);
	same_marks(ra, a, la, rb, b, lb);
	free(a);
	free(b);
	/* One template per input, the one the text's first byte names: rendering all of
	 * them for every input made this mode a hundred times slower than the others. */
	if (n > 0) {
		t = page_tpl_all[(unsigned char)s[0] % ntpl];
		ra = render_tpl(t, lang, (sel & 2) != 0, s + 1, &a, &la);
		rb = render_tpl(t, lang, (sel & 2) != 0, x + 1, &b, &lb);
		same_marks(ra, a, la, rb, b, lb);
		free(a);
		free(b);
	}
	free(x);
}

/* ---- language ------------------------------------------------------------------------------ */

/* "zh..." / "en..." by page_lang_parse rules, for a whole field. */
static int
whole(const char *s, enum page_lang *l)
{
	size_t n = strlen(s);

	if (n > 35)
		return -1;
	return page_lang_parse(s, n, l);
}

static void
fuzz_lang(char *s)
{
	char *f[4] = { NULL, NULL, NULL, NULL }, *p = s;
	enum page_lang got, want, l;

	for (int i = 0; i < 4 && p != NULL; i++) {
		f[i] = p;
		if ((p = strchr(p, '\n')) != NULL)
			*p++ = '\0';
	}
	/* single tags: a supported one starts with zh or en, then - or _ or its end */
	if (page_lang_parse(s, strlen(s), &l) == 0) {
		CHECK(strncasecmp(s, l == PAGE_LANG_ZH ? "zh" : "en", 2) == 0);
		CHECK(s[2] == '\0' || s[2] == '-' || s[2] == '_');
	}
	got = page_lang_negotiate(f[0], f[1], f[2], f[3]);
	CHECK(got == PAGE_LANG_ZH || got == PAGE_LANG_EN);
	if (f[0] != NULL && whole(f[0], &want) == 0)
		CHECK(got == want);
	else if (f[1] != NULL && whole(f[1], &want) == 0)
		CHECK(got == want);
	/* each source alone */
	if (f[2] != NULL && strlen(f[2]) <= 256) {
		struct yh_span sp = yh_span_cstr(f[2]), tok;
		bool found = false;

		while (!found && yh_span_split(&sp, ' ', &tok) == 0)
			found = page_lang_parse(tok.p, tok.len, &want) == 0;
		if (found)
			CHECK(page_lang_negotiate(NULL, NULL, f[2], NULL) == want);
	}
	if (f[3] != NULL)
		(void)page_lang_negotiate(NULL, NULL, NULL, f[3]);
}

/* ---- next ---------------------------------------------------------------------------------- */

static void
fuzz_next(const char *s)
{
	size_t n = strlen(s);
	bool want = n <= LOGIN_NEXT_MAX;
	const char *pick;

	for (size_t i = 0; want && i < n; i++)
		want = (unsigned char)s[i] > 0x20 && (unsigned char)s[i] < 0x7f && s[i] != '\\';
	want = want && (strncmp(s, "/authorize?", 11) == 0 || strncmp(s, "/cas/login?", 11) == 0 ||
	    strcmp(s, "/account") == 0 || strncmp(s, "/account?", 9) == 0 ||
	    strcmp(s, "/counter") == 0 || strcmp(s, "/admin") == 0 ||
	    strcmp(s, "/device") == 0 || strncmp(s, "/device?", 8) == 0);
	CHECK(login_next_ok(s) == want);
	pick = login_next_pick(s);
	CHECK(want ? pick == s : strcmp(pick, LOGIN_NEXT_DEFAULT) == 0);
}

/* ---- TOTP ----------------------------------------------------------------------------------- */

/* The digits of a typed code (ASCII, or full-width U+FF10..U+FF19), at most 16. */
static size_t
code_digits(const char *s, char *out, size_t outsz)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;

	for (size_t i = 0; p[i] != '\0'; i++) {
		char d = 0;

		if (p[i] >= '0' && p[i] <= '9')
			d = (char)p[i];
		else if (p[i] == 0xEF && p[i + 1] == 0xBC && p[i + 2] >= 0x90 && p[i + 2] <= 0x99) {
			d = (char)('0' + (p[i + 2] - 0x90));
			i += 2;
		}
		if (d != 0 && n + 1 < outsz)
			out[n++] = d;
	}
	out[n] = '\0';
	return n;
}

static void
fuzz_totp(const char *s)
{
	int64_t step = -1, base = totp_step_of(TOTP_NOW);
	char digits[17], want[TOTP_CODE_MAX + 1];
	int r = totp_check(totp_seed, sizeof(totp_seed), TOTP_NOW, s, &step);

	if (r != 0) {
		CHECK(r == YH_ERR_AUTH || r == YH_ERR_INVALID);
		return;
	}
	CHECK(step >= base - TOTP_WINDOW && step <= base + TOTP_WINDOW);
	CHECK(code_digits(s, digits, sizeof(digits)) == TOTP_DIGITS);
	CHECK(totp_generate(totp_seed, sizeof(totp_seed), step * TOTP_STEP_S, TOTP_DIGITS,
	    want, sizeof(want)) == 0);
	CHECK(strcmp(digits, want) == 0);
}

/* ---- CSRF ----------------------------------------------------------------------------------- */

static void
fuzz_csrf(const char *s)
{
	static const unsigned char subject[32] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	static struct keys *key;   /* over subject; lives as long as the fuzzer */
	char tok[CSRF_TOKEN_SIZE];
	static const char b64u[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t n = strlen(s);
	bool syntax = n == 43;

	/* 43 base64url characters for 32 bytes: the last one carries 4 bits and 2 zero
	 * padding bits (a strict decoder refuses other values) */
	for (size_t i = 0; syntax && i < n; i++)
		syntax = strchr(b64u, s[i]) != NULL;
	syntax = syntax && (strchr(b64u, s[42]) - b64u) % 4 == 0;
	CHECK(csrf_cookie_ok(s) == syntax);
	if (key == NULL)
		CHECK(keys_local_new(subject, NULL, &key) == 0);
	/* s as a token for a fixed cookie: never valid unless it is that cookie's token */
	CHECK(csrf_token_make(key, CSRF_BIND_PRE, cookie_fixed, "login", tok) == 0);
	CHECK((csrf_token_check(key, CSRF_BIND_PRE, cookie_fixed, "login", s) == 0) ==
	    (strcmp(s, tok) == 0));
	/* s as a cookie */
	if (csrf_token_make(key, CSRF_BIND_PRE, s, "login", tok) == 0) {
		CHECK(syntax);
		CHECK(csrf_token_check(key, CSRF_BIND_PRE, s, "login", tok) == 0);
		CHECK(csrf_token_check(key, CSRF_BIND_PRE, s, "totp", tok) == YH_ERR_DENIED);
		CHECK(strcmp(s, cookie_fixed) == 0 ||
		    csrf_token_check(key, CSRF_BIND_PRE, cookie_fixed, "login", tok) == YH_ERR_DENIED);
	} else
		CHECK(!syntax);
	/* s as a purpose */
	if (n >= 1 && n <= CSRF_PURPOSE_MAX &&
	    csrf_token_make(key, CSRF_BIND_PRE, cookie_fixed, s, tok) == 0)
		CHECK(csrf_token_check(key, CSRF_BIND_PRE, cookie_fixed, s, tok) == 0);
	/* s as a session key: a token for it never passes for a pre-session cookie */
	if (csrf_token_make(key, CSRF_BIND_SESSION, s, "account", tok) == 0) {
		CHECK(n == 64 && strspn(s, "0123456789abcdef") == 64);
		CHECK(csrf_token_check(key, CSRF_BIND_SESSION, s, "account", tok) == 0);
		CHECK(csrf_token_check(key, CSRF_BIND_PRE, cookie_fixed, "account", tok) ==
		    YH_ERR_DENIED);
	}
}

/* ---- percent-encoding --------------------------------------------------------------------- */

static void
fuzz_pct(const char *s)
{
	struct yh_buf b;
	char *dec = NULL;

	yh_buf_init(&b, 3 * INPUT_MAX + 16);
	CHECK(yh_buf_puts(&b, "v=") == 0);
	CHECK(yh_url_pct_encode(&b, s) == 0);
	for (size_t i = 2; i < b.len; i++)
		CHECK(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%",
		    b.data[i]) != NULL);
	CHECK(http_form_get(yh_span_mem(b.data, b.len), "v", INPUT_MAX, &dec) == 0);
	CHECK(strcmp(dec, s) == 0);
	free(dec);
	yh_buf_free(&b);
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
		return 0;                  /* request text reaches these as C strings */
	switch ((enum fuzz_mode)(data[0] % FUZZ_MODES)) {
	case M_ESCAPE: fuzz_escape(text); break;
	case M_LANG: fuzz_lang(text); break;
	case M_NEXT: fuzz_next(text); break;
	case M_TOTP: fuzz_totp(text); break;
	case M_CSRF: fuzz_csrf(text); break;
	case M_PCT: fuzz_pct(text); break;
	case M_PAGE: fuzz_page(data[0] / FUZZ_MODES, text); break;
	default: break;
	}
	return 0;
}
