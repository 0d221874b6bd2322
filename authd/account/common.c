/*
 * What the account room's pages share (account.h): the session of a request and the
 * audit line of a person's own change. account.c (the page and its forms) and orgs.c
 * (a legal representative's organizations) both call these.
 */
#include <stdio.h>
#include <string.h>
#include <jansson.h>

#include "authcore/audit/audit.h"
#include "authd/account/account.h"
#include "authd/app.h"
#include "authd/login/login.h"
#include "authd/session/sess.h"
#include "authd/ui/pages.h"
#include "common/log.h"
#include "identity/dir/dir.h"

/* An enterprise certificate's session is the organization's own uid: it has no
 * personal account, so no page or change of the account room (no form, no CSRF token,
 * no TOTP, password or phone for the organization): a page that says whom it acts for
 * and where to go, 200 for a GET and 403 for a POST. 0 for a person's session. */
static int
org_session(struct authd_app *app, struct http_req *req, bool post, const char *uid)
{
	struct dir_org o;
	enum page_lang l = page_lang_of(req);
	int r;

	memset(&o, 0, sizeof(o));
	r = dir_org_get(app->dir, uid, &o);
	dir_org_clear(&o);
	if (r == YH_ERR_NOT_FOUND)
		return 0;
	if (r != 0)
		return page_failure_send(req, r);
	return page_error_send(req, post ? 403 : 200, page_msg(l, PAGE_MSG_ACCT_ORG_SESSION),
	    "/logout", page_msg(l, PAGE_MSG_LOGOUT));
}

int
account_session(struct authd_app *app, struct http_req *req, bool post, struct sess_info *si)
{
	int r = login_session_of(req, app, SESS_TOUCH, si);

	if (r == YH_ERR_NOT_FOUND)
		return http_respond_redirect(req, post ? 303 : 302, ACCOUNT_LOGIN_AGAIN);
	if (r != 0)
		return page_failure_send(req, r);
	/* A staff login still owes its second factor (login_staff_pending). */
	if (si->loa == LOGIN_LOA_PENDING)
		return http_respond_redirect(req, post ? 303 : 302,
		    LOGIN_TOTP_PATH "?next=%2Faccount");
	return org_session(app, req, post, si->uid);
}

int
account_audit(struct authd_app *app, const char *event, const char *uid, json_t *fields)
{
	char actor[8 + SESS_UID_MAX];
	int r;

	snprintf(actor, sizeof(actor), "user:%s", uid);
	r = yh_audit_write(app->audit, event, actor, fields);
	json_decref(fields);
	if (r != 0)
		yh_error("audit %s: %s", event, yh_strerror(r));
	return r;
}
