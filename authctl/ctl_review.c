/*
 * authctl review list|show|resolve|undo: the review cases of idmerge's uncertain
 * records (identity/review.h). Output shows ID numbers and phones masked; `show
 * --unmask` opens them, and that is itself an audit event. Each decision is one
 * directory transaction followed by an audit event naming the operator; a decision
 * whose audit line cannot be written is taken back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "authctl/ctl.h"
#include "common/timeutil.h"
#include "identity/identity.h"
#include "identity/review.h"

#define REVIEW_LIST_DEFAULT 100

struct ropts {
	const char *cmd, *case_id;
	const char *limit, *reason, *state, *decision, *keep, *by, *note;
	bool json, unmask;
};

enum {
	R_LIMIT = 1u << 0, R_REASON = 1u << 1, R_STATE = 1u << 2, R_DECISION = 1u << 3,
	R_KEEP = 1u << 4, R_BY = 1u << 5, R_NOTE = 1u << 6, R_JSON = 1u << 7,
	R_UNMASK = 1u << 8, R_CASE = 1u << 9,
};

static const struct {
	const char *flag;
	unsigned bit;
	size_t offset;   /* of a const char * member; 0 for a flag without a value */
} ropt_defs[] = {
	{ "--limit", R_LIMIT, offsetof(struct ropts, limit) },
	{ "--reason", R_REASON, offsetof(struct ropts, reason) },
	{ "--state", R_STATE, offsetof(struct ropts, state) },
	{ "--decision", R_DECISION, offsetof(struct ropts, decision) },
	{ "--keep", R_KEEP, offsetof(struct ropts, keep) },
	{ "--by", R_BY, offsetof(struct ropts, by) },
	{ "--note", R_NOTE, offsetof(struct ropts, note) },
	{ "--json", R_JSON, 0 },
	{ "--unmask", R_UNMASK, 0 },
};

/* Sets a flag without a value. */
static void
set_flag(struct ropts *o, unsigned bit)
{
	if (bit == R_JSON)
		o->json = true;
	else
		o->unmask = true;
}

/* Parses argv[2..]: the case id first when R_CASE is in mask, then the options in mask;
 * those in need are required. 0 or 2 after a message. */
static int
parse_opts(int argc, char **argv, unsigned mask, unsigned need, struct ropts *o)
{
	size_t nd = sizeof(ropt_defs) / sizeof(ropt_defs[0]);
	int i = 2;

	memset(o, 0, sizeof(*o));
	o->cmd = argv[1];
	if ((mask & R_CASE) != 0) {
		if (argc < 3 || argv[2][0] == '-')
			return ctl_fail("review %s: CASE is required (the id review list shows)",
			    o->cmd);
		o->case_id = argv[i++];
		if (!dir_case_id_valid(o->case_id))
			return ctl_fail("review %s: '%s' is not a case id (like rc1f2e3d4c_5b6a7980, "
			    "as review list shows)", o->cmd, o->case_id);
	}
	for (; i < argc; i++) {
		size_t k = 0;

		while (k < nd && strcmp(ropt_defs[k].flag, argv[i]) != 0)
			k++;
		if (k == nd || (ropt_defs[k].bit & mask) == 0)
			return ctl_fail("review %s: unexpected argument '%s'", o->cmd, argv[i]);
		if (ropt_defs[k].offset == 0) {
			set_flag(o, ropt_defs[k].bit);
			continue;
		}
		if (i + 1 >= argc)
			return ctl_fail("review %s: %s needs a value", o->cmd, argv[i]);
		*(const char **)(void *)((char *)o + ropt_defs[k].offset) = argv[++i];
	}
	for (size_t k = 0; k < nd; k++)
		if ((ropt_defs[k].bit & need) != 0 && ropt_defs[k].offset != 0 &&
		    *(const char **)(void *)((char *)o + ropt_defs[k].offset) == NULL)
			return ctl_fail("review %s: %s is required", o->cmd, ropt_defs[k].flag);
	return 0;
}

