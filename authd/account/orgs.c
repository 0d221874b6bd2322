/*
 * The organizations a person manages, on the account page (see account.h): a legal
 * representative or an admin of an active organization sees its current agents, adds
 * one and ends one. The rules are the directory's (dir_mandate_add: an active
 * organization and person, an agent at LoA 2 or more, not the legal representative, no
 * second current grant; dir_mandate_end) and those authctl org agent add shares
 * (yh_date_until_cst for the date); the page adds its own:
 *
 *   - only a current legal representative or admin of the organization may post (403);
 *   - adding needs a TOTP authentication at LoA 3 or more within ORGS_FRESH_S seconds
 *     (login_auth_fresh): else 303 to the step-up, which comes back to the account page
 *     with the organization, until and scopes in the query, never the ID number or name;
 *   - the agent is named by ID number and name; the name must have the same matching
 *     key (mk_name_key: width, spaces, middle dots, case, traditional characters) as the
 *     directory's. An unknown ID number, another name and a person who is not active
 *     get the one message, so the form tells nobody whether an ID number is registered;
 *   - nobody grants themselves;
 *   - with registry.org.url set, the legal-person registry must confirm the organization
 *     first, as for authctl (a mismatch or no answer refuses: the page has no
 *     --registry-unavailable-ok). That call is slow: the add runs on the worker pool.
 *
 * Ending a grant needs no step-up (it takes rights away) and goes through
 * oidc_org_relation_ended, as authctl's does through the control socket. Every change
 * is audited with actor "user:<uid>" of the person acting: org.agent.add,
 * org.agent.remove, org.grants.end (each with by "account").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "authd/account/account.h"
#include "authd/app.h"
#include "authd/login/login.h"
#include "authd/oidc/authorize.h"
#include "authd/oidc/token.h"
#include "authd/session/sess.h"
#include "authd/ui/csrf.h"
#include "authd/ui/pages.h"
#include "authd/ui/templates_gen.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/timeutil.h"
#include "common/url.h"
#include "common/workers.h"
#include "federation/registry.h"
#include "identity/dir/dir.h"
#include "identity/idn/idnum.h"
#include "identity/match/matchkey.h"

#define ORGS_FRESH_S 300          /* how old the TOTP authentication of an add may be */
#define ORGS_LOA 3                /* the LoA it must give */
#define ORGS_PATH "/account"
#define FIELD_ID_MAX 64           /* bytes of the ID number field */
#define FIELD_DATE_MAX 10         /* YYYY-MM-DD */
#define FIELD_SCOPES_MAX 2048
#define ACTOR_MAX (8 + SESS_UID_MAX)
#define NAME_KEY_MAX (DIR_NAME_MAX * 4 + 1)

/* What the sections show besides the directory: for the organization org (a credit
 * code), the add form's kept values and a notice or an alert. */
struct orgs_form {
	const char *org;
	const char *name, *until, *scopes;
	const char *notice, *alert;
};

/* ---- small helpers ---- */

static void
actor_of(const char *uid, char out[ACTOR_MAX])
{
	snprintf(out, ACTOR_MAX, "user:%s", uid);
}

/* The last day of a grant that ends at until (the start of the next day, UTC+8), as
 * "2027-12-31"; "" for an open one. */
static void
fmt_until(int64_t until, char *out, size_t outsz)
{
	time_t t = (time_t)(until - 1 + 8 * 3600);
	struct tm tm;

	out[0] = '\0';
	if (until > 0 && gmtime_r(&t, &tm) != NULL)
		strftime(out, outsz, "%Y-%m-%d", &tm);
}

/* Whether the person can reach LoA 3 by the step-up: verified (LoA 2+) with a confirmed
 * TOTP enrolment. */
static int
can_step_up(struct authd_app *app, const struct dir_person *p, bool *can)
{
	struct dir_totp t;
	int r;

	*can = false;
	if (login_session_loa(p->loa.level, true) < ORGS_LOA)
		return 0;
	memset(&t, 0, sizeof(t));
	r = dir_totp_get(app->dir, p->uid, &t);
	*can = r == 0 && t.confirmed;
	dir_totp_clear(&t);
	return r == YH_ERR_NOT_FOUND ? 0 : r;
}

static bool
has_amr(const struct sess_info *si, const char *m)
{
	for (size_t i = 0; i < si->namr && i < SESS_AMR_MAX; i++)
		if (strcmp(si->amr[i], m) == 0)
			return true;
	return false;
}

