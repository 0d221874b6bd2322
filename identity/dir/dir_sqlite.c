/*
 * The SQLite directory backend: one file (created 0600), WAL mode, a busy timeout for
 * other processes, foreign keys on, secure_delete on, every statement prepared once
 * with bound parameters and cached. One connection per struct dir, serialized by a
 * mutex.
 *
 * A write returns 0 only once it is committed (synchronous = FULL: the WAL is fsync'd).
 * Outside bulk mode every write leaves the connection in autocommit: when a commit fails
 * (SQLITE_FULL: the disk is full) SQLite may keep the transaction open, as it does for a
 * failed RELEASE of the outermost savepoint, and a transaction left open would take every
 * later write with it (each then "succeeds" without ever being committed, and other
 * processes find the database locked); so the write rolls it back and fails (sq_wend).
 * A full disk is YH_ERR_NOSPACE.
 *
 * The schema is identity/dir/sql/schema.sql, compiled in (identity/dir/sql_gen.h). Its
 * version lives in the meta table; opening a store of an older version migrates it
 * (sq_migrate, one file sql/migrate_N.sql per step), so existing databases keep working:
 *   1  the first schema
 *   2  adds the consent table (scopes a person allowed an app)
 *   3  adds person.phone_verified; only verified phones are indexed for lookup
 *   4  organizations as legal persons: kind, authority, establishment date, their own
 *      statuses; mandate becomes the relation (legal_rep, agent, admin) with a validity
 *      period and scopes; the org_history table
 *   5  adds the subject_pin table (an app's sub for a person, kept across a re-key)
 *   6  the staff relation (a person working for a government agency) with its unit and
 *      position
 *   7..10 see sql/migrate_N.sql
 *   11 the console permissions of a staff relation (console_role)
 *   12 the person each upstream identity provider's subject logged in as (upstream_link)
 *   13 the folded name name search matches (person.name_key)
 *   14 certificates bound to a person (cert_binding)
 *   15 a person's origin may be 'cert' (cert.auto_register)
 * The statements the code runs (sq_sql, rekey_sql) stay here, next to the code that
 * binds their parameters and reads their columns.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>

#include "common/atomicfile.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/secmem.h"
#include "identity/dir/dir_sqlite.h"
#include "identity/dir/sql_gen.h"

#define SQ_BUSY_TIMEOUT_MS 5000

#define PERSON_COLS "uid, id_sealed, id_index, name, phone_sealed, phone_index, email," \
	" username, loa, loa_method, loa_by, loa_evidence, loa_at, status, created, updated," \
	" phone_verified, origin"
#define ORG_COLS "uid, uscc, org_code, name, legal_rep_uid, status, created, updated," \
	" kind, authority, established"
#define MANDATE_COLS "id, person_uid, org_uid, role, granted_by, not_before, until," \
	" scopes, created, revoked, unit, position"
#define MANDATE_MCOLS "m.id, m.person_uid, m.org_uid, m.role, m.granted_by," \
	" m.not_before, m.until, m.scopes, m.created, m.revoked, m.unit, m.position"
#define LEGACY_COLS "owner_uid, source, legacy_id, username, status, created"
#define CASE_COLS "id, reason, state, body_sealed, created, decided_by, note, decided_at," \
	" merged_uid, used, created_person"
/* The accounts of case ?1 that a merge linked to ?2. */
#define CASE_MEMBERS_OF "owner_uid = ?2 AND (source, legacy_id) IN" \
	" (SELECT source, legacy_id FROM review_member WHERE case_id = ?1)"

enum sq_stmt {
	ST_SAVEPOINT, ST_RELEASE, ST_ROLLBACK, ST_PING,
	ST_META_GET, ST_META_SET, ST_ENTITY_ADD,
	ST_PERSON_ADD, ST_PERSON_UPDATE, ST_PERSON_BY_UID, ST_PERSON_BY_ID_INDEX,
	ST_PERSON_BY_PHONE, ST_PERSON_BY_USERNAME, ST_PERSON_BY_LEGACY, ST_PERSON_STATUS,
	ST_PERSON_LOA_GET, ST_PERSON_LOA_SET, ST_LOA_EVENT, ST_PERSON_LIST, ST_PERSON_COUNT,
	ST_ORG_ADD, ST_ORG_UPDATE, ST_ORG_BY_UID, ST_ORG_BY_USCC, ST_ORG_BY_CODE, ST_ORG_STATUS,
	ST_ORG_LIST, ST_ORG_HIST_ADD, ST_ORG_HIST_LIST, ST_REP_END, ST_REP_BEGIN,
	ST_MANDATE_ADD, ST_MANDATE_GET, ST_MANDATE_BY_PERSON, ST_MANDATE_BY_ORG,
	ST_MANDATE_REVOKE, ST_MANDATE_END,
	ST_LEGACY_ADD, ST_LEGACY_GET, ST_LEGACY_LIST, ST_LEGACY_FIND_USER, ST_LEGACY_REMOVE,
	ST_LEGACY_OF_OWNER,
	ST_CRED_GET, ST_CRED_SET,
	ST_TOTP_SET, ST_TOTP_CONFIRM, ST_TOTP_GET, ST_TOTP_CONSUME, ST_TOTP_DELETE,
	ST_CONSENT_ADD, ST_CONSENT_COUNT, ST_CONSENT_GET, ST_CONSENT_LIST, ST_CONSENT_REMOVE,
	ST_PIN_ADD, ST_PIN_FIND,
	ST_PRIVACY_ADD, ST_PRIVACY_LIST,
	ST_CASE_ADD, ST_CASE_MEMBER_ADD, ST_CASE_MEMBER_GET, ST_CASE_GET, ST_CASE_LIST,
	ST_CASE_DECIDE, ST_CASE_UNLINK, ST_CASE_UNCRED, ST_CASE_REOPEN, ST_CASE_USED_FIND,
	ST_CASE_USED_SET, ST_LCRED_ADD, ST_LCRED_LIST, ST_MANDATE_IMPORT,
	ST_CONSOLE_SET, ST_CONSOLE_DEL, ST_CONSOLE_GET,
	ST_ULINK_ADD, ST_ULINK_GET, ST_ULINK_LIST, ST_CERT_BIND, ST_CERT_LIST, ST_CERT_UNBIND,
	ST_COUNT
};

/* A relation current at ?2 (struct dir_mandate), or any relation when ?2 is 0. */
#define MANDATE_CURRENT "(?2 = 0 OR (m.revoked = 0 AND m.not_before <= ?2 AND" \
	" (m.until = 0 OR m.until > ?2) AND p.status = 'active' AND o.status = 'active'))"
#define MANDATE_JOIN " FROM mandate m JOIN person p ON p.uid = m.person_uid" \
	" JOIN org o ON o.uid = m.org_uid"

static const char *const sq_sql[ST_COUNT] = {
	[ST_SAVEPOINT] = "SAVEPOINT dirop",
	[ST_RELEASE] = "RELEASE dirop",
	[ST_ROLLBACK] = "ROLLBACK TO dirop",
	[ST_PING] = "SELECT 1",
	[ST_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[ST_META_SET] = "INSERT INTO meta (key, value) VALUES (?1, ?2)"
	    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	[ST_ENTITY_ADD] = "INSERT INTO entity (uid, kind) VALUES (?1, ?2)",
	[ST_PERSON_ADD] = "INSERT INTO person (" PERSON_COLS ", name_key) VALUES"
	    " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,"
	    " ?19)",
	[ST_PERSON_UPDATE] = "UPDATE person SET name = ?2, phone_sealed = ?3,"
	    " phone_index = ?4, email = ?5, username = ?6, updated = ?7, phone_verified = ?8,"
	    " name_key = ?9 WHERE uid = ?1",
	[ST_PERSON_BY_UID] = "SELECT " PERSON_COLS " FROM person WHERE uid = ?1",
	[ST_PERSON_BY_ID_INDEX] = "SELECT " PERSON_COLS " FROM person WHERE id_index = ?1",
	[ST_PERSON_BY_PHONE] = "SELECT " PERSON_COLS " FROM person WHERE phone_index = ?1"
	    " AND phone_verified = 1 LIMIT 2",
	[ST_PERSON_BY_USERNAME] = "SELECT " PERSON_COLS " FROM person WHERE username = ?1",
	[ST_PERSON_BY_LEGACY] = "SELECT " PERSON_COLS " FROM person WHERE uid IN"
	    " (SELECT owner_uid FROM legacy_link WHERE username = ?1"
	    " AND (?2 IS NULL OR source = ?2)) LIMIT 2",
	/* deregistration is final: a closed account is never locked, unlocked or reopened;
	 * its time is recorded once */
	[ST_PERSON_STATUS] = "UPDATE person SET status = ?2, updated = ?3,"
	    " deregistered = CASE WHEN ?2 = 'deregistered' THEN coalesce(deregistered, ?3) END"
	    " WHERE uid = ?1 AND (status != 'deregistered' OR ?2 = 'deregistered')",
	[ST_PERSON_LOA_GET] = "SELECT loa, status = 'deregistered' FROM person WHERE uid = ?1",
	[ST_PERSON_LOA_SET] = "UPDATE person SET loa = ?2, loa_method = ?3, loa_by = ?4,"
	    " loa_evidence = ?5, loa_at = ?6, updated = ?7 WHERE uid = ?1",
	[ST_LOA_EVENT] = "INSERT INTO loa_event (person_uid, loa, method, verifier, evidence,"
	    " at, applied) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_PERSON_LIST] = "SELECT " PERSON_COLS " FROM person ORDER BY created, uid"
	    " LIMIT ?1 OFFSET ?2",
	[ST_PERSON_COUNT] = "SELECT count(*) FROM person",
	[ST_ORG_ADD] = "INSERT INTO org (" ORG_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
	    " ?8, ?9, ?10, ?11)",
	[ST_ORG_UPDATE] = "UPDATE org SET name = ?2, legal_rep_uid = ?3, uscc = ?4,"
	    " updated = ?5, kind = ?6, authority = ?7, established = ?8 WHERE uid = ?1",
	[ST_ORG_BY_UID] = "SELECT " ORG_COLS " FROM org WHERE uid = ?1",
	[ST_ORG_BY_USCC] = "SELECT " ORG_COLS " FROM org WHERE uscc = ?1",
	[ST_ORG_BY_CODE] = "SELECT " ORG_COLS " FROM org WHERE org_code = ?1",
	[ST_ORG_STATUS] = "UPDATE org SET status = ?2, updated = ?3 WHERE uid = ?1",
	[ST_ORG_LIST] = "SELECT " ORG_COLS " FROM org ORDER BY created, uid"
	    " LIMIT ?1 OFFSET ?2",
	[ST_ORG_HIST_ADD] = "INSERT INTO org_history (org_uid, field, old_value, new_value,"
	    " actor, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_ORG_HIST_LIST] = "SELECT field, old_value, new_value, actor, at FROM org_history"
	    " WHERE org_uid = ?1 ORDER BY id LIMIT ?2",
	[ST_REP_END] = "UPDATE mandate SET revoked = ?2 WHERE org_uid = ?1"
	    " AND role = 'legal_rep' AND revoked = 0",
	[ST_REP_BEGIN] = "INSERT INTO mandate (" MANDATE_COLS ") VALUES"
	    " (lower(hex(randomblob(16))), ?1, ?2, 'legal_rep', ?3, ?4, 0, NULL, ?4, 0, NULL,"
	    " NULL)",
	[ST_MANDATE_ADD] = "INSERT INTO mandate (" MANDATE_COLS ") SELECT"
	    " ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, ?10, ?11 WHERE NOT EXISTS"
	    " (SELECT 1 FROM mandate WHERE org_uid = ?3 AND person_uid = ?2 AND role = ?4 AND revoked = 0"
	    " AND (until = 0 OR until > ?9))",
	[ST_MANDATE_GET] = "SELECT " MANDATE_MCOLS " FROM mandate m WHERE m.id = ?1",
	[ST_MANDATE_BY_PERSON] = "SELECT " MANDATE_MCOLS MANDATE_JOIN " WHERE"
	    " m.person_uid = ?1 AND " MANDATE_CURRENT " ORDER BY m.created, m.id LIMIT ?3",
	[ST_MANDATE_BY_ORG] = "SELECT " MANDATE_MCOLS MANDATE_JOIN " WHERE"
	    " m.org_uid = ?1 AND " MANDATE_CURRENT " ORDER BY m.created, m.id LIMIT ?3",
	[ST_MANDATE_REVOKE] = "UPDATE mandate SET revoked = ?2 WHERE id = ?1 AND revoked = 0",
	[ST_MANDATE_END] = "UPDATE mandate SET revoked = ?4 WHERE org_uid = ?1"
	    " AND person_uid = ?2 AND role = ?3 AND revoked = 0",
	[ST_LEGACY_ADD] = "INSERT INTO legacy_link (" LEGACY_COLS ") VALUES"
	    " (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_LEGACY_GET] = "SELECT " LEGACY_COLS " FROM legacy_link WHERE source = ?1"
	    " AND legacy_id = ?2",
	[ST_LEGACY_LIST] = "SELECT " LEGACY_COLS " FROM legacy_link WHERE owner_uid = ?1"
	    " ORDER BY source, legacy_id LIMIT ?2",
	[ST_LEGACY_FIND_USER] = "SELECT DISTINCT owner_uid FROM legacy_link WHERE"
	    " username = ?1 AND (?2 IS NULL OR source = ?2) LIMIT 2",
	[ST_LEGACY_REMOVE] = "DELETE FROM legacy_link WHERE source = ?1 AND legacy_id = ?2",
	[ST_LEGACY_OF_OWNER] = "SELECT " LEGACY_COLS " FROM legacy_link WHERE owner_uid = ?1"
	    " AND source = ?2 AND status = 'active' ORDER BY legacy_id LIMIT 1",
	[ST_CRED_GET] = "SELECT scheme, hash, salt, updated FROM credential WHERE owner_uid = ?1",
	[ST_CRED_SET] = "INSERT INTO credential (owner_uid, scheme, hash, salt, updated)"
	    " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (owner_uid) DO UPDATE SET"
	    " scheme = excluded.scheme, hash = excluded.hash, salt = excluded.salt,"
	    " updated = excluded.updated",
	[ST_TOTP_SET] = "INSERT INTO totp (owner_uid, seed_sealed, confirmed, last_step,"
	    " created) VALUES (?1, ?2, ?3, -1, ?4) ON CONFLICT (owner_uid) DO UPDATE SET"
	    " seed_sealed = excluded.seed_sealed, confirmed = excluded.confirmed,"
	    " last_step = -1, created = excluded.created",
	[ST_TOTP_CONFIRM] = "UPDATE totp SET confirmed = 1 WHERE owner_uid = ?1",
	[ST_TOTP_GET] = "SELECT seed_sealed, confirmed, last_step, created FROM totp"
	    " WHERE owner_uid = ?1",
	[ST_TOTP_CONSUME] = "UPDATE totp SET last_step = ?2 WHERE owner_uid = ?1"
	    " AND last_step < ?2",
	[ST_TOTP_DELETE] = "DELETE FROM totp WHERE owner_uid = ?1",
	[ST_CONSENT_ADD] = "INSERT INTO consent (owner_uid, client_id, scope, granted)"
	    " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (owner_uid, client_id, scope) DO NOTHING",
	[ST_CONSENT_COUNT] = "SELECT count(*) FROM consent WHERE owner_uid = ?1"
	    " AND client_id = ?2",
	[ST_CONSENT_GET] = "SELECT client_id, scope, granted FROM consent WHERE"
	    " owner_uid = ?1 AND client_id = ?2 ORDER BY scope",
	[ST_CONSENT_LIST] = "SELECT client_id, scope, granted FROM consent WHERE"
	    " owner_uid = ?1 ORDER BY client_id, scope",
	[ST_CONSENT_REMOVE] = "DELETE FROM consent WHERE owner_uid = ?1 AND client_id = ?2",
	/* A pin never changes: the first one recorded for (uid, sector) stays. */
	[ST_PIN_ADD] = "INSERT INTO subject_pin (uid, sector, sub) VALUES (?1, ?2, ?3)"
	    " ON CONFLICT (uid, sector) DO NOTHING",
	[ST_PIN_FIND] = "SELECT sub FROM subject_pin WHERE uid = ?1 AND sector = ?2",
	[ST_PRIVACY_ADD] = "INSERT INTO privacy_consent (person_uid, purpose, notice_version,"
	    " notice_sha256, via, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_PRIVACY_LIST] = "SELECT purpose, notice_version, notice_sha256, via, at FROM"
	    " privacy_consent WHERE person_uid = ?1 ORDER BY id LIMIT ?2",
	[ST_CASE_ADD] = "INSERT INTO review_case (id, reason, state, body_sealed, created)"
	    " VALUES (?1, ?2, 'open', ?3, ?4)",
	[ST_CASE_MEMBER_ADD] = "INSERT INTO review_member (source, legacy_id, case_id)"
	    " VALUES (?1, ?2, ?3)",
	[ST_CASE_MEMBER_GET] = "SELECT case_id FROM review_member WHERE source = ?1"
	    " AND legacy_id = ?2",
	[ST_CASE_GET] = "SELECT " CASE_COLS " FROM review_case WHERE id = ?1",
	[ST_CASE_LIST] = "SELECT " CASE_COLS " FROM review_case WHERE (?1 IS NULL OR"
	    " state = ?1) AND (?2 IS NULL OR reason = ?2) AND id > ?3 ORDER BY id LIMIT ?4",
	[ST_CASE_DECIDE] = "UPDATE review_case SET state = ?2, decided_by = ?3, note = ?4,"
	    " decided_at = ?5, merged_uid = ?6, used = NULL, created_person = ?7"
	    " WHERE id = ?1 AND state = 'open'",
	[ST_CASE_UNLINK] = "DELETE FROM legacy_link WHERE " CASE_MEMBERS_OF,
	[ST_CASE_UNCRED] = "DELETE FROM legacy_cred WHERE " CASE_MEMBERS_OF,
	[ST_CASE_REOPEN] = "UPDATE review_case SET state = 'open', decided_by = NULL,"
	    " note = NULL, decided_at = NULL, merged_uid = NULL, used = NULL,"
	    " created_person = 0 WHERE id = ?1",
	[ST_CASE_USED_FIND] = "SELECT 1 FROM review_case WHERE merged_uid = ?1"
	    " AND state = 'merged' AND used IS NULL LIMIT 1",
	[ST_CASE_USED_SET] = "UPDATE review_case SET used = ?2 WHERE merged_uid = ?1"
	    " AND state = 'merged' AND used IS NULL",
	[ST_LCRED_ADD] = "INSERT INTO legacy_cred (source, legacy_id, owner_uid, scheme, hash,"
	    " salt) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_MANDATE_IMPORT] = "INSERT INTO mandate (" MANDATE_COLS ") VALUES (?1, ?2, ?3,"
	    " ?4, ?5, ?6, ?7, ?8, ?9, ?12, ?10, ?11)",
	[ST_LCRED_LIST] = "SELECT scheme, hash, salt FROM legacy_cred WHERE owner_uid = ?1"
	    " ORDER BY source, legacy_id LIMIT 16",
	[ST_CONSOLE_SET] = "INSERT INTO console_role (mandate_id, perms, granted_by, updated)"
	    " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (mandate_id) DO UPDATE SET perms = ?2,"
	    " granted_by = ?3, updated = ?4",
	[ST_CONSOLE_DEL] = "DELETE FROM console_role WHERE mandate_id = ?1",
	[ST_CONSOLE_GET] = "SELECT perms FROM console_role WHERE mandate_id = ?1",
	[ST_ULINK_ADD] = "INSERT INTO upstream_link (upstream, sub, uid, created)"
	    " VALUES (?1, ?2, ?3, ?4)",
	[ST_ULINK_GET] = "SELECT uid FROM upstream_link WHERE upstream = ?1 AND sub = ?2",
	[ST_ULINK_LIST] = "SELECT upstream, sub, created FROM upstream_link WHERE uid = ?1"
	    " ORDER BY created, upstream, sub",
	[ST_CERT_BIND] = "INSERT INTO cert_binding (id, uid, issuer, serial, key_sha256, created)"
	    " SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM person WHERE uid = ?2)",
	[ST_CERT_LIST] = "SELECT id, uid, issuer, serial, key_sha256, created FROM cert_binding"
	    " WHERE uid = ?1 ORDER BY created, id",
	[ST_CERT_UNBIND] = "DELETE FROM cert_binding WHERE uid = ?1 AND id = ?2",
};

struct sq {
	sqlite3 *db;
	pthread_mutex_t mu;
	bool bulk;
	int bulk_err;  /* why SQLite ended the bulk transaction early (0: it is open) */
	char *path;
	dev_t dev;   /* the database file as opened: a ping notices when the path */
	ino_t ino;   /* no longer leads to it */
	sqlite3_stmt *st[ST_COUNT];
};

/* ---- statement helpers (called with the mutex held) ---- */

/* True when a failed call ran out of space: SQLITE_FULL (SQLite's word for ENOSPC), or
 * an I/O error whose errno says the disk or the quota is full. */
static bool
sq_nospace(struct sq *s, int rc)
{
	if ((rc & 0xff) == SQLITE_FULL)
		return true;
	return (rc & 0xff) == SQLITE_IOERR &&
	    yh_err_from_errno(sqlite3_system_errno(s->db)) == YH_ERR_NOSPACE;
}

static int
sq_map(struct sq *s, int rc, const char *what)
{
	switch (rc) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return YH_ERR_EXISTS;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return YH_ERR_NOT_FOUND;
	case SQLITE_CONSTRAINT_CHECK:
	case SQLITE_CONSTRAINT_NOTNULL:
		return YH_ERR_INVALID;
	default:
		break;
	}
	if (sq_nospace(s, rc)) {
		yh_error("sqlite %s (%s): %s (%s)", what, s->path, yh_strerror(YH_ERR_NOSPACE),
		    sqlite3_errmsg(s->db));
		return YH_ERR_NOSPACE;
	}
	yh_error("sqlite %s (%s): %s", what, s->path, sqlite3_errmsg(s->db));
	if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
		return YH_ERR_BUSY;
	return YH_ERR_DB;
}

/* The cached prepared statement id, reset and unbound; NULL (logged) on failure. */
static sqlite3_stmt *
sq_get(struct sq *s, enum sq_stmt id)
{
	if (s->st[id] == NULL && sqlite3_prepare_v3(s->db, sq_sql[id], -1,
	    SQLITE_PREPARE_PERSISTENT, &s->st[id], NULL) != SQLITE_OK) {
		yh_error("sqlite prepare (%s): %s", s->path, sqlite3_errmsg(s->db));
		s->st[id] = NULL;
	}
	return s->st[id];
}

static void
sq_done(sqlite3_stmt *st)
{
	if (st != NULL) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
}

/* Binds text, NULL for a NULL pointer. */
static int
bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v == NULL)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

