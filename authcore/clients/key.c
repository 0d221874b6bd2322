/*
 * The client-secret key file (STATE_DIR/client-secret.key), the keyed hash of a client
 * secret, and the secrets themselves: generated, hashed for storage, verified. With
 * clients_opts.hasher the key stays with a key holder (authd's keyd) and only its id and
 * the hashes it makes reach this file; clients_secret_key_* are the holder's side.
 */
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "authcore/clients/clients_int.h"
#include "common/atomicfile.h"
#include "common/b64.h"
#include "common/buf.h"
#include "common/secmem.h"

static void
key_kid(const unsigned char key[KEY_BYTES], char kid[CLIENTS_KID_LEN + 1])
{
	unsigned char d[32];
	unsigned int dl = 0;

	if (EVP_Digest(key, KEY_BYTES, d, &dl, EVP_sha256(), NULL) != 1 || dl != 32)
		memset(d, 0, sizeof(d));
	yh_hex_encode(d, CLIENTS_KID_LEN / 2, kid);
}

/* Parses the key file: '#' comment lines, the magic line, one line of 64 hex digits. */
static int
key_parse(const char *text, unsigned char key[KEY_BYTES])
{
	struct yh_span s = yh_span_cstr(text), line;
	int state = 0;

	while (yh_span_split(&s, '\n', &line) == 0) {
		line = yh_span_trim(line);
		if (line.len == 0 || line.p[0] == '#')
			continue;
		if (state == 0 && yh_span_eq(line, KEY_MAGIC))
			state = 1;
		else if (state == 1 && line.len == 2 * KEY_BYTES &&
		    yh_hex_decode(line.p, line.len, key, KEY_BYTES) == 0)
			state = 2;
		else
			return YH_ERR_KEY;
	}
	return state == 2 ? 0 : YH_ERR_KEY;
}

/* Loads DIR/client-secret.key into s. A missing file leaves s->have_key false. */
static int
key_load(const char *dir, struct clients_snap *s, char *err, size_t errsz)
{
	struct yh_file_fail f;
	char path[PATH_MAX_], *text = NULL;
	size_t len = 0;
	int rc;

	if (clients_dir_path(path, dir, CLIENTS_KEY_FILE) != 0)
		return YH_FAIL(YH_ERR_TOO_LONG, err, errsz, "%s: path too long", dir);
	rc = yh_file_read_key(path, KEY_FILE_MAX, &text, &len, &f);
	switch (f.step) {
	case YH_FILE_OK:
		break;
	case YH_FILE_OPEN:
		if (rc == YH_ERR_NOT_FOUND)
			return 0;
		return YH_FAIL(YH_ERR_KEY, err, errsz, "%s: %s", path, strerror(f.errnum));
	case YH_FILE_NOT_REGULAR:
		yh_file_fail_msg(&f, err, errsz);
		return YH_ERR_KEY;
	case YH_FILE_MODE:
	case YH_FILE_OWNER:
		yh_file_fail_msg(&f, err, errsz);
		return YH_ERR_PERM;
	default:  /* read error, too large */
		return YH_FAIL(YH_ERR_KEY, err, errsz, "%s: unreadable or malformed key file",
		    path);
	}
	if ((rc = key_parse(text, s->key)) != 0) {
		rc = YH_FAIL(YH_ERR_KEY, err, errsz, "%s: unreadable or malformed key file", path);
		yh_wipe(s->key, sizeof(s->key));
		goto out;
	}
	key_kid(s->key, s->kid);
	s->have_key = true;
out:
	yh_freezero(text, len + 1);
	return rc;
}

/* Creates DIR/client-secret.key (32 random bytes) unless it exists: written to a temporary
 * name and link()ed into place, so two creators never clobber each other. */
