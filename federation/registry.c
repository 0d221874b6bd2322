/* The population and legal-person registry clients. See federation/registry.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/atomicfile.h"
#include "common/buf.h"
#include "common/metrics.h"
#include "common/secmem.h"
#include "common/timeutil.h"
#include "federation/http.h"
#include "federation/registry.h"

#define REG_REQ_MAX 4096       /* bytes of a request body */

const char *const fed_reg_auths[] = { "none", "bearer", "basic", NULL };

/* Seconds: from a fast answer to a timeout. */
static const double reg_buckets[] = { 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60 };

struct reg_one {
	const struct fed_reg_one_cfg *cfg;    /* borrowed from the caller's configuration */
	enum fed_reg_kind kind;
	struct curl_slist *headers;           /* read-only once made; holds the credentials */
	char *userpwd;                        /* basic: user:password (secret) */
	struct mx_hist *mx[3];                /* by outcome */
};

struct fed_reg {
	struct reg_one one[2];
	bool curl_ref;
};

const char *
fed_reg_outcome_name(enum fed_reg_outcome o)
{
	switch (o) {
	case FED_REG_MATCH: return "match";
	case FED_REG_MISMATCH: return "mismatch";
	default: return "unavailable";
	}
}

const char *
fed_reg_kind_name(enum fed_reg_kind k)
{
	return k == FED_REG_ORG ? "org" : "person";
}

/* ---- configuration ---------------------------------------------------------------- */

static bool
set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* True when v is one of the '|'-separated values of list. */
static bool
in_list(const char *list, const char *v)
{
	size_t n = strlen(v);

	for (const char *p = list; p != NULL && *p != '\0';) {
		const char *bar = strchr(p, '|');
		size_t len = bar != NULL ? (size_t)(bar - p) : strlen(p);

		if (len == n && memcmp(p, v, n) == 0)
			return true;
		p = bar != NULL ? bar + 1 : NULL;
	}
	return false;
}

static int
check_one(const struct fed_reg_one_cfg *c, const char *k, const char **key, char *msg,
    size_t msgsz)
{
	static const char *const names[2][7] = {
		{ "registry.person.url", "registry.person.credentials_file",
		  "registry.person.auth", "registry.person.ca_file",
		  "registry.person.match_field", "registry.person.match_value",
		  "registry.person.mismatch_value" },
		{ "registry.org.url", "registry.org.credentials_file", "registry.org.auth",
		  "registry.org.ca_file", "registry.org.match_field", "registry.org.match_value",
		  "registry.org.mismatch_value" },
	};
	const char *const *n = names[strcmp(k, "org") == 0];

	if (!set(c->url))
		return 0;
	if (!fed_http_url_ok(c->url)) {
		*key = n[0];
		snprintf(msg, msgsz, "must be an http:// or https:// URL with a host, without "
		    "spaces");
		return YH_ERR_CONFIG;
	}
	if (strcmp(c->auth, "none") != 0 && !set(c->credentials_file)) {
		*key = n[1];
		snprintf(msg, msgsz, "is required with registry.%s.auth = %s", k, c->auth);
		return YH_ERR_CONFIG;
	}
	if (set(c->credentials_file)) {
		*key = n[1];
		if (fed_http_cred_check(c->credentials_file, msg, msgsz) != 0)
			return YH_ERR_CONFIG;
		if (strcmp(c->auth, "none") == 0) {
			*key = n[2];
			snprintf(msg, msgsz, "is none, but registry.%s.credentials_file is set: "
			    "say bearer or basic", k);
			return YH_ERR_CONFIG;
		}
	}
	if (set(c->ca_file) && access(c->ca_file, R_OK) != 0) {
		*key = n[3];
		snprintf(msg, msgsz, "%s: %s", c->ca_file, strerror(errno));
		return YH_ERR_CONFIG;
	}
	if (!set(c->match_field) || !set(c->match_value)) {
		*key = set(c->match_field) ? n[5] : n[4];
		snprintf(msg, msgsz, "must not be empty");
		return YH_ERR_CONFIG;
	}
	if (in_list(c->mismatch_value, c->match_value)) {
		*key = n[6];
		snprintf(msg, msgsz, "contains match_value");
		return YH_ERR_CONFIG;
	}
	return 0;
}

