/*
 * A declarative configuration table. Each option has a name, a type, a default, bounds
 * and flags; values land at an offset in a caller's struct. Files are "key = value"
 * lines with '#' comments; every error names file:line. Unknown keys are rejected.
 *
 * Reload (after Redis's config.c, whose options carry an apply function): an option
 * is either YH_CFG_IMMUTABLE (read once at start; a new value waits for a restart) or
 * YH_CFG_RELOADABLE (a new value takes effect while running). A reloadable option may
 * have an apply hook, which hands the new value to the part of the program that copied
 * the old one (a logger level, a store's timeouts); one without a hook is read from the
 * configuration at each use, so the new configuration replacing the old is all it
 * takes. yh_cfg_reload compares a freshly loaded configuration with the one in force,
 * runs the hooks of what changed and says what waits for a restart.
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
	YH_CFG_FAMILY,   /* a family of keys named by a prefix ending in '.' ("cert.ca."): every
	                  * key of a file starting with name goes to the row's family hook,
	                  * which keeps it in the caller's struct and reports its own errors;
	                  * the table stores, prints, copies and compares nothing for it */
};

#define YH_CFG_SENSITIVE 0x1u  /* never printed; wiped when freed */
#define YH_CFG_IMMUTABLE 0x2u  /* read at start only: changed on reload, it keeps its
                                * value until a restart */
#define YH_CFG_RELOADABLE 0x4u /* changed on reload, it takes effect: through apply,
                                * or (no apply) by being read at each use */

/*
 * An option's apply hook. ctx is what the caller of yh_cfg_reload gave it; old is the
 * configuration in force and new the one replacing it (whole structs of the caller's
 * type, read-only), so that one hook can apply several related options: it runs once
 * per reload however many of its options changed. It must only read reloadable
 * options (an immutable one of new may still hold the file's value). Returns 0, or a
 * negative YH_ERR_* with err set (one line, no secrets); the reload then undoes the
 * hooks run before it (each called again with old and new swapped) and fails.
 */
typedef int (*yh_cfg_apply_fn)(void *ctx, const void *old, const void *new, char *err,
    size_t errsz);

struct yh_cfg_err;

/*
 * A YH_CFG_FAMILY row's hook: one "key = value" line of file (line lineno) whose key
 * starts with the row's name, for slot (the row's offset in the caller's struct). Returns 0, or
 * YH_ERR_CONFIG / YH_ERR_ALLOC with err->msg set (the loader sets err->where to
 * file:line). A hook keeps file and lineno for what it checks later.
 */
typedef int (*yh_cfg_family_fn)(void *slot, const char *key, const char *value,
    const char *file, unsigned lineno, struct yh_cfg_err *err);

struct yh_cfg_opt {
	const char *name;            /* NULL ends the table */
	enum yh_cfg_type type;
	const char *def;             /* default as text; NULL for an unset string */
	int64_t min, max;            /* bounds for INT/DURATION; max length for strings */
	unsigned flags;
	const char *const *choices;  /* NULL-terminated, for ENUM */
	size_t offset;               /* where the value lives in the caller's struct */
	const char *help;
	yh_cfg_apply_fn apply;       /* RELOADABLE only; NULL: read at each use */
	yh_cfg_family_fn family;     /* YH_CFG_FAMILY only */
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

/* yh_cfg_set for a value read from file (a relative YH_CFG_PATH is taken relative to
 * it; file NULL: as given). */
int yh_cfg_set_file(const struct yh_cfg_opt *opts, void *base, const char *name,
    const char *value, const char *file, const char *where, struct yh_cfg_err *err) YH_WUR;

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

/*
 * Writes o's value in base as text into out (outsz bytes, cut to fit): a number, "yes"
 * or "no", the string ("" when unset); a SENSITIVE string set prints as "(set)".
 */
void yh_cfg_format(const struct yh_cfg_opt *o, const void *base, char *out, size_t outsz);

/* What yh_cfg_reload tells its caller about one option whose value changed. */
typedef void (*yh_cfg_note_fn)(void *arg, const struct yh_cfg_opt *o, bool applied,
    const void *old, const void *new);

struct yh_cfg_reload {
	void *ctx;                 /* given to every apply hook */
	yh_cfg_note_fn note;       /* may be NULL; applied false: IMMUTABLE, kept as it was
	                            * (called before any hook runs); true: RELOADABLE, taken
	                            * (called once every hook succeeded) */
	void *note_arg;
	size_t applied;            /* out: reloadable options that changed */
	size_t restart;            /* out: immutable options that changed and were kept */
};

/*
 * Reloads: cur is the configuration in force, next one freshly loaded and checked
 * completely from the same sources (the caller keeps cur when loading or checking it
 * fails). Every option of the table must be exactly one of IMMUTABLE and RELOADABLE,
 * and only a RELOADABLE one may have a hook (else YH_ERR_CONFIG: a bad table). For
 * every option whose value differs: an IMMUTABLE one is noted and gets cur's value
 * back in next (so next describes what runs); a RELOADABLE one is noted once the hooks
 * of all the changed options ran (each hook once), in table order. When a hook fails,
 * the hooks run before it are undone (called with cur and next swapped), err names
 * the option and YH_ERR_* of the hook is returned: keep cur. On 0 the caller puts next
 * in cur's place (if rl->applied is 0, nothing reloadable changed) and cur is left
 * untouched. Returns 0, YH_ERR_CONFIG, YH_ERR_ALLOC or a hook's error.
 */
int yh_cfg_reload(const struct yh_cfg_opt *opts, const void *cur, void *next,
    struct yh_cfg_reload *rl, struct yh_cfg_err *err) YH_WUR;

/* value as a path: itself when absolute or file is NULL, else relative to the directory
 * of file (where it was written). A new string (free it), or NULL when out of memory. */
char *yh_cfg_path_resolve(const char *value, const char *file);

/* Frees string values (wiping SENSITIVE ones). */
void yh_cfg_free(const struct yh_cfg_opt *opts, void *base);

/* Writes "key = value" lines for every option; SENSITIVE values print as "(set)". */
int yh_cfg_dump(const struct yh_cfg_opt *opts, const void *base, struct yh_buf *out) YH_WUR;

/* Formats err as "where: msg" into out. */
void yh_cfg_err_format(const struct yh_cfg_err *err, char *out, size_t outsz);

#endif
