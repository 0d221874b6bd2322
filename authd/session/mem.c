/*
 * The in-memory session store (the embedded default). Every record is an entry of one
 * table split into shards, each a chained hash table under its own mutex, keyed by a kind
 * byte and a 32-byte digest (the token's SHA-256, or the SHA-256 of a name). Expired
 * entries are dropped when touched and by the sweep; max_entries bounds the whole table.
 * No call holds two shard locks at once.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#define YH_SESS_INTERNAL
#include "authd/session/sess.h"
#include "common/log.h"
#include "common/buf.h"
#include "common/digest.h"
#include "common/secmem.h"

enum {
	K_SESS = 'S', K_CODE = 'C', K_RT = 'R', K_FAM = 'F', K_CNT = 'K',
	K_LOCK = 'L', K_USESS = 'U', K_UFAM = 'V', K_DENY = 'D', K_FLOW = 'W',
};

#define INDEX_FAM_MAX 1024

struct mkey {
	unsigned char kind;
	unsigned char h[32];
};

/* A CAS ticket the session issued (sess_add_cas_ticket). */
struct mcas {
	char ticket[SESS_TICKET_SIZE];
	char client_id[SESS_CLIENT_MAX + 1];
	char *service;
};

struct msess {
	char sid[SESS_PUBID_SIZE];
	char uid[SESS_UID_MAX + 1];
	int64_t created, seen, idle, aexp, auth_time;
	int loa;
	char amr[SESS_AMR_MAX][SESS_AMR_LEN];
	size_t namr;
	char *ua, *addr;
	char **clients;
	size_t nclients;
	struct mcas *cas;                  /* CAS tickets for single logout */
	size_t ncas;
};

struct mfam {
	struct sess_family f;
	char *payload;
	char cur[SESS_KEY_SIZE];
	bool revoked;
};

struct ment {
	struct ment *next;
	struct mkey k;
	int64_t exp;                       /* ms; 0 = none */
	union {
		struct msess *s;
		struct { char *payload, *issued; bool used; } c;
		char fam[SESS_PUBID_SIZE];     /* K_RT: the family id */
		struct mfam *f;
		int64_t count;
		struct { char **items; size_t n; } l;
	} u;
};

struct mshard {
	pthread_mutex_t lock;
	struct ment **b;
	size_t nb, count;
};

struct mem {
	struct mshard *sh;
	unsigned nsh;
	size_t cap;                         /* entries per shard */
};

/* ---- keys and entries --------------------------------------------------------------- */

static int
key_hex(unsigned char kind, const char *hex, struct mkey *k)
{
	k->kind = kind;
	return yh_hex_decode(hex, 64, k->h, 32) == 0 ? 0 : YH_ERR_NOT_FOUND;
}

static int
key_name(unsigned char kind, const char *name, struct mkey *k)
{
	k->kind = kind;
	if (yh_sha256(name, strlen(name), k->h) != 0)
		return YH_ERR_CRYPTO;
	return 0;
}

static struct mshard *
shard_of(struct sess_store *s, const struct mkey *k)
{
	struct mem *m = s->be;

	return &m->sh[(k->h[31] ^ k->kind) % m->nsh];
}

static size_t
bucket_of(const struct mshard *sh, const struct mkey *k)
{
	uint64_t v;

	memcpy(&v, k->h, sizeof(v));
	return (size_t)(v & (sh->nb - 1));
}

static void
list_free(char **items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(items[i]);
	free(items);
}

/* Frees a session's CAS tickets, wiping their values (a ticket not yet validated still
 * opens a session of its app). */
static void
cas_free(struct mcas *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].service);
	yh_freezero(v, n * sizeof(*v));
}

static void
ent_free(struct ment *e)
{
	if (e == NULL)
		return;
	switch (e->k.kind) {
	case K_SESS:
		if (e->u.s != NULL) {
			free(e->u.s->ua);
			free(e->u.s->addr);
			list_free(e->u.s->clients, e->u.s->nclients);
			cas_free(e->u.s->cas, e->u.s->ncas);
			free(e->u.s);
		}
		break;
	case K_CODE:
	case K_FLOW:
		free(e->u.c.payload);
		free(e->u.c.issued);
		break;
	case K_FAM:
		if (e->u.f != NULL)
			free(e->u.f->payload);
		free(e->u.f);
		break;
	case K_USESS:
	case K_UFAM:
		list_free(e->u.l.items, e->u.l.n);
		break;
	default:
		break;
	}
	free(e);
}

/* The link pointing at the entry for k, or NULL. Shard locked. */
static struct ment **
find_link(struct mshard *sh, const struct mkey *k)
{
	struct ment **pp = &sh->b[bucket_of(sh, k)];

	for (; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->k.kind == k->kind && memcmp((*pp)->k.h, k->h, 32) == 0)
			return pp;
	return NULL;
}

static struct ment *
unlink_at(struct mshard *sh, struct ment **pp)
{
	struct ment *e = *pp;

	*pp = e->next;
	e->next = NULL;
	sh->count--;
	return e;
}

/* The entry for k if present and not expired (expired non-session entries are dropped;
 * sessions are left to their own expiry handling). Shard locked. */
static struct ment *
find_live(struct mshard *sh, const struct mkey *k, int64_t now)
{
	struct ment **pp = find_link(sh, k);

	if (pp == NULL)
		return NULL;
	if (k->kind != K_SESS && (*pp)->exp != 0 && (*pp)->exp <= now) {
		ent_free(unlink_at(sh, pp));
		return NULL;
	}
	return *pp;
}

