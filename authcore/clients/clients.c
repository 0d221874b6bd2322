/*
 * The app (client) registry: validation, clients.json, the secret-hashing key, snapshots
 * and reloads. See authcore/clients/clients.h for the rules and the on-disk layout.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "authcore/clients/clients.h"
#include "common/atomicfile.h"
#include "common/b64.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/timeutil.h"
#include "common/utf8.h"
#include "token/jwk.h"

#define CLIENTS_FORMAT "yihao-clients/1"
#define KEY_MAGIC "yihao-client-secret-key/1"
#define KEY_BYTES 32
#define KEY_FILE_MAX 1024
#define HASH_ALG "hmac-sha256"
#define HASH_DOMAIN "yihao-client-secret/1"
#define PATH_MAX_ 4096
#define SCOPE_TEXT_MAX 1024

/* What identifies one version of clients.json: a rename always gives a new inode. */
struct file_ident {
	bool present;
	dev_t dev;
	ino_t ino;
	off_t size;
	int64_t mtime_ns;
};

/* Both files' identities: clients.json and the apps file. */
struct idents {
	struct file_ident state, apps;
};

struct clients_snap {
	int refs;                       /* atomic */
	json_t *root;                   /* clients.json parsed: client strings point into it */
	json_t *apps_root;              /* the apps file parsed (NULL: none) */
	char *state_path, *apps_path;   /* for clients_client.file */
	struct clients_client *v;       /* sorted by id */
	size_t n;
	bool have_key;
	unsigned char key[KEY_BYTES];   /* only without a hasher */
	char kid[CLIENTS_KID_LEN + 1];
	const struct clients_hasher *hasher;  /* the key is elsewhere (clients_opts.hasher) */
};

struct clients_registry {
	char *dir;
	char path[PATH_MAX_];
	char apps_path[PATH_MAX_];      /* "": no apps file */
	struct clients_opts opts;
	pthread_mutex_t mu;             /* guards cur */
	struct clients_snap *cur;
	pthread_mutex_t reload_mu;      /* one loader at a time; guards the idents */
	struct idents loaded;           /* identities of the files cur came from */
	struct idents failed;           /* identities of the last files that failed to load */
	bool have_failed;
	int64_t next_check;             /* atomic: mono ms of the next allowed stat */
};

static const char *const scope_names[] = {
	"openid", "profile", "phone", "email", "yh_id_number", "offline_access", NULL,
};
static const char *const grant_names[] = {
	"authorization_code", "refresh_token", "client_credentials", NULL,
};
static const char *const auth_names[] = { "none", "client_secret", "private_key_jwt" };