/* True when m is a relation that lets its person manage the organization's agents. */
static bool
manages(const struct dir_mandate *m)
{
	return strcmp(m->role, DIR_ROLE_LEGAL_REP) == 0 || strcmp(m->role, DIR_ROLE_ADMIN) == 0;
}

/*
 * The organization with credit code code into *org, and the role (static) in which uid
 * manages it now (a relation in force, whatever the organization's status). Returns 0,
 * YH_ERR_DENIED (no such organization, or uid does not manage it) or the directory's
 * error.
 */
static int
managed_org(struct authd_app *app, const char *uid, const char *code, struct dir_org *org,
    const char **role)
{
	struct dir_mandate *ms = NULL;
	int64_t now = yh_now();
	size_t n = 0;
	int r;

	*role = NULL;
	memset(org, 0, sizeof(*org));
	if (code == NULL || (r = dir_org_find_uscc(app->dir, code, org)) == YH_ERR_NOT_FOUND ||
	    r == YH_ERR_INVALID || r == YH_ERR_TOO_LONG)
		return YH_ERR_DENIED;
	/* every relation, then in force by its own fields: a deregistered organization's
	 * relations are not current, and its legal representative is told why */
	if (r != 0 || (r = dir_mandate_list_org(app->dir, org->uid, 0, &ms, &n)) != 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (!dir_mandate_in_force(&ms[i], now) || strcmp(ms[i].person_uid, uid) != 0 ||
		    !manages(&ms[i]))
			continue;
		if (*role == NULL || strcmp(ms[i].role, DIR_ROLE_LEGAL_REP) == 0)
			*role = strcmp(ms[i].role, DIR_ROLE_LEGAL_REP) == 0 ? DIR_ROLE_LEGAL_REP :
			    DIR_ROLE_ADMIN;
	}
	dir_mandate_list_free(ms, n);
	return *role != NULL ? 0 : YH_ERR_DENIED;
}

/* ---- the sections ---- */

#define UNTIL_MAX 16

/* One agent as the section shows it, and the storage its slots point into. */
struct agent_view {
	struct dir_person person;
	char masked[64], until[UNTIL_MAX];
	char *granted_by;              /* a person's name (malloc'd), or NULL */
};

/* Who granted m, in words: the person's name for "user:<uid>", else as recorded. */
static const char *
granted_words(struct authd_app *app, const struct dir_mandate *m, struct agent_view *v)
{
	struct dir_person g;

	if (m->granted_by == NULL)
		return "-";
	if (strncmp(m->granted_by, "user:", 5) != 0)
		return m->granted_by;
	memset(&g, 0, sizeof(g));
	if (dir_person_get(app->dir, m->granted_by + 5, &g) == 0)
		v->granted_by = strdup(g.name);
	dir_person_clear(&g);
	return v->granted_by != NULL ? v->granted_by : m->granted_by;
}

/* Renders the section of org (managed in role) with its current agents. */
static int
render_org(struct authd_app *app, struct page *p, const struct dir_org *org,
    const char *role, const char *csrf, bool can_add, const struct orgs_form *f)
{
	struct dir_mandate *ms = NULL;
	struct tpl_account_org_agents *items = NULL;
	struct agent_view *views = NULL;
	bool mine = f != NULL && f->org != NULL && strcmp(f->org, org->uscc) == 0;
	size_t n = 0, k = 0;
	int r;

	if ((r = dir_mandate_current(app->dir, NULL, org->uid, 0, &ms, &n)) != 0)
		return r;
	if (n > 0 && ((items = calloc(n, sizeof(*items))) == NULL ||
	    (views = calloc(n, sizeof(*views))) == NULL)) {
		r = YH_ERR_ALLOC;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct agent_view *v = &views[k];

		if (strcmp(ms[i].role, DIR_ROLE_AGENT) != 0 ||
		    dir_person_get(app->dir, ms[i].person_uid, &v->person) != 0)
			continue;
		idn_mask(v->person.id_number, v->masked, sizeof(v->masked));
		fmt_until(ms[i].until, v->until, sizeof(v->until));
		items[k++] = (struct tpl_account_org_agents){
			.name = v->person.name, .id_number = v->masked, .id = ms[i].id,
			.until = v->until[0] != '\0' ? v->until :
			    page_msg(p->lang, PAGE_MSG_AORG_UNTIL_OPEN),
			.scopes = ms[i].scopes != NULL && ms[i].scopes[0] != '\0' ? ms[i].scopes :
			    page_msg(p->lang, PAGE_MSG_AORG_SCOPES_ALL),
			.granted_by = granted_words(app, &ms[i], v),
		};
	}
	tpl_account_org_render(p, &(struct tpl_account_org){
		.uscc = org->uscc, .name = org->name, .csrf = csrf,
		.role = page_msg(p->lang, oidc_org_role_words(role)),
		.agents = items, .agents_n = k, .can_add = can_add,
		.notice = mine ? f->notice : NULL, .alert = mine ? f->alert : NULL,
		.f_name = mine ? f->name : NULL, .f_until = mine ? f->until : NULL,
		.f_scopes = mine ? f->scopes : NULL,
	});
out:
	for (size_t i = 0; views != NULL && i < n; i++) {
		dir_person_clear(&views[i].person);
		free(views[i].granted_by);
	}
	free(views);
	free(items);
	dir_mandate_list_free(ms, n);
	return r;
}

