/*
 * Self-registration: GET and POST /register. A person gives name, resident ID number,
 * mobile phone and a password; the account is created at LoA 1 ("self": the ID number
 * is only known to be well-formed). The argon2id hash runs on the worker pool.
 *
 * No enumeration. Whether the ID number was already registered, the answer is the same
 * page, in the same time (the password is hashed before the directory is asked): "if
 * this ID number was not registered before, your account is ready; if it was, log in
 * with your existing password or recover it at a counter", followed by the login form
 * with the ID number filled in. For the same reason registration does not log the new
 * user in by itself: a session after a fresh registration and none after a taken ID
 * number would tell anyone who types a stranger's ID number whether that stranger has
 * an account. The honest user types the password once more.
 *
 * With registry.person.url set, the name and ID number are first checked against the
 * population registry (federation/registry.h), on the worker, before the directory is
 * asked: a match creates the account at LoA 2 (method "registry", as `authctl user
 * verify --loa 2` records it); a mismatch creates nothing and shows the form again with
 * one message that says only that the check failed (it is about what was typed, so it
 * tells nothing about accounts); an unavailable registry creates the account at LoA 1
 * and queues its uid (federation/regqueue.h) for `authctl registry retry`, durably
 * before the answer. Each call is one "registry.check" audit line.
 *
 * The privacy notice in force (login_notice_get) is shown on the form with two boxes the
 * page never ticks: the general agreement and, apart from it, the consent to processing
 * the ID number (sensitive personal information, PIPL arts. 28-29). A form without
 * either is refused (400, nothing written) with the message naming the box; one sent
 * for a notice version no longer in force is shown again with the new notice. The
 * consents (DIR_PRIVACY_ID_NUMBER and "notice", with the notice's version and SHA-256)
 * are stored in the transaction that adds the person, and a "register.consent" audit
 * line names the uid and the version (never the ID number).
 *
 * With an SMS gateway (sms.driver, federation/sms.h) the phone is verified at
 * registration: the form's "send code" button (action=send_code) checks the phone alone
 * and sends it a code for LOGIN_SMS_VERIFY, bound to the browser, waiting for the
 * gateway so that a failure is told (and the undelivered code used up at once); the
 * registration itself then needs that code, checked and used up before anything else,
 * and stores the phone verified. The limits are the SMS codes' (login.h). Without a
 * gateway the phone is stored unverified, as typed.
 *
 * Registrations are counted per client address (LOGIN_REG_PER_ADDR per
 * LOGIN_REG_WINDOW_S), so that the form cannot be used to create accounts in bulk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>

#include "authd/ui/csrf.h"
#include "authd/login/login.h"
#include "authd/ui/pages.h"
#include "authd/ui/templates_gen.h"
#include "authd/app.h"
#include "common/workers.h"
#include "common/timeutil.h"
#include "federation/registry.h"
#include "federation/regqueue.h"
#include "federation/sms.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/utf8.h"
#include "identity/dir/dir.h"
#include "identity/identity.h"
#include "identity/idn/idnum.h"
#include "identity/match/matchkey.h"
#include "identity/passwd/passwd.h"

#define REG_PURPOSE "register"
#define REG_PHONE_MAX 64

/* The submitted form. Strings are owned; password fields are secrets. */
struct reg_form {
	char *name, *id_number, *phone, *password, *password2, *next, *csrf;
	char *agree, *consent_id, *notice_version;   /* "yes" when ticked; the version shown */
	char *sms_code, *action;           /* the SMS code typed; "send_code" asks for one */
	struct idn_resident id;            /* when the ID number is valid */
	char phone_key[16];
	char browser[CSRF_TOKEN_SIZE];     /* the yh_csrf cookie: SMS codes are bound to it */
};

static void
reg_form_clear(struct reg_form *f)
{
	free(f->name);
	free(f->id_number);
	free(f->phone);
	yh_strfree_secret(f->password);
	yh_strfree_secret(f->password2);
	free(f->next);
	free(f->csrf);
	free(f->agree);
	free(f->consent_id);
	free(f->notice_version);
	yh_strfree_secret(f->sms_code);
	free(f->action);
	yh_wipe(f->browser, sizeof(f->browser));
	memset(f, 0, sizeof(*f));
}

