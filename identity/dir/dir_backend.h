/*
 * Internal to the directory: the operations a backend implements. dir.c validates and
 * canonicalizes every field, seals personal data and computes blind indexes; a
 * backend only stores and finds records, enforcing uniqueness (ID number index,
 * username, credit code, organization code, (source, legacy id), uids) and
 * referential integrity (NOT_FOUND when a referenced entity is missing).
 *
 * Records are the public structs with one difference: in a person record,
 * p.id_number and p.phone hold the SEALED strings (vault_seal output), and the blind
 * indexes travel next to them. Every operation is one entity at a time so that an
 * LDAP backend can map it to one search or one modify.
 *
 * Every function returns 0 or a negative YH_ERR_*; out-params are filled only on 0.
 *
 * Backends register in backends.c ({"sqlite", dir_sqlite_open, &dir_sqlite_ops}) and
 * dir.c finds the configured one there: it names no backend itself.
 */
#ifndef YH_IDENTITY_DIR_BACKEND_H
#define YH_IDENTITY_DIR_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "identity/dir/dir.h"
#include "identity/identity_config.h"
#include "identity/vault/vault.h"

struct dir_person_rec {
	struct dir_person p;   /* p.id_number, p.phone: sealed strings (phone may be NULL) */
	char id_index[VAULT_BLIND_HEX_LEN + 1];
	char phone_index[VAULT_BLIND_HEX_LEN + 1];   /* "" when no phone */
	/* person_add only: a first credential stored with the person, all or nothing
	 * (NULL scheme: none). */
	const char *cred_scheme, *cred_hash;
	/* person_add only: its privacy consents, in the same transaction */
	const struct dir_privacy *consents;
	size_t nconsents;
};

/* How person_find looks a person up. */
enum dir_pkey {
	DIR_PK_UID,
	DIR_PK_ID_INDEX,
	DIR_PK_PHONE_INDEX,       /* verified phones only; several matches: YH_ERR_CONFLICT */
	DIR_PK_USERNAME,
	DIR_PK_LEGACY_USERNAME,   /* source narrows it (NULL = any); several: CONFLICT */
};

enum dir_okey { DIR_OK_UID, DIR_OK_USCC, DIR_OK_ORG_CODE };

struct dir_totp_rec {
	char *seed_sealed;   /* hex seed sealed by the vault */
	bool confirmed;
	int64_t last_step;
	int64_t created;
};

/* A subject pin as subject_pin_list returns it (malloc'd strings). */
struct dir_pin_rec {
	char *sector, *sub;
};

struct dir_ops {
	const char *name;
	/* Where the store is, for messages (a file path, a server URL). */
	const char *(*where)(void *be);
	void (*close)(void *be);
	int (*ping)(void *be, char *why, size_t whysz);  /* why: see dir_ping */
	int (*bulk)(void *be, bool begin);
	/* Store-wide settings (schema and key bookkeeping). NOT_FOUND when unset. */
	int (*meta_get)(void *be, const char *key, char **val);
	int (*meta_set)(void *be, const char *key, const char *val);
	/* The settings whose key starts with prefix, at most max: keys and values as
	 * malloc'd strings in two malloc'd arrays of *n (none: NULL, 0). */
	int (*meta_list)(void *be, const char *prefix, size_t max, char ***keys,
	    char ***vals, size_t *n);

