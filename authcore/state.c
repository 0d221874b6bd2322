/* Finding the state directory from -c / -d and opening the identity core. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "authcore/authd_config.h"
#include "authcore/clients/clients.h"
#include "authcore/state.h"
#include "common/config.h"

/*
 * -c FILE is authd's configuration file, so it is read as authd reads it: every key one
 * of authd's options and every value checked (a typo such as "stat_dir" is an error here
 * as it is for authd -t), and only the identity part is kept. YH_CFG_PARTIAL remains for
 * readers that cannot know authd's table (idmerge import, below authd in the dependency
 * order) and for a second read of a file already checked this way.
 */
static int
load_from_authd_file(const struct state_args *a, struct ident_cfg *cfg, char *err,
    size_t errsz)
{
	struct authd_cfg full;
	int r;

	memset(cfg, 0, sizeof(*cfg));
	if ((r = authd_cfg_load(&full, a->config_path, a->state_dir, NULL, err, errsz)) == 0) {
		*cfg = full.ident;  /* its strings change hands */
		memset(&full.ident, 0, sizeof(full.ident));
	}
	authd_cfg_free(&full);
	return r;
}

int
state_load_cfg(const struct state_args *a, struct ident_cfg *cfg, char *err, size_t errsz)
{
	struct yh_cfg_err cerr;
	int r;

	if (a->config_path == NULL && a->state_dir == NULL && a->default_state_dir == NULL) {
		memset(cfg, 0, sizeof(*cfg));
		snprintf(err, errsz, "no state directory: pass -d STATE_DIR or -c FILE");
		return YH_ERR_CONFIG;
	}
	if (a->config_path != NULL)
		return load_from_authd_file(a, cfg, err, errsz);
	if ((r = ident_cfg_init(cfg, &cerr)) != 0) {
		yh_cfg_err_format(&cerr, err, errsz);
		goto out;
	}
	r = ident_cfg_finish_dir(cfg, a->state_dir, a->default_state_dir, err, errsz);
out:
	if (r != 0)
		ident_cfg_free(cfg);
	return r;
}

/* The one option read from authd's part of the configuration file for the registry. */
struct apps_cfg {
	char *file;
};

static const struct yh_cfg_opt apps_cfg_opts[] = {
	CLIENTS_CFG_OPTIONS(offsetof(struct apps_cfg, file)),
	{ .name = NULL },
};

/* The signing algorithms an app may choose: keys.algs and keys.alg of -c's file, or the
 * defaults without one. */
static int
enabled_algs(const struct state_args *a, unsigned *algs, char *err, size_t errsz)
{
	struct authd_cfg full;
	enum tok_alg def;
	int r;

	if (a->config_path == NULL)
		return authd_cfg_key_algs(authd_cfg_builtin(), algs, &def, err, errsz);
	if ((r = authd_cfg_load(&full, a->config_path, a->state_dir, NULL, err, errsz)) == 0)
		*algs = full.key_algs;
	authd_cfg_free(&full);
	return r;
}

int
state_open_clients(const struct state_args *a, bool create, struct clients_registry **r,
    char *err, size_t errsz)
{
	struct clients_opts o = { .create = create, .group = a->clients_group,
	    .owner = a->clients_owner };
	struct apps_cfg apps = { NULL };
	struct yh_cfg_err cerr;
	struct ident_cfg cfg;
	int rc;

	*r = NULL;
	if ((rc = enabled_algs(a, &o.token_algs, err, errsz)) != 0 ||
	    (rc = state_load_cfg(a, &cfg, err, errsz)) != 0)
		return rc;
	/* The apps declared in the config's clients.file are part of the registry too. */
	if ((rc = yh_cfg_defaults(apps_cfg_opts, &apps, &cerr)) == 0 && a->config_path != NULL)
		rc = yh_cfg_load_file(apps_cfg_opts, &apps, a->config_path, YH_CFG_PARTIAL, &cerr);
	if (rc != 0)
		yh_cfg_err_format(&cerr, err, errsz);
	o.apps_file = apps.file;
	/* On an LDAP directory the registry is shared as one LDAP value (authd/appsync.h). */
	if (cfg.directory_backend != NULL && strcmp(cfg.directory_backend, "ldap") == 0)
		o.file_max = (size_t)cfg.ldap_value_max;
	if (rc == 0)
		rc = clients_open(cfg.state_dir, &o, r, err, errsz);
	yh_cfg_free(apps_cfg_opts, &apps);
	ident_cfg_free(&cfg);
	return rc;
}

int
state_open(const struct state_args *a, bool create, struct ident **out, char *err,
    size_t errsz)
{
	struct ident_cfg cfg;
	int r;

	*out = NULL;
	if ((r = state_load_cfg(a, &cfg, err, errsz)) != 0)
		return r;
	r = ident_open(&cfg, create, out, err, errsz);
	ident_cfg_free(&cfg);
	return r;
}
