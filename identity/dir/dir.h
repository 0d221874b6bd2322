/*
 * The directory: persons, organizations (legal persons) with their change history,
 * relations between persons and organizations (legal representative, agent, admin,
 * government staff),
 * legacy account links, password credentials, TOTP seeds, consents (the scopes a person
 * allowed each app) and subject pins (an app's `sub` for a person, kept across a change
 * of uid).
 *
 * Callers see plaintext; the directory seals what is personal before it reaches the
 * backend: the resident ID number and the phone number are stored encrypted by the
 * vault (identity/vault/vault.h) and found through a blind index (the ID number's index is
 * unique; the phone's is not: a family may share a phone). TOTP seeds are sealed too.
 * Names, e-mail addresses, usernames and organization data are stored as given.
 *
 * Operations are entity-oriented (one person, one organization, one link at a time),
 * with no transaction spanning several calls, so that an LDAP backend can implement
 * them as one entry operation each. The SQLite backend (the embedded default) is in
 * dir_sqlite.c.
 *
 * Threads: a struct dir may be shared by any number of threads. The SQLite backend
 * keeps one connection per struct dir and serializes calls on it with a mutex; calls
 * are short (no password hashing happens inside). Several processes may open the same
 * file (WAL mode, busy timeout).
 *
 * Errors used throughout: YH_ERR_NOT_FOUND (no such entity, or the entity a new
 * record refers to does not exist), YH_ERR_EXISTS (a unique key is taken: ID number,
 * username, credit code, organization code, legacy link, uid), YH_ERR_CONFLICT (a
 * lookup that must name one person matched several), YH_ERR_INVALID / YH_ERR_TOO_LONG
 * (a malformed or over-long field; nothing was written), YH_ERR_DB (the backend
 * failed; logged), YH_ERR_NOSPACE (the disk or the quota is full; logged as such),
 * YH_ERR_KEY / YH_ERR_AUTH (a sealed value does not open: wrong vault key or
 * tampering), YH_ERR_ALLOC.
 *
 * Durability: outside bulk mode a write returns 0 only once it is committed to disk,
 * and a write that fails has changed nothing (a failed commit is rolled back, never
 * left pending for a later write to carry).
 *
 * Ownership: structs filled by a dir_*_get/find/list call own their strings; release
 * them with the matching dir_*_clear / dir_*_list_free (which wipe plaintext personal
 * data and secrets). Structs passed in are only read.
 */
#ifndef YH_IDENTITY_DIR_H
#define YH_IDENTITY_DIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "common/err.h"
#include "identity/idn/idnum.h"

struct ident_cfg;
struct vault;
struct dir;

#define DIR_UID_LEN 32           /* internal ids: 128 random bits as lower-case hex */
#define DIR_NAME_MAX 256         /* bytes of a person's or organization's name */
#define DIR_NAME_KEY_MAX 512     /* bytes of a folded name (dir_name_key) */
#define DIR_NAME_SEARCH_MIN 2    /* characters of a name search, folded */
#define DIR_NAME_SEARCH_MAX 50   /* persons a name search returns at most */
#define DIR_EMAIL_MAX 254
#define DIR_USERNAME_MAX 64
#define DIR_SOURCE_MAX 64        /* legacy source system name */
#define DIR_LEGACY_FIELD_MAX 256 /* legacy id and legacy username */
#define DIR_ROLE_MAX 64
#define DIR_LOA_METHOD_MAX 32
#define DIR_LOA_BY_MAX 128
#define DIR_EVIDENCE_MAX 1024
#define DIR_LIST_MAX 1000        /* most entries one list call returns */
#define DIR_TOTP_SEED_MAX 64     /* bytes of a TOTP seed */
#define DIR_AUTHORITY_MAX 256    /* bytes of an organization's registration authority */
#define DIR_ACTOR_MAX 128        /* bytes of who made a change (history) */

enum dir_status {
	DIR_STATUS_ACTIVE = 0,
	DIR_STATUS_DISABLED,      /* switched off by a legacy system or an operator */
	DIR_STATUS_LOCKED,        /* locked (brute force, operator); may be unlocked */
	DIR_STATUS_DEREGISTERED,  /* the account was closed; an organization was
	                           * deregistered (注销) */
	DIR_STATUS_REVOKED,       /* organizations only: its licence was revoked (吊销) */
};

/* Persons take active, disabled, locked and deregistered; organizations take active,
 * deregistered and revoked. */
#define DIR_ORG_STATUS_OK(s) ((s) == DIR_STATUS_ACTIVE || (s) == DIR_STATUS_DEREGISTERED || \
	(s) == DIR_STATUS_REVOKED)

/* "active", "disabled", "locked", "deregistered", "revoked" (never NULL). */
const char *dir_status_str(enum dir_status s);

/* Parses the names above. Returns 0 or YH_ERR_INVALID. */
int dir_status_parse(const char *s, enum dir_status *out) YH_WUR;

/* How a person's assurance level was reached. */
struct dir_loa {
	int level;        /* 1..4 (docs/integration.md, "Assurance levels") */
	char *method;     /* "self", "registry", "counter", "ca", "totp", "import", ... */
	char *by;         /* who verified: staff id, registry name; or NULL */
	char *evidence;   /* free text (document checked, registry reference); or NULL */
	int64_t at;       /* Unix seconds */
};

struct dir_person {
	char uid[DIR_UID_LEN + 1];
	char *id_number;  /* canonical 18-character resident ID number (plaintext) */
	char *name;
	char *phone;      /* phone matching key (mk_phone_key, "13800138000"); or NULL */
	bool phone_verified; /* the phone is known to be the person's (see below); false
	                      * when there is no phone */
	char *email;      /* or NULL */
	char *username;   /* unique (ASCII case-insensitive) login name; or NULL */
	struct dir_loa loa;
	enum dir_status status;
	int64_t created, updated;   /* Unix seconds */
	char *origin;     /* how the account came to be (DIR_ORIGIN_*); NULL: not recorded
	                   * (a person added before schema version 7) */
};

/* A person's origin (dir_person.origin): set when the person is added, never changed. */
#define DIR_ORIGIN_SELF "self"           /* registered on their own (/register) */
#define DIR_ORIGIN_OPERATOR "operator"   /* added by an operator (authctl user add) */
#define DIR_ORIGIN_IMPORT "import"       /* imported from a department system (idmerge) */
#define DIR_ORIGIN_CERT "cert"           /* made at a certificate's first login
                                         * (cert.auto_register) */

/* Whether s is one of the DIR_ORIGIN_* names. */
bool dir_origin_ok(const char *s);

/* An organization (a legal person). */
struct dir_org {
	char uid[DIR_UID_LEN + 1];
	char *uscc;       /* canonical unified social credit code; NULL when only an org code is known */
	char *org_code;   /* canonical 9-character organization code (always set when read) */
	char *name;
	enum idn_org_kind kind;   /* derived from the credit code where GB 32100 defines it */
	char legal_rep_uid[DIR_UID_LEN + 1];   /* a person's uid, or "" */
	char *authority;  /* registration authority (登记机关); or NULL */
	char *established;   /* establishment date "YYYY-MM-DD"; or NULL */
	enum dir_status status;   /* active, deregistered or revoked */
	int64_t created, updated;
};

/* One change of an organization or of its relations, as its history keeps it. */
struct dir_org_change {
	char *field;      /* "created", "name", "kind", "legal_rep", "authority",
	                   * "established", "uscc", "status", "agent", "admin", "staff" */
	char *old_value;  /* or NULL; person uids for legal_rep, agent and admin */
	char *new_value;  /* or NULL */
	char *actor;      /* who made it ("operator:alice", "idmerge"); or NULL */
	int64_t at;
};

