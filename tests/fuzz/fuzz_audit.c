/*
 * libFuzzer target for `authctl audit verify`: the audit log's line parser and verifier
 * (authcore/audit/verify.c, yh_audit_verify), on fuzzed log text and on logs written by the
 * real writer (authcore/audit/audit.c) and then changed in one place.
 *
 * At start a temporary directory (on tmpfs) gets a log written through yh_audit_write
 * with checkpoints tagged by a fixed key (every 4 lines, and one at close), together
 * with its PATH.checkpoint copy; both are kept in memory. The directory is removed at
 * exit.
 *
 * Input: byte 0 picks the mode; bit 2 gives the verifier the checkpoint key, bit 3 a
 * recorded head.
 *   0, 1  text: the rest is the log (mode 1: its first line is PATH.checkpoint, the
 *         rest the log). With bit 3, the head given is the text's first line.
 *   2, 3  one change to the written log: byte 1 the kind (replace, insert, delete one
 *         byte; or cut the file after a whole line), bytes 2-5 where, byte 6 the byte
 *         written. Mode 3 leaves PATH.checkpoint out. With bit 3, the head given is
 *         the written log's "LINES:HASH".
 *
 * Invariants checked, beyond "no crash, no leak":
 *   - the answer is 0, YH_ERR_AUTH, or YH_ERR_INVALID (only for a malformed head);
 *     intact means no damage, as many lines as the file has, and a damage names a line
 *     within the file (or the one after it, for lines cut from the end; or the one a
 *     damaged PATH.checkpoint claims) and says why;
 *   - a log that verifies with the key verifies without it (the key only adds checks);
 *   - a change to any byte before the last line of the written log (a line's hash or
 *     prev, its sequence number, a checkpoint's tag, a line feed) is always found; one
 *     in the last line is found when PATH.checkpoint or the head is given, and one at
 *     the very end (the last line feed) always; lines cut from the end are found when
 *     PATH.checkpoint or the head is given; the unchanged log verifies intact.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "fuzz_util.h"

#include "authcore/audit/audit.h"
#include "common/buf.h"
#include "common/log.h"

#define INPUT_MAX (64 * 1024)
#define GEN_EVENTS 14

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], gen_path[128], text_path[128], text_side[160], mut_path[128],
    mut_side[160];
static struct yh_audit_key key;
static char *gen_log, *gen_side;
static size_t gen_len, gen_side_len, gen_lines, gen_last;   /* gen_last: last line's start */
static char gen_head[96];                                   /* "LINES:HASH" */
static unsigned char *scratch;

/* ---- setup --------------------------------------------------------------------------------- */

static void
cleanup(void)
{
	fuzz_rmtree(dir);
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;

	CHECK(f != NULL);
	CHECK((buf = malloc(INPUT_MAX + 1)) != NULL);
	*len = fread(buf, 1, INPUT_MAX, f);
	CHECK(*len < INPUT_MAX && fclose(f) == 0);
	buf[*len] = '\0';
	return buf;
}

