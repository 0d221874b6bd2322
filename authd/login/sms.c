/*
 * SMS code login (短信验证码登录): GET and POST /login/sms (routes.c lists the routes).
 * One form, two buttons: "send" asks for a code for a phone number, "login" logs in
 * with the number and the code (smscode.c keeps, limits and checks the codes). The
 * directory lookup, the store and the audit run on the worker pool; the HTTP thread
 * only checks the CSRF token and copies the form.
 *
 * No enumeration: a number that is nobody's verified phone (or several people's, or a
 * disabled account's) gets the same page, the same limits and, since the message is
 * sent from the worker pool without being waited for, the same time as a known one;
 * no code is kept and nothing is sent for it, so any code given for it is wrong.
 *
 * The session gets amr "sms" and the LoA login_session_loa gives a password (2 for a
 * real-name verified person, 1 otherwise): a code proves the verified phone as a
 * password proves its secret. Staff are held to their second factor as after a password.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "authd/app.h"
#include "authd/login/login.h"
#include "authd/ui/csrf.h"
#include "authd/ui/pages.h"
#include "authd/ui/templates_gen.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/workers.h"
#include "federation/sms.h"
#include "identity/dir/dir.h"
#include "identity/match/matchkey.h"

#define SMS_PURPOSE "sms"          /* the form's CSRF purpose */
#define SMS_PHONE_FIELD_MAX 64
#define SMS_CODE_FIELD_MAX 16

/* What a POST /login/sms hands to the worker. */
struct sms_req {
	struct authd_app *app;
	struct http_req *req;
	bool login;                               /* action=login, else send */
	struct login_req_info ri;
	char phone[SMS_PHONE_FIELD_MAX + 1];      /* as typed */
	char code[SMS_CODE_FIELD_MAX + 1];        /* secret: wiped */
	char browser[CSRF_TOKEN_SIZE];            /* the yh_csrf cookie (secret) */
	char next[LOGIN_NEXT_MAX + 1];
	char csrf[CSRF_TOKEN_SIZE];
};

static void
sms_req_free(struct sms_req *j)
{
	if (j != NULL)
		yh_freezero(j, sizeof(*j));
}

/* The form, with what happened. */
static int
respond(struct sms_req *j, unsigned status, const char *phone, enum page_msg alert,
    enum page_msg notice, int64_t wait_s)
{
	struct page p;

	page_init_lang(&p, j->ri.lang, j->ri.https, LOGIN_SMS_PATH);
	page_set_next(&p, j->next);
	page_begin(&p, page_msg(p.lang, PAGE_MSG_SMS_LOGIN_TITLE));
	tpl_sms_login_render(&p, &(struct tpl_sms_login){
	    .csrf = j->csrf, .next = j->next, .phone = phone != NULL ? phone : "",
	    .alert = alert != 0 ? page_msg(p.lang, alert) : NULL,
	    .notice = notice != 0 ? page_msg(p.lang, notice) : NULL,
	    .sent = notice != 0, .wait_s = (int)wait_s });
	return page_send(&p, j->req, status);
}

/* An audit line of this request: event with fields (consumed) plus the masked phone,
 * the address and the purpose. */
static int
audit(struct sms_req *j, const char *event, const char *uid, const char *phone_key,
    json_t *f)
{
	char masked[SMS_PHONE_FIELD_MAX + 1], actor[16 + SESS_UID_MAX];
	int r;

	if (f == NULL)
		return YH_ERR_ALLOC;
	mk_phone_mask(phone_key, masked, sizeof(masked));
	snprintf(actor, sizeof(actor), "%s%s", uid != NULL ? "user:" : "anonymous",
	    uid != NULL ? uid : "");
	if (json_object_set_new(f, "phone", json_string(masked)) != 0 ||
	    json_object_set_new(f, "ip", json_string(j->ri.ip)) != 0 ||
	    json_object_set_new(f, "purpose", json_string("login")) != 0)
		r = YH_ERR_ALLOC;
	else
		r = login_audit(j->app, event, actor, f);
	json_decref(f);
	return r;
}

/* The person whose verified phone is phone_key, active, into *p; false when none. */
static int
find_holder(struct sms_req *j, const char *phone_key, struct dir_person *p, bool *found)
{
	int r = dir_person_find_phone(j->app->dir, phone_key, p);

	*found = r == 0 && p->status == DIR_STATUS_ACTIVE && p->phone_verified;
	if (r == YH_ERR_NOT_FOUND || r == YH_ERR_CONFLICT || r == 0)
		return 0;
	return r;
}