#define DIR_ROLE_LEGAL_REP "legal_rep"   /* the legal representative (法定代表人) */
#define DIR_ROLE_AGENT "agent"           /* acts for the organization (经办人) */
#define DIR_ROLE_ADMIN "admin"           /* manages the organization's relations */
#define DIR_ROLE_STAFF "staff"           /* works for a government agency (工作人员) */

#define DIR_UNIT_MAX 128       /* bytes of a staff member's unit (科室) */
#define DIR_POSITION_MAX 128   /* bytes of a staff member's position (职务) */

/*
 * A relation: a person acts for an organization in a role (法定代表人, 经办人授权). It is
 * current at time t when not revoked, not_before <= t < until (until 0 = open), and the
 * person and the organization are both active (dir_mandate_current).
 */
struct dir_mandate {
	char id[DIR_UID_LEN + 1];
	char person_uid[DIR_UID_LEN + 1];
	char org_uid[DIR_UID_LEN + 1];
	char *role;       /* DIR_ROLE_LEGAL_REP, DIR_ROLE_AGENT, DIR_ROLE_ADMIN or
	                   * DIR_ROLE_STAFF */
	char *granted_by; /* who granted it (an operator, the legal representative's uid); or NULL */
	int64_t not_before;  /* Unix seconds: valid from */
	int64_t until;    /* Unix seconds: valid before; 0 = open */
	char *scopes;     /* agent: the purposes, space-separated scope names; or NULL (all) */
	int64_t created;
	int64_t revoked;  /* Unix seconds; 0 = not revoked */
	char *unit;       /* staff only (then required): the unit (科室); else NULL */
	char *position;   /* staff only: the position (职务); or NULL */
};

/* An account in a department's old system, linked to its owner (person or org). */
struct dir_legacy {
	char owner_uid[DIR_UID_LEN + 1];
	char *source;     /* source system name, e.g. "shebao" */
	char *legacy_id;  /* the account's id in that system; (source, legacy_id) is unique */
	char *username;   /* the account's login name there; or NULL */
	enum dir_status status;
	int64_t created;
};

/* A stored password credential (identity/passwd/passwd.h schemes, never "plain"). */
struct dir_cred {
	char *scheme;
	char *hash;       /* secret-ish: wiped by dir_cred_clear */
	char *salt;       /* or NULL */
	int64_t updated;
};

/* A TOTP enrolment. */
struct dir_totp {
	unsigned char *seed;  /* secret: wiped by dir_totp_clear */
	size_t seed_len;
	bool confirmed;       /* the user proved possession with a first code */
	int64_t last_step;    /* last accepted RFC 6238 time step; -1 when none */
	int64_t created;
};

/* ---- opening ---- */

/*
 * Opens the directory described by cfg (a finished struct ident_cfg: see
 * ident_cfg_finish), sealing personal data with v (borrowed: it must outlive the
 * directory). With create, a missing store is created (SQLite: the file 0600, its
 * schema); without, a missing store is YH_ERR_NOT_FOUND. The first open records the
 * vault's key id; a later open with another key is YH_ERR_KEY. A store made by a newer
 * program (schema version) is YH_ERR_UNSUPPORTED. err receives one line naming the file and
 * the problem. *out is NULL on error; free it with dir_close.
 */
int dir_open(const struct ident_cfg *cfg, struct vault *v, bool create, struct dir **out,
    char *err, size_t errsz) YH_WUR;

/* Closes the directory. NULL is fine. */
void dir_close(struct dir *d);

/* A cheap readiness check (for /readyz): a round trip to the backend and, for SQLite,
 * that the database file at the configured path is still the one open (SQLite keeps
 * working on a removed or replaced file, so everything written from then on would be
 * lost at the next start) and that its file system can take writes (yh_file_room: not
 * full, not read-only). 0, or YH_ERR_DB / YH_ERR_UNAVAILABLE / YH_ERR_NOSPACE /
 * YH_ERR_PERM with a one-line reason in why (no file paths: /readyz shows it to anyone;
 * why may be NULL). */
int dir_ping(struct dir *d, char *why, size_t whysz) YH_WUR;

/* The backend's name ("sqlite", "ldap"). */
const char *dir_backend_name(const struct dir *d);

/* What dir_copy did. */
struct dir_copy_counts {
	uint64_t persons;         /* persons read from the source */
	uint64_t persons_added;   /* added to the target */
	uint64_t persons_there;   /* already in the target (a copy done before) */
	uint64_t passwords, totp, consents, legacy_links, pins;   /* records written */
	uint64_t cert_bindings;   /* certificates bound to persons, written */
	uint64_t upstream_links;  /* upstream identity providers' subjects, written */
	uint64_t loa_events;      /* verification history entries written */
	uint64_t orgs, orgs_added, orgs_there;   /* organizations read, added, found */
	uint64_t relations, org_changes;   /* their relations and history entries written */
	uint64_t source_persons, target_persons;  /* the stores' counts at the end */
};

/*
 * Copies the directory from into to (another backend, opened with the same vault):
 * each person as stored (sealed ID number and phone, blind indexes, status, assurance
 * level, origin) with their privacy consents, password hash, TOTP enrolment, consents,
 * legacy links, subject pins, upstream links, certificate bindings and verification
 * history (written when the target has
 * none for the person, as events not applied there); then each organization as stored
 * with its history and relations (ids and revocations kept) and the console permissions
 * of its staff. Idempotent: a person or organization already in the target (same uid)
 * is kept and a person's records written again (consents as a union; a TOTP enrolment
 * and a pin there stay). Not copied: review cases. Then checks the counts: every source
 * person and organization added or found, the target holding at least as many persons.
 * Returns 0, or a YH_ERR_*
 * with err one line (YH_ERR_CONFLICT: another target person holds an ID number or
 * username, or the counts differ).
 */
int dir_copy(struct dir *from, struct dir *to, struct dir_copy_counts *c, char *err,
    size_t errsz) YH_WUR;

/*
 * Bulk mode for imports: the writes that follow (from any thread) until dir_bulk_end
 * are grouped into one backend commit instead of one each. A grouping hint, not a
 * transaction: a call that fails leaves no trace and the others stay; everything
 * becomes durable at dir_bulk_end (a crash before it loses the group). Except when
 * the backend loses the whole group (SQLite does when a write finds the disk full):
 * then every write until dir_bulk_end, and dir_bulk_end itself, fail with that error
 * and nothing of the group is kept. Backends without such a notion (LDAP) accept and
 * ignore it. YH_ERR_BUSY when bulk mode is already on (begin) or off (end);
 * YH_ERR_NOSPACE; YH_ERR_DB.
 */
int dir_bulk_begin(struct dir *d) YH_WUR;
int dir_bulk_end(struct dir *d) YH_WUR;

/*
 * Documents the nodes of one installation share through the directory (the app
 * registry): name is [a-z0-9_]{1,32}, the value a UTF-8 text of 1..DIR_SHARED_MAX bytes
 * stored whole (the last set wins). get: *val malloc'd; YH_ERR_NOT_FOUND when never set.
 * On SQLite they are stored too, but only nodes on one LDAP directory share them.
 */
#define DIR_SHARED_MAX (8u << 20)
int dir_shared_get(struct dir *d, const char *name, char **val) YH_WUR;
int dir_shared_set(struct dir *d, const char *name, const char *val) YH_WUR;

/* The shared documents whose name starts with prefix ([a-z0-9_]{1,32}), at most
 * DIR_SHARED_LIST_MAX, names without prefix stripped: *names and *vals malloc'd arrays
 * of *n malloc'd strings (none: NULL, 0), freed with dir_shared_list_free. */
#define DIR_SHARED_LIST_MAX 64
int dir_shared_list(struct dir *d, const char *prefix, char ***names, char ***vals,
    size_t *n) YH_WUR;
void dir_shared_list_free(char **names, char **vals, size_t n);

/* True when s is a well-formed uid (32 lower-case hex digits). */
bool dir_uid_valid(const char *s);

/* ---- persons ---- */

