/*
 * libFuzzer target for idmerge's JSON-lines reader (migration-tools/idmerge/input/
 * jsonl.c, through the real reader from a memory file) and, in another mode, for the
 * sources file loader (mig_sources_load in input/sources.c).
 *
 * Input: byte 0 picks the mode; the rest is the file.
 *   bit 7 clear  a JSON-lines export; bits 0-1 pick the encoding (UTF-8, GBK, GB18030).
 *   bit 7 set    a sources file. Its relative "file" paths resolve against /proc/self/fd/,
 *                so "file": "100" names a small JSON-lines export kept open as fd 100;
 *                the sources that load and name it are then read to their end.
 *
 * Invariants checked, beyond "no crash, no leak":
 *   - JSONL: every value handed out is NUL-free UTF-8 within MIG_FIELD_MAX; a record
 *     error names "FILE:LINE: " with the record's line; and (UTF-8) the reader agrees
 *     with jansson on every line: a line it accepts is a JSON object for jansson too,
 *     whose mapped members give the same values (strings unescaped byte for byte, null
 *     or absent as no value, true/false and numbers as written); a line it refuses as
 *     malformed is refused by jansson too (but for nesting deeper than the reader's
 *     limit, which jansson allows, and a raw NUL byte, which jansson skips after a
 *     number);
 *   - sources: the answer is 0 or YH_ERR_CONFIG with a message naming the file; a loaded
 *     file obeys every rule mig_sources_load documents (names unique, 1..64 bytes;
 *     canonical encodings; a delimiter that is one ASCII byte but no quote or line
 *     break; fields fit the source's kind; password_hash only with a password_scheme;
 *     status_map values from the four statuses; trust within +-1000000).
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "fuzz_mig.h"
#include "fuzz_util.h"

#include "common/log.h"

#define INPUT_MAX (200 * 1024)
#define DATA_FD 100

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const encodings[] = { "UTF-8", "GBK", "GB18030" };

/* The JSONL mode's mapping: key per field (NULL: unmapped). "id" holds two fields. */
static const char *const keys[MIG_F_COUNT] = {
	[MIG_F_LEGACY_ID] = "id",
	[MIG_F_USERNAME] = "id",
	[MIG_F_NAME] = "name",
	[MIG_F_ID_NUMBER] = "idno",
	[MIG_F_PHONE] = "tel",
	[MIG_F_EMAIL] = "邮件",
	[MIG_F_STATUS] = "active",
};

/* The export sources may name as "100". */
static const char data_file[] =
    "{\"id\": \"j1\", \"name\": \"张三\", \"idno\": \"110101199003077777\"}\n"
    "{\"id\": 2, \"name\": null, \"tel\": 13800138000}\n"
    "not json\n";

static int infd = -1;
static char inpath[64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[64];
	int fd;

	(void)argc;
	(void)argv;
	yh_log_set_level(YH_LOG_OFF);
	CHECK((infd = fuzz_memfd("fuzz_jsonl", "", 0, inpath, sizeof(inpath))) >= 0);
	CHECK((fd = fuzz_memfd("fuzz_jsonl_data", data_file, sizeof(data_file) - 1, path,
	    sizeof(path))) >= 0);
	CHECK(dup2(fd, DATA_FD) == DATA_FD);
	close(fd);
	return 0;
}

/* ---- records --------------------------------------------------------------------------- */

/* "FILE:LINE: " */
static void
check_error(const char *err, const char *path, uint64_t line)
{
	char want[96];
	int n = snprintf(want, sizeof(want), "%s:%llu: ", path, (unsigned long long)line);

	CHECK(n > 0 && strncmp(err, want, (size_t)n) == 0 && err[n] != '\0');
}

/* The start and length of line no (1-based) of the text; false past its end. */
static bool
line_at(const char *text, size_t size, uint64_t no, const char **p, size_t *n)
{
	const char *s = text, *end = text + size, *nl;

	for (uint64_t i = 1; i < no; i++) {
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			return false;
		s = nl + 1;
	}
	nl = memchr(s, '\n', (size_t)(end - s));
	*p = s;
	*n = nl != NULL ? (size_t)(nl - s) : (size_t)(end - s);
	return true;
}

