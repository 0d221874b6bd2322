/*
 * Matching: persons are one identity per canonical ID number. Two different valid ID
 * numbers never meet in one group, whatever else they share; a group whose records
 * carry names that differ beyond normalization is a conflict for review. A record
 * without a usable number joins an identity only when its name key and phone key point
 * to exactly one identity and its (broken) number does not contradict that identity's.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "migration-tools/idmerge/mig.h"

bool
mig_group_conflicts(const struct mig_rec *g, size_t n)
{
	const char *first = NULL;

	for (size_t i = 0; i < n; i++) {
		const char *k = g[i].v[MV_NAME_KEY];

		if (g[i].type != MIG_T_PERSON && g[i].type != MIG_T_JOINED)
			continue;
		if (k[0] == '\0')
			continue;
		if (first == NULL)
			first = k;
		else if (strcmp(first, k) != 0)
			return true;
	}
	return false;
}

/* End of the group starting at i (records sharing a key). */
static size_t
group_end(const struct mig_part *p, size_t i)
{
	size_t j = i + 1;

	while (j < p->n && strcmp(p->recs[j].key, p->recs[i].key) == 0)
		j++;
	return j;
}

static void
blank(struct mig_rec *a)
{
	memset(a, 0, sizeof(*a));
	for (int i = 0; i < MV_COUNT; i++)
		a->v[i] = "";
}

/* Publishes one group's index lines and legal-representative answers. */
static int
index_group(struct mig_sink *k, unsigned part, struct mig_rec *g, size_t n)
{
	struct mig_rec aux;
	char uid[40], npkey[600], partstr[16];
	size_t persons = 0;
	bool conflict;
	int e;

	for (size_t i = 0; i < n; i++)
		persons += g[i].type == MIG_T_PERSON || g[i].type == MIG_T_JOINED;
	if (persons == 0)
		return 0; /* only legal-representative requests: nobody by that number */
	conflict = mig_group_conflicts(g, n);
	if ((e = mig_uid(k->uid, 'p', g[0].key, uid, sizeof(uid))) != 0)
		return e;
	snprintf(partstr, sizeof(partstr), "%u", part);
	for (size_t i = 0; i < n; i++) {
		const struct mig_rec *x = &g[i];

		if (x->type == MIG_T_LEGALREQ) {
			if (conflict)
				continue;
			blank(&aux);
			aux.type = MIG_T_LEGALREP;
			aux.key = x->v[MV_ORG_CODE];
			aux.src = x->src;
			aux.seq = x->seq;
			aux.v[MV_LEGAL_REP] = x->key;
			aux.v[MV_UID] = uid;
			if ((e = mig_rec_write(k->of[mig_part_of(aux.key, k->nparts)], &aux)) != 0)
				return e;
			continue;
		}
		if (x->v[MV_NAME_KEY][0] == '\0' || x->v[MV_PHONE][0] == '\0')
			continue;
		/* Skip a pair the previous record already published. */
		if (i > 0 && (g[i - 1].type == MIG_T_PERSON || g[i - 1].type == MIG_T_JOINED) &&
		    strcmp(g[i - 1].v[MV_NAME_KEY], x->v[MV_NAME_KEY]) == 0 &&
		    strcmp(g[i - 1].v[MV_PHONE], x->v[MV_PHONE]) == 0 &&
		    g[i - 1].v[MV_NAME_KEY][0] != '\0')
			continue;
		if ((size_t)snprintf(npkey, sizeof(npkey), "%s\x1f%s", x->v[MV_NAME_KEY],
		    x->v[MV_PHONE]) >= sizeof(npkey))
			continue;
		blank(&aux);
		aux.type = MIG_T_INDEX;
		aux.key = npkey;
		aux.v[MV_UID] = uid;
		aux.v[MV_PART] = partstr;
		aux.v[MV_ID_RAW] = g[0].key;
		aux.v[MV_REASON] = conflict ? "conflict" : "";
		if ((e = mig_rec_write(k->nf[mig_part_of(npkey, k->nparts)], &aux)) != 0)
			return e;
	}
	return 0;
}

