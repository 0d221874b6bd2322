-- Schema version 11 -> 12: logins through an upstream identity provider
-- (docs/federation.md).
--
-- upstream_link: the person an upstream's subject logged in as (upstream is the
-- upstream.NAME block's NAME, sub the subject the upstream asserted), so that a later
-- login finds the person even when the upstream stops sending the ID number, and a
-- subject that comes back with another person's ID number is refused.
CREATE TABLE IF NOT EXISTS upstream_link (upstream TEXT NOT NULL, sub TEXT NOT NULL,
  uid TEXT NOT NULL REFERENCES entity(uid) ON DELETE CASCADE,
  created INTEGER NOT NULL,
  PRIMARY KEY (upstream, sub)) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS upstream_link_uid ON upstream_link(uid);
