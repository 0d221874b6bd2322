/*
 * Unit tests for SMS codes (authd/login/smscode.c) and the SMS gateway (federation/sms.c): codes are six digits,
 * kept only as a digest bound to purpose, phone and browser, single use, gone after
 * sms.code_lifetime; wrong codes lock a phone's codes; the resend interval, the daily
 * count per phone and the hourly count per address hold; the file driver writes one
 * JSON line and the audit line masks the phone; the http driver's failures are results.
 * The store's short codes themselves are test_sess's (both backends).
 * Time is the store's injected clock (sess_config.now_ms), moved on instead of slept.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "authcore/audit/audit.h"
#include "authcore/authd_config.h"
#include "authd/app.h"
#include "authd/keyd/keys.h"
#include "authd/login/login.h"
#include "common/secmem.h"
#include "common/timeutil.h"
#include "federation/sms.h"

#define BROWSER "b4bbd5d2-browser-cookie-value-0123456789abc"
#define OTHER_BROWSER "another-browser-cookie-value-0123456789abcd"

struct h {
	struct authd_app app;
	struct yh_audit *audit;
	int64_t base;
	atomic_llong off;
	char dir[64];
	char pname[LOGIN_SMS_NAME_SIZE], pname2[LOGIN_SMS_NAME_SIZE];
};

static int64_t
h_now(void *ctx)
{
	struct h *h = ctx;

	return h->base + (int64_t)atomic_load(&h->off);
}

static void
advance(struct h *h, int64_t s)
{
	atomic_fetch_add(&h->off, s * 1000);
}

static int
setup(void **state)
{
	struct h *h = calloc(1, sizeof(*h));
	unsigned char sk[KEYS_KEY_LEN];
	struct sess_config sc;
	char path[128], err[256];

	if (h == NULL)
		return -1;
	h->base = yh_now_ms();
	snprintf(h->dir, sizeof(h->dir), "/tmp/yh_sms_XXXXXX");
	if (mkdtemp(h->dir) == NULL)
		return -1;
	sess_config_defaults(&sc);
	sc.sweep_interval_ms = 0;
	sc.now_ms = h_now;
	sc.clock_ctx = h;
	if (sess_open(&sc, &h->app.sess) != 0 || yh_random(sk, sizeof(sk)) != 0 ||
	    keys_local_new(sk, NULL, &h->app.keys) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/audit.log", h->dir);
	if (yh_audit_open(path, &h->audit, err, sizeof(err)) != 0)
		return -1;
	h->app.audit = h->audit;
	if (login_sms_phone_name(&h->app, "13800138000", h->pname) != 0 ||
	    login_sms_phone_name(&h->app, "13900139000", h->pname2) != 0)
		return -1;
	*state = h;
	return 0;
}

static int
teardown(void **state)
{
	struct h *h = *state;
	char cmd[128];

	fed_sms_free(h->app.sms);
	yh_audit_close(h->audit);
	keys_free(h->app.keys);
	sess_close(h->app.sess);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", h->dir);
	free(h);
	return system(cmd) == 0 ? 0 : -1;
}

/* The value of a string of decimal digits. */
static int
digits(const char *s)
{
	int v = 0;

	for (; *s != '\0'; s++)
		v = v * 10 + (*s - '0');
	return v;
}

static const struct authd_cfg *
cfg(void)
{
	return authd_cfg_builtin();
}

/* A phone's name is keyed, stable, and not the name a login form's identifier gets. */
static void
test_phone_name(void **state)
{
	struct h *h = *state;
	char again[LOGIN_SMS_NAME_SIZE], plain[2 * KEYS_MAC_LEN + 1];
	unsigned char mac[KEYS_MAC_LEN];

	assert_int_equal(strlen(h->pname), 64);
	assert_int_equal(login_sms_phone_name(&h->app, "13800138000", again), 0);
	assert_string_equal(again, h->pname);
	assert_string_not_equal(h->pname, h->pname2);
	assert_int_equal(keys_mac(h->app.keys, KEYS_MAC_LOGIN_NAME, "13800138000", 11, mac), 0);
	yh_hex_encode(mac, sizeof(mac), plain);
	assert_string_not_equal(plain, h->pname);
	assert_int_equal(login_sms_phone_name(&h->app, "", again), YH_ERR_INVALID);
}

