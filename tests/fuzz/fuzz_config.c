/*
 * libFuzzer target for configuration files: the "key = value" parser of common/config.c
 * and authd's whole option table as authd loads it (authd_cfg_load: defaults, the file,
 * then the checks the table cannot express and the derived values).
 *
 * Input: byte 0 picks the mode, the rest is the file text, read from a memory file.
 *   bit 0 clear  authd_cfg_load (bit 1: with -d STATE_DIR and -l ADDR:PORT as well);
 *   bit 0 set    yh_cfg_load_file with a small table holding every option type (bit 1:
 *                YH_CFG_PARTIAL).
 *
 * Invariants checked, beyond "no crash, no leak":
 *   - the answer is 0 or YH_ERR_CONFIG (the file is readable; nothing else may fail);
 *   - a file holding a NUL byte is refused;
 *   - every error names the file, and a line where it names one: "FILE:N: " with N a
 *     line of the file (errors of authd's own checks may name "FILE: " for an option
 *     left at its default, or the command line);
 *   - every value accepted is within its option's bounds: numbers and durations within
 *     [min, max], strings at most max bytes (relative paths: plus the file's directory
 *     they were resolved against), a choice one of the choices; authd's derived issuer
 *     is an http(s) URL and its thread count within 1..256;
 *   - (test table) the values dumped by yh_cfg_dump load back to the same values;
 *   - (authd) a running authd whose file held only state_dir reloads it holding the input
 *     (authd_cfg_reload, no parts to apply to): it fails exactly when the load failed,
 *     and otherwise every IMMUTABLE option keeps the running value and every
 *     RELOADABLE one takes the input's, each change noted once.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"

#include "authcore/authd_config.h"
#include "common/buf.h"
#include "common/config.h"
#include "common/log.h"

#define INPUT_MAX (64 * 1024)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the test table: one option of each type ------------------------------------------- */

struct tcfg {
	char *s, *p, *e, *k;
	int64_t i, d;
	bool b;
};

static const char *const tchoices[] = { "a", "bb", "ccc", NULL };

#define TOFF(f) offsetof(struct tcfg, f)

static const struct yh_cfg_opt topts[] = {
	{ .name = "s", .type = YH_CFG_STR, .def = "x", .max = 16, .offset = TOFF(s) },
	{ .name = "sec.p", .type = YH_CFG_PATH, .def = NULL, .max = 200, .offset = TOFF(p) },
	{ .name = "sec.e", .type = YH_CFG_ENUM, .def = "a", .max = 8, .choices = tchoices,
	  .offset = TOFF(e) },
	{ .name = "sec.k", .type = YH_CFG_STR, .def = NULL, .max = 64,
	  .flags = YH_CFG_SENSITIVE, .offset = TOFF(k) },
	{ .name = "i", .type = YH_CFG_INT, .def = "7", .min = -5, .max = 1000,
	  .offset = TOFF(i) },
	{ .name = "d", .type = YH_CFG_DURATION, .def = "1m", .min = 0, .max = 86400,
	  .offset = TOFF(d) },
	{ .name = "b", .type = YH_CFG_BOOL, .def = "no", .offset = TOFF(b) },
	{ .name = NULL },
};

static int infd = -1, dumpfd = -1;
static char inpath[64], dumppath[64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	yh_log_set_level(YH_LOG_OFF);
	/* One memory file for the input and one for a dump, rewritten for every input. */
	CHECK((infd = fuzz_memfd("fuzz_config", "", 0, inpath, sizeof(inpath))) >= 0);
	CHECK((dumpfd = fuzz_memfd("fuzz_config_dump", "", 0, dumppath, sizeof(dumppath))) >= 0);
	return 0;
}

/* ---- checks shared by both tables ------------------------------------------------------ */

/* err names path, then ": " or ":N: " with N a line of the file (1..nlines). */
static void
check_where(const char *err, const char *path, size_t nlines, bool line_required)
{
	size_t plen = strlen(path);
	const char *p;
	uint64_t n = 0;

	CHECK(strncmp(err, path, plen) == 0 && err[plen] == ':');
	p = err + plen + 1;
	if (*p == ' ') {
		CHECK(!line_required);
		return;
	}
	CHECK(*p >= '1' && *p <= '9');
	while (*p >= '0' && *p <= '9' && n < 1000000)
		n = n * 10 + (uint64_t)(*p++ - '0');
	CHECK(*p == ':' && p[1] == ' ');
	CHECK(n >= 1 && n <= nlines);
}