/* The job for the worker: the checked values, copied. */
struct reg_job {
	struct authd_app *app;
	struct http_req *req;
	bool https;
	enum page_lang lang;
	struct reg_form f;
	struct login_notice notice;        /* the notice consented to */
	bool send_code;                    /* action=send_code: an SMS code, nothing else */
	char login_csrf[CSRF_TOKEN_SIZE];
	char ip[SESS_ADDR_MAX + 1];
};

/* ------------------------------------------------------------------ checks */

/* The password rules; returns the message, or PAGE_MSG_NONE when it is acceptable. */
static enum page_msg
password_problem(const struct reg_form *f)
{
	return login_password_problem(f->password, f->id_number, f->id.canonical, f->phone,
	    f->phone_key);
}

/* Trims ASCII spaces at both ends, in place. */
static void
trim(char *s)
{
	size_t n = strlen(s), start = 0;

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	while (s[start] == ' ' || s[start] == '\t')
		start++;
	memmove(s, s + start, n - start + 1);
}

/* Reads one field; a missing field is "", an over-long one is cut to "" and flagged. */
static int
field(struct http_req *req, const char *name, size_t max, char **out, bool *too_long)
{
	int r = http_req_form(req, name, max, out);

	if (r == YH_ERR_NOT_FOUND || r == YH_ERR_TOO_LONG || r == YH_ERR_INVALID ||
	    r == YH_ERR_CONFLICT) {
		if (r == YH_ERR_TOO_LONG && too_long != NULL)
			*too_long = true;
		return (*out = strdup("")) == NULL ? YH_ERR_ALLOC : 0;
	}
	return r;
}

static bool
ticked(const char *v)
{
	return v != NULL && strcmp(v, "yes") == 0;
}

/* Fills e with what is wrong (messages in lang); true when everything is fine. */
static bool
reg_check(struct reg_form *f, enum page_lang l, bool pw_too_long, bool sms,
    struct page_reg_errors *e)
{
	char namekey[DIR_NAME_MAX * 2];
	enum idn_reason why;
	enum page_msg pm;

	memset(e, 0, sizeof(*e));
	trim(f->name);
	trim(f->id_number);
	trim(f->phone);
	if (f->name[0] == '\0' || strlen(f->name) > DIR_NAME_MAX ||
	    mk_name_key(f->name, strlen(f->name), namekey, sizeof(namekey)) != 0)
		e->name = page_msg(l, PAGE_MSG_ERR_NAME);
	why = idn_resident_check(f->id_number, strlen(f->id_number), &f->id);
	if (why != IDN_OK)
		e->id_number = page_idn_reason(l, why);
	if (mk_phone_key(f->phone, strlen(f->phone), f->phone_key, sizeof(f->phone_key)) != 0 ||
	    !mk_phone_is_mobile(f->phone_key)) {
		f->phone_key[0] = '\0';
		e->phone = page_msg(l, PAGE_MSG_ERR_PHONE);
	}
	pm = pw_too_long ? PAGE_MSG_ERR_PW_LONG : password_problem(f);
	if (pm != PAGE_MSG_NONE)
		e->password = page_msg(l, pm);
	else if (strcmp(f->password, f->password2) != 0)
		e->password2 = page_msg(l, PAGE_MSG_ERR_PW_MISMATCH);
	if (!ticked(f->agree))
		e->agree = page_msg(l, PAGE_MSG_ERR_AGREE);
	if (!ticked(f->consent_id))
		e->consent_id = page_msg(l, PAGE_MSG_ERR_CONSENT_ID);
	if (sms && f->sms_code[0] == '\0')
		e->sms_code = page_msg(l, PAGE_MSG_SMS_CODE_MISSING);
	return e->name == NULL && e->id_number == NULL && e->phone == NULL &&
	    e->password == NULL && e->password2 == NULL && e->agree == NULL &&
	    e->consent_id == NULL && e->sms_code == NULL;
}

/* ------------------------------------------------------------------ pages */

/* The form's values: what f typed and ticked (f NULL: empty), the notice n in force. */
static void
form_values(const struct authd_app *app, const struct reg_form *f,
    const struct login_notice *n, bool keep_ticks, struct page_reg_values *v)
{
	memset(v, 0, sizeof(*v));
	v->sms = fed_sms_enabled(app->sms);
	if (f != NULL) {
		v->name = f->name;
		v->id_number = f->id_number;
		v->phone = f->phone;
		v->agree = keep_ticks && ticked(f->agree);
		v->consent_id = keep_ticks && ticked(f->consent_id);
	}
	v->notice = n->text;
	v->notice_version = n->version;
}

