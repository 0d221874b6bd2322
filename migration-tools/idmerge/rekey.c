/*
 * idmerge rekey: the directory's uids made with the public key of earlier versions
 * (HMAC-SHA256 under "yihao/idmerge/uid/v1", reversible to ID numbers) become the uids
 * the run's secret uid key gives. Every entity is visited in uid order; a person whose
 * uid is the public-key uid of its ID number, or an organization whose uid is that of
 * its organization code, gets the keyed uid, and every record that refers to it follows
 * (dir_uid_rekey, one transaction per page of entities). A person who registered on
 * their own has a random uid and is never touched; a second rekey finds nothing to do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/secmem.h"
#include "identity/identity.h"
#include "migration-tools/idmerge/mig.h"

struct rekey_ctx {
	struct dir *dir;
	struct mig_uid_key *key, *legacy;
	struct mig_rekey_stats *st;
	struct dir_entity ents[DIR_LIST_MAX];   /* one page */
	struct dir_rekey pairs[DIR_LIST_MAX];   /* its entities to re-key */
	size_t npairs;
};

/* The canonical key of an entity: its ID number ('p') or organization code ('o'). */
static int
entity_key(struct rekey_ctx *c, const struct dir_entity *ent, char canon[32])
{
	struct dir_person p;
	struct dir_org o;
	int e;

	memset(&p, 0, sizeof(p));
	memset(&o, 0, sizeof(o));
	if (ent->org) {
		if ((e = dir_org_get(c->dir, ent->uid, &o)) == 0)
			e = yh_strlcpy(canon, o.org_code, 32);
	} else if ((e = dir_person_get(c->dir, ent->uid, &p)) == 0)
		e = yh_strlcpy(canon, p.id_number, 32);
	dir_org_clear(&o);
	dir_person_clear(&p);
	return e;
}

/* Queues ent for re-keying when its uid is the public-key uid of its key. */
static int
check_entity(struct rekey_ctx *c, const struct dir_entity *ent)
{
	char canon[32], uid[DIR_UID_LEN + 1];
	char kind = ent->org ? 'o' : 'p';
	int e;

	if ((e = entity_key(c, ent, canon)) == YH_ERR_NOT_FOUND)
		return 0;   /* gone since it was listed */
	if (e != 0 || (e = mig_uid(c->legacy, kind, canon, uid, sizeof(uid))) != 0)
		goto out;
	if (strcmp(uid, ent->uid) != 0)
		goto out;
	memcpy(c->pairs[c->npairs].old_uid, ent->uid, sizeof(uid));
	if ((e = mig_uid(c->key, kind, canon, c->pairs[c->npairs].new_uid, sizeof(uid))) != 0)
		goto out;
	c->npairs++;
	if (ent->org)
		c->st->orgs++;
	else
		c->st->persons++;
out:
	yh_wipe(canon, sizeof(canon));
	return e;
}

/* Walks the directory; with apply, re-keys what it finds, a page at a time. */
static int
walk(struct rekey_ctx *c, bool apply)
{
	char after[DIR_UID_LEN + 1] = "";
	size_t n = 0;
	int e;

	do {
		if ((e = dir_entity_list(c->dir, after, DIR_LIST_MAX, c->ents, &n)) != 0)
			return e;
		c->npairs = 0;
		for (size_t i = 0; i < n && e == 0; i++)
			e = check_entity(c, &c->ents[i]);
		c->st->scanned += n;
		if (e == 0 && apply && c->npairs > 0)
			e = dir_uid_rekey(c->dir, c->pairs, c->npairs);
		if (e != 0)
			return e;
		if (n > 0)
			memcpy(after, c->ents[n - 1].uid, sizeof(after));
	} while (n == DIR_LIST_MAX);
	return 0;
}

int
mig_rekey(const struct mig_rekey_opts *o, struct mig_rekey_stats *st, char *err,
    size_t errsz)
{
	struct rekey_ctx *c;
	struct ident *id = NULL;
	int e;

	memset(st, 0, sizeof(*st));
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return YH_ERR_ALLOC;
	c->st = st;
	if ((e = mig_uid_key_open(o->where.in_dir, o->where.uid_key_file, &c->key, err,
	    errsz)) != 0 || (e = mig_state_open(o->where.config_path, o->where.state_dir, false,
	    &id, err, errsz)) != 0)
		goto out;
	if ((e = mig_uid_key_legacy(&c->legacy)) != 0) {
		snprintf(err, errsz, "cannot set up HMAC-SHA256: %s", yh_strerror(e));
		goto out;
	}
	c->dir = id->dir;
	if ((e = walk(c, o->apply)) != 0)
		snprintf(err, errsz, "re-keying failed after %llu entities: %s",
		    (unsigned long long)st->scanned, yh_strerror(e));
out:
	mig_uid_key_free(c->key);
	mig_uid_key_free(c->legacy);
	ident_close(id);
	free(c);
	return e;
}
