/*
 * Certificate login (数字证书登录): GET /login/cert (the form), GET
 * /login/cert/challenge (a challenge for the USBKey middleware) and POST /login/cert
 * (routes.c lists the routes; docs/certificates.md describes both).
 *
 * A challenge is 32 random bytes in base64url, kept by the session store for
 * LOGIN_CERT_CHALLENGE_TTL seconds as a short code (its first 16 characters, the whole
 * challenge as the payload) bound to the browser's pre-session cookie, so that it is
 * good once and only in the browser it was issued to. The POST takes it, checks the
 * signature over the challenge's ASCII bytes with the certificate's key
 * (fed_x509_proof_verify), the certificate against the configured CAs (fed_x509_verify)
 * and finds the person by the ID number it carries, or for an enterprise certificate
 * the organization by its credit code (or organization code): the session is then the
 * organization's own uid, which /authorize turns into acting for it (role
 * OIDC_ORG_ROLE_CERT_HOLDER, authorize.h rule 5c). A certificate its CA's CRL lists
 * is refused; one whose status is unknown (no CRL in force, no OCSP answer that counts) is refused
 * under fail closed and accepted, audited as such, under fail open
 * (fed_x509_rev_decide). The session gets LoA 4 and amr "hwk" and "x509". Every refusal is audited (login.failure, method cert, the reason)
 * and answered with the form and a page saying why. With cert.auto_register a person
 * certificate whose ID number names nobody makes the person (register_holder).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "authcore/authd_config.h"
#include "authd/app.h"
#include "authd/login/login.h"
#include "authd/ui/csrf.h"
#include "authd/ui/pages.h"
#include "authd/ui/templates_gen.h"
#include "common/b64.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/timeutil.h"
#include "federation/x509.h"
#include "identity/dir/dir.h"
#include "identity/match/matchkey.h"

#define CERT_PURPOSE "cert"          /* the form's CSRF purpose */
#define CERT_CODE_LEN 16             /* characters of the challenge that name it */
#define CERT_CHALLENGE_LEN 43        /* 32 bytes in base64url */
#define CERT_FIELD_MAX 12288         /* a certificate, base64 or PEM */
#define CERT_CHAIN_FIELD_MAX 12288   /* the chain, PEM */
#define CERT_SIG_FIELD_MAX 1400      /* a signature in base64 */

struct cert_req {
	struct authd_app *app;
	struct http_req *req;
	struct login_req_info ri;
	char browser[CSRF_TOKEN_SIZE];     /* the yh_csrf cookie (secret) */
	char next[LOGIN_NEXT_MAX + 1];
	char csrf[CSRF_TOKEN_SIZE];
	char challenge[CERT_CHALLENGE_LEN + 1];
	char *cert, *chain, *sig;
	bool tls;                          /* the certificate a trusted proxy forwarded (its
	                                    * TLS handshake proved the key): no challenge */
};

static void
cert_req_free(struct cert_req *j)
{
	if (j == NULL)
		return;
	free(j->cert);
	free(j->chain);
	free(j->sig);
	yh_freezero(j, sizeof(*j));
}

static int
respond(struct cert_req *j, unsigned status, enum page_msg alert)
{
	struct page p;

	page_init_lang(&p, j->ri.lang, j->ri.https, LOGIN_CERT_PATH);
	page_set_next(&p, j->next);
	page_begin(&p, page_msg(p.lang, PAGE_MSG_CERT_LOGIN_TITLE));
	tpl_cert_login_render(&p, &(struct tpl_cert_login){
	    .csrf = j->csrf, .next = j->next,
	    .alert = alert != 0 ? page_msg(p.lang, alert) : NULL,
	    .tls = j->app->cfg->cert_proxy_header != NULL &&
	    j->app->cfg->cert_proxy_header[0] != '\0' });
	return page_send(&p, j->req, status);
}

/* The challenge's name in the store: "cert:" and the browser's cookie. */
static void
bind_of(const char *browser, char *out, size_t outsz)
{
	snprintf(out, outsz, "cert:%s", browser);
}

