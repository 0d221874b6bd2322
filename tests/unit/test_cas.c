/*
 * The CAS room's XML writer (authd/cas/xml.c): every character XML gives a meaning to is
 * escaped, and text XML 1.0 cannot carry is refused rather than written.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "authd/cas/cas.h"

static void
expect_text(const char *in, int rc, const char *out)
{
	struct yh_buf b;

	yh_buf_init(&b, 1024);
	assert_int_equal(cas_xml_text(&b, in), rc);
	if (rc == 0)
		assert_string_equal(yh_buf_cstr(&b), out);
	yh_buf_free(&b);
}

static void
test_xml_text(void **state)
{
	(void)state;
	expect_text("", 0, "");
	expect_text("plain", 0, "plain");
	expect_text("<cas:user>x</cas:user>", 0, "&lt;cas:user&gt;x&lt;/cas:user&gt;");
	expect_text("a&b\"c'd", 0, "a&amp;b&quot;c&apos;d");
	expect_text("&amp;", 0, "&amp;amp;");
	expect_text("]]>", 0, "]]&gt;");
	expect_text("王小明\t\r\n", 0, "王小明\t\r\n");
	expect_text("x\x01y", YH_ERR_INVALID, NULL);       /* no control characters */
	expect_text("x\x1b[0m", YH_ERR_INVALID, NULL);
	expect_text("\xff\xfe", YH_ERR_INVALID, NULL);     /* not UTF-8 */
	expect_text("\xc0\xbc", YH_ERR_INVALID, NULL);     /* an over-long '<' */
	expect_text("\xed\xa0\x80", YH_ERR_INVALID, NULL); /* a surrogate */
	expect_text("x\xef\xbf\xbey", YH_ERR_INVALID, NULL);  /* U+FFFE, U+FFFF: not XML */
	expect_text("x\xef\xbf\xbf", YH_ERR_INVALID, NULL);
	expect_text("\xef\xbf\xbd\xef\xbc\x9a", 0, "\xef\xbf\xbd\xef\xbc\x9a"); /* U+FFFD, U+FF1A */
}

/* The proxy chain: the newest callback first, bounded in count and bytes. */
static void
test_proxy_chain(void **state)
{
	char out[SESS_PROXIES_BYTES + 1], chain[SESS_PROXIES_BYTES + 1];
	char big[SESS_PROXIES_BYTES + 1];

	(void)state;
	assert_int_equal(cas_proxy_chain_push("", "https://p1/cb", out), 0);
	assert_string_equal(out, "https://p1/cb\n");
	memcpy(chain, out, sizeof(chain));
	assert_int_equal(cas_proxy_chain_push(chain, "https://p2/cb", out), 0);
	assert_string_equal(out, "https://p2/cb\nhttps://p1/cb\n");
	for (int i = 2; i < SESS_PROXIES_MAX; i++) {
		memcpy(chain, out, sizeof(chain));
		assert_int_equal(cas_proxy_chain_push(chain, "https://pn/cb", out), 0);
	}
	memcpy(chain, out, sizeof(chain));
	assert_int_equal(cas_proxy_chain_push(chain, "https://one-too-many/cb", out),
	    YH_ERR_LIMIT);
	assert_int_equal(cas_proxy_chain_push("", "", out), YH_ERR_INVALID);
	assert_int_equal(cas_proxy_chain_push("", "https://a/\nx", out), YH_ERR_INVALID);
	assert_int_equal(cas_proxy_chain_push("https://no-newline", "https://a/", out),
	    YH_ERR_INVALID);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(cas_proxy_chain_push("", big, out), YH_ERR_LIMIT);  /* 4096 + '\n' */
	big[sizeof(big) - 2] = '\0';
	assert_int_equal(cas_proxy_chain_push("", big, out), 0);
}

static void
test_xml_elem_and_limit(void **state)
{
	struct yh_buf b;
	char big[64];

	(void)state;
	yh_buf_init(&b, 1024);
	assert_int_equal(cas_xml_elem(&b, "name", "<x>"), 0);
	assert_string_equal(yh_buf_cstr(&b), "<cas:name>&lt;x&gt;</cas:name>");
	yh_buf_free(&b);
	memset(big, '&', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	yh_buf_init(&b, 100);                              /* 63 x "&amp;" do not fit */
	assert_int_equal(cas_xml_text(&b, big), YH_ERR_TOO_LONG);
	yh_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xml_text),
		cmocka_unit_test(test_xml_elem_and_limit),
		cmocka_unit_test(test_proxy_chain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
