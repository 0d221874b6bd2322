/*
 * Review cases over the directory (identity/review.h): a case from review.jsonl lines
 * with its evidence, the decisions, and the operator's view of a case.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/utf8.h"
#include "identity/idn/idnum.h"
#include "identity/match/matchkey.h"
#include "identity/review.h"

#define REVIEW_KEY_MAX 1024   /* bytes of a name key */

int
review_decision_parse(const char *s, enum review_decision *out)
{
	static const char *const names[] = { "merge", "separate", "reject" };

	for (unsigned i = 0; s != NULL && i < 3; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum review_decision)i;
			return 0;
		}
	return YH_ERR_INVALID;
}

/* A string member ("" when absent or not a string). */
static const char *
jget(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "";
}

int
review_case_id(json_t *line, char out[DIR_CASE_ID_LEN + 1])
{
	const char *group = jget(line, "group"), *src = jget(line, "source"),
	    *lid = jget(line, "legacy_id");
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char buf[2 * DIR_LEGACY_FIELD_MAX + 8];
	int n;

	if (group[0] != '\0')
		n = snprintf(buf, sizeof(buf), "g%c%s", 0, group);
	else if (src[0] != '\0' && lid[0] != '\0')
		n = snprintf(buf, sizeof(buf), "r%c%s%c%s", 0, src, 0, lid);
	else
		return YH_ERR_INVALID;
	if (n < 0 || (size_t)n >= sizeof(buf))
		return YH_ERR_TOO_LONG;
	if (EVP_Digest(buf, (size_t)n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < 8)
		return YH_ERR_CRYPTO;
	out[0] = 'r';
	out[1] = 'c';
	yh_hex_encode(md, 4, out + 2);
	out[10] = '_';
	yh_hex_encode(md + 4, 4, out + 11);
	return 0;
}

/* Why idmerge did not merge, in a sentence, per reason code. */
static const char *
review_why(const char *reason)
{
	static const char *const why[][2] = {
		{ "name_conflict", "one ID number carries names that differ beyond "
		    "normalization" },
		{ "ambiguous_match", "the name and phone point to several persons" },
		{ "id_contradiction", "the name and phone point to one person whose ID number "
		    "the record's contradicts" },
		{ "candidate_in_conflict", "the name and phone point to an ID number whose "
		    "records conflict" },
		{ "uscc_conflict", "two valid credit codes share one organization code" },
		{ "org_code_mismatch", "the credit code and the organization code name "
		    "different organizations" },
	};

	for (size_t i = 0; i < sizeof(why) / sizeof(why[0]); i++)
		if (strcmp(reason, why[i][0]) == 0)
			return why[i][1];
	return "idmerge could not decide";
}

/* The birth date yyyymmdd an ID-number-like value carries, or "" (15 digits: 19yymmdd). */
static void
birth_of(const char *id, char out[9])
{
	size_t n = strlen(id);

	out[0] = '\0';
	for (size_t i = 6; i < n && i < 14; i++)
		if (id[i] < '0' || id[i] > '9')
			return;
	if (n == 18)
		snprintf(out, 9, "%.8s", id + 6);
	else if (n == 15)
		snprintf(out, 9, "19%.6s", id + 6);
}

/* True when name holds a traditional character that folding maps to a simplified one. */
static bool
has_trad(const char *name)
{
	size_t n = strlen(name), i = 0, k;
	uint32_t cp;

	while (i < n && (k = yh_utf8_next(name + i, n - i, &cp)) > 0) {
		if (mk_trad_to_simp(cp) != cp)
			return true;
		i += k;
	}
	return false;
}

/* "same", "different" or "unknown" (either empty). */
static const char *
agree(const char *a, const char *b)
{
	if (a[0] == '\0' || b[0] == '\0')
		return "unknown";
	return strcmp(a, b) == 0 ? "same" : "different";
}

/* One comparison: record x (a "source/legacy_id") against `against` (a uid or another
 * record), given both sides' name, phone key and ID number. */
static json_t *
evidence_one(const char *x, const char *against, const char *const a[3],
    const char *const b[3])
{
	char ka[REVIEW_KEY_MAX], kb[REVIEW_KEY_MAX], ba[9], bb[9];
	const char *name = "unknown";
	bool folded = false;
	json_t *o, *keys;

	if (a[0][0] != '\0' && b[0][0] != '\0') {
		folded = mk_name_key(a[0], strlen(a[0]), ka, sizeof(ka)) == 0 &&
		    mk_name_key(b[0], strlen(b[0]), kb, sizeof(kb)) == 0 && strcmp(ka, kb) == 0;
		name = strcmp(a[0], b[0]) == 0 ? "same" : folded ? "folded" : "different";
	}
	birth_of(a[2], ba);
	birth_of(b[2], bb);
	keys = json_array();
	if (folded)
		json_array_append_new(keys, json_string("name"));
	if (strcmp(agree(a[1], b[1]), "same") == 0)
		json_array_append_new(keys, json_string("phone"));
	if (strcmp(agree(a[2], b[2]), "same") == 0)
		json_array_append_new(keys, json_string("id_number"));
	o = json_pack("{s:s, s:s, s:o, s:s, s:b, s:s, s:s}", "record", x, "against", against,
	    "matching_keys", keys, "name", name,
	    "trad_simp", folded && strcmp(name, "folded") == 0 && (has_trad(a[0]) ||
	    has_trad(b[0])), "phone", agree(a[1], b[1]), "birth_date", agree(ba, bb));
	yh_wipe(ka, sizeof(ka));
	yh_wipe(kb, sizeof(kb));
	return o;
}

/* "source/legacy_id" of a record. */
static void
rec_name(json_t *r, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s/%s", jget(r, "source"), jget(r, "legacy_id"));
}

/* The record of a review.jsonl line, with its source, legacy id and reason. */
static json_t *
line_record(json_t *line)
{
	json_t *r = json_deep_copy(json_object_get(line, "record"));

	if (!json_is_object(r)) {
		json_decref(r);
		r = json_object();
	}
	json_object_set(r, "source", json_object_get(line, "source"));
	json_object_set(r, "legacy_id", json_object_get(line, "legacy_id"));
	json_object_set(r, "reason", json_object_get(line, "reason"));
	return r;
}

/* A candidate person as the directory holds them (the uid alone when it names nobody). */
static json_t *
candidate_json(struct dir *d, const char *uid)
{
	struct dir_person p;
	struct dir_legacy *l = NULL;
	struct dir_cred c;
	json_t *o, *acc;
	char nm[2 * DIR_LEGACY_FIELD_MAX + 2];
	size_t n = 0;
	bool cred;

	if (dir_person_get(d, uid, &p) != 0)
		return json_pack("{s:s, s:b}", "uid", uid, "missing", true);
	memset(&c, 0, sizeof(c));
	cred = dir_cred_get(d, uid, &c) == 0;
	dir_cred_clear(&c);
	acc = json_array();
	if (dir_legacy_list(d, uid, &l, &n) == 0)
		for (size_t i = 0; i < n; i++) {
			snprintf(nm, sizeof(nm), "%s/%s", l[i].source, l[i].legacy_id);
			json_array_append_new(acc, json_string(nm));
		}
	dir_legacy_list_free(l, n);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:b, s:o}", "uid", uid, "name", p.name,
	    "id_number", p.id_number, "phone", p.phone != NULL ? p.phone : "",
	    "origin", p.origin, "has_account", cred || (p.origin != NULL &&
	    strcmp(p.origin, DIR_ORIGIN_SELF) == 0), "accounts", acc);
	dir_person_clear(&p);
	return o;
}

