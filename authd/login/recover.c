/*
 * Account recovery (忘记密码): GET and POST /login/forgot (routes.c lists the routes).
 * Without an SMS gateway the page says how to get back in at a counter. With one, a
 * person sets a new password with the ID number, the name and an SMS code sent to the
 * account's verified phone:
 *
 *   action=send   ID number, name and phone; when they are one active person's (the
 *                 phone verified), a LOGIN_SMS_RECOVER code goes to that phone from the
 *                 worker pool, not waited for. Whatever the details, the same page in
 *                 the same time, under the same per-phone and per-address limits: the
 *                 page never tells whether an ID number is registered, nor whether the
 *                 name or phone fits it.
 *   action=reset  the same details, the code and the new password (twice): the code is
 *                 checked and used up (wrong ones count towards the phone's lock), the
 *                 person is read again and must still match, the password is hashed on
 *                 the worker pool and stored, every session of the person ends (with
 *                 back-channel logout to their apps, as any ended session) and their
 *                 refresh tokens are revoked, and "password.recover" is audited before
 *                 the answer.
 *
 * Every request is audited ("recover.request", "recover.failure", "password.recover")
 * with the phone masked, never the ID number.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "authd/app.h"
#include "authd/login/login.h"
#include "authd/oidc/token.h"
#include "authd/ui/csrf.h"
#include "authd/ui/pages.h"
#include "authd/ui/templates_gen.h"
#include "common/log.h"
#include "common/secmem.h"
#include "federation/sms.h"
#include "identity/dir/dir.h"
#include "identity/identity.h"
#include "identity/idn/idnum.h"
#include "identity/match/matchkey.h"
#include "identity/passwd/passwd.h"

#define RC_PURPOSE "recover"        /* the form's CSRF purpose */
#define RC_FIELDS 9

/* What a POST /login/forgot hands to the worker; secrets are wiped with it. */
struct rc_req {
	struct authd_app *app;
	struct http_req *req;
	struct login_req_info ri;
	bool reset;                               /* action=reset, else send */
	char *v[RC_FIELDS];                       /* the fields, see rc_names */
	char browser[CSRF_TOKEN_SIZE];
	char next[LOGIN_NEXT_MAX + 1];
	struct idn_resident id;
	char phone_key[16];
	char pname[LOGIN_SMS_NAME_SIZE];
};

enum { RC_CSRF, RC_NEXT, RC_ID, RC_NAME, RC_PHONE, RC_CODE, RC_PW, RC_PW2, RC_ACTION };

static const char *const rc_names[RC_FIELDS] = { CSRF_FIELD, "next", "id_number", "name",
	"phone", "code", "password", "password2", "action" };
static const size_t rc_max[RC_FIELDS] = { CSRF_TOKEN_SIZE, LOGIN_NEXT_MAX, IDN_INPUT_MAX,
	DIR_NAME_MAX, 64, 16, PW_PASSWORD_MAX, PW_PASSWORD_MAX, 8 };

static void
rc_req_free(struct rc_req *j)
{
	if (j == NULL)
		return;
	for (int i = 0; i < RC_FIELDS; i++)
		if (j->v[i] != NULL)
			yh_freezero(j->v[i], strlen(j->v[i]) + 1);
	yh_freezero(j, sizeof(*j));
}

/* The page: the form when there is an SMS gateway (the details typed kept, never the
 * code or the passwords), else the counter's way. */
