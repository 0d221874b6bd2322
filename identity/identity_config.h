/*
 * The identity part of the configuration: where the state lives, which directory
 * backend holds persons and organizations, the PII vault and the password hashing
 * cost. authctl and idmerge load only this part; authd embeds struct ident_cfg in its
 * own configuration struct and puts IDENT_CFG_OPTIONS(offsetof(struct authd_cfg, ident))
 * into its table, so one file holds both parts:
 *
 *     state_dir = /var/lib/yihao
 *     directory.backend = sqlite
 *     directory.sqlite_path =            # empty: STATE_DIR/directory.db
 *     directory.ldap_uris =              # backend ldap: servers, tried in order
 *     directory.ldap_base =              # the entry the directory lives under
 *     directory.ldap_bind_dn =           # empty: SASL EXTERNAL (ldapi://)
 *     directory.ldap_password =
 *     directory.ldap_starttls = no       # ldaps:// needs no StartTLS
 *     directory.ldap_ca_file =           # CA for ldaps:// and StartTLS
 *     directory.ldap_timeout = 5s
 *     directory.ldap_pool_max = 64       # connections open at most
 *     directory.ldap_value_max = 4128768 # the app registry's size cap with ldap
 *     vault.cipher = aes-256-gcm         # or sm4-gcm
 *     vault.key_file =                   # empty: STATE_DIR/vault.key
 *     password.argon2_t_cost = 3
 *     password.argon2_m_cost_kib = 65536
 *     password.argon2_parallelism = 1
 *
 * Relative paths in a file are taken relative to that file (YH_CFG_PATH).
 */
#ifndef YH_IDENTITY_IDENTITY_CONFIG_H
#define YH_IDENTITY_IDENTITY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/config.h"
#include "common/err.h"
#include "identity/passwd/passwd.h"

/* Longest path accepted for any of the paths below. */
#define IDENT_PATH_MAX 3072

/* The default of directory.ldap_value_max: slapd's default sockbuf_max_incoming_auth
 * (4 MiB less a byte) less room for the rest of the LDAP message. */
#define IDENT_LDAP_VALUE_MAX_DEFAULT 4128768

/* Default file names inside the state directory. */
#define IDENT_SQLITE_FILE "directory.db"
#define IDENT_KEY_FILE "vault.key"

struct ident_cfg {
	char *state_dir;          /* state_dir; NULL = not configured */
	char *directory_backend;  /* directory.backend: "sqlite" (the table in identity/dir/backends.c) */
	char *sqlite_path;        /* directory.sqlite_path; NULL/"" = STATE_DIR/directory.db */
	char *ldap_uris;          /* directory.ldap_uris: space-separated, tried in order */
	char *ldap_base;          /* directory.ldap_base */
	char *ldap_bind_dn;       /* directory.ldap_bind_dn; "" = SASL EXTERNAL */
	char *ldap_password;      /* directory.ldap_password (sensitive) */
	bool ldap_starttls;       /* directory.ldap_starttls */
	char *ldap_ca_file;       /* directory.ldap_ca_file; "" = the system's CAs */
	int64_t ldap_timeout;     /* directory.ldap_timeout, seconds */
	int64_t ldap_pool_max;    /* directory.ldap_pool_max */
	int64_t ldap_value_max;   /* directory.ldap_value_max, bytes */
	char *vault_cipher;       /* vault.cipher: "aes-256-gcm" or "sm4-gcm" */
	char *vault_key_file;     /* vault.key_file; NULL/"" = STATE_DIR/vault.key */
	int64_t argon2_t_cost;    /* password.argon2_t_cost */
	int64_t argon2_m_cost_kib;   /* password.argon2_m_cost_kib */
	int64_t argon2_parallelism;  /* password.argon2_parallelism */
};

/* The allowed values of the enum options (NULL-terminated, static storage). */
extern const char *const ident_cfg_backends[];
extern const char *const ident_cfg_ciphers[];

#define IDENT_CFG_STRINGIFY_(x) #x
#define IDENT_CFG_STR_(x) IDENT_CFG_STRINGIFY_(x)

/*
 * The identity options as struct yh_cfg_opt initializers, with every offset shifted by
 * base (the offset of a struct ident_cfg inside the caller's config struct). Use it
 * inside a table, followed by the caller's own options and the { NULL } terminator.
 */
