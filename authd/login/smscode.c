/*
 * SMS codes (login.h, "SMS codes"): making, keeping, checking and sending the six-digit
 * codes of the SMS login, phone verification and account recovery, and the limits on
 * how often they are sent and guessed. sms.c (the pages) and register.c use these.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "authd/app.h"
#include "authd/keyd/keys.h"
#include "authd/login/login.h"
#include "authd/ui/pages.h"
#include "authcore/authd_config.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/workers.h"
#include "federation/sms.h"
#include "identity/match/matchkey.h"

static const char *const purpose_names[] = {
	[LOGIN_SMS_LOGIN] = "login",
	[LOGIN_SMS_VERIFY] = "verify_phone",
	[LOGIN_SMS_RECOVER] = "recovery",
};

const char *
login_sms_purpose_name(enum login_sms_purpose p)
{
	return (unsigned)p <= LOGIN_SMS_RECOVER ? purpose_names[p] : "?";
}

/* The configuration in force (the table's defaults without one: unit tests). */
static const struct authd_cfg *
cfg_of(const struct authd_app *app)
{
	return app->cfg != NULL ? app->cfg : authd_cfg_builtin();
}

int
login_sms_phone_name(struct authd_app *app, const char *phone_key,
    char out[LOGIN_SMS_NAME_SIZE])
{
	unsigned char msg[8 + 64], mac[KEYS_MAC_LEN];
	size_t n = phone_key != NULL ? strnlen(phone_key, 65) : 65;
	int r;

	out[0] = '\0';
	if (n == 0 || n > 64)
		return YH_ERR_INVALID;
	/* A separator no login name holds: never the name of a username's counters. */
	memcpy(msg, "\x1esms\x1e", 5);
	memcpy(msg + 5, phone_key, n);
	r = keys_mac(app->keys, KEYS_MAC_LOGIN_NAME, msg, 5 + n, mac);
	yh_wipe(msg, sizeof(msg));
	if (r != 0)
		return r;
	yh_hex_encode(mac, sizeof(mac), out);
	return 0;
}

/* The counter or lock name kind:pname. */
static void
name_of(char *out, size_t outsz, const char *kind, const char *pname)
{
	snprintf(out, outsz, "sms:%s:%s", kind, pname);
}

int
login_sms_allow(struct authd_app *app, const char *pname, const char *ip, int64_t *wait_s)
{
	const struct authd_cfg *c = cfg_of(app);
	char gap[SESS_NAME_MAX], day[SESS_NAME_MAX], addr[SESS_NAME_MAX];
	int64_t rem = 0;
	int r;

	*wait_s = 0;
	name_of(gap, sizeof(gap), "gap", pname);
	name_of(day, sizeof(day), "day", pname);
	sess_addr_name(addr, sizeof(addr), "sms:addr:", ip);
	/* The longest wait of the three is the one the person is told. */
	if ((r = sess_locked(app->sess, gap, &rem)) == YH_ERR_LOCKED)
		*wait_s = rem;
	else if (r != 0)
		return r;
	if ((r = sess_locked(app->sess, day, &rem)) == YH_ERR_LOCKED)
		*wait_s = rem > *wait_s ? rem : *wait_s;
	else if (r != 0)
		return r;
	if ((r = sess_locked(app->sess, addr, &rem)) == YH_ERR_LOCKED)
		*wait_s = rem > *wait_s ? rem : *wait_s;
	else if (r != 0)
		return r;
	if (*wait_s > 0)
		return YH_ERR_LOCKED;
	if ((r = sess_lock(app->sess, gap, c->sms_resend_interval)) != 0)
		return r;
	/* Reaching a limit locks the next one; this one goes. */
	r = sess_fail(app->sess, day, LOGIN_SMS_DAY_S, c->sms_max_per_phone, LOGIN_SMS_DAY_S,
	    NULL);
	if (r != 0 && r != YH_ERR_LOCKED)
		return r;
	r = sess_fail(app->sess, addr, LOGIN_SMS_ADDR_WINDOW_S, c->sms_max_per_address,
	    LOGIN_SMS_ADDR_WINDOW_S, NULL);
	if (r != 0 && r != YH_ERR_LOCKED)
		return r;
	*wait_s = c->sms_resend_interval;
	return 0;
}

/* What a code is bound to: its purpose, the phone's name and the browser's secret. */
static int
bind_of(enum login_sms_purpose p, const char *pname, const char *browser, char *out,
    size_t outsz)
{
	if ((unsigned)p > LOGIN_SMS_RECOVER || pname == NULL || browser == NULL ||
	    browser[0] == '\0' || strnlen(browser, 65) > 64)
		return YH_ERR_INVALID;
	if ((size_t)snprintf(out, outsz, "sms:%s:%s:%s", purpose_names[p], pname, browser) >=
	    outsz)
		return YH_ERR_INVALID;
	return 0;
}

