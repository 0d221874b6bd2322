/*
 * libFuzzer target for the idmerge LDIF reader. The first byte picks the encoding; the
 * rest is the file, read through the real reader (from a memfd) until its end. Every value a record hands out must be NUL-free UTF-8 within
 * MIG_FIELD_MAX.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/utf8.h"
#include "migration-tools/idmerge/input/encoding.h"
#include "migration-tools/idmerge/input/reader.h"

static const char *const encodings[] = { "UTF-8", "GBK", "GB18030" };

/* Writes the input to a memfd; returns the fd (or -1) and its path in path. */
static int
to_memfd(const uint8_t *data, size_t size, char *path, size_t pathsz)
{
	int fd = memfd_create("fuzz_ldif", MFD_CLOEXEC);
	size_t off = 0;
	ssize_t n;

	if (fd < 0)
		return -1;
	while (off < size) {
		if ((n = write(fd, data + off, size - off)) <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	snprintf(path, pathsz, "/proc/self/fd/%d", fd);
	return fd;
}

static void
check_record(const struct mig_record *rec)
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
	if ((fd = to_memfd(data + 1, size - 1, path, sizeof(path))) < 0)
		return 0;
	src.path = path;
	if (mig_reader_open(&src, &r, err, sizeof(err)) == 0) {
		for (;;) {
			rc = mig_reader_next(r, &rec, err, sizeof(err));
			if (rc == YH_ERR_NOT_FOUND || rc == YH_ERR_IO || rc == YH_ERR_ALLOC)
				break;
			if (rc == 0)
				check_record(&rec);
			else if (err[0] == '\0')
				abort(); /* a record-level error always says why */
		}
		mig_reader_close(r);
	}
	close(fd);
	return 0;
}
