-- Schema version 13 -> 14: certificates bound to a person on their first login
-- (docs/certificates.md).
--
-- cert_binding: id is the hex SHA-256 of the certificate's issuer name and serial (one
-- person per certificate), issuer its readable form, serial upper-case hex, key_sha256
-- the hex SHA-256 of its SubjectPublicKeyInfo (a later login must bring the same key).
CREATE TABLE IF NOT EXISTS cert_binding (id TEXT PRIMARY KEY,
  uid TEXT NOT NULL REFERENCES entity(uid) ON DELETE CASCADE,
  issuer TEXT NOT NULL, serial TEXT NOT NULL, key_sha256 TEXT NOT NULL,
  created INTEGER NOT NULL) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS cert_binding_uid ON cert_binding(uid);