	int (*person_add)(void *be, const struct dir_person_rec *r);
	int (*privacy_list)(void *be, const char *uid, struct dir_privacy **out, size_t *n);
	/* Replaces name, phone (sealed + index + verified flag), email, username, updated. */
	int (*person_update)(void *be, const struct dir_person_rec *r);
	int (*person_find)(void *be, enum dir_pkey by, const char *key, const char *source,
	    struct dir_person_rec *out);
	int (*person_set_status)(void *be, const char *uid, enum dir_status st, int64_t now);
	/* Persons by exact name (dir_person_find_name); a person's verification history
	 * (dir_person_loa_history). */
	/* key: a folded name fragment (dir_name_key), 1..DIR_NAME_KEY_MAX bytes */
	int (*person_search_name)(void *be, const char *key, size_t limit,
	    struct dir_entity *out, size_t *n);
	int (*person_find_name)(void *be, const char *name, size_t limit,
	    struct dir_entity *out, size_t *n);
	int (*org_find_name)(void *be, const char *name, size_t limit,
	    struct dir_entity *out, size_t *n);
	int (*person_loa_history)(void *be, const char *uid, struct dir_loa **out,
	    size_t *n);
	/* Persons deregistered before `before`, uid above after (dir_person_tombstones). */
	int (*person_tombstones)(void *be, int64_t before, const char *after, size_t limit,
	    struct dir_tombstone *out, size_t *n);
	/* Erases a person deregistered before `before` in one transaction (dir_person_purge). */
	int (*person_purge)(void *be, const char *uid, int64_t before);
	int (*person_set_loa)(void *be, const char *uid, const struct dir_loa *v,
	    bool raise_only, int64_t now, bool *applied);
	int (*person_list)(void *be, uint64_t offset, size_t limit,
	    struct dir_person_rec **out, size_t *n);
	int (*person_count)(void *be, uint64_t *out);

	/* Organizations: every write also appends to the organization's history (actor,
	 * at o->updated or now) in its transaction. org_add stores o and, when
	 * o->legal_rep_uid is set, its legal_rep relation. */
	int (*org_add)(void *be, const struct dir_org *o, const char *actor);
	/* Replaces name, kind, legal_rep_uid, authority, established, uscc, updated; a
	 * history entry per changed field; a changed legal representative ends the
	 * unrevoked legal_rep relation and begins one for the new (if any). NOT_FOUND. */
	int (*org_update)(void *be, const struct dir_org *o, const char *actor);
	int (*org_find)(void *be, enum dir_okey by, const char *key, struct dir_org *out);
	int (*org_set_status)(void *be, const char *uid, enum dir_status st, int64_t now,
	    const char *actor);
	/* Organizations closed before `before`, uid above after (dir_org_tombstones). */
	int (*org_tombstones)(void *be, int64_t before, const char *after, size_t limit,
	    struct dir_tombstone *out, size_t *n);
	/* Erases an organization closed before `before` in one transaction (dir_org_purge). */
	int (*org_purge)(void *be, const char *uid, int64_t before);
	int (*org_list)(void *be, uint64_t offset, size_t limit, struct dir_org **out,
	    size_t *n);
	int (*org_history)(void *be, const char *uid, struct dir_org_change **out, size_t *n);

	/* Relations. mandate_add: EXISTS also when the person holds an unrevoked relation
	 * of that role for the organization that has not expired at m->created. */
	int (*mandate_add)(void *be, const struct dir_mandate *m, const char *actor);
	int (*mandate_get)(void *be, const char *id, struct dir_mandate *out);
	/* All relations of the person (or org, by_org), or with current_at > 0 the current
	 * ones then (struct dir_mandate: statuses included). */
	int (*mandate_list)(void *be, bool by_org, const char *uid, int64_t current_at,
	    struct dir_mandate **out, size_t *n);
	int (*mandate_revoke)(void *be, const char *id, int64_t at, const char *actor);
	/* Revokes every unrevoked relation of role the person holds for the org; *ended
	 * says how many (NOT_FOUND for none). */
	int (*mandate_end)(void *be, const char *org_uid, const char *person_uid,
	    const char *role, int64_t at, const char *actor, size_t *ended);

	int (*legacy_add)(void *be, const struct dir_legacy *l);
	int (*legacy_get)(void *be, const char *source, const char *legacy_id,
	    struct dir_legacy *out);
	int (*legacy_list)(void *be, const char *owner, struct dir_legacy **out, size_t *n);
	int (*legacy_find_username)(void *be, const char *username, const char *source,
	    char owner[DIR_UID_LEN + 1]);
	int (*legacy_remove)(void *be, const char *source, const char *legacy_id);
	/* The owner's active link in source (the least legacy id when there are several). */
	int (*legacy_of_owner)(void *be, const char *owner, const char *source,
	    struct dir_legacy *out);

