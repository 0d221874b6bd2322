/*
 * Unit tests for idmerge's pipeline (migration-tools/idmerge/mig.h): placeholders, time
 * and status normalization, masking, the typo/contradiction rule, cleansing, uids, the
 * temporary record format, and whole runs fed from memory: the invariant (every record
 * in exactly one output), never merging two valid ID numbers, name+phone joins,
 * ambiguity and name conflicts going to review, determinism.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "identity/identity.h"
#include "identity/idn/idnum.h"
#include "migration-tools/idmerge/mig.h"

/* ---------- helpers ---------- */

/* A valid resident ID number from 17 digits. */
static void
make_id(const char *d17, char out[19])
{
	memcpy(out, d17, 17);
	out[17] = idn_resident_check_char(d17);
	out[18] = '\0';
}

static struct mig_source test_src[3];
static struct mig_sources test_sources = { test_src, 3, (char *)"memory" };

static void
setup_sources(void)
{
	memset(test_src, 0, sizeof(test_src));
	test_src[0].name = (char *)"alpha";
	test_src[0].kind = MIG_KIND_PERSON;
	test_src[0].trust = 2;
	test_src[0].password_scheme = (char *)"md5-hex";
	test_src[0].path = (char *)"/nonexistent/alpha.csv";
	test_src[1].name = (char *)"beta";
	test_src[1].kind = MIG_KIND_PERSON;
	test_src[1].trust = 1;
	test_src[1].password_scheme = (char *)"sha1-hex";
	test_src[1].path = (char *)"/nonexistent/beta.csv";
	test_src[2].name = (char *)"orgs";
	test_src[2].kind = MIG_KIND_ORG;
	test_src[2].path = (char *)"/nonexistent/orgs.csv";
}

static uint64_t seqs[3];

/* Builds a record of source s; fields given as pairs (field, value), ending with -1. */
static struct mig_record
rec(int s, ...)
{
	struct mig_record r;
	va_list ap;
	int f;

	memset(&r, 0, sizeof(r));
	r.src = &test_src[s];
	r.seq = ++seqs[s];
	r.line = r.seq + 1;
	va_start(ap, s);
	while ((f = va_arg(ap, int)) >= 0)
		r.f[f] = va_arg(ap, char *);
	va_end(ap);
	return r;
}

static char *
slurp(const char *dir, const char *name)
{
	char path[512];
	FILE *f;
	long n;
	char *b;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = calloc(1, (size_t)n + 1);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return b;
}

static size_t
count_lines(const char *s, const char *needle)
{
	size_t n = 0;

	for (const char *p = s; p && *p; ) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (needle == NULL || memmem(p, len, needle, strlen(needle)) != NULL)
			n += len > 0;
		p = e ? e + 1 : p + len;
	}
	return n;
}