int
fed_reg_cfg_check(const struct fed_reg_cfg *c, const char **key, char *msg, size_t msgsz)
{
	int r;

	if ((r = check_one(&c->person, "person", key, msg, msgsz)) != 0)
		return r;
	return check_one(&c->org, "org", key, msg, msgsz);
}

/* ---- the answer ------------------------------------------------------------------- */

/* Cuts s to at most max bytes without splitting a UTF-8 sequence. */
static void
cut_utf8(char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	s[max] = '\0';
}

enum fed_reg_outcome
fed_reg_map(const struct fed_reg_one_cfg *c, const char *body, size_t len,
    struct fed_reg_result *res)
{
	char text[513];
	json_error_t je;
	json_t *root, *v;
	enum fed_reg_outcome o = FED_REG_UNAVAILABLE;

	res->detail[0] = '\0';
	res->why[0] = '\0';
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(root)) {
		snprintf(res->why, sizeof(res->why), "the answer is not a JSON object");
		goto out;
	}
	if (set(c->detail_field) && (v = fed_json_member(root, c->detail_field)) != NULL) {
		/* cut where a character ends, not where the buffer does */
		fed_json_text(v, text, sizeof(text));
		cut_utf8(text, FED_REG_DETAIL_MAX);
		memcpy(res->detail, text, strlen(text) + 1);
	}
	if ((v = fed_json_member(root, c->match_field)) == NULL) {
		snprintf(res->why, sizeof(res->why), "the answer has no %s", c->match_field);
		goto out;
	}
	fed_json_text(v, text, sizeof(text));
	if (text[0] != '\0' && strcmp(text, c->match_value) == 0)
		o = FED_REG_MATCH;
	else if (text[0] != '\0' && in_list(c->mismatch_value, text))
		o = FED_REG_MISMATCH;
	else
		snprintf(res->why, sizeof(res->why), "%s holds neither match_value nor a "
		    "mismatch_value", c->match_field);
out:
	json_decref(root);
	yh_wipe(text, sizeof(text));
	res->outcome = o;
	return o;
}

/* ---- the clients ------------------------------------------------------------------ */

static void
one_free(struct reg_one *o)
{
	struct curl_slist *h;

	for (h = o->headers; h != NULL; h = h->next)
		yh_wipe(h->data, strlen(h->data));
	curl_slist_free_all(o->headers);
	yh_strfree_secret(o->userpwd);
	memset(o, 0, sizeof(*o));
}

/* Appends the header line h to o's headers. 0 or YH_ERR_ALLOC. */
static int
add_header(struct reg_one *o, const char *h)
{
	return fed_http_header_add(&o->headers, h);
}

/* Reads the credentials of o and builds its headers. */
static int
one_open(struct reg_one *o, const struct fed_reg_one_cfg *c, enum fed_reg_kind kind,
    struct mx_registry *metrics, char *err, size_t errsz)
{
	struct yh_buf hdr;
	char *cred = NULL, fmsg[512];
	size_t clen = 0;
	int r = 0;

