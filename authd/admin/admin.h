/*
 * The operators' console (prefix admin_): pages for operators and service-hall
 * supervisors. Only a person with a current staff relation (dir_staff_current) that
 * carries console permissions (dir_console_get: review, people, orgs, apps, audit; set
 * with `authctl staff role`) and whose session is at LoA 3 or more gets them: no
 * session goes to the login page, a session below LoA 3 to the TOTP step-up, anybody
 * else (a citizen, staff without permissions, an operator without the part's
 * permission) gets a 403 page.
 *
 *   GET  /admin                 the parts the operator's permissions open
 *   GET  /admin/review          review: the open cases counted by reason, filtered by
 *                               ?reason=; audited admin.review.list
 *   GET  /admin/review/case     review: ?id= a case beside its evidence, ID numbers and
 *                               phones masked; audited admin.review.view
 *   POST /admin/review/resolve  review, CSRF: merge (keep), separate or reject with a
 *                               note, by the operator (identity/review.h); audited
 *                               review.resolve as authctl's, taken back when the line
 *                               cannot be written
 *   POST /admin/review/undo     review, CSRF: the decision taken back; audited
 *                               review.undo
 *   /admin/people...            people: search, a person, reveal, lock, unlock, end
 *                               sessions (authd/admin/people.c)
 *   /admin/orgs...              orgs: search, an organization and its relations
 *                               (authd/admin/orgs.c)
 *   /admin/apps...              apps: list, register, rotate a secret
 *                               (authd/admin/apps.c)
 *   /admin/audit...             audit: search, export as JSON lines, verify the chain
 *                               (authd/admin/audit.c)
 *
 * Every form's CSRF token is bound to the operator's session. The audit actor is
 * "user:<operator uid>", with the agency, the unit and the session in the fields.
 */
#ifndef YH_AUTHD_ADMIN_H
#define YH_AUTHD_ADMIN_H

#include "authd/http/http.h"
#include "common/err.h"

struct authd_app;

/* Adds the routes above. Needs app->dir, app->sess, app->audit, app->keys. */
int admin_register(struct http_server *srv, struct authd_app *app) YH_WUR;

#endif
