/*
 * Unit tests for the idmerge input side: the sources file (every check), the decoding
 * layer (GBK, GB18030, UTF-8 validation, BOM) and the CSV, JSONL and LDIF readers.
 * Fixtures live in tests/fixtures/idmerge/readers; other cases are written to a
 * temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/utf8.h"
#include "migration-tools/idmerge/input/encoding.h"
#include "migration-tools/idmerge/input/reader.h"

#ifndef YH_SRCDIR
#define YH_SRCDIR "."
#endif

static char tmpdir[64];
static char errbuf[1024];

static int
setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_mreader.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
remove_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *
srcdir(void)
{
	const char *s = getenv("YH_SRCDIR");

	return s != NULL ? s : YH_SRCDIR;
}

/* Writes n bytes to tmpdir/name; returns the path (static storage, one at a time). */
static const char *
write_file(const char *name, const void *data, size_t n)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
	return path;
}

static const char *
write_str(const char *name, const char *s)
{
	return write_file(name, s, strlen(s));
}

/* A source built by hand (no sources file). */
static void
src_init(struct mig_source *s, const char *path, enum mig_format fmt, const char *enc)
{
	memset(s, 0, sizeof(*s));
	s->name = strdup("t");
	s->path = strdup(path);
	s->format = fmt;
	s->encoding = strdup(enc);
	s->delimiter = ',';
	s->kind = MIG_KIND_PERSON;
}

static void
src_map(struct mig_source *s, enum mig_field f, const char *col)
{
	free(s->columns[f]);
	s->columns[f] = strdup(col);
}

static void
src_free(struct mig_source *s)
{
	free(s->name);
	free(s->path);
	free(s->encoding);
	for (int f = 0; f < MIG_F_COUNT; f++)
		free(s->columns[f]);
}

static struct mig_reader *
open_ok(const struct mig_source *s)
{
	struct mig_reader *r = NULL;
	int rc = mig_reader_open(s, &r, errbuf, sizeof(errbuf));

	if (rc != 0)
		print_error("open: %s\n", errbuf);
	assert_int_equal(rc, 0);
	return r;
}

static void
next_ok(struct mig_reader *r, struct mig_record *rec)
{
	int rc = mig_reader_next(r, rec, errbuf, sizeof(errbuf));

	if (rc != 0)
		print_error("next: %s\n", errbuf);
	assert_int_equal(rc, 0);
}

static void
next_err(struct mig_reader *r, struct mig_record *rec, int want, const char *msg_part)
{
	int rc = mig_reader_next(r, rec, errbuf, sizeof(errbuf));

	if (rc != want)
		print_error("want %d got %d: %s\n", want, rc, errbuf);
	assert_int_equal(rc, want);
	if (msg_part != NULL && strstr(errbuf, msg_part) == NULL) {
		print_error("message \"%s\" lacks \"%s\"\n", errbuf, msg_part);
		fail();
	}
	for (int f = 0; f < MIG_F_COUNT; f++)
		assert_null(rec->f[f]);
}

static void
next_end(struct mig_reader *r, struct mig_record *rec)
{
	assert_int_equal(mig_reader_next(r, rec, errbuf, sizeof(errbuf)), YH_ERR_NOT_FOUND);
	/* and again: the end stays the end */
	assert_int_equal(mig_reader_next(r, rec, errbuf, sizeof(errbuf)), YH_ERR_NOT_FOUND);
}

/* ---- CSV ---- */

static void
test_csv_quoting(void **state)
{
	struct mig_source s;
	struct mig_reader *r;
	struct mig_record rec;
	const char *p = write_str("q.csv",
	    "id,name,note\n"
	    "1,\"Zhang, San\",\"say \"\"hi\"\"\"\n"
	    "2,\"two\nlines\",x\n"
	    "3,,\"\"\n"
	    "\n"
	    "4,\"a,b\r\nc\",\"\"\"\"");

	(void)state;
	src_init(&s, p, MIG_FMT_CSV, "UTF-8");
	src_map(&s, MIG_F_LEGACY_ID, "id");
	src_map(&s, MIG_F_NAME, "name");
	src_map(&s, MIG_F_EMAIL, "note");
	r = open_ok(&s);
	next_ok(r, &rec);
	assert_string_equal(rec.f[MIG_F_NAME], "Zhang, San");
	assert_string_equal(rec.f[MIG_F_EMAIL], "say \"hi\"");
	assert_int_equal(rec.seq, 1);
	assert_int_equal(rec.line, 2);
	assert_null(rec.f[MIG_F_PHONE]);
	next_ok(r, &rec);
	assert_string_equal(rec.f[MIG_F_NAME], "two\nlines");
	assert_int_equal(rec.line, 3);
	next_ok(r, &rec);
	assert_string_equal(rec.f[MIG_F_LEGACY_ID], "3");
	assert_string_equal(rec.f[MIG_F_NAME], "");
	assert_string_equal(rec.f[MIG_F_EMAIL], "");
	assert_int_equal(rec.line, 5);
	next_ok(r, &rec); /* the blank line 6 is skipped; no final line break */
	assert_int_equal(rec.line, 7);
	assert_int_equal(rec.seq, 4);
	assert_string_equal(rec.f[MIG_F_NAME], "a,b\r\nc");
	assert_string_equal(rec.f[MIG_F_EMAIL], "\"");
	next_end(r, &rec);
	mig_reader_close(r);
	src_free(&s);
}

static void
test_csv_crlf(void **state)
{
	struct mig_source s;
	struct mig_reader *r;
	struct mig_record rec;
	const char *p = write_str("crlf.csv", "a,b\r\n1,x\r\n\r\n2,\"y\r\nz\"\r\n3,\r\n");

	(void)state;
	src_init(&s, p, MIG_FMT_CSV, "UTF-8");
	src_map(&s, MIG_F_LEGACY_ID, "a");
	src_map(&s, MIG_F_NAME, "b");
	r = open_ok(&s);
	next_ok(r, &rec);
	assert_string_equal(rec.f[MIG_F_NAME], "x");
	next_ok(r, &rec);
	assert_int_equal(rec.line, 4);
	assert_string_equal(rec.f[MIG_F_NAME], "y\r\nz");
	next_ok(r, &rec);
	assert_int_equal(rec.line, 6);
	assert_string_equal(rec.f[MIG_F_LEGACY_ID], "3");
	assert_string_equal(rec.f[MIG_F_NAME], "");
	next_end(r, &rec);
	mig_reader_close(r);
	src_free(&s);
}

