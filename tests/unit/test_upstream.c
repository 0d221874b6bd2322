/*
 * Unit tests for the upstream identity providers (federation/upstream_cfg.h): the
 * upstream.NAME.* blocks read through authd's configuration (so that an error names
 * file:line and the option), the checks of each kind, the level an asserted acr gives
 * (never above the mapping), and copies compared for a reload.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "authcore/authd_config.h"
#include "federation/upstream_cfg.h"
#include "federation/upstream_oidc.h"
#include "federation/upstream_ticket.h"
#include "token/jwk.h"
#include "tests/unit/tmpdir.h"

#define OIDC \
	"upstream.province.kind = oidc\n" \
	"upstream.province.display_name = 省统一身份认证平台\n" \
	"upstream.province.issuer = https://idp.province.example\n" \
	"upstream.province.client_id = city\n" \
	"upstream.province.client_secret = s3cret\n" \
	"upstream.province.scopes = openid profile idcard phone\n" \
	"upstream.province.map.id_number = id_number\n" \
	"upstream.province.map.name = name\n"

/* Loads "state_dir = st\n" + extra into *c (freed by the caller). */
static int
load_into(struct authd_cfg *c, const char *extra, char *err, size_t errsz)
{
	char text[4096];
	const char *p;

	snprintf(text, sizeof(text), "state_dir = st\n%s", extra);
	p = write_file("authd.conf", text, 0600);
	return authd_cfg_load(c, p, NULL, NULL, err, errsz);
}

static int
load(const char *extra, char *err, size_t errsz)
{
	struct authd_cfg c;
	int r = load_into(&c, extra, err, errsz);

	authd_cfg_free(&c);
	return r;
}

/* err must be "DIR/authd.conf:LINE: rest...". */
static void
assert_at(const char *err, int line, const char *rest)
{
	char want[400];

	snprintf(want, sizeof(want), "%s/authd.conf:%d: %s", tmpdir, line, rest);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("got \"%s\", want \"%s...\"", err, want);
}

static void
test_blocks(void **state)
{
	struct authd_cfg c;
	const struct fed_up_cfg *u;
	char err[512];

	(void)state;
	assert_int_equal(load_into(&c, OIDC "upstream.hall.kind = ticket\n"
	    "upstream.hall.display_name = 政务服务网\n"
	    "upstream.hall.login_url = https://hall.example/login\n"
	    "upstream.hall.validate_url = https://hall.example/validate\n"
	    "upstream.hall.app_id = app1\nupstream.hall.app_secret = k\n"
	    "upstream.hall.sign = hmac-sm3\nupstream.hall.map.id_number = data.user.idCard\n"
	    "upstream.hall.map.sub = data.user.id\n", err, sizeof(err)), 0);
	assert_int_equal(c.upstreams.n, 2);
	u = fed_up_find(&c.upstreams, "province");
	assert_non_null(u);
	assert_string_equal(u->kind, "oidc");
	assert_string_equal(u->client_secret, "s3cret");
	assert_int_equal(u->loa, 2);
	assert_string_equal(u->link, "id_number");
	assert_false(u->auto_register);
	u = fed_up_find(&c.upstreams, "hall");
	assert_non_null(u);
	assert_string_equal(u->map_id_number, "data.user.idCard");
	assert_string_equal(u->sign, "hmac-sm3");
	assert_null(fed_up_find(&c.upstreams, "nation"));
	authd_cfg_free(&c);
	assert_int_equal(c.upstreams.n, 0);

	/* the file's other readers: a file without blocks has none */
	assert_int_equal(load_into(&c, "", err, sizeof(err)), 0);
	assert_int_equal(c.upstreams.n, 0);
	authd_cfg_free(&c);
}