/* Whether the organization of ms[i] had its section already: in the legal_rep pass (0)
 * an earlier legal_rep relation of it, in the admin pass (1) any legal_rep relation or
 * an earlier admin relation of it. */
static bool
shown_before(const struct dir_mandate *ms, size_t n, size_t i, size_t pass)
{
	for (size_t j = 0; j < n; j++) {
		if (j == i || strcmp(ms[j].org_uid, ms[i].org_uid) != 0 || !manages(&ms[j]))
			continue;
		if (strcmp(ms[j].role, DIR_ROLE_LEGAL_REP) == 0 ? pass == 1 || j < i : j < i)
			return true;
	}
	return false;
}

/* The sections of every organization uid manages, the strongest role once each. */
static int
render_orgs(struct authd_app *app, struct page *p, const struct sess_info *si,
    const char *csrf, const struct orgs_form *f)
{
	struct dir_mandate *ms = NULL;
	struct dir_person me;
	struct dir_org org;
	const char *role;
	size_t n = 0;
	bool can = false;
	int r;

	memset(&me, 0, sizeof(me));
	memset(&org, 0, sizeof(org));
	if ((r = dir_mandate_current(app->dir, si->uid, NULL, 0, &ms, &n)) != 0 || n == 0)
		goto out;
	if ((r = dir_person_get(app->dir, si->uid, &me)) != 0 ||
	    (r = can_step_up(app, &me, &can)) != 0)
		goto out;
	/* legal_rep relations first, then admin ones: each organization once */
	for (size_t pass = 0; r == 0 && pass < 2; pass++) {
		role = pass == 0 ? DIR_ROLE_LEGAL_REP : DIR_ROLE_ADMIN;
		for (size_t i = 0; r == 0 && i < n; i++) {
			if (strcmp(ms[i].role, role) != 0 || shown_before(ms, n, i, pass))
				continue;
			dir_org_clear(&org);
			if ((r = dir_org_get(app->dir, ms[i].org_uid, &org)) == YH_ERR_NOT_FOUND) {
				r = 0;
				continue;
			}
			if (r == 0 && org.uscc != NULL && org.status == DIR_STATUS_ACTIVE)
				r = render_org(app, p, &org, role, csrf, can, f);
		}
	}
out:
	dir_org_clear(&org);
	dir_person_clear(&me);
	dir_mandate_list_free(ms, n);
	return r;
}

/* The notice of ?aorg_done=KEY (fixed keys only: the parameter is never echoed). */
static const char *
done_words(enum page_lang l, const char *key)
{
	if (key == NULL)
		return NULL;
	if (strcmp(key, "added") == 0)
		return page_msg(l, PAGE_MSG_AORG_DONE_ADDED);
	if (strcmp(key, "ended") == 0)
		return page_msg(l, PAGE_MSG_AORG_DONE_ENDED);
	if (strcmp(key, "stepup") == 0)
		return page_msg(l, PAGE_MSG_AORG_STEPUP_DONE);
	return NULL;
}

/* A query parameter, or NULL when absent or unusable. */
static const char *
query(struct http_req *req, const char *name, size_t max)
{
	const char *v = NULL;

	return http_req_query(req, name, max, &v) == 0 ? v : NULL;
}

int
account_orgs_render(struct authd_app *app, struct http_req *req, struct page *p,
    const struct sess_info *si, const char *csrf)
{
	struct orgs_form f = {
		.org = query(req, "aorg", IDN_INPUT_MAX),
		.until = query(req, "until", FIELD_DATE_MAX),
		.scopes = query(req, "scopes", FIELD_SCOPES_MAX),
		.notice = done_words(p->lang, query(req, "aorg_done", 16)),
	};

	return render_orgs(app, p, si, csrf, &f);
}

