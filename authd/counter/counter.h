/*
 * The service-hall counter (prefix counter_): pages for government staff who serve
 * citizens in person. Only a person with a current staff relation (dir_staff_current)
 * whose session is at LoA 3 or more gets them; a session below is sent to the TOTP
 * step-up, a person who is not staff gets a 403 page.
 *
 *   GET  /counter           the search form
 *   POST /counter/search    CSRF; the citizen found by ID number through the blind
 *                           index, shown masked (given name, ID number); audited
 *                           counter.search
 *   POST /counter/verify    CSRF; the ID number re-typed and compared, the document
 *                           type and what was seen: the citizen's LoA raised to 4
 *                           (method "counter", by the staff member's uid, the
 *                           evidence); never the staff member themselves; audited
 *                           counter.verify
 *   POST /counter/lock      CSRF; the ID number re-typed and compared (as for verify:
 *                           the citizen's document is at the counter, a uid alone
 *                           locks nobody); the citizen's account locked on their
 *                           request and their sessions ended; never the staff member
 *                           themselves; audited counter.lock
 *
 * A deregistered account is shown without the forms; verify and lock refuse it (400),
 * as they refuse an ID number typed again that does not match. Each refusal is audited
 * under the action's event with "refused": "deregistered" or "id_number_mismatch".
 *
 * Every form's CSRF token is bound to the staff member's session. The audit actor is
 * "user:<staff uid>", with the agency and unit in the fields.
 */
#ifndef YH_AUTHD_COUNTER_H
#define YH_AUTHD_COUNTER_H

#include <stdbool.h>
#include <stddef.h>
#include "authd/http/http.h"
#include "authd/ui/pages.h"
#include "common/err.h"
#include "identity/dir/dir.h"

struct authd_app;

#define COUNTER_PATH "/counter"
#define COUNTER_MIN_LOA 3          /* the session level the counter needs */
#define COUNTER_NOTE_MAX 500       /* bytes of "what was seen" */

/* The documents a counter may check (counter_doc_ok). */
#define COUNTER_DOCS "id_card temp_id_card household_register"

/* True when doc is one of COUNTER_DOCS. */
bool counter_doc_ok(const char *doc);

/*
 * Builds the evidence a counter verification records in the LoA history, into out
 * (outsz bytes): "doc=<doc>; number=<the ID number masked>; seen=<note>". note may be
 * NULL or "". Returns 0, YH_ERR_INVALID (an unknown document, a note with control bytes
 * or not UTF-8), YH_ERR_TOO_LONG (note over COUNTER_NOTE_MAX, or out too small).
 */
int counter_evidence(const char *doc, const char *id_number, const char *note, char *out,
    size_t outsz) YH_WUR;

/* A person's account status (enum dir_status) in words of language l. */
const char *counter_status_word(enum page_lang l, enum dir_status st);

/* Adds the routes above. Needs app->dir, app->sess, app->audit, app->keys. */
int counter_register(struct http_server *srv, struct authd_app *app) YH_WUR;

#endif
