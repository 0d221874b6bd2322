/*
 * A ticket upstream, prefix fed_ticket_: the shape most provincial platforms use. authd
 * sends the browser to login_url with our app id (app_id_param) and a return URL
 * (return_param); the upstream sends the browser back to that URL with a one-time
 * ticket (ticket_param); authd exchanges it server to server at validate_url (a form
 * POST of app_id_param, ticket_param and return_param) and reads the user from the JSON
 * answer through the block's paths (result_field = result_value means success; map.*).
 * How the exchange authenticates is the block's sign:
 *
 *   secret        appSecret = app_secret is sent as a form field
 *   hmac-sha256   timestamp (Unix seconds), nonce (32 hex characters) and sign are
 *   hmac-sm3      added: sign is the lowercase hex HMAC (SHA-256 or SM3) keyed with
 *                 app_secret over the other fields sorted by name, "k=v" joined by "&"
 *                 (values as sent, before percent-encoding)
 *   sm2-sm3       the same fields, sign the base64 DER SM2 signature (SM3, GM/T 0009's
 *                 default ID) of that string by the key in sign_key_file (token/)
 *
 * A call goes through federation/http.c (no redirects, a timeout, a bounded answer)
 * and blocks its thread for at most the block's timeout: authd makes it on the worker
 * pool.
 */
#ifndef YH_FEDERATION_UPSTREAM_TICKET_H
#define YH_FEDERATION_UPSTREAM_TICKET_H

#include <stddef.h>

#include "common/err.h"
#include "federation/upstream_cfg.h"
#include "federation/upstream_oidc.h"

#define FED_TICKET_BODY_MAX (64 * 1024)   /* bytes of the upstream's answer */
#define FED_TICKET_MAX 512                /* bytes of a ticket accepted */

/* The URL the browser goes to (malloc'd into *url): login_url with app_id and
 * return_url. Returns 0 or YH_ERR_ALLOC. */
int fed_ticket_login_url(const struct fed_up_cfg *u, const char *return_url, char **url)
    YH_WUR;

/*
 * The string the signature of sign = hmac-* covers, from the n fields names[i] =
 * values[i] (sorted by name, "k=v" joined by "&"), into *out (malloc'd). Returns 0 or
 * YH_ERR_ALLOC.
 */
int fed_ticket_sign_base(const char *const *names, const char *const *values, size_t n,
    char **out) YH_WUR;

/*
 * Exchanges ticket (issued for return_url) at u's validate_url and maps the answer into
 * *out (fed_up_map: out->loa is acr_map's level of a top-level "acr", else loa). Returns 0,
 * or with why (one line for the audit trail): YH_ERR_UNAVAILABLE (no answer in time, a
 * non-2xx status, an answer too large), YH_ERR_DENIED (the upstream refused the ticket:
 * result_field is not result_value), YH_ERR_INVALID (an answer that is not a JSON object
 * or names no subject), YH_ERR_ALLOC.
 */
int fed_ticket_validate(const struct fed_up_cfg *u, const char *ticket,
    const char *return_url, struct fed_login *out, char *why, size_t whysz) YH_WUR;

#endif
