/*
 * The people part of the operators' console (permission people; see admin.h):
 *
 *   GET  /admin/people          the search form
 *   POST /admin/people/search   CSRF; by ID number, verified phone or name (folded:
 *                               traditional as simplified; begins with or contains,
 *                               at least two characters, at most 50 shown); the
 *                               persons found masked; audited admin.people.search
 *                               (a name search with the folded query)
 *   GET  /admin/people/person   ?uid= one person: masked ID number and phone, status,
 *                               LoA and its history, password and TOTP (yes/no),
 *                               legacy links; audited admin.people.view
 *   POST /admin/people/reveal   CSRF; the page with the full ID number; audited
 *                               admin.people.reveal before it is shown
 *   POST /admin/people/lock     CSRF; locked and every session ended (user.lock)
 *   POST /admin/people/unlock   CSRF; active again (user.unlock)
 *   POST /admin/people/logout   CSRF; every session ended (user.logout)
 *
 * An operator never locks or ends their own account here. The audit lines name the
 * person by uid and never hold an ID number in clear.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "authd/admin/common.h"
#include "authd/app.h"
#include "authd/oidc/token.h"
#include "authd/counter/counter.h"
#include "authd/ui/csrf.h"
#include "authd/ui/pages.h"
#include "authd/ui/templates_gen.h"
#include "common/secmem.h"
#include "common/timeutil.h"
#include "common/utf8.h"
#include "identity/idn/idnum.h"
#include "identity/match/matchkey.h"

#define PEOPLE_PATH ADMIN_PATH "/people"
#define FOUND_MAX DIR_NAME_SEARCH_MAX   /* persons one search shows */
#define MASK_MAX 64
#define NAME_TEXT (DIR_NAME_MAX * 4 + 1)

/* What a search found, masked for the list. */
struct found {
	struct tpl_admin_people_found items[FOUND_MAX];
	char uid[FOUND_MAX][DIR_UID_LEN + 1];
	char name[FOUND_MAX][NAME_TEXT];
	char idm[FOUND_MAX][MASK_MAX];
	char loa[FOUND_MAX][4];
	size_t n;
};

/* One person's page (struct tpl_admin_people's person part) and what it owns. */
struct shown {
	struct dir_person p;
	struct dir_legacy *legacy;
	size_t nlegacy;
	struct dir_loa *hist;
	size_t nhist;
	struct tpl_admin_people_legacy *lrows;
	struct tpl_admin_people_history *hrows;
	char (*hlevel)[4], (*hwhen)[40];
	char name[NAME_TEXT], idm[MASK_MAX], phone[MASK_MAX], loa[4];
	bool has_password, has_totp;
};

static void
shown_clear(struct shown *s)
{
	dir_person_clear(&s->p);
	dir_legacy_list_free(s->legacy, s->nlegacy);
	dir_loa_list_free(s->hist, s->nhist);
	free(s->lrows);
	free(s->hrows);
	free(s->hlevel);
	free(s->hwhen);
	memset(s, 0, sizeof(*s));
}

