-- Schema version 4 -> 5: the subject_pin table. An app's `sub` for a person is derived
-- from the person's uid (authd's oidc_pairwise_sub); when idmerge rekey gives a person a
-- new uid, it records here, for every sector of an app registered then, the `sub` the
-- old uid gave, and authd answers the pinned `sub` instead of the new uid's. One row per
-- (person, sector); dir_uid_rekey moves the rows along with the uid and never replaces
-- one, so a pin keeps the first `sub` through later re-keys. Pins hold HMACs under the
-- subject key, nothing reversible.
CREATE TABLE IF NOT EXISTS subject_pin (
  uid TEXT NOT NULL REFERENCES person(uid),
  sector TEXT NOT NULL, sub TEXT NOT NULL,
  PRIMARY KEY (uid, sector)) WITHOUT ROWID;
