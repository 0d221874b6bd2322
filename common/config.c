#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/secmem.h"
#include "common/timeutil.h"

#define CFG_LINE_MAX 4096
#define CFG_FILE_MAX (1024 * 1024)

static void
seterr(struct yh_cfg_err *err, const char *where, const char *fmt, const char *a,
    const char *b)
{
	snprintf(err->where, sizeof(err->where), "%s", where);
	snprintf(err->msg, sizeof(err->msg), fmt, a, b);
}

/* True for the options whose value is a string (char *). */
static bool
is_str(const struct yh_cfg_opt *o)
{
	return o->type == YH_CFG_STR || o->type == YH_CFG_PATH || o->type == YH_CFG_ENUM;
}

const struct yh_cfg_opt *
yh_cfg_find(const struct yh_cfg_opt *opts, const char *name)
{
	for (; opts->name != NULL; opts++)
		if (strcmp(opts->name, name) == 0)
			return opts;
	return NULL;
}

/* The YH_CFG_FAMILY row whose prefix starts name, or NULL. */
static const struct yh_cfg_opt *
family_of(const struct yh_cfg_opt *opts, const char *name)
{
	for (; opts->name != NULL; opts++)
		if (opts->type == YH_CFG_FAMILY &&
		    strncmp(opts->name, name, strlen(opts->name)) == 0)
			return opts;
	return NULL;
}

bool
yh_cfg_int_ok(const struct yh_cfg_opt *o, int64_t v)
{
	return o != NULL && (o->type == YH_CFG_INT || o->type == YH_CFG_DURATION) &&
	    v >= o->min && v <= o->max;
}

/* True when value is one of o's choices. */
static bool
choice_ok(const struct yh_cfg_opt *o, const char *value)
{
	for (size_t i = 0; o->choices != NULL && o->choices[i] != NULL; i++)
		if (strcmp(o->choices[i], value) == 0)
			return true;
	return false;
}

bool
yh_cfg_str_ok(const struct yh_cfg_opt *o, const char *s)
{
	if (o == NULL || s == NULL || !is_str(o))
		return false;
	if (o->max > 0 && strnlen(s, (size_t)o->max + 1) > (size_t)o->max)
		return false;
	return o->type != YH_CFG_ENUM || choice_ok(o, s);
}

/* True when some option shares name's "section." prefix. A key without a dot belongs
 * to whichever program reads the whole file (authd), which checks it with `authd -t`. */
static bool
prefix_known(const struct yh_cfg_opt *opts, const char *name)
{
	const char *dot = strchr(name, '.');

	if (dot == NULL)
		return false;
	for (; opts->name != NULL; opts++)
		if (strncmp(opts->name, name, (size_t)(dot - name) + 1) == 0)
			return true;
	return false;
}

static void
free_str(const struct yh_cfg_opt *o, char **slot)
{
	if (*slot == NULL)
		return;
	if (o->flags & YH_CFG_SENSITIVE)
		yh_strfree_secret(*slot);
	else
		free(*slot);
	*slot = NULL;
}

char *
yh_cfg_path_resolve(const char *value, const char *file)
{
	const char *slash;
	struct yh_buf b;

	if (value[0] == '/' || file == NULL || (slash = strrchr(file, '/')) == NULL)
		return strdup(value);
	yh_buf_init(&b, CFG_LINE_MAX * 2);
	if (yh_buf_append(&b, file, (size_t)(slash - file) + 1) != 0 ||
	    yh_buf_puts(&b, value) != 0) {
		yh_buf_free(&b);
		return NULL;
	}
	return yh_buf_steal(&b);
}

