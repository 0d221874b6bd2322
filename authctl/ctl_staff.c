/*
 * authctl staff add|remove|role|list: government staff, the persons who work for a
 * government agency (an organization of kind government agency) in a unit (科室), with a
 * position. A staff member may use the service-hall counter (/counter) and is held to
 * the staff login methods (login.staff_methods); with console permissions on the
 * relation (--admin-role review,people,orgs,apps,audit) also the operators' console
 * (/admin). An operator names the agency by its credit code
 * and the person by their resident ID number; output shows ID numbers masked. Each change
 * is one directory transaction (the relation and the organization's history entry, with
 * the operator as actor) followed by an audit event naming the operator.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "authctl/ctl.h"
#include "common/timeutil.h"
#include "identity/identity.h"
#include "identity/idn/idnum.h"

#define STAFF_ORG_PAGE 200

struct sopts {
	const char *id_number, *org, *unit, *position, *admin_role;
	const char *cmd;
};

enum {
	S_ID_NUMBER = 1u << 0, S_ORG = 1u << 1, S_UNIT = 1u << 2, S_POSITION = 1u << 3,
	S_ADMIN_ROLE = 1u << 4,
};

static const struct {
	const char *flag;
	unsigned bit;
	size_t offset;
} sopt_defs[] = {
	{ "--id-number", S_ID_NUMBER, offsetof(struct sopts, id_number) },
	{ "--org", S_ORG, offsetof(struct sopts, org) },
	{ "--unit", S_UNIT, offsetof(struct sopts, unit) },
	{ "--position", S_POSITION, offsetof(struct sopts, position) },
	{ "--admin-role", S_ADMIN_ROLE, offsetof(struct sopts, admin_role) },
};

/* Parses argv[2..] allowing the options in mask; those in need are required. 0 or 2. */
static int
parse_opts(int argc, char **argv, unsigned mask, unsigned need, struct sopts *o)
{
	size_t nd = sizeof(sopt_defs) / sizeof(sopt_defs[0]);

	memset(o, 0, sizeof(*o));
	o->cmd = argv[1];
	for (int i = 2; i < argc; i++) {
		size_t k = 0;

		while (k < nd && strcmp(sopt_defs[k].flag, argv[i]) != 0)
			k++;
		if (k == nd || (sopt_defs[k].bit & mask) == 0)
			return ctl_fail("staff %s: unexpected argument '%s'", o->cmd, argv[i]);
		if (i + 1 >= argc)
			return ctl_fail("staff %s: %s needs a value", o->cmd, argv[i]);
		*(const char **)(void *)((char *)o + sopt_defs[k].offset) = argv[++i];
	}
	for (size_t k = 0; k < nd; k++)
		if ((sopt_defs[k].bit & need) != 0 &&
		    *(const char **)(void *)((char *)o + sopt_defs[k].offset) == NULL)
			return ctl_fail("staff %s: %s is required", o->cmd, sopt_defs[k].flag);
	return 0;
}

/* Records an operator action on a staff relation; takes ownership of fields. */
static int
record(struct ident *id, const char *event, const struct dir_org *org, const char *person,
    json_t *fields)
{
	int r;

	if (fields == NULL)
		fields = json_object();
	json_object_set_new(fields, "org", json_string(org->uid));
	if (org->uscc != NULL)
		json_object_set_new(fields, "uscc", json_string(org->uscc));
	json_object_set_new(fields, "person", json_string(person));
	r = ctl_record(id, event, fields);
	json_decref(fields);
	return r;
}

/* The directory's answer to a staff grant, as one line. */
static int
grant_error(int r)
{
	if (r == YH_ERR_EXISTS)
		return ctl_fail("this person is already staff of this agency (staff remove first "
		    "to change the unit or position)");
	if (r == YH_ERR_TOO_LONG)
		return ctl_fail("--unit or --position is too long (at most %d bytes)",
		    DIR_UNIT_MAX);
	if (r == YH_ERR_INVALID)
		return ctl_fail("--unit and --position must be text without control characters");
	return ctl_fail("cannot record the staff relation: %s", yh_strerror(r));
}

