/*
 * QR-code login from the mobile app: the request's states, the browser's pages and the
 * app's calls. See authd/login/qr.h.
 */
#include "authd/login/qr.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "authcore/authd_config.h"
#include "authd/app.h"
#include "authd/login/login.h"
#include "authd/oidc/oidc.h"
#include "authd/oidc/token.h"
#include "authd/ui/csrf.h"
#include "authd/ui/pages.h"
#include "authd/ui/qr.h"
#include "authd/ui/templates_gen.h"
#include "authd/ui/ua.h"
#include "common/b64.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/timeutil.h"
#include "common/url.h"
#include "identity/dir/dir.h"
#include "token/jwt.h"
#include "token/keyring.h"

#define QR_BIND "qr"
#define QR_PURPOSE "login"           /* the login page's token: its button posts it */
#define QR_URL_MAX 1024
#define QR_PX 240
#define QR_TRIES 4                   /* reads again after a lost compare-and-swap */

static const char *const qr_state_names[] = {
	"pending", "scanned", "confirmed", "denied", "done",
};

/* ---- the states ---------------------------------------------------------------------- */

int
login_qr_scan(struct login_qr *q, const char *uid, const char *client_id, int loa,
    int64_t now)
{
	if (now >= q->exp)
		return YH_ERR_EXPIRED;
	if (loa < 1 || loa > 4)
		return YH_ERR_INVALID;
	if (q->st == LOGIN_QR_SCANNED && strcmp(q->uid, uid) == 0)
		return 0;
	if (q->st != LOGIN_QR_PENDING)
		return YH_ERR_DENIED;
	if (yh_strlcpy(q->uid, uid, sizeof(q->uid)) != 0 ||
	    yh_strlcpy(q->client_id, client_id, sizeof(q->client_id)) != 0) {
		q->uid[0] = q->client_id[0] = '\0';
		return YH_ERR_INVALID;
	}
	q->loa = loa;
	q->st = LOGIN_QR_SCANNED;
	return 0;
}

int
login_qr_confirm(struct login_qr *q, const char *uid, int loa, int64_t now)
{
	if (now >= q->exp)
		return YH_ERR_EXPIRED;
	if (loa < 1 || loa > 4 || q->st == LOGIN_QR_PENDING)
		return YH_ERR_INVALID;
	if (q->st != LOGIN_QR_SCANNED || strcmp(q->uid, uid) != 0)
		return YH_ERR_DENIED;
	if (loa < q->loa)
		q->loa = loa;
	q->st = LOGIN_QR_CONFIRMED;
	return 0;
}

int
login_qr_deny(struct login_qr *q, const char *uid, int64_t now)
{
	if (now >= q->exp)
		return YH_ERR_EXPIRED;
	if (q->st != LOGIN_QR_PENDING &&
	    (q->st != LOGIN_QR_SCANNED || strcmp(q->uid, uid) != 0))
		return YH_ERR_DENIED;
	q->st = LOGIN_QR_DENIED;
	return 0;
}

int
login_qr_claim(struct login_qr *q, const char *bhash, int64_t now)
{
	if (strlen(bhash) != 64 || CRYPTO_memcmp(q->bhash, bhash, 64) != 0)
		return YH_ERR_DENIED;
	if (q->st == LOGIN_QR_DONE || q->st == LOGIN_QR_DENIED)
		return YH_ERR_DENIED;
	if (now >= q->exp)
		return YH_ERR_EXPIRED;
	if (q->st != LOGIN_QR_CONFIRMED)
		return YH_ERR_BUSY;
	q->st = LOGIN_QR_DONE;
	return 0;
}

int
login_qr_json(const struct login_qr *q, char **out)
{
	json_t *o;

	*out = NULL;
	if ((unsigned)q->st > LOGIN_QR_DONE)
		return YH_ERR_INVALID;
	if ((o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:i, s:b}", "st",
	    qr_state_names[q->st], "b", q->bhash, "ua", q->ua, "addr", q->addr, "created",
	    (json_int_t)q->created, "exp", (json_int_t)q->exp, "uid", q->uid, "client_id",
	    q->client_id, "loa", q->loa, "org", q->org)) == NULL)
		return YH_ERR_ALLOC;
	*out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return *out != NULL ? 0 : YH_ERR_ALLOC;
}