static void
test_csv_errors_resume(void **state)
{
	struct mig_source s;
	struct mig_reader *r;
	struct mig_record rec;
	static const char data[] = "a,b\n"
	    "1,x\n"
	    "2,x,extra\n"
	    "3,ab\"c\n"
	    "4,\"ab\"c\n"
	    "5,\0z\n"
	    "6,ok\n"
	    "7,\"never closed\n"
	    "8,after\n";
	const char *p = write_file("bad.csv", data, sizeof(data) - 1);

	(void)state;
	src_init(&s, p, MIG_FMT_CSV, "UTF-8");
	src_map(&s, MIG_F_LEGACY_ID, "a");
	src_map(&s, MIG_F_NAME, "b");
	r = open_ok(&s);
	next_ok(r, &rec);
	next_err(r, &rec, YH_ERR_INVALID, "bad.csv:3: 3 fields where the header has 2");
	assert_int_equal(rec.line, 3);
	assert_int_equal(rec.seq, 2);
	next_err(r, &rec, YH_ERR_INVALID, "bad.csv:4: quote inside an unquoted field");
	next_err(r, &rec, YH_ERR_INVALID, "bad.csv:5: text after the closing quote");
	next_err(r, &rec, YH_ERR_INVALID, "bad.csv:6: NUL byte");
	next_ok(r, &rec);
	assert_string_equal(rec.f[MIG_F_LEGACY_ID], "6");
	next_err(r, &rec, YH_ERR_INVALID, "bad.csv:8: quoted field not closed");
	/* the open quote did not swallow the next line */
	next_ok(r, &rec);
	assert_string_equal(rec.f[MIG_F_LEGACY_ID], "8");
	assert_int_equal(rec.line, 9);
	next_end(r, &rec);
	mig_reader_close(r);
	src_free(&s);
}

static void
test_csv_oversized(void **state)
{
	struct mig_source s;
	struct mig_reader *r;
	struct mig_record rec;
	struct yh_buf b;
	const char *p;

	(void)state;
	yh_buf_init(&b, 1 << 20);
	assert_int_equal(yh_buf_puts(&b, "a,b\n1,"), 0);
	for (int i = 0; i < MIG_FIELD_MAX + 1; i++)
		assert_int_equal(yh_buf_putc(&b, 'f'), 0);
	assert_int_equal(yh_buf_puts(&b, "\n2,"), 0);
	for (int i = 0; i < MIG_RECORD_MAX + 10; i++)
		assert_int_equal(yh_buf_putc(&b, i % 100 == 0 ? ',' : 'r'), 0);
	assert_int_equal(yh_buf_puts(&b, "\n3,\""), 0);
	for (int i = 0; i < MIG_RECORD_MAX; i++)
		assert_int_equal(yh_buf_putc(&b, i % 100 == 0 ? '\n' : 'q'), 0);
	assert_int_equal(yh_buf_puts(&b, "\"\n4,fine\n"), 0);
	p = write_file("big.csv", b.data, b.len);
	yh_buf_free(&b);
	src_init(&s, p, MIG_FMT_CSV, "UTF-8");
	src_map(&s, MIG_F_LEGACY_ID, "a");
	r = open_ok(&s);
	next_err(r, &rec, YH_ERR_TOO_LONG, "big.csv:2: field 2 is longer than 4096 bytes");
	next_err(r, &rec, YH_ERR_TOO_LONG, "big.csv:3: record longer than");
	/* a quoted field over the cap: reported once, then reading resumes on line 5 */
	next_err(r, &rec, YH_ERR_INVALID, "big.csv:4: quoted field not closed within");
	for (;;) {
		int rc = mig_reader_next(r, &rec, errbuf, sizeof(errbuf));

		assert_int_not_equal(rc, YH_ERR_NOT_FOUND);
		if (rc == 0 && strcmp(rec.f[MIG_F_LEGACY_ID], "4") == 0)
			break;
	}
	next_end(r, &rec);
	mig_reader_close(r);
	src_free(&s);
}

static void
test_csv_header_errors(void **state)
{
	struct mig_source s;
	struct mig_reader *r = NULL;
	const char *p = write_str("h.csv", "user_id,xm\n1,a\n");

	(void)state;
	src_init(&s, p, MIG_FMT_CSV, "UTF-8");
	src_map(&s, MIG_F_LEGACY_ID, "user_id");
	src_map(&s, MIG_F_ID_NUMBER, "sfzh");
	assert_int_equal(mig_reader_open(&s, &r, errbuf, sizeof(errbuf)), YH_ERR_CONFIG);
	assert_null(r);
	assert_non_null(strstr(errbuf, "source \"t\""));
	assert_non_null(strstr(errbuf, "h.csv"));
	assert_non_null(strstr(errbuf, "column \"sfzh\" (field id_number) is not in the header"));
	src_free(&s);

	p = write_str("d.csv", "user_id,xm, xm \n1,a,b\n");
	src_init(&s, p, MIG_FMT_CSV, "UTF-8");
	src_map(&s, MIG_F_LEGACY_ID, "user_id");
	assert_int_equal(mig_reader_open(&s, &r, errbuf, sizeof(errbuf)), YH_ERR_CONFIG);
	assert_non_null(strstr(errbuf, "d.csv:1: column \"xm\" appears twice"));
	src_free(&s);

	p = write_str("e.csv", "");
	src_init(&s, p, MIG_FMT_CSV, "UTF-8");
	src_map(&s, MIG_F_LEGACY_ID, "user_id");
	assert_int_equal(mig_reader_open(&s, &r, errbuf, sizeof(errbuf)), YH_ERR_INVALID);
	assert_non_null(strstr(errbuf, "no header row"));
	src_free(&s);

	src_init(&s, "/nonexistent/x.csv", MIG_FMT_CSV, "UTF-8");
	assert_int_equal(mig_reader_open(&s, &r, errbuf, sizeof(errbuf)), YH_ERR_IO);
	assert_non_null(strstr(errbuf, "/nonexistent/x.csv"));
	src_free(&s);
}

/* ---- encodings (checked-in fixtures made with iconv -f UTF-8 -t GBK / GB18030) ---- */

static struct mig_sources *
load_fixture_sources(void)
{
	char path[512];
	struct mig_sources *all = NULL;
	int rc;

	snprintf(path, sizeof(path), "%s/tests/fixtures/idmerge/readers/sources.json", srcdir());
	rc = mig_sources_load(path, &all, errbuf, sizeof(errbuf));
	if (rc != 0)
		print_error("%s\n", errbuf);
	assert_int_equal(rc, 0);
	return all;
}

static const struct mig_source *
find_source(const struct mig_sources *all, const char *name)
{
	for (size_t i = 0; i < all->n; i++)
		if (strcmp(all->v[i].name, name) == 0)
			return &all->v[i];
	fail_msg("no source %s", name);
	return NULL;
}