/* The evidence of every record against every candidate, or (no candidates) of every
 * record against the first. */
static int
add_evidence(json_t *body)
{
	json_t *recs = json_object_get(body, "records"), *cands = json_object_get(body,
	    "candidates"), *ev = json_object_get(body, "evidence"), *r, *c;
	char x[2 * DIR_LEGACY_FIELD_MAX + 2], y[sizeof(x)];
	size_t i, k;

	json_array_foreach(recs, i, r) {
		const char *a[3] = { jget(r, "name"), jget(r, "phone"), jget(r, "id_number") };

		rec_name(r, x, sizeof(x));
		json_array_foreach(cands, k, c) {
			const char *b[3] = { jget(c, "name"), jget(c, "phone"),
			    jget(c, "id_number") };

			if (json_object_get(c, "missing") == NULL &&
			    json_array_append_new(ev, evidence_one(x, jget(c, "uid"), a, b)) != 0)
				return YH_ERR_ALLOC;
		}
		if (json_array_size(cands) == 0 && i > 0) {
			json_t *f = json_array_get(recs, 0);
			const char *b[3] = { jget(f, "name"), jget(f, "phone"), jget(f, "id_number") };

			rec_name(f, y, sizeof(y));
			if (json_array_append_new(ev, evidence_one(x, y, a, b)) != 0)
				return YH_ERR_ALLOC;
		}
	}
	return 0;
}

