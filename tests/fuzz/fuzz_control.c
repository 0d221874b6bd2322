/*
 * libFuzzer target for authd's control socket (authd/control/control.c): what one connection
 * sends is read as a request line (read_line), parsed as JSON and dispatched (ping,
 * list_sessions, end_sessions), and one answer line goes back (serve, then
 * close_after_answer, as the connection thread runs them).
 *
 * control.c is compiled into this target (its archive member is then not linked) so
 * that its static serve() can be called on one end of a socketpair: the input is written
 * to the other end, which then shuts down its writing side, and the answer is read from
 * it. The app behind it has a memory session store in which the person U (below) has
 * two sessions before each input, and an audit log in a temporary directory on tmpfs
 * (started afresh as it grows; the directory is removed at exit).
 *
 * Input: the bytes the client sends. "@U" in the input stands for U's uid.
 *
 * Invariants checked, beyond "no crash, no leak, no hang":
 *   - exactly one answer line: a JSON object with a boolean "ok", and a string "error"
 *     when it is false;
 *   - "ok": true only for a request line that is a JSON object without duplicate keys,
 *     with cmd ping, list_sessions or end_sessions, for the two latter a uid of 32
 *     lower-case hex digits, and for end_sessions a reason of 1..32 [a-z0-9._-] or none;
 *   - list_sessions lists U's two sessions (none for anyone else); end_sessions ends as
 *     many as were live, they are gone afterwards, and it answers only once its audit
 *     line is written.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "fuzz_util.h"

#include "authd/control/control.c"

#include "common/log.h"

#define INPUT_MAX (3 * CONTROL_LINE_MAX)
#define UID_U "0123456789abcdef0123456789abcdef"
#define AUDIT_MAX (1024 * 1024)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], audit_path[96];
static struct authd_app app;
static struct control ctl;
static size_t live;                     /* U's sessions */

static void
cleanup(void)
{
	yh_audit_close(app.audit);
	app.audit = NULL;
	sess_close(app.sess);
	app.sess = NULL;
	fuzz_rmtree(dir);
}

static void
audit_afresh(void)
{
	char err[256];

	yh_audit_close(app.audit);
	app.audit = NULL;
	(void)unlink(audit_path);
	CHECK(yh_audit_open(audit_path, &app.audit, err, sizeof(err)) == 0);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sess_config c;

	(void)argc;
	(void)argv;
	yh_log_set_level(YH_LOG_OFF);
	CHECK(fuzz_tmpdir("control", dir, sizeof(dir)) == 0);
	atexit(cleanup);
	snprintf(audit_path, sizeof(audit_path), "%s/audit.log", dir);
	audit_afresh();
	sess_config_defaults(&c);
	c.sweep_interval_ms = 0;
	CHECK(sess_open(&c, &app.sess) == 0);
	ctl.app = &app;
	ctl.self = getuid();
	ctl.lfd = -1;
	CHECK(pipe(ctl.wake) == 0);
	return 0;
}

/* Gives U two sessions. */
static void
sessions_of_u(void)
{
	static const char *const amr[] = { "pwd" };
	struct sess_auth a = { .uid = UID_U, .loa = 2, .amr = amr, .namr = 1, .ua = "fuzz",
		.addr = "127.0.0.1" };
	char token[SESS_TOKEN_SIZE];

	while (live < 2) {
		CHECK(sess_create(app.sess, &a, token, NULL) == 0);
		live++;
	}
}

/* ---- the model of a request ---------------------------------------------------------------- */

