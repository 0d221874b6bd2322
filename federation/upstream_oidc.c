/* An OpenID Connect upstream identity provider. See federation/upstream_oidc.h. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/b64.h"
#include "common/buf.h"
#include "common/secmem.h"
#include "common/timeutil.h"
#include "common/url.h"
#include "federation/http.h"
#include "federation/upstream_oidc.h"
#include "token/jwk.h"
#include "token/jwt.h"

#define OIDC_URL_MAX 2048

struct fed_oidc {
	const struct fed_up_cfg *cfg;
	char *redirect_uri;
	unsigned algs;                 /* TOK_ALGSET of cfg->algs */
	atomic_bool ready;             /* read without mu: the login page asks */
	/* One fetch (discovery, the JWKS) at a time, and no fetch under mu: what a logout,
	 * a login page or a token check reads never waits on the upstream's network. The
	 * endpoints change only under both, so a fetcher reads them under fetch_mu alone. */
	pthread_mutex_t fetch_mu;
	pthread_mutex_t mu;            /* guards everything below, held for memory only */
	int64_t disc_at;               /* yh_mono_ms of the last good discovery */
	char *authz, *token, *userinfo, *jwks_uri, *end_session;
	bool iss_param;                /* authorization_response_iss_parameter_supported */
	struct tok_keyset keys;
	int64_t jwks_try_at;           /* yh_mono_ms of the last JWKS fetch tried */
};

static bool
set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* ---- the mapping ------------------------------------------------------------------ */

/* The scalar at path in claims, as text, into out ("" when none, not a scalar, or too
 * long for out: two long subjects cut to one prefix must not name one person). */
static void
claim(json_t *claims, const char *path, char *out, size_t outsz)
{
	json_t *v;

	out[0] = '\0';
	if (set(path) && (v = fed_json_member(claims, path)) != NULL)
		fed_json_text_whole(v, out, outsz);
}

int
fed_up_map(const struct fed_up_cfg *u, json_t *claims, struct fed_login *out, char *why,
    size_t whysz)
{
	memset(out, 0, sizeof(*out));
	claim(claims, u->map_sub, out->sub, sizeof(out->sub));
	claim(claims, "sid", out->sid, sizeof(out->sid));
	claim(claims, "acr", out->acr, sizeof(out->acr));
	claim(claims, u->map_id_number, out->id_number, sizeof(out->id_number));
	claim(claims, u->map_name, out->name, sizeof(out->name));
	claim(claims, u->map_phone, out->phone, sizeof(out->phone));
	claim(claims, u->map_user_type, out->user_type, sizeof(out->user_type));
	claim(claims, u->map_uscc, out->uscc, sizeof(out->uscc));
	claim(claims, u->map_org_name, out->org_name, sizeof(out->org_name));
	out->loa = fed_up_loa(u, out->acr);
	if (out->sub[0] == '\0') {
		snprintf(why, whysz, "the upstream's answer has no %s", u->map_sub);
		return YH_ERR_INVALID;
	}
	return 0;
}

void
fed_login_clear(struct fed_login *l)
{
	yh_wipe(l, sizeof(*l));
}

/* ---- HTTP ------------------------------------------------------------------------- */

/*
 * One call: GET url, or POST form (not NULL) with userpwd for basic authentication
 * (may be NULL) and bearer (may be NULL) as an Authorization header. The JSON object
 * answered goes to *out. Returns 0 or YH_ERR_UNAVAILABLE / YH_ERR_INVALID with why;
 * YH_ERR_DENIED when a POST is answered 400 or 401 (an RFC 6749 error: the upstream
 * refused the code or our client authentication).
 */
static int
call(struct fed_oidc *o, const char *url, const char *form, const char *userpwd,
    const char *bearer, json_t **out, char *why, size_t whysz)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *h = NULL;
	struct yh_buf body, auth;
	json_error_t je;
	long status = 0;
	CURLcode cc;
	CURL *e;
	int r = YH_ERR_UNAVAILABLE;

	*out = NULL;
	yh_buf_init_secret(&body, FED_OIDC_BODY_MAX);
	yh_buf_init_secret(&auth, 4096);
	if ((e = curl_easy_init()) == NULL) {
		snprintf(why, whysz, "libcurl: cannot make a handle");
		goto out;
	}
	cc = fed_http_setup(e, &(struct fed_http_opts){ .url = url,
	    .user_agent = "yihao upstream", .timeout_ms = o->cfg->timeout * 1000,
	    .ca_file = o->cfg->ca_file, .errbuf = errbuf });
	if (fed_http_header_add(&h, "Accept: application/json") != 0 ||
	    (bearer != NULL && (yh_buf_puts(&auth, "Authorization: Bearer ") != 0 ||
	    yh_buf_puts(&auth, bearer) != 0 || fed_http_header_add(&h, auth.data) != 0))) {
		snprintf(why, whysz, "out of memory");
		r = YH_ERR_ALLOC;
		goto out;
	}