/* Pass 2 on one P partition. */
static int
index_part(struct mig_sink *k, unsigned part, struct mig_part *p)
{
	int e = 0;

	for (size_t i = 0, j; i < p->n && e == 0; i = j) {
		j = group_end(p, i);
		e = index_group(k, part, &p->recs[i], j - i);
	}
	return e;
}

int
mig_pass_index(struct mig_run *r)
{
	return mig_par_pass(r, 'P', "NO", "2/5 index persons", index_part);
}

/* One distinct identity a name+phone key points to. */
struct cand {
	const char *uid, *id, *part;
	bool conflict;
};

static int
cand_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cand *)a)->uid, ((const struct cand *)b)->uid);
}

/* Decides one ID-less record against the group's candidates. */
static int
decide_noid(struct mig_sink *k, const struct mig_rec *x, const struct cand *c, size_t nc)
{
	const char *uids[16];
	size_t nu = 0;
	uint64_t part;

	if (nc == 0) {
		char masked[64];

		mig_mask_value(x->v[MV_ID_RAW], masked, sizeof(masked));
		return mig_emit_reject(k, x->src, x->v[MV_LEGACY_ID], x->v[MV_REASON], "id_number",
		    masked);
	}
	for (size_t i = 0; i < nc && nu < 16; i++)
		if (!c[i].conflict)
			uids[nu++] = c[i].uid;
	if (nc > 1)
		return mig_emit_review(k, x, "ambiguous_match", NULL, uids, nu);
	if (c[0].conflict)
		return mig_emit_review(k, x, "candidate_in_conflict", c[0].uid, NULL, 0);
	if (mig_id_contradicts(x->v[MV_ID_RAW], x->v[MV_REASON], c[0].id))
		return mig_emit_review(k, x, "id_contradiction", NULL, uids, nu);
	if (yh_parse_u64(c[0].part, 0, k->nparts - 1, &part) != 0)
		return YH_ERR_INTERNAL;
	{
		struct mig_rec j = *x;

		j.type = MIG_T_JOINED;
		j.key = c[0].id;
		return mig_rec_write(k->pf[part], &j);
	}
}

/* One name+phone group: index lines first (type I sorts before N), then records. */
static int
noid_group(struct mig_sink *k, struct mig_rec *g, size_t n)
{
	struct cand *c = NULL;
	size_t nc = 0, i;
	int e = 0;

	for (i = 0; i < n && g[i].type == MIG_T_INDEX; i++)
		;
	if (i == n)
		return 0;
	if (i > 0 && (c = calloc(i, sizeof(*c))) == NULL)
		return YH_ERR_ALLOC;
	for (size_t q = 0; q < i; q++) {
		size_t m;

		for (m = 0; m < nc; m++)
			if (strcmp(c[m].uid, g[q].v[MV_UID]) == 0)
				break;
		if (m < nc)
			continue;
		c[nc].uid = g[q].v[MV_UID];
		c[nc].id = g[q].v[MV_ID_RAW];
		c[nc].part = g[q].v[MV_PART];
		c[nc].conflict = strcmp(g[q].v[MV_REASON], "conflict") == 0;
		nc++;
	}
	if (nc > 1)
		qsort(c, nc, sizeof(*c), cand_cmp);
	for (; i < n && e == 0; i++)
		if (g[i].type == MIG_T_NOID)
			e = decide_noid(k, &g[i], c, nc);
	free(c);
	return e;
}

/* Pass 3 on one N partition. */
static int
noid_part(struct mig_sink *k, unsigned part, struct mig_part *p)
{
	int e = 0;

	(void)part;
	for (size_t i = 0, j; i < p->n && e == 0; i = j) {
		j = group_end(p, i);
		e = noid_group(k, &p->recs[i], j - i);
	}
	return e;
}

int
mig_pass_noid(struct mig_run *r)
{
	return mig_par_pass(r, 'N', "P", "3/5 name+phone", noid_part);
}
