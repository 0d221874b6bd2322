/*
 * The operators' console (see admin.h). Each handler starts with enter(): the session
 * (none: to the login page), the staff relation and its console permissions (none: 403),
 * the session level (below ADMIN_MIN_LOA: to the TOTP step-up), the permission of the
 * part (missing: 403) and, for a POST, the CSRF token bound to the session. The review
 * part decides cases through identity/review.h, as `authctl review` does, and writes
 * the same audit events with the operator as actor.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "authd/admin/admin.h"
#include "authd/admin/common.h"
#include "authd/app.h"
#include "authd/login/login.h"
#include "authd/session/sess.h"
#include "authd/ui/csrf.h"
#include "authd/ui/pages.h"
#include "authd/ui/templates_gen.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/utf8.h"
#include "identity/dir/dir.h"
#include "identity/review.h"

#define KEEP_MAX 160            /* bytes of a merge's keep: a uid or "source/legacy_id" */
#define CASES_SHOWN 200         /* cases one queue page lists */
#define ROWS_MAX 600            /* lines of one case page */

static int
admin_home(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	char perms[DIR_CONSOLE_PERMS_MAX + 1];
	struct page pg;
	struct op o;
	int r;

	if ((r = admin_enter(app, req, false, 0, &o)) != 0 || http_req_answered(req))
		goto out;
	dir_console_perms_str(o.perms, perms, sizeof(perms));
	page_init(&pg, req, ADMIN_PATH);
	page_begin(&pg, page_msg(pg.lang, PAGE_MSG_ADMIN_TITLE));
	tpl_admin_render(&pg, &(struct tpl_admin){ .org_name = o.org.name, .unit = o.m.unit,
	    .perms = perms, .review = (o.perms & DIR_CONSOLE_REVIEW) != 0,
	    .people = (o.perms & DIR_CONSOLE_PEOPLE) != 0,
	    .orgs = (o.perms & DIR_CONSOLE_ORGS) != 0,
	    .apps = (o.perms & DIR_CONSOLE_APPS) != 0,
	    .audit = (o.perms & DIR_CONSOLE_AUDIT) != 0 });
	r = page_send(&pg, req, 200);
out:
	admin_op_clear(&o);
	return r;
}

/* ---- review: the queue ---- */

/* The open cases counted by reason, and the first CASES_SHOWN of reason (NULL: all). */
struct queue {
	struct tpl_admin_review_reasons reasons[16];
	char reason_text[16][DIR_CASE_REASON_MAX + 1];
	size_t nreasons;
	long long total;
	struct tpl_admin_review_cases *cases;
	char (*records)[160];
	size_t ncases;
};

/* Counts c in q's reasons (up to 16 reasons; more are counted in the total only). */
static void
queue_count(struct queue *q, const struct dir_case *c, const char *current)
{
	size_t k;

	q->total++;
	for (k = 0; k < q->nreasons; k++)
		if (strcmp(q->reason_text[k], c->reason) == 0)
			break;
	if (k == q->nreasons) {
		if (k == sizeof(q->reasons) / sizeof(q->reasons[0]))
			return;
		snprintf(q->reason_text[k], sizeof(q->reason_text[k]), "%s", c->reason);
		q->reasons[k] = (struct tpl_admin_review_reasons){ .reason = q->reason_text[k],
		    .current = current != NULL && strcmp(current, c->reason) == 0 };
		q->nreasons++;
	}
	q->reasons[k].count++;
}

/* Adds c to the cases shown: its id, reason and records ("source/legacy_id", ...). */
static void
queue_show(struct queue *q, const struct dir_case *c)
{
	json_t *shown = review_case_json(c, true, false), *rec;
	char *line = q->records[q->ncases];
	size_t i, used = 0;

	line[0] = '\0';
	json_array_foreach(json_object_get(shown, "records"), i, rec) {
		int w = snprintf(line + used, sizeof(q->records[0]) - used, "%s%s/%s",
		    i > 0 ? ", " : "", json_string_value(json_object_get(rec, "source")),
		    json_string_value(json_object_get(rec, "legacy_id")));

		if (w < 0 || (size_t)w >= sizeof(q->records[0]) - used) {
			line[used] = '\0';
			break;
		}
		used += (size_t)w;
	}
	json_decref(shown);
	q->cases[q->ncases] = (struct tpl_admin_review_cases){ .id = c->id,
	    .reason = c->reason, .records = line };
	q->ncases++;
}

