/*
 * Unit tests for the registry clients (federation/registry.h): the mapping of an answer
 * to match / mismatch / unavailable, the checks of the registry.* options (through
 * authd's configuration, so that an error names file:line and the option), a call to an
 * address where nothing listens, and the queue of owed checks (federation/regqueue.h).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "authcore/authd_config.h"
#include "federation/registry.h"
#include "federation/regqueue.h"
#include "tests/unit/tmpdir.h"

static enum fed_reg_outcome
map(const struct fed_reg_one_cfg *c, const char *body, struct fed_reg_result *res)
{
	return fed_reg_map(c, body, strlen(body), res);
}

static void
test_map(void **state)
{
	struct fed_reg_one_cfg c = {
		.match_field = "data.result", .match_value = "一致",
		.mismatch_value = "不一致|库中无此号", .detail_field = "data.message",
	};
	struct fed_reg_result res;
	char big[400];

	(void)state;
	assert_int_equal(map(&c, "{\"data\":{\"result\":\"一致\",\"message\":\"核验通过\"}}",
	    &res), FED_REG_MATCH);
	assert_string_equal(res.detail, "核验通过");
	assert_int_equal(map(&c, "{\"data\":{\"result\":\"不一致\"}}", &res), FED_REG_MISMATCH);
	assert_string_equal(res.detail, "");
	assert_int_equal(map(&c, "{\"data\":{\"result\":\"库中无此号\"}}", &res),
	    FED_REG_MISMATCH);
	/* anything else is unavailable, never a mismatch */
	assert_int_equal(map(&c, "{\"data\":{\"result\":\"系统繁忙\"}}", &res),
	    FED_REG_UNAVAILABLE);
	assert_string_not_equal(res.why, "");
	assert_int_equal(map(&c, "{\"data\":{\"result\":\"\"}}", &res), FED_REG_UNAVAILABLE);
	assert_int_equal(map(&c, "{\"data\":{}}", &res), FED_REG_UNAVAILABLE);
	assert_int_equal(map(&c, "{\"result\":\"一致\"}", &res), FED_REG_UNAVAILABLE);
	assert_int_equal(map(&c, "{\"data\":\"一致\"}", &res), FED_REG_UNAVAILABLE);
	assert_int_equal(map(&c, "{\"data\":{\"result\":[\"一致\"]}}", &res),
	    FED_REG_UNAVAILABLE);
	assert_int_equal(map(&c, "<html>busy</html>", &res), FED_REG_UNAVAILABLE);
	assert_int_equal(map(&c, "[\"一致\"]", &res), FED_REG_UNAVAILABLE);
	assert_int_equal(map(&c, "", &res), FED_REG_UNAVAILABLE);
	assert_int_equal(map(&c, "{\"data\":{\"result\":\"一致\"}", &res), FED_REG_UNAVAILABLE);
	/* a duplicate member is refused rather than read one way or the other */
	assert_int_equal(map(&c, "{\"data\":{\"result\":\"不一致\",\"result\":\"一致\"}}", &res),
	    FED_REG_UNAVAILABLE);
	/* numbers and booleans as the configuration writes them */
	c.match_field = "code";
	c.match_value = "0";
	c.mismatch_value = "1|2";
	assert_int_equal(map(&c, "{\"code\":0}", &res), FED_REG_MATCH);
	assert_int_equal(map(&c, "{\"code\":2}", &res), FED_REG_MISMATCH);
	assert_int_equal(map(&c, "{\"code\":3}", &res), FED_REG_UNAVAILABLE);
	assert_int_equal(map(&c, "{\"code\":\"12\"}", &res), FED_REG_UNAVAILABLE);
	c.match_field = "ok";
	c.match_value = "true";
	c.mismatch_value = "false";
	assert_int_equal(map(&c, "{\"ok\":true}", &res), FED_REG_MATCH);
	assert_int_equal(map(&c, "{\"ok\":false}", &res), FED_REG_MISMATCH);
	assert_int_equal(map(&c, "{\"ok\":null}", &res), FED_REG_UNAVAILABLE);
	/* the detail is cut to its bound on a character boundary */
	c.detail_field = "d";
	memset(big, 0, sizeof(big));
	snprintf(big, sizeof(big), "{\"ok\":true,\"d\":\"");
	for (int i = 0; i < 60; i++)
		memcpy(big + strlen(big), "核", 3);
	memcpy(big + strlen(big), "\"}", 3);
	assert_int_equal(map(&c, big, &res), FED_REG_MATCH);
	assert_true(strlen(res.detail) <= FED_REG_DETAIL_MAX);
	assert_int_equal(strlen(res.detail) % 3, 0);
}

