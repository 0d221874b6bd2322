/*
 * GET/POST /consent and consent_granted (see consent.h). The authorization request is
 * parked in `next` ("/authorize?..."), as for the login pages: this file reads the
 * client, redirect URI, scope and state out of it, checks the client and the redirect
 * URI against the registry on every request, and never redirects anywhere else than to
 * next itself or to the client's registered redirect URI.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "authcore/audit/audit.h"
#include "authcore/clients/clients.h"
#include "authd/oidc/consent.h"
#include "authd/ui/csrf.h"
#include "authd/oidc/oidc.h"
#include "authd/login/login.h"
#include "authd/ui/pages.h"
#include "authd/ui/templates_gen.h"
#include "authd/app.h"
#include "authd/session/sess.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/url.h"
#include "identity/match/matchkey.h"
#include "identity/dir/dir.h"
#include "identity/idn/idnum.h"

#define CONSENT_PURPOSE "consent"
#define AUTHORIZE_PREFIX "/authorize?"
#define PARAM_MAX 2048            /* bytes of one parameter read out of next */
#define URL_MAX 8192              /* bytes of a redirect we build */

/* ---- scope lists ---- */

/* True when the name (len bytes) is one of the words of the space-separated list. */
static bool
list_has(const char *list, const char *name, size_t len)
{
	struct yh_span rest = yh_span_cstr(list), tok;

	while (list != NULL && yh_span_split(&rest, ' ', &tok) == 0)
		if (tok.len == len && memcmp(tok.p, name, len) == 0)
			return true;
	return false;
}

bool
consent_covers(const char *have, const char *want)
{
	struct yh_span rest = yh_span_cstr(want), tok;

	while (want != NULL && yh_span_split(&rest, ' ', &tok) == 0)
		if (tok.len > 0 && !list_has(have, tok.p, tok.len))
			return false;
	return true;
}

/* The scopes of requested that client_id may be granted, as names (consent_req does
 * the same for the page, so both sides agree on what needs consent). */
static int
grantable(struct authd_app *app, const char *client_id, const char *requested,
    char *names, size_t namesz)
{
	const struct clients_client *c;
	struct clients_snap *snap;
	unsigned bits = 0;
	int r;

	names[0] = '\0';
	(void)clients_refresh_if_changed(app->clients);
	snap = clients_acquire(app->clients);
	if ((c = clients_find(snap, client_id)) == NULL)
		r = YH_ERR_NOT_FOUND;
	else if ((r = oidc_scope_grant(c, requested, &bits)) == 0)
		r = clients_scope_format(bits, names, namesz);
	clients_release(snap);
	return r;
}

int
consent_granted(struct authd_app *app, const char *uid, const char *client_id,
    const char *scope, bool *granted)
{
	char names[160], *have = NULL;
	int r;

	*granted = false;
	if (!dir_uid_valid(uid))
		return YH_ERR_INVALID;
	if ((r = grantable(app, client_id, scope, names, sizeof(names))) != 0)
		return r;
	if (names[0] == '\0') {
		*granted = true;
		return 0;
	}
	r = dir_consent_get(app->dir, uid, client_id, &have);
	if (r == 0)
		*granted = consent_covers(have, names);
	else if (r == YH_ERR_NOT_FOUND)
		r = 0;
	free(have);
	return r;
}

/* ---- the parked authorization request ---- */

/* What the consent page needs from next. Strings owned by the struct. */
struct consent_req {
	char *client_id, *redirect_uri, *scope, *state;
	struct clients_snap *snap;
	const struct clients_client *client;   /* borrowed from snap */
	unsigned bits;                         /* the scopes the client would get */
	char scopes[160];                      /* the same, as names */
};

static void
creq_clear(struct consent_req *c)
{
	free(c->client_id);
	free(c->redirect_uri);
	free(c->scope);
	free(c->state);
	clients_release(c->snap);
	memset(c, 0, sizeof(*c));
}

/* True when next is a local /authorize request (the only next this page takes). */
static bool
next_ok(const char *next)
{
	return next != NULL && strncmp(next, AUTHORIZE_PREFIX, strlen(AUTHORIZE_PREFIX)) == 0 &&
	    strnlen(next, PAGE_NEXT_MAX + 1) <= PAGE_NEXT_MAX &&
	    strpbrk(next, "\r\n#") == NULL;
}