static void
check_people(const struct mig_source *src)
{
	struct mig_reader *r = open_ok(src);
	struct mig_record rec;
	uint64_t done, total;

	next_ok(r, &rec);
	assert_string_equal(rec.f[MIG_F_NAME], "张三");
	assert_string_equal(rec.f[MIG_F_ID_NUMBER], "110101199003077777");
	assert_string_equal(rec.f[MIG_F_STATUS], "1");
	next_ok(r, &rec);
	assert_string_equal(rec.f[MIG_F_NAME], "欧阳, 娜娜");
	assert_string_equal(rec.f[MIG_F_PHONE], "");
	next_ok(r, &rec);
	assert_string_equal(rec.f[MIG_F_NAME], "李\"小\"明");
	assert_string_equal(rec.f[MIG_F_PHONE], "139 0013 9000");
	next_end(r, &rec);
	mig_reader_progress(r, &done, &total);
	assert_true(total > 0);
	assert_int_equal(done, total);
	mig_reader_close(r);
}

static void
test_encodings(void **state)
{
	struct mig_sources *all = load_fixture_sources();
	struct mig_reader *r;
	struct mig_record rec;

	(void)state;
	check_people(find_source(all, "utf8"));
	check_people(find_source(all, "gbk"));
	assert_string_equal(find_source(all, "gbk")->encoding, "GBK");

	r = open_ok(find_source(all, "gb18030"));
	next_ok(r, &rec);
	assert_string_equal(rec.f[MIG_F_NAME], "王𠮷");
	next_ok(r, &rec);
	assert_string_equal(rec.f[MIG_F_NAME], "陈㐀华");
	next_ok(r, &rec);
	assert_string_equal(rec.f[MIG_F_NAME], "赵€");
	next_end(r, &rec);
	mig_reader_close(r);

	/* "|" is also a GBK trail byte (秥 is B6 7C): decoding comes before splitting */
	r = open_ok(find_source(all, "pipe"));
	assert_int_equal(find_source(all, "pipe")->delimiter, '|');
	next_ok(r, &rec);
	assert_string_equal(rec.f[MIG_F_NAME], "王秥");
	assert_string_equal(rec.f[MIG_F_ID_NUMBER], "110101199003077777");
	next_ok(r, &rec);
	assert_string_equal(rec.f[MIG_F_NAME], "禱告");
	next_end(r, &rec);
	mig_reader_close(r);

	/* invalid GBK bytes: a record-level error naming file:line; the stream goes on */
	r = open_ok(find_source(all, "badgbk"));
	next_ok(r, &rec);
	assert_string_equal(rec.f[MIG_F_NAME], "张三");
	next_err(r, &rec, YH_ERR_INVALID, "gbk_invalid.csv:3: invalid GBK byte sequence");
	assert_int_equal(rec.seq, 2);
	next_ok(r, &rec);
	assert_string_equal(rec.f[MIG_F_NAME], "李四");
	assert_string_equal(rec.f[MIG_F_ID_NUMBER], "440524188001010014");
	next_end(r, &rec);
	mig_reader_close(r);

	/* a UTF-8 BOM does not become part of the first column's name */
	r = open_ok(find_source(all, "bom"));
	next_ok(r, &rec);
	assert_string_equal(rec.f[MIG_F_LEGACY_ID], "5001");
	assert_string_equal(rec.f[MIG_F_NAME], "周五");
	next_end(r, &rec);
	mig_reader_close(r);
	mig_sources_free(all);
}

static void
test_utf8_validation(void **state)
{
	struct mig_source s;
	struct mig_reader *r;
	struct mig_record rec;
	/* overlong '/', a surrogate, a lone continuation byte, a cut-off sequence at EOF */
	const char data[] = "a\n\xc0\xaf\n\xed\xa0\x80\n\x80\nok\xe4\xb8\xad\n\"q\n\xff\"\n"
	    "\xe4\xb8";
	const char *p = write_file("u.csv", data, sizeof(data) - 1);

	(void)state;
	assert_true(yh_utf8_valid("\xe4\xb8\xad\xf0\x9f\x98\x80", 7));
	assert_false(yh_utf8_valid("\xc0\xaf", 2));
	assert_false(yh_utf8_valid("\xed\xa0\x80", 3));
	assert_false(yh_utf8_valid("\xf4\x90\x80\x80", 4));
	assert_false(yh_utf8_valid("\xe4\xb8", 2));
	src_init(&s, p, MIG_FMT_CSV, "UTF-8");
	src_map(&s, MIG_F_NAME, "a");
	r = open_ok(&s);
	next_err(r, &rec, YH_ERR_INVALID, "u.csv:2: invalid UTF-8 byte sequence");
	next_err(r, &rec, YH_ERR_INVALID, "u.csv:3: invalid UTF-8");
	next_err(r, &rec, YH_ERR_INVALID, "u.csv:4: invalid UTF-8");
	next_ok(r, &rec);
	assert_string_equal(rec.f[MIG_F_NAME], "ok中");
	next_err(r, &rec, YH_ERR_INVALID, "u.csv:6: invalid UTF-8 byte sequence in line 7 "
	    "(inside a quoted field)");
	next_err(r, &rec, YH_ERR_INVALID, "u.csv:8: invalid UTF-8");
	next_end(r, &rec);
	mig_reader_close(r);
	src_free(&s);
}

/* GBK split across the reader's 256 KiB chunks: characters straddling a chunk edge. */
static void
test_gbk_chunk_edges(void **state)
{
	struct mig_source s;
	struct mig_reader *r;
	struct mig_record rec;
	struct yh_buf b;
	const char *p;
	size_t rows = 0;

	(void)state;
	yh_buf_init(&b, 4 << 20);
	assert_int_equal(yh_buf_puts(&b, "n,x\n"), 0);
	/* odd row lengths so that every alignment of a two-byte character meets an edge */
	for (size_t i = 0; b.len < 600 * 1024; i++) {
		assert_int_equal(yh_buf_printf(&b, "%zu,", i), 0);
		for (size_t k = 0; k < i % 7 + 1; k++)
			assert_int_equal(yh_buf_puts(&b, "\xd5\xc5"), 0); /* 张 */
		assert_int_equal(yh_buf_putc(&b, '\n'), 0);
	}
	p = write_file("edge.csv", b.data, b.len);
	yh_buf_free(&b);
	src_init(&s, p, MIG_FMT_CSV, "GBK");
	src_map(&s, MIG_F_LEGACY_ID, "n");
	src_map(&s, MIG_F_NAME, "x");
	r = open_ok(&s);
	for (;;) {
		int rc = mig_reader_next(r, &rec, errbuf, sizeof(errbuf));

		if (rc == YH_ERR_NOT_FOUND)
			break;
		if (rc != 0)
			fail_msg("%s", errbuf);
		assert_int_equal(strlen(rec.f[MIG_F_NAME]), 3 * (rows % 7 + 1));
		assert_int_equal(memcmp(rec.f[MIG_F_NAME], "张", 3), 0);
		assert_int_equal(rec.line, rows + 2);
		rows++;
	}
	assert_true(rows > 30000);
	mig_reader_close(r);
	src_free(&s);
}

