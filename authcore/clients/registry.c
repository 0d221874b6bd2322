/*
 * The registry handle and its snapshots: open, reload when a file changed, hand out
 * reference-counted snapshots, look clients up in them.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "authcore/clients/clients_int.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/timeutil.h"

int
clients_dir_path(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX_, "%s/%s", dir, name);

	return (n < 0 || n >= PATH_MAX_) ? YH_ERR_TOO_LONG : 0;
}

void
clients_ident_of(const struct stat *st, struct file_ident *id)
{
	memset(id, 0, sizeof(*id));
	id->present = true;
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	id->size = st->st_size;
	id->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

static bool
ident_eq(const struct file_ident *a, const struct file_ident *b)
{
	if (a->present != b->present)
		return false;
	return !a->present || (a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	    a->mtime_ns == b->mtime_ns);
}

static bool
idents_eq(const struct idents *a, const struct idents *b)
{
	return ident_eq(&a->state, &b->state) && ident_eq(&a->apps, &b->apps);
}

static int
stat_ident(const char *path, struct file_ident *id)
{
	struct stat st;

	memset(id, 0, sizeof(*id));
	if (stat(path, &st) != 0)
		return errno == ENOENT ? 0 : YH_ERR_IO;
	clients_ident_of(&st, id);
	return 0;
}

static void
client_free(struct clients_client *c)
{
	free((void *)c->redirect_uris);
	free((void *)c->post_logout_uris);
	free((void *)c->jwks_json);
	tok_keyset_clear(&c->jwks);
	yh_wipe(c->secret_hash, sizeof(c->secret_hash));
}

void
clients_snap_free(struct clients_snap *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		client_free(&s->v[i]);
	free(s->v);
	json_decref(s->root);
	json_decref(s->apps_root);
	free(s->state_path);
	free(s->apps_path);
	yh_freezero(s, sizeof(*s));
}

static void
snap_free_hdr(struct yh_snap *h)
{
	clients_snap_free(YH_SNAP_OF(h, struct clients_snap, hdr));
}

struct clients_snap *
clients_snap_new(void)
{
	struct clients_snap *s = calloc(1, sizeof(*s));

	if (s != NULL)
		yh_snap_init(&s->hdr, snap_free_hdr);
	return s;
}

static int
dir_ready(const char *dir, bool create, char *err, size_t errsz)
{
	struct stat st;

	if (create && mkdir(dir, 0700) != 0 && errno != EEXIST)
		return YH_FAIL(YH_ERR_IO, err, errsz, "cannot create %s: %s", dir, strerror(errno));
	if (stat(dir, &st) != 0)
		return YH_FAIL(errno == ENOENT ? YH_ERR_NOT_FOUND : YH_ERR_IO, err, errsz,
		    "state directory %s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "state directory %s: not a directory",
		    dir);
	return 0;
}

/* Loads the file; on success swaps the snapshot in. Caller holds reload_mu. */
static int
reload_locked(struct clients_registry *r, char *err, size_t errsz)
{
	struct clients_snap *s;
	struct idents id;
	int rc;

	if ((rc = clients_snap_load(r, &s, &id, err, errsz)) != 0) {
		r->failed = id;
		r->have_failed = true;
		return rc;
	}
	r->loaded = id;
	r->have_failed = false;
	yh_snap_publish(&r->slot, &s->hdr);
	return 0;
}

int
clients_open(const char *state_dir, const struct clients_opts *opts,
    struct clients_registry **out, char *err, size_t errsz)
{
	struct clients_registry *r;
	int rc;

