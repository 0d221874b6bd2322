/*
 * The account page (see account.h): GET /account and the POSTs that change what it
 * shows. Every handler starts with the session (none: to the login page) and every
 * POST with the CSRF check; slow work (argon2 for a password change) goes to the
 * worker pool. What the page prints about the person is masked (ID number, phone).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <jansson.h>

#include "authd/account/account.h"
#include "authcore/audit/audit.h"
#include "authcore/clients/clients.h"
#include "authd/ui/csrf.h"
#include "authd/login/login.h"
#include "authd/oidc/oidc.h"
#include "authd/oidc/token.h"
#include "authd/ui/pages.h"
#include "authd/ui/qr.h"
#include "authd/ui/templates_gen.h"
#include "authd/ui/ua.h"
#include "authd/app.h"
#include "authd/session/sess.h"
#include "common/workers.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/utf8.h"
#include "identity/match/matchkey.h"
#include "identity/dir/dir.h"
#include "identity/identity.h"
#include "identity/idn/idnum.h"
#include "identity/passwd/passwd.h"
#include "identity/totp.h"

#define PW_FIELD_MAX PW_PASSWORD_MAX
#define QR_PX 220

/* ---- small helpers ---- */

/* Unix seconds as China Standard Time, "2026-11-22 12:30". */
static void
fmt_cst(int64_t secs, char *out, size_t outsz)
{
	time_t t = (time_t)(secs + 8 * 3600);
	struct tm tm;

	if (secs <= 0 || gmtime_r(&t, &tm) == NULL || strftime(out, outsz, "%Y-%m-%d %H:%M",
	    &tm) == 0)
		snprintf(out, outsz, "-");
}

static int
bad_request(struct http_req *req)
{
	return page_error_send(req, 400, page_msg(page_lang_of(req), PAGE_MSG_BAD_REQUEST),
	    "/account", page_msg(page_lang_of(req), PAGE_MSG_ACCOUNT_LINK));
}

/*
 * The start of every handler: the session, and for a POST the CSRF token. Returns 0
 * (the handler goes on, unless the request was answered: the login page, an error
 * page, the CSRF rejection; http_req_answered) or an error to return.
 */
static int
enter(struct authd_app *app, struct http_req *req, bool post, struct sess_info *si)
{
	int r = account_session(app, req, post, si);

	if (r != 0 || http_req_answered(req))
		return r;
	if (post && (r = csrf_verify(req, app->keys, ACCOUNT_PURPOSE, si->key)) != 0)
		return r == YH_ERR_DENIED ? csrf_respond_rejected(req) : r;
	return 0;
}

/* 303 back to the account page with a notice key (one of the fixed ones below). */
static int
back(struct http_req *req, const char *done)
{
	char to[64];

	snprintf(to, sizeof(to), "/account?done=%s", done);
	return http_respond_redirect(req, 303, to);
}

/* Expires the session cookie (after ending the current session). */
static int
drop_cookie(struct http_req *req)
{
	return page_set_cookie(req, LOGIN_SID_COOKIE, "deleted", -1, http_req_is_https(req));
}

/* A form's text field into *out (malloc'd); NULL when absent. */
static int
field(struct http_req *req, const char *name, size_t max, char **out)
{
	int r = http_req_form(req, name, max, out);

	return r == YH_ERR_NOT_FOUND ? 0 : r;
}

/* ---- words ---- */

/* How a level of assurance was reached, in words; an unknown method as it is. */
static const char *
method_words(enum page_lang l, const char *m)
{
	static const struct { const char *m; enum page_msg msg; } t[] = {
		{ "self", PAGE_MSG_METHOD_SELF },
		{ "registry", PAGE_MSG_METHOD_REGISTRY },
		{ "counter", PAGE_MSG_METHOD_COUNTER },
		{ "ca", PAGE_MSG_METHOD_CA },
		{ "import", PAGE_MSG_METHOD_IMPORT },
		{ "operator", PAGE_MSG_METHOD_OPERATOR },
		{ "totp", PAGE_MSG_METHOD_TOTP },
	};

	for (size_t i = 0; m != NULL && i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(m, t[i].m) == 0)
			return page_msg(l, t[i].msg);
	return m != NULL ? m : "-";
}

/* How the account came to be (dir_person.origin), in words. */
static const char *
origin_words(enum page_lang l, const char *o)
{
	static const struct { const char *o; enum page_msg msg; } t[] = {
		{ DIR_ORIGIN_SELF, PAGE_MSG_ORIGIN_SELF },
		{ DIR_ORIGIN_OPERATOR, PAGE_MSG_ORIGIN_OPERATOR },
		{ DIR_ORIGIN_IMPORT, PAGE_MSG_ORIGIN_IMPORT },
		{ DIR_ORIGIN_CERT, PAGE_MSG_ORIGIN_CERT },
	};

	for (size_t i = 0; o != NULL && i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(o, t[i].o) == 0)
			return page_msg(l, t[i].msg);
	return page_msg(l, PAGE_MSG_ORIGIN_UNKNOWN);
}