#define SET(opt, val) \
	do { if (cc == CURLE_OK) cc = curl_easy_setopt(e, opt, val); } while (0)
	SET(CURLOPT_HTTPHEADER, h);
	SET(CURLOPT_WRITEFUNCTION, fed_http_collect);
	SET(CURLOPT_WRITEDATA, &body);
	if (form != NULL) {
		SET(CURLOPT_POSTFIELDS, form);
		SET(CURLOPT_POSTFIELDSIZE, (long)strlen(form));
	}
	if (userpwd != NULL) {
		SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		SET(CURLOPT_USERPWD, userpwd);
	}
#undef SET
	if (cc == CURLE_OK)
		cc = curl_easy_perform(e);
	if (cc == CURLE_OK)
		(void)curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	if (cc == CURLE_WRITE_ERROR) {
		snprintf(why, whysz, "%.200s: the answer is over %d bytes", url,
		    FED_OIDC_BODY_MAX);
		goto out;
	}
	if (cc != CURLE_OK) {
		snprintf(why, whysz, "%.200s: %.150s", url, errbuf[0] != '\0' ? errbuf :
		    curl_easy_strerror(cc));
		goto out;
	}
	if (form != NULL && (status == 400 || status == 401)) {
		/* RFC 6749 5.2: the token endpoint refused the grant or our client
		 * authentication - a refusal, not an upstream that is down */
		json_t *ea = json_loadb(body.data != NULL ? body.data : "", body.len, 0, &je);
		const char *ec = json_string_value(json_object_get(ea, "error"));

		snprintf(why, whysz, "%.200s: refused (HTTP status %ld%s%.64s)", url, status,
		    ec != NULL ? ", " : "", ec != NULL ? ec : "");
		json_decref(ea);
		r = YH_ERR_DENIED;
		goto out;
	}
	if (status < 200 || status > 299) {
		snprintf(why, whysz, "%.200s: HTTP status %ld", url, status);
		goto out;
	}
	*out = json_loadb(body.data != NULL ? body.data : "", body.len,
	    JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		snprintf(why, whysz, "%.200s: the answer is not a JSON object", url);
		r = YH_ERR_INVALID;
		goto out;
	}
	r = 0;
out:
	if (e != NULL)
		curl_easy_cleanup(e);
	for (struct curl_slist *p = h; p != NULL; p = p->next)
		yh_wipe(p->data, strlen(p->data));
	curl_slist_free_all(h);
	yh_buf_free(&auth);
	yh_buf_free(&body);
	return r;
}

/* ---- discovery and keys ----------------------------------------------------------- */

int
fed_oidc_new(const struct fed_up_cfg *u, const char *redirect_uri, struct fed_oidc **out)
{
	struct fed_oidc *o;
	const char *bad;

	*out = NULL;
	if (u->kind == NULL || strcmp(u->kind, "oidc") != 0)
		return YH_ERR_INVALID;
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return YH_ERR_ALLOC;
	o->cfg = u;
	tok_keyset_init(&o->keys);
	pthread_mutex_init(&o->mu, NULL);
	pthread_mutex_init(&o->fetch_mu, NULL);
	if (tok_algset_parse(u->algs, &o->algs, &bad) != 0)
		o->algs = 0;
	o->algs &= TOK_ALGSET_ALL;
	if ((o->redirect_uri = strdup(redirect_uri)) == NULL) {
		fed_oidc_free(o);
		return YH_ERR_ALLOC;
	}
	if (fed_http_global_ref() != 0) {
		free(o->redirect_uri);
		pthread_mutex_destroy(&o->mu);
		pthread_mutex_destroy(&o->fetch_mu);
		free(o);
		return YH_ERR_INTERNAL;
	}
	*out = o;
	return 0;
}

