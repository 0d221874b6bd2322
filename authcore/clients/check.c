/*
 * The registration rules of a client: its id, name, URI lists, grants, scopes, LoA,
 * sector, lifetimes and JWKS (see authcore/clients/clients.h).
 */
#include <string.h>

#include "authcore/authd_config.h"
#include "authcore/clients/clients_int.h"
#include "common/utf8.h"
#include "identity/idn/idnum.h"
#include "token/jwk.h"

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

/* What a URI list holds: redirect URIs, CAS services or CAS service prefixes. */
enum uri_kind { URI_REDIRECT, URI_CAS_SERVICE, URI_CAS_PREFIX, URI_CAS_PROXY };

static int
uri_list_check(const char *what, enum uri_kind kind, const char *const *v, size_t n,
    char *err, size_t errsz)
{
	size_t max = kind == URI_REDIRECT ? CLIENTS_URIS_MAX : CLIENTS_CAS_MAX;
	const char *why;
	int rc;

	if (n > max)
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "%s: more than %zu URIs", what, max);
	for (size_t i = 0; i < n; i++) {
		if (kind == URI_REDIRECT)
			rc = clients_uri_check(v[i], false, &why);
		else if (kind == URI_CAS_PROXY)
			rc = clients_cas_proxy_callback_check(v[i], &why);
		else
			rc = clients_cas_service_check(v[i], kind == URI_CAS_PREFIX, &why);
		if (rc != 0)
			return YH_FAIL(YH_ERR_INVALID, err, errsz, "%s[%zu]: %s: %s", what, i,
			    v[i] != NULL ? v[i] : "(null)", why);
		for (size_t j = 0; j < i; j++)
			if (strcmp(v[i], v[j]) == 0)
				return YH_FAIL(YH_ERR_INVALID, err, errsz,
				    "%s[%zu]: %s listed twice", what, i, v[i]);
	}
	return 0;
}

/* A client's own lifetime (0: none) replaces the server's option opt for its tokens: at
 * least CLIENTS_LIFETIME_MIN, at most what opt itself may be set to. */
static int
lifetime_check(const char *what, int64_t v, const char *opt, char *err, size_t errsz)
{
	int64_t max = authd_cfg_max(opt);

	if (v != 0 && (v < CLIENTS_LIFETIME_MIN || v > max))
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "%s: %lld s outside %d..%lld s", what,
		    (long long)v, CLIENTS_LIFETIME_MIN, (long long)max);
	return 0;
}

/* private_key_jwt: a JWKS of 1..TOK_KEYSET_MAX public signing keys we can use. */
int
clients_jwks_check(const char *text, struct tok_keyset *out, char *err, size_t errsz)
{
	struct tok_keyset set;
	int rc;

	tok_keyset_init(&set);
	if ((rc = tok_jwks_parse(text, strlen(text), TOK_JWKS_STRICT, &set)) != 0) {
		rc = YH_FAIL(YH_ERR_INVALID, err, errsz, "jwks: not a usable JWK Set (%s)",
		    yh_strerror(rc));
		goto out;
	}
	if (set.n == 0) {
		rc = YH_FAIL(YH_ERR_INVALID, err, errsz, "jwks: no keys");
		goto out;
	}
	for (size_t i = 0; i < set.n; i++)
		if (tok_key_is_private(set.keys[i])) {
			rc = YH_FAIL(YH_ERR_INVALID, err, errsz,
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
	    CLIENTS_GRANT_CLIENT_CREDENTIALS | CLIENTS_GRANT_DEVICE_CODE;

	if ((c->grants == 0 && !clients_has_cas(c)) || (c->grants & ~all) != 0)
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "grants: none or unknown");
	if (c->grants == 0 && c->auth != CLIENTS_AUTH_NONE)
		return YH_FAIL(YH_ERR_INVALID, err, errsz,
		    "a CAS-only app (no grant) has no secret and no keys: auth none");
	if ((c->grants & CLIENTS_GRANT_REFRESH_TOKEN) &&
	    !(c->grants & (CLIENTS_GRANT_AUTHORIZATION_CODE | CLIENTS_GRANT_DEVICE_CODE)))
		return YH_FAIL(YH_ERR_INVALID, err, errsz,
		    "grants: refresh_token needs authorization_code or device_code");
	if ((c->grants & CLIENTS_GRANT_CLIENT_CREDENTIALS) && c->auth == CLIENTS_AUTH_NONE)
		return YH_FAIL(YH_ERR_INVALID, err, errsz,
		    "grants: client_credentials is for confidential clients only");
	if ((c->grants & CLIENTS_GRANT_AUTHORIZATION_CODE) && c->n_redirect_uris == 0)
		return YH_FAIL(YH_ERR_INVALID, err, errsz,
		    "redirect_uris: at least one is needed for authorization_code");
	return 0;
}

static int
scopes_check(const struct clients_client *c, char *err, size_t errsz)
{
	unsigned all = 0;
	bool idn = (c->scopes & CLIENTS_SCOPE_ID_NUMBER) != 0;

	for (unsigned i = 0; clients_scope_names[i] != NULL; i++)
		all |= 1u << i;
	if ((c->scopes & ~all) != 0)
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "scopes: unknown scope");
	if (idn != c->allow_id_number)
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "%s",
		    idn ? "scopes: yh_id_number needs allow_id_number" :
		    "allow_id_number without the yh_id_number scope");
	return 0;
}

