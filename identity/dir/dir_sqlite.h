/*
 * The SQLite directory backend (dir_sqlite.c), the embedded default: one file,
 * directory.sqlite_path. Only backends.c names it.
 */
#ifndef YH_IDENTITY_DIR_SQLITE_H
#define YH_IDENTITY_DIR_SQLITE_H

#include "identity/dir/dir_backend.h"

/* The schema version this program makes and migrates to (sql/migrate_N.sql made N). */
#define DIR_SQLITE_SCHEMA_VERSION 15

/* Opens (with create: creates, mode 0600) the file cfg->sqlite_path. err receives one
 * line. YH_ERR_CONFIG when the path is not set (ident_cfg_finish sets it). */
int dir_sqlite_open(const struct ident_cfg *cfg, bool create, void **be, char *err,
    size_t errsz) YH_WUR;

extern const struct dir_ops dir_sqlite_ops;

#endif
