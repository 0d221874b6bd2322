/*
 * The writers (authctl client add, set-secret, disable/enable, remove): under the writer lock, from the
 * file on disk, written atomically one client per line, then reloaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authcore/clients/clients_int.h"
#include "common/atomicfile.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/timeutil.h"

/* DIR/name replaced atomically (temporary file, fsync, rename, fsync DIR), mode 0600,
 * owned by opts.owner:opts.group when a group is set (the account authd's HTTP process
 * runs as: it writes the file too). */
static int
write_atomic(const struct clients_registry *r, const char *name, const char *data,
    size_t len, char *err, size_t errsz)
{
	bool own = r->opts.group != 0;
	struct yh_file_fail f;
	char dst[PATH_MAX_];
	int rc;

	if (clients_dir_path(dst, r->dir, name) != 0)
		return YH_FAIL(YH_ERR_TOO_LONG, err, errsz, "%s: path too long", r->dir);
	if ((rc = yh_file_write_atomic_owned(dst, data, len, 0600, own ? r->opts.owner :
	    (uid_t)-1, own ? r->opts.group : (gid_t)-1, YH_FILE_REPLACE, &f)) != 0)
		yh_file_fail_msg(&f, err, errsz);
	return rc;
}

/* The writers' lock: exclusive flock on DIR/clients.lock, given opts.owner:opts.group
 * when a group is set (a lock file root made first would keep the account out). *fd is
 * -1 on error. */
static int
writer_lock(const struct clients_registry *r, int *fd, char *err, size_t errsz)
{
	struct yh_file_fail f;
	char path[PATH_MAX_];
	int rc;

	*fd = -1;
	if (clients_dir_path(path, r->dir, CLIENTS_LOCK_FILE) != 0)
		return YH_FAIL(YH_ERR_TOO_LONG, err, errsz, "%s: path too long", r->dir);
	if ((rc = yh_file_lock(path, true, fd, &f)) != 0) {
		yh_file_fail_msg(&f, err, errsz);
		return rc;
	}
	if (r->opts.group != 0 && fchown(*fd, r->opts.owner, r->opts.group) != 0) {
		rc = YH_FAIL(YH_ERR_PERM, err, errsz, "%s: cannot give it to uid %u gid %u: %s",
		    path, (unsigned)r->opts.owner, (unsigned)r->opts.group, strerror(errno));
		yh_file_unlock(*fd);
		*fd = -1;
	}
	return rc;
}