/* The organization of an app's client_credentials tokens: a canonical credit code, on
 * an app that has that grant. */
static int
org_check(const struct clients_client *c, char *err, size_t errsz)
{
	struct idn_uscc u;

	if (c->org == NULL)
		return 0;
	if (idn_uscc_check(c->org, strlen(c->org), &u) != IDN_OK ||
	    strcmp(u.canonical, c->org) != 0)
		return YH_FAIL(YH_ERR_INVALID, err, errsz,
		    "org: not a unified social credit code in canonical form");
	if ((c->grants & CLIENTS_GRANT_CLIENT_CREDENTIALS) == 0)
		return YH_FAIL(YH_ERR_INVALID, err, errsz,
		    "org: only for an app with the client_credentials grant");
	return 0;
}

/* The app's old system: a source name like idmerge's; what depends on it needs it. */
static int
legacy_check(const struct clients_client *c, char *err, size_t errsz)
{
	if (c->legacy_source != NULL && !text_valid(c->legacy_source, CLIENTS_SOURCE_MAX))
		return YH_FAIL(YH_ERR_INVALID, err, errsz,
		    "legacy_source: 1..%d bytes of UTF-8 text without control characters",
		    CLIENTS_SOURCE_MAX);
	if ((unsigned)c->cas_user > CLIENTS_CAS_USER_LEGACY)
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "cas_user: subject or legacy");
	if (c->cas_user == CLIENTS_CAS_USER_LEGACY && c->legacy_source == NULL)
		return YH_FAIL(YH_ERR_INVALID, err, errsz,
		    "cas_user legacy needs a legacy_source");
	if (c->cas_user == CLIENTS_CAS_USER_LEGACY && !clients_has_cas(c))
		return YH_FAIL(YH_ERR_INVALID, err, errsz,
		    "cas_user: only for an app with CAS services");
	if (c->legacy_required && c->legacy_source == NULL)
		return YH_FAIL(YH_ERR_INVALID, err, errsz,
		    "legacy_required needs a legacy_source");
	return 0;
}

/* One chosen algorithm (UNSET: none chosen) against the enabled set. */
static int
alg_check(const char *what, enum tok_alg alg, unsigned enabled, char *err, size_t errsz)
{
	char names[64];

	if (alg == TOK_ALG_UNSET)
		return 0;
	if (tok_alg_name(alg) == NULL)
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "%s: unsupported algorithm", what);
	if (enabled == 0 || (enabled & TOK_ALGSET(alg)) != 0)
		return 0;
	if (tok_algset_format(enabled, names, sizeof(names)) != 0)
		names[0] = '\0';
	return YH_FAIL(YH_ERR_INVALID, err, errsz, "%s: %s is not enabled on this server "
	    "(keys.algs: %s)", what, tok_alg_name(alg), names);
}

int
clients_algs_check(const struct clients_client *c, unsigned enabled, char *err,
    size_t errsz)
{
	int rc;

	if ((rc = alg_check("id_token_signed_response_alg", c->id_token_alg, enabled, err,
	    errsz)) != 0)
		return rc;
	return alg_check("access_token_signed_response_alg", c->access_token_alg, enabled, err,
	    errsz);
}