/* Binds text, NULL for a NULL pointer or "". */
static int
bind_opt(sqlite3_stmt *st, int i, const char *v)
{
	return bind_text(st, i, v != NULL && v[0] != '\0' ? v : NULL);
}

/* Runs a statement that returns no rows. */
static int
sq_exec(struct sq *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_DONE)
		return 0;
	return sq_map(s, rc, what);
}

/* One step: 1 for a row, 0 when done, or an error. */
static int
sq_row(struct sq *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return sq_map(s, rc, what);
}

static int
col_str(sqlite3_stmt *st, int i, char **out)
{
	const unsigned char *t;

	*out = NULL;
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return 0;
	if ((t = sqlite3_column_text(st, i)) == NULL)
		return YH_ERR_ALLOC;
	if ((*out = strdup((const char *)t)) == NULL)
		return YH_ERR_ALLOC;
	return 0;
}

/* Copies a text column into a fixed buffer ("" for NULL). */
static int
col_fixed(sqlite3_stmt *st, int i, char *out, size_t outsz)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	if (t == NULL) {
		out[0] = '\0';
		return 0;
	}
	return yh_strlcpy(out, (const char *)t, outsz) == 0 ? 0 : YH_ERR_DB;
}

static int
col_status(sqlite3_stmt *st, int i, enum dir_status *out)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	if (t == NULL || dir_status_parse((const char *)t, out) != 0)
		return YH_ERR_DB;
	return 0;
}

/* Runs one cached statement that returns no rows, with text parameters ?1 = p1 and
 * ?2 = p2 where they are not NULL. */
static int
sq_run(struct sq *s, enum sq_stmt id, const char *what, const char *p1, const char *p2)
{
	sqlite3_stmt *st = sq_get(s, id);
	int r;

	if (st == NULL)
		return YH_ERR_DB;
	if (p1 != NULL)
		bind_text(st, 1, p1);
	if (p2 != NULL)
		bind_text(st, 2, p2);
	r = sq_exec(s, st, what);
	sq_done(st);
	return r;
}

/*
 * Rolls the whole transaction back (ROLLBACK, not ROLLBACK TO: the outermost savepoint
 * could not be released, or a write left the connection in a transaction) and checks
 * that the connection is in autocommit again. In bulk mode this ends the bulk group,
 * which is recorded. Returns e, or YH_ERR_DB when e is 0 (nothing was committed).
 */
static int
sq_abort(struct sq *s, int e)
{
	char *msg = NULL;

	if (e == 0)
		e = YH_ERR_DB;
	if (!sqlite3_get_autocommit(s->db) &&
	    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, &msg) != SQLITE_OK)
		yh_error("sqlite rollback (%s): %s", s->path, msg != NULL ? msg : "?");
	sqlite3_free(msg);
	if (!sqlite3_get_autocommit(s->db))
		yh_error("sqlite (%s): still in a transaction after ROLLBACK", s->path);
	if (s->bulk && s->bulk_err == 0)
		s->bulk_err = e;
	return e;
}

/* Savepoints make a multi-statement operation atomic inside or outside bulk mode. */
static int
sp_begin(struct sq *s)
{
	return sq_run(s, ST_SAVEPOINT, "savepoint", NULL, NULL);
}

/*
 * Ends the savepoint: releases it when the operation succeeded (r == 0), else rolls it
 * back to where it began. Releasing the outermost savepoint is the commit; when that
 * fails (the disk full) SQLite keeps the transaction open, so it is rolled back whole;
 * so is one whose ROLLBACK TO failed, which must not be released with half its work.
 */
static int
sp_end(struct sq *s, int r)
{
	if (r == 0) {
		if ((r = sq_run(s, ST_RELEASE, "release", NULL, NULL)) != 0)
			return sq_abort(s, r);
		return 0;
	}
	if (sq_run(s, ST_ROLLBACK, "rollback to", NULL, NULL) != 0 ||
	    sq_run(s, ST_RELEASE, "release", NULL, NULL) != 0)
		return sq_abort(s, r);
	return r;
}

#define LOCK(s) pthread_mutex_lock(&(s)->mu)
#define UNLOCK(s) pthread_mutex_unlock(&(s)->mu)

/*
 * Takes the connection for a write. In bulk mode the write joins the group's
 * transaction; once SQLite has ended that transaction on an error (a statement that
 * failed for want of space rolls the whole group back), later writes are refused with
 * that error: on their own they would commit one by one, without the rest of the group.
 * Call sq_wend after, whatever this returned.
 */
static int
sq_wbegin(struct sq *s)
{
	LOCK(s);
	if (s->bulk && s->bulk_err == 0 && sqlite3_get_autocommit(s->db))
		s->bulk_err = YH_ERR_DB;
	return s->bulk ? s->bulk_err : 0;
}

/* sq_wbegin, then the cached statement id in *st (NULL on error). Call sq_done(*st) and
 * sq_wend after, whatever this returned. */
static int
sq_wstmt(struct sq *s, enum sq_stmt id, sqlite3_stmt **st)
{
	int e;

	*st = NULL;
	if ((e = sq_wbegin(s)) != 0)
		return e;
	return (*st = sq_get(s, id)) != NULL ? 0 : YH_ERR_DB;
}

/*
 * Ends a write begun with sq_wbegin and releases the connection; e is its result.
 * Outside bulk mode the connection must be in autocommit now: a transaction the write
 * left open is rolled back and the write fails. In bulk mode, notes a group SQLite
 * rolled back. Returns the write's result.
 */
static int
sq_wend(struct sq *s, int e)
{
	bool autocommit = sqlite3_get_autocommit(s->db) != 0;

	if (!s->bulk && !autocommit) {
		yh_error("sqlite (%s): a write left its transaction open; rolling it back",
		    s->path);
		e = sq_abort(s, e);
	} else if (s->bulk && autocommit && s->bulk_err == 0) {
		yh_error("sqlite (%s): a write failed and SQLite rolled the bulk transaction "
		    "back", s->path);
		e = sq_abort(s, e);
	}
	UNLOCK(s);
	return e;
}

/* ---- rows ---- */

static int
read_person(sqlite3_stmt *st, struct dir_person_rec *r)
{
	struct dir_person *p = &r->p;
	int e = 0;

	memset(r, 0, sizeof(*r));
	e = e ? e : col_fixed(st, 0, p->uid, sizeof(p->uid));
	e = e ? e : col_str(st, 1, &p->id_number);
	e = e ? e : col_fixed(st, 2, r->id_index, sizeof(r->id_index));
	e = e ? e : col_str(st, 3, &p->name);
	e = e ? e : col_str(st, 4, &p->phone);
	e = e ? e : col_fixed(st, 5, r->phone_index, sizeof(r->phone_index));
	e = e ? e : col_str(st, 6, &p->email);
	e = e ? e : col_str(st, 7, &p->username);
	p->loa.level = sqlite3_column_int(st, 8);
	e = e ? e : col_str(st, 9, &p->loa.method);
	e = e ? e : col_str(st, 10, &p->loa.by);
	e = e ? e : col_str(st, 11, &p->loa.evidence);
	p->loa.at = sqlite3_column_int64(st, 12);
	e = e ? e : col_status(st, 13, &p->status);
	p->created = sqlite3_column_int64(st, 14);
	p->updated = sqlite3_column_int64(st, 15);
	p->phone_verified = p->phone != NULL && sqlite3_column_int(st, 16) == 1;
	e = e ? e : col_str(st, 17, &p->origin);
	if (e == 0 && p->id_number == NULL)
		e = YH_ERR_DB;
	if (e != 0)
		dir_person_rec_clear(r);
	return e;
}

static int
read_org(sqlite3_stmt *st, struct dir_org *o)
{
	const unsigned char *t;
	int e = 0;

	memset(o, 0, sizeof(*o));
	e = e ? e : col_fixed(st, 0, o->uid, sizeof(o->uid));
	e = e ? e : col_str(st, 1, &o->uscc);
	e = e ? e : col_str(st, 2, &o->org_code);
	e = e ? e : col_str(st, 3, &o->name);
	e = e ? e : col_fixed(st, 4, o->legal_rep_uid, sizeof(o->legal_rep_uid));
	e = e ? e : col_status(st, 5, &o->status);
	o->created = sqlite3_column_int64(st, 6);
	o->updated = sqlite3_column_int64(st, 7);
	t = sqlite3_column_text(st, 8);
	if (e == 0 && (t == NULL || idn_org_kind_parse((const char *)t, &o->kind) != 0))
		e = YH_ERR_DB;
	e = e ? e : col_str(st, 9, &o->authority);
	e = e ? e : col_str(st, 10, &o->established);
	if (e != 0)
		dir_org_clear(o);
	return e;
}

static int
read_mandate(sqlite3_stmt *st, struct dir_mandate *m)
{
	int e = 0;

	memset(m, 0, sizeof(*m));
	e = e ? e : col_fixed(st, 0, m->id, sizeof(m->id));
	e = e ? e : col_fixed(st, 1, m->person_uid, sizeof(m->person_uid));
	e = e ? e : col_fixed(st, 2, m->org_uid, sizeof(m->org_uid));
	e = e ? e : col_str(st, 3, &m->role);
	e = e ? e : col_str(st, 4, &m->granted_by);
	m->not_before = sqlite3_column_int64(st, 5);
	m->until = sqlite3_column_int64(st, 6);
	e = e ? e : col_str(st, 7, &m->scopes);
	m->created = sqlite3_column_int64(st, 8);
	m->revoked = sqlite3_column_int64(st, 9);
	e = e ? e : col_str(st, 10, &m->unit);
	e = e ? e : col_str(st, 11, &m->position);
	if (e != 0)
		dir_mandate_clear(m);
	return e;
}

static int
read_legacy(sqlite3_stmt *st, struct dir_legacy *l)
{
	int e = 0;

	memset(l, 0, sizeof(*l));
	e = e ? e : col_fixed(st, 0, l->owner_uid, sizeof(l->owner_uid));
	e = e ? e : col_str(st, 1, &l->source);
	e = e ? e : col_str(st, 2, &l->legacy_id);
	e = e ? e : col_str(st, 3, &l->username);
	e = e ? e : col_status(st, 4, &l->status);
	l->created = sqlite3_column_int64(st, 5);
	if (e != 0)
		dir_legacy_clear(l);
	return e;
}

/* Collects up to max rows of a prepared statement into a malloc'd array of elemsz-byte
 * elements read by fn; clear frees one element. */
static int
collect(struct sq *s, sqlite3_stmt *st, size_t elemsz, size_t max,
    int (*fn)(sqlite3_stmt *, void *), void (*clear)(void *), void **out, size_t *n)
{
	char *arr = NULL, *grown;
	size_t cnt = 0, cap = 0;
	int r;

	while ((r = sq_row(s, st, "list")) == 1) {
		if (cnt == max) {
			r = 0;
			break;
		}
		if (cnt == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			if ((grown = realloc(arr, cap * elemsz)) == NULL) {
				r = YH_ERR_ALLOC;
				break;
			}
			arr = grown;
		}
		if ((r = fn(st, arr + cnt * elemsz)) != 0)
			break;
		cnt++;
	}
	if (r != 0) {
		for (size_t i = 0; i < cnt; i++)
			clear(arr + i * elemsz);
		free(arr);
		return r;
	}
	*out = arr;
	*n = cnt;
	return 0;
}

static int read_person_v(sqlite3_stmt *st, void *p) { return read_person(st, p); }
static void clear_person_v(void *p) { dir_person_rec_clear(p); }
static int read_mandate_v(sqlite3_stmt *st, void *p) { return read_mandate(st, p); }
static int read_org_v(sqlite3_stmt *st, void *p) { return read_org(st, p); }
static void clear_org_v(void *p) { dir_org_clear(p); }
static void clear_mandate_v(void *p) { dir_mandate_clear(p); }
static int read_legacy_v(sqlite3_stmt *st, void *p) { return read_legacy(st, p); }
static void clear_legacy_v(void *p) { dir_legacy_clear(p); }

/* ---- meta ---- */

/* A statement round trip, then the path: an open SQLite connection keeps reading and
 * writing its file after an rm, a restore over it or a lazy unmount, and what it writes
 * then is lost to the next start, so only a look at the path shows the directory gone.
 * Then the room left on its file system (yh_file_room). */
static int
sq_ping(void *be, char *why, size_t whysz)
{
	struct sq *s = be;
	sqlite3_stmt *st;
	struct stat sb;
	int r = YH_ERR_DB;

	LOCK(s);
	if ((st = sq_get(s, ST_PING)) != NULL)
		r = sq_row(s, st, "ping") == 1 ? 0 : YH_ERR_DB;
	sq_done(st);
	UNLOCK(s);
	if (r != 0) {
		snprintf(why, whysz, "the database does not answer a query");
		return r;
	}
	if (stat(s->path, &sb) != 0) {
		snprintf(why, whysz, "the database file is gone (%s)", strerror(errno));
		return YH_ERR_UNAVAILABLE;
	}
	if (sb.st_dev != s->dev || sb.st_ino != s->ino) {
		snprintf(why, whysz, "the database file was replaced since it was opened "
		    "(restart to use the new one)");
		return YH_ERR_UNAVAILABLE;
	}
	/* Reads work on a full disk; the next commit or checkpoint would not. */
	return yh_file_room(s->path, why, whysz);
}

/* Runs BEGIN IMMEDIATE or COMMIT (sqlite3_exec: nothing to bind). */
static int
sq_txn(struct sq *s, const char *sql, const char *what)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : sq_map(s, rc, what);
}

/*
 * Begins or ends bulk mode: one transaction for the writes in between. Ending it is
 * the commit; when that fails, or SQLite had already rolled the group back (sq_wbegin),
 * the group is gone, the connection is back in autocommit and the error says why.
 */
