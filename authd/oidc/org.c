/*
 * Acting for an organization (scope org): the organizations a person may choose on the
 * /authorize choice page, and the yh_org claim, re-checked against the directory each
 * time it is issued. See authd/oidc/oidc.h and docs/integration.md.
 */
#include <stdlib.h>
#include <string.h>

#include "authd/oidc/oidc.h"
#include "identity/dir/dir.h"
#include "identity/idn/idnum.h"

/* Strength of a role: the page offers an organization once, in the strongest role. */
static int
role_rank(const char *role)
{
	if (strcmp(role, DIR_ROLE_LEGAL_REP) == 0)
		return 0;
	if (strcmp(role, DIR_ROLE_AGENT) == 0)
		return 1;
	if (strcmp(role, DIR_ROLE_ADMIN) == 0)
		return 2;
	return -1;
}

/* The static name of a known role (the directory's string is freed with its record). */
static const char *
role_static(const char *role)
{
	static const char *const roles[] = { DIR_ROLE_LEGAL_REP, DIR_ROLE_AGENT,
		DIR_ROLE_ADMIN };
	int k = role_rank(role);

	return k < 0 ? NULL : roles[k];
}

void
oidc_org_choices_free(struct oidc_org_choice *a, size_t n)
{
	for (size_t i = 0; a != NULL && i < n; i++) {
		free(a[i].name);
		free(a[i].scopes);
	}
	free(a);
}

/* Fills one choice from the mandate m and its organization o. */
static int
choice_set(struct oidc_org_choice *c, const struct dir_mandate *m, const struct dir_org *o)
{
	free(c->name);
	free(c->scopes);
	memset(c, 0, sizeof(*c));
	if (yh_strlcpy(c->uscc, o->uscc, sizeof(c->uscc)) != 0)
		return YH_ERR_INVALID;
	c->kind = idn_org_kind_str(o->kind);
	c->role = role_static(m->role);
	if ((c->name = strdup(o->name != NULL ? o->name : "")) == NULL ||
	    (strcmp(m->role, DIR_ROLE_AGENT) == 0 && m->scopes != NULL &&
	    (c->scopes = strdup(m->scopes)) == NULL))
		return YH_ERR_ALLOC;
	return 0;
}

/* Adds the relation m (of the organization o) to the list a of *n: a new entry, or a
 * stronger role for an organization listed already. */
static int
choice_add(struct oidc_org_choice *a, size_t *n, const struct dir_mandate *m,
    const struct dir_org *o)
{
	for (size_t i = 0; i < *n; i++) {
		if (strcmp(a[i].uscc, o->uscc) != 0)
			continue;
		if (role_rank(m->role) < role_rank(a[i].role))
			return choice_set(&a[i], m, o);
		return 0;
	}
	memset(&a[*n], 0, sizeof(a[*n]));
	(*n)++;
	return choice_set(&a[*n - 1], m, o);
}

int
oidc_org_choices(struct dir *dir, const char *uid, int64_t at,
    struct oidc_org_choice **out, size_t *n)
{
	struct dir_mandate *ms = NULL;
	struct oidc_org_choice *a = NULL;
	struct dir_org o;
	size_t nm = 0, k = 0;
	int r;

	*out = NULL;
	*n = 0;
	memset(&o, 0, sizeof(o));
	if ((r = dir_mandate_current(dir, uid, NULL, at, &ms, &nm)) != 0 || nm == 0)
		goto out;
	if ((a = calloc(nm, sizeof(*a))) == NULL) {
		r = YH_ERR_ALLOC;
		goto out;
	}
	for (size_t i = 0; r == 0 && i < nm; i++) {
		if (role_rank(ms[i].role) < 0)
			continue;
		dir_org_clear(&o);
		if ((r = dir_org_get(dir, ms[i].org_uid, &o)) == YH_ERR_NOT_FOUND) {
			r = 0;
			continue;
		}
		if (r == 0 && o.uscc != NULL && o.status == DIR_STATUS_ACTIVE)
			r = choice_add(a, &k, &ms[i], &o);
	}
out:
	dir_org_clear(&o);
	dir_mandate_list_free(ms, nm);
	if (r != 0 || k == 0) {
		oidc_org_choices_free(a, k);
		return r;
	}
	*out = a;
	*n = k;
	return 0;
}

const struct oidc_org_choice *
oidc_org_choice_find(const struct oidc_org_choice *a, size_t n, const char *code)
{
	struct idn_uscc u;

	if (code == NULL || idn_uscc_check(code, strnlen(code, IDN_INPUT_MAX + 1), &u) != IDN_OK)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strcmp(a[i].uscc, u.canonical) == 0)
			return &a[i];
	return NULL;
}

/* {"uscc", "name", "kind"} of o. */
static json_t *
org_json(const struct dir_org *o)
{
	return json_pack("{s:s, s:s, s:s}", "uscc", o->uscc, "name",
	    o->name != NULL ? o->name : "", "kind", idn_org_kind_str(o->kind));
}

/* Appends the words of the space-separated list s to the array a. */
static int
words_array(const char *s, json_t *a)
{
	struct yh_span rest = yh_span_cstr(s), w;

	while (yh_span_split(&rest, ' ', &w) == 0)
		if (w.len > 0 && json_array_append_new(a, json_stringn(w.p, w.len)) != 0)
			return YH_ERR_ALLOC;
	return 0;
}