/* Reads person uid and what the page shows of them. 0, YH_ERR_NOT_FOUND, or an error. */
static int
shown_load(struct authd_app *app, const char *uid, struct shown *s)
{
	struct dir_cred cred;
	struct dir_totp t;
	int r;

	memset(s, 0, sizeof(*s));
	if ((r = dir_person_get(app->dir, uid, &s->p)) != 0)
		return r;
	if ((r = dir_legacy_list(app->dir, uid, &s->legacy, &s->nlegacy)) != 0 ||
	    (r = dir_person_loa_history(app->dir, uid, &s->hist, &s->nhist)) != 0)
		return r;
	memset(&cred, 0, sizeof(cred));
	if ((r = dir_cred_get(app->dir, uid, &cred)) == 0)
		s->has_password = true;
	dir_cred_clear(&cred);
	if (r != 0 && r != YH_ERR_NOT_FOUND)
		return r;
	memset(&t, 0, sizeof(t));
	if ((r = dir_totp_get(app->dir, uid, &t)) == 0)
		s->has_totp = t.confirmed;
	dir_totp_clear(&t);
	if (r != 0 && r != YH_ERR_NOT_FOUND)
		return r;
	s->lrows = calloc(s->nlegacy + 1, sizeof(*s->lrows));
	s->hrows = calloc(s->nhist + 1, sizeof(*s->hrows));
	s->hlevel = calloc(s->nhist + 1, sizeof(*s->hlevel));
	s->hwhen = calloc(s->nhist + 1, sizeof(*s->hwhen));
	if (s->lrows == NULL || s->hrows == NULL || s->hlevel == NULL || s->hwhen == NULL)
		return YH_ERR_ALLOC;
	for (size_t i = 0; i < s->nlegacy; i++)
		s->lrows[i] = (struct tpl_admin_people_legacy){ .source = s->legacy[i].source,
		    .legacy_id = s->legacy[i].legacy_id, .username = s->legacy[i].username };
	for (size_t i = 0; i < s->nhist; i++) {
		snprintf(s->hlevel[i], sizeof(s->hlevel[i]), "%d", s->hist[i].level);
		yh_time_iso8601(s->hist[i].at * 1000, s->hwhen[i], sizeof(s->hwhen[i]));
		s->hrows[i] = (struct tpl_admin_people_history){ .level = s->hlevel[i],
		    .method = s->hist[i].method, .by = s->hist[i].by != NULL ?
		    s->hist[i].by : "-", .when = s->hwhen[i], .evidence = s->hist[i].evidence };
	}
	mk_name_mask(s->p.name, s->name, sizeof(s->name));
	idn_mask(s->p.id_number, s->idm, sizeof(s->idm));
	if (s->p.phone != NULL)
		mk_phone_mask(s->p.phone, s->phone, sizeof(s->phone));
	snprintf(s->loa, sizeof(s->loa), "%d", s->p.loa.level);
	return 0;
}

/* The people page: the search form, what a search found (f, NULL: no search), one
 * person (s, NULL: none; reveal: their full ID number), notice or alert. */
static int
render(struct authd_app *app, struct http_req *req, const struct op *o,
    const struct found *f, const struct shown *s, bool reveal, const char *notice,
    const char *alert, unsigned status)
{
	char csrf[CSRF_TOKEN_SIZE];
	enum page_lang l = page_lang_of(req);
	const char *yes = page_msg(l, PAGE_MSG_ADMIN_YES), *no = page_msg(l, PAGE_MSG_ADMIN_NO);
	struct page pg;
	int r;

	if ((r = csrf_prepare(req, app->keys, ADMIN_PURPOSE, o->si.key, csrf)) != 0)
		return r;
	page_init(&pg, req, PEOPLE_PATH);
	page_begin(&pg, page_msg(pg.lang, PAGE_MSG_ADMIN_PEOPLE));
	tpl_admin_people_render(&pg, &(struct tpl_admin_people){ .notice = notice,
	    .alert = alert, .csrf = csrf, .searched = f != NULL,
	    .found = f != NULL ? f->items : NULL, .found_n = f != NULL ? f->n : 0,
	    .person = s != NULL, .name = s != NULL ? s->name : "",
	    .uid = s != NULL ? s->p.uid : "",
	    .id_number = s == NULL ? "" : reveal ? s->p.id_number : s->idm,
	    .phone = s != NULL && s->p.phone != NULL ? s->phone : "-",
	    .status = s != NULL ? counter_status_word(l, s->p.status) : "",
	    .loa = s != NULL ? s->loa : "",
	    .password = s != NULL && s->has_password ? yes : no,
	    .totp = s != NULL && s->has_totp ? yes : no, .revealed = reveal,
	    .legacy = s != NULL ? s->lrows : NULL, .legacy_n = s != NULL ? s->nlegacy : 0,
	    .history = s != NULL ? s->hrows : NULL, .history_n = s != NULL ? s->nhist : 0,
	    .can_lock = s != NULL && s->p.status == DIR_STATUS_ACTIVE,
	    .can_unlock = s != NULL && s->p.status == DIR_STATUS_LOCKED });
	yh_wipe(csrf, sizeof(csrf));
	return page_send(&pg, req, status);
}

