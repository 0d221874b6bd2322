/*
 * Unit tests for the counter's input checks (authd/counter/counter.c): the documents a
 * counter may check (counter_doc_ok) and the evidence a verification records
 * (counter_evidence): the ID number masked, the note bounded to COUNTER_NOTE_MAX bytes of
 * UTF-8 without control bytes other than line breaks, and nothing half-written.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "authd/counter/counter.h"
#include "common/err.h"

#define IDN "35010219900202345X"
#define IDN_MASKED "350102********345X"

static void
test_doc_ok(void **state)
{
	static const char *const bad[] = { "", "passport", "ID_CARD", "id_card ", " id_card",
	    "id_card\n", "id_cardx", "id" };

	(void)state;
	assert_true(counter_doc_ok("id_card"));
	assert_true(counter_doc_ok("temp_id_card"));
	assert_true(counter_doc_ok("household_register"));
	assert_false(counter_doc_ok(NULL));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(counter_doc_ok(bad[i]));
}

static void
test_evidence_ok(void **state)
{
	char out[1024];

	(void)state;
	assert_int_equal(counter_evidence("id_card", IDN, "照片与本人相符", out, sizeof(out)), 0);
	assert_string_equal(out, "doc=id_card; number=" IDN_MASKED "; seen=照片与本人相符");
	assert_null(strstr(out, IDN));
	assert_int_equal(counter_evidence("household_register", IDN, NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "doc=household_register; number=" IDN_MASKED "; seen=-");
	assert_int_equal(counter_evidence("temp_id_card", IDN, "", out, sizeof(out)), 0);
	assert_string_equal(out, "doc=temp_id_card; number=" IDN_MASKED "; seen=-");
	assert_int_equal(counter_evidence("id_card", IDN, "line one\r\nline two", out,
	    sizeof(out)), 0);
	assert_non_null(strstr(out, "seen=line one\r\nline two"));
}

static void
test_evidence_bounds(void **state)
{
	char note[COUNTER_NOTE_MAX + 2], out[1024];

	(void)state;
	memset(note, 'x', sizeof(note) - 1);
	note[COUNTER_NOTE_MAX] = '\0';
	assert_int_equal(counter_evidence("id_card", IDN, note, out, sizeof(out)), 0);
	assert_int_equal(strlen(out), strlen("doc=id_card; number=" IDN_MASKED "; seen=") +
	    COUNTER_NOTE_MAX);
	note[COUNTER_NOTE_MAX] = 'x';
	note[COUNTER_NOTE_MAX + 1] = '\0';
	memset(out, 'z', sizeof(out));
	assert_int_equal(counter_evidence("id_card", IDN, note, out, sizeof(out)), YH_ERR_TOO_LONG);
	assert_string_equal(out, "");
	/* An output buffer too small for the whole: nothing half-written. */
	memset(out, 'z', sizeof(out));
	assert_int_equal(counter_evidence("id_card", IDN, "seen", out, 20), YH_ERR_TOO_LONG);
	assert_string_equal(out, "");
	assert_int_equal(counter_evidence("id_card", IDN, "seen", out, 0), YH_ERR_TOO_LONG);
}

static void
test_evidence_invalid(void **state)
{
	static const char *const bad_notes[] = { "tab\there", "nul\x01", "esc\x1b[0m",
	    "\xff\xfe", "half \xe7\x85", "overlong \xc0\xaf" };
	char out[1024];

	(void)state;
	memset(out, 'z', sizeof(out));
	assert_int_equal(counter_evidence("passport", IDN, "seen", out, sizeof(out)),
	    YH_ERR_INVALID);
	assert_string_equal(out, "");
	assert_int_equal(counter_evidence(NULL, IDN, "seen", out, sizeof(out)), YH_ERR_INVALID);
	assert_int_equal(counter_evidence("id_card", NULL, "seen", out, sizeof(out)),
	    YH_ERR_INVALID);
	for (size_t i = 0; i < sizeof(bad_notes) / sizeof(bad_notes[0]); i++) {
		memset(out, 'z', sizeof(out));
		assert_int_equal(counter_evidence("id_card", IDN, bad_notes[i], out, sizeof(out)),
		    YH_ERR_INVALID);
		assert_string_equal(out, "");
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doc_ok),
		cmocka_unit_test(test_evidence_ok),
		cmocka_unit_test(test_evidence_bounds),
		cmocka_unit_test(test_evidence_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
