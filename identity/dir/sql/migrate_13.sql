-- Schema version 12 -> 13: name search for operators (dir_person_search_name).
--
-- person.name_key: the name folded as name search compares it (traditional characters
-- as simplified, full-width as half-width, spaces dropped, middle dots as one, Latin
-- letters lower-cased: identity/match/matchkey.c mk_name_key), written with the name.
-- The folding needs the program's tables, so the persons stored before are given
-- theirs by the program in the transaction that runs this file (dir_sqlite.c,
-- sq_migrate), before the version is recorded.
ALTER TABLE person ADD COLUMN name_key TEXT;

CREATE INDEX IF NOT EXISTS person_name_key ON person(name_key);
