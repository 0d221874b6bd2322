/* Server-rendered pages: layout, escaping, languages. See pages.h. */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/evp.h>

#include "authd/ui/pages.h"
#include "common/b64.h"
#include "common/log.h"
#include "common/url.h"
#include "common/utf8.h"
#include "identity/idn/idnum.h"

#define LANG_TAG_MAX 35            /* BCP 47 tags we look at */
#define LANG_PARAM_MAX 64
#define UI_LOCALES_MAX 256
#define ACCEPT_LANGUAGE_MAX 1024
#define LANG_COOKIE_MAX_AGE (365LL * 24 * 3600)

/* ------------------------------------------------------------------ languages */

/* "zh-CN" or "en" (the html lang attribute and the yh_lang cookie value). */
static const char *
page_lang_tag(enum page_lang l)
{
	return l == PAGE_LANG_EN ? "en" : "zh-CN";
}

int
page_lang_parse(const char *tag, size_t len, enum page_lang *out)
{
	size_t primary = 0;

	if (tag == NULL || len == 0 || len > LANG_TAG_MAX)
		return YH_ERR_NOT_FOUND;
	while (primary < len && tag[primary] != '-' && tag[primary] != '_')
		primary++;
	for (size_t i = 0; i < len; i++) {
		char c = tag[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return YH_ERR_NOT_FOUND;
	}
	if (primary == 2 && strncasecmp(tag, "zh", 2) == 0) {
		*out = PAGE_LANG_ZH;
		return 0;
	}
	if (primary == 2 && strncasecmp(tag, "en", 2) == 0) {
		*out = PAGE_LANG_EN;
		return 0;
	}
	return YH_ERR_NOT_FOUND;
}

static int
parse_whole(const char *s, enum page_lang *out)
{
	if (s == NULL)
		return YH_ERR_NOT_FOUND;
	return page_lang_parse(s, strnlen(s, LANG_TAG_MAX + 1), out);
}

/* ui_locales: space-separated tags in preference order. */
static int
parse_ui_locales(const char *s, enum page_lang *out)
{
	struct yh_span sp, tok;

	if (s == NULL || yh_span_check(yh_span_cstr(s), UI_LOCALES_MAX) != 0)
		return YH_ERR_NOT_FOUND;
	sp = yh_span_cstr(s);
	while (yh_span_split(&sp, ' ', &tok) == 0)
		if (page_lang_parse(tok.p, tok.len, out) == 0)
			return 0;
	return YH_ERR_NOT_FOUND;
}

/* A quality value "0", "0.5", "1", "1.000" as thousandths; -1 when malformed. */
static int
parse_q(struct yh_span v)
{
	int q, scale = 100;

	if (v.len == 0 || v.len > 5 || (v.p[0] != '0' && v.p[0] != '1'))
		return -1;
	q = (v.p[0] - '0') * 1000;
	if (v.len == 1)
		return q;
	if (v.p[1] != '.')
		return -1;
	for (size_t i = 2; i < v.len; i++, scale /= 10) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return -1;
		q += (v.p[i] - '0') * scale;
	}
	return q > 1000 ? -1 : q;
}

/* Accept-Language: the supported tag with the highest q (first listed on a tie). */
static int
parse_accept_language(const char *s, enum page_lang *out)
{
	struct yh_span sp, item, tag, param;
	int best_q = 0, found = YH_ERR_NOT_FOUND;

	if (s == NULL || yh_span_check(yh_span_cstr(s), ACCEPT_LANGUAGE_MAX) != 0)
		return YH_ERR_NOT_FOUND;
	sp = yh_span_cstr(s);
	while (yh_span_split(&sp, ',', &item) == 0) {
		enum page_lang l;
		int q = 1000;

		if (yh_span_split(&item, ';', &tag) != 0)
			continue;
		tag = yh_span_trim(tag);
		while (item.p != NULL && yh_span_split(&item, ';', &param) == 0) {
			param = yh_span_trim(param);
			if (param.len >= 2 && (param.p[0] == 'q' || param.p[0] == 'Q') &&
			    param.p[1] == '=')
				q = parse_q(yh_span_mem(param.p + 2, param.len - 2));
		}
		if (q <= 0 || page_lang_parse(tag.p, tag.len, &l) != 0)
			continue;
		if (q > best_q) {
			best_q = q;
			*out = l;
			found = 0;
		}
	}
	return found;
}

enum page_lang
page_lang_negotiate(const char *lang_param, const char *cookie, const char *ui_locales,
    const char *accept_language)
{
	enum page_lang l = PAGE_LANG_ZH;

	if (parse_whole(lang_param, &l) == 0 || parse_whole(cookie, &l) == 0 ||
	    parse_ui_locales(ui_locales, &l) == 0 ||
	    parse_accept_language(accept_language, &l) == 0)
		return l;
	return PAGE_LANG_ZH;
}

/* ui_locales of the request, else of the /authorize request in its `next`. *owned gets
 * what must be freed. */
