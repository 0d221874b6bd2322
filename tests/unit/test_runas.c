/* Unit tests for authcore/runas (the `user` option, the switch) and authcore/layout (the
 * state directory's owners under it). Changing owners and switching need root: those
 * tests are skipped otherwise. */
#define _GNU_SOURCE    /* getresuid */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "authcore/authd_config.h"
#include "authcore/layout.h"
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

struct fix {
	char tmp[32];
	char dir[64];
	struct authd_cfg cfg;
};

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	char err[256];

	if (f == NULL)
		return -1;
	snprintf(f->tmp, sizeof(f->tmp), "/tmp/yh-layout-XXXXXX");   /* 21 bytes */
	if (mkdtemp(f->tmp) == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/a/state", f->tmp);
	if (authd_cfg_load(&f->cfg, NULL, f->dir, NULL, err, sizeof(err)) != 0)
		return -1;
	f->cfg.run_as = (struct runas){ true, U, U };
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->tmp);
	if (system(cmd) != 0)
		return -1;
	authd_cfg_free(&f->cfg);
	free(f);
	return 0;
}

/* "uid:gid mode" of path (lstat). */
static const char *
owner(const char *dir, const char *name)
{
	static char out[64];
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s%s%s", dir, name[0] != '\0' ? "/" : "", name);
	if (lstat(path, &st) != 0)
		return "missing";
	snprintf(out, sizeof(out), "%u:%u %o", (unsigned)st.st_uid, (unsigned)st.st_gid,
	    (unsigned)(st.st_mode & 07777));
	return out;
}

static void
put(const char *dir, const char *name, mode_t mode)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode)) >= 0);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* The state directory: made with parents the account can pass, or fixed when it exists. */
static void
test_prepare(void **state)
{
	struct fix *f = *state;
	char err[512], parent[64];
	bool changed = false;

	if (geteuid() != 0)
		skip();
	assert_int_equal(layout_prepare(&f->cfg, false, &changed, err, sizeof(err)),
	    YH_ERR_NOT_FOUND);
	assert_int_equal(layout_prepare(&f->cfg, true, &changed, err, sizeof(err)), 0);
	assert_true(changed);
	assert_string_equal(owner(f->dir, ""), "0:4242 1770");
	snprintf(parent, sizeof(parent), "%s/a", f->tmp);
	assert_string_equal(owner(parent, ""), "0:0 755");
	assert_int_equal(layout_prepare(&f->cfg, true, &changed, err, sizeof(err)), 0);
	assert_false(changed);
	/* The account's own directory (as a single-user install had it) becomes root's. */
	assert_int_equal(chown(f->dir, U, U), 0);
	assert_int_equal(chmod(f->dir, 0700), 0);
	assert_int_equal(layout_prepare(&f->cfg, false, &changed, err, sizeof(err)), 0);
	assert_true(changed);
	assert_string_equal(owner(f->dir, ""), "0:4242 1770");
	/* Without `user` nothing is touched. */
	f->cfg.run_as.set = false;
	assert_int_equal(chmod(f->dir, 0700), 0);
	assert_int_equal(layout_prepare(&f->cfg, false, &changed, err, sizeof(err)), 0);
	assert_string_equal(owner(f->dir, ""), "0:4242 700");
}

/* The files: what the HTTP process writes to the account (clients.json and clients.lock
 * too, from the layout that had them root's), keys untouched; links refused. */
static void
test_repair(void **state)
{
	struct fix *f = *state;
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char err[512], path[256], other[256];
	unsigned changed = 0;
	int s;

	if (geteuid() != 0)
		skip();
	assert_int_equal(layout_prepare(&f->cfg, true, NULL, err, sizeof(err)), 0);
	assert_int_equal(layout_repair(&f->cfg, &changed, err, sizeof(err)), 0);
	assert_int_equal(changed, 0);    /* nothing there yet */
	put(f->dir, "directory.db", 0644);        /* made by a root tool */
	put(f->dir, "directory.db-wal", 0600);
	put(f->dir, "audit.log", 0600);
	put(f->dir, "vault.key", 0600);
	put(f->dir, "clients.json", 0640);
	snprintf(path, sizeof(path), "%s/clients.json", f->dir);
	assert_int_equal(chown(path, 0, U), 0);   /* as authctl wrote it before */
	put(f->dir, "clients.lock", 0600);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/authd.sock", f->dir);
	assert_true((s = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(chmod(a.sun_path, 0600), 0);     /* as authd makes it */
	assert_int_equal(layout_repair(&f->cfg, &changed, err, sizeof(err)), 0);
	assert_int_equal(changed, 6);
	assert_string_equal(owner(f->dir, "directory.db"), "4242:4242 600");
	assert_string_equal(owner(f->dir, "directory.db-wal"), "4242:4242 600");
	assert_string_equal(owner(f->dir, "audit.log"), "4242:4242 600");
	assert_string_equal(owner(f->dir, "clients.json"), "4242:4242 600");
	assert_string_equal(owner(f->dir, "clients.lock"), "4242:4242 600");
	assert_string_equal(owner(f->dir, "authd.sock"), "4242:4242 600");
	assert_string_equal(owner(f->dir, "vault.key"), "0:0 600");
	assert_int_equal(layout_repair(&f->cfg, &changed, err, sizeof(err)), 0);
	assert_int_equal(changed, 0);
	close(s);

	/* A symbolic link is never followed: the file it names keeps its owner. */
	snprintf(other, sizeof(other), "%s/elsewhere", f->tmp);
	put(f->tmp, "elsewhere", 0600);
	snprintf(path, sizeof(path), "%s/directory.db-shm", f->dir);
	assert_int_equal(symlink(other, path), 0);
	assert_int_equal(layout_repair(&f->cfg, &changed, err, sizeof(err)), YH_ERR_INVALID);
	assert_non_null(strstr(err, "directory.db-shm is a symbolic link"));
	assert_string_equal(owner(f->tmp, "elsewhere"), "0:0 600");
	assert_int_equal(unlink(path), 0);
	/* Nor a file with a second name (a hard link could be any file of the disk). */
	snprintf(path, sizeof(path), "%s/audit.log.checkpoint", f->dir);
	assert_int_equal(link(other, path), 0);
	assert_int_equal(layout_repair(&f->cfg, &changed, err, sizeof(err)), YH_ERR_INVALID);
	assert_non_null(strstr(err, "audit.log.checkpoint has 2 names"));
	assert_string_equal(owner(f->tmp, "elsewhere"), "0:0 600");
	assert_int_equal(unlink(path), 0);
	/* A directory where a file should be. */
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(layout_repair(&f->cfg, &changed, err, sizeof(err)), YH_ERR_INVALID);
	assert_non_null(strstr(err, "audit.log.checkpoint is not a regular file"));
	assert_int_equal(rmdir(path), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_become),
		cmocka_unit_test_setup_teardown(test_prepare, setup, teardown),
		cmocka_unit_test_setup_teardown(test_repair, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