static int
respond(struct rc_req *j, unsigned status, enum page_msg alert, enum page_msg notice,
    int64_t wait_s)
{
	struct page p;

	page_init_lang(&p, j->ri.lang, j->ri.https, LOGIN_FORGOT_PATH);
	page_set_next(&p, j->next[0] != '\0' ? j->next : NULL);
	page_begin(&p, page_msg(p.lang, PAGE_MSG_RECOVER_TITLE));
	tpl_recover_render(&p, &(struct tpl_recover){
	    .sms = fed_sms_enabled(j->app->sms), .csrf = j->v[RC_CSRF] != NULL ?
	    j->v[RC_CSRF] : "", .next = j->next[0] != '\0' ? j->next : NULL,
	    .id_number = j->v[RC_ID] != NULL ? j->v[RC_ID] : "",
	    .name = j->v[RC_NAME] != NULL ? j->v[RC_NAME] : "",
	    .phone = j->v[RC_PHONE] != NULL ? j->v[RC_PHONE] : "",
	    .alert = alert != 0 ? page_msg(p.lang, alert) : NULL,
	    .notice = notice != 0 ? page_msg(p.lang, notice) : NULL, .wait_s = (int)wait_s });
	return page_send(&p, j->req, status);
}

/* An audit line: event, actor uid (NULL: anonymous), result, the masked phone, the
 * address, and n ended sessions when n >= 0. */
static int
audit(struct rc_req *j, const char *event, const char *uid, const char *result, long n)
{
	char masked[32], actor[16 + SESS_UID_MAX];
	json_t *f;
	int r;

	mk_phone_mask(j->phone_key, masked, sizeof(masked));
	snprintf(actor, sizeof(actor), "%s%s", uid != NULL ? "user:" : "anonymous",
	    uid != NULL ? uid : "");
	f = json_pack("{s:s, s:s, s:s}", "result", result, "phone", masked, "ip", j->ri.ip);
	if (f != NULL && n >= 0 && json_object_set_new(f, "sessions_ended",
	    json_integer(n)) != 0) {
		json_decref(f);
		f = NULL;
	}
	if (f == NULL)
		return YH_ERR_ALLOC;
	r = login_audit(j->app, event, actor, f);
	json_decref(f);
	return r;
}

/* True when p is the active person the details name: this ID number, this name (as
 * the matching keys fold it), this verified phone. */
static bool
matches(const struct rc_req *j, const struct dir_person *p)
{
	char a[DIR_NAME_MAX * 2], b[DIR_NAME_MAX * 2];

	return p->status == DIR_STATUS_ACTIVE && p->id_number != NULL &&
	    strcmp(p->id_number, j->id.canonical) == 0 && p->name != NULL &&
	    mk_name_key(p->name, strlen(p->name), a, sizeof(a)) == 0 &&
	    mk_name_key(j->v[RC_NAME], strlen(j->v[RC_NAME]), b, sizeof(b)) == 0 &&
	    strcmp(a, b) == 0 && p->phone_verified && p->phone != NULL &&
	    strcmp(p->phone, j->phone_key) == 0;
}

/* action=send. */
static int
rc_send(struct rc_req *j)
{
	char code[LOGIN_SMS_CODE_SIZE] = "";
	struct dir_person p;
	bool found;
	int64_t wait_s = 0;
	int r;

	memset(&p, 0, sizeof(p));
	r = login_sms_allow(j->app, j->pname, j->ri.ip, &wait_s);
	if (r == YH_ERR_LOCKED) {
		if ((r = audit(j, "recover.request", NULL, "limited", -1)) == 0)
			r = respond(j, 429, PAGE_MSG_SMS_TOO_SOON, 0, wait_s);
		goto out;
	}
	if (r != 0)
		goto out;
	r = dir_person_find_id_number(j->app->dir, j->id.canonical, &p);
	if (r != 0 && r != YH_ERR_NOT_FOUND)
		goto out;
	found = r == 0 && matches(j, &p);
	/* The audit line first: the message's own line, written from the worker pool, must
	 * not delay this answer (a delay only a registered person's request would have). */
	if ((r = audit(j, "recover.request", found ? p.uid : NULL, found ? "queued" :
	    "no_match", -1)) != 0)
		goto out;
	if (found && ((r = login_sms_code_new(j->app, LOGIN_SMS_RECOVER, j->pname, j->browser,
	    p.uid, code)) != 0 || (r = login_sms_deliver(j->app, j->ri.lang, LOGIN_SMS_RECOVER,
	    j->phone_key, p.uid, code, false, NULL)) != 0))
		goto out;
	r = respond(j, 200, 0, PAGE_MSG_RECOVER_SENT, wait_s);
out:
	yh_wipe(code, sizeof(code));
	dir_person_clear(&p);
	return r;
}