static const char *
amr_words(enum page_lang l, const char *a)
{
	if (strcmp(a, "pwd") == 0)
		return page_msg(l, PAGE_MSG_AMR_PWD);
	if (strcmp(a, "otp") == 0)
		return page_msg(l, PAGE_MSG_AMR_OTP);
	if (strcmp(a, "sms") == 0)
		return page_msg(l, PAGE_MSG_AMR_SMS);
	if (strcmp(a, "ldap") == 0)
		return page_msg(l, PAGE_MSG_AMR_LDAP);
	return a;
}

/* The notice for /account?done=KEY (fixed keys only: the parameter is never echoed),
 * or NULL. */
static const char *
done_words(enum page_lang l, const char *key)
{
	static const struct { const char *k; enum page_msg msg; } t[] = {
		{ "ended", PAGE_MSG_ACCT_DONE_ENDED },
		{ "gone", PAGE_MSG_ACCT_DONE_GONE },
		{ "others", PAGE_MSG_ACCT_DONE_OTHERS },
		{ "revoked", PAGE_MSG_ACCT_DONE_REVOKED },
		{ "cert-unbound", PAGE_MSG_ACCT_DONE_CERT_UNBOUND },
		{ "totp", PAGE_MSG_ACCT_DONE_TOTP },
		{ "totp-removed", PAGE_MSG_ACCT_DONE_TOTP_REMOVED },
		{ "totp-exists", PAGE_MSG_ACCT_DONE_TOTP_EXISTS },
		{ "password", PAGE_MSG_ACCT_DONE_PASSWORD },
		{ "phone", PAGE_MSG_ACCT_DONE_PHONE },
	};

	for (size_t i = 0; key != NULL && i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(key, t[i].k) == 0)
			return page_msg(l, t[i].msg);
	return NULL;
}

/* Appends word to the list in out (sep between words); a list that would not fit is
 * cut at the last whole word. */
static void
list_add(char *out, size_t outsz, const char *sep, const char *word)
{
	size_t n = strlen(out);
	int w = snprintf(out + n, outsz - n, "%s%s", n > 0 ? sep : "", word);

	if (w < 0 || (size_t)w >= outsz - n)
		out[n] = '\0';
}

/* ---- GET /account ---- */

#define WORDS_MAX 256                 /* bytes of a list of words (amr) */
#define CLAIMS_WORDS_MAX 2048         /* bytes of an app's claims in words */
#define TIME_MAX 32                   /* bytes of fmt_cst's text */

/* The privacy consents' part of the page (_account_privacy.html) and its storage. */
struct privacy_view {
	struct dir_privacy *list;
	size_t n;
	struct tpl_account_pi_consents *items;
	char (*times)[TIME_MAX];
};

/* What templates/account.html shows, and the storage its slots point into. */
struct view {
	struct tpl_account v;
	char masked_id[64], masked_phone[64], loa_at[TIME_MAX], amr[WORDS_MAX];
	char totp_since[TIME_MAX];
	struct tpl_account_sessions *sessions;
	char (*session_times)[2][TIME_MAX];
	struct tpl_account_apps *apps;
	char (*app_words)[CLAIMS_WORDS_MAX];
	char (*app_times)[TIME_MAX];
	struct clients_snap *snap;        /* the apps' names */
	struct privacy_view priv;         /* the privacy consents (view_privacy) */
	struct dir_cert_binding *certs;   /* the certificates bound (view_certs) */
	struct tpl_account_certs *cert_items;
	char (*cert_times)[TIME_MAX];
};

static void
privacy_view_free(struct privacy_view *pv)
{
	dir_privacy_list_free(pv->list, pv->n);
	free(pv->items);
	free(pv->times);
	memset(pv, 0, sizeof(*pv));
}

/* What a consent was to, in words (the purpose itself when it has none). */
static const char *
privacy_words(enum page_lang l, const char *purpose)
{
	if (strcmp(purpose, DIR_PRIVACY_ID_NUMBER) == 0)
		return page_msg(l, PAGE_MSG_ACCT_PRIVACY_ID_NUMBER);
	if (strcmp(purpose, "notice") == 0)
		return page_msg(l, PAGE_MSG_ACCT_PRIVACY_NOTICE);
	return purpose;
}

/*
 * The privacy consents the person gave at registration (dir_privacy_list): what to,
 * when, on which notice version. None recorded: said honestly, with the reason where
 * the origin gives it (an operator or a department system collected the data).
 */
static int
view_privacy(struct view *w, enum page_lang l, struct dir *d, const struct dir_person *person)
{
	struct privacy_view *pv = &w->priv;
	int r;

	if ((r = dir_privacy_list(d, person->uid, &pv->list, &pv->n)) != 0)
		return r;
	if (pv->n == 0) {
		w->v.privacy_none = page_msg(l, person->origin != NULL &&
		    strcmp(person->origin, DIR_ORIGIN_SELF) != 0 ?
		    PAGE_MSG_ACCT_PRIVACY_NONE_STAFF : PAGE_MSG_ACCT_PRIVACY_NONE);
		return 0;
	}
	if ((pv->items = calloc(pv->n, sizeof(*pv->items))) == NULL ||
	    (pv->times = calloc(pv->n, sizeof(*pv->times))) == NULL)
		return YH_ERR_ALLOC;
	for (size_t i = 0; i < pv->n; i++) {
		fmt_cst(pv->list[i].at, pv->times[i], TIME_MAX);
		pv->items[i] = (struct tpl_account_pi_consents){
			.what = privacy_words(l, pv->list[i].purpose), .when = pv->times[i],
			.version = pv->list[i].notice_version,
		};
	}
	w->v.pi_consents = pv->items;
	w->v.pi_consents_n = pv->n;
	return 0;
}

