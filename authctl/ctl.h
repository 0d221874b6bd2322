/*
 * authctl: the operator tool. authctl.c parses the global options and dispatches to one
 * function per subcommand group, each in its own ctl_*.c file. A group function gets the
 * arguments after the group word (argv[0] is the group word) and returns the process
 * exit code: 0 success, 1 a negative answer (invalid value, verification failed), 2 a
 * usage or operational error (after printing one clear line to stderr).
 */
#ifndef YH_AUTHD_CTL_H
#define YH_AUTHD_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "federation/registry.h"

/* Global options shared by every group (ctl_common.c, set by authctl.c). */
struct ctl_opts {
	const char *config_path;  /* -c FILE, or NULL */
	const char *state_dir;    /* -d DIR, or NULL */
};

extern struct ctl_opts ctl_opts;

int ctl_id(int argc, char **argv);      /* ctl_id.c: id check */
int ctl_user(int argc, char **argv);    /* ctl_user.c: user add|show|list|lock|unlock|... */
int ctl_keys(int argc, char **argv);    /* ctl_keys.c: keys generate|rotate|jwks */
int ctl_jwt(int argc, char **argv);     /* ctl_jwt.c: jwt sign|verify */
int ctl_client(int argc, char **argv);  /* ctl_client.c: client add|list|show|remove|reset-secret|check-secret */
int ctl_audit(int argc, char **argv);   /* ctl_audit.c: audit verify */
int ctl_org(int argc, char **argv);     /* ctl_org.c: org add|show|list|change|deregister|agent|admin */
int ctl_staff(int argc, char **argv);   /* ctl_staff.c: staff add|remove|list */
int ctl_registry(int argc, char **argv); /* ctl_registry.c: registry retry */
int ctl_upstream(int argc, char **argv); /* ctl_upstream.c: upstream test */
int ctl_review(int argc, char **argv);  /* ctl_review.c: review list|show|resolve|undo */
int ctl_directory(int argc, char **argv); /* ctl_directory.c: directory init|copy */
int ctl_cert(int argc, char **argv);    /* ctl_cert.c: cert check */
int ctl_ca(int argc, char **argv);      /* ctl_cert.c: ca list|add|remove */

struct ident;
struct json_t;
struct dir;
struct dir_org;
struct dir_person;

struct dir_tombstone;

/* What `user purge` and `org purge` differ in (ctl_purge). */
struct ctl_purge_ops {
	const char *cmd;    /* "user purge", for messages */
	const char *what;   /* "users", for messages */
	/* The page of tombstones closed before `before` after uid `after`
	 * (dir_person_tombstones, dir_org_tombstones). */
	int (*list)(struct dir *d, int64_t before, const char *after, size_t limit,
	    struct dir_tombstone *out, size_t *n);
	/* Erases t (closed on day, "YYYY-MM-DD" UTC) and records it in the audit log;
	 * returns 0, or 2 after a message. */
	int (*erase)(struct ident *id, const struct dir_tombstone *t, const char *day,
	    int64_t before);
};

/*
 * `purge --older-than DAYS [--dry-run]`: opens the state and erases, one at a time
 * through ops->erase, everything ops->list finds closed more than DAYS (1..36500, else
 * one clear error) days ago; with dry_run lists it only. Prints {"uids", "dry_run",
 * "count"} (also what was erased before a failure). Returns 0 or 2.
 */
int ctl_purge(const struct ctl_purge_ops *ops, const char *older_than, bool dry_run);

/*
 * Appends an operator action to STATE_DIR/audit.log (the same hash-chained trail authd
 * writes), with actor "operator:<login name>". fields (borrowed, may be NULL) is a JSON
 * object. Returns 0, or prints one error line and returns 2: the caller must then
 * report the action as not recorded.
 */
int ctl_record(const struct ident *id, const char *event, struct json_t *fields);


/*
 * With -c naming `user` (authd's HTTP process runs as that account) and authctl run as
 * root: the account's uid and group, which clients.json and clients.lock are written
 * owned by, so that authd's console writes them too; otherwise *uid and the result 0
 * (ctl_common.c).
 */
gid_t ctl_account(uid_t *uid);

