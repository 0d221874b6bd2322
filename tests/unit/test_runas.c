/* Unit tests for authcore/runas (the `user` option, the switch). Switching needs root:
 * that test is skipped otherwise. */
#define _GNU_SOURCE    /* getresuid */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "authcore/authd_config.h"
#include "authcore/runas.h"

#define U 4242    /* a uid and gid without passwd or group entries */

static void
test_parse(void **state)
{
	char why[256];
	struct runas r;

	(void)state;
	assert_int_equal(runas_parse(NULL, &r, why, sizeof(why)), 0);
	assert_false(r.set);
	assert_int_equal(runas_parse("", &r, why, sizeof(why)), 0);
	assert_false(r.set);
	assert_int_equal(runas_parse("4242:4243", &r, why, sizeof(why)), 0);
	assert_true(r.set);
	assert_int_equal(r.uid, 4242);
	assert_int_equal(r.gid, 4243);
	/* A name: its passwd entry's uid and group; NAME:GROUP takes the group by name. */
	assert_int_equal(runas_parse("nobody", &r, why, sizeof(why)), 0);
	assert_true(r.set);
	assert_int_equal(r.uid, 65534);
	assert_int_equal(runas_parse("nobody:4244", &r, why, sizeof(why)), 0);
	assert_int_equal(r.gid, 4244);
	/* Root, in either place, is what the option exists to leave. */
	assert_int_equal(runas_parse("root", &r, why, sizeof(why)), YH_ERR_CONFIG);
	assert_non_null(strstr(why, "must not be root"));
	assert_false(r.set);
	assert_int_equal(runas_parse("0:4242", &r, why, sizeof(why)), YH_ERR_CONFIG);
	assert_int_equal(runas_parse("4242:0", &r, why, sizeof(why)), YH_ERR_CONFIG);
	assert_int_equal(runas_parse("nobody:root", &r, why, sizeof(why)), YH_ERR_CONFIG);
	/* A uid without an entry needs its group spelled out. */
	assert_int_equal(runas_parse("4242", &r, why, sizeof(why)), YH_ERR_CONFIG);
	assert_non_null(strstr(why, "UID:GID"));
	assert_int_equal(runas_parse("no-such-user-yh", &r, why, sizeof(why)), YH_ERR_CONFIG);
	assert_non_null(strstr(why, "no user 'no-such-user-yh'"));
	assert_int_equal(runas_parse("4242:no-such-group-yh", &r, why, sizeof(why)),
	    YH_ERR_CONFIG);
	assert_non_null(strstr(why, "no group 'no-such-group-yh'"));
	assert_int_equal(runas_parse("4242:", &r, why, sizeof(why)), YH_ERR_CONFIG);
	assert_int_equal(runas_parse(":4242", &r, why, sizeof(why)), YH_ERR_CONFIG);
	/* (uid_t)-1 means "unchanged" to setresuid: not an id. */
	assert_int_equal(runas_parse("4294967295:4242", &r, why, sizeof(why)), YH_ERR_CONFIG);
	assert_false(r.set);
}

/* Writes text to path (how: "w" or "a") and loads it as authd's configuration. */
static int
load_conf(const char *path, const char *how, const char *text, struct authd_cfg *c,
    char *err, size_t errsz)
{
	FILE *f = fopen(path, how);

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return authd_cfg_load(c, path, NULL, NULL, err, errsz);
}

/* The option in authd's table: resolved by authd_cfg_load, refused with keys.in_process. */
static void
test_config(void **state)
{
	char path[] = "/tmp/yh-runas-XXXXXX", err[512];
	struct authd_cfg c;
	int fd;

	(void)state;
	assert_true((fd = mkstemp(path)) >= 0);
	close(fd);
	assert_int_equal(load_conf(path, "w", "state_dir = /tmp\nuser = 4242:4243\n", &c, err,
	    sizeof(err)), 0);
	assert_true(c.run_as.set);
	assert_int_equal(c.run_as.uid, 4242);
	assert_int_equal(c.run_as.gid, 4243);
	authd_cfg_free(&c);
	assert_int_equal(load_conf(path, "a", "keys.in_process = yes\n", &c, err, sizeof(err)),
	    YH_ERR_CONFIG);
	assert_non_null(strstr(err, "keys.in_process: cannot be combined with user"));
	authd_cfg_free(&c);
	assert_int_equal(load_conf(path, "w", "state_dir = /tmp\nuser = root\n", &c, err,
	    sizeof(err)), YH_ERR_CONFIG);
	assert_non_null(strstr(err, ":2: user: must not be root"));
	authd_cfg_free(&c);
	unlink(path);
}

/* In a child: the switch takes, and root cannot be had back. */
static void
test_become(void **state)
{
	struct runas r = { true, U, U };
	int st = 0;
	pid_t pid;

	(void)state;
	if (geteuid() != 0)
		skip();
	if ((pid = fork()) == 0) {
		char why[256];
		uid_t ru, eu, su;

		if (runas_become(&r, why, sizeof(why)) != 0)
			_exit(10);
		if (getresuid(&ru, &eu, &su) != 0 || ru != U || eu != U || su != U)
			_exit(11);
		if (getegid() != U || getgid() != U || getgroups(0, NULL) != 0)
			_exit(12);
		if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0)
			_exit(13);
		if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
			_exit(14);
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_become),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