static void
rm_dir(const char *dir)
{
	const char *names[] = { "identities.jsonl", "rejects.jsonl", "review.jsonl",
		"report.json", "report.html", "uid.key" };
	char path[512];

	for (size_t i = 0; i < 6; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

/* ---------- small functions ---------- */

static void
test_placeholders(void **state)
{
	const char *yes[] = { "无", "NULL", "null", "-", "/", "待补充", " 暂无 ", "000000000000000000",
		"111111111111111111", "123456789012345678", "12345678901234567X", "987654321098765432",
		"xxxxxxxxxxxxxxxxxx", "０００００００００００００００００" };
	const char *no[] = { "11010519491231002X", "440524188001010014", "110105491231002", "",
		"张三", "91350100M000100Y43", "1.10105E+17" };

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!mig_is_placeholder(yes[i]))
			fail_msg("\"%s\" should be a placeholder", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (mig_is_placeholder(no[i]))
			fail_msg("\"%s\" is not a placeholder", no[i]);
	assert_false(mig_is_placeholder(NULL));
}

static void
test_norm_time(void **state)
{
	static const char *const cases[][2] = {
		{ "2023-05-01 12:00:00", "20230501120000" },
		{ "2023/5/1 8:07", "20230501080700" },
		{ "2023-05-01T12:00:00.123Z", "20230501120000" },
		{ "20230501", "20230501000000" },
		{ "20230501120102", "20230501120102" },
		{ "2023年5月1日", "20230501000000" },
		{ "1700000000", "20231115061320" },     /* Unix seconds, shown in CST */
		{ "1700000000000", "20231115061320" },  /* milliseconds */
		{ "2023-02-30", "" },
		{ "yesterday", "" },
		{ "", "" },
	};
	char out[15];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mig_norm_time(cases[i][0], out);
		if (strcmp(out, cases[i][1]) != 0)
			fail_msg("mig_norm_time(\"%s\") = \"%s\", want \"%s\"", cases[i][0], out,
			    cases[i][1]);
	}
	mig_norm_time(NULL, out);
	assert_string_equal(out, "");
}

static void
test_norm_status(void **state)
{
	struct mig_status_map map[2] = { { (char *)"1", (char *)"active" },
		{ (char *)"9", (char *)"deregistered" } };
	struct mig_source s;

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_string_equal(mig_norm_status(&s, NULL), "active");
	assert_string_equal(mig_norm_status(&s, "Locked"), "locked");
	assert_string_equal(mig_norm_status(&s, "whatever"), "disabled");
	s.status_map = map;
	s.n_status_map = 2;
	assert_string_equal(mig_norm_status(&s, "1"), "active");
	assert_string_equal(mig_norm_status(&s, " 9 "), "deregistered");
	/* An unknown legacy value never turns an account on. */
	assert_string_equal(mig_norm_status(&s, "7"), "disabled");
}

static void
test_mask(void **state)
{
	char out[64];

	(void)state;
	mig_mask_value("11010519491231002X", out, sizeof(out));
	assert_string_equal(out, "110105********002X");
	mig_mask_value("张三的身份证", out, sizeof(out));
	assert_string_equal(out, "******");
	mig_mask_value("无", out, sizeof(out));
	assert_string_equal(out, "无");
	mig_mask_value(NULL, out, sizeof(out));
	assert_string_equal(out, "");
}

static void
test_contradicts(void **state)
{
	char a[19], t[19], sci[32];

	(void)state;
	make_id("11010519491231002", a);
	/* No number given: nothing contradicts. */
	assert_false(mig_id_contradicts("", "missing_id", a));
	assert_false(mig_id_contradicts("NULL", "placeholder", a));
	/* One substituted digit, or two adjacent ones swapped: a typo of this number. */
	memcpy(t, a, 19);
	t[5] = t[5] == '1' ? '2' : '1';
	assert_false(mig_id_contradicts(t, "bad_checksum", a));
	memcpy(t, a, 19);
	t[8] = a[9];
	t[9] = a[8];
	assert_false(mig_id_contradicts(t, "bad_checksum", a));
	/* Two substitutions: another number. */
	memcpy(t, a, 19);
	t[3] = t[3] == '1' ? '2' : '1';
	t[12] = t[12] == '1' ? '2' : '1';
	assert_true(mig_id_contradicts(t, "bad_checksum", a));
	/* 15-digit form with a typo. */
	assert_false(mig_id_contradicts("110105491231003", "bad_checksum", a));
	assert_true(mig_id_contradicts("440105491231555", "bad_checksum", a));
	/* Excel: the mantissa must be this number rounded. */
	snprintf(sci, sizeof(sci), "1.10105E+17");
	assert_false(mig_id_contradicts(sci, "scientific_notation", a));
	assert_true(mig_id_contradicts("4.40524E+17", "scientific_notation", a));
	assert_true(mig_id_contradicts("1.10106E+17", "scientific_notation", a));
	assert_true(mig_id_contradicts("1.10105E+16", "scientific_notation", a));
}

static void
test_uid(void **state)
{
	char a[40], b[40], c[40];
	const unsigned char key[16] = "0123456789abcdef";
	struct mig_uid_key *legacy = NULL, *k = NULL;

	(void)state;
	assert_int_equal(mig_uid_key_legacy(&legacy), 0);
	assert_int_equal(mig_uid(legacy, 'p', "11010519491231002X", a, sizeof(a)), 0);
	assert_int_equal(mig_uid(legacy, 'p', "11010519491231002X", b, sizeof(b)), 0);
	assert_string_equal(a, b);
	/* Known answer: python3 hmac.new(b"yihao/idmerge/uid/v1", b"p:11010519491231002X",
	 * hashlib.sha256).hexdigest()[:32]. A change here changes every imported uid. */
	assert_string_equal(a, "d39f456fe21e322909163d6c740c341e");
	assert_int_equal(strlen(a), 32);
	assert_int_equal(strspn(a, "0123456789abcdef"), 32);
	assert_int_equal(mig_uid(legacy, 'o', "11010519491231002X", c, sizeof(c)), 0);
	assert_string_not_equal(a, c);
	assert_int_equal(mig_uid_key_new(key, sizeof(key), &k), 0);
	assert_int_equal(mig_uid(k, 'p', "11010519491231002X", c, sizeof(c)), 0);
	assert_string_not_equal(a, c);
	/* Known answer: hmac.new(b"0123456789abcdef", b"p:11010519491231002X",
	 * hashlib.sha256).hexdigest()[:32]. */
	assert_string_equal(c, "204710101a2b4aed8dfeb5aadb5faf4c");
	assert_int_not_equal(mig_uid(k, 'p', "x", a, 20), 0);
	mig_uid_key_free(k);
	mig_uid_key_free(legacy);
	for (int i = 0; i < 100; i++) {
		char kk[8];

		snprintf(kk, sizeof(kk), "k%d", i);
		assert_true(mig_part_of(kk, 7) < 7);
	}
}

/* A uid is never made without a secret key: no key, a short one or the public key of
 * earlier versions is refused. */
static void
test_uid_needs_key(void **state)
{
	static const char legacy[] = "yihao/idmerge/uid/v1";
	struct mig_uid_key *k = NULL;
	char out[40] = "untouched", err[256];
	char path[] = "/tmp/yh_test_idmerge_keyXXXXXX";
	int fd;

	(void)state;
	assert_int_equal(mig_uid(NULL, 'p', "11010519491231002X", out, sizeof(out)), YH_ERR_KEY);
	assert_string_equal(out, "untouched");
	assert_int_equal(mig_uid_key_new(NULL, 0, &k), YH_ERR_KEY);
	assert_null(k);
	assert_int_equal(mig_uid_key_new((const unsigned char *)"0123456789abcde", 15, &k),
	    YH_ERR_KEY);
	assert_null(k);
	assert_int_equal(mig_uid_key_new((const unsigned char *)legacy, sizeof(legacy) - 1, &k),
	    YH_ERR_KEY);
	assert_null(k);
	/* Nor as a key file (--uid-key): refused with a message naming the file. */
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, legacy, sizeof(legacy) - 1), (ssize_t)(sizeof(legacy) - 1));
	close(fd);
	assert_int_equal(mig_uid_key_load(path, false, &k, err, sizeof(err)), YH_ERR_KEY);
	assert_null(k);
	assert_non_null(strstr(err, path));
	/* A key file others may read is refused too. */
	assert_int_equal(truncate(path, 0), 0);
	assert_true((fd = open(path, O_WRONLY)) >= 0);
	assert_int_equal(write(fd, "0123456789abcdef", 16), 16);
	close(fd);
	assert_int_equal(mig_uid_key_load(path, false, &k, err, sizeof(err)), 0);
	mig_uid_key_free(k);
	k = NULL;
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(mig_uid_key_load(path, false, &k, err, sizeof(err)), YH_ERR_PERM);
	assert_null(k);
	unlink(path);
}

