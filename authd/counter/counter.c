/*
 * The service-hall counter (see counter.h). Each handler starts with enter(): the
 * session (none: to the login page), the staff relation (none: 403), the session level
 * (below COUNTER_MIN_LOA: to the TOTP step-up) and, for a POST, the CSRF token bound to
 * the session. What a page shows of a citizen is masked; what the audit trail keeps of
 * them is their uid and the masked ID number.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "authd/counter/counter.h"
#include "authd/app.h"
#include "authd/oidc/token.h"
#include "authd/login/login.h"
#include "authd/session/sess.h"
#include "authd/ui/csrf.h"
#include "authd/ui/pages.h"
#include "authd/ui/templates_gen.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/utf8.h"
#include "identity/dir/dir.h"
#include "identity/idn/idnum.h"
#include "identity/match/matchkey.h"

#define COUNTER_PURPOSE "counter"
#define LOGIN_AGAIN "/login?next=%2Fcounter"
#define STEP_UP LOGIN_TOTP_PATH "?next=%2Fcounter&loa=3"
#define ID_FIELD_MAX 32
#define MASK_MAX 64

/* The staff member behind a request. */
struct staff {
	struct sess_info si;
	struct dir_mandate m;
	struct dir_org org;
	char actor[8 + SESS_UID_MAX];
};

static void
staff_clear(struct staff *s)
{
	dir_mandate_clear(&s->m);
	dir_org_clear(&s->org);
}

bool
counter_doc_ok(const char *doc)
{
	static const char *const docs[] = { "id_card", "temp_id_card", "household_register" };

	for (size_t i = 0; doc != NULL && i < sizeof(docs) / sizeof(docs[0]); i++)
		if (strcmp(doc, docs[i]) == 0)
			return true;
	return false;
}

int
counter_evidence(const char *doc, const char *id_number, const char *note, char *out,
    size_t outsz)
{
	char masked[MASK_MAX];
	size_t n = note != NULL ? strlen(note) : 0;
	int k;

	if (outsz > 0)
		out[0] = '\0';
	if (!counter_doc_ok(doc) || id_number == NULL || !yh_utf8_valid(note != NULL ?
	    note : "", n))
		return YH_ERR_INVALID;
	if (n > COUNTER_NOTE_MAX)
		return YH_ERR_TOO_LONG;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)note[i] < 0x20 && note[i] != '\n' && note[i] != '\r')
			return YH_ERR_INVALID;
	idn_mask(id_number, masked, sizeof(masked));
	k = snprintf(out, outsz, "doc=%s; number=%s; seen=%s", doc, masked, n > 0 ? note : "-");
	if (k < 0 || (size_t)k >= outsz) {
		if (outsz > 0)
			out[0] = '\0';
		return YH_ERR_TOO_LONG;
	}
	return 0;
}

/* Writes a counter audit event with the staff member as actor; takes fields. */
static int
audit(struct authd_app *app, const struct staff *s, const char *event, json_t *fields)
{
	int r;

	if (fields == NULL)
		return YH_ERR_ALLOC;
	/* The agency's uid, as authctl's org and staff events name it: the audit log masks
	 * a credit code like any long number, which would leave the agency unknown. */
	json_object_set_new(fields, "org", json_string(s->org.uid));
	json_object_set_new(fields, "unit", json_string(s->m.unit));
	json_object_set_new(fields, "sid", json_string(s->si.sid));
	/* login_audit only reads fields: they are ours to free. */
	r = login_audit(app, event, s->actor, fields) == 0 ? 0 : YH_ERR_IO;
	json_decref(fields);
	return r;
}

/*
 * The start of every handler (see the top of the file). Returns 0 (go on unless
 * http_req_answered) or an error to return.
 */