int
login_qr_parse(const char *json, struct login_qr *q)
{
	const char *st = NULL, *b = NULL, *ua = NULL, *addr = NULL, *uid = NULL, *cid = NULL;
	json_int_t created = 0, exp = 0;
	int loa = 0, org = 0, r = YH_ERR_INVALID;
	json_t *o;

	memset(q, 0, sizeof(*q));
	if ((o = json_loads(json, 0, NULL)) == NULL)
		return YH_ERR_INVALID;
	/* "org" is optional: a record written before it existed is not an organization's. */
	if (json_unpack(o, "{s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:i, s?b}", "st", &st,
	    "b", &b, "ua", &ua, "addr", &addr, "created", &created, "exp", &exp, "uid", &uid,
	    "client_id", &cid, "loa", &loa, "org", &org) != 0 || strlen(b) != 64 ||
	    yh_strlcpy(q->bhash, b, sizeof(q->bhash)) != 0 ||
	    yh_strlcpy(q->ua, ua, sizeof(q->ua)) != 0 ||
	    yh_strlcpy(q->addr, addr, sizeof(q->addr)) != 0 ||
	    yh_strlcpy(q->uid, uid, sizeof(q->uid)) != 0 ||
	    yh_strlcpy(q->client_id, cid, sizeof(q->client_id)) != 0 || loa < 0 || loa > 4)
		goto out;
	for (unsigned i = 0; i <= LOGIN_QR_DONE; i++)
		if (strcmp(st, qr_state_names[i]) == 0)
			q->st = (enum login_qr_state)i;
	if (strcmp(st, qr_state_names[q->st]) != 0)
		goto out;
	q->created = created;
	q->exp = exp;
	q->loa = loa;
	q->org = org != 0;
	r = 0;
out:
	json_decref(o);
	if (r != 0)
		memset(q, 0, sizeof(*q));
	return r;
}

/* ---- the record in the store ----------------------------------------------------------- */

/* Reads the request named by token t into *q and its payload into *raw (malloc'd); the
 * store's key to key. YH_ERR_NOT_FOUND for an unknown, malformed or expired one. */
static int
qr_load(struct authd_app *app, const char *t, char key[SESS_KEY_SIZE], struct login_qr *q,
    char **raw)
{
	int r;

	*raw = NULL;
	if (t == NULL || (r = sess_flow_key(QR_BIND, t, key)) != 0)
		return YH_ERR_NOT_FOUND;
	if ((r = sess_flow_get(app->sess, key, raw)) != 0)
		return r;
	if (login_qr_parse(*raw, q) != 0) {
		yh_error("a QR login request's record does not parse");
		free(*raw);
		*raw = NULL;
		return YH_ERR_NOT_FOUND;
	}
	return 0;
}

static int
qr_store(struct authd_app *app, const char *key, const char *raw, const struct login_qr *q)
{
	char *j = NULL;
	int r;

	if ((r = login_qr_json(q, &j)) == 0)
		r = sess_flow_swap(app->sess, key, raw, j);
	free(j);
	return r;
}

/* The audit line of a step: the browser's side and, once known, the person and app;
 * reason (NULL for none) says why a step was refused. */
static int
qr_audit(struct authd_app *app, const char *event, const char *actor,
    const struct login_qr *q, const char *sid, const char *reason)
{
	struct ua_summary u = ua_summarize(q->ua);
	json_t *f;
	int r;

	if ((f = json_pack("{s:s, s:s, s:s}", "browser_ip", q->addr, "browser",
	    u.browser != NULL ? u.browser : "unknown", "browser_os",
	    u.os != NULL ? u.os : "unknown")) == NULL)
		return YH_ERR_ALLOC;
	if ((q->uid[0] != '\0' && (json_object_set_new(f, "uid", json_string(q->uid)) != 0 ||
	    json_object_set_new(f, "client_id", json_string(q->client_id)) != 0 ||
	    json_object_set_new(f, "loa", json_integer(q->loa)) != 0)) ||
	    (sid != NULL && json_object_set_new(f, "sid", json_string(sid)) != 0) ||
	    (sid != NULL && json_object_set_new(f, "method", json_string("qr")) != 0) ||
	    (sid != NULL && json_object_set_new(f, "ip", json_string(q->addr)) != 0) ||
	    (reason != NULL && json_object_set_new(f, "reason", json_string(reason)) != 0)) {
		json_decref(f);
		return YH_ERR_ALLOC;
	}
	r = login_audit(app, event, actor, f);
	json_decref(f);
	return r;
}

