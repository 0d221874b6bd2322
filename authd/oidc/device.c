/*
 * The device authorization grant (RFC 8628): the request record and its states, POST
 * /device_authorization and the approval page GET/POST /device. The token endpoint's
 * side is oidc_dev_poll, called by authd/oidc/token.c. See authd/oidc/device.h.
 */
#include "authd/oidc/device.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "authcore/audit/audit.h"
#include "authd/app.h"
#include "authd/login/login.h"
#include "authd/oidc/authorize.h"
#include "authd/oidc/oidc.h"
#include "authd/oidc/token.h"
#include "authd/session/sess.h"
#include "authd/ui/csrf.h"
#include "authd/ui/pages.h"
#include "authd/ui/qr.h"
#include "authd/ui/templates_gen.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/timeutil.h"
#include "common/url.h"
#include "identity/dir/dir.h"

#define DEV_PURPOSE "device"           /* the approval form's CSRF purpose */
#define DEV_USER_BIND "dev-user"       /* what user-code keys are bound to */
#define DEV_BIND_MAX (SESS_CLIENT_MAX + 8)
#define DEV_URL_MAX 1024
#define DEV_SWAP_TRIES 4               /* reads again after a lost compare-and-swap */
#define DEV_NEW_TRIES 4                /* user codes drawn before giving up on collisions */
#define DEV_QR_PX 280                  /* the kiosk page's QR code, pixels */

/* ---- user codes ------------------------------------------------------------------------ */

int
oidc_dev_user_code_new(char out[OIDC_DEV_CODE_SIZE])
{
	const size_t na = sizeof(OIDC_DEV_ALPHABET) - 1;
	const unsigned limit = 256 - 256 % na;    /* bytes at or over this are redrawn */
	unsigned char raw[32];
	size_t i = 0, o = 0;
	int r;

	out[0] = '\0';
	while (o < OIDC_DEV_CODE_LEN) {
		if (i == 0 && (r = yh_random(raw, sizeof(raw))) != 0)
			return r;
		if (raw[i] < limit) {
			out[o + (o >= OIDC_DEV_CODE_LEN / 2 ? 1 : 0)] = OIDC_DEV_ALPHABET[raw[i] % na];
			o++;
		}
		i = (i + 1) % sizeof(raw);
	}
	out[OIDC_DEV_CODE_LEN / 2] = '-';
	out[OIDC_DEV_CODE_LEN + 1] = '\0';
	yh_wipe(raw, sizeof(raw));
	return 0;
}

int
oidc_dev_user_code_norm(const char *in, char out[OIDC_DEV_CODE_SIZE])
{
	size_t o = 0;

	out[0] = '\0';
	if (in == NULL)
		return YH_ERR_INVALID;
	for (size_t i = 0; in[i] != '\0' && i < 64; i++) {
		char c = (char)toupper((unsigned char)in[i]);

		if (c == '-' || c == ' ')
			continue;
		if (o == OIDC_DEV_CODE_LEN || c == '\0' || strchr(OIDC_DEV_ALPHABET, c) == NULL)
			return YH_ERR_INVALID;
		out[o + (o >= OIDC_DEV_CODE_LEN / 2 ? 1 : 0)] = c;
		o++;
	}
	if (o != OIDC_DEV_CODE_LEN || strnlen(in, 65) > 64)
		return YH_ERR_INVALID;
	out[OIDC_DEV_CODE_LEN / 2] = '-';
	out[OIDC_DEV_CODE_LEN + 1] = '\0';
	return 0;
}

/* ---- the record ------------------------------------------------------------------------- */

static const char *const state_names[] = { "pending", "approved", "denied", "done" };

enum oidc_dev_poll
oidc_dev_poll_step(struct oidc_dev *d, int64_t now_ms)
{
	if (d->st == OIDC_DEV_DONE)
		return OIDC_DEV_POLL_USED;
	if (now_ms >= d->exp * 1000)
		return OIDC_DEV_POLL_EXPIRED;
	if (d->st == OIDC_DEV_DENIED) {
		d->st = OIDC_DEV_DONE;
		return OIDC_DEV_POLL_DENIED;
	}
	if (d->st == OIDC_DEV_APPROVED) {
		d->st = OIDC_DEV_DONE;
		return OIDC_DEV_POLL_ISSUE;
	}
	if (d->next_ms != 0 && now_ms < d->next_ms) {
		d->interval += OIDC_DEV_SLOW_DOWN;
		d->next_ms = now_ms + d->interval * 1000;
		return OIDC_DEV_POLL_SLOW_DOWN;
	}
	d->next_ms = now_ms + d->interval * 1000;
	return OIDC_DEV_POLL_PENDING;
}

