/*
 * The account page (prefix account_): what a person sees of themselves and controls.
 * Every page needs a valid session (else 302 to /login?next=/account); every change is a
 * POST carrying the page's CSRF token; pages are Simplified Chinese by default, English
 * selectable (authd/ui/pages.h).
 *
 *   GET  /account                    profile (name, masked ID number, masked phone, LoA
 *                                    and how it was reached), my sessions, my apps,
 *                                    TOTP, change password
 *   POST /account/session/end        sid: end that session of mine
 *   POST /account/session/end-others end every session but this one
 *   POST /account/session/end-all    end every session (this one too: to /login)
 *   POST /account/app/revoke         client_id: forget my consent, revoke the app's
 *                                    refresh tokens (audit consent.revoke)
 *   POST /account/totp/new           a new seed, stored unconfirmed; 303 /account/totp
 *   GET  /account/totp               the unconfirmed seed as a QR code (inline SVG, no
 *                                    script) and in base32, and a code field
 *   POST /account/totp/confirm       code: confirms the seed (audit totp.enrol)
 *   POST /account/totp/remove        code: removes a confirmed enrolment (needs a
 *                                    current code) or an unconfirmed one
 *   POST /account/password           current, password, password2: the rules of
 *                                    registration (login.h), argon2 on the worker
 *                                    pool, audit password.change, ends my other
 *                                    sessions (5 wrong current passwords in 30 min
 *                                    lock the form for 30 min)
 *   GET  /account/phone              the number in use (masked) and the form to change
 *                                    it, with an SMS gateway (phone.c)
 *   POST /account/phone              action=send, phone: a code to the new number;
 *                                    action=change, phone, code: the number changes,
 *                                    verified (audit phone.change)
 *   POST /account/org/agent/add      org, id_number, name, until, scopes: a legal
 *                                    representative or admin grants an agent (orgs.c)
 *   POST /account/org/agent/end      org, relation: ends an agent's grant (orgs.c)
 */
#ifndef YH_AUTHD_ACCOUNT_H
#define YH_AUTHD_ACCOUNT_H

#include "authd/http/http.h"
#include "common/buf.h"
#include "common/err.h"
#include <stdbool.h>
#include <jansson.h>

struct authd_app;

#define ACCOUNT_PURPOSE "account"    /* the CSRF purpose of every account form */

struct page;
struct sess_info;

/* Adds the routes above. Needs app->dir, app->ident (password cost), app->sess,
 * app->clients, app->audit, app->workers (NULL: hashing runs inline). Returns what
 * http_routes_add returns. */
int account_register(struct http_server *srv, struct authd_app *app) YH_WUR;

/* Where a request without a session is sent: the login page, back to /account after. */
#define ACCOUNT_LOGIN_AGAIN "/login?next=%2Faccount"

/*
 * The session of an account request (common.c; none: a redirect to the login page; a
 * staff login owing its second factor: to the TOTP form; an enterprise certificate's
 * session, the organization's own: a page saying it has no personal account, 403 for a
 * POST), without the CSRF check. Returns 0 (the handler goes on unless
 * http_req_answered) or an error to return.
 */
int account_session(struct authd_app *app, struct http_req *req, bool post,
    struct sess_info *si) YH_WUR;

/* Writes the audit line event with actor "user:<uid>" (common.c); fields (may be NULL) is
 * consumed.
 * Returns 0 or the audit's error (logged). */
int account_audit(struct authd_app *app, const char *event, const char *uid,
    json_t *fields) YH_WUR;

/*
 * The organizations a person manages (authd/account/orgs.c): appends to p one section
 * per active organization si's person is the current legal representative or an admin
 * of (account_org.html), with the form values and the notice the request's query
 * carries back from a step-up or a change (aorg, until, scopes, aorg_done); csrf is the
 * page's token. Returns 0 or the directory's error.
 */
int account_orgs_render(struct authd_app *app, struct http_req *req, struct page *p,
    const struct sess_info *si, const char *csrf) YH_WUR;

/* Adds GET and POST /account/phone (phone.c). */
int account_phone_register(struct http_server *srv, struct authd_app *app) YH_WUR;

/* Adds POST /account/org/agent/add and /account/org/agent/end. */
int account_orgs_register(struct http_server *srv, struct authd_app *app) YH_WUR;

#endif
