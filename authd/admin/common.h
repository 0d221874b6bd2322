/*
 * Internal to the operators' console (authd/admin/, see admin.h): what its parts share
 * (common.c). admin.c has the home page, the review part and the routes' registration;
 * people.c, orgs.c and audit.c a part each.
 */
#ifndef YH_AUTHD_ADMIN_COMMON_H
#define YH_AUTHD_ADMIN_COMMON_H

#include <stdbool.h>
#include <jansson.h>
#include "authd/http/http.h"
#include "authd/session/sess.h"
#include "identity/dir/dir.h"

struct authd_app;

#define ADMIN_PATH "/admin"
#define ADMIN_MIN_LOA 3          /* the session level the console needs */
#define ADMIN_PURPOSE "admin"    /* the CSRF purpose of every console form */

/* The operator behind a request (admin_enter); release with admin_op_clear. */
struct op {
	struct sess_info si;
	struct dir_mandate m;
	struct dir_org org;
	unsigned perms;            /* enum dir_console_perm bits */
	char actor[8 + SESS_UID_MAX];   /* "user:<uid>" */
};

void admin_op_clear(struct op *o);

/*
 * The start of every console handler: the session (none: to the login page), the
 * staff relation and its console permissions (none: 403), the session level (below
 * ADMIN_MIN_LOA: to the TOTP step-up), the part's permission need (0: any; missing:
 * 403) and, for a POST, the CSRF token bound to the session. Returns 0 (go on unless
 * http_req_answered) or an error to return; *o is to be cleared either way.
 */
int admin_enter(struct authd_app *app, struct http_req *req, bool post, unsigned need,
    struct op *o) YH_WUR;

/* Writes a console audit event with the operator as actor (and the agency, unit and
 * session in the fields); takes fields. 0, YH_ERR_ALLOC, YH_ERR_IO. */
int admin_audit(struct authd_app *app, const struct op *o, const char *event,
    json_t *fields) YH_WUR;

/* The form's field (outsz - 1 bytes at most) into out when valid accepts it; else
 * out is "". */
void admin_form_id(struct http_req *req, const char *field, bool (*valid)(const char *),
    char *out, size_t outsz);

/* Adds the routes of the people (people.c), audit (audit.c), organizations (orgs.c)
 * and apps (apps.c) parts. */
int admin_people_register(struct http_server *srv, struct authd_app *app) YH_WUR;
int admin_audit_register(struct http_server *srv, struct authd_app *app) YH_WUR;
int admin_orgs_register(struct http_server *srv, struct authd_app *app) YH_WUR;
int admin_apps_register(struct http_server *srv, struct authd_app *app) YH_WUR;

#endif