/* One parameter of next's query; NOT_FOUND leaves *out NULL. */
static int
next_param(const char *next, const char *name, bool required, char **out)
{
	const char *q = next + strlen(AUTHORIZE_PREFIX);
	int r = http_form_get(yh_span_cstr(q), name, PARAM_MAX, out);

	if (r == YH_ERR_NOT_FOUND && !required)
		r = 0;
	return r;
}

/*
 * Reads and checks the request parked in next: a known client, one of its registered
 * redirect URIs (exact), a scope that parses. Returns 0, YH_ERR_INVALID, or YH_ERR_PERM
 * (the client is disabled: no consent to record, no redirect to it).
 */
static int
creq_parse(struct authd_app *app, const char *next, struct consent_req *c)
{
	int r;

	memset(c, 0, sizeof(*c));
	if (!next_ok(next))
		return YH_ERR_INVALID;
	if ((r = next_param(next, "client_id", true, &c->client_id)) != 0 ||
	    (r = next_param(next, "redirect_uri", true, &c->redirect_uri)) != 0 ||
	    (r = next_param(next, "scope", false, &c->scope)) != 0 ||
	    (r = next_param(next, "state", false, &c->state)) != 0)
		return YH_ERR_INVALID;
	(void)clients_refresh_if_changed(app->clients);
	c->snap = clients_acquire(app->clients);
	if ((c->client = clients_find(c->snap, c->client_id)) == NULL ||
	    !clients_redirect_ok(c->client, c->redirect_uri))
		return YH_ERR_INVALID;
	if (c->client->disabled)
		return YH_ERR_PERM;
	if (oidc_scope_grant(c->client, c->scope, &c->bits) != 0 ||
	    clients_scope_format(c->bits, c->scopes, sizeof(c->scopes)) != 0)
		return YH_ERR_INVALID;
	return 0;
}

/* Appends the words of the space-separated list val except "consent" to words. */
static int
drop_consent_word(const char *val, struct yh_buf *words)
{
	struct yh_span rest = yh_span_cstr(val), w;
	int r = 0;

	while (r == 0 && yh_span_split(&rest, ' ', &w) == 0) {
		if (w.len == 0 || yh_span_eq(w, "consent"))
			continue;
		if (words->len > 0)
			r = yh_buf_putc(words, ' ');
		if (r == 0)
			r = yh_buf_append(words, w.p, w.len);
	}
	return r;
}

/* Appends one "name=value" piece of a query to b, with '&' when it is not the first. */
static int
query_piece(struct yh_buf *b, size_t start, const char *p, size_t len)
{
	int r = 0;

	if (b->len > start)
		r = yh_buf_putc(b, '&');
	return r != 0 ? r : yh_buf_append(b, p, len);
}

/*
 * next with the word "consent" taken out of its prompt parameter (the parameter goes
 * when nothing is left), so that the resumed /authorize does not ask again. Other
 * parameters are copied byte for byte. *out is malloc'd.
 */
static int
next_without_prompt_consent(const char *next, char **out)
{
	size_t plen = strlen(AUTHORIZE_PREFIX);
	struct yh_span rest = yh_span_cstr(next + plen), piece;
	struct yh_buf b, words;
	char *val = NULL;
	int r;

	*out = NULL;
	yh_buf_init(&b, URL_MAX);
	yh_buf_init(&words, PARAM_MAX);
	r = yh_buf_append(&b, next, plen);
	while (r == 0 && yh_span_split(&rest, '&', &piece) == 0) {
		if (!yh_span_startswith(piece, "prompt=")) {
			r = query_piece(&b, plen, piece.p, piece.len);
			continue;
		}
		yh_buf_reset(&words);
		if ((r = http_form_get(piece, "prompt", PARAM_MAX, &val)) == 0 &&
		    (r = drop_consent_word(val, &words)) == 0 && words.len > 0 &&
		    (r = query_piece(&b, plen, "prompt=", 7)) == 0)
			r = yh_url_pct_encode(&b, yh_buf_cstr(&words));
		free(val);
		val = NULL;
	}
	if (r == 0 && (*out = yh_buf_steal(&b)) == NULL)
		r = YH_ERR_ALLOC;
	yh_buf_free(&b);
	yh_buf_free(&words);
	return r;
}

/* ---- helpers for both methods ---- */

