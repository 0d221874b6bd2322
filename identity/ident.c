/* ident_open: the vault and the directory opened together from the identity config. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/keyfile.h"
#include "common/log.h"
#include "common/secmem.h"
#include "identity/identity.h"
#include "identity/identity_config.h"
#include "identity/passwd/passwd.h"
#include "identity/vault/vault.h"

static bool
empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

/* mkdir -p with mode 0700 for the components that do not exist. */
static int
make_dirs(const char *path, char *err, size_t errsz)
{
	char buf[IDENT_PATH_MAX + 1];
	struct stat st;
	size_t n;

	if (yh_strlcpy(buf, path, sizeof(buf)) != 0) {
		snprintf(err, errsz, "state directory path too long");
		return YH_ERR_CONFIG;
	}
	n = strlen(buf);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = '\0';
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
			snprintf(err, errsz, "cannot create state directory %s: %s", buf,
			    strerror(errno));
			return errno == EACCES || errno == EROFS ? YH_ERR_PERM : YH_ERR_IO;
		}
		if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) {
			snprintf(err, errsz, "cannot create state directory %s: %s exists and "
			    "is not a directory", path, buf);
			return YH_ERR_IO;
		}
		if (i < n)
			buf[i] = '/';
	}
	return 0;
}

/* Proves the state directory writable by creating and removing a file in it. */
static int
check_writable(const char *dir, char *err, size_t errsz)
{
	char probe[IDENT_PATH_MAX + 32];
	int fd;

	snprintf(probe, sizeof(probe), "%s/.yh-write-test-XXXXXX", dir);
	if ((fd = mkstemp(probe)) < 0) {
		snprintf(err, errsz, "state directory %s is not writable: %s", dir,
		    strerror(errno));
		return YH_ERR_PERM;
	}
	close(fd);
	unlink(probe);
	return 0;
}

static int
state_dir_ready(const char *dir, bool create, char *err, size_t errsz)
{
	struct stat st;
	int r;

	if (create && (r = make_dirs(dir, err, errsz)) != 0)
		return r;
	if (stat(dir, &st) != 0) {
		if (errno == ENOENT) {
			snprintf(err, errsz, "state directory %s does not exist", dir);
			return YH_ERR_NOT_FOUND;
		}
		snprintf(err, errsz, "state directory %s: %s", dir, strerror(errno));
		return YH_ERR_IO;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errsz, "state directory %s is not a directory", dir);
		return YH_ERR_CONFIG;
	}
	return create ? check_writable(dir, err, errsz) : 0;
}

int
ident_subject_key(const char *state_dir, bool create, unsigned char out[IDENT_SUBJECT_KEY_LEN],
    char *err, size_t errsz)
{
	char path[IDENT_PATH_MAX + sizeof(IDENT_SUBJECT_KEY_NAME) + 1];
	int r;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", state_dir, IDENT_SUBJECT_KEY_NAME) >=
	    sizeof(path)) {
		yh_wipe(out, IDENT_SUBJECT_KEY_LEN);
		snprintf(err, errsz, "state directory path too long");
		return YH_ERR_CONFIG;
	}
	r = yh_keyfile_get(path, IDENT_SUBJECT_KEY_LEN, create, out, err, errsz);
	if (r == YH_ERR_KEY && !create && access(path, F_OK) != 0)
		snprintf(err, errsz, "%s is missing but the directory exists: restore it from "
		    "the backup (a new key would change every user's subject identifier)", path);
	return r;
}

/* Makes STATE_DIR/subject.key for a directory being created (keeps one already there). */
static int
subject_key_create(const char *state_dir, char *err, size_t errsz)
{
	unsigned char key[IDENT_SUBJECT_KEY_LEN];
	int r;

	r = ident_subject_key(state_dir, true, key, err, errsz);
	yh_wipe(key, sizeof(key));
	return r;
}

/* The file whose presence says that a directory was made with this state directory:
 * the SQLite file, or for a directory on a server (LDAP) the vault key made with it. */
static const char *
store_marker(const struct ident_cfg *cfg)
{
	return cfg->directory_backend != NULL && strcmp(cfg->directory_backend, "sqlite") != 0 ?
	    cfg->vault_key_file : cfg->sqlite_path;
}

/*
 * The key half of opening the state: the configuration checked, the state directory ready,
 * the vault opened (its key created with a new directory, refused when missing beside an
 * existing one) and, with a new directory, the pairwise-subject key made.
 */
