/*
 * authctl org add|show|list|change|deregister|purge|agent|admin: organizations (legal persons)
 * in the directory and the persons who act for them. An operator names an organization
 * by its unified social credit code and a person by their resident ID number; output
 * and the audit trail show ID numbers masked and persons by uid. Each change is one
 * directory transaction (the record, its relations and its history entry) followed by
 * an audit event naming the operator, who is also the actor in the history.
 *
 * Rules an operator meets here (the directory enforces them too, dir.h): an agent must
 * be an active person at LoA 2 or more (real-name verified); the legal representative
 * is not made an agent of their own organization (they act for it already, and a grant
 * would outlive their office unnoticed); an admin may be anyone active; nothing is
 * granted for a deregistered or revoked organization; --until is a date that has not
 * passed (valid through that day, China Standard Time).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "authctl/ctl.h"
#include "common/secmem.h"
#include "common/timeutil.h"
#include "identity/identity.h"
#include "identity/idn/idnum.h"

#define ORG_SCOPES_MAX 2048   /* bytes of the --scope values joined */
#define ORG_PERSONS_MAX 4096  /* persons told to authd when an organization is deregistered */

struct oopts {
	const char *uscc, *name, *kind, *legal_rep, *authority, *established, *id_number,
	    *until, *older_than;
	char scopes[ORG_SCOPES_MAX];
	bool registry_unavailable_ok;   /* --registry-unavailable-ok */
	bool dry_run;                   /* --dry-run */
	const char *code;    /* the positional credit code */
	const char *cmd;     /* for messages: "add", "agent add", ... */
};

enum {
	O_USCC = 1u << 0, O_NAME = 1u << 1, O_KIND = 1u << 2, O_LEGAL_REP = 1u << 3,
	O_AUTHORITY = 1u << 4, O_ESTABLISHED = 1u << 5, O_ID_NUMBER = 1u << 6,
	O_UNTIL = 1u << 7, O_SCOPE = 1u << 8, O_REG_OK = 1u << 9, O_OLDER_THAN = 1u << 10,
	O_DRY_RUN = 1u << 11,
};

static const struct {
	const char *flag;
	unsigned bit;
	size_t offset;      /* of the const char * in struct oopts; --scope appends */
} oopt_defs[] = {
	{ "--uscc", O_USCC, offsetof(struct oopts, uscc) },
	{ "--name", O_NAME, offsetof(struct oopts, name) },
	{ "--kind", O_KIND, offsetof(struct oopts, kind) },
	{ "--legal-rep", O_LEGAL_REP, offsetof(struct oopts, legal_rep) },
	{ "--authority", O_AUTHORITY, offsetof(struct oopts, authority) },
	{ "--established", O_ESTABLISHED, offsetof(struct oopts, established) },
	{ "--id-number", O_ID_NUMBER, offsetof(struct oopts, id_number) },
	{ "--until", O_UNTIL, offsetof(struct oopts, until) },
	{ "--scope", O_SCOPE, 0 },
	{ "--registry-unavailable-ok", O_REG_OK, 0 },
	{ "--older-than", O_OLDER_THAN, offsetof(struct oopts, older_than) },
	{ "--dry-run", O_DRY_RUN, 0 },
};

/* Appends one --scope value to o->scopes. */
static int
add_scope(struct oopts *o, const char *v)
{
	size_t n = strlen(o->scopes);

	if (v[0] == '\0' || strchr(v, ' ') != NULL)
		return ctl_fail("org %s: --scope takes one scope name", o->cmd);
	if (n + strlen(v) + 2 > sizeof(o->scopes))
		return ctl_fail("org %s: too many --scope values", o->cmd);
	snprintf(o->scopes + n, sizeof(o->scopes) - n, "%s%s", n > 0 ? " " : "", v);
	return 0;
}

/* Parses argv[first..] allowing the options in mask and, when want_code, exactly one
 * positional credit code. Returns 0 or 2 (after a message). */
static int
parse_opts(int argc, char **argv, int first, const char *cmd, unsigned mask,
    bool want_code, struct oopts *o)
{
	memset(o, 0, sizeof(*o));
	o->cmd = cmd;
	for (int i = first; i < argc; i++) {
		size_t k = 0, nd = sizeof(oopt_defs) / sizeof(oopt_defs[0]);

		if (argv[i][0] != '-' || argv[i][1] == '\0') {
			if (!want_code || o->code != NULL)
				return ctl_fail("org %s: unexpected argument '%s'", cmd, argv[i]);
			o->code = argv[i];
			continue;
		}
		while (k < nd && strcmp(oopt_defs[k].flag, argv[i]) != 0)
			k++;
		if (k == nd || (oopt_defs[k].bit & mask) == 0)
			return ctl_fail("org %s: unknown option '%s'", cmd, argv[i]);
		if (oopt_defs[k].bit == O_REG_OK || oopt_defs[k].bit == O_DRY_RUN) {
			*(oopt_defs[k].bit == O_REG_OK ? &o->registry_unavailable_ok : &o->dry_run) =
			    true;
			continue;
		}
		if (i + 1 >= argc)
			return ctl_fail("org %s: %s needs a value", cmd, argv[i]);
		if (oopt_defs[k].bit == O_SCOPE) {
			if (add_scope(o, argv[++i]) != 0)
				return 2;
			continue;
		}
		*(const char **)(void *)((char *)o + oopt_defs[k].offset) = argv[++i];
	}
	if (want_code && o->code == NULL)
		return ctl_fail("org %s: missing the organization's credit code", cmd);
	return 0;
}