static void
endpoints_free(struct fed_oidc *o)
{
	free(o->authz);
	free(o->token);
	free(o->userinfo);
	free(o->jwks_uri);
	free(o->end_session);
	o->authz = o->token = o->userinfo = o->jwks_uri = o->end_session = NULL;
}

void
fed_oidc_free(struct fed_oidc *o)
{
	if (o == NULL)
		return;
	endpoints_free(o);
	tok_keyset_clear(&o->keys);
	free(o->redirect_uri);
	pthread_mutex_destroy(&o->mu);
	pthread_mutex_destroy(&o->fetch_mu);
	free(o);
	fed_http_global_unref();
}

int
fed_oidc_describe(struct fed_oidc *o, json_t **out)
{
	json_t *kids = json_array();
	int r = 0;

	*out = NULL;
	pthread_mutex_lock(&o->mu);
	if (!o->ready) {
		r = YH_ERR_UNAVAILABLE;
		goto out;
	}
	for (size_t i = 0; kids != NULL && i < o->keys.n; i++) {
		const char *kid = tok_key_kid(o->keys.keys[i]);

		json_array_append_new(kids, json_string(kid != NULL ? kid : ""));
	}
	*out = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?, s:b, s:O, s:s, s:s?}", "issuer",
	    o->cfg->issuer, "authorization_endpoint", o->authz, "token_endpoint", o->token,
	    "jwks_uri", o->jwks_uri, "userinfo_endpoint", o->userinfo, "end_session_endpoint",
	    o->end_session, "iss_parameter", o->iss_param, "kids", kids, "token_auth",
	    o->cfg->token_auth, "client_assertion_kid", o->cfg->client_key != NULL ?
	    tok_key_kid(o->cfg->client_key) : NULL);
	if (*out == NULL)
		r = YH_ERR_ALLOC;
out:
	pthread_mutex_unlock(&o->mu);
	json_decref(kids);
	return r;
}

const struct fed_up_cfg *
fed_oidc_cfg(const struct fed_oidc *o)
{
	return o->cfg;
}

/* The string member name of doc as a new string when it is an acceptable endpoint URL
 * (*bad set when present but not), NULL when absent. */
static char *
endpoint(json_t *doc, const char *name, bool *bad)
{
	const char *v = json_string_value(json_object_get(doc, name));

	if (v == NULL)
		return NULL;
	if (strlen(v) > OIDC_URL_MAX || !fed_http_url_ok(v)) {
		*bad = true;
		return NULL;
	}
	return strdup(v);
}

/* Fetches the JWKS at o->jwks_uri into o->keys (kept as it was on failure). Called with
 * o->fetch_mu held, not o->mu. */
static int
jwks_fetch(struct fed_oidc *o, char *why, size_t whysz)
{
	struct tok_keyset ks;
	json_t *doc = NULL;
	char *text = NULL;
	int r;

	pthread_mutex_lock(&o->mu);
	o->jwks_try_at = yh_mono_ms();
	pthread_mutex_unlock(&o->mu);
	tok_keyset_init(&ks);
	if ((r = call(o, o->jwks_uri, NULL, NULL, NULL, &doc, why, whysz)) != 0)
		return r;
	if ((text = json_dumps(doc, JSON_COMPACT)) == NULL) {
		r = YH_ERR_ALLOC;
		goto out;
	}
	if ((r = tok_jwks_parse(text, strlen(text), 0, &ks)) != 0) {
		snprintf(why, whysz, "%.200s: not a usable JWK set (%s)", o->jwks_uri,
		    yh_strerror(r));
		r = YH_ERR_INVALID;
		goto out;
	}
	pthread_mutex_lock(&o->mu);
	tok_keyset_clear(&o->keys);
	o->keys = ks;
	pthread_mutex_unlock(&o->mu);
	tok_keyset_init(&ks);
out:
	free(text);
	json_decref(doc);
	tok_keyset_clear(&ks);
	return r;
}

