/* Server-rendered pages: layout, escaping, languages. See pages.h. */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/evp.h>

#include "authcore/clients/clients.h"
#include "authd/ui/pages.h"
#include "authd/ui/templates_gen.h"
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

/* ------------------------------------------------------------------ messages */

const char *
page_msg(enum page_lang l, enum page_msg m)
{
	if ((unsigned)m >= PAGE_MSG_COUNT)
		return "";
	return page_msg_text[m][l == PAGE_LANG_EN ? 1 : 0];
}

const char *
page_idn_reason(enum page_lang l, int reason)
{
	enum page_msg m;

	switch (reason) {
	case IDN_OK: m = PAGE_MSG_NONE; break;
	case IDN_EMPTY: m = PAGE_MSG_IDN_EMPTY; break;
	case IDN_BAD_LENGTH: m = PAGE_MSG_IDN_BAD_LENGTH; break;
	case IDN_BAD_CHARSET: m = PAGE_MSG_IDN_BAD_CHARSET; break;
	case IDN_BAD_CHECKSUM: m = PAGE_MSG_IDN_BAD_CHECKSUM; break;
	case IDN_BAD_BIRTHDATE: m = PAGE_MSG_IDN_BAD_BIRTHDATE; break;
	case IDN_FUTURE_BIRTHDATE: m = PAGE_MSG_IDN_FUTURE_BIRTHDATE; break;
	case IDN_BAD_REGION: m = PAGE_MSG_IDN_BAD_REGION; break;
	case IDN_SCIENTIFIC: m = PAGE_MSG_IDN_SCIENTIFIC; break;
	default: m = PAGE_MSG_IDN_INVALID; break;
	}
	return page_msg(l, m);
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
page_set_keep(struct page *p, const struct tpl_layout_keep *keep, size_t n)
{
	p->keep = n > 0 ? keep : NULL;
	p->keep_n = keep != NULL ? n : 0;
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

/* Appends markup made by this program (never from a request or the directory): only
 * a template's {{{name}}} slots reach it. */
static void
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

/* ------------------------------------------------------------------ templates */

/* The value of a slot at offset off of the struct at base (memcpy: no alignment or
 * aliasing assumption about the generated offsets). */
static const char *
slot_str(const void *base, size_t off)
{
	const char *s;

	memcpy(&s, (const char *)base + off, sizeof(s));
	return s;
}

static int
slot_int(const void *base, size_t off)
{
	int v;

	memcpy(&v, (const char *)base + off, sizeof(v));
	return v;
}

static bool
slot_present(const void *base, const struct page_tpl_op *o)
{
	const char *s;
	size_t n;
	bool b;

	switch (o->kind) {
	case PAGE_SLOT_STR:
		s = slot_str(base, o->a);
		return s != NULL && s[0] != '\0';
	case PAGE_SLOT_INT:
		return slot_int(base, o->a) != 0;
	case PAGE_SLOT_BOOL:
		memcpy(&b, (const char *)base + o->a, sizeof(b));
		return b;
	case PAGE_SLOT_SIZE:
		memcpy(&n, (const char *)base + o->a, sizeof(n));
		return n > 0;
	default:
		return false;
	}
}

/* A local path of this program's: "/" and more, never "//host" nor "/\\host". */
static bool
local_path(const char *s)
{
	return s[0] == '/' && s[1] != '/' && s[1] != '\\';
}

/* Appends a string slot as o says. */
static void
render_str(struct page *p, const struct page_tpl *t, const struct page_tpl_op *o,
    const char *s)
{
	if (s == NULL) {
		if (o->required) {
			yh_error("page %s: template %s: slot %s is NULL", p->path, t->name,
			    o->name);
			sticky(p, YH_ERR_INVALID);
		}
		return;
	}
	switch (o->op) {
	case PAGE_OP_TEXT:
		page_text(p, s);
		break;
	case PAGE_OP_URL:
		if (local_path(s))
			page_text(p, s);
		else {
			yh_error("page %s: template %s: slot %s is not a local path", p->path,
			    t->name, o->name);
			sticky(p, YH_ERR_INVALID);
		}
		break;
	case PAGE_OP_PCT:
		sticky(p, yh_url_pct_encode(&p->b, s));
		break;
	default:
		page_raw_trusted(p, s);
		break;
	}
}

static void render_ops(struct page *p, const struct page_tpl *t, const void *v,
    const void *item, size_t i, size_t end);

/* The body of a list (ops from + 1 to o->end) once for each of its items. */
static void
render_each(struct page *p, const struct page_tpl *t, const void *v, size_t from)
{
	const struct page_tpl_op *o = &t->ops[from];
	const char *items;
	size_t n;

	memcpy(&items, (const char *)v + o->a, sizeof(items));
	memcpy(&n, (const char *)v + o->b, sizeof(n));
	for (size_t k = 0; k < n && items != NULL && p->err == 0; k++)
		render_ops(p, t, v, items + k * o->size, from + 1, o->end);
}

/* Runs ops i .. end of t on the values v (item: the current list item, or NULL). */
static void
render_ops(struct page *p, const struct page_tpl *t, const void *v, const void *item,
    size_t i, size_t end)
{
	while (i < end && p->err == 0) {
		const struct page_tpl_op *o = &t->ops[i];
		const void *base = o->item ? item : v;

		if (base == NULL) {
			sticky(p, YH_ERR_INTERNAL);
			break;
		}
		switch (o->op) {
		case PAGE_OP_LIT:
			sticky(p, yh_buf_append(&p->b, t->text + o->a, o->b));
			break;
		case PAGE_OP_TEXT:
		case PAGE_OP_URL:
		case PAGE_OP_PCT:
		case PAGE_OP_RAW:
			render_str(p, t, o, slot_str(base, o->a));
			break;
		case PAGE_OP_INT:
			sticky(p, yh_buf_printf(&p->b, "%d", slot_int(base, o->a)));
			break;
		case PAGE_OP_MSG:
			page_text(p, page_msg(p->lang, (enum page_msg)o->a));
			break;
		case PAGE_OP_IF:
		case PAGE_OP_UNLESS:
			if (slot_present(base, o) != (o->op == PAGE_OP_IF)) {
				i = o->end;
				continue;
			}
			break;
		case PAGE_OP_EACH:
			render_each(p, t, v, i);
			i = o->end;
			continue;
		default:
			sticky(p, YH_ERR_INTERNAL);
			break;
		}
		i++;
	}
}

void
page_render(struct page *p, const struct page_tpl *t, const void *v)
{
	render_ops(p, t, v, NULL, 0, t->body);
}

/* ------------------------------------------------------------------ layout */

static pthread_once_t csp_once = PTHREAD_ONCE_INIT;
static char csp_text[256];

static void
csp_init(void)
{
	unsigned char md[32];
	char b64[48];
	unsigned mdlen = 0;

	/* The stylesheet (templates/style.css), inline in every page's <style>. */
	if (EVP_Digest(tpl_file_style, tpl_file_style_len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
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

/* The layout's slots: the page's language, the other one (for the switch link, which
 * keeps next, loa and the page's kept parameters), its path and title. */
static void
layout_values(const struct page *p, const char *title, struct tpl_layout *v)
{
	memset(v, 0, sizeof(*v));
	v->lang = page_lang_tag(p->lang);
	v->other = page_lang_tag(p->lang == PAGE_LANG_EN ? PAGE_LANG_ZH : PAGE_LANG_EN);
	v->path = p->path;
	v->next = p->next;
	v->loa = p->loa;
	v->keep = p->keep;
	v->keep_n = p->keep_n;
	v->title = title;
	v->css = tpl_file_style;
}

void
page_begin(struct page *p, const char *title)
{
	struct tpl_layout v;

	if (p->begun)
		return;
	p->begun = true;
	layout_values(p, title, &v);
	tpl_layout_render(p, &v);
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

void
page_script(struct page *p, const char *script)
{
	unsigned char md[32];
	char b64[48];
	unsigned mdlen = 0;

	if (p->script_src[0] != '\0' || strstr(script, "</") != NULL ||
	    EVP_Digest(script, strlen(script), md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != sizeof(md)) {
		sticky(p, YH_ERR_INTERNAL);
		return;
	}
	yh_b64_encode(md, sizeof(md), b64);
	snprintf(p->script_src, sizeof(p->script_src), "'sha256-%s'", b64);
	sticky(p, yh_buf_puts(&p->b, "<script>"));
	sticky(p, yh_buf_puts(&p->b, script));
	sticky(p, yh_buf_puts(&p->b, "</script>\n"));
}

int
page_send(struct page *p, struct http_req *req, unsigned status)
{
	struct tpl_layout v;
	char csp[sizeof(((struct page *)0)->script_src) + 320];
	int r;

	if (!p->begun)
		sticky(p, YH_ERR_INTERNAL);
	layout_values(p, "", &v);
	render_ops(p, &tpl_layout, &v, NULL, tpl_layout.body + 1, tpl_layout.nops);
	if ((r = p->err) != 0)
		goto out;
	if (p->set_lang_cookie &&
	    (r = page_set_cookie(req, PAGE_LANG_COOKIE, page_lang_tag(p->lang),
	    LANG_COOKIE_MAX_AGE, p->https)) != 0)
		goto out;
	snprintf(csp, sizeof(csp), "%s%s%s", page_csp(), p->script_src[0] != '\0' ?
	    "; script-src " : "", p->script_src);
	if ((r = http_resp_header(req, "Content-Security-Policy", csp)) != 0)
		goto out;
	http_resp_no_store(req);
	r = http_respond(req, status, "text/html; charset=utf-8", p->b.data, p->b.len);
out:
	if (r != 0)
		yh_error("cannot render page %s: %s", p->path, yh_strerror(r));
	page_free(p);
	return r;
}

/* ------------------------------------------------------------- what an app receives */

size_t
page_claims(unsigned bits, bool id_number, enum page_msg *out, size_t max)
{
	static const struct { unsigned bit, without; enum page_msg msg; } t[] = {
		{ CLIENTS_SCOPE_OPENID, 0, PAGE_MSG_CLAIM_OPENID },
		{ CLIENTS_SCOPE_PROFILE, 0, PAGE_MSG_CLAIM_NAME },
		{ CLIENTS_SCOPE_PROFILE, CLIENTS_SCOPE_PHONE, PAGE_MSG_CLAIM_PHONE_MASKED },
		{ CLIENTS_SCOPE_PHONE, 0, PAGE_MSG_CLAIM_PHONE },
		{ CLIENTS_SCOPE_EMAIL, 0, PAGE_MSG_CLAIM_EMAIL },
		{ CLIENTS_SCOPE_ID_NUMBER, 0, PAGE_MSG_CLAIM_ID_NUMBER },
		{ CLIENTS_SCOPE_ORG, 0, PAGE_MSG_CLAIM_ORG },
		{ CLIENTS_SCOPE_STAFF, 0, PAGE_MSG_CLAIM_STAFF },
		{ CLIENTS_SCOPE_OFFLINE_ACCESS, 0, PAGE_MSG_CLAIM_OFFLINE },
	};
	size_t n = 0;

	if (!id_number)
		bits &= ~(unsigned)CLIENTS_SCOPE_ID_NUMBER;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]) && n < max; i++)
		if ((bits & t[i].bit) != 0 && (bits & t[i].without) == 0)
			out[n++] = t[i].msg;
	return n;
}

/* ------------------------------------------------------------------ the login pages */

void
page_login_form(struct page *p, const char *csrf, const char *next, const char *username,
    const char *error, const char *app, const struct page_upstream_button *ups,
    size_t nups, bool ldap)
{
	struct tpl_login_upstreams items[PAGE_UPSTREAMS_MAX];
	char labels[PAGE_UPSTREAMS_MAX][256];
	struct tpl_login v = {
		.alert = error, .csrf = csrf, .next = next, .app = app, .ldap = ldap,
		.username = username != NULL ? username : "",
		.prefilled = username != NULL && username[0] != '\0',
	};
	const char *fmt = page_msg(p->lang, PAGE_MSG_UPSTREAM_BUTTON);
	const char *at = strstr(fmt, "{name}");

	for (size_t i = 0; i < nups && i < PAGE_UPSTREAMS_MAX && at != NULL; i++) {
		snprintf(labels[i], sizeof(labels[i]), "%.*s%s%s", (int)(at - fmt), fmt,
		    ups[i].name, at + strlen("{name}"));
		items[i] = (struct tpl_login_upstreams){ .path = ups[i].path,
		    .next = next != NULL ? next : "", .label = labels[i] };
		v.upstreams_n = i + 1;
	}
	v.upstreams = items;
	tpl_login_render(p, &v);
}

void
page_totp_form(struct page *p, const char *csrf, const char *next, int loa,
    const char *error)
{
	struct tpl_totp v = { .alert = error, .csrf = csrf, .next = next, .loa = loa };

	tpl_totp_render(p, &v);
}

void
page_register_form(struct page *p, const char *csrf, const char *next,
    const struct page_reg_values *rv, const struct page_reg_errors *e)
{
	static const struct page_reg_values nov;
	static const struct page_reg_errors noe;
	struct tpl_register v;

	if (rv == NULL)
		rv = &nov;
	if (e == NULL)
		e = &noe;
	v = (struct tpl_register){
		.csrf = csrf, .next = next, .alert = e->form,
		.name = rv->name != NULL ? rv->name : "", .name_error = e->name,
		.id_number = rv->id_number != NULL ? rv->id_number : "",
		.id_number_error = e->id_number,
		.phone = rv->phone != NULL ? rv->phone : "", .phone_error = e->phone,
		.password_error = e->password, .password2_error = e->password2,
		.notice = rv->notice, .notice_version = rv->notice_version,
		.agree = rv->agree, .agree_error = e->agree,
		.consent_id = rv->consent_id, .consent_id_error = e->consent_id,
		.sms = rv->sms, .sms_notice = rv->sms_notice, .sms_wait_s = rv->sms_wait_s,
		.sms_code_error = e->sms_code,
	};
	tpl_register_render(p, &v);
}

int
page_done_send(struct http_req *req, unsigned status, const char *title, const char *text,
    const char *link_href, const char *link_text)
{
	struct tpl_done v = { .text = text, .link = link_href, .link_text = link_text };
	struct page p;

	page_init(&p, req, http_req_path(req));
	page_begin(&p, title);
	if (v.link_text == NULL)
		v.link_text = page_msg(p.lang, PAGE_MSG_CONTINUE);
	tpl_done_render(&p, &v);
	return page_send(&p, req, status);
}

int
page_error_send(struct http_req *req, unsigned status, const char *msg,
    const char *link_href, const char *link_text)
{
	struct tpl_error v = { .alert = msg, .link = link_href, .link_text = link_text };
	struct page p;

	page_init(&p, req, http_req_path(req));
	page_begin(&p, page_msg(p.lang, PAGE_MSG_ERROR_TITLE));
	if (v.link_text == NULL)
		v.link_text = page_msg(p.lang, PAGE_MSG_CONTINUE);
	tpl_error_render(&p, &v);
	return page_send(&p, req, status);
}

int
page_error_send_as(struct http_req *req, enum page_lang lang, bool https, const char *path,
    unsigned status, const char *msg)
{
	struct tpl_error v = { .alert = msg };
	struct page p;

	page_init_lang(&p, lang, https, path);
	page_begin(&p, page_msg(p.lang, PAGE_MSG_ERROR_TITLE));
	tpl_error_render(&p, &v);
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
