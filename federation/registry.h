/*
 * Real-name checks against the population registry (人口库) and the legal-person
 * registry (法人库), prefix fed_reg_. Each registry is an HTTP JSON endpoint the operator
 * configures (registry.person.*, registry.org.*; docs/operations.md, "Registries"):
 *
 *   persons:        POST {"name": ..., "id_number": ...}
 *   organizations:  POST {"uscc": ..., "name": ..., "legal_rep_name": ...,
 *                         "legal_rep_id_number": ...}
 *
 * with Content-Type application/json, optionally an Authorization header (a bearer
 * token or basic credentials read from a 0600 file named by an option, never logged),
 * under a total timeout, over https with an optional CA file. The answer is mapped by
 * configuration: the JSON member match_field (a dotted path, "data.result") holding
 * match_value means a match, one of the '|'-separated mismatch_value a mismatch; the
 * optional detail_field is kept for the audit trail. Anything else is "unavailable",
 * never a mismatch: no answer, a timeout, a non-2xx status, an answer over
 * FED_REG_BODY_MAX bytes, a body that is not a JSON object, a missing member or a
 * value that is neither.
 *
 * A call blocks its thread for at most the registry's timeout. authd makes it on the
 * worker pool, never with a directory call in progress; authctl makes it in line.
 */
#ifndef YH_FEDERATION_REGISTRY_H
#define YH_FEDERATION_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "common/config.h"
#include "common/err.h"

struct mx_registry;

#define FED_REG_BODY_MAX (64 * 1024)   /* bytes of an answer; more is unavailable */
#define FED_REG_DETAIL_MAX 128         /* bytes of detail_field kept */
#define FED_REG_CRED_MAX 4096          /* bytes of a credentials file */

enum fed_reg_kind { FED_REG_PERSON = 0, FED_REG_ORG = 1 };
enum fed_reg_outcome { FED_REG_MATCH = 0, FED_REG_MISMATCH, FED_REG_UNAVAILABLE };

/* One registry's options (registry.person.* or registry.org.*). */
struct fed_reg_one_cfg {
	char *url;              /* url: http(s)://...; NULL or "": no checks */
	int64_t timeout;        /* timeout: seconds, in total per call */
	char *auth;             /* auth: none | bearer | basic */
	char *credentials_file; /* credentials_file: the token, or user:password (0600) */
	char *ca_file;          /* ca_file: PEM CA bundle for https; NULL: the system's */
	char *match_field;      /* match_field: dotted path of the member to read */
	char *match_value;      /* match_value: its value for a match */
	char *mismatch_value;   /* mismatch_value: '|'-separated values for a mismatch */
	char *detail_field;     /* detail_field: dotted path kept for the audit; optional */
};

struct fed_reg_cfg {
	struct fed_reg_one_cfg person, org;
};

extern const char *const fed_reg_auths[];

#define FED_REG_ROW_(base, k, f, ...) \
	{ .name = "registry." #k "." #f, .offset = (base) + \
	  offsetof(struct fed_reg_cfg, k) + offsetof(struct fed_reg_one_cfg, f), \
	  .flags = YH_CFG_IMMUTABLE, __VA_ARGS__ }

#define FED_REG_ROWS_(base, k, what) \
	FED_REG_ROW_(base, k, url, .type = YH_CFG_STR, .def = NULL, .max = 2048, \
	  .help = "the " what " registry's check endpoint (POST JSON; http(s)://); unset: " \
	      "no check"), \
	FED_REG_ROW_(base, k, timeout, .type = YH_CFG_DURATION, .def = "5s", .min = 1, \
	  .max = 60, .help = "a call to the " what " registry that has not answered by then " \
	      "is unavailable"), \
	FED_REG_ROW_(base, k, auth, .type = YH_CFG_ENUM, .def = "none", .max = 8, \
	  .choices = fed_reg_auths, .help = "how calls authenticate: none, bearer (the " \
	      "credentials file holds the token) or basic (it holds user:password)"), \
	FED_REG_ROW_(base, k, credentials_file, .type = YH_CFG_PATH, .def = NULL, \
	  .max = 3072, .help = "the file holding the " what " registry's credentials, mode " \
	      "0600, readable by the account authd runs as; never logged"), \
	FED_REG_ROW_(base, k, ca_file, .type = YH_CFG_PATH, .def = NULL, .max = 3072, \
	  .help = "PEM CA certificates the " what " registry's https certificate must " \
	      "chain to; unset: the system's"), \
	FED_REG_ROW_(base, k, match_field, .type = YH_CFG_STR, .def = "result", .max = 128, \
	  .help = "the answer's member saying match or mismatch (a dotted path: data.result)"), \
	FED_REG_ROW_(base, k, match_value, .type = YH_CFG_STR, .def = "一致", .max = 128, \
	  .help = "match_field's value for a match (a string, or a number or true/false " \
	      "as written)"), \
	FED_REG_ROW_(base, k, mismatch_value, .type = YH_CFG_STR, .def = "不一致", \
	  .max = 512, .help = "match_field's values for a mismatch, separated by |; any " \
	      "other value is unavailable"), \
	FED_REG_ROW_(base, k, detail_field, .type = YH_CFG_STR, .def = NULL, .max = 128, \
	  .help = "a member of the answer kept in the audit line (first 128 bytes, masked); " \
	      "unset: none")