int
oidc_dev_json(const struct oidc_dev *d, char **out)
{
	json_t *o;

	*out = NULL;
	if ((unsigned)d->st > OIDC_DEV_DONE || (d->st == OIDC_DEV_APPROVED) != (d->grant != NULL))
		return YH_ERR_INVALID;
	if ((o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "st", state_names[d->st],
	    "client_id", d->client_id, "scope", d->scope, "exp", (json_int_t)d->exp,
	    "iv", (json_int_t)d->interval, "next", (json_int_t)d->next_ms)) == NULL)
		return YH_ERR_ALLOC;
	if (d->grant != NULL && json_object_set_new(o, "g", json_string(d->grant)) != 0) {
		json_decref(o);
		return YH_ERR_ALLOC;
	}
	*out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return *out != NULL ? 0 : YH_ERR_ALLOC;
}

int
oidc_dev_parse(const char *json, struct oidc_dev *d)
{
	const char *st = NULL, *cid = NULL, *scope = NULL, *g = NULL;
	json_int_t exp = 0, iv = 0, next = 0;
	json_t *o;
	int r = YH_ERR_INVALID;

	memset(d, 0, sizeof(*d));
	if ((o = json_loads(json, 0, NULL)) == NULL)
		return YH_ERR_INVALID;
	if (json_unpack(o, "{s:s, s:s, s:s, s:I, s:I, s:I, s?s}", "st", &st, "client_id", &cid,
	    "scope", &scope, "exp", &exp, "iv", &iv, "next", &next, "g", &g) != 0 ||
	    yh_strlcpy(d->client_id, cid, sizeof(d->client_id)) != 0 ||
	    yh_strlcpy(d->scope, scope, sizeof(d->scope)) != 0 || iv < 1 || iv > 3600)
		goto out;
	for (unsigned i = 0; i <= OIDC_DEV_DONE; i++)
		if (strcmp(st, state_names[i]) == 0)
			d->st = (enum oidc_dev_state)i;
	if (strcmp(st, state_names[d->st]) != 0 || (d->st == OIDC_DEV_APPROVED) != (g != NULL))
		goto out;
	d->exp = exp;
	d->interval = iv;
	d->next_ms = next;
	r = 0;
	if (g != NULL && (d->grant = strdup(g)) == NULL)
		r = YH_ERR_ALLOC;
out:
	json_decref(o);
	if (r != 0)
		oidc_dev_clear(d);
	return r;
}

void
oidc_dev_clear(struct oidc_dev *d)
{
	free(d->grant);
	memset(d, 0, sizeof(*d));
}

/* The binding of a client's device codes. */
static int
dev_bind(const char *client_id, char bind[DEV_BIND_MAX + 1])
{
	int n = snprintf(bind, DEV_BIND_MAX + 1, "dev:%s", client_id);

	return n > 0 && n <= DEV_BIND_MAX ? 0 : YH_ERR_INVALID;
}

/* Reads the request under key into *d and its payload into *raw (malloc'd). */
static int
dev_load(struct authd_app *app, const char *key, struct oidc_dev *d, char **raw)
{
	int r;

	*raw = NULL;
	if ((r = sess_flow_get(app->sess, key, raw)) != 0)
		return r;
	if ((r = oidc_dev_parse(*raw, d)) != 0) {
		yh_error("a device request's record does not parse");
		free(*raw);
		*raw = NULL;
		return r == YH_ERR_ALLOC ? r : YH_ERR_NOT_FOUND;
	}
	return 0;
}

/* Stores d over raw (compare-and-swap). YH_ERR_BUSY: it changed meanwhile. */
static int
dev_store(struct authd_app *app, const char *key, const char *raw, const struct oidc_dev *d)
{
	char *j = NULL;
	int r;

	if ((r = oidc_dev_json(d, &j)) == 0)
		r = sess_flow_swap(app->sess, key, raw, j);
	free(j);
	return r;
}

