/* The directory on an LDAP server (directory.backend = ldap; dir_ldap.c). */
#ifndef YH_IDENTITY_DIR_LDAP_H
#define YH_IDENTITY_DIR_LDAP_H

#include "identity/dir/dir_backend.h"

/* Opens the LDAP directory cfg describes (directory.ldap_*): connects and binds to the
 * first URI that answers; with create, makes the base entries (dir_ldap_init). */
int dir_ldap_open(const struct ident_cfg *cfg, bool create, void **be, char *err,
    size_t errsz) YH_WUR;

/* Creates the base entry (when its first RDN is dc=, o= or ou=) and the branches the
 * directory keeps its entries in, leaving those that exist; *created says how many it
 * made. Returns 0 or a YH_ERR_* with err one line. */
int dir_ldap_init(void *be, size_t *created, char *err, size_t errsz) YH_WUR;

extern const struct dir_ops dir_ldap_ops;

#endif
