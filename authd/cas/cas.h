/*
 * The CAS server (prefix cas_): Apereo CAS Protocol 3.0, with its 1.0 and 2.0
 * validation endpoints, for apps that speak CAS (Apache mod_auth_cas, phpCAS, the Java
 * CAS client) on the same single sign-on session as the OpenID Connect endpoints.
 *
 *   login.c      GET /cas/login?service=URL[&renew=true][&gateway=true][&method=POST]
 *   logout.c     GET /cas/logout[?service=URL]
 *   slo.c        the single logout request to the services
 *   validate.c   GET /cas/validate             (1.0: "yes\nUSER\n" or "no\n")
 *                GET /cas/serviceValidate      (2.0: XML, or JSON with format=JSON)
 *                GET /cas/p3/serviceValidate   (3.0: the same with <cas:attributes>)
 *                GET /cas/proxyValidate, /cas/p3/proxyValidate (the same two, proxy
 *                                              tickets taken as well)
 *   proxy.c      GET /cas/proxy?pgt=PGT&targetService=URL, and the proxy-granting
 *                ticket handed to a pgtUrl at validation
 *   xml.c        the XML writer of the responses
 *
 * Which apps: a service URL must match a CAS service or prefix of a registered app
 * (clients_cas_service_ok, authcore/clients/clients.h); an unregistered one gets an error
 * page at /cas/login, never a redirect, and INVALID_SERVICE at validation.
 *
 * /cas/login, in order:
 *   1. a parameter repeated, too long or with a NUL byte, or a service that no app
 *      registered: an error page (400);
 *   2. no service: to /account (through /login when there is no session);
 *   3. no live session (or its person not active): gateway=true -> 302 to the service
 *      without a ticket; otherwise 302 to /login?next=/cas/login?...;
 *   4. renew=true (gateway is then ignored) and the request does not carry a marker
 *      showing that this session logged in after this very request sent it to the login
 *      page: 302 to /login?force=1&next=/cas/login?...&yh_reauth=<t>.<mac>; the marker
 *      is keys_mac(KEYS_MAC_REAUTH) over CAS_MARK_LABEL, t, this browser's yh_csrf
 *      cookie (set here when missing; the session's public sid only without it:
 *      csrf_mark_binding), service, renew and gateway, honoured for 10 minutes in this
 *      browser when the session's auth_time >= t, whether it is the session the detour
 *      was made from or a new one (another person logged in), so that another browser's
 *      marker counts for nothing (as /authorize's, authorize.h rule 3);
 *   5. the session's LoA below the app's min_loa: the TOTP step-up when it can lift
 *      the session (oidc_az_can_step_up), else an error page;
 *   6. the app is added to the session's list of apps (logout), a service ticket stored
 *      (sess_ticket_new: the exact service, the app, uid, sid, auth_time, LoA, renewed)
 *      for cas.ticket_lifetime and remembered in the session with its service for
 *      single logout (sess_add_cas_ticket), and 302 to service with ticket=ST-...
 *      appended ('?' or '&' as the service needs); with method=POST instead a page
 *      whose form POSTs ticket to service, submitted by its one script (allowed by
 *      hash in that page's CSP) or by its button. method GET or absent: the 302; any
 *      other method (HEADER included): an error page (400). method=POST survives the
 *      detour through /login; gateway without a session still redirects.
 *
 * /cas/logout[?service=URL] ends the browser's session as /logout does once confirmed
 * (oidc_lo_run: the audit line "logout", the session store's ENDED event), clears the
 * session cookie, and sends the browser to service when an app registers it, else shows
 * the "logged out" page. Like every CAS server it asks nothing first: CAS clients send
 * the browser here to log out. A repeated or over-long parameter: an error page (400).
 * Single logout: when a session ends, whatever ends it (this, /logout, the account page,
 * an operator, expiry), every service it issued a ticket to gets a LogoutRequest naming
 * that ticket (cas_slo_body), POSTed by the back-channel sender with its retries and its
 * record (authd/oidc/backchannel.h), if an app still registers the service then.
 *
 * Validation: the ticket is taken once whatever happens next (CAS 3.0 2.5.3). Missing
 * service or ticket: INVALID_REQUEST; unknown, used, expired or malformed ticket, or
 * renew=true with a ticket not issued from a login that renew forced: INVALID_TICKET;
 * a service other than the one the ticket was issued for (byte for byte), or one no app
 * registers now: INVALID_SERVICE; the person gone or no longer active: INVALID_TICKET;
 * the store or directory failing: INTERNAL_ERROR. A proxy ticket (PT-) is taken only by
 * /proxyValidate and /p3/proxyValidate; elsewhere it is used up and INVALID_TICKET.
 * Every validation writes the audit line "cas.validate" (client, service, result, code,
 * sid) before it is answered. The user is the person's pairwise subject for the app's
 * sector (oidc_pairwise_sub); for an app registered with cas_user legacy, the person's
 * id in the app's legacy_source (oidc_legacy_account) when they have an active account
 * there, the pairwise subject otherwise. An app with legacy_required issues no ticket
 * to a person without such an account (/cas/login shows an error page, 403), and a
 * ticket whose person lost the account before validation gets INVALID_TICKET. 3.0
 * attributes: sub, loa (urn:yihao:loa:N), authenticationDate, isFromNewLogin,
 * longTermAuthenticationRequestTokenUsed, legacyId and legacyUsername (an app with a
 * legacy_source, a person with an account there), and the claims the app's registered
 * scopes release (oidc_user_claims: name with profile, the ID number only for an app
 * with allow_id_number). A proxy ticket's answer is that of a service ticket of its
 * target app plus <cas:proxies> (JSON "proxies"), the chain most recent first.
 *
 * Proxying (proxy.c). pgtUrl at a 2.0/3.0 validation that succeeded and was audited:
 * unless it is https and one of the ticket's app's cas_proxy_callbacks byte for byte,
 * the chain (SESS_PROXIES_MAX) has room, and the login session (by uid and sid) is live,
 * no ticket. Otherwise a PGT- and a PGTIOU- (each 256 random bits in hex) are made, the
 * callback GET pgtUrl?pgtIou=..&pgtId=.. is made over TLS with certificate checks
 * (cas.proxy_ca_file, else the system store; no redirect; the back-channel sender's
 * timeouts), and only on 200 is the PGT stored (sess_cas_put: hashed, its record the
 * ticket's with the chain pgtUrl-first, for min(cas.pgt_lifetime, the session's
 * absolute end)) and the PGTIOU put in the answer. Whatever stops it, the validation
 * still succeeds without <cas:proxyGrantingTicket> (CAS 2.0; 3.0 2.5.4 step 3), the
 * reason is logged (warn) and every grant or refusal is audited as "cas.pgt" (client,
 * callback, result, reason, sid), never with a ticket.
 * /cas/proxy: pgt and targetService once each, else INVALID_REQUEST; a PGT unknown,
 * expired or whose login session is no longer live: INVALID_TICKET; the proxy's app or
 * callback no longer registered: UNAUTHORIZED_SERVICE; a target no app registers:
 * INVALID_SERVICE; its app without cas_accept_proxy, or a min_loa above the login's:
 * UNAUTHORIZED_SERVICE; else a PT- stored like a service ticket (single use,
 * cas.ticket_lifetime, bound to targetService exactly and to its app) with the PGT's
 * chain. Every request writes the audit line "cas.proxy" (client, target_client,
 * service, result, sid) before it is answered; XML, or JSON with format=JSON
 * ({"serviceResponse": {"proxySuccess": {"proxyTicket": ..}}} or "proxyFailure").
 */
