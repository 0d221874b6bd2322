/* The upstream.NAME.* blocks. See federation/upstream_cfg.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/atomicfile.h"
#include "common/secmem.h"
#include "federation/http.h"
#include "federation/upstream_cfg.h"
#include "token/jwk.h"

static const char *const up_kinds[] = { "oidc", "ticket", NULL };
static const char *const up_links[] = { "id_number", "sub", NULL };
static const char *const up_logouts[] = { "local", "propagate", NULL };
static const char *const up_token_auths[] = { "client_secret_basic", "client_secret_post",
	"private_key_jwt", NULL };
static const char *const up_key_algs[] = { "ES256", "RS256", "PS256", "EdDSA", "SM2", NULL };
static const char *const up_signs[] = { "secret", "hmac-sha256", "hmac-sm3", "sm2-sm3",
	NULL };

#define ROW(n, f, ...) \
	{ .name = n, .offset = offsetof(struct fed_up_cfg, f), .flags = YH_CFG_IMMUTABLE, \
	  __VA_ARGS__ }
#define SECRET(n, f, h) \
	{ .name = n, .offset = offsetof(struct fed_up_cfg, f), .type = YH_CFG_STR, \
	  .max = 1024, .flags = YH_CFG_IMMUTABLE | YH_CFG_SENSITIVE, .help = h }
#define PATHROW(n, f, d, h) ROW(n, f, .type = YH_CFG_STR, .def = d, .max = 1100, .help = h)

const struct yh_cfg_opt fed_up_opts[] = {
	ROW("kind", kind, .type = YH_CFG_ENUM, .def = NULL, .max = 8, .choices = up_kinds,
	    .help = "oidc (OpenID Connect) or ticket (redirect, one-time ticket, exchange)"),
	ROW("display_name", display_name, .type = YH_CFG_STR, .def = NULL, .max = 64,
	    .help = "the name on the login page's button: 使用 NAME 登录"),
	ROW("display_name_en", display_name_en, .type = YH_CFG_STR, .def = NULL, .max = 64,
	    .help = "the name on the English page; unset: display_name"),
	ROW("loa", loa, .type = YH_CFG_INT, .def = "2", .min = 1, .max = FED_UP_LOA_MAX,
	    .help = "the level of a login whose acr is absent or not in acr_map"),
	ROW("acr_map", acr_map, .type = YH_CFG_STR, .def = NULL, .max = 2048,
	    .help = "acr=LEVEL, ...: the level each upstream acr gives"),
	ROW("auto_register", auto_register, .type = YH_CFG_BOOL, .def = "no",
	    .help = "create a person the directory does not know"),
	ROW("link", link, .type = YH_CFG_ENUM, .def = "id_number", .max = 16,
	    .choices = up_links, .help = "what finds the person on a first login: id_number "
	        "or sub (a link made by an operator)"),
	ROW("logout", logout, .type = YH_CFG_ENUM, .def = "local", .max = 16,
	    .choices = up_logouts, .help = "local, or propagate: a local logout sends the "
	        "browser on to the upstream's end_session_endpoint"),
	ROW("timeout", timeout, .type = YH_CFG_DURATION, .def = "10s", .min = 1, .max = 60,
	    .help = "how long one call to the upstream may take"),
	ROW("ca_file", ca_file, .type = YH_CFG_PATH, .def = NULL, .max = 3072,
	    .help = "PEM CAs the upstream's https certificate must chain to"),
	PATHROW("map.sub", map_sub, "sub", "the upstream's subject (claim or dotted path)"),
	PATHROW("map.id_number", map_id_number, NULL, "the ID number"),
	PATHROW("map.name", map_name, NULL, "the name"),
	PATHROW("map.phone", map_phone, NULL, "the phone number"),
	PATHROW("map.user_type", map_user_type, NULL, "person or legal person"),
	PATHROW("map.uscc", map_uscc, NULL, "the organization's unified social credit code"),
	PATHROW("map.org_name", map_org_name, NULL, "the organization's name"),
	ROW("org_user_type", org_user_type, .type = YH_CFG_STR, .def = "org", .max = 64,
	    .help = "map.user_type's value for a legal-person login"),
	ROW("issuer", issuer, .type = YH_CFG_STR, .def = NULL, .max = 2048,
	    .help = "oidc: the upstream's issuer (discovery)"),
	ROW("client_id", client_id, .type = YH_CFG_STR, .def = NULL, .max = 255,
	    .help = "oidc: our client id at the upstream"),
	SECRET("client_secret", client_secret, "oidc: our client secret"),
	ROW("token_auth", token_auth, .type = YH_CFG_ENUM, .def = "client_secret_basic",
	    .max = 32, .choices = up_token_auths, .help = "oidc: how we authenticate at "
	        "the token endpoint: client_secret_basic, client_secret_post or "
	        "private_key_jwt (a JWT signed with private_key)"),
	ROW("private_key", private_key, .type = YH_CFG_PATH, .def = NULL, .max = 3072,
	    .help = "oidc, token_auth = private_key_jwt: our private key (PEM, mode 0600, "
	        "owned by authd's account)"),
	ROW("private_key_alg", private_key_alg, .type = YH_CFG_ENUM, .def = "ES256",
	    .max = 8, .choices = up_key_algs, .help = "oidc, token_auth = private_key_jwt: "
	        "the key's algorithm: ES256, RS256, PS256, EdDSA or SM2"),
	ROW("scopes", scopes, .type = YH_CFG_STR, .def = "openid profile", .max = 512,
	    .help = "oidc: the scopes asked for (openid among them)"),
	ROW("algs", algs, .type = YH_CFG_STR, .def = "ES256 RS256 PS256 EdDSA SM2",
	    .max = 128, .help = "oidc: the ID token algorithms accepted (never none)"),
	ROW("discovery_refresh", discovery_refresh, .type = YH_CFG_DURATION, .def = "1h",
	    .min = 60, .max = 7 * 86400, .help = "oidc: how long discovery and the JWKS "
	        "are used before they are fetched again"),
	ROW("login_url", login_url, .type = YH_CFG_STR, .def = NULL, .max = 2048,
	    .help = "ticket: where the browser is sent to log in"),
	ROW("validate_url", validate_url, .type = YH_CFG_STR, .def = NULL, .max = 2048,
	    .help = "ticket: where a ticket is exchanged, server to server"),
	ROW("app_id", app_id, .type = YH_CFG_STR, .def = NULL, .max = 255,
	    .help = "ticket: our app id at the upstream"),
	SECRET("app_secret", app_secret, "ticket: our app secret, or the HMAC key"),
	ROW("sign", sign, .type = YH_CFG_ENUM, .def = "secret", .max = 16,
	    .choices = up_signs, .help = "ticket: secret (sent as is), or a signature over "
	        "the parameters with timestamp and nonce: hmac-sha256, hmac-sm3 or sm2-sm3"),
	ROW("sign_key_file", sign_key_file, .type = YH_CFG_PATH, .def = NULL, .max = 3072,
	    .help = "ticket, sign = sm2-sm3: our SM2 private key (PEM, mode 0600)"),
	ROW("app_id_param", app_id_param, .type = YH_CFG_STR, .def = "appId", .max = 64,
	    .help = "ticket: the login URL's parameter carrying app_id"),
	ROW("return_param", return_param, .type = YH_CFG_STR, .def = "service", .max = 64,
	    .help = "ticket: the login URL's parameter carrying the return URL"),
	ROW("ticket_param", ticket_param, .type = YH_CFG_STR, .def = "ticket", .max = 64,
	    .help = "ticket: the return URL's parameter carrying the ticket"),
	PATHROW("result_field", result_field, "code", "ticket: the answer's member saying "
	    "success"),
	ROW("result_value", result_value, .type = YH_CFG_STR, .def = "0", .max = 128,
	    .help = "ticket: result_field's value on success"),
	{ .name = NULL },
};

#define NOPTS (sizeof(fed_up_opts) / sizeof(fed_up_opts[0]) - 1)
_Static_assert(NOPTS <= sizeof(((struct fed_up_cfg *)0)->where) /
    sizeof(char *), "struct fed_up_cfg.where too small");

static bool
set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

static void
cfg_free(struct fed_up_cfg *u)
{
	if (u == NULL)
		return;
	yh_cfg_free(fed_up_opts, u);
	tok_key_free(u->client_key);
	for (size_t i = 0; i < NOPTS; i++)
		free(u->where[i]);
	free(u->first);
	free(u);
}

void
fed_up_free(struct fed_up_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		cfg_free(s->up[i]);
	memset(s, 0, sizeof(*s));
}

const struct fed_up_cfg *
fed_up_find(const struct fed_up_set *s, const char *name)
{
	for (size_t i = 0; s != NULL && i < s->n; i++)
		if (strcmp(s->up[i]->name, name) == 0)
			return s->up[i];
	return NULL;
}

static bool
name_ok(const char *p, size_t len)
{
	if (len == 0 || len > FED_UP_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') ||
		    p[i] == '_' || p[i] == '-'))
			return false;
	return true;
}

/* The block called name in s, made (at its defaults) when there is none. */
static int
block(struct fed_up_set *s, const char *name, const char *where, struct fed_up_cfg **out,
    struct yh_cfg_err *err)
{
	struct fed_up_cfg *u;
	int r;

