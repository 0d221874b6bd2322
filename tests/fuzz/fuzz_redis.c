/*
 * libFuzzer target for what authd reads back from Redis (authd/session/redis.c and the
 * record forms of authd/session/common.c): a session hash (parse_sess: the HGETALL pairs
 * of one-letter fields, sess_rec_field, and c:<client>), a refresh family (fam_fill: its
 * id and attribute JSON), the reply helpers the scripts' answers go through (status_of,
 * str_dup, str_i64), and the record field reader sess_rec_field and the family JSON
 * parser sess_family_parse.
 *
 * sess_redis.c is compiled into this target (its archive member is then not linked) so
 * that its static reply parsers can be called. Replies are made from the input by
 * hiredis's own protocol reader, as a connection would make them.
 *
 * Input: byte 0 picks the mode; the rest is RESP (modes 0-2), "F=VALUE" lines (mode 3)
 * or JSON text (mode 4).
 *   0  a session hash for parse_sess;  1  a two-element reply [id, json] for fam_fill;
 *   2  a script reply for status_of, str_dup and str_i64;
 *   3  sess_rec_field and sess_rec_finish;  4  sess_family_parse.
 *
 * Invariants checked, beyond "no crash, no leak, no undefined behaviour (UBSan)":
 *   - a session that parses has its key, sid and uid within their sizes, loa 0..4, at
 *     most SESS_AMR_MAX amr values of [a-z0-9_-], at most SESS_CLIENTS_MAX NUL-free
 *     client ids, a creation time >= 0 and an auth_time within 0..INT64_MAX / 1000 (its
 *     readers multiply it by 1000 and subtract it from now), and expires_ms =
 *     min(seen + idle, aexp) with the sum clamped to the range, never wrapped, where
 *     seen and aexp are the creation time plus the stored offsets;
 *   - a family that parses has a public id of 22 base64url characters;
 *   - a record sess_rec_field and sess_rec_finish accept is written back by
 *     sess_rec_fields to fields that read back to the same record (the user agent as
 *     its summary), every value within 64 bytes but the user id's and the address's
 *     (and the amr list's when a value is over 7 bytes, which no login method sets);
 *     what sess_family_parse accepts, by sess_family_json to JSON that parses the same;
 *   - str_dup and str_i64 accept only NUL-free strings within their bounds.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"

#include "authd/session/redis.c"

#define INPUT_MAX (64 * 1024)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char key_k[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	yh_log_set_level(YH_LOG_OFF);
	return 0;
}

/* True when the bytes announce an array of more than 4096 elements anywhere: hiredis
 * 0.14 allocates whatever length a server announces (it has no maxelements yet), which
 * is the library's matter, not the parsers' here. */
static bool
huge_array(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < size; i++) {
		uint64_t n = 0;

		if (data[i] != '*')
			continue;
		for (size_t k = i + 1; k < size && data[k] >= '0' && data[k] <= '9' && n <= 4096; k++)
			n = n * 10 + (uint64_t)(data[k] - '0');
		if (n > 4096)
			return true;
	}
	return false;
}

/* One reply read from RESP bytes, or NULL (incomplete or malformed). */
static redisReply *
reply_of(const uint8_t *data, size_t size)
{
	redisReader *rd = redisReaderCreate();
	void *reply = NULL;

	CHECK(rd != NULL);
	if (redisReaderFeed(rd, (const char *)data, size) != REDIS_OK ||
	    redisReaderGetReply(rd, &reply) != REDIS_OK)
		reply = NULL;
	redisReaderFree(rd);
	return reply;
}

