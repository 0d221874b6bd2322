/*
 * Unit tests for consent (authd/oidc/consent.h), the directory's consent records and their
 * schema migration, and the account page (authd/account/account.h): its QR code, and the pages
 * themselves through a real HTTP server on a free loopback port.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <qrencode.h>
#include <sqlite3.h>

#include "authd/keyd/keys.h"
#include "authd/account/account.h"
#include "authcore/audit/audit.h"
#include "authcore/clients/clients.h"
#include "authd/oidc/consent.h"
#include "authd/ui/csrf.h"
#include "authd/http/http.h"
#include "authd/app.h"
#include "authd/session/sess.h"
#include "common/workers.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/secmem.h"
#include "identity/dir/dir.h"
#include "identity/dir/dir_sqlite.h"
#include "identity/identity.h"
#include "identity/idn/idnum.h"
#include "identity/passwd/passwd.h"
#include "identity/totp.h"
#include "tests/unit/dir_raw.h"

struct fx {
	char root[64];
	struct ident_cfg cfg;
	struct ident *id;
	struct dir *d;
};

static void
make_id(int n, char out[19])
{
	snprintf(out, 19, "11010119900101%03d", n % 1000);
	out[17] = idn_resident_check_char(out);
	out[18] = '\0';
}

static void
fx_open(struct fx *f, bool create)
{
	char err[512];

	if (ident_open(&f->cfg, create, &f->id, err, sizeof(err)) != 0)
		fail_msg("ident_open: %s", err);
	f->d = f->id->dir;
}

static void
fx_close(struct fx *f)
{
	ident_close(f->id);
	f->id = NULL;
	f->d = NULL;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct yh_cfg_err cerr;
	char err[512], dir[128];

	assert_non_null(f);
	snprintf(f->root, sizeof(f->root), "/tmp/yh-test-consent-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	assert_int_equal(ident_cfg_init(&f->cfg, &cerr), 0);
	snprintf(dir, sizeof(dir), "%s/state", f->root);
	assert_int_equal(yh_cfg_set(ident_cfg_opts, &f->cfg, "state_dir", dir, "test", &cerr), 0);
	assert_int_equal(yh_cfg_set(ident_cfg_opts, &f->cfg, "password.argon2_m_cost_kib", "64",
	    "test", &cerr), 0);
	assert_int_equal(ident_cfg_finish(&f->cfg, err, sizeof(err)), 0);
	fx_open(f, true);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[160];

	fx_close(f);
	ident_cfg_free(&f->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void
add_person(struct dir *d, int n, const char *name, char uid[DIR_UID_LEN + 1])
{
	struct dir_person p;
	char idnum[19];

	make_id(n, idnum);
	memset(&p, 0, sizeof(p));
	p.id_number = idnum;
	p.name = (char *)name;
	assert_int_equal(dir_person_add(d, &p, uid), 0);
}

/* ---- consent records ---- */

static void
test_records_round_trip(void **state)
{
	struct fx *f = *state;
	struct dir_consent *list = NULL;
	char uid[DIR_UID_LEN + 1], *sc = NULL;
	size_t n = 0;

	add_person(f->d, 1, "张三", uid);
	assert_int_equal(dir_consent_set(f->d, uid, "portal", "openid profile"), 0);
	assert_int_equal(dir_consent_set(f->d, uid, "portal", "yh_id_number profile"), 0);
	assert_int_equal(dir_consent_get(f->d, uid, "portal", &sc), 0);
	assert_string_equal(sc, "openid profile yh_id_number");
	free(sc);
	assert_int_equal(dir_consent_set(f->d, uid, "gjj.city", "openid"), 0);
	assert_int_equal(dir_consent_list(f->d, uid, &list, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].client_id, "gjj.city");
	assert_string_equal(list[1].client_id, "portal");
	dir_consent_list_free(list, n);

	/* Survives a reopen. */
	fx_close(f);
	fx_open(f, false);
	assert_int_equal(dir_consent_get(f->d, uid, "portal", &sc), 0);
	assert_string_equal(sc, "openid profile yh_id_number");
	free(sc);
	assert_int_equal(dir_consent_revoke(f->d, uid, "portal"), 0);
	assert_int_equal(dir_consent_get(f->d, uid, "portal", &sc), YH_ERR_NOT_FOUND);
	assert_int_equal(dir_consent_list(f->d, "0123456789abcdef0123456789abcdef", &list, &n),
	    0);
	assert_int_equal(n, 0);
	assert_null(list);
}

/*
 * A store made by the first program (schema version 1: no consent table) opens, keeps
 * its data and is migrated to the current version; a store from a newer program is
 * refused.
 */
