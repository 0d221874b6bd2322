/*
 * authctl id check VALUE... | -   : validates resident ID numbers, unified social credit
 * codes and organization codes, one compact JSON object per value on stdout:
 *   {"input":..,"valid":..,"kind":"resident_id"|"uscc"|"org_code"|null,
 *    "canonical":..|null,"reason":null|"bad_checksum"|..}
 * plus "birth_date" and "sex" for valid resident IDs and "org_code" for valid credit
 * codes. kind on an invalid value is the kind it most likely was meant to be. Exit 0
 * when every value is valid, 1 otherwise, 2 on a usage or output error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "authctl/ctl.h"
#include "identity/idn/idnum.h"

/* Longest stdin line considered (a longer one is reported as bad_length). */
#define CTL_ID_LINE_MAX 1024

static int
usage(void)
{
	return ctl_fail("usage: authctl id check VALUE...   (or '-' to read values from stdin, "
	    "one per line)");
}

/* A JSON string of the input; invalid UTF-8 bytes become U+FFFD so the line stays JSON. */
static json_t *
input_string(const char *s, size_t len)
{
	char buf[(CTL_ID_LINE_MAX + 2) * 3];
	size_t o = 0;
	json_t *j = json_stringn(s, len);

	if (j != NULL || len > CTL_ID_LINE_MAX + 2)
		return j != NULL ? j : json_string("");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x80) {
			buf[o++] = (char)c;
		} else {
			memcpy(buf + o, "\xef\xbf\xbd", 3);   /* U+FFFD */
			o += 3;
		}
	}
	return json_stringn(buf, o);
}

static json_t *
result_json(const char *in, size_t len, const struct idn_any *a)
{
	const char *kind = idn_kind_str(a->kind);
	bool ok = a->reason == IDN_OK;
	json_t *o = json_object();
	char date[16];

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "input", input_string(in, len));
	json_object_set_new(o, "valid", json_boolean(ok));
	json_object_set_new(o, "kind", kind != NULL ? json_string(kind) : json_null());
	json_object_set_new(o, "canonical", ok ? json_string(a->canonical) : json_null());
	json_object_set_new(o, "reason", ok ? json_null() : json_string(idn_reason_str(a->reason)));
	if (ok && a->kind == IDN_KIND_RESIDENT) {
		char sex[2] = { a->resident.sex, '\0' };

		snprintf(date, sizeof(date), "%04d-%02d-%02d", a->resident.birth_year,
		    a->resident.birth_month, a->resident.birth_day);
		json_object_set_new(o, "birth_date", json_string(date));
		json_object_set_new(o, "sex", json_string(sex));
	}
	if (ok && a->kind == IDN_KIND_USCC)
		json_object_set_new(o, "org_code", json_string(a->uscc.org_code));
	return o;
}

/* Checks one value and prints its line. Returns 0 valid, 1 invalid, 2 output error. */
static int
check_one(const char *in, size_t len)
{
	struct idn_any a;
	json_t *o;
	char *line = NULL;
	int rc = 2;

	(void)idn_classify(in, len, 0, &a);
	o = result_json(in, len, &a);
	if (o == NULL)
		goto out;
	line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (line == NULL || puts(line) == EOF)
		goto out;
	rc = a.reason == IDN_OK ? 0 : 1;
out:
	free(line);
	json_decref(o);
	memset(&a, 0, sizeof(a));
	return rc;
}

/* Reads values from stdin, one per line; blank lines are skipped. */
static int
check_stdin(void)
{
	char line[CTL_ID_LINE_MAX + 2];
	int worst = 0;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		size_t n = strlen(line);
		bool whole = n > 0 && line[n - 1] == '\n';
		int rc;

		if (!whole && !feof(stdin)) {
			/* Too long: report it once, skip the rest of the line. */
			int c;

			while ((c = getchar()) != EOF && c != '\n')
				;
		}
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			n--;
		if (n == 0)
			continue;
		rc = check_one(line, n);
		if (rc > worst)
			worst = rc;
	}
	if (ferror(stdin))
		return ctl_fail("id check: reading stdin failed");
	return worst;
}

int
ctl_id(int argc, char **argv)
{
	int worst = 0;

	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		puts("usage: authctl id check VALUE...   (or '-' to read values from stdin)");
		return 0;
	}
	if (argc < 3 || strcmp(argv[1], "check") != 0)
		return usage();
	for (int i = 2; i < argc; i++) {
		int rc;

		if (strcmp(argv[i], "-") == 0)
			rc = check_stdin();
		else
			rc = check_one(argv[i], strlen(argv[i]));
		if (rc > worst)
			worst = rc;
	}
	if (fflush(stdout) != 0)
		return ctl_fail("id check: writing the results failed");
	return worst;
}
