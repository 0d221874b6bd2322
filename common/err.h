/* One error space for the whole tree: functions return 0 or a negative YH_ERR_*. */
#ifndef YH_COMMON_ERR_H
#define YH_COMMON_ERR_H

#include <stdbool.h>
#include <stddef.h>

#define YH_WUR __attribute__((warn_unused_result))

enum {
	YH_OK = 0,
	YH_ERR_INTERNAL = -1,     /* a bug or an impossible state */
	YH_ERR_ALLOC = -2,        /* out of memory */
	YH_ERR_INVALID = -3,      /* malformed input */
	YH_ERR_TOO_LONG = -4,     /* input over its bound */
	YH_ERR_NOT_FOUND = -5,
	YH_ERR_EXISTS = -6,       /* unique key already present */
	YH_ERR_IO = -7,           /* file or socket error (see errno) */
	YH_ERR_CRYPTO = -8,       /* a crypto library call failed */
	YH_ERR_AUTH = -9,         /* wrong password, bad signature, bad MAC */
	YH_ERR_EXPIRED = -10,
	YH_ERR_UNSUPPORTED = -11, /* algorithm, scheme or feature not supported */
	YH_ERR_CONFIG = -12,      /* configuration error */
	YH_ERR_DB = -13,          /* directory backend error */
	YH_ERR_DENIED = -14,      /* policy forbids it */
	YH_ERR_BUSY = -15,        /* try again */
	YH_ERR_UNAVAILABLE = -16, /* a dependency (Redis, LDAP, upstream) is down */
	YH_ERR_KEY = -17,         /* key missing, unreadable or wrong */
	YH_ERR_LOCKED = -18,      /* account or resource locked */
	YH_ERR_CONFLICT = -19,    /* ambiguous or contradictory data */
	YH_ERR_LIMIT = -20,       /* rate limit or quota reached */
	YH_ERR_REPLAY = -21,      /* a single-use value was used again */
	YH_ERR_PERM = -22,        /* file permissions unsafe or not writable */
	YH_ERR_NOSPACE = -23,     /* no space left: the disk or the quota is full */
};

/* Returns a static English description of a YH_ERR_* code (never NULL). */
const char *yh_strerror(int err);

/* Returns the stable short name of a code, e.g. "not_found" (never NULL). */
const char *yh_errname(int err);

/* The code for a failed file system call's errno: YH_ERR_NOSPACE for ENOSPC and EDQUOT
 * (the disk or the quota is full), YH_ERR_IO for anything else. */
int yh_err_from_errno(int errnum);

/* True for the failures that pass by themselves and deserve "try again later" (HTTP
 * 503) rather than "internal error": a dependency unavailable or busy, no space left. */
bool yh_err_temporary(int err);

/*
 * Writes one line of explanation, printf-style, into err (errsz bytes, always
 * NUL-terminated, cut short when longer). err may be NULL or errsz 0: nothing is written.
 * The one formatter behind the tree's "char *err, size_t errsz" out-parameters.
 */
void yh_errf(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* yh_errf, then the value rc: `return YH_FAIL(YH_ERR_INVALID, err, errsz, "...", ...)`. */
#define YH_FAIL(rc, err, errsz, ...) \
	({ yh_errf((err), (errsz), __VA_ARGS__); (rc); })

#endif