/* An operator's note (or a filter) as text: UTF-8 without control bytes, which the
 * directory and the audit line both take. */
static bool
note_text(const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return yh_utf8_valid(s, n);
}

static int
admin_review(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	enum dir_case_state open = DIR_CASE_OPEN;
	struct dir_case *list = NULL, *shown = NULL;
	const char *reason = NULL;
	char after[DIR_CASE_ID_LEN + 1] = "";
	struct queue q;
	struct page pg;
	struct op o;
	size_t n = 0, nshown = 0;
	int r;

	memset(&q, 0, sizeof(q));
	if ((r = admin_enter(app, req, false, DIR_CONSOLE_REVIEW, &o)) != 0 || http_req_answered(req))
		goto out;
	/* a reason that is no text is no filter (no case has it) */
	if (http_req_query(req, "reason", DIR_CASE_REASON_MAX, &reason) != 0 ||
	    (reason != NULL && (reason[0] == '\0' || !note_text(reason))))
		reason = NULL;
	q.cases = calloc(CASES_SHOWN, sizeof(*q.cases));
	q.records = calloc(CASES_SHOWN, sizeof(*q.records));
	shown = calloc(CASES_SHOWN, sizeof(*shown));
	if (q.cases == NULL || q.records == NULL || shown == NULL) {
		r = page_failure_send(req, YH_ERR_ALLOC);
		goto out;
	}
	/* Every open case counted, a page of the directory at a time. */
	do {
		if ((r = dir_case_list(app->dir, &open, NULL, after, DIR_LIST_MAX, &list,
		    &n)) != 0) {
			r = page_failure_send(req, r);
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			queue_count(&q, &list[i], reason);
			if (nshown < CASES_SHOWN && (reason == NULL ||
			    strcmp(reason, list[i].reason) == 0)) {
				shown[nshown++] = list[i];
				memset(&list[i], 0, sizeof(list[i]));
			}
		}
		if (n > 0)
			memcpy(after, list[n - 1].id, sizeof(after));
		dir_case_list_free(list, n);
		list = NULL;
	} while (n == DIR_LIST_MAX);
	for (size_t i = 0; i < nshown; i++)
		queue_show(&q, &shown[i]);
	if ((r = admin_audit(app, &o, "admin.review.list", json_pack("{s:s?, s:I}", "reason",
	    reason, "shown", (json_int_t)nshown))) != 0) {
		r = page_failure_send(req, r);
		goto out;
	}
	page_init(&pg, req, ADMIN_PATH "/review");
	page_begin(&pg, page_msg(pg.lang, PAGE_MSG_ADMIN_REVIEW));
	tpl_admin_review_render(&pg, &(struct tpl_admin_review){ .total = (int)q.total,
	    .reasons = q.reasons, .reasons_n = q.nreasons, .cases = q.cases,
	    .cases_n = q.ncases });
	r = page_send(&pg, req, 200);
out:
	if (shown != NULL)
		dir_case_list_free(shown, nshown);
	free(q.cases);
	free(q.records);
	admin_op_clear(&o);
	return r;
}

/* ---- review: one case ---- */

/* The lines of a case page (struct tpl_admin_case_items), with the strings they own. */
struct rows {
	struct tpl_admin_case_items *items;
	char **owned;
	size_t n;
};

/* One field of a part of the body and its label. */
struct field {
	const char *key;
	enum page_msg label;
};

static const struct field record_fields[] = {
	{ "name", PAGE_MSG_COUNTER_NAME }, { "id_number", PAGE_MSG_COUNTER_ID_NUMBER },
	{ "id_problem", PAGE_MSG_ADMIN_F_ID_PROBLEM }, { "phone", PAGE_MSG_ADMIN_F_PHONE },
	{ "email", PAGE_MSG_ADMIN_F_EMAIL }, { "username", PAGE_MSG_ADMIN_F_USERNAME },
	{ "status", PAGE_MSG_COUNTER_STATUS }, { "legacy_password", PAGE_MSG_ADMIN_F_PASSWORD },
	{ NULL, 0 },
};
static const struct field candidate_fields[] = {
	{ "name", PAGE_MSG_COUNTER_NAME }, { "id_number", PAGE_MSG_COUNTER_ID_NUMBER },
	{ "has_account", PAGE_MSG_ADMIN_F_HAS_ACCOUNT }, { "accounts", PAGE_MSG_ADMIN_F_ACCOUNTS },
	{ NULL, 0 },
};
static const struct field evidence_fields[] = {
	{ "matching_keys", PAGE_MSG_ADMIN_F_KEYS }, { "name", PAGE_MSG_COUNTER_NAME },
	{ "trad_simp", PAGE_MSG_ADMIN_F_TRAD_SIMP }, { "phone", PAGE_MSG_ADMIN_F_PHONE },
	{ "birth_date", PAGE_MSG_ADMIN_F_BIRTH }, { NULL, 0 },
};

