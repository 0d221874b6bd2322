/*
 * Sending text messages (SMS) through a gateway, prefix fed_sms_. One interface, three
 * drivers chosen by sms.driver (docs/operations.md, "SMS gateway"):
 *
 *   http  a request built from templates the operator writes: sms.url, sms.body with the
 *         placeholders {phone}, {text} and {credential} (the credentials file's line),
 *         sent as JSON (each value JSON-escaped) or as a form (each value
 *         percent-encoded) by sms.format, optionally with an Authorization header
 *         (sms.auth bearer or basic); success is the member sms.success_field (a dotted
 *         path) of the JSON answer holding sms.success_value, with a 2xx status. That is
 *         enough for the common SMS platforms without code per vendor. A call that gets
 *         no answer (connect failure, timeout) or a 5xx is tried once more;
 *   file  appends one JSON line per message, {"phone": ..., "text": ...}, to sms.file
 *         (development and tests);
 *   log   writes the message to authd's log (masked phone; development only);
 *   none  (the default) no SMS: the pages that need one say so.
 *
 * Every call goes through federation/http.c's rules (no redirects, timeouts, no signals).
 * A call blocks its thread for at most twice sms.timeout: authd makes it on the worker
 * pool.
 */
#ifndef YH_FEDERATION_SMS_H
#define YH_FEDERATION_SMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "common/config.h"
#include "common/err.h"

#define FED_SMS_TEXT_MAX 512          /* bytes of a message */
#define FED_SMS_PHONE_MAX 32          /* bytes of a phone number */
#define FED_SMS_BODY_MAX (16 * 1024)  /* bytes of the platform's answer read */
#define FED_SMS_REQ_MAX 8192          /* bytes of a request body or URL, expanded */

/* The sms.* options. */
struct fed_sms_cfg {
	char *driver;           /* none | http | file | log */
	char *file;             /* file: the path messages are appended to */
	char *url;              /* http: the endpoint; may hold placeholders */
	char *format;           /* http: json | form */
	char *body;             /* http: the request body template */
	char *auth;             /* http: none | bearer | basic */
	char *credentials_file; /* http: the credential (0600) */
	char *ca_file;          /* http: PEM CA bundle; NULL: the system's */
	int64_t timeout;        /* http: seconds per attempt */
	char *success_field;    /* http: dotted path of the member saying success */
	char *success_value;    /* http: its value on success */
	char *error_field;      /* http: a member kept in the audit line on failure */
};

extern const char *const fed_sms_drivers[];
extern const char *const fed_sms_formats[];
extern const char *const fed_sms_auths[];

#define FED_SMS_ROW_(base, f, ...) \
	{ .name = "sms." #f, .offset = (base) + offsetof(struct fed_sms_cfg, f), \
	  .flags = YH_CFG_IMMUTABLE, __VA_ARGS__ }

/* The sms.* options as struct yh_cfg_opt initializers, offsets shifted by base (the
 * offset of a struct fed_sms_cfg in the caller's configuration struct). */
