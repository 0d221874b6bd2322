/*
 * Import: identities.jsonl from `idmerge run` into the directory (which seals ID
 * numbers and phones as always). Idempotent: an identity is found by its uid (or, for
 * one that registered on its own before, by its ID number / organization code) and
 * only changed fields are written; a legacy link is added once; a credential is only
 * set when the owner has none, so a password already upgraded to argon2id is never
 * replaced by the legacy hash. A legacy account linked to somebody else is never moved:
 * it is counted as failed and logged. A uid that the run's uid key does not give (a file
 * made with another key, or with the public key of earlier versions, whose uids can be
 * reversed to ID numbers) never enters the directory.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/secmem.h"
#include "identity/identity.h"
#include "migration-tools/idmerge/mig.h"

/* Who the organization history names for the changes an import makes. */
#define IMPORT_ACTOR "idmerge"

#define IMPORT_LINE_MAX (16u << 20)
#define IMPORT_BATCH 5000

/* A string member, or NULL when absent, null or empty. */
static const char *
jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL && s[0] != '\0' ? s : NULL;
}

static bool
same(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

struct import_ctx {
	struct ident *id;
	struct mig_uid_key *uid_key;
	struct mig_uid_key *legacy;   /* to notice uids made with the public key */
	struct mig_import_stats *st;
	uint64_t line;
};

/* Counts an identity the directory holds under the public-key uid of its key: one
 * imported by an earlier idmerge, for `idmerge rekey`. */
static void
note_legacy(struct import_ctx *c, const char *dir_uid, char kind, const char *canon)
{
	char old[DIR_UID_LEN + 1];

	if (mig_uid(c->legacy, kind, canon, old, sizeof(old)) == 0 && strcmp(old, dir_uid) == 0)
		c->st->legacy_uids++;
}

/* True when uid is the one the run's key gives kind ('p', 'o') and canonical key. */
static bool
uid_is_keyed(struct import_ctx *c, const char *uid, char kind, const char *canon)
{
	char want[DIR_UID_LEN + 1];

	if (canon == NULL || mig_uid(c->uid_key, kind, canon, want, sizeof(want)) != 0 ||
	    strcmp(want, uid) != 0) {
		yh_warn("identities.jsonl:%llu: uid %s is not the one the uid key gives: not "
		    "imported (a file made with another key or an older idmerge?)",
		    (unsigned long long)c->line, uid);
		return false;
	}
	return true;
}

/* Adds or updates a person; owner gets the directory uid to link accounts to. */
static int
import_person(struct import_ctx *c, json_t *j, const char *uid, char owner[DIR_UID_LEN + 1])
{
	struct dir_person cur, in;
	enum dir_status st = DIR_STATUS_ACTIVE;
	const char *idn = jstr(j, "id_number"), *name = jstr(j, "name");
	bool changed = false;
	int e;

	memset(&cur, 0, sizeof(cur));
	memset(&in, 0, sizeof(in));
	if (idn == NULL || name == NULL) {
		yh_warn("identities.jsonl:%llu: person without ID number or name: skipped",
		    (unsigned long long)c->line);
		return YH_ERR_INVALID;
	}
	if (jstr(j, "status") != NULL && dir_status_parse(jstr(j, "status"), &st) != 0)
		return YH_ERR_INVALID;
	if ((e = yh_strlcpy(in.uid, uid, sizeof(in.uid))) != 0)
		return e;
	in.id_number = (char *)idn;
	in.name = (char *)name;
	in.phone = (char *)jstr(j, "phone");
	/* A department's record: the operator running the import answers for the phone. */
	in.phone_verified = true;
	in.email = (char *)jstr(j, "email");
	in.status = st;
	in.loa.level = 1;
	in.loa.method = (char *)"import";
	in.origin = (char *)DIR_ORIGIN_IMPORT;
	e = dir_person_get(c->id->dir, uid, &cur);
	if (e == YH_ERR_NOT_FOUND) {
		/* Registered on their own before the import: link to that person as is. */
		e = dir_person_find_id_number(c->id->dir, idn, &cur);
		if (e == 0) {
			memcpy(owner, cur.uid, DIR_UID_LEN + 1);
			note_legacy(c, cur.uid, 'p', cur.id_number);
			c->st->unchanged++;
			goto out;
		}
		if (e != YH_ERR_NOT_FOUND)
			goto out;
		if ((e = dir_person_add(c->id->dir, &in, owner)) == 0)
			c->st->persons_added++;
		goto out;
	}
	if (e != 0)
		goto out;
	memcpy(owner, cur.uid, DIR_UID_LEN + 1);
	if (!same(cur.name, in.name) || !same(cur.phone, in.phone) || !same(cur.email, in.email)) {
		in.username = cur.username;
		if ((e = dir_person_update(c->id->dir, &in)) != 0)
			goto out;
		changed = true;
	}
	if (cur.status != st) {
		if ((e = dir_person_set_status(c->id->dir, uid, st)) != 0)
			goto out;
		changed = true;
	}
	if (changed)
		c->st->persons_updated++;
	else
		c->st->unchanged++;
out:
	dir_person_clear(&cur);
	return e;
}

/* The directory uid of the legal representative, or "" when not in the directory. */
static void
legal_rep(struct import_ctx *c, const char *uid, char out[DIR_UID_LEN + 1])
{
	struct dir_person p;

	out[0] = '\0';
	memset(&p, 0, sizeof(p));
	if (uid != NULL && dir_uid_valid(uid) && dir_person_get(c->id->dir, uid, &p) == 0)
		memcpy(out, p.uid, DIR_UID_LEN + 1);
	dir_person_clear(&p);
}

static int
import_org(struct import_ctx *c, json_t *j, const char *uid, char owner[DIR_UID_LEN + 1])
{
	struct dir_org cur, in;
	enum dir_status st = DIR_STATUS_ACTIVE;
	const char *name = jstr(j, "name"), *oc = jstr(j, "org_code");
	bool changed = false;
	int e;

	memset(&cur, 0, sizeof(cur));
	memset(&in, 0, sizeof(in));
	if (oc == NULL || name == NULL) {
		yh_warn("identities.jsonl:%llu: organization without code or name: skipped",
		    (unsigned long long)c->line);
		return YH_ERR_INVALID;
	}
	if (jstr(j, "status") != NULL && dir_status_parse(jstr(j, "status"), &st) != 0)
		return YH_ERR_INVALID;
	/* An organization a source switched off may no longer act: for a legal person
	 * that is "revoked" (the directory's organization statuses). */
	if (!DIR_ORG_STATUS_OK(st))
		st = DIR_STATUS_REVOKED;
	if ((e = yh_strlcpy(in.uid, uid, sizeof(in.uid))) != 0)
		return e;
	in.uscc = (char *)jstr(j, "uscc");
	in.org_code = (char *)oc;
	in.name = (char *)name;
	in.status = st;
	legal_rep(c, jstr(j, "legal_rep_uid"), in.legal_rep_uid);
	e = dir_org_get(c->id->dir, uid, &cur);
	if (e == YH_ERR_NOT_FOUND) {
		e = dir_org_find_org_code(c->id->dir, oc, &cur);
		if (e == 0) {
			memcpy(owner, cur.uid, DIR_UID_LEN + 1);
			note_legacy(c, cur.uid, 'o', cur.org_code);
			c->st->unchanged++;
			goto out;
		}
		if (e != YH_ERR_NOT_FOUND)
			goto out;
		/* The kind comes from the credit code; the legal representative gets a
		 * legal_rep relation with the record (dir_org_add). */
		if ((e = dir_org_add(c->id->dir, &in, IMPORT_ACTOR, owner)) == 0)
			c->st->orgs_added++;
		goto out;
	}
	if (e != 0)
		goto out;
	memcpy(owner, cur.uid, DIR_UID_LEN + 1);
	/* What the sources do not hold stays as an operator set it. */
	in.kind = cur.kind;
	in.authority = cur.authority;
	in.established = cur.established;
	if (!same(cur.name, in.name) || strcmp(cur.legal_rep_uid, in.legal_rep_uid) != 0 ||
	    (in.uscc != NULL && !same(cur.uscc, in.uscc))) {
		if ((e = dir_org_update(c->id->dir, &in, IMPORT_ACTOR)) != 0)
			goto out;
		changed = true;
	}
	if (cur.status != st) {
		if ((e = dir_org_set_status(c->id->dir, uid, st, IMPORT_ACTOR)) != 0)
			goto out;
		changed = true;
	}
	if (changed)
		c->st->orgs_updated++;
	else
		c->st->unchanged++;
out:
	dir_org_clear(&cur);
	return e;
}

static int
import_links(struct import_ctx *c, json_t *accounts, const char *owner)
{
	size_t i;
	json_t *a;
	int e = 0, bad = 0;

	json_array_foreach(accounts, i, a) {
		struct dir_legacy cur, in;
		enum dir_status st = DIR_STATUS_ACTIVE;

		memset(&cur, 0, sizeof(cur));
		memset(&in, 0, sizeof(in));
		if (jstr(a, "source") == NULL || jstr(a, "legacy_id") == NULL) {
			bad = YH_ERR_INVALID;
			continue;
		}
		if (jstr(a, "status") != NULL && dir_status_parse(jstr(a, "status"), &st) != 0)
			st = DIR_STATUS_DISABLED;
		e = dir_legacy_get(c->id->dir, jstr(a, "source"), jstr(a, "legacy_id"), &cur);
		if (e == 0) {
			if (strcmp(cur.owner_uid, owner) != 0) {
				/* Never move an account from one owner to another. */
				yh_warn("identities.jsonl:%llu: legacy account %s/%s already belongs to "
				    "another identity: not moved", (unsigned long long)c->line,
				    jstr(a, "source"), jstr(a, "legacy_id"));
				bad = YH_ERR_CONFLICT;
			}
			dir_legacy_clear(&cur);
			continue;
		}
		if (e != YH_ERR_NOT_FOUND)
			return e;
		if ((e = yh_strlcpy(in.owner_uid, owner, sizeof(in.owner_uid))) != 0)
			return e;
		in.source = (char *)jstr(a, "source");
		in.legacy_id = (char *)jstr(a, "legacy_id");
		in.username = (char *)jstr(a, "username");
		in.status = st;
		if ((e = dir_legacy_add(c->id->dir, &in)) != 0)
			return e;
		c->st->links_added++;
	}
	return bad;
}

static int
import_credential(struct import_ctx *c, json_t *cred, const char *owner)
{
	struct dir_cred cur;
	const char *scheme = jstr(cred, "scheme"), *hash = jstr(cred, "hash");
	char *argon = NULL;
	int e;

	if (!json_is_object(cred))
		return 0;
	if (scheme == NULL || hash == NULL)
		return YH_ERR_INVALID;
	memset(&cur, 0, sizeof(cur));
	e = dir_cred_get(c->id->dir, owner, &cur);
	dir_cred_clear(&cur);
	if (e == 0)
		return 0; /* keep what is there: it may already be the upgraded hash */
	if (e != YH_ERR_NOT_FOUND)
		return e;
	if (strcmp(scheme, PW_SCHEME_PLAIN) == 0) {
		/* A legacy plaintext password is hashed now and never stored as it came. */
		if ((e = pw_hash(&c->id->pw, hash, strlen(hash), &argon)) != 0)
			return e;
		e = dir_cred_set(c->id->dir, owner, PW_SCHEME_ARGON2ID, argon, NULL);
		free(argon);
	} else
		e = dir_cred_set(c->id->dir, owner, scheme, hash, jstr(cred, "salt"));
	if (e == 0)
		c->st->credentials_set++;
	return e;
}

static int
import_one(struct import_ctx *c, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *j;
	const char *uid, *kind;
	char owner[DIR_UID_LEN + 1] = "";
	int e, e2;

	if ((j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL ||
	    !json_is_object(j)) {
		json_decref(j);
		yh_warn("identities.jsonl:%llu: not a JSON object", (unsigned long long)c->line);
		return YH_ERR_INVALID;
	}
	uid = jstr(j, "uid");
	kind = jstr(j, "kind");
	if (uid == NULL || !dir_uid_valid(uid) || kind == NULL)
		e = YH_ERR_INVALID;
	else if (strcmp(kind, "person") == 0)
		e = uid_is_keyed(c, uid, 'p', jstr(j, "id_number")) ?
		    import_person(c, j, uid, owner) : YH_ERR_KEY;
	else if (strcmp(kind, "org") == 0)
		e = uid_is_keyed(c, uid, 'o', jstr(j, "org_code")) ?
		    import_org(c, j, uid, owner) : YH_ERR_KEY;
	else
		e = YH_ERR_INVALID;
	if (e == 0) {
		e = import_links(c, json_object_get(j, "accounts"), owner);
		e2 = import_credential(c, json_object_get(j, "credential"), owner);
		if (e == 0)
			e = e2;
	}
	if (e != 0)
		yh_warn("identities.jsonl:%llu: %s", (unsigned long long)c->line, yh_strerror(e));
	json_decref(j);
	return e;
}

int
mig_import(const struct mig_import_opts *o, struct mig_import_stats *st, char *err,
    size_t errsz)
{
	struct import_ctx c;
	struct yh_buf line;
	char path[4200];
	FILE *f = NULL;
	struct mig_progress *prog = NULL;
	uint64_t failed = 0, n = 0;
	bool bulk = false;
	int e;

	memset(st, 0, sizeof(*st));
	memset(&c, 0, sizeof(c));
	yh_buf_init(&line, IMPORT_LINE_MAX);
	snprintf(path, sizeof(path), "%s/identities.jsonl", o->where.in_dir);
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errsz, "cannot open %s: %s", path, strerror(errno));
		return YH_ERR_IO;
	}
	if ((e = mig_uid_key_open(o->where.in_dir, o->where.uid_key_file, &c.uid_key, err,
	    errsz)) != 0 ||
	    (e = mig_uid_key_legacy(&c.legacy)) != 0)
		goto out;
	if ((e = mig_state_open(o->where.config_path, o->where.state_dir, true, &c.id, err,
	    errsz)) != 0)
		goto out;
	c.st = st;
	if (o->progress && (prog = mig_progress_new(false)) != NULL) {
		struct stat sb;

		mig_progress_phase(prog, "import", fstat(fileno(f), &sb) == 0 ? (uint64_t)sb.st_size : 0);
	}
	while ((e = mig_read_line(f, &line)) == 0) {
		c.line++;
		if ((c.line & 1023) == 0 && prog != NULL) {
			long pos = ftell(f);

			mig_progress_update(prog, pos > 0 ? (uint64_t)pos : 0, c.line);
		}
		if (line.len <= 1)
			continue;
		if (!bulk && (e = dir_bulk_begin(c.id->dir)) != 0)
			break;
		bulk = true;
		if (import_one(&c, line.data, line.len) != 0)
			failed++;
		if (++n % IMPORT_BATCH == 0) {
			bulk = false;
			if ((e = dir_bulk_end(c.id->dir)) != 0)
				break;
		}
	}
	if (e == YH_ERR_NOT_FOUND)
		e = 0;
	if (bulk && dir_bulk_end(c.id->dir) != 0 && e == 0)
		e = YH_ERR_DB;
	if (e != 0)
		snprintf(err, errsz, "%s:%llu: %s", path, (unsigned long long)c.line + 1,
		    yh_strerror(e));
	else if (failed > 0) {
		snprintf(err, errsz, "%llu of %llu identities could not be imported (see the "
		    "warnings above)", (unsigned long long)failed, (unsigned long long)n);
		e = YH_ERR_CONFLICT;
	}
	st->failed = failed;
	if (e == 0 || e == YH_ERR_CONFLICT) {
		char rerr[1024] = "";
		int re = mig_import_reviews(c.id, o->where.in_dir, st, rerr, sizeof(rerr));

		if (re != 0 && e == 0) {
			e = re == YH_ERR_INVALID ? YH_ERR_CONFLICT : re;
			snprintf(err, errsz, "%s", rerr);
		} else if (re != 0)
			yh_warn("%s", rerr);
	}
out:
	mig_progress_free(prog);
	if (f != NULL)
		fclose(f);
	yh_buf_free(&line);
	ident_close(c.id);
	mig_uid_key_free(c.uid_key);
	mig_uid_key_free(c.legacy);
	return e;
}