static int
cerr(char *err, size_t errsz, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Formats the explanation into err (when given) and returns rc. */
static int
cerr(char *err, size_t errsz, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errsz > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* --- names ---------------------------------------------------------------------------- */

const char *
clients_scope_name(unsigned bit)
{
	for (unsigned i = 0; scope_names[i] != NULL; i++)
		if (bit == 1u << i)
			return scope_names[i];
	return NULL;
}

static unsigned
scope_bit(const char *s, size_t len)
{
	for (unsigned i = 0; scope_names[i] != NULL; i++)
		if (strlen(scope_names[i]) == len && memcmp(scope_names[i], s, len) == 0)
			return 1u << i;
	return 0;
}

/* scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), RFC 6749 3.3 */
static bool
scope_char_ok(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e && c != '"' && c != '\\';
}

int
clients_scope_parse(const char *s, unsigned *bits, unsigned *unknown)
{
	size_t len, i = 0;

	*bits = 0;
	if (unknown != NULL)
		*unknown = 0;
	if (s == NULL)
		return YH_ERR_INVALID;
	if ((len = strnlen(s, SCOPE_TEXT_MAX + 1)) > SCOPE_TEXT_MAX)
		return YH_ERR_TOO_LONG;
	while (i < len) {
		size_t start;
		unsigned b;

		if (s[i] == ' ') {
			i++;
			continue;
		}
		for (start = i; i < len && s[i] != ' '; i++)
			if (!scope_char_ok((unsigned char)s[i])) {
				*bits = 0;
				return YH_ERR_INVALID;
			}
		if ((b = scope_bit(s + start, i - start)) != 0) {
			*bits |= b;
		} else if (unknown != NULL) {
			(*unknown)++;
		} else {
			*bits = 0;
			return YH_ERR_INVALID;
		}
	}
	return 0;
}

int
clients_scope_format(unsigned bits, char *out, size_t outsz)
{
	struct yh_buf b;
	int rc = 0;

	yh_buf_init(&b, 1024);
	for (unsigned i = 0; rc == 0 && scope_names[i] != NULL; i++)
		if (bits & (1u << i))
			rc = yh_buf_printf(&b, "%s%s", b.len > 0 ? " " : "", scope_names[i]);
	if (rc == 0)
		rc = yh_strlcpy(out, yh_buf_cstr(&b), outsz);
	else if (outsz > 0)
		out[0] = '\0';
	yh_buf_free(&b);
	return rc;
}

int
clients_grant_parse(const char *name, unsigned *bit)
{
	*bit = 0;
	for (unsigned i = 0; name != NULL && grant_names[i] != NULL; i++)
		if (strcmp(name, grant_names[i]) == 0) {
			*bit = 1u << i;
			return 0;
		}
	return YH_ERR_INVALID;
}

const char *
clients_grant_name(unsigned bit)
{
	for (unsigned i = 0; grant_names[i] != NULL; i++)
		if (bit == 1u << i)
			return grant_names[i];
	return NULL;
}

const char *
clients_auth_name(enum clients_auth a)
{
	if ((unsigned)a >= sizeof(auth_names) / sizeof(auth_names[0]))
		return "?";
	return auth_names[a];
}

static int
auth_from_name(const char *s, enum clients_auth *out)
{
	for (unsigned i = 0; i < sizeof(auth_names) / sizeof(auth_names[0]); i++)
		if (strcmp(s, auth_names[i]) == 0) {
			*out = (enum clients_auth)i;
			return 0;
		}
	return YH_ERR_INVALID;
}

/* --- validation ----------------------------------------------------------------------- */

static bool
is_alnum(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* 1..max characters, each alphanumeric or in extra. */
static bool
token_valid(const char *s, size_t max, const char *extra)
{
	size_t n;

	if (s == NULL || (n = strnlen(s, max + 1)) == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && strchr(extra, s[i]) == NULL)
			return false;
	return true;
}

bool
clients_id_valid(const char *id)
{
	return token_valid(id, CLIENTS_ID_MAX, "._-");
}

/* Well-formed UTF-8 without control characters. */
static bool
text_valid(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t step = yh_utf8_next(s + i, n - i, &cp);

		if (step == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
			return false;
		i += step;
	}
	return true;
}

/* HOST[:PORT] of an http(s) URI: a DNS name or IPv4 literal, or an [IPv6] literal. */
static int
authority_check(const char *a, size_t len, bool *loopback, const char **why)
{
	size_t h = 0, hlen;
	const char *host = a;

	*loopback = false;
	if (memchr(a, '@', len) != NULL) {
		*why = "userinfo (user@) not allowed";
		return YH_ERR_INVALID;
	}
	if (len > 0 && a[0] == '[') {
		const char *close = memchr(a, ']', len);
		if (close == NULL) {
			*why = "unterminated [IPv6] host";
			return YH_ERR_INVALID;
		}
		for (const char *p = a + 1; p < close; p++)
			if (!(is_alnum(*p) || *p == ':' || *p == '.')) {
				*why = "bad character in the [IPv6] host";
				return YH_ERR_INVALID;
			}
		h = (size_t)(close - a) + 1;
		if (h == 2) {
			*why = "empty host";
			return YH_ERR_INVALID;
		}
	} else {
		while (h < len && (is_alnum(a[h]) || a[h] == '.' || a[h] == '-'))
			h++;
		if (h == 0) {
			*why = "empty or malformed host";
			return YH_ERR_INVALID;
		}
	}
	hlen = h;
	if (h < len) {
		uint64_t port = 0;
		size_t digits = len - h - 1;

		if (a[h] != ':' || digits == 0 || digits > 5) {
			*why = "malformed host or port";
			return YH_ERR_INVALID;
		}
		for (size_t i = h + 1; i < len; i++) {
			if (a[i] < '0' || a[i] > '9') {
				*why = "malformed port";
				return YH_ERR_INVALID;
			}
			port = port * 10 + (uint64_t)(a[i] - '0');
		}
		if (port == 0 || port > 65535) {
			*why = "port out of range";
			return YH_ERR_INVALID;
		}
	}
	*loopback = (hlen == 9 && memcmp(host, "127.0.0.1", 9) == 0) ||
	    (hlen == 5 && memcmp(host, "[::1]", 5) == 0) ||
	    (hlen == 9 && memcmp(host, "localhost", 9) == 0);
	return 0;
}

int
clients_uri_check(const char *uri, bool loopback_or_https_only, const char **why)
{
	size_t len, s = 0, alen;
	const char *rest;
	bool https, http, loopback;
	int rc;

	*why = NULL;
	if (uri == NULL || (len = strnlen(uri, CLIENTS_URI_MAX + 1)) == 0) {
		*why = "empty";
		return YH_ERR_INVALID;
	}
	if (len > CLIENTS_URI_MAX) {
		*why = "longer than 1024 bytes";
		return YH_ERR_TOO_LONG;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)uri[i] <= 0x20 || (unsigned char)uri[i] >= 0x7f) {
			*why = "space, control or non-ASCII character (percent-encode it)";
			return YH_ERR_INVALID;
		}
	if (strchr(uri, '#') != NULL) {
		*why = "fragment (#) not allowed";
		return YH_ERR_INVALID;
	}
	while (s < len && (is_alnum(uri[s]) || ((uri[s] == '+' || uri[s] == '.' ||
	    uri[s] == '-') && s > 0)))
		s++;
	if (s == 0 || s >= len || uri[s] != ':' || !((uri[0] >= 'a' && uri[0] <= 'z') ||
	    (uri[0] >= 'A' && uri[0] <= 'Z'))) {
		*why = "not an absolute URI (no scheme)";
		return YH_ERR_INVALID;
	}
	for (size_t i = 0; i < s; i++)
		if (uri[i] >= 'A' && uri[i] <= 'Z') {
			*why = "write the scheme in lower case";
			return YH_ERR_INVALID;
		}
	https = s == 5 && memcmp(uri, "https", 5) == 0;
	http = s == 4 && memcmp(uri, "http", 4) == 0;
	rest = uri + s + 1;
	if (!https && !http) {
		if (loopback_or_https_only) {
			*why = "must be https (or http on 127.0.0.1, [::1], localhost)";
			return YH_ERR_INVALID;
		}
		if (memchr(uri, '.', s) == NULL) {
			*why = "use https, http on loopback, or a private-use scheme with a dot "
			    "(reverse domain name, e.g. com.example.app:/cb)";
			return YH_ERR_INVALID;
		}
		if (rest[0] == '\0') {
			*why = "nothing after the scheme";
			return YH_ERR_INVALID;
		}
		return 0;
	}
	if (strncmp(rest, "//", 2) != 0) {
		*why = "http(s) URI without //host";
		return YH_ERR_INVALID;
	}
	rest += 2;
	alen = strcspn(rest, "/?");
	if ((rc = authority_check(rest, alen, &loopback, why)) != 0)
		return rc;
	if (http && !loopback) {
		*why = "http only on loopback (127.0.0.1, [::1], localhost); use https";
		return YH_ERR_INVALID;
	}
	return 0;
}

static int
uri_list_check(const char *what, const char *const *v, size_t n, char *err, size_t errsz)
{
	const char *why;

	if (n > CLIENTS_URIS_MAX)
		return cerr(err, errsz, YH_ERR_INVALID, "%s: more than %d URIs", what,
		    CLIENTS_URIS_MAX);
	for (size_t i = 0; i < n; i++) {
		if (clients_uri_check(v[i], false, &why) != 0)
			return cerr(err, errsz, YH_ERR_INVALID, "%s[%zu]: %s: %s", what, i,
			    v[i] != NULL ? v[i] : "(null)", why);
		for (size_t j = 0; j < i; j++)
			if (strcmp(v[i], v[j]) == 0)
				return cerr(err, errsz, YH_ERR_INVALID, "%s[%zu]: %s listed twice",
				    what, i, v[i]);
	}
	return 0;
}

static int
lifetime_check(const char *what, int64_t v, int64_t max, char *err, size_t errsz)
{
	if (v != 0 && (v < CLIENTS_LIFETIME_MIN || v > max))
		return cerr(err, errsz, YH_ERR_INVALID, "%s: %lld s outside %d..%lld s", what,
		    (long long)v, CLIENTS_LIFETIME_MIN, (long long)max);
	return 0;
}

/* private_key_jwt: a JWKS of 1..TOK_KEYSET_MAX public signing keys we can use. */
static int
jwks_check(const char *text, struct tok_keyset *out, char *err, size_t errsz)
{
	struct tok_keyset set;
	int rc;

	tok_keyset_init(&set);
	if ((rc = tok_jwks_parse(text, strlen(text), TOK_JWKS_STRICT, &set)) != 0) {
		rc = cerr(err, errsz, YH_ERR_INVALID, "jwks: not a usable JWK Set (%s)",
		    yh_strerror(rc));
		goto out;
	}
	if (set.n == 0) {
		rc = cerr(err, errsz, YH_ERR_INVALID, "jwks: no keys");
		goto out;
	}
	for (size_t i = 0; i < set.n; i++)
		if (tok_key_is_private(set.keys[i])) {
			rc = cerr(err, errsz, YH_ERR_INVALID,
			    "jwks: key %zu is a private key; register the public keys only", i);
			goto out;
		}
	if (out != NULL) {
		*out = set;
		tok_keyset_init(&set);
	}
out:
	tok_keyset_clear(&set);
	return rc;
}

static int
grants_check(const struct clients_client *c, char *err, size_t errsz)
{
	unsigned all = CLIENTS_GRANT_AUTHORIZATION_CODE | CLIENTS_GRANT_REFRESH_TOKEN |
	    CLIENTS_GRANT_CLIENT_CREDENTIALS;

	if (c->grants == 0 || (c->grants & ~all) != 0)
		return cerr(err, errsz, YH_ERR_INVALID, "grants: none or unknown");
	if ((c->grants & CLIENTS_GRANT_REFRESH_TOKEN) &&
	    !(c->grants & CLIENTS_GRANT_AUTHORIZATION_CODE))
		return cerr(err, errsz, YH_ERR_INVALID,
		    "grants: refresh_token needs authorization_code");
	if ((c->grants & CLIENTS_GRANT_CLIENT_CREDENTIALS) && c->auth == CLIENTS_AUTH_NONE)
		return cerr(err, errsz, YH_ERR_INVALID,
		    "grants: client_credentials is for confidential clients only");
	if ((c->grants & CLIENTS_GRANT_AUTHORIZATION_CODE) && c->n_redirect_uris == 0)
		return cerr(err, errsz, YH_ERR_INVALID,
		    "redirect_uris: at least one is needed for authorization_code");
	return 0;
}

static int
scopes_check(const struct clients_client *c, char *err, size_t errsz)
{
	unsigned all = (1u << (sizeof(scope_names) / sizeof(scope_names[0]) - 1)) - 1;
	bool idn = (c->scopes & CLIENTS_SCOPE_ID_NUMBER) != 0;

	if ((c->scopes & ~all) != 0)
		return cerr(err, errsz, YH_ERR_INVALID, "scopes: unknown scope");
	if (idn != c->allow_id_number)
		return cerr(err, errsz, YH_ERR_INVALID, "%s",
		    idn ? "scopes: yh_id_number needs allow_id_number" :
		    "allow_id_number without the yh_id_number scope");
	return 0;
}

int
clients_client_check(const struct clients_client *c, char *err, size_t errsz)
{
	const char *why;
	int rc;

	if (!clients_id_valid(c->id))
		return cerr(err, errsz, YH_ERR_INVALID,
		    "client_id: 1..%d characters of A-Z a-z 0-9 . _ -", CLIENTS_ID_MAX);
	if (c->name != NULL && !text_valid(c->name, CLIENTS_NAME_MAX))
		return cerr(err, errsz, YH_ERR_INVALID,
		    "name: 1..%d bytes of UTF-8 text without control characters", CLIENTS_NAME_MAX);
	if ((unsigned)c->auth > CLIENTS_AUTH_PRIVATE_KEY_JWT)
		return cerr(err, errsz, YH_ERR_INVALID, "auth: unknown");
	if (c->auth == CLIENTS_AUTH_NONE && !c->require_pkce)
		return cerr(err, errsz, YH_ERR_INVALID, "public clients require PKCE");
	if ((rc = uri_list_check("redirect_uris", c->redirect_uris, c->n_redirect_uris, err,
	    errsz)) != 0 || (rc = uri_list_check("post_logout_redirect_uris",
	    c->post_logout_uris, c->n_post_logout_uris, err, errsz)) != 0)
		return rc;
	if (c->backchannel_logout_uri != NULL &&
	    clients_uri_check(c->backchannel_logout_uri, true, &why) != 0)
		return cerr(err, errsz, YH_ERR_INVALID, "backchannel_logout_uri: %s: %s",
		    c->backchannel_logout_uri, why);
	if ((rc = grants_check(c, err, errsz)) != 0 || (rc = scopes_check(c, err, errsz)) != 0)
		return rc;
	if (c->min_loa < 1 || c->min_loa > 4)
		return cerr(err, errsz, YH_ERR_INVALID, "min_loa: 1..4");
	if (c->sector != NULL && !token_valid(c->sector, CLIENTS_SECTOR_MAX, "._:-"))
		return cerr(err, errsz, YH_ERR_INVALID,
		    "sector: 1..%d characters of A-Z a-z 0-9 . _ : -", CLIENTS_SECTOR_MAX);
	if ((rc = lifetime_check("access_token_lifetime", c->access_token_lifetime,
	    CLIENTS_AT_LIFETIME_MAX, err, errsz)) != 0 ||
	    (rc = lifetime_check("id_token_lifetime", c->id_token_lifetime,
	    CLIENTS_ID_LIFETIME_MAX, err, errsz)) != 0 ||
	    (rc = lifetime_check("refresh_token_lifetime", c->refresh_token_lifetime,
	    CLIENTS_RT_LIFETIME_MAX, err, errsz)) != 0)
		return rc;
	if (c->auth == CLIENTS_AUTH_PRIVATE_KEY_JWT) {
		if (c->jwks_json == NULL)
			return cerr(err, errsz, YH_ERR_INVALID, "private_key_jwt needs a jwks");
		return jwks_check(c->jwks_json, NULL, err, errsz);
	}
	if (c->jwks_json != NULL)
		return cerr(err, errsz, YH_ERR_INVALID, "jwks: only for private_key_jwt clients");
	return 0;
}

void
clients_client_init(struct clients_client *c)
{
	memset(c, 0, sizeof(*c));
	c->auth = CLIENTS_AUTH_SECRET;
	c->scopes = CLIENTS_SCOPES_DEFAULT;
	c->grants = CLIENTS_GRANTS_DEFAULT;
	c->min_loa = 1;
}

/* --- files ---------------------------------------------------------------------------- */

static int
dir_path(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX_, "%s/%s", dir, name);

	return (n < 0 || n >= PATH_MAX_) ? YH_ERR_TOO_LONG : 0;
}

/* DIR/name replaced atomically (mode 0600): temporary file, fsync, rename, fsync DIR. */
static int
write_atomic(const char *dir, const char *name, const char *data, size_t len, char *err,
    size_t errsz)
{
	struct yh_file_fail f;
	char dst[PATH_MAX_];
	int rc;

	if (dir_path(dst, dir, name) != 0)
		return cerr(err, errsz, YH_ERR_TOO_LONG, "%s: path too long", dir);
	if ((rc = yh_file_write_atomic(dst, data, len, 0600, YH_FILE_REPLACE, &f)) != 0)
		yh_file_fail_msg(&f, err, errsz);
	return rc;
}

/* The writers' lock: exclusive flock on DIR/clients.lock. *fd is -1 on error. */
static int
writer_lock(const char *dir, int *fd, char *err, size_t errsz)
{
	struct yh_file_fail f;
	char path[PATH_MAX_];
	int rc;

	*fd = -1;
	if (dir_path(path, dir, CLIENTS_LOCK_FILE) != 0)
		return cerr(err, errsz, YH_ERR_TOO_LONG, "%s: path too long", dir);
	if ((rc = yh_file_lock(path, true, fd, &f)) != 0)
		yh_file_fail_msg(&f, err, errsz);
	return rc;
}

static void
ident_of(const struct stat *st, struct file_ident *id)
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
	ident_of(&st, id);
	return 0;
}