/* One line of the text listing: CASE REASON STATE source/legacy_id,... */
static void
print_line(const struct dir_case *c, json_t *shown)
{
	json_t *r;
	size_t i;

	printf("%s  %-22s %-9s", c->id, c->reason, dir_case_state_str(c->state));
	json_array_foreach(json_object_get(shown, "records"), i, r)
		printf("%s%s/%s", i ? "," : " ", json_string_value(json_object_get(r, "source")),
		    json_string_value(json_object_get(r, "legacy_id")));
	printf("\n");
}

static int
review_list(int argc, char **argv)
{
	struct ropts o;
	struct ident *id = NULL;
	struct dir_case *list = NULL;
	enum dir_case_state st = DIR_CASE_OPEN;
	uint64_t limit = REVIEW_LIST_DEFAULT;
	size_t n = 0;
	json_t *shown;
	int r;

	if ((r = parse_opts(argc, argv, R_LIMIT | R_REASON | R_STATE | R_JSON, 0, &o)) != 0)
		return r;
	if (o.limit != NULL && yh_parse_u64(o.limit, 1, DIR_LIST_MAX, &limit) != 0)
		return ctl_fail("review list: --limit must be 1..%d", DIR_LIST_MAX);
	if (o.state != NULL && strcmp(o.state, "all") != 0 && dir_case_state_parse(o.state,
	    &st) != 0)
		return ctl_fail("review list: --state must be open, merged, separate, rejected "
		    "or all");
	if ((r = ctl_open_state(false, &id)) != 0)
		return r;
	if ((r = dir_case_list(id->dir, o.state != NULL && strcmp(o.state, "all") == 0 ?
	    NULL : &st, o.reason, "", (size_t)limit, &list, &n)) != 0)
		r = ctl_fail("cannot list review cases: %s", r == YH_ERR_INVALID ?
		    "--reason is not a reason code" : yh_strerror(r));
	for (size_t i = 0; r == 0 && i < n; i++) {
		if ((shown = review_case_json(&list[i], true, false)) == NULL)
			r = ctl_fail("case %s: cannot read its body", list[i].id);
		else if (o.json)
			r = ctl_print_json(shown) == 0 ? 0 : 2;
		else {
			print_line(&list[i], shown);
			json_decref(shown);
		}
	}
	dir_case_list_free(list, n);
	ident_close(id);
	return r;
}

/* Reads case o->case_id; 0, or 1 (unknown) / 2 after a message. */
static int
get_case(struct ident *id, const char *case_id, struct dir_case *c)
{
	int r = dir_case_get(id->dir, case_id, c);

	if (r == YH_ERR_NOT_FOUND) {
		ctl_fail("no review case %s", case_id);
		return 1;
	}
	return r == 0 ? 0 : ctl_fail("cannot read case %s: %s", case_id, yh_strerror(r));
}

static int
review_show(int argc, char **argv)
{
	struct ropts o;
	struct ident *id = NULL;
	struct dir_case c;
	json_t *shown = NULL;
	int r;

	memset(&c, 0, sizeof(c));
	if ((r = parse_opts(argc, argv, R_CASE | R_UNMASK, 0, &o)) != 0)
		return r;
	if ((r = ctl_open_state(false, &id)) != 0)
		return r;
	if ((r = get_case(id, o.case_id, &c)) != 0)
		goto out;
	/* Opening the ID numbers is on the record before they are shown. */
	if (o.unmask) {
		json_t *f = json_pack("{s:s}", "case", c.id);

		r = ctl_record(id, "review.unmask", f);
		json_decref(f);
		if (r != 0)
			goto out;
	}
	if ((shown = review_case_json(&c, false, o.unmask)) == NULL)
		r = ctl_fail("case %s: cannot read its body", c.id);
	else
		r = ctl_print_json(shown) == 0 ? 0 : 2;
out:
	dir_case_clear(&c);
	ident_close(id);
	return r;
}

/* The audit event of a decision (fields: the case and what was decided). */
static int
record_decision(struct ident *id, const char *event, const struct ropts *o,
    const char *uid)
{
	json_t *f;
	int r;

	f = review_audit_fields(o->case_id, o->decision, uid, o->by, o->note);
	r = ctl_record(id, event, f);
	json_decref(f);
	return r;
}

