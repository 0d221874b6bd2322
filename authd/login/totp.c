/*
 * TOTP step-up: GET and POST /login/totp?next=...&loa=N. The browser must already have
 * a session (a password login); a correct, unused code re-authenticates it with amr
 * "otp" (and "mfa") and LoA 3 when the person is real-name verified (LoA >= 2). The
 * session id rotates. Wrong codes count towards a per-person lockout of their own (a
 * 6-digit code with a 3-step window must not be guessable by repetition).
 *
 * Nothing here is slow (one HMAC per step in the window, a few directory calls), so it
 * runs on the HTTP thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "authd/ui/csrf.h"
#include "authd/login/login.h"
#include "authd/ui/pages.h"
#include "authd/ui/templates_gen.h"
#include "authd/app.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/url.h"
#include "identity/dir/dir.h"
#include "identity/totp.h"

#define TOTP_PURPOSE "totp"
#define TOTP_CODE_FIELD_MAX 16

/* What the handlers learn from the request. */
struct totp_req {
	const char *next;      /* validated */
	int loa;               /* 0 when not given */
	struct sess_info sess;
	struct dir_person person;
	bool cert_only;        /* a session waiting for a staff login's second factor under
	                        * login.staff_methods = cert: no TOTP code lifts it (a
	                        * login that made it should have refused staff) */
};

/* 302 to the password form, coming back to the same next afterwards. */
static int
to_login(struct http_req *req, const char *next)
{
	struct yh_buf b;
	int r;

	yh_buf_init(&b, LOGIN_NEXT_MAX * 3 + 32);
	if ((r = yh_buf_puts(&b, "/login?next=")) == 0 && (r = yh_url_pct_encode(&b, next)) == 0)
		r = http_respond_redirect(req, 302, yh_buf_cstr(&b));
	yh_buf_free(&b);
	return r;
}

/* Loads the session and the person. Returns 0, YH_ERR_NOT_FOUND (no session, or its
 * person is gone: log in again) or the store's/directory's errors. */
static int
load(struct http_req *req, struct authd_app *app, struct totp_req *t)
{
	int r;

	if ((r = login_session_of(req, app, SESS_TOUCH, &t->sess)) != 0)
		return r;
	t->cert_only = t->sess.loa == LOGIN_LOA_PENDING && login_staff_cert_only(app);
	return dir_person_get(app->dir, t->sess.uid, &t->person);
}

/* The session waits for the staff login's second factor (login_staff_pending). */
static bool
pending(const struct totp_req *t)
{
	return t->sess.loa == LOGIN_LOA_PENDING;
}

/* Step-up needs a verified identity (LoA 2); the staff login's second factor does not,
 * unless staff must log in by certificate. */
static bool
may_step_up(const struct totp_req *t)
{
	return !t->cert_only && (t->person.loa.level >= 2 || pending(t));
}

/* The form, or the page saying why there is none. */
static int
respond_form(struct http_req *req, struct authd_app *app, const struct totp_req *t,
    const char *csrf, unsigned status, enum page_msg alert)
{
	struct dir_totp enr;
	struct page p;
	int r;

	page_init(&p, req, LOGIN_TOTP_PATH);
	page_set_next(&p, t->next);
	if (t->loa > 0)
		p.loa = t->loa;
	page_begin(&p, page_msg(p.lang, PAGE_MSG_TOTP_TITLE));
	memset(&enr, 0, sizeof(enr));
	r = dir_totp_get(app->dir, t->person.uid, &enr);
	if (r != 0 && r != YH_ERR_NOT_FOUND) {
		page_free(&p);
		return r;
	}
	if (r == YH_ERR_NOT_FOUND || !enr.confirmed || !may_step_up(t)) {
		struct tpl_totp_unavailable v = { .alert = page_msg(p.lang, t->cert_only ?
		    PAGE_MSG_STAFF_CERT_REQUIRED : r == 0 && enr.confirmed ?
		    PAGE_MSG_TOTP_NOT_ENOUGH : pending(t) ? PAGE_MSG_TOTP_STAFF_NONE :
		    PAGE_MSG_TOTP_NONE) };

		tpl_totp_unavailable_render(&p, &v);
		status = 403;
	} else {
		page_totp_form(&p, csrf, t->next, t->loa, page_msg(p.lang, alert));
	}
	dir_totp_clear(&enr);
	return page_send(&p, req, status);
}

