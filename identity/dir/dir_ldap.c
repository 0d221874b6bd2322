/*
 * The directory on an LDAP server (OpenLDAP with config/ldap/yihao.schema): the backend
 * directory.backend = ldap names. dir.c seals and indexes exactly as for SQLite, so the
 * server holds sealed ID numbers and phones and their blind indexes, never clear text.
 *
 * The tree under directory.ldap_base (DIR_LDAP_OUS, made by dir_ldap_init):
 *   ou=meta       yhSetting yhKey=KEY: the store-wide settings (vault key bookkeeping)
 *   ou=persons    yhPerson yhIdIndex=INDEX: one entry per person, named by the blind
 *                 index of the ID number so that two adds of one ID number cannot both
 *                 succeed; it also holds the password hash, the TOTP enrolment, the
 *                 privacy consents and the assurance history
 *   ou=usernames  yhSetting yhKey=lowercased username, yhValue=uid: the claim that
 *                 makes usernames unique (added before the person, removed after)
 *   ou=consents   yhConsent yhKey=OWNER:CLIENT
 *   ou=pins       yhSubjectPin yhKey=UID:SECTOR
 *   ou=legacy     yhLegacyLink yhKey=LEN:SOURCE LEGACYID
 *   ou=upstream   yhUpstreamLink yhKey=LEN:UPSTREAM SUBJECT: the person an upstream
 *                 identity provider's subject logged in as (added once, never moved)
 *   ou=certs      yhCertBinding yhKey=ID: a certificate bound to a person (ID the hex
 *                 SHA-256 of its issuer and serial, so one person per certificate)
 *   ou=orgs       yhOrganization yhOrgCode=CODE (so two adds of one code cannot both
 *                 succeed), with its history as yhOrgChange values
 *   ou=relations  yhRelation yhUid=ID: a person's relation to an organization, with the
 *                 console permissions of a staff relation
 *   ou=cases      yhReviewCase yhUid=ID: a merge review case, and next to it yhSetting
 *                 yhKey=LEN:SOURCE LEGACYID, yhValue=ID: the claim that keeps a legacy
 *                 record in one case only
 * A record that is read, changed and written back (a TOTP step, a consent's scopes, a
 * person's version) is written with a modify that deletes the value read and adds the
 * new one, so a concurrent change makes it fail with noSuchAttribute and it is read
 * again: "changed under you" is retried, never lost.
 *
 * Connections: a pool that opens one when every open one is busy (so it grows to the
 * number of threads calling at once, the HTTP workers), at most directory.ldap_pool_max.
 * Each connection tries directory.ldap_uris in order; a lost connection is dropped and
 * the next call connects again (failing over to the next URI). A read is retried once on
 * a fresh connection; a write is not (it may have been applied) and answers
 * YH_ERR_UNAVAILABLE, which authd turns into 503 (and /readyz names the directory).
 *
 * LDAP has no transaction across entries: a write that touches several (an organization
 * and its legal representative's relation, a relation and the organization's history)
 * makes them one after another, each change guarded as above.
 *
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ldap.h>
#include <jansson.h>
#include <openssl/rand.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/secmem.h"
#include "identity/dir/dir_ldap.h"
#include "identity/dir/ldap_io.h"
#include "identity/idn/idnum.h"

#define LD_URIS_MAX 8
#define LD_DN_MAX 1024
#define LD_MODS_MAX 40
#define LD_NUM_LEN 24
#define LD_RETRY_MAX 64      /* re-reads of a record changed under a modify */
#define LD_SCAN_MAX 10000000 /* entries a whole-tree scan accepts */

static const char *const ld_ous[] = { "meta", "persons", "usernames", "consents", "pins",
	"legacy", "orgs", "relations", "upstream", "certs", "cases" };
#define LD_NOUS (sizeof(ld_ous) / sizeof(ld_ous[0]))

struct lconn {
	LDAP *ld;
	struct lconn *next;
};

struct ldb {
	char *uris[LD_URIS_MAX];
	size_t nuris;
	char *base, *bind_dn, *password, *ca_file;
	bool starttls;
	int timeout;       /* seconds */
	size_t pool_max;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct lconn *idle;
	size_t open;       /* connections open (idle or lent) */
	bool bulk;
	char where[512];
};

/* ---- names ---- */

/* Writes v into out as an RFC 4514 attribute value: letters, digits and "-_.@"
 * as they are, every other byte as \XX. YH_ERR_TOO_LONG when it does not fit. */
static int
dn_value(const char *v, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)v; *p != '\0'; p++) {
		if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '@') {
			if (o + 1 >= outsz)
				return YH_ERR_TOO_LONG;
			out[o++] = (char)*p;
		} else {
			if (o + 3 >= outsz)
				return YH_ERR_TOO_LONG;
			out[o++] = '\\';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	if (o >= outsz)
		return YH_ERR_TOO_LONG;
	out[o] = '\0';
	return 0;
}

/* dn = "ATTR=escaped(value),ou=OU,BASE" (value NULL: "ou=OU,BASE"). */
static int
ld_dn(const struct ldb *l, const char *attr, const char *value, const char *ou, char *dn,
    size_t dnsz)
{
	char esc[LD_DN_MAX];
	int n;

	if (value == NULL) {
		n = snprintf(dn, dnsz, "ou=%s,%s", ou, l->base);
		return n < 0 || (size_t)n >= dnsz ? YH_ERR_TOO_LONG : 0;
	}
	if (dn_value(value, esc, sizeof(esc)) != 0)
		return YH_ERR_TOO_LONG;
	n = snprintf(dn, dnsz, "%s=%s,ou=%s,%s", attr, esc, ou, l->base);
	return n < 0 || (size_t)n >= dnsz ? YH_ERR_TOO_LONG : 0;
}

/* "a:b" for the keys of consents and pins (a is a uid: no colon in it). */
static int
pair_key(const char *a, const char *b, char *out, size_t outsz)
{
	int n = snprintf(out, outsz, "%s:%s", a, b);

	return n < 0 || (size_t)n >= outsz ? YH_ERR_TOO_LONG : 0;
}

/* filter = fmt with each %s an escaped value (RFC 4515); at most two values. */
static int
ld_filter(char *out, size_t outsz, const char *fmt, const char *v1, const char *v2)
{
	struct berval in, e1 = { 0, NULL }, e2 = { 0, NULL };
	int n = -1;

	in.bv_val = (char *)v1;
	in.bv_len = strlen(v1);
	if (ldap_bv2escaped_filter_value(&in, &e1) != 0)
		return YH_ERR_ALLOC;
	if (v2 != NULL) {
		in.bv_val = (char *)v2;
		in.bv_len = strlen(v2);
		if (ldap_bv2escaped_filter_value(&in, &e2) != 0) {
			ber_memfree(e1.bv_val);
			return YH_ERR_ALLOC;
		}
	}
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	n = snprintf(out, outsz, fmt, e1.bv_val, e2.bv_val != NULL ? e2.bv_val : "");
#pragma GCC diagnostic pop
	ber_memfree(e1.bv_val);
	ber_memfree(e2.bv_val);
	return n < 0 || (size_t)n >= outsz ? YH_ERR_TOO_LONG : 0;
}

/* ---- modifications ---- */

struct mods {
	LDAPMod m[LD_MODS_MAX];
	LDAPMod *p[LD_MODS_MAX + 1];
	char *one[LD_MODS_MAX][2];
	char num[LD_MODS_MAX][LD_NUM_LEN];
	char name_key[DIR_NAME_KEY_MAX + 1];   /* yhNameKey's value, when set */
	size_t n;
	bool over;
};

static void
mods_init(struct mods *ms)
{
	memset(ms, 0, sizeof(*ms));
}

/* One modification of attr: op with the single value v (NULL: no values, which with
 * LDAP_MOD_REPLACE or LDAP_MOD_DELETE removes the attribute). */
static void
mod_str(struct mods *ms, int op, const char *attr, const char *v)
{
	LDAPMod *m;

	if (ms->n >= LD_MODS_MAX) {
		ms->over = true;
		return;
	}
	m = &ms->m[ms->n];
	m->mod_op = op;
	m->mod_type = (char *)attr;
	if (v != NULL) {
		ms->one[ms->n][0] = (char *)v;
		m->mod_values = ms->one[ms->n];
	}
	ms->p[ms->n] = m;
	ms->n++;
}

static void
mod_int(struct mods *ms, int op, const char *attr, int64_t v)
{
	if (ms->n >= LD_MODS_MAX) {
		ms->over = true;
		return;
	}
	snprintf(ms->num[ms->n], LD_NUM_LEN, "%lld", (long long)v);
	mod_str(ms, op, attr, ms->num[ms->n]);
}

/* A value list (NULL-terminated, the caller's) for attr. */
static void
mod_list(struct mods *ms, int op, const char *attr, char **vals)
{
	if (ms->n >= LD_MODS_MAX) {
		ms->over = true;
		return;
	}
	ms->m[ms->n].mod_op = op;
	ms->m[ms->n].mod_type = (char *)attr;
	ms->m[ms->n].mod_values = vals;
	ms->p[ms->n] = &ms->m[ms->n];
	ms->n++;
}

/* An optional value in an add: nothing when v is NULL or empty. */
static void
mod_opt(struct mods *ms, const char *attr, const char *v)
{
	if (v != NULL && v[0] != '\0')
		mod_str(ms, LDAP_MOD_ADD, attr, v);
}

/* A replace that removes the attribute when v is NULL or empty. */
static void
mod_set(struct mods *ms, const char *attr, const char *v)
{
	mod_str(ms, LDAP_MOD_REPLACE, attr, v != NULL && v[0] != '\0' ? v : NULL);
}

/* ---- connections ---- */

static void
conn_close(struct lconn *c)
{
	if (c == NULL)
		return;
	if (c->ld != NULL)
		ldap_unbind_ext_s(c->ld, NULL, NULL);
	free(c);
}

/* Sets up and binds one connection to uri. */
static int
conn_open_uri(struct ldb *l, const char *uri, LDAP **out, char *why, size_t whysz)
{
	struct timeval tv = { .tv_sec = l->timeout, .tv_usec = 0 };
	int v3 = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, newctx = 0, rc;
	struct berval cred = { 0, NULL };
	LDAP *ld = NULL;

	if ((rc = ldap_initialize(&ld, uri)) != LDAP_SUCCESS)
		goto fail;
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
	ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
	ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
	ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	if (strncmp(uri, "ldaps:", 6) == 0 || l->starttls) {
		ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
		if (l->ca_file != NULL && l->ca_file[0] != '\0')
			ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, l->ca_file);
		ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &newctx);
	}
	/* Connected (and TLS up) within the network timeout and the timeout. */
	if ((rc = ldap_io_connect(ld, l->starttls && strncmp(uri, "ldap:", 5) == 0,
	    (int64_t)l->timeout * 2000)) != LDAP_SUCCESS)
		goto fail;
	if (l->bind_dn != NULL && l->bind_dn[0] != '\0') {
		cred.bv_val = l->password != NULL ? l->password : (char *)"";
		cred.bv_len = strlen(cred.bv_val);
		rc = ldap_sasl_bind_s(ld, l->bind_dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
	} else {
		/* SASL EXTERNAL: the identity is the socket's (ldapi) or the TLS client's;
		 * an empty authorization identity, present, finishes it in one step */
		cred.bv_val = (char *)"";
		cred.bv_len = 0;
		rc = ldap_sasl_bind_s(ld, NULL, "EXTERNAL", &cred, NULL, NULL, NULL);
	}
	if (rc != LDAP_SUCCESS)
		goto fail;
	*out = ld;
	return 0;
fail:
	snprintf(why, whysz, "%s: %s", uri, ldap_err2string(rc));
	if (ld != NULL)
		ldap_unbind_ext_s(ld, NULL, NULL);
	return rc == LDAP_INVALID_CREDENTIALS || rc == LDAP_INAPPROPRIATE_AUTH ||
	    rc == LDAP_AUTH_METHOD_NOT_SUPPORTED ? YH_ERR_CONFIG : YH_ERR_UNAVAILABLE;
}

/* A new connection to the first URI that answers. */
static int
conn_open(struct ldb *l, struct lconn **out, char *why, size_t whysz)
{
	struct lconn *c;
	int r = YH_ERR_UNAVAILABLE;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return YH_ERR_ALLOC;
	for (size_t i = 0; i < l->nuris; i++)
		if ((r = conn_open_uri(l, l->uris[i], &c->ld, why, whysz)) == 0)
			break;
	if (r != 0) {
		free(c);
		return r;
	}
	*out = c;
	return 0;
}

/* Lends an idle connection, or opens one while fewer than pool_max are open, or waits
 * for one to come back. */
static int
conn_get(struct ldb *l, struct lconn **out)
{
	char why[256];
	int r;

	pthread_mutex_lock(&l->mu);
	while (l->idle == NULL && l->open >= l->pool_max)
		pthread_cond_wait(&l->cv, &l->mu);
	if (l->idle != NULL) {
		*out = l->idle;
		l->idle = (*out)->next;
		pthread_mutex_unlock(&l->mu);
		return 0;
	}
	l->open++;
	pthread_mutex_unlock(&l->mu);
	if ((r = conn_open(l, out, why, sizeof(why))) != 0) {
		yh_error("ldap directory: cannot connect: %s", why);
		pthread_mutex_lock(&l->mu);
		l->open--;
		pthread_cond_signal(&l->cv);
		pthread_mutex_unlock(&l->mu);
	}
	return r;
}

/*
 * Gives a connection back. A broken one is closed, and with it every idle one: they
 * went to the same server, which is most likely gone or restarted too, and a write on a
 * stale connection cannot be retried; the next conn_get connects afresh (to the first
 * URI that answers).
 */
static void
conn_put(struct ldb *l, struct lconn *c, bool broken)
{
	struct lconn *stale = NULL;

	pthread_mutex_lock(&l->mu);
	if (broken) {
		stale = l->idle;
		l->idle = NULL;
		l->open--;
		for (struct lconn *s = stale; s != NULL; s = s->next)
			l->open--;
	} else {
		c->next = l->idle;
		l->idle = c;
	}
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
	if (broken)
		conn_close(c);
	while (stale != NULL) {
		struct lconn *next = stale->next;

		conn_close(stale);
		stale = next;
	}
}

/* True for the result codes that mean the connection, not the request, failed. */
static bool
rc_lost(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMEOUT ||
	    rc == LDAP_UNAVAILABLE || rc == LDAP_BUSY || rc == LDAP_UNWILLING_TO_PERFORM ||
	    rc == LDAP_OTHER || rc == LDAP_LOCAL_ERROR;
}

/* An LDAP result code as a YH_ERR_* (logging the unexpected ones). */
static int
rc_map(int rc, const char *what)
{
	switch (rc) {
	case LDAP_SUCCESS:
		return 0;
	case LDAP_ALREADY_EXISTS:
	case LDAP_TYPE_OR_VALUE_EXISTS:
		return YH_ERR_EXISTS;
	case LDAP_NO_SUCH_OBJECT:
		return YH_ERR_NOT_FOUND;
	case LDAP_NO_SUCH_ATTRIBUTE:
		return YH_ERR_BUSY;     /* the value read is gone: changed under us */
	case LDAP_SIZELIMIT_EXCEEDED:
		return YH_ERR_LIMIT;
	case LDAP_OBJECT_CLASS_VIOLATION:
	case LDAP_CONSTRAINT_VIOLATION:
	case LDAP_INVALID_SYNTAX:
	case LDAP_UNDEFINED_TYPE:
		yh_error("ldap directory %s: %s", what, ldap_err2string(rc));
		return YH_ERR_INVALID;
	default:
		yh_error("ldap directory %s: %s", what, ldap_err2string(rc));
		return rc_lost(rc) ? YH_ERR_UNAVAILABLE : YH_ERR_DB;
	}
}

/* Before trying a modify again that lost to a concurrent one: a pause that grows with
 * the attempts, with jitter (the clock's nanoseconds) so that the writers spread out. */
static void
ld_backoff(int attempt)
{
	struct timespec now, ts;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ts.tv_sec = 0;
	ts.tv_nsec = (long)((attempt < 10 ? attempt + 1 : 10) * 100000L +
	    now.tv_nsec % 500000L);
	nanosleep(&ts, NULL);
}

static int person_end_relations(struct ldb *l, const char *uid, int64_t now);
static int person_unreference(struct ldb *l, const char *uid);
static int person_erase(struct ldb *l, const char *uid);
static int org_page(struct ldb *l, const char *after, size_t limit, struct dir_entity *out,
    size_t *n);

/* ---- the operations on one connection ---- */

/* Searches under the ou (NULL: the base) with filter; *res receives the result (free
 * with ldap_msgfree) on 0. Retried once on a fresh connection when the first was lost. */
static int
ld_search(struct ldb *l, const char *ou, int scope, const char *filter,
    const char *const *attrs, int sizelimit, LDAP **ldp, struct lconn **cp,
    LDAPMessage **res)
{
	struct timeval tv = { .tv_sec = l->timeout, .tv_usec = 0 };
	char base[LD_DN_MAX];
	struct lconn *c;
	int r, rc = LDAP_OTHER;

	*res = NULL;
	if (ou != NULL) {
		if ((r = ld_dn(l, NULL, NULL, ou, base, sizeof(base))) != 0)
			return r;
	} else if (snprintf(base, sizeof(base), "%s", l->base) >= (int)sizeof(base))
		return YH_ERR_TOO_LONG;
	for (int attempt = 0; attempt < 2; attempt++) {
		if ((r = conn_get(l, &c)) != 0)
			return r;
		rc = ldap_search_ext_s(c->ld, base, scope, filter, (char **)attrs, 0, NULL, NULL,
		    &tv, sizelimit, res);
		if (rc == LDAP_SUCCESS || (rc == LDAP_SIZELIMIT_EXCEEDED && *res != NULL)) {
			*ldp = c->ld;
			*cp = c;
			return rc == LDAP_SUCCESS ? 0 : YH_ERR_LIMIT;
		}
		ldap_msgfree(*res);
		*res = NULL;
		conn_put(l, c, rc_lost(rc));
		if (!rc_lost(rc))
			break;
	}
	return rc_map(rc, "search");
}

/* Ends a search: frees the result and gives the connection back. */
static void
ld_search_end(struct ldb *l, struct lconn *c, LDAPMessage *res)
{
	ldap_msgfree(res);
	if (c != NULL)
		conn_put(l, c, false);
}

/* add (op 'a'), modify ('m'), delete ('d') or rename ('r': to the RDN rename_rdn put in
 * ms) of dn. */
static int
ld_write(struct ldb *l, char op, const char *dn, struct mods *ms, const char *what)
{
	struct lconn *c;
	int r, rc;

	if (ms != NULL && ms->over)
		return YH_ERR_INTERNAL;
	if ((r = conn_get(l, &c)) != 0)
		return r;
	if (op == 'a')
		rc = ldap_add_ext_s(c->ld, dn, ms->p, NULL, NULL);
	else if (op == 'r')      /* ms->one[0][0]: the new RDN */
		rc = ldap_rename_s(c->ld, dn, ms->one[0][0], NULL, 1, NULL, NULL);
	else if (op == 'm')
		rc = ldap_modify_ext_s(c->ld, dn, ms->p, NULL, NULL);
	else
		rc = ldap_delete_ext_s(c->ld, dn, NULL, NULL);
	conn_put(l, c, rc_lost(rc));
	return rc_map(rc, what);
}

/* ---- reading entries ---- */

/* The first value of attr as a malloc'd string; NULL (and 0) when absent. */
static int
get_str(LDAP *ld, LDAPMessage *e, const char *attr, char **out)
{
	struct berval **v = ldap_get_values_len(ld, e, attr);

	*out = NULL;
	if (v == NULL || v[0] == NULL) {
		ldap_value_free_len(v);
		return 0;
	}
	*out = strndup(v[0]->bv_val, v[0]->bv_len);
	ldap_value_free_len(v);
	return *out != NULL ? 0 : YH_ERR_ALLOC;
}

static int
get_fixed(LDAP *ld, LDAPMessage *e, const char *attr, char *out, size_t outsz)
{
	struct berval **v = ldap_get_values_len(ld, e, attr);
	int r = 0;

	out[0] = '\0';
	if (v != NULL && v[0] != NULL) {
		if (v[0]->bv_len >= outsz)
			r = YH_ERR_DB;
		else {
			memcpy(out, v[0]->bv_val, v[0]->bv_len);
			out[v[0]->bv_len] = '\0';
		}
	}
	ldap_value_free_len(v);
	return r;
}

static int64_t
get_int(LDAP *ld, LDAPMessage *e, const char *attr)
{
	char buf[LD_NUM_LEN];

	if (get_fixed(ld, e, attr, buf, sizeof(buf)) != 0 || buf[0] == '\0')
		return 0;
	return strtoll(buf, NULL, 10);
}

static bool
get_bool(LDAP *ld, LDAPMessage *e, const char *attr)
{
	char buf[8];

	return get_fixed(ld, e, attr, buf, sizeof(buf)) == 0 && strcmp(buf, "TRUE") == 0;
}

/* ---- JSON values (assurance records, privacy consents) ---- */

static char *
loa_json(const struct dir_loa *v, int64_t seq)
{
	json_t *o = json_pack("{s:I,s:i,s:s,s:s?,s:s?,s:I}", "n", (json_int_t)seq, "level",
	    v->level, "method", v->method != NULL ? v->method : "", "by", v->by, "evidence",
	    v->evidence, "at", (json_int_t)v->at);
	char *s = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	json_decref(o);
	return s;
}

static int
dup_opt(json_t *o, const char *k, char **out)
{
	const char *s = json_string_value(json_object_get(o, k));

	*out = NULL;
	if (s == NULL)
		return 0;
	return (*out = strdup(s)) != NULL ? 0 : YH_ERR_ALLOC;
}

/* Parses one JSON value; *seq its "n". */
static int
loa_parse(const struct berval *bv, struct dir_loa *v, int64_t *seq)
{
	json_t *o = json_loadb(bv->bv_val, bv->bv_len, 0, NULL);
	int r = YH_ERR_DB;

	memset(v, 0, sizeof(*v));
	if (json_is_object(o)) {
		*seq = json_integer_value(json_object_get(o, "n"));
		v->level = (int)json_integer_value(json_object_get(o, "level"));
		v->at = json_integer_value(json_object_get(o, "at"));
		if ((r = dup_opt(o, "method", &v->method)) == 0 &&
		    (r = dup_opt(o, "by", &v->by)) == 0)
			r = dup_opt(o, "evidence", &v->evidence);
	}
	json_decref(o);
	return r;
}

static char *
privacy_json(const struct dir_privacy *c, int64_t at, size_t seq)
{
	json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:I}", "n", (json_int_t)seq, "purpose",
	    c->purpose, "version", c->notice_version, "sha256", c->notice_sha256, "via",
	    c->via, "at", (json_int_t)at);
	char *s = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	json_decref(o);
	return s;
}

static int
privacy_parse(const struct berval *bv, struct dir_privacy *c, int64_t *seq)
{
	json_t *o = json_loadb(bv->bv_val, bv->bv_len, 0, NULL);
	int r = YH_ERR_DB;

	memset(c, 0, sizeof(*c));
	if (json_is_object(o)) {
		*seq = json_integer_value(json_object_get(o, "n"));
		c->at = json_integer_value(json_object_get(o, "at"));
		if ((r = dup_opt(o, "purpose", &c->purpose)) == 0 &&
		    (r = dup_opt(o, "version", &c->notice_version)) == 0 &&
		    (r = dup_opt(o, "sha256", &c->notice_sha256)) == 0)
			r = dup_opt(o, "via", &c->via);
		if (r == 0 && (c->purpose == NULL || c->notice_version == NULL ||
		    c->notice_sha256 == NULL || c->via == NULL))
			r = YH_ERR_DB;
	}
	json_decref(o);
	return r;
}

/* ---- persons ---- */

static const char *const person_attrs[] = { "yhUid", "yhIdIndex", "yhSealedIdNumber",
	"yhName", "yhSealedPhone", "yhPhoneIndex", "yhPhoneVerified", "yhEmail", "yhUsername",
	"yhOrigin", "yhLoa", "yhStatus", "yhCreated", "yhUpdated", "yhVersion",
	"yhDeregistered", NULL };

static int
read_person(LDAP *ld, LDAPMessage *e, struct dir_person_rec *r)
{
	struct dir_person *p = &r->p;
	struct berval **loa;
	char st[24];
	int64_t seq;
	int x = 0;

	memset(r, 0, sizeof(*r));
	x = x ? x : get_fixed(ld, e, "yhUid", p->uid, sizeof(p->uid));
	x = x ? x : get_fixed(ld, e, "yhIdIndex", r->id_index, sizeof(r->id_index));
	x = x ? x : get_fixed(ld, e, "yhPhoneIndex", r->phone_index, sizeof(r->phone_index));
	x = x ? x : get_str(ld, e, "yhSealedIdNumber", &p->id_number);
	x = x ? x : get_str(ld, e, "yhName", &p->name);
	x = x ? x : get_str(ld, e, "yhSealedPhone", &p->phone);
	x = x ? x : get_str(ld, e, "yhEmail", &p->email);
	x = x ? x : get_str(ld, e, "yhUsername", &p->username);
	x = x ? x : get_str(ld, e, "yhOrigin", &p->origin);
	x = x ? x : get_fixed(ld, e, "yhStatus", st, sizeof(st));
	if (x == 0 && dir_status_parse(st, &p->status) != 0)
		x = YH_ERR_DB;
	p->phone_verified = p->phone != NULL && get_bool(ld, e, "yhPhoneVerified");
	p->created = get_int(ld, e, "yhCreated");
	p->updated = get_int(ld, e, "yhUpdated");
	if (x == 0 && (loa = ldap_get_values_len(ld, e, "yhLoa")) != NULL) {
		if (loa[0] != NULL)
			x = loa_parse(loa[0], &p->loa, &seq);
		ldap_value_free_len(loa);
	}
	if (x == 0 && (p->id_number == NULL || p->name == NULL || p->uid[0] == '\0'))
		x = YH_ERR_DB;
	if (x != 0)
		dir_person_rec_clear(r);
	return x;
}