static int
sq_bulk(void *be, bool begin)
{
	struct sq *s = be;
	int r;

	LOCK(s);
	if (s->bulk == begin)
		r = YH_ERR_BUSY;
	else if (begin) {
		if ((r = sq_txn(s, "BEGIN IMMEDIATE", "begin")) == 0) {
			s->bulk = true;
			s->bulk_err = 0;
		}
	} else {
		if ((r = s->bulk_err) == 0 && sqlite3_get_autocommit(s->db))
			r = YH_ERR_DB;    /* cannot happen: sq_wend notes it */
		if (r == 0)
			r = sq_txn(s, "COMMIT", "commit");
		if (r != 0)
			r = sq_abort(s, r);
		s->bulk = false;
		s->bulk_err = 0;
	}
	UNLOCK(s);
	return r;
}

static int
sq_meta_get(void *be, const char *key, char **val)
{
	struct sq *s = be;
	sqlite3_stmt *st;
	int r = YH_ERR_DB;

	LOCK(s);
	if ((st = sq_get(s, ST_META_GET)) != NULL) {
		bind_text(st, 1, key);
		if ((r = sq_row(s, st, "meta")) == 1)
			r = col_str(st, 0, val);
		else if (r == 0)
			r = YH_ERR_NOT_FOUND;
	}
	sq_done(st);
	UNLOCK(s);
	return r;
}

static int
sq_meta_list(void *be, const char *prefix, size_t max, char ***keys, char ***vals,
    size_t *n)
{
	struct sq *s = be;
	sqlite3_stmt *st = NULL;
	char **k = NULL, **v = NULL;
	size_t cnt = 0;
	int r;

	*keys = *vals = NULL;
	*n = 0;
	if ((k = calloc(max + 1, sizeof(*k))) == NULL ||
	    (v = calloc(max + 1, sizeof(*v))) == NULL) {
		free(k);
		return YH_ERR_ALLOC;
	}
	LOCK(s);
	if (sqlite3_prepare_v2(s->db, "SELECT key, value FROM meta WHERE substr(key, 1,"
	    " length(?1)) = ?1 ORDER BY key LIMIT ?2", -1, &st, NULL) != SQLITE_OK)
		r = sq_map(s, sqlite3_errcode(s->db), "meta list");
	else {
		bind_text(st, 1, prefix);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
		while ((r = sq_row(s, st, "meta list")) == 1 && cnt < max) {
			if ((r = col_str(st, 0, &k[cnt])) != 0 || (r = col_str(st, 1, &v[cnt])) != 0)
				break;
			cnt++;
		}
	}
	sqlite3_finalize(st);
	UNLOCK(s);
	if (r != 0 || cnt == 0) {
		dir_shared_list_free(k, v, cnt + 1);   /* with a half-read last one */
		return r;
	}
	*keys = k;
	*vals = v;
	*n = cnt;
	return 0;
}

/* Sets a meta value (with the mutex held, or while opening). */
static int
meta_put(struct sq *s, const char *key, const char *val)
{
	return sq_run(s, ST_META_SET, "meta", key, val);
}

static int
sq_meta_set(void *be, const char *key, const char *val)
{
	struct sq *s = be;
	int r;

	if ((r = sq_wbegin(s)) == 0)
		r = meta_put(s, key, val);
	return sq_wend(s, r);
}

static int
entity_add(struct sq *s, const char *uid, const char *kind)
{
	return sq_run(s, ST_ENTITY_ADD, "entity add", uid, kind);
}

/* ---- persons ---- */

/* Stores (replaces) owner's credential; the caller holds the connection for a write. */
static int
cred_write(struct sq *s, const char *owner, const char *scheme, const char *hash,
    const char *salt, int64_t now)
{
	sqlite3_stmt *st = sq_get(s, ST_CRED_SET);
	int e;

	if (st == NULL)
		return YH_ERR_DB;
	bind_text(st, 1, owner);
	bind_text(st, 2, scheme);
	bind_text(st, 3, hash);
	bind_opt(st, 4, salt);
	sqlite3_bind_int64(st, 5, now);
	e = sq_exec(s, st, "cred set");
	sq_done(st);
	return e;
}

static int
person_insert(struct sq *s, const struct dir_person_rec *r)
{
	const struct dir_person *p = &r->p;
	char key[DIR_NAME_KEY_MAX + 1];
	sqlite3_stmt *st = sq_get(s, ST_PERSON_ADD);
	int e;

	if (st == NULL)
		return YH_ERR_DB;
	bind_text(st, 1, p->uid);
	bind_text(st, 2, p->id_number);
	bind_text(st, 3, r->id_index);
	bind_text(st, 4, p->name);
	bind_opt(st, 5, p->phone);
	bind_opt(st, 6, r->phone_index);
	bind_opt(st, 7, p->email);
	bind_opt(st, 8, p->username);
	sqlite3_bind_int(st, 9, p->loa.level);
	bind_text(st, 10, p->loa.method);
	bind_opt(st, 11, p->loa.by);
	bind_opt(st, 12, p->loa.evidence);
	sqlite3_bind_int64(st, 13, p->loa.at);
	bind_text(st, 14, dir_status_str(p->status));
	sqlite3_bind_int64(st, 15, p->created);
	sqlite3_bind_int64(st, 16, p->updated);
	sqlite3_bind_int(st, 17, p->phone != NULL && p->phone_verified ? 1 : 0);
	bind_opt(st, 18, p->origin);
	dir_name_key(p->name, key);
	bind_text(st, 19, key);
	e = sq_exec(s, st, "person add");
	sq_done(st);
	return e;
}

/* The person's consents, in the open transaction (at 0: the person's creation). */
static int
privacy_insert(struct sq *s, const struct dir_person_rec *r)
{
	sqlite3_stmt *st;
	int e = 0;

	for (size_t i = 0; e == 0 && i < r->nconsents; i++) {
		const struct dir_privacy *c = &r->consents[i];

		if ((st = sq_get(s, ST_PRIVACY_ADD)) == NULL)
			return YH_ERR_DB;
		bind_text(st, 1, r->p.uid);
		bind_text(st, 2, c->purpose);
		bind_text(st, 3, c->notice_version);
		bind_text(st, 4, c->notice_sha256);
		bind_text(st, 5, c->via);
		sqlite3_bind_int64(st, 6, c->at != 0 ? c->at : r->p.created);
		e = sq_exec(s, st, "privacy consent add");
		sq_done(st);
	}
	return e;
}

static void clear_privacy(void *p) { dir_privacy_clear(p); }

static int
read_privacy(sqlite3_stmt *st, void *p)
{
	struct dir_privacy *c = p;
	int e = 0;

	memset(c, 0, sizeof(*c));
	e = e ? e : col_str(st, 0, &c->purpose);
	e = e ? e : col_str(st, 1, &c->notice_version);
	e = e ? e : col_str(st, 2, &c->notice_sha256);
	e = e ? e : col_str(st, 3, &c->via);
	c->at = sqlite3_column_int64(st, 4);
	if (e != 0)
		clear_privacy(c);
	return e;
}

static int
sq_privacy_list(void *be, const char *uid, struct dir_privacy **out, size_t *n)
{
	struct sq *s = be;
	sqlite3_stmt *st;
	void *arr = NULL;
	int e = YH_ERR_DB;

	*n = 0;
	LOCK(s);
	if ((st = sq_get(s, ST_PRIVACY_LIST)) != NULL) {
		bind_text(st, 1, uid);
		sqlite3_bind_int64(st, 2, DIR_PRIVACY_MAX);
		e = collect(s, st, sizeof(struct dir_privacy), DIR_PRIVACY_MAX, read_privacy,
		    clear_privacy, &arr, n);
	}
	sq_done(st);
	UNLOCK(s);
	*out = arr;
	return e;
}

static int
sq_person_add(void *be, const struct dir_person_rec *r)
{
	struct sq *s = be;
	int e;

	if ((e = sq_wbegin(s)) == 0 && (e = sp_begin(s)) == 0) {
		e = entity_add(s, r->p.uid, "person");
		if (e == 0)
			e = person_insert(s, r);
		if (e == 0 && r->cred_scheme != NULL)
			e = cred_write(s, r->p.uid, r->cred_scheme, r->cred_hash, NULL, r->p.created);
		if (e == 0)
			e = privacy_insert(s, r);
		e = sp_end(s, e);
	}
	return sq_wend(s, e);
}

static int
sq_person_update(void *be, const struct dir_person_rec *r)
{
	const struct dir_person *p = &r->p;
	struct sq *s = be;
	sqlite3_stmt *st = NULL;
	char key[DIR_NAME_KEY_MAX + 1];
	int e;

	dir_name_key(p->name, key);
	if ((e = sq_wstmt(s, ST_PERSON_UPDATE, &st)) == 0) {
		bind_text(st, 1, p->uid);
		bind_text(st, 2, p->name);
		bind_opt(st, 3, p->phone);
		bind_opt(st, 4, r->phone_index);
		bind_opt(st, 5, p->email);
		bind_opt(st, 6, p->username);
		sqlite3_bind_int64(st, 7, p->updated);
		sqlite3_bind_int(st, 8, p->phone != NULL && p->phone_verified ? 1 : 0);
		bind_text(st, 9, key);
		if ((e = sq_exec(s, st, "person update")) == 0 && sqlite3_changes(s->db) == 0)
			e = YH_ERR_NOT_FOUND;
	}
	sq_done(st);
	return sq_wend(s, e);
}

static int
sq_person_find(void *be, enum dir_pkey by, const char *key, const char *source,
    struct dir_person_rec *out)
{
	static const enum sq_stmt ids[] = {
		[DIR_PK_UID] = ST_PERSON_BY_UID,
		[DIR_PK_ID_INDEX] = ST_PERSON_BY_ID_INDEX,
		[DIR_PK_PHONE_INDEX] = ST_PERSON_BY_PHONE,
		[DIR_PK_USERNAME] = ST_PERSON_BY_USERNAME,
		[DIR_PK_LEGACY_USERNAME] = ST_PERSON_BY_LEGACY,
	};
	struct sq *s = be;
	sqlite3_stmt *st;
	int e = YH_ERR_DB;

	LOCK(s);
	if ((st = sq_get(s, ids[by])) != NULL) {
		bind_text(st, 1, key);
		if (by == DIR_PK_LEGACY_USERNAME)
			bind_text(st, 2, source);
		if ((e = sq_row(s, st, "person find")) == 0)
			e = YH_ERR_NOT_FOUND;
		else if (e == 1 && (e = read_person(st, out)) == 0 &&
		    (e = sq_row(s, st, "person find")) == 1) {
			dir_person_rec_clear(out);
			e = YH_ERR_CONFLICT;
		} else if (e < 0)
			dir_person_rec_clear(out);
	}
	sq_done(st);
	UNLOCK(s);
	return e;
}

/* 1 when the person uid is deregistered, 0 when not, YH_ERR_NOT_FOUND or an error. */
static int
person_closed(struct sq *s, const char *uid)
{
	sqlite3_stmt *st;
	int e;

	if ((st = sq_get(s, ST_PERSON_LOA_GET)) == NULL)
		return YH_ERR_DB;
	bind_text(st, 1, uid);
	if ((e = sq_row(s, st, "person closed")) > 0)
		e = sqlite3_column_int(st, 1) != 0;
	else if (e == 0)
		e = YH_ERR_NOT_FOUND;
	sq_done(st);
	return e;
}

/*
 * Runs each of the n statements sql[i] (prepared for this call) with the text p1 as ?1
 * and the integer p2 as ?2 where they use them, in the open transaction; stops at the
 * first error.
 */
static int
sq_run_each(struct sq *s, const char *const *sql, size_t n, const char *p1, int64_t p2,
    const char *what)
{
	sqlite3_stmt *st;
	int e = 0;

	for (size_t i = 0; e == 0 && i < n; i++) {
		st = NULL;
		if (sqlite3_prepare_v2(s->db, sql[i], -1, &st, NULL) != SQLITE_OK) {
			e = sq_map(s, sqlite3_errcode(s->db), what);
			break;
		}
		bind_text(st, 1, p1);
		if (sqlite3_bind_parameter_count(st) >= 2)
			sqlite3_bind_int64(st, 2, p2);
		e = sq_exec(s, st, what);
		sqlite3_finalize(st);
	}
	return e;
}

/* The relations of a deregistered person end with the account, each with the history
 * entry mandate_revoke_txn writes (hist_add: the role's holder goes to none). */
static const char *const sq_person_end_relations[] = {
	"INSERT INTO org_history (org_uid, field, old_value, new_value, actor, at)"
	" SELECT org_uid, role, person_uid, NULL, NULL, ?2 FROM mandate"
	" WHERE person_uid = ?1 AND revoked = 0 ORDER BY created, id",
	"UPDATE mandate SET revoked = ?2 WHERE person_uid = ?1 AND revoked = 0",
};

/* The status change in the open transaction; a deregistration also ends the person's
 * relations. */
static int
person_status_txn(struct sq *s, const char *uid, enum dir_status stv, int64_t now)
{
	sqlite3_stmt *st;
	int e;

	if ((st = sq_get(s, ST_PERSON_STATUS)) == NULL)
		return YH_ERR_DB;
	bind_text(st, 1, uid);
	bind_text(st, 2, dir_status_str(stv));
	sqlite3_bind_int64(st, 3, now);
	if ((e = sq_exec(s, st, "set status")) == 0 && sqlite3_changes(s->db) == 0)
		e = YH_ERR_NOT_FOUND;
	sq_done(st);
	if (e == YH_ERR_NOT_FOUND && person_closed(s, uid) == 1)
		return YH_ERR_DENIED;
	if (e == 0 && stv == DIR_STATUS_DEREGISTERED)
		e = sq_run_each(s, sq_person_end_relations, sizeof(sq_person_end_relations) /
		    sizeof(sq_person_end_relations[0]), uid, now, "end relations");
	return e;
}

static int
sq_person_set_status(void *be, const char *uid, enum dir_status stv, int64_t now)
{
	struct sq *s = be;
	int e;

	if ((e = sq_wbegin(s)) == 0 && (e = sp_begin(s)) == 0)
		e = sp_end(s, person_status_txn(s, uid, stv, now));
	return sq_wend(s, e);
}

/*
 * One page of rows whose first column is a uid (the uid above `after`, ?1; at most
 * limit, ?2; ?3 the integer p3 where the query uses it) into out, an array of structs
 * of stride bytes that each begin with a char uid[DIR_UID_LEN + 1]; fill reads the rest
 * of a row. *n is how many.
 */
_Static_assert(offsetof(struct dir_entity, uid) == 0, "uid_page rows begin with the uid");
_Static_assert(offsetof(struct dir_tombstone, uid) == 0, "uid_page rows begin with the uid");

static int
uid_page(struct sq *s, const char *sql, const char *after, int64_t p3, size_t limit,
    void *out, size_t stride, void (*fill)(sqlite3_stmt *st, void *row), size_t *n)
{
	sqlite3_stmt *st = NULL;
	char *row;
	int e;

	*n = 0;
	LOCK(s);
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		e = sq_map(s, sqlite3_errcode(s->db), "uid list");
		goto out;
	}
	bind_text(st, 1, after);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
	if (sqlite3_bind_parameter_count(st) >= 3)
		sqlite3_bind_int64(st, 3, p3);
	while (*n < limit && (e = sq_row(s, st, "uid list")) == 1) {
		row = (char *)out + *n * stride;
		if ((e = col_fixed(st, 0, row, DIR_UID_LEN + 1)) != 0)
			break;
		fill(st, row);
		(*n)++;
	}
	if (e == 1)
		e = 0;
out:
	sqlite3_finalize(st);
	UNLOCK(s);
	return e;
}

/* Reads a tombstone row (uid, deregistered) into the struct dir_tombstone at row. */
static void
read_tombstone_row(sqlite3_stmt *st, void *row)
{
	((struct dir_tombstone *)row)->deregistered = sqlite3_column_int64(st, 1);
}

static int
sq_person_tombstones(void *be, int64_t before, const char *after, size_t limit,
    struct dir_tombstone *out, size_t *n)
{
	return uid_page(be, "SELECT uid, deregistered FROM person WHERE uid > ?1"
	    " AND status = 'deregistered' AND deregistered < ?3 ORDER BY uid LIMIT ?2",
	    after, before, limit, out, sizeof(*out), read_tombstone_row, n);
}

/*
 * What a purge erases, in this order (the rows that refer to the person first): every
 * record holding the person's data or naming them, the person (sealed ID number and its
 * index, name, phone, email, username), and the entity, so that the uid is nowhere in
 * the directory. An organization keeps its own row; the legal representative it named
 * is no longer named.
 */
static const char *const sq_purge_steps[] = {
	"DELETE FROM consent WHERE owner_uid = ?1",
	"DELETE FROM privacy_consent WHERE person_uid = ?1",
	"DELETE FROM subject_pin WHERE uid = ?1",
	"DELETE FROM credential WHERE owner_uid = ?1",
	"DELETE FROM totp WHERE owner_uid = ?1",
	"DELETE FROM legacy_link WHERE owner_uid = ?1",
	"DELETE FROM legacy_cred WHERE owner_uid = ?1",
	"DELETE FROM upstream_link WHERE uid = ?1",
	"DELETE FROM cert_binding WHERE uid = ?1",
	("DELETE FROM review_member WHERE case_id IN"
	    " (SELECT id FROM review_case WHERE merged_uid = ?1)"),
	"DELETE FROM review_case WHERE merged_uid = ?1",
	"DELETE FROM loa_event WHERE person_uid = ?1",
	"DELETE FROM mandate WHERE person_uid = ?1",
	"UPDATE mandate SET granted_by = NULL WHERE granted_by = ?1",
	"UPDATE org SET legal_rep_uid = NULL WHERE legal_rep_uid = ?1",
	"DELETE FROM person WHERE uid = ?1",
	"DELETE FROM entity WHERE uid = ?1 AND kind = 'person'",
};

/*
 * A purge in the open transaction: check (?1 the uid, ?2 before) must answer one row,
 * true when the entity may be purged; then the n steps run with ?1 the uid.
 * YH_ERR_NOT_FOUND (no row), YH_ERR_DENIED (false).
 */