/* A JSON value as text for a page (malloc'd; NULL for null, "" or out of memory):
 * booleans in words, arrays joined with ", ". */
static char *
value_text(enum page_lang l, const json_t *v)
{
	if (json_is_string(v))
		return json_string_length(v) > 0 ? strdup(json_string_value(v)) : NULL;
	if (json_is_boolean(v))
		return strdup(page_msg(l, json_is_true(v) ? PAGE_MSG_ADMIN_YES :
		    PAGE_MSG_ADMIN_NO));
	if (json_is_array(v) && json_array_size(v) > 0) {
		json_t *joined = json_string(""), *e;
		char *out = NULL;
		size_t i;

		json_array_foreach(v, i, e) {
			char *t = value_text(l, e);
			const char *was = json_string_value(joined);
			size_t a = strlen(was), b = t != NULL ? strlen(t) : 0;
			char *cat = malloc(a + b + 3);

			if (cat != NULL) {
				snprintf(cat, a + b + 3, "%s%s%s", was, a > 0 ? ", " : "",
				    t != NULL ? t : "");
				json_string_set(joined, cat);
			}
			free(cat);
			free(t);
		}
		if (joined != NULL)
			out = strdup(json_string_value(joined));
		json_decref(joined);
		return out;
	}
	if (json_is_integer(v) || json_is_object(v))
		return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	return NULL;
}

/* Appends a line: a heading (h2), a bold head, or label: value. Takes own (the string
 * the line shows, may be NULL). False when the page is full. */
static bool
rows_add(struct rows *w, const char *h2, const char *label, char *own)
{
	if (w->n >= ROWS_MAX) {
		free(own);
		return false;
	}
	w->owned[w->n] = own;
	w->items[w->n] = (struct tpl_admin_case_items){ .h2 = h2,
	    .head = h2 == NULL && label == NULL ? own : NULL, .label = label,
	    .value = own != NULL ? own : "" };
	w->n++;
	return true;
}

/* The lines of one part of the case (records, candidates, evidence): its heading, then
 * for each entry a head (head_of) and its fields. */
static void
rows_part(struct rows *w, enum page_lang l, enum page_msg h2, const json_t *arr,
    char *(*head_of)(const json_t *), const struct field *fields)
{
	const json_t *e;
	size_t i;

	rows_add(w, page_msg(l, h2), NULL, NULL);
	json_array_foreach(arr, i, e) {
		rows_add(w, NULL, NULL, head_of(e));
		for (const struct field *f = fields; f->key != NULL; f++) {
			char *t = value_text(l, json_object_get(e, f->key));

			if (t != NULL)
				rows_add(w, NULL, page_msg(l, f->label), t);
		}
	}
}

/* "a/b" of two string members of o (malloc'd; NULL when out of memory). */
static char *
pair_text(const json_t *o, const char *a, const char *sep, const char *b)
{
	const char *x = json_string_value(json_object_get(o, a));
	const char *y = json_string_value(json_object_get(o, b));
	size_t n = (x != NULL ? strlen(x) : 0) + strlen(sep) + (y != NULL ? strlen(y) : 0) + 1;
	char *out = malloc(n);

	if (out != NULL)
		snprintf(out, n, "%s%s%s", x != NULL ? x : "", sep, y != NULL ? y : "");
	return out;
}

static char *
record_head(const json_t *r)
{
	return pair_text(r, "source", "/", "legacy_id");
}

static char *
candidate_head(const json_t *c)
{
	const char *uid = json_string_value(json_object_get(c, "uid"));

	return uid != NULL ? strdup(uid) : NULL;
}

static char *
evidence_head(const json_t *e)
{
	return pair_text(e, "record", " ↔ ", "against");
}