static void
test_migration(void **state)
{
	struct fx *f = *state;
	struct dir_person p;
	char uid[DIR_UID_LEN + 1], *sc = NULL, err[512], sql[128];
	struct ident *id = NULL;

	add_person(f->d, 2, "李四", uid);
	fx_close(f);
	/* Turn the store into exactly what version 1 made. */
	raw_sql(f->cfg.sqlite_path, DIR_RAW_TO_V1);
	assert_int_equal(raw_int(f->cfg.sqlite_path,
	    "SELECT count(*) FROM sqlite_master WHERE name = 'consent'"), 0);

	fx_open(f, false);
	assert_int_equal(raw_int(f->cfg.sqlite_path, "SELECT value FROM meta WHERE key = "
	    "'schema_version'"), DIR_SQLITE_SCHEMA_VERSION);
	assert_int_equal(raw_int(f->cfg.sqlite_path,
	    "SELECT count(*) FROM sqlite_master WHERE name = 'consent'"), 1);
	assert_int_equal(dir_person_get(f->d, uid, &p), 0);
	assert_string_equal(p.name, "李四");
	dir_person_clear(&p);
	assert_int_equal(dir_consent_set(f->d, uid, "portal", "openid"), 0);
	assert_int_equal(dir_consent_get(f->d, uid, "portal", &sc), 0);
	assert_string_equal(sc, "openid");
	free(sc);
	fx_close(f);

	/* Opening again is a no-op: the data stays. */
	fx_open(f, false);
	assert_int_equal(dir_consent_get(f->d, uid, "portal", &sc), 0);
	free(sc);
	fx_close(f);

	/* A version from a newer program is refused, naming it. */
	snprintf(sql, sizeof(sql), "UPDATE meta SET value = '%d' WHERE key = 'schema_version'",
	    DIR_SQLITE_SCHEMA_VERSION + 1);
	raw_sql(f->cfg.sqlite_path, sql);
	assert_int_equal(ident_open(&f->cfg, false, &id, err, sizeof(err)), YH_ERR_UNSUPPORTED);
	assert_null(id);
	snprintf(sql, sizeof(sql), "schema version %d", DIR_SQLITE_SCHEMA_VERSION + 1);
	assert_non_null(strstr(err, sql));
	snprintf(sql, sizeof(sql), "UPDATE meta SET value = '%d' WHERE key = 'schema_version'",
	    DIR_SQLITE_SCHEMA_VERSION);
	raw_sql(f->cfg.sqlite_path, sql);
	fx_open(f, false);
}

/* ---- consent_granted ---- */

static void
test_covers(void **state)
{
	(void)state;
	assert_true(consent_covers("openid profile phone", "openid phone"));
	assert_true(consent_covers("openid profile", "  profile  openid "));
	assert_true(consent_covers("openid", ""));
	assert_true(consent_covers("", NULL));
	assert_false(consent_covers("openid profile", "openid yh_id_number"));
	assert_false(consent_covers("openid profile", "open"));
	assert_false(consent_covers("openid", "openid2"));
	assert_false(consent_covers("", "openid"));
	assert_false(consent_covers(NULL, "openid"));
}

/* ---- the QR code ---- */

/* Reads one unsigned decimal at *p. */
static int
num(const char **p)
{
	int v = 0;

	assert_true(**p >= '0' && **p <= '9');
	while (**p >= '0' && **p <= '9')
		v = v * 10 + (*(*p)++ - '0');
	return v;
}

static void
expect(const char **p, const char *s)
{
	size_t n = strlen(s);

	if (strncmp(*p, s, n) != 0)
		fail_msg("expected '%s' at '%.20s'", s, *p);
	*p += n;
}

/*
 * The SVG must be one well-formed element (no script, no external reference) whose path,
 * read back module by module, is exactly the QR code libqrencode makes for the text.
 */
static void
test_qr_svg(void **state)
{
	const char *uri = "otpauth://totp/Yihao:110101%2A%2A%2A%2A%2A%2A%2A%2A0011?secret="
	    "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Yihao&algorithm=SHA1&digits=6&period=30";
	struct yh_buf b;
	unsigned char *seen;
	const char *s, *p, *d;
	QRcode *q;
	int n, w, x, y, run, tags = 0;

	(void)state;
	yh_buf_init_secret(&b, 1 << 20);
	assert_int_equal(account_qr_svg(uri, 200, &b), 0);
	s = yh_buf_cstr(&b);
	q = QRcode_encodeString8bit(uri, 0, QR_ECLEVEL_M);
	assert_non_null(q);
	w = q->width;
	n = w + 8;

	/* Shape: <svg ...><rect .../><path ... d="..."/></svg>, tags balanced. */
	assert_true(strncmp(s, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39) == 0);
	assert_true(strlen(s) > 6 && strcmp(s + strlen(s) - 6, "</svg>") == 0);
	for (p = s; *p != '\0'; p++)
		tags += *p == '<' ? 1 : *p == '>' ? -1 : 0;
	assert_int_equal(tags, 0);
	assert_null(strstr(s, "script"));
	assert_null(strstr(s, "href"));
	assert_null(strstr(s, "style"));
	assert_null(strstr(strstr(s, "http:") + 1, "http:"));   /* only the namespace name */
	assert_non_null(strstr(s, "width=\"200\""));
	{
		char vb[64];

		snprintf(vb, sizeof(vb), "viewBox=\"0 0 %d %d\"", n, n);
		assert_non_null(strstr(s, vb));
	}
	assert_non_null(strstr(s, "<path"));
	assert_null(strstr(strstr(s, "<path") + 1, "<path"));

	/* Rasterize the path back. */
	seen = calloc((size_t)n * (size_t)n, 1);
	assert_non_null(seen);
	d = strstr(s, " d=\"");
	assert_non_null(d);
	p = d + 4;
	while (*p != '"') {
		expect(&p, "M");
		x = num(&p);
		expect(&p, " ");
		y = num(&p);
		expect(&p, "h");
		run = num(&p);
		expect(&p, "v1h-");
		assert_int_equal(num(&p), run);
		expect(&p, "z");
		assert_true(run > 0 && x >= 4 && y >= 4 && x + run <= w + 4 && y < w + 4);
		for (int i = 0; i < run; i++) {
			assert_int_equal(seen[(size_t)y * (size_t)n + (size_t)(x + i)], 0);
			seen[(size_t)y * (size_t)n + (size_t)(x + i)] = 1;
		}
	}
	expect(&p, "\"/></svg>");
	assert_int_equal(*p, '\0');
	for (y = 0; y < w; y++)
		for (x = 0; x < w; x++)
			assert_int_equal(seen[(size_t)(y + 4) * (size_t)n + (size_t)(x + 4)],
			    q->data[(size_t)y * (size_t)w + (size_t)x] & 1);
	free(seen);
	QRcode_free(q);
	yh_buf_free(&b);

	/* Refusals. */
	yh_buf_init(&b, 1 << 20);
	assert_int_equal(account_qr_svg("", 200, &b), YH_ERR_INVALID);
	assert_int_equal(account_qr_svg(uri, 10, &b), YH_ERR_INVALID);
	yh_buf_free(&b);
	yh_buf_init(&b, 64);
	assert_int_equal(account_qr_svg(uri, 200, &b), YH_ERR_TOO_LONG);
	yh_buf_free(&b);
}

