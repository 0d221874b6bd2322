/*
 * Shared OpenID Connect helpers: OAuth errors, URLs, scopes, LoA/acr, pairwise sub, the
 * grant record, user claims and the sealed user reference. See authd/oidc/oidc.h.
 */
#include "authd/oidc/oidc.h"
#include "authd/app.h"
#include "authd/keyd/keys.h"

#include <string.h>


#include "common/b64.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/url.h"
#include "identity/match/matchkey.h"
#include "identity/dir/dir.h"
#include "token/keyring.h"

/* ---- errors ------------------------------------------------------------------------- */

unsigned
oidc_error_status(const char *error)
{
	if (error == NULL)
		return 400;
	if (strcmp(error, "invalid_client") == 0 || strcmp(error, "invalid_token") == 0)
		return 401;
	if (strcmp(error, "insufficient_scope") == 0)
		return 403;
	if (strcmp(error, "server_error") == 0)
		return 500;
	if (strcmp(error, "temporarily_unavailable") == 0)
		return 503;
	return 400;
}

int
oidc_error(struct http_req *req, const char *error, const char *description)
{
	http_resp_no_store(req);
	return http_respond_error(req, oidc_error_status(error), error, description);
}

int
oidc_error_client(struct http_req *req, bool basic, const char *description)
{
	int r;

	http_resp_no_store(req);
	if (basic && (r = http_resp_header(req, "WWW-Authenticate",
	    "Basic realm=\"yihao\", charset=\"UTF-8\"")) != 0)
		return r;
	return http_respond_error(req, 401, "invalid_client", description);
}

int
oidc_error_bearer(struct http_req *req, const char *error, const char *description)
{
	struct yh_buf b;
	unsigned status;
	int r;

	yh_buf_init(&b, 512);
	status = (error != NULL && strcmp(error, "insufficient_scope") == 0) ? 403 : 401;
	if ((r = yh_buf_puts(&b, "Bearer realm=\"yihao\"")) != 0)
		goto out;
	if (error != NULL && (r = yh_buf_printf(&b, ", error=\"%s\"", error)) != 0)
		goto out;
	if (error != NULL && description != NULL &&
	    (r = yh_buf_printf(&b, ", error_description=\"%s\"", description)) != 0)
		goto out;
	http_resp_no_store(req);
	if ((r = http_resp_header(req, "WWW-Authenticate", yh_buf_cstr(&b))) != 0)
		goto out;
	r = http_respond_error(req, status, error != NULL ? error : "invalid_request",
	    description);
out:
	yh_buf_free(&b);
	return r;
}

/* ---- URLs --------------------------------------------------------------------------- */

int
oidc_url_param(struct yh_buf *b, const char *name, const char *value)
{
	int r;

	if (value == NULL)
		return 0;
	if ((r = yh_buf_putc(b, strchr(yh_buf_cstr(b), '?') == NULL ? '?' : '&')) != 0)
		return r;
	if ((r = yh_url_pct_encode(b, name)) != 0 || (r = yh_buf_putc(b, '=')) != 0)
		return r;
	return yh_url_pct_encode(b, value);
}

/* ---- scopes ------------------------------------------------------------------------- */

int
oidc_scope_grant(const struct clients_client *c, const char *requested, unsigned *granted)
{
	unsigned bits = 0, unknown = 0;
	int r;

	*granted = 0;
	if (requested == NULL || requested[0] == '\0')
		return 0;
	if ((r = clients_scope_parse(requested, &bits, &unknown)) != 0)
		return r;
	bits &= c->scopes;
	if (!c->allow_id_number)
		bits &= ~(unsigned)CLIENTS_SCOPE_ID_NUMBER;
	*granted = bits;
	return 0;
}

int
oidc_scope_narrow(unsigned granted, const char *requested, unsigned *out)
{
	unsigned bits = 0;
	int r;

	*out = 0;
	if (requested == NULL || requested[0] == '\0') {
		*out = granted;
		return 0;
	}
	if ((r = clients_scope_parse(requested, &bits, NULL)) != 0)
		return r == YH_ERR_INVALID ? YH_ERR_DENIED : r;
	if ((bits & ~granted) != 0)
		return YH_ERR_DENIED;
	*out = bits;
	return 0;
}