int
login_cert_get(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct cert_req j;
	int r;

	memset(&j, 0, sizeof(j));
	if ((r = login_form_start(req, app, CERT_PURPOSE, j.next, sizeof(j.next), j.csrf,
	    &j.ri)) != 0)
		return r;
	j.app = app;
	j.req = req;
	return respond(&j, app->cfg->cert_trust != NULL ? 200 : 503,
	    app->cfg->cert_trust != NULL ? 0 : PAGE_MSG_CERT_UNAVAILABLE);
}

int
login_cert_challenge_get(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	const char *browser = page_cookie(req, CSRF_COOKIE);
	unsigned char raw[32];
	char ch[CERT_CHALLENGE_LEN + 1], code[CERT_CODE_LEN + 1], bind[CSRF_TOKEN_SIZE + 8];
	char csrf[CSRF_TOKEN_SIZE];
	int r = YH_ERR_EXISTS;

	if (app->cfg->cert_trust == NULL)
		return http_respond_error(req, 503, "temporarily_unavailable",
		    "certificate login is not configured");
	if (browser == NULL || !csrf_cookie_ok(browser))
		return http_respond_error(req, 400, "invalid_request", "no login session in "
		    "this browser: open " LOGIN_CERT_PATH " first (it sets the yh_csrf cookie)");
	bind_of(browser, bind, sizeof(bind));
	for (int i = 0; i < 2 && r == YH_ERR_EXISTS; i++) {
		if (RAND_bytes(raw, sizeof(raw)) != 1)
			return YH_ERR_CRYPTO;
		yh_b64url_encode(raw, sizeof(raw), ch);
		memcpy(code, ch, CERT_CODE_LEN);
		code[CERT_CODE_LEN] = '\0';
		r = sess_otc_put(app->sess, code, bind, ch, LOGIN_CERT_CHALLENGE_TTL);
	}
	if (r == YH_ERR_UNAVAILABLE || r == YH_ERR_LIMIT)
		return http_respond_error(req, 503, "temporarily_unavailable",
		    "the session store is unavailable");
	if (r != 0 || (r = csrf_prepare(req, app->keys, CERT_PURPOSE, NULL, csrf)) != 0)
		return r;
	return http_respond_json(req, 200, json_pack("{s:s, s:i, s:s}", "challenge", ch,
	    "expires_in", LOGIN_CERT_CHALLENGE_TTL, "csrf", csrf));
}

/* login.failure (or another event) of this attempt, with the reason and what the
 * certificate said; more (consumed, may be NULL) holds further fields. */
static int
audit(struct cert_req *j, const char *event, const char *uid, const char *reason,
    const struct fed_x509_result *res, json_t *more)
{
	json_t *f = more != NULL ? more : json_object();
	char hex[65];
	int r;

	json_object_set_new(f, "method", json_string("cert"));
	json_object_set_new(f, "flow", json_string(j->tls ? "proxy_tls" : "challenge"));
	json_object_set_new(f, "ip", json_string(j->ri.ip));
	if (reason != NULL)
		json_object_set_new(f, "reason", json_string(reason));
	if (res != NULL && res->ca != NULL) {
		json_object_set_new(f, "ca", json_string(res->ca->name));
		json_object_set_new(f, "revocation", json_string(res->why == FED_X509_REVOKED ?
		    "revoked" : fed_x509_rev_decision_str(fed_x509_rev_decide(res->ca,
		    res->rev_good))));
		if (res->rev_source[0] != '\0')
			json_object_set_new(f, "revocation_source", json_string(res->rev_source));
		if (res->rev_why[0] != '\0')
			json_object_set_new(f, "revocation_detail", json_string(res->rev_why));
	}
	if (res != NULL && res->path != NULL) {
		yh_hex_encode(res->key_sha256, sizeof(res->key_sha256), hex);
		json_object_set_new(f, "key_sha256", json_string(hex));
		json_object_set_new(f, "source", json_string(res->source));
	}
	r = login_audit(j->app, event, uid, f);
	json_decref(f);
	return r;
}

/* Refuses the attempt: audited, counted, the form with alert. */
static int
refuse(struct cert_req *j, unsigned status, enum page_msg alert, const char *reason,
    const struct fed_x509_result *res)
{
	int r;

	if ((r = audit(j, "login.failure", NULL, reason, res, NULL)) != 0)
		return r;
	login_metric(j->app, "cert", "failure");
	return respond(j, status, alert);
}