/* ---- the pages, through a real server ---- */

#define REDIRECT "https://portal.example/cb"
#define PASSWORD "old-password-1"

struct hx {
	struct fx f;                    /* the directory */
	char issuer[64];
	struct sess_store *sess;
	struct clients_registry *clients;
	struct yh_audit *audit;
	struct wk_pool *workers;
	struct http_server *srv;
	struct authd_app app;
	char audit_path[128];
	char uid[DIR_UID_LEN + 1];
	char id_number[19];
	char stoken[SESS_TOKEN_SIZE];   /* the browser's session cookie */
	char sid[SESS_PUBID_SIZE];
	char csrf_cookie[128];          /* the browser's yh_csrf cookie */
	uint16_t port;
};

static struct hx *H;

static void
hx_client(struct hx *h)
{
	const char *uris[1] = { REDIRECT };
	struct clients_client c;
	char err[256];

	clients_client_init(&c);
	assert_int_equal(yh_strlcpy(c.id, "portal", sizeof(c.id)), 0);
	c.name = "市民之家";
	c.auth = CLIENTS_AUTH_NONE;
	c.require_pkce = true;
	c.redirect_uris = uris;
	c.n_redirect_uris = 1;
	c.scopes = CLIENTS_SCOPE_OPENID | CLIENTS_SCOPE_PROFILE | CLIENTS_SCOPE_PHONE |
	    CLIENTS_SCOPE_ID_NUMBER;
	c.allow_id_number = true;
	if (clients_add(h->clients, &c, NULL, err, sizeof(err)) != 0)
		fail_msg("clients_add: %s", err);
}

static void
hx_person(struct hx *h)
{
	struct pw_params pp;
	struct dir_person p;
	char *hash = NULL;

	make_id(123, h->id_number);
	memset(&p, 0, sizeof(p));
	p.id_number = h->id_number;
	p.name = (char *)"张三";
	p.phone = (char *)"13812345678";
	p.loa.level = 2;
	p.loa.method = (char *)"registry";
	assert_int_equal(dir_person_add(h->f.d, &p, h->uid), 0);
	pw_params_test(&pp);
	assert_int_equal(pw_hash(&pp, PASSWORD, strlen(PASSWORD), &hash), 0);
	assert_int_equal(dir_cred_set(h->f.d, h->uid, PW_SCHEME_ARGON2ID, hash, NULL), 0);
	free(hash);
}

/* A new session for the person; its cookie goes to token, its sid to sid. */
static void
hx_session(struct hx *h, char token[SESS_TOKEN_SIZE], char sid[SESS_PUBID_SIZE])
{
	const char *amr[1] = { "pwd" };
	struct sess_auth a;
	struct sess_info info;

	memset(&a, 0, sizeof(a));
	a.uid = h->uid;
	a.loa = 2;
	a.amr = amr;
	a.namr = 1;
	a.ua = "Mozilla/5.0 <test>";
	a.addr = "127.0.0.1";
	assert_int_equal(sess_create(h->sess, &a, token, &info), 0);
	if (sid != NULL)
		memcpy(sid, info.sid, SESS_PUBID_SIZE);
}

static int
hsetup(void **state)
{
	struct hx *h = calloc(1, sizeof(*h));
	struct clients_opts co = { .create = true, .check_interval_ms = -1 };
	struct sess_config sc;
	struct http_opts ho;
	char err[512], path[160];
	void *fs;

	assert_non_null(h);
	assert_int_equal(setup(&fs), 0);
	h->f = *(struct fx *)fs;
	free(fs);
	sess_config_defaults(&sc);
	sc.sweep_interval_ms = 0;
	assert_int_equal(sess_open(&sc, &h->sess), 0);
	snprintf(path, sizeof(path), "%s/state", h->f.root);
	assert_int_equal(clients_open(path, &co, &h->clients, err, sizeof(err)), 0);
	snprintf(h->audit_path, sizeof(h->audit_path), "%s/audit.log", h->f.root);
	assert_int_equal(yh_audit_open(h->audit_path, &h->audit, err, sizeof(err)), 0);
	assert_int_equal(wk_pool_new(1, 8, 0, &h->workers), 0);
	hx_client(h);
	hx_person(h);
	hx_session(h, h->stoken, h->sid);
	memset(&ho, 0, sizeof(ho));
	ho.listen = "127.0.0.1:0";
	ho.threads = 2;
	ho.max_body = 65536;
	ho.max_header = 16384;
	ho.connection_timeout = 10;
	ho.max_connections = 64;
	assert_int_equal(http_server_new(&ho, &h->srv, err, sizeof(err)), 0);
	h->port = http_server_port(h->srv);
	snprintf(h->issuer, sizeof(h->issuer), "http://127.0.0.1:%u", h->port);
	h->app.dir = h->f.d;
	h->app.ident = h->f.id;
	h->app.sess = h->sess;
	h->app.clients = h->clients;
	h->app.audit = h->audit;
	h->app.workers = h->workers;
	h->app.issuer = h->issuer;
	{
		unsigned char sk[KEYS_KEY_LEN];

		assert_int_equal(yh_random(sk, sizeof(sk)), 0);
		assert_int_equal(keys_local_new(sk, NULL, &h->app.keys), 0);
	}
	assert_int_equal(account_register(h->srv, &h->app), 0);
	assert_int_equal(consent_register(h->srv, &h->app), 0);
	assert_int_equal(http_server_start(h->srv, err, sizeof(err)), 0);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	H = h;
	*state = h;
	return 0;
}

