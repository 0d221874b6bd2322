/*
 * libFuzzer target for the OpenID Connect request-parameter parsers of authd:
 * scopes (clients_scope_parse, oidc_scope_grant, oidc_scope_narrow), acr and
 * acr_values, grant types, the HTTP Basic client-credential header (base64 of
 * form-urlencoded id:secret), the PKCE verifier check, redirect-URI matching and the
 * registration rules for URIs, the error-redirect builder, the grant record parser (and
 * the device flow's and QR login's records and the user code, with it), the
 * sealed user reference, and the whole /authorize decision (oidc_az_params_parse +
 * oidc_az_decide), and pushed requests (oidc_az_check, oidc_par_store and /authorize by
 * request_uri deciding as by value) against an app with a memory session store, a client registry and a
 * directory in a temporary state directory made at start (and removed once they are
 * open: the directory is only read afterwards).
 *
 * The Basic header parser and the PKCE check are static functions of
 * authd/oidc/client_auth.c and authd/oidc/token.c: those two files are compiled into
 * this target (their archive members are then not linked), with http_req_header
 * renamed so that the Basic parser reads the fuzzed header.
 *
 * Input: byte 0 picks the parser (modulo FUZZ_MODES); for /authorize byte 1 picks the
 * session cookie, the consent answer and the time; the rest is the parameter text.
 */
#define _GNU_SOURCE
#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "authd/keyd/keys.h"
#include "authd/http/http.h"

/* The Basic parser reads its header through this stub. */
const char *fuzz_req_header(struct http_req *req, const char *name);
#define http_req_header fuzz_req_header
#include "authd/oidc/client_auth.c"
#include "authd/oidc/token.c"
#undef http_req_header

#include "authcore/clients/clients.h"
#include "authd/oidc/consent.h"
#include "authd/oidc/device.h"
#include "authd/login/qr.h"
#include "authd/login/login.h"
#include "authd/oidc/oidc.h"
#include "authd/oidc/authorize.h"
#include "authd/app.h"
#include "authd/session/sess.h"
#include "common/b64.h"
#include "common/buf.h"
#include "common/url.h"
#include "common/config.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "identity/dir/dir.h"
#include "identity/identity.h"
#include "identity/idn/idnum.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

#define ISS "https://id.example.gov.cn"
#define RP "https://rp.example.gov.cn/cb"
#define RPQ "https://rp.example.gov.cn/cb2?tenant=7"
#define NATIVE "com.example.app:/cb"
#define BROWSER "QnJvd3Nlci1BLXByZS1zZXNzaW9uLWNvb2tpZS0wMDE"   /* a yh_csrf cookie */
#define INPUT_MAX 20000
#define SCOPE_ALL ((CLIENTS_SCOPE_LAST << 1) - 1u)   /* every scope bit the registry knows */

enum fuzz_mode {
	M_SCOPE = 0, M_GRANT_SCOPE, M_ACR, M_GRANT_TYPE, M_BASIC, M_PKCE, M_REDIRECT,
	M_URI_CHECK, M_ERROR_LOCATION, M_GRANT_JSON, M_UREF, M_AUTHORIZE, M_PAR,
	FUZZ_MODES
};

/* ---- the app for /authorize ------------------------------------------------------------ */

static struct {
	char root[64];
	struct ident_cfg icfg;
	struct ident *ident;
	struct sess_store *sess;
	struct clients_registry *clients;
	struct clients_snap *snap;
	struct authd_app app;
	char tok[3][SESS_TOKEN_SIZE];     /* LoA 1 pwd; LoA 2 pwd (TOTP enrolled); LoA 2 pwd+otp */
	int64_t now;
	bool consent;
} fx;

static const char *basic_header;

const char *
fuzz_req_header(struct http_req *req, const char *name)
{
	(void)req;
	return strcasecmp(name, "Authorization") == 0 ? basic_header : NULL;
}

