/*
 * GET and POST /authorize: the authorization code flow's front door. The rules are at
 * the top of authd/oidc/authorize.h; this file reads the parameters, decides
 * (oidc_az_decide, testable without HTTP) and answers with a page or a redirect.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "authcore/clients/clients.h"
#include "authd/oidc/consent.h"
#include "authd/login/login.h"
#include "authd/oidc/oidc.h"
#include "authd/oidc/authorize.h"
#include "authd/ui/csrf.h"
#include "authd/ui/pages.h"
#include "authd/ui/templates_gen.h"
#include "authd/app.h"
#include "authd/keyd/keys.h"
#include "authd/session/sess.h"
#include "common/b64.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/timeutil.h"
#include "common/utf8.h"
#include "identity/dir/dir.h"

/*
 * consent_granted lives in consent.c (the account family). The reference is weak so that
 * a program linking this file without the consent records (a unit test) still links;
 * then consent is asked only for prompt=consent. authd links consent.c.
 */
#pragma weak consent_granted

#define AZ_REAUTH_WINDOW 600          /* seconds a yh_reauth marker is honoured */
#define AZ_MARK_SIZE OIDC_MARK_SIZE
#define AZ_MARK_MSG_MAX 16384         /* bytes MAC'd: the forwarded parameters fit */
#define AZ_MARK_KEY_LABEL "yihao/reauth/v1"
#define AZ_MAX_AGE_MAX 1000000000ull  /* largest max_age accepted, seconds */
#define AZ_LOCATION_MAX 16384         /* bytes of a redirect we build */
#define AZ_S256_LEN 43                /* base64url of a SHA-256 digest */

static const struct {
	const char *name;
	size_t max;
	bool forward;                 /* carried in `next` when the flow detours */
} az_params[OIDC_AZ_PARAM_COUNT] = {
	[OIDC_AZ_RESPONSE_TYPE] = { "response_type", 64, true },
	[OIDC_AZ_CLIENT_ID] = { "client_id", CLIENTS_ID_MAX, true },
	[OIDC_AZ_REDIRECT_URI] = { "redirect_uri", CLIENTS_URI_MAX, true },
	[OIDC_AZ_SCOPE] = { "scope", OIDC_SCOPE_MAX, true },
	[OIDC_AZ_STATE] = { "state", OIDC_NONCE_MAX, true },
	[OIDC_AZ_NONCE] = { "nonce", OIDC_NONCE_MAX, true },
	[OIDC_AZ_PROMPT] = { "prompt", 64, true },
	[OIDC_AZ_MAX_AGE] = { "max_age", 20, true },
	[OIDC_AZ_ACR_VALUES] = { "acr_values", 256, true },
	[OIDC_AZ_LOGIN_HINT] = { "login_hint", 256, true },
	[OIDC_AZ_UI_LOCALES] = { "ui_locales", 64, true },
	[OIDC_AZ_CODE_CHALLENGE] = { "code_challenge", OIDC_CHALLENGE_MAX, true },
	[OIDC_AZ_CODE_CHALLENGE_METHOD] = { "code_challenge_method", 16, true },
	[OIDC_AZ_RESPONSE_MODE] = { "response_mode", 32, true },
	[OIDC_AZ_DISPLAY] = { "display", 16, true },
	[OIDC_AZ_CLAIMS_LOCALES] = { "claims_locales", 64, true },
	[OIDC_AZ_REAUTH] = { "yh_reauth", AZ_MARK_SIZE - 1, false },
	[OIDC_AZ_REQUEST] = { "request", 16384, false },
	[OIDC_AZ_REQUEST_URI] = { "request_uri", 2048, false },
	[OIDC_AZ_REGISTRATION] = { "registration", 16384, false },
	[OIDC_AZ_ID_TOKEN_HINT] = { "id_token_hint", 16384, false },
	[OIDC_AZ_CLAIMS] = { "claims", 16384, false },
	[OIDC_AZ_ORG_HINT] = { "org_hint", 64, true },
	[OIDC_AZ_ORG] = { "org", 64, false },
	[OIDC_AZ_IDP_HINT] = { "idp_hint", FED_UP_NAME_MAX, true },
	[OIDC_AZ_CERTORG] = { "yh_certorg", SESS_OTC_MAX, true },
};

const char *
oidc_az_param_name(enum oidc_az_param i)
{
	return (unsigned)i < OIDC_AZ_PARAM_COUNT ? az_params[i].name : "?";
}

size_t
oidc_az_param_max(enum oidc_az_param i)
{
	return (unsigned)i < OIDC_AZ_PARAM_COUNT ? az_params[i].max : 0;
}

/* ---- reading the parameters ------------------------------------------------------ */

typedef int (*az_get_fn)(void *ctx, const char *name, size_t max, char **out);

static int
az_params_read(struct oidc_az_params *p, az_get_fn get, void *ctx)
{
	memset(p, 0, sizeof(*p));
	for (unsigned i = 0; i < OIDC_AZ_PARAM_COUNT; i++) {
		int r = get(ctx, az_params[i].name, az_params[i].max, &p->v[i]);

		if (r == YH_ERR_ALLOC) {
			oidc_az_params_clear(p);
			return r;
		}
		if (r != 0) {
			free(p->v[i]);
			p->v[i] = NULL;
		}
		p->err[i] = r;
	}
	return 0;
}

static int
get_text(void *ctx, const char *name, size_t max, char **out)
{
	return http_form_get(*(struct yh_span *)ctx, name, max, out);
}

int
oidc_az_params_parse(struct yh_span text, struct oidc_az_params *p)
{
	return az_params_read(p, get_text, &text);
}

static int
get_query(void *ctx, const char *name, size_t max, char **out)
{
	const char *v;
	int r;

	*out = NULL;
	if ((r = http_req_query(ctx, name, max, &v)) != 0)
		return r;
	return (*out = strdup(v)) != NULL ? 0 : YH_ERR_ALLOC;
}

static int
get_form(void *ctx, const char *name, size_t max, char **out)
{
	return http_req_form(ctx, name, max, out);
}

int
oidc_req_param(struct http_req *req, bool post, const char *name, size_t max, char **out)
{
	return post ? get_form(req, name, max, out) : get_query(req, name, max, out);
}

int
oidc_az_params_read(struct http_req *req, bool post, struct oidc_az_params *p)
{
	return az_params_read(p, post ? get_form : get_query, req);
}

void
oidc_az_params_clear(struct oidc_az_params *p)
{
	if (p == NULL)
		return;
	for (unsigned i = 0; i < OIDC_AZ_PARAM_COUNT; i++)
		free(p->v[i]);
	memset(p, 0, sizeof(*p));
}

void
oidc_az_result_clear(struct oidc_az_result *r)
{
	if (r == NULL)
		return;
	free(r->location);
	oidc_org_choices_free(r->orgs, r->norgs);
	yh_wipe(r->sess_key, sizeof(r->sess_key));
	yh_wipe(r->pushed_uri, sizeof(r->pushed_uri));
	memset(r, 0, sizeof(*r));
}

/* ---- building redirects ---------------------------------------------------------- */