static void
test_rec_roundtrip(void **state)
{
	struct mig_rec r, *x;
	struct mig_part p;
	char path[] = "/tmp/yh_test_idmerge_recXXXXXX";
	int fd = mkstemp(path);
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	assert_non_null(f = fdopen(fd, "w"));
	memset(&r, 0, sizeof(r));
	for (int i = 0; i < MV_COUNT; i++)
		r.v[i] = "";
	r.type = MIG_T_PERSON;
	r.key = "11010519491231002X";
	r.src = 2;
	r.seq = 12345678901ULL;
	r.v[MV_NAME] = "张\t三\\n\n";
	r.v[MV_PW_SALT] = "a\rb\\";
	assert_int_equal(mig_rec_write(f, &r), 0);
	r.key = "A";
	assert_int_equal(mig_rec_write(f, &r), 0);
	fclose(f);
	assert_int_equal(mig_part_load(path, &p), 0);
	assert_int_equal(p.n, 2);
	assert_int_equal(mig_part_sort(&p), 0);
	x = &p.recs[strcmp(p.recs[0].key, "A") == 0 ? 1 : 0];
	assert_int_equal(x->type, MIG_T_PERSON);
	assert_string_equal(x->key, "11010519491231002X");
	assert_int_equal(x->src, 2);
	assert_true(x->seq == 12345678901ULL);
	assert_string_equal(x->v[MV_NAME], "张\t三\\n\n");
	assert_string_equal(x->v[MV_PW_SALT], "a\rb\\");
	assert_string_equal(x->v[MV_EMAIL], "");
	assert_string_equal(p.recs[x == &p.recs[0] ? 1 : 0].key, "A");
	mig_part_free(&p);
	/* A damaged file is an error, not a silent skip. */
	assert_non_null(f = fopen(path, "w"));
	fputs("P\tkey\t1\n", f);
	fclose(f);
	assert_int_equal(mig_part_load(path, &p), YH_ERR_INTERNAL);
	unlink(path);
	/* A missing file is an empty partition. */
	assert_int_equal(mig_part_load(path, &p), 0);
	assert_int_equal(p.n, 0);
}

static void
test_cleanse(void **state)
{
	struct mig_clean *c = calloc(1, sizeof(*c));
	struct mig_record r;
	char id[19];

	(void)state;
	setup_sources();
	make_id("11010519491231002", id);
	r = rec(0, MIG_F_LEGACY_ID, "7", MIG_F_NAME, " 张 三 ", MIG_F_ID_NUMBER,
	    "'１１０１０５１９４９１２３１００２ｘ", MIG_F_PHONE, "+86 138-0013-8000",
	    MIG_F_EMAIL, "Zhang@Example.COM", MIG_F_LAST_LOGIN, "2020-01-02", -1);
	assert_int_equal(mig_cleanse(&r, 0, 20260101, c), 0);
	assert_int_equal(c->dest, MIG_DEST_KEEP);
	assert_int_equal(c->rec.type, MIG_T_PERSON);
	assert_string_equal(c->rec.key, id);
	assert_string_equal(c->rec.v[MV_NAME], "张三");
	assert_string_equal(c->rec.v[MV_PHONE], "13800138000");
	assert_string_equal(c->rec.v[MV_EMAIL], "zhang@example.com");
	assert_string_equal(c->rec.v[MV_LAST_LOGIN], "20200102000000");
	assert_string_equal(c->rec.v[MV_STATUS], "active");

	/* A placeholder name is no name. */
	r = rec(0, MIG_F_LEGACY_ID, "7b", MIG_F_NAME, "NULL", MIG_F_ID_NUMBER, id, -1);
	assert_int_equal(mig_cleanse(&r, 0, 20260101, c), 0);
	assert_string_equal(c->rec.v[MV_NAME], "");
	assert_string_equal(c->rec.v[MV_NAME_KEY], "");

	/* 15 digits are upgraded. */
	r = rec(0, MIG_F_LEGACY_ID, "8", MIG_F_ID_NUMBER, "110105491231002", -1);
	assert_int_equal(mig_cleanse(&r, 0, 20260101, c), 0);
	assert_string_equal(c->rec.key, id);

	/* Unusable number, no phone: rejected with the reason. */
	r = rec(0, MIG_F_LEGACY_ID, "9", MIG_F_NAME, "李四", MIG_F_ID_NUMBER, "1.10105E+17", -1);
	assert_int_equal(mig_cleanse(&r, 0, 20260101, c), 0);
	assert_int_equal(c->dest, MIG_DEST_REJECT);
	assert_string_equal(c->reason, "scientific_notation");
	assert_string_equal(c->field, "id_number");

	/* Unusable number with name and phone: kept for name+phone matching. */
	r = rec(0, MIG_F_NAME, "李四", MIG_F_ID_NUMBER, "待补充", MIG_F_PHONE, "13900139000", -1);
	assert_int_equal(mig_cleanse(&r, 0, 20260101, c), 0);
	assert_int_equal(c->dest, MIG_DEST_KEEP);
	assert_int_equal(c->rec.type, MIG_T_NOID);
	assert_string_equal(c->rec.v[MV_REASON], "placeholder");
	assert_string_equal(c->rec.key, "李四\x1f" "13900139000");
	/* A missing legacy id is replaced by the record number. */
	assert_true(c->rec.v[MV_LEGACY_ID][0] == '#');

	/* Future birth date, as of the given day. */
	make_id("11010520300101001", id);
	r = rec(0, MIG_F_LEGACY_ID, "10", MIG_F_ID_NUMBER, id, -1);
	assert_int_equal(mig_cleanse(&r, 0, 20260101, c), 0);
	assert_string_equal(c->reason, "future_birthdate");

	/* Organizations: the standard's example, and its org code alone. */
	r = rec(2, MIG_F_LEGACY_ID, "o1", MIG_F_ORG_NAME, "X", MIG_F_USCC, "91350100M000100Y43", -1);
	assert_int_equal(mig_cleanse(&r, 2, 20260101, c), 0);
	assert_int_equal(c->rec.type, MIG_T_ORG);
	assert_string_equal(c->rec.key, "M000100Y4");
	assert_string_equal(c->rec.v[MV_USCC], "91350100M000100Y43");
	r = rec(2, MIG_F_LEGACY_ID, "o2", MIG_F_ORG_CODE, "M000100Y-4", -1);
	assert_int_equal(mig_cleanse(&r, 2, 20260101, c), 0);
	assert_string_equal(c->rec.key, "M000100Y4");
	assert_string_equal(c->rec.v[MV_USCC], "");
	/* A credit code failing its final check still joins through its org code. */
	r = rec(2, MIG_F_LEGACY_ID, "o3", MIG_F_USCC, "91350100M000100Y44", -1);
	assert_int_equal(mig_cleanse(&r, 2, 20260101, c), 0);
	assert_int_equal(c->dest, MIG_DEST_KEEP);
	assert_string_equal(c->rec.key, "M000100Y4");
	assert_string_equal(c->rec.v[MV_USCC], "");
	/* Placeholder credit code, no org code: rejected. */
	r = rec(2, MIG_F_LEGACY_ID, "o4", MIG_F_USCC, "无", -1);
	assert_int_equal(mig_cleanse(&r, 2, 20260101, c), 0);
	assert_int_equal(c->dest, MIG_DEST_REJECT);
	assert_string_equal(c->reason, "placeholder");
	free(c);
}