static int
respond_form(struct http_req *req, struct authd_app *app, const struct reg_form *f,
    const char *csrf, const char *next, unsigned status, const struct page_reg_errors *e)
{
	struct page_reg_values v;
	struct login_notice n;
	struct page p;
	int r;

	page_init(&p, req, LOGIN_REG_PATH);
	if ((r = login_notice_get(app->cfg, p.lang, &n)) != 0) {
		page_free(&p);
		return r;
	}
	/* A form sent for another notice: the ticks were for that one. */
	form_values(app, f, &n, f == NULL || f->notice_version == NULL ||
	    strcmp(f->notice_version, n.version) == 0, &v);
	page_set_next(&p, next);
	page_begin(&p, page_msg(p.lang, PAGE_MSG_REG_TITLE));
	page_register_form(&p, csrf, next, &v, e);
	return page_send(&p, req, status);
}

/* The one answer to an accepted registration, new or not. */
static int
respond_done(struct reg_job *j)
{
	struct page p;

	page_init_lang(&p, j->lang, j->https, LOGIN_REG_PATH);
	page_set_next(&p, j->f.next);
	page_begin(&p, page_msg(p.lang, PAGE_MSG_REG_DONE_TITLE));
	tpl_register_done_render(&p, &(struct tpl_register_done){ 0 });
	login_form(&p, j->app, j->login_csrf, j->f.next, j->f.id.canonical, NULL);
	return page_send(&p, j->req, 200);
}

/* The form again from the worker (the submitted values kept, the passwords not), with
 * the form's alert, the SMS code's error or notice, and the wait before another code. */
static int
respond_job(struct reg_job *j, unsigned status, enum page_msg alert, enum page_msg code_error,
    enum page_msg notice, int64_t wait_s)
{
	struct page_reg_values v;
	struct page_reg_errors e;
	struct page p;

	memset(&e, 0, sizeof(e));
	form_values(j->app, &j->f, &j->notice, true, &v);
	page_init_lang(&p, j->lang, j->https, LOGIN_REG_PATH);
	page_set_next(&p, j->f.next);
	page_begin(&p, page_msg(p.lang, PAGE_MSG_REG_TITLE));
	e.form = alert != 0 ? page_msg(p.lang, alert) : NULL;
	e.sms_code = code_error != 0 ? page_msg(p.lang, code_error) : NULL;
	v.sms_notice = notice != 0 ? page_msg(p.lang, notice) : NULL;
	v.sms_wait_s = (int)wait_s;
	page_register_form(&p, j->f.csrf, j->f.next, &v, &e);
	return page_send(&p, j->req, status);
}

/* ------------------------------------------------------------------ the worker */

static void
reg_job_free(struct reg_job *j)
{
	if (j == NULL)
		return;
	reg_form_clear(&j->f);
	free(j);
}

static int
audit_register(struct reg_job *j, const char *uid, const char *result, int loa)
{
	char actor[16 + DIR_UID_LEN];
	json_t *f;
	int r;

	snprintf(actor, sizeof(actor), "%s%s", uid != NULL ? "user:" : "anonymous",
	    uid != NULL ? uid : "");
	if ((f = json_pack("{s:s, s:s, s:i}", "result", result, "ip", j->ip, "loa", loa)) ==
	    NULL)
		return YH_ERR_ALLOC;
	r = login_audit(j->app, "register", actor, f);
	json_decref(f);
	return r;
}

/* The "register.consent" line: who, on which notice, to what (no ID number). */
static int
audit_consent(struct reg_job *j, const char *uid)
{
	char actor[16 + DIR_UID_LEN];
	json_t *f;
	int r;

	snprintf(actor, sizeof(actor), "user:%s", uid);
	if ((f = json_pack("{s:s, s:s, s:s, s:[s, s], s:s}", "uid", uid, "notice_version",
	    j->notice.version, "notice_sha256", j->notice.sha256, "consents", "notice",
	    DIR_PRIVACY_ID_NUMBER, "ip", j->ip)) == NULL)
		return YH_ERR_ALLOC;
	r = login_audit(j->app, "register.consent", actor, f);
	json_decref(f);
	return r;
}