/* 302/303 to /login?next=<next>. */
static int
to_login(struct http_req *req, unsigned status, const char *next)
{
	struct yh_buf b;
	int r;

	yh_buf_init(&b, URL_MAX);
	if ((r = yh_buf_puts(&b, "/login?next=")) == 0 &&
	    (r = yh_url_pct_encode(&b, next)) == 0)
		r = http_respond_redirect(req, status, yh_buf_cstr(&b));
	yh_buf_free(&b);
	return r;
}

static int
bad_request(struct http_req *req)
{
	enum page_lang l = page_lang_of(req);

	return page_error_send(req, 400, page_msg(l, PAGE_MSG_BAD_REQUEST), NULL, NULL);
}

/* What creq_parse's refusal r answers: /authorize's page for a disabled app, else 400. */
static int
creq_refused(struct http_req *req, int r)
{
	if (r == YH_ERR_PERM)
		return page_error_send(req, 403, page_msg(page_lang_of(req),
		    PAGE_MSG_AZ_CLIENT_DISABLED), NULL, NULL);
	return bad_request(req);
}

/* ---- the page ---- */

/* One line of the consent page: the claim msg in words of language l and
 * the person's value for it, masked (phone and idn: the masked phone and ID number). */
static void
claim_line(struct tpl_consent_claims *out, enum page_lang l, enum page_msg msg,
    const struct dir_person *person, const char *phone, const char *idn)
{
	*out = (struct tpl_consent_claims){ .what = page_msg(l, msg) };
	switch (msg) {
	case PAGE_MSG_CLAIM_NAME:
		out->value = person->name;
		break;
	case PAGE_MSG_CLAIM_PHONE_MASKED:
		out->value = phone;
		break;
	case PAGE_MSG_CLAIM_PHONE:
		out->value = phone;
		out->masked = phone[0] != '\0';
		break;
	case PAGE_MSG_CLAIM_EMAIL:
		out->value = person->email;
		break;
	case PAGE_MSG_CLAIM_ID_NUMBER:
		out->value = idn;
		out->masked = idn[0] != '\0';
		break;
	default:
		break;
	}
}

/* The consent form (templates/consent.html), its token bound to the session si: the
 * claims of the scopes in c->bits, in words, with the person's values masked. */
static int
consent_page(struct authd_app *app, struct http_req *req, const struct sess_info *si,
    const char *next, const struct consent_req *c, const struct dir_person *person)
{
	char csrf[CSRF_TOKEN_SIZE], phone[64], idn[64];
	enum page_msg what[PAGE_CLAIMS_MAX];
	struct tpl_consent_claims claims[PAGE_CLAIMS_MAX];
	struct tpl_consent v;
	size_t n;
	struct page p;
	int r;

	if ((r = csrf_prepare(req, app->keys, CONSENT_PURPOSE, si->key, csrf)) != 0)
		return r;
	mk_phone_mask(person->phone, phone, sizeof(phone));
	idn_mask(person->id_number, idn, sizeof(idn));
	n = page_claims(c->bits, c->client->allow_id_number, what, PAGE_CLAIMS_MAX);
	for (size_t i = 0; i < n; i++)
		claim_line(&claims[i], page_lang_of(req), what[i], person, phone, idn);
	v = (struct tpl_consent){
		.client_name = c->client->name, .client_id = c->client->id,
		.csrf = csrf, .next = next, .claims = claims, .claims_n = n,
	};
	page_init(&p, req, "/consent");
	page_set_next(&p, next);
	page_begin(&p, page_msg(p.lang, PAGE_MSG_CONSENT_TITLE));
	tpl_consent_render(&p, &v);
	yh_wipe(csrf, sizeof(csrf));
	return page_send(&p, req, 200);
}

static int
consent_get(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct consent_req c;
	struct dir_person person;
	struct sess_info si;
	const char *next = NULL;
	int r = 0;

	memset(&person, 0, sizeof(person));
	memset(&c, 0, sizeof(c));
	if (http_req_query(req, "next", PAGE_NEXT_MAX, &next) != 0 ||
	    (r = creq_parse(app, next, &c)) != 0) {
		creq_clear(&c);
		return creq_refused(req, r);
	}
	if ((r = login_session_of(req, app, SESS_TOUCH, &si)) == YH_ERR_NOT_FOUND)
		r = to_login(req, 302, next);
	else if (r != 0)
		r = page_failure_send(req, r);
	else if (c.bits == 0)   /* nothing to consent to */
		r = http_respond_redirect(req, 302, next);
	else if ((r = dir_person_get(app->dir, si.uid, &person)) != 0)
		r = page_failure_send(req, r);
	else
		r = consent_page(app, req, &si, next, &c, &person);
	dir_person_clear(&person);
	creq_clear(&c);
	return r;
}