/* ---- the browser ------------------------------------------------------------------------ */

/* Hex SHA-256 of the browser secret s. */
static int
qr_bhash(const char *s, char out[65])
{
	unsigned char md[32];
	unsigned int n = 0;

	out[0] = '\0';
	if (s == NULL || EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL) != 1 || n != 32)
		return YH_ERR_CRYPTO;
	yh_hex_encode(md, 32, out);
	return 0;
}

/* 303 to /login/qr?t=T&next=NEXT. */
static int
qr_to_page(struct http_req *req, const char *t, const char *next)
{
	struct yh_buf b;
	int r;

	yh_buf_init(&b, LOGIN_NEXT_MAX * 3 + 128);
	if ((r = yh_buf_puts(&b, LOGIN_QR_PATH)) == 0 && (r = oidc_url_param(&b, "t", t)) == 0 &&
	    (r = oidc_url_param(&b, "next", next)) == 0)
		r = http_respond_redirect(req, 303, yh_buf_cstr(&b));
	yh_buf_free(&b);
	return r;
}

static int
qr_error_page(struct http_req *req, unsigned status, enum page_msg msg, const char *next)
{
	enum page_lang l = page_lang_of(req);
	struct yh_buf b;
	int r;

	yh_buf_init(&b, LOGIN_NEXT_MAX * 3 + 64);
	if ((r = yh_buf_puts(&b, LOGIN_PATH "?next=")) == 0 &&
	    (r = yh_url_pct_encode(&b, next)) == 0)
		r = page_error_send(req, status, page_msg(l, msg), yh_buf_cstr(&b),
		    page_msg(l, PAGE_MSG_QR_AGAIN));
	yh_buf_free(&b);
	return r;
}

/* login.qr_lifetime of the configuration in force (the table's default without one). */
static int64_t
qr_lifetime(const struct authd_app *app)
{
	const struct authd_cfg *c = app->cfg != NULL ? app->cfg : authd_cfg_builtin();

	return c->login_qr_lifetime;
}

/* POST /login/qr: a new request for this browser. */
static int
qr_new_post(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct login_qr q;
	char *next = NULL, *j = NULL, bsec[CSRF_TOKEN_SIZE] = "", t[SESS_TOKEN_SIZE] = "";
	char name[SESS_ADDR_MAX + 16], actor[SESS_ADDR_MAX + 16];
	const char *ip = http_req_client_ip(req), *ua = http_req_header(req, "User-Agent");
	int r;

	memset(&q, 0, sizeof(q));
	if ((r = csrf_verify(req, app->keys, QR_PURPOSE, NULL)) != 0) {
		r = r == YH_ERR_DENIED ? csrf_respond_rejected(req) : r;
		goto out;
	}
	if (http_req_form(req, "next", LOGIN_NEXT_MAX, &next) != 0 || !login_next_ok(next)) {
		free(next);
		if ((next = strdup(LOGIN_NEXT_DEFAULT)) == NULL) {
			r = YH_ERR_ALLOC;
			goto out;
		}
	}
	sess_addr_name(name, sizeof(name), "qrnew:", ip);
	r = sess_rate(app->sess, name, LOGIN_QR_WINDOW_S, LOGIN_QR_PER_ADDR);
	if (r == YH_ERR_LOCKED) {
		r = page_error_send(req, 429, page_msg(page_lang_of(req), PAGE_MSG_QR_TOO_MANY),
		    NULL, NULL);
		goto out;
	}
	if (r != 0 || (r = csrf_cookie_new(bsec)) != 0 || (r = qr_bhash(bsec, q.bhash)) != 0)
		goto out;
	sess_copy_cut(q.ua, sizeof(q.ua), ua);
	sess_copy_cut(q.addr, sizeof(q.addr), ip);
	q.created = yh_now();
	q.exp = q.created + qr_lifetime(app);
	if ((r = login_qr_json(&q, &j)) != 0 ||
	    (r = sess_flow_new(app->sess, QR_BIND, j, q.exp - q.created, t, NULL)) != 0)
		goto out;
	snprintf(actor, sizeof(actor), "ip:%s", q.addr);
	if ((r = qr_audit(app, "qr.create", actor, &q, NULL, NULL)) != 0 ||
	    (r = page_set_cookie(req, LOGIN_QR_COOKIE, bsec, q.exp - q.created,
	    http_req_is_https(req))) != 0)
		goto out;
	r = qr_to_page(req, t, next);
out:
	yh_wipe(bsec, sizeof(bsec));
	yh_wipe(t, sizeof(t));
	free(next);
	free(j);
	return r == 0 ? 0 : page_failure_send(req, r);
}

