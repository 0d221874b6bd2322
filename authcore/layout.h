/*
 * Who owns what in the state directory when authd's HTTP process runs as another account
 * (`user`, authcore/runas.h), prefix layout_. keyd keeps the starting user (root) and
 * with it the key files; the HTTP process owns the files it writes, and reads the one
 * file it must read but never writes through its group:
 *
 *   STATE_DIR                                      root:GROUP   1770
 *   vault.key, subject.key, client-secret.key,     root         0600   keyd's
 *     audit.key, keys/ and what it holds           root         0700/0600
 *   directory.db and its -wal, -shm, -journal      USER:GROUP   0600   the HTTP process's
 *   audit.log, audit.log.checkpoint, authd.sock    USER:GROUP   0600   the HTTP process's
 *   registry-queue, registry-queue.lock            USER:GROUP   0600   both write them
 *   clients.json, clients.lock                     USER:GROUP   0600   both write them
 *                                                                      (the console, authctl)
 *
 * (directory.sqlite_path and audit.file may put theirs elsewhere: those files get the same
 * owners; their directories are the operator's.) The sticky bit lets the HTTP account
 * create its files in the state directory but never rename or remove root's, and keyd
 * refuses a key file or key directory it does not own (yh_file_read_key, keyd's directory
 * checks), so a key file that account puts where one is missing is refused, never used.
 *
 * authd started as root calls layout_prepare before it forks keyd, and layout_repair
 * after keyd holds the keys and before it switches; authctl run as root calls both after
 * each command, so that it never leaves a root-owned file where the HTTP process writes.
 * Neither touches a key file. Both must run as root (CAP_CHOWN; the state directory's
 * mode is set as its owner) and do nothing when cfg has no `user`.
 */
#ifndef YH_AUTHCORE_LAYOUT_H
#define YH_AUTHCORE_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>

#include "authcore/authd_config.h"
#include "common/err.h"

/*
 * Gives the state directory its owner (the caller's uid), group (the `user` account's)
 * and mode 1770, creating it when create is true and it is missing (missing parents are
 * made 0755, so that the account can reach it). *changed (may be NULL) says whether
 * anything changed. Returns 0, YH_ERR_NOT_FOUND (missing, not create), or YH_ERR_IO /
 * YH_ERR_PERM / YH_ERR_INVALID (not a directory) with err naming the path.
 */
int layout_prepare(const struct authd_cfg *cfg, bool create, bool *changed, char *err,
    size_t errsz) YH_WUR;

/*
 * Gives each file of the table above that exists its owner, group and (for a file the
 * caller owned) mode. A file is only ever handled through a descriptor that does not
 * follow a symbolic link, and refused (the error names it) when it is a symbolic link,
 * not a regular file (a socket for authd.sock) or has more than one name, since a hard
 * link could make root give away another file. *changed (may be NULL) gets how many
 * files changed. Returns 0 or YH_ERR_IO / YH_ERR_PERM / YH_ERR_INVALID with err set.
 */
int layout_repair(const struct authd_cfg *cfg, unsigned *changed, char *err, size_t errsz)
    YH_WUR;

#endif
