/*
 * Logins through an upstream identity provider (docs/federation.md): for each
 * upstream.NAME block of kind oidc,
 *
 *   GET /login/upstream/NAME?next=...   a PKCE verifier, a nonce and the local next
 *       are stored as a flow record bound to the browser's yh_fed cookie (made here when
 *       it has none) for LOGIN_UPSTREAM_TTL_S; the record's token is the state; 303 to
 *       the upstream's authorization endpoint.
 *   GET /login/upstream/NAME/callback?code&state&iss   the record is found by state in
 *       this browser and used up (a second use finds it used), the code exchanged and
 *       the ID token verified (federation/upstream_oidc.h), then the person is found:
 *       by the link (upstream, sub) when there is one, else by the ID number (checked by
 *       identity/idn) when link = id_number, else created when auto_register is on. A
 *       link whose person's ID number differs from the one asserted is refused. The
 *       session opens at the mapped level with amr "fed"; a record keyed by the local
 *       session's sid keeps the upstream, its sid and its subject (for logout). A
 *       legal-person login adds its credit code to a resumed /authorize as org_hint.
 *   POST /login/upstream/NAME/backchannel-logout   the upstream's logout token ends the
 *       local sessions it names.
 *
 * A block of kind ticket has the same two GET routes: the start sends the browser to
 * the platform's login_url with a return URL ISSUER/login/upstream/NAME/callback?st=
 * STATE, the callback exchanges the ticket (federation/upstream_ticket.h) and goes on
 * as above.
 *
 * Everything that calls the upstream or the directory runs on the worker pool. Every
 * refusal answers a page for the person and writes a login.failure line naming the
 * upstream and the reason; nothing opens a session on a failure.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "authd/app.h"
#include "authd/login/login.h"
#include "authd/session/sess.h"
#include "authd/ui/csrf.h"
#include "authd/ui/pages.h"
#include "common/b64.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/timeutil.h"
#include "common/url.h"
#include "common/workers.h"
#include "federation/upstream_oidc.h"
#include "federation/upstream_ticket.h"
#include "identity/dir/dir.h"
#include "identity/idn/idnum.h"

#define UP_COOKIE "yh_fed"
#define UP_RETRY_MS 10000             /* the least time between discovery retries */

struct login_up {
	struct authd_app *app;
	const struct fed_up_cfg *cfg;
	struct fed_oidc *oidc;
	char path[sizeof(LOGIN_UPSTREAM_PATH) + FED_UP_NAME_MAX];
	char cb_path[sizeof(LOGIN_UPSTREAM_PATH) + FED_UP_NAME_MAX + 16];
	char bcl_path[sizeof(LOGIN_UPSTREAM_PATH) + FED_UP_NAME_MAX + 24];
	_Atomic int64_t retry_at;     /* yh_mono_ms when a retry may next start */
	atomic_bool trying;
};

struct login_ups {
	struct fed_up_set cfg;        /* a copy: the configuration in force may change */
	struct login_up one[FED_UP_MAX];
	size_t n;
};

/* ---- set-up ----------------------------------------------------------------------- */

int
login_ups_new(struct authd_app *app, const struct authd_cfg *cfg, struct login_ups **out,
    char *err, size_t errsz)
{
	struct login_ups *u;
	char why[512];
	int r;

	*out = NULL;
	if (cfg->upstreams.n == 0)
		return 0;
	if ((u = calloc(1, sizeof(*u))) == NULL || fed_up_copy(&u->cfg, &cfg->upstreams) != 0) {
		free(u);
		snprintf(err, errsz, "out of memory");
		return YH_ERR_ALLOC;
	}
	for (size_t i = 0; i < u->cfg.n; i++) {
		struct login_up *o = &u->one[u->n];
		char redirect[2048 + 128];

		o->app = app;
		o->cfg = u->cfg.up[i];
		snprintf(o->path, sizeof(o->path), LOGIN_UPSTREAM_PATH "%s", o->cfg->name);
		snprintf(o->cb_path, sizeof(o->cb_path), LOGIN_UPSTREAM_PATH "%s/callback",
		    o->cfg->name);
		snprintf(o->bcl_path, sizeof(o->bcl_path), LOGIN_UPSTREAM_PATH
		    "%s/backchannel-logout", o->cfg->name);
		u->n++;
		if (strcmp(o->cfg->kind, "oidc") != 0)
			continue;
		snprintf(redirect, sizeof(redirect), "%s%s", cfg->issuer, o->cb_path);
		if ((r = fed_oidc_new(o->cfg, redirect, &o->oidc)) != 0) {
			snprintf(err, errsz, "upstream.%s: %s", o->cfg->name, yh_strerror(r));
			login_ups_free(u);
			return r;
		}
		/* Not a reason not to start: the button waits for a discovery that works. */
		if (fed_oidc_discover(o->oidc, false, why, sizeof(why)) != 0) {
			yh_warn("upstream.%s: discovery failed, its login button is hidden until it "
			    "succeeds: %s", o->cfg->name, why);
			o->retry_at = yh_mono_ms() + UP_RETRY_MS;
		}
	}
	*out = u;
	return 0;
}

