/*
 * Files that must never be seen half-written, and secret files that must not be readable
 * by anyone but their owner: state files (clients.json, keyring.json) and key files
 * (the client-secret key, vault keys, the pairwise-subject key, signing keys). Also
 * whether a file system still has room for the writes of a running service.
 *
 * The functions do not format messages: each module words its own. On failure they fill
 * a struct yh_file_fail telling which step failed, on which file, and its errno.
 */
#ifndef YH_COMMON_ATOMICFILE_H
#define YH_COMMON_ATOMICFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "common/err.h"

/* Longest path (with its temporary-name suffix) the functions handle. */
#define YH_FILE_PATH_MAX 4200

/* yh_file_write_atomic flags. */
#define YH_FILE_REPLACE   0u  /* rename() over whatever is at path */
#define YH_FILE_NOREPLACE 1u  /* link() into place: an existing file is never replaced */

/* Which step failed. */
enum yh_file_step {
	YH_FILE_OK = 0,
	YH_FILE_RANDOM,       /* no randomness for the temporary name (file: the directory) */
	YH_FILE_NAME,         /* path or temporary name too long (file: the directory) */
	YH_FILE_CREATE,       /* creating the temporary file (file: the temporary file) */
	YH_FILE_WRITE,        /* fchmod, write or fsync of it (file: the temporary file) */
	YH_FILE_CLOSE,        /* closing it (file: the temporary file) */
	YH_FILE_PLACE,        /* rename or link into place (file: path) */
	YH_FILE_SYNC_DIR,     /* fsync of the directory, after placing (file: the directory) */
	YH_FILE_OPEN,         /* opening for reading (file: path) */
	YH_FILE_NOT_REGULAR,  /* fstat failed or not a regular file (file: path) */
	YH_FILE_MODE,         /* group or others may access it; mode in .mode (file: path) */
	YH_FILE_OWNER,        /* a key file not owned by the reader's euid; .owner (file: path) */
	YH_FILE_READ,         /* read error (file: path) */
	YH_FILE_TOO_LARGE,    /* more than the caller's maximum (file: path) */
	YH_FILE_LOCK,         /* flock (file: the lock file) */
};

/* What failed: the step, the file or directory it acted on, the errno it saw (0 when the
 * step has none), for YH_FILE_MODE the file's st_mode and for YH_FILE_OWNER its owner. */
struct yh_file_fail {
	enum yh_file_step step;
	int errnum;
	mode_t mode;
	uid_t owner;
	char file[YH_FILE_PATH_MAX];
};

/*
 * Writes data (len bytes) to path so that readers see the old content or the new, never
 * a mix: a temporary file in the same directory (".NAME.tmp-PID-RANDOM", created with
 * O_EXCL, chmod'ed to mode whatever the umask, written, fsync'ed, closed), then renamed
 * over path (YH_FILE_REPLACE) or linked to path (YH_FILE_NOREPLACE), then the directory
 * fsync'ed. The temporary file never outlives the call.
 * Returns 0; YH_ERR_EXISTS (NOREPLACE only: path exists, left as it was, directory not
 * fsync'ed); YH_ERR_TOO_LONG (path); yh_random's error; YH_ERR_IO. On YH_FILE_SYNC_DIR
 * the new file is in place already. f (required) says what failed.
 */
int yh_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
    unsigned flags, struct yh_file_fail *f) YH_WUR;

/*
 * yh_file_write_atomic with the new file's group set to gid (fchown of the temporary
 * file, before its mode is set and before it is placed, so that no reader ever sees it
 * with another group); (gid_t)-1 keeps the writer's group. For a file another account
 * reads through its group (mode 0640). Setting a group the writer is not a member of
 * takes root (CAP_CHOWN); that failure is YH_FILE_WRITE.
 */
int yh_file_write_atomic_group(const char *path, const void *data, size_t len,
    mode_t mode, gid_t gid, unsigned flags, struct yh_file_fail *f) YH_WUR;

/*
 * yh_file_write_atomic_group with the new file's owner set to uid as well ((uid_t)-1
 * keeps the writer's), in the same fchown. For a file that a tool run as root writes on
 * behalf of the account that owns it (and also writes it), so that the file never
 * becomes root's. Giving a file to another uid takes root (CAP_CHOWN).
 */
int yh_file_write_atomic_owned(const char *path, const void *data, size_t len,
    mode_t mode, uid_t uid, gid_t gid, unsigned flags, struct yh_file_fail *f) YH_WUR;

/*
 * fsyncs the directory dir, so that files created, renamed or removed in it stay so
 * after a crash. Returns 0 or YH_ERR_IO (errno set). Not marked warn-unused: after
 * removing files a failure is often only worth ignoring.
 */
