/*
 * authctl audit verify FILE... [--key KEYFILE]... [--from TIME] [--to TIME]
 * [--head [LINE:]HASH] [--strict]: checks each audit log's hash chain and its
 * checkpoints (several files: one per host, each its own chain; a range: only the lines
 * of that time and the checkpoints around them, yh_audit_verify); and ctl_record, the
 * operator actions' way onto the same log.
 */
#include <errno.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authcore/audit/audit.h"
#include "authcore/authd_config.h"
#include "authctl/ctl.h"
#include "identity/identity.h"

#define VERIFY_USAGE "usage: authctl [-c FILE | -d STATE_DIR] audit verify FILE... " \
	"[--key KEYFILE]... [--from TIME] [--to TIME] [--head [LINE:]HASH] [--strict]"
#define MAX_KEYS 16
#define MAX_FILES 64      /* files (hosts) one verify takes */
#define EXIT_UNPROVEN 3   /* --strict: intact, but not all of it vouched for */

/* Who runs authctl: the sudo caller when there is one, else the login of the uid. */
void
ctl_operator_name(char *out, size_t outsz)
{
	const char *sudo = getenv("SUDO_USER");
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (sudo != NULL && sudo[0] != '\0' && strlen(sudo) < 64) {
		snprintf(out, outsz, "operator:%s(sudo)", sudo);
		return;
	}
	if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &res) == 0 && res != NULL)
		snprintf(out, outsz, "operator:%s", res->pw_name);
	else
		snprintf(out, outsz, "operator:uid%u", (unsigned)getuid());
}

/*
 * The audit log's and its checkpoint key's paths as authd has them: with -c, its
 * audit.file and audit.key_file; else in state_dir. New strings; 0 or 2 after a message.
 */
static int
audit_paths(const char *state_dir, char **log, char **key)
{
	struct authd_cfg cfg;
	char err[512];
	int r = 0;

	*log = *key = NULL;
	if (ctl_opts.config_path != NULL) {
		if (authd_cfg_load(&cfg, ctl_opts.config_path, ctl_opts.state_dir, NULL, err,
		    sizeof(err)) != 0)
			r = ctl_fail("%s", err);
		else {
			*log = authd_cfg_state_path(&cfg, cfg.audit_file, "audit.log");
			*key = authd_cfg_state_path(&cfg, cfg.audit_key_file, "audit.key");
		}
		authd_cfg_free(&cfg);
	} else if (state_dir != NULL) {
		size_t n = strlen(state_dir) + sizeof("/audit.log");

		if ((*log = malloc(n)) != NULL && (*key = malloc(n)) != NULL) {
			snprintf(*log, n, "%s/audit.log", state_dir);
			snprintf(*key, n, "%s/audit.key", state_dir);
		}
	}
	if (r == 0 && (state_dir != NULL || ctl_opts.config_path != NULL) &&
	    (*log == NULL || *key == NULL))
		r = ctl_fail("out of memory");
	if (r != 0) {
		free(*log);
		free(*key);
		*log = *key = NULL;
	}
	return r;
}

/*
 * Loads the checkpoint key at path into k when the file exists. Returns 0 (*have says
 * whether it was there) or 2 after a message (unreadable, unsafe mode, malformed).
 */
static int
load_key(const char *path, struct yh_audit_key *k, bool *have)
{
	char err[512];
	struct stat st;

	*have = false;
	if (stat(path, &st) != 0 && errno == ENOENT)
		return 0;
	if (yh_audit_key_load(path, false, k, err, sizeof(err)) != 0)
		return ctl_fail("%s", err);
	*have = true;
	return 0;
}