int
oidc_az_error_location(const char *redirect_uri, const char *error,
    const char *description, const char *state, const char *iss, char **out)
{
	struct yh_buf b;
	int r;

	*out = NULL;
	yh_buf_init(&b, AZ_LOCATION_MAX);
	if ((r = yh_buf_puts(&b, redirect_uri)) == 0 &&
	    (r = oidc_url_param(&b, "error", error)) == 0 &&
	    (r = oidc_url_param(&b, "error_description", description)) == 0 &&
	    (r = oidc_url_param(&b, "state", state)) == 0 &&
	    (r = oidc_url_param(&b, "iss", iss)) == 0 &&
	    (*out = yh_buf_steal(&b)) == NULL)
		r = YH_ERR_ALLOC;
	yh_buf_free(&b);
	return r;
}

/*
 * "/authorize?<the request's forwarded parameters>&yh_reauth=<mark>", or with the
 * request's own marker when mark is NULL.
 */
static int
next_url(const struct oidc_az_params *p, const char *mark, const char *certorg, char **out)
{
	struct yh_buf b;
	int r = 0;

	*out = NULL;
	yh_buf_init(&b, PAGE_NEXT_MAX);
	if ((r = yh_buf_puts(&b, "/authorize")) != 0)
		goto out;
	for (unsigned i = 0; i < OIDC_AZ_PARAM_COUNT; i++) {
		if (!az_params[i].forward)
			continue;
		if ((r = oidc_url_param(&b, az_params[i].name,
		    i == OIDC_AZ_CERTORG && certorg != NULL ? certorg : p->v[i])) != 0)
			goto out;
	}
	r = oidc_url_param(&b, az_params[OIDC_AZ_REAUTH].name,
	    mark != NULL ? mark : p->v[OIDC_AZ_REAUTH]);
	if (r == 0 && (*out = yh_buf_steal(&b)) == NULL)
		r = YH_ERR_ALLOC;
out:
	yh_buf_free(&b);
	return r;
}

/* "<page>?next=<next>[&force=1][&loa=N][&login_hint=..][&ui_locales=..]" */
static int
detour_location(const struct oidc_az_params *p, const char *page, const char *next,
    bool force, int loa, bool hint, char **out)
{
	struct yh_buf b;
	char n[8];
	int r;

	*out = NULL;
	yh_buf_init(&b, AZ_LOCATION_MAX);
	snprintf(n, sizeof(n), "%d", loa);
	if ((r = yh_buf_puts(&b, page)) == 0 &&
	    (r = oidc_url_param(&b, "next", next)) == 0 &&
	    (r = oidc_url_param(&b, "force", force ? "1" : NULL)) == 0 &&
	    (r = oidc_url_param(&b, "loa", loa > 0 ? n : NULL)) == 0 &&
	    (r = oidc_url_param(&b, "login_hint", hint ? p->v[OIDC_AZ_LOGIN_HINT] : NULL)) == 0 &&
	    (r = oidc_url_param(&b, "ui_locales", p->v[OIDC_AZ_UI_LOCALES])) == 0 &&
	    (*out = yh_buf_steal(&b)) == NULL)
		r = YH_ERR_ALLOC;
	yh_buf_free(&b);
	return r;
}

/* ---- the decision ---------------------------------------------------------------- */

/* A request being decided. */
struct az_ctx {
	struct authd_app *app;
	const struct oidc_az_params *p;
	struct oidc_az_result *res;
	const struct clients_client *client;
	int64_t now;
	unsigned granted;             /* CLIENTS_SCOPE_* bits */
	bool prompt_none, prompt_login, prompt_consent, prompt_select;
	bool has_max_age;
	uint64_t max_age;
	int acr_loa;                  /* lowest level named in acr_values; 0 none */
	int64_t reauth;               /* the time of the request's yh_reauth marker (its
	                               * MAC is checked on use), or 0 */
	const char *sid;              /* the live session's public id, or "" */
	const char *browser;          /* p->browser of the browser's request, or NULL */
	const char *certorg;          /* a yh_certorg code to put in next, or NULL */
};

static void
az_page(struct az_ctx *z, const char *error, const char *desc, enum page_msg msg)
{
	z->res->step = OIDC_AZ_STEP_PAGE;
	z->res->status = 400;
	z->res->error = error;
	z->res->description = desc;
	z->res->msg = msg;
	yh_debug("authorize: error page: %s (%s)", error, desc);
}

static int
az_error(struct az_ctx *z, const char *error, const char *desc)
{
	z->res->step = OIDC_AZ_STEP_ERROR;
	z->res->status = 302;
	z->res->error = error;
	z->res->description = desc;
	yh_debug("authorize: client %s: %s (%s)", z->client->id, error, desc);
	return oidc_az_error_location(z->p->v[OIDC_AZ_REDIRECT_URI], error, desc,
	    z->p->v[OIDC_AZ_STATE], z->app->issuer, &z->res->location);
}

/* ---- the re-authentication marker (rule 3 in the header) ---------------------------- */

/* What a marker's MAC covers: the label, ts and sid, each with a NUL after it, then for
 * every forwarded parameter in table order '0' (absent) or '1' and its value, and a NUL
 * (values hold no NUL). Appended to b. */
static int
az_mark_msg(const struct az_ctx *z, const char *ts, const char *sid, struct yh_buf *b)
{
	int r = yh_buf_append(b, AZ_MARK_KEY_LABEL, sizeof(AZ_MARK_KEY_LABEL));

	if (r == 0)
		r = yh_buf_append(b, ts, strlen(ts) + 1);
	if (r == 0)
		r = yh_buf_append(b, sid, strlen(sid) + 1);
	for (unsigned i = 0; r == 0 && i < OIDC_AZ_PARAM_COUNT; i++) {
		const char *v = z->p->v[i] != NULL ? z->p->v[i] : "";

		if (!az_params[i].forward)
			continue;
		if ((r = yh_buf_putc(b, z->p->v[i] != NULL ? '1' : '0')) == 0)
			r = yh_buf_append(b, v, strlen(v) + 1);
	}
	return r;
}

int
oidc_mark_seal(const struct keys *keys, const char *ts, const struct yh_buf *msg,
    char out[OIDC_MARK_SIZE])
{
	unsigned char mac[KEYS_MAC_LEN];
	char enc[48];
	int r;

	out[0] = '\0';
	if ((r = keys_mac(keys, KEYS_MAC_REAUTH, msg->data, msg->len, mac)) == 0) {
		yh_b64url_encode(mac, sizeof(mac), enc);
		snprintf(out, OIDC_MARK_SIZE, "%s.%s", ts, enc);
	}
	yh_wipe(mac, sizeof(mac));
	return r;
}

/*
 * The marker that lets this request, resumed after a login that /authorize sent it to
 * at time t, count that login as its re-authentication, bound to this browser (or,
 * without its pre-session cookie, to the session sid: csrf_mark_binding):
 * "<t>.<base64url(HMAC-SHA256(K,
 * az_mark_msg))>" into out, with K = HMAC-SHA256(subject_key, AZ_MARK_KEY_LABEL):
 * keys_mac(KEYS_MAC_REAUTH). Returns 0, YH_ERR_DENIED (neither a sid nor this browser's
 * cookie to bind it to), YH_ERR_TOO_LONG, YH_ERR_CRYPTO.
 */
static int
az_mark_make(const struct az_ctx *z, int64_t t, const char *sid, char out[AZ_MARK_SIZE])
{
	char ts[24], bind[CSRF_MARK_BINDING_SIZE];
	struct yh_buf b;
	int r;

	out[0] = '\0';
	if (!csrf_mark_binding(sid, z->browser, bind))   /* this browser, or sid without its cookie */
		return YH_ERR_DENIED;
	snprintf(ts, sizeof(ts), "%lld", (long long)t);
	yh_buf_init(&b, AZ_MARK_MSG_MAX);
	if ((r = az_mark_msg(z, ts, bind, &b)) == 0)
		r = oidc_mark_seal(z->app->keys, ts, &b, out);
	yh_buf_free(&b);
	return r;
}

