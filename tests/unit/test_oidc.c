/*
 * Unit tests for the token side of the OIDC provider: authd/oidc/common.c (errors,
 * scopes, LoA, pairwise sub, grants, claims, sealed references) and, through a real
 * HTTP server on a loopback port driven by libcurl, /token (three grants, four client
 * authentication methods), /userinfo, /introspect and /revoke.
 */
#define _GNU_SOURCE     /* strcasestr */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "authcore/audit/audit.h"
#include "authcore/clients/clients.h"
#include "authd/http/http.h"
#include "authd/login/qr.h"
#include "authd/oidc/device.h"
#include "authd/oidc/oidc.h"
#include "authd/oidc/token.h"
#include "authd/app.h"
#include "authd/keyd/keys.h"
#include "authd/session/sess.h"
#include "common/b64.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/secmem.h"
#include "common/timeutil.h"
#include "identity/match/matchkey.h"
#include "identity/dir/dir.h"
#include "identity/identity.h"
#include "identity/idn/idnum.h"
#include "token/jwk.h"
#include "token/jwt.h"
#include "token/keyring.h"
#include "tests/unit/codes.h"

#define REDIRECT "http://127.0.0.1:9/cb"
#define SECRET "conf-secret-0123456789-abcdefghijklmnop"
#define VERIFIER "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" /* RFC 7636 B */

struct fx {
	char root[64];
	char issuer[64];
	struct ident_cfg icfg;
	struct ident *id;
	struct tok_ring *ring;
	struct sess_store *sess;
	struct clients_registry *clients;
	struct yh_audit *audit;
	struct http_server *srv;
	struct authd_app app;
	struct tok_key *cakey;      /* private_key_jwt client's key */
	struct tok_key *otherkey;   /* a key nobody registered */
	char uid[DIR_UID_LEN + 1];
	char id_number[19];
	char stoken[SESS_TOKEN_SIZE];
	char sid[SESS_PUBID_SIZE];
	uint16_t port;
};

static struct fx *F;

/* ---- fixture --------------------------------------------------------------------------- */

static void
add_client(struct fx *f, const char *id, enum clients_auth auth, unsigned scopes,
    unsigned grants, bool idn, const char *sector, const char *jwks)
{
	const char *uris[1] = { REDIRECT };
	struct clients_client c;
	char err[256];

	clients_client_init(&c);
	assert_int_equal(yh_strlcpy(c.id, id, sizeof(c.id)), 0);
	c.auth = auth;
	c.require_pkce = auth == CLIENTS_AUTH_NONE;
	c.redirect_uris = uris;
	c.n_redirect_uris = 1;
	c.scopes = scopes;
	c.grants = grants;
	c.allow_id_number = idn;
	c.sector = sector;
	c.jwks_json = jwks;
	if (clients_add(f->clients, &c, auth == CLIENTS_AUTH_SECRET ? SECRET : NULL, err,
	    sizeof(err)) != 0)
		fail_msg("clients_add %s: %s", id, err);
}

static void
add_person(struct fx *f)
{
	struct dir_person p;

	snprintf(f->id_number, sizeof(f->id_number), "11010119900307%03d", 123);
	f->id_number[17] = idn_resident_check_char(f->id_number);
	f->id_number[18] = '\0';
	memset(&p, 0, sizeof(p));
	p.id_number = f->id_number;
	p.name = (char *)"张三";
	p.phone = (char *)"13812345678";
	p.email = (char *)"zhang@example.cn";
	p.loa.level = 2;
	p.loa.method = (char *)"registry";
	assert_int_equal(dir_person_add(f->id->dir, &p, f->uid), 0);
}

static void
new_session(struct fx *f)
{
	const char *amr[1] = { "pwd" };
	struct sess_auth a;
	struct sess_info info;

	memset(&a, 0, sizeof(a));
	a.uid = f->uid;
	a.loa = 2;
	a.amr = amr;
	a.namr = 1;
	assert_int_equal(sess_create(f->sess, &a, f->stoken, &info), 0);
	memcpy(f->sid, info.sid, sizeof(f->sid));
}