/* ---- JSONL ---- */

static void
test_jsonl(void **state)
{
	struct mig_sources *all = load_fixture_sources();
	struct mig_reader *r = open_ok(find_source(all, "jsonl"));
	struct mig_record rec;

	(void)state;
	next_ok(r, &rec);
	assert_string_equal(rec.f[MIG_F_LEGACY_ID], "j1");
	assert_string_equal(rec.f[MIG_F_PHONE], "13800138000");
	assert_string_equal(rec.f[MIG_F_STATUS], "true");
	next_ok(r, &rec); /* the blank line 2 is skipped */
	assert_int_equal(rec.line, 3);
	assert_int_equal(rec.seq, 2);
	assert_string_equal(rec.f[MIG_F_LEGACY_ID], "2");
	/* an 18-digit ID number exported as a JSON integer keeps every digit */
	assert_string_equal(rec.f[MIG_F_ID_NUMBER], "110105194912310029");
	assert_null(rec.f[MIG_F_PHONE]);   /* null */
	assert_null(rec.f[MIG_F_STATUS]);  /* missing */
	next_ok(r, &rec);
	/* a real keeps a text the cleanser can see as scientific notation */
	assert_string_equal(rec.f[MIG_F_ID_NUMBER], "1.1e17");
	assert_string_equal(rec.f[MIG_F_STATUS], "false");
	next_err(r, &rec, YH_ERR_INVALID, "people.jsonl:5: key \"name\" (field name) holds an "
	    "object");
	next_err(r, &rec, YH_ERR_INVALID, "people.jsonl:6: duplicate key \"id\"");
	next_err(r, &rec, YH_ERR_INVALID, "people.jsonl:7: not a JSON object");
	next_ok(r, &rec);   /* a whitespace-only line 8 is skipped; unmapped arrays are fine */
	assert_int_equal(rec.line, 9);
	assert_string_equal(rec.f[MIG_F_NAME], "赵六");
	next_end(r, &rec);
	mig_reader_close(r);
	mig_sources_free(all);
}

static void
test_jsonl_edges(void **state)
{
	struct mig_source s;
	struct mig_reader *r;
	struct mig_record rec;
	struct yh_buf b;
	const char *p;

	(void)state;
	yh_buf_init(&b, 1 << 20);
	assert_int_equal(yh_buf_puts(&b, "{\"n\": \"\\u5f20\\u4e09\", \"i\": -12, \"x\": 0.1}\r\n"
	    "{\"n\": \""), 0);
	for (int i = 0; i < MIG_RECORD_MAX; i++)
		assert_int_equal(yh_buf_putc(&b, 'z'), 0);
	assert_int_equal(yh_buf_puts(&b, "\"}\n{\"n\": \""), 0);
	for (int i = 0; i < MIG_FIELD_MAX + 1; i++)
		assert_int_equal(yh_buf_putc(&b, 'y'), 0);
	assert_int_equal(yh_buf_puts(&b, "\"}\n[1]\n{\"n\": \"\xd5\xc5\"}\n"
	    "{\"n\": \"\\ud83d\\ude00\\t\\\"\", \"i\": 123456789012345678901234, \"x\": -0.5E-3,"
	    " \"u\": {\"a\": [1, {\"b\": null}, \"\\u0041\"], \"a\": true}}\n"
	    "{\"n\": \"\\udc00\"}\n"
	    "{\"n\": 1,}\n"
	    "{\"n\": 01}\n"
	    "{\"n\": \"a\"} x\n"
	    "{\"u\": [1,,2]}\n"
	    "{\"n\": \"\\u0000\"}\n"
	    "{\"n\": \"tab\there\"}\n"
	    "{}\n"
	    "{\"n\": \"last\"}"), 0);
	p = write_file("e.jsonl", b.data, b.len);
	yh_buf_free(&b);
	src_init(&s, p, MIG_FMT_JSONL, "UTF-8");
	src_map(&s, MIG_F_NAME, "n");
	src_map(&s, MIG_F_LEGACY_ID, "i");
	src_map(&s, MIG_F_PHONE, "x");
	r = open_ok(&s);
	next_ok(r, &rec);
	assert_string_equal(rec.f[MIG_F_NAME], "张三");
	assert_string_equal(rec.f[MIG_F_LEGACY_ID], "-12");
	assert_string_equal(rec.f[MIG_F_PHONE], "0.1");
	next_err(r, &rec, YH_ERR_TOO_LONG, "e.jsonl:2: line longer than");
	next_err(r, &rec, YH_ERR_TOO_LONG, "e.jsonl:3: key \"n\" is longer than");
	next_err(r, &rec, YH_ERR_INVALID, "e.jsonl:4: not a JSON object");
	next_err(r, &rec, YH_ERR_INVALID, "e.jsonl:5: invalid UTF-8 byte sequence");
	next_ok(r, &rec);
	assert_string_equal(rec.f[MIG_F_NAME], "😀\t\"");
	assert_string_equal(rec.f[MIG_F_LEGACY_ID], "123456789012345678901234");
	assert_string_equal(rec.f[MIG_F_PHONE], "-0.5E-3");
	next_err(r, &rec, YH_ERR_INVALID, "e.jsonl:7: malformed JSON (lone surrogate");
	next_err(r, &rec, YH_ERR_INVALID, "e.jsonl:8: malformed JSON (expected a key");
	next_err(r, &rec, YH_ERR_INVALID, "e.jsonl:9: malformed JSON (expected ','");
	next_err(r, &rec, YH_ERR_INVALID, "e.jsonl:10: malformed JSON (text after");
	next_err(r, &rec, YH_ERR_INVALID, "e.jsonl:11: malformed JSON (expected a "
	    "value)");
	next_err(r, &rec, YH_ERR_INVALID, "e.jsonl:12: malformed JSON (NUL");
	next_err(r, &rec, YH_ERR_INVALID, "e.jsonl:13: malformed JSON (control");
	next_ok(r, &rec);
	assert_null(rec.f[MIG_F_NAME]);
	next_ok(r, &rec);
	assert_string_equal(rec.f[MIG_F_NAME], "last");
	assert_int_equal(rec.seq, 15);
	next_end(r, &rec);
	mig_reader_close(r);
	src_free(&s);
}

