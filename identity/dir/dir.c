/*
 * The directory front end: validates and canonicalizes fields, seals personal data
 * and computes blind indexes with the vault, and hands records to the backend
 * (dir_backend.h) that directory.backend names (backends.c). Also ident_open (identity.h), which opens the vault and the
 * directory together.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/timeutil.h"
#include "common/utf8.h"
#include "identity/dir/dir_backend.h"
#include "identity/identity.h"
#include "identity/identity_config.h"
#include "identity/idn/idnum.h"
#include "identity/match/matchkey.h"
#include "identity/passwd/passwd.h"
#include "identity/vault/vault.h"

#define DIR_LOGIN_MASKED_MAX 64   /* bytes of a name kept by dir_login_masked */

struct dir {
	const struct dir_ops *ops;
	void *be;
	struct vault *vault;
};

/* What a login identifier is read as (dir_login_parse). */
enum dir_login_kind {
	DIR_LOGIN_ID_NUMBER,   /* a valid resident ID number */
	DIR_LOGIN_PHONE,       /* a phone number (mk_phone_key folds it) */
	DIR_LOGIN_NAME,        /* anything else: a username or a legacy username */
};

#define DIR_LOGIN_KEY_MAX 32   /* bytes of dir_login_parse's key, NUL included */

#define DIR_DOMAIN_TOTP "totp"
#define DIR_DOMAIN_CHECK "keycheck"
#define DIR_KEY_CHECK_TEXT "yihao directory key check"
#define PHONE_KEY_MAX 32

/* ---- small helpers ---- */

bool
dir_uid_valid(const char *s)
{
	if (s == NULL || strlen(s) != DIR_UID_LEN)
		return false;
	for (size_t i = 0; i < DIR_UID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Fills out (DIR_UID_LEN + 1 bytes) with a fresh random uid. 0 or YH_ERR_CRYPTO. */
static int
dir_uid_new(char out[DIR_UID_LEN + 1])
{
	unsigned char raw[DIR_UID_LEN / 2];

	out[0] = '\0';
	if (yh_random(raw, sizeof(raw)) != 0)
		return YH_ERR_CRYPTO;
	yh_hex_encode(raw, sizeof(raw), out);
	return 0;
}

static bool
empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

/* A text field: at most max bytes, no NUL or control byte; required or optional. */
static int
check_text(const char *s, size_t max, bool required)
{
	size_t n;
	int r;

	if (empty(s))
		return required ? YH_ERR_INVALID : 0;
	n = strlen(s);
	if ((r = yh_span_check(yh_span_mem(s, n), max)) != 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return YH_ERR_INVALID;
	return 0;
}

static int
check_name(const char *name)
{
	char key[DIR_NAME_MAX * 4 + 1];
	int r;

	if ((r = check_text(name, DIR_NAME_MAX, true)) != 0)
		return r;
	r = mk_name_key(name, strlen(name), key, sizeof(key));
	yh_wipe(key, sizeof(key));
	return r == 0 ? 0 : YH_ERR_INVALID;
}

static int
check_email(const char *e)
{
	const char *at;
	int r;

	if (empty(e))
		return 0;
	if ((r = check_text(e, DIR_EMAIL_MAX, true)) != 0)
		return r;
	if ((at = strchr(e, '@')) == NULL || at == e || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL || strpbrk(e, " \t") != NULL)
		return YH_ERR_INVALID;
	return 0;
}

/* A username must not be taken for an ID number or a phone number by the login form. */
static int
check_username(const char *u)
{
	struct idn_resident idr;
	char key[PHONE_KEY_MAX];
	bool digits = true;
	size_t n;
	int r;

	if (empty(u))
		return 0;
	if ((r = check_text(u, DIR_USERNAME_MAX, true)) != 0)
		return r;
	n = strlen(u);
	for (size_t i = 0; i < n; i++) {
		if (u[i] == ' ' || u[i] == '\t')
			return YH_ERR_INVALID;
		digits = digits && u[i] >= '0' && u[i] <= '9';
	}
	if (digits || idn_resident_check(u, n, &idr) == IDN_OK ||
	    mk_phone_key(u, n, key, sizeof(key)) == 0)
		return YH_ERR_INVALID;
	return 0;
}

static int
check_loa(const struct dir_loa *v)
{
	int r;

	if (v->level < 1 || v->level > 4)
		return YH_ERR_INVALID;
	if ((r = check_text(v->method, DIR_LOA_METHOD_MAX, true)) != 0 ||
	    (r = check_text(v->by, DIR_LOA_BY_MAX, false)) != 0 ||
	    (r = check_text(v->evidence, DIR_EVIDENCE_MAX, false)) != 0)
		return r;
	return 0;
}

/* Canonical resident ID number into out[19]. */
static int
canon_idnum(const char *in, char out[19])
{
	struct idn_resident idr;
	int r = 0;

	out[0] = '\0';
	if (empty(in))
		return YH_ERR_INVALID;
	if (strlen(in) > IDN_INPUT_MAX)
		return YH_ERR_TOO_LONG;
	if (idn_resident_check(in, strlen(in), &idr) != IDN_OK)
		r = YH_ERR_INVALID;
	else
		memcpy(out, idr.canonical, 19);
	yh_wipe(&idr, sizeof(idr));
	return r;
}

static int
canon_phone(const char *in, char out[PHONE_KEY_MAX])
{
	out[0] = '\0';
	if (strlen(in) > 64)
		return YH_ERR_TOO_LONG;
	return mk_phone_key(in, strlen(in), out, PHONE_KEY_MAX) == 0 ? 0 : YH_ERR_INVALID;
}

/* Seals a value and computes its blind index. */
static int
seal_indexed(struct dir *d, const char *domain, const char *value, char **sealed,
    char index[VAULT_BLIND_HEX_LEN + 1])
{
	int r;

	if ((r = vault_seal(d->vault, domain, value, strlen(value), sealed)) != 0)
		return r;
	if ((r = vault_blind(d->vault, domain, value, index)) != 0) {
		free(*sealed);
		*sealed = NULL;
	}
	return r;
}

/* Replaces a sealed string by its plaintext. */
static int
unseal_in_place(struct dir *d, const char *domain, char **slot)
{
	char *pt = NULL;
	int r;

	if (*slot == NULL)
		return 0;
	if ((r = vault_open_value(d->vault, domain, *slot, &pt)) != 0) {
		yh_error("cannot open a sealed %s value: %s", domain, yh_strerror(r));
		return r;
	}
	free(*slot);
	*slot = pt;
	return 0;
}

/* Replaces a sealed string by its plaintext when open is true, else drops it (NULL). */
static int
unseal_or_drop(struct dir *d, bool open, const char *domain, char **slot)
{
	if (open)
		return unseal_in_place(d, domain, slot);
	free(*slot);
	*slot = NULL;
	return 0;
}

/* Turns a backend record into a caller's person, opening the sealed fields named in
 * open (DIR_OPEN_*) and dropping the others. */
static int
rec_to_person(struct dir *d, struct dir_person_rec *rec, unsigned open,
    struct dir_person *out)
{
	int r;

	if ((r = unseal_or_drop(d, (open & DIR_OPEN_ID_NUMBER) != 0, VAULT_DOMAIN_IDNUM,
	    &rec->p.id_number)) != 0 || (r = unseal_or_drop(d, (open & DIR_OPEN_PHONE) != 0,
	    VAULT_DOMAIN_PHONE, &rec->p.phone)) != 0) {
		dir_person_rec_clear(rec);
		return r;
	}
	*out = rec->p;
	memset(rec, 0, sizeof(*rec));
	return 0;
}

/* ---- opening ---- */

/* Records the vault key on first use; refuses another key later. */
static int
key_check(struct dir *d, const char *where, char *err, size_t errsz)
{
	char *kid = NULL, *sealed = NULL, *pt = NULL;
	int r;

	r = d->ops->meta_get(d->be, "vault_kid", &kid);
	if (r == YH_ERR_NOT_FOUND) {
		if ((r = vault_seal(d->vault, DIR_DOMAIN_CHECK, DIR_KEY_CHECK_TEXT,
		    strlen(DIR_KEY_CHECK_TEXT), &sealed)) == 0 &&
		    (r = d->ops->meta_set(d->be, "key_check", sealed)) == 0 &&
		    (r = d->ops->meta_set(d->be, "vault_cipher", vault_cipher(d->vault))) == 0)
			r = d->ops->meta_set(d->be, "vault_kid", vault_kid(d->vault));
		if (r != 0)
			snprintf(err, errsz, "directory %s: cannot record the vault key id: %s",
			    where, yh_strerror(r));
		goto out;
	}
	if (r != 0) {
		snprintf(err, errsz, "directory %s: cannot read the vault key id: %s", where,
		    yh_strerror(r));
		goto out;
	}
	if (strcmp(kid, vault_kid(d->vault)) != 0) {
		snprintf(err, errsz, "the vault key (key id %s) is not the key of directory %s "
		    "(key id %s): wrong vault.key_file?", vault_kid(d->vault), where, kid);
		r = YH_ERR_KEY;
		goto out;
	}
	if ((r = d->ops->meta_get(d->be, "key_check", &sealed)) != 0 ||
	    (r = vault_open_value(d->vault, DIR_DOMAIN_CHECK, sealed, &pt)) != 0 ||
	    strcmp(pt, DIR_KEY_CHECK_TEXT) != 0) {
		snprintf(err, errsz, "the vault key does not open directory %s "
		    "(damaged key file or directory)", where);
		r = YH_ERR_KEY;
	}
out:
	free(kid);
	free(sealed);
	yh_strfree_secret(pt);
	return r;
}

int
dir_open(const struct ident_cfg *cfg, struct vault *v, bool create, struct dir **out,
    char *err, size_t errsz)
{
	const struct dir_backend *b;
	struct dir *d = NULL;
	int r;

	*out = NULL;
	if (cfg == NULL || v == NULL || cfg->directory_backend == NULL) {
		snprintf(err, errsz, "directory: configuration not finished");
		return YH_ERR_CONFIG;
	}
	if ((b = dir_backend_find(cfg->directory_backend)) == NULL) {
		snprintf(err, errsz, "directory.backend: '%s' is not supported",
		    cfg->directory_backend);
		return YH_ERR_UNSUPPORTED;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		snprintf(err, errsz, "out of memory");
		return YH_ERR_ALLOC;
	}
	d->ops = b->ops;
	d->vault = v;
	if ((r = b->open(cfg, create, &d->be, err, errsz)) != 0)
		goto out;
	if ((r = key_check(d, d->ops->where(d->be), err, errsz)) != 0)
		goto out;
	*out = d;
	d = NULL;
out:
	dir_close(d);
	return r;
}

void
dir_close(struct dir *d)
{
	if (d == NULL)
		return;
	if (d->be != NULL)
		d->ops->close(d->be);
	free(d);
}

int
dir_ping(struct dir *d, char *why, size_t whysz)
{
	char scratch[8];

	if (why == NULL || whysz == 0) {
		why = scratch;
		whysz = sizeof(scratch);
	}
	why[0] = '\0';
	return d->ops->ping(d->be, why, whysz);
}

const char *
dir_backend_name(const struct dir *d)
{
	return d->ops->name;
}

int
dir_bulk_begin(struct dir *d)
{
	return d->ops->bulk(d->be, true);
}

int
dir_bulk_end(struct dir *d)
{
	return d->ops->bulk(d->be, false);
}

/* ---- persons ---- */

/* Checks the mutable fields of a person and fills the record's name, phone (sealed,
 * with its verified flag), email and username. */
static int
person_fields(struct dir *d, const struct dir_person *in, struct dir_person_rec *rec)
{
	char phone[PHONE_KEY_MAX];
	int r;

	if ((r = check_name(in->name)) != 0 || (r = check_email(in->email)) != 0 ||
	    (r = check_username(in->username)) != 0)
		return r;
	rec->p.name = in->name;
	rec->p.email = empty(in->email) ? NULL : in->email;
	rec->p.username = empty(in->username) ? NULL : in->username;
	if (empty(in->phone))
		return 0;
	rec->p.phone_verified = in->phone_verified;
	if ((r = canon_phone(in->phone, phone)) == 0)
		r = seal_indexed(d, VAULT_DOMAIN_PHONE, phone, &rec->p.phone, rec->phone_index);
	yh_wipe(phone, sizeof(phone));
	return r;
}

/* Checks a credential as dir_cred_set stores it. */
static int
check_cred(const char *scheme, const char *hash, const char *salt)
{
	int r;

	if (scheme == NULL || !pw_scheme_valid(scheme))
		return YH_ERR_UNSUPPORTED;
	if (!pw_scheme_storable(scheme))
		return YH_ERR_DENIED;
	if ((r = check_text(hash, PW_HASH_MAX, true)) != 0 ||
	    (r = check_text(salt, PW_SALT_MAX, false)) != 0)
		return r;
	return 0;
}

int
dir_person_add(struct dir *d, const struct dir_person *in, char *uid_out)
{
	return dir_person_add_cred(d, in, NULL, NULL, uid_out);
}

int
dir_person_add_cred(struct dir *d, const struct dir_person *in, const char *scheme,
    const char *hash, char *uid_out)
{
	return dir_person_add_consented(d, in, scheme, hash, NULL, 0, uid_out);
}

/* Printable ASCII, 1..max bytes. */
static bool
privacy_word_ok(const char *s, size_t max)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > max)
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

static bool
privacy_ok(const struct dir_privacy *c)
{
	const char *h = c->notice_sha256;

	if (!privacy_word_ok(c->purpose, 64) || !privacy_word_ok(c->via, 64) ||
	    !privacy_word_ok(c->notice_version, DIR_PRIVACY_VERSION_MAX) || h == NULL ||
	    strlen(h) != 64 || c->at < 0)
		return false;
	for (; *h != '\0'; h++)
		if (!((*h >= '0' && *h <= '9') || (*h >= 'a' && *h <= 'f')))
			return false;
	return true;
}

/* Builds the backend record of a new person from in (the ID number and phone sealed
 * into rec->p, which the caller frees with person_rec_free, also on error). */
static int
person_rec_make(struct dir *d, const struct dir_person *in, struct dir_person_rec *rec,
    int64_t now)
{
	char idnum[19];
	int r;

	if (!empty(in->uid) && !dir_uid_valid(in->uid))
		return YH_ERR_INVALID;
	if (in->loa.level != 0 && (r = check_loa(&in->loa)) != 0)
		return r;
	if ((unsigned)in->status > DIR_STATUS_DEREGISTERED)
		return YH_ERR_INVALID;
	if (in->origin != NULL && !dir_origin_ok(in->origin))
		return YH_ERR_INVALID;
	if ((r = canon_idnum(in->id_number, idnum)) != 0)
		return r;
	if ((r = person_fields(d, in, rec)) != 0 ||
	    (r = seal_indexed(d, VAULT_DOMAIN_IDNUM, idnum, &rec->p.id_number,
	    rec->id_index)) != 0)
		goto out;
	if (empty(in->uid))
		r = dir_uid_new(rec->p.uid);
	else
		r = yh_strlcpy(rec->p.uid, in->uid, sizeof(rec->p.uid));
	if (r != 0)
		goto out;
	rec->p.loa = in->loa;
	if (in->loa.level == 0) {
		rec->p.loa.level = 1;
		rec->p.loa.method = (char *)"self";
		rec->p.loa.by = rec->p.loa.evidence = NULL;
	}
	rec->p.loa.at = in->loa.at != 0 ? in->loa.at : now;
	rec->p.status = in->status;
	rec->p.origin = in->origin;
	rec->p.created = in->created != 0 ? in->created : now;
	rec->p.updated = now;
out:
	yh_wipe(idnum, sizeof(idnum));
	return r;
}

/* Frees what person_rec_make sealed. */
static void
person_rec_free(struct dir_person_rec *rec)
{
	free(rec->p.id_number);
	free(rec->p.phone);
	rec->p.id_number = rec->p.phone = NULL;
}

int
dir_person_add_consented(struct dir *d, const struct dir_person *in, const char *scheme,
    const char *hash, const struct dir_privacy *consents, size_t n, char *uid_out)
{
	struct dir_person_rec rec;
	int r;

	memset(&rec, 0, sizeof(rec));
	if (uid_out != NULL)
		uid_out[0] = '\0';
	if ((scheme != NULL || hash != NULL) && (r = check_cred(scheme, hash, NULL)) != 0)
		return r;
	rec.cred_scheme = scheme;
	rec.cred_hash = hash;
	if (n > DIR_PRIVACY_MAX || (n > 0 && consents == NULL))
		return YH_ERR_INVALID;
	for (size_t i = 0; i < n; i++)
		if (!privacy_ok(&consents[i]))
			return YH_ERR_INVALID;
	rec.consents = consents;
	rec.nconsents = n;
	if ((r = person_rec_make(d, in, &rec, yh_now())) == 0 &&
	    (r = d->ops->person_add(d->be, &rec)) == 0 && uid_out != NULL)
		memcpy(uid_out, rec.p.uid, DIR_UID_LEN + 1);
	person_rec_free(&rec);
	return r;
}

int
dir_privacy_list(struct dir *d, const char *uid, struct dir_privacy **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!dir_uid_valid(uid))
		return YH_ERR_INVALID;
	return d->ops->privacy_list(d->be, uid, out, n);
}

int
dir_person_update(struct dir *d, const struct dir_person *in)
{
	struct dir_person_rec rec;
	int r;

	memset(&rec, 0, sizeof(rec));
	if (!dir_uid_valid(in->uid))
		return YH_ERR_INVALID;
	if ((r = person_fields(d, in, &rec)) == 0) {
		memcpy(rec.p.uid, in->uid, sizeof(rec.p.uid));
		rec.p.updated = yh_now();
		r = d->ops->person_update(d->be, &rec);
	}
	free(rec.p.phone);
	return r;
}

/* Runs a backend find and opens the result's sealed fields named in open. */
static int
person_find_opened(struct dir *d, enum dir_pkey by, const char *key, const char *source,
    unsigned open, struct dir_person *out)
{
	struct dir_person_rec rec;
	int r;

	memset(&rec, 0, sizeof(rec));
	if ((r = d->ops->person_find(d->be, by, key, source, &rec)) != 0)
		return r;
	return rec_to_person(d, &rec, open, out);
}

/* Runs a backend find and opens the result. */
static int
person_find(struct dir *d, enum dir_pkey by, const char *key, const char *source,
    struct dir_person *out)
{
	return person_find_opened(d, by, key, source, DIR_OPEN_ALL, out);
}

int
dir_person_get(struct dir *d, const char *uid, struct dir_person *out)
{
	return dir_person_get_opened(d, uid, DIR_OPEN_ALL, out);
}

int
dir_person_get_opened(struct dir *d, const char *uid, unsigned open,
    struct dir_person *out)
{
	memset(out, 0, sizeof(*out));
	if (!dir_uid_valid(uid))
		return YH_ERR_NOT_FOUND;
	return person_find_opened(d, DIR_PK_UID, uid, NULL, open, out);
}

int
dir_person_find_id_number(struct dir *d, const char *id_number, struct dir_person *out)
{
	char idnum[19], index[VAULT_BLIND_HEX_LEN + 1];
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = canon_idnum(id_number, idnum)) == 0 &&
	    (r = vault_blind(d->vault, VAULT_DOMAIN_IDNUM, idnum, index)) == 0)
		r = person_find(d, DIR_PK_ID_INDEX, index, NULL, out);
	yh_wipe(idnum, sizeof(idnum));
	return r;
}