/* Records an operator action on an organization; takes ownership of fields. */
static int
record(struct ident *id, const char *event, const struct dir_org *org, json_t *fields)
{
	int r;

	if (fields == NULL)
		fields = json_object();
	/* "org_uid" names the organization as token.issue and authd's org.grants.end do,
	 * whose "org" is the credit code (masked in the log when it is all digits). */
	json_object_set_new(fields, "org", json_string(org->uid));
	json_object_set_new(fields, "org_uid", json_string(org->uid));
	if (org->uscc != NULL)
		json_object_set_new(fields, "uscc", json_string(org->uscc));
	r = ctl_record(id, event, fields);
	json_decref(fields);
	return r;
}

/*
 * After a relation of the persons uids[0..n) to org ended in the directory: asks the
 * running authd to end the grants in which they act for it (its control socket's
 * org_relation_ended: refresh families and access tokens revoked, back-channel logout
 * to their apps). Sets "grants_ended" in j to the number of refresh families revoked, or
 * null when authd is not running (a note on stderr: the directory change stands, and
 * authd's re-checks at refresh and userinfo refuse those grants). Returns 0, or 2 after
 * a message when authd is running but did not end them.
 */
static int
end_org_grants(const struct ident *id, const char *org_uid, const char (*uids)[DIR_UID_LEN + 1],
    size_t n, json_t *j)
{
	char err[512];
	size_t total = 0;
	int r = 0;

	for (size_t i = 0; r == 0 && i < n; i++) {
		json_t *req = json_pack("{s:s, s:s, s:s}", "cmd", "org_relation_ended", "uid",
		    uids[i], "org", org_uid), *rep = NULL;

		if ((r = ctl_control(id, req, "families", &rep, err, sizeof(err))) == 0)
			total += (size_t)json_integer_value(json_object_get(rep, "families"));
		json_decref(req);
		json_decref(rep);
	}
	json_object_set_new(j, "grants_ended", r == 0 ? json_integer((json_int_t)total) :
	    json_null());
	if (r == 0)
		return 0;
	if (r == YH_ERR_UNAVAILABLE) {
		fprintf(stderr, "authctl: note: %s: the tokens issued for the organization were "
		    "not revoked now; authd refuses them at their next refresh or userinfo call\n",
		    err);
		return 0;
	}
	return ctl_fail("the relation ended, but the tokens issued for the organization were "
	    "not revoked: %s", err);
}

/* The persons who held a relation to org_uid that was not revoked (deregistration
 * ends them all): at most max distinct uids into uids, *n of them. */
static int
org_persons(struct dir *d, const char *org_uid, char (*uids)[DIR_UID_LEN + 1], size_t max,
    size_t *n)
{
	struct dir_mandate *list = NULL;
	size_t nl = 0;
	int r;

	*n = 0;
	if ((r = dir_mandate_list_org(d, org_uid, 0, &list, &nl)) != 0)
		return r;
	for (size_t i = 0; i < nl; i++) {
		size_t k = 0;

		if (list[i].revoked != 0 || strcmp(list[i].role, DIR_ROLE_STAFF) == 0)
			continue;
		while (k < *n && strcmp(uids[k], list[i].person_uid) != 0)
			k++;
		if (k < *n)
			continue;
		if (*n == max) {
			r = YH_ERR_LIMIT;
			break;
		}
		memcpy(uids[(*n)++], list[i].person_uid, DIR_UID_LEN + 1);
	}
	dir_mandate_list_free(list, nl);
	return r;
}

/* Checks a credit code given on the command line. 0 or 2 after a message. */
static int
check_uscc(const char *code)
{
	struct idn_uscc u;
	enum idn_reason why;

	if (strlen(code) > IDN_INPUT_MAX)
		return ctl_fail("invalid credit code: %s", idn_reason_str(IDN_BAD_LENGTH));
	if ((why = idn_uscc_check(code, strlen(code), &u)) != IDN_OK)
		return ctl_fail("invalid credit code: %s", idn_reason_str(why));
	return 0;
}