/* ---- assurance levels --------------------------------------------------------------- */

int
oidc_loa_for(int person_loa, unsigned methods)
{
	int loa;

	if ((methods & OIDC_AMR_PWD) == 0 || person_loa < 1)
		return 0;
	if (person_loa > 4)
		person_loa = 4;
	loa = person_loa < 2 ? person_loa : 2;
	if ((methods & OIDC_AMR_OTP) != 0 && person_loa >= 2)
		loa = person_loa >= 4 ? 4 : 3;
	return loa;
}

int
oidc_acr_format(int loa, char out[OIDC_ACR_SIZE])
{
	out[0] = '\0';
	if (loa < 1 || loa > 4)
		return YH_ERR_INVALID;
	snprintf(out, OIDC_ACR_SIZE, OIDC_ACR_PREFIX "%d", loa);
	return 0;
}

/* The level named by len bytes at p, or 0. */
static int
acr_level(const char *p, size_t len)
{
	size_t pl = strlen(OIDC_ACR_PREFIX);

	if (len != pl + 1 || memcmp(p, OIDC_ACR_PREFIX, pl) != 0)
		return 0;
	if (p[pl] < '1' || p[pl] > '4')
		return 0;
	return p[pl] - '0';
}

int
oidc_acr_parse(const char *acr, int *loa)
{
	*loa = 0;
	if (acr == NULL)
		return YH_ERR_INVALID;
	*loa = acr_level(acr, strlen(acr));
	return *loa == 0 ? YH_ERR_INVALID : 0;
}

int
oidc_acr_values_min(const char *acr_values, int *loa)
{
	struct yh_span s, tok;
	int r, best = 0, l;
	size_t i;

	*loa = 0;
	if (acr_values == NULL || acr_values[0] == '\0')
		return 0;
	s = yh_span_cstr(acr_values);
	if ((r = yh_span_check(s, OIDC_SCOPE_MAX)) != 0)
		return r;
	for (i = 0; i < s.len; i++)
		if ((unsigned char)s.p[i] < 0x20 || s.p[i] == 0x7f)
			return YH_ERR_INVALID;
	while (yh_span_split(&s, ' ', &tok) == 0) {
		if (tok.len == 0)
			continue;
		l = acr_level(tok.p, tok.len);
		if (l != 0 && (best == 0 || l < best))
			best = l;
	}
	*loa = best;
	return 0;
}

/* ---- signing keys -------------------------------------------------------------------- */

const struct tok_key *
oidc_client_key(const struct tok_ring_snap *ring, const struct clients_client *c,
    enum tok_alg def, bool access)
{
	enum tok_alg alg = c->id_token_alg;
	const struct tok_key *key;

	if (access && c->access_token_alg != TOK_ALG_UNSET)
		alg = c->access_token_alg;
	if (alg == TOK_ALG_UNSET)
		alg = def;
	if ((key = tok_snap_signing_key(ring, alg)) == NULL)
		yh_error("client %s: no active %s key in the key ring", c->id,
		    alg != TOK_ALG_UNSET ? tok_alg_name(alg) : "default");
	return key;
}

enum tok_alg
oidc_default_alg(const struct authd_app *app)
{
	const struct authd_cfg *c = app != NULL ? app->cfg : NULL;

	return c != NULL ? c->key_default_alg : TOK_ALG_UNSET;
}

/* ---- pairwise subject --------------------------------------------------------------- */

const char *
oidc_client_sector(const struct clients_client *c)
{
	return clients_sector(c);
}

