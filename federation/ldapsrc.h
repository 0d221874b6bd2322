/*
 * Departments' own LDAP directories (OpenLDAP, Active Directory) as read-only login
 * sources, prefix fed_ldap_. Each is a block of options ldap_source.NAME.* in authd's
 * file (docs/operations.md, "Department LDAP login sources"):
 *
 *   uri             ldap:// or ldaps:// URIs, blank-separated, tried in order
 *   bind_dn         the search account (empty: an anonymous search)
 *   bind_password   its password
 *   base            the search base
 *   filter          an RFC 4515 filter with {user} where the typed name goes, escaped
 *                   (ldap_bv2escaped_filter_value), never pasted as typed
 *   attr_id_number  the attribute holding the resident ID number (required)
 *   attr_name, attr_unit, attr_role   the name, the unit (科室) and the position
 *   starttls, ca_file                 StartTLS on ldap://, the CA file for TLS
 *   network_timeout, timeout          connect and per-operation time limits
 *   org             the credit code of the government agency the staff work for
 *   unit            the unit when the entry has no attr_unit value
 *   loa             the highest LoA a login through this source gives (default 2)
 *
 * A login (fed_ldap_login) searches the one entry the filter finds with the search
 * account, then binds as that entry's DN with the typed password on the same
 * connection: the password goes to the department's server and nowhere else. Calls
 * block for at most the timeouts per URI: authd makes them on the worker pool.
 */
#ifndef YH_FEDERATION_LDAPSRC_H
#define YH_FEDERATION_LDAPSRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/err.h"

#define FED_LDAP_PREFIX "ldap_source."
#define FED_LDAP_NAME_MAX 32          /* bytes of a source's NAME */
#define FED_LDAP_USER_MAX 256         /* bytes of a typed user name */
#define FED_LDAP_VALUE_MAX 512        /* bytes of an attribute value kept */
#define FED_LDAP_SOURCES_MAX 16
#define FED_LDAP_NOPTS 16             /* options of one block */

/* One ldap_source.NAME block. */
struct fed_ldap_src {
	char name[FED_LDAP_NAME_MAX + 1];
	char *uri;
	char *bind_dn;
	char *bind_password;     /* secret: wiped */
	char *base;
	char *filter;
	char *attr_id_number, *attr_name, *attr_unit, *attr_role;
	bool starttls;
	char *ca_file;
	int64_t network_timeout;  /* seconds */
	int64_t timeout;          /* seconds */
	char *org;
	char *unit;
	int64_t loa;
	char where[FED_LDAP_NOPTS][320];   /* "file:line" of each option set; "" when not */
};

/* Every ldap_source block of a configuration. */
struct fed_ldap_cfg {
	struct fed_ldap_src *src;
	size_t n;
};

/*
 * The YH_CFG_FAMILY hook of "ldap_source." (common/config.h; slot: the struct
 * fed_ldap_cfg): sets key ("ldap_source.NAME.option") to value, read at line lineno of
 * file; the block NAME is made on its first option. 0 or YH_ERR_CONFIG with err filled.
 */
int fed_ldap_cfg_line(void *slot, const char *key, const char *value, const char *file,
    unsigned lineno, struct yh_cfg_err *err) YH_WUR;

/* Checks every block as a whole (required options, URI schemes, the filter's
 * placeholder, the CA file); the first problem into err as "file:line: key: why".
 * 0 or YH_ERR_CONFIG. */
int fed_ldap_cfg_check(const struct fed_ldap_cfg *c, char *err, size_t errsz) YH_WUR;

/* True when a and b hold the same blocks with the same values (for a reload). */
bool fed_ldap_cfg_same(const struct fed_ldap_cfg *a, const struct fed_ldap_cfg *b);

/* Frees every block (wiping the passwords). */
void fed_ldap_cfg_free(struct fed_ldap_cfg *c);

/* The block called name (len bytes), or NULL. */
const struct fed_ldap_src *fed_ldap_find(const struct fed_ldap_cfg *c, const char *name,
    size_t len);

/* What a login found in the department's entry (malloc'd; fed_ldap_entry_clear). */
struct fed_ldap_entry {
	char *dn;
	char *id_number;
	char *name;     /* or NULL */
	char *unit;     /* the entry's, else the block's unit; or NULL */
	char *role;     /* or NULL */
};

void fed_ldap_entry_clear(struct fed_ldap_entry *e);

/*
 * Called between finding the entry and binding as it (gate_arg, the entry found): 0
 * lets the bind go on; anything else is returned by fed_ldap_login with no bind made
 * (a lockout kept on the entry rather than on the typed name, which the server matches
 * in many spellings).
 */
typedef int (*fed_ldap_gate)(void *gate_arg, const struct fed_ldap_entry *e);

/*
 * The login of user with password through s: the search account finds exactly one
 * entry for user, then gate (may be NULL) is asked, then a simple bind as its DN with
 * password. An empty password is refused before any call (an empty simple bind is an
 * anonymous one). Returns 0 with *out filled; YH_ERR_AUTH (wrong password),
 * YH_ERR_NOT_FOUND (no entry, several, or one without attr_id_number), YH_ERR_INVALID
 * (empty or over-long user or password), YH_ERR_UNAVAILABLE (no server answered, the
 * search account was refused, a time limit; why says it, no secret), YH_ERR_ALLOC, or
 * what gate returned.
 */
int fed_ldap_login(const struct fed_ldap_src *s, const char *user, const char *password,
    fed_ldap_gate gate, void *gate_arg, struct fed_ldap_entry *out, char *why,
    size_t whysz) YH_WUR;

#endif
