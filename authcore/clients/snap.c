/*
 * A snapshot of the registry as data: making and freeing one, the path of a file in the
 * state directory, the identity of a file on disk, and the lookups every reader does.
 * Below the loader (load.c), the key file (key.c) and the handle (registry.c).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "authcore/clients/clients_int.h"
#include "common/secmem.h"

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

static void
client_free(struct clients_client *c)
{
	free((void *)c->redirect_uris);
	free((void *)c->post_logout_uris);
	free((void *)c->cas_services);
	free((void *)c->cas_prefixes);
	free((void *)c->cas_proxy_callbacks);
	free((void *)c->allowed_origins);
	free((void *)c->cors_origins);
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
	free(s->origins);
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

const struct clients_client *
clients_cas_find(const struct clients_snap *s, const char *service)
{
	if (!clients_cas_service_presentable(service))
		return NULL;
	for (size_t i = 0; i < s->n; i++)
		if (clients_cas_service_matches(&s->v[i], service))
			return &s->v[i];
	return NULL;
}

bool
clients_grant_ok(const struct clients_client *c, unsigned grant)
{
	return c != NULL && grant != 0 && (c->grants & grant) == grant;
}
