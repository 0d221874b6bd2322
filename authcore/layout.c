/* The state directory's owners under `user`: see layout.h. */
#define _GNU_SOURCE    /* O_PATH, AT_EMPTY_PATH */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authcore/audit/audit.h"
#include "authcore/clients/clients.h"
#include "authcore/control_proto.h"
#include "authcore/layout.h"
#include "common/buf.h"
#include "federation/regqueue.h"

#define LAYOUT_DIR_MODE 01770   /* the state directory: sticky, the group may create */
#define LAYOUT_PATH_MAX 4096

/* chmod of the file fd (an O_PATH descriptor) refers to, through its /proc link: the
 * same file whatever happened to its name since. */
static int
chmod_fd(int fd, mode_t mode)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	return chmod(proc, mode);
}

/* mkdir -p of dir's parents (0755: the account must get through them) and dir (0700;
 * set_dir gives it its mode). */
static int
make_dir(const char *dir, char *err, size_t errsz)
{
	char buf[LAYOUT_PATH_MAX];
	size_t n;

	if (yh_strlcpy(buf, dir, sizeof(buf)) != 0)
		return YH_FAIL(YH_ERR_TOO_LONG, err, errsz, "%s: path too long", dir);
	n = strlen(buf);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = '\0';
	for (size_t i = 1; i <= n; i++) {
		bool last = i == n;

		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0700) == 0) {
			if (!last && chmod(buf, 0755) != 0)
				return YH_FAIL(YH_ERR_IO, err, errsz, "cannot chmod %s: %s", buf,
				    strerror(errno));
		} else if (errno != EEXIST)
			return YH_FAIL(errno == EACCES || errno == EROFS ? YH_ERR_PERM : YH_ERR_IO,
			    err, errsz, "cannot create state directory %s: %s", buf, strerror(errno));
		if (!last)
			buf[i] = '/';
	}
	return 0;
}

/* The state directory: the caller's, the account's group, 1770. */
static int
set_dir(const char *dir, uid_t uid, gid_t gid, bool *changed, char *err, size_t errsz)
{
	struct stat st;
	int fd, r = 0;

	if ((fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return YH_FAIL(errno == ENOENT ? YH_ERR_NOT_FOUND : errno == ENOTDIR ?
		    YH_ERR_INVALID : YH_ERR_IO, err, errsz, "state directory %s: %s", dir,
		    strerror(errno));
	if (fstat(fd, &st) != 0) {
		r = YH_FAIL(YH_ERR_IO, err, errsz, "state directory %s: %s", dir, strerror(errno));
		goto out;
	}
	if ((st.st_uid != uid || st.st_gid != gid) && fchownat(fd, "", uid, gid,
	    AT_EMPTY_PATH) != 0) {
		r = YH_FAIL(YH_ERR_PERM, err, errsz, "cannot give the state directory %s to uid "
		    "%u gid %u: %s", dir, (unsigned)uid, (unsigned)gid, strerror(errno));
		goto out;
	}
	if ((st.st_mode & 07777) != LAYOUT_DIR_MODE && chmod_fd(fd, LAYOUT_DIR_MODE) != 0) {
		r = YH_FAIL(YH_ERR_PERM, err, errsz, "cannot chmod %o the state directory %s: %s",
		    LAYOUT_DIR_MODE, dir, strerror(errno));
		goto out;
	}
	*changed = st.st_uid != uid || st.st_gid != gid ||
	    (st.st_mode & 07777) != LAYOUT_DIR_MODE;
out:
	close(fd);
	return r;
}

int
layout_prepare(const struct authd_cfg *cfg, bool create, bool *changed, char *err,
    size_t errsz)
{
	bool dummy = false;
	int r;

	if (changed == NULL)
		changed = &dummy;
	*changed = false;
	if (!cfg->run_as.set)
		return 0;
	if (create && (r = make_dir(cfg->ident.state_dir, err, errsz)) != 0)
		return r;
	return set_dir(cfg->ident.state_dir, geteuid(), cfg->run_as.gid, changed, err, errsz);
}

/* One file of the table: its path, and the owner and mode it is given (the group is always
 * the account's). */
struct owned {
	const char *path;
	uid_t uid;
	mode_t mode;      /* 0: a socket, whose mode stays */
};

/* Refuses what root must not give away: a symbolic link, another kind of file, a file
 * with another name. */
static int
check_kind(const struct owned *o, const struct stat *st, char *err, size_t errsz)
{
	if (S_ISLNK(st->st_mode))
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "%s is a symbolic link: authd does not "
		    "give it to uid %u; make it the file itself", o->path, (unsigned)o->uid);
	if (o->mode != 0 ? !S_ISREG(st->st_mode) : !S_ISSOCK(st->st_mode))
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "%s is not a %s: remove it", o->path,
		    o->mode != 0 ? "regular file" : "socket");
	if (st->st_nlink != 1)
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "%s has %lu names (hard links): authd "
		    "gives a file to uid %u only when it has no other", o->path,
		    (unsigned long)st->st_nlink, (unsigned)o->uid);
	return 0;
}

