/*
 * What the parts of the operators' console share (common.h): the access rule every
 * handler starts with, the audit line with the operator as actor, form ids.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "authd/admin/common.h"
#include "authd/app.h"
#include "authd/login/login.h"
#include "authd/ui/csrf.h"
#include "authd/ui/pages.h"
#include "identity/dir/dir.h"

#define LOGIN_AGAIN "/login?next=%2Fadmin"
#define STEP_UP LOGIN_TOTP_PATH "?next=%2Fadmin&loa=3"

void
admin_op_clear(struct op *o)
{
	dir_mandate_clear(&o->m);
	dir_org_clear(&o->org);
}

int
admin_audit(struct authd_app *app, const struct op *o, const char *event, json_t *fields)
{
	int r;

	if (fields == NULL)
		return YH_ERR_ALLOC;
	json_object_set_new(fields, "org", json_string(o->org.uid));
	json_object_set_new(fields, "unit", json_string(o->m.unit));
	json_object_set_new(fields, "sid", json_string(o->si.sid));
	r = login_audit(app, event, o->actor, fields) == 0 ? 0 : YH_ERR_IO;
	json_decref(fields);
	return r;
}

/* The 403 page, msg saying why. */
static int
forbidden(struct http_req *req, enum page_msg msg)
{
	enum page_lang l = page_lang_of(req);

	return page_error_send(req, 403, page_msg(l, msg), "/account",
	    page_msg(l, PAGE_MSG_ACCOUNT_LINK));
}

int
admin_enter(struct authd_app *app, struct http_req *req, bool post, unsigned need, struct op *o)
{
	int r;

	memset(o, 0, sizeof(*o));
	if ((r = login_session_of(req, app, SESS_TOUCH, &o->si)) == YH_ERR_NOT_FOUND)
		return http_respond_redirect(req, post ? 303 : 302, LOGIN_AGAIN);
	if (r != 0)
		return page_failure_send(req, r);
	if (o->si.loa == LOGIN_LOA_PENDING)
		return http_respond_redirect(req, post ? 303 : 302, STEP_UP);
	r = dir_staff_current(app->dir, o->si.uid, 0, &o->m, &o->org);
	if (r == 0)
		r = dir_console_get(app->dir, o->m.id, &o->perms);
	if (r == YH_ERR_NOT_FOUND || (r == 0 && o->perms == 0))
		return forbidden(req, PAGE_MSG_ADMIN_NOT_OPERATOR);
	if (r != 0)
		return page_failure_send(req, r);
	if (o->si.loa < ADMIN_MIN_LOA)
		return http_respond_redirect(req, post ? 303 : 302, STEP_UP);
	if ((o->perms & need) != need)
		return forbidden(req, PAGE_MSG_ADMIN_NO_PERM);
	if (post && (r = csrf_verify(req, app->keys, ADMIN_PURPOSE, o->si.key)) != 0)
		return r == YH_ERR_DENIED ? csrf_respond_rejected(req) : r;
	snprintf(o->actor, sizeof(o->actor), "user:%s", o->si.uid);
	return 0;
}

void
admin_form_id(struct http_req *req, const char *field, bool (*valid)(const char *),
    char *out, size_t outsz)
{
	char *v = NULL;

	out[0] = '\0';
	if (http_req_form(req, field, outsz - 1, &v) == 0 && valid(v))
		snprintf(out, outsz, "%s", v);
	free(v);
}
