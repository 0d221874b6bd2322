/* What every authctl group uses: the global options, the error line, opening the state,
 * printing JSON, and the owners of what authctl writes when authd's HTTP process runs as
 * another account. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "authcore/authd_config.h"
#include "authcore/control_proto.h"
#include "authcore/layout.h"
#include "authctl/ctl.h"
#include "authcore/state.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/timeutil.h"
#include "identity/identity.h"

struct ctl_opts ctl_opts;

/* The configuration of -c when it names `user` and authctl runs as root: true and *cfg
 * loaded (free it), else false. */
static bool
split_cfg(struct authd_cfg *cfg)
{
	char err[512];

	if (ctl_opts.config_path == NULL || geteuid() != 0)
		return false;
	if (authd_cfg_load(cfg, ctl_opts.config_path, ctl_opts.state_dir, NULL, err,
	    sizeof(err)) == 0 && cfg->run_as.set)
		return true;
	authd_cfg_free(cfg);
	return false;
}

gid_t
ctl_account(uid_t *uid)
{
	struct authd_cfg cfg;
	gid_t gid;

	*uid = 0;
	if (!split_cfg(&cfg))
		return 0;
	*uid = cfg.run_as.uid;
	gid = cfg.run_as.gid;
	authd_cfg_free(&cfg);
	return gid;
}

void
ctl_settle_owners(void)
{
	struct authd_cfg cfg;
	char err[1024];
	int r;

	if (!split_cfg(&cfg))
		return;
	r = layout_prepare(&cfg, false, NULL, err, sizeof(err));
	if (r == 0)
		r = layout_repair(&cfg, NULL, err, sizeof(err));
	if (r != 0 && r != YH_ERR_NOT_FOUND)
		fprintf(stderr, "authctl: warning: %s (authd gives the files their owners at its "
		    "next start)\n", err);
	authd_cfg_free(&cfg);
}

int
ctl_fail(const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	/* What an operator typed may be echoed (an unexpected argument, a code as given):
	 * masked as every log line is, so an ID number never reaches a terminal log whole. */
	n = (int)yh_redact_default(line, (size_t)n);
	fprintf(stderr, "authctl: %.*s\n", n, line);
	yh_wipe(line, sizeof(line));
	return 2;
}

int
ctl_dispatch(int argc, char **argv, const char *group, void (*usage)(FILE *f),
    const struct ctl_cmd *cmds)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (cmd == NULL) {
		usage(stderr);
		return 2;
	}
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (const struct ctl_cmd *c = cmds; c->name != NULL; c++)
		if (strcmp(cmd, c->name) == 0)
			return c->fn(argc, argv);
	ctl_fail("%s: unknown command '%s'", group, cmd);
	usage(stderr);
	return 2;
}

int
ctl_open_state(bool create, struct ident **id)
{
	struct state_args a = {
		.config_path = ctl_opts.config_path,
		.state_dir = ctl_opts.state_dir,
		.default_state_dir = NULL,
	};
	char err[512];

	if (state_open(&a, create, id, err, sizeof(err)) != 0)
		return ctl_fail("%s", err);
	return 0;
}

void
ctl_set_str(json_t *o, const char *k, const char *v)
{
	json_object_set_new(o, k, v != NULL ? json_string(v) : json_null());
}

void
ctl_set_time(json_t *o, const char *k, int64_t t)
{
	char buf[40];

	if (t == 0) {
		json_object_set_new(o, k, json_null());
		return;
	}
	yh_time_iso8601(t * 1000, buf, sizeof(buf));
	json_object_set_new(o, k, json_string(buf));
}

int
ctl_print_json(json_t *o)
{
	char *s;

	if (o == NULL || (s = json_dumps(o, JSON_COMPACT)) == NULL) {
		json_decref(o);
		return ctl_fail("out of memory");
	}
	puts(s);
	free(s);
	json_decref(o);
	return 0;
}