int
oidc_dev_poll(struct authd_app *app, const char *client_id, const char *device_code,
    int64_t now_ms, enum oidc_dev_poll *res, char **grant)
{
	char bind[DEV_BIND_MAX + 1], key[SESS_KEY_SIZE], *raw = NULL, *g = NULL;
	struct oidc_dev d;
	int r = YH_ERR_BUSY;

	*grant = NULL;
	*res = OIDC_DEV_POLL_USED;
	memset(&d, 0, sizeof(d));
	if (dev_bind(client_id, bind) != 0 || sess_flow_key(bind, device_code, key) != 0)
		return YH_ERR_NOT_FOUND;
	for (int i = 0; i < DEV_SWAP_TRIES && r == YH_ERR_BUSY; i++) {
		oidc_dev_clear(&d);
		free(raw);
		if ((r = dev_load(app, key, &d, &raw)) != 0)
			break;
		*res = oidc_dev_poll_step(&d, now_ms);
		if (*res == OIDC_DEV_POLL_USED || *res == OIDC_DEV_POLL_EXPIRED)
			break;   /* nothing changes */
		free(g);
		g = d.grant;     /* a request done keeps no grant */
		d.grant = NULL;
		r = dev_store(app, key, raw, &d);
	}
	if (r == 0 && *res == OIDC_DEV_POLL_ISSUE) {
		*grant = g;
		g = NULL;
	}
	oidc_dev_clear(&d);
	free(g);
	free(raw);
	return r == YH_ERR_BUSY ? YH_ERR_UNAVAILABLE : r;
}

/* ---- POST /device_authorization ---------------------------------------------------------- */

static int
dev_audit(struct authd_app *app, const char *event, const char *actor, const char *client_id,
    const char *scope, const char *uid)
{
	json_t *f;
	int r;

	if ((f = json_pack("{s:s, s:s}", "client_id", client_id, "scope", scope)) == NULL)
		return YH_ERR_ALLOC;
	if (uid != NULL && json_object_set_new(f, "uid", json_string(uid)) != 0) {
		json_decref(f);
		return YH_ERR_ALLOC;
	}
	r = yh_audit_write(app->audit, event, actor, f);
	json_decref(f);
	return r;
}

/* Stores a new request of client c for scope; its codes to device_code and user_code. */
static int
dev_new(struct authd_app *app, const struct clients_client *c, const char *scope,
    int64_t now, char device_code[SESS_TOKEN_SIZE], char user_code[OIDC_DEV_CODE_SIZE])
{
	char bind[DEV_BIND_MAX + 1], key[SESS_KEY_SIZE], ukey[SESS_KEY_SIZE], *j = NULL;
	struct oidc_dev d;
	int r;

	memset(&d, 0, sizeof(d));
	d.st = OIDC_DEV_PENDING;
	d.exp = now + oidc_lifetime(app, OIDC_LT_DEVICE);
	d.interval = oidc_lifetime(app, OIDC_LT_DEVICE_INTERVAL);
	if (yh_strlcpy(d.client_id, c->id, sizeof(d.client_id)) != 0 ||
	    yh_strlcpy(d.scope, scope, sizeof(d.scope)) != 0 || dev_bind(c->id, bind) != 0)
		return YH_ERR_INVALID;
	if ((r = oidc_dev_json(&d, &j)) != 0 ||
	    (r = sess_flow_new(app->sess, bind, j, d.exp - now + OIDC_DEV_GRACE,
	    device_code, key)) != 0)
		goto out;
	r = YH_ERR_EXISTS;
	for (int i = 0; i < DEV_NEW_TRIES && r == YH_ERR_EXISTS; i++) {
		if ((r = oidc_dev_user_code_new(user_code)) != 0 ||
		    (r = sess_flow_name_key(DEV_USER_BIND, user_code, ukey)) != 0)
			break;
		r = sess_flow_put(app->sess, ukey, key, d.exp - now);
	}
out:
	if (r != 0)
		yh_wipe(device_code, SESS_TOKEN_SIZE);
	free(j);
	return r;
}