int
clients_client_check(const struct clients_client *c, char *err, size_t errsz)
{
	const char *why;
	int rc;

	if (!clients_id_valid(c->id))
		return YH_FAIL(YH_ERR_INVALID, err, errsz,
		    "client_id: 1..%d characters of A-Z a-z 0-9 . _ -", CLIENTS_ID_MAX);
	if (c->name != NULL && !text_valid(c->name, CLIENTS_NAME_MAX))
		return YH_FAIL(YH_ERR_INVALID, err, errsz,
		    "name: 1..%d bytes of UTF-8 text without control characters", CLIENTS_NAME_MAX);
	if ((unsigned)c->auth > CLIENTS_AUTH_PRIVATE_KEY_JWT)
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "auth: unknown");
	if (c->auth == CLIENTS_AUTH_NONE && !c->require_pkce)
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "public clients require PKCE");
	if ((rc = uri_list_check("redirect_uris", URI_REDIRECT, c->redirect_uris,
	    c->n_redirect_uris, err, errsz)) != 0 ||
	    (rc = uri_list_check("post_logout_redirect_uris", URI_REDIRECT,
	    c->post_logout_uris, c->n_post_logout_uris, err, errsz)) != 0 ||
	    (rc = uri_list_check("cas_services", URI_CAS_SERVICE, c->cas_services,
	    c->n_cas_services, err, errsz)) != 0 ||
	    (rc = uri_list_check("cas_service_prefixes", URI_CAS_PREFIX, c->cas_prefixes,
	    c->n_cas_prefixes, err, errsz)) != 0 ||
	    (rc = uri_list_check("cas_proxy_callbacks", URI_CAS_PROXY, c->cas_proxy_callbacks,
	    c->n_cas_proxy_callbacks, err, errsz)) != 0)
		return rc;
	if ((c->n_cas_proxy_callbacks > 0 || c->cas_accept_proxy) && !clients_has_cas(c))
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "cas_proxy_callbacks and "
		    "cas_accept_proxy: only for an app with CAS services");
	if ((rc = clients_origins_check(c, err, errsz)) != 0)
		return rc;
	if (c->backchannel_logout_uri != NULL &&
	    clients_uri_check(c->backchannel_logout_uri, true, &why) != 0)
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "backchannel_logout_uri: %s: %s",
		    c->backchannel_logout_uri, why);
	if ((rc = grants_check(c, err, errsz)) != 0 || (rc = scopes_check(c, err, errsz)) != 0)
		return rc;
	if (c->min_loa < 1 || c->min_loa > 4)
		return YH_FAIL(YH_ERR_INVALID, err, errsz, "min_loa: 1..4");
	if (c->sector != NULL && !token_valid(c->sector, CLIENTS_SECTOR_MAX, "._:-"))
		return YH_FAIL(YH_ERR_INVALID, err, errsz,
		    "sector: 1..%d characters of A-Z a-z 0-9 . _ : -", CLIENTS_SECTOR_MAX);
	if ((rc = org_check(c, err, errsz)) != 0 || (rc = legacy_check(c, err, errsz)) != 0 ||
	    (rc = clients_algs_check(c, 0, err, errsz)) != 0)
		return rc;
	if ((rc = lifetime_check("access_token_lifetime", c->access_token_lifetime,
	    "token.access_lifetime", err, errsz)) != 0 ||
	    (rc = lifetime_check("id_token_lifetime", c->id_token_lifetime,
	    "token.id_lifetime", err, errsz)) != 0 ||
	    (rc = lifetime_check("refresh_token_lifetime", c->refresh_token_lifetime,
	    "token.refresh_lifetime", err, errsz)) != 0)
		return rc;
	if (c->auth == CLIENTS_AUTH_PRIVATE_KEY_JWT) {
		if (c->jwks_json == NULL)
			return YH_FAIL(YH_ERR_INVALID, err, errsz, "private_key_jwt needs a jwks");
		return clients_jwks_check(c->jwks_json, NULL, err, errsz);
	}
	if (c->jwks_json != NULL)
		return YH_FAIL(YH_ERR_INVALID, err, errsz,
		    "jwks: only for private_key_jwt clients");
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