/* --- the secret-hashing key --------------------------------------------------------- */

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

	if (dir_path(path, dir, CLIENTS_KEY_FILE) != 0)
		return cerr(err, errsz, YH_ERR_TOO_LONG, "%s: path too long", dir);
	rc = yh_file_read_private(path, KEY_FILE_MAX, &text, &len, &f);
	switch (f.step) {
	case YH_FILE_OK:
		break;
	case YH_FILE_OPEN:
		if (rc == YH_ERR_NOT_FOUND)
			return 0;
		return cerr(err, errsz, YH_ERR_KEY, "%s: %s", path, strerror(f.errnum));
	case YH_FILE_NOT_REGULAR:
		yh_file_fail_msg(&f, err, errsz);
		return YH_ERR_KEY;
	case YH_FILE_MODE:
		yh_file_fail_msg(&f, err, errsz);
		return YH_ERR_PERM;
	default:  /* read error, too large */
		return cerr(err, errsz, YH_ERR_KEY, "%s: unreadable or malformed key file", path);
	}
	if ((rc = key_parse(text, s->key)) != 0) {
		rc = cerr(err, errsz, YH_ERR_KEY, "%s: unreadable or malformed key file", path);
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
	if (dir_path(path, dir, CLIENTS_KEY_FILE) != 0) {
		rc = cerr(err, errsz, YH_ERR_TOO_LONG, "%s: path too long", dir);
		goto out;
	}
	if ((rc = yh_random(key, sizeof(key))) != 0) {
		cerr(err, errsz, rc, "no randomness for the client secret key");
		goto out;
	}
	yh_hex_encode(key, sizeof(key), hex);
	if ((rc = yh_buf_printf(&b, "# Yihao client-secret hashing key. Secret: keep it mode "
	    "0600 and back it up\n# with clients.json; without it no client secret "
	    "verifies.\n%s\n%s\n", KEY_MAGIC, hex)) != 0) {
		cerr(err, errsz, rc, "out of memory");
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

/* The installation key of s: read from dir (created first with create when missing),
 * or only its id from the hasher. No key at all leaves s->have_key false. */
static int
snap_key(struct clients_snap *s, const char *dir, bool create, char *err, size_t errsz)
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

/* The keyed hash of a secret under s's key (all zeros without one, so that the work is
 * the same): computed here, or by the hasher, which must use the key s names. */
static int
snap_hash(const struct clients_snap *s, const char *id, const char *secret, size_t len,
    unsigned char out[CLIENTS_HASH_LEN])
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
	if ((rc = snap_key(&t, state_dir, create, err, errsz)) == 0 && t.have_key) {
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

/* --- snapshots ------------------------------------------------------------------------ */

static void
client_free(struct clients_client *c)
{
	free((void *)c->redirect_uris);
	free((void *)c->post_logout_uris);
	free((void *)c->jwks_json);
	tok_keyset_clear(&c->jwks);
	yh_wipe(c->secret_hash, sizeof(c->secret_hash));
}

static void
snap_free(struct clients_snap *s)
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

static int
id_cmp(const void *a, const void *b)
{
	return strcmp(((const struct clients_client *)a)->id,
	    ((const struct clients_client *)b)->id);
}

/* The line where each client object of a well-formed file starts: '{' at nesting depth 2
 * ({"clients":[ HERE ). Only meaningful after the structure was checked. */
static void
client_lines(const char *text, int *lines, size_t max)
{
	int depth = 0, line = 1;
	bool in_str = false, esc = false;
	size_t n = 0;

	for (const char *p = text; *p != '\0'; p++) {
		char c = *p;
		if (c == '\n')
			line++;
		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			if (c == '{' && depth == 2 && n < max)
				lines[n++] = line;
			depth++;
		} else if (c == '}' || c == ']') {
			depth--;
		}
	}
}

/* A JSON array of strings as a malloc'd array of pointers into the JSON. */
static int
str_array(const json_t *a, const char *what, const char *const **out, size_t *n,
    size_t max, char *err, size_t errsz)
{
	const char **v;
	size_t i;
	json_t *e;

	*out = NULL;
	*n = 0;
	if (!json_is_array(a))
		return cerr(err, errsz, YH_ERR_INVALID, "%s: not an array", what);
	if (json_array_size(a) > max)
		return cerr(err, errsz, YH_ERR_INVALID, "%s: more than %zu entries", what, max);
	if (json_array_size(a) == 0)
		return 0;
	if ((v = calloc(json_array_size(a), sizeof(*v))) == NULL)
		return cerr(err, errsz, YH_ERR_ALLOC, "out of memory");
	json_array_foreach(a, i, e) {
		if (!json_is_string(e)) {
			free(v);
			return cerr(err, errsz, YH_ERR_INVALID, "%s[%zu]: not a string", what, i);
		}
		v[i] = json_string_value(e);
	}
	*out = v;
	*n = json_array_size(a);
	return 0;
}

/* Names of a JSON array of strings as bits (names from a NULL-terminated table). */
static int
name_bits(const json_t *a, const char *what, const char *const *names, unsigned *bits,
    char *err, size_t errsz)
{
	size_t i;
	json_t *e;

	*bits = 0;
	if (!json_is_array(a))
		return cerr(err, errsz, YH_ERR_INVALID, "%s: not an array", what);
	json_array_foreach(a, i, e) {
		unsigned k;
		const char *s = json_string_value(e);

		for (k = 0; s != NULL && names[k] != NULL && strcmp(names[k], s) != 0; k++)
			;
		if (s == NULL || names[k] == NULL)
			return cerr(err, errsz, YH_ERR_INVALID, "%s[%zu]: unknown value", what, i);
		*bits |= 1u << k;
	}
	return 0;
}

static int
get_lifetime(const json_t *v, const char *what, int64_t *out, char *err, size_t errsz)
{
	if (!json_is_integer(v))
		return cerr(err, errsz, YH_ERR_INVALID, "%s: not an integer", what);
	*out = json_integer_value(v);
	return 0;
}

/* The secret member: {"alg":"hmac-sha256","kid":HEX16,"hash":HEX64}. */
static int
parse_secret(json_t *o, struct clients_client *c, char *err, size_t errsz)
{
	const char *alg, *kid, *hash;

	if (json_unpack(o, "{s:s, s:s, s:s !}", "alg", &alg, "kid", &kid, "hash", &hash) != 0 ||
	    strcmp(alg, HASH_ALG) != 0 || strlen(kid) != CLIENTS_KID_LEN ||
	    strlen(hash) != 2 * CLIENTS_HASH_LEN ||
	    yh_hex_decode(hash, strlen(hash), c->secret_hash, CLIENTS_HASH_LEN) != 0)
		return cerr(err, errsz, YH_ERR_INVALID,
		    "secret: want {\"alg\":\"" HASH_ALG "\",\"kid\":16 hex,\"hash\":64 hex}");
	if (yh_strlcpy(c->secret_kid, kid, sizeof(c->secret_kid)) != 0)
		return cerr(err, errsz, YH_ERR_INVALID, "secret: bad kid");
	c->has_secret = true;
	return 0;
}

/* One member of a client object. */
static int
parse_member(const char *k, json_t *v, struct clients_client *c, bool *pkce_set,
    char *err, size_t errsz)
{
	if (strcmp(k, "client_id") == 0) {
		if (!json_is_string(v) || yh_strlcpy(c->id, json_string_value(v),
		    sizeof(c->id)) != 0)
			return cerr(err, errsz, YH_ERR_INVALID, "client_id: bad value");
	} else if (strcmp(k, "name") == 0) {
		if ((c->name = json_string_value(v)) == NULL)
			return cerr(err, errsz, YH_ERR_INVALID, "name: not a string");
	} else if (strcmp(k, "auth") == 0) {
		if (!json_is_string(v) || auth_from_name(json_string_value(v), &c->auth) != 0)
			return cerr(err, errsz, YH_ERR_INVALID,
			    "auth: none, client_secret or private_key_jwt");
	} else if (strcmp(k, "secret") == 0) {
		return parse_secret(v, c, err, errsz);
	} else if (strcmp(k, "secret_file") == 0 && c->from_apps_file) {
		if ((c->secret_file = json_string_value(v)) == NULL || c->secret_file[0] == '\0')
			return cerr(err, errsz, YH_ERR_INVALID, "secret_file: not a path");
	} else if (strcmp(k, "require_pkce") == 0) {
		if (!json_is_boolean(v))
			return cerr(err, errsz, YH_ERR_INVALID, "require_pkce: not a boolean");
		c->require_pkce = json_is_true(v);
		*pkce_set = true;
	} else if (strcmp(k, "redirect_uris") == 0) {
		return str_array(v, k, &c->redirect_uris, &c->n_redirect_uris, CLIENTS_URIS_MAX,
		    err, errsz);
	} else if (strcmp(k, "post_logout_redirect_uris") == 0) {
		return str_array(v, k, &c->post_logout_uris, &c->n_post_logout_uris,
		    CLIENTS_URIS_MAX, err, errsz);
	} else if (strcmp(k, "backchannel_logout_uri") == 0) {
		if ((c->backchannel_logout_uri = json_string_value(v)) == NULL)
			return cerr(err, errsz, YH_ERR_INVALID, "%s: not a string", k);
	} else if (strcmp(k, "scopes") == 0) {
		return name_bits(v, k, scope_names, &c->scopes, err, errsz);
	} else if (strcmp(k, "grants") == 0) {
		return name_bits(v, k, grant_names, &c->grants, err, errsz);
	} else if (strcmp(k, "allow_id_number") == 0) {
		if (!json_is_boolean(v))
			return cerr(err, errsz, YH_ERR_INVALID, "%s: not a boolean", k);
		c->allow_id_number = json_is_true(v);
	} else if (strcmp(k, "min_loa") == 0) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 4)
			return cerr(err, errsz, YH_ERR_INVALID, "min_loa: 1..4");
		c->min_loa = (int)json_integer_value(v);
	} else if (strcmp(k, "sector") == 0) {
		if ((c->sector = json_string_value(v)) == NULL)
			return cerr(err, errsz, YH_ERR_INVALID, "sector: not a string");
	} else if (strcmp(k, "access_token_lifetime") == 0) {
		return get_lifetime(v, k, &c->access_token_lifetime, err, errsz);
	} else if (strcmp(k, "id_token_lifetime") == 0) {
		return get_lifetime(v, k, &c->id_token_lifetime, err, errsz);
	} else if (strcmp(k, "refresh_token_lifetime") == 0) {
		return get_lifetime(v, k, &c->refresh_token_lifetime, err, errsz);
	} else if (strcmp(k, "created") == 0) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return cerr(err, errsz, YH_ERR_INVALID, "created: not a time");
		c->created = json_integer_value(v);
	} else if (strcmp(k, "jwks") == 0) {
		if (!json_is_object(v) || (c->jwks_json = json_dumps(v, JSON_COMPACT)) == NULL)
			return cerr(err, errsz, YH_ERR_INVALID, "jwks: not an object");
	} else {
		return cerr(err, errsz, YH_ERR_INVALID, "unknown member \"%s\"", k);
	}
	return 0;
}