/*
 * Asks the population registry about the form's name and ID number (no directory call
 * is in progress) and writes the "registry.check" audit line. *out is the outcome;
 * without registry.person.url, FED_REG_UNAVAILABLE with *asked false.
 */
static int
reg_registry(struct reg_job *j, enum fed_reg_outcome *out, bool *asked,
    struct fed_reg_result *res)
{
	struct fed_reg_person q = { j->f.name, j->f.id.canonical };
	char masked[40];
	json_t *f;
	int r;

	*out = FED_REG_UNAVAILABLE;
	*asked = fed_reg_enabled(j->app->registry, FED_REG_PERSON);
	if (!*asked)
		return 0;
	if ((r = fed_reg_check_person(j->app->registry, &q, res)) != 0)
		return r;
	*out = res->outcome;
	idn_mask(j->f.id.canonical, masked, sizeof(masked));
	if ((f = fed_reg_audit_fields(FED_REG_PERSON, res)) == NULL)
		return YH_ERR_ALLOC;
	json_object_set_new(f, "id_number", json_string(masked));
	json_object_set_new(f, "ip", json_string(j->ip));
	json_object_set_new(f, "via", json_string("register"));
	r = login_audit(j->app, "registry.check", "anonymous", f);
	json_decref(f);
	yh_info("population registry: %s in %lld ms (registration from %s)%s%s",
	    fed_reg_outcome_name(res->outcome), (long long)res->latency_ms, j->ip,
	    res->why[0] != '\0' ? ": " : "", res->why);
	return r;
}

/* The "register.phone" audit line of an SMS code tried at registration. */
static int
audit_phone(struct reg_job *j, const char *result)
{
	char masked[32];
	json_t *f;
	int r;

	mk_phone_mask(j->f.phone_key, masked, sizeof(masked));
	if ((f = json_pack("{s:s, s:s, s:s}", "result", result, "ip", j->ip, "phone",
	    masked)) == NULL)
		return YH_ERR_ALLOC;
	r = login_audit(j->app, "register.phone", "anonymous", f);
	json_decref(f);
	return r;
}

/*
 * With an SMS gateway, the phone is verified by the code sent to it (reg_send_code):
 * *ok true when the code is right (it is used up); else the form is answered with the
 * code's error (a wrong, used or expired code counts towards the phone's lock) and *ok
 * is false. Without a gateway *ok is true (the phone stays unverified).
 */
static int
reg_phone_code(struct reg_job *j, bool *ok)
{
	char pname[LOGIN_SMS_NAME_SIZE];
	char *payload = NULL;
	int r, cr;

	*ok = !fed_sms_enabled(j->app->sms);
	if (*ok)
		return 0;
	if ((r = login_sms_phone_name(j->app, j->f.phone_key, pname)) != 0)
		return r;
	cr = login_sms_code_check(j->app, LOGIN_SMS_VERIFY, pname, j->f.browser, j->f.sms_code,
	    &payload);
	free(payload);
	if (cr != 0 && cr != YH_ERR_AUTH && cr != YH_ERR_REPLAY && cr != YH_ERR_LOCKED)
		return cr;
	if ((r = audit_phone(j, cr == 0 ? "verified" : cr == YH_ERR_LOCKED ? "locked" :
	    cr == YH_ERR_REPLAY ? "used_code" : "bad_code")) != 0)
		return r;
	if (cr == 0) {
		*ok = true;
		return 0;
	}
	login_metric(j->app, "register", "failure");
	return respond_job(j, cr == YH_ERR_LOCKED ? 429 : 400, 0, cr == YH_ERR_LOCKED ?
	    PAGE_MSG_LOCKED : PAGE_MSG_SMS_CODE_FAILED, 0, 0);
}

/* action=send_code: a code to the phone typed, waited for, so that a failure is told;
 * a code whose message failed is used up at once (nothing half-done). */