/* The values of a loaded table lie within its options' bounds. */
static void
check_bounds(const struct yh_cfg_opt *opts, const void *base, size_t dirlen)
{
	for (const struct yh_cfg_opt *o = opts; o->name != NULL; o++) {
		const char *slot = (const char *)base + o->offset;
		const char *s;
		int64_t v;
		size_t n;

		switch (o->type) {
		case YH_CFG_INT:
		case YH_CFG_DURATION:
			v = *(const int64_t *)(const void *)slot;
			CHECK(v >= o->min && v <= o->max);
			break;
		case YH_CFG_BOOL:
			/* UBSan reports a bool that is neither 0 nor 1 on this load */
			CHECK(*(const bool *)(const void *)slot == true ||
			    *(const bool *)(const void *)slot == false);
			break;
		case YH_CFG_STR:
		case YH_CFG_PATH:
		case YH_CFG_ENUM:
			if ((s = *(char *const *)(const void *)slot) == NULL)
				break;
			n = strlen(s);
			if (o->max > 0)
				CHECK((int64_t)n <= o->max + (o->type == YH_CFG_PATH ?
				    (int64_t)dirlen : 0));
			if (o->type == YH_CFG_ENUM) {
				bool found = false;

				for (size_t i = 0; o->choices[i] != NULL; i++)
					found = found || strcmp(o->choices[i], s) == 0;
				CHECK(found);
			}
			break;
		case YH_CFG_FAMILY:
			break;   /* its hook's own struct (cert.ca.*: federation/x509.h) */
		}
	}
}

/* ---- authd's table ---------------------------------------------------------------------- */

/* True when o has the same value in a and b. */
static bool
same_value(const struct yh_cfg_opt *o, const void *a, const void *b)
{
	const char *x = (const char *)a + o->offset, *y = (const char *)b + o->offset;

	switch (o->type) {
	case YH_CFG_INT:
	case YH_CFG_DURATION:
		return *(const int64_t *)(const void *)x == *(const int64_t *)(const void *)y;
	case YH_CFG_BOOL:
		return *(const bool *)(const void *)x == *(const bool *)(const void *)y;
	case YH_CFG_FAMILY:
		return true;   /* the table keeps nothing of its own for it */
	default:
		x = *(char *const *)(const void *)x;
		y = *(char *const *)(const void *)y;
		return x == NULL || y == NULL ? x == y : strcmp(x, y) == 0;
	}
}

/* Counts the changes a reload notes, checking each against the option's kind. */
static void
count_note(void *arg, const struct yh_cfg_opt *o, bool applied, const void *old,
    const void *new)
{
	size_t *n = arg;

	CHECK(applied == ((o->flags & YH_CFG_RELOADABLE) != 0));
	CHECK(!same_value(o, old, new));
	(*n)++;
}

/* A running authd, started on a file holding only state_dir, reloads the input. */
static void
fuzz_reload(const struct authd_cfg *loaded, int loaded_r, bool cli)
{
	static const char empty[] = "state_dir = /var/lib/yihao\n";
	struct authd_cfg_targets none = { 0 };
	size_t notes = 0;
	struct yh_cfg_reload rl = { .ctx = &none, .note = count_note, .note_arg = &notes };
	struct authd_cfg cur, next;
	char err[1024];
	int r;

	CHECK(fuzz_write_all(dumpfd, empty, sizeof(empty) - 1) == 0);
	CHECK(authd_cfg_load(&cur, dumppath, cli ? "/var/lib/yihao" : NULL,
	    cli ? "127.0.0.1:0" : NULL, err, sizeof(err)) == 0);
	free(cur.config_path);
	CHECK((cur.config_path = strdup(inpath)) != NULL);
	r = authd_cfg_reload(&cur, &next, &rl, err, sizeof(err));
	yh_log_set_level(YH_LOG_OFF);           /* log.level may have been applied */
	CHECK(r == loaded_r);
	if (r == 0) {
		for (const struct yh_cfg_opt *o = authd_cfg_opts; o->name != NULL; o++)
			CHECK(same_value(o, &next, (o->flags & YH_CFG_IMMUTABLE) ? (const void *)&cur :
			    (const void *)loaded));
		CHECK(notes == rl.applied + rl.restart);
		CHECK(next.threads == cur.threads);
	}
	authd_cfg_free(&next);
	authd_cfg_free(&cur);
}

