/*
 * The queue of persons whose population-registry check is owed, prefix fed_regq_: a
 * person registered while the registry was unavailable got LoA 1 and their uid was
 * put here; `authctl registry retry` asks again and takes the uid off once the
 * registry answered (match or mismatch).
 *
 * The file STATE_DIR/registry-queue holds one uid per line (no personal data: the name
 * and the ID number are read from the directory at retry). Writers take an exclusive
 * lock on STATE_DIR/registry-queue.lock: authd appends one line and fsyncs it before
 * the registration is answered; authctl rewrites the file atomically (a new file
 * renamed over it), which is why the lock is a file of its own.
 */
#ifndef YH_FEDERATION_REGQUEUE_H
#define YH_FEDERATION_REGQUEUE_H

#include <stddef.h>

#include "common/err.h"

#define FED_REGQ_FILE "registry-queue"
#define FED_REGQ_LOCK "registry-queue.lock"
#define FED_REGQ_UID_MAX 64              /* bytes of one entry */
#define FED_REGQ_MAX_BYTES (32u << 20)   /* the file's bound: about a million entries */

/* One entry. */
struct fed_regq_uid {
	char uid[FED_REGQ_UID_MAX + 1];
};

/*
 * Appends uid (1..FED_REGQ_UID_MAX bytes of [0-9a-zA-Z_-]) to the queue of state_dir,
 * durably (the line and, when the file was new, the directory fsync'ed), in constant
 * time whatever the queue's length; a uid appended twice is listed once. Returns 0,
 * YH_ERR_INVALID, YH_ERR_LIMIT (the file is at its bound), YH_ERR_IO (err: the file and
 * why) or YH_ERR_TOO_LONG (the path).
 */
int fed_regq_add(const char *state_dir, const char *uid, char *err, size_t errsz) YH_WUR;

/*
 * Reads the queue: *out a malloc'd array of *n distinct entries in queue order (NULL
 * and 0 when there is none; free it). Returns 0, YH_ERR_IO (err), YH_ERR_TOO_LONG or
 * YH_ERR_ALLOC.
 */
int fed_regq_list(const char *state_dir, struct fed_regq_uid **out, size_t *n, char *err,
    size_t errsz) YH_WUR;

/*
 * Takes the uids done[0..ndone) off the queue (entries added since fed_regq_list stay),
 * atomically and durably. Returns 0, YH_ERR_IO (err) or YH_ERR_ALLOC.
 */
int fed_regq_remove(const char *state_dir, const struct fed_regq_uid *done, size_t ndone,
    char *err, size_t errsz) YH_WUR;

#endif