static void
rows_free(struct rows *w)
{
	for (size_t i = 0; w->owned != NULL && i < w->n; i++)
		free(w->owned[i]);
	free(w->owned);
	free(w->items);
}

/* The merge targets a case offers: its candidates' uids, or for a case without
 * candidates (a name conflict) its records. Borrowed from shown; *n of at most max. */
static size_t
keeps_of(const json_t *shown, struct tpl_admin_case_keeps *out, size_t max,
    char (*rec)[KEEP_MAX + 1])
{
	const json_t *cands = json_object_get(shown, "candidates"), *e;
	size_t i, n = 0;

	if (json_array_size(cands) > 0) {
		json_array_foreach(cands, i, e)
			if (n < max && json_string_value(json_object_get(e, "uid")) != NULL)
				out[n++].value = json_string_value(json_object_get(e, "uid"));
		return n;
	}
	json_array_foreach(json_object_get(shown, "records"), i, e) {
		if (n >= max)
			break;
		snprintf(rec[n], KEEP_MAX + 1, "%s/%s",
		    json_string_value(json_object_get(e, "source")),
		    json_string_value(json_object_get(e, "legacy_id")));
		out[n].value = rec[n];
		n++;
	}
	return n;
}

/* The case page of case id: notice (what was done) or alert and detail (why a form was
 * refused), answered with status. A case that is not there: the 404 page. */
static int
render_case(struct authd_app *app, struct http_req *req, const struct op *o,
    const char *id, const char *notice, const char *alert, const char *detail,
    unsigned status)
{
	enum page_lang l = page_lang_of(req);
	struct tpl_admin_case_keeps keeps[DIR_CASE_MEMBERS_MAX];
	char csrf[CSRF_TOKEN_SIZE], (*krec)[KEEP_MAX + 1] = NULL;
	struct rows w = { 0 };
	struct dir_case c;
	json_t *shown = NULL;
	struct page pg;
	size_t nkeeps = 0;
	int r;

	memset(&c, 0, sizeof(c));
	if ((r = dir_case_get(app->dir, id, &c)) == YH_ERR_NOT_FOUND || r == YH_ERR_INVALID) {
		r = page_error_send(req, 404, page_msg(l, PAGE_MSG_ADMIN_ERR_NO_CASE),
		    ADMIN_PATH "/review", page_msg(l, PAGE_MSG_ADMIN_BACK_QUEUE));
		goto out;
	}
	w.items = calloc(ROWS_MAX, sizeof(*w.items));
	w.owned = calloc(ROWS_MAX, sizeof(*w.owned));
	krec = calloc(DIR_CASE_MEMBERS_MAX, sizeof(*krec));
	if (r == 0 && (w.items == NULL || w.owned == NULL || krec == NULL))
		r = YH_ERR_ALLOC;
	if (r == 0 && (shown = review_case_json(&c, false, false)) == NULL)
		r = YH_ERR_ALLOC;
	if (r == 0)
		r = csrf_prepare(req, app->keys, ADMIN_PURPOSE, o->si.key, csrf);
	if (r != 0) {
		r = page_failure_send(req, r);
		goto out;
	}
	rows_part(&w, l, PAGE_MSG_ADMIN_CASE_RECORDS, json_object_get(shown, "records"),
	    record_head, record_fields);
	rows_part(&w, l, PAGE_MSG_ADMIN_CASE_CANDIDATES, json_object_get(shown, "candidates"),
	    candidate_head, candidate_fields);
	rows_part(&w, l, PAGE_MSG_ADMIN_CASE_EVIDENCE, json_object_get(shown, "evidence"),
	    evidence_head, evidence_fields);
	if (c.state == DIR_CASE_OPEN)
		nkeeps = keeps_of(shown, keeps, DIR_CASE_MEMBERS_MAX, krec);
	page_init(&pg, req, ADMIN_PATH "/review/case");
	page_begin(&pg, page_msg(pg.lang, PAGE_MSG_ADMIN_CASE_TITLE));
	tpl_admin_case_render(&pg, &(struct tpl_admin_case){ .notice = notice, .alert = alert,
	    .detail = detail, .csrf = csrf, .case_id = c.id, .reason = c.reason,
	    .state = dir_case_state_str(c.state), .decided_by = c.decided_by,
	    .note = c.note, .merged_uid = c.merged_uid,
	    .why = json_string_value(json_object_get(shown, "why")), .items = w.items,
	    .items_n = w.n, .open = c.state == DIR_CASE_OPEN, .keeps = keeps,
	    .keeps_n = nkeeps, .undoable = json_is_true(json_object_get(shown, "undoable")) });
	yh_wipe(csrf, sizeof(csrf));
	r = page_send(&pg, req, status);
out:
	json_decref(shown);
	rows_free(&w);
	free(krec);
	dir_case_clear(&c);
	return r;
}