static int
review_resolve_cmd(int argc, char **argv)
{
	struct ropts o;
	struct ident *id = NULL;
	enum review_decision dec;
	char uid[DIR_UID_LEN + 1] = "", err[512];
	int r;

	if ((r = parse_opts(argc, argv, R_CASE | R_DECISION | R_KEEP | R_BY | R_NOTE,
	    R_DECISION | R_BY | R_NOTE, &o)) != 0)
		return r;
	if (review_decision_parse(o.decision, &dec) != 0)
		return ctl_fail("review resolve: --decision must be merge, separate or reject, "
		    "not '%s'", o.decision);
	if ((r = ctl_open_state(false, &id)) != 0)
		return r;
	if ((r = review_resolve(id->dir, o.case_id, dec, o.keep, o.by, o.note, uid, err,
	    sizeof(err))) != 0) {
		r = ctl_fail("review resolve: %s", err);
		goto out;
	}
	if ((r = record_decision(id, "review.resolve", &o, uid)) != 0) {
		if (dir_case_undo(id->dir, o.case_id) == 0)
			fprintf(stderr, "authctl: the decision on %s was taken back: it could not "
			    "be recorded\n", o.case_id);
		goto out;
	}
	r = ctl_print_json(json_pack("{s:s, s:s, s:s?}", "case", o.case_id, "decision",
	    o.decision, "merged_uid", uid[0] ? uid : NULL)) == 0 ? 0 : 2;
out:
	ident_close(id);
	return r;
}

static int
review_undo(int argc, char **argv)
{
	struct ropts o;
	struct ident *id = NULL;
	struct dir_case c;
	int r;

	memset(&c, 0, sizeof(c));
	if ((r = parse_opts(argc, argv, R_CASE | R_BY | R_NOTE, R_BY, &o)) != 0)
		return r;
	if ((r = ctl_open_state(false, &id)) != 0)
		return r;
	if ((r = get_case(id, o.case_id, &c)) != 0)
		goto out;
	o.decision = c.state == DIR_CASE_MERGED ? "merge" : c.state == DIR_CASE_SEPARATE ?
	    "separate" : "reject";
	if ((r = dir_case_undo(id->dir, o.case_id)) != 0) {
		if (r == YH_ERR_INVALID)
			r = ctl_fail("review undo: case %s is open: there is no decision to undo",
			    o.case_id);
		else if (r == YH_ERR_DENIED)
			r = ctl_fail("review undo: case %s: a login has used the merged person "
			    "(or the organization the merge made holds a relation) since the "
			    "merge; it can no longer be undone", o.case_id);
		else
			r = ctl_fail("review undo: case %s: %s", o.case_id, yh_strerror(r));
		goto out;
	}
	if ((r = record_decision(id, "review.undo", &o, c.merged_uid)) != 0)
		goto out;
	r = ctl_print_json(json_pack("{s:s, s:s, s:s}", "case", o.case_id, "undone",
	    o.decision, "state", "open")) == 0 ? 0 : 2;
out:
	dir_case_clear(&c);
	ident_close(id);
	return r;
}

static void
review_usage(FILE *f)
{
	fprintf(f, "usage: authctl [-c FILE | -d STATE_DIR] review COMMAND\n"
	    "  list [--json] [--limit N] [--reason R] [--state open|merged|separate|rejected|all]\n"
	    "  show CASE [--unmask]\n"
	    "  resolve CASE --decision merge|separate|reject [--keep UID] --by NAME --note TEXT\n"
	    "  undo CASE --by NAME [--note TEXT]\n"
	    "CASE is a case id as list shows it; --keep names the candidate a merge joins the\n"
	    "records to (needed when there are several). docs/operations.md, \"Review cases\".\n");
}

int
ctl_review(int argc, char **argv)
{
	static const struct ctl_cmd cmds[] = {
		{ "list", review_list }, { "show", review_show },
		{ "resolve", review_resolve_cmd }, { "undo", review_undo },
		{ NULL, NULL },
	};

	return ctl_dispatch(argc, argv, "review", review_usage, cmds);
}