	if ((*out = (struct fed_up_cfg *)fed_up_find(s, name)) != NULL)
		return 0;
	if (s->n == FED_UP_MAX) {
		snprintf(err->where, sizeof(err->where), "%s", where);
		snprintf(err->msg, sizeof(err->msg), "more than %d upstream blocks", FED_UP_MAX);
		return YH_ERR_CONFIG;
	}
	if ((u = calloc(1, sizeof(*u))) == NULL || (u->first = strdup(where)) == NULL) {
		free(u);
		return YH_ERR_ALLOC;
	}
	snprintf(u->name, sizeof(u->name), "%s", name);
	if ((r = yh_cfg_defaults(fed_up_opts, u, err)) != 0) {
		cfg_free(u);
		return r;
	}
	s->up[s->n++] = u;
	*out = u;
	return 0;
}

int
fed_up_cfg_line(void *slot, const char *key, const char *value, const char *file,
    unsigned lineno, struct yh_cfg_err *err)
{
	struct fed_up_set *s = slot;
	const char *name = key + strlen(FED_UP_PREFIX), *dot = strchr(name, '.');
	const struct yh_cfg_opt *o;
	char nm[FED_UP_NAME_MAX + 1], where[sizeof(err->where)];
	struct fed_up_cfg *u;
	size_t i;
	int r;

	snprintf(where, sizeof(where), "%s:%u", file, lineno);
	if (dot == NULL || !name_ok(name, (size_t)(dot - name))) {
		snprintf(err->where, sizeof(err->where), "%s", where);
		snprintf(err->msg, sizeof(err->msg), "%.200s: expected upstream.NAME.OPTION with "
		    "NAME of 1 to %d letters a-z, digits, _ or -", key, FED_UP_NAME_MAX);
		return YH_ERR_CONFIG;
	}
	memcpy(nm, name, (size_t)(dot - name));
	nm[dot - name] = '\0';
	if ((o = yh_cfg_find(fed_up_opts, dot + 1)) == NULL) {
		snprintf(err->where, sizeof(err->where), "%s", where);
		snprintf(err->msg, sizeof(err->msg), "unknown option '%.250s'", key);
		return YH_ERR_CONFIG;
	}
	if ((r = block(s, nm, where, &u, err)) != 0)
		return r;
	i = (size_t)(o - fed_up_opts);
	if (u->where[i] != NULL) {
		snprintf(err->where, sizeof(err->where), "%s", where);
		snprintf(err->msg, sizeof(err->msg), "option '%.250s' given twice", key);
		return YH_ERR_CONFIG;
	}
	if ((r = yh_cfg_set_file(fed_up_opts, u, dot + 1, value, file, where, err)) != 0) {
		char m[sizeof(err->msg)];

		/* the row names the option without its block */
		snprintf(m, sizeof(m), "upstream.%s.%.250s", nm, err->msg);
		memcpy(err->msg, m, sizeof(m));
		return r;
	}
	if ((u->where[i] = strdup(where)) == NULL)
		return YH_ERR_ALLOC;
	return 0;
}