/* The answer of RFC 8628 3.2. */
static int
dev_respond(struct authd_app *app, struct http_req *req, const char *device_code,
    const char *user_code)
{
	char uri[DEV_URL_MAX], full[DEV_URL_MAX + 32];
	json_t *o;
	int n = snprintf(uri, sizeof(uri), "%s%s", app->issuer, OIDC_DEV_PATH);

	if (n < 0 || (size_t)n >= sizeof(uri))
		return YH_ERR_TOO_LONG;
	snprintf(full, sizeof(full), "%s?user_code=%s", uri, user_code);
	if ((o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "device_code", device_code,
	    "user_code", user_code, "verification_uri", uri, "verification_uri_complete", full,
	    "expires_in", (json_int_t)oidc_lifetime(app, OIDC_LT_DEVICE), "interval",
	    (json_int_t)oidc_lifetime(app, OIDC_LT_DEVICE_INTERVAL))) == NULL)
		return YH_ERR_ALLOC;
	http_resp_no_store(req);
	return http_respond_json(req, 200, o);
}

/* Counts a new request against the client's address: 0 (go on), or 429 slow_down was
 * answered (OIDC_DEV_PER_ADDR in OIDC_DEV_ADDR_WINDOW), or the store's error. */
static int
dev_addr_limit(struct authd_app *app, struct http_req *req)
{
	const char *ip = http_req_client_ip(req);
	char name[SESS_NAME_MAX];
	int r;

	sess_addr_name(name, sizeof(name), "devnew:", ip);
	if ((r = sess_rate(app->sess, name, OIDC_DEV_ADDR_WINDOW, OIDC_DEV_PER_ADDR)) !=
	    YH_ERR_LOCKED)
		return r == YH_ERR_UNAVAILABLE ? oidc_error(req, "temporarily_unavailable",
		    "the session store is not available") : r;
	http_resp_no_store(req);
	if ((r = http_resp_retry_after(req, OIDC_DEV_ADDR_WINDOW)) != 0)
		return r;
	return http_respond_error(req, 429, "slow_down",
	    "too many device authorization requests from this address; try again later");
}

static int
dev_authz_handler(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct clients_snap *snap;
	struct oidc_client_auth ca;
	char url[DEV_URL_MAX], names[256], actor[CLIENTS_ID_MAX + 8];
	char dc[SESS_TOKEN_SIZE] = "", uc[OIDC_DEV_CODE_SIZE] = "", *scope = NULL;
	unsigned bits = 0;
	int r;

	http_resp_no_store(req);
	(void)clients_refresh_if_changed(app->clients);
	snap = clients_acquire(app->clients);
	snprintf(url, sizeof(url), "%s/device_authorization", app->issuer);
	if ((r = oidc_client_authenticate(req, app, snap, url, &ca)) != 0) {
		r = oidc_client_auth_fail(req, &ca, r);
		goto out;
	}
	if (!clients_grant_ok(ca.client, CLIENTS_GRANT_DEVICE_CODE)) {
		r = oidc_error(req, "unauthorized_client", "grant not allowed for this client");
		goto out;
	}
	r = http_req_form(req, "scope", OIDC_SCOPE_MAX, &scope);
	if (r != 0 && r != YH_ERR_NOT_FOUND) {
		r = r == YH_ERR_ALLOC ? r : oidc_error(req, "invalid_request", "scope malformed");
		goto out;
	}
	if (oidc_scope_grant(ca.client, scope != NULL ? scope : "openid", &bits) != 0 ||
	    clients_scope_format(bits, names, sizeof(names)) != 0) {
		r = oidc_error(req, "invalid_scope", "scope malformed");
		goto out;
	}
	if ((r = dev_addr_limit(app, req)) != 0 || http_req_answered(req))
		goto out;
	if ((r = dev_new(app, ca.client, names, yh_now(), dc, uc)) != 0)
		goto out;
	snprintf(actor, sizeof(actor), "client:%s", ca.client->id);
	if ((r = dev_audit(app, "device.authorize", actor, ca.client->id, names, NULL)) != 0)
		goto out;
	r = dev_respond(app, req, dc, uc);
out:
	yh_wipe(dc, sizeof(dc));
	free(scope);
	clients_release(snap);
	return r;
}

/* ---- the approval page -------------------------------------------------------------------- */

