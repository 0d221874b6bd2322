/*
 * Directory records: the names of the statuses and freeing what the directory hands
 * out. The front end (dir.c) and every backend use these; they use nothing of either.
 */
#include <stdlib.h>
#include <string.h>

#include "common/secmem.h"
#include "identity/dir/dir_backend.h"
#include "identity/match/matchkey.h"

/* ---- origins ---- */

bool
dir_origin_ok(const char *s)
{
	return s != NULL && (strcmp(s, DIR_ORIGIN_SELF) == 0 ||
	    strcmp(s, DIR_ORIGIN_OPERATOR) == 0 || strcmp(s, DIR_ORIGIN_IMPORT) == 0 ||
	    strcmp(s, DIR_ORIGIN_CERT) == 0);
}

/* ---- statuses ---- */

static const char *const status_names[] = {
	[DIR_STATUS_ACTIVE] = "active",
	[DIR_STATUS_DISABLED] = "disabled",
	[DIR_STATUS_LOCKED] = "locked",
	[DIR_STATUS_DEREGISTERED] = "deregistered",
	[DIR_STATUS_REVOKED] = "revoked",
};

const char *
dir_status_str(enum dir_status s)
{
	if ((unsigned)s < sizeof(status_names) / sizeof(status_names[0]))
		return status_names[s];
	return "unknown";
}

int
dir_status_parse(const char *s, enum dir_status *out)
{
	for (size_t i = 0; s != NULL && i < sizeof(status_names) / sizeof(status_names[0]); i++)
		if (strcmp(s, status_names[i]) == 0) {
			*out = (enum dir_status)i;
			return 0;
		}
	return YH_ERR_INVALID;
}

/* ---- freeing records ---- */

void
dir_loa_list_free(struct dir_loa *a, size_t n)
{
	for (size_t i = 0; a != NULL && i < n; i++) {
		free(a[i].method);
		free(a[i].by);
		free(a[i].evidence);
	}
	free(a);
}

void
dir_person_clear(struct dir_person *p)
{
	if (p == NULL)
		return;
	yh_strfree_secret(p->id_number);
	yh_strfree_secret(p->phone);
	free(p->name);
	free(p->email);
	free(p->username);
	free(p->loa.method);
	free(p->origin);
	free(p->loa.by);
	free(p->loa.evidence);
	memset(p, 0, sizeof(*p));
}

void
dir_person_list_free(struct dir_person *a, size_t n)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		dir_person_clear(&a[i]);
	free(a);
}

void
dir_org_clear(struct dir_org *o)
{
	if (o == NULL)
		return;
	free(o->uscc);
	free(o->org_code);
	free(o->name);
	free(o->authority);
	free(o->established);
	memset(o, 0, sizeof(*o));
}

void
dir_org_list_free(struct dir_org *a, size_t n)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		dir_org_clear(&a[i]);
	free(a);
}

void
dir_org_change_clear(struct dir_org_change *c)
{
	if (c == NULL)
		return;
	free(c->field);
	free(c->old_value);
	free(c->new_value);
	free(c->actor);
	memset(c, 0, sizeof(*c));
}

void
dir_privacy_clear(struct dir_privacy *c)
{
	if (c == NULL)
		return;
	free(c->purpose);
	free(c->notice_version);
	free(c->notice_sha256);
	free(c->via);
	memset(c, 0, sizeof(*c));
}

void
dir_privacy_list_free(struct dir_privacy *a, size_t n)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		dir_privacy_clear(&a[i]);
	free(a);
}

void
dir_org_history_free(struct dir_org_change *a, size_t n)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		dir_org_change_clear(&a[i]);
	free(a);
}

void
dir_mandate_clear(struct dir_mandate *m)
{
	if (m == NULL)
		return;
	free(m->role);
	free(m->granted_by);
	free(m->scopes);
	free(m->unit);
	free(m->position);
	memset(m, 0, sizeof(*m));
}

void
dir_mandate_list_free(struct dir_mandate *a, size_t n)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		dir_mandate_clear(&a[i]);
	free(a);
}

void
dir_legacy_clear(struct dir_legacy *l)
{
	if (l == NULL)
		return;
	free(l->source);
	free(l->legacy_id);
	free(l->username);
	memset(l, 0, sizeof(*l));
}

void
dir_legacy_list_free(struct dir_legacy *a, size_t n)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		dir_legacy_clear(&a[i]);
	free(a);
}

void
dir_cred_clear(struct dir_cred *c)
{
	if (c == NULL)
		return;
	free(c->scheme);
	yh_strfree_secret(c->hash);
	yh_strfree_secret(c->salt);
	memset(c, 0, sizeof(*c));
}

void
dir_totp_clear(struct dir_totp *t)
{
	if (t == NULL)
		return;
	yh_freezero(t->seed, t->seed_len);
	memset(t, 0, sizeof(*t));
}

void
dir_consent_clear(struct dir_consent *c)
{
	if (c == NULL)
		return;
	free(c->client_id);
	free(c->scopes);
	memset(c, 0, sizeof(*c));
}

void
dir_consent_list_free(struct dir_consent *a, size_t n)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		dir_consent_clear(&a[i]);
	free(a);
}

/* A backend's person record: the sealed strings are not secret, so plain free(). */
void
dir_person_rec_clear(struct dir_person_rec *r)
{
	if (r == NULL)
		return;
	free(r->p.id_number);
	free(r->p.name);
	free(r->p.phone);
	free(r->p.email);
	free(r->p.username);
	free(r->p.loa.method);
	free(r->p.loa.by);
	free(r->p.loa.evidence);
	free(r->p.origin);
	memset(r, 0, sizeof(*r));
}

static const char *const case_states[] = {
	[DIR_CASE_OPEN] = "open",
	[DIR_CASE_MERGED] = "merged",
	[DIR_CASE_SEPARATE] = "separate",
	[DIR_CASE_REJECTED] = "rejected",
};

const char *
dir_case_state_str(enum dir_case_state s)
{
	return (unsigned)s <= DIR_CASE_REJECTED ? case_states[s] : "?";
}

int
dir_case_state_parse(const char *s, enum dir_case_state *out)
{
	for (unsigned i = 0; s != NULL && i <= DIR_CASE_REJECTED; i++)
		if (strcmp(s, case_states[i]) == 0) {
			*out = (enum dir_case_state)i;
			return 0;
		}
	return YH_ERR_INVALID;
}

/* The body holds ID numbers and phones in clear: wiped. */
void
dir_case_clear(struct dir_case *c)
{
	if (c == NULL)
		return;
	free(c->reason);
	yh_strfree_secret(c->body);
	free(c->decided_by);
	free(c->note);
	memset(c, 0, sizeof(*c));
}

void
dir_case_list_free(struct dir_case *a, size_t n)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		dir_case_clear(&a[i]);
	free(a);
}

void
dir_pin_list_free(struct dir_pin_rec *a, size_t n)
{
	for (size_t i = 0; a != NULL && i < n; i++) {
		free(a[i].sector);
		free(a[i].sub);
	}
	free(a);
}

/* ---- name keys ---- */

void
dir_name_key(const char *name, char out[DIR_NAME_KEY_MAX + 1])
{
	if (name == NULL || mk_name_key(name, strlen(name), out, DIR_NAME_KEY_MAX + 1) != 0)
		out[0] = '\0';
}

void
dir_shared_list_free(char **names, char **vals, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(names != NULL ? names[i] : NULL);
		free(vals != NULL ? vals[i] : NULL);
	}
	free(names);
	free(vals);
}