/* The value jansson gives a mapped member, in the reader's terms: its text, or NULL. */
static bool
same_value(json_t *v, const char *got)
{
	json_t *again;
	bool same;

	if (v == NULL || json_is_null(v))
		return got == NULL;
	if (got == NULL)
		return false;
	if (json_is_string(v))
		return strlen(got) == json_string_length(v) && strcmp(got, json_string_value(v)) == 0;
	if (json_is_true(v) || json_is_false(v))
		return strcmp(got, json_is_true(v) ? "true" : "false") == 0;
	/* a number: the text as written, which reads back as the same number */
	if ((again = json_loads(got, JSON_DECODE_ANY, NULL)) == NULL)
		return false;
	same = json_equal(again, v) && (json_is_integer(again) || json_is_real(again));
	json_decref(again);
	return same;
}

/* jansson's reasons that do not make a line invalid JSON: numbers it cannot hold. */
static bool
jansson_limit(const json_error_t *je)
{
	return strstr(je->text, "too big") != NULL || strstr(je->text, "overflow") != NULL;
}

/* The reader and jansson agree on the line of rec. */
static void
differential(const char *text, size_t size, const struct mig_record *rec, int rc,
    const char *err)
{
	json_error_t je;
	const char *p;
	size_t n;
	json_t *o;

	CHECK(line_at(text, size, rec->line, &p, &n));
	o = json_loadb(p, n, 0, &je);
	if (rc == 0) {
		if (o == NULL) {
			CHECK(jansson_limit(&je));
			return;
		}
		CHECK(json_is_object(o));
		for (int f = 0; f < MIG_F_COUNT; f++)
			CHECK(keys[f] != NULL ? same_value(json_object_get(o, keys[f]), rec->f[f]) :
			    rec->f[f] == NULL);
	} else if (rc == YH_ERR_INVALID && o != NULL && json_is_object(o)) {
		/* refused though jansson reads an object: only for the reader's own rules (and
		 * a NUL byte, which jansson skips after a number) */
		CHECK(strstr(err, "duplicate key") != NULL || strstr(err, "holds an object") != NULL ||
		    strstr(err, "nested too deep") != NULL || strstr(err, "NUL byte") != NULL);
	}
	json_decref(o);
}

static void
fuzz_records(const uint8_t *data, size_t size, unsigned enc)
{
	struct mig_source src;
	struct mig_reader *r = NULL;
	struct mig_record rec;
	const char *text = (const char *)data;
	size_t nlines = fuzz_count_lines(data, size);
	char err[512];
	int rc;

	memset(&src, 0, sizeof(src));
	src.name = "fuzz";
	src.format = MIG_FMT_JSONL;
	src.encoding = (char *)encodings[enc];
	src.path = inpath;
	for (int f = 0; f < MIG_F_COUNT; f++)
		src.columns[f] = (char *)keys[f];
	/* the reader drops a byte order mark at the start */
	if (enc == 0 && size >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
		text += 3;
		size -= 3;
	}
	CHECK(mig_reader_open(&src, &r, err, sizeof(err)) == 0);
	for (;;) {
		rc = mig_reader_next(r, &rec, err, sizeof(err));
		if (rc == YH_ERR_NOT_FOUND)
			break;
		CHECK(rc != YH_ERR_IO && rc != YH_ERR_ALLOC);
		CHECK(rec.line >= 1 && rec.line <= nlines);
		if (rc == 0)
			fuzz_mig_check_record(&rec);
		else
			check_error(err, inpath, rec.line);
		if (enc == 0 && rc != YH_ERR_TOO_LONG)
			differential(text, size, &rec, rc, err);
	}
	rc = mig_reader_check_keys(r, err, sizeof(err));
	CHECK(rc == 0 || (rc == YH_ERR_CONFIG && err[0] != '\0'));
	mig_reader_close(r);
}

/* ---- the sources file ---------------------------------------------------------------------- */