static char *
jwks_of(const struct tok_key *k)
{
	struct tok_keyset set;
	struct tok_key *pub = NULL;
	char *s = NULL;

	tok_keyset_init(&set);
	assert_int_equal(tok_key_public(k, &pub), 0);
	assert_int_equal(tok_keyset_add(&set, pub), 0);
	assert_int_equal(tok_jwks_export_string(&set, &s), 0);
	tok_keyset_clear(&set);
	tok_key_free(pub);
	return s;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct yh_cfg_err cerr;
	struct sess_config sc;
	struct tok_ring_opts ro;
	struct http_opts ho;
	char err[512], path[160];
	char *jwks;
	unsigned all = CLIENTS_SCOPE_OPENID | CLIENTS_SCOPE_PROFILE | CLIENTS_SCOPE_PHONE |
	    CLIENTS_SCOPE_EMAIL | CLIENTS_SCOPE_OFFLINE_ACCESS;

	assert_non_null(f);
	snprintf(f->root, sizeof(f->root), "/tmp/yh-test-oidc-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	/* identity */
	assert_int_equal(ident_cfg_init(&f->icfg, &cerr), 0);
	snprintf(path, sizeof(path), "%s/state", f->root);
	assert_int_equal(yh_cfg_set(ident_cfg_opts, &f->icfg, "state_dir", path, "t", &cerr), 0);
	assert_int_equal(ident_cfg_finish(&f->icfg, err, sizeof(err)), 0);
	if (ident_open(&f->icfg, true, &f->id, err, sizeof(err)) != 0)
		fail_msg("ident_open: %s", err);
	/* keys, sessions, clients, audit */
	memset(&ro, 0, sizeof(ro));
	ro.create = true;
	snprintf(path, sizeof(path), "%s/state/keys", f->root);
	assert_int_equal(tok_ring_open(path, &ro, &f->ring, err, sizeof(err)), 0);
	sess_config_defaults(&sc);
	sc.sweep_interval_ms = 0;
	assert_int_equal(sess_open(&sc, &f->sess), 0);
	snprintf(path, sizeof(path), "%s/state", f->root);
	struct clients_opts co = { .create = true, .check_interval_ms = -1 };
	assert_int_equal(clients_open(path, &co, &f->clients, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/audit.log", f->root);
	assert_int_equal(yh_audit_open(path, &f->audit, err, sizeof(err)), 0);
	assert_int_equal(tok_key_generate(TOK_ALG_ES256, 0, &f->cakey), 0);
	assert_int_equal(tok_key_generate(TOK_ALG_ES256, 0, &f->otherkey), 0);
	jwks = jwks_of(f->cakey);
	add_client(f, "conf", CLIENTS_AUTH_SECRET, all,
	    CLIENTS_GRANTS_DEFAULT | CLIENTS_GRANT_CLIENT_CREDENTIALS, false, NULL, NULL);
	add_client(f, "conf2", CLIENTS_AUTH_SECRET, all, CLIENTS_GRANTS_DEFAULT, false,
	    "sector.example", NULL);
	add_client(f, "pub", CLIENTS_AUTH_NONE, all, CLIENTS_GRANTS_DEFAULT, false, NULL, NULL);
	add_client(f, "jwtc", CLIENTS_AUTH_PRIVATE_KEY_JWT, all, CLIENTS_GRANTS_DEFAULT, false,
	    NULL, jwks);
	add_client(f, "idn", CLIENTS_AUTH_SECRET, all | CLIENTS_SCOPE_ID_NUMBER,
	    CLIENTS_GRANTS_DEFAULT, true, NULL, NULL);
	free(jwks);
	add_person(f);
	new_session(f);
	/* the app and the server */
	memset(&ho, 0, sizeof(ho));
	ho.listen = "127.0.0.1:0";
	ho.threads = 2;
	ho.max_body = 65536;
	ho.max_header = 16384;
	ho.connection_timeout = 10;
	ho.max_connections = 64;
	assert_int_equal(http_server_new(&ho, &f->srv, err, sizeof(err)), 0);
	f->port = http_server_port(f->srv);
	snprintf(f->issuer, sizeof(f->issuer), "http://127.0.0.1:%u", f->port);
	f->app.dir = f->id->dir;
	f->app.ident = f->id;
	f->app.ring = f->ring;
	f->app.sess = f->sess;
	f->app.clients = f->clients;
	f->app.audit = f->audit;
	f->app.issuer = f->issuer;
	{
		unsigned char sk[KEYS_KEY_LEN];

		assert_int_equal(yh_random(sk, sizeof(sk)), 0);
		assert_int_equal(keys_local_new(sk, NULL, &f->app.keys), 0);
	}
	assert_int_equal(oidc_token_register(f->srv, &f->app), 0);
	assert_int_equal(oidc_userinfo_register(f->srv, &f->app), 0);
	assert_int_equal(oidc_introspect_register(f->srv, &f->app), 0);
	assert_int_equal(oidc_cors_register(f->srv, &f->app), 0);
	assert_int_equal(http_server_start(f->srv, err, sizeof(err)), 0);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	F = f;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[160];

	http_server_free(f->srv);
	yh_audit_close(f->audit);
	clients_close(f->clients);
	sess_close(f->sess);
	tok_ring_free(f->ring);
	keys_free(f->app.keys);
	tok_key_free(f->cakey);
	tok_key_free(f->otherkey);
	ident_close(f->id);
	ident_cfg_free(&f->icfg);
	curl_global_cleanup();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* ---- HTTP helpers ------------------------------------------------------------------- */

struct resp {
	long status;
	struct yh_buf body;
	struct yh_buf headers;
	json_t *json;
};

static size_t
collect(char *p, size_t sz, size_t n, void *ud)
{
	struct yh_buf *b = ud;

	if (yh_buf_append(b, p, sz * n) != 0)
		return 0;
	return sz * n;
}

static void
resp_free(struct resp *r)
{
	yh_buf_free(&r->body);
	yh_buf_free(&r->headers);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

/* A request to path; body NULL = GET. auth: an Authorization header value or NULL;
 * origin: an Origin header value or NULL. */
static void
http_from(const char *method, const char *path, const char *body, const char *auth,
    const char *origin, struct resp *out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[256], hdr[20000];

	memset(out, 0, sizeof(*out));
	yh_buf_init(&out->body, 1 << 20);
	yh_buf_init(&out->headers, 1 << 16);
	assert_non_null(c);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", F->port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	if (auth != NULL) {
		snprintf(hdr, sizeof(hdr), "Authorization: %s", auth);
		h = curl_slist_append(h, hdr);
	}
	if (origin != NULL) {
		snprintf(hdr, sizeof(hdr), "Origin: %s", origin);
		h = curl_slist_append(h, hdr);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out->body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &out->headers);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	out->json = json_loads(yh_buf_cstr(&out->body), 0, NULL);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
}

static void
http(const char *method, const char *path, const char *body, const char *auth,
    struct resp *out)
{
	http_from(method, path, body, auth, NULL, out);
}

static void
post(const char *path, const char *body, const char *auth, struct resp *out)
{
	http("POST", path, body, auth, out);
}

static const char *
jstr(const struct resp *r, const char *name)
{
	return json_string_value(json_object_get(r->json, name));
}

static bool
has_header(const struct resp *r, const char *needle)
{
	return strcasestr(yh_buf_cstr(&r->headers), needle) != NULL;
}

/* "Basic base64(id:secret)" */
static void
basic(const char *id, const char *secret, char *out, size_t outsz)
{
	char raw[256], enc[400];

	snprintf(raw, sizeof(raw), "%s:%s", id, secret);
	yh_b64_encode((const unsigned char *)raw, strlen(raw), enc);
	snprintf(out, outsz, "Basic %s", enc);
}

static const char *
conf_auth(void)
{
	static char h[512];

	basic("conf", SECRET, h, sizeof(h));
	return h;
}

/* Stores a code for client with the fixture's session. */
static void
make_code(const char *client, const char *scope, const char *challenge, const char *nonce,
    char code[SESS_TOKEN_SIZE])
{
	struct oidc_grant g;
	char *payload = NULL;

	memset(&g, 0, sizeof(g));
	g.client_id = client;
	g.redirect_uri = REDIRECT;
	g.uid = F->uid;
	g.sid = F->sid;
	g.scope = scope;
	g.nonce = nonce;
	g.code_challenge = challenge;
	g.code_challenge_method = challenge != NULL ? "S256" : NULL;
	g.auth_time = yh_now() - 5;
	g.loa = 2;
	g.amr[0] = "pwd";
	g.namr = 1;
	assert_int_equal(oidc_grant_json(&g, &payload), 0);
	assert_int_equal(sess_code_new(F->sess, client, payload,
	    oidc_lifetime(NULL, OIDC_LT_CODE), code), 0);
	free(payload);
}

/* Redeems a code for conf with PKCE; asserts success. */
static void
redeem_conf(const char *scope, struct resp *out)
{
	char code[SESS_TOKEN_SIZE], body[512];

	make_code("conf", scope, CHALLENGE, "n-0S6_WzA2Mj", code);
	snprintf(body, sizeof(body), "grant_type=authorization_code&code=%s&redirect_uri=%s"
	    "&code_verifier=%s", code, "http%3A%2F%2F127.0.0.1%3A9%2Fcb", VERIFIER);
	post("/token", body, conf_auth(), out);
	if (out->status != 200)
		fail_msg("token: %ld %s", out->status, yh_buf_cstr(&out->body));
}

/* ---- pure helpers ------------------------------------------------------------------- */

static void
test_error_status(void **state)
{
	(void)state;
	assert_int_equal(oidc_error_status("invalid_client"), 401);
	assert_int_equal(oidc_error_status("invalid_grant"), 400);
	assert_int_equal(oidc_error_status("invalid_request"), 400);
	assert_int_equal(oidc_error_status("unsupported_grant_type"), 400);
	assert_int_equal(oidc_error_status("invalid_scope"), 400);
	assert_int_equal(oidc_error_status("unauthorized_client"), 400);
	assert_int_equal(oidc_error_status("invalid_token"), 401);
	assert_int_equal(oidc_error_status("insufficient_scope"), 403);
	assert_int_equal(oidc_error_status("temporarily_unavailable"), 503);
}

static void
test_url_param(void **state)
{
	struct yh_buf b;

	(void)state;
	yh_buf_init(&b, 1024);
	assert_int_equal(yh_buf_puts(&b, "https://app.example/cb"), 0);
	assert_int_equal(oidc_url_param(&b, "code", "a b&c=d/é"), 0);
	assert_int_equal(oidc_url_param(&b, "state", "x~y.z_-"), 0);
	assert_int_equal(oidc_url_param(&b, "nothing", NULL), 0);
	assert_string_equal(yh_buf_cstr(&b),
	    "https://app.example/cb?code=a%20b%26c%3Dd%2F%C3%A9&state=x~y.z_-");
	yh_buf_reset(&b);
	assert_int_equal(yh_buf_puts(&b, "https://app.example/cb?x=1"), 0);
	assert_int_equal(oidc_url_param(&b, "iss", "http://i"), 0);
	assert_string_equal(yh_buf_cstr(&b), "https://app.example/cb?x=1&iss=http%3A%2F%2Fi");
	yh_buf_free(&b);
}

static void
test_scopes(void **state)
{
	struct clients_snap *s = clients_acquire(F->clients);
	const struct clients_client *conf = clients_find(s, "conf"), *idn = clients_find(s, "idn");
	unsigned g = 0;

	(void)state;
	assert_non_null(conf);
	assert_int_equal(oidc_scope_grant(conf, "openid profile yh_id_number bogus", &g), 0);
	assert_int_equal(g, CLIENTS_SCOPE_OPENID | CLIENTS_SCOPE_PROFILE);
	assert_int_equal(oidc_scope_grant(idn, "openid  yh_id_number", &g), 0);
	assert_int_equal(g, CLIENTS_SCOPE_OPENID | CLIENTS_SCOPE_ID_NUMBER);
	assert_int_equal(oidc_scope_grant(conf, "openid\x01", &g), YH_ERR_INVALID);
	assert_int_equal(oidc_scope_narrow(CLIENTS_SCOPE_OPENID | CLIENTS_SCOPE_PROFILE, NULL, &g),
	    0);
	assert_int_equal(g, CLIENTS_SCOPE_OPENID | CLIENTS_SCOPE_PROFILE);
	assert_int_equal(oidc_scope_narrow(CLIENTS_SCOPE_OPENID | CLIENTS_SCOPE_PROFILE, "openid",
	    &g), 0);
	assert_int_equal(g, CLIENTS_SCOPE_OPENID);
	assert_int_equal(oidc_scope_narrow(CLIENTS_SCOPE_OPENID, "openid phone", &g),
	    YH_ERR_DENIED);
	assert_int_equal(oidc_scope_narrow(CLIENTS_SCOPE_OPENID, "openid bogus", &g),
	    YH_ERR_DENIED);
	clients_release(s);
}

static void
test_loa_acr(void **state)
{
	char acr[OIDC_ACR_SIZE];
	int l = -1;

	(void)state;
	assert_int_equal(oidc_loa_for(1, OIDC_AMR_PWD), 1);
	assert_int_equal(oidc_loa_for(2, OIDC_AMR_PWD), 2);
	assert_int_equal(oidc_loa_for(4, OIDC_AMR_PWD), 2);
	assert_int_equal(oidc_loa_for(1, OIDC_AMR_PWD | OIDC_AMR_OTP), 1);
	assert_int_equal(oidc_loa_for(2, OIDC_AMR_PWD | OIDC_AMR_OTP), 3);
	assert_int_equal(oidc_loa_for(3, OIDC_AMR_PWD | OIDC_AMR_OTP), 3);
	assert_int_equal(oidc_loa_for(4, OIDC_AMR_PWD | OIDC_AMR_OTP), 4);
	assert_int_equal(oidc_loa_for(5, OIDC_AMR_PWD | OIDC_AMR_OTP), 4);
	assert_int_equal(oidc_loa_for(4, OIDC_AMR_OTP), 0);
	assert_int_equal(oidc_loa_for(3, OIDC_AMR_OTP), 0);
	assert_int_equal(oidc_acr_format(3, acr), 0);
	assert_string_equal(acr, "urn:yihao:loa:3");
	assert_int_equal(oidc_acr_format(5, acr), YH_ERR_INVALID);
	assert_int_equal(oidc_acr_parse("urn:yihao:loa:2", &l), 0);
	assert_int_equal(l, 2);
	assert_int_equal(oidc_acr_parse("urn:yihao:loa:0", &l), YH_ERR_INVALID);
	assert_int_equal(oidc_acr_parse("urn:yihao:loa:22", &l), YH_ERR_INVALID);
	assert_int_equal(oidc_acr_values_min("foo urn:yihao:loa:3  urn:yihao:loa:2", &l), 0);
	assert_int_equal(l, 2);
	assert_int_equal(oidc_acr_values_min("urn:other", &l), 0);
	assert_int_equal(l, 0);
	assert_int_equal(oidc_acr_values_min(NULL, &l), 0);
	assert_int_equal(l, 0);
	assert_int_equal(oidc_acr_values_min("a\nb", &l), YH_ERR_INVALID);
}

static void
test_pairwise(void **state)
{
	unsigned char sk[32], mac[32], msg[64];
	char a[OIDC_SUB_SIZE], b[OIDC_SUB_SIZE], want[OIDC_SUB_SIZE];
	struct keys *key;
	unsigned int ml = 0;

	(void)state;
	memset(sk, 7, sizeof(sk));
	assert_int_equal(keys_local_new(sk, NULL, &key), 0);
	assert_int_equal(oidc_pairwise_sub(key, NULL, "portal", "u1", a), 0);
	assert_int_equal(oidc_pairwise_sub(key, NULL, "portal", "u1", b), 0);
	assert_string_equal(a, b);
	assert_int_equal(strlen(a), 43);
	memcpy(msg, "portal\0u1", 9);
	assert_non_null(HMAC(EVP_sha256(), sk, 32, msg, 9, mac, &ml));
	yh_b64url_encode(mac, 32, want);
	assert_string_equal(a, want);
	assert_int_equal(oidc_pairwise_sub(key, NULL, "other", "u1", b), 0);
	assert_string_not_equal(a, b);
	/* "portal" + "u1" must differ from "portalu" + "1": the NUL separates them */
	assert_int_equal(oidc_pairwise_sub(key, NULL, "portalu", "1", b), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(oidc_pairwise_sub(key, NULL, "", "u1", b), YH_ERR_INVALID);
	keys_free(key);
}

static void
test_grant_json(void **state)
{
	struct oidc_grant g, p;
	char *s = NULL;

	(void)state;
	memset(&g, 0, sizeof(g));
	g.client_id = "c";
	g.redirect_uri = REDIRECT;
	g.uid = "u";
	g.sid = "s";
	g.scope = "openid";
	g.nonce = "n\"x";
	g.code_challenge = CHALLENGE;
	g.code_challenge_method = "S256";
	g.auth_time = 1700000000;
	g.loa = 3;
	g.amr[0] = "pwd";
	g.amr[1] = "otp";
	g.namr = 2;
	assert_int_equal(oidc_grant_json(&g, &s), 0);
	assert_non_null(strstr(s, "\"acr\":\"urn:yihao:loa:3\""));
	assert_int_equal(oidc_grant_parse(s, &p), 0);
	assert_string_equal(p.client_id, "c");
	assert_string_equal(p.nonce, "n\"x");
	assert_string_equal(p.code_challenge, CHALLENGE);
	assert_int_equal(p.auth_time, 1700000000);
	assert_int_equal(p.loa, 3);
	assert_int_equal(p.namr, 2);
	assert_string_equal(p.amr[1], "otp");
	assert_false(p.offline);
	oidc_grant_clear(&p);
	free(s);
	assert_int_equal(oidc_grant_parse("{\"client_id\":\"c\"}", &p), YH_ERR_INVALID);
	assert_int_equal(oidc_grant_parse("[1]", &p), YH_ERR_INVALID);
	assert_int_equal(oidc_grant_parse("{\"client_id\":\"c\",\"uid\":\"u\",\"scope\":\"\","
	    "\"loa\":9}", &p), YH_ERR_INVALID);
	g.loa = 0;
	assert_int_equal(oidc_grant_json(&g, &s), YH_ERR_INVALID);
}

/* Marks the fixture person's phone verified or not. */
static void
set_phone_verified(bool yes)
{
	struct dir_person p;

	assert_int_equal(dir_person_get(F->id->dir, F->uid, &p), 0);
	p.phone_verified = yes;
	assert_int_equal(dir_person_update(F->id->dir, &p), 0);
	dir_person_clear(&p);
}

/* A vault that opens through the fixture's and counts the opens of each domain. */
struct opens {
	int idnum, phone, other;
};

static int
count_seal(void *ctx, const char *domain, const void *pt, size_t n, char **out)
{
	(void)ctx;
	return vault_seal(F->id->vault, domain, pt, n, out);
}

static int
count_open(void *ctx, const char *domain, const char *sealed, char **out)
{
	struct opens *c = ctx;

	if (strcmp(domain, VAULT_DOMAIN_IDNUM) == 0)
		c->idnum++;
	else if (strcmp(domain, VAULT_DOMAIN_PHONE) == 0)
		c->phone++;
	else
		c->other++;
	return vault_open_value(F->id->vault, domain, sealed, out);
}

static int
count_blind(void *ctx, const char *domain, const char *value,
    char out[VAULT_BLIND_HEX_LEN + 1])
{
	(void)ctx;
	return vault_blind(F->id->vault, domain, value, out);
}

/* The sealed fields a token's claims open, by scope: the ID number only when it goes
 * out, the phone only for the phone and profile scopes. */
static void
test_claims_open(void **state)
{
	static const struct vault_ops ops = { count_seal, count_open, count_blind };
	struct clients_snap *s = clients_acquire(F->clients);
	const struct clients_client *conf = clients_find(s, "conf"), *idn = clients_find(s, "idn");
	struct opens n = { 0 };
	struct vault *v = NULL;
	struct dir *d = NULL;
	char err[256];
	json_t *o = NULL;

	(void)state;
	assert_int_equal(vault_new_remote(&ops, &n, vault_cipher(F->id->vault),
	    vault_kid(F->id->vault), &v), 0);
	if (dir_open(&F->icfg, v, false, &d, err, sizeof(err)) != 0)
		fail_msg("dir_open: %s", err);
	n = (struct opens){ 0 };   /* the open checked the vault's key with one */
	assert_int_equal(oidc_user_claims(d, idn, F->uid, CLIENTS_SCOPE_OPENID |
	    CLIENTS_SCOPE_EMAIL, &o), 0);
	json_decref(o);
	assert_int_equal(n.idnum + n.phone + n.other, 0);
	assert_int_equal(oidc_user_claims(d, idn, F->uid, CLIENTS_SCOPE_PROFILE, &o), 0);
	json_decref(o);
	assert_int_equal(n.idnum, 0);
	assert_int_equal(n.phone, 1);
	/* an app not allowed ID numbers asks for the scope: still not opened */
	assert_int_equal(oidc_user_claims(d, conf, F->uid, CLIENTS_SCOPE_PROFILE |
	    CLIENTS_SCOPE_ID_NUMBER, &o), 0);
	json_decref(o);
	assert_int_equal(n.idnum, 0);
	assert_int_equal(oidc_user_claims(d, idn, F->uid, CLIENTS_SCOPE_ID_NUMBER, &o), 0);
	assert_string_equal(json_string_value(json_object_get(o, "yh_id_number")), F->id_number);
	json_decref(o);
	assert_int_equal(n.idnum, 1);
	assert_int_equal(n.phone, 2);
	assert_int_equal(n.other, 0);
	dir_close(d);
	vault_close(v);
	clients_release(s);
}

static void
test_claims(void **state)
{
	struct clients_snap *s = clients_acquire(F->clients);
	const struct clients_client *conf = clients_find(s, "conf"), *idn = clients_find(s, "idn");
	char m[32];
	json_t *o = NULL;

	(void)state;
	mk_phone_mask("13812345678", m, sizeof(m));
	assert_string_equal(m, "138****5678");
	assert_int_equal(oidc_user_claims(F->id->dir, conf, F->uid,
	    CLIENTS_SCOPE_OPENID | CLIENTS_SCOPE_PROFILE | CLIENTS_SCOPE_ID_NUMBER, &o), 0);
	assert_string_equal(json_string_value(json_object_get(o, "name")), "张三");
	assert_string_equal(json_string_value(json_object_get(o, "phone_number")), "138****5678");
	/* The person typed the phone in (added without verification): apps are told. */
	assert_true(json_is_false(json_object_get(o, "phone_number_verified")));
	assert_string_equal(json_string_value(json_object_get(o, "yh_id_type")), "resident_id");
	assert_null(json_object_get(o, "yh_id_number"));   /* conf may not receive it */
	assert_null(json_object_get(o, "email"));
	json_decref(o);
	assert_int_equal(oidc_user_claims(F->id->dir, idn, F->uid,
	    CLIENTS_SCOPE_OPENID | CLIENTS_SCOPE_PHONE | CLIENTS_SCOPE_ID_NUMBER |
	    CLIENTS_SCOPE_EMAIL, &o), 0);
	assert_string_equal(json_string_value(json_object_get(o, "phone_number")), "13812345678");
	assert_string_equal(json_string_value(json_object_get(o, "yh_id_number")), F->id_number);
	assert_string_equal(json_string_value(json_object_get(o, "email")), "zhang@example.cn");
	assert_null(json_object_get(o, "name"));
	json_decref(o);
	/* the allowed client without the consented scope gets no ID number */
	assert_int_equal(oidc_user_claims(F->id->dir, idn, F->uid, CLIENTS_SCOPE_PROFILE, &o), 0);
	assert_null(json_object_get(o, "yh_id_number"));
	json_decref(o);
	assert_int_equal(oidc_user_claims(F->id->dir, idn, "00000000000000000000000000000000",
	    CLIENTS_SCOPE_PROFILE, &o), YH_ERR_NOT_FOUND);
	/* No phone claims, no verification claim. */
	assert_int_equal(oidc_user_claims(F->id->dir, idn, F->uid, CLIENTS_SCOPE_EMAIL, &o), 0);
	assert_null(json_object_get(o, "phone_number_verified"));
	json_decref(o);
	/* Once verified, the phone scope says so (and the fixture's person goes back). */
	set_phone_verified(true);
	assert_int_equal(oidc_user_claims(F->id->dir, idn, F->uid, CLIENTS_SCOPE_PHONE, &o), 0);
	assert_string_equal(json_string_value(json_object_get(o, "phone_number")), "13812345678");
	assert_true(json_is_true(json_object_get(o, "phone_number_verified")));
	json_decref(o);
	set_phone_verified(false);
	clients_release(s);
}

/*
 * yh_staff: only with the staff scope and only for a person with a current staff
 * relation to a government agency; the relation ended, the claim goes.
 */
static void
test_staff_claim(void **state)
{
	struct clients_snap *s = clients_acquire(F->clients);
	const struct clients_client *conf = clients_find(s, "conf");
	struct dir_org org;
	struct dir_mandate m;
	char org_uid[DIR_UID_LEN + 1];
	json_t *o = NULL, *st;

	(void)state;
	/* Not staff: no claim even with the scope. */
	assert_int_equal(oidc_user_claims(F->id->dir, conf, F->uid,
	    CLIENTS_SCOPE_OPENID | CLIENTS_SCOPE_STAFF, &o), 0);
	assert_null(json_object_get(o, "yh_staff"));
	json_decref(o);
	memset(&org, 0, sizeof(org));
	org.uscc = (char *)"11350100003000014R";
	org.name = (char *)"某市政务服务中心";
	assert_int_equal(dir_org_add(F->id->dir, &org, NULL, org_uid), 0);
	memset(&m, 0, sizeof(m));
	memcpy(m.person_uid, F->uid, sizeof(m.person_uid));
	memcpy(m.org_uid, org_uid, sizeof(m.org_uid));
	m.role = (char *)DIR_ROLE_STAFF;
	m.unit = (char *)"综合受理窗口";
	assert_int_equal(dir_mandate_add(F->id->dir, &m, NULL, NULL), 0);

	assert_int_equal(oidc_user_claims(F->id->dir, conf, F->uid,
	    CLIENTS_SCOPE_OPENID | CLIENTS_SCOPE_STAFF, &o), 0);
	st = json_object_get(o, "yh_staff");
	assert_non_null(st);
	assert_string_equal(json_string_value(json_object_get(st, "org")), "11350100003000014R");
	assert_string_equal(json_string_value(json_object_get(st, "unit")), "综合受理窗口");
	assert_null(json_object_get(st, "position"));
	json_decref(o);
	/* Without the scope: nothing. */
	assert_int_equal(oidc_user_claims(F->id->dir, conf, F->uid, CLIENTS_SCOPE_PROFILE, &o),
	    0);
	assert_null(json_object_get(o, "yh_staff"));
	json_decref(o);
	/* Ended: nothing (and the fixture's person is staff no more). */
	assert_int_equal(dir_mandate_end(F->id->dir, org_uid, F->uid, DIR_ROLE_STAFF, NULL,
	    NULL), 0);
	assert_int_equal(oidc_user_claims(F->id->dir, conf, F->uid,
	    CLIENTS_SCOPE_OPENID | CLIENTS_SCOPE_STAFF, &o), 0);
	assert_null(json_object_get(o, "yh_staff"));
	json_decref(o);
	clients_release(s);
}

static void
test_uref(void **state)
{
	unsigned char sk[32];
	char ref[OIDC_UREF_MAX], uid[64];
	struct keys *key;

	(void)state;
	memset(sk, 3, sizeof(sk));
	assert_int_equal(keys_local_new(sk, NULL, &key), 0);
	assert_int_equal(oidc_uref_seal(key, "conf", "0123456789abcdef0123456789abcdef", ref), 0);
	assert_int_equal(oidc_uref_open(key, "conf", ref, uid, sizeof(uid)), 0);
	assert_string_equal(uid, "0123456789abcdef0123456789abcdef");
	assert_int_equal(oidc_uref_open(key, "pub", ref, uid, sizeof(uid)), YH_ERR_AUTH);
	ref[5] = ref[5] == 'A' ? 'B' : 'A';
	assert_int_equal(oidc_uref_open(key, "conf", ref, uid, sizeof(uid)), YH_ERR_AUTH);
	assert_int_equal(oidc_uref_open(key, "conf", "!!", uid, sizeof(uid)), YH_ERR_INVALID);
	keys_free(key);
}

/* ---- /token: authorization_code ------------------------------------------------------- */

static void
test_code_flow(void **state)
{
	struct tok_ring_snap *rs = tok_ring_acquire(F->ring);
	struct tok_check chk;
	struct tok_jwt jwt;
	struct resp r;
	char why[160], sub[OIDC_SUB_SIZE];
	const char *at, *idt;

	(void)state;
	redeem_conf("openid profile", &r);
	assert_true(has_header(&r, "Cache-Control: no-store"));
	assert_string_equal(jstr(&r, "token_type"), "Bearer");
	assert_string_equal(jstr(&r, "scope"), "openid profile");
	assert_true(json_integer_value(json_object_get(r.json, "expires_in")) > 0);
	assert_non_null(jstr(&r, "refresh_token"));
	at = jstr(&r, "access_token");
	idt = jstr(&r, "id_token");
	assert_non_null(at);
	assert_non_null(idt);
	memset(&chk, 0, sizeof(chk));
	chk.kind = TOK_KIND_ID;
	chk.iss = F->issuer;
	chk.aud = "conf";
	chk.nonce = "n-0S6_WzA2Mj";
	chk.access_token = at;
	if (tok_jwt_verify(idt, strlen(idt), tok_snap_keyset(rs), tok_snap_algs(rs), &chk, &jwt,
	    why, sizeof(why)) != 0)
		fail_msg("id token: %s", why);
	assert_int_equal(oidc_pairwise_sub(F->app.keys, F->app.dir, "conf", F->uid, sub), 0);
	assert_string_equal(json_string_value(json_object_get(jwt.claims, "sub")), sub);
	assert_string_equal(json_string_value(json_object_get(jwt.claims, "acr")),
	    "urn:yihao:loa:2");
	assert_string_equal(json_string_value(json_object_get(jwt.claims, "sid")), F->sid);
	assert_string_equal(json_string_value(json_object_get(jwt.claims, "name")), "张三");
	assert_string_equal(json_string_value(json_object_get(jwt.claims, "phone_number")),
	    "138****5678");
	assert_true(json_is_false(json_object_get(jwt.claims, "phone_number_verified")));
	assert_non_null(json_object_get(jwt.claims, "auth_time"));
	assert_non_null(json_object_get(jwt.claims, "amr"));
	tok_jwt_clear(&jwt);
	/* the access token is an RFC 9068 JWT */
	memset(&chk, 0, sizeof(chk));
	chk.kind = TOK_KIND_ACCESS;
	chk.iss = F->issuer;
	chk.aud = "conf";
	if (tok_jwt_verify(at, strlen(at), tok_snap_keyset(rs), tok_snap_algs(rs), &chk, &jwt,
	    why, sizeof(why)) != 0)
		fail_msg("access token: %s", why);
	assert_string_equal(json_string_value(json_object_get(jwt.claims, "client_id")), "conf");
	assert_string_equal(json_string_value(json_object_get(jwt.claims, "sub")), sub);
	assert_null(json_object_get(jwt.claims, "name"));
	{
		char *dump = json_dumps(jwt.claims, 0);   /* the internal uid never shows */
		assert_non_null(dump);
		assert_null(strstr(dump, F->uid));
		free(dump);
	}
	tok_jwt_clear(&jwt);
	tok_snap_release(rs);
	resp_free(&r);
}

static void
test_code_errors(void **state)
{
	char code[SESS_TOKEN_SIZE], body[512];
	struct resp r;
	const char *ru = "http%3A%2F%2F127.0.0.1%3A9%2Fcb";

	(void)state;
	/* wrong redirect_uri */
	make_code("conf", "openid", CHALLENGE, NULL, code);
	snprintf(body, sizeof(body), "grant_type=authorization_code&code=%s&redirect_uri=%s"
	    "&code_verifier=%s", code, "http%3A%2F%2F127.0.0.1%3A9%2Fcb2", VERIFIER);
	post("/token", body, conf_auth(), &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(jstr(&r, "error"), "invalid_grant");
	resp_free(&r);
	/* missing verifier */
	make_code("conf", "openid", CHALLENGE, NULL, code);
	snprintf(body, sizeof(body), "grant_type=authorization_code&code=%s&redirect_uri=%s",
	    code, ru);
	post("/token", body, conf_auth(), &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(jstr(&r, "error"), "invalid_grant");
	resp_free(&r);
	/* wrong verifier */
	make_code("conf", "openid", CHALLENGE, NULL, code);
	snprintf(body, sizeof(body), "grant_type=authorization_code&code=%s&redirect_uri=%s"
	    "&code_verifier=%s", code, ru, "x" VERIFIER);
	post("/token", body, conf_auth(), &r);
	assert_string_equal(jstr(&r, "error"), "invalid_grant");
	resp_free(&r);
	/* a code for another client: the answer to an unknown code, and the code is still
	 * good for its own client afterwards; used, it is still unknown to the other one */
	make_code("conf2", "openid", CHALLENGE, NULL, code);
	snprintf(body, sizeof(body), "grant_type=authorization_code&code=%s&redirect_uri=%s"
	    "&code_verifier=%s", code, ru, VERIFIER);
	post("/token", body, conf_auth(), &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(jstr(&r, "error"), "invalid_grant");
	assert_string_equal(jstr(&r, "error_description"), "unknown or expired code");
	resp_free(&r);
	{
		char h[512], bearer[2048];
		struct resp r2;

		basic("conf2", SECRET, h, sizeof(h));
		post("/token", body, h, &r);
		assert_int_equal(r.status, 200);
		post("/token", body, conf_auth(), &r2);
		assert_string_equal(jstr(&r2, "error_description"), "unknown or expired code");
		resp_free(&r2);
		/* and that revoked nothing of what conf2 got */
		snprintf(bearer, sizeof(bearer), "Bearer %s", jstr(&r, "access_token"));
		http("GET", "/userinfo", NULL, bearer, &r2);
		assert_int_equal(r2.status, 200);
		resp_free(&r2);
		resp_free(&r);
	}
	/* public client without PKCE */
	make_code("pub", "openid", NULL, NULL, code);
	snprintf(body, sizeof(body), "grant_type=authorization_code&code=%s&redirect_uri=%s"
	    "&client_id=pub", code, ru);
	post("/token", body, NULL, &r);
	assert_string_equal(jstr(&r, "error"), "invalid_grant");
	resp_free(&r);
	/* public client with PKCE: fine, no secret */
	make_code("pub", "openid", CHALLENGE, NULL, code);
	snprintf(body, sizeof(body), "grant_type=authorization_code&code=%s&redirect_uri=%s"
	    "&client_id=pub&code_verifier=%s", code, ru, VERIFIER);
	post("/token", body, NULL, &r);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	/* unknown code, unsupported grant, missing grant */
	post("/token", "grant_type=authorization_code&code=nope&redirect_uri=x", conf_auth(), &r);
	assert_string_equal(jstr(&r, "error"), "invalid_grant");
	resp_free(&r);
	post("/token", "grant_type=password&username=a", conf_auth(), &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(jstr(&r, "error"), "unsupported_grant_type");
	resp_free(&r);
	post("/token", "code=x", conf_auth(), &r);
	assert_string_equal(jstr(&r, "error"), "invalid_request");
	resp_free(&r);
	/* a confidential client's code without the verifier-less downgrade */
	make_code("conf", "openid", NULL, NULL, code);
	snprintf(body, sizeof(body), "grant_type=authorization_code&code=%s&redirect_uri=%s"
	    "&code_verifier=%s", code, ru, VERIFIER);
	post("/token", body, conf_auth(), &r);
	assert_string_equal(jstr(&r, "error"), "invalid_grant");
	resp_free(&r);
}

static void
test_code_replay(void **state)
{
	char code[SESS_TOKEN_SIZE], body[512], rbody[256], bearer[2048];
	const char *ru = "http%3A%2F%2F127.0.0.1%3A9%2Fcb";
	struct resp r, r2;

	(void)state;
	make_code("conf", "openid profile", CHALLENGE, NULL, code);
	snprintf(body, sizeof(body), "grant_type=authorization_code&code=%s&redirect_uri=%s"
	    "&code_verifier=%s", code, ru, VERIFIER);
	post("/token", body, conf_auth(), &r);
	assert_int_equal(r.status, 200);
	snprintf(bearer, sizeof(bearer), "Bearer %s", jstr(&r, "access_token"));
	http("GET", "/userinfo", NULL, bearer, &r2);
	assert_int_equal(r2.status, 200);
	resp_free(&r2);
	post("/token", body, conf_auth(), &r2);      /* the replay */
	assert_int_equal(r2.status, 400);
	assert_string_equal(jstr(&r2, "error"), "invalid_grant");
	resp_free(&r2);
	/* what the first redemption issued is dead now */
	snprintf(rbody, sizeof(rbody), "grant_type=refresh_token&refresh_token=%s",
	    jstr(&r, "refresh_token"));
	post("/token", rbody, conf_auth(), &r2);
	assert_string_equal(jstr(&r2, "error"), "invalid_grant");
	resp_free(&r2);
	http("GET", "/userinfo", NULL, bearer, &r2);
	assert_int_equal(r2.status, 401);
	resp_free(&r2);
	resp_free(&r);
}

/* The HTTP status of /userinfo and whether /introspect (by conf) says active, for at. */
static void
at_state(const char *at, long *userinfo, bool *active)
{
	char bearer[2048], body[2048];
	struct resp r;

	snprintf(bearer, sizeof(bearer), "Bearer %s", at);
	http("GET", "/userinfo", NULL, bearer, &r);
	*userinfo = r.status;
	resp_free(&r);
	snprintf(body, sizeof(body), "token=%s", at);
	post("/introspect", body, conf_auth(), &r);
	assert_int_equal(r.status, 200);
	*active = json_is_true(json_object_get(r.json, "active"));
	resp_free(&r);
}

static void
assert_at_live(const char *at, bool live)
{
	long status;
	bool active;

	at_state(at, &status, &active);
	assert_int_equal(status, live ? 200 : 401);
	assert_true(active == live);
}

/* ---- /token: refresh_token -------------------------------------------------------------- */

static void
test_refresh(void **state)
{
	char body[256], body2[256];
	struct resp r, r1, r2;

	(void)state;
	redeem_conf("openid profile phone", &r);
	snprintf(body, sizeof(body), "grant_type=refresh_token&refresh_token=%s",
	    jstr(&r, "refresh_token"));
	post("/token", body, conf_auth(), &r1);
	assert_int_equal(r1.status, 200);
	assert_non_null(jstr(&r1, "id_token"));
	assert_string_not_equal(jstr(&r1, "refresh_token"), jstr(&r, "refresh_token"));
	/* narrowing */
	snprintf(body2, sizeof(body2), "grant_type=refresh_token&refresh_token=%s&scope=openid",
	    jstr(&r1, "refresh_token"));
	post("/token", body2, conf_auth(), &r2);
	assert_int_equal(r2.status, 200);
	assert_string_equal(jstr(&r2, "scope"), "openid");
	resp_free(&r1);
	r1 = r2;
	memset(&r2, 0, sizeof(r2));
	/* widening is refused */
	snprintf(body2, sizeof(body2), "grant_type=refresh_token&refresh_token=%s&scope=openid%%20email",
	    jstr(&r1, "refresh_token"));
	post("/token", body2, conf_auth(), &r2);
	assert_string_equal(jstr(&r2, "error"), "invalid_scope");
	resp_free(&r2);
	/* ... without consuming the token */
	snprintf(body2, sizeof(body2), "token=%s", jstr(&r1, "refresh_token"));
	post("/introspect", body2, conf_auth(), &r2);
	assert_true(json_is_true(json_object_get(r2.json, "active")));
	resp_free(&r2);
	/* another client cannot use it (and that revokes the family) */
	snprintf(body2, sizeof(body2), "grant_type=refresh_token&refresh_token=%s",
	    jstr(&r1, "refresh_token"));
	{
		char h[512];
		basic("conf2", SECRET, h, sizeof(h));
		post("/token", body2, h, &r2);
	}
	assert_string_equal(jstr(&r2, "error"), "invalid_grant");
	resp_free(&r2);
	post("/token", body2, conf_auth(), &r2);
	assert_string_equal(jstr(&r2, "error"), "invalid_grant");
	resp_free(&r2);
	assert_at_live(jstr(&r1, "access_token"), false);
	resp_free(&r1);
	resp_free(&r);
}

static void
test_refresh_reuse(void **state)
{
	char old[256], cur[256];
	struct resp r, r1, r2, other;

	(void)state;
	redeem_conf("openid", &r);
	redeem_conf("openid", &other);              /* another family of the same client */
	snprintf(old, sizeof(old), "grant_type=refresh_token&refresh_token=%s",
	    jstr(&r, "refresh_token"));
	post("/token", old, conf_auth(), &r1);
	assert_int_equal(r1.status, 200);
	assert_at_live(jstr(&r, "access_token"), true);
	assert_at_live(jstr(&r1, "access_token"), true);
	snprintf(cur, sizeof(cur), "grant_type=refresh_token&refresh_token=%s",
	    jstr(&r1, "refresh_token"));
	post("/token", old, conf_auth(), &r2);        /* reuse of the rotated token */
	assert_int_equal(r2.status, 400);
	assert_string_equal(jstr(&r2, "error"), "invalid_grant");
	resp_free(&r2);
	post("/token", cur, conf_auth(), &r2);        /* the whole family is gone */
	assert_string_equal(jstr(&r2, "error"), "invalid_grant");
	resp_free(&r2);
	/* and so are its access tokens, the code's and the refresh's; not another family's */
	assert_at_live(jstr(&r, "access_token"), false);
	assert_at_live(jstr(&r1, "access_token"), false);
	assert_at_live(jstr(&other, "access_token"), true);
	resp_free(&other);
	resp_free(&r1);
	resp_free(&r);
}

/* A refresh family bound to the session dies with it; offline_access outlives it. */
static void
test_session_end(void **state)
{
	char b1[256], b2[256], bearer[2048];
	struct resp bound, off, r;

	(void)state;
	redeem_conf("openid profile", &bound);
	redeem_conf("openid offline_access", &off);
	snprintf(bearer, sizeof(bearer), "Bearer %s", jstr(&bound, "access_token"));
	assert_int_equal(sess_end_token(F->sess, F->stoken, SESS_END_LOGOUT, NULL), 0);
	http("GET", "/userinfo", NULL, bearer, &r);
	assert_int_equal(r.status, 401);
	assert_true(has_header(&r, "WWW-Authenticate: Bearer"));
	resp_free(&r);
	snprintf(b1, sizeof(b1), "grant_type=refresh_token&refresh_token=%s",
	    jstr(&bound, "refresh_token"));
	post("/token", b1, conf_auth(), &r);
	assert_string_equal(jstr(&r, "error"), "invalid_grant");
	resp_free(&r);
	snprintf(b2, sizeof(b2), "grant_type=refresh_token&refresh_token=%s",
	    jstr(&off, "refresh_token"));
	post("/token", b2, conf_auth(), &r);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	resp_free(&bound);
	resp_free(&off);
	new_session(F);
}

/* ---- client authentication -------------------------------------------------------------- */

static char *
assertion(const struct tok_key *k, const char *iss, const char *aud, int64_t exp_in,
    const char *jti)
{
	json_t *c = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", iss, "sub", iss, "aud",
	    aud, "iat", (json_int_t)yh_now(), "exp", (json_int_t)(yh_now() + exp_in), "jti", jti);
	char *out = NULL;

	assert_non_null(c);
	assert_int_equal(tok_jwt_sign(k, NULL, c, &out), 0);
	json_decref(c);
	return out;
}

static void
cc_with_assertion(const char *a, struct resp *r)
{
	char body[4096];

	snprintf(body, sizeof(body), "grant_type=authorization_code&code=zzz&redirect_uri=x"
	    "&client_assertion_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Aclient-assertion-type"
	    "%%3Ajwt-bearer&client_assertion=%s", a);
	post("/token", body, NULL, r);
}

static void
test_client_auth(void **state)
{
	char tokurl[128], h[512], *a;
	struct resp r;

	(void)state;
	/* wrong secret, Basic: 401 with WWW-Authenticate */
	basic("conf", "wrong-secret-wrong-secret-wrong-secret", h, sizeof(h));
	post("/token", "grant_type=client_credentials", h, &r);
	assert_int_equal(r.status, 401);
	assert_string_equal(jstr(&r, "error"), "invalid_client");
	assert_true(has_header(&r, "WWW-Authenticate: Basic"));
	resp_free(&r);
	/* unknown client: the same answer */
	basic("nobody", SECRET, h, sizeof(h));
	post("/token", "grant_type=client_credentials", h, &r);
	assert_int_equal(r.status, 401);
	resp_free(&r);
	/* client_secret_post */
	post("/token", "grant_type=client_credentials&client_id=conf&client_secret=" SECRET,
	    NULL, &r);
	assert_int_equal(r.status, 200);
	assert_null(jstr(&r, "id_token"));
	assert_null(jstr(&r, "refresh_token"));
	resp_free(&r);
	/* two methods at once */
	post("/token", "grant_type=client_credentials&client_id=conf&client_secret=" SECRET,
	    conf_auth(), &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(jstr(&r, "error"), "invalid_request");
	resp_free(&r);
	/* none at all; a confidential client naming itself only */
	post("/token", "grant_type=client_credentials", NULL, &r);
	assert_int_equal(r.status, 401);
	assert_false(has_header(&r, "WWW-Authenticate"));
	resp_free(&r);
	post("/token", "grant_type=client_credentials&client_id=conf", NULL, &r);
	assert_int_equal(r.status, 401);
	resp_free(&r);
	/* form-urlencoded inside Basic (RFC 6749 2.3.1) */
	basic("conf", SECRET, h, sizeof(h));
	post("/token", "grant_type=client_credentials", h, &r);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	/* private_key_jwt: good, replayed, wrong aud, wrong key, too long */
	snprintf(tokurl, sizeof(tokurl), "%s/token", F->issuer);
	a = assertion(F->cakey, "jwtc", tokurl, 60, "jti-1");
	cc_with_assertion(a, &r);
	assert_int_equal(r.status, 400);       /* authenticated: the code is what is wrong */
	assert_string_equal(jstr(&r, "error"), "invalid_grant");
	resp_free(&r);
	cc_with_assertion(a, &r);
	assert_int_equal(r.status, 401);       /* same jti again */
	resp_free(&r);
	free(a);
	a = assertion(F->cakey, "jwtc", F->issuer, 60, "jti-2");
	cc_with_assertion(a, &r);
	assert_int_equal(r.status, 400);       /* the issuer is an accepted audience */
	resp_free(&r);
	free(a);
	a = assertion(F->cakey, "jwtc", "https://elsewhere/token", 60, "jti-3");
	cc_with_assertion(a, &r);
	assert_int_equal(r.status, 401);
	resp_free(&r);
	free(a);
	a = assertion(F->otherkey, "jwtc", tokurl, 60, "jti-4");
	cc_with_assertion(a, &r);
	assert_int_equal(r.status, 401);
	resp_free(&r);
	free(a);
	a = assertion(F->cakey, "jwtc", tokurl, 3600 + 120, "jti-5");
	cc_with_assertion(a, &r);
	assert_int_equal(r.status, 401);       /* exp past token.client_assertion_max_lifetime */
	resp_free(&r);
	free(a);
	/* Authlib's default: exp one hour ahead. Accepted once; its jti is then spent for
	 * as long as the assertion lives. */
	a = assertion(F->cakey, "jwtc", tokurl, 3600, "jti-hour");
	cc_with_assertion(a, &r);
	assert_int_equal(r.status, 400);       /* authenticated: the code is what is wrong */
	assert_string_equal(jstr(&r, "error"), "invalid_grant");
	resp_free(&r);
	cc_with_assertion(a, &r);
	assert_int_equal(r.status, 401);
	resp_free(&r);
	free(a);
	a = assertion(F->cakey, "jwtc", tokurl, -120, "jti-6");
	cc_with_assertion(a, &r);
	assert_int_equal(r.status, 401);       /* expired */
	resp_free(&r);
	free(a);
	/* a secret client cannot authenticate with a JWT */
	a = assertion(F->cakey, "conf", tokurl, 60, "jti-7");
	cc_with_assertion(a, &r);
	assert_int_equal(r.status, 401);
	resp_free(&r);
	free(a);
}

static void expect_refusal(const char *path, const char *body, const char *auth, long status,
    const char *error, const char *description);

static void
test_client_credentials(void **state)
{
	struct tok_ring_snap *rs = tok_ring_acquire(F->ring);
	struct tok_check chk;
	struct tok_jwt jwt;
	struct resp r;
	char h[512], why[160];
	const char *at;

	(void)state;
	post("/token", "grant_type=client_credentials&scope=openid%20profile", conf_auth(), &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(&r, "scope"), "profile");
	at = jstr(&r, "access_token");
	memset(&chk, 0, sizeof(chk));
	chk.kind = TOK_KIND_ACCESS;
	chk.iss = F->issuer;
	chk.aud = F->issuer;
	assert_int_equal(tok_jwt_verify(at, strlen(at), tok_snap_keyset(rs), tok_snap_algs(rs),
	    &chk, &jwt, why, sizeof(why)), 0);
	assert_string_equal(json_string_value(json_object_get(jwt.claims, "sub")), "conf");
	assert_null(json_object_get(jwt.claims, "yh_ref"));
	tok_jwt_clear(&jwt);
	resp_free(&r);
	/* nothing of the request can be granted: unknown, not the client's, or about a
	 * person; no scope asks for the default */
	expect_refusal("/token", "grant_type=client_credentials&scope=admin", conf_auth(), 400,
	    "invalid_scope", NULL);
	expect_refusal("/token", "grant_type=client_credentials&scope=openid+offline_access",
	    conf_auth(), 400, "invalid_scope", NULL);
	post("/token", "grant_type=client_credentials&scope=admin+profile", conf_auth(), &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(&r, "scope"), "profile");
	resp_free(&r);
	post("/token", "grant_type=client_credentials", conf_auth(), &r);
	assert_int_equal(r.status, 200);
	assert_null(json_object_get(r.json, "scope"));
	resp_free(&r);
	/* a client without the grant, and a public client */
	basic("conf2", SECRET, h, sizeof(h));
	post("/token", "grant_type=client_credentials", h, &r);
	assert_string_equal(jstr(&r, "error"), "unauthorized_client");
	resp_free(&r);
	post("/token", "grant_type=client_credentials&client_id=pub", NULL, &r);
	assert_string_equal(jstr(&r, "error"), "unauthorized_client");
	resp_free(&r);
	tok_snap_release(rs);
}

/* ---- userinfo, introspection, revocation --------------------------------------------------- */

static void
test_userinfo(void **state)
{
	char code[SESS_TOKEN_SIZE], body[4096], bearer[2048], h[512];
	const char *ru = "http%3A%2F%2F127.0.0.1%3A9%2Fcb";
	struct resp r, u;

	(void)state;
	http("GET", "/userinfo", NULL, NULL, &u);
	assert_int_equal(u.status, 401);
	assert_true(has_header(&u, "WWW-Authenticate: Bearer realm"));
	resp_free(&u);
	http("GET", "/userinfo", NULL, "Bearer abc.def.ghi", &u);
	assert_int_equal(u.status, 401);
	assert_true(has_header(&u, "error=\"invalid_token\""));
	resp_free(&u);
	/* the allowed client with consent gets the ID number */
	make_code("idn", "openid profile yh_id_number", CHALLENGE, NULL, code);
	snprintf(body, sizeof(body), "grant_type=authorization_code&code=%s&redirect_uri=%s"
	    "&code_verifier=%s", code, ru, VERIFIER);
	basic("idn", SECRET, h, sizeof(h));
	post("/token", body, h, &r);
	assert_int_equal(r.status, 200);
	snprintf(bearer, sizeof(bearer), "Bearer %s", jstr(&r, "access_token"));
	http("GET", "/userinfo", NULL, bearer, &u);
	assert_int_equal(u.status, 200);
	assert_string_equal(jstr(&u, "yh_id_number"), F->id_number);
	assert_string_equal(jstr(&u, "name"), "张三");
	assert_non_null(jstr(&u, "sub"));
	resp_free(&u);
	snprintf(body, sizeof(body), "access_token=%s", jstr(&r, "access_token"));
	post("/userinfo", body, NULL, &u);
	assert_int_equal(u.status, 200);
	resp_free(&u);
	resp_free(&r);
	/* a client that is not allowed never gets it, whatever it asked for */
	redeem_conf("openid profile yh_id_number", &r);
	snprintf(bearer, sizeof(bearer), "Bearer %s", jstr(&r, "access_token"));
	http("GET", "/userinfo", NULL, bearer, &u);
	assert_int_equal(u.status, 200);
	assert_null(jstr(&u, "yh_id_number"));
	assert_string_equal(jstr(&u, "phone_number"), "138****5678");
	resp_free(&u);
	resp_free(&r);
}

/* Expects a 4xx OAuth error with error and, when given, error_description. */
static void
expect_refusal(const char *path, const char *body, const char *auth, long status,
    const char *error, const char *description)
{
	struct resp r;

	post(path, body, auth, &r);
	if (r.status != status || jstr(&r, "error") == NULL || strcmp(jstr(&r, "error"), error) != 0 ||
	    (description != NULL && (jstr(&r, "error_description") == NULL ||
	    strcmp(jstr(&r, "error_description"), description) != 0)))
		fail_msg("%s %s: %ld %s", path, body, r.status, yh_buf_cstr(&r.body));
	resp_free(&r);
}

/*
 * Every refusal a helper of the token, introspection and revocation endpoints answers
 * by itself (a parameter missing or given twice, client authentication, an unknown
 * refresh token) comes out as that answer, and the handler goes no further.
 */
static void
test_helper_refusals(void **state)
{
	(void)state;
	expect_refusal("/token", "grant_type=authorization_code", conf_auth(), 400,
	    "invalid_request", "code missing");
	expect_refusal("/token", "grant_type=authorization_code&code=a&redirect_uri=x&"
	    "redirect_uri=y", conf_auth(), 400, "invalid_request", "redirect_uri malformed");
	expect_refusal("/token", "grant_type=authorization_code&code=a&code_verifier=1&"
	    "code_verifier=2", conf_auth(), 400, "invalid_request", "code_verifier malformed");
	/* two faults: the first one answered is the answer */
	expect_refusal("/token", "grant_type=authorization_code&code_verifier=1&code_verifier=2",
	    conf_auth(), 400, "invalid_request", "code missing");
	expect_refusal("/token", "grant_type=refresh_token&scope=a&scope=b", conf_auth(), 400,
	    "invalid_request", "refresh_token missing");
	expect_refusal("/token", "grant_type=refresh_token", conf_auth(), 400, "invalid_request",
	    "refresh_token missing");
	expect_refusal("/token", "grant_type=refresh_token&refresh_token=x&scope=a&scope=b",
	    conf_auth(), 400, "invalid_request", "scope malformed");
	expect_refusal("/token", "grant_type=refresh_token&refresh_token=AAAA", conf_auth(), 400,
	    "invalid_grant", "unknown, expired or revoked refresh token");
	expect_refusal("/token", "grant_type=client_credentials&scope=a&scope=b", conf_auth(),
	    400, "invalid_request", "scope malformed");
	expect_refusal("/token", "grant_type=client_credentials", "Basic Y29uZjp3cm9uZw==",
	    401, "invalid_client", NULL);
	expect_refusal("/introspect", "client_id=pub&token=x", NULL, 401, "invalid_client",
	    "this endpoint needs client authentication");
	expect_refusal("/introspect", "", conf_auth(), 400, "invalid_request",
	    "token missing or malformed");
	expect_refusal("/introspect", "token=a&token=b", conf_auth(), 400, "invalid_request",
	    "token missing or malformed");
	expect_refusal("/revoke", "client_id=pub", NULL, 400, "invalid_request",
	    "token missing or malformed");
	expect_refusal("/revoke", "token=x", "Basic Y29uZjp3cm9uZw==", 401, "invalid_client",
	    NULL);
}

static void
test_introspect_revoke(void **state)
{
	char body[2048], bearer[2048], h[512];
	struct resp r, i, i2;

	(void)state;
	redeem_conf("openid profile", &r);
	snprintf(body, sizeof(body), "token=%s", jstr(&r, "access_token"));
	post("/introspect", body, conf_auth(), &i);
	assert_int_equal(i.status, 200);
	assert_true(json_is_true(json_object_get(i.json, "active")));
	assert_string_equal(jstr(&i, "client_id"), "conf");
	assert_null(json_object_get(i.json, "yh_ref"));
	resp_free(&i);
	/* another client sees it inactive */
	basic("conf2", SECRET, h, sizeof(h));
	post("/introspect", body, h, &i);
	assert_true(json_is_false(json_object_get(i.json, "active")));
	resp_free(&i);
	/* a public client may not introspect */
	snprintf(body, sizeof(body), "client_id=pub&token=%s", jstr(&r, "access_token"));
	post("/introspect", body, NULL, &i);
	assert_int_equal(i.status, 401);
	resp_free(&i);
	/* refresh token */
	snprintf(body, sizeof(body), "token=%s", jstr(&r, "refresh_token"));
	post("/introspect", body, conf_auth(), &i);
	assert_true(json_is_true(json_object_get(i.json, "active")));
	assert_string_equal(jstr(&i, "token_type"), "refresh_token");
	resp_free(&i);
	post("/introspect", "token=garbage", conf_auth(), &i);
	assert_true(json_is_false(json_object_get(i.json, "active")));
	resp_free(&i);
	/* another client's revocation does nothing */
	snprintf(body, sizeof(body), "token=%s", jstr(&r, "access_token"));
	post("/revoke", body, h, &i);
	assert_int_equal(i.status, 200);
	resp_free(&i);
	snprintf(bearer, sizeof(bearer), "Bearer %s", jstr(&r, "access_token"));
	http("GET", "/userinfo", NULL, bearer, &i);
	assert_int_equal(i.status, 200);
	resp_free(&i);
	/* revoke the access token */
	post("/revoke", body, conf_auth(), &i);
	assert_int_equal(i.status, 200);
	resp_free(&i);
	http("GET", "/userinfo", NULL, bearer, &i);
	assert_int_equal(i.status, 401);
	resp_free(&i);
	post("/introspect", body, conf_auth(), &i);
	assert_true(json_is_false(json_object_get(i.json, "active")));
	resp_free(&i);
	/* revoke the refresh token: the family is gone, with the access tokens it gave */
	snprintf(body, sizeof(body), "grant_type=refresh_token&refresh_token=%s",
	    jstr(&r, "refresh_token"));
	post("/token", body, conf_auth(), &i);
	assert_int_equal(i.status, 200);
	assert_at_live(jstr(&i, "access_token"), true);
	snprintf(body, sizeof(body), "token=%s&token_type_hint=refresh_token",
	    jstr(&i, "refresh_token"));
	post("/revoke", body, conf_auth(), &i2);
	assert_int_equal(i2.status, 200);
	resp_free(&i2);
	snprintf(body, sizeof(body), "grant_type=refresh_token&refresh_token=%s",
	    jstr(&i, "refresh_token"));
	post("/token", body, conf_auth(), &i2);
	assert_string_equal(jstr(&i2, "error"), "invalid_grant");
	resp_free(&i2);
	assert_at_live(jstr(&i, "access_token"), false);
	resp_free(&i);
	resp_free(&r);
}

static void
test_audit_written(void **state)
{
	char path[160], *buf;
	FILE *fp;
	long n;

	(void)state;
	snprintf(path, sizeof(path), "%s/audit.log", F->root);
	assert_non_null(fp = fopen(path, "r"));
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	rewind(fp);
	assert_non_null(buf = calloc(1, (size_t)n + 1));
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	assert_non_null(strstr(buf, "\"token.issue\""));
	assert_non_null(strstr(buf, "\"token.replay\""));
	assert_non_null(strstr(buf, "\"token.revoke\""));
	assert_null(strstr(buf, F->id_number));
	assert_null(strstr(buf, SECRET));
	free(buf);
}

/*
 * A subject pin for (person, sector) is the sub every place hands out: oidc_pairwise_sub
 * answers it instead of the HMAC, and so does the token endpoint (ID and access token);
 * other sectors, and uids the directory cannot hold, keep the HMAC. Last in the list:
 * the pin stays for the fixture's person.
 */
static void
test_pinned_sub(void **state)
{
	struct tok_ring_snap *rs;
	const struct dir_subject_pin pin[] = { { "conf", "pinned-sub-of-the-person" } };
	char hmac[OIDC_SUB_SIZE], sub[OIDC_SUB_SIZE], other[OIDC_SUB_SIZE], why[160];
	struct tok_check chk;
	struct tok_jwt jwt;
	struct resp r;
	const char *idt;

	(void)state;
	assert_int_equal(oidc_pairwise_sub(F->app.keys, NULL, "conf", F->uid, hmac), 0);
	assert_int_equal(oidc_pairwise_sub(F->app.keys, F->app.dir, "conf", F->uid, sub), 0);
	assert_string_equal(sub, hmac);
	assert_int_equal(oidc_pairwise_sub(F->app.keys, NULL, "elsewhere", F->uid, other), 0);
	assert_int_equal(dir_subject_pin_add(F->app.dir, F->uid, pin, 1), 0);
	assert_int_equal(oidc_pairwise_sub(F->app.keys, F->app.dir, "conf", F->uid, sub), 0);
	assert_string_equal(sub, "pinned-sub-of-the-person");
	assert_int_equal(oidc_pairwise_sub(F->app.keys, F->app.dir, "elsewhere", F->uid, sub),
	    0);
	assert_string_equal(sub, other);
	assert_int_equal(oidc_pairwise_sub(F->app.keys, F->app.dir, "conf", "u1", sub), 0);
	assert_int_equal(strlen(sub), 43);

	redeem_conf("openid", &r);
	idt = jstr(&r, "id_token");
	assert_non_null(idt);
	rs = tok_ring_acquire(F->ring);
	memset(&chk, 0, sizeof(chk));
	chk.kind = TOK_KIND_ID;
	chk.iss = F->issuer;
	chk.aud = "conf";
	if (tok_jwt_verify(idt, strlen(idt), tok_snap_keyset(rs), tok_snap_algs(rs), &chk, &jwt,
	    why, sizeof(why)) != 0)
		fail_msg("id token: %s", why);
	assert_string_equal(json_string_value(json_object_get(jwt.claims, "sub")),
	    "pinned-sub-of-the-person");
	tok_jwt_clear(&jwt);
	tok_snap_release(rs);
	resp_free(&r);
}

/* ---- acting for an organization (scope org) ------------------------------------------ */

/* An active enterprise named name with legal representative rep ("" none). */
static void
add_org(const char *uscc, const char *name, const char *rep, char *uid)
{
	struct dir_org o;

	memset(&o, 0, sizeof(o));
	o.uscc = (char *)uscc;
	o.name = (char *)name;
	o.kind = IDN_ORG_KIND_ENTERPRISE;
	o.status = DIR_STATUS_ACTIVE;
	assert_int_equal(yh_strlcpy(o.legal_rep_uid, rep, sizeof(o.legal_rep_uid)), 0);
	assert_int_equal(dir_org_add(F->id->dir, &o, "test", uid), 0);
}

/* Redeems a code of client orgc acting for org (NULL: the person) in role. */
static void
redeem_org(const char *org, const char *role, struct resp *out)
{
	char code[SESS_TOKEN_SIZE], body[512], *payload = NULL, h[512];
	struct oidc_grant g;

	memset(&g, 0, sizeof(g));
	g.client_id = "orgc";
	g.redirect_uri = REDIRECT;
	g.uid = F->uid;
	g.sid = F->sid;
	g.scope = "openid profile org";
	g.code_challenge = CHALLENGE;
	g.code_challenge_method = "S256";
	g.auth_time = yh_now() - 5;
	g.loa = 2;
	g.org = org;
	g.org_role = role;
	assert_int_equal(oidc_grant_json(&g, &payload), 0);
	assert_int_equal(sess_code_new(F->sess, "orgc", payload,
	    oidc_lifetime(NULL, OIDC_LT_CODE), code), 0);
	free(payload);
	snprintf(body, sizeof(body), "grant_type=authorization_code&code=%s&redirect_uri=%s"
	    "&code_verifier=%s", code, "http%3A%2F%2F127.0.0.1%3A9%2Fcb", VERIFIER);
	basic("orgc", SECRET, h, sizeof(h));
	post("/token", body, h, out);
}

/* The claims of a JWT of ours (verified), as a new object. */
static json_t *
jwt_claims(const char *jws, enum tok_kind kind, const char *aud)
{
	struct tok_ring_snap *rs = tok_ring_acquire(F->ring);
	struct tok_check chk;
	struct tok_jwt jwt;
	char why[160];
	json_t *c;

	memset(&chk, 0, sizeof(chk));
	chk.kind = kind;
	chk.iss = F->issuer;
	chk.aud = aud;
	if (tok_jwt_verify(jws, strlen(jws), tok_snap_keyset(rs), tok_snap_algs(rs), &chk,
	    &jwt, why, sizeof(why)) != 0)
		fail_msg("jwt: %s", why);
	c = json_incref(jwt.claims);
	tok_jwt_clear(&jwt);
	tok_snap_release(rs);
	return c;
}

/* yh_org of claims is the agent's claim for the enterprise uscc. */
static void
assert_agent_org(const json_t *claims, const char *uscc)
{
	const json_t *o = json_object_get(claims, "yh_org");
	const json_t *sc = json_object_get(o, "scopes");

	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "uscc")), uscc);
	assert_string_equal(json_string_value(json_object_get(o, "name")), "星海贸易有限公司");
	assert_string_equal(json_string_value(json_object_get(o, "kind")), "enterprise");
	assert_string_equal(json_string_value(json_object_get(o, "role")), "agent");
	assert_int_equal(json_array_size(sc), 2);
	assert_string_equal(json_string_value(json_array_get(sc, 0)), "tax");
	assert_string_equal(json_string_value(json_array_get(sc, 1)), "invoice");
}

/* The claim and the choices from the directory: roles, scopes, expiry, wrong role. */
static void
test_org_claims(void **state)
{
	char a[19], b[19], oa[DIR_UID_LEN + 1], ob[DIR_UID_LEN + 1], us[OIDC_USCC_SIZE];
	struct oidc_org_choice *ch = NULL;
	const struct oidc_org_choice *ca;
	struct dir_mandate m;
	int64_t until = yh_now() + 86400;
	json_t *c = NULL, *wrap;
	size_t n = 0;

	(void)state;
	make_uscc("91", "M0001001", a);
	make_uscc("91", "M0001002", b);
	add_org(a, "闽江科技有限公司", F->uid, oa);
	add_org(b, "星海贸易有限公司", "", ob);
	memset(&m, 0, sizeof(m));
	memcpy(m.person_uid, F->uid, sizeof(m.person_uid));
	memcpy(m.org_uid, ob, sizeof(m.org_uid));
	m.role = (char *)DIR_ROLE_AGENT;
	m.until = until;
	m.scopes = (char *)"tax invoice";
	assert_int_equal(dir_mandate_add(F->id->dir, &m, "test", NULL), 0);

	assert_int_equal(oidc_org_choices(F->id->dir, F->uid, 0, &ch, &n), 0);
	assert_int_equal(n, 2);
	assert_non_null(ca = oidc_org_choice_find(ch, n, a));
	assert_string_equal(ca->role, "legal_rep");
	assert_null(ca->scopes);
	assert_non_null(ca = oidc_org_choice_find(ch, n, b));
	assert_string_equal(ca->role, "agent");
	assert_string_equal(ca->scopes, "tax invoice");
	assert_string_equal(ca->name, "星海贸易有限公司");
	assert_null(oidc_org_choice_find(ch, n, "91350100M000100Y43"));
	assert_null(oidc_org_choice_find(ch, n, "self"));
	oidc_org_choices_free(ch, n);

	assert_int_equal(oidc_org_claim(F->id->dir, F->uid, b, "agent", 0, &c), 0);
	wrap = json_pack("{s:o}", "yh_org", c);
	assert_agent_org(wrap, b);
	json_decref(wrap);
	assert_int_equal(oidc_org_claim(F->id->dir, F->uid, a, "legal_rep", 0, &c), 0);
	assert_null(json_object_get(c, "scopes"));
	assert_string_equal(json_string_value(json_object_get(c, "role")), "legal_rep");
	json_decref(c);
	/* the wrong role, an unknown code, an expired agent give nothing */
	assert_int_equal(oidc_org_claim(F->id->dir, F->uid, a, "agent", 0, &c), YH_ERR_DENIED);
	assert_int_equal(oidc_org_claim(F->id->dir, F->uid, "91350100M000100Y43", "agent", 0, &c),
	    YH_ERR_DENIED);
	assert_int_equal(oidc_org_claim(F->id->dir, F->uid, b, "agent", until + 1, &c),
	    YH_ERR_DENIED);
	assert_null(c);
	assert_int_equal(oidc_org_choices(F->id->dir, F->uid, until + 1, &ch, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ch[0].uscc, a);
	oidc_org_choices_free(ch, n);
	/* an organization's own app */
	assert_int_equal(oidc_org_client_claim(F->id->dir, a, &c), 0);
	assert_string_equal(json_string_value(json_object_get(c, "name")), "闽江科技有限公司");
	assert_null(json_object_get(c, "role"));
	json_decref(c);
	/* An enterprise certificate's session: the organization's own uid, role
	 * cert_holder (another organization cannot claim it). */
	assert_int_equal(oidc_org_self(F->id->dir, oa, us), 0);
	assert_string_equal(us, a);
	assert_int_equal(oidc_org_self(F->id->dir, F->uid, us), YH_ERR_NOT_FOUND);
	assert_int_equal(oidc_org_self(F->id->dir, "not-a-uid", us), YH_ERR_NOT_FOUND);
	assert_int_equal(oidc_org_claim(F->id->dir, oa, a, OIDC_ORG_ROLE_CERT_HOLDER, 0, &c), 0);
	assert_string_equal(json_string_value(json_object_get(c, "role")), "cert_holder");
	assert_string_equal(json_string_value(json_object_get(c, "uscc")), a);
	json_decref(c);
	/* the person a certificate login linked to it: the person's grant */
	assert_int_equal(oidc_org_claim(F->id->dir, F->uid, a, OIDC_ORG_ROLE_CERT_HOLDER, 0, &c),
	    0);
	json_decref(c);
	assert_int_equal(oidc_org_claim(F->id->dir, "0123456789abcdef0123456789abcdef", a,
	    OIDC_ORG_ROLE_CERT_HOLDER, 0, &c), YH_ERR_DENIED);
	assert_int_equal(oidc_org_claim(F->id->dir, ob, a, OIDC_ORG_ROLE_CERT_HOLDER, 0, &c),
	    YH_ERR_DENIED);
	assert_int_equal(oidc_org_claim(F->id->dir, oa, a, "legal_rep", 0, &c), YH_ERR_DENIED);
	assert_null(c);
	/* Its session's claims: none of a person's. */
	assert_int_equal(oidc_user_claims(F->id->dir, NULL, oa, CLIENTS_SCOPE_PROFILE, &c), 0);
	assert_int_equal(json_object_size(c), 0);
	json_decref(c);
	make_uscc("91", "M0001003", a);
	add_org(a, "已注销有限公司", "", oa);
	assert_int_equal(dir_org_set_status(F->id->dir, oa, DIR_STATUS_DEREGISTERED, "test"), 0);
	assert_int_equal(oidc_org_self(F->id->dir, oa, us), YH_ERR_NOT_FOUND);
	assert_int_equal(oidc_org_claim(F->id->dir, oa, a, OIDC_ORG_ROLE_CERT_HOLDER, 0, &c),
	    YH_ERR_DENIED);
}

/* Tokens, userinfo, refresh re-check and audit of a grant acting for an organization. */
static void
test_org_tokens(void **state)
{
	char b[19], ob[DIR_UID_LEN + 1], body[512], bearer[2048], h[512];
	struct dir_org o;
	struct resp r, r1, u;
	json_t *c;
	struct sess_family fam;
	const char *at;
	char *rt = NULL, *payload = NULL;

	(void)state;
	make_uscc("91", "M0001002", b);
	memset(&o, 0, sizeof(o));
	assert_int_equal(dir_org_find_uscc(F->id->dir, b, &o), 0);
	memcpy(ob, o.uid, sizeof(ob));
	dir_org_clear(&o);
	add_client(F, "orgc", CLIENTS_AUTH_SECRET, CLIENTS_SCOPE_OPENID | CLIENTS_SCOPE_PROFILE |
	    CLIENTS_SCOPE_ORG, CLIENTS_GRANTS_DEFAULT, false, NULL, NULL);

	redeem_org(b, "agent", &r);
	assert_int_equal(r.status, 200);
	assert_non_null(c = jwt_claims(jstr(&r, "id_token"), TOK_KIND_ID, "orgc"));
	assert_agent_org(c, b);
	assert_int_equal(strlen(json_string_value(json_object_get(c, "sub"))), 43);
	json_decref(c);
	at = jstr(&r, "access_token");
	assert_non_null(c = jwt_claims(at, TOK_KIND_ACCESS, F->issuer));
	assert_agent_org(c, b);
	json_decref(c);
	snprintf(bearer, sizeof(bearer), "Bearer %s", at);
	http("GET", "/userinfo", NULL, bearer, &u);
	assert_int_equal(u.status, 200);
	assert_agent_org(u.json, b);
	resp_free(&u);
	rt = strdup(jstr(&r, "refresh_token"));
	resp_free(&r);

	/* a refresh while the relation holds carries it on */
	snprintf(body, sizeof(body), "grant_type=refresh_token&refresh_token=%s", rt);
	basic("orgc", SECRET, h, sizeof(h));
	post("/token", body, h, &r1);
	assert_int_equal(r1.status, 200);
	assert_non_null(c = jwt_claims(jstr(&r1, "access_token"), TOK_KIND_ACCESS, F->issuer));
	assert_agent_org(c, b);
	json_decref(c);
	free(rt);
	rt = strdup(jstr(&r1, "refresh_token"));
	resp_free(&r1);

	/* the agent's relation ends: userinfo refuses, the refresh fails, the family goes */
	assert_int_equal(dir_mandate_end(F->id->dir, ob, F->uid, DIR_ROLE_AGENT, "test", NULL), 0);
	http("GET", "/userinfo", NULL, bearer, &u);
	assert_int_equal(u.status, 401);
	resp_free(&u);
	snprintf(body, sizeof(body), "grant_type=refresh_token&refresh_token=%s", rt);
	post("/token", body, h, &r1);
	assert_int_equal(r1.status, 400);
	assert_string_equal(jstr(&r1, "error"), "invalid_grant");
	resp_free(&r1);
	assert_int_not_equal(sess_refresh_peek(F->sess, rt, &fam, &payload), 0);
	free(payload);
	/* a code for the organization is refused too; one as the person still works */
	redeem_org(b, "agent", &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(jstr(&r, "error"), "invalid_grant");
	resp_free(&r);
	redeem_org(NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(c = jwt_claims(jstr(&r, "id_token"), TOK_KIND_ID, "orgc"));
	assert_null(json_object_get(c, "yh_org"));
	json_decref(c);
	resp_free(&r);
	free(rt);
}

/* client_credentials of an organization's app; token.issue names the organization. */
static void
test_org_client_credentials(void **state)
{
	const char *uris[1] = { REDIRECT };
	char a[19], h[512], err[256], line[4096], path[128];
	struct clients_client cl;
	struct dir_org o;
	struct resp r;
	json_t *c;
	FILE *fp;
	bool seen = false;

	(void)state;
	make_uscc("91", "M0001001", a);
	clients_client_init(&cl);
	assert_int_equal(yh_strlcpy(cl.id, "orgsys", sizeof(cl.id)), 0);
	cl.redirect_uris = uris;
	cl.n_redirect_uris = 1;
	cl.grants = CLIENTS_GRANT_CLIENT_CREDENTIALS;
	cl.scopes = CLIENTS_SCOPE_PROFILE;
	cl.org = "91350100m000100y43";   /* not canonical */
	assert_int_not_equal(clients_add(F->clients, &cl, SECRET, err, sizeof(err)), 0);
	cl.org = a;
	if (clients_add(F->clients, &cl, SECRET, err, sizeof(err)) != 0)
		fail_msg("clients_add: %s", err);
	basic("orgsys", SECRET, h, sizeof(h));
	post("/token", "grant_type=client_credentials", h, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(c = jwt_claims(jstr(&r, "access_token"), TOK_KIND_ACCESS, F->issuer));
	assert_string_equal(json_string_value(json_object_get(c, "sub")), "orgsys");
	assert_string_equal(json_string_value(json_object_get(json_object_get(c, "yh_org"),
	    "uscc")), a);
	assert_string_equal(json_string_value(json_object_get(json_object_get(c, "yh_org"),
	    "kind")), "enterprise");
	assert_null(json_object_get(json_object_get(c, "yh_org"), "role"));
	json_decref(c);
	resp_free(&r);
	snprintf(path, sizeof(path), "%s/audit.log", F->root);
	assert_non_null(fp = fopen(path, "r"));
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strstr(line, "client:orgsys") != NULL && strstr(line, a) != NULL)
			seen = true;
	fclose(fp);
	assert_true(seen);
	/* a deregistered organization's app gets nothing */
	memset(&o, 0, sizeof(o));
	assert_int_equal(dir_org_find_uscc(F->id->dir, a, &o), 0);
	assert_int_equal(dir_org_set_status(F->id->dir, o.uid, DIR_STATUS_DEREGISTERED, "test"), 0);
	dir_org_clear(&o);
	post("/token", "grant_type=client_credentials", h, &r);
	assert_string_equal(jstr(&r, "error"), "unauthorized_client");
	resp_free(&r);
}

/* ---- CORS ------------------------------------------------------------------------------- */

#define PUB_ORIGIN "http://127.0.0.1:9"   /* the origin of the public client pub's REDIRECT */
#define ACAO_PUB "Access-Control-Allow-Origin: " PUB_ORIGIN "\r\n"

/* The answer carries no Access-Control-* header. */
static void
assert_no_cors(const struct resp *r)
{
	assert_false(has_header(r, "Access-Control-"));
}

/* A public client's origin gets its answers; another origin, or another app's, nothing;
 * never "*" nor Allow-Credentials. */
static void
test_cors(void **state)
{
	char code[SESS_TOKEN_SIZE], body[4096], bearer[2048];
	struct resp r, u;

	(void)state;
	/* preflights */
	http_from("OPTIONS", "/token", NULL, NULL, PUB_ORIGIN, &r);
	assert_int_equal(r.status, 204);
	assert_true(has_header(&r, ACAO_PUB));
	assert_true(has_header(&r, "Access-Control-Allow-Methods: POST\r\n"));
	assert_true(has_header(&r, "Access-Control-Allow-Headers: Authorization, Content-Type"));
	assert_true(has_header(&r, "Access-Control-Max-Age: 600"));
	assert_true(has_header(&r, "Vary: Origin"));
	assert_false(has_header(&r, "Access-Control-Allow-Credentials"));
	resp_free(&r);
	http_from("OPTIONS", "/userinfo", NULL, NULL, PUB_ORIGIN, &r);
	assert_true(has_header(&r, "Access-Control-Allow-Methods: GET, POST\r\n"));
	resp_free(&r);
	http_from("OPTIONS", "/revoke", NULL, NULL, "https://evil.example", &r);
	assert_int_equal(r.status, 204);
	assert_no_cors(&r);
	assert_true(has_header(&r, "Vary: Origin"));
	resp_free(&r);
	http_from("OPTIONS", "/introspect", NULL, NULL, PUB_ORIGIN, &r);
	assert_int_equal(r.status, 405);
	assert_no_cors(&r);
	resp_free(&r);
	/* /token: the client the request names; an error answer too */
	http_from("POST", "/token", "grant_type=refresh_token&client_id=pub&refresh_token=x",
	    NULL, PUB_ORIGIN, &r);
	assert_int_equal(r.status, 400);
	assert_true(has_header(&r, ACAO_PUB));
	assert_true(has_header(&r, "Vary: Origin"));
	resp_free(&r);
	http_from("POST", "/token", "grant_type=refresh_token&client_id=pub&refresh_token=x",
	    NULL, "http://127.0.0.1:10", &r);
	assert_no_cors(&r);
	assert_true(has_header(&r, "Vary: Origin"));
	resp_free(&r);
	http_from("POST", "/token", "grant_type=client_credentials", conf_auth(), PUB_ORIGIN,
	    &r);
	assert_int_equal(r.status, 200);
	assert_no_cors(&r);          /* a confidential client has no origins */
	resp_free(&r);
	http_from("POST", "/token", "grant_type=client_credentials&client_id=conf&client_id=pub",
	    NULL, PUB_ORIGIN, &r);
	assert_no_cors(&r);          /* client_id twice names no client */
	resp_free(&r);
	/* a code of pub, redeemed from its origin; its token at /userinfo */
	make_code("pub", "openid profile", CHALLENGE, NULL, code);
	snprintf(body, sizeof(body), "grant_type=authorization_code&client_id=pub&code=%s"
	    "&redirect_uri=http%%3A%%2F%%2F127.0.0.1%%3A9%%2Fcb&code_verifier=%s", code, VERIFIER);
	http_from("POST", "/token", body, NULL, PUB_ORIGIN, &r);
	assert_int_equal(r.status, 200);
	assert_true(has_header(&r, ACAO_PUB));
	snprintf(bearer, sizeof(bearer), "Bearer %s", jstr(&r, "access_token"));
	http_from("GET", "/userinfo", NULL, bearer, PUB_ORIGIN, &u);
	assert_int_equal(u.status, 200);
	assert_true(has_header(&u, ACAO_PUB));
	assert_true(has_header(&u, "Access-Control-Expose-Headers: WWW-Authenticate"));
	resp_free(&u);
	http_from("GET", "/userinfo", NULL, bearer, "https://evil.example", &u);
	assert_int_equal(u.status, 200);
	assert_no_cors(&u);
	resp_free(&u);
	snprintf(body, sizeof(body), "client_id=pub&token=%s", jstr(&r, "refresh_token"));
	http_from("POST", "/revoke", body, NULL, PUB_ORIGIN, &u);
	assert_int_equal(u.status, 200);
	assert_true(has_header(&u, ACAO_PUB));
	resp_free(&u);
	http_from("GET", "/userinfo", NULL, bearer, PUB_ORIGIN, &u);
	assert_int_equal(u.status, 401);   /* revoked with its family; the 401 readable */
	assert_true(has_header(&u, ACAO_PUB));
	resp_free(&u);
	resp_free(&r);
	/* a token of a confidential app: its app has no origins */
	redeem_conf("openid profile", &r);
	snprintf(bearer, sizeof(bearer), "Bearer %s", jstr(&r, "access_token"));
	http_from("GET", "/userinfo", NULL, bearer, PUB_ORIGIN, &u);
	assert_int_equal(u.status, 200);
	assert_no_cors(&u);
	resp_free(&u);
	snprintf(body, sizeof(body), "token=%s", jstr(&r, "access_token"));
	http_from("POST", "/introspect", body, conf_auth(), PUB_ORIGIN, &u);
	assert_int_equal(u.status, 200);
	assert_no_cors(&u);
	assert_false(has_header(&u, "Vary: Origin"));
	resp_free(&u);
	resp_free(&r);
	/* no token: the 401 readable by any app's origin only */
	http_from("GET", "/userinfo", NULL, NULL, PUB_ORIGIN, &u);
	assert_int_equal(u.status, 401);
	assert_true(has_header(&u, ACAO_PUB));
	resp_free(&u);
	http_from("GET", "/userinfo", NULL, NULL, "null", &u);
	assert_no_cors(&u);
	resp_free(&u);
}

/* ---- the device authorization grant ---- */

/* User codes: XXXX-XXXX of the 20 consonants, every letter of the alphabet drawn, and a
 * code typed in lower case, without the dash or with blanks is the same code; anything
 * else (a vowel, a digit, too short or long) is refused. */
static void
test_device_user_code(void **state)
{
	char c[OIDC_DEV_CODE_SIZE], n[OIDC_DEV_CODE_SIZE];
	bool seen[26] = { false };
	size_t nseen = 0;

	(void)state;
	for (int k = 0; k < 400; k++) {
		assert_int_equal(oidc_dev_user_code_new(c), 0);
		assert_int_equal(strlen(c), 9);
		assert_int_equal(c[4], '-');
		for (int i = 0; i < 9; i++) {
			if (i == 4)
				continue;
			assert_non_null(strchr(OIDC_DEV_ALPHABET, c[i]));
			if (!seen[c[i] - 'A']) {
				seen[c[i] - 'A'] = true;
				nseen++;
			}
		}
		assert_int_equal(oidc_dev_user_code_norm(c, n), 0);
		assert_string_equal(n, c);
	}
	assert_int_equal(nseen, strlen(OIDC_DEV_ALPHABET));
	assert_string_equal(OIDC_DEV_ALPHABET, "BCDFGHJKLMNPQRSTVWXZ");
	assert_int_equal(oidc_dev_user_code_norm("bcdfghjk", n), 0);
	assert_string_equal(n, "BCDF-GHJK");
	assert_int_equal(oidc_dev_user_code_norm(" bcd f-gh jk ", n), 0);
	assert_string_equal(n, "BCDF-GHJK");
	assert_int_equal(oidc_dev_user_code_norm("BCDF-GHJA", n), YH_ERR_INVALID);   /* vowel */
	assert_int_equal(oidc_dev_user_code_norm("BCDF-GHJ0", n), YH_ERR_INVALID);   /* digit */
	assert_int_equal(oidc_dev_user_code_norm("BCDF-GHJ", n), YH_ERR_INVALID);
	assert_int_equal(oidc_dev_user_code_norm("BCDF-GHJKL", n), YH_ERR_INVALID);
	assert_int_equal(oidc_dev_user_code_norm("", n), YH_ERR_INVALID);
	assert_int_equal(oidc_dev_user_code_norm(NULL, n), YH_ERR_INVALID);
	assert_int_equal(oidc_dev_user_code_norm("BCDF\nGHJK", n), YH_ERR_INVALID);
}

/* The request's states: pending polls at the interval, slow_down (the interval grows by
 * 5 s and stays grown), approved issues once, denied is told once, expiry, and the
 * record survives its JSON. */
static void
test_device_states(void **state)
{
	struct oidc_dev d, e;
	char *j = NULL;

	(void)state;
	memset(&d, 0, sizeof(d));
	snprintf(d.client_id, sizeof(d.client_id), "kiosk");
	snprintf(d.scope, sizeof(d.scope), "openid profile");
	d.exp = 1000;
	d.interval = 5;
	assert_int_equal(oidc_dev_poll_step(&d, 100000), OIDC_DEV_POLL_PENDING);
	assert_int_equal(oidc_dev_poll_step(&d, 105000), OIDC_DEV_POLL_PENDING);
	assert_int_equal(oidc_dev_poll_step(&d, 106000), OIDC_DEV_POLL_SLOW_DOWN);
	assert_int_equal(d.interval, 5 + OIDC_DEV_SLOW_DOWN);
	/* the old interval is not enough any more */
	assert_int_equal(oidc_dev_poll_step(&d, 106000 + 5000), OIDC_DEV_POLL_SLOW_DOWN);
	assert_int_equal(d.interval, 5 + 2 * OIDC_DEV_SLOW_DOWN);
	assert_int_equal(oidc_dev_poll_step(&d, 111000 + 15000), OIDC_DEV_POLL_PENDING);
	/* JSON round trip, approved with a grant */
	d.st = OIDC_DEV_APPROVED;
	assert_int_equal(oidc_dev_json(&d, &j), YH_ERR_INVALID);    /* approved needs a grant */
	d.grant = strdup("{\"uid\":\"u1\"}");
	assert_int_equal(oidc_dev_json(&d, &j), 0);
	assert_int_equal(oidc_dev_parse(j, &e), 0);
	free(j);
	assert_int_equal(e.st, OIDC_DEV_APPROVED);
	assert_string_equal(e.client_id, "kiosk");
	assert_string_equal(e.scope, "openid profile");
	assert_string_equal(e.grant, "{\"uid\":\"u1\"}");
	assert_int_equal(e.interval, d.interval);
	assert_int_equal(e.next_ms, d.next_ms);
	/* approved: issued once, then used */
	assert_int_equal(oidc_dev_poll_step(&e, 130000), OIDC_DEV_POLL_ISSUE);
	assert_int_equal(e.st, OIDC_DEV_DONE);
	assert_int_equal(oidc_dev_poll_step(&e, 200000), OIDC_DEV_POLL_USED);
	assert_int_equal(oidc_dev_poll_step(&e, 2000000), OIDC_DEV_POLL_USED);
	oidc_dev_clear(&e);
	/* denied: told once */
	d.st = OIDC_DEV_DENIED;
	assert_int_equal(oidc_dev_poll_step(&d, 130000), OIDC_DEV_POLL_DENIED);
	assert_int_equal(oidc_dev_poll_step(&d, 140000), OIDC_DEV_POLL_USED);
	/* expired, whatever the state but done */
	d.st = OIDC_DEV_APPROVED;
	assert_int_equal(oidc_dev_poll_step(&d, 1000000), OIDC_DEV_POLL_EXPIRED);
	assert_int_equal(d.st, OIDC_DEV_APPROVED);
	d.st = OIDC_DEV_PENDING;
	assert_int_equal(oidc_dev_poll_step(&d, 1000000), OIDC_DEV_POLL_EXPIRED);
	oidc_dev_clear(&d);
	/* what is not a record */
	assert_int_equal(oidc_dev_parse("{}", &e), YH_ERR_INVALID);
	assert_int_equal(oidc_dev_parse("{\"st\":\"approved\",\"client_id\":\"k\","
	    "\"scope\":\"\",\"exp\":1,\"iv\":5,\"next\":0}", &e), YH_ERR_INVALID);
	assert_int_equal(oidc_dev_parse("{\"st\":\"odd\",\"client_id\":\"k\","
	    "\"scope\":\"\",\"exp\":1,\"iv\":5,\"next\":0}", &e), YH_ERR_INVALID);
	assert_int_equal(oidc_dev_parse("{\"st\":\"pending\",\"client_id\":\"k\","
	    "\"scope\":\"\",\"exp\":1,\"iv\":0,\"next\":0}", &e), YH_ERR_INVALID);
}

/* ---- QR-code login ---- */

/* The QR request's states: a confirm needs a scan by the same person, the level is the
 * lower of the two tokens', another person or browser is refused, it is claimed once,
 * and it expires; the record survives its JSON. */
static void
test_qr_states(void **state)
{
	struct login_qr q, c, d;
	char *j = NULL;
	const char *bh = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	const char *other = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

	(void)state;
	memset(&q, 0, sizeof(q));
	snprintf(q.bhash, sizeof(q.bhash), "%s", bh);
	snprintf(q.addr, sizeof(q.addr), "192.0.2.7");
	q.created = 1000;
	q.exp = 1120;
	assert_int_equal(login_qr_claim(&q, bh, 1001), YH_ERR_BUSY);
	assert_int_equal(login_qr_confirm(&q, "u1", 3, 1001), YH_ERR_INVALID);  /* no scan */
	assert_int_equal(login_qr_scan(&q, "u1", "mobile", 0, 1001), YH_ERR_INVALID);
	assert_int_equal(login_qr_scan(&q, "u1", "mobile", 3, 1001), 0);
	assert_int_equal(q.st, LOGIN_QR_SCANNED);
	assert_int_equal(login_qr_scan(&q, "u1", "mobile", 3, 1002), 0);      /* again: same */
	assert_int_equal(login_qr_scan(&q, "u2", "mobile", 3, 1002), YH_ERR_DENIED);
	assert_int_equal(login_qr_confirm(&q, "u2", 3, 1002), YH_ERR_DENIED);
	assert_int_equal(login_qr_deny(&q, "u2", 1002), YH_ERR_DENIED);
	assert_int_equal(login_qr_claim(&q, bh, 1002), YH_ERR_BUSY);
	/* JSON round trip */
	assert_int_equal(login_qr_json(&q, &j), 0);
	assert_int_equal(login_qr_parse(j, &c), 0);
	free(j);
	assert_int_equal(c.st, LOGIN_QR_SCANNED);
	assert_string_equal(c.uid, "u1");
	assert_string_equal(c.client_id, "mobile");
	assert_string_equal(c.addr, "192.0.2.7");
	assert_int_equal(c.loa, 3);
	assert_false(c.org);
	/* refused for an organization's token: the mark survives the JSON; a record
	 * without it (written before it existed) parses as not an organization's */
	c.org = true;
	assert_int_equal(login_qr_json(&c, &j), 0);
	assert_int_equal(login_qr_parse(j, &c), 0);
	free(j);
	assert_true(c.org);
	assert_int_equal(login_qr_parse("{\"st\":\"denied\",\"b\":\"aaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"ua\":\"\",\"addr\":\"\",\"created\":1,"
	    "\"exp\":2,\"uid\":\"\",\"client_id\":\"\",\"loa\":0}", &d), 0);
	assert_false(d.org);
	assert_int_equal(d.st, LOGIN_QR_DENIED);
	c.org = false;
	/* the confirm's token at a lower level lowers it, never raises it */
	assert_int_equal(login_qr_confirm(&c, "u1", 2, 1003), 0);
	assert_int_equal(c.loa, 2);
	assert_int_equal(login_qr_confirm(&q, "u1", 4, 1003), 0);
	assert_int_equal(q.loa, 3);
	/* another browser; then the one that made it, once */
	assert_int_equal(login_qr_claim(&q, other, 1004), YH_ERR_DENIED);
	assert_int_equal(login_qr_claim(&q, "short", 1004), YH_ERR_DENIED);
	assert_int_equal(login_qr_claim(&q, bh, 1004), 0);
	assert_int_equal(q.st, LOGIN_QR_DONE);
	assert_int_equal(login_qr_claim(&q, bh, 1004), YH_ERR_DENIED);
	assert_int_equal(login_qr_scan(&q, "u1", "mobile", 3, 1004), YH_ERR_DENIED);
	/* refused; expired */
	c.st = LOGIN_QR_PENDING;
	assert_int_equal(login_qr_deny(&c, "u9", 1005), 0);
	assert_int_equal(login_qr_claim(&c, bh, 1005), YH_ERR_DENIED);
	assert_int_equal(login_qr_confirm(&c, "u1", 2, 1005), YH_ERR_DENIED);
	c.st = LOGIN_QR_CONFIRMED;
	assert_int_equal(login_qr_claim(&c, bh, 1120), YH_ERR_EXPIRED);
	assert_int_equal(login_qr_scan(&c, "u1", "mobile", 2, 1120), YH_ERR_EXPIRED);
	assert_int_equal(login_qr_parse("{\"st\":\"pending\"}", &c), YH_ERR_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_status),
		cmocka_unit_test(test_device_user_code),
		cmocka_unit_test(test_device_states),
		cmocka_unit_test(test_qr_states),
		cmocka_unit_test(test_url_param),
		cmocka_unit_test(test_scopes),
		cmocka_unit_test(test_loa_acr),
		cmocka_unit_test(test_pairwise),
		cmocka_unit_test(test_grant_json),
		cmocka_unit_test(test_claims),
		cmocka_unit_test(test_claims_open),
		cmocka_unit_test(test_staff_claim),
		cmocka_unit_test(test_uref),
		cmocka_unit_test(test_code_flow),
		cmocka_unit_test(test_code_errors),
		cmocka_unit_test(test_code_replay),
		cmocka_unit_test(test_refresh),
		cmocka_unit_test(test_refresh_reuse),
		cmocka_unit_test(test_session_end),
		cmocka_unit_test(test_client_auth),
		cmocka_unit_test(test_client_credentials),
		cmocka_unit_test(test_userinfo),
		cmocka_unit_test(test_introspect_revoke),
		cmocka_unit_test(test_helper_refusals),
		cmocka_unit_test(test_audit_written),
		cmocka_unit_test(test_pinned_sub),
		cmocka_unit_test(test_org_claims),
		cmocka_unit_test(test_org_tokens),
		cmocka_unit_test(test_org_client_credentials),
		cmocka_unit_test(test_cors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
