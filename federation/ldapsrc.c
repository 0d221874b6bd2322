/*
 * Department LDAP login sources (ldapsrc.h): the ldap_source.NAME.* blocks and the
 * search-then-bind login through libldap.
 */
#define LDAP_DEPRECATED 0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <ldap.h>

#include "federation/ldapsrc.h"
#include "identity/dir/ldap_io.h"
#include "common/secmem.h"

#define OFF(f) offsetof(struct fed_ldap_src, f)

static const struct yh_cfg_opt src_opts[] = {
	{ .name = "uri", .type = YH_CFG_STR, .max = 2048, .offset = OFF(uri),
	  .flags = YH_CFG_RELOADABLE, .help = "ldap:// or ldaps:// URIs, blank-separated" },
	{ .name = "bind_dn", .type = YH_CFG_STR, .max = 1024, .offset = OFF(bind_dn),
	  .flags = YH_CFG_RELOADABLE, .help = "the search account's DN; unset: anonymous" },
	{ .name = "bind_password", .type = YH_CFG_STR, .max = 256, .offset = OFF(bind_password),
	  .flags = YH_CFG_RELOADABLE | YH_CFG_SENSITIVE, .help = "the search account's password" },
	{ .name = "base", .type = YH_CFG_STR, .max = 1024, .offset = OFF(base),
	  .flags = YH_CFG_RELOADABLE, .help = "the search base" },
	{ .name = "filter", .type = YH_CFG_STR, .def = "(uid={user})", .max = 1024,
	  .offset = OFF(filter), .flags = YH_CFG_RELOADABLE,
	  .help = "the search filter; {user} is the typed name, escaped" },
	{ .name = "attr_id_number", .type = YH_CFG_STR, .def = "employeeNumber", .max = 64,
	  .offset = OFF(attr_id_number), .flags = YH_CFG_RELOADABLE,
	  .help = "the attribute holding the resident ID number" },
	{ .name = "attr_name", .type = YH_CFG_STR, .def = "cn", .max = 64,
	  .offset = OFF(attr_name), .flags = YH_CFG_RELOADABLE, .help = "the name" },
	{ .name = "attr_unit", .type = YH_CFG_STR, .def = "ou", .max = 64,
	  .offset = OFF(attr_unit), .flags = YH_CFG_RELOADABLE, .help = "the unit (科室)" },
	{ .name = "attr_role", .type = YH_CFG_STR, .max = 64, .offset = OFF(attr_role),
	  .flags = YH_CFG_RELOADABLE, .help = "the position (职务); unset: none" },
	{ .name = "starttls", .type = YH_CFG_BOOL, .def = "no", .offset = OFF(starttls),
	  .flags = YH_CFG_RELOADABLE, .help = "StartTLS on ldap:// URIs" },
	{ .name = "ca_file", .type = YH_CFG_PATH, .max = 4096, .offset = OFF(ca_file),
	  .flags = YH_CFG_RELOADABLE, .help = "CA certificates for ldaps:// and StartTLS" },
	{ .name = "network_timeout", .type = YH_CFG_DURATION, .def = "3s", .min = 1, .max = 60,
	  .offset = OFF(network_timeout), .flags = YH_CFG_RELOADABLE,
	  .help = "connect time limit per URI" },
	{ .name = "timeout", .type = YH_CFG_DURATION, .def = "5s", .min = 1, .max = 60,
	  .offset = OFF(timeout), .flags = YH_CFG_RELOADABLE,
	  .help = "time limit of each search and bind" },
	{ .name = "org", .type = YH_CFG_STR, .max = 18, .offset = OFF(org),
	  .flags = YH_CFG_RELOADABLE, .help = "the agency's unified social credit code" },
	{ .name = "unit", .type = YH_CFG_STR, .max = 128, .offset = OFF(unit),
	  .flags = YH_CFG_RELOADABLE, .help = "the unit when the entry has none" },
	{ .name = "loa", .type = YH_CFG_INT, .def = "2", .min = 1, .max = 2, .offset = OFF(loa),
	  .flags = YH_CFG_RELOADABLE, .help = "the highest LoA of a login through this source" },
	{ .name = NULL },
};

_Static_assert(sizeof(src_opts) / sizeof(src_opts[0]) - 1 <= FED_LDAP_NOPTS,
    "where[] holds every option");

static bool
set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

static bool
name_ok(const char *s, size_t n)
{
	if (n == 0 || n > FED_LDAP_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '-'))
			return false;
	}
	return true;
}