/* Six random digits, each of the 10^6 codes equally likely. */
static int
code_make(char code[LOGIN_SMS_CODE_SIZE])
{
	uint32_t v;
	int r;

	do {
		if ((r = yh_random(&v, sizeof(v))) != 0)
			return r;
	} while (v >= 4294000000u);          /* a multiple of 10^6: no bias */
	snprintf(code, LOGIN_SMS_CODE_SIZE, "%06u", (unsigned)(v % 1000000u));
	yh_wipe(&v, sizeof(v));
	return 0;
}

int
login_sms_code_new(struct authd_app *app, enum login_sms_purpose p, const char *pname,
    const char *browser, const char *payload, char code[LOGIN_SMS_CODE_SIZE])
{
	char bind[SESS_NAME_MAX];
	int r;

	code[0] = '\0';
	if ((r = bind_of(p, pname, browser, bind, sizeof(bind))) != 0)
		return r;
	/* The same six digits live for the same binding: one in 10^6, draw again. */
	for (int i = 0; i < 3; i++) {
		if ((r = code_make(code)) != 0)
			break;
		r = sess_otc_put(app->sess, code, bind, payload, cfg_of(app)->sms_code_lifetime);
		if (r != YH_ERR_EXISTS)
			break;
	}
	if (r != 0)
		yh_wipe(code, LOGIN_SMS_CODE_SIZE);
	return r;
}

/* True when code is LOGIN_SMS_CODE_SIZE - 1 digits. */
static bool
code_form_ok(const char *code)
{
	size_t n = code != NULL ? strnlen(code, LOGIN_SMS_CODE_SIZE) : 0;

	if (n != LOGIN_SMS_CODE_SIZE - 1)
		return false;
	for (size_t i = 0; i < n; i++)
		if (code[i] < '0' || code[i] > '9')
			return false;
	return true;
}

int
login_sms_code_check(struct authd_app *app, enum login_sms_purpose p, const char *pname,
    const char *browser, const char *code, char **payload)
{
	const struct authd_cfg *c = cfg_of(app);
	struct login_policy pol;
	char bind[SESS_NAME_MAX], fail[SESS_NAME_MAX];
	int r, tr;

	*payload = NULL;
	if ((r = bind_of(p, pname, browser, bind, sizeof(bind))) != 0)
		return r;
	name_of(fail, sizeof(fail), "fail", pname);
	if ((r = sess_locked(app->sess, fail, NULL)) != 0)
		return r;
	tr = code_form_ok(code) ? sess_otc_take(app->sess, code, bind, payload) :
	    YH_ERR_NOT_FOUND;
	if (tr == 0) {
		if ((r = sess_fail_clear(app->sess, fail)) != 0) {
			free(*payload);
			*payload = NULL;
		}
		return r;
	}
	free(*payload);
	*payload = NULL;
	if (tr != YH_ERR_NOT_FOUND && tr != YH_ERR_REPLAY)
		return tr;
	/* A wrong, used or expired code counts towards the lock of the phone's codes. */
	login_policy_get(app, &pol);
	r = sess_fail(app->sess, fail, c->sms_code_lifetime, c->sms_max_failures,
	    pol.otp_lockout_s, NULL);
	if (r != 0)
		return r;
	return tr == YH_ERR_REPLAY ? YH_ERR_REPLAY : YH_ERR_AUTH;
}

int
login_sms_code_drop(struct authd_app *app, enum login_sms_purpose p, const char *pname,
    const char *browser, const char *code)
{
	char bind[SESS_NAME_MAX];
	char *payload = NULL;
	int r;

	if ((r = bind_of(p, pname, browser, bind, sizeof(bind))) != 0)
		return r;
	r = sess_otc_take(app->sess, code, bind, &payload);
	free(payload);
	return r == YH_ERR_REPLAY ? YH_ERR_NOT_FOUND : r;
}

/* ---- sending ----------------------------------------------------------------------- */

/* A message on its way (on the worker pool, or in line). */
struct sms_job {
	struct authd_app *app;
	enum login_sms_purpose purpose;
	char phone[FED_SMS_PHONE_MAX + 1];
	char uid[SESS_UID_MAX + 1];
	char text[FED_SMS_TEXT_MAX + 1];        /* holds the code: wiped */
	struct fed_sms_result res;
};