/* The current relation of role that uid holds to the organization org_uid, if any. */
static const struct dir_mandate *
relation_of(const struct dir_mandate *ms, size_t nm, const char *org_uid, const char *role)
{
	for (size_t i = 0; i < nm; i++)
		if (strcmp(ms[i].org_uid, org_uid) == 0 && strcmp(ms[i].role, role) == 0)
			return &ms[i];
	return NULL;
}

/* 0 when uid is an active person, YH_ERR_DENIED when the person is not active,
 * YH_ERR_NOT_FOUND or the directory's error. The status alone is asked for: no sealed
 * field is opened, so no round trip to the vault on a token's path. */
static int
person_status(struct dir *dir, const char *uid)
{
	struct dir_person p;
	int r;

	if ((r = dir_person_get_opened(dir, uid, 0, &p)) == 0 && p.status != DIR_STATUS_ACTIVE)
		r = YH_ERR_DENIED;
	dir_person_clear(&p);
	return r;
}

/* 0 when uid is an active person, else YH_ERR_DENIED or the directory's error. */
static int
person_active(struct dir *dir, const char *uid)
{
	int r = person_status(dir, uid);

	return r == YH_ERR_NOT_FOUND || r == YH_ERR_INVALID ? YH_ERR_DENIED : r;
}

int
oidc_org_claim(struct dir *dir, const char *uid, const char *uscc, const char *role,
    int64_t at, json_t **out)
{
	struct dir_mandate *ms = NULL;
	const struct dir_mandate *m;
	struct dir_org o;
	json_t *c = NULL, *sc = NULL;
	size_t nm = 0;
	int r;

	bool holder = role != NULL && strcmp(role, OIDC_ORG_ROLE_CERT_HOLDER) == 0;

	*out = NULL;
	memset(&o, 0, sizeof(o));
	if (uscc == NULL || role == NULL || (role_rank(role) < 0 && !holder))
		return YH_ERR_DENIED;
	if ((r = dir_org_find_uscc(dir, uscc, &o)) != 0)
		goto out;
	if (o.status != DIR_STATUS_ACTIVE || o.uscc == NULL) {
		r = YH_ERR_DENIED;
		goto out;
	}
	if (holder) {
		/* The organization's own session, or the person a certificate login linked
		 * to it (authorize.h rule 5c): no relation in the directory to check. */
		m = NULL;
		if (strcmp(o.uid, uid) != 0 && (r = person_active(dir, uid)) != 0)
			goto out;
	} else if ((r = dir_mandate_current(dir, uid, NULL, at, &ms, &nm)) != 0) {
		goto out;
	} else if ((m = relation_of(ms, nm, o.uid, role)) == NULL) {
		r = YH_ERR_DENIED;
		goto out;
	}
	r = YH_ERR_ALLOC;
	if ((c = org_json(&o)) == NULL ||
	    json_object_set_new(c, "role", json_string(role)) != 0)
		goto out;
	if (m != NULL && strcmp(role, DIR_ROLE_AGENT) == 0 && m->scopes != NULL) {
		if ((sc = json_array()) == NULL || (r = words_array(m->scopes, sc)) != 0 ||
		    (r = json_object_set(c, "scopes", sc) == 0 ? 0 : YH_ERR_ALLOC) != 0)
			goto out;
	}
	*out = c;
	c = NULL;
	r = 0;
out:
	if (r == YH_ERR_NOT_FOUND)
		r = YH_ERR_DENIED;
	json_decref(sc);
	json_decref(c);
	dir_mandate_list_free(ms, nm);
	dir_org_clear(&o);
	return r;
}

int
oidc_org_client_claim(struct dir *dir, const char *uscc, json_t **out)
{
	struct dir_org o;
	int r;

	*out = NULL;
	memset(&o, 0, sizeof(o));
	if ((r = dir_org_find_uscc(dir, uscc, &o)) == YH_ERR_NOT_FOUND)
		r = YH_ERR_DENIED;
	else if (r == 0 && (o.status != DIR_STATUS_ACTIVE || o.uscc == NULL))
		r = YH_ERR_DENIED;
	else if (r == 0 && (*out = org_json(&o)) == NULL)
		r = YH_ERR_ALLOC;
	dir_org_clear(&o);
	return r;
}

int
oidc_subject_active(struct dir *dir, const char *uid)
{
	char uscc[OIDC_USCC_SIZE];
	int r;

	if ((r = person_status(dir, uid)) == YH_ERR_NOT_FOUND &&
	    (r = oidc_org_self(dir, uid, uscc)) == YH_ERR_NOT_FOUND)
		r = YH_ERR_DENIED;
	return r;
}

int
oidc_org_self(struct dir *dir, const char *uid, char uscc[OIDC_USCC_SIZE])
{
	struct dir_org o;
	int r;

	uscc[0] = '\0';
	if (!dir_uid_valid(uid))
		return YH_ERR_NOT_FOUND;
	memset(&o, 0, sizeof(o));
	r = dir_org_get(dir, uid, &o);
	if (r == 0 && (o.status != DIR_STATUS_ACTIVE || o.uscc == NULL ||
	    yh_strlcpy(uscc, o.uscc, OIDC_USCC_SIZE) != 0))
		r = YH_ERR_NOT_FOUND;
	dir_org_clear(&o);
	return r;
}