static bool
uid_ok(const json_t *v)
{
	const char *s = json_string_value(v);

	if (s == NULL || strlen(s) != 32 || json_string_length(v) != 32)
		return false;
	for (size_t i = 0; i < 32; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool
reason_ok(const json_t *v)
{
	const char *s = json_string_value(v);
	size_t n;

	if (v == NULL)
		return true;
	if (s == NULL || (n = json_string_length(v)) == 0 || n > 32 || strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

/* The request line the server reads: up to the first line feed within the limit. */
static json_t *
request_of(const char *in, size_t n)
{
	const char *nl = memchr(in, '\n', n < CONTROL_LINE_MAX ? n : CONTROL_LINE_MAX);

	if (nl == NULL || memchr(in, '\0', (size_t)(nl - in)) != NULL)
		return NULL;
	return json_loadb(in, (size_t)(nl - in), JSON_REJECT_DUPLICATES, NULL);
}

/* ---- one connection --------------------------------------------------------------------------- */

/* Replaces "@U" with U's uid. */
static size_t
expand(const uint8_t *data, size_t size, char *out)
{
	size_t n = 0;

	for (size_t i = 0; i < size; i++) {
		if (data[i] == '@' && i + 1 < size && data[i + 1] == 'U') {
			memcpy(out + n, UID_U, 32);
			n += 32;
			i++;
		} else
			out[n++] = (char)data[i];
	}
	return n;
}

static size_t
audit_size(void)
{
	struct stat st;

	CHECK(stat(audit_path, &st) == 0);
	return (size_t)st.st_size;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char in[INPUT_MAX * 17], answer[64 * 1024];
	json_t *req, *ans, *v;
	const char *cmd = NULL;
	size_t n, got = 0, before;
	ssize_t k;
	int sv[2];
	bool ok, want_ok = false;

	if (size > INPUT_MAX)
		return 0;
	n = expand(data, size, in);
	if (n > 64 * 1024)
		return 0;                  /* more than the socket takes before it is read */
	sessions_of_u();
	before = audit_size();
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK(write(sv[1], in, n) == (ssize_t)n);       /* within the socket's buffer */
	CHECK(shutdown(sv[1], SHUT_WR) == 0);
	serve(&ctl, sv[0]);
	close_after_answer(&ctl, sv[0]);
	while ((k = read(sv[1], answer + got, sizeof(answer) - 1 - got)) > 0)
		got += (size_t)k;
	close(sv[1]);
	/* one line, one JSON object */
	CHECK(got > 0 && answer[got - 1] == '\n' && memchr(answer, '\n', got) == answer + got - 1);
	CHECK((ans = json_loadb(answer, got - 1, JSON_REJECT_DUPLICATES, NULL)) != NULL);
	CHECK(json_is_object(ans) && json_is_boolean(v = json_object_get(ans, "ok")));
	ok = json_is_true(v);
	CHECK(ok || json_is_string(json_object_get(ans, "error")));
	/* what the request deserved */
	if ((req = request_of(in, n)) != NULL && json_is_object(req))
		cmd = json_string_value(json_object_get(req, "cmd"));
	if (cmd != NULL && strcmp(cmd, "ping") == 0)
		want_ok = true;
	else if (cmd != NULL && strcmp(cmd, "list_sessions") == 0)
		want_ok = uid_ok(json_object_get(req, "uid"));
	else if (cmd != NULL && strcmp(cmd, "end_sessions") == 0)
		want_ok = uid_ok(json_object_get(req, "uid")) &&
		    reason_ok(json_object_get(req, "reason"));
	CHECK(ok == want_ok);
	if (ok && strcmp(cmd, "list_sessions") == 0) {
		bool u = strcmp(json_string_value(json_object_get(req, "uid")), UID_U) == 0;

		CHECK(json_array_size(json_object_get(ans, "sessions")) == (u ? live : 0));
	}
	if (ok && strcmp(cmd, "end_sessions") == 0) {
		bool u = strcmp(json_string_value(json_object_get(req, "uid")), UID_U) == 0;

		CHECK(json_integer_value(json_object_get(ans, "ended")) == (json_int_t)(u ? live : 0));
		CHECK(audit_size() > before);        /* the line was written before the answer */
		if (u)
			live = 0;
	} else
		CHECK(audit_size() == before);
	json_decref(req);
	json_decref(ans);
	if (audit_size() > AUDIT_MAX)
		audit_afresh();
	return 0;
}
