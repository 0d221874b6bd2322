/*
 * The organizations part of the operators' console (permission orgs; see admin.h):
 *
 *   GET  /admin/orgs       ?by=uscc|name&q= the organizations found (a credit code or an
 *                          exact name); audited admin.orgs.search
 *   GET  /admin/orgs/org   ?uid= one organization: credit code, kind, status, its legal
 *                          representative and its current relations (agents, admins,
 *                          staff), persons by masked name and uid; audited
 *                          admin.orgs.view
 *
 * Read only: relations are granted with authctl org and staff, and by the legal
 * representative on the account page.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "authd/admin/common.h"
#include "authd/app.h"
#include "authd/counter/counter.h"
#include "authd/ui/pages.h"
#include "authd/ui/templates_gen.h"
#include "identity/idn/idnum.h"
#include "identity/match/matchkey.h"

#define ORGS_PATH ADMIN_PATH "/orgs"
#define FOUND_MAX 50
#define NAME_TEXT (DIR_NAME_MAX * 4 + 1)
#define DETAIL_MAX 400

/* The organizations a search found. */
struct found {
	struct tpl_admin_orgs_found items[FOUND_MAX];
	struct dir_org orgs[FOUND_MAX];
	size_t n;
};

static void
found_clear(struct found *f)
{
	for (size_t i = 0; i < f->n; i++)
		dir_org_clear(&f->orgs[i]);
}

/* One organization's page and what it owns. */
struct shown {
	struct dir_org o;
	struct dir_mandate *rel;
	size_t nrel;
	struct tpl_admin_orgs_relations *rows;
	char (*names)[NAME_TEXT], (*detail)[DETAIL_MAX];
	char rep[NAME_TEXT];
};

static void
shown_clear(struct shown *s)
{
	dir_org_clear(&s->o);
	dir_mandate_list_free(s->rel, s->nrel);
	free(s->rows);
	free(s->names);
	free(s->detail);
	memset(s, 0, sizeof(*s));
}

/* The masked name of person uid into out ("-" when there is none). */
static int
person_masked(struct authd_app *app, const char *uid, char *out, size_t outsz)
{
	struct dir_person p;
	int r;

	snprintf(out, outsz, "-");
	if (uid[0] == '\0')
		return 0;
	if ((r = dir_person_get(app->dir, uid, &p)) == 0)
		mk_name_mask(p.name, out, outsz);
	dir_person_clear(&p);
	return r == YH_ERR_NOT_FOUND ? 0 : r;
}

/* Reads organization uid, its legal representative and current relations. */
static int
shown_load(struct authd_app *app, const char *uid, struct shown *s)
{
	int r;

	memset(s, 0, sizeof(*s));
	if ((r = dir_org_get(app->dir, uid, &s->o)) != 0 ||
	    (r = dir_mandate_current(app->dir, NULL, uid, 0, &s->rel, &s->nrel)) != 0 ||
	    (r = person_masked(app, s->o.legal_rep_uid, s->rep, sizeof(s->rep))) != 0)
		return r;
	s->rows = calloc(s->nrel + 1, sizeof(*s->rows));
	s->names = calloc(s->nrel + 1, sizeof(*s->names));
	s->detail = calloc(s->nrel + 1, sizeof(*s->detail));
	if (s->rows == NULL || s->names == NULL || s->detail == NULL)
		return YH_ERR_ALLOC;
	for (size_t i = 0; i < s->nrel; i++) {
		const struct dir_mandate *m = &s->rel[i];

		if ((r = person_masked(app, m->person_uid, s->names[i], sizeof(s->names[i]))) != 0)
			return r;
		snprintf(s->detail[i], sizeof(s->detail[i]), "%s%s%s",
		    m->unit != NULL ? m->unit : m->scopes != NULL ? m->scopes : "-",
		    m->position != NULL ? " " : "", m->position != NULL ? m->position : "");
		s->rows[i] = (struct tpl_admin_orgs_relations){ .role = m->role,
		    .name = s->names[i], .uid = m->person_uid, .detail = s->detail[i] };
	}
	return 0;
}

/* The page: the search (q, f: NULL when no search), one organization (s), an alert. */
static int
render(struct http_req *req, const char *q, const struct found *f, const struct shown *s,
    const char *alert, unsigned status)
{
	enum page_lang l = page_lang_of(req);
	struct page pg;

	page_init(&pg, req, ORGS_PATH);
	page_begin(&pg, page_msg(pg.lang, PAGE_MSG_ADMIN_ORGS));
	tpl_admin_orgs_render(&pg, &(struct tpl_admin_orgs){ .alert = alert,
	    .q = q != NULL ? q : "", .searched = f != NULL,
	    .found = f != NULL ? f->items : NULL, .found_n = f != NULL ? f->n : 0,
	    .org = s != NULL, .name = s != NULL ? s->o.name : "",
	    .uscc = s != NULL && s->o.uscc != NULL ? s->o.uscc : "-",
	    .kind = s != NULL ? idn_org_kind_str(s->o.kind) : "",
	    .status = s != NULL ? counter_status_word(l, s->o.status) : "",
	    .rep = s != NULL ? s->rep : "", .rep_uid = s != NULL ? s->o.legal_rep_uid : "",
	    .relations = s != NULL ? s->rows : NULL, .relations_n = s != NULL ? s->nrel : 0 });
	return page_send(&pg, req, status);
}

