/*
 * Unit tests for the login family: page escaping and layout, language negotiation,
 * CSRF tokens, the `next` rule and the LoA policy; then the pages over real HTTP: a
 * server on a free loopback port with the login routes, an in-memory session store, a
 * directory and an audit trail in a temporary state directory, driven by libcurl (with
 * its cookie engine, like a browser): login with CSRF, session id rotation, lockout
 * after 5 failures (known and unknown users alike) with audit lines, or as configured
 * (login.max_failures, login.max_failures_per_address, login.failure_window and
 * login.lockout), missing and wrong CSRF tokens, languages, registration without
 * enumeration, TOTP step-up and replay.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "authcore/audit/audit.h"
#include "authcore/authd_config.h"
#include "authd/ui/csrf.h"
#include "authd/http/http.h"
#include "authd/login/login.h"
#include "authd/ui/pages.h"
#include "authd/ui/templates_gen.h"
#include "authd/ui/ua.h"
#include "authd/app.h"
#include "authd/keyd/keys.h"
#include "authd/session/sess.h"
#include "common/b64.h"
#include "common/workers.h"
#include "common/config.h"
#include "common/secmem.h"
#include "common/timeutil.h"
#include "identity/dir/dir.h"
#include "identity/identity.h"
#include "identity/idn/idnum.h"
#include "identity/passwd/passwd.h"
#include "identity/totp.h"
#include "tests/unit/tpl_fill.h"

/* ---- the User-Agent summary -------------------------------------------------------- */

/* Real headers of the browsers people use, and what the account page says of them
 * (NULL: the neutral word for an unknown family). */
static void
test_ua_summary(void **state)
{
	static const struct { const char *ua, *browser, *os; } t[] = {
		{ "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
		  "Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome", "Windows" },
		{ "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
		  "Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86", "Edge", "Windows" },
		{ "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 "
		  "Firefox/133.0", "Firefox", "Windows" },
		{ "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 "
		  "(KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1", "Safari",
		  "iPhone" },
		{ "Mozilla/5.0 (iPad; CPU OS 16_7_10 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
		  "like Gecko) Version/16.6 Mobile/15E148 Safari/604.1", "Safari", "iPad" },
		{ "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
		  "(KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1", "Chrome",
		  "iPhone" },
		{ "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, "
		  "like Gecko) Version/18.1 Safari/605.1.15", "Safari", "macOS" },
		{ "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, "
		  "like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome", "macOS" },
		{ "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
		  "Chrome/131.0.0.0 Mobile Safari/537.36", "Chrome", "Android" },
		{ "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like "
		  "Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
		  "Samsung Internet", "Android" },
		{ "Mozilla/5.0 (Linux; Android 12; PGKM10 Build/SP1A.210812.016; wv) "
		  "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/86.0.4240.99 XWEB/"
		  "4317 MMWEBSDK/20220903 Mobile Safari/537.36 MMWEBID/6294 MicroMessenger/"
		  "8.0.28.2240(0x28001C35) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/"
		  "arm64", "WeChat", "Android" },
		{ "Mozilla/5.0 (iPhone; CPU iPhone OS 16_1 like Mac OS X) AppleWebKit/605.1.15 "
		  "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.30(0x18001e31) "
		  "NetType/WIFI Language/zh_CN", "WeChat", "iPhone" },
		{ "Mozilla/5.0 (Linux; U; Android 11; zh-CN; V2036A Build/RP1A.200720.012) "
		  "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/78.0.3904.108 "
		  "UCBrowser/15.1.6.1206 Mobile Safari/537.36", "UC Browser", "Android" },
		{ "Mozilla/5.0 (Linux; U; Android 10; zh-cn; MI 9 Build/QKQ1.190825.002) "
		  "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/89.0.4389.116 "
		  "Mobile Safari/537.36 XiaoMi/MiuiBrowser/16.3.9", "Mi Browser", "Android" },
		{ "Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) "
		  "Chrome/86.0.4240.198 Safari/537.36 Core/1.94.186.400 QQBrowser/11.0.5130.400",
		  "QQ Browser", "Windows" },
		{ "Mozilla/5.0 (Linux; Android 12; HarmonyOS; NOH-AL00; HMSCore 6.11.0.302) "
		  "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0.4844.88 HuaweiBrowser/"
		  "14.0.1.300 Mobile Safari/537.36", "Huawei Browser", "HarmonyOS" },
		{ "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
		  "Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0", "Opera", "Linux" },
		{ "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like "
		  "Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome", "ChromeOS" },
		{ "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko",
		  "Internet Explorer", "Windows" },
		/* The old Android browser says Version/ and Safari/: not Safari. */
		{ "Mozilla/5.0 (Linux; U; Android 4.0.3; ko-kr; LG-L160L Build/IML74K) "
		  "AppleWebkit/534.30 (KHTML, like Gecko) Version/4.0 Mobile Safari/534.30",
		  NULL, "Android" },
		{ "curl/8.11.0", NULL, NULL },
		{ "", NULL, NULL },
		{ NULL, NULL, NULL },
	};
	char big[3 * UA_SCAN_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct ua_summary s = ua_summarize(t[i].ua);

		if (t[i].browser == NULL)
			assert_null(s.browser);
		else
			assert_string_equal(s.browser, t[i].browser);
		if (t[i].os == NULL)
			assert_null(s.os);
		else
			assert_string_equal(s.os, t[i].os);
	}
	/* Only the first UA_SCAN_MAX bytes are read: a token past them is not seen. */
	memset(big, 'x', sizeof(big));
	memcpy(big + 2 * UA_SCAN_MAX, "Windows Firefox/1", 17);
	big[sizeof(big) - 1] = '\0';
	assert_null(ua_summarize(big).browser);
	assert_null(ua_summarize(big).os);
	memcpy(big, "Windows Firefox/1", 17);
	assert_string_equal(ua_summarize(big).browser, "Firefox");
	assert_string_equal(ua_summarize(big).os, "Windows");
}

/* ---- escaping and layout ---------------------------------------------------------- */

static char *
escaped(const char *s)
{
	struct yh_buf b;

	yh_buf_init(&b, 4096);
	assert_int_equal(page_escape(&b, s), 0);
	return yh_buf_steal(&b);
}