static int
enter(struct authd_app *app, struct http_req *req, bool post, struct staff *s)
{
	enum page_lang l = page_lang_of(req);
	int r;

	memset(s, 0, sizeof(*s));
	if ((r = login_session_of(req, app, SESS_TOUCH, &s->si)) == YH_ERR_NOT_FOUND)
		return http_respond_redirect(req, post ? 303 : 302, LOGIN_AGAIN);
	if (r != 0)
		return page_failure_send(req, r);
	if (s->si.loa == LOGIN_LOA_PENDING)
		return http_respond_redirect(req, post ? 303 : 302, STEP_UP);
	r = dir_staff_current(app->dir, s->si.uid, 0, &s->m, &s->org);
	if (r == YH_ERR_NOT_FOUND)
		return page_error_send(req, 403, page_msg(l, PAGE_MSG_COUNTER_NOT_STAFF),
		    "/account", page_msg(l, PAGE_MSG_ACCOUNT_LINK));
	if (r != 0)
		return page_failure_send(req, r);
	if (s->si.loa < COUNTER_MIN_LOA)
		return http_respond_redirect(req, post ? 303 : 302, STEP_UP);
	if (post && (r = csrf_verify(req, app->keys, COUNTER_PURPOSE, s->si.key)) != 0)
		return r == YH_ERR_DENIED ? csrf_respond_rejected(req) : r;
	snprintf(s->actor, sizeof(s->actor), "user:%s", s->si.uid);
	return 0;
}

const char *
counter_status_word(enum page_lang l, enum dir_status st)
{
	switch (st) {
	case DIR_STATUS_ACTIVE:
		return page_msg(l, PAGE_MSG_COUNTER_STATUS_ACTIVE);
	case DIR_STATUS_DISABLED:
		return page_msg(l, PAGE_MSG_COUNTER_STATUS_DISABLED);
	case DIR_STATUS_LOCKED:
		return page_msg(l, PAGE_MSG_COUNTER_STATUS_LOCKED);
	case DIR_STATUS_DEREGISTERED:
		return page_msg(l, PAGE_MSG_COUNTER_STATUS_DEREGISTERED);
	default:
		return dir_status_str(st);
	}
}

/* The page: the search form, and the citizen p when found (NULL: none, or no search);
 * msg (NULL: none) says what was refused (an alert, with an error status) or what was
 * done (a notice). */
static int
render(struct authd_app *app, struct http_req *req, const struct staff *s,
    const struct dir_person *p, bool searched, const char *msg, unsigned status)
{
	char csrf[CSRF_TOKEN_SIZE], name[DIR_NAME_MAX * 4 + 1], idm[MASK_MAX], loa[4];
	struct page pg;
	int r;

	if ((r = csrf_prepare(req, app->keys, COUNTER_PURPOSE, s->si.key, csrf)) != 0)
		return r;
	name[0] = idm[0] = '\0';
	if (p != NULL) {
		mk_name_mask(p->name, name, sizeof(name));
		idn_mask(p->id_number, idm, sizeof(idm));
		snprintf(loa, sizeof(loa), "%d", p->loa.level);
	}
	page_init(&pg, req, COUNTER_PATH);
	page_begin(&pg, page_msg(pg.lang, PAGE_MSG_COUNTER_TITLE));
	tpl_counter_render(&pg, &(struct tpl_counter){ .alert = status >= 400 ? msg : NULL,
	    .notice = status < 400 ? msg : NULL, .csrf = csrf,
	    .org_name = s->org.name, .unit = s->m.unit, .found = p != NULL,
	    .none = searched && p == NULL, .uid = p != NULL ? p->uid : "", .name = name,
	    .id_masked = idm, .loa = p != NULL ? loa : "",
	    .open = p != NULL && p->status != DIR_STATUS_DEREGISTERED,
	    .status = p != NULL ? counter_status_word(pg.lang, p->status) : "" });
	yh_wipe(csrf, sizeof(csrf));
	return page_send(&pg, req, status);
}

static int
counter_get(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct staff s;
	int r;

	if ((r = enter(app, req, false, &s)) == 0 && !http_req_answered(req))
		r = render(app, req, &s, NULL, false, NULL, 200);
	staff_clear(&s);
	return r;
}

/* Finds the citizen by the ID number in the form's field (through the blind index).
 * 0, YH_ERR_NOT_FOUND, YH_ERR_INVALID (not a valid ID number, or no field). */
static int
find_citizen(struct authd_app *app, struct http_req *req, struct dir_person *p)
{
	char *idn = NULL;
	int r;

	memset(p, 0, sizeof(*p));
	if ((r = http_req_form(req, "id_number", ID_FIELD_MAX, &idn)) != 0)
		return r == YH_ERR_NOT_FOUND || r == YH_ERR_TOO_LONG ? YH_ERR_INVALID : r;
	r = dir_person_find_id_number(app->dir, idn, p);
	yh_strfree_secret(idn);
	return r;
}

