-- Schema version 9 -> 10: the review cases of idmerge's uncertain records, and the
-- legacy credentials a merged case brings to a person (docs/operations.md, "Review
-- cases").
--
-- review_case: one case per record idmerge would not decide (or per group of records
-- that conflict with each other). body_sealed is the vault-sealed JSON of the records,
-- their candidates and the evidence (ID numbers and phones are in it). state is open
-- until an operator decides; merged_uid is the person a merge joined the records to,
-- used the time a login first used that person (an undo is refused from then on).
-- review_member: which case each record is in; a record is in one case only.
-- legacy_cred: a password of a legacy account joined to a person by a merge, checked at
-- login after the person's own credential, so that each old password goes on working.
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