/* Fetches discovery and the JWKS. Called with o->fetch_mu held, not o->mu. */
static int
discover(struct fed_oidc *o, char *why, size_t whysz)
{
	struct fed_oidc n;
	struct yh_buf url;
	json_t *doc = NULL, *m;
	bool bad = false;
	int r;

	memset(&n, 0, sizeof(n));
	yh_buf_init(&url, OIDC_URL_MAX + 64);
	if (yh_buf_puts(&url, o->cfg->issuer) != 0 ||
	    yh_buf_puts(&url, "/.well-known/openid-configuration") != 0) {
		r = YH_ERR_ALLOC;
		goto out;
	}
	if ((r = call(o, url.data, NULL, NULL, NULL, &doc, why, whysz)) != 0)
		goto out;
	r = YH_ERR_INVALID;
	if (json_string_value(json_object_get(doc, "issuer")) == NULL ||
	    strcmp(json_string_value(json_object_get(doc, "issuer")), o->cfg->issuer) != 0) {
		snprintf(why, whysz, "discovery: its issuer is not %.200s", o->cfg->issuer);
		goto out;
	}
	n.authz = endpoint(doc, "authorization_endpoint", &bad);
	n.token = endpoint(doc, "token_endpoint", &bad);
	n.jwks_uri = endpoint(doc, "jwks_uri", &bad);
	n.userinfo = endpoint(doc, "userinfo_endpoint", &bad);
	n.end_session = endpoint(doc, "end_session_endpoint", &bad);
	if (bad || n.authz == NULL || n.token == NULL || n.jwks_uri == NULL) {
		snprintf(why, whysz, "discovery: authorization_endpoint, token_endpoint and "
		    "jwks_uri must be http(s) URLs");
		goto out;
	}
	m = json_object_get(doc, "code_challenge_methods_supported");
	if (json_is_array(m)) {
		bool s256 = false;
		size_t i;
		json_t *v;

		json_array_foreach(m, i, v)
			s256 = s256 || (json_is_string(v) &&
			    strcmp(json_string_value(v), "S256") == 0);
		if (!s256) {
			snprintf(why, whysz, "discovery: the upstream does not support PKCE S256");
			goto out;
		}
	}
	pthread_mutex_lock(&o->mu);
	endpoints_free(o);
	o->authz = n.authz;
	o->token = n.token;
	o->jwks_uri = n.jwks_uri;
	o->userinfo = n.userinfo;
	o->end_session = n.end_session;
	memset(&n, 0, sizeof(n));
	o->iss_param = json_is_true(json_object_get(doc,
	    "authorization_response_iss_parameter_supported"));
	pthread_mutex_unlock(&o->mu);
	if ((r = jwks_fetch(o, why, whysz)) != 0)
		goto out;
	pthread_mutex_lock(&o->mu);
	o->disc_at = yh_mono_ms();
	o->ready = true;
	pthread_mutex_unlock(&o->mu);
out:
	endpoints_free(&n);
	json_decref(doc);
	yh_buf_free(&url);
	return r;
}

int
fed_oidc_discover(struct fed_oidc *o, bool force, char *why, size_t whysz)
{
	int r = 0;

	why[0] = '\0';
	pthread_mutex_lock(&o->fetch_mu);
	/* disc_at and ready change only under fetch_mu: read here without mu */
	if (force || !o->ready || yh_mono_ms() - o->disc_at > o->cfg->discovery_refresh * 1000) {
		r = discover(o, why, whysz);
		if (r != 0 && o->ready) {
			/* a stale document beats none; tried again at the next use */
			pthread_mutex_lock(&o->mu);
			o->disc_at = yh_mono_ms() - o->cfg->discovery_refresh * 1000 +
			    FED_OIDC_JWKS_RETRY_S * 1000;
			pthread_mutex_unlock(&o->mu);
			r = 0;
		} else if (r != 0)
			r = YH_ERR_UNAVAILABLE;
	}
	pthread_mutex_unlock(&o->fetch_mu);
	return r;
}

bool
fed_oidc_ready(struct fed_oidc *o)
{
	return atomic_load(&o->ready);
}

/* ---- the flow --------------------------------------------------------------------- */

int
fed_oidc_pkce(char verifier[FED_OIDC_PKCE_SIZE], char challenge[FED_OIDC_PKCE_SIZE])
{
	unsigned char raw[32], md[32];
	unsigned int mdlen = 0;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return YH_ERR_CRYPTO;
	yh_b64url_encode(raw, sizeof(raw), verifier);
	yh_wipe(raw, sizeof(raw));
	if (EVP_Digest(verifier, strlen(verifier), md, &mdlen, EVP_sha256(), NULL) != 1)
		return YH_ERR_CRYPTO;
	yh_b64url_encode(md, sizeof(md), challenge);
	return 0;
}