static int
open_vault(const struct ident_cfg *cfg, bool create, struct vault **vault, char *err,
    size_t errsz)
{
	struct stat st;
	bool db_exists, key_exists;
	int r;

	*vault = NULL;
	if (cfg == NULL || empty(cfg->state_dir) || empty(cfg->sqlite_path) ||
	    empty(cfg->vault_key_file)) {
		snprintf(err, errsz, "identity configuration not finished (no state_dir?)");
		return YH_ERR_CONFIG;
	}
	if ((r = state_dir_ready(cfg->state_dir, create, err, errsz)) != 0)
		return r;
	db_exists = stat(store_marker(cfg), &st) == 0;
	key_exists = stat(cfg->vault_key_file, &st) == 0;
	if (db_exists && !key_exists) {
		snprintf(err, errsz, "vault key file %s is missing but directory %s exists: "
		    "restore the key file (a new key could not read the directory)",
		    cfg->vault_key_file, cfg->sqlite_path);
		return YH_ERR_KEY;
	}
	if (!db_exists && !create) {
		snprintf(err, errsz, "directory %s does not exist (nothing stored in %s yet)",
		    store_marker(cfg), cfg->state_dir);
		return YH_ERR_NOT_FOUND;
	}
	if ((r = vault_open(cfg->vault_key_file, cfg->vault_cipher, create && !db_exists,
	    vault, err, errsz)) != 0)
		return r;
	if (create && !db_exists && (r = subject_key_create(cfg->state_dir, err, errsz)) != 0) {
		vault_close(*vault);
		*vault = NULL;
	}
	return r;
}

int
ident_open_keys(const struct ident_cfg *cfg, bool create, struct vault **vault,
    unsigned char subject_key[IDENT_SUBJECT_KEY_LEN], char *err, size_t errsz)
{
	int r;

	yh_wipe(subject_key, IDENT_SUBJECT_KEY_LEN);
	if ((r = open_vault(cfg, create, vault, err, errsz)) != 0)
		return r;
	/* A new directory made the key just now; beside an existing one it must be there:
	 * a new key would silently give every user a new `sub` at every app. */
	if ((r = ident_subject_key(cfg->state_dir, false, subject_key, err, errsz)) != 0) {
		vault_close(*vault);
		*vault = NULL;
	}
	return r;
}

int
ident_open_dir(const struct ident_cfg *cfg, bool create, struct vault *vault,
    struct ident **out, char *err, size_t errsz)
{
	struct ident *id = NULL;
	struct stat st;
	int r;

	*out = NULL;
	if (vault == NULL || cfg == NULL || empty(cfg->state_dir) || empty(cfg->sqlite_path)) {
		snprintf(err, errsz, "identity configuration not finished (no state_dir?)");
		r = YH_ERR_CONFIG;
		goto out;
	}
	if ((r = state_dir_ready(cfg->state_dir, create, err, errsz)) != 0)
		goto out;
	if (!create && stat(store_marker(cfg), &st) != 0) {
		snprintf(err, errsz, "directory %s does not exist (nothing stored in %s yet)",
		    store_marker(cfg), cfg->state_dir);
		r = YH_ERR_NOT_FOUND;
		goto out;
	}
	if ((id = calloc(1, sizeof(*id))) == NULL ||
	    (id->state_dir = strdup(cfg->state_dir)) == NULL) {
		snprintf(err, errsz, "out of memory");
		r = YH_ERR_ALLOC;
		goto out;
	}
	ident_cfg_pw_params(cfg, &id->pw);
	id->vault = vault;
	vault = NULL;
	if ((r = dir_open(cfg, id->vault, create, &id->dir, err, errsz)) != 0)
		goto out;
	*out = id;
	id = NULL;
out:
	vault_close(vault);
	ident_close(id);
	return r;
}

int
ident_open(const struct ident_cfg *cfg, bool create, struct ident **out, char *err,
    size_t errsz)
{
	struct vault *vault = NULL;
	int r;

	*out = NULL;
	if ((r = open_vault(cfg, create, &vault, err, errsz)) != 0)
		return r;
	return ident_open_dir(cfg, create, vault, out, err, errsz);
}

void
ident_close(struct ident *id)
{
	if (id == NULL)
		return;
	dir_close(id->dir);
	vault_close(id->vault);
	free(id->state_dir);
	free(id);
}
