/*
 * The idmerge sources file: which legacy exports to read, in which format and encoding,
 * and which of their columns hold which logical field. Everything is checked here, so
 * that a mistake is one message naming the file, the source and the problem before any
 * record is read.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>

#include "common/buf.h"
#include "migration-tools/idmerge/input/encoding.h"
#include "migration-tools/idmerge/input/reader.h"

#define SOURCES_FILE_MAX (1024 * 1024)
#define SOURCES_MAX 1000
#define NAME_MAX_LEN 64
#define COLUMN_MAX_LEN 256
#define TRUST_LIMIT 1000000

static const char *const field_names[MIG_F_COUNT] = {
	[MIG_F_LEGACY_ID] = "legacy_id",
	[MIG_F_NAME] = "name",
	[MIG_F_ID_NUMBER] = "id_number",
	[MIG_F_PHONE] = "phone",
	[MIG_F_EMAIL] = "email",
	[MIG_F_USERNAME] = "username",
	[MIG_F_PASSWORD_HASH] = "password_hash",
	[MIG_F_PASSWORD_SALT] = "password_salt",
	[MIG_F_STATUS] = "status",
	[MIG_F_LAST_LOGIN] = "last_login",
	[MIG_F_ORG_NAME] = "org_name",
	[MIG_F_USCC] = "uscc",
	[MIG_F_ORG_CODE] = "org_code",
	[MIG_F_LEGAL_REP_ID_NUMBER] = "legal_rep_id_number",
};

/* Which kinds of source a field applies to: cleanse.c reads name and id_number only for
 * persons, the organization fields only for organizations, the rest for both. */
#define KIND_PERSON (1u << MIG_KIND_PERSON)
#define KIND_ORG (1u << MIG_KIND_ORG)
static const unsigned field_kinds[MIG_F_COUNT] = {
	[MIG_F_LEGACY_ID] = KIND_PERSON | KIND_ORG,
	[MIG_F_NAME] = KIND_PERSON,
	[MIG_F_ID_NUMBER] = KIND_PERSON,
	[MIG_F_PHONE] = KIND_PERSON | KIND_ORG,
	[MIG_F_EMAIL] = KIND_PERSON | KIND_ORG,
	[MIG_F_USERNAME] = KIND_PERSON | KIND_ORG,
	[MIG_F_PASSWORD_HASH] = KIND_PERSON | KIND_ORG,
	[MIG_F_PASSWORD_SALT] = KIND_PERSON | KIND_ORG,
	[MIG_F_STATUS] = KIND_PERSON | KIND_ORG,
	[MIG_F_LAST_LOGIN] = KIND_PERSON | KIND_ORG,
	[MIG_F_ORG_NAME] = KIND_ORG,
	[MIG_F_USCC] = KIND_ORG,
	[MIG_F_ORG_CODE] = KIND_ORG,
	[MIG_F_LEGAL_REP_ID_NUMBER] = KIND_ORG,
};

/* The legacy password schemes identity/passwd understands. */
static const char *const schemes[] = {
	"argon2id", "md5-hex", "sha1-hex", "sha256-hex", "md5-salt", "sha1-salt",
	"sha256-salt", "md5-saltfirst", "sha1-saltfirst", "sha256-saltfirst",
	"pbkdf2-sha256", "crypt", "plain",
};

static const char *const statuses[] = { "active", "disabled", "locked", "deregistered" };

static const char *const source_keys[] = {
	"name", "file", "format", "encoding", "delimiter", "kind", "trust", "fields",
	"password_scheme", "status_map",
};

const char *
mig_field_name(enum mig_field f)
{
	if ((unsigned)f >= MIG_F_COUNT)
		return "?";
	return field_names[f];
}

int
mig_field_parse(const char *name, enum mig_field *out)
{
	for (int f = 0; f < MIG_F_COUNT; f++) {
		if (strcmp(name, field_names[f]) == 0) {
			*out = (enum mig_field)f;
			return 0;
		}
	}
	return YH_ERR_NOT_FOUND;
}

static bool
in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

#define IN_LIST(s, list) in_list((s), (list), sizeof(list) / sizeof((list)[0]))

/* Context for messages: "<file>: source "<name>": <problem>". */
struct load_ctx {
	const char *file;
	char *err;
	size_t errsz;
	size_t idx;              /* 1-based source number */
	const char *name;        /* the source's name once known */
};

static int __attribute__((format(printf, 2, 3)))
fail(struct load_ctx *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->name != NULL)
		snprintf(c->err, c->errsz, "%s: source \"%s\": %s", c->file, c->name, msg);
	else if (c->idx > 0)
		snprintf(c->err, c->errsz, "%s: source #%zu: %s", c->file, c->idx, msg);
	else
		snprintf(c->err, c->errsz, "%s: %s", c->file, msg);
	return YH_ERR_CONFIG;
}

