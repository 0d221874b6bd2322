/*
 * The app registry kept the same on every node through the directory, and the nodes'
 * public signing keys exchanged through it (appsync.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "authd/appsync.h"
#include "authd/keyd/keys.h"
#include "common/atomicfile.h"
#include "common/buf.h"
#include "common/digest.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/timeutil.h"

#define HASH_HEX 64
#define PATH_MAX_ 4096

struct appsync {
	struct dir *dir;
	struct clients_registry *reg;
	struct tok_ring *ring;
	const struct keys *keys;      /* the published keys' tag (KEYS_MAC_PEER_KEYS) */
	char doc_name[32];            /* "jwks_" NODE */
	char *published;              /* the own JWKS last published, and when */
	int64_t published_at;
	char *peers_sig;              /* the peers' documents last given to the ring */
	char *refused;                /* the documents refused last round ("NAME=TAG;") */
	bool keys_failing;
	char synced_path[PATH_MAX_];
	char last[HASH_HEX + 1];      /* what file and directory held when they agreed */
	unsigned interval_ms;
	size_t doc_max;               /* the registry's size cap in the directory */
	bool stop, started, failing;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
};

/* The SHA-256 of the n bytes of doc in hex ("" hashes to "": no document). */
static int
hash_hex(const char *doc, size_t n, char out[HASH_HEX + 1])
{
	unsigned char md[YH_SHA256_LEN];

	out[0] = '\0';
	if (n == 0)
		return 0;
	if (yh_sha256(doc, n, md) != 0)
		return YH_ERR_CRYPTO;
	yh_hex_encode(md, sizeof(md), out);
	return 0;
}

/* Reads the hash of the last agreement (none: ""). */
static void
last_load(struct appsync *s)
{
	FILE *f = fopen(s->synced_path, "re");
	char buf[HASH_HEX + 2] = "";

	s->last[0] = '\0';
	if (f == NULL)
		return;
	if (fgets(buf, sizeof(buf), f) != NULL && strlen(buf) >= HASH_HEX &&
	    strspn(buf, "0123456789abcdef") == HASH_HEX) {
		memcpy(s->last, buf, HASH_HEX);
		s->last[HASH_HEX] = '\0';
	}
	fclose(f);
}

/* Records the agreement on hash h (in memory, then in the state directory). */
static int
last_store(struct appsync *s, const char *h)
{
	struct yh_file_fail f;
	char line[HASH_HEX + 2];
	int r;

	if (strcmp(s->last, h) == 0)
		return 0;
	snprintf(s->last, sizeof(s->last), "%s", h);
	snprintf(line, sizeof(line), "%s\n", h);
	if ((r = yh_file_write_atomic(s->synced_path, line, strlen(line), 0600,
	    YH_FILE_REPLACE, &f)) != 0)
		yh_error("apps: cannot record the registry's state in %s: %s", s->synced_path,
		    yh_strerror(r));
	return r;
}

/* Logs a directory failure once until a round works again. */
static int
round_failed(struct appsync *s, int r, const char *what, const char *err)
{
	if (!s->failing)
		yh_error("apps: %s: %s%s%s", what, yh_strerror(r), err != NULL ? ": " : "",
		    err != NULL ? err : "");
	s->failing = true;
	return r;
}

