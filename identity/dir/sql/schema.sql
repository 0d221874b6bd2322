-- The SQLite directory's schema, as a new store gets it (identity/dir/dir_sqlite.c
-- runs this file whole, then records the schema version in meta). A store made by an
-- older program is brought here by migrate_N.sql instead: a change to this file needs
-- the migration file that makes the same change, and the version raised in
-- dir_sqlite.c (SQ_SCHEMA_VERSION).

CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)
  WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS entity (uid TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('person', 'org'))) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS person (
  uid TEXT PRIMARY KEY REFERENCES entity(uid),
  id_sealed TEXT NOT NULL, id_index TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  phone_sealed TEXT, phone_index TEXT,
  email TEXT, username TEXT UNIQUE COLLATE NOCASE,
  loa INTEGER NOT NULL CHECK (loa BETWEEN 1 AND 4), loa_method TEXT NOT NULL,
  loa_by TEXT, loa_evidence TEXT, loa_at INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('active','disabled','locked','deregistered')),
  created INTEGER NOT NULL, updated INTEGER NOT NULL,
  phone_verified INTEGER NOT NULL DEFAULT 0 CHECK (phone_verified IN (0, 1)),
  origin TEXT CHECK (origin IN ('self', 'operator', 'import', 'cert')),
  deregistered INTEGER, name_key TEXT);

-- origin: how the account came to be; NULL for a person added before it was recorded
-- (migrate_7.sql). deregistered: when the person was deregistered, set once, never
-- changed; NULL while not deregistered (migrate_9.sql).

-- A phone is an identifier only once verified: the lookup index holds the verified
-- phones alone (migrate_3.sql says why).
CREATE INDEX IF NOT EXISTS person_phone_verified ON person(phone_index)
  WHERE phone_verified = 1;

CREATE INDEX IF NOT EXISTS person_created ON person(created, uid);

-- name_key: the folded name name search matches (migrate_13.sql).
CREATE INDEX IF NOT EXISTS person_name_key ON person(name_key);

CREATE INDEX IF NOT EXISTS person_deregistered ON person(deregistered)
  WHERE deregistered IS NOT NULL;

CREATE TABLE IF NOT EXISTS loa_event (id INTEGER PRIMARY KEY,
  person_uid TEXT NOT NULL REFERENCES person(uid), loa INTEGER NOT NULL,
  method TEXT NOT NULL, verifier TEXT, evidence TEXT, at INTEGER NOT NULL,
  applied INTEGER NOT NULL);

CREATE INDEX IF NOT EXISTS loa_event_person ON loa_event(person_uid);

-- Organizations (legal persons), their relations to persons and their change history
-- (migrate_4.sql says what each holds; migrate_6.sql adds staff with unit and position).
CREATE TABLE IF NOT EXISTS org (
  uid TEXT PRIMARY KEY REFERENCES entity(uid),
  uscc TEXT UNIQUE, org_code TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
  kind TEXT NOT NULL DEFAULT 'unspecified' CHECK (kind IN ('unspecified', 'enterprise',
    'individual_business', 'social_organization', 'government_agency',
    'public_institution')),
  legal_rep_uid TEXT REFERENCES person(uid),
  authority TEXT, established TEXT,
  status TEXT NOT NULL CHECK (status IN ('active', 'deregistered', 'revoked')),
  created INTEGER NOT NULL, updated INTEGER NOT NULL);

CREATE INDEX IF NOT EXISTS org_created ON org(created, uid);

CREATE TABLE IF NOT EXISTS org_history (id INTEGER PRIMARY KEY,
  org_uid TEXT NOT NULL REFERENCES org(uid),
  field TEXT NOT NULL, old_value TEXT, new_value TEXT, actor TEXT, at INTEGER NOT NULL);

CREATE INDEX IF NOT EXISTS org_history_org ON org_history(org_uid, id);

CREATE TABLE IF NOT EXISTS mandate (id TEXT PRIMARY KEY,
  person_uid TEXT NOT NULL REFERENCES person(uid),
  org_uid TEXT NOT NULL REFERENCES org(uid),
  role TEXT NOT NULL CHECK (role IN ('legal_rep', 'agent', 'admin', 'staff')),
  granted_by TEXT, not_before INTEGER NOT NULL, until INTEGER NOT NULL DEFAULT 0,
  scopes TEXT, created INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0,
  unit TEXT, position TEXT,
  CHECK (until = 0 OR until > not_before),
  CHECK ((role = 'staff') = (unit IS NOT NULL)),
  CHECK (role = 'staff' OR position IS NULL));

CREATE INDEX IF NOT EXISTS mandate_person ON mandate(person_uid);

CREATE INDEX IF NOT EXISTS mandate_org ON mandate(org_uid);

-- At most one legal representative in office per organization.
CREATE UNIQUE INDEX IF NOT EXISTS mandate_one_legal_rep ON mandate(org_uid)
  WHERE role = 'legal_rep' AND revoked = 0;