/* What the approval page works on: the person's session and the request a code names. */
struct dev_page {
	struct sess_info si;
	int person_loa;
	char code[OIDC_DEV_CODE_SIZE];     /* normalized, "" when none was given */
	char key[SESS_KEY_SIZE];           /* the request's record */
	char *raw;                         /* its payload as read */
	struct oidc_dev d;
	struct clients_snap *snap;
	const struct clients_client *c;    /* from snap */
	unsigned bits;                     /* d.scope as CLIENTS_SCOPE_* */
};

static void
dp_clear(struct dev_page *p)
{
	free(p->raw);
	oidc_dev_clear(&p->d);
	clients_release(p->snap);
	memset(p, 0, sizeof(*p));
}

/* The page's own path with the code: "/device?user_code=XXXX-XXXX" (or "/device"). */
static void
dp_self(const struct dev_page *p, char *out, size_t outsz)
{
	if (p->code[0] != '\0')
		snprintf(out, outsz, "%s?user_code=%s", OIDC_DEV_PATH, p->code);
	else
		snprintf(out, outsz, "%s", OIDC_DEV_PATH);
}

/* 30x to page?next=<this page>[&loa=N]. */
static int
dp_detour(struct http_req *req, unsigned status, const struct dev_page *p, const char *page,
    int loa)
{
	char self[64], n[8];
	struct yh_buf b;
	int r;

	dp_self(p, self, sizeof(self));
	snprintf(n, sizeof(n), "%d", loa);
	yh_buf_init(&b, DEV_URL_MAX);
	if ((r = yh_buf_puts(&b, page)) == 0 && (r = oidc_url_param(&b, "next", self)) == 0 &&
	    (r = oidc_url_param(&b, "loa", loa > 0 ? n : NULL)) == 0)
		r = http_respond_redirect(req, status, yh_buf_cstr(&b));
	yh_buf_free(&b);
	return r;
}

/* The form asking for the code, with an alert when alert is not NULL. */
static int
dp_code_form(struct http_req *req, const char *code, enum page_msg alert)
{
	struct tpl_device v;
	struct page pg;

	page_init(&pg, req, OIDC_DEV_PATH);
	v = (struct tpl_device){ .ask = true, .user_code = code != NULL ? code : "" };
	if (alert != 0)
		v.alert = page_msg(pg.lang, alert);
	page_begin(&pg, page_msg(pg.lang, PAGE_MSG_DEVICE_TITLE));
	tpl_device_render(&pg, &v);
	return page_send(&pg, req, alert != 0 ? 400 : 200);
}

/* The approval form for the request in p. */
static int
dp_approve_form(struct authd_app *app, struct http_req *req, const struct dev_page *p)
{
	char csrf[CSRF_TOKEN_SIZE];
	enum page_msg what[PAGE_CLAIMS_MAX];
	struct tpl_device_claims claims[PAGE_CLAIMS_MAX];
	struct tpl_layout_keep keep;
	struct tpl_device v;
	struct page pg;
	size_t n;
	int r;

	if ((r = csrf_prepare(req, app->keys, DEV_PURPOSE, p->si.key, csrf)) != 0)
		return r;
	keep = (struct tpl_layout_keep){ "user_code", p->code };
	page_init(&pg, req, OIDC_DEV_PATH);
	page_set_keep(&pg, &keep, 1);   /* the language switch stays on this request */
	n = page_claims(p->bits, p->c->allow_id_number, what, PAGE_CLAIMS_MAX);
	for (size_t i = 0; i < n; i++)
		claims[i] = (struct tpl_device_claims){ .what = page_msg(pg.lang, what[i]) };
	v = (struct tpl_device){
		.approve = true, .user_code = p->code, .csrf = csrf,
		.client_name = p->c->name != NULL ? p->c->name : p->c->id, .client_id = p->c->id,
		.claims = claims, .claims_n = n,
	};
	page_begin(&pg, page_msg(pg.lang, PAGE_MSG_DEVICE_TITLE));
	tpl_device_render(&pg, &v);
	yh_wipe(csrf, sizeof(csrf));
	return page_send(&pg, req, 200);
}

/* The name user-code failures of the person count under. */
static void
dp_fail_name(const struct dev_page *p, char *out, size_t outsz)
{
	snprintf(out, outsz, "devcode:%s", p->si.uid);
}

