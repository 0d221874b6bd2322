/*
 * idmerge input: what the reader dispatcher (reader.c) and the format readers (csv.c,
 * jsonl.c, ldif.c) share: the reader's state, the per-format open functions, and the
 * helpers every format uses (format.c): the value store, skipping a line, and
 * "<file>:<line>: <problem>" messages. Private to input/; callers use reader.h.
 */
#ifndef YH_MIG_INPUT_FORMAT_H
#define YH_MIG_INPUT_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/err.h"
#include "migration-tools/idmerge/input/encoding.h"
#include "migration-tools/idmerge/input/reader.h"

/* The state every format reader shares. The dispatcher owns it. */
struct mig_reader {
	const struct mig_source *src;
	struct mig_input *in;
	uint64_t seq;              /* records returned so far */
	uint64_t line;             /* line number of the first unconsumed window byte */
	uint64_t good;             /* records returned without a record-level error */
	uint32_t seen;             /* (1u << field): the field's key appeared in a good record */
	char *store;               /* values of the current record, NUL-terminated */
	size_t store_len;
	size_t store_cap;
	void *fmt;                 /* the format's own state */
	int (*next)(struct mig_reader *r, struct mig_record *rec, char *err, size_t errsz);
	void (*close)(struct mig_reader *r);
};

/* Per-format open: sets r->fmt, r->next and r->close, may read a header. Messages name
 * the source and file. */
int mig_csv_open(struct mig_reader *r, char *err, size_t errsz) YH_WUR;
int mig_jsonl_open(struct mig_reader *r, char *err, size_t errsz) YH_WUR;
int mig_ldif_open(struct mig_reader *r, char *err, size_t errsz) YH_WUR;

/* Appends n bytes and a NUL to r->store (capacity fixed at open, sized for any record
 * within MIG_RECORD_MAX). Returns the offset of the copy, or -1 when full. */
long mig_store_add(struct mig_reader *r, const char *p, size_t n);

/*
 * Consumes the input up to and including the next line feed, counting the line in
 * r->line, or (no line feed left) to the end of the file. Returns 1 with *blank telling
 * whether the line was empty or a lone CR, 0 at the end of the file, or a stream error.
 */
int mig_skip_line(struct mig_reader *r, bool *blank) YH_WUR;

/* Writes "<file>:<line>: <message>" into err. */
void mig_record_error(const struct mig_reader *r, uint64_t line, char *err, size_t errsz,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
