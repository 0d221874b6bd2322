/*
 * Unit tests for the department LDAP login sources (federation/ldapsrc.h): the
 * ldap_source.NAME.* blocks read through authd's configuration (an error names
 * file:line and the option), finding a block by name, telling changed blocks apart for
 * a reload, and a login that must fail before any connection (an empty password: an
 * empty simple bind would be an anonymous one) or without a server (unavailable).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "authcore/authd_config.h"
#include "federation/ldapsrc.h"
#include "tests/unit/tmpdir.h"

#define GOOD "ldap_source.dept.uri = ldap://127.0.0.1:9\n" \
	"ldap_source.dept.base = ou=dept,dc=example\n" \
	"ldap_source.dept.org = 11350100003000014R\n"

/* Loads "state_dir = st" plus extra into *c (keep it: authd_cfg_free); the error in err. */
static int
load(struct authd_cfg *c, const char *extra, char *err, size_t errsz)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/authd.conf", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "state_dir = st\n%s", extra);
	fclose(f);
	return authd_cfg_load(c, path, NULL, NULL, err, errsz);
}

/* load, then frees; returns the result. */
static int
load1(const char *extra, char *err, size_t errsz)
{
	struct authd_cfg c;
	int r = load(&c, extra, err, errsz);

	authd_cfg_free(&c);
	return r;
}

/* The error of extra must start with authd.conf:LINE: and hold what. */
static void
refused(const char *extra, int line, const char *what)
{
	char err[512], want[160];

	assert_int_equal(load1(extra, err, sizeof(err)), YH_ERR_CONFIG);
	snprintf(want, sizeof(want), "%s/authd.conf:%d: ", tmpdir, line);
	if (strncmp(err, want, strlen(want)) != 0 || strstr(err, what) == NULL)
		fail_msg("got '%s', want '%s...%s'", err, want, what);
}

static void
test_config(void **state)
{
	struct authd_cfg c;
	const struct fed_ldap_src *s;
	char err[512];

	(void)state;
	assert_int_equal(load(&c, GOOD "ldap_source.hr.uri = ldaps://a.example ldaps://b.example\n"
	    "ldap_source.hr.base = dc=hr\nldap_source.hr.org = 11350100003000014R\n"
	    "ldap_source.hr.filter = (sAMAccountName={user})\n", err, sizeof(err)), 0);
	assert_int_equal(c.ldap.n, 2);
	s = fed_ldap_find(&c.ldap, "DEPT", 4);
	assert_non_null(s);
	assert_string_equal(s->name, "dept");
	assert_string_equal(s->filter, "(uid={user})");
	assert_string_equal(s->attr_id_number, "employeeNumber");
	assert_int_equal(s->loa, 2);
	assert_int_equal(s->timeout, 5);
	assert_null(fed_ldap_find(&c.ldap, "dep", 3));
	authd_cfg_free(&c);

	refused("ldap_source.dept.uri = http://x\n", 2, "ldap_source.dept.uri: each URI");
	refused(GOOD "ldap_source.dept.filter = (uid=zhang)\n", 5,
	    "ldap_source.dept.filter: must hold {user}");
	refused(GOOD "ldap_source.dept.filter = (uid={user})(cn={user})\n", 5, "exactly once");
	refused(GOOD "ldap_source.dept.filter = uid={user}\n", 5, "parenthesized");
	refused(GOOD "ldap_source.dept.colour = blue\n", 5,
	    "unknown option 'ldap_source.dept.colour'");
	refused(GOOD "ldap_source.de.pt.uri = ldap://x\n", 5, "unknown option");
	refused(GOOD "ldap_source.dept.base = again\n", 5, "given twice");
	/* NAME is one block whatever its case, as a login's NAME is found */
	refused(GOOD "ldap_source.DEPT.base = again\n", 5, "given twice");
	refused(GOOD "ldap_source.dept.bind_dn = cn=reader\n", 2,
	    "ldap_source.dept.bind_password: bind_dn and bind_password go together");
	refused(GOOD "ldap_source.dept.timeout = 0\n", 5, "ldap_source.dept.timeout");
	refused(GOOD "ldap_source.dept.starttls = yes\nldap_source.dept.uri2 = x\n", 6,
	    "unknown option");
	refused("ldap_source.x.uri = ldaps://a\nldap_source.x.base = b\n"
	    "ldap_source.x.org = 11350100003000014R\nldap_source.x.starttls = yes\n", 5,
	    "ldap_source.x.starttls: is for ldap://");
	/* a missing option points at the block's first line */
	refused("ldap_source.x.uri = ldap://a\nldap_source.x.org = 11350100003000014R\n", 2,
	    "ldap_source.x.base: is required");
	refused("ldap_source.x.uri = ldap://a\nldap_source.x.base = b\n", 2,
	    "ldap_source.x.org: is required");
	refused(GOOD "ldap_source.dept.ca_file = /nonexistent/ca.pem\n", 5,
	    "ldap_source.dept.ca_file: /nonexistent/ca.pem");
}

static void
test_same(void **state)
{
	struct authd_cfg a, b;
	char err[512];

	(void)state;
	assert_int_equal(load(&a, GOOD "ldap_source.dept.bind_dn = cn=r\n"
	    "ldap_source.dept.bind_password = one\n", err, sizeof(err)), 0);
	assert_int_equal(load(&b, GOOD "ldap_source.dept.bind_dn = cn=r\n"
	    "ldap_source.dept.bind_password = one\n", err, sizeof(err)), 0);
	assert_true(fed_ldap_cfg_same(&a.ldap, &b.ldap));
	authd_cfg_free(&b);
	/* only the password changed: a change */
	assert_int_equal(load(&b, GOOD "ldap_source.dept.bind_dn = cn=r\n"
	    "ldap_source.dept.bind_password = two\n", err, sizeof(err)), 0);
	assert_false(fed_ldap_cfg_same(&a.ldap, &b.ldap));
	authd_cfg_free(&b);
	assert_int_equal(load(&b, "", err, sizeof(err)), 0);
	assert_false(fed_ldap_cfg_same(&a.ldap, &b.ldap));
	authd_cfg_free(&b);
	authd_cfg_free(&a);
}

static void
test_login_refusals(void **state)
{
	struct authd_cfg c;
	struct fed_ldap_entry e;
	char err[512], why[256];
	const struct fed_ldap_src *s;

	(void)state;
	/* port 9 on loopback: nothing listens */
	assert_int_equal(load(&c, GOOD "ldap_source.dept.network_timeout = 1s\n", err,
	    sizeof(err)), 0);
	s = fed_ldap_find(&c.ldap, "dept", 4);
	assert_non_null(s);
	/* refused before any connection: would be UNAVAILABLE otherwise */
	assert_int_equal(fed_ldap_login(s, "zhang", "", NULL, NULL, &e, why, sizeof(why)), YH_ERR_INVALID);
	assert_int_equal(fed_ldap_login(s, "", "pw", NULL, NULL, &e, why, sizeof(why)), YH_ERR_INVALID);
	assert_null(e.dn);
	assert_int_equal(fed_ldap_login(s, "zhang", "pw", NULL, NULL, &e, why, sizeof(why)),
	    YH_ERR_UNAVAILABLE);
	assert_non_null(strstr(why, "Can't contact LDAP server"));
	assert_null(strstr(why, "pw"));
	assert_null(e.dn);
	authd_cfg_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_same),
		cmocka_unit_test(test_login_refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
