/*
 * Unit tests for /authorize, /logout and discovery (authd/oidc/authorize.h), through
 * their decision functions: an app with a memory session store, a temporary key ring,
 * a client registry and a directory in a temporary state directory. Requests are query
 * strings parsed by oidc_az_params_parse, as the handler reads them.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "authcore/audit/audit.h"
#include "authcore/clients/clients.h"
#include "authd/ui/csrf.h"
#include "authd/oidc/consent.h"
#include "authd/http/http.h"
#include "authd/oidc/oidc.h"
#include "authd/oidc/authorize.h"
#include "authd/app.h"
#include "authd/keyd/keys.h"
#include "authd/session/sess.h"
#include "common/buf.h"
#include "common/config.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/url.h"
#include "identity/dir/dir.h"
#include "identity/identity.h"
#include "identity/idn/idnum.h"
#include "token/jwt.h"
#include "token/keyring.h"
#include "tests/unit/codes.h"

#define ISS "https://id.example.gov.cn"
#define RP "https://rp.example.gov.cn/cb"
#define RPQ "https://rp.example.gov.cn/cb2?tenant=7"
#define RP_LOGOUT "https://rp.example.gov.cn/bye"
#define NATIVE "com.example.app:/cb"
/* a valid S256 challenge (RFC 7636 appendix B) */
#define CHAL "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

/* The consent records seen by /authorize in these tests (consent.c is not linked). */
static bool consent_answer;
static int consent_calls;

int
consent_granted(struct authd_app *app, const char *uid, const char *client_id,
    const char *scope, bool *granted)
{
	(void)app;
	(void)uid;
	(void)client_id;
	(void)scope;
	consent_calls++;
	*granted = consent_answer;
	return 0;
}

struct fix {
	char root[64];
	struct ident_cfg icfg;
	struct ident *ident;
	struct tok_ring *ring;
	struct sess_store *sess;
	struct clients_registry *clients;
	struct yh_audit *audit;
	struct authd_app app;
	char uid1[DIR_UID_LEN + 1];     /* LoA 1, no TOTP */
	char uid2[DIR_UID_LEN + 1];     /* LoA 2, confirmed TOTP */
	char uid3[DIR_UID_LEN + 1];     /* disabled */
	char auditpath[96];
	int64_t now;
	const char *browser;            /* the browser's pre-session cookie (yh_csrf) */
};

/* Two browsers' pre-session cookies (43 base64url characters). */
#define BROWSER_A "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define BROWSER_B "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"

static void
make_id(int n, char out[19])
{
	snprintf(out, 19, "11010119900101%03d", n % 1000);
	out[17] = idn_resident_check_char(out);
	out[18] = '\0';
}

static void
add_person(struct fix *f, int n, int loa, char *uid)
{
	struct dir_person p;
	char id[19];
	char name[] = "测试用户";

	make_id(n, id);
	memset(&p, 0, sizeof(p));
	p.id_number = id;
	p.name = name;
	assert_int_equal(dir_person_add(f->ident->dir, &p, uid), 0);
	if (loa > 1) {
		struct dir_loa v = { .level = loa, .method = (char *)"registry" };

		assert_int_equal(dir_person_set_loa(f->ident->dir, uid, &v, 0, NULL), 0);
	}
}