	o->cfg = c;
	o->kind = kind;
	if (!set(c->url))
		return 0;
	yh_buf_init_secret(&hdr, FED_REG_CRED_MAX + 64);
	if (set(c->credentials_file) && strcmp(c->auth, "none") != 0) {
		if ((r = fed_http_cred_read(c->credentials_file, c->auth, &cred, &clen, fmsg,
		    sizeof(fmsg))) != 0) {
			snprintf(err, errsz, "registry.%s.credentials_file: %s",
			    fed_reg_kind_name(kind), fmsg);
			goto out;
		}
		if (strcmp(c->auth, "basic") == 0) {
			if ((o->userpwd = strdup(cred)) == NULL)
				r = YH_ERR_ALLOC;
		} else if ((r = yh_buf_puts(&hdr, "Authorization: Bearer ")) == 0 &&
		    (r = yh_buf_puts(&hdr, cred)) == 0) {
			r = add_header(o, hdr.data);
		}
		if (r != 0)
			goto out;
	}
	if ((r = add_header(o, "Content-Type: application/json; charset=utf-8")) != 0 ||
	    (r = add_header(o, "Accept: application/json")) != 0 ||
	    (r = add_header(o, "Expect:")) != 0)
		goto out;
	for (int i = 0; metrics != NULL && i < 3; i++) {
		char labels[64];

		snprintf(labels, sizeof(labels), "registry=\"%s\",result=\"%s\"",
		    fed_reg_kind_name(kind), fed_reg_outcome_name((enum fed_reg_outcome)i));
		if ((r = mx_hist_get(metrics, "yh_registry_call_seconds", "registry calls by "
		    "registry and result, seconds", labels, reg_buckets,
		    sizeof(reg_buckets) / sizeof(reg_buckets[0]), &o->mx[i])) != 0)
			goto out;
	}
out:
	if (r != 0 && err[0] == '\0')
		snprintf(err, errsz, "registry.%s: %s", fed_reg_kind_name(kind), yh_strerror(r));
	if (cred != NULL)
		yh_freezero(cred, clen + 1);
	yh_buf_free(&hdr);
	return r;
}

int
fed_reg_new(const struct fed_reg_cfg *c, struct mx_registry *metrics, struct fed_reg **out,
    char *err, size_t errsz)
{
	struct fed_reg *r;
	int e;

	*out = NULL;
	err[0] = '\0';
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return YH_ERR_ALLOC;
	if ((e = one_open(&r->one[FED_REG_PERSON], &c->person, FED_REG_PERSON, metrics, err,
	    errsz)) != 0 || (e = one_open(&r->one[FED_REG_ORG], &c->org, FED_REG_ORG, metrics,
	    err, errsz)) != 0)
		goto fail;
	if (set(c->person.url) || set(c->org.url)) {
		if ((e = fed_http_global_ref()) != 0) {
			snprintf(err, errsz, "registry: libcurl cannot start");
			goto fail;
		}
		r->curl_ref = true;
	}
	*out = r;
	return 0;
fail:
	fed_reg_free(r);
	return e;
}

void
fed_reg_free(struct fed_reg *r)
{
	if (r == NULL)
		return;
	one_free(&r->one[0]);
	one_free(&r->one[1]);
	if (r->curl_ref)
		fed_http_global_unref();
	free(r);
}

bool
fed_reg_enabled(const struct fed_reg *r, enum fed_reg_kind kind)
{
	return r != NULL && r->one[kind].cfg != NULL && set(r->one[kind].cfg->url);
}