/* action=send: a code to the phone's holder, if it has one. */
static int
sms_send(struct sms_req *j, const char *phone_key, const char *pname)
{
	char code[LOGIN_SMS_CODE_SIZE] = "";
	struct dir_person p;
	const char *result = "unknown";
	bool found = false;
	int64_t wait_s = 0;
	int r;

	memset(&p, 0, sizeof(p));
	r = login_sms_allow(j->app, pname, j->ri.ip, &wait_s);
	if (r == YH_ERR_LOCKED) {
		if ((r = audit(j, "sms.request", NULL, phone_key, json_pack("{s:s, s:I}", "result",
		    "limited", "wait_s", (json_int_t)wait_s))) == 0)
			r = respond(j, 429, j->phone, PAGE_MSG_SMS_TOO_SOON, 0, wait_s);
		goto out;
	}
	if (r != 0 || (r = find_holder(j, phone_key, &p, &found)) != 0)
		goto out;
	if (found)
		result = "queued";
	/* The audit line first: the message's own line, written from the worker pool, must
	 * not delay this answer (a delay only a known phone's request would have). */
	if ((r = audit(j, "sms.request", found ? p.uid : NULL, phone_key, json_pack("{s:s}",
	    "result", result))) != 0)
		goto out;
	if (found && ((r = login_sms_code_new(j->app, LOGIN_SMS_LOGIN, pname, j->browser, p.uid,
	    code)) != 0 || (r = login_sms_deliver(j->app, j->ri.lang, LOGIN_SMS_LOGIN,
	    phone_key, p.uid, code, false, NULL)) != 0))
		goto out;
	r = respond(j, 200, j->phone, 0, PAGE_MSG_SMS_SENT, wait_s);
out:
	yh_wipe(code, sizeof(code));
	dir_person_clear(&p);
	return r;
}

/* A refused code: audited, the form again. */
static int
sms_refused(struct sms_req *j, const char *phone_key, const char *reason, int cr)
{
	int r;

	login_metric(j->app, "sms", cr == YH_ERR_LOCKED ? "locked" : "failure");
	if ((r = audit(j, "login.failure", NULL, phone_key, json_pack("{s:s, s:s}", "method",
	    "sms", "reason", reason))) != 0)
		return r;
	if (cr == YH_ERR_LOCKED)
		return respond(j, 429, j->phone, PAGE_MSG_LOCKED, 0, 0);
	return respond(j, 200, j->phone, PAGE_MSG_SMS_CODE_FAILED, 0, 0);
}

/* The session of a good code's person. */
static int
sms_succeeded(struct sms_req *j, const struct dir_person *p, const char *phone_key)
{
	char token[SESS_TOKEN_SIZE] = "";
	struct sess_info info;
	bool staff = false;
	int r;

	if ((r = login_staff_pending(j->app, p->uid, &staff)) != 0)
		goto out;
	if (staff && login_staff_cert_only(j->app)) {
		/* login.staff_methods = cert: the right code opens nothing. */
		if ((r = audit(j, "login.failure", p->uid, phone_key, json_pack("{s:s, s:s}",
		    "method", "sms", "reason", "staff_certificate_required"))) == 0) {
			login_metric(j->app, "sms", "failure");
			r = respond(j, 403, NULL, PAGE_MSG_STAFF_CERT_REQUIRED, 0, 0);
		}
		goto out;
	}
	if ((r = login_open_session(j->app, &j->ri, p->uid, staff ? LOGIN_LOA_PENDING :
	    login_session_loa(p->loa.level, false), "sms", token, &info)) != 0)
		goto out;
	if ((r = audit(j, "login.success", p->uid, phone_key, json_pack("{s:s, s:s, s:i, s:s?}",
	    "method", "sms", "sid", info.sid, "loa", info.loa, "pending",
	    staff ? "totp" : NULL))) != 0) {
		/* Not on the record: the login does not happen. */
		if (sess_end_token(j->app->sess, token, SESS_END_ADMIN, NULL) != 0)
			yh_warn("cannot end the unaudited session");
		goto out;
	}
	login_metric(j->app, "sms", "success");
	r = login_complete(j->req, j->ri.https, j->next, token, staff);
out:
	yh_wipe(token, sizeof(token));
	return r;
}

/* action=login: the code checked and used up, the session opened. */
static int
sms_login(struct sms_req *j, const char *phone_key, const char *pname)
{
	struct dir_person p;
	char *uid = NULL;
	int r, cr;

	memset(&p, 0, sizeof(p));
	cr = login_sms_code_check(j->app, LOGIN_SMS_LOGIN, pname, j->browser, j->code, &uid);
	if (cr == YH_ERR_AUTH || cr == YH_ERR_REPLAY || cr == YH_ERR_LOCKED) {
		r = sms_refused(j, phone_key, cr == YH_ERR_REPLAY ? "used_code" :
		    cr == YH_ERR_LOCKED ? "locked" : "bad_code", cr);
		goto out;
	}
	if ((r = cr) != 0)
		goto out;
	/* The person as they are now: still active, still this verified phone. */
	r = dir_person_get(j->app->dir, uid, &p);
	if (r == YH_ERR_NOT_FOUND || (r == 0 && (p.status != DIR_STATUS_ACTIVE ||
	    !p.phone_verified || p.phone == NULL || strcmp(p.phone, phone_key) != 0))) {
		r = sms_refused(j, phone_key, "account_changed", YH_ERR_AUTH);
		goto out;
	}
	if (r == 0)
		r = sms_succeeded(j, &p, phone_key);
out:
	free(uid);
	dir_person_clear(&p);
	return r;
}

