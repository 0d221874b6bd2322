/*
 * Finding the state. authctl and authd locate the directory and the vault key through
 * -c FILE and/or -d STATE_DIR: the file is authd's configuration, checked as authd checks
 * it (an unknown key or a bad value is an error for authctl too) though only its identity
 * options are used; -d overrides its state_dir; and without a file a program may supply
 * a default state directory for when -d names none (authctl does not: its user commands
 * require -c or -d).
 */
#ifndef YH_AUTHD_STATE_H
#define YH_AUTHD_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "common/err.h"
#include "identity/identity.h"

struct state_args {
	const char *config_path;        /* -c FILE, or NULL */
	const char *state_dir;          /* -d DIR, or NULL: overrides the file's state_dir */
	const char *default_state_dir;  /* when neither gives one; NULL: one is required */
	gid_t clients_group;            /* state_open_clients, under `user`: clients.json
	                                 * and clients.lock are written owned by
	                                 * clients_owner:clients_group (clients_opts);
	                                 * group 0: the writer's */
	uid_t clients_owner;
};

/*
 * Loads the identity options: with a->config_path, the whole file through authd's table
 * (authd_cfg_load: every key and value checked, -d applied; default_state_dir is not
 * used) keeping its identity part; without, the defaults then ident_cfg_finish_dir. On error
 * err holds one line ("FILE:LINE: problem" for file errors) and *cfg is freed. Free a
 * loaded cfg with ident_cfg_free.
 */
int state_load_cfg(const struct state_args *a, struct ident_cfg *cfg, char *err,
    size_t errsz) YH_WUR;

/*
 * state_load_cfg then ident_open(create). *out is NULL on error; close it with
 * ident_close.
 */
int state_open(const struct state_args *a, bool create, struct ident **out, char *err,
    size_t errsz) YH_WUR;

struct clients_registry;

/*
 * The client registry of the state a names (state_load_cfg) as authd serves it:
 * STATE_DIR/clients.json and, when the configuration file names one, the operator's
 * apps file (clients.file), with the signing algorithms its keys.algs enables (the
 * defaults without a file) as the ones an app may choose. With create a missing state directory is made (authctl
 * client add). Errors as state_load_cfg and clients_open, with one line in err. *r is
 * NULL on error; close it with clients_close.
 */
int state_open_clients(const struct state_args *a, bool create, struct clients_registry **r,
    char *err, size_t errsz) YH_WUR;

#endif
