/*
 * A declarative configuration table. Each option has a name, a type, a default, bounds
 * and flags; values land at an offset in a caller's struct. Files are "key = value"
 * lines with '#' comments; every error names file:line. Unknown keys are rejected.
 */
#ifndef YH_COMMON_CONFIG_H
#define YH_COMMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/buf.h"
#include "common/err.h"

enum yh_cfg_type {
	YH_CFG_STR,      /* char *, NULL when the default is NULL */
	YH_CFG_PATH,     /* char *; relative paths in a file are taken relative to that file */
	YH_CFG_ENUM,     /* char *, one of choices */
	YH_CFG_INT,      /* int64_t within [min, max] */
	YH_CFG_DURATION, /* int64_t seconds within [min, max]; "30", "30s", "15m", "8h", "7d" */
	YH_CFG_BOOL,     /* bool; yes/no/true/false/on/off/1/0 */
};

#define YH_CFG_SENSITIVE 0x1u /* never printed; wiped when freed */
#define YH_CFG_IMMUTABLE 0x2u /* cannot change on reload */

struct yh_cfg_opt {
	const char *name;            /* NULL ends the table */
	enum yh_cfg_type type;
	const char *def;             /* default as text; NULL for an unset string */
	int64_t min, max;            /* bounds for INT/DURATION; max length for strings */
	unsigned flags;
	const char *const *choices;  /* NULL-terminated, for ENUM */
	size_t offset;               /* where the value lives in the caller's struct */
	const char *help;
};

struct yh_cfg_err {
	char where[320];  /* "file:line" or "default" or "command line" */
	char msg[320];
};

/* Flags for yh_cfg_load_file. */
#define YH_CFG_PARTIAL 0x1u /* ignore unknown keys without a dot, and keys whose
                             * "section." prefix no option in the table shares (another
                             * program's part of a shared file); a typo inside a section
                             * this table knows is still an error. So a typo in an
                             * undotted key passes: use it only for a part of a file whose
                             * whole is checked with the full table (authctl reads
                             * authd's file through authd's table first) or by a program
                             * that cannot know that table (idmerge import) */

/* Sets every option to its default. Returns 0 or YH_ERR_CONFIG (a bad table). */
int yh_cfg_defaults(const struct yh_cfg_opt *opts, void *base, struct yh_cfg_err *err) YH_WUR;

/* Reads a file over the current values. Returns 0, YH_ERR_IO (cannot read; err says
 * why) or YH_ERR_CONFIG (err names file:line and the problem). */
int yh_cfg_load_file(const struct yh_cfg_opt *opts, void *base, const char *path,
    unsigned flags, struct yh_cfg_err *err) YH_WUR;

/* Sets one option from text; where names the origin for messages. */
int yh_cfg_set(const struct yh_cfg_opt *opts, void *base, const char *name,
    const char *value, const char *where, struct yh_cfg_err *err) YH_WUR;

/* The option called name in opts, or NULL when there is none. */
const struct yh_cfg_opt *yh_cfg_find(const struct yh_cfg_opt *opts, const char *name);

/*
 * True when v is a value o accepts: o is an INT or DURATION option and v is within
 * [min, max]. For modules that take a value of an option from their caller and must
 * hold it to the table's bounds rather than to bounds of their own.
 */
bool yh_cfg_int_ok(const struct yh_cfg_opt *o, int64_t v);

/* True when s is a value the string option o accepts: not NULL, at most max bytes (when
 * max > 0) and, for an ENUM, one of its choices. */
bool yh_cfg_str_ok(const struct yh_cfg_opt *o, const char *s);

/* Frees string values (wiping SENSITIVE ones). */
void yh_cfg_free(const struct yh_cfg_opt *opts, void *base);

/* Writes "key = value" lines for every option; SENSITIVE values print as "(set)". */
int yh_cfg_dump(const struct yh_cfg_opt *opts, const void *base, struct yh_buf *out) YH_WUR;

/* Formats err as "where: msg" into out. */
void yh_cfg_err_format(const struct yh_cfg_err *err, char *out, size_t outsz);

#endif