/* The page of a request still waiting: the QR code (pending) or "confirm on the phone"
 * (scanned), polled by a Refresh header and a link. */
static int
qr_wait_page(struct authd_app *app, struct http_req *req, const struct login_qr *q,
    const char *t, const char *next)
{
	char text[QR_URL_MAX], self[QR_URL_MAX];
	struct tpl_layout_keep keep;
	struct tpl_qr v;
	struct yh_buf svg, u;
	struct page p;
	int r;

	yh_buf_init(&svg, 256 * 1024);
	yh_buf_init(&u, QR_URL_MAX + LOGIN_NEXT_MAX * 3);
	snprintf(text, sizeof(text), "%s/qr?t=%s", app->issuer, t);
	if ((r = yh_buf_puts(&u, LOGIN_QR_PATH)) != 0 || (r = oidc_url_param(&u, "t", t)) != 0 ||
	    (r = oidc_url_param(&u, "next", next)) != 0 ||
	    yh_strlcpy(self, yh_buf_cstr(&u), sizeof(self)) != 0)
		goto out;
	if (q->st == LOGIN_QR_PENDING && (r = ui_qr_svg(text, QR_PX, &svg)) != 0)
		goto out;
	v = (struct tpl_qr){ .pending = q->st == LOGIN_QR_PENDING,
		.scanned = q->st == LOGIN_QR_SCANNED, .svg = yh_buf_cstr(&svg), .self = self };
	if ((r = http_resp_header(req, "Refresh", LOGIN_QR_REFRESH)) != 0)
		goto out;
	keep = (struct tpl_layout_keep){ "t", t };
	page_init(&p, req, LOGIN_QR_PATH);
	page_set_next(&p, next);
	page_set_keep(&p, &keep, 1);   /* the language switch stays on this request */
	page_begin(&p, page_msg(p.lang, PAGE_MSG_QR_TITLE));
	tpl_qr_render(&p, &v);
	r = page_send(&p, req, 200);
out:
	yh_buf_free(&svg);
	yh_buf_free(&u);
	return r;
}

/*
 * Whether uid may have a QR login: an active person. 0, YH_ERR_DENIED (not one; *org
 * when uid is an organization, an enterprise certificate's session), or the directory's
 * error.
 */
static int
qr_holder(struct authd_app *app, const char *uid, bool *org)
{
	struct dir_person pe;
	struct dir_org o;
	int r;

	*org = false;
	memset(&pe, 0, sizeof(pe));
	r = dir_person_get(app->dir, uid, &pe);
	if (r == 0 && pe.status != DIR_STATUS_ACTIVE)
		r = YH_ERR_DENIED;
	dir_person_clear(&pe);
	if (r != YH_ERR_NOT_FOUND)
		return r;
	memset(&o, 0, sizeof(o));
	r = dir_org_get(app->dir, uid, &o);
	dir_org_clear(&o);
	*org = r == 0;
	return r == 0 || r == YH_ERR_NOT_FOUND ? YH_ERR_DENIED : r;
}

/* The request was confirmed and claimed: the browser's session. */
static int
qr_login(struct authd_app *app, struct http_req *req, const struct login_qr *q,
    const char *next)
{
	static const char *const amr[] = { "qr" };
	const char *old = page_cookie(req, LOGIN_SID_COOKIE);
	char token[SESS_TOKEN_SIZE] = "", actor[SESS_UID_MAX + 8];
	struct sess_info info;
	struct sess_auth a;
	bool org;
	int r;

	if ((r = qr_holder(app, q->uid, &org)) != 0)
		return r;
	if (old != NULL && old[0] != '\0' &&
	    (r = sess_end_token(app->sess, old, SESS_END_LOGOUT, NULL)) != 0 &&
	    r != YH_ERR_NOT_FOUND)
		return r;
	memset(&a, 0, sizeof(a));
	a.uid = q->uid;
	a.loa = q->loa;
	a.amr = amr;
	a.namr = 1;
	a.ua = q->ua;
	a.addr = q->addr;
	if ((r = sess_create(app->sess, &a, token, &info)) != 0)
		return r;
	snprintf(actor, sizeof(actor), "user:%s", q->uid);
	if ((r = qr_audit(app, "login.success", actor, q, info.sid, NULL)) != 0) {
		if (sess_end_token(app->sess, token, SESS_END_ADMIN, NULL) != 0)
			yh_warn("cannot end the unaudited session");
		goto out;
	}
	login_metric(app, "qr", "success");
	if ((r = login_set_session_cookie(req, token, http_req_is_https(req))) == 0 &&
	    (r = page_set_cookie(req, LOGIN_QR_COOKIE, "", -1, http_req_is_https(req))) == 0)
		r = http_respond_redirect(req, 303, next);
out:
	yh_wipe(token, sizeof(token));
	return r;
}

