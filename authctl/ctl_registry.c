/*
 * authctl registry retry, and the registry checks the other groups make (user verify
 * --registry, org add, org agent add): the population and legal-person registries of
 * -c FILE's registry.* options (federation/registry.h). Every call is one
 * "registry.check" audit line naming the operator, with ID numbers masked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "authcore/authd_config.h"
#include "authctl/ctl.h"
#include "common/log.h"
#include "federation/registry.h"
#include "federation/regqueue.h"
#include "identity/identity.h"
#include "identity/idn/idnum.h"

/* The configuration the registries' options were read from; it outlives the client. */
static struct authd_cfg reg_cfg;

int
ctl_registry_open(struct fed_reg **out)
{
	char err[1024];
	int r;

	*out = NULL;
	if (authd_cfg_load(&reg_cfg, ctl_opts.config_path, ctl_opts.state_dir, NULL, err,
	    sizeof(err)) != 0) {
		authd_cfg_free(&reg_cfg);
		return ctl_fail("%s", err);
	}
	if ((r = fed_reg_new(&reg_cfg.registry, NULL, out, err, sizeof(err))) != 0) {
		authd_cfg_free(&reg_cfg);
		return ctl_fail("%s", err);
	}
	return 0;
}

void
ctl_registry_close(struct fed_reg *reg)
{
	fed_reg_free(reg);
	authd_cfg_free(&reg_cfg);
}

/* Writes the "registry.check" line; fields is consumed. 0 or 2. */
static int
audit_check(const struct ident *id, enum fed_reg_kind kind, const struct fed_reg_result *res,
    json_t *about)
{
	json_t *f = fed_reg_audit_fields(kind, res);
	int r;

	if (f == NULL || about == NULL) {
		json_decref(f);
		json_decref(about);
		return ctl_fail("out of memory");
	}
	json_object_update(f, about);
	json_decref(about);
	json_object_set_new(f, "via", json_string("authctl"));
	r = ctl_record(id, "registry.check", f);
	json_decref(f);
	return r;
}

int
ctl_registry_person(const struct ident *id, struct fed_reg *reg, const struct dir_person *p,
    enum fed_reg_outcome *out, int *loa)
{
	struct fed_reg_person q = { p->name, p->id_number };
	char masked[40], evidence[64 + FED_REG_DETAIL_MAX];
	struct fed_reg_result res;
	struct dir_person after;
	struct dir_loa v;
	bool applied = false;
	json_t *f;
	int r;

	*loa = p->loa.level;
	if ((r = fed_reg_check_person(reg, &q, &res)) != 0)
		return ctl_fail("population registry: %s", r == YH_ERR_NOT_FOUND ?
		    "registry.person.url is not configured (give -c FILE)" : yh_strerror(r));
	*out = res.outcome;
	idn_mask(p->id_number, masked, sizeof(masked));
	if ((r = audit_check(id, FED_REG_PERSON, &res, json_pack("{s:s, s:s}", "uid", p->uid,
	    "id_number", masked))) != 0)
		return r;
	if (res.outcome != FED_REG_MATCH)
		return 0;
	snprintf(evidence, sizeof(evidence), "population registry: match%s%s",
	    res.detail[0] != '\0' ? " " : "", res.detail);
	memset(&v, 0, sizeof(v));
	v.level = 2;
	v.method = (char *)"registry";
	v.by = (char *)"registry:person";
	v.evidence = evidence;
	if ((r = dir_person_set_loa(id->dir, p->uid, &v, DIR_LOA_RAISE, &applied)) != 0)
		return ctl_fail("cannot record the verification: %s", yh_strerror(r));
	if ((f = json_pack("{s:s, s:i, s:s, s:s, s:s, s:b}", "uid", p->uid, "loa", 2, "method",
	    v.method, "by", v.by, "evidence", evidence, "applied", applied)) == NULL)
		return ctl_fail("out of memory");
	r = ctl_record(id, "user.verify", f);
	json_decref(f);
	if (r != 0)
		return r;
	if (dir_person_get(id->dir, p->uid, &after) == 0) {
		*loa = after.loa.level;
		dir_person_clear(&after);
	}
	return 0;
}

