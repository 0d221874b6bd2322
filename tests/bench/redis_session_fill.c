/*
 * Fills a Redis session store the way single sign-on does, for
 * tests/bench/redis_session_bytes.sh to measure what a session costs in Redis: COUNT
 * sessions through the store's public calls (sess_create, then sess_add_client as an
 * app's code does), PER_USER of them per user (user ids shaped like the directory's,
 * 36 bytes), each from a phone browser (a real Chrome-on-Android User-Agent, an amr of
 * "pwd", an IPv4 address) and known to one app. Nothing is swept or expires during the
 * run (30-minute idle, 12-hour absolute timeouts).
 *
 * Usage: redis_session_fill PORT PREFIX COUNT PER_USER
 * Prints the number created; the exit status is non-zero on any error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authd/session/sess.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/secmem.h"

#define UA_PHONE "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like " \
	"Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"

static int
arg_num(const char *s, int64_t max, int64_t *out)
{
	if (yh_parse_i64(s, 1, max, out) != 0) {
		fprintf(stderr, "redis_session_fill: bad number: %s\n", s);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const char *const amr[] = { "pwd" };
	struct sess_config c;
	struct sess_store *s = NULL;
	int64_t port, count, per;
	int rc = 1;

	if (argc != 5 || arg_num(argv[1], 65535, &port) != 0 ||
	    arg_num(argv[3], 10000000, &count) != 0 || arg_num(argv[4], SESS_LIST_MAX, &per) != 0) {
		fprintf(stderr, "usage: redis_session_fill PORT PREFIX COUNT PER_USER\n");
		return 2;
	}
	sess_config_defaults(&c);
	c.backend = SESS_BACKEND_REDIS;
	c.redis_host = "127.0.0.1";
	c.redis_port = (int)port;
	c.prefix = argv[2];
	c.sweep_interval_ms = 0;
	c.idle_timeout_s = 1800;
	c.absolute_timeout_s = 43200;
	c.max_per_user = (size_t)per;
	c.redis_timeout_ms = 10000;   /* a machine shared with other work may stall Redis */
	if (sess_open(&c, &s) != 0) {
		fprintf(stderr, "redis_session_fill: cannot open the store on port %lld\n",
		    (long long)port);
		return 1;
	}
	for (int64_t i = 0; i < count; i++) {
		char uid[40], addr[20], token[SESS_TOKEN_SIZE];
		struct sess_info info;
		struct sess_auth a = { .uid = uid, .loa = 2, .amr = amr, .namr = 1,
			.ua = UA_PHONE, .addr = addr };

		snprintf(uid, sizeof(uid), "%08llx-7d3e-4b6a-9c51-%012llx",
		    (unsigned long long)(i / per), (unsigned long long)(i / per) * 7919);
		snprintf(addr, sizeof(addr), "10.%u.%u.%u", (unsigned)(i >> 16) & 255,
		    (unsigned)(i >> 8) & 255, (unsigned)i & 255);
		int e;

		if ((e = sess_create(s, &a, token, &info)) != 0 ||
		    (e = sess_add_client(s, info.key, "portal-gov-service")) != 0) {
			fprintf(stderr, "redis_session_fill: session %lld failed (%d)\n", (long long)i,
			    e);
			goto out;
		}
		yh_wipe(token, sizeof(token));
	}
	printf("%lld\n", (long long)count);
	rc = 0;
out:
	sess_close(s);
	return rc;
}