static int
sms_attempt(struct sms_req *j)
{
	char phone_key[16], pname[LOGIN_SMS_NAME_SIZE];
	int r;

	if (mk_phone_key(j->phone, strlen(j->phone), phone_key, sizeof(phone_key)) != 0 ||
	    phone_key[0] != '1' || strlen(phone_key) != 11)
		return respond(j, 200, j->phone, PAGE_MSG_SMS_BAD_PHONE, 0, 0);
	if ((r = login_sms_phone_name(j->app, phone_key, pname)) != 0)
		return r;
	return j->login ? sms_login(j, phone_key, pname) : sms_send(j, phone_key, pname);
}

/* login_job_start's callbacks. */
static int
sms_req_run(void *arg)
{
	return sms_attempt(arg);
}

static void
sms_req_drop(void *arg)
{
	sms_req_free(arg);
}

/* GET /login/sms?next=...: the form. */
int
login_sms_get(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct sms_req j;
	int r;

	memset(&j, 0, sizeof(j));
	if ((r = login_form_start(req, app, SMS_PURPOSE, j.next, sizeof(j.next), j.csrf,
	    &j.ri)) != 0)
		return r;
	j.app = app;
	j.req = req;
	return respond(&j, fed_sms_enabled(app->sms) ? 200 : 503, NULL,
	    fed_sms_enabled(app->sms) ? 0 : PAGE_MSG_SMS_UNAVAILABLE, 0, 0);
}

/* Copies the form into a new job; *bad gets the alert of a form that needs no worker. */
static int
sms_req_new(struct http_req *req, struct authd_app *app, struct sms_req **out,
    enum page_msg *bad)
{
	struct sms_req *j = calloc(1, sizeof(*j));
	char *v[5] = { NULL, NULL, NULL, NULL, NULL };
	static const char *const names[] = { CSRF_FIELD, "next", "phone", "code", "action" };
	static const size_t max[] = { CSRF_TOKEN_SIZE, LOGIN_NEXT_MAX, SMS_PHONE_FIELD_MAX,
	    SMS_CODE_FIELD_MAX, 8 };
	const char *browser = page_cookie(req, CSRF_COOKIE);
	int rr[5];

	*out = NULL;
	*bad = 0;
	if (j == NULL)
		return YH_ERR_ALLOC;
	for (int i = 0; i < 5; i++)
		rr[i] = http_req_form(req, names[i], max[i], &v[i]);
	j->app = app;
	j->req = req;
	login_req_info_get(req, &j->ri);
	snprintf(j->csrf, sizeof(j->csrf), "%s", rr[0] == 0 ? v[0] : "");
	snprintf(j->next, sizeof(j->next), "%s", login_next_pick(rr[1] == 0 ? v[1] : NULL));
	if (rr[2] == 0)
		snprintf(j->phone, sizeof(j->phone), "%s", v[2]);
	if (rr[3] == 0)
		snprintf(j->code, sizeof(j->code), "%s", v[3]);
	snprintf(j->browser, sizeof(j->browser), "%s", browser != NULL ? browser : "");
	j->login = rr[4] == 0 && strcmp(v[4], "login") == 0;
	if (rr[2] != 0 || j->phone[0] == '\0')
		*bad = rr[2] == YH_ERR_TOO_LONG ? PAGE_MSG_SMS_BAD_PHONE : PAGE_MSG_MISSING_FIELDS;
	else if (j->login && (rr[3] != 0 || j->code[0] == '\0'))
		*bad = rr[3] == YH_ERR_TOO_LONG ? PAGE_MSG_SMS_CODE_FAILED :
		    PAGE_MSG_MISSING_FIELDS;
	else if (!fed_sms_enabled(app->sms))
		*bad = PAGE_MSG_SMS_UNAVAILABLE;
	for (int i = 0; i < 5; i++)
		if (v[i] != NULL)
			yh_freezero(v[i], strlen(v[i]) + 1);
	*out = j;
	return 0;
}

/* POST /login/sms: CSRF, the fields, then the worker. */
int
login_sms_post(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct sms_req *j = NULL;
	enum page_msg bad;
	int r;

	if ((r = csrf_verify(req, app->keys, SMS_PURPOSE, NULL)) != 0)
		return r == YH_ERR_DENIED ? csrf_respond_rejected(req) : r;
	if ((r = sms_req_new(req, app, &j, &bad)) != 0)
		return r;
	if (bad != 0) {
		r = respond(j, bad == PAGE_MSG_SMS_UNAVAILABLE ? 503 : 200, j->phone, bad, 0, 0);
		sms_req_free(j);
		return r;
	}
	return login_job_start(req, app, LOGIN_SMS_PATH, "SMS login", sms_req_run,
	    sms_req_drop, j);
}