int
appsync_round(struct appsync *s)
{
	char lh[HASH_HEX + 1], rh[HASH_HEX + 1], err[512] = "";
	char *local = NULL, *remote = NULL;
	size_t llen = 0;
	int r;

	if ((r = clients_file_read(s->reg, &local, &llen, err, sizeof(err))) != 0) {
		r = round_failed(s, r, "cannot read the local registry", err);
		goto out;
	}
	if ((r = dir_shared_get(s->dir, APPSYNC_DOC, &remote)) != 0 && r != YH_ERR_NOT_FOUND) {
		r = round_failed(s, r, "cannot read the registry in the directory", NULL);
		goto out;
	}
	if ((r = hash_hex(local, llen, lh)) != 0 ||
	    (r = hash_hex(remote != NULL ? remote : "", remote != NULL ? strlen(remote) : 0,
	    rh)) != 0)
		goto out;
	if (strcmp(lh, rh) == 0)
		r = 0;
	else if (strcmp(rh, s->last) == 0 || remote == NULL) {
		/* changed here: the directory gets it (an empty file: nothing to share) */
		if (s->doc_max > 0 && llen > s->doc_max) {
			snprintf(err, sizeof(err), "it takes %zu bytes, more than "
			    "directory.ldap_value_max (%zu): the other nodes do not get this "
			    "change; remove apps here, or raise that option and the LDAP "
			    "servers' sockbuf_max_incoming_auth together", llen, s->doc_max);
			r = round_failed(s, YH_ERR_TOO_LONG, "cannot share the registry", err);
			goto out;
		}
		if (llen > 0 && (r = dir_shared_set(s->dir, APPSYNC_DOC, local)) != 0) {
			snprintf(err, sizeof(err), "%zu bytes; the other nodes do not get this "
			    "change until it is written (a server that drops the connection on "
			    "it may take fewer bytes than directory.ldap_value_max: see its "
			    "sockbuf_max_incoming_auth)", llen);
			r = round_failed(s, r, "cannot write the registry to the directory", err);
			goto out;
		}
		if (llen > 0)
			yh_info("apps: the registry changed here; the other nodes get it through "
			    "the directory");
	} else {
		if (strcmp(lh, s->last) != 0 && llen > 0)
			yh_error("apps: the registry changed here and in the directory at once: "
			    "the directory's is kept, the local one (sha256 %s) is replaced; "
			    "make the change again", lh);
		if ((r = clients_file_replace(s->reg, remote, strlen(remote), local, llen, err,
		    sizeof(err))) == YH_ERR_BUSY) {
			r = 0;      /* changed here meanwhile: the next round looks again */
			goto out;
		}
		if (r != 0) {
			r = round_failed(s, r, "cannot take the directory's registry", err);
			goto out;
		}
		yh_info("apps: the registry changed on another node: reloaded");
		memcpy(lh, rh, sizeof(lh));
	}
	/* file and directory hold lh now (nothing when the file is empty and the directory
	 * has none) */
	if (lh[0] != '\0')
		(void)last_store(s, lh);
	if (s->failing)
		yh_info("apps: the registry is in step with the directory again");
	s->failing = false;
	r = 0;
out:
	free(local);
	free(remote);
	return r;
}

/* The node's id (STATE_DIR/node.id, 16 hex digits, made on the first start). */
static int
node_id(const char *state_dir, char out[17], char *err, size_t errsz)
{
	static const char hex[] = "0123456789abcdef";
	char path[PATH_MAX_], buf[40] = "";
	unsigned char rnd[8];
	struct yh_file_fail f;
	FILE *fp;
	int r;

	snprintf(path, sizeof(path), "%s/%s", state_dir, APPSYNC_NODE_FILE);
	if ((fp = fopen(path, "re")) != NULL) {
		if (fgets(buf, sizeof(buf), fp) == NULL)
			buf[0] = '\0';
		fclose(fp);
		if (strspn(buf, hex) == 16) {
			memcpy(out, buf, 16);
			out[16] = '\0';
			return 0;
		}
	}
	if ((r = yh_random(rnd, sizeof(rnd))) != 0)
		return r;
	for (size_t i = 0; i < sizeof(rnd); i++) {
		out[2 * i] = hex[rnd[i] >> 4];
		out[2 * i + 1] = hex[rnd[i] & 15];
	}
	out[16] = '\0';
	snprintf(buf, sizeof(buf), "%s\n", out);
	if ((r = yh_file_write_atomic(path, buf, strlen(buf), 0600, YH_FILE_REPLACE, &f)) != 0)
		snprintf(err, errsz, "cannot write %s: %s", path, yh_strerror(r));
	return r;
}

/*
 * The tag of a published keys document: keys_mac KEYS_MAC_PEER_KEYS (computed by keyd:
 * the key is derived from the subject key every node holds and the directory's server
 * does not) over name || 0x00 || at (decimal) || 0x00 || SHA-256 of the JWKS in compact
 * form with sorted members, as lowercase hex into out. A document written into the
 * directory by anyone without the subject key carries no tag that checks out.
 */