/* Adds the uids of a line's candidates to uids (once each). */
static void
union_candidates(json_t *uids, json_t *line)
{
	json_t *u, *v;
	size_t i, k;

	json_array_foreach(json_object_get(line, "candidates"), i, u) {
		bool dup = !json_is_string(u) || !dir_uid_valid(json_string_value(u));

		json_array_foreach(uids, k, v)
			dup = dup || json_equal(u, v);
		if (!dup)
			json_array_append(uids, u);
	}
}

/* Builds the body of the case of lines. */
static int
build_body(struct dir *d, json_t *lines, json_t **out)
{
	json_t *body, *recs, *cands, *uids = json_array(), *line, *u;
	const char *reason = jget(json_array_get(lines, 0), "reason");
	size_t i;
	int e;

	json_array_foreach(lines, i, line)
		if (strcmp(jget(line, "reason"), "name_conflict") == 0)
			reason = "name_conflict";
	body = json_pack("{s:s, s:s?, s:s, s:[], s:[], s:[]}", "reason", reason, "group",
	    jget(json_array_get(lines, 0), "group")[0] ? jget(json_array_get(lines, 0),
	    "group") : NULL, "why", review_why(reason), "records", "candidates", "evidence");
	if (body == NULL || uids == NULL) {
		json_decref(uids);
		json_decref(body);
		return YH_ERR_ALLOC;
	}
	recs = json_object_get(body, "records");
	cands = json_object_get(body, "candidates");
	json_array_foreach(lines, i, line) {
		json_array_append_new(recs, line_record(line));
		union_candidates(uids, line);
	}
	json_array_foreach(uids, i, u)
		json_array_append_new(cands, candidate_json(d, json_string_value(u)));
	json_decref(uids);
	if ((e = add_evidence(body)) != 0) {
		json_decref(body);
		return e;
	}
	*out = body;
	return 0;
}

/* Checks the lines of one case: 1..DIR_CASE_MEMBERS_MAX objects with a source, a
 * legacy id and a reason, all of case id. */
static int
check_lines(json_t *lines, const char *id)
{
	char other[DIR_CASE_ID_LEN + 1];
	json_t *line;
	size_t i;

	if (!json_is_array(lines) || json_array_size(lines) == 0 ||
	    json_array_size(lines) > DIR_CASE_MEMBERS_MAX)
		return YH_ERR_INVALID;
	json_array_foreach(lines, i, line) {
		if (jget(line, "source")[0] == '\0' || jget(line, "legacy_id")[0] == '\0' ||
		    jget(line, "reason")[0] == '\0' || review_case_id(line, other) != 0 ||
		    strcmp(other, id) != 0)
			return YH_ERR_INVALID;
	}
	return 0;
}

