/* Unit tests for common/: buffers, spans, parsing, base64url, secure memory, config, redaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/b64.h"
#include "common/buf.h"
#include "common/config.h"
#include "common/err.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/timeutil.h"

static void
test_buf_bounded(void **state)
{
	struct yh_buf b;

	(void)state;
	yh_buf_init(&b, 8);
	assert_int_equal(yh_buf_puts(&b, "12345678"), 0);
	assert_int_equal(yh_buf_putc(&b, '9'), YH_ERR_TOO_LONG);
	assert_string_equal(yh_buf_cstr(&b), "12345678");
	yh_buf_reset(&b);
	assert_int_equal(yh_buf_printf(&b, "%d-%s", 42, "x"), 0);
	assert_string_equal(yh_buf_cstr(&b), "42-x");
	assert_int_equal(yh_buf_printf(&b, "%s", "toolongvalue"), YH_ERR_TOO_LONG);
	assert_string_equal(yh_buf_cstr(&b), "42-x");
	yh_buf_free(&b);
	yh_buf_free(&b);

	yh_buf_init_secret(&b, 1 << 20);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(yh_buf_puts(&b, "secret"), 0);
	assert_int_equal(b.len, 6000);
	yh_buf_free(&b);
}

static void
test_span(void **state)
{
	struct yh_span s = yh_span_cstr("a,bb,,c"), t;
	const char *want[] = { "a", "bb", "", "c" };
	int n = 0;
	uint64_t v;
	int64_t iv;
	char *d;

	(void)state;
	while (yh_span_split(&s, ',', &t) == 0) {
		assert_true(n < 4);
		assert_true(yh_span_eq(t, want[n]));
		n++;
	}
	assert_int_equal(n, 4);
	assert_int_equal(yh_span_check(yh_span_mem("ab\0c", 4), 10), YH_ERR_INVALID);
	assert_int_equal(yh_span_check(yh_span_mem("abcd", 4), 3), YH_ERR_TOO_LONG);
	assert_int_equal(yh_parse_u64("123", 0, 1000, &v), 0);
	assert_int_equal(v, 123);
	assert_int_equal(yh_parse_u64("+1", 0, 1000, &v), YH_ERR_INVALID);
	assert_int_equal(yh_parse_u64(" 1", 0, 1000, &v), YH_ERR_INVALID);
	assert_int_equal(yh_parse_u64("1001", 0, 1000, &v), YH_ERR_INVALID);
	assert_int_equal(yh_parse_u64("", 0, 1000, &v), YH_ERR_INVALID);
	assert_int_equal(yh_parse_u64("99999999999999999999", 0, UINT64_MAX, &v), YH_ERR_TOO_LONG);
	assert_int_equal(yh_parse_i64("-5", -10, 10, &iv), 0);
	assert_int_equal(iv, -5);
	assert_int_equal(yh_parse_i64("-11", -10, 10, &iv), YH_ERR_INVALID);
	t = yh_span_trim(yh_span_cstr("  x y \t"));
	assert_true(yh_span_eq(t, "x y"));
	assert_int_equal(yh_span_strdup(t, 3, &d), 0);
	assert_string_equal(d, "x y");
	free(d);
	assert_int_equal(yh_span_strdup(t, 2, &d), YH_ERR_TOO_LONG);
	assert_null(d);
}

static void
test_b64url(void **state)
{
	unsigned char out[64], rnd[40];
	char enc[128];
	size_t n;

	(void)state;
	yh_b64url_encode((const unsigned char *)"\xfb\xff", 2, enc);
	assert_string_equal(enc, "-_8");
	assert_int_equal(yh_b64url_decode("-_8", 3, out, sizeof(out), &n), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(out, "\xfb\xff", 2);
	/* Padding, standard alphabet, whitespace, bad length, non-zero trailing bits. */
	assert_int_equal(yh_b64url_decode("-_8=", 4, out, sizeof(out), &n), YH_ERR_INVALID);
	assert_int_equal(yh_b64url_decode("+/8", 3, out, sizeof(out), &n), YH_ERR_INVALID);
	assert_int_equal(yh_b64url_decode("ab cd", 5, out, sizeof(out), &n), YH_ERR_INVALID);
	assert_int_equal(yh_b64url_decode("abcde", 5, out, sizeof(out), &n), YH_ERR_INVALID);
	assert_int_equal(yh_b64url_decode("-_9", 3, out, sizeof(out), &n), YH_ERR_INVALID);
	assert_int_equal(yh_b64url_decode("AAAA", 4, out, 2, &n), YH_ERR_TOO_LONG);
	for (size_t len = 0; len < sizeof(rnd); len++) {
		assert_int_equal(yh_random(rnd, len), 0);
		yh_b64url_encode(rnd, len, enc);
		assert_int_equal(strlen(enc), yh_b64url_len(len));
		assert_int_equal(yh_b64url_decode(enc, strlen(enc), out, sizeof(out), &n), 0);
		assert_int_equal(n, len);
		assert_memory_equal(out, rnd, len);
	}
	yh_b64_encode((const unsigned char *)"hello", 5, enc);
	assert_string_equal(enc, "aGVsbG8=");
	assert_int_equal(yh_b64_decode("aGVsbG8=", 8, out, sizeof(out), &n), 0);
	assert_int_equal(n, 5);
}