/* True when the request's marker, made for sid, is the one az_mark_make gives. */
static bool
az_mark_matches(const struct az_ctx *z, const char *sid)
{
	char want[AZ_MARK_SIZE];
	bool ok;

	ok = az_mark_make(z, z->reauth, sid, want) == 0 &&
	    yh_ct_streq(z->p->v[OIDC_AZ_REAUTH], want);
	yh_wipe(want, sizeof(want));
	return ok;
}

/*
 * True when the session si logged in after /authorize sent this very request to the
 * login page: the marker is authentic for this request and this browser (its
 * pre-session cookie, csrf_mark_binding: a marker made in another browser counts for
 * nothing), not stale, and si authenticated at or after it, in the session the detour
 * was made from or in a new one (another person logged in, or there was none).
 */
static bool
az_mark_honoured(const struct az_ctx *z, const struct sess_info *si)
{
	return z->reauth > 0 && si->auth_time >= z->reauth && az_mark_matches(z, si->sid);
}

/* ---- pushed requests ----------------------------------------------------------------- */

/* The forwarded parameters of p as form text ("name=value&..."), into *out (malloc'd). */
static int
az_params_encode(const struct oidc_az_params *p, char **out)
{
	struct yh_buf b;
	int r = 0;

	*out = NULL;
	yh_buf_init(&b, SESS_PAYLOAD_MAX);
	for (unsigned i = 0; r == 0 && i < OIDC_AZ_PARAM_COUNT; i++)
		if (az_params[i].forward)
			r = oidc_url_param(&b, az_params[i].name, p->v[i]);
	/* oidc_url_param starts with '?' or '&': the stored text goes without it */
	if (r == 0 && b.len > 0 && (*out = strdup((const char *)b.data + 1)) == NULL)
		r = YH_ERR_ALLOC;
	if (r == 0 && b.len == 0 && (*out = strdup("")) == NULL)
		r = YH_ERR_ALLOC;
	yh_buf_free(&b);
	return r;
}

int
oidc_par_store(struct authd_app *app, const struct oidc_az_params *p, int64_t ttl_s,
    char uri[OIDC_PAR_URI_SIZE])
{
	char token[SESS_TOKEN_SIZE];
	char *text = NULL;
	int r;

	uri[0] = '\0';
	if (p->v[OIDC_AZ_CLIENT_ID] == NULL)
		return YH_ERR_INVALID;
	if ((r = az_params_encode(p, &text)) == 0 &&
	    (r = sess_par_new(app->sess, p->v[OIDC_AZ_CLIENT_ID], text, ttl_s, token)) == 0)
		snprintf(uri, OIDC_PAR_URI_SIZE, "%s%s", OIDC_PAR_URN, token);
	yh_wipe(token, sizeof(token));
	yh_strfree_secret(text);
	return r;
}

/*
 * next for a pushed request: the request stored again (for as long as a detour may take)
 * and "/authorize?client_id=..&request_uri=..&yh_reauth=<mark>", so that the resumed
 * request is a pushed one too and its parameters stay out of the browser's URLs. The
 * consent page reads client_id, redirect_uri, scope and state out of next and takes
 * consent out of prompt before it sends the browser on: those go along (they are no
 * secret), and the request is stored with consent already out of its prompt (the
 * browser comes back to it only through the consent page's form).
 */
static int
pushed_next(struct az_ctx *z, const char *mark, bool consent, char **out)
{
	struct oidc_az_params q = *z->p;
	char uri[OIDC_PAR_URI_SIZE], prompt[64];
	struct yh_buf b;
	int r;

	*out = NULL;
	if (consent && z->prompt_consent) {  /* prompt's other words (none excludes it) */
		snprintf(prompt, sizeof(prompt), "%s%s%s", z->prompt_login ? "login" : "",
		    z->prompt_login && z->prompt_select ? " " : "",
		    z->prompt_select ? "select_account" : "");
		q.v[OIDC_AZ_PROMPT] = prompt[0] != '\0' ? prompt : NULL;
	}
	yh_buf_init(&b, PAGE_NEXT_MAX);
	if ((r = oidc_par_store(z->app, &q, SESS_PAR_TTL_MAX, uri)) != 0 ||
	    (r = yh_buf_puts(&b, "/authorize")) != 0 ||
	    (r = oidc_url_param(&b, "client_id", z->p->v[OIDC_AZ_CLIENT_ID])) != 0 ||
	    (r = oidc_url_param(&b, "request_uri", uri)) != 0)
		goto out;
	if (consent && ((r = oidc_url_param(&b, "redirect_uri", z->p->v[OIDC_AZ_REDIRECT_URI])) != 0 ||
	    (r = oidc_url_param(&b, "scope", z->p->v[OIDC_AZ_SCOPE])) != 0 ||
	    (r = oidc_url_param(&b, "state", z->p->v[OIDC_AZ_STATE])) != 0))
		goto out;
	if ((r = oidc_url_param(&b, az_params[OIDC_AZ_REAUTH].name,
	    mark != NULL ? mark : z->p->v[OIDC_AZ_REAUTH])) == 0 &&
	    (*out = yh_buf_steal(&b)) == NULL)
		r = YH_ERR_ALLOC;
out:
	yh_wipe(uri, sizeof(uri));
	yh_buf_free(&b);
	return r;
}

/* A detour to /login, /login/totp or /consent; a next too long is invalid_request. */
static int
az_detour(struct az_ctx *z, enum oidc_az_step step, bool force, int loa)
{
	static const char *const pages[] = {
		[OIDC_AZ_STEP_LOGIN] = "/login",
		[OIDC_AZ_STEP_STEPUP] = "/login/totp",
		[OIDC_AZ_STEP_CONSENT] = "/consent",
	};
	char mark[AZ_MARK_SIZE], upstream[sizeof(LOGIN_UPSTREAM_PATH) + FED_UP_NAME_MAX];
	const char *page = pages[step], *hint = z->p->v[OIDC_AZ_IDP_HINT];
	const struct fed_up_cfg *u;
	char *next = NULL;
	int r = 0;

	/* idp_hint naming an upstream: straight there. */
	if (step == OIDC_AZ_STEP_LOGIN && hint != NULL &&
	    (u = fed_up_find(&z->app->cfg->upstreams, hint)) != NULL) {
		snprintf(upstream, sizeof(upstream), LOGIN_UPSTREAM_PATH "%s", u->name);
		page = upstream;
	}
	/* Every detour to /login marks next, so the login it leads to satisfies
	 * prompt=login and max_age when the request resumes. */
	if (step == OIDC_AZ_STEP_LOGIN)
		r = az_mark_make(z, z->now, z->sid, mark);
	if (r == 0 && z->p->pushed)
		r = pushed_next(z, step == OIDC_AZ_STEP_LOGIN ? mark : NULL,
		    step == OIDC_AZ_STEP_CONSENT, &next);
	else if (r == 0)
		r = next_url(z->p, step == OIDC_AZ_STEP_LOGIN ? mark : NULL, z->certorg, &next);
	if (r == YH_ERR_TOO_LONG)
		return az_error(z, "invalid_request", "the request is too large");
	if (r == 0)
		r = detour_location(z->p, page, next, force, loa,
		    step == OIDC_AZ_STEP_LOGIN && !z->p->pushed, &z->res->location);
	free(next);
	if (r == YH_ERR_TOO_LONG)
		return az_error(z, "invalid_request", "the request is too large");
	if (r != 0)
		return r;
	z->res->step = step;
	z->res->status = 302;
	z->res->loa = loa;
	return 0;
}