/* Appends "&name=" and value percent-encoded. */
static int
param(struct yh_buf *b, const char *name, const char *value)
{
	int r;

	if ((r = yh_buf_putc(b, b->len == 0 ? '?' : '&')) != 0 ||
	    (r = yh_buf_puts(b, name)) != 0 || (r = yh_buf_putc(b, '=')) != 0)
		return r;
	return yh_url_pct_encode(b, value);
}

int
fed_oidc_auth_url(struct fed_oidc *o, const char *state, const char *nonce,
    const char *challenge, char **url)
{
	struct yh_buf q, b;
	int r;

	*url = NULL;
	yh_buf_init(&q, 8192);
	yh_buf_init(&b, 8192 + OIDC_URL_MAX);
	pthread_mutex_lock(&o->mu);
	if (!o->ready) {
		r = YH_ERR_UNAVAILABLE;
		goto out;
	}
	if ((r = param(&q, "response_type", "code")) != 0 ||
	    (r = param(&q, "client_id", o->cfg->client_id)) != 0 ||
	    (r = param(&q, "redirect_uri", o->redirect_uri)) != 0 ||
	    (r = param(&q, "scope", o->cfg->scopes)) != 0 ||
	    (r = param(&q, "state", state)) != 0 || (r = param(&q, "nonce", nonce)) != 0 ||
	    (r = param(&q, "code_challenge", challenge)) != 0 ||
	    (r = param(&q, "code_challenge_method", "S256")) != 0)
		goto out;
	if ((r = yh_buf_puts(&b, o->authz)) != 0 ||
	    (r = yh_buf_puts(&b, strchr(o->authz, '?') != NULL ? "&" : "?")) != 0 ||
	    (r = yh_buf_puts(&b, q.data + 1)) != 0)
		goto out;
	*url = yh_buf_steal(&b);
out:
	pthread_mutex_unlock(&o->mu);
	yh_buf_free(&q);
	yh_buf_free(&b);
	return r == YH_ERR_UNAVAILABLE ? r : r != 0 ? YH_ERR_ALLOC : 0;
}

/* RFC 7523 2.2 / OIDC Core 9 private_key_jwt: a JWT signed with u's client_key,
 * iss = sub = client_id, aud = the token endpoint, a fresh jti, 60 seconds of life.
 * *out is malloc'd. */
static int
client_assertion(const struct fed_up_cfg *u, const char *token_url, char **out)
{
	char jti[TOK_JTI_LEN + 1];
	json_int_t now = (json_int_t)yh_now();
	json_t *claims = NULL;
	int r;

	*out = NULL;
	if (u->client_key == NULL)
		return YH_ERR_KEY;
	if ((r = tok_jti_new(jti)) != 0)
		return r;
	claims = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "iss", u->client_id, "sub",
	    u->client_id, "aud", token_url, "jti", jti, "iat", now, "exp",
	    now + FED_OIDC_ASSERTION_S);
	if (claims == NULL)
		return YH_ERR_ALLOC;
	r = tok_jwt_sign(u->client_key, "JWT", claims, out);
	json_decref(claims);
	return r;
}

/* The token request's form and, for client_secret_basic, the user:password. */
static int
token_form(struct fed_oidc *o, const struct fed_oidc_cb *cb, const char *token_url,
    struct yh_buf *form, struct yh_buf *userpwd)
{
	const struct fed_up_cfg *u = o->cfg;
	bool basic = strcmp(u->token_auth, "client_secret_basic") == 0;
	char *assertion = NULL;
	int r;

	if ((r = param(form, "grant_type", "authorization_code")) != 0 ||
	    (r = param(form, "code", cb->code)) != 0 ||
	    (r = param(form, "redirect_uri", o->redirect_uri)) != 0 ||
	    (r = param(form, "code_verifier", cb->verifier)) != 0 ||
	    (r = param(form, "client_id", u->client_id)) != 0)
		return r;
	if (strcmp(u->token_auth, "private_key_jwt") == 0) {
		if ((r = client_assertion(u, token_url, &assertion)) == 0 &&
		    (r = param(form, "client_assertion_type", FED_OIDC_ASSERTION_TYPE)) == 0)
			r = param(form, "client_assertion", assertion);
		free(assertion);
		return r;
	}
	if (!basic)
		return param(form, "client_secret", u->client_secret);
	/* RFC 6749 2.3.1: both form-encoded before the basic scheme's base64 */
	if ((r = yh_url_pct_encode(userpwd, u->client_id)) != 0 ||
	    (r = yh_buf_putc(userpwd, ':')) != 0)
		return r;
	return yh_url_pct_encode(userpwd, u->client_secret);
}

