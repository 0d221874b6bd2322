#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "common/atomicfile.h"
#include "common/buf.h"
#include "common/secmem.h"
#include "common/timeutil.h"

/* Records the failed step and returns rc; an I/O error that ran out of space is
 * YH_ERR_NOSPACE. */
static int
fail(struct yh_file_fail *f, enum yh_file_step step, int errnum, const char *file, int rc)
{
	f->step = step;
	f->errnum = errnum;
	snprintf(f->file, sizeof(f->file), "%s", file);
	return rc == YH_ERR_IO ? yh_err_from_errno(errnum) : rc;
}

int
yh_file_write_fd(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return YH_ERR_IO;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int
yh_file_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return YH_ERR_IO;
	if (fsync(fd) != 0)
		rc = YH_ERR_IO;
	close(fd);
	return rc;
}

/* Splits path into its directory (dir: "." when it has none) and last component. */
static int
split_path(const char *path, char *dir, const char **base)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (slash == NULL) {
		dir[0] = '.', dir[1] = '\0';
		*base = path;
		return 0;
	}
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= YH_FILE_PATH_MAX)
		return YH_ERR_TOO_LONG;
	memcpy(dir, path, n);
	dir[n] = '\0';
	*base = slash + 1;
	return 0;
}

/* Builds DIR/.BASE.tmp-PID-RANDOM in tmp; f tells what failed. */
static int
temp_name(const char *path, const char *dir, const char *base, char *tmp,
    struct yh_file_fail *f)
{
	unsigned char rnd[8];
	char tag[2 * sizeof(rnd) + 1];
	int rc, n;

	if ((rc = yh_random(rnd, sizeof(rnd))) != 0)
		return fail(f, YH_FILE_RANDOM, 0, dir, rc);
	yh_hex_encode(rnd, sizeof(rnd), tag);
	n = snprintf(tmp, YH_FILE_PATH_MAX, "%.*s.%s.tmp-%ld-%s", (int)(base - path), path,
	    base, (long)getpid(), tag);
	if (n < 0 || n >= YH_FILE_PATH_MAX)
		return fail(f, YH_FILE_NAME, 0, dir, YH_ERR_TOO_LONG);
	return 0;
}

/* Creates tmp with mode (and owner uid, group gid unless -1), writes data, fsyncs and
 * closes it; removes it on failure. */
static int
write_temp(const char *tmp, const void *data, size_t len, mode_t mode, uid_t uid, gid_t gid,
    struct yh_file_fail *f)
{
	int fd, rc;

	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0600);
	if (fd < 0)
		return fail(f, YH_FILE_CREATE, errno, tmp, YH_ERR_IO);
	if (((uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(fd, uid, gid) != 0) ||
	    fchmod(fd, mode) != 0 ||
	    yh_file_write_fd(fd, data, len) != 0 || fsync(fd) != 0) {
		rc = fail(f, YH_FILE_WRITE, errno, tmp, YH_ERR_IO);
		close(fd);
		unlink(tmp);
		return rc;
	}
	if (close(fd) != 0) {
		rc = fail(f, YH_FILE_CLOSE, errno, tmp, YH_ERR_IO);
		unlink(tmp);
		return rc;
	}
	return 0;
}

int
yh_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
    unsigned flags, struct yh_file_fail *f)
{
	return yh_file_write_atomic_group(path, data, len, mode, (gid_t)-1, flags, f);
}

int
yh_file_write_atomic_group(const char *path, const void *data, size_t len, mode_t mode,
    gid_t gid, unsigned flags, struct yh_file_fail *f)
{
	return yh_file_write_atomic_owned(path, data, len, mode, (uid_t)-1, gid, flags, f);
}