/* ---------- whole runs ---------- */

struct run_result {
	char *ident, *rejects, *review, *report;
};

static void
free_result(struct run_result *x)
{
	free(x->ident);
	free(x->rejects);
	free(x->review);
	free(x->report);
}

/* Feeds a fixed set of records through a run with nparts partitions, its uids keyed by
 * keyfile (--uid-key) or, when NULL, by dir/uid.key. */
static void
run_memory(const char *dir, unsigned nparts, const char *keyfile, struct run_result *res)
{
	struct mig_run_opts o;
	struct mig_run *r = NULL;
	struct mig_record x;
	char err[512] = "", a[19], b[19], c[19], d[19];

	setup_sources();
	memset(seqs, 0, sizeof(seqs));
	make_id("11010519491231002", a);
	make_id("44052418800101001", b);
	make_id("32010219700101001", c);
	make_id("32010219720202002", d);
	memset(&o, 0, sizeof(o));
	o.out_dir = dir;
	o.today = 20260101;
	o.nparts = nparts;
	o.uid_key_file = keyfile;
	if (mig_run_open(&o, &test_sources, &r, err, sizeof(err)) != 0)
		fail_msg("open: %s", err);

#define ADD(s, ...) do { x = rec(s, __VA_ARGS__, -1); assert_int_equal(mig_run_add(r, s, &x), 0); } while (0)
	/* Person A twice (one 15-digit), with passwords: the more recent login wins. */
	ADD(0, MIG_F_LEGACY_ID, "a1", MIG_F_NAME, "张三", MIG_F_ID_NUMBER, a, MIG_F_PHONE, "13800138000",
	    MIG_F_PASSWORD_HASH, "h-a1", MIG_F_LAST_LOGIN, "2020-01-01", MIG_F_STATUS, "deregistered");
	ADD(1, MIG_F_LEGACY_ID, "a2", MIG_F_NAME, "張三", MIG_F_ID_NUMBER, "110105491231002",
	    MIG_F_PASSWORD_HASH, "h-a2", MIG_F_LAST_LOGIN, "2024-01-01", MIG_F_STATUS, "active");
	/* B: a different person with the same name and phone as A: never merged. */
	ADD(1, MIG_F_LEGACY_ID, "b1", MIG_F_NAME, "张三", MIG_F_ID_NUMBER, b, MIG_F_PHONE, "13800138000");
	/* ID-less 张三 + that phone: two identities -> review with both. */
	ADD(0, MIG_F_LEGACY_ID, "n1", MIG_F_NAME, "张三", MIG_F_PHONE, "138 0013 8000");
	/* C with a phone nobody else has; an ID-less record joins it. */
	ADD(0, MIG_F_LEGACY_ID, "c1", MIG_F_NAME, "王五", MIG_F_ID_NUMBER, c, MIG_F_PHONE, "13900139000");
	ADD(1, MIG_F_LEGACY_ID, "c2", MIG_F_NAME, "王 五", MIG_F_ID_NUMBER, "NULL", MIG_F_PHONE, "+8613900139000");
	/* Same phone and name, but its (broken) number is someone else's: review. */
	ADD(1, MIG_F_LEGACY_ID, "c3", MIG_F_NAME, "王五", MIG_F_ID_NUMBER, "44052418800101001X",
	    MIG_F_PHONE, "13900139000");
	/* D under two names: a conflict, never merged. */
	ADD(0, MIG_F_LEGACY_ID, "d1", MIG_F_NAME, "赵六", MIG_F_ID_NUMBER, d);
	ADD(1, MIG_F_LEGACY_ID, "d2", MIG_F_NAME, "钱七", MIG_F_ID_NUMBER, d);
	/* Rejects. */
	ADD(0, MIG_F_LEGACY_ID, "r1", MIG_F_NAME, "孙八", MIG_F_ID_NUMBER, "000000000000000000");
	ADD(0, MIG_F_LEGACY_ID, "r2", MIG_F_NAME, "孙八");
	/* An organization whose legal representative is A; another by org code only. */
	ADD(2, MIG_F_LEGACY_ID, "o1", MIG_F_ORG_NAME, "福州公司", MIG_F_USCC, "91350100M000100Y43",
	    MIG_F_LEGAL_REP_ID_NUMBER, a);
	ADD(2, MIG_F_LEGACY_ID, "o2", MIG_F_ORG_NAME, "福州公司", MIG_F_ORG_CODE, "M000100Y4");
#undef ADD
	assert_int_equal(mig_run_add_unreadable(r, 1, 99, 100), 0);
	if (mig_run_finish(r, err, sizeof(err)) != 0)
		fail_msg("finish: %s", err);
	mig_run_free(r);
	res->ident = slurp(dir, "identities.jsonl");
	res->rejects = slurp(dir, "rejects.jsonl");
	res->review = slurp(dir, "review.jsonl");
	res->report = slurp(dir, "report.json");
	assert_non_null(res->ident);
	assert_non_null(res->rejects);
	assert_non_null(res->review);
	assert_non_null(res->report);
}