/* Gives o->path (when it exists) its owner, the group gid and its mode. */
static int
own(const struct owned *o, gid_t gid, unsigned *changed, char *err, size_t errsz)
{
	const char *slash = strrchr(o->path, '/'), *base = slash != NULL ? slash + 1 : o->path;
	size_t dl = slash == NULL ? 0 : slash == o->path ? 1 : (size_t)(slash - o->path);
	char dir[LAYOUT_PATH_MAX] = ".";
	bool mine, mode_off;
	struct stat st;
	int dfd = -1, fd = -1, r = 0;

	if (dl >= sizeof(dir))
		return YH_FAIL(YH_ERR_TOO_LONG, err, errsz, "%s: path too long", o->path);
	if (dl > 0) {
		memcpy(dir, o->path, dl);
		dir[dl] = '\0';
	}
	if ((dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (fd = openat(dfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		if (errno != ENOENT)
			r = YH_FAIL(YH_ERR_IO, err, errsz, "%s: %s", o->path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		r = YH_FAIL(YH_ERR_IO, err, errsz, "%s: %s", o->path, strerror(errno));
		goto out;
	}
	if ((r = check_kind(o, &st, err, errsz)) != 0)
		goto out;
	mine = st.st_uid == geteuid();
	mode_off = o->mode != 0 && (st.st_mode & 07777) != o->mode;
	/* The mode is set while the caller owns the file (before or after the chown), so
	 * that no other capability is needed; another account's file keeps its mode. */
	if ((mode_off && mine && chmod_fd(fd, o->mode) != 0) ||
	    ((st.st_uid != o->uid || st.st_gid != gid) &&
	    fchownat(fd, "", o->uid, gid, AT_EMPTY_PATH) != 0) ||
	    (mode_off && !mine && o->uid == geteuid() && chmod_fd(fd, o->mode) != 0)) {
		r = YH_FAIL(YH_ERR_PERM, err, errsz, "cannot give %s to uid %u gid %u: %s",
		    o->path, (unsigned)o->uid, (unsigned)gid, strerror(errno));
		goto out;
	}
	if (st.st_uid != o->uid || st.st_gid != gid || (mode_off && (mine ||
	    o->uid == geteuid())))
		(*changed)++;
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	return r;
}

/* path + suffix, or NULL (out of memory). */
static char *
suffixed(const char *path, const char *suffix)
{
	struct yh_buf b;

	yh_buf_init(&b, LAYOUT_PATH_MAX);
	if (yh_buf_printf(&b, "%s%s", path, suffix) != 0) {
		yh_buf_free(&b);
		return NULL;
	}
	return yh_buf_steal(&b);
}

int
layout_repair(const struct authd_cfg *cfg, unsigned *changed, char *err, size_t errsz)
{
	static const char *const db_suffixes[] = { "", "-wal", "-shm", "-journal" };
	enum { N_DB = sizeof(db_suffixes) / sizeof(db_suffixes[0]), N = N_DB + 7 };
	uid_t user = cfg->run_as.uid;
	char *audit = NULL, *paths[N];
	struct owned files[N];
	unsigned dummy = 0;
	int r = YH_ERR_ALLOC;

	if (changed == NULL)
		changed = &dummy;
	*changed = 0;
	memset(paths, 0, sizeof(paths));
	if (!cfg->run_as.set)
		return 0;
	for (size_t i = 0; i < N_DB; i++)
		paths[i] = suffixed(cfg->ident.sqlite_path, db_suffixes[i]);
	if ((audit = authd_cfg_state_path(cfg, cfg->audit_file, "audit.log")) != NULL) {
		paths[N_DB] = suffixed(audit, "");
		paths[N_DB + 1] = suffixed(audit, YH_AUDIT_CHECKPOINT_SUFFIX);
	}
	paths[N_DB + 2] = authd_cfg_state_path(cfg, NULL, CONTROL_SOCKET_NAME);
	paths[N_DB + 3] = authd_cfg_state_path(cfg, NULL, CLIENTS_FILE);
	paths[N_DB + 4] = authd_cfg_state_path(cfg, NULL, FED_REGQ_FILE);
	paths[N_DB + 5] = authd_cfg_state_path(cfg, NULL, FED_REGQ_LOCK);
	paths[N_DB + 6] = authd_cfg_state_path(cfg, NULL, CLIENTS_LOCK_FILE);
	for (size_t i = 0; i < N; i++) {
		if (paths[i] == NULL) {
			snprintf(err, errsz, "out of memory");
			goto out;
		}
		files[i] = (struct owned){ paths[i], user, 0600 };
	}
	files[N_DB + 2].mode = 0;               /* the control socket */
	r = 0;
	for (size_t i = 0; i < N && r == 0; i++)
		r = own(&files[i], cfg->run_as.gid, changed, err, errsz);
out:
	for (size_t i = 0; i < N; i++)
		free(paths[i]);
	free(audit);
	return r;
}