/* Drops expired entries other than sessions from one shard. Shard locked. */
static void
purge_shard(struct mshard *sh, int64_t now)
{
	for (size_t i = 0; i < sh->nb; i++) {
		struct ment **pp = &sh->b[i];

		while (*pp != NULL) {
			if ((*pp)->k.kind != K_SESS && (*pp)->exp != 0 && (*pp)->exp <= now)
				ent_free(unlink_at(sh, pp));
			else
				pp = &(*pp)->next;
		}
	}
}

static void
grow(struct mshard *sh)
{
	size_t nb = sh->nb * 2;
	struct ment **b = calloc(nb, sizeof(*b));

	if (b == NULL)
		return;    /* keep the old table: chains get longer, nothing breaks */
	for (size_t i = 0; i < sh->nb; i++) {
		struct ment *e = sh->b[i], *next;

		for (; e != NULL; e = next) {
			uint64_t v;

			next = e->next;
			memcpy(&v, e->k.h, sizeof(v));
			e->next = b[v & (nb - 1)];
			b[v & (nb - 1)] = e;
		}
	}
	free(sh->b);
	sh->b = b;
	sh->nb = nb;
}

/* Inserts e (whose key is not present). Shard locked. YH_ERR_LIMIT when full. */
static int
insert(struct sess_store *s, struct mshard *sh, struct ment *e, int64_t now)
{
	struct mem *m = s->be;
	size_t bi;

	if (sh->count >= m->cap) {
		purge_shard(sh, now);
		if (sh->count >= m->cap)
			return YH_ERR_LIMIT;
	}
	if (sh->count >= sh->nb * 2)
		grow(sh);
	bi = bucket_of(sh, &e->k);
	e->next = sh->b[bi];
	sh->b[bi] = e;
	sh->count++;
	return 0;
}

static struct ment *
ent_new(const struct mkey *k, int64_t exp)
{
	struct ment *e = calloc(1, sizeof(*e));

	if (e != NULL) {
		e->k = *k;
		e->exp = exp;
	}
	return e;
}

/* ---- string lists (user indexes) ------------------------------------------------------ */

static int
list_add(struct sess_store *s, unsigned char kind, const char *name, const char *item,
    size_t cap, int64_t exp, int64_t now)
{
	struct mkey k;
	struct mshard *sh;
	struct ment *e;
	char *dup, **items;
	int rc = 0;

	if ((rc = key_name(kind, name, &k)) != 0)
		return rc;
	if ((dup = strdup(item)) == NULL)
		return YH_ERR_ALLOC;
	sh = shard_of(s, &k);
	pthread_mutex_lock(&sh->lock);
	if ((e = find_live(sh, &k, now)) == NULL) {
		if ((e = ent_new(&k, exp)) == NULL || (rc = insert(s, sh, e, now)) != 0) {
			free(e);
			rc = rc != 0 ? rc : YH_ERR_ALLOC;
			goto out;
		}
	}
	if (exp == 0 || (e->exp != 0 && exp > e->exp))
		e->exp = exp;
	for (size_t i = 0; i < e->u.l.n; i++)
		if (strcmp(e->u.l.items[i], item) == 0)
			goto out;
	if (e->u.l.n >= cap) {
		/* the oldest entry goes: it is the most likely to be stale */
		free(e->u.l.items[0]);
		memmove(e->u.l.items, e->u.l.items + 1, (e->u.l.n - 1) * sizeof(char *));
		e->u.l.n--;
	}
	if ((items = realloc(e->u.l.items, (e->u.l.n + 1) * sizeof(char *))) == NULL) {
		rc = YH_ERR_ALLOC;
		goto out;
	}
	e->u.l.items = items;
	e->u.l.items[e->u.l.n++] = dup;
	dup = NULL;
out:
	pthread_mutex_unlock(&sh->lock);
	free(dup);
	return rc;
}

static void
list_remove(struct sess_store *s, unsigned char kind, const char *name, const char *item)
{
	struct mkey k;
	struct mshard *sh;
	struct ment **pp;

	if (key_name(kind, name, &k) != 0)
		return;
	sh = shard_of(s, &k);
	pthread_mutex_lock(&sh->lock);
	if ((pp = find_link(sh, &k)) != NULL) {
		struct ment *e = *pp;

		for (size_t i = 0; i < e->u.l.n; i++)
			if (strcmp(e->u.l.items[i], item) == 0) {
				free(e->u.l.items[i]);
				memmove(&e->u.l.items[i], &e->u.l.items[i + 1],
				    (e->u.l.n - i - 1) * sizeof(char *));
				e->u.l.n--;
				break;
			}
		if (e->u.l.n == 0)
			ent_free(unlink_at(sh, pp));
	}
	pthread_mutex_unlock(&sh->lock);
}

/* Copies up to max items (each shorter than size) into out. */
static int
list_read(struct sess_store *s, unsigned char kind, const char *name, char *out, size_t size,
    size_t max, size_t *n)
{
	struct mkey k;
	struct mshard *sh;
	struct ment *e;
	int rc;

	*n = 0;
	if ((rc = key_name(kind, name, &k)) != 0)
		return rc;
	sh = shard_of(s, &k);
	pthread_mutex_lock(&sh->lock);
	if ((e = find_live(sh, &k, sess_now(s))) != NULL)
		for (size_t i = 0; i < e->u.l.n && *n < max; i++)
			if (yh_strlcpy(out + *n * size, e->u.l.items[i], size) == 0)
				(*n)++;
	pthread_mutex_unlock(&sh->lock);
	return 0;
}

