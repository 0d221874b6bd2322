/* Unit tests for the app (client) registry: authcore/clients/clients.h. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "authcore/clients/clients.h"
#include "common/log.h"
#include "common/secmem.h"
#include "token/jwk.h"

#define SECRET_A "correct horse battery staple, and then some more bytes"
#define SECRET_B "another long secret for the second confidential app!"

static char dir[64];
static char file[128];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/yh_clients_XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(file, sizeof(file), "%s/%s", dir, CLIENTS_FILE);
	return 0;
}

static int
teardown(void **state)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];

	(void)state;
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	if (d != NULL)
		closedir(d);
	rmdir(dir);
	return 0;
}

static struct clients_registry *
open_reg(int64_t interval, int64_t (*clock)(void))
{
	struct clients_opts o = { .create = false, .check_interval_ms = interval,
	    .mono_ms = clock };
	struct clients_registry *r = NULL;
	char err[512];
	int rc = clients_open(dir, &o, &r, err, sizeof(err));

	if (rc != 0)
		print_error("clients_open: %s\n", err);
	assert_int_equal(rc, 0);
	return r;
}

/* Adds a client with one redirect URI. */
static int
add_one(struct clients_registry *r, const char *id, enum clients_auth auth,
    const char *uri, const char *secret)
{
	struct clients_client c;
	const char *uris[1] = { uri };
	char err[512];
	int rc;

	clients_client_init(&c);
	snprintf(c.id, sizeof(c.id), "%s", id);
	c.auth = auth;
	c.redirect_uris = uris;
	c.n_redirect_uris = 1;
	rc = clients_add(r, &c, secret, err, sizeof(err));
	if (rc != 0 && rc != YH_ERR_EXISTS && rc != YH_ERR_NOT_FOUND)
		print_message("clients_add %s: %s\n", id, err);
	return rc;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = calloc(1, 1 << 20);
	size_t n;

	assert_non_null(f);
	assert_non_null(buf);
	n = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	if (len != NULL)
		*len = n;
	return buf;
}

/* Replaces DIR/name the way a writer does (a new inode), with the given mode. */
static void
put_file(const char *name, const char *text, mode_t mode)
{
	char tmp[160], dst[160];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s/edit.tmp", dir);
	snprintf(dst, sizeof(dst), "%s/%s", dir, name);
	f = fopen(tmp, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(tmp, mode), 0);
	assert_int_equal(rename(tmp, dst), 0);
}

/* Replaces clients.json behind the registry's back (bypassing clients_add). */
static void
replace_file(const char *text)
{
	put_file(CLIENTS_FILE, text, 0600);
}

static void
test_round_trip(void **state)
{
	struct clients_registry *r;
	struct clients_snap *s;
	const struct clients_client *c;
	struct clients_client in;
	const char *uris[2] = { "https://portal.example.gov.cn/cb", "com.example.app:/cb" };
	const char *logout[1] = { "https://portal.example.gov.cn/bye" };
	char err[512];
	struct stat st;

	(void)state;
	r = open_reg(-1, NULL);
	s = clients_acquire(r);
	assert_int_equal(clients_count(s), 0);
	clients_release(s);

	clients_client_init(&in);
	snprintf(in.id, sizeof(in.id), "portal");
	in.name = "市民门户";
	in.redirect_uris = uris;
	in.n_redirect_uris = 2;
	in.post_logout_uris = logout;
	in.n_post_logout_uris = 1;
	in.backchannel_logout_uri = "http://127.0.0.1:9000/bcl";
	in.scopes = CLIENTS_SCOPE_OPENID | CLIENTS_SCOPE_PHONE;
	in.allow_id_number = true;
	in.min_loa = 3;
	in.sector = "gov.cn";
	in.access_token_lifetime = 300;
	in.refresh_token_lifetime = 86400;
	assert_int_equal(clients_add(r, &in, SECRET_A, err, sizeof(err)), 0);
	assert_int_equal(add_one(r, "app.mobile", CLIENTS_AUTH_NONE, "com.example.app:/cb",
	    NULL), 0);
	assert_int_equal(add_one(r, "portal", CLIENTS_AUTH_NONE, "com.example.app:/cb", NULL),
	    YH_ERR_EXISTS);

	s = clients_acquire(r);
	assert_int_equal(clients_count(s), 2);
	assert_string_equal(clients_at(s, 0)->id, "app.mobile");  /* sorted */
	c = clients_find(s, "portal");
	assert_non_null(c);
	assert_string_equal(c->name, "市民门户");
	assert_int_equal(c->auth, CLIENTS_AUTH_SECRET);
	assert_false(c->require_pkce);
	assert_int_equal(c->n_redirect_uris, 2);
	assert_string_equal(c->redirect_uris[1], "com.example.app:/cb");
	assert_true(clients_post_logout_redirect_ok(c, "https://portal.example.gov.cn/bye"));
	assert_false(clients_post_logout_redirect_ok(c, "https://portal.example.gov.cn/cb"));
	assert_string_equal(c->backchannel_logout_uri, "http://127.0.0.1:9000/bcl");
	assert_int_equal(c->scopes, CLIENTS_SCOPE_OPENID | CLIENTS_SCOPE_PHONE |
	    CLIENTS_SCOPE_ID_NUMBER);  /* implied by allow_id_number */
	assert_true(c->allow_id_number);
	assert_int_equal(c->min_loa, 3);
	assert_string_equal(c->sector, "gov.cn");
	assert_int_equal(c->access_token_lifetime, 300);
	assert_int_equal(c->id_token_lifetime, 0);
	assert_int_equal(c->refresh_token_lifetime, 86400);
	assert_true(c->created > 1700000000);
	assert_true(clients_grant_ok(c, CLIENTS_GRANT_REFRESH_TOKEN));
	assert_false(clients_grant_ok(c, CLIENTS_GRANT_CLIENT_CREDENTIALS));
	c = clients_find(s, "app.mobile");
	assert_non_null(c);
	assert_int_equal(c->auth, CLIENTS_AUTH_NONE);
	assert_true(c->require_pkce);           /* public: PKCE forced */
	assert_string_equal(c->sector, "app.mobile");  /* default sector: the id */
	assert_string_equal(c->name, "app.mobile");
	assert_null(clients_find(s, "nobody"));
	assert_null(clients_find(s, "bad id"));
	clients_release(s);

	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* A second handle (authd) sees the same registry; remove goes through it too. */
	assert_int_equal(clients_remove(r, "portal", err, sizeof(err)), 0);
	assert_int_equal(clients_remove(r, "portal", err, sizeof(err)), YH_ERR_NOT_FOUND);
	s = clients_acquire(r);
	assert_int_equal(clients_count(s), 1);
	assert_null(clients_find(s, "portal"));
	clients_release(s);
	clients_close(r);

	r = open_reg(-1, NULL);
	s = clients_acquire(r);
	assert_int_equal(clients_count(s), 1);
	assert_non_null(clients_find(s, "app.mobile"));
	clients_release(s);
	clients_close(r);
}

