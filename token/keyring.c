/*
 * The signing key ring: keyring.json state machine, atomic files, snapshots.
 * See token/keyring.h for the on-disk layout and the life of a key.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>

#include "common/atomicfile.h"
#include "common/b64.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/snapshot.h"
#include "common/timeutil.h"
#include "token/jwk.h"
#include "token/keyring.h"

#define RING_STATE_FILE "keyring.json"
#define RING_LOCK_FILE "keyring.lock"
#define RING_FORMAT "yihao-keyring/1"
#define RING_PUBLIC_FORMAT "yihao-keyring-public/1"
#define RING_PUBLIC_SOURCE "the key holder's ring description"
#define RING_STATE_MAX (256 * 1024)  /* keyring.json size cap */
#define RING_PATH_MAX 4096
/* How long a reload waits for a writer's lock (authctl keys rotate or generate, which
 * may be making RSA keys for seconds): a running service keeps its ring and is told
 * to try again rather than hang a SIGHUP, and with it the key holder, on that writer. */
#define RING_RELOAD_LOCK_MS 500

/* One key's record in keyring.json. */
struct ring_rec {
	char kid[TOK_KID_MAX + 1];
	enum tok_alg alg;
	enum tok_key_state state;
	int64_t created, activated, retiring, retire_at, retired;
};

/* The whole of keyring.json. */
struct ring_state {
	enum tok_alg def;
	struct ring_rec recs[TOK_RING_MAX_KEYS];
	size_t n;
};

struct tok_ring_snap {
	struct yh_snap hdr;                      /* the reference count */
	enum tok_alg def;
	struct ring_rec recs[TOK_RING_MAX_KEYS]; /* with effective states */
	size_t n;
	struct tok_key *signing[TOK_ALG_COUNT];  /* active private key per alg */
	struct tok_keyset pub;                   /* published public keys (own, then peers') */
	char *jwks;
	unsigned algs;
	size_t own;                              /* pub.keys[0..own): this ring's own keys */
	char *own_jwks;                          /* their JWKS (jwks before the peers') */
	unsigned own_algs;
};

struct tok_ring {
	char *dir;                 /* the directory of the private keys; NULL: held elsewhere */
	struct tok_ring_source src;  /* with dir NULL: where the keys are described and used */
	struct tok_ring_opts opts;
	struct yh_snap_slot slot;  /* the current snapshot */
	pthread_mutex_t peers_mu;  /* guards peers, npeers and the publication with them */
	char **peers;              /* other nodes' JWKS documents (tok_ring_set_peers) */
	size_t npeers;
};

static const char *const state_names[] = { "next", "active", "retiring", "retired" };

const char *
tok_key_state_name(enum tok_key_state st)
{
	if ((unsigned)st >= sizeof(state_names) / sizeof(state_names[0]))
		return "?";
	return state_names[st];
}

/* yh_errf then rc, with the arguments in this file's order. */
#define ring_err(err, errsz, rc, ...) YH_FAIL(rc, err, errsz, __VA_ARGS__)

static int64_t
ring_now(const struct tok_ring_opts *o)
{
	return o->clock != NULL ? o->clock() : yh_now();
}

static int
ring_path(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, RING_PATH_MAX, "%s/%s", dir, name);

	return (n < 0 || n >= RING_PATH_MAX) ? YH_ERR_TOO_LONG : 0;
}

/* A kid as the ring writes it: an RFC 7638 thumbprint, 43 base64url characters. Keeps
 * path building safe: no '/', no '.', nothing to escape. */