/* Makes one call with the JSON request body req and maps the answer into *res. */
static void
call(struct reg_one *o, const char *req, struct fed_reg_result *res)
{
	const struct fed_reg_one_cfg *c = o->cfg;
	char errbuf[CURL_ERROR_SIZE];
	struct yh_buf body;
	int64_t t0 = yh_mono_ms();
	CURLcode cc;
	CURL *e;

	memset(res, 0, sizeof(*res));
	res->outcome = FED_REG_UNAVAILABLE;
	yh_buf_init_secret(&body, FED_REG_BODY_MAX);
	if ((e = curl_easy_init()) == NULL) {
		snprintf(res->why, sizeof(res->why), "libcurl: cannot make a handle");
		goto out;
	}
	cc = fed_http_setup(e, &(struct fed_http_opts){ .url = c->url,
	    .user_agent = "yihao registry-check", .timeout_ms = c->timeout * 1000,
	    .ca_file = c->ca_file, .errbuf = errbuf });
#define SET(opt, val) \
	do { if (cc == CURLE_OK) cc = curl_easy_setopt(e, opt, val); } while (0)
	SET(CURLOPT_POSTFIELDS, req);
	SET(CURLOPT_POSTFIELDSIZE, (long)strlen(req));
	SET(CURLOPT_HTTPHEADER, o->headers);
	SET(CURLOPT_WRITEFUNCTION, fed_http_collect);
	SET(CURLOPT_WRITEDATA, &body);
	if (o->userpwd != NULL) {
		SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		SET(CURLOPT_USERPWD, o->userpwd);
	}
#undef SET
	if (cc == CURLE_OK)
		cc = curl_easy_perform(e);
	if (cc == CURLE_OK)
		(void)curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &res->http_status);
	if (cc == CURLE_WRITE_ERROR)
		snprintf(res->why, sizeof(res->why), "the answer is over %d bytes",
		    FED_REG_BODY_MAX);
	else if (cc != CURLE_OK)
		snprintf(res->why, sizeof(res->why), "%.150s", errbuf[0] != '\0' ? errbuf :
		    curl_easy_strerror(cc));
	else if (res->http_status < 200 || res->http_status > 299)
		snprintf(res->why, sizeof(res->why), "HTTP status %ld", res->http_status);
	else
		(void)fed_reg_map(c, body.data != NULL ? body.data : "", body.len, res);
out:
	res->latency_ms = yh_mono_ms() - t0;
	mx_hist_observe(o->mx[res->outcome], (double)res->latency_ms / 1000.0);
	if (e != NULL)
		curl_easy_cleanup(e);
	yh_buf_free(&body);
}

/* Calls kind's registry with the request object req (consumed). */
static int
check(struct fed_reg *r, enum fed_reg_kind kind, json_t *req, struct fed_reg_result *res)
{
	char *s = NULL;
	size_t n;

	memset(res, 0, sizeof(*res));
	res->outcome = FED_REG_UNAVAILABLE;
	if (!fed_reg_enabled(r, kind)) {
		json_decref(req);
		return YH_ERR_NOT_FOUND;
	}
	if (req == NULL || (s = json_dumps(req, JSON_COMPACT)) == NULL) {
		json_decref(req);
		return YH_ERR_ALLOC;
	}
	json_decref(req);
	if ((n = strlen(s)) > REG_REQ_MAX) {
		yh_freezero(s, n + 1);
		return YH_ERR_TOO_LONG;
	}
	call(&r->one[kind], s, res);
	yh_freezero(s, n + 1);
	return 0;
}

int
fed_reg_check_person(struct fed_reg *r, const struct fed_reg_person *p,
    struct fed_reg_result *res)
{
	return check(r, FED_REG_PERSON, json_pack("{s:s, s:s}", "name", p->name, "id_number",
	    p->id_number), res);
}

int
fed_reg_check_org(struct fed_reg *r, const struct fed_reg_org *o, struct fed_reg_result *res)
{
	return check(r, FED_REG_ORG, json_pack("{s:s, s:s, s:s?, s:s?}", "uscc", o->uscc,
	    "name", o->name, "legal_rep_name", o->legal_rep_name, "legal_rep_id_number",
	    o->legal_rep_id_number), res);
}

json_t *
fed_reg_audit_fields(enum fed_reg_kind kind, const struct fed_reg_result *res)
{
	json_t *f = json_pack("{s:s, s:s, s:I, s:I}", "registry", fed_reg_kind_name(kind),
	    "result", fed_reg_outcome_name(res->outcome), "latency_ms",
	    (json_int_t)res->latency_ms, "http_status", (json_int_t)res->http_status);

	if (f != NULL && res->why[0] != '\0')
		json_object_set_new(f, "why", json_string(res->why));
	if (f != NULL && res->detail[0] != '\0')
		json_object_set_new(f, "detail", json_string(res->detail));
	return f;
}