/*
 * Finds the pending request p->code names, for the person of p->si. 0 with p->d, p->c
 * set; YH_ERR_NOT_FOUND (no such pending request: counted), YH_ERR_LOCKED (too many
 * wrong codes), YH_ERR_DENIED (the request is no longer pending), or the store's error.
 */
static int
dp_find(struct authd_app *app, struct dev_page *p)
{
	char ukey[SESS_KEY_SIZE], name[SESS_UID_MAX + 16], *dkey = NULL;
	int r;

	dp_fail_name(p, name, sizeof(name));
	if ((r = sess_locked(app->sess, name, NULL)) != 0)
		return r;
	if ((r = sess_flow_name_key(DEV_USER_BIND, p->code, ukey)) != 0)
		return r;
	if ((r = sess_flow_get(app->sess, ukey, &dkey)) == 0) {
		r = yh_strlcpy(p->key, dkey, sizeof(p->key)) == 0 ? 0 : YH_ERR_NOT_FOUND;
		free(dkey);
	}
	if (r == 0)
		r = dev_load(app, p->key, &p->d, &p->raw);
	if (r == YH_ERR_NOT_FOUND) {
		int f = sess_fail(app->sess, name, OIDC_DEV_FAILURE_WINDOW, OIDC_DEV_MAX_FAILURES,
		    OIDC_DEV_FAILURE_WINDOW, NULL);
		return f == YH_ERR_LOCKED || f == YH_ERR_UNAVAILABLE ? f : YH_ERR_NOT_FOUND;
	}
	if (r != 0)
		return r;
	if (p->d.st != OIDC_DEV_PENDING || yh_now() >= p->d.exp)
		return YH_ERR_DENIED;
	(void)clients_refresh_if_changed(app->clients);
	p->snap = clients_acquire(app->clients);
	if ((p->c = clients_find(p->snap, p->d.client_id)) == NULL ||
	    !clients_grant_ok(p->c, CLIENTS_GRANT_DEVICE_CODE) ||
	    clients_scope_parse(p->d.scope, &p->bits, NULL) != 0)
		return YH_ERR_DENIED;
	p->bits &= p->c->scopes;
	return 0;
}

/*
 * The common start of GET and POST: the session (none: to /login), the code (none, or
 * not look_up: the form, filled in with it), the request, the app's LoA (too low: the
 * step-up, or a refusal). 0 with *answered false when the caller goes on with p filled;
 * otherwise the request was answered (or the error is returned).
 */
static int
dp_start(struct authd_app *app, struct http_req *req, const char *code, unsigned status,
    bool look_up, struct dev_page *p, bool *answered)
{
	const char *cookie = page_cookie(req, LOGIN_SID_COOKIE);
	bool have = false, can = false, refused = false;
	int r;

	*answered = true;
	if (code != NULL && code[0] != '\0' && oidc_dev_user_code_norm(code, p->code) != 0)
		return dp_code_form(req, code, PAGE_MSG_DEVICE_CODE_BAD);
	if ((r = oidc_az_session(app, cookie, &p->si, &have, &p->person_loa)) != 0)
		return page_failure_send(req, r);
	if (!have)
		return dp_detour(req, status, p, LOGIN_PATH, 0);
	if (p->code[0] == '\0')
		return dp_code_form(req, NULL, 0);
	if (!look_up)
		return dp_code_form(req, p->code, 0);
	r = dp_find(app, p);
	if (r == YH_ERR_NOT_FOUND)
		return dp_code_form(req, p->code, PAGE_MSG_DEVICE_CODE_UNKNOWN);
	if (r == YH_ERR_LOCKED)
		return page_error_send(req, 429, page_msg(page_lang_of(req),
		    PAGE_MSG_DEVICE_LOCKED), NULL, NULL);
	if (r == YH_ERR_DENIED)
		return page_error_send(req, 400, page_msg(page_lang_of(req),
		    PAGE_MSG_DEVICE_CODE_USED), NULL, NULL);
	if (r != 0)
		return page_failure_send(req, r);
	if (p->c->disabled)   /* as /authorize: nothing is approved for a disabled app */
		return page_error_send(req, 403, page_msg(page_lang_of(req),
		    PAGE_MSG_AZ_CLIENT_DISABLED), NULL, NULL);
	if (p->si.loa < p->c->min_loa) {   /* a staff login pending its TOTP (LoA 0) too */
		if ((r = oidc_az_can_step_up(app, &p->si, p->person_loa, p->c->min_loa, &can)) != 0)
			return page_failure_send(req, r);
		if (!can)
			return page_error_send(req, 403, page_msg(page_lang_of(req),
			    PAGE_MSG_DEVICE_LOA), NULL, NULL);
		return dp_detour(req, status, p, LOGIN_TOTP_PATH, p->c->min_loa);
	}
	if ((r = oidc_legacy_refused(app->dir, p->c, p->si.uid, &refused)) != 0)
		return page_failure_send(req, r);
	if (refused)   /* as /authorize's rule 4b */
		return page_error_send(req, 403, page_msg(page_lang_of(req),
		    PAGE_MSG_DEVICE_LEGACY), NULL, NULL);
	*answered = false;
	return 0;
}