int
review_open(struct dir *d, json_t *lines, char id[DIR_CASE_ID_LEN + 1],
    char other[DIR_CASE_ID_LEN + 1])
{
	struct dir_case_member m[DIR_CASE_MEMBERS_MAX];
	struct dir_case c;
	json_t *body = NULL, *line;
	char *text = NULL;
	size_t i;
	int e;

	if ((e = review_case_id(json_array_get(lines, 0), id)) != 0 ||
	    (e = check_lines(lines, id)) != 0 || (e = build_body(d, lines, &body)) != 0)
		return e;
	json_array_foreach(lines, i, line) {
		m[i].source = jget(line, "source");
		m[i].legacy_id = jget(line, "legacy_id");
	}
	memset(&c, 0, sizeof(c));
	memcpy(c.id, id, sizeof(c.id));
	c.reason = (char *)jget(body, "reason");
	if ((text = json_dumps(body, JSON_COMPACT)) == NULL)
		e = YH_ERR_ALLOC;
	else if (strlen(text) > DIR_CASE_BODY_MAX)
		e = YH_ERR_TOO_LONG;
	else {
		c.body = text;
		e = dir_case_add(d, &c, m, json_array_size(lines), other);
	}
	yh_strfree_secret(text);
	json_decref(body);
	return e;
}

/* The merge's target: keep, which must be a candidate, or the only candidate. */
static int
merge_target(json_t *body, const char *keep, char uid[DIR_UID_LEN + 1], char *err,
    size_t errsz)
{
	json_t *cands = json_object_get(body, "candidates"), *c;
	size_t i, n = json_array_size(cands);

	if (n == 0) {
		snprintf(err, errsz, "a %s case has no person to join its records to: merge "
		    "is for cases with candidates, and for persons' records that conflict under "
		    "one number (separate or reject it)", jget(body, "reason"));
		return YH_ERR_UNSUPPORTED;
	}
	if (keep == NULL && n > 1) {
		snprintf(err, errsz, "the case has %zu candidates: name the one to keep with "
		    "--keep UID", n);
		return YH_ERR_INVALID;
	}
	json_array_foreach(cands, i, c)
		if (keep == NULL || strcmp(jget(c, "uid"), keep) == 0)
			return yh_strlcpy(uid, jget(c, "uid"), DIR_UID_LEN + 1);
	snprintf(err, errsz, "--keep %s is not a candidate of this case", keep);
	return YH_ERR_INVALID;
}

/* The accounts a merge links: every record of the case, with its legacy password. */
static int
merge_links(json_t *body, struct dir_case_link *l, size_t *n)
{
	json_t *recs = json_object_get(body, "records"), *r, *cred;
	size_t i;

	if (json_array_size(recs) == 0 || json_array_size(recs) > DIR_CASE_MEMBERS_MAX)
		return YH_ERR_INVALID;
	json_array_foreach(recs, i, r) {
		memset(&l[i], 0, sizeof(l[i]));
		l[i].source = jget(r, "source");
		l[i].legacy_id = jget(r, "legacy_id");
		l[i].username = jget(r, "username");
		if (jget(r, "status")[0] != '\0' && dir_status_parse(jget(r, "status"),
		    &l[i].status) != 0)
			l[i].status = DIR_STATUS_DISABLED;   /* as idmerge reads an unknown one */
		cred = json_object_get(r, "credential");
		if (json_is_object(cred)) {
			l[i].scheme = jget(cred, "scheme");
			l[i].hash = jget(cred, "hash");
			l[i].salt = jget(cred, "salt");
		}
	}
	*n = json_array_size(recs);
	return 0;
}

/* The record "source/legacy_id" of the case that keep names, or NULL. */
static json_t *
kept_record(json_t *body, const char *keep)
{
	char nm[2 * DIR_LEGACY_FIELD_MAX + 2];
	json_t *r;
	size_t i;

	json_array_foreach(json_object_get(body, "records"), i, r) {
		rec_name(r, nm, sizeof(nm));
		if (keep != NULL && strcmp(nm, keep) == 0)
			return r;
	}
	return NULL;
}

/*
 * A merge of persons' records that conflict under one number (no candidates: nothing
 * under that number was imported): they are one person after all. keep names the record
 * ("source/legacy_id", one with a valid number) whose name, phone, e-mail and status the
 * person gets, and whose password becomes theirs; the others' stay legacy passwords. The
 * person gets the uid idmerge gives the number (the case's group), as a later import of
 * corrected data would; a person already under that number (registered meanwhile) gets
 * the records instead.
 */