void
login_ups_free(struct login_ups *u)
{
	if (u == NULL)
		return;
	for (size_t i = 0; i < u->n; i++)
		fed_oidc_free(u->one[i].oidc);
	fed_up_free(&u->cfg);
	free(u);
}

/* The worker job retrying a discovery that failed. */
static void
retry_job(void *arg)
{
	struct login_up *o = arg;
	char why[512];

	if (fed_oidc_discover(o->oidc, false, why, sizeof(why)) == 0)
		yh_info("upstream.%s: discovery succeeded, its login button is shown",
		    o->cfg->name);
	else
		yh_warn("upstream.%s: discovery failed again: %s", o->cfg->name, why);
	o->retry_at = yh_mono_ms() + UP_RETRY_MS;
	atomic_store(&o->trying, false);
}

/* True when o's button may be shown; starts a retry of a failed discovery when due. */
static bool
shown(struct login_up *o)
{
	bool no = false;

	if (o->oidc == NULL)
		return true;
	if (fed_oidc_ready(o->oidc))
		return true;
	if (o->app->workers != NULL && yh_mono_ms() >= o->retry_at &&
	    atomic_compare_exchange_strong(&o->trying, &no, true) &&
	    wk_submit(o->app->workers, retry_job, o) != 0)
		atomic_store(&o->trying, false);
	return false;
}

size_t
login_upstream_buttons(struct authd_app *app, enum page_lang lang,
    struct page_upstream_button *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; app->ups != NULL && i < app->ups->n && n < max; i++) {
		struct login_up *o = &app->ups->one[i];

		if (!shown(o))
			continue;
		out[n].path = o->path;
		out[n].name = lang == PAGE_LANG_EN && o->cfg->display_name_en != NULL ?
		    o->cfg->display_name_en : o->cfg->display_name;
		n++;
	}
	return n;
}

/* ---- a job ------------------------------------------------------------------------ */

/* What a request hands to the worker. */
struct up_job {
	struct login_up *up;
	struct http_req *req;
	struct login_req_info ri;
	char browser[CSRF_TOKEN_SIZE];       /* the yh_fed cookie (secret) */
	char next[LOGIN_NEXT_MAX + 1];
	char state[SESS_TOKEN_SIZE];
	char *code, *iss, *error;
};

static void
job_free(void *arg)
{
	struct up_job *j = arg;

	if (j == NULL)
		return;
	if (j->code != NULL)
		yh_freezero(j->code, strlen(j->code) + 1);
	free(j->iss);
	free(j->error);
	yh_freezero(j, sizeof(*j));
}

/* The audit line of this request: event with f (consumed) plus upstream and address. */
static int
audit(struct up_job *j, const char *event, const char *uid, json_t *f)
{
	char actor[16 + DIR_UID_LEN];
	int r;

	if (f == NULL)
		return YH_ERR_ALLOC;
	snprintf(actor, sizeof(actor), "%s%s", uid != NULL ? "user:" : "anonymous",
	    uid != NULL ? uid : "");
	if (json_object_set_new(f, "upstream", json_string(j->up->cfg->name)) != 0 ||
	    json_object_set_new(f, "ip", json_string(j->ri.ip)) != 0)
		r = YH_ERR_ALLOC;
	else
		r = login_audit(j->up->app, event, actor, f);
	json_decref(f);
	return r;
}

/* A refusal: audited with reason (and detail, may be NULL), a page saying msg. */
static int
refuse(struct up_job *j, unsigned status, enum page_msg msg, const char *reason,
    const char *detail, const char *uid)
{
	int r;

	login_metric(j->up->app, "fed", "failure");
	if ((r = audit(j, "login.failure", uid, json_pack("{s:s, s:s, s:s?}", "method", "fed",
	    "reason", reason, "detail", detail))) != 0)
		return r;
	return page_error_send_as(j->req, j->ri.lang, j->ri.https, j->up->path, status,
	    page_msg(j->ri.lang, msg));
}

/* The compact JSON text of o (consumed), or NULL. */
static char *
dump(json_t *o)
{
	char *s = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	json_decref(o);
	return s;
}

/* ---- the start -------------------------------------------------------------------- */

/* The return URL of a ticket login with our state st: ISSUER/.../callback?st=ST. */
static int
ticket_return(struct login_up *o, const char *st, char *out, size_t outsz)
{
	int n = snprintf(out, outsz, "%s%s?st=%s", o->app->issuer, o->cb_path, st);

	return n < 0 || (size_t)n >= outsz ? YH_ERR_TOO_LONG : 0;
}