static int
hteardown(void **state)
{
	struct hx *h = *state;
	struct fx *f = malloc(sizeof(*f));

	http_server_quiesce(h->srv);
	wk_pool_stop(h->workers);
	http_server_free(h->srv);
	wk_pool_free(h->workers);
	yh_audit_close(h->audit);
	clients_close(h->clients);
	sess_close(h->sess);
	keys_free(h->app.keys);
	curl_global_cleanup();
	assert_non_null(f);
	*f = h->f;
	free(h);
	*state = f;
	return teardown(state);
}

struct resp {
	long status;
	struct yh_buf body;
	struct yh_buf headers;
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
	memset(r, 0, sizeof(*r));
}

/* A request as the browser sends it: with its session and CSRF cookies (sid NULL: no
 * session cookie). body NULL = GET. */
static void
http(const char *path, const char *body, const char *sid, struct resp *out)
{
	CURL *c = curl_easy_init();
	char url[4096], cookie[256];

	memset(out, 0, sizeof(*out));
	yh_buf_init(&out->body, 1 << 20);
	yh_buf_init(&out->headers, 1 << 16);
	assert_non_null(c);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", H->port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	if (body != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	snprintf(cookie, sizeof(cookie), "yh_sid=%s; yh_csrf=%s", sid != NULL ? sid : "none",
	    H->csrf_cookie[0] != '\0' ? H->csrf_cookie : "none");
	curl_easy_setopt(c, CURLOPT_COOKIE, cookie);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out->body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &out->headers);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	curl_easy_cleanup(c);
}

/* A response header's value (first occurrence, case-insensitive name) into out. */
static bool
header(const struct resp *r, const char *name, char *out, size_t outsz)
{
	const char *h = yh_buf_cstr(&r->headers), *e;
	size_t n = strlen(name);

	for (; *h != '\0'; h = e + 1) {
		if ((e = strchr(h, '\n')) == NULL)
			return false;
		if (strncasecmp(h, name, n) == 0 && h[n] == ':') {
			h += n + 1;
			while (*h == ' ')
				h++;
			snprintf(out, outsz, "%.*s", (int)(e - h - (e > h && e[-1] == '\r')), h);
			return true;
		}
	}
	return false;
}

/* Remembers the yh_csrf cookie the server set, as a browser would. */
static void
keep_csrf_cookie(const struct resp *r)
{
	const char *p = strstr(yh_buf_cstr(&r->headers), "yh_csrf=");

	if (p != NULL)
		snprintf(H->csrf_cookie, sizeof(H->csrf_cookie), "%.*s", (int)strcspn(p + 8, ";\r\n"),
		    p + 8);
}

/* The page's form token (what the tests of the contract look for). */
static void
csrf_of(const struct resp *r, char *out, size_t outsz)
{
	const char *p = strstr(yh_buf_cstr(&r->body), "name=\"csrf\" value=\"");

	assert_non_null(p);
	p += strlen("name=\"csrf\" value=\"");
	snprintf(out, outsz, "%.*s", (int)strcspn(p, "\""), p);
}

/* GET /account as the logged-in browser; returns the form token in csrf. */
static void
load_account(char *csrf, size_t csrfsz)
{
	struct resp r;

	http("/account", NULL, H->stoken, &r);
	assert_int_equal(r.status, 200);
	keep_csrf_cookie(&r);
	csrf_of(&r, csrf, csrfsz);
	resp_free(&r);
}

static bool
audited(const char *event)
{
	char needle[64], buf[1 << 16];
	FILE *fp = fopen(H->audit_path, "r");
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	snprintf(needle, sizeof(needle), "\"event\":\"%s\"", event);
	return strstr(buf, needle) != NULL;
}