/* The person entry of uid: its DN and, with out, the record and (ver) its version, read
 * together. NOT_FOUND. */
static int
person_get_v(struct ldb *l, const char *uid, char *dn, size_t dnsz,
    struct dir_person_rec *out, int64_t *ver)
{
	char filter[256], *d;
	struct lconn *c = NULL;
	LDAPMessage *res = NULL, *e;
	LDAP *ld;
	int r;

	if ((r = ld_filter(filter, sizeof(filter), "(&(objectClass=yhPerson)(yhUid=%s))", uid,
	    NULL)) != 0)
		return r == YH_ERR_TOO_LONG ? YH_ERR_NOT_FOUND : r;
	if ((r = ld_search(l, "persons", LDAP_SCOPE_ONELEVEL, filter, person_attrs, 2, &ld, &c,
	    &res)) != 0)
		goto out;
	if ((e = ldap_first_entry(ld, res)) == NULL) {
		r = YH_ERR_NOT_FOUND;
		goto out;
	}
	if (dn != NULL) {
		if ((d = ldap_get_dn(ld, e)) == NULL) {
			r = YH_ERR_DB;
			goto out;
		}
		if (snprintf(dn, dnsz, "%s", d) >= (int)dnsz)
			r = YH_ERR_TOO_LONG;
		ldap_memfree(d);
	}
	if (r == 0 && out != NULL)
		r = read_person(ld, e, out);
	if (r == 0 && ver != NULL)
		*ver = get_int(ld, e, "yhVersion");
out:
	ld_search_end(l, c, res);
	return r;
}

static int
person_get(struct ldb *l, const char *uid, char *dn, size_t dnsz,
    struct dir_person_rec *out)
{
	return person_get_v(l, uid, dn, dnsz, out, NULL);
}

/* 0 when uid is a person, NOT_FOUND when not. */
static int
person_exists(struct ldb *l, const char *uid)
{
	return person_get(l, uid, NULL, 0, NULL);
}

/* The username claim's key: the username in ASCII lower case. */
static void
username_key(const char *u, char *out, size_t outsz)
{
	size_t i;

	for (i = 0; u[i] != '\0' && i + 1 < outsz; i++)
		out[i] = (char)tolower((unsigned char)u[i]);
	out[i] = '\0';
}

/* Claims username for uid (EXISTS when another person holds it; a claim left by a
 * person that is gone is taken over). */
static int
username_claim(struct ldb *l, const char *username, const char *uid)
{
	char key[DIR_USERNAME_MAX * 2 + 1], dn[LD_DN_MAX], *owner = NULL;
	struct mods ms;
	int r;

	username_key(username, key, sizeof(key));
	if ((r = ld_dn(l, "yhKey", key, "usernames", dn, sizeof(dn))) != 0)
		return r;
	for (int attempt = 0; attempt < 2; attempt++) {
		mods_init(&ms);
		mod_str(&ms, LDAP_MOD_ADD, "objectClass", "yhSetting");
		mod_str(&ms, LDAP_MOD_ADD, "yhKey", key);
		mod_str(&ms, LDAP_MOD_ADD, "yhValue", uid);
		if ((r = ld_write(l, 'a', dn, &ms, "username claim")) != YH_ERR_EXISTS)
			return r;
		/* Held: by uid itself, by a live person, or left behind by a failed add. */
		{
			char filter[LD_DN_MAX];
			const char *attrs[] = { "yhValue", NULL };
			struct lconn *c = NULL;
			LDAPMessage *res = NULL, *e;
			LDAP *ld;

			if ((r = ld_filter(filter, sizeof(filter), "(yhKey=%s)", key, NULL)) != 0 ||
			    (r = ld_search(l, "usernames", LDAP_SCOPE_ONELEVEL, filter, attrs, 1,
			    &ld, &c, &res)) != 0)
				return r;
			if ((e = ldap_first_entry(ld, res)) != NULL)
				r = get_str(ld, e, "yhValue", &owner);
			ld_search_end(l, c, res);
			if (r != 0)
				return r;
		}
		if (owner != NULL && strcmp(owner, uid) == 0) {
			free(owner);
			return 0;
		}
		if (owner != NULL && (r = person_exists(l, owner)) == 0)
			r = YH_ERR_EXISTS;
		else if (r == 0 || r == YH_ERR_NOT_FOUND)   /* stale: take it over */
			r = ld_write(l, 'd', dn, NULL, "stale username claim");
		free(owner);
		owner = NULL;
		if (r != 0 && r != YH_ERR_NOT_FOUND)
			return r;
	}
	return YH_ERR_BUSY;
}

static void
username_release(struct ldb *l, const char *username)
{
	char key[DIR_USERNAME_MAX * 2 + 1], dn[LD_DN_MAX];

	username_key(username, key, sizeof(key));
	if (ld_dn(l, "yhKey", key, "usernames", dn, sizeof(dn)) == 0)
		(void)ld_write(l, 'd', dn, NULL, "username release");
}

static int
ldap_person_add(void *be, const struct dir_person_rec *rec)
{
	struct ldb *l = be;
	const struct dir_person *p = &rec->p;
	char dn[LD_DN_MAX], *loa = NULL, *priv[DIR_PRIVACY_MAX + 1] = { NULL };
	struct mods ms;
	int r;

	if (rec->nconsents > DIR_PRIVACY_MAX)
		return YH_ERR_INVALID;
	if (person_exists(l, p->uid) == 0)
		return YH_ERR_EXISTS;
	if ((r = ld_dn(l, "yhIdIndex", rec->id_index, "persons", dn, sizeof(dn))) != 0)
		return r;
	if (p->username != NULL && (r = username_claim(l, p->username, p->uid)) != 0)
		return r;
	if ((loa = loa_json(&p->loa, 0)) == NULL) {
		r = YH_ERR_ALLOC;
		goto out;
	}
	for (size_t i = 0; i < rec->nconsents; i++) {
		const struct dir_privacy *c = &rec->consents[i];

		if ((priv[i] = privacy_json(c, c->at != 0 ? c->at : p->created, i)) == NULL) {
			r = YH_ERR_ALLOC;
			goto out;
		}
	}
	mods_init(&ms);
	mod_str(&ms, LDAP_MOD_ADD, "objectClass", "yhPerson");
	mod_str(&ms, LDAP_MOD_ADD, "yhUid", p->uid);
	mod_str(&ms, LDAP_MOD_ADD, "yhIdIndex", rec->id_index);
	mod_str(&ms, LDAP_MOD_ADD, "yhSealedIdNumber", p->id_number);
	mod_str(&ms, LDAP_MOD_ADD, "yhName", p->name);
	dir_name_key(p->name, ms.name_key);
	mod_opt(&ms, "yhNameKey", ms.name_key);
	mod_opt(&ms, "yhSealedPhone", p->phone);
	mod_opt(&ms, "yhPhoneIndex", p->phone != NULL ? rec->phone_index : NULL);
	mod_str(&ms, LDAP_MOD_ADD, "yhPhoneVerified",
	    p->phone != NULL && p->phone_verified ? "TRUE" : "FALSE");
	mod_opt(&ms, "yhEmail", p->email);
	mod_opt(&ms, "yhUsername", p->username);
	mod_opt(&ms, "yhOrigin", p->origin);
	mod_str(&ms, LDAP_MOD_ADD, "yhLoa", loa);
	mod_str(&ms, LDAP_MOD_ADD, "yhStatus", dir_status_str(p->status));
	mod_int(&ms, LDAP_MOD_ADD, "yhCreated", p->created);
	mod_int(&ms, LDAP_MOD_ADD, "yhUpdated", p->updated);
	mod_int(&ms, LDAP_MOD_ADD, "yhVersion", 1);
	if (rec->cred_scheme != NULL) {
		mod_str(&ms, LDAP_MOD_ADD, "yhPasswordScheme", rec->cred_scheme);
		mod_str(&ms, LDAP_MOD_ADD, "yhPasswordHash", rec->cred_hash);
		mod_int(&ms, LDAP_MOD_ADD, "yhPasswordUpdated", p->created);
	}
	if (rec->nconsents > 0)
		mod_list(&ms, LDAP_MOD_ADD, "yhPrivacy", priv);
	r = ld_write(l, 'a', dn, &ms, "person add");
	if (r != 0 && p->username != NULL)
		username_release(l, p->username);
out:
	free(loa);
	for (size_t i = 0; i < rec->nconsents; i++)
		free(priv[i]);
	return r;
}

/*
 * The values of the multi-valued JSON attribute attr of the entry of class cls with
 * yhUid uid under ou, each parsed into
 * an element of elemsz bytes, in the order of their "n" (the order they were written),
 * at most max: *out a malloc'd array (NULL when none), freed with free_list on error.
 */
typedef int (*json_parse)(const struct berval *bv, void *elem, int64_t *seq);

static int
entry_json_values(struct ldb *l, const char *ou, const char *cls, const char *uid,
    const char *attr, json_parse parse, size_t elemsz, size_t max, void **out, size_t *n)
{
	const char *attrs[] = { attr, NULL };
	char filter[256];
	struct lconn *c = NULL;
	LDAPMessage *res = NULL, *e;
	struct berval **v = NULL;
	char *arr = NULL, *tmp = NULL;
	int64_t *seqs = NULL;
	size_t cnt = 0;
	LDAP *ld;
	int r;

	*out = NULL;
	*n = 0;
	char fmt[96];

	if (snprintf(fmt, sizeof(fmt), "(&(objectClass=%s)(yhUid=%%s))", cls) >=
	    (int)sizeof(fmt))
		return YH_ERR_TOO_LONG;
	if ((r = ld_filter(filter, sizeof(filter), fmt, uid, NULL)) != 0 ||
	    (r = ld_search(l, ou, LDAP_SCOPE_ONELEVEL, filter, attrs, 2, &ld, &c, &res)) != 0)
		return r == YH_ERR_TOO_LONG ? 0 : r;
	if ((e = ldap_first_entry(ld, res)) == NULL || (v = ldap_get_values_len(ld, e, attr)) ==
	    NULL)
		goto out;
	if ((arr = calloc(max, elemsz)) == NULL || (seqs = calloc(max, sizeof(*seqs))) == NULL ||
	    (tmp = malloc(elemsz)) == NULL) {
		r = YH_ERR_ALLOC;
		goto out;
	}
	for (size_t i = 0; r == 0 && v[i] != NULL && cnt < max; i++) {
		int64_t seq;
		size_t j;

		if ((r = parse(v[i], tmp, &seq)) != 0)
			break;
		/* insertion sort on "n" */
		for (j = cnt; j > 0 && seqs[j - 1] > seq; j--)
			seqs[j] = seqs[j - 1];
		memmove(arr + (j + 1) * elemsz, arr + j * elemsz, (cnt - j) * elemsz);
		memcpy(arr + j * elemsz, tmp, elemsz);
		seqs[j] = seq;
		cnt++;
	}
out:
	free(tmp);
	free(seqs);
	ldap_value_free_len(v);
	ld_search_end(l, c, res);
	*out = arr;
	*n = cnt;
	return r;
}

static int
parse_privacy_v(const struct berval *bv, void *elem, int64_t *seq)
{
	return privacy_parse(bv, elem, seq);
}

static int
parse_loa_v(const struct berval *bv, void *elem, int64_t *seq)
{
	return loa_parse(bv, elem, seq);
}

static int
ldap_privacy_list(void *be, const char *uid, struct dir_privacy **out, size_t *n)
{
	void *arr;
	int r = entry_json_values(be, "persons", "yhPerson", uid, "yhPrivacy", parse_privacy_v, sizeof(**out),
	    DIR_PRIVACY_MAX, &arr, n);

	*out = NULL;
	if (r != 0 || *n == 0) {
		dir_privacy_list_free(arr, *n);
		*n = 0;
		return r;
	}
	*out = arr;
	return 0;
}

/*
 * Changes the person uid with the modifications fill adds to ms after reading the
 * current record (cur), guarded by its version: the modify deletes the version read and
 * adds the next, so a change in between fails it and it is done again on a fresh read.
 * fill returns 0, or an error that ends it unchanged.
 */
typedef int (*person_fill)(const struct dir_person_rec *cur, struct mods *ms, void *arg);

static int
person_change(struct ldb *l, const char *uid, person_fill fill, void *arg, const char *what)
{
	struct dir_person_rec cur;
	char dn[LD_DN_MAX];
	struct mods ms;
	int r = YH_ERR_BUSY;

	for (int attempt = 0; attempt < LD_RETRY_MAX && r == YH_ERR_BUSY; attempt++) {
		int64_t ver = 0;

		if (attempt > 0)
			ld_backoff(attempt);

		if ((r = person_get_v(l, uid, dn, sizeof(dn), &cur, &ver)) != 0)
			return r;
		mods_init(&ms);
		if (r == 0)
			r = fill(&cur, &ms, arg);
		if (r == 0) {
			mod_int(&ms, LDAP_MOD_DELETE, "yhVersion", ver);
			mod_int(&ms, LDAP_MOD_ADD, "yhVersion", ver + 1);
			r = ld_write(l, 'm', dn, &ms, what);
		}
		dir_person_rec_clear(&cur);
	}
	return r;
}

static int
fill_update(const struct dir_person_rec *cur, struct mods *ms, void *arg)
{
	const struct dir_person_rec *rec = arg;
	const struct dir_person *p = &rec->p;

	(void)cur;
	mod_set(ms, "yhName", p->name);
	dir_name_key(p->name, ms->name_key);
	mod_set(ms, "yhNameKey", ms->name_key);
	mod_set(ms, "yhSealedPhone", p->phone);
	mod_set(ms, "yhPhoneIndex", p->phone != NULL ? rec->phone_index : NULL);
	mod_str(ms, LDAP_MOD_REPLACE, "yhPhoneVerified",
	    p->phone != NULL && p->phone_verified ? "TRUE" : "FALSE");
	mod_set(ms, "yhEmail", p->email);
	mod_set(ms, "yhUsername", p->username);
	mod_int(ms, LDAP_MOD_REPLACE, "yhUpdated", p->updated);
	return 0;
}

static bool
same_username(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcasecmp(a, b) == 0;
}

static int
ldap_person_update(void *be, const struct dir_person_rec *rec)
{
	struct ldb *l = be;
	struct dir_person_rec cur;
	int r;

	if ((r = person_get(l, rec->p.uid, NULL, 0, &cur)) != 0)
		return r;
	if (rec->p.username != NULL && !same_username(cur.p.username, rec->p.username) &&
	    (r = username_claim(l, rec->p.username, rec->p.uid)) != 0)
		goto out;
	r = person_change(l, rec->p.uid, fill_update, (void *)rec, "person update");
	if (r == 0 && cur.p.username != NULL && !same_username(cur.p.username, rec->p.username))
		username_release(l, cur.p.username);
	else if (r != 0 && rec->p.username != NULL &&
	    !same_username(cur.p.username, rec->p.username))
		username_release(l, rec->p.username);
out:
	dir_person_rec_clear(&cur);
	return r;
}

/* The persons matching filter (at most 2: CONFLICT for two). */
static int
person_find_filter(struct ldb *l, const char *filter, struct dir_person_rec *out)
{
	struct lconn *c = NULL;
	LDAPMessage *res = NULL, *e;
	LDAP *ld;
	int r;

	if ((r = ld_search(l, "persons", LDAP_SCOPE_ONELEVEL, filter, person_attrs, 2, &ld, &c,
	    &res)) != 0 && r != YH_ERR_LIMIT)
		return r;
	if (r == YH_ERR_LIMIT || ldap_count_entries(ld, res) > 1)
		r = YH_ERR_CONFLICT;
	else if ((e = ldap_first_entry(ld, res)) == NULL)
		r = YH_ERR_NOT_FOUND;
	else
		r = read_person(ld, e, out);
	ld_search_end(l, c, res);
	return r;
}

/* The owner uid of the legacy links with username (in source, or any): NOT_FOUND,
 * CONFLICT for two different owners. */
static int
legacy_owner_of(struct ldb *l, const char *username, const char *source,
    char owner[DIR_UID_LEN + 1])
{
	const char *attrs[] = { "yhOwner", NULL };
	char filter[LD_DN_MAX], o[DIR_UID_LEN + 1];
	struct lconn *c = NULL;
	LDAPMessage *res = NULL, *e;
	LDAP *ld;
	int r;

	owner[0] = '\0';
	if (source != NULL)
		r = ld_filter(filter, sizeof(filter),
		    "(&(objectClass=yhLegacyLink)(yhLegacyUsername=%s)(yhLegacySource=%s))",
		    username, source);
	else
		r = ld_filter(filter, sizeof(filter),
		    "(&(objectClass=yhLegacyLink)(yhLegacyUsername=%s))", username, NULL);
	if (r != 0 || (r = ld_search(l, "legacy", LDAP_SCOPE_ONELEVEL, filter, attrs, 0, &ld,
	    &c, &res)) != 0)
		return r == YH_ERR_TOO_LONG ? YH_ERR_NOT_FOUND : r;
	for (e = ldap_first_entry(ld, res); r == 0 && e != NULL; e = ldap_next_entry(ld, e)) {
		if ((r = get_fixed(ld, e, "yhOwner", o, sizeof(o))) != 0)
			break;
		if (owner[0] == '\0')
			memcpy(owner, o, sizeof(o));
		else if (strcmp(owner, o) != 0)
			r = YH_ERR_CONFLICT;
	}
	ld_search_end(l, c, res);
	if (r == 0 && owner[0] == '\0')
		r = YH_ERR_NOT_FOUND;
	return r;
}

static int
ldap_person_find(void *be, enum dir_pkey by, const char *key, const char *source,
    struct dir_person_rec *out)
{
	struct ldb *l = be;
	char filter[LD_DN_MAX], owner[DIR_UID_LEN + 1];
	int r;

	switch (by) {
	case DIR_PK_UID:
		return person_get(l, key, NULL, 0, out);
	case DIR_PK_ID_INDEX:
		r = ld_filter(filter, sizeof(filter), "(&(objectClass=yhPerson)(yhIdIndex=%s))",
		    key, NULL);
		break;
	case DIR_PK_PHONE_INDEX:
		r = ld_filter(filter, sizeof(filter), "(&(objectClass=yhPerson)(yhPhoneIndex=%s)"
		    "(yhPhoneVerified=TRUE))", key, NULL);
		break;
	case DIR_PK_USERNAME:
		r = ld_filter(filter, sizeof(filter), "(&(objectClass=yhPerson)(yhUsername=%s))",
		    key, NULL);
		break;
	case DIR_PK_LEGACY_USERNAME:
		if ((r = legacy_owner_of(l, key, source, owner)) != 0)
			return r;
		return person_get(l, owner, NULL, 0, out);
	default:
		return YH_ERR_INVALID;
	}
	if (r != 0)
		return r == YH_ERR_TOO_LONG ? YH_ERR_NOT_FOUND : r;
	return person_find_filter(l, filter, out);
}

struct status_arg {
	enum dir_status st;
	int64_t now;
};

static int
fill_status(const struct dir_person_rec *cur, struct mods *ms, void *arg)
{
	const struct status_arg *a = arg;

	/* deregistration is final; its time is recorded once */
	if (cur->p.status == DIR_STATUS_DEREGISTERED && a->st != DIR_STATUS_DEREGISTERED)
		return YH_ERR_DENIED;
	mod_str(ms, LDAP_MOD_REPLACE, "yhStatus", dir_status_str(a->st));
	mod_int(ms, LDAP_MOD_REPLACE, "yhUpdated", a->now);
	if (a->st == DIR_STATUS_DEREGISTERED && cur->p.status != DIR_STATUS_DEREGISTERED)
		mod_int(ms, LDAP_MOD_REPLACE, "yhDeregistered", a->now);
	return 0;
}

static int
ldap_person_set_status(void *be, const char *uid, enum dir_status st, int64_t now)
{
	struct status_arg a = { st, now };
	int r = person_change(be, uid, fill_status, &a, "set status");

	/* a deregistration ends the person's relations */
	if (r == 0 && st == DIR_STATUS_DEREGISTERED)
		r = person_end_relations(be, uid, now);
	return r;
}

struct loa_arg {
	const struct dir_loa *v;
	bool raise_only;
	int64_t now;
	bool applied;
	char *json, *event;
};

static int
fill_loa(const struct dir_person_rec *cur, struct mods *ms, void *arg)
{
	struct loa_arg *a = arg;
	struct timespec ts;

	if (cur->p.status == DIR_STATUS_DEREGISTERED)
		return YH_ERR_DENIED;
	free(a->json);
	free(a->event);
	a->json = a->event = NULL;
	a->applied = !a->raise_only || a->v->level > cur->p.loa.level;
	clock_gettime(CLOCK_REALTIME, &ts);
	/* the history value carries when it was written (ns) and whether it applied: two
	 * identical events stay two values */
	{
		json_t *o = json_pack("{s:I,s:i,s:s,s:s?,s:s?,s:I,s:b}", "n",
		    (json_int_t)ts.tv_sec * 1000000000 + ts.tv_nsec, "level", a->v->level,
		    "method", a->v->method, "by", a->v->by, "evidence", a->v->evidence, "at",
		    (json_int_t)a->v->at, "applied", a->applied);

		a->event = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		json_decref(o);
	}
	if (a->event == NULL || (a->applied && (a->json = loa_json(a->v, 0)) == NULL))
		return YH_ERR_ALLOC;
	if (a->applied) {
		mod_str(ms, LDAP_MOD_REPLACE, "yhLoa", a->json);
		mod_int(ms, LDAP_MOD_REPLACE, "yhUpdated", a->now);
	}
	mod_str(ms, LDAP_MOD_ADD, "yhLoaHistory", a->event);
	return 0;
}

static int
ldap_person_set_loa(void *be, const char *uid, const struct dir_loa *v, bool raise_only,
    int64_t now, bool *applied)
{
	struct loa_arg a = { .v = v, .raise_only = raise_only, .now = now };
	int r = person_change(be, uid, fill_loa, &a, "set loa");

	*applied = r == 0 && a.applied;
	free(a.json);
	free(a.event);
	return r;
}

static int
ldap_person_loa_history(void *be, const char *uid, struct dir_loa **out, size_t *n)
{
	void *arr;
	int r = entry_json_values(be, "persons", "yhPerson", uid, "yhLoaHistory", parse_loa_v, sizeof(**out),
	    DIR_LIST_MAX, &arr, n);

	*out = NULL;
	if (r != 0 || *n == 0) {
		dir_loa_list_free(arr, *n);
		*n = 0;
		return r;
	}
	*out = arr;
	return 0;
}

/*
 * Calls each(ld, e, arg) for every entry under ou that filter matches, a page of
 * LD_PAGE entries at a time (the simple paged results control, RFC 2696), so that a
 * server's size limit for the service account does not cut a whole-store scan short.
 * Stops at the first non-zero each.
 */
#define LD_PAGE 500

typedef int (*ld_each)(LDAP *ld, LDAPMessage *e, void *arg);

static int
ld_scan(struct ldb *l, const char *ou, const char *filter, const char *const *attrs,
    ld_each each, void *arg)
{
	struct timeval tv = { .tv_sec = l->timeout, .tv_usec = 0 };
	struct berval cookie = { 0, NULL };
	char base[LD_DN_MAX];
	struct lconn *c;
	bool lost = false;
	int r, rc;

	if ((r = ld_dn(l, NULL, NULL, ou, base, sizeof(base))) != 0)
		return r;
	if ((r = conn_get(l, &c)) != 0)
		return r;
	do {
		LDAPControl *page = NULL, *ctrls[2] = { NULL, NULL }, **rctrls = NULL, *pr;
		LDAPMessage *res = NULL;
		ber_int_t total;
		int err = LDAP_SUCCESS;

		if ((rc = ldap_create_page_control(c->ld, LD_PAGE, cookie.bv_val != NULL ?
		    &cookie : NULL, 1, &page)) != LDAP_SUCCESS) {
			r = YH_ERR_ALLOC;
			break;
		}
		ctrls[0] = page;
		rc = ldap_search_ext_s(c->ld, base, LDAP_SCOPE_ONELEVEL, filter, (char **)attrs, 0,
		    ctrls, NULL, &tv, 0, &res);
		ldap_control_free(page);
		ber_memfree(cookie.bv_val);
		cookie.bv_val = NULL;
		cookie.bv_len = 0;
		if (rc == LDAP_SUCCESS && ldap_parse_result(c->ld, res, &err, NULL, NULL, NULL,
		    &rctrls, 0) != LDAP_SUCCESS)
			rc = LDAP_OTHER;
		if (rc == LDAP_SUCCESS)
			rc = err;
		for (LDAPMessage *e = ldap_first_entry(c->ld, res); rc == LDAP_SUCCESS && r == 0 &&
		    e != NULL; e = ldap_next_entry(c->ld, e))
			r = each(c->ld, e, arg);
		if (rc == LDAP_SUCCESS && r == 0 && (pr = ldap_control_find(
		    LDAP_CONTROL_PAGEDRESULTS, rctrls, NULL)) != NULL &&
		    ldap_parse_pageresponse_control(c->ld, pr, &total, &cookie) != LDAP_SUCCESS)
			rc = LDAP_OTHER;
		ldap_controls_free(rctrls);
		ldap_msgfree(res);
		if (rc != LDAP_SUCCESS) {
			lost = rc_lost(rc);
			r = rc_map(rc, "scan");
		}
	} while (r == 0 && cookie.bv_val != NULL && cookie.bv_len > 0);
	ber_memfree(cookie.bv_val);
	conn_put(l, c, lost);
	return r;
}

