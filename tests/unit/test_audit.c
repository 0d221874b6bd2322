/* Unit tests for the hash-chained audit log. */
#include <setjmp.h>
#include <stdarg.h>
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

#include "authd/audit.h"

static char dir[64];
static char path[128];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/yh_audit_XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(path);
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

static int
verify(const char *head, struct yh_audit_report *rep)
{
	return yh_audit_verify(path, head, rep);
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
	v[2][strlen(v[2]) - 3] ^= 1; /* flip a bit inside line 3 */
	write_lines(v, n);
	free_lines(v, n);
	assert_int_equal(verify(NULL, &rep), YH_ERR_AUTH);
	assert_true(rep.bad_line == 3 || rep.bad_line == 4);
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
	assert_int_equal(rep.bad_line, 2);
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
	assert_int_equal(rep.bad_line, 3);
}

static void
test_truncated_tail_with_head(void **state)
{
	struct yh_audit_report rep;
	char head[65];
	size_t n;
	char **v;

	(void)state;
	write_events(4, "operator:root");
	assert_int_equal(verify(NULL, &rep), 0);
	memcpy(head, rep.head, 65);
	assert_int_equal(verify(head, &rep), 0);
	v = read_lines(&n);
	free(v[n - 1]);
	v[n - 1] = NULL;
	write_lines(v, n);
	free_lines(v, n);
	assert_int_equal(verify(NULL, &rep), 0); /* the chain alone cannot see it */
	assert_int_equal(verify(head, &rep), YH_ERR_AUTH);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_intact_and_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edit_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reorder_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_tail_with_head, setup, teardown),
		cmocka_unit_test_setup_teardown(test_masking_and_clash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_processes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial_write_rolled_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsafe_mode_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