static int
key_create(const char *dir, char *err, size_t errsz)
{
	unsigned char key[KEY_BYTES];
	char hex[2 * KEY_BYTES + 1], path[PATH_MAX_];
	struct yh_file_fail f;
	struct yh_buf b;
	int rc;

	yh_buf_init_secret(&b, KEY_FILE_MAX);
	if (clients_dir_path(path, dir, CLIENTS_KEY_FILE) != 0) {
		rc = YH_FAIL(YH_ERR_TOO_LONG, err, errsz, "%s: path too long", dir);
		goto out;
	}
	if ((rc = yh_random(key, sizeof(key))) != 0) {
		yh_errf(err, errsz, "no randomness for the client secret key");
		goto out;
	}
	yh_hex_encode(key, sizeof(key), hex);
	if ((rc = yh_buf_printf(&b, "# Yihao client-secret hashing key. Secret: keep it mode "
	    "0600 and back it up\n# with clients.json; without it no client secret "
	    "verifies.\n%s\n%s\n", KEY_MAGIC, hex)) != 0) {
		yh_errf(err, errsz, "out of memory");
		goto out;
	}
	/* An existing key (another creator won the race) is kept: theirs wins. */
	rc = yh_file_write_atomic(path, b.data, b.len, 0600, YH_FILE_NOREPLACE, &f);
	if (rc == YH_ERR_EXISTS)
		rc = 0;
	else if (rc != 0)
		yh_file_fail_msg(&f, err, errsz);
out:
	yh_wipe(key, sizeof(key));
	yh_wipe(hex, sizeof(hex));
	yh_buf_free(&b);
	return rc;
}

/* HMAC-SHA256(key, HASH_DOMAIN NUL id NUL secret). */
static int
secret_hash(const unsigned char key[KEY_BYTES], const char *id, const char *secret,
    size_t len, unsigned char out[CLIENTS_HASH_LEN])
{
	unsigned char msg[sizeof(HASH_DOMAIN) + CLIENTS_ID_MAX + 1 + CLIENTS_SECRET_MAX];
	size_t dl = sizeof(HASH_DOMAIN), il = strnlen(id, CLIENTS_ID_MAX);
	unsigned int ol = 0;
	int rc = 0;

	if (len > CLIENTS_SECRET_MAX)
		len = CLIENTS_SECRET_MAX;
	memcpy(msg, HASH_DOMAIN, dl);
	memcpy(msg + dl, id, il);
	msg[dl + il] = '\0';
	memcpy(msg + dl + il + 1, secret, len);
	if (HMAC(EVP_sha256(), key, KEY_BYTES, msg, dl + il + 1 + len, out, &ol) == NULL ||
	    ol != CLIENTS_HASH_LEN)
		rc = YH_ERR_CRYPTO;
	yh_wipe(msg, sizeof(msg));
	return rc;
}

int
clients_snap_key(struct clients_snap *s, const char *dir, bool create, char *err,
    size_t errsz)
{
	int rc;

	if (s->hasher != NULL) {
		rc = s->hasher->kid(s->hasher->ctx, create, s->kid, err, errsz);
		s->have_key = rc == 0;
		return rc == YH_ERR_NOT_FOUND ? 0 : rc;
	}
	if ((rc = key_load(dir, s, err, errsz)) != 0 || s->have_key || !create)
		return rc;
	if ((rc = key_create(dir, err, errsz)) != 0)
		return rc;
	return key_load(dir, s, err, errsz);
}

int
clients_snap_hash(const struct clients_snap *s, const char *id, const char *secret,
    size_t len, unsigned char out[CLIENTS_HASH_LEN])
{
	static const unsigned char zero_key[KEY_BYTES];
	char kid[CLIENTS_KID_LEN + 1] = "";
	int rc;

	if (s->hasher == NULL)
		return secret_hash(s->have_key ? s->key : zero_key, id, secret, len, out);
	if ((rc = s->hasher->hash(s->hasher->ctx, id, secret, len, out, kid)) != 0)
		return rc;
	return s->have_key && strcmp(kid, s->kid) == 0 ? 0 : YH_ERR_KEY;
}