static int
set_value(const struct yh_cfg_opt *o, void *base, const char *value, const char *where,
    const char *file, struct yh_cfg_err *err)
{
	char *slot_base = (char *)base + o->offset;
	int64_t iv;
	bool bv;
	char *s;

	switch (o->type) {
	case YH_CFG_STR:
	case YH_CFG_PATH:
	case YH_CFG_ENUM:
		if (value == NULL) {
			free_str(o, (char **)(void *)slot_base);
			return 0;
		}
		if (o->max > 0 && (int64_t)strlen(value) > o->max) {
			seterr(err, where, "%s: value too long", o->name, NULL);
			return YH_ERR_CONFIG;
		}
		if (o->type == YH_CFG_ENUM && !choice_ok(o, value)) {
			seterr(err, where, "%s: '%s' is not one of the allowed values", o->name,
			    value);
			return YH_ERR_CONFIG;
		}
		s = o->type == YH_CFG_PATH ? yh_cfg_path_resolve(value, file) : strdup(value);
		if (s == NULL) {
			seterr(err, where, "%s: out of memory", o->name, NULL);
			return YH_ERR_ALLOC;
		}
		free_str(o, (char **)(void *)slot_base);
		*(char **)(void *)slot_base = s;
		return 0;
	case YH_CFG_INT:
	case YH_CFG_DURATION:
		if (value == NULL ||
		    (o->type == YH_CFG_INT ? yh_parse_i64(value, o->min, o->max, &iv) :
		    yh_parse_duration(value, o->max, &iv)) != 0 || iv < o->min || iv > o->max) {
			char range[96];

			snprintf(range, sizeof(range), "%lld..%lld%s", (long long)o->min,
			    (long long)o->max, o->type == YH_CFG_DURATION ? " seconds" : "");
			seterr(err, where, "%s: expected a number in %s", o->name, range);
			return YH_ERR_CONFIG;
		}
		*(int64_t *)(void *)slot_base = iv;
		return 0;
	case YH_CFG_BOOL:
		if (value == NULL || yh_parse_bool(value, &bv) != 0) {
			seterr(err, where, "%s: expected yes or no", o->name, NULL);
			return YH_ERR_CONFIG;
		}
		*(bool *)(void *)slot_base = bv;
		return 0;
	case YH_CFG_FAMILY:
		if (value == NULL || strcmp(where, "default") == 0)
			return 0;
		seterr(err, where, "%s: set these keys in a file", o->name, NULL);
		return YH_ERR_CONFIG;
	}
	seterr(err, where, "%s: unknown option type", o->name, NULL);
	return YH_ERR_CONFIG;
}

int
yh_cfg_defaults(const struct yh_cfg_opt *opts, void *base, struct yh_cfg_err *err)
{
	int r;

	for (const struct yh_cfg_opt *o = opts; o->name != NULL; o++) {
		if (o->def == NULL && is_str(o)) {
			*(char **)(void *)((char *)base + o->offset) = NULL;
			continue;
		}
		if ((r = set_value(o, base, o->def, "default", NULL, err)) != 0)
			return r;
	}
	return 0;
}

int
yh_cfg_set_file(const struct yh_cfg_opt *opts, void *base, const char *name,
    const char *value, const char *file, const char *where, struct yh_cfg_err *err)
{
	const struct yh_cfg_opt *o = yh_cfg_find(opts, name);

	if (o == NULL) {
		seterr(err, where, "unknown option '%s'", name, NULL);
		return YH_ERR_CONFIG;
	}
	return set_value(o, base, value, where, file, err);
}

int
yh_cfg_set(const struct yh_cfg_opt *opts, void *base, const char *name, const char *value,
    const char *where, struct yh_cfg_err *err)
{
	return yh_cfg_set_file(opts, base, name, value, NULL, where, err);
}