static void
test_errors(void **state)
{
	char err[512], text[2048];
	const char *key;

	(void)state;
	assert_int_equal(load("upstream.Province.kind = oidc\n", err, sizeof(err)),
	    YH_ERR_CONFIG);
	assert_at(err, 2, "upstream.Province.kind: expected upstream.NAME.OPTION");
	assert_int_equal(load("upstream.province = oidc\n", err, sizeof(err)), YH_ERR_CONFIG);
	assert_at(err, 2, "upstream.province: expected upstream.NAME.OPTION");
	assert_int_equal(load(OIDC "upstream.province.colour = red\n", err, sizeof(err)),
	    YH_ERR_CONFIG);
	assert_at(err, 10, "unknown option 'upstream.province.colour'");
	assert_int_equal(load(OIDC "upstream.province.kind = oidc\n", err, sizeof(err)),
	    YH_ERR_CONFIG);
	assert_at(err, 10, "option 'upstream.province.kind' given twice");
	assert_int_equal(load(OIDC "upstream.province.loa = 5\n", err, sizeof(err)),
	    YH_ERR_CONFIG);
	assert_at(err, 10, "upstream.province.loa: expected a number in 1..4");
	assert_int_equal(load(OIDC "upstream.province.kind2 = x\n", err, sizeof(err)),
	    YH_ERR_CONFIG);
	/* a required option missing names the block's first line */
	assert_int_equal(load("upstream.p.display_name = P\nupstream.p.issuer = "
	    "https://p.example\n", err, sizeof(err)), YH_ERR_CONFIG);
	assert_at(err, 2, "upstream.p.kind: is required");
	assert_int_equal(load("upstream.p.kind = oidc\nupstream.p.display_name = P\n"
	    "upstream.p.map.id_number = idn\n", err, sizeof(err)), YH_ERR_CONFIG);
	assert_at(err, 2, "upstream.p.issuer: is required");
	/* http only for loopback */
	assert_int_equal(load(OIDC "upstream.province.issuer = http://idp.example\n", err,
	    sizeof(err)), YH_ERR_CONFIG);
	assert_int_equal(load(OIDC, err, sizeof(err)), 0);
#define PLAIN(iss) \
	"upstream.province.kind = oidc\nupstream.province.display_name = P\n" \
	"upstream.province.issuer = " iss "\nupstream.province.client_id = city\n" \
	"upstream.province.client_secret = s3cret\nupstream.province.map.id_number = idn\n"
	assert_int_equal(load(PLAIN("http://idp.example"), err, sizeof(err)), YH_ERR_CONFIG);
	assert_at(err, 4, "upstream.province.issuer: must use https://");
	assert_int_equal(load(PLAIN("http://127.0.0.1:9000"), err, sizeof(err)), 0);
	assert_int_equal(load(PLAIN("http://[::1]:9000/x"), err, sizeof(err)), 0);
	assert_int_equal(load(PLAIN("https://idp.example/x?a=b"), err, sizeof(err)),
	    YH_ERR_CONFIG);
	assert_at(err, 4, "upstream.province.issuer: must have no query");
	/* scopes, algs, acr_map, paths, link */
	assert_int_equal(load(OIDC "upstream.province.scopes2 = a\n", err, sizeof(err)),
	    YH_ERR_CONFIG);
	key = "upstream.province.acr_map = urn:a=2, urn:b\n";
	snprintf(text, sizeof(text), OIDC "%s", key);
	assert_int_equal(load(text, err, sizeof(err)), YH_ERR_CONFIG);
	assert_at(err, 10, "upstream.province.acr_map: expected acr=LEVEL");
	assert_int_equal(load(OIDC "upstream.province.acr_map = urn:a=5\n", err, sizeof(err)),
	    YH_ERR_CONFIG);
	assert_int_equal(load(OIDC "upstream.province.algs = ES256 none\n", err, sizeof(err)),
	    YH_ERR_CONFIG);
	assert_at(err, 10, "upstream.province.algs: expected one or more");
	assert_int_equal(load(OIDC "upstream.province.map.phone = data..phone\n", err,
	    sizeof(err)), YH_ERR_CONFIG);
	assert_at(err, 10, "upstream.province.map.phone: expected a claim name or a dotted");
	assert_int_equal(load("upstream.p.kind = oidc\nupstream.p.display_name = P\n"
	    "upstream.p.issuer = https://p.example\nupstream.p.client_id = c\n"
	    "upstream.p.client_secret = s\nupstream.p.map.id_number = idn\n"
	    "upstream.p.auto_register = yes\n", err, sizeof(err)), YH_ERR_CONFIG);
	assert_at(err, 2, "upstream.p.map.name: is required with auto_register");
	assert_int_equal(load(OIDC "upstream.province.map.uscc = uscc\n", err, sizeof(err)),
	    YH_ERR_CONFIG);
	assert_at(err, 2, "upstream.province.map.user_type: map.user_type and map.uscc");
	assert_int_equal(load("upstream.p.kind = oidc\nupstream.p.display_name = P\n"
	    "upstream.p.issuer = https://p.example\nupstream.p.client_id = c\n"
	    "upstream.p.client_secret = s\nupstream.p.link = sub\n", err, sizeof(err)), 0);
	assert_int_equal(load("upstream.p.kind = oidc\nupstream.p.display_name = P\n"
	    "upstream.p.issuer = https://p.example\nupstream.p.client_id = c\n"
	    "upstream.p.client_secret = s\n", err, sizeof(err)), YH_ERR_CONFIG);
	assert_at(err, 2, "upstream.p.map.id_number: is required with link = id_number");
	/* ticket: what its sign needs */
#define TICKET "upstream.t.kind = ticket\nupstream.t.display_name = T\n" \
	"upstream.t.login_url = https://t.example/login\n" \
	"upstream.t.validate_url = https://t.example/v\nupstream.t.app_id = a\n" \
	"upstream.t.map.id_number = idCard\n"
	assert_int_equal(load(TICKET "upstream.t.sign = sm2-sm3\n", err, sizeof(err)),
	    YH_ERR_CONFIG);
	assert_at(err, 2, "upstream.t.sign_key_file: is required with sign = sm2-sm3");
	write_file("sm2.pem", "x", 0644);
	assert_int_equal(load(TICKET "upstream.t.sign = sm2-sm3\nupstream.t.sign_key_file = "
	    "sm2.pem\n", err, sizeof(err)), YH_ERR_CONFIG);
	assert_at(err, 9, "upstream.t.sign_key_file: ");
	assert_non_null(strstr(err, "sm2.pem"));
	write_file("sm2.pem", "x", 0600);
	assert_int_equal(load(TICKET "upstream.t.sign = sm2-sm3\nupstream.t.sign_key_file = "
	    "sm2.pem\n", err, sizeof(err)), 0);
	assert_int_equal(load(TICKET "upstream.t.sign = sm2\n", err, sizeof(err)),
	    YH_ERR_CONFIG);
	assert_at(err, 8, "upstream.t.sign: 'sm2' is not one of the allowed values");
	assert_int_equal(load("upstream.t.kind = ticket\nupstream.t.display_name = T\n"
	    "upstream.t.login_url = https://t.example/login\n"
	    "upstream.t.validate_url = https://t.example/v\nupstream.t.app_id = a\n"
	    "upstream.t.app_secret = k\nupstream.t.map.id_number = idCard\n"
	    "upstream.t.logout = propagate\n", err, sizeof(err)), YH_ERR_CONFIG);
	assert_at(err, 9, "upstream.t.logout: propagate needs kind = oidc");
	assert_int_equal(load("upstream.t.kind = ticket\nupstream.t.display_name = T\n"
	    "upstream.t.login_url = https://t.example/login\n"
	    "upstream.t.validate_url = https://t.example/v\nupstream.t.app_id = a\n"
	    "upstream.t.map.id_number = idCard\n", err, sizeof(err)), YH_ERR_CONFIG);
	assert_at(err, 2, "upstream.t.app_secret: is required");
}