/* One file being loaded into a snapshot. */
struct doc {
	const char *dir;          /* the state directory (the secret-hashing key) */
	const char *path;         /* owned by the snapshot */
	bool apps;                /* the operator's apps file, not clients.json */
	struct file_ident *id;    /* gets the file's identity */
};

/* An apps-file client's secret_file, read and hashed under the installation key (created
 * on first use); the plain text is wiped. */
static int
secret_from_file(struct clients_snap *s, const struct doc *d, struct clients_client *c,
    char *err, size_t errsz)
{
	struct yh_file_fail f;
	char path[PATH_MAX_], *text = NULL;
	const char *slash = strrchr(d->path, '/');
	size_t len = 0;
	int n, rc;

	if (c->secret_file[0] == '/' || slash == NULL)
		n = snprintf(path, sizeof(path), "%s", c->secret_file);
	else
		n = snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - d->path), d->path,
		    c->secret_file);
	if (n < 0 || (size_t)n >= sizeof(path))
		return cerr(err, errsz, YH_ERR_TOO_LONG, "secret_file: path too long");
	if ((rc = yh_file_read_private(path, CLIENTS_SECRET_MAX + 2, &text, &len, &f)) != 0) {
		char why[400];

		yh_file_fail_msg(&f, why, sizeof(why));
		return cerr(err, errsz, rc == YH_ERR_TOO_LONG ? YH_ERR_INVALID : rc,
		    "secret_file: %s", rc == YH_ERR_TOO_LONG ? "longer than the largest secret" :
		    why);
	}
	if (len > 0 && text[len - 1] == '\n')
		text[--len] = '\0';
	if (len > 0 && text[len - 1] == '\r')
		text[--len] = '\0';
	for (size_t i = 0; i < len && rc == 0; i++)
		if ((unsigned char)text[i] < 0x20 || (unsigned char)text[i] == 0x7f)
			rc = cerr(err, errsz, YH_ERR_INVALID, "secret_file %s: a control character "
			    "in the secret (only printable characters)", path);
	if (rc == 0 && (len < CLIENTS_SECRET_MIN || len > CLIENTS_SECRET_MAX))
		rc = cerr(err, errsz, YH_ERR_INVALID, "secret_file %s: the secret must be "
		    "%d..%d bytes (authctl client add prints a good one)", path, CLIENTS_SECRET_MIN,
		    CLIENTS_SECRET_MAX);
	if (rc == 0 && d->dir == NULL) {  /* clients_check_file: checked, not hashed */
		c->has_secret = true;
		goto out;
	}
	if (rc == 0 && !s->have_key && (rc = snap_key(s, d->dir, true, err, errsz)) != 0)
		goto out;
	if (rc == 0 && !s->have_key)
		rc = cerr(err, errsz, YH_ERR_KEY, "%s/%s: not created", d->dir, CLIENTS_KEY_FILE);
	if (rc == 0 && (rc = snap_hash(s, c->id, text, len, c->secret_hash)) != 0)
		cerr(err, errsz, rc, "cannot hash the secret");
	if (rc == 0) {
		memcpy(c->secret_kid, s->kid, sizeof(c->secret_kid));
		c->has_secret = true;
	}