/* Six digits, and not always the same ones. */
static void
test_code_form(void **state)
{
	struct h *h = *state;
	char code[LOGIN_SMS_CODE_SIZE], first[LOGIN_SMS_CODE_SIZE];
	bool differ = false;

	for (int i = 0; i < 20; i++) {
		assert_int_equal(login_sms_code_new(&h->app, LOGIN_SMS_LOGIN, h->pname, BROWSER,
		    "uid-1", code), 0);
		assert_int_equal(strlen(code), 6);
		for (int k = 0; k < 6; k++)
			assert_true(code[k] >= '0' && code[k] <= '9');
		if (i == 0)
			memcpy(first, code, sizeof(code));
		else if (strcmp(first, code) != 0)
			differ = true;
	}
	assert_true(differ);
	assert_int_equal(login_sms_code_new(&h->app, LOGIN_SMS_LOGIN, h->pname, "", "u", code),
	    YH_ERR_INVALID);
}

/* Once: the payload the first time, a replay after, and the lock counts it. */
static void
test_single_use(void **state)
{
	struct h *h = *state;
	char code[LOGIN_SMS_CODE_SIZE];
	char *payload = NULL;

	assert_int_equal(login_sms_code_new(&h->app, LOGIN_SMS_LOGIN, h->pname, BROWSER, "uid-7",
	    code), 0);
	assert_int_equal(login_sms_code_check(&h->app, LOGIN_SMS_LOGIN, h->pname, BROWSER, code,
	    &payload), 0);
	assert_string_equal(payload, "uid-7");
	free(payload);
	assert_int_equal(login_sms_code_check(&h->app, LOGIN_SMS_LOGIN, h->pname, BROWSER, code,
	    &payload), YH_ERR_REPLAY);
	assert_null(payload);
}

/* Bound: another purpose, phone or browser finds nothing, and does not use it up. */
static void
test_binding(void **state)
{
	struct h *h = *state;
	char code[LOGIN_SMS_CODE_SIZE];
	char *payload = NULL;

	assert_int_equal(login_sms_code_new(&h->app, LOGIN_SMS_VERIFY, h->pname, BROWSER, "p",
	    code), 0);
	assert_int_equal(login_sms_code_check(&h->app, LOGIN_SMS_LOGIN, h->pname, BROWSER, code,
	    &payload), YH_ERR_AUTH);
	assert_int_equal(login_sms_code_check(&h->app, LOGIN_SMS_RECOVER, h->pname, BROWSER, code,
	    &payload), YH_ERR_AUTH);
	assert_int_equal(login_sms_code_check(&h->app, LOGIN_SMS_VERIFY, h->pname2, BROWSER, code,
	    &payload), YH_ERR_AUTH);
	assert_int_equal(login_sms_code_check(&h->app, LOGIN_SMS_VERIFY, h->pname, OTHER_BROWSER,
	    code, &payload), YH_ERR_AUTH);
	assert_null(payload);
	assert_int_equal(login_sms_code_check(&h->app, LOGIN_SMS_VERIFY, h->pname, BROWSER, code,
	    &payload), 0);
	free(payload);
}

/* Gone after sms.code_lifetime, good just before. */
static void
test_expiry(void **state)
{
	struct h *h = *state;
	char code[LOGIN_SMS_CODE_SIZE], code2[LOGIN_SMS_CODE_SIZE];
	char *payload = NULL;

	assert_int_equal(login_sms_code_new(&h->app, LOGIN_SMS_LOGIN, h->pname, BROWSER, "u",
	    code), 0);
	assert_int_equal(login_sms_code_new(&h->app, LOGIN_SMS_LOGIN, h->pname2, BROWSER, "u",
	    code2), 0);
	advance(h, cfg()->sms_code_lifetime - 1);
	assert_int_equal(login_sms_code_check(&h->app, LOGIN_SMS_LOGIN, h->pname2, BROWSER, code2,
	    &payload), 0);
	free(payload);
	advance(h, 2);
	assert_int_equal(login_sms_code_check(&h->app, LOGIN_SMS_LOGIN, h->pname, BROWSER, code,
	    &payload), YH_ERR_AUTH);
	assert_null(payload);
}

/* sms.max_failures wrong codes lock the phone's codes, the right one included, for the
 * TOTP lockout; the other phone is not locked. */
