/*
 * Changing the phone number on the account page (account.h): GET and POST /account/phone.
 * A number is changed only verified: with an SMS gateway, "send" sends a LOGIN_SMS_VERIFY
 * code to the new number (bound to this login session and the person, waited for so
 * that a failure is told, an undelivered code used up at once), and "change" with that
 * code stores the new number as verified (audit phone.change, both numbers masked).
 * Without a gateway the page says the number cannot be changed online. The limits are
 * the SMS codes' (login.h). The gateway is slow: both actions run on the worker pool.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "authd/account/account.h"
#include "authd/app.h"
#include "authd/login/login.h"
#include "authd/ui/csrf.h"
#include "authd/ui/pages.h"
#include "authd/ui/templates_gen.h"
#include "common/log.h"
#include "common/secmem.h"
#include "federation/sms.h"
#include "identity/dir/dir.h"
#include "identity/match/matchkey.h"

#define PH_PATH "/account/phone"

/* A request of the phone page, for the worker. */
struct ph_req {
	struct authd_app *app;
	struct http_req *req;
	struct login_req_info ri;
	struct sess_info si;
	bool change;                      /* action=change, else send */
	char phone[65];                   /* as typed */
	char code[17];                    /* secret */
	char phone_key[16];
	char pname[LOGIN_SMS_NAME_SIZE];
	char csrf[CSRF_TOKEN_SIZE];
};

static void
ph_req_free(struct ph_req *j)
{
	if (j != NULL)
		yh_freezero(j, sizeof(*j));
}

/* The page: the current number (masked), the form with what was typed. */
static int
respond(struct authd_app *app, struct http_req *req, enum page_lang lang, bool https,
    const struct sess_info *si, const char *csrf, const char *phone, unsigned status,
    enum page_msg alert, enum page_msg notice, int64_t wait_s)
{
	char masked[64] = "-";
	struct dir_person p;
	struct page page;
	int r;

	memset(&p, 0, sizeof(p));
	if ((r = dir_person_get(app->dir, si->uid, &p)) != 0)
		return r;
	if (p.phone != NULL)
		mk_phone_mask(p.phone, masked, sizeof(masked));
	dir_person_clear(&p);
	page_init_lang(&page, lang, https, PH_PATH);
	page_begin(&page, page_msg(lang, PAGE_MSG_PHONE_TITLE));
	tpl_account_phone_render(&page, &(struct tpl_account_phone){
	    .current = masked, .sms = fed_sms_enabled(app->sms), .csrf = csrf,
	    .phone = phone != NULL ? phone : "",
	    .alert = alert != 0 ? page_msg(lang, alert) : NULL,
	    .notice = notice != 0 ? page_msg(lang, notice) : NULL, .wait_s = (int)wait_s });
	return page_send(&page, req, status);
}

static int
ph_respond(struct ph_req *j, unsigned status, enum page_msg alert, enum page_msg notice,
    int64_t wait_s)
{
	return respond(j->app, j->req, j->ri.lang, j->ri.https, &j->si, j->csrf, j->phone,
	    status, alert, notice, wait_s);
}

/* action=send: a code to the new number, waited for. */
static int
ph_send(struct ph_req *j)
{
	char code[LOGIN_SMS_CODE_SIZE] = "";
	struct fed_sms_result res;
	int64_t wait_s = 0;
	int r;

	r = login_sms_allow(j->app, j->pname, j->ri.ip, &wait_s);
	if (r == YH_ERR_LOCKED) {
		r = ph_respond(j, 429, PAGE_MSG_SMS_TOO_SOON, 0, wait_s);
		goto out;
	}
	if (r != 0 || (r = login_sms_code_new(j->app, LOGIN_SMS_VERIFY, j->pname, j->si.key,
	    j->si.uid, code)) != 0)
		goto out;
	if ((r = login_sms_deliver(j->app, j->ri.lang, LOGIN_SMS_VERIFY, j->phone_key,
	    j->si.uid, code, true, &res)) != 0 || !res.sent) {
		if (login_sms_code_drop(j->app, LOGIN_SMS_VERIFY, j->pname, j->si.key, code) != 0)
			yh_warn("cannot drop an undelivered SMS code");
		if (r == 0)
			r = ph_respond(j, 502, PAGE_MSG_SMS_SEND_FAILED, 0, wait_s);
		goto out;
	}
	r = ph_respond(j, 200, 0, PAGE_MSG_PHONE_SENT, wait_s);
out:
	yh_wipe(code, sizeof(code));
	return r;
}

/* The "phone.change" audit line: the old and new numbers, masked. */
static int
audit_change(struct ph_req *j, const char *old)
{
	char a[32] = "", b[32];

	if (old != NULL)
		mk_phone_mask(old, a, sizeof(a));
	mk_phone_mask(j->phone_key, b, sizeof(b));
	return account_audit(j->app, "phone.change", j->si.uid, json_pack("{s:s, s:s, s:s, s:b}",
	    "old", a, "new", b, "ip", j->ri.ip, "verified", 1));
}

