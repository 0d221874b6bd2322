/*
 * Unit tests for the hash-chained audit log: the group-commit writer, its checkpoints
 * (by count, by time, at start and close, under threads and processes) and the verifier's
 * word for each kind of damage: a line edited in place, lines removed in the middle,
 * lines moved, a line edited and the chain computed again after it, lines removed from
 * the end, the last line edited, and what only earns a warning.
 */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <pthread.h>
#include <unistd.h>
#include <cmocka.h>

#include "authcore/audit/audit.h"
#include "authcore/audit/audit_int.h"
#include "common/buf.h"
#include "common/metrics.h"
#include "common/timeutil.h"

static char dir[64];
static char path[128];
static char cppath[160];           /* PATH.checkpoint */
static struct yh_audit_key key_a;  /* the writer's checkpoint key */
static struct yh_audit_key key_b;  /* another one */

/*
 * fdatasync as the writer sees it (this test links with -Wl,--wrap=fdatasync): the next
 * flush_failures calls fail with ENOSPC, as on a file system that finds out only at the
 * flush that it is full; every other call is the real one.
 */
static int flush_failures;

/* What the flushes did, for the tests of yh_audit_submit: how many ran, how many bytes
 * of the file the last successful one covered, and a gate that holds the next flush
 * until the test opens it (flush_hold), saying when one waits (flush_held). */
static pthread_mutex_t flush_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t flush_cv = PTHREAD_COND_INITIALIZER;
static int flush_count;
static off_t durable_size;
static bool flush_hold, flush_held;

int __real_fdatasync(int fd);
int __wrap_fdatasync(int fd);

int
__wrap_fdatasync(int fd)
{
	struct stat st;
	int r;

	pthread_mutex_lock(&flush_mu);
	flush_count++;
	while (flush_hold) {
		flush_held = true;
		pthread_cond_broadcast(&flush_cv);
		pthread_cond_wait(&flush_cv, &flush_mu);
	}
	flush_held = false;
	if (flush_failures > 0) {
		flush_failures--;
		pthread_mutex_unlock(&flush_mu);
		errno = ENOSPC;
		return -1;
	}
	pthread_mutex_unlock(&flush_mu);
	if (fstat(fd, &st) != 0)
		return -1;
	r = __real_fdatasync(fd);
	pthread_mutex_lock(&flush_mu);
	if (r == 0 && st.st_size > durable_size)
		durable_size = st.st_size;
	pthread_mutex_unlock(&flush_mu);
	return r;
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/yh_audit_XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	snprintf(cppath, sizeof(cppath), "%s.checkpoint", path);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(path);
	unlink(cppath);
	rmdir(dir);
	return 0;
}

static void
write_events(int n, const char *actor)
{
	struct yh_audit *a;
	char err[256];

	assert_int_equal(yh_audit_open(path, &a, err, sizeof(err)), 0);
	for (int i = 0; i < n; i++) {
		json_t *f = json_pack("{s:i,s:s}", "i", i, "client", "portal");

		assert_int_equal(yh_audit_write(a, "login.success", actor, f), 0);
		json_decref(f);
	}
	yh_audit_close(a);
}

/* Reads the file into a NULL-terminated array of lines (each with its newline). */
static char **
read_lines(size_t *count)
{
	char **v = calloc(4096, sizeof(*v)), *line = NULL;
	size_t cap = 0, n = 0;
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	while (getline(&line, &cap, f) > 0 && n < 4095)
		v[n++] = strdup(line);
	free(line);
	fclose(f);
	*count = n;
	return v;
}

static void
write_lines(char **v, size_t n)
{
	FILE *f = fopen(path, "w");

	for (size_t i = 0; i < n; i++)
		if (v[i] != NULL)
			fputs(v[i], f);
	fclose(f);
}