static int
purge_txn(struct sq *s, const char *check, const char *const *steps, size_t n,
    const char *uid, int64_t before)
{
	sqlite3_stmt *st = NULL;
	int e;

	if (sqlite3_prepare_v2(s->db, check, -1, &st, NULL) != SQLITE_OK)
		return sq_map(s, sqlite3_errcode(s->db), "purge check");
	bind_text(st, 1, uid);
	sqlite3_bind_int64(st, 2, before);
	if ((e = sq_row(s, st, "purge check")) == 0)
		e = YH_ERR_NOT_FOUND;
	else if (e == 1)
		e = sqlite3_column_int(st, 0) != 0 ? 0 : YH_ERR_DENIED;
	sqlite3_finalize(st);
	if (e != 0)
		return e;
	return sq_run_each(s, steps, n, uid, 0, "purge");
}

/* purge_txn in a transaction of its own. */
static int
sq_purge(struct sq *s, const char *check, const char *const *steps, size_t n,
    const char *uid, int64_t before)
{
	int e;

	if ((e = sq_wbegin(s)) == 0 && (e = sp_begin(s)) == 0)
		e = sp_end(s, purge_txn(s, check, steps, n, uid, before));
	return sq_wend(s, e);
}

static int
sq_person_purge(void *be, const char *uid, int64_t before)
{
	return sq_purge(be, "SELECT status = 'deregistered' AND deregistered < ?2"
	    " FROM person WHERE uid = ?1", sq_purge_steps, sizeof(sq_purge_steps) /
	    sizeof(sq_purge_steps[0]), uid, before);
}

/* When an organization was closed: its last status change to deregistered or revoked in
 * its history, else (a store older than the history) its last change. */
#define ORG_CLOSED_AT "coalesce((SELECT max(h.at) FROM org_history h WHERE" \
	" h.org_uid = o.uid AND h.field = 'status' AND" \
	" h.new_value IN ('deregistered', 'revoked')), o.updated)"

/* What an organization's purge erases: its relations, its history (which names the
 * persons who held them), anything its entity owns, the organization and the entity. */
static const char *const sq_org_purge_steps[] = {
	"DELETE FROM mandate WHERE org_uid = ?1",
	"DELETE FROM org_history WHERE org_uid = ?1",
	"DELETE FROM legacy_link WHERE owner_uid = ?1",
	"DELETE FROM legacy_cred WHERE owner_uid = ?1",
	"DELETE FROM credential WHERE owner_uid = ?1",
	"DELETE FROM totp WHERE owner_uid = ?1",
	("DELETE FROM review_member WHERE case_id IN"
	    " (SELECT id FROM review_case WHERE merged_uid = ?1)"),
	"DELETE FROM review_case WHERE merged_uid = ?1",
	"DELETE FROM org WHERE uid = ?1",
	"DELETE FROM entity WHERE uid = ?1 AND kind = 'org'",
};

static int
sq_org_tombstones(void *be, int64_t before, const char *after, size_t limit,
    struct dir_tombstone *out, size_t *n)
{
	return uid_page(be, "SELECT uid, t FROM (SELECT o.uid AS uid, " ORG_CLOSED_AT " AS t"
	    " FROM org o WHERE o.uid > ?1 AND o.status IN ('deregistered', 'revoked'))"
	    " WHERE t < ?3 ORDER BY uid LIMIT ?2", after, before, limit, out, sizeof(*out),
	    read_tombstone_row, n);
}

static int
sq_org_purge(void *be, const char *uid, int64_t before)
{
	return sq_purge(be, "SELECT o.status IN ('deregistered', 'revoked') AND "
	    ORG_CLOSED_AT " < ?2 FROM org o WHERE o.uid = ?1", sq_org_purge_steps,
	    sizeof(sq_org_purge_steps) / sizeof(sq_org_purge_steps[0]), uid, before);
}

static int
loa_apply(struct sq *s, const char *uid, const struct dir_loa *v, bool raise_only,
    int64_t now, bool *applied)
{
	sqlite3_stmt *st;
	bool closed;
	int e, cur;

	if ((st = sq_get(s, ST_PERSON_LOA_GET)) == NULL)
		return YH_ERR_DB;
	bind_text(st, 1, uid);
	e = sq_row(s, st, "loa get");
	cur = sqlite3_column_int(st, 0);
	closed = sqlite3_column_int(st, 1) != 0;
	sq_done(st);
	if (e <= 0)
		return e == 0 ? YH_ERR_NOT_FOUND : e;
	if (closed)
		return YH_ERR_DENIED;     /* a closed account is not verified again */
	*applied = !raise_only || v->level > cur;
	if (*applied) {
		if ((st = sq_get(s, ST_PERSON_LOA_SET)) == NULL)
			return YH_ERR_DB;
		bind_text(st, 1, uid);
		sqlite3_bind_int(st, 2, v->level);
		bind_text(st, 3, v->method);
		bind_opt(st, 4, v->by);
		bind_opt(st, 5, v->evidence);
		sqlite3_bind_int64(st, 6, v->at);
		sqlite3_bind_int64(st, 7, now);
		e = sq_exec(s, st, "loa set");
		sq_done(st);
		if (e != 0)
			return e;
	}
	if ((st = sq_get(s, ST_LOA_EVENT)) == NULL)
		return YH_ERR_DB;
	bind_text(st, 1, uid);
	sqlite3_bind_int(st, 2, v->level);
	bind_text(st, 3, v->method);
	bind_opt(st, 4, v->by);
	bind_opt(st, 5, v->evidence);
	sqlite3_bind_int64(st, 6, v->at);
	sqlite3_bind_int(st, 7, *applied ? 1 : 0);
	e = sq_exec(s, st, "loa event");
	sq_done(st);
	return e;
}

static int
sq_person_set_loa(void *be, const char *uid, const struct dir_loa *v, bool raise_only,
    int64_t now, bool *applied)
{
	struct sq *s = be;
	int e;

	*applied = false;
	if ((e = sq_wbegin(s)) == 0 && (e = sp_begin(s)) == 0)
		e = sp_end(s, loa_apply(s, uid, v, raise_only, now, applied));
	e = sq_wend(s, e);
	if (e != 0)
		*applied = false;
	return e;
}

static int
sq_person_list(void *be, uint64_t offset, size_t limit, struct dir_person_rec **out,
    size_t *n)
{
	struct sq *s = be;
	sqlite3_stmt *st;
	void *arr = NULL;
	int e = YH_ERR_DB;

	LOCK(s);
	if ((st = sq_get(s, ST_PERSON_LIST)) != NULL) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)limit);
		sqlite3_bind_int64(st, 2, offset > INT64_MAX ? INT64_MAX : (sqlite3_int64)offset);
		e = collect(s, st, sizeof(struct dir_person_rec), limit, read_person_v,
		    clear_person_v, &arr, n);
	}
	sq_done(st);
	UNLOCK(s);
	*out = arr;
	return e;
}

static int
sq_person_count(void *be, uint64_t *out)
{
	struct sq *s = be;
	sqlite3_stmt *st;
	int e = YH_ERR_DB;

	LOCK(s);
	if ((st = sq_get(s, ST_PERSON_COUNT)) != NULL &&
	    (e = sq_row(s, st, "count")) == 1) {
		*out = (uint64_t)sqlite3_column_int64(st, 0);
		e = 0;
	} else if (e == 0)
		e = YH_ERR_DB;
	sq_done(st);
	UNLOCK(s);
	return e;
}

/* ---- organizations ---- */

/* Appends to an organization's history; the caller holds the connection for a write. */
static int
hist_add(struct sq *s, const char *org, const char *field, const char *old,
    const char *new, const char *actor, int64_t at)
{
	sqlite3_stmt *st = sq_get(s, ST_ORG_HIST_ADD);
	int e;

	if (st == NULL)
		return YH_ERR_DB;
	bind_text(st, 1, org);
	bind_text(st, 2, field);
	bind_opt(st, 3, old);
	bind_opt(st, 4, new);
	bind_opt(st, 5, actor);
	sqlite3_bind_int64(st, 6, at);
	e = sq_exec(s, st, "org history");
	sq_done(st);
	return e;
}

/* A history entry when a field's value changes (NULL and "" are the same: none). */
static int
hist_diff(struct sq *s, const char *org, const char *field, const char *old,
    const char *new, const char *actor, int64_t at)
{
	if (old != NULL && old[0] == '\0')
		old = NULL;
	if (new != NULL && new[0] == '\0')
		new = NULL;
	if (old == NULL ? new == NULL : new != NULL && strcmp(old, new) == 0)
		return 0;
	return hist_add(s, org, field, old, new, actor, at);
}

/* Begins person's legal_rep relation for org at `at` (granted by actor), ending the one
 * in office; the caller holds the connection for a write. */
static int
legal_rep_move(struct sq *s, const char *org, const char *person, const char *actor,
    int64_t at)
{
	sqlite3_stmt *st;
	int e;

	if ((st = sq_get(s, ST_REP_END)) == NULL)
		return YH_ERR_DB;
	bind_text(st, 1, org);
	sqlite3_bind_int64(st, 2, at);
	e = sq_exec(s, st, "legal rep end");
	sq_done(st);
	if (e != 0 || person == NULL || person[0] == '\0')
		return e;
	if ((st = sq_get(s, ST_REP_BEGIN)) == NULL)
		return YH_ERR_DB;
	bind_text(st, 1, person);
	bind_text(st, 2, org);
	bind_opt(st, 3, actor);
	sqlite3_bind_int64(st, 4, at);
	e = sq_exec(s, st, "legal rep begin");
	sq_done(st);
	return e;
}

static int
org_insert(struct sq *s, const struct dir_org *o)
{
	sqlite3_stmt *st = sq_get(s, ST_ORG_ADD);
	int e;

	if (st == NULL)
		return YH_ERR_DB;
	bind_text(st, 1, o->uid);
	bind_opt(st, 2, o->uscc);
	bind_text(st, 3, o->org_code);
	bind_text(st, 4, o->name);
	bind_opt(st, 5, o->legal_rep_uid);
	bind_text(st, 6, dir_status_str(o->status));
	sqlite3_bind_int64(st, 7, o->created);
	sqlite3_bind_int64(st, 8, o->updated);
	bind_text(st, 9, idn_org_kind_str(o->kind));
	bind_opt(st, 10, o->authority);
	bind_opt(st, 11, o->established);
	e = sq_exec(s, st, "org add");
	sq_done(st);
	return e;
}

static int
sq_org_add(void *be, const struct dir_org *o, const char *actor)
{
	struct sq *s = be;
	int e;

	if ((e = sq_wbegin(s)) == 0 && (e = sp_begin(s)) == 0) {
		e = entity_add(s, o->uid, "org");
		if (e == 0)
			e = org_insert(s, o);
		if (e == 0)
			e = hist_add(s, o->uid, "created", NULL,
			    o->uscc != NULL ? o->uscc : o->org_code, actor, o->updated);
		if (e == 0 && o->legal_rep_uid[0] != '\0')
			e = legal_rep_move(s, o->uid, o->legal_rep_uid, actor, o->updated);
		if (e == 0 && o->legal_rep_uid[0] != '\0')
			e = hist_add(s, o->uid, "legal_rep", NULL, o->legal_rep_uid, actor,
			    o->updated);
		e = sp_end(s, e);
	}
	return sq_wend(s, e);
}

/* Finds an organization by key with statement id (the caller holds the connection). */
static int
org_lookup(struct sq *s, enum sq_stmt id, const char *key, struct dir_org *out)
{
	sqlite3_stmt *st = sq_get(s, id);
	int e = YH_ERR_DB;

	if (st != NULL) {
		bind_text(st, 1, key);
		if ((e = sq_row(s, st, "org find")) == 1)
			e = read_org(st, out);
		else if (e == 0)
			e = YH_ERR_NOT_FOUND;
	}
	sq_done(st);
	return e;
}

static int
org_read(struct sq *s, const char *uid, struct dir_org *out)
{
	return org_lookup(s, ST_ORG_BY_UID, uid, out);
}

/* The history entries of an update from cur to o. */
static int
org_update_history(struct sq *s, const struct dir_org *cur, const struct dir_org *o,
    const char *actor)
{
	const char *f[][3] = {
		{ "name", cur->name, o->name },
		{ "kind", idn_org_kind_str(cur->kind), idn_org_kind_str(o->kind) },
		{ "legal_rep", cur->legal_rep_uid, o->legal_rep_uid },
		{ "authority", cur->authority, o->authority },
		{ "established", cur->established, o->established },
		{ "uscc", cur->uscc, o->uscc },
	};
	int e = 0;

	for (size_t i = 0; e == 0 && i < sizeof(f) / sizeof(f[0]); i++)
		e = hist_diff(s, o->uid, f[i][0], f[i][1], f[i][2], actor, o->updated);
	return e;
}

/* The update in the open transaction: history, the row, the legal_rep relation. */
static int
org_update_txn(struct sq *s, const struct dir_org *o, const char *actor)
{
	struct dir_org cur;
	sqlite3_stmt *st;
	int e;

	if ((e = org_read(s, o->uid, &cur)) != 0)
		return e;
	if ((e = org_update_history(s, &cur, o, actor)) != 0)
		goto out;
	if ((st = sq_get(s, ST_ORG_UPDATE)) == NULL) {
		e = YH_ERR_DB;
		goto out;
	}
	bind_text(st, 1, o->uid);
	bind_text(st, 2, o->name);
	bind_opt(st, 3, o->legal_rep_uid);
	bind_opt(st, 4, o->uscc);
	sqlite3_bind_int64(st, 5, o->updated);
	bind_text(st, 6, idn_org_kind_str(o->kind));
	bind_opt(st, 7, o->authority);
	bind_opt(st, 8, o->established);
	e = sq_exec(s, st, "org update");
	sq_done(st);
	if (e == 0 && strcmp(cur.legal_rep_uid, o->legal_rep_uid) != 0)
		e = legal_rep_move(s, o->uid, o->legal_rep_uid, actor, o->updated);
out:
	dir_org_clear(&cur);
	return e;
}

static int
sq_org_update(void *be, const struct dir_org *o, const char *actor)
{
	struct sq *s = be;
	int e;

	if ((e = sq_wbegin(s)) == 0 && (e = sp_begin(s)) == 0)
		e = sp_end(s, org_update_txn(s, o, actor));
	return sq_wend(s, e);
}

static int
sq_org_find(void *be, enum dir_okey by, const char *key, struct dir_org *out)
{
	static const enum sq_stmt ids[] = {
		[DIR_OK_UID] = ST_ORG_BY_UID,
		[DIR_OK_USCC] = ST_ORG_BY_USCC,
		[DIR_OK_ORG_CODE] = ST_ORG_BY_CODE,
	};
	struct sq *s = be;
	int e;

	LOCK(s);
	e = org_lookup(s, ids[by], key, out);
	UNLOCK(s);
	return e;
}

/* The status change in the open transaction, with its history entry. */
static int
org_status_txn(struct sq *s, const char *uid, enum dir_status stv, int64_t now,
    const char *actor)
{
	struct dir_org cur;
	sqlite3_stmt *st;
	int e;

	if ((e = org_read(s, uid, &cur)) != 0)
		return e;
	e = hist_diff(s, uid, "status", dir_status_str(cur.status), dir_status_str(stv), actor,
	    now);
	dir_org_clear(&cur);
	if (e != 0)
		return e;
	if ((st = sq_get(s, ST_ORG_STATUS)) == NULL)
		return YH_ERR_DB;
	bind_text(st, 1, uid);
	bind_text(st, 2, dir_status_str(stv));
	sqlite3_bind_int64(st, 3, now);
	e = sq_exec(s, st, "org status");
	sq_done(st);
	return e;
}

static int
sq_org_set_status(void *be, const char *uid, enum dir_status stv, int64_t now,
    const char *actor)
{
	struct sq *s = be;
	int e;

	if ((e = sq_wbegin(s)) == 0 && (e = sp_begin(s)) == 0)
		e = sp_end(s, org_status_txn(s, uid, stv, now, actor));
	return sq_wend(s, e);
}

static int
sq_org_list(void *be, uint64_t offset, size_t limit, struct dir_org **out, size_t *n)
{
	struct sq *s = be;
	sqlite3_stmt *st;
	void *arr = NULL;
	int e = YH_ERR_DB;

	*n = 0;
	LOCK(s);
	if ((st = sq_get(s, ST_ORG_LIST)) != NULL) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)limit);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)(offset > INT64_MAX ? INT64_MAX : offset));
		e = collect(s, st, sizeof(struct dir_org), limit, read_org_v, clear_org_v, &arr,
		    n);
	}
	sq_done(st);
	UNLOCK(s);
	*out = arr;
	return e;
}

static void clear_change(void *p) { dir_org_change_clear(p); }

static int
read_change(sqlite3_stmt *st, void *p)
{
	struct dir_org_change *c = p;
	int e = 0;

	memset(c, 0, sizeof(*c));
	e = e ? e : col_str(st, 0, &c->field);
	e = e ? e : col_str(st, 1, &c->old_value);
	e = e ? e : col_str(st, 2, &c->new_value);
	e = e ? e : col_str(st, 3, &c->actor);
	c->at = sqlite3_column_int64(st, 4);
	if (e != 0)
		clear_change(c);
	return e;
}

static int
sq_org_history(void *be, const char *uid, struct dir_org_change **out, size_t *n)
{
	struct sq *s = be;
	sqlite3_stmt *st;
	void *arr = NULL;
	int e = YH_ERR_DB;

	*n = 0;
	LOCK(s);
	if ((st = sq_get(s, ST_ORG_HIST_LIST)) != NULL) {
		bind_text(st, 1, uid);
		sqlite3_bind_int64(st, 2, DIR_LIST_MAX);
		e = collect(s, st, sizeof(struct dir_org_change), DIR_LIST_MAX, read_change,
		    clear_change, &arr, n);
	}
	sq_done(st);
	UNLOCK(s);
	*out = arr;
	return e;
}

/* ---- relations ---- */

/* Binds a relation's columns but revoked to ?1..?11 (id, person, org, role, granted by,
 * not before, until, scopes, created, unit, position). */
static void
bind_mandate(sqlite3_stmt *st, const struct dir_mandate *m)
{
	bind_text(st, 1, m->id);
	bind_text(st, 2, m->person_uid);
	bind_text(st, 3, m->org_uid);
	bind_text(st, 4, m->role);
	bind_opt(st, 5, m->granted_by);
	sqlite3_bind_int64(st, 6, m->not_before);
	sqlite3_bind_int64(st, 7, m->until);
	bind_opt(st, 8, m->scopes);
	sqlite3_bind_int64(st, 9, m->created);
	bind_opt(st, 10, m->unit);
	bind_opt(st, 11, m->position);
}