const struct fed_ldap_src *
fed_ldap_find(const struct fed_ldap_cfg *c, const char *name, size_t len)
{
	for (size_t i = 0; c != NULL && i < c->n; i++)
		if (strlen(c->src[i].name) == len && strncasecmp(c->src[i].name, name, len) == 0)
			return &c->src[i];
	return NULL;
}

/* The block called name (n bytes; case does not matter, as for a login's NAME), made
 * with the defaults when new. */
static int
block_get(struct fed_ldap_cfg *c, const char *name, size_t n, const char *where,
    struct yh_cfg_err *err, struct fed_ldap_src **out)
{
	struct fed_ldap_src *a;

	for (size_t i = 0; i < c->n; i++)
		if (strlen(c->src[i].name) == n && strncasecmp(c->src[i].name, name, n) == 0) {
			*out = &c->src[i];
			return 0;
		}
	if (c->n >= FED_LDAP_SOURCES_MAX) {
		snprintf(err->where, sizeof(err->where), "%s", where);
		snprintf(err->msg, sizeof(err->msg), "more than %d ldap_source blocks",
		    FED_LDAP_SOURCES_MAX);
		return YH_ERR_CONFIG;
	}
	if ((a = realloc(c->src, (c->n + 1) * sizeof(*a))) == NULL) {
		snprintf(err->where, sizeof(err->where), "%s", where);
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return YH_ERR_ALLOC;
	}
	c->src = a;
	memset(&a[c->n], 0, sizeof(a[c->n]));
	memcpy(a[c->n].name, name, n);
	if (yh_cfg_defaults(src_opts, &a[c->n], err) != 0)
		return YH_ERR_CONFIG;
	*out = &a[c->n++];
	return 0;
}

int
fed_ldap_cfg_line(void *slot, const char *fullkey, const char *value, const char *file,
    unsigned lineno, struct yh_cfg_err *err)
{
	struct fed_ldap_cfg *c = slot;
	const char *key = fullkey + strlen(FED_LDAP_PREFIX);
	const char *dot = strchr(key, '.');
	char where[sizeof(err->where)];
	const struct yh_cfg_opt *o;
	struct fed_ldap_src *s;
	size_t k;
	int r;

	snprintf(where, sizeof(where), "%s:%u", file, lineno);
	if (dot == NULL || !name_ok(key, (size_t)(dot - key)) ||
	    (o = yh_cfg_find(src_opts, dot + 1)) == NULL) {
		snprintf(err->where, sizeof(err->where), "%s", where);
		snprintf(err->msg, sizeof(err->msg), "unknown option '%s%.200s' (ldap_source.NAME."
		    "OPTION, NAME of letters, digits, _ and -)", FED_LDAP_PREFIX, key);
		return YH_ERR_CONFIG;
	}
	if ((r = block_get(c, key, (size_t)(dot - key), where, err, &s)) != 0)
		return r;
	k = (size_t)(o - src_opts);
	if (s->where[k][0] != '\0') {
		snprintf(err->where, sizeof(err->where), "%s", where);
		snprintf(err->msg, sizeof(err->msg), "option '%s%.200s' given twice",
		    FED_LDAP_PREFIX, key);
		return YH_ERR_CONFIG;
	}
	if ((r = yh_cfg_set(src_opts, s, o->name, value, where, err)) != 0) {
		/* The table names the option alone: name the whole key. */
		char msg[sizeof(err->msg)];
		size_t on = strlen(o->name);
		const char *m = err->msg;

		if (strncmp(m, o->name, on) == 0 && m[on] == ':' && m[on + 1] == ' ')
			m += on + 2;
		snprintf(msg, sizeof(msg), "%s", m);
		snprintf(err->msg, sizeof(err->msg), "%s%.100s: %.200s", FED_LDAP_PREFIX, key, msg);
		return r;
	}
	snprintf(s->where[k], sizeof(s->where[k]), "%s", where);
	return 0;
}

/* "where: ldap_source.NAME.opt: why" for option opt of s. */
static int
bad(const struct fed_ldap_src *s, const char *opt, char *err, size_t errsz, const char *why)
{
	const struct yh_cfg_opt *o = yh_cfg_find(src_opts, opt);
	const char *w = s->where[o - src_opts];
	size_t k;

	/* An option never set: point at the block's first line. */
	for (k = 0; w[0] == '\0' && k < FED_LDAP_NOPTS; k++)
		if (s->where[k][0] != '\0')
			w = s->where[k];
	snprintf(err, errsz, "%s: %s%s.%s: %s", w, FED_LDAP_PREFIX, s->name, opt, why);
	return YH_ERR_CONFIG;
}