static void
test_escape(void **state)
{
	char *e;

	(void)state;
	e = escaped("<script>alert('x')</script> & \"q\"");
	assert_string_equal(e, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
	free(e);
	e = escaped("张三·阿依古丽");
	assert_string_equal(e, "张三·阿依古丽");
	free(e);
	/* Invalid UTF-8 (a lone continuation byte, an overlong '/', a surrogate) and control
	 * bytes become U+FFFD; tab and newline stay. */
	e = escaped("a\x80" "b\xc0\xaf" "c\xed\xa0\x80" "d\x01\x7f\te\n");
	assert_string_equal(e, "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd"
	    "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "d\xef\xbf\xbd\xef\xbf\xbd\te\n");
	free(e);
	e = escaped(NULL);
	assert_string_equal(e, "");
	free(e);
}

/* Random bytes through the parsers of untrusted input (the ASan build checks memory):
 * escaped output never holds markup characters; negotiation always gives a language. */
static void
test_random_input(void **state)
{
	unsigned char raw[96];
	char s[97];

	(void)state;
	for (int i = 0; i < 3000; i++) {
		size_t n;
		char *e;

		assert_int_equal(yh_random(raw, sizeof(raw)), 0);
		n = raw[0] % sizeof(raw);
		for (size_t k = 0; k < n; k++) {
			/* Bias towards the characters the parsers care about. */
			static const char interesting[] = "enzh-_;q=0.,* <>&\"'\xe4\xb8\x80";
			s[k] = (raw[k] & 1) ? interesting[raw[k] % (sizeof(interesting) - 1)] :
			    (char)(raw[k] | 1);
		}
		s[n] = '\0';
		e = escaped(s);
		assert_null(strpbrk(e, "<>\"'"));
		free(e);
		enum page_lang l = page_lang_negotiate(s, s, s, s);
		assert_true(l == PAGE_LANG_ZH || l == PAGE_LANG_EN);
		l = page_lang_negotiate(NULL, NULL, NULL, s);
		assert_true(l == PAGE_LANG_ZH || l == PAGE_LANG_EN);
		assert_int_not_equal(totp_check((const unsigned char *)"12345678901234567890", 20,
		    1234567890, s, NULL), 0);
	}
}

static void
test_page_html(void **state)
{
	struct page p;
	const char *evil = "\"><script>alert(1)</script>";

	(void)state;
	page_init_lang(&p, PAGE_LANG_ZH, false, "/login");
	page_set_next(&p, "/authorize?client_id=a&x=\"<b>");
	page_begin(&p, "标题 <i>");
	page_html(&p, "<p title=\"%s\">%d %u %zu %%</p>", evil, -3, 7u, (size_t)9);
	page_login_form(&p, "tok", "/account", evil, evil, evil, (const struct
	    page_upstream_button[]){ { .path = "/login/upstream/province", .name = evil } }, 1,
	    false);
	assert_int_equal(p.err, 0);
	const char *html = yh_buf_cstr(&p.b);
	assert_null(strstr(html, "<script>"));
	assert_null(strstr(html, "<i>"));
	assert_null(strstr(html, "<b>"));
	assert_non_null(strstr(html, "<html lang=\"zh-CN\">"));
	assert_non_null(strstr(html, "<h1>标题 &lt;i&gt;</h1>"));
	assert_non_null(strstr(html, "title=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\">"
	    "-3 7 9 %</p>"));
	assert_non_null(strstr(html, "name=\"csrf\" value=\"tok\""));
	assert_non_null(strstr(html, "name=\"next\" value=\"/account\""));
	assert_non_null(strstr(html, "name=\"username\" value=\"&quot;&gt;&lt;script&gt;"));
	/* The app's name, escaped too, and the recovery link. */
	assert_non_null(strstr(html, "登录后将进入：<strong>&quot;&gt;&lt;script&gt;"));
	assert_non_null(strstr(html, "<a href=\"/login/forgot?next=%2Faccount\">忘记密码？</a>"));
	/* The switch link keeps next, percent-encoded, and is escaped as an attribute. */
	assert_non_null(strstr(html, "href=\"/login?lang=en&amp;next=%2Fauthorize%3Fclient_id%3Da"
	    "%26x%3D%22%3Cb%3E\" hreflang=\"en\" lang=\"en\">English</a>"));
	assert_null(strstr(html, "<script"));
	page_free(&p);

	/* An unknown conversion is an error, reported by page_send's caller path. */
	page_init_lang(&p, PAGE_LANG_EN, false, "/x");
	page_begin(&p, "t");
	assert_int_equal(p.err, 0);
	page_html(&p, "%x", 1);
	assert_int_equal(p.err, YH_ERR_INVALID);
	page_free(&p);

	/* Every message exists in both languages; PAGE_MSG_NONE is the empty text. */
	assert_string_equal(page_msg(PAGE_LANG_ZH, PAGE_MSG_NONE), "");
	for (int m = PAGE_MSG_NONE + 1; m < PAGE_MSG_COUNT; m++) {
		assert_true(page_msg(PAGE_LANG_ZH, m)[0] != '\0');
		assert_true(page_msg(PAGE_LANG_EN, m)[0] != '\0');
	}
	assert_string_equal(page_msg(PAGE_LANG_EN, PAGE_MSG_COUNT), "");
	assert_non_null(strstr(page_csp(), "style-src 'sha256-"));
	assert_null(strstr(page_csp(), "unsafe"));
	assert_non_null(strstr(page_csp(), "frame-ancestors 'none'"));
}

/* True when template t has an operation op (on the page or in a list). */
static bool
tpl_has(const struct page_tpl *t, enum page_op op)
{
	for (size_t i = 0; i < t->nops; i++)
		if (t->ops[i].op == op)
			return true;
	return false;
}

/* True when t has a required text slot outside every section and list (so that a
 * rendering with every slot NULL reaches it), before its body split. */
static bool
tpl_needs_text(const struct page_tpl *t)
{
	size_t skip = 0;

	for (size_t i = 0; i < t->body; i++) {
		const struct page_tpl_op *o = &t->ops[i];

		if (i < skip)
			continue;
		if (o->op == PAGE_OP_IF || o->op == PAGE_OP_EACH)
			skip = o->end;
		else if (o->op == PAGE_OP_TEXT && o->required)
			return true;
	}
	return false;
}

/* t rendered (up to its body split) with w, or with every slot NULL when w is NULL;
 * *err gets the page's sticky error. */
static char *
tpl_try(const struct page_tpl *t, const struct tpl_fill_with *w, int *err)
{
	struct tpl_fill f;
	struct page p;
	char *out;

	memset(&f, 0, sizeof(f));
	if (w != NULL)
		assert_int_equal(tpl_fill(t, w, &f), 0);
	else
		assert_non_null(f.v = calloc(1, t->size));
	page_init_lang(&p, PAGE_LANG_EN, false, "/t");
	page_render(&p, t, f.v);
	*err = p.err;
	assert_non_null(out = strdup(yh_buf_cstr(&p.b)));
	page_free(&p);
	tpl_fill_free(&f);
	return out;
}

/*
 * Every compiled template, its slots filled from its operations alone: request text
 * in a text slot is escaped and in a query slot percent-encoded, never markup; raw
 * slots are copied; no tag of the template language is left; a required slot left
 * NULL and a URL slot that is not a local path are errors.
 */
static void
test_templates(void **state)
{
	const struct tpl_fill_with ok[2] = {
		{ "<i>&\"'x", "/u?<i>", "<b>raw</b>", true },
		{ "<i>&\"'x", "/u?<i>", "<b>raw</b>", false },
	};
	const struct tpl_fill_with evil = { "t", "//evil.example/", "", true };
	size_t n = 0;
	char *html;
	int err;

	(void)state;
	for (const struct page_tpl *const *tp = page_tpl_all; *tp != NULL; tp++, n++) {
		const struct page_tpl *t = *tp;

		for (int k = 0; k < 2; k++) {
			html = tpl_try(t, &ok[k], &err);
			if (err != 0)
				fail_msg("%s: error %d", t->name, err);
			assert_null(strstr(html, "{{"));
			assert_null(strstr(html, "<i>"));
			if (k == 0 && tpl_has(t, PAGE_OP_TEXT))
				assert_non_null(strstr(html, "&lt;i&gt;&amp;&quot;&#39;x"));
			if (k == 0 && tpl_has(t, PAGE_OP_PCT))
				assert_non_null(strstr(html, "%3Ci%3E%26%22%27x"));
			if (k == 0 && tpl_has(t, PAGE_OP_URL))
				assert_non_null(strstr(html, "\"/u?&lt;i&gt;"));
			assert_true((strstr(html, "<b>raw</b>") != NULL) ==
			    tpl_has(t, PAGE_OP_RAW));
			free(html);
		}
		free(tpl_try(t, NULL, &err));
		if (err != (tpl_needs_text(t) ? YH_ERR_INVALID : 0))
			fail_msg("%s with every slot NULL: error %d", t->name, err);
		free(tpl_try(t, &evil, &err));
		if (err != (tpl_has(t, PAGE_OP_URL) ? YH_ERR_INVALID : 0))
			fail_msg("%s with the URL //evil.example/: error %d", t->name, err);
	}
	assert_true(n >= 13);
	/* The stylesheet: inline, nothing that would end the <style> element. */
	assert_int_equal(strlen(tpl_file_style), tpl_file_style_len);
	assert_null(strstr(tpl_file_style, "</"));
}

static void
test_lang(void **state)
{
	(void)state;
	/* Default and each source alone. */
	assert_int_equal(page_lang_negotiate(NULL, NULL, NULL, NULL), PAGE_LANG_ZH);
	assert_int_equal(page_lang_negotiate("en", NULL, NULL, NULL), PAGE_LANG_EN);
	assert_int_equal(page_lang_negotiate(NULL, "en", NULL, NULL), PAGE_LANG_EN);
	assert_int_equal(page_lang_negotiate(NULL, NULL, "en-US", NULL), PAGE_LANG_EN);
	assert_int_equal(page_lang_negotiate(NULL, NULL, NULL, "en-GB,en;q=0.9"), PAGE_LANG_EN);
	/* Order: lang > cookie > ui_locales > Accept-Language. */
	assert_int_equal(page_lang_negotiate("zh-CN", "en", "en", "en"), PAGE_LANG_ZH);
	assert_int_equal(page_lang_negotiate("en", "zh-CN", "zh", "zh"), PAGE_LANG_EN);
	assert_int_equal(page_lang_negotiate(NULL, "zh-CN", "en", "en"), PAGE_LANG_ZH);
	assert_int_equal(page_lang_negotiate(NULL, "en", "zh", "zh"), PAGE_LANG_EN);
	assert_int_equal(page_lang_negotiate(NULL, NULL, "zh-Hans", "en"), PAGE_LANG_ZH);
	assert_int_equal(page_lang_negotiate(NULL, NULL, "en", "zh-CN"), PAGE_LANG_EN);
	/* Unsupported or malformed values are skipped. */
	assert_int_equal(page_lang_negotiate("fr", "de", "ja en", NULL), PAGE_LANG_EN);
	assert_int_equal(page_lang_negotiate("e<n", "x", "fr", "en"), PAGE_LANG_EN);
	assert_int_equal(page_lang_negotiate("english", NULL, NULL, NULL), PAGE_LANG_ZH);
	/* Accept-Language: highest q wins, ties go to the first, q=0 excludes. */
	assert_int_equal(page_lang_negotiate(NULL, NULL, NULL, "en;q=0.5, zh;q=0.8"), PAGE_LANG_ZH);
	assert_int_equal(page_lang_negotiate(NULL, NULL, NULL, "zh;q=0.5, en;q=0.8"), PAGE_LANG_EN);
	assert_int_equal(page_lang_negotiate(NULL, NULL, NULL, "fr, en;q=0.1, zh;q=0.1"),
	    PAGE_LANG_EN);
	assert_int_equal(page_lang_negotiate(NULL, NULL, NULL, "en;q=0, fr"), PAGE_LANG_ZH);
	assert_int_equal(page_lang_negotiate(NULL, NULL, NULL, "en;q=2"), PAGE_LANG_ZH);
	assert_int_equal(page_lang_negotiate(NULL, NULL, NULL, "*, en-US;q=0.7"), PAGE_LANG_EN);
	assert_int_equal(page_lang_negotiate(NULL, NULL, NULL, "zh-TW,zh;q=0.9,en-US;q=0.8"),
	    PAGE_LANG_ZH);
}

static void
test_csrf_tokens(void **state)
{
	unsigned char sk[32], k[32], mac[32], msg[128];
	char cookie[CSRF_TOKEN_SIZE], cookie2[CSRF_TOKEN_SIZE], tok[CSRF_TOKEN_SIZE];
	char tok2[CSRF_TOKEN_SIZE], want[CSRF_TOKEN_SIZE];
	struct keys *key, *key2;
	unsigned int n = 0;
	size_t len;

	(void)state;
	memset(sk, 7, sizeof(sk));
	assert_int_equal(keys_local_new(sk, NULL, &key), 0);
	sk[0] ^= 1;
	assert_int_equal(keys_local_new(sk, NULL, &key2), 0);
	sk[0] ^= 1;
	assert_int_equal(csrf_cookie_new(cookie), 0);
	assert_int_equal(csrf_cookie_new(cookie2), 0);
	assert_true(csrf_cookie_ok(cookie));
	assert_string_not_equal(cookie, cookie2);
	assert_int_equal(strlen(cookie), 43);
	assert_int_equal(csrf_token_make(key, CSRF_BIND_PRE, cookie, "login", tok), 0);
	assert_int_equal(strlen(tok), 43);
	/* The token of csrf.h, computed here without keys_mac: forms shown before an upgrade
	 * still pass after it. */
	assert_non_null(HMAC(EVP_sha256(), sk, 32, (const unsigned char *)"yihao/csrf/v1", 13, k,
	    &n));
	len = (size_t)snprintf((char *)msg, sizeof(msg), "yh-csrf-v2%cpre%c%s%clogin", 0, 0,
	    cookie, 0);
	assert_non_null(HMAC(EVP_sha256(), k, 32, msg, len, mac, &n));
	yh_b64url_encode(mac, sizeof(mac), want);
	assert_string_equal(tok, want);
	/* Deterministic for (key, cookie, purpose): a reloaded form keeps working. */
	assert_int_equal(csrf_token_make(key, CSRF_BIND_PRE, cookie, "login", tok2), 0);
	assert_string_equal(tok, tok2);
	assert_int_equal(csrf_token_check(key, CSRF_BIND_PRE, cookie, "login", tok), 0);
	/* Another purpose, cookie or key: rejected. */
	assert_int_equal(csrf_token_check(key, CSRF_BIND_PRE, cookie, "register", tok),
	    YH_ERR_DENIED);
	assert_int_equal(csrf_token_check(key, CSRF_BIND_PRE, cookie2, "login", tok),
	    YH_ERR_DENIED);
	assert_int_equal(csrf_token_check(key2, CSRF_BIND_PRE, cookie, "login", tok),
	    YH_ERR_DENIED);
	/* Missing or malformed parts: rejected. */
	assert_int_equal(csrf_token_check(key, CSRF_BIND_PRE, NULL, "login", tok), YH_ERR_DENIED);
	assert_int_equal(csrf_token_check(key, CSRF_BIND_PRE, cookie, "login", NULL),
	    YH_ERR_DENIED);
	assert_int_equal(csrf_token_check(key, CSRF_BIND_PRE, cookie, "login", ""),
	    YH_ERR_DENIED);
	assert_int_equal(csrf_token_check(key, CSRF_BIND_PRE, "short", "login", tok),
	    YH_ERR_DENIED);
	assert_int_equal(csrf_token_check(key, CSRF_BIND_PRE, cookie, "", tok), YH_ERR_DENIED);
	memcpy(tok2, tok, sizeof(tok2));
	tok2[10] = tok2[10] == 'A' ? 'B' : 'A';
	assert_int_equal(csrf_token_check(key, CSRF_BIND_PRE, cookie, "login", tok2),
	    YH_ERR_DENIED);
	tok2[42] = '\0';
	assert_int_equal(csrf_token_check(key, CSRF_BIND_PRE, cookie, "login", tok2),
	    YH_ERR_DENIED);
	assert_false(csrf_cookie_ok("AAAA"));
	assert_false(csrf_cookie_ok("++++++++++++++++++++++++++++++++++++++++++="));
	assert_int_equal(csrf_token_make(key, CSRF_BIND_PRE, "bad cookie", "login", tok),
	    YH_ERR_INVALID);
	keys_free(key);
	keys_free(key2);
}

/*
 * A form shown in a session is bound to that session: a token made for any pre-session
 * cookie (one an attacker planted, with the token that goes with it) or for another
 * session does not pass, and a session's token does not pass for a cookie either.
 */
static void
test_csrf_session_binding(void **state)
{
	unsigned char sk[32];
	char victim[SESS_KEY_SIZE], other[SESS_KEY_SIZE], cookie[CSRF_TOKEN_SIZE];
	char tok[CSRF_TOKEN_SIZE], planted[CSRF_TOKEN_SIZE];
	struct keys *key;

	(void)state;
	memset(sk, 9, sizeof(sk));
	assert_int_equal(keys_local_new(sk, NULL, &key), 0);
	memset(victim, 'a', 64);
	victim[64] = '\0';
	memcpy(other, victim, sizeof(other));
	other[63] = 'b';
	assert_int_equal(csrf_token_make(key, CSRF_BIND_SESSION, victim, "account", tok), 0);
	assert_int_equal(csrf_token_check(key, CSRF_BIND_SESSION, victim, "account", tok), 0);
	assert_int_equal(csrf_token_check(key, CSRF_BIND_SESSION, other, "account", tok),
	    YH_ERR_DENIED);
	assert_int_equal(csrf_token_check(key, CSRF_BIND_SESSION, victim, "consent", tok),
	    YH_ERR_DENIED);
	/* The attacker's own cookie and token are worthless against the victim's session. */
	assert_int_equal(csrf_cookie_new(cookie), 0);
	assert_int_equal(csrf_token_make(key, CSRF_BIND_PRE, cookie, "account", planted), 0);
	assert_int_equal(csrf_token_check(key, CSRF_BIND_SESSION, victim, "account", planted),
	    YH_ERR_DENIED);
	assert_int_equal(csrf_token_check(key, CSRF_BIND_PRE, cookie, "account", tok),
	    YH_ERR_DENIED);
	/* A session key is 64 lower-case hex digits; anything else is no binding. */
	assert_int_equal(csrf_token_make(key, CSRF_BIND_SESSION, cookie, "account", tok),
	    YH_ERR_INVALID);
	victim[0] = 'A';
	assert_int_equal(csrf_token_make(key, CSRF_BIND_SESSION, victim, "account", tok),
	    YH_ERR_INVALID);
	assert_int_equal(csrf_token_check(key, CSRF_BIND_SESSION, NULL, "account", planted),
	    YH_ERR_DENIED);
	keys_free(key);
}

/* The identifier a failed login leaves in the audit trail: read as the lookup reads it,
 * masked in its folded form whatever the spelling. */
static void
test_audit_name(void **state)
{
	static const struct { const char *in, *want; } cases[] = {
		{ "110101 19900307 0011", "110101********0011" },
		{ "110101-19900307-0011", "110101********0011" },
		{ " \uff11\uff11\uff10\uff11\uff10\uff11\uff11\uff19\uff19\uff10\uff10\uff13"
		  "\uff10\uff17\uff10\uff10\uff11\uff11 ", "110101********0011" },
		{ "11010519491231002x", "110105********002X" },
		{ "+86 138 0013 8000", "138****8000" },
		{ "138-0013-8000", "138****8000" },
		{ "(+86) 138.0013.8000", "138****8000" },
		{ "0086 13800138000", "138****8000" },
		{ "zhangsan", "zhangsan" },
		{ "1234567", "1*****7" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *s = dir_login_masked(cases[i].in);

		assert_non_null(s);
		if (strcmp(json_string_value(s), cases[i].want) != 0)
			fail_msg("'%s': '%s', want '%s'", cases[i].in, json_string_value(s),
			    cases[i].want);
		json_decref(s);
	}
}

static void
test_next_and_loa(void **state)
{
	(void)state;
	static const char *const good[] = {
		"/account", "/account?tab=apps", "/admin", "/authorize?client_id=a&redirect_uri=https%3A%2F%2Fx",
		"/cas/login?service=https%3A%2F%2Fa.gov.cn%2Fapp%2F",
	};
	static const char *const bad[] = {
		NULL, "", "/", "https://evil.example/", "//evil.example/authorize?", "/authorize",
		"/authorizex?", "/account/../x", "/accounts", "/authorize?a=b c", "/authorize?\r\nX: y",
		"/authorize?a=\\b", "/authorize?a=\xe4\xb8\x80", "javascript:alert(1)",
		"/cas/login", "/cas/loginx?", "/cas/validate?ticket=x", "//cas/login?",
		"/adminx", "//admin",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_true(login_next_ok(good[i]));
		assert_string_equal(login_next_pick(good[i]), good[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(login_next_ok(bad[i]));
		assert_string_equal(login_next_pick(bad[i]), "/account");
	}
	assert_int_equal(login_session_loa(0, false), 1);
	assert_int_equal(login_session_loa(1, false), 1);
	assert_int_equal(login_session_loa(2, false), 2);
	assert_int_equal(login_session_loa(4, false), 2);
	assert_int_equal(login_session_loa(1, true), 1);
	assert_int_equal(login_session_loa(2, true), 3);
	assert_int_equal(login_session_loa(3, true), 3);
	assert_int_equal(login_session_loa(4, true), 4);
}

/* login_auth_fresh: the age of the last authentication and the session's LoA. */
static void
test_auth_fresh(void **state)
{
	struct sess_info si;

	(void)state;
	memset(&si, 0, sizeof(si));
	si.auth_time = 1000;
	si.loa = 3;
	assert_true(login_auth_fresh(&si, 1300, 300, 3));
	assert_false(login_auth_fresh(&si, 1301, 300, 3));
	assert_false(login_auth_fresh(&si, 1100, 300, 4));
	assert_true(login_auth_fresh(&si, 1100, 300, 0));
	/* an auth_time ahead of the clock (another node's) counts as age 0 */
	assert_true(login_auth_fresh(&si, 900, 0, 3));
	si.loa = 2;
	assert_false(login_auth_fresh(&si, 1000, 300, 3));
	assert_true(login_auth_fresh(&si, 1000, 300, 2));
}

/* ---- over HTTP -------------------------------------------------------------------- */

struct fx {
	char root[64];
	char audit_path[128];
	struct ident_cfg cfg;
	struct ident *id;
	struct authd_app app;
	struct http_server *srv;
	uint16_t port;
	char uid[DIR_UID_LEN + 1];       /* the test user */
	char idn[19];
};

#define USER_PHONE "13800138000"
#define USER_PASSWORD "correct horse 1"

static void
make_id(int n, char out[19])
{
	snprintf(out, 19, "11010119900101%03d", n % 1000);
	out[17] = idn_resident_check_char(out);
	out[18] = '\0';
}

static void
add_user(struct fx *f, int n, const char *phone, const char *password, char uid[DIR_UID_LEN + 1],
    char idn[19])
{
	struct dir_person p;
	char *enc = NULL;

	make_id(n, idn);
	memset(&p, 0, sizeof(p));
	p.id_number = idn;
	p.name = (char *)"张三";
	p.phone = (char *)phone;
	p.phone_verified = true;      /* as an operator adds a person */
	assert_int_equal(dir_person_add(f->id->dir, &p, uid), 0);
	assert_int_equal(pw_hash(&f->id->pw, password, strlen(password), &enc), 0);
	assert_int_equal(dir_cred_set(f->id->dir, uid, PW_SCHEME_ARGON2ID, enc, NULL), 0);
	free(enc);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct yh_cfg_err cerr;
	struct sess_config sc;
	struct http_opts o;
	unsigned char sk[32];
	char err[512], dir[128];

	assert_non_null(f);
	snprintf(f->root, sizeof(f->root), "/tmp/yh-test-pages-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	assert_int_equal(ident_cfg_init(&f->cfg, &cerr), 0);
	snprintf(dir, sizeof(dir), "%s/state", f->root);
	assert_int_equal(yh_cfg_set(ident_cfg_opts, &f->cfg, "state_dir", dir, "test", &cerr), 0);
	assert_int_equal(yh_cfg_set(ident_cfg_opts, &f->cfg, "password.argon2_m_cost_kib", "64",
	    "test", &cerr), 0);
	assert_int_equal(ident_cfg_finish(&f->cfg, err, sizeof(err)), 0);
	if (ident_open(&f->cfg, true, &f->id, err, sizeof(err)) != 0)
		fail_msg("ident_open: %s", err);
	f->app.ident = f->id;
	f->app.dir = f->id->dir;
	sess_config_defaults(&sc);
	sc.sweep_interval_ms = 0;
	assert_int_equal(sess_open(&sc, &f->app.sess), 0);
	snprintf(f->audit_path, sizeof(f->audit_path), "%s/audit.log", f->root);
	assert_int_equal(yh_audit_open(f->audit_path, &f->app.audit, err, sizeof(err)), 0);
	assert_int_equal(wk_pool_new(2, 64, 0, &f->app.workers), 0);
	assert_int_equal(mx_registry_new(&f->app.metrics), 0);
	assert_int_equal(yh_random(sk, sizeof(sk)), 0);
	assert_int_equal(keys_local_new(sk, NULL, &f->app.keys), 0);
	f->app.issuer = "http://127.0.0.1";
	memset(&o, 0, sizeof(o));
	o.listen = "127.0.0.1:0";
	o.threads = 2;
	o.max_body = 64 * 1024;
	o.max_header = 16 * 1024;
	o.connection_timeout = 10;
	o.max_connections = 64;
	if (http_server_new(&o, &f->srv, err, sizeof(err)) != 0)
		fail_msg("http_server_new: %s", err);
	assert_int_equal(login_register(f->srv, &f->app), 0);
	if (http_server_start(f->srv, err, sizeof(err)) != 0)
		fail_msg("http_server_start: %s", err);
	f->port = http_server_port(f->srv);
	add_user(f, 1, USER_PHONE, USER_PASSWORD, f->uid, f->idn);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[160];

	http_server_quiesce(f->srv);
	wk_pool_stop(f->app.workers);
	(void)http_server_drain(f->srv, 2000);
	http_server_free(f->srv);
	wk_pool_free(f->app.workers);
	sess_close(f->app.sess);
	yh_audit_close(f->app.audit);
	mx_registry_free(f->app.metrics);
	keys_free(f->app.keys);
	ident_close(f->id);
	ident_cfg_free(&f->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* One HTTP exchange's results. */
struct resp {
	long status;
	struct yh_buf body;
	char location[4096];
	char csp[512];
	char cookies[2048];       /* every Set-Cookie line, joined by '\n' */
};

static size_t
on_body(char *p, size_t size, size_t n, void *ud)
{
	struct resp *r = ud;

	if (yh_buf_append(&r->body, p, size * n) != 0)
		return 0;
	return size * n;
}

static void
header_value(const char *line, size_t len, const char *name, char *out, size_t outsz,
    bool append)
{
	size_t nl = strlen(name), cur = append ? strlen(out) : 0;

	if (len <= nl || strncasecmp(line, name, nl) != 0)
		return;
	line += nl;
	len -= nl;
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	if (cur + len + 2 > outsz)
		return;
	memcpy(out + cur, line, len);
	out[cur + len] = append ? '\n' : '\0';
	if (append)
		out[cur + len + 1] = '\0';
}

static size_t
on_header(char *p, size_t size, size_t n, void *ud)
{
	struct resp *r = ud;

	header_value(p, size * n, "Location: ", r->location, sizeof(r->location), false);
	header_value(p, size * n, "Content-Security-Policy: ", r->csp, sizeof(r->csp), false);
	header_value(p, size * n, "Set-Cookie: ", r->cookies, sizeof(r->cookies), true);
	return size * n;
}

/* A browser: one curl handle with its own cookie jar. */
static CURL *
browser(void)
{
	CURL *c = curl_easy_init();

	assert_non_null(c);
	curl_easy_setopt(c, CURLOPT_COOKIEFILE, "");
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	return c;
}

/* GET path, or POST form when form is not NULL. */
static void
fetch(struct fx *f, CURL *c, const char *path, const char *form, const char *extra_header,
    struct resp *r)
{
	struct curl_slist *h = NULL;
	char url[4200];

	yh_buf_free(&r->body);
	memset(r, 0, sizeof(*r));
	yh_buf_init(&r->body, 1024 * 1024);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", (unsigned)f->port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	if (extra_header != NULL)
		h = curl_slist_append(h, extra_header);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (form != NULL) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_COPYPOSTFIELDS, form);
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
}

static void
resp_free(struct resp *r)
{
	yh_buf_free(&r->body);
}

/* The csrf token on a page, as the integration tests find it. */
static void
csrf_of(const struct resp *r, char out[CSRF_TOKEN_SIZE])
{
	const char *m = strstr(yh_buf_cstr(&r->body), "name=\"csrf\" value=\"");

	assert_non_null(m);
	m += strlen("name=\"csrf\" value=\"");
	assert_non_null(strchr(m, '"'));
	assert_int_equal((size_t)(strchr(m, '"') - m), 43);
	memcpy(out, m, 43);
	out[43] = '\0';
}

/* The value of a cookie set by the response, or "" when none. */
static void
cookie_of(const struct resp *r, const char *name, char *out, size_t outsz)
{
	char pat[64];
	const char *m;
	size_t n = 0;

	out[0] = '\0';
	snprintf(pat, sizeof(pat), "%s=", name);
	for (m = r->cookies; (m = strstr(m, pat)) != NULL; m++)
		if (m == r->cookies || m[-1] == '\n')
			break;
	if (m == NULL)
		return;
	m += strlen(pat);
	while (m[n] != ';' && m[n] != '\n' && m[n] != '\0' && n + 1 < outsz)
		n++;
	memcpy(out, m, n);
	out[n] = '\0';
}

static bool
body_has(const struct resp *r, const char *s)
{
	return strstr(yh_buf_cstr(&r->body), s) != NULL;
}

/* Logs in with the form; returns the response. */
static void
login(struct fx *f, CURL *c, const char *user, const char *password, const char *next,
    struct resp *r)
{
	char tok[CSRF_TOKEN_SIZE], form[1024];
	char *eu, *ep, *en;

	fetch(f, c, "/login", NULL, NULL, r);
	assert_int_equal(r->status, 200);
	csrf_of(r, tok);
	eu = curl_easy_escape(c, user, 0);
	ep = curl_easy_escape(c, password, 0);
	en = curl_easy_escape(c, next, 0);
	snprintf(form, sizeof(form), "csrf=%s&next=%s&username=%s&password=%s", tok, en, eu, ep);
	curl_free(eu);
	curl_free(ep);
	curl_free(en);
	fetch(f, c, "/login", form, NULL, r);
}

/* Audit lines of event that also carry text (NULL: every line of event). */
static int
count_audit_with(struct fx *f, const char *event, const char *text)
{
	char line[AUDIT_LINE_MAX], pat[64];
	FILE *fp = fopen(f->audit_path, "r");
	int n = 0;

	assert_non_null(fp);
	snprintf(pat, sizeof(pat), "\"event\":\"%s\"", event);
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strstr(line, pat) != NULL && (text == NULL || strstr(line, text) != NULL))
			n++;
	fclose(fp);
	return n;
}

static int
count_audit(struct fx *f, const char *event)
{
	return count_audit_with(f, event, NULL);
}

static void
test_login_flow(void **state)
{
	struct fx *f = *state;
	char sid1[64], sid2[64], csrfc[64];
	struct sess_info si, si2;
	CURL *c = browser();
	struct resp r = { 0 };

	/* The form: Chinese by default, a CSRF cookie, the CSP with the style hash. */
	fetch(f, c, "/login?next=%2Fauthorize%3Fclient_id%3Dapp", NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_true(body_has(&r, "<html lang=\"zh-CN\">"));
	assert_true(body_has(&r, "name=\"username\""));
	assert_true(body_has(&r, "name=\"password\""));
	assert_true(body_has(&r, "name=\"next\" value=\"/authorize?client_id=app\""));
	assert_string_equal(r.csp, page_csp());
	cookie_of(&r, "yh_csrf", csrfc, sizeof(csrfc));
	assert_true(csrf_cookie_ok(csrfc));
	assert_non_null(strstr(r.cookies, "HttpOnly"));
	assert_non_null(strstr(r.cookies, "SameSite=Lax"));
	assert_null(strstr(r.cookies, "Secure"));   /* plain HTTP */

	/* Log in by ID number: 303 to next, a session cookie, LoA 1, amr pwd. */
	login(f, c, f->idn, USER_PASSWORD, "/authorize?client_id=app&scope=openid", &r);
	assert_int_equal(r.status, 303);
	assert_string_equal(r.location, "/authorize?client_id=app&scope=openid");
	cookie_of(&r, "yh_sid", sid1, sizeof(sid1));
	assert_int_equal(strlen(sid1), 43);
	assert_int_equal(sess_get(f->app.sess, sid1, 0, &si), 0);
	assert_string_equal(si.uid, f->uid);
	assert_int_equal(si.loa, 1);
	assert_int_equal(si.namr, 1);
	assert_string_equal(si.amr[0], "pwd");
	assert_int_equal(count_audit(f, "login.success"), 1);

	/* Again (by phone) in the same browser: the id rotates, the public sid stays. */
	login(f, c, USER_PHONE, USER_PASSWORD, "https://evil.example/", &r);
	assert_int_equal(r.status, 303);
	assert_string_equal(r.location, "/account");     /* a foreign next is not followed */
	cookie_of(&r, "yh_sid", sid2, sizeof(sid2));
	assert_string_not_equal(sid1, sid2);
	assert_int_equal(sess_get(f->app.sess, sid1, 0, &si2), YH_ERR_NOT_FOUND);
	assert_int_equal(sess_get(f->app.sess, sid2, 0, &si2), 0);
	assert_string_equal(si.sid, si2.sid);

	resp_free(&r);
	curl_easy_cleanup(c);
}

static void
test_rehash(void **state)
{
	struct fx *f = *state;
	unsigned char md[32];
	char hex[65];
	struct dir_cred cr;
	CURL *c = browser();
	struct resp r = { 0 };
	unsigned int mdlen = 0;

	assert_int_equal(EVP_Digest(USER_PASSWORD, strlen(USER_PASSWORD), md, &mdlen,
	    EVP_sha256(), NULL), 1);
	yh_hex_encode(md, sizeof(md), hex);
	assert_int_equal(dir_cred_set(f->app.dir, f->uid, "sha256-hex", hex, NULL), 0);
	login(f, c, f->idn, USER_PASSWORD, "/account", &r);
	assert_int_equal(r.status, 303);
	assert_int_equal(dir_cred_get(f->app.dir, f->uid, &cr), 0);
	assert_string_equal(cr.scheme, "argon2id");
	dir_cred_clear(&cr);
	login(f, c, f->idn, USER_PASSWORD, "/account", &r);
	assert_int_equal(r.status, 303);
	resp_free(&r);
	curl_easy_cleanup(c);
}

static void
test_csrf_rejected(void **state)
{
	struct fx *f = *state;
	char tok[CSRF_TOKEN_SIZE], form[512];
	CURL *c = browser(), *other = browser();
	struct resp r = { 0 };

	fetch(f, c, "/login", NULL, NULL, &r);
	csrf_of(&r, tok);
	/* No token. */
	snprintf(form, sizeof(form), "username=%s&password=%s", f->idn, "correct+horse+1");
	fetch(f, c, "/login", form, NULL, &r);
	assert_int_equal(r.status, 400);
	assert_true(body_has(&r, "表单已过期"));
	assert_true(r.cookies[0] == '\0' || strstr(r.cookies, "yh_sid") == NULL);
	/* A wrong token. */
	snprintf(form, sizeof(form), "csrf=%.42sA&username=%s&password=%s", tok, f->idn,
	    "correct+horse+1");
	if (tok[42] == 'A')
		form[5 + 42] = 'B';
	fetch(f, c, "/login", form, NULL, &r);
	assert_int_equal(r.status, 400);
	/* Login CSRF: a token valid for the attacker's browser, posted from another. */
	snprintf(form, sizeof(form), "csrf=%s&username=%s&password=%s", tok, f->idn,
	    "correct+horse+1");
	fetch(f, other, "/login", form, "Accept-Language: en", &r);
	assert_int_equal(r.status, 400);
	assert_true(body_has(&r, "The form has expired"));
	/* The token of another form. */
	fetch(f, c, "/register", NULL, NULL, &r);
	csrf_of(&r, tok);
	snprintf(form, sizeof(form), "csrf=%s&username=%s&password=%s", tok, f->idn,
	    "correct+horse+1");
	fetch(f, c, "/login", form, NULL, &r);
	assert_int_equal(r.status, 400);
	/* The right one works. */
	login(f, c, f->idn, USER_PASSWORD, "/account", &r);
	assert_int_equal(r.status, 303);
	assert_int_equal(count_audit(f, "login.failure"), 0);
	resp_free(&r);
	curl_easy_cleanup(c);
	curl_easy_cleanup(other);
}

static void
test_lockout(void **state)
{
	struct fx *f = *state;
	CURL *c = browser();
	struct resp r = { 0 }, unknown = { 0 };

	for (int i = 1; i <= 5; i++) {
		login(f, c, USER_PHONE, "wrong password", "/account", &r);
		if (i < 5) {
			assert_int_equal(r.status, 200);
			assert_true(body_has(&r, "账号或密码不正确"));
		}
	}
	assert_int_equal(r.status, 429);
	assert_true(body_has(&r, "已暂时锁定"));
	/* Locked: even the right password is refused, by ID number too. */
	login(f, c, f->idn, USER_PASSWORD, "/account", &r);
	assert_int_equal(r.status, 429);
	assert_true(r.cookies[0] == '\0' || strstr(r.cookies, "yh_sid") == NULL);
	assert_int_equal(count_audit(f, "login.failure"), 6);
	assert_int_equal(count_audit(f, "login.lockout"), 1);
	assert_int_equal(count_audit(f, "login.success"), 0);

	/* An unknown identifier: the same words, the same lockout. */
	for (int i = 1; i <= 5; i++) {
		login(f, c, "nobody-here", "wrong password", "/account", &unknown);
		if (i < 5)
			assert_true(body_has(&unknown, "账号或密码不正确"));
	}
	assert_int_equal(unknown.status, 429);
	assert_true(body_has(&unknown, "已暂时锁定"));
	assert_int_equal(count_audit(f, "login.lockout"), 2);
	/* The audit lines mask ID numbers: the test user's never appears whole. */
	char line[AUDIT_LINE_MAX];
	FILE *fp = fopen(f->audit_path, "r");
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp) != NULL)
		assert_null(strstr(line, f->idn));
	fclose(fp);
	/* An operator-style unlock lets the person in again. */
	char name[80];
	snprintf(name, sizeof(name), "login:acct:%s", f->uid);
	assert_int_equal(sess_lock(f->app.sess, name, 0), 0);
	login(f, c, f->idn, USER_PASSWORD, "/account", &r);
	assert_int_equal(r.status, 303);
	resp_free(&r);
	resp_free(&unknown);
	curl_easy_cleanup(c);
}

/* The built-in policy is the option table's defaults; a configuration replaces it. */
static void
test_policy_defaults(void **state)
{
	struct authd_app app;
	struct authd_cfg c;
	struct login_policy d, t;
	char err[512];

	(void)state;
	memset(&app, 0, sizeof(app));
	login_policy_get(NULL, &d);
	assert_int_equal(d.max_failures, 5);
	assert_int_equal(d.addr_max_failures, 50);
	assert_int_equal(d.window_s, 1800);
	assert_int_equal(d.lockout_s, 1800);
	assert_int_equal(d.otp_max_failures, 5);
	assert_int_equal(d.otp_window_s, 1800);
	assert_int_equal(d.otp_lockout_s, 1800);
	login_policy_get(&app, &t);
	assert_memory_equal(&d, &t, sizeof(d));
	assert_int_equal(authd_cfg_load(&c, NULL, "/tmp/yh-test-pages-none", NULL, err,
	    sizeof(err)), 0);
	app.cfg = &c;
	login_policy_get(&app, &t);
	assert_memory_equal(&d, &t, sizeof(d));
	/* Configured values apply; TOTP codes keep their floor (never more than 10 tries
	 * per 30 min, locked at least 5 min) while stricter settings still apply to them. */
	static const struct {
		int64_t max, addr, window, lockout;          /* configured */
		int64_t otp_max, otp_window, otp_lockout;    /* expected for TOTP */
	} cases[] = {
		{ 3, 7, 60, 2, 3, 1800, 300 },
		{ 1000, 7, 1, 1, 10, 1800, 300 },
		{ 1000, 7, 7200, 3600, 10, 7200, 3600 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c.login_max_failures = cases[i].max;
		c.login_addr_max_failures = cases[i].addr;
		c.login_failure_window = cases[i].window;
		c.login_lockout = cases[i].lockout;
		login_policy_get(&app, &t);
		assert_int_equal(t.max_failures, cases[i].max);
		assert_int_equal(t.addr_max_failures, cases[i].addr);
		assert_int_equal(t.window_s, cases[i].window);
		assert_int_equal(t.lockout_s, cases[i].lockout);
		assert_int_equal(t.otp_max_failures, cases[i].otp_max);
		assert_int_equal(t.otp_window_s, cases[i].otp_window);
		assert_int_equal(t.otp_lockout_s, cases[i].otp_lockout);
	}
	authd_cfg_free(&c);
}

/* login.max_failures, login.lockout and login.max_failures_per_address apply. */
static void
test_lockout_configured(void **state)
{
	struct fx *f = *state;
	CURL *c = browser();
	struct resp r = { 0 };
	struct authd_cfg cfg;
	char err[512], who[32];

	assert_int_equal(authd_cfg_load(&cfg, NULL, "/tmp/yh-test-pages-none", NULL, err,
	    sizeof(err)), 0);
	cfg.login_max_failures = 3;
	cfg.login_addr_max_failures = 5;
	cfg.login_failure_window = 1;
	cfg.login_lockout = 2;
	f->app.cfg = &cfg;      /* before any request: the server threads only read it */
	/* Two failures, then login.failure_window passes: they no longer count. */
	for (int i = 1; i <= 2; i++) {
		login(f, c, USER_PHONE, "wrong password", "/account", &r);
		assert_int_equal(r.status, 200);
	}
	usleep(1300 * 1000);
	cfg.login_failure_window = 60;
	for (int i = 1; i <= 3; i++) {
		login(f, c, USER_PHONE, "wrong password", "/account", &r);
		assert_int_equal(r.status, i < 3 ? 200 : 429);
	}
	assert_true(body_has(&r, "已暂时锁定"));
	assert_int_equal(count_audit_with(f, "login.lockout", "\"lockout_s\":2"), 1);
	assert_int_equal(count_audit_with(f, "login.failure", "\"failures\":3"), 1);
	login(f, c, f->idn, USER_PASSWORD, "/account", &r);
	assert_int_equal(r.status, 429);
	/* The lockout ends after login.lockout: the right password opens a session. */
	usleep(2200 * 1000);
	login(f, c, f->idn, USER_PASSWORD, "/account", &r);
	assert_int_equal(r.status, 303);
	/* The address has 3 failures (an attempt refused while locked is not counted):
	 * two more on other names reach login.max_failures_per_address = 5. */
	for (int i = 0; i < 2; i++) {
		snprintf(who, sizeof(who), "nobody-%d", i);
		login(f, c, who, "wrong password", "/account", &r);
	}
	assert_int_equal(r.status, 429);
	assert_int_equal(count_audit_with(f, "login.lockout", "\"scope\":\"address\""), 1);
	login(f, c, f->idn, USER_PASSWORD, "/account", &r);
	assert_int_equal(r.status, 429);
	f->app.cfg = NULL;
	authd_cfg_free(&cfg);
	resp_free(&r);
	curl_easy_cleanup(c);
}

static void
test_inactive_and_language(void **state)
{
	struct fx *f = *state;
	CURL *c = browser();
	struct resp r = { 0 };
	char lang[16];

	assert_int_equal(dir_person_set_status(f->app.dir, f->uid, DIR_STATUS_DISABLED), 0);
	login(f, c, f->idn, USER_PASSWORD, "/account", &r);
	assert_int_equal(r.status, 200);
	assert_true(body_has(&r, "账号或密码不正确"));
	assert_int_equal(dir_person_set_status(f->app.dir, f->uid, DIR_STATUS_ACTIVE), 0);

	/* Accept-Language alone. */
	fetch(f, c, "/login", NULL, "Accept-Language: en-US,en;q=0.9,zh;q=0.5", &r);
	assert_true(body_has(&r, "<html lang=\"en\">"));
	assert_true(body_has(&r, "简体中文</a>"));
	/* ui_locales inside next. */
	fetch(f, c, "/login?next=%2Fauthorize%3Fclient_id%3Da%26ui_locales%3Den", NULL, NULL, &r);
	assert_true(body_has(&r, "<html lang=\"en\">"));
	/* The switch link sets the cookie, which then wins over Accept-Language. */
	fetch(f, c, "/login?lang=en&next=%2Faccount", NULL, "Accept-Language: zh-CN", &r);
	assert_true(body_has(&r, "<html lang=\"en\">"));
	assert_true(body_has(&r, "href=\"/login?lang=zh-CN&amp;next=%2Faccount\""));
	cookie_of(&r, "yh_lang", lang, sizeof(lang));
	assert_string_equal(lang, "en");
	fetch(f, c, "/login", NULL, "Accept-Language: zh-CN", &r);
	assert_true(body_has(&r, "<html lang=\"en\">"));
	assert_true(body_has(&r, "Log in"));
	login(f, c, "nobody", "x", "/account", &r);
	assert_true(body_has(&r, "The account or the password is not correct"));
	fetch(f, c, "/login?lang=zh-CN", NULL, NULL, &r);
	assert_true(body_has(&r, "<html lang=\"zh-CN\">"));
	resp_free(&r);
	curl_easy_cleanup(c);
}

/* The privacy part of a registration form: both boxes ticked, the notice shown. */
#define REG_TICKS "&agree=yes&consent_id_number=yes&notice_version=" \
	LOGIN_PRIVACY_BUILTIN_VERSION

static void
reg_post_ticks(struct fx *f, CURL *c, const char *name, const char *idn, const char *phone,
    const char *pw, const char *pw2, const char *ticks, struct resp *r)
{
	char tok[CSRF_TOKEN_SIZE], form[1024];
	char *a = curl_easy_escape(c, name, 0), *b = curl_easy_escape(c, pw, 0);
	char *d = curl_easy_escape(c, pw2, 0);

	fetch(f, c, "/register?next=%2Faccount", NULL, NULL, r);
	assert_int_equal(r->status, 200);
	/* The notice is there, and the page ticks no box. */
	assert_true(body_has(r, "name=\"consent_id_number\""));
	assert_true(body_has(r, "个人信息处理规则"));
	assert_false(body_has(r, "checked"));
	csrf_of(r, tok);
	snprintf(form, sizeof(form), "csrf=%s&next=%%2Faccount&name=%s&id_number=%s&phone=%s"
	    "&password=%s&password2=%s%s", tok, a, idn, phone, b, d, ticks);
	curl_free(a);
	curl_free(b);
	curl_free(d);
	fetch(f, c, "/register", form, NULL, r);
}

static void
reg_post(struct fx *f, CURL *c, const char *name, const char *idn, const char *phone,
    const char *pw, const char *pw2, struct resp *r)
{
	reg_post_ticks(f, c, name, idn, phone, pw, pw2, REG_TICKS, r);
}

static void
test_register(void **state)
{
	struct fx *f = *state;
	CURL *c = browser();
	struct resp r = { 0 }, r2 = { 0 };
	char idn[19], bad[19];
	struct dir_person p;

	make_id(2, idn);
	memcpy(bad, idn, sizeof(bad));
	bad[17] = bad[17] == '0' ? '1' : '0';
	/* Field errors, in words, with the values kept (escaped). */
	reg_post(f, c, "<b>李四</b>", bad, "12345", "short", "short", &r);
	assert_int_equal(r.status, 400);
	assert_true(body_has(&r, "校验位不正确"));
	assert_true(body_has(&r, "请填写正确的手机号码"));
	assert_true(body_has(&r, "密码至少需要8个字符"));
	assert_true(body_has(&r, "value=\"&lt;b&gt;李四&lt;/b&gt;\""));
	assert_true(body_has(&r, "aria-invalid=\"true\""));
	reg_post(f, c, "李四", idn, "13900139000", "12345678901", "12345678901", &r);
	assert_true(body_has(&r, "密码不能全部是数字"));
	reg_post(f, c, "李四", idn, "13900139000", idn, idn, &r);
	assert_true(body_has(&r, "不能与身份证号码或手机号码相同"));
	reg_post(f, c, "李四", idn, "13900139000", "good password", "good passwort", &r);
	assert_true(body_has(&r, "两次输入的密码不一致"));
	/* Without the separate consent for the ID number: refused, the box named, the
	 * fields kept but the password, the general agreement's tick kept. */
	reg_post_ticks(f, c, "李四", idn, "13900139000", "good password", "good password",
	    "&agree=yes&notice_version=" LOGIN_PRIVACY_BUILTIN_VERSION, &r);
	assert_int_equal(r.status, 400);
	assert_true(body_has(&r, "请勾选“我同意处理我的身份证号码等敏感个人信息，用于身份核验”"));
	assert_true(body_has(&r, "value=\"13900139000\""));
	assert_false(body_has(&r, "good password"));
	assert_true(body_has(&r, "name=\"agree\" value=\"yes\" required checked"));
	assert_false(body_has(&r, "name=\"consent_id_number\" value=\"yes\" required checked"));
	/* Nor without the general agreement; nor for a notice no longer in force. */
	reg_post_ticks(f, c, "李四", idn, "13900139000", "good password", "good password",
	    "&consent_id_number=yes&notice_version=" LOGIN_PRIVACY_BUILTIN_VERSION, &r);
	assert_int_equal(r.status, 400);
	assert_true(body_has(&r, "请阅读个人信息处理规则"));
	reg_post_ticks(f, c, "李四", idn, "13900139000", "good password", "good password",
	    "&agree=yes&consent_id_number=yes&notice_version=old-1", &r);
	assert_int_equal(r.status, 400);
	assert_true(body_has(&r, "个人信息处理规则已更新"));
	assert_false(body_has(&r, "checked"));
	assert_int_equal(dir_person_find_id_number(f->app.dir, idn, &p), YH_ERR_NOT_FOUND);
	assert_int_equal(count_audit(f, "register"), 0);
	assert_int_equal(count_audit(f, "register.consent"), 0);

	/* Accepted: the done page with the login form. */
	reg_post(f, c, "李四", idn, "139 0013 9000", "good password", "good password", &r);
	assert_int_equal(r.status, 200);
	assert_true(body_has(&r, "注册申请已提交"));
	assert_true(r.cookies[0] == '\0' || strstr(r.cookies, "yh_sid") == NULL);
	assert_int_equal(dir_person_find_id_number(f->app.dir, idn, &p), 0);
	assert_int_equal(p.loa.level, 1);
	assert_string_equal(p.name, "李四");
	assert_string_equal(p.phone, "13900139000");
	assert_int_equal(count_audit_with(f, "register.consent", LOGIN_PRIVACY_BUILTIN_VERSION),
	    1);
	assert_int_equal(count_audit_with(f, "register.consent", idn), 0);
	{
		struct dir_privacy *pl = NULL;
		size_t npl = 0;

		assert_int_equal(dir_privacy_list(f->app.dir, p.uid, &pl, &npl), 0);
		assert_int_equal(npl, 2);
		assert_string_equal(pl[1].purpose, DIR_PRIVACY_ID_NUMBER);
		assert_string_equal(pl[1].notice_version, LOGIN_PRIVACY_BUILTIN_VERSION);
		dir_privacy_list_free(pl, npl);
	}
	dir_person_clear(&p);
	/* The same ID number again: the very same page. */
	reg_post(f, c, "王五", idn, "13700137000", "other password", "other password", &r2);
	assert_int_equal(r2.status, 200);
	assert_string_equal(yh_buf_cstr(&r.body), yh_buf_cstr(&r2.body));
	assert_int_equal(count_audit(f, "register"), 2);
	/* The new account logs in with its password, not with the second one. */
	login(f, c, idn, "other password", "/account", &r);
	assert_int_equal(r.status, 200);
	login(f, c, idn, "good password", "/account", &r);
	assert_int_equal(r.status, 303);
	/* Registration CSRF. */
	fetch(f, c, "/register", "name=a&id_number=b", NULL, &r);
	assert_int_equal(r.status, 400);
	resp_free(&r);
	resp_free(&r2);
	curl_easy_cleanup(c);
}

static void
totp_post(struct fx *f, CURL *c, const char *code, struct resp *r)
{
	char tok[CSRF_TOKEN_SIZE], form[512];

	fetch(f, c, "/login/totp?next=%2Fauthorize%3Fclient_id%3Dapp&loa=3", NULL, NULL, r);
	assert_int_equal(r->status, 200);
	assert_true(body_has(r, "name=\"code\""));
	csrf_of(r, tok);
	snprintf(form, sizeof(form), "csrf=%s&next=%%2Fauthorize%%3Fclient_id%%3Dapp&loa=3&code=%s",
	    tok, code);
	fetch(f, c, "/login/totp", form, NULL, r);
}

static void
test_totp_stepup(void **state)
{
	struct fx *f = *state;
	unsigned char seed[TOTP_SEED_BYTES];
	char code[8], wrong[8], sid[64], sid2[64];
	struct dir_loa v = { 2, (char *)"registry", (char *)"test", NULL, 0 };
	struct sess_info si;
	CURL *c = browser();
	struct resp r = { 0 };

	/* No session: to the login form, keeping next. */
	fetch(f, c, "/login/totp?next=%2Faccount&loa=3", NULL, NULL, &r);
	assert_int_equal(r.status, 302);
	assert_string_equal(r.location, "/login?next=%2Faccount");
	login(f, c, f->idn, USER_PASSWORD, "/account", &r);
	assert_int_equal(r.status, 303);
	/* LoA 1 and no enrolment: the explanation, no form. */
	fetch(f, c, "/login/totp?next=%2Faccount&loa=3", NULL, NULL, &r);
	assert_int_equal(r.status, 403);
	assert_false(body_has(&r, "name=\"code\""));

	assert_int_equal(dir_person_set_loa(f->app.dir, f->uid, &v, 0, NULL), 0);
	assert_int_equal(totp_new_seed(seed), 0);
	assert_int_equal(dir_totp_set(f->app.dir, f->uid, seed, sizeof(seed), true), 0);
	login(f, c, f->idn, USER_PASSWORD, "/account", &r);
	cookie_of(&r, "yh_sid", sid, sizeof(sid));
	assert_int_equal(sess_get(f->app.sess, sid, 0, &si), 0);
	assert_int_equal(si.loa, 2);

	assert_int_equal(totp_generate(seed, sizeof(seed), yh_now(), 6, code, sizeof(code)), 0);
	memcpy(wrong, code, sizeof(wrong));
	wrong[0] = wrong[0] == '9' ? '0' : (char)(wrong[0] + 1);
	totp_post(f, c, wrong, &r);
	assert_int_equal(r.status, 200);
	assert_true(body_has(&r, "动态口令不正确"));
	totp_post(f, c, code, &r);
	assert_int_equal(r.status, 303);
	assert_string_equal(r.location, "/authorize?client_id=app");
	cookie_of(&r, "yh_sid", sid2, sizeof(sid2));
	assert_string_not_equal(sid, sid2);
	assert_int_equal(sess_get(f->app.sess, sid2, 0, &si), 0);
	assert_int_equal(si.loa, 3);
	bool otp = false, pwd = false;
	for (size_t i = 0; i < si.namr; i++) {
		otp = otp || strcmp(si.amr[i], "otp") == 0;
		pwd = pwd || strcmp(si.amr[i], "pwd") == 0;
	}
	assert_true(otp && pwd);
	assert_int_equal(count_audit(f, "login.stepup"), 1);
	/* The same code again (a new password login first): replay refused. */
	login(f, c, f->idn, USER_PASSWORD, "/account", &r);
	totp_post(f, c, code, &r);
	assert_int_equal(r.status, 200);
	assert_true(body_has(&r, "动态口令不正确"));
	/* Missing CSRF on the TOTP form. */
	fetch(f, c, "/login/totp", "code=123456", NULL, &r);
	assert_int_equal(r.status, 400);
	resp_free(&r);
	curl_easy_cleanup(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auth_fresh),
		cmocka_unit_test(test_ua_summary),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_page_html),
		cmocka_unit_test(test_templates),
		cmocka_unit_test(test_random_input),
		cmocka_unit_test(test_lang),
		cmocka_unit_test(test_csrf_tokens),
		cmocka_unit_test(test_csrf_session_binding),
		cmocka_unit_test(test_next_and_loa),
		cmocka_unit_test(test_audit_name),
		cmocka_unit_test_setup_teardown(test_login_flow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rehash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_csrf_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lockout, setup, teardown),
		cmocka_unit_test(test_policy_defaults),
		cmocka_unit_test_setup_teardown(test_lockout_configured, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inactive_and_language, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register, setup, teardown),
		cmocka_unit_test_setup_teardown(test_totp_stepup, setup, teardown),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
