#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/keyfile.h"
#include "common/secmem.h"

/* Writes a new key file next to path and links it into place (never over a file). */
static int
create_key(const char *path, size_t len, char *err, size_t errsz)
{
	unsigned char key[YH_KEYFILE_MAX];
	char hex[2 * YH_KEYFILE_MAX + 2], tmp[4200];
	int fd, r = YH_ERR_IO;
	size_t n;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp)) {
		snprintf(err, errsz, "%s: path too long", path);
		return YH_ERR_IO;
	}
	if ((r = yh_random(key, len)) != 0) {
		snprintf(err, errsz, "%s: no randomness", path);
		return r;
	}
	yh_hex_encode(key, len, hex);
	n = 2 * len;
	hex[n++] = '\n';
	r = YH_ERR_IO;
	unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		snprintf(err, errsz, "%s: cannot create: %s", tmp, strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0600) != 0 || write(fd, hex, n) != (ssize_t)n || fsync(fd) != 0) {
		snprintf(err, errsz, "%s: cannot write: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	/* link() fails if another process created the key meanwhile: theirs wins. */
	if (link(tmp, path) != 0 && errno != EEXIST) {
		snprintf(err, errsz, "%s: cannot create: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	unlink(tmp);
	r = 0;
out:
	yh_wipe(key, sizeof(key));
	yh_wipe(hex, sizeof(hex));
	return r;
}

int
yh_keyfile_get(const char *path, size_t len, bool create, unsigned char *out, char *err,
    size_t errsz)
{
	char hex[2 * YH_KEYFILE_MAX + 4];
	struct stat st;
	ssize_t n;
	int fd, r;

	if (len < 16 || len > YH_KEYFILE_MAX) {
		snprintf(err, errsz, "%s: bad key length", path);
		return YH_ERR_INTERNAL;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 && errno == ENOENT &&
	    create) {
		if ((r = create_key(path, len, err, errsz)) != 0)
			return r;
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0) {
		snprintf(err, errsz, "%s: cannot read key file: %s", path, strerror(errno));
		return errno == ENOENT ? YH_ERR_KEY : YH_ERR_IO;
	}
	r = YH_ERR_PERM;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errsz, "%s: key file is not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errsz, "%s: key file is accessible by group or others (mode %03o)",
		    path, (unsigned)(st.st_mode & 0777));
		goto out;
	}
	r = YH_ERR_KEY;
	n = read(fd, hex, sizeof(hex));
	if (n != (ssize_t)(2 * len + 1) || hex[2 * len] != '\n' ||
	    yh_hex_decode(hex, 2 * len, out, len) != 0) {
		snprintf(err, errsz, "%s: key file is malformed (expected %zu hex digits)", path,
		    2 * len);
		yh_wipe(out, len);
		goto out;
	}
	r = 0;
out:
	yh_wipe(hex, sizeof(hex));
	close(fd);
	return r;
}