int
yh_file_write_atomic_owned(const char *path, const void *data, size_t len, mode_t mode,
    uid_t uid, gid_t gid, unsigned flags, struct yh_file_fail *f)
{
	char dir[YH_FILE_PATH_MAX], tmp[YH_FILE_PATH_MAX];
	const char *base;
	int rc, placed;

	memset(f, 0, sizeof(*f));
	if (split_path(path, dir, &base) != 0)
		return fail(f, YH_FILE_NAME, 0, path, YH_ERR_TOO_LONG);
	if ((rc = temp_name(path, dir, base, tmp, f)) != 0 ||
	    (rc = write_temp(tmp, data, len, mode, uid, gid, f)) != 0)
		return rc;
	if (flags & YH_FILE_NOREPLACE)
		placed = link(tmp, path);
	else
		placed = rename(tmp, path);
	if (placed != 0) {
		rc = fail(f, YH_FILE_PLACE, errno, path,
		    (flags & YH_FILE_NOREPLACE) && errno == EEXIST ? YH_ERR_EXISTS : YH_ERR_IO);
		unlink(tmp);
		return rc;
	}
	if (flags & YH_FILE_NOREPLACE)
		unlink(tmp);
	if (yh_file_sync_dir(dir) != 0)
		return fail(f, YH_FILE_SYNC_DIR, errno, dir, YH_ERR_IO);
	return 0;
}

int
yh_file_read_fd(int fd, size_t max, bool secret, char **out, size_t *outlen)
{
	struct yh_buf b;
	char chunk[4096];
	int rc = 0;

	*out = NULL;
	*outlen = 0;
	if (secret)
		yh_buf_init_secret(&b, max);
	else
		yh_buf_init(&b, max);
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = YH_ERR_IO;
			break;
		}
		if (n == 0)
			break;
		if ((rc = yh_buf_append(&b, chunk, (size_t)n)) != 0)
			break;
	}
	if (secret)
		yh_wipe(chunk, sizeof(chunk));
	if (rc == 0) {
		*outlen = b.len;
		if ((*out = yh_buf_steal(&b)) == NULL)
			rc = YH_ERR_ALLOC;
	}
	yh_buf_free(&b);
	return rc;
}

/* yh_file_read_private, and with key the owner check of yh_file_read_key. */
static int
read_private(const char *path, size_t max, bool key, char **out, size_t *outlen,
    struct yh_file_fail *f)
{
	struct stat st;
	int fd, rc;

	*out = NULL;
	*outlen = 0;
	memset(f, 0, sizeof(*f));
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && errno == EACCES && key && lstat(path, &st) == 0 &&
	    st.st_uid != geteuid()) {
		/* Another account's key file, unreadable here (root without CAP_DAC_OVERRIDE,
		 * as under systemd): say so rather than only "Permission denied". */
		f->owner = st.st_uid;
		return fail(f, YH_FILE_OWNER, EACCES, path, YH_ERR_PERM);
	}
	if (fd < 0)
		return fail(f, YH_FILE_OPEN, errno, path,
		    errno == ENOENT ? YH_ERR_NOT_FOUND : YH_ERR_IO);
	if (fstat(fd, &st) != 0) {
		rc = fail(f, YH_FILE_NOT_REGULAR, errno, path, YH_ERR_PERM);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = fail(f, YH_FILE_NOT_REGULAR, 0, path, YH_ERR_PERM);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		f->mode = st.st_mode;
		rc = fail(f, YH_FILE_MODE, 0, path, YH_ERR_PERM);
		goto out;
	}
	if (key && st.st_uid != geteuid()) {
		f->owner = st.st_uid;
		rc = fail(f, YH_FILE_OWNER, 0, path, YH_ERR_PERM);
		goto out;
	}
	rc = yh_file_read_fd(fd, max, true, out, outlen);
	if (rc == YH_ERR_TOO_LONG)
		fail(f, YH_FILE_TOO_LARGE, 0, path, rc);
	else if (rc != 0)
		fail(f, YH_FILE_READ, errno, path, rc);
out:
	close(fd);
	return rc;
}

int
yh_file_read_private(const char *path, size_t max, char **out, size_t *outlen,
    struct yh_file_fail *f)
{
	return read_private(path, max, false, out, outlen, f);
}

int
yh_file_read_key(const char *path, size_t max, char **out, size_t *outlen,
    struct yh_file_fail *f)
{
	return read_private(path, max, true, out, outlen, f);
}

int
yh_file_lock_within(const char *path, bool exclusive, int64_t wait_ms, int *fd,
    struct yh_file_fail *f)
{
	const struct timespec tick = { 0, 5 * 1000 * 1000 };
	int64_t until = wait_ms >= 0 ? yh_mono_ns() + wait_ms * 1000000 : 0;
	int op = (exclusive ? LOCK_EX : LOCK_SH) | (wait_ms >= 0 ? LOCK_NB : 0);
	int rc;