static int
check_uris(const struct fed_ldap_src *s, char *err, size_t errsz)
{
	const char *p = s->uri;
	size_t n;

	if (!set(p))
		return bad(s, "uri", err, errsz, "is required");
	while (*p != '\0') {
		while (*p == ' ' || *p == '\t')
			p++;
		n = strcspn(p, " \t");
		if (n == 0)
			break;
		if (!((n > 7 && strncmp(p, "ldap://", 7) == 0) ||
		    (n > 8 && strncmp(p, "ldaps://", 8) == 0)))
			return bad(s, "uri", err, errsz, "each URI must start with ldap:// or "
			    "ldaps:// and name a host");
		if (s->starttls && strncmp(p, "ldaps://", 8) == 0)
			return bad(s, "starttls", err, errsz, "is for ldap:// URIs: ldaps:// is TLS "
			    "already");
		p += n;
	}
	return 0;
}

static int
check_one(const struct fed_ldap_src *s, char *err, size_t errsz)
{
	const char *ph;
	int r;

	if ((r = check_uris(s, err, errsz)) != 0)
		return r;
	if (!set(s->base))
		return bad(s, "base", err, errsz, "is required");
	if (set(s->bind_dn) != set(s->bind_password))
		return bad(s, set(s->bind_dn) ? "bind_password" : "bind_dn", err, errsz,
		    "bind_dn and bind_password go together (neither: an anonymous search)");
	if ((ph = strstr(s->filter, "{user}")) == NULL || strstr(ph + 1, "{user}") != NULL)
		return bad(s, "filter", err, errsz, "must hold {user} exactly once");
	if (s->filter[0] != '(' || s->filter[strlen(s->filter) - 1] != ')')
		return bad(s, "filter", err, errsz, "must be a parenthesized RFC 4515 filter");
	if (!set(s->attr_id_number))
		return bad(s, "attr_id_number", err, errsz, "is required");
	if (!set(s->org) || strlen(s->org) != 18)
		return bad(s, "org", err, errsz, "is required: the 18-character unified social "
		    "credit code of the agency whose staff log in here");
	if (set(s->ca_file) && access(s->ca_file, R_OK) != 0) {
		char why[400];

		snprintf(why, sizeof(why), "%s: %s", s->ca_file, strerror(errno));
		return bad(s, "ca_file", err, errsz, why);
	}
	return 0;
}

int
fed_ldap_cfg_check(const struct fed_ldap_cfg *c, char *err, size_t errsz)
{
	int r;

	for (size_t i = 0; i < c->n; i++)
		if ((r = check_one(&c->src[i], err, errsz)) != 0)
			return r;
	return 0;
}

/* True when option o holds the same value in a and b. */
static bool
opt_same(const struct yh_cfg_opt *o, const struct fed_ldap_src *a, const struct fed_ldap_src *b)
{
	const char *pa = (const char *)a + o->offset, *pb = (const char *)b + o->offset;

	switch (o->type) {
	case YH_CFG_BOOL:
		return *(const bool *)(const void *)pa == *(const bool *)(const void *)pb;
	case YH_CFG_INT:
	case YH_CFG_DURATION:
		return *(const int64_t *)(const void *)pa == *(const int64_t *)(const void *)pb;
	default: {
		const char *sa = *(char *const *)(const void *)pa;
		const char *sb = *(char *const *)(const void *)pb;

		return sa == NULL ? sb == NULL : sb != NULL && strcmp(sa, sb) == 0;
	}
	}
}

bool
fed_ldap_cfg_same(const struct fed_ldap_cfg *a, const struct fed_ldap_cfg *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		if (strcmp(a->src[i].name, b->src[i].name) != 0)
			return false;
		for (const struct yh_cfg_opt *o = src_opts; o->name != NULL; o++)
			if (!opt_same(o, &a->src[i], &b->src[i]))
				return false;
	}
	return true;
}

void
fed_ldap_cfg_free(struct fed_ldap_cfg *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++)
		yh_cfg_free(src_opts, &c->src[i]);
	free(c->src);
	c->src = NULL;
	c->n = 0;
}