/* The grant in the open transaction, with its history entry. */
static int
mandate_add_txn(struct sq *s, const struct dir_mandate *m, const char *actor)
{
	sqlite3_stmt *st = sq_get(s, ST_MANDATE_ADD);
	int e;

	if (st == NULL)
		return YH_ERR_DB;
	bind_mandate(st, m);
	if ((e = sq_exec(s, st, "mandate add")) == 0 && sqlite3_changes(s->db) == 0)
		e = YH_ERR_EXISTS;
	sq_done(st);
	if (e == 0)
		e = hist_add(s, m->org_uid, m->role, NULL, m->person_uid, actor, m->created);
	return e;
}

static int
sq_mandate_add(void *be, const struct dir_mandate *m, const char *actor)
{
	struct sq *s = be;
	int e;

	if ((e = sq_wbegin(s)) == 0 && (e = sp_begin(s)) == 0)
		e = sp_end(s, mandate_add_txn(s, m, actor));
	return sq_wend(s, e);
}

/* Reads relation id (the caller holds the connection). */
static int
mandate_read(struct sq *s, const char *id, struct dir_mandate *out)
{
	sqlite3_stmt *st = sq_get(s, ST_MANDATE_GET);
	int e = YH_ERR_DB;

	if (st != NULL) {
		bind_text(st, 1, id);
		if ((e = sq_row(s, st, "mandate get")) == 1)
			e = read_mandate(st, out);
		else if (e == 0)
			e = YH_ERR_NOT_FOUND;
	}
	sq_done(st);
	return e;
}

static int
sq_mandate_get(void *be, const char *id, struct dir_mandate *out)
{
	struct sq *s = be;
	int e;

	LOCK(s);
	e = mandate_read(s, id, out);
	UNLOCK(s);
	return e;
}

static int
sq_mandate_list(void *be, bool by_org, const char *uid, int64_t current_at,
    struct dir_mandate **out, size_t *n)
{
	struct sq *s = be;
	sqlite3_stmt *st;
	void *arr = NULL;
	int e = YH_ERR_DB;

	LOCK(s);
	if ((st = sq_get(s, by_org ? ST_MANDATE_BY_ORG : ST_MANDATE_BY_PERSON)) != NULL) {
		bind_text(st, 1, uid);
		sqlite3_bind_int64(st, 2, current_at);
		sqlite3_bind_int64(st, 3, DIR_LIST_MAX);
		e = collect(s, st, sizeof(struct dir_mandate), DIR_LIST_MAX, read_mandate_v,
		    clear_mandate_v, &arr, n);
	}
	sq_done(st);
	UNLOCK(s);
	*out = arr;
	return e;
}

/* The revocation in the open transaction: a history entry unless already revoked. */
static int
mandate_revoke_txn(struct sq *s, const char *id, int64_t at, const char *actor)
{
	struct dir_mandate m;
	sqlite3_stmt *st;
	int e;

	if ((e = mandate_read(s, id, &m)) != 0)
		return e;
	if (m.revoked == 0 && (st = sq_get(s, ST_MANDATE_REVOKE)) == NULL)
		e = YH_ERR_DB;
	else if (m.revoked == 0) {
		bind_text(st, 1, id);
		sqlite3_bind_int64(st, 2, at);
		e = sq_exec(s, st, "mandate revoke");
		sq_done(st);
		if (e == 0)
			e = hist_add(s, m.org_uid, m.role, m.person_uid, NULL, actor, at);
	}
	dir_mandate_clear(&m);
	return e;
}

static int
sq_mandate_revoke(void *be, const char *id, int64_t at, const char *actor)
{
	struct sq *s = be;
	int e;

	if ((e = sq_wbegin(s)) == 0 && (e = sp_begin(s)) == 0)
		e = sp_end(s, mandate_revoke_txn(s, id, at, actor));
	return sq_wend(s, e);
}

/* Ends every unrevoked relation of role in the open transaction, with one history entry. */
static int
mandate_end_txn(struct sq *s, const char *org, const char *person, const char *role,
    int64_t at, const char *actor, size_t *ended)
{
	sqlite3_stmt *st = sq_get(s, ST_MANDATE_END);
	int e;

	if (st == NULL)
		return YH_ERR_DB;
	bind_text(st, 1, org);
	bind_text(st, 2, person);
	bind_text(st, 3, role);
	sqlite3_bind_int64(st, 4, at);
	if ((e = sq_exec(s, st, "mandate end")) == 0)
		*ended = (size_t)sqlite3_changes(s->db);
	sq_done(st);
	if (e == 0 && *ended == 0)
		e = YH_ERR_NOT_FOUND;
	if (e == 0)
		e = hist_add(s, org, role, person, NULL, actor, at);
	return e;
}

static int
sq_mandate_end(void *be, const char *org, const char *person, const char *role, int64_t at,
    const char *actor, size_t *ended)
{
	struct sq *s = be;
	int e;

	*ended = 0;
	if ((e = sq_wbegin(s)) == 0 && (e = sp_begin(s)) == 0)
		e = sp_end(s, mandate_end_txn(s, org, person, role, at, actor, ended));
	if ((e = sq_wend(s, e)) != 0)
		*ended = 0;
	return e;
}

/* ---- legacy links ---- */

static int
sq_legacy_add(void *be, const struct dir_legacy *l)
{
	struct sq *s = be;
	sqlite3_stmt *st = NULL;
	int e;

	if ((e = sq_wstmt(s, ST_LEGACY_ADD, &st)) == 0) {
		bind_text(st, 1, l->owner_uid);
		bind_text(st, 2, l->source);
		bind_text(st, 3, l->legacy_id);
		bind_opt(st, 4, l->username);
		bind_text(st, 5, dir_status_str(l->status));
		sqlite3_bind_int64(st, 6, l->created);
		e = sq_exec(s, st, "legacy add");
	}
	sq_done(st);
	return sq_wend(s, e);
}

/* The one link statement id finds with text parameters ?1 = p1 and ?2 = p2 into out;
 * YH_ERR_NOT_FOUND when there is none. */
static int
legacy_one(struct sq *s, enum sq_stmt id, const char *what, const char *p1, const char *p2,
    struct dir_legacy *out)
{
	sqlite3_stmt *st;
	int e = YH_ERR_DB;

	LOCK(s);
	if ((st = sq_get(s, id)) != NULL) {
		bind_text(st, 1, p1);
		bind_text(st, 2, p2);
		if ((e = sq_row(s, st, what)) == 1)
			e = read_legacy(st, out);
		else if (e == 0)
			e = YH_ERR_NOT_FOUND;
	}
	sq_done(st);
	UNLOCK(s);
	return e;
}

static int
sq_legacy_get(void *be, const char *source, const char *legacy_id, struct dir_legacy *out)
{
	return legacy_one(be, ST_LEGACY_GET, "legacy get", source, legacy_id, out);
}

static int
sq_legacy_list(void *be, const char *owner, struct dir_legacy **out, size_t *n)
{
	struct sq *s = be;
	sqlite3_stmt *st;
	void *arr = NULL;
	int e = YH_ERR_DB;

	LOCK(s);
	if ((st = sq_get(s, ST_LEGACY_LIST)) != NULL) {
		bind_text(st, 1, owner);
		sqlite3_bind_int64(st, 2, DIR_LIST_MAX);
		e = collect(s, st, sizeof(struct dir_legacy), DIR_LIST_MAX, read_legacy_v,
		    clear_legacy_v, &arr, n);
	}
	sq_done(st);
	UNLOCK(s);
	*out = arr;
	return e;
}

static int
sq_legacy_find_username(void *be, const char *username, const char *source,
    char owner[DIR_UID_LEN + 1])
{
	struct sq *s = be;
	sqlite3_stmt *st;
	int e = YH_ERR_DB;

	LOCK(s);
	if ((st = sq_get(s, ST_LEGACY_FIND_USER)) != NULL) {
		bind_text(st, 1, username);
		bind_text(st, 2, source);
		if ((e = sq_row(s, st, "legacy find")) == 0)
			e = YH_ERR_NOT_FOUND;
		else if (e == 1 && (e = col_fixed(st, 0, owner, DIR_UID_LEN + 1)) == 0 &&
		    (e = sq_row(s, st, "legacy find")) == 1)
			e = YH_ERR_CONFLICT;
	}
	sq_done(st);
	UNLOCK(s);
	return e;
}

static int
sq_legacy_of_owner(void *be, const char *owner, const char *source, struct dir_legacy *out)
{
	return legacy_one(be, ST_LEGACY_OF_OWNER, "legacy of owner", owner, source, out);
}

static int
sq_legacy_remove(void *be, const char *source, const char *legacy_id)
{
	struct sq *s = be;
	sqlite3_stmt *st = NULL;
	int e;

	if ((e = sq_wstmt(s, ST_LEGACY_REMOVE, &st)) == 0) {
		bind_text(st, 1, source);
		bind_text(st, 2, legacy_id);
		if ((e = sq_exec(s, st, "legacy remove")) == 0 && sqlite3_changes(s->db) == 0)
			e = YH_ERR_NOT_FOUND;
	}
	sq_done(st);
	return sq_wend(s, e);
}

/* ---- credentials ---- */

static int
sq_cred_get(void *be, const char *owner, struct dir_cred *out)
{
	struct sq *s = be;
	sqlite3_stmt *st;
	int e = YH_ERR_DB;

	LOCK(s);
	if ((st = sq_get(s, ST_CRED_GET)) != NULL) {
		bind_text(st, 1, owner);
		if ((e = sq_row(s, st, "cred get")) == 1) {
			memset(out, 0, sizeof(*out));
			e = col_str(st, 0, &out->scheme);
			e = e ? e : col_str(st, 1, &out->hash);
			e = e ? e : col_str(st, 2, &out->salt);
			out->updated = sqlite3_column_int64(st, 3);
			if (e == 0 && (out->scheme == NULL || out->hash == NULL))
				e = YH_ERR_DB;
			if (e != 0)
				dir_cred_clear(out);
		} else if (e == 0)
			e = YH_ERR_NOT_FOUND;
	}
	sq_done(st);
	UNLOCK(s);
	return e;
}

static int
sq_cred_set(void *be, const char *owner, const char *scheme, const char *hash,
    const char *salt, int64_t now)
{
	struct sq *s = be;
	int e;

	if ((e = sq_wbegin(s)) == 0)
		e = cred_write(s, owner, scheme, hash, salt, now);
	return sq_wend(s, e);
}

/* ---- TOTP ---- */

static int
sq_totp_set(void *be, const char *owner, const char *seed_sealed, bool confirmed,
    int64_t now)
{
	struct sq *s = be;
	sqlite3_stmt *st = NULL;
	int e;

	if ((e = sq_wstmt(s, ST_TOTP_SET, &st)) == 0) {
		bind_text(st, 1, owner);
		bind_text(st, 2, seed_sealed);
		sqlite3_bind_int(st, 3, confirmed ? 1 : 0);
		sqlite3_bind_int64(st, 4, now);
		e = sq_exec(s, st, "totp set");
	}
	sq_done(st);
	return sq_wend(s, e);
}

/* Runs a one-parameter (owner) statement; NOT_FOUND when it changed nothing. */
static int
owner_change(struct sq *s, enum sq_stmt id, const char *owner, const char *what)
{
	sqlite3_stmt *st = NULL;
	int e;

	if ((e = sq_wstmt(s, id, &st)) == 0) {
		bind_text(st, 1, owner);
		if ((e = sq_exec(s, st, what)) == 0 && sqlite3_changes(s->db) == 0)
			e = YH_ERR_NOT_FOUND;
	}
	sq_done(st);
	return sq_wend(s, e);
}

static int
sq_totp_confirm(void *be, const char *owner)
{
	return owner_change(be, ST_TOTP_CONFIRM, owner, "totp confirm");
}

static int
sq_totp_delete(void *be, const char *owner)
{
	return owner_change(be, ST_TOTP_DELETE, owner, "totp delete");
}

static int
sq_totp_get(void *be, const char *owner, struct dir_totp_rec *out)
{
	struct sq *s = be;
	sqlite3_stmt *st;
	int e = YH_ERR_DB;

	LOCK(s);
	if ((st = sq_get(s, ST_TOTP_GET)) != NULL) {
		bind_text(st, 1, owner);
		if ((e = sq_row(s, st, "totp get")) == 1) {
			memset(out, 0, sizeof(*out));
			e = col_str(st, 0, &out->seed_sealed);
			out->confirmed = sqlite3_column_int(st, 1) != 0;
			out->last_step = sqlite3_column_int64(st, 2);
			out->created = sqlite3_column_int64(st, 3);
			if (e == 0 && out->seed_sealed == NULL)
				e = YH_ERR_DB;
		} else if (e == 0)
			e = YH_ERR_NOT_FOUND;
	}
	sq_done(st);
	UNLOCK(s);
	return e;
}

static int
sq_totp_consume(void *be, const char *owner, int64_t step)
{
	struct sq *s = be;
	sqlite3_stmt *st = NULL;
	int e;

	if ((e = sq_wstmt(s, ST_TOTP_CONSUME, &st)) == 0) {
		bind_text(st, 1, owner);
		sqlite3_bind_int64(st, 2, step);
		if ((e = sq_exec(s, st, "totp consume")) == 0 && sqlite3_changes(s->db) == 0)
			e = YH_ERR_REPLAY;
	}
	sq_done(st);
	if (e == YH_ERR_REPLAY && (st = sq_get(s, ST_TOTP_GET)) != NULL) {
		bind_text(st, 1, owner);
		if ((e = sq_row(s, st, "totp get")) == 1)
			e = YH_ERR_REPLAY;
		else if (e == 0)
			e = YH_ERR_NOT_FOUND;
		sq_done(st);
	}
	return sq_wend(s, e);
}

/* ---- consents ---- */

/* Ends the record being built: its scopes are the buffer's contents. */
static int
consent_finish(struct dir_consent *c, struct yh_buf *b)
{
	if ((c->scopes = yh_buf_steal(b)) == NULL)
		return YH_ERR_ALLOC;
	return 0;
}

/* Starts a record for client at the end of *arr (grown as needed). */
static int
consent_start(struct dir_consent **arr, size_t *cnt, size_t *cap, const char *client,
    int64_t at)
{
	struct dir_consent *grown, *c;

	if (*cnt == *cap) {
		*cap = *cap == 0 ? 8 : *cap * 2;
		if ((grown = realloc(*arr, *cap * sizeof(**arr))) == NULL)
			return YH_ERR_ALLOC;
		*arr = grown;
	}
	c = &(*arr)[*cnt];
	memset(c, 0, sizeof(*c));
	if ((c->client_id = strdup(client)) == NULL)
		return YH_ERR_ALLOC;
	c->created = c->updated = at;
	(*cnt)++;
	return 0;
}

/*
 * Reads rows (client_id, scope, granted) ordered by client then scope into one record
 * per client (at most max records): scopes space-separated, created the earliest
 * grant, updated the latest.
 */
static int
consent_collect(struct sq *s, sqlite3_stmt *st, size_t max, struct dir_consent **out,
    size_t *n)
{
	struct dir_consent *arr = NULL, *cur = NULL;
	const char *client, *scope;
	struct yh_buf b;
	size_t cnt = 0, cap = 0;
	int64_t at;
	int r;

	*out = NULL;
	*n = 0;
	yh_buf_init(&b, DIR_SCOPES_MAX * (DIR_SCOPE_MAX + 1));
	while ((r = sq_row(s, st, "consent")) == 1) {
		client = (const char *)sqlite3_column_text(st, 0);
		scope = (const char *)sqlite3_column_text(st, 1);
		at = sqlite3_column_int64(st, 2);
		if (client == NULL || scope == NULL) {
			r = YH_ERR_DB;
			break;
		}
		if (cur == NULL || strcmp(cur->client_id, client) != 0) {
			if (cur != NULL && (r = consent_finish(cur, &b)) != 0)
				break;
			cur = NULL;
			if (cnt == max)
				break;
			if ((r = consent_start(&arr, &cnt, &cap, client, at)) != 0)
				break;
			cur = &arr[cnt - 1];
		}
		if ((b.len > 0 && (r = yh_buf_putc(&b, ' ')) != 0) ||
		    (r = yh_buf_puts(&b, scope)) != 0) {
			r = r == YH_ERR_TOO_LONG ? YH_ERR_DB : r;
			break;
		}
		cur->created = at < cur->created ? at : cur->created;
		cur->updated = at > cur->updated ? at : cur->updated;
	}
	if (r == 0 && cur != NULL)
		r = consent_finish(cur, &b);
	yh_buf_free(&b);
	if (r != 0) {
		dir_consent_list_free(arr, cnt);
		return r;
	}
	*out = arr;
	*n = cnt;
	return 0;
}

static int
sq_consent_get(void *be, const char *owner, const char *client, struct dir_consent *out)
{
	struct dir_consent *arr = NULL;
	struct sq *s = be;
	sqlite3_stmt *st;
	size_t n = 0;
	int e = YH_ERR_DB;

	LOCK(s);
	if ((st = sq_get(s, ST_CONSENT_GET)) != NULL) {
		bind_text(st, 1, owner);
		bind_text(st, 2, client);
		e = consent_collect(s, st, 1, &arr, &n);
	}
	sq_done(st);
	UNLOCK(s);
	if (e == 0 && n == 0)
		e = YH_ERR_NOT_FOUND;
	if (e == 0) {
		*out = arr[0];
		free(arr);
		arr = NULL;
	}
	dir_consent_list_free(arr, n);
	return e;
}

/* The number of scopes recorded for (owner, client). */
static int
consent_count(struct sq *s, const char *owner, const char *client, int64_t *cnt)
{
	sqlite3_stmt *st = sq_get(s, ST_CONSENT_COUNT);
	int e = YH_ERR_DB;

	if (st != NULL) {
		bind_text(st, 1, owner);
		bind_text(st, 2, client);
		if ((e = sq_row(s, st, "consent count")) == 1) {
			*cnt = sqlite3_column_int64(st, 0);
			e = 0;
		} else if (e == 0)
			e = YH_ERR_DB;
	}
	sq_done(st);
	return e;
}