static void
test_wrong_codes_lock(void **state)
{
	struct h *h = *state;
	char code[LOGIN_SMS_CODE_SIZE], wrong[LOGIN_SMS_CODE_SIZE], code2[LOGIN_SMS_CODE_SIZE];
	char *payload = NULL;
	struct login_policy pol;
	int64_t n = cfg()->sms_max_failures;

	login_policy_get(&h->app, &pol);
	assert_int_equal(login_sms_code_new(&h->app, LOGIN_SMS_LOGIN, h->pname, BROWSER, "u",
	    code), 0);
	assert_int_equal(login_sms_code_new(&h->app, LOGIN_SMS_LOGIN, h->pname2, BROWSER, "u2",
	    code2), 0);
	snprintf(wrong, sizeof(wrong), "%06u", (unsigned)(digits(code) + 1) % 1000000u);
	for (int64_t i = 1; i < n; i++)
		assert_int_equal(login_sms_code_check(&h->app, LOGIN_SMS_LOGIN, h->pname, BROWSER,
		    wrong, &payload), YH_ERR_AUTH);
	assert_int_equal(login_sms_code_check(&h->app, LOGIN_SMS_LOGIN, h->pname, BROWSER,
	    "12ab56", &payload), YH_ERR_LOCKED);
	assert_int_equal(login_sms_code_check(&h->app, LOGIN_SMS_LOGIN, h->pname, BROWSER, code,
	    &payload), YH_ERR_LOCKED);
	assert_int_equal(login_sms_code_check(&h->app, LOGIN_SMS_LOGIN, h->pname2, BROWSER, code2,
	    &payload), 0);
	free(payload);
	advance(h, pol.otp_lockout_s + 1);
	assert_int_equal(login_sms_code_new(&h->app, LOGIN_SMS_LOGIN, h->pname, BROWSER, "u",
	    code), 0);
	assert_int_equal(login_sms_code_check(&h->app, LOGIN_SMS_LOGIN, h->pname, BROWSER, code,
	    &payload), 0);
	free(payload);
}

/* One per sms.resend_interval, sms.max_per_phone a day; the wait is told. */
static void
test_phone_limits(void **state)
{
	struct h *h = *state;
	int64_t wait = 0, gap = cfg()->sms_resend_interval;

	assert_int_equal(login_sms_allow(&h->app, h->pname, "192.0.2.1", &wait), 0);
	assert_int_equal(wait, gap);
	assert_int_equal(login_sms_allow(&h->app, h->pname, "192.0.2.2", &wait), YH_ERR_LOCKED);
	assert_true(wait > 0 && wait <= gap);
	advance(h, gap - 10);
	assert_int_equal(login_sms_allow(&h->app, h->pname, "192.0.2.1", &wait), YH_ERR_LOCKED);
	assert_true(wait > 0 && wait <= 10);
	advance(h, 10);
	for (int64_t i = 1; i < cfg()->sms_max_per_phone; i++) {
		assert_int_equal(login_sms_allow(&h->app, h->pname, "192.0.2.1", &wait), 0);
		advance(h, gap);
	}
	assert_int_equal(login_sms_allow(&h->app, h->pname, "192.0.2.1", &wait), YH_ERR_LOCKED);
	assert_true(wait > LOGIN_SMS_DAY_S - 2 * 3600);
	/* another phone from the same address is not held by this one's count */
	assert_int_equal(login_sms_allow(&h->app, h->pname2, "192.0.2.1", &wait), 0);
	advance(h, LOGIN_SMS_DAY_S);
	assert_int_equal(login_sms_allow(&h->app, h->pname, "192.0.2.1", &wait), 0);
}

/* sms.max_per_address codes an hour from one address, whatever the phones. */
static void
test_address_limit(void **state)
{
	struct h *h = *state;
	char pn[LOGIN_SMS_NAME_SIZE], phone[16];
	int64_t wait = 0, n = cfg()->sms_max_per_address;

	for (int64_t i = 0; i < n; i++) {
		snprintf(phone, sizeof(phone), "1360000%04d", (int)i);
		assert_int_equal(login_sms_phone_name(&h->app, phone, pn), 0);
		assert_int_equal(login_sms_allow(&h->app, pn, "198.51.100.7", &wait), 0);
	}
	assert_int_equal(login_sms_allow(&h->app, h->pname, "198.51.100.7", &wait), YH_ERR_LOCKED);
	assert_true(wait > 0 && wait <= LOGIN_SMS_ADDR_WINDOW_S);
	assert_int_equal(login_sms_allow(&h->app, h->pname, "198.51.100.8", &wait), 0);
	advance(h, LOGIN_SMS_ADDR_WINDOW_S);
	assert_int_equal(login_sms_allow(&h->app, h->pname2, "198.51.100.7", &wait), 0);
}