/* A log written by the real writer: events of every shape it records. */
static void
write_log(void)
{
	static const unsigned char raw[YH_AUDIT_KEY_LEN] = "fuzz-audit-checkpoint-key-32byte";
	struct yh_audit_cp_opts o = { .every_lines = 4, .every_ms = 0, .mac = yh_audit_key_mac,
		.mac_ctx = &key };
	struct yh_audit *a = NULL;
	struct yh_audit_report rep;
	struct yh_audit_verify_opts vo = { .keys = &key, .nkeys = 1 };
	char err[256];

	CHECK(yh_audit_key_set(&key, raw) == 0);
	o.kid = key.kid;
	CHECK(yh_audit_open(gen_path, &a, err, sizeof(err)) == 0);
	CHECK(yh_audit_checkpoints(a, &o, err, sizeof(err)) == 0);
	for (int i = 0; i < GEN_EVENTS; i++) {
		json_t *f = json_pack("{s:s, s:i, s:s, s:{s:b, s:[s, s]}}", "ip", "127.0.0.1",
		    "n", i, "who", i % 3 == 0 ? "张三 \"quoted\"\n\\" : "110101199003077777",
		    "more", "ok", i % 2, "list", "a", "\xF0\x9F\x98\x80");

		CHECK(f != NULL);
		CHECK(yh_audit_write(a, i % 2 ? "login.failure" : "user.lock",
		    i % 2 ? "user:0123456789abcdef0123456789abcdef" : "operator:root", f) == 0);
		json_decref(f);
	}
	yh_audit_close(a);
	gen_log = slurp(gen_path, &gen_len);
	CHECK(snprintf(text_path, sizeof(text_path), "%s.checkpoint", gen_path) > 0);
	gen_side = slurp(text_path, &gen_side_len);
	/* the writer's log verifies intact, with its copy, its key and nothing after it */
	CHECK(yh_audit_verify(gen_path, &vo, &rep) == 0 && rep.nwarnings == 0);
	gen_lines = rep.lines;
	CHECK(snprintf(gen_head, sizeof(gen_head), "%llu:%s", (unsigned long long)rep.lines,
	    rep.head) > 0);
	CHECK(gen_len > 0 && gen_log[gen_len - 1] == '\n');
	for (gen_last = gen_len - 1; gen_last > 0 && gen_log[gen_last - 1] != '\n'; gen_last--)
		;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	yh_log_set_level(YH_LOG_OFF);
	CHECK(fuzz_tmpdir("audit", dir, sizeof(dir)) == 0);
	atexit(cleanup);
	snprintf(gen_path, sizeof(gen_path), "%s/written.log", dir);
	write_log();
	snprintf(text_path, sizeof(text_path), "%s/text.log", dir);
	snprintf(text_side, sizeof(text_side), "%s.checkpoint", text_path);
	snprintf(mut_path, sizeof(mut_path), "%s/changed.log", dir);
	snprintf(mut_side, sizeof(mut_side), "%s.checkpoint", mut_path);
	CHECK(fuzz_write_file(mut_side, gen_side, gen_side_len) == 0);
	CHECK((scratch = malloc(gen_len + 2)) != NULL);
	return 0;
}

/* ---- checks ---------------------------------------------------------------------------------- */

static int
verify(const char *path, const char *head, bool with_key, struct yh_audit_report *rep,
    size_t nlines)
{
	struct yh_audit_verify_opts o = { .head = head, .keys = with_key ? &key : NULL,
		.nkeys = with_key ? 1 : 0 };
	int r = yh_audit_verify(path, &o, rep);

	CHECK(r == 0 || r == YH_ERR_AUTH || (r == YH_ERR_INVALID && head != NULL));
	if (r == 0) {
		CHECK(rep->damage == YH_AUDIT_INTACT && rep->bad_line == 0);
		CHECK(rep->lines == nlines);
		CHECK(rep->checked <= rep->checkpoints && rep->covered <= rep->lines);
		CHECK(with_key || rep->checked == 0);
	} else if (r == YH_ERR_AUTH) {
		CHECK(rep->damage != YH_AUDIT_INTACT && rep->reason[0] != '\0');
		/* a line of the file, or the one after it (lines cut from the end); damage to
		 * the PATH.checkpoint copy names the line that copy claims */
		CHECK(rep->bad_line <= nlines + 1 || strstr(rep->reason, ".checkpoint") != NULL);
		CHECK(strcmp(yh_audit_damage_name(rep->damage), "unknown") != 0);
	}
	return r;
}

/* ---- fuzzed text ------------------------------------------------------------------------------- */

