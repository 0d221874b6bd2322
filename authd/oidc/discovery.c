/*
 * GET /.well-known/openid-configuration (OpenID Connect Discovery 1.0, section 3) and
 * GET /jwks (the key ring's published keys). Both are public and cacheable for a short
 * time: relying parties pick up a new "next" key well before it signs.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "authd/oidc/authorize.h"
#include "authd/app.h"
#include "common/log.h"
#include "token/jose_alg.h"
#include "token/keyring.h"

#define DISCOVERY_CACHE "public, max-age=300"
#define JWKS_CACHE "public, max-age=60"
#define DISCOVERY_URL_MAX 512

static const char *const scopes[] = {
	"openid", "profile", "phone", "email", "yh_id_number", "offline_access", "org", "staff",
	"qr_login", NULL
};
static const char *const claims[] = {
	"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "sid",
	"name", "phone_number", "phone_number_verified", "email", "yh_id_type", "yh_id_number",
	"yh_org", "yh_staff", "yh_legacy_id", "yh_legacy_username", NULL
};
static const char *const acrs[] = {
	"urn:yihao:loa:1", "urn:yihao:loa:2", "urn:yihao:loa:3", "urn:yihao:loa:4", NULL
};
static const char *const auth_methods[] = {
	"client_secret_basic", "client_secret_post", "private_key_jwt", NULL
};
static const char *const grants[] = {
	"authorization_code", "refresh_token", "client_credentials",
	"urn:ietf:params:oauth:grant-type:device_code", NULL
};

/* A JSON array of the strings of a NULL-terminated list. */
static json_t *
str_array(const char *const *list)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && list[i] != NULL; i++) {
		if (json_array_append_new(a, json_string(list[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* A JSON array of the names of the algorithms in algs (a TOK_ALGSET set). */
static json_t *
alg_array(unsigned algs)
{
	json_t *a = json_array();

	for (int i = 1; a != NULL && i < TOK_ALG_COUNT; i++) {
		const char *name;

		if ((algs & TOK_ALGSET(i)) == 0 || (name = tok_alg_name((enum tok_alg)i)) == NULL)
			continue;
		if (json_array_append_new(a, json_string(name)) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* Sets doc[key] = issuer + path. */
static int
set_url(json_t *doc, const char *key, const char *issuer, const char *path)
{
	char url[DISCOVERY_URL_MAX];
	int n = snprintf(url, sizeof(url), "%s%s", issuer, path);

	if (n < 0 || (size_t)n >= sizeof(url))
		return YH_ERR_TOO_LONG;
	return json_object_set_new(doc, key, json_string(url)) == 0 ? 0 : YH_ERR_ALLOC;
}

static int
set_new(json_t *doc, const char *key, json_t *v)
{
	if (v == NULL)
		return YH_ERR_ALLOC;
	return json_object_set_new(doc, key, v) == 0 ? 0 : YH_ERR_ALLOC;
}

static int
discovery_lists(json_t *d, unsigned algs)
{
	static const char *const code[] = { "code", NULL };
	static const char *const query[] = { "query", NULL };
	static const char *const pairwise[] = { "pairwise", NULL };
	static const char *const s256[] = { "S256", NULL };
	static const char *const locales[] = { "zh-CN", "en", NULL };
	static const char *const prompts[] = { "none", "login", "consent", "select_account",
		NULL };
	static const char *const normal[] = { "normal", NULL };
	static const char *const display[] = { "page", NULL };
	int r;

	if ((r = set_new(d, "response_types_supported", str_array(code))) != 0 ||
	    (r = set_new(d, "response_modes_supported", str_array(query))) != 0 ||
	    (r = set_new(d, "grant_types_supported", str_array(grants))) != 0 ||
	    (r = set_new(d, "subject_types_supported", str_array(pairwise))) != 0 ||
	    (r = set_new(d, "id_token_signing_alg_values_supported", alg_array(algs))) != 0 ||
	    (r = set_new(d, "token_endpoint_auth_methods_supported",
	    str_array(auth_methods))) != 0 ||
	    (r = set_new(d, "token_endpoint_auth_signing_alg_values_supported",
	    alg_array(TOK_ALGSET_ALL))) != 0 ||
	    (r = set_new(d, "introspection_endpoint_auth_methods_supported",
	    str_array(auth_methods))) != 0 ||
	    (r = set_new(d, "revocation_endpoint_auth_methods_supported",
	    str_array(auth_methods))) != 0 ||
	    (r = set_new(d, "code_challenge_methods_supported", str_array(s256))) != 0 ||
	    (r = set_new(d, "scopes_supported", str_array(scopes))) != 0 ||
	    (r = set_new(d, "claims_supported", str_array(claims))) != 0 ||
	    (r = set_new(d, "claim_types_supported", str_array(normal))) != 0 ||
	    (r = set_new(d, "acr_values_supported", str_array(acrs))) != 0 ||
	    (r = set_new(d, "prompt_values_supported", str_array(prompts))) != 0 ||
	    (r = set_new(d, "display_values_supported", str_array(display))) != 0 ||
	    (r = set_new(d, "ui_locales_supported", str_array(locales))) != 0 ||
	    (r = set_new(d, "claims_locales_supported", str_array(locales))) != 0)
		return r;
	return 0;
}

static int
discovery_flags(json_t *d)
{
	static const struct {
		const char *key;
		bool v;
	} flags[] = {
		{ "backchannel_logout_supported", true },
		{ "backchannel_logout_session_supported", true },
		{ "frontchannel_logout_supported", false },
		{ "authorization_response_iss_parameter_supported", true },
		{ "claims_parameter_supported", false },
		{ "request_parameter_supported", false },
		{ "request_uri_parameter_supported", false },
		{ "require_request_uri_registration", false },
		{ "require_pushed_authorization_requests", false },
	};

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (json_object_set_new(d, flags[i].key, json_boolean(flags[i].v)) != 0)
			return YH_ERR_ALLOC;
	}
	return 0;
}

json_t *
oidc_discovery_doc(const char *issuer, unsigned algs)
{
	json_t *d = json_object();

	if (d == NULL || issuer == NULL ||
	    json_object_set_new(d, "issuer", json_string(issuer)) != 0 ||
	    set_url(d, "authorization_endpoint", issuer, "/authorize") != 0 ||
	    set_url(d, "token_endpoint", issuer, "/token") != 0 ||
	    set_url(d, "userinfo_endpoint", issuer, "/userinfo") != 0 ||
	    set_url(d, "jwks_uri", issuer, "/jwks") != 0 ||
	    set_url(d, "end_session_endpoint", issuer, "/logout") != 0 ||
	    set_url(d, "introspection_endpoint", issuer, "/introspect") != 0 ||
	    set_url(d, "revocation_endpoint", issuer, "/revoke") != 0 ||
	    set_url(d, "pushed_authorization_request_endpoint", issuer, "/par") != 0 ||
	    set_url(d, "device_authorization_endpoint", issuer, "/device_authorization") != 0 ||
	    discovery_lists(d, algs) != 0 || discovery_flags(d) != 0) {
		json_decref(d);
		return NULL;
	}
	return d;
}

/*
 * The discovery document as sent, rendered once for an (issuer, algorithms) pair and
 * again only when either changes (a reload with other keys.algs): a static document
 * costs a copy per request, not a JSON tree built and dumped.
 */
static struct {
	pthread_rwlock_t lock;
	char *issuer;
	unsigned algs;
	char *text;
	size_t len;
} rendered = { .lock = PTHREAD_RWLOCK_INITIALIZER };

/* Answers with the rendered document when it is the one for issuer and algs; *hit says
 * whether it was. */
static int
respond_rendered(struct http_req *req, const char *issuer, unsigned algs, bool *hit)
{
	int r = 0;

	pthread_rwlock_rdlock(&rendered.lock);
	*hit = rendered.text != NULL && rendered.algs == algs &&
	    strcmp(rendered.issuer, issuer) == 0;
	if (*hit)
		r = http_respond(req, 200, "application/json", rendered.text, rendered.len);
	pthread_rwlock_unlock(&rendered.lock);
	return r;
}

/* Renders the document for issuer and algs and keeps it (replacing another). */
static int
render(const char *issuer, unsigned algs)
{
	json_t *doc = oidc_discovery_doc(issuer, algs);
	char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
	char *iss = strdup(issuer);

	json_decref(doc);
	if (text == NULL || iss == NULL) {
		free(text);
		free(iss);
		return YH_ERR_ALLOC;
	}
	pthread_rwlock_wrlock(&rendered.lock);
	free(rendered.text);
	free(rendered.issuer);
	rendered.text = text;
	rendered.len = strlen(text);
	rendered.issuer = iss;
	rendered.algs = algs;
	pthread_rwlock_unlock(&rendered.lock);
	return 0;
}

static int
discovery_handler(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	const struct authd_cfg *cfg = app->cfg;
	unsigned algs;
	bool hit;
	int r;

	/* The algorithms apps may choose (keys.algs: RS256 always); without a
	 * configuration (tests), those of the published keys. */
	if (cfg != NULL && cfg->key_algs != 0) {
		algs = cfg->key_algs;
	} else {
		struct tok_ring_snap *snap = tok_ring_acquire(app->ring);

		algs = tok_snap_algs(snap);
		tok_snap_release(snap);
	}
	if ((r = http_resp_header(req, "Cache-Control", DISCOVERY_CACHE)) != 0 ||
	    (r = http_resp_header(req, "Access-Control-Allow-Origin", "*")) != 0)
		return r;
	if ((r = respond_rendered(req, app->issuer, algs, &hit)) != 0 || hit)
		return r;
	if ((r = render(app->issuer, algs)) != 0)
		return r;
	if ((r = respond_rendered(req, app->issuer, algs, &hit)) != 0 || hit)
		return r;
	/* Rendered for other values in between (two configurations at once): */
	return http_respond_json(req, 200, oidc_discovery_doc(app->issuer, algs));
}

static int
jwks_handler(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct tok_ring_snap *snap = tok_ring_acquire(app->ring);
	const char *jwks = tok_snap_jwks(snap);
	int r;

	if ((r = http_resp_header(req, "Cache-Control", JWKS_CACHE)) == 0 &&
	    (r = http_resp_header(req, "Access-Control-Allow-Origin", "*")) == 0)
		r = http_respond(req, 200, "application/json", jwks, strlen(jwks));
	tok_snap_release(snap);
	return r;
}

static const struct http_route discovery_routes[] = {
	{ "GET", "/.well-known/openid-configuration", discovery_handler, 0 },
	{ "GET", "/jwks", jwks_handler, 0 },
	{ NULL, NULL, NULL, 0 },
};

int
oidc_discovery_register(struct http_server *srv, struct authd_app *app)
{
	if (app == NULL || app->issuer == NULL || app->ring == NULL)
		return YH_ERR_INVALID;
	return http_routes_add(srv, discovery_routes, app);
}