/*
 * Adds a person. in->id_number (any accepted spelling: it is canonicalized with
 * idn_resident_check) and in->name are required; phone (folded with mk_phone_key),
 * email and username are optional (NULL or ""). in->phone_verified is taken as given
 * (ignored without a phone): true only when whoever supplies the phone vouches for it
 * (an operator, an import from a department's database; later an SMS code), never for
 * a phone a person typed in themselves. in->uid may be "" (a fresh uid is
 * made) or a uid to use (idmerge keeps its own). in->loa.level 0 means LoA 1 by
 * "self"; in->status and in->created (0 = now) are taken as given; in->origin
 * (DIR_ORIGIN_*: every program that adds persons names it) is stored, NULL as "not
 * recorded". The new uid is written to uid_out (may be NULL).
 * Errors: YH_ERR_INVALID (bad ID number, phone, e-mail, username, LoA or origin; a
 * username that looks like an ID number or phone), YH_ERR_TOO_LONG, YH_ERR_EXISTS (the ID
 * number, the username or the uid is taken), YH_ERR_DB.
 */
int dir_person_add(struct dir *d, const struct dir_person *in, char *uid_out) YH_WUR;

/*
 * dir_person_add with a first credential (scheme and hash as for dir_cred_set, no
 * salt) stored in the same transaction: either both are stored or neither is, so a
 * failed write (a full disk) never leaves a person who cannot log in. Errors as
 * dir_person_add and dir_cred_set.
 */
int dir_person_add_cred(struct dir *d, const struct dir_person *in, const char *scheme,
    const char *hash, char *uid_out) YH_WUR;

/* A privacy consent a person gave (PIPL arts. 14, 29): what to, on which notice, when. */
struct dir_privacy {
	char *purpose;         /* DIR_PRIVACY_* */
	char *notice_version;  /* the operator's version of the notice shown */
	char *notice_sha256;   /* the SHA-256 of the notice's text, 64 lowercase hex digits */
	char *via;             /* where it was given: "register" */
	int64_t at;            /* Unix seconds */
};

#define DIR_PRIVACY_ID_NUMBER "sensitive:id_number"   /* processing the ID number */
#define DIR_PRIVACY_VERSION_MAX 64                    /* bytes of a notice version */
#define DIR_PRIVACY_MAX 16      /* consents one person can have recorded at once */

/*
 * dir_person_add_cred with the person's privacy consents (n of them, 1..DIR_PRIVACY_MAX;
 * at 0 = now) stored in the same transaction: the person is never there without the
 * consent the registration took. A purpose, version or via must be printable ASCII
 * (version at most DIR_PRIVACY_VERSION_MAX bytes), the hash 64 lowercase hex digits:
 * else YH_ERR_INVALID. Other errors as dir_person_add_cred.
 */
int dir_person_add_consented(struct dir *d, const struct dir_person *in, const char *scheme,
    const char *hash, const struct dir_privacy *consents, size_t n, char *uid_out) YH_WUR;

/* The person's privacy consents, oldest first (at most DIR_PRIVACY_MAX). *out is a
 * malloc'd array (NULL when none: a person an operator added or an import brought has
 * none); free with dir_privacy_list_free. YH_ERR_INVALID (a malformed uid), YH_ERR_DB. */
int dir_privacy_list(struct dir *d, const char *uid, struct dir_privacy **out, size_t *n)
    YH_WUR;

/* Frees the strings of *c and zeroes it; the list variant also frees the array. NULL
 * is fine. */
void dir_privacy_clear(struct dir_privacy *c);
void dir_privacy_list_free(struct dir_privacy *a, size_t n);

/*
 * Replaces the person's name, phone (with in->phone_verified), email and username
 * (NULL or "" clears the optional ones) by in->uid. The ID number, LoA, status and created time are not
 * changed (see dir_person_set_status / dir_person_set_loa). Errors as dir_person_add,
 * plus YH_ERR_NOT_FOUND.
 */
int dir_person_update(struct dir *d, const struct dir_person *in) YH_WUR;

/* Reads the person with this uid into *out (cleared first). YH_ERR_NOT_FOUND. */
int dir_person_get(struct dir *d, const char *uid, struct dir_person *out) YH_WUR;

/* The sealed fields of a person, for dir_person_get_opened. Opening one is a round trip
 * to the vault (keyd) and puts that personal data in the caller's memory. */
enum {
	DIR_OPEN_ID_NUMBER = 1,
	DIR_OPEN_PHONE = 2,
	DIR_OPEN_ALL = DIR_OPEN_ID_NUMBER | DIR_OPEN_PHONE,
};

/* dir_person_get opening only the sealed fields named in open (DIR_OPEN_*): a field not
 * named is NULL in *out whether or not the person has one. */
int dir_person_get_opened(struct dir *d, const char *uid, unsigned open,
    struct dir_person *out) YH_WUR;

/* Finds a person by ID number (any accepted spelling). YH_ERR_INVALID when it is not a
 * valid resident ID number, YH_ERR_NOT_FOUND. */
int dir_person_find_id_number(struct dir *d, const char *id_number,
    struct dir_person *out) YH_WUR;

/* Finds the one person with this VERIFIED phone (any spelling mk_phone_key folds): a
 * phone is an identifier only once verified, so an unverified one neither finds its
 * holder nor makes a verified holder ambiguous. YH_ERR_INVALID (not a phone number),
 * YH_ERR_NOT_FOUND, YH_ERR_CONFLICT (several verified holders: a family's phone). */
int dir_person_find_phone(struct dir *d, const char *phone, struct dir_person *out) YH_WUR;

/* Finds a person by username (ASCII case-insensitive). YH_ERR_NOT_FOUND. */
int dir_person_find_username(struct dir *d, const char *username,
    struct dir_person *out) YH_WUR;

/* Finds the person owning a legacy account with this legacy username (in source, or
 * in any source when source is NULL). YH_ERR_NOT_FOUND (also when the owner is an
 * organization), YH_ERR_CONFLICT (the name belongs to several persons). */
int dir_person_find_legacy_username(struct dir *d, const char *username,
    const char *source, struct dir_person *out) YH_WUR;

/*
 * A login identifier as the audit trail keeps it (a new JSON string, NULL when out of
 * memory): read the way the login lookup (dir_person_find_login) reads it, an ID number as
 * idn_mask shows it ("110101********0011") and a phone number as its key masked
 * ("138****8000"), whatever the spelling typed; anything else cut to 64 bytes of valid
 * UTF-8 (the audit writer still masks any long number in it).
 */
json_t *dir_login_masked(const char *identifier);

/*
 * Finds the person a login form's identifier names: a valid resident ID number, else a
 * verified phone number (dir_person_find_phone), else a username, else a legacy
 * username (any source). A numeric identifier that finds nobody by phone is still
 * tried as a (legacy) username.
 * Returns 0, YH_ERR_NOT_FOUND, YH_ERR_CONFLICT (ambiguous: refuse the login and say
 * the same as for a wrong password), YH_ERR_TOO_LONG / YH_ERR_INVALID (empty, over
 * DIR_LEGACY_FIELD_MAX, or containing NUL or control bytes).
 */
int dir_person_find_login(struct dir *d, const char *identifier,
    struct dir_person *out) YH_WUR;

/* Sets a person's status. YH_ERR_NOT_FOUND; YH_ERR_DENIED when the person is
 * deregistered and st is another status (deregistration is final). A deregistration
 * records its time (once) and ends the person's relations (struct dir_mandate), each
 * written to its organization's history, in the same transaction. The deregistered
 * person stays as a tombstone: their ID number cannot be registered again
 * (dir_person_add: YH_ERR_EXISTS) until dir_person_purge erases them. */
int dir_person_set_status(struct dir *d, const char *uid, enum dir_status st) YH_WUR;

/* A deregistered person: the uid and when the deregistration was recorded (seconds). */
struct dir_tombstone {
	char uid[DIR_UID_LEN + 1];
	int64_t deregistered;
};