/* The challenge taken from the store, once: 0, or the refusal answered (*done). */
static int
take_challenge(struct cert_req *j, bool *done)
{
	char code[CERT_CODE_LEN + 1], bind[CSRF_TOKEN_SIZE + 8];
	char *payload = NULL;
	int r;

	*done = true;
	if (strlen(j->challenge) != CERT_CHALLENGE_LEN || !csrf_cookie_ok(j->browser))
		return refuse(j, 400, PAGE_MSG_CERT_CHALLENGE_UNKNOWN, "challenge_unknown", NULL);
	memcpy(code, j->challenge, CERT_CODE_LEN);
	code[CERT_CODE_LEN] = '\0';
	bind_of(j->browser, bind, sizeof(bind));
	r = sess_otc_take(j->app->sess, code, bind, &payload);
	if (r == 0 && (payload == NULL || strlen(payload) != CERT_CHALLENGE_LEN ||
	    CRYPTO_memcmp(payload, j->challenge, CERT_CHALLENGE_LEN) != 0))
		r = YH_ERR_NOT_FOUND;
	free(payload);
	if (r == YH_ERR_REPLAY)
		return refuse(j, 400, PAGE_MSG_CERT_CHALLENGE_REPLAYED, "challenge_replayed", NULL);
	if (r == YH_ERR_NOT_FOUND)
		return refuse(j, 400, PAGE_MSG_CERT_CHALLENGE_UNKNOWN, "challenge_unknown", NULL);
	*done = r != 0;
	return r;
}

static enum page_msg
alert_of(enum fed_x509_why w)
{
	switch (w) {
	case FED_X509_UNKNOWN_CA: return PAGE_MSG_CERT_UNKNOWN_CA;
	case FED_X509_EXPIRED: return PAGE_MSG_CERT_EXPIRED;
	case FED_X509_KEY_USAGE: return PAGE_MSG_CERT_KEY_USAGE;
	case FED_X509_BAD_INPUT: return PAGE_MSG_CERT_BAD_INPUT;
	case FED_X509_REVOKED: return PAGE_MSG_CERT_REVOKED;
	default: return PAGE_MSG_CERT_REFUSED;
	}
}

/*
 * The uid res's identity names into uid: the person of its ID number, or for an
 * enterprise certificate the organization of its credit code or organization code (the
 * session is then the organization's own: apps see it acting for the organization).
 * 0, YH_ERR_NOT_FOUND (nobody; a registration number names no directory entry),
 * YH_ERR_DENIED (not active), or the directory's error.
 */
static int
holder_of(struct dir *dir, const struct fed_x509_result *res, char uid[DIR_UID_LEN + 1])
{
	struct dir_person p;
	struct dir_org o;
	bool active = false;
	int r;

	memset(&p, 0, sizeof(p));
	memset(&o, 0, sizeof(o));
	if (res->kind == FED_X509_PERSON) {
		if ((r = dir_person_find_id_number(dir, res->value, &p)) == 0) {
			active = p.status == DIR_STATUS_ACTIVE;
			memcpy(uid, p.uid, DIR_UID_LEN + 1);
		}
	} else if (res->field == FED_X509_CREDIT_CODE || res->field == FED_X509_ORG_CODE) {
		r = res->field == FED_X509_CREDIT_CODE ?
		    dir_org_find_uscc(dir, res->value, &o) :
		    dir_org_find_org_code(dir, res->value, &o);
		/* Apps name an organization by its credit code: one without is not offered. */
		if (r == 0) {
			active = o.status == DIR_STATUS_ACTIVE && o.uscc != NULL;
			memcpy(uid, o.uid, DIR_UID_LEN + 1);
		}
	} else {
		r = YH_ERR_NOT_FOUND;
	}
	if (r == 0 && !active)
		r = YH_ERR_DENIED;
	dir_person_clear(&p);
	dir_org_clear(&o);
	return r;
}

/* Whether b (one of a person's bindings) is the certificate of want: -1 another
 * certificate, 0 the same with the same key, 1 the same with another key. */