/* Stores the new password of uid and ends what the old one opened. */
static int
rc_apply(struct rc_req *j, const char *uid, size_t *ended, size_t *families)
{
	int r;

	if ((r = login_password_store(j->app, uid, j->v[RC_PW])) == 0)
		r = oidc_user_end(j->app, uid, true, ended, families);
	return r;
}

/* action=reset. */
static int
rc_reset(struct rc_req *j)
{
	struct dir_person p;
	enum page_msg pm;
	size_t ended = 0, families = 0;
	char *uid = NULL;
	int r, cr;

	memset(&p, 0, sizeof(p));
	pm = login_password_problem(j->v[RC_PW], j->v[RC_ID], j->id.canonical, j->v[RC_PHONE],
	    j->phone_key);
	if (pm == PAGE_MSG_NONE && strcmp(j->v[RC_PW], j->v[RC_PW2]) != 0)
		pm = PAGE_MSG_ERR_PW_MISMATCH;
	if (pm != PAGE_MSG_NONE) {
		r = respond(j, 400, pm, 0, 0);
		goto out;
	}
	cr = login_sms_code_check(j->app, LOGIN_SMS_RECOVER, j->pname, j->browser, j->v[RC_CODE],
	    &uid);
	if (cr == 0 && (r = dir_person_get(j->app->dir, uid, &p)) != 0 && r != YH_ERR_NOT_FOUND)
		goto out;
	if (cr == 0 && !matches(j, &p))
		cr = YH_ERR_AUTH;
	if (cr == YH_ERR_AUTH || cr == YH_ERR_REPLAY || cr == YH_ERR_LOCKED) {
		if ((r = audit(j, "recover.failure", NULL, cr == YH_ERR_LOCKED ? "locked" :
		    cr == YH_ERR_REPLAY ? "used_code" : "bad_code", -1)) == 0)
			r = respond(j, cr == YH_ERR_LOCKED ? 429 : 400, cr == YH_ERR_LOCKED ?
			    PAGE_MSG_LOCKED : PAGE_MSG_RECOVER_FAILED, 0, 0);
		goto out;
	}
	if ((r = cr) != 0 || (r = rc_apply(j, p.uid, &ended, &families)) != 0 ||
	    (r = audit(j, "password.recover", p.uid, "reset", (long)ended)) != 0)
		goto out;
	yh_info("password of user %s reset by SMS code from %s: %zu sessions ended, %zu "
	    "refresh families revoked", p.uid, j->ri.ip, ended, families);
	login_metric(j->app, "recover", "success");
	r = page_done_send(j->req, 200, page_msg(j->ri.lang, PAGE_MSG_RECOVER_DONE_TITLE),
	    page_msg(j->ri.lang, PAGE_MSG_RECOVER_DONE), LOGIN_PATH,
	    page_msg(j->ri.lang, PAGE_MSG_RECOVER_BACK));
out:
	free(uid);
	dir_person_clear(&p);
	return r;
}

static int
rc_attempt(void *arg)
{
	struct rc_req *j = arg;

	return j->reset ? rc_reset(j) : rc_send(j);
}

static void
rc_drop(void *arg)
{
	rc_req_free(arg);
}

