/*
 * The loader: clients.json and the operator's apps file, parsed with jansson and checked
 * client by client into a snapshot.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authcore/clients/clients_int.h"
#include "common/atomicfile.h"
#include "common/log.h"
#include "common/secmem.h"
#include "token/jwk.h"

static int
id_cmp(const void *a, const void *b)
{
	return strcmp(((const struct clients_client *)a)->id,
	    ((const struct clients_client *)b)->id);
}

/* A walk over the text of a document jansson has already parsed, to tell where its
 * values stand: jansson reads each value, the walk only steps over what lies between. */
struct walk {
	const char *t;
	size_t len, i;           /* the text, its length, the position */
	size_t nl_at;            /* newlines are counted up to here... */
	int line;                /* ...and this is the line there */
};

/* Steps over JSON whitespace. */
static void
walk_ws(struct walk *w)
{
	while (w->i < w->len && (w->t[w->i] == ' ' || w->t[w->i] == '\t' ||
	    w->t[w->i] == '\n' || w->t[w->i] == '\r'))
		w->i++;
}

/* Steps over whitespace; true when the next character is c (then stepped over too). */
static bool
walk_past(struct walk *w, char c)
{
	walk_ws(w);
	if (w->i >= w->len || w->t[w->i] != c)
		return false;
	w->i++;
	return true;
}

/* Reads the value at the position with jansson and steps over it; NULL at the end or on
 * anything that is not a value. The caller owns the value. */
static json_t *
walk_value(struct walk *w)
{
	json_error_t je;
	json_t *v = json_loadb(w->t + w->i, w->len - w->i,
	    JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK, &je);

	if (v != NULL)
		w->i += (size_t)je.position;
	return v;
}

/* The line of the position (the walk only moves forward). */
static int
walk_line(struct walk *w)
{
	for (; w->nl_at < w->i; w->nl_at++)
		if (w->t[w->nl_at] == '\n')
			w->line++;
	return w->line;
}

/* Notes the line where each element of the "clients" array starts (at most max), stepping
 * over the other members of the top-level object. For a document that jansson parsed and
 * parse_top checked. YH_ERR_INVALID if the text does not read as such. */
static int
client_lines(const char *text, size_t len, int *lines, size_t max)
{
	struct walk w = { .t = text, .len = len, .line = 1 };
	size_t n = 0;

	if (!walk_past(&w, '{'))
		return YH_ERR_INVALID;
	do {
		json_t *k = walk_value(&w), *v;
		bool clients = json_is_string(k) && strcmp(json_string_value(k), "clients") == 0;

		json_decref(k);
		if (k == NULL || !walk_past(&w, ':'))
			return YH_ERR_INVALID;
		if (!clients) {
			if ((v = walk_value(&w)) == NULL)
				return YH_ERR_INVALID;
			json_decref(v);
			continue;
		}
		if (!walk_past(&w, '['))
			return YH_ERR_INVALID;
		if (walk_past(&w, ']'))
			continue;
		do {
			walk_ws(&w);
			if (n < max)
				lines[n++] = walk_line(&w);
			if ((v = walk_value(&w)) == NULL)
				return YH_ERR_INVALID;
			json_decref(v);
		} while (walk_past(&w, ','));
		if (!walk_past(&w, ']'))
			return YH_ERR_INVALID;
	} while (walk_past(&w, ','));
	return n == max ? 0 : YH_ERR_INVALID;
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
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "%s: not an array", what);
	if (json_array_size(a) > max)
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "%s: more than %zu entries", what, max);
	if (json_array_size(a) == 0)
		return 0;
	if ((v = calloc(json_array_size(a), sizeof(*v))) == NULL)
		return YH_FAIL(YH_ERR_ALLOC, err, errsz, "out of memory");
	json_array_foreach(a, i, e) {
		if (!json_is_string(e)) {
			free(v);
			return YH_FAIL(YH_ERR_INVALID, err, errsz, "%s[%zu]: not a string", what,
			    i);
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
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "%s: not an array", what);
	json_array_foreach(a, i, e) {
		unsigned k;
		const char *s = json_string_value(e);

		for (k = 0; s != NULL && names[k] != NULL && strcmp(names[k], s) != 0; k++)
			;
		if (s == NULL || names[k] == NULL)
			return YH_FAIL(YH_ERR_INVALID, err, errsz, "%s[%zu]: unknown value", what,
			    i);
		*bits |= 1u << k;
	}
	return 0;
}