static int
start_run(void *arg)
{
	struct up_job *j = arg;
	char verifier[FED_OIDC_PKCE_SIZE] = "", challenge[FED_OIDC_PKCE_SIZE], nonce[44],
	    state[SESS_TOKEN_SIZE] = "", bind[8 + CSRF_TOKEN_SIZE], why[512];
	unsigned char raw[32];
	char *url = NULL, *payload = NULL;
	int r;

	if (j->up->oidc != NULL && fed_oidc_discover(j->up->oidc, false, why, sizeof(why)) != 0) {
		r = refuse(j, 503, PAGE_MSG_UPSTREAM_UNAVAILABLE, "unavailable", why, NULL);
		goto out;
	}
	if ((r = fed_oidc_pkce(verifier, challenge)) != 0)
		goto out;
	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		r = YH_ERR_CRYPTO;
		goto out;
	}
	yh_b64url_encode(raw, sizeof(raw), nonce);
	if ((payload = dump(json_pack("{s:s, s:s, s:s, s:s}", "up", j->up->cfg->name,
	    "v", verifier, "n", nonce, "next", j->next))) == NULL) {
		r = YH_ERR_ALLOC;
		goto out;
	}
	snprintf(bind, sizeof(bind), "fed:%s", j->browser);
	if ((r = sess_flow_new(j->up->app->sess, bind, payload, LOGIN_UPSTREAM_TTL_S, state,
	    NULL)) != 0)
		goto out;
	if (j->up->oidc == NULL) {
		char ret[4096];

		if ((r = ticket_return(j->up, state, ret, sizeof(ret))) != 0 ||
		    (r = fed_ticket_login_url(j->up->cfg, ret, &url)) != 0)
			goto out;
	} else if ((r = fed_oidc_auth_url(j->up->oidc, state, nonce, challenge, &url)) != 0) {
		if (r == YH_ERR_UNAVAILABLE)
			r = refuse(j, 503, PAGE_MSG_UPSTREAM_UNAVAILABLE, "unavailable", NULL, NULL);
		goto out;
	}
	r = http_respond_redirect(j->req, 303, url);
out:
	free(url);
	if (payload != NULL)
		yh_freezero(payload, strlen(payload) + 1);
	yh_wipe(verifier, sizeof(verifier));
	yh_wipe(state, sizeof(state));
	return r;
}

/* Copies what a job needs from req; makes the browser's yh_fed cookie when asked. */
static int
job_new(struct http_req *req, struct login_up *o, bool make_cookie, struct up_job **out)
{
	const char *c = page_cookie(req, UP_COOKIE);
	struct up_job *j;
	int r;

	*out = NULL;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return YH_ERR_ALLOC;
	j->up = o;
	j->req = req;
	login_req_info_get(req, &j->ri);
	if (c != NULL && csrf_cookie_ok(c))
		snprintf(j->browser, sizeof(j->browser), "%s", c);
	else if (make_cookie) {
		if ((r = csrf_cookie_new(j->browser)) != 0 ||
		    (r = page_set_cookie(req, UP_COOKIE, j->browser, 0, j->ri.https)) != 0) {
			job_free(j);
			return r;
		}
	}
	*out = j;
	return 0;
}

/* GET /login/upstream/NAME?next=... */
static int
start_get(struct http_req *req, void *arg)
{
	struct login_up *o = arg;
	struct up_job *j;
	const char *next = NULL;
	int r;

	if ((r = job_new(req, o, true, &j)) != 0)
		return r;
	if (http_req_query(req, "next", LOGIN_NEXT_MAX, &next) != 0)
		next = NULL;
	snprintf(j->next, sizeof(j->next), "%s", login_next_pick(next));
	return login_job_start(req, o->app, o->path, "upstream login", start_run, job_free, j);
}

/* ---- the callback ----------------------------------------------------------------- */

/* Reads the flow record of j->state in this browser and marks it used. */
static int
take_flow(struct up_job *j, json_t **flow)
{
	char bind[8 + CSRF_TOKEN_SIZE], key[SESS_KEY_SIZE];
	char *payload = NULL;
	json_error_t je;
	int r;

	*flow = NULL;
	snprintf(bind, sizeof(bind), "fed:%s", j->browser);
	if (j->browser[0] == '\0' || j->state[0] == '\0' ||
	    sess_flow_key(bind, j->state, key) != 0)
		return YH_ERR_NOT_FOUND;
	if ((r = sess_flow_get(j->up->app->sess, key, &payload)) != 0)
		return r;
	r = YH_ERR_NOT_FOUND;
	if (strcmp(payload, "used") == 0) {
		r = YH_ERR_REPLAY;
		goto out;
	}
	if ((r = sess_flow_swap(j->up->app->sess, key, payload, "used")) != 0) {
		r = r == YH_ERR_BUSY ? YH_ERR_REPLAY : r;
		goto out;
	}
	*flow = json_loads(payload, JSON_REJECT_DUPLICATES, &je);
	r = json_is_object(*flow) ? 0 : YH_ERR_NOT_FOUND;
out:
	yh_freezero(payload, strlen(payload) + 1);
	return r;
}