/* Verifies jwt against the upstream's keys as kind, fetching the JWKS again once when
 * its kid is unknown (rate-limited: whoever claims the retry fetches, outside o->mu). */
static int
verify(struct fed_oidc *o, const char *jwt, const struct tok_check *chk, struct tok_jwt *out,
    char *why, size_t whysz)
{
	bool refetch = false;
	int r;

	pthread_mutex_lock(&o->mu);
	r = tok_jwt_verify(jwt, strlen(jwt), &o->keys, o->algs, chk, out, why, whysz);
	if (r == YH_ERR_NOT_FOUND && yh_mono_ms() - o->jwks_try_at >=
	    FED_OIDC_JWKS_RETRY_S * 1000) {
		o->jwks_try_at = yh_mono_ms();
		refetch = true;
	}
	pthread_mutex_unlock(&o->mu);
	if (refetch) {
		char fwhy[256];

		pthread_mutex_lock(&o->fetch_mu);
		refetch = jwks_fetch(o, fwhy, sizeof(fwhy)) == 0;
		pthread_mutex_unlock(&o->fetch_mu);
		if (refetch) {
			pthread_mutex_lock(&o->mu);
			r = tok_jwt_verify(jwt, strlen(jwt), &o->keys, o->algs, chk, out, why,
			    whysz);
			pthread_mutex_unlock(&o->mu);
		}
	}
	if (r == YH_ERR_NOT_FOUND) {
		snprintf(why, whysz, "signed by a key not in the upstream's JWKS");
		r = YH_ERR_AUTH;
	} else if (r == YH_ERR_AUTH && why[0] == '\0')
		snprintf(why, whysz, "bad signature");
	return r;
}

/* True when some map.* path of u starts with a member claims lacks. */
static bool
needs_userinfo(const struct fed_up_cfg *u, json_t *claims)
{
	const char *const paths[] = { u->map_id_number, u->map_name, u->map_phone,
		u->map_user_type, u->map_uscc, u->map_org_name };

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (set(paths[i]) && fed_json_member(claims, paths[i]) == NULL)
			return true;
	return false;
}

/* Adds what userinfo says to claims (the ID token's claims win). */
static int
userinfo(struct fed_oidc *o, const char *access_token, json_t *claims, char *why,
    size_t whysz)
{
	const char *sub = json_string_value(json_object_get(claims, "sub"));
	char *url = NULL;
	json_t *ui = NULL;
	int r;

	pthread_mutex_lock(&o->mu);
	url = o->userinfo != NULL ? strdup(o->userinfo) : NULL;
	pthread_mutex_unlock(&o->mu);
	if (url == NULL || access_token == NULL)
		return 0;
	if ((r = call(o, url, NULL, NULL, access_token, &ui, why, whysz)) != 0)
		goto out;
	if (sub == NULL || json_string_value(json_object_get(ui, "sub")) == NULL ||
	    strcmp(json_string_value(json_object_get(ui, "sub")), sub) != 0) {
		snprintf(why, whysz, "userinfo: its sub is not the ID token's");
		r = YH_ERR_DENIED;
		goto out;
	}
	if (json_object_update_missing(claims, ui) != 0)
		r = YH_ERR_ALLOC;
out:
	json_decref(ui);
	free(url);
	return r;
}