/* ---- checks ----------------------------------------------------------------------- */

/* Writes "where: upstream.NAME.opt: msg" with where the line that set opt, else the
 * block's first line. */
static int
fail(const struct fed_up_cfg *u, const char *opt, char *err, size_t errsz,
    const char *msg)
{
	const struct yh_cfg_opt *o = yh_cfg_find(fed_up_opts, opt);
	const char *where = o != NULL ? u->where[o - fed_up_opts] : NULL;

	snprintf(err, errsz, "%s: upstream.%s.%s: %s", where != NULL ? where : u->first,
	    u->name, opt, msg);
	return YH_ERR_CONFIG;
}

/* True when url is http(s)://host..., and over http only for a loopback address. */
static bool
url_ok(const char *url, const char **why)
{
	static const char *const loop[] = { "http://127.", "http://[::1]", "http://localhost:",
		"http://localhost/", NULL };

	if (!fed_http_url_ok(url)) {
		*why = "must be an http:// or https:// URL with a host, without spaces";
		return false;
	}
	if (strncmp(url, "https://", 8) == 0)
		return true;
	for (size_t i = 0; loop[i] != NULL; i++)
		if (strncmp(url, loop[i], strlen(loop[i])) == 0)
			return true;
	*why = "must use https:// (http:// only for a loopback address)";
	return false;
}