/* The person a login found or made, into uid; or a refusal answered (*done). */
static int
find_person(struct up_job *j, const struct fed_login *l, char uid[DIR_UID_LEN + 1],
    bool *done)
{
	const struct fed_up_cfg *u = j->up->cfg;
	struct authd_app *app = j->up->app;
	struct idn_resident id;
	struct dir_person p;
	bool have_id = l->id_number[0] != '\0', linked;
	int r;

	*done = false;
	memset(&p, 0, sizeof(p));
	if (have_id && idn_resident_check(l->id_number, strlen(l->id_number), &id) != IDN_OK) {
		*done = true;
		return refuse(j, 403, PAGE_MSG_UPSTREAM_BAD_ID, "bad_id_number", NULL, NULL);
	}
	r = dir_upstream_link_get(app->dir, u->name, l->sub, uid);
	if (r != 0 && r != YH_ERR_NOT_FOUND)
		return r;
	linked = r == 0;
	if (linked) {
		/* The subject is this person's: an ID number it now comes with must be theirs. */
		if ((r = dir_person_get(app->dir, uid, &p)) != 0)
			goto out;
		if (have_id && strcmp(p.id_number, id.canonical) != 0) {
			*done = true;
			r = audit(j, "upstream.conflict", uid, json_pack("{s:s}", "sub", l->sub));
			if (r == 0)
				r = refuse(j, 403, PAGE_MSG_UPSTREAM_CONFLICT, "conflict", NULL, uid);
		}
		goto out;
	}
	if (strcmp(u->link, "id_number") != 0 || !have_id) {
		*done = true;
		r = refuse(j, 403, PAGE_MSG_UPSTREAM_NO_ACCOUNT, have_id ? "not_linked" :
		    "no_id_number", NULL, NULL);
		goto out;
	}
	r = dir_person_find_id_number(app->dir, id.canonical, &p);
	if (r == YH_ERR_NOT_FOUND && u->auto_register) {
		char evidence[FED_OIDC_CLAIM_MAX + 32], by[FED_UP_NAME_MAX + 16];
		struct dir_person n;

		memset(&n, 0, sizeof(n));
		snprintf(evidence, sizeof(evidence), "acr %s", l->acr[0] != '\0' ? l->acr :
		    "(none)");
		snprintf(by, sizeof(by), "upstream:%s", u->name);
		n.id_number = id.canonical;
		if (l->name[0] == '\0') {
			*done = true;
			r = refuse(j, 403, PAGE_MSG_UPSTREAM_NO_ACCOUNT, "no_name", NULL, NULL);
			goto out;
		}
		n.name = (char *)l->name;
		n.origin = (char *)DIR_ORIGIN_SELF;
		n.loa = (struct dir_loa){ .level = l->loa, .method = (char *)"upstream",
		    .by = by, .evidence = evidence, .at = yh_now() };
		if ((r = dir_person_add(app->dir, &n, uid)) != 0)
			goto out;
		if ((r = audit(j, "register", uid, json_pack("{s:s, s:i}", "result", "created",
		    "loa", l->loa))) != 0)
			goto out;
	} else if (r == YH_ERR_NOT_FOUND) {
		*done = true;
		r = refuse(j, 403, PAGE_MSG_UPSTREAM_NO_ACCOUNT, "unknown_person", NULL, NULL);
		goto out;
	} else if (r != 0)
		goto out;
	else
		memcpy(uid, p.uid, DIR_UID_LEN + 1);
	r = dir_upstream_link_add(app->dir, u->name, l->sub, uid);
	if (r == YH_ERR_EXISTS) {
		/* another login of this subject linked it first: to whom? */
		char other[DIR_UID_LEN + 1];

		if ((r = dir_upstream_link_get(app->dir, u->name, l->sub, other)) == 0 &&
		    strcmp(other, uid) != 0) {
			*done = true;
			r = audit(j, "upstream.conflict", other, json_pack("{s:s}", "sub", l->sub));
			if (r == 0)
				r = refuse(j, 403, PAGE_MSG_UPSTREAM_CONFLICT, "conflict", NULL, other);
		}
	} else if (r == 0)
		r = audit(j, "upstream.link", uid, json_pack("{s:s}", "sub", l->sub));
out:
	dir_person_clear(&p);
	yh_wipe(&id, sizeof(id));
	return r;
}

/* seconds, as a record under a name may be kept: 1..SESS_FLOW_NAMED_TTL_MAX */
static int64_t
named_ttl(int64_t seconds)
{
	return seconds < 1 ? 1 : seconds > SESS_FLOW_NAMED_TTL_MAX ? SESS_FLOW_NAMED_TTL_MAX :
	    seconds;
}