/* ---- LDIF ---- */

static void
test_ldif(void **state)
{
	struct mig_sources *all = load_fixture_sources();
	struct mig_reader *r = open_ok(find_source(all, "ldif"));
	struct mig_record rec;

	(void)state;
	next_ok(r, &rec);
	assert_int_equal(rec.seq, 1);
	assert_int_equal(rec.line, 4);
	assert_string_equal(rec.f[MIG_F_LEGACY_ID], "zhang3");
	assert_string_equal(rec.f[MIG_F_USERNAME], "zhang3");
	assert_string_equal(rec.f[MIG_F_NAME], "张三");            /* "CN" matches "cn" */
	assert_string_equal(rec.f[MIG_F_ID_NUMBER], "110101199003077777"); /* folded */
	assert_string_equal(rec.f[MIG_F_EMAIL], "zhang3@example.cn");     /* first value */
	assert_int_equal(rec.multivalued, 1u << MIG_F_EMAIL);
	assert_string_equal(rec.f[MIG_F_PASSWORD_HASH], "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8");
	next_ok(r, &rec);
	assert_string_equal(rec.f[MIG_F_NAME], "欧阳娜娜");        /* base64 */
	assert_int_equal(rec.multivalued, 0);
	assert_null(rec.f[MIG_F_EMAIL]);
	next_err(r, &rec, YH_ERR_UNSUPPORTED, "people.ldif:21: value of jpegPhoto given by URL");
	next_err(r, &rec, YH_ERR_INVALID, "people.ldif:23: entry does not start with dn:");
	next_ok(r, &rec);
	assert_string_equal(rec.f[MIG_F_NAME], "李四");
	assert_int_equal(rec.seq, 5);
	next_end(r, &rec);
	mig_reader_close(r);
	mig_sources_free(all);
}

static void
test_ldif_edges(void **state)
{
	struct mig_source s;
	struct mig_reader *r;
	struct mig_record rec;
	const char *p = write_str("e.ldif",
	    "# only a comment\n"
	    " folded into it\n"
	    "\n"
	    "\n"
	    "dn: cn=a\r\n"
	    "cn:: 1cXI\r\n"           /* 张三 in GBK, base64 folded over two lines */
	    " /Q==\r\n"
	    "sn:\r\n"
	    "\r\n"
	    "dn: cn=b\n"
	    "changetype: add\n"
	    "cn: b\n"
	    "\n"
	    "dn: cn=c\n"
	    "cn:: !!!!\n"
	    "\n"
	    " dn: cn=d\n"
	    "\n"
	    "dn: cn=e\n"
	    "bad attr: x\n"
	    "\n"
	    "dn: cn=f\n"
	    "cn: \xd5\xc5\xff\n"
	    "\n"
	    "dn: cn=g\n"
	    "cn: g\n");

	(void)state;
	src_init(&s, p, MIG_FMT_LDIF, "GBK");
	src_map(&s, MIG_F_NAME, "cn");
	src_map(&s, MIG_F_PHONE, "sn");
	src_map(&s, MIG_F_LEGACY_ID, "dn");
	r = open_ok(&s);
	next_ok(r, &rec);
	assert_int_equal(rec.line, 5);
	assert_string_equal(rec.f[MIG_F_LEGACY_ID], "cn=a");
	assert_string_equal(rec.f[MIG_F_NAME], "张三");
	assert_string_equal(rec.f[MIG_F_PHONE], "");
	next_err(r, &rec, YH_ERR_UNSUPPORTED, "e.ldif:11: LDIF change records");
	next_err(r, &rec, YH_ERR_INVALID, "e.ldif:15: malformed base64");
	next_err(r, &rec, YH_ERR_INVALID, "e.ldif:17: continuation line without");
	next_err(r, &rec, YH_ERR_INVALID, "e.ldif:20: malformed attribute name");
	next_err(r, &rec, YH_ERR_INVALID, "e.ldif:23: invalid GBK byte sequence");
	next_ok(r, &rec);
	assert_string_equal(rec.f[MIG_F_NAME], "g");
	assert_int_equal(rec.seq, 7);
	next_end(r, &rec);
	mig_reader_close(r);
	src_free(&s);
}

/* Lines libldap's routines would read otherwise, read as RFC 2849 says: base64 with
 * data after its padding or a space inside is malformed, trailing spaces after base64
 * and an empty base64 value are fine, "version::" is not a version, a folded attribute
 * name is one name, and a URL value is refused, never opened. */
static void
test_ldif_strict_base64(void **state)
{
	struct mig_source s;
	struct mig_reader *r;
	struct mig_record rec;
	const char *p = write_str("b.ldif",
	    "version:: MQ==\n"
	    "\n"
	    "dn: cn=a\n"
	    "cn:: QUJD\n"
	    " ====\n"
	    "\n"
	    "dn: cn=b\n"
	    "cn:: QUJD IA==\n"
	    "\n"
	    "dn: cn=c\n"
	    "cn:: QUJD  \n"
	    "s\n"
	    " n::\n"
	    "\n"
	    "dn: cn=d\n"
	    "cn:< file:///etc/hostname\n");

	(void)state;
	src_init(&s, p, MIG_FMT_LDIF, "UTF-8");
	src_map(&s, MIG_F_NAME, "cn");
	src_map(&s, MIG_F_PHONE, "sn");
	r = open_ok(&s);
	next_err(r, &rec, YH_ERR_UNSUPPORTED, "b.ldif:1: unsupported LDIF version");
	next_err(r, &rec, YH_ERR_INVALID, "b.ldif:4: malformed base64 value");
	next_err(r, &rec, YH_ERR_INVALID, "b.ldif:8: malformed base64 value");
	next_ok(r, &rec);
	assert_int_equal(rec.line, 10);
	assert_string_equal(rec.f[MIG_F_NAME], "ABC");
	assert_string_equal(rec.f[MIG_F_PHONE], "");
	next_err(r, &rec, YH_ERR_UNSUPPORTED, "b.ldif:16: value of cn given by URL");
	next_end(r, &rec);
	mig_reader_close(r);
	src_free(&s);
}

