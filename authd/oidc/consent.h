/*
 * Consent (prefix consent_): the page where a person allows an app the claims it asks
 * for, and the check /authorize makes before it issues a code. What was allowed is
 * remembered per person and app in the directory (dir_consent_*), as the union of every
 * grant, until the person revokes it on the account page.
 *
 *   GET  /consent?next=/authorize?...   the app's name and, in words, what it will
 *        receive (the ID number masked, e.g. 110101********0011); "allow" and "deny".
 *   POST /consent (csrf, next, action=allow|deny)
 *        allow: dir_consent_set + audit consent.grant, then 303 to next (with the
 *               token "consent" taken out of its prompt parameter, so that the resumed
 *               /authorize does not ask again);
 *        deny:  303 straight to the app's redirect URI with error=access_denied, state
 *               and iss (the redirect URI re-checked against the registry first).
 * Without a session both go to /login?next=<next>. A next that is not a local
 * "/authorize?" path, or whose client or redirect URI is not registered, gets an error
 * page (never a redirect).
 */
#ifndef YH_AUTHD_CONSENT_H
#define YH_AUTHD_CONSENT_H

#include <stdbool.h>

#include "authd/http/http.h"
#include "common/err.h"

struct authd_app;

/* Adds GET and POST /consent. Needs app->dir, app->sess, app->clients, app->audit and
 * app->issuer. Returns what http_routes_add returns. */
int consent_register(struct http_server *srv, struct authd_app *app) YH_WUR;

/*
 * For /authorize: sets *granted to true when the person uid has consented to every
 * scope of the space-separated list scope that client_id may be granted (the same
 * narrowing as oidc_scope_grant, which the consent page applies too: names the client
 * may not have, or that are unknown, need no consent and are never granted), false
 * otherwise (nothing recorded, or some scope missing). Nothing grantable asked (scope
 * NULL, empty, or only such names) needs no consent: true. Returns 0, YH_ERR_NOT_FOUND
 * (no such client), YH_ERR_INVALID (malformed uid or scope syntax), YH_ERR_TOO_LONG, or
 * the directory's errors; *granted is false on every error.
 */
int consent_granted(struct authd_app *app, const char *uid, const char *client_id,
    const char *scope, bool *granted) YH_WUR;

/* True when every name of the space-separated list want appears in the list have. */
bool consent_covers(const char *have, const char *want);

#endif