/* Inserts the scopes that are not there yet; refuses a set past DIR_SCOPES_MAX. */
static int
consent_insert(struct sq *s, const char *owner, const char *client,
    const char *const *scopes, size_t n, int64_t now)
{
	sqlite3_stmt *st;
	int64_t cnt = 0;
	int e = 0;

	for (size_t i = 0; e == 0 && i < n; i++) {
		if ((st = sq_get(s, ST_CONSENT_ADD)) == NULL)
			return YH_ERR_DB;
		bind_text(st, 1, owner);
		bind_text(st, 2, client);
		bind_text(st, 3, scopes[i]);
		sqlite3_bind_int64(st, 4, now);
		e = sq_exec(s, st, "consent add");
		sq_done(st);
	}
	if (e == 0 && (e = consent_count(s, owner, client, &cnt)) == 0 &&
	    cnt > DIR_SCOPES_MAX)
		e = YH_ERR_LIMIT;
	return e;
}

static int
sq_consent_add(void *be, const char *owner, const char *client, const char *const *scopes,
    size_t n, int64_t now)
{
	struct sq *s = be;
	int e;

	if ((e = sq_wbegin(s)) == 0 && (e = sp_begin(s)) == 0)
		e = sp_end(s, consent_insert(s, owner, client, scopes, n, now));
	return sq_wend(s, e);
}

static int
sq_consent_list(void *be, const char *owner, struct dir_consent **out, size_t *n)
{
	struct sq *s = be;
	sqlite3_stmt *st;
	int e = YH_ERR_DB;

	*out = NULL;
	*n = 0;
	LOCK(s);
	if ((st = sq_get(s, ST_CONSENT_LIST)) != NULL) {
		bind_text(st, 1, owner);
		e = consent_collect(s, st, DIR_LIST_MAX, out, n);
	}
	sq_done(st);
	UNLOCK(s);
	return e;
}

static int
sq_consent_remove(void *be, const char *owner, const char *client)
{
	struct sq *s = be;
	sqlite3_stmt *st = NULL;
	int e;

	if ((e = sq_wstmt(s, ST_CONSENT_REMOVE, &st)) == 0) {
		bind_text(st, 1, owner);
		bind_text(st, 2, client);
		if ((e = sq_exec(s, st, "consent remove")) == 0 && sqlite3_changes(s->db) == 0)
			e = YH_ERR_NOT_FOUND;
	}
	sq_done(st);
	return sq_wend(s, e);
}

/* ---- subject pins ---- */

/* Inserts the n pins of uid (ST_PIN_ADD: one already there for a sector stays). */
static int
pin_insert(struct sq *s, const char *uid, const struct dir_subject_pin *pins, size_t n)
{
	sqlite3_stmt *st;
	int e = 0;

	for (size_t i = 0; e == 0 && i < n; i++) {
		if ((st = sq_get(s, ST_PIN_ADD)) == NULL)
			return YH_ERR_DB;
		bind_text(st, 1, uid);
		bind_text(st, 2, pins[i].sector);
		bind_text(st, 3, pins[i].sub);
		e = sq_exec(s, st, "subject pin add");
		sq_done(st);
	}
	return e;
}

static int
sq_subject_pin_add(void *be, const char *uid, const struct dir_subject_pin *pins, size_t n)
{
	struct sq *s = be;
	int e;

	if ((e = sq_wbegin(s)) == 0 && (e = sp_begin(s)) == 0)
		e = sp_end(s, pin_insert(s, uid, pins, n));
	return sq_wend(s, e);
}

static int
sq_subject_pin_find(void *be, const char *uid, const char *sector,
    char sub[DIR_SUB_MAX + 1])
{
	struct sq *s = be;
	sqlite3_stmt *st;
	int e = YH_ERR_DB;

	LOCK(s);
	if ((st = sq_get(s, ST_PIN_FIND)) != NULL) {
		bind_text(st, 1, uid);
		bind_text(st, 2, sector);
		if ((e = sq_row(s, st, "subject pin")) == 1)
			e = col_fixed(st, 0, sub, DIR_SUB_MAX + 1);
		else if (e == 0)
			e = YH_ERR_NOT_FOUND;
	}
	sq_done(st);
	UNLOCK(s);
	return e;
}

/* ---- console permissions ---- */

static void
clear_pin(void *p)
{
	struct dir_pin_rec *x = p;

	free(x->sector);
	free(x->sub);
}

static int
read_pin(sqlite3_stmt *st, void *p)
{
	struct dir_pin_rec *x = p;
	int e;

	memset(x, 0, sizeof(*x));
	if ((e = col_str(st, 0, &x->sector)) == 0 && (e = col_str(st, 1, &x->sub)) == 0 &&
	    (x->sector == NULL || x->sub == NULL))
		e = YH_ERR_DB;
	if (e != 0)
		clear_pin(x);
	return e;
}

static int
sq_subject_pin_list(void *be, const char *uid, struct dir_pin_rec **out, size_t *n)
{
	struct sq *s = be;
	sqlite3_stmt *st = NULL;
	void *arr = NULL;
	int e;

	*n = 0;
	LOCK(s);
	if (sqlite3_prepare_v2(s->db, "SELECT sector, sub FROM subject_pin WHERE uid = ?1"
	    " ORDER BY sector", -1, &st, NULL) != SQLITE_OK)
		e = sq_map(s, sqlite3_errcode(s->db), "pin list");
	else {
		bind_text(st, 1, uid);
		e = collect(s, st, sizeof(struct dir_pin_rec), DIR_LIST_MAX, read_pin, clear_pin,
		    &arr, n);
	}
	sqlite3_finalize(st);
	UNLOCK(s);
	*out = arr;
	return e;
}

static int
sq_console_set(void *be, const char *mandate_id, const char *perms, const char *by,
    int64_t now)
{
	struct sq *s = be;
	sqlite3_stmt *st = NULL;
	int e;

	if ((e = sq_wstmt(s, perms != NULL ? ST_CONSOLE_SET : ST_CONSOLE_DEL, &st)) == 0) {
		bind_text(st, 1, mandate_id);
		if (perms != NULL) {
			bind_text(st, 2, perms);
			bind_opt(st, 3, by);
			sqlite3_bind_int64(st, 4, now);
		}
		e = sq_exec(s, st, "console role");
	}
	sq_done(st);
	return sq_wend(s, e);
}

static int
sq_console_get(void *be, const char *mandate_id, char perms[DIR_CONSOLE_PERMS_MAX + 1])
{
	struct sq *s = be;
	sqlite3_stmt *st;
	int e = YH_ERR_DB;

	perms[0] = '\0';
	LOCK(s);
	if ((st = sq_get(s, ST_CONSOLE_GET)) != NULL) {
		bind_text(st, 1, mandate_id);
		if ((e = sq_row(s, st, "console role")) == 1)
			e = col_fixed(st, 0, perms, DIR_CONSOLE_PERMS_MAX + 1);
	}
	sq_done(st);
	UNLOCK(s);
	return e;
}

/* ---- upstream links ---- */

static int
sq_ulink_add(void *be, const char *upstream, const char *sub, const char *uid, int64_t now)
{
	struct sq *s = be;
	sqlite3_stmt *st = NULL;
	int e;

	if ((e = sq_wstmt(s, ST_ULINK_ADD, &st)) == 0) {
		bind_text(st, 1, upstream);
		bind_text(st, 2, sub);
		bind_text(st, 3, uid);
		sqlite3_bind_int64(st, 4, now);
		e = sq_exec(s, st, "upstream link");
	}
	sq_done(st);
	return sq_wend(s, e);
}

static int
sq_ulink_get(void *be, const char *upstream, const char *sub, char uid[DIR_UID_LEN + 1])
{
	struct sq *s = be;
	sqlite3_stmt *st;
	int e = YH_ERR_DB;

	uid[0] = '\0';
	LOCK(s);
	if ((st = sq_get(s, ST_ULINK_GET)) != NULL) {
		bind_text(st, 1, upstream);
		bind_text(st, 2, sub);
		if ((e = sq_row(s, st, "upstream link")) == 1)
			e = col_fixed(st, 0, uid, DIR_UID_LEN + 1);
		else if (e == 0)
			e = YH_ERR_NOT_FOUND;
	}
	sq_done(st);
	UNLOCK(s);
	return e;
}

static int
read_ulink_v(sqlite3_stmt *st, void *p)
{
	struct dir_upstream_link *k = p;
	int e;

	memset(k, 0, sizeof(*k));
	if ((e = col_fixed(st, 0, k->upstream, sizeof(k->upstream))) != 0 ||
	    (e = col_fixed(st, 1, k->sub, sizeof(k->sub))) != 0)
		return e;
	k->created = sqlite3_column_int64(st, 2);
	return 0;
}

static void clear_fixed_v(void *p) { (void)p; }

static int
sq_ulink_list(void *be, const char *uid, struct dir_upstream_link **out, size_t *n)
{
	struct sq *s = be;
	sqlite3_stmt *st;
	void *arr = NULL;
	int e = YH_ERR_DB;

	*n = 0;
	LOCK(s);
	if ((st = sq_get(s, ST_ULINK_LIST)) != NULL) {
		bind_text(st, 1, uid);
		e = collect(s, st, sizeof(struct dir_upstream_link), DIR_UPSTREAM_LINKS_MAX + 1,
		    read_ulink_v, clear_fixed_v, &arr, n);
	}
	sq_done(st);
	UNLOCK(s);
	if (e == 0 && *n > DIR_UPSTREAM_LINKS_MAX) {
		free(arr);
		arr = NULL;
		*n = 0;
		e = YH_ERR_LIMIT;
	}
	*out = arr;
	return e;
}

/* ---- certificate bindings ---- */

static int
sq_cert_bind(void *be, const struct dir_cert_binding *b)
{
	struct sq *s = be;
	sqlite3_stmt *st = NULL;
	int e;

	if ((e = sq_wstmt(s, ST_CERT_BIND, &st)) == 0) {
		bind_text(st, 1, b->id);
		bind_text(st, 2, b->uid);
		bind_text(st, 3, b->issuer);
		bind_text(st, 4, b->serial);
		bind_text(st, 5, b->key_sha256);
		sqlite3_bind_int64(st, 6, b->created);
		if ((e = sq_exec(s, st, "certificate binding")) == 0 && sqlite3_changes(s->db) == 0)
			e = YH_ERR_NOT_FOUND;
	}
	sq_done(st);
	return sq_wend(s, e);
}

static int
read_cert_v(sqlite3_stmt *st, void *p)
{
	struct dir_cert_binding *b = p;
	int e;

	memset(b, 0, sizeof(*b));
	if ((e = col_fixed(st, 0, b->id, sizeof(b->id))) != 0 ||
	    (e = col_fixed(st, 1, b->uid, sizeof(b->uid))) != 0 ||
	    (e = col_fixed(st, 2, b->issuer, sizeof(b->issuer))) != 0 ||
	    (e = col_fixed(st, 3, b->serial, sizeof(b->serial))) != 0 ||
	    (e = col_fixed(st, 4, b->key_sha256, sizeof(b->key_sha256))) != 0)
		return e;
	b->created = sqlite3_column_int64(st, 5);
	return 0;
}


static int
sq_cert_list(void *be, const char *uid, struct dir_cert_binding **out, size_t *n)
{
	struct sq *s = be;
	sqlite3_stmt *st;
	void *arr = NULL;
	int e = YH_ERR_DB;

	*n = 0;
	LOCK(s);
	if ((st = sq_get(s, ST_CERT_LIST)) != NULL) {
		bind_text(st, 1, uid);
		e = collect(s, st, sizeof(struct dir_cert_binding), DIR_CERT_BINDINGS_MAX,
		    read_cert_v, clear_fixed_v, &arr, n);
	}
	sq_done(st);
	UNLOCK(s);
	*out = arr;
	return e;
}

static int
sq_cert_unbind(void *be, const char *uid, const char *id)
{
	struct sq *s = be;
	sqlite3_stmt *st = NULL;
	int e;

	if ((e = sq_wstmt(s, ST_CERT_UNBIND, &st)) == 0) {
		bind_text(st, 1, uid);
		bind_text(st, 2, id);
		if ((e = sq_exec(s, st, "certificate unbinding")) == 0 &&
		    sqlite3_changes(s->db) == 0)
			e = YH_ERR_NOT_FOUND;
	}
	sq_done(st);
	return sq_wend(s, e);
}

/* ---- re-keying ---- */

/* Reads an entity list row (uid, kind) into the struct dir_entity at row. */
static void
read_entity_row(sqlite3_stmt *st, void *row)
{
	const unsigned char *kind = sqlite3_column_text(st, 1);

	((struct dir_entity *)row)->org = kind != NULL && strcmp((const char *)kind, "org") == 0;
}

static int
sq_person_find_name(void *be, const char *name, size_t limit, struct dir_entity *out,
    size_t *n)
{
	return uid_page(be, "SELECT uid, 'person' FROM person WHERE name = ?1 ORDER BY uid"
	    " LIMIT ?2", name, 0, limit, out, sizeof(*out), read_entity_row, n);
}

/* Name search: ?1 the LIKE pattern of the folded fragment, ?3 unused. */
static int
sq_person_search_name(void *be, const char *key, size_t limit, struct dir_entity *out,
    size_t *n)
{
	char pat[2 * DIR_NAME_KEY_MAX + 1];
	size_t j = 0;

	for (const char *k = key; *k != '\0' && j + 2 < sizeof(pat); k++) {
		if (*k == '%' || *k == '_' || *k == '\\')
			pat[j++] = '\\';
		pat[j++] = *k;
	}
	pat[j] = '\0';
	return uid_page(be, "SELECT uid, 'person' FROM person WHERE name_key LIKE"
	    " '%' || ?1 || '%' ESCAPE '\\' ORDER BY name_key NOT LIKE ?1 || '%' ESCAPE '\\',"
	    " uid LIMIT ?2", pat, 0, limit, out, sizeof(*out), read_entity_row, n);
}

static int
sq_org_find_name(void *be, const char *name, size_t limit, struct dir_entity *out,
    size_t *n)
{
	return uid_page(be, "SELECT uid, 'org' FROM org WHERE name = ?1 ORDER BY uid"
	    " LIMIT ?2", name, 0, limit, out, sizeof(*out), read_entity_row, n);
}

static int
sq_person_loa_history(void *be, const char *uid, struct dir_loa **out, size_t *n)
{
	struct sq *s = be;
	struct dir_loa *arr = NULL;
	sqlite3_stmt *st = NULL;
	size_t cnt = 0;
	int e;

	*out = NULL;
	*n = 0;
	LOCK(s);
	if (sqlite3_prepare_v2(s->db, "SELECT loa, method, verifier, evidence, at FROM"
	    " loa_event WHERE person_uid = ?1 ORDER BY id LIMIT ?2", -1, &st, NULL) !=
	    SQLITE_OK) {
		e = sq_map(s, sqlite3_errcode(s->db), "loa history");
		goto out;
	}
	bind_text(st, 1, uid);
	sqlite3_bind_int64(st, 2, DIR_LIST_MAX);
	if ((arr = calloc(DIR_LIST_MAX, sizeof(*arr))) == NULL) {
		e = YH_ERR_ALLOC;
		goto out;
	}
	while (cnt < DIR_LIST_MAX && (e = sq_row(s, st, "loa history")) == 1) {
		struct dir_loa *v = &arr[cnt++];

		v->level = sqlite3_column_int(st, 0);
		v->at = sqlite3_column_int64(st, 4);
		if ((e = col_str(st, 1, &v->method)) != 0 || (e = col_str(st, 2, &v->by)) != 0 ||
		    (e = col_str(st, 3, &v->evidence)) != 0)
			break;
	}
	if (e == 1 || e == 0)
		e = 0;
out:
	sqlite3_finalize(st);
	UNLOCK(s);
	if (e != 0 || cnt == 0) {
		dir_loa_list_free(arr, cnt);
		return e;
	}
	*out = arr;
	*n = cnt;
	return 0;
}

static int
sq_entity_list(void *be, const char *after, size_t limit, struct dir_entity *out,
    size_t *n)
{
	return uid_page(be, "SELECT uid, kind FROM entity WHERE uid > ?1 ORDER BY uid LIMIT ?2",
	    after, 0, limit, out, sizeof(*out), read_entity_row, n);
}

/* Every column that holds a person's or an organization's uid, entity first (it must
 * change exactly one row). A table added to the schema with such a column belongs here;
 * test_idmerge's re-key test looks for old uids in every column of every table. */
static const char *const rekey_sql[] = {
	"UPDATE entity SET uid = ?2 WHERE uid = ?1",
	"UPDATE person SET uid = ?2 WHERE uid = ?1",
	"UPDATE org SET uid = ?2 WHERE uid = ?1",
	"UPDATE loa_event SET person_uid = ?2 WHERE person_uid = ?1",
	"UPDATE org SET legal_rep_uid = ?2 WHERE legal_rep_uid = ?1",
	"UPDATE mandate SET person_uid = ?2 WHERE person_uid = ?1",
	"UPDATE mandate SET org_uid = ?2 WHERE org_uid = ?1",
	"UPDATE mandate SET granted_by = ?2 WHERE granted_by = ?1",
	"UPDATE org_history SET org_uid = ?2 WHERE org_uid = ?1",
	"UPDATE org_history SET old_value = ?2 WHERE old_value = ?1",
	"UPDATE org_history SET new_value = ?2 WHERE new_value = ?1",
	"UPDATE legacy_link SET owner_uid = ?2 WHERE owner_uid = ?1",
	"UPDATE legacy_cred SET owner_uid = ?2 WHERE owner_uid = ?1",
	"UPDATE review_case SET merged_uid = ?2 WHERE merged_uid = ?1",
	"UPDATE credential SET owner_uid = ?2 WHERE owner_uid = ?1",
	"UPDATE totp SET owner_uid = ?2 WHERE owner_uid = ?1",
	"UPDATE consent SET owner_uid = ?2 WHERE owner_uid = ?1",
	"UPDATE subject_pin SET uid = ?2 WHERE uid = ?1",
	"UPDATE privacy_consent SET person_uid = ?2 WHERE person_uid = ?1",
	"UPDATE upstream_link SET uid = ?2 WHERE uid = ?1",
	"UPDATE cert_binding SET uid = ?2 WHERE uid = ?1",
};
#define REKEY_STMTS (sizeof(rekey_sql) / sizeof(rekey_sql[0]))

/* Moves one entity's records, then records its new pins under the new uid (after the
 * move, so that a pin moved along is the one kept); the transaction is open and its
 * foreign keys deferred. */
