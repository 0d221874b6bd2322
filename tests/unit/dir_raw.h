/*
 * For the directory's migration tests (test_dir.c, test_consent.c): SQL run on the
 * SQLite file directly while the program's own connection is closed, and the SQL that
 * turns a store of the current schema back into exactly what an older program made.
 * Included by a test after cmocka.h and sqlite3.h.
 */
#ifndef YH_TESTS_DIR_RAW_H
#define YH_TESTS_DIR_RAW_H

/* Version 14 -> 13: no certificate bindings. */
#define DIR_RAW_TO_V13 \
    "DROP TABLE cert_binding;" \
    "UPDATE meta SET value = '13' WHERE key = 'schema_version';"

/* Version 13 -> 12: persons without their folded names. (12 -> 9 only add tables, which
 * their migrations make if missing: nothing to undo for the migration tests.) */
#define DIR_RAW_TO_V12 \
    DIR_RAW_TO_V13 \
    "DROP INDEX person_name_key;" \
    "ALTER TABLE person DROP COLUMN name_key;" \
    "UPDATE meta SET value = '12' WHERE key = 'schema_version';"

/* Version 9 -> 8: persons without their deregistration time. */
#define DIR_RAW_TO_V8 \
    DIR_RAW_TO_V12 \
    "DROP INDEX person_deregistered;" \
    "ALTER TABLE person DROP COLUMN deregistered;" \
    "UPDATE meta SET value = '8' WHERE key = 'schema_version';"

/* Version 8 -> 7: no privacy consents. */
#define DIR_RAW_TO_V7 \
    DIR_RAW_TO_V8 \
    "DROP TABLE privacy_consent;" \
    "UPDATE meta SET value = '7' WHERE key = 'schema_version';"

/* Version 7 -> 6: persons without their origin. */
#define DIR_RAW_TO_V6 \
    DIR_RAW_TO_V7 \
    "ALTER TABLE person DROP COLUMN origin;" \
    "UPDATE meta SET value = '6' WHERE key = 'schema_version';"

/* Version 6 -> 5: mandate without unit and position, no staff relations. */
#define DIR_RAW_TO_V5 \
    DIR_RAW_TO_V6 \
    "DELETE FROM mandate WHERE role = 'staff';" \
    "CREATE TABLE mandate_v5 (id TEXT PRIMARY KEY," \
    " person_uid TEXT NOT NULL REFERENCES person(uid)," \
    " org_uid TEXT NOT NULL REFERENCES org(uid)," \
    " role TEXT NOT NULL CHECK (role IN ('legal_rep', 'agent', 'admin'))," \
    " granted_by TEXT, not_before INTEGER NOT NULL, until INTEGER NOT NULL DEFAULT 0," \
    " scopes TEXT, created INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0," \
    " CHECK (until = 0 OR until > not_before));" \
    "INSERT INTO mandate_v5 SELECT id, person_uid, org_uid, role, granted_by, not_before," \
    " until, scopes, created, revoked FROM mandate;" \
    "DROP TABLE mandate; ALTER TABLE mandate_v5 RENAME TO mandate;" \
    "CREATE INDEX mandate_person ON mandate(person_uid);" \
    "CREATE INDEX mandate_org ON mandate(org_uid);" \
    "CREATE UNIQUE INDEX mandate_one_legal_rep ON mandate(org_uid)" \
    " WHERE role = 'legal_rep' AND revoked = 0;" \
    "UPDATE meta SET value = '5' WHERE key = 'schema_version';"

/* Version 5 -> 4: no subject_pin table. */
#define DIR_RAW_TO_V4 \
    DIR_RAW_TO_V5 \
    "DROP TABLE subject_pin;" \
    "UPDATE meta SET value = '4' WHERE key = 'schema_version';"

/* Version 4 -> 3: org and mandate as version 3 had them (the legal_rep relations
 * dropped, a revoked organization disabled), no org_history. */
#define DIR_RAW_TO_V3 \
    DIR_RAW_TO_V4 \
    "DROP TABLE org_history; DROP INDEX org_created;" \
    "CREATE TABLE org_v3 (uid TEXT PRIMARY KEY REFERENCES entity(uid)," \
    " uscc TEXT UNIQUE, org_code TEXT NOT NULL UNIQUE, name TEXT NOT NULL," \
    " legal_rep_uid TEXT REFERENCES person(uid)," \
    " status TEXT NOT NULL CHECK (status IN ('active','disabled','locked','deregistered'))," \
    " created INTEGER NOT NULL, updated INTEGER NOT NULL);" \
    "INSERT INTO org_v3 SELECT uid, uscc, org_code, name, legal_rep_uid," \
    " CASE status WHEN 'revoked' THEN 'disabled' ELSE status END, created, updated FROM org;" \
    "CREATE TABLE mandate_v3 (id TEXT PRIMARY KEY," \
    " person_uid TEXT NOT NULL REFERENCES person(uid)," \
    " org_uid TEXT NOT NULL REFERENCES org_v3(uid), role TEXT NOT NULL, granted_by TEXT," \
    " expires INTEGER NOT NULL, created INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);" \
    "INSERT INTO mandate_v3 SELECT id, person_uid, org_uid, role, granted_by, until, created," \
    " revoked FROM mandate WHERE role <> 'legal_rep';" \
    "DROP TABLE mandate; DROP TABLE org;" \
    "ALTER TABLE org_v3 RENAME TO org; ALTER TABLE mandate_v3 RENAME TO mandate;" \
    "CREATE INDEX mandate_person ON mandate(person_uid);" \
    "CREATE INDEX mandate_org ON mandate(org_uid);" \
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

/* Runs SQL on the database file at path (another connection, foreign keys on) and
 * returns SQLite's result code: for checks that the schema refuses a write. */
static int __attribute__((unused))
raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	int rc;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	rc = sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
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