/* Rule 1: the client and its redirect URI. True when a page was decided instead. */
static bool
az_check_client(struct az_ctx *z, const struct clients_snap *cs)
{
	const struct oidc_az_params *p = z->p;

	if (p->err[OIDC_AZ_CLIENT_ID] != 0) {
		az_page(z, "invalid_request", "client_id is missing, repeated or malformed",
		    PAGE_MSG_AZ_CLIENT_ID);
		return true;
	}
	if ((z->client = clients_find(cs, p->v[OIDC_AZ_CLIENT_ID])) == NULL) {
		az_page(z, "invalid_client", "unknown client_id", PAGE_MSG_AZ_UNKNOWN_CLIENT);
		return true;
	}
	if (z->client->disabled) {
		az_page(z, "unauthorized_client", "the client is disabled",
		    PAGE_MSG_AZ_CLIENT_DISABLED);
		z->res->status = 403;
		return true;
	}
	if (p->err[OIDC_AZ_REDIRECT_URI] != 0) {
		az_page(z, "invalid_request", "redirect_uri is missing, repeated or malformed",
		    PAGE_MSG_AZ_REDIRECT_URI);
		return true;
	}
	if (!clients_redirect_ok(z->client, p->v[OIDC_AZ_REDIRECT_URI])) {
		az_page(z, "invalid_request", "redirect_uri is not registered for this client",
		    PAGE_MSG_AZ_REDIRECT_UNREGISTERED);
		return true;
	}
	return false;
}

/*
 * A request by reference (RFC 9126 4): the request pushed under request_uri, taken once
 * for the client client_id names, into *in. Parameters the browser's request also has
 * are ignored, except the internal ones (yh_reauth and the choice page's org), which are
 * never part of a pushed request. Sets *decided when a page was decided instead: a
 * client_id missing or unknown (as rule 1), or a request_uri unknown, malformed,
 * expired, used before or pushed by another client (invalid_request_uri: there is no
 * redirect URI to trust). Returns 0 or an error of the store.
 */
static int
az_pushed_take(struct az_ctx *z, const struct clients_snap *cs, struct oidc_az_params *in,
    bool *decided)
{
	static const enum oidc_az_param internal[] = { OIDC_AZ_REAUTH, OIDC_AZ_ORG };
	const struct oidc_az_params *p = z->p;
	const char *uri = p->v[OIDC_AZ_REQUEST_URI];
	size_t ul = strlen(OIDC_PAR_URN);
	char *payload = NULL;
	int r = YH_ERR_NOT_FOUND;

	*decided = true;
	if (p->err[OIDC_AZ_CLIENT_ID] != 0 || clients_find(cs, p->v[OIDC_AZ_CLIENT_ID]) == NULL)
		return (az_check_client(z, cs), 0);
	if (uri != NULL && strncmp(uri, OIDC_PAR_URN, ul) == 0)
		r = sess_par_take(z->app->sess, p->v[OIDC_AZ_CLIENT_ID], uri + ul, &payload);
	if (r == 0)
		r = oidc_az_params_parse(yh_span_cstr(payload), in);
	yh_strfree_secret(payload);
	if (r == 0 && (in->v[OIDC_AZ_CLIENT_ID] == NULL ||
	    strcmp(in->v[OIDC_AZ_CLIENT_ID], p->v[OIDC_AZ_CLIENT_ID]) != 0))
		r = YH_ERR_NOT_FOUND;
	if (r == YH_ERR_NOT_FOUND || r == YH_ERR_INVALID) {
		az_page(z, "invalid_request_uri", "request_uri is unknown, expired, used or "
		    "another client's", PAGE_MSG_AZ_REQUEST_URI);
		return 0;
	}
	if (r != 0)
		return r;
	for (size_t i = 0; i < sizeof(internal) / sizeof(internal[0]); i++) {
		in->err[internal[i]] = p->err[internal[i]];
		if (p->v[internal[i]] != NULL &&
		    (in->v[internal[i]] = strdup(p->v[internal[i]])) == NULL)
			return YH_ERR_ALLOC;
	}
	in->org_confirmed = p->org_confirmed;
	in->pushed = true;
	*decided = false;
	return 0;
}

/* The first parameter that was repeated, too long or malformed, or NULL. */
static const char *
az_bad_param(const struct oidc_az_params *p)
{
	for (unsigned i = 0; i < OIDC_AZ_PARAM_COUNT; i++) {
		if (p->err[i] != 0 && p->err[i] != YH_ERR_NOT_FOUND)
			return az_params[i].name;
	}
	return NULL;
}

static int
az_parse_prompt(struct az_ctx *z, const char *prompt)
{
	struct yh_span s = yh_span_cstr(prompt), tok;
	unsigned n = 0;

	if (prompt == NULL)
		return 0;
	while (yh_span_split(&s, ' ', &tok) == 0) {
		if (tok.len == 0)
			continue;
		n++;
		if (yh_span_eq(tok, "none"))
			z->prompt_none = true;
		else if (yh_span_eq(tok, "login"))
			z->prompt_login = true;
		else if (yh_span_eq(tok, "consent"))
			z->prompt_consent = true;
		else if (yh_span_eq(tok, "select_account"))
			z->prompt_select = true;
		else
			return YH_ERR_INVALID;
	}
	if (z->prompt_none && n > 1)
		return YH_ERR_INVALID;
	return 0;
}

static bool
challenge_ok(const char *c)
{
	unsigned char d[32];
	size_t n = 0;

	return strlen(c) == AZ_S256_LEN &&
	    yh_b64url_decode(c, AZ_S256_LEN, d, sizeof(d), &n) == 0 && n == sizeof(d);
}

/* Rule 2 from the PKCE parameters. NULL when they are fine, else the description. */
static const char *
az_check_pkce(const struct az_ctx *z)
{
	const char *ch = z->p->v[OIDC_AZ_CODE_CHALLENGE];
	const char *m = z->p->v[OIDC_AZ_CODE_CHALLENGE_METHOD];

	if (m != NULL && strcmp(m, "S256") != 0)
		return "code_challenge_method must be S256 (plain is not accepted)";
	if (ch == NULL && m != NULL)
		return "code_challenge_method without code_challenge";
	if (ch != NULL && m == NULL)
		return "code_challenge_method S256 is required with code_challenge";
	if (ch != NULL && !challenge_ok(ch))
		return "code_challenge must be 43 base64url characters (S256)";
	if (ch == NULL && (z->client->auth == CLIENTS_AUTH_NONE || z->client->require_pkce))
		return "PKCE with code_challenge_method S256 is required for this client";
	return NULL;
}

/* Sets *desc and returns error (for az_check_request). */
static const char *
az_fail(const char **desc, const char *error, const char *description)
{
	*desc = description;
	return error;
}

/*
 * Rule 2: the first error that goes back to the redirect URI, as an OAuth error code
 * and a description (static strings); NULL when the request is fine. Also fills the
 * parsed fields of z.
 */