out:
	yh_freezero(text, len + 1);
	return rc;
}

/* Builds c from one client object of a file and checks it. */
static int
parse_client(json_t *o, struct clients_client *c, struct clients_snap *s,
    const struct doc *d, char *err, size_t errsz)
{
	const char *k;
	json_t *v;
	bool pkce_set = false;
	int rc;

	clients_client_init(c);
	c->scopes = 0;
	c->grants = 0;
	c->min_loa = 0;
	c->file = d->path;
	c->from_apps_file = d->apps;
	if (!json_is_object(o))
		return cerr(err, errsz, YH_ERR_INVALID, "a client is not an object");
	json_object_foreach(o, k, v)
		if ((rc = parse_member(k, v, c, &pkce_set, err, errsz)) != 0)
			return rc;
	if (c->id[0] == '\0' || c->min_loa == 0 || json_object_get(o, "auth") == NULL ||
	    json_object_get(o, "scopes") == NULL || json_object_get(o, "grants") == NULL)
		return cerr(err, errsz, YH_ERR_INVALID,
		    "client_id, auth, scopes, grants and min_loa are required");
	if (!pkce_set)
		c->require_pkce = c->auth == CLIENTS_AUTH_NONE;
	if (c->secret_file != NULL && c->has_secret)
		return cerr(err, errsz, YH_ERR_INVALID, "secret and secret_file: give one");
	if (c->secret_file != NULL && c->auth != CLIENTS_AUTH_SECRET)
		return cerr(err, errsz, YH_ERR_INVALID, "secret_file: only for client_secret "
		    "clients");
	if (!clients_id_valid(c->id))  /* before the secret is hashed under it */
		return cerr(err, errsz, YH_ERR_INVALID, "client_id: [A-Za-z0-9._-]{1,64}");
	if (c->secret_file != NULL && (rc = secret_from_file(s, d, c, err, errsz)) != 0)
		return rc;
	if ((c->auth == CLIENTS_AUTH_SECRET) != c->has_secret)
		return cerr(err, errsz, YH_ERR_INVALID, "%s",
		    c->has_secret ? "secret: only for client_secret clients" :
		    d->apps ? "client_secret client without a secret_file" :
		    "client_secret client without a secret");
	if ((rc = clients_client_check(c, err, errsz)) != 0)
		return rc;
	if (c->name == NULL)
		c->name = c->id;
	if (c->sector == NULL)
		c->sector = c->id;
	if (c->jwks_json != NULL)
		return jwks_check(c->jwks_json, &c->jwks, err, errsz);
	return 0;
}