/* The 503 page for a temporary failure (a store down, the disk full); other errors are
 * returned as they are. */
static int
unavailable(struct http_req *req, int r)
{
	return yh_err_temporary(r) ? page_failure_send(req, r) : r;
}

int
login_totp_get(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	char csrf[CSRF_TOKEN_SIZE];
	const char *v = NULL;
	struct totp_req t;
	uint64_t loa;
	int r;

	memset(&t, 0, sizeof(t));
	if (http_req_query(req, "next", LOGIN_NEXT_MAX, &v) != 0)
		v = NULL;
	t.next = login_next_pick(v);
	if (http_req_query(req, "loa", 1, &v) == 0 && yh_parse_u64(v, 1, 4, &loa) == 0)
		t.loa = (int)loa;
	if ((r = load(req, app, &t)) == YH_ERR_NOT_FOUND) {
		r = to_login(req, t.next);
		goto out;
	}
	if (r != 0) {
		r = unavailable(req, r);
		goto out;
	}
	if ((r = csrf_prepare(req, app->keys, TOTP_PURPOSE, t.sess.key, csrf)) == 0)
		r = respond_form(req, app, &t, csrf, 200, PAGE_MSG_NONE);
out:
	dir_person_clear(&t.person);
	return r;
}

static int
audit_event(struct http_req *req, struct authd_app *app, const struct totp_req *t,
    const char *event, json_t *f)
{
	char actor[16 + DIR_UID_LEN];
	int r;

	if (f == NULL)
		return YH_ERR_ALLOC;
	snprintf(actor, sizeof(actor), "user:%s", t->person.uid);
	if (json_object_set_new(f, "ip", json_string(http_req_client_ip(req))) != 0 ||
	    json_object_set_new(f, "sid", json_string(t->sess.sid)) != 0)
		r = YH_ERR_ALLOC;
	else
		r = login_audit(app, event, actor, f);
	json_decref(f);
	return r;
}

/* A wrong, replayed or malformed code: count, audit, answer the form again. */
static int
code_refused(struct http_req *req, struct authd_app *app, const struct totp_req *t,
    const char *counter, const char *csrf, int why)
{
	const char *reason = why == YH_ERR_REPLAY ? "replay" :
	    why == YH_ERR_INVALID ? "malformed" : "bad_code";
	struct login_policy pol;
	int64_t count = 0;
	bool locked = false;
	int r;

	login_policy_get(app, &pol);
	r = sess_fail(app->sess, counter, pol.otp_window_s, pol.otp_max_failures,
	    pol.otp_lockout_s, &count);
	if (r == YH_ERR_LOCKED)
		locked = true;
	else if (r != 0)
		return unavailable(req, r);
	if ((r = audit_event(req, app, t, "login.failure", json_pack("{s:s, s:s, s:I}",
	    "method", "otp", "reason", reason, "failures",
	    (json_int_t)(locked ? pol.otp_max_failures : count)))) != 0)
		return r;
	if (locked && (r = audit_event(req, app, t, "login.lockout", json_pack("{s:s, s:s, s:I}",
	    "method", "otp", "scope", "account", "lockout_s", (json_int_t)pol.otp_lockout_s))) != 0)
		return r;
	login_metric(app, "otp", locked ? "locked" : "failure");
	return respond_form(req, app, t, csrf, locked ? 429 : 200,
	    locked ? PAGE_MSG_LOCKED : PAGE_MSG_TOTP_FAILED);
}