/* Parses "acr=N, acr=N". On success and when acr is not NULL, *level gets acr's
 * level (0: not in the map). */
static int
acr_parse(const char *map, const char *acr, int *level, const char **why)
{
	const char *p = map;
	size_t n = 0;

	if (level != NULL)
		*level = 0;
	while (p != NULL && *p != '\0') {
		const char *comma = strchr(p, ','), *end, *eq, *lv;
		int v;

		while (*p == ' ' || *p == '\t')
			p++;
		end = comma != NULL ? comma : p + strlen(p);
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		for (eq = end; eq > p && eq[-1] != '='; eq--)
			;
		eq = eq > p ? eq - 1 : NULL;
		lv = eq != NULL ? eq + 1 : NULL;
		while (lv != NULL && (*lv == ' ' || *lv == '\t'))
			lv++;
		if (eq == NULL || eq == p || lv + 1 != end || *lv < '1' ||
		    *lv > '0' + FED_UP_LOA_MAX) {
			*why = "expected acr=LEVEL entries separated by commas, LEVEL 1 to 4";
			return YH_ERR_CONFIG;
		}
		if (++n > FED_UP_ACR_MAX) {
			*why = "more than 16 entries";
			return YH_ERR_CONFIG;
		}
		v = *lv - '0';
		while (eq > p && (eq[-1] == ' ' || eq[-1] == '\t'))
			eq--;
		if (acr != NULL && strlen(acr) == (size_t)(eq - p) &&
		    memcmp(acr, p, (size_t)(eq - p)) == 0 && level != NULL)
			*level = v;
		p = comma != NULL ? comma + 1 : NULL;
	}
	return 0;
}

int
fed_up_loa(const struct fed_up_cfg *u, const char *acr)
{
	const char *why;
	int level = 0;

	if (set(acr) && set(u->acr_map) && acr_parse(u->acr_map, acr, &level, &why) == 0 &&
	    level > 0)
		return level;
	return (int)u->loa;
}

/* True when the space-separated list has word. */
static bool
has_word(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; p != NULL && *p != '\0';) {
		size_t len = strcspn(p, " \t");

		if (len == n && memcmp(p, word, n) == 0)
			return true;
		p += len;
		p += strspn(p, " \t");
	}
	return false;
}

static bool
algs_ok(const char *list)
{
	static const char *const known[] = { "ES256", "RS256", "PS256", "EdDSA", "SM2", NULL };
	size_t count = 0;

	for (const char *p = list; *p != '\0';) {
		size_t len = strcspn(p, " \t,");
		bool ok = false;

		for (size_t i = 0; len > 0 && known[i] != NULL; i++)
			ok = ok || (strlen(known[i]) == len && memcmp(known[i], p, len) == 0);
		if (len > 0 && !ok)
			return false;
		count += len > 0;
		p += len;
		p += strspn(p, " \t,");
	}
	return count > 0;
}

static int
check_maps(const struct fed_up_cfg *u, char *err, size_t errsz)
{
	static const char *const maps[] = { "map.sub", "map.id_number", "map.name",
		"map.phone", "map.user_type", "map.uscc", "map.org_name", NULL };

	for (size_t i = 0; maps[i] != NULL; i++) {
		const struct yh_cfg_opt *o = yh_cfg_find(fed_up_opts, maps[i]);
		const char *v = *(char *const *)(const void *)((const char *)u + o->offset);

		if (v != NULL && !fed_json_path_ok(v))
			return fail(u, maps[i], err, errsz, "expected a claim name or a dotted "
			    "path (a.b.c: at most 8 parts of at most 128 bytes)");
	}
	if (!set(u->map_sub))
		return fail(u, "map.sub", err, errsz, "must not be empty");
	if (strcmp(u->link, "id_number") == 0 && !set(u->map_id_number))
		return fail(u, "map.id_number", err, errsz, "is required with link = id_number");
	if (u->auto_register && !set(u->map_name))
		return fail(u, "map.name", err, errsz, "is required with auto_register (a new "
		    "person's name)");
	if (set(u->map_uscc) != set(u->map_user_type))
		return fail(u, set(u->map_uscc) ? "map.user_type" : "map.uscc", err, errsz,
		    "map.user_type and map.uscc go together (a legal-person login)");
	return 0;
}

