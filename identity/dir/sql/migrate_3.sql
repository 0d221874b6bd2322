-- Schema version 2 -> 3: person.phone_verified; a phone is an identifier only once
-- verified. The lookup index holds the verified phones alone, so that unverified copies
-- of a phone (anyone can type anyone's number into the registration form) neither find
-- a person nor make the owner's phone ambiguous.
--
-- Which phones already stored count as verified: those a department's database supplied
-- through idmerge (the person was imported, "import", or has a legacy account link),
-- which the operator answers for. Every other phone is one a person typed in at
-- registration, or one an operator gave to authctl user add, and version 2 kept nothing
-- that tells these two apart (both are "LoA 1 by self"): they become unverified, and an
-- operator re-marks the ones they vouch for with
-- "authctl user phone USER --phone-verified yes" (docs/operations.md). A raised LoA
-- proves the name and ID number, not the phone, so it does not count.
ALTER TABLE person ADD COLUMN phone_verified INTEGER NOT NULL DEFAULT 0
  CHECK (phone_verified IN (0, 1));

UPDATE person SET phone_verified = 1 WHERE phone_sealed IS NOT NULL AND
  (loa_method = 'import' OR uid IN (SELECT owner_uid FROM legacy_link));

DROP INDEX IF EXISTS person_phone;

CREATE INDEX IF NOT EXISTS person_phone_verified ON person(phone_index)
  WHERE phone_verified = 1;