/* Reads the whole file, refusing more than SOURCES_FILE_MAX bytes. */
static int
read_capped(const char *path, struct yh_buf *b, char *err, size_t errsz)
{
	char chunk[16384];
	ssize_t n;
	int fd, rc = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return YH_ERR_IO;
	}
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errsz, "%s: %s", path, strerror(errno));
			rc = YH_ERR_IO;
			break;
		}
		if (n == 0)
			break;
		if ((rc = yh_buf_append(b, chunk, (size_t)n)) != 0) {
			snprintf(err, errsz, "%s: %s", path, rc == YH_ERR_TOO_LONG ?
			    "sources file larger than 1 MiB" : "out of memory");
			rc = rc == YH_ERR_TOO_LONG ? YH_ERR_CONFIG : rc;
			break;
		}
	}
	close(fd);
	return rc;
}

/* A string member: NULL when absent; an error when present but not a non-empty string
 * of at most max bytes without control characters. */
static int
get_string(struct load_ctx *c, json_t *obj, const char *key, size_t max, const char **out)
{
	json_t *v = json_object_get(obj, key);
	const char *s;

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return fail(c, "\"%s\" must be a string", key);
	s = json_string_value(v);
	if (s[0] == '\0')
		return fail(c, "\"%s\" is empty", key);
	if (json_string_length(v) > max)
		return fail(c, "\"%s\" is longer than %zu bytes", key, max);
	for (const char *p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7F)
			return fail(c, "\"%s\" holds a control character", key);
	*out = s;
	return 0;
}

static int
oom(struct load_ctx *c)
{
	snprintf(c->err, c->errsz, "%s: out of memory", c->file);
	return YH_ERR_ALLOC;
}

static int
dup_into(struct load_ctx *c, const char *s, char **out)
{
	if ((*out = strdup(s)) == NULL)
		return oom(c);
	return 0;
}

/* Resolves a file named in the sources file against that file's directory. */
static int
resolve_path(struct load_ctx *c, const char *file, char **out)
{
	const char *slash = strrchr(c->file, '/');
	struct yh_buf b;
	int rc;

	*out = NULL;
	if (file[0] == '/' || slash == NULL)
		return dup_into(c, file, out);
	yh_buf_init(&b, 8192);
	if ((rc = yh_buf_append(&b, c->file, (size_t)(slash - c->file) + 1)) != 0 ||
	    (rc = yh_buf_puts(&b, file)) != 0) {
		yh_buf_free(&b);
		return fail(c, "path of \"file\" too long");
	}
	if ((*out = yh_buf_steal(&b)) == NULL)
		rc = YH_ERR_ALLOC;
	yh_buf_free(&b);
	return rc;
}