	int (*cred_get)(void *be, const char *owner, struct dir_cred *out);
	int (*cred_set)(void *be, const char *owner, const char *scheme, const char *hash,
	    const char *salt, int64_t now);

	int (*totp_set)(void *be, const char *owner, const char *seed_sealed, bool confirmed,
	    int64_t now);
	int (*totp_confirm)(void *be, const char *owner);
	int (*totp_get)(void *be, const char *owner, struct dir_totp_rec *out);
	/* 0 and stores step when step > last_step; YH_ERR_REPLAY otherwise. */
	int (*totp_consume)(void *be, const char *owner, int64_t step);
	int (*totp_delete)(void *be, const char *owner);

	/* Consents: one record per (owner, client) holding a set of scope names. get
	 * fills c->scopes (sorted, space-separated) and the times; NOT_FOUND when none. */
	int (*consent_get)(void *be, const char *owner, const char *client,
	    struct dir_consent *out);
	/* Adds the n scope names to the set, atomically (a union); NOT_FOUND when the
	 * owner is not a person. */
	int (*consent_add)(void *be, const char *owner, const char *client,
	    const char *const *scopes, size_t n, int64_t now);
	int (*consent_list)(void *be, const char *owner, struct dir_consent **out,
	    size_t *n);
	/* NOT_FOUND when nothing was recorded. */
	int (*consent_remove)(void *be, const char *owner, const char *client);

	/* Subject pins: records the n pins of the person uid in one transaction, keeping
	 * a pin already there for a sector (NOT_FOUND when uid is not a person); finds the
	 * pin of (uid, sector) (NOT_FOUND when none). */
	int (*subject_pin_add)(void *be, const char *uid, const struct dir_subject_pin *pins,
	    size_t n);
	int (*subject_pin_find)(void *be, const char *uid, const char *sector,
	    char sub[DIR_SUB_MAX + 1]);
	/* Every pin of the person uid, in sector order (none: *out NULL, *n 0), for
	 * dir_copy; free with dir_pin_list_free. */
	int (*subject_pin_list)(void *be, const char *uid, struct dir_pin_rec **out, size_t *n);