/* Checks what the directory would refuse with a less telling error (the agency's kind,
 * the person's status) and that the person is real-name verified (LoA 2 or more): staff
 * reach the counter, which raises citizens to LoA 4. 0 or 2 after a message. */
static int
check_grant(const struct dir_org *org, const struct dir_person *p)
{
	if (org->kind != IDN_ORG_KIND_GOVERNMENT_AGENCY)
		return ctl_fail("organization %s is %s, not a government agency: only a "
		    "government agency has staff", org->uscc, idn_org_kind_str(org->kind));
	if (p->status != DIR_STATUS_ACTIVE)
		return ctl_fail("the person is %s: only an active person can be staff",
		    dir_status_str(p->status));
	if (p->loa.level < 2)
		return ctl_fail("staff must be real-name verified (LoA 2 or more); this person "
		    "is at LoA %d (authctl user verify)", p->loa.level);
	return 0;
}

/* The message for an --admin-role list with an unknown name. Returns 2. */
static int
perms_error(const char *cmd, const char *list)
{
	return ctl_fail("staff %s: --admin-role '%s': the permissions are review, people, "
	    "orgs, apps, audit (comma-separated) or all", cmd, list);
}

/* Gives relation rid the console permissions perms (0: none) and records it. 0 or 2. */
static int
set_console(struct ident *id, const struct dir_org *org, const char *person, const char *rid,
    unsigned perms, const char *actor)
{
	char text[DIR_CONSOLE_PERMS_MAX + 1];
	int r;

	if ((r = dir_console_set(id->dir, rid, perms, actor)) != 0)
		return ctl_fail("cannot set the console permissions: %s", yh_strerror(r));
	dir_console_perms_str(perms, text, sizeof(text));
	return record(id, "staff.console", org, person, json_pack("{s:s, s:s}", "relation",
	    rid, "perms", text));
}

/* authctl staff role: sets (replaces) the console permissions of a current staff
 * relation; --admin-role "" takes them away. */
static int
staff_role(int argc, char **argv)
{
	struct sopts o;
	struct dir_org org;
	struct dir_person p;
	struct dir_mandate m;
	struct ident *id = NULL;
	char actor[96], text[DIR_CONSOLE_PERMS_MAX + 1];
	unsigned perms = 0;
	int r;

	memset(&org, 0, sizeof(org));
	memset(&p, 0, sizeof(p));
	memset(&m, 0, sizeof(m));
	if ((r = parse_opts(argc, argv, S_ID_NUMBER | S_ORG | S_ADMIN_ROLE, S_ID_NUMBER | S_ORG |
	    S_ADMIN_ROLE, &o)) != 0)
		return r;
	if (dir_console_perms_parse(o.admin_role, &perms) != 0)
		return perms_error(o.cmd, o.admin_role);
	if ((r = ctl_open_state(false, &id)) != 0)
		return r;
	if ((r = ctl_find_org(id->dir, o.org, &org)) != 0 ||
	    (r = ctl_find_person(id->dir, o.id_number, &p)) != 0)
		goto out;
	if ((r = dir_staff_current(id->dir, p.uid, 0, &m, NULL)) != 0 ||
	    strcmp(m.org_uid, org.uid) != 0) {
		r = ctl_fail("this person is not current staff of this organization (staff add "
		    "first)");
		goto out;
	}
	ctl_operator_name(actor, sizeof(actor));
	if ((r = set_console(id, &org, p.uid, m.id, perms, actor)) != 0)
		goto out;
	dir_console_perms_str(perms, text, sizeof(text));
	r = ctl_print_json(json_pack("{s:s, s:s, s:s}", "person", p.uid, "relation", m.id,
	    "admin_role", text));
out:
	dir_mandate_clear(&m);
	dir_person_clear(&p);
	dir_org_clear(&org);
	ident_close(id);
	return r;
}

