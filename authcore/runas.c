/* The `user` option and the switch to that account: see runas.h. */
#define _GNU_SOURCE    /* setresuid, getresuid and the gid ones */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "authcore/runas.h"
#include "common/buf.h"

#define RUNAS_SPEC_MAX 128    /* NAME:GROUP, as `user` may give it */
#define RUNAS_NSS_BUF 16384   /* getpwnam_r/getgrnam_r scratch */

/* A decimal id of 1..2^32-2 ((uid_t)-1 means "unchanged" to the set*id calls). */
static bool
parse_id(const char *s, uint32_t *out)
{
	uint64_t v;

	if (s[0] < '0' || s[0] > '9' || yh_parse_u64(s, 0, UINT32_MAX - 1, &v) != 0)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* The user NAME or UID: its uid, and its passwd entry's primary group in *gid (when it
 * has one: *have_gid). */
static int
find_user(const char *name, uid_t *uid, gid_t *gid, bool *have_gid, char *why, size_t whysz)
{
	struct passwd pw, *res = NULL;
	char *buf;
	uint32_t n;
	int e;

	*have_gid = false;
	if ((buf = malloc(RUNAS_NSS_BUF)) == NULL)
		return YH_FAIL(YH_ERR_ALLOC, why, whysz, "out of memory");
	if (parse_id(name, &n)) {
		*uid = (uid_t)n;
		e = getpwuid_r(*uid, &pw, buf, RUNAS_NSS_BUF, &res);
	} else
		e = getpwnam_r(name, &pw, buf, RUNAS_NSS_BUF, &res);
	if (res != NULL) {
		*uid = pw.pw_uid;
		*gid = pw.pw_gid;
		*have_gid = true;
	}
	free(buf);
	if (res == NULL && !parse_id(name, &n))
		return YH_FAIL(YH_ERR_CONFIG, why, whysz, "no user '%s'%s%s", name,
		    e != 0 ? ": " : "", e != 0 ? strerror(e) : "");
	return 0;
}

/* The group NAME or GID. */
static int
find_group(const char *name, gid_t *gid, char *why, size_t whysz)
{
	struct group gr, *res = NULL;
	char *buf;
	uint32_t n;
	int e;

	if (parse_id(name, &n)) {
		*gid = (gid_t)n;
		return 0;
	}
	if ((buf = malloc(RUNAS_NSS_BUF)) == NULL)
		return YH_FAIL(YH_ERR_ALLOC, why, whysz, "out of memory");
	e = getgrnam_r(name, &gr, buf, RUNAS_NSS_BUF, &res);
	if (res != NULL)
		*gid = gr.gr_gid;
	free(buf);
	if (res == NULL)
		return YH_FAIL(YH_ERR_CONFIG, why, whysz, "no group '%s'%s%s", name,
		    e != 0 ? ": " : "", e != 0 ? strerror(e) : "");
	return 0;
}

int
runas_parse(const char *spec, struct runas *out, char *why, size_t whysz)
{
	char user[RUNAS_SPEC_MAX + 1], *group;
	bool have_gid = false;
	int r;

	memset(out, 0, sizeof(*out));
	if (spec == NULL || spec[0] == '\0')
		return 0;
	if (yh_strlcpy(user, spec, sizeof(user)) != 0)
		return YH_FAIL(YH_ERR_CONFIG, why, whysz, "longer than %d bytes", RUNAS_SPEC_MAX);
	if ((group = strchr(user, ':')) != NULL)
		*group++ = '\0';
	if (user[0] == '\0' || (group != NULL && group[0] == '\0'))
		return YH_FAIL(YH_ERR_CONFIG, why, whysz, "expected NAME, NAME:GROUP or UID:GID");
	if ((r = find_user(user, &out->uid, &out->gid, &have_gid, why, whysz)) != 0 ||
	    (group != NULL && (r = find_group(group, &out->gid, why, whysz)) != 0))
		goto out;
	if (group == NULL && !have_gid) {
		r = YH_FAIL(YH_ERR_CONFIG, why, whysz, "uid %s has no passwd entry to give its "
		    "group: write UID:GID", user);
		goto out;
	}
	if (out->uid == 0 || out->gid == 0) {
		r = YH_FAIL(YH_ERR_CONFIG, why, whysz, "must not be root (uid or gid 0): it is the "
		    "account that cannot read the keys");
		goto out;
	}
	out->set = true;
out:
	if (r != 0)
		memset(out, 0, sizeof(*out));
	return r;
}

/* True when the switch to r took and cannot be undone. */
static bool
switched(const struct runas *r, char *why, size_t whysz)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0 ||
	    ru != r->uid || eu != r->uid || su != r->uid || rg != r->gid || eg != r->gid ||
	    sg != r->gid) {
		snprintf(why, whysz, "the user and group ids are not %u:%u after the switch",
		    (unsigned)r->uid, (unsigned)r->gid);
		return false;
	}
	if (getgroups(0, NULL) != 0) {
		snprintf(why, whysz, "supplementary groups are left after the switch");
		return false;
	}
	if (setuid(0) != -1 || setgid(0) != -1) {
		snprintf(why, whysz, "root can be regained after the switch to %u:%u",
		    (unsigned)r->uid, (unsigned)r->gid);
		return false;
	}
	return true;
}

int
runas_become(const struct runas *r, char *why, size_t whysz)
{
	const char *step;

	if (setgroups(0, NULL) != 0)
		step = "setgroups";
	else if (setresgid(r->gid, r->gid, r->gid) != 0)
		step = "setresgid";
	else if (setresuid(r->uid, r->uid, r->uid) != 0)
		step = "setresuid";
	else if (!switched(r, why, whysz))
		return YH_ERR_PERM;
	else if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		step = "prctl(PR_SET_NO_NEW_PRIVS)";
	else
		return 0;
	snprintf(why, whysz, "cannot switch to uid %u gid %u: %s: %s", (unsigned)r->uid,
	    (unsigned)r->gid, step, strerror(errno));
	return YH_ERR_PERM;
}