/* Checks the document's top level; *arr gets the clients array (borrowed). */
static int
parse_top(json_t *root, json_t **arr, char *err, size_t errsz)
{
	const char *fmt = NULL;

	*arr = NULL;
	if (json_unpack(root, "{s:s, s:o !}", "format", &fmt, "clients", arr) != 0 ||
	    !json_is_array(*arr))
		return cerr(err, errsz, YH_ERR_INVALID,
		    "1: want {\"format\":\"" CLIENTS_FORMAT "\",\"clients\":[...]} and nothing else");
	if (strcmp(fmt, CLIENTS_FORMAT) != 0)
		return cerr(err, errsz, YH_ERR_INVALID, "1: unknown format \"%s\"", fmt);
	if (json_array_size(*arr) > CLIENTS_MAX)
		return cerr(err, errsz, YH_ERR_INVALID, "more than %d clients", CLIENTS_MAX);
	return 0;
}

/* Appends the clients of a parsed document (text: its contents) to s. */
static int
parse_clients(struct clients_snap *s, const struct doc *d, json_t *root, const char *text,
    char *err, size_t errsz)
{
	struct clients_client *grown;
	char why[384];
	json_t *arr, *o;
	int *lines = NULL, rc;
	size_t i, base = s->n;

	if ((rc = parse_top(root, &arr, why, sizeof(why))) != 0)
		return cerr(err, errsz, rc, "%s:%s", d->path, why);
	if (json_array_size(arr) == 0)
		return 0;
	if (base + json_array_size(arr) > CLIENTS_MAX)
		return cerr(err, errsz, YH_ERR_INVALID, "%s: more than %d clients in all", d->path,
		    CLIENTS_MAX);
	if ((grown = realloc(s->v, (base + json_array_size(arr)) * sizeof(*s->v))) == NULL)
		return cerr(err, errsz, YH_ERR_ALLOC, "out of memory");
	s->v = grown;
	if ((lines = calloc(json_array_size(arr), sizeof(*lines))) == NULL)
		return cerr(err, errsz, YH_ERR_ALLOC, "out of memory");
	client_lines(text, lines, json_array_size(arr));
	json_array_foreach(arr, i, o) {
		struct clients_client *c = &s->v[base + i];

		memset(c, 0, sizeof(*c));
		s->n = base + i + 1;
		if ((rc = parse_client(o, c, s, d, why, sizeof(why))) != 0) {
			cerr(err, errsz, rc, "%s:%d: client %zu \"%s\": %s", d->path, lines[i], i,
			    c->id, why);
			goto out;
		}
		c->line = lines[i];
		if (d->dir != NULL && c->has_secret && (!s->have_key ||
		    strcmp(c->secret_kid, s->kid) != 0))
			yh_warn("%s:%d: client \"%s\": its secret was hashed under key %s, but %s "
			    "holds %s; the client cannot authenticate until its secret is reset",
			    d->path, c->line, c->id, c->secret_kid, CLIENTS_KEY_FILE,
			    s->have_key ? s->kid : "no key");
	}
out:
	free(lines);
	return rc;
}

/* Sorts the clients of both files by id; an id registered twice is an error. */
static int
sort_clients(struct clients_snap *s, char *err, size_t errsz)
{
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), id_cmp);
	for (size_t i = 1; i < s->n; i++) {
		const struct clients_client *a = &s->v[i - 1], *b = &s->v[i];

		if (strcmp(a->id, b->id) == 0) {
			if (a->from_apps_file && !b->from_apps_file) {  /* name the apps file first */
				const struct clients_client *t = a;
				a = b;
				b = t;
			}
			return cerr(err, errsz, YH_ERR_INVALID, "%s:%d: client \"%s\" registered "
			    "twice (also %s:%d)", b->file, b->line, b->id, a->file, a->line);
		}
	}
	return 0;
}