static int
staff_add(int argc, char **argv)
{
	struct sopts o;
	struct dir_org org;
	struct dir_person p;
	struct dir_mandate m;
	struct ident *id = NULL;
	char rid[DIR_UID_LEN + 1], actor[96];
	unsigned perms = 0;
	int r;

	memset(&org, 0, sizeof(org));
	memset(&p, 0, sizeof(p));
	if ((r = parse_opts(argc, argv, S_ID_NUMBER | S_ORG | S_UNIT | S_POSITION |
	    S_ADMIN_ROLE, S_ID_NUMBER | S_ORG | S_UNIT, &o)) != 0)
		return r;
	if (o.unit[0] == '\0')
		return ctl_fail("staff add: --unit must not be empty");
	if (o.admin_role != NULL && dir_console_perms_parse(o.admin_role, &perms) != 0)
		return perms_error(o.cmd, o.admin_role);
	if ((r = ctl_open_state(false, &id)) != 0)
		return r;
	if ((r = ctl_find_active_org(id->dir, o.org, &org)) != 0 ||
	    (r = ctl_find_person(id->dir, o.id_number, &p)) != 0 ||
	    (r = check_grant(&org, &p)) != 0)
		goto out;
	ctl_operator_name(actor, sizeof(actor));
	memset(&m, 0, sizeof(m));
	memcpy(m.person_uid, p.uid, sizeof(m.person_uid));
	memcpy(m.org_uid, org.uid, sizeof(m.org_uid));
	m.role = (char *)DIR_ROLE_STAFF;
	m.granted_by = actor;
	m.unit = (char *)o.unit;
	m.position = (char *)o.position;
	if ((r = dir_mandate_add(id->dir, &m, actor, rid)) != 0) {
		r = grant_error(r);
		goto out;
	}
	if ((r = record(id, "staff.add", &org, p.uid, json_pack("{s:s, s:s, s:s?}",
	    "relation", rid, "unit", o.unit, "position", o.position))) != 0)
		goto out;
	if (perms != 0 && (r = set_console(id, &org, p.uid, rid, perms, actor)) != 0)
		goto out;
	printf("%s\n", rid);
out:
	dir_person_clear(&p);
	dir_org_clear(&org);
	ident_close(id);
	return r;
}

static int
staff_remove(int argc, char **argv)
{
	struct sopts o;
	struct dir_org org;
	struct dir_person p;
	struct ident *id = NULL;
	char actor[96];
	size_t ended = 0;
	int r;

	memset(&org, 0, sizeof(org));
	memset(&p, 0, sizeof(p));
	if ((r = parse_opts(argc, argv, S_ID_NUMBER | S_ORG, S_ID_NUMBER | S_ORG, &o)) != 0 ||
	    (r = ctl_open_state(false, &id)) != 0)
		return r;
	if ((r = ctl_find_org(id->dir, o.org, &org)) != 0 ||
	    (r = ctl_find_person(id->dir, o.id_number, &p)) != 0)
		goto out;
	ctl_operator_name(actor, sizeof(actor));
	if ((r = dir_mandate_end(id->dir, org.uid, p.uid, DIR_ROLE_STAFF, actor, &ended)) != 0) {
		if (r == YH_ERR_NOT_FOUND) {
			ctl_fail("this person is not staff of this organization");
			r = 1;
		} else
			r = ctl_fail("cannot end the staff relation: %s", yh_strerror(r));
		goto out;
	}
	if ((r = record(id, "staff.remove", &org, p.uid, json_pack("{s:I}", "ended",
	    (json_int_t)ended))) != 0)
		goto out;
	r = ctl_print_json(json_pack("{s:s, s:I}", "person", p.uid, "ended",
	    (json_int_t)ended));
out:
	dir_person_clear(&p);
	dir_org_clear(&org);
	ident_close(id);
	return r;
}

