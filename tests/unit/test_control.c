/*
 * Unit tests for authd's control socket (authd/control/control.h) and authctl's client side
 * (control_call): a memory session store whose event handler counts the ENDED events
 * (what bcl.c would turn into back-channel logouts), a real audit file, and the socket in
 * a fresh temporary state directory. The timeout tests wait for the server's 2 s read
 * timeout with a generous margin. The peer-uid refusal needs a second uid and is in
 * tests/integration/operator_logout.sh.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "authcore/audit/audit.h"
#include "authd/control/control.h"
#include "authctl/ctl.h"
#include "authd/app.h"
#include "authd/session/sess.h"
#include "common/log.h"

#define UID_A "0123456789abcdef0123456789abcdef"
#define UID_B "fedcba9876543210fedcba9876543210"

struct fix {
	char dir[64];
	char sock[96];
	char audit_path[96];
	struct authd_app app;
	struct control *ctl;
	pthread_mutex_t lock;
	size_t ended;               /* ENDED events with origin and a record */
	enum sess_reason last_reason;
};

static void
on_event(void *ctx, const struct sess_event *ev)
{
	struct fix *f = ctx;

	if (ev->type != SESS_EV_ENDED || !ev->origin || ev->info == NULL)
		return;
	pthread_mutex_lock(&f->lock);
	f->ended++;
	f->last_reason = ev->reason;
	pthread_mutex_unlock(&f->lock);
}

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct sess_config sc;
	char err[256];

	assert_non_null(f);
	pthread_mutex_init(&f->lock, NULL);
	snprintf(f->dir, sizeof(f->dir), "/tmp/yh-ctl-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->sock, sizeof(f->sock), "%s/authd.sock", f->dir);
	snprintf(f->audit_path, sizeof(f->audit_path), "%s/audit.log", f->dir);
	sess_config_defaults(&sc);
	sc.sweep_interval_ms = 0;
	sc.on_event = on_event;
	sc.event_ctx = f;
	assert_int_equal(sess_open(&sc, &f->app.sess), 0);
	assert_int_equal(yh_audit_open(f->audit_path, &f->app.audit, err, sizeof(err)), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;
	char path[192];

	control_stop(f->ctl);
	sess_close(f->app.sess);
	yh_audit_close(f->app.audit);
	snprintf(path, sizeof(path), "%s/audit.log", f->dir);
	unlink(path);
	unlink(f->sock);
	rmdir(f->dir);
	pthread_mutex_destroy(&f->lock);
	free(f);
	return 0;
}

static void
start(struct fix *f)
{
	char err[256];

	assert_int_equal(control_start(&f->app, f->dir, &f->ctl, err, sizeof(err)), 0);
	assert_non_null(f->ctl);
}

static int
connect_sock(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Reads until EOF or newline (10 s at most) into a malloc'd string. */
static char *
read_answer(int fd)
{
	char buf[65536];
	size_t n = 0;

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t k;

		assert_int_equal(poll(&p, 1, 10000), 1);
		k = recv(fd, buf + n, sizeof(buf) - 1 - n, 0);
		if (k <= 0)
			break;
		n += (size_t)k;
		if (memchr(buf, '\n', n) != NULL || n == sizeof(buf) - 1)
			break;
	}
	buf[n] = '\0';
	return strdup(buf);
}

/* Sends raw bytes as one request and returns the answer line (malloc'd). */
static char *
raw_call(struct fix *f, const char *bytes, size_t len)
{
	int fd = connect_sock(f->sock);
	char *a;

	assert_int_equal(send(fd, bytes, len, MSG_NOSIGNAL), (ssize_t)len);
	a = read_answer(fd);
	close(fd);
	return a;
}

/* Calls through authctl's client and parses the answer. */
static json_t *
call(struct fix *f, const char *req)
{
	char *line = NULL, err[256];
	json_error_t je;
	json_t *j;

	assert_int_equal(control_call(f->dir, req, &line, err, sizeof(err)), 0);
	assert_non_null(line);
	j = json_loads(line, 0, &je);
	free(line);
	assert_non_null(j);
	return j;
}

static void
assert_error(json_t *j, const char *needle)
{
	const char *e = json_string_value(json_object_get(j, "error"));

	assert_true(json_is_false(json_object_get(j, "ok")));
	assert_non_null(e);
	if (strstr(e, needle) == NULL)
		fail_msg("error '%s' does not say '%s'", e, needle);
	json_decref(j);
}

static void
login(struct fix *f, const char *uid, char token[SESS_TOKEN_SIZE], struct sess_info *si)
{
	static const char *const amr[] = { "pwd" };
	struct sess_auth a = { .uid = uid, .loa = 2, .amr = amr, .namr = 1, .ua = "curl",
		.addr = "127.0.0.1" };

	assert_int_equal(sess_create(f->app.sess, &a, token, si), 0);
	assert_int_equal(sess_add_client(f->app.sess, si->key, "app1"), 0);
}

/* ---- tests ---- */

static void
test_socket_mode_ping_and_unlink(void **state)
{
	struct fix *f = *state;
	struct stat st;
	json_t *j;

	start(f);
	assert_int_equal(lstat(f->sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	j = call(f, "{\"cmd\":\"ping\"}");
	assert_true(json_is_true(json_object_get(j, "ok")));
	assert_int_equal(json_integer_value(json_object_get(j, "pid")), getpid());
	json_decref(j);
	control_stop(f->ctl);
	f->ctl = NULL;
	assert_int_equal(lstat(f->sock, &st), -1);
	assert_int_equal(errno, ENOENT);
}

static void
test_end_sessions(void **state)
{
	struct fix *f = *state;
	char ta1[SESS_TOKEN_SIZE], ta2[SESS_TOKEN_SIZE], tb[SESS_TOKEN_SIZE];
	struct sess_info a1, a2, b, got;
	char *audit = NULL;
	size_t n = 0;
	FILE *fp;
	json_t *j;
	char want_actor[64], want_pid[64];

	start(f);
	login(f, UID_A, ta1, &a1);
	login(f, UID_A, ta2, &a2);
	login(f, UID_B, tb, &b);
	j = call(f, "{\"cmd\":\"end_sessions\",\"uid\":\"" UID_A "\",\"reason\":\"operator\"}");
	assert_true(json_is_true(json_object_get(j, "ok")));
	assert_int_equal(json_integer_value(json_object_get(j, "ended")), 2);
	json_decref(j);
	/* The events that make bcl.c deliver: one per session, from this process. */
	assert_int_equal(f->ended, 2);
	assert_int_equal(f->last_reason, SESS_END_ADMIN);
	assert_int_equal(sess_get(f->app.sess, ta1, 0, &got), YH_ERR_NOT_FOUND);
	assert_int_equal(sess_get(f->app.sess, ta2, 0, &got), YH_ERR_NOT_FOUND);
	assert_int_equal(sess_get(f->app.sess, tb, 0, &got), 0);
	/* Again: nothing left, still answered and audited. */
	j = call(f, "{\"cmd\":\"end_sessions\",\"uid\":\"" UID_A "\"}");
	assert_int_equal(json_integer_value(json_object_get(j, "ended")), 0);
	json_decref(j);
	assert_int_equal(f->ended, 2);
	/* The audit trail: the operator's session.end with its uid, intact chain. */
	assert_non_null(fp = fopen(f->audit_path, "r"));
	assert_true(getdelim(&audit, &n, '\0', fp) > 0);
	fclose(fp);
	snprintf(want_actor, sizeof(want_actor), "\"actor\":\"operator:uid%u\"",
	    (unsigned)geteuid());
	assert_non_null(strstr(audit, "\"event\":\"session.end\""));
	assert_non_null(strstr(audit, want_actor));
	assert_non_null(strstr(audit, "\"by\":\"operator\",\"uid\":\"" UID_A
	    "\",\"reason\":\"operator\",\"count\":2"));
	/* the peer's pid comes last */
	snprintf(want_pid, sizeof(want_pid), "\"count\":2,\"pid\":%ld", (long)getpid());
	assert_non_null(strstr(audit, want_pid));
	free(audit);
	{
		struct yh_audit_report rep;

		assert_int_equal(yh_audit_verify(f->audit_path, NULL, &rep), 0);
		assert_int_equal(rep.lines, 2);
	}
}

static void
test_list_sessions(void **state)
{
	struct fix *f = *state;
	char tb[SESS_TOKEN_SIZE];
	struct sess_info b;
	json_t *j, *s;

	start(f);
	login(f, UID_B, tb, &b);
	j = call(f, "{\"cmd\":\"list_sessions\",\"uid\":\"" UID_B "\"}");
	assert_true(json_is_true(json_object_get(j, "ok")));
	s = json_object_get(j, "sessions");
	assert_int_equal(json_array_size(s), 1);
	s = json_array_get(s, 0);
	assert_string_equal(json_string_value(json_object_get(s, "sid")), b.sid);
	assert_string_equal(json_string_value(json_array_get(json_object_get(s, "clients"), 0)),
	    "app1");
	assert_string_equal(json_string_value(json_array_get(json_object_get(s, "amr"), 0)),
	    "pwd");
	assert_int_equal(json_integer_value(json_object_get(s, "loa")), 2);
	assert_null(json_object_get(s, "key"));
	json_decref(j);
	j = call(f, "{\"cmd\":\"list_sessions\",\"uid\":\"" UID_A "\"}");
	assert_int_equal(json_array_size(json_object_get(j, "sessions")), 0);
	json_decref(j);
	assert_int_equal(f->ended, 0);
}

static void
test_bad_requests(void **state)
{
	struct fix *f = *state;
	char big[CONTROL_LINE_MAX + 64];
	char *a;

	start(f);
	assert_error(call(f, "not json"), "not JSON");
	assert_error(call(f, "[1,2]"), "object");
	assert_error(call(f, "{}"), "missing cmd");
	assert_error(call(f, "{\"cmd\":7}"), "missing cmd");
	assert_error(call(f, "{\"cmd\":\"reboot\"}"), "unknown cmd");
	assert_error(call(f, "{\"cmd\":\"end_sessions\"}"), "uid");
	assert_error(call(f, "{\"cmd\":\"end_sessions\",\"uid\":\"" UID_A "0\"}"), "uid");
	assert_error(call(f, "{\"cmd\":\"end_sessions\",\"uid\":\"0123456789ABCDEF0123456789"
	    "abcdef\"}"), "uid");
	assert_error(call(f, "{\"cmd\":\"end_sessions\",\"uid\":\"" UID_A
	    "\",\"reason\":\"Operator\"}"), "reason");
	assert_error(call(f, "{\"cmd\":\"end_sessions\",\"uid\":\"" UID_A
	    "\",\"reason\":\"\"}"), "reason");
	assert_error(call(f, "{\"cmd\":\"end_sessions\",\"uid\":\"" UID_A
	    "\",\"reason\":\"a-very-long-reason-of-more-than-32-bytes\"}"), "reason");
	assert_error(call(f, "{\"cmd\":\"ping\",\"cmd\":\"end_sessions\"}"), "not JSON");
	/* org_relation_ended: the person and the organization, both directory uids, are
	 * checked before anything is looked up */
	assert_error(call(f, "{\"cmd\":\"org_relation_ended\",\"uid\":\"" UID_A "\"}"),
	    "uid and org");
	assert_error(call(f, "{\"cmd\":\"org_relation_ended\",\"uid\":\"" UID_A
	    "\",\"org\":7}"), "uid and org");
	assert_error(call(f, "{\"cmd\":\"org_relation_ended\",\"uid\":\"" UID_A
	    "\",\"org\":\"" UID_B "0\"}"), "uid and org");
	assert_error(call(f, "{\"cmd\":\"org_relation_ended\",\"uid\":\"" UID_A
	    "\",\"org\":\"0123456789ABCDEF0123456789abcdef\"}"), "uid and org");
	assert_error(call(f, "{\"cmd\":\"org_relation_ended\",\"uid\":\"x\",\"org\":\""
	    UID_B "\"}"), "uid and org");
	/* Bytes the client would refuse to send: an embedded NUL, an over-long line. */
	a = raw_call(f, "{\"cmd\":\"ping\"}\0x\n", 17);
	assert_non_null(strstr(a, "malformed"));
	free(a);
	memset(big, 'a', sizeof(big));
	big[sizeof(big) - 1] = '\n';
	a = raw_call(f, big, sizeof(big));
	assert_non_null(strstr(a, "too long"));
	free(a);
	/* The same line is refused by the client before it is sent. */
	{
		char *line = NULL, err[256];

		big[sizeof(big) - 1] = '\0';
		assert_int_equal(control_call(f->dir, big, &line, err, sizeof(err)),
		    YH_ERR_TOO_LONG);
		assert_null(line);
	}
	assert_int_equal(f->ended, 0);
	/* Still serving. */
	a = raw_call(f, "{\"cmd\":\"ping\"}\n", 15);
	assert_non_null(strstr(a, "\"ok\":true"));
	free(a);
}

static void
test_read_timeout_and_busy(void **state)
{
	struct fix *f = *state;
	int idle[CONTROL_MAX_CONN], fd;
	char *a;

	start(f);
	/* CONTROL_MAX_CONN silent clients hold every slot; one sends half a line. */
	for (int i = 0; i < CONTROL_MAX_CONN; i++)
		idle[i] = connect_sock(f->sock);
	assert_int_equal(send(idle[0], "{\"cmd\":", 7, MSG_NOSIGNAL), 7);
	fd = connect_sock(f->sock);
	a = read_answer(fd);
	close(fd);
	assert_string_equal(a, "{\"ok\":false,\"error\":\"busy\"}\n");
	free(a);
	/* The server's read timeout answers and frees the slots. */
	for (int i = 0; i < CONTROL_MAX_CONN; i++) {
		a = read_answer(idle[i]);
		assert_non_null(strstr(a, "timeout"));
		free(a);
		close(idle[i]);
	}
	/* The slots come back (the threads finish just after answering). */
	for (int tries = 0;; tries++) {
		a = raw_call(f, "{\"cmd\":\"ping\"}\n", 15);
		if (strstr(a, "\"ok\":true") != NULL || tries == 100) {
			assert_non_null(strstr(a, "\"ok\":true"));
			free(a);
			break;
		}
		free(a);
		poll(NULL, 0, 20);
	}
}

static void
test_stop_with_idle_client(void **state)
{
	struct fix *f = *state;
	int fd;
	char *a;

	start(f);
	fd = connect_sock(f->sock);
	a = raw_call(f, "{\"cmd\":\"ping\"}\n", 15);   /* the idle one is being served */
	free(a);
	control_stop(f->ctl);        /* wakes the idle connection's thread; no hang */
	f->ctl = NULL;
	a = read_answer(fd);
	assert_string_equal(a, "");  /* closed without an answer */
	free(a);
	close(fd);
}

static void
test_stale_live_and_foreign(void **state)
{
	struct fix *f = *state;
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct control *second = NULL;
	struct stat st1, st2;
	char err[256];
	int fd;

	/* A socket file nobody listens on is replaced. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", f->sock);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	close(fd);
	start(f);
	assert_int_equal(lstat(f->sock, &st1), 0);
	/* A live one is left alone, and stays after the failed start. */
	assert_int_equal(control_start(&f->app, f->dir, &second, err, sizeof(err)),
	    YH_ERR_EXISTS);
	assert_null(second);
	assert_non_null(strstr(err, "another authd"));
	assert_int_equal(lstat(f->sock, &st2), 0);
	assert_true(st1.st_ino == st2.st_ino);
	json_decref(call(f, "{\"cmd\":\"ping\"}"));
	control_stop(f->ctl);
	f->ctl = NULL;
	/* Not a socket: refused, not removed. */
	fd = open(f->sock, O_CREAT | O_WRONLY | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(control_start(&f->app, f->dir, &second, err, sizeof(err)),
	    YH_ERR_CONFLICT);
	assert_int_equal(lstat(f->sock, &st2), 0);
	assert_true(S_ISREG(st2.st_mode));
	unlink(f->sock);
}

static void
test_client_errors_and_long_path(void **state)
{
	struct fix *f = *state;
	char long_dir[200], *line = (char *)1, err[256];
	struct control *c = (struct control *)1;

	/* No authd: the socket is missing. */
	assert_int_equal(control_call(f->dir, "{\"cmd\":\"ping\"}", &line, err,
	    sizeof(err)), YH_ERR_UNAVAILABLE);
	assert_null(line);
	assert_non_null(strstr(err, "not running"));
	memset(long_dir, 'd', sizeof(long_dir) - 1);
	long_dir[0] = '/';
	long_dir[sizeof(long_dir) - 1] = '\0';
	assert_int_equal(control_start(&f->app, long_dir, &c, err, sizeof(err)),
	    YH_ERR_TOO_LONG);
	assert_null(c);
	assert_int_equal(control_call(long_dir, "{}", &line, err, sizeof(err)),
	    YH_ERR_TOO_LONG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_socket_mode_ping_and_unlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_end_sessions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_sessions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_timeout_and_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_with_idle_client, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_live_and_foreign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_errors_and_long_path, setup, teardown),
	};

	yh_log_set_level(YH_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