int yh_file_sync_dir(const char *dir);

/*
 * Writes all len bytes of data to fd, retrying short writes and EINTR. Returns 0 or
 * YH_ERR_IO (errno set).
 */
int yh_file_write_fd(int fd, const void *data, size_t len) YH_WUR;

/*
 * Reads what remains of the open descriptor fd (at most max bytes) into *out, a malloc'd
 * NUL-terminated copy, *outlen its length (the NUL not counted). secret: the memory is
 * wiped when grown, and the caller releases it with yh_freezero(*out, *outlen + 1).
 * Does not close fd. Returns 0, YH_ERR_TOO_LONG (more than max), YH_ERR_IO (errno set),
 * YH_ERR_ALLOC; *out is NULL on error.
 */
int yh_file_read_fd(int fd, size_t max, bool secret, char **out, size_t *outlen) YH_WUR;

/*
 * Reads a secret file (at most max bytes) into *out as yh_file_read_fd with secret true
 * (release it with yh_freezero(*out, *outlen + 1)), after checking it is a regular file
 * (not followed through a symlink) that neither group nor others may access.
 * Returns 0; YH_ERR_NOT_FOUND (it does not exist); YH_ERR_PERM (YH_FILE_NOT_REGULAR or
 * YH_FILE_MODE); YH_ERR_TOO_LONG; YH_ERR_IO (YH_FILE_OPEN or YH_FILE_READ);
 * YH_ERR_ALLOC. f (required) says what failed.
 */
int yh_file_read_private(const char *path, size_t max, char **out, size_t *outlen,
    struct yh_file_fail *f) YH_WUR;

/*
 * yh_file_read_private for a key file: it must also be owned by the effective uid of the
 * process reading it, so that a key file another account put in its place (one that
 * could write the directory, or a file root would otherwise read whatever its owner) is
 * refused, never used. YH_ERR_PERM with YH_FILE_OWNER (f->owner: the file's owner) when
 * it is not, also when it cannot even be opened for that reason (EACCES: another
 * account's file); otherwise as yh_file_read_private.
 */
int yh_file_read_key(const char *path, size_t max, char **out, size_t *outlen,
    struct yh_file_fail *f) YH_WUR;

/*
 * Takes an advisory lock on the lock file path, waiting for it: exclusive (the file is
 * created, mode 0600, when missing) or shared (a missing file means nobody ever wrote:
 * no lock, *fd is -1 and 0 is returned). The lock lasts until yh_file_unlock(*fd).
 * Returns 0 or YH_ERR_IO (YH_FILE_OPEN or YH_FILE_LOCK); *fd is -1 on error.
 */
int yh_file_lock(const char *path, bool exclusive, int *fd, struct yh_file_fail *f) YH_WUR;

/* yh_file_lock, waiting at most wait_ms for a lock another process holds (< 0: for
 * ever): then YH_ERR_BUSY (YH_FILE_LOCK, errno EWOULDBLOCK) and *fd is -1. */
int yh_file_lock_within(const char *path, bool exclusive, int64_t wait_ms, int *fd,
    struct yh_file_fail *f) YH_WUR;

/* Releases a lock taken by yh_file_lock (closes fd); -1 is accepted. */
void yh_file_unlock(int fd);

/*
 * The plain wording of a failure, into err (errsz bytes; nothing when err is NULL):
 * "FILE: <strerror>" for most steps, "DIR: fsync: <strerror>", "FILE: flock: <strerror>",
 * "DIR: path too long",
 * "no randomness for a temporary name", "FILE: not a regular file", "FILE: accessible
 * by group or others (mode 0NN); chmod 600 it", "FILE: owned by uid N, not by uid M that
 * reads it (...)" (or "owned by root ... (run this as root)"), "FILE: larger than the
 * limit".
 */
void yh_file_fail_msg(const struct yh_file_fail *f, char *err, size_t errsz);

/* The least free space yh_file_room accepts: below it the next directory commit, WAL
 * checkpoint or audit line may fail for want of a block. */
#define YH_FILE_ROOM_MIN (1024u * 1024u)

/*
 * Whether the file system holding path can take more writes (for readiness checks):
 * 0; YH_ERR_NOSPACE when less than YH_FILE_ROOM_MIN bytes are free for this process
 * (root counts the blocks a file system keeps in reserve; a quota is not seen);
 * YH_ERR_PERM when it is mounted read-only; the statvfs error otherwise. why (whysz
 * bytes) gets the problem in a few words without the path (readiness answers are
 * public), "" on 0.
 */
int yh_file_room(const char *path, char *why, size_t whysz) YH_WUR;

#endif