static void
test_ldif_oversized(void **state)
{
	struct mig_source s;
	struct mig_reader *r;
	struct mig_record rec;
	struct yh_buf b;
	const char *p;

	(void)state;
	yh_buf_init(&b, 1 << 20);
	assert_int_equal(yh_buf_puts(&b, "dn: cn=big\n"), 0);
	for (int i = 0; b.len < MIG_RECORD_MAX + 100; i++)
		assert_int_equal(yh_buf_puts(&b, "description: padding padding padding\n"), 0);
	assert_int_equal(yh_buf_puts(&b, "\ndn: cn=long\ncn: "), 0);
	for (int i = 0; i < MIG_FIELD_MAX + 1; i++)
		assert_int_equal(yh_buf_putc(&b, 'l'), 0);
	assert_int_equal(yh_buf_puts(&b, "\n\ndn: cn=ok\ncn: ok\n"), 0);
	p = write_file("big.ldif", b.data, b.len);
	yh_buf_free(&b);
	src_init(&s, p, MIG_FMT_LDIF, "UTF-8");
	src_map(&s, MIG_F_NAME, "cn");
	r = open_ok(&s);
	next_err(r, &rec, YH_ERR_TOO_LONG, "big.ldif:1: entry longer than");
	next_err(r, &rec, YH_ERR_TOO_LONG, "attribute cn longer than 4096");
	next_ok(r, &rec);
	assert_string_equal(rec.f[MIG_F_NAME], "ok");
	next_end(r, &rec);
	mig_reader_close(r);
	src_free(&s);
}

/* ---- mapped keys that no record holds ---- */

/* Reads a source to its end; returns mig_reader_check_keys's answer (message in errbuf). */
static int
read_all_check(const struct mig_source *s)
{
	struct mig_reader *r = open_ok(s);
	struct mig_record rec;
	int rc;

	while ((rc = mig_reader_next(r, &rec, errbuf, sizeof(errbuf))) != YH_ERR_NOT_FOUND)
		assert_true(rc != YH_ERR_IO && rc != YH_ERR_ALLOC);
	rc = mig_reader_check_keys(r, errbuf, sizeof(errbuf));
	mig_reader_close(r);
	return rc;
}

static void
test_check_keys(void **state)
{
	struct mig_source s;
	const char *p;

	(void)state;
	/* JSONL: "tel" is present only as null (it appears); "sfz" and "mail" never do,
	 * except "sfz" in a malformed line, which proves nothing. */
	p = write_str("k.jsonl", "{\"id\": 1, \"tel\": null}\n{\"id\": 2, \"sfz\": }\n"
	    "{\"id\": 3, \"xm\": \"张三\"}\n");
	src_init(&s, p, MIG_FMT_JSONL, "UTF-8");
	src_map(&s, MIG_F_LEGACY_ID, "id");
	src_map(&s, MIG_F_PHONE, "tel");
	src_map(&s, MIG_F_NAME, "xm");
	assert_int_equal(read_all_check(&s), 0);
	assert_string_equal(errbuf, "");
	src_map(&s, MIG_F_ID_NUMBER, "sfz");
	src_map(&s, MIG_F_EMAIL, "mail");
	assert_int_equal(read_all_check(&s), YH_ERR_CONFIG);
	assert_non_null(strstr(errbuf, "source \"t\": "));
	assert_non_null(strstr(errbuf, "k.jsonl: key \"sfz\" (field id_number), key \"mail\" "
	    "(field email) never appear in any of its 2 readable records"));
	src_free(&s);

	/* Nothing readable, or nothing at all: nothing to judge by. */
	for (int i = 0; i < 2; i++) {
		p = write_str("n.jsonl", i == 0 ? "not json\n[1]\n" : "\n");
		src_init(&s, p, MIG_FMT_JSONL, "UTF-8");
		src_map(&s, MIG_F_ID_NUMBER, "sfz");
		assert_int_equal(read_all_check(&s), 0);
		src_free(&s);
	}

	/* LDIF: attribute names match without regard to case; an empty value appears. */
	p = write_str("k.ldif", "dn: uid=a\nUID: a\nsn:\n\ndn: uid=b\nuid: b\n");
	src_init(&s, p, MIG_FMT_LDIF, "UTF-8");
	src_map(&s, MIG_F_LEGACY_ID, "uid");
	src_map(&s, MIG_F_NAME, "sn");
	assert_int_equal(read_all_check(&s), 0);
	src_map(&s, MIG_F_PHONE, "mobile");
	assert_int_equal(read_all_check(&s), YH_ERR_CONFIG);
	assert_non_null(strstr(errbuf, "k.ldif: attribute \"mobile\" (field phone) never appears "
	    "in any of its 2 readable records"));
	src_free(&s);

	/* CSV: the header decided at open; a column present but always empty is fine. */
	p = write_str("k.csv", "id,sjhm\n1,\n");
	src_init(&s, p, MIG_FMT_CSV, "UTF-8");
	src_map(&s, MIG_F_LEGACY_ID, "id");
	src_map(&s, MIG_F_PHONE, "sjhm");
	assert_int_equal(read_all_check(&s), 0);
	src_free(&s);
}

/* ---- the sources file ---- */

/* Writes tmpdir/s.json and expects loading it to fail with a message holding want. */
static void
sources_fail(const char *json, int code, const char *want)
{
	char path[256];
	struct mig_sources *all = (struct mig_sources *)&all;
	int rc;

	snprintf(path, sizeof(path), "%s", write_str("s.json", json));
	rc = mig_sources_load(path, &all, errbuf, sizeof(errbuf));
	if (rc != code || strstr(errbuf, want) == NULL || strstr(errbuf, path) == NULL)
		fail_msg("sources %s\n  want %d \"%s\"\n  got %d \"%s\"", json, code, want, rc,
		    errbuf);
	assert_null(all);
}

#define SRC(body) "{\"sources\": [" body "]}"
#define OK_ENTRY "{\"name\": \"a\", \"file\": \"d.csv\", \"format\": \"csv\", " \
	"\"kind\": \"person\", \"fields\": {\"name\": \"xm\"}}"

