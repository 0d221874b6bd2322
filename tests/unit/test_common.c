/* Unit tests for common/: buffers, spans, parsing, base64url, secure memory, config, redaction,
 * UTF-8, atomic and private files. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/statvfs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/atomicfile.h"
#include "common/b64.h"
#include "common/buf.h"
#include "common/config.h"
#include "common/digest.h"
#include "common/err.h"
#include "common/fold.h"
#include "common/keyfile.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/snapshot.h"
#include "common/timeutil.h"
#include "common/url.h"
#include "common/utf8.h"

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
	/* Every byte value: a letter of the alphabet decodes to its index, any other byte
	 * (the other alphabet's two, '=', NUL, bytes over 0x7f) is refused. */
	for (unsigned c = 0; c < 256; c++) {
		static const char url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789-_", std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789+/";
		char in[4] = { (char)c, 'A', 'A', 'A' };
		const char *u = c != 0 ? memchr(url, (int)c, 64) : NULL;
		const char *s = c != 0 ? memchr(std, (int)c, 64) : NULL;

		assert_int_equal(yh_b64url_decode(in, 4, out, sizeof(out), &n),
		    u != NULL ? 0 : YH_ERR_INVALID);
		if (u != NULL)
			assert_int_equal(out[0], (unsigned)(u - url) << 2);
		assert_int_equal(yh_b64_decode(in, 4, out, sizeof(out), &n),
		    s != NULL ? 0 : YH_ERR_INVALID);
		if (s != NULL)
			assert_int_equal(out[0], (unsigned)(s - std) << 2);
	}
}

/* Small requests come from the thread's stock: across several refills no 16-byte value
 * repeats, requests on both sides of the stock's limit work, and two threads draw
 * different bytes. */
static void *
draw_one(void *arg)
{
	return yh_random(arg, 16) == 0 ? arg : NULL;
}