static int
check_url(const struct fed_up_cfg *u, const char *opt, const char *v, char *err,
    size_t errsz)
{
	const char *why;

	if (!set(v))
		return fail(u, opt, err, errsz, "is required with this kind");
	if (!url_ok(v, &why))
		return fail(u, opt, err, errsz, why);
	return 0;
}

/* Loads u's private_key as a key of private_key_alg into u->client_key, its kid the
 * key's thumbprint. */
static int
load_client_key(struct fed_up_cfg *u, char *err, size_t errsz)
{
	struct yh_file_fail f;
	enum tok_alg alg;
	char *pem = NULL, msg[600];
	size_t len = 0;
	int r;

	tok_key_free(u->client_key);
	u->client_key = NULL;
	if (tok_alg_from_name(u->private_key_alg, &alg) != 0)
		return fail(u, "private_key_alg", err, errsz, "unknown algorithm");
	if ((r = yh_file_read_key(u->private_key, TOK_PEM_MAX, &pem, &len, &f)) != 0) {
		if (r == YH_ERR_ALLOC)
			return r;
		yh_file_fail_msg(&f, msg, sizeof(msg));
		return fail(u, "private_key", err, errsz, msg);
	}
	r = tok_key_from_pem(pem, len, alg, &u->client_key);
	yh_freezero(pem, len + 1);
	if (r == 0 && !tok_key_is_private(u->client_key))
		r = YH_ERR_KEY;
	if (r == 0)
		r = tok_key_set_kid_thumbprint(u->client_key);
	if (r != 0) {
		tok_key_free(u->client_key);
		u->client_key = NULL;
		if (r == YH_ERR_ALLOC)
			return r;
		snprintf(msg, sizeof(msg), "%s: not a private key of private_key_alg = %s: %s",
		    u->private_key, u->private_key_alg, yh_strerror(r));
		return fail(u, "private_key", err, errsz, msg);
	}
	return 0;
}

/* The token endpoint's client authentication: a secret, or private_key_jwt's key. */
static int
check_token_auth(struct fed_up_cfg *u, char *err, size_t errsz)
{
	if (strcmp(u->token_auth, "private_key_jwt") != 0) {
		if (!set(u->client_secret))
			return fail(u, "client_secret", err, errsz, "is required with kind = oidc "
			    "(unless token_auth = private_key_jwt)");
		if (set(u->private_key))
			return fail(u, "private_key", err, errsz, "is used only with token_auth = "
			    "private_key_jwt");
		return 0;
	}
	if (set(u->client_secret))
		return fail(u, "client_secret", err, errsz, "must not be set with token_auth = "
		    "private_key_jwt (the key authenticates us)");
	if (!set(u->private_key))
		return fail(u, "token_auth", err, errsz, "private_key_jwt needs private_key "
		    "(our PEM key file)");
	return load_client_key(u, err, errsz);
}

static int
check_oidc(struct fed_up_cfg *u, char *err, size_t errsz)
{
	int r;

	if ((r = check_url(u, "issuer", u->issuer, err, errsz)) != 0)
		return r;
	if (strchr(u->issuer, '?') != NULL || strchr(u->issuer, '#') != NULL)
		return fail(u, "issuer", err, errsz, "must have no query or fragment");
	if (!set(u->client_id))
		return fail(u, "client_id", err, errsz, "is required with kind = oidc");
	if ((r = check_token_auth(u, err, errsz)) != 0)
		return r;
	if (!has_word(u->scopes, "openid"))
		return fail(u, "scopes", err, errsz, "must include openid");
	if (!algs_ok(u->algs))
		return fail(u, "algs", err, errsz, "expected one or more of ES256 RS256 PS256 "
		    "EdDSA SM2 (none is never accepted)");
	return 0;
}