static int
counter_search(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct dir_person p;
	struct staff s;
	char idm[MASK_MAX];
	int r, fr;

	memset(&p, 0, sizeof(p));
	if ((r = enter(app, req, true, &s)) != 0 || http_req_answered(req))
		goto out;
	fr = find_citizen(app, req, &p);
	if (fr != 0 && fr != YH_ERR_NOT_FOUND && fr != YH_ERR_INVALID) {
		r = page_failure_send(req, fr);
		goto out;
	}
	idm[0] = '\0';
	if (fr == 0)
		idn_mask(p.id_number, idm, sizeof(idm));
	if ((r = audit(app, &s, "counter.search", json_pack("{s:b, s:s?, s:s?}", "found",
	    fr == 0, "person", fr == 0 ? p.uid : NULL, "id_number", fr == 0 ? idm :
	    NULL))) != 0) {
		r = page_failure_send(req, r);
		goto out;
	}
	r = render(app, req, &s, fr == 0 ? &p : NULL, true, NULL, fr == YH_ERR_INVALID ? 400 :
	    200);
out:
	dir_person_clear(&p);
	staff_clear(&s);
	return r;
}

/* A refused counter action (event) on the citizen p, for reason: recorded in the audit
 * trail like a done one, and the page with msg (400). */
static int
refuse(struct authd_app *app, struct http_req *req, const struct staff *s,
    const struct dir_person *p, const char *event, const char *reason, enum page_msg msg)
{
	int r;

	if ((r = audit(app, s, event, json_pack("{s:s, s:s}", "person", p->uid, "refused",
	    reason))) != 0)
		return page_failure_send(req, r);
	return render(app, req, s, p, true, page_msg(page_lang_of(req), msg), 400);
}

/* A deregistered citizen's refusal (the directory changes nothing of them). */
static int
refuse_deregistered(struct authd_app *app, struct http_req *req, const struct staff *s,
    const struct dir_person *p, const char *event)
{
	return refuse(app, req, s, p, event, "deregistered", PAGE_MSG_COUNTER_DEREGISTERED);
}

/*
 * The citizen the form's uid names, into *p, for event: never the staff member
 * themselves (nobody raises their own level or locks their own account here), nor a
 * deregistered account; and the ID number re-typed from the document compared, so that
 * an action needs the citizen's document at the counter, not only a uid. 0, or the page
 * was answered (*done: a bad request, a refusal, or the directory's failure).
 */
static int
form_citizen(struct authd_app *app, struct http_req *req, const struct staff *s,
    const char *event, struct dir_person *p, bool *done)
{
	struct dir_person by_id;
	char *uid = NULL;
	int r;

	*done = true;
	memset(&by_id, 0, sizeof(by_id));
	if (http_req_form(req, "uid", DIR_UID_LEN, &uid) != 0 || !dir_uid_valid(uid) ||
	    (r = dir_person_get(app->dir, uid, p)) == YH_ERR_NOT_FOUND ||
	    (r == 0 && strcmp(p->uid, s->si.uid) == 0)) {
		r = render(app, req, s, NULL, true, page_msg(page_lang_of(req),
		    PAGE_MSG_BAD_REQUEST), 400);
		goto out;
	}
	if (r != 0) {
		r = page_failure_send(req, r);
		goto out;
	}
	r = find_citizen(app, req, &by_id);
	if (r != 0 && r != YH_ERR_NOT_FOUND && r != YH_ERR_INVALID) {
		r = page_failure_send(req, r);
		goto out;
	}
	if (r != 0 || strcmp(by_id.uid, p->uid) != 0)
		r = refuse(app, req, s, p, event, "id_number_mismatch", PAGE_MSG_COUNTER_MISMATCH);
	else if (p->status == DIR_STATUS_DEREGISTERED)
		r = refuse_deregistered(app, req, s, p, event);
	else
		*done = false;
out:
	dir_person_clear(&by_id);
	free(uid);
	return r;
}