static int
cmp16(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

static void
test_random_stock(void **state)
{
	enum { DRAWS = 1000 };   /* about four refills of the stock */
	static unsigned char v[DRAWS][16];
	unsigned char big[65], other[16], zero[65] = { 0 };
	pthread_t th;
	void *got;

	(void)state;
	for (size_t i = 0; i < DRAWS; i++)
		assert_int_equal(yh_random(v[i], 16), 0);
	qsort(v, DRAWS, 16, cmp16);
	for (size_t i = 1; i < DRAWS; i++)
		assert_true(memcmp(v[i - 1], v[i], 16) != 0);
	for (size_t n = 63; n <= 65; n++) {
		memset(big, 0, sizeof(big));
		assert_int_equal(yh_random(big, n), 0);
		assert_true(memcmp(big, zero, n) != 0);
	}
	assert_int_equal(yh_random(v[0], 16), 0);
	assert_int_equal(pthread_create(&th, NULL, draw_one, other), 0);
	assert_int_equal(pthread_join(th, &got), 0);
	assert_ptr_equal(got, other);
	assert_true(memcmp(v[0], other, 16) != 0);
}

/* A child process never hands out the bytes its parent hands out next: the stock the
 * parent had filled is gone in the child, which fills its own. */
static void
test_random_fork(void **state)
{
	unsigned char first[16], mine[16], theirs[16];
	int p[2], st;
	pid_t pid;

	(void)state;
	assert_int_equal(yh_random(first, sizeof(first)), 0);   /* the stock is filled */
	assert_int_equal(pipe(p), 0);
	if ((pid = fork()) == 0) {
		unsigned char b[16];

		close(p[0]);
		_exit(yh_random(b, sizeof(b)) == 0 && write(p[1], b, sizeof(b)) == 16 ? 0 : 1);
	}
	assert_true(pid > 0);
	close(p[1]);
	assert_int_equal(yh_random(mine, sizeof(mine)), 0);
	assert_int_equal(read(p[0], theirs, sizeof(theirs)), 16);
	close(p[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_true(memcmp(mine, theirs, sizeof(mine)) != 0);
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
	/* One digit at a time, either case; everything else -1. */
	for (int c = 0; c < 256; c++) {
		const char *digits = "0123456789abcdef", *up = "0123456789ABCDEF";
		const char *at = c != 0 ? strchr(digits, c) : NULL;
		const char *atu = c != 0 ? strchr(up, c) : NULL;
		int want = at != NULL ? (int)(at - digits) : atu != NULL ? (int)(atu - up) : -1;

		assert_int_equal(yh_hex_digit((char)c), want);
	}
	yh_wipe(k, sizeof(k));
	for (size_t i = 0; i < sizeof(k); i++)
		assert_int_equal(k[i], 0);
}

static void
test_time(void **state)
{
	int64_t d;
	int y = 0, m = 0, dd = 0;

	(void)state;
	assert_true(yh_date_valid(2000, 2, 29));
	assert_false(yh_date_valid(1900, 2, 29));
	assert_false(yh_date_valid(2023, 4, 31));
	assert_false(yh_date_valid(2023, 13, 1));
	assert_true(yh_date_parse("2024-02-29", &y, &m, &dd));
	assert_int_equal(y * 10000 + m * 100 + dd, 20240229);
	assert_false(yh_date_parse("2023-02-29", &y, &m, &dd));
	assert_false(yh_date_parse("2023-2-28", &y, &m, &dd));
	assert_false(yh_date_parse("2023-02-281", &y, &m, &dd));
	assert_false(yh_date_parse("2023/02/28", &y, &m, &dd));
	assert_false(yh_date_parse("2023-0a-28", &y, &m, &dd));
	assert_false(yh_date_parse("0000-01-01", &y, &m, &dd));
	assert_int_equal(yh_parse_duration("15m", 86400, &d), 0);
	assert_int_equal(d, 900);
	assert_int_equal(yh_parse_duration("8h", 86400, &d), 0);
	assert_int_equal(d, 28800);
	assert_int_equal(yh_parse_duration("2d", 86400, &d), YH_ERR_INVALID);
	assert_int_equal(yh_parse_duration("h", 86400, &d), YH_ERR_INVALID);
	assert_true(yh_today_cst() > 20260000);
	/* through 2026-12-31 in UTC+8: until 2027-01-01 00:00 CST = 2026-12-31T16:00Z */
	assert_int_equal(yh_date_until_cst("2026-12-31", 0, &d), 0);
	assert_int_equal(d, 1798732800);
	assert_int_equal(yh_date_until_cst("2024-02-29", 0, &d), 0);
	assert_int_equal(d, 1709222400);
	assert_int_equal(yh_date_until_cst("2026-12-31", 1798732799, &d), 0);
	assert_int_equal(yh_date_until_cst("2026-12-31", 1798732800, &d), YH_ERR_EXPIRED);
	assert_int_equal(yh_date_until_cst("2026-02-30", 0, &d), YH_ERR_INVALID);
	assert_int_equal(yh_date_until_cst("", 0, &d), YH_ERR_INVALID);
	assert_int_equal(yh_date_until_cst(NULL, 0, &d), YH_ERR_INVALID);
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

#define TOFF(f) offsetof(struct tcfg, f)

static const struct yh_cfg_opt topts[] = {
	{ .name = "name", .type = YH_CFG_STR, .def = "yihao", .max = 64, .offset = TOFF(name),
	  .help = "a name" },
	{ .name = "mode", .type = YH_CFG_ENUM, .def = "safe", .choices = modes,
	  .offset = TOFF(mode), .help = "" },
	{ .name = "http.secret", .type = YH_CFG_STR, .def = NULL, .flags = YH_CFG_SENSITIVE,
	  .offset = TOFF(secret), .help = "" },
	{ .name = "http.path", .type = YH_CFG_PATH, .def = NULL, .offset = TOFF(path),
	  .help = "" },
	{ .name = "http.count", .type = YH_CFG_INT, .def = "4", .min = 1, .max = 64,
	  .offset = TOFF(count), .help = "" },
	{ .name = "session.idle", .type = YH_CFG_DURATION, .def = "30m", .min = 60,
	  .max = 86400, .offset = TOFF(idle), .help = "" },
	{ .name = "session.on", .type = YH_CFG_BOOL, .def = "yes", .offset = TOFF(on),
	  .help = "" },
	{ .name = NULL },
};

/* A temporary file holding the len bytes of text (NUL bytes too). */
static char *
write_tmp_mem(const char *text, size_t len)
{
	char *path = strdup("/tmp/yh_cfg_XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

/* Loads the len bytes of text over the defaults of c. */
static int
load_mem(const char *text, size_t len, unsigned flags, struct tcfg *c,
    struct yh_cfg_err *err)
{
	char *path = write_tmp_mem(text, len);
	int r;

	memset(c, 0, sizeof(*c));
	assert_int_equal(yh_cfg_defaults(topts, c, err), 0);
	r = yh_cfg_load_file(topts, c, path, flags, err);
	unlink(path);
	free(path);
	return r;
}

static int
load(const char *text, unsigned flags, struct tcfg *c, struct yh_cfg_err *err)
{
	return load_mem(text, strlen(text), flags, c, err);
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

/* What a module holding a value of an option checks it with: the option's row. */
static void
test_config_bounds(void **state)
{
	const struct yh_cfg_opt *idle = yh_cfg_find(topts, "session.idle");
	const struct yh_cfg_opt *mode = yh_cfg_find(topts, "mode");
	const struct yh_cfg_opt *name = yh_cfg_find(topts, "name");
	char big[70];

	(void)state;
	assert_null(yh_cfg_find(topts, "session"));
	assert_non_null(idle);
	assert_true(yh_cfg_int_ok(idle, 60) && yh_cfg_int_ok(idle, 86400));
	assert_false(yh_cfg_int_ok(idle, 59) || yh_cfg_int_ok(idle, 86401));
	assert_false(yh_cfg_int_ok(NULL, 60) || yh_cfg_int_ok(mode, 0));
	assert_true(yh_cfg_str_ok(mode, "fast"));
	assert_false(yh_cfg_str_ok(mode, "turbo") || yh_cfg_str_ok(mode, NULL));
	assert_false(yh_cfg_str_ok(idle, "60") || yh_cfg_str_ok(NULL, "x"));
	memset(big, 'a', sizeof(big) - 1);
	big[64] = '\0';
	assert_true(yh_cfg_str_ok(name, big));
	big[64] = 'a';
	big[65] = '\0';
	assert_false(yh_cfg_str_ok(name, big));
}

/* A NUL byte anywhere in a line is refused and named by its line: fgets stopped at it,
 * so a line starting with one vanished and the rest of a last line was dropped. */
static void
test_config_nul(void **state)
{
	static const char first[] = "name = a\n\0http.count = 9\n";
	static const char last[] = "name = a\0b";
	static const char mid[] = "http.count = 9\nname = a\0b\n";
	struct yh_cfg_err err;
	struct tcfg c;
	char text[4200];

	(void)state;
	assert_int_equal(load_mem(first, sizeof(first) - 1, 0, &c, &err), YH_ERR_CONFIG);
	assert_non_null(strstr(err.where, ":2"));
	assert_non_null(strstr(err.msg, "NUL"));
	yh_cfg_free(topts, &c);
	assert_int_equal(load_mem(last, sizeof(last) - 1, 0, &c, &err), YH_ERR_CONFIG);
	assert_non_null(strstr(err.where, ":1"));
	assert_non_null(strstr(err.msg, "NUL"));
	yh_cfg_free(topts, &c);
	assert_int_equal(load_mem(mid, sizeof(mid) - 1, 0, &c, &err), YH_ERR_CONFIG);
	assert_non_null(strstr(err.where, ":2"));
	assert_non_null(strstr(err.msg, "NUL"));
	yh_cfg_free(topts, &c);
	/* the longest line: 4096 bytes with its line feed; one more is refused */
	memset(text, '#', sizeof(text));
	text[4095] = '\n';
	memcpy(text + 4096, "name = b\n", 9);
	assert_int_equal(load_mem(text, 4105, 0, &c, &err), 0);
	assert_string_equal(c.name, "b");
	yh_cfg_free(topts, &c);
	text[4095] = '#';
	text[4096] = '\n';
	assert_int_equal(load_mem(text, 4097, 0, &c, &err), YH_ERR_CONFIG);
	assert_non_null(strstr(err.msg, "too long"));
	yh_cfg_free(topts, &c);
}

/* ---- reload: a table with hooks -------------------------------------------------------- */

struct rcfg {
	char *listen, *secret;
	int64_t level, a, b, plain;
	bool on;
};

/* What the hooks applied to: the running program's copies. */
struct rlive {
	int64_t level, a, b;
	int level_calls, pair_calls;
	char notes[16][96];
	size_t nnotes;
};

static int
apply_level(void *ctx, const void *old, const void *new, char *err, size_t errsz)
{
	struct rlive *l = ctx;

	(void)old;
	(void)err;
	(void)errsz;
	l->level = ((const struct rcfg *)new)->level;
	l->level_calls++;
	return 0;
}

/* pair.a and pair.b go together; a = 13 is refused, as a hook refuses what it cannot do. */
static int
apply_pair(void *ctx, const void *old, const void *new, char *err, size_t errsz)
{
	const struct rcfg *n = new;
	struct rlive *l = ctx;

	(void)old;
	l->pair_calls++;
	if (n->a == 13) {
		snprintf(err, errsz, "13 cannot be applied");
		return YH_ERR_INVALID;
	}
	l->a = n->a;
	l->b = n->b;
	return 0;
}

#define ROFF(f) offsetof(struct rcfg, f)

static const struct yh_cfg_opt ropts[] = {
	{ .name = "listen", .type = YH_CFG_STR, .def = "a:1", .max = 64,
	  .flags = YH_CFG_IMMUTABLE, .offset = ROFF(listen) },
	{ .name = "secret", .type = YH_CFG_STR, .def = NULL, .max = 64,
	  .flags = YH_CFG_IMMUTABLE | YH_CFG_SENSITIVE, .offset = ROFF(secret) },
	{ .name = "log.level", .type = YH_CFG_INT, .def = "1", .min = 0, .max = 9,
	  .flags = YH_CFG_RELOADABLE, .offset = ROFF(level), .apply = apply_level },
	{ .name = "pair.a", .type = YH_CFG_INT, .def = "1", .min = 0, .max = 99,
	  .flags = YH_CFG_RELOADABLE, .offset = ROFF(a), .apply = apply_pair },
	{ .name = "pair.b", .type = YH_CFG_INT, .def = "2", .min = 0, .max = 99,
	  .flags = YH_CFG_RELOADABLE, .offset = ROFF(b), .apply = apply_pair },
	{ .name = "plain", .type = YH_CFG_DURATION, .def = "1m", .min = 1, .max = 3600,
	  .flags = YH_CFG_RELOADABLE, .offset = ROFF(plain) },
	{ .name = "on", .type = YH_CFG_BOOL, .def = "no", .flags = YH_CFG_IMMUTABLE,
	  .offset = ROFF(on) },
	{ .name = NULL },
};

static void
note(void *arg, const struct yh_cfg_opt *o, bool applied, const void *old, const void *new)
{
	struct rlive *l = arg;
	char was[24], now[24];

	yh_cfg_format(o, old, was, sizeof(was));
	yh_cfg_format(o, new, now, sizeof(now));
	assert_true(l->nnotes < 16);
	snprintf(l->notes[l->nnotes++], sizeof(l->notes[0]), "%s %.16s %s>%s",
	    applied ? "+" : "!", o->name, was, now);
}

/* A configuration: the defaults, then name = value pairs (NULL-terminated). */
static void
rcfg_make(struct rcfg *c, ...)
{
	struct yh_cfg_err err;
	const char *k, *v;
	va_list ap;

	memset(c, 0, sizeof(*c));
	assert_int_equal(yh_cfg_defaults(ropts, c, &err), 0);
	va_start(ap, c);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		assert_int_equal(yh_cfg_set(ropts, c, k, v, "test", &err), 0);
	}
	va_end(ap);
}

/* Changed options: the immutable ones are noted and kept, the reloadable ones applied
 * through their hooks (a shared hook once) or, without one, simply taken. */
static void
test_config_reload(void **state)
{
	struct rlive l = { .level = 1, .a = 1, .b = 2 };
	struct yh_cfg_reload rl = { .ctx = &l, .note = note, .note_arg = &l };
	struct yh_cfg_err err;
	struct rcfg cur, next;

	(void)state;
	rcfg_make(&cur, NULL);
	rcfg_make(&next, NULL);
	assert_int_equal(yh_cfg_reload(ropts, &cur, &next, &rl, &err), 0);
	assert_true(rl.applied == 0 && rl.restart == 0 && l.nnotes == 0);
	assert_true(l.level_calls == 0 && l.pair_calls == 0);
	yh_cfg_free(ropts, &next);

	rcfg_make(&next, "listen", "b:2", "secret", "hush", "on", "yes", "log.level", "5",
	    "pair.a", "7", "pair.b", "8", "plain", "2m", NULL);
	assert_int_equal(yh_cfg_reload(ropts, &cur, &next, &rl, &err), 0);
	assert_int_equal(rl.restart, 3);
	assert_int_equal(rl.applied, 4);
	assert_int_equal(l.nnotes, 7);
	/* the ones waiting for a restart first (the secret never printed), then the rest */
	assert_string_equal(l.notes[0], "! listen a:1>b:2");
	assert_string_equal(l.notes[1], "! secret >(set)");
	assert_string_equal(l.notes[2], "! on no>yes");
	assert_string_equal(l.notes[3], "+ log.level 1>5");
	assert_string_equal(l.notes[4], "+ pair.a 1>7");
	assert_string_equal(l.notes[5], "+ pair.b 2>8");
	assert_string_equal(l.notes[6], "+ plain 60>120");
	assert_true(l.level == 5 && l.level_calls == 1);
	assert_true(l.a == 7 && l.b == 8 && l.pair_calls == 1);
	/* next describes what runs: the immutable options as they were */
	assert_string_equal(next.listen, "a:1");
	assert_null(next.secret);
	assert_false(next.on);
	assert_int_equal(next.plain, 120);
	yh_cfg_free(ropts, &cur);
	cur = next;

	/* A hook that fails: the hooks before it are undone, nothing is noted as taken. */
	l.nnotes = 0;
	l.level_calls = l.pair_calls = 0;
	rcfg_make(&next, "log.level", "9", "pair.a", "13", "plain", "3m", NULL);
	assert_int_equal(yh_cfg_reload(ropts, &cur, &next, &rl, &err), YH_ERR_INVALID);
	assert_string_equal(err.where, "pair.a");
	assert_string_equal(err.msg, "13 cannot be applied");
	assert_int_equal(l.level, 5);              /* applied, then undone */
	assert_int_equal(l.level_calls, 2);
	assert_true(l.a == 7 && l.b == 8);
	assert_int_equal(l.nnotes, 0);
	yh_cfg_free(ropts, &next);
	yh_cfg_free(ropts, &cur);
}

/* A table a reload cannot trust: an option neither (or both) IMMUTABLE and RELOADABLE,
 * or an IMMUTABLE one with a hook. */
static void
test_config_reload_table(void **state)
{
	static const struct yh_cfg_opt neither[] = {
		{ .name = "x", .type = YH_CFG_INT, .def = "1", .min = 0, .max = 9, .offset = 0 },
		{ .name = NULL },
	};
	static const struct yh_cfg_opt both[] = {
		{ .name = "x", .type = YH_CFG_INT, .def = "1", .min = 0, .max = 9,
		  .flags = YH_CFG_IMMUTABLE | YH_CFG_RELOADABLE, .offset = 0 },
		{ .name = NULL },
	};
	static const struct yh_cfg_opt hooked[] = {
		{ .name = "x", .type = YH_CFG_INT, .def = "1", .min = 0, .max = 9,
		  .flags = YH_CFG_IMMUTABLE, .offset = 0, .apply = apply_level },
		{ .name = NULL },
	};
	struct yh_cfg_reload rl = { 0 };
	struct yh_cfg_err err;
	int64_t a = 1, b = 2;

	(void)state;
	assert_int_equal(yh_cfg_reload(neither, &a, &b, &rl, &err), YH_ERR_CONFIG);
	assert_non_null(strstr(err.msg, "x: not exactly one"));
	assert_int_equal(yh_cfg_reload(both, &a, &b, &rl, &err), YH_ERR_CONFIG);
	assert_int_equal(yh_cfg_reload(hooked, &a, &b, &rl, &err), YH_ERR_CONFIG);
	assert_non_null(strstr(err.msg, "apply hook"));
	assert_int_equal(b, 2);
}

#define LOG_CAPTURE_MAX 16384  /* more than one record can hold (8 KiB message) */

static void
test_redact(void **state)
{
	char m1[] = "login id=11010519491231002X phone=13812345678 n=12345";
	char m2[] = "old 110105491231002 ok";

	(void)state;
	assert_int_equal(yh_redact_default(m1, strlen(m1)), strlen(m1));
	assert_string_equal(m1, "login id=110105********002X phone=138****5678 n=12345");
	assert_int_equal(yh_redact_default(m2, strlen(m2)), strlen(m2));
	assert_string_equal(m2, "old 110105*****1002 ok");
}

/* Runs the default redactor over in and compares with want. */
static void
redacts_to(const char *in, const char *want)
{
	char buf[512];
	size_t n = strlen(in);

	assert_true(n < sizeof(buf));
	memcpy(buf, in, n + 1);
	n = yh_redact_default(buf, n);
	if (strcmp(buf, want) != 0 || n != strlen(want))
		fail_msg("redact '%s': got '%s' (%zu bytes), want '%s'", in, buf, n, want);
}

/* The longest run of digits left in s after folding as the login lookup does (full-
 * width digits to ASCII, spaces and dashes dropped). */
static size_t
longest_digits(const char *s)
{
	size_t best = 0, run = 0, i = 0, n = strlen(s);

	while (i < n) {
		uint32_t cp;
		size_t step = yh_utf8_next(s + i, n - i, &cp);

		if (step == 0)
			step = 1, cp = 0xfffd;
		cp = yh_fold_width(cp);
		if (cp >= '0' && cp <= '9')
			best = ++run > best ? run : best;
		else if (!yh_fold_is_space(cp) && !yh_fold_is_dash(cp))
			run = 0;
		i += step;
	}
	return best;
}

/*
 * Every spelling the login lookup folds to an ID number or a phone number is masked, in
 * its folded form: separators, full-width digits, a country code. What only looks like a
 * number inside a word (hex ids) or is short stays.
 */
static void
test_redact_folded(void **state)
{
	static const char *const shapes[] = {
		"110101 19900307 0011", "110101-19900307-0011", "１１０１０１１９９００３０７００１１",
		"+86 138 0013 8000", "138-0013-8000", "138 0013 8000", "＋８６ １３８－００１３－８０００",
		"110101\u00a019900307\u20140011", "0086 13800138000", "8613800138000",
		"11010519491231002x", "110105 19491231 002X", "010-8888-6666",
	};

	(void)state;
	redacts_to("login 110101 19900307 0011 failed", "login 110101********0011 failed");
	redacts_to("id=110101-19900307-0011", "id=110101********0011");
	redacts_to("１１０１０１１９９００３０７００１１", "110101********0011");
	redacts_to("110105 19491231 002X.", "110105********002X.");
	redacts_to("tel +86 138 0013 8000;", "tel +86138****8000;");
	redacts_to("138-0013-8000", "138****8000");
	redacts_to("＋８６ １３８－００１３－８０００", "+86138****8000");
	redacts_to("手机１３８００１３８０００号", "手机138****8000号");
	redacts_to("\"login\":\"010-8888-6666\"", "\"login\":\"010****6666\"");
	/* Kept: short numbers, IP addresses, dates, numbers inside a hex id or a token. */
	redacts_to("from 192.168.100.200 at 2026-12-06 12:00:00 n=12345",
	    "from 192.168.100.200 at 2026-12-06 12:00:00 n=12345");
	redacts_to("uid=4f0e23456789012aa9 sid=Ab3-x", "uid=4f0e23456789012aa9 sid=Ab3-x");
	redacts_to("oid 1.2.156.10260.4.1.1 ok", "oid 1.2.156.10260.4.1.1 ok");
	redacts_to("+ 12 - 34", "+ 12 - 34");
	/* Inside a word the shape alone counts: an 11-digit mobile, 15 digits and more. */
	redacts_to("user13800138000", "user138****8000");
	redacts_to("ab1234567890123456cd", "ab123456******3456cd");
	/* Malformed UTF-8 passes through. */
	redacts_to("\xff\xfe 13800138000 \xc3", "\xff\xfe 138****8000 \xc3");
	/* Any bytes: never grows, always terminated, stable once redacted. */
	srand(7);
	for (int t = 0; t < 3000; t++) {
		static const char *const bits[] = { "1", "8", "0", "\uff11", "\uff10", " ", "-",
		    "\u3000", "\u2014", "+", "X", "a", ".", "\xe4", "\xff" };
		char buf[300], again[300];
		size_t n = 0, m;

		while (n < 200) {
			const char *b = bits[rand() % (int)(sizeof(bits) / sizeof(bits[0]))];

			memcpy(buf + n, b, strlen(b));
			n += strlen(b);
		}
		buf[n] = '\0';
		m = yh_redact_default(buf, n);
		assert_true(m <= n);
		assert_int_equal(strlen(buf), m);
		memcpy(again, buf, m + 1);
		assert_int_equal(yh_redact_default(again, m), m);
		assert_string_equal(again, buf);
	}
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		char buf[256];

		snprintf(buf, sizeof(buf), "identifier %s refused", shapes[i]);
		(void)yh_redact_default(buf, strlen(buf));
		if (longest_digits(buf) >= 11)
			fail_msg("'%s' leaves a digit run of %zu: '%s'", shapes[i],
			    longest_digits(buf), buf);
	}
}

/* Runs one yh_info/yh_warn through the logger into a pipe and returns what it wrote. */
static void
log_capture(bool json, enum yh_log_level lvl, const char *arg, char *out, size_t outsz)
{
	int fds[2];
	ssize_t n;

	assert_int_equal(pipe(fds), 0);
	yh_log_set_fd(fds[1]);
	yh_log_set_json(json);
	if (lvl == YH_LOG_WARN)
		yh_warn("check of %s for %s", arg, "13812345678");
	else
		yh_info("check of %s for %s", arg, "13812345678");
	yh_log_set_fd(2);
	close(fds[1]);
	n = read(fds[0], out, outsz - 1);
	close(fds[0]);
	out[n > 0 ? n : 0] = '\0';
}

/* A redactor of the test's own: every 'q' becomes '#', nothing else changes. */
static size_t
redact_q(char *msg, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (msg[i] == 'q')
			msg[i] = '#';
	return len;
}

static void
test_log_redaction(void **state)
{
	char out[LOG_CAPTURE_MAX], big[9000];

	(void)state;
	yh_log_set_prog("t");
	yh_log_set_level(YH_LOG_INFO);
	/* The default redactor runs on the formatted message: the %s arguments too. */
	log_capture(false, YH_LOG_WARN, "11010519491231002X", out, sizeof(out));
	assert_string_equal(out, "t: warn: check of 110105********002X for 138****5678\n");
	log_capture(true, YH_LOG_INFO, "11010519491231002x", out, sizeof(out));
	assert_non_null(strstr(out, "\"level\":\"info\""));
	assert_non_null(strstr(out, "\"src\":\"test_common.c:"));
	assert_non_null(strstr(out, "\"func\":\"log_capture\""));
	assert_non_null(strstr(out, "\"msg\":\"check of 110105********002x for 138****5678\"}\n"));
	assert_null(strstr(out, "19491231"));
	/* A message longer than a record is cut at 8191 bytes; an ID number straddling the
	 * cut is masked as a whole, not left as a too-short run of its first digits. */
	memset(big, 'a', sizeof(big));
	memcpy(big + 8191 - 9 - 8, "11010519491231002X", 18);  /* "check of " is 9 bytes */
	big[sizeof(big) - 1] = '\0';
	log_capture(false, YH_LOG_INFO, big, out, sizeof(out));
	assert_int_equal(strlen(out), strlen("t: ") + 8191 + 1);
	assert_null(strstr(out, "11010519"));
	assert_non_null(strstr(out, "a110105**\n"));
	/* A replacement redactor is the one applied (and only it). */
	yh_log_set_redactor(redact_q);
	log_capture(false, YH_LOG_INFO, "quiz", out, sizeof(out));
	assert_string_equal(out, "t: check of #uiz for 13812345678\n");
	/* NULL restores the default. */
	yh_log_set_redactor(NULL);
	log_capture(false, YH_LOG_INFO, "quiz", out, sizeof(out));
	assert_string_equal(out, "t: check of quiz for 138****5678\n");
	/* Below the threshold nothing is written at all. */
	yh_log_set_level(YH_LOG_WARN);
	log_capture(false, YH_LOG_INFO, "quiz", out, sizeof(out));
	assert_string_equal(out, "");
	yh_log_set_level(YH_LOG_INFO);
	yh_log_set_json(false);
}

static void
test_errors(void **state)
{
	(void)state;
	assert_string_equal(yh_strerror(YH_ERR_NOT_FOUND), "not found");
	assert_string_equal(yh_errname(YH_ERR_LOCKED), "locked");
	assert_string_equal(yh_errname(12345), "internal");
	/* A full disk is named as such, not as an I/O error. */
	assert_int_equal(yh_err_from_errno(ENOSPC), YH_ERR_NOSPACE);
	assert_int_equal(yh_err_from_errno(EDQUOT), YH_ERR_NOSPACE);
	assert_int_equal(yh_err_from_errno(EIO), YH_ERR_IO);
	assert_non_null(strstr(yh_strerror(YH_ERR_NOSPACE), "disk full"));
	assert_string_equal(yh_errname(YH_ERR_NOSPACE), "nospace");
	assert_true(yh_err_temporary(YH_ERR_NOSPACE));
	assert_true(yh_err_temporary(YH_ERR_UNAVAILABLE));
	assert_true(yh_err_temporary(YH_ERR_BUSY));
	assert_false(yh_err_temporary(YH_ERR_IO));
	assert_false(yh_err_temporary(YH_ERR_DB));
}

/* A caller of yh_errf that returns its own code, as the modules do. */
static int
fail_with(char *err, size_t errsz, int n)
{
	return YH_FAIL(YH_ERR_INVALID, err, errsz, "item %d: %s", n, "bad");
}

static void
test_errf(void **state)
{
	char err[16], tiny[4];

	(void)state;
	yh_errf(err, sizeof(err), "%s:%d: %s", "f", 7, "x");
	assert_string_equal(err, "f:7: x");
	/* Cut short, always terminated. */
	memset(tiny, 'z', sizeof(tiny));
	yh_errf(tiny, sizeof(tiny), "abcdef");
	assert_string_equal(tiny, "abc");
	/* No buffer, or a zero size: nothing written, no crash. */
	yh_errf(NULL, 0, "ignored %d", 1);
	memset(tiny, 'z', sizeof(tiny));
	yh_errf(tiny, 0, "ignored");
	assert_memory_equal(tiny, "zzzz", 4);
	/* YH_FAIL formats and hands back the code. */
	assert_int_equal(fail_with(err, sizeof(err), 3), YH_ERR_INVALID);
	assert_string_equal(err, "item 3: bad");
	assert_int_equal(fail_with(NULL, 0, 3), YH_ERR_INVALID);
}

static void
test_url_pct_encode(void **state)
{
	struct yh_buf b;

	(void)state;
	yh_buf_init(&b, 256);
	/* Unreserved kept; reserved, space, '+', '%', controls and UTF-8 bytes as %XX. */
	assert_int_equal(yh_url_pct_encode(&b, "Az09-._~"), 0);
	assert_string_equal(yh_buf_cstr(&b), "Az09-._~");
	yh_buf_reset(&b);
	assert_int_equal(yh_url_pct_encode(&b, "a b+c/d?e=f&g#h%i:j@k\x01\x7f"), 0);
	assert_string_equal(yh_buf_cstr(&b),
	    "a%20b%2Bc%2Fd%3Fe%3Df%26g%23h%25i%3Aj%40k%01%7F");
	yh_buf_reset(&b);
	assert_int_equal(yh_url_pct_encode(&b, "\xe5\x9b\x9e"), 0);   /* 回 */
	assert_string_equal(yh_buf_cstr(&b), "%E5%9B%9E");
	yh_buf_reset(&b);
	assert_int_equal(yh_url_pct_encode(&b, ""), 0);
	assert_string_equal(yh_buf_cstr(&b), "");
	yh_buf_free(&b);
	/* Past the buffer's cap: YH_ERR_TOO_LONG, never a cut escape. */
	yh_buf_init(&b, 4);
	assert_int_equal(yh_url_pct_encode(&b, "ab/c"), YH_ERR_TOO_LONG);
	assert_string_equal(yh_buf_cstr(&b), "ab");
	yh_buf_free(&b);
}

/* RFC 3629's table of well-formed sequences: true when the n bytes at p could still
 * become one (a reference for yh_utf8_incomplete, written from the RFC's byte ranges). */
static bool
utf8_prefix_ref(const unsigned char *p, size_t n)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t len;

	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
	else
		return false;
	if (n >= len)
		return false;
	for (size_t i = 1; i < n; i++)
		if (p[i] < (i == 1 ? lo : 0x80) || p[i] > (i == 1 ? hi : 0xbf))
			return false;
	return true;
}

static void
test_utf8_stream(void **state)
{
	unsigned char b[3];

	(void)state;
	/* Every 1-, 2- and 3-byte input: cut short exactly when the RFC says it may go on. */
	for (unsigned x = 0; x < 256; x++) {
		b[0] = (unsigned char)x;
		assert_int_equal(yh_utf8_incomplete((char *)b, 1), utf8_prefix_ref(b, 1));
		for (unsigned y = 0; y < 256; y++) {
			b[1] = (unsigned char)y;
			assert_int_equal(yh_utf8_incomplete((char *)b, 2), utf8_prefix_ref(b, 2));
			if (x < 0xe0)
				continue;
			for (unsigned z = 0; z < 256; z++) {
				b[2] = (unsigned char)z;
				assert_int_equal(yh_utf8_incomplete((char *)b, 3),
				    utf8_prefix_ref(b, 3));
			}
		}
	}
	assert_true(yh_utf8_incomplete("\xe4\xb8", 2));        /* 中 cut */
	assert_false(yh_utf8_incomplete("\xe4\xb8\xad", 3));   /* 中 whole */
	assert_false(yh_utf8_incomplete("\xed\xa0", 2));        /* a surrogate's start */
	assert_false(yh_utf8_incomplete("A", 1));
	/* Whole strings. */
	assert_true(yh_utf8_valid("\xe4\xb8\xad\xf0\x9f\x98\x80", 7));
	assert_true(yh_utf8_valid("a\0b", 3));
	assert_true(yh_utf8_valid("", 0));
	assert_false(yh_utf8_valid("\xc0\xaf", 2));
	assert_false(yh_utf8_valid("\xed\xa0\x80", 3));
	assert_false(yh_utf8_valid("\xf4\x90\x80\x80", 4));
	assert_false(yh_utf8_valid("ok\xe4\xb8", 4));
	/* Code points, not bytes. */
	assert_int_equal(yh_utf8_chars(""), 0);
	assert_int_equal(yh_utf8_chars("abc"), 3);
	assert_int_equal(yh_utf8_chars("\xe5\xbc\xa0\xe4\xb8\x89 Li"), 5);
	assert_int_equal(yh_utf8_chars("\xf0\x9f\x98\x80!"), 2);
}

/* A snapshot for the tests: a value, and a count of frees shared by all of them. */
struct tsnap {
	struct yh_snap hdr;
	int value;
	int *freed;
};

static void
tsnap_free(struct yh_snap *h)
{
	struct tsnap *t = (struct tsnap *)h;

	__atomic_add_fetch(t->freed, 1, __ATOMIC_RELAXED);
	t->value = -1;
	free(t);
}

static struct yh_snap *
tsnap_new(int value, int *freed)
{
	struct tsnap *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	yh_snap_init(&t->hdr, tsnap_free);
	t->value = value;
	t->freed = freed;
	return &t->hdr;
}

static void
test_snapshot(void **state)
{
	struct yh_snap_slot slot;
	struct yh_snap *a, *b;
	int freed = 0;

	(void)state;
	assert_int_equal(yh_snap_slot_init(&slot), 0);
	assert_null(yh_snap_acquire(&slot));
	yh_snap_publish(&slot, tsnap_new(1, &freed));
	a = yh_snap_acquire(&slot);
	assert_int_equal(((struct tsnap *)a)->value, 1);
	/* Replaced while held: the reader's copy stays whole until it lets go. */
	yh_snap_publish(&slot, tsnap_new(2, &freed));
	assert_int_equal(freed, 0);
	assert_int_equal(((struct tsnap *)a)->value, 1);
	b = yh_snap_acquire(&slot);
	assert_int_equal(((struct tsnap *)b)->value, 2);
	yh_snap_release(a);
	assert_int_equal(freed, 1);
	/* Replaced while nobody holds it: freed at once. */
	yh_snap_release(b);
	yh_snap_publish(&slot, tsnap_new(3, &freed));
	assert_int_equal(freed, 2);
	/* The slot's reference goes with the slot; a reader's outlives it. */
	a = yh_snap_acquire(&slot);
	yh_snap_slot_destroy(&slot);
	assert_int_equal(freed, 2);
	assert_int_equal(((struct tsnap *)a)->value, 3);
	yh_snap_release(a);
	assert_int_equal(freed, 3);
	yh_snap_release(NULL);
}

#define SNAP_READERS 4
#define SNAP_ROUNDS 20000

struct snap_race {
	struct yh_snap_slot slot;
	int stop;
	long bad;
};

static void *
snap_reader(void *arg)
{
	struct snap_race *r = arg;
	long bad = 0;

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		struct yh_snap *s = yh_snap_acquire(&r->slot);

		bad += s == NULL || ((struct tsnap *)s)->value < 0;
		yh_snap_release(s);
	}
	__atomic_add_fetch(&r->bad, bad, __ATOMIC_RELAXED);
	return NULL;
}

/* Readers take and drop snapshots while one thread keeps replacing them: no reader sees
 * a freed one, and every snapshot is freed exactly once (ASan checks the rest). */
static void
test_snapshot_threads(void **state)
{
	struct snap_race r;
	pthread_t t[SNAP_READERS];
	int freed = 0;

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_int_equal(yh_snap_slot_init(&r.slot), 0);
	yh_snap_publish(&r.slot, tsnap_new(0, &freed));
	for (int i = 0; i < SNAP_READERS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, snap_reader, &r), 0);
	for (int i = 1; i <= SNAP_ROUNDS; i++)
		yh_snap_publish(&r.slot, tsnap_new(i, &freed));
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < SNAP_READERS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(r.bad, 0);
	assert_int_equal(freed, SNAP_ROUNDS);
	yh_snap_slot_destroy(&r.slot);
	assert_int_equal(freed, SNAP_ROUNDS + 1);
}

static void
test_utf8_decode(void **state)
{
	static const char *bad[] = {
		"\x80", "\xbf", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xe0\x9f\xbf",
		"\xed\xa0\x80", "\xed\xbf\xbf", "\xf0\x80\x80\xaf", "\xf0\x8f\xbf\xbf",
		"\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "\xc3", "\xe4\xb8", "\xf0\x9f\x98",
		"\xc3\x28", "\xe4\x28\xad", "\xf0\x9f\x28\x80",
	};
	uint32_t cp = 0;

	(void)state;
	assert_int_equal(yh_utf8_next("A", 1, &cp), 1);
	assert_int_equal(cp, 'A');
	assert_int_equal(yh_utf8_next("\0x", 2, &cp), 1);
	assert_int_equal(cp, 0);
	assert_int_equal(yh_utf8_next("\xc2\x80", 2, &cp), 2);
	assert_int_equal(cp, 0x80);
	assert_int_equal(yh_utf8_next("\xe4\xb8\x80", 3, &cp), 3);    /* 一 */
	assert_int_equal(cp, 0x4e00);
	assert_int_equal(yh_utf8_next("\xef\xbc\x91", 3, &cp), 3);    /* full-width 1 */
	assert_int_equal(cp, 0xff11);
	assert_int_equal(yh_utf8_next("\xed\x9f\xbf", 3, &cp), 3);    /* below surrogates */
	assert_int_equal(cp, 0xd7ff);
	assert_int_equal(yh_utf8_next("\xf0\xa0\x80\x80", 4, &cp), 4);
	assert_int_equal(cp, 0x20000);
	assert_int_equal(yh_utf8_next("\xf4\x8f\xbf\xbf", 4, &cp), 4);
	assert_int_equal(cp, 0x10ffff);
	/* A sequence cut short by n, though the bytes follow in memory. */
	assert_int_equal(yh_utf8_next("\xe4\xb8\x80", 2, &cp), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cp = 12345;
		assert_int_equal(yh_utf8_next(bad[i], strlen(bad[i]), &cp), 0);
		assert_int_equal(cp, 12345);
	}
	assert_true(yh_utf8_valid("\xe5\xbc\xa0\xe4\xb8\x89 Li", 9));
	assert_false(yh_utf8_valid("ok\xe5\xbc", 4));
}

static void
test_utf8_roundtrip(void **state)
{
	static const uint32_t cps[] = { 0, 0x41, 0x7f, 0x80, 0x7ff, 0x800, 0x4e00, 0xd7ff,
		0xe000, 0xfffd, 0xffff, 0x10000, 0x10ffff };
	static const size_t lens[] = { 1, 1, 1, 2, 2, 3, 3, 3, 3, 3, 3, 4, 4 };
	unsigned char b[YH_UTF8_MAX];
	uint32_t cp;

	(void)state;
	for (size_t i = 0; i < sizeof(cps) / sizeof(cps[0]); i++) {
		size_t n = yh_utf8_put(cps[i], b);

		assert_int_equal(n, lens[i]);
		assert_int_equal(yh_utf8_next((const char *)b, n, &cp), n);
		assert_int_equal(cp, cps[i]);
	}
	assert_int_equal(yh_utf8_put(0x4e00, b), 3);
	assert_memory_equal(b, "\xe4\xb8\x80", 3);
}

/* Counts the entries of dir whose name contains part. */
static int
count_named(const char *dir, const char *part)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strstr(e->d_name, part) != NULL)
			n++;
	closedir(d);
	return n;
}