static const char *
az_check_request(struct az_ctx *z, const char **desc)
{
	const struct oidc_az_params *p = z->p;
	const char *why;

	*desc = NULL;
	if (p->err[OIDC_AZ_REQUEST] != YH_ERR_NOT_FOUND)
		return az_fail(desc, "request_not_supported", "request objects are not supported");
	if (p->err[OIDC_AZ_REQUEST_URI] != YH_ERR_NOT_FOUND)
		return az_fail(desc, "request_uri_not_supported", "request_uri is not supported");
	if (p->err[OIDC_AZ_REGISTRATION] != YH_ERR_NOT_FOUND)
		return az_fail(desc, "registration_not_supported",
		    "the registration parameter is not supported");
	if (az_bad_param(p) != NULL)
		return az_fail(desc, "invalid_request", "a parameter is repeated, too long or malformed");
	if (p->v[OIDC_AZ_RESPONSE_TYPE] == NULL)
		return az_fail(desc, "invalid_request", "response_type is missing");
	if (strcmp(p->v[OIDC_AZ_RESPONSE_TYPE], "code") != 0)
		return az_fail(desc, "unsupported_response_type", "only response_type=code is supported");
	if (!clients_grant_ok(z->client, CLIENTS_GRANT_AUTHORIZATION_CODE))
		return az_fail(desc, "unauthorized_client",
		    "the client may not use the authorization code grant");
	if (p->v[OIDC_AZ_RESPONSE_MODE] != NULL &&
	    strcmp(p->v[OIDC_AZ_RESPONSE_MODE], "query") != 0)
		return az_fail(desc, "invalid_request", "only response_mode=query is supported");
	if (oidc_scope_grant(z->client, p->v[OIDC_AZ_SCOPE], &z->granted) != 0 ||
	    (z->granted & CLIENTS_SCOPE_OPENID) == 0)
		return az_fail(desc, "invalid_scope",
		    "the scope must include openid, allowed for this client");
	if (az_parse_prompt(z, p->v[OIDC_AZ_PROMPT]) != 0)
		return az_fail(desc, "invalid_request",
		    "prompt has an unknown value, or none with another value");
	if (p->v[OIDC_AZ_MAX_AGE] != NULL) {
		if (yh_parse_u64(p->v[OIDC_AZ_MAX_AGE], 0, AZ_MAX_AGE_MAX, &z->max_age) != 0)
			return az_fail(desc, "invalid_request", "max_age is not a number of seconds");
		z->has_max_age = true;
	}
	if (oidc_acr_values_min(p->v[OIDC_AZ_ACR_VALUES], &z->acr_loa) != 0)
		return az_fail(desc, "invalid_request", "acr_values is malformed");
	if ((why = az_check_pkce(z)) != NULL)
		return az_fail(desc, "invalid_request", why);
	if (p->v[OIDC_AZ_NONCE] != NULL && !yh_utf8_valid(p->v[OIDC_AZ_NONCE], strlen(p->v[OIDC_AZ_NONCE])))
		return az_fail(desc, "invalid_request", "nonce is not UTF-8 text");
	if (p->v[OIDC_AZ_REAUTH] != NULL) {
		struct yh_span rest = yh_span_cstr(p->v[OIDC_AZ_REAUTH]), ts;
		uint64_t t;

		/* only the time here; the MAC is checked against the session on use */
		if (yh_span_split(&rest, '.', &ts) == 0 && rest.p != NULL &&
		    yh_span_u64(ts, 1, (uint64_t)z->now, &t) == 0 &&
		    z->now - (int64_t)t <= AZ_REAUTH_WINDOW)
			z->reauth = (int64_t)t;
	}
	return NULL;
}

/* Rule 3: does the session's authentication need renewing? */
static bool
az_reauth_needed(const struct az_ctx *z, const struct sess_info *si)
{
	bool need = z->prompt_login || (z->has_max_age &&
	    !login_auth_fresh(si, z->now, (int64_t)z->max_age, 0));

	if (need && az_mark_honoured(z, si))
		need = false;
	return need;
}

static bool
sess_has_amr(const struct sess_info *si, const char *m)
{
	for (size_t i = 0; i < si->namr && i < SESS_AMR_MAX; i++) {
		if (strcmp(si->amr[i], m) == 0)
			return true;
	}
	return false;
}

int
oidc_az_can_step_up(struct authd_app *app, const struct sess_info *si, int person_loa,
    int loa, bool *can)
{
	struct dir_totp t;
	int r;

	*can = false;
	if (sess_has_amr(si, "otp") || oidc_loa_for(person_loa, OIDC_AMR_PWD | OIDC_AMR_OTP) < loa)
		return 0;
	memset(&t, 0, sizeof(t));
	r = dir_totp_get(app->dir, si->uid, &t);
	if (r == 0)
		*can = t.confirmed;
	dir_totp_clear(&t);
	return r == YH_ERR_NOT_FOUND ? 0 : r;
}

int
oidc_az_session(struct authd_app *app, const char *cookie, struct sess_info *si,
    bool *have, int *person_loa)
{
	struct dir_person pe;
	int r;

	*have = false;
	*person_loa = 0;
	if (cookie == NULL || cookie[0] == '\0')
		return 0;
	r = sess_get(app->sess, cookie, SESS_TOUCH, si);
	if (r == YH_ERR_NOT_FOUND || r == YH_ERR_EXPIRED)
		return 0;
	if (r != 0)
		return r;
	/* Status and level only: nothing sealed is opened on the authorization's path. */
	r = dir_person_get_opened(app->dir, si->uid, 0, &pe);
	if (r == 0 && pe.status == DIR_STATUS_ACTIVE) {
		*have = true;
		*person_loa = pe.loa.level;
	}
	dir_person_clear(&pe);
	return r == YH_ERR_NOT_FOUND ? 0 : r;
}

/* Rule 5. */
static int
az_consent_needed(struct az_ctx *z, const struct sess_info *si, const char *scope,
    bool *need)
{
	bool granted = false;
	int r;

	*need = z->prompt_consent;
	if (*need || consent_granted == NULL)
		return 0;
	if ((r = consent_granted(z->app, si->uid, z->client->id, scope, &granted)) != 0)
		return r;
	*need = !granted;
	return 0;
}

/* What rule 5b decided: act as the person (org NULL) or for an organization. */
struct az_org {
	const char *org;              /* credit code, or NULL */
	const char *role;             /* with org: DIR_ROLE_* */
};

/* Rule 5b's page: the choices move into the result, with the session's key for the
 * form's CSRF token. */
static int
az_org_page(struct az_ctx *z, const struct sess_info *si, struct oidc_org_choice **orgs,
    size_t *n, const struct oidc_org_choice *hint)
{
	if (z->prompt_none)
		return az_error(z, "account_selection_required",
		    "the user must choose whom to act for");
	z->res->step = OIDC_AZ_STEP_ORG;
	z->res->status = 200;
	z->res->orgs = *orgs;
	z->res->norgs = *n;
	*orgs = NULL;
	*n = 0;
	if (hint != NULL)
		memcpy(z->res->org_selected, hint->uscc, sizeof(z->res->org_selected));
	memcpy(z->res->sess_key, si->key, sizeof(z->res->sess_key));
	if (z->p->pushed)
		return oidc_par_store(z->app, z->p, SESS_PAR_TTL_MAX, z->res->pushed_uri);
	return 0;
}

/*
 * Rule 5b. Returns 0 with *decided true when a page or an error was set, false when
 * the code may be issued with *out (its strings point into *orgs, freed by the caller).
 */
