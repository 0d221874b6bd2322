/*
 * What the login room's pages share (login.h): the `next` rule, the session cookie, the
 * LoA a login gives, the brute-force policy, the login metric and the audit line.
 * password.c, totp.c and register.c use these and not each other.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>

#include "authcore/audit/audit.h"
#include "authcore/clients/clients.h"
#include "authd/app.h"
#include "authd/http/http.h"
#include "identity/dir/dir.h"
#include "identity/identity.h"
#include "authd/login/login.h"
#include "authd/ui/pages.h"
#include "common/utf8.h"
#include "identity/passwd/passwd.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/url.h"
#include "common/workers.h"

bool
login_next_ok(const char *next)
{
	size_t n;

	if (next == NULL || (n = strnlen(next, LOGIN_NEXT_MAX + 1)) > LOGIN_NEXT_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)next[i];

		if (c <= 0x20 || c >= 0x7f || c == '\\')
			return false;
	}
	return strncmp(next, "/authorize?", 11) == 0 || strncmp(next, "/cas/login?", 11) == 0 ||
	    strcmp(next, "/account") == 0 || strcmp(next, "/counter") == 0 ||
	    strcmp(next, "/admin") == 0 || strncmp(next, "/account?", 9) == 0 ||
	    strcmp(next, "/device") == 0 || strncmp(next, "/device?", 8) == 0;
}

const char *
login_next_pick(const char *next)
{
	return login_next_ok(next) ? next : LOGIN_NEXT_DEFAULT;
}

/* The query parameter name of the path-and-query next when its path is path
 * ("/authorize"), malloc'd into *out; NULL when not. */
static char *
next_param(const char *next, const char *path, const char *name)
{
	size_t n = strlen(path);
	char *v = NULL;

	if (next == NULL || strncmp(next, path, n) != 0 || next[n] != '?' ||
	    http_form_get(yh_span_cstr(next + n + 1), name, LOGIN_NEXT_MAX, &v) != 0)
		return NULL;
	return v;
}

void
login_app_name(struct authd_app *app, const char *next, char *out, size_t outsz)
{
	struct clients_snap *cs;
	const struct clients_client *cl = NULL;
	char *client_id = next_param(next, "/authorize", "client_id");
	char *service = next_param(next, "/cas/login", "service");

	out[0] = '\0';
	/* app->clients is NULL only in tests of the login room alone. */
	if ((client_id == NULL && service == NULL) || app->clients == NULL)
		goto out;
	cs = clients_acquire(app->clients);
	if (client_id != NULL)
		cl = clients_find(cs, client_id);
	else
		cl = clients_cas_find(cs, service);
	/* A name too long for out is left out rather than cut inside a character. */
	if (cl != NULL && yh_strlcpy(out, cl->name != NULL ? cl->name : cl->id, outsz) != 0)
		out[0] = '\0';
	clients_release(cs);
out:
	free(client_id);
	free(service);
}

int
login_session_of(struct http_req *req, struct authd_app *app, unsigned flags,
    struct sess_info *out)
{
	const char *tok = page_cookie(req, LOGIN_SID_COOKIE);
	int r;

	memset(out, 0, sizeof(*out));
	if (tok == NULL || tok[0] == '\0')
		return YH_ERR_NOT_FOUND;
	r = sess_get(app->sess, tok, flags, out);
	return r == YH_ERR_EXPIRED ? YH_ERR_NOT_FOUND : r;
}

int
login_set_session_cookie(struct http_req *req, const char *token, bool https)
{
	if (token == NULL)
		return page_set_cookie(req, LOGIN_SID_COOKIE, "", -1, https);
	return page_set_cookie(req, LOGIN_SID_COOKIE, token, 0, https);
}

int
login_session_loa(int person_loa, bool with_otp)
{
	int base = person_loa < 1 ? 1 : person_loa;

	if (with_otp && base >= 4)
		return 4;
	if (with_otp && base >= 2)
		return 3;
	return base < 2 ? base : 2;
}

bool
login_auth_fresh(const struct sess_info *si, int64_t now, int64_t max_age_s, int loa)
{
	return si->loa >= loa && (now <= si->auth_time || now - si->auth_time <= max_age_s);
}

int
login_staff_pending(struct authd_app *app, const char *uid, bool *pending)
{
	struct dir_mandate m;
	int r;

	*pending = false;
	r = dir_staff_current(app->dir, uid, 0, &m, NULL);
	dir_mandate_clear(&m);
	if (r == YH_ERR_NOT_FOUND)
		return 0;
	/* login.staff_methods: totp holds the session to the TOTP step-up; with cert the
	 * password and SMS logins refuse it (login_staff_cert_only). */
	*pending = r == 0;
	return r;
}

bool
login_staff_cert_only(const struct authd_app *app)
{
	const struct authd_cfg *c = app != NULL ? app->cfg : NULL;

	return c != NULL && c->login_staff_methods != NULL &&
	    strcmp(c->login_staff_methods, "cert") == 0;
}