static void
test_secret_never_stored(void **state)
{
	struct clients_registry *r;
	char gen[CLIENTS_SECRET_GEN_LEN + 1], keypath[160], *bytes;
	struct stat st;
	size_t len;

	(void)state;
	r = open_reg(-1, NULL);
	assert_int_equal(clients_generate_secret(gen, sizeof(gen)), 0);
	assert_int_equal(strlen(gen), CLIENTS_SECRET_GEN_LEN);
	assert_int_equal(add_one(r, "gen", CLIENTS_AUTH_SECRET, "https://a.example/cb", gen), 0);
	assert_int_equal(add_one(r, "chosen", CLIENTS_AUTH_SECRET, "https://b.example/cb",
	    SECRET_A), 0);
	/* Too short, or a secret for a public client: refused, nothing written. */
	assert_int_equal(add_one(r, "short", CLIENTS_AUTH_SECRET, "https://b.example/cb",
	    "0123456789"), YH_ERR_INVALID);
	assert_int_equal(add_one(r, "pub", CLIENTS_AUTH_NONE, "https://b.example/cb",
	    SECRET_B), YH_ERR_INVALID);
	assert_int_equal(add_one(r, "nosecret", CLIENTS_AUTH_SECRET, "https://b.example/cb",
	    NULL), YH_ERR_INVALID);

	bytes = slurp(file, &len);
	assert_null(memmem(bytes, len, gen, strlen(gen)));
	assert_null(memmem(bytes, len, SECRET_A, strlen(SECRET_A)));
	assert_null(memmem(bytes, len, "correct horse", 13));
	assert_null(strstr(bytes, "\"short\""));
	assert_non_null(strstr(bytes, "\"hmac-sha256\""));
	free(bytes);

	snprintf(keypath, sizeof(keypath), "%s/%s", dir, CLIENTS_KEY_FILE);
	assert_int_equal(stat(keypath, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	bytes = slurp(keypath, &len);
	assert_null(memmem(bytes, len, gen, strlen(gen)));
	free(bytes);
	clients_close(r);

	/* A key file others can read is refused. */
	assert_int_equal(chmod(keypath, 0644), 0);
	{
		struct clients_registry *r2 = NULL;
		char err[512];

		assert_int_equal(clients_open(dir, NULL, &r2, err, sizeof(err)), YH_ERR_PERM);
		assert_null(r2);
		assert_non_null(strstr(err, CLIENTS_KEY_FILE));
	}
	assert_int_equal(chmod(keypath, 0600), 0);
}

static void
test_verify_secret(void **state)
{
	struct clients_registry *r;
	struct clients_snap *s;
	const struct clients_client *c = NULL;

	(void)state;
	r = open_reg(-1, NULL);
	assert_int_equal(add_one(r, "a", CLIENTS_AUTH_SECRET, "https://a.example/cb", SECRET_A),
	    0);
	assert_int_equal(add_one(r, "b", CLIENTS_AUTH_SECRET, "https://b.example/cb", SECRET_B),
	    0);
	assert_int_equal(add_one(r, "pub", CLIENTS_AUTH_NONE, "https://p.example/cb", NULL), 0);
	s = clients_acquire(r);

	assert_int_equal(clients_verify_secret(s, "a", SECRET_A, strlen(SECRET_A), &c), 0);
	assert_non_null(c);
	assert_string_equal(c->id, "a");
	assert_int_equal(clients_verify_secret(s, "b", SECRET_B, strlen(SECRET_B), NULL), 0);

	/* Every failure is the same answer, and *out is cleared. */
	assert_int_equal(clients_verify_secret(s, "a", SECRET_B, strlen(SECRET_B), &c),
	    YH_ERR_AUTH);
	assert_null(c);
	assert_int_equal(clients_verify_secret(s, "b", SECRET_A, strlen(SECRET_A), &c),
	    YH_ERR_AUTH);
	assert_int_equal(clients_verify_secret(s, "a", SECRET_A, strlen(SECRET_A) - 1, &c),
	    YH_ERR_AUTH);  /* a prefix */
	assert_int_equal(clients_verify_secret(s, "a", "", 0, &c), YH_ERR_AUTH);
	assert_int_equal(clients_verify_secret(s, "a", NULL, 0, &c), YH_ERR_AUTH);
	assert_int_equal(clients_verify_secret(s, "nobody", SECRET_A, strlen(SECRET_A), &c),
	    YH_ERR_AUTH);
	assert_int_equal(clients_verify_secret(s, NULL, SECRET_A, strlen(SECRET_A), &c),
	    YH_ERR_AUTH);
	assert_int_equal(clients_verify_secret(s, "pub", SECRET_A, strlen(SECRET_A), &c),
	    YH_ERR_AUTH);
	assert_int_equal(clients_verify_secret(s, "pub", "", 0, &c), YH_ERR_AUTH);
	assert_null(c);
	clients_release(s);

	/* Rotation: the new secret verifies, the old one no longer does. */
	assert_int_equal(clients_set_secret(r, "a", SECRET_B, NULL, 0), 0);
	s = clients_acquire(r);
	assert_int_equal(clients_verify_secret(s, "a", SECRET_B, strlen(SECRET_B), NULL), 0);
	assert_int_equal(clients_verify_secret(s, "a", SECRET_A, strlen(SECRET_A), NULL),
	    YH_ERR_AUTH);
	clients_release(s);
	assert_int_equal(clients_set_secret(r, "pub", SECRET_B, NULL, 0), YH_ERR_INVALID);
	assert_int_equal(clients_set_secret(r, "nobody", SECRET_B, NULL, 0), YH_ERR_NOT_FOUND);
	assert_int_equal(clients_set_secret(r, "a", "short", NULL, 0), YH_ERR_INVALID);
	assert_int_equal(clients_set_secret(r, "a", SECRET_A, NULL, 0), 0);

	/* Disabled and enabled again: the flag on disk and in the snapshot, the secret kept;
	 * the state it has already writes nothing. */
	assert_int_equal(clients_set_disabled(r, "a", true, NULL, 0), 0);
	s = clients_acquire(r);
	assert_true(clients_find(s, "a")->disabled);
	assert_false(clients_find(s, "b")->disabled);
	assert_int_equal(clients_verify_secret(s, "a", SECRET_A, strlen(SECRET_A), NULL), 0);
	clients_release(s);
	{
		char *text = slurp(file, NULL);
		struct stat before, after;

		assert_non_null(strstr(text, "\"disabled\":true"));
		free(text);
		assert_int_equal(stat(file, &before), 0);
		assert_int_equal(clients_set_disabled(r, "a", true, NULL, 0), 0);
		assert_int_equal(stat(file, &after), 0);
		assert_int_equal(before.st_ino, after.st_ino);
	}
	assert_int_equal(clients_set_disabled(r, "nobody", true, NULL, 0), YH_ERR_NOT_FOUND);
	assert_int_equal(clients_set_disabled(r, "a", false, NULL, 0), 0);
	s = clients_acquire(r);
	assert_false(clients_find(s, "a")->disabled);
	clients_release(s);
	{
		char *text = slurp(file, NULL);

		assert_null(strstr(text, "disabled"));
		free(text);
	}
	clients_close(r);

	/* The hash binds the client id: a's record copied under b's name does not verify. */
	{
		char *text = slurp(file, NULL), *ha, *hb;
		char hash_a[65];

		ha = strstr(strstr(text, "\"client_id\":\"a\""), "\"hash\":\"") + 8;
		hb = strstr(strstr(text, "\"client_id\":\"b\""), "\"hash\":\"") + 8;
		memcpy(hash_a, ha, 64);
		memcpy(hb, hash_a, 64);
		replace_file(text);
		free(text);
		r = open_reg(-1, NULL);
		s = clients_acquire(r);
		assert_int_equal(clients_verify_secret(s, "b", SECRET_A, strlen(SECRET_A), &c),
		    YH_ERR_AUTH);
		assert_int_equal(clients_verify_secret(s, "a", SECRET_A, strlen(SECRET_A), &c), 0);
		clients_release(s);
		clients_close(r);
	}
}

static void
check_uri(const char *uri, bool backchannel, int want)
{
	const char *why = NULL;
	int rc = clients_uri_check(uri, backchannel, &why);

	if (rc != want)
		print_error("%s: got %d (%s), want %d\n", uri, rc, why ? why : "-", want);
	assert_int_equal(rc, want);
	if (rc != 0)
		assert_non_null(why);
}

static void
test_uri_rules(void **state)
{
	char longuri[CLIENTS_URI_MAX + 16];

	(void)state;
	check_uri("https://rp.example.gov.cn/cb", false, 0);
	check_uri("https://rp.example.gov.cn:8443/cb?x=1&y=2", false, 0);
	check_uri("https://rp.example.gov.cn", false, 0);
	check_uri("http://127.0.0.1:8080/cb", false, 0);
	check_uri("http://[::1]:8080/cb", false, 0);
	check_uri("http://localhost/cb", false, 0);
	check_uri("com.example.app:/oauth2redirect", false, 0);
	check_uri("cn.gov.zwfw.app://cb", false, 0);
	/* fragment, http on a real host, relative, custom scheme without a dot */
	check_uri("https://rp.example/cb#frag", false, YH_ERR_INVALID);
	check_uri("https://rp.example/cb#", false, YH_ERR_INVALID);
	check_uri("http://rp.example.gov.cn/cb", false, YH_ERR_INVALID);
	check_uri("http://127.0.0.2/cb", false, YH_ERR_INVALID);
	check_uri("http://localhost.evil.com/cb", false, YH_ERR_INVALID);
	check_uri("http://127.0.0.1.evil.com/cb", false, YH_ERR_INVALID);
	check_uri("/cb", false, YH_ERR_INVALID);
	check_uri("rp.example/cb", false, YH_ERR_INVALID);
	check_uri("myapp:/cb", false, YH_ERR_INVALID);
	check_uri("javascript:alert(1)", false, YH_ERR_INVALID);
	check_uri("data:text/html,x", false, YH_ERR_INVALID);
	check_uri("com.example.app:", false, YH_ERR_INVALID);
	check_uri("HTTPS://rp.example/cb", false, YH_ERR_INVALID);
	check_uri("https://user:pw@rp.example/cb", false, YH_ERR_INVALID);
	check_uri("https://127.0.0.1@evil.com/cb", false, YH_ERR_INVALID);
	check_uri("https:///cb", false, YH_ERR_INVALID);
	check_uri("https:rp.example/cb", false, YH_ERR_INVALID);
	check_uri("https://rp.example:0/cb", false, YH_ERR_INVALID);
	check_uri("https://rp.example:99999/cb", false, YH_ERR_INVALID);
	check_uri("https://rp.example:80x/cb", false, YH_ERR_INVALID);
	check_uri("https://rp.example/c b", false, YH_ERR_INVALID);
	check_uri("https://rp.example/\xe5\x9b\x9e", false, YH_ERR_INVALID);
	check_uri("https://rp.example/cb\r\nX: y", false, YH_ERR_INVALID);
	check_uri("", false, YH_ERR_INVALID);
	/* back-channel logout: no private-use schemes */
	check_uri("https://rp.example/bcl", true, 0);
	check_uri("http://127.0.0.1:9/bcl", true, 0);
	check_uri("com.example.app:/bcl", true, YH_ERR_INVALID);
	memset(longuri, 'a', sizeof(longuri) - 1);
	longuri[sizeof(longuri) - 1] = '\0';
	memcpy(longuri, "https://a.example/", 18);
	check_uri(longuri, false, YH_ERR_TOO_LONG);
}

/* The same as check_uri, and the reason names what is wrong (a piece of it). */
static void
check_uri_why(const char *uri, int want, const char *why_part)
{
	const char *why = NULL;

	check_uri(uri, false, want);
	assert_int_equal(clients_uri_check(uri, false, &why), want);
	if (why_part != NULL && (why == NULL || strstr(why, why_part) == NULL))
		print_error("%s: reason \"%s\", want one with \"%s\"\n", uri, why ? why : "-",
		    why_part);
	assert_true(why_part == NULL || (why != NULL && strstr(why, why_part) != NULL));
}

/* The edges of the URL parser under the rules: international hosts, IPv6 literals,
 * ports, percent-encoded paths, hosts that a parser reads differently from how they are
 * written. */
static void
test_uri_parser_edges(void **state)
{
	(void)state;
	/* An internationalized host only in its A-label form. */
	check_uri_why("https://\xe6\x94\xbf\xe5\xba\x9c.cn/cb", YH_ERR_INVALID, "xn--");
	check_uri_why("https://xn--mxtq1m.cn/cb", 0, NULL);
	/* A DNS name: labels joined by single dots, no empty label, no hyphen at an end. */
	check_uri_why("https://./cb", YH_ERR_INVALID, "labels");
	check_uri_why("https://a..gov.cn/cb", YH_ERR_INVALID, "labels");
	check_uri_why("https://.a.gov.cn/cb", YH_ERR_INVALID, "labels");
	check_uri_why("https://a.gov.cn./cb", YH_ERR_INVALID, "labels");
	check_uri_why("https://-a.gov.cn/cb", YH_ERR_INVALID, "labels");
	check_uri_why("https://a-.gov.cn/cb", YH_ERR_INVALID, "labels");
	check_uri_why("https://a-b.gov.cn/cb", 0, NULL);
	check_uri_why("https://a.b.c.d.e.gov.cn/cb", 0, NULL);
	check_uri_why("https://%E6%94%BF.cn/cb", YH_ERR_INVALID, "host");
	/* IPv6 literals: well formed, no zone; http only on [::1] written so. */
	check_uri_why("https://[2001:db8::1]:8443/cb", 0, NULL);
	check_uri_why("https://[2001:DB8::1]/cb", 0, NULL);
	check_uri_why("http://[::1]/cb", 0, NULL);
	check_uri_why("http://[::1%25lo]/cb", YH_ERR_INVALID, "zone");
	check_uri_why("https://[fe80::1%25eth0]/cb", YH_ERR_INVALID, "zone");
	check_uri_why("https://[zz]/cb", YH_ERR_INVALID, "IPv6");
	check_uri_why("https://[]/cb", YH_ERR_INVALID, NULL);
	check_uri_why("http://[0:0:0:0:0:0:0:1]/cb", YH_ERR_INVALID, NULL);
	check_uri_why("https://[::1]x/cb", YH_ERR_INVALID, NULL);
	/* Ports: 1..65535, digits only, leading zeros read as written. */
	check_uri_why("https://rp.example:65535/cb", 0, NULL);
	check_uri_why("https://rp.example:0443/cb", 0, NULL);
	check_uri_why("https://rp.example:/cb", YH_ERR_INVALID, "port");
	check_uri_why("https://rp.example:65536/cb", YH_ERR_INVALID, "port");
	check_uri_why("https://rp.example:+443/cb", YH_ERR_INVALID, NULL);
	check_uri_why("https://[::1]:/cb", YH_ERR_INVALID, "port");
	/* A host is read as written, or refused: short and hex IPv4 forms, escapes. */
	check_uri_why("http://127.1/cb", YH_ERR_INVALID, "written");
	check_uri_why("http://0x7f.0.0.1/cb", YH_ERR_INVALID, "written");
	check_uri_why("https://2130706433/cb", YH_ERR_INVALID, "written");
	check_uri_why("https://r%70.example/cb", YH_ERR_INVALID, NULL);
	check_uri_why("https://a_b.example/cb", YH_ERR_INVALID, "host");
	check_uri_why("https://rp.example\\@evil.example/cb", YH_ERR_INVALID, "userinfo");
	check_uri_why("https://rp.example%2F@evil.example/cb", YH_ERR_INVALID, "userinfo");
	check_uri_why("https://:443/cb", YH_ERR_INVALID, "host");
	check_uri_why("https:/rp.example/cb", YH_ERR_INVALID, "//host");
	/* Paths and queries are not the parser's business: kept as written. */
	check_uri_why("https://rp.example/%7Ecb%2F", 0, NULL);
	check_uri_why("https://rp.example/a/../cb", 0, NULL);
	check_uri_why("https://rp.example/%zz", 0, NULL);
	check_uri_why("https://rp.example?x=1", 0, NULL);
	/* Case: the scheme is written in lower case; a host in any case is accepted. */
	check_uri_why("Https://rp.example/cb", YH_ERR_INVALID, "lower case");
	check_uri_why("https://RP.Example/cb", 0, NULL);
	check_uri_why("http://LOCALHOST/cb", YH_ERR_INVALID, "loopback");
}

/* With opts.group and opts.owner (authd's HTTP process runs as another account),
 * clients.json and clients.lock are written that account's from the start, mode 0600, so
 * that it can replace them (the console) and never meets a file of root's; without, the
 * writer's, 0600. */
static void
test_account_owned(void **state)
{
	bool root = geteuid() == 0;
	struct clients_opts o = { .group = root ? 4242 : getegid(),
	    .owner = root ? 4242 : geteuid() };
	struct clients_registry *r = NULL;
	char err[512], path[160], lock[160];
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/clients.json", dir);
	snprintf(lock, sizeof(lock), "%s/clients.lock", dir);
	assert_int_equal(clients_open(dir, &o, &r, err, sizeof(err)), 0);
	assert_int_equal(add_one(r, "app1", CLIENTS_AUTH_NONE, "https://a.example/cb", NULL), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, o.owner);
	assert_int_equal(st.st_gid, o.group);
	assert_int_equal(stat(lock, &st), 0);
	assert_int_equal(st.st_uid, o.owner);
	assert_int_equal(st.st_gid, o.group);
	clients_close(r);
	r = open_reg(0, NULL);
	assert_int_equal(add_one(r, "app2", CLIENTS_AUTH_NONE, "https://b.example/cb", NULL), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, geteuid());
	clients_close(r);
}

/* With file_max (the registry shared through LDAP as one value), a change that would
 * make clients.json larger is refused with YH_ERR_TOO_LONG and writes nothing. */
static void
test_file_max(void **state)
{
	struct clients_opts o = { .file_max = 400 };
	struct clients_registry *r = NULL;
	char err[512], path[160], *before, *after;
	size_t blen, alen;

	(void)state;
	snprintf(path, sizeof(path), "%s/clients.json", dir);
	assert_int_equal(clients_open(dir, &o, &r, err, sizeof(err)), 0);
	assert_int_equal(add_one(r, "app1", CLIENTS_AUTH_NONE, "https://a.example/cb", NULL), 0);
	before = slurp(path, &blen);
	assert_true(blen <= 400);
	assert_int_equal(add_one(r, "app2", CLIENTS_AUTH_NONE,
	    "https://b.example/a-long-path-that-makes-the-file-pass-its-cap/"
	    "0123456789012345678901234567890123456789012345678901234567890123456789/cb",
	    NULL), YH_ERR_TOO_LONG);
	after = slurp(path, &alen);
	assert_int_equal(alen, blen);
	assert_memory_equal(after, before, blen);
	assert_int_equal(clients_remove(r, "app1", err, sizeof(err)), 0);
	free(before);
	free(after);
	clients_close(r);
}

/* A registry another node shared through the directory that does not load (a client
 * with a bad redirect URI, an unknown member) is refused whole by clients_file_replace:
 * YH_ERR_INVALID, clients.json left as it was, the snapshot in use unchanged, and a
 * restart still loads the local apps. */
static void
test_file_replace_bad(void **state)
{
	static const char *const bad[] = {
		"{\"format\": \"yihao-clients/1\", \"clients\": [{\"client_id\": \"x\"}]}",
		"{\"format\": \"yihao-clients/1\", \"clients\": [7]}",
		"{\"format\": \"yihao-clients/1\", \"clients\": [], \"clients\": []}",
	};
	struct clients_registry *r = NULL;
	struct clients_snap *s;
	char err[512], path[160], *before, *after;
	size_t blen, alen;

	(void)state;
	snprintf(path, sizeof(path), "%s/clients.json", dir);
	assert_int_equal(clients_open(dir, NULL, &r, err, sizeof(err)), 0);
	assert_int_equal(add_one(r, "app1", CLIENTS_AUTH_NONE, "https://a.example/cb", NULL), 0);
	before = slurp(path, &blen);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(clients_file_replace(r, bad[i], strlen(bad[i]), before, blen,
		    err, sizeof(err)), YH_ERR_INVALID);
		after = slurp(path, &alen);
		assert_int_equal(alen, blen);
		assert_memory_equal(after, before, blen);
		free(after);
		s = clients_acquire(r);
		assert_non_null(clients_find(s, "app1"));
		clients_release(s);
	}
	clients_close(r);
	r = NULL;
	assert_int_equal(clients_open(dir, NULL, &r, err, sizeof(err)), 0);
	s = clients_acquire(r);
	assert_non_null(clients_find(s, "app1"));
	clients_release(s);
	free(before);
	clients_close(r);
}

/* Registers the public client "rp" with these redirect URIs; *s gets a snapshot and the
 * client in it is returned. */
static const struct clients_client *
add_rp(struct clients_registry *r, const char *const *uris, size_t n,
    struct clients_snap **s)
{
	const struct clients_client *c;
	struct clients_client in;
	char err[512];

	clients_client_init(&in);
	snprintf(in.id, sizeof(in.id), "rp");
	in.auth = CLIENTS_AUTH_NONE;
	in.redirect_uris = uris;
	in.n_redirect_uris = n;
	assert_int_equal(clients_add(r, &in, NULL, err, sizeof(err)), 0);
	*s = clients_acquire(r);
	c = clients_find(*s, "rp");
	assert_non_null(c);
	return c;
}

/* What a parser would normalise stays distinct: a registration matches only itself. */
static void
test_redirect_exact_not_normalised(void **state)
{
	struct clients_registry *r;
	struct clients_snap *s;
	const struct clients_client *c;
	const char *uris[4] = { "https://RP.Example/Cb", "https://rp.example/%7Ecb",
	    "https://rp.example:0443/a/../cb", "https://[2001:DB8::1]/cb" };

	(void)state;
	r = open_reg(-1, NULL);
	c = add_rp(r, uris, 4, &s);
	for (int i = 0; i < 4; i++) {
		assert_string_equal(c->redirect_uris[i], uris[i]);   /* stored as given */
		assert_true(clients_redirect_ok(c, uris[i]));
	}
	assert_false(clients_redirect_ok(c, "https://rp.example/Cb"));
	assert_false(clients_redirect_ok(c, "https://rp.example/cb"));
	assert_false(clients_redirect_ok(c, "https://rp.example/~cb"));
	assert_false(clients_redirect_ok(c, "https://rp.example/%7ecb"));
	assert_false(clients_redirect_ok(c, "https://rp.example:443/a/../cb"));
	assert_false(clients_redirect_ok(c, "https://rp.example:0443/cb"));
	assert_false(clients_redirect_ok(c, "https://[2001:db8::1]/cb"));
	clients_release(s);
	clients_close(r);
}

static void
test_redirect_exact(void **state)
{
	struct clients_registry *r;
	struct clients_snap *s;
	const struct clients_client *c;
	const char *uris[4] = { "https://rp.example.gov.cn/cb", "https://rp.example.gov.cn/q?a=1",
	    "http://127.0.0.1:8123/cb", "com.example.app:/cb" };

	(void)state;
	r = open_reg(-1, NULL);
	c = add_rp(r, uris, 4, &s);
	for (int i = 0; i < 4; i++)
		assert_true(clients_redirect_ok(c, uris[i]));
	assert_false(clients_redirect_ok(c, "https://rp.example.gov.cn/cb/"));    /* slash */
	assert_false(clients_redirect_ok(c, "https://rp.example.gov.cn/c"));      /* prefix */
	assert_false(clients_redirect_ok(c, "https://rp.example.gov.cn/cbx"));    /* longer */
	assert_false(clients_redirect_ok(c, "https://RP.example.gov.cn/cb"));     /* case */
	assert_false(clients_redirect_ok(c, "https://rp.example.gov.cn/CB"));
	assert_false(clients_redirect_ok(c, "HTTPS://rp.example.gov.cn/cb"));
	assert_false(clients_redirect_ok(c, "https://rp.example.gov.cn/cb?x=1")); /* query */
	assert_false(clients_redirect_ok(c, "https://rp.example.gov.cn/q?a=2"));
	assert_false(clients_redirect_ok(c, "https://rp.example.gov.cn/q?a=1&b=2"));
	assert_false(clients_redirect_ok(c, "https://rp.example.gov.cn/q"));
	assert_false(clients_redirect_ok(c, "https://rp.example.gov.cn/cb#x"));   /* fragment */
	assert_false(clients_redirect_ok(c, "https://rp.example.gov.cn:443/cb")); /* no norm */
	assert_false(clients_redirect_ok(c, "https://rp.example.gov.cn/./cb"));
	assert_false(clients_redirect_ok(c, "https://rp.example.gov.cn/%63b"));
	assert_false(clients_redirect_ok(c, "http://rp.example.gov.cn/cb"));
	assert_false(clients_redirect_ok(c, "http://127.0.0.1:8124/cb"));        /* port */
	assert_false(clients_redirect_ok(c, "http://localhost:8123/cb"));
	assert_false(clients_redirect_ok(c, "com.example.app:/cb2"));
	assert_false(clients_redirect_ok(c, ""));
	assert_false(clients_redirect_ok(c, NULL));
	assert_false(clients_redirect_ok(NULL, uris[0]));
	assert_false(clients_post_logout_redirect_ok(c, uris[0]));
	clients_release(s);

	/* Registration refuses a fragment and http on a non-loopback host. */
	assert_int_equal(add_one(r, "frag", CLIENTS_AUTH_NONE, "https://rp.example/cb#f", NULL),
	    YH_ERR_INVALID);
	assert_int_equal(add_one(r, "plain", CLIENTS_AUTH_NONE, "http://rp.example/cb", NULL),
	    YH_ERR_INVALID);
	assert_int_equal(add_one(r, "lo", CLIENTS_AUTH_NONE, "http://[::1]/cb", NULL), 0);
	clients_close(r);
}

static void
test_client_rules(void **state)
{
	struct clients_client c;
	const char *uris[1] = { "https://rp.example/cb" };
	char err[512];

	(void)state;
	clients_client_init(&c);
	snprintf(c.id, sizeof(c.id), "ok-id_1.2");
	c.redirect_uris = uris;
	c.n_redirect_uris = 1;
	assert_int_equal(clients_client_check(&c, err, sizeof(err)), 0);

	assert_false(clients_id_valid(""));
	assert_false(clients_id_valid("a b"));
	assert_false(clients_id_valid("a/b"));
	assert_false(clients_id_valid("x123456789012345678901234567890123456789012345678901234567890123"
	    "4"));
	assert_true(clients_id_valid("x12345678901234567890123456789012345678901234567890123456789012"
	    "3"));

	c.min_loa = 5;
	assert_int_equal(clients_client_check(&c, err, sizeof(err)), YH_ERR_INVALID);
	assert_non_null(strstr(err, "min_loa"));
	c.min_loa = 0;
	assert_int_equal(clients_client_check(&c, err, sizeof(err)), YH_ERR_INVALID);
	c.min_loa = 4;
	assert_int_equal(clients_client_check(&c, err, sizeof(err)), 0);

	c.scopes |= CLIENTS_SCOPE_ID_NUMBER;  /* without allow_id_number */
	assert_int_equal(clients_client_check(&c, err, sizeof(err)), YH_ERR_INVALID);
	c.allow_id_number = true;
	assert_int_equal(clients_client_check(&c, err, sizeof(err)), 0);

	c.auth = CLIENTS_AUTH_NONE;          /* public without PKCE */
	assert_int_equal(clients_client_check(&c, err, sizeof(err)), YH_ERR_INVALID);
	c.require_pkce = true;
	assert_int_equal(clients_client_check(&c, err, sizeof(err)), 0);
	c.grants |= CLIENTS_GRANT_CLIENT_CREDENTIALS;
	assert_int_equal(clients_client_check(&c, err, sizeof(err)), YH_ERR_INVALID);
	c.auth = CLIENTS_AUTH_SECRET;
	assert_int_equal(clients_client_check(&c, err, sizeof(err)), 0);

	c.n_redirect_uris = 0;               /* authorization_code needs a redirect URI */
	assert_int_equal(clients_client_check(&c, err, sizeof(err)), YH_ERR_INVALID);
	c.grants = CLIENTS_GRANT_CLIENT_CREDENTIALS;
	assert_int_equal(clients_client_check(&c, err, sizeof(err)), 0);
	c.grants = CLIENTS_GRANT_REFRESH_TOKEN;
	assert_int_equal(clients_client_check(&c, err, sizeof(err)), YH_ERR_INVALID);
	c.grants = CLIENTS_GRANTS_DEFAULT;
	c.n_redirect_uris = 1;

	c.sector = "bad sector";
	assert_int_equal(clients_client_check(&c, err, sizeof(err)), YH_ERR_INVALID);
	c.sector = "portal.gov.cn";
	c.name = "bad\nname";
	assert_int_equal(clients_client_check(&c, err, sizeof(err)), YH_ERR_INVALID);
	c.name = "\xe5\x9b";                 /* truncated UTF-8 */
	assert_int_equal(clients_client_check(&c, err, sizeof(err)), YH_ERR_INVALID);
	c.name = "政务服务网";
	assert_int_equal(clients_client_check(&c, err, sizeof(err)), 0);
	c.access_token_lifetime = 10;
	assert_int_equal(clients_client_check(&c, err, sizeof(err)), YH_ERR_INVALID);
	c.access_token_lifetime = 600;
	c.refresh_token_lifetime = 100 * 86400;
	assert_int_equal(clients_client_check(&c, err, sizeof(err)), YH_ERR_INVALID);
	c.refresh_token_lifetime = 0;
	c.jwks_json = "{\"keys\":[]}";       /* a JWKS for a secret client */
	assert_int_equal(clients_client_check(&c, err, sizeof(err)), YH_ERR_INVALID);
	c.jwks_json = NULL;
	assert_int_equal(clients_client_check(&c, err, sizeof(err)), 0);
}

static void
test_scopes(void **state)
{
	unsigned bits, unknown;
	char out[128];

	(void)state;
	assert_int_equal(clients_scope_parse("openid  profile yh_id_number", &bits, NULL), 0);
	assert_int_equal(bits, CLIENTS_SCOPE_OPENID | CLIENTS_SCOPE_PROFILE |
	    CLIENTS_SCOPE_ID_NUMBER);
	assert_int_equal(clients_scope_parse("openid api:read", &bits, NULL), YH_ERR_INVALID);
	assert_int_equal(clients_scope_parse("openid api:read x", &bits, &unknown), 0);
	assert_int_equal(bits, CLIENTS_SCOPE_OPENID);
	assert_int_equal(unknown, 2);
	assert_int_equal(clients_scope_parse("open\"id", &bits, &unknown), YH_ERR_INVALID);
	assert_int_equal(clients_scope_parse("", &bits, NULL), 0);
	assert_int_equal(bits, 0);
	assert_int_equal(clients_scope_format(CLIENTS_SCOPE_OPENID | CLIENTS_SCOPE_EMAIL |
	    CLIENTS_SCOPE_OFFLINE_ACCESS, out, sizeof(out)), 0);
	assert_string_equal(out, "openid email offline_access");
	assert_int_equal(clients_scope_format(0x3f, out, 10), YH_ERR_TOO_LONG);
}

static int64_t fake_now;

static int64_t
fake_clock(void)
{
	return fake_now;
}

static void
test_reload_other_writer(void **state)
{
	struct clients_registry *authd, *ctl;
	struct clients_snap *s, *held;

	(void)state;
	fake_now = 1000000;
	authd = open_reg(1000, fake_clock);   /* the daemon's handle, rate-limited */
	ctl = open_reg(-1, NULL);             /* authctl's */
	held = clients_acquire(authd);
	assert_int_equal(add_one(ctl, "late", CLIENTS_AUTH_NONE, "https://l.example/cb", NULL),
	    0);

	fake_now += 999;                      /* within the interval: no stat */
	assert_int_equal(clients_refresh_if_changed(authd), 0);
	s = clients_acquire(authd);
	assert_null(clients_find(s, "late"));
	clients_release(s);

	fake_now += 1;                        /* interval over: picks the change up */
	assert_int_equal(clients_refresh_if_changed(authd), 0);
	s = clients_acquire(authd);
	assert_non_null(clients_find(s, "late"));
	clients_release(s);
	/* A snapshot taken before stays as it was. */
	assert_null(clients_find(held, "late"));
	assert_int_equal(clients_count(held), 0);
	clients_release(held);

	/* Removal by the other writer is seen too. */
	assert_int_equal(clients_remove(ctl, "late", NULL, 0), 0);
	fake_now += 1000;
	assert_int_equal(clients_refresh_if_changed(authd), 0);
	s = clients_acquire(authd);
	assert_null(clients_find(s, "late"));
	clients_release(s);
	clients_close(ctl);
	clients_close(authd);
}

static void
test_corrupt_keeps_old(void **state)
{
	struct clients_registry *r;
	struct clients_snap *s;
	char logpath[160], err[512], *text, *log;
	int logfd;

	(void)state;
	r = open_reg(-1, NULL);
	assert_int_equal(add_one(r, "one", CLIENTS_AUTH_NONE, "https://o.example/cb", NULL), 0);
	assert_int_equal(add_one(r, "two", CLIENTS_AUTH_NONE, "https://t.example/cb", NULL), 0);
	text = slurp(file, NULL);

	snprintf(logpath, sizeof(logpath), "%s/log.txt", dir);
	logfd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(logfd >= 0);
	yh_log_set_fd(logfd);

	/* Syntax error: logged with file:line, old snapshot stays. */
	replace_file("{\n  \"format\": \"yihao-clients/1\",\n  \"clients\": [\n    {oops\n");
	assert_int_equal(clients_refresh_if_changed(r), YH_ERR_INVALID);
	s = clients_acquire(r);
	assert_non_null(clients_find(s, "one"));
	assert_non_null(clients_find(s, "two"));
	clients_release(s);
	/* Not retried (nor logged again) until the file changes. */
	assert_int_equal(clients_refresh_if_changed(r), 0);

	/* A semantic error in the second client: the message names its line. */
	{
		char *bad = strdup(text), *p = strstr(bad, "https://t.example/cb");
		p[4] = ':';                       /* "https:/:t.example/cb" */
		replace_file(bad);
		free(bad);
	}
	assert_int_equal(clients_refresh_if_changed(r), YH_ERR_INVALID);
	assert_int_equal(clients_reload(r, err, sizeof(err)), YH_ERR_INVALID);
	assert_non_null(strstr(err, "clients.json:5: client 1 \"two\": redirect_uris[0]"));
	s = clients_acquire(r);
	assert_int_equal(clients_count(s), 2);
	clients_release(s);

	/* A duplicate id names both lines. */
	{
		char *dup = strdup(text), *p = strstr(dup, "\"client_id\":\"two\"");
		memcpy(p, "\"client_id\":\"one\"", 17);
		replace_file(dup);
		free(dup);
	}
	assert_int_equal(clients_reload(r, err, sizeof(err)), YH_ERR_INVALID);
	assert_non_null(strstr(err, "registered twice"));
	assert_non_null(strstr(err, "clients.json:4)"));

	/* Unknown members are refused rather than ignored. */
	{
		char *unk = strdup(text), *p = strstr(unk, "\"min_loa\"");
		memcpy(p, "\"min_LOA\"", 9);
		replace_file(unk);
		free(unk);
	}
	assert_int_equal(clients_reload(r, err, sizeof(err)), YH_ERR_INVALID);
	assert_non_null(strstr(err, "unknown member"));

	/* Writers refuse to build on a broken file. */
	assert_int_equal(add_one(r, "three", CLIENTS_AUTH_NONE, "https://x.example/cb", NULL),
	    YH_ERR_INVALID);

	/* The good file back: reloaded. */
	replace_file(text);
	assert_int_equal(clients_refresh_if_changed(r), 0);
	s = clients_acquire(r);
	assert_int_equal(clients_count(s), 2);
	clients_release(s);

	yh_log_set_fd(2);
	close(logfd);
	log = slurp(logpath, NULL);
	assert_non_null(strstr(log, "clients.json:4:"));        /* the syntax error */
	assert_non_null(strstr(log, "clients.json:5: client 1"));
	assert_non_null(strstr(log, "keeping the previous one"));
	free(log);
	unlink(logpath);
	free(text);
	clients_close(r);
}

#define PER_CHILD 15

static void
test_concurrent_writers(void **state)
{
	struct clients_registry *r;
	struct clients_snap *s;
	pid_t pids[2];

	(void)state;
	for (int k = 0; k < 2; k++) {
		pids[k] = fork();
		assert_true(pids[k] >= 0);
		if (pids[k] == 0) {
			struct clients_opts o = { .create = false };
			struct clients_registry *cr = NULL;
			char id[32], err[512];
			int bad = 0;

			if (clients_open(dir, &o, &cr, err, sizeof(err)) != 0)
				_exit(3);
			for (int i = 0; i < PER_CHILD; i++) {
				snprintf(id, sizeof(id), "p%d-%02d", k, i);
				if (add_one(cr, id, i % 2 ? CLIENTS_AUTH_SECRET : CLIENTS_AUTH_NONE,
				    "https://c.example/cb", i % 2 ? SECRET_A : NULL) != 0)
					bad++;
			}
			clients_close(cr);
			_exit(bad == 0 ? 0 : 1);
		}
	}
	for (int k = 0; k < 2; k++) {
		int st = 0;
		assert_int_equal(waitpid(pids[k], &st, 0), pids[k]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	r = open_reg(-1, NULL);
	s = clients_acquire(r);
	assert_int_equal(clients_count(s), 2 * PER_CHILD);
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < PER_CHILD; i++) {
			char id[32];
			const struct clients_client *c;

			snprintf(id, sizeof(id), "p%d-%02d", k, i);
			assert_non_null(c = clients_find(s, id));
			if (i % 2)  /* both children shared one key, created once */
				assert_int_equal(clients_verify_secret(s, id, SECRET_A,
				    strlen(SECRET_A), NULL), 0);
		}
	clients_release(s);
	clients_close(r);
}

static void
test_private_key_jwt(void **state)
{
	struct clients_registry *r;
	struct clients_snap *s;
	const struct clients_client *c;
	struct clients_client in;
	struct tok_key *k = NULL;
	struct tok_keyset set;
	const char *uris[1] = { "https://j.example/cb" };
	char err[512], *pub = NULL, *priv = NULL;
	json_t *jk = NULL;

	(void)state;
	assert_int_equal(tok_key_generate(TOK_ALG_ES256, 0, &k), 0);
	tok_keyset_init(&set);
	assert_int_equal(tok_keyset_add(&set, k), 0);
	assert_int_equal(tok_jwks_export_string(&set, &pub), 0);
	assert_int_equal(tok_jwk_export(k, true, &jk), 0);
	{
		json_t *doc = json_pack("{s:[O]}", "keys", jk);
		priv = json_dumps(doc, JSON_COMPACT);
		json_decref(doc);
	}

	r = open_reg(-1, NULL);
	clients_client_init(&in);
	snprintf(in.id, sizeof(in.id), "jwt");
	in.auth = CLIENTS_AUTH_PRIVATE_KEY_JWT;
	in.redirect_uris = uris;
	in.n_redirect_uris = 1;
	in.grants |= CLIENTS_GRANT_CLIENT_CREDENTIALS;
	in.jwks_json = priv;                  /* a private key is refused */
	assert_int_equal(clients_add(r, &in, NULL, err, sizeof(err)), YH_ERR_INVALID);
	assert_non_null(strstr(err, "private key"));
	in.jwks_json = NULL;
	assert_int_equal(clients_add(r, &in, NULL, err, sizeof(err)), YH_ERR_INVALID);
	in.jwks_json = pub;
	assert_int_equal(clients_add(r, &in, SECRET_A, err, sizeof(err)), YH_ERR_INVALID);
	assert_int_equal(clients_add(r, &in, NULL, err, sizeof(err)), 0);
	s = clients_acquire(r);
	c = clients_find(s, "jwt");
	assert_non_null(c);
	assert_int_equal(c->auth, CLIENTS_AUTH_PRIVATE_KEY_JWT);
	assert_int_equal(c->jwks.n, 1);
	assert_false(tok_key_is_private(c->jwks.keys[0]));
	assert_true(clients_grant_ok(c, CLIENTS_GRANT_CLIENT_CREDENTIALS));
	assert_int_equal(clients_verify_secret(s, "jwt", SECRET_A, strlen(SECRET_A), NULL),
	    YH_ERR_AUTH);
	clients_release(s);
	clients_close(r);

	json_decref(jk);
	free(pub);
	free(priv);   /* test data only */
	tok_keyset_clear(&set);
	tok_key_free(k);
}

static void
test_missing_dir(void **state)
{
	struct clients_registry *r = NULL;
	struct clients_opts o = { .create = true };
	char sub[128], err[512];

	(void)state;
	snprintf(sub, sizeof(sub), "%s/nope", dir);
	assert_int_equal(clients_open(sub, NULL, &r, err, sizeof(err)), YH_ERR_NOT_FOUND);
	assert_null(r);
	assert_int_equal(clients_open(sub, &o, &r, err, sizeof(err)), 0);
	assert_int_equal(add_one(r, "x", CLIENTS_AUTH_NONE, "https://x.example/cb", NULL), 0);
	clients_close(r);
	snprintf(err, sizeof(err), "%s/%s", sub, CLIENTS_FILE);
	unlink(err);
	snprintf(err, sizeof(err), "%s/%s", sub, CLIENTS_LOCK_FILE);
	unlink(err);
	rmdir(sub);
}

static int
open_apps(const char *apps, struct clients_registry **r, char *err, size_t errsz)
{
	struct clients_opts o = { .check_interval_ms = -1, .apps_file = apps };

	return clients_open(dir, &o, r, err, errsz);
}

#define APPS_HEAD "{\"format\": \"yihao-clients/1\", \"clients\": [\n"
#define APP_PORTAL "{\"client_id\": \"portal\", \"auth\": \"none\", \"redirect_uris\": " \
	"[\"https://portal.example/cb\"], \"scopes\": [\"openid\", \"profile\"], " \
	"\"grants\": [\"authorization_code\"], \"min_loa\": 2}"
#define APP_SVC "{\"client_id\": \"svc\", \"auth\": \"client_secret\", \"secret_file\": " \
	"\"svc.secret\", \"redirect_uris\": [], \"scopes\": [\"openid\"], \"grants\": " \
	"[\"client_credentials\"], \"min_loa\": 1}"

/* An app of one line, named name, with this redirect URI. */
#define APP_LINE(name, uri) "{\"client_id\": \"" name "\", \"auth\": \"none\", " \
	"\"redirect_uris\": [\"" uri "\"], \"scopes\": [\"openid\"], \"grants\": " \
	"[\"authorization_code\"], \"min_loa\": 1}"

/* Checks the apps file text: the error names want (file:line: client N ...). */
static void
check_apps_line(const char *text, const char *want)
{
	char path[160], err[512];

	snprintf(path, sizeof(path), "%s/apps.json", dir);
	put_file("apps.json", text, 0644);
	assert_int_equal(clients_check_file(path, err, sizeof(err)), YH_ERR_INVALID);
	if (strstr(err, want) == NULL)
		fail_msg("got \"%s\", want \"%s\"", err, want);
}

/* The loader names the line where the client at fault starts, however the operator laid
 * the file out: members in any order, several clients on a line, braces, brackets, quotes
 * and escaped newlines inside strings, a nested object before the array. */
static void
test_loader_lines(void **state)
{
	(void)state;
	check_apps_line("{\n\"clients\": [\n" APP_LINE("a", "https://a.example/cb") ",\n\n"
	    APP_LINE("b", "https://b.example/cb#x") "\n], \"format\": \"yihao-clients/1\"}\n",
	    "apps.json:5: client 1 \"b\": redirect_uris[0]");
	check_apps_line("{\"format\": \"yihao-clients/1\", \"clients\": [\n"
	    "{\"client_id\": \"a\", \"name\": \"{[\\\"}]\\u007b\", \"auth\": \"none\", "
	    "\"redirect_uris\": [\"https://a.example/cb\"], \"scopes\": [\"openid\"],\n"
	    "\"grants\": [\"authorization_code\"], \"min_loa\": 1}, "
	    APP_LINE("b", "https://b.example/cb") ", " APP_LINE("c", "http://c.example/cb")
	    "\n]}\n", "apps.json:3: client 2 \"c\": redirect_uris[0]");
	check_apps_line("{\"format\": \"yihao-clients/1\",\n\"clients\":\n[\n  \n  7\n]}\n",
	    "apps.json:5: client 0 \"\": a client is not an object");
	/* A syntax error: jansson's own line and column. */
	check_apps_line("{\"format\": \"yihao-clients/1\",\n\"clients\": [\n{\"client_id\": }\n]}\n",
	    "apps.json:3:");
}

/* Apps declared by the operator in clients.file, beside authctl's clients.json. */
static void
test_apps_file(void **state)
{
	struct clients_registry *r = NULL;
	struct clients_snap *s;
	const struct clients_client *c;
	char apps[160], err[512], *text;

	(void)state;
	snprintf(apps, sizeof(apps), "%s/apps.json", dir);
	put_file("svc.secret", SECRET_A "\n", 0600);
	put_file("apps.json", APPS_HEAD APP_PORTAL ",\n" APP_SVC "\n]}\n", 0644);
	if (open_apps(apps, &r, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	s = clients_acquire(r);
	assert_int_equal(clients_count(s), 2);
	c = clients_find(s, "portal");
	assert_non_null(c);
	assert_true(c->from_apps_file);
	assert_int_equal(c->line, 2);
	assert_int_equal(c->min_loa, 2);
	assert_true(c->require_pkce);
	c = clients_find(s, "svc");
	assert_non_null(c);
	assert_int_equal(c->line, 3);
	assert_int_equal(clients_verify_secret(s, "svc", SECRET_A, strlen(SECRET_A), &c), 0);
	assert_int_equal(clients_verify_secret(s, "svc", SECRET_B, strlen(SECRET_B), &c),
	    YH_ERR_AUTH);
	clients_release(s);

	/* authctl's writers leave the operator's apps alone, and add beside them. */
	assert_int_equal(add_one(r, "portal", CLIENTS_AUTH_NONE, "https://x.example/cb", NULL),
	    YH_ERR_EXISTS);
	assert_int_not_equal(clients_remove(r, "svc", err, sizeof(err)), 0);
	assert_non_null(strstr(err, "apps.json:3 (clients.file)"));
	assert_int_not_equal(clients_set_secret(r, "svc", SECRET_B, err, sizeof(err)), 0);
	assert_int_equal(clients_set_disabled(r, "svc", true, err, sizeof(err)), YH_ERR_EXISTS);
	assert_int_equal(add_one(r, "own", CLIENTS_AUTH_NONE, "https://own.example/cb", NULL),
	    0);
	s = clients_acquire(r);
	assert_int_equal(clients_count(s), 3);
	assert_false(clients_find(s, "own")->from_apps_file);
	clients_release(s);
	text = slurp(file, NULL);                 /* clients.json holds only authctl's app */
	assert_null(strstr(text, "portal"));
	assert_null(strstr(text, "svc"));
	free(text);

	/* A change to the apps file is picked up; an id in both files is refused. */
	put_file("apps.json", APPS_HEAD APP_PORTAL ",\n{\"client_id\": \"own\", \"auth\": "
	    "\"none\", \"redirect_uris\": [\"https://o.example/cb\"], \"scopes\": [\"openid\"], "
	    "\"grants\": [\"authorization_code\"], \"min_loa\": 1}\n]}\n", 0644);
	assert_int_equal(clients_reload(r, err, sizeof(err)), YH_ERR_INVALID);
	assert_non_null(strstr(err, "apps.json:3: client \"own\" registered twice (also "));
	assert_non_null(strstr(err, "clients.json:"));
	put_file("apps.json", APPS_HEAD APP_PORTAL "\n]}\n", 0644);
	assert_int_equal(clients_refresh_if_changed(r), 0);
	s = clients_acquire(r);
	assert_int_equal(clients_count(s), 2);
	assert_null(clients_find(s, "svc"));
	clients_release(s);
	clients_close(r);

	/* Secret files: private, long enough, printable; the apps file must exist. */
	put_file("apps.json", APPS_HEAD APP_SVC "\n]}\n", 0644);
	put_file("svc.secret", SECRET_A "\n", 0644);
	assert_int_equal(open_apps(apps, &r, err, sizeof(err)), YH_ERR_PERM);
	assert_non_null(strstr(err, "apps.json:2: client 0 \"svc\": secret_file"));
	put_file("svc.secret", "short\n", 0600);
	assert_int_equal(open_apps(apps, &r, err, sizeof(err)), YH_ERR_INVALID);
	assert_non_null(strstr(err, "bytes"));
	put_file("svc.secret", "a secret with a tab\tin it, which is long enough", 0600);
	assert_int_equal(open_apps(apps, &r, err, sizeof(err)), YH_ERR_INVALID);
	assert_non_null(strstr(err, "printable"));
	put_file("apps.json", APPS_HEAD "{\"client_id\": \"svc\", \"auth\": \"client_secret\", "
	    "\"redirect_uris\": [], \"scopes\": [\"openid\"], \"grants\": "
	    "[\"client_credentials\"], \"min_loa\": 1}\n]}\n", 0644);
	assert_int_equal(open_apps(apps, &r, err, sizeof(err)), YH_ERR_INVALID);
	assert_non_null(strstr(err, "without a secret_file"));
	snprintf(apps, sizeof(apps), "%s/nope.json", dir);
	assert_int_equal(open_apps(apps, &r, err, sizeof(err)), YH_ERR_NOT_FOUND);
	assert_non_null(strstr(err, "nope.json (clients.file)"));
	assert_null(r);
}

/* An element of the clients array that is not an object is named by its own line: the
 * lines were those of the '{' of each element, so such an element got line 0 or the line
 * of the next object. */
static void
test_element_lines(void **state)
{
	char apps[160], err[512];

	(void)state;
	snprintf(apps, sizeof(apps), "%s/apps.json", dir);
	put_file("apps.json", APPS_HEAD "1\n]}\n", 0644);
	assert_int_equal(clients_check_file(apps, err, sizeof(err)), YH_ERR_INVALID);
	assert_non_null(strstr(err, "apps.json:2: client 0 \"\": a client is not an object"));
	put_file("apps.json", APPS_HEAD APP_PORTAL ",\n\"x\",\n" APP_PORTAL "\n]}\n", 0644);
	assert_int_equal(clients_check_file(apps, err, sizeof(err)), YH_ERR_INVALID);
	assert_non_null(strstr(err, "apps.json:3: client 1 \"\": a client is not an object"));
	put_file("apps.json", APPS_HEAD "[],\n  " APP_PORTAL "]}\n", 0644);
	assert_int_equal(clients_check_file(apps, err, sizeof(err)), YH_ERR_INVALID);
	assert_non_null(strstr(err, "apps.json:2: client 0"));
	/* objects keep their lines, in the duplicate message too */
	put_file("apps.json", APPS_HEAD APP_PORTAL ",\n\n" APP_PORTAL "\n]}\n", 0644);
	assert_int_equal(clients_check_file(apps, err, sizeof(err)), YH_ERR_INVALID);
	assert_non_null(strstr(err, "apps.json:4: client \"portal\" registered twice (also "));
	assert_non_null(strstr(err, "apps.json:2)"));
}

/* A key holder stand-in for clients_opts.hasher: the key it loaded, and a count. */
struct holder {
	struct clients_secret_key key;
	int kids, hashes;
	bool other_kid;   /* answer with a key id that is not the one it named */
};

static int
h_kid(void *ctx, bool create, char kid[CLIENTS_KID_LEN + 1], char *err, size_t errsz)
{
	struct holder *h = ctx;
	int rc;

	h->kids++;
	if (!h->key.have && (rc = clients_secret_key_load(dir, create, &h->key, err,
	    errsz)) != 0)
		return rc;
	if (!h->key.have)
		return YH_ERR_NOT_FOUND;
	memcpy(kid, h->key.kid, CLIENTS_KID_LEN + 1);
	return 0;
}

static int
h_hash(void *ctx, const char *id, const char *secret, size_t len,
    unsigned char out[CLIENTS_HASH_LEN], char kid[CLIENTS_KID_LEN + 1])
{
	struct holder *h = ctx;

	h->hashes++;
	memcpy(kid, h->other_kid ? "0000000000000000" : h->key.kid, CLIENTS_KID_LEN + 1);
	return clients_secret_key_hash(&h->key, id, secret, len, out);
}

/* With a hasher, the registry never reads the key: secrets from the apps file, new ones
 * from clients_add and presented ones are all hashed by the holder, under the key it
 * names; an answer under another key never authenticates. */
static void
test_hasher(void **state)
{
	struct holder h = { 0 };
	struct clients_hasher hs = { h_kid, h_hash, &h };
	struct clients_opts o = { .check_interval_ms = -1, .hasher = &hs };
	struct clients_registry *r = NULL, *plain = NULL;
	struct clients_snap *s;
	char apps[160], err[512];

	(void)state;
	snprintf(apps, sizeof(apps), "%s/apps.json", dir);
	put_file("svc.secret", SECRET_A "\n", 0600);
	put_file("apps.json", APPS_HEAD APP_SVC "\n]}\n", 0644);
	o.apps_file = apps;
	if (clients_open(dir, &o, &r, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_true(h.key.have);            /* made on first use, by the holder */
	assert_int_equal(h.hashes, 1);
	assert_int_equal(add_one(r, "b", CLIENTS_AUTH_SECRET, "https://b.example/cb", SECRET_B),
	    0);
	s = clients_acquire(r);
	assert_int_equal(clients_verify_secret(s, "svc", SECRET_A, strlen(SECRET_A), NULL), 0);
	assert_int_equal(clients_verify_secret(s, "b", SECRET_B, strlen(SECRET_B), NULL), 0);
	assert_int_equal(clients_verify_secret(s, "b", SECRET_A, strlen(SECRET_A), NULL),
	    YH_ERR_AUTH);
	/* the same hashes as a registry that reads the key itself */
	o.hasher = NULL;
	assert_int_equal(clients_open(dir, &o, &plain, err, sizeof(err)), 0);
	clients_release(s);
	s = clients_acquire(plain);
	assert_int_equal(clients_verify_secret(s, "svc", SECRET_A, strlen(SECRET_A), NULL), 0);
	assert_int_equal(clients_verify_secret(s, "b", SECRET_B, strlen(SECRET_B), NULL), 0);
	clients_release(s);
	clients_close(plain);
	h.other_kid = true;
	s = clients_acquire(r);
	assert_int_equal(clients_verify_secret(s, "b", SECRET_B, strlen(SECRET_B), NULL),
	    YH_ERR_AUTH);
	clients_release(s);
	clients_close(r);
	yh_wipe(&h.key, sizeof(h.key));
}

/* A CAS-only app: registered with services and prefixes, no redirect URI, no grant, no
 * secret; stored and read back. */
static const struct clients_client *
add_cas(struct clients_registry *r, struct clients_snap **s)
{
	const char *svc[2] = { "https://a.gov.cn/exact/page", "http://127.0.0.1:8080/cas" };
	const char *pfx[2] = { "https://a.gov.cn/app/", "https://b.gov.cn:8443/" };
	const struct clients_client *c;
	struct clients_client in;
	char err[512];

	clients_client_init(&in);
	snprintf(in.id, sizeof(in.id), "legacy");
	in.auth = CLIENTS_AUTH_NONE;
	in.require_pkce = true;
	in.grants = 0;
	in.cas_services = svc;
	in.n_cas_services = 2;
	in.cas_prefixes = pfx;
	in.n_cas_prefixes = 2;
	if (clients_add(r, &in, NULL, err, sizeof(err)) != 0)
		print_error("clients_add: %s\n", err);
	*s = clients_acquire(r);
	c = clients_find(*s, "legacy");
	assert_non_null(c);
	return c;
}

/* The proxy registration: stored and read back, only for a CAS app, https callbacks. */
static void
test_cas_proxy_registration(void **state)
{
	struct clients_registry *r;
	struct clients_snap *s;
	const struct clients_client *c;
	struct clients_client in;
	const char *svc[1] = { "https://a.gov.cn/app/" };
	const char *cb[2] = { "https://a.gov.cn/cb", "https://a.gov.cn/cb2" };
	const char *bad[1] = { "http://a.gov.cn/cb" };
	char err[512];

	(void)state;
	r = open_reg(-1, NULL);
	clients_client_init(&in);
	snprintf(in.id, sizeof(in.id), "proxying");
	in.auth = CLIENTS_AUTH_NONE;
	in.require_pkce = true;
	in.grants = 0;
	in.cas_proxy_callbacks = cb;
	in.n_cas_proxy_callbacks = 2;
	assert_int_equal(clients_client_check(&in, err, sizeof(err)), YH_ERR_INVALID);
	in.cas_prefixes = svc;
	in.n_cas_prefixes = 1;
	in.cas_proxy_callbacks = bad;
	in.n_cas_proxy_callbacks = 1;
	assert_int_equal(clients_client_check(&in, err, sizeof(err)), YH_ERR_INVALID);
	assert_non_null(strstr(err, "cas_proxy_callbacks[0]"));
	in.cas_proxy_callbacks = cb;
	in.n_cas_proxy_callbacks = 2;
	in.cas_accept_proxy = true;
	assert_int_equal(clients_add(r, &in, NULL, err, sizeof(err)), 0);
	s = clients_acquire(r);
	assert_non_null(c = clients_find(s, "proxying"));
	assert_int_equal(c->n_cas_proxy_callbacks, 2);
	assert_string_equal(c->cas_proxy_callbacks[1], "https://a.gov.cn/cb2");
	assert_true(c->cas_accept_proxy);
	assert_true(clients_cas_proxy_callback_ok(c, "https://a.gov.cn/cb2"));
	clients_release(s);
	clients_close(r);
}

static void
test_cas_services(void **state)
{
	struct clients_registry *r;
	struct clients_snap *s;
	const struct clients_client *c;
	static const char *const good[] = {
		"https://a.gov.cn/exact/page",
		"https://a.gov.cn/exact/page?x=1&y=2",           /* the app's own query */
		"http://127.0.0.1:8080/cas",
		"https://a.gov.cn/app/",
		"https://a.gov.cn/app/index.php?ticketless=1",
		"https://a.gov.cn/app/sub/dir/page",
		"https://a.gov.cn/app/a..b/c.d",                 /* dots inside a name */
		"https://a.gov.cn/app/login;jsessionid=AB12",    /* a path parameter */
		"https://a.gov.cn/app/%E5%BA%94%E7%94%A8/",      /* UTF-8, encoded */
		"https://a.gov.cn/app/%2e..b/",                  /* "...b": a name */
		"https://b.gov.cn:8443/anything",
	};
	static const char *const bad[] = {
		"https://a.gov.cn.evil/",                        /* a longer host */
		"https://a.gov.cn.evil/app/",
		"https://a.gov.cn/app-other",                    /* a longer path name */
		"https://a.gov.cn/app",                          /* the prefix without its '/' */
		"https://a.gov.cn/exact/page/more",              /* exact means exact */
		"https://a.gov.cn/exact/pag",
		"https://a.gov.cn/exact/page#frag",
		"https://evil@a.gov.cn/app/",                    /* userinfo */
		"https://a.gov.cn@evil.example/app/",
		"https://a.gov.cn/app/../admin",                 /* dot segments */
		"https://a.gov.cn/app/./x",
		"https://a.gov.cn/app/%2e%2e/admin",
		"https://a.gov.cn/app/.%2E/admin",
		"https://a.gov.cn/app/..",
		"https://a.gov.cn/app/..?x",
		"https://a.gov.cn/app/..%2fadmin",               /* encoded slash */
		"https://a.gov.cn/app/%5c..%5cadmin",
		"https://a.gov.cn/app/\\..\\admin",
		"https://a.gov.cn/app/..;/admin",                /* ".." with a parameter */
		"https://a.gov.cn/app/..;jsessionid=1/admin",
		"https://a.gov.cn/app/.;x/admin",
		"https://a.gov.cn/app/%2e%2e;/admin",
		"https://a.gov.cn/app/..%3b/admin",              /* the ';' encoded */
		"https://a.gov.cn/app/%252e%252e/admin",         /* decoded twice: ".." */
		"https://a.gov.cn/app/%25/admin",
		"https://a.gov.cn/app/%u002e%u002e/admin",       /* IIS's %u */
		"https://a.gov.cn/app/%C0%AE%C0%AE/admin",       /* overlong UTF-8 for '.' */
		"https://a.gov.cn/app/%E0%80%AE./admin",
		"https://a.gov.cn/app/%FF/admin",                /* not UTF-8 */
		"https://a.gov.cn/app/%00/admin",
		"https://a.gov.cn/app/%2",
		"https://a.gov.cn/app/%2Fadmin",
		"https://a.gov.cn:443/app/",                     /* another way to write it */
		"https://a.gov.cn:8443/app/",                    /* another port */
		"http://a.gov.cn/app/",                          /* another scheme */
		"HTTPS://a.gov.cn/app/",
		"https://A.gov.cn/app/",
		"https://b.gov.cn/x",                            /* the prefix's port is 8443 */
		"http://127.0.0.1:8081/cas",
		"http://127.1:8080/cas",
		"https://a.gov.cn/app/ x",
		"",
		NULL,
	};
	const char *why;

	(void)state;
	r = open_reg(-1, NULL);
	c = add_cas(r, &s);
	assert_true(clients_has_cas(c));
	assert_int_equal(c->grants, 0);
	assert_int_equal(c->auth, CLIENTS_AUTH_NONE);
	assert_int_equal(c->n_redirect_uris, 0);
	assert_string_equal(c->cas_prefixes[0], "https://a.gov.cn/app/");
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (!clients_cas_service_ok(c, good[i]))
			print_error("refused: %s\n", good[i]);
		assert_true(clients_cas_service_ok(c, good[i]));
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (clients_cas_service_ok(c, bad[i]))
			print_error("matched: %s\n", bad[i]);
		assert_false(clients_cas_service_ok(c, bad[i]));
	}
	/* an app without CAS services matches nothing */
	assert_false(clients_cas_service_ok(NULL, "https://a.gov.cn/app/"));
	clients_release(s);
	clients_close(r);

	/* proxy callbacks: https only, matched whole (no prefix, no query, no case) */
	assert_int_equal(clients_cas_proxy_callback_check("https://a.gov.cn/cb", &why), 0);
	assert_int_equal(clients_cas_proxy_callback_check("http://a.gov.cn/cb", &why),
	    YH_ERR_INVALID);
	assert_int_equal(clients_cas_proxy_callback_check("http://127.0.0.1:9/cb", &why),
	    YH_ERR_INVALID);
	assert_int_equal(clients_cas_proxy_callback_check("https://a.gov.cn/cb?x=1", &why),
	    YH_ERR_INVALID);
	assert_int_equal(clients_cas_proxy_callback_check("https://a.gov.cn/a/../cb", &why),
	    YH_ERR_INVALID);
	{
		const char *cb[1] = { "https://a.gov.cn/cb" };
		struct clients_client pc;
		static const char *const nomatch[] = {
			"https://a.gov.cn/cb/", "https://a.gov.cn/cbx", "https://a.gov.cn/c",
			"https://a.gov.cn/cb?x=1", "https://a.gov.cn/cb#f", "https://A.gov.cn/cb",
			"http://a.gov.cn/cb", "https://a.gov.cn:443/cb", "https://a.gov.cn/cb/..",
			"https://a.gov.cn.evil/cb", "", NULL,
		};

		clients_client_init(&pc);
		assert_false(clients_cas_proxy_callback_ok(&pc, "https://a.gov.cn/cb"));
		pc.cas_proxy_callbacks = cb;
		pc.n_cas_proxy_callbacks = 1;
		assert_true(clients_cas_proxy_callback_ok(&pc, "https://a.gov.cn/cb"));
		for (size_t i = 0; i < sizeof(nomatch) / sizeof(nomatch[0]); i++)
			assert_false(clients_cas_proxy_callback_ok(&pc, nomatch[i]));
		assert_false(clients_cas_proxy_callback_ok(NULL, "https://a.gov.cn/cb"));
	}

	/* registration rules */
	assert_int_equal(clients_cas_service_check("https://a.gov.cn/app/", true, &why), 0);
	assert_int_equal(clients_cas_service_check("https://a.gov.cn/app", true, &why),
	    YH_ERR_INVALID);
	assert_int_equal(clients_cas_service_check("https://a.gov.cn/app", false, &why), 0);
	assert_int_equal(clients_cas_service_check("https://a.gov.cn/app?x=1", false, &why),
	    YH_ERR_INVALID);
	assert_int_equal(clients_cas_service_check("https://a.gov.cn/a/../", true, &why),
	    YH_ERR_INVALID);
	assert_int_equal(clients_cas_service_check("http://a.gov.cn/app/", true, &why),
	    YH_ERR_INVALID);
	assert_int_equal(clients_cas_service_check("com.example.app:/cas", false, &why),
	    YH_ERR_INVALID);
	assert_int_equal(clients_cas_service_check("https://u@a.gov.cn/", true, &why),
	    YH_ERR_INVALID);
}

/* A CAS-only app named id, with these services and prefixes. */
static void
cas_app(struct clients_client *c, const char *id, const char **svc, size_t nsvc,
    const char **pfx, size_t npfx)
{
	clients_client_init(c);
	snprintf(c->id, sizeof(c->id), "%s", id);
	c->auth = CLIENTS_AUTH_NONE;
	c->require_pkce = true;
	c->grants = 0;
	c->cas_services = svc;
	c->n_cas_services = nsvc;
	c->cas_prefixes = pfx;
	c->n_cas_prefixes = npfx;
}

/*
 * One service URL names one app: two apps whose CAS services one URL would match (the
 * same service, a service under the other's prefix, nested prefixes) are refused by
 * clients_add and in a file; neighbours that only share the beginning of a name are not.
 */
static void
test_cas_overlap(void **state)
{
	struct clients_registry *r;
	struct clients_client a, b;
	const char *asvc[1] = { "https://a.gov.cn/exact" };
	const char *apfx[1] = { "https://a.gov.cn/app/" };
	const char *clash[] = { "https://a.gov.cn/exact", "https://a.gov.cn/app/x",
	    "https://a.gov.cn/app/" };
	const char *clash_pfx[] = { "https://a.gov.cn/", "https://a.gov.cn/app/sub/" };
	const char *fine[] = { "https://a.gov.cn/exact2", "https://a.gov.cn/app",
	    "https://a.gov.cn/app-other/", "https://a.gov.cn.evil/app/" };
	const char *sa = NULL, *sb = NULL;
	char path[160], err[512];

	(void)state;
	cas_app(&a, "one", asvc, 1, apfx, 1);
	for (size_t i = 0; i < sizeof(clash) / sizeof(clash[0]); i++) {
		cas_app(&b, "two", &clash[i], 1, NULL, 0);
		if (!clients_cas_overlap(&a, &b, &sa, &sb) || !clients_cas_overlap(&b, &a, NULL,
		    NULL))
			fail_msg("%s: no overlap found", clash[i]);
		assert_string_equal(sb, clash[i]);
	}
	for (size_t i = 0; i < sizeof(clash_pfx) / sizeof(clash_pfx[0]); i++) {
		cas_app(&b, "two", NULL, 0, &clash_pfx[i], 1);
		if (!clients_cas_overlap(&a, &b, NULL, NULL) || !clients_cas_overlap(&b, &a,
		    NULL, NULL))
			fail_msg("prefix %s: no overlap found", clash_pfx[i]);
	}
	for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
		bool pfx = fine[i][strlen(fine[i]) - 1] == '/';

		cas_app(&b, "two", pfx ? NULL : &fine[i], !pfx, pfx ? &fine[i] : NULL, pfx);
		if (clients_cas_overlap(&a, &b, NULL, NULL) || clients_cas_overlap(&b, &a, NULL,
		    NULL))
			fail_msg("%s: an overlap found", fine[i]);
	}

	/* clients_add: the second app is refused, nothing written; a neighbour is added */
	r = open_reg(-1, NULL);
	assert_int_equal(clients_add(r, &a, NULL, err, sizeof(err)), 0);
	cas_app(&b, "two", NULL, 0, &clash_pfx[0], 1);
	assert_int_equal(clients_add(r, &b, NULL, err, sizeof(err)), YH_ERR_EXISTS);
	assert_non_null(strstr(err, "overlaps https://a.gov.cn/"));
	assert_non_null(strstr(err, "client \"one\""));
	cas_app(&b, "two", NULL, 0, &fine[2], 1);
	assert_int_equal(clients_add(r, &b, NULL, err, sizeof(err)), 0);
	clients_close(r);

	/* in a file: a load error naming both places */
	snprintf(path, sizeof(path), "%s/apps.json", dir);
	put_file("apps.json", APPS_HEAD
	    "{\"client_id\": \"one\", \"auth\": \"none\", \"redirect_uris\": [], "
	    "\"scopes\": [\"openid\"], \"grants\": [], \"min_loa\": 1, "
	    "\"cas_service_prefixes\": [\"https://a.gov.cn/app/\"]},\n"
	    "{\"client_id\": \"two\", \"auth\": \"none\", \"redirect_uris\": [], "
	    "\"scopes\": [\"openid\"], \"grants\": [], \"min_loa\": 1, "
	    "\"cas_services\": [\"https://a.gov.cn/app/page\"]}\n]}\n", 0644);
	assert_int_equal(clients_check_file(path, err, sizeof(err)), YH_ERR_INVALID);
	if (strstr(err, "apps.json:3: client \"two\": CAS service https://a.gov.cn/app/page "
	    "overlaps https://a.gov.cn/app/ of client \"one\" (") == NULL)
		fail_msg("%s", err);
}

/* Without CAS services an app still needs a grant; a CAS-only app has no secret. */
static void
test_cas_client_rules(void **state)
{
	struct clients_client c;
	const char *svc[1] = { "https://a.gov.cn/app/" };
	char err[512];

	(void)state;
	clients_client_init(&c);
	snprintf(c.id, sizeof(c.id), "x");
	c.grants = 0;
	c.auth = CLIENTS_AUTH_NONE;
	c.require_pkce = true;
	assert_int_equal(clients_client_check(&c, err, sizeof(err)), YH_ERR_INVALID);
	c.cas_prefixes = svc;
	c.n_cas_prefixes = 1;
	assert_int_equal(clients_client_check(&c, err, sizeof(err)), 0);
	c.auth = CLIENTS_AUTH_SECRET;
	assert_int_equal(clients_client_check(&c, err, sizeof(err)), YH_ERR_INVALID);
	c.auth = CLIENTS_AUTH_NONE;
	c.cas_services = svc;     /* ends in '/', fine as an exact service too */
	c.n_cas_services = 1;
	assert_int_equal(clients_client_check(&c, err, sizeof(err)), 0);
	svc[0] = "https://a.gov.cn/app?q";
	assert_int_equal(clients_client_check(&c, err, sizeof(err)), YH_ERR_INVALID);
	assert_non_null(strstr(err, "cas_services[0]"));
}

/* An app's old system: stored and read back through clients.json; the rules of
 * cas_user and legacy_required; bad values in the file are load errors. */
static void
test_legacy_source(void **state)
{
	struct clients_registry *r;
	struct clients_snap *s;
	const struct clients_client *c;
	struct clients_client in;
	const char *svc[1] = { "https://a.gov.cn/app/" };
	char err[512];

	(void)state;
	r = open_reg(-1, NULL);
	clients_client_init(&in);
	snprintf(in.id, sizeof(in.id), "shebao-app");
	in.auth = CLIENTS_AUTH_NONE;
	in.require_pkce = true;
	in.grants = 0;
	in.cas_services = svc;
	in.n_cas_services = 1;
	in.cas_user = CLIENTS_CAS_USER_LEGACY;      /* without a source */
	assert_int_equal(clients_client_check(&in, err, sizeof(err)), YH_ERR_INVALID);
	assert_non_null(strstr(err, "cas_user legacy needs a legacy_source"));
	in.cas_user = CLIENTS_CAS_USER_SUBJECT;
	in.legacy_required = true;
	assert_int_equal(clients_client_check(&in, err, sizeof(err)), YH_ERR_INVALID);
	assert_non_null(strstr(err, "legacy_required needs a legacy_source"));
	in.legacy_source = "bad\tsource";
	assert_int_equal(clients_client_check(&in, err, sizeof(err)), YH_ERR_INVALID);
	assert_non_null(strstr(err, "legacy_source"));
	in.legacy_source = "";
	assert_int_equal(clients_client_check(&in, err, sizeof(err)), YH_ERR_INVALID);
	in.legacy_source = "shebao";
	in.cas_user = CLIENTS_CAS_USER_LEGACY;
	assert_int_equal(clients_add(r, &in, NULL, err, sizeof(err)), 0);
	/* An app without a source: none, cas_user subject. */
	assert_int_equal(add_one(r, "plain", CLIENTS_AUTH_NONE, "https://p.example/cb", NULL),
	    0);

	s = clients_acquire(r);
	c = clients_find(s, "shebao-app");
	assert_non_null(c);
	assert_string_equal(c->legacy_source, "shebao");
	assert_int_equal(c->cas_user, CLIENTS_CAS_USER_LEGACY);
	assert_true(c->legacy_required);
	c = clients_find(s, "plain");
	assert_null(c->legacy_source);
	assert_int_equal(c->cas_user, CLIENTS_CAS_USER_SUBJECT);
	assert_false(c->legacy_required);
	clients_release(s);
	clients_close(r);

	/* cas_user legacy on an app without CAS services. */
	clients_client_init(&in);
	snprintf(in.id, sizeof(in.id), "oidc");
	svc[0] = "https://a.gov.cn/cb";
	in.redirect_uris = svc;
	in.n_redirect_uris = 1;
	in.legacy_source = "gjj";
	assert_int_equal(clients_client_check(&in, err, sizeof(err)), 0);
	in.cas_user = CLIENTS_CAS_USER_LEGACY;
	assert_int_equal(clients_client_check(&in, err, sizeof(err)), YH_ERR_INVALID);
	assert_non_null(strstr(err, "only for an app with CAS services"));

	assert_string_equal(clients_cas_user_name(CLIENTS_CAS_USER_LEGACY), "legacy");
	assert_int_equal(clients_cas_user_parse("Legacy", &in.cas_user), YH_ERR_INVALID);
	assert_string_equal(clients_cas_user_name((enum clients_cas_user)2), "?");
	assert_int_equal(clients_cas_user_parse("subject", &in.cas_user), 0);
	assert_int_equal(in.cas_user, CLIENTS_CAS_USER_SUBJECT);
	assert_string_equal(clients_auth_name(CLIENTS_AUTH_PRIVATE_KEY_JWT), "private_key_jwt");
	assert_string_equal(clients_auth_name((enum clients_auth)3), "?");

	check_apps_line(APPS_HEAD "{\"client_id\": \"a\", \"auth\": \"none\", "
	    "\"redirect_uris\": [\"https://a.example/cb\"], \"scopes\": [\"openid\"], "
	    "\"grants\": [\"authorization_code\"], \"min_loa\": 1, "
	    "\"cas_user\": \"id\"}\n]}\n", "apps.json:2: client 0 \"a\": cas_user: subject or legacy");
	check_apps_line(APPS_HEAD "{\"client_id\": \"a\", \"auth\": \"none\", "
	    "\"redirect_uris\": [\"https://a.example/cb\"], \"scopes\": [\"openid\"], "
	    "\"grants\": [\"authorization_code\"], \"min_loa\": 1, "
	    "\"legacy_required\": true}\n]}\n",
	    "apps.json:2: client 0 \"a\": legacy_required needs a legacy_source");
	check_apps_line(APPS_HEAD "{\"client_id\": \"a\", \"auth\": \"none\", "
	    "\"redirect_uris\": [\"https://a.example/cb\"], \"scopes\": [\"openid\"], "
	    "\"grants\": [\"authorization_code\"], \"min_loa\": 1, "
	    "\"legacy_source\": 7}\n]}\n", "apps.json:2: client 0 \"a\": legacy_source: not a string");
}

/* require_pushed_authorization_requests: stored and read back through clients.json,
 * absent meaning false; not a boolean in the file is a load error. */
static void
test_require_par(void **state)
{
	struct clients_registry *r;
	struct clients_snap *s;
	struct clients_client in;
	const char *uri[1] = { "https://par.example/cb" };
	char err[512];

	(void)state;
	r = open_reg(-1, NULL);
	clients_client_init(&in);
	snprintf(in.id, sizeof(in.id), "parapp");
	in.auth = CLIENTS_AUTH_NONE;
	in.require_pkce = true;
	in.redirect_uris = uri;
	in.n_redirect_uris = 1;
	in.require_par = true;
	assert_int_equal(clients_add(r, &in, NULL, err, sizeof(err)), 0);
	assert_int_equal(add_one(r, "plain", CLIENTS_AUTH_NONE, "https://p.example/cb", NULL),
	    0);
	clients_close(r);
	r = open_reg(-1, NULL);
	s = clients_acquire(r);
	assert_true(clients_find(s, "parapp")->require_par);
	assert_false(clients_find(s, "plain")->require_par);
	clients_release(s);
	clients_close(r);
	check_apps_line(APPS_HEAD "{\"client_id\": \"a\", \"auth\": \"none\", "
	    "\"redirect_uris\": [\"https://a.example/cb\"], \"scopes\": [\"openid\"], "
	    "\"grants\": [\"authorization_code\"], \"min_loa\": 1, "
	    "\"require_pushed_authorization_requests\": 1}\n]}\n",
	    "apps.json:2: client 0 \"a\": require_pushed_authorization_requests: not a boolean");
}

/* ---- CORS origins ------------------------------------------------------------------- */

/* The origin of uri must be want (NULL: rc). */
static void
check_origin_of(const char *uri, int rc, const char *want)
{
	char out[CLIENTS_URI_MAX + 1];
	int got = clients_origin_of(uri, out, sizeof(out));

	if (got != rc || (want != NULL && strcmp(out, want) != 0))
		fail_msg("%s: got %d \"%s\", want %d \"%s\"", uri, got, got == 0 ? out : "",
		    rc, want != NULL ? want : "");
}

/* A redirect URI's origin is what a browser sends in Origin for a page there. */
static void
test_origin_of(void **state)
{
	char small[16];

	(void)state;
	check_origin_of("https://spa.gov.cn/cb", 0, "https://spa.gov.cn");
	check_origin_of("https://spa.gov.cn", 0, "https://spa.gov.cn");
	check_origin_of("https://spa.gov.cn?x=1", 0, "https://spa.gov.cn");
	check_origin_of("https://spa.gov.cn:443/cb", 0, "https://spa.gov.cn");
	check_origin_of("https://spa.gov.cn:80/cb", 0, "https://spa.gov.cn:80");
	check_origin_of("https://spa.gov.cn:8443/a/b?c#d", 0, "https://spa.gov.cn:8443");
	check_origin_of("https://Spa.GOV.cn/cb", 0, "https://spa.gov.cn");
	check_origin_of("https://xn--mxtq1m.cn/cb", 0, "https://xn--mxtq1m.cn");
	check_origin_of("http://127.0.0.1:80/cb", 0, "http://127.0.0.1");
	check_origin_of("http://127.0.0.1:8080/cb", 0, "http://127.0.0.1:8080");
	check_origin_of("http://localhost:3000/", 0, "http://localhost:3000");
	check_origin_of("http://[::1]:8080/cb", 0, "http://[::1]:8080");
	check_origin_of("http://[0:0:0:0:0:0:0:1]/cb", 0, "http://[::1]");
	check_origin_of("https://[2001:DB8:0:0:0:0:0:1]:443/", 0, "https://[2001:db8::1]");
	/* no web origin: a native app's private-use scheme */
	check_origin_of("cn.gov.example.gjj:/oauth2redirect", YH_ERR_NOT_FOUND, NULL);
	check_origin_of("com.example.app://cb", YH_ERR_NOT_FOUND, NULL);
	/* not an http(s) URI with a host */
	check_origin_of("https:/spa.gov.cn", YH_ERR_INVALID, NULL);
	check_origin_of("https:///cb", YH_ERR_INVALID, NULL);
	check_origin_of("https://spa.gov.cn:x/cb", YH_ERR_INVALID, NULL);
	check_origin_of("http://[zz]/cb", YH_ERR_INVALID, NULL);
	assert_int_equal(clients_origin_of("https://spa.example.gov.cn/cb", small, sizeof(small)),
	    YH_ERR_TOO_LONG);
}

/* The origin check: want 0, or an error whose reason holds why_part. */
static void
check_origin(const char *origin, int want, const char *why_part)
{
	const char *why = NULL;
	int rc = clients_origin_check(origin, &why);

	if (rc != want || (rc != 0 && why_part != NULL &&
	    (why == NULL || strstr(why, why_part) == NULL)))
		fail_msg("%s: got %d (%s), want %d (%s)", origin ? origin : "(none)", rc,
		    why ? why : "-", want, why_part ? why_part : "-");
}

/* --allowed-origin: scheme://host[:port] as a browser sends it, https or loopback http. */
static void
test_origin_check(void **state)
{
	char longo[CLIENTS_URI_MAX + 16];

	(void)state;
	check_origin("https://spa.gov.cn", 0, NULL);
	check_origin("https://spa.gov.cn:8443", 0, NULL);
	check_origin("https://xn--mxtq1m.cn", 0, NULL);
	check_origin("http://127.0.0.1:5173", 0, NULL);
	check_origin("http://localhost:3000", 0, NULL);
	check_origin("http://localhost", 0, NULL);
	check_origin("http://[::1]:8080", 0, NULL);
	check_origin("*", YH_ERR_INVALID, "wildcard");
	check_origin("https://*.gov.cn", YH_ERR_INVALID, "wildcard");
	check_origin("https://spa.gov.cn/", YH_ERR_INVALID, "no path");
	check_origin("https://spa.gov.cn/app", YH_ERR_INVALID, "no path");
	check_origin("https://spa.gov.cn?x", YH_ERR_INVALID, "no path");
	check_origin("https://spa.gov.cn#x", YH_ERR_INVALID, "fragment");
	check_origin("http://spa.gov.cn", YH_ERR_INVALID, "http only on loopback");
	check_origin("http://127.0.0.2:80", YH_ERR_INVALID, "http only on loopback");
	check_origin("https://SPA.gov.cn", YH_ERR_INVALID, "lower case");
	check_origin("https://spa.gov.cn:443", YH_ERR_INVALID, "default port");
	check_origin("http://127.0.0.1:80", YH_ERR_INVALID, "default port");
	check_origin("http://[0:0:0:0:0:0:0:1]", YH_ERR_INVALID, "not written the way it is read");
	check_origin("https://user@spa.gov.cn", YH_ERR_INVALID, "userinfo");
	check_origin("https://spa.gov.cn:0", YH_ERR_INVALID, "port");
	check_origin("cn.gov.example.app:/cb", YH_ERR_INVALID, "https");
	check_origin("null", YH_ERR_INVALID, "absolute");
	check_origin("", YH_ERR_INVALID, "empty");
	check_origin(NULL, YH_ERR_INVALID, "empty");
	memset(longo, 'a', sizeof(longo) - 1);
	longo[sizeof(longo) - 1] = '\0';
	memcpy(longo, "https://", 8);
	check_origin(longo, YH_ERR_TOO_LONG, "1024");
}

/* A registered client's allowed_origins: public clients only, checked, not twice. */
static void
test_allowed_origins_rules(void **state)
{
	struct clients_client c;
	const char *uris[1] = { "https://spa.gov.cn/cb" };
	const char *origins[CLIENTS_ORIGINS_MAX + 1];
	char err[512];

	(void)state;
	clients_client_init(&c);
	snprintf(c.id, sizeof(c.id), "spa");
	c.auth = CLIENTS_AUTH_NONE;
	c.require_pkce = true;
	c.redirect_uris = uris;
	c.n_redirect_uris = 1;
	c.allowed_origins = origins;
	origins[0] = "https://m.spa.gov.cn";
	origins[1] = "http://localhost:5173";
	c.n_allowed_origins = 2;
	assert_int_equal(clients_client_check(&c, err, sizeof(err)), 0);
	origins[1] = "https://m.spa.gov.cn";
	assert_int_equal(clients_client_check(&c, err, sizeof(err)), YH_ERR_INVALID);
	assert_non_null(strstr(err, "allowed_origins[1]: https://m.spa.gov.cn listed twice"));
	origins[1] = "https://spa.gov.cn/";
	assert_int_equal(clients_client_check(&c, err, sizeof(err)), YH_ERR_INVALID);
	assert_non_null(strstr(err, "allowed_origins[1]: https://spa.gov.cn/: "));
	for (size_t i = 0; i <= CLIENTS_ORIGINS_MAX; i++)
		origins[i] = "https://m.spa.gov.cn";
	c.n_allowed_origins = CLIENTS_ORIGINS_MAX + 1;
	assert_int_equal(clients_client_check(&c, err, sizeof(err)), YH_ERR_INVALID);
	assert_non_null(strstr(err, "more than 16"));
	c.n_allowed_origins = 1;
	c.auth = CLIENTS_AUTH_SECRET;   /* a confidential client's code is not in a browser */
	assert_int_equal(clients_client_check(&c, err, sizeof(err)), YH_ERR_INVALID);
	assert_non_null(strstr(err, "only for a public client"));
	c.auth = CLIENTS_AUTH_NONE;
	c.grants = 0;                   /* nor a CAS-only app's */
	c.cas_services = uris;
	c.n_cas_services = 1;
	c.n_redirect_uris = 0;
	assert_int_equal(clients_client_check(&c, err, sizeof(err)), YH_ERR_INVALID);
	assert_non_null(strstr(err, "only for a public client"));
}

/* Loaded, a public client's origins are its redirect URIs' and its allowed_origins, each
 * once; a confidential client has none; the registry knows them all. Kept by the
 * writer, refused in the apps file on a confidential client, with its line. */
static void
test_cors_origins_loaded(void **state)
{
	struct clients_registry *r;
	struct clients_snap *s;
	const struct clients_client *c;
	struct clients_client in;
	const char *uris[4] = { "https://spa.gov.cn/cb", "https://spa.gov.cn:443/other",
		"cn.gov.example.spa:/cb", "http://127.0.0.1:5173/cb" };
	const char *origins[2] = { "https://m.spa.gov.cn", "https://spa.gov.cn" };
	char err[512], *text;

	(void)state;
	r = open_reg(-1, NULL);
	clients_client_init(&in);
	snprintf(in.id, sizeof(in.id), "spa");
	in.auth = CLIENTS_AUTH_NONE;
	in.redirect_uris = uris;
	in.n_redirect_uris = 4;
	in.allowed_origins = origins;
	in.n_allowed_origins = 2;
	assert_int_equal(clients_add(r, &in, NULL, err, sizeof(err)), 0);
	assert_int_equal(add_one(r, "web", CLIENTS_AUTH_SECRET, "https://web.gov.cn/cb",
	    SECRET_A), 0);
	assert_int_equal(add_one(r, "native", CLIENTS_AUTH_NONE, "cn.gov.example.n:/cb", NULL),
	    0);
	text = slurp(file, NULL);
	assert_non_null(strstr(text, "\"allowed_origins\":[\"https://m.spa.gov.cn\","
	    "\"https://spa.gov.cn\"]"));
	assert_null(strstr(text, "cors_origins"));   /* derived, never stored */
	free(text);
	clients_close(r);

	r = open_reg(-1, NULL);   /* a fresh load from the file */
	s = clients_acquire(r);
	c = clients_find(s, "spa");
	assert_non_null(c);
	assert_int_equal(c->n_cors_origins, 3);
	assert_string_equal(c->cors_origins[0], "https://spa.gov.cn");
	assert_string_equal(c->cors_origins[1], "http://127.0.0.1:5173");
	assert_string_equal(c->cors_origins[2], "https://m.spa.gov.cn");
	assert_true(clients_origin_ok(c, "https://spa.gov.cn"));
	assert_true(clients_origin_ok(c, "https://m.spa.gov.cn"));
	assert_true(clients_origin_ok(c, "http://127.0.0.1:5173"));
	assert_false(clients_origin_ok(c, "https://spa.gov.cn/"));
	assert_false(clients_origin_ok(c, "https://spa.gov.cn:443"));
	assert_false(clients_origin_ok(c, "https://web.gov.cn"));
	assert_false(clients_origin_ok(c, "null"));
	assert_false(clients_origin_ok(c, NULL));
	c = clients_find(s, "web");
	assert_int_equal(c->n_cors_origins, 0);
	assert_false(clients_origin_ok(c, "https://web.gov.cn"));
	assert_int_equal(clients_find(s, "native")->n_cors_origins, 0);
	assert_true(clients_origin_known(s, "https://spa.gov.cn"));
	assert_true(clients_origin_known(s, "https://m.spa.gov.cn"));
	assert_true(clients_origin_known(s, "http://127.0.0.1:5173"));
	assert_false(clients_origin_known(s, "https://web.gov.cn"));   /* confidential */
	assert_false(clients_origin_known(s, "https://evil.example"));
	assert_false(clients_origin_known(s, NULL));
	assert_false(clients_origin_ok(NULL, "https://spa.gov.cn"));
	clients_release(s);
	clients_close(r);

	check_apps_line(APPS_HEAD "{\"client_id\": \"a\", \"auth\": \"none\", "
	    "\"redirect_uris\": [\"https://a.example/cb\"], \"scopes\": [\"openid\"], "
	    "\"grants\": [\"authorization_code\"], \"min_loa\": 1, "
	    "\"allowed_origins\": [\"https://a.example/\"]}\n]}\n",
	    "apps.json:2: client 0 \"a\": allowed_origins[0]: https://a.example/: an origin is");
	check_apps_line(APPS_HEAD "{\"client_id\": \"a\", \"auth\": \"none\", "
	    "\"redirect_uris\": [\"https://a.example/cb\"], \"scopes\": [\"openid\"], "
	    "\"grants\": [\"authorization_code\"], \"min_loa\": 1, "
	    "\"allowed_origins\": \"https://a.example\"}\n]}\n",
	    "apps.json:2: client 0 \"a\": allowed_origins: not an array");
}

/* An app's signing algorithms: stored and loaded; one the server does not enable is
 * refused by clients_add and makes the file fail to load (the last good registry stays). */
static void
test_signing_algs(void **state)
{
	const unsigned three = TOK_ALGSET(TOK_ALG_ES256) | TOK_ALGSET(TOK_ALG_RS256) |
	    TOK_ALGSET(TOK_ALG_SM2);
	struct clients_opts o = { .check_interval_ms = -1, .token_algs = three };
	struct clients_registry *r = NULL;
	struct clients_snap *s;
	const struct clients_client *c;
	struct clients_client in;
	const char *uris[1] = { "https://a.example/cb" };
	char err[512], *text;

	(void)state;
	assert_int_equal(clients_open(dir, &o, &r, err, sizeof(err)), 0);
	clients_client_init(&in);
	in.auth = CLIENTS_AUTH_NONE;
	in.require_pkce = true;
	in.redirect_uris = uris;
	in.n_redirect_uris = 1;
	snprintf(in.id, sizeof(in.id), "sm2app");
	in.id_token_alg = TOK_ALG_SM2;
	assert_int_equal(clients_add(r, &in, NULL, err, sizeof(err)), 0);
	snprintf(in.id, sizeof(in.id), "mixed");
	in.access_token_alg = TOK_ALG_ES256;
	assert_int_equal(clients_add(r, &in, NULL, err, sizeof(err)), 0);
	snprintf(in.id, sizeof(in.id), "psapp");
	in.id_token_alg = TOK_ALG_PS256;
	in.access_token_alg = TOK_ALG_UNSET;
	assert_int_equal(clients_add(r, &in, NULL, err, sizeof(err)), YH_ERR_INVALID);
	assert_non_null(strstr(err, "id_token_signed_response_alg: PS256 is not enabled on this "
	    "server (keys.algs: ES256 RS256 SM2)"));
	in.id_token_alg = TOK_ALG_RS256;
	in.access_token_alg = TOK_ALG_EDDSA;
	assert_int_equal(clients_add(r, &in, NULL, err, sizeof(err)), YH_ERR_INVALID);
	assert_non_null(strstr(err, "access_token_signed_response_alg: EdDSA is not enabled"));
	in.access_token_alg = (enum tok_alg)77;
	assert_int_equal(clients_add(r, &in, NULL, err, sizeof(err)), YH_ERR_INVALID);

	s = clients_acquire(r);
	assert_null(clients_find(s, "psapp"));
	assert_non_null(c = clients_find(s, "sm2app"));
	assert_int_equal(c->id_token_alg, TOK_ALG_SM2);
	assert_int_equal(c->access_token_alg, TOK_ALG_UNSET);  /* follows the ID token's */
	assert_non_null(c = clients_find(s, "mixed"));
	assert_int_equal(c->id_token_alg, TOK_ALG_SM2);
	assert_int_equal(c->access_token_alg, TOK_ALG_ES256);
	clients_release(s);
	text = slurp(file, NULL);
	assert_non_null(strstr(text, "\"id_token_signed_response_alg\":\"SM2\""));
	free(text);

	/* at load: an unknown name, then a name not enabled, each refused with its line */
	replace_file(APPS_HEAD "{\"client_id\": \"x\", \"auth\": \"none\", \"redirect_uris\": "
	    "[\"https://a.example/cb\"], \"scopes\": [\"openid\"], \"grants\": "
	    "[\"authorization_code\"], \"min_loa\": 1, \"id_token_signed_response_alg\": "
	    "\"HS256\"}]}\n");
	assert_int_equal(clients_reload(r, err, sizeof(err)), YH_ERR_INVALID);
	assert_non_null(strstr(err, ":2: client 0 \"x\": id_token_signed_response_alg: ES256, "
	    "EdDSA, RS256, PS256 or SM2"));
	replace_file(APPS_HEAD "{\"client_id\": \"x\", \"auth\": \"none\", \"redirect_uris\": "
	    "[\"https://a.example/cb\"], \"scopes\": [\"openid\"], \"grants\": "
	    "[\"authorization_code\"], \"min_loa\": 1, \"access_token_signed_response_alg\": "
	    "\"PS256\"}]}\n");
	assert_int_equal(clients_reload(r, err, sizeof(err)), YH_ERR_INVALID);
	assert_non_null(strstr(err, "access_token_signed_response_alg: PS256 is not enabled"));
	s = clients_acquire(r);
	assert_non_null(clients_find(s, "sm2app"));  /* the last good registry */
	clients_release(s);
	clients_close(r);
	/* the same file loads where PS256 is enabled */
	o.token_algs = three | TOK_ALGSET(TOK_ALG_PS256);
	assert_int_equal(clients_open(dir, &o, &r, err, sizeof(err)), 0);
	s = clients_acquire(r);
	assert_int_equal(clients_find(s, "x")->access_token_alg, TOK_ALG_PS256);
	clients_release(s);
	clients_close(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_never_stored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_secret, setup, teardown),
		cmocka_unit_test(test_uri_rules),
		cmocka_unit_test_setup_teardown(test_redirect_exact, setup, teardown),
		cmocka_unit_test(test_uri_parser_edges),
		cmocka_unit_test_setup_teardown(test_redirect_exact_not_normalised, setup, teardown),
		cmocka_unit_test(test_client_rules),
		cmocka_unit_test_setup_teardown(test_legacy_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_require_par, setup, teardown),
		cmocka_unit_test(test_scopes),
		cmocka_unit_test_setup_teardown(test_reload_other_writer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_keeps_old, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_writers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_private_key_jwt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apps_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_element_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loader_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hasher, setup, teardown),
		cmocka_unit_test_setup_teardown(test_account_owned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signing_algs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cas_services, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cas_proxy_registration, setup, teardown),
		cmocka_unit_test(test_cas_client_rules),
		cmocka_unit_test_setup_teardown(test_cas_overlap, setup, teardown),
		cmocka_unit_test(test_origin_of),
		cmocka_unit_test(test_origin_check),
		cmocka_unit_test(test_allowed_origins_rules),
		cmocka_unit_test_setup_teardown(test_cors_origins_loaded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_max, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_replace_bad, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
