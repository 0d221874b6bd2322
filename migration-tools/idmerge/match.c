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
index_group(struct mig_run *r, unsigned part, struct mig_rec *g, size_t n, FILE **nf,
    FILE **of)
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
	if ((e = mig_uid(r->uid, 'p', g[0].key, uid, sizeof(uid))) != 0)
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
			if ((e = mig_rec_write(of[mig_part_of(aux.key, r->nparts)], &aux)) != 0)
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
		if ((e = mig_rec_write(nf[mig_part_of(npkey, r->nparts)], &aux)) != 0)
			return e;
	}
	return 0;
}

int
mig_pass_index(struct mig_run *r)
{
	FILE **nf = NULL, **of = NULL;
	struct mig_part p;
	char path[4200];
	int e;

	memset(&p, 0, sizeof(p));
	if ((e = mig_open_set(r, 'N', true, &nf)) != 0 || (e = mig_open_set(r, 'O', true, &of)) != 0)
		goto out;
	mig_progress_phase(r->prog, "2/5 index persons", r->nparts);
	for (unsigned k = 0; k < r->nparts && e == 0; k++) {
		mig_tmp_path(r, 'P', k, path, sizeof(path));
		if ((e = mig_part_load(path, &p)) != 0)
			break;
		if ((e = mig_part_sort(&p)) != 0)
			break;
		for (size_t i = 0, j; i < p.n && e == 0; i = j) {
			j = group_end(&p, i);
			e = index_group(r, k, &p.recs[i], j - i, nf, of);
		}
		mig_part_free(&p);
		mig_progress_update(r->prog, k + 1, 0);
	}
out:
	mig_part_free(&p);
	if (mig_close_set(nf, r->nparts) != 0 && e == 0)
		e = YH_ERR_IO;
	if (mig_close_set(of, r->nparts) != 0 && e == 0)
		e = YH_ERR_IO;
	return e;
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
decide_noid(struct mig_run *r, const struct mig_rec *x, const struct cand *c, size_t nc,
    FILE **pf)
{
	const char *uids[16];
	size_t nu = 0;
	uint64_t part;

	if (nc == 0) {
		char masked[64];

		mig_mask_value(x->v[MV_ID_RAW], masked, sizeof(masked));
		return mig_emit_reject(r, x->src, x->v[MV_LEGACY_ID], x->v[MV_REASON], "id_number",
		    masked);
	}
	for (size_t i = 0; i < nc && nu < 16; i++)
		if (!c[i].conflict)
			uids[nu++] = c[i].uid;
	if (nc > 1)
		return mig_emit_review(r, x, "ambiguous_match", NULL, uids, nu);
	if (c[0].conflict)
		return mig_emit_review(r, x, "candidate_in_conflict", c[0].uid, NULL, 0);
	if (mig_id_contradicts(x->v[MV_ID_RAW], x->v[MV_REASON], c[0].id))
		return mig_emit_review(r, x, "id_contradiction", NULL, uids, nu);
	if (yh_parse_u64(c[0].part, 0, r->nparts - 1, &part) != 0)
		return YH_ERR_INTERNAL;
	{
		struct mig_rec j = *x;

		j.type = MIG_T_JOINED;
		j.key = c[0].id;
		return mig_rec_write(pf[part], &j);
	}
}

/* One name+phone group: index lines first (type I sorts before N), then records. */
static int
noid_group(struct mig_run *r, struct mig_rec *g, size_t n, FILE **pf)
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
	for (size_t k = 0; k < i; k++) {
		size_t m;

		for (m = 0; m < nc; m++)
			if (strcmp(c[m].uid, g[k].v[MV_UID]) == 0)
				break;
		if (m < nc)
			continue;
		c[nc].uid = g[k].v[MV_UID];
		c[nc].id = g[k].v[MV_ID_RAW];
		c[nc].part = g[k].v[MV_PART];
		c[nc].conflict = strcmp(g[k].v[MV_REASON], "conflict") == 0;
		nc++;
	}
	if (nc > 1)
		qsort(c, nc, sizeof(*c), cand_cmp);
	for (; i < n && e == 0; i++)
		if (g[i].type == MIG_T_NOID)
			e = decide_noid(r, &g[i], c, nc, pf);
	free(c);
	return e;
}

int
mig_pass_noid(struct mig_run *r)
{
	FILE **pf = NULL;
	struct mig_part p;
	char path[4200];
	int e;

	memset(&p, 0, sizeof(p));
	if ((e = mig_open_set(r, 'P', true, &pf)) != 0)
		goto out;
	mig_progress_phase(r->prog, "3/5 name+phone", r->nparts);
	for (unsigned k = 0; k < r->nparts && e == 0; k++) {
		mig_tmp_path(r, 'N', k, path, sizeof(path));
		if ((e = mig_part_load(path, &p)) != 0)
			break;
		if ((e = mig_part_sort(&p)) != 0)
			break;
		for (size_t i = 0, j; i < p.n && e == 0; i = j) {
			j = group_end(&p, i);
			e = noid_group(r, &p.recs[i], j - i, pf);
		}
		mig_part_free(&p);
		mig_progress_update(r->prog, k + 1, 0);
	}
out:
	mig_part_free(&p);
	if (mig_close_set(pf, r->nparts) != 0 && e == 0)
		e = YH_ERR_IO;
	return e;
}
