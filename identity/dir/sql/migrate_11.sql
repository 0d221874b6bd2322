-- Schema version 10 -> 11: the operators' console (/admin, docs/operations.md "Console").
--
-- console_role: what a staff member may do in the console, held on their staff relation
-- (mandate, role staff): perms is a space-separated list of review, people, orgs, apps,
-- audit in that order. Ending or purging the relation ends the permissions with it.
CREATE TABLE IF NOT EXISTS console_role (mandate_id TEXT PRIMARY KEY
    REFERENCES mandate(id) ON DELETE CASCADE,
  perms TEXT NOT NULL CHECK (perms <> ''), granted_by TEXT, updated INTEGER NOT NULL)
  WITHOUT ROWID;