#define IDENT_CFG_OPTIONS(base) \
	{ .name = "state_dir", .type = YH_CFG_PATH, .def = NULL, .max = IDENT_PATH_MAX, \
	  .flags = YH_CFG_IMMUTABLE, .offset = (base) + offsetof(struct ident_cfg, state_dir), \
	  .help = "directory holding the directory database, the vault key and other state" }, \
	{ .name = "directory.backend", .type = YH_CFG_ENUM, .def = "sqlite", .max = 16, \
	  .flags = YH_CFG_IMMUTABLE, .choices = ident_cfg_backends, \
	  .offset = (base) + offsetof(struct ident_cfg, directory_backend), \
	  .help = "where persons and organizations are stored" }, \
	{ .name = "directory.sqlite_path", .type = YH_CFG_PATH, .def = "", \
	  .max = IDENT_PATH_MAX, .flags = YH_CFG_IMMUTABLE, \
	  .offset = (base) + offsetof(struct ident_cfg, sqlite_path), \
	  .help = "SQLite directory file; empty means STATE_DIR/" IDENT_SQLITE_FILE }, \
	{ .name = "directory.ldap_uris", .type = YH_CFG_STR, .def = "", .max = 2048, \
	  .flags = YH_CFG_IMMUTABLE, .offset = (base) + offsetof(struct ident_cfg, ldap_uris), \
	  .help = "LDAP servers (ldap://, ldaps://, ldapi://), space-separated, tried in " \
	      "order; a lost connection fails over to the next" }, \
	{ .name = "directory.ldap_base", .type = YH_CFG_STR, .def = "", .max = 512, \
	  .flags = YH_CFG_IMMUTABLE, .offset = (base) + offsetof(struct ident_cfg, ldap_base), \
	  .help = "DN the directory's entries live under (authctl directory init creates it)" }, \
	{ .name = "directory.ldap_bind_dn", .type = YH_CFG_STR, .def = "", .max = 512, \
	  .flags = YH_CFG_IMMUTABLE, .offset = (base) + offsetof(struct ident_cfg, ldap_bind_dn), \
	  .help = "DN to bind as with directory.ldap_password; empty: SASL EXTERNAL" }, \
	{ .name = "directory.ldap_password", .type = YH_CFG_STR, .def = "", .max = 256, \
	  .flags = YH_CFG_IMMUTABLE | YH_CFG_SENSITIVE, \
	  .offset = (base) + offsetof(struct ident_cfg, ldap_password), \
	  .help = "password of directory.ldap_bind_dn" }, \
	{ .name = "directory.ldap_starttls", .type = YH_CFG_BOOL, .def = "no", \
	  .flags = YH_CFG_IMMUTABLE, .offset = (base) + offsetof(struct ident_cfg, ldap_starttls), \
	  .help = "StartTLS on ldap:// connections (required once on)" }, \
	{ .name = "directory.ldap_ca_file", .type = YH_CFG_PATH, .def = "", .max = IDENT_PATH_MAX, \
	  .flags = YH_CFG_IMMUTABLE, .offset = (base) + offsetof(struct ident_cfg, ldap_ca_file), \
	  .help = "CA certificates for ldaps:// and StartTLS; empty: the system's" }, \
	{ .name = "directory.ldap_timeout", .type = YH_CFG_DURATION, .def = "5", .min = 1, \
	  .max = 300, .flags = YH_CFG_IMMUTABLE, \
	  .offset = (base) + offsetof(struct ident_cfg, ldap_timeout), \
	  .help = "connect and operation timeout of the LDAP directory" }, \
	{ .name = "directory.ldap_pool_max", .type = YH_CFG_INT, .def = "64", .min = 1, \
	  .max = 1024, .flags = YH_CFG_IMMUTABLE, \
	  .offset = (base) + offsetof(struct ident_cfg, ldap_pool_max), \
	  .help = "LDAP connections open at most (one per HTTP thread that needs one)" }, \
	{ .name = "directory.ldap_value_max", .type = YH_CFG_INT, \
	  .def = IDENT_CFG_STR_(IDENT_LDAP_VALUE_MAX_DEFAULT), .min = 65536, \
	  .max = 8388608, .flags = YH_CFG_IMMUTABLE, \
	  .offset = (base) + offsetof(struct ident_cfg, ldap_value_max), \
	  .help = "bytes the app registry may take with directory.backend = ldap (it is " \
	      "shared as one LDAP value); keep it below the servers' " \
	      "sockbuf_max_incoming_auth (4194303 by default)" }, \
	{ .name = "vault.cipher", .type = YH_CFG_ENUM, .def = "aes-256-gcm", .max = 16, \
	  .flags = YH_CFG_IMMUTABLE, .choices = ident_cfg_ciphers, \
	  .offset = (base) + offsetof(struct ident_cfg, vault_cipher), \
	  .help = "cipher for ID numbers and phone numbers at rest" }, \
	{ .name = "vault.key_file", .type = YH_CFG_PATH, .def = "", .max = IDENT_PATH_MAX, \
	  .flags = YH_CFG_IMMUTABLE, .offset = (base) + offsetof(struct ident_cfg, vault_key_file), \
	  .help = "vault key file (created 0600 on first start); empty means STATE_DIR/" \
	      IDENT_KEY_FILE }, \
	{ .name = "password.argon2_t_cost", .type = YH_CFG_INT, \
	  .def = IDENT_CFG_STR_(PW_T_COST_DEFAULT), .min = PW_T_COST_MIN, .max = PW_T_COST_MAX, \
	  .flags = YH_CFG_IMMUTABLE, \
	  .offset = (base) + offsetof(struct ident_cfg, argon2_t_cost), \
	  .help = "argon2id passes for new password hashes" }, \
	{ .name = "password.argon2_m_cost_kib", .type = YH_CFG_INT, \
	  .def = IDENT_CFG_STR_(PW_M_COST_KIB_DEFAULT), .min = PW_M_COST_KIB_MIN, \
	  .max = PW_M_COST_KIB_MAX, \
	  .flags = YH_CFG_IMMUTABLE, \
	  .offset = (base) + offsetof(struct ident_cfg, argon2_m_cost_kib), \
	  .help = "argon2id memory in KiB for new password hashes" }, \
	{ .name = "password.argon2_parallelism", .type = YH_CFG_INT, \
	  .def = IDENT_CFG_STR_(PW_PARALLELISM_DEFAULT), .min = PW_PARALLELISM_MIN, \
	  .max = PW_PARALLELISM_MAX, \
	  .flags = YH_CFG_IMMUTABLE, \
	  .offset = (base) + offsetof(struct ident_cfg, argon2_parallelism), \
	  .help = "argon2id lanes for new password hashes" }

