-- Schema version 7 -> 8: the privacy consents a person gave when the account was made
-- (PIPL arts. 14, 29): which notice was shown (the operator's version string and the
-- SHA-256 of its text), what was consented to ('sensitive:id_number': processing the
-- resident ID number, separately from the general agreement), when, and where
-- ('register'). Written in the transaction that adds the person; never changed.
--
-- Persons already there have none: an operator or a department system collected their
-- data, and no record of a consent given here is invented for them.
CREATE TABLE IF NOT EXISTS privacy_consent (id INTEGER PRIMARY KEY,
  person_uid TEXT NOT NULL REFERENCES person(uid),
  purpose TEXT NOT NULL, notice_version TEXT NOT NULL, notice_sha256 TEXT NOT NULL,
  via TEXT NOT NULL, at INTEGER NOT NULL);

CREATE INDEX IF NOT EXISTS privacy_consent_person ON privacy_consent(person_uid, id);