static void
test_account_page(void **state)
{
	struct hx *h = *state;
	char loc[512], csrf[128], body[512], other[SESS_TOKEN_SIZE], osid[SESS_PUBID_SIZE];
	struct sess_info si;
	struct resp r;

	/* No session: to the login page, coming back here. */
	http("/account", NULL, NULL, &r);
	assert_int_equal(r.status, 302);
	assert_true(header(&r, "Location", loc, sizeof(loc)));
	assert_string_equal(loc, "/login?next=%2Faccount");
	resp_free(&r);

	hx_session(h, other, osid);
	http("/account", NULL, h->stoken, &r);
	assert_int_equal(r.status, 200);
	/* Its forms are bound to the session: no pre-session cookie is needed or set. */
	assert_null(strstr(yh_buf_cstr(&r.headers), "yh_csrf="));
	assert_non_null(strstr(yh_buf_cstr(&r.body), "张三"));
	assert_non_null(strstr(yh_buf_cstr(&r.body), "110101********"));
	assert_null(strstr(yh_buf_cstr(&r.body), h->id_number));
	assert_non_null(strstr(yh_buf_cstr(&r.body), "138****5678"));
	assert_null(strstr(yh_buf_cstr(&r.body), "13812345678"));
	assert_non_null(strstr(yh_buf_cstr(&r.body), osid));
	/* The user agent is summarised, never shown raw: this one names no family known. */
	assert_null(strstr(yh_buf_cstr(&r.body), "Mozilla/5.0"));
	assert_non_null(strstr(yh_buf_cstr(&r.body), "<strong>其他浏览器 · 其他系统</strong>"));
	assert_true(header(&r, "Cache-Control", loc, sizeof(loc)));
	assert_non_null(strstr(loc, "no-store"));
	csrf_of(&r, csrf, sizeof(csrf));
	resp_free(&r);

	/* English on request. */
	http("/account?lang=en", NULL, h->stoken, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(yh_buf_cstr(&r.body), "My account"));
	resp_free(&r);

	/* A state change without the token, or with a wrong one, is refused. */
	snprintf(body, sizeof(body), "sid=%s", osid);
	http("/account/session/end", body, h->stoken, &r);
	assert_int_equal(r.status, 400);
	resp_free(&r);
	snprintf(body, sizeof(body), "sid=%s&csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    osid);
	http("/account/session/end", body, h->stoken, &r);
	assert_int_equal(r.status, 400);
	resp_free(&r);
	assert_int_equal(sess_get(h->sess, other, 0, &si), 0);

	/* A yh_csrf cookie of the sender's choosing with the token that goes with it (what
	 * a planted cookie gives an attacker): refused, for this form and for TOTP set-up. */
	{
		char planted[CSRF_TOKEN_SIZE];

		assert_int_equal(csrf_cookie_new(h->csrf_cookie), 0);
		assert_int_equal(csrf_token_make(h->app.keys, CSRF_BIND_PRE, h->csrf_cookie, "account",
		    planted), 0);
		snprintf(body, sizeof(body), "sid=%s&csrf=%s", osid, planted);
		http("/account/session/end", body, h->stoken, &r);
		assert_int_equal(r.status, 400);
		resp_free(&r);
		snprintf(body, sizeof(body), "csrf=%s", planted);
		http("/account/totp/new", body, h->stoken, &r);
		assert_int_equal(r.status, 400);
		resp_free(&r);
		h->csrf_cookie[0] = '\0';
	}
	assert_int_equal(sess_get(h->sess, other, 0, &si), 0);

	/* With it, the other session ends; this one stays. */
	snprintf(body, sizeof(body), "sid=%s&csrf=%s", osid, csrf);
	http("/account/session/end", body, h->stoken, &r);
	assert_int_equal(r.status, 303);
	assert_true(header(&r, "Location", loc, sizeof(loc)));
	assert_string_equal(loc, "/account?done=ended");
	resp_free(&r);
	assert_int_equal(sess_get(h->sess, other, 0, &si), YH_ERR_NOT_FOUND);
	assert_int_equal(sess_get(h->sess, h->stoken, 0, &si), 0);
	assert_true(audited("session.end"));

	/* A POST without a session goes to the login page too. */
	http("/account/session/end-others", body, NULL, &r);
	assert_int_equal(r.status, 303);
	resp_free(&r);
}

static void
test_end_others_and_all(void **state)
{
	struct hx *h = *state;
	char csrf[128], body[256], loc[256], a[SESS_TOKEN_SIZE], b[SESS_TOKEN_SIZE];
	struct sess_info si;
	struct resp r;

	hx_session(h, a, NULL);
	hx_session(h, b, NULL);
	load_account(csrf, sizeof(csrf));
	snprintf(body, sizeof(body), "csrf=%s", csrf);
	http("/account/session/end-others", body, h->stoken, &r);
	assert_int_equal(r.status, 303);
	resp_free(&r);
	assert_int_equal(sess_get(h->sess, a, 0, &si), YH_ERR_NOT_FOUND);
	assert_int_equal(sess_get(h->sess, b, 0, &si), YH_ERR_NOT_FOUND);
	assert_int_equal(sess_get(h->sess, h->stoken, 0, &si), 0);

	http("/account/session/end-all", body, h->stoken, &r);
	assert_int_equal(r.status, 303);
	assert_true(header(&r, "Location", loc, sizeof(loc)));
	assert_string_equal(loc, "/login?next=%2Faccount");
	assert_non_null(strstr(yh_buf_cstr(&r.headers), "yh_sid="));
	assert_non_null(strstr(yh_buf_cstr(&r.headers), "Max-Age=0"));
	resp_free(&r);
	assert_int_equal(sess_get(h->sess, h->stoken, 0, &si), YH_ERR_NOT_FOUND);
}

/* The /authorize request the consent page is given (percent-encoded as next). */
static const char *
authz_next(bool encoded, const char *prompt)
{
	static char raw[1024], enc[2048];
	char *e;

	snprintf(raw, sizeof(raw), "/authorize?response_type=code&client_id=portal"
	    "&redirect_uri=https%%3A%%2F%%2Fportal.example%%2Fcb&scope=openid%%20profile%%20"
	    "yh_id_number%%20email&state=st%%26ate&code_challenge=abc%s%s",
	    prompt != NULL ? "&prompt=" : "", prompt != NULL ? prompt : "");
	if (!encoded)
		return raw;
	e = curl_easy_escape(NULL, raw, 0);
	snprintf(enc, sizeof(enc), "%s", e);
	curl_free(e);
	return enc;
}

static void
test_consent_flow(void **state)
{
	struct hx *h = *state;
	char path[4096], body[4096], loc[4096], csrf[128], expect[4096];
	bool g = false;
	struct resp r;

	/* No session: log in first, then come back to /authorize. */
	snprintf(path, sizeof(path), "/consent?next=%s", authz_next(true, NULL));
	http(path, NULL, NULL, &r);
	assert_int_equal(r.status, 302);
	assert_true(header(&r, "Location", loc, sizeof(loc)));
	snprintf(expect, sizeof(expect), "/login?next=%s", authz_next(true, NULL));
	assert_string_equal(loc, expect);
	resp_free(&r);

	/* The page: the app's name and what it asks for, the ID number masked. */
	http(path, NULL, h->stoken, &r);
	assert_int_equal(r.status, 200);
	keep_csrf_cookie(&r);
	assert_non_null(strstr(yh_buf_cstr(&r.body), "市民之家"));
	assert_non_null(strstr(yh_buf_cstr(&r.body), "110101********"));
	assert_null(strstr(yh_buf_cstr(&r.body), h->id_number));
	assert_non_null(strstr(yh_buf_cstr(&r.body), "张三"));
	/* email is not among the client's scopes: not asked. */
	assert_null(strstr(yh_buf_cstr(&r.body), "电子邮箱"));
	/* One line per claim, the colon right after the words, a masked value said to be
	 * masked when the app gets all of it. */
	assert_non_null(strstr(yh_buf_cstr(&r.body), "<span class=\"claim\">姓名：</span>张三"));
	assert_non_null(strstr(yh_buf_cstr(&r.body), "<span class=\"claim\">手机号码（隐去中间四位）："
	    "</span>138****5678</li>"));
	assert_non_null(strstr(yh_buf_cstr(&r.body), "<span class=\"claim\">完整居民身份证号码："
	    "</span>110101********"));
	assert_non_null(strstr(yh_buf_cstr(&r.body), "（此处部分隐去，应用将获得完整号码）"));
	csrf_of(&r, csrf, sizeof(csrf));
	resp_free(&r);

	/* Deny: straight back to the app with access_denied, state and iss. */
	snprintf(body, sizeof(body), "action=deny&csrf=%s&next=%s", csrf,
	    authz_next(true, NULL));
	http("/consent", body, h->stoken, &r);
	assert_int_equal(r.status, 303);
	assert_true(header(&r, "Location", loc, sizeof(loc)));
	assert_non_null(strstr(loc, REDIRECT "?error=access_denied"));
	assert_non_null(strstr(loc, "&state=st%26ate"));
	snprintf(expect, sizeof(expect), "&iss=http%%3A%%2F%%2F127.0.0.1%%3A%u", h->port);
	assert_non_null(strstr(loc, expect));
	resp_free(&r);
	assert_int_equal(consent_granted(&h->app, h->uid, "portal", "openid", &g), 0);
	assert_false(g);

	/* Without the token: refused, nothing recorded. */
	snprintf(body, sizeof(body), "action=allow&next=%s", authz_next(true, NULL));
	http("/consent", body, h->stoken, &r);
	assert_int_equal(r.status, 400);
	resp_free(&r);

	/* Allow: remembered (only what the client may get), audited, back to /authorize
	 * without prompt=consent. */
	snprintf(body, sizeof(body), "action=allow&csrf=%s&next=%s", csrf,
	    authz_next(true, "consent"));
	http("/consent", body, h->stoken, &r);
	assert_int_equal(r.status, 303);
	assert_true(header(&r, "Location", loc, sizeof(loc)));
	assert_string_equal(loc, authz_next(false, NULL));
	resp_free(&r);
	assert_int_equal(consent_granted(&h->app, h->uid, "portal", "openid profile yh_id_number",
	    &g), 0);
	assert_true(g);
	assert_int_equal(consent_granted(&h->app, h->uid, "portal", "phone", &g), 0);
	assert_false(g);
	{
		char *sc = NULL;

		/* email was asked for but the client may not have it: not recorded. */
		assert_int_equal(dir_consent_get(h->f.d, h->uid, "portal", &sc), 0);
		assert_string_equal(sc, "openid profile yh_id_number");
		free(sc);
	}
	/* The account page names what was allowed in the consent page's words. */
	http("/account", NULL, h->stoken, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(yh_buf_cstr(&r.body), "：账号标识（仅本应用可见的匿名编号）、"
	    "登录方式和认证等级；姓名；手机号码（隐去中间四位）；完整居民身份证号码 <span"));
	resp_free(&r);
	assert_true(audited("consent.grant"));

	/* prompt=login consent keeps login. */
	snprintf(body, sizeof(body), "action=allow&csrf=%s&next=%s", csrf,
	    authz_next(true, "login%20consent"));
	http("/consent", body, h->stoken, &r);
	assert_int_equal(r.status, 303);
	assert_true(header(&r, "Location", loc, sizeof(loc)));
	assert_string_equal(loc, authz_next(false, "login"));
	resp_free(&r);

	/* My apps: listed, then revoked. */
	load_account(csrf, sizeof(csrf));
	http("/account", NULL, h->stoken, &r);
	assert_non_null(strstr(yh_buf_cstr(&r.body), "市民之家"));
	resp_free(&r);
	snprintf(body, sizeof(body), "client_id=portal&csrf=%s", csrf);
	http("/account/app/revoke", body, h->stoken, &r);
	assert_int_equal(r.status, 303);
	resp_free(&r);
	assert_int_equal(consent_granted(&h->app, h->uid, "portal", "openid", &g), 0);
	assert_false(g);
	assert_true(audited("consent.revoke"));
}

static void
test_consent_refusals(void **state)
{
	struct hx *h = *state;
	char path[4096], loc[256];
	struct resp r;
	const char *bad[] = {
		/* not /authorize */
		"/consent?next=https%3A%2F%2Fevil.example%2F",
		"/consent?next=%2Faccount",
		/* a redirect URI the client did not register: no redirect at all */
		"/consent?next=%2Fauthorize%3Fclient_id%3Dportal%26redirect_uri%3Dhttps%253A%252F"
		    "%252Fevil.example%252Fcb%26scope%3Dopenid",
		/* an unknown client */
		"/consent?next=%2Fauthorize%3Fclient_id%3Dnobody%26redirect_uri%3Dhttps%253A%252F"
		    "%252Fportal.example%252Fcb%26scope%3Dopenid",
		"/consent",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "%s", bad[i]);
		http(path, NULL, h->stoken, &r);
		assert_int_equal(r.status, 400);
		assert_false(header(&r, "Location", loc, sizeof(loc)));
		resp_free(&r);
	}
	/* A deny with a tampered redirect URI is refused too (re-checked on POST). */
	http("/consent", "action=deny&csrf=x&next=%2Fauthorize%3Fclient_id%3Dportal"
	    "%26redirect_uri%3Dhttps%253A%252F%252Fevil.example%252Fcb", h->stoken, &r);
	assert_int_equal(r.status, 400);
	assert_false(header(&r, "Location", loc, sizeof(loc)));
	resp_free(&r);
}