static int
admin_case(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	enum page_lang l = page_lang_of(req);
	const char *id = NULL;
	struct op o;
	int r;

	if ((r = admin_enter(app, req, false, DIR_CONSOLE_REVIEW, &o)) != 0 || http_req_answered(req))
		goto out;
	if (http_req_query(req, "id", DIR_CASE_ID_LEN, &id) != 0 || id == NULL ||
	    !dir_case_id_valid(id)) {
		r = page_error_send(req, 400, page_msg(l, PAGE_MSG_BAD_REQUEST),
		    ADMIN_PATH "/review", page_msg(l, PAGE_MSG_ADMIN_BACK_QUEUE));
		goto out;
	}
	/* Who looked at whose records is on the record before they are shown. */
	if ((r = admin_audit(app, &o, "admin.review.view", json_pack("{s:s}", "case", id))) != 0) {
		r = page_failure_send(req, r);
		goto out;
	}
	r = render_case(app, req, &o, id, NULL, NULL, NULL, 200);
out:
	admin_op_clear(&o);
	return r;
}

/* A decision's audit event, as authctl review writes it (and the operator's fields). */
static int
audit_decision(struct authd_app *app, const struct op *o, const char *event,
    const char *id, const char *decision, const char *uid, const char *note)
{
	return admin_audit(app, o, event, review_audit_fields(id, decision, uid, o->actor,
	    note));
}

/* The alert of review_resolve's error r, and the status of the page. */
static enum page_msg
resolve_error(int r, unsigned *status)
{
	switch (r) {
	case YH_ERR_NOT_FOUND:
		*status = 404;
		return PAGE_MSG_ADMIN_ERR_NO_CASE;
	case YH_ERR_EXISTS:
		*status = 409;
		return PAGE_MSG_ADMIN_ERR_DECIDED;
	case YH_ERR_CONFLICT:
		*status = 409;
		return PAGE_MSG_ADMIN_ERR_DECISION;
	default:
		*status = 400;
		return PAGE_MSG_ADMIN_ERR_DECISION;
	}
}

static int
admin_resolve(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	enum page_lang l = page_lang_of(req);
	char id[DIR_CASE_ID_LEN + 1], uid[DIR_UID_LEN + 1] = "", err[512];
	char *decision = NULL, *keep = NULL, *note = NULL;
	enum review_decision dec;
	unsigned status;
	struct op o;
	int r, fr;

	if ((r = admin_enter(app, req, true, DIR_CONSOLE_REVIEW, &o)) != 0 || http_req_answered(req))
		goto out;
	admin_form_id(req, "case", dir_case_id_valid, id, sizeof(id));
	if (id[0] == '\0') {
		r = page_error_send(req, 400, page_msg(l, PAGE_MSG_BAD_REQUEST),
		    ADMIN_PATH "/review", page_msg(l, PAGE_MSG_ADMIN_BACK_QUEUE));
		goto out;
	}
	fr = http_req_form(req, "keep", KEEP_MAX, &keep);
	if (http_req_form(req, "decision", 16, &decision) != 0 ||
	    review_decision_parse(decision, &dec) != 0 ||
	    http_req_form(req, "note", DIR_NOTE_MAX, &note) != 0 || note[0] == '\0' ||
	    !note_text(note) || (fr != 0 && fr != YH_ERR_NOT_FOUND)) {
		r = render_case(app, req, &o, id, NULL, page_msg(l, PAGE_MSG_ADMIN_ERR_NOTE),
		    NULL, 400);
		goto out;
	}
	if ((r = review_resolve(app->dir, id, dec, keep != NULL && keep[0] != '\0' ? keep :
	    NULL, o.actor, note, uid, err, sizeof(err))) != 0) {
		enum page_msg m = resolve_error(r, &status);

		r = render_case(app, req, &o, id, NULL, page_msg(l, m), err, status);
		goto out;
	}
	if ((r = audit_decision(app, &o, "review.resolve", id, decision, uid, note)) != 0) {
		if (dir_case_undo(app->dir, id) != 0)
			yh_error("admin: the decision on %s could not be recorded nor taken back",
			    id);
		r = page_failure_send(req, r);
		goto out;
	}
	r = render_case(app, req, &o, id, page_msg(l, PAGE_MSG_ADMIN_DECIDED), NULL, NULL,
	    200);
out:
	free(decision);
	free(keep);
	free(note);
	admin_op_clear(&o);
	return r;
}