static void
view_free(struct view *w)
{
	free(w->sessions);
	free(w->session_times);
	free(w->apps);
	free(w->app_words);
	free(w->app_times);
	clients_release(w->snap);
	privacy_view_free(&w->priv);
	free(w->certs);
	free(w->cert_items);
	free(w->cert_times);
}

/* The certificates bound to the person on their first login (dir_cert_list): issuer,
 * serial, when; each with a form to unbind it. */
static int
view_certs(struct view *w, struct dir *d, const char *uid)
{
	size_t n = 0;
	int r;

	if ((r = dir_cert_list(d, uid, &w->certs, &n)) != 0 || n == 0)
		return r;
	if ((w->cert_items = calloc(n, sizeof(*w->cert_items))) == NULL ||
	    (w->cert_times = calloc(n, sizeof(*w->cert_times))) == NULL)
		return YH_ERR_ALLOC;
	for (size_t i = 0; i < n; i++) {
		fmt_cst(w->certs[i].created, w->cert_times[i], TIME_MAX);
		w->cert_items[i] = (struct tpl_account_certs){ .issuer = w->certs[i].issuer,
			.serial = w->certs[i].serial, .when = w->cert_times[i],
			.id = w->certs[i].id };
	}
	w->v.certs = w->cert_items;
	w->v.certs_n = n;
	return 0;
}

static void
view_profile(struct view *w, enum page_lang l, const struct dir_person *person,
    const struct sess_info *si)
{
	idn_mask(person->id_number, w->masked_id, sizeof(w->masked_id));
	mk_phone_mask(person->phone, w->masked_phone, sizeof(w->masked_phone));
	fmt_cst(person->loa.at, w->loa_at, sizeof(w->loa_at));
	for (size_t i = 0; i < si->namr; i++)
		list_add(w->amr, sizeof(w->amr), " + ", amr_words(l, si->amr[i]));
	w->v.name = person->name;
	w->v.id_number = w->masked_id;
	w->v.phone = w->masked_phone[0] != '\0' ? w->masked_phone : "-";
	w->v.phone_unverified = person->phone != NULL && !person->phone_verified;
	w->v.loa = person->loa.level;
	w->v.origin = origin_words(l, person->origin);
	w->v.loa_method = method_words(l, person->loa.method);
	w->v.loa_by = person->loa.by;
	w->v.loa_at = w->loa_at;
	w->v.session_loa = si->loa;
	w->v.amr = w->amr;
	w->v.verified = person->loa.level >= 2;
}

static int
view_sessions(struct view *w, enum page_lang l, const struct sess_info *si,
    const struct sess_info *list, size_t n)
{
	if (n == 0)
		return 0;
	if ((w->sessions = calloc(n, sizeof(*w->sessions))) == NULL ||
	    (w->session_times = calloc(n, sizeof(*w->session_times))) == NULL)
		return YH_ERR_ALLOC;
	for (size_t i = 0; i < n; i++) {
		struct ua_summary ua = ua_summarize(list[i].ua);

		fmt_cst(list[i].created_ms / 1000, w->session_times[i][0], TIME_MAX);
		fmt_cst(list[i].seen_ms / 1000, w->session_times[i][1], TIME_MAX);
		w->sessions[i] = (struct tpl_account_sessions){
			.created = w->session_times[i][0], .seen = w->session_times[i][1],
			.browser = ua.browser != NULL ? ua.browser :
			    page_msg(l, PAGE_MSG_UA_UNKNOWN_BROWSER),
			.os = ua.os != NULL ? ua.os : page_msg(l, PAGE_MSG_UA_UNKNOWN_OS),
			.addr = list[i].addr[0] != '\0' ? list[i].addr : "-", .sid = list[i].sid,
			.current = strcmp(list[i].sid, si->sid) == 0,
		};
	}
	w->v.sessions = w->sessions;
	w->v.sessions_n = n;
	return 0;
}

static int
view_apps(struct view *w, enum page_lang l, struct authd_app *app,
    const struct dir_consent *list, size_t n)
{
	const struct clients_client *cl;
	enum page_msg what[PAGE_CLAIMS_MAX];
	unsigned bits, unknown;
	size_t nw;

	if (n == 0)
		return 0;
	if ((w->apps = calloc(n, sizeof(*w->apps))) == NULL ||
	    (w->app_words = calloc(n, sizeof(*w->app_words))) == NULL ||
	    (w->app_times = calloc(n, sizeof(*w->app_times))) == NULL)
		return YH_ERR_ALLOC;
	(void)clients_refresh_if_changed(app->clients);
	w->snap = clients_acquire(app->clients);
	for (size_t i = 0; i < n; i++) {
		cl = clients_find(w->snap, list[i].client_id);
		bits = unknown = 0;
		if (clients_scope_parse(list[i].scopes, &bits, &unknown) != 0)
			bits = 0;
		/* The words the consent page listed (page_claims) for what was allowed. */
		nw = page_claims(bits, cl != NULL && cl->allow_id_number, what, PAGE_CLAIMS_MAX);
		for (size_t k = 0; k < nw; k++)
			list_add(w->app_words[i], CLAIMS_WORDS_MAX, page_msg(l, PAGE_MSG_CLAIM_SEP),
			    page_msg(l, what[k]));
		fmt_cst(list[i].updated, w->app_times[i], TIME_MAX);
		w->apps[i] = (struct tpl_account_apps){
			.name = cl != NULL ? cl->name : list[i].client_id,
			.client_id = list[i].client_id, .claims = w->app_words[i],
			.when = w->app_times[i],
		};
	}
	w->v.apps = w->apps;
	w->v.apps_n = n;
	return 0;
}