void
fed_ldap_entry_clear(struct fed_ldap_entry *e)
{
	free(e->dn);
	yh_strfree_secret(e->id_number);
	free(e->name);
	free(e->unit);
	free(e->role);
	memset(e, 0, sizeof(*e));
}

/* ---- the login -------------------------------------------------------------------- */

/* The error of an LDAP result code: a server that cannot be reached or does not answer
 * in time is unavailable; invalid credentials are AUTH. */
static int
ldap_err(int rc, const char *what, char *why, size_t whysz)
{
	if (rc == LDAP_INVALID_CREDENTIALS)
		return YH_ERR_AUTH;
	snprintf(why, whysz, "%s: %s", what, ldap_err2string(rc));
	return YH_ERR_UNAVAILABLE;
}

/* A connection to s's URIs with its options, StartTLS done when asked. */
static int
src_connect(const struct fed_ldap_src *s, LDAP **out, char *why, size_t whysz)
{
	struct timeval nt = { .tv_sec = (time_t)s->network_timeout };
	struct timeval ot = { .tv_sec = (time_t)s->timeout };
	int v3 = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, zero = 0, rc;
	LDAP *ld = NULL;

	*out = NULL;
	if ((rc = ldap_initialize(&ld, s->uri)) != LDAP_SUCCESS)
		return ldap_err(rc, "ldap_initialize", why, whysz);
	if ((rc = ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3)) != LDAP_OPT_SUCCESS ||
	    (rc = ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF)) != LDAP_OPT_SUCCESS ||
	    (rc = ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &nt)) != LDAP_OPT_SUCCESS ||
	    (rc = ldap_set_option(ld, LDAP_OPT_TIMEOUT, &ot)) != LDAP_OPT_SUCCESS ||
	    (rc = ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand)) != LDAP_OPT_SUCCESS)
		goto fail;
	if (set(s->ca_file) &&
	    (rc = ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, s->ca_file)) != LDAP_OPT_SUCCESS)
		goto fail;
	/* The handle's own TLS context, so that its options (not the process's) apply. */
	if ((s->starttls || strstr(s->uri, "ldaps://") != NULL) &&
	    (rc = ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero)) != LDAP_OPT_SUCCESS)
		goto fail;
	/* Connected (and TLS up) here, each URI of the list within the two timeouts. */
	if ((rc = ldap_io_connect(ld, s->starttls,
	    (s->network_timeout + s->timeout) * 1000)) != LDAP_SUCCESS)
		goto fail;
	*out = ld;
	return 0;
fail:
	ldap_unbind_ext_s(ld, NULL, NULL);
	return ldap_err(rc, "connect", why, whysz);
}

/* A simple bind as dn with pw (both set; never an empty password). */
static int
simple_bind(LDAP *ld, const char *dn, const char *pw)
{
	struct berval cred = { .bv_len = strlen(pw), .bv_val = (char *)pw };

	return ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
}

/* s->filter with {user} replaced by user escaped per RFC 4515 (malloc'd in *out). */
static int
build_filter(const struct fed_ldap_src *s, const char *user, char **out)
{
	struct berval in = { .bv_len = strlen(user), .bv_val = (char *)user }, esc = { 0 };
	const char *ph = strstr(s->filter, "{user}");
	size_t pre, post, n;
	char *f;

	*out = NULL;
	if (ph == NULL)
		return YH_ERR_INVALID;
	if (ldap_bv2escaped_filter_value(&in, &esc) != 0)
		return YH_ERR_ALLOC;
	pre = (size_t)(ph - s->filter);
	post = strlen(ph + 6);
	n = pre + esc.bv_len + post;
	if ((f = malloc(n + 1)) == NULL) {
		ber_memfree(esc.bv_val);
		return YH_ERR_ALLOC;
	}
	memcpy(f, s->filter, pre);
	memcpy(f + pre, esc.bv_val, esc.bv_len);
	memcpy(f + pre + esc.bv_len, ph + 6, post + 1);
	ber_memfree(esc.bv_val);
	*out = f;
	return 0;
}

/* The first value of attr in entry e (malloc'd, at most FED_LDAP_VALUE_MAX bytes), or
 * NULL. */