/* consent_granted: what /authorize asks before it issues a code. */
static void
test_granted(void **state)
{
	struct hx *h = *state;
	struct authd_app *app = &h->app;
	bool g = true;

	assert_int_equal(consent_granted(app, h->uid, "portal", "openid profile", &g), 0);
	assert_false(g);
	assert_int_equal(dir_consent_set(h->f.d, h->uid, "portal", "openid profile"), 0);
	assert_int_equal(consent_granted(app, h->uid, "portal", "openid profile", &g), 0);
	assert_true(g);
	assert_int_equal(consent_granted(app, h->uid, "portal", "profile", &g), 0);
	assert_true(g);
	/* Asking for more than was allowed needs consent again. */
	assert_int_equal(consent_granted(app, h->uid, "portal", "openid yh_id_number", &g), 0);
	assert_false(g);
	/* Names the client may not have (email) or nobody knows need no consent: they
	 * are never granted. */
	assert_int_equal(consent_granted(app, h->uid, "portal", "openid email x-unknown", &g),
	    0);
	assert_true(g);
	/* Nothing asked: nothing to consent to. */
	assert_int_equal(consent_granted(app, h->uid, "portal", "", &g), 0);
	assert_true(g);
	assert_int_equal(consent_granted(app, h->uid, "portal", NULL, &g), 0);
	assert_true(g);
	/* Errors leave it false. */
	assert_int_equal(consent_granted(app, h->uid, "nobody", "openid", &g), YH_ERR_NOT_FOUND);
	assert_false(g);
	g = true;
	assert_int_equal(consent_granted(app, "bad", "portal", "openid", &g), YH_ERR_INVALID);
	assert_false(g);
	g = true;
	assert_int_equal(consent_granted(app, h->uid, "portal", "open\"id", &g), YH_ERR_INVALID);
	assert_false(g);
	/* Consent is per person. */
	{
		char other[DIR_UID_LEN + 1];

		add_person(h->f.d, 7, "赵六", other);
		assert_int_equal(consent_granted(app, other, "portal", "openid", &g), 0);
		assert_false(g);
	}
	assert_int_equal(dir_consent_revoke(h->f.d, h->uid, "portal"), 0);
	assert_int_equal(consent_granted(app, h->uid, "portal", "openid", &g), 0);
	assert_false(g);
}