/* Remembers which upstream (and which session of it) opened the local session sid. */
static int
remember(struct up_job *j, const struct fed_login *l, const struct sess_info *si)
{
	char key[SESS_KEY_SIZE], *payload;
	int64_t ttl = named_ttl((si->aexp_ms - yh_now_ms()) / 1000);
	int r;

	if ((r = sess_flow_name_key("fed-session", si->sid, key)) != 0)
		return r;
	if ((payload = dump(json_pack("{s:s, s:s, s:s, s:s, s:s}", "up", j->up->cfg->name,
	    "sid", l->sid, "sub", l->sub, "key", si->key, "uid", si->uid))) == NULL)
		return YH_ERR_ALLOC;
	r = sess_flow_put(j->up->app->sess, key, payload, ttl);
	/* The upstream session names the person; a logout naming only it ends every local
	 * session of theirs that came through it (end_named), so the record made by its
	 * first local session serves the later ones. */
	if (r == 0 && l->sid[0] != '\0') {
		char bind[16 + FED_UP_NAME_MAX];

		snprintf(bind, sizeof(bind), "fed-sid:%s", j->up->cfg->name);
		if ((r = sess_flow_name_key(bind, l->sid, key)) == 0)
			r = sess_flow_put(j->up->app->sess, key, payload, ttl);
		if (r == YH_ERR_EXISTS)
			r = 0;
	}
	free(payload);
	return r;
}

static int
logged_in(struct up_job *j, const struct fed_login *l, const char *uid)
{
	char token[SESS_TOKEN_SIZE] = "";
	struct sess_info info;
	struct dir_person p;
	bool staff = false;
	int r;

	memset(&p, 0, sizeof(p));
	/* The person as they are now: a locked or deregistered account logs in no way. */
	if ((r = dir_person_get(j->up->app->dir, uid, &p)) != 0)
		goto out;
	if (p.status != DIR_STATUS_ACTIVE) {
		r = refuse(j, 403, PAGE_MSG_UPSTREAM_FAILED, "inactive", NULL, uid);
		goto out;
	}
	/* Staff are held to their second factor, as after a password, or refused when
	 * they must log in by certificate (login.staff_methods = cert). */
	if ((r = login_staff_pending(j->up->app, uid, &staff)) != 0)
		goto out;
	if (staff && login_staff_cert_only(j->up->app)) {
		r = refuse(j, 403, PAGE_MSG_STAFF_CERT_REQUIRED, "staff_certificate_required",
		    NULL, uid);
		goto out;
	}
	if ((r = login_open_session(j->up->app, &j->ri, uid, staff ? LOGIN_LOA_PENDING : l->loa,
	    "fed", token, &info)) != 0)
		goto out;
	if ((r = remember(j, l, &info)) != 0 ||
	    (r = audit(j, "login.success", uid, json_pack("{s:s, s:s, s:i, s:s?, s:s?}",
	    "method", "fed", "sid", info.sid, "loa", info.loa, "acr", l->acr[0] != '\0' ?
	    l->acr : NULL, "pending", staff ? "totp" : NULL))) != 0) {
		if (sess_end_token(j->up->app->sess, token, SESS_END_ADMIN, NULL) != 0)
			yh_warn("cannot end the unaudited session");
		goto out;
	}
	login_metric(j->up->app, "fed", "success");
	r = login_complete(j->req, j->ri.https, j->next, token, staff);
out:
	dir_person_clear(&p);
	yh_wipe(token, sizeof(token));
	return r;
}

/*
 * A legal-person login (map.user_type = org_user_type): the credit code must be valid,
 * and an /authorize the login resumes gets org_hint=CODE, so that a person holding a
 * current relation to that organization lands acting for it (the same yh_org as a local
 * choice; without a relation the hint is ignored there). *done when refused.
 */
static int
legal_person(struct up_job *j, const struct fed_login *l, bool *done)
{
	const struct fed_up_cfg *u = j->up->cfg;
	struct idn_uscc c;
	struct yh_buf b;
	int r;

	*done = false;
	if (u->map_user_type == NULL || strcmp(l->user_type, u->org_user_type) != 0)
		return 0;
	if (idn_uscc_check(l->uscc, strlen(l->uscc), &c) != IDN_OK) {
		*done = true;
		return refuse(j, 403, PAGE_MSG_UPSTREAM_FAILED, "bad_uscc", NULL, NULL);
	}
	if (strncmp(j->next, "/authorize?", 11) != 0 || strstr(j->next, "org_hint=") != NULL)
		return 0;
	yh_buf_init(&b, sizeof(j->next) - 1);
	if ((r = yh_buf_puts(&b, j->next)) == 0 && (r = yh_buf_puts(&b, "&org_hint=")) == 0 &&
	    (r = yh_url_pct_encode(&b, c.canonical)) == 0 && login_next_ok(yh_buf_cstr(&b)))
		memcpy(j->next, b.data, b.len + 1);
	yh_buf_free(&b);
	return r == YH_ERR_TOO_LONG ? 0 : r;
}