	*out = NULL;
	if (state_dir == NULL || state_dir[0] == '\0')
		return YH_FAIL(YH_ERR_CONFIG, err, errsz, "no state directory");
	if ((rc = dir_ready(state_dir, opts != NULL && opts->create, err, errsz)) != 0)
		return rc;
	if ((r = calloc(1, sizeof(*r))) == NULL || (r->dir = strdup(state_dir)) == NULL) {
		free(r);
		return YH_FAIL(YH_ERR_ALLOC, err, errsz, "out of memory");
	}
	if (yh_snap_slot_init(&r->slot) != 0) {
		free(r->dir);
		free(r);
		return YH_FAIL(YH_ERR_INTERNAL, err, errsz, "cannot make a mutex");
	}
	if (opts != NULL)
		r->opts = *opts;
	if (r->opts.check_interval_ms == 0)
		r->opts.check_interval_ms = CLIENTS_CHECK_INTERVAL_MS;
	if (r->opts.mono_ms == NULL)
		r->opts.mono_ms = yh_mono_ms;
	pthread_mutex_init(&r->reload_mu, NULL);
	if (clients_dir_path(r->path, state_dir, CLIENTS_FILE) != 0) {
		rc = YH_FAIL(YH_ERR_TOO_LONG, err, errsz, "%s: path too long", state_dir);
		goto out;
	}
	if (r->opts.apps_file != NULL && yh_strlcpy(r->apps_path, r->opts.apps_file,
	    sizeof(r->apps_path)) != 0) {
		rc = YH_FAIL(YH_ERR_TOO_LONG, err, errsz, "clients.file: path too long");
		goto out;
	}
	r->opts.apps_file = NULL;  /* the caller's string: not kept */
	rc = reload_locked(r, err, errsz);
	r->next_check = r->opts.mono_ms() + (r->opts.check_interval_ms > 0 ?
	    r->opts.check_interval_ms : 0);
out:
	if (rc != 0) {
		clients_close(r);
		r = NULL;
	}
	*out = r;
	return rc;
}

void
clients_close(struct clients_registry *r)
{
	if (r == NULL)
		return;
	yh_snap_slot_destroy(&r->slot);
	pthread_mutex_destroy(&r->reload_mu);
	free(r->dir);
	free(r);
}

int
clients_reload(struct clients_registry *r, char *err, size_t errsz)
{
	int rc;

	pthread_mutex_lock(&r->reload_mu);
	rc = reload_locked(r, err, errsz);
	pthread_mutex_unlock(&r->reload_mu);
	return rc;
}

int
clients_refresh_if_changed(struct clients_registry *r)
{
	struct idents id;
	char err[512];
	int64_t now = r->opts.mono_ms(), next = __atomic_load_n(&r->next_check,
	    __ATOMIC_ACQUIRE), interval = r->opts.check_interval_ms;
	int rc = 0;

	if (interval > 0 && now < next)
		return 0;
	if (!__atomic_compare_exchange_n(&r->next_check, &next, now + (interval > 0 ?
	    interval : 0), false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return 0;  /* another thread is checking */
	if (pthread_mutex_trylock(&r->reload_mu) != 0)
		return 0;  /* a reload is running */
	memset(&id, 0, sizeof(id));
	if (stat_ident(r->path, &id.state) != 0 || (r->apps_path[0] != '\0' &&
	    stat_ident(r->apps_path, &id.apps) != 0) || idents_eq(&id, &r->loaded) ||
	    (r->have_failed && idents_eq(&id, &r->failed)))
		goto out;
	if ((rc = reload_locked(r, err, sizeof(err))) != 0)
		yh_error("client registry not reloaded, keeping the previous one: %s", err);
	else
		yh_info("client registry reloaded from %s%s%s", r->path,
		    r->apps_path[0] != '\0' ? " and " : "", r->apps_path);
out:
	pthread_mutex_unlock(&r->reload_mu);
	return rc;
}

struct clients_snap *
clients_acquire(struct clients_registry *r)
{
	/* Never NULL: clients_open publishes a first snapshot or fails. */
	return YH_SNAP_OF(yh_snap_acquire(&r->slot), struct clients_snap, hdr);
}

void
clients_release(struct clients_snap *s)
{
	if (s != NULL)
		yh_snap_release(&s->hdr);
}

const struct clients_client *
clients_find(const struct clients_snap *s, const char *id)
{
	size_t lo = 0, hi = s->n;

	if (!clients_id_valid(id))
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(id, s->v[mid].id);
		if (c == 0)
			return &s->v[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

size_t
clients_count(const struct clients_snap *s)
{
	return s->n;
}

const struct clients_client *
clients_at(const struct clients_snap *s, size_t i)
{
	return i < s->n ? &s->v[i] : NULL;
}

bool
clients_grant_ok(const struct clients_client *c, unsigned grant)
{
	return c != NULL && grant != 0 && (c->grants & grant) == grant;
}
