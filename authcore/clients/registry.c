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