int
ctl_control(const struct ident *id, json_t *req, const char *count, json_t **rep, char *err,
    size_t errsz)
{
	char *line = NULL, *reqs = NULL;
	json_error_t je;
	const json_t *c;
	int r;

	*rep = NULL;
	if (req == NULL || (reqs = json_dumps(req, JSON_COMPACT)) == NULL) {
		snprintf(err, errsz, "out of memory");
		r = YH_ERR_ALLOC;
		goto out;
	}
	if ((r = control_call(id->state_dir, reqs, &line, err, errsz)) != 0)
		goto out;
	if ((*rep = json_loads(line, JSON_REJECT_DUPLICATES, &je)) == NULL ||
	    !json_is_object(*rep)) {
		snprintf(err, errsz, "authd's answer is not a JSON object");
		r = YH_ERR_INVALID;
		goto out;
	}
	if (!json_is_true(json_object_get(*rep, "ok"))) {
		const char *e = json_string_value(json_object_get(*rep, "error"));

		snprintf(err, errsz, "authd: %s", e != NULL ? e : "failed");
		r = YH_ERR_INTERNAL;
		goto out;
	}
	c = json_object_get(*rep, count);
	if (!json_is_integer(c) || json_integer_value(c) < 0) {
		snprintf(err, errsz, "authd's answer has no count");
		r = YH_ERR_INVALID;
		goto out;
	}
out:
	if (r != 0) {
		json_decref(*rep);
		*rep = NULL;
	}
	free(reqs);
	free(line);
	return r;
}

#define PURGE_DAYS_MAX 36500   /* a retention period of up to a hundred years */
#define PURGE_PAGE 64

int
ctl_purge(const struct ctl_purge_ops *ops, const char *older_than, bool dry_run)
{
	struct dir_tombstone t[PURGE_PAGE];
	struct ident *id = NULL;
	char after[DIR_UID_LEN + 1] = "", day[32];
	uint64_t days = 0;
	int64_t before;
	size_t n = 0, count = 0;
	json_t *j = NULL, *uids;
	int r;

	if (older_than == NULL)
		return ctl_fail("%s: --older-than DAYS is required (the retention period after "
		    "deregistration, docs/operations.md)", ops->cmd);
	if (yh_parse_u64(older_than, 1, PURGE_DAYS_MAX, &days) != 0)
		return ctl_fail("%s: --older-than must be a whole number of days from 1 to %d, "
		    "not '%s'", ops->cmd, PURGE_DAYS_MAX, older_than);
	if ((r = ctl_open_state(false, &id)) != 0)
		return r;
	before = yh_now() - (int64_t)days * 86400;
	if ((j = json_object()) == NULL || (uids = json_array()) == NULL ||
	    json_object_set_new(j, "uids", uids) != 0) {
		r = ctl_fail("out of memory");
		goto out;
	}
	do {
		if ((r = ops->list(id->dir, before, after, PURGE_PAGE, t, &n)) != 0) {
			r = ctl_fail("%s: cannot list the %s: %s", ops->cmd, ops->what,
			    yh_strerror(r));
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			yh_time_iso8601(t[i].deregistered * 1000, day, sizeof(day));
			day[10] = '\0';
			if (!dry_run && (r = ops->erase(id, &t[i], day, before)) != 0)
				goto out;
			json_array_append_new(uids, json_string(t[i].uid));
			count++;
		}
		if (n > 0)
			memcpy(after, t[n - 1].uid, sizeof(after));
	} while (n == PURGE_PAGE);
out:
	/* What was erased is printed even when a later one failed. */
	if (j != NULL && (count > 0 || r == 0)) {
		json_object_set_new(j, "dry_run", json_boolean(dry_run));
		json_object_set_new(j, "count", json_integer((json_int_t)count));
		if (ctl_print_json(j) != 0)   /* takes j */
			r = 2;
		j = NULL;
	}
	json_decref(j);
	ident_close(id);
	return r;
}