/*
 * True when the browser says another site started this request (Sec-Fetch-Site
 * cross-site or same-site). Such a GET /device?user_code= only fills in the form: the
 * person submits it from this page (same-origin) for the lookup, which counts an unknown
 * code against them (OIDC_DEV_MAX_FAILURES), so that another site cannot spend their
 * allowance and lock their approvals by sending their browser to made-up codes. A link
 * the person opens themselves (a QR code scanned, typed, bookmarked: none) is looked up
 * at once, as is a request without the header (an older browser).
 */
static bool
from_other_site(struct http_req *req)
{
	const char *v = http_req_header(req, "Sec-Fetch-Site");

	return v != NULL && (strcmp(v, "cross-site") == 0 || strcmp(v, "same-site") == 0);
}

static int
dev_get(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct dev_page p;
	const char *code = NULL;
	bool answered;
	int r;

	memset(&p, 0, sizeof(p));
	r = http_req_query(req, "user_code", 64, &code);
	if (r != 0 && r != YH_ERR_NOT_FOUND)
		return dp_code_form(req, NULL, PAGE_MSG_DEVICE_CODE_BAD);
	if ((r = dp_start(app, req, code, 302, !from_other_site(req), &p, &answered)) == 0 &&
	    !answered)
		r = dp_approve_form(app, req, &p);
	dp_clear(&p);
	return r;
}

/*
 * GET /device/qr?user_code=XXXX-XXXX: what a kiosk that shows a web page displays: the
 * code and verification_uri_complete as a QR code (inline SVG, libqrencode), for the
 * person's phone to open. No session and no store: the page says only what its URL
 * says, whether or not the code names a request.
 */
static int
dev_qr_get(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	char code[OIDC_DEV_CODE_SIZE], full[DEV_URL_MAX + 32];
	const char *in = NULL;
	struct tpl_layout_keep keep;
	struct tpl_device v;
	struct yh_buf svg;
	struct page pg;
	int r, n;

	if (http_req_query(req, "user_code", 64, &in) != 0 ||
	    oidc_dev_user_code_norm(in, code) != 0)
		return page_error_send(req, 400, page_msg(page_lang_of(req),
		    PAGE_MSG_DEVICE_CODE_BAD), NULL, NULL);
	n = snprintf(full, sizeof(full), "%s%s?user_code=%s", app->issuer, OIDC_DEV_PATH, code);
	if (n < 0 || (size_t)n >= sizeof(full))
		return page_failure_send(req, YH_ERR_TOO_LONG);
	yh_buf_init(&svg, 256 * 1024);
	if ((r = ui_qr_svg(full, DEV_QR_PX, &svg)) != 0) {
		yh_buf_free(&svg);
		return page_failure_send(req, r);
	}
	keep = (struct tpl_layout_keep){ "user_code", code };
	page_init(&pg, req, OIDC_DEV_QR_PATH);
	page_set_keep(&pg, &keep, 1);
	v = (struct tpl_device){ .show = true, .user_code = code, .svg = yh_buf_cstr(&svg),
		.uri = full };
	page_begin(&pg, page_msg(pg.lang, PAGE_MSG_DEVICE_TITLE));
	tpl_device_render(&pg, &v);
	r = page_send(&pg, req, 200);
	yh_buf_free(&svg);
	return r;
}