/* GET /login/qr?t=T&next=N: the browser's page and its poll. */
static int
qr_page_get(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	const char *t = NULL, *nx = NULL, *next;
	char key[SESS_KEY_SIZE], bh[65], *raw = NULL;
	struct login_qr q;
	int r = YH_ERR_BUSY;

	memset(&q, 0, sizeof(q));
	if (http_req_query(req, "next", LOGIN_NEXT_MAX, &nx) != 0)
		nx = NULL;
	next = login_next_pick(nx);
	if (http_req_query(req, "t", SESS_TOKEN_SIZE, &t) != 0)
		return qr_error_page(req, 400, PAGE_MSG_QR_EXPIRED, next);
	if (qr_bhash(page_cookie(req, LOGIN_QR_COOKIE), bh) != 0)
		bh[0] = '\0';
	for (int i = 0; i < QR_TRIES && r == YH_ERR_BUSY; i++) {
		free(raw);
		if ((r = qr_load(app, t, key, &q, &raw)) != 0)
			break;
		r = login_qr_claim(&q, bh, yh_now());
		if (r == 0)
			r = qr_store(app, key, raw, &q);   /* BUSY: changed meanwhile, again */
		else if (r == YH_ERR_BUSY)
			break;   /* waiting: the page */
	}
	free(raw);
	if (r == YH_ERR_BUSY)
		return qr_wait_page(app, req, &q, t, next);
	if (r == 0)
		r = qr_login(app, req, &q, next);
	if (r == YH_ERR_NOT_FOUND || r == YH_ERR_EXPIRED)
		return qr_error_page(req, 410, PAGE_MSG_QR_EXPIRED, next);
	if (r == YH_ERR_DENIED)
		return qr_error_page(req, 403, q.st != LOGIN_QR_DENIED ? PAGE_MSG_QR_NOT_YOURS :
		    q.org ? PAGE_MSG_QR_ORG : PAGE_MSG_QR_DENIED, next);
	return r == 0 ? 0 : page_failure_send(req, r);
}

/* ---- the app --------------------------------------------------------------------------- */

/* The person and level an app's access token speaks for: a valid token with scope
 * qr_login and an acr. Answers the refusal itself (http_req_answered) when not. */
static int
qr_app_auth(struct authd_app *app, struct http_req *req, char *uid, size_t uidsz,
    char *client_id, size_t cidsz, int *loa)
{
	struct tok_ring_snap *ring = NULL;
	struct tok_jwt jwt;
	const char *cid = NULL;
	const json_t *sc, *acr;
	char *token = NULL;
	unsigned bits = 0;
	int r;

	memset(&jwt, 0, sizeof(jwt));
	r = oidc_bearer_token(req, &token);
	if (r == YH_ERR_NOT_FOUND || r == YH_ERR_INVALID) {
		r = oidc_error_bearer(req, r == YH_ERR_NOT_FOUND ? NULL : "invalid_token", NULL);
		goto out;
	}
	if (r != 0)
		goto out;
	ring = tok_ring_acquire(app->ring);
	r = oidc_at_check(app, token, ring, &jwt, &cid, uid, uidsz);
	if (r == YH_ERR_AUTH || (r == 0 && uid[0] == '\0')) {
		r = oidc_error_bearer(req, "invalid_token", "the access token is not valid");
		goto out;
	}
	if (r != 0)
		goto out;
	sc = json_object_get(jwt.claims, "scope");
	acr = json_object_get(jwt.claims, "acr");
	if (!json_is_string(sc) || clients_scope_parse(json_string_value(sc), &bits, NULL) != 0 ||
	    (bits & CLIENTS_SCOPE_QR_LOGIN) == 0) {
		r = oidc_error_bearer(req, "insufficient_scope", "the qr_login scope is required");
		goto out;
	}
	if (!json_is_string(acr) || oidc_acr_parse(json_string_value(acr), loa) != 0 ||
	    yh_strlcpy(client_id, cid, cidsz) != 0) {
		r = oidc_error_bearer(req, "invalid_token", "the access token has no level");
		goto out;
	}
out:
	tok_jwt_clear(&jwt);
	tok_snap_release(ring);
	yh_strfree_secret(token);
	return r;
}