static void
free_lines(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Verifies the chain only (no keys), against head when not NULL. */
static int
verify(const char *head, struct yh_audit_report *rep)
{
	struct yh_audit_verify_opts o = { .head = head };

	return yh_audit_verify(path, &o, rep);
}

/* Verifies with the writer's key (key_a). */
static int
verify_k(const char *head, struct yh_audit_report *rep)
{
	struct yh_audit_verify_opts o = { .head = head, .keys = &key_a, .nkeys = 1 };

	return yh_audit_verify(path, &o, rep);
}

/* A handle whose checkpoints are tagged with key_a. */
static struct yh_audit *
open_cp(uint64_t every_lines, int64_t every_ms)
{
	struct yh_audit_cp_opts o = { .every_lines = every_lines, .every_ms = every_ms,
	    .kid = key_a.kid, .mac = yh_audit_key_mac, .mac_ctx = &key_a };
	struct yh_audit *a;
	char err[256];

	assert_int_equal(yh_audit_open(path, &a, err, sizeof(err)), 0);
	assert_int_equal(yh_audit_checkpoints(a, &o, err, sizeof(err)), 0);
	return a;
}

/* n events through a checkpointing handle, closed after (a last checkpoint). */
static void
write_cp_events(int n, uint64_t every_lines)
{
	struct yh_audit *a = open_cp(every_lines, 0);

	for (int i = 0; i < n; i++) {
		json_t *f = json_pack("{s:i}", "i", i);

		assert_int_equal(yh_audit_write(a, "token.issue", "client:portal", f), 0);
		json_decref(f);
	}
	yh_audit_close(a);
}

static bool
is_cp(const char *line)
{
	return strstr(line, "\"event\":\"" YH_AUDIT_CHECKPOINT_EVENT "\"") != NULL;
}

/* The 1-based number of the first checkpoint line after line `after`, 0 when none. */
static size_t
next_cp(char **v, size_t n, size_t after)
{
	for (size_t i = after; i < n; i++)
		if (is_cp(v[i]))
			return i + 1;
	return 0;
}

/*
 * What a forger with write access does after editing line `from` (1-based): computes
 * every later line's prev again, so that the chain alone holds. Checkpoints are kept
 * (their tags cannot be made again without the key).
 */
static void
rechain(char **v, size_t n, size_t from)
{
	for (size_t i = from; i < n; i++) {
		size_t plen = strlen(v[i - 1]), len = strlen(v[i]);
		char h[65];

		assert_int_equal(audit_sha256_hex(v[i - 1], plen - 1, h), 0);
		/* ..."prev":"<64 hex>"}\n */
		assert_true(len > 68);
		memcpy(v[i] + len - 67, h, 64);
	}
}

/* The whole of a small file as a string (free it). */
static char *
slurp(const char *p)
{
	FILE *f = fopen(p, "r");
	char *buf = calloc(1, 1 << 20);
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static bool
warned(const struct yh_audit_report *rep, const char *text)
{
	for (unsigned i = 0; i < rep->nwarnings; i++)
		if (strstr(rep->warnings[i], text) != NULL)
			return true;
	return false;
}

static void
test_intact_and_mode(void **state)
{
	struct yh_audit_report rep;
	struct stat st;

	(void)state;
	write_events(5, "operator:root");
	write_events(3, "user:abc");
	assert_int_equal(verify(NULL, &rep), 0);
	assert_int_equal(rep.lines, 8);
	assert_int_equal(strlen(rep.head), 64);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void
test_edit_detected(void **state)
{
	struct yh_audit_report rep;
	size_t n;
	char **v;

	(void)state;
	write_events(5, "operator:root");
	v = read_lines(&n);
	memcpy(strstr(v[2], "login.success"), "login.failure", 13);
	write_lines(v, n);
	free_lines(v, n);
	assert_int_equal(verify(NULL, &rep), YH_ERR_AUTH);
	assert_int_equal(rep.damage, YH_AUDIT_EDITED);
	assert_int_equal(rep.bad_line, 3);
	assert_non_null(strstr(rep.reason, "line 3 was edited"));
}

static void
test_remove_detected(void **state)
{
	struct yh_audit_report rep;
	size_t n;
	char **v;

	(void)state;
	write_events(5, "operator:root");
	v = read_lines(&n);
	free(v[1]);
	v[1] = NULL;
	write_lines(v, n);
	free_lines(v, n);
	assert_int_equal(verify(NULL, &rep), YH_ERR_AUTH);
	assert_int_equal(rep.damage, YH_AUDIT_GAP);
	assert_int_equal(rep.bad_line, 2);
	assert_non_null(strstr(rep.reason, "line 2 was removed"));
}

static void
test_reorder_detected(void **state)
{
	struct yh_audit_report rep;
	size_t n;
	char **v, *t;

	(void)state;
	write_events(5, "operator:root");
	v = read_lines(&n);
	t = v[2];
	v[2] = v[3];
	v[3] = t;
	write_lines(v, n);
	free_lines(v, n);
	assert_int_equal(verify(NULL, &rep), YH_ERR_AUTH);
	assert_int_equal(rep.damage, YH_AUDIT_ORDER);
	assert_int_equal(rep.bad_line, 3);
}

static void
test_truncated_tail_with_head(void **state)
{
	struct yh_audit_report rep;
	char head[65], ref[96];
	size_t n;
	char **v;

	(void)state;
	write_events(4, "operator:root");
	assert_int_equal(verify(NULL, &rep), 0);
	memcpy(head, rep.head, 65);
	snprintf(ref, sizeof(ref), "4:%s", head);
	assert_int_equal(verify(head, &rep), 0);
	assert_int_equal(verify(ref, &rep), 0);
	v = read_lines(&n);
	free(v[n - 1]);
	v[n - 1] = NULL;
	write_lines(v, n);
	free_lines(v, n);
	assert_int_equal(verify(NULL, &rep), 0); /* the chain alone cannot see it */
	assert_int_equal(verify(ref, &rep), YH_ERR_AUTH);
	assert_int_equal(rep.damage, YH_AUDIT_TRUNCATED);
	assert_non_null(strstr(rep.reason, "lines removed from the end"));
	assert_non_null(strstr(rep.reason, "the recorded head is line 4, but the file ends at "
	    "line 3"));
	/* A bare hash cannot say which line it named: the message says both. */
	assert_int_equal(verify(head, &rep), YH_ERR_AUTH);
	assert_int_equal(rep.damage, YH_AUDIT_HEAD_NOT_FOUND);
	/* A head recorded before more lines came is still in the file. */
	write_events(2, "operator:root");
	assert_int_equal(verify(NULL, &rep), 0);
	snprintf(ref, sizeof(ref), "5:%s", rep.head);
	write_events(2, "operator:root");
	assert_int_equal(verify(ref, &rep), 0);
	assert_int_equal(verify("x:abc", &rep), YH_ERR_INVALID);
}

static void
test_masking_and_clash(void **state)
{
	struct yh_audit *a;
	char err[256], buf[4096];
	json_t *f;
	FILE *fp;
	size_t n;

	(void)state;
	assert_int_equal(yh_audit_open(path, &a, err, sizeof(err)), 0);
	f = json_pack("{s:s}", "target", "id 11010519491231002X phone 13812345678");
	assert_int_equal(yh_audit_write(a, "user.lock", "operator:root", f), 0);
	json_decref(f);
	/* Spelled as people type them: masked in the folded form. */
	f = json_pack("{s:s, s:s}", "login", "110101 19900307 0011", "phone",
	    "\uff0b\uff18\uff16 138-0013-8000");
	assert_int_equal(yh_audit_write(a, "login.failure", "anonymous", f), 0);
	json_decref(f);
	/* A uid of the directory is no personal data: kept whole even with a phone-like run
	 * of digits in it; the same text in another field, or personal data in a uid's
	 * field, is masked. */
	f = json_pack("{s:s, s:s, s:s}", "person", "a1b2c15912345678f3e4d5c6b7a8f9e0", "note",
	    "a1b2c15912345678f3e4d5c6b7a8f9e1", "uid", "13812345670");
	assert_int_equal(yh_audit_write(a, "counter.verify", "user:x", f), 0);
	json_decref(f);
	f = json_pack("{s:s}", "prev", "forged");
	assert_int_equal(yh_audit_write(a, "x", "y", f), YH_ERR_INVALID);
	json_decref(f);
	yh_audit_close(a);
	fp = fopen(path, "r");
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	assert_null(strstr(buf, "11010519491231002X"));
	assert_null(strstr(buf, "13812345678"));
	assert_non_null(strstr(buf, "110105********002X"));
	assert_non_null(strstr(buf, "\"login\":\"110101********0011\""));
	assert_non_null(strstr(buf, "\"phone\":\"+86138****8000\""));
	assert_null(strstr(buf, "19900307"));
	assert_null(strstr(buf, "0013-8000"));
	assert_non_null(strstr(buf, "\"person\":\"a1b2c15912345678f3e4d5c6b7a8f9e0\""));
	assert_null(strstr(buf, "a1b2c15912345678f3e4d5c6b7a8f9e1"));
	assert_null(strstr(buf, "13812345670"));
}

/*
 * A line's body is what jansson makes of the same object, member for member: strings
 * with quotes, backslashes, newlines, tabs and Chinese, numbers, booleans, null, an
 * array and a nested object (kept as they are), in the fields' order. A field named
 * like a member the line has already, or not valid UTF-8 after masking, is refused.
 */
static void
test_body_as_jansson(void **state)
{
	struct yh_audit *a;
	char err[256], **lines;
	json_t *f, *want;
	char *text;
	size_t n;

	(void)state;
	assert_int_equal(yh_audit_open(path, &a, err, sizeof(err)), 0);
	f = json_pack("{s:s, s:i, s:f, s:b, s:n, s:[i,s], s:{s:s, s:i}, s:s}",
	    "note", "say \"hi\"\\\n\tto 张三 / 一号", "count", 42, "ratio", 0.25,
	    "ok", 1, "none", "list", 1, "x", "obj", "k", "v", "n", -7, "client", "portal");
	assert_non_null(f);
	assert_int_equal(yh_audit_write(a, "test.body", "user:\"q\"", f), 0);
	want = json_pack("{s:s, s:s}", "event", "test.body", "actor", "user:\"q\"");
	assert_int_equal(json_object_update(want, f), 0);
	text = json_dumps(want, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(want);
	json_decref(f);
	for (const char *k = "event\0actor\0seq\0ts\0prev\0"; *k != '\0'; k += strlen(k) + 1) {
		f = json_pack("{s:s}", k, "x");
		assert_int_equal(yh_audit_write(a, "test.clash", "y", f), YH_ERR_INVALID);
		json_decref(f);
	}
	yh_audit_close(a);
	lines = read_lines(&n);
	assert_int_equal(n, 1);
	/* {"seq":1,"ts":"...",<body>,"prev":"..."}: the body without its braces */
	text[strlen(text) - 1] = '\0';
	assert_non_null(strstr(lines[0], text + 1));
	free(text);
	free_lines(lines, n);
}

static void
test_two_processes(void **state)
{
	struct yh_audit_report rep;
	pid_t p[2];
	int st;

	(void)state;
	for (int i = 0; i < 2; i++) {
		p[i] = fork();
		assert_true(p[i] >= 0);
		if (p[i] == 0) {
			write_events(150, i ? "node:b" : "node:a");
			_exit(0);
		}
	}
	for (int i = 0; i < 2; i++) {
		assert_int_equal(waitpid(p[i], &st, 0), p[i]);
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	assert_int_equal(verify(NULL, &rep), 0);
	assert_int_equal(rep.lines, 300);
}

static void *
writer_thread(void *arg)
{
	struct yh_audit *a = arg;

	for (int i = 0; i < 200; i++) {
		json_t *f = json_pack("{s:i}", "i", i);

		if (yh_audit_write(a, "token.issue", "client:bench", f) != 0) {
			json_decref(f);
			return (void *)1;
		}
		json_decref(f);
	}
	return NULL;
}

/* Group commit: many threads on one handle, every line chained and durable. */
static void
test_threads(void **state)
{
	struct yh_audit_report rep;
	struct yh_audit *a;
	pthread_t t[8];
	char err[256];
	void *rv;

	(void)state;
	write_events(3, "operator:root"); /* a tail written by another handle */
	assert_int_equal(yh_audit_open(path, &a, err, sizeof(err)), 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&t[i], NULL, writer_thread, a), 0);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(pthread_join(t[i], &rv), 0);
		assert_null(rv);
	}
	yh_audit_close(a);
	write_events(2, "operator:root"); /* and another handle after it */
	assert_int_equal(verify(NULL, &rep), 0);
	assert_int_equal(rep.lines, 3 + 8 * 200 + 2);
}

/*
 * A write cut short (here by a file size limit just above the file's size, as a full
 * disk would) fails its writer and leaves no torn line: the file is cut back, the chain
 * stays intact and the next write goes on from it.
 */
static void
test_partial_write_rolled_back(void **state)
{
	struct yh_audit_report rep;
	struct stat st;
	pid_t pid;
	int status;

	(void)state;
	write_events(3, "operator:root");
	assert_int_equal(stat(path, &st), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = { .rlim_cur = (rlim_t)st.st_size + 100,
		    .rlim_max = (rlim_t)st.st_size + 100 };
		struct yh_audit *a;
		char err[256], big[2000];
		json_t *f;
		int r;

		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0 ||
		    yh_audit_open(path, &a, err, sizeof(err)) != 0)
			_exit(2);
		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		f = json_pack("{s:s}", "note", big);
		r = yh_audit_write(a, "admin.change", "operator:root", f);
		json_decref(f);
		yh_audit_close(a);
		_exit(r == YH_ERR_IO ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(verify(NULL, &rep), 0);
	assert_int_equal(rep.lines, 3);
	write_events(2, "operator:root");
	assert_int_equal(verify(NULL, &rep), 0);
	assert_int_equal(rep.lines, 5);
}

static void
test_unsafe_mode_refused(void **state)
{
	struct yh_audit *a;
	char err[256];

	(void)state;
	write_events(1, "x");
	chmod(path, 0644);
	assert_int_equal(yh_audit_open(path, &a, err, sizeof(err)), YH_ERR_PERM);
	assert_non_null(strstr(err, "audit.log"));
}

/* Counting lines of the file. */
static size_t
count_lines(void)
{
	size_t n;
	char **v = read_lines(&n);

	free_lines(v, n);
	return n;
}

/*
 * A flush that fails (a full disk found out at fdatasync): the writer is told "disk full"
 * and the batch's lines are cut off again, its checkpoint with them, and that checkpoint
 * is not copied to PATH.checkpoint, which still names the last checkpoint on disk; a
 * batch without a checkpoint is cut the same way. The chain then goes on from what is
 * on disk and everything verifies.
 */
/* The flush histogram: one observation per line written, none for a line whose flush
 * failed nor for a checkpoint asked for (it is no action's wait). */
static void
test_flush_metrics(void **state)
{
	struct mx_registry *reg;
	struct yh_audit *a;
	struct yh_buf out;
	const char *text;

	(void)state;
	a = open_cp(100, 0);
	assert_int_equal(mx_registry_new(&reg), 0);
	assert_int_equal(yh_audit_metrics(a, reg), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(yh_audit_write(a, "login.success", "user:u1", NULL), 0);
	flush_failures = 1;
	assert_int_equal(yh_audit_write(a, "login.success", "user:u1", NULL),
	    YH_ERR_NOSPACE);
	assert_int_equal(yh_audit_checkpoint(a), 0);
	assert_int_equal(count_lines(), 4);   /* 3 lines and the checkpoint */
	yh_buf_init(&out, 1 << 16);
	assert_int_equal(mx_render(reg, &out), 0);
	text = yh_buf_cstr(&out);
	assert_non_null(strstr(text, "# TYPE yh_audit_flush_duration_seconds histogram\n"));
	assert_non_null(strstr(text, "\nyh_audit_flush_duration_seconds_count 3\n"));
	assert_non_null(strstr(text,
	    "\nyh_audit_flush_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
	assert_null(strstr(text, "\nyh_audit_flush_duration_seconds_sum 0\n"));
	yh_buf_free(&out);
	yh_audit_close(a);
	mx_registry_free(reg);
}

static void
test_failed_flush_cuts_batch(void **state)
{
	struct yh_audit_report rep;
	struct yh_audit *a;
	size_t n;
	char **v, *copy, *copy2;

	(void)state;
	a = open_cp(3, 0);
	for (int i = 0; i < 4; i++)          /* lines 1-3, checkpoint 4, line 5 */
		assert_int_equal(yh_audit_write(a, "login.success", "user:u1", NULL), 0);
	assert_int_equal(count_lines(), 5);
	copy = slurp(cppath);
	assert_true(is_cp(copy));
	flush_failures = 1;                  /* line 6 and checkpoint 7: not flushed */
	assert_int_equal(yh_audit_write(a, "login.success", "user:u1", NULL),
	    YH_ERR_NOSPACE);
	assert_int_equal(count_lines(), 5);
	copy2 = slurp(cppath);
	assert_string_equal(copy2, copy);
	free(copy2);
	assert_int_equal(verify_k(NULL, &rep), 0);
	assert_int_equal(rep.lines, 5);
	/* once the flush works: line 6 and checkpoint 7, copied */
	assert_int_equal(yh_audit_write(a, "login.success", "user:u1", NULL), 0);
	v = read_lines(&n);
	assert_int_equal(n, 7);
	assert_true(is_cp(v[6]));
	copy2 = slurp(cppath);
	assert_string_equal(copy2, v[6]);
	free(copy2);
	free_lines(v, n);
	flush_failures = 1;                  /* line 8 alone, no checkpoint due */
	assert_int_equal(yh_audit_write(a, "login.success", "user:u1", NULL),
	    YH_ERR_NOSPACE);
	assert_int_equal(count_lines(), 7);
	yh_audit_close(a);                   /* the last line is a checkpoint: none more */
	assert_int_equal(count_lines(), 7);
	assert_int_equal(verify_k(NULL, &rep), 0);
	assert_int_equal(rep.lines, 7);
	assert_int_equal(rep.covered, 7);
	assert_int_equal(rep.nwarnings, 0);
	free(copy);
}

/* Checkpoints by count ride in the batch that crosses a multiple; one more at close.
 * Everything verifies with the key, with no warning, and the copy is the last line. */
static void
test_checkpoints_by_count(void **state)
{
	struct yh_audit_report rep;
	size_t n, cps = 0;
	char **v, *copy;

	(void)state;
	write_cp_events(20, 5);
	v = read_lines(&n);
	for (size_t i = 0; i < n; i++)
		cps += is_cp(v[i]);
	assert_int_equal(n, 20 + cps);
	assert_int_equal(next_cp(v, n, 0), 6);    /* after line 5 */
	assert_int_equal(next_cp(v, n, 6), 11);   /* after line 10 */
	assert_true(is_cp(v[n - 1]));             /* the close */
	copy = slurp(cppath);
	assert_string_equal(copy, v[n - 1]);
	free(copy);
	assert_int_equal(verify_k(NULL, &rep), 0);
	assert_int_equal(rep.nwarnings, 0);
	assert_int_equal(rep.checkpoints, cps);
	assert_int_equal(rep.checked, cps);
	assert_int_equal(rep.covered, n);
	free_lines(v, n);
}

/* The timer covers lines while no more come; the close then adds nothing. */
static void
test_checkpoint_by_time(void **state)
{
	struct yh_audit_report rep;
	struct yh_audit *a;
	size_t n = 0, events = 0, cps = 0;
	char **v = NULL;

	(void)state;
	a = open_cp(0, 20);
	for (int i = 0; i < 3; i++)
		assert_int_equal(yh_audit_write(a, "login.success", "user:u1", NULL), 0);
	/* a tick may fall between two writes (on a loaded machine): then a checkpoint
	 * covers the first ones and a later tick the rest */
	for (int i = 0; i < 300; i++) {
		v = read_lines(&n);
		if (n >= 4 && is_cp(v[n - 1]))
			break;
		free_lines(v, n);
		v = NULL;
		usleep(10000);
	}
	assert_non_null(v);
	for (size_t i = 0; i < n; i++) {
		if (is_cp(v[i]))
			cps++;
		else
			events++;
	}
	assert_int_equal(events, 3);
	assert_true(cps >= 1 && cps <= 3 && is_cp(v[n - 1]));
	free_lines(v, n);
	assert_int_equal(verify_k(NULL, &rep), 0);
	assert_int_equal(rep.nwarnings, 0);
	usleep(60000);                            /* more ticks write nothing */
	yh_audit_close(a);
	assert_int_equal(count_lines(), n);
}

/* Waits (up to 3 s) until the log has want lines; returns how many it has. */
static size_t
wait_lines(size_t want)
{
	size_t n = count_lines();

	for (int i = 0; i < 300 && n != want; i++) {
		usleep(10000);
		n = count_lines();
	}
	return n;
}

/* How often changes while the handle is in use (a reload): a timer starts, stops and
 * starts again with the new interval, and the count takes effect with the next batch. */
static void
test_set_checkpoints(void **state)
{
	struct yh_audit *a;
	char **v;
	size_t n;

	(void)state;
	a = open_cp(0, 0);                        /* neither by count nor by time */
	assert_int_equal(yh_audit_write(a, "login.success", "user:u1", NULL), 0);
	usleep(100000);
	assert_int_equal(count_lines(), 1);
	assert_int_equal(yh_audit_set_checkpoints(a, 0, -1), YH_ERR_INVALID);
	assert_int_equal(yh_audit_set_checkpoints(a, 0, 20), 0);     /* a timer now */
	assert_int_equal(wait_lines(2), 2);
	assert_int_equal(yh_audit_set_checkpoints(a, 3, 0), 0);      /* by count only */
	for (int i = 0; i < 3; i++)
		assert_int_equal(yh_audit_write(a, "login.success", "user:u1", NULL), 0);
	usleep(100000);                           /* no timer: only the count's */
	v = read_lines(&n);
	assert_int_equal(n, 7);                   /* past sequence 3 and past 6 */
	assert_true(!is_cp(v[2]) && is_cp(v[3]) && !is_cp(v[5]) && is_cp(v[6]));
	free_lines(v, n);
	assert_int_equal(yh_audit_write(a, "login.success", "user:u1", NULL), 0);
	assert_int_equal(yh_audit_set_checkpoints(a, 0, 20), 0);     /* the timer again */
	assert_int_equal(wait_lines(9), 9);
	yh_audit_close(a);
	assert_int_equal(count_lines(), 9);
	/* without checkpoints there is nothing to change */
	{
		char err[256];

		assert_int_equal(yh_audit_open(path, &a, err, sizeof(err)), 0);
		assert_int_equal(yh_audit_set_checkpoints(a, 1, 10), YH_ERR_INVALID);
		yh_audit_close(a);
	}
}

/* An empty log gets none; lines written without checkpoints (an old log, or authctl
 * without the key) are covered by the next start's checkpoint, once. */
static void
test_checkpoint_at_start_and_close(void **state)
{
	struct yh_audit_report rep;
	struct yh_audit *a;

	(void)state;
	a = open_cp(0, 0);
	assert_int_equal(yh_audit_checkpoint(a), 0);
	yh_audit_close(a);
	assert_int_equal(count_lines(), 0);
	write_events(3, "operator:root");
	assert_int_equal(verify_k(NULL, &rep), 0);
	assert_true(warned(&rep, "no checkpoints"));
	a = open_cp(0, 0);
	assert_int_equal(yh_audit_checkpoint(a), 0);
	assert_int_equal(yh_audit_checkpoint(a), 0);
	yh_audit_close(a);
	assert_int_equal(count_lines(), 4);
	assert_int_equal(verify_k(NULL, &rep), 0);
	assert_int_equal(rep.nwarnings, 0);
	assert_int_equal(rep.covered, 4);
	/* Only the writer makes checkpoints. */
	a = open_cp(0, 0);
	assert_int_equal(yh_audit_write(a, YH_AUDIT_CHECKPOINT_EVENT, "x", NULL),
	    YH_ERR_INVALID);
	yh_audit_close(a);
	assert_int_equal(count_lines(), 4);
}

/* An old log (no checkpoints) verifies, with a warning that says so. */
static void
test_old_log_warns(void **state)
{
	struct yh_audit_report rep;

	(void)state;
	write_events(4, "operator:root");
	assert_int_equal(verify_k(NULL, &rep), 0);
	assert_int_equal(rep.lines, 4);
	assert_int_equal(rep.nwarnings, 1);
	assert_true(warned(&rep, "no checkpoints: only the hash chain was checked"));
}

/* A line's prev edited: that line is named, not the one before. */
static void
test_prev_edited(void **state)
{
	struct yh_audit_report rep;
	size_t n;
	char **v;

	(void)state;
	write_cp_events(8, 5);
	v = read_lines(&n);
	memset(v[2] + strlen(v[2]) - 67, '0', 64);
	write_lines(v, n);
	free_lines(v, n);
	assert_int_equal(verify_k(NULL, &rep), YH_ERR_AUTH);
	assert_int_equal(rep.damage, YH_AUDIT_EDITED);
	assert_int_equal(rep.bad_line, 3);
	assert_non_null(strstr(rep.reason, "line 3 was edited: its prev"));
}

/* Two lines removed from the middle of a checkpointed log: a gap, named. */
static void
test_gap_named(void **state)
{
	struct yh_audit_report rep;
	size_t n;
	char **v;

	(void)state;
	write_cp_events(20, 5);
	v = read_lines(&n);
	free(v[3]);
	free(v[4]);
	v[3] = v[4] = NULL;
	write_lines(v, n);
	free_lines(v, n);
	assert_int_equal(verify_k(NULL, &rep), YH_ERR_AUTH);
	assert_int_equal(rep.damage, YH_AUDIT_GAP);
	assert_int_equal(rep.bad_line, 4);
	assert_non_null(strstr(rep.reason, "lines 4 to 5 were removed"));
}

/*
 * The forgery the chain alone cannot see: line 7 edited and every later prev computed
 * again (and the checkpoint copy replaced to match). The chain holds; the first
 * checkpoint after the edit does not verify, and the message names the span.
 */
static void
test_rewrite_rechained(void **state)
{
	struct yh_audit_verify_opts both = { 0 };
	struct yh_audit_key keys[2];
	struct yh_audit_report rep;
	size_t n, cp;
	char **v;
	FILE *f;

	(void)state;
	write_cp_events(20, 5);
	v = read_lines(&n);
	assert_false(is_cp(v[6]));
	memcpy(strstr(v[6], "token.issue"), "token.eaten", 11);
	rechain(v, n, 7);
	write_lines(v, n);
	assert_non_null(f = fopen(cppath, "w"));
	fputs(v[n - 1], f);
	fclose(f);
	cp = next_cp(v, n, 7);
	free_lines(v, n);
	assert_int_equal(cp, 11);
	assert_int_equal(verify(NULL, &rep), 0);  /* the chain alone: fooled */
	assert_true(warned(&rep, "not checked: no checkpoint key"));
	assert_int_equal(verify_k(NULL, &rep), YH_ERR_AUTH);
	assert_int_equal(rep.damage, YH_AUDIT_REWRITTEN);
	assert_int_equal(rep.bad_line, 11);
	assert_non_null(strstr(rep.reason, "the chain was rewritten between line 6 and line 11"));
	/* An old key beside the current one changes nothing. */
	keys[0] = key_b;
	keys[1] = key_a;
	both.keys = keys;
	both.nkeys = 2;
	assert_int_equal(yh_audit_verify(path, &both, &rep), YH_ERR_AUTH);
	assert_int_equal(rep.damage, YH_AUDIT_REWRITTEN);
	assert_int_equal(rep.bad_line, 11);
}

/* The same forgery before the first checkpoint. */
static void
test_rewrite_before_first_checkpoint(void **state)
{
	struct yh_audit_report rep;
	size_t n;
	char **v;

	(void)state;
	write_cp_events(8, 5);
	v = read_lines(&n);
	memcpy(strstr(v[1], "token.issue"), "token.eaten", 11);
	rechain(v, n, 2);
	write_lines(v, n);
	free_lines(v, n);
	assert_int_equal(verify_k(NULL, &rep), YH_ERR_AUTH);
	assert_int_equal(rep.damage, YH_AUDIT_REWRITTEN);
	assert_int_equal(rep.bad_line, 6);
	assert_non_null(strstr(rep.reason, "the chain was rewritten before line 6"));
}

/* A checkpoint made with a key not given is not taken on trust. */
static void
test_unknown_key(void **state)
{
	struct yh_audit_verify_opts o = { .keys = &key_b, .nkeys = 1 };
	struct yh_audit_report rep;

	(void)state;
	write_cp_events(6, 5);
	assert_int_equal(yh_audit_verify(path, &o, &rep), YH_ERR_AUTH);
	assert_int_equal(rep.damage, YH_AUDIT_UNKNOWN_KEY);
	assert_int_equal(rep.bad_line, 6);
	assert_non_null(strstr(rep.reason, key_a.kid));
}

/* Lines cut from the end, the last checkpoint with them: its copy says so. */
static void
test_tail_removed(void **state)
{
	struct yh_audit_report rep;
	size_t n;
	char **v;
	char want[128];

	(void)state;
	write_cp_events(20, 5);
	v = read_lines(&n);
	for (size_t i = n - 3; i < n; i++) {
		free(v[i]);
		v[i] = NULL;
	}
	write_lines(v, n);
	free_lines(v, n);
	assert_int_equal(verify(NULL, &rep), YH_ERR_AUTH);  /* no key needed */
	assert_int_equal(verify_k(NULL, &rep), YH_ERR_AUTH);
	assert_int_equal(rep.damage, YH_AUDIT_TRUNCATED);
	assert_int_equal(rep.bad_line, n - 2);
	assert_non_null(strstr(rep.reason, "lines removed from the end"));
	snprintf(want, sizeof(want), "is line %zu, but the file ends at line %zu", n, n - 3);
	assert_non_null(strstr(rep.reason, want));
	/* Without the copy, only a warning says the tail is unguarded. */
	unlink(cppath);
	assert_int_equal(verify_k(NULL, &rep), 0);
	assert_true(warned(&rep, "lines removed from the end can only be seen against a "
	    "recorded head"));
}

/* The copy of the latest checkpoint is tagged too: a forged one is refused. */
static void
test_checkpoint_copy_forged(void **state)
{
	struct yh_audit_report rep;
	char *copy, *ts;
	FILE *f;

	(void)state;
	write_cp_events(6, 5);
	copy = slurp(cppath);
	ts = strstr(copy, "\"ts\":\"") + 6;
	ts[0] = ts[0] == '1' ? '2' : '1';
	assert_non_null(f = fopen(cppath, "w"));
	fputs(copy, f);
	fclose(f);
	free(copy);
	assert_int_equal(verify_k(NULL, &rep), YH_ERR_AUTH);
	assert_int_equal(rep.damage, YH_AUDIT_REWRITTEN);
	assert_non_null(strstr(rep.reason, "does not verify: it was forged or edited"));
}

/*
 * The last line edited is said to be that, never "lines removed from the end": a last
 * line not yet covered (seen against the recorded LINE:HASH head), and a last line that
 * is the closing checkpoint (seen against its copy).
 */
static void
test_last_line_edited(void **state)
{
	struct yh_audit_report rep;
	char ref[96];
	size_t n;
	char **v;

	(void)state;
	write_cp_events(10, 5);
	write_events(2, "operator:root");         /* authctl without the key */
	assert_int_equal(verify_k(NULL, &rep), 0);
	assert_true(warned(&rep, "2 lines after the last checkpoint (line 13) are not covered"));
	snprintf(ref, sizeof(ref), "%llu:%s", (unsigned long long)rep.lines, rep.head);
	v = read_lines(&n);
	memcpy(strstr(v[n - 1], "operator:root"), "operator:evil", 13);
	write_lines(v, n);
	free_lines(v, n);
	assert_int_equal(verify_k(NULL, &rep), 0);  /* nothing covers it: */
	assert_int_equal(verify_k(ref, &rep), YH_ERR_AUTH);
	assert_int_equal(rep.damage, YH_AUDIT_LAST_EDITED);
	assert_int_equal(rep.bad_line, 15);
	assert_non_null(strstr(rep.reason, "the last line (line 15) was edited"));
	assert_null(strstr(rep.reason, "removed"));

	/* The closing checkpoint edited: in a field its tag covers (ts), and in one it
	 * does not (actor). */
	for (int i = 0; i < 2; i++) {
		teardown(state);
		setup(state);
		write_cp_events(10, 5);
		v = read_lines(&n);
		assert_true(is_cp(v[n - 1]));
		if (i == 0)
			memcpy(strstr(v[n - 1], "\"ts\":\"") + 6, "1999", 4);
		else
			memcpy(strstr(v[n - 1], "\"actor\":\"system\""), "\"actor\":\"sysadm\"", 16);
		write_lines(v, n);
		free_lines(v, n);
		assert_int_equal(verify_k(NULL, &rep), YH_ERR_AUTH);
		assert_int_equal(rep.damage, YH_AUDIT_EDITED);
		assert_int_equal(rep.bad_line, n);
		assert_non_null(strstr(rep.reason, "(a checkpoint) was edited"));
		assert_null(strstr(rep.reason, "removed"));
	}
}

static void *
cp_writer_thread(void *arg)
{
	struct yh_audit *a = arg;

	for (int i = 0; i < 200; i++)
		if (yh_audit_write(a, "token.issue", "client:bench", NULL) != 0)
			return (void *)1;
	return NULL;
}

/* Checkpoints under group commit (threads, and a timer beside them) and between
 * processes sharing the file: intact, every line covered, every tag good. */
static void
test_checkpoints_threads_and_processes(void **state)
{
	struct yh_audit_report rep;
	struct yh_audit *a;
	pthread_t t[8];
	pid_t p[2];
	void *rv;
	int st;

	(void)state;
	a = open_cp(50, 5);
	for (int i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&t[i], NULL, cp_writer_thread, a), 0);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(pthread_join(t[i], &rv), 0);
		assert_null(rv);
	}
	yh_audit_close(a);
	assert_int_equal(verify_k(NULL, &rep), 0);
	assert_int_equal(rep.nwarnings, 0);
	assert_int_equal(rep.lines, 1600 + rep.checkpoints);
	assert_true(rep.checkpoints >= 1600 / 50);
	assert_int_equal(rep.checked, rep.checkpoints);
	for (int i = 0; i < 2; i++) {
		p[i] = fork();
		assert_true(p[i] >= 0);
		if (p[i] == 0) {
			write_cp_events(150, 7);
			_exit(0);
		}
	}
	for (int i = 0; i < 2; i++) {
		assert_int_equal(waitpid(p[i], &st, 0), p[i]);
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	assert_int_equal(verify_k(NULL, &rep), 0);
	assert_int_equal(rep.nwarnings, 0);
	assert_int_equal(rep.covered, rep.lines);
	assert_int_equal(rep.lines - rep.checkpoints, 1600 + 300);
}

/* The key file: made 0600 on first use, the same id when read again, another key
 * another id. */
static void
test_key_file(void **state)
{
	struct yh_audit_key k1, k2;
	char kp[160], err[256];
	struct stat st;

	(void)state;
	snprintf(kp, sizeof(kp), "%s/audit.key", dir);
	assert_int_equal(yh_audit_key_load(kp, false, &k1, err, sizeof(err)), YH_ERR_KEY);
	assert_int_equal(yh_audit_key_load(kp, true, &k1, err, sizeof(err)), 0);
	assert_int_equal(stat(kp, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(yh_audit_key_load(kp, false, &k2, err, sizeof(err)), 0);
	assert_string_equal(k1.kid, k2.kid);
	assert_int_equal(strlen(k1.kid), YH_AUDIT_KID_LEN);
	assert_string_not_equal(k1.kid, key_a.kid);
	yh_audit_key_wipe(&k1);
	yh_audit_key_wipe(&k2);
	unlink(kp);
}

/* ---- yh_audit_submit: lines settled by the writer thread ---- */

#define SUBMIT_N 300

/* What the done calls saw: the order they came in, their results, and whether each
 * line was in the file and covered by a finished flush at that moment. */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int order[SUBMIT_N];
	int rc[SUBMIT_N];
	bool durable[SUBMIT_N];
	int n;
} settled = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, {0}, {0}, 0 };

/* The end offset of the line carrying "i":idx in the file, or -1. */
static off_t
line_end(int idx)
{
	char *text = slurp(path), needle[32], *at, *nl;
	off_t end = -1;

	snprintf(needle, sizeof(needle), "\"i\":%d,", idx);
	if (text != NULL && (at = strstr(text, needle)) != NULL &&
	    (nl = strchr(at, '\n')) != NULL)
		end = (off_t)(nl - text) + 1;
	free(text);
	return end;
}

static void
on_settled(void *arg, int rc)
{
	int idx = (int)(intptr_t)arg;
	off_t end = rc == 0 ? line_end(idx) : -1;
	bool durable;

	pthread_mutex_lock(&flush_mu);
	durable = end > 0 && end <= durable_size;
	pthread_mutex_unlock(&flush_mu);
	pthread_mutex_lock(&settled.mu);
	settled.order[settled.n] = idx;
	settled.rc[idx] = rc;
	settled.durable[idx] = durable;
	settled.n++;
	pthread_cond_broadcast(&settled.cv);
	pthread_mutex_unlock(&settled.mu);
}

static void
submit_one(struct yh_audit *a, int idx)
{
	json_t *f = json_pack("{s:i,s:s}", "i", idx, "grant", "client_credentials");

	assert_int_equal(yh_audit_submit(a, "token.issue", "client:bench", f, on_settled,
	    (void *)(intptr_t)idx), 0);
	json_decref(f);
}

static void
wait_settled(int n)
{
	pthread_mutex_lock(&settled.mu);
	while (settled.n < n)
		pthread_cond_wait(&settled.cv, &settled.mu);
	pthread_mutex_unlock(&settled.mu);
}

static void
settled_reset(void)
{
	pthread_mutex_lock(&settled.mu);
	settled.n = 0;
	pthread_mutex_unlock(&settled.mu);
	pthread_mutex_lock(&flush_mu);
	flush_count = 0;
	durable_size = 0;
	pthread_mutex_unlock(&flush_mu);
}

/* The flush gate: closed, the next fdatasync waits (flush_wait_held returns once one
 * does); opened, it and the later ones run. */
static void
flush_gate(bool closed)
{
	pthread_mutex_lock(&flush_mu);
	flush_hold = closed;
	pthread_cond_broadcast(&flush_cv);
	pthread_mutex_unlock(&flush_mu);
}

static void
flush_wait_held(void)
{
	pthread_mutex_lock(&flush_mu);
	while (!flush_held)
		pthread_cond_wait(&flush_cv, &flush_mu);
	pthread_mutex_unlock(&flush_mu);
}

/*
 * Every line queued while a flush runs goes into the next batch, and one flush settles
 * them all: with the first flush held, 299 more lines queue, and the whole run takes two
 * flushes. Each done call comes after its line is in the file and covered by a finished
 * fdatasync, with rc 0, in the order the lines were queued (one submitting thread), and
 * the file's sequence follows that order too.
 */
static void
test_submit_batches_in_order(void **state)
{
	struct yh_audit_report rep;
	struct yh_audit *a;
	char err[256], **lines;
	size_t n;

	(void)state;
	settled_reset();
	assert_int_equal(yh_audit_open(path, &a, err, sizeof(err)), 0);
	flush_gate(true);
	submit_one(a, 0);
	flush_wait_held();
	for (int i = 1; i < SUBMIT_N; i++)
		submit_one(a, i);
	pthread_mutex_lock(&settled.mu);
	assert_int_equal(settled.n, 0);   /* nothing settles before its flush */
	pthread_mutex_unlock(&settled.mu);
	flush_gate(false);
	wait_settled(SUBMIT_N);
	for (int i = 0; i < SUBMIT_N; i++) {
		assert_int_equal(settled.order[i], i);
		assert_int_equal(settled.rc[i], 0);
		assert_true(settled.durable[i]);
	}
	assert_int_equal(flush_count, 2);
	yh_audit_close(a);
	lines = read_lines(&n);
	assert_int_equal(n, SUBMIT_N);
	for (size_t i = 0; i < n; i++) {
		char needle[32];

		snprintf(needle, sizeof(needle), "\"i\":%zu,", i);
		assert_non_null(strstr(lines[i], needle));
	}
	free_lines(lines, n);
	assert_int_equal(verify(NULL, &rep), 0);
}

/*
 * A batch whose flush fails settles every one of its lines with the error and leaves
 * none of them in the file; yh_audit_write's lines mixed in are told the same, and the
 * next batch goes on from the intact chain. Close settles what is still queued.
 */
static void
test_submit_flush_failure(void **state)
{
	struct yh_audit_report rep;
	struct yh_audit *a;
	char err[256];

	(void)state;
	write_events(2, "operator:root");
	settled_reset();
	assert_int_equal(yh_audit_open(path, &a, err, sizeof(err)), 0);
	pthread_mutex_lock(&flush_mu);
	flush_failures = 1;
	pthread_mutex_unlock(&flush_mu);
	flush_gate(true);
	for (int i = 0; i < 5; i++)
		submit_one(a, i);
	flush_wait_held();
	flush_gate(false);
	wait_settled(5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(settled.rc[i], YH_ERR_NOSPACE);
	assert_int_equal(verify(NULL, &rep), 0);
	assert_int_equal(rep.lines, 2);
	submit_one(a, 5);
	submit_one(a, 6);
	yh_audit_close(a);          /* settles both before it returns */
	assert_int_equal(settled.n, 7);
	assert_int_equal(settled.rc[5], 0);
	assert_int_equal(settled.rc[6], 0);
	assert_int_equal(verify(NULL, &rep), 0);
	assert_int_equal(rep.lines, 4);
}

/* ---- the commit window ---- */

#define WINDOW_US 1000000    /* long enough that a wait cannot pass for a slow flush */

/* Milliseconds since t0 (monotonic ns). */
static int64_t
ms_since(int64_t t0)
{
	return (yh_mono_ns() - t0) / 1000000;
}

/*
 * A busy log: a batch of two lines (1 and 2, queued while line 0's flush was held),
 * then the writer thread opens the window. Lines 3 to 5 arrive in it: none is flushed
 * before it closes, and one flush covers all three.
 */
static struct yh_audit *
open_busy(void)
{
	struct yh_audit *a;
	char err[256];

	settled_reset();
	assert_int_equal(yh_audit_open(path, &a, err, sizeof(err)), 0);
	assert_int_equal(yh_audit_set_commit_window(a, WINDOW_US), 0);
	flush_gate(true);
	submit_one(a, 0);
	flush_wait_held();
	submit_one(a, 1);
	submit_one(a, 2);
	flush_gate(false);
	wait_settled(3);
	assert_int_equal(flush_count, 2);
	return a;
}

static void
test_window_gathers(void **state)
{
	struct yh_audit_report rep;
	struct yh_audit *a;
	int64_t t0;

	(void)state;
	a = open_busy();
	t0 = yh_mono_ns();
	for (int i = 3; i < 6; i++)
		submit_one(a, i);
	usleep(100000);
	pthread_mutex_lock(&settled.mu);
	assert_int_equal(settled.n, 3);     /* the window is still open */
	pthread_mutex_unlock(&settled.mu);
	wait_settled(6);
	assert_true(ms_since(t0) >= 300);
	assert_int_equal(flush_count, 3);
	for (int i = 3; i < 6; i++) {
		assert_int_equal(settled.rc[i], 0);
		assert_true(settled.durable[i]);
	}
	yh_audit_close(a);
	assert_int_equal(verify(NULL, &rep), 0);
	assert_int_equal(rep.lines, 6);
}

static void *
close_thread(void *arg)
{
	yh_audit_close(arg);
	return NULL;
}

/*
 * Enough lines waiting end the window at once, and so does a stop. What is timed is how
 * soon the writer reaches the batch's flush (held at the gate), not the flush itself:
 * a disk shared with other tests may take long to sync, the window's end may not.
 */
static void
test_window_ends_when_full(void **state)
{
	struct yh_audit *a;
	pthread_t th;
	int64_t t0;

	(void)state;
	a = open_busy();
	t0 = yh_mono_ns();
	submit_one(a, 3);
	usleep(50000);                      /* the writer waits in the window by now */
	flush_gate(true);
	for (int i = 4; i < 3 + 256; i++)
		submit_one(a, i);
	flush_wait_held();
	assert_true(ms_since(t0) < WINDOW_US / 2000);
	flush_gate(false);
	wait_settled(3 + 256);
	submit_one(a, 259);
	submit_one(a, 260);
	flush_gate(true);
	t0 = yh_mono_ns();
	assert_int_equal(pthread_create(&th, NULL, close_thread, a), 0);
	flush_wait_held();                  /* the stop flushes both without the window */
	assert_true(ms_since(t0) < WINDOW_US / 2000);
	flush_gate(false);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(settled.n, 261);
}

/* A lone client's lines (one per batch) never wait for the window. */
static void
test_window_lone_client(void **state)
{
	struct yh_audit *a;
	char err[256];
	int64_t t0;

	(void)state;
	settled_reset();
	assert_int_equal(yh_audit_open(path, &a, err, sizeof(err)), 0);
	assert_int_equal(yh_audit_set_commit_window(a, WINDOW_US), 0);
	assert_int_equal(yh_audit_set_commit_window(a, WINDOW_US + 1), YH_ERR_INVALID);
	assert_int_equal(yh_audit_set_commit_window(a, -1), YH_ERR_INVALID);
	for (int i = 0; i < 5; i++) {
		/* timed up to the flush (held at the gate), not through the disk's sync */
		flush_gate(true);
		t0 = yh_mono_ns();
		submit_one(a, i);
		flush_wait_held();
		assert_true(ms_since(t0) < WINDOW_US / 2000);
		flush_gate(false);
		wait_settled(i + 1);
	}
	assert_int_equal(flush_count, 5);
	yh_audit_close(a);
}

int
main(void)
{
	unsigned char ka[YH_AUDIT_KEY_LEN], kb[YH_AUDIT_KEY_LEN];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_intact_and_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_metrics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edit_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reorder_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_tail_with_head, setup, teardown),
		cmocka_unit_test_setup_teardown(test_masking_and_clash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_as_jansson, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_processes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial_write_rolled_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_flush_cuts_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsafe_mode_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoints_by_count, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_checkpoints, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_by_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_at_start_and_close, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_old_log_warns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prev_edited, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gap_named, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rewrite_rechained, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rewrite_before_first_checkpoint, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unknown_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tail_removed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_copy_forged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_last_line_edited, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoints_threads_and_processes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_key_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_submit_batches_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_submit_flush_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_gathers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_ends_when_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_lone_client, setup, teardown),
	};

	memset(ka, 0x11, sizeof(ka));
	memset(kb, 0x22, sizeof(kb));
	if (yh_audit_key_set(&key_a, ka) != 0 || yh_audit_key_set(&key_b, kb) != 0)
		return 1;

	return cmocka_run_group_tests(tests, NULL, NULL);
}
