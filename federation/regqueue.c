/* The queue of owed population-registry checks. See federation/regqueue.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/atomicfile.h"
#include "common/buf.h"
#include "federation/regqueue.h"

static int
path_of(const char *state_dir, const char *name, char *out, size_t outsz)
{
	int n = snprintf(out, outsz, "%s/%s", state_dir, name);

	return n < 0 || (size_t)n >= outsz ? YH_ERR_TOO_LONG : 0;
}

static bool
uid_ok(const char *s, size_t n)
{
	if (n == 0 || n > FED_REGQ_UID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

static bool
has(const struct fed_regq_uid *v, size_t n, const char *uid)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].uid, uid) == 0)
			return true;
	return false;
}

/* Parses the file's text into distinct entries (lines that are no uid are skipped). */
static int
parse(const char *text, size_t len, struct fed_regq_uid **out, size_t *n)
{
	struct fed_regq_uid *v = NULL, *nv;
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t l = nl != NULL ? (size_t)(nl - (text + i)) : len - i;
		char uid[FED_REGQ_UID_MAX + 1];

		if (uid_ok(text + i, l)) {
			memcpy(uid, text + i, l);
			uid[l] = '\0';
			if (!has(v, *n, uid)) {
				if (*n == cap) {
					cap = cap == 0 ? 64 : cap * 2;
					if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
						free(v);
						*n = 0;
						return YH_ERR_ALLOC;
					}
					v = nv;
				}
				memcpy(v[(*n)++].uid, uid, l + 1);
			}
		}
		i += l + 1;
	}
	*out = v;
	return 0;
}

/* Reads the queue file (missing: empty) into *out. */
static int
read_all(const char *path, char **out, size_t *len, char *err, size_t errsz)
{
	int fd, r;

	*out = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return YH_ERR_IO;
	}
	r = yh_file_read_fd(fd, FED_REGQ_MAX_BYTES, false, out, len);
	close(fd);
	if (r != 0)
		snprintf(err, errsz, "%s: %s", path, r == YH_ERR_TOO_LONG ? "over its bound" :
		    yh_strerror(r));
	return r;
}

static int
lock(const char *state_dir, int *fd, char *err, size_t errsz)
{
	char path[YH_FILE_PATH_MAX];
	struct yh_file_fail f;
	int r;

	if ((r = path_of(state_dir, FED_REGQ_LOCK, path, sizeof(path))) != 0) {
		snprintf(err, errsz, "%s: path too long", state_dir);
		return r;
	}
	if ((r = yh_file_lock(path, true, fd, &f)) != 0)
		yh_file_fail_msg(&f, err, errsz);
	return r;
}

int
fed_regq_add(const char *state_dir, const char *uid, char *err, size_t errsz)
{
	char path[YH_FILE_PATH_MAX], line[FED_REGQ_UID_MAX + 2];
	struct stat st;
	int lfd = -1, fd = -1, r;

	if (uid == NULL || !uid_ok(uid, strlen(uid)))
		return YH_ERR_INVALID;
	if ((r = path_of(state_dir, FED_REGQ_FILE, path, sizeof(path))) != 0 ||
	    (r = lock(state_dir, &lfd, err, errsz)) != 0)
		return r;
	/* One line appended, whatever the queue's length: a uid queued twice is read once
	 * (fed_regq_list). */
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0 ||
	    fstat(fd, &st) != 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		r = YH_ERR_IO;
		goto out;
	}
	if ((uint64_t)st.st_size + strlen(uid) + 1 > FED_REGQ_MAX_BYTES) {
		snprintf(err, errsz, "%s: full (%u bytes): run authctl registry retry", path,
		    FED_REGQ_MAX_BYTES);
		r = YH_ERR_LIMIT;
		goto out;
	}
	snprintf(line, sizeof(line), "%s\n", uid);
	if (yh_file_write_fd(fd, line, strlen(line)) != 0 || fsync(fd) != 0 ||
	    (st.st_size == 0 && yh_file_sync_dir(state_dir) != 0)) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		r = YH_ERR_IO;
	}
out:
	if (fd >= 0)
		close(fd);
	yh_file_unlock(lfd);
	return r;
}

int
fed_regq_list(const char *state_dir, struct fed_regq_uid **out, size_t *n, char *err,
    size_t errsz)
{
	char path[YH_FILE_PATH_MAX];
	char *text = NULL;
	size_t len = 0;
	int lfd = -1, r;

	*out = NULL;
	*n = 0;
	if ((r = path_of(state_dir, FED_REGQ_FILE, path, sizeof(path))) != 0 ||
	    (r = lock(state_dir, &lfd, err, errsz)) != 0)
		return r;
	if ((r = read_all(path, &text, &len, err, errsz)) == 0)
		r = parse(text, len, out, n);
	free(text);
	yh_file_unlock(lfd);
	return r;
}

int
fed_regq_remove(const char *state_dir, const struct fed_regq_uid *done, size_t ndone,
    char *err, size_t errsz)
{
	char path[YH_FILE_PATH_MAX];
	struct fed_regq_uid *v = NULL;
	struct yh_file_fail f;
	struct yh_buf b;
	char *text = NULL;
	size_t len = 0, n = 0;
	int lfd = -1, r;

	if (ndone == 0)
		return 0;
	yh_buf_init(&b, FED_REGQ_MAX_BYTES);
	if ((r = path_of(state_dir, FED_REGQ_FILE, path, sizeof(path))) != 0 ||
	    (r = lock(state_dir, &lfd, err, errsz)) != 0)
		goto out;
	if ((r = read_all(path, &text, &len, err, errsz)) != 0 ||
	    (r = parse(text, len, &v, &n)) != 0)
		goto out;
	for (size_t i = 0; i < n && r == 0; i++)
		if (!has(done, ndone, v[i].uid))
			r = yh_buf_printf(&b, "%s\n", v[i].uid);
	if (r != 0)
		goto out;
	if ((r = yh_file_write_atomic(path, b.data != NULL ? b.data : "", b.len, 0600,
	    YH_FILE_REPLACE, &f)) != 0)
		yh_file_fail_msg(&f, err, errsz);
out:
	free(text);
	free(v);
	yh_buf_free(&b);
	yh_file_unlock(lfd);
	return r;
}