static int
message_page(struct http_req *req, unsigned status, enum page_msg m)
{
	enum page_lang l = page_lang_of(req);

	return page_error_send(req, status, page_msg(l, m), ORGS_PATH,
	    page_msg(l, PAGE_MSG_ACCOUNT_LINK));
}

/*
 * The start of both POSTs: the session, the CSRF token (a missing or wrong one: 403, the
 * form is refused), and the organization the form names, which the person must manage
 * now (else 403). Returns 0 (go on unless http_req_answered) or an error to return.
 */
static int
enter(struct authd_app *app, struct http_req *req, struct sess_info *si, struct dir_org *org,
    const char **role)
{
	char *code = NULL;
	int r;

	memset(org, 0, sizeof(*org));
	if ((r = account_session(app, req, true, si)) != 0 || http_req_answered(req))
		return r;
	if ((r = csrf_verify(req, app->keys, ACCOUNT_PURPOSE, si->key)) == YH_ERR_DENIED)
		return message_page(req, 403, PAGE_MSG_CSRF);
	if (r != 0)
		return r;
	if (http_req_form(req, "org", IDN_INPUT_MAX, &code) != 0)
		code = NULL;
	r = managed_org(app, si->uid, code, org, role);
	free(code);
	if (r == YH_ERR_DENIED) {
		yh_info("account: %s posted for an organization they do not manage", si->uid);
		return message_page(req, 403, PAGE_MSG_AORG_ERR_FORBIDDEN);
	}
	return r != 0 ? page_failure_send(req, r) : 0;
}

/* 303 back to the organization's section with a notice key. */
static int
back(struct http_req *req, const char *uscc, const char *done)
{
	char to[160];

	snprintf(to, sizeof(to), "%s?aorg=%s&aorg_done=%s#org-%s", ORGS_PATH, uscc, done, uscc);
	return http_respond_redirect(req, 303, to);
}

/* ---- POST /account/org/agent/add ---- */

/* The add form as posted (each field malloc'd, "" when absent). */
struct add_form {
	char *id_number, *name, *until, *scopes;
	char norm_scopes[FIELD_SCOPES_MAX + 1];   /* scopes, one space between names */
};

static void
add_form_free(struct add_form *a)
{
	yh_strfree_secret(a->id_number);
	free(a->name);
	free(a->until);
	free(a->scopes);
}

/* A form field (trimmed of surrounding blanks), "" when absent. */
static int
form_field(struct http_req *req, const char *name, size_t max, char **out)
{
	size_t n;
	char *s;
	int r = http_req_form(req, name, max, out);

	if (r == YH_ERR_NOT_FOUND)
		return (*out = strdup("")) == NULL ? YH_ERR_ALLOC : 0;
	if (r != 0)
		return r;
	s = *out;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	n = strspn(s, " \t");
	memmove(s, s + n, strlen(s + n) + 1);
	return 0;
}

/* The scope names of s (separated by blanks or commas) joined by single spaces. */
static void
normalize_scopes(const char *s, char *out, size_t outsz)
{
	size_t o = 0;

	out[0] = '\0';
	while (*s != '\0') {
		size_t w;

		s += strspn(s, " \t,");
		w = strcspn(s, " \t,");
		if (w == 0)
			break;
		if (o + w + 2 > outsz)
			break;
		if (o > 0)
			out[o++] = ' ';
		memcpy(out + o, s, w);
		o += w;
		out[o] = '\0';
		s += w;
	}
}

/* Reads the add form. Returns 0, YH_ERR_TOO_LONG / YH_ERR_INVALID / YH_ERR_CONFLICT (a
 * field over its cap, malformed or repeated), YH_ERR_ALLOC. */
static int
add_form_read(struct http_req *req, struct add_form *a)
{
	int r;

	memset(a, 0, sizeof(*a));
	if ((r = form_field(req, "id_number", FIELD_ID_MAX, &a->id_number)) != 0 ||
	    (r = form_field(req, "name", DIR_NAME_MAX, &a->name)) != 0 ||
	    (r = form_field(req, "until", FIELD_DATE_MAX, &a->until)) != 0 ||
	    (r = form_field(req, "scopes", FIELD_SCOPES_MAX, &a->scopes)) != 0)
		return r;
	normalize_scopes(a->scopes, a->norm_scopes, sizeof(a->norm_scopes));
	return 0;
}

/*
 * 303 to the TOTP step-up, coming back to the section with the organization, until and
 * scopes (never the ID number or the name: a URL ends up in logs and history).
 */