/* Appends org's unrevoked staff relations to arr. 0 or a YH_ERR_*. */
static int
list_org(struct dir *d, const struct dir_org *org, json_t *arr)
{
	struct dir_mandate *list = NULL;
	char text[DIR_CONSOLE_PERMS_MAX + 1];
	int64_t now = yh_now();
	unsigned perms;
	size_t n = 0;
	int r;

	if ((r = dir_mandate_list_org(d, org->uid, 0, &list, &n)) != 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		const struct dir_mandate *m = &list[i];
		json_t *j;

		if (strcmp(m->role, DIR_ROLE_STAFF) != 0 || m->revoked != 0)
			continue;
		j = json_object();
		ctl_set_str(j, "org", org->uscc != NULL ? org->uscc : org->org_code);
		ctl_set_str(j, "org_name", org->name);
		ctl_set_str(j, "relation", m->id);
		json_object_set_new(j, "person", ctl_person_brief(d, m->person_uid));
		ctl_set_str(j, "unit", m->unit);
		ctl_set_str(j, "position", m->position);
		ctl_set_str(j, "granted_by", m->granted_by);
		if (dir_console_get(d, m->id, &perms) == 0 && perms != 0) {
			dir_console_perms_str(perms, text, sizeof(text));
			ctl_set_str(j, "admin_role", text);
		}
		ctl_set_time(j, "since", m->not_before);
		json_object_set_new(j, "in_force", json_boolean(dir_mandate_in_force(m, now) &&
		    org->status == DIR_STATUS_ACTIVE));
		json_array_append_new(arr, j);
	}
	dir_mandate_list_free(list, n);
	return 0;
}

/* Every government agency's staff, a page of organizations at a time. */
static int
list_all(struct dir *d, json_t *arr)
{
	struct dir_org *orgs = NULL;
	uint64_t off = 0;
	size_t n = 0;
	int r;

	do {
		if ((r = dir_org_list(d, off, STAFF_ORG_PAGE, &orgs, &n)) != 0)
			return r;
		for (size_t i = 0; r == 0 && i < n; i++)
			if (orgs[i].kind == IDN_ORG_KIND_GOVERNMENT_AGENCY)
				r = list_org(d, &orgs[i], arr);
		dir_org_list_free(orgs, n);
		off += n;
	} while (r == 0 && n == STAFF_ORG_PAGE);
	return r;
}

static int
staff_list(int argc, char **argv)
{
	struct sopts o;
	struct dir_org org;
	struct ident *id = NULL;
	json_t *arr = NULL;
	int r;

	memset(&org, 0, sizeof(org));
	if ((r = parse_opts(argc, argv, S_ORG, 0, &o)) != 0 ||
	    (r = ctl_open_state(false, &id)) != 0)
		return r;
	if (o.org != NULL && (r = ctl_find_org(id->dir, o.org, &org)) != 0)
		goto out;
	if ((arr = json_array()) == NULL) {
		r = ctl_fail("out of memory");
		goto out;
	}
	r = o.org != NULL ? list_org(id->dir, &org, arr) : list_all(id->dir, arr);
	if (r != 0) {
		json_decref(arr);
		r = ctl_fail("cannot read the directory: %s", yh_strerror(r));
		goto out;
	}
	r = ctl_print_json(arr);
out:
	dir_org_clear(&org);
	ident_close(id);
	return r;
}

static void
staff_usage(FILE *f)
{
	fprintf(f, "usage: authctl [-c FILE | -d STATE_DIR] staff COMMAND\n"
	    "  add --id-number ID --org CODE --unit NAME [--position NAME] [--admin-role LIST]\n"
	    "  remove --id-number ID --org CODE\n"
	    "  role --id-number ID --org CODE --admin-role LIST\n"
	    "  list [--org CODE]\n"
	    "CODE is the government agency's unified social credit code. LIST is the console\n"
	    "(/admin) permissions: review,people,orgs,apps,audit or all; \"\" for none.\n");
}

int
ctl_staff(int argc, char **argv)
{
	static const struct ctl_cmd cmds[] = {
		{ "add", staff_add }, { "remove", staff_remove }, { "role", staff_role },
		{ "list", staff_list },
		{ NULL, NULL },
	};

	return ctl_dispatch(argc, argv, "staff", staff_usage, cmds);
}