/* Reads one file (clients.json absent: no clients; the apps file must exist) into s. */
static int
load_doc(struct clients_snap *s, const struct doc *d, char *err, size_t errsz)
{
	struct stat st;
	json_error_t je;
	json_t *root = NULL;
	char *text = NULL;
	size_t len = 0;
	int fd, rc;

	memset(d->id, 0, sizeof(*d->id));
	/* The operator's file may be a symlink (configuration management); ours may not. */
	if ((fd = open(d->path, O_RDONLY | O_CLOEXEC | (d->apps ? 0 : O_NOFOLLOW))) < 0) {
		if (errno == ENOENT && !d->apps)
			return 0;
		return cerr(err, errsz, errno == ENOENT ? YH_ERR_NOT_FOUND : YH_ERR_IO,
		    "%s%s: %s", d->path, d->apps ? " (clients.file)" : "", strerror(errno));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = cerr(err, errsz, YH_ERR_INVALID, "%s: not a regular file", d->path);
		goto out;
	}
	ident_of(&st, d->id);
	if ((rc = yh_file_read_fd(fd, CLIENTS_FILE_MAX, false, &text, &len)) != 0) {
		cerr(err, errsz, rc, "%s: %s", d->path, rc == YH_ERR_TOO_LONG ?
		    "larger than the limit" : strerror(errno));
		goto out;
	}
	if (memchr(text, '\0', len) != NULL) {
		rc = cerr(err, errsz, YH_ERR_INVALID, "%s: NUL byte in the file", d->path);
		goto out;
	}
	if ((root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		rc = cerr(err, errsz, YH_ERR_INVALID, "%s:%d:%d: %s", d->path, je.line, je.column,
		    je.text);
		goto out;
	}
	if (d->apps)
		s->apps_root = root;
	else
		s->root = root;
	rc = parse_clients(s, d, root, text, err, errsz);
out:
	free(text);
	close(fd);
	return rc;
}

/* Loads clients.json and the apps file (if any) into a new snapshot holding the key of
 * the state directory; *id gets the files' identities. */
static int
snap_load(const struct clients_registry *r, struct clients_snap **out, struct idents *id,
    char *err, size_t errsz)
{
	struct clients_snap *s;
	int rc;

	*out = NULL;
	memset(id, 0, sizeof(*id));
	if ((s = calloc(1, sizeof(*s))) == NULL || (s->state_path = strdup(r->path)) == NULL ||
	    (r->apps_path[0] != '\0' && (s->apps_path = strdup(r->apps_path)) == NULL)) {
		snap_free(s);
		return cerr(err, errsz, YH_ERR_ALLOC, "out of memory");
	}
	s->refs = 1;
	s->hasher = r->opts.hasher;
	if ((rc = snap_key(s, r->dir, false, err, errsz)) == 0)
		rc = load_doc(s, &(struct doc){ r->dir, s->state_path, false, &id->state }, err,
		    errsz);
	if (rc == 0 && s->apps_path != NULL)
		rc = load_doc(s, &(struct doc){ r->dir, s->apps_path, true, &id->apps }, err,
		    errsz);
	if (rc == 0)
		rc = sort_clients(s, err, errsz);
	if (rc != 0) {
		snap_free(s);
		s = NULL;
	}
	*out = s;
	return rc;
}

int
clients_check_file(const char *path, char *err, size_t errsz)
{
	struct clients_snap *s;
	struct file_ident id;
	int rc;

	if ((s = calloc(1, sizeof(*s))) == NULL || (s->apps_path = strdup(path)) == NULL) {
		snap_free(s);
		return cerr(err, errsz, YH_ERR_ALLOC, "out of memory");
	}
	if ((rc = load_doc(s, &(struct doc){ NULL, s->apps_path, true, &id }, err,
	    errsz)) == 0)
		rc = sort_clients(s, err, errsz);
	snap_free(s);
	return rc;
}

/* --- the registry --------------------------------------------------------------------- */

static int
dir_ready(const char *dir, bool create, char *err, size_t errsz)
{
	struct stat st;

	if (create && mkdir(dir, 0700) != 0 && errno != EEXIST)
		return cerr(err, errsz, YH_ERR_IO, "cannot create %s: %s", dir, strerror(errno));
	if (stat(dir, &st) != 0)
		return cerr(err, errsz, errno == ENOENT ? YH_ERR_NOT_FOUND : YH_ERR_IO,
		    "state directory %s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return cerr(err, errsz, YH_ERR_INVALID, "state directory %s: not a directory", dir);
	return 0;
}

static void
swap_in(struct clients_registry *r, struct clients_snap *s)
{
	struct clients_snap *old;

	pthread_mutex_lock(&r->mu);
	old = r->cur;
	r->cur = s;
	pthread_mutex_unlock(&r->mu);
	clients_release(old);
}

/* Loads the file; on success swaps the snapshot in. Caller holds reload_mu. */
static int
reload_locked(struct clients_registry *r, char *err, size_t errsz)
{
	struct clients_snap *s;
	struct idents id;
	int rc;

	if ((rc = snap_load(r, &s, &id, err, errsz)) != 0) {
		r->failed = id;
		r->have_failed = true;
		return rc;
	}
	r->loaded = id;
	r->have_failed = false;
	swap_in(r, s);
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
		return cerr(err, errsz, YH_ERR_CONFIG, "no state directory");
	if ((rc = dir_ready(state_dir, opts != NULL && opts->create, err, errsz)) != 0)
		return rc;
	if ((r = calloc(1, sizeof(*r))) == NULL || (r->dir = strdup(state_dir)) == NULL) {
		free(r);
		return cerr(err, errsz, YH_ERR_ALLOC, "out of memory");
	}
	if (opts != NULL)
		r->opts = *opts;
	if (r->opts.check_interval_ms == 0)
		r->opts.check_interval_ms = CLIENTS_CHECK_INTERVAL_MS;
	if (r->opts.mono_ms == NULL)
		r->opts.mono_ms = yh_mono_ms;
	pthread_mutex_init(&r->mu, NULL);
	pthread_mutex_init(&r->reload_mu, NULL);
	if (dir_path(r->path, state_dir, CLIENTS_FILE) != 0) {
		rc = cerr(err, errsz, YH_ERR_TOO_LONG, "%s: path too long", state_dir);
		goto out;
	}
	if (r->opts.apps_file != NULL && yh_strlcpy(r->apps_path, r->opts.apps_file,
	    sizeof(r->apps_path)) != 0) {
		rc = cerr(err, errsz, YH_ERR_TOO_LONG, "clients.file: path too long");
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
	clients_release(r->cur);
	pthread_mutex_destroy(&r->mu);
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
	struct clients_snap *s;

	pthread_mutex_lock(&r->mu);
	s = r->cur;
	__atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&r->mu);
	return s;
}

void
clients_release(struct clients_snap *s)
{
	if (s != NULL && __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0)
		snap_free(s);
}

const char *
clients_path(const struct clients_registry *r)
{
	return r->path;
}

const char *
clients_apps_path(const struct clients_registry *r)
{
	return r->apps_path[0] != '\0' ? r->apps_path : NULL;
}

/* --- lookups -------------------------------------------------------------------------- */

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
	if (snap_hash(s, usable ? c->id : "", secret != NULL ? secret : "", secret != NULL ?
	    secret_len : 0, mac) != 0)
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

static bool
uri_in(const char *const *v, size_t n, const char *uri)
{
	if (uri == NULL || strnlen(uri, CLIENTS_URI_MAX + 1) > CLIENTS_URI_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], uri) == 0)
			return true;
	return false;
}

bool
clients_redirect_ok(const struct clients_client *c, const char *uri)
{
	return c != NULL && uri_in(c->redirect_uris, c->n_redirect_uris, uri);
}

bool
clients_post_logout_redirect_ok(const struct clients_client *c, const char *uri)
{
	return c != NULL && uri_in(c->post_logout_uris, c->n_post_logout_uris, uri);
}