static void
fuzz_text(const uint8_t *data, size_t size, bool side, bool with_key, bool with_head)
{
	struct yh_audit_report rep;
	const uint8_t *nl = memchr(data, '\n', size);
	char head[160];
	size_t first = nl != NULL ? (size_t)(nl - data) : size;
	int r;

	head[0] = '\0';
	if (with_head && first < sizeof(head)) {
		memcpy(head, data, first);
		head[first] = '\0';
		if (strlen(head) != first)
			return;                  /* the head comes from a command line */
	}
	if (side) {
		CHECK(fuzz_write_file(text_side, data, nl != NULL ? first + 1 : size) == 0);
		data += nl != NULL ? first + 1 : size;
		size -= nl != NULL ? first + 1 : size;
	} else
		(void)unlink(text_side);
	CHECK(fuzz_write_file(text_path, data, size) == 0);
	r = verify(text_path, with_head ? head : NULL, with_key, &rep,
	    fuzz_count_lines(data, size));
	if (r == 0 && with_key)
		CHECK(verify(text_path, with_head ? head : NULL, false, &rep,
		    fuzz_count_lines(data, size)) == 0);
}

/* ---- one change to the written log --------------------------------------------------------- */

enum change { C_REPLACE, C_INSERT, C_DELETE, C_CUT, C_KINDS };

static void
fuzz_change(const uint8_t *data, size_t size, bool side, bool with_key, bool with_head)
{
	struct yh_audit_report rep;
	enum change kind;
	size_t at, len = gen_len, keep_lines = gen_lines;
	uint8_t byte;
	bool changed = true, must_find, at_end = false;
	int r;

	if (size < 6)
		return;
	kind = (enum change)(data[0] % C_KINDS);
	at = (size_t)((uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16 |
	    (uint32_t)data[4] << 24);
	byte = data[5];
	memcpy(scratch, gen_log, gen_len);
	switch (kind) {
	case C_REPLACE:
		at %= gen_len;
		changed = scratch[at] != byte;
		at_end = at == gen_len - 1;
		scratch[at] = byte;
		break;
	case C_INSERT:
		at %= gen_len + 1;
		memmove(scratch + at + 1, scratch + at, gen_len - at);
		scratch[at] = byte;
		len++;
		at_end = at == gen_len;
		break;
	case C_DELETE:
		at %= gen_len;
		memmove(scratch + at, scratch + at + 1, gen_len - at - 1);
		len--;
		at_end = at == gen_len - 1;
		break;
	case C_CUT:
		/* keep the first (at % lines) whole lines */
		keep_lines = at % gen_lines;
		len = 0;
		for (size_t k = 0; k < keep_lines; k++)
			len = (size_t)((char *)memchr(gen_log + len, '\n', gen_len - len) - gen_log) + 1;
		at = len;
		break;
	default:
		return;
	}
	if (side)
		CHECK(fuzz_write_file(mut_side, gen_side, gen_side_len) == 0);
	else
		(void)unlink(mut_side);
	CHECK(fuzz_write_file(mut_path, scratch, len) == 0);
	r = verify(mut_path, with_head ? gen_head : NULL, with_key, &rep,
	    fuzz_count_lines(scratch, len));
	if (kind == C_CUT) {
		must_find = keep_lines < gen_lines && (side || with_head);
		if (!must_find && !(side || with_head))
			CHECK(r == 0);         /* a whole-line prefix of an intact log */
	} else
		must_find = changed && (at < gen_last || at_end || side || with_head);
	if (must_find)
		CHECK(r == YH_ERR_AUTH);
	if (!changed)
		CHECK(r == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool with_key, with_head;

	if (size < 1 || size - 1 > INPUT_MAX)
		return 0;
	with_key = (data[0] & 4) != 0;
	with_head = (data[0] & 8) != 0;
	switch (data[0] & 3) {
	case 0:
	case 1:
		fuzz_text(data + 1, size - 1, (data[0] & 3) == 1, with_key, with_head);
		break;
	default:
		fuzz_change(data + 1, size - 1, (data[0] & 3) == 2, with_key, with_head);
		break;
	}
	return 0;
}