static void
sms_job_free(struct sms_job *j)
{
	if (j != NULL)
		yh_freezero(j, sizeof(*j));
}

/* The "sms.send" audit line of j's result. */
static int
audit_send(struct sms_job *j)
{
	char masked[FED_SMS_PHONE_MAX + 1], actor[16 + SESS_UID_MAX];
	json_t *f = fed_sms_audit_fields(j->app->sms, &j->res);
	int r;

	if (f == NULL)
		return YH_ERR_ALLOC;
	mk_phone_mask(j->phone, masked, sizeof(masked));
	snprintf(actor, sizeof(actor), "%s%s", j->uid[0] != '\0' ? "user:" : "anonymous",
	    j->uid);
	if (json_object_set_new(f, "phone", json_string(masked)) != 0 ||
	    json_object_set_new(f, "purpose", json_string(purpose_names[j->purpose])) != 0) {
		json_decref(f);
		return YH_ERR_ALLOC;
	}
	r = login_audit(j->app, "sms.send", actor, f);
	json_decref(f);
	return r;
}

/* Sends j's message and audits the result. */
static int
sms_job_send(struct sms_job *j)
{
	int r = fed_sms_send(j->app->sms, j->phone, j->text, &j->res);

	yh_wipe(j->text, sizeof(j->text));
	if (r != 0) {
		j->res.sent = false;
		snprintf(j->res.why, sizeof(j->res.why), "%s", yh_strerror(r));
	}
	if (!j->res.sent)
		yh_warn("SMS (%s) not sent: %s", purpose_names[j->purpose], j->res.why);
	return audit_send(j);
}

static void
sms_job_run(void *arg)
{
	struct sms_job *j = arg;

	if (sms_job_send(j) != 0)
		yh_error("cannot audit an SMS sent");
	sms_job_free(j);
}

/* The message text of purpose with code, in lang. */
static int
text_of(enum page_lang lang, enum login_sms_purpose p, const char *code, char *out,
    size_t outsz)
{
	static const enum page_msg heads[] = {
		[LOGIN_SMS_LOGIN] = PAGE_MSG_SMS_TEXT_LOGIN,
		[LOGIN_SMS_VERIFY] = PAGE_MSG_SMS_TEXT_VERIFY,
		[LOGIN_SMS_RECOVER] = PAGE_MSG_SMS_TEXT_RECOVER,
	};
	size_t n = (size_t)snprintf(out, outsz, "%s%s%s", page_msg(lang, heads[p]), code,
	    page_msg(lang, PAGE_MSG_SMS_TEXT_TAIL));

	return n < outsz ? 0 : YH_ERR_TOO_LONG;
}

int
login_sms_deliver(struct authd_app *app, enum page_lang lang, enum login_sms_purpose p,
    const char *phone_key, const char *uid, const char *code, bool wait,
    struct fed_sms_result *res)
{
	struct sms_job *j;
	int r;

	if (res != NULL)
		memset(res, 0, sizeof(*res));
	if (!fed_sms_enabled(app->sms))
		return YH_ERR_NOT_FOUND;
	if ((unsigned)p > LOGIN_SMS_RECOVER || phone_key == NULL ||
	    strlen(phone_key) > FED_SMS_PHONE_MAX || (uid != NULL && strlen(uid) > SESS_UID_MAX))
		return YH_ERR_INVALID;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return YH_ERR_ALLOC;
	j->app = app;
	j->purpose = p;
	memcpy(j->phone, phone_key, strlen(phone_key) + 1);
	if (uid != NULL)
		memcpy(j->uid, uid, strlen(uid) + 1);
	if ((r = text_of(lang, p, code, j->text, sizeof(j->text))) != 0)
		goto out;
	/* Not waited for: the answer does not wait on the gateway, so its time does not
	 * tell whether a message went (no enumeration). A pool that refuses the job (full,
	 * or busier than workers.max_wait) does not make it wait either: the message is
	 * dropped and the audit line says so. */
	if (!wait && app->workers != NULL) {
		if (wk_submit(app->workers, sms_job_run, j) == 0)
			return 0;
		yh_wipe(j->text, sizeof(j->text));
		j->res.attempts = 0;
		snprintf(j->res.why, sizeof(j->res.why), "the worker pool is busy: not sent");
		yh_warn("SMS (%s) not sent: the worker pool is busy", purpose_names[p]);
		r = audit_send(j);
		goto out;
	}
	r = sms_job_send(j);
	if (res != NULL)
		*res = j->res;
out:
	sms_job_free(j);
	return r;
}