int
dir_person_find_phone(struct dir *d, const char *phone, struct dir_person *out)
{
	char key[PHONE_KEY_MAX], index[VAULT_BLIND_HEX_LEN + 1];
	int r;

	memset(out, 0, sizeof(*out));
	if (empty(phone))
		return YH_ERR_INVALID;
	if ((r = canon_phone(phone, key)) == 0 &&
	    (r = vault_blind(d->vault, VAULT_DOMAIN_PHONE, key, index)) == 0)
		r = person_find(d, DIR_PK_PHONE_INDEX, index, NULL, out);
	yh_wipe(key, sizeof(key));
	return r;
}

int
dir_person_find_username(struct dir *d, const char *username, struct dir_person *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = check_text(username, DIR_USERNAME_MAX, true)) != 0)
		return r == YH_ERR_TOO_LONG ? YH_ERR_NOT_FOUND : r;
	return person_find(d, DIR_PK_USERNAME, username, NULL, out);
}

int
dir_person_find_legacy_username(struct dir *d, const char *username, const char *source,
    struct dir_person *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = check_text(username, DIR_LEGACY_FIELD_MAX, true)) != 0 ||
	    (source != NULL && (r = check_text(source, DIR_SOURCE_MAX, true)) != 0))
		return r;
	return person_find(d, DIR_PK_LEGACY_USERNAME, username, source, out);
}

/*
 * How dir_person_find_login reads an identifier of len bytes (trimmed): a resident ID
 * number in any spelling idn_resident_check accepts (key: the canonical number), else a
 * phone number in any spelling mk_phone_key folds (key: the phone key), else a name (key
 * ""). The one place that decides it, for the lookup and for whoever must mask what a
 * person typed (the audit trail). key holds personal data: wipe it after use.
 */
static enum dir_login_kind
dir_login_parse(const char *id, size_t len, char key[DIR_LOGIN_KEY_MAX])
{
	struct idn_resident idr;
	enum dir_login_kind k = DIR_LOGIN_NAME;

	key[0] = '\0';
	if (idn_resident_check(id, len, &idr) == IDN_OK) {
		memcpy(key, idr.canonical, sizeof(idr.canonical));
		k = DIR_LOGIN_ID_NUMBER;
	} else if (mk_phone_key(id, len, key, DIR_LOGIN_KEY_MAX) == 0)
		k = DIR_LOGIN_PHONE;
	yh_wipe(&idr, sizeof(idr));
	return k;
}

int
dir_person_find_login(struct dir *d, const char *identifier, struct dir_person *out)
{
	char key[DIR_LOGIN_KEY_MAX], *id = NULL;
	struct yh_span sp;
	int r;

	memset(out, 0, sizeof(*out));
	if (identifier == NULL)
		return YH_ERR_INVALID;
	sp = yh_span_trim(yh_span_cstr(identifier));
	if ((r = yh_span_strdup(sp, DIR_LEGACY_FIELD_MAX, &id)) != 0)
		return r;
	if ((r = check_text(id, DIR_LEGACY_FIELD_MAX, true)) != 0)
		goto out;
	switch (dir_login_parse(id, strlen(id), key)) {
	case DIR_LOGIN_ID_NUMBER:
		r = dir_person_find_id_number(d, key, out);
		goto out;
	case DIR_LOGIN_PHONE:
		if ((r = dir_person_find_phone(d, key, out)) != YH_ERR_NOT_FOUND)
			goto out;
		break;
	case DIR_LOGIN_NAME:
		break;
	}
	if (strlen(id) <= DIR_USERNAME_MAX &&
	    (r = person_find(d, DIR_PK_USERNAME, id, NULL, out)) != YH_ERR_NOT_FOUND)
		goto out;
	r = person_find(d, DIR_PK_LEGACY_USERNAME, id, NULL, out);
out:
	yh_wipe(key, sizeof(key));
	yh_strfree_secret(id);
	return r;
}