/* 0 no enrolment, 1 unconfirmed, 2 confirmed (since *created). */
static int
totp_state(struct dir *d, const char *uid, int *state, int64_t *created)
{
	struct dir_totp t;
	int r;

	*state = 0;
	*created = 0;
	if ((r = dir_totp_get(d, uid, &t)) == YH_ERR_NOT_FOUND)
		return 0;
	if (r == 0) {
		*state = t.confirmed ? 2 : 1;
		*created = t.created;
	}
	dir_totp_clear(&t);
	return r;
}

static int
account_view(struct authd_app *app, struct http_req *req, const struct sess_info *si)
{
	struct dir_person person;
	struct sess_info *sl = NULL;
	struct dir_consent *cl = NULL;
	char csrf[CSRF_TOKEN_SIZE];
	size_t ns = 0, nc = 0;
	const char *done = NULL;
	struct view w;
	struct page p;
	int64_t since;
	int r, tstate;

	memset(&person, 0, sizeof(person));
	memset(&w, 0, sizeof(w));
	if ((r = dir_person_get(app->dir, si->uid, &person)) != 0 ||
	    (r = sess_list_user(app->sess, si->uid, &sl, &ns)) != 0 ||
	    (r = dir_consent_list(app->dir, si->uid, &cl, &nc)) != 0 ||
	    (r = totp_state(app->dir, si->uid, &tstate, &since)) != 0) {
		r = page_failure_send(req, r);
		goto out;
	}
	if ((r = csrf_prepare(req, app->keys, ACCOUNT_PURPOSE, si->key, csrf)) != 0)
		goto out;
	page_init(&p, req, "/account");
	view_profile(&w, p.lang, &person, si);
	if ((r = view_sessions(&w, p.lang, si, sl, ns)) != 0 ||
	    (r = view_apps(&w, p.lang, app, cl, nc)) != 0 ||
	    (r = view_privacy(&w, p.lang, app->dir, &person)) != 0 ||
	    (r = view_certs(&w, app->dir, si->uid)) != 0) {
		page_free(&p);
		goto out;
	}
	if (http_req_query(req, "done", 32, &done) == 0)
		w.v.notice = done_words(p.lang, done);
	w.v.csrf = csrf;
	w.v.totp_off = tstate == 0;
	w.v.totp_unconfirmed = tstate == 1;
	if (tstate == 2) {
		fmt_cst(since, w.totp_since, sizeof(w.totp_since));
		w.v.totp_since = w.totp_since;
	}
	page_begin(&p, page_msg(p.lang, PAGE_MSG_ACCT_TITLE));
	tpl_account_render(&p, &w.v);
	if ((r = account_orgs_render(app, req, &p, si, csrf)) != 0) {
		page_free(&p);
		r = page_failure_send(req, r);
		goto out;
	}
	r = page_send(&p, req, 200);
out:
	yh_wipe(csrf, sizeof(csrf));
	view_free(&w);
	dir_person_clear(&person);
	dir_consent_list_free(cl, nc);
	free(sl);
	return r;
}

static int
account_get(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct sess_info si;
	int r;

	if ((r = enter(app, req, false, &si)) != 0 || http_req_answered(req))
		return r;
	return account_view(app, req, &si);
}

/* ---- sessions ---- */

static int
audit_end(struct authd_app *app, const char *uid, const char *what, size_t n)
{
	return account_audit(app, "session.end", uid, json_pack("{s:s, s:s, s:I}", "by", "account",
	    "which", what, "count", (json_int_t)n));
}

static int
session_end(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct sess_info si;
	char *sid = NULL;
	int r;

	if ((r = enter(app, req, true, &si)) != 0 || http_req_answered(req))
		return r;
	if (http_req_form(req, "sid", SESS_PUBID_SIZE, &sid) != 0) {
		r = bad_request(req);
		goto out;
	}
	r = sess_end_sid(app->sess, si.uid, sid, SESS_END_USER, NULL);
	if (r != 0 && r != YH_ERR_NOT_FOUND) {
		r = page_failure_send(req, r);
		goto out;
	}
	if (r == 0 && (r = audit_end(app, si.uid, strcmp(sid, si.sid) == 0 ? "current" : "one",
	    1)) != 0) {
		r = page_failure_send(req, r);
		goto out;
	}
	if (r == YH_ERR_NOT_FOUND)   /* expired, ended in another tab, or not this person's */
		r = back(req, "gone");
	else if (strcmp(sid, si.sid) == 0 && (r = drop_cookie(req)) == 0)
		r = http_respond_redirect(req, 303, ACCOUNT_LOGIN_AGAIN);
	else
		r = back(req, "ended");
out:
	free(sid);
	return r;
}