/*
 * Lists up to limit (1..DIR_LIST_MAX) persons deregistered before `before` (seconds
 * since the epoch) whose uid sorts after `after` ("" for the first page), in uid order,
 * into out (the caller's array of limit entries); *n is how many (0 at the end).
 * Returns 0, YH_ERR_INVALID (a malformed `after`, a limit out of range), YH_ERR_DB.
 */
int dir_person_tombstones(struct dir *d, int64_t before, const char *after, size_t limit,
    struct dir_tombstone *out, size_t *n) YH_WUR;

/*
 * Erases the person uid, deregistered before `before` (seconds since the epoch), in one
 * transaction: the person (sealed ID number and its lookup index, name, phone, email,
 * username), their verification history, relations, legacy links, credential, TOTP
 * seed, consents, privacy consents and subject pins, and the uid itself; an organization
 * that named them as legal representative names nobody. Afterwards the uid is nowhere
 * in the directory and the ID number can be registered again; on error nothing changed.
 * Returns 0, YH_ERR_NOT_FOUND (no such person), YH_ERR_DENIED (not deregistered, or
 * deregistered at or after `before`), YH_ERR_NOSPACE, YH_ERR_DB.
 */
int dir_person_purge(struct dir *d, const char *uid, int64_t before) YH_WUR;

#define DIR_LOA_RAISE 0x1u  /* only raise: a lower level is recorded but not applied */

struct dir_entity;

/*
 * The persons whose name is exactly name, in uid order, at most max (1..DIR_LIST_MAX):
 * their uids into out (struct dir_entity, org false), *n how many. YH_ERR_INVALID (an
 * empty name, one over DIR_NAME_MAX bytes, max out of range).
 */
int dir_person_find_name(struct dir *d, const char *name, size_t max,
    struct dir_entity *out, size_t *n) YH_WUR;

/*
 * Name search for operators: the persons whose folded name (dir_name_key: traditional
 * characters as simplified, width, spaces, middle dots, Latin case) begins with or
 * contains the folded query, those it begins with first, each part in uid order,
 * at most max (1..DIR_NAME_SEARCH_MAX). YH_ERR_INVALID for a query that folds to fewer
 * than DIR_NAME_SEARCH_MIN characters (nobody lists the whole directory by one
 * character) or over DIR_NAME_MAX bytes, or max out of range.
 */
int dir_person_search_name(struct dir *d, const char *query, size_t max,
    struct dir_entity *out, size_t *n) YH_WUR;

/* The organizations whose name is exactly name, as dir_person_find_name (org true). */
int dir_org_find_name(struct dir *d, const char *name, size_t max, struct dir_entity *out,
    size_t *n) YH_WUR;

/*
 * The person's verification history (each dir_person_set_loa, applied or not), oldest
 * first, at most DIR_LIST_MAX: *out a malloc'd array (NULL when none), free with
 * dir_loa_list_free. An unknown person has none. YH_ERR_INVALID (a malformed uid).
 */
int dir_person_loa_history(struct dir *d, const char *uid, struct dir_loa **out,
    size_t *n) YH_WUR;
void dir_loa_list_free(struct dir_loa *a, size_t n);

/*
 * Records a verification of a person (appended to the person's verification history)
 * and sets their LoA to v->level with its method, verifier and evidence (v->at 0 =
 * now). With DIR_LOA_RAISE a level not above the current one leaves the person as is.
 * *applied (may be NULL) says whether the person's LoA fields changed.
 * Errors: YH_ERR_INVALID (level outside 1..4, missing method), YH_ERR_TOO_LONG,
 * YH_ERR_NOT_FOUND, YH_ERR_DENIED (the person is deregistered).
 */
int dir_person_set_loa(struct dir *d, const char *uid, const struct dir_loa *v,
    unsigned flags, bool *applied) YH_WUR;

/* Lists persons ordered by creation (then uid), skipping offset, at most limit
 * (1..DIR_LIST_MAX). *out is a malloc'd array of *n persons (NULL when none); free it
 * with dir_person_list_free. */
int dir_person_list(struct dir *d, uint64_t offset, size_t limit, struct dir_person **out,
    size_t *n) YH_WUR;

/* The number of persons. */
int dir_person_count(struct dir *d, uint64_t *out) YH_WUR;

/* Wipes the plaintext ID number and phone, frees every string, zeroes *p. NULL is fine. */
void dir_person_clear(struct dir_person *p);

/* Clears n persons and frees the array. NULL is fine. */
void dir_person_list_free(struct dir_person *a, size_t n);

/* ---- organizations ---- */

/*
 * Adds an organization. At least one of in->uscc and in->org_code is required (any
 * accepted spelling, canonicalized); when both are given the credit code's positions
 * 9-17 must equal the organization code. in->name is required. in->kind: the kind the
 * credit code defines (idn_uscc_kind) is stored; in->kind must then be it or
 * IDN_ORG_KIND_UNSPECIFIED; otherwise in->kind is taken as given. in->authority
 * (DIR_AUTHORITY_MAX bytes) and in->established ("YYYY-MM-DD", a real date not after
 * today) are optional. in->legal_rep_uid is "" or an existing person, who then also gets
 * a legal_rep relation from now. in->status must be an organization status. in->uid ""
 * makes a fresh uid. actor (NULL or up to DIR_ACTOR_MAX bytes) is written to the
 * organization's history with the record, in one transaction. The uid goes to uid_out
 * (may be NULL). Errors: YH_ERR_INVALID (bad code, codes that disagree, a kind the code
 * contradicts, a bad date or status, missing name), YH_ERR_EXISTS (credit code,
 * organization code or uid taken), YH_ERR_NOT_FOUND (no such legal representative).
 */
int dir_org_add(struct dir *d, const struct dir_org *in, const char *actor, char *uid_out)
    YH_WUR;

/*
 * Replaces name, kind, legal representative, authority and establishment date (by
 * in->uid; checked as for dir_org_add), and sets the credit code of an organization that
 * only had an organization code (the codes must agree; both may be left NULL to keep
 * them). Each field that changes is written to the history with actor, in the same
 * transaction; a new legal representative ends the current legal_rep relation and
 * begins a new one. Errors as dir_org_add, plus YH_ERR_NOT_FOUND.
 */
int dir_org_update(struct dir *d, const struct dir_org *in, const char *actor) YH_WUR;

/* Reads an organization by uid. YH_ERR_NOT_FOUND. */
int dir_org_get(struct dir *d, const char *uid, struct dir_org *out) YH_WUR;

/* Finds an organization by unified social credit code (any accepted spelling).
 * YH_ERR_INVALID (not a valid credit code), YH_ERR_NOT_FOUND. */
int dir_org_find_uscc(struct dir *d, const char *uscc, struct dir_org *out) YH_WUR;

/* Finds an organization by organization code ("12345678-9" or "123456789"); this also
 * finds organizations registered with a credit code containing it.
 * YH_ERR_INVALID, YH_ERR_NOT_FOUND. */
int dir_org_find_org_code(struct dir *d, const char *org_code, struct dir_org *out) YH_WUR;

/* Sets an organization's status (active, deregistered or revoked), written to its
 * history with actor. Its relations stay recorded but none is current while it is not
 * active. YH_ERR_NOT_FOUND, YH_ERR_INVALID (a person-only status). */
int dir_org_set_status(struct dir *d, const char *uid, enum dir_status st,
    const char *actor) YH_WUR;

/*
 * Lists up to limit (1..DIR_LIST_MAX) organizations deregistered or revoked before
 * `before` (seconds; the time of that status change in their history, or of their last
 * change when the history has none) whose uid sorts after `after`, as
 * dir_person_tombstones does for persons. Returns 0, YH_ERR_INVALID, YH_ERR_DB.
 */