/* Makes room for one more element of elemsz bytes in *v (n used of *cap), doubling from
 * first. YH_ERR_LIMIT past LD_SCAN_MAX elements. */
static int
arr_grow(void **v, size_t *cap, size_t n, size_t elemsz, size_t first)
{
	size_t nc;
	void *nv;

	if (n < *cap)
		return 0;
	nc = *cap != 0 ? *cap * 2 : first;
	if (nc > LD_SCAN_MAX)
		return YH_ERR_LIMIT;
	if ((nv = realloc(*v, nc * elemsz)) == NULL)
		return YH_ERR_ALLOC;
	*v = nv;
	*cap = nc;
	return 0;
}

/* A person as the whole-store operations order and page them. */
struct prow {
	char uid[DIR_UID_LEN + 1];
	int64_t created, t;   /* t: when deregistered (0: not) */
};

struct prows {
	struct prow *rows;
	size_t n, cap;
};

static int
prow_add(LDAP *ld, LDAPMessage *e, void *arg)
{
	struct prows *p = arg;
	struct prow *row;

	int r = arr_grow((void **)&p->rows, &p->cap, p->n, sizeof(*p->rows), 256);

	if (r != 0)
		return r;
	row = &p->rows[p->n];
	if (get_fixed(ld, e, "yhUid", row->uid, sizeof(row->uid)) != 0 || row->uid[0] == '\0')
		return YH_ERR_DB;
	row->created = get_int(ld, e, "yhCreated");
	row->t = get_int(ld, e, "yhDeregistered");
	p->n++;
	return 0;
}

static int
prow_by_created(const void *a, const void *b)
{
	const struct prow *x = a, *y = b;

	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->uid, y->uid);
}

static int
prow_by_uid(const void *a, const void *b)
{
	return strcmp(((const struct prow *)a)->uid, ((const struct prow *)b)->uid);
}

/* The persons filter matches, as rows sorted by cmp (free p->rows). */
static int
person_rows(struct ldb *l, const char *filter, int (*cmp)(const void *, const void *),
    struct prows *p)
{
	const char *attrs[] = { "yhUid", "yhCreated", "yhDeregistered", NULL };
	int r;

	memset(p, 0, sizeof(*p));
	if ((r = ld_scan(l, "persons", filter, attrs, prow_add, p)) == 0 && p->n > 0)
		qsort(p->rows, p->n, sizeof(*p->rows), cmp);
	return r;
}

static int
ldap_person_list(void *be, uint64_t offset, size_t limit, struct dir_person_rec **out,
    size_t *n)
{
	struct ldb *l = be;
	struct dir_person_rec *arr = NULL;
	struct prows p;
	size_t cnt = 0;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = person_rows(l, "(objectClass=yhPerson)", prow_by_created, &p)) != 0 ||
	    offset >= p.n)
		goto out;
	if ((arr = calloc(limit, sizeof(*arr))) == NULL) {
		r = YH_ERR_ALLOC;
		goto out;
	}
	for (size_t i = (size_t)offset; r == 0 && i < p.n && cnt < limit; i++) {
		/* a person purged since the scan is skipped */
		if ((r = person_get(l, p.rows[i].uid, NULL, 0, &arr[cnt])) == 0)
			cnt++;
		else if (r == YH_ERR_NOT_FOUND)
			r = 0;
	}
out:
	free(p.rows);
	if (r != 0 || cnt == 0) {
		for (size_t i = 0; i < cnt; i++)
			dir_person_rec_clear(&arr[i]);
		free(arr);
		return r;
	}
	*out = arr;
	*n = cnt;
	return 0;
}

static int
count_one(LDAP *ld, LDAPMessage *e, void *arg)
{
	(void)ld, (void)e;
	(*(uint64_t *)arg)++;
	return 0;
}

static int
ldap_person_count(void *be, uint64_t *out)
{
	const char *attrs[] = { LDAP_NO_ATTRS, NULL };

	*out = 0;
	return ld_scan(be, "persons", "(objectClass=yhPerson)", attrs, count_one, out);
}

/* Persons in uid order above after, at most limit: all (entity rows) or, with tomb, the
 * deregistered before `before` (tombstone rows). */
static int
person_page(struct ldb *l, const char *after, size_t limit, int64_t before, bool tomb,
    void *out, size_t stride, size_t *n)
{
	struct prows p;
	int r;

	*n = 0;
	if ((r = person_rows(l, tomb ? "(&(objectClass=yhPerson)(yhStatus=deregistered))" :
	    "(objectClass=yhPerson)", prow_by_uid, &p)) == 0) {
		for (size_t i = 0; i < p.n && *n < limit; i++) {
			char *row = (char *)out + *n * stride;

			if (strcmp(p.rows[i].uid, after != NULL ? after : "") <= 0)
				continue;
			if (tomb && p.rows[i].t >= before)
				continue;
			memcpy(row, p.rows[i].uid, DIR_UID_LEN + 1);
			if (tomb)
				((struct dir_tombstone *)(void *)row)->deregistered = p.rows[i].t;
			else
				((struct dir_entity *)(void *)row)->org = false;
			(*n)++;
		}
	}
	free(p.rows);
	return r;
}

static int
ldap_person_tombstones(void *be, int64_t before, const char *after, size_t limit,
    struct dir_tombstone *out, size_t *n)
{
	return person_page(be, after, limit, before, true, out, sizeof(*out), n);
}

/* Persons and organizations above after in uid order: a page of each, merged. */
static int
ldap_entity_list(void *be, const char *after, size_t limit, struct dir_entity *out,
    size_t *n)
{
	struct dir_entity *pe = NULL, *oe = NULL;
	size_t np = 0, no = 0, i = 0, j = 0;
	int r = YH_ERR_ALLOC;

	*n = 0;
	if (limit == 0)
		return 0;
	if ((pe = calloc(limit, sizeof(*pe))) == NULL || (oe = calloc(limit, sizeof(*oe))) == NULL)
		goto out;
	if ((r = person_page(be, after, limit, 0, false, pe, sizeof(*pe), &np)) != 0 ||
	    (r = org_page(be, after, limit, oe, &no)) != 0)
		goto out;
	while (*n < limit && (i < np || j < no))
		out[(*n)++] = j >= no || (i < np && strcmp(pe[i].uid, oe[j].uid) < 0) ? pe[i++] :
		    oe[j++];
out:
	free(pe);
	free(oe);
	return r;
}

/* The DNs a scan found (dn_add). */
struct dns {
	char **v;
	size_t n, cap;
};

static int
dn_add(LDAP *ld, LDAPMessage *e, void *arg)
{
	struct dns *d = arg;
	int r = arr_grow((void **)&d->v, &d->cap, d->n, sizeof(*d->v), 16);

	if (r != 0)
		return r;
	return (d->v[d->n++] = ldap_get_dn(ld, e)) != NULL ? 0 : YH_ERR_DB;
}

/* Deletes every entry under ou whose yhOwner is uid. */
static int
delete_owned(struct ldb *l, const char *ou, const char *uid)
{
	const char *attrs[] = { LDAP_NO_ATTRS, NULL };
	struct dns d = { NULL, 0, 0 };
	char filter[256];
	int r;

	if ((r = ld_filter(filter, sizeof(filter), "(yhOwner=%s)", uid, NULL)) == 0)
		r = ld_scan(l, ou, filter, attrs, dn_add, &d);
	for (size_t i = 0; i < d.n; i++) {
		int x = d.v[i] != NULL ? ld_write(l, 'd', d.v[i], NULL, "purge") : 0;

		if (r == 0 && x != 0 && x != YH_ERR_NOT_FOUND)
			r = x;
		ldap_memfree(d.v[i]);
	}
	free(d.v);
	return r;
}

/* Erases a person deregistered before `before` (person_erase). */
static int
ldap_person_purge(void *be, const char *uid, int64_t before)
{
	struct ldb *l = be;
	struct dir_person_rec cur;
	int64_t t = 0;
	int r;

	if ((r = person_get(l, uid, NULL, 0, &cur)) != 0)
		return r;
	if (cur.p.status == DIR_STATUS_DEREGISTERED) {
		const char *attrs[] = { "yhDeregistered", NULL };
		char filter[256];
		struct lconn *c = NULL;
		LDAPMessage *res = NULL, *e;
		LDAP *ld;

		if ((r = ld_filter(filter, sizeof(filter), "(yhUid=%s)", uid, NULL)) == 0 &&
		    (r = ld_search(l, "persons", LDAP_SCOPE_ONELEVEL, filter, attrs, 2, &ld, &c,
		    &res)) == 0 && (e = ldap_first_entry(ld, res)) != NULL)
			t = get_int(ld, e, "yhDeregistered");
		ld_search_end(l, c, res);
	}
	if (r == 0 && (cur.p.status != DIR_STATUS_DEREGISTERED || t >= before))
		r = YH_ERR_DENIED;
	if (r == 0)
		r = person_erase(l, uid);
	dir_person_rec_clear(&cur);
	return r;
}

static int
ldap_person_find_name(void *be, const char *name, size_t limit, struct dir_entity *out,
    size_t *n)
{
	char filter[LD_DN_MAX];
	struct prows p;
	int r;

	*n = 0;
	if ((r = ld_filter(filter, sizeof(filter), "(&(objectClass=yhPerson)(yhName=%s))", name,
	    NULL)) != 0)
		return r == YH_ERR_TOO_LONG ? 0 : r;
	if ((r = person_rows(be, filter, prow_by_uid, &p)) == 0)
		for (size_t i = 0; i < p.n && *n < limit; i++, (*n)++) {
			memcpy(out[*n].uid, p.rows[i].uid, sizeof(out[*n].uid));
			out[*n].org = false;
		}
	free(p.rows);
	return r;
}

/* Name search: the persons whose folded name begins with key, in uid order, then those
 * whose folded name contains it elsewhere (dir_person_search_name). */
static int
ldap_person_search_name(void *be, const char *key, size_t limit, struct dir_entity *out,
    size_t *n)
{
	static const char *const fmt[2] = { "(&(objectClass=yhPerson)(yhNameKey=%s*))",
		"(&(objectClass=yhPerson)(yhNameKey=*%s*)(!(yhNameKey=%s*)))" };
	char filter[LD_DN_MAX];
	struct prows p;
	int r = 0;

	*n = 0;
	for (int pass = 0; pass < 2 && r == 0 && *n < limit; pass++) {
		if ((r = ld_filter(filter, sizeof(filter), fmt[pass], key, pass ? key : NULL)) != 0)
			return r == YH_ERR_TOO_LONG ? 0 : r;
		if ((r = person_rows(be, filter, prow_by_uid, &p)) == 0)
			for (size_t i = 0; i < p.n && *n < limit; i++, (*n)++) {
				memcpy(out[*n].uid, p.rows[i].uid, sizeof(out[*n].uid));
				out[*n].org = false;
			}
		free(p.rows);
	}
	return r;
}

/* The persons stored without a folded name (before name search): their DN and name. */
struct nkrows {
	struct nkrow {
		char *dn, *name;
	} *rows;
	size_t n, cap;
};

static int
nkrow_add(LDAP *ld, LDAPMessage *e, void *arg)
{
	struct nkrows *p = arg;
	struct nkrow *row;
	int r = arr_grow((void **)&p->rows, &p->cap, p->n, sizeof(*p->rows), 64);

	if (r != 0)
		return r;
	row = &p->rows[p->n];
	row->name = NULL;
	if ((row->dn = ldap_get_dn(ld, e)) == NULL)
		return YH_ERR_DB;
	if ((r = get_str(ld, e, "yhName", &row->name)) != 0 || row->name == NULL) {
		ldap_memfree(row->dn);
		return r != 0 ? r : YH_ERR_DB;
	}
	p->n++;
	return 0;
}

/*
 * Gives the persons stored without a yhNameKey theirs (an entry made before name
 * search), at open. Each modify deletes and adds the name it folded, so an entry whose
 * name changed meanwhile is refused and left to the change (which writes its key
 * itself). Returns the scan's error, else the first modify's.
 */
static int
ld_fill_name_keys(struct ldb *l)
{
	const char *attrs[] = { "yhName", NULL };
	struct nkrows p;
	struct mods ms;
	int r, w, first = 0;

	memset(&p, 0, sizeof(p));
	r = ld_scan(l, "persons", "(&(objectClass=yhPerson)(!(yhNameKey=*)))", attrs,
	    nkrow_add, &p);
	if (r == YH_ERR_NOT_FOUND)
		r = 0;   /* no persons branch yet */
	for (size_t i = 0; i < p.n; i++) {
		mods_init(&ms);
		dir_name_key(p.rows[i].name, ms.name_key);
		if (r == 0 && ms.name_key[0] != '\0') {
			mod_str(&ms, LDAP_MOD_DELETE, "yhName", p.rows[i].name);
			mod_str(&ms, LDAP_MOD_ADD, "yhName", p.rows[i].name);
			mod_str(&ms, LDAP_MOD_REPLACE, "yhNameKey", ms.name_key);
			w = ld_write(l, 'm', p.rows[i].dn, &ms, "name key");
			if (w != 0 && first == 0)
				first = w;   /* the others are still given theirs */
		}
		ldap_memfree(p.rows[i].dn);
		free(p.rows[i].name);
	}
	free(p.rows);
	return r != 0 ? r : first;
}

/* ---- credentials and TOTP (on the person entry) ---- */

static int
ldap_cred_get(void *be, const char *owner, struct dir_cred *out)
{
	struct ldb *l = be;
	const char *attrs[] = { "yhPasswordScheme", "yhPasswordHash", "yhPasswordSalt",
		"yhPasswordUpdated", NULL };
	char filter[256];
	struct lconn *c = NULL;
	LDAPMessage *res = NULL, *e;
	LDAP *ld;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = ld_filter(filter, sizeof(filter), "(&(objectClass=yhPerson)(yhUid=%s))", owner,
	    NULL)) != 0 || (r = ld_search(l, "persons", LDAP_SCOPE_ONELEVEL, filter, attrs, 2,
	    &ld, &c, &res)) != 0)
		return r == YH_ERR_TOO_LONG ? YH_ERR_NOT_FOUND : r;
	if ((e = ldap_first_entry(ld, res)) == NULL)
		r = YH_ERR_NOT_FOUND;
	else if ((r = get_str(ld, e, "yhPasswordScheme", &out->scheme)) == 0 &&
	    (r = get_str(ld, e, "yhPasswordHash", &out->hash)) == 0 &&
	    (r = get_str(ld, e, "yhPasswordSalt", &out->salt)) == 0) {
		out->updated = get_int(ld, e, "yhPasswordUpdated");
		if (out->scheme == NULL || out->hash == NULL)
			r = YH_ERR_NOT_FOUND;
	}
	ld_search_end(l, c, res);
	if (r != 0)
		dir_cred_clear(out);
	return r;
}

struct cred_arg {
	const char *scheme, *hash, *salt;
	int64_t now;
};

static int
fill_cred(const struct dir_person_rec *cur, struct mods *ms, void *arg)
{
	const struct cred_arg *a = arg;

	(void)cur;
	mod_str(ms, LDAP_MOD_REPLACE, "yhPasswordScheme", a->scheme);
	mod_str(ms, LDAP_MOD_REPLACE, "yhPasswordHash", a->hash);
	mod_set(ms, "yhPasswordSalt", a->salt);
	mod_int(ms, LDAP_MOD_REPLACE, "yhPasswordUpdated", a->now);
	return 0;
}

static int
ldap_cred_set(void *be, const char *owner, const char *scheme, const char *hash,
    const char *salt, int64_t now)
{
	struct cred_arg a = { scheme, hash, salt, now };

	return person_change(be, owner, fill_cred, &a, "cred set");
}

/* Reads the TOTP attributes of owner: NOT_FOUND when not a person or not enrolled. */
static int
totp_read(struct ldb *l, const char *owner, struct dir_totp_rec *out, char *dn, size_t dnsz,
    char step[LD_NUM_LEN])
{
	const char *attrs[] = { "yhTotpSealedSeed", "yhTotpConfirmed", "yhTotpLastStep",
		"yhTotpCreated", NULL };
	char filter[256], *d;
	struct lconn *c = NULL;
	LDAPMessage *res = NULL, *e;
	LDAP *ld;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = ld_filter(filter, sizeof(filter), "(&(objectClass=yhPerson)(yhUid=%s))", owner,
	    NULL)) != 0 || (r = ld_search(l, "persons", LDAP_SCOPE_ONELEVEL, filter, attrs, 2,
	    &ld, &c, &res)) != 0)
		return r == YH_ERR_TOO_LONG ? YH_ERR_NOT_FOUND : r;
	if ((e = ldap_first_entry(ld, res)) == NULL)
		r = YH_ERR_NOT_FOUND;
	else if ((r = get_str(ld, e, "yhTotpSealedSeed", &out->seed_sealed)) == 0) {
		if (out->seed_sealed == NULL)
			r = YH_ERR_NOT_FOUND;
		out->confirmed = get_bool(ld, e, "yhTotpConfirmed");
		out->last_step = get_int(ld, e, "yhTotpLastStep");
		out->created = get_int(ld, e, "yhTotpCreated");
		if (r == 0 && step != NULL)
			r = get_fixed(ld, e, "yhTotpLastStep", step, LD_NUM_LEN);
		if (r == 0 && dn != NULL) {
			if ((d = ldap_get_dn(ld, e)) == NULL)
				r = YH_ERR_DB;
			else if (snprintf(dn, dnsz, "%s", d) >= (int)dnsz)
				r = YH_ERR_TOO_LONG;
			ldap_memfree(d);
		}
	}
	ld_search_end(l, c, res);
	if (r != 0) {
		free(out->seed_sealed);
		out->seed_sealed = NULL;
	}
	return r;
}

struct totp_arg {
	const char *seed;
	bool confirmed;
	int64_t now;
	int what;   /* 0 set, 1 confirm, 2 delete */
};

static int
fill_totp(const struct dir_person_rec *cur, struct mods *ms, void *arg)
{
	const struct totp_arg *a = arg;

	(void)cur;
	if (a->what == 0) {
		mod_str(ms, LDAP_MOD_REPLACE, "yhTotpSealedSeed", a->seed);
		mod_str(ms, LDAP_MOD_REPLACE, "yhTotpConfirmed", a->confirmed ? "TRUE" : "FALSE");
		mod_int(ms, LDAP_MOD_REPLACE, "yhTotpLastStep", -1);
		mod_int(ms, LDAP_MOD_REPLACE, "yhTotpCreated", a->now);
	} else if (a->what == 1)
		mod_str(ms, LDAP_MOD_REPLACE, "yhTotpConfirmed", "TRUE");
	else {
		mod_str(ms, LDAP_MOD_REPLACE, "yhTotpSealedSeed", NULL);
		mod_str(ms, LDAP_MOD_REPLACE, "yhTotpConfirmed", NULL);
		mod_str(ms, LDAP_MOD_REPLACE, "yhTotpLastStep", NULL);
		mod_str(ms, LDAP_MOD_REPLACE, "yhTotpCreated", NULL);
	}
	return 0;
}

static int
ldap_totp_set(void *be, const char *owner, const char *seed_sealed, bool confirmed,
    int64_t now)
{
	struct totp_arg a = { seed_sealed, confirmed, now, 0 };

	return person_change(be, owner, fill_totp, &a, "totp set");
}

/* confirm (what 1) or delete (2): NOT_FOUND when there is no enrolment. */
static int
totp_change(struct ldb *l, const char *owner, int what)
{
	struct totp_arg a = { NULL, false, 0, what };
	struct dir_totp_rec t;
	int r;

	if ((r = totp_read(l, owner, &t, NULL, 0, NULL)) != 0)
		return r;
	free(t.seed_sealed);
	return person_change(l, owner, fill_totp, &a, what == 1 ? "totp confirm" :
	    "totp delete");
}

static int
ldap_totp_confirm(void *be, const char *owner)
{
	return totp_change(be, owner, 1);
}

static int
ldap_totp_delete(void *be, const char *owner)
{
	return totp_change(be, owner, 2);
}

static int
ldap_totp_get(void *be, const char *owner, struct dir_totp_rec *out)
{
	return totp_read(be, owner, out, NULL, 0, NULL);
}

/* Stores step when it is above the last one: the modify deletes the step read, so two
 * logins with one code cannot both pass. */
static int
ldap_totp_consume(void *be, const char *owner, int64_t step)
{
	struct ldb *l = be;
	struct dir_totp_rec t;
	char dn[LD_DN_MAX], old[LD_NUM_LEN];
	struct mods ms;
	int r = YH_ERR_BUSY;

	for (int attempt = 0; attempt < LD_RETRY_MAX && r == YH_ERR_BUSY; attempt++) {
		if (attempt > 0)
			ld_backoff(attempt);
		if ((r = totp_read(l, owner, &t, dn, sizeof(dn), old)) != 0)
			return r;
		free(t.seed_sealed);
		if (step <= t.last_step)
			return YH_ERR_REPLAY;
		mods_init(&ms);
		mod_str(&ms, LDAP_MOD_DELETE, "yhTotpLastStep", old);
		mod_int(&ms, LDAP_MOD_ADD, "yhTotpLastStep", step);
		r = ld_write(l, 'm', dn, &ms, "totp consume");
	}
	return r;
}

/* ---- consents ---- */

static int
consent_dn(struct ldb *l, const char *owner, const char *client, char *dn, size_t dnsz,
    char *key, size_t keysz)
{
	int r;

	if ((r = pair_key(owner, client, key, keysz)) != 0)
		return r;
	return ld_dn(l, "yhKey", key, "consents", dn, dnsz);
}

/* Joins the yhScope values, sorted, space-separated. */
static int
scopes_join(struct berval **v, char **out)
{
	size_t n = ldap_count_values_len(v), len = 1;
	char **s = NULL, *o = NULL;
	int r = 0;

	*out = NULL;
	if (n > 0 && (s = calloc(n, sizeof(*s))) == NULL)
		return YH_ERR_ALLOC;
	for (size_t i = 0; r == 0 && i < n; i++) {
		if ((s[i] = strndup(v[i]->bv_val, v[i]->bv_len)) == NULL)
			r = YH_ERR_ALLOC;
		else
			len += strlen(s[i]) + 1;
	}
	for (size_t i = 1; r == 0 && i < n; i++)
		for (size_t j = i; j > 0 && strcmp(s[j - 1], s[j]) > 0; j--) {
			char *t = s[j];

			s[j] = s[j - 1];
			s[j - 1] = t;
		}
	if (r == 0 && (o = calloc(1, len)) == NULL)
		r = YH_ERR_ALLOC;
	for (size_t i = 0, off = 0; r == 0 && i < n; i++) {
		size_t sl = strlen(s[i]);

		if (i > 0)
			o[off++] = ' ';
		memcpy(o + off, s[i], sl);
		off += sl;
	}
	for (size_t i = 0; s != NULL && i < n; i++)
		free(s[i]);
	free(s);
	if (r == 0)
		*out = o;
	else
		free(o);
	return r;
}

static int
read_consent(LDAP *ld, LDAPMessage *e, struct dir_consent *out)
{
	struct berval **v = ldap_get_values_len(ld, e, "yhScope");
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = get_str(ld, e, "yhClientId", &out->client_id)) == 0)
		r = scopes_join(v, &out->scopes);
	ldap_value_free_len(v);
	out->created = get_int(ld, e, "yhCreated");
	out->updated = get_int(ld, e, "yhUpdated");
	if (r == 0 && (out->client_id == NULL || out->scopes == NULL))
		r = YH_ERR_DB;
	if (r != 0)
		dir_consent_clear(out);
	return r;
}

static const char *const consent_attrs[] = { "yhClientId", "yhScope", "yhCreated",
	"yhUpdated", NULL };

static int
ldap_consent_get(void *be, const char *owner, const char *client, struct dir_consent *out)
{
	struct ldb *l = be;
	char filter[LD_DN_MAX];
	struct lconn *c = NULL;
	LDAPMessage *res = NULL, *e;
	LDAP *ld;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = ld_filter(filter, sizeof(filter),
	    "(&(objectClass=yhConsent)(yhOwner=%s)(yhClientId=%s))", owner, client)) != 0 ||
	    (r = ld_search(l, "consents", LDAP_SCOPE_ONELEVEL, filter, consent_attrs, 2, &ld, &c,
	    &res)) != 0)
		return r == YH_ERR_TOO_LONG ? YH_ERR_NOT_FOUND : r;
	if ((e = ldap_first_entry(ld, res)) == NULL)
		r = YH_ERR_NOT_FOUND;
	else
		r = read_consent(ld, e, out);
	ld_search_end(l, c, res);
	return r;
}