static int
to_step_up(struct http_req *req, const struct dir_org *org, const struct add_form *a)
{
	struct yh_buf next, loc;
	int r;

	yh_buf_init(&next, LOGIN_NEXT_MAX);
	yh_buf_init(&loc, LOGIN_NEXT_MAX * 3 + 64);
	if ((r = yh_buf_printf(&next, "%s?aorg=%s&aorg_done=stepup", ORGS_PATH, org->uscc)) == 0 &&
	    a->until[0] != '\0' && (r = yh_buf_puts(&next, "&until=")) == 0)
		r = yh_url_pct_encode(&next, a->until);
	if (r == 0 && a->norm_scopes[0] != '\0' && (r = yh_buf_puts(&next, "&scopes=")) == 0)
		r = yh_url_pct_encode(&next, a->norm_scopes);
	if (r == 0)
		r = yh_buf_printf(&next, "#org-%s", org->uscc);
	if (r == 0 && (r = yh_buf_puts(&loc, LOGIN_TOTP_PATH "?next=")) == 0 &&
	    (r = yh_url_pct_encode(&loc, login_next_pick(yh_buf_cstr(&next)))) == 0 &&
	    (r = yh_buf_printf(&loc, "&loa=%d", ORGS_LOA)) == 0)
		r = http_respond_redirect(req, 303, yh_buf_cstr(&loc));
	yh_buf_free(&next);
	yh_buf_free(&loc);
	return r;
}

/* True when the two names have the same matching key (mk_name_key). */
static bool
same_name(const char *a, const char *b)
{
	char ka[NAME_KEY_MAX], kb[NAME_KEY_MAX];
	bool same;

	same = mk_name_key(a, strlen(a), ka, sizeof(ka)) == 0 &&
	    mk_name_key(b, strlen(b), kb, sizeof(kb)) == 0 && strcmp(ka, kb) == 0;
	yh_wipe(ka, sizeof(ka));
	yh_wipe(kb, sizeof(kb));
	return same;
}

/*
 * The agent the form names, into *p: PAGE_MSG_NONE, or the message that refuses it (one
 * message for an unknown ID number, another name and a person not active), or
 * PAGE_MSG_COUNT with *err set for a directory failure.
 */
static enum page_msg
find_agent(struct authd_app *app, const struct sess_info *si, const struct add_form *a,
    struct dir_person *p, int *err)
{
	struct idn_resident idr;
	enum idn_reason why;
	int r;

	*err = 0;
	if (a->id_number[0] == '\0' || a->name[0] == '\0')
		return PAGE_MSG_AORG_ERR_MISSING;
	why = idn_resident_check(a->id_number, strlen(a->id_number), &idr);
	yh_wipe(&idr, sizeof(idr));
	if (why != IDN_OK)
		return PAGE_MSG_AORG_ERR_NO_PERSON;
	if ((r = dir_person_find_id_number(app->dir, a->id_number, p)) == YH_ERR_NOT_FOUND)
		return PAGE_MSG_AORG_ERR_NO_PERSON;
	if (r != 0) {
		*err = r;
		return PAGE_MSG_COUNT;
	}
	if (!same_name(a->name, p->name) || p->status != DIR_STATUS_ACTIVE)
		return PAGE_MSG_AORG_ERR_NO_PERSON;
	if (strcmp(p->uid, si->uid) == 0)
		return PAGE_MSG_AORG_ERR_SELF;
	if (p->loa.level < 2)
		return PAGE_MSG_AORG_ERR_UNVERIFIED;
	return PAGE_MSG_NONE;
}

/* The directory's refusal of a grant, in words (PAGE_MSG_COUNT: a failure). */
static enum page_msg
grant_words(int r)
{
	switch (r) {
	case YH_ERR_CONFLICT: return PAGE_MSG_AORG_ERR_LEGAL_REP;
	case YH_ERR_EXISTS: return PAGE_MSG_AORG_ERR_EXISTS;
	case YH_ERR_DENIED: return PAGE_MSG_AORG_ERR_UNVERIFIED;
	case YH_ERR_INVALID: case YH_ERR_TOO_LONG: case YH_ERR_LIMIT:
		return PAGE_MSG_AORG_ERR_SCOPES;
	default: return PAGE_MSG_COUNT;
	}
}