static int
get_lifetime(const json_t *v, const char *what, int64_t *out, char *err, size_t errsz)
{
	if (!json_is_integer(v))
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "%s: not an integer", what);
	*out = json_integer_value(v);
	return 0;
}

/* A signing algorithm's name. */
static int
get_alg(const json_t *v, const char *what, enum tok_alg *out, char *err, size_t errsz)
{
	if (tok_alg_from_name(json_string_value(v), out) != 0)
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "%s: ES256, EdDSA, RS256, PS256 or SM2",
		    what);
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
		return YH_FAIL(YH_ERR_INVALID, err, errsz,
		    "secret: want {\"alg\":\"" HASH_ALG "\",\"kid\":16 hex,\"hash\":64 hex}");
	if (yh_strlcpy(c->secret_kid, kid, sizeof(c->secret_kid)) != 0)
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "secret: bad kid");
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
			return YH_FAIL(YH_ERR_INVALID, err, errsz, "client_id: bad value");
	} else if (strcmp(k, "name") == 0) {
		if ((c->name = json_string_value(v)) == NULL)
			return YH_FAIL(YH_ERR_INVALID, err, errsz, "name: not a string");
	} else if (strcmp(k, "auth") == 0) {
		if (!json_is_string(v) || clients_auth_from_name(json_string_value(v),
		    &c->auth) != 0)
			return YH_FAIL(YH_ERR_INVALID, err, errsz,
			    "auth: none, client_secret or private_key_jwt");
	} else if (strcmp(k, "secret") == 0) {
		return parse_secret(v, c, err, errsz);
	} else if (strcmp(k, "secret_file") == 0 && c->from_apps_file) {
		if ((c->secret_file = json_string_value(v)) == NULL || c->secret_file[0] == '\0')
			return YH_FAIL(YH_ERR_INVALID, err, errsz, "secret_file: not a path");
	} else if (strcmp(k, "require_pkce") == 0) {
		if (!json_is_boolean(v))
			return YH_FAIL(YH_ERR_INVALID, err, errsz, "require_pkce: not a boolean");
		c->require_pkce = json_is_true(v);
		*pkce_set = true;
	} else if (strcmp(k, "redirect_uris") == 0) {
		return str_array(v, k, &c->redirect_uris, &c->n_redirect_uris, CLIENTS_URIS_MAX,
		    err, errsz);
	} else if (strcmp(k, "post_logout_redirect_uris") == 0) {
		return str_array(v, k, &c->post_logout_uris, &c->n_post_logout_uris,
		    CLIENTS_URIS_MAX, err, errsz);
	} else if (strcmp(k, "cas_services") == 0) {
		return str_array(v, k, &c->cas_services, &c->n_cas_services, CLIENTS_CAS_MAX,
		    err, errsz);
	} else if (strcmp(k, "cas_service_prefixes") == 0) {
		return str_array(v, k, &c->cas_prefixes, &c->n_cas_prefixes, CLIENTS_CAS_MAX,
		    err, errsz);
	} else if (strcmp(k, "cas_proxy_callbacks") == 0) {
		return str_array(v, k, &c->cas_proxy_callbacks, &c->n_cas_proxy_callbacks,
		    CLIENTS_CAS_MAX, err, errsz);
	} else if (strcmp(k, "cas_accept_proxy") == 0) {
		if (!json_is_boolean(v))
			return YH_FAIL(YH_ERR_INVALID, err, errsz, "%s: not a boolean", k);
		c->cas_accept_proxy = json_is_true(v);
	} else if (strcmp(k, "allowed_origins") == 0) {
		return str_array(v, k, &c->allowed_origins, &c->n_allowed_origins,
		    CLIENTS_ORIGINS_MAX, err, errsz);
	} else if (strcmp(k, "backchannel_logout_uri") == 0) {
		if ((c->backchannel_logout_uri = json_string_value(v)) == NULL)
			return YH_FAIL(YH_ERR_INVALID, err, errsz, "%s: not a string", k);
	} else if (strcmp(k, "scopes") == 0) {
		return name_bits(v, k, clients_scope_names, &c->scopes, err, errsz);
	} else if (strcmp(k, "grants") == 0) {
		return name_bits(v, k, clients_grant_names, &c->grants, err, errsz);
	} else if (strcmp(k, "allow_id_number") == 0) {
		if (!json_is_boolean(v))
			return YH_FAIL(YH_ERR_INVALID, err, errsz, "%s: not a boolean", k);
		c->allow_id_number = json_is_true(v);
	} else if (strcmp(k, "min_loa") == 0) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 4)
			return YH_FAIL(YH_ERR_INVALID, err, errsz, "min_loa: 1..4");
		c->min_loa = (int)json_integer_value(v);
	} else if (strcmp(k, "sector") == 0) {
		if ((c->sector = json_string_value(v)) == NULL)
			return YH_FAIL(YH_ERR_INVALID, err, errsz, "sector: not a string");
	} else if (strcmp(k, "org") == 0) {
		if ((c->org = json_string_value(v)) == NULL)
			return YH_FAIL(YH_ERR_INVALID, err, errsz, "org: not a string");
	} else if (strcmp(k, "legacy_source") == 0) {
		if ((c->legacy_source = json_string_value(v)) == NULL)
			return YH_FAIL(YH_ERR_INVALID, err, errsz, "%s: not a string", k);
	} else if (strcmp(k, "cas_user") == 0) {
		if (!json_is_string(v) || clients_cas_user_parse(json_string_value(v),
		    &c->cas_user) != 0)
			return YH_FAIL(YH_ERR_INVALID, err, errsz, "cas_user: subject or legacy");
	} else if (strcmp(k, "legacy_required") == 0) {
		if (!json_is_boolean(v))
			return YH_FAIL(YH_ERR_INVALID, err, errsz, "%s: not a boolean", k);
		c->legacy_required = json_is_true(v);
	} else if (strcmp(k, "require_pushed_authorization_requests") == 0) {
		if (!json_is_boolean(v))
			return YH_FAIL(YH_ERR_INVALID, err, errsz, "%s: not a boolean", k);
		c->require_par = json_is_true(v);
	} else if (strcmp(k, "require_person") == 0) {
		if (!json_is_boolean(v))
			return YH_FAIL(YH_ERR_INVALID, err, errsz, "%s: not a boolean", k);
		c->require_person = json_is_true(v);
	} else if (strcmp(k, "access_token_lifetime") == 0) {
		return get_lifetime(v, k, &c->access_token_lifetime, err, errsz);
	} else if (strcmp(k, "id_token_lifetime") == 0) {
		return get_lifetime(v, k, &c->id_token_lifetime, err, errsz);
	} else if (strcmp(k, "refresh_token_lifetime") == 0) {
		return get_lifetime(v, k, &c->refresh_token_lifetime, err, errsz);
	} else if (strcmp(k, "disabled") == 0) {
		if (!json_is_boolean(v))
			return YH_FAIL(YH_ERR_INVALID, err, errsz, "%s: not a boolean", k);
		c->disabled = json_is_true(v);
	} else if (strcmp(k, "created") == 0) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return YH_FAIL(YH_ERR_INVALID, err, errsz, "created: not a time");
		c->created = json_integer_value(v);
	} else if (strcmp(k, "id_token_signed_response_alg") == 0) {
		return get_alg(v, k, &c->id_token_alg, err, errsz);
	} else if (strcmp(k, "access_token_signed_response_alg") == 0) {
		return get_alg(v, k, &c->access_token_alg, err, errsz);
	} else if (strcmp(k, "jwks") == 0) {
		if (!json_is_object(v) || (c->jwks_json = json_dumps(v, JSON_COMPACT)) == NULL)
			return YH_FAIL(YH_ERR_INVALID, err, errsz, "jwks: not an object");
	} else {
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "unknown member \"%s\"", k);
	}
	return 0;
}