int dir_org_tombstones(struct dir *d, int64_t before, const char *after, size_t limit,
    struct dir_tombstone *out, size_t *n) YH_WUR;

/*
 * Erases the organization uid, deregistered or revoked before `before`, in one
 * transaction: its relations, its history (the persons who held them), its legacy
 * links, credential and TOTP seed, the organization and its uid; afterwards its credit
 * code and organization code can be added again. Returns 0, YH_ERR_NOT_FOUND,
 * YH_ERR_DENIED (active, or closed at or after `before`), YH_ERR_NOSPACE, YH_ERR_DB.
 */
int dir_org_purge(struct dir *d, const char *uid, int64_t before) YH_WUR;

/* Lists organizations ordered by creation (then uid), skipping offset, at most limit
 * (1..DIR_LIST_MAX). *out is a malloc'd array (NULL when none); free with
 * dir_org_list_free. */
int dir_org_list(struct dir *d, uint64_t offset, size_t limit, struct dir_org **out,
    size_t *n) YH_WUR;

/* The organization's history, oldest first (at most DIR_LIST_MAX entries). *out is a
 * malloc'd array (NULL when none); free with dir_org_history_free. An unknown
 * organization has none. YH_ERR_INVALID (a malformed uid). */
int dir_org_history(struct dir *d, const char *org_uid, struct dir_org_change **out,
    size_t *n) YH_WUR;

/* Frees the strings of *o and zeroes it. NULL is fine. */
void dir_org_clear(struct dir_org *o);
void dir_org_list_free(struct dir_org *a, size_t n);
void dir_org_history_free(struct dir_org_change *a, size_t n);

/* ---- relations (mandates) ---- */

/*
 * Records that in->person_uid acts for in->org_uid in in->role (DIR_ROLE_AGENT,
 * DIR_ROLE_ADMIN or DIR_ROLE_STAFF: the legal representative is set with the
 * organization) from
 * in->not_before (0 = in->created) until in->until (0 = open; otherwise after both
 * not_before and created, so a grant from now cannot end in the past), with in->scopes
 * (agent only: space-separated scope names, at most DIR_SCOPES_MAX; NULL = all),
 * in->unit (staff only, and then required: 1..DIR_UNIT_MAX bytes) and in->position
 * (staff only, optional: DIR_POSITION_MAX bytes).
 * in->id "" makes a fresh id (written to id_out, may be NULL); in->created 0 = now;
 * in->revoked must be 0. A new grant (created 0) needs an active organization and an
 * active person, an agent at LoA 2 or more (real-name verified) who is not the
 * organization's legal representative (who acts for it already, without a grant), and
 * for staff an organization of kind government agency.
 * Written to the history with actor in the same transaction.
 * Errors: YH_ERR_INVALID, YH_ERR_TOO_LONG, YH_ERR_NOT_FOUND (no such person or
 * organization), YH_ERR_DENIED (organization or person not active, agent below LoA 2,
 * staff of an organization that is not a government agency),
 * YH_ERR_CONFLICT (an agent grant to the legal representative), YH_ERR_EXISTS (the id is
 * taken, or the person already holds an unrevoked, unexpired relation of this role).
 */
int dir_mandate_add(struct dir *d, const struct dir_mandate *in, const char *actor,
    char *id_out) YH_WUR;

/* Reads a relation by id. YH_ERR_NOT_FOUND. */
int dir_mandate_get(struct dir *d, const char *id, struct dir_mandate *out) YH_WUR;

/*
 * The current relations (see struct dir_mandate) at time at (0 = now) of a person
 * (person_uid set, org_uid NULL) or of an organization (org_uid set, person_uid NULL):
 * the one question the organization choice page asks (every role: callers look at
 * role; a staff relation says the person works for an agency, see dir_staff_current).
 * Oldest first, at most DIR_LIST_MAX. *out is a malloc'd array (NULL when none); free with
 * dir_mandate_list_free. YH_ERR_INVALID (not exactly one uid, a malformed one).
 */
int dir_mandate_current(struct dir *d, const char *person_uid, const char *org_uid,
    int64_t at, struct dir_mandate **out, size_t *n) YH_WUR;

/*
 * The person's current staff relation at time at (0 = now): the oldest current relation
 * of role staff whose organization is (still) a government agency, into *m, and that
 * organization into *org (may be NULL). Both are cleared first; release them with
 * dir_mandate_clear / dir_org_clear. Returns 0, YH_ERR_NOT_FOUND (not current staff),
 * YH_ERR_INVALID (a malformed uid), YH_ERR_DB.
 */
int dir_staff_current(struct dir *d, const char *person_uid, int64_t at,
    struct dir_mandate *m, struct dir_org *org) YH_WUR;

/*
 * The operators' console (/admin) permissions of a staff member, held on their staff
 * relation: each opens one part of the console. DIR_CONSOLE_PERMS_MAX bytes hold the
 * canonical text of any set ("review people orgs apps audit").
 */
enum dir_console_perm {
	DIR_CONSOLE_REVIEW = 1u << 0,   /* the review queue: decide and undo cases */
	DIR_CONSOLE_PEOPLE = 1u << 1,   /* persons: search, reveal, lock, end sessions */
	DIR_CONSOLE_ORGS = 1u << 2,     /* organizations and their relations */
	DIR_CONSOLE_APPS = 1u << 3,     /* the client registry */
	DIR_CONSOLE_AUDIT = 1u << 4,    /* the audit log */
};
#define DIR_CONSOLE_ALL 0x1fu
#define DIR_CONSOLE_PERMS_MAX 40

/* Parses a list of permission names (review, people, orgs, apps, audit, or all)
 * separated by commas or spaces into *out; "" is the empty set. 0 or YH_ERR_INVALID
 * (an unknown name). */
int dir_console_perms_parse(const char *list, unsigned *out) YH_WUR;

/* Writes the names of perms, space-separated in the order above ("" for none), into
 * out (DIR_CONSOLE_PERMS_MAX + 1 bytes at least). */
void dir_console_perms_str(unsigned perms, char *out, size_t outsz);

/*
 * Sets the console permissions of the staff relation mandate_id to perms (0 removes
 * them), by naming who did it. Returns 0, YH_ERR_NOT_FOUND (no such relation),
 * YH_ERR_INVALID (not a staff relation, a revoked one, bits outside DIR_CONSOLE_ALL).
 */
int dir_console_set(struct dir *d, const char *mandate_id, unsigned perms,
    const char *by) YH_WUR;

/* The console permissions of relation mandate_id into *perms (0: none). 0, YH_ERR_DB. */
int dir_console_get(struct dir *d, const char *mandate_id, unsigned *perms) YH_WUR;

/*
 * Upstream identity providers' links (docs/federation.md): the person uid whose login
 * through upstream (an upstream.NAME block's NAME) came with the upstream's subject sub
 * (1..DIR_UPSTREAM_SUB_MAX bytes, no control byte). A pair is linked once and stays
 * (a purge of the person removes it). add: 0, YH_ERR_EXISTS (the pair is linked,
 * perhaps to another person), YH_ERR_NOT_FOUND (no such person), YH_ERR_INVALID,
 * YH_ERR_DB, YH_ERR_NOSPACE. get: 0 with uid, YH_ERR_NOT_FOUND, YH_ERR_INVALID,
 * YH_ERR_DB.
 */
#define DIR_UPSTREAM_SUB_MAX 255
int dir_upstream_link_add(struct dir *d, const char *upstream, const char *sub,
    const char *uid) YH_WUR;
int dir_upstream_link_get(struct dir *d, const char *upstream, const char *sub,
    char uid[DIR_UID_LEN + 1]) YH_WUR;

/* One link of a person, as a backend lists them for directory copy. */
#define DIR_UPSTREAM_NAME_MAX 64
#define DIR_UPSTREAM_LINKS_MAX 256  /* links one person may hold (one per upstream) */
struct dir_upstream_link {
	char upstream[DIR_UPSTREAM_NAME_MAX + 1];
	char sub[DIR_UPSTREAM_SUB_MAX + 1];
	int64_t created;
};