/* ---- sessions ------------------------------------------------------------------------- */

static void
msess_fill(const struct ment *e, struct sess_info *out)
{
	const struct msess *m = e->u.s;

	memset(out, 0, sizeof(*out));
	yh_hex_encode(e->k.h, 32, out->key);
	memcpy(out->sid, m->sid, sizeof(out->sid));
	memcpy(out->uid, m->uid, sizeof(out->uid));
	out->created_ms = m->created;
	out->seen_ms = m->seen;
	out->idle_ms = m->idle;
	out->aexp_ms = m->aexp;
	out->expires_ms = e->exp;
	out->auth_time = m->auth_time;
	out->loa = m->loa;
	memcpy(out->amr, m->amr, sizeof(out->amr));
	out->namr = m->namr;
	/* every string was checked against these sizes when stored */
	for (size_t i = 0; i < m->nclients && i < SESS_CLIENTS_MAX; i++)
		if (yh_strlcpy(out->clients[out->nclients], m->clients[i],
		    sizeof(out->clients[0])) == 0)
			out->nclients++;
	out->ncas = m->ncas;
	if (m->ua == NULL || yh_strlcpy(out->ua, m->ua, sizeof(out->ua)) != 0)
		out->ua[0] = '\0';
	if (m->addr == NULL || yh_strlcpy(out->addr, m->addr, sizeof(out->addr)) != 0)
		out->addr[0] = '\0';
}

/* Copies the authentication fields of rec into m. */
static void
msess_set_auth(struct msess *m, const struct sess_info *rec)
{
	m->seen = rec->seen_ms;
	m->auth_time = rec->auth_time;
	m->loa = rec->loa;
	memcpy(m->amr, rec->amr, sizeof(m->amr));
	m->namr = rec->namr;
}

static int
mem_s_put(struct sess_store *s, const struct sess_info *rec)
{
	struct mkey k;
	struct mshard *sh;
	struct ment *e = NULL;
	struct msess *m;
	int64_t now = rec->seen_ms;
	int rc;

	if ((rc = key_hex(K_SESS, rec->key, &k)) != 0)
		return YH_ERR_INTERNAL;
	if ((e = ent_new(&k, rec->expires_ms)) == NULL ||
	    (e->u.s = m = calloc(1, sizeof(*m))) == NULL ||
	    (m->ua = strdup(rec->ua)) == NULL || (m->addr = strdup(rec->addr)) == NULL) {
		ent_free(e);
		return YH_ERR_ALLOC;
	}
	memcpy(m->sid, rec->sid, sizeof(m->sid));
	memcpy(m->uid, rec->uid, sizeof(m->uid));
	m->created = rec->created_ms;
	m->idle = rec->idle_ms;
	m->aexp = rec->aexp_ms;
	msess_set_auth(m, rec);
	sh = shard_of(s, &k);
	pthread_mutex_lock(&sh->lock);
	rc = find_link(sh, &k) != NULL ? YH_ERR_EXISTS : insert(s, sh, e, now);
	pthread_mutex_unlock(&sh->lock);
	if (rc != 0) {
		ent_free(e);
		return rc;
	}
	if (list_add(s, K_USESS, rec->uid, rec->key, SESS_USER_KEYS_MAX, 0, now) != 0)
		yh_warn("session index of a user could not be updated");
	return 0;
}

static int
mem_s_get(struct sess_store *s, const char *key, bool touch, int64_t now, struct sess_info *out)
{
	struct mkey k;
	struct mshard *sh;
	struct ment *e;
	int rc = 0;

	if (key_hex(K_SESS, key, &k) != 0)
		return YH_ERR_NOT_FOUND;
	sh = shard_of(s, &k);
	pthread_mutex_lock(&sh->lock);
	if ((e = find_live(sh, &k, now)) == NULL) {
		rc = YH_ERR_NOT_FOUND;
	} else if (now >= e->exp) {
		rc = YH_ERR_EXPIRED;
	} else if (touch && now - e->u.s->seen >= sess_touch_gran(e->u.s->idle)) {
		e->u.s->seen = now;
		e->exp = sess_rec_expiry(now, e->u.s->idle, e->u.s->aexp);
	}
	if (e != NULL)
		msess_fill(e, out);
	pthread_mutex_unlock(&sh->lock);
	return rc;
}

/* The CAS tickets of m as a list in *out (NULL when none). */
static int
msess_cas_list(const struct msess *m, struct sess_cas_list **out)
{
	struct sess_cas_list *l;

	*out = NULL;
	if (m->ncas == 0)
		return 0;
	if ((l = calloc(1, sizeof(*l) + m->ncas * sizeof(l->e[0]))) == NULL)
		return YH_ERR_ALLOC;
	/* every string was checked against these sizes when stored */
	for (size_t i = 0; i < m->ncas; i++) {
		memcpy(l->e[i].ticket, m->cas[i].ticket, sizeof(l->e[i].ticket));
		memcpy(l->e[i].client_id, m->cas[i].client_id, sizeof(l->e[i].client_id));
		if (yh_strlcpy(l->e[i].service, m->cas[i].service, sizeof(l->e[i].service)) == 0)
			l->n++;
	}
	*out = l;
	return 0;
}