int
ctl_record(const struct ident *id, const char *event, json_t *fields)
{
	struct yh_audit_key key;
	struct yh_audit_cp_opts o = {
		.every_lines = 1,   /* the checkpoint rides in the same write as the line */
		.kid = key.kid,
		.mac = yh_audit_key_mac,
		.mac_ctx = &key,
	};
	char actor[128], err[512], *path, *keypath;
	struct yh_audit *a = NULL;
	struct stat st;
	bool have = false;
	int r;

	if (audit_paths(id->state_dir, &path, &keypath) != 0)
		return 2;
	ctl_operator_name(actor, sizeof(actor));
	/* Without the key (authd has not started yet) the line waits for authd's next
	 * checkpoint; so it does with a key that cannot be read, but the action is
	 * recorded all the same. */
	if (stat(keypath, &st) == 0 || errno != ENOENT) {
		have = yh_audit_key_load(keypath, false, &key, err, sizeof(err)) == 0;
		if (!have)
			fprintf(stderr, "authctl: warning: %s; the audit line waits for authd's "
			    "next checkpoint\n", err);
	}
	if (yh_audit_open(path, &a, err, sizeof(err)) != 0 ||
	    (have && yh_audit_checkpoints(a, &o, err, sizeof(err)) != 0)) {
		r = ctl_fail("%s", err);
		goto out;
	}
	if ((r = yh_audit_write(a, event, actor, fields)) != 0)
		r = ctl_fail("%s: cannot record %s: %s", path, event, yh_strerror(r));
out:
	yh_audit_close(a);
	yh_audit_key_wipe(&key);
	free(path);
	free(keypath);
	return r;
}

/* Where the key is when no --key names one: authd's (-c, -d), else beside the log. */
static int
default_key(const char *log, char **out)
{
	char *copy, *unused = NULL;
	size_t n;

	*out = NULL;
	if (ctl_opts.config_path != NULL || ctl_opts.state_dir != NULL) {
		if (audit_paths(ctl_opts.state_dir, &unused, out) != 0)
			return 2;
		free(unused);
		return 0;
	}
	if ((copy = strdup(log)) == NULL)
		return ctl_fail("out of memory");
	n = strlen(copy) + sizeof("/audit.key");
	if ((*out = malloc(n)) != NULL)
		snprintf(*out, n, "%s/audit.key", dirname(copy));
	free(copy);
	return *out != NULL ? 0 : ctl_fail("out of memory");
}

/* Prints the report of one file as one JSON object, the warnings also on stderr (with
 * the file's name first when several are verified: named). */
static int
print_report(const char *path, bool named, const struct yh_audit_verify_opts *vo,
    const struct yh_audit_report *rep, bool intact)
{
	json_t *o, *w = json_array();
	char *text;

	for (unsigned i = 0; w != NULL && i < rep->nwarnings; i++) {
		fprintf(stderr, "authctl: warning: %s%s%s\n", named ? path : "", named ? ": " : "",
		    rep->warnings[i]);
		json_array_append_new(w, json_string(rep->warnings[i]));
	}
	if (intact)
		o = json_pack("{s:s,s:b,s:I,s:s,s:I,s:I,s:I,s:o*}", "file", path, "valid", 1,
		    "lines", (json_int_t)rep->lines, "head", rep->head, "checkpoints",
		    (json_int_t)rep->checkpoints, "checked", (json_int_t)rep->checked, "covered",
		    (json_int_t)rep->covered, "warnings", w);
	else
		o = json_pack("{s:s,s:b,s:I,s:I,s:s,s:s,s:o*}", "file", path, "valid", 0,
		    "lines", (json_int_t)rep->lines, "bad_line", (json_int_t)rep->bad_line,
		    "damage", yh_audit_damage_name(rep->damage), "reason", rep->reason,
		    "warnings", w);
	if (o != NULL && (vo->from != NULL || vo->to != NULL) &&
	    json_object_set_new(o, "range", json_pack("{s:s?,s:s?,s:I,s:I,s:I,s:I}", "from",
	    vo->from, "to", vo->to, "first_line", (json_int_t)rep->range_first, "last_line",
	    (json_int_t)rep->range_last, "checked_from", (json_int_t)rep->window_first,
	    "checked_to", (json_int_t)rep->window_last)) != 0) {
		json_decref(o);
		o = NULL;
	}
	if (o == NULL || (text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL) {
		json_decref(o);
		return ctl_fail("out of memory");
	}
	puts(text);
	free(text);
	json_decref(o);
	return 0;
}

/* verify's arguments. */
struct verify_args {
	const char *paths[MAX_FILES];
	size_t npaths;
	const char *keys[MAX_KEYS];
	size_t nkeys;
	bool strict;
};

/* Parses verify's arguments into a and o (head, range; borrowed). 0 or 2 after a
 * message. */
static int
parse_verify(int argc, char **argv, struct verify_args *a, struct yh_audit_verify_opts *o)
{
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--head") == 0 && i + 1 < argc)
			o->head = argv[++i];
		else if (strcmp(argv[i], "--key") == 0 && i + 1 < argc && a->nkeys < MAX_KEYS)
			a->keys[a->nkeys++] = argv[++i];
		else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			o->from = argv[++i];
		else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
			o->to = argv[++i];
		else if (strcmp(argv[i], "--strict") == 0)
			a->strict = true;
		else if (argv[i][0] != '-' && a->npaths < MAX_FILES)
			a->paths[a->npaths++] = argv[i];
		else
			return ctl_fail(VERIFY_USAGE);
	}
	if (a->npaths == 0)
		return ctl_fail(VERIFY_USAGE);
	if ((o->from != NULL && !yh_audit_range_ok(o->from)) ||
	    (o->to != NULL && !yh_audit_range_ok(o->to)))
		return ctl_fail("--from and --to: YYYY-MM-DD, optionally THH, :MM, :SS, .mmm, Z "
		    "(UTC, a prefix of the lines' ts)");
	if (o->head != NULL && (a->npaths > 1 || o->from != NULL || o->to != NULL))
		return ctl_fail("--head is for one whole file: not with several files or a range");
	return 0;
}

