/*
 * The directory backends, one row each: the name directory.backend gives, how to open
 * it, its operations. dir_open looks the configured one up here, so the front end names
 * no backend: each is a row and its file.
 */
#include <stddef.h>
#include <string.h>

#include "identity/dir/dir_backend.h"
#include "identity/dir/dir_ldap.h"
#include "identity/dir/dir_sqlite.h"

static const struct dir_backend backends[] = {
	{ "sqlite", dir_sqlite_open, &dir_sqlite_ops },
	{ "ldap", dir_ldap_open, &dir_ldap_ops },
};

const struct dir_backend *
dir_backend_find(const char *name)
{
	for (size_t i = 0; name != NULL && i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strcmp(backends[i].name, name) == 0)
			return &backends[i];
	return NULL;
}