/* The consent entry's scopes and version (NOT_FOUND when there is none). */
static int
consent_read(struct ldb *l, const char *owner, const char *client, struct berval ***scopes,
    int64_t *ver)
{
	const char *attrs[] = { "yhScope", "yhVersion", NULL };
	char filter[LD_DN_MAX];
	struct lconn *c = NULL;
	LDAPMessage *res = NULL, *e;
	LDAP *ld;
	int r;

	*scopes = NULL;
	if ((r = ld_filter(filter, sizeof(filter),
	    "(&(objectClass=yhConsent)(yhOwner=%s)(yhClientId=%s))", owner, client)) != 0 ||
	    (r = ld_search(l, "consents", LDAP_SCOPE_ONELEVEL, filter, attrs, 2, &ld, &c,
	    &res)) != 0)
		return r;
	if ((e = ldap_first_entry(ld, res)) == NULL)
		r = YH_ERR_NOT_FOUND;
	else {
		*scopes = ldap_get_values_len(ld, e, "yhScope");
		*ver = get_int(ld, e, "yhVersion");
	}
	ld_search_end(l, c, res);
	return r;
}

/* How many of the n scopes are not among have; with vals, they are put there
 * (NULL-terminated). */
static size_t
scopes_new(struct berval **have, const char *const *scopes, size_t n, char **vals)
{
	size_t add = 0;

	for (size_t i = 0; i < n; i++) {
		bool seen = false;

		for (size_t j = 0; have != NULL && have[j] != NULL && !seen; j++)
			seen = have[j]->bv_len == strlen(scopes[i]) &&
			    memcmp(have[j]->bv_val, scopes[i], have[j]->bv_len) == 0;
		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(scopes[j], scopes[i]) == 0;
		if (!seen && vals != NULL)
			vals[add] = (char *)scopes[i];
		add += !seen;
	}
	if (vals != NULL)
		vals[add] = NULL;
	return add;
}

/*
 * Adds the scopes to the consent (a union), at most DIR_SCOPES_MAX in all (LIMIT). The
 * first grant adds the entry (the owner must be a person); a later one is a modify that
 * adds the scopes not there yet, guarded by the version read. A concurrent grant makes
 * it read and count again.
 */
static int
ldap_consent_add(void *be, const char *owner, const char *client, const char *const *scopes,
    size_t n, int64_t now)
{
	struct ldb *l = be;
	char dn[LD_DN_MAX], key[LD_DN_MAX], **vals;
	struct berval **have = NULL;
	struct mods ms;
	int64_t ver = 0;
	int r = YH_ERR_BUSY;

	if (n == 0)
		return YH_ERR_INVALID;
	if ((r = consent_dn(l, owner, client, dn, sizeof(dn), key, sizeof(key))) != 0)
		return r;
	if ((vals = calloc(n + 1, sizeof(*vals))) == NULL)
		return YH_ERR_ALLOC;
	r = YH_ERR_BUSY;
	for (int attempt = 0; attempt < LD_RETRY_MAX && r == YH_ERR_BUSY; attempt++) {
		if (attempt > 0)
			ld_backoff(attempt);
		ldap_value_free_len(have);
		have = NULL;
		if ((r = consent_read(l, owner, client, &have, &ver)) == 0) {
			size_t add = scopes_new(have, scopes, n, vals);

			if ((size_t)ldap_count_values_len(have) + add > DIR_SCOPES_MAX) {
				r = YH_ERR_LIMIT;
				break;
			}
			mods_init(&ms);
			if (add > 0)
				mod_list(&ms, LDAP_MOD_ADD, "yhScope", vals);
			mod_int(&ms, LDAP_MOD_REPLACE, "yhUpdated", now);
			mod_int(&ms, LDAP_MOD_DELETE, "yhVersion", ver);
			mod_int(&ms, LDAP_MOD_ADD, "yhVersion", ver + 1);
			/* gone in between: add it again */
			if ((r = ld_write(l, 'm', dn, &ms, "consent add")) == YH_ERR_NOT_FOUND)
				r = YH_ERR_BUSY;
			continue;
		}
		if (r != YH_ERR_NOT_FOUND || (r = person_exists(l, owner)) != 0)
			break;
		if (scopes_new(NULL, scopes, n, vals) > DIR_SCOPES_MAX) {
			r = YH_ERR_LIMIT;
			break;
		}
		mods_init(&ms);
		mod_str(&ms, LDAP_MOD_ADD, "objectClass", "yhConsent");
		mod_str(&ms, LDAP_MOD_ADD, "yhKey", key);
		mod_str(&ms, LDAP_MOD_ADD, "yhOwner", owner);
		mod_str(&ms, LDAP_MOD_ADD, "yhClientId", client);
		mod_list(&ms, LDAP_MOD_ADD, "yhScope", vals);
		mod_int(&ms, LDAP_MOD_ADD, "yhCreated", now);
		mod_int(&ms, LDAP_MOD_ADD, "yhUpdated", now);
		mod_int(&ms, LDAP_MOD_ADD, "yhVersion", 1);
		/* two first grants at once: the loser adds to the winner's */
		if ((r = ld_write(l, 'a', dn, &ms, "consent add")) == YH_ERR_EXISTS)
			r = YH_ERR_BUSY;
	}
	ldap_value_free_len(have);
	free(vals);
	return r;
}

static int
ldap_consent_list(void *be, const char *owner, struct dir_consent **out, size_t *n)
{
	struct ldb *l = be;
	char filter[256];
	struct lconn *c = NULL;
	LDAPMessage *res = NULL, *e;
	struct dir_consent *arr = NULL;
	size_t cnt = 0, max;
	LDAP *ld;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = ld_filter(filter, sizeof(filter), "(&(objectClass=yhConsent)(yhOwner=%s))",
	    owner, NULL)) != 0 || (r = ld_search(l, "consents", LDAP_SCOPE_ONELEVEL, filter,
	    consent_attrs, 0, &ld, &c, &res)) != 0)
		return r == YH_ERR_TOO_LONG ? 0 : r;
	max = (size_t)(ldap_count_entries(ld, res) > 0 ? ldap_count_entries(ld, res) : 0);
	if (max > 0 && (arr = calloc(max, sizeof(*arr))) == NULL)
		r = YH_ERR_ALLOC;
	for (e = ldap_first_entry(ld, res); r == 0 && e != NULL && cnt < max;
	    e = ldap_next_entry(ld, e)) {
		size_t j;

		if ((r = read_consent(ld, e, &arr[cnt])) != 0)
			break;
		/* client order */
		for (j = cnt; j > 0 && strcmp(arr[j - 1].client_id, arr[j].client_id) > 0; j--) {
			struct dir_consent t = arr[j];

			arr[j] = arr[j - 1];
			arr[j - 1] = t;
		}
		cnt++;
	}
	ld_search_end(l, c, res);
	if (r != 0 || cnt == 0) {
		dir_consent_list_free(arr, cnt);
		return r;
	}
	*out = arr;
	*n = cnt;
	return 0;
}

static int
ldap_consent_remove(void *be, const char *owner, const char *client)
{
	struct ldb *l = be;
	char dn[LD_DN_MAX], key[LD_DN_MAX];
	int r;

	if ((r = consent_dn(l, owner, client, dn, sizeof(dn), key, sizeof(key))) != 0)
		return r == YH_ERR_TOO_LONG ? YH_ERR_NOT_FOUND : r;
	return ld_write(l, 'd', dn, NULL, "consent remove");
}

/* ---- subject pins ---- */

static int rk_pins(struct ldb *l, const char *uid, const struct dir_subject_pin *pins,
    size_t n);

static int
ldap_subject_pin_add(void *be, const char *uid, const struct dir_subject_pin *pins, size_t n)
{
	struct ldb *l = be;
	int r;

	if ((r = person_exists(l, uid)) != 0)
		return r;
	return rk_pins(l, uid, pins, n);   /* a pin never changes: the first one stays */
}

static int
ldap_subject_pin_find(void *be, const char *uid, const char *sector,
    char sub[DIR_SUB_MAX + 1])
{
	struct ldb *l = be;
	const char *attrs[] = { "yhSubject", NULL };
	char filter[LD_DN_MAX];
	struct lconn *c = NULL;
	LDAPMessage *res = NULL, *e;
	LDAP *ld;
	int r;

	sub[0] = '\0';
	if ((r = ld_filter(filter, sizeof(filter),
	    "(&(objectClass=yhSubjectPin)(yhOwner=%s)(yhSector=%s))", uid, sector)) != 0 ||
	    (r = ld_search(l, "pins", LDAP_SCOPE_ONELEVEL, filter, attrs, 2, &ld, &c, &res)) != 0)
		return r == YH_ERR_TOO_LONG ? YH_ERR_NOT_FOUND : r;
	if ((e = ldap_first_entry(ld, res)) == NULL)
		r = YH_ERR_NOT_FOUND;
	else
		r = get_fixed(ld, e, "yhSubject", sub, DIR_SUB_MAX + 1);
	ld_search_end(l, c, res);
	return r;
}

struct pins {
	struct dir_pin_rec *v;
	size_t n, cap;
};

static int
pin_add_row(LDAP *ld, LDAPMessage *e, void *arg)
{
	struct pins *ps = arg;
	struct dir_pin_rec *x;
	int r = arr_grow((void **)&ps->v, &ps->cap, ps->n, sizeof(*ps->v), 8);

	if (r != 0)
		return r;
	x = &ps->v[ps->n];
	memset(x, 0, sizeof(*x));
	if ((r = get_str(ld, e, "yhSector", &x->sector)) == 0 &&
	    (r = get_str(ld, e, "yhSubject", &x->sub)) == 0 && (x->sector == NULL || x->sub == NULL))
		r = YH_ERR_DB;
	ps->n++;     /* freed with the others either way */
	return r;
}

static int
pin_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dir_pin_rec *)a)->sector,
	    ((const struct dir_pin_rec *)b)->sector);
}

static int
ldap_subject_pin_list(void *be, const char *uid, struct dir_pin_rec **out, size_t *n)
{
	const char *attrs[] = { "yhSector", "yhSubject", NULL };
	struct pins ps = { NULL, 0, 0 };
	char filter[256];
	int r;

	*out = NULL;
	*n = 0;
	if ((r = ld_filter(filter, sizeof(filter), "(&(objectClass=yhSubjectPin)(yhOwner=%s))",
	    uid, NULL)) != 0)
		return r == YH_ERR_TOO_LONG ? 0 : r;
	if ((r = ld_scan(be, "pins", filter, attrs, pin_add_row, &ps)) != 0) {
		dir_pin_list_free(ps.v, ps.n);
		return r;
	}
	if (ps.n > 0)
		qsort(ps.v, ps.n, sizeof(*ps.v), pin_cmp);
	*out = ps.v;
	*n = ps.n;
	return 0;
}

/* ---- legacy links ---- */

static int
legacy_key(const char *source, const char *legacy_id, char *out, size_t outsz)
{
	int n = snprintf(out, outsz, "%zu:%s%s", strlen(source), source, legacy_id);

	return n < 0 || (size_t)n >= outsz ? YH_ERR_TOO_LONG : 0;
}

/* The attribute attr of the entry of class cls named yhKey=key under ou, into out
 * (outsz bytes). NOT_FOUND when there is none. */
static int
key_attr(struct ldb *l, const char *ou, const char *cls, const char *key, const char *attr,
    char *out, size_t outsz)
{
	const char *attrs[] = { attr, NULL };
	char filter[LD_DN_MAX * 2];
	struct lconn *c = NULL;
	LDAPMessage *res = NULL, *e;
	LDAP *ld;
	int r;

	out[0] = '\0';
	if ((r = ld_filter(filter, sizeof(filter), "(&(objectClass=%s)(yhKey=%s))", cls,
	    key)) != 0 || (r = ld_search(l, ou, LDAP_SCOPE_ONELEVEL, filter, attrs, 2, &ld, &c,
	    &res)) != 0)
		return r == YH_ERR_TOO_LONG ? YH_ERR_NOT_FOUND : r;
	if ((e = ldap_first_entry(ld, res)) == NULL)
		r = YH_ERR_NOT_FOUND;
	else
		r = get_fixed(ld, e, attr, out, outsz);
	ld_search_end(l, c, res);
	return r;
}

/* ---- upstream links (keyed like legacy links: LEN:UPSTREAM SUBJECT) ---- */

static int
ldap_ulink_add(void *be, const char *upstream, const char *sub, const char *uid, int64_t now)
{
	struct ldb *l = be;
	char dn[LD_DN_MAX], key[LD_DN_MAX];
	struct mods ms;
	int r;

	if ((r = person_exists(l, uid)) != 0)
		return r;
	if ((r = legacy_key(upstream, sub, key, sizeof(key))) != 0 ||
	    (r = ld_dn(l, "yhKey", key, "upstream", dn, sizeof(dn))) != 0)
		return r;
	mods_init(&ms);
	mod_str(&ms, LDAP_MOD_ADD, "objectClass", "yhUpstreamLink");
	mod_str(&ms, LDAP_MOD_ADD, "yhKey", key);
	mod_str(&ms, LDAP_MOD_ADD, "yhOwner", uid);
	mod_int(&ms, LDAP_MOD_ADD, "yhCreated", now);
	return ld_write(l, 'a', dn, &ms, "upstream link");
}

static int
ldap_ulink_get(void *be, const char *upstream, const char *sub, char uid[DIR_UID_LEN + 1])
{
	char key[LD_DN_MAX];
	int r;

	uid[0] = '\0';
	if ((r = legacy_key(upstream, sub, key, sizeof(key))) != 0)
		return r == YH_ERR_TOO_LONG ? YH_ERR_NOT_FOUND : r;
	return key_attr(be, "upstream", "yhUpstreamLink", key, "yhOwner", uid,
	    DIR_UID_LEN + 1);
}

/* Reads one entry into an element of a list (owned_list). */
typedef int (*ld_read)(LDAP *ld, LDAPMessage *e, void *elem);

/* The entries of class cls under ou that uid owns (yhOwner), each read by rd into an
 * element of elemsz bytes that holds no pointer: a calloc'd array of the entries found,
 * at most max (*out, NULL when none), *more set when the directory held more than max. */
static int
owned_list(struct ldb *l, const char *ou, const char *cls, const char *uid,
    const char *const *attrs, size_t elemsz, size_t max, ld_read rd, void **out, size_t *n,
    bool *more)
{
	char filter[256], *a = NULL;
	struct lconn *c = NULL;
	LDAPMessage *res = NULL, *e;
	LDAP *ld;
	size_t k = 0, cnt;
	int r;

	*out = NULL;
	*n = 0;
	*more = false;
	if ((r = ld_filter(filter, sizeof(filter), "(&(objectClass=%s)(yhOwner=%s))", cls,
	    uid)) != 0 || (r = ld_search(l, ou, LDAP_SCOPE_ONELEVEL, filter, attrs, 0, &ld, &c,
	    &res)) != 0)
		return r;
	cnt = ldap_count_entries(ld, res) > 0 ? (size_t)ldap_count_entries(ld, res) : 0;
	*more = cnt > max;
	cnt = cnt > max ? max : cnt;
	if (cnt > 0 && (a = calloc(cnt, elemsz)) == NULL)
		r = YH_ERR_ALLOC;
	for (e = a != NULL ? ldap_first_entry(ld, res) : NULL; r == 0 && e != NULL && k < cnt;
	    e = ldap_next_entry(ld, e))
		if ((r = rd(ld, e, a + k * elemsz)) == 0)
			k++;
	ld_search_end(l, c, res);
	if (r != 0 || k == 0) {
		free(a);
		return r;
	}
	*out = a;
	*n = k;
	return 0;
}

/* The link of the entry e into k: its key LEN:UPSTREAM SUBJECT split again. */
static int
ulink_of_entry(LDAP *ld, LDAPMessage *e, void *elem)
{
	struct dir_upstream_link *k = elem;
	char key[DIR_UPSTREAM_NAME_MAX + DIR_UPSTREAM_SUB_MAX + 8];
	uint64_t len;
	char *colon;
	int r;

	memset(k, 0, sizeof(*k));
	if ((r = get_fixed(ld, e, "yhKey", key, sizeof(key))) != 0)
		return r;
	if ((colon = strchr(key, ':')) == NULL)
		return YH_ERR_DB;
	*colon = '\0';
	if (yh_parse_u64(key, 1, DIR_UPSTREAM_NAME_MAX, &len) != 0 ||
	    strlen(colon + 1) <= len || strlen(colon + 1) - len > DIR_UPSTREAM_SUB_MAX)
		return YH_ERR_DB;
	memcpy(k->upstream, colon + 1, (size_t)len);
	k->upstream[len] = '\0';
	snprintf(k->sub, sizeof(k->sub), "%s", colon + 1 + len);
	k->created = get_int(ld, e, "yhCreated");
	return 0;
}

static int
ldap_ulink_list(void *be, const char *uid, struct dir_upstream_link **out, size_t *n)
{
	const char *attrs[] = { "yhKey", "yhCreated", NULL };
	bool more = false;
	int r = owned_list(be, "upstream", "yhUpstreamLink", uid, attrs, sizeof(**out),
	    DIR_UPSTREAM_LINKS_MAX, ulink_of_entry, (void **)out, n, &more);

	if (r == 0 && more) {
		free(*out);
		*out = NULL;
		*n = 0;
		r = YH_ERR_LIMIT;
	}
	return r;
}

/* ---- certificate bindings (yhKey=ID under ou=certs) ---- */

static int
ldap_cert_bind(void *be, const struct dir_cert_binding *b)
{
	struct ldb *l = be;
	char dn[LD_DN_MAX];
	struct mods ms;
	int r;

	if ((r = person_exists(l, b->uid)) != 0 ||
	    (r = ld_dn(l, "yhKey", b->id, "certs", dn, sizeof(dn))) != 0)
		return r;
	mods_init(&ms);
	mod_str(&ms, LDAP_MOD_ADD, "objectClass", "yhCertBinding");
	mod_str(&ms, LDAP_MOD_ADD, "yhKey", b->id);
	mod_str(&ms, LDAP_MOD_ADD, "yhOwner", b->uid);
	mod_str(&ms, LDAP_MOD_ADD, "yhCertIssuer", b->issuer);
	mod_str(&ms, LDAP_MOD_ADD, "yhCertSerial", b->serial);
	mod_str(&ms, LDAP_MOD_ADD, "yhCertKeyHash", b->key_sha256);
	mod_int(&ms, LDAP_MOD_ADD, "yhCreated", b->created);
	return ld_write(l, 'a', dn, &ms, "certificate binding");
}

/* The binding of the entry e into b. */
static int
cert_of_entry(LDAP *ld, LDAPMessage *e, void *elem)
{
	struct dir_cert_binding *b = elem;
	int r;

	memset(b, 0, sizeof(*b));
	if ((r = get_fixed(ld, e, "yhKey", b->id, sizeof(b->id))) != 0 ||
	    (r = get_fixed(ld, e, "yhOwner", b->uid, sizeof(b->uid))) != 0 ||
	    (r = get_fixed(ld, e, "yhCertIssuer", b->issuer, sizeof(b->issuer))) != 0 ||
	    (r = get_fixed(ld, e, "yhCertSerial", b->serial, sizeof(b->serial))) != 0 ||
	    (r = get_fixed(ld, e, "yhCertKeyHash", b->key_sha256, sizeof(b->key_sha256))) != 0)
		return r;
	b->created = get_int(ld, e, "yhCreated");
	return 0;
}

/* Oldest first, as SQLite lists them. */
static int
cert_cmp(const void *a, const void *b)
{
	const struct dir_cert_binding *x = a, *y = b;

	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->id, y->id);
}

static int
ldap_cert_list(void *be, const char *uid, struct dir_cert_binding **out, size_t *n)
{
	const char *attrs[] = { "yhKey", "yhOwner", "yhCertIssuer", "yhCertSerial",
		"yhCertKeyHash", "yhCreated", NULL };
	bool more;
	int r = owned_list(be, "certs", "yhCertBinding", uid, attrs, sizeof(**out),
	    DIR_CERT_BINDINGS_MAX, cert_of_entry, (void **)out, n, &more);

	if (r == 0 && *n > 1)
		qsort(*out, *n, sizeof(**out), cert_cmp);
	return r;
}

static int
ldap_cert_unbind(void *be, const char *uid, const char *id)
{
	struct dir_cert_binding *a = NULL;
	char dn[LD_DN_MAX];
	size_t n = 0, i;
	int r;

	if ((r = ldap_cert_list(be, uid, &a, &n)) != 0)
		return r;
	for (i = 0; i < n && strcmp(a[i].id, id) != 0; i++)
		;
	r = i == n ? YH_ERR_NOT_FOUND : ld_dn(be, "yhKey", id, "certs", dn, sizeof(dn));
	free(a);
	return r != 0 ? r : ld_write(be, 'd', dn, NULL, "certificate unbinding");
}

static int
ldap_legacy_add(void *be, const struct dir_legacy *lg)
{
	struct ldb *l = be;
	char dn[LD_DN_MAX], key[LD_DN_MAX];
	struct mods ms;
	int r;

	if ((r = person_exists(l, lg->owner_uid)) != 0)
		return r;
	if ((r = legacy_key(lg->source, lg->legacy_id, key, sizeof(key))) != 0 ||
	    (r = ld_dn(l, "yhKey", key, "legacy", dn, sizeof(dn))) != 0)
		return r;
	mods_init(&ms);
	mod_str(&ms, LDAP_MOD_ADD, "objectClass", "yhLegacyLink");
	mod_str(&ms, LDAP_MOD_ADD, "yhKey", key);
	mod_str(&ms, LDAP_MOD_ADD, "yhOwner", lg->owner_uid);
	mod_str(&ms, LDAP_MOD_ADD, "yhLegacySource", lg->source);
	mod_str(&ms, LDAP_MOD_ADD, "yhLegacyId", lg->legacy_id);
	mod_opt(&ms, "yhLegacyUsername", lg->username);
	mod_str(&ms, LDAP_MOD_ADD, "yhStatus", dir_status_str(lg->status));
	mod_int(&ms, LDAP_MOD_ADD, "yhCreated", lg->created);
	return ld_write(l, 'a', dn, &ms, "legacy add");
}

static const char *const legacy_attrs[] = { "yhOwner", "yhLegacySource", "yhLegacyId",
	"yhLegacyUsername", "yhStatus", "yhCreated", NULL };

static int
read_legacy(LDAP *ld, LDAPMessage *e, struct dir_legacy *out)
{
	char st[24];
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = get_fixed(ld, e, "yhOwner", out->owner_uid, sizeof(out->owner_uid))) == 0 &&
	    (r = get_str(ld, e, "yhLegacySource", &out->source)) == 0 &&
	    (r = get_str(ld, e, "yhLegacyId", &out->legacy_id)) == 0 &&
	    (r = get_str(ld, e, "yhLegacyUsername", &out->username)) == 0 &&
	    (r = get_fixed(ld, e, "yhStatus", st, sizeof(st))) == 0 &&
	    dir_status_parse(st, &out->status) != 0)
		r = YH_ERR_DB;
	out->created = get_int(ld, e, "yhCreated");
	if (r == 0 && (out->source == NULL || out->legacy_id == NULL))
		r = YH_ERR_DB;
	if (r != 0)
		dir_legacy_clear(out);
	return r;
}

static int
legacy_cmp(const void *a, const void *b)
{
	const struct dir_legacy *x = a, *y = b;
	int c = strcmp(x->source, y->source);

	return c != 0 ? c : strcmp(x->legacy_id, y->legacy_id);
}

/* The links matching filter, in (source, legacy id) order, at most max. */
static int
legacy_search(struct ldb *l, const char *filter, size_t max, struct dir_legacy **out,
    size_t *n)
{
	struct lconn *c = NULL;
	LDAPMessage *res = NULL, *e;
	struct dir_legacy *arr = NULL;
	size_t cnt = 0, all;
	LDAP *ld;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = ld_search(l, "legacy", LDAP_SCOPE_ONELEVEL, filter, legacy_attrs, 0, &ld, &c,
	    &res)) != 0)
		return r;
	all = (size_t)(ldap_count_entries(ld, res) > 0 ? ldap_count_entries(ld, res) : 0);
	if (all > 0 && (arr = calloc(all, sizeof(*arr))) == NULL)
		r = YH_ERR_ALLOC;
	for (e = ldap_first_entry(ld, res); r == 0 && e != NULL && cnt < all;
	    e = ldap_next_entry(ld, e))
		if ((r = read_legacy(ld, e, &arr[cnt])) == 0)
			cnt++;
	ld_search_end(l, c, res);
	if (r == 0 && cnt > 0)
		qsort(arr, cnt, sizeof(*arr), legacy_cmp);
	while (r == 0 && cnt > max)
		dir_legacy_clear(&arr[--cnt]);
	if (r != 0 || cnt == 0) {
		dir_legacy_list_free(arr, cnt);
		return r;
	}
	*out = arr;
	*n = cnt;
	return 0;
}

static int
ldap_legacy_get(void *be, const char *source, const char *legacy_id, struct dir_legacy *out)
{
	char filter[LD_DN_MAX * 2], key[LD_DN_MAX];
	struct dir_legacy *arr;
	size_t n;
	int r;

	/* by its naming key, which slapd indexes: source and id alone are not, and a
	 * search on them reads every link (idmerge import asks once per legacy account) */
	memset(out, 0, sizeof(*out));
	if ((r = legacy_key(source, legacy_id, key, sizeof(key))) != 0 ||
	    (r = ld_filter(filter, sizeof(filter), "(&(objectClass=yhLegacyLink)(yhKey=%s))",
	    key, NULL)) != 0 || (r = legacy_search(be, filter, 1, &arr, &n)) != 0)
		return r == YH_ERR_TOO_LONG ? YH_ERR_NOT_FOUND : r;
	if (n == 0)
		return YH_ERR_NOT_FOUND;
	*out = arr[0];
	free(arr);
	return 0;
}