/* ---- the answer ---- */

static int
audit_grant(struct authd_app *app, const char *uid, const struct consent_req *c)
{
	char actor[8 + SESS_UID_MAX];
	json_t *f;
	int r;

	snprintf(actor, sizeof(actor), "user:%s", uid);
	if ((f = json_pack("{s:s, s:s}", "client_id", c->client->id, "scope", c->scopes)) ==
	    NULL)
		return YH_ERR_ALLOC;
	r = yh_audit_write(app->audit, "consent.grant", actor, f);
	json_decref(f);
	return r;
}

static int
allow(struct authd_app *app, struct http_req *req, const char *uid, const char *next,
    const struct consent_req *c)
{
	char *to = NULL;
	int r;

	if (c->bits != 0) {
		if ((r = dir_consent_set(app->dir, uid, c->client->id, c->scopes)) != 0) {
			yh_error("consent for %s: %s", c->client->id, yh_strerror(r));
			return page_failure_send(req, r);
		}
		if ((r = audit_grant(app, uid, c)) != 0) {
			yh_error("audit consent.grant: %s", yh_strerror(r));
			return page_failure_send(req, r);
		}
	}
	if ((r = next_without_prompt_consent(next, &to)) == 0)
		r = http_respond_redirect(req, 303, to);
	free(to);
	return r;
}

/* The OAuth answer to a refusal, at the client's redirect URI (checked in creq_parse). */
static int
deny(struct authd_app *app, struct http_req *req, const struct consent_req *c)
{
	struct yh_buf b;
	int r;

	yh_buf_init(&b, URL_MAX);
	if ((r = yh_buf_puts(&b, c->redirect_uri)) == 0 &&
	    (r = oidc_url_param(&b, "error", "access_denied")) == 0 &&
	    (r = oidc_url_param(&b, "error_description", "the user refused")) == 0 &&
	    (r = oidc_url_param(&b, "state", c->state)) == 0 &&
	    (r = oidc_url_param(&b, "iss", app->issuer)) == 0)
		r = http_respond_redirect(req, 303, yh_buf_cstr(&b));
	yh_buf_free(&b);
	return r;
}

static int
consent_post(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct consent_req c;
	struct sess_info si;
	char *next = NULL, *action = NULL;
	int r;

	memset(&c, 0, sizeof(c));
	r = 0;
	if (http_req_form(req, "next", PAGE_NEXT_MAX, &next) != 0 ||
	    http_req_form(req, "action", 16, &action) != 0 ||
	    (r = creq_parse(app, next, &c)) != 0) {
		r = creq_refused(req, r);
		goto out;
	}
	if ((r = login_session_of(req, app, SESS_TOUCH, &si)) == YH_ERR_NOT_FOUND) {
		r = to_login(req, 303, next);
		goto out;
	}
	if (r != 0) {
		r = page_failure_send(req, r);
		goto out;
	}
	if ((r = csrf_verify(req, app->keys, CONSENT_PURPOSE, si.key)) != 0) {
		r = r == YH_ERR_DENIED ? csrf_respond_rejected(req) : r;
		goto out;
	}
	if (strcmp(action, "allow") == 0)
		r = allow(app, req, si.uid, next, &c);
	else if (strcmp(action, "deny") == 0)
		r = deny(app, req, &c);
	else
		r = bad_request(req);
out:
	creq_clear(&c);
	free(next);
	free(action);
	return r;
}

static const struct http_route consent_routes[] = {
	{ "GET", "/consent", consent_get, HTTP_ROUTE_NO_STORE },
	{ "POST", "/consent", consent_post, HTTP_ROUTE_NO_STORE },
	{ NULL, NULL, NULL, 0 },
};

int
consent_register(struct http_server *srv, struct authd_app *app)
{
	return http_routes_add(srv, consent_routes, app);
}