static void
test_totp_enrolment(void **state)
{
	struct hx *h = *state;
	char csrf[128], body[256], loc[256], code[16];
	struct dir_totp t;
	struct resp r;

	load_account(csrf, sizeof(csrf));
	http("/account/totp", NULL, h->stoken, &r);
	assert_int_equal(r.status, 303);   /* nothing to show yet */
	resp_free(&r);
	snprintf(body, sizeof(body), "csrf=%s", csrf);
	http("/account/totp/new", body, h->stoken, &r);
	assert_int_equal(r.status, 303);
	assert_true(header(&r, "Location", loc, sizeof(loc)));
	assert_string_equal(loc, "/account/totp");
	resp_free(&r);
	assert_int_equal(dir_totp_get(h->f.d, h->uid, &t), 0);
	assert_false(t.confirmed);

	http("/account/totp", NULL, h->stoken, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(yh_buf_cstr(&r.body), "<svg xmlns=\"http://www.w3.org/2000/svg\""));
	assert_non_null(strstr(yh_buf_cstr(&r.body), "class=\"secret\""));
	assert_null(strstr(yh_buf_cstr(&r.body), "<script"));
	resp_free(&r);

	/* A wrong code keeps it unconfirmed. */
	snprintf(body, sizeof(body), "csrf=%s&code=000000", csrf);
	assert_int_equal(totp_generate(t.seed, t.seed_len, time(NULL), 6, code, sizeof(code)), 0);
	if (strcmp(code, "000000") != 0) {
		http("/account/totp/confirm", body, h->stoken, &r);
		assert_int_equal(r.status, 400);
		resp_free(&r);
	}
	snprintf(body, sizeof(body), "csrf=%s&code=%s", csrf, code);
	http("/account/totp/confirm", body, h->stoken, &r);
	assert_int_equal(r.status, 303);
	assert_true(header(&r, "Location", loc, sizeof(loc)));
	assert_string_equal(loc, "/account?done=totp");
	resp_free(&r);
	dir_totp_clear(&t);
	assert_int_equal(dir_totp_get(h->f.d, h->uid, &t), 0);
	assert_true(t.confirmed);
	dir_totp_clear(&t);
	assert_true(audited("totp.enrol"));

	/* A second enrolment does not replace a confirmed one. */
	snprintf(body, sizeof(body), "csrf=%s", csrf);
	http("/account/totp/new", body, h->stoken, &r);
	assert_true(header(&r, "Location", loc, sizeof(loc)));
	assert_string_equal(loc, "/account?done=totp-exists");
	resp_free(&r);

	/* Removal needs a current code (the last one is used up: replay refused). */
	snprintf(body, sizeof(body), "csrf=%s&code=%s", csrf, code);
	http("/account/totp/remove", body, h->stoken, &r);
	assert_int_equal(r.status, 400);
	resp_free(&r);
	assert_int_equal(dir_totp_get(h->f.d, h->uid, &t), 0);
	assert_true(t.confirmed);
	assert_int_equal(totp_generate(t.seed, t.seed_len, time(NULL) + 30, 6, code,
	    sizeof(code)), 0);
	dir_totp_clear(&t);
	snprintf(body, sizeof(body), "csrf=%s&code=%s", csrf, code);
	http("/account/totp/remove", body, h->stoken, &r);
	assert_int_equal(r.status, 303);
	resp_free(&r);
	assert_int_equal(dir_totp_get(h->f.d, h->uid, &t), YH_ERR_NOT_FOUND);
}