int
clients_secret_key_load(const char *state_dir, bool create, struct clients_secret_key *out,
    char *err, size_t errsz)
{
	struct clients_snap t;
	int rc;

	memset(&t, 0, sizeof(t));
	memset(out, 0, sizeof(*out));
	if ((rc = clients_snap_key(&t, state_dir, create, err, errsz)) == 0 && t.have_key) {
		out->have = true;
		memcpy(out->key, t.key, sizeof(out->key));
		memcpy(out->kid, t.kid, sizeof(out->kid));
	}
	yh_wipe(&t, sizeof(t));
	return rc;
}

int
clients_secret_key_hash(const struct clients_secret_key *k, const char *id,
    const char *secret, size_t len, unsigned char out[CLIENTS_HASH_LEN])
{
	if (!k->have)
		return YH_ERR_NOT_FOUND;
	return secret_hash(k->key, id, secret, len, out);
}

/* Hashes secret under the installation key, creating the key on first use. */
int
clients_hash_new_secret(struct clients_registry *r, const char *id, const char *secret,
    char kid[CLIENTS_KID_LEN + 1], unsigned char hash[CLIENTS_HASH_LEN], char *err,
    size_t errsz)
{
	struct clients_snap k;
	size_t len;
	int rc;

	memset(&k, 0, sizeof(k));
	len = secret != NULL ? strnlen(secret, CLIENTS_SECRET_MAX + 1) : 0;
	if (len < CLIENTS_SECRET_MIN || len > CLIENTS_SECRET_MAX)
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "secret: %d..%d bytes",
		    CLIENTS_SECRET_MIN, CLIENTS_SECRET_MAX);
	k.hasher = r->opts.hasher;
	if ((rc = clients_snap_key(&k, r->dir, true, err, errsz)) != 0)
		goto out;
	if (!k.have_key) {
		rc = YH_FAIL(YH_ERR_KEY, err, errsz, "%s/%s: not created", r->dir,
		    CLIENTS_KEY_FILE);
		goto out;
	}
	if ((rc = clients_snap_hash(&k, id, secret, len, hash)) != 0) {
		yh_errf(err, errsz, "cannot hash the secret");
		goto out;
	}
	memcpy(kid, k.kid, CLIENTS_KID_LEN + 1);
out:
	yh_wipe(&k, sizeof(k));
	return rc;
}

int
clients_verify_secret(const struct clients_snap *s, const char *client_id,
    const char *secret, size_t secret_len, const struct clients_client **out)
{
	unsigned char mac[CLIENTS_HASH_LEN], dummy[CLIENTS_HASH_LEN];
	const struct clients_client *c;
	const unsigned char *want = dummy;
	bool usable, eq;

	if (out != NULL)
		*out = NULL;
	memset(dummy, 0xa5, sizeof(dummy));
	c = client_id != NULL ? clients_find(s, client_id) : NULL;
	usable = c != NULL && c->auth == CLIENTS_AUTH_SECRET && c->has_secret && s->have_key &&
	    strcmp(c->secret_kid, s->kid) == 0;
	if (usable)
		want = c->secret_hash;
	/* The same work whatever the client: one HMAC, one constant-time comparison. */
	if (clients_snap_hash(s, usable ? c->id : "", secret != NULL ? secret : "",
	    secret != NULL ? secret_len : 0, mac) != 0)
		usable = false;
	eq = yh_ct_eq(mac, want, sizeof(mac));
	yh_wipe(mac, sizeof(mac));
	if (!(usable && eq && secret != NULL && secret_len > 0 &&
	    secret_len <= CLIENTS_SECRET_MAX))
		return YH_ERR_AUTH;
	if (out != NULL)
		*out = c;
	return 0;
}

int
clients_generate_secret(char *out, size_t outsz)
{
	unsigned char rnd[32];
	int rc;

	if (outsz < CLIENTS_SECRET_GEN_LEN + 1) {
		if (outsz > 0)
			out[0] = '\0';
		return YH_ERR_TOO_LONG;
	}
	if ((rc = yh_random(rnd, sizeof(rnd))) != 0) {
		out[0] = '\0';
		return rc;
	}
	yh_b64url_encode(rnd, sizeof(rnd), out);
	yh_wipe(rnd, sizeof(rnd));
	return 0;
}