/*
 * Certificates bound to a person (docs/certificates.md): the first certificate login
 * records the certificate's issuer and serial with its key's SHA-256, so that the
 * certificate logs in one person only and a later login with the same issuer and serial
 * must bring the same key. id names a binding: the lower-case hex SHA-256 of the
 * issuer's name (DER) and the serial, made by the caller; issuer is its readable form,
 * serial upper-case hex, key_sha256 lower-case hex.
 */
#define DIR_CERT_HEX_LEN 64
#define DIR_CERT_ISSUER_MAX 1024
#define DIR_CERT_SERIAL_MAX 64
#define DIR_CERT_BINDINGS_MAX 64    /* bindings one person may hold */
struct dir_cert_binding {
	char id[DIR_CERT_HEX_LEN + 1];
	char uid[DIR_UID_LEN + 1];
	char issuer[DIR_CERT_ISSUER_MAX + 1];
	char serial[DIR_CERT_SERIAL_MAX + 1];
	char key_sha256[DIR_CERT_HEX_LEN + 1];
	int64_t created;            /* seconds; set by dir_cert_bind */
};

/* Records b (its created is the current time). 0, YH_ERR_EXISTS (b->id is bound, to this
 * person or another), YH_ERR_NOT_FOUND (no such person), YH_ERR_LIMIT (the person holds
 * DIR_CERT_BINDINGS_MAX), YH_ERR_INVALID, YH_ERR_DB, YH_ERR_UNAVAILABLE. */
int dir_cert_bind(struct dir *d, const struct dir_cert_binding *b) YH_WUR;

/* The certificates bound to uid, oldest first, as a malloc'd array (*out, free(); NULL
 * when none). 0, YH_ERR_INVALID, YH_ERR_DB, YH_ERR_UNAVAILABLE. */
int dir_cert_list(struct dir *d, const char *uid, struct dir_cert_binding **out,
    size_t *n) YH_WUR;

/* Removes uid's binding id. 0, YH_ERR_NOT_FOUND (none of uid's), YH_ERR_INVALID,
 * YH_ERR_DB, YH_ERR_UNAVAILABLE. */
int dir_cert_unbind(struct dir *d, const char *uid, const char *id) YH_WUR;

/* Lists every relation of a person or of an organization, revoked and expired ones
 * too, oldest first, at most DIR_LIST_MAX (with in_force_at > 0: only those current
 * then, as dir_mandate_current). *out as above. */
int dir_mandate_list_person(struct dir *d, const char *person_uid, int64_t in_force_at,
    struct dir_mandate **out, size_t *n) YH_WUR;
int dir_mandate_list_org(struct dir *d, const char *org_uid, int64_t in_force_at,
    struct dir_mandate **out, size_t *n) YH_WUR;

/* Revokes a relation at time at (0 = now), written to the history with actor.
 * YH_ERR_NOT_FOUND; revoking a revoked relation keeps the first revocation time and
 * returns 0. A legal_rep relation ends only with dir_org_update (YH_ERR_INVALID). */
int dir_mandate_revoke(struct dir *d, const char *id, int64_t at, const char *actor)
    YH_WUR;

/* Revokes, in one transaction, every unrevoked relation of role (DIR_ROLE_AGENT,
 * DIR_ROLE_ADMIN or DIR_ROLE_STAFF) that person_uid holds for org_uid, each written to the history with
 * actor; *ended (may be NULL) says how many. YH_ERR_NOT_FOUND when there was none. */
int dir_mandate_end(struct dir *d, const char *org_uid, const char *person_uid,
    const char *role, const char *actor, size_t *ended) YH_WUR;

/* True when m's own fields make it current at time now (not revoked, within its
 * validity period); the statuses of its person and organization are not in m. */
bool dir_mandate_in_force(const struct dir_mandate *m, int64_t now);

/* Frees the strings of *m and zeroes it; the list variant also frees the array. */
void dir_mandate_clear(struct dir_mandate *m);
void dir_mandate_list_free(struct dir_mandate *a, size_t n);

/* ---- legacy account links ---- */

/*
 * Links a legacy account to its owner (a person or an organization). source and
 * legacy_id are required; username is optional; created 0 = now.
 * Errors: YH_ERR_EXISTS ((source, legacy_id) is already linked, to anyone),
 * YH_ERR_NOT_FOUND (no such owner), YH_ERR_INVALID, YH_ERR_TOO_LONG.
 */
int dir_legacy_add(struct dir *d, const struct dir_legacy *in) YH_WUR;

/* Reads the link of (source, legacy_id). YH_ERR_NOT_FOUND. */
int dir_legacy_get(struct dir *d, const char *source, const char *legacy_id,
    struct dir_legacy *out) YH_WUR;

/* Lists the links of an owner ordered by source, legacy id (at most DIR_LIST_MAX).
 * *out is malloc'd (NULL when none); free with dir_legacy_list_free. */
int dir_legacy_list(struct dir *d, const char *owner_uid, struct dir_legacy **out,
    size_t *n) YH_WUR;

/* Finds the owner of the legacy accounts called username (ASCII case-insensitive) in
 * source (NULL = any). owner_uid receives the uid. YH_ERR_NOT_FOUND, YH_ERR_CONFLICT (the
 * name belongs to several owners). */
int dir_legacy_find_username(struct dir *d, const char *username, const char *source,
    char owner_uid[DIR_UID_LEN + 1]) YH_WUR;

/*
 * The account owner_uid has in source, for an app that knows its users by their old ids:
 * the owner's active link there (a disabled, locked or deregistered one does not count;
 * of several active ones, the one with the least legacy id, so the answer is stable).
 * *out is filled (free with dir_legacy_clear). YH_ERR_NOT_FOUND (no active link),
 * YH_ERR_INVALID, YH_ERR_TOO_LONG.
 */
int dir_legacy_of_owner(struct dir *d, const char *owner_uid, const char *source,
    struct dir_legacy *out) YH_WUR;

/* Removes a link. YH_ERR_NOT_FOUND. */
int dir_legacy_remove(struct dir *d, const char *source, const char *legacy_id) YH_WUR;

/* Frees the strings of *l and zeroes it; the list variant also frees the array. */
void dir_legacy_clear(struct dir_legacy *l);
void dir_legacy_list_free(struct dir_legacy *a, size_t n);

/* ---- credentials ---- */

/* Reads the password credential of an owner. YH_ERR_NOT_FOUND (none, or no owner). */
int dir_cred_get(struct dir *d, const char *owner_uid, struct dir_cred *out) YH_WUR;

/*
 * Stores (replaces) the password credential of an owner. scheme must be storable
 * (pw_scheme_storable): "plain" is YH_ERR_DENIED, an unknown scheme
 * YH_ERR_UNSUPPORTED. hash is required (at most PW_HASH_MAX bytes), salt optional
 * (PW_SALT_MAX). Errors also: YH_ERR_NOT_FOUND (no such owner), YH_ERR_INVALID.
 */
int dir_cred_set(struct dir *d, const char *owner_uid, const char *scheme,
    const char *hash, const char *salt) YH_WUR;

/* Wipes and frees the strings of *c, zeroes it. NULL is fine. */
void dir_cred_clear(struct dir_cred *c);

/* ---- TOTP ---- */

/* Stores (replaces) an owner's TOTP seed (1..DIR_TOTP_SEED_MAX bytes, sealed by the
 * vault), with last_step reset to -1. YH_ERR_NOT_FOUND (no such owner). */
int dir_totp_set(struct dir *d, const char *owner_uid, const unsigned char *seed,
    size_t len, bool confirmed) YH_WUR;

/* Marks the owner's seed confirmed. YH_ERR_NOT_FOUND (no seed). */
int dir_totp_confirm(struct dir *d, const char *owner_uid) YH_WUR;