/* Ends every session of uid but the one with public id keep (NULL: all). */
static int
end_sessions(struct authd_app *app, const char *uid, const char *keep, enum sess_reason why,
    size_t *ended)
{
	struct sess_info *list = NULL;
	size_t n = 0;
	int r, e;

	*ended = 0;
	if (keep == NULL)
		return sess_end_user(app->sess, uid, why, NULL, ended);
	if ((r = sess_list_user(app->sess, uid, &list, &n)) != 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(list[i].sid, keep) == 0)
			continue;
		e = sess_end_sid(app->sess, uid, list[i].sid, why, NULL);
		if (e == 0)
			(*ended)++;
		else if (e != YH_ERR_NOT_FOUND && r == 0)
			r = e;
	}
	free(list);
	return r;
}

static int
sessions_end_many(struct http_req *req, struct authd_app *app, bool all)
{
	struct sess_info si;
	size_t n = 0;
	int r;

	if ((r = enter(app, req, true, &si)) != 0 || http_req_answered(req))
		return r;
	if ((r = end_sessions(app, si.uid, all ? NULL : si.sid, SESS_END_USER, &n)) != 0 ||
	    (r = audit_end(app, si.uid, all ? "all" : "others", n)) != 0)
		return page_failure_send(req, r);
	if (!all)
		return back(req, "others");
	if ((r = drop_cookie(req)) != 0)
		return r;
	return http_respond_redirect(req, 303, ACCOUNT_LOGIN_AGAIN);
}

static int
session_end_others(struct http_req *req, void *arg)
{
	return sessions_end_many(req, arg, false);
}

static int
session_end_all(struct http_req *req, void *arg)
{
	return sessions_end_many(req, arg, true);
}

/* ---- apps ---- */

static int
app_revoke(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct sess_info si;
	char *client = NULL;
	size_t fams = 0;
	int r;

	if ((r = enter(app, req, true, &si)) != 0 || http_req_answered(req))
		return r;
	if (http_req_form(req, "client_id", CLIENTS_ID_MAX, &client) != 0 ||
	    !clients_id_valid(client)) {
		r = bad_request(req);
		goto out;
	}
	r = dir_consent_revoke(app->dir, si.uid, client);
	if (r == 0 || r == YH_ERR_NOT_FOUND)
		r = oidc_user_families_revoke(app, si.uid, client, &fams);
	if (r == 0)
		r = account_audit(app, "consent.revoke", si.uid, json_pack("{s:s, s:I}", "client_id",
		    client, "refresh_families", (json_int_t)fams));
	r = r == 0 ? back(req, "revoked") : page_failure_send(req, r);
out:
	free(client);
	return r;
}

/* ---- certificates ---- */

/* Unbinds one of the person's certificates (its next login binds it again); audited as
 * cert.unbind with the binding's issuer and serial. */
static int
cert_unbind(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct dir_cert_binding *l = NULL;
	struct sess_info si;
	char *id = NULL;
	size_t n = 0, i = 0;
	int r;

	if ((r = enter(app, req, true, &si)) != 0 || http_req_answered(req))
		return r;
	if (http_req_form(req, "id", DIR_CERT_HEX_LEN, &id) != 0) {
		r = bad_request(req);
		goto out;
	}
	if ((r = dir_cert_list(app->dir, si.uid, &l, &n)) == 0) {
		for (i = 0; i < n && strcmp(l[i].id, id) != 0; i++)
			;
		r = i < n ? dir_cert_unbind(app->dir, si.uid, id) : YH_ERR_NOT_FOUND;
	}
	if (r == YH_ERR_NOT_FOUND || r == YH_ERR_INVALID) {
		r = bad_request(req);
		goto out;
	}
	if (r == 0)
		r = account_audit(app, "cert.unbind", si.uid, json_pack("{s:s, s:s, s:s}", "id",
		    id, "issuer", l[i].issuer, "serial", l[i].serial));
	r = r == 0 ? back(req, "cert-unbound") : page_failure_send(req, r);
out:
	free(l);
	free(id);
	return r;
}

/* ---- TOTP ---- */

static int
totp_new(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	unsigned char seed[TOTP_SEED_BYTES];
	struct sess_info si;
	int64_t since;
	int r, state;

	if ((r = enter(app, req, true, &si)) != 0 || http_req_answered(req))
		return r;
	if ((r = totp_state(app->dir, si.uid, &state, &since)) != 0)
		return page_failure_send(req, r);
	if (state == 2)
		return back(req, "totp-exists");
	if ((r = totp_new_seed(seed)) == 0)
		r = dir_totp_set(app->dir, si.uid, seed, sizeof(seed), false);
	yh_wipe(seed, sizeof(seed));
	if (r != 0)
		return page_failure_send(req, r);
	return http_respond_redirect(req, 303, "/account/totp");
}

/* Appends the base32 secret in groups of four ("JBSW Y3DP ..."), for typing by hand. */
static int
grouped_base32(const unsigned char *seed, size_t len, struct yh_buf *out)
{
	char b32[(DIR_TOTP_SEED_MAX * 8 + 4) / 5 + 1];
	int r;

	if ((r = totp_base32(seed, len, b32, sizeof(b32))) != 0)
		return r;
	for (size_t i = 0; r == 0 && b32[i] != '\0'; i++)
		if ((i > 0 && i % 4 == 0 && (r = yh_buf_putc(out, ' ')) != 0) ||
		    (r = yh_buf_putc(out, b32[i])) != 0)
			break;
	yh_wipe(b32, sizeof(b32));
	return r;
}