static void
test_run_memory(void **state)
{
	char dir[] = "/tmp/yh_test_idmerge_runXXXXXX", dir2[] = "/tmp/yh_test_idmerge_runXXXXXX";
	char dir3[] = "/tmp/yh_test_idmerge_runXXXXXX", keyfile[600];
	struct run_result x, y;
	char a[19], b[19], line[4096];
	const char *p;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_non_null(mkdtemp(dir2));
	assert_non_null(mkdtemp(dir3));
	run_memory(dir, 4, NULL, &x);
	make_id("11010519491231002", a);
	make_id("44052418800101001", b);

	/* 14 records: 7 accounts (a1 a2 b1 c1 c2 o1 o2), 3 rejects, 4 review. */
	assert_int_equal(count_lines(x.ident, NULL), 4);   /* A, B, C, org; nothing for D */
	assert_int_equal(count_lines(x.rejects, NULL), 3);
	assert_int_equal(count_lines(x.review, NULL), 4);
	assert_non_null(strstr(x.report, "\"read\": 14, \"accounts\": 7, \"rejects\": 3, \"review\": 4"));
	/* A and B stay apart although name and phone are equal. */
	p = strstr(x.ident, a);
	assert_non_null(p);
	assert_null(strstr(p + 1, a));
	assert_int_equal(count_lines(x.ident, b), 1);
	assert_int_equal(count_lines(x.ident, "\"legacy_id\":\"b1\""), 1);
	/* No line holds both numbers. */
	for (const char *q = x.ident; *q; ) {
		const char *e = strchr(q, '\n');
		size_t n = (size_t)(e - q);

		assert_true(n < sizeof(line));
		memcpy(line, q, n);
		line[n] = '\0';
		assert_false(strstr(line, a) != NULL && strstr(line, b) != NULL);
		q = e + 1;
	}
	/* A: active (a2 is), credential from the most recent login (a2, sha1-hex). */
	assert_non_null(strstr(x.ident, "\"credential\":{\"source\":\"beta\",\"legacy_id\":\"a2\","
	    "\"scheme\":\"sha1-hex\",\"hash\":\"h-a2\""));
	/* Name by trust: alpha (2) over beta (1). */
	assert_non_null(strstr(x.ident, "\"name\":\"张三\",\"phone\":\"13800138000\""));
	/* c2 joined C; c3 went to review as a contradiction; n1 is ambiguous. */
	assert_int_equal(count_lines(x.ident, "\"legacy_id\":\"c2\""), 1);
	assert_int_equal(count_lines(x.review, "\"legacy_id\":\"c3\",\"reason\":\"id_contradiction\""), 1);
	assert_int_equal(count_lines(x.review, "\"legacy_id\":\"n1\",\"reason\":\"ambiguous_match\""), 1);
	assert_int_equal(count_lines(x.review, "name_conflict"), 2);
	/* Each review line carries its record for the review case: c3's number as read,
	 * with why it was unusable; the two conflicting records share their group. */
	assert_int_equal(count_lines(x.review, "\"legacy_id\":\"c3\""), 1);
	assert_int_equal(count_lines(x.review, "\"id_number\":\"44052418800101001X\","
	    "\"id_problem\":\"bad_checksum\""), 1);
	assert_int_equal(count_lines(x.review, "\"record\":{\"kind\":\"person\""), 4);
	p = strstr(x.review, "\"group\":\"");
	assert_non_null(p);
	memcpy(line, p, 42);
	line[42] = '\0';
	assert_int_equal(count_lines(x.review, line), 2);
	assert_int_equal(count_lines(x.rejects, "\"reason\":\"placeholder\""), 1);
	assert_int_equal(count_lines(x.rejects, "\"reason\":\"missing_id\""), 1);
	assert_int_equal(count_lines(x.rejects, "\"reason\":\"unreadable\""), 1);
	/* The organization: both records, credit code kept, legal representative = A. */
	assert_int_equal(count_lines(x.ident, "\"legacy_id\":\"o2\""), 1);
	assert_non_null(strstr(x.ident, "\"uscc\":\"91350100M000100Y43\",\"org_code\":\"M000100Y4\""));
	/* The run made its own key, dir/uid.key (0600): A's uid is the one it gives, never
	 * the one of the public key earlier versions used. */
	snprintf(keyfile, sizeof(keyfile), "%s/uid.key", dir);
	assert_int_equal(stat(keyfile, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 65);
	{
		struct mig_uid_key *k = NULL;
		char uid[40], want[80];

		assert_int_equal(mig_uid_key_load(keyfile, false, &k, line, sizeof(line)), 0);
		assert_int_equal(mig_uid(k, 'p', a, uid, sizeof(uid)), 0);
		mig_uid_key_free(k);
		snprintf(want, sizeof(want), "\"legal_rep_uid\":\"%s\"", uid);
		assert_non_null(strstr(x.ident, want));
		assert_int_equal(mig_uid_key_legacy(&k), 0);
		assert_int_equal(mig_uid(k, 'p', a, uid, sizeof(uid)), 0);
		mig_uid_key_free(k);
		assert_null(strstr(x.ident, uid));
	}
	/* Outputs are 0600. */
	snprintf(line, sizeof(line), "%s/identities.jsonl", dir);
	assert_int_equal(stat(line, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* Determinism: a rerun into dir reuses dir/uid.key; another directory given that key
	 * (--uid-key) gives the same bytes, whatever the partition count (order by uid within
	 * partitions), and makes no key of its own. */
	run_memory(dir, 4, NULL, &y);
	assert_string_equal(x.ident, y.ident);
	assert_string_equal(x.review, y.review);
	free_result(&y);
	run_memory(dir2, 4, keyfile, &y);
	assert_string_equal(x.ident, y.ident);
	assert_string_equal(x.rejects, y.rejects);
	assert_string_equal(x.review, y.review);
	assert_string_equal(x.report, y.report);
	free_result(&y);
	snprintf(line, sizeof(line), "%s/uid.key", dir2);
	assert_int_not_equal(stat(line, &st), 0);
	run_memory(dir2, 1, keyfile, &y);
	assert_string_equal(x.report, y.report);
	assert_int_equal(count_lines(y.ident, NULL), 4);
	free_result(&y);
	/* A directory of its own makes a key of its own: the same decisions, other uids. */
	run_memory(dir3, 4, NULL, &y);
	assert_string_equal(x.report, y.report);
	assert_string_not_equal(x.ident, y.ident);
	free_result(&y);
	free_result(&x);
	rm_dir(dir);
	rm_dir(dir2);
	rm_dir(dir3);
}

/* A run that is freed without finishing (a source failed) leaves no output behind:
 * the outputs live in the temporary directory until the run succeeds, and an output
 * directory the run made itself is removed again. */
static void
test_run_unfinished(void **state)
{
	char parent[] = "/tmp/yh_test_idmerge_failXXXXXX", dir[64], err[512] = "";
	struct mig_run_opts o;
	struct mig_run *r = NULL;
	struct mig_record x;
	struct stat st;

	(void)state;
	setup_sources();
	memset(seqs, 0, sizeof(seqs));
	assert_non_null(mkdtemp(parent));
	snprintf(dir, sizeof(dir), "%s/out", parent);
	memset(&o, 0, sizeof(o));
	o.out_dir = dir;
	o.today = 20260101;
	assert_int_equal(mig_run_open(&o, &test_sources, &r, err, sizeof(err)), 0);
	x = rec(0, MIG_F_LEGACY_ID, "r1", MIG_F_NAME, "孙八", -1);   /* a reject, written at once */
	assert_int_equal(mig_run_add(r, 0, &x), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	mig_run_free(r);
	assert_int_not_equal(stat(dir, &st), 0);

	/* An output directory that existed before stays, empty. */
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(mig_run_open(&o, &test_sources, &r, err, sizeof(err)), 0);
	x = rec(0, MIG_F_LEGACY_ID, "r2", MIG_F_NAME, "孙八", -1);
	assert_int_equal(mig_run_add(r, 0, &x), 0);
	mig_run_free(r);
	assert_int_equal(rmdir(dir), 0);   /* fails unless empty */
	assert_int_equal(rmdir(parent), 0);
}

static void
test_counts_check(void **state)
{
	struct mig_src_counts sc[1];
	struct mig_counts c;
	char err[256];

	(void)state;
	setup_sources();
	memset(sc, 0, sizeof(sc));
	c.src = sc;
	c.n_src = 1;
	sc[0].read = 5;
	sc[0].accounts = 2;
	sc[0].rejects = 2;
	sc[0].review = 1;
	assert_int_equal(mig_counts_check(&c, &test_sources, err, sizeof(err)), 0);
	sc[0].review = 0;
	assert_int_equal(mig_counts_check(&c, &test_sources, err, sizeof(err)), YH_ERR_INTERNAL);
	assert_non_null(strstr(err, "alpha"));
	sc[0].review = 2;
	assert_int_equal(mig_counts_check(&c, &test_sources, err, sizeof(err)), YH_ERR_INTERNAL);
}

static void
test_reason_table(void **state)
{
	struct mig_reason_count t[MIG_REASONS_MAX];
	size_t n = 0;
	char tmp[32];

	(void)state;
	snprintf(tmp, sizeof(tmp), "bad_checksum");
	mig_reason_add(t, &n, tmp);
	memset(tmp, 0, sizeof(tmp));   /* the table must not keep the caller's string */
	mig_reason_add(t, &n, "bad_checksum");
	mig_reason_add(t, &n, "something new");
	assert_int_equal(n, 2);
	assert_string_equal(t[0].reason, "bad_checksum");
	assert_int_equal(t[0].n, 2);
	assert_string_equal(t[1].reason, "other");
}

/* ---------- re-keying ---------- */

/* The uid the key k gives kind and canon. */
static void
uid_of(struct mig_uid_key *k, char kind, const char *canon, char out[DIR_UID_LEN + 1])
{
	assert_int_equal(mig_uid(k, kind, canon, out, DIR_UID_LEN + 1), 0);
}

/* Rows of every table in the database at path holding one of the uids in any column. */
static int64_t
rows_naming(const char *path, const char *const *uids, size_t n)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *tables = NULL, *cols, *st;
	int64_t found = 0;
	char sql[512];

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = "
	    "'table'", -1, &tables, NULL), SQLITE_OK);
	while (sqlite3_step(tables) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(tables, 0);

		snprintf(sql, sizeof(sql), "SELECT name FROM pragma_table_info('%s')", t);
		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &cols, NULL), SQLITE_OK);
		while (sqlite3_step(cols) == SQLITE_ROW) {
			for (size_t i = 0; i < n; i++) {
				snprintf(sql, sizeof(sql), "SELECT count(*) FROM \"%s\" WHERE \"%s\" = ?1",
				    t, (const char *)sqlite3_column_text(cols, 0));
				assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
				sqlite3_bind_text(st, 1, uids[i], -1, SQLITE_STATIC);
				assert_int_equal(sqlite3_step(st), SQLITE_ROW);
				found += sqlite3_column_int64(st, 0);
				sqlite3_finalize(st);
			}
		}
		sqlite3_finalize(cols);
	}
	sqlite3_finalize(tables);
	/* And the references are whole again. */
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return found;
}