#ifndef YH_AUTHD_CAS_H
#define YH_AUTHD_CAS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authd/http/http.h"
#include "authd/session/sess.h"
#include "common/buf.h"
#include "common/err.h"

struct authd_app;
struct clients_client;
struct clients_snap;

#define CAS_MARK_LABEL "yihao/cas-renew/v1"
#define CAS_TICKET_PARAM_MAX 128          /* bytes of a ticket parameter */
#define CAS_IOU_SIZE (7 + 64 + 1)         /* "PGTIOU-" + 64 hex digits + NUL */
#define CAS_XML_NS "http://www.yale.edu/tp/cas"

/* Adds the CAS routes (/cas/login, /cas/logout, /cas/validate, /cas/serviceValidate,
 * /cas/p3/serviceValidate). Needs app->clients, ->sess, ->dir, ->keys, ->audit. */
int cas_register(struct http_server *srv, struct authd_app *app) YH_WUR;

/* The routes of login.c, validate.c and proxy.c (cas_register calls them). */
int cas_login_register(struct http_server *srv, struct authd_app *app) YH_WUR;
int cas_validate_register(struct http_server *srv, struct authd_app *app) YH_WUR;
int cas_proxy_register(struct http_server *srv, struct authd_app *app) YH_WUR;

/* A query parameter of a CAS endpoint (request.c): NULL when absent; *bad set when it is repeated,
 * longer than max or holds a NUL byte. */