/* Grants the agent p for org; *msg set when the directory refuses. */
static int
add_grant(struct authd_app *app, const struct sess_info *si, const struct dir_org *org,
    const struct dir_person *p, const struct add_form *a, int64_t until, enum page_msg *msg)
{
	char actor[ACTOR_MAX], rid[DIR_UID_LEN + 1];
	struct dir_mandate m;
	int r;

	*msg = PAGE_MSG_NONE;
	actor_of(si->uid, actor);
	memset(&m, 0, sizeof(m));
	memcpy(m.person_uid, p->uid, sizeof(m.person_uid));
	memcpy(m.org_uid, org->uid, sizeof(m.org_uid));
	m.role = (char *)DIR_ROLE_AGENT;
	m.granted_by = actor;
	m.until = until;
	m.scopes = a->norm_scopes[0] != '\0' ? (char *)a->norm_scopes : NULL;
	if ((r = dir_mandate_add(app->dir, &m, actor, rid)) != 0) {
		if ((*msg = grant_words(r)) != PAGE_MSG_COUNT)
			return 0;
		*msg = PAGE_MSG_NONE;
		return r;
	}
	return account_audit(app, "org.agent.add", si->uid, json_pack("{s:s, s:s, s:s, s:s, "
	    "s:s, s:s, s:I, s:s?}", "by", "account", "org", org->uid, "org_uid", org->uid,
	    "uscc", org->uscc, "person", p->uid, "relation", rid, "until", (json_int_t)until,
	    "scopes", m.scopes));
}

/* What an add carries past the step-up check, to the worker when there is a pool (the
 * legal-person registry may be asked): copied off the request. */
struct add_job {
	struct authd_app *app;
	struct http_req *req;
	struct sess_info si;
	char org_uid[DIR_UID_LEN + 1];
	struct add_form a;
	char csrf[CSRF_TOKEN_SIZE];
	enum page_lang lang;
	bool https;
};

static void
add_job_free(struct add_job *j)
{
	if (j == NULL)
		return;
	add_form_free(&j->a);
	yh_wipe(j->csrf, sizeof(j->csrf));
	yh_wipe(&j->si, sizeof(j->si));
	free(j);
}

/* The sections alone, with f's alert (a refused add), as a page of status (any thread:
 * reads nothing of the request). */
static int
orgs_page(struct add_job *j, unsigned status, const struct orgs_form *f)
{
	struct page p;
	int r;

	page_init_lang(&p, j->lang, j->https, ORGS_PATH);
	page_begin(&p, page_msg(p.lang, PAGE_MSG_AORG_HEADING));
	if ((r = render_orgs(j->app, &p, &j->si, j->csrf, f)) != 0) {
		page_free(&p);
		return page_failure_send_as(j->req, j->lang, j->https, ORGS_PATH, r);
	}
	return page_send(&p, j->req, status);
}

/*
 * Before the grant, as for authctl org agent add: with registry.org.url set, the
 * legal-person registry must confirm the organization as the directory has it (credit
 * code, name, legal representative); each call is one "registry.check" audit line. *msg
 * and *status: the refusal (a mismatch, or the registry unavailable: the page has no
 * way to go on without it). Returns 0 or an error.
 */
static int
registry_check(struct add_job *j, const struct dir_org *org, enum page_msg *msg,
    unsigned *status)
{
	struct fed_reg_result res;
	struct dir_person rep;
	json_t *f;
	int r;

	*msg = PAGE_MSG_NONE;
	if (!fed_reg_enabled(j->app->registry, FED_REG_ORG))
		return 0;
	memset(&rep, 0, sizeof(rep));
	if (org->legal_rep_uid[0] != '\0' && (r = dir_person_get(j->app->dir,
	    org->legal_rep_uid, &rep)) != 0)
		return r;
	r = fed_reg_check_org(j->app->registry, &(struct fed_reg_org){ org->uscc, org->name,
	    rep.name, rep.id_number }, &res);
	dir_person_clear(&rep);
	if (r != 0)
		return r;
	if ((f = fed_reg_audit_fields(FED_REG_ORG, &res)) == NULL ||
	    json_object_set_new(f, "uscc", json_string(org->uscc)) != 0 ||
	    json_object_set_new(f, "org_uid", json_string(org->uid)) != 0 ||
	    json_object_set_new(f, "via", json_string("account")) != 0) {
		json_decref(f);
		return YH_ERR_ALLOC;
	}
	if ((r = account_audit(j->app, "registry.check", j->si.uid, f)) != 0)
		return r;
	if (res.outcome == FED_REG_MISMATCH) {
		*msg = PAGE_MSG_AORG_ERR_REGISTRY_MISMATCH;
		*status = 403;
	} else if (res.outcome == FED_REG_UNAVAILABLE) {
		yh_warn("account: legal-person registry unavailable (%s): agent not granted",
		    res.why);
		*msg = PAGE_MSG_AORG_ERR_REGISTRY_UNAVAILABLE;
		*status = 503;
	}
	return 0;
}