int
dir_person_set_status(struct dir *d, const char *uid, enum dir_status st)
{
	if ((unsigned)st > DIR_STATUS_DEREGISTERED)
		return YH_ERR_INVALID;
	if (!dir_uid_valid(uid))
		return YH_ERR_NOT_FOUND;
	return d->ops->person_set_status(d->be, uid, st, yh_now());
}

/* Checks a tombstone list's page arguments. */
static bool
tomb_args_ok(const char *after, size_t limit)
{
	return limit > 0 && limit <= DIR_LIST_MAX && after != NULL &&
	    (after[0] == '\0' || dir_uid_valid(after));
}

int
dir_person_tombstones(struct dir *d, int64_t before, const char *after, size_t limit,
    struct dir_tombstone *out, size_t *n)
{
	*n = 0;
	return tomb_args_ok(after, limit) ? d->ops->person_tombstones(d->be, before, after,
	    limit, out, n) : YH_ERR_INVALID;
}

int
dir_org_tombstones(struct dir *d, int64_t before, const char *after, size_t limit,
    struct dir_tombstone *out, size_t *n)
{
	*n = 0;
	return tomb_args_ok(after, limit) ? d->ops->org_tombstones(d->be, before, after,
	    limit, out, n) : YH_ERR_INVALID;
}

int
dir_org_purge(struct dir *d, const char *uid, int64_t before)
{
	if (!dir_uid_valid(uid))
		return YH_ERR_NOT_FOUND;
	return d->ops->org_purge(d->be, uid, before);
}

int
dir_person_purge(struct dir *d, const char *uid, int64_t before)
{
	if (!dir_uid_valid(uid))
		return YH_ERR_NOT_FOUND;
	return d->ops->person_purge(d->be, uid, before);
}

int
dir_person_set_loa(struct dir *d, const char *uid, const struct dir_loa *v, unsigned flags,
    bool *applied)
{
	struct dir_loa l;
	bool done = false;
	int r;

	if (applied != NULL)
		*applied = false;
	if ((r = check_loa(v)) != 0)
		return r;
	if (!dir_uid_valid(uid))
		return YH_ERR_NOT_FOUND;
	l = *v;
	if (l.at == 0)
		l.at = yh_now();
	r = d->ops->person_set_loa(d->be, uid, &l, (flags & DIR_LOA_RAISE) != 0, yh_now(),
	    &done);
	if (applied != NULL)
		*applied = r == 0 && done;
	return r;
}

int
dir_person_list(struct dir *d, uint64_t offset, size_t limit, struct dir_person **out,
    size_t *n)
{
	struct dir_person_rec *recs = NULL;
	struct dir_person *arr = NULL;
	size_t cnt = 0, i;
	int r;

	*out = NULL;
	*n = 0;
	if (limit == 0 || limit > DIR_LIST_MAX)
		return YH_ERR_INVALID;
	if ((r = d->ops->person_list(d->be, offset, limit, &recs, &cnt)) != 0)
		return r;
	if (cnt > 0 && (arr = calloc(cnt, sizeof(*arr))) == NULL)
		r = YH_ERR_ALLOC;
	for (i = 0; r == 0 && i < cnt; i++)
		r = rec_to_person(d, &recs[i], DIR_OPEN_ALL, &arr[i]);
	for (i = 0; i < cnt; i++)
		dir_person_rec_clear(&recs[i]);
	free(recs);
	if (r != 0) {
		dir_person_list_free(arr, cnt);
		return r;
	}
	*out = arr;
	*n = cnt;
	return 0;
}

int
dir_person_count(struct dir *d, uint64_t *out)
{
	*out = 0;
	return d->ops->person_count(d->be, out);
}

/* ---- organizations ---- */

/* Canonicalizes an organization's codes into uscc[19] ("" if none) and code[10]. */
static int
canon_org_codes(const struct dir_org *in, char uscc[19], char code[10])
{
	struct idn_uscc u;
	struct idn_orgcode oc;

	uscc[0] = code[0] = '\0';
	if (empty(in->uscc) && empty(in->org_code))
		return YH_ERR_INVALID;
	if (!empty(in->uscc)) {
		if (strlen(in->uscc) > IDN_INPUT_MAX)
			return YH_ERR_TOO_LONG;
		if (idn_uscc_check(in->uscc, strlen(in->uscc), &u) != IDN_OK)
			return YH_ERR_INVALID;
		memcpy(uscc, u.canonical, 19);
		memcpy(code, u.org_code, 10);
	}
	if (!empty(in->org_code)) {
		if (strlen(in->org_code) > IDN_INPUT_MAX)
			return YH_ERR_TOO_LONG;
		if (idn_orgcode_check(in->org_code, strlen(in->org_code), &oc) != IDN_OK)
			return YH_ERR_INVALID;
		if (code[0] != '\0' && strcmp(code, oc.canonical) != 0)
			return YH_ERR_INVALID;
		memcpy(code, oc.canonical, 10);
	}
	return 0;
}

/* An optional "YYYY-MM-DD": a real date, not after today (China Standard Time). */
static int
check_date(const char *s)
{
	int y = 0, m = 0, d = 0;

	if (empty(s))
		return 0;
	if (!yh_date_parse(s, &y, &m, &d) || y * 10000 + m * 100 + d > yh_today_cst())
		return YH_ERR_INVALID;
	return 0;
}

/* The kind stored for an organization with credit code uscc ("" if none) when asked is
 * given: the one the code defines, which asked may only repeat, else asked. */
static int
org_kind(const char *uscc, enum idn_org_kind asked, enum idn_org_kind *out)
{
	enum idn_org_kind k = IDN_ORG_KIND_UNSPECIFIED;
	struct idn_uscc u;

	if ((unsigned)asked > IDN_ORG_KIND_PUBLIC_INSTITUTION)
		return YH_ERR_INVALID;
	if (uscc[0] != '\0' && idn_uscc_check(uscc, strlen(uscc), &u) == IDN_OK)
		k = idn_uscc_kind(&u);
	if (k != IDN_ORG_KIND_UNSPECIFIED && asked != IDN_ORG_KIND_UNSPECIFIED && asked != k)
		return YH_ERR_INVALID;
	*out = k != IDN_ORG_KIND_UNSPECIFIED ? k : asked;
	return 0;
}

/* Checks the replaceable fields of in and sets them in o (borrowing in's strings); uscc
 * is the credit code the organization will have ("" if none). */
static int
org_fields(const struct dir_org *in, const char *uscc, struct dir_org *o)
{
	int r;

	if ((r = check_name(in->name)) != 0 ||
	    (r = check_text(in->authority, DIR_AUTHORITY_MAX, false)) != 0 ||
	    (r = check_date(in->established)) != 0 ||
	    (r = org_kind(uscc, in->kind, &o->kind)) != 0)
		return r;
	if (in->legal_rep_uid[0] != '\0' && !dir_uid_valid(in->legal_rep_uid))
		return YH_ERR_INVALID;
	o->name = in->name;
	memcpy(o->legal_rep_uid, in->legal_rep_uid, sizeof(o->legal_rep_uid));
	o->authority = empty(in->authority) ? NULL : in->authority;
	o->established = empty(in->established) ? NULL : in->established;
	return 0;
}

/* Checks in as dir_org_add takes it and makes the organization to store in o (borrowing
 * in's strings, and uscc and code, which receive the canonical codes). */
static int
org_rec_make(const struct dir_org *in, const char *actor, char uscc[19], char code[10],
    struct dir_org *o, int64_t now)
{
	int r;

	memset(o, 0, sizeof(*o));
	if ((r = canon_org_codes(in, uscc, code)) != 0 || (r = org_fields(in, uscc, o)) != 0 ||
	    (r = check_text(actor, DIR_ACTOR_MAX, false)) != 0)
		return r;
	if ((!empty(in->uid) && !dir_uid_valid(in->uid)) || !DIR_ORG_STATUS_OK(in->status) ||
	    in->created < 0)
		return YH_ERR_INVALID;
	if (empty(in->uid))
		r = dir_uid_new(o->uid);
	else
		memcpy(o->uid, in->uid, sizeof(o->uid));
	if (r != 0)
		return r;
	o->uscc = uscc[0] != '\0' ? uscc : NULL;
	o->org_code = code;
	o->status = in->status;
	o->created = in->created != 0 ? in->created : now;
	o->updated = now;
	return 0;
}

int
dir_org_add(struct dir *d, const struct dir_org *in, const char *actor, char *uid_out)
{
	char uscc[19], code[10];
	struct dir_org o;
	int r;

	if (uid_out != NULL)
		uid_out[0] = '\0';
	if ((r = org_rec_make(in, actor, uscc, code, &o, yh_now())) != 0)
		return r;
	if ((r = d->ops->org_add(d->be, &o, empty(actor) ? NULL : actor)) == 0 &&
	    uid_out != NULL)
		memcpy(uid_out, o.uid, DIR_UID_LEN + 1);
	return r;
}

int
dir_org_update(struct dir *d, const struct dir_org *in, const char *actor)
{
	char uscc[19], code[10];
	struct dir_org cur, o;
	int r;

	memset(&cur, 0, sizeof(cur));
	if ((r = check_text(actor, DIR_ACTOR_MAX, false)) != 0)
		return r;
	if ((r = dir_org_get(d, in->uid, &cur)) != 0)
		return r;
	if (empty(in->uscc) && empty(in->org_code)) {
		uscc[0] = '\0';
		if (yh_strlcpy(code, cur.org_code, sizeof(code)) != 0) {
			r = YH_ERR_DB;
			goto out;
		}
	} else if ((r = canon_org_codes(in, uscc, code)) != 0)
		goto out;
	/* The organization code is the identity: it cannot change; the credit code can
	 * only be added to an organization known by its organization code. */
	if (strcmp(cur.org_code, code) != 0 ||
	    (cur.uscc != NULL && uscc[0] != '\0' && strcmp(cur.uscc, uscc) != 0)) {
		r = YH_ERR_INVALID;
		goto out;
	}
	o = cur;
	o.uscc = uscc[0] != '\0' ? uscc : cur.uscc;
	if ((r = org_fields(in, o.uscc != NULL ? o.uscc : "", &o)) != 0)
		goto out;
	o.updated = yh_now();
	r = d->ops->org_update(d->be, &o, empty(actor) ? NULL : actor);
out:
	dir_org_clear(&cur);
	return r;
}

int
dir_org_get(struct dir *d, const char *uid, struct dir_org *out)
{
	memset(out, 0, sizeof(*out));
	if (!dir_uid_valid(uid))
		return YH_ERR_NOT_FOUND;
	return d->ops->org_find(d->be, DIR_OK_UID, uid, out);
}

int
dir_org_find_uscc(struct dir *d, const char *uscc, struct dir_org *out)
{
	struct idn_uscc u;

	memset(out, 0, sizeof(*out));
	if (empty(uscc) || strlen(uscc) > IDN_INPUT_MAX ||
	    idn_uscc_check(uscc, strlen(uscc), &u) != IDN_OK)
		return YH_ERR_INVALID;
	return d->ops->org_find(d->be, DIR_OK_USCC, u.canonical, out);
}