int
oidc_pairwise_sub(const struct keys *keys, struct dir *dir, const char *sector,
    const char *uid, char out[OIDC_SUB_SIZE])
{
	int rc;

	_Static_assert(CLIENTS_SECTOR_MAX <= KEYS_SECTOR_MAX && SESS_UID_MAX <= KEYS_UID_MAX,
	    "every sector and uid fits keys_sub");
	_Static_assert(KEYS_SUB_STR_SIZE <= OIDC_SUB_SIZE && DIR_SUB_MAX < OIDC_SUB_SIZE,
	    "a computed and a pinned sub fit");
	out[0] = '\0';
	if (dir != NULL) {
		rc = dir_subject_pin_find(dir, uid, sector, out);
		if (rc == 0)
			return 0;
		out[0] = '\0';
		/* A uid or sector the directory cannot hold (INVALID) has no pin either. */
		if (rc != YH_ERR_NOT_FOUND && rc != YH_ERR_INVALID)
			return rc;
	}
	return keys_sub_str(keys, sector, uid, out);
}

/* ---- the grant record --------------------------------------------------------------- */

/* Sets name to a string value when v is not NULL. */
static int
set_str(json_t *o, const char *name, const char *v)
{
	if (v == NULL)
		return 0;
	return json_object_set_new(o, name, json_string(v)) == 0 ? 0 : YH_ERR_INVALID;
}

int
oidc_grant_json(const struct oidc_grant *g, char **out)
{
	char acr[OIDC_ACR_SIZE];
	json_t *o = NULL, *amr = NULL;
	size_t i;
	int r;

	*out = NULL;
	if (g->client_id == NULL || g->uid == NULL || g->scope == NULL ||
	    (g->org == NULL) != (g->org_role == NULL) || oidc_acr_format(g->loa, acr) != 0 || g->namr > SESS_AMR_MAX)
		return YH_ERR_INVALID;
	if ((o = json_object()) == NULL || (amr = json_array()) == NULL) {
		r = YH_ERR_ALLOC;
		goto out;
	}
	for (i = 0; i < g->namr; i++)
		if (g->amr[i] == NULL || json_array_append_new(amr, json_string(g->amr[i])) != 0) {
			r = YH_ERR_INVALID;
			goto out;
		}
	if ((r = set_str(o, "client_id", g->client_id)) != 0 ||
	    (r = set_str(o, "redirect_uri", g->redirect_uri)) != 0 ||
	    (r = set_str(o, "uid", g->uid)) != 0 || (r = set_str(o, "sid", g->sid)) != 0 ||
	    (r = set_str(o, "scope", g->scope)) != 0 ||
	    (r = set_str(o, "nonce", g->nonce)) != 0 ||
	    (r = set_str(o, "code_challenge", g->code_challenge)) != 0 ||
	    (r = set_str(o, "code_challenge_method", g->code_challenge_method)) != 0 ||
	    (r = set_str(o, "acr", acr)) != 0 ||
	    (r = set_str(o, "org", g->org)) != 0 ||
	    (r = set_str(o, "org_role", g->org_role)) != 0)
		goto out;
	if (json_object_set_new(o, "auth_time", json_integer(g->auth_time)) != 0 ||
	    json_object_set_new(o, "loa", json_integer(g->loa)) != 0 ||
	    json_object_set(o, "amr", amr) != 0 ||
	    (g->offline && json_object_set_new(o, "offline", json_true()) != 0) ||
	    (g->exp != 0 && json_object_set_new(o, "exp", json_integer(g->exp)) != 0)) {
		r = YH_ERR_ALLOC;
		goto out;
	}
	if ((*out = json_dumps(o, JSON_COMPACT)) == NULL) {
		r = YH_ERR_ALLOC;
		goto out;
	}
	if (strlen(*out) > SESS_PAYLOAD_MAX) {
		free(*out);
		*out = NULL;
		r = YH_ERR_TOO_LONG;
		goto out;
	}
	r = 0;
out:
	json_decref(amr);
	json_decref(o);
	return r;
}

/* A string member (absent or null: NULL); YH_ERR_INVALID for another type. */
static int
get_str(json_t *o, const char *name, const char **out)
{
	json_t *v = json_object_get(o, name);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return YH_ERR_INVALID;
	*out = json_string_value(v);
	return 0;
}

