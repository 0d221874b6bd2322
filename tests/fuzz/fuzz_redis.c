/*
 * libFuzzer target for what authd reads back from Redis (authd/session/redis.c and the
 * JSON forms of authd/session/sess.c): a session hash (parse_sess: the HGETALL pairs j, seen,
 * idle, aexp and c:<client>), a refresh family (fam_fill: its id and attribute JSON),
 * the reply helpers the scripts' answers go through (status_of, str_dup, str_i64), and
 * the attribute JSON parsers sess_attrs_parse and sess_family_parse.
 *
 * sess_redis.c is compiled into this target (its archive member is then not linked) so
 * that its static reply parsers can be called. Replies are made from the input by
 * hiredis's own protocol reader, as a connection would make them.
 *
 * Input: byte 0 picks the mode; the rest is RESP (modes 0-2) or JSON text (modes 3-4).
 *   0  a session hash for parse_sess;  1  a two-element reply [id, json] for fam_fill;
 *   2  a script reply for status_of, str_dup and str_i64;
 *   3  sess_attrs_parse;  4  sess_family_parse.
 *
 * Invariants checked, beyond "no crash, no leak, no undefined behaviour (UBSan)":
 *   - a session that parses has its key, sid and uid within their sizes, loa 0..4, at
 *     most SESS_AMR_MAX amr values of [a-z0-9_-], at most SESS_CLIENTS_MAX NUL-free
 *     client ids, a creation time >= 0 and an auth_time within 0..INT64_MAX / 1000 (its
 *     readers multiply it by 1000 and subtract it from now), and expires_ms =
 *     min(seen + idle, aexp) with the sum clamped to the range, never wrapped;
 *   - a family that parses has a public id of 22 base64url characters;
 *   - what sess_attrs_parse and sess_family_parse accept is written back by
 *     sess_attrs_json / sess_family_json to JSON that parses to the same record;
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

/* The fields sess_attrs_parse fills, as they must be. */
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

/* sess_attrs_json of s parses back to the same attributes. */
static void
attrs_round_trip(const struct sess_info *s)
{
	struct sess_info back;
	char *j = sess_attrs_json(s);

	CHECK(j != NULL);
	memset(&back, 0, sizeof(back));
	CHECK(sess_attrs_parse(j, strlen(j), &back) == 0);
	CHECK(strcmp(back.sid, s->sid) == 0 && strcmp(back.uid, s->uid) == 0 &&
	    strcmp(back.ua, s->ua) == 0 && strcmp(back.addr, s->addr) == 0);
	CHECK(back.created_ms == s->created_ms && back.auth_time == s->auth_time &&
	    back.loa == s->loa && back.namr == s->namr);
	for (size_t i = 0; i < s->namr; i++)
		CHECK(strcmp(back.amr[i], s->amr[i]) == 0);
	free(j);
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
	const redisReply *last_seen = NULL, *last_idle = NULL, *last_aexp = NULL;
	int64_t seen = 0, idle = 0, aexp = 0;

	if (parse_sess(h, key_k, &s) != 0)
		return;
	check_attrs(&s);
	CHECK(strcmp(s.key, key_k) == 0);
	CHECK(s.nclients <= SESS_CLIENTS_MAX);
	for (size_t i = 0; i < s.nclients; i++)
		CHECK(str_in(s.clients[i], sizeof(s.clients[i])) && s.clients[i][0] != '\0');
	/* the last seen, idle and aexp of the hash: the parser keeps the last of each (a
	 * hash from Redis has each field once), which then had to be a number */
	for (size_t i = 0; i < h->elements; i += 2) {
		const redisReply *f = h->element[i];

		if (f->len == 4 && memcmp(f->str, "seen", 4) == 0)
			last_seen = h->element[i + 1];
		else if (f->len == 4 && memcmp(f->str, "idle", 4) == 0)
			last_idle = h->element[i + 1];
		else if (f->len == 4 && memcmp(f->str, "aexp", 4) == 0)
			last_aexp = h->element[i + 1];
	}
	CHECK(str_i64(last_seen, &seen) && str_i64(last_idle, &idle) && str_i64(last_aexp, &aexp));
	CHECK(s.seen_ms == seen && s.idle_ms == idle);
	CHECK(s.expires_ms == expiry(seen, idle, aexp));
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

static void
fuzz_attrs_json(const uint8_t *data, size_t size)
{
	struct sess_info s;

	memset(&s, 0, sizeof(s));
	if (sess_attrs_parse((const char *)data, size, &s) != 0)
		return;
	CHECK(size <= 4096);
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
		fuzz_attrs_json(data + 1, size - 1);
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