static bool
in(const char *s, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

static bool
person_only(int f)
{
	return f == MIG_F_NAME || f == MIG_F_ID_NUMBER;
}

static bool
org_only(int f)
{
	return f == MIG_F_ORG_NAME || f == MIG_F_USCC || f == MIG_F_ORG_CODE ||
	    f == MIG_F_LEGAL_REP_ID_NUMBER;
}

/* Reads a loaded source to its end (only the export kept at DATA_FD). */
static void
read_source(const struct mig_source *s)
{
	struct mig_reader *r = NULL;
	struct mig_record rec;
	char err[512];
	int rc;

	if (strcmp(s->path, "/proc/self/fd/100") != 0)
		return;
	if (mig_reader_open(s, &r, err, sizeof(err)) != 0)
		return;
	while ((rc = mig_reader_next(r, &rec, err, sizeof(err))) != YH_ERR_NOT_FOUND) {
		CHECK(rc != YH_ERR_IO && rc != YH_ERR_ALLOC);
		if (rc == 0)
			fuzz_mig_check_record(&rec);
	}
	(void)mig_reader_check_keys(r, err, sizeof(err));
	mig_reader_close(r);
}

static void
check_source(const struct mig_sources *all, size_t i)
{
	static const char *const encs[] = { "UTF-8", "GBK", "GB18030", NULL };
	static const char *const statuses[] = { "active", "disabled", "locked", "deregistered",
		NULL };
	const struct mig_source *s = &all->v[i];
	size_t mapped = 0;

	CHECK(s->name != NULL && strlen(s->name) >= 1 && strlen(s->name) <= 64);
	for (size_t j = 0; j < i; j++)
		CHECK(strcmp(all->v[j].name, s->name) != 0);
	CHECK(s->path != NULL && s->path[0] != '\0');
	CHECK(s->format == MIG_FMT_CSV || s->format == MIG_FMT_JSONL || s->format == MIG_FMT_LDIF);
	CHECK(s->encoding != NULL && in(s->encoding, encs));
	CHECK((unsigned char)s->delimiter < 0x80 && s->delimiter != '"' && s->delimiter != '\r' &&
	    s->delimiter != '\n' && s->delimiter != '\0');
	CHECK(s->format == MIG_FMT_CSV || s->delimiter == ',');
	CHECK(s->kind == MIG_KIND_PERSON || s->kind == MIG_KIND_ORG);
	CHECK(s->trust >= -1000000 && s->trust <= 1000000);
	for (int f = 0; f < MIG_F_COUNT; f++) {
		if (s->columns[f] == NULL)
			continue;
		mapped++;
		CHECK(s->columns[f][0] != '\0' && strlen(s->columns[f]) <= 256);
		CHECK(!(s->kind == MIG_KIND_PERSON && org_only(f)));
		CHECK(!(s->kind == MIG_KIND_ORG && person_only(f)));
	}
	CHECK(mapped > 0);
	CHECK(s->columns[MIG_F_PASSWORD_HASH] == NULL || s->password_scheme != NULL);
	for (size_t j = 0; j < s->n_status_map; j++)
		CHECK(s->status_map[j].from != NULL && s->status_map[j].to != NULL &&
		    in(s->status_map[j].to, statuses));
}

static void
fuzz_sources(void)
{
	struct mig_sources *all = NULL;
	char err[1024];
	int rc = mig_sources_load(inpath, &all, err, sizeof(err));

	if (rc != 0) {
		CHECK(rc == YH_ERR_CONFIG && all == NULL);
		CHECK(strncmp(err, inpath, strlen(inpath)) == 0 && err[strlen(inpath)] == ':');
		return;
	}
	CHECK(all != NULL && all->n >= 1 && all->n <= 1000);
	for (size_t i = 0; i < all->n; i++) {
		check_source(all, i);
		read_source(&all->v[i]);
	}
	mig_sources_free(all);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size - 1 > INPUT_MAX)
		return 0;
	CHECK(fuzz_write_all(infd, data + 1, size - 1) == 0);
	if (data[0] & 0x80)
		fuzz_sources();
	else
		fuzz_records(data + 1, size - 1, (data[0] & 3) % 3);
	return 0;
}