static const char *
request_ui_locales(struct http_req *req, char **owned)
{
	const char *v = NULL, *next = NULL, *q;

	*owned = NULL;
	if (http_req_query(req, "ui_locales", UI_LOCALES_MAX, &v) == 0)
		return v;
	if (http_req_query(req, "next", PAGE_NEXT_MAX, &next) != 0 ||
	    (q = strchr(next, '?')) == NULL)
		return NULL;
	if (http_form_get(yh_span_cstr(q + 1), "ui_locales", UI_LOCALES_MAX, owned) != 0)
		return NULL;
	return *owned;
}

enum page_lang
page_lang_of(struct http_req *req)
{
	const char *lang = NULL;
	char *owned = NULL;
	enum page_lang l;

	if (http_req_query(req, "lang", LANG_PARAM_MAX, &lang) != 0)
		lang = NULL;
	l = page_lang_negotiate(lang, page_cookie(req, PAGE_LANG_COOKIE),
	    request_ui_locales(req, &owned), http_req_header(req, "Accept-Language"));
	free(owned);
	return l;
}

const char *
page_pick(enum page_lang l, const char *zh, const char *en)
{
	return l == PAGE_LANG_EN ? en : zh;
}

/* ------------------------------------------------------------------ strings */

struct msg { const char *zh, *en; };