/* A directory as an earlier idmerge left it: persons A and B and organization O under
 * public-key uids, with everything that can refer to a uid; C registered on her own. */
static void
legacy_directory(struct ident *id, char a[19], char b[19], char oa[33], char ob[33],
    char oo[33], char c_uid[33])
{
	struct mig_uid_key *legacy = NULL;
	struct dir_person p;
	struct dir_org o;
	struct dir_mandate m;
	struct dir_legacy l;
	struct dir_loa v;
	char c[19];
	const unsigned char seed[20] = "12345678901234567890";
	static const char *const links[4][2] = { { "shebao", "a1" }, { "gjj", "a2" },
		{ "shichang", "o1" }, { "jiaoyu", "b1" } };

	assert_int_equal(mig_uid_key_legacy(&legacy), 0);
	make_id("11010519491231002", a);
	make_id("44052418800101001", b);
	make_id("32010219700101001", c);
	uid_of(legacy, 'p', a, oa);
	uid_of(legacy, 'p', b, ob);
	uid_of(legacy, 'o', "M000100Y4", oo);
	mig_uid_key_free(legacy);
	memset(&p, 0, sizeof(p));
	p.name = (char *)"张三";
	p.id_number = a;
	p.phone = (char *)"13800138000";
	memcpy(p.uid, oa, 33);
	assert_int_equal(dir_person_add(id->dir, &p, NULL), 0);
	p.name = (char *)"李四";
	p.id_number = b;
	p.phone = NULL;
	p.loa.level = 2;                 /* an agent is real-name verified */
	p.loa.method = (char *)"counter";
	memcpy(p.uid, ob, 33);
	assert_int_equal(dir_person_add(id->dir, &p, NULL), 0);
	memset(&p.loa, 0, sizeof(p.loa));
	p.name = (char *)"王五";
	p.id_number = c;
	p.uid[0] = '\0';
	assert_int_equal(dir_person_add(id->dir, &p, c_uid), 0);
	memset(&o, 0, sizeof(o));
	memcpy(o.uid, oo, 33);
	o.org_code = (char *)"M000100Y4";
	o.name = (char *)"福州公司";
	memcpy(o.legal_rep_uid, oa, 33);
	assert_int_equal(dir_org_add(id->dir, &o, NULL, NULL), 0);
	memset(&m, 0, sizeof(m));
	memcpy(m.person_uid, ob, 33);
	memcpy(m.org_uid, oo, 33);
	m.role = (char *)"agent";
	m.granted_by = oa;
	assert_int_equal(dir_mandate_add(id->dir, &m, NULL, NULL), 0);
	memset(&l, 0, sizeof(l));
	for (size_t i = 0; i < 4; i++) {
		memcpy(l.owner_uid, i < 2 ? oa : i == 2 ? oo : ob, 33);
		l.source = (char *)links[i][0];
		l.legacy_id = (char *)links[i][1];
		assert_int_equal(dir_legacy_add(id->dir, &l), 0);
	}
	assert_int_equal(dir_cred_set(id->dir, oa, "sha1-hex", "hash-of-a", NULL), 0);
	assert_int_equal(dir_cred_set(id->dir, oo, "md5-hex", "hash-of-o", NULL), 0);
	assert_int_equal(dir_totp_set(id->dir, oa, seed, sizeof(seed), true), 0);
	assert_int_equal(dir_consent_set(id->dir, oa, "app1", "openid profile"), 0);
	assert_int_equal(dir_consent_set(id->dir, ob, "app2", "openid"), 0);
	memset(&v, 0, sizeof(v));
	v.level = 2;
	v.method = (char *)"counter";
	v.by = (char *)"staff-7";
	assert_int_equal(dir_person_set_loa(id->dir, oa, &v, 0, NULL), 0);
}