static int
rekey_one(struct sq *s, sqlite3_stmt **st, const struct dir_rekey *p)
{
	int e = 0;

	for (size_t i = 0; i < REKEY_STMTS && e == 0; i++) {
		bind_text(st[i], 1, p->old_uid);
		bind_text(st[i], 2, p->new_uid);
		e = sq_exec(s, st[i], "re-key");
		if (e == 0 && i == 0 && sqlite3_changes(s->db) != 1)
			e = YH_ERR_NOT_FOUND;
		sq_done(st[i]);
	}
	if (e == 0)
		e = pin_insert(s, p->new_uid, p->pins, p->npins);
	return e;
}

/*
 * One transaction for the whole batch. The foreign keys are deferred to its commit (the
 * pragma lasts until then): an entity and the rows referring to it change uid one
 * statement after the other, consistent again only at the end.
 */
static int
sq_uid_rekey(void *be, const struct dir_rekey *pairs, size_t n)
{
	struct sq *s = be;
	sqlite3_stmt *st[REKEY_STMTS];
	int e = 0, rc;

	memset(st, 0, sizeof(st));
	LOCK(s);
	if (s->bulk) {
		UNLOCK(s);
		return YH_ERR_BUSY;
	}
	if ((rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) != SQLITE_OK) {
		e = sq_map(s, rc, "re-key begin");
		UNLOCK(s);
		return e;
	}
	if ((rc = sqlite3_exec(s->db, "PRAGMA defer_foreign_keys = ON", NULL, NULL, NULL)) !=
	    SQLITE_OK)
		e = sq_map(s, rc, "re-key");
	for (size_t i = 0; i < REKEY_STMTS && e == 0; i++)
		if ((rc = sqlite3_prepare_v2(s->db, rekey_sql[i], -1, &st[i], NULL)) != SQLITE_OK)
			e = sq_map(s, rc, "re-key prepare");
	for (size_t i = 0; i < n && e == 0; i++)
		e = rekey_one(s, st, &pairs[i]);
	for (size_t i = 0; i < REKEY_STMTS; i++)
		sqlite3_finalize(st[i]);
	if (e == 0 && (rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK)
		e = sq_map(s, rc, "re-key commit");   /* a deferred foreign key still open */
	if (e != 0)
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	UNLOCK(s);
	return e;
}

/* ---- review cases ---- */

static int
read_case(sqlite3_stmt *st, struct dir_case *c)
{
	int e;

	memset(c, 0, sizeof(*c));
	if ((e = col_fixed(st, 0, c->id, sizeof(c->id))) != 0 ||
	    (e = col_str(st, 1, &c->reason)) != 0 ||
	    (e = dir_case_state_parse((const char *)sqlite3_column_text(st, 2), &c->state)) != 0 ||
	    (e = col_str(st, 3, &c->body)) != 0 || (e = col_str(st, 5, &c->decided_by)) != 0 ||
	    (e = col_str(st, 6, &c->note)) != 0 ||
	    (e = col_fixed(st, 8, c->merged_uid, sizeof(c->merged_uid))) != 0) {
		dir_case_clear(c);
		return e == YH_ERR_INVALID ? YH_ERR_DB : e;
	}
	c->created = sqlite3_column_int64(st, 4);
	c->decided_at = sqlite3_column_int64(st, 7);
	c->used = sqlite3_column_int64(st, 9);
	c->created_person = sqlite3_column_int(st, 10) != 0;
	return 0;
}

static int read_case_v(sqlite3_stmt *st, void *p) { return read_case(st, p); }
static void clear_case_v(void *p) { dir_case_clear(p); }

/* The case holding (source, legacy_id) into other; YH_ERR_NOT_FOUND when none. */
static int
member_case(struct sq *s, const struct dir_case_member *m, char other[DIR_CASE_ID_LEN + 1])
{
	sqlite3_stmt *st = sq_get(s, ST_CASE_MEMBER_GET);
	int e;

	if (st == NULL)
		return YH_ERR_DB;
	bind_text(st, 1, m->source);
	bind_text(st, 2, m->legacy_id);
	if ((e = sq_row(s, st, "case member")) == 1)
		e = col_fixed(st, 0, other, DIR_CASE_ID_LEN + 1);
	else if (e == 0)
		e = YH_ERR_NOT_FOUND;
	sq_done(st);
	return e;
}

/* Inserts the case and its members in the open savepoint. */
static int
case_insert(struct sq *s, const struct dir_case *c, const struct dir_case_member *m,
    size_t n, char other[DIR_CASE_ID_LEN + 1])
{
	sqlite3_stmt *st = sq_get(s, ST_CASE_ADD);
	int e;

	if (st == NULL)
		return YH_ERR_DB;
	bind_text(st, 1, c->id);
	bind_text(st, 2, c->reason);
	bind_text(st, 3, c->body);
	sqlite3_bind_int64(st, 4, c->created);
	e = sq_exec(s, st, "case add");
	sq_done(st);
	for (size_t i = 0; i < n && e == 0; i++) {
		if ((e = member_case(s, &m[i], other)) == 0)
			return YH_ERR_CONFLICT;
		if (e != YH_ERR_NOT_FOUND)
			return e;
		if ((st = sq_get(s, ST_CASE_MEMBER_ADD)) == NULL)
			return YH_ERR_DB;
		bind_text(st, 1, m[i].source);
		bind_text(st, 2, m[i].legacy_id);
		bind_text(st, 3, c->id);
		e = sq_exec(s, st, "case member add");
		sq_done(st);
		if (e == YH_ERR_EXISTS) {   /* the same record twice in this case */
			memcpy(other, c->id, DIR_CASE_ID_LEN + 1);
			e = YH_ERR_CONFLICT;
		}
	}
	return e;
}

static int
sq_case_add(void *be, const struct dir_case *c, const struct dir_case_member *m, size_t n,
    char other[DIR_CASE_ID_LEN + 1])
{
	struct sq *s = be;
	int e;

	if ((e = sq_wbegin(s)) == 0 && (e = sp_begin(s)) == 0)
		e = sp_end(s, case_insert(s, c, m, n, other));
	return sq_wend(s, e);
}

/* Reads case id with the connection held. */
static int
case_read(struct sq *s, const char *id, struct dir_case *out)
{
	sqlite3_stmt *st = sq_get(s, ST_CASE_GET);
	int e;

	if (st == NULL)
		return YH_ERR_DB;
	bind_text(st, 1, id);
	if ((e = sq_row(s, st, "case get")) == 1)
		e = read_case(st, out);
	else if (e == 0)
		e = YH_ERR_NOT_FOUND;
	sq_done(st);
	return e;
}

static int
sq_case_get(void *be, const char *id, struct dir_case *out)
{
	struct sq *s = be;
	int e;

	LOCK(s);
	e = case_read(s, id, out);
	UNLOCK(s);
	return e;
}

static int
sq_case_list(void *be, const char *state, const char *reason, const char *after,
    size_t limit, struct dir_case **out, size_t *n)
{
	struct sq *s = be;
	sqlite3_stmt *st;
	void *arr = NULL;
	int e = YH_ERR_DB;

	LOCK(s);
	if ((st = sq_get(s, ST_CASE_LIST)) != NULL) {
		bind_text(st, 1, state);
		bind_text(st, 2, reason);
		bind_text(st, 3, after);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)limit);
		e = collect(s, st, sizeof(struct dir_case), limit, read_case_v, clear_case_v,
		    &arr, n);
	}
	sq_done(st);
	UNLOCK(s);
	*out = arr;
	return e;
}

/* Records the decision on open case id (uid: the merge's person, or NULL).
 * YH_ERR_NOT_FOUND (no case), YH_ERR_EXISTS (decided already). */
static int
case_set_decision(struct sq *s, const char *id, const char *state, const char *uid,
    bool created, const char *by, const char *note, int64_t now)
{
	struct dir_case cur;
	sqlite3_stmt *st;
	int e;

	if ((e = case_read(s, id, &cur)) != 0)
		return e;
	e = cur.state == DIR_CASE_OPEN ? 0 : YH_ERR_EXISTS;
	dir_case_clear(&cur);
	if (e != 0 || (st = sq_get(s, ST_CASE_DECIDE)) == NULL)
		return e != 0 ? e : YH_ERR_DB;
	bind_text(st, 1, id);
	bind_text(st, 2, state);
	bind_text(st, 3, by);
	bind_text(st, 4, note);
	sqlite3_bind_int64(st, 5, now);
	bind_text(st, 6, uid);
	sqlite3_bind_int(st, 7, created ? 1 : 0);
	if ((e = sq_exec(s, st, "case decide")) == 0 && sqlite3_changes(s->db) != 1)
		e = YH_ERR_EXISTS;
	sq_done(st);
	return e;
}

/* Links one account of a merge to uid, with its legacy password. */
static int
case_link(struct sq *s, const char *uid, const struct dir_case_link *l, int64_t now)
{
	sqlite3_stmt *st;
	int e;

	if ((st = sq_get(s, ST_LEGACY_ADD)) == NULL)
		return YH_ERR_DB;
	bind_text(st, 1, uid);
	bind_text(st, 2, l->source);
	bind_text(st, 3, l->legacy_id);
	bind_opt(st, 4, l->username);
	bind_text(st, 5, dir_status_str(l->status));
	sqlite3_bind_int64(st, 6, now);
	e = sq_exec(s, st, "case link");
	sq_done(st);
	if (e != 0 || l->scheme == NULL)
		return e == YH_ERR_EXISTS ? YH_ERR_CONFLICT : e;
	if (l->primary)
		return cred_write(s, uid, l->scheme, l->hash, l->salt, now);
	if ((st = sq_get(s, ST_LCRED_ADD)) == NULL)
		return YH_ERR_DB;
	bind_text(st, 1, l->source);
	bind_text(st, 2, l->legacy_id);
	bind_text(st, 3, uid);
	bind_text(st, 4, l->scheme);
	bind_text(st, 5, l->hash);
	bind_opt(st, 6, l->salt);
	e = sq_exec(s, st, "case credential");
	sq_done(st);
	return e == YH_ERR_EXISTS ? YH_ERR_CONFLICT : e;
}

/* Makes the person a merge joins records to. */
static int
case_person(struct sq *s, const struct dir_person_rec *r)
{
	int e;

	if ((e = entity_add(s, r->p.uid, "person")) == 0)
		e = person_insert(s, r);
	return e == YH_ERR_EXISTS ? YH_ERR_CONFLICT : e;
}

static int
case_merge_txn(struct sq *s, const char *id, const char *uid,
    const struct dir_person_rec *create, const struct dir_case_link *l, size_t n,
    const char *by, const char *note, int64_t now)
{
	int e;

	if ((e = case_set_decision(s, id, "merged", uid, create != NULL, by, note, now)) != 0 ||
	    (create != NULL && (e = case_person(s, create)) != 0))
		return e;
	if ((e = person_closed(s, uid)) != 0)
		return e == 1 ? YH_ERR_DENIED : e;   /* deregistered, or no such person */
	for (size_t i = 0; i < n && e == 0; i++)
		e = case_link(s, uid, &l[i], now);
	return e;
}

static int
sq_case_merge(void *be, const char *id, const char *uid, const struct dir_person_rec *create,
    const struct dir_case_link *l, size_t n, const char *by, const char *note, int64_t now)
{
	struct sq *s = be;
	int e;

	if ((e = sq_wbegin(s)) == 0 && (e = sp_begin(s)) == 0)
		e = sp_end(s, case_merge_txn(s, id, uid, create, l, n, by, note, now));
	return sq_wend(s, e);
}

/* Makes the organization an organizations' case is merged into. */
static int
case_org(struct sq *s, const struct dir_org *o, const char *by)
{
	int e;

	if ((e = entity_add(s, o->uid, "org")) == 0 && (e = org_insert(s, o)) == 0)
		e = hist_add(s, o->uid, "created", NULL, o->uscc != NULL ? o->uscc :
		    o->org_code, by, o->updated);
	return e == YH_ERR_EXISTS ? YH_ERR_CONFLICT : e;
}

static int
case_merge_org_txn(struct sq *s, const char *id, const char *uid,
    const struct dir_org *create, const struct dir_case_link *l, size_t n,
    const char *by, const char *note, int64_t now)
{
	struct dir_org cur;
	int e;

	if ((e = case_set_decision(s, id, "merged", uid, create != NULL, by, note, now)) != 0 ||
	    (create != NULL && (e = case_org(s, create, by)) != 0))
		return e;
	if ((e = org_read(s, uid, &cur)) != 0)
		return e;
	e = cur.status == DIR_STATUS_ACTIVE ? 0 : YH_ERR_DENIED;
	dir_org_clear(&cur);
	for (size_t i = 0; i < n && e == 0; i++)
		e = case_link(s, uid, &l[i], now);
	return e;
}

static int
sq_case_merge_org(void *be, const char *id, const char *uid, const struct dir_org *create,
    const struct dir_case_link *l, size_t n, const char *by, const char *note, int64_t now)
{
	struct sq *s = be;
	int e;

	if ((e = sq_wbegin(s)) == 0 && (e = sp_begin(s)) == 0)
		e = sp_end(s, case_merge_org_txn(s, id, uid, create, l, n, by, note, now));
	return sq_wend(s, e);
}

static int
sq_case_decide(void *be, const char *id, const char *state, const char *by,
    const char *note, int64_t now)
{
	struct sq *s = be;
	int e;

	if ((e = sq_wbegin(s)) == 0 && (e = sp_begin(s)) == 0)
		e = sp_end(s, case_set_decision(s, id, state, NULL, false, by, note, now));
	return sq_wend(s, e);
}

/* What a merge made: 0 a person, 1 an organization without relations, YH_ERR_DENIED an
 * organization holding a relation (used since), or an error. */
static int
case_made_kind(struct sq *s, const char *uid)
{
	sqlite3_stmt *st = NULL;
	int e;

	if (sqlite3_prepare_v2(s->db, "SELECT e.kind = 'org', EXISTS (SELECT 1 FROM mandate m"
	    " WHERE m.org_uid = e.uid) FROM entity e WHERE e.uid = ?1", -1, &st, NULL) !=
	    SQLITE_OK)
		return sq_map(s, sqlite3_errcode(s->db), "case undo");
	bind_text(st, 1, uid);
	if ((e = sq_row(s, st, "case undo")) == 1)
		e = sqlite3_column_int(st, 0) == 0 ? 0 : sqlite3_column_int(st, 1) != 0 ?
		    YH_ERR_DENIED : 1;
	else if (e == 0)
		e = YH_ERR_NOT_FOUND;
	sqlite3_finalize(st);
	return e;
}

static int
case_undo_txn(struct sq *s, const char *id)
{
	static const enum sq_stmt steps[] = { ST_CASE_UNCRED, ST_CASE_UNLINK, ST_CASE_REOPEN };
	struct dir_case cur;
	int e;

	if ((e = case_read(s, id, &cur)) != 0)
		return e;
	if (cur.state == DIR_CASE_OPEN)
		e = YH_ERR_INVALID;
	else if (cur.state == DIR_CASE_MERGED && cur.used != 0)
		e = YH_ERR_DENIED;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]) && e == 0; i++)
		e = sq_run(s, steps[i], "case undo", id, cur.merged_uid[0] ? cur.merged_uid : "");
	/* A person or organization the merge made goes again, with everything it got
	 * since (the case is reopened first, so the purge's review steps leave it alone);
	 * an organization that holds a relation has been used and stays. */
	if (e == 0 && cur.created_person)
		e = case_made_kind(s, cur.merged_uid);
	if (e == 1)
		e = sq_run_each(s, sq_org_purge_steps, sizeof(sq_org_purge_steps) /
		    sizeof(sq_org_purge_steps[0]), cur.merged_uid, 0, "case undo");
	else if (e == 0 && cur.created_person)
		e = sq_run_each(s, sq_purge_steps, sizeof(sq_purge_steps) /
		    sizeof(sq_purge_steps[0]), cur.merged_uid, 0, "case undo");
	dir_case_clear(&cur);
	return e;
}

static int
sq_case_undo(void *be, const char *id)
{
	struct sq *s = be;
	int e;

	if ((e = sq_wbegin(s)) == 0 && (e = sp_begin(s)) == 0)
		e = sp_end(s, case_undo_txn(s, id));
	return sq_wend(s, e);
}

static int
sq_case_note_login(void *be, const char *uid, int64_t now)
{
	struct sq *s = be;
	sqlite3_stmt *st;
	int e;

	LOCK(s);
	if ((st = sq_get(s, ST_CASE_USED_FIND)) == NULL) {
		UNLOCK(s);
		return YH_ERR_DB;
	}
	bind_text(st, 1, uid);
	e = sq_row(s, st, "case used");
	sq_done(st);
	UNLOCK(s);
	if (e != 1)
		return e;
	if ((e = sq_wstmt(s, ST_CASE_USED_SET, &st)) == 0) {
		bind_text(st, 1, uid);
		sqlite3_bind_int64(st, 2, now);
		e = sq_exec(s, st, "case used");
	}
	sq_done(st);
	return sq_wend(s, e);
}

static int
read_cred_v(sqlite3_stmt *st, void *p)
{
	struct dir_cred *c = p;
	int e;

	memset(c, 0, sizeof(*c));
	if ((e = col_str(st, 0, &c->scheme)) != 0 || (e = col_str(st, 1, &c->hash)) != 0 ||
	    (e = col_str(st, 2, &c->salt)) != 0 || c->scheme == NULL || c->hash == NULL) {
		dir_cred_clear(c);
		return e != 0 ? e : YH_ERR_DB;
	}
	return 0;
}

static void clear_cred_v(void *p) { dir_cred_clear(p); }

static int
sq_legacy_cred_list(void *be, const char *owner, struct dir_cred **out, size_t *n)
{
	struct sq *s = be;
	sqlite3_stmt *st;
	void *arr = NULL;
	int e = YH_ERR_DB;

	LOCK(s);
	if ((st = sq_get(s, ST_LCRED_LIST)) != NULL) {
		bind_text(st, 1, owner);
		e = collect(s, st, sizeof(struct dir_cred), DIR_LEGACY_CREDS_MAX, read_cred_v,
		    clear_cred_v, &arr, n);
	}
	sq_done(st);
	UNLOCK(s);
	*out = arr;
	return e;
}

/* ---- opening ---- */