static const struct msg msgs[PAGE_MSG_COUNT] = {
	[PAGE_MSG_SITE] = { "一号 · 统一身份认证", "Yihao · Unified Identity" },
	[PAGE_MSG_SWITCH] = { "English", "简体中文" },
	[PAGE_MSG_FOOTER] = {
		"请勿向任何人透露您的密码或动态口令，工作人员不会向您索要。",
		"Never tell anyone your password or one-time code: our staff will never ask "
		"for them." },
	[PAGE_MSG_LOGIN_TITLE] = { "登录", "Log in" },
	[PAGE_MSG_LOGIN_INTRO] = { "一个账号，登录所有接入的政务服务。",
		"One account for every connected government service." },
	[PAGE_MSG_USERNAME] = { "身份证号、手机号或用户名",
		"ID number, phone number or username" },
	[PAGE_MSG_USERNAME_HINT] = { "在部门系统中注册过的用户，也可以使用原用户名。",
		"If you registered with a department's system, your old username works "
		"too." },
	[PAGE_MSG_PASSWORD] = { "密码", "Password" },
	[PAGE_MSG_LOGIN_BUTTON] = { "登录", "Log in" },
	[PAGE_MSG_LOGIN_FAILED] = { "账号或密码不正确，或该账号目前无法使用。",
		"The account or the password is not correct, or the account cannot be used "
		"at present." },
	[PAGE_MSG_LOCKED] = {
		"登录失败次数过多，已暂时锁定。请30分钟后再试，或到服务窗口办理。",
		"Too many failed attempts: logging in is locked for now. Please try again in "
		"30 minutes, or visit a service counter." },
	[PAGE_MSG_MISSING_FIELDS] = { "请填写账号和密码。",
		"Please enter your account and your password." },
	[PAGE_MSG_NO_ACCOUNT] = { "还没有账号？", "No account yet?" },
	[PAGE_MSG_REGISTER_LINK] = { "注册新账号", "Create one" },
	[PAGE_MSG_TOTP_TITLE] = { "动态口令验证", "Authenticator code" },
	[PAGE_MSG_TOTP_INTRO] = {
		"此服务要求更高的安全级别。请打开您绑定的身份验证器应用，输入其中显示的6位动态口令。",
		"This service needs a higher level of assurance. Open your authenticator app "
		"and enter the 6-digit code it shows." },
	[PAGE_MSG_TOTP_CODE] = { "6位动态口令", "6-digit code" },
	[PAGE_MSG_TOTP_BUTTON] = { "验证", "Verify" },
	[PAGE_MSG_TOTP_FAILED] = {
		"动态口令不正确或已经使用过。请等待下一个口令后重试。",
		"The code is not correct or was already used. Wait for the next code and try "
		"again." },
	[PAGE_MSG_TOTP_NONE] = {
		"您还没有绑定身份验证器。请先在“我的账号”页面绑定。",
		"You have not set up an authenticator app yet. Set one up on your account "
		"page first." },
	[PAGE_MSG_TOTP_NOT_ENOUGH] = {
		"此服务要求经过实名核验的身份。请携带居民身份证到服务窗口办理核验。",
		"This service requires a verified identity. Please have your identity "
		"verified at a service counter (bring your resident identity card)." },
	[PAGE_MSG_REG_TITLE] = { "注册账号", "Create an account" },
	[PAGE_MSG_REG_INTRO] = { "请填写与居民身份证一致的信息。",
		"Enter your details exactly as they are on your resident identity card." },
	[PAGE_MSG_REG_NAME] = { "姓名", "Full name" },
	[PAGE_MSG_REG_ID_NUMBER] = { "居民身份证号码", "Resident ID number" },
	[PAGE_MSG_REG_PHONE] = { "手机号码", "Mobile phone number" },
	[PAGE_MSG_REG_PASSWORD] = { "设置密码", "Choose a password" },
	[PAGE_MSG_REG_PASSWORD_HINT] = {
		"至少8个字符，不能全是数字，不能与身份证号码或手机号码相同。",
		"At least 8 characters, not only digits, and neither your ID number nor your "
		"phone number." },
	[PAGE_MSG_REG_PASSWORD2] = { "再次输入密码", "Repeat the password" },
	[PAGE_MSG_REG_BUTTON] = { "注册", "Create the account" },
	[PAGE_MSG_REG_HAVE_ACCOUNT] = { "已有账号？", "Already have an account?" },
	[PAGE_MSG_REG_DONE_TITLE] = { "注册申请已提交", "Registration received" },
	[PAGE_MSG_REG_DONE_TEXT] = {
		"如果该身份证号码此前没有注册过，您的账号已经创建，请使用身份证号码和刚才设置的密码登录。"
		"如果该号码已经注册过，请使用原来的密码登录；忘记密码的，请到服务窗口办理。",
		"If this ID number was not registered before, your account has been created: "
		"log in with your ID number and the password you just chose. If it was "
		"registered before, log in with your existing password; if you have forgotten "
		"it, please visit a service counter." },
	[PAGE_MSG_REG_TOO_MANY] = { "注册请求过于频繁，请稍后再试。",
		"Too many registrations from your network. Please try again later." },
	[PAGE_MSG_ERR_NAME] = { "请填写正确的姓名。", "Please enter your full name." },
	[PAGE_MSG_ERR_PHONE] = { "请填写正确的手机号码（11位）。",
		"Please enter a valid mainland mobile phone number (11 digits)." },
	[PAGE_MSG_ERR_PW_SHORT] = { "密码至少需要8个字符。",
		"The password must have at least 8 characters." },
	[PAGE_MSG_ERR_PW_DIGITS] = { "密码不能全部是数字。",
		"The password must not consist of digits only." },
	[PAGE_MSG_ERR_PW_SAME] = { "密码不能与身份证号码或手机号码相同。",
		"The password must not be your ID number or your phone number." },
	[PAGE_MSG_ERR_PW_MISMATCH] = { "两次输入的密码不一致。",
		"The two passwords are not the same." },
	[PAGE_MSG_ERR_PW_LONG] = { "密码过长。", "The password is too long." },
	[PAGE_MSG_ERROR_TITLE] = { "出错了", "Something went wrong" },
	[PAGE_MSG_BAD_REQUEST] = { "请求无效，请返回后重试。",
		"The request was not valid. Please go back and try again." },
	[PAGE_MSG_CSRF] = {
		"表单已过期，或并非从本网站提交。请返回上一页，刷新后重试。",
		"The form has expired or was not sent from this site. Please go back, reload "
		"the page and try again." },
	[PAGE_MSG_UNAVAILABLE] = { "服务暂时繁忙，请稍后再试。",
		"The service is busy at the moment. Please try again shortly." },
	[PAGE_MSG_NOT_SAVED] = { "系统暂时无法保存数据，请稍后再试。",
		"The service cannot save anything at the moment. Please try again "
		"shortly." },
	[PAGE_MSG_SERVER_ERROR] = { "系统出现错误，请稍后再试。",
		"An error occurred. Please try again later." },
	[PAGE_MSG_BACK_TO_LOGIN] = { "返回登录", "Back to log in" },
	[PAGE_MSG_CONTINUE] = { "继续", "Continue" },
	[PAGE_MSG_ACCOUNT_LINK] = { "我的账号", "My account" },
};

const char *
page_msg(enum page_lang l, enum page_msg m)
{
	if ((unsigned)m >= PAGE_MSG_COUNT || msgs[m].zh == NULL)
		return "";
	return l == PAGE_LANG_EN ? msgs[m].en : msgs[m].zh;
}

const char *
page_idn_reason(enum page_lang l, int reason)
{
	switch (reason) {
	case IDN_OK:
		return "";
	case IDN_EMPTY:
		return page_pick(l, "请填写身份证号码。", "Please enter your ID number.");
	case IDN_BAD_LENGTH:
		return page_pick(l, "居民身份证号码应为18位（或旧版15位）。",
		    "A resident ID number has 18 characters (old ones 15).");
	case IDN_BAD_CHARSET:
		return page_pick(l, "身份证号码只能包含数字，最后一位可以是X。",
		    "An ID number has only digits; the last character may be X.");
	case IDN_BAD_CHECKSUM:
		return page_pick(l, "身份证号码的校验位不正确，请仔细核对。",
		    "The check character of this ID number is wrong: please check the number.");
	case IDN_BAD_BIRTHDATE:
		return page_pick(l, "身份证号码中的出生日期不存在。",
		    "The date of birth in this ID number is not a real date.");
	case IDN_FUTURE_BIRTHDATE:
		return page_pick(l, "身份证号码中的出生日期晚于今天。",
		    "The date of birth in this ID number is in the future.");
	case IDN_BAD_REGION:
		return page_pick(l, "身份证号码开头的地区代码无效。",
		    "The region code at the start of this ID number is not valid.");
	case IDN_SCIENTIFIC:
		return page_pick(l, "号码被改写成了科学计数法，请输入完整的18位号码。",
		    "The number was turned into scientific notation: enter all 18 characters.");
	default:
		return page_pick(l, "这不是有效的居民身份证号码。",
		    "This is not a valid resident ID number.");
	}
}