/* Parses one line into key and value (both pointing into line). 1 = blank/comment. */
static int
split_line(char *line, char **key, char **value)
{
	char *eq, *end;
	size_t n;

	while (*line == ' ' || *line == '\t')
		line++;
	n = strlen(line);
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (n == 0 || line[0] == '#')
		return 1;
	if ((eq = strchr(line, '=')) == NULL)
		return YH_ERR_INVALID;
	end = eq;
	while (end > line && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*end = '\0';
	*key = line;
	eq++;
	while (*eq == ' ' || *eq == '\t')
		eq++;
	n = strlen(eq);
	if (n >= 2 && eq[0] == '"' && eq[n - 1] == '"') {
		eq[n - 1] = '\0';
		eq++;
	}
	*value = eq;
	return **key == '\0' ? YH_ERR_INVALID : 0;
}

/*
 * Reads the next line, its line feed included, into line (CFG_LINE_MAX + 2 bytes) with a
 * NUL after it; *n is its length, NUL bytes inside it counted (fgets cannot tell them
 * from its end, and would let the rest of such a line vanish). Returns 1, 0 at the end
 * of the file, or -1 when the line is longer than CFG_LINE_MAX bytes (*n: the bytes read
 * of it, CFG_LINE_MAX + 1).
 */
static int
read_line(FILE *f, char *line, size_t *n)
{
	int c = 0;

	*n = 0;
	while (*n <= CFG_LINE_MAX && (c = getc(f)) != EOF) {
		line[(*n)++] = (char)c;
		if (c == '\n')
			break;
	}
	line[*n] = '\0';
	if (*n > CFG_LINE_MAX)
		return -1;
	return *n > 0 ? 1 : 0;
}

int
yh_cfg_load_file(const struct yh_cfg_opt *opts, void *base, const char *path,
    unsigned flags, struct yh_cfg_err *err)
{
	char line[CFG_LINE_MAX + 2], where[300], *key, *value;
	const struct yh_cfg_opt *o;
	unsigned lineno = 0;
	size_t total = 0, nseen = 0, nopts = 0, n;
	const struct yh_cfg_opt **seen;
	FILE *f;
	int got, r = 0;

	for (o = opts; o->name != NULL; o++)
		nopts++;
	if ((f = fopen(path, "r")) == NULL) {
		seterr(err, path, "cannot read config file: %s", strerror(errno), NULL);
		return YH_ERR_IO;
	}
	if ((seen = calloc(nopts + 1, sizeof(*seen))) == NULL) {
		fclose(f);
		seterr(err, path, "out of memory", NULL, NULL);
		return YH_ERR_ALLOC;
	}
	while ((got = read_line(f, line, &n)) != 0) {
		int s;

		lineno++;
		snprintf(where, sizeof(where), "%s:%u", path, lineno);
		total += n;
		if (total > CFG_FILE_MAX) {
			seterr(err, where, "config file larger than %s bytes", "1048576", NULL);
			r = YH_ERR_CONFIG;
			break;
		}
		if (got < 0) {
			seterr(err, where, "line too long (max %s bytes)", "4096", NULL);
			r = YH_ERR_CONFIG;
			break;
		}
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (memchr(line, '\0', n) != NULL) {
			seterr(err, where, "NUL byte in line", NULL, NULL);
			r = YH_ERR_CONFIG;
			break;
		}
		if ((s = split_line(line, &key, &value)) == 1)
			continue;
		if (s != 0) {
			seterr(err, where, "expected 'key = value'", NULL, NULL);
			r = YH_ERR_CONFIG;
			break;
		}
		if ((o = yh_cfg_find(opts, key)) == NULL && (o = family_of(opts, key)) != NULL) {
			err->msg[0] = '\0';
			if (o->family != NULL &&
			    (r = o->family((char *)base + o->offset, key, value, path, lineno,
			    err)) != 0) {
				snprintf(err->where, sizeof(err->where), "%s", where);
				break;
			}
			continue;
		}
		if (o == NULL) {
			if ((flags & YH_CFG_PARTIAL) && !prefix_known(opts, key))
				continue;
			seterr(err, where, "unknown option '%s'", key, NULL);
			r = YH_ERR_CONFIG;
			break;
		}
		for (size_t i = 0; i < nseen; i++)
			if (seen[i] == o) {
				seterr(err, where, "option '%s' given twice", key, NULL);
				r = YH_ERR_CONFIG;
			}
		if (r != 0)
			break;
		seen[nseen++] = o;
		if ((r = set_value(o, base, value, where, path, err)) != 0)
			break;
	}
	if (r == 0 && ferror(f)) {
		seterr(err, path, "read error: %s", strerror(errno), NULL);
		r = YH_ERR_IO;
	}
	yh_wipe(line, sizeof(line));
	free(seen);
	fclose(f);
	return r;
}

void
yh_cfg_free(const struct yh_cfg_opt *opts, void *base)
{
	for (const struct yh_cfg_opt *o = opts; o->name != NULL; o++)
		if (is_str(o))
			free_str(o, (char **)(void *)((char *)base + o->offset));
}

static int64_t
int_at(const struct yh_cfg_opt *o, const void *base)
{
	return *(const int64_t *)(const void *)((const char *)base + o->offset);
}

static bool
bool_at(const struct yh_cfg_opt *o, const void *base)
{
	return *(const bool *)(const void *)((const char *)base + o->offset);
}

static const char *
str_at(const struct yh_cfg_opt *o, const void *base)
{
	return *(char *const *)(const void *)((const char *)base + o->offset);
}

void
yh_cfg_format(const struct yh_cfg_opt *o, const void *base, char *out, size_t outsz)
{
	const char *s;

	if (o->type == YH_CFG_INT || o->type == YH_CFG_DURATION) {
		snprintf(out, outsz, "%lld", (long long)int_at(o, base));
		return;
	}
	if (o->type == YH_CFG_BOOL) {
		snprintf(out, outsz, "%s", bool_at(o, base) ? "yes" : "no");
		return;
	}
	if (o->type == YH_CFG_FAMILY) {
		snprintf(out, outsz, "%s", "");
		return;
	}
	s = str_at(o, base);
	if (s != NULL && (o->flags & YH_CFG_SENSITIVE))
		s = "(set)";
	snprintf(out, outsz, "%s", s != NULL ? s : "");
}

int
yh_cfg_dump(const struct yh_cfg_opt *opts, const void *base, struct yh_buf *out)
{
	char *v;
	int r = 0;

	/* The longest value a string option holds, with its NUL. */
	if ((v = malloc(CFG_LINE_MAX * 2)) == NULL)
		return YH_ERR_ALLOC;
	for (const struct yh_cfg_opt *o = opts; o->name != NULL && r == 0; o++) {
		if (o->type == YH_CFG_FAMILY)
			continue;
		yh_cfg_format(o, base, v, CFG_LINE_MAX * 2);
		r = yh_buf_printf(out, "%s = %s\n", o->name, v);
	}
	yh_wipe(v, CFG_LINE_MAX * 2);
	free(v);
	return r;
}

static bool
value_equal(const struct yh_cfg_opt *o, const void *a, const void *b)
{
	const char *x, *y;

	if (o->type == YH_CFG_FAMILY)
		return true;
	if (o->type == YH_CFG_INT || o->type == YH_CFG_DURATION)
		return int_at(o, a) == int_at(o, b);
	if (o->type == YH_CFG_BOOL)
		return bool_at(o, a) == bool_at(o, b);
	x = str_at(o, a);
	y = str_at(o, b);
	return x == NULL || y == NULL ? x == y : strcmp(x, y) == 0;
}

/* Copies o's value from src into dst (a string duplicated, dst's old one freed). */
static int
value_copy(const struct yh_cfg_opt *o, void *dst, const void *src)
{
	char *slot = (char *)dst + o->offset, *dup = NULL;
	const char *s;

	if (o->type == YH_CFG_FAMILY)
		return 0;
	if (o->type == YH_CFG_INT || o->type == YH_CFG_DURATION) {
		*(int64_t *)(void *)slot = int_at(o, src);
		return 0;
	}
	if (o->type == YH_CFG_BOOL) {
		*(bool *)(void *)slot = bool_at(o, src);
		return 0;
	}
	if ((s = str_at(o, src)) != NULL && (dup = strdup(s)) == NULL)
		return YH_ERR_ALLOC;
	free_str(o, (char **)(void *)slot);
	*(char **)(void *)slot = dup;
	return 0;
}

/* Every option is exactly one of IMMUTABLE and RELOADABLE; only the latter has hooks. */
static int
reload_table_check(const struct yh_cfg_opt *opts, size_t *n, struct yh_cfg_err *err)
{
	const unsigned kinds = YH_CFG_IMMUTABLE | YH_CFG_RELOADABLE;

	*n = 0;
	for (const struct yh_cfg_opt *o = opts; o->name != NULL; o++, (*n)++) {
		if ((o->flags & kinds) == 0 || (o->flags & kinds) == kinds) {
			seterr(err, "option table", "%s: not exactly one of IMMUTABLE and "
			    "RELOADABLE", o->name, NULL);
			return YH_ERR_CONFIG;
		}
		if ((o->flags & YH_CFG_IMMUTABLE) && o->apply != NULL) {
			seterr(err, "option table", "%s: an IMMUTABLE option with an apply hook",
			    o->name, NULL);
			return YH_ERR_CONFIG;
		}
	}
	return 0;
}

/* True when one of the n options in hooks has the hook fn. */
static bool
hook_listed(const struct yh_cfg_opt *const *hooks, size_t n, yh_cfg_apply_fn fn)
{
	for (size_t i = 0; i < n; i++)
		if (hooks[i]->apply == fn)
			return true;
	return false;
}

/* Runs the n hooks of hooks; when one fails, undoes those before it. */
static int
run_hooks(const struct yh_cfg_opt *const *hooks, size_t n, const void *cur, void *next,
    struct yh_cfg_reload *rl, struct yh_cfg_err *err)
{
	char msg[256];
	int r;

	for (size_t i = 0; i < n; i++) {
		msg[0] = '\0';
		if ((r = hooks[i]->apply(rl->ctx, cur, next, msg, sizeof(msg))) == 0)
			continue;
		seterr(err, hooks[i]->name, "%s", msg[0] != '\0' ? msg : yh_strerror(r), NULL);
		while (i-- > 0)
			(void)hooks[i]->apply(rl->ctx, next, cur, msg, sizeof(msg));
		return r;
	}
	return 0;
}

int
yh_cfg_reload(const struct yh_cfg_opt *opts, const void *cur, void *next,
    struct yh_cfg_reload *rl, struct yh_cfg_err *err)
{
	const struct yh_cfg_opt **hooks = NULL;
	size_t n, nhooks = 0, i;
	bool *changed = NULL;
	int r;

	rl->applied = rl->restart = 0;
	if ((r = reload_table_check(opts, &n, err)) != 0)
		return r;
	if ((changed = calloc(n + 1, sizeof(*changed))) == NULL ||
	    (hooks = calloc(n + 1, sizeof(*hooks))) == NULL) {
		seterr(err, "reload", "out of memory", NULL, NULL);
		r = YH_ERR_ALLOC;
		goto out;
	}
	for (i = 0; i < n; i++)
		changed[i] = !value_equal(&opts[i], cur, next);
	/* What waits for a restart: noted, and next gets the value in force back. */
	for (i = 0; i < n; i++) {
		if (!changed[i] || !(opts[i].flags & YH_CFG_IMMUTABLE))
			continue;
		if (rl->note != NULL)
			rl->note(rl->note_arg, &opts[i], false, cur, next);
		if ((r = value_copy(&opts[i], next, cur)) != 0) {
			seterr(err, "reload", "out of memory", NULL, NULL);
			goto out;
		}
		rl->restart++;
	}
	for (i = 0; i < n; i++)
		if (changed[i] && opts[i].apply != NULL &&
		    !hook_listed(hooks, nhooks, opts[i].apply))
			hooks[nhooks++] = &opts[i];
	if ((r = run_hooks(hooks, nhooks, cur, next, rl, err)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (!changed[i] || !(opts[i].flags & YH_CFG_RELOADABLE))
			continue;
		if (rl->note != NULL)
			rl->note(rl->note_arg, &opts[i], true, cur, next);
		rl->applied++;
	}
out:
	free(hooks);
	free(changed);
	return r;
}

void
yh_cfg_err_format(const struct yh_cfg_err *err, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s: %s", err->where, err->msg);
}
