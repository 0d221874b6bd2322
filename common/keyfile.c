#include <stdio.h>
#include <string.h>

#include "common/atomicfile.h"
#include "common/keyfile.h"
#include "common/secmem.h"

/* Writes a new key file next to path and links it into place (never over a file). */
static int
create_key(const char *path, size_t len, char *err, size_t errsz)
{
	unsigned char key[YH_KEYFILE_MAX];
	char hex[2 * YH_KEYFILE_MAX + 2];
	struct yh_file_fail f;
	int r;

	if ((r = yh_random(key, len)) != 0) {
		snprintf(err, errsz, "%s: no randomness", path);
		return r;
	}
	yh_hex_encode(key, len, hex);
	hex[2 * len] = '\n';
	/* An existing file (another process created the key meanwhile): theirs wins. */
	r = yh_file_write_atomic(path, hex, 2 * len + 1, 0600, YH_FILE_NOREPLACE, &f);
	switch (f.step) {
	case YH_FILE_OK:
		break;
	case YH_FILE_RANDOM:
		snprintf(err, errsz, "%s: no randomness", path);
		break;
	case YH_FILE_NAME:
		snprintf(err, errsz, "%s: path too long", path);
		r = YH_ERR_IO;
		break;
	case YH_FILE_CREATE:
		snprintf(err, errsz, "%s: cannot create: %s", f.file, strerror(f.errnum));
		break;
	case YH_FILE_PLACE:
		if (r == YH_ERR_EXISTS)
			r = 0;
		else
			snprintf(err, errsz, "%s: cannot create: %s", path, strerror(f.errnum));
		break;
	case YH_FILE_SYNC_DIR:
		snprintf(err, errsz, "%s: cannot fsync its directory: %s", path,
		    strerror(f.errnum));
		break;
	default:  /* write, fsync or close of the temporary file */
		snprintf(err, errsz, "%s: cannot write: %s", f.file, strerror(f.errnum));
		break;
	}
	yh_wipe(key, sizeof(key));
	yh_wipe(hex, sizeof(hex));
	return r;
}

int
yh_keyfile_get(const char *path, size_t len, bool create, unsigned char *out, char *err,
    size_t errsz)
{
	struct yh_file_fail f;
	char *hex = NULL;
	size_t n = 0;
	int r;

	if (len < 16 || len > YH_KEYFILE_MAX) {
		snprintf(err, errsz, "%s: bad key length", path);
		return YH_ERR_INTERNAL;
	}
	r = yh_file_read_key(path, 2 * len + 1, &hex, &n, &f);
	if (r == YH_ERR_NOT_FOUND && create) {
		if ((r = create_key(path, len, err, errsz)) != 0)
			return r;
		r = yh_file_read_key(path, 2 * len + 1, &hex, &n, &f);
	}
	switch (f.step) {
	case YH_FILE_OK:
		break;
	case YH_FILE_OPEN:
		snprintf(err, errsz, "%s: cannot read key file: %s", path, strerror(f.errnum));
		return r == YH_ERR_NOT_FOUND ? YH_ERR_KEY : YH_ERR_IO;
	case YH_FILE_NOT_REGULAR:
		snprintf(err, errsz, "%s: key file is not a regular file", path);
		return YH_ERR_PERM;
	case YH_FILE_MODE:
		snprintf(err, errsz, "%s: key file is accessible by group or others (mode %03o)",
		    path, (unsigned)(f.mode & 0777));
		return YH_ERR_PERM;
	case YH_FILE_OWNER:
		yh_file_fail_msg(&f, err, errsz);
		return YH_ERR_PERM;
	default:  /* too large, unreadable */
		r = YH_ERR_KEY;
		break;
	}
	if (r == 0 && (n != 2 * len + 1 || hex[2 * len] != '\n' ||
	    yh_hex_decode(hex, 2 * len, out, len) != 0))
		r = YH_ERR_KEY;
	if (r != 0) {
		snprintf(err, errsz, "%s: key file is malformed (expected %zu hex digits)", path,
		    2 * len);
		yh_wipe(out, len);
	}
	if (hex != NULL)
		yh_freezero(hex, n + 1);
	return r;
}