static bool
str_in(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

/* The fields sess_rec_field fills, as they must be. */
static void
check_attrs(const struct sess_info *s)
{
	CHECK(str_in(s->sid, sizeof(s->sid)) && str_in(s->uid, sizeof(s->uid)));
	CHECK(str_in(s->ua, sizeof(s->ua)) && str_in(s->addr, sizeof(s->addr)));
	CHECK(s->loa >= 0 && s->loa <= 4);
	CHECK(s->created_ms >= 0 && s->auth_time >= 0 && s->auth_time <= INT64_MAX / 1000);
	CHECK(s->namr <= SESS_AMR_MAX);
	for (size_t i = 0; i < s->namr; i++) {
		CHECK(str_in(s->amr[i], SESS_AMR_LEN) && s->amr[i][0] != '\0');
		CHECK(strspn(s->amr[i], "abcdefghijklmnopqrstuvwxyz0123456789_-") ==
		    strlen(s->amr[i]));
	}
}

/* sess_rec_fields of s reads back to the same record. */
static void
attrs_round_trip(const struct sess_info *s)
{
	struct sess_info back;
	struct sess_rec_text t;
	unsigned have = 0;
	bool short_amr = true;

	/* amr values are short RFC 8176 names ("pwd", "x509"); eight of up to 7 bytes join
	 * into 63 (longer ones, which no login method sets, may not) */
	for (size_t i = 0; i < s->namr; i++)
		short_amr = short_amr && strlen(s->amr[i]) <= 7;
	sess_rec_fields(s, true, &t);
	CHECK(t.n == 22);
	memset(&back, 0, sizeof(back));
	for (size_t i = 0; i < t.n; i += 2) {
		CHECK(t.v[i][0] == 'u' || t.v[i][0] == 'p' || t.l[i + 1] <= 64 ||
		    (t.v[i][0] == 'm' && !short_amr));
		CHECK(sess_rec_field(t.v[i], t.l[i], t.v[i + 1], t.l[i + 1], &back, &have) == 0);
	}
	CHECK(sess_rec_finish(&back, have) == 0);
	CHECK(strcmp(back.sid, s->sid) == 0 && strcmp(back.uid, s->uid) == 0 &&
	    strcmp(back.addr, s->addr) == 0);
	CHECK(strcmp(back.ua, t.ua) == 0);
	CHECK(back.created_ms == s->created_ms && back.auth_time == s->auth_time &&
	    back.loa == s->loa && back.namr == s->namr && back.idle_ms == s->idle_ms);
	/* the offsets from creation wrap in 64 bits and come back */
	CHECK(back.seen_ms == s->seen_ms && back.aexp_ms == s->aexp_ms);
	for (size_t i = 0; i < s->namr; i++)
		CHECK(strcmp(back.amr[i], s->amr[i]) == 0);
}

/* min(seen + idle, aexp) with the sum clamped to the range */
static int64_t
expiry(int64_t seen, int64_t idle, int64_t aexp)
{
	int64_t sum;

	if (__builtin_add_overflow(seen, idle, &sum))
		sum = idle > 0 ? INT64_MAX : INT64_MIN;
	return sum < aexp ? sum : aexp;
}

static void
fuzz_session(const redisReply *h)
{
	struct sess_info s;
	const redisReply *last[4] = { NULL, NULL, NULL, NULL };   /* k, s, d, x */
	int64_t v[4] = { 0, 0, 0, 0 };

	if (parse_sess(h, key_k, &s) != 0)
		return;
	check_attrs(&s);
	CHECK(strcmp(s.key, key_k) == 0);
	CHECK(s.nclients <= SESS_CLIENTS_MAX);
	for (size_t i = 0; i < s.nclients; i++)
		CHECK(str_in(s.clients[i], sizeof(s.clients[i])) && s.clients[i][0] != '\0');
	/* the last k, s, d and x of the hash: the parser keeps the last of each (a hash from
	 * Redis has each field once), which then had to be a number */
	for (size_t i = 0; i < h->elements; i += 2) {
		const redisReply *f = h->element[i];
		const char *at;

		if (f->len == 1 && (at = memchr("ksdx", f->str[0], 4)) != NULL)
			last[at - "ksdx"] = h->element[i + 1];
	}
	for (int i = 0; i < 4; i++)
		CHECK(str_i64(last[i], &v[i]));
	CHECK(s.created_ms == v[0] && s.idle_ms == v[2]);
	CHECK(!__builtin_add_overflow(v[0], v[1], &v[1]) && s.seen_ms == v[1]);
	CHECK(!__builtin_add_overflow(v[0], v[3], &v[3]) && s.aexp_ms == v[3]);
	CHECK(s.expires_ms == expiry(v[1], v[2], v[3]));
	attrs_round_trip(&s);
}

static void
fuzz_family(const redisReply *r)
{
	struct sess_family f;

	if (!is_arr(r, 2, 2))
		return;
	memset(&f, 0, sizeof(f));
	if (fam_fill(r->element[0], r->element[1], &f) != 0)
		return;
	CHECK(sess_pubid_ok(f.id));
	CHECK(str_in(f.uid, sizeof(f.uid)) && str_in(f.client_id, sizeof(f.client_id)) &&
	    str_in(f.sid, sizeof(f.sid)));
}

static void
fuzz_helpers(const redisReply *r)
{
	long long st = status_of(r);
	char *s = str_dup(r, 64);
	int64_t v;

	CHECK(st == -1 || (r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
	    r->element[0]->type == REDIS_REPLY_INTEGER && st == r->element[0]->integer));
	if (s != NULL) {
		CHECK(r->type == REDIS_REPLY_STRING && r->len <= 64 && strlen(s) == r->len);
		free(s);
	}
	if (str_i64(r, &v))
		CHECK(r->type == REDIS_REPLY_STRING && r->len < 24 && v != INT64_MIN);
}

/* "F=VALUE" lines (F one byte) through sess_rec_field, then sess_rec_finish. */
static void
fuzz_rec_fields(const uint8_t *data, size_t size)
{
	struct sess_info s;
	unsigned have = 0;
	size_t i = 0;

	memset(&s, 0, sizeof(s));
	while (i < size) {
		const uint8_t *nl = memchr(data + i, '\n', size - i);
		size_t end = nl != NULL ? (size_t)(nl - data) : size;

		if (end - i >= 2 && data[i + 1] == '=' &&
		    sess_rec_field((const char *)data + i, 1, (const char *)data + i + 2,
		    end - i - 2, &s, &have) != 0)
			return;
		i = end + 1;
	}
	if (sess_rec_finish(&s, have) != 0)
		return;
	CHECK((have & SESS_REC_REQUIRED) == SESS_REC_REQUIRED);
	CHECK(s.expires_ms == expiry(s.seen_ms, s.idle_ms, s.aexp_ms));
	check_attrs(&s);
	attrs_round_trip(&s);
}

static void
fuzz_family_json(const uint8_t *data, size_t size)
{
	struct sess_family f, back;
	char *j;

	memset(&f, 0, sizeof(f));
	if (sess_family_parse((const char *)data, size, &f) != 0)
		return;
	CHECK(size <= 1024);
	CHECK(str_in(f.uid, sizeof(f.uid)) && str_in(f.client_id, sizeof(f.client_id)) &&
	    str_in(f.sid, sizeof(f.sid)));
	CHECK((j = sess_family_json(&f)) != NULL);
	memset(&back, 0, sizeof(back));
	CHECK(sess_family_parse(j, strlen(j), &back) == 0);
	CHECK(strcmp(back.uid, f.uid) == 0 && strcmp(back.client_id, f.client_id) == 0 &&
	    strcmp(back.sid, f.sid) == 0);
	free(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	redisReply *r;

	if (size < 1 || size - 1 > INPUT_MAX)
		return 0;
	switch (data[0] % 5) {
	case 3:
		fuzz_rec_fields(data + 1, size - 1);
		return 0;
	case 4:
		fuzz_family_json(data + 1, size - 1);
		return 0;
	default:
		break;
	}
	if (huge_array(data + 1, size - 1) || (r = reply_of(data + 1, size - 1)) == NULL)
		return 0;
	if (data[0] % 5 == 0)
		fuzz_session(r);
	else if (data[0] % 5 == 1)
		fuzz_family(r);
	else
		fuzz_helpers(r);
	freeReplyObject(r);
	return 0;
}