/* Loads a configuration file made of base plus extra; returns authd_cfg_load's result
 * and the error line in err. */
static int
load(const char *extra, char *err, size_t errsz)
{
	struct authd_cfg c;
	char text[2048];
	const char *p;
	int r;

	snprintf(text, sizeof(text), "state_dir = st\n%s", extra);
	p = write_file("authd.conf", text, 0600);
	r = authd_cfg_load(&c, p, NULL, NULL, err, errsz);
	authd_cfg_free(&c);
	return r;
}

static void
test_config(void **state)
{
	char err[512], text[1024], want[300], cred[256];

	(void)state;
	/* nothing configured: no check, and nothing to complain about */
	assert_int_equal(load("", err, sizeof(err)), 0);
	assert_int_equal(load("registry.person.url = ftp://registry.example/x\n", err,
	    sizeof(err)), YH_ERR_CONFIG);
	snprintf(want, sizeof(want), "%s/authd.conf:2: registry.person.url: must be", tmpdir);
	assert_memory_equal(err, want, strlen(want));
	assert_int_equal(load("registry.org.url = https://\n", err, sizeof(err)),
	    YH_ERR_CONFIG);
	assert_non_null(strstr(err, "registry.org.url"));
	assert_int_equal(load("registry.person.url = https://a b/\n", err, sizeof(err)),
	    YH_ERR_CONFIG);
	/* credentials: required with an auth, must exist, must be 0600 */
	assert_int_equal(load("registry.person.url = https://registry.example/check\n"
	    "registry.person.auth = bearer\n", err, sizeof(err)), YH_ERR_CONFIG);
	assert_non_null(strstr(err, "registry.person.credentials_file: is required"));
	snprintf(text, sizeof(text), "registry.person.url = https://registry.example/check\n"
	    "registry.person.auth = bearer\nregistry.person.credentials_file = %s/missing\n",
	    tmpdir);
	assert_int_equal(load(text, err, sizeof(err)), YH_ERR_CONFIG);
	assert_non_null(strstr(err, ":4: registry.person.credentials_file: "));
	assert_non_null(strstr(err, "No such file"));
	snprintf(cred, sizeof(cred), "%s", write_file("token", "secret-token\n", 0644));
	snprintf(text, sizeof(text), "registry.org.url = https://registry.example/check\n"
	    "registry.org.auth = bearer\nregistry.org.credentials_file = %s\n", cred);
	assert_int_equal(load(text, err, sizeof(err)), YH_ERR_CONFIG);
	assert_non_null(strstr(err, "registry.org.credentials_file: "));
	assert_non_null(strstr(err, "mode 0644"));
	assert_null(strstr(err, "secret-token"));
	assert_int_equal(chmod(cred, 0600), 0);
	assert_int_equal(load(text, err, sizeof(err)), 0);
	/* a credentials file without an auth to use it is a mistake, not ignored */
	snprintf(text, sizeof(text), "registry.org.url = https://registry.example/check\n"
	    "registry.org.credentials_file = %s\n", cred);
	assert_int_equal(load(text, err, sizeof(err)), YH_ERR_CONFIG);
	assert_non_null(strstr(err, "registry.org.auth"));
	/* the mapping must be able to tell a match from a mismatch */
	assert_int_equal(load("registry.person.url = http://127.0.0.1:9/x\n"
	    "registry.person.match_value = 一致\nregistry.person.mismatch_value = 不一致|一致\n",
	    err, sizeof(err)), YH_ERR_CONFIG);
	assert_non_null(strstr(err, "registry.person.mismatch_value"));
	assert_int_equal(load("registry.person.url = http://127.0.0.1:9/x\n"
	    "registry.person.match_field =\n", err, sizeof(err)), YH_ERR_CONFIG);
	assert_non_null(strstr(err, "registry.person.match_field"));
	snprintf(text, sizeof(text), "registry.person.url = https://registry.example/check\n"
	    "registry.person.ca_file = %s/no-ca.pem\n", tmpdir);
	assert_int_equal(load(text, err, sizeof(err)), YH_ERR_CONFIG);
	assert_non_null(strstr(err, "registry.person.ca_file"));
	assert_int_equal(load("registry.person.timeout = 0\n", err, sizeof(err)),
	    YH_ERR_CONFIG);
}