/* One file being loaded into a snapshot. */
struct doc {
	const char *dir;          /* the state directory (the secret-hashing key) */
	const char *path;         /* owned by the snapshot */
	bool apps;                /* the operator's apps file, not clients.json */
	struct file_ident *id;    /* gets the file's identity */
	unsigned algs;            /* the enabled signing algorithms (0: any) */
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
		return YH_FAIL(YH_ERR_TOO_LONG, err, errsz, "secret_file: path too long");
	if ((rc = yh_file_read_private(path, CLIENTS_SECRET_MAX + 2, &text, &len, &f)) != 0) {
		char why[400];

		yh_file_fail_msg(&f, why, sizeof(why));
		return YH_FAIL(rc == YH_ERR_TOO_LONG ? YH_ERR_INVALID : rc, err, errsz,
		    "secret_file: %s", rc == YH_ERR_TOO_LONG ? "longer than the largest secret" :
		    why);
	}
	if (len > 0 && text[len - 1] == '\n')
		text[--len] = '\0';
	if (len > 0 && text[len - 1] == '\r')
		text[--len] = '\0';
	for (size_t i = 0; i < len && rc == 0; i++)
		if ((unsigned char)text[i] < 0x20 || (unsigned char)text[i] == 0x7f)
			rc = YH_FAIL(YH_ERR_INVALID, err, errsz,
			    "secret_file %s: a control character "
			    "in the secret (only printable characters)", path);
	if (rc == 0 && (len < CLIENTS_SECRET_MIN || len > CLIENTS_SECRET_MAX))
		rc = YH_FAIL(YH_ERR_INVALID, err, errsz, "secret_file %s: the secret must be "
		    "%d..%d bytes (authctl client add prints a good one)", path, CLIENTS_SECRET_MIN,
		    CLIENTS_SECRET_MAX);
	if (rc == 0 && d->dir == NULL) {  /* clients_check_file: checked, not hashed */
		c->has_secret = true;
		goto out;
	}
	if (rc == 0 && !s->have_key && (rc = clients_snap_key(s, d->dir, true, err, errsz)) != 0)
		goto out;
	if (rc == 0 && !s->have_key)
		rc = YH_FAIL(YH_ERR_KEY, err, errsz, "%s/%s: not created", d->dir,
		    CLIENTS_KEY_FILE);
	if (rc == 0 && (rc = clients_snap_hash(s, c->id, text, len, c->secret_hash)) != 0)
		yh_errf(err, errsz, "cannot hash the secret");
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
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "a client is not an object");
	json_object_foreach(o, k, v)
		if ((rc = parse_member(k, v, c, &pkce_set, err, errsz)) != 0)
			return rc;
	if (c->id[0] == '\0' || c->min_loa == 0 || json_object_get(o, "auth") == NULL ||
	    json_object_get(o, "scopes") == NULL || json_object_get(o, "grants") == NULL)
		return YH_FAIL(YH_ERR_INVALID, err, errsz,
		    "client_id, auth, scopes, grants and min_loa are required");
	if (!pkce_set)
		c->require_pkce = c->auth == CLIENTS_AUTH_NONE;
	if (c->secret_file != NULL && c->has_secret)
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "secret and secret_file: give one");
	if (c->secret_file != NULL && c->auth != CLIENTS_AUTH_SECRET)
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "secret_file: only for client_secret "
		    "clients");
	if (!clients_id_valid(c->id))  /* before the secret is hashed under it */
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "client_id: [A-Za-z0-9._-]{1,64}");
	if (c->secret_file != NULL && (rc = secret_from_file(s, d, c, err, errsz)) != 0)
		return rc;
	if ((c->auth == CLIENTS_AUTH_SECRET) != c->has_secret)
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "%s",
		    c->has_secret ? "secret: only for client_secret clients" :
		    d->apps ? "client_secret client without a secret_file" :
		    "client_secret client without a secret");
	if ((rc = clients_client_check(c, err, errsz)) != 0 ||
	    (rc = clients_algs_check(c, d->algs, err, errsz)) != 0)
		return rc;
	if (c->name == NULL)
		c->name = c->id;
	if (c->sector == NULL)
		c->sector = c->id;
	if (clients_cors_derive(c) != 0)
		return YH_FAIL(YH_ERR_ALLOC, err, errsz, "out of memory");
	if (c->jwks_json != NULL)
		return clients_jwks_check(c->jwks_json, &c->jwks, err, errsz);
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
		return YH_FAIL(YH_ERR_INVALID, err, errsz,
		    "1: want {\"format\":\"" CLIENTS_FORMAT "\",\"clients\":[...]} and nothing else");
	if (strcmp(fmt, CLIENTS_FORMAT) != 0)
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "1: unknown format \"%s\"", fmt);
	if (json_array_size(*arr) > CLIENTS_MAX)
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "more than %d clients", CLIENTS_MAX);
	return 0;
}