/* The registry options as struct yh_cfg_opt initializers, offsets shifted by base (the
 * offset of a struct fed_reg_cfg in the caller's configuration struct). */
#define FED_REG_CFG_OPTIONS(base) \
	FED_REG_ROWS_(base, person, "population"), \
	FED_REG_ROWS_(base, org, "legal-person")

/*
 * Checks what the option table cannot: each url set is http(s)://host...; auth other
 * than none needs credentials_file, and a credentials_file must be a regular file that
 * group and others cannot access; a ca_file must be readable; a match_value must not
 * also be a mismatch_value. On error *key names the option and msg (msgsz bytes) says
 * what is wrong. Returns 0 or YH_ERR_CONFIG.
 */
int fed_reg_cfg_check(const struct fed_reg_cfg *c, const char **key, char *msg,
    size_t msgsz) YH_WUR;

/* A person to check (strings borrowed). */
struct fed_reg_person {
	const char *name, *id_number;
};

/* An organization to check (strings borrowed; the legal representative's may be NULL). */
struct fed_reg_org {
	const char *uscc, *name, *legal_rep_name, *legal_rep_id_number;
};

/* What a call came to. */
struct fed_reg_result {
	enum fed_reg_outcome outcome;
	int64_t latency_ms;
	long http_status;                  /* 0 when there was no answer */
	char why[160];                     /* unavailable: why, in a few words */
	char detail[FED_REG_DETAIL_MAX + 1]; /* detail_field's value, or "" */
};

/*
 * Maps an answer body (len bytes) to an outcome by c's match_field, match_value,
 * mismatch_value and detail_field; res->detail and res->why are filled. The HTTP
 * status is the caller's business (a non-2xx never reaches here).
 */
enum fed_reg_outcome fed_reg_map(const struct fed_reg_one_cfg *c, const char *body,
    size_t len, struct fed_reg_result *res);

struct fed_reg;

/*
 * Prepares the clients of the configured registries: reads each credentials file
 * (yh_file_read_private: mode 0600) and takes libcurl's global state. metrics (may be
 * NULL) gets the histogram yh_registry_call_seconds{registry,result}. Returns 0,
 * YH_ERR_CONFIG (err: the option and the problem), YH_ERR_ALLOC or YH_ERR_INTERNAL.
 */
int fed_reg_new(const struct fed_reg_cfg *c, struct mx_registry *metrics,
    struct fed_reg **out, char *err, size_t errsz) YH_WUR;

/* Frees r (wiping the credentials); NULL is fine. */
void fed_reg_free(struct fed_reg *r);

/* True when kind's registry is configured (its url is set). */
bool fed_reg_enabled(const struct fed_reg *r, enum fed_reg_kind kind);

/*
 * Asks the population / legal-person registry. Fills *res (the outcome, latency,
 * status, why, detail). Returns 0 (see res->outcome), YH_ERR_NOT_FOUND (that registry
 * is not configured) or YH_ERR_ALLOC; a failed call is an outcome, not an error.
 * Thread-safe.
 */
int fed_reg_check_person(struct fed_reg *r, const struct fed_reg_person *p,
    struct fed_reg_result *res) YH_WUR;
int fed_reg_check_org(struct fed_reg *r, const struct fed_reg_org *o,
    struct fed_reg_result *res) YH_WUR;

/* "match", "mismatch", "unavailable". */
const char *fed_reg_outcome_name(enum fed_reg_outcome o);

/* "person", "org". */
const char *fed_reg_kind_name(enum fed_reg_kind k);

/*
 * The fields of a "registry.check" audit line (a new JSON object, NULL when out of
 * memory): registry, result, latency_ms, http_status, and why / detail when set.
 * Nothing of what was asked: the caller adds who it was about (a uid, a masked ID
 * number, a credit code).
 */
json_t *fed_reg_audit_fields(enum fed_reg_kind kind, const struct fed_reg_result *res);

#endif