static void
sq_close(void *be)
{
	struct sq *s = be;

	if (s == NULL)
		return;
	if (s->bulk && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		yh_error("sqlite commit at close (%s): %s", s->path, sqlite3_errmsg(s->db));
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->mu);
	free(s->path);
	free(s);
}

/* Runs a constant SQL text (pragmas, DDL: nothing to bind). */
static int
sq_const(struct sq *s, const char *sql, char *err, size_t errsz)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	snprintf(err, errsz, "directory %s: %s", s->path, msg != NULL ? msg : "sqlite error");
	sqlite3_free(msg);
	return YH_ERR_DB;
}

/* Runs a one-value query into an int64. */
static int
sq_scalar(struct sq *s, const char *sql, int64_t *out, char *err, size_t errsz)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL)) == SQLITE_OK &&
	    (rc = sqlite3_step(st)) == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		return 0;
	}
	snprintf(err, errsz, "directory %s: %s", s->path,
	    rc == SQLITE_DONE ? "no result" : sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	return (rc & 0xff) == SQLITE_NOTADB || rc == SQLITE_DONE ? YH_ERR_INVALID : YH_ERR_DB;
}

static int
sq_create_schema(struct sq *s, char *err, size_t errsz)
{
	char ver[16];
	int64_t n;
	int r;

	if ((r = sq_const(s, "BEGIN IMMEDIATE", err, errsz)) != 0)
		return r;
	/* Another process may have created it meanwhile. */
	if ((r = sq_scalar(s, "SELECT count(*) FROM sqlite_master", &n, err, errsz)) == 0 &&
	    n == 0 && (r = sq_const(s, dir_sql_text[DIR_SQL_SCHEMA], err, errsz)) == 0) {
		snprintf(ver, sizeof(ver), "%d", DIR_SQLITE_SCHEMA_VERSION);
		r = meta_put(s, "schema_version", ver);
		if (r != 0)
			snprintf(err, errsz, "directory %s: cannot record the schema version",
			    s->path);
	}
	if (r == 0)
		return sq_const(s, "COMMIT", err, errsz);
	(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

/* Reads the recorded schema version (1..1000000). */
static int
sq_version(struct sq *s, uint64_t *v)
{
	char *ver = NULL;
	int r;

	*v = 0;
	if ((r = sq_meta_get(s, "schema_version", &ver)) == 0)
		r = yh_parse_u64(ver, 1, 1000000, v);
	free(ver);
	return r;
}

/* The steps from one version to the next (sql/migrate_N.sql makes version N); step i
 * turns version i + 1 into i + 2. Each runs once, in the transaction that records the
 * version it makes (sq_migrate). */
static const enum dir_sql_file sq_migrations[DIR_SQLITE_SCHEMA_VERSION - 1] = {
	DIR_SQL_MIGRATE_2,
	DIR_SQL_MIGRATE_3,
	DIR_SQL_MIGRATE_4,
	DIR_SQL_MIGRATE_5,
	DIR_SQL_MIGRATE_6,
	DIR_SQL_MIGRATE_7,
	DIR_SQL_MIGRATE_8,
	DIR_SQL_MIGRATE_9,
	DIR_SQL_MIGRATE_10,
	DIR_SQL_MIGRATE_11,
	DIR_SQL_MIGRATE_12,
	DIR_SQL_MIGRATE_13,
	DIR_SQL_MIGRATE_14,
	DIR_SQL_MIGRATE_15,
};

#define SQ_FILL_BATCH 512   /* persons given their name key per query */

/* One batch of persons without a name key, after rowid *last: their keys written. 0,
 * 1 when there was none left, or an error. */
static int
sq_fill_batch(struct sq *s, sqlite3_int64 *last)
{
	char (*keys)[DIR_NAME_KEY_MAX + 1] = malloc(SQ_FILL_BATCH * sizeof(*keys));
	sqlite3_int64 ids[SQ_FILL_BATCH];
	sqlite3_stmt *st = NULL;
	size_t n = 0;
	int rc = SQLITE_OK, e = 0;

	if (keys == NULL)
		return YH_ERR_ALLOC;
	if (sqlite3_prepare_v2(s->db, "SELECT rowid, name FROM person WHERE rowid > ?1"
	    " AND name_key IS NULL ORDER BY rowid LIMIT ?2", -1, &st, NULL) != SQLITE_OK) {
		free(keys);
		return sq_map(s, sqlite3_errcode(s->db), "name keys");
	}
	sqlite3_bind_int64(st, 1, *last);
	sqlite3_bind_int(st, 2, SQ_FILL_BATCH);
	while (n < SQ_FILL_BATCH && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		ids[n] = sqlite3_column_int64(st, 0);
		dir_name_key((const char *)sqlite3_column_text(st, 1), keys[n]);
		n++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		e = sq_map(s, rc, "name keys");
	sqlite3_finalize(st);
	st = NULL;
	if (e == 0 && n > 0 && sqlite3_prepare_v2(s->db, "UPDATE person SET name_key = ?1"
	    " WHERE rowid = ?2", -1, &st, NULL) != SQLITE_OK)
		e = sq_map(s, sqlite3_errcode(s->db), "name keys");
	for (size_t i = 0; e == 0 && i < n; i++) {
		bind_text(st, 1, keys[i]);
		sqlite3_bind_int64(st, 2, ids[i]);
		e = sq_exec(s, st, "name keys");
		sqlite3_reset(st);
		*last = ids[i];
	}
	sqlite3_finalize(st);
	free(keys);
	return e != 0 ? e : n == 0 ? 1 : 0;
}

/* Gives every person stored without one their name key (migrate_13.sql), in the
 * migration's transaction. */
static int
sq_fill_name_keys(struct sq *s)
{
	sqlite3_int64 last = 0;
	int e;

	while ((e = sq_fill_batch(s, &last)) == 0)
		;
	return e == 1 ? 0 : e;
}

/* After migrate_15.sql changed person's text in sqlite_master: the schema cookie one
 * higher, so that this and every other connection parse the schema again. */
static int
sq_schema_cookie_bump(struct sq *s, char *err, size_t errsz)
{
	char q[64];
	int64_t c;
	int r;

	if ((r = sq_scalar(s, "PRAGMA schema_version", &c, err, errsz)) != 0)
		return r;
	snprintf(q, sizeof(q), "PRAGMA schema_version = %lld", (long long)c + 1);
	return sq_const(s, q, err, errsz);
}

/*
 * Brings a store of version *v up to DIR_SQLITE_SCHEMA_VERSION in one transaction (re-reading
 * the version under the write lock: another process may have migrated it meanwhile).
 */
static int
sq_migrate(struct sq *s, uint64_t *v, char *err, size_t errsz)
{
	char ver[16];
	int r;

	if ((r = sq_const(s, "BEGIN IMMEDIATE", err, errsz)) != 0)
		return r;
	if ((r = sq_version(s, v)) != 0)
		snprintf(err, errsz, "directory %s: cannot read the schema version", s->path);
	while (r == 0 && *v < DIR_SQLITE_SCHEMA_VERSION) {
		if ((r = sq_const(s, dir_sql_text[sq_migrations[*v - 1]], err, errsz)) != 0)
			break;
		if (sq_migrations[*v - 1] == DIR_SQL_MIGRATE_13 &&
		    (r = sq_fill_name_keys(s)) != 0) {
			snprintf(err, errsz, "directory %s: cannot fold the names stored: %s",
			    s->path, yh_strerror(r));
			break;
		}
		if (sq_migrations[*v - 1] == DIR_SQL_MIGRATE_15 &&
		    (r = sq_schema_cookie_bump(s, err, errsz)) != 0)
			break;
		snprintf(ver, sizeof(ver), "%llu", (unsigned long long)(*v + 1));
		if ((r = meta_put(s, "schema_version", ver)) != 0) {
			snprintf(err, errsz, "directory %s: cannot record the schema version",
			    s->path);
			break;
		}
		yh_info("directory %s: schema migrated from version %llu to %s (%s)", s->path,
		    (unsigned long long)*v, ver, dir_sql_name[sq_migrations[*v - 1]]);
		(*v)++;
	}
	if (r == 0)
		return sq_const(s, "COMMIT", err, errsz);
	(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

static int
sq_schema(struct sq *s, bool create, char *err, size_t errsz)
{
	uint64_t v;
	int64_t n;
	int r;

	if ((r = sq_scalar(s, "SELECT count(*) FROM sqlite_master", &n, err, errsz)) != 0)
		return r;
	if (n == 0) {
		if (!create) {
			snprintf(err, errsz, "directory %s is empty (never initialized)", s->path);
			return YH_ERR_NOT_FOUND;
		}
		if ((r = sq_create_schema(s, err, errsz)) != 0)
			return r;
	}
	if ((r = sq_scalar(s, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
	    " AND name = 'meta'", &n, err, errsz)) != 0)
		return r;
	if (n != 1 || sq_version(s, &v) != 0) {
		snprintf(err, errsz, "%s is not a Yihao directory database", s->path);
		return YH_ERR_INVALID;
	}
	if (v > DIR_SQLITE_SCHEMA_VERSION) {
		snprintf(err, errsz, "directory %s has schema version %llu; this program "
		    "knows versions up to %d (upgrade the program)", s->path,
		    (unsigned long long)v, DIR_SQLITE_SCHEMA_VERSION);
		return YH_ERR_UNSUPPORTED;
	}
	if (v < DIR_SQLITE_SCHEMA_VERSION)
		return sq_migrate(s, &v, err, errsz);
	return 0;
}

/* Creates the file 0600 when missing (SQLite gives its -wal and -shm files the same
 * mode), or checks the existing file's type and mode. */
static int
sq_prepare_file(const char *path, bool create, char *err, size_t errsz)
{
	struct stat st;
	int fd;

	if (lstat(path, &st) == 0) {
		if (!S_ISREG(st.st_mode)) {
			snprintf(err, errsz, "directory %s is not a regular file", path);
			return YH_ERR_PERM;
		}
		if ((st.st_mode & 077) != 0) {
			snprintf(err, errsz, "directory %s is accessible by group or others "
			    "(mode %04o): chmod 600 it", path, (unsigned)(st.st_mode & 07777));
			return YH_ERR_PERM;
		}
		return 0;
	}
	if (errno != ENOENT) {
		snprintf(err, errsz, "cannot stat directory %s: %s", path, strerror(errno));
		return YH_ERR_IO;
	}
	if (!create) {
		snprintf(err, errsz, "directory %s does not exist", path);
		return YH_ERR_NOT_FOUND;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno != EEXIST) {
		snprintf(err, errsz, "cannot create directory %s: %s", path, strerror(errno));
		return errno == EACCES || errno == EROFS ? YH_ERR_PERM : YH_ERR_IO;
	}
	if (fd >= 0) {
		if (fchmod(fd, 0600) != 0) {
			snprintf(err, errsz, "cannot chmod %s: %s", path, strerror(errno));
			close(fd);
			return YH_ERR_IO;
		}
		close(fd);
	}
	return 0;
}

static const char *
sq_where(void *be)
{
	return ((struct sq *)be)->path;
}

int
dir_sqlite_open(const struct ident_cfg *cfg, bool create, void **be, char *err,
    size_t errsz)
{
	const char *path = cfg->sqlite_path;
	struct sq *s = NULL;
	struct stat sb;
	int64_t dummy;
	int r;

	*be = NULL;
	if (path == NULL || path[0] == '\0') {
		snprintf(err, errsz, "directory: configuration not finished");
		return YH_ERR_CONFIG;
	}
	if ((r = sq_prepare_file(path, create, err, errsz)) != 0)
		return r;
	if ((s = calloc(1, sizeof(*s))) == NULL || (s->path = strdup(path)) == NULL) {
		free(s);
		snprintf(err, errsz, "out of memory");
		return YH_ERR_ALLOC;
	}
	pthread_mutex_init(&s->mu, NULL);
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
	    SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK) {
		snprintf(err, errsz, "cannot open directory %s: %s", path,
		    s->db != NULL ? sqlite3_errmsg(s->db) : "out of memory");
		r = YH_ERR_DB;
		goto out;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, SQ_BUSY_TIMEOUT_MS);
	if ((r = sq_scalar(s, "PRAGMA schema_version", &dummy, err, errsz)) != 0)
		goto out;
	/* The file just opened (sq_prepare_file checked it is a regular file). */
	if (stat(path, &sb) != 0) {
		snprintf(err, errsz, "cannot stat directory %s: %s", path, strerror(errno));
		r = YH_ERR_IO;
		goto out;
	}
	s->dev = sb.st_dev;
	s->ino = sb.st_ino;
	if ((r = sq_const(s, "PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;"
	    " PRAGMA trusted_schema = OFF; PRAGMA synchronous = FULL;", err, errsz)) != 0)
		goto out;
	if ((r = sq_const(s, "PRAGMA journal_mode = WAL", err, errsz)) != 0)
		goto out;
	if ((r = sq_schema(s, create, err, errsz)) != 0)
		goto out;
	*be = s;
	s = NULL;
out:
	sq_close(s);
	return r;
}

/* ---- what dir_copy brings ---- */

static int
mandate_import(struct sq *s, const struct dir_mandate *m)
{
	sqlite3_stmt *st = sq_get(s, ST_MANDATE_IMPORT);
	int e;

	if (st == NULL)
		return YH_ERR_DB;
	bind_mandate(st, m);
	sqlite3_bind_int64(st, 12, m->revoked);
	e = sq_exec(s, st, "relation import");
	sq_done(st);
	return e;
}

static int
sq_org_import(void *be, const struct dir_org *o, const struct dir_org_change *h, size_t nh,
    const struct dir_mandate *m, size_t nm)
{
	struct sq *s = be;
	int e;

	if ((e = sq_wbegin(s)) == 0 && (e = sp_begin(s)) == 0) {
		if ((e = entity_add(s, o->uid, "org")) == 0)
			e = org_insert(s, o);
		for (size_t i = 0; e == 0 && i < nh; i++)
			e = hist_add(s, o->uid, h[i].field, h[i].old_value, h[i].new_value,
			    h[i].actor, h[i].at);
		for (size_t i = 0; e == 0 && i < nm; i++)
			e = mandate_import(s, &m[i]);
		e = sp_end(s, e);
	}
	return sq_wend(s, e);
}

static int
sq_loa_import(void *be, const char *uid, const struct dir_loa *v, size_t n)
{
	struct sq *s = be;
	sqlite3_stmt *st;
	int e;

	if ((e = sq_wbegin(s)) == 0 && (e = sp_begin(s)) == 0) {
		for (size_t i = 0; e == 0 && i < n; i++) {
			if ((st = sq_get(s, ST_LOA_EVENT)) == NULL) {
				e = YH_ERR_DB;
				break;
			}
			bind_text(st, 1, uid);
			sqlite3_bind_int(st, 2, v[i].level);
			bind_text(st, 3, v[i].method);
			bind_opt(st, 4, v[i].by);
			bind_opt(st, 5, v[i].evidence);
			sqlite3_bind_int64(st, 6, v[i].at);
			sqlite3_bind_int(st, 7, 0);
			e = sq_exec(s, st, "loa import");
			sq_done(st);
		}
		e = sp_end(s, e);
	}
	return sq_wend(s, e);
}

const struct dir_ops dir_sqlite_ops = {
	.name = "sqlite",
	.where = sq_where,
	.close = sq_close,
	.ping = sq_ping,
	.bulk = sq_bulk,
	.meta_get = sq_meta_get,
	.meta_set = sq_meta_set,
	.meta_list = sq_meta_list,
	.person_add = sq_person_add,
	.privacy_list = sq_privacy_list,
	.person_update = sq_person_update,
	.person_find = sq_person_find,
	.person_set_status = sq_person_set_status,
	.person_tombstones = sq_person_tombstones,
	.person_purge = sq_person_purge,
	.person_set_loa = sq_person_set_loa,
	.person_list = sq_person_list,
	.person_count = sq_person_count,
	.org_add = sq_org_add,
	.org_update = sq_org_update,
	.org_find = sq_org_find,
	.org_set_status = sq_org_set_status,
	.org_tombstones = sq_org_tombstones,
	.org_purge = sq_org_purge,
	.org_list = sq_org_list,
	.org_history = sq_org_history,
	.mandate_add = sq_mandate_add,
	.mandate_get = sq_mandate_get,
	.mandate_list = sq_mandate_list,
	.mandate_revoke = sq_mandate_revoke,
	.mandate_end = sq_mandate_end,
	.legacy_add = sq_legacy_add,
	.legacy_get = sq_legacy_get,
	.legacy_list = sq_legacy_list,
	.legacy_find_username = sq_legacy_find_username,
	.legacy_remove = sq_legacy_remove,
	.legacy_of_owner = sq_legacy_of_owner,
	.cred_get = sq_cred_get,
	.cred_set = sq_cred_set,
	.totp_set = sq_totp_set,
	.totp_confirm = sq_totp_confirm,
	.totp_get = sq_totp_get,
	.totp_consume = sq_totp_consume,
	.totp_delete = sq_totp_delete,
	.consent_get = sq_consent_get,
	.consent_add = sq_consent_add,
	.consent_list = sq_consent_list,
	.consent_remove = sq_consent_remove,
	.entity_list = sq_entity_list,
	.person_search_name = sq_person_search_name,
	.person_find_name = sq_person_find_name,
	.org_find_name = sq_org_find_name,
	.person_loa_history = sq_person_loa_history,
	.subject_pin_add = sq_subject_pin_add,
	.subject_pin_find = sq_subject_pin_find,
	.subject_pin_list = sq_subject_pin_list,
	.uid_rekey = sq_uid_rekey,
	.case_add = sq_case_add,
	.case_get = sq_case_get,
	.case_list = sq_case_list,
	.case_merge = sq_case_merge,
	.case_merge_org = sq_case_merge_org,
	.case_decide = sq_case_decide,
	.case_undo = sq_case_undo,
	.case_note_login = sq_case_note_login,
	.legacy_cred_list = sq_legacy_cred_list,
	.org_import = sq_org_import,
	.loa_import = sq_loa_import,
	.console_set = sq_console_set,
	.console_get = sq_console_get,
	.ulink_add = sq_ulink_add,
	.cert_bind = sq_cert_bind,
	.cert_list = sq_cert_list,
	.cert_unbind = sq_cert_unbind,
	.ulink_get = sq_ulink_get,
	.ulink_list = sq_ulink_list,
};