/* Appends the clients of a parsed document (text: its contents) to s. */
static int
parse_clients(struct clients_snap *s, const struct doc *d, json_t *root, const char *text,
    size_t len, char *err, size_t errsz)
{
	struct clients_client *grown;
	char why[384];
	json_t *arr, *o;
	int *lines = NULL, rc;
	size_t i, base = s->n;

	if ((rc = parse_top(root, &arr, why, sizeof(why))) != 0)
		return YH_FAIL(rc, err, errsz, "%s:%s", d->path, why);
	if (json_array_size(arr) == 0)
		return 0;
	if (base + json_array_size(arr) > CLIENTS_MAX)
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "%s: more than %d clients in all",
		    d->path, CLIENTS_MAX);
	if ((grown = realloc(s->v, (base + json_array_size(arr)) * sizeof(*s->v))) == NULL)
		return YH_FAIL(YH_ERR_ALLOC, err, errsz, "out of memory");
	s->v = grown;
	if ((lines = calloc(json_array_size(arr), sizeof(*lines))) == NULL)
		return YH_FAIL(YH_ERR_ALLOC, err, errsz, "out of memory");
	if (client_lines(text, len, lines, json_array_size(arr)) != 0) {
		free(lines);
		return YH_FAIL(YH_ERR_INTERNAL, err, errsz, "%s: the clients could not be located",
		    d->path);
	}
	json_array_foreach(arr, i, o) {
		struct clients_client *c = &s->v[base + i];

		memset(c, 0, sizeof(*c));
		s->n = base + i + 1;
		if ((rc = parse_client(o, c, s, d, why, sizeof(why))) != 0) {
			yh_errf(err, errsz, "%s:%d: client %zu \"%s\": %s", d->path, lines[i], i,
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
			return YH_FAIL(YH_ERR_INVALID, err, errsz,
			    "%s:%d: client \"%s\" registered "
			    "twice (also %s:%d)", b->file, b->line, b->id, a->file, a->line);
		}
	}
	return 0;
}