static void
fuzz_authd(const uint8_t *text, size_t size, bool cli)
{
	struct authd_cfg c;
	char err[1024];
	int r;

	r = authd_cfg_load(&c, inpath, cli ? "/var/lib/yihao" : NULL,
	    cli ? "127.0.0.1:0" : NULL, err, sizeof(err));
	if (r != 0) {
		CHECK(r == YH_ERR_CONFIG);
		CHECK(err[0] != '\0');
		if (strncmp(err, "command line: ", 14) != 0)
			check_where(err, inpath, fuzz_count_lines(text, size), false);
	} else {
		CHECK(memchr(text, '\0', size) == NULL);
		/* relative paths were resolved against "/proc/self/fd/" */
		check_bounds(authd_cfg_opts, &c, strlen("/proc/self/fd/"));
		CHECK(c.issuer != NULL && (strncmp(c.issuer, "https://", 8) == 0 ||
		    strncmp(c.issuer, "http://", 7) == 0));
		CHECK(c.threads >= 1 && c.threads <= 256);
		CHECK(c.ident.state_dir != NULL && c.ident.state_dir[0] != '\0');
		if (cli) {
			CHECK(strcmp(c.ident.state_dir, "/var/lib/yihao") == 0);
			CHECK(strcmp(c.http_listen, "127.0.0.1:0") == 0);
		}
	}
	fuzz_reload(&c, r, cli);
	authd_cfg_free(&c);
}

/* ---- the test table ---------------------------------------------------------------------- */

/* A string that a dump line gives back as it is: no blanks at either end (the parser
 * trims them) and not wrapped in double quotes (the parser strips one pair). */
static bool
dump_safe(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n == 0)
		return false;
	if (strchr(" \t\r", s[0]) != NULL || strchr(" \t\r", s[n - 1]) != NULL)
		return false;
	return !(n >= 2 && s[0] == '"' && s[n - 1] == '"');
}

static bool
str_same(const char *a, const char *b)
{
	return !dump_safe(a) || (b != NULL && strcmp(a, b) == 0);
}

/* Dumps c, loads the dump over the defaults and compares. */
static void
round_trip(const struct tcfg *c)
{
	struct yh_buf b;
	struct tcfg again;
	struct yh_cfg_err e;

	yh_buf_init(&b, 64 * 1024);
	CHECK(yh_cfg_dump(topts, c, &b) == 0);
	CHECK(fuzz_write_all(dumpfd, b.data, b.len) == 0);
	memset(&again, 0, sizeof(again));
	CHECK(yh_cfg_defaults(topts, &again, &e) == 0);
	if (yh_cfg_load_file(topts, &again, dumppath, 0, &e) == 0) {
		CHECK(again.i == c->i && again.d == c->d && again.b == c->b);
		CHECK(strcmp(again.e, c->e) == 0);
		CHECK(str_same(c->s, again.s));
		CHECK(str_same(c->p, again.p));
	} else {
		/* only a path that its resolution made longer than the option's max */
		CHECK(c->p != NULL && strlen(c->p) > 200);
	}
	yh_cfg_free(topts, &again);
	yh_buf_free(&b);
}

static void
fuzz_table(const uint8_t *text, size_t size, unsigned flags)
{
	struct tcfg c;
	struct yh_cfg_err e;
	char msg[700];
	int r;

	memset(&c, 0, sizeof(c));
	CHECK(yh_cfg_defaults(topts, &c, &e) == 0);
	r = yh_cfg_load_file(topts, &c, inpath, flags, &e);
	if (r != 0) {
		CHECK(r == YH_ERR_CONFIG);
		CHECK(e.msg[0] != '\0');
		yh_cfg_err_format(&e, msg, sizeof(msg));
		check_where(msg, inpath, fuzz_count_lines(text, size), true);
	} else {
		CHECK(memchr(text, '\0', size) == NULL);
		check_bounds(topts, &c, strlen("/proc/self/fd/"));
		round_trip(&c);
	}
	yh_cfg_free(topts, &c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size - 1 > INPUT_MAX)
		return 0;
	CHECK(fuzz_write_all(infd, data + 1, size - 1) == 0);
	if (data[0] & 1)
		fuzz_table(data + 1, size - 1, (data[0] & 2) ? YH_CFG_PARTIAL : 0);
	else
		fuzz_authd(data + 1, size - 1, (data[0] & 2) != 0);
	return 0;
}
