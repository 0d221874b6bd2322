/*
 * libFuzzer target for what the CAS endpoints do with an app's service URL and with text
 * they put into XML: the service matcher (clients_cas_service_ok, against the fixed
 * registration below and against a prefix taken from the input when it registers), the
 * registration check (clients_cas_service_check) and the XML writer (cas_xml_text);
 * the proxy callback (pgtUrl) matcher and check (clients_cas_proxy_callback_ok / _check)
 * and the proxy chain (cas_proxy_chain_push).
 *
 * Input: "PREFIX\nSERVICE", or SERVICE alone (no newline).
 *
 * Invariants checked, beyond "no crash, no leak":
 *   - a service that matches a registration starts with it (a prefix), or equals it up to
 *     its '?' (an exact service), and has no '#', no '@' or '\\' before its path, and no
 *     "/../" or "/./" path segment;
 *   - a PREFIX that cas_service_check accepts as a prefix ends in '/' and has no '?';
 *   - cas_xml_text's output, when it writes one, holds no '<', '>', '"' or '\'', every
 *     '&' starts one of the five entities, and decoding them gives the input back;
 *   - cas_slo_body (the single logout POST, with the input as the ticket), when it writes
 *     one, is "logoutRequest=" and a value of unreserved bytes and %XX only, which
 *     decodes to one <samlp:LogoutRequest> whose only SessionIndex is the input as
 *     cas_xml_text escapes it;
 *   - a PREFIX that cas_proxy_callback_check accepts as a pgtUrl is https with no '?',
 *     and a SERVICE matches it as a pgtUrl only when the two are equal byte for byte;
 *   - cas_proxy_chain_push of SERVICE onto a chain made of PREFIX (twice, when it is
 *     one URL) gives SERVICE '\n' CHAIN, at most SESS_PROXIES_MAX URLs and
 *     SESS_PROXIES_BYTES bytes, and refuses a SERVICE with a newline.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"

#include "authcore/clients/clients.h"
#include "authd/cas/cas.h"

#define FX_EXACT "https://a.gov.cn/exact/page"
#define FX_PREFIX "https://a.gov.cn/app/"

/* True when the path of s (after "scheme://authority", before '?') has a "." or ".."
 * segment (literal dots only). */
static bool
has_dot_segment(const char *s)
{
	const char *a = strstr(s, "://");
	size_t end = strcspn(s, "?"), from = a != NULL ? (size_t)(a + 3 - s) : 0;

	from += strcspn(s + from, "/?");
	for (size_t i = from; i + 1 < end; i++) {
		if (s[i] != '/')
			continue;
		if ((s[i + 1] == '.' && (i + 2 >= end || s[i + 2] == '/')) ||
		    (i + 2 < end && s[i + 1] == '.' && s[i + 2] == '.' &&
		    (i + 3 >= end || s[i + 3] == '/')))
			return true;
	}
	return false;
}

/* The common checks on a service that matched. */
static void
check_matched(const char *s)
{
	const char *a = strstr(s, "://");
	size_t auth_len;

	CHECK(a != NULL);
	a += 3;
	auth_len = strcspn(a, "/?");
	CHECK(memchr(a, '@', auth_len) == NULL && memchr(a, '\\', auth_len) == NULL);
	CHECK(strchr(s, '#') == NULL);
	CHECK(!has_dot_segment(s));
}

static void
check_fixed(const char *s)
{
	const char *svc[1] = { FX_EXACT }, *pfx[1] = { FX_PREFIX };
	struct clients_client c;

	clients_client_init(&c);
	c.cas_services = svc;
	c.n_cas_services = 1;
	c.cas_prefixes = pfx;
	c.n_cas_prefixes = 1;
	if (!clients_cas_service_ok(&c, s))
		return;
	check_matched(s);
	CHECK(strncmp(s, FX_PREFIX, strlen(FX_PREFIX)) == 0 ||
	    (strncmp(s, FX_EXACT, strlen(FX_EXACT)) == 0 &&
	    (s[strlen(FX_EXACT)] == '\0' || s[strlen(FX_EXACT)] == '?')));
}

static void
check_prefix(const char *prefix, const char *s)
{
	struct clients_client c;
	const char *why, *pfx[1] = { prefix };
	size_t n = strlen(prefix);

	if (clients_cas_service_check(prefix, true, &why) != 0)
		return;
	CHECK(n > 0 && prefix[n - 1] == '/' && strchr(prefix, '?') == NULL);
	clients_client_init(&c);
	c.cas_prefixes = pfx;
	c.n_cas_prefixes = 1;
	if (!clients_cas_service_ok(&c, s))
		return;
	check_matched(s);
	CHECK(strncmp(s, prefix, n) == 0);
}