static int
reg_send_code(struct reg_job *j)
{
	char pname[LOGIN_SMS_NAME_SIZE], code[LOGIN_SMS_CODE_SIZE] = "";
	struct fed_sms_result res;
	int64_t wait_s = 0;
	int r;

	if ((r = login_sms_phone_name(j->app, j->f.phone_key, pname)) != 0)
		goto out;
	r = login_sms_allow(j->app, pname, j->ip, &wait_s);
	if (r == YH_ERR_LOCKED) {
		r = respond_job(j, 429, PAGE_MSG_SMS_TOO_SOON, 0, 0, wait_s);
		goto out;
	}
	if (r != 0 || (r = login_sms_code_new(j->app, LOGIN_SMS_VERIFY, pname, j->f.browser,
	    "register", code)) != 0)
		goto out;
	if ((r = login_sms_deliver(j->app, j->lang, LOGIN_SMS_VERIFY, j->f.phone_key, NULL,
	    code, true, &res)) != 0 || !res.sent) {
		if (login_sms_code_drop(j->app, LOGIN_SMS_VERIFY, pname, j->f.browser, code) != 0)
			yh_warn("cannot drop an undelivered SMS code");
		if (r == 0)
			r = respond_job(j, 502, 0, PAGE_MSG_SMS_SEND_FAILED, 0, wait_s);
		goto out;
	}
	r = respond_job(j, 200, 0, 0, PAGE_MSG_SMS_CODE_SENT_PHONE, wait_s);
out:
	yh_wipe(code, sizeof(code));
	return r;
}

/* Hash first (same time whatever follows), then ask the registry, then create the
 * person with the password. */
static int
reg_create(struct reg_job *j)
{
	const struct pw_params *pw = j->app->ident != NULL ? &j->app->ident->pw : NULL;
	char uid[DIR_UID_LEN + 1] = "", evidence[64 + FED_REG_DETAIL_MAX], qerr[256];
	enum fed_reg_outcome reg = FED_REG_UNAVAILABLE;
	struct fed_reg_result res;
	struct dir_person p;
	struct dir_privacy consents[2] = {
		{ .purpose = (char *)"notice", .via = (char *)"register" },
		{ .purpose = (char *)DIR_PRIVACY_ID_NUMBER, .via = (char *)"register" },
	};
	char *enc = NULL;
	bool asked = false, phone_verified = false;
	int r;

	for (size_t i = 0; i < 2; i++) {
		consents[i].notice_version = (char *)j->notice.version;
		consents[i].notice_sha256 = j->notice.sha256;
	}
	if ((r = reg_phone_code(j, &phone_verified)) != 0 || !phone_verified) {
		/* r == 0: the form is answered */
		goto out;
	}
	if ((r = pw_hash(pw, j->f.password, strlen(j->f.password), &enc)) != 0)
		goto out;
	if ((r = reg_registry(j, &reg, &asked, &res)) != 0)
		goto out;
	if (asked && reg == FED_REG_MISMATCH) {
		if ((r = audit_register(j, NULL, "registry_mismatch", 0)) == 0) {
			login_metric(j->app, "register", "failure");
			r = respond_job(j, 403, PAGE_MSG_REG_REGISTRY_MISMATCH, 0, 0, 0);
		}
		goto out;
	}
	memset(&p, 0, sizeof(p));
	p.id_number = j->f.id.canonical;
	p.name = j->f.name;
	p.phone = j->f.phone_key;
	p.phone_verified = fed_sms_enabled(j->app->sms);
	p.origin = (char *)DIR_ORIGIN_SELF;
	if (asked && reg == FED_REG_MATCH) {
		/* Real-name verified as `authctl user verify --loa 2` records it: how (the
		 * registry), by whom (which registry), when (now), and what it said. */
		snprintf(evidence, sizeof(evidence), "population registry: match%s%s",
		    res.detail[0] != '\0' ? " " : "", res.detail);
		p.loa.level = 2;
		p.loa.method = (char *)"registry";
		p.loa.by = (char *)"registry:person";
		p.loa.evidence = evidence;
		p.loa.at = yh_now();
	}
	/* Verified by an SMS code when there is an SMS gateway (reg_phone_code); else typed
	 * in by whoever fills the form: not verified, so not a login identifier
	 * (phone_verified false). loa.level 0: LoA 1 by "self" (dir_person_add). The
	 * person, the password and the consents (at 0: the person's creation time) are
	 * stored in one transaction. */
	r = dir_person_add_consented(j->app->dir, &p, PW_SCHEME_ARGON2ID, enc, consents, 2,
	    uid);
	if (r == YH_ERR_EXISTS) {
		if ((r = audit_register(j, NULL, "exists", 1)) == 0) {
			login_metric(j->app, "register", "failure");
			r = respond_done(j);
		}
		goto out;
	}
	if (r != 0)
		goto out;
	/* Owed a check: queued durably before the answer says the account is there. */
	if (asked && reg == FED_REG_UNAVAILABLE &&
	    (r = fed_regq_add(j->app->cfg->ident.state_dir, uid, qerr, sizeof(qerr))) != 0) {
		yh_error("registered user %s at LoA 1, but the registry check could not be "
		    "queued (%s): run authctl user verify %s --registry", uid, qerr, uid);
		goto out;
	}
	/* Only now, with the person committed: the trail never claims an account that a
	 * failed write took back. Without the line the registration is answered as failed
	 * (a retry gets the usual answer: the account is there). */
	if ((r = audit_register(j, uid, asked && reg == FED_REG_UNAVAILABLE ?
	    "created_registry_queued" : "created", p.loa.level == 2 ? 2 : 1)) != 0) {
		yh_error("registered user %s, but its audit line could not be written: %s",
		    uid, yh_strerror(r));
		goto out;
	}
	if ((r = audit_consent(j, uid)) != 0) {
		yh_error("registered user %s, but the audit line of its consent could not be "
		    "written: %s", uid, yh_strerror(r));
		goto out;
	}
	yh_info("registered user %s at LoA %d from %s%s", uid, p.loa.level == 2 ? 2 : 1,
	    j->ip, asked && reg == FED_REG_UNAVAILABLE ? " (registry check queued)" : "");
	login_metric(j->app, "register", "success");
	r = respond_done(j);
out:
	free(enc);
	return r;
}