/* The QR code and the typed form of the seed of an unconfirmed enrolment. */
static int
enrol_material(const struct dir_totp *t, const struct dir_person *person, struct yh_buf *svg,
    struct yh_buf *b32)
{
	char label[64], *uri = NULL;
	int r;

	idn_mask(person->id_number, label, sizeof(label));
	if ((r = totp_uri(t->seed, t->seed_len, NULL, label, &uri)) == 0 &&
	    (r = ui_qr_svg(uri, QR_PX, svg)) == 0)
		r = grouped_base32(t->seed, t->seed_len, b32);
	yh_strfree_secret(uri);
	return r;
}

static int
totp_page(struct authd_app *app, struct http_req *req, const struct sess_info *si,
    const char *error)
{
	struct dir_person person;
	struct yh_buf svg, b32;
	struct dir_totp t;
	char csrf[CSRF_TOKEN_SIZE];
	struct page p;
	int r;

	memset(&person, 0, sizeof(person));
	memset(&t, 0, sizeof(t));
	yh_buf_init_secret(&svg, 256 * 1024);
	yh_buf_init_secret(&b32, 256);
	if ((r = dir_totp_get(app->dir, si->uid, &t)) == YH_ERR_NOT_FOUND || (r == 0 &&
	    t.confirmed)) {
		r = http_respond_redirect(req, 303, "/account");
		goto out;
	}
	if (r != 0 || (r = dir_person_get(app->dir, si->uid, &person)) != 0 ||
	    (r = enrol_material(&t, &person, &svg, &b32)) != 0) {
		r = page_failure_send(req, r);
		goto out;
	}
	if ((r = csrf_prepare(req, app->keys, ACCOUNT_PURPOSE, si->key, csrf)) != 0)
		goto out;
	page_init(&p, req, "/account/totp");
	page_begin(&p, page_msg(p.lang, PAGE_MSG_ACCT_TOTP_TITLE));
	tpl_account_totp_render(&p, &(struct tpl_account_totp){ .alert = error, .csrf = csrf,
	    .qr = yh_buf_cstr(&svg), .secret = yh_buf_cstr(&b32) });
	yh_wipe(csrf, sizeof(csrf));
	r = page_send(&p, req, error != NULL ? 400 : 200);
out:
	yh_buf_free(&svg);
	yh_buf_free(&b32);
	dir_totp_clear(&t);
	dir_person_clear(&person);
	return r;
}

static int
totp_get(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct sess_info si;
	int r;

	if ((r = enter(app, req, false, &si)) != 0 || http_req_answered(req))
		return r;
	return totp_page(app, req, &si, NULL);
}

static int
totp_confirm(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct sess_info si;
	char *code = NULL;
	int r;

	if ((r = enter(app, req, true, &si)) != 0 || http_req_answered(req))
		return r;
	if ((r = field(req, "code", 32, &code)) != 0 || code == NULL) {
		r = bad_request(req);
		goto out;
	}
	r = totp_verify(app->dir, si.uid, code, 0, TOTP_ALLOW_UNCONFIRMED, NULL);
	if (r == YH_ERR_AUTH || r == YH_ERR_INVALID || r == YH_ERR_REPLAY)
		r = totp_page(app, req, &si, page_msg(page_lang_of(req), PAGE_MSG_TOTP_FAILED));
	else if (r == YH_ERR_NOT_FOUND)
		r = http_respond_redirect(req, 303, "/account");
	else if (r != 0 || (r = dir_totp_confirm(app->dir, si.uid)) != 0 ||
	    (r = account_audit(app, "totp.enrol", si.uid, NULL)) != 0)
		r = page_failure_send(req, r);
	else
		r = back(req, "totp");
out:
	yh_strfree_secret(code);
	return r;
}

/* A small page with one message and a link back to the account page. */
static int
message_page(struct http_req *req, unsigned status, const char *msg)
{
	return page_error_send(req, status, msg, "/account",
	    page_msg(page_lang_of(req), PAGE_MSG_ACCOUNT_LINK));
}

/* Removing a confirmed enrolment needs a current code (counted against guessing). */
static int
totp_remove_check(struct authd_app *app, struct http_req *req, const char *uid, bool *ok)
{
	char name[SESS_NAME_MAX], *code = NULL;
	struct login_policy pol;
	int r;

	*ok = false;
	snprintf(name, sizeof(name), "totp-remove:%s", uid);
	if ((r = sess_locked(app->sess, name, NULL)) == YH_ERR_LOCKED)
		return message_page(req, 429, page_msg(page_lang_of(req), PAGE_MSG_LOCKED));
	if (r != 0)
		return page_failure_send(req, r);
	if ((r = field(req, "code", 32, &code)) != 0)
		return bad_request(req);
	r = code == NULL ? YH_ERR_AUTH : totp_verify(app->dir, uid, code, 0, 0, NULL);
	yh_strfree_secret(code);
	if (r == YH_ERR_AUTH || r == YH_ERR_INVALID || r == YH_ERR_REPLAY) {
		login_policy_get(app, &pol);
		if ((r = sess_fail(app->sess, name, pol.otp_window_s, pol.otp_max_failures,
		    pol.otp_lockout_s, NULL)) != 0 && r != YH_ERR_LOCKED)
			return page_failure_send(req, r);
		return message_page(req, 400, page_msg(page_lang_of(req), PAGE_MSG_TOTP_FAILED));
	}
	if (r != 0)
		return page_failure_send(req, r);
	*ok = true;
	return 0;
}

