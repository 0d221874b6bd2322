/*
 * libFuzzer target for what a registry answers (federation/registry.h): fed_reg_map, which
 * maps a registry's JSON answer to match, mismatch or unavailable by the operator's
 * configuration, and fed_json_member / fed_json_text, the dotted-path reader it and the SMS
 * gateway share (federation/http.h).
 *
 * Input: four lines (match_field, match_value, mismatch_value, detail_field; an empty
 * detail_field means none), then the answer's bytes as the registry sent them.
 *
 * Invariants checked, beyond "no crash":
 *   - the outcome is one of the three, and `why` says something exactly when it is
 *     unavailable;
 *   - match exactly when the body is a JSON object whose member at match_field is a
 *     scalar whose text (fed_json_text) is non-empty and equal to match_value; mismatch
 *     exactly when that text is one of the '|'-separated mismatch values (and not the
 *     match value) — computed here independently, by walking the path with jansson;
 *   - the detail kept is valid UTF-8 of at most FED_REG_DETAIL_MAX bytes, a prefix of the
 *     member's text at detail_field;
 *   - a path of more than FED_JSON_PATH_DEPTH parts, or with an empty part, finds nothing.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "common/utf8.h"
#include "federation/http.h"
#include "federation/registry.h"
#include "tests/fuzz/fuzz_util.h"

#define FIELD_MAX 600

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The next '\n'-ended line of [*p, end) into out (NUL-terminated); false when none. */
static bool
take_line(const uint8_t **p, const uint8_t *end, char out[FIELD_MAX + 1])
{
	const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n;

	if (nl == NULL || (n = (size_t)(nl - *p)) > FIELD_MAX || memchr(*p, '\0', n) != NULL)
		return false;
	memcpy(out, *p, n);
	out[n] = '\0';
	*p = nl + 1;
	return true;
}

/* The member at path, found here part by part (the reference for fed_json_member). */
static json_t *
walk(json_t *o, const char *path)
{
	char part[FIELD_MAX + 1];
	const char *p = path;
	unsigned depth = 0;

	for (;;) {
		const char *dot = strchr(p, '.');
		size_t n = dot != NULL ? (size_t)(dot - p) : strlen(p);

		if (n == 0 || n > 128 || ++depth > FED_JSON_PATH_DEPTH || !json_is_object(o))
			return NULL;
		memcpy(part, p, n);
		part[n] = '\0';
		if ((o = json_object_get(o, part)) == NULL)
			return NULL;
		if (dot == NULL)
			return o;
		p = dot + 1;
	}
}

/* True when v (non-empty) is one of the '|'-separated values of list. */
static bool
listed(const char *list, const char *v)
{
	size_t n = strlen(v);
	const char *p = list, *bar;

	for (;;) {
		size_t len = (bar = strchr(p, '|')) != NULL ? (size_t)(bar - p) : strlen(p);

		if (len == n && memcmp(p, v, n) == 0)
			return true;
		if (bar == NULL)
			return false;
		p = bar + 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char field[FIELD_MAX + 1], value[FIELD_MAX + 1], mismatch[FIELD_MAX + 1],
	    detail[FIELD_MAX + 1];
	const uint8_t *p = data, *end = data + size;
	struct fed_reg_one_cfg c;
	struct fed_reg_result res;
	enum fed_reg_outcome o;
	json_t *root, *v;
	char text[513];
	bool want_match = false, want_mismatch = false;

	if (!take_line(&p, end, field) || !take_line(&p, end, value) ||
	    !take_line(&p, end, mismatch) || !take_line(&p, end, detail))
		return 0;
	memset(&c, 0, sizeof(c));
	c.match_field = field;
	c.match_value = value;
	c.mismatch_value = mismatch;
	c.detail_field = detail;
	memset(&res, 0x5a, sizeof(res));
	o = fed_reg_map(&c, (const char *)p, (size_t)(end - p), &res);
	CHECK(o == FED_REG_MATCH || o == FED_REG_MISMATCH || o == FED_REG_UNAVAILABLE);
	CHECK(res.outcome == o);
	CHECK(memchr(res.why, '\0', sizeof(res.why)) != NULL);
	CHECK((res.why[0] != '\0') == (o == FED_REG_UNAVAILABLE));
	CHECK(memchr(res.detail, '\0', sizeof(res.detail)) != NULL);
	CHECK(strlen(res.detail) <= FED_REG_DETAIL_MAX);
	CHECK(yh_utf8_valid(res.detail, strlen(res.detail)));

	/* The reference: the same decision computed here. */
	root = json_loadb((const char *)p, (size_t)(end - p), JSON_REJECT_DUPLICATES, NULL);
	if (json_is_object(root) && (v = walk(root, field)) != NULL) {
		CHECK(fed_json_member(root, field) == v);
		fed_json_text(v, text, sizeof(text));
		want_match = text[0] != '\0' && strcmp(text, value) == 0;
		want_mismatch = !want_match && text[0] != '\0' && listed(mismatch, text);
	} else if (json_is_object(root)) {
		CHECK(fed_json_member(root, field) == NULL);
	}
	CHECK((o == FED_REG_MATCH) == want_match);
	CHECK((o == FED_REG_MISMATCH) == want_mismatch);
	if (json_is_object(root) && detail[0] != '\0' && (v = walk(root, detail)) != NULL) {
		fed_json_text(v, text, sizeof(text));
		CHECK(strncmp(text, res.detail, strlen(res.detail)) == 0);
	} else {
		CHECK(res.detail[0] == '\0');
	}
	json_decref(root);
	return 0;
}