static int
merge_conflict(struct dir *d, const char *id, json_t *body, const char *keep,
    struct dir_case_link *l, size_t n, const char *by, const char *note,
    char uid[DIR_UID_LEN + 1], char *err, size_t errsz)
{
	json_t *k = kept_record(body, keep);
	struct dir_person p, cur;
	int e;

	if (strcmp(jget(body, "reason"), "name_conflict") != 0 ||
	    !dir_uid_valid(jget(body, "group")))
		return merge_target(body, NULL, uid, err, errsz);   /* says why not */
	if (k == NULL || jget(k, "id_problem")[0] != '\0' || jget(k, "name")[0] == '\0') {
		snprintf(err, errsz, "--keep must name the record whose name the person keeps "
		    "(source/legacy_id, one with a valid ID number, as review show lists them)");
		return YH_ERR_INVALID;
	}
	if (dir_person_find_id_number(d, jget(k, "id_number"), &cur) == 0) {
		memcpy(uid, cur.uid, DIR_UID_LEN + 1);
		dir_person_clear(&cur);
		return dir_case_merge(d, id, uid, l, n, by, note);
	}
	memset(&p, 0, sizeof(p));
	memcpy(p.uid, jget(body, "group"), DIR_UID_LEN + 1);
	p.id_number = (char *)jget(k, "id_number");
	p.name = (char *)jget(k, "name");
	p.phone = jget(k, "phone")[0] ? (char *)jget(k, "phone") : NULL;
	p.phone_verified = true;   /* a department's record, as idmerge import takes it */
	p.email = jget(k, "email")[0] ? (char *)jget(k, "email") : NULL;
	if (dir_status_parse(jget(k, "status"), &p.status) != 0)
		p.status = DIR_STATUS_ACTIVE;
	p.loa.level = 1;
	p.loa.method = (char *)"import";
	p.origin = (char *)DIR_ORIGIN_IMPORT;
	for (size_t i = 0; i < n; i++)
		l[i].primary = json_array_get(json_object_get(body, "records"), i) == k;
	if ((e = dir_case_merge_new(d, id, &p, l, n, by, note)) == 0)
		memcpy(uid, p.uid, DIR_UID_LEN + 1);
	return e;
}

/* True for an organizations' case (idmerge's uscc_conflict, org_code_mismatch). */
static bool
org_case(json_t *body)
{
	json_t *r = json_array_get(json_object_get(body, "records"), 0);

	return strcmp(jget(r, "kind"), "org") == 0 ||
	    strcmp(jget(body, "reason"), "uscc_conflict") == 0 ||
	    strcmp(jget(body, "reason"), "org_code_mismatch") == 0;
}

/*
 * A merge of organizations' records: they are one organization after all. keep names
 * the record ("source/legacy_id"; may be left out when the case has one) whose credit
 * code (else organization code) and name the organization has, and whose password
 * becomes its own; every record's legacy account joins it. The organization already
 * stored under that code gets the records; otherwise it is made, active, under the uid
 * idmerge gives the code (the case's group) when there is one, as a later import of
 * corrected data would.
 */
