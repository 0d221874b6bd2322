/*
 * What the login room's pages share (login.h): the `next` rule, the session cookie, the
 * LoA a login gives, the brute-force policy, the login metric and the audit line.
 * password.c, totp.c and register.c use these and not each other.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "authcore/audit/audit.h"
#include "authcore/clients/clients.h"
#include "authd/app.h"
#include "authd/http/http.h"
#include "identity/dir/dir.h"
#include "authd/login/login.h"
#include "authd/ui/pages.h"
#include "common/log.h"
#include "common/metrics.h"

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
	    strcmp(next, "/admin") == 0 || strncmp(next, "/account?", 9) == 0;
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

void
login_form(struct page *p, struct authd_app *app, const char *csrf, const char *next,
    const char *username, const char *error)
{
	char name[CLIENTS_NAME_MAX + 1];

	login_app_name(app, next, name, sizeof(name));
	page_login_form(p, csrf, next, username, error, name);
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
	/* login.staff_methods names the second factor; totp is the one there is. */
	*pending = r == 0;
	return r;
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