static int
az_org_decide(struct az_ctx *z, const struct sess_info *si, struct oidc_org_choice **orgs,
    size_t *n, struct az_org *out, bool *decided)
{
	const struct oidc_az_params *p = z->p;
	const struct oidc_org_choice *c;
	int r;

	*decided = false;
	memset(out, 0, sizeof(*out));
	if ((z->granted & CLIENTS_SCOPE_ORG) == 0)
		return 0;
	if ((r = oidc_org_choices(z->app->dir, si->uid, z->now, orgs, n)) != 0)
		return r;
	if (p->org_confirmed && p->v[OIDC_AZ_ORG] != NULL) {
		if (strcmp(p->v[OIDC_AZ_ORG], OIDC_AZ_ORG_SELF) == 0)
			return 0;
		if ((c = oidc_org_choice_find(*orgs, *n, p->v[OIDC_AZ_ORG])) == NULL) {
			*decided = true;
			az_page(z, "access_denied", "the organization chosen is not one the user "
			    "may act for", PAGE_MSG_AZ_ORG_REFUSED);
			z->res->status = 403;
			return 0;
		}
		out->org = c->uscc;
		out->role = c->role;
		return 0;
	}
	if (*n == 0)
		return 0;
	c = oidc_org_choice_find(*orgs, *n, p->v[OIDC_AZ_ORG_HINT]);
	if (c != NULL && !z->prompt_select) {
		out->org = c->uscc;
		out->role = c->role;
		return 0;
	}
	*decided = true;
	return az_org_page(z, si, orgs, n, c);
}

/* Rule 6: the code, the client recorded, the redirect. */
static int
az_issue_code(struct az_ctx *z, const struct sess_info *si, const char *scope,
    const struct az_org *org)
{
	struct oidc_grant g;
	char code[SESS_TOKEN_SIZE];
	char *payload = NULL;
	struct yh_buf b;
	int r;

	memset(&g, 0, sizeof(g));
	g.client_id = z->client->id;
	g.redirect_uri = z->p->v[OIDC_AZ_REDIRECT_URI];
	g.uid = si->uid;
	g.sid = si->sid;
	g.scope = scope;
	g.nonce = z->p->v[OIDC_AZ_NONCE];
	g.code_challenge = z->p->v[OIDC_AZ_CODE_CHALLENGE];
	g.code_challenge_method = g.code_challenge != NULL ? "S256" : NULL;
	g.auth_time = si->auth_time;
	g.loa = si->loa;
	g.org = org->org;
	g.org_role = org->role;
	for (size_t i = 0; i < si->namr && i < SESS_AMR_MAX; i++)
		g.amr[g.namr++] = si->amr[i];
	yh_buf_init(&b, AZ_LOCATION_MAX);
	if ((r = oidc_grant_json(&g, &payload)) != 0)
		goto out;
	r = sess_add_client(z->app->sess, si->key, z->client->id);
	if (r == YH_ERR_LIMIT)
		yh_warn("session %s: too many apps to record %s for back-channel logout",
		    si->sid, z->client->id);
	else if (r != 0)
		goto out;
	if ((r = sess_code_new(z->app->sess, z->client->id, payload,
	    oidc_lifetime(z->app, OIDC_LT_CODE), code)) != 0)
		goto out;
	if ((r = yh_buf_puts(&b, g.redirect_uri)) != 0 ||
	    (r = oidc_url_param(&b, "code", code)) != 0 ||
	    (r = oidc_url_param(&b, "state", z->p->v[OIDC_AZ_STATE])) != 0 ||
	    (r = oidc_url_param(&b, "iss", z->app->issuer)) != 0)
		goto out;
	if ((z->res->location = yh_buf_steal(&b)) == NULL) {
		r = YH_ERR_ALLOC;
		goto out;
	}
	z->res->step = OIDC_AZ_STEP_CODE;
	z->res->status = 302;
out:
	yh_wipe(code, sizeof(code));
	free(payload);
	yh_buf_free(&b);
	return r;
}

/* Whether the session si (found, but not a person's: oidc_az_session) is an enterprise
 * certificate's: the organization's own uid and amr x509. *have, and its credit code
 * in uscc, when it is; else uscc is "". */
static int
az_org_session(struct az_ctx *z, const struct sess_info *si, char uscc[OIDC_USCC_SIZE],
    bool *have)
{
	int r;

	uscc[0] = '\0';
	if (si->uid[0] == '\0' || !sess_has_amr(si, "x509"))
		return 0;
	r = oidc_org_self(z->app->dir, si->uid, uscc);
	*have = r == 0;
	return r == YH_ERR_NOT_FOUND ? 0 : r;
}

#define AZ_CERTORG_TTL 600            /* seconds a yh_certorg code waits for the person */
#define AZ_CERTORG_RAW 12             /* random bytes of a code: 16 base64url chars */

/* The store's name of the yh_certorg codes of the browser whose cookie is browser. */
static void
certorg_bind(const char *browser, char *out, size_t outsz)
{
	snprintf(out, outsz, "certorg:%s", browser);
}

/* Rule 5c, require_person: a code holding the organization of si (an enterprise
 * certificate's session), and the browser to /login for the person. */
static int
az_person_detour(struct az_ctx *z, const struct sess_info *si)
{
	unsigned char raw[AZ_CERTORG_RAW];
	char code[SESS_OTC_MAX + 1], bind[CSRF_TOKEN_SIZE + 16], payload[SESS_UID_MAX + 24];
	int r;

	if (z->prompt_none)
		return az_error(z, "login_required", "this app needs the person at the keyboard "
		    "to log in as well");
	if (z->p->pushed)
		return az_error(z, "invalid_request", "this app needs the person to log in after "
		    "an enterprise certificate, which a pushed request cannot carry");
	if (z->browser == NULL || !csrf_cookie_ok(z->browser))
		return az_error(z, "login_required", "no login session in this browser");
	if (strlen(si->uid) != DIR_UID_LEN)
		return YH_ERR_INVALID;
	certorg_bind(z->browser, bind, sizeof(bind));
	snprintf(payload, sizeof(payload), "%s %lld", si->uid, (long long)z->now);
	r = YH_ERR_EXISTS;
	for (int i = 0; i < 2 && r == YH_ERR_EXISTS; i++) {
		if (RAND_bytes(raw, sizeof(raw)) != 1)
			return YH_ERR_CRYPTO;
		yh_b64url_encode(raw, sizeof(raw), code);
		r = sess_otc_put(z->app->sess, code, bind, payload, AZ_CERTORG_TTL);
	}
	if (r != 0)
		return r;
	z->certorg = code;
	r = az_detour(z, OIDC_AZ_STEP_LOGIN, true, 0);
	z->certorg = NULL;
	return r;
}

/*
 * Rule 5c, require_person, back with the person's session si: takes the request's
 * yh_certorg code (once) and, when it is this browser's and the person logged in since
 * it was made, sets *org to its organization acting as cert_holder (its credit code in
 * uscc). Returns 0 with *decided when an error was set instead, or an error.
 */
static int
az_person_link(struct az_ctx *z, const struct sess_info *si, char uscc[OIDC_USCC_SIZE],
    struct az_org *org, bool *decided)
{
	char bind[CSRF_TOKEN_SIZE + 16], uid[DIR_UID_LEN + 1];
	const char *code = z->p->v[OIDC_AZ_CERTORG];
	char *payload = NULL;
	int64_t at = -1;
	int r;