/* action=change: the code checked, the number stored verified. */
static int
ph_change(struct ph_req *j)
{
	struct dir_person p;
	char *uid = NULL, *old = NULL;
	int r, cr;

	memset(&p, 0, sizeof(p));
	cr = login_sms_code_check(j->app, LOGIN_SMS_VERIFY, j->pname, j->si.key, j->code, &uid);
	if (cr == 0 && strcmp(uid, j->si.uid) != 0)
		cr = YH_ERR_AUTH;
	if (cr == YH_ERR_AUTH || cr == YH_ERR_REPLAY || cr == YH_ERR_LOCKED) {
		r = ph_respond(j, cr == YH_ERR_LOCKED ? 429 : 400, cr == YH_ERR_LOCKED ?
		    PAGE_MSG_LOCKED : PAGE_MSG_SMS_CODE_FAILED, 0, 0);
		goto out;
	}
	if ((r = cr) != 0 || (r = dir_person_get(j->app->dir, j->si.uid, &p)) != 0)
		goto out;
	old = p.phone;
	p.phone = j->phone_key;
	p.phone_verified = true;
	r = dir_person_update(j->app->dir, &p);
	p.phone = old;
	if (r == 0 && (r = audit_change(j, old)) == 0)
		r = http_respond_redirect(j->req, 303, "/account?done=phone");
out:
	free(uid);
	dir_person_clear(&p);
	return r;
}

static int
ph_attempt(void *arg)
{
	struct ph_req *j = arg;

	return j->change ? ph_change(j) : ph_send(j);
}

static void
ph_drop(void *arg)
{
	ph_req_free(arg);
}

/* GET /account/phone. */
static int
phone_get(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	char csrf[CSRF_TOKEN_SIZE];
	struct sess_info si;
	int r = account_session(app, req, false, &si);

	if (r != 0 || http_req_answered(req))
		return r;
	if ((r = csrf_prepare(req, app->keys, ACCOUNT_PURPOSE, si.key, csrf)) != 0)
		return r;
	return respond(app, req, page_lang_of(req), http_req_is_https(req), &si, csrf, NULL, 200,
	    0, 0, 0);
}

/* One form field into out (outsz bytes); "" when absent or too long. */
static void
form_copy(struct http_req *req, const char *name, char *out, size_t outsz)
{
	char *v = NULL;

	out[0] = '\0';
	if (http_req_form(req, name, outsz - 1, &v) == 0)
		snprintf(out, outsz, "%s", v);
	if (v != NULL)
		yh_freezero(v, strlen(v) + 1);
}

/* POST /account/phone. */
static int
phone_post(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct ph_req *j = calloc(1, sizeof(*j));
	char action[16];
	enum page_msg bad = 0;
	int r;

	if (j == NULL)
		return YH_ERR_ALLOC;
	if ((r = account_session(app, req, true, &j->si)) != 0 || http_req_answered(req))
		goto fail;
	if ((r = csrf_verify(req, app->keys, ACCOUNT_PURPOSE, j->si.key)) != 0) {
		r = r == YH_ERR_DENIED ? csrf_respond_rejected(req) : r;
		goto fail;
	}
	j->app = app;
	j->req = req;
	login_req_info_get(req, &j->ri);
	form_copy(req, CSRF_FIELD, j->csrf, sizeof(j->csrf));
	form_copy(req, "phone", j->phone, sizeof(j->phone));
	form_copy(req, "code", j->code, sizeof(j->code));
	form_copy(req, "action", action, sizeof(action));
	j->change = strcmp(action, "change") == 0;
	if (!fed_sms_enabled(app->sms))
		bad = PAGE_MSG_SMS_UNAVAILABLE;
	else if (mk_phone_key(j->phone, strlen(j->phone), j->phone_key,
	    sizeof(j->phone_key)) != 0 || !mk_phone_is_mobile(j->phone_key))
		bad = PAGE_MSG_SMS_BAD_PHONE;
	else if (j->change && j->code[0] == '\0')
		bad = PAGE_MSG_MISSING_FIELDS;
	else if ((r = login_sms_phone_name(app, j->phone_key, j->pname)) != 0)
		goto fail;
	if (bad != 0) {
		r = ph_respond(j, bad == PAGE_MSG_SMS_UNAVAILABLE ? 503 : 400, bad, 0, 0);
		goto fail;
	}
	return login_job_start(req, app, PH_PATH, "phone change", ph_attempt, ph_drop, j);
fail:
	ph_req_free(j);
	return r;
}

static const struct http_route phone_routes[] = {
	{ "GET", PH_PATH, phone_get, HTTP_ROUTE_NO_STORE },
	{ "POST", PH_PATH, phone_post, HTTP_ROUTE_NO_STORE },
	{ NULL, NULL, NULL, 0 },
};

int
account_phone_register(struct http_server *srv, struct authd_app *app)
{
	return http_routes_add(srv, phone_routes, app);
}
