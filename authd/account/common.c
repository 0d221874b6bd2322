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
#include "authd/oidc/oidc.h"
#include "authd/session/sess.h"
#include "authd/ui/pages.h"
#include "common/log.h"
#include "identity/dir/dir.h"

int
account_session(struct authd_app *app, struct http_req *req, bool post, struct sess_info *si)
{
	char uscc[OIDC_USCC_SIZE];
	int r = login_session_of(req, app, SESS_TOUCH, si);

	if (r == YH_ERR_NOT_FOUND)
		return http_respond_redirect(req, post ? 303 : 302, ACCOUNT_LOGIN_AGAIN);
	if (r != 0)
		return page_failure_send(req, r);
	/* A staff login still owes its second factor (login_staff_pending). */
	if (si->loa == LOGIN_LOA_PENDING)
		return http_respond_redirect(req, post ? 303 : 302,
		    LOGIN_TOTP_PATH "?next=%2Faccount");
	/* An enterprise certificate's session (the organization's own uid, oidc_org_self)
	 * has no personal account: every page and form of it answers with a page that says
	 * whom the session acts for and where to go (a form: 403, nothing done). */
	if ((r = oidc_org_self(app->dir, si->uid, uscc)) == YH_ERR_NOT_FOUND)
		return 0;
	if (r != 0)
		return page_failure_send(req, r);
	return page_error_send(req, post ? 403 : 200, page_msg(page_lang_of(req),
	    PAGE_MSG_ACCT_ORG_SESSION), "/logout", page_msg(page_lang_of(req), PAGE_MSG_LOGOUT));
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