void
login_policy_get(const struct authd_app *app, struct login_policy *out)
{
	const struct authd_cfg *c = app != NULL ? app->cfg : NULL;

	if (c == NULL)
		c = authd_cfg_builtin();
	out->max_failures = c->login_max_failures;
	out->addr_max_failures = c->login_addr_max_failures;
	out->window_s = c->login_failure_window;
	out->lockout_s = c->login_lockout;
	out->otp_max_failures = out->max_failures < LOGIN_OTP_MAX_FAILURES ?
	    out->max_failures : LOGIN_OTP_MAX_FAILURES;
	out->otp_window_s = out->window_s > LOGIN_OTP_MIN_WINDOW_S ? out->window_s :
	    LOGIN_OTP_MIN_WINDOW_S;
	out->otp_lockout_s = out->lockout_s > LOGIN_OTP_MIN_LOCKOUT_S ? out->lockout_s :
	    LOGIN_OTP_MIN_LOCKOUT_S;
}

void
login_metric(struct authd_app *app, const char *method, const char *result)
{
	struct mx_counter *c = NULL;
	char labels[96];

	if (app->metrics == NULL)
		return;
	snprintf(labels, sizeof(labels), "method=\"%s\",result=\"%s\"", method, result);
	if (mx_counter_get(app->metrics, "yh_logins_total",
	    "Login attempts by method and result.", labels, &c) == 0)
		mx_counter_add(c, 1);
}

int
login_audit(struct authd_app *app, const char *event, const char *actor, json_t *fields)
{
	int r;

	if (app->audit == NULL) {
		yh_error("no audit trail open: refusing %s", event);
		return YH_ERR_INTERNAL;
	}
	if ((r = yh_audit_write(app->audit, event, actor, fields)) != 0)
		yh_error("cannot write the audit line for %s: %s", event, yh_strerror(r));
	return r;
}

void
login_req_info_get(struct http_req *req, struct login_req_info *out)
{
	const char *sid = page_cookie(req, LOGIN_SID_COOKIE);
	const char *ua = http_req_header(req, "User-Agent");

	memset(out, 0, sizeof(*out));
	out->https = http_req_is_https(req);
	out->lang = page_lang_of(req);
	if (sid != NULL && strlen(sid) < sizeof(out->old_sid))
		memcpy(out->old_sid, sid, strlen(sid) + 1);
	snprintf(out->ip, sizeof(out->ip), "%s", http_req_client_ip(req));
	/* Cut at a character boundary; the session store keeps SESS_UA_MAX bytes. */
	if (ua != NULL) {
		size_t n = strnlen(ua, SESS_UA_MAX + 1);

		if (n > SESS_UA_MAX) {
			n = SESS_UA_MAX;
			while (n > 0 && ((unsigned char)ua[n] & 0xc0) == 0x80)
				n--;
		}
		memcpy(out->ua, ua, n);
		out->ua[n] = '\0';
	}
}

int
login_form_start(struct http_req *req, struct authd_app *app, const char *purpose,
    char *next, size_t nextsz, char csrf[CSRF_TOKEN_SIZE], struct login_req_info *ri)
{
	const char *q = NULL;

	if (http_req_query(req, "next", LOGIN_NEXT_MAX, &q) != 0)
		q = NULL;
	snprintf(next, nextsz, "%s", login_next_pick(q));
	ri->lang = page_lang_of(req);
	ri->https = http_req_is_https(req);
	return csrf_prepare(req, app->keys, purpose, NULL, csrf);
}

int
login_open_session(struct authd_app *app, const struct login_req_info *ri,
    const char *uid, int loa, const char *amr, char token[SESS_TOKEN_SIZE],
    struct sess_info *info)
{
	const char *const amrs[] = { amr };

	return login_open_session_amr(app, ri, uid, loa, amrs, 1, token, info);
}

int
login_open_session_amr(struct authd_app *app, const struct login_req_info *ri,
    const char *uid, int loa, const char *const *amr, size_t namr,
    char token[SESS_TOKEN_SIZE], struct sess_info *info)
{
	/* A login in a browser that has this person's session is a new login: its level and
	 * methods are what the session now stands for (sess_reauth), never an earlier,
	 * stronger login's under a fresh auth_time. */
	struct sess_auth auth = { .uid = uid, .loa = loa, .amr = amr, .namr = namr,
	    .ua = ri->ua, .addr = ri->ip, .replace = true };
	const struct sess_auth *a = &auth;
	struct sess_store *s = app->sess;
	const char *old_sid = ri->old_sid;
	int r = YH_ERR_NOT_FOUND;

	if (old_sid[0] != '\0') {
		r = sess_reauth(s, old_sid, a, token, info);
		if (r == YH_ERR_DENIED) {
			r = sess_end_token(s, old_sid, SESS_END_LOGOUT, NULL);
			if (r != 0 && r != YH_ERR_NOT_FOUND)
				return r;
			r = YH_ERR_NOT_FOUND;
		}
		if (r == YH_ERR_EXPIRED)
			r = YH_ERR_NOT_FOUND;
	}
	if (r == YH_ERR_NOT_FOUND)
		r = sess_create(s, a, token, info);
	return r;
}