static void
add_client(struct fix *f, const char *id, enum clients_auth auth, int min_loa,
    unsigned scopes)
{
	struct clients_client c;
	const char *uris[2] = { RP, RPQ };
	const char *nat[1] = { NATIVE };
	const char *lo[1] = { RP_LOGOUT };
	char err[256] = "";
	int r;

	clients_client_init(&c);
	assert_int_equal(yh_strlcpy(c.id, id, sizeof(c.id)), 0);
	c.auth = auth;
	c.require_pkce = auth == CLIENTS_AUTH_NONE;
	c.redirect_uris = auth == CLIENTS_AUTH_NONE ? nat : uris;
	c.n_redirect_uris = auth == CLIENTS_AUTH_NONE ? 1 : 2;
	c.post_logout_uris = lo;
	c.n_post_logout_uris = 1;
	c.min_loa = min_loa;
	c.scopes = scopes;
	r = clients_add(f->clients, &c, auth == CLIENTS_AUTH_SECRET ?
	    "a long enough client secret for the unit test of authorize" : NULL, err,
	    sizeof(err));
	if (r != 0)
		print_error("clients_add: %s\n", err);
	assert_int_equal(r, 0);
}

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct yh_cfg_err cerr;
	struct tok_ring_opts ro = { .create = true };
	struct clients_opts co = { .check_interval_ms = -1 };
	struct sess_config sc;
	char err[512], path[128];
	unsigned char seed[20] = "12345678901234567890";

	assert_non_null(f);
	yh_log_set_level(YH_LOG_ERROR);
	snprintf(f->root, sizeof(f->root), "/tmp/yh_authz_XXXXXX");
	assert_non_null(mkdtemp(f->root));
	assert_int_equal(ident_cfg_init(&f->icfg, &cerr), 0);
	snprintf(path, sizeof(path), "%s/state", f->root);
	assert_int_equal(yh_cfg_set(ident_cfg_opts, &f->icfg, "state_dir", path, "t", &cerr), 0);
	assert_int_equal(ident_cfg_finish(&f->icfg, err, sizeof(err)), 0);
	if (ident_open(&f->icfg, true, &f->ident, err, sizeof(err)) != 0)
		fail_msg("ident_open: %s", err);
	snprintf(path, sizeof(path), "%s/keys", f->root);
	assert_int_equal(tok_ring_open(path, &ro, &f->ring, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/state", f->root);
	assert_int_equal(clients_open(path, &co, &f->clients, err, sizeof(err)), 0);
	snprintf(f->auditpath, sizeof(f->auditpath), "%s/audit.log", f->root);
	assert_int_equal(yh_audit_open(f->auditpath, &f->audit, err, sizeof(err)), 0);
	sess_config_defaults(&sc);
	sc.sweep_interval_ms = 0;
	assert_int_equal(sess_open(&sc, &f->sess), 0);

	f->app.dir = f->ident->dir;
	f->app.ident = f->ident;
	f->app.ring = f->ring;
	f->app.sess = f->sess;
	f->app.clients = f->clients;
	f->app.audit = f->audit;
	f->app.issuer = ISS;
	{
		unsigned char sk[KEYS_KEY_LEN];

		memset(sk, 0x42, sizeof(sk));
		assert_int_equal(keys_local_new(sk, NULL, &f->app.keys), 0);
	}

	add_person(f, 1, 1, f->uid1);
	add_person(f, 2, 2, f->uid2);
	add_person(f, 3, 1, f->uid3);
	assert_int_equal(dir_totp_set(f->ident->dir, f->uid2, seed, sizeof(seed), true), 0);
	assert_int_equal(dir_person_set_status(f->ident->dir, f->uid3, DIR_STATUS_DISABLED), 0);
	add_client(f, "web", CLIENTS_AUTH_SECRET, 1, CLIENTS_SCOPE_OPENID |
	    CLIENTS_SCOPE_PROFILE | CLIENTS_SCOPE_PHONE);
	add_client(f, "strict", CLIENTS_AUTH_SECRET, 3, CLIENTS_SCOPE_OPENID);
	add_client(f, "mobile", CLIENTS_AUTH_NONE, 1, CLIENTS_SCOPE_OPENID);
	add_client(f, "noopenid", CLIENTS_AUTH_SECRET, 1, CLIENTS_SCOPE_PROFILE);
	f->now = yh_now();
	f->browser = BROWSER_A;
	consent_answer = true;
	consent_calls = 0;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;
	char cmd[160];

	sess_close(f->sess);
	yh_audit_close(f->audit);
	clients_close(f->clients);
	tok_ring_free(f->ring);
	keys_free(f->app.keys);
	ident_close(f->ident);
	ident_cfg_free(&f->icfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* A session for uid: loa, amr "pwd" (+ "otp"), auth_time; the cookie goes to token. */
static void
login(struct fix *f, const char *uid, int loa, bool otp, int64_t auth_time,
    char token[SESS_TOKEN_SIZE], struct sess_info *si)
{
	const char *amr[2] = { "pwd", "otp" };
	struct sess_auth a = { .uid = uid, .loa = loa, .amr = amr, .namr = otp ? 2 : 1,
	    .auth_time = auth_time };

	assert_int_equal(sess_create(f->sess, &a, token, si), 0);
}

/* Decides the request in query with the cookie; returns the step. */
static enum oidc_az_step
run(struct fix *f, const char *query, const char *cookie, struct oidc_az_result *res)
{
	struct oidc_az_params p;
	int r;

	assert_int_equal(oidc_az_params_parse(yh_span_cstr(query), &p), 0);
	p.browser = f->browser;
	r = oidc_az_decide(&f->app, &p, cookie, f->now, res);
	oidc_az_params_clear(&p);
	assert_int_equal(r, 0);
	return res->step;
}

/* The query parameter name of a URL (decoded, malloc'd) or NULL. */
static char *
url_param(const char *url, const char *name)
{
	const char *q = strchr(url, '?');
	char *v = NULL;

	if (q == NULL || http_form_get(yh_span_cstr(q + 1), name, 8192, &v) != 0)
		return NULL;
	return v;
}

static void
assert_param(const char *url, const char *name, const char *want)
{
	char *v = url_param(url, name);

	if (want == NULL) {
		assert_null(v);
		return;
	}
	if (v == NULL)
		fail_msg("%s: no %s", url, name);
	assert_string_equal(v, want);
	free(v);
}

#define WEB "response_type=code&client_id=web&redirect_uri=https%3A%2F%2Frp.example.gov.cn%2Fcb"

/* An error sent to the redirect URI with state and iss. */
static void
expect_error(struct fix *f, const char *query, const char *error)
{
	struct oidc_az_result res;

	if (run(f, query, NULL, &res) != OIDC_AZ_STEP_ERROR)
		fail_msg("%s: step %d, not an error redirect", query, (int)res.step);
	assert_string_equal(res.error, error);
	assert_int_equal(res.status, 302);
	assert_true(strncmp(res.location, RP "?", strlen(RP) + 1) == 0);
	assert_param(res.location, "error", error);
	assert_param(res.location, "state", "s t&=");
	assert_param(res.location, "iss", ISS);
	oidc_az_result_clear(&res);
}

static void
expect_page(struct fix *f, const char *query)
{
	struct oidc_az_result res;

	if (run(f, query, NULL, &res) != OIDC_AZ_STEP_PAGE)
		fail_msg("%s: step %d, not a page", query, (int)res.step);
	assert_int_equal(res.status, 400);
	assert_null(res.location);
	assert_int_not_equal(res.msg, PAGE_MSG_NONE);
	oidc_az_result_clear(&res);
}

/* ---- rule 1: pages ------------------------------------------------------------------ */

static void
test_bad_client_or_uri_gives_page(void **state)
{
	struct fix *f = *state;

	expect_page(f, "response_type=code&redirect_uri=" RP);
	expect_page(f, "response_type=code&client_id=nobody&redirect_uri=" RP);
	expect_page(f, "response_type=code&client_id=web&client_id=web&redirect_uri=" RP);
	expect_page(f, "response_type=code&client_id=web");
	expect_page(f, "response_type=code&client_id=web&redirect_uri=https://evil.example/cb");
	/* exact bytes: a trailing slash, a case change, a query, a fragment all differ */
	expect_page(f, "response_type=code&client_id=web&redirect_uri=https://rp.example.gov.cn/cb/");
	expect_page(f, "response_type=code&client_id=web&redirect_uri=https://RP.example.gov.cn/cb");
	expect_page(f, "response_type=code&client_id=web&redirect_uri=https://rp.example.gov.cn/cb?x=1");
	expect_page(f, "response_type=code&client_id=web&redirect_uri=https://rp.example.gov.cn/cb%23x");
	expect_page(f, "client_id=web&redirect_uri=" RP "&redirect_uri=" RP);
	/* errors that would otherwise redirect do not when the URI is bad */
	expect_page(f, "response_type=token&client_id=web&redirect_uri=https://evil.example/");
	expect_page(f, "client_id=web%00&redirect_uri=" RP);
}

/* ---- rule 2: errors to the redirect URI ------------------------------------------------ */

static void
test_errors_redirect(void **state)
{
	struct fix *f = *state;

	expect_error(f, WEB "&scope=openid&state=s+t%26%3D&response_type=code",
	    "invalid_request");
	expect_error(f, "response_type=token&client_id=web&redirect_uri=" RP
	    "&scope=openid&state=s+t%26%3D", "unsupported_response_type");
	expect_error(f, "response_type=code+id_token&client_id=web&redirect_uri=" RP
	    "&scope=openid&state=s+t%26%3D", "unsupported_response_type");
	expect_error(f, "client_id=web&redirect_uri=" RP "&scope=openid&state=s+t%26%3D",
	    "invalid_request");
	expect_error(f, WEB "&scope=profile&state=s+t%26%3D", "invalid_scope");
	expect_error(f, WEB "&state=s+t%26%3D", "invalid_scope");
	expect_error(f, WEB "&scope=openid&prompt=none+login&state=s+t%26%3D",
	    "invalid_request");
	expect_error(f, WEB "&scope=openid&prompt=bogus&state=s+t%26%3D", "invalid_request");
	expect_error(f, WEB "&scope=openid&max_age=-1&state=s+t%26%3D", "invalid_request");
	expect_error(f, WEB "&scope=openid&max_age=1h&state=s+t%26%3D", "invalid_request");
	expect_error(f, WEB "&scope=openid&response_mode=fragment&state=s+t%26%3D",
	    "invalid_request");
	expect_error(f, WEB "&scope=openid&request=eyJ&state=s+t%26%3D",
	    "request_not_supported");
	/* a request_uri that is not one of ours names no pushed request: no redirect URI
	 * to trust (the pushed request holds it), so a page */
	expect_page(f, WEB "&scope=openid&request_uri=https://x/&state=s+t%26%3D");
	expect_error(f, WEB "&scope=openid&nonce=a&nonce=b&state=s+t%26%3D", "invalid_request");
	/* a nonce that is not UTF-8 cannot go into the code's JSON (found by fuzz_oidc) */
	expect_error(f, WEB "&scope=openid&nonce=%A6&state=s+t%26%3D", "invalid_request");
	expect_error(f, WEB "&scope=openid&acr_values=urn%01&state=s+t%26%3D",
	    "invalid_request");
	/* PKCE: plain refused, a method without a challenge, a malformed challenge */
	expect_error(f, WEB "&scope=openid&code_challenge=" CHAL
	    "&code_challenge_method=plain&state=s+t%26%3D", "invalid_request");
	expect_error(f, WEB "&scope=openid&code_challenge=" CHAL "&state=s+t%26%3D",
	    "invalid_request");
	expect_error(f, WEB "&scope=openid&code_challenge_method=S256&state=s+t%26%3D",
	    "invalid_request");
	expect_error(f, WEB "&scope=openid&code_challenge=abc&code_challenge_method=S256"
	    "&state=s+t%26%3D", "invalid_request");
	/* a state over its cap is itself the error (and is not echoed) */
	{
		struct oidc_az_result res;
		char q[2048];

		snprintf(q, sizeof(q), "%s&scope=openid&state=%0600d", WEB, 0);
		assert_int_equal(run(f, q, NULL, &res), OIDC_AZ_STEP_ERROR);
		assert_string_equal(res.error, "invalid_request");
		assert_param(res.location, "state", NULL);
		oidc_az_result_clear(&res);
	}
}

static void
test_public_client_needs_pkce(void **state)
{
	struct fix *f = *state;
	struct oidc_az_result res;
	const char *base = "response_type=code&client_id=mobile&redirect_uri=com.example.app%3A%2Fcb"
	    "&scope=openid&state=xyz";
	char q[512];

	assert_int_equal(run(f, base, NULL, &res), OIDC_AZ_STEP_ERROR);
	assert_string_equal(res.error, "invalid_request");
	assert_true(strncmp(res.location, NATIVE "?", strlen(NATIVE) + 1) == 0);
	assert_param(res.location, "state", "xyz");
	oidc_az_result_clear(&res);
	snprintf(q, sizeof(q), "%s&code_challenge=%s&code_challenge_method=S256", base, CHAL);
	assert_int_equal(run(f, q, NULL, &res), OIDC_AZ_STEP_LOGIN);
	oidc_az_result_clear(&res);
}

static void
test_error_location_builder(void **state)
{
	char *loc = NULL;

	(void)state;
	assert_int_equal(oidc_az_error_location(RPQ, "access_denied", "no way", "a&b", ISS,
	    &loc), 0);
	assert_true(strncmp(loc, RPQ "&error=access_denied&", strlen(RPQ) + 21) == 0);
	assert_param(loc, "tenant", "7");
	assert_param(loc, "error_description", "no way");
	assert_param(loc, "state", "a&b");
	free(loc);
	assert_int_equal(oidc_az_error_location(RP, "login_required", NULL, NULL, ISS, &loc), 0);
	assert_string_equal(loc, RP "?error=login_required&iss=https%3A%2F%2Fid.example.gov.cn");
	free(loc);
}

static void
test_params_read_once(void **state)
{
	struct oidc_az_params p;
	char q[600];

	(void)state;
	assert_int_equal(oidc_az_params_parse(yh_span_cstr("scope=a&scope=b&state=x+y"), &p), 0);
	assert_int_equal(p.err[OIDC_AZ_SCOPE], YH_ERR_CONFLICT);
	assert_null(p.v[OIDC_AZ_SCOPE]);
	assert_string_equal(p.v[OIDC_AZ_STATE], "x y");
	assert_int_equal(p.err[OIDC_AZ_NONCE], YH_ERR_NOT_FOUND);
	oidc_az_params_clear(&p);
	snprintf(q, sizeof(q), "nonce=%0513d&state=%%00", 0);
	assert_int_equal(oidc_az_params_parse(yh_span_cstr(q), &p), 0);
	assert_int_equal(p.err[OIDC_AZ_NONCE], YH_ERR_TOO_LONG);
	assert_int_equal(p.err[OIDC_AZ_STATE], YH_ERR_INVALID);
	oidc_az_params_clear(&p);
	assert_string_equal(oidc_az_param_name(OIDC_AZ_CODE_CHALLENGE), "code_challenge");
	assert_int_equal(oidc_az_param_max(OIDC_AZ_CLIENT_ID), CLIENTS_ID_MAX);
}

/* ---- rule 3: login ---------------------------------------------------------------------- */

static void
test_no_session_goes_to_login(void **state)
{
	struct fix *f = *state;
	struct oidc_az_result res;
	const char *q = WEB "&scope=openid+profile&state=st&nonce=n1&login_hint=13800138000"
	    "&ui_locales=en&prompt=login&request_uri_x=1";
	char *next, *v;
	char cookie[] = "bm90LWEtc2Vzc2lvbi1hdC1hbGwtYnV0LWxvbmctZW5vdWdo";

	assert_int_equal(run(f, q, NULL, &res), OIDC_AZ_STEP_LOGIN);
	assert_int_equal(res.status, 302);
	assert_true(strncmp(res.location, "/login?next=%2Fauthorize%3F", 27) == 0);
	assert_param(res.location, "login_hint", "13800138000");
	assert_param(res.location, "ui_locales", "en");
	assert_param(res.location, "force", NULL);    /* there is no session to force out */
	next = url_param(res.location, "next");
	assert_non_null(next);
	assert_true(strncmp(next, "/authorize?", 11) == 0);
	assert_param(next, "client_id", "web");
	assert_param(next, "redirect_uri", RP);
	assert_param(next, "scope", "openid profile");
	assert_param(next, "state", "st");
	assert_param(next, "nonce", "n1");
	assert_param(next, "prompt", "login");
	assert_param(next, "request_uri_x", NULL);   /* unknown parameters are not carried */
	v = url_param(next, "yh_reauth");
	assert_non_null(v);
	free(v);
	oidc_az_result_clear(&res);

	/* logging in once is enough: the resumed prompt=login request gets its code */
	{
		struct sess_info si;
		char tok[SESS_TOKEN_SIZE];

		f->now += 20;
		login(f, f->uid1, 1, false, f->now - 3, tok, &si);
		assert_int_equal(run(f, strchr(next, '?') + 1, tok, &res), OIDC_AZ_STEP_CODE);
		oidc_az_result_clear(&res);
	}
	free(next);

	/* an unknown cookie is no session */
	assert_int_equal(run(f, WEB "&scope=openid", cookie, &res), OIDC_AZ_STEP_LOGIN);
	assert_param(res.location, "force", NULL);
	oidc_az_result_clear(&res);
	assert_int_equal(run(f, WEB "&scope=openid&prompt=none&state=s", NULL, &res),
	    OIDC_AZ_STEP_ERROR);
	assert_string_equal(res.error, "login_required");
	assert_param(res.location, "state", "s");
	oidc_az_result_clear(&res);
}

static void
test_disabled_person_is_no_session(void **state)
{
	struct fix *f = *state;
	struct oidc_az_result res;
	struct sess_info si;
	char tok[SESS_TOKEN_SIZE];

	login(f, f->uid3, 1, false, 0, tok, &si);
	assert_int_equal(run(f, WEB "&scope=openid", tok, &res), OIDC_AZ_STEP_LOGIN);
	oidc_az_result_clear(&res);
}

/* ---- rule 6: the code -------------------------------------------------------------------- */

static void
test_code_issued(void **state)
{
	struct fix *f = *state;
	struct oidc_az_result res;
	struct sess_info si, after;
	char tok[SESS_TOKEN_SIZE];
	char *code, *payload = NULL;
	struct oidc_grant g;

	login(f, f->uid1, 1, false, f->now - 30, tok, &si);
	assert_int_equal(run(f, "response_type=code&client_id=web&redirect_uri="
	    "https%3A%2F%2Frp.example.gov.cn%2Fcb2%3Ftenant%3D7&scope=openid+phone+email+bogus"
	    "&state=abc&nonce=N-1&code_challenge=" CHAL "&code_challenge_method=S256&max_age=600",
	    tok, &res), OIDC_AZ_STEP_CODE);
	assert_true(strncmp(res.location, RPQ "&code=", strlen(RPQ) + 6) == 0);
	assert_param(res.location, "state", "abc");
	assert_param(res.location, "iss", ISS);
	assert_int_equal(consent_calls, 1);
	code = url_param(res.location, "code");
	assert_non_null(code);
	assert_int_equal(sess_code_take(f->sess, "web", code, NULL, &payload, NULL), 0);
	assert_int_equal(oidc_grant_parse(payload, &g), 0);
	assert_string_equal(g.client_id, "web");
	assert_string_equal(g.redirect_uri, RPQ);
	assert_string_equal(g.uid, f->uid1);
	assert_string_equal(g.sid, si.sid);
	assert_string_equal(g.scope, "openid phone");   /* email not allowed, bogus unknown */
	assert_string_equal(g.nonce, "N-1");
	assert_string_equal(g.code_challenge, CHAL);
	assert_string_equal(g.code_challenge_method, "S256");
	assert_int_equal(g.auth_time, f->now - 30);
	assert_int_equal(g.loa, 1);
	assert_int_equal(g.namr, 1);
	assert_string_equal(g.amr[0], "pwd");
	oidc_grant_clear(&g);
	free(payload);
	free(code);
	oidc_az_result_clear(&res);
	/* the session now lists the client (for back-channel logout) */
	assert_int_equal(sess_get(f->sess, tok, 0, &after), 0);
	assert_int_equal(after.nclients, 1);
	assert_string_equal(after.clients[0], "web");
	/* SSO: prompt=none with a session gets a code too */
	assert_int_equal(run(f, WEB "&scope=openid&prompt=none", tok, &res), OIDC_AZ_STEP_CODE);
	assert_param(res.location, "state", NULL);
	oidc_az_result_clear(&res);
}

static void
test_post_body_parses_like_query(void **state)
{
	struct fix *f = *state;
	struct oidc_az_result res;
	struct sess_info si;
	char tok[SESS_TOKEN_SIZE];

	login(f, f->uid1, 1, false, 0, tok, &si);
	assert_int_equal(run(f, "scope=openid&response_type=code&client_id=web&redirect_uri="
	    "https://rp.example.gov.cn/cb&display=page&claims_locales=zh-CN", tok, &res),
	    OIDC_AZ_STEP_CODE);
	oidc_az_result_clear(&res);
}

/* ---- rule 3 again: prompt=login and max_age ------------------------------------------- */

static void
test_prompt_login_loop_ends(void **state)
{
	struct fix *f = *state;
	struct oidc_az_result res;
	struct sess_info si;
	char tok[SESS_TOKEN_SIZE], tok2[SESS_TOKEN_SIZE];
	const char *amr[1] = { "pwd" };
	struct sess_auth a = { .uid = f->uid1, .loa = 1, .amr = amr, .namr = 1 };
	char *next;

	login(f, f->uid1, 1, false, f->now - 100, tok, &si);
	assert_int_equal(run(f, WEB "&scope=openid&prompt=login&state=q", tok, &res),
	    OIDC_AZ_STEP_LOGIN);
	assert_param(res.location, "force", "1");
	next = url_param(res.location, "next");
	oidc_az_result_clear(&res);
	assert_non_null(next);

	/* the resumed request before logging in again still goes to login */
	assert_int_equal(run(f, strchr(next, '?') + 1, tok, &res), OIDC_AZ_STEP_LOGIN);
	oidc_az_result_clear(&res);
	/* after a new login (rotated id, fresh auth_time) it gets a code */
	a.auth_time = f->now + 2;
	assert_int_equal(sess_reauth(f->sess, tok, &a, tok2, &si), 0);
	f->now += 5;
	assert_int_equal(run(f, strchr(next, '?') + 1, tok2, &res), OIDC_AZ_STEP_CODE);
	assert_param(res.location, "state", "q");
	oidc_az_result_clear(&res);
	/* a stale marker (over 10 minutes) is not honoured */
	f->now += 700;
	assert_int_equal(run(f, strchr(next, '?') + 1, tok2, &res), OIDC_AZ_STEP_LOGIN);
	oidc_az_result_clear(&res);
	free(next);
}

/* The marker of the detour to /login for query with cookie tok (malloc'd), and next. */
static char *
detour_marker(struct fix *f, const char *query, const char *tok, char **next)
{
	struct oidc_az_result res;
	char *m;

	assert_int_equal(run(f, query, tok, &res), OIDC_AZ_STEP_LOGIN);
	*next = url_param(res.location, "next");
	oidc_az_result_clear(&res);
	assert_non_null(*next);
	m = url_param(*next, "yh_reauth");
	assert_non_null(m);
	return m;
}

/* The step for query + "&yh_reauth=" + mark with cookie tok. */
static enum oidc_az_step
run_marked(struct fix *f, const char *query, const char *mark, const char *tok)
{
	struct oidc_az_result res;
	char q[1024];
	enum oidc_az_step st;

	snprintf(q, sizeof(q), "%s&yh_reauth=%s", query, mark);
	st = run(f, q, tok, &res);
	oidc_az_result_clear(&res);
	return st;
}

/* prompt=login and max_age: a yh_reauth marker counts only as /authorize made it */
static void
test_reauth_marker_not_forgeable(void **state)
{
	struct fix *f = *state;
	const char *amr[1] = { "pwd" };
	struct sess_auth a = { .uid = f->uid1, .loa = 1, .amr = amr, .namr = 1 };
	const char *qs[] = { WEB "&scope=openid&state=s1&max_age=5",
	    WEB "&scope=openid&state=s1&prompt=login" };
	struct sess_info si, si2;
	char tok[SESS_TOKEN_SIZE], tok2[SESS_TOKEN_SIZE], t[24], forged[96];
	char *mark, *next;

	/* a session that logged in 30 s ago */
	login(f, f->uid1, 1, false, f->now - 30, tok, &si);
	for (size_t i = 0; i < 2; i++) {
		/* a bare time, the old form of the marker, counts for nothing */
		snprintf(t, sizeof(t), "%lld", (long long)(f->now - 60));
		assert_int_equal(run_marked(f, qs[i], t, tok), OIDC_AZ_STEP_LOGIN);
		/* nor a time with a made-up MAC */
		snprintf(forged, sizeof(forged), "%s.%s", t, CHAL);
		assert_int_equal(run_marked(f, qs[i], forged, tok), OIDC_AZ_STEP_LOGIN);
	}
	/* the real marker, from the detour, before and after the login it leads to */
	mark = detour_marker(f, qs[1], tok, &next);
	assert_int_equal(run_marked(f, qs[1], mark, tok), OIDC_AZ_STEP_LOGIN);
	a.auth_time = f->now;
	assert_int_equal(sess_reauth(f->sess, tok, &a, tok2, &si2), 0);
	/* its time changed: the MAC no longer fits */
	snprintf(forged, sizeof(forged), "%lld%s", (long long)(f->now - 1), strchr(mark, '.'));
	f->now += 10;
	assert_int_equal(run_marked(f, qs[1], forged, tok2), OIDC_AZ_STEP_LOGIN);
	/* another request (another state, or a parameter more) with it */
	assert_int_equal(run_marked(f, WEB "&scope=openid&state=s2&prompt=login", mark, tok2),
	    OIDC_AZ_STEP_LOGIN);
	assert_int_equal(run_marked(f, WEB "&scope=openid&state=s1&prompt=login&max_age=60",
	    mark, tok2), OIDC_AZ_STEP_LOGIN);
	/* the same request, after the login: the code */
	assert_int_equal(run_marked(f, qs[1], mark, tok2), OIDC_AZ_STEP_CODE);
	/* in this browser, a new session that logged in after it (another person took
	 * the login page): the code; in another browser, or one without the pre-session
	 * cookie: no */
	login(f, f->uid2, 1, false, f->now, tok, &si);
	assert_int_equal(run_marked(f, qs[1], mark, tok), OIDC_AZ_STEP_CODE);
	f->browser = BROWSER_B;
	assert_int_equal(run_marked(f, qs[1], mark, tok), OIDC_AZ_STEP_LOGIN);
	f->browser = NULL;
	assert_int_equal(run_marked(f, qs[1], mark, tok), OIDC_AZ_STEP_LOGIN);
	f->browser = BROWSER_A;
	/* nor one that logged in before it */
	login(f, f->uid1, 1, false, f->now - 20, tok, &si);
	assert_int_equal(run_marked(f, qs[1], mark, tok), OIDC_AZ_STEP_LOGIN);
	free(mark);
	free(next);

	/* made without a session: good only for a session created after it (by the login
	 * it leads to), not for one that was there before (this clock is the store's) */
	sleep(1);
	f->now = yh_now();
	mark = detour_marker(f, qs[1], NULL, &next);
	assert_int_equal(run_marked(f, qs[1], mark, tok), OIDC_AZ_STEP_LOGIN);
	login(f, f->uid1, 1, false, f->now, tok, &si);
	/* ... in the browser it was made in: one someone made in another browser and
	 * passed on counts for nothing here, nor does a browser without the cookie */
	f->browser = BROWSER_B;
	assert_int_equal(run_marked(f, qs[1], mark, tok), OIDC_AZ_STEP_LOGIN);
	f->browser = NULL;
	assert_int_equal(run_marked(f, qs[1], mark, tok), OIDC_AZ_STEP_LOGIN);
	f->browser = BROWSER_A;
	assert_int_equal(run_marked(f, qs[1], mark, tok), OIDC_AZ_STEP_CODE);
	/* ... and only while it is fresh */
	f->now += 601;
	assert_int_equal(run_marked(f, qs[1], mark, tok), OIDC_AZ_STEP_LOGIN);
	free(mark);
	free(next);
}

static void
test_max_age(void **state)
{
	struct fix *f = *state;
	struct oidc_az_result res;
	struct sess_info si;
	char tok[SESS_TOKEN_SIZE];

	login(f, f->uid1, 1, false, f->now - 120, tok, &si);
	assert_int_equal(run(f, WEB "&scope=openid&max_age=300", tok, &res), OIDC_AZ_STEP_CODE);
	oidc_az_result_clear(&res);
	assert_int_equal(run(f, WEB "&scope=openid&max_age=60", tok, &res), OIDC_AZ_STEP_LOGIN);
	assert_param(res.location, "force", "1");
	oidc_az_result_clear(&res);
	assert_int_equal(run(f, WEB "&scope=openid&max_age=60&prompt=none", tok, &res),
	    OIDC_AZ_STEP_ERROR);
	assert_string_equal(res.error, "login_required");
	oidc_az_result_clear(&res);
}

/* ---- rule 4: assurance levels ------------------------------------------------------------ */

static void
test_step_up_or_unmet(void **state)
{
	struct fix *f = *state;
	struct oidc_az_result res;
	struct sess_info si;
	char t1[SESS_TOKEN_SIZE], t2[SESS_TOKEN_SIZE], t3[SESS_TOKEN_SIZE];
	char *next;

	/* person LoA 2 with TOTP, session by password (LoA 2): acr 3 -> step-up */
	login(f, f->uid2, 2, false, 0, t2, &si);
	assert_int_equal(run(f, WEB "&scope=openid&acr_values=urn%3Ayihao%3Aloa%3A3&ui_locales=en",
	    t2, &res), OIDC_AZ_STEP_STEPUP);
	assert_int_equal(res.loa, 3);
	assert_true(strncmp(res.location, "/login/totp?next=", 17) == 0);
	assert_param(res.location, "loa", "3");
	assert_param(res.location, "ui_locales", "en");
	next = url_param(res.location, "next");
	assert_param(next, "acr_values", "urn:yihao:loa:3");
	free(next);
	oidc_az_result_clear(&res);
	/* the same through the client's minimum LoA, and prompt=none refuses */
	assert_int_equal(run(f, "response_type=code&client_id=strict&redirect_uri=" RP
	    "&scope=openid", t2, &res), OIDC_AZ_STEP_STEPUP);
	oidc_az_result_clear(&res);
	assert_int_equal(run(f, "response_type=code&client_id=strict&redirect_uri=" RP
	    "&scope=openid&prompt=none", t2, &res), OIDC_AZ_STEP_ERROR);
	assert_string_equal(res.error, "login_required");
	oidc_az_result_clear(&res);
	/* acr 4 cannot be reached by TOTP */
	assert_int_equal(run(f, WEB "&scope=openid&acr_values=urn%3Ayihao%3Aloa%3A4", t2, &res),
	    OIDC_AZ_STEP_ERROR);
	assert_string_equal(res.error, "unmet_authentication_requirements");
	oidc_az_result_clear(&res);
	/* a list: the lowest known level counts; unknown values are ignored */
	assert_int_equal(run(f, WEB "&scope=openid&acr_values=urn%3Ayihao%3Aloa%3A4+"
	    "urn%3Ayihao%3Aloa%3A2+urn%3Aother", t2, &res), OIDC_AZ_STEP_CODE);
	oidc_az_result_clear(&res);

	/* person LoA 1: TOTP cannot lift a person who is not verified */
	login(f, f->uid1, 1, false, 0, t1, &si);
	assert_int_equal(run(f, WEB "&scope=openid&acr_values=urn%3Ayihao%3Aloa%3A2", t1, &res),
	    OIDC_AZ_STEP_ERROR);
	assert_string_equal(res.error, "unmet_authentication_requirements");
	oidc_az_result_clear(&res);

	/* after the step-up (session LoA 3 with otp) the code comes */
	login(f, f->uid2, 3, true, 0, t3, &si);
	assert_int_equal(run(f, "response_type=code&client_id=strict&redirect_uri=" RP
	    "&scope=openid", t3, &res), OIDC_AZ_STEP_CODE);
	oidc_az_result_clear(&res);
}

/* ---- rule 5: consent ------------------------------------------------------------------- */

static void
test_consent(void **state)
{
	struct fix *f = *state;
	struct oidc_az_result res;
	struct sess_info si;
	char tok[SESS_TOKEN_SIZE];
	char *next;

	login(f, f->uid1, 1, false, 0, tok, &si);
	consent_answer = false;
	assert_int_equal(run(f, WEB "&scope=openid+profile&ui_locales=zh-CN", tok, &res),
	    OIDC_AZ_STEP_CONSENT);
	assert_true(strncmp(res.location, "/consent?next=%2Fauthorize%3F", 29) == 0);
	assert_param(res.location, "ui_locales", "zh-CN");
	assert_param(res.location, "login_hint", NULL);
	oidc_az_result_clear(&res);
	assert_int_equal(run(f, WEB "&scope=openid+profile&prompt=none&state=z", tok, &res),
	    OIDC_AZ_STEP_ERROR);
	assert_string_equal(res.error, "consent_required");
	assert_param(res.location, "state", "z");
	oidc_az_result_clear(&res);
	/* prompt=consent asks even when consent was given, and stays in next */
	consent_answer = true;
	assert_int_equal(run(f, WEB "&scope=openid&prompt=consent", tok, &res),
	    OIDC_AZ_STEP_CONSENT);
	next = url_param(res.location, "next");
	assert_param(next, "prompt", "consent");
	free(next);
	oidc_az_result_clear(&res);
	assert_int_equal(run(f, WEB "&scope=openid&prompt=none+consent", tok, &res),
	    OIDC_AZ_STEP_ERROR);
	assert_string_equal(res.error, "invalid_request");
	oidc_az_result_clear(&res);
}

static void
test_unauthorized_and_scope_rules(void **state)
{
	struct fix *f = *state;
	struct oidc_az_result res;

	/* a client that may not get openid */
	assert_int_equal(run(f, "response_type=code&client_id=noopenid&redirect_uri=" RP
	    "&scope=openid+profile", NULL, &res), OIDC_AZ_STEP_ERROR);
	assert_string_equal(res.error, "invalid_scope");
	oidc_az_result_clear(&res);
}

/* ---- /logout ---------------------------------------------------------------------------- */

/* An ID token signed by ring, for uid (its pairwise sub at aud; NULL: a sub of nobody)
 * in the session sid. */
static char *
mint_hint(struct fix *f, struct tok_ring *ring, const char *iss, const char *aud,
    int64_t iat, const char *uid, const char *sid)
{
	struct tok_ring_snap *snap = tok_ring_acquire(ring);
	struct tok_id_token t;
	char sub[OIDC_SUB_SIZE] = "pairwise-sub";
	char *out = NULL;

	if (uid != NULL)
		assert_int_equal(oidc_pairwise_sub(f->app.keys, f->app.dir, aud, uid, sub), 0);
	memset(&t, 0, sizeof(t));
	t.iss = iss;
	t.sub = sub;
	t.aud = aud;
	t.iat = iat;
	t.lifetime = 600;
	t.sid = sid;
	assert_int_equal(tok_mint_id_token(tok_snap_signing_key(snap, TOK_ALG_UNSET), &t, &out),
	    0);
	tok_snap_release(snap);
	return out;
}

static char *
mint_id_token(struct fix *f, struct tok_ring *ring, const char *iss, const char *aud,
    int64_t iat)
{
	return mint_hint(f, ring, iss, aud, iat, NULL, "AAAAAAAAAAAAAAAAAAAAAA");
}

static int
audit_lines(struct fix *f, const char *event)
{
	FILE *fp = fopen(f->auditpath, "r");
	char line[AUDIT_LINE_MAX];
	char needle[64];
	int n = 0;

	assert_non_null(fp);
	snprintf(needle, sizeof(needle), "\"event\":\"%s\"", event);
	while (fgets(line, sizeof(line), fp) != NULL)
		n += strstr(line, needle) != NULL;
	fclose(fp);
	return n;
}

static void
test_logout_redirect_rules(void **state)
{
	struct fix *f = *state;
	struct oidc_lo_params p;
	struct oidc_lo_result res;
	struct sess_info si, tmp;
	char tok[SESS_TOKEN_SIZE];
	char *hint, *own;
	char *mobile_hint = mint_id_token(f, f->ring, ISS, "mobile", f->now);
	char *foreign_iss = mint_id_token(f, f->ring, "https://evil.example", "web", f->now);

	/* the session's own (expired) hint and a registered URI: redirect with state, the
	 * session ended */
	login(f, f->uid1, 1, false, 0, tok, &si);
	hint = mint_id_token(f, f->ring, ISS, "web", f->now - 7200);   /* expired */
	own = mint_hint(f, f->ring, ISS, "web", f->now - 7200, f->uid1, si.sid);
	memset(&p, 0, sizeof(p));
	p.id_token_hint = own;
	p.post_logout_redirect_uri = RP_LOGOUT;
	p.state = "s 1";
	assert_int_equal(oidc_lo_run(&f->app, &p, tok, &res), 0);
	assert_true(res.hint_ok);
	assert_false(res.confirm);
	assert_true(res.ended);
	assert_string_equal(res.client_id, "web");
	assert_non_null(res.location);
	assert_string_equal(res.location, RP_LOGOUT "?state=s%201");
	oidc_lo_result_clear(&res);
	assert_int_equal(sess_get(f->sess, tok, 0, &tmp), YH_ERR_NOT_FOUND);
	assert_int_equal(audit_lines(f, "logout"), 1);

	/* without a session an expired hint still identifies the client */
	p.id_token_hint = hint;
	assert_int_equal(oidc_lo_run(&f->app, &p, NULL, &res), 0);
	assert_true(res.hint_ok);
	assert_string_equal(res.location, RP_LOGOUT "?state=s%201");
	oidc_lo_result_clear(&res);

	/* the open redirect: an unregistered URI never redirects */
	p.post_logout_redirect_uri = "https://evil.example/";
	assert_int_equal(oidc_lo_run(&f->app, &p, NULL, &res), 0);
	assert_null(res.location);
	assert_false(res.ended);
	oidc_lo_result_clear(&res);
	p.post_logout_redirect_uri = RP_LOGOUT "/";
	assert_int_equal(oidc_lo_run(&f->app, &p, NULL, &res), 0);
	assert_null(res.location);
	oidc_lo_result_clear(&res);

	/* client_id disagreeing with the hint: no redirect */
	p.post_logout_redirect_uri = RP_LOGOUT;
	p.client_id = "mobile";
	assert_int_equal(oidc_lo_run(&f->app, &p, NULL, &res), 0);
	assert_null(res.location);
	oidc_lo_result_clear(&res);
	/* client_id alone identifies the client */
	p.id_token_hint = NULL;
	p.client_id = "web";
	assert_int_equal(oidc_lo_run(&f->app, &p, NULL, &res), 0);
	assert_non_null(res.location);
	assert_false(res.hint_ok);
	oidc_lo_result_clear(&res);
	/* the URI must be registered for THAT client: mobile's hint, web's URI */
	p.client_id = NULL;
	p.id_token_hint = mobile_hint;
	assert_int_equal(oidc_lo_run(&f->app, &p, NULL, &res), 0);
	assert_true(res.hint_ok);
	assert_string_equal(res.client_id, "mobile");
	assert_non_null(res.location);  /* mobile registered RP_LOGOUT too (see add_client) */
	oidc_lo_result_clear(&res);
	/* a hint from another issuer, signed by another ring, or for a client nobody
	 * registered is not acted on: nothing ended, no redirect, even with a client_id
	 * whose URI is registered and with the person's confirmation */
	p.id_token_hint = foreign_iss;
	assert_int_equal(oidc_lo_run(&f->app, &p, NULL, &res), 0);
	assert_false(res.hint_ok);
	assert_true(res.hint_bad);
	assert_null(res.location);
	oidc_lo_result_clear(&res);
	{
		struct tok_ring *other = NULL;
		struct tok_ring_opts ro = { .create = true };
		char dir[128], err[256];
		char *bad[3];

		snprintf(dir, sizeof(dir), "%s/otherkeys", f->root);
		assert_int_equal(tok_ring_open(dir, &ro, &other, err, sizeof(err)), 0);
		bad[0] = mint_id_token(f, other, ISS, "web", f->now);
		bad[1] = mint_id_token(f, f->ring, ISS, "nobody", f->now);
		bad[2] = mint_id_token(f, f->ring, "https://evil.example", "web", f->now);
		for (size_t i = 0; i < 3; i++) {
			login(f, f->uid1, 1, false, 0, tok, &si);
			p.id_token_hint = bad[i];
			p.client_id = "web";
			p.confirmed = true;
			assert_int_equal(oidc_lo_run(&f->app, &p, tok, &res), 0);
			assert_false(res.hint_ok);
			assert_true(res.hint_bad);
			assert_false(res.ended);
			assert_false(res.confirm);
			assert_null(res.location);
			oidc_lo_result_clear(&res);
			assert_int_equal(sess_get(f->sess, tok, 0, &tmp), 0);
			free(bad[i]);
		}
		p.client_id = NULL;
		p.confirmed = false;
		tok_ring_free(other);
	}
	/* a malformed request (a parameter repeated) logs out without redirecting */
	p.id_token_hint = hint;
	p.bad = true;
	assert_int_equal(oidc_lo_run(&f->app, &p, NULL, &res), 0);
	assert_null(res.location);
	oidc_lo_result_clear(&res);
	assert_int_equal(audit_lines(f, "logout"), 1);
	free(hint);
	free(own);
	free(mobile_hint);
	free(foreign_iss);
}

/*
 * The id_token_hint ends a live session without asking only when it was issued in that
 * session: its sid, and the sub its person has at the hint's client. Any other hint (of
 * another person, another session of the same person, another client's sub), expired or
 * not, only identifies the client: the person is asked first.
 */
static void
test_logout_hint_must_match(void **state)
{
	struct fix *f = *state;
	struct oidc_lo_params p;
	struct oidc_lo_result res;
	struct sess_info si, other, tmp;
	char tok[SESS_TOKEN_SIZE], tok2[SESS_TOKEN_SIZE], wrong_sub[OIDC_SUB_SIZE];
	char *hints[5];

	login(f, f->uid1, 1, false, 0, tok, &si);
	login(f, f->uid2, 2, false, 0, tok2, &other);
	hints[0] = mint_hint(f, f->ring, ISS, "web", f->now, f->uid2, other.sid);
	hints[1] = mint_hint(f, f->ring, ISS, "web", f->now - 7200, f->uid2, other.sid);
	hints[2] = mint_hint(f, f->ring, ISS, "web", f->now, f->uid1, other.sid);
	hints[3] = mint_hint(f, f->ring, ISS, "web", f->now, f->uid2, si.sid);
	hints[4] = mint_hint(f, f->ring, ISS, "web", f->now, f->uid1, NULL);
	memset(&p, 0, sizeof(p));
	p.post_logout_redirect_uri = RP_LOGOUT;
	for (size_t i = 0; i < 5; i++) {
		p.id_token_hint = hints[i];
		assert_int_equal(oidc_lo_run(&f->app, &p, tok, &res), 0);
		if (!res.confirm)
			fail_msg("hint %zu ended the session without asking", i);
		assert_true(res.hint_ok);
		assert_false(res.ended);
		assert_null(res.location);
		assert_string_equal(res.client_id, "web");
		oidc_lo_result_clear(&res);
		assert_int_equal(sess_get(f->sess, tok, 0, &tmp), 0);
	}
	/* the person's sub at another client (mobile's hint carrying web's sub) */
	{
		struct tok_ring_snap *snap = tok_ring_acquire(f->ring);
		struct tok_id_token t = { .iss = ISS, .sub = wrong_sub, .aud = "mobile",
		    .iat = f->now, .lifetime = 600, .sid = si.sid };
		char *h = NULL;

		assert_int_equal(oidc_pairwise_sub(f->app.keys, f->app.dir, "web", f->uid1, wrong_sub),
		    0);
		assert_int_equal(tok_mint_id_token(tok_snap_signing_key(snap, TOK_ALG_UNSET), &t,
		    &h), 0);
		tok_snap_release(snap);
		p.id_token_hint = h;
		assert_int_equal(oidc_lo_run(&f->app, &p, tok, &res), 0);
		assert_true(res.confirm);
		oidc_lo_result_clear(&res);
		free(h);
	}
	/* a malformed request with the session's own hint asks too */
	free(hints[4]);
	hints[4] = mint_hint(f, f->ring, ISS, "web", f->now, f->uid1, si.sid);
	p.id_token_hint = hints[4];
	p.bad = true;
	assert_int_equal(oidc_lo_run(&f->app, &p, tok, &res), 0);
	assert_true(res.confirm);
	oidc_lo_result_clear(&res);
	p.bad = false;
	assert_int_equal(audit_lines(f, "logout"), 0);
	/* once the person confirmed, another person's hint names the app to go back to */
	p.id_token_hint = hints[1];
	p.confirmed = true;
	assert_int_equal(oidc_lo_run(&f->app, &p, tok, &res), 0);
	assert_false(res.confirm);
	assert_true(res.ended);
	assert_string_equal(res.location, RP_LOGOUT);
	oidc_lo_result_clear(&res);
	assert_int_equal(sess_get(f->sess, tok, 0, &tmp), YH_ERR_NOT_FOUND);
	/* the other session was never touched; its own hint ends it at once */
	p.confirmed = false;
	p.id_token_hint = hints[0];
	assert_int_equal(oidc_lo_run(&f->app, &p, tok2, &res), 0);
	assert_false(res.confirm);
	assert_true(res.ended);
	oidc_lo_result_clear(&res);
	for (size_t i = 0; i < 5; i++)
		free(hints[i]);
}

/* ---- discovery ---------------------------------------------------------------------------- */

static void
test_discovery_doc(void **state)
{
	static const char *const issued[] = {
		"sub", "name", "phone_number", "email", "yh_id_type", "yh_id_number", "yh_org",
		"yh_staff", "yh_legacy_id", "yh_legacy_username",
	};
	struct fix *f = *state;
	struct tok_ring_snap *snap = tok_ring_acquire(f->ring);
	json_t *d = oidc_discovery_doc(ISS, tok_snap_algs(snap));
	json_t *a;

	tok_snap_release(snap);
	assert_non_null(d);
	assert_string_equal(json_string_value(json_object_get(d, "issuer")), ISS);
	assert_string_equal(json_string_value(json_object_get(d, "authorization_endpoint")),
	    ISS "/authorize");
	assert_string_equal(json_string_value(json_object_get(d, "jwks_uri")), ISS "/jwks");
	assert_string_equal(json_string_value(json_object_get(d, "end_session_endpoint")),
	    ISS "/logout");
	assert_string_equal(json_string_value(json_object_get(d,
	    "pushed_authorization_request_endpoint")), ISS "/par");
	assert_true(json_is_false(json_object_get(d, "require_pushed_authorization_requests")));
	a = json_object_get(d, "id_token_signing_alg_values_supported");
	assert_int_equal(json_array_size(a), 1);
	assert_string_equal(json_string_value(json_array_get(a, 0)), "ES256");
	a = json_object_get(d, "code_challenge_methods_supported");
	assert_int_equal(json_array_size(a), 1);
	assert_string_equal(json_string_value(json_array_get(a, 0)), "S256");
	assert_true(json_is_true(json_object_get(d, "backchannel_logout_supported")));
	assert_true(json_is_true(json_object_get(d,
	    "authorization_response_iss_parameter_supported")));
	assert_int_equal(json_array_size(json_object_get(d, "acr_values_supported")), 4);
	assert_string_equal(json_string_value(json_array_get(json_object_get(d,
	    "subject_types_supported"), 0)), "pairwise");
	/* every claim authd issues is listed, its own yh_ ones included */
	a = json_object_get(d, "claims_supported");
	assert_true(json_is_array(a));
	for (size_t i = 0; i < sizeof(issued) / sizeof(issued[0]); i++) {
		bool found = false;

		for (size_t k = 0; k < json_array_size(a); k++)
			found = found || strcmp(json_string_value(json_array_get(a, k)),
			    issued[i]) == 0;
		if (!found)
			fail_msg("claims_supported lacks %s", issued[i]);
	}
	json_decref(d);
}


/* ---- through HTTP ----------------------------------------------------------------------- */

struct reply {
	long status;
	struct yh_buf headers;
	struct yh_buf body;
};

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;

	return yh_buf_append(&r->body, p, size * n) == 0 ? size * n : 0;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;

	return yh_buf_append(&r->headers, p, size * n) == 0 ? size * n : 0;
}

/* One request; post_body NULL = GET. */
static void
fetch(uint16_t port, const char *path, const char *post_body, const char *cookie,
    struct reply *r)
{
	CURL *c = curl_easy_init();
	char url[4096];

	assert_non_null(c);
	memset(r, 0, sizeof(*r));
	yh_buf_init(&r->headers, 1 << 16);
	yh_buf_init(&r->body, 1 << 20);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", (unsigned)port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	if (post_body != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post_body);
	if (cookie != NULL)
		curl_easy_setopt(c, CURLOPT_COOKIE, cookie);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_cleanup(c);
}

static void
reply_free(struct reply *r)
{
	yh_buf_free(&r->headers);
	yh_buf_free(&r->body);
}

static bool
has_header(const struct reply *r, const char *line_start)
{
	return strcasestr(yh_buf_cstr(&r->headers), line_start) != NULL;
}

static void
test_http_endpoints(void **state)
{
	struct fix *f = *state;
	struct http_opts o = { .listen = "127.0.0.1:0", .threads = 2, .max_body = 65536,
	    .max_header = 16384, .connection_timeout = 10, .max_connections = 64 };
	struct http_server *srv = NULL;
	struct sess_info si;
	char err[256], tok[SESS_TOKEN_SIZE], cookie[80];
	struct reply r;
	uint16_t port;
	json_t *j;

	assert_int_equal(http_server_new(&o, &srv, err, sizeof(err)), 0);
	assert_int_equal(oidc_discovery_register(srv, &f->app), 0);
	assert_int_equal(oidc_authorize_register(srv, &f->app), 0);
	assert_int_equal(oidc_logout_register(srv, &f->app), 0);
	assert_int_equal(http_server_start(srv, err, sizeof(err)), 0);
	port = http_server_port(srv);

	fetch(port, "/.well-known/openid-configuration", NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_true(has_header(&r, "Cache-Control: public, max-age="));
	j = json_loads(yh_buf_cstr(&r.body), 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "issuer")), ISS);
	json_decref(j);
	reply_free(&r);
	fetch(port, "/jwks", NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	j = json_loads(yh_buf_cstr(&r.body), 0, NULL);
	assert_true(json_array_size(json_object_get(j, "keys")) >= 2);
	json_decref(j);
	reply_free(&r);

	/* a bad redirect URI: a page, no Location */
	fetch(port, "/authorize?response_type=code&client_id=web&redirect_uri=https://evil.example/",
	    NULL, NULL, &r);
	assert_int_equal(r.status, 400);
	assert_false(has_header(&r, "\nLocation:"));
	assert_true(has_header(&r, "Content-Type: text/html"));
	assert_non_null(strstr(yh_buf_cstr(&r.body), "<html"));
	reply_free(&r);
	/* repeated state through HTTP: invalid_request to the redirect URI */
	fetch(port, "/authorize?" WEB "&scope=openid&state=a&state=b", NULL, NULL, &r);
	assert_int_equal(r.status, 302);
	assert_true(has_header(&r, "Location: " RP "?error=invalid_request"));
	reply_free(&r);
	/* GET and POST without a session: to /login */
	fetch(port, "/authorize?" WEB "&scope=openid&state=x", NULL, NULL, &r);
	assert_int_equal(r.status, 302);
	assert_true(has_header(&r, "Location: /login?next=%2Fauthorize%3F"));
	assert_true(has_header(&r, "Cache-Control: no-store"));
	reply_free(&r);
	fetch(port, "/authorize", WEB "&scope=openid&state=x", NULL, &r);
	assert_int_equal(r.status, 302);
	assert_true(has_header(&r, "Location: /login?next=%2Fauthorize%3F"));
	reply_free(&r);
	/* with a session: the code */
	login(f, f->uid1, 1, false, 0, tok, &si);
	snprintf(cookie, sizeof(cookie), "yh_sid=%s", tok);
	fetch(port, "/authorize?" WEB "&scope=openid&state=x", NULL, cookie, &r);
	assert_int_equal(r.status, 302);
	assert_true(has_header(&r, "Location: " RP "?code="));
	reply_free(&r);

	/* logout without a hint: a GET (a link or an image from anywhere) only asks */
	fetch(port, "/logout?client_id=web&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F",
	    NULL, cookie, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(yh_buf_cstr(&r.body), "name=\"confirm\""));
	assert_false(has_header(&r, "Set-Cookie: yh_sid=; Path=/; Max-Age=0"));
	reply_free(&r);
	assert_int_equal(sess_get(f->sess, tok, 0, &si), 0);
	/* the confirming POST without its CSRF token is refused, the session lives on */
	fetch(port, "/logout", "confirm=1&client_id=web", cookie, &r);
	assert_int_equal(r.status, 400);
	reply_free(&r);
	assert_int_equal(sess_get(f->sess, tok, 0, &si), 0);
	/* with it: an unregistered URI gets the page; the cookie is cleared. The token is
	 * the session's: one made for a yh_csrf cookie of the sender's choosing is not. */
	{
		const struct keys *key = f->app.keys;
		char csrf_cookie[CSRF_TOKEN_SIZE], csrf[CSRF_TOKEN_SIZE], body[512], cookies[600];

		assert_int_equal(csrf_cookie_new(csrf_cookie), 0);
		assert_int_equal(csrf_token_make(key, CSRF_BIND_PRE, csrf_cookie, "logout", csrf),
		    0);
		snprintf(cookies, sizeof(cookies), "%s; yh_csrf=%s", cookie, csrf_cookie);
		snprintf(body, sizeof(body), "confirm=1&csrf=%s&client_id=web&"
		    "post_logout_redirect_uri=https%%3A%%2F%%2Fevil.example%%2F", csrf);
		fetch(port, "/logout", body, cookies, &r);
		assert_int_equal(r.status, 400);
		reply_free(&r);
		assert_int_equal(sess_get(f->sess, tok, 0, &si), 0);
		assert_int_equal(csrf_token_make(key, CSRF_BIND_SESSION, si.key, "logout", csrf),
		    0);
		snprintf(body, sizeof(body), "confirm=1&csrf=%s&client_id=web&"
		    "post_logout_redirect_uri=https%%3A%%2F%%2Fevil.example%%2F", csrf);
		fetch(port, "/logout", body, cookie, &r);
	}
	assert_int_equal(r.status, 200);
	assert_false(has_header(&r, "\nLocation:"));
	assert_true(has_header(&r, "Set-Cookie: yh_sid=; Path=/; Max-Age=0"));
	reply_free(&r);
	assert_int_equal(sess_get(f->sess, tok, 0, &si), YH_ERR_NOT_FOUND);
	/* a registered URI: back to the app with state */
	fetch(port, "/logout", "client_id=web&post_logout_redirect_uri="
	    "https%3A%2F%2Frp.example.gov.cn%2Fbye&state=S", NULL, &r);
	assert_int_equal(r.status, 302);
	assert_true(has_header(&r, "Location: " RP_LOGOUT "?state=S"));
	reply_free(&r);

	http_server_free(srv);
}

/* ---- rule 5b: the organization choice ------------------------------------------------ */

#define ORGAPP "response_type=code&client_id=orgapp&redirect_uri=" \
	"https%3A%2F%2Frp.example.gov.cn%2Fcb&scope=openid+org"

static void
add_org(struct fix *f, const char *uscc, const char *rep, char *uid)
{
	struct dir_org o;

	memset(&o, 0, sizeof(o));
	o.uscc = (char *)uscc;
	o.name = (char *)"星海贸易有限公司";
	o.status = DIR_STATUS_ACTIVE;
	assert_int_equal(yh_strlcpy(o.legal_rep_uid, rep, sizeof(o.legal_rep_uid)), 0);
	assert_int_equal(dir_org_add(f->ident->dir, &o, "test", uid), 0);
}

static void push(struct fix *f, const char *query, char uri[OIDC_PAR_URI_SIZE]);

/* Decides query for the session tok, with a choice posted from the page when org is
 * not NULL; returns the step. */
static enum oidc_az_step
run_org(struct fix *f, const char *query, const char *tok, const char *org, int64_t now,
    struct oidc_az_result *res)
{
	struct oidc_az_params p;
	char q[2048];

	snprintf(q, sizeof(q), "%s%s%s", query, org != NULL ? "&org=" : "",
	    org != NULL ? org : "");
	assert_int_equal(oidc_az_params_parse(yh_span_cstr(q), &p), 0);
	p.org_confirmed = org != NULL;
	p.browser = f->browser;
	assert_int_equal(oidc_az_decide(&f->app, &p, tok, now, res), 0);
	oidc_az_params_clear(&p);
	return res->step;
}

/* The grant of the code in res: its org and role (NULL: acting as the person). */
static void
assert_code_org(struct fix *f, struct oidc_az_result *res, const char *org, const char *role)
{
	char *code, *payload = NULL;
	struct oidc_grant g;

	assert_int_equal(res->step, OIDC_AZ_STEP_CODE);
	assert_non_null(code = url_param(res->location, "code"));
	assert_int_equal(sess_code_take(f->sess, "orgapp", code, NULL, &payload, NULL), 0);
	assert_int_equal(oidc_grant_parse(payload, &g), 0);
	if (org == NULL) {
		assert_null(g.org);
		assert_null(g.org_role);
	} else {
		assert_string_equal(g.org, org);
		assert_string_equal(g.org_role, role);
	}
	oidc_grant_clear(&g);
	free(payload);
	free(code);
	oidc_az_result_clear(res);
}

/*
 * The href of the language switch link of the page in body (the header's link with
 * hreflang), HTML-unescaped (&amp; to &): malloc'd.
 */
static char *
switch_href(const char *body)
{
	const char *a = strstr(body, "<header"), *h, *e;
	struct yh_buf b;

	assert_non_null(a);
	assert_non_null(h = strstr(a, "<a href=\""));
	h += strlen("<a href=\"");
	assert_non_null(e = strchr(h, '"'));
	assert_non_null(strstr(e, "hreflang="));
	yh_buf_init(&b, 8192);
	while (h < e) {
		if (strncmp(h, "&amp;", 5) == 0) {
			assert_int_equal(yh_buf_puts(&b, "&"), 0);
			h += 5;
		} else {
			assert_int_equal(yh_buf_append(&b, h++, 1), 0);
		}
	}
	return yh_buf_steal(&b);
}

/*
 * The organization choice page through HTTP (GET, and POST as the form's own answer
 * would come): its language switch link carries the authorization request, so that
 * following it shows the same page in the other language, not an error.
 */
static void
org_page_switch(struct fix *f, const char *tok)
{
	struct http_opts o = { .listen = "127.0.0.1:0", .threads = 2, .max_body = 65536,
	    .max_header = 16384, .connection_timeout = 10, .max_connections = 64 };
	struct http_server *srv = NULL;
	char err[256], cookie[80];
	struct reply r;
	uint16_t port;
	char *href;

	assert_int_equal(http_server_new(&o, &srv, err, sizeof(err)), 0);
	assert_int_equal(oidc_authorize_register(srv, &f->app), 0);
	assert_int_equal(http_server_start(srv, err, sizeof(err)), 0);
	port = http_server_port(srv);
	snprintf(cookie, sizeof(cookie), "yh_sid=%s", tok);
	for (int post = 0; post < 2; post++) {
		if (post)
			fetch(port, "/authorize", ORGAPP "&state=st%26x&nonce=n1", cookie, &r);
		else
			fetch(port, "/authorize?" ORGAPP "&state=st%26x&nonce=n1", NULL, cookie,
			    &r);
		assert_int_equal(r.status, 200);
		assert_non_null(strstr(yh_buf_cstr(&r.body), "<html lang=\"zh-CN\">"));
		assert_non_null(strstr(yh_buf_cstr(&r.body), "name=\"org\""));
		href = switch_href(yh_buf_cstr(&r.body));
		reply_free(&r);
		assert_true(strncmp(href, "/authorize?", 11) == 0);
		assert_param(href, "lang", "en");
		assert_param(href, "response_type", "code");
		assert_param(href, "client_id", "orgapp");
		assert_param(href, "redirect_uri", RP);
		assert_param(href, "scope", "openid org");
		assert_param(href, "state", "st&x");
		assert_param(href, "nonce", "n1");
		assert_param(href, "org", NULL);
		/* following it: the same page, in English, the choice still to make */
		fetch(port, href, NULL, cookie, &r);
		free(href);
		assert_int_equal(r.status, 200);
		assert_non_null(strstr(yh_buf_cstr(&r.body), "<html lang=\"en\">"));
		assert_non_null(strstr(yh_buf_cstr(&r.body), "name=\"org\""));
		assert_true(has_header(&r, "Set-Cookie: yh_lang=en"));
		reply_free(&r);
	}
	http_server_free(srv);
}

static void
test_org_choice(void **state)
{
	struct fix *f = *state;
	struct oidc_az_result res;
	struct sess_info si;
	struct dir_mandate m;
	char a[19], b[19], oa[DIR_UID_LEN + 1], ob[DIR_UID_LEN + 1], uid4[DIR_UID_LEN + 1];
	char tok1[SESS_TOKEN_SIZE], tok2[SESS_TOKEN_SIZE], tok4[SESS_TOKEN_SIZE], q[1024];
	int64_t until = f->now + 3600;

	add_client(f, "orgapp", CLIENTS_AUTH_SECRET, 1, CLIENTS_SCOPE_OPENID | CLIENTS_SCOPE_ORG);
	make_uscc("91", "M0002001", a);
	make_uscc("91", "M0002002", b);
	add_org(f, a, f->uid1, oa);        /* uid1: legal representative of a */
	add_org(f, b, "", ob);             /* uid2: agent of b until `until` */
	memset(&m, 0, sizeof(m));
	memcpy(m.person_uid, f->uid2, sizeof(m.person_uid));
	memcpy(m.org_uid, ob, sizeof(m.org_uid));
	m.role = (char *)DIR_ROLE_AGENT;
	m.until = until;
	m.scopes = (char *)"tax";
	assert_int_equal(dir_mandate_add(f->ident->dir, &m, "test", NULL), 0);
	add_person(f, 4, 1, uid4);         /* no relation */
	login(f, f->uid1, 1, false, f->now - 30, tok1, &si);
	login(f, f->uid2, 2, false, f->now - 30, tok2, &si);
	login(f, uid4, 1, false, f->now - 30, tok4, &si);

	/* no relation: no page, whatever org_hint says */
	assert_int_equal(run_org(f, ORGAPP, tok4, NULL, f->now, &res), OIDC_AZ_STEP_CODE);
	assert_code_org(f, &res, NULL, NULL);
	snprintf(q, sizeof(q), "%s&org_hint=%s", ORGAPP, b);
	assert_int_equal(run_org(f, q, tok4, NULL, f->now, &res), OIDC_AZ_STEP_CODE);
	assert_code_org(f, &res, NULL, NULL);
	/* an app without scope org: no page for anyone */
	assert_int_equal(run_org(f, WEB "&scope=openid+org", tok2, NULL, f->now, &res),
	    OIDC_AZ_STEP_CODE);
	oidc_az_result_clear(&res);

	/* the agent: the page, listing b alone, nothing preselected, the session's key */
	assert_int_equal(run_org(f, ORGAPP, tok2, NULL, f->now, &res), OIDC_AZ_STEP_ORG);
	assert_int_equal(res.status, 200);
	assert_null(res.location);
	assert_int_equal(res.norgs, 1);
	assert_string_equal(res.orgs[0].uscc, b);
	assert_string_equal(res.orgs[0].role, "agent");
	assert_string_equal(res.org_selected, "");
	assert_int_equal(strlen(res.sess_key), SESS_KEY_SIZE - 1);
	assert_string_equal(res.pushed_uri, "");
	oidc_az_result_clear(&res);
	/* a pushed request: the page gets a new request_uri for its form to carry, and the
	 * choice posted with it decides */
	{
		char uri[OIDC_PAR_URI_SIZE], pq[1024];
		struct yh_buf eb;

		push(f, ORGAPP "&state=org-pushed", uri);
		yh_buf_init(&eb, sizeof(pq));
		assert_int_equal(yh_url_pct_encode(&eb, uri), 0);
		snprintf(pq, sizeof(pq), "client_id=orgapp&request_uri=%s", yh_buf_cstr(&eb));
		yh_buf_free(&eb);
		assert_int_equal(run_org(f, pq, tok2, NULL, f->now, &res), OIDC_AZ_STEP_ORG);
		assert_true(strncmp(res.pushed_uri, OIDC_PAR_URN, strlen(OIDC_PAR_URN)) == 0);
		yh_buf_init(&eb, sizeof(pq));
		assert_int_equal(yh_url_pct_encode(&eb, res.pushed_uri), 0);
		snprintf(pq, sizeof(pq), "client_id=orgapp&request_uri=%s", yh_buf_cstr(&eb));
		yh_buf_free(&eb);
		oidc_az_result_clear(&res);
		assert_int_equal(run_org(f, pq, tok2, b, f->now, &res), OIDC_AZ_STEP_CODE);
		assert_param(res.location, "state", "org-pushed");
		assert_code_org(f, &res, b, "agent");
	}
	/* an org value that did not come from the page's form counts for nothing */
	snprintf(q, sizeof(q), "%s&org=%s", ORGAPP, b);
	assert_int_equal(run_org(f, q, tok2, NULL, f->now, &res), OIDC_AZ_STEP_ORG);
	oidc_az_result_clear(&res);
	/* prompt=none cannot show it */
	assert_int_equal(run_org(f, ORGAPP "&prompt=none", tok2, NULL, f->now, &res),
	    OIDC_AZ_STEP_ERROR);
	assert_string_equal(res.error, "account_selection_required");
	oidc_az_result_clear(&res);

	/* org_hint that holds: no page; with prompt=select_account: the page, preselected */
	snprintf(q, sizeof(q), "%s&org_hint=%s", ORGAPP, b);
	assert_int_equal(run_org(f, q, tok2, NULL, f->now, &res), OIDC_AZ_STEP_CODE);
	assert_code_org(f, &res, b, "agent");
	snprintf(q, sizeof(q), "%s&org_hint=%s&prompt=select_account", ORGAPP, b);
	assert_int_equal(run_org(f, q, tok2, NULL, f->now, &res), OIDC_AZ_STEP_ORG);
	assert_string_equal(res.org_selected, b);
	oidc_az_result_clear(&res);
	/* org_hint that does not hold: ignored, the page as without it */
	snprintf(q, sizeof(q), "%s&org_hint=%s", ORGAPP, a);
	assert_int_equal(run_org(f, q, tok2, NULL, f->now, &res), OIDC_AZ_STEP_ORG);
	assert_string_equal(res.org_selected, "");
	oidc_az_result_clear(&res);

	/* the answers from the page: the enterprise, oneself, and a forged code */
	assert_int_equal(run_org(f, ORGAPP "&prompt=select_account", tok2, b, f->now, &res),
	    OIDC_AZ_STEP_CODE);
	assert_code_org(f, &res, b, "agent");
	assert_int_equal(run_org(f, ORGAPP, tok2, "self", f->now, &res), OIDC_AZ_STEP_CODE);
	assert_code_org(f, &res, NULL, NULL);
	assert_int_equal(run_org(f, ORGAPP, tok2, a, f->now, &res), OIDC_AZ_STEP_PAGE);
	assert_int_equal(res.status, 403);
	assert_int_equal(res.msg, PAGE_MSG_AZ_ORG_REFUSED);
	assert_null(res.location);
	oidc_az_result_clear(&res);
	assert_int_equal(run_org(f, ORGAPP, tok2, "bogus", f->now, &res), OIDC_AZ_STEP_PAGE);
	assert_int_equal(res.status, 403);
	oidc_az_result_clear(&res);
	/* the legal representative is offered a */
	assert_int_equal(run_org(f, ORGAPP, tok1, NULL, f->now, &res), OIDC_AZ_STEP_ORG);
	assert_string_equal(res.orgs[0].uscc, a);
	assert_string_equal(res.orgs[0].role, "legal_rep");
	oidc_az_result_clear(&res);
	/* through HTTP: the page's language switch keeps the request */
	org_page_switch(f, tok2);

	/* once the agent's grant has expired: no page, and the old choice is refused */
	assert_int_equal(run_org(f, ORGAPP, tok2, NULL, until + 1, &res), OIDC_AZ_STEP_CODE);
	assert_code_org(f, &res, NULL, NULL);
	assert_int_equal(run_org(f, ORGAPP, tok2, b, until + 1, &res), OIDC_AZ_STEP_PAGE);
	oidc_az_result_clear(&res);
}

/* ---- pushed authorization requests (RFC 9126) ------------------------------------------ */

/* Pushes query (checked as /par does) and writes its request_uri to uri. */
static void
push(struct fix *f, const char *query, char uri[OIDC_PAR_URI_SIZE])
{
	struct oidc_az_params p;
	struct clients_snap *cs = clients_acquire(f->clients);
	const char *desc = NULL, *error;

	assert_int_equal(oidc_az_params_parse(yh_span_cstr(query), &p), 0);
	error = oidc_az_check(&f->app, cs, &p, &desc);
	if (error != NULL)
		fail_msg("%s: %s (%s)", query, error, desc);
	assert_int_equal(oidc_par_store(&f->app, &p, 60, uri), 0);
	assert_true(strncmp(uri, "urn:ietf:params:oauth:request_uri:", 34) == 0);
	oidc_az_params_clear(&p);
	clients_release(cs);
}

/* The error oidc_az_check gives query ("" for none). */
static const char *
check_error(struct fix *f, const char *query)
{
	struct oidc_az_params p;
	struct clients_snap *cs = clients_acquire(f->clients);
	const char *desc = NULL, *error;

	assert_int_equal(oidc_az_params_parse(yh_span_cstr(query), &p), 0);
	error = oidc_az_check(&f->app, cs, &p, &desc);
	oidc_az_params_clear(&p);
	clients_release(cs);
	return error != NULL ? error : "";
}

/* /authorize?client_id=client&request_uri=uri[&more] with the cookie. */
static enum oidc_az_step
run_pushed(struct fix *f, const char *client, const char *uri, const char *more,
    const char *cookie, struct oidc_az_result *res)
{
	char q[1024];
	struct yh_buf b;
	enum oidc_az_step st;

	yh_buf_init(&b, sizeof(q));
	assert_int_equal(yh_buf_puts(&b, "client_id="), 0);
	assert_int_equal(yh_buf_puts(&b, client), 0);
	assert_int_equal(yh_buf_puts(&b, "&request_uri="), 0);
	assert_int_equal(yh_url_pct_encode(&b, uri), 0);
	assert_int_equal(yh_buf_puts(&b, more), 0);
	snprintf(q, sizeof(q), "%s", yh_buf_cstr(&b));
	yh_buf_free(&b);
	st = run(f, q, cookie, res);
	return st;
}

static void
expect_uri_refused(struct fix *f, const char *client, const char *uri, const char *cookie)
{
	struct oidc_az_result res;

	assert_int_equal(run_pushed(f, client, uri, "", cookie, &res), OIDC_AZ_STEP_PAGE);
	assert_string_equal(res.error, "invalid_request_uri");
	assert_int_equal(res.status, 400);
	assert_int_equal(res.msg, PAGE_MSG_AZ_REQUEST_URI);
	oidc_az_result_clear(&res);
}

static void
test_pushed_request(void **state)
{
	struct fix *f = *state;
	struct oidc_az_result res;
	struct sess_info si;
	char tok[SESS_TOKEN_SIZE], uri[OIDC_PAR_URI_SIZE];
	char *code, *payload = NULL, *next, *v;
	struct oidc_grant g;

	/* the pushed parameters are used; those of the browser's request are not */
	login(f, f->uid1, 1, false, f->now - 30, tok, &si);
	push(f, WEB "&scope=openid+phone&state=pushed&nonce=N-2&code_challenge=" CHAL
	    "&code_challenge_method=S256", uri);
	assert_int_equal(run_pushed(f, "web", uri, "&state=other&scope=openid+profile"
	    "&redirect_uri=https%3A%2F%2Fevil.example%2F", tok, &res), OIDC_AZ_STEP_CODE);
	assert_true(strncmp(res.location, RP "?code=", strlen(RP) + 6) == 0);
	assert_param(res.location, "state", "pushed");
	code = url_param(res.location, "code");
	assert_int_equal(sess_code_take(f->sess, "web", code, NULL, &payload, NULL), 0);
	assert_int_equal(oidc_grant_parse(payload, &g), 0);
	assert_string_equal(g.scope, "openid phone");
	assert_string_equal(g.nonce, "N-2");
	assert_string_equal(g.code_challenge, CHAL);
	oidc_grant_clear(&g);
	free(payload);
	free(code);
	oidc_az_result_clear(&res);
	/* single use */
	expect_uri_refused(f, "web", uri, tok);

	/* bound to the client that pushed it, and taking it as another's leaves it be */
	push(f, WEB "&scope=openid&state=s", uri);
	expect_uri_refused(f, "strict", uri, tok);
	assert_int_equal(run_pushed(f, "web", uri, "", tok, &res), OIDC_AZ_STEP_CODE);
	oidc_az_result_clear(&res);
	/* unknown, malformed, a code rather than a request_uri */
	expect_uri_refused(f, "web", "urn:ietf:params:oauth:request_uri:xyz", tok);
	expect_uri_refused(f, "web", "urn:ietf:params:oauth:request_uri:", NULL);
	/* an unknown client_id is rule 1's page */
	push(f, WEB "&scope=openid", uri);
	assert_int_equal(run_pushed(f, "nobody", uri, "", tok, &res), OIDC_AZ_STEP_PAGE);
	assert_string_equal(res.error, "invalid_client");
	oidc_az_result_clear(&res);

	/* a detour keeps the request pushed: next names a new request_uri, and neither it
	 * nor /login's URL carries login_hint */
	push(f, WEB "&scope=openid&state=st&login_hint=13800138000&prompt=login", uri);
	assert_int_equal(run_pushed(f, "web", uri, "", NULL, &res), OIDC_AZ_STEP_LOGIN);
	assert_param(res.location, "login_hint", NULL);
	assert_null(strstr(res.location, "13800138000"));
	next = url_param(res.location, "next");
	assert_non_null(next);
	assert_param(next, "client_id", "web");
	assert_param(next, "redirect_uri", NULL);
	v = url_param(next, "request_uri");
	assert_non_null(v);
	assert_string_not_equal(v, uri);
	free(v);
	oidc_az_result_clear(&res);
	/* resumed after the login it asked for: the code, for the pushed state */
	f->now += 20;
	login(f, f->uid1, 1, false, f->now - 3, tok, &si);
	assert_int_equal(run(f, strchr(next, '?') + 1, tok, &res), OIDC_AZ_STEP_CODE);
	assert_param(res.location, "state", "st");
	oidc_az_result_clear(&res);
	free(next);

	/* prompt=consent: /consent gets what it reads (client, redirect URI, scope, state)
	 * and a request stored without consent in its prompt, so coming back from the
	 * consent page ends in a code, not in the page again */
	push(f, WEB "&scope=openid&state=c1&prompt=consent&login_hint=13800138000", uri);
	assert_int_equal(run_pushed(f, "web", uri, "", tok, &res), OIDC_AZ_STEP_CONSENT);
	assert_null(strstr(res.location, "13800138000"));
	next = url_param(res.location, "next");
	assert_param(next, "client_id", "web");
	assert_param(next, "redirect_uri", RP);
	assert_param(next, "scope", "openid");
	assert_param(next, "state", "c1");
	assert_param(next, "login_hint", NULL);
	oidc_az_result_clear(&res);
	assert_int_equal(run(f, strchr(next, '?') + 1, tok, &res), OIDC_AZ_STEP_CODE);
	assert_param(res.location, "state", "c1");
	oidc_az_result_clear(&res);
	free(next);
}

static void
test_pushed_checks_and_require_par(void **state)
{
	struct fix *f = *state;
	struct oidc_az_result res;
	struct clients_client c;
	const char *uris[1] = { RP };
	char err[256], tok[SESS_TOKEN_SIZE], uri[OIDC_PAR_URI_SIZE];
	struct sess_info si;

	/* /par checks as /authorize does, every refusal an error code */
	assert_string_equal(check_error(f, WEB "&scope=openid"), "");
	assert_string_equal(check_error(f, "response_type=code&client_id=web"
	    "&redirect_uri=https://evil.example/cb&scope=openid"), "invalid_request");
	assert_string_equal(check_error(f, "response_type=token&client_id=web"
	    "&redirect_uri=" RP "&scope=openid"), "unsupported_response_type");
	assert_string_equal(check_error(f, WEB "&scope=profile"), "invalid_scope");
	assert_string_equal(check_error(f, WEB "&scope=openid&prompt=none+login"),
	    "invalid_request");
	assert_string_equal(check_error(f, WEB "&scope=openid&max_age=soon"),
	    "invalid_request");
	assert_string_equal(check_error(f, WEB "&scope=openid&request=eyJ"),
	    "request_not_supported");
	/* PKCE where /authorize requires it: a public client */
	assert_string_equal(check_error(f, "response_type=code&client_id=mobile&redirect_uri="
	    NATIVE "&scope=openid"), "invalid_request");
	assert_string_equal(check_error(f, "response_type=code&client_id=mobile&redirect_uri="
	    NATIVE "&scope=openid&code_challenge=" CHAL "&code_challenge_method=S256"), "");

	/* an app registered with require_pushed_authorization_requests */
	clients_client_init(&c);
	assert_int_equal(yh_strlcpy(c.id, "parapp", sizeof(c.id)), 0);
	c.auth = CLIENTS_AUTH_SECRET;
	c.redirect_uris = uris;
	c.n_redirect_uris = 1;
	c.scopes = CLIENTS_SCOPE_OPENID;
	c.require_par = true;
	assert_int_equal(clients_add(f->clients, &c, "a long enough client secret for the "
	    "unit test of authorize", err, sizeof(err)), 0);
	login(f, f->uid1, 1, false, f->now - 30, tok, &si);
	assert_int_equal(run(f, "response_type=code&client_id=parapp&redirect_uri=" RP
	    "&scope=openid&state=s", tok, &res), OIDC_AZ_STEP_ERROR);
	assert_string_equal(res.error, "invalid_request");
	assert_param(res.location, "state", "s");
	oidc_az_result_clear(&res);
	push(f, "response_type=code&client_id=parapp&redirect_uri=" RP "&scope=openid", uri);
	assert_int_equal(run_pushed(f, "parapp", uri, "", tok, &res), OIDC_AZ_STEP_CODE);
	oidc_az_result_clear(&res);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_bad_client_or_uri_gives_page),
		T(test_errors_redirect),
		T(test_public_client_needs_pkce),
		T(test_error_location_builder),
		T(test_params_read_once),
		T(test_no_session_goes_to_login),
		T(test_disabled_person_is_no_session),
		T(test_code_issued),
		T(test_post_body_parses_like_query),
		T(test_prompt_login_loop_ends),
		T(test_max_age),
		T(test_reauth_marker_not_forgeable),
		T(test_step_up_or_unmet),
		T(test_consent),
		T(test_org_choice),
		T(test_unauthorized_and_scope_rules),
		T(test_logout_redirect_rules),
		T(test_logout_hint_must_match),
		T(test_discovery_doc),
		T(test_http_endpoints),
		T(test_pushed_request),
		T(test_pushed_checks_and_require_par),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