/* A pgtUrl matches a registered proxy callback only whole. */
static void
check_callback(const char *reg, const char *s)
{
	struct clients_client c;
	const char *why, *cb[1] = { reg };

	if (clients_cas_proxy_callback_check(reg, &why) == 0)
		CHECK(strncmp(reg, "https://", 8) == 0 && strchr(reg, '?') == NULL);
	clients_client_init(&c);
	c.cas_proxy_callbacks = cb;
	c.n_cas_proxy_callbacks = 1;
	CHECK(clients_cas_proxy_callback_ok(&c, s) == (strcmp(reg, s) == 0));
}

/* The chain: the new URL first, the old chain after it, bounded. */
static void
check_chain(const char *first, const char *s)
{
	char one[SESS_PROXIES_BYTES + 1], chain[SESS_PROXIES_BYTES + 1];
	char out[SESS_PROXIES_BYTES + 1];
	size_t n = 0;
	int r;

	if (cas_proxy_chain_push("", first, one) != 0 ||
	    cas_proxy_chain_push(one, first, chain) != 0)
		chain[0] = '\0';
	r = cas_proxy_chain_push(chain, s, out);
	if (strchr(s, '\n') != NULL || s[0] == '\0') {
		CHECK(r == YH_ERR_INVALID);
		return;
	}
	if (r != 0) {
		CHECK(r == YH_ERR_LIMIT);
		return;
	}
	CHECK(strncmp(out, s, strlen(s)) == 0 && out[strlen(s)] == '\n');
	CHECK(strcmp(out + strlen(s) + 1, chain) == 0);
	CHECK(strlen(out) <= SESS_PROXIES_BYTES);
	for (const char *p = out; *p != '\0'; p++)
		n += *p == '\n';
	CHECK(n <= SESS_PROXIES_MAX);
}

/* Decodes the five entities of out (len bytes) and compares with in. */
static void
check_xml(const char *in)
{
	static const char *const ent[] = { "&amp;", "&lt;", "&gt;", "&quot;", "&apos;" };
	static const char chr[] = "&<>\"'";
	struct yh_buf b;
	size_t i = 0, j = 0, n;

	yh_buf_init(&b, 1 << 20);
	if (cas_xml_text(&b, in) == 0) {
		const char *o = yh_buf_cstr(&b);

		n = strlen(o);
		CHECK(strpbrk(o, "<>\"'") == NULL);
		while (i < n) {
			if (o[i] == '&') {
				size_t k;

				for (k = 0; k < 5 && strncmp(o + i, ent[k], strlen(ent[k])) != 0; k++)
					;
				CHECK(k < 5 && in[j] == chr[k]);
				i += strlen(ent[k]);
			} else {
				CHECK(in[j] == o[i]);
				i++;
			}
			j++;
		}
		CHECK(in[j] == '\0');
	}
	yh_buf_free(&b);
}

/* Value of a hex digit, or -1. */
static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The single logout body for the ticket in: one form field, the ticket escaped. */
static void
check_slo(const char *in)
{
	static const char pre[] = "logoutRequest=";
	struct yh_buf want;
	char *body = NULL, *dec, *p;
	size_t n = 0;

	if (cas_slo_body(in, 1700000000000, &body) != 0) {
		CHECK(body == NULL);
		return;
	}
	CHECK(strncmp(body, pre, sizeof(pre) - 1) == 0);
	CHECK((dec = malloc(strlen(body) + 1)) != NULL);
	for (p = body + sizeof(pre) - 1; *p != '\0'; p++) {
		if (*p == '%') {
			CHECK(hexval(p[1]) >= 0 && hexval(p[2]) >= 0);
			dec[n++] = (char)(hexval(p[1]) * 16 + hexval(p[2]));
			p += 2;
		} else {
			CHECK(strchr("-._~", *p) != NULL || (*p >= '0' && *p <= '9') ||
			    (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'));
			dec[n++] = *p;
		}
	}
	dec[n] = '\0';
	CHECK(strlen(dec) == n);
	yh_buf_init(&want, 1 << 20);
	CHECK(yh_buf_puts(&want, "<samlp:SessionIndex>") == 0 && cas_xml_text(&want, in) == 0 &&
	    yh_buf_puts(&want, "</samlp:SessionIndex></samlp:LogoutRequest>") == 0);
	CHECK(strncmp(dec, "<samlp:LogoutRequest ", 21) == 0);
	CHECK((p = strstr(dec, "<samlp:SessionIndex>")) != NULL);
	CHECK(strcmp(p, yh_buf_cstr(&want)) == 0);
	yh_buf_free(&want);
	free(dec);
	free(body);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *nl;

	if (size > 8192 || (text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (strlen(text) == size) {  /* C strings only: no NUL inside */
		nl = strchr(text, '\n');
		if (nl != NULL) {
			*nl = '\0';
			check_prefix(text, nl + 1);
			check_fixed(nl + 1);
			check_callback(text, nl + 1);
			check_chain(text, nl + 1);
			*nl = '\n';
		} else {
			check_fixed(text);
			check_callback(FX_PREFIX "cb", text);
			check_chain("", text);
		}
		check_xml(text);
		check_slo(text);
	}
	free(text);
	return 0;
}