/* login_job_start's callbacks. */
static int
reg_job_run(void *arg)
{
	struct reg_job *j = arg;

	return j->send_code ? reg_send_code(j) : reg_create(j);
}

static void
reg_job_drop(void *arg)
{
	reg_job_free(arg);
}

/* ------------------------------------------------------------------ handlers */

int
login_signup_get(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	char csrf[CSRF_TOKEN_SIZE];
	const char *next = NULL;
	int r;

	if (http_req_query(req, "next", LOGIN_NEXT_MAX, &next) != 0)
		next = NULL;
	next = login_next_pick(next);
	if ((r = csrf_prepare(req, app->keys, REG_PURPOSE, NULL, csrf)) != 0)
		return r;
	return respond_form(req, app, NULL, csrf, next, 200, NULL);
}

static int
read_form(struct http_req *req, struct reg_form *f, bool *pw_too_long)
{
	const char *browser;
	int r;

	if ((r = field(req, "name", DIR_NAME_MAX, &f->name, NULL)) != 0 ||
	    (r = field(req, "id_number", IDN_INPUT_MAX, &f->id_number, NULL)) != 0 ||
	    (r = field(req, "phone", REG_PHONE_MAX, &f->phone, NULL)) != 0 ||
	    (r = field(req, "password", PW_PASSWORD_MAX, &f->password, pw_too_long)) != 0 ||
	    (r = field(req, "password2", PW_PASSWORD_MAX, &f->password2, pw_too_long)) != 0 ||
	    (r = field(req, "csrf", CSRF_TOKEN_SIZE, &f->csrf, NULL)) != 0 ||
	    (r = field(req, "agree", 8, &f->agree, NULL)) != 0 ||
	    (r = field(req, "consent_id_number", 8, &f->consent_id, NULL)) != 0 ||
	    (r = field(req, "notice_version", DIR_PRIVACY_VERSION_MAX, &f->notice_version,
	    NULL)) != 0 ||
	    (r = field(req, "sms_code", LOGIN_SMS_CODE_SIZE + 8, &f->sms_code, NULL)) != 0 ||
	    (r = field(req, "action", 16, &f->action, NULL)) != 0)
		return r;
	browser = page_cookie(req, CSRF_COOKIE);
	snprintf(f->browser, sizeof(f->browser), "%s", browser != NULL ? browser : "");
	if (http_req_form(req, "next", LOGIN_NEXT_MAX, &f->next) != 0)
		f->next = NULL;
	if (!login_next_ok(f->next)) {
		free(f->next);
		if ((f->next = strdup(LOGIN_NEXT_DEFAULT)) == NULL)
			return YH_ERR_ALLOC;
	}
	return 0;
}