int
ctl_registry_org(const struct ident *id, struct fed_reg *reg, const struct fed_reg_org *q,
    bool unavailable_ok, const char *cmd, enum fed_reg_outcome *out)
{
	struct fed_reg_result res;
	char masked[40] = "";
	int r;

	*out = FED_REG_UNAVAILABLE;
	if (!fed_reg_enabled(reg, FED_REG_ORG))
		return 0;
	if ((r = fed_reg_check_org(reg, q, &res)) != 0)
		return ctl_fail("legal-person registry: %s", yh_strerror(r));
	*out = res.outcome;
	if (q->legal_rep_id_number != NULL)
		idn_mask(q->legal_rep_id_number, masked, sizeof(masked));
	if ((r = audit_check(id, FED_REG_ORG, &res, json_pack("{s:s, s:s?, s:b}", "uscc",
	    q->uscc, "legal_rep_id_number", masked[0] != '\0' ? masked : NULL,
	    "unavailable_ok", unavailable_ok))) != 0)
		return r;
	if (res.outcome == FED_REG_MISMATCH) {
		ctl_fail("org %s: the legal-person registry does not confirm this credit code, "
		    "name and legal representative%s%s; nothing was written", cmd,
		    res.detail[0] != '\0' ? ": " : "", res.detail);
		return 1;
	}
	if (res.outcome == FED_REG_UNAVAILABLE && !unavailable_ok)
		return ctl_fail("org %s: the legal-person registry is unavailable (%s); nothing "
		    "was written. Try again later, or add --registry-unavailable-ok to go on "
		    "without the check (audited)", cmd, res.why);
	if (res.outcome == FED_REG_UNAVAILABLE)
		fprintf(stderr, "authctl: warning: the legal-person registry is unavailable (%s); "
		    "going on without the check (--registry-unavailable-ok)\n", res.why);
	return 0;
}

/* Retries one queued person; *done: take it off the queue. Counts in the summary. */
static int
retry_one(const struct ident *id, struct fed_reg *reg, const char *uid, bool *done,
    size_t counts[4])
{
	enum fed_reg_outcome o = FED_REG_UNAVAILABLE;
	struct dir_person p;
	int r, loa;

	*done = false;
	if ((r = dir_person_get(id->dir, uid, &p)) == YH_ERR_NOT_FOUND) {
		*done = true;
		counts[3]++;
		return 0;
	}
	if (r != 0)
		return ctl_fail("cannot read the directory: %s", yh_strerror(r));
	if (p.status == DIR_STATUS_DEREGISTERED || p.loa.level >= 2) {
		*done = true;
		counts[3]++;
		dir_person_clear(&p);
		return 0;
	}
	r = ctl_registry_person(id, reg, &p, &o, &loa);
	dir_person_clear(&p);
	if (r != 0)
		return r;
	counts[o]++;
	*done = o != FED_REG_UNAVAILABLE;
	return 0;
}

static int
registry_retry(int argc, char **argv)
{
	struct fed_regq_uid *q = NULL, *done = NULL;
	struct ident *id = NULL;
	struct fed_reg *reg = NULL;
	size_t n = 0, ndone = 0, counts[4] = { 0, 0, 0, 0 };
	char err[512];
	int r;

	if (argc > 2)
		return ctl_fail("registry retry: unexpected argument '%s'", argv[2]);
	if ((r = ctl_registry_open(&reg)) != 0)
		return r;
	if (!fed_reg_enabled(reg, FED_REG_PERSON)) {
		r = ctl_fail("registry retry: registry.person.url is not configured (give -c "
		    "FILE)");
		goto out;
	}
	if ((r = ctl_open_state(false, &id)) != 0)
		goto out;
	if (fed_regq_list(id->state_dir, &q, &n, err, sizeof(err)) != 0) {
		r = ctl_fail("registry retry: %s", err);
		goto out;
	}
	if (n > 0 && (done = calloc(n, sizeof(*done))) == NULL) {
		r = ctl_fail("out of memory");
		goto out;
	}
	for (size_t i = 0; i < n && r == 0; i++) {
		bool d = false;

		r = retry_one(id, reg, q[i].uid, &d, counts);
		if (d)
			done[ndone++] = q[i];
	}
	/* What was settled leaves the queue even when a later person failed. */
	if (fed_regq_remove(id->state_dir, done, ndone, err, sizeof(err)) != 0 && r == 0)
		r = ctl_fail("registry retry: %s", err);
	if (r == 0)
		r = ctl_print_json(json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "queued",
		    (json_int_t)n, "matched", (json_int_t)counts[FED_REG_MATCH], "mismatched",
		    (json_int_t)counts[FED_REG_MISMATCH], "unavailable",
		    (json_int_t)counts[FED_REG_UNAVAILABLE], "settled_before",
		    (json_int_t)counts[3], "still_queued", (json_int_t)(n - ndone)));
out:
	free(q);
	free(done);
	ident_close(id);
	ctl_registry_close(reg);
	return r;
}

static void
registry_usage(FILE *f)
{
	fprintf(f, "usage: authctl -c FILE registry COMMAND\n"
	    "  retry    ask the population registry again for every person whose check at\n"
	    "           registration found it unavailable: a match raises them to LoA 2, a\n"
	    "           mismatch takes them off the queue (audited), unavailable stays\n");
}

int
ctl_registry(int argc, char **argv)
{
	static const struct ctl_cmd cmds[] = {
		{ "retry", registry_retry }, { NULL, NULL },
	};

	return ctl_dispatch(argc, argv, "registry", registry_usage, cmds);
}
