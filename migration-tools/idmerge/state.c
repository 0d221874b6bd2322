/*
 * Yihao's state (the vault and the directory) opened the way authctl opens it: the
 * identity options of an authd configuration file (-c) and/or a state directory (-d).
 */
#include <stdio.h>
#include <string.h>

#include "common/config.h"
#include "identity/identity.h"
#include "migration-tools/idmerge/mig.h"

/* Loads the identity configuration from -c and/or -d. */
static int
load_cfg(const char *config_path, const char *state_dir, struct ident_cfg *cfg, char *err,
    size_t errsz)
{
	struct yh_cfg_err cerr;
	int r;

	if (config_path == NULL && state_dir == NULL) {
		memset(cfg, 0, sizeof(*cfg));
		snprintf(err, errsz, "no state directory: pass -d STATE_DIR or -c FILE");
		return YH_ERR_CONFIG;
	}
	if ((r = ident_cfg_init(cfg, &cerr)) != 0) {
		yh_cfg_err_format(&cerr, err, errsz);
		goto out;
	}
	if (config_path != NULL && (r = yh_cfg_load_file(ident_cfg_opts, cfg, config_path,
	    YH_CFG_PARTIAL, &cerr)) != 0) {
		yh_cfg_err_format(&cerr, err, errsz);
		goto out;
	}
	r = ident_cfg_finish_dir(cfg, state_dir, NULL, err, errsz);
out:
	if (r != 0)
		ident_cfg_free(cfg);
	return r;
}

int
mig_state_open(const char *config_path, const char *state_dir, bool create,
    struct ident **out, char *err, size_t errsz)
{
	struct ident_cfg cfg;
	int e;

	*out = NULL;
	if ((e = load_cfg(config_path, state_dir, &cfg, err, errsz)) != 0)
		return e;
	e = ident_open(&cfg, create, out, err, errsz);
	ident_cfg_free(&cfg);
	return e;
}
