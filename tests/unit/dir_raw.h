/*
 * For the directory's migration tests (test_dir.c, test_consent.c): SQL run on the
 * SQLite file directly while the program's own connection is closed, and the SQL that
 * turns a store of the current schema back into exactly what an older program made.
 * Included by a test after cmocka.h and sqlite3.h.
 */
#ifndef YH_TESTS_DIR_RAW_H
#define YH_TESTS_DIR_RAW_H

/* Version 4 -> 3: no subject_pin table. */
#define DIR_RAW_TO_V3 \
    "DROP TABLE subject_pin;" \
    "UPDATE meta SET value = '3' WHERE key = 'schema_version';"

/* Version 3 -> 2: no phone_verified column; every phone in the lookup index. */
#define DIR_RAW_TO_V2 \
    DIR_RAW_TO_V3 \
    "DROP INDEX person_phone_verified;" \
    "ALTER TABLE person DROP COLUMN phone_verified;" \
    "CREATE INDEX person_phone ON person(phone_index);" \
    "UPDATE meta SET value = '2' WHERE key = 'schema_version';"

/* Version 2 -> 1: no consent table. */
#define DIR_RAW_TO_V1 \
    DIR_RAW_TO_V2 \
    "DROP TABLE consent;" \
    "UPDATE meta SET value = '1' WHERE key = 'schema_version';"

/* Runs SQL (several statements) on the database file at path; fails the test on error. */
static void
raw_sql(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	char *msg = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

/* The first column of the first row of a query, as an integer (-1 when no row). */
static int64_t
raw_int(const char *path, const char *sql)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	int64_t v = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

#endif