static void
test_client(void **state)
{
	struct fed_reg_cfg c;
	struct fed_reg *reg = NULL;
	struct fed_reg_result res;
	char err[512];
	const char *cred;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.person.url = (char *)"http://127.0.0.1:9/check";   /* discard: nothing listens */
	c.person.timeout = 2;
	c.person.auth = (char *)"basic";
	c.person.match_field = (char *)"result";
	c.person.match_value = (char *)"一致";
	c.person.mismatch_value = (char *)"不一致";
	c.org.auth = (char *)"none";
	/* basic credentials without a colon are refused, naming the option */
	cred = write_file("basic", "no-colon-here\n", 0600);
	c.person.credentials_file = (char *)cred;
	assert_int_equal(fed_reg_new(&c, NULL, &reg, err, sizeof(err)), YH_ERR_CONFIG);
	assert_null(reg);
	assert_non_null(strstr(err, "registry.person.credentials_file"));
	assert_null(strstr(err, "no-colon-here"));
	cred = write_file("basic", "user:pass word\n", 0600);
	assert_int_equal(fed_reg_new(&c, NULL, &reg, err, sizeof(err)), 0);
	assert_true(fed_reg_enabled(reg, FED_REG_PERSON));
	assert_false(fed_reg_enabled(reg, FED_REG_ORG));
	assert_int_equal(fed_reg_check_org(reg, &(struct fed_reg_org){ "x", "y", NULL, NULL },
	    &res), YH_ERR_NOT_FOUND);
	/* no answer: unavailable, never a mismatch */
	assert_int_equal(fed_reg_check_person(reg, &(struct fed_reg_person){ "张三",
	    "11010519491231002X" }, &res), 0);
	assert_int_equal(res.outcome, FED_REG_UNAVAILABLE);
	assert_int_equal(res.http_status, 0);
	assert_string_not_equal(res.why, "");
	fed_reg_free(reg);
}

static void
test_queue(void **state)
{
	struct fed_regq_uid *v = NULL, done[2];
	char err[256], path[256];
	size_t n = 0;
	struct stat st;

	(void)state;
	assert_int_equal(fed_regq_list(tmpdir, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	assert_int_equal(fed_regq_add(tmpdir, "aaaa", err, sizeof(err)), 0);
	assert_int_equal(fed_regq_add(tmpdir, "bbbb", err, sizeof(err)), 0);
	assert_int_equal(fed_regq_add(tmpdir, "aaaa", err, sizeof(err)), 0);   /* once */
	assert_int_equal(fed_regq_add(tmpdir, "cc\ncc", err, sizeof(err)), YH_ERR_INVALID);
	assert_int_equal(fed_regq_add(tmpdir, "", err, sizeof(err)), YH_ERR_INVALID);
	snprintf(path, sizeof(path), "%s/%s", tmpdir, FED_REGQ_FILE);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(fed_regq_list(tmpdir, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].uid, "aaaa");
	assert_string_equal(v[1].uid, "bbbb");
	/* added between the list and the removal: kept */
	assert_int_equal(fed_regq_add(tmpdir, "cccc", err, sizeof(err)), 0);
	done[0] = v[0];
	free(v);
	assert_int_equal(fed_regq_remove(tmpdir, done, 1, err, sizeof(err)), 0);
	assert_int_equal(fed_regq_list(tmpdir, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].uid, "bbbb");
	assert_string_equal(v[1].uid, "cccc");
	done[0] = v[0];
	done[1] = v[1];
	free(v);
	assert_int_equal(fed_regq_remove(tmpdir, done, 2, err, sizeof(err)), 0);
	assert_int_equal(fed_regq_list(tmpdir, &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	assert_null(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_client),
		cmocka_unit_test(test_queue),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