enum qr_step { QR_SCAN, QR_CONFIRM, QR_DENY };

/* The app's answer: where the browser is, what state the request is in now. */
static int
qr_app_respond(struct http_req *req, const struct login_qr *q)
{
	struct ua_summary u = ua_summarize(q->ua);
	json_t *o;

	if ((o = json_pack("{s:s, s:{s:s, s:s?, s:s?, s:I}, s:I}", "status",
	    qr_state_names[q->st], "browser", "address", q->addr, "browser", u.browser, "os",
	    u.os, "created", (json_int_t)q->created, "expires_at", (json_int_t)q->exp)) == NULL)
		return YH_ERR_ALLOC;
	http_resp_no_store(req);
	return http_respond_json(req, 200, o);
}

static int
qr_app_refused(struct http_req *req, int r)
{
	if (r == YH_ERR_NOT_FOUND || r == YH_ERR_EXPIRED)
		return oidc_error(req, "invalid_request", "unknown, expired or used QR code");
	if (r == YH_ERR_INVALID)
		return oidc_error(req, "invalid_request", "scan the QR code first");
	return oidc_error(req, "access_denied", "the QR code was scanned by another person, "
	    "refused or used");
}

/*
 * Loads request t into *q, takes step on it for uid (with cid and loa: a scan's), marks
 * it an organization's when org, and stores it; when another step changed it meanwhile,
 * starts over (QR_TRIES times). Returns 0, YH_ERR_BUSY (still changing), or the error of
 * the load, the step or the store.
 */
static int
qr_apply(struct authd_app *app, const char *t, enum qr_step step, const char *uid,
    const char *cid, int loa, bool org, struct login_qr *q)
{
	char key[SESS_KEY_SIZE], *raw = NULL;
	int r = YH_ERR_BUSY;

	for (int i = 0; i < QR_TRIES && r == YH_ERR_BUSY; i++) {
		free(raw);
		raw = NULL;
		if ((r = qr_load(app, t, key, q, &raw)) != 0)
			break;
		r = step == QR_SCAN ? login_qr_scan(q, uid, cid, loa, yh_now()) :
		    step == QR_CONFIRM ? login_qr_confirm(q, uid, loa, yh_now()) :
		    login_qr_deny(q, uid, yh_now());
		if (r == 0) {
			q->org = q->org || org;
			r = qr_store(app, key, raw, q);
		}
	}
	free(raw);
	return r;
}

/*
 * Refuses an app's step for the user uid of its token, who is not an active person
 * (org: an organization, whose session an enterprise certificate opened: that login
 * stays on the device holding the certificate). An organization's scan of a pending
 * request t also refuses the request (denied, org), so the browser's page says why.
 * Audited as qr.refused; answered 403 access_denied.
 */
static int
qr_app_not_person(struct http_req *req, struct authd_app *app, enum qr_step step,
    const char *t, const char *uid, const char *cid, bool org)
{
	char actor[SESS_UID_MAX + 8];
	struct login_qr q;
	int r = 0;

	memset(&q, 0, sizeof(q));
	if (org && step == QR_SCAN)
		r = qr_apply(app, t, QR_DENY, uid, cid, 0, true, &q);
	if (r == YH_ERR_UNAVAILABLE || r == YH_ERR_ALLOC)
		return r;
	/* the request unknown, expired or no longer pending: still refused, unchanged */
	sess_copy_cut(q.uid, sizeof(q.uid), uid);
	sess_copy_cut(q.client_id, sizeof(q.client_id), cid);
	snprintf(actor, sizeof(actor), "%s:%s", org ? "org" : "user", uid);
	yh_info("QR login step by client %s refused: %s", cid, org ?
	    "the token is an organization's session" : "the token's user is not an active person");
	if ((r = qr_audit(app, "qr.refused", actor, &q, NULL, org ? "organization_session" :
	    "not_a_person")) != 0)
		return r;
	return http_respond_error(req, 403, "access_denied", org ?
	    "an organization's session cannot be handed to another device; log in there "
	    "with the certificate" : "the access token's user is not an active person and "
	    "cannot log in by QR code");
}

