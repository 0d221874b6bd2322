/*
 * Merging: one identity per person (ID number) or organization (organization code),
 * every legacy account listed under it. Field values come from the most trusted
 * source, then the most recent last login; the status is active when any account is,
 * deregistered when all are; the credential is the most recently used account's.
 */
#define _GNU_SOURCE   /* qsort_r */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migration-tools/idmerge/mig.h"

/* ---------- choosing values ---------- */

/* Field priority: higher trust (of the sources, the qsort_r context), then the more
 * recent last login, then input order. */
static int
prio_cmp(const void *a, const void *b, void *sources)
{
	const struct mig_rec *x = *(const struct mig_rec *const *)a;
	const struct mig_rec *y = *(const struct mig_rec *const *)b;
	const struct mig_sources *s = sources;
	int c, tx = s->v[x->src].trust, ty = s->v[y->src].trust;

	if (tx != ty)
		return tx > ty ? -1 : 1;
	if ((c = strcmp(x->v[MV_LAST_LOGIN], y->v[MV_LAST_LOGIN])) != 0)
		return -c;
	if (x->src != y->src)
		return x->src < y->src ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Credential priority: the more recent last login first, then trust, then order. */
static int
cred_cmp(const void *a, const void *b, void *sources)
{
	const struct mig_rec *x = *(const struct mig_rec *const *)a;
	const struct mig_rec *y = *(const struct mig_rec *const *)b;
	int c = strcmp(x->v[MV_LAST_LOGIN], y->v[MV_LAST_LOGIN]);

	if (c != 0)
		return -c;
	return prio_cmp(a, b, sources);
}

/* Account order in the output: source, then record number. */
static int
acct_cmp(const void *a, const void *b)
{
	const struct mig_rec *x = *(const struct mig_rec *const *)a;
	const struct mig_rec *y = *(const struct mig_rec *const *)b;

	if (x->src != y->src)
		return x->src < y->src ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static const char *
first_value(struct mig_rec *const *by_prio, size_t n, int field)
{
	for (size_t i = 0; i < n; i++)
		if (by_prio[i]->v[field][0] != '\0')
			return by_prio[i]->v[field];
	return "";
}

static const char *
merged_status(struct mig_rec *const *g, size_t n)
{
	size_t dereg = 0, locked = 0;

	for (size_t i = 0; i < n; i++) {
		const char *s = g[i]->v[MV_STATUS];

		if (strcmp(s, "active") == 0)
			return "active";
		dereg += strcmp(s, "deregistered") == 0;
		locked += strcmp(s, "locked") == 0;
	}
	if (dereg == n)
		return "deregistered";
	return locked > 0 ? "locked" : "disabled";
}

/* ---------- writing one identity ---------- */


static int
put_accounts(struct mig_sink *k, struct yh_buf *b, struct mig_rec **g, size_t n)
{
	int e;

	qsort(g, n, sizeof(*g), acct_cmp);
	if ((e = yh_buf_puts(b, ",\"accounts\":[")) != 0)
		return e;
	for (size_t i = 0; i < n; i++) {
		if ((e = yh_buf_puts(b, i ? ",{\"source\":" : "{\"source\":")) != 0 ||
		    (e = mig_json_str(b, k->s->v[g[i]->src].name)) != 0 ||
		    (e = mig_json_kv(b, "legacy_id", g[i]->v[MV_LEGACY_ID])) != 0 ||
		    (e = mig_json_kv(b, "username", g[i]->v[MV_USERNAME])) != 0 ||
		    (e = mig_json_kv(b, "status", g[i]->v[MV_STATUS])) != 0 ||
		    (e = yh_buf_putc(b, '}')) != 0)
			return e;
		k->c->src[g[i]->src].accounts++;
	}
	return yh_buf_putc(b, ']');
}

static int
put_credential(struct mig_sink *k, struct yh_buf *b, struct mig_rec **g, size_t n)
{
	const struct mig_rec *best = NULL;
	int e;

	qsort_r(g, n, sizeof(*g), cred_cmp, (void *)k->s);
	for (size_t i = 0; i < n && best == NULL; i++)
		if (g[i]->v[MV_PW_HASH][0] != '\0' && k->s->v[g[i]->src].password_scheme != NULL)
			best = g[i];
	if (best == NULL)
		return yh_buf_puts(b, ",\"credential\":null");
	if ((e = yh_buf_puts(b, ",\"credential\":{\"source\":")) != 0 ||
	    (e = mig_json_str(b, k->s->v[best->src].name)) != 0 ||
	    (e = mig_json_kv(b, "legacy_id", best->v[MV_LEGACY_ID])) != 0 ||
	    (e = mig_json_kv(b, "scheme", k->s->v[best->src].password_scheme)) != 0 ||
	    (e = mig_json_kv(b, "hash", best->v[MV_PW_HASH])) != 0 ||
	    (e = mig_json_kv(b, "salt", best->v[MV_PW_SALT])) != 0)
		return e;
	return yh_buf_putc(b, '}');
}

/* Writes one person (kind 'p') or organization ('o') identity built from records g. */
static int
write_identity(struct mig_sink *k, char kind, const char *uid, const char *key,
    struct mig_rec **g, size_t n, const char *legal_rep_uid)
{
	struct yh_buf *b = &k->line;
	int e;

	qsort_r(g, n, sizeof(*g), prio_cmp, (void *)k->s);
	yh_buf_reset(b);
	if ((e = yh_buf_puts(b, "{\"uid\":")) != 0 || (e = mig_json_str(b, uid)) != 0)
		return e;
	if (kind == 'p') {
		if ((e = mig_json_kv(b, "kind", "person")) != 0 ||
		    (e = mig_json_kv(b, "id_number", key)) != 0 ||
		    (e = mig_json_kv(b, "name", first_value(g, n, MV_NAME))) != 0)
			return e;
	} else {
		if ((e = mig_json_kv(b, "kind", "org")) != 0 ||
		    (e = mig_json_kv(b, "uscc", first_value(g, n, MV_USCC))) != 0 ||
		    (e = mig_json_kv(b, "org_code", key)) != 0 ||
		    (e = mig_json_kv(b, "name", first_value(g, n, MV_ORG_NAME))) != 0)
			return e;
	}
	if ((e = mig_json_kv(b, "phone", first_value(g, n, MV_PHONE))) != 0 ||
	    (e = mig_json_kv(b, "email", first_value(g, n, MV_EMAIL))) != 0 ||
	    (e = mig_json_kv(b, "status", merged_status(g, n))) != 0)
		return e;
	if (kind == 'o' && (e = mig_json_kv(b, "legal_rep_uid", legal_rep_uid)) != 0)
		return e;
	if ((e = put_credential(k, b, g, n)) != 0 || (e = put_accounts(k, b, g, n)) != 0 ||
	    (e = yh_buf_puts(b, "}\n")) != 0)
		return e;
	if (kind == 'p')
		k->c->persons++;
	else
		k->c->orgs++;
	if (k->ident != NULL && fwrite(b->data, 1, b->len, k->ident) != b->len)
		return YH_ERR_IO;
	return 0;
}

/* ---------- passes 4 and 5 ---------- */

/* One group of a partition, with its uid, for ordering identities by uid. */
struct group {
	size_t start, n;
	char uid[40];
};

static int
group_cmp(const void *a, const void *b)
{
	return strcmp(((const struct group *)a)->uid, ((const struct group *)b)->uid);
}

/* Splits a sorted partition into key groups with their uids, sorted by uid. */
static int
make_groups(struct mig_sink *k, char kind, const struct mig_part *p, struct group **out,
    size_t *nout)
{
	struct group *gs = NULL;
	size_t ng = 0;
	int e = 0;

	*out = NULL;
	*nout = 0;
	if (p->n == 0)
		return 0;
	if ((gs = calloc(p->n, sizeof(*gs))) == NULL)
		return YH_ERR_ALLOC;
	for (size_t i = 0, j; i < p->n; i = j) {
		for (j = i + 1; j < p->n && strcmp(p->recs[j].key, p->recs[i].key) == 0; j++)
			;
		gs[ng].start = i;
		gs[ng].n = j - i;
		if ((e = mig_uid(k->uid, kind, p->recs[i].key, gs[ng].uid,
		    sizeof(gs[ng].uid))) != 0)
			break;
		ng++;
	}
	if (e != 0) {
		free(gs);
		return e;
	}
	qsort(gs, ng, sizeof(*gs), group_cmp);
	*out = gs;
	*nout = ng;
	return 0;
}

static int
person_group(struct mig_sink *k, struct mig_rec *g, size_t n, const char *uid,
    struct mig_rec **ptrs)
{
	size_t np = 0;
	int e = 0;

	for (size_t i = 0; i < n; i++)
		if (g[i].type == MIG_T_PERSON || g[i].type == MIG_T_JOINED)
			ptrs[np++] = &g[i];
	if (np == 0)
		return 0;
	if (mig_group_conflicts(g, n)) {
		/* One number, names that differ beyond normalization: never merged. */
		k->c->conflicts++;
		for (size_t i = 0; i < np && e == 0; i++)
			e = mig_emit_review(k, ptrs[i], "name_conflict", uid, NULL, 0);
		return e;
	}
	return write_identity(k, 'p', uid, g[0].key, ptrs, np, NULL);
}

static int
org_group(struct mig_sink *k, struct mig_rec *g, size_t n, const char *uid,
    struct mig_rec **ptrs)
{
	const char *uscc = NULL, *rep, *rep_uid = NULL;
	size_t np = 0;
	int e = 0;
	bool conflict = false;

	for (size_t i = 0; i < n; i++) {
		if (g[i].type != MIG_T_ORG)
			continue;
		ptrs[np++] = &g[i];
		if (g[i].v[MV_USCC][0] == '\0')
			continue;
		if (uscc == NULL)
			uscc = g[i].v[MV_USCC];
		else if (strcmp(uscc, g[i].v[MV_USCC]) != 0)
			conflict = true;
	}
	if (np == 0)
		return 0;
	if (conflict) {
		/* Two valid credit codes over one organization code: never merged. */
		k->c->conflicts++;
		for (size_t i = 0; i < np && e == 0; i++)
			e = mig_emit_review(k, ptrs[i], "uscc_conflict", uid, NULL, 0);
		return e;
	}
	qsort_r(ptrs, np, sizeof(*ptrs), prio_cmp, (void *)k->s);
	rep = first_value(ptrs, np, MV_LEGAL_REP);
	for (size_t i = 0; i < n && rep[0] != '\0'; i++)
		if (g[i].type == MIG_T_LEGALREP && strcmp(g[i].v[MV_LEGAL_REP], rep) == 0) {
			rep_uid = g[i].v[MV_UID];
			break;
		}
	return write_identity(k, 'o', uid, g[0].key, ptrs, np, rep_uid);
}

/* Passes 4 and 5 on one partition: its groups in uid order. */
static int
output_part(struct mig_sink *k, char type, struct mig_part *p)
{
	struct group *gs = NULL;
	struct mig_rec **ptrs = NULL;
	size_t ng = 0;
	int e;

	if ((e = make_groups(k, type == 'P' ? 'p' : 'o', p, &gs, &ng)) != 0)
		return e;
	if (p->n > 0 && (ptrs = calloc(p->n, sizeof(*ptrs))) == NULL)
		e = YH_ERR_ALLOC;
	for (size_t i = 0; i < ng && e == 0; i++) {
		struct mig_rec *g = &p->recs[gs[i].start];

		e = type == 'P' ? person_group(k, g, gs[i].n, gs[i].uid, ptrs) :
		    org_group(k, g, gs[i].n, gs[i].uid, ptrs);
	}
	free(ptrs);
	free(gs);
	return e;
}

static int
persons_part(struct mig_sink *k, unsigned part, struct mig_part *p)
{
	(void)part;
	return output_part(k, 'P', p);
}

static int
orgs_part(struct mig_sink *k, unsigned part, struct mig_part *p)
{
	(void)part;
	return output_part(k, 'O', p);
}

int
mig_pass_persons(struct mig_run *r)
{
	return mig_par_pass(r, 'P', "", "4/5 merge persons", persons_part);
}

int
mig_pass_orgs(struct mig_run *r)
{
	return mig_par_pass(r, 'O', "", "5/5 merge organizations", orgs_part);
}