/*
 * The same case, after a command: gives the state directory and the files the HTTP
 * process writes their owners (authcore/layout.h), so that nothing authctl made as root
 * (a new directory database, the audit log, a stale -wal or -shm) keeps authd from
 * writing. Prints one warning line when that fails (ctl_common.c).
 */
void ctl_settle_owners(void);

/* Who runs authctl, as the audit trail and the directory's history name them:
 * "operator:<login>" (the sudo caller's login when there is one). */
void ctl_operator_name(char *out, size_t outsz);

/* Opens the state (-c / -d; with create, a missing state directory is made). 0, or 2
 * after a message. Close *id with ident_close. */
int ctl_open_state(bool create, struct ident **id);

/* Sets o[k] to the string v (JSON null for NULL) / to the ISO 8601 time of Unix seconds
 * t (null for 0). */
void ctl_set_str(struct json_t *o, const char *k, const char *v);
void ctl_set_time(struct json_t *o, const char *k, int64_t t);

/* Prints a JSON value on one line and releases it (NULL: out of memory). 0 or 2. */
int ctl_print_json(struct json_t *o);

/* Finds the organization with credit code code (ctl_org.c). 0, 1 (unknown) or 2, after a
 * message; *org is cleared first (dir_org_clear it). */
int ctl_find_org(struct dir *d, const char *code, struct dir_org *org);

/* ctl_find_org, then refuses (2, after a message) an organization that is not active. */
int ctl_find_active_org(struct dir *d, const char *code, struct dir_org *org);

/* Finds the person with this ID number (ctl_org.c). 0, 1 (unknown) or 2, after a message;
 * *p is cleared first (dir_person_clear it). */
int ctl_find_person(struct dir *d, const char *idnum, struct dir_person *p);

/* A person as the output shows them: uid, name, ID number masked, status, LoA (a new
 * JSON object; JSON null for an empty uid; the uid alone when it names nobody). */
struct json_t *ctl_person_brief(struct dir *d, const char *uid);

/*
 * Sends req (borrowed; NULL: out of memory) to the running authd's control socket
 * (authcore/control_proto.h) and checks its answer: "ok" true and the member count a
 * non-negative integer. On 0 *rep is the answer (json_decref it). Returns 0,
 * YH_ERR_UNAVAILABLE (authd is not running), or another YH_ERR_* (the call failed or
 * authd refused); err gets one line on error.
 */
int ctl_control(const struct ident *id, struct json_t *req, const char *count,
    struct json_t **rep, char *err, size_t errsz);


/* The registries of -c FILE's registry.* options (ctl_registry.c): 0, or 2 after a
 * message (a bad option, an unreadable credentials file). Release with
 * ctl_registry_close (NULL is fine). */
int ctl_registry_open(struct fed_reg **out);
void ctl_registry_close(struct fed_reg *reg);

/*
 * Asks the population registry about p (audited as "registry.check"); a match raises p
 * to LoA 2 (method "registry", recorded as "user.verify"). *out is the outcome, *loa
 * p's level after. 0, or 2 after a message (not configured, the directory or the audit
 * failed).
 */
int ctl_registry_person(const struct ident *id, struct fed_reg *reg,
    const struct dir_person *p, enum fed_reg_outcome *out, int *loa);

/*
 * Asks the legal-person registry about q before org cmd writes anything (audited as
 * "registry.check"). 0: go on (a match, no registry configured, or unavailable with
 * unavailable_ok); 1: a mismatch; 2: unavailable, or an error (after a message).
 */
int ctl_registry_org(const struct ident *id, struct fed_reg *reg,
    const struct fed_reg_org *q, bool unavailable_ok, const char *cmd,
    enum fed_reg_outcome *out);

/* Prints "authctl: " and the message to stderr, returns 2 (ctl_common.c). */
int ctl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One command of a group: its name (argv[1]) and what runs it with the group's argv. */
struct ctl_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
};

/*
 * Runs the command argv[1] of group (argv[0]) from cmds (ended by a NULL name): with
 * -h, --help or help prints usage to stdout and returns 0; with no command, or one not
 * in cmds (after "authctl: GROUP: unknown command 'X'"), prints usage to stderr and
 * returns 2 (ctl_common.c).
 */
int ctl_dispatch(int argc, char **argv, const char *group, void (*usage)(FILE *f),
    const struct ctl_cmd *cmds);

#endif