	*decided = false;
	if (code == NULL)
		return 0;
	r = YH_ERR_NOT_FOUND;
	if (z->browser != NULL && csrf_cookie_ok(z->browser)) {
		certorg_bind(z->browser, bind, sizeof(bind));
		r = sess_otc_take(z->app->sess, code, bind, &payload);
	}
	if (r == 0 && (payload == NULL || strlen(payload) <= DIR_UID_LEN ||
	    payload[DIR_UID_LEN] != ' ' || yh_parse_i64(payload + DIR_UID_LEN + 1, 0, INT64_MAX, &at) != 0))
		r = YH_ERR_NOT_FOUND;
	if (r == 0) {
		memcpy(uid, payload, DIR_UID_LEN);
		uid[DIR_UID_LEN] = '\0';
		if (si->auth_time < at || (r = oidc_org_self(z->app->dir, uid, uscc)) ==
		    YH_ERR_NOT_FOUND)
			r = YH_ERR_NOT_FOUND;
	}
	free(payload);
	if (r == YH_ERR_NOT_FOUND || r == YH_ERR_REPLAY) {
		*decided = true;
		return az_error(z, "access_denied", "the enterprise certificate's login cannot "
		    "be linked to this person's (unknown, used, expired or of another browser)");
	}
	if (r != 0)
		return r;
	org->org = uscc;
	org->role = OIDC_ORG_ROLE_CERT_HOLDER;
	return 0;
}

/* Rules 3 to 6, for a request that passed rules 1 and 2. */
static int
az_flow(struct az_ctx *z, const char *cookie)
{
	struct sess_info si;
	struct oidc_org_choice *orgs = NULL;
	struct az_org org;
	size_t norgs = 0;
	char scope[256], uscc[OIDC_USCC_SIZE] = "";
	bool have, need, can, refused;
	int person_loa, need_loa, r;

	memset(&si, 0, sizeof(si));
	memset(&org, 0, sizeof(org));
	if ((r = oidc_az_session(z->app, cookie, &si, &have, &person_loa)) != 0 ||
	    (!have && (r = az_org_session(z, &si, uscc, &have)) != 0))
		return r;
	z->sid = have ? si.sid : "";
	if (have && uscc[0] != '\0') {
		/* An enterprise certificate's session acts for the organization. */
		org.org = uscc;
		org.role = OIDC_ORG_ROLE_CERT_HOLDER;
		person_loa = si.loa;
		if (z->client->require_person)
			return az_person_detour(z, &si);
	}
	if (!have)
		return z->prompt_none ? az_error(z, "login_required", "no session") :
		    az_detour(z, OIDC_AZ_STEP_LOGIN, false, 0);
	if (az_reauth_needed(z, &si))
		return z->prompt_none ? az_error(z, "login_required",
		    "the session's authentication is too old") :
		    az_detour(z, OIDC_AZ_STEP_LOGIN, true, 0);
	need_loa = z->client->min_loa > z->acr_loa ? z->client->min_loa : z->acr_loa;
	if (si.loa < need_loa) {
		if ((r = oidc_az_can_step_up(z->app, &si, person_loa, need_loa, &can)) != 0)
			return r;
		if (!can)
			return az_error(z, "unmet_authentication_requirements",
			    "the assurance level asked for cannot be reached");
		return z->prompt_none ? az_error(z, "login_required",
		    "a higher assurance level needs a second factor") :
		    az_detour(z, OIDC_AZ_STEP_STEPUP, false, need_loa);
	}
	if ((r = oidc_legacy_refused(z->app->dir, z->client, si.uid, &refused)) != 0)
		return r;
	if (refused)
		return az_error(z, "access_denied", "the user has no account in the system "
		    "this app was registered with (legacy_required)");
	if ((r = clients_scope_format(z->granted, scope, sizeof(scope))) != 0)
		return r;
	/* An organization's session shares no person's data: nobody to ask consent of. */
	if (org.org == NULL && (r = az_consent_needed(z, &si, scope, &need)) != 0)
		return r;
	if (org.org == NULL && need)
		return z->prompt_none ? az_error(z, "consent_required", "consent is needed") :
		    az_detour(z, OIDC_AZ_STEP_CONSENT, false, 0);
	if (org.org == NULL && z->client->require_person &&
	    ((r = az_person_link(z, &si, uscc, &org, &need)) != 0 || need))
		goto out;
	if (org.org == NULL &&
	    ((r = az_org_decide(z, &si, &orgs, &norgs, &org, &need)) != 0 || need))
		goto out;
	r = az_issue_code(z, &si, scope, &org);
	if (r == YH_ERR_NOT_FOUND) {  /* the session ended meanwhile */
		z->sid = "";
		r = z->prompt_none ? az_error(z, "login_required", "no session") :
		    az_detour(z, OIDC_AZ_STEP_LOGIN, false, 0);
	}
out:
	oidc_org_choices_free(orgs, norgs);
	return r;
}

int
oidc_az_decide(struct authd_app *app, const struct oidc_az_params *p,
    const char *sid_cookie, int64_t now, struct oidc_az_result *res)
{
	struct az_ctx z;
	struct clients_snap *cs;
	struct oidc_az_params pushed;
	const char *error, *desc;
	bool decided;
	int r;

	memset(res, 0, sizeof(*res));
	memset(&z, 0, sizeof(z));
	z.app = app;
	z.p = p;
	z.res = res;
	z.now = now;
	z.sid = "";
	z.browser = p->browser;
	(void)clients_refresh_if_changed(app->clients);
	cs = clients_acquire(app->clients);
	memset(&pushed, 0, sizeof(pushed));
	if (p->err[OIDC_AZ_REQUEST_URI] != YH_ERR_NOT_FOUND) {
		if ((r = az_pushed_take(&z, cs, &pushed, &decided)) != 0 || decided)
			goto out;
		z.p = &pushed;
	}
	if (az_check_client(&z, cs)) {
		r = 0;
		goto out;
	}
	if (z.client->require_par && !z.p->pushed)
		r = az_error(&z, "invalid_request", "this client must push its authorization "
		    "requests (PAR) and send only client_id and request_uri here");
	else if ((error = az_check_request(&z, &desc)) != NULL)
		r = az_error(&z, error, desc);
	else if ((r = az_flow(&z, sid_cookie)) == YH_ERR_UNAVAILABLE || r == YH_ERR_BUSY) {
		/* The client and its redirect URI are known good: tell the app (RFC 6749
		 * 4.1.2.1) rather than leave the browser on a bare error. */
		oidc_az_result_clear(res);
		r = az_error(&z, "temporarily_unavailable",
		    "the session store is unavailable; try again shortly");
	}
out:
	clients_release(cs);
	oidc_az_params_clear(&pushed);
	if (r != 0)
		oidc_az_result_clear(res);
	return r;
}

const char *
oidc_az_check(struct authd_app *app, const struct clients_snap *cs,
    const struct oidc_az_params *p, const char **desc)
{
	struct oidc_az_result res;
	struct az_ctx z;
	const char *error;

	memset(&res, 0, sizeof(res));
	memset(&z, 0, sizeof(z));
	z.app = app;
	z.p = p;
	z.res = &res;
	z.now = yh_now();
	z.sid = "";
	if (az_check_client(&z, cs)) {
		*desc = res.description;
		return res.error;
	}
	error = az_check_request(&z, desc);
	oidc_az_result_clear(&res);
	return error;
}