static int
ldap_legacy_list(void *be, const char *owner, struct dir_legacy **out, size_t *n)
{
	char filter[256];
	int r;

	*out = NULL;
	*n = 0;
	if ((r = ld_filter(filter, sizeof(filter), "(&(objectClass=yhLegacyLink)(yhOwner=%s))",
	    owner, NULL)) != 0)
		return r == YH_ERR_TOO_LONG ? 0 : r;
	return legacy_search(be, filter, DIR_LIST_MAX, out, n);
}

static int
ldap_legacy_find_username(void *be, const char *username, const char *source,
    char owner[DIR_UID_LEN + 1])
{
	return legacy_owner_of(be, username, source, owner);
}

static int
ldap_legacy_remove(void *be, const char *source, const char *legacy_id)
{
	struct ldb *l = be;
	char dn[LD_DN_MAX], key[LD_DN_MAX];
	int r;

	if ((r = legacy_key(source, legacy_id, key, sizeof(key))) != 0 ||
	    (r = ld_dn(l, "yhKey", key, "legacy", dn, sizeof(dn))) != 0)
		return r == YH_ERR_TOO_LONG ? YH_ERR_NOT_FOUND : r;
	return ld_write(l, 'd', dn, NULL, "legacy remove");
}

static int
ldap_legacy_of_owner(void *be, const char *owner, const char *source, struct dir_legacy *out)
{
	char filter[LD_DN_MAX];
	struct dir_legacy *arr;
	size_t n;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = ld_filter(filter, sizeof(filter), "(&(objectClass=yhLegacyLink)(yhOwner=%s)"
	    "(yhLegacySource=%s)(yhStatus=active))", owner, source)) != 0 ||
	    (r = legacy_search(be, filter, 1, &arr, &n)) != 0)
		return r == YH_ERR_TOO_LONG ? YH_ERR_NOT_FOUND : r;
	if (n == 0)
		return YH_ERR_NOT_FOUND;
	*out = arr[0];
	free(arr);
	return 0;
}

/* A legacy password and the key of its link (for the order). */
struct lcred {
	char *key;
	struct dir_cred c;
};

static int
lcred_cmp(const void *a, const void *b)
{
	const struct lcred *x = a, *y = b;

	return strcmp(x->key, y->key);
}

/* The legacy passwords merges brought to owner: the password attributes of the legacy
 * links that have them, in (source, legacy id) order, at most DIR_LEGACY_CREDS_MAX. */
static int
ldap_legacy_cred_list(void *be, const char *owner, struct dir_cred **out, size_t *n)
{
	struct lcred *v = NULL;
	const char *attrs[] = { "yhKey", "yhPasswordScheme", "yhPasswordHash",
		"yhPasswordSalt", "yhPasswordUpdated", NULL };
	char filter[256];
	struct lconn *c = NULL;
	LDAPMessage *res = NULL, *e;
	struct dir_cred *arr = NULL;
	size_t cnt = 0, all;
	LDAP *ld;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = ld_filter(filter, sizeof(filter), "(&(objectClass=yhLegacyLink)(yhOwner=%s)"
	    "(yhPasswordHash=*))", owner, NULL)) != 0)
		return r == YH_ERR_TOO_LONG ? 0 : r;
	if ((r = ld_search(be, "legacy", LDAP_SCOPE_ONELEVEL, filter, attrs, 0, &ld, &c,
	    &res)) != 0)
		return r;
	all = (size_t)(ldap_count_entries(ld, res) > 0 ? ldap_count_entries(ld, res) : 0);
	if (all > 0 && (v = calloc(all, sizeof(*v))) == NULL)
		r = YH_ERR_ALLOC;
	for (e = ldap_first_entry(ld, res); r == 0 && e != NULL && cnt < all;
	    e = ldap_next_entry(ld, e), cnt++) {
		if ((r = get_str(ld, e, "yhKey", &v[cnt].key)) == 0 &&
		    (r = get_str(ld, e, "yhPasswordScheme", &v[cnt].c.scheme)) == 0 &&
		    (r = get_str(ld, e, "yhPasswordHash", &v[cnt].c.hash)) == 0 &&
		    (r = get_str(ld, e, "yhPasswordSalt", &v[cnt].c.salt)) == 0 &&
		    (v[cnt].key == NULL || v[cnt].c.scheme == NULL || v[cnt].c.hash == NULL))
			r = YH_ERR_DB;
		v[cnt].c.updated = get_int(ld, e, "yhPasswordUpdated");
	}
	if (r == 0 && cnt > 0)
		qsort(v, cnt, sizeof(*v), lcred_cmp);
	if (r == 0 && cnt > 0 && (arr = calloc(cnt < DIR_LEGACY_CREDS_MAX ? cnt :
	    DIR_LEGACY_CREDS_MAX, sizeof(*arr))) == NULL)
		r = YH_ERR_ALLOC;
	for (size_t i = 0; i < cnt; i++) {
		if (r == 0 && i < DIR_LEGACY_CREDS_MAX)
			arr[(*n)++] = v[i].c;
		else
			dir_cred_clear(&v[i].c);
		free(v[i].key);
	}
	free(v);
	ld_search_end(be, c, res);
	if (r != 0) {
		for (size_t i = 0; i < *n; i++)
			dir_cred_clear(&arr[i]);
		free(arr);
		*n = 0;
		return r;
	}
	*out = arr;
	return 0;
}

/* ---- organizations and relations ---- */

static const char *const org_attrs[] = { "yhUid", "yhUscc", "yhOrgCode", "yhName",
	"yhOrgKind", "yhLegalRepUid", "yhAuthority", "yhEstablished", "yhStatus", "yhCreated",
	"yhUpdated", "yhVersion", NULL };

static int
read_org(LDAP *ld, LDAPMessage *e, struct dir_org *o)
{
	char st[24], kind[32];
	int r = 0;

	memset(o, 0, sizeof(*o));
	r = r ? r : get_fixed(ld, e, "yhUid", o->uid, sizeof(o->uid));
	r = r ? r : get_str(ld, e, "yhUscc", &o->uscc);
	r = r ? r : get_str(ld, e, "yhOrgCode", &o->org_code);
	r = r ? r : get_str(ld, e, "yhName", &o->name);
	r = r ? r : get_fixed(ld, e, "yhLegalRepUid", o->legal_rep_uid, sizeof(o->legal_rep_uid));
	r = r ? r : get_str(ld, e, "yhAuthority", &o->authority);
	r = r ? r : get_str(ld, e, "yhEstablished", &o->established);
	r = r ? r : get_fixed(ld, e, "yhStatus", st, sizeof(st));
	r = r ? r : get_fixed(ld, e, "yhOrgKind", kind, sizeof(kind));
	if (r == 0 && (dir_status_parse(st, &o->status) != 0 ||
	    idn_org_kind_parse(kind, &o->kind) != 0 || o->org_code == NULL || o->name == NULL))
		r = YH_ERR_DB;
	o->created = get_int(ld, e, "yhCreated");
	o->updated = get_int(ld, e, "yhUpdated");
	if (r != 0)
		dir_org_clear(o);
	return r;
}

/* The first entry under ou that filter finds: its DN, version and (read) the record. */
static int
find_one(struct ldb *l, const char *ou, const char *filter, const char *const *attrs,
    char *dn, size_t dnsz, int64_t *ver, int (*read)(LDAP *, LDAPMessage *, void *),
    void *out)
{
	struct lconn *c = NULL;
	LDAPMessage *res = NULL, *e;
	char *d;
	LDAP *ld;
	int r;

	if ((r = ld_search(l, ou, LDAP_SCOPE_ONELEVEL, filter, attrs, 2, &ld, &c, &res)) != 0)
		return r;
	if ((e = ldap_first_entry(ld, res)) == NULL)
		r = YH_ERR_NOT_FOUND;
	if (r == 0 && dn != NULL) {
		if ((d = ldap_get_dn(ld, e)) == NULL)
			r = YH_ERR_DB;
		else if (snprintf(dn, dnsz, "%s", d) >= (int)dnsz)
			r = YH_ERR_TOO_LONG;
		ldap_memfree(d);
	}
	if (r == 0 && ver != NULL)
		*ver = get_int(ld, e, "yhVersion");
	if (r == 0 && read != NULL)
		r = read(ld, e, out);
	ld_search_end(l, c, res);
	return r;
}

static int
read_org_v(LDAP *ld, LDAPMessage *e, void *o)
{
	return read_org(ld, e, o);
}

static int
org_get(struct ldb *l, const char *attr, const char *key, char *dn, size_t dnsz,
    int64_t *ver, struct dir_org *out)
{
	char filter[LD_DN_MAX], fmt[64];
	struct dir_org tmp;
	int r;

	snprintf(fmt, sizeof(fmt), "(&(objectClass=yhOrganization)(%s=%%s))", attr);
	if ((r = ld_filter(filter, sizeof(filter), fmt, key, NULL)) != 0)
		return r == YH_ERR_TOO_LONG ? YH_ERR_NOT_FOUND : r;
	r = find_one(l, "orgs", filter, org_attrs, dn, dnsz, ver, read_org_v,
	    out != NULL ? (void *)out : (void *)&tmp);
	if (r == 0 && out == NULL)
		dir_org_clear(&tmp);
	return r;
}

/* One history value (JSON): seq orders them. */
static char *
change_json(int64_t seq, const char *field, const char *old, const char *new,
    const char *actor, int64_t at)
{
	json_t *o;
	char *s;

	if (old != NULL && old[0] == '\0')
		old = NULL;
	if (new != NULL && new[0] == '\0')
		new = NULL;
	o = json_pack("{s:I,s:s,s:s?,s:s?,s:s?,s:I}", "n", (json_int_t)seq, "field", field,
	    "old", old, "new", new, "actor", actor, "at", (json_int_t)at);
	s = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	return s;
}

/* The history values an org write adds (at most 8), freed by hist_free. */
struct hist {
	char *v[9];
	size_t n;
	int64_t seq;
};

static int
hist_push(struct hist *h, const char *field, const char *old, const char *new,
    const char *actor, int64_t at)
{
	if ((old == NULL || old[0] == '\0') ? (new == NULL || new[0] == '\0') :
	    (new != NULL && strcmp(old, new) == 0))
		return 0;
	if (h->n >= 8)
		return YH_ERR_INTERNAL;
	if ((h->v[h->n] = change_json(h->seq * 16 + (int64_t)h->n, field, old, new, actor, at)) ==
	    NULL)
		return YH_ERR_ALLOC;
	h->n++;
	return 0;
}

static void
hist_free(struct hist *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->v[i]);
	h->n = 0;
}

/*
 * Changes the organization uid: fill adds the modifications and history values after
 * reading it; the modify is guarded by the version read (a concurrent change makes it
 * read again). NOT_FOUND.
 */
typedef int (*org_fill)(struct ldb *l, const struct dir_org *cur, struct mods *ms,
    struct hist *h, void *arg);

static int
org_change(struct ldb *l, const char *uid, org_fill fill, void *arg, const char *what)
{
	struct dir_org cur;
	struct hist h;
	char dn[LD_DN_MAX];
	struct mods ms;
	int r = YH_ERR_BUSY;

	for (int attempt = 0; attempt < LD_RETRY_MAX && r == YH_ERR_BUSY; attempt++) {
		int64_t ver = 0;

		if (attempt > 0)
			ld_backoff(attempt);
		if ((r = org_get(l, "yhUid", uid, dn, sizeof(dn), &ver, &cur)) != 0)
			return r;
		memset(&h, 0, sizeof(h));
		h.seq = ver + 1;
		mods_init(&ms);
		if ((r = fill(l, &cur, &ms, &h, arg)) == 0) {
			h.v[h.n] = NULL;
			if (h.n > 0)
				mod_list(&ms, LDAP_MOD_ADD, "yhOrgChange", h.v);
			mod_int(&ms, LDAP_MOD_DELETE, "yhVersion", ver);
			mod_int(&ms, LDAP_MOD_ADD, "yhVersion", ver + 1);
			r = ld_write(l, 'm', dn, &ms, what);
		}
		hist_free(&h);
		dir_org_clear(&cur);
	}
	return r;
}

/* One history entry on the organization, on its own (a relation's change). */
struct hist_arg {
	const char *field, *old, *new, *actor;
	int64_t at;
};

static int
fill_hist(struct ldb *l, const struct dir_org *cur, struct mods *ms, struct hist *h,
    void *arg)
{
	const struct hist_arg *a = arg;

	(void)l, (void)cur, (void)ms;
	return hist_push(h, a->field, a->old, a->new, a->actor, a->at);
}

static int
org_hist_add(struct ldb *l, const char *org, const char *field, const char *old,
    const char *new, const char *actor, int64_t at)
{
	struct hist_arg a = { field, old, new, actor, at };

	return org_change(l, org, fill_hist, &a, "org history");
}

static const char *const rel_attrs[] = { "yhUid", "yhPersonUid", "yhOrgUid", "yhRole",
	"yhGrantedBy", "yhNotBefore", "yhUntil", "yhScope", "yhCreated", "yhRevoked", "yhUnit",
	"yhPosition", "yhConsolePerms", "yhVersion", NULL };

static int
read_rel(LDAP *ld, LDAPMessage *e, void *p)
{
	struct dir_mandate *m = p;
	int r = 0;

	memset(m, 0, sizeof(*m));
	r = r ? r : get_fixed(ld, e, "yhUid", m->id, sizeof(m->id));
	r = r ? r : get_fixed(ld, e, "yhPersonUid", m->person_uid, sizeof(m->person_uid));
	r = r ? r : get_fixed(ld, e, "yhOrgUid", m->org_uid, sizeof(m->org_uid));
	r = r ? r : get_str(ld, e, "yhRole", &m->role);
	r = r ? r : get_str(ld, e, "yhGrantedBy", &m->granted_by);
	r = r ? r : get_str(ld, e, "yhScope", &m->scopes);
	r = r ? r : get_str(ld, e, "yhUnit", &m->unit);
	r = r ? r : get_str(ld, e, "yhPosition", &m->position);
	m->not_before = get_int(ld, e, "yhNotBefore");
	m->until = get_int(ld, e, "yhUntil");
	m->created = get_int(ld, e, "yhCreated");
	m->revoked = get_int(ld, e, "yhRevoked");
	if (r == 0 && m->role == NULL)
		r = YH_ERR_DB;
	if (r != 0)
		dir_mandate_clear(m);
	return r;
}

/* Adds a relation entry (the caller checked the parties). */
static int
rel_insert(struct ldb *l, const struct dir_mandate *m)
{
	char dn[LD_DN_MAX];
	struct mods ms;
	int r;

	if ((r = ld_dn(l, "yhUid", m->id, "relations", dn, sizeof(dn))) != 0)
		return r;
	mods_init(&ms);
	mod_str(&ms, LDAP_MOD_ADD, "objectClass", "yhRelation");
	mod_str(&ms, LDAP_MOD_ADD, "yhUid", m->id);
	mod_str(&ms, LDAP_MOD_ADD, "yhPersonUid", m->person_uid);
	mod_str(&ms, LDAP_MOD_ADD, "yhOrgUid", m->org_uid);
	mod_str(&ms, LDAP_MOD_ADD, "yhRole", m->role);
	mod_opt(&ms, "yhGrantedBy", m->granted_by);
	mod_int(&ms, LDAP_MOD_ADD, "yhNotBefore", m->not_before);
	mod_int(&ms, LDAP_MOD_ADD, "yhUntil", m->until);
	mod_opt(&ms, "yhScope", m->scopes);
	mod_int(&ms, LDAP_MOD_ADD, "yhCreated", m->created);
	mod_int(&ms, LDAP_MOD_ADD, "yhRevoked", m->revoked);
	mod_opt(&ms, "yhUnit", m->unit);
	mod_opt(&ms, "yhPosition", m->position);
	mod_int(&ms, LDAP_MOD_ADD, "yhVersion", 1);
	return ld_write(l, 'a', dn, &ms, "relation add");
}

/* The relations filter finds (all pages), sorted by created then id. */
struct rels {
	struct dir_mandate *v;
	size_t n, cap;
};

static int
rel_add(LDAP *ld, LDAPMessage *e, void *arg)
{
	struct rels *rs = arg;
	int r = arr_grow((void **)&rs->v, &rs->cap, rs->n, sizeof(*rs->v), 16);

	if (r == 0 && (r = read_rel(ld, e, &rs->v[rs->n])) == 0)
		rs->n++;
	return r;
}

static int
rel_cmp(const void *a, const void *b)
{
	const struct dir_mandate *x = a, *y = b;

	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->id, y->id);
}

static int
rels_find(struct ldb *l, const char *filter, struct rels *rs)
{
	int r;

	memset(rs, 0, sizeof(*rs));
	if ((r = ld_scan(l, "relations", filter, rel_attrs, rel_add, rs)) == 0 && rs->n > 0)
		qsort(rs->v, rs->n, sizeof(*rs->v), rel_cmp);
	return r;
}

/* Revokes the relation id at `at` when it is not yet (guarded by its revoked value):
 * 0 revoked now, 1 already revoked. */
static int
rel_revoke(struct ldb *l, const char *id, int64_t at)
{
	char dn[LD_DN_MAX];
	struct mods ms;
	int r;

	if ((r = ld_dn(l, "yhUid", id, "relations", dn, sizeof(dn))) != 0)
		return r;
	mods_init(&ms);
	mod_int(&ms, LDAP_MOD_DELETE, "yhRevoked", 0);
	mod_int(&ms, LDAP_MOD_ADD, "yhRevoked", at);
	r = ld_write(l, 'm', dn, &ms, "relation revoke");
	return r == YH_ERR_BUSY ? 1 : r;
}

/* A new relation id: 32 lowercase hex digits. */
static int
rel_id(char id[DIR_UID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return YH_ERR_CRYPTO;
	for (size_t i = 0; i < sizeof(b); i++) {
		id[2 * i] = hex[b[i] >> 4];
		id[2 * i + 1] = hex[b[i] & 15];
	}
	id[32] = '\0';
	return 0;
}

/* Ends the organization's legal_rep relation in office and begins person's (when set). */
static int
legal_rep_move(struct ldb *l, const char *org, const char *person, const char *actor,
    int64_t at)
{
	char filter[256];
	struct dir_mandate m;
	struct rels rs;
	int r;

	if ((r = ld_filter(filter, sizeof(filter), "(&(objectClass=yhRelation)(yhOrgUid=%s)"
	    "(yhRole=legal_rep)(yhRevoked=0))", org, NULL)) != 0 ||
	    (r = rels_find(l, filter, &rs)) != 0)
		goto out;
	for (size_t i = 0; r == 0 && i < rs.n; i++)
		if ((r = rel_revoke(l, rs.v[i].id, at)) == 1)
			r = 0;
	if (r != 0 || person == NULL || person[0] == '\0')
		goto out;
	memset(&m, 0, sizeof(m));
	if ((r = rel_id(m.id)) != 0)
		goto out;
	memcpy(m.person_uid, person, sizeof(m.person_uid));
	memcpy(m.org_uid, org, sizeof(m.org_uid));
	m.role = (char *)DIR_ROLE_LEGAL_REP;
	m.granted_by = (char *)actor;
	m.not_before = at;
	m.created = at;
	r = rel_insert(l, &m);
out:
	dir_mandate_list_free(rs.v, rs.n);
	return r;
}

/* The attributes of a new organization entry but its version and history. */
static void
org_mods(struct mods *ms, const struct dir_org *o)
{
	mods_init(ms);
	mod_str(ms, LDAP_MOD_ADD, "objectClass", "yhOrganization");
	mod_str(ms, LDAP_MOD_ADD, "yhUid", o->uid);
	mod_opt(ms, "yhUscc", o->uscc);
	mod_str(ms, LDAP_MOD_ADD, "yhOrgCode", o->org_code);
	mod_str(ms, LDAP_MOD_ADD, "yhName", o->name);
	mod_str(ms, LDAP_MOD_ADD, "yhOrgKind", idn_org_kind_str(o->kind));
	mod_opt(ms, "yhLegalRepUid", o->legal_rep_uid);
	mod_opt(ms, "yhAuthority", o->authority);
	mod_opt(ms, "yhEstablished", o->established);
	mod_str(ms, LDAP_MOD_ADD, "yhStatus", dir_status_str(o->status));
	mod_int(ms, LDAP_MOD_ADD, "yhCreated", o->created);
	mod_int(ms, LDAP_MOD_ADD, "yhUpdated", o->updated);
}

static int
ldap_org_add(void *be, const struct dir_org *o, const char *actor)
{
	struct ldb *l = be;
	char dn[LD_DN_MAX];
	struct hist h;
	struct mods ms;
	int r;

	if (o->legal_rep_uid[0] != '\0' && (r = person_exists(l, o->legal_rep_uid)) != 0)
		return r;
	if (o->uscc != NULL && org_get(l, "yhUscc", o->uscc, NULL, 0, NULL, NULL) == 0)
		return YH_ERR_EXISTS;
	if ((r = ld_dn(l, "yhOrgCode", o->org_code, "orgs", dn, sizeof(dn))) != 0)
		return r;
	memset(&h, 0, sizeof(h));
	h.seq = 1;
	if ((r = hist_push(&h, "created", NULL, o->uscc != NULL ? o->uscc : o->org_code, actor,
	    o->updated)) != 0 || (r = hist_push(&h, "legal_rep", NULL, o->legal_rep_uid, actor,
	    o->updated)) != 0)
		goto out;
	h.v[h.n] = NULL;
	org_mods(&ms, o);
	mod_int(&ms, LDAP_MOD_ADD, "yhVersion", 1);
	mod_list(&ms, LDAP_MOD_ADD, "yhOrgChange", h.v);
	if ((r = ld_write(l, 'a', dn, &ms, "org add")) == 0 && o->legal_rep_uid[0] != '\0')
		r = legal_rep_move(l, o->uid, o->legal_rep_uid, actor, o->updated);
out:
	hist_free(&h);
	return r;
}

struct org_upd {
	const struct dir_org *o;
	const char *actor;
	bool rep_moved;
};

static int
fill_org_update(struct ldb *l, const struct dir_org *cur, struct mods *ms, struct hist *h,
    void *arg)
{
	struct org_upd *a = arg;
	const struct dir_org *o = a->o;
	const char *f[][3] = {
		{ "name", cur->name, o->name },
		{ "kind", idn_org_kind_str(cur->kind), idn_org_kind_str(o->kind) },
		{ "legal_rep", cur->legal_rep_uid, o->legal_rep_uid },
		{ "authority", cur->authority, o->authority },
		{ "established", cur->established, o->established },
		{ "uscc", cur->uscc, o->uscc },
	};
	int r = 0;

	a->rep_moved = strcmp(cur->legal_rep_uid, o->legal_rep_uid) != 0;
	if (a->rep_moved && o->legal_rep_uid[0] != '\0' &&
	    (r = person_exists(l, o->legal_rep_uid)) != 0)
		return r;
	for (size_t i = 0; r == 0 && i < sizeof(f) / sizeof(f[0]); i++)
		r = hist_push(h, f[i][0], f[i][1], f[i][2], a->actor, o->updated);
	mod_str(ms, LDAP_MOD_REPLACE, "yhName", o->name);
	mod_str(ms, LDAP_MOD_REPLACE, "yhOrgKind", idn_org_kind_str(o->kind));
	mod_set(ms, "yhLegalRepUid", o->legal_rep_uid);
	mod_set(ms, "yhAuthority", o->authority);
	mod_set(ms, "yhEstablished", o->established);
	mod_set(ms, "yhUscc", o->uscc);
	mod_int(ms, LDAP_MOD_REPLACE, "yhUpdated", o->updated);
	return r;
}

static int
ldap_org_update(void *be, const struct dir_org *o, const char *actor)
{
	struct org_upd a = { o, actor, false };
	int r;

	if (o->uscc != NULL) {
		struct dir_org other;

		if ((r = org_get(be, "yhUscc", o->uscc, NULL, 0, NULL, &other)) == 0) {
			r = strcmp(other.uid, o->uid) != 0 ? YH_ERR_EXISTS : 0;
			dir_org_clear(&other);
			if (r != 0)
				return r;
		} else if (r != YH_ERR_NOT_FOUND)
			return r;
	}
	if ((r = org_change(be, o->uid, fill_org_update, &a, "org update")) == 0 && a.rep_moved)
		r = legal_rep_move(be, o->uid, o->legal_rep_uid, actor, o->updated);
	return r;
}

static int
ldap_org_find(void *be, enum dir_okey by, const char *key, struct dir_org *out)
{
	static const char *const attr[] = { [DIR_OK_UID] = "yhUid", [DIR_OK_USCC] = "yhUscc",
		[DIR_OK_ORG_CODE] = "yhOrgCode" };

	memset(out, 0, sizeof(*out));
	return org_get(be, attr[by], key, NULL, 0, NULL, out);
}

struct org_st {
	enum dir_status st;
	int64_t now;
	const char *actor;
};

static int
fill_org_status(struct ldb *l, const struct dir_org *cur, struct mods *ms, struct hist *h,
    void *arg)
{
	const struct org_st *a = arg;

	(void)l;
	mod_str(ms, LDAP_MOD_REPLACE, "yhStatus", dir_status_str(a->st));
	mod_int(ms, LDAP_MOD_REPLACE, "yhUpdated", a->now);
	return hist_push(h, "status", dir_status_str(cur->status), dir_status_str(a->st), a->actor,
	    a->now);
}

static int
ldap_org_set_status(void *be, const char *uid, enum dir_status st, int64_t now,
    const char *actor)
{
	struct org_st a = { st, now, actor };

	return org_change(be, uid, fill_org_status, &a, "org status");
}

/* Every organization (all pages). */
struct orgs {
	struct dir_org *v;
	size_t n, cap;
};

static int
org_add_row(LDAP *ld, LDAPMessage *e, void *arg)
{
	struct orgs *os = arg;
	int r = arr_grow((void **)&os->v, &os->cap, os->n, sizeof(*os->v), 16);

	if (r == 0 && (r = read_org(ld, e, &os->v[os->n])) == 0)
		os->n++;
	return r;
}

static int
org_cmp_created(const void *a, const void *b)
{
	const struct dir_org *x = a, *y = b;

	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->uid, y->uid);
}