static int
totp_remove(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct sess_info si;
	bool ok = true;
	int64_t since;
	int r, state;

	if ((r = enter(app, req, true, &si)) != 0 || http_req_answered(req))
		return r;
	if ((r = totp_state(app->dir, si.uid, &state, &since)) != 0)
		return page_failure_send(req, r);
	if (state == 0)
		return http_respond_redirect(req, 303, "/account");
	if (state == 2 && ((r = totp_remove_check(app, req, si.uid, &ok)) != 0 || !ok))
		return r;
	if ((r = dir_totp_delete(app->dir, si.uid)) != 0 && r != YH_ERR_NOT_FOUND)
		return page_failure_send(req, r);
	if (state == 2 && (r = account_audit(app, "totp.remove", si.uid, NULL)) != 0)
		return page_failure_send(req, r);
	return state == 2 ? back(req, "totp-removed") : http_respond_redirect(req, 303,
	    "/account");
}

/* ---- password ---- */

/* What a password change carries to the worker (copied off the request). */
struct pw_job {
	struct authd_app *app;
	struct http_req *req;
	char uid[SESS_UID_MAX + 1];
	char sid[SESS_PUBID_SIZE];
	char csrf[CSRF_TOKEN_SIZE];
	char *current, *password;        /* secrets */
	enum page_lang lang;
	bool https;
};

static void
pw_job_free(struct pw_job *j)
{
	if (j == NULL)
		return;
	yh_strfree_secret(j->current);
	yh_strfree_secret(j->password);
	yh_wipe(j->csrf, sizeof(j->csrf));
	free(j);
}

/* The password form alone with an error (any thread: reads nothing of the request). */
static int
pw_error(struct pw_job *j, unsigned status, const char *msg)
{
	struct page p;

	page_init_lang(&p, j->lang, j->https, "/account");
	page_begin(&p, page_msg(j->lang, PAGE_MSG_ACCT_PASSWORD));
	tpl_account_password_render(&p, &(struct tpl_account_password){ .alert = msg,
	    .csrf = j->csrf });
	return page_send(&p, j->req, status);
}

/* Checks the current password (argon2 or a legacy scheme). 0, YH_ERR_AUTH, or else. */
static int
pw_check_current(struct pw_job *j)
{
	const struct pw_params *cost = j->app->ident != NULL ? &j->app->ident->pw : NULL;
	struct dir_cred c;
	int r;

	if ((r = dir_cred_get(j->app->dir, j->uid, &c)) == YH_ERR_NOT_FOUND)
		r = pw_verify_dummy(cost, j->current, strlen(j->current));
	else if (r == 0)
		r = pw_verify(c.scheme, c.hash, c.salt, j->current, strlen(j->current), cost,
		    NULL);
	dir_cred_clear(&c);
	return r == YH_ERR_INVALID || r == YH_ERR_UNSUPPORTED ? YH_ERR_AUTH : r;
}

static int
pw_store_new(struct pw_job *j)
{
	return login_password_store(j->app, j->uid, j->password);
}

/* The whole change; sets the response. */
static int
pw_run(struct pw_job *j)
{
	char guard[SESS_NAME_MAX];
	struct login_policy pol;
	size_t ended = 0;
	int r;

	snprintf(guard, sizeof(guard), "pwchange:%s", j->uid);
	if ((r = sess_locked(j->app->sess, guard, NULL)) == YH_ERR_LOCKED)
		return pw_error(j, 429, page_msg(j->lang, PAGE_MSG_LOCKED));
	if (r == 0 && (r = pw_check_current(j)) == YH_ERR_AUTH) {
		login_policy_get(j->app, &pol);
		r = sess_fail(j->app->sess, guard, pol.window_s, pol.max_failures, pol.lockout_s,
		    NULL);
		if (r == 0 || r == YH_ERR_LOCKED)
			return pw_error(j, 400, page_msg(j->lang, PAGE_MSG_ACCT_PASSWORD_WRONG));
	}
	if (r == 0 && (r = pw_store_new(j)) == 0 &&
	    (r = account_audit(j->app, "password.change", j->uid, NULL)) == 0)
		r = end_sessions(j->app, j->uid, j->sid, SESS_END_ADMIN, &ended);
	if (r != 0) {
		yh_error("password change: %s", yh_strerror(r));
		return pw_error(j, page_failure_status(r), page_failure_msg(j->lang, r));
	}
	if (sess_fail_clear(j->app->sess, guard) != 0)
		yh_warn("password change: cannot clear the failure count");
	return http_respond_redirect(j->req, 303, "/account?done=password");
}

static void
pw_job_fn(void *arg)
{
	struct pw_job *j = arg;
	struct http_req *req = j->req;

	/* On failure no response is set: the server answers 500 at resume. */
	if (pw_run(j) != 0)
		yh_error("password change: no response could be set");
	pw_job_free(j);
	http_req_resume(req);
}

/* The new password's rules (those of registration, register.c): the message, or NULL
 * when fine. */
