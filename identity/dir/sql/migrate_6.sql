-- Schema version 5 -> 6: government staff. A relation may have the role staff: the
-- person works for a government agency (an organization of kind government_agency) in a
-- unit (科室) and, optionally, a position. unit and position belong to staff relations
-- alone: a staff relation has a unit, any other has neither.
--
-- SQLite cannot change a table's CHECK constraints: mandate is rebuilt (nothing refers to
-- it) and its indexes made again.
CREATE TABLE mandate_v6 (id TEXT PRIMARY KEY,
  person_uid TEXT NOT NULL REFERENCES person(uid),
  org_uid TEXT NOT NULL REFERENCES org(uid),
  role TEXT NOT NULL CHECK (role IN ('legal_rep', 'agent', 'admin', 'staff')),
  granted_by TEXT, not_before INTEGER NOT NULL, until INTEGER NOT NULL DEFAULT 0,
  scopes TEXT, created INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0,
  unit TEXT, position TEXT,
  CHECK (until = 0 OR until > not_before),
  CHECK ((role = 'staff') = (unit IS NOT NULL)),
  CHECK (role = 'staff' OR position IS NULL));

INSERT INTO mandate_v6 (id, person_uid, org_uid, role, granted_by, not_before, until,
  scopes, created, revoked)
  SELECT id, person_uid, org_uid, role, granted_by, not_before, until, scopes, created,
    revoked
  FROM mandate;

DROP TABLE mandate;
ALTER TABLE mandate_v6 RENAME TO mandate;

CREATE INDEX IF NOT EXISTS mandate_person ON mandate(person_uid);
CREATE INDEX IF NOT EXISTS mandate_org ON mandate(org_uid);
CREATE UNIQUE INDEX IF NOT EXISTS mandate_one_legal_rep ON mandate(org_uid)
  WHERE role = 'legal_rep' AND revoked = 0;