static int
check_ticket(const struct fed_up_cfg *u, char *err, size_t errsz)
{
	char msg[512];
	int r;

	if ((r = check_url(u, "login_url", u->login_url, err, errsz)) != 0 ||
	    (r = check_url(u, "validate_url", u->validate_url, err, errsz)) != 0)
		return r;
	if (!set(u->app_id))
		return fail(u, "app_id", err, errsz, "is required with kind = ticket");
	if (strcmp(u->sign, "sm2-sm3") == 0) {
		if (!set(u->sign_key_file))
			return fail(u, "sign_key_file", err, errsz, "is required with sign = "
			    "sm2-sm3");
		if (fed_http_cred_check(u->sign_key_file, msg, sizeof(msg)) != 0)
			return fail(u, "sign_key_file", err, errsz, msg);
	} else if (!set(u->app_secret))
		return fail(u, "app_secret", err, errsz, "is required with this sign");
	if (strcmp(u->logout, "propagate") == 0)
		return fail(u, "logout", err, errsz, "propagate needs kind = oidc (an "
		    "end_session_endpoint)");
	if (!fed_json_path_ok(u->result_field))
		return fail(u, "result_field", err, errsz, "expected a dotted path");
	return 0;
}

static int
check_one(struct fed_up_cfg *u, char *err, size_t errsz)
{
	const char *why;
	int r;

	if (u->kind == NULL)
		return fail(u, "kind", err, errsz, "is required: oidc or ticket");
	if (!set(u->display_name))
		return fail(u, "display_name", err, errsz, "is required (the login button)");
	if (set(u->acr_map) && acr_parse(u->acr_map, NULL, NULL, &why) != 0)
		return fail(u, "acr_map", err, errsz, why);
	if (set(u->ca_file) && access(u->ca_file, R_OK) != 0) {
		char msg[400];

		snprintf(msg, sizeof(msg), "%s: %s", u->ca_file, strerror(errno));
		return fail(u, "ca_file", err, errsz, msg);
	}
	if ((r = check_maps(u, err, errsz)) != 0)
		return r;
	return strcmp(u->kind, "oidc") == 0 ? check_oidc(u, err, errsz) :
	    check_ticket(u, err, errsz);
}

int
fed_up_check(struct fed_up_set *s, char *err, size_t errsz)
{
	int r;

	for (size_t i = 0; i < s->n; i++)
		if ((r = check_one(s->up[i], err, errsz)) != 0)
			return r;
	return 0;
}

/* ---- copies ----------------------------------------------------------------------- */

static bool
is_str(const struct yh_cfg_opt *o)
{
	return o->type == YH_CFG_STR || o->type == YH_CFG_PATH || o->type == YH_CFG_ENUM;
}

static bool
cfg_equal(const struct fed_up_cfg *a, const struct fed_up_cfg *b)
{
	if (strcmp(a->name, b->name) != 0)
		return false;
	for (const struct yh_cfg_opt *o = fed_up_opts; o->name != NULL; o++) {
		const void *pa = (const char *)a + o->offset, *pb = (const char *)b + o->offset;

		if (is_str(o)) {
			const char *x = *(char *const *)pa, *y = *(char *const *)pb;

			if ((x == NULL) != (y == NULL) || (x != NULL && strcmp(x, y) != 0))
				return false;
		} else if (o->type == YH_CFG_BOOL ? *(const bool *)pa != *(const bool *)pb :
		    *(const int64_t *)pa != *(const int64_t *)pb)
			return false;
	}
	return true;
}

bool
fed_up_equal(const struct fed_up_set *a, const struct fed_up_set *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (!cfg_equal(a->up[i], b->up[i]))
			return false;
	return true;
}

static char *
dup_or_null(const char *s, bool *oom)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*oom = true;
	return d;
}

int
fed_up_copy(struct fed_up_set *dst, const struct fed_up_set *src)
{
	bool oom = false;

	memset(dst, 0, sizeof(*dst));
	for (size_t i = 0; i < src->n && !oom; i++) {
		const struct fed_up_cfg *s = src->up[i];
		struct fed_up_cfg *d;

		if ((d = malloc(sizeof(*d))) == NULL) {
			oom = true;
			break;
		}
		memcpy(d, s, sizeof(*d));
		for (const struct yh_cfg_opt *o = fed_up_opts; o->name != NULL; o++)
			if (is_str(o)) {
				char **slot = (char **)(void *)((char *)d + o->offset);

				*slot = dup_or_null(*slot, &oom);
			}
		for (size_t k = 0; k < NOPTS; k++)
			d->where[k] = dup_or_null(s->where[k], &oom);
		d->first = dup_or_null(s->first, &oom);
		if (s->client_key != NULL)
			d->client_key = tok_key_ref(s->client_key);
		dst->up[dst->n++] = d;
	}
	if (oom) {
		fed_up_free(dst);
		return YH_ERR_ALLOC;
	}
	return 0;
}