static void
test_password_change(void **state)
{
	struct hx *h = *state;
	char csrf[128], body[512], loc[256], other[SESS_TOKEN_SIZE];
	struct sess_info si;
	struct dir_cred c;
	struct resp r;

	hx_session(h, other, NULL);
	load_account(csrf, sizeof(csrf));
	/* Policy and mismatch are answered before any hashing. */
	snprintf(body, sizeof(body), "csrf=%s&current=%s&password=short1&password2=short1", csrf,
	    PASSWORD);
	http("/account/password", body, h->stoken, &r);
	assert_int_equal(r.status, 400);
	resp_free(&r);
	snprintf(body, sizeof(body), "csrf=%s&current=%s&password=new-password-2&password2="
	    "new-password-3", csrf, PASSWORD);
	http("/account/password", body, h->stoken, &r);
	assert_int_equal(r.status, 400);
	resp_free(&r);
	/* A wrong current password. */
	snprintf(body, sizeof(body), "csrf=%s&current=wrong-password&password=new-password-2"
	    "&password2=new-password-2", csrf);
	http("/account/password", body, h->stoken, &r);
	assert_int_equal(r.status, 400);
	resp_free(&r);
	assert_int_equal(sess_get(h->sess, other, 0, &si), 0);
	/* The real change: new hash stored, other sessions ended, this one kept. */
	snprintf(body, sizeof(body), "csrf=%s&current=%s&password=new-password-2&password2="
	    "new-password-2", csrf, PASSWORD);
	http("/account/password", body, h->stoken, &r);
	assert_int_equal(r.status, 303);
	assert_true(header(&r, "Location", loc, sizeof(loc)));
	assert_string_equal(loc, "/account?done=password");
	resp_free(&r);
	assert_int_equal(dir_cred_get(h->f.d, h->uid, &c), 0);
	assert_int_equal(pw_verify(c.scheme, c.hash, c.salt, "new-password-2", 14, NULL, NULL), 0);
	assert_int_equal(pw_verify(c.scheme, c.hash, c.salt, PASSWORD, strlen(PASSWORD), NULL,
	    NULL), YH_ERR_AUTH);
	dir_cred_clear(&c);
	assert_int_equal(sess_get(h->sess, other, 0, &si), YH_ERR_NOT_FOUND);
	assert_int_equal(sess_get(h->sess, h->stoken, 0, &si), 0);
	assert_true(audited("password.change"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_covers),
		cmocka_unit_test(test_qr_svg),
		cmocka_unit_test_setup_teardown(test_records_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_account_page, hsetup, hteardown),
		cmocka_unit_test_setup_teardown(test_end_others_and_all, hsetup, hteardown),
		cmocka_unit_test_setup_teardown(test_consent_flow, hsetup, hteardown),
		cmocka_unit_test_setup_teardown(test_consent_refusals, hsetup, hteardown),
		cmocka_unit_test_setup_teardown(test_granted, hsetup, hteardown),
		cmocka_unit_test_setup_teardown(test_totp_enrolment, hsetup, hteardown),
		cmocka_unit_test_setup_teardown(test_password_change, hsetup, hteardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