static int
binding_match(const struct dir_cert_binding *l, size_t n, const struct dir_cert_binding *want)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(l[i].id, want->id) == 0)
			return strcmp(l[i].key_sha256, want->key_sha256) == 0 ? 0 : 1;
	return -1;
}

/* The binding of want in uid's list: as binding_match, or the directory's error. */
static int
binding_find(struct dir *dir, const struct dir_cert_binding *want, int *match)
{
	struct dir_cert_binding *l = NULL;
	size_t n = 0;
	int r;

	if ((r = dir_cert_list(dir, want->uid, &l, &n)) == 0)
		*match = binding_match(l, n, want);
	free(l);
	return r;
}

/*
 * Binds the certificate of res to the person uid on its first login (issuer, serial and
 * the key's SHA-256; dir_cert_bind). A certificate bound to another person, or its
 * issuer and serial bound with another key, is refused (answered, *done). *how says what
 * happened, for the audit line: "new", "known", "not_bindable" (a serial or issuer that
 * cannot be recorded) or "limit" (the person holds DIR_CERT_BINDINGS_MAX).
 */
static int
binding_check(struct cert_req *j, const char *uid, const struct fed_x509_result *res,
    const char **how, bool *done)
{
	struct dir_cert_binding b;
	int match = -1, r;

	*done = false;
	*how = "known";
	memset(&b, 0, sizeof(b));
	r = fed_x509_cert_names(sk_X509_value(res->path, 0), b.id, b.issuer, sizeof(b.issuer),
	    b.serial, sizeof(b.serial));
	if (r == YH_ERR_TOO_LONG || r == YH_ERR_INVALID) {
		yh_warn("certificate login: the certificate cannot be bound (issuer or serial)");
		*how = "not_bindable";
		return 0;
	}
	if (r != 0)
		return r;
	yh_hex_encode(res->key_sha256, sizeof(res->key_sha256), b.key_sha256);
	memcpy(b.uid, uid, sizeof(b.uid));
	if ((r = binding_find(j->app->dir, &b, &match)) != 0)
		return r;
	if (match < 0) {
		r = dir_cert_bind(j->app->dir, &b);
		if (r == 0)
			*how = "new";
		else if (r == YH_ERR_LIMIT)
			*how = "limit";
		else if (r == YH_ERR_EXISTS && (r = binding_find(j->app->dir, &b, &match)) == 0 &&
		    match < 0)
			match = 2;   /* bound to someone else */
		if (r != 0 && r != YH_ERR_LIMIT)
			return r;
	}
	if (match == 1 || match == 2) {
		*done = true;
		return refuse(j, 403, match == 1 ? PAGE_MSG_CERT_KEY_CHANGED :
		    PAGE_MSG_CERT_BOUND_ELSEWHERE, match == 1 ? "certificate_key_changed" :
		    "certificate_bound_elsewhere", res);
	}
	return 0;
}

/*
 * cert.auto_register: makes the person of res (a person certificate whose ID number
 * names nobody) with the name the CA's profile finds, origin DIR_ORIGIN_CERT and LoA 4
 * by "ca", counted as a registration from the client's address (login_reg_count_address)
 * and audited as "register". dir_person_add is durable when it returns. A concurrent
 * first login of the same ID number that made the person first (YH_ERR_EXISTS on the
 * ID index) turns this one into a lookup. uid gets the person; *created whether this
 * call made them; a refusal is answered (*done).
 */