int
dir_org_find_org_code(struct dir *d, const char *org_code, struct dir_org *out)
{
	struct idn_orgcode oc;

	memset(out, 0, sizeof(*out));
	if (empty(org_code) || strlen(org_code) > IDN_INPUT_MAX ||
	    idn_orgcode_check(org_code, strlen(org_code), &oc) != IDN_OK)
		return YH_ERR_INVALID;
	return d->ops->org_find(d->be, DIR_OK_ORG_CODE, oc.canonical, out);
}

int
dir_org_set_status(struct dir *d, const char *uid, enum dir_status st, const char *actor)
{
	int r;

	if (!DIR_ORG_STATUS_OK(st))
		return YH_ERR_INVALID;
	if ((r = check_text(actor, DIR_ACTOR_MAX, false)) != 0)
		return r;
	if (!dir_uid_valid(uid))
		return YH_ERR_NOT_FOUND;
	return d->ops->org_set_status(d->be, uid, st, yh_now(), empty(actor) ? NULL : actor);
}

int
dir_org_list(struct dir *d, uint64_t offset, size_t limit, struct dir_org **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (limit == 0 || limit > DIR_LIST_MAX)
		return YH_ERR_INVALID;
	return d->ops->org_list(d->be, offset, limit, out, n);
}

int
dir_org_history(struct dir *d, const char *org_uid, struct dir_org_change **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!dir_uid_valid(org_uid))
		return YH_ERR_INVALID;
	return d->ops->org_history(d->be, org_uid, out, n);
}

/* ---- relations ---- */

static int split_scopes(const char *list, char **copy, const char *names[DIR_SCOPES_MAX],
    size_t *n);

bool
dir_mandate_in_force(const struct dir_mandate *m, int64_t now)
{
	return m->revoked == 0 && m->not_before <= now && (m->until == 0 || m->until > now);
}

/* A role a grant may name (the legal representative comes with the organization). */
static bool
grantable_role(const char *role)
{
	return role != NULL && (strcmp(role, DIR_ROLE_AGENT) == 0 ||
	    strcmp(role, DIR_ROLE_ADMIN) == 0 || strcmp(role, DIR_ROLE_STAFF) == 0);
}

/* A staff relation's unit (required) and position (optional); neither for other roles. */
static int
check_staff_fields(const struct dir_mandate *m)
{
	bool staff = strcmp(m->role, DIR_ROLE_STAFF) == 0;
	int r;

	if (!staff)
		return empty(m->unit) && empty(m->position) ? 0 : YH_ERR_INVALID;
	if ((r = check_text(m->unit, DIR_UNIT_MAX, true)) != 0 ||
	    (r = check_text(m->position, DIR_POSITION_MAX, false)) != 0)
		return r;
	if (!yh_utf8_valid(m->unit, strlen(m->unit)) ||
	    (!empty(m->position) && !yh_utf8_valid(m->position, strlen(m->position))))
		return YH_ERR_INVALID;
	return 0;
}

/* The scope list in canonical form (distinct names, one space apart) in out[outsz];
 * "" for none. */
static int
canon_scopes(const char *list, char *out, size_t outsz)
{
	const char *names[DIR_SCOPES_MAX];
	char *copy = NULL;
	size_t n = 0, len = 0;
	int r;

	out[0] = '\0';
	if (empty(list))
		return 0;
	if ((r = split_scopes(list, &copy, names, &n)) != 0)
		return r;
	for (size_t i = 0; r == 0 && i < n; i++) {
		size_t k = strlen(names[i]);

		if (len + k + 2 > outsz)
			r = YH_ERR_TOO_LONG;
		else {
			if (len > 0)
				out[len++] = ' ';
			memcpy(out + len, names[i], k + 1);
			len += k;
		}
	}
	free(copy);
	return r;
}

/* The rules for a grant made now (dir_mandate_add). */
static int
grant_allowed(struct dir *d, const struct dir_mandate *m)
{
	struct dir_person p;
	struct dir_org o;
	int r;

	memset(&p, 0, sizeof(p));
	if ((r = dir_org_get(d, m->org_uid, &o)) != 0)
		return r;
	if (o.status != DIR_STATUS_ACTIVE)
		r = YH_ERR_DENIED;
	else if ((r = dir_person_get(d, m->person_uid, &p)) == 0) {
		if (p.status != DIR_STATUS_ACTIVE)
			r = YH_ERR_DENIED;
		else if (strcmp(m->role, DIR_ROLE_AGENT) == 0 &&
		    strcmp(o.legal_rep_uid, m->person_uid) == 0)
			r = YH_ERR_CONFLICT;
		else if (strcmp(m->role, DIR_ROLE_AGENT) == 0 && p.loa.level < 2)
			r = YH_ERR_DENIED;
		else if (strcmp(m->role, DIR_ROLE_STAFF) == 0 &&
		    o.kind != IDN_ORG_KIND_GOVERNMENT_AGENCY)
			r = YH_ERR_DENIED;
	}
	dir_person_clear(&p);
	dir_org_clear(&o);
	return r;
}

int
dir_mandate_add(struct dir *d, const struct dir_mandate *in, const char *actor,
    char *id_out)
{
	char scopes[DIR_SCOPES_MAX * (DIR_SCOPE_MAX + 1) + 1];
	struct dir_mandate m;
	int r;

	if (id_out != NULL)
		id_out[0] = '\0';
	if (!dir_uid_valid(in->person_uid) || !dir_uid_valid(in->org_uid) ||
	    (!empty(in->id) && !dir_uid_valid(in->id)) || in->revoked != 0 ||
	    in->until < 0 || in->created < 0 || in->not_before < 0 || !grantable_role(in->role))
		return YH_ERR_INVALID;
	if ((r = check_text(in->granted_by, DIR_LOA_BY_MAX, false)) != 0 ||
	    (r = check_text(actor, DIR_ACTOR_MAX, false)) != 0 ||
	    (r = canon_scopes(in->scopes, scopes, sizeof(scopes))) != 0)
		return r;
	if (scopes[0] != '\0' && strcmp(in->role, DIR_ROLE_AGENT) != 0)
		return YH_ERR_INVALID;
	if ((r = check_staff_fields(in)) != 0)
		return r;
	m = *in;
	m.created = in->created != 0 ? in->created : yh_now();
	m.not_before = in->not_before != 0 ? in->not_before : m.created;
	if (m.until != 0 && (m.until <= m.not_before || m.until <= m.created))
		return YH_ERR_INVALID;
	if (in->created == 0 && (r = grant_allowed(d, &m)) != 0)
		return r;
	if (empty(in->id) && (r = dir_uid_new(m.id)) != 0)
		return r;
	m.granted_by = empty(in->granted_by) ? NULL : in->granted_by;
	m.scopes = scopes[0] != '\0' ? scopes : NULL;
	m.unit = empty(in->unit) ? NULL : in->unit;
	m.position = empty(in->position) ? NULL : in->position;
	if ((r = d->ops->mandate_add(d->be, &m, empty(actor) ? NULL : actor)) == 0 &&
	    id_out != NULL)
		memcpy(id_out, m.id, DIR_UID_LEN + 1);
	return r;
}

int
dir_mandate_get(struct dir *d, const char *id, struct dir_mandate *out)
{
	memset(out, 0, sizeof(*out));
	if (!dir_uid_valid(id))
		return YH_ERR_NOT_FOUND;
	return d->ops->mandate_get(d->be, id, out);
}

static int
mandate_list(struct dir *d, bool by_org, const char *uid, int64_t in_force_at,
    struct dir_mandate **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!dir_uid_valid(uid) || in_force_at < 0)
		return YH_ERR_INVALID;
	return d->ops->mandate_list(d->be, by_org, uid, in_force_at, out, n);
}

int
dir_mandate_current(struct dir *d, const char *person_uid, const char *org_uid, int64_t at,
    struct dir_mandate **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if ((person_uid == NULL) == (org_uid == NULL) || at < 0)
		return YH_ERR_INVALID;
	return mandate_list(d, org_uid != NULL, org_uid != NULL ? org_uid : person_uid,
	    at != 0 ? at : yh_now(), out, n);
}

/* The console permission names, in the order of enum dir_console_perm's bits. */
static const char *const console_perm_names[] = { "review", "people", "orgs", "apps",
	"audit" };
#define CONSOLE_NPERMS (sizeof(console_perm_names) / sizeof(console_perm_names[0]))

int
dir_console_perms_parse(const char *list, unsigned *out)
{
	const char *p = list;

	*out = 0;
	if (list == NULL)
		return YH_ERR_INVALID;
	while (*p != '\0') {
		size_t len = strcspn(p, ", "), k;

		if (len == 3 && strncmp(p, "all", 3) == 0)
			*out |= DIR_CONSOLE_ALL;
		else if (len > 0) {
			for (k = 0; k < CONSOLE_NPERMS; k++)
				if (strlen(console_perm_names[k]) == len &&
				    strncmp(p, console_perm_names[k], len) == 0)
					break;
			if (k == CONSOLE_NPERMS) {
				*out = 0;
				return YH_ERR_INVALID;
			}
			*out |= 1u << k;
		}
		p += len;
		if (*p != '\0')
			p++;
	}
	return 0;
}

void
dir_console_perms_str(unsigned perms, char *out, size_t outsz)
{
	size_t used = 0;

	if (outsz == 0)
		return;
	out[0] = '\0';
	for (size_t k = 0; k < CONSOLE_NPERMS; k++) {
		int w;

		if ((perms & (1u << k)) == 0)
			continue;
		w = snprintf(out + used, outsz - used, "%s%s", used > 0 ? " " : "",
		    console_perm_names[k]);
		if (w < 0 || (size_t)w >= outsz - used) {
			out[used] = '\0';
			return;
		}
		used += (size_t)w;
	}
}

int
dir_console_set(struct dir *d, const char *mandate_id, unsigned perms, const char *by)
{
	char text[DIR_CONSOLE_PERMS_MAX + 1];
	struct dir_mandate m;
	int r;

	if ((perms & ~DIR_CONSOLE_ALL) != 0)
		return YH_ERR_INVALID;
	if ((r = dir_mandate_get(d, mandate_id, &m)) != 0)
		return r;
	if (strcmp(m.role, DIR_ROLE_STAFF) != 0 || m.revoked != 0)
		r = YH_ERR_INVALID;
	dir_mandate_clear(&m);
	if (r != 0)
		return r;
	dir_console_perms_str(perms, text, sizeof(text));
	return d->ops->console_set(d->be, mandate_id, perms != 0 ? text : NULL, by, yh_now());
}

int
dir_console_get(struct dir *d, const char *mandate_id, unsigned *perms)
{
	char text[DIR_CONSOLE_PERMS_MAX + 1];
	int r;

	*perms = 0;
	if (!dir_uid_valid(mandate_id))
		return 0;
	if ((r = d->ops->console_get(d->be, mandate_id, text)) != 0)
		return r;
	/* What this program wrote parses; anything else opens nothing. */
	if (dir_console_perms_parse(text, perms) != 0)
		*perms = 0;
	return 0;
}