static int
mem_s_take(struct sess_store *s, const char *key, bool only_expired, int64_t now,
    struct sess_info *out, struct sess_cas_list **cas)
{
	struct mkey k;
	struct mshard *sh;
	struct ment **pp, *e = NULL;
	int rc = 0;

	if (key_hex(K_SESS, key, &k) != 0)
		return YH_ERR_NOT_FOUND;
	sh = shard_of(s, &k);
	pthread_mutex_lock(&sh->lock);
	if ((pp = find_link(sh, &k)) == NULL)
		rc = YH_ERR_NOT_FOUND;
	else if (only_expired && now < (*pp)->exp)
		rc = YH_ERR_BUSY;
	else
		e = unlink_at(sh, pp);
	pthread_mutex_unlock(&sh->lock);
	if (e != NULL) {
		msess_fill(e, out);
		if (cas != NULL && msess_cas_list(e->u.s, cas) != 0)
			yh_error("session %s: no memory for its CAS tickets: no single logout",
			    out->sid);
	}
	ent_free(e);
	return rc;
}

static int
mem_s_rotate(struct sess_store *s, const char *old_key, const struct sess_info *rec)
{
	struct mkey ko, kn;
	struct mshard *sh;
	struct ment **pp, *e = NULL;
	int rc = 0;

	if (key_hex(K_SESS, old_key, &ko) != 0 || key_hex(K_SESS, rec->key, &kn) != 0)
		return YH_ERR_NOT_FOUND;
	sh = shard_of(s, &ko);
	pthread_mutex_lock(&sh->lock);
	if ((pp = find_link(sh, &ko)) != NULL)
		e = unlink_at(sh, pp);
	pthread_mutex_unlock(&sh->lock);
	if (e == NULL)
		return YH_ERR_NOT_FOUND;
	msess_set_auth(e->u.s, rec);
	e->k = kn;
	e->exp = sess_rec_expiry(rec->seen_ms, e->u.s->idle, e->u.s->aexp);
	sh = shard_of(s, &kn);
	pthread_mutex_lock(&sh->lock);
	rc = find_link(sh, &kn) != NULL ? YH_ERR_EXISTS : insert(s, sh, e, rec->seen_ms);
	pthread_mutex_unlock(&sh->lock);
	list_remove(s, K_USESS, rec->uid, old_key);
	if (rc != 0) {
		ent_free(e);
		return rc;
	}
	if (list_add(s, K_USESS, rec->uid, rec->key, SESS_USER_KEYS_MAX, 0, rec->seen_ms) != 0)
		yh_warn("session index of a user could not be updated");
	return 0;
}

/* The live session of key with its shard locked (*shp), or NULL (nothing locked). */
static struct msess *
msess_lock(struct sess_store *s, const char *key, struct mshard **shp)
{
	struct mkey k;
	struct ment *e;
	int64_t now = sess_now(s);

	if (key_hex(K_SESS, key, &k) != 0)
		return NULL;
	*shp = shard_of(s, &k);
	pthread_mutex_lock(&(*shp)->lock);
	if ((e = find_live(*shp, &k, now)) == NULL || now >= e->exp) {
		pthread_mutex_unlock(&(*shp)->lock);
		return NULL;
	}
	return e->u.s;
}

static int
mem_s_add_client(struct sess_store *s, const char *key, const char *client_id)
{
	struct mshard *sh;
	struct msess *m;
	char **v;
	int rc = 0;

	if ((m = msess_lock(s, key, &sh)) == NULL)
		return YH_ERR_NOT_FOUND;
	for (size_t i = 0; i < m->nclients; i++)
		if (strcmp(m->clients[i], client_id) == 0)
			goto out;
	if (m->nclients >= SESS_CLIENTS_MAX) {
		rc = YH_ERR_LIMIT;
		goto out;
	}
	if ((v = realloc(m->clients, (m->nclients + 1) * sizeof(*v))) == NULL) {
		rc = YH_ERR_ALLOC;
		goto out;
	}
	m->clients = v;
	if ((m->clients[m->nclients] = strdup(client_id)) == NULL) {
		rc = YH_ERR_ALLOC;
		goto out;
	}
	m->nclients++;
out:
	pthread_mutex_unlock(&sh->lock);
	return rc;
}

static int
mem_s_add_cas(struct sess_store *s, const char *key, const struct sess_cas_entry *c)
{
	struct mshard *sh;
	struct msess *m;
	struct mcas *v;
	char *svc;
	int rc = 0;

	if ((svc = strdup(c->service)) == NULL)
		return YH_ERR_ALLOC;
	if ((m = msess_lock(s, key, &sh)) == NULL) {
		free(svc);
		return YH_ERR_NOT_FOUND;
	}
	for (size_t i = 0; i < m->ncas; i++)
		if (strcmp(m->cas[i].ticket, c->ticket) == 0)
			goto out;
	if (m->ncas >= SESS_CAS_MAX) {
		rc = YH_ERR_LIMIT;
		goto out;
	}
	/* not realloc: the old array's tickets are wiped, not left in freed memory */
	if ((v = calloc(m->ncas + 1, sizeof(*v))) == NULL) {
		rc = YH_ERR_ALLOC;
		goto out;
	}
	if (m->ncas > 0)
		memcpy(v, m->cas, m->ncas * sizeof(*v));
	yh_freezero(m->cas, m->ncas * sizeof(*v));
	m->cas = v;
	memcpy(v[m->ncas].ticket, c->ticket, sizeof(v[0].ticket));
	memcpy(v[m->ncas].client_id, c->client_id, sizeof(v[0].client_id));
	v[m->ncas++].service = svc;
	svc = NULL;
out:
	pthread_mutex_unlock(&sh->lock);
	free(svc);
	return rc;
}