static int
keys_tag(const struct keys *k, const char *name, json_int_t at, const json_t *jwks,
    char out[HASH_HEX + 1])
{
	unsigned char mac[KEYS_MAC_LEN];
	char *canon = NULL, msg[96];
	int n, r;

	out[0] = '\0';
	if ((canon = json_dumps(jwks, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		return YH_ERR_ALLOC;
	n = snprintf(msg, sizeof(msg), "%s%c%lld%c", name, '\0', (long long)at, '\0');
	if (n < 0 || (size_t)n + YH_SHA256_LEN > sizeof(msg)) {
		r = YH_ERR_TOO_LONG;
		goto out;
	}
	if ((r = yh_sha256(canon, strlen(canon), (unsigned char *)msg + n)) != 0 ||
	    (r = keys_mac(k, KEYS_MAC_PEER_KEYS, msg, (size_t)n + YH_SHA256_LEN, mac)) != 0)
		goto out;
	yh_hex_encode(mac, sizeof(mac), out);
out:
	free(canon);
	return r;
}

/* Publishes the own JWKS (with its tag) when it changed or is due again. */
static int
keys_publish(struct appsync *s, int64_t now)
{
	struct tok_ring_snap *snap = tok_ring_acquire(s->ring);
	const char *own = tok_snap_own_jwks(snap);
	json_t *jwks = NULL, *doc = NULL;
	char *text = NULL, *copy = NULL, tag[HASH_HEX + 1];
	int r = 0;

	if (s->published != NULL && strcmp(s->published, own) == 0 &&
	    now - s->published_at < APPSYNC_KEYS_REFRESH_S)
		goto out;
	if ((jwks = json_loads(own, 0, NULL)) == NULL) {
		r = YH_ERR_ALLOC;
		goto out;
	}
	if ((r = keys_tag(s->keys, s->doc_name, (json_int_t)now, jwks, tag)) != 0)
		goto out;
	if ((doc = json_pack("{s:I,s:O,s:s}", "at", (json_int_t)now, "jwks", jwks, "mac",
	    tag)) == NULL || (text = json_dumps(doc, JSON_COMPACT)) == NULL ||
	    (copy = strdup(own)) == NULL) {
		r = YH_ERR_ALLOC;
		goto out;
	}
	if ((r = dir_shared_set(s->dir, s->doc_name, text)) != 0)
		goto out;
	free(s->published);
	s->published = copy;
	copy = NULL;
	s->published_at = now;
out:
	json_decref(jwks);
	json_decref(doc);
	free(text);
	free(copy);
	tok_snap_release(snap);
	return r;
}

/*
 * Whether doc, published as name, carries the tag keys_tag gives it. 0 when it does,
 * YH_ERR_AUTH when the tag is missing or wrong, or keyd's error. *tag: the document's
 * tag ("" when none) for the log.
 */
static int
keys_doc_check(struct appsync *s, const char *name, const json_t *doc, const char **tag)
{
	const json_t *mac = json_object_get(doc, "mac");
	char want[HASH_HEX + 1];
	int r;

	*tag = json_is_string(mac) ? json_string_value(mac) : "";
	if (strlen(*tag) != HASH_HEX)
		return YH_ERR_AUTH;
	if ((r = keys_tag(s->keys, name, json_integer_value(json_object_get(doc, "at")),
	    json_object_get(doc, "jwks"), want)) != 0)
		return r;
	return CRYPTO_memcmp(want, *tag, HASH_HEX) == 0 ? 0 : YH_ERR_AUTH;
}

/* Logs the refusal of name's document (with tag) unless it was refused last round. */
static int
keys_refuse(struct appsync *s, struct yh_buf *refused, const char *name, const char *tag)
{
	char piece[160];

	snprintf(piece, sizeof(piece), "%s=%.64s;", name, tag);
	if (s->refused == NULL || strstr(s->refused, piece) == NULL)
		yh_warn("keys: the public keys published as %s (node %s) are refused: their tag "
		    "is %s; only a node holding this installation's subject.key can publish "
		    "keys (docs/operations.md, \"Running on several hosts\")", name,
		    name + strlen("jwks_"), tag[0] == '\0' ? "missing" : "wrong");
	return yh_buf_puts(refused, piece);
}

/* Gives the ring the keys the other live nodes publish (when they changed): only those
 * whose tag checks out (keys_doc_check); the others are logged and left out. */
static int
keys_collect(struct appsync *s, int64_t now)
{
	char **names = NULL, **vals = NULL, **jw = NULL, *sig = NULL;
	size_t n = 0, cnt = 0;
	struct yh_buf b, refused;
	int r;

	yh_buf_init(&b, (size_t)DIR_SHARED_LIST_MAX * 65536);
	yh_buf_init(&refused, (size_t)DIR_SHARED_LIST_MAX * 256);
	if ((r = dir_shared_list(s->dir, "jwks_", &names, &vals, &n)) != 0)
		goto out;
	if (n > 0 && (jw = calloc(n, sizeof(*jw))) == NULL) {
		r = YH_ERR_ALLOC;
		goto out;
	}
	for (size_t i = 0; r == 0 && i < n; i++) {
		const char *tag = "";
		json_t *doc;
		json_int_t at;

		if (strcmp(names[i], s->doc_name) == 0 ||
		    (doc = json_loads(vals[i], 0, NULL)) == NULL)
			continue;
		at = json_integer_value(json_object_get(doc, "at"));
		if (at >= now - APPSYNC_KEYS_KEEP_S && json_is_object(json_object_get(doc,
		    "jwks"))) {
			if ((r = keys_doc_check(s, names[i], doc, &tag)) == YH_ERR_AUTH)
				r = keys_refuse(s, &refused, names[i], tag);
			else if (r == 0 && (jw[cnt] = json_dumps(json_object_get(doc, "jwks"),
			    JSON_COMPACT)) != NULL) {
				r = yh_buf_printf(&b, "%s=%s;", names[i], jw[cnt]);
				cnt++;
			}
		}
		json_decref(doc);
	}
	if (r != 0)
		goto out;
	free(s->refused);
	if ((s->refused = strdup(yh_buf_cstr(&refused))) == NULL) {
		r = YH_ERR_ALLOC;
		goto out;
	}
	if (s->peers_sig != NULL && strcmp(s->peers_sig, yh_buf_cstr(&b)) == 0)
		goto out;
	if ((sig = strdup(yh_buf_cstr(&b))) == NULL ||
	    (r = tok_ring_set_peers(s->ring, (const char *const *)jw, cnt)) != 0) {
		r = r != 0 ? r : YH_ERR_ALLOC;
		goto out;
	}
	yh_info("keys: the signing keys of %zu other node%s are published here too", cnt,
	    cnt == 1 ? "" : "s");
	free(s->peers_sig);
	s->peers_sig = sig;
	sig = NULL;
out:
	for (size_t i = 0; jw != NULL && i < n; i++)
		free(jw[i]);
	free(jw);
	free(sig);
	yh_buf_free(&b);
	yh_buf_free(&refused);
	dir_shared_list_free(names, vals, n);
	return r;
}

/* The signing keys' round: own keys out, the others' in. */
static void
keys_round(struct appsync *s)
{
	int64_t now = yh_now();
	int r;

	if ((r = keys_publish(s, now)) == 0)
		r = keys_collect(s, now);
	if (r != 0 && !s->keys_failing)
		yh_error("keys: cannot exchange the public signing keys through the directory: "
		    "%s", yh_strerror(r));
	else if (r == 0 && s->keys_failing)
		yh_info("keys: the public signing keys are exchanged through the directory again");
	s->keys_failing = r != 0;
}

static void *
sync_main(void *arg)
{
	struct appsync *s = arg;
	struct timespec until;

	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += (time_t)(s->interval_ms / 1000);
		until.tv_nsec += (long)(s->interval_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!s->stop && pthread_cond_timedwait(&s->cv, &s->mu, &until) != ETIMEDOUT)
			;
		if (s->stop)
			break;
		pthread_mutex_unlock(&s->mu);
		(void)appsync_round(s);
		keys_round(s);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int
appsync_start(struct dir *d, struct clients_registry *reg, struct tok_ring *ring,
    const struct keys *keys, const char *state_dir, size_t doc_max, unsigned interval_ms, struct appsync **out, char *err,
    size_t errsz)
{
	struct appsync *s;
	char id[17];
	int n, r;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return YH_ERR_ALLOC;
	s->dir = d;
	s->reg = reg;
	s->interval_ms = interval_ms > 0 ? interval_ms : 1000;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	n = snprintf(s->synced_path, sizeof(s->synced_path), "%s/%s", state_dir, APPSYNC_FILE);
	if (n < 0 || (size_t)n >= sizeof(s->synced_path)) {
		snprintf(err, errsz, "%s: path too long", state_dir);
		appsync_stop(s);
		return YH_ERR_TOO_LONG;
	}
	if ((r = node_id(state_dir, id, err, errsz)) != 0) {
		appsync_stop(s);
		return r;
	}
	s->ring = ring;
	s->keys = keys;
	s->doc_max = doc_max;
	snprintf(s->doc_name, sizeof(s->doc_name), "jwks_%s", id);
	last_load(s);
	(void)appsync_round(s);   /* a directory down now: the next rounds try again */
	keys_round(s);
	if (pthread_create(&s->thread, NULL, sync_main, s) != 0) {
		snprintf(err, errsz, "cannot start the registry's sync thread");
		appsync_stop(s);
		return YH_ERR_INTERNAL;
	}
	s->started = true;
	*out = s;
	return 0;
}

void
appsync_stop(struct appsync *s)
{
	if (s == NULL)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->mu);
		s->stop = true;
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thread, NULL);
	}
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s->published);
	free(s->peers_sig);
	free(s->refused);
	free(s);
}