/* An upstream link's names: 1..max bytes without control bytes. */
static bool
link_part_ok(const char *s, size_t max)
{
	size_t n;

	if (s == NULL || (n = strnlen(s, max + 1)) == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

int
dir_upstream_link_add(struct dir *d, const char *upstream, const char *sub,
    const char *uid)
{
	if (!link_part_ok(upstream, DIR_UPSTREAM_NAME_MAX) ||
	    !link_part_ok(sub, DIR_UPSTREAM_SUB_MAX) || !dir_uid_valid(uid))
		return YH_ERR_INVALID;
	return d->ops->ulink_add(d->be, upstream, sub, uid, yh_now());
}

int
dir_upstream_link_get(struct dir *d, const char *upstream, const char *sub,
    char uid[DIR_UID_LEN + 1])
{
	uid[0] = '\0';
	if (!link_part_ok(upstream, DIR_UPSTREAM_NAME_MAX) ||
	    !link_part_ok(sub, DIR_UPSTREAM_SUB_MAX))
		return YH_ERR_INVALID;
	return d->ops->ulink_get(d->be, upstream, sub, uid);
}

/* n lower-case hex digits exactly. */
static bool
hex_ok(const char *s, size_t n, bool upper)
{
	if (s == NULL || strnlen(s, n + 1) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (!upper && s[i] >= 'a' && s[i] <= 'f') || (upper && s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

int
dir_cert_bind(struct dir *d, const struct dir_cert_binding *b)
{
	struct dir_cert_binding c = *b;
	size_t sn = strnlen(b->serial, DIR_CERT_SERIAL_MAX + 1);
	struct dir_cert_binding *have = NULL;
	size_t n = 0;
	int r;

	if (!hex_ok(b->id, DIR_CERT_HEX_LEN, false) || !dir_uid_valid(b->uid) ||
	    !link_part_ok(b->issuer, DIR_CERT_ISSUER_MAX) || sn == 0 ||
	    sn > DIR_CERT_SERIAL_MAX || !hex_ok(b->serial, sn, true) ||
	    !hex_ok(b->key_sha256, DIR_CERT_HEX_LEN, false))
		return YH_ERR_INVALID;
	if ((r = d->ops->cert_list(d->be, b->uid, &have, &n)) != 0)
		return r;
	free(have);
	if (n >= DIR_CERT_BINDINGS_MAX)
		return YH_ERR_LIMIT;
	c.created = yh_now();
	return d->ops->cert_bind(d->be, &c);
}

int
dir_cert_list(struct dir *d, const char *uid, struct dir_cert_binding **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!dir_uid_valid(uid))
		return YH_ERR_INVALID;
	return d->ops->cert_list(d->be, uid, out, n);
}

int
dir_cert_unbind(struct dir *d, const char *uid, const char *id)
{
	if (!dir_uid_valid(uid) || !hex_ok(id, DIR_CERT_HEX_LEN, false))
		return YH_ERR_INVALID;
	return d->ops->cert_unbind(d->be, uid, id);
}

/* dir_person_find_name's and dir_org_find_name's argument check. */
static bool
find_name_ok(const char *name, size_t max)
{
	return name != NULL && name[0] != '\0' && strlen(name) <= DIR_NAME_MAX && max > 0 &&
	    max <= DIR_LIST_MAX;
}

int
dir_person_find_name(struct dir *d, const char *name, size_t max, struct dir_entity *out,
    size_t *n)
{
	*n = 0;
	if (!find_name_ok(name, max))
		return YH_ERR_INVALID;
	return d->ops->person_find_name(d->be, name, max, out, n);
}

int
dir_person_search_name(struct dir *d, const char *query, size_t max,
    struct dir_entity *out, size_t *n)
{
	char key[DIR_NAME_KEY_MAX + 1];

	*n = 0;
	if (query == NULL || strlen(query) > DIR_NAME_MAX || max == 0 ||
	    max > DIR_NAME_SEARCH_MAX)
		return YH_ERR_INVALID;
	dir_name_key(query, key);
	if (yh_utf8_chars(key) < DIR_NAME_SEARCH_MIN)
		return YH_ERR_INVALID;
	return d->ops->person_search_name(d->be, key, max, out, n);
}

int
dir_org_find_name(struct dir *d, const char *name, size_t max, struct dir_entity *out,
    size_t *n)
{
	*n = 0;
	if (!find_name_ok(name, max))
		return YH_ERR_INVALID;
	return d->ops->org_find_name(d->be, name, max, out, n);
}

int
dir_person_loa_history(struct dir *d, const char *uid, struct dir_loa **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!dir_uid_valid(uid))
		return YH_ERR_INVALID;
	return d->ops->person_loa_history(d->be, uid, out, n);
}

int
dir_staff_current(struct dir *d, const char *person_uid, int64_t at, struct dir_mandate *m,
    struct dir_org *org)
{
	struct dir_mandate *list = NULL;
	struct dir_org o;
	size_t n = 0;
	int r;

	memset(m, 0, sizeof(*m));
	memset(&o, 0, sizeof(o));
	if (org != NULL)
		memset(org, 0, sizeof(*org));
	if ((r = dir_mandate_current(d, person_uid, NULL, at, &list, &n)) != 0)
		return r;
	r = YH_ERR_NOT_FOUND;
	for (size_t i = 0; r == YH_ERR_NOT_FOUND && i < n; i++) {
		if (strcmp(list[i].role, DIR_ROLE_STAFF) != 0)
			continue;
		if ((r = dir_org_get(d, list[i].org_uid, &o)) != 0)
			break;
		if (o.kind != IDN_ORG_KIND_GOVERNMENT_AGENCY) {
			dir_org_clear(&o);
			r = YH_ERR_NOT_FOUND;
			continue;
		}
		*m = list[i];
		memset(&list[i], 0, sizeof(list[i]));
	}
	dir_mandate_list_free(list, n);
	if (r == 0 && org != NULL)
		*org = o;
	else
		dir_org_clear(&o);
	return r;
}

int
dir_mandate_list_person(struct dir *d, const char *person_uid, int64_t in_force_at,
    struct dir_mandate **out, size_t *n)
{
	return mandate_list(d, false, person_uid, in_force_at, out, n);
}

int
dir_mandate_list_org(struct dir *d, const char *org_uid, int64_t in_force_at,
    struct dir_mandate **out, size_t *n)
{
	return mandate_list(d, true, org_uid, in_force_at, out, n);
}

int
dir_mandate_revoke(struct dir *d, const char *id, int64_t at, const char *actor)
{
	struct dir_mandate m;
	int r;

	if (at < 0)
		return YH_ERR_INVALID;
	if ((r = check_text(actor, DIR_ACTOR_MAX, false)) != 0)
		return r;
	if ((r = dir_mandate_get(d, id, &m)) != 0)
		return r;
	if (!grantable_role(m.role))
		r = YH_ERR_INVALID;
	dir_mandate_clear(&m);
	if (r != 0)
		return r;
	return d->ops->mandate_revoke(d->be, id, at != 0 ? at : yh_now(),
	    empty(actor) ? NULL : actor);
}

int
dir_mandate_end(struct dir *d, const char *org_uid, const char *person_uid,
    const char *role, const char *actor, size_t *ended)
{
	size_t scratch;
	int r;

	if (ended == NULL)
		ended = &scratch;
	*ended = 0;
	if (!dir_uid_valid(org_uid) || !dir_uid_valid(person_uid) || !grantable_role(role))
		return YH_ERR_INVALID;
	if ((r = check_text(actor, DIR_ACTOR_MAX, false)) != 0)
		return r;
	return d->ops->mandate_end(d->be, org_uid, person_uid, role, yh_now(),
	    empty(actor) ? NULL : actor, ended);
}

/* ---- legacy links ---- */

static int
check_legacy_key(const char *source, const char *legacy_id)
{
	int r;

	if ((r = check_text(source, DIR_SOURCE_MAX, true)) != 0 ||
	    (r = check_text(legacy_id, DIR_LEGACY_FIELD_MAX, true)) != 0)
		return r;
	return 0;
}

int
dir_legacy_add(struct dir *d, const struct dir_legacy *in)
{
	struct dir_legacy l;
	int r;

	if ((r = check_legacy_key(in->source, in->legacy_id)) != 0 ||
	    (r = check_text(in->username, DIR_LEGACY_FIELD_MAX, false)) != 0)
		return r;
	if (!dir_uid_valid(in->owner_uid))
		return YH_ERR_INVALID;
	if ((unsigned)in->status > DIR_STATUS_DEREGISTERED)
		return YH_ERR_INVALID;
	l = *in;
	l.username = empty(in->username) ? NULL : in->username;
	if (l.created == 0)
		l.created = yh_now();
	return d->ops->legacy_add(d->be, &l);
}

int
dir_legacy_get(struct dir *d, const char *source, const char *legacy_id,
    struct dir_legacy *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = check_legacy_key(source, legacy_id)) != 0)
		return r;
	return d->ops->legacy_get(d->be, source, legacy_id, out);
}

int
dir_legacy_list(struct dir *d, const char *owner_uid, struct dir_legacy **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!dir_uid_valid(owner_uid))
		return YH_ERR_INVALID;
	return d->ops->legacy_list(d->be, owner_uid, out, n);
}

int
dir_legacy_find_username(struct dir *d, const char *username, const char *source,
    char owner_uid[DIR_UID_LEN + 1])
{
	int r;

	owner_uid[0] = '\0';
	if ((r = check_text(username, DIR_LEGACY_FIELD_MAX, true)) != 0 ||
	    (source != NULL && (r = check_text(source, DIR_SOURCE_MAX, true)) != 0))
		return r;
	if ((r = d->ops->legacy_find_username(d->be, username, source, owner_uid)) != 0)
		owner_uid[0] = '\0';
	return r;
}

int
dir_legacy_of_owner(struct dir *d, const char *owner_uid, const char *source,
    struct dir_legacy *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	if (!dir_uid_valid(owner_uid))
		return YH_ERR_INVALID;
	if ((r = check_text(source, DIR_SOURCE_MAX, true)) != 0)
		return r;
	return d->ops->legacy_of_owner(d->be, owner_uid, source, out);
}

int
dir_legacy_remove(struct dir *d, const char *source, const char *legacy_id)
{
	int r;

	if ((r = check_legacy_key(source, legacy_id)) != 0)
		return r;
	return d->ops->legacy_remove(d->be, source, legacy_id);
}

/* ---- credentials ---- */

int
dir_cred_get(struct dir *d, const char *owner_uid, struct dir_cred *out)
{
	memset(out, 0, sizeof(*out));
	if (!dir_uid_valid(owner_uid))
		return YH_ERR_NOT_FOUND;
	return d->ops->cred_get(d->be, owner_uid, out);
}

int
dir_cred_set(struct dir *d, const char *owner_uid, const char *scheme, const char *hash,
    const char *salt)
{
	int r;

	if ((r = check_cred(scheme, hash, salt)) != 0)
		return r;
	if (!dir_uid_valid(owner_uid))
		return YH_ERR_INVALID;
	return d->ops->cred_set(d->be, owner_uid, scheme, hash,
	    empty(salt) ? NULL : salt, yh_now());
}

/* ---- TOTP ---- */

int
dir_totp_set(struct dir *d, const char *owner_uid, const unsigned char *seed, size_t len,
    bool confirmed)
{
	char hex[DIR_TOTP_SEED_MAX * 2 + 1], *sealed = NULL;
	int r;

	if (seed == NULL || len == 0 || len > DIR_TOTP_SEED_MAX || !dir_uid_valid(owner_uid))
		return YH_ERR_INVALID;
	yh_hex_encode(seed, len, hex);
	r = vault_seal(d->vault, DIR_DOMAIN_TOTP, hex, len * 2, &sealed);
	yh_wipe(hex, sizeof(hex));
	if (r == 0)
		r = d->ops->totp_set(d->be, owner_uid, sealed, confirmed, yh_now());
	free(sealed);
	return r;
}