static void
test_secmem(void **state)
{
	unsigned char k[16], back[16];
	char hex[33];

	(void)state;
	assert_true(yh_ct_eq("abc", "abc", 3));
	assert_false(yh_ct_eq("abc", "abd", 3));
	assert_true(yh_ct_streq("secret", "secret"));
	assert_false(yh_ct_streq("secret", "secre"));
	assert_false(yh_ct_streq("secret", "secreT"));
	memset(k, 0xab, sizeof(k));
	yh_hex_encode(k, sizeof(k), hex);
	assert_string_equal(hex, "abababababababababababababababab");
	assert_int_equal(yh_hex_decode(hex, 32, back, sizeof(back)), 0);
	assert_memory_equal(k, back, sizeof(k));
	assert_int_equal(yh_hex_decode("zz", 2, back, 1), YH_ERR_INVALID);
	yh_wipe(k, sizeof(k));
	for (size_t i = 0; i < sizeof(k); i++)
		assert_int_equal(k[i], 0);
}

static void
test_time(void **state)
{
	int64_t d;

	(void)state;
	assert_true(yh_date_valid(2000, 2, 29));
	assert_false(yh_date_valid(1900, 2, 29));
	assert_false(yh_date_valid(2023, 4, 31));
	assert_false(yh_date_valid(2023, 13, 1));
	assert_int_equal(yh_parse_duration("15m", 86400, &d), 0);
	assert_int_equal(d, 900);
	assert_int_equal(yh_parse_duration("8h", 86400, &d), 0);
	assert_int_equal(d, 28800);
	assert_int_equal(yh_parse_duration("2d", 86400, &d), YH_ERR_INVALID);
	assert_int_equal(yh_parse_duration("h", 86400, &d), YH_ERR_INVALID);
	assert_true(yh_today_cst() > 20260000);
}

struct tcfg {
	char *name;
	char *mode;
	char *secret;
	char *path;
	int64_t count;
	int64_t idle;
	bool on;
};

static const char *const modes[] = { "fast", "safe", NULL };

static const struct yh_cfg_opt topts[] = {
	{ "name", YH_CFG_STR, "yihao", 0, 64, 0, NULL, offsetof(struct tcfg, name), "a name" },
	{ "mode", YH_CFG_ENUM, "safe", 0, 0, 0, modes, offsetof(struct tcfg, mode), "" },
	{ "http.secret", YH_CFG_STR, NULL, 0, 0, YH_CFG_SENSITIVE, NULL,
	  offsetof(struct tcfg, secret), "" },
	{ "http.path", YH_CFG_PATH, NULL, 0, 0, 0, NULL, offsetof(struct tcfg, path), "" },
	{ "http.count", YH_CFG_INT, "4", 1, 64, 0, NULL, offsetof(struct tcfg, count), "" },
	{ "session.idle", YH_CFG_DURATION, "30m", 60, 86400, 0, NULL,
	  offsetof(struct tcfg, idle), "" },
	{ "session.on", YH_CFG_BOOL, "yes", 0, 0, 0, NULL, offsetof(struct tcfg, on), "" },
	{ NULL, 0, NULL, 0, 0, 0, NULL, 0, NULL },
};