static int
org_cmp_uid(const void *a, const void *b)
{
	return strcmp(((const struct dir_org *)a)->uid, ((const struct dir_org *)b)->uid);
}

static int
orgs_find(struct ldb *l, const char *filter, int (*cmp)(const void *, const void *),
    struct orgs *os)
{
	int r;

	memset(os, 0, sizeof(*os));
	if ((r = ld_scan(l, "orgs", filter, org_attrs, org_add_row, os)) == 0 && os->n > 0)
		qsort(os->v, os->n, sizeof(*os->v), cmp);
	return r;
}

static int
ldap_org_list(void *be, uint64_t offset, size_t limit, struct dir_org **out, size_t *n)
{
	struct orgs os;
	size_t cnt = 0;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = orgs_find(be, "(objectClass=yhOrganization)", org_cmp_created, &os)) != 0) {
		dir_org_list_free(os.v, os.n);
		return r;
	}
	/* keep the page: move it to the front, free the rest */
	for (size_t i = 0; i < os.n; i++) {
		if (i >= offset && cnt < limit)
			os.v[cnt++] = os.v[i];
		else
			dir_org_clear(&os.v[i]);
	}
	if (cnt == 0) {
		free(os.v);
		return 0;
	}
	*out = os.v;
	*n = cnt;
	return 0;
}

static int
ldap_org_find_name(void *be, const char *name, size_t limit, struct dir_entity *out,
    size_t *n)
{
	char filter[LD_DN_MAX];
	struct orgs os;
	int r;

	*n = 0;
	if ((r = ld_filter(filter, sizeof(filter), "(&(objectClass=yhOrganization)(yhName=%s))",
	    name, NULL)) != 0)
		return r == YH_ERR_TOO_LONG ? 0 : r;
	if ((r = orgs_find(be, filter, org_cmp_uid, &os)) == 0)
		for (size_t i = 0; i < os.n && *n < limit; i++, (*n)++) {
			memcpy(out[*n].uid, os.v[i].uid, sizeof(out[*n].uid));
			out[*n].org = true;
		}
	dir_org_list_free(os.v, os.n);
	return r;
}

static int
change_parse(const struct berval *bv, void *elem, int64_t *seq)
{
	struct dir_org_change *c = elem;
	json_t *o = json_loadb(bv->bv_val, bv->bv_len, 0, NULL);
	int r = YH_ERR_DB;

	memset(c, 0, sizeof(*c));
	if (json_is_object(o)) {
		*seq = json_integer_value(json_object_get(o, "n"));
		c->at = json_integer_value(json_object_get(o, "at"));
		if ((r = dup_opt(o, "field", &c->field)) == 0 &&
		    (r = dup_opt(o, "old", &c->old_value)) == 0 &&
		    (r = dup_opt(o, "new", &c->new_value)) == 0)
			r = dup_opt(o, "actor", &c->actor);
		if (r == 0 && c->field == NULL)
			r = YH_ERR_DB;
	}
	json_decref(o);
	if (r != 0)
		dir_org_change_clear(c);
	return r;
}

static int
ldap_org_history(void *be, const char *uid, struct dir_org_change **out, size_t *n)
{
	void *arr;
	int r = entry_json_values(be, "orgs", "yhOrganization", uid, "yhOrgChange",
	    change_parse, sizeof(**out), DIR_LIST_MAX, &arr, n);

	*out = NULL;
	if (r != 0 || *n == 0) {
		dir_org_history_free(arr, *n);
		*n = 0;
		return r;
	}
	*out = arr;
	return 0;
}

/* When an organization was closed: its last status change to deregistered or revoked,
 * else its last change. */
static int64_t
org_closed_at(struct ldb *l, const struct dir_org *o)
{
	struct dir_org_change *h = NULL;
	size_t n = 0;
	int64_t t = 0;

	if (ldap_org_history(l, o->uid, &h, &n) == 0)
		for (size_t i = 0; i < n; i++)
			if (strcmp(h[i].field, "status") == 0 && h[i].new_value != NULL &&
			    (strcmp(h[i].new_value, "deregistered") == 0 ||
			    strcmp(h[i].new_value, "revoked") == 0) && h[i].at > t)
				t = h[i].at;
	dir_org_history_free(h, n);
	return t != 0 ? t : o->updated;
}

static int
ldap_org_tombstones(void *be, int64_t before, const char *after, size_t limit,
    struct dir_tombstone *out, size_t *n)
{
	struct orgs os;
	int r;

	*n = 0;
	if ((r = orgs_find(be, "(&(objectClass=yhOrganization)(|(yhStatus=deregistered)"
	    "(yhStatus=revoked)))", org_cmp_uid, &os)) == 0)
		for (size_t i = 0; i < os.n && *n < limit; i++) {
			int64_t t;

			if (strcmp(os.v[i].uid, after != NULL ? after : "") <= 0 ||
			    (t = org_closed_at(be, &os.v[i])) >= before)
				continue;
			memcpy(out[*n].uid, os.v[i].uid, sizeof(out[*n].uid));
			out[*n].deregistered = t;
			(*n)++;
		}
	dir_org_list_free(os.v, os.n);
	return r;
}

/* Deletes the relations filter finds. */
static int
rels_delete(struct ldb *l, const char *filter)
{
	const char *attrs[] = { LDAP_NO_ATTRS, NULL };
	struct dns d = { NULL, 0, 0 };
	int r = ld_scan(l, "relations", filter, attrs, dn_add, &d);

	for (size_t i = 0; i < d.n; i++) {
		int x = d.v[i] != NULL ? ld_write(l, 'd', d.v[i], NULL, "purge") : 0;

		if (r == 0 && x != 0 && x != YH_ERR_NOT_FOUND)
			r = x;
		ldap_memfree(d.v[i]);
	}
	free(d.v);
	return r;
}

static int
ldap_org_purge(void *be, const char *uid, int64_t before)
{
	struct ldb *l = be;
	struct dir_org o;
	char dn[LD_DN_MAX], filter[256];
	int r;

	if ((r = org_get(l, "yhUid", uid, dn, sizeof(dn), NULL, &o)) != 0)
		return r;
	if ((o.status != DIR_STATUS_DEREGISTERED && o.status != DIR_STATUS_REVOKED) ||
	    org_closed_at(l, &o) >= before)
		r = YH_ERR_DENIED;
	if (r == 0 && (r = ld_filter(filter, sizeof(filter), "(yhOrgUid=%s)", uid, NULL)) == 0 &&
	    (r = rels_delete(l, filter)) == 0 && (r = delete_owned(l, "legacy", uid)) == 0)
		r = ld_write(l, 'd', dn, NULL, "org purge");
	dir_org_clear(&o);
	return r;
}

static int
ldap_mandate_add(void *be, const struct dir_mandate *m, const char *actor)
{
	struct ldb *l = be;
	char filter[512];
	struct rels rs;
	int r;

	if ((r = person_exists(l, m->person_uid)) != 0 ||
	    (r = org_get(l, "yhUid", m->org_uid, NULL, 0, NULL, NULL)) != 0)
		return r;
	if ((r = ld_filter(filter, sizeof(filter), "(&(objectClass=yhRelation)(yhOrgUid=%s)"
	    "(yhPersonUid=%s)(yhRevoked=0))", m->org_uid, m->person_uid)) != 0 ||
	    (r = rels_find(l, filter, &rs)) != 0)
		return r;
	for (size_t i = 0; r == 0 && i < rs.n; i++)
		if (strcmp(rs.v[i].role, m->role) == 0 && (rs.v[i].until == 0 ||
		    rs.v[i].until > m->created))
			r = YH_ERR_EXISTS;
	dir_mandate_list_free(rs.v, rs.n);
	if (r == 0 && (r = rel_insert(l, m)) == 0)
		r = org_hist_add(l, m->org_uid, m->role, NULL, m->person_uid, actor, m->created);
	return r;
}

static int
ldap_mandate_get(void *be, const char *id, struct dir_mandate *out)
{
	char filter[256];
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = ld_filter(filter, sizeof(filter), "(&(objectClass=yhRelation)(yhUid=%s))", id,
	    NULL)) != 0)
		return r == YH_ERR_TOO_LONG ? YH_ERR_NOT_FOUND : r;
	return find_one(be, "relations", filter, rel_attrs, NULL, 0, NULL, read_rel, out);
}

/* Whether the person and the organization of m are both active. */
static bool
parties_active(struct ldb *l, const struct dir_mandate *m)
{
	struct dir_person_rec p;
	struct dir_org o;
	bool ok = false;

	if (person_get(l, m->person_uid, NULL, 0, &p) == 0) {
		ok = p.p.status == DIR_STATUS_ACTIVE;
		dir_person_rec_clear(&p);
	}
	if (ok && org_get(l, "yhUid", m->org_uid, NULL, 0, NULL, &o) == 0) {
		ok = o.status == DIR_STATUS_ACTIVE;
		dir_org_clear(&o);
	} else
		ok = false;
	return ok;
}

static int
ldap_mandate_list(void *be, bool by_org, const char *uid, int64_t current_at,
    struct dir_mandate **out, size_t *n)
{
	struct ldb *l = be;
	char filter[256];
	struct rels rs;
	size_t cnt = 0;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = ld_filter(filter, sizeof(filter), by_org ?
	    "(&(objectClass=yhRelation)(yhOrgUid=%s))" :
	    "(&(objectClass=yhRelation)(yhPersonUid=%s))", uid, NULL)) != 0)
		return r == YH_ERR_TOO_LONG ? 0 : r;
	if ((r = rels_find(l, filter, &rs)) != 0) {
		dir_mandate_list_free(rs.v, rs.n);
		return r;
	}
	for (size_t i = 0; i < rs.n; i++) {
		struct dir_mandate *m = &rs.v[i];
		bool keep = cnt < DIR_LIST_MAX && (current_at == 0 || (m->revoked == 0 &&
		    m->not_before <= current_at && (m->until == 0 || m->until > current_at) &&
		    parties_active(l, m)));

		if (keep)
			rs.v[cnt++] = *m;
		else
			dir_mandate_clear(m);
	}
	if (cnt == 0) {
		free(rs.v);
		return 0;
	}
	*out = rs.v;
	*n = cnt;
	return 0;
}

static int
ldap_mandate_revoke(void *be, const char *id, int64_t at, const char *actor)
{
	struct dir_mandate m;
	int r;

	if ((r = ldap_mandate_get(be, id, &m)) != 0)
		return r;
	if (m.revoked == 0 && (r = rel_revoke(be, id, at)) == 0)
		r = org_hist_add(be, m.org_uid, m.role, m.person_uid, NULL, actor, at);
	else if (r == 1)
		r = 0;
	dir_mandate_clear(&m);
	return r;
}

static int
ldap_mandate_end(void *be, const char *org_uid, const char *person_uid, const char *role,
    int64_t at, const char *actor, size_t *ended)
{
	char filter[512];
	struct rels rs;
	int r;

	*ended = 0;
	if ((r = ld_filter(filter, sizeof(filter), "(&(objectClass=yhRelation)(yhOrgUid=%s)"
	    "(yhPersonUid=%s)(yhRevoked=0))", org_uid, person_uid)) != 0 ||
	    (r = rels_find(be, filter, &rs)) != 0)
		return r == YH_ERR_TOO_LONG ? YH_ERR_NOT_FOUND : r;
	for (size_t i = 0; r == 0 && i < rs.n; i++) {
		if (strcmp(rs.v[i].role, role) != 0)
			continue;
		if ((r = rel_revoke(be, rs.v[i].id, at)) == 0)
			(*ended)++;
		else if (r == 1)
			r = 0;
	}
	dir_mandate_list_free(rs.v, rs.n);
	if (r == 0 && *ended == 0)
		r = YH_ERR_NOT_FOUND;
	if (r == 0)
		r = org_hist_add(be, org_uid, role, person_uid, NULL, actor, at);
	return r;
}

/* A deregistered person's relations end with the account, each with its history entry. */
static int
person_end_relations(struct ldb *l, const char *uid, int64_t now)
{
	char filter[256];
	struct rels rs;
	int r;

	if ((r = ld_filter(filter, sizeof(filter), "(&(objectClass=yhRelation)(yhPersonUid=%s)"
	    "(yhRevoked=0))", uid, NULL)) != 0 || (r = rels_find(l, filter, &rs)) != 0)
		return r;
	for (size_t i = 0; r == 0 && i < rs.n; i++)
		if ((r = rel_revoke(l, rs.v[i].id, now)) == 0)
			r = org_hist_add(l, rs.v[i].org_uid, rs.v[i].role, uid, NULL, NULL, now);
		else if (r == 1)
			r = 0;
	dir_mandate_list_free(rs.v, rs.n);
	return r;
}

/* Organizations above after in uid order, at most limit (entity rows). */
static int
org_page(struct ldb *l, const char *after, size_t limit, struct dir_entity *out, size_t *n)
{
	struct orgs os;
	int r;

	*n = 0;
	if ((r = orgs_find(l, "(objectClass=yhOrganization)", org_cmp_uid, &os)) == 0)
		for (size_t i = 0; i < os.n && *n < limit; i++) {
			if (strcmp(os.v[i].uid, after != NULL ? after : "") <= 0)
				continue;
			memcpy(out[*n].uid, os.v[i].uid, sizeof(out[*n].uid));
			out[*n].org = true;
			(*n)++;
		}
	dir_org_list_free(os.v, os.n);
	return r;
}

/* A purged person is named nowhere: their relations go, the relations they granted and
 * the organizations they represented no longer name them. */
static int
person_unreference(struct ldb *l, const char *uid)
{
	const char *attrs[] = { LDAP_NO_ATTRS, NULL };
	struct dns d = { NULL, 0, 0 };
	char filter[256];
	struct mods ms;
	int r;

	if ((r = ld_filter(filter, sizeof(filter), "(yhPersonUid=%s)", uid, NULL)) != 0 ||
	    (r = rels_delete(l, filter)) != 0)
		return r;
	for (int k = 0; r == 0 && k < 2; k++) {
		if ((r = ld_filter(filter, sizeof(filter), k == 0 ? "(yhGrantedBy=%s)" :
		    "(yhLegalRepUid=%s)", uid, NULL)) != 0 || (r = ld_scan(l, k == 0 ? "relations" :
		    "orgs", filter, attrs, dn_add, &d)) != 0)
			break;
		for (size_t i = 0; r == 0 && i < d.n; i++) {
			mods_init(&ms);
			mod_str(&ms, LDAP_MOD_DELETE, k == 0 ? "yhGrantedBy" : "yhLegalRepUid", uid);
			if ((r = ld_write(l, 'm', d.v[i], &ms, "purge")) == YH_ERR_BUSY)
				r = 0;      /* changed meanwhile: no longer names them */
		}
		for (size_t i = 0; i < d.n; i++)
			ldap_memfree(d.v[i]);
		d.n = 0;
	}
	free(d.v);
	return r;
}

static int
ldap_console_set(void *be, const char *mandate_id, const char *perms, const char *by,
    int64_t now)
{
	struct ldb *l = be;
	char dn[LD_DN_MAX];
	struct mods ms;
	int r;

	(void)by, (void)now;
	if ((r = ld_dn(l, "yhUid", mandate_id, "relations", dn, sizeof(dn))) != 0)
		return r;
	mods_init(&ms);
	mod_set(&ms, "yhConsolePerms", perms);
	r = ld_write(l, 'm', dn, &ms, "console role");
	return r == YH_ERR_NOT_FOUND && perms == NULL ? 0 : r;
}

static int
ldap_console_get(void *be, const char *mandate_id, char perms[DIR_CONSOLE_PERMS_MAX + 1])
{
	const char *attrs[] = { "yhConsolePerms", NULL };
	char filter[256];
	struct lconn *c = NULL;
	LDAPMessage *res = NULL, *e;
	LDAP *ld;
	int r;

	perms[0] = '\0';
	if ((r = ld_filter(filter, sizeof(filter), "(&(objectClass=yhRelation)(yhUid=%s))",
	    mandate_id, NULL)) != 0)
		return r == YH_ERR_TOO_LONG ? 0 : r;
	if ((r = ld_search(be, "relations", LDAP_SCOPE_ONELEVEL, filter, attrs, 2, &ld, &c,
	    &res)) != 0)
		return r;
	if ((e = ldap_first_entry(ld, res)) != NULL)
		r = get_fixed(ld, e, "yhConsolePerms", perms, DIR_CONSOLE_PERMS_MAX + 1);
	ld_search_end(be, c, res);
	return r;
}

/* ---- review cases ----
 *
 * A case is yhReviewCase yhUid=ID under ou=cases: its reason, state, sealed body and
 * creation time; its records as yhCaseMember values (each the legacy link key of one
 * account); once decided, yhCaseDecision (JSON: by, note, at, created_person) and for a
 * merge yhPersonUid (the person) and yhLastLogin (the first login that used it). That a
 * record is in one case only is a claim entry next to it, yhSetting yhKey=the record's
 * key with yhValue=the case id, added after the case and removed with it. The legacy
 * passwords a merge brings live on the legacy link entries it adds (yhPassword*).
 * Without transactions across entries a merge makes its changes one after another and
 * takes back what it made when a later step fails; the decision is written last, with
 * the case's version, so that of two merges of one case exactly one is recorded. */

static const char *const case_attrs[] = { "yhUid", "yhCaseReason", "yhCaseState",
	"yhSealedBody", "yhCreated", "yhCaseDecision", "yhPersonUid", "yhLastLogin",
	"yhVersion", NULL };

static int
read_case(LDAP *ld, LDAPMessage *e, struct dir_case *c)
{
	char st[16], *dec = NULL;
	json_t *j = NULL;
	int r = 0;

	memset(c, 0, sizeof(*c));
	r = r ? r : get_fixed(ld, e, "yhUid", c->id, sizeof(c->id));
	r = r ? r : get_str(ld, e, "yhCaseReason", &c->reason);
	r = r ? r : get_fixed(ld, e, "yhCaseState", st, sizeof(st));
	r = r ? r : get_str(ld, e, "yhSealedBody", &c->body);
	r = r ? r : get_fixed(ld, e, "yhPersonUid", c->merged_uid, sizeof(c->merged_uid));
	r = r ? r : get_str(ld, e, "yhCaseDecision", &dec);
	if (r == 0 && (dir_case_state_parse(st, &c->state) != 0 || c->reason == NULL ||
	    c->body == NULL))
		r = YH_ERR_DB;
	if (r == 0 && dec != NULL) {
		if ((j = json_loads(dec, 0, NULL)) == NULL || !json_is_object(j) ||
		    dup_opt(j, "by", &c->decided_by) != 0 || dup_opt(j, "note", &c->note) != 0)
			r = YH_ERR_DB;
		else {
			c->decided_at = json_integer_value(json_object_get(j, "at"));
			c->created_person = json_is_true(json_object_get(j, "created_person"));
		}
	}
	c->created = get_int(ld, e, "yhCreated");
	c->used = get_int(ld, e, "yhLastLogin");
	json_decref(j);
	free(dec);
	if (r != 0)
		dir_case_clear(c);
	return r;
}

/* The case id: its DN, version and record (out NULL: only whether it is there). */
static int
case_read(struct ldb *l, const char *id, char *dn, size_t dnsz, int64_t *ver,
    struct dir_case *out)
{
	char filter[256];
	struct lconn *c = NULL;
	LDAPMessage *res = NULL, *e;
	struct dir_case tmp;
	LDAP *ld;
	int r;

	if ((r = ld_filter(filter, sizeof(filter), "(&(objectClass=yhReviewCase)(yhUid=%s))",
	    id, NULL)) != 0)
		return r == YH_ERR_TOO_LONG ? YH_ERR_NOT_FOUND : r;
	if ((r = ld_search(l, "cases", LDAP_SCOPE_ONELEVEL, filter, case_attrs, 2, &ld, &c,
	    &res)) != 0)
		return r;
	if ((e = ldap_first_entry(ld, res)) == NULL)
		r = YH_ERR_NOT_FOUND;
	else if ((r = read_case(ld, e, out != NULL ? out : &tmp)) == 0) {
		if (out == NULL)
			dir_case_clear(&tmp);
		if (ver != NULL)
			*ver = get_int(ld, e, "yhVersion");
		if (dn != NULL && (r = ld_dn(l, "yhUid", id, "cases", dn, dnsz)) != 0 &&
		    out != NULL)
			dir_case_clear(out);
	}
	ld_search_end(l, c, res);
	return r;
}

/* The case that claims the record of key, into other. */
static int
member_owner(struct ldb *l, const char *key, char other[DIR_CASE_ID_LEN + 1])
{
	return key_attr(l, "cases", "yhSetting", key, "yhValue", other, DIR_CASE_ID_LEN + 1);
}

/* Removes the claims of the members of case id (n of them, keys), and those only. */
static void
members_release(struct ldb *l, const char *id, char **keys, size_t n)
{
	char dn[LD_DN_MAX], owner[DIR_CASE_ID_LEN + 1];

	for (size_t i = 0; i < n; i++)
		if (member_owner(l, keys[i], owner) == 0 && strcmp(owner, id) == 0 &&
		    ld_dn(l, "yhKey", keys[i], "cases", dn, sizeof(dn)) == 0)
			(void)ld_write(l, 'd', dn, NULL, "case member release");
}

static void
keys_free(char **keys, size_t n)
{
	for (size_t i = 0; keys != NULL && i < n; i++)
		free(keys[i]);
	free(keys);
}

/* The legacy link keys of the n members (a malloc'd array of n strings). */
static int
member_keys(const struct dir_case_member *m, size_t n, char ***out)
{
	char key[LD_DN_MAX], **keys;
	int r = 0;

	if ((keys = calloc(n + 1, sizeof(*keys))) == NULL)
		return YH_ERR_ALLOC;
	for (size_t i = 0; r == 0 && i < n; i++)
		if ((r = legacy_key(m[i].source, m[i].legacy_id, key, sizeof(key))) == 0 &&
		    (keys[i] = strdup(key)) == NULL)
			r = YH_ERR_ALLOC;
	if (r != 0) {
		keys_free(keys, n);
		return r;
	}
	*out = keys;
	return 0;
}

/* Claims each record for case id; CONFLICT naming the case that holds one (id itself
 * for a record given twice). */
static int
members_claim(struct ldb *l, const char *id, char **keys, size_t n,
    char other[DIR_CASE_ID_LEN + 1], size_t *claimed)
{
	char dn[LD_DN_MAX];
	struct mods ms;
	int r = 0;

	*claimed = 0;
	for (size_t i = 0; r == 0 && i < n; i++) {
		if ((r = ld_dn(l, "yhKey", keys[i], "cases", dn, sizeof(dn))) != 0)
			break;
		mods_init(&ms);
		mod_str(&ms, LDAP_MOD_ADD, "objectClass", "yhSetting");
		mod_str(&ms, LDAP_MOD_ADD, "yhKey", keys[i]);
		mod_str(&ms, LDAP_MOD_ADD, "yhValue", id);
		if ((r = ld_write(l, 'a', dn, &ms, "case member")) == 0)
			(*claimed)++;
		else if (r == YH_ERR_EXISTS) {
			if ((r = member_owner(l, keys[i], other)) == 0 || r == YH_ERR_NOT_FOUND)
				r = YH_ERR_CONFLICT;
		}
	}
	return r;
}

static int
ldap_case_add(void *be, const struct dir_case *cs, const struct dir_case_member *m, size_t n,
    char other[DIR_CASE_ID_LEN + 1])
{
	struct ldb *l = be;
	char dn[LD_DN_MAX], **keys = NULL;
	struct mods ms;
	size_t claimed = 0;
	int r;

	other[0] = '\0';
	if ((r = member_keys(m, n, &keys)) != 0)
		return r;
	/* the same record twice in this case */
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (strcmp(keys[i], keys[j]) == 0) {
				memcpy(other, cs->id, DIR_CASE_ID_LEN + 1);
				r = YH_ERR_CONFLICT;
				goto out;
			}
	if ((r = ld_dn(l, "yhUid", cs->id, "cases", dn, sizeof(dn))) != 0)
		goto out;
	mods_init(&ms);
	mod_str(&ms, LDAP_MOD_ADD, "objectClass", "yhReviewCase");
	mod_str(&ms, LDAP_MOD_ADD, "yhUid", cs->id);
	mod_str(&ms, LDAP_MOD_ADD, "yhCaseReason", cs->reason);
	mod_str(&ms, LDAP_MOD_ADD, "yhCaseState", "open");
	mod_str(&ms, LDAP_MOD_ADD, "yhSealedBody", cs->body);
	mod_int(&ms, LDAP_MOD_ADD, "yhCreated", cs->created);
	mod_int(&ms, LDAP_MOD_ADD, "yhVersion", 1);
	if (n > 0)
		mod_list(&ms, LDAP_MOD_ADD, "yhCaseMember", keys);
	if ((r = ld_write(l, 'a', dn, &ms, "case add")) != 0)
		goto out;
	if ((r = members_claim(l, cs->id, keys, n, other, &claimed)) != 0) {
		members_release(l, cs->id, keys, claimed);
		(void)ld_write(l, 'd', dn, NULL, "case add undo");
	}
out:
	keys_free(keys, n);
	return r;
}

