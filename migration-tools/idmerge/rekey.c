/*
 * idmerge rekey: the directory's uids made with the public key of earlier versions
 * (HMAC-SHA256 under "yihao/idmerge/uid/v1", reversible to ID numbers) become the uids
 * the run's secret uid key gives. Every entity is visited in uid order; a person whose
 * uid is the public-key uid of its ID number, or an organization whose uid is that of
 * its organization code, gets the keyed uid, and every record that refers to it follows
 * (dir_uid_rekey, one transaction per batch of entities). A person who registered on
 * their own has a random uid and is never touched; a second rekey finds nothing to do.
 *
 * Apps know a person by a pairwise `sub` derived from the uid (keys_sub_str), so a new
 * uid would be a new `sub` at every app. The transaction that re-keys a person therefore
 * also records, for every sector of the apps registered now, the `sub` the old uid gives
 * as a subject pin under the new uid; authd answers the pin (oidc_pairwise_sub). A batch
 * holds at most REKEY_PINS_MAX pins (fewer persons per transaction with many sectors).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authcore/clients/clients.h"
#include "authcore/state.h"
#include "authd/keyd/keys.h"
#include "common/secmem.h"
#include "identity/identity.h"
#include "migration-tools/idmerge/mig.h"

#define REKEY_PINS_MAX 16384   /* subject pins in one transaction (unless one person has
                                * more sectors than this: CLIENTS_MAX is below it) */
_Static_assert(CLIENTS_MAX <= DIR_PINS_MAX && CLIENTS_MAX <= REKEY_PINS_MAX,
    "every sector of a full registry is pinned in one call");

struct rekey_ctx {
	struct dir *dir;
	struct mig_uid_key *key, *legacy;
	struct keys *subject;                   /* STATE_DIR/subject.key, in process */
	struct clients_snap *apps;              /* the apps registered now */
	const char **sectors;                   /* their distinct sectors, borrowed from apps */
	size_t nsectors;
	struct dir_subject_pin *pins;           /* one batch's pins, REKEY_PINS_MAX */
	char (*subs)[KEYS_SUB_STR_SIZE];        /* their subs */
	struct mig_rekey_stats *st;
	struct dir_entity ents[DIR_LIST_MAX];   /* one page */
	struct dir_rekey pairs[DIR_LIST_MAX];   /* its entities to re-key */
	bool org[DIR_LIST_MAX];                 /* pairs[i] is an organization */
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
	struct dir_rekey *p = &c->pairs[c->npairs];
	int e;

	if ((e = entity_key(c, ent, canon)) == YH_ERR_NOT_FOUND)
		return 0;   /* gone since it was listed */
	if (e != 0 || (e = mig_uid(c->legacy, kind, canon, uid, sizeof(uid))) != 0)
		goto out;
	if (strcmp(uid, ent->uid) != 0)
		goto out;
	memset(p, 0, sizeof(*p));
	memcpy(p->old_uid, ent->uid, sizeof(uid));
	if ((e = mig_uid(c->key, kind, canon, p->new_uid, sizeof(uid))) != 0)
		goto out;
	c->org[c->npairs++] = ent->org;
	if (ent->org) {
		c->st->orgs++;
	} else {
		c->st->persons++;
		c->st->pins += c->nsectors;
	}
out:
	yh_wipe(canon, sizeof(canon));
	return e;
}

/* Gives the person pairs[i] its pins from c->pins[*used]: the sub its old uid gives in
 * every sector. */
static int
make_pins(struct rekey_ctx *c, size_t i, size_t *used)
{
	struct dir_rekey *p = &c->pairs[i];
	int e = 0;

	p->pins = &c->pins[*used];
	p->npins = c->nsectors;
	for (size_t j = 0; j < c->nsectors && e == 0; j++, (*used)++) {
		e = keys_sub_str(c->subject, c->sectors[j], p->old_uid, c->subs[*used]);
		c->pins[*used].sector = c->sectors[j];
		c->pins[*used].sub = c->subs[*used];
	}
	return e;
}

/* Re-keys the page's pairs, as many per transaction as REKEY_PINS_MAX pins allow, each
 * person with its pins. */
