/*
 * libFuzzer target for authd's request parsers that do not need a connection: the
 * application/x-www-form-urlencoded body parser (http_form_get), the listen-address
 * parser and the trusted-proxy list. Beyond "no crash, no sanitizer report": a value
 * found is never longer than the cap or than the input, and has no NUL byte.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authd/http/http.h"
#include "common/netaddr.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static void
fuzz_form(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "a", "grant_type", "password", "", "x y", "%" };
	struct yh_span body = yh_span_mem(data, size);

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t max = i * 7;
		char *out = NULL;
		int r = http_form_get(body, names[i], max, &out);

		if (r == 0) {
			size_t n;

			CHECK(out != NULL);
			n = strlen(out);
			CHECK(n <= max && n <= size);
		} else
			CHECK(out == NULL);
		free(out);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[256], host[64], bad[80];
	uint16_t port;

	fuzz_form(data, size);
	if (size < sizeof(text)) {
		memcpy(text, data, size);
		text[size] = '\0';
		if (net_listen_parse(text, host, sizeof(host), &port) == 0)
			CHECK(strlen(host) > 0 && strlen(host) < sizeof(host));
		(void)net_cidr_list_check(text, bad, sizeof(bad));
	}
	return 0;
}