/* ---- HTTP ------------------------------------------------------------------------ */

enum page_msg
oidc_org_role_words(const char *role)
{
	if (strcmp(role, DIR_ROLE_LEGAL_REP) == 0)
		return PAGE_MSG_ROLE_LEGAL_REP;
	if (strcmp(role, DIR_ROLE_AGENT) == 0)
		return PAGE_MSG_ROLE_AGENT;
	return PAGE_MSG_ROLE_ADMIN;
}

/*
 * Rule 5b's page (templates/org.html): the organizations of res, the request's
 * forwarded parameters and its re-authentication marker as hidden fields, and a CSRF
 * token bound to the session, so that the form posts the same request back to
 * /authorize with the choice in org. The language switch link carries the same
 * parameters, so that it shows this page again (by GET) in the other language.
 */
static int
org_page_send(struct authd_app *app, struct http_req *req, const struct oidc_az_params *ap,
    const struct oidc_az_result *res)
{
	struct tpl_org_params hidden[OIDC_AZ_PARAM_COUNT];
	struct tpl_layout_keep keep[OIDC_AZ_PARAM_COUNT];
	struct tpl_org_orgs *items;
	struct clients_snap *cs;
	const struct clients_client *cl;
	char csrf[CSRF_TOKEN_SIZE];
	struct tpl_org v;
	struct page p;
	size_t nh = 0;
	int r;

	if ((items = calloc(res->norgs > 0 ? res->norgs : 1, sizeof(*items))) == NULL)
		return YH_ERR_ALLOC;
	if ((r = csrf_prepare(req, app->keys, OIDC_AZ_ORG_PURPOSE, res->sess_key, csrf)) != 0) {
		free(items);
		return r;
	}
	for (unsigned i = 0; i < OIDC_AZ_PARAM_COUNT; i++) {
		const char *v = ap->v[i];

		/* a pushed request's form carries client_id and its new request_uri only */
		if (res->pushed_uri[0] != '\0' && i != OIDC_AZ_CLIENT_ID && i != OIDC_AZ_REAUTH)
			continue;
		if ((az_params[i].forward || i == OIDC_AZ_REAUTH) && v != NULL) {
			keep[nh] = (struct tpl_layout_keep){ az_params[i].name, v };
			hidden[nh++] = (struct tpl_org_params){ az_params[i].name, v };
		}
	}
	if (res->pushed_uri[0] != '\0') {
		keep[nh] = (struct tpl_layout_keep){ "request_uri", res->pushed_uri };
		hidden[nh++] = (struct tpl_org_params){ "request_uri", res->pushed_uri };
	}
	cs = clients_acquire(app->clients);
	cl = clients_find(cs, ap->v[OIDC_AZ_CLIENT_ID]);
	page_init(&p, req, "/authorize");
	page_set_next(&p, NULL);
	page_set_keep(&p, keep, nh);
	for (size_t i = 0; i < res->norgs; i++)
		items[i] = (struct tpl_org_orgs){ .uscc = res->orgs[i].uscc,
		    .name = res->orgs[i].name, .role = page_msg(p.lang, oidc_org_role_words(res->orgs[i].role)),
		    .checked = strcmp(res->orgs[i].uscc, res->org_selected) == 0 };
	v = (struct tpl_org){
		.client_name = cl != NULL ? cl->name : ap->v[OIDC_AZ_CLIENT_ID],
		.client_id = ap->v[OIDC_AZ_CLIENT_ID], .csrf = csrf,
		.params = hidden, .params_n = nh, .orgs = items, .orgs_n = res->norgs,
		.any_checked = res->org_selected[0] != '\0',
	};
	page_begin(&p, page_msg(p.lang, PAGE_MSG_ORG_TITLE));
	tpl_org_render(&p, &v);
	r = page_send(&p, req, 200);
	clients_release(cs);
	yh_wipe(csrf, sizeof(csrf));
	free(items);
	return r;
}

/*
 * A POST carrying org is the choice page's answer: its CSRF token must be the one of
 * the request's session (then p->org_confirmed). Without a session the flow goes to
 * /login as usual and the page comes again. Returns 0, 1 (the request was answered: a
 * rejected form), or an error.
 */
static int
org_form_check(struct authd_app *app, struct http_req *req, bool post,
    struct oidc_az_params *p)
{
	struct sess_info si;
	int r;

	if (!post || p->err[OIDC_AZ_ORG] == YH_ERR_NOT_FOUND)
		return 0;
	if ((r = login_session_of(req, app, 0, &si)) == YH_ERR_NOT_FOUND)
		return 0;
	if (r == 0 && (r = csrf_verify(req, app->keys, OIDC_AZ_ORG_PURPOSE, si.key)) ==
	    YH_ERR_DENIED)
		return (r = csrf_respond_rejected(req)) != 0 ? r : 1;
	if (r == 0)
		p->org_confirmed = true;
	return r;
}

static int
authorize_answer(struct authd_app *app, struct http_req *req,
    const struct oidc_az_params *p, const struct oidc_az_result *res)
{
	if (res->step == OIDC_AZ_STEP_ORG)
		return org_page_send(app, req, p, res);
	if (res->step == OIDC_AZ_STEP_PAGE)
		return page_error_send(req, res->status, page_msg(page_lang_of(req),
		    res->msg != PAGE_MSG_NONE ? res->msg : PAGE_MSG_BAD_REQUEST), NULL, NULL);
	return http_respond_redirect(req, 302, res->location);
}

static int
authorize_handler(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct oidc_az_params p;
	struct oidc_az_result res;
	char browser[CSRF_TOKEN_SIZE];
	bool post = strcmp(http_req_method(req), "POST") == 0;
	int r;

	memset(&res, 0, sizeof(res));
	if ((r = oidc_az_params_read(req, post, &p)) != 0)
		return r;
	if ((r = org_form_check(app, req, post, &p)) != 0) {
		oidc_az_params_clear(&p);
		return r == 1 ? 0 : r;
	}
	/* A re-authentication marker made without a session is bound to this browser's
	 * pre-session cookie: it must be there, also for the login page. */
	if ((r = csrf_browser(req, browser)) != 0) {
		oidc_az_params_clear(&p);
		return r;
	}
	p.browser = browser;
	r = oidc_az_decide(app, &p, page_cookie(req, LOGIN_SID_COOKIE), yh_now(), &res);
	if (r == 0)
		r = authorize_answer(app, req, &p, &res);
	oidc_az_result_clear(&res);
	oidc_az_params_clear(&p);
	yh_wipe(browser, sizeof(browser));   /* what the login form's tokens are bound to */
	return r;
}

static const struct http_route authorize_routes[] = {
	{ "GET", "/authorize", authorize_handler, HTTP_ROUTE_NO_STORE },
	{ "POST", "/authorize", authorize_handler, HTTP_ROUTE_NO_STORE | HTTP_ROUTE_PREAUTH },
	{ NULL, NULL, NULL, 0 },
};

int
oidc_authorize_register(struct http_server *srv, struct authd_app *app)
{
	if (app == NULL || app->issuer == NULL || app->clients == NULL || app->sess == NULL ||
	    app->dir == NULL)
		return YH_ERR_INVALID;
	if (consent_granted == NULL)
		yh_warn("authorize: consent records are not linked in: consent is asked only "
		    "for prompt=consent");
	return http_routes_add(srv, authorize_routes, app);
}