static int
callback_run(void *arg)
{
	struct up_job *j = arg;
	struct fed_login l;
	json_t *flow = NULL;
	char uid[DIR_UID_LEN + 1], why[512];
	const char *next, *up;
	bool done = false;
	int r;

	memset(&l, 0, sizeof(l));
	r = take_flow(j, &flow);
	if (r == YH_ERR_NOT_FOUND || r == YH_ERR_REPLAY) {
		r = refuse(j, 400, PAGE_MSG_UPSTREAM_FAILED, r == YH_ERR_REPLAY ? "state_used" :
		    "state", NULL, NULL);
		goto out;
	}
	if (r != 0)
		goto out;
	up = json_string_value(json_object_get(flow, "up"));
	next = json_string_value(json_object_get(flow, "next"));
	if (up == NULL || strcmp(up, j->up->cfg->name) != 0 || next == NULL) {
		r = refuse(j, 400, PAGE_MSG_UPSTREAM_FAILED, "state", NULL, NULL);
		goto out;
	}
	snprintf(j->next, sizeof(j->next), "%s", login_next_pick(next));
	if (j->error != NULL || j->code == NULL) {
		r = refuse(j, 400, PAGE_MSG_UPSTREAM_FAILED, "upstream_error", j->error, NULL);
		goto out;
	}
	if (j->up->oidc != NULL)
		r = fed_oidc_callback(j->up->oidc, &(struct fed_oidc_cb){ .code = j->code,
		    .iss = j->iss, .verifier = json_string_value(json_object_get(flow, "v")),
		    .nonce = json_string_value(json_object_get(flow, "n")) }, &l, why,
		    sizeof(why));
	else {
		char ret[4096];

		if ((r = ticket_return(j->up, j->state, ret, sizeof(ret))) == 0)
			r = fed_ticket_validate(j->up->cfg, j->code, ret, &l, why, sizeof(why));
	}
	if (r == YH_ERR_UNAVAILABLE) {
		r = refuse(j, 502, PAGE_MSG_UPSTREAM_UNAVAILABLE, "unavailable", why, NULL);
		goto out;
	}
	if (r != 0 && r != YH_ERR_ALLOC) {
		r = refuse(j, 403, PAGE_MSG_UPSTREAM_FAILED, j->up->oidc != NULL ? "token" :
		    "ticket", why, NULL);
		goto out;
	}
	if (r != 0 || (r = legal_person(j, &l, &done)) != 0 || done ||
	    (r = find_person(j, &l, uid, &done)) != 0 || done)
		goto out;
	r = logged_in(j, &l, uid);
out:
	fed_login_clear(&l);
	json_decref(flow);
	return r;
}

/* A copy of query parameter name (at most max bytes), or NULL. */
static char *
query_dup(struct http_req *req, const char *name, size_t max)
{
	const char *v;

	return http_req_query(req, name, max, &v) == 0 ? strdup(v) : NULL;
}

/* GET /login/upstream/NAME/callback?code=...&state=...&iss=... */
static int
callback_get(struct http_req *req, void *arg)
{
	struct login_up *o = arg;
	struct up_job *j;
	const char *state;
	int r;

	if ((r = job_new(req, o, false, &j)) != 0)
		return r;
	if (http_req_query(req, o->oidc != NULL ? "state" : "st", SESS_TOKEN_SIZE - 1,
	    &state) == 0)
		snprintf(j->state, sizeof(j->state), "%s", state);
	j->code = query_dup(req, o->oidc != NULL ? "code" : o->cfg->ticket_param, 2048);
	j->iss = query_dup(req, "iss", 2048);
	j->error = query_dup(req, "error", 128);
	return login_job_start(req, o->app, o->cb_path, "upstream login", callback_run,
	    job_free, j);
}

/* ---- logout both ways ------------------------------------------------------------ */

/* What the login of local session sid remembered (remember), into *rec; NULL when
 * none (no upstream, or the record is gone). */
static json_t *
recalled(struct authd_app *app, const char *bind, const char *name)
{
	char key[SESS_KEY_SIZE], *payload = NULL;
	json_error_t je;
	json_t *rec = NULL;

	if (sess_flow_name_key(bind, name, key) == 0 &&
	    sess_flow_get(app->sess, key, &payload) == 0) {
		rec = json_loads(payload, JSON_REJECT_DUPLICATES, &je);
		free(payload);
	}
	if (rec != NULL && !json_is_object(rec)) {
		json_decref(rec);
		rec = NULL;
	}
	return rec;
}

/* The upstream whose name rec's "up" holds, or NULL. */
static struct login_up *
rec_upstream(struct authd_app *app, const json_t *rec)
{
	const char *up = json_string_value(json_object_get(rec, "up"));

	for (size_t i = 0; up != NULL && app->ups != NULL && i < app->ups->n; i++)
		if (strcmp(app->ups->one[i].cfg->name, up) == 0)
			return &app->ups->one[i];
	return NULL;
}

