/*
 * idmerge input: the sources file and the readers for legacy exports (CSV per RFC 4180
 * with a header row, JSON lines, LDIF), in UTF-8, GBK or GB18030. A reader yields one
 * record at a time with its values already converted to UTF-8 and mapped from the
 * source's column names to the logical fields below. Memory is bounded per record.
 */
#ifndef YH_MIG_INPUT_READER_H
#define YH_MIG_INPUT_READER_H

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

/* The sources-file name of a field ("legacy_id", "id_number", ...); "?" out of range. */
const char *mig_field_name(enum mig_field f);

/* The field named name (exactly as in a sources file). 0 or YH_ERR_NOT_FOUND. */
int mig_field_parse(const char *name, enum mig_field *out) YH_WUR;

enum mig_format { MIG_FMT_CSV, MIG_FMT_JSONL, MIG_FMT_LDIF };
enum mig_kind { MIG_KIND_PERSON, MIG_KIND_ORG };

/* Limits on untrusted input. */
#define MIG_FIELD_MAX 4096        /* bytes of one value after conversion */
#define MIG_RECORD_MAX (64 * 1024) /* bytes of one raw record (line, CSV row, LDIF entry) */

struct mig_status_map {
	char *from;   /* the legacy value */
	char *to;     /* "active", "disabled", "locked" or "deregistered" */
};

/* One entry of the sources file. Every string is owned by the struct mig_sources. */
struct mig_source {
	char *name;               /* unique among sources */
	char *path;               /* resolved against the sources file's directory */
	enum mig_format format;
	char *encoding;           /* canonical: "UTF-8" (the default), "GBK" or "GB18030" */
	char delimiter;           /* CSV only; default ',' */
	enum mig_kind kind;
	int trust;                /* higher wins; default 0 */
	char *columns[MIG_F_COUNT]; /* source column (or JSON key, LDIF attribute) per field; NULL = unmapped */
	char *password_scheme;    /* a passwd scheme name; NULL only when password_hash is unmapped */
	struct mig_status_map *status_map;
	size_t n_status_map;
};

struct mig_sources {
	struct mig_source *v;
	size_t n;
	char *path;               /* the sources file itself */
};

/*
 * Loads and checks a sources file (JSON, at most 1 MiB, duplicate keys rejected). On
 * error returns YH_ERR_CONFIG (YH_ERR_IO when the file cannot be read, YH_ERR_ALLOC) and
 * writes one clear message into err naming the file, the source and the problem: JSON
 * syntax (with line:column), a missing "name", "file", "format", "kind" or "fields", an
 * unknown key (keys starting with '_' are comments), an unknown field name in "fields",
 * a field that does not fit the source's kind (name and id_number are person fields;
 * org_name, uscc, org_code and legal_rep_id_number organization fields; the others
 * both),
 * an unknown format, encoding, kind or password_scheme, a delimiter that is not one
 * ASCII byte, a duplicate source name, a status_map value other than active, disabled,
 * locked or deregistered, password_hash mapped without a password_scheme, or a data
 * file that does not exist or cannot be read. Relative "file" paths are resolved
 * against the directory of the sources file. On success *out is owned by the caller
 * (mig_sources_free); on error it is NULL.
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
	/* Bit (1u << field) set when the source held more than one value for the field
	 * (a multi-valued LDIF attribute): the first value was taken. Added after the
	 * first draft of this header; 0 for CSV and JSONL. */
	uint32_t multivalued;
};

struct mig_reader;

/*
 * Opens a source for reading. For CSV the header row is read at once: a mapped column
 * missing from it or a header name appearing twice is YH_ERR_CONFIG, a malformed or
 * missing header YH_ERR_INVALID, each with a message naming the source, the file and
 * the column. JSONL keys and LDIF attributes that are absent from a record simply
 * leave the field NULL (LDIF attribute names match without regard to case); one absent
 * from every record is reported by mig_reader_check_keys at the end. Other
 * errors: YH_ERR_IO (the file), YH_ERR_UNSUPPORTED (iconv lacks the encoding),
 * YH_ERR_ALLOC. *out is owned by the caller (mig_reader_close); it must not outlive src.
 */
int mig_reader_open(const struct mig_source *src, struct mig_reader **out, char *err,
    size_t errsz) YH_WUR;

/*
 * Reads the next record. Returns 0 with *rec filled, YH_ERR_NOT_FOUND at end of input,
 * or another error with a message "<file>:<line>: <problem>" in err. Record-level
 * errors do not end the stream: the caller records the record as a reject (rec->src,
 * rec->seq and rec->line are set; all values are NULL) and calls again:
 *   YH_ERR_INVALID   malformed quoting, a wrong number of CSV fields, invalid bytes in
 *                    the declared encoding or a NUL byte, malformed JSON or LDIF, a
 *                    mapped JSON key given twice or holding an object or array, an
 *                    LDIF entry not starting with dn:;
 *   YH_ERR_TOO_LONG  a record over MIG_RECORD_MAX or a value over MIG_FIELD_MAX;
 *   YH_ERR_UNSUPPORTED an LDIF value given by URL ("attr:< file:///..."), an LDIF
 *                    change record (changetype:), an LDIF version other than 1.
 * Messages name positions and column names, never field values (they are personal
 * data), so they may be logged as they are.
 * YH_ERR_IO (a read error) and YH_ERR_ALLOC end the stream. A CSV quote left open at the
 * end of the file or past MIG_RECORD_MAX is reported once for the record's first line and
 * reading resumes on the line after it, so the following lines are not swallowed.
 * Blank lines (CSV, JSONL) are skipped and are not records.
 */
int mig_reader_next(struct mig_reader *r, struct mig_record *rec, char *err,
    size_t errsz) YH_WUR;

/*
 * After the last record (mig_reader_next returned YH_ERR_NOT_FOUND): checks that every
 * mapped JSON key or LDIF attribute appeared in at least one record read without a
 * record-level error (a key holding null counts as appearing; CSV columns are checked
 * against the header at open). A key that never appears is almost always a misspelt
 * mapping, which would otherwise leave the field absent from every record. Returns 0
 * (also when no record could be read at all: nothing to judge by), or YH_ERR_CONFIG with
 * a message naming the source, the file and each missing key with its field.
 */
int mig_reader_check_keys(const struct mig_reader *r, char *err, size_t errsz) YH_WUR;

/* Raw bytes read so far and the file's size at open (0 when not a regular file), for
 * progress lines. */
void mig_reader_progress(const struct mig_reader *r, uint64_t *done, uint64_t *total);

/* Closes a reader. NULL is fine. */
void mig_reader_close(struct mig_reader *r);

#endif