int
oidc_grant_parse(const char *json, struct oidc_grant *g)
{
	json_t *v, *amr;
	size_t i;
	int r = YH_ERR_INVALID;

	memset(g, 0, sizeof(*g));
	if (json == NULL)
		return YH_ERR_INVALID;
	if ((g->root = json_loads(json, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    !json_is_object(g->root))
		goto out;
	if (get_str(g->root, "client_id", &g->client_id) != 0 ||
	    get_str(g->root, "redirect_uri", &g->redirect_uri) != 0 ||
	    get_str(g->root, "uid", &g->uid) != 0 || get_str(g->root, "sid", &g->sid) != 0 ||
	    get_str(g->root, "scope", &g->scope) != 0 ||
	    get_str(g->root, "nonce", &g->nonce) != 0 ||
	    get_str(g->root, "code_challenge", &g->code_challenge) != 0 ||
	    get_str(g->root, "code_challenge_method", &g->code_challenge_method) != 0 ||
	    get_str(g->root, "org", &g->org) != 0 ||
	    get_str(g->root, "org_role", &g->org_role) != 0)
		goto out;
	if (g->client_id == NULL || g->uid == NULL || g->scope == NULL ||
	    (g->org == NULL) != (g->org_role == NULL))
		goto out;
	if ((v = json_object_get(g->root, "auth_time")) != NULL) {
		if (!json_is_integer(v))
			goto out;
		g->auth_time = json_integer_value(v);
	}
	if ((v = json_object_get(g->root, "loa")) == NULL || !json_is_integer(v) ||
	    json_integer_value(v) < 1 || json_integer_value(v) > 4)
		goto out;
	g->loa = (int)json_integer_value(v);
	if ((v = json_object_get(g->root, "exp")) != NULL) {
		if (!json_is_integer(v))
			goto out;
		g->exp = json_integer_value(v);
	}
	g->offline = json_is_true(json_object_get(g->root, "offline"));
	if ((amr = json_object_get(g->root, "amr")) != NULL) {
		if (!json_is_array(amr) || json_array_size(amr) > SESS_AMR_MAX)
			goto out;
		for (i = 0; i < json_array_size(amr); i++) {
			if (!json_is_string(json_array_get(amr, i)))
				goto out;
			g->amr[i] = json_string_value(json_array_get(amr, i));
		}
		g->namr = json_array_size(amr);
	}
	r = 0;
out:
	if (r != 0)
		oidc_grant_clear(g);
	return r;
}

void
oidc_grant_clear(struct oidc_grant *g)
{
	if (g == NULL)
		return;
	json_decref(g->root);
	memset(g, 0, sizeof(*g));
}

/* ---- claims ------------------------------------------------------------------------- */

/* The sealed fields person_claims reads for these scopes: the ID number only when it
 * goes out, the phone number for the phone and profile scopes (masked for profile). */
static unsigned
claims_opened(const struct clients_client *c, unsigned scopes)
{
	unsigned open = 0;

	if ((scopes & CLIENTS_SCOPE_ID_NUMBER) != 0 && c != NULL && c->allow_id_number)
		open |= DIR_OPEN_ID_NUMBER;
	if ((scopes & (CLIENTS_SCOPE_PHONE | CLIENTS_SCOPE_PROFILE)) != 0)
		open |= DIR_OPEN_PHONE;
	return open;
}

/* Adds the claims of one person to o. */
static int
person_claims(json_t *o, const struct clients_client *c, const struct dir_person *p,
    unsigned scopes)
{
	char masked[64];
	bool idn = (claims_opened(c, scopes) & DIR_OPEN_ID_NUMBER) != 0;   /* it goes out */

	if ((scopes & CLIENTS_SCOPE_PROFILE) != 0 && p->name != NULL &&
	    json_object_set_new(o, "name", json_string(p->name)) != 0)
		return YH_ERR_ALLOC;
	if (p->phone != NULL && (scopes & CLIENTS_SCOPE_PHONE) != 0) {
		if (json_object_set_new(o, "phone_number", json_string(p->phone)) != 0)
			return YH_ERR_ALLOC;
	} else if (p->phone != NULL && (scopes & CLIENTS_SCOPE_PROFILE) != 0) {
		mk_phone_mask(p->phone, masked, sizeof(masked));
		if (json_object_set_new(o, "phone_number", json_string(masked)) != 0)
			return YH_ERR_ALLOC;
	}
	/* Whenever a number goes out: an app must not take a typed-in number for a
	 * checked one (OIDC Core 5.1). */
	if (json_object_get(o, "phone_number") != NULL &&
	    json_object_set_new(o, "phone_number_verified",
	    json_boolean(p->phone_verified)) != 0)
		return YH_ERR_ALLOC;
	if ((scopes & CLIENTS_SCOPE_EMAIL) != 0 && p->email != NULL &&
	    json_object_set_new(o, "email", json_string(p->email)) != 0)
		return YH_ERR_ALLOC;
	if (((scopes & CLIENTS_SCOPE_PROFILE) != 0 || idn) &&
	    json_object_set_new(o, "yh_id_type", json_string("resident_id")) != 0)
		return YH_ERR_ALLOC;
	if (idn && p->id_number != NULL &&
	    json_object_set_new(o, "yh_id_number", json_string(p->id_number)) != 0)
		return YH_ERR_ALLOC;
	return 0;
}

/* With the staff scope, yh_staff for a person with a current staff relation:
 * {"org": the agency's credit code (its organization code when it has none), "unit",
 * "position" (when recorded)}. Nothing for anyone else. */
static int
staff_claim(json_t *o, struct dir *dir, const char *uid, unsigned scopes)
{
	struct dir_mandate m;
	struct dir_org org;
	json_t *j;
	int r;

	if ((scopes & CLIENTS_SCOPE_STAFF) == 0)
		return 0;
	if ((r = dir_staff_current(dir, uid, 0, &m, &org)) != 0)
		return r == YH_ERR_NOT_FOUND ? 0 : r;
	j = json_pack("{s:s, s:s}", "org", org.uscc != NULL ? org.uscc : org.org_code,
	    "unit", m.unit);
	if (j != NULL && m.position != NULL &&
	    json_object_set_new(j, "position", json_string(m.position)) != 0) {
		json_decref(j);
		j = NULL;
	}
	r = j != NULL && json_object_set_new(o, "yh_staff", j) == 0 ? 0 : YH_ERR_ALLOC;
	dir_mandate_clear(&m);
	dir_org_clear(&org);
	return r;
}

int
oidc_legacy_account(struct dir *dir, const struct clients_client *c, const char *uid,
    struct dir_legacy *out)
{
	memset(out, 0, sizeof(*out));
	if (c->legacy_source == NULL)
		return YH_ERR_NOT_FOUND;
	return dir_legacy_of_owner(dir, uid, c->legacy_source, out);
}

int
oidc_legacy_refused(struct dir *dir, const struct clients_client *c, const char *uid,
    bool *refused)
{
	struct dir_legacy l;
	int r;

	*refused = false;
	if (!c->legacy_required)
		return 0;
	r = oidc_legacy_account(dir, c, uid, &l);
	dir_legacy_clear(&l);
	if (r == YH_ERR_NOT_FOUND) {
		yh_debug("app %s: person has no account in %s", c->id, c->legacy_source);
		*refused = true;
		r = 0;
	}
	return r;
}

/* For an app with a legacy_source: yh_legacy_id and yh_legacy_username (when known) of
 * the person's account there. Nothing for a person without one. */
static int
legacy_claims(json_t *o, struct dir *dir, const struct clients_client *c, const char *uid)
{
	struct dir_legacy l;
	int r;

	if ((r = oidc_legacy_account(dir, c, uid, &l)) != 0)
		return r == YH_ERR_NOT_FOUND ? 0 : r;
	if (json_object_set_new(o, "yh_legacy_id", json_string(l.legacy_id)) != 0 ||
	    (l.username != NULL && json_object_set_new(o, "yh_legacy_username",
	    json_string(l.username)) != 0))
		r = YH_ERR_ALLOC;
	dir_legacy_clear(&l);
	return r;
}

/* True when uid is an organization's own (oidc_org_self), with *out an empty object
 * (NULL when that cannot be allocated): such a session carries no person's claims. */
static bool
org_self_claims(struct dir *dir, const char *uid, json_t **out)
{
	char uscc[OIDC_USCC_SIZE];

	if (oidc_org_self(dir, uid, uscc) != 0)
		return false;
	*out = json_object();
	return true;
}

int
oidc_user_claims(struct dir *dir, const struct clients_client *c, const char *uid,
    unsigned scopes, json_t **out)
{
	struct dir_person p;
	json_t *o = NULL;
	int r;

	*out = NULL;
	memset(&p, 0, sizeof(p));
	if ((r = dir_person_get_opened(dir, uid, claims_opened(c, scopes), &p)) ==
	    YH_ERR_NOT_FOUND && org_self_claims(dir, uid, out))
		r = *out != NULL ? 0 : YH_ERR_ALLOC;
	if (r != 0 || *out != NULL)
		goto out;
	if (p.status != DIR_STATUS_ACTIVE) {
		r = YH_ERR_DENIED;
		goto out;
	}
	if ((o = json_object()) == NULL) {
		r = YH_ERR_ALLOC;
		goto out;
	}
	if ((r = person_claims(o, c, &p, scopes)) != 0 ||
	    (r = staff_claim(o, dir, p.uid, scopes)) != 0 ||
	    (r = legacy_claims(o, dir, c, p.uid)) != 0)
		goto out;
	*out = o;
	o = NULL;
out:
	json_decref(o);
	dir_person_clear(&p);
	return r;
}

/* ---- sealed user reference ----------------------------------------------------------- */

int
oidc_uref_seal(const struct keys *keys, const char *client_id, const char *uid,
    char out[OIDC_UREF_MAX])
{
	_Static_assert(OIDC_UREF_MAX == KEYS_UREF_MAX, "a user reference is what keys seals");
	return keys_uref_seal(keys, client_id, uid, out);
}

int
oidc_uref_open(const struct keys *keys, const char *client_id, const char *ref, char *uid,
    size_t uidsz)
{
	return keys_uref_open(keys, client_id, ref, uid, uidsz);
}

int
oidc_sid_alive(struct sess_store *sess, const char *uid, const char *sid)
{
	struct sess_info *list = NULL;
	size_t n = 0, i;
	int r;

	if ((r = sess_list_user(sess, uid, &list, &n)) != 0)
		return r == YH_ERR_INVALID ? YH_ERR_NOT_FOUND : r;
	r = YH_ERR_NOT_FOUND;
	for (i = 0; i < n; i++)
		if (strcmp(list[i].sid, sid) == 0) {
			r = 0;
			break;
		}
	free(list);
	return r;
}

int64_t
oidc_lifetime(const struct authd_app *app, enum oidc_lifetime which)
{
	const struct authd_cfg *c = app != NULL ? app->cfg : NULL;

	if (c == NULL)
		c = authd_cfg_builtin();
	switch (which) {
	case OIDC_LT_CODE:
		return c->code_lifetime;
	case OIDC_LT_ACCESS:
		return c->access_token_lifetime;
	case OIDC_LT_ID:
		return c->id_token_lifetime;
	case OIDC_LT_REFRESH:
		return c->refresh_token_lifetime;
	case OIDC_LT_OFFLINE:
		return c->offline_token_lifetime;
	case OIDC_LT_ASSERTION:
		return c->assertion_lifetime;
	case OIDC_LT_PAR:
		return c->par_lifetime;
	case OIDC_LT_DEVICE:
		return c->device_lifetime;
	case OIDC_LT_DEVICE_INTERVAL:
		return c->device_interval;
	}
	return c->access_token_lifetime;
}