static int
people_get(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct op o;
	int r;

	if ((r = admin_enter(app, req, false, DIR_CONSOLE_PEOPLE, &o)) == 0 &&
	    !http_req_answered(req))
		r = render(app, req, &o, NULL, NULL, false, NULL, NULL, 200);
	admin_op_clear(&o);
	return r;
}

/* Adds person p to f, masked. */
static void
found_add(struct found *f, enum page_lang l, const struct dir_person *p)
{
	size_t i = f->n;

	if (i >= FOUND_MAX)
		return;
	memcpy(f->uid[i], p->uid, sizeof(f->uid[i]));
	mk_name_mask(p->name, f->name[i], sizeof(f->name[i]));
	idn_mask(p->id_number, f->idm[i], sizeof(f->idm[i]));
	snprintf(f->loa[i], sizeof(f->loa[i]), "%d", p->loa.level);
	f->items[i] = (struct tpl_admin_people_found){ .uid = f->uid[i], .name = f->name[i],
	    .id_masked = f->idm[i], .status = counter_status_word(l, p->status),
	    .loa = f->loa[i] };
	f->n++;
}

/* Finds the persons q names by kind by ("id_number", "phone", "name": whose folded name
 * begins with or contains q's) into f. 0, YH_ERR_INVALID (an unknown kind, a q that is
 * not one, a name under DIR_NAME_SEARCH_MIN characters), or the directory's error. */
static int
find(struct authd_app *app, enum page_lang l, const char *by, const char *q,
    struct found *f)
{
	struct dir_entity uids[FOUND_MAX];
	struct dir_person p;
	size_t n = 0;
	int r;

	memset(&p, 0, sizeof(p));
	if (strcmp(by, "name") == 0) {
		if ((r = dir_person_search_name(app->dir, q, FOUND_MAX, uids, &n)) != 0)
			return r;   /* YH_ERR_INVALID: under two characters once folded */
		for (size_t i = 0; i < n; i++) {
			if ((r = dir_person_get(app->dir, uids[i].uid, &p)) == 0)
				found_add(f, l, &p);
			dir_person_clear(&p);
			if (r != 0 && r != YH_ERR_NOT_FOUND)
				return r;
		}
		return 0;
	}
	if (strcmp(by, "id_number") == 0)
		r = dir_person_find_id_number(app->dir, q, &p);
	else if (strcmp(by, "phone") == 0)
		r = dir_person_find_phone(app->dir, q, &p);
	else
		return YH_ERR_INVALID;
	if (r == 0)
		found_add(f, l, &p);
	dir_person_clear(&p);
	return r == YH_ERR_NOT_FOUND || r == YH_ERR_CONFLICT ? 0 : r;
}