static int
admin_undo(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	enum page_lang l = page_lang_of(req);
	char id[DIR_CASE_ID_LEN + 1], *note = NULL;
	const char *decision;
	struct dir_case c;
	struct op o;
	int r, fr;

	memset(&c, 0, sizeof(c));
	if ((r = admin_enter(app, req, true, DIR_CONSOLE_REVIEW, &o)) != 0 || http_req_answered(req))
		goto out;
	admin_form_id(req, "case", dir_case_id_valid, id, sizeof(id));
	fr = http_req_form(req, "note", DIR_NOTE_MAX, &note);
	if (id[0] == '\0' || (fr != 0 && fr != YH_ERR_NOT_FOUND)) {
		r = page_error_send(req, 400, page_msg(l, PAGE_MSG_BAD_REQUEST),
		    ADMIN_PATH "/review", page_msg(l, PAGE_MSG_ADMIN_BACK_QUEUE));
		goto out;
	}
	/* Checked before the undo: its audit line must be writable, or the undo would stand
	 * unrecorded. */
	if (note != NULL && !note_text(note)) {
		r = render_case(app, req, &o, id, NULL, page_msg(l, PAGE_MSG_ADMIN_ERR_NOTE),
		    NULL, 400);
		goto out;
	}
	if ((r = dir_case_get(app->dir, id, &c)) != 0) {
		r = r == YH_ERR_NOT_FOUND ? render_case(app, req, &o, id, NULL, NULL, NULL, 404) :
		    page_failure_send(req, r);
		goto out;
	}
	decision = c.state == DIR_CASE_MERGED ? "merge" : c.state == DIR_CASE_SEPARATE ?
	    "separate" : "reject";
	if ((r = dir_case_undo(app->dir, id)) != 0) {
		if (r == YH_ERR_INVALID || r == YH_ERR_DENIED)
			r = render_case(app, req, &o, id, NULL, page_msg(l, r == YH_ERR_INVALID ?
			    PAGE_MSG_ADMIN_ERR_OPEN : PAGE_MSG_ADMIN_ERR_USED), NULL, 409);
		else
			r = page_failure_send(req, r);
		goto out;
	}
	if ((r = audit_decision(app, &o, "review.undo", id, decision, c.merged_uid,
	    note)) != 0) {
		r = page_failure_send(req, r);
		goto out;
	}
	r = render_case(app, req, &o, id, page_msg(l, PAGE_MSG_ADMIN_UNDONE), NULL, NULL, 200);
out:
	free(note);
	dir_case_clear(&c);
	admin_op_clear(&o);
	return r;
}

static const struct http_route admin_routes[] = {
	{ "GET", ADMIN_PATH, admin_home, HTTP_ROUTE_NO_STORE },
	{ "GET", ADMIN_PATH "/review", admin_review, HTTP_ROUTE_NO_STORE },
	{ "GET", ADMIN_PATH "/review/case", admin_case, HTTP_ROUTE_NO_STORE },
	{ "POST", ADMIN_PATH "/review/resolve", admin_resolve, HTTP_ROUTE_NO_STORE },
	{ "POST", ADMIN_PATH "/review/undo", admin_undo, HTTP_ROUTE_NO_STORE },
	{ NULL, NULL, NULL, 0 },
};

int
admin_register(struct http_server *srv, struct authd_app *app)
{
	int r;

	if ((r = http_routes_add(srv, admin_routes, app)) != 0)
		return r;
	if ((r = admin_people_register(srv, app)) != 0 ||
	    (r = admin_orgs_register(srv, app)) != 0 ||
	    (r = admin_apps_register(srv, app)) != 0)
		return r;
	return admin_audit_register(srv, app);
}