static void
test_atomicfile_write(void **state)
{
	char dir[] = "/tmp/yh-common-XXXXXX", path[128], *text = NULL;
	struct yh_file_fail f;
	struct stat st;
	size_t len = 0;
	mode_t old;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state.json", dir);
	old = umask(0);   /* the file is 0600 whatever the umask */
	assert_int_equal(yh_file_write_atomic(path, "one", 3, 0600, YH_FILE_REPLACE, &f), 0);
	umask(old);
	assert_int_equal(f.step, YH_FILE_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* REPLACE renames over the old content. */
	assert_int_equal(yh_file_write_atomic(path, "second", 6, 0600, YH_FILE_REPLACE, &f), 0);
	assert_int_equal(yh_file_read_private(path, 64, &text, &len, &f), 0);
	assert_int_equal(len, 6);
	assert_string_equal(text, "second");
	yh_freezero(text, len + 1);
	/* NOREPLACE never replaces: the old content stays, EXISTS says why. */
	assert_int_equal(yh_file_write_atomic(path, "third", 5, 0600, YH_FILE_NOREPLACE, &f),
	    YH_ERR_EXISTS);
	assert_int_equal(f.step, YH_FILE_PLACE);
	assert_string_equal(f.file, path);
	assert_int_equal(yh_file_read_private(path, 64, &text, &len, &f), 0);
	assert_string_equal(text, "second");
	yh_freezero(text, len + 1);
	assert_int_equal(count_named(dir, ".tmp-"), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(yh_file_write_atomic(path, "new", 3, 0600, YH_FILE_NOREPLACE, &f), 0);
	assert_int_equal(yh_file_read_private(path, 64, &text, &len, &f), 0);
	assert_string_equal(text, "new");
	yh_freezero(text, len + 1);
	assert_int_equal(count_named(dir, ".tmp-"), 0);
	/* A directory that does not exist: the temporary file cannot be created. */
	snprintf(path, sizeof(path), "%s/nodir/x", dir);
	assert_int_equal(yh_file_write_atomic(path, "x", 1, 0600, YH_FILE_REPLACE, &f),
	    YH_ERR_IO);
	assert_int_equal(f.step, YH_FILE_CREATE);
	assert_int_equal(f.errnum, ENOENT);
	assert_non_null(strstr(f.file, "/nodir/.x.tmp-"));
	snprintf(path, sizeof(path), "%s/state.json", dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void
test_atomicfile_read_private(void **state)
{
	char dir[] = "/tmp/yh-common-XXXXXX", path[128], link_path[140], err[256];
	char *text = NULL;
	struct yh_file_fail f;
	size_t len = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/key", dir);
	assert_int_equal(yh_file_read_private(path, 64, &text, &len, &f), YH_ERR_NOT_FOUND);
	assert_int_equal(f.step, YH_FILE_OPEN);
	assert_int_equal(yh_file_write_atomic(path, "0123456789", 10, 0600, YH_FILE_REPLACE,
	    &f), 0);
	/* Over the maximum. */
	assert_int_equal(yh_file_read_private(path, 9, &text, &len, &f), YH_ERR_TOO_LONG);
	assert_int_equal(f.step, YH_FILE_TOO_LARGE);
	assert_null(text);
	assert_int_equal(yh_file_read_private(path, 10, &text, &len, &f), 0);
	assert_int_equal(len, 10);
	yh_freezero(text, len + 1);
	/* Readable by group: refused, and the plain wording names the mode. */
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(yh_file_read_private(path, 64, &text, &len, &f), YH_ERR_PERM);
	assert_int_equal(f.step, YH_FILE_MODE);
	assert_int_equal(f.mode & 0777, 0640);
	assert_null(text);
	yh_file_fail_msg(&f, err, sizeof(err));
	assert_non_null(strstr(err, "key: accessible by group or others (mode 640); chmod 600"));
	assert_int_equal(chmod(path, 0604), 0);
	assert_int_equal(yh_file_read_private(path, 64, &text, &len, &f), YH_ERR_PERM);
	assert_int_equal(chmod(path, 0600), 0);
	/* A symlink is not followed; a directory is not a regular file. */
	snprintf(link_path, sizeof(link_path), "%s/link", dir);
	assert_int_equal(symlink(path, link_path), 0);
	assert_int_not_equal(yh_file_read_private(link_path, 64, &text, &len, &f), 0);
	assert_int_equal(f.step, YH_FILE_OPEN);
	assert_int_equal(yh_file_read_private(dir, 64, &text, &len, &f), YH_ERR_PERM);
	assert_int_equal(f.step, YH_FILE_NOT_REGULAR);
	yh_file_fail_msg(&f, err, sizeof(err));
	assert_non_null(strstr(err, ": not a regular file"));
	assert_int_equal(unlink(link_path), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void
test_json_escape(void **state)
{
	static const char in[] = "plain \"q\" \\ tab\t nl\n cr\r \x01\x1f\x7f \xe5\xbc\xa0 end";
	static const char want[] = "plain \\\"q\\\" \\\\ tab\\t nl\\n cr\\r \\u0001\\u001f\\u007f "
	    "\xe5\xbc\xa0 end";
	struct yh_buf b;

	(void)state;
	yh_buf_init(&b, 1024);
	assert_int_equal(yh_json_escape(&b, in, sizeof(in) - 1), 0);
	assert_int_equal(b.len, sizeof(want) - 1);
	assert_memory_equal(b.data, want, sizeof(want) - 1);
	/* len counts: an embedded NUL is escaped, bytes past len are not read. */
	yh_buf_reset(&b);
	assert_int_equal(yh_json_escape(&b, "a\0b\"c", 4), 0);
	assert_string_equal(yh_buf_cstr(&b), "a\\u0000b\\\"");
	yh_buf_reset(&b);
	assert_int_equal(yh_json_escape(&b, "", 0), 0);
	assert_int_equal(b.len, 0);
	yh_buf_free(&b);
	/* Bounded: a run that does not fit fails. */
	yh_buf_init(&b, 4);
	assert_int_equal(yh_json_escape(&b, "abcdef", 6), YH_ERR_TOO_LONG);
	yh_buf_free(&b);
}

/* The room check reads the file system's free space; its reason names no path. */
static void
test_file_room(void **state)
{
	char dir[] = "/tmp/yh-common-XXXXXX", path[128], why[160];
	struct statvfs sv;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(statvfs(dir, &sv), 0);
	if ((unsigned long long)sv.f_bavail * sv.f_frsize >= 2ull * YH_FILE_ROOM_MIN) {
		assert_int_equal(yh_file_room(dir, why, sizeof(why)), 0);
		assert_string_equal(why, "");
	}
	snprintf(path, sizeof(path), "%s/missing/file", dir);
	assert_int_equal(yh_file_room(path, why, sizeof(why)), YH_ERR_IO);
	assert_non_null(strstr(why, "statvfs"));
	assert_null(strstr(why, dir));
	assert_int_equal(rmdir(dir), 0);
}

/* Key files: also owned by the reader's effective uid (root reads anyone's, so only the
 * owner tells a key another account put in place). */
static void
test_atomicfile_read_key(void **state)
{
	char dir[] = "/tmp/yh-common-XXXXXX", path[128], err[512], *text = NULL;
	unsigned char key[32];
	struct yh_file_fail f;
	size_t len = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/k.key", dir);
	assert_int_equal(yh_file_write_atomic(path, "secret", 6, 0600, YH_FILE_REPLACE, &f), 0);
	assert_int_equal(yh_file_read_key(path, 64, &text, &len, &f), 0);
	yh_freezero(text, len + 1);
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(yh_file_read_key(path, 64, &text, &len, &f), YH_ERR_PERM);
	assert_int_equal(f.step, YH_FILE_MODE);
	assert_int_equal(chmod(path, 0600), 0);
	if (geteuid() != 0) {
		unlink(path);
		rmdir(dir);
		skip();
	}
	assert_int_equal(chown(path, 4242, 4242), 0);
	assert_int_equal(yh_file_read_key(path, 64, &text, &len, &f), YH_ERR_PERM);
	assert_int_equal(f.step, YH_FILE_OWNER);
	assert_int_equal(f.owner, 4242);
	assert_null(text);
	yh_file_fail_msg(&f, err, sizeof(err));
	assert_non_null(strstr(err, "k.key: owned by uid 4242, not by uid 0 that reads it"));
	/* the private files that are not keys (an app's secret file) need no owner */
	assert_int_equal(yh_file_read_private(path, 64, &text, &len, &f), 0);
	yh_freezero(text, len + 1);
	/* and the key files of yh_keyfile_get are keys */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(yh_keyfile_get(path, sizeof(key), true, key, err, sizeof(err)), 0);
	assert_int_equal(chown(path, 4242, 4242), 0);
	assert_int_equal(yh_keyfile_get(path, sizeof(key), false, key, err, sizeof(err)),
	    YH_ERR_PERM);
	assert_non_null(strstr(err, "owned by uid 4242"));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* A file another account reads through its group: that group and 0640 from the start. */
static void
test_atomicfile_write_group(void **state)
{
	char dir[] = "/tmp/yh-common-XXXXXX", path[128];
	gid_t gid = geteuid() == 0 ? 4242 : getegid();
	struct yh_file_fail f;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/shared.json", dir);
	assert_int_equal(yh_file_write_atomic_group(path, "{}", 2, 0640, gid, YH_FILE_REPLACE,
	    &f), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_gid, gid);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(count_named(dir, ".tmp-"), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void
test_atomicfile_lock(void **state)
{
	char dir[] = "/tmp/yh-common-XXXXXX", path[128];
	struct yh_file_fail f;
	struct stat st;
	int fd = -2, other;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/x.lock", dir);
	/* Shared on a missing file: nobody ever wrote, no lock. */
	assert_int_equal(yh_file_lock(path, false, &fd, &f), 0);
	assert_int_equal(fd, -1);
	assert_int_equal(yh_file_lock(path, true, &fd, &f), 0);
	assert_true(fd >= 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* Held: another open file description cannot take it. */
	other = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(other >= 0);
	assert_int_not_equal(flock(other, LOCK_EX | LOCK_NB), 0);
	assert_int_equal(errno, EWOULDBLOCK);
	yh_file_unlock(fd);
	assert_int_equal(flock(other, LOCK_EX | LOCK_NB), 0);
	close(other);
	yh_file_unlock(-1);
	assert_int_equal(yh_file_lock(path, false, &fd, &f), 0);
	assert_true(fd >= 0);
	yh_file_unlock(fd);
	/* A bounded wait: busy while another holds the lock, taken once it is free. */
	other = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(other >= 0);
	assert_int_equal(flock(other, LOCK_EX), 0);
	int64_t t0 = yh_mono_ns();
	assert_int_equal(yh_file_lock_within(path, false, 60, &fd, &f), YH_ERR_BUSY);
	assert_true(yh_mono_ns() - t0 >= 60 * 1000000LL);
	assert_int_equal(fd, -1);
	assert_int_equal(f.step, YH_FILE_LOCK);
	assert_int_equal(f.errnum, EWOULDBLOCK);
	assert_int_equal(yh_file_lock_within(path, true, 0, &fd, &f), YH_ERR_BUSY);
	close(other);
	assert_int_equal(yh_file_lock_within(path, false, 60, &fd, &f), 0);
	assert_true(fd >= 0);
	yh_file_unlock(fd);
	/* A lock file in a missing directory. */
	snprintf(path, sizeof(path), "%s/nodir/x.lock", dir);
	assert_int_equal(yh_file_lock(path, true, &fd, &f), YH_ERR_IO);
	assert_int_equal(fd, -1);
	assert_int_equal(f.step, YH_FILE_OPEN);
	snprintf(path, sizeof(path), "%s/x.lock", dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void
test_keyfile(void **state)
{
	char dir[] = "/tmp/yh-common-XXXXXX", path[128], err[512], text[80];
	unsigned char k1[32], k2[32];
	struct stat st;
	FILE *fp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/pairwise.key", dir);
	assert_int_equal(yh_keyfile_get(path, 32, false, k1, err, sizeof(err)), YH_ERR_KEY);
	assert_non_null(strstr(err, "pairwise.key: cannot read key file: "));
	assert_int_equal(yh_keyfile_get(path, 32, true, k1, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 65);
	/* Never replaced: the second call reads the same key. */
	assert_int_equal(yh_keyfile_get(path, 32, true, k2, err, sizeof(err)), 0);
	assert_memory_equal(k1, k2, 32);
	assert_int_equal(count_named(dir, ".tmp"), 0);
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(yh_keyfile_get(path, 32, true, k2, err, sizeof(err)), YH_ERR_PERM);
	assert_non_null(strstr(err, "key file is accessible by group or others (mode 640)"));
	assert_int_equal(chmod(path, 0600), 0);
	/* The wrong length for what is asked, then not hex. */
	assert_int_equal(yh_keyfile_get(path, 16, false, k2, err, sizeof(err)), YH_ERR_KEY);
	assert_non_null(strstr(err, "key file is malformed (expected 32 hex digits)"));
	memset(text, 'g', 64);
	text[64] = '\n';
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(text, 1, 65, fp), 65);
	fclose(fp);
	assert_int_equal(yh_keyfile_get(path, 32, false, k2, err, sizeof(err)), YH_ERR_KEY);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(yh_keyfile_get(dir, 32, false, k2, err, sizeof(err)), YH_ERR_PERM);
	assert_non_null(strstr(err, "key file is not a regular file"));
	assert_int_equal(rmdir(dir), 0);
}

/* yh_buf_reserve: room made once, appends within it keep the memory, max still holds. */
static void
test_buf_reserve(void **state)
{
	struct yh_buf b;
	char chunk[100];
	const char *at;

	(void)state;
	memset(chunk, 'x', sizeof(chunk));
	yh_buf_init(&b, 1000);
	assert_int_equal(yh_buf_reserve(&b, 1001), YH_ERR_TOO_LONG);
	assert_null(b.data);
	assert_int_equal(yh_buf_reserve(&b, 1000), 0);
	at = b.data;
	for (int i = 0; i < 10; i++)
		assert_int_equal(yh_buf_append(&b, chunk, sizeof(chunk)), 0);
	assert_ptr_equal(b.data, at);
	assert_int_equal(b.len, 1000);
	assert_int_equal(yh_buf_putc(&b, 'y'), YH_ERR_TOO_LONG);
	assert_int_equal(yh_buf_reserve(&b, 1), YH_ERR_TOO_LONG);
	yh_buf_free(&b);
}

/* The pre-fetched SHA-256 gives the FIPS 180-2 answers, from any thread's first use. */
static void *
sha256_abc(void *arg)
{
	unsigned char md[YH_SHA256_LEN];
	char hex[2 * YH_SHA256_LEN + 1];

	(void)arg;
	if (yh_sha256("abc", 3, md) != 0)
		return NULL;
	yh_hex_encode(md, sizeof(md), hex);
	return strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
	    == 0 ? arg : NULL;
}

static void
test_sha256(void **state)
{
	unsigned char md[YH_SHA256_LEN];
	char hex[2 * YH_SHA256_LEN + 1];
	pthread_t th[4];
	int tag = 1;
	void *res;

	for (size_t i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, sha256_abc, &tag), 0);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], &res), 0);
		assert_ptr_equal(res, &tag);
	}
	assert_int_equal(yh_sha256("", 0, md), 0);
	yh_hex_encode(md, sizeof(md), hex);
	assert_string_equal(hex,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_ptr_equal(yh_sha256_md(), yh_sha256_md());
	assert_true(EVP_MD_is_a(yh_sha256_md(), "SHA256"));
	/* Fetched from a provider, not the legacy object that is looked up at every use. */
	assert_non_null(EVP_MD_get0_provider(yh_sha256_md()));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_bounded),
		cmocka_unit_test(test_span),
		cmocka_unit_test(test_b64url),
		cmocka_unit_test(test_secmem),
		cmocka_unit_test(test_random_stock),
		cmocka_unit_test(test_random_fork),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_config_nul),
		cmocka_unit_test(test_config_bounds),
		cmocka_unit_test(test_config_reload),
		cmocka_unit_test(test_config_reload_table),
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_redact_folded),
		cmocka_unit_test(test_log_redaction),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_errf),
		cmocka_unit_test(test_url_pct_encode),
		cmocka_unit_test(test_json_escape),
		cmocka_unit_test(test_utf8_decode),
		cmocka_unit_test(test_utf8_roundtrip),
		cmocka_unit_test(test_utf8_stream),
		cmocka_unit_test(test_snapshot),
		cmocka_unit_test(test_snapshot_threads),
		cmocka_unit_test(test_atomicfile_write),
		cmocka_unit_test(test_atomicfile_read_private),
		cmocka_unit_test(test_atomicfile_read_key),
		cmocka_unit_test(test_atomicfile_write_group),
		cmocka_unit_test(test_atomicfile_lock),
		cmocka_unit_test(test_file_room),
		cmocka_unit_test(test_keyfile),
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_buf_reserve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