static const char *
pw_policy(enum page_lang l, const char *pw, const char *pw2, const struct dir_person *who)
{
	size_t n = strlen(pw), digits = strspn(pw, "0123456789");

	if (strcmp(pw, pw2) != 0)
		return page_msg(l, PAGE_MSG_ERR_PW_MISMATCH);
	if (n > PW_PASSWORD_MAX)
		return page_msg(l, PAGE_MSG_ERR_PW_LONG);
	if (yh_utf8_chars(pw) < LOGIN_PASSWORD_MIN)
		return page_msg(l, PAGE_MSG_ERR_PW_SHORT);
	if (digits == n)
		return page_msg(l, PAGE_MSG_ERR_PW_DIGITS);
	if ((who->id_number != NULL && strcasecmp(pw, who->id_number) == 0) ||
	    (who->phone != NULL && strcmp(pw, who->phone) == 0))
		return page_msg(l, PAGE_MSG_ERR_PW_SAME);
	return NULL;
}

/* Reads the form into j; *msg gets a policy message when the new password is refused. */
static int
pw_job_fill(struct authd_app *app, struct http_req *req, const struct sess_info *si,
    struct pw_job *j, const char **msg)
{
	struct dir_person who;
	char *pw2 = NULL;
	int r;

	*msg = NULL;
	memset(&who, 0, sizeof(who));
	j->app = app;
	j->req = req;
	j->lang = page_lang_of(req);
	j->https = http_req_is_https(req);
	if (yh_strlcpy(j->uid, si->uid, sizeof(j->uid)) != 0 ||
	    yh_strlcpy(j->sid, si->sid, sizeof(j->sid)) != 0)
		return YH_ERR_INVALID;
	if ((r = http_req_form(req, "current", PW_FIELD_MAX, &j->current)) != 0 ||
	    (r = http_req_form(req, "password", PW_FIELD_MAX, &j->password)) != 0 ||
	    (r = http_req_form(req, "password2", PW_FIELD_MAX, &pw2)) != 0) {
		*msg = page_msg(j->lang, r == YH_ERR_TOO_LONG ? PAGE_MSG_ERR_PW_LONG :
		    PAGE_MSG_MISSING_FIELDS);
		r = 0;
	} else if ((r = dir_person_get(app->dir, si->uid, &who)) == 0)
		*msg = pw_policy(j->lang, j->password, pw2, &who);
	if (r == 0)
		r = csrf_prepare(req, app->keys, ACCOUNT_PURPOSE, si->key, j->csrf);
	yh_strfree_secret(pw2);
	dir_person_clear(&who);
	return r;
}

static int
password_post(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct sess_info si;
	struct pw_job *j;
	const char *msg = NULL;
	int r;

	if ((r = enter(app, req, true, &si)) != 0 || http_req_answered(req))
		return r;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return YH_ERR_ALLOC;
	if ((r = pw_job_fill(app, req, &si, j, &msg)) != 0 || msg != NULL) {
		r = r != 0 ? page_failure_send(req, r) : pw_error(j, 400, msg);
		pw_job_free(j);
		return r;
	}
	if (app->workers == NULL) {
		r = pw_run(j);
		pw_job_free(j);
		return r;
	}
	if ((r = http_req_suspend(req)) != 0) {
		pw_job_free(j);
		return r;
	}
	if (wk_submit(app->workers, pw_job_fn, j) != 0) {
		/* No response set = 500 at resume. */
		if (http_resp_retry_after(req, wk_retry_after_s(app->workers)) != 0 ||
		    pw_error(j, 503, page_msg(j->lang, PAGE_MSG_UNAVAILABLE)) != 0)
			yh_error("password change: no response could be set");
		pw_job_free(j);
		http_req_resume(req);
	}
	return HTTP_SUSPENDED;
}

/* ---- routes ---- */

static const struct http_route account_routes[] = {
	{ "GET", "/account", account_get, HTTP_ROUTE_NO_STORE },
	{ "POST", "/account/session/end", session_end, HTTP_ROUTE_NO_STORE },
	{ "POST", "/account/session/end-others", session_end_others, HTTP_ROUTE_NO_STORE },
	{ "POST", "/account/session/end-all", session_end_all, HTTP_ROUTE_NO_STORE },
	{ "POST", "/account/app/revoke", app_revoke, HTTP_ROUTE_NO_STORE },
	{ "POST", "/account/cert/unbind", cert_unbind, HTTP_ROUTE_NO_STORE },
	{ "GET", "/account/totp", totp_get, HTTP_ROUTE_NO_STORE },
	{ "POST", "/account/totp/new", totp_new, HTTP_ROUTE_NO_STORE },
	{ "POST", "/account/totp/confirm", totp_confirm, HTTP_ROUTE_NO_STORE },
	{ "POST", "/account/totp/remove", totp_remove, HTTP_ROUTE_NO_STORE },
	{ "POST", "/account/password", password_post, HTTP_ROUTE_NO_STORE },
	{ NULL, NULL, NULL, 0 },
};

int
account_register(struct http_server *srv, struct authd_app *app)
{
	int r = http_routes_add(srv, account_routes, app);

	if (r == 0)
		r = account_phone_register(srv, app);
	return r != 0 ? r : account_orgs_register(srv, app);
}