int
ctl_find_org(struct dir *d, const char *code, struct dir_org *org)
{
	int r;

	memset(org, 0, sizeof(*org));
	if ((r = check_uscc(code)) != 0)
		return r;
	if ((r = dir_org_find_uscc(d, code, org)) == 0)
		return 0;
	if (r == YH_ERR_NOT_FOUND) {
		ctl_fail("no organization with credit code %s", code);
		return 1;
	}
	return ctl_fail("cannot read the directory: %s", yh_strerror(r));
}

int
ctl_find_active_org(struct dir *d, const char *code, struct dir_org *org)
{
	int r;

	if ((r = ctl_find_org(d, code, org)) != 0)
		return r;
	if (org->status == DIR_STATUS_ACTIVE)
		return 0;
	return ctl_fail("organization %s is %s: it cannot be changed and grants nothing",
	    org->uscc, dir_status_str(org->status));
}

int
ctl_find_person(struct dir *d, const char *idnum, struct dir_person *p)
{
	struct idn_resident idr;
	enum idn_reason why;
	int r;

	memset(p, 0, sizeof(*p));
	if (strlen(idnum) > IDN_INPUT_MAX)
		return ctl_fail("invalid ID number: %s", idn_reason_str(IDN_BAD_LENGTH));
	why = idn_resident_check(idnum, strlen(idnum), &idr);
	yh_wipe(&idr, sizeof(idr));
	if (why != IDN_OK)
		return ctl_fail("invalid ID number: %s", idn_reason_str(why));
	if ((r = dir_person_find_id_number(d, idnum, p)) == 0)
		return 0;
	if (r == YH_ERR_NOT_FOUND) {
		ctl_fail("no person with this ID number (add them with authctl user add)");
		return 1;
	}
	return ctl_fail("cannot read the directory: %s", yh_strerror(r));
}

/* --kind into *k (UNSPECIFIED when absent). 0 or 2. */
static int
parse_kind(const struct oopts *o, enum idn_org_kind *k)
{
	*k = IDN_ORG_KIND_UNSPECIFIED;
	if (o->kind != NULL && idn_org_kind_parse(o->kind, k) != 0)
		return ctl_fail("org %s: --kind must be enterprise, individual_business, "
		    "social_organization, government_agency, public_institution or "
		    "unspecified", o->cmd);
	return 0;
}

/* Refuses a --kind the credit code contradicts, and a bad --established. 0 or 2. */
static int
check_fields(const struct oopts *o, const char *uscc, enum idn_org_kind k)
{
	struct idn_uscc u;
	enum idn_org_kind derived = IDN_ORG_KIND_UNSPECIFIED;
	int y = 0, m = 0, d = 0;

	if (uscc != NULL && idn_uscc_check(uscc, strlen(uscc), &u) == IDN_OK)
		derived = idn_uscc_kind(&u);
	if (derived != IDN_ORG_KIND_UNSPECIFIED && k != IDN_ORG_KIND_UNSPECIFIED && k != derived)
		return ctl_fail("org %s: the credit code says the kind is %s (GB 32100), not %s",
		    o->cmd, idn_org_kind_str(derived), idn_org_kind_str(k));
	if (o->established == NULL)
		return 0;
	if (!yh_date_parse(o->established, &y, &m, &d))
		return ctl_fail("org %s: --established must be a date YYYY-MM-DD", o->cmd);
	if (y * 10000 + m * 100 + d > yh_today_cst())
		return ctl_fail("org %s: --established is in the future", o->cmd);
	return 0;
}

/* The directory's answer to an organization write, as one line. */
static int
org_write_error(int r)
{
	if (r == YH_ERR_EXISTS)
		return ctl_fail("an organization with this credit code (or its organization "
		    "code) already exists");
	if (r == YH_ERR_INVALID || r == YH_ERR_TOO_LONG)
		return ctl_fail("invalid --name, --authority or --established");
	return ctl_fail("cannot write the organization: %s", yh_strerror(r));
}