/* The checks and the grant once the session is fresh; sets the response. */
static int
add_run(struct add_job *j)
{
	struct add_form *a = &j->a;
	struct orgs_form f = { .name = a->name, .until = a->until, .scopes = a->norm_scopes };
	enum page_msg msg = PAGE_MSG_NONE;
	unsigned status = 400;
	struct dir_person p;
	struct dir_org org;
	int64_t until = 0;
	int r;

	memset(&p, 0, sizeof(p));
	if ((r = dir_org_get(j->app->dir, j->org_uid, &org)) != 0)
		return page_failure_send_as(j->req, j->lang, j->https, ORGS_PATH, r);
	f.org = org.uscc;
	if (a->until[0] != '\0' && yh_date_until_cst(a->until, yh_now(), &until) != 0)
		msg = PAGE_MSG_AORG_ERR_UNTIL;
	if (msg == PAGE_MSG_NONE)
		msg = find_agent(j->app, &j->si, a, &p, &r);
	if (msg == PAGE_MSG_NONE && r == 0)
		r = registry_check(j, &org, &msg, &status);
	if (msg == PAGE_MSG_NONE && r == 0)
		r = add_grant(j->app, &j->si, &org, &p, a, until, &msg);
	dir_person_clear(&p);
	if (r != 0)
		r = page_failure_send_as(j->req, j->lang, j->https, ORGS_PATH, r);
	else if (msg == PAGE_MSG_NONE)
		r = back(j->req, org.uscc, "added");
	else {
		f.alert = page_msg(j->lang, msg);
		r = orgs_page(j, status, &f);
	}
	dir_org_clear(&org);
	return r;
}

static void
add_job_fn(void *arg)
{
	struct add_job *j = arg;
	struct http_req *req = j->req;

	/* On failure no response is set: the server answers 500 at resume. */
	if (add_run(j) != 0)
		yh_error("agent add: no response could be set");
	add_job_free(j);
	http_req_resume(req);
}

/* Runs the add on the worker pool (inline without one); takes j. */
static int
add_start(struct add_job *j)
{
	struct http_req *req = j->req;
	int r;

	if (j->app->workers == NULL) {
		r = add_run(j);
		add_job_free(j);
		return r;
	}
	if ((r = http_req_suspend(req)) != 0) {
		add_job_free(j);
		return r;
	}
	if (wk_submit(j->app->workers, add_job_fn, j) != 0) {
		/* No response set = 500 at resume. */
		if (http_resp_retry_after(req, wk_retry_after_s(j->app->workers)) != 0 ||
		    page_error_send_as(req, j->lang, j->https, ORGS_PATH, 503,
		    page_msg(j->lang, PAGE_MSG_UNAVAILABLE)) != 0)
			yh_error("agent add: no response could be set");
		add_job_free(j);
		http_req_resume(req);
	}
	return HTTP_SUSPENDED;
}

/* The job of a fresh session's add; takes the form a (cleared). */
static int
add_job_new(struct authd_app *app, struct http_req *req, const struct sess_info *si,
    const struct dir_org *org, struct add_form *a, struct add_job **out)
{
	struct add_job *j;
	int r;

	if ((*out = j = calloc(1, sizeof(*j))) == NULL)
		return YH_ERR_ALLOC;
	j->app = app;
	j->req = req;
	j->si = *si;
	memcpy(j->org_uid, org->uid, sizeof(j->org_uid));
	j->a = *a;
	memset(a, 0, sizeof(*a));
	j->lang = page_lang_of(req);
	j->https = http_req_is_https(req);
	if ((r = csrf_prepare(req, app->keys, ACCOUNT_PURPOSE, si->key, j->csrf)) != 0) {
		add_job_free(j);
		*out = NULL;
	}
	return r;
}

