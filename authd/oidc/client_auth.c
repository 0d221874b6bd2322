/*
 * Client authentication at the token-type endpoints (/token, /introspect, /revoke):
 * client_secret_basic, client_secret_post, private_key_jwt (RFC 7523) and public
 * clients. See authd/oidc/token.h.
 */
#include "authd/oidc/token.h"

#include <string.h>
#include <strings.h>

#include "authd/oidc/oidc.h"
#include "authd/app.h"
#include "authd/session/sess.h"
#include "common/b64.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/timeutil.h"
#include "token/jws.h"
#include "token/jwt.h"

#define BASIC_MAX 1024            /* decoded Basic credentials, bytes */
#define ASSERTION_MAX TOK_JWS_MAX
#define JTI_MAX 128

/* Form parameters of a request: NULL when absent. */
struct auth_params {
	char *client_id;
	char *secret;
	char *assertion_type;
	char *assertion;
};

static void
params_clear(struct auth_params *p)
{
	free(p->client_id);
	yh_strfree_secret(p->secret);
	free(p->assertion_type);
	yh_strfree_secret(p->assertion);
	memset(p, 0, sizeof(*p));
}

/* One optional form parameter: NOT_FOUND is fine; UNSUPPORTED (not a form) is too. */
static int
form_opt(struct http_req *req, const char *name, size_t max, char **out)
{
	int r = http_req_form(req, name, max, out);

	if (r == YH_ERR_NOT_FOUND || r == YH_ERR_UNSUPPORTED) {
		*out = NULL;
		return 0;
	}
	return r == YH_ERR_ALLOC ? r : (r == 0 ? 0 : YH_ERR_INVALID);
}

static int
params_read(struct http_req *req, struct auth_params *p)
{
	int r;

	memset(p, 0, sizeof(*p));
	if ((r = form_opt(req, "client_id", CLIENTS_ID_MAX, &p->client_id)) != 0 ||
	    (r = form_opt(req, "client_secret", CLIENTS_SECRET_MAX, &p->secret)) != 0 ||
	    (r = form_opt(req, "client_assertion_type", 128, &p->assertion_type)) != 0 ||
	    (r = form_opt(req, "client_assertion", ASSERTION_MAX, &p->assertion)) != 0)
		return r;
	return 0;
}

/* Percent-decodes (and '+' -> space) len bytes of s into a new string. */
static int
form_decode(const char *s, size_t len, char **out)
{
	struct yh_span body;
	char *tmp;
	int r;

	/* Reuse the form parser: "v=<s>" parsed as a form gives s decoded. */
	if ((tmp = malloc(len + 3)) == NULL)
		return YH_ERR_ALLOC;
	tmp[0] = 'v';
	tmp[1] = '=';
	memcpy(tmp + 2, s, len);
	tmp[len + 2] = '\0';
	body = yh_span_mem(tmp, len + 2);
	if (memchr(s, '&', len) != NULL)
		r = YH_ERR_INVALID;
	else
		r = http_form_get(body, "v", BASIC_MAX, out);
	yh_freezero(tmp, len + 3);
	return r;
}

/*
 * Parses "Authorization: Basic base64(urlenc(id):urlenc(secret))". *id and *secret are
 * new strings. Returns 0, YH_ERR_NOT_FOUND (no Basic header), YH_ERR_INVALID.
 */
static int
basic_parse(struct http_req *req, char **id, char **secret)
{
	const char *h = http_req_header(req, "Authorization");
	unsigned char dec[BASIC_MAX + 1];
	size_t hl, dl = 0;
	char *colon;
	int r;

	*id = *secret = NULL;
	if (h == NULL || strncasecmp(h, "Basic ", 6) != 0)
		return YH_ERR_NOT_FOUND;
	h += 6;
	while (*h == ' ')
		h++;
	hl = strlen(h);
	if (hl == 0 || hl > 4 * (BASIC_MAX / 3 + 1))
		return YH_ERR_INVALID;
	if ((r = yh_b64_decode(h, hl, dec, BASIC_MAX, &dl)) != 0) {
		r = YH_ERR_INVALID;
		goto out;
	}
	dec[dl] = '\0';
	if (memchr(dec, '\0', dl) != NULL || (colon = strchr((char *)dec, ':')) == NULL) {
		r = YH_ERR_INVALID;
		goto out;
	}
	if ((r = form_decode((char *)dec, (size_t)(colon - (char *)dec), id)) != 0 ||
	    (r = form_decode(colon + 1, dl - (size_t)(colon + 1 - (char *)dec), secret)) != 0) {
		free(*id);
		*id = NULL;
		r = r == YH_ERR_ALLOC ? r : YH_ERR_INVALID;
		goto out;
	}
out:
	yh_wipe(dec, sizeof(dec));
	return r;
}

