-- Schema version 3 -> 4: organizations as legal persons.
--
-- org gains kind, registration authority and establishment date, and its own status set
-- (active, deregistered 注销, revoked 吊销): a legacy system's or an operator's
-- "disabled" or "locked" organization may not act any more by someone else's decision,
-- which for a legal person is what "revoked" says; the change is written to the
-- organization's history. Existing kinds are derived from the credit code as
-- identity/idn/uscc.c's uscc_kinds table does (GB 32100-2015; keep the two alike:
-- tests/unit/test_dir.c test_migration_org_kinds compares them).
--
-- mandate becomes the person<->organization relation: role legal_rep, agent or admin,
-- valid from not_before until `until` (0 = open), with optional scopes (purposes). A
-- role other than agent or admin becomes an agent relation whose scope is that role.
-- Every organization's legal representative gets a legal_rep relation. At most one
-- legal_rep relation per organization is unrevoked (a partial unique index).
--
-- org_history records each change of an organization and of its relations (field, old
-- value, new value, actor, time), written in the transaction of the change.
--
-- SQLite cannot change a table's CHECK constraints: org and mandate are rebuilt. mandate
-- is dropped first, so that dropping org finds no row referring to it; the new mandate
-- and org_history refer to org_v4, which the RENAME turns into org.
CREATE TABLE org_v4 (
  uid TEXT PRIMARY KEY REFERENCES entity(uid),
  uscc TEXT UNIQUE, org_code TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
  kind TEXT NOT NULL DEFAULT 'unspecified' CHECK (kind IN ('unspecified', 'enterprise',
    'individual_business', 'social_organization', 'government_agency',
    'public_institution')),
  legal_rep_uid TEXT REFERENCES person(uid),
  authority TEXT, established TEXT,
  status TEXT NOT NULL CHECK (status IN ('active', 'deregistered', 'revoked')),
  created INTEGER NOT NULL, updated INTEGER NOT NULL);

INSERT INTO org_v4 (uid, uscc, org_code, name, kind, legal_rep_uid, status, created,
  updated)
  SELECT uid, uscc, org_code, name,
    CASE substr(uscc, 1, 2)
      WHEN '11' THEN 'government_agency' WHEN '12' THEN 'public_institution'
      WHEN '13' THEN 'social_organization' WHEN '51' THEN 'social_organization'
      WHEN '52' THEN 'social_organization' WHEN '53' THEN 'social_organization'
      WHEN '91' THEN 'enterprise' WHEN '92' THEN 'individual_business'
      ELSE 'unspecified' END,
    legal_rep_uid,
    CASE status WHEN 'active' THEN 'active' WHEN 'deregistered' THEN 'deregistered'
      ELSE 'revoked' END,
    created, updated
  FROM org;

CREATE TABLE org_history (id INTEGER PRIMARY KEY,
  org_uid TEXT NOT NULL REFERENCES org_v4(uid),
  field TEXT NOT NULL, old_value TEXT, new_value TEXT, actor TEXT, at INTEGER NOT NULL);

INSERT INTO org_history (org_uid, field, old_value, new_value, actor, at)
  SELECT uid, 'status', status, 'revoked', 'schema 4', CAST(strftime('%s', 'now') AS INTEGER)
  FROM org WHERE status NOT IN ('active', 'deregistered');

CREATE TABLE mandate_v4 (id TEXT PRIMARY KEY,
  person_uid TEXT NOT NULL REFERENCES person(uid),
  org_uid TEXT NOT NULL REFERENCES org_v4(uid),
  role TEXT NOT NULL CHECK (role IN ('legal_rep', 'agent', 'admin')),
  granted_by TEXT, not_before INTEGER NOT NULL, until INTEGER NOT NULL DEFAULT 0,
  scopes TEXT, created INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0,
  CHECK (until = 0 OR until > not_before));

INSERT INTO mandate_v4 (id, person_uid, org_uid, role, granted_by, not_before, until,
  scopes, created, revoked)
  SELECT id, person_uid, org_uid,
    CASE WHEN role IN ('agent', 'admin') THEN role ELSE 'agent' END,
    granted_by, created, CASE WHEN expires <> 0 AND expires <= created THEN created + 1
      ELSE expires END,
    CASE WHEN role IN ('agent', 'admin') THEN NULL ELSE role END, created, revoked
  FROM mandate;

INSERT INTO mandate_v4 (id, person_uid, org_uid, role, granted_by, not_before, created)
  SELECT lower(hex(randomblob(16))), legal_rep_uid, uid, 'legal_rep', NULL, created,
    created
  FROM org_v4 WHERE legal_rep_uid IS NOT NULL AND legal_rep_uid <> '';

DROP TABLE mandate;
DROP TABLE org;
ALTER TABLE org_v4 RENAME TO org;
ALTER TABLE mandate_v4 RENAME TO mandate;

CREATE INDEX IF NOT EXISTS org_created ON org(created, uid);
CREATE INDEX IF NOT EXISTS mandate_person ON mandate(person_uid);
CREATE INDEX IF NOT EXISTS mandate_org ON mandate(org_uid);
CREATE UNIQUE INDEX IF NOT EXISTS mandate_one_legal_rep ON mandate(org_uid)
  WHERE role = 'legal_rep' AND revoked = 0;
CREATE INDEX IF NOT EXISTS org_history_org ON org_history(org_uid, id);