/* idmerge rekey: every public-key uid becomes the keyed one, and every person keeps
 * their legacy links, credential, TOTP seed, consents, mandates, verification history
 * and legal representation; nothing in any table names an old uid afterwards. */
static void
test_rekey(void **state)
{
	char root[] = "/tmp/yh_test_idmerge_rekeyXXXXXX", st_dir[64], keyfile[64], db[80];
	char a[19], b[19], oa[33], ob[33], oo[33], c_uid[33], na[33], nb[33], no[33];
	char err[512], *scopes = NULL;
	const char *olds[3] = { oa, ob, oo };
	struct mig_rekey_opts o;
	struct mig_rekey_stats st;
	struct mig_uid_key *k = NULL;
	struct ident *id = NULL;
	struct dir_person p;
	struct dir_org org;
	struct dir_legacy *links = NULL;
	struct dir_mandate *ms = NULL;
	struct dir_cred cred;
	struct dir_totp totp;
	size_t n = 0;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(root));
	snprintf(st_dir, sizeof(st_dir), "%s/state", root);
	snprintf(keyfile, sizeof(keyfile), "%s/uid.key", root);
	snprintf(db, sizeof(db), "%s/directory.db", st_dir);
	assert_true((fd = open(keyfile, O_WRONLY | O_CREAT | O_EXCL, 0600)) >= 0);
	assert_int_equal(write(fd, "0123456789abcdef0123456789abcdef", 32), 32);
	close(fd);
	if (mig_state_open(NULL, st_dir, true, &id, err, sizeof(err)) != 0)
		fail_msg("state: %s", err);
	legacy_directory(id, a, b, oa, ob, oo, c_uid);
	ident_close(id);
	id = NULL;
	assert_int_equal(mig_uid_key_load(keyfile, false, &k, err, sizeof(err)), 0);
	uid_of(k, 'p', a, na);
	uid_of(k, 'p', b, nb);
	uid_of(k, 'o', "M000100Y4", no);
	mig_uid_key_free(k);

	/* Without apply: counted, nothing changed. */
	memset(&o, 0, sizeof(o));
	o.where.uid_key_file = keyfile;
	o.where.state_dir = st_dir;
	if (mig_rekey(&o, &st, err, sizeof(err)) != 0)
		fail_msg("rekey (count): %s", err);
	assert_int_equal(st.persons, 2);
	assert_int_equal(st.orgs, 1);
	assert_int_equal(st.scanned, 4);
	assert_int_equal(rows_naming(db, olds, 3) > 0, 1);
	o.apply = true;
	if (mig_rekey(&o, &st, err, sizeof(err)) != 0)
		fail_msg("rekey: %s", err);
	assert_int_equal(st.persons, 2);
	assert_int_equal(st.orgs, 1);
	assert_int_equal(rows_naming(db, olds, 3), 0);

	if (mig_state_open(NULL, st_dir, false, &id, err, sizeof(err)) != 0)
		fail_msg("state: %s", err);
	memset(&p, 0, sizeof(p));
	assert_int_equal(dir_person_get(id->dir, oa, &p), YH_ERR_NOT_FOUND);
	assert_int_equal(dir_person_get(id->dir, na, &p), 0);
	assert_string_equal(p.id_number, a);
	assert_string_equal(p.phone, "13800138000");
	assert_int_equal(p.loa.level, 2);
	assert_string_equal(p.loa.by, "staff-7");
	dir_person_clear(&p);
	assert_int_equal(dir_person_find_id_number(id->dir, b, &p), 0);
	assert_string_equal(p.uid, nb);
	dir_person_clear(&p);
	assert_int_equal(dir_person_get(id->dir, c_uid, &p), 0);   /* her own uid: kept */
	dir_person_clear(&p);
	/* Legacy links, credential, TOTP, consents. */
	assert_int_equal(dir_legacy_list(id->dir, na, &links, &n), 0);
	assert_int_equal(n, 2);
	dir_legacy_list_free(links, n);
	assert_int_equal(dir_legacy_list(id->dir, no, &links, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(links[0].legacy_id, "o1");
	dir_legacy_list_free(links, n);
	memset(&cred, 0, sizeof(cred));
	assert_int_equal(dir_cred_get(id->dir, na, &cred), 0);
	assert_string_equal(cred.hash, "hash-of-a");
	dir_cred_clear(&cred);
	assert_int_equal(dir_cred_get(id->dir, no, &cred), 0);
	assert_string_equal(cred.hash, "hash-of-o");
	dir_cred_clear(&cred);
	memset(&totp, 0, sizeof(totp));
	assert_int_equal(dir_totp_get(id->dir, na, &totp), 0);
	assert_int_equal(totp.seed_len, 20);
	assert_memory_equal(totp.seed, "12345678901234567890", 20);
	assert_true(totp.confirmed);
	dir_totp_clear(&totp);
	assert_int_equal(dir_consent_get(id->dir, na, "app1", &scopes), 0);
	assert_string_equal(scopes, "openid profile");
	free(scopes);
	assert_int_equal(dir_consent_get(id->dir, nb, "app2", &scopes), 0);
	assert_string_equal(scopes, "openid");
	free(scopes);
	/* The mandate (both sides and who granted it) and the legal representative. */
	assert_int_equal(dir_mandate_list_person(id->dir, nb, 0, &ms, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ms[0].org_uid, no);
	assert_string_equal(ms[0].granted_by, na);
	dir_mandate_list_free(ms, n);
	memset(&org, 0, sizeof(org));
	assert_int_equal(dir_org_get(id->dir, no, &org), 0);
	assert_string_equal(org.legal_rep_uid, na);
	dir_org_clear(&org);
	ident_close(id);

	/* Nothing left to do the second time. */
	if (mig_rekey(&o, &st, err, sizeof(err)) != 0)
		fail_msg("rekey again: %s", err);
	assert_int_equal(st.persons + st.orgs, 0);
	assert_int_equal(st.scanned, 4);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		assert_int_equal(system(cmd), 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_placeholders),
		cmocka_unit_test(test_norm_time),
		cmocka_unit_test(test_norm_status),
		cmocka_unit_test(test_mask),
		cmocka_unit_test(test_contradicts),
		cmocka_unit_test(test_uid),
		cmocka_unit_test(test_uid_needs_key),
		cmocka_unit_test(test_rec_roundtrip),
		cmocka_unit_test(test_cleanse),
		cmocka_unit_test(test_run_memory),
		cmocka_unit_test(test_run_unfinished),
		cmocka_unit_test(test_counts_check),
		cmocka_unit_test(test_reason_table),
		cmocka_unit_test(test_rekey),
	};

	setenv("CI", "true", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
