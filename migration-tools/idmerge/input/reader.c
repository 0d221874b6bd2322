/*
 * The reader dispatcher (reader.h): opens a source's file in its encoding, hands it to
 * the reader of its format (csv.c, jsonl.c, ldif.c) and keeps what every format shares:
 * record numbers, the value store, which mapped keys appeared.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migration-tools/idmerge/input/format.h"

/* Values of one record: room for any record within MIG_RECORD_MAX. */
#define STORE_CAP (2 * MIG_RECORD_MAX + 64)

int
mig_reader_open(const struct mig_source *src, struct mig_reader **out, char *err,
    size_t errsz)
{
	struct mig_reader *r = NULL;
	enum mig_enc enc;
	char msg[512];
	int rc = YH_ERR_ALLOC;

	*out = NULL;
	if (errsz > 0)
		err[0] = '\0';
	if (mig_enc_parse(src->encoding != NULL ? src->encoding : "UTF-8", &enc) != 0) {
		snprintf(err, errsz, "source \"%s\": unknown encoding", src->name);
		return YH_ERR_UNSUPPORTED;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL || (r->store = malloc(STORE_CAP)) == NULL) {
		snprintf(err, errsz, "source \"%s\": out of memory", src->name);
		goto fail;
	}
	r->src = src;
	r->store_cap = STORE_CAP;
	r->line = 1;
	if ((rc = mig_input_open(src->path, enc, &r->in, msg, sizeof(msg))) != 0) {
		snprintf(err, errsz, "source \"%s\": %s", src->name, msg);
		goto fail;
	}
	switch (src->format) {
	case MIG_FMT_CSV:
		rc = mig_csv_open(r, err, errsz);
		break;
	case MIG_FMT_JSONL:
		rc = mig_jsonl_open(r, err, errsz);
		break;
	case MIG_FMT_LDIF:
		rc = mig_ldif_open(r, err, errsz);
		break;
	default:
		snprintf(err, errsz, "source \"%s\": unknown format", src->name);
		rc = YH_ERR_UNSUPPORTED;
	}
	if (rc != 0)
		goto fail;
	*out = r;
	return 0;
fail:
	mig_reader_close(r);
	return rc;
}

int
mig_reader_next(struct mig_reader *r, struct mig_record *rec, char *err, size_t errsz)
{
	int rc;

	memset(rec, 0, sizeof(*rec));
	rec->src = r->src;
	if (errsz > 0)
		err[0] = '\0';
	r->store_len = 0;
	rc = r->next(r, rec, err, errsz);
	if (rc == 0)
		r->good++;
	if (rc != 0 && rc != YH_ERR_NOT_FOUND) {
		/* A record-level error: no value survives it. */
		memset(rec->f, 0, sizeof(rec->f));
		rec->multivalued = 0;
	}
	return rc;
}

int
mig_reader_check_keys(const struct mig_reader *r, char *err, size_t errsz)
{
	const struct mig_source *src = r->src;
	const char *what = src->format == MIG_FMT_LDIF ? "attribute" : "key";
	size_t n, missing = 0;

	if (errsz > 0)
		err[0] = '\0';
	if (r->good == 0)
		return 0;
	for (int f = 0; f < MIG_F_COUNT; f++) {
		if (src->columns[f] == NULL || (r->seen & (1u << f)) != 0)
			continue;
		n = strnlen(err, errsz);
		if (missing++ == 0)
			snprintf(err, errsz, "source \"%s\": %s: %s \"%s\" (field %s)", src->name,
			    src->path, what, src->columns[f], mig_field_name(f));
		else if (n < errsz)
			snprintf(err + n, errsz - n, ", %s \"%s\" (field %s)", what, src->columns[f],
			    mig_field_name(f));
	}
	if (missing == 0)
		return 0;
	n = strnlen(err, errsz);
	if (n < errsz)
		snprintf(err + n, errsz - n, " never appear%s in any of its %llu readable "
		    "records", missing > 1 ? "" : "s", (unsigned long long)r->good);
	return YH_ERR_CONFIG;
}

void
mig_reader_progress(const struct mig_reader *r, uint64_t *done, uint64_t *total)
{
	mig_input_progress(r->in, done, total);
}

void
mig_reader_close(struct mig_reader *r)
{
	if (r == NULL)
		return;
	if (r->close != NULL)
		r->close(r);
	mig_input_close(r->in);
	free(r->store);
	free(r);
}