#define FED_SMS_CFG_OPTIONS(base) \
	FED_SMS_ROW_(base, driver, .type = YH_CFG_ENUM, .def = "none", .max = 8, \
	  .choices = fed_sms_drivers, .help = "how text messages (SMS codes) are sent: none, " \
	      "http (a platform's HTTP API), file (one JSON line per message appended to " \
	      "sms.file: development and tests) or log (authd's log: development)"), \
	FED_SMS_ROW_(base, file, .type = YH_CFG_PATH, .def = NULL, .max = 3072, \
	  .help = "the file the file driver appends messages to"), \
	FED_SMS_ROW_(base, url, .type = YH_CFG_STR, .def = NULL, .max = 2048, \
	  .help = "the platform's send endpoint (http(s)://); {phone}, {text} and " \
	      "{credential} are replaced, percent-encoded"), \
	FED_SMS_ROW_(base, format, .type = YH_CFG_ENUM, .def = "json", .max = 8, \
	  .choices = fed_sms_formats, .help = "the request body: json (application/json, " \
	      "values JSON-escaped) or form (application/x-www-form-urlencoded, values " \
	      "percent-encoded)"), \
	FED_SMS_ROW_(base, body, .type = YH_CFG_STR, .def = NULL, .max = 4096, \
	  .help = "the request body template, with {phone}, {text} and {credential}; " \
	      "unset: a GET of sms.url"), \
	FED_SMS_ROW_(base, auth, .type = YH_CFG_ENUM, .def = "none", .max = 8, \
	  .choices = fed_sms_auths, .help = "an Authorization header: none, bearer (the " \
	      "credentials file holds the token) or basic (user:password)"), \
	FED_SMS_ROW_(base, credentials_file, .type = YH_CFG_PATH, .def = NULL, .max = 3072, \
	  .help = "the file holding the platform's credential (one line, mode 0600): the " \
	      "Authorization header's, and {credential} in sms.url and sms.body; never logged"), \
	FED_SMS_ROW_(base, ca_file, .type = YH_CFG_PATH, .def = NULL, .max = 3072, \
	  .help = "PEM CA certificates the platform's https certificate must chain to; " \
	      "unset: the system's"), \
	FED_SMS_ROW_(base, timeout, .type = YH_CFG_DURATION, .def = "5s", .min = 1, \
	  .max = 60, .help = "an attempt that has not been answered by then failed (a " \
	      "failure without an answer is tried once more)"), \
	FED_SMS_ROW_(base, success_field, .type = YH_CFG_STR, .def = "code", .max = 128, \
	  .help = "the answer's member saying whether the message was accepted (a dotted " \
	      "path: result.code)"), \
	FED_SMS_ROW_(base, success_value, .type = YH_CFG_STR, .def = "OK", .max = 128, \
	  .help = "success_field's value when the message was accepted (a string, or a " \
	      "number or true/false as written)"), \
	FED_SMS_ROW_(base, error_field, .type = YH_CFG_STR, .def = NULL, .max = 128, \
	  .help = "a member of the answer kept in the audit line when the platform refuses " \
	      "(first 128 bytes); unset: none")

/*
 * Checks what the option table cannot: the file driver needs sms.file, the http driver
 * sms.url (http(s)://, a host), a credentials file when sms.auth is not none or a
 * placeholder {credential} is used (mode 0600), a readable ca_file, a success_field and
 * success_value. On error *key names the option and msg says what is wrong. Returns 0
 * or YH_ERR_CONFIG.
 */
int fed_sms_cfg_check(const struct fed_sms_cfg *c, const char **key, char *msg, size_t msgsz)
    YH_WUR;

/* What a send came to. */
struct fed_sms_result {
	bool sent;               /* the gateway accepted the message */
	int attempts;            /* calls made (http: 1 or 2) */
	int64_t latency_ms;
	long http_status;        /* the last answer's status; 0 when none */
	char why[160];           /* not sent: why, in a few words */
	char detail[129];        /* http: error_field's value, or "" */
};

struct fed_sms;

/*
 * Prepares the gateway of c (borrowed: c must outlive it): reads the credentials file
 * and takes libcurl's global state for the http driver. Returns 0, YH_ERR_CONFIG (err:
 * the option and the problem), YH_ERR_ALLOC or YH_ERR_INTERNAL.
 */
int fed_sms_new(const struct fed_sms_cfg *c, struct fed_sms **out, char *err, size_t errsz)
    YH_WUR;

/* Frees g (wiping the credential); NULL is fine. */
void fed_sms_free(struct fed_sms *g);

/* True when messages can be sent (a driver other than none). NULL: false. */
bool fed_sms_enabled(const struct fed_sms *g);

/* The driver's name ("none" for NULL). */
const char *fed_sms_driver(const struct fed_sms *g);

/*
 * Sends text (valid UTF-8, at most FED_SMS_TEXT_MAX bytes) to phone (the matching key,
 * digits). Fills *res. Returns 0 (see res->sent), YH_ERR_INVALID (an argument), or
 * YH_ERR_NOT_FOUND (no driver); a refused or failed delivery is a result, not an error.
 * Thread-safe.
 */
int fed_sms_send(struct fed_sms *g, const char *phone, const char *text,
    struct fed_sms_result *res) YH_WUR;

/*
 * The fields of an "sms.send" audit line (a new JSON object, NULL when out of memory):
 * driver, result (sent or failed), attempts, latency_ms, http_status, and why / detail
 * when set. The caller adds the masked phone and the purpose.
 */
json_t *fed_sms_audit_fields(const struct fed_sms *g, const struct fed_sms_result *res);

#endif