bool
clients_grant_ok(const struct clients_client *c, unsigned grant)
{
	return c != NULL && grant != 0 && (c->grants & grant) == grant;
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

/* --- writers -------------------------------------------------------------------------- */

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
		if ((bits & (1u << i)) && json_array_append_new(a, json_string(name(1u << i))) != 0) {
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
	if (c->backchannel_logout_uri != NULL)
		put(o, "backchannel_logout_uri", json_string(c->backchannel_logout_uri), &bad);
	put(o, "scopes", json_bits(c->scopes, clients_scope_name), &bad);
	put(o, "grants", json_bits(c->grants, clients_grant_name), &bad);
	put(o, "allow_id_number", json_boolean(c->allow_id_number), &bad);
	put(o, "min_loa", json_integer(c->min_loa), &bad);
	put(o, "sector", json_string(c->sector != NULL ? c->sector : c->id), &bad);
	if (c->access_token_lifetime != 0)
		put(o, "access_token_lifetime", json_integer(c->access_token_lifetime), &bad);
	if (c->id_token_lifetime != 0)
		put(o, "id_token_lifetime", json_integer(c->id_token_lifetime), &bad);
	if (c->refresh_token_lifetime != 0)
		put(o, "refresh_token_lifetime", json_integer(c->refresh_token_lifetime), &bad);
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
write_doc(const char *dir, json_t *arr, char *err, size_t errsz)
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
		rc = cerr(err, errsz, rc, "cannot serialize the registry: %s", yh_strerror(rc));
	else
		rc = write_atomic(dir, CLIENTS_FILE, b.data, b.len, err, errsz);
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
	if ((rc = snap_load(r, snap, &id, err, errsz)) != 0)
		return rc;
	if ((*snap)->root == NULL)
		*arr = json_array();
	else  /* a shallow copy: the snapshot's strings stay untouched */
		*arr = json_copy(json_object_get((*snap)->root, "clients"));
	return *arr != NULL ? 0 : cerr(err, errsz, YH_ERR_ALLOC, "out of memory");
}

/* Hashes secret under the installation key, creating the key on first use. */
static int
hash_new_secret(struct clients_registry *r, const char *id, const char *secret,
    char kid[CLIENTS_KID_LEN + 1], unsigned char hash[CLIENTS_HASH_LEN], char *err,
    size_t errsz)
{
	struct clients_snap k;
	size_t len;
	int rc;

	memset(&k, 0, sizeof(k));
	len = secret != NULL ? strnlen(secret, CLIENTS_SECRET_MAX + 1) : 0;
	if (len < CLIENTS_SECRET_MIN || len > CLIENTS_SECRET_MAX)
		return cerr(err, errsz, YH_ERR_INVALID, "secret: %d..%d bytes",
		    CLIENTS_SECRET_MIN, CLIENTS_SECRET_MAX);
	k.hasher = r->opts.hasher;
	if ((rc = snap_key(&k, r->dir, true, err, errsz)) != 0)
		goto out;
	if (!k.have_key) {
		rc = cerr(err, errsz, YH_ERR_KEY, "%s/%s: not created", r->dir, CLIENTS_KEY_FILE);
		goto out;
	}
	if ((rc = snap_hash(&k, id, secret, len, hash)) != 0) {
		cerr(err, errsz, rc, "cannot hash the secret");
		goto out;
	}
	memcpy(kid, k.kid, CLIENTS_KID_LEN + 1);
out:
	yh_wipe(&k, sizeof(k));
	return rc;
}

/* Writers leave the operator's apps file alone: an id declared there is refused. */
static int
not_in_apps_file(const struct clients_snap *snap, const char *id, char *err, size_t errsz)
{
	const struct clients_client *c = clients_find(snap, id);

	if (c == NULL || !c->from_apps_file)
		return 0;
	return cerr(err, errsz, YH_ERR_EXISTS, "client \"%s\" is declared in %s:%d "
	    "(clients.file): change it there", id, c->file, c->line);
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
	if ((rc = clients_client_check(&c, err, errsz)) != 0)
		return rc;
	if ((c.auth == CLIENTS_AUTH_SECRET) != (secret != NULL))
		return cerr(err, errsz, YH_ERR_INVALID, "%s", secret != NULL ?
		    "a secret is only for client_secret clients" : "a secret is required");
	if ((rc = writer_lock(r->dir, &lock, err, errsz)) != 0 ||
	    (rc = disk_clients(r, &snap, &arr, err, errsz)) != 0)
		goto out;
	if ((rc = not_in_apps_file(snap, c.id, err, errsz)) != 0)
		goto out;
	if (clients_find(snap, c.id) != NULL) {
		rc = cerr(err, errsz, YH_ERR_EXISTS, "client \"%s\" already exists", c.id);
		goto out;
	}
	if (snap->n >= CLIENTS_MAX) {
		rc = cerr(err, errsz, YH_ERR_LIMIT, "the registry is full (%d clients)",
		    CLIENTS_MAX);
		goto out;
	}
	if (secret != NULL && (rc = hash_new_secret(r, c.id, secret, kid, hash, err,
	    errsz)) != 0)
		goto out;
	if ((rec = client_record(&c, kid, secret != NULL ? hash : NULL)) == NULL ||
	    json_array_append_new(arr, rec) != 0) {
		rc = cerr(err, errsz, YH_ERR_ALLOC, "out of memory");
		goto out;
	}
	if ((rc = write_doc(r->dir, arr, err, errsz)) != 0)
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

int
clients_set_secret(struct clients_registry *r, const char *id, const char *secret,
    char *err, size_t errsz)
{
	struct clients_snap *snap = NULL;
	const struct clients_client *c;
	unsigned char hash[CLIENTS_HASH_LEN];
	char kid[CLIENTS_KID_LEN + 1] = "", hex[2 * CLIENTS_HASH_LEN + 1];
	json_t *arr = NULL, *o = NULL;
	size_t at;
	int lock = -1, rc;

	memset(hash, 0, sizeof(hash));
	if (!clients_id_valid(id))
		return cerr(err, errsz, YH_ERR_NOT_FOUND, "no client \"%s\"", id);
	if ((rc = writer_lock(r->dir, &lock, err, errsz)) != 0 ||
	    (rc = disk_clients(r, &snap, &arr, err, errsz)) != 0 ||
	    (rc = not_in_apps_file(snap, id, err, errsz)) != 0)
		goto out;
	if ((c = clients_find(snap, id)) == NULL || (at = index_of(arr, id)) == (size_t)-1) {
		rc = cerr(err, errsz, YH_ERR_NOT_FOUND, "no client \"%s\"", id);
		goto out;
	}
	if (c->auth != CLIENTS_AUTH_SECRET) {
		rc = cerr(err, errsz, YH_ERR_INVALID, "client \"%s\" does not use a secret (%s)",
		    id, clients_auth_name(c->auth));
		goto out;
	}
	if ((rc = hash_new_secret(r, id, secret, kid, hash, err, errsz)) != 0)
		goto out;
	yh_hex_encode(hash, CLIENTS_HASH_LEN, hex);
	if ((o = json_deep_copy(json_array_get(arr, at))) == NULL ||
	    json_object_set_new(o, "secret", json_pack("{s:s,s:s,s:s}", "alg", HASH_ALG, "kid",
	    kid, "hash", hex)) != 0 || json_array_set(arr, at, o) != 0) {
		rc = cerr(err, errsz, YH_ERR_ALLOC, "out of memory");
		goto out;
	}
	if ((rc = write_doc(r->dir, arr, err, errsz)) != 0)
		goto out;
	yh_file_unlock(lock);
	lock = -1;
	rc = clients_reload(r, err, errsz);
out:
	yh_file_unlock(lock);
	yh_wipe(hash, sizeof(hash));
	json_decref(o);
	json_decref(arr);
	clients_release(snap);
	return rc;
}

int
clients_remove(struct clients_registry *r, const char *id, char *err, size_t errsz)
{
	struct clients_snap *snap = NULL;
	json_t *arr = NULL;
	size_t at;
	int lock = -1, rc;

	if (!clients_id_valid(id))
		return cerr(err, errsz, YH_ERR_NOT_FOUND, "no client \"%s\"", id);
	if ((rc = writer_lock(r->dir, &lock, err, errsz)) != 0 ||
	    (rc = disk_clients(r, &snap, &arr, err, errsz)) != 0 ||
	    (rc = not_in_apps_file(snap, id, err, errsz)) != 0)
		goto out;
	if ((at = index_of(arr, id)) == (size_t)-1) {
		rc = cerr(err, errsz, YH_ERR_NOT_FOUND, "no client \"%s\"", id);
		goto out;
	}
	if (json_array_remove(arr, at) != 0) {
		rc = cerr(err, errsz, YH_ERR_ALLOC, "out of memory");
		goto out;
	}
	if ((rc = write_doc(r->dir, arr, err, errsz)) != 0)
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