static int
parse_file(struct load_ctx *c, json_t *o, struct mig_source *s)
{
	const char *file;
	struct stat st;
	int rc;

	if ((rc = get_string(c, o, "file", 4096, &file)) != 0)
		return rc;
	if (file == NULL)
		return fail(c, "missing \"file\"");
	if ((rc = resolve_path(c, file, &s->path)) != 0)
		return rc;
	if (stat(s->path, &st) != 0)
		return fail(c, "file %s: %s", s->path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(c, "file %s is not a regular file", s->path);
	if (access(s->path, R_OK) != 0)
		return fail(c, "file %s: %s", s->path, strerror(errno));
	return 0;
}

static int
parse_format(struct load_ctx *c, json_t *o, struct mig_source *s)
{
	const char *v, *enc;
	enum mig_enc e = MIG_ENC_UTF8;
	int rc;

	if ((rc = get_string(c, o, "format", 16, &v)) != 0)
		return rc;
	if (v == NULL)
		return fail(c, "missing \"format\" (csv, jsonl or ldif)");
	if (strcmp(v, "csv") == 0)
		s->format = MIG_FMT_CSV;
	else if (strcmp(v, "jsonl") == 0)
		s->format = MIG_FMT_JSONL;
	else if (strcmp(v, "ldif") == 0)
		s->format = MIG_FMT_LDIF;
	else
		return fail(c, "unknown format \"%s\" (csv, jsonl or ldif)", v);
	if ((rc = get_string(c, o, "encoding", 32, &enc)) != 0)
		return rc;
	if (enc != NULL && mig_enc_parse(enc, &e) != 0)
		return fail(c, "unknown encoding \"%s\" (UTF-8, GBK or GB18030)", enc);
	return dup_into(c, mig_enc_name(e), &s->encoding);
}

static int
parse_delimiter(struct load_ctx *c, json_t *o, struct mig_source *s)
{
	json_t *v = json_object_get(o, "delimiter");
	const char *d;

	s->delimiter = ',';
	if (v == NULL)
		return 0;
	if (s->format != MIG_FMT_CSV)
		return fail(c, "\"delimiter\" applies only to the csv format");
	if (!json_is_string(v) || json_string_length(v) != 1)
		return fail(c, "\"delimiter\" must be exactly one byte");
	d = json_string_value(v);
	if ((unsigned char)d[0] >= 0x80 || d[0] == '"' || d[0] == '\r' || d[0] == '\n')
		return fail(c, "\"delimiter\" must be one ASCII byte other than a quote or "
		    "a line break");
	s->delimiter = d[0];
	return 0;
}

static int
parse_kind_trust(struct load_ctx *c, json_t *o, struct mig_source *s)
{
	json_t *t = json_object_get(o, "trust");
	const char *k;
	int rc;

	if ((rc = get_string(c, o, "kind", 16, &k)) != 0)
		return rc;
	if (k == NULL)
		return fail(c, "missing \"kind\" (person or org)");
	if (strcmp(k, "person") == 0)
		s->kind = MIG_KIND_PERSON;
	else if (strcmp(k, "org") == 0)
		s->kind = MIG_KIND_ORG;
	else
		return fail(c, "unknown kind \"%s\" (person or org)", k);
	s->trust = 0;
	if (t == NULL)
		return 0;
	if (!json_is_integer(t) || json_integer_value(t) < -TRUST_LIMIT ||
	    json_integer_value(t) > TRUST_LIMIT)
		return fail(c, "\"trust\" must be an integer between %d and %d", -TRUST_LIMIT,
		    TRUST_LIMIT);
	s->trust = (int)json_integer_value(t);
	return 0;
}

static int
parse_fields(struct load_ctx *c, json_t *o, struct mig_source *s)
{
	json_t *fields = json_object_get(o, "fields"), *v;
	const char *key;
	enum mig_field f;
	int rc;

	if (fields == NULL)
		return fail(c, "missing \"fields\"");
	if (!json_is_object(fields))
		return fail(c, "\"fields\" must be an object");
	if (json_object_size(fields) == 0)
		return fail(c, "\"fields\" maps no field");
	json_object_foreach(fields, key, v) {
		if (mig_field_parse(key, &f) != 0)
			return fail(c, "unknown field \"%s\" in \"fields\"", key);
		if ((field_kinds[f] & (1u << s->kind)) == 0)
			return fail(c, "field \"%s\" does not apply to %s source (it is for %s "
			    "sources)", key, s->kind == MIG_KIND_ORG ? "an org" : "a person",
			    s->kind == MIG_KIND_ORG ? "person" : "org");
		if (!json_is_string(v) || json_string_value(v)[0] == '\0')
			return fail(c, "field \"%s\" must name a column (a non-empty string)", key);
		if (json_string_length(v) > COLUMN_MAX_LEN)
			return fail(c, "column of field \"%s\" is longer than %d bytes", key,
			    COLUMN_MAX_LEN);
		if ((rc = dup_into(c, json_string_value(v), &s->columns[f])) != 0)
			return rc;
	}
	return 0;
}

static int
parse_scheme(struct load_ctx *c, json_t *o, struct mig_source *s)
{
	const char *v;
	int rc;

	if ((rc = get_string(c, o, "password_scheme", 32, &v)) != 0)
		return rc;
	if (v == NULL) {
		if (s->columns[MIG_F_PASSWORD_HASH] != NULL)
			return fail(c, "\"fields\" maps password_hash but \"password_scheme\" "
			    "is missing");
		return 0;
	}
	if (!IN_LIST(v, schemes))
		return fail(c, "unknown password_scheme \"%s\"", v);
	return dup_into(c, v, &s->password_scheme);
}

static int
parse_status_map(struct load_ctx *c, json_t *o, struct mig_source *s)
{
	json_t *m = json_object_get(o, "status_map"), *v;
	const char *key;
	size_t i = 0;
	int rc;

	if (m == NULL)
		return 0;
	if (!json_is_object(m))
		return fail(c, "\"status_map\" must be an object");
	if (json_object_size(m) > 0 &&
	    (s->status_map = calloc(json_object_size(m), sizeof(*s->status_map))) == NULL)
		return oom(c);
	json_object_foreach(m, key, v) {
		if (!json_is_string(v) || !IN_LIST(json_string_value(v), statuses))
			return fail(c, "status_map value for \"%s\" must be active, disabled, "
			    "locked or deregistered", key);
		if (strlen(key) > COLUMN_MAX_LEN)
			return fail(c, "status_map key longer than %d bytes", COLUMN_MAX_LEN);
		s->n_status_map = i + 1;
		if ((rc = dup_into(c, key, &s->status_map[i].from)) != 0 ||
		    (rc = dup_into(c, json_string_value(v), &s->status_map[i].to)) != 0)
			return rc;
		i++;
	}
	return 0;
}

static int
check_keys(struct load_ctx *c, json_t *o)
{
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v) {
		/* Keys starting with '_' are the operator's comments. */
		if (key[0] != '_' && !IN_LIST(key, source_keys))
			return fail(c, "unknown key \"%s\"", key);
	}
	return 0;
}