/* No two apps register CAS services that one service URL matches (clients_cas_overlap). */
static int
cas_distinct(const struct clients_snap *s, char *err, size_t errsz)
{
	for (size_t i = 0; i < s->n; i++) {
		if (!clients_has_cas(&s->v[i]))
			continue;
		for (size_t j = i + 1; j < s->n; j++) {
			const struct clients_client *a = &s->v[i], *b = &s->v[j];
			const char *sa, *sb;

			if (clients_has_cas(b) && clients_cas_overlap(a, b, &sa, &sb))
				return YH_FAIL(YH_ERR_INVALID, err, errsz, "%s:%d: client \"%s\": "
				    "CAS service %s overlaps %s of client \"%s\" (%s:%d); one "
				    "service URL must name one app", b->file, b->line, b->id, sb, sa,
				    a->id, a->file, a->line);
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
		return YH_FAIL(errno == ENOENT ? YH_ERR_NOT_FOUND : YH_ERR_IO, err, errsz,
		    "%s%s: %s", d->path, d->apps ? " (clients.file)" : "", strerror(errno));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = YH_FAIL(YH_ERR_INVALID, err, errsz, "%s: not a regular file", d->path);
		goto out;
	}
	clients_ident_of(&st, d->id);
	if ((rc = yh_file_read_fd(fd, CLIENTS_FILE_MAX, false, &text, &len)) != 0) {
		yh_errf(err, errsz, "%s: %s", d->path, rc == YH_ERR_TOO_LONG ?
		    "larger than the limit" : strerror(errno));
		goto out;
	}
	if (memchr(text, '\0', len) != NULL) {
		rc = YH_FAIL(YH_ERR_INVALID, err, errsz, "%s: NUL byte in the file", d->path);
		goto out;
	}
	if ((root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		rc = YH_FAIL(YH_ERR_INVALID, err, errsz, "%s:%d:%d: %s", d->path, je.line,
		    je.column, je.text);
		goto out;
	}
	if (d->apps)
		s->apps_root = root;
	else
		s->root = root;
	rc = parse_clients(s, d, root, text, len, err, errsz);
out:
	free(text);
	close(fd);
	return rc;
}

/* Loads clients.json and the apps file (if any) into a new snapshot holding the key of
 * the state directory; *id gets the files' identities. */
int
clients_snap_load(const struct clients_registry *r, struct clients_snap **out, struct idents *id,
    char *err, size_t errsz)
{
	struct clients_snap *s;
	int rc;

	*out = NULL;
	memset(id, 0, sizeof(*id));
	if ((s = clients_snap_new()) == NULL || (s->state_path = strdup(r->path)) == NULL ||
	    (r->apps_path[0] != '\0' && (s->apps_path = strdup(r->apps_path)) == NULL)) {
		clients_snap_free(s);
		return YH_FAIL(YH_ERR_ALLOC, err, errsz, "out of memory");
	}
	s->hasher = r->opts.hasher;
	if ((rc = clients_snap_key(s, r->dir, false, err, errsz)) == 0)
		rc = load_doc(s, &(struct doc){ r->dir, s->state_path, false, &id->state,
		    r->opts.token_algs }, err, errsz);
	if (rc == 0 && s->apps_path != NULL)
		rc = load_doc(s, &(struct doc){ r->dir, s->apps_path, true, &id->apps,
		    r->opts.token_algs }, err, errsz);
	if (rc == 0)
		rc = sort_clients(s, err, errsz);
	if (rc == 0)
		rc = cas_distinct(s, err, errsz);
	if (rc == 0 && clients_snap_origins(s) != 0)
		rc = YH_FAIL(YH_ERR_ALLOC, err, errsz, "out of memory");
	if (rc != 0) {
		clients_snap_free(s);
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

	if ((s = clients_snap_new()) == NULL || (s->apps_path = strdup(path)) == NULL) {
		clients_snap_free(s);
		return YH_FAIL(YH_ERR_ALLOC, err, errsz, "out of memory");
	}
	if ((rc = load_doc(s, &(struct doc){ NULL, s->apps_path, true, &id, 0 }, err,
	    errsz)) == 0)
		rc = sort_clients(s, err, errsz);
	if (rc == 0)
		rc = cas_distinct(s, err, errsz);
	clients_snap_free(s);
	return rc;
}