static int
qr_app_step(struct http_req *req, struct authd_app *app, enum qr_step step)
{
	static const char *const events[] = { "qr.scan", "qr.confirm", "qr.deny" };
	char uid[SESS_UID_MAX + 1] = "", cid[SESS_CLIENT_MAX + 1] = "", actor[SESS_UID_MAX + 8];
	char *t = NULL;
	struct login_qr q;
	bool org;
	int loa = 0, r;

	memset(&q, 0, sizeof(q));
	http_resp_no_store(req);
	if ((r = qr_app_auth(app, req, uid, sizeof(uid), cid, sizeof(cid), &loa)) != 0 ||
	    http_req_answered(req))
		goto out;
	if ((r = http_req_form(req, "t", SESS_TOKEN_SIZE, &t)) != 0) {
		r = r == YH_ERR_ALLOC ? r : oidc_error(req, "invalid_request", "t missing");
		goto out;
	}
	if ((r = qr_holder(app, uid, &org)) == YH_ERR_DENIED) {
		r = qr_app_not_person(req, app, step, t, uid, cid, org);
		goto out;
	}
	if (r != 0)
		goto out;
	r = qr_apply(app, t, step, uid, cid, loa, false, &q);
	if (r != 0 && r != YH_ERR_BUSY && r != YH_ERR_UNAVAILABLE && r != YH_ERR_ALLOC) {
		yh_info("QR login %s by client %s refused: %s", events[step], cid, yh_strerror(r));
		r = qr_app_refused(req, r);
		goto out;
	}
	if (r != 0)
		goto out;
	if (q.uid[0] == '\0') {   /* denied before any scan: the audit line names the app */
		sess_copy_cut(q.uid, sizeof(q.uid), uid);
		sess_copy_cut(q.client_id, sizeof(q.client_id), cid);
	}
	snprintf(actor, sizeof(actor), "user:%s", uid);
	if ((r = qr_audit(app, events[step], actor, &q, NULL, NULL)) != 0)
		goto out;
	r = qr_app_respond(req, &q);
out:
	yh_strfree_secret(t);
	return r;
}

static int
qr_scan_post(struct http_req *req, void *arg)
{
	return qr_app_step(req, arg, QR_SCAN);
}

static int
qr_confirm_post(struct http_req *req, void *arg)
{
	return qr_app_step(req, arg, QR_CONFIRM);
}

static int
qr_deny_post(struct http_req *req, void *arg)
{
	return qr_app_step(req, arg, QR_DENY);
}

/* GET /qr: where a phone's camera app lands when it opens the QR code by itself. */
static int
qr_opened_get(struct http_req *req, void *arg)
{
	enum page_lang l = page_lang_of(req);

	(void)arg;
	return page_done_send(req, 200, page_msg(l, PAGE_MSG_QR_TITLE),
	    page_msg(l, PAGE_MSG_QR_USE_APP), NULL, NULL);
}

static const struct http_route qr_routes[] = {
	{ "GET", "/qr", qr_opened_get, HTTP_ROUTE_NO_STORE },
	{ "POST", LOGIN_QR_PATH, qr_new_post, HTTP_ROUTE_NO_STORE | HTTP_ROUTE_PREAUTH },
	{ "GET", LOGIN_QR_PATH, qr_page_get, HTTP_ROUTE_NO_STORE },
	{ "POST", "/qr/scan", qr_scan_post, HTTP_ROUTE_NO_STORE },
	{ "POST", "/qr/confirm", qr_confirm_post, HTTP_ROUTE_NO_STORE },
	{ "POST", "/qr/deny", qr_deny_post, HTTP_ROUTE_NO_STORE },
	{ NULL, NULL, NULL, 0 },
};

int
login_qr_register(struct http_server *srv, struct authd_app *app)
{
	return http_routes_add(srv, qr_routes, app);
}