/* GET /login/forgot[?next=...]. */
int
login_forgot_get(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	char csrf[CSRF_TOKEN_SIZE] = "";
	struct rc_req j;
	const char *next = NULL;
	int r;

	memset(&j, 0, sizeof(j));
	if (http_req_query(req, "next", LOGIN_NEXT_MAX, &next) == 0 && login_next_ok(next))
		snprintf(j.next, sizeof(j.next), "%s", next);
	if (fed_sms_enabled(app->sms) &&
	    (r = csrf_prepare(req, app->keys, RC_PURPOSE, NULL, csrf)) != 0)
		return r;
	j.app = app;
	j.req = req;
	j.ri.lang = page_lang_of(req);
	j.ri.https = http_req_is_https(req);
	j.v[RC_CSRF] = csrf;
	r = respond(&j, 200, 0, 0, 0);
	return r;
}

/* Reads the form into a new job; *bad: the alert of a form the worker need not see. */
static int
rc_req_new(struct http_req *req, struct authd_app *app, struct rc_req **out,
    enum page_msg *bad)
{
	struct rc_req *j = calloc(1, sizeof(*j));
	const char *browser = page_cookie(req, CSRF_COOKIE);
	int r;

	*out = NULL;
	*bad = 0;
	if (j == NULL)
		return YH_ERR_ALLOC;
	j->app = app;
	j->req = req;
	login_req_info_get(req, &j->ri);
	for (int i = 0; i < RC_FIELDS; i++) {
		r = http_req_form(req, rc_names[i], rc_max[i], &j->v[i]);
		if (r != 0 && (j->v[i] = strdup("")) == NULL) {
			rc_req_free(j);
			return YH_ERR_ALLOC;
		}
		if (r == YH_ERR_TOO_LONG && *bad == 0)
			*bad = PAGE_MSG_RECOVER_FAILED;
	}
	if (login_next_ok(j->v[RC_NEXT]))
		snprintf(j->next, sizeof(j->next), "%s", j->v[RC_NEXT]);
	snprintf(j->browser, sizeof(j->browser), "%s", browser != NULL ? browser : "");
	j->reset = strcmp(j->v[RC_ACTION], "reset") == 0;
	if (*bad == 0 && (j->v[RC_NAME][0] == '\0' || (j->reset && j->v[RC_CODE][0] == '\0')))
		*bad = PAGE_MSG_MISSING_FIELDS;
	if (*bad == 0 && idn_resident_check(j->v[RC_ID], strlen(j->v[RC_ID]), &j->id) != IDN_OK)
		*bad = PAGE_MSG_RECOVER_BAD_ID;
	if (*bad == 0 && (mk_phone_key(j->v[RC_PHONE], strlen(j->v[RC_PHONE]), j->phone_key,
	    sizeof(j->phone_key)) != 0 || !mk_phone_is_mobile(j->phone_key)))
		*bad = PAGE_MSG_SMS_BAD_PHONE;
	if (*bad == 0 && (r = login_sms_phone_name(app, j->phone_key, j->pname)) != 0) {
		rc_req_free(j);
		return r;
	}
	*out = j;
	return 0;
}

/* POST /login/forgot. */
int
login_forgot_post(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct rc_req *j = NULL;
	enum page_msg bad;
	int r;

	if (!fed_sms_enabled(app->sms))
		return page_error_send(req, 404, page_msg(page_lang_of(req),
		    PAGE_MSG_SMS_UNAVAILABLE), LOGIN_FORGOT_PATH, page_msg(page_lang_of(req),
		    PAGE_MSG_RECOVER_TITLE));
	if ((r = csrf_verify(req, app->keys, RC_PURPOSE, NULL)) != 0)
		return r == YH_ERR_DENIED ? csrf_respond_rejected(req) : r;
	if ((r = rc_req_new(req, app, &j, &bad)) != 0)
		return r;
	if (bad != 0) {
		r = respond(j, 400, bad, 0, 0);
		rc_req_free(j);
		return r;
	}
	return login_job_start(req, app, LOGIN_FORGOT_PATH, "account recovery", rc_attempt,
	    rc_drop, j);
}