static int
org_add(int argc, char **argv)
{
	struct oopts o;
	struct dir_org in;
	struct dir_person rep;
	struct ident *id = NULL;
	char uid[DIR_UID_LEN + 1], actor[96];
	enum fed_reg_outcome checked = FED_REG_UNAVAILABLE;
	struct fed_reg *reg = NULL;
	enum idn_org_kind kind;
	int r;

	memset(&rep, 0, sizeof(rep));
	if ((r = parse_opts(argc, argv, 2, "add", O_USCC | O_NAME | O_KIND | O_LEGAL_REP |
	    O_AUTHORITY | O_ESTABLISHED | O_REG_OK, false, &o)) != 0)
		return r;
	if (o.uscc == NULL || o.name == NULL)
		return ctl_fail("org add: --uscc and --name are required");
	if ((r = check_uscc(o.uscc)) != 0 || (r = parse_kind(&o, &kind)) != 0 ||
	    (r = check_fields(&o, o.uscc, kind)) != 0)
		return r;
	if ((r = ctl_registry_open(&reg)) != 0)
		return r;
	if ((r = ctl_open_state(true, &id)) != 0)
		goto out;
	if (o.legal_rep != NULL && (r = ctl_find_person(id->dir, o.legal_rep, &rep)) != 0)
		goto out;
	if ((r = ctl_registry_org(id, reg, &(struct fed_reg_org){ o.uscc, o.name, rep.name,
	    rep.id_number }, o.registry_unavailable_ok, "add", &checked)) != 0)
		goto out;
	memset(&in, 0, sizeof(in));
	in.uscc = (char *)o.uscc;
	in.name = (char *)o.name;
	in.kind = kind;
	in.authority = (char *)o.authority;
	in.established = (char *)o.established;
	in.status = DIR_STATUS_ACTIVE;
	memcpy(in.legal_rep_uid, rep.uid, sizeof(in.legal_rep_uid));
	ctl_operator_name(actor, sizeof(actor));
	if ((r = dir_org_add(id->dir, &in, actor, uid)) != 0) {
		r = org_write_error(r);
		goto out;
	}
	memcpy(in.uid, uid, sizeof(in.uid));
	if ((r = record(id, "org.add", &in, json_pack("{s:s?, s:s?}", "legal_rep",
	    rep.uid[0] != '\0' ? rep.uid : NULL, "registry", fed_reg_enabled(reg, FED_REG_ORG) ?
	    fed_reg_outcome_name(checked) : NULL))) != 0)
		goto out;
	printf("%s\n", uid);
out:
	dir_person_clear(&rep);
	ident_close(id);
	ctl_registry_close(reg);
	return r;
}

json_t *
ctl_person_brief(struct dir *d, const char *uid)
{
	struct dir_person p;
	char idm[40];
	json_t *j;

	if (uid == NULL || uid[0] == '\0')
		return json_null();
	if (dir_person_get(d, uid, &p) != 0)
		return json_pack("{s:s}", "uid", uid);
	idn_mask(p.id_number, idm, sizeof(idm));
	j = json_pack("{s:s, s:s, s:s, s:s, s:i}", "uid", p.uid, "name", p.name, "id_number",
	    idm, "status", dir_status_str(p.status), "loa", p.loa.level);
	dir_person_clear(&p);
	return j;
}

static json_t *
relation_json(struct dir *d, const struct dir_mandate *m, int64_t now)
{
	json_t *j = json_object();

	if (j == NULL)
		return NULL;
	ctl_set_str(j, "id", m->id);
	ctl_set_str(j, "role", m->role);
	json_object_set_new(j, "person", ctl_person_brief(d, m->person_uid));
	ctl_set_str(j, "granted_by", m->granted_by);
	ctl_set_time(j, "not_before", m->not_before);
	ctl_set_time(j, "until", m->until);
	ctl_set_str(j, "scopes", m->scopes);
	ctl_set_time(j, "revoked", m->revoked);
	json_object_set_new(j, "in_force", json_boolean(dir_mandate_in_force(m, now)));
	return j;
}