/* The identity options alone (base 0, NULL-terminated), for authctl and idmerge. */
extern const struct yh_cfg_opt ident_cfg_opts[];

/* Sets every identity option of *c to its default. Returns 0 or YH_ERR_CONFIG. */
int ident_cfg_init(struct ident_cfg *c, struct yh_cfg_err *err) YH_WUR;

/* Frees the strings of *c (safe on a zeroed or already freed struct). */
void ident_cfg_free(struct ident_cfg *c);

/*
 * Completes a loaded configuration: requires state_dir, fills an empty
 * directory.sqlite_path and vault.key_file with their defaults inside state_dir, and
 * checks that the argon2 parameters fit together (m >= 8 * p). Call it after every
 * source (defaults, file, command line) has been applied. Returns 0, YH_ERR_CONFIG
 * (err receives one line naming the option) or YH_ERR_ALLOC.
 */
int ident_cfg_finish(struct ident_cfg *c, char *err, size_t errsz) YH_WUR;

/*
 * Sets the state directory from -d (state_dir, which wins), else keeps the one already
 * in *c, else default_state_dir, then ident_cfg_finish. authd calls this after loading
 * its full table, authctl and idmerge after loading the identity options. Returns 0,
 * YH_ERR_CONFIG (err: one line, e.g. no state directory given) or YH_ERR_ALLOC.
 */
int ident_cfg_finish_dir(struct ident_cfg *c, const char *state_dir,
    const char *default_state_dir, char *err, size_t errsz) YH_WUR;

/* The argon2id cost of a finished configuration. */
void ident_cfg_pw_params(const struct ident_cfg *c, struct pw_params *out);

#endif
