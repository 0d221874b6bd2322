-- Schema version 14 -> 15: a person's origin may be 'cert', made at a certificate's
-- first login under cert.auto_register (docs/certificates.md).
--
-- SQLite cannot change a table's CHECK constraint, and rebuilding person would need the
-- foreign keys of the many tables naming it switched off, which a migration's
-- transaction cannot do. The constraint is widened in place instead, the way SQLite's
-- documentation gives for such a change (ALTER TABLE, "Making Other Kinds Of Table
-- Schema Changes"): every row already satisfies the wider CHECK, nothing on disk
-- changes, and dir_sqlite.c raises the schema cookie afterwards (PRAGMA
-- schema_version) so that every connection reads the new text. 'import') is the end of
-- the origin's CHECK in a store made by schema.sql and in one migrated by migrate_7.sql.
PRAGMA writable_schema = ON;
UPDATE sqlite_master SET sql = replace(sql, '''import'')', '''import'', ''cert'')')
  WHERE type = 'table' AND name = 'person' AND instr(sql, '''cert''') = 0;
PRAGMA writable_schema = OFF;