/* Parses entry idx of the array into all->v[idx]; entries before it are complete. */
static int
parse_source(struct load_ctx *c, json_t *o, struct mig_sources *all, size_t idx)
{
	struct mig_source *s = &all->v[idx];
	const char *name;
	int rc;

	if (!json_is_object(o))
		return fail(c, "must be an object");
	if ((rc = get_string(c, o, "name", NAME_MAX_LEN, &name)) != 0)
		return rc;
	if (name == NULL)
		return fail(c, "missing \"name\"");
	for (size_t i = 0; i < idx; i++)
		if (strcmp(all->v[i].name, name) == 0)
			return fail(c, "duplicate source name \"%s\"", name);
	c->name = name;
	if ((rc = dup_into(c, name, &s->name)) != 0)
		return rc;
	if ((rc = check_keys(c, o)) != 0 ||
	    (rc = parse_format(c, o, s)) != 0 ||
	    (rc = parse_delimiter(c, o, s)) != 0 ||
	    (rc = parse_kind_trust(c, o, s)) != 0 ||
	    (rc = parse_fields(c, o, s)) != 0 ||
	    (rc = parse_scheme(c, o, s)) != 0 ||
	    (rc = parse_status_map(c, o, s)) != 0 ||
	    (rc = parse_file(c, o, s)) != 0)
		return rc;
	return 0;
}

static int
parse_root(struct load_ctx *c, json_t *root, struct mig_sources *all)
{
	json_t *arr, *v;
	const char *key;
	size_t i;
	int rc;

	if (!json_is_object(root))
		return fail(c, "must be a JSON object {\"sources\": [...]}");
	json_object_foreach(root, key, v) {
		if (key[0] != '_' && strcmp(key, "sources") != 0)
			return fail(c, "unknown key \"%s\"", key);
	}
	arr = json_object_get(root, "sources");
	if (!json_is_array(arr))
		return fail(c, "missing \"sources\" array");
	if (json_array_size(arr) == 0)
		return fail(c, "\"sources\" is empty");
	if (json_array_size(arr) > SOURCES_MAX)
		return fail(c, "more than %d sources", SOURCES_MAX);
	if ((all->v = calloc(json_array_size(arr), sizeof(*all->v))) == NULL)
		return oom(c);
	json_array_foreach(arr, i, v) {
		c->idx = i + 1;
		c->name = NULL;
		/* Counted first so that mig_sources_free frees a half-filled entry. */
		all->n = i + 1;
		if ((rc = parse_source(c, v, all, i)) != 0)
			return rc;
	}
	return 0;
}

int
mig_sources_load(const char *path, struct mig_sources **out, char *err, size_t errsz)
{
	struct mig_sources *all = NULL;
	struct load_ctx c = { .file = path, .err = err, .errsz = errsz };
	struct yh_buf b;
	json_error_t je;
	json_t *root = NULL;
	int rc;

	*out = NULL;
	if (errsz > 0)
		err[0] = '\0';
	yh_buf_init(&b, SOURCES_FILE_MAX);
	if ((rc = read_capped(path, &b, err, errsz)) != 0)
		goto out;
	root = json_loadb(b.data != NULL ? b.data : "", b.len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		snprintf(err, errsz, "%s:%d:%d: malformed sources file: %s", path, je.line,
		    je.column, je.text);
		rc = YH_ERR_CONFIG;
		goto out;
	}
	if ((all = calloc(1, sizeof(*all))) == NULL) {
		rc = oom(&c);
		goto out;
	}
	if ((rc = dup_into(&c, path, &all->path)) != 0 || (rc = parse_root(&c, root, all)) != 0)
		goto out;
	*out = all;
	all = NULL;
out:
	json_decref(root);
	yh_buf_free(&b);
	mig_sources_free(all);
	return rc;
}

void
mig_sources_free(struct mig_sources *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++) {
		struct mig_source *src = &s->v[i];

		free(src->name);
		free(src->path);
		free(src->encoding);
		free(src->password_scheme);
		for (int f = 0; f < MIG_F_COUNT; f++)
			free(src->columns[f]);
		for (size_t j = 0; j < src->n_status_map; j++) {
			free(src->status_map[j].from);
			free(src->status_map[j].to);
		}
		free(src->status_map);
	}
	free(s->v);
	free(s->path);
	free(s);
}