/* Reads the owner's TOTP enrolment (the seed opened). YH_ERR_NOT_FOUND. */
int dir_totp_get(struct dir *d, const char *owner_uid, struct dir_totp *out) YH_WUR;

/*
 * Accepts time step `step` once: atomically records it as the last used step when it
 * is later than the stored one. Returns 0, YH_ERR_REPLAY (this step or a later one was
 * already used: reject the code), YH_ERR_NOT_FOUND (no seed), YH_ERR_INVALID (step < 0).
 */
int dir_totp_consume_step(struct dir *d, const char *owner_uid, int64_t step) YH_WUR;

/* Removes the owner's TOTP enrolment. YH_ERR_NOT_FOUND. */
int dir_totp_delete(struct dir *d, const char *owner_uid) YH_WUR;

/* Wipes the seed, frees it, zeroes *t. NULL is fine. */
void dir_totp_clear(struct dir_totp *t);

/* ---- consents (the scopes a person allowed an app to receive) ---- */

#define DIR_CLIENT_ID_MAX 64       /* bytes of a client id in a consent record */
#define DIR_SCOPE_MAX 64           /* bytes of one scope name */
#define DIR_SCOPES_MAX 32          /* scope names in one consent */

/* What a person consented to for one app. */
struct dir_consent {
	char *client_id;
	char *scopes;      /* the granted scope names, sorted, space-separated */
	int64_t created;   /* first grant, Unix seconds */
	int64_t updated;   /* last grant */
};

/*
 * Reads the scopes the person uid consented to for client_id into *scopes: a malloc'd,
 * sorted, space-separated list (free() it; NULL on error). Returns 0, YH_ERR_NOT_FOUND
 * (no consent recorded, or no such person), YH_ERR_INVALID (a malformed uid or client
 * id), YH_ERR_DB.
 */
int dir_consent_get(struct dir *d, const char *uid, const char *client_id, char **scopes)
    YH_WUR;

/*
 * Records that the person uid allows client_id the scopes of the space-separated list
 * scopes (OAuth scope syntax; runs of spaces allowed): the consent becomes the union of
 * what was granted before and these, atomically. Returns 0, YH_ERR_NOT_FOUND (no such
 * person), YH_ERR_INVALID (malformed uid, client id or scope name, or an empty list),
 * YH_ERR_TOO_LONG (a scope name over DIR_SCOPE_MAX bytes), YH_ERR_LIMIT (more than
 * DIR_SCOPES_MAX names in all), YH_ERR_DB.
 */
int dir_consent_set(struct dir *d, const char *uid, const char *client_id,
    const char *scopes) YH_WUR;

/*
 * Lists the person's consents ordered by client id (at most DIR_LIST_MAX). *out is a
 * malloc'd array of *n records (NULL when none); free it with dir_consent_list_free.
 * Returns 0 (also for an unknown person: no consents), YH_ERR_INVALID, YH_ERR_DB.
 */
int dir_consent_list(struct dir *d, const char *uid, struct dir_consent **out, size_t *n)
    YH_WUR;

/* Forgets the person's consent for client_id ("my apps: revoke"). Returns 0,
 * YH_ERR_NOT_FOUND (none recorded), YH_ERR_INVALID, YH_ERR_DB. */
int dir_consent_revoke(struct dir *d, const char *uid, const char *client_id) YH_WUR;

/* Frees the strings of *c and zeroes it; the list variant also frees the array. NULL
 * is fine. */
void dir_consent_clear(struct dir_consent *c);
void dir_consent_list_free(struct dir_consent *a, size_t n);

/* ---- subject pins (the pairwise subjects kept across re-keys) ---- */

#define DIR_SECTOR_MAX 255         /* bytes of an app's sector (CLIENTS_SECTOR_MAX) */
#define DIR_SUB_MAX 64             /* bytes of a pinned subject identifier */
#define DIR_PINS_MAX 4096          /* pins of one person in one call (CLIENTS_MAX) */

/*
 * A subject pin: the `sub` the apps of one sector know a person by, kept when the
 * person's uid changes (idmerge rekey), so that authd goes on answering that `sub`
 * instead of the one the new uid would give (authd/oidc/oidc.h, oidc_pairwise_sub).
 * sector: 1..DIR_SECTOR_MAX bytes of A-Z a-z 0-9 . _ : - (the client registry's
 * rule); sub: 1..DIR_SUB_MAX base64url characters. Both borrowed.
 */
struct dir_subject_pin {
	const char *sector;
	const char *sub;
};

/*
 * Records the n pins (1..DIR_PINS_MAX, one per sector) of the person uid, all in one
 * transaction. A pin never changes: where the person already has a pin for a sector,
 * that one stays and the new one is ignored. Returns 0, YH_ERR_INVALID (a malformed
 * uid, sector or sub, n out of range), YH_ERR_TOO_LONG, YH_ERR_NOT_FOUND (no such
 * person), YH_ERR_DB.
 */
int dir_subject_pin_add(struct dir *d, const char *uid, const struct dir_subject_pin *pins,
    size_t n) YH_WUR;

/*
 * The pinned sub of the person uid in sector into sub ("" on error). Returns 0,
 * YH_ERR_NOT_FOUND (no pin: the sub is the one the uid gives), YH_ERR_INVALID (a
 * malformed uid or sector), YH_ERR_DB.
 */
int dir_subject_pin_find(struct dir *d, const char *uid, const char *sector,
    char sub[DIR_SUB_MAX + 1]) YH_WUR;

/* ---- review cases (records idmerge would not decide: docs/operations.md) ---- */

#define DIR_CASE_ID_LEN 19         /* "rc", 8 lower-case hex digits, "_", 8 more (never a
                                    * run of digits that logs would mask as an ID number) */
#define DIR_CASE_BODY_MAX 4096     /* bytes of a case's JSON body (VAULT_VALUE_MAX) */
#define DIR_CASE_REASON_MAX 32
#define DIR_NOTE_MAX 1024          /* bytes of an operator's note */
#define DIR_CASE_MEMBERS_MAX 64    /* records in one case */
#define DIR_LEGACY_CREDS_MAX 16    /* legacy credentials a person may carry */

enum dir_case_state {
	DIR_CASE_OPEN = 0,     /* waiting for an operator */
	DIR_CASE_MERGED,       /* the records were joined to one person (merged_uid) */
	DIR_CASE_SEPARATE,     /* the records are different people: never joined */
	DIR_CASE_REJECTED,     /* the records are junk: never imported */
};

/* "open", "merged", "separate", "rejected" (never NULL). */
const char *dir_case_state_str(enum dir_case_state s);

/* Parses the names above. 0 or YH_ERR_INVALID. */
int dir_case_state_parse(const char *s, enum dir_case_state *out) YH_WUR;

/* A review case. body is JSON text (the records, their candidates, the evidence: see
 * identity/review.h), stored sealed by the vault since it holds ID numbers and phones. */
struct dir_case {
	char id[DIR_CASE_ID_LEN + 1];
	char *reason;          /* idmerge's reason code (docs/idmerge.md) */
	enum dir_case_state state;
	char *body;
	int64_t created;
	char *decided_by;      /* who decided, or NULL while open */
	char *note;            /* why, or NULL */
	int64_t decided_at;    /* 0 while open */
	char merged_uid[DIR_UID_LEN + 1];  /* the person a merge joined to; "" otherwise */
	int64_t used;          /* when a login first used the merged person; 0: not yet */
	bool created_person;   /* the merge made that person (dir_case_merge_new) */
};

/* A record of a case: its legacy account (borrowed strings). */
struct dir_case_member {
	const char *source;
	const char *legacy_id;
};

/* A legacy account a merge links to the person, with its legacy password (scheme NULL:
 * none; never "plain"). Borrowed strings. */