static int
counter_verify(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	enum page_lang l = page_lang_of(req);
	char evidence[DIR_EVIDENCE_MAX], *doc = NULL, *note = NULL;
	struct dir_person p, after;
	struct dir_loa v;
	struct staff s;
	bool done = false, applied = false;
	int r;

	memset(&p, 0, sizeof(p));
	memset(&after, 0, sizeof(after));
	if ((r = enter(app, req, true, &s)) != 0 || http_req_answered(req))
		goto out;
	if ((r = form_citizen(app, req, &s, "counter.verify", &p, &done)) != 0 || done)
		goto out;
	r = http_req_form(req, "note", COUNTER_NOTE_MAX, &note);
	if ((r != 0 && r != YH_ERR_NOT_FOUND) || http_req_form(req, "doc", 32, &doc) != 0 ||
	    counter_evidence(doc, p.id_number, note, evidence, sizeof(evidence)) != 0) {
		r = render(app, req, &s, &p, true, page_msg(l, PAGE_MSG_COUNTER_BAD_INPUT), 400);
		goto out;
	}
	memset(&v, 0, sizeof(v));
	v.level = 4;
	v.method = (char *)"counter";
	v.by = s.actor;
	v.evidence = evidence;
	/* deregistered since it was read: the directory refuses */
	if ((r = dir_person_set_loa(app->dir, p.uid, &v, DIR_LOA_RAISE, &applied)) ==
	    YH_ERR_DENIED) {
		r = refuse_deregistered(app, req, &s, &p, "counter.verify");
		goto out;
	}
	if (r != 0 ||
	    (r = audit(app, &s, "counter.verify", json_pack("{s:s, s:s, s:b, s:s}", "person",
	    p.uid, "doc", doc, "applied", applied, "evidence", evidence))) != 0) {
		r = page_failure_send(req, r);
		goto out;
	}
	if ((r = dir_person_get(app->dir, p.uid, &after)) != 0) {
		r = page_failure_send(req, r);
		goto out;
	}
	r = render(app, req, &s, &after, true, page_msg(l, PAGE_MSG_COUNTER_VERIFIED), 200);
out:
	free(doc);
	free(note);
	dir_person_clear(&p);
	dir_person_clear(&after);
	staff_clear(&s);
	return r;
}

static int
counter_lock(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	enum page_lang l = page_lang_of(req);
	struct dir_person p, after;
	struct staff s;
	size_t ended = 0, fams = 0;
	bool done = false;
	int r;

	memset(&p, 0, sizeof(p));
	memset(&after, 0, sizeof(after));
	if ((r = enter(app, req, true, &s)) != 0 || http_req_answered(req))
		goto out;
	if ((r = form_citizen(app, req, &s, "counter.lock", &p, &done)) != 0 || done)
		goto out;
	if ((r = dir_person_set_status(app->dir, p.uid, DIR_STATUS_LOCKED)) == YH_ERR_DENIED) {
		r = refuse_deregistered(app, req, &s, &p, "counter.lock");
		goto out;
	}
	if (r != 0 ||
	    (r = oidc_user_end(app, p.uid, true, &ended, &fams)) != 0 ||
	    (r = audit(app, &s, "counter.lock", json_pack("{s:s, s:I, s:I}", "person", p.uid,
	    "sessions_ended", (json_int_t)ended, "families", (json_int_t)fams))) != 0 ||
	    (r = dir_person_get(app->dir, p.uid, &after)) != 0) {
		r = page_failure_send(req, r);
		goto out;
	}
	r = render(app, req, &s, &after, true, page_msg(l, PAGE_MSG_COUNTER_LOCKED), 200);
out:
	dir_person_clear(&p);
	dir_person_clear(&after);
	staff_clear(&s);
	return r;
}

static const struct http_route counter_routes[] = {
	{ "GET", COUNTER_PATH, counter_get, HTTP_ROUTE_NO_STORE },
	{ "POST", COUNTER_PATH "/search", counter_search, HTTP_ROUTE_NO_STORE },
	{ "POST", COUNTER_PATH "/verify", counter_verify, HTTP_ROUTE_NO_STORE },
	{ "POST", COUNTER_PATH "/lock", counter_lock, HTTP_ROUTE_NO_STORE },
	{ NULL, NULL, NULL, 0 },
};

int
counter_register(struct http_server *srv, struct authd_app *app)
{
	return http_routes_add(srv, counter_routes, app);
}
