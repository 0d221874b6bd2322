/*
 * Small secret key files in the state directory (the pairwise-subject key, ...): len
 * random bytes stored as one line of hex, mode 0600. Created atomically on first use
 * (temp file, fsync, link into place so an existing key is never replaced), refused when
 * group or others may access it, when it is not owned by the process's effective uid
 * (yh_file_read_key), or when it is not what it should be.
 */
#ifndef YH_COMMON_KEYFILE_H
#define YH_COMMON_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>
#include "common/err.h"

#define YH_KEYFILE_MAX 64

/*
 * Reads the key at path into out (len bytes, 16..YH_KEYFILE_MAX), creating it first
 * when it does not exist and create is true. Errors (err gets one line naming the file):
 * YH_ERR_KEY (missing without create, malformed, wrong length), YH_ERR_PERM (mode allows
 * group/other, another owner, or not a regular file), YH_ERR_IO, YH_ERR_CRYPTO. out is wiped on error.
 */
int yh_keyfile_get(const char *path, size_t len, bool create, unsigned char *out,
    char *err, size_t errsz) YH_WUR;

#endif