static void
test_sources_errors(void **state)
{
	struct mig_sources *all = NULL;
	char path[256];

	(void)state;
	(void)write_str("d.csv", "xm\n");
	snprintf(path, sizeof(path), "%s", write_str("s.json", SRC(OK_ENTRY)));
	assert_int_equal(mig_sources_load(path, &all, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(all->n, 1);
	assert_string_equal(all->v[0].encoding, "UTF-8");
	assert_int_equal(all->v[0].delimiter, ',');
	assert_int_equal(all->v[0].trust, 0);
	mig_sources_free(all);

	sources_fail("{\"sources\": [", YH_ERR_CONFIG, "malformed sources file");
	sources_fail("{\"sources\": [], \"sources\": []}", YH_ERR_CONFIG, "malformed");
	sources_fail("[]", YH_ERR_CONFIG, "must be a JSON object");
	sources_fail("{\"source\": []}", YH_ERR_CONFIG, "unknown key \"source\"");
	sources_fail("{\"sources\": []}", YH_ERR_CONFIG, "\"sources\" is empty");
	sources_fail(SRC("{\"file\": \"d.csv\"}"), YH_ERR_CONFIG, "source #1: missing \"name\"");
	sources_fail(SRC("{\"name\": \"a\", \"format\": \"csv\", \"kind\": \"person\", "
	    "\"fields\": {\"name\": \"xm\"}}"), YH_ERR_CONFIG, "source \"a\": missing \"file\"");
	sources_fail(SRC("{\"name\": \"a\", \"file\": \"d.csv\", \"kind\": \"person\", "
	    "\"fields\": {\"name\": \"xm\"}}"), YH_ERR_CONFIG, "source \"a\": missing \"format\"");
	sources_fail(SRC("{\"name\": \"a\", \"file\": \"d.csv\", \"format\": \"csv\", "
	    "\"fields\": {\"name\": \"xm\"}}"), YH_ERR_CONFIG, "source \"a\": missing \"kind\"");
	sources_fail(SRC("{\"name\": \"a\", \"file\": \"d.csv\", \"format\": \"xls\", "
	    "\"kind\": \"person\", \"fields\": {\"name\": \"xm\"}}"), YH_ERR_CONFIG,
	    "unknown format \"xls\"");
	sources_fail(SRC("{\"name\": \"a\", \"file\": \"d.csv\", \"format\": \"csv\", "
	    "\"encoding\": \"Big5\", \"kind\": \"person\", \"fields\": {\"name\": \"xm\"}}"),
	    YH_ERR_CONFIG, "unknown encoding \"Big5\"");
	sources_fail(SRC("{\"name\": \"a\", \"file\": \"d.csv\", \"format\": \"csv\", "
	    "\"kind\": \"company\", \"fields\": {\"name\": \"xm\"}}"), YH_ERR_CONFIG,
	    "unknown kind \"company\"");
	sources_fail(SRC("{\"name\": \"a\", \"file\": \"d.csv\", \"format\": \"csv\", "
	    "\"delimiter\": \",,\", \"kind\": \"person\", \"fields\": {\"name\": \"xm\"}}"),
	    YH_ERR_CONFIG, "\"delimiter\" must be exactly one byte");
	sources_fail(SRC("{\"name\": \"a\", \"file\": \"d.csv\", \"format\": \"csv\", "
	    "\"delimiter\": \"\\u00a6\", \"kind\": \"person\", \"fields\": {\"name\": \"xm\"}}"),
	    YH_ERR_CONFIG, "\"delimiter\" must be exactly one byte");
	sources_fail(SRC("{\"name\": \"a\", \"file\": \"d.csv\", \"format\": \"csv\", "
	    "\"delimiter\": \"\\\"\", \"kind\": \"person\", \"fields\": {\"name\": \"xm\"}}"),
	    YH_ERR_CONFIG, "one ASCII byte other than a quote");
	sources_fail(SRC("{\"name\": \"a\", \"file\": \"d.csv\", \"format\": \"jsonl\", "
	    "\"delimiter\": \";\", \"kind\": \"person\", \"fields\": {\"name\": \"xm\"}}"),
	    YH_ERR_CONFIG, "applies only to the csv format");
	sources_fail(SRC("{\"name\": \"a\", \"file\": \"d.csv\", \"format\": \"csv\", "
	    "\"kind\": \"person\", \"fields\": {\"nmae\": \"xm\"}}"), YH_ERR_CONFIG,
	    "source \"a\": unknown field \"nmae\" in \"fields\"");
	sources_fail(SRC("{\"name\": \"a\", \"file\": \"d.csv\", \"format\": \"csv\", "
	    "\"kind\": \"person\", \"fields\": {}}"), YH_ERR_CONFIG, "maps no field");
	sources_fail(SRC("{\"name\": \"a\", \"file\": \"d.csv\", \"format\": \"csv\", "
	    "\"kind\": \"person\", \"fields\": {\"name\": 3}}"), YH_ERR_CONFIG,
	    "field \"name\" must name a column");
	/* A field that does not fit the source's kind. */
	sources_fail(SRC("{\"name\": \"p\", \"file\": \"d.csv\", \"format\": \"csv\", "
	    "\"kind\": \"person\", \"fields\": {\"name\": \"xm\", \"uscc\": \"xm\"}}"),
	    YH_ERR_CONFIG, "source \"p\": field \"uscc\" does not apply to a person source (it "
	    "is for org sources)");
	sources_fail(SRC("{\"name\": \"p\", \"file\": \"d.csv\", \"format\": \"csv\", "
	    "\"kind\": \"person\", \"fields\": {\"org_code\": \"xm\"}}"), YH_ERR_CONFIG,
	    "source \"p\": field \"org_code\" does not apply to a person source");
	sources_fail(SRC("{\"name\": \"p\", \"file\": \"d.csv\", \"format\": \"csv\", "
	    "\"kind\": \"person\", \"fields\": {\"org_name\": \"xm\"}}"), YH_ERR_CONFIG,
	    "source \"p\": field \"org_name\" does not apply to a person source");
	sources_fail(SRC("{\"name\": \"p\", \"file\": \"d.csv\", \"format\": \"csv\", "
	    "\"kind\": \"person\", \"fields\": {\"legal_rep_id_number\": \"xm\"}}"),
	    YH_ERR_CONFIG, "source \"p\": field \"legal_rep_id_number\" does not apply to a "
	    "person source");
	sources_fail(SRC(OK_ENTRY ", {\"name\": \"o\", \"file\": \"d.csv\", \"format\": \"csv\", "
	    "\"kind\": \"org\", \"fields\": {\"org_name\": \"xm\", \"id_number\": \"xm\"}}"),
	    YH_ERR_CONFIG, "source \"o\": field \"id_number\" does not apply to an org source "
	    "(it is for person sources)");
	sources_fail(SRC("{\"name\": \"o\", \"file\": \"d.csv\", \"format\": \"csv\", "
	    "\"kind\": \"org\", \"fields\": {\"name\": \"xm\"}}"), YH_ERR_CONFIG,
	    "source \"o\": field \"name\" does not apply to an org source");
	/* Every field either kind shares, and every field of its own kind, is accepted. */
	snprintf(path, sizeof(path), "%s", write_str("s.json", SRC(
	    "{\"name\": \"p\", \"file\": \"d.csv\", \"format\": \"csv\", \"kind\": \"person\", "
	    "\"fields\": {\"legacy_id\": \"xm\", \"name\": \"xm\", \"id_number\": \"xm\", "
	    "\"phone\": \"xm\", \"email\": \"xm\", \"username\": \"xm\", \"password_hash\": \"xm\", "
	    "\"password_salt\": \"xm\", \"status\": \"xm\", \"last_login\": \"xm\"}, "
	    "\"password_scheme\": \"plain\"}, "
	    "{\"name\": \"o\", \"file\": \"d.csv\", \"format\": \"csv\", \"kind\": \"org\", "
	    "\"fields\": {\"legacy_id\": \"xm\", \"org_name\": \"xm\", \"uscc\": \"xm\", "
	    "\"org_code\": \"xm\", \"legal_rep_id_number\": \"xm\", \"phone\": \"xm\", "
	    "\"email\": \"xm\", \"username\": \"xm\", \"password_hash\": \"xm\", "
	    "\"password_salt\": \"xm\", \"status\": \"xm\", \"last_login\": \"xm\"}, "
	    "\"password_scheme\": \"plain\"}")));
	if (mig_sources_load(path, &all, errbuf, sizeof(errbuf)) != 0)
		fail_msg("both kinds: %s", errbuf);
	assert_int_equal(all->n, 2);
	mig_sources_free(all);
	all = NULL;
	sources_fail(SRC(OK_ENTRY ", " OK_ENTRY), YH_ERR_CONFIG,
	    "source #2: duplicate source name \"a\"");
	sources_fail(SRC("{\"name\": \"a\", \"file\": \"d.csv\", \"format\": \"csv\", "
	    "\"kind\": \"person\", \"fields\": {\"password_hash\": \"pwd\"}, "
	    "\"password_scheme\": \"md4-hex\"}"), YH_ERR_CONFIG,
	    "unknown password_scheme \"md4-hex\"");
	sources_fail(SRC("{\"name\": \"a\", \"file\": \"d.csv\", \"format\": \"csv\", "
	    "\"kind\": \"person\", \"fields\": {\"password_hash\": \"pwd\"}}"), YH_ERR_CONFIG,
	    "maps password_hash but \"password_scheme\" is missing");
	sources_fail(SRC("{\"name\": \"a\", \"file\": \"d.csv\", \"format\": \"csv\", "
	    "\"kind\": \"person\", \"fields\": {\"status\": \"zt\"}, "
	    "\"status_map\": {\"1\": \"active\", \"2\": \"frozen\"}}"), YH_ERR_CONFIG,
	    "status_map value for \"2\" must be active, disabled, locked or deregistered");
	sources_fail(SRC("{\"name\": \"a\", \"file\": \"d.csv\", \"format\": \"csv\", "
	    "\"kind\": \"person\", \"trust\": \"high\", \"fields\": {\"name\": \"xm\"}}"),
	    YH_ERR_CONFIG, "\"trust\" must be an integer");
	sources_fail(SRC("{\"name\": \"a\", \"file\": \"d.csv\", \"format\": \"csv\", "
	    "\"kind\": \"person\", \"feilds\": {\"name\": \"xm\"}}"), YH_ERR_CONFIG,
	    "unknown key \"feilds\"");
	sources_fail(SRC("{\"name\": \"a\", \"file\": \"missing.csv\", \"format\": \"csv\", "
	    "\"kind\": \"person\", \"fields\": {\"name\": \"xm\"}}"), YH_ERR_CONFIG,
	    "missing.csv: No such file or directory");
	assert_int_equal(mig_sources_load("/nonexistent/s.json", &all, errbuf, sizeof(errbuf)),
	    YH_ERR_IO);
	assert_null(all);
	assert_non_null(strstr(errbuf, "/nonexistent/s.json"));
}

static void
test_sources_good(void **state)
{
	struct mig_sources *all = load_fixture_sources();
	const struct mig_source *s;
	char want[512], cwd[512];
	enum mig_field f;

	(void)state;
	assert_int_equal(all->n, 8);
	s = find_source(all, "utf8");
	snprintf(want, sizeof(want), "%s/tests/fixtures/idmerge/readers/people_utf8.csv",
	    srcdir());
	assert_string_equal(s->path, want);
	assert_string_equal(s->columns[MIG_F_ID_NUMBER], "sfzh");
	assert_null(s->columns[MIG_F_EMAIL]);
	assert_int_equal(s->n_status_map, 2);
	assert_string_equal(s->status_map[0].from, "1");
	assert_string_equal(s->status_map[0].to, "active");
	assert_int_equal(find_source(all, "gbk")->trust, 2);
	assert_string_equal(find_source(all, "pipe")->encoding, "GBK");
	assert_int_equal(find_source(all, "ldif")->format, MIG_FMT_LDIF);
	assert_string_equal(find_source(all, "ldif")->password_scheme, "sha1-hex");
	mig_sources_free(all);

	/* relative to the sources file, not to the working directory */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(srcdir()), 0);
	assert_int_equal(mig_sources_load("tests/fixtures/idmerge/readers/sources.json", &all,
	    errbuf, sizeof(errbuf)), 0);
	assert_string_equal(find_source(all, "gbk")->path,
	    "tests/fixtures/idmerge/readers/people_gbk.csv");
	check_people(find_source(all, "gbk"));
	mig_sources_free(all);
	assert_int_equal(chdir("tests/fixtures/idmerge/readers"), 0);
	assert_int_equal(mig_sources_load("sources.json", &all, errbuf, sizeof(errbuf)), 0);
	assert_string_equal(find_source(all, "gbk")->path, "people_gbk.csv");
	mig_sources_free(all);
	assert_int_equal(chdir(cwd), 0);

	for (int i = 0; i < MIG_F_COUNT; i++) {
		assert_int_equal(mig_field_parse(mig_field_name((enum mig_field)i), &f), 0);
		assert_int_equal(f, i);
	}
	assert_string_equal(mig_field_name(MIG_F_LEGAL_REP_ID_NUMBER), "legal_rep_id_number");
	assert_int_equal(mig_field_parse("sfzh", &f), YH_ERR_NOT_FOUND);
	mig_sources_free(NULL);
	mig_reader_close(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv_quoting),
		cmocka_unit_test(test_csv_crlf),
		cmocka_unit_test(test_csv_errors_resume),
		cmocka_unit_test(test_csv_oversized),
		cmocka_unit_test(test_csv_header_errors),
		cmocka_unit_test(test_encodings),
		cmocka_unit_test(test_utf8_validation),
		cmocka_unit_test(test_gbk_chunk_edges),
		cmocka_unit_test(test_jsonl),
		cmocka_unit_test(test_jsonl_edges),
		cmocka_unit_test(test_ldif),
		cmocka_unit_test(test_ldif_edges),
		cmocka_unit_test(test_ldif_strict_base64),
		cmocka_unit_test(test_ldif_oversized),
		cmocka_unit_test(test_check_keys),
		cmocka_unit_test(test_sources_errors),
		cmocka_unit_test(test_sources_good),
	};

	return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
