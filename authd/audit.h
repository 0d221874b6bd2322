/*
 * The audit trail: an append-only file of JSON lines, one per security event. Each line
 * carries a sequence number and the SHA-256 of the previous line ("prev"), so editing,
 * removing or reordering any line breaks the chain that yh_audit_verify checks. Every
 * line is written and fsync'd before yh_audit_write returns, under an exclusive flock,
 * so several processes (authd nodes on one host, authctl) can share one file. String
 * values pass through the log redactor (yh_redact_default): ID numbers and phone numbers
 * are masked in whatever spelling, even if a caller forgot.
 */
#ifndef YH_AUTHD_AUDIT_H
#define YH_AUTHD_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "common/err.h"

#define AUDIT_LINE_MAX (16 * 1024)

struct yh_audit;

/* Opens (creating 0600 if missing) the audit file at path. Returns 0, YH_ERR_IO or
 * YH_ERR_PERM with a message in err. */
int yh_audit_open(const char *path, struct yh_audit **out, char *err, size_t errsz) YH_WUR;

/* Closes the file. NULL is fine. */
void yh_audit_close(struct yh_audit *a);

/*
 * Appends one event: {"seq","ts","event","actor",<fields...>,"prev"}. event is a dotted
 * name ("login.failure", "user.lock"); actor who did it ("operator:root", "user:<uid>",
 * "client:<id>"); fields (borrowed, may be NULL) must be an object whose keys do not clash
 * with the fixed ones. Returns 0 once the line is on disk (fsync), YH_ERR_NOSPACE when
 * the disk or the quota is full, YH_ERR_IO on another failure: callers must then fail
 * the action they were recording (and so record an action only once it is durable,
 * never before). Thread-safe.
 */
int yh_audit_write(struct yh_audit *a, const char *event, const char *actor,
    json_t *fields) YH_WUR;

/* Whether the audit file's file system can take more lines (for /readyz): 0,
 * YH_ERR_NOSPACE or YH_ERR_PERM with a short public reason in why (yh_file_room). */
int yh_audit_room(struct yh_audit *a, char *why, size_t whysz) YH_WUR;

/* The result of verifying a file. */
struct yh_audit_report {
	uint64_t lines;          /* lines read */
	uint64_t bad_line;       /* first line that breaks the chain (1-based), 0 when intact */
	char reason[160];        /* why it broke */
	char head[65];           /* hash of the last good line (hex) */
};

/*
 * Checks the whole chain of the file at path. Returns 0 when intact, YH_ERR_AUTH when a
 * line was edited, removed, inserted or reordered (report says which and why), YH_ERR_IO
 * when the file cannot be read. When expect_head is not NULL, the last line's hash must
 * equal it (detects a truncated tail).
 */
int yh_audit_verify(const char *path, const char *expect_head, struct yh_audit_report *rep)
    YH_WUR;

#endif