/* Reads the unverified "iss" of a compact JWS (only to pick the client's key set). */
static int
assertion_issuer(const char *jwt, char *iss, size_t isssz)
{
	const char *p1, *p2;
	unsigned char *pl = NULL;
	size_t pll = 0, n;
	json_t *o = NULL, *v;
	int r = YH_ERR_INVALID;

	iss[0] = '\0';
	if ((p1 = strchr(jwt, '.')) == NULL || (p2 = strchr(p1 + 1, '.')) == NULL)
		return YH_ERR_INVALID;
	n = (size_t)(p2 - p1 - 1);
	if ((pl = malloc(n + 1)) == NULL)
		return YH_ERR_ALLOC;
	if (yh_b64url_decode(p1 + 1, n, pl, n, &pll) != 0)
		goto out;
	if ((o = json_loadb((const char *)pl, pll, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		goto out;
	v = json_object_get(o, "iss");
	if (!json_is_string(v) || yh_strlcpy(iss, json_string_value(v), isssz) != 0)
		goto out;
	r = 0;
out:
	json_decref(o);
	free(pl);
	return r;
}

/* True when the assertion's aud names one of the accepted audiences. */
static bool
aud_ok(const json_t *aud, const char *const *ok, size_t nok)
{
	size_t i, j;

	if (json_is_string(aud)) {
		for (j = 0; j < nok; j++)
			if (ok[j] != NULL && strcmp(json_string_value(aud), ok[j]) == 0)
				return true;
		return false;
	}
	if (!json_is_array(aud))
		return false;
	for (i = 0; i < json_array_size(aud); i++)
		if (json_is_string(json_array_get(aud, i)) &&
		    aud_ok(json_array_get(aud, i), ok, nok))
			return true;
	return false;
}

/* The claims rules of RFC 7523 3 beyond what tok_jwt_verify checked. */
static int
assertion_claims(struct authd_app *app, const char *client_id, const json_t *claims,
    const char *endpoint_url, int64_t now, const char **why)
{
	char token_url[CLIENTS_URI_MAX + 16];
	const char *auds[3];
	const json_t *sub = json_object_get(claims, "sub"), *exp = json_object_get(claims, "exp");
	const json_t *jti = json_object_get(claims, "jti");
	char name[SESS_NAME_MAX];
	int64_t count = 0, e;
	int r;

	snprintf(token_url, sizeof(token_url), "%s/token", app->issuer);
	auds[0] = token_url;
	auds[1] = app->issuer;
	auds[2] = endpoint_url;
	if (!json_is_string(sub) || strcmp(json_string_value(sub), client_id) != 0)
		return (*why = "client assertion: sub must be the client_id", YH_ERR_AUTH);
	if (!aud_ok(json_object_get(claims, "aud"), auds, 3))
		return (*why = "client assertion: aud is not this endpoint", YH_ERR_AUTH);
	if (!json_is_integer(exp))
		return (*why = "client assertion: exp missing", YH_ERR_AUTH);
	e = json_integer_value(exp);
	if (e > now + oidc_lifetime(app, OIDC_LT_ASSERTION))
		return (*why = "client assertion: exp too far ahead", YH_ERR_AUTH);
	if (!json_is_string(jti) || strlen(json_string_value(jti)) == 0 ||
	    strlen(json_string_value(jti)) > JTI_MAX)
		return (*why = "client assertion: jti missing", YH_ERR_AUTH);
	snprintf(name, sizeof(name), "cajti:%s:%s", client_id, json_string_value(jti));
	r = sess_fail(app->sess, name, e - now + OIDC_LEEWAY > 1 ? e - now + OIDC_LEEWAY : 1, 0,
	    0, &count);
	if (r != 0)
		return r;
	if (count > 1)
		return (*why = "client assertion: jti already used", YH_ERR_AUTH);
	return 0;
}

/* private_key_jwt: verifies the assertion and finds its client. */
static int
auth_jwt(struct http_req *req, struct authd_app *app, const struct clients_snap *snap,
    const struct auth_params *p, const char *endpoint_url, struct oidc_client_auth *out)
{
	char iss[CLIENTS_ID_MAX + 1], why[160];
	const struct clients_client *c;
	struct tok_check chk;
	struct tok_jwt jwt;
	int64_t now = yh_now();
	int r;

	(void)req;
	memset(&jwt, 0, sizeof(jwt));
	if (p->assertion_type == NULL || strcmp(p->assertion_type, OIDC_ASSERTION_TYPE) != 0)
		return (out->why = "unsupported client_assertion_type", YH_ERR_INVALID);
	if ((r = assertion_issuer(p->assertion, iss, sizeof(iss))) != 0)
		return r == YH_ERR_ALLOC ? r : (out->why = "malformed client assertion", YH_ERR_AUTH);
	if (p->client_id != NULL && strcmp(p->client_id, iss) != 0)
		return (out->why = "client_id does not match the assertion", YH_ERR_AUTH);
	c = clients_find(snap, iss);
	if (c == NULL || c->auth != CLIENTS_AUTH_PRIVATE_KEY_JWT)
		return (out->why = "client authentication failed", YH_ERR_AUTH);
	memset(&chk, 0, sizeof(chk));
	chk.kind = TOK_KIND_JWT;
	chk.iss = c->id;
	chk.leeway = OIDC_LEEWAY;
	chk.now = now;
	r = tok_jwt_verify(p->assertion, strlen(p->assertion), &c->jwks, TOK_ALGSET_ALL, &chk,
	    &jwt, why, sizeof(why));
	if (r != 0) {
		yh_info("client %s: assertion refused: %s", c->id, why);
		return (out->why = "client assertion refused", YH_ERR_AUTH);
	}
	if ((r = assertion_claims(app, c->id, jwt.claims, endpoint_url, now, &out->why)) != 0)
		goto out;
	out->client = c;
	out->method = OIDC_AUTH_JWT;
out:
	tok_jwt_clear(&jwt);
	return r;
}

/* client_secret_basic / client_secret_post. */
static int
auth_secret(const struct clients_snap *snap, const char *id, const char *secret,
    enum oidc_auth_method m, struct oidc_client_auth *out)
{
	const struct clients_client *c = NULL;

	if (clients_verify_secret(snap, id, secret, strlen(secret), &c) != 0 || c == NULL)
		return (out->why = "client authentication failed", YH_ERR_AUTH);
	out->client = c;
	out->method = m;
	return 0;
}

int
oidc_client_authenticate(struct http_req *req, struct authd_app *app,
    const struct clients_snap *snap, const char *endpoint_url, struct oidc_client_auth *out)
{
	struct auth_params p;
	const struct clients_client *c;
	char *bid = NULL, *bsecret = NULL;
	int r, rb;

	memset(out, 0, sizeof(*out));
	if ((r = params_read(req, &p)) != 0) {
		out->why = "malformed client authentication parameters";
		goto out;
	}
	rb = basic_parse(req, &bid, &bsecret);
	out->basic = (rb != YH_ERR_NOT_FOUND);
	if (rb == YH_ERR_INVALID) {
		r = YH_ERR_AUTH;
		out->why = "malformed Basic credentials";
		goto out;
	}
	if (rb == YH_ERR_ALLOC) {
		r = rb;
		goto out;
	}
	if ((out->basic ? 1 : 0) + (p.secret != NULL) + (p.assertion != NULL) > 1) {
		r = YH_ERR_INVALID;
		out->why = "more than one client authentication method";
		goto out;
	}
	if (out->basic) {
		if (p.client_id != NULL && strcmp(p.client_id, bid) != 0) {
			r = YH_ERR_INVALID;
			out->why = "client_id does not match the Basic credentials";
			goto out;
		}
		r = auth_secret(snap, bid, bsecret, OIDC_AUTH_BASIC, out);
	} else if (p.assertion != NULL) {
		r = auth_jwt(req, app, snap, &p, endpoint_url, out);
	} else if (p.secret != NULL) {
		if (p.client_id == NULL) {
			r = YH_ERR_INVALID;
			out->why = "client_id missing";
			goto out;
		}
		r = auth_secret(snap, p.client_id, p.secret, OIDC_AUTH_POST, out);
	} else if (p.client_id != NULL) {
		c = clients_find(snap, p.client_id);
		if (c == NULL || c->auth != CLIENTS_AUTH_NONE) {
			r = YH_ERR_AUTH;
			out->why = "client authentication failed";
			goto out;
		}
		out->client = c;
		out->method = OIDC_AUTH_PUBLIC;
		r = 0;
	} else {
		r = YH_ERR_AUTH;
		out->why = "client authentication required";
	}
	if (r == 0 && out->client->disabled) {
		yh_info("client %s: refused, the app is disabled", out->client->id);
		r = YH_ERR_AUTH;
		out->why = "the client is disabled";
	}
out:
	free(bid);
	yh_strfree_secret(bsecret);
	params_clear(&p);
	if (r != 0)
		out->client = NULL;
	return r;
}

int
oidc_client_auth_fail(struct http_req *req, const struct oidc_client_auth *a, int rc)
{
	if (rc == YH_ERR_AUTH)
		return oidc_error_client(req, a->basic, a->why);
	if (rc == YH_ERR_INVALID)
		return oidc_error(req, "invalid_request", a->why);
	return rc;
}