static int
apply_page(struct rekey_ctx *c)
{
	size_t per = c->nsectors == 0 ? DIR_LIST_MAX : REKEY_PINS_MAX / c->nsectors;
	size_t done = 0, n, used;
	int e = 0;

	if (per == 0)
		per = 1;
	while (e == 0 && done < c->npairs) {
		n = c->npairs - done < per ? c->npairs - done : per;
		used = 0;
		for (size_t i = done; i < done + n && e == 0; i++)
			if (!c->org[i] && c->nsectors > 0)
				e = make_pins(c, i, &used);
		if (e == 0)
			e = dir_uid_rekey(c->dir, &c->pairs[done], n);
		done += n;
	}
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
			e = apply_page(c);
		if (e != 0)
			return e;
		if (n > 0)
			memcpy(after, c->ents[n - 1].uid, sizeof(after));
	} while (n == DIR_LIST_MAX);
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The distinct sectors of the apps registered now (authd's registry: clients.json and
 * the configuration's clients.file). */
static int
load_sectors(struct rekey_ctx *c, const struct mig_where *w, char *err, size_t errsz)
{
	struct state_args a = { .config_path = w->config_path, .state_dir = w->state_dir };
	struct clients_registry *reg = NULL;
	size_t n, k = 0;
	int e;

	if ((e = state_open_clients(&a, false, &reg, err, errsz)) != 0)
		return e;
	c->apps = clients_acquire(reg);
	clients_close(reg);    /* the snapshot stays */
	n = clients_count(c->apps);
	if (n == 0)
		return 0;
	if ((c->sectors = calloc(n, sizeof(*c->sectors))) == NULL)
		return YH_ERR_ALLOC;
	for (size_t i = 0; i < n; i++)
		c->sectors[i] = clients_sector(clients_at(c->apps, i));
	qsort(c->sectors, n, sizeof(*c->sectors), cmp_str);
	for (size_t i = 0; i < n; i++)
		if (k == 0 || strcmp(c->sectors[k - 1], c->sectors[i]) != 0)
			c->sectors[k++] = c->sectors[i];
	c->nsectors = k;
	if ((c->pins = calloc(REKEY_PINS_MAX > k ? REKEY_PINS_MAX : k, sizeof(*c->pins))) == NULL ||
	    (c->subs = calloc(REKEY_PINS_MAX > k ? REKEY_PINS_MAX : k, sizeof(*c->subs))) == NULL)
		return YH_ERR_ALLOC;
	return 0;
}

/* The subject key (STATE_DIR/subject.key: a directory without one is refused, as authd
 * refuses it) in an in-process keys handle. */
static int
open_subject_key(struct rekey_ctx *c, const char *state_dir, char *err, size_t errsz)
{
	unsigned char sk[IDENT_SUBJECT_KEY_LEN];
	int e;

	_Static_assert(IDENT_SUBJECT_KEY_LEN == KEYS_KEY_LEN, "the subject key is a keys key");
	if ((e = ident_subject_key(state_dir, false, sk, err, errsz)) != 0)
		return e;
	if ((e = keys_local_new(sk, NULL, &c->subject)) != 0)
		snprintf(err, errsz, "cannot set up the subject key: %s", yh_strerror(e));
	yh_wipe(sk, sizeof(sk));
	return e;
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
	    &id, err, errsz)) != 0 || (e = open_subject_key(c, id->state_dir, err, errsz)) != 0 ||
	    (e = load_sectors(c, &o->where, err, errsz)) != 0)
		goto out;
	st->sectors = c->nsectors;
	if ((e = mig_uid_key_legacy(&c->legacy)) != 0) {
		snprintf(err, errsz, "cannot set up HMAC-SHA256: %s", yh_strerror(e));
		goto out;
	}
	c->dir = id->dir;
	if ((e = walk(c, o->apply)) != 0)
		snprintf(err, errsz, "re-keying failed after %llu entities: %s",
		    (unsigned long long)st->scanned, yh_strerror(e));
out:
	if (e == YH_ERR_ALLOC && err[0] == '\0')
		snprintf(err, errsz, "out of memory");
	mig_uid_key_free(c->key);
	mig_uid_key_free(c->legacy);
	keys_free(c->subject);
	free(c->pins);
	free(c->subs);
	free(c->sectors);
	clients_release(c->apps);
	ident_close(id);
	free(c);
	return e;
}