/* The grant the person gives with their session p->si, as stored for the poll. */
static int
dp_grant(const struct dev_page *p, char **out)
{
	struct oidc_grant g;

	memset(&g, 0, sizeof(g));
	g.client_id = p->c->id;
	g.uid = p->si.uid;
	g.sid = p->si.sid;
	g.scope = p->d.scope;
	g.auth_time = p->si.auth_time;
	g.loa = p->si.loa;
	for (size_t i = 0; i < p->si.namr; i++)
		g.amr[i] = p->si.amr[i];
	g.namr = p->si.namr;
	return oidc_grant_json(&g, out);
}

/* Moves the request to approved (with the grant) or denied; the consent with it. */
static int
dp_decide(struct authd_app *app, struct dev_page *p, bool approve)
{
	char actor[SESS_UID_MAX + 8];
	int r;

	snprintf(actor, sizeof(actor), "user:%s", p->si.uid);
	if (approve) {
		if ((r = dp_grant(p, &p->d.grant)) != 0)
			return r;
		if (p->bits != 0 &&
		    ((r = dir_consent_set(app->dir, p->si.uid, p->c->id, p->d.scope)) != 0 ||
		    (r = dev_audit(app, "consent.grant", actor, p->c->id, p->d.scope, NULL)) != 0))
			return r;
		if ((r = sess_add_client(app->sess, p->si.key, p->c->id)) != 0 && r != YH_ERR_LIMIT)
			return r;
	}
	p->d.st = approve ? OIDC_DEV_APPROVED : OIDC_DEV_DENIED;
	if ((r = dev_audit(app, approve ? "device.approve" : "device.deny", actor, p->c->id,
	    p->d.scope, p->si.uid)) != 0)
		return r;
	return dev_store(app, p->key, p->raw, &p->d);
}

static int
dev_post(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct dev_page p;
	char *code = NULL, *action = NULL;
	enum page_lang l = page_lang_of(req);
	bool answered, approve;
	int r;

	memset(&p, 0, sizeof(p));
	if (http_req_form(req, "user_code", 64, &code) != 0 ||
	    http_req_form(req, "action", 16, &action) != 0 ||
	    (strcmp(action, "approve") != 0 && strcmp(action, "deny") != 0)) {
		r = page_error_send(req, 400, page_msg(l, PAGE_MSG_BAD_REQUEST), NULL, NULL);
		goto out;
	}
	approve = strcmp(action, "approve") == 0;
	if ((r = dp_start(app, req, code, 303, true, &p, &answered)) != 0 || answered)
		goto out;
	if ((r = csrf_verify(req, app->keys, DEV_PURPOSE, p.si.key)) != 0) {
		r = r == YH_ERR_DENIED ? csrf_respond_rejected(req) : r;
		goto out;
	}
	r = dp_decide(app, &p, approve);
	if (r == YH_ERR_BUSY || r == YH_ERR_NOT_FOUND)   /* decided or gone meanwhile */
		r = page_error_send(req, 400, page_msg(l, PAGE_MSG_DEVICE_CODE_USED), NULL, NULL);
	else if (r != 0)
		r = page_failure_send(req, r);
	else
		r = page_done_send(req, 200, page_msg(l, PAGE_MSG_DEVICE_TITLE),
		    page_msg(l, approve ? PAGE_MSG_DEVICE_APPROVED : PAGE_MSG_DEVICE_DENIED), NULL,
		    NULL);
out:
	dp_clear(&p);
	free(code);
	free(action);
	return r;
}

static const struct http_route dev_routes[] = {
	{ "POST", "/device_authorization", dev_authz_handler,
	    HTTP_ROUTE_NO_STORE | HTTP_ROUTE_PREAUTH },
	{ "GET", OIDC_DEV_PATH, dev_get, HTTP_ROUTE_NO_STORE },
	{ "GET", OIDC_DEV_QR_PATH, dev_qr_get, HTTP_ROUTE_NO_STORE },
	{ "POST", OIDC_DEV_PATH, dev_post, HTTP_ROUTE_NO_STORE },
	{ NULL, NULL, NULL, 0 },
};

int
oidc_device_register(struct http_server *srv, struct authd_app *app)
{
	return http_routes_add(srv, dev_routes, app);
}