/* The code was right: re-authenticate the session (new id), audit, 303 to next. */
static int
code_accepted(struct http_req *req, struct authd_app *app, struct totp_req *t,
    const char *counter)
{
	static const char *const amr_mfa[] = { "otp", "mfa" };
	static const char *const amr_otp[] = { "otp" };
	const char *old = page_cookie(req, LOGIN_SID_COOKIE);
	char token[SESS_TOKEN_SIZE] = "";
	struct sess_auth a;
	bool had_pwd = false;
	int r;

	for (size_t i = 0; i < t->sess.namr; i++)
		had_pwd = had_pwd || strcmp(t->sess.amr[i], "pwd") == 0;
	memset(&a, 0, sizeof(a));
	a.uid = t->person.uid;
	a.loa = login_session_loa(t->person.loa.level, true);
	a.amr = had_pwd ? amr_mfa : amr_otp;
	a.namr = had_pwd ? 2 : 1;
	a.ua = http_req_header(req, "User-Agent");
	a.addr = http_req_client_ip(req);
	if (sess_fail_clear(app->sess, counter) != 0)
		yh_warn("cannot clear TOTP failures");
	if ((r = sess_reauth(app->sess, old, &a, token, &t->sess)) != 0) {
		r = r == YH_ERR_NOT_FOUND || r == YH_ERR_EXPIRED || r == YH_ERR_DENIED ?
		    to_login(req, t->next) : unavailable(req, r);
		goto out;
	}
	if ((r = audit_event(req, app, t, "login.stepup", json_pack("{s:s, s:i}", "method",
	    "otp", "loa", t->sess.loa))) != 0) {
		if (sess_end_token(app->sess, token, SESS_END_ADMIN, NULL) != 0)
			yh_warn("cannot end the unaudited session");
		goto out;
	}
	login_metric(app, "otp", "success");
	if ((r = login_set_session_cookie(req, token, http_req_is_https(req))) == 0)
		r = http_respond_redirect(req, 303, t->next);
out:
	yh_wipe(token, sizeof(token));
	return r;
}

int
login_totp_post(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	char *next = NULL, *code = NULL, *csrf = NULL, *loa_s = NULL;
	char counter[SESS_NAME_MAX];
	struct totp_req t;
	uint64_t loa;
	int r;

	memset(&t, 0, sizeof(t));
	if (http_req_form(req, "next", LOGIN_NEXT_MAX, &next) != 0)
		next = NULL;
	t.next = login_next_pick(next);
	if (http_req_form(req, "loa", 1, &loa_s) == 0 && yh_parse_u64(loa_s, 1, 4, &loa) == 0)
		t.loa = (int)loa;
	/* The session first: the form's token is bound to it. */
	if ((r = load(req, app, &t)) == YH_ERR_NOT_FOUND) {
		r = to_login(req, t.next);
		goto out;
	}
	if (r != 0) {
		r = unavailable(req, r);
		goto out;
	}
	if ((r = csrf_verify(req, app->keys, TOTP_PURPOSE, t.sess.key)) != 0) {
		r = r == YH_ERR_DENIED ? csrf_respond_rejected(req) : r;
		goto out;
	}
	if ((r = http_req_form(req, CSRF_FIELD, CSRF_TOKEN_SIZE, &csrf)) != 0)
		goto out;
	snprintf(counter, sizeof(counter), "totp:acct:%s", t.person.uid);
	if ((r = sess_locked(app->sess, counter, NULL)) == YH_ERR_LOCKED) {
		if ((r = audit_event(req, app, &t, "login.failure", json_pack("{s:s, s:s}",
		    "method", "otp", "reason", "locked"))) == 0) {
			login_metric(app, "otp", "locked");
			r = respond_form(req, app, &t, csrf, 429, PAGE_MSG_LOCKED);
		}
		goto out;
	}
	if (r != 0) {
		r = unavailable(req, r);
		goto out;
	}
	if (http_req_form(req, "code", TOTP_CODE_FIELD_MAX, &code) != 0) {
		r = code_refused(req, app, &t, counter, csrf, YH_ERR_INVALID);
		goto out;
	}
	/* Step-up needs a verified identity: LoA 1 persons get the explanation page. */
	r = may_step_up(&t) ? totp_verify(app->dir, t.person.uid, code, 0, 0, NULL) :
	    YH_ERR_NOT_FOUND;
	if (r == 0)
		r = code_accepted(req, app, &t, counter);
	else if (r == YH_ERR_AUTH || r == YH_ERR_REPLAY || r == YH_ERR_INVALID)
		r = code_refused(req, app, &t, counter, csrf, r);
	else if (r == YH_ERR_NOT_FOUND)
		r = respond_form(req, app, &t, csrf, 403, PAGE_MSG_NONE);
	/* The code's step not stored, an audit line not written: nothing happened. */
	r = unavailable(req, r);
out:
	yh_strfree_secret(code);
	free(next);
	free(csrf);
	free(loa_s);
	dir_person_clear(&t.person);
	return r;
}
