/*
 * Review cases: the records idmerge would not decide (review.jsonl: a record that might
 * be somebody already imported, records that conflict under one number), kept in the
 * directory as cases an operator decides (merge, separate, reject) and may take back.
 * This is the layer every front end uses (authctl review, idmerge import, the operators'
 * console): it turns review.jsonl lines into a case with its evidence, resolves
 * a case into the directory's one-transaction operations (identity/dir/dir.h,
 * dir_case_*), and shows a case with ID numbers and phones masked.
 *
 * A case's body (JSON, sealed in the directory):
 *   {"reason", "group" (or null), "why": why idmerge did not merge,
 *    "records": [{"source", "legacy_id", "reason", "kind", "name", "name_key",
 *                 "id_number" (as read, "" when none), "id_problem", "uscc", "org_code",
 *                 "phone", "email", "username", "status", "last_login",
 *                 "credential": {"scheme", "hash", "salt"} | null}],
 *    "candidates": [{"uid", "name", "id_number", "has_account", "accounts"}],
 *    "evidence": [{"record", "against", "matching_keys", "name", "trad_simp",
 *                  "phone", "birth_date"}]}
 * where "record" and "against" are "source/legacy_id" or a candidate's uid.
 */
#ifndef YH_IDENTITY_REVIEW_H
#define YH_IDENTITY_REVIEW_H

#include <stdbool.h>
#include <jansson.h>
#include "identity/dir/dir.h"

enum review_decision { REVIEW_MERGE, REVIEW_SEPARATE, REVIEW_REJECT };

/* Parses "merge", "separate", "reject". 0 or YH_ERR_INVALID. */
int review_decision_parse(const char *s, enum review_decision *out) YH_WUR;

/*
 * The id of the case a review.jsonl line belongs to: "rc", then the first 8 bytes of
 * SHA-256 as hex digits with an underscore after the fourth ("rc1f2e3d4c_5b6a7980"), over the line's group (the conflicting number's uid, for records that
 * conflict with each other) or else over its source and legacy id. The same records
 * give the same id in every run, so an import never opens a case twice. 0,
 * YH_ERR_INVALID (no source or legacy id), YH_ERR_CRYPTO.
 */
int review_case_id(json_t *line, char out[DIR_CASE_ID_LEN + 1]) YH_WUR;

/*
 * Opens the case made of lines (a JSON array of review.jsonl objects sharing one case
 * id, 1..DIR_CASE_MEMBERS_MAX): builds its body, with the candidates as the directory
 * holds them and the evidence for and against, and stores it (dir_case_add). id
 * receives the case id. Returns dir_case_add's result (YH_ERR_EXISTS: the case is
 * there already, opened or decided; YH_ERR_CONFLICT: a record is in case other), or
 * YH_ERR_INVALID / YH_ERR_TOO_LONG for lines that cannot make a case.
 */
int review_open(struct dir *d, json_t *lines, char id[DIR_CASE_ID_LEN + 1],
    char other[DIR_CASE_ID_LEN + 1]) YH_WUR;

/*
 * Decides case id. merge joins the case's records to one of its candidate persons:
 * keep names it (a uid among the candidates; NULL when there is exactly one), and the
 * records' legacy accounts and passwords are linked to it in one transaction. An
 * organizations' case (uscc_conflict, org_code_mismatch) merges into one organization
 * (dir_case_merge_org): the one stored under the code of the record keep names
 * ("source/legacy_id"; NULL when the case has one record), else one made from that
 * record under the uid idmerge gives the code, that record's password its own. A
 * name_conflict case (persons' records under one number, no candidates) merges into one
 * new person (dir_case_merge_new) under the uid idmerge gives the number, keep naming
 * the record ("source/legacy_id") whose name, phone and password the person gets; into
 * the person already under that number, if there is one. uid (may be NULL) receives
 * the person. separate and reject take no keep. Returns 0, or an error with
 * one line in err: YH_ERR_NOT_FOUND (no such case or person), YH_ERR_EXISTS (decided
 * already), YH_ERR_INVALID (a keep that is not a candidate, a keep where none is
 * taken, no keep where several candidates are, an empty by or note),
 * YH_ERR_UNSUPPORTED (a merge of a persons' case without candidates that is not a
 * name_conflict), YH_ERR_CONFLICT (an account is linked already, the
 * person to make collides with another).
 */
int review_resolve(struct dir *d, const char *id, enum review_decision dec,
    const char *keep, const char *by, const char *note, char uid[DIR_UID_LEN + 1],
    char *err, size_t errsz) YH_WUR;

/*
 * The case as an operator sees it: {"case", "reason", "state", "created", "decided_by",
 * "note", "decided_at", "merged_uid", "undoable", "why", "records", "candidates",
 * "evidence"}; with brief, only "case", "reason", "state" and "records" (source,
 * legacy_id, name). ID numbers and phones are masked unless unmask; legacy password
 * hashes never appear (a record says "legacy_password": true and its scheme). NULL
 * when out of memory or the body does not parse.
 */
json_t *review_case_json(const struct dir_case *c, bool brief, bool unmask);

/*
 * The fields of a decision's audit event (review.resolve, review.undo), the same from
 * authctl and from the console: {"case", "decision", "merged_uid" (only when merged_uid
 * is set and not empty), "by", "note" ("" when NULL)}. NULL when out of memory.
 */
json_t *review_audit_fields(const char *case_id, const char *decision,
    const char *merged_uid, const char *by, const char *note);

#endif