/* Finds the organizations q names by by into f. 0, YH_ERR_INVALID, or an error. */
static int
find(struct authd_app *app, enum page_lang l, const char *by, const char *q,
    struct found *f)
{
	struct dir_entity uids[FOUND_MAX];
	size_t n = 0;
	int r;

	if (strcmp(by, "uscc") == 0) {
		r = dir_org_find_uscc(app->dir, q, &f->orgs[0]);
		if (r == 0)
			f->n = 1;
		else if (r != YH_ERR_NOT_FOUND)
			return r;
	} else if (strcmp(by, "name") == 0) {
		if ((r = dir_org_find_name(app->dir, q, FOUND_MAX, uids, &n)) != 0)
			return r;
		for (size_t i = 0; i < n; i++) {
			if ((r = dir_org_get(app->dir, uids[i].uid, &f->orgs[f->n])) == 0)
				f->n++;
			else if (r != YH_ERR_NOT_FOUND)
				return r;
		}
	} else
		return YH_ERR_INVALID;
	for (size_t i = 0; i < f->n; i++)
		f->items[i] = (struct tpl_admin_orgs_found){ .uid = f->orgs[i].uid,
		    .name = f->orgs[i].name, .uscc = f->orgs[i].uscc != NULL ?
		    f->orgs[i].uscc : f->orgs[i].org_code,
		    .status = counter_status_word(l, f->orgs[i].status) };
	return 0;
}

static int
orgs_search(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	enum page_lang l = page_lang_of(req);
	const char *by = NULL, *q = NULL;
	struct found *f = NULL;
	json_t *uids = NULL;
	struct op o;
	int r, fr;

	if ((r = admin_enter(app, req, false, DIR_CONSOLE_ORGS, &o)) != 0 ||
	    http_req_answered(req))
		goto out;
	if (http_req_query(req, "q", DIR_NAME_MAX, &q) != 0) {
		r = render(req, NULL, NULL, NULL, NULL, 200);
		goto out;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL || (uids = json_array()) == NULL) {
		r = page_failure_send(req, YH_ERR_ALLOC);
		goto out;
	}
	fr = http_req_query(req, "by", 8, &by) != 0 ? YH_ERR_INVALID : find(app, l, by, q, f);
	if (fr != 0 && fr != YH_ERR_INVALID) {
		r = page_failure_send(req, fr);
		goto out;
	}
	for (size_t i = 0; i < f->n; i++)
		json_array_append_new(uids, json_string(f->orgs[i].uid));
	if ((r = admin_audit(app, &o, "admin.orgs.search", json_pack("{s:s?, s:O}", "by",
	    fr == 0 ? by : NULL, "orgs", uids))) != 0) {
		r = page_failure_send(req, r);
		goto out;
	}
	r = fr != 0 ? render(req, q, NULL, NULL, page_msg(l, PAGE_MSG_ADMIN_ORG_BAD), 400) :
	    render(req, q, f, NULL, NULL, 200);
out:
	if (f != NULL)
		found_clear(f);
	free(f);
	json_decref(uids);
	admin_op_clear(&o);
	return r;
}

static int
orgs_org(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	enum page_lang l = page_lang_of(req);
	const char *uid = NULL;
	struct shown s;
	struct op o;
	int r;

	memset(&s, 0, sizeof(s));
	if ((r = admin_enter(app, req, false, DIR_CONSOLE_ORGS, &o)) != 0 ||
	    http_req_answered(req))
		goto out;
	if (http_req_query(req, "uid", DIR_UID_LEN, &uid) != 0 || !dir_uid_valid(uid) ||
	    (r = shown_load(app, uid, &s)) == YH_ERR_NOT_FOUND) {
		r = page_error_send(req, 404, page_msg(l, PAGE_MSG_ADMIN_PEOPLE_NONE), ORGS_PATH,
		    page_msg(l, PAGE_MSG_ADMIN_ORGS));
		goto out;
	}
	if (r != 0 || (r = admin_audit(app, &o, "admin.orgs.view", json_pack("{s:s}", "org",
	    uid))) != 0) {
		r = page_failure_send(req, r);
		goto out;
	}
	r = render(req, NULL, NULL, &s, NULL, 200);
out:
	shown_clear(&s);
	admin_op_clear(&o);
	return r;
}

static const struct http_route orgs_routes[] = {
	{ "GET", ORGS_PATH, orgs_search, HTTP_ROUTE_NO_STORE },
	{ "GET", ORGS_PATH "/org", orgs_org, HTTP_ROUTE_NO_STORE },
	{ NULL, NULL, NULL, 0 },
};

int
admin_orgs_register(struct http_server *srv, struct authd_app *app)
{
	return http_routes_add(srv, orgs_routes, app);
}