/* ------------------------------------------------------------------ escaping */

int
page_escape(struct yh_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
	size_t n = strlen((const char *)p);
	int r = 0;

	for (size_t i = 0; i < n && r == 0;) {
		uint32_t cp;
		size_t len = yh_utf8_next((const char *)p + i, n - i, &cp);
		unsigned char c = p[i];

		if (len == 0) {
			r = yh_buf_puts(b, "\xef\xbf\xbd");   /* U+FFFD */
			i++;
			continue;
		}
		if (len > 1) {
			r = yh_buf_append(b, p + i, len);
			i += len;
			continue;
		}
		switch (c) {
		case '&': r = yh_buf_puts(b, "&amp;"); break;
		case '<': r = yh_buf_puts(b, "&lt;"); break;
		case '>': r = yh_buf_puts(b, "&gt;"); break;
		case '"': r = yh_buf_puts(b, "&quot;"); break;
		case '\'': r = yh_buf_puts(b, "&#39;"); break;
		case '\t': case '\n': r = yh_buf_putc(b, (char)c); break;
		default:
			if (c < 0x20 || c == 0x7f)
				r = yh_buf_puts(b, "\xef\xbf\xbd");
			else
				r = yh_buf_putc(b, (char)c);
		}
		i++;
	}
	return r;
}

/* ------------------------------------------------------------------ the page builder */

static void
sticky(struct page *p, int r)
{
	if (r != 0 && p->err == 0)
		p->err = r;
}

void
page_init_lang(struct page *p, enum page_lang lang, bool https, const char *path)
{
	memset(p, 0, sizeof(*p));
	yh_buf_init(&p->b, PAGE_MAX);
	p->lang = lang;
	p->https = https;
	sticky(p, yh_strlcpy(p->path, path != NULL ? path : "/", sizeof(p->path)));
}

void
page_set_next(struct page *p, const char *next)
{
	free(p->next);
	p->next = NULL;
	if (next != NULL && next[0] != '\0' && strlen(next) <= PAGE_NEXT_MAX &&
	    (p->next = strdup(next)) == NULL)
		sticky(p, YH_ERR_ALLOC);
}

void
page_init(struct page *p, struct http_req *req, const char *path)
{
	const char *v = NULL;
	enum page_lang l;
	uint64_t loa;

	page_init_lang(p, page_lang_of(req), http_req_is_https(req), path);
	if (http_req_query(req, "lang", LANG_PARAM_MAX, &v) == 0 && parse_whole(v, &l) == 0)
		p->set_lang_cookie = true;
	if (http_req_query(req, "next", PAGE_NEXT_MAX, &v) == 0)
		page_set_next(p, v);
	if (http_req_query(req, "loa", 1, &v) == 0 && yh_parse_u64(v, 1, 4, &loa) == 0)
		p->loa = (int)loa;
}

void
page_free(struct page *p)
{
	if (p == NULL)
		return;
	yh_buf_free(&p->b);
	free(p->next);
	p->next = NULL;
}

void
page_text(struct page *p, const char *s)
{
	if (p->err == 0)
		sticky(p, page_escape(&p->b, s));
}

void
page_raw_trusted(struct page *p, const char *html)
{
	if (p->err == 0)
		sticky(p, yh_buf_puts(&p->b, html != NULL ? html : ""));
}

static void
page_vhtml(struct page *p, const char *fmt, va_list ap)
{
	const char *lit = fmt;

	for (const char *f = fmt; p->err == 0; f++) {
		if (*f != '%' && *f != '\0')
			continue;
		sticky(p, yh_buf_append(&p->b, lit, (size_t)(f - lit)));
		if (*f == '\0' || p->err != 0)
			break;
		f++;
		if (*f == 's')
			page_text(p, va_arg(ap, const char *));
		else if (*f == 'd')
			sticky(p, yh_buf_printf(&p->b, "%d", va_arg(ap, int)));
		else if (*f == 'u')
			sticky(p, yh_buf_printf(&p->b, "%u", va_arg(ap, unsigned)));
		else if (f[0] == 'z' && f[1] == 'u') {
			sticky(p, yh_buf_printf(&p->b, "%zu", va_arg(ap, size_t)));
			f++;
		}
		else if (*f == '%')
			sticky(p, yh_buf_putc(&p->b, '%'));
		else
			sticky(p, YH_ERR_INVALID);
		lit = f + 1;
	}
}