const char *cas_param(struct http_req *req, const char *name, size_t max, bool *bad);

/* ---- proxying (proxy.c) ------------------------------------------------------------- */

struct sess_ticket;

/*
 * Puts url (a proxy callback) in front of chain (URLs each ending in '\n', most recent
 * first) into out. Returns 0, YH_ERR_INVALID (url empty or with a newline, chain not
 * in that form), YH_ERR_LIMIT (the chain would pass SESS_PROXIES_MAX URLs or
 * SESS_PROXIES_BYTES bytes).
 */
int cas_proxy_chain_push(const char *chain, const char *url,
    char out[SESS_PROXIES_BYTES + 1]) YH_WUR;

/* 0 when the user uid has a live login session whose public id is sid (its absolute end
 * to *aexp_ms, which may be NULL); YH_ERR_NOT_FOUND when not; the store's error. */
int cas_session_live(struct authd_app *app, const char *uid, const char *sid,
    int64_t *aexp_ms) YH_WUR;

/*
 * A proxy-granting ticket for the validated ticket t of app c, handed to pgt_url (the
 * rules in the comment at the top of this file). iou gets the PGTIOU for the response,
 * or "" when no ticket was granted (the reason is logged and audited). Returns 0 or
 * YH_ERR_ALLOC; never fails the validation otherwise.
 */
int cas_pgt_grant(struct authd_app *app, const struct clients_client *c,
    const struct sess_ticket *t, const char *pgt_url, char iou[CAS_IOU_SIZE]) YH_WUR;

/* ---- single logout (slo.c, logout.c) ------------------------------------------------ */

/*
 * The body of a CAS single logout POST for ticket (the SessionIndex the service matches
 * against the ticket it validated): "logoutRequest=" and the percent-encoded
 * <samlp:LogoutRequest> with a random ID, Version 2.0, IssueInstant now_ms and NameID
 * @NOT_USED@. *out is malloc'd. Returns 0, YH_ERR_INVALID (no ticket, one too long, or
 * one XML cannot carry), YH_ERR_ALLOC, yh_random's error.
 */
int cas_slo_body(const char *ticket, int64_t now_ms, char **out) YH_WUR;

/* Adds GET /cas/logout (logout.c; cas_register calls it). */
int cas_logout_register(struct http_server *srv, struct authd_app *app) YH_WUR;

/* ---- the XML writer (xml.c) ---------------------------------------------------------- */

/*
 * Appends s as XML character data (and attribute-value safe): & < > " ' escaped. Text that
 * XML 1.0 cannot carry is refused: YH_ERR_INVALID for bytes that are not UTF-8 and for
 * control characters other than tab, LF and CR. YH_ERR_TOO_LONG past b's limit.
 */
int cas_xml_text(struct yh_buf *b, const char *s) YH_WUR;

/* Appends <cas:NAME>text</cas:NAME> (name: letters, digits, '_' and '-', not checked
 * further: the callers' names are their own), text escaped by cas_xml_text. */
int cas_xml_elem(struct yh_buf *b, const char *name, const char *text) YH_WUR;

#endif