static bool
kid_valid(const char *kid, size_t len)
{
	if (len != TOK_THUMBPRINT_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = kid[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_'))
			return false;
	}
	return true;
}

/* --- files -------------------------------------------------------------------------- */

/* Writes DIR/name atomically with mode 0600: temporary file, fsync, rename, fsync DIR. */
static int
write_atomic(const char *dir, const char *name, const char *data, size_t len, char *err,
    size_t errsz)
{
	struct yh_file_fail f;
	char dst[RING_PATH_MAX];
	int rc;

	if (ring_path(dst, dir, name) != 0)
		return ring_err(err, errsz, YH_ERR_TOO_LONG, "%s: path too long", dir);
	if ((rc = yh_file_write_atomic(dst, data, len, 0600, YH_FILE_REPLACE, &f)) != 0)
		yh_file_fail_msg(&f, err, errsz);
	return rc;
}

/* Reads a whole regular file of at most max bytes into a NUL-terminated malloc'd buffer. */
static int
read_file(const char *path, size_t max, char **out, size_t *outlen)
{
	int fd, rc;

	*out = NULL;
	*outlen = 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? YH_ERR_NOT_FOUND : YH_ERR_IO;
	rc = yh_file_read_fd(fd, max, false, out, outlen);
	close(fd);
	return rc;
}

/* Takes the directory lock: exclusive for writers (creating the lock file), shared for
 * loaders (no lock when the file does not exist: a ring nobody ever wrote to). Returns
 * the descriptor (or -1 for "no lock") in *fd. */
static int
ring_lock(const char *dir, bool exclusive, int64_t wait_ms, int *fd, char *err,
    size_t errsz)
{
	struct yh_file_fail f;
	char path[RING_PATH_MAX];
	int rc;

	*fd = -1;
	if (ring_path(path, dir, RING_LOCK_FILE) != 0)
		return ring_err(err, errsz, YH_ERR_TOO_LONG, "%s: path too long", dir);
	if ((rc = yh_file_lock_within(path, exclusive, wait_ms, fd, &f)) == YH_ERR_BUSY)
		return ring_err(err, errsz, rc, "%s: held by another process (a key rotation or "
		    "generation under way?) for more than %lld ms: the ring was not read; try "
		    "again once it is done", path, (long long)wait_ms);
	if (rc != 0)
		yh_file_fail_msg(&f, err, errsz);
	return rc;
}

/* The directory must exist, be a directory, belong to the effective uid (the account
 * holding the keys: a ring directory another account made or put in its place is not
 * used) and be closed to group and others. */
static int
check_dir(const char *dir, char *err, size_t errsz)
{
	struct stat st;

	if (stat(dir, &st) != 0) {
		if (errno == ENOENT)
			return ring_err(err, errsz, YH_ERR_NOT_FOUND, "%s: no such directory", dir);
		return ring_err(err, errsz, YH_ERR_IO, "%s: %s", dir, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return ring_err(err, errsz, YH_ERR_INVALID, "%s: not a directory", dir);
	if (st.st_uid != geteuid())
		return ring_err(err, errsz, YH_ERR_PERM, "%s: key directory owned by uid %u, "
		    "not by uid %u that holds the keys (if nobody meant to replace it, restore "
		    "it from the backup)", dir, (unsigned)st.st_uid, (unsigned)geteuid());
	if ((st.st_mode & 077) != 0)
		return ring_err(err, errsz, YH_ERR_PERM,
		    "%s: key directory accessible by group or others (mode %03o); chmod 700 it",
		    dir, (unsigned)(st.st_mode & 0777));
	return 0;
}

/* --- keyring.json ------------------------------------------------------------------- */

static int
state_from_name(const char *s, enum tok_key_state *out)
{
	for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
		if (strcmp(s, state_names[i]) == 0) {
			*out = (enum tok_key_state)i;
			return 0;
		}
	return YH_ERR_INVALID;
}

/* Reads an optional non-negative integer member (absent: 0). */
static int
get_time(const json_t *o, const char *name, int64_t *out)
{
	const json_t *v = json_object_get(o, name);

	*out = 0;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return YH_ERR_INVALID;
	*out = (int64_t)json_integer_value(v);
	return 0;
}

static int
parse_rec(const json_t *o, size_t i, struct ring_rec *rec, const char *file, char *err,
    size_t errsz)
{
	static const char *const known[] = { "kid", "alg", "state", "created", "activated",
		"retiring", "retire_at", "retired" };
	const char *name, *kid, *alg, *st;
	const json_t *v;
	int rc = YH_ERR_INVALID;

	memset(rec, 0, sizeof(*rec));
	if (!json_is_object(o))
		return ring_err(err, errsz, rc, "%s: keys[%zu] is not an object", file, i);
	json_object_foreach((json_t *)o, name, v) {
		bool ok = false;
		for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			ok = ok || strcmp(name, known[k]) == 0;
		if (!ok)
			return ring_err(err, errsz, rc, "%s: keys[%zu]: unknown member \"%.32s\"", file,
			    i, name);
	}
	kid = json_string_value(json_object_get(o, "kid"));
	alg = json_string_value(json_object_get(o, "alg"));
	st = json_string_value(json_object_get(o, "state"));
	if (kid == NULL || !kid_valid(kid, strlen(kid)))
		return ring_err(err, errsz, rc, "%s: keys[%zu]: kid missing or not a thumbprint",
		    file, i);
	memcpy(rec->kid, kid, TOK_THUMBPRINT_LEN + 1);
	if (alg == NULL || tok_alg_from_name(alg, &rec->alg) != 0)
		return ring_err(err, errsz, rc, "%s: key %s: alg missing or unsupported", file, kid);
	if (st == NULL || state_from_name(st, &rec->state) != 0)
		return ring_err(err, errsz, rc, "%s: key %s: state must be next, active, "
		    "retiring or retired", file, kid);
	if (get_time(o, "created", &rec->created) != 0 || rec->created == 0 ||
	    get_time(o, "activated", &rec->activated) != 0 ||
	    get_time(o, "retiring", &rec->retiring) != 0 ||
	    get_time(o, "retire_at", &rec->retire_at) != 0 ||
	    get_time(o, "retired", &rec->retired) != 0)
		return ring_err(err, errsz, rc, "%s: key %s: timestamps must be non-negative "
		    "integers (created required)", file, kid);
	if (rec->state >= TOK_KS_RETIRING && rec->retire_at == 0)
		return ring_err(err, errsz, rc, "%s: key %s: %s without retire_at", file, kid,
		    st);
	if (rec->state == TOK_KS_RETIRED && rec->retired == 0)
		return ring_err(err, errsz, rc, "%s: key %s: retired without retired time", file,
		    kid);
	return 0;
}

/* The invariants: unique kids; per alg exactly one active and at most one next unless
 * every key of the alg is retired; the default alg has an active key. */
static int
state_check(const struct ring_state *st, const char *file, char *err, size_t errsz)
{
	int rc = YH_ERR_INVALID;

	for (size_t i = 0; i < st->n; i++)
		for (size_t j = i + 1; j < st->n; j++)
			if (strcmp(st->recs[i].kid, st->recs[j].kid) == 0)
				return ring_err(err, errsz, rc, "%s: key %s listed twice", file,
				    st->recs[i].kid);
	for (int a = 1; a < TOK_ALG_COUNT; a++) {
		size_t active = 0, next = 0, live = 0;
		for (size_t i = 0; i < st->n; i++) {
			if (st->recs[i].alg != (enum tok_alg)a)
				continue;
			active += st->recs[i].state == TOK_KS_ACTIVE;
			next += st->recs[i].state == TOK_KS_NEXT;
			live += st->recs[i].state != TOK_KS_RETIRED;
		}
		if (live > 0 && (active != 1 || next > 1))
			return ring_err(err, errsz, rc, "%s: %s has %zu active and %zu next keys "
			    "(want exactly 1 active, at most 1 next)", file,
			    tok_alg_name((enum tok_alg)a), active, next);
		if ((enum tok_alg)a == st->def && active != 1)
			return ring_err(err, errsz, rc, "%s: no active key for the default alg %s",
			    file, tok_alg_name(st->def));
	}
	return 0;
}

/* The state from a parsed keyring.json object (file names it in errors). */
static int
state_from_json(const json_t *root, const char *file, struct ring_state *st, char *err,
    size_t errsz)
{
	const char *fmt, *def, *name;
	json_t *keys, *v;
	size_t i;
	int rc;

	memset(st, 0, sizeof(*st));
	if (!json_is_object(root))
		return ring_err(err, errsz, YH_ERR_INVALID, "%s: not a JSON object", file);
	json_object_foreach((json_t *)root, name, v) {
		if (strcmp(name, "format") != 0 && strcmp(name, "default_alg") != 0 &&
		    strcmp(name, "keys") != 0)
			return ring_err(err, errsz, YH_ERR_INVALID, "%s: unknown member \"%.32s\"",
			    file, name);
	}
	fmt = json_string_value(json_object_get(root, "format"));
	if (fmt == NULL || strcmp(fmt, RING_FORMAT) != 0)
		return ring_err(err, errsz, YH_ERR_INVALID, "%s: format is not \"%s\"", file,
		    RING_FORMAT);
	def = json_string_value(json_object_get(root, "default_alg"));
	if (def == NULL || tok_alg_from_name(def, &st->def) != 0)
		return ring_err(err, errsz, YH_ERR_INVALID, "%s: default_alg missing or "
		    "unsupported", file);
	keys = json_object_get(root, "keys");
	if (!json_is_array(keys))
		return ring_err(err, errsz, YH_ERR_INVALID, "%s: keys is not an array", file);
	if (json_array_size(keys) > TOK_RING_MAX_KEYS)
		return ring_err(err, errsz, YH_ERR_LIMIT, "%s: more than %d keys", file,
		    TOK_RING_MAX_KEYS);
	json_array_foreach(keys, i, v) {
		if ((rc = parse_rec(v, i, &st->recs[i], file, err, errsz)) != 0)
			return rc;
		st->n++;
	}
	return state_check(st, file, err, errsz);
}

static int
state_parse(const char *text, size_t len, const char *file, struct ring_state *st,
    char *err, size_t errsz)
{
	json_error_t je;
	json_t *root;
	int rc;

	memset(st, 0, sizeof(*st));
	if ((root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)) == NULL)
		return ring_err(err, errsz, YH_ERR_INVALID, "%s: line %d column %d: %s", file,
		    je.line, je.column, je.text);
	rc = state_from_json(root, file, st, err, errsz);
	json_decref(root);
	return rc;
}

static int
put_time(json_t *o, const char *name, int64_t t)
{
	if (t == 0)
		return 0;
	return json_object_set_new(o, name, json_integer(t)) == 0 ? 0 : YH_ERR_ALLOC;
}

/* The state as a keyring.json object (*out: the caller json_decref's it). Retired
 * records are left out when published_only. */
static int
state_json(const struct ring_state *st, bool published_only, json_t **out)
{
	json_t *root = json_object(), *keys = json_array();
	int rc = YH_ERR_ALLOC;

	*out = NULL;
	if (root == NULL || keys == NULL)
		goto out;
	if (json_object_set_new(root, "format", json_string(RING_FORMAT)) != 0 ||
	    json_object_set_new(root, "default_alg", json_string(tok_alg_name(st->def))) != 0 ||
	    json_object_set(root, "keys", keys) != 0)
		goto out;
	for (size_t i = 0; i < st->n; i++) {
		const struct ring_rec *r = &st->recs[i];
		json_t *o;
		if (published_only && r->state == TOK_KS_RETIRED)
			continue;
		if ((o = json_object()) == NULL || json_array_append_new(keys, o) != 0)
			goto out;
		if (json_object_set_new(o, "kid", json_string(r->kid)) != 0 ||
		    json_object_set_new(o, "alg", json_string(tok_alg_name(r->alg))) != 0 ||
		    json_object_set_new(o, "state", json_string(tok_key_state_name(r->state))) != 0 ||
		    put_time(o, "created", r->created) != 0 ||
		    put_time(o, "activated", r->activated) != 0 ||
		    put_time(o, "retiring", r->retiring) != 0 ||
		    put_time(o, "retire_at", r->retire_at) != 0 ||
		    put_time(o, "retired", r->retired) != 0)
			goto out;
	}
	*out = root;
	root = NULL;
	rc = 0;
out:
	json_decref(keys);
	json_decref(root);
	return rc;
}

/* Serializes the state (pretty, stable member order, trailing newline). */
static int
state_dump(const struct ring_state *st, char **out)
{
	json_t *root = NULL;
	char *s = NULL;
	size_t n;
	int rc;

	*out = NULL;
	if ((rc = state_json(st, false, &root)) != 0)
		return rc;
	rc = YH_ERR_ALLOC;
	if ((s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL)
		goto out;
	n = strlen(s);
	if ((*out = malloc(n + 2)) == NULL)
		goto out;
	memcpy(*out, s, n);
	(*out)[n] = '\n';
	(*out)[n + 1] = '\0';
	rc = 0;
out:
	free(s);
	json_decref(root);
	return rc;
}

/* Reads DIR/keyring.json into st. YH_ERR_NOT_FOUND when there is none. */
static int
state_read(const char *dir, struct ring_state *st, char *err, size_t errsz)
{
	char path[RING_PATH_MAX];
	char *text = NULL;
	size_t len;
	int rc;

	if (ring_path(path, dir, RING_STATE_FILE) != 0)
		return ring_err(err, errsz, YH_ERR_TOO_LONG, "%s: path too long", dir);
	rc = read_file(path, RING_STATE_MAX, &text, &len);
	if (rc == YH_ERR_NOT_FOUND)
		return ring_err(err, errsz, rc, "%s: no key ring here (%s missing)", dir,
		    RING_STATE_FILE);
	if (rc == YH_ERR_TOO_LONG)
		return ring_err(err, errsz, YH_ERR_INVALID, "%s: larger than %d bytes", path,
		    RING_STATE_MAX);
	if (rc != 0)
		return ring_err(err, errsz, rc, "%s: %s", path, strerror(errno));
	rc = state_parse(text, len, path, st, err, errsz);
	free(text);
	return rc;
}

static int
state_write(const char *dir, const struct ring_state *st, char *err, size_t errsz)
{
	char *text = NULL;
	int rc;

	if ((rc = state_check(st, RING_STATE_FILE, err, errsz)) != 0)
		return rc;  /* a bug: never write a state we would refuse to load */
	if ((rc = state_dump(st, &text)) != 0)
		return ring_err(err, errsz, rc, "cannot serialize the key ring");
	rc = write_atomic(dir, RING_STATE_FILE, text, strlen(text), err, errsz);
	free(text);
	return rc;
}

/* --- keys on disk ------------------------------------------------------------------- */

/* Generates a key of alg, writes DIR/<kid>.pem (0600, atomic) and appends a record for it
 * in state state to st. */
static int
gen_key(const char *dir, const struct tok_ring_opts *o, enum tok_alg alg,
    enum tok_key_state state, int64_t now, struct ring_state *st, char *err, size_t errsz)
{
	struct tok_key *key = NULL;
	struct ring_rec *rec;
	char *pem = NULL, name[TOK_KID_MAX + 8];
	int rc;

	if (st->n >= TOK_RING_MAX_KEYS)
		return ring_err(err, errsz, YH_ERR_LIMIT, "%s: the ring already holds %d keys",
		    dir, TOK_RING_MAX_KEYS);
	if ((rc = tok_key_generate(alg, o->rsa_bits, &key)) != 0) {
		ring_err(err, errsz, rc, "generating a %s key: %s", tok_alg_name(alg),
		    yh_strerror(rc));
		goto out;
	}
	if (!kid_valid(tok_key_kid(key), strlen(tok_key_kid(key)))) {
		rc = ring_err(err, errsz, YH_ERR_INTERNAL, "generated key has no thumbprint kid");
		goto out;
	}
	if ((rc = tok_key_to_pem(key, true, &pem)) != 0) {
		ring_err(err, errsz, rc, "encoding a %s key: %s", tok_alg_name(alg), yh_strerror(rc));
		goto out;
	}
	snprintf(name, sizeof(name), "%s.pem", tok_key_kid(key));
	if ((rc = write_atomic(dir, name, pem, strlen(pem), err, errsz)) != 0)
		goto out;
	rec = &st->recs[st->n++];
	memset(rec, 0, sizeof(*rec));
	memcpy(rec->kid, tok_key_kid(key), TOK_THUMBPRINT_LEN + 1);
	rec->alg = alg;
	rec->state = state;
	rec->created = now;
	if (state == TOK_KS_ACTIVE)
		rec->activated = now;
out:
	yh_strfree_secret(pem);
	tok_key_free(key);
	return rc;
}

/* Reads the private key file path (0600, owned by the effective uid: yh_file_read_key)
 * as a key of alg. err names the file and the problem. */
static int
load_pem(const char *path, enum tok_alg alg, struct tok_key **out, char *err, size_t errsz)
{
	struct yh_file_fail f;
	char *pem = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	rc = yh_file_read_key(path, TOK_PEM_MAX, &pem, &len, &f);
	if (rc == YH_ERR_NOT_FOUND)
		return ring_err(err, errsz, YH_ERR_KEY, "%s: missing, though keyring.json names "
		    "it (restore it from the backup)", path);
	if (rc != 0 && (f.step == YH_FILE_MODE || f.step == YH_FILE_OWNER)) {
		yh_file_fail_msg(&f, err, errsz);
		return rc;
	}
	if (rc == 0)
		rc = tok_key_from_pem(pem, len, alg, out);
	if (pem != NULL)
		yh_freezero(pem, len + 1);
	if (rc != 0)
		return ring_err(err, errsz, YH_ERR_KEY, "%s: cannot load a %s key: %s", path,
		    tok_alg_name(alg), yh_strerror(rc));
	return 0;
}

/* Loads DIR/<kid>.pem as a private key of rec->alg and checks it is the key the kid
 * names. */
static int
load_key(const char *dir, const struct ring_rec *rec, struct tok_key **out, char *err,
    size_t errsz)
{
	char path[RING_PATH_MAX], name[TOK_KID_MAX + 8], tp[TOK_THUMBPRINT_LEN + 1];
	struct tok_key *key = NULL;
	int rc;

	*out = NULL;
	snprintf(name, sizeof(name), "%s.pem", rec->kid);
	if (ring_path(path, dir, name) != 0)
		return ring_err(err, errsz, YH_ERR_TOO_LONG, "%s: path too long", dir);
	rc = load_pem(path, rec->alg, &key, err, errsz);
	if (rc != 0)
		goto out;
	rc = YH_ERR_KEY;
	if (!tok_key_is_private(key)) {
		ring_err(err, errsz, rc, "%s: holds no private key", path);
		goto out;
	}
	if (tok_jwk_thumbprint(key, tp) != 0 || strcmp(tp, rec->kid) != 0) {
		ring_err(err, errsz, rc, "%s: the key does not match its kid", path);
		goto out;
	}
	if (tok_key_set_kid(key, rec->kid) != 0) {
		ring_err(err, errsz, rc, "%s: cannot set kid", path);
		goto out;
	}
	tok_key_set_use(key, TOK_USE_SIG);
	*out = key;
	key = NULL;
	rc = 0;
out:
	tok_key_free(key);
	return rc;
}

/* --- snapshots ---------------------------------------------------------------------- */

static void
snap_free(struct tok_ring_snap *s)
{
	if (s == NULL)
		return;
	for (int a = 0; a < TOK_ALG_COUNT; a++)
		tok_key_free(s->signing[a]);
	tok_keyset_clear(&s->pub);
	free(s->jwks);
	free(s->own_jwks);
	free(s);
}

static void
snap_free_hdr(struct yh_snap *h)
{
	snap_free(YH_SNAP_OF(h, struct tok_ring_snap, hdr));
}

/* Publication order in the JWKS: the default alg's active key first, other active keys,
 * then next keys, then retiring keys. */
static int
pub_rank(const struct tok_ring_snap *s, const struct ring_rec *r)
{
	if (r->state == TOK_KS_ACTIVE)
		return r->alg == s->def ? 0 : 1;
	return r->state == TOK_KS_NEXT ? 2 : 3;
}

/* Where a snapshot's keys come from: the private key files of the ring's directory, or
 * the public keys a key holder described (the active ones then sign through src). */
struct key_src {
	const char *dir;
	const struct tok_keyset *described;
	const struct tok_ring_source *src;
};

/* The public key of record r, and for an active key the key that signs for it. */
static int
src_keys(const struct key_src *ks, const struct ring_rec *r, struct tok_key **pub,
    struct tok_key **signer, char *err, size_t errsz)
{
	const struct tok_key *k;
	int rc;

	*pub = *signer = NULL;
	if (ks->dir != NULL) {
		if ((rc = load_key(ks->dir, r, signer, err, errsz)) != 0)
			return rc;
		if ((rc = tok_key_public(*signer, pub)) != 0)
			return ring_err(err, errsz, rc, "key %s: %s", r->kid, yh_strerror(rc));
		return 0;
	}
	if ((k = tok_keyset_find(ks->described, r->kid)) == NULL || tok_key_alg(k) != r->alg)
		return ring_err(err, errsz, YH_ERR_KEY, "%s: key %s: no %s public key for it",
		    RING_PUBLIC_SOURCE, r->kid, tok_alg_name(r->alg));
	*pub = tok_key_ref((struct tok_key *)k);
	if (r->state == TOK_KS_ACTIVE && (rc = tok_key_with_signer(k, ks->src->sign,
	    ks->src->ctx, signer)) != 0)
		return ring_err(err, errsz, rc, "key %s: %s", r->kid, yh_strerror(rc));
	if (*signer != NULL && ks->src->submit != NULL)
		tok_key_set_submit(*signer, ks->src->submit);
	return 0;
}

static int
snap_add_published(struct tok_ring_snap *s, const struct key_src *ks,
    const struct ring_rec *r, char *err, size_t errsz)
{
	struct tok_key *signer = NULL, *pub = NULL;
	int rc;

	if ((rc = src_keys(ks, r, &pub, &signer, err, errsz)) != 0)
		goto out;
	if ((rc = tok_keyset_add(&s->pub, pub)) != 0) {
		ring_err(err, errsz, rc, "key %s: %s", r->kid, yh_strerror(rc));
		goto out;
	}
	s->algs |= TOK_ALGSET(r->alg);
	if (r->state == TOK_KS_ACTIVE) {
		s->signing[r->alg] = signer;
		signer = NULL;
	}
out:
	tok_key_free(pub);
	tok_key_free(signer);
	return rc;
}

/* Builds a snapshot from a checked state: effective states at now, keys loaded. */
static int
snap_build(const struct key_src *ks, const struct ring_state *st, int64_t now,
    struct tok_ring_snap **out, char *err, size_t errsz)
{
	struct tok_ring_snap *s;
	int rc = 0;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return ring_err(err, errsz, YH_ERR_ALLOC, "out of memory");
	yh_snap_init(&s->hdr, snap_free_hdr);
	s->def = st->def;
	s->n = st->n;
	memcpy(s->recs, st->recs, st->n * sizeof(st->recs[0]));
	tok_keyset_init(&s->pub);
	for (size_t i = 0; i < s->n; i++)
		if (s->recs[i].state == TOK_KS_RETIRING && s->recs[i].retire_at <= now)
			s->recs[i].state = TOK_KS_RETIRED;
	for (int rank = 0; rank < 4; rank++)
		for (size_t i = 0; i < s->n; i++) {
			const struct ring_rec *r = &s->recs[i];
			if (r->state == TOK_KS_RETIRED || pub_rank(s, r) != rank)
				continue;
			if ((rc = snap_add_published(s, ks, r, err, errsz)) != 0)
				goto out;
		}
	if (s->pub.n > TOK_JWKS_MAX_KEYS) {
		rc = ring_err(err, errsz, YH_ERR_LIMIT, "%s: more than %d published keys",
		    ks->dir != NULL ? ks->dir : RING_PUBLIC_SOURCE, TOK_JWKS_MAX_KEYS);
		goto out;
	}
	if ((rc = tok_jwks_export_string(&s->pub, &s->jwks)) != 0) {
		ring_err(err, errsz, rc, "cannot export the JWKS: %s", yh_strerror(rc));
		goto out;
	}
	s->own = s->pub.n;
	s->own_algs = s->algs;
	if ((s->own_jwks = strdup(s->jwks)) == NULL) {
		rc = ring_err(err, errsz, YH_ERR_ALLOC, "out of memory");
		goto out;
	}
	*out = s;
	s = NULL;
out:
	snap_free(s);
	return rc;
}

/*
 * A snapshot like s (its own keys, states and signers shared by reference) whose
 * published keys are its own followed by the keys of the n peer JWKS documents (a peer
 * key with the kid of one already there is left out; a document that does not parse is
 * skipped with a warning).
 */
static int
snap_with_peers(struct tok_ring_snap *s, char *const *peers, size_t n,
    struct tok_ring_snap **out)
{
	struct tok_ring_snap *t;
	int rc = 0;

	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return YH_ERR_ALLOC;
	yh_snap_init(&t->hdr, snap_free_hdr);
	t->def = s->def;
	t->n = s->n;
	memcpy(t->recs, s->recs, s->n * sizeof(s->recs[0]));
	tok_keyset_init(&t->pub);
	for (int a = 0; a < TOK_ALG_COUNT; a++)
		t->signing[a] = s->signing[a] != NULL ? tok_key_ref(s->signing[a]) : NULL;
	for (size_t i = 0; rc == 0 && i < s->own; i++)
		rc = tok_keyset_add(&t->pub, s->pub.keys[i]);
	t->own = t->pub.n;
	t->own_algs = t->algs = s->own_algs;
	for (size_t p = 0; rc == 0 && p < n; p++) {
		struct tok_keyset set;

		tok_keyset_init(&set);
		if (tok_jwks_parse(peers[p], strlen(peers[p]), 0, &set) != 0) {
			yh_warn("key ring: a peer's JWKS does not parse: skipped");
			tok_keyset_clear(&set);
			continue;
		}
		for (size_t k = 0; rc == 0 && k < set.n; k++) {
			struct tok_key *key = set.keys[k];
			const char *kid = tok_key_kid(key);

			if (kid == NULL || tok_key_alg(key) == TOK_ALG_UNSET ||
			    tok_keyset_find(&t->pub, kid) != NULL)
				continue;
			if ((rc = tok_keyset_add(&t->pub, key)) == 0)
				t->algs |= TOK_ALGSET(tok_key_alg(key));
			else if (rc == YH_ERR_LIMIT) {
				yh_warn("key ring: more published keys than a set holds: the rest "
				    "of the peers' keys are left out");
				rc = 0;
				break;
			}
		}
		tok_keyset_clear(&set);
	}
	if (rc == 0 && (t->own_jwks = strdup(s->own_jwks)) == NULL)
		rc = YH_ERR_ALLOC;
	if (rc == 0)
		rc = tok_jwks_export_string(&t->pub, &t->jwks);
	if (rc != 0) {
		snap_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

/* Publishes s (a fresh snapshot of the ring's own keys) with the peers' keys added;
 * takes s's reference. */
static int
ring_publish(struct tok_ring *r, struct tok_ring_snap *s)
{
	struct tok_ring_snap *t = NULL;
	int rc;

	pthread_mutex_lock(&r->peers_mu);
	if (r->npeers == 0) {
		yh_snap_publish(&r->slot, &s->hdr);
		pthread_mutex_unlock(&r->peers_mu);
		return 0;
	}
	rc = snap_with_peers(s, r->peers, r->npeers, &t);
	snap_free(s);
	if (rc == 0)
		yh_snap_publish(&r->slot, &t->hdr);
	pthread_mutex_unlock(&r->peers_mu);
	return rc;
}

/* Loads the ring from disk under the shared directory lock, waiting at most lock_ms for
 * it (< 0: for ever). */
static int
ring_load(const char *dir, const struct tok_ring_opts *o, int64_t lock_ms,
    struct tok_ring_snap **out, char *err, size_t errsz)
{
	struct ring_state *st = NULL;
	int lock = -1, rc;

	*out = NULL;
	if ((rc = check_dir(dir, err, errsz)) != 0)
		return rc;
	if ((st = malloc(sizeof(*st))) == NULL)
		return ring_err(err, errsz, YH_ERR_ALLOC, "out of memory");
	if ((rc = ring_lock(dir, false, lock_ms, &lock, err, errsz)) != 0)
		goto out;
	if ((rc = state_read(dir, st, err, errsz)) != 0)
		goto out;
	rc = snap_build(&(struct key_src){ .dir = dir }, st, ring_now(o), out, err, errsz);
out:
	yh_file_unlock(lock);
	free(st);
	return rc;
}

/* Builds a snapshot from a key holder's description (tok_snap_describe's document). */
static int
remote_load(const struct tok_ring_source *src, const char *doc, struct tok_ring_snap **out,
    char *err, size_t errsz)
{
	struct tok_keyset described;
	struct ring_state *st = NULL;
	json_t *root = NULL, *jwks;
	json_error_t je;
	const char *fmt;
	char *text = NULL;
	int rc = YH_ERR_INVALID;

	*out = NULL;
	tok_keyset_init(&described);
	if ((st = malloc(sizeof(*st))) == NULL)
		return ring_err(err, errsz, YH_ERR_ALLOC, "out of memory");
	if ((root = json_loads(doc, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		ring_err(err, errsz, rc, "%s: %s", RING_PUBLIC_SOURCE, je.text);
		goto out;
	}
	fmt = json_string_value(json_object_get(root, "format"));
	jwks = json_object_get(root, "jwks");
	if (fmt == NULL || strcmp(fmt, RING_PUBLIC_FORMAT) != 0 || !json_is_object(jwks) ||
	    json_object_size(root) != 3) {
		ring_err(err, errsz, rc, "%s: not a %s document", RING_PUBLIC_SOURCE,
		    RING_PUBLIC_FORMAT);
		goto out;
	}
	if ((rc = state_from_json(json_object_get(root, "ring"), RING_PUBLIC_SOURCE, st, err,
	    errsz)) != 0)
		goto out;
	if ((text = json_dumps(jwks, JSON_COMPACT)) == NULL) {
		rc = ring_err(err, errsz, YH_ERR_ALLOC, "out of memory");
		goto out;
	}
	if ((rc = tok_jwks_parse(text, strlen(text), TOK_JWKS_STRICT, &described)) != 0) {
		ring_err(err, errsz, rc, "%s: jwks: %s", RING_PUBLIC_SOURCE, yh_strerror(rc));
		goto out;
	}
	/* The holder sent effective states: no clock here decides anything. */
	rc = snap_build(&(struct key_src){ .described = &described, .src = src }, st,
	    INT64_MIN, out, err, errsz);
out:
	tok_keyset_clear(&described);
	free(text);
	json_decref(root);
	free(st);
	return rc;
}

/* A fresh snapshot from where the ring lives: its directory, or the key holder (which
 * reloads its own ring first when reload is true). */
static int
ring_fetch(struct tok_ring *r, bool reload, struct tok_ring_snap **out, char *err,
    size_t errsz)
{
	char *doc = NULL;
	int rc;

	if (r->dir != NULL)
		return ring_load(r->dir, &r->opts, reload ? RING_RELOAD_LOCK_MS : -1, out, err,
		    errsz);
	*out = NULL;
	if ((rc = r->src.describe(r->src.ctx, reload, &doc, err, errsz)) != 0)
		return rc;
	rc = remote_load(&r->src, doc, out, err, errsz);
	free(doc);
	return rc;
}

int
tok_ring_reload(struct tok_ring *r, char *err, size_t errsz)
{
	struct tok_ring_snap *s = NULL;
	int rc;

	if (r == NULL)
		return ring_err(err, errsz, YH_ERR_INVALID, "no ring");
	if ((rc = ring_fetch(r, true, &s, err, errsz)) != 0)
		return rc;
	if ((rc = ring_publish(r, s)) != 0)
		return ring_err(err, errsz, rc, "cannot add the peers' keys: %s", yh_strerror(rc));
	return 0;
}

int
tok_ring_set_peers(struct tok_ring *r, const char *const *jwks, size_t n)
{
	struct tok_ring_snap *cur, *t = NULL;
	char **copy = NULL;
	int rc = 0;

	if (n > 0 && (copy = calloc(n, sizeof(*copy))) == NULL)
		return YH_ERR_ALLOC;
	for (size_t i = 0; rc == 0 && i < n; i++)
		if ((copy[i] = strdup(jwks[i])) == NULL)
			rc = YH_ERR_ALLOC;
	pthread_mutex_lock(&r->peers_mu);
	if (rc == 0) {
		char **old = r->peers;
		size_t nold = r->npeers;

		r->peers = copy;
		r->npeers = n;
		copy = old;
		n = nold;
		/* the current snapshot's own keys with the new peers */
		cur = tok_ring_acquire(r);
		if ((rc = snap_with_peers(cur, r->peers, r->npeers, &t)) == 0)
			yh_snap_publish(&r->slot, &t->hdr);
		tok_snap_release(cur);
	}
	pthread_mutex_unlock(&r->peers_mu);
	for (size_t i = 0; copy != NULL && i < n; i++)
		free(copy[i]);
	free(copy);
	return rc;
}

const char *
tok_snap_own_jwks(const struct tok_ring_snap *s)
{
	return s->own_jwks;
}

struct tok_ring_snap *
tok_ring_acquire(struct tok_ring *r)
{
	/* Never NULL: tok_ring_open publishes a first snapshot or fails. */
	return YH_SNAP_OF(yh_snap_acquire(&r->slot), struct tok_ring_snap, hdr);
}

void
tok_snap_release(struct tok_ring_snap *s)
{
	if (s != NULL)
		yh_snap_release(&s->hdr);
}

const struct tok_key *
tok_snap_signing_key(const struct tok_ring_snap *s, enum tok_alg alg)
{
	if (alg == TOK_ALG_UNSET)
		alg = s->def;
	if ((unsigned)alg >= TOK_ALG_COUNT)
		return NULL;
	return s->signing[alg];
}

enum tok_alg
tok_snap_default_alg(const struct tok_ring_snap *s)
{
	return s->def;
}

const char *
tok_snap_jwks(const struct tok_ring_snap *s)
{
	return s->jwks;
}

const struct tok_keyset *
tok_snap_keyset(const struct tok_ring_snap *s)
{
	return &s->pub;
}

unsigned
tok_snap_algs(const struct tok_ring_snap *s)
{
	return s->algs;
}

size_t
tok_snap_count(const struct tok_ring_snap *s)
{
	return s->n;
}

const struct tok_key *
tok_snap_active_key(const struct tok_ring_snap *s, const char *kid)
{
	for (int a = 1; a < TOK_ALG_COUNT; a++)
		if (s->signing[a] != NULL && kid != NULL && strcmp(tok_key_kid(s->signing[a]),
		    kid) == 0)
			return s->signing[a];
	return NULL;
}

int
tok_snap_describe(const struct tok_ring_snap *s, char **out)
{
	struct ring_state *st;
	json_t *root = NULL, *ring = NULL, *jwks = NULL;
	int rc = YH_ERR_ALLOC;

	*out = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return YH_ERR_ALLOC;
	st->def = s->def;
	st->n = s->n;
	memcpy(st->recs, s->recs, s->n * sizeof(s->recs[0]));
	if ((rc = state_json(st, true, &ring)) != 0 ||
	    (rc = tok_jwks_export(&s->pub, &jwks)) != 0)
		goto out;
	rc = YH_ERR_ALLOC;
	if ((root = json_object()) == NULL ||
	    json_object_set_new(root, "format", json_string(RING_PUBLIC_FORMAT)) != 0 ||
	    json_object_set(root, "ring", ring) != 0 || json_object_set(root, "jwks", jwks) != 0 ||
	    (*out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
		goto out;
	rc = 0;
out:
	json_decref(root);
	json_decref(ring);
	json_decref(jwks);
	free(st);
	return rc;
}

int
tok_snap_entry(const struct tok_ring_snap *s, size_t i, struct tok_ring_entry *out)
{
	const struct ring_rec *r;

	memset(out, 0, sizeof(*out));
	if (i >= s->n)
		return YH_ERR_NOT_FOUND;
	r = &s->recs[i];
	out->kid = r->kid;
	out->alg = r->alg;
	out->state = r->state;
	out->created = r->created;
	out->activated = r->activated;
	out->retiring = r->retiring;
	out->retire_at = r->retire_at;
	out->retired = r->retired;
	return 0;
}

/* --- writers ------------------------------------------------------------------------ */

/* Creates a fresh ring (active + next of o->alg) unless another writer did meanwhile. */
static int
ring_create(const char *dir, const struct tok_ring_opts *o, char *err, size_t errsz)
{
	struct ring_state *st = NULL;
	int lock = -1, rc;
	int64_t now = ring_now(o);

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return ring_err(err, errsz, YH_ERR_IO, "%s: %s", dir, strerror(errno));
	if ((rc = check_dir(dir, err, errsz)) != 0)
		return rc;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return ring_err(err, errsz, YH_ERR_ALLOC, "out of memory");
	if ((rc = ring_lock(dir, true, -1, &lock, err, errsz)) != 0)
		goto out;
	rc = state_read(dir, st, err, errsz);
	if (rc != YH_ERR_NOT_FOUND)
		goto out;  /* created by someone else meanwhile (0), or present but broken */
	memset(st, 0, sizeof(*st));
	st->def = o->alg;
	if ((rc = gen_key(dir, o, o->alg, TOK_KS_ACTIVE, now, st, err, errsz)) != 0 ||
	    (rc = gen_key(dir, o, o->alg, TOK_KS_NEXT, now, st, err, errsz)) != 0)
		goto out;
	rc = state_write(dir, st, err, errsz);
out:
	yh_file_unlock(lock);
	free(st);
	return rc;
}

static void
opts_fill(struct tok_ring_opts *o, const struct tok_ring_opts *in)
{
	memset(o, 0, sizeof(*o));
	if (in != NULL)
		*o = *in;
	if (o->alg == TOK_ALG_UNSET)
		o->alg = TOK_ALG_ES256;
	if (o->retire_after <= 0)
		o->retire_after = TOK_RING_DEFAULT_RETIRE;
	if (o->purge_after <= 0)
		o->purge_after = TOK_RING_DEFAULT_PURGE;
	if (o->next_min_age < 0)
		o->next_min_age = 0;
}

int
tok_ring_open_remote(const struct tok_ring_source *src, struct tok_ring **out, char *err,
    size_t errsz)
{
	struct tok_ring *r = NULL;
	struct tok_ring_snap *s = NULL;
	int rc;

	*out = NULL;
	if (src == NULL || src->describe == NULL || src->sign == NULL)
		return ring_err(err, errsz, YH_ERR_INVALID, "no key holder to describe the ring");
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return ring_err(err, errsz, YH_ERR_ALLOC, "out of memory");
	r->src = *src;
	opts_fill(&r->opts, NULL);
	if (yh_snap_slot_init(&r->slot) != 0) {
		free(r);
		return ring_err(err, errsz, YH_ERR_INTERNAL, "mutex init failed");
	}
	pthread_mutex_init(&r->peers_mu, NULL);
	if ((rc = ring_fetch(r, false, &s, err, errsz)) != 0) {
		tok_ring_free(r);
		return rc;
	}
	yh_snap_publish(&r->slot, &s->hdr);
	*out = r;
	return 0;
}

/* Rotation and adding keys work on the directory: not through a key holder. */
static int
writable(const struct tok_ring *r, char *err, size_t errsz)
{
	if (r->dir == NULL)
		return ring_err(err, errsz, YH_ERR_UNSUPPORTED, "this ring is held by a key "
		    "holder: change it with authctl keys on its directory");
	return check_dir(r->dir, err, errsz);
}

int
tok_ring_open(const char *dir, const struct tok_ring_opts *opts, struct tok_ring **out,
    char *err, size_t errsz)
{
	struct tok_ring *r = NULL;
	struct tok_ring_snap *s = NULL;
	int rc;

	*out = NULL;
	if (dir == NULL || dir[0] == '\0' || strlen(dir) > RING_PATH_MAX - 64)
		return ring_err(err, errsz, YH_ERR_INVALID, "key ring directory missing or too long");
	if ((r = calloc(1, sizeof(*r))) == NULL || (r->dir = strdup(dir)) == NULL) {
		free(r);
		return ring_err(err, errsz, YH_ERR_ALLOC, "out of memory");
	}
	opts_fill(&r->opts, opts);
	if (yh_snap_slot_init(&r->slot) != 0) {
		free(r->dir);
		free(r);
		return ring_err(err, errsz, YH_ERR_INTERNAL, "mutex init failed");
	}
	pthread_mutex_init(&r->peers_mu, NULL);
	if (tok_alg_name(r->opts.alg) == NULL) {
		rc = ring_err(err, errsz, YH_ERR_UNSUPPORTED, "unsupported algorithm");
		goto out;
	}
	if (r->opts.create && (rc = ring_create(dir, &r->opts, err, errsz)) != 0)
		goto out;
	if ((rc = ring_load(dir, &r->opts, -1, &s, err, errsz)) != 0)
		goto out;
	yh_snap_publish(&r->slot, &s->hdr);
	*out = r;
	r = NULL;
out:
	tok_ring_free(r);
	return rc;
}

void
tok_ring_free(struct tok_ring *r)
{
	if (r == NULL)
		return;
	yh_snap_slot_destroy(&r->slot);
	for (size_t i = 0; i < r->npeers; i++)
		free(r->peers[i]);
	free(r->peers);
	pthread_mutex_destroy(&r->peers_mu);
	free(r->dir);
	free(r);
}

/* Index of the record of alg in state st, or -1. */
static int
find_rec(const struct ring_state *st, enum tok_alg alg, enum tok_key_state state)
{
	for (size_t i = 0; i < st->n; i++)
		if (st->recs[i].alg == alg && st->recs[i].state == state)
			return (int)i;
	return -1;
}

/* Rotation preconditions for one alg: a next key, old enough. */
static int
rotate_check(const struct tok_ring *r, const struct ring_state *st, enum tok_alg alg,
    int64_t now, char *err, size_t errsz)
{
	int n = find_rec(st, alg, TOK_KS_NEXT);

	if (find_rec(st, alg, TOK_KS_ACTIVE) < 0)
		return ring_err(err, errsz, YH_ERR_NOT_FOUND, "%s: the ring has no %s keys",
		    r->dir, tok_alg_name(alg));
	if (n < 0)
		return ring_err(err, errsz, YH_ERR_NOT_FOUND, "%s: no next %s key to promote",
		    r->dir, tok_alg_name(alg));
	if (now - st->recs[n].created < r->opts.next_min_age)
		return ring_err(err, errsz, YH_ERR_BUSY, "the next %s key has been published for "
		    "%lds only; wait until it is %lds old", tok_alg_name(alg),
		    (long)(now - st->recs[n].created), (long)r->opts.next_min_age);
	return 0;
}

/* next -> active -> retiring for one alg, then a new next. */
static int
rotate_alg(const struct tok_ring *r, struct ring_state *st, enum tok_alg alg, int64_t now,
    char *err, size_t errsz)
{
	int a = find_rec(st, alg, TOK_KS_ACTIVE), n = find_rec(st, alg, TOK_KS_NEXT);

	st->recs[a].state = TOK_KS_RETIRING;
	st->recs[a].retiring = now;
	st->recs[a].retire_at = now + r->opts.retire_after;
	st->recs[n].state = TOK_KS_ACTIVE;
	st->recs[n].activated = now;
	return gen_key(r->dir, &r->opts, alg, TOK_KS_NEXT, now, st, err, errsz);
}

/* Records expired retiring keys as retired and drops retired records older than
 * purge_after, collecting their kids in gone (the caller deletes the files after the
 * state is written). */
static void
expire_and_purge(const struct tok_ring *r, struct ring_state *st, int64_t now,
    char gone[][TOK_KID_MAX + 1], size_t *ngone)
{
	size_t w = 0;

	*ngone = 0;
	for (size_t i = 0; i < st->n; i++) {
		struct ring_rec *rec = &st->recs[i];
		if (rec->state == TOK_KS_RETIRING && rec->retire_at <= now) {
			rec->state = TOK_KS_RETIRED;
			rec->retired = now;
		}
		if (rec->state == TOK_KS_RETIRED && now - rec->retired >= r->opts.purge_after) {
			memcpy(gone[(*ngone)++], rec->kid, sizeof(rec->kid));
			continue;
		}
		if (w != i)
			st->recs[w] = *rec;
		w++;
	}
	st->n = w;
}

static void
unlink_keys(const char *dir, char gone[][TOK_KID_MAX + 1], size_t ngone)
{
	char path[RING_PATH_MAX], name[TOK_KID_MAX + 8];

	for (size_t i = 0; i < ngone; i++) {
		snprintf(name, sizeof(name), "%s.pem", gone[i]);
		if (ring_path(path, dir, name) == 0 && unlink(path) != 0 && errno != ENOENT)
			yh_warn("%s: cannot delete a retired key: %s", path, strerror(errno));
	}
	if (ngone > 0)
		(void)yh_file_sync_dir(dir);
}

int
tok_ring_rotate(struct tok_ring *r, enum tok_alg alg, char *err, size_t errsz)
{
	struct ring_state *st = NULL;
	char (*gone)[TOK_KID_MAX + 1] = NULL;
	size_t ngone = 0;
	unsigned todo = 0;
	int lock = -1, rc;
	int64_t now = ring_now(&r->opts);

	if ((rc = writable(r, err, errsz)) != 0)
		return rc;
	st = malloc(sizeof(*st));
	gone = calloc(TOK_RING_MAX_KEYS, sizeof(*gone));
	if (st == NULL || gone == NULL) {
		rc = ring_err(err, errsz, YH_ERR_ALLOC, "out of memory");
		goto out;
	}
	if ((rc = ring_lock(r->dir, true, -1, &lock, err, errsz)) != 0 ||
	    (rc = state_read(r->dir, st, err, errsz)) != 0)
		goto out;
	for (int a = 1; a < TOK_ALG_COUNT; a++) {
		bool want = alg == TOK_ALG_UNSET ? find_rec(st, (enum tok_alg)a, TOK_KS_ACTIVE) >= 0
		                                 : (enum tok_alg)a == alg;
		if (!want)
			continue;
		if ((rc = rotate_check(r, st, (enum tok_alg)a, now, err, errsz)) != 0)
			goto out;
		todo |= TOK_ALGSET(a);
	}
	expire_and_purge(r, st, now, gone, &ngone);
	for (int a = 1; a < TOK_ALG_COUNT; a++)
		if ((todo & TOK_ALGSET(a)) != 0 &&
		    (rc = rotate_alg(r, st, (enum tok_alg)a, now, err, errsz)) != 0)
			goto out;
	if ((rc = state_write(r->dir, st, err, errsz)) != 0)
		goto out;
	unlink_keys(r->dir, gone, ngone);
	yh_file_unlock(lock);
	lock = -1;
	rc = tok_ring_reload(r, err, errsz);
out:
	yh_file_unlock(lock);
	free(gone);
	free(st);
	return rc;
}

/* True when the state has a key of alg that is not retired (a chain of alg). */
static bool
has_chain(const struct ring_state *st, enum tok_alg alg)
{
	for (size_t i = 0; i < st->n; i++)
		if (st->recs[i].alg == alg && st->recs[i].state != TOK_KS_RETIRED)
			return true;
	return false;
}

/* Adds a chain (an active and a next key) for each alg of algs the ring lacks, in one
 * state write under the directory lock, then reloads. With exclusive, an alg the ring
 * already has is YH_ERR_EXISTS. *added (may be NULL) gets the algs added. */
static int
add_chains(struct tok_ring *r, unsigned algs, bool exclusive, unsigned *added, char *err,
    size_t errsz)
{
	struct ring_state *st = NULL;
	unsigned todo = 0;
	int lock = -1, rc;
	int64_t now = ring_now(&r->opts);

	if (added != NULL)
		*added = 0;
	if ((algs & ~TOK_ALGSET_ALL) != 0)
		return ring_err(err, errsz, YH_ERR_UNSUPPORTED, "unsupported algorithm");
	if ((rc = writable(r, err, errsz)) != 0)
		return rc;
	if ((st = malloc(sizeof(*st))) == NULL)
		return ring_err(err, errsz, YH_ERR_ALLOC, "out of memory");
	if ((rc = ring_lock(r->dir, true, -1, &lock, err, errsz)) != 0 ||
	    (rc = state_read(r->dir, st, err, errsz)) != 0)
		goto out;
	for (int a = 1; a < TOK_ALG_COUNT; a++) {
		if ((algs & TOK_ALGSET(a)) == 0)
			continue;
		if (!has_chain(st, (enum tok_alg)a))
			todo |= TOK_ALGSET(a);
		else if (exclusive) {
			rc = ring_err(err, errsz, YH_ERR_EXISTS, "%s: the ring already has %s keys "
			    "(rotate them instead)", r->dir, tok_alg_name((enum tok_alg)a));
			goto out;
		}
	}
	if (todo == 0)
		goto out;
	for (int a = 1; a < TOK_ALG_COUNT; a++)
		if ((todo & TOK_ALGSET(a)) != 0 &&
		    ((rc = gen_key(r->dir, &r->opts, (enum tok_alg)a, TOK_KS_ACTIVE, now, st, err,
		    errsz)) != 0 || (rc = gen_key(r->dir, &r->opts, (enum tok_alg)a, TOK_KS_NEXT,
		    now, st, err, errsz)) != 0))
			goto out;
	if ((rc = state_write(r->dir, st, err, errsz)) != 0)
		goto out;
	yh_file_unlock(lock);
	lock = -1;
	if ((rc = tok_ring_reload(r, err, errsz)) == 0 && added != NULL)
		*added = todo;
out:
	yh_file_unlock(lock);
	free(st);
	return rc;
}

int
tok_ring_add_alg(struct tok_ring *r, enum tok_alg alg, char *err, size_t errsz)
{
	if (tok_alg_name(alg) == NULL)
		return ring_err(err, errsz, YH_ERR_UNSUPPORTED, "unsupported algorithm");
	return add_chains(r, TOK_ALGSET(alg), true, NULL, err, errsz);
}

int
tok_ring_ensure_algs(struct tok_ring *r, unsigned algs, unsigned *added, char *err,
    size_t errsz)
{
	return add_chains(r, algs, false, added, err, errsz);
}
