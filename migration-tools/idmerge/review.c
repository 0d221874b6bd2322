/*
 * Import of review.jsonl: each record idmerge would not decide becomes (with the
 * records it conflicts with) a review case in the directory (identity/review.h). A case
 * is found by an id its records give, so importing again opens nothing twice and a
 * case an operator decided stays decided: that is how a rerun respects decisions (a
 * separated record stays apart, a merged one stays linked). A legacy plaintext password
 * is hashed with argon2id here, as for identities, and never stored as it came.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/secmem.h"
#include "identity/identity.h"
#include "identity/review.h"
#include "migration-tools/idmerge/mig.h"

#define REVIEW_LINE_MAX (1u << 20)
#define REVIEW_FILE_LINES_MAX 10000000u

/* Replaces a record's plain legacy password by its argon2id hash. */
static int
hash_plain(struct ident *id, json_t *line)
{
	json_t *cred = json_object_get(json_object_get(line, "record"), "credential");
	const char *scheme = json_string_value(json_object_get(cred, "scheme")),
	    *pw = json_string_value(json_object_get(cred, "hash"));
	char *argon = NULL;
	int e;

	if (scheme == NULL || strcmp(scheme, PW_SCHEME_PLAIN) != 0)
		return 0;
	if (pw == NULL)
		return YH_ERR_INVALID;
	if ((e = pw_hash(&id->pw, pw, strlen(pw), &argon)) != 0)
		return e;
	json_object_set_new(cred, "scheme", json_string(PW_SCHEME_ARGON2ID));
	json_object_set_new(cred, "hash", json_string(argon));
	json_object_set_new(cred, "salt", json_null());
	yh_strfree_secret(argon);
	return 0;
}

/* Reads review.jsonl into cases: case id -> array of its lines. */
static int
read_cases(struct ident *id, FILE *f, const char *path, json_t *cases, char *err,
    size_t errsz)
{
	char cid[DIR_CASE_ID_LEN + 1];
	struct yh_buf line;
	uint64_t no = 0;
	json_t *j, *arr;
	int e;

	yh_buf_init_secret(&line, REVIEW_LINE_MAX);   /* legacy hashes */
	while ((e = mig_read_line(f, &line)) == 0 && ++no <= REVIEW_FILE_LINES_MAX) {
		if (line.len <= 1)
			continue;
		if ((j = json_loadb(line.data, line.len, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
		    review_case_id(j, cid) != 0 || (e = hash_plain(id, j)) != 0) {
			snprintf(err, errsz, "%s:%llu: not a review line of idmerge run", path,
			    (unsigned long long)no);
			json_decref(j);
			e = YH_ERR_INVALID;
			break;
		}
		if ((arr = json_object_get(cases, cid)) == NULL) {
			arr = json_array();
			json_object_set_new(cases, cid, arr);
		}
		json_array_append_new(arr, j);
	}
	yh_buf_free(&line);
	if (e == YH_ERR_NOT_FOUND)
		return 0;
	if (e != 0 && err[0] == '\0')
		snprintf(err, errsz, "%s:%llu: %s", path, (unsigned long long)no + 1,
		    yh_strerror(e));
	return e;
}

/* Opens one case; counts it. */
static void
open_case(struct ident *id, json_t *lines, struct mig_import_stats *st)
{
	char cid[DIR_CASE_ID_LEN + 1] = "", other[DIR_CASE_ID_LEN + 1] = "";
	json_t *first = json_array_get(lines, 0);
	int e = review_open(id->dir, lines, cid, other);

	if (e == 0)
		st->cases_opened++;
	else if (e == YH_ERR_EXISTS)
		st->cases_known++;
	else {
		st->cases_failed++;
		if (e == YH_ERR_CONFLICT)
			yh_warn("review.jsonl: case %s not opened: a record of it is in case %s "
			    "already", cid, other);
		else
			yh_warn("review.jsonl: case of %s/%s not opened: %s",
			    json_string_value(json_object_get(first, "source")),
			    json_string_value(json_object_get(first, "legacy_id")), yh_strerror(e));
	}
}

int
mig_import_reviews(struct ident *id, const char *in_dir, struct mig_import_stats *st,
    char *err, size_t errsz)
{
	char path[4200];
	json_t *cases = json_object(), *lines;
	const char *key;
	FILE *f;
	int e;

	if (cases == NULL)
		return YH_ERR_ALLOC;
	snprintf(path, sizeof(path), "%s/review.jsonl", in_dir);
	if ((f = fopen(path, "r")) == NULL) {
		json_decref(cases);
		if (errno == ENOENT)
			return 0;   /* a run without review lines may have none */
		snprintf(err, errsz, "cannot open %s: %s", path, strerror(errno));
		return YH_ERR_IO;
	}
	e = read_cases(id, f, path, cases, err, errsz);
	fclose(f);
	if (e == 0)
		json_object_foreach(cases, key, lines)
			open_case(id, lines, st);
	json_decref(cases);
	if (e == 0 && st->cases_failed > 0) {
		snprintf(err, errsz, "%llu review cases could not be opened (see the warnings "
		    "above)", (unsigned long long)st->cases_failed);
		e = YH_ERR_CONFLICT;
	}
	return e;
}