static int
mem_s_user_keys(struct sess_store *s, const char *uid, char (*keys)[SESS_KEY_SIZE], size_t max,
    size_t *n)
{
	return list_read(s, K_USESS, uid, keys[0], SESS_KEY_SIZE, max, n);
}

static void
mem_s_user_unlink(struct sess_store *s, const char *uid, const char *key)
{
	list_remove(s, K_USESS, uid, key);
}

static int
mem_s_expired_keys(struct sess_store *s, int64_t now, char (*keys)[SESS_KEY_SIZE], size_t max,
    size_t *n)
{
	struct mem *m = s->be;

	*n = 0;
	for (unsigned i = 0; i < m->nsh && *n < max; i++) {
		struct mshard *sh = &m->sh[i];

		pthread_mutex_lock(&sh->lock);
		for (size_t b = 0; b < sh->nb && *n < max; b++)
			for (struct ment *e = sh->b[b]; e != NULL && *n < max; e = e->next)
				if (e->k.kind == K_SESS && e->exp <= now)
					yh_hex_encode(e->k.h, 32, keys[(*n)++]);
		pthread_mutex_unlock(&sh->lock);
	}
	return 0;
}

static size_t
mem_count(struct sess_store *s)
{
	struct mem *m = s->be;
	size_t n = 0;

	for (unsigned i = 0; i < m->nsh; i++) {
		pthread_mutex_lock(&m->sh[i].lock);
		n += m->sh[i].count;
		pthread_mutex_unlock(&m->sh[i].lock);
	}
	return n;
}

static void
mem_purge(struct sess_store *s, int64_t now)
{
	struct mem *m = s->be;

	for (unsigned i = 0; i < m->nsh; i++) {
		pthread_mutex_lock(&m->sh[i].lock);
		purge_shard(&m->sh[i], now);
		pthread_mutex_unlock(&m->sh[i].lock);
	}
}

/* ---- codes ---------------------------------------------------------------------------- */

/* Stores a payload record of kind (a code or a flow) unless its key is taken. */
static int
payload_put(struct sess_store *s, unsigned char kind, const char *key, const char *payload,
    int64_t ttl_ms)
{
	struct mkey k;
	struct mshard *sh;
	struct ment *e;
	int64_t now = sess_now(s);
	int rc;

	if (key_hex(kind, key, &k) != 0)
		return YH_ERR_INTERNAL;
	if ((e = ent_new(&k, now + ttl_ms)) == NULL || (e->u.c.payload = strdup(payload)) == NULL) {
		ent_free(e);
		return YH_ERR_ALLOC;
	}
	sh = shard_of(s, &k);
	pthread_mutex_lock(&sh->lock);
	rc = find_live(sh, &k, now) != NULL ? YH_ERR_EXISTS : insert(s, sh, e, now);
	pthread_mutex_unlock(&sh->lock);
	if (rc != 0)
		ent_free(e);
	return rc;
}

static int
mem_code_put(struct sess_store *s, const char *key, const char *payload, int64_t ttl_ms)
{
	return payload_put(s, K_CODE, key, payload, ttl_ms);
}

static int
mem_code_take(struct sess_store *s, const char *key, const char *issued, char **payload,
    char **prev_issued)
{
	struct mkey k;
	struct mshard *sh;
	struct ment *e;
	int rc = 0;

	*payload = NULL;
	*prev_issued = NULL;
	if (key_hex(K_CODE, key, &k) != 0)
		return YH_ERR_NOT_FOUND;
	sh = shard_of(s, &k);
	pthread_mutex_lock(&sh->lock);
	if ((e = find_live(sh, &k, sess_now(s))) == NULL) {
		rc = YH_ERR_NOT_FOUND;
		goto out;
	}
	if ((*payload = strdup(e->u.c.payload)) == NULL) {
		rc = YH_ERR_ALLOC;
		goto out;
	}
	if (e->u.c.used) {
		rc = YH_ERR_REPLAY;
		if ((*prev_issued = strdup(e->u.c.issued != NULL ? e->u.c.issued : "")) == NULL)
			rc = YH_ERR_ALLOC;
	} else {
		e->u.c.used = true;
		if ((e->u.c.issued = strdup(issued)) == NULL)
			rc = YH_ERR_ALLOC;   /* used all the same: single use wins */
	}
out:
	pthread_mutex_unlock(&sh->lock);
	if (rc != 0 && rc != YH_ERR_REPLAY) {
		free(*payload);
		*payload = NULL;
	}
	return rc;
}

/* ---- flows ---------------------------------------------------------------------------- */

static int
mem_flow_put(struct sess_store *s, const char *key, const char *payload, int64_t ttl_ms)
{
	return payload_put(s, K_FLOW, key, payload, ttl_ms);
}

static int
mem_flow_get(struct sess_store *s, const char *key, char **payload)
{
	struct mkey k;
	struct mshard *sh;
	struct ment *e;
	int rc = 0;

	*payload = NULL;
	if (key_hex(K_FLOW, key, &k) != 0)
		return YH_ERR_NOT_FOUND;
	sh = shard_of(s, &k);
	pthread_mutex_lock(&sh->lock);
	if ((e = find_live(sh, &k, sess_now(s))) == NULL)
		rc = YH_ERR_NOT_FOUND;
	else if ((*payload = strdup(e->u.c.payload)) == NULL)
		rc = YH_ERR_ALLOC;
	pthread_mutex_unlock(&sh->lock);
	return rc;
}

