-- Schema version 6 -> 7: a person's origin, how the account came to be: 'self'
-- (registered on /register), 'operator' (authctl user add) or 'import' (idmerge). It is
-- recorded when a person is added and never changed; the LoA method cannot stand in for
-- it (an operator's person started at LoA 1 "self" like a registration, and a later
-- verification replaces the method).
--
-- Persons already there: an import is known where the LoA method still says "import"
-- (idmerge's method, set at the import); nothing else tells how a person came (a
-- registration and an operator's person look alike, a legacy link is also made to a
-- person who registered), so the others stay NULL: "not recorded", never a guess.
ALTER TABLE person ADD COLUMN origin TEXT
  CHECK (origin IN ('self', 'operator', 'import'));

UPDATE person SET origin = 'import' WHERE loa_method = 'import';
