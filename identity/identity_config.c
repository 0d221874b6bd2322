/* The identity part of the configuration table, and filling in derived defaults. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "identity/identity_config.h"

/* The directory backends directory.backend may name: those identity/dir/backends.c
 * lists. */
const char *const ident_cfg_backends[] = { "sqlite", "ldap", NULL };
const char *const ident_cfg_ciphers[] = { "aes-256-gcm", "sm4-gcm", NULL };

const struct yh_cfg_opt ident_cfg_opts[] = {
	IDENT_CFG_OPTIONS(0),
	{ .name = NULL },
};

int
ident_cfg_init(struct ident_cfg *c, struct yh_cfg_err *err)
{
	memset(c, 0, sizeof(*c));
	return yh_cfg_defaults(ident_cfg_opts, c, err);
}

void
ident_cfg_free(struct ident_cfg *c)
{
	if (c != NULL)
		yh_cfg_free(ident_cfg_opts, c);
}

/* Replaces an empty *slot by "state_dir/name". */
static int
default_in_state(char **slot, const char *state_dir, const char *name, const char *opt,
    char *err, size_t errsz)
{
	size_t sl = strlen(state_dir), nl = strlen(name);
	char *p;

	if (*slot != NULL && (*slot)[0] != '\0')
		return 0;
	if (sl + 1 + nl + 1 > IDENT_PATH_MAX) {
		snprintf(err, errsz, "%s: state_dir is too long to hold %s", opt, name);
		return YH_ERR_CONFIG;
	}
	if ((p = malloc(sl + 1 + nl + 1)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return YH_ERR_ALLOC;
	}
	memcpy(p, state_dir, sl);
	if (sl > 0 && state_dir[sl - 1] != '/')
		p[sl++] = '/';
	memcpy(p + sl, name, nl + 1);
	free(*slot);
	*slot = p;
	return 0;
}

/* True when name is one of ident_cfg_backends (identity/dir/backends.c has a row for
 * each). */
static bool
backend_known(const char *name)
{
	for (size_t i = 0; name != NULL && ident_cfg_backends[i] != NULL; i++)
		if (strcmp(ident_cfg_backends[i], name) == 0)
			return true;
	return false;
}

int
ident_cfg_finish(struct ident_cfg *c, char *err, size_t errsz)
{
	struct pw_params pw;
	int r;

	if (c->state_dir == NULL || c->state_dir[0] == '\0') {
		snprintf(err, errsz, "state_dir: no state directory configured "
		    "(set state_dir in the config file or pass -d STATE_DIR)");
		return YH_ERR_CONFIG;
	}
	if (!backend_known(c->directory_backend)) {
		snprintf(err, errsz, "directory.backend: '%s' is not one of the backends built in",
		    c->directory_backend != NULL ? c->directory_backend : "");
		return YH_ERR_CONFIG;
	}
	if (strcmp(c->directory_backend, "ldap") == 0 &&
	    (c->ldap_uris == NULL || c->ldap_uris[0] == '\0' || c->ldap_base == NULL ||
	    c->ldap_base[0] == '\0')) {
		snprintf(err, errsz, "directory.backend = ldap needs directory.ldap_uris and "
		    "directory.ldap_base");
		return YH_ERR_CONFIG;
	}
	/* RFC 4513 5.1.2: a simple bind with a DN and an empty password is an
	 * unauthenticated one, which a permissive server answers as a success (anonymous) */
	if (strcmp(c->directory_backend, "ldap") == 0 && c->ldap_bind_dn != NULL &&
	    c->ldap_bind_dn[0] != '\0' && (c->ldap_password == NULL || c->ldap_password[0] == '\0')) {
		snprintf(err, errsz, "directory.ldap_bind_dn needs directory.ldap_password (an "
		    "empty password would bind anonymously)");
		return YH_ERR_CONFIG;
	}
	if (c->vault_cipher == NULL) {
		snprintf(err, errsz, "vault.cipher: not set");
		return YH_ERR_CONFIG;
	}
	if ((r = default_in_state(&c->sqlite_path, c->state_dir, IDENT_SQLITE_FILE,
	    "directory.sqlite_path", err, errsz)) != 0)
		return r;
	if ((r = default_in_state(&c->vault_key_file, c->state_dir, IDENT_KEY_FILE,
	    "vault.key_file", err, errsz)) != 0)
		return r;
	ident_cfg_pw_params(c, &pw);
	if (pw_params_check(&pw) != 0) {
		snprintf(err, errsz, "password.argon2_m_cost_kib: must be at least 8 KiB per "
		    "lane (password.argon2_parallelism = %lld)", (long long)c->argon2_parallelism);
		return YH_ERR_CONFIG;
	}
	return 0;
}

int
ident_cfg_finish_dir(struct ident_cfg *cfg, const char *state_dir,
    const char *default_state_dir, char *err, size_t errsz)
{
	struct yh_cfg_err cerr;
	const char *dir = state_dir;
	int r;

	if (dir == NULL && (cfg->state_dir == NULL || cfg->state_dir[0] == '\0'))
		dir = default_state_dir;
	if (dir != NULL) {
		if (dir[0] == '\0') {
			snprintf(err, errsz, "-d: empty state directory");
			return YH_ERR_CONFIG;
		}
		if ((r = yh_cfg_set(ident_cfg_opts, cfg, "state_dir", dir, "command line",
		    &cerr)) != 0) {
			yh_cfg_err_format(&cerr, err, errsz);
			return r;
		}
	}
	return ident_cfg_finish(cfg, err, errsz);
}

void
ident_cfg_pw_params(const struct ident_cfg *c, struct pw_params *out)
{
	out->t_cost = (uint32_t)c->argon2_t_cost;
	out->m_cost_kib = (uint32_t)c->argon2_m_cost_kib;
	out->parallelism = (uint32_t)c->argon2_parallelism;
}