/* True when the file at path holds needle. */
static bool
file_has(const char *path, const char *needle)
{
	char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

/* The file driver: one JSON line with the phone and the catalog's text holding the code;
 * the audit line has the phone masked. */
static void
test_deliver_file(void **state)
{
	struct h *h = *state;
	struct fed_sms_cfg c;
	struct fed_sms_result res;
	char file[128], audit[128], err[256], line[128];

	memset(&c, 0, sizeof(c));
	snprintf(file, sizeof(file), "%s/sms.jsonl", h->dir);
	snprintf(audit, sizeof(audit), "%s/audit.log", h->dir);
	c.driver = "file";
	c.file = file;
	assert_int_equal(fed_sms_new(&c, &h->app.sms, err, sizeof(err)), 0);
	assert_int_equal(login_sms_deliver(&h->app, PAGE_LANG_ZH, LOGIN_SMS_LOGIN, "13800138000",
	    "uid-9", "654321", true, &res), 0);
	assert_true(res.sent);
	snprintf(line, sizeof(line), "{\"phone\":\"13800138000\",\"text\":\"");
	assert_true(file_has(file, line));
	assert_true(file_has(file, "654321"));
	assert_true(file_has(file, "【一号】"));
	assert_int_equal(login_sms_deliver(&h->app, PAGE_LANG_EN, LOGIN_SMS_RECOVER,
	    "13800138000", NULL, "111222", true, &res), 0);
	assert_true(file_has(file, "[Yihao] Your account recovery code is 111222"));
	assert_true(file_has(audit, "\"event\":\"sms.send\""));
	assert_true(file_has(audit, "138****8000"));
	assert_false(file_has(audit, "13800138000"));
	assert_false(file_has(audit, "654321"));
}

/* No driver: nothing to send with. */
static void
test_no_driver(void **state)
{
	struct h *h = *state;

	assert_int_equal(login_sms_deliver(&h->app, PAGE_LANG_ZH, LOGIN_SMS_LOGIN, "13800138000",
	    NULL, "123456", true, NULL), YH_ERR_NOT_FOUND);
}

/* The http driver where nothing listens: a failed result after two attempts, no error. */
static void
test_http_unreachable(void **state)
{
	struct fed_sms_cfg c = { .driver = "http", .url = "http://127.0.0.1:1/send",
	    .format = "json", .body = "{\"to\":\"{phone}\",\"msg\":\"{text}\"}", .auth = "none",
	    .timeout = 2, .success_field = "code", .success_value = "OK" };
	struct fed_sms *g = NULL;
	struct fed_sms_result res;
	char err[256];
	json_t *f;

	(void)state;
	assert_int_equal(fed_sms_new(&c, &g, err, sizeof(err)), 0);
	assert_int_equal(fed_sms_send(g, "13800138000", "hello \"x\"", &res), 0);
	assert_false(res.sent);
	assert_int_equal(res.attempts, 2);
	assert_true(res.why[0] != '\0');
	f = fed_sms_audit_fields(g, &res);
	assert_non_null(f);
	assert_string_equal(json_string_value(json_object_get(f, "result")), "failed");
	json_decref(f);
	assert_int_equal(fed_sms_send(g, "1380013800x", "t", &res), YH_ERR_INVALID);
	fed_sms_free(g);
}

/* sms.* checks: the file driver needs sms.file, the http driver a URL and its
 * credentials file. */
static void
test_cfg_check(void **state)
{
	struct fed_sms_cfg c = { .driver = "file", .format = "json", .auth = "none",
	    .success_field = "code", .success_value = "OK" };
	const char *key = NULL;
	char msg[256];

	(void)state;
	assert_int_equal(fed_sms_cfg_check(&c, &key, msg, sizeof(msg)), YH_ERR_CONFIG);
	assert_string_equal(key, "sms.file");
	c.driver = "http";
	c.url = "ftp://x";
	assert_int_equal(fed_sms_cfg_check(&c, &key, msg, sizeof(msg)), YH_ERR_CONFIG);
	assert_string_equal(key, "sms.url");
	c.url = "https://sms.example/send?key={credential}";
	assert_int_equal(fed_sms_cfg_check(&c, &key, msg, sizeof(msg)), YH_ERR_CONFIG);
	assert_string_equal(key, "sms.credentials_file");
	c.url = "https://sms.example/send";
	assert_int_equal(fed_sms_cfg_check(&c, &key, msg, sizeof(msg)), 0);
	c.driver = "none";
	c.url = NULL;
	assert_int_equal(fed_sms_cfg_check(&c, &key, msg, sizeof(msg)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_phone_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_code_form, setup, teardown),
		cmocka_unit_test_setup_teardown(test_single_use, setup, teardown),
		cmocka_unit_test_setup_teardown(test_binding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_codes_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_phone_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_address_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deliver_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_driver, setup, teardown),
		cmocka_unit_test(test_http_unreachable),
		cmocka_unit_test(test_cfg_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