int
login_upstream_logout_url(struct authd_app *app, const char *sid, char **url)
{
	struct login_up *o;
	struct yh_buf b;
	json_t *rec;
	char *end = NULL;
	int r = 0;

	*url = NULL;
	if (app->ups == NULL || sid == NULL || sid[0] == '\0' ||
	    (rec = recalled(app, "fed-session", sid)) == NULL)
		return 0;
	o = rec_upstream(app, rec);
	json_decref(rec);
	if (o == NULL || o->oidc == NULL || strcmp(o->cfg->logout, "propagate") != 0 ||
	    fed_oidc_end_session(o->oidc, &end) != 0 || end == NULL)
		goto out;
	yh_buf_init(&b, 4096);
	if ((r = yh_buf_puts(&b, end)) == 0 &&
	    (r = yh_buf_puts(&b, strchr(end, '?') != NULL ? "&client_id=" : "?client_id=")) == 0 &&
	    (r = yh_url_pct_encode(&b, o->cfg->client_id)) == 0 &&
	    (*url = yh_buf_steal(&b)) == NULL)
		r = YH_ERR_ALLOC;
	yh_buf_free(&b);
out:
	free(end);
	return r;
}

/* True when the local session si came through upstream o and, when sid is not "",
 * its session sid there (its record says so; the record gone, when its amr has fed). */
static bool
came_through(struct login_up *o, const struct sess_info *si, const char *sid)
{
	json_t *rec = recalled(o->app, "fed-session", si->sid);
	const char *rsid;
	bool fed = false;

	if (rec != NULL) {
		rsid = json_string_value(json_object_get(rec, "sid"));
		fed = rec_upstream(o->app, rec) == o && (sid[0] == '\0' ||
		    (rsid != NULL && strcmp(rsid, sid) == 0));
		json_decref(rec);
		return fed;
	}
	for (size_t i = 0; i < si->namr; i++)
		fed = fed || strcmp(si->amr[i], "fed") == 0;
	return fed;
}

/* Ends the local sessions the upstream's logout names: those of the person that came
 * through o (in the upstream session sid when given). The person is the one sub is
 * linked to, or with a sid alone the one whose login through that upstream session was
 * remembered. *n gets how many. */
static int
end_named(struct login_up *o, const char *sub, const char *sid, size_t *n)
{
	char bind[16 + FED_UP_NAME_MAX], uid[DIR_UID_LEN + 1] = "";
	struct sess_info *list = NULL;
	const char *ruid, *key;
	size_t nl = 0;
	json_t *rec;
	int r = 0;

	*n = 0;
	if (sub[0] == '\0') {
		snprintf(bind, sizeof(bind), "fed-sid:%s", o->cfg->name);
		if ((rec = recalled(o->app, bind, sid)) == NULL)
			return 0;
		if ((ruid = json_string_value(json_object_get(rec, "uid"))) != NULL) {
			r = yh_strlcpy(uid, ruid, sizeof(uid));
		} else if ((key = json_string_value(json_object_get(rec, "key"))) != NULL &&
		    sess_end(o->app->sess, key, SESS_END_LOGOUT, NULL) == 0) {
			/* a record made before it named the person: its one session */
			(*n)++;
		}
		json_decref(rec);
		if (r != 0 || uid[0] == '\0')
			return 0;
	} else if ((r = dir_upstream_link_get(o->app->dir, o->cfg->name, sub, uid)) != 0)
		return r == YH_ERR_NOT_FOUND || r == YH_ERR_INVALID ? 0 : r;
	if ((r = sess_list_user(o->app->sess, uid, &list, &nl)) != 0)
		return r;
	for (size_t i = 0; i < nl; i++)
		if (came_through(o, &list[i], sid) &&
		    sess_end(o->app->sess, list[i].key, SESS_END_LOGOUT, NULL) == 0)
			(*n)++;
	free(list);
	return 0;
}

/* The key under which a logout token's jti is remembered (OpenID Back-Channel Logout
 * 1.0 2.6). 0 or YH_ERR_INVALID (a jti with control bytes). */
static int
bcl_jti_key(struct login_up *o, const struct fed_logout *lo, char key[SESS_KEY_SIZE])
{
	char bind[16 + FED_UP_NAME_MAX];

	snprintf(bind, sizeof(bind), "fed-jti:%s", o->cfg->name);
	return sess_flow_name_key(bind, lo->jti, key);
}

/* YH_ERR_EXISTS when the token came before and did its work, 0 when not, or the
 * store's error. */
static int
bcl_seen(struct login_up *o, const char *key)
{
	char *payload = NULL;
	int r = sess_flow_get(o->app->sess, key, &payload);

	free(payload);
	return r == 0 ? YH_ERR_EXISTS : r == YH_ERR_NOT_FOUND ? 0 : r;
}