static int
mem_flow_swap(struct sess_store *s, const char *key, const char *expect, const char *payload)
{
	struct mkey k;
	struct mshard *sh;
	struct ment *e;
	char *dup;
	int rc = 0;

	if (key_hex(K_FLOW, key, &k) != 0)
		return YH_ERR_NOT_FOUND;
	if ((dup = strdup(payload)) == NULL)
		return YH_ERR_ALLOC;
	sh = shard_of(s, &k);
	pthread_mutex_lock(&sh->lock);
	if ((e = find_live(sh, &k, sess_now(s))) == NULL) {
		rc = YH_ERR_NOT_FOUND;
	} else if (strcmp(e->u.c.payload, expect) != 0) {
		rc = YH_ERR_BUSY;
	} else {
		free(e->u.c.payload);
		e->u.c.payload = dup;
		dup = NULL;
	}
	pthread_mutex_unlock(&sh->lock);
	free(dup);
	return rc;
}

/* ---- refresh families ----------------------------------------------------------------- */

static int
mem_fam_put(struct sess_store *s, const struct sess_family *f, const char *payload,
    int64_t ttl_ms, const char *token_key)
{
	struct mkey kf, kt;
	struct mshard *sh;
	struct ment *ef = NULL, *et = NULL;
	int64_t now = sess_now(s), exp = now + ttl_ms;
	int rc;

	if ((rc = key_name(K_FAM, f->id, &kf)) != 0 || key_hex(K_RT, token_key, &kt) != 0)
		return rc != 0 ? rc : YH_ERR_INTERNAL;
	if ((ef = ent_new(&kf, exp)) == NULL || (ef->u.f = calloc(1, sizeof(*ef->u.f))) == NULL ||
	    (ef->u.f->payload = strdup(payload)) == NULL || (et = ent_new(&kt, exp)) == NULL) {
		ent_free(ef);
		return YH_ERR_ALLOC;
	}
	ef->u.f->f = *f;
	memcpy(ef->u.f->cur, token_key, SESS_KEY_SIZE);
	memcpy(et->u.fam, f->id, SESS_PUBID_SIZE);
	sh = shard_of(s, &kf);
	pthread_mutex_lock(&sh->lock);
	rc = find_live(sh, &kf, now) != NULL ? YH_ERR_EXISTS : insert(s, sh, ef, now);
	pthread_mutex_unlock(&sh->lock);
	if (rc != 0) {
		ent_free(ef);
		ent_free(et);
		return rc;
	}
	sh = shard_of(s, &kt);
	pthread_mutex_lock(&sh->lock);
	rc = insert(s, sh, et, now);
	pthread_mutex_unlock(&sh->lock);
	if (rc != 0) {
		ent_free(et);
		return rc;   /* the family stays without a token: it expires unused */
	}
	if (list_add(s, K_UFAM, f->uid, f->id, INDEX_FAM_MAX, exp, now) != 0)
		yh_warn("refresh index of a user could not be updated");
	return 0;
}

/* The family id a token key points at. */
static int
rt_lookup(struct sess_store *s, const char *key, char id[SESS_PUBID_SIZE])
{
	struct mkey k;
	struct mshard *sh;
	struct ment *e;
	int rc = 0;

	id[0] = '\0';
	if (key_hex(K_RT, key, &k) != 0)
		return YH_ERR_NOT_FOUND;
	sh = shard_of(s, &k);
	pthread_mutex_lock(&sh->lock);
	if ((e = find_live(sh, &k, sess_now(s))) == NULL)
		rc = YH_ERR_NOT_FOUND;
	else
		memcpy(id, e->u.fam, SESS_PUBID_SIZE);
	pthread_mutex_unlock(&sh->lock);
	return rc;
}

enum fam_op { FAM_PEEK, FAM_ROTATE, FAM_REVOKE };

/*
 * One step on a family under its lock: PEEK checks that key is current, ROTATE also
 * moves current to new_key (or revokes the family on reuse), REVOKE marks it revoked.
 * *exp gets the family's expiry.
 */
static int
fam_step(struct sess_store *s, const char *id, enum fam_op op, const char *key,
    const char *new_key, struct sess_family *f, char **payload, int64_t *exp)
{
	struct mkey k;
	struct mshard *sh;
	struct ment *e;
	struct mfam *mf;
	int rc = 0;

	if ((rc = key_name(K_FAM, id, &k)) != 0)
		return rc;
	sh = shard_of(s, &k);
	pthread_mutex_lock(&sh->lock);
	if ((e = find_live(sh, &k, sess_now(s))) == NULL) {
		rc = YH_ERR_NOT_FOUND;
		goto out;
	}
	mf = e->u.f;
	if (f != NULL)
		*f = mf->f;
	*exp = e->exp;
	if (op == FAM_REVOKE) {
		rc = mf->revoked ? YH_ERR_EXISTS : 0;
		mf->revoked = true;
	} else if (mf->revoked) {
		rc = YH_ERR_DENIED;
	} else if (strcmp(mf->cur, key) != 0) {
		rc = op == FAM_ROTATE ? YH_ERR_REPLAY : YH_ERR_DENIED;
		if (op == FAM_ROTATE)
			mf->revoked = true;
	} else {
		if (payload != NULL && (*payload = strdup(mf->payload)) == NULL)
			rc = YH_ERR_ALLOC;
		else if (op == FAM_ROTATE)
			memcpy(mf->cur, new_key, SESS_KEY_SIZE);
	}
out:
	pthread_mutex_unlock(&sh->lock);
	return rc;
}