int
dir_totp_confirm(struct dir *d, const char *owner_uid)
{
	if (!dir_uid_valid(owner_uid))
		return YH_ERR_NOT_FOUND;
	return d->ops->totp_confirm(d->be, owner_uid);
}

int
dir_totp_get(struct dir *d, const char *owner_uid, struct dir_totp *out)
{
	struct dir_totp_rec rec;
	char *hex = NULL;
	size_t n;
	int r;

	memset(out, 0, sizeof(*out));
	memset(&rec, 0, sizeof(rec));
	if (!dir_uid_valid(owner_uid))
		return YH_ERR_NOT_FOUND;
	if ((r = d->ops->totp_get(d->be, owner_uid, &rec)) != 0)
		goto out;
	if ((r = vault_open_value(d->vault, DIR_DOMAIN_TOTP, rec.seed_sealed, &hex)) != 0)
		goto out;
	n = strlen(hex);
	if (n == 0 || n % 2 != 0 || n / 2 > DIR_TOTP_SEED_MAX) {
		r = YH_ERR_DB;
		goto out;
	}
	if ((out->seed = malloc(n / 2)) == NULL) {
		r = YH_ERR_ALLOC;
		goto out;
	}
	if ((r = yh_hex_decode(hex, n, out->seed, n / 2)) != 0) {
		yh_freezero(out->seed, n / 2);
		out->seed = NULL;
		r = YH_ERR_DB;
		goto out;
	}
	out->seed_len = n / 2;
	out->confirmed = rec.confirmed;
	out->last_step = rec.last_step;
	out->created = rec.created;
out:
	yh_strfree_secret(hex);
	free(rec.seed_sealed);
	return r;
}

int
dir_totp_consume_step(struct dir *d, const char *owner_uid, int64_t step)
{
	if (step < 0)
		return YH_ERR_INVALID;
	if (!dir_uid_valid(owner_uid))
		return YH_ERR_NOT_FOUND;
	return d->ops->totp_consume(d->be, owner_uid, step);
}

int
dir_totp_delete(struct dir *d, const char *owner_uid)
{
	if (!dir_uid_valid(owner_uid))
		return YH_ERR_NOT_FOUND;
	return d->ops->totp_delete(d->be, owner_uid);
}


/* ---- consents ---- */

#define SCOPE_LIST_MAX 4096   /* bytes of a scope list given to dir_consent_set */

/* A client id as the directory stores it: 1..DIR_CLIENT_ID_MAX printable ASCII bytes,
 * no space (the registry's own rules are stricter). */
static int
check_client_id(const char *c)
{
	size_t n;

	if (empty(c))
		return YH_ERR_INVALID;
	if ((n = strnlen(c, DIR_CLIENT_ID_MAX + 1)) > DIR_CLIENT_ID_MAX)
		return YH_ERR_TOO_LONG;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)c[i] <= 0x20 || (unsigned char)c[i] >= 0x7f)
			return YH_ERR_INVALID;
	return 0;
}

/* One scope name (RFC 6749 3.3 scope-token): %x21 / %x23-5B / %x5D-7E. */
static int
check_scope(const char *t, size_t len)
{
	if (len == 0)
		return YH_ERR_INVALID;
	if (len > DIR_SCOPE_MAX)
		return YH_ERR_TOO_LONG;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)t[i];

		if (c < 0x21 || c > 0x7e || c == '"' || c == '\\')
			return YH_ERR_INVALID;
	}
	return 0;
}

static int
consent_keys(const char *uid, const char *client_id)
{
	if (!dir_uid_valid(uid))
		return YH_ERR_INVALID;
	return check_client_id(client_id);
}

/*
 * Splits a space-separated scope list into distinct names: *copy (free() it) holds the
 * text the names point into. YH_ERR_INVALID for an empty list or a bad name,
 * YH_ERR_TOO_LONG, YH_ERR_LIMIT past DIR_SCOPES_MAX distinct names.
 */
static int
split_scopes(const char *list, char **copy, const char *names[DIR_SCOPES_MAX], size_t *n)
{
	struct yh_span rest, tok;
	char *c;
	size_t k = 0, i;
	int r;

	*copy = NULL;
	*n = 0;
	if (list == NULL)
		return YH_ERR_INVALID;
	if ((r = yh_span_strdup(yh_span_cstr(list), SCOPE_LIST_MAX, copy)) != 0)
		return r;
	c = *copy;
	for (i = 0; c[i] != '\0'; i++)
		if (c[i] == ' ')
			c[i] = '\0';
	rest = yh_span_mem(c, i);
	while (yh_span_split(&rest, '\0', &tok) == 0) {
		if (tok.len == 0)
			continue;
		if ((r = check_scope(tok.p, tok.len)) != 0)
			goto out;
		for (i = 0; i < k && strcmp(names[i], tok.p) != 0; i++)
			;
		if (i < k)
			continue;
		if (k == DIR_SCOPES_MAX) {
			r = YH_ERR_LIMIT;
			goto out;
		}
		names[k++] = tok.p;
	}
	r = k == 0 ? YH_ERR_INVALID : 0;
out:
	if (r != 0) {
		free(*copy);
		*copy = NULL;
		k = 0;
	}
	*n = k;
	return r;
}

int
dir_consent_get(struct dir *d, const char *uid, const char *client_id, char **scopes)
{
	struct dir_consent c;
	int r;

	*scopes = NULL;
	memset(&c, 0, sizeof(c));
	if ((r = consent_keys(uid, client_id)) != 0)
		return r;
	if ((r = d->ops->consent_get(d->be, uid, client_id, &c)) == 0) {
		*scopes = c.scopes;
		c.scopes = NULL;
	}
	dir_consent_clear(&c);
	return r;
}

int
dir_consent_set(struct dir *d, const char *uid, const char *client_id, const char *scopes)
{
	const char *names[DIR_SCOPES_MAX];
	char *copy = NULL;
	size_t n = 0;
	int r;

	if ((r = consent_keys(uid, client_id)) != 0)
		return r;
	if ((r = split_scopes(scopes, &copy, names, &n)) != 0)
		return r;
	r = d->ops->consent_add(d->be, uid, client_id, names, n, yh_now());
	free(copy);
	return r;
}

int
dir_consent_list(struct dir *d, const char *uid, struct dir_consent **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!dir_uid_valid(uid))
		return YH_ERR_INVALID;
	return d->ops->consent_list(d->be, uid, out, n);
}

int
dir_consent_revoke(struct dir *d, const char *uid, const char *client_id)
{
	int r;

	if ((r = consent_keys(uid, client_id)) != 0)
		return r;
	return d->ops->consent_remove(d->be, uid, client_id);
}

/* ---- subject pins ---- */

/* 1..max bytes, each a letter, a digit or one of extra. */
static int
check_token(const char *s, size_t max, const char *extra)
{
	size_t n;

	if (empty(s))
		return YH_ERR_INVALID;
	if ((n = strnlen(s, max + 1)) > max)
		return YH_ERR_TOO_LONG;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || strchr(extra, s[i]) != NULL))
			return YH_ERR_INVALID;
	return 0;
}

/* A sector as the client registry spells it. */
static int
check_sector(const char *sector)
{
	return check_token(sector, DIR_SECTOR_MAX, "._:-");
}

/* n pins (0..DIR_PINS_MAX): each sector and sub well-formed. */
static int
check_pins(const struct dir_subject_pin *pins, size_t n)
{
	int r = 0;

	if (n > DIR_PINS_MAX || (n > 0 && pins == NULL))
		return YH_ERR_INVALID;
	for (size_t i = 0; i < n && r == 0; i++)
		if ((r = check_sector(pins[i].sector)) == 0)
			r = check_token(pins[i].sub, DIR_SUB_MAX, "-_");
	return r;
}

int
dir_subject_pin_add(struct dir *d, const char *uid, const struct dir_subject_pin *pins,
    size_t n)
{
	int r;

	if (!dir_uid_valid(uid) || n == 0)
		return YH_ERR_INVALID;
	if ((r = check_pins(pins, n)) != 0)
		return r;
	return d->ops->subject_pin_add(d->be, uid, pins, n);
}

int
dir_subject_pin_find(struct dir *d, const char *uid, const char *sector,
    char sub[DIR_SUB_MAX + 1])
{
	int r;

	sub[0] = '\0';
	if (!dir_uid_valid(uid))
		return YH_ERR_INVALID;
	if ((r = check_sector(sector)) != 0)
		return r;
	return d->ops->subject_pin_find(d->be, uid, sector, sub);
}

/* ---- re-keying ---- */

int
dir_entity_list(struct dir *d, const char *after, size_t limit, struct dir_entity *out,
    size_t *n)
{
	*n = 0;
	if (limit == 0 || limit > DIR_LIST_MAX || after == NULL ||
	    (after[0] != '\0' && !dir_uid_valid(after)))
		return YH_ERR_INVALID;
	return d->ops->entity_list(d->be, after, limit, out, n);
}

int
dir_uid_rekey(struct dir *d, const struct dir_rekey *pairs, size_t n)
{
	int r;

	if (n == 0 || n > DIR_LIST_MAX)
		return YH_ERR_INVALID;
	for (size_t i = 0; i < n; i++) {
		if (!dir_uid_valid(pairs[i].old_uid) || !dir_uid_valid(pairs[i].new_uid) ||
		    strcmp(pairs[i].old_uid, pairs[i].new_uid) == 0)
			return YH_ERR_INVALID;
		if ((r = check_pins(pairs[i].pins, pairs[i].npins)) != 0)
			return r;
	}
	return d->ops->uid_rekey(d->be, pairs, n);
}

json_t *
dir_login_masked(const char *in)
{
	char out[DIR_LOGIN_MASKED_MAX * 2 + 1], key[DIR_LOGIN_KEY_MAX];
	struct yh_span id = yh_span_trim(yh_span_cstr(in));
	enum dir_login_kind kind = DIR_LOGIN_NAME;
	size_t n = strlen(in), digits = 0;
	json_t *s;

	if (id.len <= IDN_INPUT_MAX)
		kind = dir_login_parse(id.p, id.len, key);
	if (kind == DIR_LOGIN_ID_NUMBER)
		idn_mask(key, out, sizeof(out));
	else if (kind == DIR_LOGIN_PHONE)
		mk_phone_mask(key, out, sizeof(out));
	yh_wipe(key, sizeof(key));
	if (kind != DIR_LOGIN_NAME)
		return json_string(out);
	for (size_t i = 0; i < n; i++)
		if ((in[i] >= '0' && in[i] <= '9') || in[i] == 'X' || in[i] == 'x')
			digits++;
	if (n >= 7 && digits == n && n < sizeof(out)) {
		idn_mask(in, out, sizeof(out));
		return json_string(out);
	}
	if (n > DIR_LOGIN_MASKED_MAX) {
		n = DIR_LOGIN_MASKED_MAX;
		while (n > 0 && ((unsigned char)in[n] & 0xc0) == 0x80)
			n--;
	}
	if ((s = json_stringn(in, n)) != NULL)
		return s;
	for (size_t i = 0; i < n; i++)
		out[i] = (unsigned char)in[i] >= 0x20 && (unsigned char)in[i] < 0x7f ? in[i] : '?';
	return json_stringn(out, n);
}

/* ---- review cases ---- */

#define DIR_DOMAIN_CASE "review"