static int
ldap_case_get(void *be, const char *id, struct dir_case *out)
{
	return case_read(be, id, NULL, 0, NULL, out);
}

struct case_rows {
	struct dir_case *v;
	size_t n, cap;
	const char *after;
};

static int
case_row_add(LDAP *ld, LDAPMessage *e, void *arg)
{
	struct case_rows *cr = arg;
	struct dir_case c;
	int r;

	if ((r = read_case(ld, e, &c)) != 0)
		return r;
	if (strcmp(c.id, cr->after) <= 0) {
		dir_case_clear(&c);
		return 0;
	}
	if ((r = arr_grow((void **)&cr->v, &cr->cap, cr->n, sizeof(*cr->v), 16)) != 0) {
		dir_case_clear(&c);
		return r;
	}
	cr->v[cr->n++] = c;
	return 0;
}

static int
case_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dir_case *)a)->id, ((const struct dir_case *)b)->id);
}

static int
ldap_case_list(void *be, const char *state, const char *reason, const char *after,
    size_t limit, struct dir_case **out, size_t *n)
{
	struct case_rows cr = { NULL, 0, 0, after };
	char filter[512], part[256] = "";
	int r;

	*out = NULL;
	*n = 0;
	if (reason != NULL && (r = ld_filter(part, sizeof(part), "(yhCaseReason=%s)", reason,
	    NULL)) != 0)
		return r == YH_ERR_TOO_LONG ? 0 : r;
	if (state != NULL)
		r = ld_filter(filter, sizeof(filter), "(&(objectClass=yhReviewCase)"
		    "(yhCaseState=%s)%s)", state, part);
	else
		r = snprintf(filter, sizeof(filter), "(&(objectClass=yhReviewCase)%s)", part) >=
		    (int)sizeof(filter) ? YH_ERR_TOO_LONG : 0;
	if (r == 0 && (r = ld_scan(be, "cases", filter, case_attrs, case_row_add, &cr)) ==
	    YH_ERR_NOT_FOUND)
		r = 0;      /* no ou=cases yet: no case */
	if (r == 0 && cr.n > 0)
		qsort(cr.v, cr.n, sizeof(*cr.v), case_cmp);
	while (cr.n > limit || (r != 0 && cr.n > 0))
		dir_case_clear(&cr.v[--cr.n]);
	if (cr.n == 0) {
		free(cr.v);
		return r;
	}
	*out = cr.v;
	*n = cr.n;
	return 0;
}

/* Records the decision on the open case id (uid: the merged person, or NULL), guarded by
 * the case's version. NOT_FOUND (no case), EXISTS (decided already). */
static int
case_set_decision(struct ldb *l, const char *id, const char *state, const char *uid,
    bool created, const char *by, const char *note, int64_t now)
{
	char dn[LD_DN_MAX], *dec = NULL;
	struct dir_case cur;
	struct mods ms;
	int64_t ver = 0;
	int r = YH_ERR_BUSY;
	json_t *j;

	if ((j = json_pack("{s:s,s:s?,s:I,s:b}", "by", by, "note", note, "at",
	    (json_int_t)now, "created_person", created)) == NULL ||
	    (dec = json_dumps(j, JSON_COMPACT)) == NULL) {
		json_decref(j);
		return YH_ERR_ALLOC;
	}
	json_decref(j);
	for (int attempt = 0; attempt < LD_RETRY_MAX && r == YH_ERR_BUSY; attempt++) {
		if (attempt > 0)
			ld_backoff(attempt);
		if ((r = case_read(l, id, dn, sizeof(dn), &ver, &cur)) != 0)
			break;
		r = cur.state == DIR_CASE_OPEN ? 0 : YH_ERR_EXISTS;
		dir_case_clear(&cur);
		if (r != 0)
			break;
		mods_init(&ms);
		mod_str(&ms, LDAP_MOD_REPLACE, "yhCaseState", state);
		mod_str(&ms, LDAP_MOD_REPLACE, "yhCaseDecision", dec);
		mod_set(&ms, "yhPersonUid", uid);
		mod_set(&ms, "yhLastLogin", NULL);
		mod_int(&ms, LDAP_MOD_DELETE, "yhVersion", ver);
		mod_int(&ms, LDAP_MOD_ADD, "yhVersion", ver + 1);
		r = ld_write(l, 'm', dn, &ms, "case decide");
	}
	free(dec);
	return r;
}

/* Adds one account of a merge to uid, with its legacy password on the link (a primary
 * one becomes the person's own). CONFLICT when the account is linked already. */
static int
case_link(struct ldb *l, const char *uid, const struct dir_case_link *lk, int64_t now)
{
	char dn[LD_DN_MAX], key[LD_DN_MAX];
	struct mods ms;
	int r;

	if ((r = legacy_key(lk->source, lk->legacy_id, key, sizeof(key))) != 0 ||
	    (r = ld_dn(l, "yhKey", key, "legacy", dn, sizeof(dn))) != 0)
		return r;
	mods_init(&ms);
	mod_str(&ms, LDAP_MOD_ADD, "objectClass", "yhLegacyLink");
	mod_str(&ms, LDAP_MOD_ADD, "yhKey", key);
	mod_str(&ms, LDAP_MOD_ADD, "yhOwner", uid);
	mod_str(&ms, LDAP_MOD_ADD, "yhLegacySource", lk->source);
	mod_str(&ms, LDAP_MOD_ADD, "yhLegacyId", lk->legacy_id);
	mod_opt(&ms, "yhLegacyUsername", lk->username);
	mod_str(&ms, LDAP_MOD_ADD, "yhStatus", dir_status_str(lk->status));
	mod_int(&ms, LDAP_MOD_ADD, "yhCreated", now);
	if (lk->scheme != NULL && !lk->primary) {
		mod_str(&ms, LDAP_MOD_ADD, "yhPasswordScheme", lk->scheme);
		mod_str(&ms, LDAP_MOD_ADD, "yhPasswordHash", lk->hash);
		mod_opt(&ms, "yhPasswordSalt", lk->salt);
		mod_int(&ms, LDAP_MOD_ADD, "yhPasswordUpdated", now);
	}
	if ((r = ld_write(l, 'a', dn, &ms, "case link")) != 0)
		return r == YH_ERR_EXISTS ? YH_ERR_CONFLICT : r;
	if (lk->scheme != NULL && lk->primary)
		r = ldap_cred_set(l, uid, lk->scheme, lk->hash, lk->salt, now);
	return r;
}

/* Deletes the legacy links of the n accounts that uid owns. */
static int
case_unlink(struct ldb *l, const char *uid, char *const *keys, size_t n)
{
	char dn[LD_DN_MAX], owner[DIR_UID_LEN + 1];
	int r = 0;

	for (size_t i = 0; r == 0 && i < n; i++) {
		if ((r = key_attr(l, "legacy", "yhLegacyLink", keys[i], "yhOwner", owner,
		    sizeof(owner))) == YH_ERR_NOT_FOUND) {
			r = 0;
			continue;
		}
		if (r == 0 && strcmp(owner, uid) == 0 &&
		    (r = ld_dn(l, "yhKey", keys[i], "legacy", dn, sizeof(dn))) == 0 &&
		    (r = ld_write(l, 'd', dn, NULL, "case unlink")) == YH_ERR_NOT_FOUND)
			r = 0;
	}
	return r;
}

/* The yhCaseMember values of case id (a malloc'd array, *n of them). */
static int
case_member_keys(struct ldb *l, const char *id, char ***out, size_t *n)
{
	const char *attrs[] = { "yhCaseMember", NULL };
	char filter[256], **keys = NULL;
	struct berval **v = NULL;
	struct lconn *c = NULL;
	LDAPMessage *res = NULL, *e;
	size_t cnt = 0;
	LDAP *ld;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = ld_filter(filter, sizeof(filter), "(&(objectClass=yhReviewCase)(yhUid=%s))",
	    id, NULL)) != 0 || (r = ld_search(l, "cases", LDAP_SCOPE_ONELEVEL, filter, attrs, 2,
	    &ld, &c, &res)) != 0)
		return r;
	if ((e = ldap_first_entry(ld, res)) == NULL)
		r = YH_ERR_NOT_FOUND;
	else if ((v = ldap_get_values_len(ld, e, "yhCaseMember")) != NULL) {
		cnt = (size_t)ldap_count_values_len(v);
		if ((keys = calloc(cnt + 1, sizeof(*keys))) == NULL)
			r = YH_ERR_ALLOC;
		for (size_t i = 0; r == 0 && i < cnt; i++)
			if ((keys[i] = strndup(v[i]->bv_val, v[i]->bv_len)) == NULL)
				r = YH_ERR_ALLOC;
	}
	ldap_value_free_len(v);
	ld_search_end(l, c, res);
	if (r != 0) {
		keys_free(keys, cnt);
		return r;
	}
	*out = keys;
	*n = cnt;
	return 0;
}

static int person_erase(struct ldb *l, const char *uid);

static int
ldap_case_merge(void *be, const char *id, const char *uid, const struct dir_person_rec *create,
    const struct dir_case_link *lk, size_t n, const char *by, const char *note, int64_t now)
{
	struct ldb *l = be;
	struct dir_case cur;
	struct dir_person_rec p;
	char **keys = NULL;
	size_t linked = 0;
	bool made = false;
	int r;

	if ((r = case_read(l, id, NULL, 0, NULL, &cur)) != 0)
		return r;
	r = cur.state == DIR_CASE_OPEN ? 0 : YH_ERR_EXISTS;
	dir_case_clear(&cur);
	if (r != 0)
		return r;
	if (create != NULL) {
		if ((r = ldap_person_add(l, create)) != 0)
			return r == YH_ERR_EXISTS ? YH_ERR_CONFLICT : r;
		made = true;
	}
	if ((r = person_get(l, uid, NULL, 0, &p)) == 0) {
		if (p.p.status == DIR_STATUS_DEREGISTERED)
			r = YH_ERR_DENIED;
		dir_person_rec_clear(&p);
	}
	for (; r == 0 && linked < n; linked++)
		if ((r = case_link(l, uid, &lk[linked], now)) != 0)
			break;
	if (r == 0)
		r = case_set_decision(l, id, "merged", uid, made, by, note, now);
	if (r == 0)
		return 0;
	/* take back what this merge made: the links it added, the person it made */
	if ((keys = calloc(linked + 1, sizeof(*keys))) != NULL) {
		struct dir_case_member m;
		char **k = NULL;

		for (size_t i = 0; i < linked; i++) {
			m.source = lk[i].source;
			m.legacy_id = lk[i].legacy_id;
			if (member_keys(&m, 1, &k) == 0) {
				keys[i] = k[0];
				free(k);
			}
		}
		for (size_t i = 0; i < linked; i++)
			if (keys[i] != NULL)
				(void)case_unlink(l, uid, &keys[i], 1);
		keys_free(keys, linked);
	}
	if (made)
		(void)person_erase(l, uid);
	return r;
}

static int
ldap_case_merge_org(void *be, const char *id, const char *uid, const struct dir_org *create,
    const struct dir_case_link *lk, size_t n, const char *by, const char *note, int64_t now)
{
	(void)be, (void)id, (void)uid, (void)create, (void)lk, (void)n, (void)by, (void)note;
	(void)now;
	return YH_ERR_NOT_FOUND;   /* no case is ever stored here (ldap_case_add) */
}

static int
ldap_case_decide(void *be, const char *id, const char *state, const char *by,
    const char *note, int64_t now)
{
	return case_set_decision(be, id, state, NULL, false, by, note, now);
}

/* Opens the decided case again (guarded by its version). */
static int
case_reopen(struct ldb *l, const char *id, const char *dn, int64_t ver)
{
	struct mods ms;

	mods_init(&ms);
	mod_str(&ms, LDAP_MOD_REPLACE, "yhCaseState", "open");
	mod_set(&ms, "yhCaseDecision", NULL);
	mod_set(&ms, "yhPersonUid", NULL);
	mod_set(&ms, "yhLastLogin", NULL);
	mod_int(&ms, LDAP_MOD_DELETE, "yhVersion", ver);
	mod_int(&ms, LDAP_MOD_ADD, "yhVersion", ver + 1);
	(void)id;
	return ld_write(l, 'm', dn, &ms, "case undo");
}

/* The decision goes first (so that a login noted meanwhile makes the undo fail and
 * leaves the merge whole), then the links the merge added, then a person it made. */
static int
ldap_case_undo(void *be, const char *id)
{
	struct ldb *l = be;
	struct dir_case cur;
	char dn[LD_DN_MAX], **keys = NULL;
	int64_t ver = 0;
	size_t n = 0;
	int r;

	if ((r = case_read(l, id, dn, sizeof(dn), &ver, &cur)) != 0)
		return r;
	if (cur.state == DIR_CASE_OPEN)
		r = YH_ERR_INVALID;
	else if (cur.state == DIR_CASE_MERGED && cur.used != 0)
		r = YH_ERR_DENIED;
	if (r == 0 && cur.merged_uid[0] != '\0')
		r = case_member_keys(l, id, &keys, &n);
	if (r == 0 && (r = case_reopen(l, id, dn, ver)) == YH_ERR_BUSY)
		r = YH_ERR_CONFLICT;      /* decided, undone or used meanwhile: look again */
	if (r == 0 && cur.merged_uid[0] != '\0')
		r = case_unlink(l, cur.merged_uid, keys, n);
	if (r == 0 && cur.created_person)
		r = person_erase(l, cur.merged_uid);
	keys_free(keys, n);
	dir_case_clear(&cur);
	return r;
}

struct ids {
	char (*v)[DIR_CASE_ID_LEN + 1];
	size_t n, cap;
};

static int
id_add(LDAP *ld, LDAPMessage *e, void *arg)
{
	struct ids *d = arg;
	int r = arr_grow((void **)&d->v, &d->cap, d->n, sizeof(*d->v), 4);

	if (r == 0 && (r = get_fixed(ld, e, "yhUid", d->v[d->n], sizeof(*d->v))) == 0)
		d->n++;
	return r;
}

/* The ids of the cases merged into uid (state merged; unused only: unused). */
static int
cases_of(struct ldb *l, const char *uid, bool unused, struct ids *d)
{
	const char *attrs[] = { "yhUid", NULL };
	char filter[256];
	int r;

	if ((r = ld_filter(filter, sizeof(filter), unused ? "(&(objectClass=yhReviewCase)"
	    "(yhPersonUid=%s)(yhCaseState=merged)(!(yhLastLogin=*)))" :
	    "(&(objectClass=yhReviewCase)(yhPersonUid=%s))", uid, NULL)) != 0)
		return r;
	/* NOT_FOUND: no ou=cases (a tree made before it): no case */
	return (r = ld_scan(l, "cases", filter, attrs, id_add, d)) == YH_ERR_NOT_FOUND ? 0 : r;
}

/* Marks the merges into uid not yet used as used, each with the case's version (so that
 * an undo that read the case before cannot go through after): a search on the indexed
 * yhPersonUid, which finds nothing for almost every login. */
static int
ldap_case_note_login(void *be, const char *uid, int64_t now)
{
	struct ldb *l = be;
	struct ids d = { NULL, 0, 0 };
	struct dir_case cur;
	char dn[LD_DN_MAX];
	struct mods ms;
	int r;

	if ((r = cases_of(l, uid, true, &d)) == YH_ERR_TOO_LONG)
		r = 0;
	for (size_t i = 0; r == 0 && i < d.n; i++) {
		int64_t ver = 0;

		r = YH_ERR_BUSY;
		for (int attempt = 0; attempt < LD_RETRY_MAX && r == YH_ERR_BUSY; attempt++) {
			if (attempt > 0)
				ld_backoff(attempt);
			if ((r = case_read(l, d.v[i], dn, sizeof(dn), &ver, &cur)) != 0)
				break;
			if (cur.state != DIR_CASE_MERGED || cur.used != 0 ||
			    strcmp(cur.merged_uid, uid) != 0) {
				dir_case_clear(&cur);
				break;      /* undone or noted meanwhile */
			}
			dir_case_clear(&cur);
			mods_init(&ms);
			mod_int(&ms, LDAP_MOD_ADD, "yhLastLogin", now);
			mod_int(&ms, LDAP_MOD_DELETE, "yhVersion", ver);
			mod_int(&ms, LDAP_MOD_ADD, "yhVersion", ver + 1);
			r = ld_write(l, 'm', dn, &ms, "case used");
		}
		if (r == YH_ERR_NOT_FOUND)
			r = 0;
	}
	free(d.v);
	return r;
}

/* Deletes case id and the claims of its records. */
static int
case_delete(struct ldb *l, const char *id)
{
	char dn[LD_DN_MAX], **keys = NULL;
	size_t n = 0;
	int r;

	if ((r = case_member_keys(l, id, &keys, &n)) != 0)
		return r == YH_ERR_NOT_FOUND ? 0 : r;
	members_release(l, id, keys, n);
	keys_free(keys, n);
	if ((r = ld_dn(l, "yhUid", id, "cases", dn, sizeof(dn))) == 0 &&
	    (r = ld_write(l, 'd', dn, NULL, "case delete")) == YH_ERR_NOT_FOUND)
		r = 0;
	return r;
}

/* Erases the person uid and everything that names them: their consents, pins, links and
 * the cases merged into them, the relations they hold, the mentions in relations they
 * granted and organizations they represented; the entry last (so that an erase cut short
 * leaves the person, and is done again). */
static int
person_erase(struct ldb *l, const char *uid)
{
	struct dir_person_rec cur;
	struct ids d = { NULL, 0, 0 };
	char dn[LD_DN_MAX];
	int r;

	if ((r = person_get(l, uid, dn, sizeof(dn), &cur)) != 0)
		return r;
	for (size_t i = 0; r == 0 && i < 5; i++)
		r = delete_owned(l, (const char *const[]){ "consents", "pins", "legacy",
		    "upstream", "certs" }[i], uid);
	if (r == 0)
		r = cases_of(l, uid, false, &d);
	for (size_t i = 0; r == 0 && i < d.n; i++)
		r = case_delete(l, d.v[i]);
	if (r == 0)
		r = person_unreference(l, uid);
	if (r == 0 && cur.p.username != NULL)
		username_release(l, cur.p.username);
	if (r == 0)
		r = ld_write(l, 'd', dn, NULL, "person purge");
	free(d.v);
	dir_person_rec_clear(&cur);
	return r;
}

/* ---- what dir_copy brings ---- */