static int
register_holder(struct cert_req *j, const struct fed_x509_result *res,
    char uid[DIR_UID_LEN + 1], bool *created, bool *done)
{
	char key[FED_X509_HOLDER_NAME_MAX * 2], by[FED_X509_NAME_MAX + 8];
	char evidence[DIR_EVIDENCE_MAX], issuer[512], serial[128], id[FED_X509_HEX_LEN + 1];
	struct dir_person n;
	int r;

	*created = false;
	*done = true;
	if (res->name[0] == '\0' || mk_name_key(res->name, strlen(res->name), key,
	    sizeof(key)) != 0)
		return refuse(j, 403, PAGE_MSG_CERT_NO_NAME, "no_name", res);
	r = login_reg_count_address(j->app, j->ri.ip);
	if (r == YH_ERR_LIMIT)
		return refuse(j, 429, PAGE_MSG_REG_TOO_MANY, "rate_limited", res);
	if (r != 0)
		return r;
	if (fed_x509_cert_names(sk_X509_value(res->path, 0), id, issuer, sizeof(issuer),
	    serial, sizeof(serial)) != 0)
		snprintf(serial, sizeof(serial), "?");
	snprintf(evidence, sizeof(evidence), "certificate serial %s", serial);
	snprintf(by, sizeof(by), "cert:%s", res->ca->name);
	memset(&n, 0, sizeof(n));
	n.id_number = (char *)res->value;
	n.name = (char *)res->name;
	n.origin = (char *)DIR_ORIGIN_CERT;
	n.loa = (struct dir_loa){ .level = 4, .method = (char *)"ca", .by = by,
	    .evidence = evidence, .at = yh_now() };
	r = dir_person_add(j->app->dir, &n, uid);
	if (r == YH_ERR_EXISTS) {
		/* Made meanwhile by another login of this certificate (or taken by a
		 * deregistered person): as any login of a known ID number. */
		r = holder_of(j->app->dir, res, uid);
		if (r == YH_ERR_NOT_FOUND || r == YH_ERR_DENIED)
			return refuse(j, 403, PAGE_MSG_CERT_NO_ACCOUNT, r == YH_ERR_DENIED ?
			    "account_inactive" : "no_account", res);
		*done = r != 0;
		return r;
	}
	if (r != 0)
		return r;
	*created = true;
	if ((r = audit(j, "register", uid, NULL, res, json_pack("{s:s, s:i, s:s}", "result",
	    "created", "loa", 4, "origin", DIR_ORIGIN_CERT))) != 0)
		return r;
	*done = false;
	return 0;
}

/* The holder of res (a person, or an organization) logs in. */
static int
succeed(struct cert_req *j, const struct fed_x509_result *res)
{
	static const char *const amr[] = { "hwk", "x509" };
	char token[SESS_TOKEN_SIZE] = "", uid[DIR_UID_LEN + 1] = "";
	const char *how = "none";
	struct sess_info info;
	bool done = false, created = false;
	int r;

	r = holder_of(j->app->dir, res, uid);
	if (r == YH_ERR_NOT_FOUND && res->kind == FED_X509_PERSON &&
	    j->app->cfg->cert_auto_register &&
	    ((r = register_holder(j, res, uid, &created, &done)) != 0 || done))
		goto out;
	if (r == YH_ERR_NOT_FOUND || r == YH_ERR_DENIED) {
		r = refuse(j, 403, PAGE_MSG_CERT_NO_ACCOUNT, r == YH_ERR_DENIED ?
		    "account_inactive" : "no_account", res);
		goto out;
	}
	/* A person's certificate is bound to them on first use. */
	if (r != 0 || (res->kind == FED_X509_PERSON &&
	    ((r = binding_check(j, uid, res, &how, &done)) != 0 || done)))
		goto out;
	if ((r = login_open_session_amr(j->app, &j->ri, uid, 4, amr, 2, token, &info)) != 0)
		goto out;
	if ((r = audit(j, "login.success", uid, NULL, res, json_pack("{s:s, s:i, s:s, s:s, s:b}",
	    "sid", info.sid, "loa", info.loa, "holder", res->kind == FED_X509_PERSON ?
	    "person" : "organization", "binding", how, "registered", created))) != 0) {
		/* Not on the record: the login does not happen. */
		if (sess_end_token(j->app->sess, token, SESS_END_ADMIN, NULL) != 0)
			yh_warn("cannot end the unaudited session");
		goto out;
	}
	login_metric(j->app, "cert", "success");
	r = login_complete(j->req, j->ri.https, j->next, token, false);
out:
	yh_wipe(token, sizeof(token));
	return r;
}