static void
test_loa(void **state)
{
	struct fed_up_cfg u = { .loa = 2, .acr_map = "urn:prov:l3=2, urn:prov:l4 = 3,"
	    "urn:yihao:loa:4=3" };

	(void)state;
	assert_int_equal(fed_up_loa(&u, NULL), 2);
	assert_int_equal(fed_up_loa(&u, ""), 2);
	assert_int_equal(fed_up_loa(&u, "urn:prov:l3"), 2);
	assert_int_equal(fed_up_loa(&u, "urn:prov:l4"), 3);
	/* mapped lower than the level it names: the mapping wins */
	assert_int_equal(fed_up_loa(&u, "urn:yihao:loa:4"), 3);
	/* unmapped, however high it sounds: loa */
	assert_int_equal(fed_up_loa(&u, "urn:prov:l9"), 2);
	assert_int_equal(fed_up_loa(&u, "urn:prov:l"), 2);
	u.loa = 1;
	u.acr_map = NULL;
	assert_int_equal(fed_up_loa(&u, "urn:yihao:loa:4"), 1);
}

static void
test_copy(void **state)
{
	struct authd_cfg a, b;
	struct fed_up_set c;
	char err[512];

	(void)state;
	assert_int_equal(load_into(&a, OIDC, err, sizeof(err)), 0);
	assert_int_equal(load_into(&b, OIDC "upstream.province.loa = 3\n", err, sizeof(err)),
	    0);
	assert_false(fed_up_equal(&a.upstreams, &b.upstreams));
	assert_int_equal(fed_up_copy(&c, &a.upstreams), 0);
	assert_true(fed_up_equal(&a.upstreams, &c));
	assert_ptr_not_equal(c.up[0]->client_secret, a.upstreams.up[0]->client_secret);
	fed_up_free(&c);
	authd_cfg_free(&a);
	authd_cfg_free(&b);
}

