/*
 * authctl directory init | copy: the directory store itself.
 *
 *   directory init
 *       opens the configured directory, creating it when missing: for SQLite the file,
 *       for LDAP the base entry and its branches (identity/dir/dir_ldap.c) and the vault
 *       bookkeeping. Running it again changes nothing. Prints {"backend", "store"}.
 *   directory copy --from SIDE --to SIDE
 *       copies every person and their records (dir_copy) between the configured
 *       directory and a SQLite file: one SIDE is "sqlite:PATH", the other the configured
 *       backend's name (directory.backend, e.g. "ldap"). Both use the state directory's
 *       vault, so sealed values move sealed. Idempotent; the counts are checked. Prints
 *       the counts and records "directory.copy" in the audit trail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "authcore/state.h"
#include "authctl/ctl.h"
#include "identity/dir/dir.h"
#include "identity/identity.h"
#include "identity/identity_config.h"

static void
directory_usage(FILE *f)
{
	fprintf(f, "usage: authctl [-c FILE | -d STATE_DIR] directory COMMAND\n"
	    "  init                              create the configured directory's base entries\n"
	    "  copy --from SIDE --to SIDE        SIDE: sqlite:PATH, or the configured backend\n"
	    "                                    (directory.backend, e.g. ldap)\n"
	    "docs/operations.md, \"The LDAP directory\".\n");
}

/* The configuration -c / -d name. 0, or 2 after a message. */
static int
load_cfg(struct ident_cfg *cfg)
{
	struct state_args a = {
		.config_path = ctl_opts.config_path,
		.state_dir = ctl_opts.state_dir,
	};
	char err[512];

	if (state_load_cfg(&a, cfg, err, sizeof(err)) != 0)
		return ctl_fail("%s", err);
	return 0;
}

/* Where the configured store is, for the output. */
static const char *
store_of(const struct ident_cfg *cfg)
{
	return strcmp(cfg->directory_backend, "ldap") == 0 ? cfg->ldap_base : cfg->sqlite_path;
}

static int
dir_init_cmd(int argc, char **argv)
{
	struct ident_cfg cfg;
	struct ident *id = NULL;
	char err[512], why[256];
	json_t *o;
	int rc;

	(void)argv;
	if (argc != 2)
		return ctl_fail("usage: authctl directory init");
	if ((rc = load_cfg(&cfg)) != 0)
		return rc;
	if (ident_open(&cfg, true, &id, err, sizeof(err)) != 0) {
		rc = ctl_fail("directory init: %s", err);
		goto out;
	}
	if (dir_ping(id->dir, why, sizeof(why)) != 0) {
		rc = ctl_fail("directory init: %s", why);
		goto out;
	}
	o = json_object();
	ctl_set_str(o, "backend", dir_backend_name(id->dir));
	ctl_set_str(o, "store", store_of(&cfg));
	rc = ctl_print_json(o);
out:
	ident_close(id);
	ident_cfg_free(&cfg);
	return rc;
}

/* Replaces the string option *slot with v. */
static int
set_opt(char **slot, const char *v)
{
	char *c = strdup(v);

	if (c == NULL)
		return ctl_fail("out of memory");
	free(*slot);
	*slot = c;
	return 0;
}

static json_t *
counts_json(const struct dir_copy_counts *c, const char *from, const char *to)
{
	return json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,"
	    "s:I,s:I,s:I,s:I}", "from", from,
	    "to", to,
	    "persons", (json_int_t)c->persons, "persons_added", (json_int_t)c->persons_added,
	    "persons_already_there", (json_int_t)c->persons_there,
	    "passwords", (json_int_t)c->passwords, "totp", (json_int_t)c->totp,
	    "consents", (json_int_t)c->consents, "legacy_links", (json_int_t)c->legacy_links,
	    "pins", (json_int_t)c->pins, "certificate_bindings", (json_int_t)c->cert_bindings,
	    "upstream_links", (json_int_t)c->upstream_links,
	    "verification_events", (json_int_t)c->loa_events,
	    "organizations", (json_int_t)c->orgs, "organizations_added",
	    (json_int_t)c->orgs_added, "relations", (json_int_t)c->relations,
	    "organization_changes", (json_int_t)c->org_changes,
	    "source_persons", (json_int_t)c->source_persons,
	    "target_persons", (json_int_t)c->target_persons);
}

static int
dir_copy_cmd(int argc, char **argv)
{
	const char *from = NULL, *to = NULL, *file;
	struct dir_copy_counts cnt;
	struct ident_cfg cfg;
	struct ident *id = NULL;
	struct dir *other = NULL;
	bool to_file;
	char err[512];
	json_t *o;
	int rc;

	for (int i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--from") == 0)
			from = argv[i + 1];
		else if (strcmp(argv[i], "--to") == 0)
			to = argv[i + 1];
		else
			return ctl_fail("directory copy: unknown option '%s'", argv[i]);
	}
	if (from == NULL || to == NULL || argc != 6)
		return ctl_fail("usage: authctl directory copy --from SIDE --to SIDE "
		    "(SIDE: sqlite:PATH, or the configured backend)");
	to_file = strncmp(to, "sqlite:", 7) == 0;
	file = to_file ? to + 7 : from + 7;
	if (to_file == (strncmp(from, "sqlite:", 7) == 0) || file[0] == '\0')
		return ctl_fail("directory copy: one side must be sqlite:PATH and the other the "
		    "configured backend");
	if ((rc = load_cfg(&cfg)) != 0)
		return rc;
	if (strcmp(to_file ? from : to, cfg.directory_backend) != 0) {
		rc = ctl_fail("directory copy: '%s' is not the configured backend "
		    "(directory.backend = %s)", to_file ? from : to, cfg.directory_backend);
		goto out;
	}
	if (strcmp(cfg.directory_backend, "sqlite") == 0 && strcmp(cfg.sqlite_path, file) == 0) {
		rc = ctl_fail("directory copy: %s is the configured directory itself", file);
		goto out;
	}
	/* the configured side (created when it is the target), then the file with the same
	 * vault (created when it is the target) */
	if (ident_open(&cfg, !to_file, &id, err, sizeof(err)) != 0) {
		rc = ctl_fail("directory copy: %s", err);
		goto out;
	}
	if ((rc = set_opt(&cfg.directory_backend, "sqlite")) != 0 ||
	    (rc = set_opt(&cfg.sqlite_path, file)) != 0)
		goto out;
	if (dir_open(&cfg, id->vault, to_file, &other, err, sizeof(err)) != 0) {
		rc = ctl_fail("directory copy: %s", err);
		goto out;
	}
	if (dir_copy(to_file ? id->dir : other, to_file ? other : id->dir, &cnt, err,
	    sizeof(err)) != 0) {
		rc = ctl_fail("directory copy: %s", err);
		goto out;
	}
	o = counts_json(&cnt, from, to);
	if ((rc = ctl_record(id, "directory.copy", o)) == 0)
		rc = ctl_print_json(o);     /* releases o */
	else
		json_decref(o);
out:
	dir_close(other);
	ident_close(id);
	ident_cfg_free(&cfg);
	return rc;
}

int
ctl_directory(int argc, char **argv)
{
	static const struct ctl_cmd cmds[] = {
		{ "init", dir_init_cmd }, { "copy", dir_copy_cmd },
		{ NULL, NULL },
	};

	return ctl_dispatch(argc, argv, "directory", directory_usage, cmds);
}