static char *
first_value(LDAP *ld, LDAPMessage *e, const char *attr)
{
	struct berval **v;
	char *out = NULL;

	if (!set(attr) || (v = ldap_get_values_len(ld, e, attr)) == NULL)
		return NULL;
	if (v[0] != NULL && v[0]->bv_len > 0 && v[0]->bv_len <= FED_LDAP_VALUE_MAX &&
	    memchr(v[0]->bv_val, '\0', v[0]->bv_len) == NULL &&
	    (out = malloc(v[0]->bv_len + 1)) != NULL) {
		memcpy(out, v[0]->bv_val, v[0]->bv_len);
		out[v[0]->bv_len] = '\0';
	}
	ldap_value_free_len(v);
	return out;
}

/* The one entry the filter finds for user, into out (dn and attributes). */
static int
find_entry(LDAP *ld, const struct fed_ldap_src *s, const char *user,
    struct fed_ldap_entry *out, char *why, size_t whysz)
{
	char *attrs[5] = { NULL }, *filter = NULL, *dn;
	struct timeval ot = { .tv_sec = (time_t)s->timeout };
	LDAPMessage *res = NULL, *e;
	size_t na = 0;
	int r, rc;

	attrs[na++] = s->attr_id_number;
	if (set(s->attr_name))
		attrs[na++] = s->attr_name;
	if (set(s->attr_unit))
		attrs[na++] = s->attr_unit;
	if (set(s->attr_role))
		attrs[na++] = s->attr_role;
	if ((r = build_filter(s, user, &filter)) != 0)
		return r;
	rc = ldap_search_ext_s(ld, s->base, LDAP_SCOPE_SUBTREE, filter, attrs, 0, NULL, NULL,
	    &ot, 2, &res);
	if (rc == LDAP_SIZELIMIT_EXCEEDED || rc == LDAP_NO_SUCH_OBJECT) {
		r = YH_ERR_NOT_FOUND;
		goto out;
	}
	if (rc != LDAP_SUCCESS) {
		r = ldap_err(rc, "search", why, whysz);
		if (r == YH_ERR_AUTH)
			r = YH_ERR_UNAVAILABLE;
		goto out;
	}
	if (ldap_count_entries(ld, res) != 1 || (e = ldap_first_entry(ld, res)) == NULL) {
		r = YH_ERR_NOT_FOUND;
		goto out;
	}
	if ((dn = ldap_get_dn(ld, e)) == NULL || dn[0] == '\0') {
		ldap_memfree(dn);
		r = YH_ERR_NOT_FOUND;
		goto out;
	}
	out->dn = strdup(dn);
	ldap_memfree(dn);
	out->id_number = first_value(ld, e, s->attr_id_number);
	out->name = first_value(ld, e, s->attr_name);
	out->unit = first_value(ld, e, s->attr_unit);
	out->role = first_value(ld, e, s->attr_role);
	if (out->unit == NULL && set(s->unit))
		out->unit = strdup(s->unit);
	if (out->dn == NULL)
		r = YH_ERR_ALLOC;
	else
		r = out->id_number == NULL ? YH_ERR_NOT_FOUND : 0;
out:
	free(filter);
	ldap_msgfree(res);
	return r;
}

int
fed_ldap_login(const struct fed_ldap_src *s, const char *user, const char *password,
    fed_ldap_gate gate, void *gate_arg, struct fed_ldap_entry *out, char *why,
    size_t whysz)
{
	LDAP *ld = NULL;
	int r, rc;

	memset(out, 0, sizeof(*out));
	why[0] = '\0';
	if (user == NULL || password == NULL || user[0] == '\0' || password[0] == '\0' ||
	    strlen(user) > FED_LDAP_USER_MAX)
		return YH_ERR_INVALID;
	if ((r = src_connect(s, &ld, why, whysz)) != 0)
		return r;
	if (set(s->bind_dn) && (rc = simple_bind(ld, s->bind_dn, s->bind_password)) !=
	    LDAP_SUCCESS) {
		/* The search account refused is the operator's problem, not the person's. */
		r = ldap_err(rc, "bind as the search account", why, whysz);
		if (r == YH_ERR_AUTH) {
			snprintf(why, whysz, "bind as the search account: invalid credentials");
			r = YH_ERR_UNAVAILABLE;
		}
		goto out;
	}
	if ((r = find_entry(ld, s, user, out, why, whysz)) != 0 ||
	    (gate != NULL && (r = gate(gate_arg, out)) != 0))
		goto out;
	if ((rc = simple_bind(ld, out->dn, password)) != LDAP_SUCCESS)
		r = ldap_err(rc, "bind", why, whysz);
out:
	if (r != 0)
		fed_ldap_entry_clear(out);
	ldap_unbind_ext_s(ld, NULL, NULL);
	return r;
}