int
login_reg_count_address(struct authd_app *app, const char *ip)
{
	char name[SESS_NAME_MAX];
	int r;

	sess_addr_name(name, sizeof(name), "register:addr:", ip);
	r = sess_rate(app->sess, name, LOGIN_REG_WINDOW_S, LOGIN_REG_PER_ADDR);
	return r == YH_ERR_LOCKED ? YH_ERR_LIMIT : r;
}

static int
submit(struct http_req *req, struct authd_app *app, struct reg_form *f,
    const struct login_notice *n, bool send_code)
{
	struct reg_job *j = calloc(1, sizeof(*j));
	int r;

	if (j == NULL)
		return YH_ERR_ALLOC;
	j->app = app;
	j->req = req;
	j->https = http_req_is_https(req);
	j->lang = page_lang_of(req);
	j->notice = *n;
	j->send_code = send_code;
	snprintf(j->ip, sizeof(j->ip), "%s", http_req_client_ip(req));
	/* The login form on the "done" page: the browser's cookie is known good here. */
	if ((r = csrf_prepare(req, app->keys, "login", NULL, j->login_csrf)) != 0) {
		free(j);
		return r;
	}
	j->f = *f;
	memset(f, 0, sizeof(*f));          /* the job owns the strings now */
	return login_job_start(req, app, LOGIN_REG_PATH, "registration", reg_job_run,
	    reg_job_drop, j);
}

/* POST /register with action=send_code: the phone alone is checked here, the code is
 * made and sent on the worker pool (reg_send_code). */
static int
signup_send_code(struct http_req *req, struct authd_app *app, struct reg_form *f)
{
	enum page_lang l = page_lang_of(req);
	struct page_reg_errors e;
	struct login_notice n;
	int r;

	memset(&e, 0, sizeof(e));
	trim(f->phone);
	if (!fed_sms_enabled(app->sms))
		e.form = page_msg(l, PAGE_MSG_SMS_UNAVAILABLE);
	else if (mk_phone_key(f->phone, strlen(f->phone), f->phone_key,
	    sizeof(f->phone_key)) != 0 || !mk_phone_is_mobile(f->phone_key))
		e.phone = page_msg(l, PAGE_MSG_ERR_PHONE);
	if (e.form != NULL || e.phone != NULL)
		return respond_form(req, app, f, f->csrf, f->next, e.form != NULL ? 503 : 400, &e);
	if ((r = login_notice_get(app->cfg, l, &n)) != 0)
		return r;
	return submit(req, app, f, &n, true);
}

int
login_signup_post(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct page_reg_errors e;
	struct login_notice n;
	struct reg_form f;
	bool pw_too_long = false;
	enum page_lang l;
	int r;

	memset(&f, 0, sizeof(f));
	if ((r = csrf_verify(req, app->keys, REG_PURPOSE, NULL)) != 0)
		return r == YH_ERR_DENIED ? csrf_respond_rejected(req) : r;
	if ((r = read_form(req, &f, &pw_too_long)) != 0)
		goto out;
	l = page_lang_of(req);
	if (strcmp(f.action, "send_code") == 0) {
		r = signup_send_code(req, app, &f);
		goto out;
	}
	if (!reg_check(&f, l, pw_too_long, fed_sms_enabled(app->sms), &e)) {
		r = respond_form(req, app, &f, f.csrf, f.next, 400, &e);
		goto out;
	}
	/* The notice consented to is the one shown: a form sent for another version
	 * (a reload in between, or none said) is shown again with the notice in force. */
	if ((r = login_notice_get(app->cfg, l, &n)) != 0)
		goto out;
	if (strcmp(f.notice_version, n.version) != 0) {
		memset(&e, 0, sizeof(e));
		e.form = page_msg(l, PAGE_MSG_REG_NOTICE_CHANGED);
		r = respond_form(req, app, &f, f.csrf, f.next, 400, &e);
		goto out;
	}
	if ((r = login_reg_count_address(app, http_req_client_ip(req))) == YH_ERR_LIMIT) {
		memset(&e, 0, sizeof(e));
		e.form = page_msg(l, PAGE_MSG_REG_TOO_MANY);
		r = respond_form(req, app, &f, f.csrf, f.next, 429, &e);
		goto out;
	}
	if (yh_err_temporary(r)) {
		r = page_failure_send(req, r);
		goto out;
	}
	if (r != 0)
		goto out;
	r = submit(req, app, &f, &n, false);
out:
	reg_form_clear(&f);
	return r;
}