static int
cert_attempt(struct cert_req *j)
{
	const struct fed_x509_trust *trust = j->app->cfg->cert_trust;
	struct fed_x509_result res;
	STACK_OF(X509) *chain = NULL;
	unsigned char sig[1024];
	size_t siglen = 0;
	X509 *leaf = NULL;
	bool done;
	int r;

	memset(&res, 0, sizeof(res));
	if (trust == NULL)
		return respond(j, 503, PAGE_MSG_CERT_UNAVAILABLE);
	if (!j->tls && ((r = take_challenge(j, &done)) != 0 || done))
		return r;
	if (fed_x509_parse_cert(j->cert, strlen(j->cert), &leaf) != 0 ||
	    (j->chain[0] != '\0' &&
	    fed_x509_parse_chain(j->chain, strlen(j->chain), &chain) != 0) ||
	    (!j->tls && yh_b64_decode(j->sig, strlen(j->sig), sig, sizeof(sig), &siglen) != 0)) {
		r = refuse(j, 400, PAGE_MSG_CERT_BAD_INPUT, "bad_input", NULL);
		goto out;
	}
	/* The proxy's TLS handshake proved the key; the chain and revocation are checked
	 * here again all the same. */
	r = j->tls ? 0 : fed_x509_proof_verify(leaf, (const unsigned char *)j->challenge,
	    strlen(j->challenge), sig, siglen);
	if (r == YH_ERR_AUTH || r == YH_ERR_UNSUPPORTED || r == YH_ERR_TOO_LONG) {
		r = refuse(j, 403, PAGE_MSG_CERT_BAD_SIGNATURE, "bad_signature", NULL);
		goto out;
	}
	if (r != 0 || (r = fed_x509_verify(trust, leaf, chain, time(NULL), &res)) != 0)
		goto out;
	if (res.why == FED_X509_REVOKED && res.revoked_depth > 0)
		r = refuse(j, 403, PAGE_MSG_CERT_ISSUER_REVOKED, "issuer_revoked", &res);
	else if (res.why != FED_X509_OK)
		r = refuse(j, 403, alert_of(res.why), fed_x509_why_str(res.why), &res);
	else if (fed_x509_rev_decide(res.ca, res.rev_good) == FED_X509_REV_REFUSED)
		r = refuse(j, 403, PAGE_MSG_CERT_REVOCATION_UNKNOWN, "revocation_unknown", &res);
	else
		r = succeed(j, &res);
out:
	fed_x509_result_clear(&res);
	sk_X509_pop_free(chain, X509_free);
	X509_free(leaf);
	return r;
}

static int
cert_req_run(void *arg)
{
	return cert_attempt(arg);
}

static void
cert_req_drop(void *arg)
{
	cert_req_free(arg);
}

/* Copies the form; *bad when a field is missing or too long. */
static int
cert_req_new(struct http_req *req, struct authd_app *app, struct cert_req **out, bool *bad)
{
	static const char *const names[] = { CSRF_FIELD, "next", "challenge", "cert", "chain",
		"signature" };
	static const size_t max[] = { CSRF_TOKEN_SIZE, LOGIN_NEXT_MAX, CERT_CHALLENGE_LEN + 1,
		CERT_FIELD_MAX, CERT_CHAIN_FIELD_MAX, CERT_SIG_FIELD_MAX };
	struct cert_req *j = calloc(1, sizeof(*j));
	const char *browser = page_cookie(req, CSRF_COOKIE);
	char *v[6] = { NULL, NULL, NULL, NULL, NULL, NULL };
	int rr[6];

	*out = NULL;
	if (j == NULL)
		return YH_ERR_ALLOC;
	for (int i = 0; i < 6; i++)
		rr[i] = http_req_form(req, names[i], max[i], &v[i]);
	j->app = app;
	j->req = req;
	login_req_info_get(req, &j->ri);
	snprintf(j->csrf, sizeof(j->csrf), "%s", rr[0] == 0 ? v[0] : "");
	snprintf(j->next, sizeof(j->next), "%s", login_next_pick(rr[1] == 0 ? v[1] : NULL));
	snprintf(j->challenge, sizeof(j->challenge), "%s", rr[2] == 0 ? v[2] : "");
	snprintf(j->browser, sizeof(j->browser), "%s", browser != NULL ? browser : "");
	j->cert = strdup(rr[3] == 0 ? v[3] : "");
	j->chain = strdup(rr[4] == 0 ? v[4] : "");
	j->sig = strdup(rr[5] == 0 ? v[5] : "");
	*bad = rr[2] != 0 || rr[3] != 0 || rr[5] != 0 || (rr[4] != 0 && rr[4] !=
	    YH_ERR_NOT_FOUND);
	for (int i = 0; i < 6; i++)
		free(v[i]);
	*out = j;
	if (j->cert == NULL || j->chain == NULL || j->sig == NULL) {
		cert_req_free(j);
		*out = NULL;
		return YH_ERR_ALLOC;
	}
	return 0;
}

