/*
 * What the targets of idmerge's readers (fuzz_csv, fuzz_ldif, fuzz_jsonl) check on every
 * record a reader hands out. Header-only, like fuzz_util.h.
 */
#ifndef YH_FUZZ_MIG_H
#define YH_FUZZ_MIG_H

#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "migration-tools/idmerge/input/encoding.h"
#include "migration-tools/idmerge/input/reader.h"

/* Every value of a record is NUL-free UTF-8 within MIG_FIELD_MAX; aborts otherwise. */
static inline void
fuzz_mig_check_record(const struct mig_record *rec)
{
	for (int f = 0; f < MIG_F_COUNT; f++) {
		size_t n;

		if (rec->f[f] == NULL)
			continue;
		n = strlen(rec->f[f]);
		if (n > MIG_FIELD_MAX || !yh_utf8_valid(rec->f[f], n))
			abort();
	}
}

#endif