static json_t *
json_str_array(const char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(a, json_string(v[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *
json_bits(unsigned bits, const char *(*name)(unsigned))
{
	json_t *a = json_array();

	for (unsigned i = 0; a != NULL && i < 32; i++)
		if ((bits & (1u << i)) && json_array_append_new(a,
		    json_string(name(1u << i))) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* Adds k: v to o, remembering a failure in *bad. */
static void
put(json_t *o, const char *k, json_t *v, bool *bad)
{
	if (v == NULL || json_object_set_new(o, k, v) != 0)
		*bad = true;
}

/* The stored form of a new client (hash is the secret's, or NULL). */
static json_t *
client_record(const struct clients_client *c, const char *kid, const unsigned char *hash)
{
	char hex[2 * CLIENTS_HASH_LEN + 1];
	json_t *o = json_object(), *jwks = NULL;
	json_error_t je;
	bool bad = o == NULL;

	if (bad)
		return NULL;
	put(o, "client_id", json_string(c->id), &bad);
	put(o, "name", json_string(c->name != NULL ? c->name : c->id), &bad);
	put(o, "created", json_integer(c->created), &bad);
	if (c->disabled)
		put(o, "disabled", json_true(), &bad);
	put(o, "auth", json_string(clients_auth_name(c->auth)), &bad);
	if (hash != NULL) {
		yh_hex_encode(hash, CLIENTS_HASH_LEN, hex);
		put(o, "secret", json_pack("{s:s,s:s,s:s}", "alg", HASH_ALG, "kid", kid, "hash",
		    hex), &bad);
	}
	put(o, "require_pkce", json_boolean(c->require_pkce), &bad);
	put(o, "redirect_uris", json_str_array(c->redirect_uris, c->n_redirect_uris), &bad);
	if (c->n_post_logout_uris > 0)
		put(o, "post_logout_redirect_uris", json_str_array(c->post_logout_uris,
		    c->n_post_logout_uris), &bad);
	if (c->n_cas_services > 0)
		put(o, "cas_services", json_str_array(c->cas_services, c->n_cas_services), &bad);
	if (c->n_cas_prefixes > 0)
		put(o, "cas_service_prefixes", json_str_array(c->cas_prefixes,
		    c->n_cas_prefixes), &bad);
	if (c->n_allowed_origins > 0)
		put(o, "allowed_origins", json_str_array(c->allowed_origins,
		    c->n_allowed_origins), &bad);
	if (c->backchannel_logout_uri != NULL)
		put(o, "backchannel_logout_uri", json_string(c->backchannel_logout_uri), &bad);
	put(o, "scopes", json_bits(c->scopes, clients_scope_name), &bad);
	put(o, "grants", json_bits(c->grants, clients_grant_name), &bad);
	put(o, "allow_id_number", json_boolean(c->allow_id_number), &bad);
	put(o, "min_loa", json_integer(c->min_loa), &bad);
	put(o, "sector", json_string(c->sector != NULL ? c->sector : c->id), &bad);
	if (c->org != NULL)
		put(o, "org", json_string(c->org), &bad);
	if (c->legacy_source != NULL)
		put(o, "legacy_source", json_string(c->legacy_source), &bad);
	if (c->cas_user != CLIENTS_CAS_USER_SUBJECT)
		put(o, "cas_user", json_string(clients_cas_user_name(c->cas_user)), &bad);
	if (c->legacy_required)
		put(o, "legacy_required", json_true(), &bad);
	if (c->require_par)
		put(o, "require_pushed_authorization_requests", json_true(), &bad);
	if (c->require_person)
		put(o, "require_person", json_true(), &bad);
	if (c->n_cas_proxy_callbacks > 0)
		put(o, "cas_proxy_callbacks", json_str_array(c->cas_proxy_callbacks,
		    c->n_cas_proxy_callbacks), &bad);
	if (c->cas_accept_proxy)
		put(o, "cas_accept_proxy", json_true(), &bad);
	if (c->access_token_lifetime != 0)
		put(o, "access_token_lifetime", json_integer(c->access_token_lifetime), &bad);
	if (c->id_token_lifetime != 0)
		put(o, "id_token_lifetime", json_integer(c->id_token_lifetime), &bad);
	if (c->refresh_token_lifetime != 0)
		put(o, "refresh_token_lifetime", json_integer(c->refresh_token_lifetime), &bad);
	if (c->id_token_alg != TOK_ALG_UNSET)
		put(o, "id_token_signed_response_alg", json_string(tok_alg_name(c->id_token_alg)),
		    &bad);
	if (c->access_token_alg != TOK_ALG_UNSET)
		put(o, "access_token_signed_response_alg",
		    json_string(tok_alg_name(c->access_token_alg)), &bad);
	if (c->jwks_json != NULL) {
		jwks = json_loads(c->jwks_json, JSON_REJECT_DUPLICATES, &je);
		put(o, "jwks", jwks, &bad);
	}
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Writes the document: one client per line (so file:line messages point at a client). */
static int
write_doc(const struct clients_registry *r, json_t *arr, char *err, size_t errsz)
{
	struct yh_buf b;
	size_t i;
	json_t *o;
	int rc;

	yh_buf_init(&b, CLIENTS_FILE_MAX);
	rc = yh_buf_puts(&b, "{\n  \"format\": \"" CLIENTS_FORMAT "\",\n  \"clients\": [");
	json_array_foreach(arr, i, o) {
		char *line = json_dumps(o, JSON_COMPACT);
		if (line == NULL) {
			rc = YH_ERR_ALLOC;
			break;
		}
		if (rc == 0)
			rc = yh_buf_printf(&b, "%s\n    %s", i > 0 ? "," : "", line);
		free(line);
	}
	if (rc == 0)
		rc = yh_buf_puts(&b, json_array_size(arr) > 0 ? "\n  ]\n}\n" : "]\n}\n");
	if (rc != 0)
		rc = YH_FAIL(rc, err, errsz, "cannot serialize the registry: %s", yh_strerror(rc));
	else if (r->opts.file_max > 0 && b.len > r->opts.file_max)
		rc = YH_FAIL(YH_ERR_TOO_LONG, err, errsz, "the registry would take %zu bytes, more "
		    "than the %zu it may (directory.ldap_value_max: it is shared through the "
		    "LDAP directory as one value); nothing was changed", b.len,
		    r->opts.file_max);
	else
		rc = write_atomic(r, CLIENTS_FILE, b.data, b.len, err, errsz);
	yh_buf_free(&b);
	return rc;
}

/* The file's current clients array (a new reference; empty when there is no file),
 * checked by a full load. Caller holds the writer lock. */
static int
disk_clients(struct clients_registry *r, struct clients_snap **snap, json_t **arr,
    char *err, size_t errsz)
{
	struct idents id;
	int rc;

	*arr = NULL;
	if ((rc = clients_snap_load(r, snap, &id, err, errsz)) != 0)
		return rc;
	if ((*snap)->root == NULL)
		*arr = json_array();
	else  /* a shallow copy: the snapshot's strings stay untouched */
		*arr = json_copy(json_object_get((*snap)->root, "clients"));
	return *arr != NULL ? 0 : YH_FAIL(YH_ERR_ALLOC, err, errsz, "out of memory");
}

/* Writers leave the operator's apps file alone: an id declared there is refused. */
static int
not_in_apps_file(const struct clients_snap *snap, const char *id, char *err, size_t errsz)
{
	const struct clients_client *c = clients_find(snap, id);

	if (c == NULL || !c->from_apps_file)
		return 0;
	return YH_FAIL(YH_ERR_EXISTS, err, errsz, "client \"%s\" is declared in %s:%d "
	    "(clients.file): change it there", id, c->file, c->line);
}

/* No registered app has a CAS service that one of c's would overlap. */
static int
cas_free(const struct clients_snap *snap, const struct clients_client *c, char *err,
    size_t errsz)
{
	const char *mine, *theirs;

	for (size_t i = 0; clients_has_cas(c) && i < clients_count(snap); i++) {
		const struct clients_client *o = clients_at(snap, i);

		if (clients_cas_overlap(c, o, &mine, &theirs))
			return YH_FAIL(YH_ERR_EXISTS, err, errsz, "CAS service %s overlaps %s of "
			    "client \"%s\": one service URL must name one app", mine, theirs,
			    o->id);
	}
	return 0;
}

/* Normalizes the input: defaults, implied flags, creation time. */
static void
normalize(const struct clients_client *in, struct clients_client *c)
{
	*c = *in;
	if (c->auth == CLIENTS_AUTH_NONE)
		c->require_pkce = true;
	if (c->allow_id_number)
		c->scopes |= CLIENTS_SCOPE_ID_NUMBER;
	if (c->created == 0)
		c->created = yh_now();
	c->has_secret = false;
	tok_keyset_init(&c->jwks);
}

int
clients_add(struct clients_registry *r, const struct clients_client *in,
    const char *secret, char *err, size_t errsz)
{
	struct clients_client c;
	struct clients_snap *snap = NULL;
	unsigned char hash[CLIENTS_HASH_LEN];
	char kid[CLIENTS_KID_LEN + 1] = "";
	json_t *arr = NULL, *rec = NULL;
	int lock = -1, rc;

	memset(hash, 0, sizeof(hash));
	normalize(in, &c);
	if ((rc = clients_client_check(&c, err, errsz)) != 0 ||
	    (rc = clients_algs_check(&c, r->opts.token_algs, err, errsz)) != 0)
		return rc;
	if ((c.auth == CLIENTS_AUTH_SECRET) != (secret != NULL))
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "%s", secret != NULL ?
		    "a secret is only for client_secret clients" : "a secret is required");
	if ((rc = writer_lock(r, &lock, err, errsz)) != 0 ||
	    (rc = disk_clients(r, &snap, &arr, err, errsz)) != 0)
		goto out;
	if ((rc = not_in_apps_file(snap, c.id, err, errsz)) != 0)
		goto out;
	if (clients_find(snap, c.id) != NULL) {
		rc = YH_FAIL(YH_ERR_EXISTS, err, errsz, "client \"%s\" already exists", c.id);
		goto out;
	}
	if ((rc = cas_free(snap, &c, err, errsz)) != 0)
		goto out;
	if (snap->n >= CLIENTS_MAX) {
		rc = YH_FAIL(YH_ERR_LIMIT, err, errsz, "the registry is full (%d clients)",
		    CLIENTS_MAX);
		goto out;
	}
	if (secret != NULL && (rc = clients_hash_new_secret(r, c.id, secret, kid, hash, err,
	    errsz)) != 0)
		goto out;
	if ((rec = client_record(&c, kid, secret != NULL ? hash : NULL)) == NULL ||
	    json_array_append_new(arr, rec) != 0) {
		rc = YH_FAIL(YH_ERR_ALLOC, err, errsz, "out of memory");
		goto out;
	}
	if ((rc = write_doc(r, arr, err, errsz)) != 0)
		goto out;
	yh_file_unlock(lock);
	lock = -1;
	rc = clients_reload(r, err, errsz);
out:
	yh_file_unlock(lock);
	yh_wipe(hash, sizeof(hash));
	json_decref(arr);
	clients_release(snap);
	return rc;
}

/* The index of client id in a checked clients array, or (size_t)-1. */
static size_t
index_of(json_t *arr, const char *id)
{
	size_t i;
	json_t *o;

	json_array_foreach(arr, i, o)
		if (strcmp(json_string_value(json_object_get(o, "client_id")), id) == 0)
			return i;
	return (size_t)-1;
}

/*
 * One change to the client id of clients.json: under the writer lock, from the file on
 * disk (an app of the apps file is refused), change edits the file's clients array at
 * the client's index (it sets *unchanged when there is nothing to write); the document
 * is then written and the registry reloaded.
 */
static int
change_one(struct clients_registry *r, const char *id,
    int (*change)(struct clients_registry *, const struct clients_client *, json_t *,
    size_t, const void *, bool *, char *, size_t), const void *ctx, char *err,
    size_t errsz)
{
	struct clients_snap *snap = NULL;
	const struct clients_client *c;
	json_t *arr = NULL;
	size_t at;
	bool unchanged = false;
	int lock = -1, rc;

	if (!clients_id_valid(id))
		return YH_FAIL(YH_ERR_NOT_FOUND, err, errsz, "no client \"%s\"", id);
	if ((rc = writer_lock(r, &lock, err, errsz)) != 0 ||
	    (rc = disk_clients(r, &snap, &arr, err, errsz)) != 0 ||
	    (rc = not_in_apps_file(snap, id, err, errsz)) != 0)
		goto out;
	if ((c = clients_find(snap, id)) == NULL || (at = index_of(arr, id)) == (size_t)-1) {
		rc = YH_FAIL(YH_ERR_NOT_FOUND, err, errsz, "no client \"%s\"", id);
		goto out;
	}
	if ((rc = change(r, c, arr, at, ctx, &unchanged, err, errsz)) != 0 || unchanged ||
	    (rc = write_doc(r, arr, err, errsz)) != 0)
		goto out;
	yh_file_unlock(lock);
	lock = -1;
	rc = clients_reload(r, err, errsz);
out:
	yh_file_unlock(lock);
	json_decref(arr);
	clients_release(snap);
	return rc;
}

/* Replaces element at of arr by o (a new reference, consumed). */
static int
replace_at(json_t *arr, size_t at, json_t *o, char *err, size_t errsz)
{
	int rc = o != NULL && json_array_set(arr, at, o) == 0 ? 0 :
	    YH_FAIL(YH_ERR_ALLOC, err, errsz, "out of memory");

	json_decref(o);
	return rc;
}

/* change_one's edit for clients_set_secret: ctx is the secret. */
static int
edit_secret(struct clients_registry *r, const struct clients_client *c, json_t *arr,
    size_t at, const void *ctx, bool *unchanged, char *err, size_t errsz)
{
	unsigned char hash[CLIENTS_HASH_LEN];
	char kid[CLIENTS_KID_LEN + 1] = "", hex[2 * CLIENTS_HASH_LEN + 1];
	json_t *o = NULL;
	int rc;

	(void)unchanged;
	memset(hash, 0, sizeof(hash));
	if (c->auth != CLIENTS_AUTH_SECRET)
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "client \"%s\" does not use a secret "
		    "(%s)", c->id, clients_auth_name(c->auth));
	if ((rc = clients_hash_new_secret(r, c->id, ctx, kid, hash, err, errsz)) != 0)
		goto out;
	yh_hex_encode(hash, CLIENTS_HASH_LEN, hex);
	if ((o = json_deep_copy(json_array_get(arr, at))) != NULL &&
	    json_object_set_new(o, "secret", json_pack("{s:s,s:s,s:s}", "alg", HASH_ALG, "kid",
	    kid, "hash", hex)) != 0) {
		json_decref(o);
		o = NULL;
	}
	rc = replace_at(arr, at, o, err, errsz);
out:
	yh_wipe(hash, sizeof(hash));
	return rc;
}

int
clients_set_secret(struct clients_registry *r, const char *id, const char *secret,
    char *err, size_t errsz)
{
	return change_one(r, id, edit_secret, secret, err, errsz);
}

/* change_one's edit for clients_set_disabled: ctx points at the new state. */
static int
edit_disabled(struct clients_registry *r, const struct clients_client *c, json_t *arr,
    size_t at, const void *ctx, bool *unchanged, char *err, size_t errsz)
{
	bool disabled = *(const bool *)ctx;
	json_t *o;

	(void)r;
	if (c->disabled == disabled) {
		*unchanged = true;
		return 0;
	}
	if ((o = json_deep_copy(json_array_get(arr, at))) != NULL &&
	    (disabled ? json_object_set_new(o, "disabled", json_true()) :
	    json_object_del(o, "disabled")) != 0) {
		json_decref(o);
		o = NULL;
	}
	return replace_at(arr, at, o, err, errsz);
}

int
clients_set_disabled(struct clients_registry *r, const char *id, bool disabled,
    char *err, size_t errsz)
{
	return change_one(r, id, edit_disabled, &disabled, err, errsz);
}

/* change_one's edit for clients_remove. */
static int
edit_remove(struct clients_registry *r, const struct clients_client *c, json_t *arr,
    size_t at, const void *ctx, bool *unchanged, char *err, size_t errsz)
{
	(void)r;
	(void)c;
	(void)ctx;
	(void)unchanged;
	return json_array_remove(arr, at) == 0 ? 0 :
	    YH_FAIL(YH_ERR_ALLOC, err, errsz, "out of memory");
}

int
clients_remove(struct clients_registry *r, const char *id, char *err, size_t errsz)
{
	return change_one(r, id, edit_remove, NULL, err, errsz);
}

/* ---- the whole file, for the nodes that share one registry ---- */

int
clients_file_read(struct clients_registry *r, char **doc, size_t *len, char *err,
    size_t errsz)
{
	int fd, rc;

	*doc = NULL;
	*len = 0;
	if ((fd = open(r->path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno != ENOENT)
			return YH_FAIL(YH_ERR_IO, err, errsz, "%s: %s", r->path, strerror(errno));
		return (*doc = strdup("")) != NULL ? 0 : YH_ERR_ALLOC;
	}
	rc = yh_file_read_fd(fd, CLIENTS_FILE_MAX, false, doc, len);
	close(fd);
	if (rc != 0)
		return YH_FAIL(rc, err, errsz, "%s: %s", r->path, yh_strerror(rc));
	return 0;
}

/* Puts back the file clients_file_replace found (none when it was empty) after the
 * document written in its place did not load, and reloads it; failures are logged (the
 * caller answers the document's error). */
static void
restore(struct clients_registry *r, const char *was, size_t waslen)
{
	char dst[PATH_MAX_], err[512] = "";
	int rc;

	if (clients_dir_path(dst, r->dir, CLIENTS_FILE) != 0)
		rc = YH_FAIL(YH_ERR_TOO_LONG, err, sizeof(err), "%s: path too long", r->dir);
	else if (waslen == 0)
		rc = unlink(dst) == 0 || errno == ENOENT ? 0 : YH_FAIL(YH_ERR_IO, err,
		    sizeof(err), "%s: %s", dst, strerror(errno));
	else
		rc = write_atomic(r, CLIENTS_FILE, was, waslen, err, sizeof(err));
	if (rc == 0)
		rc = clients_reload(r, err, sizeof(err));
	if (rc != 0)
		yh_error("client registry: cannot put back the file replaced: %s", err);
}

int
clients_file_replace(struct clients_registry *r, const char *doc, size_t len,
    const char *was, size_t waslen, char *err, size_t errsz)
{
	json_error_t je;
	json_t *root;
	char *now = NULL;
	size_t nowlen = 0;
	int lock = -1, rc;

	if (len > CLIENTS_FILE_MAX)
		return YH_FAIL(YH_ERR_TOO_LONG, err, errsz, "the registry is over %u bytes",
		    CLIENTS_FILE_MAX);
	if ((root = json_loadb(doc, len, JSON_REJECT_DUPLICATES, &je)) == NULL)
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "not a registry: %s", je.text);
	rc = json_is_object(root) && json_is_array(json_object_get(root, "clients")) &&
	    json_is_string(json_object_get(root, "format")) && strcmp(json_string_value(
	    json_object_get(root, "format")), CLIENTS_FORMAT) == 0 ? 0 :
	    YH_FAIL(YH_ERR_INVALID, err, errsz, "not a registry of format %s", CLIENTS_FORMAT);
	json_decref(root);
	/* under the lock, the file must still be what the caller read */
	if (rc == 0 && (rc = writer_lock(r, &lock, err, errsz)) == 0 &&
	    (rc = clients_file_read(r, &now, &nowlen, err, errsz)) == 0 &&
	    (nowlen != waslen || memcmp(now, was, waslen) != 0))
		rc = YH_FAIL(YH_ERR_BUSY, err, errsz, "%s changed meanwhile", r->path);
	free(now);
	/* still under the lock: a document that does not load is taken back */
	if (rc == 0 && (rc = write_atomic(r, CLIENTS_FILE, doc, len, err, errsz)) == 0 &&
	    (rc = clients_reload(r, err, errsz)) != 0)
		restore(r, was, waslen);
	yh_file_unlock(lock);
	return rc;
}
