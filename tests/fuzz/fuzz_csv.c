/*
 * libFuzzer target for the idmerge CSV reader (and the JSON-lines reader, which shares
 * its input layer; fuzz_jsonl checks that one against jansson). The first byte picks
 * the encoding and the delimiter, and with its top bit set the JSONL format; the rest
 * is the file, read through the real reader (from a memfd) until its end. Every value a
 * record hands out must be NUL-free UTF-8 within MIG_FIELD_MAX.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_mig.h"
#include "fuzz_util.h"

static const char *const encodings[] = { "UTF-8", "GBK", "GB18030" };
static const char delimiters[] = { ',', '|', '\t', ';' };

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
	src.format = (data[0] & 0x80) ? MIG_FMT_JSONL : MIG_FMT_CSV;
	src.encoding = (char *)encodings[data[0] % 3];
	src.delimiter = delimiters[((data[0] & 0x7F) / 3) % 4];
	src.columns[MIG_F_LEGACY_ID] = "id";
	src.columns[MIG_F_NAME] = "name";
	src.columns[MIG_F_ID_NUMBER] = "id";   /* two fields on one column */
	if ((fd = fuzz_memfd("fuzz_csv", data + 1, size - 1, path, sizeof(path))) < 0)
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