/* The organization's relations (role NULL: all; else that role's unrevoked ones). */
static json_t *
relations_json(struct dir *d, const char *org_uid, const char *role)
{
	struct dir_mandate *list = NULL;
	json_t *arr = json_array();
	int64_t now = yh_now();
	size_t n = 0;

	if (arr == NULL || dir_mandate_list_org(d, org_uid, 0, &list, &n) != 0) {
		json_decref(arr);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (role == NULL || (strcmp(list[i].role, role) == 0 && list[i].revoked == 0))
			json_array_append_new(arr, relation_json(d, &list[i], now));
	dir_mandate_list_free(list, n);
	return arr;
}

static json_t *
history_json(struct dir *d, const char *org_uid)
{
	struct dir_org_change *h = NULL;
	json_t *arr = json_array();
	size_t n = 0;

	if (arr == NULL || dir_org_history(d, org_uid, &h, &n) != 0) {
		json_decref(arr);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_object();

		ctl_set_str(e, "field", h[i].field);
		ctl_set_str(e, "old", h[i].old_value);
		ctl_set_str(e, "new", h[i].new_value);
		ctl_set_str(e, "actor", h[i].actor);
		ctl_set_time(e, "at", h[i].at);
		json_array_append_new(arr, e);
	}
	dir_org_history_free(h, n);
	return arr;
}

static json_t *
org_json(struct dir *d, const struct dir_org *o)
{
	json_t *j = json_object();

	if (j == NULL)
		return NULL;
	ctl_set_str(j, "uid", o->uid);
	ctl_set_str(j, "uscc", o->uscc);
	ctl_set_str(j, "org_code", o->org_code);
	ctl_set_str(j, "name", o->name);
	ctl_set_str(j, "kind", idn_org_kind_str(o->kind));
	ctl_set_str(j, "status", dir_status_str(o->status));
	json_object_set_new(j, "legal_rep", ctl_person_brief(d, o->legal_rep_uid));
	ctl_set_str(j, "authority", o->authority);
	ctl_set_str(j, "established", o->established);
	ctl_set_time(j, "created", o->created);
	ctl_set_time(j, "updated", o->updated);
	return j;
}

static int
org_show(int argc, char **argv)
{
	struct oopts o;
	struct dir_org org;
	struct ident *id = NULL;
	json_t *j;
	int r;

	memset(&org, 0, sizeof(org));
	if ((r = parse_opts(argc, argv, 2, "show", 0, true, &o)) != 0 ||
	    (r = ctl_open_state(false, &id)) != 0)
		return r;
	if ((r = ctl_find_org(id->dir, o.code, &org)) != 0)
		goto out;
	if ((j = org_json(id->dir, &org)) == NULL) {
		r = ctl_fail("out of memory");
		goto out;
	}
	json_object_set_new(j, "relations", relations_json(id->dir, org.uid, NULL));
	json_object_set_new(j, "history", history_json(id->dir, org.uid));
	r = ctl_print_json(j);
out:
	dir_org_clear(&org);
	ident_close(id);
	return r;
}

static int
org_list(int argc, char **argv)
{
	struct oopts o;
	struct dir_org *list = NULL;
	struct ident *id = NULL;
	size_t n = 0;
	int r;

	if ((r = parse_opts(argc, argv, 2, "list", 0, false, &o)) != 0 ||
	    (r = ctl_open_state(false, &id)) != 0)
		return r;
	if ((r = dir_org_list(id->dir, 0, DIR_LIST_MAX, &list, &n)) != 0)
		r = ctl_fail("cannot read the directory: %s", yh_strerror(r));
	for (size_t i = 0; r == 0 && i < n; i++)
		r = ctl_print_json(org_json(id->dir, &list[i]));
	dir_org_list_free(list, n);
	ident_close(id);
	return r;
}

static int
org_change(int argc, char **argv)
{
	struct oopts o;
	struct dir_org org, in;
	struct dir_person rep;
	struct ident *id = NULL;
	char actor[96], prev[1][DIR_UID_LEN + 1];
	enum idn_org_kind kind;
	bool old_rep;
	json_t *j;
	int r;

	memset(&org, 0, sizeof(org));
	memset(&rep, 0, sizeof(rep));
	if ((r = parse_opts(argc, argv, 2, "change", O_NAME | O_KIND | O_LEGAL_REP |
	    O_AUTHORITY | O_ESTABLISHED, true, &o)) != 0 || (r = parse_kind(&o, &kind)) != 0)
		return r;
	if (o.name == NULL && o.kind == NULL && o.legal_rep == NULL && o.authority == NULL &&
	    o.established == NULL)
		return ctl_fail("org change: nothing to change");
	if ((r = ctl_open_state(false, &id)) != 0)
		return r;
	if ((r = ctl_find_active_org(id->dir, o.code, &org)) != 0 ||
	    (r = check_fields(&o, org.uscc, kind)) != 0)
		goto out;
	if (o.legal_rep != NULL && (r = ctl_find_person(id->dir, o.legal_rep, &rep)) != 0)
		goto out;
	in = org;
	in.uscc = in.org_code = NULL;
	if (o.name != NULL)
		in.name = (char *)o.name;
	if (o.kind != NULL)
		in.kind = kind;
	if (o.authority != NULL)
		in.authority = (char *)o.authority;
	if (o.established != NULL)
		in.established = (char *)o.established;
	if (o.legal_rep != NULL)
		memcpy(in.legal_rep_uid, rep.uid, sizeof(in.legal_rep_uid));
	ctl_operator_name(actor, sizeof(actor));
	if ((r = dir_org_update(id->dir, &in, actor)) != 0) {
		r = org_write_error(r);
		goto out;
	}
	if ((r = record(id, "org.change", &org, json_pack("{s:s?, s:s?}", "legal_rep_from",
	    o.legal_rep != NULL && org.legal_rep_uid[0] != '\0' ? org.legal_rep_uid : NULL,
	    "legal_rep", o.legal_rep != NULL ? rep.uid : NULL))) != 0)
		goto out;
	old_rep = o.legal_rep != NULL && org.legal_rep_uid[0] != '\0' &&
	    strcmp(org.legal_rep_uid, rep.uid) != 0;
	memcpy(prev, org.legal_rep_uid, sizeof(prev));
	dir_org_clear(&org);
	if ((r = ctl_find_org(id->dir, o.code, &org)) != 0)
		goto out;
	if ((j = org_json(id->dir, &org)) == NULL) {
		r = ctl_fail("out of memory");
		goto out;
	}
	/* The former legal representative acts for the organization no more. */
	r = old_rep ? end_org_grants(id, org.uid, (const char (*)[DIR_UID_LEN + 1])prev, 1,
	    j) : 0;
	if (ctl_print_json(j) != 0)
		r = 2;
out:
	dir_org_clear(&org);
	dir_person_clear(&rep);
	ident_close(id);
	return r;
}

static int
org_deregister(int argc, char **argv)
{
	struct oopts o;
	struct dir_org org;
	struct ident *id = NULL;
	char actor[96], (*uids)[DIR_UID_LEN + 1] = NULL;
	size_t n = 0;
	json_t *j;
	int r;

	memset(&org, 0, sizeof(org));
	if ((r = parse_opts(argc, argv, 2, "deregister", 0, true, &o)) != 0 ||
	    (r = ctl_open_state(false, &id)) != 0)
		return r;
	if ((r = ctl_find_active_org(id->dir, o.code, &org)) != 0)
		goto out;
	if ((uids = calloc(ORG_PERSONS_MAX, sizeof(*uids))) == NULL) {
		r = ctl_fail("out of memory");
		goto out;
	}
	if ((r = org_persons(id->dir, org.uid, uids, ORG_PERSONS_MAX, &n)) == YH_ERR_LIMIT)
		fprintf(stderr, "authctl: note: more than %d persons act for the organization: "
		    "the tokens of the first %d are revoked now, the others' at their next "
		    "refresh or userinfo call\n", ORG_PERSONS_MAX, ORG_PERSONS_MAX);
	else if (r != 0) {
		r = ctl_fail("cannot read the organization's relations: %s", yh_strerror(r));
		goto out;
	}
	ctl_operator_name(actor, sizeof(actor));
	if ((r = dir_org_set_status(id->dir, org.uid, DIR_STATUS_DEREGISTERED, actor)) != 0) {
		r = ctl_fail("cannot change the status: %s", yh_strerror(r));
		goto out;
	}
	if ((r = record(id, "org.deregister", &org, NULL)) != 0)
		goto out;
	/* Everyone who acted for it acts for it no more. */
	if ((j = json_pack("{s:s, s:s}", "uid", org.uid, "status", "deregistered")) == NULL) {
		r = ctl_fail("out of memory");
		goto out;
	}
	r = end_org_grants(id, org.uid, (const char (*)[DIR_UID_LEN + 1])uids, n, j);
	if (ctl_print_json(j) != 0)
		r = 2;
out:
	free(uids);
	dir_org_clear(&org);
	ident_close(id);
	return r;
}

/* Erases one closed organization t (closed on day, before `before`) and records
 * org.purge with its uid, credit code (public register data) and that date. Returns 0
 * or 2 (after a message). */
static int
purge_one(struct ident *id, const struct dir_tombstone *t, const char *day, int64_t before)
{
	struct dir_org org;
	int r;

	memset(&org, 0, sizeof(org));
	if ((r = dir_org_get(id->dir, t->uid, &org)) != 0)
		return ctl_fail("organization %s was not purged: %s", t->uid, yh_strerror(r));
	if ((r = dir_org_purge(id->dir, t->uid, before)) != 0)
		r = ctl_fail("organization %s was not purged: %s", t->uid, yh_strerror(r));
	else
		r = record(id, "org.purge", &org, json_pack("{s:s, s:s}", "closed", day,
		    "status", dir_status_str(org.status)));
	dir_org_clear(&org);
	return r;
}

/* purge --older-than DAYS [--dry-run]: erases the organizations deregistered or revoked
 * more than DAYS days ago (dir_org_purge), one transaction each, or lists them. */
static int
org_purge(int argc, char **argv)
{
	static const struct ctl_purge_ops ops = { "org purge", "organizations",
	    dir_org_tombstones, purge_one };
	struct oopts o;
	int r;

	if ((r = parse_opts(argc, argv, 2, "purge", O_OLDER_THAN | O_DRY_RUN, false, &o)) != 0)
		return r;
	return ctl_purge(&ops, o.older_than, o.dry_run);
}

/* Unix seconds at which a relation given "--until YYYY-MM-DD" ends: the start of the
 * next day in China Standard Time (yh_date_until_cst). 0 or 2 (a bad or past date). */
static int
parse_until(const struct oopts *o, int64_t *until)
{
	int r;

	*until = 0;
	if (o->until == NULL)
		return 0;
	if ((r = yh_date_until_cst(o->until, yh_now(), until)) == YH_ERR_INVALID)
		return ctl_fail("org %s: --until must be a date YYYY-MM-DD", o->cmd);
	if (r != 0)
		return ctl_fail("org %s: --until %s is in the past", o->cmd, o->until);
	return 0;
}

/* The directory's answer to a grant, as one line. */
static int
grant_error(int r, const char *role, const struct dir_person *p)
{
	if (r == YH_ERR_CONFLICT)
		return ctl_fail("this person is the organization's legal representative, who "
		    "acts for it without a grant");
	if (r == YH_ERR_EXISTS)
		return ctl_fail("this person is already %s of the organization (remove it first "
		    "to change it)", strcmp(role, DIR_ROLE_AGENT) == 0 ? "an agent" : "an admin");
	if (r == YH_ERR_DENIED && p->status != DIR_STATUS_ACTIVE)
		return ctl_fail("the person is %s", dir_status_str(p->status));
	if (r == YH_ERR_DENIED)
		return ctl_fail("an agent must be real-name verified (LoA 2 or more); this "
		    "person is at LoA %d (authctl user verify)", p->loa.level);
	if (r == YH_ERR_INVALID || r == YH_ERR_TOO_LONG || r == YH_ERR_LIMIT)
		return ctl_fail("invalid --scope or --until");
	return ctl_fail("cannot record the grant: %s", yh_strerror(r));
}

/* Before an agent is granted: the legal-person registry still confirms the organization
 * as the directory has it (credit code, name, legal representative). 0, 1 or 2. */
static int
check_org_registry(const struct ident *id, struct fed_reg *reg, const struct dir_org *org,
    const struct oopts *o)
{
	enum fed_reg_outcome out;
	struct dir_person rep;
	int r;

	memset(&rep, 0, sizeof(rep));
	if (!fed_reg_enabled(reg, FED_REG_ORG))
		return 0;
	if (org->uscc == NULL)
		return ctl_fail("org %s: the organization has no credit code for the legal-person "
		    "registry", o->cmd);
	if (org->legal_rep_uid[0] != '\0' && (r = dir_person_get(id->dir, org->legal_rep_uid,
	    &rep)) != 0)
		return ctl_fail("cannot read the legal representative: %s", yh_strerror(r));
	r = ctl_registry_org(id, reg, &(struct fed_reg_org){ org->uscc, org->name, rep.name,
	    rep.id_number }, o->registry_unavailable_ok, o->cmd, &out);
	dir_person_clear(&rep);
	return r;
}

/* agent add / admin add. */
static int
rel_add(int argc, char **argv, const char *role)
{
	struct oopts o;
	struct dir_org org;
	struct dir_person p;
	struct dir_mandate m;
	struct ident *id = NULL;
	char rid[DIR_UID_LEN + 1], actor[96];
	bool agent = strcmp(role, DIR_ROLE_AGENT) == 0;
	struct fed_reg *reg = NULL;
	int64_t until = 0;
	int r;

	memset(&org, 0, sizeof(org));
	memset(&p, 0, sizeof(p));
	if ((r = parse_opts(argc, argv, 3, agent ? "agent add" : "admin add", O_ID_NUMBER |
	    (agent ? O_UNTIL | O_SCOPE | O_REG_OK : 0), true, &o)) != 0 ||
	    (r = parse_until(&o, &until)) != 0)
		return r;
	if (o.id_number == NULL)
		return ctl_fail("org %s: --id-number is required", o.cmd);
	if (agent && (r = ctl_registry_open(&reg)) != 0)
		return r;
	if ((r = ctl_open_state(false, &id)) != 0)
		goto out;
	if ((r = ctl_find_active_org(id->dir, o.code, &org)) != 0 ||
	    (r = ctl_find_person(id->dir, o.id_number, &p)) != 0)
		goto out;
	if (agent && (r = check_org_registry(id, reg, &org, &o)) != 0)
		goto out;
	ctl_operator_name(actor, sizeof(actor));
	memset(&m, 0, sizeof(m));
	memcpy(m.person_uid, p.uid, sizeof(m.person_uid));
	memcpy(m.org_uid, org.uid, sizeof(m.org_uid));
	m.role = (char *)role;
	m.granted_by = actor;
	m.until = until;
	m.scopes = o.scopes;
	if ((r = dir_mandate_add(id->dir, &m, actor, rid)) != 0) {
		r = grant_error(r, role, &p);
		goto out;
	}
	if ((r = record(id, agent ? "org.agent.add" : "org.admin.add", &org,
	    json_pack("{s:s, s:s, s:I, s:s?}", "person", p.uid, "relation", rid, "until",
	    (json_int_t)until, "scopes", o.scopes[0] != '\0' ? o.scopes : NULL))) != 0)
		goto out;
	printf("%s\n", rid);
out:
	dir_person_clear(&p);
	dir_org_clear(&org);
	ident_close(id);
	ctl_registry_close(reg);
	return r;
}

/* agent remove / admin remove: ends the person's relations of that role. */
static int
rel_remove(int argc, char **argv, const char *role)
{
	struct oopts o;
	struct dir_org org;
	struct dir_person p;
	struct ident *id = NULL;
	char actor[96], who[1][DIR_UID_LEN + 1];
	bool agent = strcmp(role, DIR_ROLE_AGENT) == 0;
	size_t ended = 0;
	json_t *j;
	int r;

	memset(&org, 0, sizeof(org));
	memset(&p, 0, sizeof(p));
	if ((r = parse_opts(argc, argv, 3, agent ? "agent remove" : "admin remove",
	    O_ID_NUMBER, true, &o)) != 0)
		return r;
	if (o.id_number == NULL)
		return ctl_fail("org %s: --id-number is required", o.cmd);
	if ((r = ctl_open_state(false, &id)) != 0)
		return r;
	if ((r = ctl_find_org(id->dir, o.code, &org)) != 0 ||
	    (r = ctl_find_person(id->dir, o.id_number, &p)) != 0)
		goto out;
	ctl_operator_name(actor, sizeof(actor));
	if ((r = dir_mandate_end(id->dir, org.uid, p.uid, role, actor, &ended)) != 0) {
		if (r == YH_ERR_NOT_FOUND) {
			ctl_fail("this person is not %s of the organization",
			    agent ? "an agent" : "an admin");
			r = 1;
		} else
			r = ctl_fail("cannot end the relation: %s", yh_strerror(r));
		goto out;
	}
	if ((r = record(id, agent ? "org.agent.remove" : "org.admin.remove", &org,
	    json_pack("{s:s, s:I}", "person", p.uid, "ended", (json_int_t)ended))) != 0)
		goto out;
	if ((j = json_pack("{s:s, s:I}", "person", p.uid, "ended", (json_int_t)ended)) ==
	    NULL) {
		r = ctl_fail("out of memory");
		goto out;
	}
	memcpy(who[0], p.uid, sizeof(who[0]));
	r = end_org_grants(id, org.uid, (const char (*)[DIR_UID_LEN + 1])who, 1, j);
	if (ctl_print_json(j) != 0)
		r = 2;
out:
	dir_person_clear(&p);
	dir_org_clear(&org);
	ident_close(id);
	return r;
}

/* agent list / admin list: the unrevoked relations of that role. */
static int
rel_list(int argc, char **argv, const char *role)
{
	struct oopts o;
	struct dir_org org;
	struct ident *id = NULL;
	json_t *arr;
	int r;

	memset(&org, 0, sizeof(org));
	if ((r = parse_opts(argc, argv, 3, "list", 0, true, &o)) != 0 ||
	    (r = ctl_open_state(false, &id)) != 0)
		return r;
	if ((r = ctl_find_org(id->dir, o.code, &org)) != 0)
		goto out;
	if ((arr = relations_json(id->dir, org.uid, role)) == NULL)
		r = ctl_fail("cannot read the directory");
	else
		r = ctl_print_json(arr);
out:
	dir_org_clear(&org);
	ident_close(id);
	return r;
}

static int
org_relation(int argc, char **argv, const char *role)
{
	const char *cmd = argc > 2 ? argv[2] : "";

	if (strcmp(cmd, "add") == 0)
		return rel_add(argc, argv, role);
	if (strcmp(cmd, "remove") == 0)
		return rel_remove(argc, argv, role);
	if (strcmp(cmd, "list") == 0)
		return rel_list(argc, argv, role);
	return ctl_fail("org %s: expected add, remove or list", argv[1]);
}

static void
org_usage(FILE *f)
{
	fprintf(f, "usage: authctl [-c FILE | -d STATE_DIR] org COMMAND\n"
	    "  add --uscc CODE --name NAME [--kind KIND] [--legal-rep ID_NUMBER]\n"
	    "      [--authority NAME] [--established YYYY-MM-DD] [--registry-unavailable-ok]\n"
	    "  show CODE | list\n"
	    "  change CODE [--name NAME] [--kind KIND] [--legal-rep ID_NUMBER]\n"
	    "      [--authority NAME] [--established YYYY-MM-DD]\n"
	    "  deregister CODE\n"
	    "  purge --older-than DAYS [--dry-run]   erase the organizations deregistered or"
	    " revoked more than DAYS (>= 1) days ago\n"
	    "  agent add CODE --id-number ID [--until YYYY-MM-DD] [--scope S]...\n"
	    "      [--registry-unavailable-ok]\n"
	    "  agent remove CODE --id-number ID | agent list CODE\n"
	    "  admin add|remove CODE --id-number ID | admin list CODE\n");
}

static int
org_agent(int argc, char **argv)
{
	return org_relation(argc, argv, DIR_ROLE_AGENT);
}

static int
org_admin(int argc, char **argv)
{
	return org_relation(argc, argv, DIR_ROLE_ADMIN);
}

int
ctl_org(int argc, char **argv)
{
	static const struct ctl_cmd cmds[] = {
		{ "add", org_add }, { "show", org_show }, { "list", org_list },
		{ "change", org_change }, { "deregister", org_deregister },
		{ "agent", org_agent }, { "admin", org_admin }, { "purge", org_purge },
		{ NULL, NULL },
	};

	return ctl_dispatch(argc, argv, "org", org_usage, cmds);
}