static char *
write_tmp(const char *text)
{
	char *path = strdup("/tmp/yh_cfg_XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static int
load(const char *text, unsigned flags, struct tcfg *c, struct yh_cfg_err *err)
{
	char *path = write_tmp(text);
	int r;

	memset(c, 0, sizeof(*c));
	assert_int_equal(yh_cfg_defaults(topts, c, err), 0);
	r = yh_cfg_load_file(topts, c, path, flags, err);
	unlink(path);
	free(path);
	return r;
}

static void
test_config(void **state)
{
	struct yh_cfg_err err;
	struct yh_buf dump;
	struct tcfg c;

	(void)state;
	assert_int_equal(load("# comment\n\nname = city\nhttp.count=8\n"
	    "session.idle = 1h\nsession.on = no\nhttp.secret = \"s3 cret\"\nhttp.path = keys\n",
	    0, &c, &err), 0);
	assert_string_equal(c.name, "city");
	assert_int_equal(c.count, 8);
	assert_int_equal(c.idle, 3600);
	assert_false(c.on);
	assert_string_equal(c.secret, "s3 cret");
	assert_string_equal(c.path, "/tmp/keys");
	assert_string_equal(c.mode, "safe");
	yh_buf_init(&dump, 4096);
	assert_int_equal(yh_cfg_dump(topts, &c, &dump), 0);
	assert_non_null(strstr(yh_buf_cstr(&dump), "http.secret = (set)"));
	assert_null(strstr(yh_buf_cstr(&dump), "s3 cret"));
	yh_buf_free(&dump);
	yh_cfg_free(topts, &c);

	assert_int_equal(load("name = a\nbogus = 1\n", 0, &c, &err), YH_ERR_CONFIG);
	assert_non_null(strstr(err.where, ":2"));
	assert_non_null(strstr(err.msg, "bogus"));
	yh_cfg_free(topts, &c);
	assert_int_equal(load("http.count = 65\n", 0, &c, &err), YH_ERR_CONFIG);
	assert_non_null(strstr(err.where, ":1"));
	yh_cfg_free(topts, &c);
	assert_int_equal(load("mode = turbo\n", 0, &c, &err), YH_ERR_CONFIG);
	yh_cfg_free(topts, &c);
	assert_int_equal(load("name = a\nname = b\n", 0, &c, &err), YH_ERR_CONFIG);
	assert_non_null(strstr(err.msg, "twice"));
	yh_cfg_free(topts, &c);
	assert_int_equal(load("just words\n", 0, &c, &err), YH_ERR_CONFIG);
	yh_cfg_free(topts, &c);
	/* PARTIAL ignores another program's section but not a typo in a known one. */
	assert_int_equal(load("other.key = 1\n", YH_CFG_PARTIAL, &c, &err), 0);
	yh_cfg_free(topts, &c);
	assert_int_equal(load("issuer = x\n", YH_CFG_PARTIAL, &c, &err), 0);
	yh_cfg_free(topts, &c);
	assert_int_equal(load("issuer = x\n", 0, &c, &err), YH_ERR_CONFIG);
	yh_cfg_free(topts, &c);
	assert_int_equal(load("http.cuont = 1\n", YH_CFG_PARTIAL, &c, &err), YH_ERR_CONFIG);
	yh_cfg_free(topts, &c);
	memset(&c, 0, sizeof(c));
	assert_int_equal(yh_cfg_load_file(topts, &c, "/nonexistent/x.conf", 0, &err), YH_ERR_IO);
}

static void
test_redact(void **state)
{
	char m1[] = "login id=11010519491231002X phone=13812345678 n=12345";
	char m2[] = "old 110105491231002 ok";

	(void)state;
	yh_redact_default(m1, strlen(m1));
	assert_string_equal(m1, "login id=110105********002X phone=138****5678 n=12345");
	yh_redact_default(m2, strlen(m2));
	assert_string_equal(m2, "old 110105*****1002 ok");
}

static void
test_errors(void **state)
{
	(void)state;
	assert_string_equal(yh_strerror(YH_ERR_NOT_FOUND), "not found");
	assert_string_equal(yh_errname(YH_ERR_LOCKED), "locked");
	assert_string_equal(yh_errname(12345), "internal");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_bounded),
		cmocka_unit_test(test_span),
		cmocka_unit_test(test_b64url),
		cmocka_unit_test(test_secmem),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
