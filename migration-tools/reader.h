/*
 * idmerge input: the sources file and the readers for legacy exports (CSV per RFC 4180
 * with a header row, JSON lines, LDIF), in UTF-8, GBK or GB18030. A reader yields one
 * record at a time with its values already converted to UTF-8 and mapped from the
 * source's column names to the logical fields below. Memory is bounded per record.
 */
#ifndef YH_MIG_READER_H
#define YH_MIG_READER_H

#include <stddef.h>
#include <stdint.h>
#include "common/err.h"

/* The logical fields a sources file may map. */
enum mig_field {
	MIG_F_LEGACY_ID,
	MIG_F_NAME,
	MIG_F_ID_NUMBER,
	MIG_F_PHONE,
	MIG_F_EMAIL,
	MIG_F_USERNAME,
	MIG_F_PASSWORD_HASH,
	MIG_F_PASSWORD_SALT,
	MIG_F_STATUS,
	MIG_F_LAST_LOGIN,
	MIG_F_ORG_NAME,
	MIG_F_USCC,
	MIG_F_ORG_CODE,
	MIG_F_LEGAL_REP_ID_NUMBER,
	MIG_F_COUNT
};

/* The sources-file name of a field ("legacy_id", "id_number", ...). */
const char *mig_field_name(enum mig_field f);

enum mig_format { MIG_FMT_CSV, MIG_FMT_JSONL, MIG_FMT_LDIF };
enum mig_kind { MIG_KIND_PERSON, MIG_KIND_ORG };

/* Limits on untrusted input. */
#define MIG_FIELD_MAX 4096        /* bytes of one value after conversion */
#define MIG_RECORD_MAX (64 * 1024) /* bytes of one raw record (line, CSV row, LDIF entry) */

struct mig_status_map {
	char *from;   /* the legacy value */
	char *to;     /* "active", "disabled", "locked" or "deregistered" */
};

/* One entry of the sources file. */
struct mig_source {
	char *name;               /* unique among sources */
	char *path;               /* resolved against the sources file's directory */
	enum mig_format format;
	char *encoding;           /* "UTF-8", "GBK" or "GB18030" */
	char delimiter;           /* CSV only; default ',' */
	enum mig_kind kind;
	int trust;                /* higher wins; default 0 */
	char *columns[MIG_F_COUNT]; /* source column (or JSON key, LDIF attribute) per field; NULL = unmapped */
	char *password_scheme;    /* a passwd scheme name, or NULL */
	struct mig_status_map *status_map;
	size_t n_status_map;
};

struct mig_sources {
	struct mig_source *v;
	size_t n;
	char *path;               /* the sources file itself */
};

/*
 * Loads and checks a sources file. On error returns YH_ERR_CONFIG (or YH_ERR_IO) and
 * writes one clear message naming the file and the problem (unknown field, bad format,
 * duplicate source name, unknown scheme...) into err.
 */
int mig_sources_load(const char *path, struct mig_sources **out, char *err, size_t errsz) YH_WUR;

/* Frees a sources structure. NULL is fine. */
void mig_sources_free(struct mig_sources *s);

/* One input record. Values are UTF-8, NUL-terminated, NULL when the field is unmapped or
 * absent; an empty string when present but empty. Owned by the reader until the next
 * call to mig_reader_next. */
struct mig_record {
	const struct mig_source *src;
	uint64_t seq;        /* 1-based record number within the source */
	uint64_t line;       /* line number where the record starts */
	char *f[MIG_F_COUNT];
};

struct mig_reader;

/*
 * Opens a source for reading; for CSV and JSONL the mapped columns are checked against
 * the header (CSV) immediately: a missing column is YH_ERR_CONFIG with a message naming
 * the source, the file and the column.
 */
int mig_reader_open(const struct mig_source *src, struct mig_reader **out, char *err,
    size_t errsz) YH_WUR;

/*
 * Reads the next record. Returns 0 with *rec filled, YH_ERR_NOT_FOUND at end of input,
 * or another error with a message naming file:line (malformed quoting, invalid bytes in
 * the declared encoding, an oversized record). A record-level error does not end the
 * stream: the caller may record it as a reject (rec->seq and rec->line are set) and call
 * again.
 */
int mig_reader_next(struct mig_reader *r, struct mig_record *rec, char *err,
    size_t errsz) YH_WUR;

/* Bytes consumed so far and the file's total size, for progress lines. */
void mig_reader_progress(const struct mig_reader *r, uint64_t *done, uint64_t *total);

/* Closes a reader. NULL is fine. */
void mig_reader_close(struct mig_reader *r);

#endif