/* Remembers a token that did its work until it expires (a second delivery racing the
 * first has ended the same sessions: EXISTS is no error). */
static int
bcl_done(struct login_up *o, const struct fed_logout *lo, const char *key)
{
	int r = sess_flow_put(o->app->sess, key, "{}",
	    named_ttl(lo->exp - yh_now() + FED_OIDC_LEEWAY_S));

	return r == YH_ERR_EXISTS ? 0 : r;
}

/* POST /login/upstream/NAME/backchannel-logout: a logout token from the upstream. */
static int
bcl_run(void *arg)
{
	struct up_job *j = arg;
	struct fed_logout lo;
	char why[512], key[SESS_KEY_SIZE];
	size_t n = 0;
	int r;

	r = fed_oidc_logout_token(j->up->oidc, j->code != NULL ? j->code : "", &lo, why,
	    sizeof(why));
	if (r == YH_ERR_ALLOC)
		return r;
	if (r != 0) {
		/* Our side unable to check (the upstream's keys out of reach): 503, which the
		 * upstream retries; a 400 would tell it the logout failed for good. */
		bool later = r == YH_ERR_UNAVAILABLE;

		if ((r = audit(j, "logout.upstream", NULL, json_pack("{s:s, s:s}", "result",
		    later ? "unavailable" : "refused", "detail", why))) != 0)
			return r;
		if (later)
			return http_respond_error(j->req, 503, "temporarily_unavailable",
			    "the logout token cannot be checked now");
		return http_respond_error(j->req, 400, "invalid_request",
		    "the logout token is not valid");
	}
	/* The same token again (a replay, or the upstream's retry of one we answered): it
	 * did its work the first time, and must not end sessions opened since. It is
	 * remembered only once its work is done, so a retry of one that failed midway (the
	 * store or the directory out of reach) does it. */
	if ((r = bcl_jti_key(j->up, &lo, key)) == 0 &&
	    (r = bcl_seen(j->up, key)) == YH_ERR_EXISTS) {
		if ((r = audit(j, "logout.upstream", NULL, json_pack("{s:s, s:s, s:s}", "result",
		    "replayed", "sub", lo.sub, "sid", lo.sid))) != 0)
			return r;
		return http_respond(j->req, 200, "text/plain; charset=utf-8", "", 0);
	}
	if (r == YH_ERR_UNAVAILABLE)
		return http_respond_error(j->req, 503, "temporarily_unavailable",
		    "the session store cannot be reached");
	if (r == YH_ERR_INVALID) {   /* a jti with control bytes */
		if ((r = audit(j, "logout.upstream", NULL, json_pack("{s:s, s:s}", "result",
		    "refused", "detail", "the logout token's jti is not text"))) != 0)
			return r;
		return http_respond_error(j->req, 400, "invalid_request",
		    "the logout token is not valid");
	}
	if (r != 0 || (r = end_named(j->up, lo.sub, lo.sid, &n)) != 0 ||
	    (r = bcl_done(j->up, &lo, key)) != 0)
		return r;
	if ((r = audit(j, "logout.upstream", NULL, json_pack("{s:s, s:s, s:s, s:I}", "result",
	    "ok", "sub", lo.sub, "sid", lo.sid, "ended", (json_int_t)n))) != 0)
		return r;
	return http_respond(j->req, 200, "text/plain; charset=utf-8", "", 0);
}

static int
bcl_post(struct http_req *req, void *arg)
{
	struct login_up *o = arg;
	struct up_job *j;
	int r;

	if ((r = job_new(req, o, false, &j)) != 0)
		return r;
	if (http_req_form(req, "logout_token", 16384, &j->code) != 0) {
		job_free(j);
		return http_respond_error(req, 400, "invalid_request", "logout_token is missing");
	}
	return login_job_start(req, o->app, o->bcl_path, "upstream logout", bcl_run, job_free,
	    j);
}

int
login_ups_register(struct http_server *srv, struct authd_app *app)
{
	int r;

	for (size_t i = 0; app->ups != NULL && i < app->ups->n; i++) {
		struct login_up *o = &app->ups->one[i];
		struct http_route routes[] = {
			{ "GET", o->path, start_get, HTTP_ROUTE_NO_STORE },
			{ "GET", o->cb_path, callback_get, HTTP_ROUTE_NO_STORE },
			{ "POST", o->bcl_path, bcl_post, HTTP_ROUTE_NO_STORE | HTTP_ROUTE_PREAUTH },
			{ NULL, NULL, NULL, 0 },
		};

		/* a ticket upstream has no back-channel logout: the routes without it */
		if (o->oidc == NULL)
			routes[2] = routes[3];
		if ((r = http_routes_add(srv, routes, o)) != 0)
			return r;
	}
	return 0;
}