static int
people_search(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	enum page_lang l = page_lang_of(req);
	char *by = NULL, *q = NULL, key[DIR_NAME_KEY_MAX + 1];
	struct found *f = NULL;
	json_t *persons = NULL;
	bool is_name;
	struct op o;
	int r, fr;

	if ((r = admin_enter(app, req, true, DIR_CONSOLE_PEOPLE, &o)) != 0 ||
	    http_req_answered(req))
		goto out;
	if ((f = calloc(1, sizeof(*f))) == NULL || (persons = json_array()) == NULL) {
		r = page_failure_send(req, YH_ERR_ALLOC);
		goto out;
	}
	if (http_req_form(req, "by", 16, &by) != 0 || http_req_form(req, "q", DIR_NAME_MAX,
	    &q) != 0)
		fr = YH_ERR_INVALID;
	else
		fr = find(app, l, by, q, f);
	if (fr != 0 && fr != YH_ERR_INVALID) {
		r = page_failure_send(req, fr);
		goto out;
	}
	for (size_t i = 0; i < f->n; i++)
		json_array_append_new(persons, json_string(f->uid[i]));
	is_name = by != NULL && strcmp(by, "name") == 0;
	if (!is_name || q == NULL || mk_name_key(q, strlen(q), key, sizeof(key)) != 0)
		key[0] = '\0';
	/* Who searched for whom, by which kind of key: an ID number or a phone never
	 * itself, a name search with the folded name asked for (refused ones too). */
	if ((r = admin_audit(app, &o, "admin.people.search", json_pack("{s:s?, s:O, s:s?}",
	    "by", fr == 0 || is_name ? by : NULL, "persons", persons, "query",
	    is_name ? key : NULL))) != 0) {
		r = page_failure_send(req, r);
		goto out;
	}
	r = fr == YH_ERR_INVALID ? render(app, req, &o, NULL, NULL, false, NULL,
	    page_msg(l, is_name && q != NULL && yh_utf8_chars(key) < DIR_NAME_SEARCH_MIN ?
	    PAGE_MSG_ADMIN_PEOPLE_NAME_SHORT : PAGE_MSG_ADMIN_PEOPLE_BAD), 400) :
	    render(app, req, &o, f, NULL, false, NULL, NULL, 200);
out:
	json_decref(persons);
	free(f);
	free(by);
	yh_strfree_secret(q);
	admin_op_clear(&o);
	return r;
}

/* The person page of uid (audited event, with reveal the full ID number), a notice. */
static int
person_page(struct authd_app *app, struct http_req *req, const struct op *o,
    const char *uid, const char *event, bool reveal, const char *notice)
{
	enum page_lang l = page_lang_of(req);
	struct shown s;
	int r;

	if ((r = shown_load(app, uid, &s)) == YH_ERR_NOT_FOUND || r == YH_ERR_INVALID) {
		r = page_error_send(req, 404, page_msg(l, PAGE_MSG_ADMIN_PEOPLE_NONE),
		    PEOPLE_PATH, page_msg(l, PAGE_MSG_ADMIN_PEOPLE));
		goto out;
	}
	if (r != 0 || (event != NULL && (r = admin_audit(app, o, event, json_pack("{s:s}",
	    "person", uid))) != 0)) {
		r = page_failure_send(req, r);
		goto out;
	}
	r = render(app, req, o, NULL, &s, reveal, notice, NULL, 200);
out:
	shown_clear(&s);
	return r;
}

static int
people_person(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	const char *uid = NULL;
	struct op o;
	int r;

	if ((r = admin_enter(app, req, false, DIR_CONSOLE_PEOPLE, &o)) != 0 ||
	    http_req_answered(req))
		goto out;
	if (http_req_query(req, "uid", DIR_UID_LEN, &uid) != 0 || !dir_uid_valid(uid))
		uid = "";
	r = person_page(app, req, &o, uid, "admin.people.view", false, NULL);
out:
	admin_op_clear(&o);
	return r;
}

static int
people_reveal(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	char uid[DIR_UID_LEN + 1];
	struct op o;
	int r;

	if ((r = admin_enter(app, req, true, DIR_CONSOLE_PEOPLE, &o)) != 0 ||
	    http_req_answered(req))
		goto out;
	admin_form_id(req, "uid", dir_uid_valid, uid, sizeof(uid));
	r = person_page(app, req, &o, uid, "admin.people.reveal", true, NULL);
out:
	admin_op_clear(&o);
	return r;
}

/* lock, unlock, logout: what each does and records. */
enum act { ACT_LOCK, ACT_UNLOCK, ACT_LOGOUT };