int
login_complete(struct http_req *req, bool https, const char *next, const char *token,
    bool staff)
{
	struct yh_buf to;
	int r = 0;

	yh_buf_init(&to, LOGIN_NEXT_MAX * 3 + 32);
	/* Staff: the second factor before anything accepts the session. */
	if (staff && ((r = yh_buf_puts(&to, LOGIN_TOTP_PATH "?next=")) != 0 ||
	    (r = yh_url_pct_encode(&to, next)) != 0))
		goto out;
	if ((r = login_set_session_cookie(req, token, https)) == 0)
		r = http_respond_redirect(req, 303, staff ? yh_buf_cstr(&to) : next);
out:
	yh_buf_free(&to);
	return r;
}

/* A login attempt on its way to the worker pool (login_job_start). */
struct login_job {
	struct http_req *req;
	bool suspended;
	enum page_lang lang;
	bool https;
	const char *path, *what;
	int (*attempt)(void *ctx);
	void (*free_fn)(void *ctx);
	void *ctx;
};

static void
login_job_run(void *arg)
{
	struct login_job *j = arg;
	struct http_req *req = j->req;
	bool suspended = j->suspended;
	int r = j->attempt(j->ctx);

	if (r != 0) {
		yh_error("%s failed with an error: %s", j->what, yh_strerror(r));
		if (page_failure_send_as(req, j->lang, j->https, j->path, r) != 0 && !suspended)
			yh_error("cannot answer the %s error", j->what);
	}
	j->free_fn(j->ctx);
	free(j);
	if (suspended)
		http_req_resume(req);
}

int
login_job_start(struct http_req *req, struct authd_app *app, const char *path,
    const char *what, int (*attempt)(void *ctx), void (*free_fn)(void *ctx), void *ctx)
{
	struct login_job *j = calloc(1, sizeof(*j));
	int r;

	if (j == NULL) {
		free_fn(ctx);
		return YH_ERR_ALLOC;
	}
	*j = (struct login_job){ .req = req, .lang = page_lang_of(req),
	    .https = http_req_is_https(req), .path = path, .what = what, .attempt = attempt,
	    .free_fn = free_fn, .ctx = ctx };
	if (app->workers == NULL) {
		login_job_run(j);
		return 0;
	}
	if ((r = http_req_suspend(req)) != 0) {
		free_fn(ctx);
		free(j);
		return r;
	}
	j->suspended = true;
	if (wk_submit(app->workers, login_job_run, j) != 0) {
		enum page_lang l = j->lang;
		bool https = j->https;

		free_fn(ctx);
		free(j);
		if (http_resp_retry_after(req, wk_retry_after_s(app->workers)) != 0 ||
		    page_error_send_as(req, l, https, path, 503,
		    page_msg(l, PAGE_MSG_UNAVAILABLE)) != 0)
			yh_error("cannot answer a refused %s", what);
		http_req_resume(req);
	}
	return HTTP_SUSPENDED;
}

static bool
all_digits(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

enum page_msg
login_password_problem(const char *password, const char *id_number, const char *id_canonical,
    const char *phone, const char *phone_key)
{
	if (strlen(password) > PW_PASSWORD_MAX)
		return PAGE_MSG_ERR_PW_LONG;
	if (yh_utf8_chars(password) < LOGIN_PASSWORD_MIN)
		return PAGE_MSG_ERR_PW_SHORT;
	if (all_digits(password))
		return PAGE_MSG_ERR_PW_DIGITS;
	if (strcasecmp(password, id_number) == 0 ||
	    (id_canonical[0] != '\0' && strcasecmp(password, id_canonical) == 0) ||
	    strcmp(password, phone) == 0 ||
	    (phone_key[0] != '\0' && strcmp(password, phone_key) == 0))
		return PAGE_MSG_ERR_PW_SAME;
	return PAGE_MSG_NONE;
}

int
login_password_store(struct authd_app *app, const char *uid, const char *password)
{
	const struct pw_params *cost = app->ident != NULL ? &app->ident->pw : NULL;
	struct pw_params def;
	char *hash = NULL;
	int r;

	if (cost == NULL) {
		pw_params_default(&def);
		cost = &def;
	}
	if ((r = pw_hash(cost, password, strlen(password), &hash)) == 0)
		r = dir_cred_set(app->dir, uid, PW_SCHEME_ARGON2ID, hash, NULL);
	free(hash);
	return r;
}