int
fed_oidc_callback(struct fed_oidc *o, const struct fed_oidc_cb *cb, struct fed_login *out,
    char *why, size_t whysz)
{
	const struct fed_up_cfg *u = o->cfg;
	struct yh_buf form, userpwd;
	struct tok_jwt jwt;
	json_t *tr = NULL, *claims = NULL;
	char *token_url = NULL;
	const char *idt, *at;
	bool iss_param;
	int r;

	memset(out, 0, sizeof(*out));
	memset(&jwt, 0, sizeof(jwt));
	why[0] = '\0';
	yh_buf_init_secret(&form, 16384);
	yh_buf_init_secret(&userpwd, 4096);
	pthread_mutex_lock(&o->mu);
	iss_param = o->iss_param;
	token_url = o->ready ? strdup(o->token) : NULL;
	pthread_mutex_unlock(&o->mu);
	if (token_url == NULL) {
		snprintf(why, whysz, "the upstream's discovery is not available");
		r = YH_ERR_UNAVAILABLE;
		goto out;
	}
	/* RFC 9207: the answer names who sent it (the mix-up defence) */
	if ((cb->iss != NULL && strcmp(cb->iss, u->issuer) != 0) ||
	    (cb->iss == NULL && iss_param)) {
		snprintf(why, whysz, cb->iss != NULL ? "the iss parameter names another issuer" :
		    "the iss parameter is missing");
		r = YH_ERR_DENIED;
		goto out;
	}
	if ((r = token_form(o, cb, token_url, &form, &userpwd)) != 0) {
		snprintf(why, whysz, "cannot make the token request: %s", yh_strerror(r));
		goto out;
	}
	if ((r = call(o, token_url, form.data + 1, strcmp(u->token_auth,
	    "client_secret_basic") == 0 ? userpwd.data : NULL, NULL, &tr, why, whysz)) != 0)
		goto out;
	if ((idt = json_string_value(json_object_get(tr, "id_token"))) == NULL) {
		snprintf(why, whysz, "the token answer has no id_token");
		r = YH_ERR_INVALID;
		goto out;
	}
	at = json_string_value(json_object_get(tr, "access_token"));
	if ((r = verify(o, idt, &(struct tok_check){ .kind = TOK_KIND_ID, .iss = u->issuer,
	    .aud = u->client_id, .leeway = FED_OIDC_LEEWAY_S, .nonce = cb->nonce }, &jwt,
	    why, whysz)) != 0)
		goto out;
	if (json_string_value(json_object_get(jwt.claims, "nonce")) == NULL) {
		snprintf(why, whysz, "the ID token has no nonce");
		r = YH_ERR_DENIED;
		goto out;
	}
	if ((claims = json_deep_copy(jwt.claims)) == NULL) {
		r = YH_ERR_ALLOC;
		goto out;
	}
	if (needs_userinfo(u, claims) && (r = userinfo(o, at, claims, why, whysz)) != 0)
		goto out;
	r = fed_up_map(u, claims, out, why, whysz);
out:
	tok_jwt_clear(&jwt);
	json_decref(claims);
	json_decref(tr);
	free(token_url);
	yh_buf_free(&form);
	yh_buf_free(&userpwd);
	if (r != 0)
		fed_login_clear(out);
	return r;
}

int
fed_oidc_logout_token(struct fed_oidc *o, const char *jwt, struct fed_logout *out,
    char *why, size_t whysz)
{
	const struct fed_up_cfg *u = o->cfg;
	struct tok_jwt t;
	int r;

	memset(&t, 0, sizeof(t));
	memset(out, 0, sizeof(*out));
	why[0] = '\0';
	if (!fed_oidc_ready(o)) {
		snprintf(why, whysz, "the upstream's discovery is not available");
		return YH_ERR_UNAVAILABLE;
	}
	if ((r = verify(o, jwt, &(struct tok_check){ .kind = TOK_KIND_LOGOUT,
	    .iss = u->issuer, .aud = u->client_id, .leeway = FED_OIDC_LEEWAY_S }, &t, why,
	    whysz)) != 0)
		return r;
	/* a value too long to keep names nobody (a cut one could name another) */
	fed_json_text_whole(json_object_get(t.claims, "sub"), out->sub, sizeof(out->sub));
	fed_json_text_whole(json_object_get(t.claims, "sid"), out->sid, sizeof(out->sid));
	fed_json_text_whole(json_object_get(t.claims, "jti"), out->jti, sizeof(out->jti));
	if (out->jti[0] == '\0') {
		snprintf(why, whysz, "the logout token's jti is empty or over %d bytes",
		    FED_OIDC_CLAIM_MAX);
		r = YH_ERR_INVALID;
	}
	out->exp = (int64_t)json_number_value(json_object_get(t.claims, "exp"));
	tok_jwt_clear(&t);
	return r;
}

int
fed_oidc_end_session(struct fed_oidc *o, char **url)
{
	int r = 0;

	*url = NULL;
	pthread_mutex_lock(&o->mu);
	if (!o->ready)
		r = YH_ERR_UNAVAILABLE;
	else if (o->end_session != NULL && (*url = strdup(o->end_session)) == NULL)
		r = YH_ERR_ALLOC;
	pthread_mutex_unlock(&o->mu);
	return r;
}