/* Writes a new private key of alg to DIR/name (mode 0600); returns the path. */
static const char *
write_key(const char *name, enum tok_alg alg)
{
	static char path[256];
	struct tok_key *k = NULL;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	unlink(path);
	assert_int_equal(tok_key_generate(alg, 2048, &k), 0);
	assert_int_equal(tok_key_save_pem_file(k, true, path), 0);
	tok_key_free(k);
	assert_int_equal(chmod(path, 0600), 0);
	return path;
}

#define PKJWT \
	"upstream.p.kind = oidc\nupstream.p.display_name = P\n" \
	"upstream.p.issuer = https://p.example\nupstream.p.client_id = c\n" \
	"upstream.p.map.id_number = idn\nupstream.p.token_auth = private_key_jwt\n"

/* token_auth = private_key_jwt: the key is required, loaded and checked at load time,
 * a client_secret is refused beside it, and the loaded key is shared by a copy. */
static void
test_private_key_jwt(void **state)
{
	struct authd_cfg c;
	struct fed_up_set cp;
	const struct fed_up_cfg *u;
	char err[512];

	(void)state;
	write_key("es.pem", TOK_ALG_ES256);
	write_key("ed.pem", TOK_ALG_EDDSA);
	assert_int_equal(load(PKJWT, err, sizeof(err)), YH_ERR_CONFIG);
	assert_at(err, 7, "upstream.p.token_auth: private_key_jwt needs private_key");
	assert_int_equal(load(PKJWT "upstream.p.private_key = es.pem\n"
	    "upstream.p.client_secret = s\n", err, sizeof(err)), YH_ERR_CONFIG);
	assert_at(err, 9, "upstream.p.client_secret: must not be set with token_auth = "
	    "private_key_jwt");
	/* a key file beside a secret (another token_auth) is a mistake too */
	assert_int_equal(load(OIDC "upstream.province.private_key = es.pem\n", err,
	    sizeof(err)), YH_ERR_CONFIG);
	assert_at(err, 10, "upstream.province.private_key: is used only with token_auth = "
	    "private_key_jwt");
	/* unreadable: missing, or open to others */
	assert_int_equal(load(PKJWT "upstream.p.private_key = none.pem\n", err, sizeof(err)),
	    YH_ERR_CONFIG);
	assert_at(err, 8, "upstream.p.private_key: ");
	assert_non_null(strstr(err, "none.pem"));
	assert_int_equal(chmod(write_key("open.pem", TOK_ALG_ES256), 0640), 0);
	assert_int_equal(load(PKJWT "upstream.p.private_key = open.pem\n", err, sizeof(err)),
	    YH_ERR_CONFIG);
	assert_at(err, 8, "upstream.p.private_key: ");
	assert_non_null(strstr(err, "chmod 600"));
	write_file("junk.pem", "not a key\n", 0600);
	assert_int_equal(load(PKJWT "upstream.p.private_key = junk.pem\n", err, sizeof(err)),
	    YH_ERR_CONFIG);
	assert_at(err, 8, "upstream.p.private_key: ");
	/* a key of another algorithm than private_key_alg */
	assert_int_equal(load(PKJWT "upstream.p.private_key = ed.pem\n", err, sizeof(err)),
	    YH_ERR_CONFIG);
	assert_at(err, 8, "upstream.p.private_key: ");
	assert_non_null(strstr(err, "not a private key of private_key_alg = ES256"));
	assert_int_equal(load(PKJWT "upstream.p.private_key = es.pem\n"
	    "upstream.p.private_key_alg = RS256\n", err, sizeof(err)), YH_ERR_CONFIG);
	assert_at(err, 8, "upstream.p.private_key: ");
	assert_non_null(strstr(err, "private_key_alg = RS256"));
	assert_int_equal(load(PKJWT "upstream.p.private_key = es.pem\n"
	    "upstream.p.private_key_alg = HS256\n", err, sizeof(err)), YH_ERR_CONFIG);
	assert_at(err, 9, "upstream.p.private_key_alg: 'HS256' is not one of");
	/* good: ES256 by default, EdDSA when named; the kid is the thumbprint */
	assert_int_equal(load(PKJWT "upstream.p.private_key = ed.pem\n"
	    "upstream.p.private_key_alg = EdDSA\n", err, sizeof(err)), 0);
	assert_int_equal(load_into(&c, PKJWT "upstream.p.private_key = es.pem\n", err,
	    sizeof(err)), 0);
	u = fed_up_find(&c.upstreams, "p");
	assert_non_null(u);
	assert_non_null(u->client_key);
	assert_true(tok_key_is_private(u->client_key));
	assert_int_equal(tok_key_sign_alg(u->client_key), TOK_ALG_ES256);
	assert_int_equal(strlen(tok_key_kid(u->client_key)), TOK_THUMBPRINT_LEN);
	assert_int_equal(fed_up_copy(&cp, &c.upstreams), 0);
	assert_ptr_equal(cp.up[0]->client_key, u->client_key);
	authd_cfg_free(&c);
	/* the copy holds its own reference */
	assert_true(tok_key_is_private(cp.up[0]->client_key));
	fed_up_free(&cp);
}

