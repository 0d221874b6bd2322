/*
 * libFuzzer target for the idmerge LDIF reader. The first byte picks the encoding; the
 * rest is the file, read through the real reader (from a memfd) until its end. Every value a record hands out must be NUL-free UTF-8 within
 * MIG_FIELD_MAX.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_mig.h"
#include "fuzz_util.h"

static const char *const encodings[] = { "UTF-8", "GBK", "GB18030" };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mig_source src;
	struct mig_reader *r = NULL;
	struct mig_record rec;
	char path[64], err[512];
	int fd, rc;

	if (size < 1)
		return 0;
	memset(&src, 0, sizeof(src));
	src.name = "fuzz";
	src.format = MIG_FMT_LDIF;
	src.encoding = (char *)encodings[data[0] % 3];
	src.columns[MIG_F_LEGACY_ID] = "dn";
	src.columns[MIG_F_USERNAME] = "uid";
	src.columns[MIG_F_NAME] = "cn";
	src.columns[MIG_F_EMAIL] = "mail";
	src.columns[MIG_F_ID_NUMBER] = "uid";  /* two fields on one attribute */
	if ((fd = fuzz_memfd("fuzz_ldif", data + 1, size - 1, path, sizeof(path))) < 0)
		return 0;
	src.path = path;
	if (mig_reader_open(&src, &r, err, sizeof(err)) == 0) {
		for (;;) {
			rc = mig_reader_next(r, &rec, err, sizeof(err));
			if (rc == YH_ERR_NOT_FOUND || rc == YH_ERR_IO || rc == YH_ERR_ALLOC)
				break;
			if (rc == 0)
				fuzz_mig_check_record(&rec);
			else if (err[0] == '\0')
				abort(); /* a record-level error always says why */
		}
		mig_reader_close(r);
	}
	close(fd);
	return 0;
}