CREATE TABLE IF NOT EXISTS legacy_link (source TEXT NOT NULL, legacy_id TEXT NOT NULL,
  owner_uid TEXT NOT NULL REFERENCES entity(uid), username TEXT COLLATE NOCASE,
  status TEXT NOT NULL, created INTEGER NOT NULL,
  PRIMARY KEY (source, legacy_id)) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS legacy_owner ON legacy_link(owner_uid);

CREATE INDEX IF NOT EXISTS legacy_username ON legacy_link(username);

CREATE TABLE IF NOT EXISTS credential (owner_uid TEXT PRIMARY KEY REFERENCES entity(uid),
  scheme TEXT NOT NULL CHECK (scheme <> 'plain'), hash TEXT NOT NULL, salt TEXT,
  updated INTEGER NOT NULL);

CREATE TABLE IF NOT EXISTS totp (owner_uid TEXT PRIMARY KEY REFERENCES entity(uid),
  seed_sealed TEXT NOT NULL, confirmed INTEGER NOT NULL, last_step INTEGER NOT NULL,
  created INTEGER NOT NULL);

-- One row per (person, app, scope): a grant is an insert that ignores what is already
-- there, so concurrent grants make a union and never lose a scope (migrate_2.sql).
CREATE TABLE IF NOT EXISTS consent (
  owner_uid TEXT NOT NULL REFERENCES person(uid),
  client_id TEXT NOT NULL, scope TEXT NOT NULL, granted INTEGER NOT NULL,
  PRIMARY KEY (owner_uid, client_id, scope)) WITHOUT ROWID;

-- The `sub` an app's sector knew a person by before idmerge rekey gave the person a new
-- uid: authd answers it instead of the new uid's (migrate_4.sql).
CREATE TABLE IF NOT EXISTS subject_pin (
  uid TEXT NOT NULL REFERENCES person(uid),
  sector TEXT NOT NULL, sub TEXT NOT NULL,
  PRIMARY KEY (uid, sector)) WITHOUT ROWID;

-- The privacy consents a person gave at registration: the notice's version and
-- SHA-256, what was consented to, when and where (migrate_8.sql).
CREATE TABLE IF NOT EXISTS privacy_consent (id INTEGER PRIMARY KEY,
  person_uid TEXT NOT NULL REFERENCES person(uid),
  purpose TEXT NOT NULL, notice_version TEXT NOT NULL, notice_sha256 TEXT NOT NULL,
  via TEXT NOT NULL, at INTEGER NOT NULL);

CREATE INDEX IF NOT EXISTS privacy_consent_person ON privacy_consent(person_uid, id);

-- Review cases of idmerge's uncertain records, their members, and the legacy
-- credentials a merged case brought to a person (migrate_10.sql says what each holds).
CREATE TABLE IF NOT EXISTS review_case (id TEXT PRIMARY KEY,
  reason TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('open', 'merged', 'separate', 'rejected')),
  body_sealed TEXT NOT NULL, created INTEGER NOT NULL,
  decided_by TEXT, note TEXT, decided_at INTEGER,
  merged_uid TEXT, used INTEGER,
  created_person INTEGER NOT NULL DEFAULT 0 CHECK (created_person IN (0, 1)),
  CHECK ((state = 'merged') = (merged_uid IS NOT NULL))) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS review_case_state ON review_case(state, id);

CREATE INDEX IF NOT EXISTS review_case_merged ON review_case(merged_uid)
  WHERE merged_uid IS NOT NULL;

CREATE TABLE IF NOT EXISTS review_member (source TEXT NOT NULL, legacy_id TEXT NOT NULL,
  case_id TEXT NOT NULL REFERENCES review_case(id),
  PRIMARY KEY (source, legacy_id)) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS review_member_case ON review_member(case_id);

CREATE TABLE IF NOT EXISTS legacy_cred (source TEXT NOT NULL, legacy_id TEXT NOT NULL,
  owner_uid TEXT NOT NULL REFERENCES entity(uid),
  scheme TEXT NOT NULL CHECK (scheme <> 'plain'), hash TEXT NOT NULL, salt TEXT,
  PRIMARY KEY (source, legacy_id)) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS legacy_cred_owner ON legacy_cred(owner_uid);

CREATE TABLE IF NOT EXISTS console_role (mandate_id TEXT PRIMARY KEY
    REFERENCES mandate(id) ON DELETE CASCADE,
  perms TEXT NOT NULL CHECK (perms <> ''), granted_by TEXT, updated INTEGER NOT NULL)
  WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS upstream_link (upstream TEXT NOT NULL, sub TEXT NOT NULL,
  uid TEXT NOT NULL REFERENCES entity(uid) ON DELETE CASCADE,
  created INTEGER NOT NULL,
  PRIMARY KEY (upstream, sub)) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS upstream_link_uid ON upstream_link(uid);

-- Certificates bound to a person on first use (migrate_14.sql says what each holds).
CREATE TABLE IF NOT EXISTS cert_binding (id TEXT PRIMARY KEY,
  uid TEXT NOT NULL REFERENCES entity(uid) ON DELETE CASCADE,
  issuer TEXT NOT NULL, serial TEXT NOT NULL, key_sha256 TEXT NOT NULL,
  created INTEGER NOT NULL) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS cert_binding_uid ON cert_binding(uid);
