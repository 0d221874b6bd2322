-- Schema version 1 -> 2: the consent table (the scopes a person allowed an app). One
-- row per (person, app, scope): a grant is an insert that ignores what is already
-- there, so concurrent grants make a union and never lose a scope.
CREATE TABLE IF NOT EXISTS consent (
  owner_uid TEXT NOT NULL REFERENCES person(uid),
  client_id TEXT NOT NULL, scope TEXT NOT NULL, granted INTEGER NOT NULL,
  PRIMARY KEY (owner_uid, client_id, scope)) WITHOUT ROWID;