bool
dir_case_id_valid(const char *id)
{
	if (id == NULL || strlen(id) != DIR_CASE_ID_LEN || strncmp(id, "rc", 2) != 0 ||
	    id[10] != '_')
		return false;
	for (size_t i = 2; i < DIR_CASE_ID_LEN; i++)
		if (i != 10 && !((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	return true;
}

int
dir_case_add(struct dir *d, const struct dir_case *c, const struct dir_case_member *m,
    size_t n, char other[DIR_CASE_ID_LEN + 1])
{
	struct dir_case rec;
	char *sealed = NULL, spare[DIR_CASE_ID_LEN + 1];
	int r;

	if (other == NULL)
		other = spare;
	other[0] = '\0';
	if (!dir_case_id_valid(c->id) || n == 0 || n > DIR_CASE_MEMBERS_MAX || c->body == NULL)
		return YH_ERR_INVALID;
	if ((r = check_text(c->reason, DIR_CASE_REASON_MAX, true)) != 0)
		return r;
	if (strlen(c->body) > DIR_CASE_BODY_MAX)
		return YH_ERR_TOO_LONG;
	for (size_t i = 0; i < n; i++)
		if ((r = check_legacy_key(m[i].source, m[i].legacy_id)) != 0)
			return r;
	if ((r = vault_seal(d->vault, DIR_DOMAIN_CASE, c->body, strlen(c->body), &sealed)) != 0)
		return r;
	memset(&rec, 0, sizeof(rec));
	memcpy(rec.id, c->id, sizeof(rec.id));
	rec.reason = c->reason;
	rec.body = sealed;
	rec.created = yh_now();
	r = d->ops->case_add(d->be, &rec, m, n, other);
	free(sealed);
	return r;
}

int
dir_case_get(struct dir *d, const char *id, struct dir_case *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	if (!dir_case_id_valid(id))
		return YH_ERR_INVALID;
	if ((r = d->ops->case_get(d->be, id, out)) != 0)
		return r;
	if ((r = unseal_in_place(d, DIR_DOMAIN_CASE, &out->body)) != 0)
		dir_case_clear(out);
	return r;
}

int
dir_case_list(struct dir *d, const enum dir_case_state *state, const char *reason,
    const char *after, size_t limit, struct dir_case **out, size_t *n)
{
	int r;

	*out = NULL;
	*n = 0;
	if (limit == 0 || limit > DIR_LIST_MAX || (after != NULL && after[0] != '\0' &&
	    !dir_case_id_valid(after)) || check_text(reason, DIR_CASE_REASON_MAX, false) != 0)
		return YH_ERR_INVALID;
	r = d->ops->case_list(d->be, state != NULL ? dir_case_state_str(*state) : NULL,
	    empty(reason) ? NULL : reason, after != NULL ? after : "", limit, out, n);
	for (size_t i = 0; r == 0 && i < *n; i++)
		r = unseal_in_place(d, DIR_DOMAIN_CASE, &(*out)[i].body);
	if (r != 0) {
		dir_case_list_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return r;
}

/* The decision's common fields: a case id, who, why. */
static int
check_decision(const char *id, const char *by, const char *note)
{
	int r;

	if (!dir_case_id_valid(id))
		return YH_ERR_INVALID;
	if ((r = check_text(by, DIR_ACTOR_MAX, true)) != 0)
		return r;
	return check_text(note, DIR_NOTE_MAX, true);
}

/* Checks a merge's decision fields and links. */
static int
check_merge(const char *id, const char *uid, const struct dir_case_link *l, size_t n,
    const char *by, const char *note)
{
	int r;

	if ((r = check_decision(id, by, note)) != 0)
		return r;
	if (!dir_uid_valid(uid) || n == 0 || n > DIR_CASE_MEMBERS_MAX)
		return YH_ERR_INVALID;
	for (size_t i = 0; i < n; i++) {
		if ((r = check_legacy_key(l[i].source, l[i].legacy_id)) != 0 ||
		    (r = check_text(l[i].username, DIR_LEGACY_FIELD_MAX, false)) != 0)
			return r;
		if ((unsigned)l[i].status > DIR_STATUS_DEREGISTERED)
			return YH_ERR_INVALID;
		if (l[i].scheme != NULL && (r = check_cred(l[i].scheme, l[i].hash, l[i].salt)) != 0)
			return r;
	}
	return 0;
}

int
dir_case_merge(struct dir *d, const char *id, const char *uid,
    const struct dir_case_link *l, size_t n, const char *by, const char *note)
{
	int r;

	for (size_t i = 0; i < n; i++)
		if (l[i].primary)
			return YH_ERR_INVALID;   /* the person has a password of their own */
	if ((r = check_merge(id, uid, l, n, by, note)) != 0)
		return r;
	return d->ops->case_merge(d->be, id, uid, NULL, l, n, by, note, yh_now());
}

int
dir_case_merge_new(struct dir *d, const char *id, const struct dir_person *p,
    const struct dir_case_link *l, size_t n, const char *by, const char *note)
{
	struct dir_person_rec rec;
	size_t primary = 0;
	int r;

	for (size_t i = 0; i < n; i++)
		primary += l[i].primary && l[i].scheme != NULL;
	if (primary > 1 || (r = check_merge(id, p->uid, l, n, by, note)) != 0)
		return primary > 1 ? YH_ERR_INVALID : r;
	memset(&rec, 0, sizeof(rec));
	if ((r = person_rec_make(d, p, &rec, yh_now())) == 0)
		r = d->ops->case_merge(d->be, id, rec.p.uid, &rec, l, n, by, note, yh_now());
	person_rec_free(&rec);
	return r;
}

int
dir_case_merge_org(struct dir *d, const char *id, const struct dir_org *o,
    const char *uid, const struct dir_case_link *l, size_t n, const char *by,
    const char *note, char *uid_out)
{
	char uscc[19], code[10];
	struct dir_org rec;
	size_t primary = 0;
	int r;

	if (uid_out != NULL)
		uid_out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		primary += l[i].primary && l[i].scheme != NULL;
	if (o == NULL) {
		if (primary > 0 || (r = check_merge(id, uid, l, n, by, note)) != 0)
			return primary > 0 ? YH_ERR_INVALID : r;
		r = d->ops->case_merge_org(d->be, id, uid, NULL, l, n, by, note, yh_now());
	} else {
		if ((r = org_rec_make(o, by, uscc, code, &rec, yh_now())) != 0)
			return r;
		if (primary > 1 || (r = check_merge(id, rec.uid, l, n, by, note)) != 0)
			return primary > 1 ? YH_ERR_INVALID : r;
		r = d->ops->case_merge_org(d->be, id, rec.uid, &rec, l, n, by, note, yh_now());
		uid = rec.uid;
	}
	if (r == 0 && uid_out != NULL)
		memcpy(uid_out, uid, DIR_UID_LEN + 1);
	return r;
}

int
dir_case_decide(struct dir *d, const char *id, enum dir_case_state st, const char *by,
    const char *note)
{
	int r;

	if ((r = check_decision(id, by, note)) != 0)
		return r;
	if (st != DIR_CASE_SEPARATE && st != DIR_CASE_REJECTED)
		return YH_ERR_INVALID;
	return d->ops->case_decide(d->be, id, dir_case_state_str(st), by, note, yh_now());
}

int
dir_case_undo(struct dir *d, const char *id)
{
	if (!dir_case_id_valid(id))
		return YH_ERR_INVALID;
	return d->ops->case_undo(d->be, id);
}

int
dir_case_note_login(struct dir *d, const char *uid)
{
	if (!dir_uid_valid(uid))
		return YH_ERR_INVALID;
	return d->ops->case_note_login(d->be, uid, yh_now());
}

int
dir_legacy_cred_verify(struct dir *d, const char *owner_uid, const char *password,
    size_t len)
{
	struct dir_cred *c = NULL;
	size_t n = 0;
	int r, vr = YH_ERR_AUTH;

	if (!dir_uid_valid(owner_uid))
		return YH_ERR_INVALID;
	if ((r = d->ops->legacy_cred_list(d->be, owner_uid, &c, &n)) != 0)
		return r;
	for (size_t i = 0; i < n && vr == YH_ERR_AUTH; i++) {
		vr = pw_verify(c[i].scheme, c[i].hash, c[i].salt, password, len, NULL, NULL);
		if (vr != 0 && vr != YH_ERR_AUTH && vr != YH_ERR_ALLOC && vr != YH_ERR_CRYPTO)
			vr = YH_ERR_AUTH;   /* an unusable stored hash matches nothing */
	}
	for (size_t i = 0; i < n; i++)
		dir_cred_clear(&c[i]);
	free(c);
	return n == 0 ? YH_ERR_NOT_FOUND : vr;
}

/* ---- documents the nodes share ---- */

/* The meta key of shared document name ("shared.NAME"). */
static int
shared_key(const char *name, char key[48])
{
	size_t n = strlen(name);

	if (n == 0 || n > 32 || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != n)
		return YH_ERR_INVALID;
	snprintf(key, 48, "shared.%s", name);
	return 0;
}

int
dir_shared_get(struct dir *d, const char *name, char **val)
{
	char key[48];
	int r;

	*val = NULL;
	if ((r = shared_key(name, key)) != 0)
		return r;
	return d->ops->meta_get(d->be, key, val);
}

int
dir_shared_set(struct dir *d, const char *name, const char *val)
{
	char key[48];
	size_t n = strlen(val);
	int r;

	if ((r = shared_key(name, key)) != 0)
		return r;
	if (n == 0 || !yh_utf8_valid(val, n))
		return YH_ERR_INVALID;
	if (n > DIR_SHARED_MAX)
		return YH_ERR_TOO_LONG;
	return d->ops->meta_set(d->be, key, val);
}

int
dir_shared_list(struct dir *d, const char *prefix, char ***names, char ***vals,
    size_t *n)
{
	char key[48];
	size_t skip = strlen("shared.");
	int r;

	*names = *vals = NULL;
	*n = 0;
	if ((r = shared_key(prefix, key)) != 0)
		return r;
	if ((r = d->ops->meta_list(d->be, key, DIR_SHARED_LIST_MAX, names, vals, n)) != 0)
		return r;
	for (size_t i = 0; i < *n; i++)   /* "shared.NAME" -> "NAME" */
		memmove((*names)[i], (*names)[i] + skip, strlen((*names)[i] + skip) + 1);
	return 0;
}

/* ---- copying a directory to another backend ---- */

/* The person's subject pins (a pin already in the target stays as it is). */
static int
copy_pins(struct dir *from, struct dir *to, const char *uid, struct dir_copy_counts *c)
{
	struct dir_subject_pin one;
	struct dir_pin_rec *pins = NULL;
	size_t n = 0;
	int r;

	if ((r = from->ops->subject_pin_list(from->be, uid, &pins, &n)) != 0)
		return r;
	for (size_t i = 0; r == 0 && i < n; i++) {
		one.sector = pins[i].sector;
		one.sub = pins[i].sub;
		if ((r = to->ops->subject_pin_add(to->be, uid, &one, 1)) == 0)
			c->pins++;
	}
	dir_pin_list_free(pins, n);
	return r;
}

/* The person's upstream links (one already in the target stays as it is). */
static int
copy_upstream_links(struct dir *from, struct dir *to, const char *uid,
    struct dir_copy_counts *c)
{
	struct dir_upstream_link *k = NULL;
	size_t n = 0;
	int r;

	if ((r = from->ops->ulink_list(from->be, uid, &k, &n)) != 0)
		return r;
	for (size_t i = 0; r == 0 && i < n; i++) {
		if ((r = to->ops->ulink_add(to->be, k[i].upstream, k[i].sub, uid,
		    k[i].created)) == 0)
			c->upstream_links++;
		else if (r == YH_ERR_EXISTS)
			r = 0;
	}
	free(k);
	return r;
}

/* The certificates bound to the person (a binding already in the target stays). */
static int
copy_cert_bindings(struct dir *from, struct dir *to, const char *uid,
    struct dir_copy_counts *c)
{
	struct dir_cert_binding *b = NULL;
	size_t n = 0;
	int r;

	if ((r = from->ops->cert_list(from->be, uid, &b, &n)) != 0)
		return r;
	for (size_t i = 0; r == 0 && i < n; i++) {
		if ((r = to->ops->cert_bind(to->be, &b[i])) == 0)
			c->cert_bindings++;
		else if (r == YH_ERR_EXISTS)
			r = 0;
	}
	free(b);
	return r;
}

/* The person's verification history, when the target has none for them (a copy done
 * before wrote it). */
static int
copy_loa_history(struct dir *from, struct dir *to, const char *uid,
    struct dir_copy_counts *c)
{
	struct dir_loa *h = NULL, *there = NULL;
	size_t n = 0, nthere = 0;
	int r;

	if ((r = to->ops->person_loa_history(to->be, uid, &there, &nthere)) == 0 &&
	    nthere == 0 && (r = from->ops->person_loa_history(from->be, uid, &h, &n)) == 0 &&
	    n > 0 && (r = to->ops->loa_import(to->be, uid, h, n)) == 0)
		c->loa_events += n;
	dir_loa_list_free(h, n);
	dir_loa_list_free(there, nthere);
	return r;
}

/* The person's own records that hang off the person: password, TOTP, consents, legacy
 * links, copied from `from` to `to` (rec already there). Counted in c. */
static int
copy_person_records(struct dir *from, struct dir *to, const char *uid,
    struct dir_copy_counts *c)
{
	struct dir_cred cred;
	struct dir_totp_rec t, there;
	struct dir_consent *cs = NULL;
	struct dir_legacy *lg = NULL;
	size_t ncs = 0, nlg = 0;
	int r;

	memset(&cred, 0, sizeof(cred));
	if ((r = from->ops->cred_get(from->be, uid, &cred)) == 0) {
		r = to->ops->cred_set(to->be, uid, cred.scheme, cred.hash, cred.salt,
		    cred.updated);
		c->passwords += r == 0;
	} else if (r == YH_ERR_NOT_FOUND)
		r = 0;
	dir_cred_clear(&cred);
	memset(&t, 0, sizeof(t));
	memset(&there, 0, sizeof(there));
	/* a TOTP enrolment already in the target keeps its last step (no replay window) */
	if (r == 0 && (r = from->ops->totp_get(from->be, uid, &t)) == 0) {
		if ((r = to->ops->totp_get(to->be, uid, &there)) == YH_ERR_NOT_FOUND &&
		    (r = to->ops->totp_set(to->be, uid, t.seed_sealed, t.confirmed, t.created)) ==
		    0 && t.last_step >= 0)
			r = to->ops->totp_consume(to->be, uid, t.last_step);
		c->totp += r == 0;
	} else if (r == YH_ERR_NOT_FOUND)
		r = 0;
	free(t.seed_sealed);
	free(there.seed_sealed);
	if (r == 0 && (r = from->ops->consent_list(from->be, uid, &cs, &ncs)) == 0)
		for (size_t i = 0; r == 0 && i < ncs; i++) {
			const char *names[DIR_SCOPES_MAX];
			char *copy = NULL;
			size_t n = 0;

			if ((r = split_scopes(cs[i].scopes, &copy, names, &n)) == 0)
				r = to->ops->consent_add(to->be, uid, cs[i].client_id, names, n,
				    cs[i].updated);
			free(copy);
			c->consents += r == 0;
		}
	dir_consent_list_free(cs, ncs);
	if (r == 0 && (r = from->ops->legacy_list(from->be, uid, &lg, &nlg)) == 0)
		for (size_t i = 0; r == 0 && i < nlg; i++) {
			if ((r = to->ops->legacy_add(to->be, &lg[i])) == YH_ERR_EXISTS)
				r = 0;
			c->legacy_links += r == 0;
		}
	dir_legacy_list_free(lg, nlg);
	if (r == 0)
		r = copy_pins(from, to, uid, c);
	if (r == 0)
		r = copy_upstream_links(from, to, uid, c);
	if (r == 0)
		r = copy_cert_bindings(from, to, uid, c);
	if (r == 0)
		r = copy_loa_history(from, to, uid, c);
	return r;
}

/* One person: added with their privacy consents (already there: left as is), then the
 * records that hang off them. */
static int
copy_person(struct dir *from, struct dir *to, struct dir_person_rec *rec,
    struct dir_copy_counts *c, char *err, size_t errsz)
{
	struct dir_privacy *pv = NULL;
	struct dir_person_rec there;
	size_t npv = 0;
	int r;

	if ((r = from->ops->privacy_list(from->be, rec->p.uid, &pv, &npv)) != 0)
		goto out;
	rec->consents = pv;
	rec->nconsents = npv;
	if ((r = to->ops->person_add(to->be, rec)) == 0)
		c->persons_added++;
	else if (r == YH_ERR_EXISTS) {
		/* the same uid: copied before; another one holding the ID number or the
		 * username: a conflict the operator must look at */
		memset(&there, 0, sizeof(there));
		if ((r = to->ops->person_find(to->be, DIR_PK_UID, rec->p.uid, NULL, &there)) ==
		    0)
			c->persons_there++;
		else if (r == YH_ERR_NOT_FOUND) {
			r = YH_ERR_CONFLICT;
			snprintf(err, errsz, "person %s: another person in the target holds the "
			    "same ID number or username", rec->p.uid);
		}
		dir_person_rec_clear(&there);
	}
	rec->consents = NULL;
	rec->nconsents = 0;
	if (r == 0 && (r = copy_person_records(from, to, rec->p.uid, c)) != 0)
		snprintf(err, errsz, "person %s: %s", rec->p.uid, yh_strerror(r));
out:
	dir_privacy_list_free(pv, npv);
	if (r != 0 && err[0] == '\0')
		snprintf(err, errsz, "person %s: %s", rec->p.uid, yh_strerror(r));
	return r;
}

/* The console permissions of the staff relations among m (none: nothing written). */
static int
copy_console(struct dir *from, struct dir *to, const struct dir_mandate *m, size_t n)
{
	char perms[DIR_CONSOLE_PERMS_MAX + 1];
	int r = 0;

	for (size_t i = 0; r == 0 && i < n; i++) {
		if (strcmp(m[i].role, DIR_ROLE_STAFF) != 0)
			continue;
		if ((r = from->ops->console_get(from->be, m[i].id, perms)) == 0 &&
		    perms[0] != '\0')
			r = to->ops->console_set(to->be, m[i].id, perms, "directory copy",
			    yh_now());
	}
	return r;
}

/* One organization with its history and relations (already there: left as is). */
static int
copy_org(struct dir *from, struct dir *to, const struct dir_org *o,
    struct dir_copy_counts *c, char *err, size_t errsz)
{
	struct dir_org there;
	struct dir_org_change *h = NULL;
	struct dir_mandate *m = NULL;
	size_t nh = 0, nm = 0;
	int r;

	memset(&there, 0, sizeof(there));
	if ((r = to->ops->org_find(to->be, DIR_OK_UID, o->uid, &there)) == 0) {
		dir_org_clear(&there);
		c->orgs_there++;
		return 0;
	}
	if (r != YH_ERR_NOT_FOUND)
		goto out;
	if ((r = from->ops->org_history(from->be, o->uid, &h, &nh)) != 0 ||
	    (r = from->ops->mandate_list(from->be, true, o->uid, 0, &m, &nm)) != 0)
		goto out;
	if ((r = to->ops->org_import(to->be, o, h, nh, m, nm)) == YH_ERR_EXISTS) {
		r = YH_ERR_CONFLICT;
		snprintf(err, errsz, "organization %s: another organization in the target holds "
		    "the same code or credit code", o->uid);
		goto out;
	}
	if (r == 0 && (r = copy_console(from, to, m, nm)) == 0) {
		c->orgs_added++;
		c->relations += nm;
		c->org_changes += nh;
	}
out:
	dir_org_history_free(h, nh);
	dir_mandate_list_free(m, nm);
	if (r != 0 && err[0] == '\0')
		snprintf(err, errsz, "organization %s: %s", o->uid, yh_strerror(r));
	return r;
}

/* Every organization, after the persons their relations name. */
static int
copy_orgs(struct dir *from, struct dir *to, struct dir_copy_counts *c, char *err,
    size_t errsz)
{
	struct dir_org *orgs = NULL;
	size_t n = 0;
	int r;

	do {
		if ((r = from->ops->org_list(from->be, c->orgs, DIR_LIST_MAX, &orgs, &n)) != 0) {
			snprintf(err, errsz, "%s", yh_strerror(r));
			return r;
		}
		for (size_t i = 0; r == 0 && i < n; i++)
			r = copy_org(from, to, &orgs[i], c, err, errsz);
		dir_org_list_free(orgs, n);
		orgs = NULL;
		if (r != 0)
			return r;
		c->orgs += n;
	} while (n == DIR_LIST_MAX);
	if (c->orgs_added + c->orgs_there != c->orgs) {
		snprintf(err, errsz, "counts do not match: %llu organizations in the source, "
		    "%llu copied", (unsigned long long)c->orgs,
		    (unsigned long long)(c->orgs_added + c->orgs_there));
		return YH_ERR_CONFLICT;
	}
	return 0;
}

int
dir_copy(struct dir *from, struct dir *to, struct dir_copy_counts *c, char *err,
    size_t errsz)
{
	struct dir_person_rec *recs = NULL;
	size_t n = 0;
	uint64_t offset = 0;
	int r;

	memset(c, 0, sizeof(*c));
	err[0] = '\0';
	if (from->vault != to->vault) {
		snprintf(err, errsz, "both directories must be opened with the same vault");
		return YH_ERR_INVALID;
	}
	do {
		if ((r = from->ops->person_list(from->be, offset, DIR_LIST_MAX, &recs, &n)) != 0)
			goto fail;
		for (size_t i = 0; r == 0 && i < n; i++)
			r = copy_person(from, to, &recs[i], c, err, errsz);
		for (size_t i = 0; i < n; i++)
			dir_person_rec_clear(&recs[i]);
		free(recs);
		recs = NULL;
		if (r != 0)
			return r;
		offset += n;
	} while (n == DIR_LIST_MAX);
	c->persons = offset;
	if ((r = copy_orgs(from, to, c, err, errsz)) != 0)
		return r;
	/* the counts: every person of the source is in the target */
	if ((r = from->ops->person_count(from->be, &c->source_persons)) != 0 ||
	    (r = to->ops->person_count(to->be, &c->target_persons)) != 0)
		goto fail;
	if (c->source_persons != c->persons || c->persons_added + c->persons_there !=
	    c->persons || c->target_persons < c->source_persons) {
		snprintf(err, errsz, "counts do not match: %llu persons in the source, %llu "
		    "copied, %llu in the target", (unsigned long long)c->source_persons,
		    (unsigned long long)(c->persons_added + c->persons_there),
		    (unsigned long long)c->target_persons);
		return YH_ERR_CONFLICT;
	}
	return 0;
fail:
	snprintf(err, errsz, "%s", yh_strerror(r));
	return r;
}