static int
agent_add(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct add_job *j = NULL;
	struct sess_info si;
	struct dir_person me;
	struct add_form a;
	struct dir_org org;
	const char *role = NULL;
	bool can = false;
	int r;

	memset(&me, 0, sizeof(me));
	memset(&a, 0, sizeof(a));
	if ((r = enter(app, req, &si, &org, &role)) != 0 || http_req_answered(req))
		goto out;
	if (org.status != DIR_STATUS_ACTIVE) {
		r = message_page(req, 400, PAGE_MSG_AORG_ERR_INACTIVE);
		goto out;
	}
	if ((r = add_form_read(req, &a)) != 0) {
		r = r == YH_ERR_ALLOC ? r : message_page(req, 400, PAGE_MSG_BAD_REQUEST);
		goto out;
	}
	if (!login_auth_fresh(&si, yh_now(), ORGS_FRESH_S, ORGS_LOA) || !has_amr(&si, "otp")) {
		if ((r = dir_person_get(app->dir, si.uid, &me)) != 0 ||
		    (r = can_step_up(app, &me, &can)) != 0)
			r = page_failure_send(req, r);
		else
			r = can ? to_step_up(req, &org, &a) :
			    message_page(req, 403, PAGE_MSG_AORG_ERR_CANNOT_STEP_UP);
		goto out;
	}
	if ((r = add_job_new(app, req, &si, &org, &a, &j)) == 0)
		r = add_start(j);
out:
	add_form_free(&a);
	dir_person_clear(&me);
	dir_org_clear(&org);
	return r;
}

/* ---- POST /account/org/agent/end ---- */

/* Ends the agent relation m of org; *n relations ended. */
static int
end_grant(struct authd_app *app, const struct sess_info *si, const struct dir_org *org,
    const struct dir_mandate *m)
{
	char actor[ACTOR_MAX];
	size_t ended = 0, fams = 0, logouts = 0;
	int r, re;

	actor_of(si->uid, actor);
	if ((r = dir_mandate_end(app->dir, org->uid, m->person_uid, DIR_ROLE_AGENT, actor,
	    &ended)) != 0)
		return r;
	if ((r = account_audit(app, "org.agent.remove", si->uid, json_pack("{s:s, s:s, s:s, "
	    "s:s, s:s, s:I}", "by", "account", "org", org->uid, "org_uid", org->uid, "uscc",
	    org->uscc, "person", m->person_uid, "ended", (json_int_t)ended))) != 0)
		return r;
	/* The agent acts for the organization no more: their grants for it end now. */
	re = oidc_org_relation_ended(app, m->person_uid, org, &fams, &logouts);
	if (re != 0)
		yh_warn("account: the grants of %s for %s were not all ended: %s", m->person_uid,
		    org->uid, yh_strerror(re));
	if (re == 0 || fams > 0)
		r = account_audit(app, "org.grants.end", si->uid, json_pack("{s:s, s:s, s:s, "
		    "s:s, s:I, s:I}", "by", "account", "uid", m->person_uid, "org_uid", org->uid,
		    "org", org->uscc, "families", (json_int_t)fams, "logouts",
		    (json_int_t)logouts));
	return r != 0 ? r : re;
}

static int
agent_end(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct sess_info si;
	struct dir_mandate m;
	struct dir_org org;
	const char *role = NULL;
	char *rel = NULL;
	int r;

	memset(&m, 0, sizeof(m));
	if ((r = enter(app, req, &si, &org, &role)) != 0 || http_req_answered(req))
		goto out;
	if (http_req_form(req, "relation", DIR_UID_LEN, &rel) != 0 ||
	    (r = dir_mandate_get(app->dir, rel, &m)) == YH_ERR_NOT_FOUND || r == YH_ERR_INVALID ||
	    (r == 0 && (strcmp(m.org_uid, org.uid) != 0 || strcmp(m.role, DIR_ROLE_AGENT) != 0 ||
	    m.revoked != 0))) {
		r = message_page(req, 400, PAGE_MSG_AORG_ERR_NO_AGENT);
		goto out;
	}
	if (r == 0)
		r = end_grant(app, &si, &org, &m);
	if (r == YH_ERR_NOT_FOUND)
		r = message_page(req, 400, PAGE_MSG_AORG_ERR_NO_AGENT);
	else
		r = r == 0 ? back(req, org.uscc, "ended") : page_failure_send(req, r);
out:
	free(rel);
	dir_mandate_clear(&m);
	dir_org_clear(&org);
	return r;
}

static const struct http_route orgs_routes[] = {
	{ "POST", "/account/org/agent/add", agent_add, HTTP_ROUTE_NO_STORE },
	{ "POST", "/account/org/agent/end", agent_end, HTTP_ROUTE_NO_STORE },
	{ NULL, NULL, NULL, 0 },
};

int
account_orgs_register(struct http_server *srv, struct authd_app *app)
{
	return http_routes_add(srv, orgs_routes, app);
}