static int
mem_rt_rotate(struct sess_store *s, const char *old_key, const char *new_key,
    struct sess_family *f, char **payload)
{
	char id[SESS_PUBID_SIZE];
	struct mkey k;
	struct mshard *sh;
	struct ment *e;
	int64_t exp = 0, now = sess_now(s);
	int rc;

	if ((rc = rt_lookup(s, old_key, id)) != 0)
		return rc;
	if ((rc = fam_step(s, id, FAM_ROTATE, old_key, new_key, f, payload, &exp)) != 0)
		return rc;
	if (key_hex(K_RT, new_key, &k) != 0 || (e = ent_new(&k, exp)) == NULL) {
		rc = YH_ERR_ALLOC;
		goto out;
	}
	memcpy(e->u.fam, id, SESS_PUBID_SIZE);
	sh = shard_of(s, &k);
	pthread_mutex_lock(&sh->lock);
	rc = insert(s, sh, e, now);
	pthread_mutex_unlock(&sh->lock);
	if (rc != 0)
		ent_free(e);
out:
	if (rc != 0) {
		free(*payload);
		*payload = NULL;
	}
	return rc;
}

static int
mem_rt_peek(struct sess_store *s, const char *key, struct sess_family *f, char **payload)
{
	char id[SESS_PUBID_SIZE];
	int64_t exp;
	int rc;

	if ((rc = rt_lookup(s, key, id)) != 0)
		return rc;
	return fam_step(s, id, FAM_PEEK, key, NULL, f, payload, &exp);
}

static int
mem_rt_family(struct sess_store *s, const char *key, char id[SESS_PUBID_SIZE])
{
	return rt_lookup(s, key, id);
}

static int
mem_fam_get(struct sess_store *s, const char *id, struct sess_family *f)
{
	struct mkey k;
	struct mshard *sh;
	struct ment *e;
	int rc = 0;

	if ((rc = key_name(K_FAM, id, &k)) != 0)
		return rc;
	sh = shard_of(s, &k);
	pthread_mutex_lock(&sh->lock);
	if ((e = find_live(sh, &k, sess_now(s))) == NULL)
		rc = YH_ERR_NOT_FOUND;
	else
		*f = e->u.f->f;
	pthread_mutex_unlock(&sh->lock);
	return rc;
}

static int
mem_fam_revoke(struct sess_store *s, const char *id)
{
	int64_t exp;

	return fam_step(s, id, FAM_REVOKE, "", NULL, NULL, NULL, &exp);
}

static int
mem_fam_user(struct sess_store *s, const char *uid, char (*ids)[SESS_PUBID_SIZE], size_t max,
    size_t *n)
{
	return list_read(s, K_UFAM, uid, ids[0], SESS_PUBID_SIZE, max, n);
}

/* ---- counters and locks --------------------------------------------------------------- */

static int
mem_cnt_incr(struct sess_store *s, const char *key, int64_t window_ms, int64_t *n)
{
	struct mkey k;
	struct mshard *sh;
	struct ment *e;
	int64_t now = sess_now(s);
	int rc = 0;

	*n = 0;
	if (key_hex(K_CNT, key, &k) != 0)
		return YH_ERR_INTERNAL;
	sh = shard_of(s, &k);
	pthread_mutex_lock(&sh->lock);
	if ((e = find_live(sh, &k, now)) != NULL) {
		*n = ++e->u.count;
	} else if ((e = ent_new(&k, now + window_ms)) == NULL) {
		rc = YH_ERR_ALLOC;
	} else if ((rc = insert(s, sh, e, now)) != 0) {
		free(e);
	} else {
		*n = e->u.count = 1;
	}
	pthread_mutex_unlock(&sh->lock);
	return rc;
}

static int
mem_cnt_get(struct sess_store *s, const char *key, int64_t *n)
{
	struct mkey k;
	struct mshard *sh;
	struct ment *e;

	*n = 0;
	if (key_hex(K_CNT, key, &k) != 0)
		return YH_ERR_INTERNAL;
	sh = shard_of(s, &k);
	pthread_mutex_lock(&sh->lock);
	if ((e = find_live(sh, &k, sess_now(s))) != NULL)
		*n = e->u.count;
	pthread_mutex_unlock(&sh->lock);
	return 0;
}

/* Removes the entry for kind/key if present. */
static int
mem_del(struct sess_store *s, unsigned char kind, const char *key)
{
	struct mkey k;
	struct mshard *sh;
	struct ment **pp, *e = NULL;

	if (key_hex(kind, key, &k) != 0)
		return YH_ERR_INTERNAL;
	sh = shard_of(s, &k);
	pthread_mutex_lock(&sh->lock);
	if ((pp = find_link(sh, &k)) != NULL)
		e = unlink_at(sh, pp);
	pthread_mutex_unlock(&sh->lock);
	ent_free(e);
	return 0;
}

static int
mem_cnt_del(struct sess_store *s, const char *key)
{
	return mem_del(s, K_CNT, key);
}

/* Sets the expiry of the kind entry key to now + ms, creating it; with extend_only a
 * live entry keeps a later expiry it already has. */