/* A certificate form's POST: its CSRF token checked (a rejection answered, *j NULL),
 * then its fields copied (cert_req_new). */
static int
cert_form(struct http_req *req, struct authd_app *app, struct cert_req **j, bool *bad)
{
	int r;

	*j = NULL;
	if ((r = csrf_verify(req, app->keys, CERT_PURPOSE, NULL)) != 0)
		return r == YH_ERR_DENIED ? csrf_respond_rejected(req) : r;
	return cert_req_new(req, app, j, bad);
}

/* The number of PEM certificates in a proxy's header (0 when it holds none that read). */
static int
proxy_certs(const char *pem)
{
	STACK_OF(X509) *sk = NULL;
	int n = 0;

	if (fed_x509_parse_chain(pem, strlen(pem), &sk) == 0)
		n = sk_X509_num(sk);
	sk_X509_pop_free(sk, X509_free);
	return n;
}

/*
 * POST /login/cert/tls: the client certificate a TLS-terminating proxy forwarded in
 * cert.proxy_header (URL-encoded PEM), believed only from http.trusted_proxies and
 * verified here as any certificate (chain, usage, revocation, identity). The header
 * twice, or two certificates in it, is refused (bad input).
 */
int
login_cert_tls_post(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	const char *hdr = app->cfg->cert_proxy_header;
	struct cert_req *j = NULL;
	char *pem = NULL;
	bool bad;
	int r;

	if ((r = cert_form(req, app, &j, &bad)) != 0 || j == NULL)
		return r;
	j->tls = true;
	if (hdr == NULL || hdr[0] == '\0') {
		r = respond(j, 404, PAGE_MSG_CERT_UNAVAILABLE);
		goto out;
	}
	if (!http_req_via_trusted_proxy(req)) {
		r = refuse(j, 403, PAGE_MSG_CERT_PROXY_UNTRUSTED, "proxy_untrusted", NULL);
		goto out;
	}
	r = http_req_header_unescaped(req, hdr, CERT_FIELD_MAX, &pem);
	if (r == YH_ERR_NOT_FOUND) {
		r = refuse(j, 400, PAGE_MSG_CERT_NO_CLIENT_CERT, "no_client_certificate", NULL);
		goto out;
	}
	if (r == YH_ERR_INVALID || r == YH_ERR_TOO_LONG || r == YH_ERR_CONFLICT) {
		r = refuse(j, 400, PAGE_MSG_CERT_BAD_INPUT, r == YH_ERR_CONFLICT ?
		    "proxy_header_repeated" : "bad_input", NULL);
		goto out;
	}
	if (r != 0)
		goto out;
	if (proxy_certs(pem) > 1) {
		/* the proxy's handshake proved one key: which certificate would be meant? */
		free(pem);
		r = refuse(j, 400, PAGE_MSG_CERT_BAD_INPUT, "bad_input", NULL);
		goto out;
	}
	free(j->cert);
	j->cert = pem;
	j->chain[0] = '\0';
	return login_job_start(req, app, LOGIN_CERT_TLS_PATH, "certificate login",
	    cert_req_run, cert_req_drop, j);
out:
	cert_req_free(j);
	return r;
}

int
login_cert_post(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct cert_req *j = NULL;
	bool bad;
	int r;

	if ((r = cert_form(req, app, &j, &bad)) != 0 || j == NULL)
		return r;
	if (bad) {
		r = respond(j, 400, PAGE_MSG_CERT_BAD_INPUT);
		cert_req_free(j);
		return r;
	}
	return login_job_start(req, app, LOGIN_CERT_PATH, "certificate login", cert_req_run,
	    cert_req_drop, j);
}