struct dir_case_link {
	const char *source, *legacy_id, *username;
	enum dir_status status;
	const char *scheme, *hash, *salt;
	bool primary;          /* dir_case_merge_new: its password becomes the person's own */
};

/* True when id has the form of a case id. */
bool dir_case_id_valid(const char *id);

/*
 * Opens case c (id, reason, body; the rest is ignored: a new case is open) with its n
 * records (1..DIR_CASE_MEMBERS_MAX) in one transaction. Returns 0; YH_ERR_EXISTS when a
 * case of that id is already stored (whatever its state: importing twice opens nothing
 * twice, and a decided case stays decided); YH_ERR_CONFLICT when one of the records is
 * in another case already (its id into other, may be NULL), nothing written;
 * YH_ERR_INVALID, YH_ERR_TOO_LONG, YH_ERR_DB.
 */
int dir_case_add(struct dir *d, const struct dir_case *c, const struct dir_case_member *m,
    size_t n, char other[DIR_CASE_ID_LEN + 1]) YH_WUR;

/* Reads a case (its body opened). YH_ERR_NOT_FOUND, YH_ERR_INVALID (not a case id). */
int dir_case_get(struct dir *d, const char *id, struct dir_case *out) YH_WUR;

/*
 * Lists up to limit (1..DIR_LIST_MAX) cases in id order after `after` ("" first), of
 * state *state (NULL: any) and reason (NULL: any). *out is malloc'd (NULL when none);
 * free with dir_case_list_free.
 */
int dir_case_list(struct dir *d, const enum dir_case_state *state, const char *reason,
    const char *after, size_t limit, struct dir_case **out, size_t *n) YH_WUR;

/*
 * Decides the open case id as a merge into the person uid: in one transaction, links
 * the n accounts to uid (each with its legacy password, checked at login after the
 * person's own: dir_legacy_cred_verify), and records the decision (by, note). Returns
 * 0; YH_ERR_NOT_FOUND (no such case or person); YH_ERR_EXISTS (the case is decided
 * already); YH_ERR_DENIED (the person is deregistered); YH_ERR_CONFLICT (an account is linked to somebody already); YH_ERR_INVALID,
 * YH_ERR_TOO_LONG; nothing written on error.
 */
int dir_case_merge(struct dir *d, const char *id, const char *uid,
    const struct dir_case_link *l, size_t n, const char *by, const char *note) YH_WUR;

/*
 * As dir_case_merge, but the person is made from p in the same transaction (p->uid set;
 * the fields as dir_person_add takes them): for records that conflict under one number
 * and turn out to be one person. The link marked primary gives the person their own
 * password; the others' stay legacy passwords. An undo removes the person again.
 * Errors as dir_case_merge, and YH_ERR_CONFLICT when the ID number, username or uid is
 * taken (join the records to that person with dir_case_merge instead).
 */
int dir_case_merge_new(struct dir *d, const char *id, const struct dir_person *p,
    const struct dir_case_link *l, size_t n, const char *by, const char *note) YH_WUR;

/*
 * As dir_case_merge for an organizations' case (records that are one organization
 * after all): the n accounts are linked to an organization, in one transaction with
 * the decision. With o NULL they join the organization uid, which must be active;
 * with o set, the organization is made from it first (its fields as dir_org_add takes
 * them; o->uid "" gets a new uid), the link marked primary giving it its own password,
 * and an undo removes it again (refused, YH_ERR_DENIED, once it holds a relation).
 * The organization's uid goes to uid_out (may be NULL). Errors as dir_case_merge, and
 * YH_ERR_CONFLICT when the credit code, organization code or uid of o is taken.
 */
int dir_case_merge_org(struct dir *d, const char *id, const struct dir_org *o,
    const char *uid, const struct dir_case_link *l, size_t n, const char *by,
    const char *note, char *uid_out) YH_WUR;

/* Decides the open case id as DIR_CASE_SEPARATE or DIR_CASE_REJECTED (by, note
 * required). Errors as dir_case_merge; YH_ERR_INVALID for another state. */
int dir_case_decide(struct dir *d, const char *id, enum dir_case_state st, const char *by,
    const char *note) YH_WUR;

/*
 * Takes the decision on case id back and opens it again, in one transaction; a merge
 * is undone by removing the links and legacy passwords it added. Returns 0;
 * YH_ERR_NOT_FOUND; YH_ERR_INVALID (the case is open: nothing to undo); YH_ERR_DENIED
 * (a login has used the merged person since: see dir_case_note_login).
 */
int dir_case_undo(struct dir *d, const char *id) YH_WUR;

/* Records that a login used the person uid: a merge into uid can no longer be undone.
 * Writes only when such a merge exists. 0, YH_ERR_INVALID, YH_ERR_DB. */
int dir_case_note_login(struct dir *d, const char *uid) YH_WUR;

/*
 * Checks password against the legacy passwords merges brought to owner_uid (at most
 * DIR_LEGACY_CREDS_MAX, legacy schemes: microseconds each). Returns 0 when one matches;
 * YH_ERR_AUTH when none does; YH_ERR_NOT_FOUND when there is none; YH_ERR_DB, YH_ERR_ALLOC.
 */
int dir_legacy_cred_verify(struct dir *d, const char *owner_uid, const char *password,
    size_t len) YH_WUR;

/* Frees the strings of *c and zeroes it; the list variant also frees the array. */
void dir_case_clear(struct dir_case *c);
void dir_case_list_free(struct dir_case *a, size_t n);

/* ---- re-keying (idmerge rekey) ---- */

/* An entity: a person's or an organization's uid. */
struct dir_entity {
	char uid[DIR_UID_LEN + 1];
	bool org;                 /* an organization; else a person */
};

/*
 * Lists up to limit (1..DIR_LIST_MAX) entities whose uid sorts after `after` ("" for the
 * first page), in uid order, into out (the caller's array of limit entries); *n is how
 * many (0 at the end). Paging by uid stays correct while the caller changes uids: an
 * entity given a new uid may be listed once more, none is skipped. Returns 0,
 * YH_ERR_INVALID (a malformed `after`, a limit out of range), YH_ERR_DB.
 */
int dir_entity_list(struct dir *d, const char *after, size_t limit, struct dir_entity *out,
    size_t *n) YH_WUR;

/* An entity's uid and the uid it is to have, with the subject pins (a person only) to
 * record under the new uid: the subs the old uid gave (pins borrowed; npins 0 for
 * none, at most DIR_PINS_MAX). */
struct dir_rekey {
	char old_uid[DIR_UID_LEN + 1];
	char new_uid[DIR_UID_LEN + 1];
	const struct dir_subject_pin *pins;
	size_t npins;
};

/*
 * Gives each of the n entities pairs[i].old_uid the uid pairs[i].new_uid, and with it
 * every record that refers to it: the person or organization, its verification history,
 * the organizations it is the legal representative of, its relations (as the person, as
 * the organization, and granted_by when that names it), the organization history (its
 * own, and the values naming it), legacy account links, credential, TOTP seed, consents
 * and subject pins; then records pairs[i].pins under the new uid, except for a sector the
 * entity already had a pin for (moved along from the old uid): a pin keeps the first,
 * original sub through any number of re-keys. All n in one transaction: afterwards no
 * record refers to an old uid, or on error nothing changed. Sessions, tokens and audit
 * lines holding an old uid are not the directory's (docs/idmerge.md). Not in bulk mode.
 * Returns 0, YH_ERR_INVALID (a malformed uid, an old uid equal to its new one, n outside
 * 1..DIR_LIST_MAX, a malformed pin), YH_ERR_TOO_LONG, YH_ERR_NOT_FOUND (no entity
 * old_uid, or pins for an organization), YH_ERR_EXISTS (a new uid is taken), YH_ERR_BUSY
 * (bulk mode is on), YH_ERR_DB.
 */
int dir_uid_rekey(struct dir *d, const struct dir_rekey *pairs, size_t n) YH_WUR;

#endif