static int
expiry_set(struct sess_store *s, unsigned char kind, const char *key, int64_t ms,
    bool extend_only)
{
	struct mkey k;
	struct mshard *sh;
	struct ment *e;
	int64_t now = sess_now(s);
	int rc = 0;

	if (key_hex(kind, key, &k) != 0)
		return YH_ERR_INTERNAL;
	sh = shard_of(s, &k);
	pthread_mutex_lock(&sh->lock);
	if ((e = find_live(sh, &k, now)) != NULL) {
		if (!extend_only || e->exp < now + ms)
			e->exp = now + ms;
	} else if ((e = ent_new(&k, now + ms)) == NULL) {
		rc = YH_ERR_ALLOC;
	} else if ((rc = insert(s, sh, e, now)) != 0) {
		free(e);
	}
	pthread_mutex_unlock(&sh->lock);
	return rc;
}

/* The ms left of the live kind entry key (0 when there is none). */
static int
expiry_left(struct sess_store *s, unsigned char kind, const char *key, int64_t *ms)
{
	struct mkey k;
	struct mshard *sh;
	struct ment *e;
	int64_t now = sess_now(s);

	*ms = 0;
	if (key_hex(kind, key, &k) != 0)
		return YH_ERR_INTERNAL;
	sh = shard_of(s, &k);
	pthread_mutex_lock(&sh->lock);
	if ((e = find_live(sh, &k, now)) != NULL)
		*ms = e->exp - now;
	pthread_mutex_unlock(&sh->lock);
	return 0;
}

static int
mem_lock_set(struct sess_store *s, const char *key, int64_t ms)
{
	if (ms <= 0)
		return mem_del(s, K_LOCK, key);
	return expiry_set(s, K_LOCK, key, ms, false);
}

static int
mem_lock_ttl(struct sess_store *s, const char *key, int64_t *ms)
{
	return expiry_left(s, K_LOCK, key, ms);
}

/* ---- denylist ---------------------------------------------------------------------------- */

static int
mem_deny_put(struct sess_store *s, const char *key, int64_t ms)
{
	return expiry_set(s, K_DENY, key, ms, true);
}

static int
mem_deny_get(struct sess_store *s, const char *key)
{
	int64_t ms;
	int rc = expiry_left(s, K_DENY, key, &ms);

	return rc != 0 ? rc : ms > 0 ? 0 : YH_ERR_NOT_FOUND;
}

/* ---- open / close ------------------------------------------------------------------------ */

static void
mem_close(struct sess_store *s)
{
	struct mem *m = s->be;

	if (m == NULL)
		return;
	for (unsigned i = 0; m->sh != NULL && i < m->nsh; i++) {
		struct mshard *sh = &m->sh[i];

		for (size_t b = 0; sh->b != NULL && b < sh->nb; b++) {
			struct ment *e = sh->b[b], *next;

			for (; e != NULL; e = next) {
				next = e->next;
				ent_free(e);
			}
		}
		free(sh->b);
		pthread_mutex_destroy(&sh->lock);
	}
	free(m->sh);
	free(m);
	s->be = NULL;
}

static int
mem_open(struct sess_store *s)
{
	struct mem *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return YH_ERR_ALLOC;
	s->be = m;
	m->nsh = s->cfg.shards;
	m->cap = s->cfg.max_entries / m->nsh;
	if ((m->sh = calloc(m->nsh, sizeof(*m->sh))) == NULL) {
		m->nsh = 0;
		mem_close(s);
		return YH_ERR_ALLOC;
	}
	for (unsigned i = 0; i < m->nsh; i++) {
		pthread_mutex_init(&m->sh[i].lock, NULL);
		m->sh[i].nb = 64;
		if ((m->sh[i].b = calloc(64, sizeof(struct ment *))) == NULL) {
			m->nsh = i + 1;
			mem_close(s);
			return YH_ERR_ALLOC;
		}
	}
	return 0;
}

static int
mem_ping(struct sess_store *s)
{
	return 0;
}

const struct sess_ops sess_mem_ops = {
	.name = "memory",
	.open = mem_open,
	.close = mem_close,
	.ping = mem_ping,
	.s_put = mem_s_put,
	.s_get = mem_s_get,
	.s_take = mem_s_take,
	.s_rotate = mem_s_rotate,
	.s_add_client = mem_s_add_client,
	.s_add_cas = mem_s_add_cas,
	.s_user_keys = mem_s_user_keys,
	.s_user_unlink = mem_s_user_unlink,
	.s_expired_keys = mem_s_expired_keys,
	.purge = mem_purge,
	.count = mem_count,
	.code_put = mem_code_put,
	.code_take = mem_code_take,
	.flow_put = mem_flow_put,
	.flow_get = mem_flow_get,
	.flow_swap = mem_flow_swap,
	.fam_put = mem_fam_put,
	.rt_rotate = mem_rt_rotate,
	.rt_peek = mem_rt_peek,
	.rt_family = mem_rt_family,
	.fam_get = mem_fam_get,
	.fam_revoke = mem_fam_revoke,
	.fam_user = mem_fam_user,
	.cnt_incr = mem_cnt_incr,
	.cnt_get = mem_cnt_get,
	.cnt_del = mem_cnt_del,
	.lock_set = mem_lock_set,
	.lock_ttl = mem_lock_ttl,
	.deny_put = mem_deny_put,
	.deny_get = mem_deny_get,
	.publish = NULL,
};