/* What consent.c would answer (it is not linked: oidc_authorize.c refers to it weakly). */
int
consent_granted(struct authd_app *app, const char *uid, const char *client_id,
    const char *scope, bool *granted)
{
	(void)app;
	(void)uid;
	(void)client_id;
	(void)scope;
	*granted = fx.consent;
	return 0;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
cleanup(void)
{
	clients_release(fx.snap);
	sess_close(fx.sess);
	clients_close(fx.clients);
	ident_close(fx.ident);
	ident_cfg_free(&fx.icfg);
	if (fx.root[0] != '\0')
		(void)nftw(fx.root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
add_person(int n, int loa, bool totp, char uid[DIR_UID_LEN + 1])
{
	static const unsigned char seed[20] = "12345678901234567890";
	struct dir_person p;
	char id[19], name[] = "测试用户";

	snprintf(id, sizeof(id), "11010119900101%03d", n);
	id[17] = idn_resident_check_char(id);
	id[18] = '\0';
	memset(&p, 0, sizeof(p));
	p.id_number = id;
	p.name = name;
	CHECK(dir_person_add(fx.ident->dir, &p, uid) == 0);
	if (loa > 1) {
		struct dir_loa v = { .level = loa, .method = (char *)"registry" };

		CHECK(dir_person_set_loa(fx.ident->dir, uid, &v, 0, NULL) == 0);
	}
	if (totp)
		CHECK(dir_totp_set(fx.ident->dir, uid, seed, sizeof(seed), true) == 0);
}

static void
add_client(const char *id, enum clients_auth auth, int min_loa, unsigned scopes,
    bool allow_id)
{
	struct clients_client c;
	const char *uris[2] = { RP, RPQ };
	const char *nat[1] = { NATIVE };
	char err[512];

	clients_client_init(&c);
	CHECK(yh_strlcpy(c.id, id, sizeof(c.id)) == 0);
	c.auth = auth;
	c.require_pkce = auth == CLIENTS_AUTH_NONE;
	c.redirect_uris = auth == CLIENTS_AUTH_NONE ? nat : uris;
	c.n_redirect_uris = auth == CLIENTS_AUTH_NONE ? 1 : 2;
	c.min_loa = min_loa;
	c.scopes = scopes;
	c.allow_id_number = allow_id;
	if (clients_add(fx.clients, &c, auth == CLIENTS_AUTH_SECRET ?
	    "a long enough client secret for the oidc fuzz target" : NULL, err,
	    sizeof(err)) != 0)
		abort();
}

static void
login_as(const char *uid, int loa, bool otp, char token[SESS_TOKEN_SIZE])
{
	const char *amr[2] = { "pwd", "otp" };
	struct sess_auth a = { .uid = uid, .loa = loa, .amr = amr, .namr = otp ? 2 : 1,
	    .auth_time = fx.now - 100 };

	CHECK(sess_create(fx.sess, &a, token, NULL) == 0);
}

/* The registry's clock, frozen: its state file is removed once everything is open (below),
 * and a registry that looked again would find no file and reload itself empty. */
static int64_t
frozen_mono_ms(void)
{
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct yh_cfg_err cerr;
	struct clients_opts co = { .check_interval_ms = 1000000, .mono_ms = frozen_mono_ms };
	struct sess_config sc;
	char err[512], path[128], uid[3][DIR_UID_LEN + 1];

	(void)argc;
	(void)argv;
	yh_log_set_level(YH_LOG_OFF);
	snprintf(fx.root, sizeof(fx.root), "/tmp/yh_fuzz_oidc_XXXXXX");
	CHECK(mkdtemp(fx.root) != NULL);
	atexit(cleanup);
	snprintf(path, sizeof(path), "%s/state", fx.root);
	CHECK(ident_cfg_init(&fx.icfg, &cerr) == 0);
	CHECK(yh_cfg_set(ident_cfg_opts, &fx.icfg, "state_dir", path, "fuzz", &cerr) == 0);
	CHECK(ident_cfg_finish(&fx.icfg, err, sizeof(err)) == 0);
	CHECK(ident_open(&fx.icfg, true, &fx.ident, err, sizeof(err)) == 0);
	CHECK(clients_open(path, &co, &fx.clients, err, sizeof(err)) == 0);
	sess_config_defaults(&sc);
	sc.sweep_interval_ms = 0;
	CHECK(sess_open(&sc, &fx.sess) == 0);
	fx.app.dir = fx.ident->dir;
	fx.app.ident = fx.ident;
	fx.app.sess = fx.sess;
	fx.app.clients = fx.clients;
	fx.app.issuer = ISS;
	{
		unsigned char sk[KEYS_KEY_LEN];

		memset(sk, 0x42, sizeof(sk));
		CHECK(keys_local_new(sk, NULL, &fx.app.keys) == 0);
	}
	fx.now = yh_now();
	add_person(1, 1, false, uid[0]);
	add_person(2, 2, true, uid[1]);
	add_person(3, 3, false, uid[2]);
	add_client("web", CLIENTS_AUTH_SECRET, 1, CLIENTS_SCOPE_OPENID | CLIENTS_SCOPE_PROFILE |
	    CLIENTS_SCOPE_PHONE | CLIENTS_SCOPE_OFFLINE_ACCESS, false);
	add_client("strict", CLIENTS_AUTH_SECRET, 3, CLIENTS_SCOPE_OPENID |
	    CLIENTS_SCOPE_ID_NUMBER, true);
	add_client("mobile", CLIENTS_AUTH_NONE, 1, CLIENTS_SCOPE_OPENID, false);
	add_client("noopenid", CLIENTS_AUTH_SECRET, 1, CLIENTS_SCOPE_PROFILE, false);
	fx.snap = clients_acquire(fx.clients);
	CHECK(clients_count(fx.snap) == 4);
	login_as(uid[0], 1, false, fx.tok[0]);
	login_as(uid[1], 2, false, fx.tok[1]);
	login_as(uid[1], 3, true, fx.tok[2]);
	/* Everything is open (the directory is only read from now on): the state directory
	 * can go now, so that a run that crashes (libFuzzer then skips atexit) leaves
	 * nothing behind. */
	(void)nftw(fx.root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	fx.root[0] = '\0';
	return 0;
}

/* ---- checks ------------------------------------------------------------------------- */

/* Only bytes a Location header may carry as they are. */
static bool
url_clean(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f || *s == '#')
			return false;
	return true;
}

/* The decoded query parameter name of url (NULL when absent). */
static char *
url_param(const char *url, const char *name)
{
	const char *q = strchr(url, '?');
	char *v = NULL;

	if (q == NULL || http_form_get(yh_span_cstr(q + 1), name, 1 << 16, &v) != 0)
		return NULL;
	return v;
}

static void
fuzz_scope(const char *s)
{
	unsigned bits = 0, unknown = 0, bits2 = 0;
	char text[128];
	int r = clients_scope_parse(s, &bits, &unknown);

	if (r != 0) {
		CHECK(r == YH_ERR_INVALID || r == YH_ERR_TOO_LONG);
		CHECK(clients_scope_parse(s, &bits2, NULL) != 0);
		return;
	}
	CHECK((bits & ~SCOPE_ALL) == 0 && strlen(s) <= OIDC_SCOPE_MAX);
	/* strict parsing accepts exactly the lists with no unknown name */
	CHECK((clients_scope_parse(s, &bits2, NULL) == 0) == (unknown == 0));
	CHECK(clients_scope_format(bits, text, sizeof(text)) == 0);
	CHECK(clients_scope_parse(text, &bits2, NULL) == 0 && bits2 == bits);
}

static void
fuzz_grant_scope(unsigned sel, const char *s)
{
	const struct clients_client *c = clients_at(fx.snap, sel % 4);
	unsigned granted = 0, narrow = 0, have = (sel >> 2) & SCOPE_ALL;
	int r = oidc_scope_grant(c, s, &granted);

	if (r == 0) {
		CHECK((granted & ~c->scopes) == 0);
		if (!c->allow_id_number)
			CHECK((granted & CLIENTS_SCOPE_ID_NUMBER) == 0);
	} else
		CHECK(r == YH_ERR_INVALID || r == YH_ERR_TOO_LONG);
	r = oidc_scope_narrow(have, s, &narrow);
	if (r == 0) {
		CHECK((narrow & ~have) == 0);
		if (s[0] == '\0')
			CHECK(narrow == have);
	} else
		CHECK(r == YH_ERR_DENIED || r == YH_ERR_INVALID || r == YH_ERR_TOO_LONG);
}

static void
fuzz_acr(const char *s)
{
	char acr[OIDC_ACR_SIZE];
	int loa = -1;

	if (oidc_acr_parse(s, &loa) == 0) {
		CHECK(loa >= 1 && loa <= 4);
		CHECK(oidc_acr_format(loa, acr) == 0 && strcmp(acr, s) == 0);
	}
	loa = -1;
	if (oidc_acr_values_min(s, &loa) == 0)
		CHECK(loa >= 0 && loa <= 4);
}

static void
fuzz_grant_type(const char *s)
{
	unsigned bit = 0;
	const char *name;

	if (clients_grant_parse(s, &bit) == 0) {
		CHECK(bit != 0 && (bit & (bit - 1)) == 0);
		CHECK((name = clients_grant_name(bit)) != NULL && strcmp(name, s) == 0);
	}
}

static void
fuzz_basic(const char *s)
{
	char *id = NULL, *secret = NULL;
	int r;

	basic_header = s;
	r = basic_parse(NULL, &id, &secret);
	basic_header = NULL;
	if (r == 0) {
		CHECK(id != NULL && secret != NULL);
		CHECK(strlen(id) + strlen(secret) < BASIC_MAX);
		CHECK(strncasecmp(s, "Basic ", 6) == 0);
	} else {
		CHECK(id == NULL && secret == NULL);
		CHECK(r == YH_ERR_NOT_FOUND || r == YH_ERR_INVALID);
	}
	free(id);
	yh_strfree_secret(secret);
}

/* RFC 7636: the input is a verifier; its S256 challenge, computed here, must be
 * accepted exactly when the verifier is 43..128 unreserved characters, and a challenge
 * for other bytes never. */
static void
fuzz_pkce(const char *s)
{
	unsigned char md[32];
	char chal[48];
	unsigned int ml = 0;
	size_t n = strlen(s);
	bool syntax = n >= 43 && n <= 128;

	for (size_t i = 0; syntax && i < n; i++)
		syntax = strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789-._~", s[i]) != NULL;
	CHECK(EVP_Digest(s, n, md, &ml, EVP_sha256(), NULL) == 1 && ml == 32);
	yh_b64url_encode(md, sizeof(md), chal);
	CHECK(pkce_ok(s, chal) == syntax);
	chal[0] = chal[0] == 'A' ? 'B' : 'A';
	CHECK(!pkce_ok(s, chal));
}

static void
fuzz_redirect(const char *s)
{
	for (size_t i = 0; i < clients_count(fx.snap); i++) {
		const struct clients_client *c = clients_at(fx.snap, i);
		bool want = false;

		for (size_t k = 0; k < c->n_redirect_uris; k++)
			want = want || strcmp(c->redirect_uris[k], s) == 0;
		CHECK(clients_redirect_ok(c, s) == want);
		want = false;
		for (size_t k = 0; k < c->n_post_logout_uris; k++)
			want = want || strcmp(c->post_logout_uris[k], s) == 0;
		CHECK(clients_post_logout_redirect_ok(c, s) == want);
	}
}

static void
fuzz_uri_check(unsigned sel, const char *s)
{
	const char *why = NULL;
	bool strict = sel & 1;
	int r = clients_uri_check(s, strict, &why);

	if (r != 0) {
		CHECK((r == YH_ERR_INVALID || r == YH_ERR_TOO_LONG) && why != NULL);
		return;
	}
	CHECK(strlen(s) <= CLIENTS_URI_MAX && url_clean(s));
	if (strncmp(s, "https://", 8) == 0)
		CHECK(s[8] != '\0' && s[8] != '/');
	else if (strncmp(s, "http://", 7) == 0) {
		/* the loopback host, and nothing more of a host name after it */
		size_t hl = strncmp(s + 7, "127.0.0.1", 9) == 0 ? 9 :
		    strncmp(s + 7, "[::1]", 5) == 0 ? 5 :
		    strncmp(s + 7, "localhost", 9) == 0 ? 9 : 0;

		CHECK(hl > 0 && strchr(":/?", s[7 + hl]) != NULL);
	} else {
		const char *colon = strchr(s, ':');

		CHECK(!strict);
		CHECK(colon != NULL && memchr(s, '.', (size_t)(colon - s)) != NULL);
	}
	/* whatever passed has no userinfo before the host */
	if (strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0) {
		const char *host = strstr(s, "://") + 3;
		size_t hl = strcspn(host, "/?");

		CHECK(memchr(host, '@', hl) == NULL);
	}
}

/* The fields are split on '\n': redirect_uri, error, description, state. */
static void
fuzz_error_location(char *s)
{
	char *f[4] = { NULL, NULL, NULL, NULL }, *p = s, *loc = NULL, *v;
	int r;

	for (int i = 0; i < 4 && p != NULL; i++) {
		f[i] = p;
		if ((p = strchr(p, '\n')) != NULL)
			*p++ = '\0';
	}
	if (f[1] == NULL)
		return;
	r = oidc_az_error_location(f[0], f[1], f[2], f[3], ISS, &loc);
	if (r != 0) {
		CHECK(loc == NULL && (r == YH_ERR_TOO_LONG || r == YH_ERR_INVALID));
		return;
	}
	CHECK(strncmp(loc, f[0], strlen(f[0])) == 0);
	if (url_clean(f[0]) && strchr(f[0], '?') == NULL) {
		CHECK(url_clean(loc));
		CHECK((v = url_param(loc, "error")) != NULL && strcmp(v, f[1]) == 0);
		free(v);
		if (f[3] != NULL) {
			CHECK((v = url_param(loc, "state")) != NULL && strcmp(v, f[3]) == 0);
			free(v);
		}
		CHECK((v = url_param(loc, "iss")) != NULL && strcmp(v, ISS) == 0);
		free(v);
	}
	free(loc);
}

static void
fuzz_grant_json(const char *s)
{
	struct oidc_grant g, g2;
	char *json = NULL;

	if (oidc_grant_parse(s, &g) != 0)
		return;
	CHECK(g.client_id != NULL && g.uid != NULL && g.loa >= 1 && g.loa <= 4);
	CHECK(g.namr <= SESS_AMR_MAX);
	/* what parsed serializes, and parses back to the same */
	if (oidc_grant_json(&g, &json) == 0) {
		CHECK(oidc_grant_parse(json, &g2) == 0);
		CHECK(strcmp(g2.client_id, g.client_id) == 0 && strcmp(g2.uid, g.uid) == 0 &&
		    g2.loa == g.loa && g2.auth_time == g.auth_time && g2.namr == g.namr &&
		    g2.offline == g.offline);
		oidc_grant_clear(&g2);
		free(json);
	}
	oidc_grant_clear(&g);
}

/* The device flow's and the QR login's records (the session store's payloads) and the
 * user code a person types: what parses serializes and parses back to the same; a
 * normalized user code is canonical. */
static void
fuzz_flow_records(const char *s)
{
	char code[OIDC_DEV_CODE_SIZE], again[OIDC_DEV_CODE_SIZE], *json = NULL;
	struct oidc_dev d, d2;
	struct login_qr q, q2;

	if (oidc_dev_user_code_norm(s, code) == 0) {
		CHECK(strlen(code) == OIDC_DEV_CODE_LEN + 1 && code[OIDC_DEV_CODE_LEN / 2] == '-');
		CHECK(oidc_dev_user_code_norm(code, again) == 0 && strcmp(code, again) == 0);
	}
	if (oidc_dev_parse(s, &d) == 0) {
		CHECK(d.interval >= 1 && (d.st == OIDC_DEV_APPROVED) == (d.grant != NULL));
		CHECK(oidc_dev_json(&d, &json) == 0 && oidc_dev_parse(json, &d2) == 0);
		CHECK(d2.st == d.st && d2.exp == d.exp && strcmp(d2.client_id, d.client_id) == 0);
		free(json);
		json = NULL;
		oidc_dev_clear(&d2);
		oidc_dev_clear(&d);
	}
	if (login_qr_parse(s, &q) == 0) {
		CHECK(strlen(q.bhash) == 64 && q.loa >= 0 && q.loa <= 4);
		CHECK(login_qr_json(&q, &json) == 0 && login_qr_parse(json, &q2) == 0);
		CHECK(q2.st == q.st && q2.exp == q.exp && strcmp(q2.uid, q.uid) == 0);
		free(json);
	}
}

static void
fuzz_uref(const char *s)
{
	char ref[OIDC_UREF_MAX], uid[128];

	if (oidc_uref_open(fx.app.keys, "web", s, uid, sizeof(uid)) == 0)
		CHECK(strlen(uid) < sizeof(uid));
	if (oidc_uref_seal(fx.app.keys, "web", s, ref) == 0) {
		CHECK(oidc_uref_open(fx.app.keys, "web", ref, uid, sizeof(uid)) == 0);
		CHECK(strcmp(uid, s) == 0);
		CHECK(oidc_uref_open(fx.app.keys, "mobile", ref, uid, sizeof(uid)) != 0);
	}
}

/* ---- /authorize ------------------------------------------------------------------------ */

static void
check_detour(const struct oidc_az_result *res, const char *page)
{
	char *next;

	CHECK(strncmp(res->location, page, strlen(page)) == 0 &&
	    res->location[strlen(page)] == '?');
	/* a detour always carries a next that the login pages will follow */
	CHECK((next = url_param(res->location, "next")) != NULL);
	CHECK(login_next_ok(next) && strncmp(next, "/authorize?", 11) == 0);
	free(next);
}

static void
check_redirect_uri(const struct oidc_az_params *p, const struct oidc_az_result *res)
{
	const char *uri = p->v[OIDC_AZ_REDIRECT_URI], *cid = p->v[OIDC_AZ_CLIENT_ID];
	const struct clients_client *c;
	size_t n;
	char *v;

	CHECK(uri != NULL && cid != NULL);
	CHECK((c = clients_find(fx.snap, cid)) != NULL && clients_redirect_ok(c, uri));
	n = strlen(uri);
	CHECK(strncmp(res->location, uri, n) == 0);
	CHECK(res->location[n] == (strchr(uri, '?') != NULL ? '&' : '?'));
	CHECK((v = url_param(res->location, "iss")) != NULL && strcmp(v, ISS) == 0);
	free(v);
	if (p->v[OIDC_AZ_STATE] != NULL) {
		CHECK((v = url_param(res->location, "state")) != NULL &&
		    strcmp(v, p->v[OIDC_AZ_STATE]) == 0);
		free(v);
	}
}

static void
fuzz_authorize(unsigned sel, const uint8_t *data, size_t size)
{
	static const char *const cookies[] = { NULL, "", "not-a-session-token" };
	static const int64_t shift[4] = { 0, 700, -3600, 100000 };
	static unsigned long runs;
	size_t swept = 0;
	struct oidc_az_params p;
	struct oidc_az_result res;
	const char *cookie;
	char *code = NULL, *payload = NULL;
	int r;

	cookie = (sel & 7) < 3 ? fx.tok[sel & 7] : cookies[(sel & 7) % 3];
	fx.consent = (sel & 8) == 0;
	if (++runs % 4096 == 0)
		CHECK(sess_sweep(fx.sess, &swept) == 0);   /* expired code records */
	CHECK(oidc_az_params_parse(yh_span_mem(data, size), &p) == 0);
	p.browser = BROWSER;   /* authorize_handler always has one (csrf_browser) */
	memset(&res, 0, sizeof(res));
	r = oidc_az_decide(&fx.app, &p, cookie, fx.now + shift[(sel >> 4) & 3], &res);
	CHECK(r == 0);
	switch (res.step) {
	case OIDC_AZ_STEP_PAGE:
		CHECK(res.status == 400 && res.location == NULL && res.error != NULL &&
		    res.msg != PAGE_MSG_NONE);
		break;
	case OIDC_AZ_STEP_ERROR:
		CHECK(res.status == 302 && res.error != NULL && url_clean(res.location));
		check_redirect_uri(&p, &res);
		CHECK((code = url_param(res.location, "code")) == NULL);
		break;
	case OIDC_AZ_STEP_CODE:
		CHECK(res.status == 302 && res.error == NULL && url_clean(res.location));
		check_redirect_uri(&p, &res);
		CHECK(cookie != NULL && cookie[0] != '\0' && (sel & 7) < 3);
		CHECK((code = url_param(res.location, "code")) != NULL);
		/* redeem it, so that codes do not pile up in the store */
		CHECK(sess_code_take(fx.sess, p.v[OIDC_AZ_CLIENT_ID], code, NULL, &payload,
		    NULL) == 0);
		free(payload);
		break;
	case OIDC_AZ_STEP_LOGIN:
		CHECK(res.status == 302 && url_clean(res.location));
		check_detour(&res, "/login");
		break;
	case OIDC_AZ_STEP_STEPUP:
		CHECK(res.status == 302 && url_clean(res.location));
		CHECK(res.loa >= 2 && res.loa <= 4 && (sel & 7) < 3);
		check_detour(&res, "/login/totp");
		break;
	case OIDC_AZ_STEP_CONSENT:
		CHECK(res.status == 302 && url_clean(res.location) && (sel & 7) < 3);
		check_detour(&res, "/consent");
		break;
	default:
		abort();
	}
	free(code);
	oidc_az_result_clear(&res);
	oidc_az_params_clear(&p);
}

/* "name=<value>" appended to b (pct-encoded, '&' first unless b is empty); v NULL: none. */
static void
query_add(struct yh_buf *b, const char *name, const char *v)
{
	if (v == NULL)
		return;
	CHECK((b->len == 0 || yh_buf_putc(b, '&') == 0) && yh_buf_puts(b, name) == 0 &&
	    yh_buf_putc(b, '=') == 0 && yh_url_pct_encode(b, v) == 0);
}

/* Decides p (a request parsed from text or built) with the cookie and time of sel. */
static enum oidc_az_step
decide(unsigned sel, const struct oidc_az_params *p, struct oidc_az_result *res,
    char **payload)
{
	char *code;

	*payload = NULL;
	fx.consent = (sel & 8) == 0;
	CHECK(oidc_az_decide(&fx.app, p, fx.tok[sel % 3], fx.now, res) == 0);
	if (res->step == OIDC_AZ_STEP_CODE) {
		CHECK((code = url_param(res->location, "code")) != NULL);
		CHECK(sess_code_take(fx.sess, p->v[OIDC_AZ_CLIENT_ID], code, NULL, payload,
		    NULL) == 0);
		free(code);
	}
	return res->step;
}

/*
 * A pushed request: what oidc_az_check passes is stored, and /authorize given only
 * client_id and the request_uri decides it as it decides the request by value (the same
 * step, the same error redirect, a code for the same grant); the request_uri is then
 * used up.
 */
static void
fuzz_par(unsigned sel, const uint8_t *data, size_t size)
{
	struct oidc_az_params p, q;
	struct oidc_az_result a, b;
	char uri[OIDC_PAR_URI_SIZE], *pa = NULL, *pb = NULL;
	const char *desc = NULL, *error;
	struct yh_buf qs;
	int r;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&q, 0, sizeof(q));
	yh_buf_init(&qs, 1 << 16);
	CHECK(oidc_az_params_parse(yh_span_mem(data, size), &p) == 0);
	if ((error = oidc_az_check(&fx.app, fx.snap, &p, &desc)) != NULL) {
		CHECK(desc != NULL);
		goto out;
	}
	CHECK(p.v[OIDC_AZ_CLIENT_ID] != NULL);
	if ((r = oidc_par_store(&fx.app, &p, 60, uri)) != 0) {
		CHECK(r == YH_ERR_TOO_LONG);
		goto out;
	}
	query_add(&qs, "client_id", p.v[OIDC_AZ_CLIENT_ID]);
	query_add(&qs, "request_uri", uri);
	query_add(&qs, "yh_reauth", p.v[OIDC_AZ_REAUTH]);
	query_add(&qs, "org", p.v[OIDC_AZ_ORG]);
	CHECK(oidc_az_params_parse(yh_span_mem(qs.data, qs.len), &q) == 0);
	p.browser = q.browser = BROWSER;
	decide(sel, &p, &a, &pa);
	decide(sel, &q, &b, &pb);
	CHECK(a.step == b.step);
	if (a.step == OIDC_AZ_STEP_ERROR)
		CHECK(strcmp(a.error, b.error) == 0 && strcmp(a.location, b.location) == 0);
	if (a.step == OIDC_AZ_STEP_CODE)
		CHECK(pa != NULL && pb != NULL && strcmp(pa, pb) == 0);
	oidc_az_result_clear(&b);
	free(pb);
	decide(sel, &q, &b, &pb);
	CHECK(b.step == OIDC_AZ_STEP_PAGE && strcmp(b.error, "invalid_request_uri") == 0);
out:
	free(pa);
	free(pb);
	yh_buf_free(&qs);
	oidc_az_result_clear(&a);
	oidc_az_result_clear(&b);
	oidc_az_params_clear(&p);
	oidc_az_params_clear(&q);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[INPUT_MAX + 1];
	enum fuzz_mode mode;
	unsigned sel;

	if (size < 2 || size - 2 > INPUT_MAX)
		return 0;
	mode = (enum fuzz_mode)(data[0] % FUZZ_MODES);
	sel = data[1];
	if (mode == M_AUTHORIZE) {
		fuzz_authorize(sel, data + 2, size - 2);
		return 0;
	}
	if (mode == M_PAR) {
		fuzz_par(sel, data + 2, size - 2);
		return 0;
	}
	memcpy(text, data + 2, size - 2);
	text[size - 2] = '\0';
	if (memchr(text, '\0', size - 2) != NULL)
		return 0;                  /* every other parser takes a C string */
	switch (mode) {
	case M_SCOPE: fuzz_scope(text); break;
	case M_GRANT_SCOPE: fuzz_grant_scope(sel, text); break;
	case M_ACR: fuzz_acr(text); break;
	case M_GRANT_TYPE: fuzz_grant_type(text); break;
	case M_BASIC: fuzz_basic(text); break;
	case M_PKCE: fuzz_pkce(text); break;
	case M_REDIRECT: fuzz_redirect(text); break;
	case M_URI_CHECK: fuzz_uri_check(sel, text); break;
	case M_ERROR_LOCATION: fuzz_error_location(text); break;
	case M_GRANT_JSON: fuzz_grant_json(text); fuzz_flow_records(text); break;
	case M_UREF: fuzz_uref(text); break;
	default: break;
	}
	return 0;
}
