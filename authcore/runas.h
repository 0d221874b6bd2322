/*
 * The account authd's HTTP process runs as (prefix runas_), after OpenSSH's unprivileged
 * child: with the `user` option and authd started as root, keyd keeps root and the key
 * files, and the HTTP process, once everything that needs root is done, switches to this
 * account for good. Its files and the state directory's layout are in authcore/layout.h.
 */
#ifndef YH_AUTHCORE_RUNAS_H
#define YH_AUTHCORE_RUNAS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"

struct runas {
	bool set;     /* `user` is configured */
	uid_t uid;    /* never 0 */
	gid_t gid;    /* never 0 */
};

/*
 * Parses the `user` option into *out: "NAME" (the passwd entry's uid and primary group),
 * "NAME:GROUP" (the group by name or number) or "UID:GID" (numbers, which need no passwd
 * or group entry). A lone number is a uid whose passwd entry gives the group. Root (uid
 * or gid 0) is refused: the account is there to be unable to read what root owns.
 * Returns 0, or YH_ERR_CONFIG with why (whysz bytes) saying what is wrong; *out is then
 * cleared.
 */
int runas_parse(const char *spec, struct runas *out, char *why, size_t whysz) YH_WUR;

/*
 * Makes the calling process r's account for good: supplementary groups cleared
 * (setgroups(0, NULL)), then real, effective and saved group and user ids set to r's
 * (setresgid, setresuid; glibc applies them to every thread). Then checks that it took:
 * the ids read back are r's, no supplementary group is left, and setuid(0) and setgid(0)
 * fail; and sets PR_SET_NO_NEW_PRIVS (no exec can give anything back). Needs root
 * (CAP_SETUID, CAP_SETGID). Returns 0, or YH_ERR_PERM with why naming the step that
 * failed (the process must then stop: it may be half switched).
 */
int runas_become(const struct runas *r, char *why, size_t whysz) YH_WUR;

#endif