static int
merge_org(struct dir *d, const char *id, json_t *body, const char *keep,
    struct dir_case_link *l, size_t n, const char *by, const char *note,
    char uid[DIR_UID_LEN + 1], char *err, size_t errsz)
{
	json_t *recs = json_object_get(body, "records"), *k;
	struct dir_org o, cur;
	const char *uscc, *code;
	int e;

	k = keep != NULL ? kept_record(body, keep) : json_array_size(recs) == 1 ?
	    json_array_get(recs, 0) : NULL;
	uscc = jget(k, "uscc");
	code = jget(k, "org_code");
	if (k == NULL || jget(k, "name")[0] == '\0' || (uscc[0] == '\0' && code[0] == '\0')) {
		snprintf(err, errsz, "--keep must name the record whose credit code and name "
		    "the organization keeps (source/legacy_id, one with a name and a code, as "
		    "review show lists them)");
		return YH_ERR_INVALID;
	}
	if ((uscc[0] != '\0' ? dir_org_find_uscc(d, uscc, &cur) :
	    dir_org_find_org_code(d, code, &cur)) == 0) {
		memcpy(uid, cur.uid, DIR_UID_LEN + 1);
		dir_org_clear(&cur);
		if ((e = dir_case_merge_org(d, id, NULL, uid, l, n, by, note, NULL)) ==
		    YH_ERR_DENIED)
			snprintf(err, errsz, "case %s: the organization under the code kept is "
			    "deregistered or revoked", id);
		return e;
	}
	memset(&o, 0, sizeof(o));
	if (dir_uid_valid(jget(body, "group")))
		memcpy(o.uid, jget(body, "group"), DIR_UID_LEN + 1);
	o.uscc = uscc[0] != '\0' ? (char *)uscc : NULL;
	o.org_code = uscc[0] != '\0' ? NULL : (char *)code;   /* a mismatch keeps the credit code's */
	o.name = (char *)jget(k, "name");
	o.status = DIR_STATUS_ACTIVE;
	for (size_t i = 0; i < n; i++)
		l[i].primary = json_array_get(recs, i) == k;
	if ((e = dir_case_merge_org(d, id, &o, NULL, l, n, by, note, uid)) == YH_ERR_CONFLICT)
		snprintf(err, errsz, "case %s: the organization code of %s, or one of the "
		    "records' legacy accounts, belongs to an organization already", id,
		    uscc[0] != '\0' ? "the credit code kept" : "the record kept");
	return e;
}

/* One line naming what a decision's error means. */
static void
resolve_err(int e, const char *id, char *err, size_t errsz)
{
	switch (e) {
	case YH_ERR_NOT_FOUND:
		snprintf(err, errsz, "no review case %s (or the person to keep is gone)", id);
		break;
	case YH_ERR_EXISTS:
		snprintf(err, errsz, "case %s is resolved already (authctl review undo %s "
		    "first)", id, id);
		break;
	case YH_ERR_CONFLICT:
		snprintf(err, errsz, "case %s: one of its legacy accounts (or the username or "
		    "ID number of the person to make) belongs to a person already", id);
		break;
	case YH_ERR_DENIED:
		snprintf(err, errsz, "case %s: the person to keep is deregistered", id);
		break;
	default:
		snprintf(err, errsz, "case %s: %s", id, yh_strerror(e));
	}
}

int
review_resolve(struct dir *d, const char *id, enum review_decision dec,
    const char *keep, const char *by, const char *note, char uid[DIR_UID_LEN + 1],
    char *err, size_t errsz)
{
	struct dir_case_link l[DIR_CASE_MEMBERS_MAX];
	struct dir_case c;
	char target[DIR_UID_LEN + 1] = "";
	json_t *body = NULL;
	size_t n = 0;
	int e;

	err[0] = '\0';
	if ((e = dir_case_get(d, id, &c)) != 0)
		goto out;
	if ((body = json_loads(c.body, 0, NULL)) == NULL) {
		e = YH_ERR_DB;
		goto out;
	}
	if (dec != REVIEW_MERGE && keep != NULL) {
		snprintf(err, errsz, "--keep is for --decision merge");
		e = YH_ERR_INVALID;
	} else if (dec == REVIEW_MERGE && org_case(body)) {
		if ((e = merge_links(body, l, &n)) == 0)
			e = merge_org(d, id, body, keep, l, n, by, note, target, err, errsz);
	} else if (dec == REVIEW_MERGE && json_array_size(json_object_get(body,
	    "candidates")) == 0) {
		if ((e = merge_links(body, l, &n)) == 0)
			e = merge_conflict(d, id, body, keep, l, n, by, note, target, err, errsz);
	} else if (dec == REVIEW_MERGE) {
		if ((e = merge_target(body, keep, target, err, errsz)) == 0 &&
		    (e = merge_links(body, l, &n)) == 0)
			e = dir_case_merge(d, id, target, l, n, by, note);
	} else
		e = dir_case_decide(d, id, dec == REVIEW_SEPARATE ? DIR_CASE_SEPARATE :
		    DIR_CASE_REJECTED, by, note);
	if (e == 0 && uid != NULL)
		memcpy(uid, target, DIR_UID_LEN + 1);
out:
	if (e == YH_ERR_INVALID && err[0] == '\0')
		snprintf(err, errsz, "case %s: --by and --note must be 1..%d and 1..%d bytes "
		    "of text", id, DIR_ACTOR_MAX, DIR_NOTE_MAX);
	else if (e != 0 && err[0] == '\0')
		resolve_err(e, id, err, errsz);
	json_decref(body);
	dir_case_clear(&c);
	return e;
}