	/* Entities with a uid above after, in uid order, at most limit (dir_entity_list). */
	int (*entity_list)(void *be, const char *after, size_t limit, struct dir_entity *out,
	    size_t *n);
	/* Moves every record of each old uid to its new uid and records each pair's pins
	 * under the new uid (keeping the pins moved along), all in one transaction
	 * (dir_uid_rekey); YH_ERR_BUSY in bulk mode. */
	int (*uid_rekey)(void *be, const struct dir_rekey *pairs, size_t n);
	/* Review cases (dir_case_*): c->body and out->body hold the SEALED body; the
	 * backend checks the state in the transaction that changes it. */
	int (*case_add)(void *be, const struct dir_case *c, const struct dir_case_member *m,
	    size_t n, char other[DIR_CASE_ID_LEN + 1]);
	int (*case_get)(void *be, const char *id, struct dir_case *out);
	int (*case_list)(void *be, const char *state, const char *reason, const char *after,
	    size_t limit, struct dir_case **out, size_t *n);
	/* create: the person to make first (NULL: uid exists) */
	int (*case_merge)(void *be, const char *id, const char *uid,
	    const struct dir_person_rec *create, const struct dir_case_link *l, size_t n,
	    const char *by, const char *note, int64_t now);
	/* An organizations' case: create the organization to make first (NULL: uid
	 * exists and must be active) */
	int (*case_merge_org)(void *be, const char *id, const char *uid,
	    const struct dir_org *create, const struct dir_case_link *l, size_t n,
	    const char *by, const char *note, int64_t now);
	int (*case_decide)(void *be, const char *id, const char *state, const char *by,
	    const char *note, int64_t now);
	int (*case_undo)(void *be, const char *id);
	int (*case_note_login)(void *be, const char *uid, int64_t now);
	/* The console permissions of a staff relation (dir_console_*): perms the
	 * canonical text, NULL to remove; get: "" when none. */
	int (*console_set)(void *be, const char *mandate_id, const char *perms,
	    const char *by, int64_t now);
	int (*console_get)(void *be, const char *mandate_id,
	    char perms[DIR_CONSOLE_PERMS_MAX + 1]);
	/* The person an upstream's subject logged in as (dir_upstream_link_*): add:
	 * YH_ERR_EXISTS when the pair is linked; get: YH_ERR_NOT_FOUND when not. */
	int (*ulink_add)(void *be, const char *upstream, const char *sub, const char *uid,
	    int64_t now);
	int (*ulink_get)(void *be, const char *upstream, const char *sub,
	    char uid[DIR_UID_LEN + 1]);
	/* uid's upstream links (for dir_copy), a malloc'd array; YH_ERR_LIMIT when the
	 * person holds more than DIR_UPSTREAM_LINKS_MAX. */
	int (*ulink_list)(void *be, const char *uid, struct dir_upstream_link **out,
	    size_t *n);
	/* Certificates bound to a person (dir_cert_*): bind: YH_ERR_EXISTS when the id is
	 * bound, YH_ERR_NOT_FOUND without the person; list: at most DIR_CERT_BINDINGS_MAX,
	 * oldest first; unbind: YH_ERR_NOT_FOUND when uid holds no such id. */
	int (*cert_bind)(void *be, const struct dir_cert_binding *b);
	int (*cert_list)(void *be, const char *uid, struct dir_cert_binding **out, size_t *n);
	int (*cert_unbind)(void *be, const char *uid, const char *id);
	/* For dir_copy: an organization as the source holds it (status, times, legal
	 * representative) with its history entries and relations as they are (ids,
	 * revocations), nothing added (YH_ERR_EXISTS when its uid, code or credit code is
	 * there); and n verification events appended to a person's history as not applied
	 * here (the person's level came with the person). */
	int (*org_import)(void *be, const struct dir_org *o, const struct dir_org_change *h,
	    size_t nh, const struct dir_mandate *m, size_t nm);
	int (*loa_import)(void *be, const char *uid, const struct dir_loa *v, size_t n);
	/* The legacy passwords merges brought to owner (at most DIR_LEGACY_CREDS_MAX). */
	int (*legacy_cred_list)(void *be, const char *owner, struct dir_cred **out,
	    size_t *n);
};

/*
 * A backend as directory.backend names it: open makes its state *be for the store cfg
 * describes (with create: creates an empty one), err receiving one line; ops is what
 * dir.c calls with that state. backends.c lists them.
 */
struct dir_backend {
	const char *name;
	int (*open)(const struct ident_cfg *cfg, bool create, void **be, char *err,
	    size_t errsz);
	const struct dir_ops *ops;
};

/* The backend called name (directory.backend), or NULL when none is built in. */
const struct dir_backend *dir_backend_find(const char *name);

/* Frees an array of pins and their strings (NULL is fine). */
void dir_pin_list_free(struct dir_pin_rec *a, size_t n);

/* Frees the strings of a record and zeroes it (the sealed strings are not secret). */
void dir_person_rec_clear(struct dir_person_rec *r);

/* The folded name that name search matches (identity/match/matchkey.h mk_name_key:
 * width, spaces, middle dots, Latin case, traditional characters to simplified) into
 * out (DIR_NAME_KEY_MAX + 1 bytes); "" for a name that folds to nothing. Both backends
 * store it beside the name. */
void dir_name_key(const char *name, char out[DIR_NAME_KEY_MAX + 1]);

/* Frees the strings of one history entry and zeroes it (dir_org_history_free frees an
 * array of them). NULL is fine. */
void dir_org_change_clear(struct dir_org_change *c);

#endif