/* The ticket exchange's signed string and a login mapped through dotted paths. */
static void
test_ticket_and_map(void **state)
{
	const char *names[] = { "ticket", "appId", "timestamp", "nonce", "service" };
	const char *values[] = { "ST-1", "hall", "1700000000", "ab", "https://c/x?st=1" };
	struct fed_up_cfg u = { .name = "hall", .loa = 2, .acr_map = "l3=3",
	    .map_sub = "data.user.id", .map_id_number = "data.user.idCard",
	    .map_name = "data.user.name", .map_phone = "data.phone",
	    .login_url = "https://hall.example/login?x=1", .app_id_param = "appId",
	    .app_id = "app 1", .return_param = "service" };
	struct fed_login l;
	char *out = NULL, why[128];
	json_t *j;

	(void)state;
	assert_int_equal(fed_ticket_sign_base(names, values, 5, &out), 0);
	assert_string_equal(out, "appId=hall&nonce=ab&service=https://c/x?st=1&"
	    "ticket=ST-1&timestamp=1700000000");
	free(out);
	assert_int_equal(fed_ticket_login_url(&u, "https://c/cb?st=a&b", &out), 0);
	assert_string_equal(out, "https://hall.example/login?x=1&appId=app%201&"
	    "service=https%3A%2F%2Fc%2Fcb%3Fst%3Da%26b");
	free(out);

	j = json_loads("{\"acr\":\"l3\",\"data\":{\"user\":{\"id\":42,\"idCard\":"
	    "\"11010519491231002X\",\"name\":\"王小明\"},\"phone\":{\"n\":1}}}", 0, NULL);
	assert_non_null(j);
	assert_int_equal(fed_up_map(&u, j, &l, why, sizeof(why)), 0);
	assert_string_equal(l.sub, "42");
	assert_string_equal(l.id_number, "11010519491231002X");
	assert_string_equal(l.name, "王小明");
	assert_string_equal(l.phone, "");        /* not a scalar */
	assert_int_equal(l.loa, 3);
	json_decref(j);
	j = json_loads("{\"data\":{}}", 0, NULL);
	assert_int_equal(fed_up_map(&u, j, &l, why, sizeof(why)), YH_ERR_INVALID);
	assert_non_null(strstr(why, "data.user.id"));
	json_decref(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blocks),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_loa),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_private_key_jwt),
		cmocka_unit_test(test_ticket_and_map),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