/* Masks o[k] (an ID number or a phone) in place unless unmask. */
static void
mask_member(json_t *o, const char *k, bool phone, bool unmask)
{
	const char *v = jget(o, k);
	char m[64];

	if (unmask || v[0] == '\0' || strlen(v) >= sizeof(m))
		return;
	if (phone)
		mk_phone_mask(v, m, sizeof(m));
	else
		idn_mask(v, m, sizeof(m));
	json_object_set_new(o, k, json_string(m));
}

/* A record as shown: masked, its legacy password reduced to whether there is one. */
static json_t *
shown_record(json_t *r, bool brief, bool unmask)
{
	json_t *o, *cred = json_object_get(r, "credential");

	if (brief)
		return json_pack("{s:s, s:s, s:s}", "source", jget(r, "source"), "legacy_id",
		    jget(r, "legacy_id"), "name", jget(r, "name"));
	o = json_deep_copy(r);
	json_object_del(o, "credential");
	json_object_del(o, "name_key");
	json_object_set_new(o, "legacy_password", json_boolean(json_is_object(cred)));
	json_object_set_new(o, "legacy_scheme", json_is_object(cred) ?
	    json_string(jget(cred, "scheme")) : json_null());
	mask_member(o, "id_number", false, unmask);
	mask_member(o, "uscc", false, unmask);
	mask_member(o, "phone", true, unmask);
	return o;
}

json_t *
review_case_json(const struct dir_case *c, bool brief, bool unmask)
{
	json_t *body = json_loads(c->body, 0, NULL), *o, *recs = json_array(), *r;
	size_t i;

	if (body == NULL || recs == NULL) {
		json_decref(body);
		json_decref(recs);
		return NULL;
	}
	json_array_foreach(json_object_get(body, "records"), i, r)
		json_array_append_new(recs, shown_record(r, brief, unmask));
	o = json_pack("{s:s, s:s, s:s, s:o}", "case", c->id, "reason", c->reason, "state",
	    dir_case_state_str(c->state), "records", recs);
	if (o != NULL && !brief) {
		json_t *cands = json_deep_copy(json_object_get(body, "candidates"));

		json_array_foreach(cands, i, r) {
			mask_member(r, "id_number", false, unmask);
			mask_member(r, "phone", true, unmask);
		}
		json_object_set_new(o, "why", json_string(jget(body, "why")));
		json_object_set_new(o, "candidates", cands);
		json_object_set(o, "evidence", json_object_get(body, "evidence"));
		json_object_set_new(o, "created", json_integer(c->created));
		json_object_set_new(o, "decided_by", c->decided_by ? json_string(c->decided_by) :
		    json_null());
		json_object_set_new(o, "note", c->note ? json_string(c->note) : json_null());
		json_object_set_new(o, "decided_at", json_integer(c->decided_at));
		json_object_set_new(o, "merged_uid", c->merged_uid[0] ?
		    json_string(c->merged_uid) : json_null());
		json_object_set_new(o, "undoable", json_boolean(c->state != DIR_CASE_OPEN &&
		    (c->state != DIR_CASE_MERGED || c->used == 0)));
	}
	json_decref(body);
	return o;
}

json_t *
review_audit_fields(const char *case_id, const char *decision, const char *merged_uid,
    const char *by, const char *note)
{
	return json_pack("{s:s, s:s?, s:s?, s:s, s:s}", "case", case_id, "decision", decision,
	    "merged_uid", merged_uid != NULL && merged_uid[0] != '\0' ? merged_uid : NULL,
	    "by", by, "note", note != NULL ? note : "");
}