/* Loads the keys named (keypaths) or, without any, the default key of path into keys;
 * *n gets how many. 0 or 2 after a message. */
static int
load_keys(const struct verify_args *a, const char *path, struct yh_audit_key *keys,
    size_t *n)
{
	char *defkey = NULL;
	bool have;
	int r = 0;

	*n = 0;
	if (a->nkeys == 0) {
		if ((r = default_key(path, &defkey)) == 0 &&
		    (r = load_key(defkey, &keys[0], &have)) == 0 && have)
			*n = 1;
		free(defkey);
		return r;
	}
	for (size_t i = 0; i < a->nkeys && r == 0; i++) {
		if ((r = load_key(a->keys[i], &keys[*n], &have)) == 0 && !have)
			r = ctl_fail("%s: no such key file", a->keys[i]);
		else if (r == 0)
			(*n)++;
	}
	return r;
}

/* Verifies one file: 0 intact, 1 damaged, 2 cannot check, EXIT_UNPROVEN. */
static int
verify_one(const struct verify_args *a, struct yh_audit_verify_opts *o, const char *path)
{
	struct yh_audit_report rep;
	struct yh_audit_key keys[MAX_KEYS];
	size_t n = 0;
	int r;

	if ((r = load_keys(a, path, keys, &n)) != 0)
		goto out;
	o->keys = keys;
	o->nkeys = n;
	r = yh_audit_verify(path, o, &rep);
	if (r == YH_ERR_IO || r == YH_ERR_INVALID || r == YH_ERR_ALLOC) {
		r = ctl_fail("%s: %s", r == YH_ERR_INVALID ? "--head" : path, rep.reason);
		goto out;
	}
	if ((r = print_report(path, a->npaths > 1, o, &rep, r == 0)) != 0)
		goto out;
	r = rep.damage != YH_AUDIT_INTACT ? 1 : a->strict && rep.nwarnings > 0 ?
	    EXIT_UNPROVEN : 0;
out:
	for (size_t i = 0; i < n; i++)
		yh_audit_key_wipe(&keys[i]);
	o->keys = NULL;
	o->nkeys = 0;
	return r;
}

/*
 * One report line per file, each its own chain (one file per host). Exit 0 all intact
 * (warnings on stderr), 1 any damaged, 2 any could not be checked (usage, an unreadable
 * file or key), 3 with --strict when all are intact but not all of it is vouched for.
 */
int
ctl_audit(int argc, char **argv)
{
	struct yh_audit_verify_opts o = { 0 };
	struct verify_args a = { .npaths = 0 };
	bool damaged = false, failed = false, unproven = false;
	int r;

	if (argc < 2 || strcmp(argv[1], "verify") != 0)
		return ctl_fail(VERIFY_USAGE);
	if ((r = parse_verify(argc, argv, &a, &o)) != 0)
		return r;
	for (size_t i = 0; i < a.npaths; i++) {
		r = verify_one(&a, &o, a.paths[i]);
		damaged |= r == 1;
		failed |= r != 0 && r != 1 && r != EXIT_UNPROVEN;
		unproven |= r == EXIT_UNPROVEN;
	}
	return damaged ? 1 : failed ? 2 : unproven ? EXIT_UNPROVEN : 0;
}