void
page_html(struct page *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	page_vhtml(p, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ layout */

/* The stylesheet, inline and allowed by its hash (no 'unsafe-inline'). Plain, legible,
 * large targets, visible focus; works from 320 px wide up. */
static const char page_css[] =
	"*{box-sizing:border-box}"
	"body{margin:0;font:16px/1.6 \"PingFang SC\",\"Microsoft YaHei\",\"Noto Sans CJK SC\","
	"\"Source Han Sans SC\",system-ui,sans-serif;color:#1b1f24;background:#f2f4f7}"
	".wrap{max-width:34rem;margin:0 auto;padding:0 1rem}"
	".top{background:#0b4ea2;color:#fff}"
	".top .wrap{display:flex;justify-content:space-between;align-items:center;"
	"min-height:3.25rem}"
	".brand{font-weight:600;font-size:1.0625rem}"
	".top a{color:#fff}"
	".card{background:#fff;border:1px solid #d5dbe3;border-radius:6px;padding:1.5rem;"
	"margin:1.5rem 0}"
	"h1{font-size:1.375rem;margin:0 0 .75rem}"
	"p{margin:.5rem 0}"
	"label{display:block;font-weight:600;margin:1rem 0 .25rem}"
	".hint{font-size:.875rem;color:#4a5563;margin:0 0 .25rem}"
	"input{width:100%;padding:.625rem .75rem;font:inherit;border:1px solid #7d8796;"
	"border-radius:4px;background:#fff}"
	"input[aria-invalid=true]{border-color:#b3261e}"
	"input:focus,button:focus,a:focus{outline:3px solid #f0b400;outline-offset:1px}"
	"button,.button{display:block;width:100%;margin-top:1.5rem;padding:.75rem;font:inherit;"
	"font-weight:600;color:#fff;background:#0b4ea2;border:0;border-radius:4px;"
	"text-align:center;text-decoration:none;cursor:pointer}"
	"button:hover,.button:hover{background:#083b7a}"
	".alert{border-left:4px solid #b3261e;background:#fdecea;padding:.75rem 1rem;"
	"margin:0 0 1rem}"
	".field-error{color:#b3261e;font-size:.875rem;margin:.25rem 0 0}"
	".alt{margin-top:1.25rem;text-align:center}"
	"a{color:#0b4ea2}"
	"footer{color:#5b6573;font-size:.8125rem;padding-bottom:2rem}"
	/* the account and consent pages */
	"h2{font-size:1.125rem;margin:1.5rem 0 .5rem;padding-top:1rem;border-top:1px solid #e3e7ed}"
	"dl{margin:.5rem 0}dt{font-weight:600;margin-top:.5rem}dd{margin:0 0 .25rem}"
	"table{width:100%;border-collapse:collapse;font-size:.875rem;margin:.5rem 0}"
	"th,td{text-align:left;padding:.375rem .25rem;border-bottom:1px solid #e3e7ed;"
	"vertical-align:top}"
	"tr.current{background:#eef4fc}"
	"form.inline{display:inline}"
	"form.inline button,.actions button{display:inline-block;width:auto;margin:.25rem .25rem 0 0;"
	"padding:.375rem .75rem;font-size:.875rem}"
	"button.secondary{background:#fff;color:#0b4ea2;border:1px solid #0b4ea2}"
	".actions{margin:.5rem 0}"
	".note{color:#4a5563;font-size:.875rem}"
	".notice{border-left:4px solid #1d7a3a;background:#e8f5ec;padding:.75rem 1rem}"
	"figure.qr{margin:1rem 0;text-align:center}figure.qr svg{max-width:100%;height:auto}"
	"code.secret{font-size:1rem;word-break:break-all;letter-spacing:.05em}"
	"ul.claims{padding-left:1.25rem}.claim{font-weight:600;margin-right:.5rem}";

static pthread_once_t csp_once = PTHREAD_ONCE_INIT;
static char csp_text[256];

static void
csp_init(void)
{
	unsigned char md[32];
	char b64[48];
	unsigned mdlen = 0;

	if (EVP_Digest(page_css, sizeof(page_css) - 1, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != sizeof(md)) {
		/* Unreachable in practice; fall back to a policy that still blocks scripts. */
		snprintf(csp_text, sizeof(csp_text), "default-src 'none'; style-src "
		    "'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'");
		return;
	}
	yh_b64_encode(md, sizeof(md), b64);
	/* No form-action: a login or consent form's POST ends, through 303 and /authorize's
	 * 302, at the app's redirect URI, and Chromium applies form-action to every
	 * redirect of a form submission. Every value on our pages is escaped, so there is
	 * no injected form for form-action to stop. */
	snprintf(csp_text, sizeof(csp_text), "default-src 'none'; style-src 'sha256-%s'; "
	    "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'", b64);
}

const char *
page_csp(void)
{
	pthread_once(&csp_once, csp_init);
	return csp_text;
}

/* The language switch link: this page's path with lang=<other>, keeping next and loa. */
static void
switch_href(struct page *p, enum page_lang other, struct yh_buf *h)
{
	int r = yh_buf_printf(h, "%s?lang=%s", p->path, page_lang_tag(other));

	if (r == 0 && p->next != NULL && (r = yh_buf_puts(h, "&next=")) == 0)
		r = yh_url_pct_encode(h, p->next);
	if (r == 0 && p->loa > 0)
		r = yh_buf_printf(h, "&loa=%d", p->loa);
	sticky(p, r);
}

void
page_begin(struct page *p, const char *title)
{
	enum page_lang other = p->lang == PAGE_LANG_EN ? PAGE_LANG_ZH : PAGE_LANG_EN;
	struct yh_buf h;

	if (p->begun)
		return;
	p->begun = true;
	yh_buf_init(&h, PAGE_NEXT_MAX * 3 + PAGE_PATH_MAX + 64);
	switch_href(p, other, &h);
	page_html(p, "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	    "<meta name=\"referrer\" content=\"no-referrer\">\n<title>%s - %s</title>\n<style>",
	    page_lang_tag(p->lang), title, page_msg(p->lang, PAGE_MSG_SITE));
	page_raw_trusted(p, page_css);
	page_html(p, "</style>\n</head>\n<body>\n<header class=\"top\"><div class=\"wrap\">"
	    "<span class=\"brand\">%s</span>\n<a href=\"%s\" hreflang=\"%s\" lang=\"%s\">%s</a>"
	    "</div></header>\n<main class=\"wrap\"><div class=\"card\">\n<h1>%s</h1>\n",
	    page_msg(p->lang, PAGE_MSG_SITE), yh_buf_cstr(&h), page_lang_tag(other),
	    page_lang_tag(other), page_msg(p->lang, PAGE_MSG_SWITCH), title);
	yh_buf_free(&h);
}

void
page_alert(struct page *p, const char *msg)
{
	if (msg != NULL && msg[0] != '\0')
		page_html(p, "<div class=\"alert\" role=\"alert\">%s</div>\n", msg);
}

void
page_form_hidden(struct page *p, const char *csrf, const char *next)
{
	page_html(p, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">\n", csrf);
	if (next != NULL)
		page_html(p, "<input type=\"hidden\" name=\"next\" value=\"%s\">\n", next);
}

/* The name of cookie name as authd sets it (see PAGE_COOKIE_HOST_PREFIX) into out. */
static int
cookie_name(const char *name, bool https, char out[sizeof(PAGE_COOKIE_HOST_PREFIX) +
    PAGE_COOKIE_NAME_MAX])
{
	size_t n;

	out[0] = '\0';
	if (name == NULL || (n = strnlen(name, PAGE_COOKIE_NAME_MAX + 1)) == 0 ||
	    n > PAGE_COOKIE_NAME_MAX)
		return YH_ERR_INVALID;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		    (name[i] >= '0' && name[i] <= '9') || name[i] == '_' || name[i] == '-'))
			return YH_ERR_INVALID;
	snprintf(out, sizeof(PAGE_COOKIE_HOST_PREFIX) + PAGE_COOKIE_NAME_MAX, "%s%s",
	    https ? PAGE_COOKIE_HOST_PREFIX : "", name);
	return 0;
}

int
page_set_cookie(struct http_req *req, const char *name, const char *value,
    long long max_age_s, bool https)
{
	char line[512], full[sizeof(PAGE_COOKIE_HOST_PREFIX) + PAGE_COOKIE_NAME_MAX];
	int n;

	if (max_age_s < 0)
		value = "";
	if (value == NULL || cookie_name(name, https, full) != 0)
		return YH_ERR_INVALID;
	for (const char *s = value; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.'))
			return YH_ERR_INVALID;
	if (max_age_s > 0)
		n = snprintf(line, sizeof(line), "%s=%s; Path=/; Max-Age=%lld; HttpOnly; "
		    "SameSite=Lax%s", full, value, max_age_s, https ? "; Secure" : "");
	else if (max_age_s < 0)
		n = snprintf(line, sizeof(line), "%s=; Path=/; Max-Age=0; HttpOnly; "
		    "SameSite=Lax%s", full, https ? "; Secure" : "");
	else
		n = snprintf(line, sizeof(line), "%s=%s; Path=/; HttpOnly; SameSite=Lax%s", full,
		    value, https ? "; Secure" : "");
	if (n < 0 || (size_t)n >= sizeof(line))
		return YH_ERR_TOO_LONG;
	return http_resp_header(req, "Set-Cookie", line);
}

const char *
page_cookie(struct http_req *req, const char *name)
{
	char full[sizeof(PAGE_COOKIE_HOST_PREFIX) + PAGE_COOKIE_NAME_MAX];

	if (cookie_name(name, http_req_is_https(req), full) != 0)
		return NULL;
	return http_req_cookie(req, full);
}

int
page_send(struct page *p, struct http_req *req, unsigned status)
{
	int r;

	if (!p->begun)
		sticky(p, YH_ERR_INTERNAL);
	page_html(p, "</div></main>\n<footer class=\"wrap\"><p>%s</p></footer>\n</body>\n"
	    "</html>\n", page_msg(p->lang, PAGE_MSG_FOOTER));
	if ((r = p->err) != 0)
		goto out;
	if (p->set_lang_cookie &&
	    (r = page_set_cookie(req, PAGE_LANG_COOKIE, page_lang_tag(p->lang),
	    LANG_COOKIE_MAX_AGE, p->https)) != 0)
		goto out;
	if ((r = http_resp_header(req, "Content-Security-Policy", page_csp())) != 0)
		goto out;
	http_resp_no_store(req);
	r = http_respond(req, status, "text/html; charset=utf-8", p->b.data, p->b.len);
out:
	if (r != 0)
		yh_error("cannot render page %s: %s", p->path, yh_strerror(r));
	page_free(p);
	return r;
}

/* ------------------------------------------------------------------ the login pages */

/* "/register?next=..." or "/login?next=..." for the cross links. */
static void
link_with_next(struct page *p, const char *path, const char *next, struct yh_buf *h)
{
	int r = yh_buf_puts(h, path);

	if (r == 0 && next != NULL && (r = yh_buf_puts(h, "?next=")) == 0)
		r = yh_url_pct_encode(h, next);
	sticky(p, r);
}

void
page_login_form(struct page *p, const char *csrf, const char *next, const char *username,
    const char *error)
{
	enum page_lang l = p->lang;
	struct yh_buf h;

	yh_buf_init(&h, PAGE_NEXT_MAX * 3 + 64);
	link_with_next(p, "/register", next, &h);
	page_html(p, "<p>%s</p>\n", page_msg(l, PAGE_MSG_LOGIN_INTRO));
	page_alert(p, error);
	page_html(p, "<form method=\"post\" action=\"/login\">\n");
	page_form_hidden(p, csrf, next);
	page_html(p, "<label for=\"username\">%s</label>\n"
	    "<p class=\"hint\" id=\"username-hint\">%s</p>\n"
	    "<input type=\"text\" id=\"username\" name=\"username\" value=\"%s\" "
	    "autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" "
	    "maxlength=\"256\" aria-describedby=\"username-hint\" required%s>\n"
	    "<label for=\"password\">%s</label>\n"
	    "<input type=\"password\" id=\"password\" name=\"password\" "
	    "autocomplete=\"current-password\" maxlength=\"1024\" required%s>\n"
	    "<button type=\"submit\">%s</button>\n</form>\n"
	    "<p class=\"alt\">%s <a href=\"%s\">%s</a></p>\n",
	    page_msg(l, PAGE_MSG_USERNAME), page_msg(l, PAGE_MSG_USERNAME_HINT),
	    username != NULL ? username : "",
	    username != NULL && username[0] != '\0' ? "" : " autofocus",
	    page_msg(l, PAGE_MSG_PASSWORD),
	    username != NULL && username[0] != '\0' ? " autofocus" : "",
	    page_msg(l, PAGE_MSG_LOGIN_BUTTON), page_msg(l, PAGE_MSG_NO_ACCOUNT),
	    yh_buf_cstr(&h), page_msg(l, PAGE_MSG_REGISTER_LINK));
	yh_buf_free(&h);
}

void
page_totp_form(struct page *p, const char *csrf, const char *next, int loa,
    const char *error)
{
	enum page_lang l = p->lang;

	page_html(p, "<p>%s</p>\n", page_msg(l, PAGE_MSG_TOTP_INTRO));
	page_alert(p, error);
	page_html(p, "<form method=\"post\" action=\"/login/totp\">\n");
	page_form_hidden(p, csrf, next);
	page_html(p, "<input type=\"hidden\" name=\"loa\" value=\"%d\">\n"
	    "<label for=\"code\">%s</label>\n"
	    "<input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\" "
	    "maxlength=\"7\" autocomplete=\"one-time-code\" "
	    "required autofocus>\n<button type=\"submit\">%s</button>\n</form>\n",
	    loa, page_msg(l, PAGE_MSG_TOTP_CODE), page_msg(l, PAGE_MSG_TOTP_BUTTON));
}

/* One labelled input of the registration form, with its error under it. */
static void
reg_field(struct page *p, const char *id, const char *type, const char *label,
    const char *hint, const char *value, const char *autocomplete, unsigned maxlen,
    const char *error)
{
	bool bad = error != NULL && error[0] != '\0';

	page_html(p, "<label for=\"%s\">%s</label>\n", id, label);
	if (hint != NULL)
		page_html(p, "<p class=\"hint\" id=\"%s-hint\">%s</p>\n", id, hint);
	page_html(p, "<input type=\"%s\" id=\"%s\" name=\"%s\" value=\"%s\" autocomplete=\"%s\" "
	    "maxlength=\"%u\" required", type, id, id, value != NULL ? value : "", autocomplete,
	    maxlen);
	if (bad)
		page_html(p, " aria-invalid=\"true\" aria-describedby=\"%s-error\"", id);
	else if (hint != NULL)
		page_html(p, " aria-describedby=\"%s-hint\"", id);
	page_html(p, ">\n");
	if (bad)
		page_html(p, "<p class=\"field-error\" id=\"%s-error\">%s</p>\n", id, error);
}

void
page_register_form(struct page *p, const char *csrf, const char *next,
    const struct page_reg_values *v, const struct page_reg_errors *e)
{
	static const struct page_reg_values nov;
	static const struct page_reg_errors noe;
	enum page_lang l = p->lang;
	struct yh_buf h;

	if (v == NULL)
		v = &nov;
	if (e == NULL)
		e = &noe;
	yh_buf_init(&h, PAGE_NEXT_MAX * 3 + 64);
	link_with_next(p, "/login", next, &h);
	page_html(p, "<p>%s</p>\n", page_msg(l, PAGE_MSG_REG_INTRO));
	page_alert(p, e->form);
	page_html(p, "<form method=\"post\" action=\"/register\">\n");
	page_form_hidden(p, csrf, next);
	reg_field(p, "name", "text", page_msg(l, PAGE_MSG_REG_NAME), NULL, v->name, "name", 85,
	    e->name);
	reg_field(p, "id_number", "text", page_msg(l, PAGE_MSG_REG_ID_NUMBER), NULL,
	    v->id_number, "off", 32, e->id_number);
	reg_field(p, "phone", "tel", page_msg(l, PAGE_MSG_REG_PHONE), NULL, v->phone, "tel", 20,
	    e->phone);
	reg_field(p, "password", "password", page_msg(l, PAGE_MSG_REG_PASSWORD),
	    page_msg(l, PAGE_MSG_REG_PASSWORD_HINT), NULL, "new-password", 1024, e->password);
	reg_field(p, "password2", "password", page_msg(l, PAGE_MSG_REG_PASSWORD2), NULL, NULL,
	    "new-password", 1024, e->password2);
	page_html(p, "<button type=\"submit\">%s</button>\n</form>\n"
	    "<p class=\"alt\">%s <a href=\"%s\">%s</a></p>\n",
	    page_msg(l, PAGE_MSG_REG_BUTTON), page_msg(l, PAGE_MSG_REG_HAVE_ACCOUNT),
	    yh_buf_cstr(&h), page_msg(l, PAGE_MSG_LOGIN_BUTTON));
	yh_buf_free(&h);
}

int
page_done_send(struct http_req *req, unsigned status, const char *title, const char *text,
    const char *link_href, const char *link_text)
{
	struct page p;

	page_init(&p, req, http_req_path(req));
	page_begin(&p, title);
	page_html(&p, "<p>%s</p>\n", text);
	if (link_href != NULL)
		page_html(&p, "<a class=\"button\" href=\"%s\">%s</a>\n", link_href,
		    link_text != NULL ? link_text : page_msg(p.lang, PAGE_MSG_CONTINUE));
	return page_send(&p, req, status);
}

int
page_error_send(struct http_req *req, unsigned status, const char *msg,
    const char *link_href, const char *link_text)
{
	struct page p;

	page_init(&p, req, http_req_path(req));
	page_begin(&p, page_msg(p.lang, PAGE_MSG_ERROR_TITLE));
	page_alert(&p, msg);
	if (link_href != NULL)
		page_html(&p, "<p class=\"alt\"><a href=\"%s\">%s</a></p>\n", link_href,
		    link_text != NULL ? link_text : page_msg(p.lang, PAGE_MSG_CONTINUE));
	return page_send(&p, req, status);
}

int
page_error_send_as(struct http_req *req, enum page_lang lang, bool https, const char *path,
    unsigned status, const char *msg)
{
	struct page p;

	page_init_lang(&p, lang, https, path);
	page_begin(&p, page_msg(p.lang, PAGE_MSG_ERROR_TITLE));
	page_alert(&p, msg);
	return page_send(&p, req, status);
}

unsigned
page_failure_status(int err)
{
	return yh_err_temporary(err) ? 503 : 500;
}

const char *
page_failure_msg(enum page_lang lang, int err)
{
	return page_msg(lang, err == YH_ERR_NOSPACE ? PAGE_MSG_NOT_SAVED :
	    yh_err_temporary(err) ? PAGE_MSG_UNAVAILABLE : PAGE_MSG_SERVER_ERROR);
}

int
page_failure_send(struct http_req *req, int err)
{
	return page_error_send(req, page_failure_status(err),
	    page_failure_msg(page_lang_of(req), err), NULL, NULL);
}

int
page_failure_send_as(struct http_req *req, enum page_lang lang, bool https,
    const char *path, int err)
{
	return page_error_send_as(req, lang, https, path, page_failure_status(err),
	    page_failure_msg(lang, err));
}