/* The n values of a multi-valued attribute, NULL-terminated; freed by vals_free. */
static void
vals_free(char **v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

/* The organization entry with its history as values numbered 1..nh (and a version of
 * nh, so that the next change numbers after them), then its relations. */
static int
ldap_org_import(void *be, const struct dir_org *o, const struct dir_org_change *h,
    size_t nh, const struct dir_mandate *m, size_t nm)
{
	struct ldb *l = be;
	char dn[LD_DN_MAX], **hv = NULL;
	struct mods ms;
	int r;

	if (org_get(l, "yhUid", o->uid, NULL, 0, NULL, NULL) == 0 ||
	    (o->uscc != NULL && org_get(l, "yhUscc", o->uscc, NULL, 0, NULL, NULL) == 0))
		return YH_ERR_EXISTS;
	if ((r = ld_dn(l, "yhOrgCode", o->org_code, "orgs", dn, sizeof(dn))) != 0)
		return r;
	if ((hv = calloc(nh + 1, sizeof(*hv))) == NULL)
		return YH_ERR_ALLOC;
	for (size_t i = 0; i < nh; i++)
		if ((hv[i] = change_json((int64_t)i + 1, h[i].field, h[i].old_value,
		    h[i].new_value, h[i].actor, h[i].at)) == NULL) {
			r = YH_ERR_ALLOC;
			goto out;
		}
	org_mods(&ms, o);
	mod_int(&ms, LDAP_MOD_ADD, "yhVersion", nh > 0 ? (int64_t)nh : 1);
	if (nh > 0)
		mod_list(&ms, LDAP_MOD_ADD, "yhOrgChange", hv);
	r = ld_write(l, 'a', dn, &ms, "org import");
	for (size_t i = 0; r == 0 && i < nm; i++)
		r = rel_insert(l, &m[i]);
out:
	vals_free(hv, nh);
	return r;
}

/* Verification events to append, and their values (n + 1 slots, NULL-terminated). */
struct loa_batch {
	const struct dir_loa *v;
	size_t n;
	char **vals;
};

/* The events as yhLoaHistory values numbered 1..n: before any a later change adds
 * (numbered by the clock). */
static int
fill_loa_import(const struct dir_person_rec *cur, struct mods *ms, void *arg)
{
	struct loa_batch *a = arg;

	(void)cur;
	for (size_t i = 0; i < a->n; i++) {
		const struct dir_loa *v = &a->v[i];
		json_t *o;

		free(a->vals[i]);
		o = json_pack("{s:I,s:i,s:s,s:s?,s:s?,s:I,s:b}", "n", (json_int_t)i + 1, "level",
		    v->level, "method", v->method, "by", v->by, "evidence", v->evidence, "at",
		    (json_int_t)v->at, "applied", 0);
		a->vals[i] = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		json_decref(o);
		if (a->vals[i] == NULL)
			return YH_ERR_ALLOC;
	}
	mod_list(ms, LDAP_MOD_ADD, "yhLoaHistory", a->vals);
	return 0;
}

static int
ldap_loa_import(void *be, const char *uid, const struct dir_loa *v, size_t n)
{
	struct loa_batch a = { v, n, NULL };
	int r;

	if (n == 0)
		return 0;
	if ((a.vals = calloc(n + 1, sizeof(*a.vals))) == NULL)
		return YH_ERR_ALLOC;
	r = person_change(be, uid, fill_loa_import, &a, "loa import");
	vals_free(a.vals, n);
	return r;
}

/* ---- uid re-keys ----
 *
 * Every attribute that holds an entity's uid is rewritten entry by entry (no transaction
 * across entries): the checks come first (the old uid is a person or an organization,
 * the new one is nobody's, pins only for a person), so that a re-key refused changes
 * nothing; one cut short by a lost server is done again by running it again (the old
 * uid's remaining records are moved then). Consents and pins are named by their owner's
 * uid: they are renamed. */

/* The entries a re-key touches under one ou: each DN with, for a rename, its yhKey and,
 * for a history value, the value (key) and what it becomes (now). */
struct rk_ent {
	char *dn, *key, *now;
};

struct rk_ents {
	struct rk_ent *v;
	size_t n, cap;
	const char *old, *new;   /* for rk_hist_add */
};

static int
rk_push(struct rk_ents *x, LDAP *ld, LDAPMessage *e, struct rk_ent **out)
{
	int r;

	if ((r = arr_grow((void **)&x->v, &x->cap, x->n, sizeof(*x->v), 16)) != 0)
		return r;
	*out = &x->v[x->n];
	memset(*out, 0, sizeof(**out));
	if (((*out)->dn = ldap_get_dn(ld, e)) == NULL)
		return YH_ERR_DB;
	x->n++;
	return 0;
}

static int
rk_add(LDAP *ld, LDAPMessage *e, void *arg)
{
	struct rk_ent *en;
	int r;

	if ((r = rk_push(arg, ld, e, &en)) != 0)
		return r;
	return get_str(ld, e, "yhKey", &en->key);
}

/* Each history value of the entry that names old, with what it becomes. */
static int
rk_hist_add(LDAP *ld, LDAPMessage *e, void *arg)
{
	struct rk_ents *x = arg;
	struct berval **v = ldap_get_values_len(ld, e, "yhOrgChange");
	int r = 0;

	for (size_t k = 0; r == 0 && v != NULL && v[k] != NULL; k++) {
		json_t *o = json_loadb(v[k]->bv_val, v[k]->bv_len, 0, NULL);
		const char *ov = json_string_value(json_object_get(o, "old"));
		const char *nv = json_string_value(json_object_get(o, "new"));
		bool in_old = ov != NULL && strcmp(ov, x->old) == 0;
		bool in_new = nv != NULL && strcmp(nv, x->old) == 0;
		struct rk_ent *en;

		if (o != NULL && (in_old || in_new)) {
			if (in_old)
				json_object_set_new(o, "old", json_string(x->new));
			if (in_new)
				json_object_set_new(o, "new", json_string(x->new));
			if ((r = rk_push(x, ld, e, &en)) == 0 &&
			    ((en->key = strndup(v[k]->bv_val, v[k]->bv_len)) == NULL ||
			    (en->now = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL))
				r = YH_ERR_ALLOC;
		}
		json_decref(o);
	}
	ldap_value_free_len(v);
	return r;
}

static void
rk_free(struct rk_ents *x)
{
	for (size_t i = 0; i < x->n; i++) {
		ldap_memfree(x->v[i].dn);
		free(x->v[i].key);
		free(x->v[i].now);
	}
	free(x->v);
	memset(x, 0, sizeof(*x));
}

/* Sets attr from old to new in every entry under ou whose attr is old. */
static int
rk_attr(struct ldb *l, const char *ou, const char *attr, const char *old, const char *new)
{
	const char *attrs[] = { "yhKey", NULL };
	struct rk_ents x = { NULL, 0, 0, old, new };
	char filter[128], fmt[64];
	struct mods ms;
	int r;

	snprintf(fmt, sizeof(fmt), "(%s=%%s)", attr);
	if ((r = ld_filter(filter, sizeof(filter), fmt, old, NULL)) == 0)
		r = ld_scan(l, ou, filter, attrs, rk_add, &x);
	for (size_t i = 0; r == 0 && i < x.n; i++) {
		mods_init(&ms);
		mod_str(&ms, LDAP_MOD_REPLACE, attr, new);
		r = ld_write(l, 'm', x.v[i].dn, &ms, "re-key");
	}
	rk_free(&x);
	return r;
}

/* Renames the entries under ou keyed OLD:... to NEW:... and sets their yhOwner. */
static int
rk_rename(struct ldb *l, const char *ou, const char *old, const char *new)
{
	const char *attrs[] = { "yhKey", NULL };
	struct rk_ents x = { NULL, 0, 0, old, new };
	char filter[128], key[LD_DN_MAX], esc[LD_DN_MAX], rdn[LD_DN_MAX + 8], dn[LD_DN_MAX];
	struct mods ms;
	size_t ol = strlen(old);
	int r;

	if ((r = ld_filter(filter, sizeof(filter), "(yhOwner=%s)", old, NULL)) == 0)
		r = ld_scan(l, ou, filter, attrs, rk_add, &x);
	for (size_t i = 0; r == 0 && i < x.n; i++) {
		const char *k = x.v[i].key;

		if (k == NULL || strncmp(k, old, ol) != 0 || k[ol] != ':') {
			r = YH_ERR_DB;
			break;
		}
		if ((r = pair_key(new, k + ol + 1, key, sizeof(key))) != 0 ||
		    (r = dn_value(key, esc, sizeof(esc))) != 0)
			break;
		snprintf(rdn, sizeof(rdn), "yhKey=%s", esc);
		mods_init(&ms);
		ms.one[0][0] = rdn;
		if ((r = ld_write(l, 'r', x.v[i].dn, &ms, "re-key rename")) != 0 ||
		    (r = ld_dn(l, "yhKey", key, ou, dn, sizeof(dn))) != 0)
			break;
		mods_init(&ms);
		mod_str(&ms, LDAP_MOD_REPLACE, "yhOwner", new);
		r = ld_write(l, 'm', dn, &ms, "re-key");
	}
	rk_free(&x);
	return r;
}

/* Rewrites the organizations' history values that name old (as the old or new value). */
static int
rk_history(struct ldb *l, const char *old, const char *new)
{
	const char *attrs[] = { "yhOrgChange", NULL };
	struct rk_ents x = { NULL, 0, 0, old, new };
	char filter[128];
	struct mods ms;
	int r;

	if ((r = ld_filter(filter, sizeof(filter), "(yhOrgChange=*%s*)", old, NULL)) == 0)
		r = ld_scan(l, "orgs", filter, attrs, rk_hist_add, &x);
	for (size_t i = 0; r == 0 && i < x.n; i++) {
		mods_init(&ms);
		mod_str(&ms, LDAP_MOD_DELETE, "yhOrgChange", x.v[i].key);
		mod_str(&ms, LDAP_MOD_ADD, "yhOrgChange", x.v[i].now);
		r = ld_write(l, 'm', x.v[i].dn, &ms, "re-key history");
	}
	rk_free(&x);
	return r;
}

/* Checks one pair: old is a person (*person true) or an organization, new is nobody. */
static int
rk_check(struct ldb *l, const struct dir_rekey *p, bool *person)
{
	int r;

	if ((r = person_exists(l, p->old_uid)) == 0)
		*person = true;
	else if (r == YH_ERR_NOT_FOUND &&
	    (r = org_get(l, "yhUid", p->old_uid, NULL, 0, NULL, NULL)) == 0)
		*person = false;
	if (r != 0)
		return r;
	if (!*person && p->npins > 0)
		return YH_ERR_NOT_FOUND;      /* pins are a person's */
	if ((r = person_exists(l, p->new_uid)) == 0 ||
	    (r = org_get(l, "yhUid", p->new_uid, NULL, 0, NULL, NULL)) == 0)
		return YH_ERR_EXISTS;
	return r == YH_ERR_NOT_FOUND ? 0 : r;
}

/* Records the n pins of uid, a pin already there for a sector kept (a pin never
 * changes); no check that uid is a person (a re-key adds them before the person entry
 * takes the new uid). */
static int
rk_pins(struct ldb *l, const char *uid, const struct dir_subject_pin *pins, size_t n)
{
	char dn[LD_DN_MAX], key[LD_DN_MAX];
	struct mods ms;
	int r = 0;

	for (size_t i = 0; r == 0 && i < n; i++) {
		if ((r = pair_key(uid, pins[i].sector, key, sizeof(key))) != 0 ||
		    (r = ld_dn(l, "yhKey", key, "pins", dn, sizeof(dn))) != 0)
			break;
		mods_init(&ms);
		mod_str(&ms, LDAP_MOD_ADD, "objectClass", "yhSubjectPin");
		mod_str(&ms, LDAP_MOD_ADD, "yhKey", key);
		mod_str(&ms, LDAP_MOD_ADD, "yhOwner", uid);
		mod_str(&ms, LDAP_MOD_ADD, "yhSector", pins[i].sector);
		mod_str(&ms, LDAP_MOD_ADD, "yhSubject", pins[i].sub);
		if ((r = ld_write(l, 'a', dn, &ms, "pin add")) == YH_ERR_EXISTS)
			r = 0;
	}
	return r;
}

/* Moves every record of one entity, then records its pins under the new uid, and the
 * entity itself last. */
static int
rk_one(struct ldb *l, const struct dir_rekey *p, bool person)
{
	static const struct { const char *ou, *attr; } refs[] = {
		{ "relations", "yhPersonUid" }, { "relations", "yhOrgUid" },
		{ "relations", "yhGrantedBy" }, { "orgs", "yhLegalRepUid" },
		{ "legacy", "yhOwner" }, { "upstream", "yhOwner" }, { "certs", "yhOwner" },
		{ "cases", "yhPersonUid" },
	};
	const char *o = p->old_uid, *n = p->new_uid;
	struct dir_person_rec cur;
	int r = 0;

	/* the username claim names the uid: the one entry, found by the username */
	if (person && (r = person_get(l, o, NULL, 0, &cur)) == 0) {
		char key[DIR_USERNAME_MAX * 2 + 1], dn[LD_DN_MAX];
		struct mods ms;

		if (cur.p.username != NULL) {
			username_key(cur.p.username, key, sizeof(key));
			mods_init(&ms);
			mod_str(&ms, LDAP_MOD_REPLACE, "yhValue", n);
			if ((r = ld_dn(l, "yhKey", key, "usernames", dn, sizeof(dn))) == 0)
				r = ld_write(l, 'm', dn, &ms, "re-key username");
		}
		dir_person_rec_clear(&cur);
	}
	for (size_t i = 0; r == 0 && i < sizeof(refs) / sizeof(refs[0]); i++)
		r = rk_attr(l, refs[i].ou, refs[i].attr, o, n);
	if (r == 0)
		r = rk_history(l, o, n);
	if (r == 0)
		r = rk_rename(l, "consents", o, n);
	if (r == 0)
		r = rk_rename(l, "pins", o, n);
	if (r == 0 && p->npins > 0)
		r = rk_pins(l, n, p->pins, p->npins);
	/* the entity last: a re-key cut short before it is run again from the start */
	if (r == 0)
		r = rk_attr(l, person ? "persons" : "orgs", "yhUid", o, n);
	return r;
}

static int
ldap_uid_rekey(void *be, const struct dir_rekey *pairs, size_t n)
{
	struct ldb *l = be;
	bool *person;
	int r = 0;

	if (l->bulk)
		return YH_ERR_BUSY;
	if (n == 0)
		return 0;
	if ((person = calloc(n, sizeof(*person))) == NULL)
		return YH_ERR_ALLOC;
	for (size_t i = 0; r == 0 && i < n; i++)
		r = rk_check(l, &pairs[i], &person[i]);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = rk_one(l, &pairs[i], person[i]);
	free(person);
	return r;
}

/* ---- the store ---- */

static const char *
ldap_where(void *be)
{
	return ((struct ldb *)be)->where;
}

static void
ldap_close(void *be)
{
	struct ldb *l = be;
	struct lconn *c;

	if (l == NULL)
		return;
	while ((c = l->idle) != NULL) {
		l->idle = c->next;
		conn_close(c);
	}
	for (size_t i = 0; i < l->nuris; i++)
		free(l->uris[i]);
	free(l->base);
	free(l->bind_dn);
	yh_strfree_secret(l->password);
	free(l->ca_file);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
	free(l);
}

/* A read of the base entry: the server answers and the directory is there. */
static int
ldap_ping(void *be, char *why, size_t whysz)
{
	struct ldb *l = be;
	const char *attrs[] = { LDAP_NO_ATTRS, NULL };
	struct lconn *c = NULL;
	LDAPMessage *res = NULL;
	LDAP *ld;
	int r;

	if ((r = ld_search(l, "meta", LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 1, &ld, &c,
	    &res)) == 0) {
		ld_search_end(l, c, res);
		return 0;
	}
	snprintf(why, whysz, "the LDAP directory (%s) does not answer: %s", l->where,
	    yh_strerror(r));
	return r == YH_ERR_NOT_FOUND ? YH_ERR_UNAVAILABLE : r == YH_ERR_UNAVAILABLE ? r :
	    YH_ERR_UNAVAILABLE;
}

/* LDAP has no transaction across entries: bulk mode only marks the group (every write
 * is durable when it returns). */
static int
ldap_bulk(void *be, bool begin)
{
	struct ldb *l = be;

	if (l->bulk == begin)
		return YH_ERR_BUSY;
	l->bulk = begin;
	return 0;
}

static int
ldap_meta_get(void *be, const char *key, char **val)
{
	struct ldb *l = be;
	const char *attrs[] = { "yhValue", NULL };
	char filter[LD_DN_MAX];
	struct lconn *c = NULL;
	LDAPMessage *res = NULL, *e;
	LDAP *ld;
	int r;

	*val = NULL;
	if ((r = ld_filter(filter, sizeof(filter), "(yhKey=%s)", key, NULL)) != 0 ||
	    (r = ld_search(l, "meta", LDAP_SCOPE_ONELEVEL, filter, attrs, 2, &ld, &c, &res)) != 0)
		return r;
	if ((e = ldap_first_entry(ld, res)) == NULL)
		r = YH_ERR_NOT_FOUND;
	else if ((r = get_str(ld, e, "yhValue", val)) == 0 && *val == NULL)
		r = YH_ERR_NOT_FOUND;
	ld_search_end(l, c, res);
	return r;
}

static int
ldap_meta_set(void *be, const char *key, const char *val)
{
	struct ldb *l = be;
	char dn[LD_DN_MAX];
	struct mods ms;
	int r;

	if ((r = ld_dn(l, "yhKey", key, "meta", dn, sizeof(dn))) != 0)
		return r;
	mods_init(&ms);
	mod_str(&ms, LDAP_MOD_REPLACE, "yhValue", val);
	if ((r = ld_write(l, 'm', dn, &ms, "meta set")) != YH_ERR_NOT_FOUND)
		return r;
	mods_init(&ms);
	mod_str(&ms, LDAP_MOD_ADD, "objectClass", "yhSetting");
	mod_str(&ms, LDAP_MOD_ADD, "yhKey", key);
	mod_str(&ms, LDAP_MOD_ADD, "yhValue", val);
	return ld_write(l, 'a', dn, &ms, "meta set");
}

static int
ldap_meta_list(void *be, const char *prefix, size_t max, char ***keys, char ***vals,
    size_t *n)
{
	struct ldb *l = be;
	const char *attrs[] = { "yhKey", "yhValue", NULL };
	char filter[LD_DN_MAX], **k = NULL, **v = NULL;
	struct lconn *c = NULL;
	LDAPMessage *res = NULL, *e;
	size_t cnt = 0;
	LDAP *ld;
	int r;

	*keys = *vals = NULL;
	*n = 0;
	if ((r = ld_filter(filter, sizeof(filter), "(yhKey=%s*)", prefix, NULL)) != 0)
		return r;
	if ((k = calloc(max + 1, sizeof(*k))) == NULL ||
	    (v = calloc(max + 1, sizeof(*v))) == NULL) {
		free(k);
		return YH_ERR_ALLOC;
	}
	if ((r = ld_search(l, "meta", LDAP_SCOPE_ONELEVEL, filter, attrs, (int)max, &ld, &c,
	    &res)) == YH_ERR_LIMIT)
		r = 0;         /* the first max are enough */
	for (e = r == 0 ? ldap_first_entry(ld, res) : NULL; r == 0 && e != NULL && cnt < max;
	    e = ldap_next_entry(ld, e)) {
		if ((r = get_str(ld, e, "yhKey", &k[cnt])) == 0 &&
		    (r = get_str(ld, e, "yhValue", &v[cnt])) == 0 &&
		    k[cnt] != NULL && v[cnt] != NULL)
			cnt++;
	}
	if (c != NULL || res != NULL)
		ld_search_end(l, c, res);
	if (r != 0 || cnt == 0) {
		dir_shared_list_free(k, v, cnt + 1);   /* with a half-read last one */
		return r;
	}
	*keys = k;
	*vals = v;
	*n = cnt;
	return 0;
}

/* Adds the base entry (dc=, o= or ou= as its first RDN says) when it is missing. */
static int
base_add(struct ldb *l)
{
	static char *dc_classes[] = { (char *)"dcObject", (char *)"organization", NULL };
	char attr[16], val[256], *eq, *comma;
	struct mods ms;
	size_t al, vl;

	eq = strchr(l->base, '=');
	comma = strchr(l->base, ',');
	if (eq == NULL || (comma != NULL && comma < eq))
		return YH_ERR_CONFIG;
	al = (size_t)(eq - l->base);
	vl = comma != NULL ? (size_t)(comma - eq - 1) : strlen(eq + 1);
	if (al >= sizeof(attr) || vl >= sizeof(val) || memchr(eq + 1, '\\', vl) != NULL)
		return YH_ERR_CONFIG;
	memcpy(attr, l->base, al);
	attr[al] = '\0';
	memcpy(val, eq + 1, vl);
	val[vl] = '\0';
	mods_init(&ms);
	if (strcasecmp(attr, "dc") == 0) {
		mod_list(&ms, LDAP_MOD_ADD, "objectClass", dc_classes);
		mod_str(&ms, LDAP_MOD_ADD, "dc", val);
		mod_str(&ms, LDAP_MOD_ADD, "o", val);
	} else if (strcasecmp(attr, "o") == 0) {
		mod_str(&ms, LDAP_MOD_ADD, "objectClass", "organization");
		mod_str(&ms, LDAP_MOD_ADD, "o", val);
	} else if (strcasecmp(attr, "ou") == 0) {
		mod_str(&ms, LDAP_MOD_ADD, "objectClass", "organizationalUnit");
		mod_str(&ms, LDAP_MOD_ADD, "ou", val);
	} else
		return YH_ERR_CONFIG;
	return ld_write(l, 'a', l->base, &ms, "base add");
}

/* Adds the branch ou=NAME under the base (dn receives its DN). */
static int
branch_add(struct ldb *l, const char *name, char *dn, size_t dnsz)
{
	struct mods ms;
	int r;

	if ((r = ld_dn(l, NULL, NULL, name, dn, dnsz)) != 0)
		return r;
	mods_init(&ms);
	mod_str(&ms, LDAP_MOD_ADD, "objectClass", "organizationalUnit");
	mod_str(&ms, LDAP_MOD_ADD, "ou", name);
	return ld_write(l, 'a', dn, &ms, "branch add");
}

int
dir_ldap_init(void *be, size_t *created, char *err, size_t errsz)
{
	struct ldb *l = be;
	char dn[LD_DN_MAX];
	int r;

	*created = 0;
	if ((r = base_add(l)) == 0)
		(*created)++;
	else if (r != YH_ERR_EXISTS) {
		snprintf(err, errsz, "cannot create %s: %s (create it yourself when its first "
		    "RDN is not dc=, o= or ou=)", l->base, yh_strerror(r));
		return r;
	}
	for (size_t i = 0; i < LD_NOUS; i++) {
		if ((r = branch_add(l, ld_ous[i], dn, sizeof(dn))) == 0)
			(*created)++;
		else if (r != YH_ERR_EXISTS) {
			snprintf(err, errsz, "cannot create %s: %s", dn, yh_strerror(r));
			return r;
		}
	}
	return 0;
}

/* A tree made by an earlier version lacks the branches added since (ou=certs, ou=cases): add
 * them when the base is there (a missing one stays missing when the account may not add
 * it: its writes answer an error, its reads find nothing). */
static void
branches_add(struct ldb *l)
{
	char dn[LD_DN_MAX];
	int r;

	for (size_t i = 0; i < LD_NOUS; i++) {
		if ((r = branch_add(l, ld_ous[i], dn, sizeof(dn))) == 0)
			yh_info("ldap directory: added %s (a branch this version keeps)", dn);
		else if (r != YH_ERR_EXISTS && r != YH_ERR_NOT_FOUND)
			yh_warn("ldap directory: cannot add %s: %s (run authctl directory "
			    "init)", dn, yh_strerror(r));
	}
}

/* Splits the space-separated URIs. */
static int
split_uris(struct ldb *l, const char *uris, char *err, size_t errsz)
{
	const char *p = uris;

	while (*p != '\0') {
		size_t len;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		len = strcspn(p, " \t,");
		if (len == 0)
			break;
		if (l->nuris >= LD_URIS_MAX) {
			snprintf(err, errsz, "directory.ldap_uris: more than %d URIs", LD_URIS_MAX);
			return YH_ERR_CONFIG;
		}
		if (!ldap_is_ldap_url(p) && strncmp(p, "ldaps://", 8) != 0 &&
		    strncmp(p, "ldapi://", 8) != 0) {
			snprintf(err, errsz, "directory.ldap_uris: '%.*s' is not an ldap://, "
			    "ldaps:// or ldapi:// URI", (int)len, p);
			return YH_ERR_CONFIG;
		}
		if ((l->uris[l->nuris++] = strndup(p, len)) == NULL)
			return YH_ERR_ALLOC;
		p += len;
	}
	if (l->nuris == 0) {
		snprintf(err, errsz, "directory.ldap_uris: no URI");
		return YH_ERR_CONFIG;
	}
	return 0;
}

int
dir_ldap_open(const struct ident_cfg *cfg, bool create, void **be, char *err, size_t errsz)
{
	struct ldb *l;
	size_t created;
	struct lconn *c = NULL;
	char why[256];
	int r;

	*be = NULL;
	if (cfg->ldap_uris == NULL || cfg->ldap_base == NULL || cfg->ldap_base[0] == '\0') {
		snprintf(err, errsz, "directory.backend = ldap needs directory.ldap_uris and "
		    "directory.ldap_base");
		return YH_ERR_CONFIG;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return YH_ERR_ALLOC;
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	l->starttls = cfg->ldap_starttls;
	l->timeout = cfg->ldap_timeout > 0 ? (int)cfg->ldap_timeout : 5;
	l->pool_max = cfg->ldap_pool_max > 0 ? (size_t)cfg->ldap_pool_max : 1;
	if ((r = split_uris(l, cfg->ldap_uris, err, errsz)) != 0)
		goto out;
	if ((l->base = strdup(cfg->ldap_base)) == NULL ||
	    (l->bind_dn = strdup(cfg->ldap_bind_dn != NULL ? cfg->ldap_bind_dn : "")) == NULL ||
	    (l->password = strdup(cfg->ldap_password != NULL ? cfg->ldap_password : "")) ==
	    NULL || (l->ca_file = strdup(cfg->ldap_ca_file != NULL ? cfg->ldap_ca_file : "")) ==
	    NULL) {
		r = YH_ERR_ALLOC;
		goto out;
	}
	snprintf(l->where, sizeof(l->where), "%s %s", l->uris[0], l->base);
	/* the first connection now: a wrong password or an unreachable server is a start
	 * error, not the first request's */
	if ((r = conn_open(l, &c, why, sizeof(why))) != 0) {
		snprintf(err, errsz, "ldap directory: cannot connect: %s", why);
		goto out;
	}
	l->open = 1;
	conn_put(l, c, false);
	if (create && (r = dir_ldap_init(l, &created, err, errsz)) != 0)
		goto out;
	if (!create)
		branches_add(l);
	{
		char *v = NULL;

		r = ldap_meta_get(l, "vault_kid", &v);
		free(v);
		if (r == YH_ERR_NOT_FOUND && !create) {
			const char *attrs[] = { LDAP_NO_ATTRS, NULL };
			struct lconn *sc = NULL;
			LDAPMessage *res = NULL;
			LDAP *ld;

			if ((r = ld_search(l, "meta", LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 1,
			    &ld, &sc, &res)) == 0)
				ld_search_end(l, sc, res);
			if (r == YH_ERR_NOT_FOUND) {
				snprintf(err, errsz, "ldap directory %s is not initialized (authctl "
				    "directory init)", l->where);
				goto out;
			}
		}
		if (r != 0 && r != YH_ERR_NOT_FOUND) {
			snprintf(err, errsz, "ldap directory %s: %s", l->where, yh_strerror(r));
			goto out;
		}
		r = 0;
	}
	if ((r = ld_fill_name_keys(l)) != 0)
		yh_warn("ldap directory %s: persons stored before name search were not all "
		    "given their folded name (%s): name search misses them until the next "
		    "start", l->where, yh_strerror(r));
	r = 0;
	*be = l;
	l = NULL;
out:
	ldap_close(l);
	return r;
}

const struct dir_ops dir_ldap_ops = {
	.name = "ldap",
	.where = ldap_where,
	.close = ldap_close,
	.ping = ldap_ping,
	.ulink_add = ldap_ulink_add,
	.cert_bind = ldap_cert_bind,
	.cert_list = ldap_cert_list,
	.ulink_list = ldap_ulink_list,
	.cert_unbind = ldap_cert_unbind,
	.ulink_get = ldap_ulink_get,
	.bulk = ldap_bulk,
	.meta_get = ldap_meta_get,
	.meta_set = ldap_meta_set,
	.meta_list = ldap_meta_list,
	.person_add = ldap_person_add,
	.privacy_list = ldap_privacy_list,
	.person_update = ldap_person_update,
	.person_find = ldap_person_find,
	.person_set_status = ldap_person_set_status,
	.person_tombstones = ldap_person_tombstones,
	.person_purge = ldap_person_purge,
	.person_set_loa = ldap_person_set_loa,
	.person_list = ldap_person_list,
	.person_count = ldap_person_count,
	.org_add = ldap_org_add,
	.org_update = ldap_org_update,
	.org_find = ldap_org_find,
	.org_set_status = ldap_org_set_status,
	.org_tombstones = ldap_org_tombstones,
	.org_purge = ldap_org_purge,
	.org_list = ldap_org_list,
	.org_history = ldap_org_history,
	.mandate_add = ldap_mandate_add,
	.mandate_get = ldap_mandate_get,
	.mandate_list = ldap_mandate_list,
	.mandate_revoke = ldap_mandate_revoke,
	.mandate_end = ldap_mandate_end,
	.legacy_add = ldap_legacy_add,
	.legacy_get = ldap_legacy_get,
	.legacy_list = ldap_legacy_list,
	.legacy_find_username = ldap_legacy_find_username,
	.legacy_remove = ldap_legacy_remove,
	.legacy_of_owner = ldap_legacy_of_owner,
	.cred_get = ldap_cred_get,
	.cred_set = ldap_cred_set,
	.totp_set = ldap_totp_set,
	.totp_confirm = ldap_totp_confirm,
	.totp_get = ldap_totp_get,
	.totp_consume = ldap_totp_consume,
	.totp_delete = ldap_totp_delete,
	.consent_get = ldap_consent_get,
	.consent_add = ldap_consent_add,
	.consent_list = ldap_consent_list,
	.consent_remove = ldap_consent_remove,
	.entity_list = ldap_entity_list,
	.person_search_name = ldap_person_search_name,
	.person_find_name = ldap_person_find_name,
	.org_find_name = ldap_org_find_name,
	.person_loa_history = ldap_person_loa_history,
	.subject_pin_add = ldap_subject_pin_add,
	.subject_pin_find = ldap_subject_pin_find,
	.subject_pin_list = ldap_subject_pin_list,
	.uid_rekey = ldap_uid_rekey,
	.case_add = ldap_case_add,
	.case_get = ldap_case_get,
	.case_list = ldap_case_list,
	.case_merge = ldap_case_merge,
	.case_merge_org = ldap_case_merge_org,
	.case_decide = ldap_case_decide,
	.case_undo = ldap_case_undo,
	.case_note_login = ldap_case_note_login,
	.legacy_cred_list = ldap_legacy_cred_list,
	.org_import = ldap_org_import,
	.loa_import = ldap_loa_import,
	.console_set = ldap_console_set,
	.console_get = ldap_console_get,
};