	memset(f, 0, sizeof(*f));
	if (exclusive)
		*fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	else
		*fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd < 0) {
		if (!exclusive && errno == ENOENT)
			return 0;
		return fail(f, YH_FILE_OPEN, errno, path, YH_ERR_IO);
	}
	while (flock(*fd, op) != 0) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK && yh_mono_ns() < until) {
			nanosleep(&tick, NULL);
			continue;
		}
		rc = fail(f, YH_FILE_LOCK, errno, path, errno == EWOULDBLOCK ? YH_ERR_BUSY :
		    YH_ERR_IO);
		close(*fd);
		*fd = -1;
		return rc;
	}
	return 0;
}

int
yh_file_lock(const char *path, bool exclusive, int *fd, struct yh_file_fail *f)
{
	return yh_file_lock_within(path, exclusive, -1, fd, f);
}

void
yh_file_unlock(int fd)
{
	if (fd >= 0)
		close(fd);  /* releases the flock */
}

void
yh_file_fail_msg(const struct yh_file_fail *f, char *err, size_t errsz)
{
	const char *e = strerror(f->errnum);

	if (err == NULL || errsz == 0)
		return;
	switch (f->step) {
	case YH_FILE_OK:
		err[0] = '\0';
		break;
	case YH_FILE_RANDOM:
		snprintf(err, errsz, "no randomness for a temporary name");
		break;
	case YH_FILE_NAME:
		snprintf(err, errsz, "%s: path too long", f->file);
		break;
	case YH_FILE_SYNC_DIR:
		snprintf(err, errsz, "%s: fsync: %s", f->file, e);
		break;
	case YH_FILE_LOCK:
		snprintf(err, errsz, "%s: flock: %s", f->file, e);
		break;
	case YH_FILE_NOT_REGULAR:
		snprintf(err, errsz, "%s: not a regular file", f->file);
		break;
	case YH_FILE_MODE:
		snprintf(err, errsz, "%s: accessible by group or others (mode %03o); chmod 600 it",
		    f->file, (unsigned)(f->mode & 0777));
		break;
	case YH_FILE_OWNER:
		if (f->owner == 0)
			snprintf(err, errsz, "%s: owned by root, not by uid %u that reads it: a "
			    "key file is used only by its owner (run this as root)", f->file,
			    (unsigned)geteuid());
		else
			snprintf(err, errsz, "%s: owned by uid %u, not by uid %u that reads it (a "
			    "key file must belong to the user holding the keys; if nobody meant to "
			    "replace it, restore it from the backup)", f->file, (unsigned)f->owner,
			    (unsigned)geteuid());
		break;
	case YH_FILE_TOO_LARGE:
		snprintf(err, errsz, "%s: larger than the limit", f->file);
		break;
	default:  /* CREATE, WRITE, CLOSE, PLACE, OPEN, READ */
		snprintf(err, errsz, "%s: %s", f->file, e);
		break;
	}
}

int
yh_file_room(const char *path, char *why, size_t whysz)
{
	struct statvfs sv;
	unsigned long long avail;

	why[0] = '\0';
	if (statvfs(path, &sv) != 0) {
		snprintf(why, whysz, "statvfs: %s", strerror(errno));
		return yh_err_from_errno(errno);
	}
	if (sv.f_flag & ST_RDONLY) {
		snprintf(why, whysz, "the file system is mounted read-only");
		return YH_ERR_PERM;
	}
	/* root may also use the blocks an ext4 file system keeps in reserve. */
	avail = (unsigned long long)(geteuid() == 0 ? sv.f_bfree : sv.f_bavail) *
	    (unsigned long long)sv.f_frsize;
	if (avail < YH_FILE_ROOM_MIN) {
		snprintf(why, whysz, "no space left on the device (disk full): %llu KiB free, "
		    "at least %u KiB needed", avail / 1024,
		    (unsigned)(YH_FILE_ROOM_MIN / 1024));
		return YH_ERR_NOSPACE;
	}
	return 0;
}
