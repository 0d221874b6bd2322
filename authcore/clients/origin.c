/*
 * CORS origins (clients.h): the rules of a registered allowed origin, the origins a public
 * client's browser code may call from (derived when a snapshot loads) and the lookups
 * authd's token-side endpoints make per request.
 */
#include <stdlib.h>
#include <string.h>

#include "authcore/clients/clients_int.h"

int
clients_origin_check(const char *origin, const char **why)
{
	char canon[CLIENTS_URI_MAX + 1];
	const char *auth;
	int rc;

	*why = NULL;
	if (origin != NULL && strchr(origin, '*') != NULL) {
		*why = "no wildcard: register each origin";
		return YH_ERR_INVALID;
	}
	if ((rc = clients_uri_check(origin, true, why)) != 0)
		return rc;
	auth = strstr(origin, "://") + 3;   /* https or http: clients_uri_check */
	if (auth[strcspn(auth, "/?")] != '\0') {
		*why = "an origin is scheme://host[:port], with no path (not even '/') or query";
		return YH_ERR_INVALID;
	}
	if (clients_origin_of(origin, canon, sizeof(canon)) != 0 || strcmp(canon, origin) != 0) {
		*why = "write it as a browser sends it in Origin: the host in lower case, no "
		    "default port (:443 for https, :80 for http)";
		return YH_ERR_INVALID;
	}
	return 0;
}

int
clients_origins_check(const struct clients_client *c, char *err, size_t errsz)
{
	const char *why;
	int rc;

	if (c->n_allowed_origins == 0)
		return 0;
	if (c->auth != CLIENTS_AUTH_NONE ||
	    (c->grants & CLIENTS_GRANT_AUTHORIZATION_CODE) == 0)
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "allowed_origins: only for a public "
		    "client with the authorization_code grant (a confidential client's secret or "
		    "key never goes to a browser)");
	if (c->n_allowed_origins > CLIENTS_ORIGINS_MAX)
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "allowed_origins: more than %d",
		    CLIENTS_ORIGINS_MAX);
	for (size_t i = 0; i < c->n_allowed_origins; i++) {
		const char *o = c->allowed_origins[i];

		if ((rc = clients_origin_check(o, &why)) != 0)
			return YH_FAIL(YH_ERR_INVALID, err, errsz, "allowed_origins[%zu]: %s: %s", i,
			    o != NULL ? o : "(null)", why);
		for (size_t j = 0; j < i; j++)
			if (strcmp(o, c->allowed_origins[j]) == 0)
				return YH_FAIL(YH_ERR_INVALID, err, errsz,
				    "allowed_origins[%zu]: %s listed twice", i, o);
	}
	return 0;
}

int
clients_cors_derive(struct clients_client *c)
{
	char o[CLIENTS_URIS_MAX][CLIENTS_URI_MAX + 1];
	const char *all[CLIENTS_URIS_MAX + CLIENTS_ORIGINS_MAX];
	size_t n = 0, bytes = 0, nr = 0;
	char **v, *p;

	c->cors_origins = NULL;
	c->n_cors_origins = 0;
	if (c->auth != CLIENTS_AUTH_NONE)
		return 0;
	for (size_t i = 0; i < c->n_redirect_uris && nr < CLIENTS_URIS_MAX; i++)
		if (clients_origin_of(c->redirect_uris[i], o[nr], sizeof(o[nr])) == 0 &&
		    !clients_uri_in(all, n, o[nr]))
			all[n++] = o[nr++];
	for (size_t i = 0; i < c->n_allowed_origins && i < CLIENTS_ORIGINS_MAX; i++)
		if (!clients_uri_in(all, n, c->allowed_origins[i]))
			all[n++] = c->allowed_origins[i];
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		bytes += strlen(all[i]) + 1;
	/* One block: the pointers, then the strings they point at. */
	if ((v = malloc(n * sizeof(*v) + bytes)) == NULL)
		return YH_ERR_ALLOC;
	p = (char *)(v + n);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(all[i]) + 1;

		memcpy(p, all[i], len);
		v[i] = p;
		p += len;
	}
	c->cors_origins = (const char *const *)v;
	c->n_cors_origins = n;
	return 0;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
clients_snap_origins(struct clients_snap *s)
{
	size_t n = 0, k = 0;

	for (size_t i = 0; i < s->n; i++)
		n += s->v[i].n_cors_origins;
	if (n == 0)
		return 0;
	if ((s->origins = calloc(n, sizeof(*s->origins))) == NULL)
		return YH_ERR_ALLOC;
	for (size_t i = 0; i < s->n; i++)
		for (size_t j = 0; j < s->v[i].n_cors_origins; j++)
			s->origins[k++] = s->v[i].cors_origins[j];
	qsort(s->origins, n, sizeof(*s->origins), str_cmp);
	s->n_origins = 0;
	for (size_t i = 0; i < n; i++)
		if (s->n_origins == 0 || strcmp(s->origins[s->n_origins - 1], s->origins[i]) != 0)
			s->origins[s->n_origins++] = s->origins[i];
	return 0;
}

bool
clients_origin_ok(const struct clients_client *c, const char *origin)
{
	return c != NULL && clients_uri_in(c->cors_origins, c->n_cors_origins, origin);
}

bool
clients_origin_known(const struct clients_snap *s, const char *origin)
{
	if (s == NULL || origin == NULL || s->n_origins == 0 ||
	    strnlen(origin, CLIENTS_URI_MAX + 1) > CLIENTS_URI_MAX)
		return false;
	return bsearch(&origin, s->origins, s->n_origins, sizeof(*s->origins), str_cmp) != NULL;
}