static int
people_act(struct http_req *req, struct authd_app *app, enum act act)
{
	static const char *const events[] = { "user.lock", "user.unlock", "user.logout" };
	static const enum page_msg done[] = { PAGE_MSG_ADMIN_LOCKED, PAGE_MSG_ADMIN_UNLOCKED,
	    PAGE_MSG_ADMIN_LOGGED_OUT };
	enum page_lang l = page_lang_of(req);
	char uid[DIR_UID_LEN + 1];
	struct dir_person p;
	size_t ended = 0, fams = 0;
	struct op o;
	int r;

	memset(&p, 0, sizeof(p));
	if ((r = admin_enter(app, req, true, DIR_CONSOLE_PEOPLE, &o)) != 0 ||
	    http_req_answered(req))
		goto out;
	admin_form_id(req, "uid", dir_uid_valid, uid, sizeof(uid));
	if ((r = dir_person_get(app->dir, uid, &p)) == YH_ERR_NOT_FOUND || uid[0] == '\0') {
		r = page_error_send(req, 404, page_msg(l, PAGE_MSG_ADMIN_PEOPLE_NONE),
		    PEOPLE_PATH, page_msg(l, PAGE_MSG_ADMIN_PEOPLE));
		goto out;
	}
	if (r != 0) {
		r = page_failure_send(req, r);
		goto out;
	}
	if (act != ACT_UNLOCK && strcmp(uid, o.si.uid) == 0) {
		r = render(app, req, &o, NULL, NULL, false, NULL,
		    page_msg(l, PAGE_MSG_ADMIN_PEOPLE_SELF), 400);
		goto out;
	}
	/* The status first, so that no new login slips in before the sessions end. A
	 * deregistered person's status is final: the directory refuses (also when the
	 * deregistration came after the read above). */
	if (act != ACT_LOGOUT && (p.status == DIR_STATUS_DEREGISTERED ||
	    (r = dir_person_set_status(app->dir, uid, act == ACT_LOCK ? DIR_STATUS_LOCKED :
	    DIR_STATUS_ACTIVE)) == YH_ERR_DENIED)) {
		r = render(app, req, &o, NULL, NULL, false, NULL,
		    page_msg(l, PAGE_MSG_ADMIN_PEOPLE_DEREGISTERED), 400);
		goto out;
	}
	/* A lock also revokes the refresh families: they outlive the sessions. */
	if (r != 0 ||
	    (act != ACT_UNLOCK && (r = oidc_user_end(app, uid, act == ACT_LOCK, &ended,
	    &fams)) != 0) ||
	    (r = admin_audit(app, &o, events[act], json_pack("{s:s, s:s, s:I, s:I}", "person",
	    uid, "from", dir_status_str(p.status), "sessions_ended", (json_int_t)ended,
	    "families", (json_int_t)fams))) != 0) {
		r = page_failure_send(req, r);
		goto out;
	}
	r = person_page(app, req, &o, uid, NULL, false, page_msg(l, done[act]));
out:
	dir_person_clear(&p);
	admin_op_clear(&o);
	return r;
}

static int
people_lock(struct http_req *req, void *arg)
{
	return people_act(req, arg, ACT_LOCK);
}

static int
people_unlock(struct http_req *req, void *arg)
{
	return people_act(req, arg, ACT_UNLOCK);
}

static int
people_logout(struct http_req *req, void *arg)
{
	return people_act(req, arg, ACT_LOGOUT);
}

static const struct http_route people_routes[] = {
	{ "GET", PEOPLE_PATH, people_get, HTTP_ROUTE_NO_STORE },
	{ "POST", PEOPLE_PATH "/search", people_search, HTTP_ROUTE_NO_STORE },
	{ "GET", PEOPLE_PATH "/person", people_person, HTTP_ROUTE_NO_STORE },
	{ "POST", PEOPLE_PATH "/reveal", people_reveal, HTTP_ROUTE_NO_STORE },
	{ "POST", PEOPLE_PATH "/lock", people_lock, HTTP_ROUTE_NO_STORE },
	{ "POST", PEOPLE_PATH "/unlock", people_unlock, HTTP_ROUTE_NO_STORE },
	{ "POST", PEOPLE_PATH "/logout", people_logout, HTTP_ROUTE_NO_STORE },
	{ NULL, NULL, NULL, 0 },
};

int
admin_people_register(struct http_server *srv, struct authd_app *app)
{
	return http_routes_add(srv, people_routes, app);
}
