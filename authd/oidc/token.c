/*
 * POST /token: the authorization_code, refresh_token, client_credentials and device_code
 * grants (RFC 6749, RFC 7636, OpenID Connect Core 3.1.3, RFC 9068 access tokens, RFC
 * 8628: the device side in authd/oidc/device.c). See
 * authd/oidc/token.h for the decisions on refresh tokens and access tokens.
 */
#include "authd/oidc/token.h"

#include <string.h>

#include <openssl/evp.h>

#include "authcore/audit/audit.h"
#include "common/metrics.h"
#include "authd/oidc/oidc.h"
#include "authd/app.h"
#include "authd/oidc/backchannel.h"
#include "authd/oidc/device.h"
#include "authd/session/sess.h"
#include "common/b64.h"
#include "common/digest.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/timeutil.h"
#include "token/jws.h"
#include "token/jwt.h"
#include "token/keyring.h"
#include "identity/dir/dir.h"

#define VERIFIER_MIN 43
#define VERIFIER_MAX 128
#define ISSUED_MAX (SESS_PUBID_SIZE + TOK_JTI_LEN + 2)

/* One token request. */
struct treq {
	struct authd_app *app;
	struct http_req *req;
	struct clients_snap *snap;
	struct tok_ring_snap *ring;
	const struct tok_key *id_key;    /* signs the client's ID tokens */
	const struct tok_key *at_key;    /* signs its access tokens */
	struct oidc_client_auth ca;
	const struct clients_client *c;
	int64_t now;
	/* The grant answered with tokens: its token.issue line, queued once the response
	 * is complete; the response leaves when the line is durable (hold_until_audited). */
	json_t *issued;
	const char *grant;
	/* A grant whose only token is its access token (client_credentials) has it signed
	 * in one of keyd's batches while its line waits for the disk: sign_later asks for
	 * that; issue_and_respond then prepares the held response in later (the token's
	 * claims, lifetime and scope), which hold_until_audited sets once it is signed. */
	bool sign_later;
	struct held_grant *later;
};

/* What to mint for one grant. */
struct issue {
	const struct oidc_grant *g;      /* user grant; NULL for client_credentials */
	unsigned scopes;                 /* scopes of the tokens issued now */
	char jti[TOK_JTI_LEN + 1];
	const char *nonce;               /* ID token nonce (code grant) */
	bool id_token;
	bool bound;                      /* access token carries sid */
	const char *family;              /* refresh family (yh_fam claim) or NULL */
	const char *refresh_token;       /* to return (NULL: none) */
	json_t *org;                     /* the yh_org claim, or NULL (owned) */
	/* results */
	char *at;
	char *idt;
	int64_t at_lifetime;
};

/*
 * A response held until its token.issue line is durable and, for a grant whose access
 * token is signed in one of keyd's batches (signing), until that signature arrived too:
 * the two settle in either order, on the audit writer's and the signer's threads, and
 * the last one lets the response go.
 */
struct held_grant {
	struct http_req *req;
	struct authd_app *app;
	const char *grant;       /* a static name */
	int pending;             /* settlements still to come (atomic) */
	int rc;                  /* the first failure (atomic) */
	bool signing;            /* at is being signed; the response is set when it is */
	struct tok_jws_job at;
	struct yh_buf claims;    /* the access token's claims, until submitted */
	int64_t lifetime;
	char scope[OIDC_SCOPE_MAX];
};

static void
held_free(struct held_grant *h)
{
	if (h == NULL)
		return;
	yh_buf_free(&h->claims);
	if (h->signing)
		tok_jws_job_free(&h->at);
	free(h);
}

static int64_t
lifetime_or(int64_t v, int64_t dflt)
{
	return v > 0 ? v : dflt;
}

/* The access-token lifetime of client c (NULL: the server's). */
static int64_t
at_lifetime(const struct authd_app *app, const struct clients_client *c)
{
	return lifetime_or(c != NULL ? c->access_token_lifetime : 0,
	    oidc_lifetime(app, OIDC_LT_ACCESS));
}

/* Counts an issued grant in the metrics (best effort). */
static void
count_grant(struct authd_app *app, const char *grant)
{
	struct mx_counter *ctr = NULL;
	char labels[64];

	if (app->metrics == NULL)
		return;
	snprintf(labels, sizeof(labels), "grant=\"%s\"", grant);
	if (mx_counter_get(app->metrics, "yh_tokens_issued_total",
	    "Token grants answered with tokens, by grant type.", labels, &ctr) == 0)
		mx_counter_add(ctr, 1);
}

/* ---- fixed-shape JSON --------------------------------------------------------------- */

/*
 * The access token's claims and the token response have a fixed set of members, so they
 * are written straight into a buffer rather than built as jansson objects and dumped
 * (the same bytes: members in the same order, the same compact form). Every string still
 * goes through yh_json_escape.
 */

/* Appends "name": after a comma unless b holds just the opening brace. */
static int
json_key(struct yh_buf *b, const char *name)
{
	int r;

	if (b->len > 1 && (r = yh_buf_putc(b, ',')) != 0)
		return r;
	if ((r = yh_buf_putc(b, '"')) != 0 || (r = yh_buf_puts(b, name)) != 0)
		return r;
	return yh_buf_puts(b, "\":");
}

/* Appends the JSON string s (quoted, escaped). */
static int
json_str(struct yh_buf *b, const char *s)
{
	return yh_json_quote(b, s, strlen(s));
}

/* Appends the member "name":"s". */
static int
json_put_str(struct yh_buf *b, const char *name, const char *s)
{
	int r = json_key(b, name);

	return r != 0 ? r : json_str(b, s);
}

/* Appends the member "name":v. */
static int
json_put_int(struct yh_buf *b, const char *name, int64_t v)
{
	char d[24];
	size_t i = sizeof(d);
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	int r;

	do {
		d[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	if (v < 0)
		d[--i] = '-';
	if ((r = json_key(b, name)) != 0)
		return r;
	return yh_buf_append(b, d + i, sizeof(d) - i);
}

/* Appends the member "name": with the compact dump of the jansson value v. */
static int
json_put_value(struct yh_buf *b, const char *name, const json_t *v)
{
	char *text;
	int r;

	if ((r = json_key(b, name)) != 0)
		return r;
	if ((text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
		return YH_ERR_ALLOC;
	r = yh_buf_puts(b, text);
	free(text);
	return r;
}

/* ---- minting ------------------------------------------------------------------------ */

/* The claims a user grant adds to its access token: who, how and when the person signed
 * in, and the session and refresh family when bound to them. */
static int
user_claims(struct treq *t, const struct issue *is, const char *acr, struct yh_buf *b)
{
	char ref[OIDC_UREF_MAX];
	int r;

	if ((r = oidc_uref_seal(t->app->keys, t->c->id, is->g->uid, ref)) != 0 ||
	    (r = json_put_int(b, "auth_time", is->g->auth_time)) != 0 ||
	    (r = json_put_str(b, "acr", acr)) != 0 || (r = json_key(b, "amr")) != 0 ||
	    (r = yh_buf_putc(b, '[')) != 0)
		return r;
	for (size_t i = 0; i < is->g->namr; i++)
		if ((i > 0 && (r = yh_buf_putc(b, ',')) != 0) ||
		    (r = json_str(b, is->g->amr[i])) != 0)
			return r;
	if ((r = yh_buf_putc(b, ']')) != 0 || (r = json_put_str(b, "yh_ref", ref)) != 0)
		return r;
	if (is->bound && is->g->sid != NULL && (r = json_put_str(b, "sid", is->g->sid)) != 0)
		return r;
	if (is->family != NULL && (r = json_put_str(b, "yh_fam", is->family)) != 0)
		return r;
	return 0;
}

/*
 * The access token of one grant (RFC 9068). Built here rather than with
 * tok_mint_access_token because it also carries "sid" (a registered claim name that
 * tok_mint_access_token's extra claims may not use) when the grant is bound to a session.
 */
static int
access_claims(struct treq *t, struct issue *is, const char *sub, const char *scope,
    const char *acr, struct yh_buf *out)
{
	struct yh_buf c;
	int r;

	is->at_lifetime = at_lifetime(t->app, t->c);
	yh_buf_init(&c, TOK_JWS_MAX);
	if ((r = yh_buf_reserve(&c, 256)) != 0 || (r = yh_buf_putc(&c, '{')) != 0 ||
	    (r = json_put_str(&c, "iss", t->app->issuer)) != 0 ||
	    (r = json_put_str(&c, "sub", sub)) != 0 || (r = json_key(&c, "aud")) != 0 ||
	    (r = yh_buf_putc(&c, '[')) != 0 || (r = json_str(&c, t->c->id)) != 0 ||
	    (r = yh_buf_putc(&c, ',')) != 0 || (r = json_str(&c, t->app->issuer)) != 0 ||
	    (r = yh_buf_putc(&c, ']')) != 0 || (r = json_put_int(&c, "iat", t->now)) != 0 ||
	    (r = json_put_int(&c, "exp", t->now + is->at_lifetime)) != 0 ||
	    (r = json_put_str(&c, "jti", is->jti)) != 0 ||
	    (r = json_put_str(&c, "client_id", t->c->id)) != 0)
		goto out;
	if (scope[0] != '\0' && (r = json_put_str(&c, "scope", scope)) != 0)
		goto out;
	if (is->g != NULL && (r = user_claims(t, is, acr, &c)) != 0)
		goto out;
	if (is->org != NULL && (r = json_put_value(&c, "yh_org", is->org)) != 0)
		goto out;
	if ((r = yh_buf_putc(&c, '}')) != 0)
		goto out;
	*out = c;
	return 0;
out:
	yh_buf_free(&c);
	return r;
}

static int
mint_access(struct treq *t, struct issue *is, const char *sub, const char *scope,
    const char *acr)
{
	struct yh_buf c;
	int r;

	if ((r = access_claims(t, is, sub, scope, acr, &c)) != 0)
		return r;
	r = tok_jws_sign(t->at_key, "at+jwt", c.data, c.len, &is->at);
	yh_buf_free(&c);
	return r;
}

/* The ID token of a user grant. */
static int
mint_id(struct treq *t, struct issue *is, const char *sub, const char *acr)
{
	struct tok_id_token it;
	json_t *claims = NULL;
	int r;

	if ((r = oidc_user_claims(t->app->dir, t->c, is->g->uid, is->scopes, &claims)) != 0)
		return r;
	if (is->org != NULL && json_object_set(claims, "yh_org", is->org) != 0) {
		json_decref(claims);
		return YH_ERR_ALLOC;
	}
	memset(&it, 0, sizeof(it));
	it.iss = t->app->issuer;
	it.sub = sub;
	it.aud = t->c->id;
	it.iat = t->now;
	it.lifetime = lifetime_or(t->c->id_token_lifetime, oidc_lifetime(t->app, OIDC_LT_ID));
	it.auth_time = is->g->auth_time;
	it.nonce = is->nonce;
	it.acr = acr;
	it.amr = is->g->amr;
	it.amr_n = is->g->namr;
	it.azp = t->c->id;
	it.sid = is->g->sid;
	it.access_token = is->at;
	it.extra = claims;
	r = tok_mint_id_token(t->id_key, &it, &is->idt);
	json_decref(claims);
	return r;
}

/* Answers 200 with the access token at, valid for lifetime seconds, and the ID and
 * refresh tokens when not NULL (RFC 6749 5.1); the buffer is wiped when freed, as it
 * holds them too. The request asked for no-store already (token_handler), on its HTTP
 * thread: this may run on the signer's or the audit writer's. */
static int
respond_tokens(struct http_req *req, const char *at, int64_t lifetime, const char *scope,
    const char *idt, const char *refresh_token)
{
	struct yh_buf b;
	int r;

	yh_buf_init_secret(&b, 4 * TOK_JWS_MAX);
	if ((r = yh_buf_reserve(&b, strlen(at) + (idt != NULL ? strlen(idt) : 0) +
	    (refresh_token != NULL ? strlen(refresh_token) : 0) + 128)) != 0 ||
	    (r = yh_buf_putc(&b, '{')) != 0 ||
	    (r = json_put_str(&b, "access_token", at)) != 0 ||
	    (r = json_put_str(&b, "token_type", "Bearer")) != 0 ||
	    (r = json_put_int(&b, "expires_in", lifetime)) != 0)
		goto out;
	if ((scope[0] != '\0' && (r = json_put_str(&b, "scope", scope)) != 0) ||
	    (idt != NULL && (r = json_put_str(&b, "id_token", idt)) != 0) ||
	    (refresh_token != NULL &&
	    (r = json_put_str(&b, "refresh_token", refresh_token)) != 0) ||
	    (r = yh_buf_putc(&b, '}')) != 0)
		goto out;
	r = http_respond(req, 200, "application/json", b.data, b.len);
out:
	yh_buf_free(&b);
	return r;
}

/* Mints what is asks for and answers the token response. */
static int
issue_and_respond(struct treq *t, struct issue *is)
{
	char sub[OIDC_SUB_SIZE], scope[OIDC_SCOPE_MAX], acr[OIDC_ACR_SIZE];
	int r;

	if ((r = clients_scope_format(is->scopes, scope, sizeof(scope))) != 0)
		goto out;
	if (is->g != NULL) {
		if ((r = oidc_pairwise_sub(t->app->keys, t->app->dir, oidc_client_sector(t->c),
		    is->g->uid, sub)) != 0 || (r = oidc_acr_format(is->g->loa, acr)) != 0)
			goto out;
		r = mint_access(t, is, sub, scope, acr);
	} else if (t->sign_later && !is->id_token && is->refresh_token == NULL) {
		/* sub = the client; signed and answered by hold_until_audited */
		if ((t->later = calloc(1, sizeof(*t->later))) == NULL) {
			r = YH_ERR_ALLOC;
			goto out;
		}
		if ((r = access_claims(t, is, t->c->id, scope, NULL, &t->later->claims)) == 0) {
			t->later->lifetime = is->at_lifetime;
			memcpy(t->later->scope, scope, sizeof(t->later->scope));
		}
		goto out;
	} else {
		r = mint_access(t, is, t->c->id, scope, NULL);   /* sub = the client */
	}
	if (r != 0)
		goto out;
	if (is->id_token && (r = mint_id(t, is, sub, acr)) != 0)
		goto out;
	r = respond_tokens(t->req, is->at, is->at_lifetime, scope, is->idt, is->refresh_token);
out:
	return r;
}

/* Adds org_uid, the directory uid of the organization with credit code uscc, to the
 * audit fields f: the log masks a code that is all digits, the uid keeps the record
 * traceable. An organization no longer found is recorded without it. */
static int
audit_org_uid(struct treq *t, json_t *f, const char *uscc)
{
	struct dir_org o;
	int r;

	memset(&o, 0, sizeof(o));
	if ((r = dir_org_find_uscc(t->app->dir, uscc, &o)) == YH_ERR_NOT_FOUND)
		return 0;
	if (r == 0 && json_object_set_new(f, "org_uid", json_string(o.uid)) != 0)
		r = YH_ERR_ALLOC;
	dir_org_clear(&o);
	return r;
}

/* The audit fields of a grant's event, with the credit code and the uid of the
 * organization acted for when there is one (org). */
static int
audit_fields(struct treq *t, const char *grant, const char *uid, const char *family,
    const char *jti, unsigned scopes, const char *org, json_t **out)
{
	char scope[OIDC_SCOPE_MAX];
	json_t *f;
	int r;

	*out = NULL;
	if (clients_scope_format(scopes, scope, sizeof(scope)) != 0)
		scope[0] = '\0';
	if ((f = json_pack("{s:s, s:s}", "grant", grant, "scope", scope)) == NULL)
		return YH_ERR_ALLOC;
	if ((uid != NULL && json_object_set_new(f, "uid", json_string(uid)) != 0) ||
	    (family != NULL && family[0] != '\0' &&
	    json_object_set_new(f, "family", json_string(family)) != 0) ||
	    (jti != NULL && json_object_set_new(f, "jti", json_string(jti)) != 0) ||
	    (org != NULL && json_object_set_new(f, "org", json_string(org)) != 0)) {
		json_decref(f);
		return YH_ERR_ALLOC;
	}
	if (org != NULL && (r = audit_org_uid(t, f, org)) != 0) {
		json_decref(f);
		return r;
	}
	*out = f;
	return 0;
}

/* "client:<id>", the actor of a token endpoint's audit lines. */
static void
audit_actor(const struct treq *t, char *out, size_t outsz)
{
	snprintf(out, outsz, "client:%s", t->c->id);
}

/* Writes an event other than token.issue (a replay, a refusal) to the audit trail and
 * returns once it is durable; must succeed. */
static int
audit_event(struct treq *t, const char *event, const char *grant, const char *uid,
    const char *family, const char *jti, unsigned scopes, const char *org)
{
	char actor[CLIENTS_ID_MAX + 8];
	json_t *f;
	int r;

	if ((r = audit_fields(t, grant, uid, family, jti, scopes, org, &f)) != 0)
		return r;
	audit_actor(t, actor, sizeof(actor));
	r = yh_audit_write(t->app->audit, event, actor, f);
	json_decref(f);
	return r;
}

/*
 * A grant's tokens are minted and its response is set: records what its token.issue
 * line will say. The line is queued and the response held by hold_until_audited once
 * the handler has finished the response, so no token leaves before its line is durable.
 */
static int
audit_issue(struct treq *t, const char *grant, const char *uid, const char *family,
    const char *jti, unsigned scopes, const char *org)
{
	t->grant = grant;
	return audit_fields(t, grant, uid, family, jti, scopes, org, &t->issued);
}

/* One part of a held grant is settled (rc: its result). The last one sets the response
 * when the access token was signed here, and lets it go only when both succeeded: the
 * tokens never leave without their line on disk; on a failure the client gets 500 or
 * 503 instead. A signature that fails after its line was queued leaves a token.issue
 * line for a token that never left: the trail may say more than was issued, never less. */
static void
grant_settle(struct held_grant *h, int rc)
{
	int none = 0;

	if (rc != 0)
		(void)__atomic_compare_exchange_n(&h->rc, &none, rc, false, __ATOMIC_ACQ_REL,
		    __ATOMIC_ACQUIRE);
	if (__atomic_sub_fetch(&h->pending, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	rc = __atomic_load_n(&h->rc, __ATOMIC_ACQUIRE);
	if (rc == 0 && h->signing)
		rc = respond_tokens(h->req, yh_buf_cstr(&h->at.tok), h->lifetime, h->scope,
		    NULL, NULL);
	if (rc == 0)
		count_grant(h->app, h->grant);
	else if (http_respond_failure(h->req, rc) != 0)
		yh_error("token response dropped for a failure: %s", yh_strerror(rc));
	http_req_resume(h->req);
	held_free(h);
}

/* The token.issue line is settled. */
static void
grant_audited(void *arg, int rc)
{
	grant_settle(arg, rc);
}

/* The access token of a held grant is signed (or failed). */
static void
grant_signed(struct tok_jws_job *j, int rc)
{
	grant_settle((struct held_grant *)((char *)j - offsetof(struct held_grant, at)), rc);
}

/*
 * Holds the token response and queues its token.issue line: the HTTP thread goes on with
 * other connections while the line waits for its batch's fdatasync (and, with sign_later,
 * while the access token waits for its batch's signature), and grant_settle lets the
 * response go once both are done. Returns HTTP_SUSPENDED, or an error (nothing queued,
 * the response not held: the server answers the error).
 */
static int
hold_until_audited(struct treq *t)
{
	char actor[CLIENTS_ID_MAX + 8];
	struct held_grant *h = t->later;   /* prepared by issue_and_respond: to be signed */
	bool sign = h != NULL;
	int r;

	t->later = NULL;
	if (!sign && (h = calloc(1, sizeof(*h))) == NULL)
		return YH_ERR_ALLOC;
	h->req = t->req;
	h->app = t->app;
	h->grant = t->grant;
	h->pending = sign ? 2 : 1;
	if ((r = sign ? http_req_suspend(t->req) : http_req_hold(t->req)) != 0) {
		held_free(h);
		return r;
	}
	/* Held already: from here on every outcome is answered through grant_settle. */
	if (sign) {
		h->signing = true;
		r = tok_jws_submit(&h->at, t->at_key, "at+jwt", h->claims.data, h->claims.len,
		    grant_signed);
		yh_buf_free(&h->claims);   /* copied into the signing input */
		if (r != 0) {
			h->signing = false;
			grant_settle(h, r);   /* no token: no line either */
			grant_settle(h, r);
			return HTTP_SUSPENDED;
		}
		/* Signed (or failed) already, on this thread: a failure needs no line. h lives
		 * until the settlement below, the last one. */
		if (__atomic_load_n(&h->rc, __ATOMIC_ACQUIRE) != 0) {
			grant_settle(h, 0);
			return HTTP_SUSPENDED;
		}
	}
	audit_actor(t, actor, sizeof(actor));
	if ((r = yh_audit_submit(t->app->audit, "token.issue", actor, t->issued,
	    grant_audited, h)) != 0)
		grant_settle(h, r);
	return HTTP_SUSPENDED;
}

/* ---- authorization_code ------------------------------------------------------------- */

/* RFC 7636 4.6: BASE64URL(SHA256(verifier)) == challenge, compared in constant time. */
static bool
pkce_ok(const char *verifier, const char *challenge)
{
	unsigned char md[32];
	char enc[48];
	size_t n = strlen(verifier), i;
	bool ok;

	if (n < VERIFIER_MIN || n > VERIFIER_MAX)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)verifier[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~'))
			return false;
	}
	if (yh_sha256(verifier, n, md) != 0)
		return false;
	yh_b64url_encode(md, sizeof(md), enc);
	ok = yh_ct_streq(enc, challenge);
	yh_wipe(md, sizeof(md));
	return ok;
}

/* A code came back a second time: revoke what its first redemption issued. */
static int
code_replayed(struct treq *t, const char *payload, const char *prev)
{
	char fam[SESS_PUBID_SIZE] = "", jti[TOK_JTI_LEN + 1] = "";
	const char *colon = prev != NULL ? strchr(prev, ':') : NULL;
	struct oidc_grant g;
	int r;

	memset(&g, 0, sizeof(g));
	if (colon != NULL && (size_t)(colon - prev) < sizeof(fam) &&
	    strlen(colon + 1) < sizeof(jti)) {
		memcpy(fam, prev, (size_t)(colon - prev));
		fam[colon - prev] = '\0';
		memcpy(jti, colon + 1, strlen(colon + 1) + 1);
	}
	if (fam[0] != '\0' && (r = oidc_family_revoke(t->app, t->c, fam)) != 0)
		return r;
	if (jti[0] != '\0' && (r = oidc_at_revoke(t->app->sess, jti,
	    at_lifetime(t->app, t->c) + OIDC_LEEWAY)) != 0)
		return r;
	if (oidc_grant_parse(payload, &g) != 0)
		g.uid = NULL;
	yh_warn("client %s: authorization code replayed; family %s revoked", t->c->id,
	    fam[0] != '\0' ? fam : "-");
	r = audit_event(t, "token.replay", "authorization_code", g.uid, fam, jti, 0, g.org);
	oidc_grant_clear(&g);
	if (r != 0)
		return r;
	return oidc_error(t->req, "invalid_grant", "authorization code already used");
}

/* Checks a redeemed code's grant against the request. NULL = fine, else the reason. */
static const char *
code_check(struct treq *t, const struct oidc_grant *g, const char *redirect_uri,
    const char *verifier)
{
	if (strcmp(g->client_id, t->c->id) != 0)   /* the store binds codes to clients: */
		return "code was issued to another client";  /* a second check only */
	if (redirect_uri == NULL || g->redirect_uri == NULL ||
	    strcmp(redirect_uri, g->redirect_uri) != 0)
		return "redirect_uri does not match";
	if (g->code_challenge != NULL) {
		if (g->code_challenge_method == NULL ||
		    strcmp(g->code_challenge_method, "S256") != 0)
			return "unsupported code_challenge_method";
		if (verifier == NULL)
			return "code_verifier required";
		if (!pkce_ok(verifier, g->code_challenge))
			return "code_verifier does not match";
	} else {
		if (t->c->auth == CLIENTS_AUTH_NONE || t->c->require_pkce)
			return "PKCE required";
		if (verifier != NULL)
			return "code_verifier without code_challenge";
	}
	return NULL;
}

/*
 * A grant acting for an organization: the relation must hold now (the directory is
 * asked at every code redemption and refresh). On success *claim is the yh_org claim
 * (NULL for a grant acting as the person); when the relation has ended the request is
 * answered invalid_grant (http_req_answered) and 0 returned.
 */
static int
org_recheck(struct treq *t, const struct oidc_grant *g, json_t **claim)
{
	int r;

	*claim = NULL;
	if (g->org == NULL)
		return 0;
	r = oidc_org_claim(t->app->dir, g->uid, g->org, g->org_role, t->now, claim);
	if (r != YH_ERR_DENIED)
		return r;
	yh_info("client %s: the user no longer acts for organization %s as %s", t->c->id,
	    g->org, g->org_role);
	return oidc_error(t->req, "invalid_grant",
	    "the user no longer acts for the organization chosen");
}

/* Starts the refresh family of a code grant; *rt gets the token. */
static int
start_family(struct treq *t, const struct oidc_grant *code, unsigned scopes,
    const char *fam_id, char rt[SESS_TOKEN_SIZE])
{
	struct oidc_grant g;
	struct sess_family fam;
	char scope[OIDC_SCOPE_MAX], *payload = NULL;
	int64_t ttl;
	size_t i;
	int r;

	memset(&g, 0, sizeof(g));
	memset(&fam, 0, sizeof(fam));
	if ((r = clients_scope_format(scopes, scope, sizeof(scope))) != 0)
		return r;
	g.offline = (scopes & CLIENTS_SCOPE_OFFLINE_ACCESS) != 0;
	ttl = lifetime_or(t->c->refresh_token_lifetime,
	    oidc_lifetime(t->app, g.offline ? OIDC_LT_OFFLINE : OIDC_LT_REFRESH));
	g.client_id = t->c->id;
	g.uid = code->uid;
	g.sid = code->sid;
	g.scope = scope;
	g.auth_time = code->auth_time;
	g.loa = code->loa;
	g.org = code->org;
	g.org_role = code->org_role;
	for (i = 0; i < code->namr; i++)
		g.amr[i] = code->amr[i];
	g.namr = code->namr;
	g.exp = t->now + ttl;
	if ((r = oidc_grant_json(&g, &payload)) != 0)
		return r;
	if (yh_strlcpy(fam.id, fam_id, sizeof(fam.id)) != 0 ||
	    yh_strlcpy(fam.uid, code->uid, sizeof(fam.uid)) != 0 ||
	    yh_strlcpy(fam.client_id, t->c->id, sizeof(fam.client_id)) != 0 ||
	    (code->sid != NULL && yh_strlcpy(fam.sid, code->sid, sizeof(fam.sid)) != 0) ||
	    (code->org != NULL && yh_strlcpy(fam.org, code->org, sizeof(fam.org)) != 0)) {
		r = YH_ERR_INVALID;
		goto out;
	}
	r = sess_refresh_new(t->app->sess, &fam, payload, ttl, rt);
out:
	free(payload);
	return r;
}

/* The parameters of an authorization_code request (NULL when absent). */
struct code_params {
	char *code;
	char *redirect_uri;
	char *verifier;
};

static void
code_params_free(struct code_params *p)
{
	yh_strfree_secret(p->code);
	free(p->redirect_uri);
	yh_strfree_secret(p->verifier);
	memset(p, 0, sizeof(*p));
}

/* One form parameter (*out NULL when absent and not required). A malformed one, or a
 * required one missing, answers invalid_request (http_req_answered). */
static int
form_param(struct treq *t, const char *name, size_t max, bool required, char **out)
{
	char why[96];
	int r = http_req_form(t->req, name, max, out);

	if (r == 0 || (r == YH_ERR_NOT_FOUND && !required))
		return 0;
	if (r == YH_ERR_ALLOC)
		return r;
	snprintf(why, sizeof(why), "%s %s", name, r == YH_ERR_NOT_FOUND ? "missing" : "malformed");
	return oidc_error(t->req, "invalid_request", why);
}

/* Reads code, redirect_uri and code_verifier, stopping at the first one form_param
 * answered for. */
static int
code_params_read(struct treq *t, struct code_params *p)
{
	int r;

	memset(p, 0, sizeof(*p));
	if ((r = form_param(t, "code", 256, true, &p->code)) == 0 && !http_req_answered(t->req) &&
	    (r = form_param(t, "redirect_uri", CLIENTS_URI_MAX, false, &p->redirect_uri)) == 0 &&
	    !http_req_answered(t->req))
		r = form_param(t, "code_verifier", 256, false, &p->verifier);
	return r;
}

static int
grant_code(struct treq *t)
{
	char *payload = NULL, *prev = NULL;
	char fam[SESS_PUBID_SIZE], issued[ISSUED_MAX], rt[SESS_TOKEN_SIZE] = "";
	struct code_params cp;
	struct oidc_grant g;
	struct issue is;
	const char *why;
	unsigned scopes = 0;
	bool refresh;
	int r;

	memset(&g, 0, sizeof(g));
	memset(&is, 0, sizeof(is));
	memset(&cp, 0, sizeof(cp));
	if (!clients_grant_ok(t->c, CLIENTS_GRANT_AUTHORIZATION_CODE)) {
		r = oidc_error(t->req, "unauthorized_client", "grant not allowed for this client");
		goto out;
	}
	if ((r = code_params_read(t, &cp)) != 0 || http_req_answered(t->req))
		goto out;
	refresh = clients_grant_ok(t->c, CLIENTS_GRANT_REFRESH_TOKEN);
	if ((r = sess_family_id_new(fam)) != 0 || (r = tok_jti_new(is.jti)) != 0)
		goto out;
	snprintf(issued, sizeof(issued), "%s:%s", refresh ? fam : "", is.jti);
	r = sess_code_take(t->app->sess, t->c->id, cp.code, issued, &payload, &prev);
	if (r == YH_ERR_REPLAY) {
		r = code_replayed(t, payload, prev);
		goto out;
	}
	if (r == YH_ERR_NOT_FOUND || r == YH_ERR_INVALID) {
		r = oidc_error(t->req, "invalid_grant", "unknown or expired code");
		goto out;
	}
	if (r != 0)
		goto out;
	if (oidc_grant_parse(payload, &g) != 0) {
		r = oidc_error(t->req, "invalid_grant", "unusable code");
		goto out;
	}
	if ((why = code_check(t, &g, cp.redirect_uri, cp.verifier)) != NULL) {
		r = oidc_error(t->req, "invalid_grant", why);
		goto out;
	}
	if ((r = clients_scope_parse(g.scope, &scopes, NULL)) != 0) {
		r = oidc_error(t->req, "invalid_grant", "unusable code");
		goto out;
	}
	scopes &= t->c->scopes;
	if ((r = org_recheck(t, &g, &is.org)) != 0 || http_req_answered(t->req))
		goto out;
	if (refresh && (r = start_family(t, &g, scopes, fam, rt)) != 0)
		goto out;
	is.g = &g;
	is.scopes = scopes;
	is.nonce = g.nonce;
	is.id_token = (scopes & CLIENTS_SCOPE_OPENID) != 0;
	is.bound = (scopes & CLIENTS_SCOPE_OFFLINE_ACCESS) == 0;
	is.refresh_token = refresh ? rt : NULL;
	is.family = refresh ? fam : NULL;
	if ((r = issue_and_respond(t, &is)) != 0)
		goto out;
	r = audit_issue(t, "authorization_code", g.uid, refresh ? fam : NULL, is.jti, scopes,
	    g.org);
out:
	if (r == YH_ERR_DENIED || r == YH_ERR_NOT_FOUND)   /* person gone or disabled */
		r = oidc_error(t->req, "invalid_grant", "the user cannot be issued tokens");
	yh_wipe(rt, sizeof(rt));
	code_params_free(&cp);
	free(payload);
	free(prev);
	free(is.at);
	free(is.idt);
	json_decref(is.org);
	oidc_grant_clear(&g);
	return r;
}

/* ---- refresh_token ------------------------------------------------------------------ */

/* The refresh token was reused: the store revoked the family; revoke its access
 * tokens too and record it. */
static int
refresh_replayed(struct treq *t, const struct sess_family *fam)
{
	int r;

	if ((r = oidc_family_revoke(t->app, clients_find(t->snap, fam->client_id),
	    fam->id)) != 0)
		return r;
	yh_warn("client %s: refresh token reused; family %s revoked", t->c->id, fam->id);
	if ((r = audit_event(t, "token.replay", "refresh_token", fam->uid, fam->id, NULL, 0,
	    NULL)) != 0)
		return r;
	return oidc_error(t->req, "invalid_grant", "refresh token already used");
}

/*
 * Answers what sess_refresh_peek / sess_refresh_rotate refused: reuse of a rotated token
 * (the store revoked the family) and unknown, expired or revoked tokens. Returns 0 (go
 * on when r was 0; else the request is answered: http_req_answered), or r when it is
 * another error.
 */
static int
refresh_outcome(struct treq *t, int r, const struct sess_family *fam)
{
	if (r == YH_ERR_REPLAY)
		return refresh_replayed(t, fam);
	if (r == YH_ERR_DENIED || r == YH_ERR_NOT_FOUND || r == YH_ERR_INVALID)
		return oidc_error(t->req, "invalid_grant", "unknown, expired or revoked refresh token");
	return r;
}

/*
 * Checks a live refresh token's family and grant before it is rotated: the client, the
 * login session (unless offline), the requested scope. On success *g holds the parsed
 * grant and *scopes the scopes to issue; when a check fails the error response is set
 * (http_req_answered) and 0 is returned. Negative: an internal error.
 */
static int
refresh_checks(struct treq *t, const struct sess_family *fam, const char *payload,
    const char *scope, struct oidc_grant *g, unsigned *scopes)
{
	unsigned granted = 0;
	int r;

	*scopes = 0;
	if (strcmp(fam->client_id, t->c->id) != 0) {
		/* Another client holds this client's token: treat it as stolen. */
		if ((r = oidc_family_revoke(t->app, clients_find(t->snap, fam->client_id),
		    fam->id)) != 0)
			return r;
		return oidc_error(t->req, "invalid_grant", "refresh token issued to another client");
	}
	if (oidc_grant_parse(payload, g) != 0 || clients_scope_parse(g->scope, &granted, NULL) != 0)
		return oidc_error(t->req, "invalid_grant", "unusable refresh token");
	/* The person as they are now, whatever the scope asked (the ID token's claims would
	 * check it only with openid): locked, disabled or deregistered since the grant, they
	 * get nothing more, and the family goes with its access tokens (an offline family
	 * outlives the sessions a lock ends). */
	if ((r = oidc_subject_active(t->app->dir, g->uid)) == YH_ERR_DENIED) {
		if ((r = oidc_family_revoke(t->app, t->c, fam->id)) != 0)
			return r;
		return oidc_error(t->req, "invalid_grant", "the user cannot be issued tokens");
	}
	if (r != 0)
		return r;
	if (!g->offline && g->sid != NULL) {
		r = oidc_sid_alive(t->app->sess, g->uid, g->sid);
		if (r == YH_ERR_NOT_FOUND) {
			if ((r = sess_family_revoke(t->app->sess, fam->id)) != 0 &&
			    r != YH_ERR_NOT_FOUND)
				return r;
			return oidc_error(t->req, "invalid_grant", "the login session has ended");
		}
		if (r != 0)
			return r;
	}
	r = oidc_scope_narrow(granted & t->c->scopes, scope, scopes);
	if (r == YH_ERR_DENIED || r == YH_ERR_INVALID) {
		*scopes = 0;
		return oidc_error(t->req, "invalid_scope", "scope exceeds the original grant");
	}
	if (r == 0 && *scopes == 0)
		return oidc_error(t->req, "invalid_scope", "no scope left");
	return r;
}

/*
 * A refresh grant between its token.issue line and the rotation of the token presented:
 * what the second half (refresh_finish) needs, owned by it, with the snapshots held.
 */
struct refresh_wait {
	struct treq t;
	char *old;                /* the refresh token presented (a secret) */
	struct sess_family fam;
	struct oidc_grant g;
	struct issue is;
	int rc;                   /* how the token.issue line was settled */
};

/* Frees a refresh_wait (also http_req_defer's drop: the server stopped first). */
static void
refresh_wait_free(void *arg)
{
	struct refresh_wait *w = arg;

	if (w == NULL)
		return;
	tok_snap_release(w->t.ring);
	clients_release(w->t.snap);
	yh_strfree_secret(w->old);
	free(w->is.at);
	free(w->is.idt);
	json_decref(w->is.org);
	oidc_grant_clear(&w->g);
	free(w);
}

/* The token.issue line of a refresh is settled (on the audit writer's thread): the
 * request goes on in refresh_finish, on its HTTP thread. */
static void
refresh_audited(void *arg, int rc)
{
	struct refresh_wait *w = arg;

	w->rc = rc;
	http_req_resume(w->t.req);   /* w is refresh_finish's from here on */
}

/* What a refresh grant answers for a person gone or disabled. */
static int
refresh_person_gone(struct treq *t, int r)
{
	if (r == YH_ERR_DENIED || r == YH_ERR_NOT_FOUND)
		return oidc_error(t->req, "invalid_grant", "the user cannot be issued tokens");
	return r;
}

/*
 * The second half of a refresh grant, on the request's HTTP thread once its token.issue
 * line is on disk: rotates the token presented and answers the new tokens. When the
 * line could not be written the token is left as it was and the client gets 503 or 500.
 */
static int
refresh_finish(struct http_req *req, void *arg)
{
	struct refresh_wait *w = arg;
	struct treq *t = &w->t;
	char rt[SESS_TOKEN_SIZE] = "", *payload = NULL;
	int r;

	t->now = yh_now();
	if ((r = w->rc) != 0)
		goto out;
	r = sess_refresh_rotate(t->app->sess, w->old, rt, &w->fam, &payload);
	if ((r = refresh_outcome(t, r, &w->fam)) != 0 || http_req_answered(req))
		goto out;
	w->is.g = &w->g;
	w->is.id_token = (w->is.scopes & CLIENTS_SCOPE_OPENID) != 0;
	w->is.bound = !w->g.offline;
	w->is.refresh_token = rt;
	w->is.family = w->fam.id;
	if ((r = issue_and_respond(t, &w->is)) == 0)
		count_grant(t->app, "refresh_token");
out:
	r = refresh_person_gone(t, r);
	if (r == 0)   /* the answer, success or refusal, is for the client it names */
		r = oidc_cors_named(req, t->snap);
	yh_wipe(rt, sizeof(rt));
	free(payload);
	refresh_wait_free(w);
	return r;
}

/*
 * Queues the token.issue line (fields f) of a refresh whose checks passed and defers the
 * rest to refresh_finish: the HTTP thread serves other connections while the line waits
 * for its batch's fdatasync. Takes *old, *g, is->org and t's snapshots (left NULL).
 * Returns HTTP_SUSPENDED, or an error with nothing queued.
 */
static int
refresh_defer(struct treq *t, char **old, const struct sess_family *fam,
    struct oidc_grant *g, struct issue *is, json_t *f)
{
	char actor[CLIENTS_ID_MAX + 8];
	struct refresh_wait *w;
	int r;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return YH_ERR_ALLOC;
	w->t = *t;
	t->snap = NULL;
	t->ring = NULL;
	w->old = *old;
	*old = NULL;
	w->fam = *fam;
	w->g = *g;
	memset(g, 0, sizeof(*g));
	w->is = *is;
	is->org = NULL;
	if ((r = http_req_defer(t->req, refresh_finish, refresh_wait_free, w)) != 0) {
		refresh_wait_free(w);
		return r;
	}
	audit_actor(&w->t, actor, sizeof(actor));
	if ((r = yh_audit_submit(w->t.app->audit, "token.issue", actor, f, refresh_audited,
	    w)) != 0)
		refresh_audited(w, r);   /* answered through refresh_finish */
	return HTTP_SUSPENDED;
}

static int
grant_refresh(struct treq *t)
{
	char *old = NULL, *scope = NULL, *payload = NULL, rt[SESS_TOKEN_SIZE] = "";
	struct sess_family fam;
	struct oidc_grant g;
	struct issue is;
	json_t *f = NULL;
	int r;

	memset(&g, 0, sizeof(g));
	memset(&is, 0, sizeof(is));
	if (!clients_grant_ok(t->c, CLIENTS_GRANT_REFRESH_TOKEN)) {
		r = oidc_error(t->req, "unauthorized_client", "grant not allowed for this client");
		goto out;
	}
	if ((r = form_param(t, "refresh_token", 256, true, &old)) != 0 ||
	    http_req_answered(t->req) ||
	    (r = form_param(t, "scope", OIDC_SCOPE_MAX, false, &scope)) != 0 ||
	    http_req_answered(t->req))
		goto out;
	/* Look first, rotate last: a request refused for its scope or its client must not
	 * consume the token. A token already rotated goes to rotate, which detects reuse. */
	r = sess_refresh_peek(t->app->sess, old, &fam, &payload);
	if (r == YH_ERR_DENIED && (r = sess_refresh_rotate(t->app->sess, old, rt, &fam,
	    &payload)) == 0)
		r = YH_ERR_DENIED;       /* cannot happen: a rotated token never comes back */
	if ((r = refresh_outcome(t, r, &fam)) != 0 || http_req_answered(t->req))
		goto out;
	if ((r = refresh_checks(t, &fam, payload, scope, &g, &is.scopes)) != 0 ||
	    http_req_answered(t->req))
		goto out;
	if ((r = org_recheck(t, &g, &is.org)) != 0)
		goto out;
	if (http_req_answered(t->req)) {   /* the relation ended: so does the family */
		r = oidc_family_revoke(t->app, t->c, fam.id);
		goto out;
	}
	/*
	 * The token.issue line is durable before the presented token is consumed, not held
	 * after the rotation as for the other grants: when the line cannot be written the
	 * client is answered 503 and its token still refreshes once the log takes lines
	 * again. Rotated first, that retry would be the reuse of a rotated token, which
	 * revokes the whole family. A rotation that then fails (another request rotated it
	 * first) leaves a line for tokens never sent. The rotation and the answer come in
	 * refresh_finish, on this request's HTTP thread once the line is on disk; the thread
	 * does not wait for the flush meanwhile.
	 */
	if ((r = tok_jti_new(is.jti)) != 0 ||
	    (r = audit_fields(t, "refresh_token", g.uid, fam.id, is.jti, is.scopes, g.org,
	    &f)) != 0)
		goto out;
	r = refresh_defer(t, &old, &fam, &g, &is, f);
out:
	r = refresh_person_gone(t, r);
	json_decref(f);
	yh_wipe(rt, sizeof(rt));
	yh_strfree_secret(old);
	free(scope);
	free(payload);
	json_decref(is.org);
	oidc_grant_clear(&g);
	return r;
}

/* ---- device_code (RFC 8628) ---------------------------------------------------------- */

/* The answer to a poll that issues nothing (RFC 8628 3.5); a device code redeemed or
 * refused before is audited as a replay. */
static int
device_refused(struct treq *t, enum oidc_dev_poll res)
{
	int r;

	switch (res) {
	case OIDC_DEV_POLL_PENDING:
		return oidc_error(t->req, "authorization_pending", NULL);
	case OIDC_DEV_POLL_SLOW_DOWN:
		return oidc_error(t->req, "slow_down", "polling faster than the interval");
	case OIDC_DEV_POLL_DENIED:
		if ((r = audit_event(t, "device.denied", OIDC_DEV_GRANT_TYPE, NULL, NULL, NULL, 0,
		    NULL)) != 0)
			return r;
		return oidc_error(t->req, "access_denied", "the user refused");
	case OIDC_DEV_POLL_EXPIRED:
		return oidc_error(t->req, "expired_token", "the device code has expired");
	default:
		yh_warn("client %s: device code used again", t->c->id);
		if ((r = audit_event(t, "token.replay", OIDC_DEV_GRANT_TYPE, NULL, NULL, NULL, 0,
		    NULL)) != 0)
			return r;
		return oidc_error(t->req, "invalid_grant", "device code already used");
	}
}

static int
grant_device(struct treq *t)
{
	char *code = NULL, *payload = NULL, fam[SESS_PUBID_SIZE], rt[SESS_TOKEN_SIZE] = "";
	enum oidc_dev_poll res = OIDC_DEV_POLL_USED;
	struct oidc_grant g;
	struct issue is;
	unsigned scopes = 0;
	bool refresh;
	int r;

	memset(&g, 0, sizeof(g));
	memset(&is, 0, sizeof(is));
	if (!clients_grant_ok(t->c, CLIENTS_GRANT_DEVICE_CODE)) {
		r = oidc_error(t->req, "unauthorized_client", "grant not allowed for this client");
		goto out;
	}
	if ((r = form_param(t, "device_code", 256, true, &code)) != 0 || http_req_answered(t->req))
		goto out;
	r = oidc_dev_poll(t->app, t->c->id, code, yh_now_ms(), &res, &payload);
	if (r == YH_ERR_NOT_FOUND) {
		r = oidc_error(t->req, "invalid_grant", "unknown device code");
		goto out;
	}
	if (r != 0)
		goto out;
	if (res != OIDC_DEV_POLL_ISSUE) {
		r = device_refused(t, res);
		goto out;
	}
	if (oidc_grant_parse(payload, &g) != 0 || strcmp(g.client_id, t->c->id) != 0 ||
	    clients_scope_parse(g.scope, &scopes, NULL) != 0) {
		r = oidc_error(t->req, "invalid_grant", "unusable device code");
		goto out;
	}
	scopes &= t->c->scopes;
	refresh = clients_grant_ok(t->c, CLIENTS_GRANT_REFRESH_TOKEN);
	if ((r = sess_family_id_new(fam)) != 0 || (r = tok_jti_new(is.jti)) != 0)
		goto out;
	if (refresh && (r = start_family(t, &g, scopes, fam, rt)) != 0)
		goto out;
	is.g = &g;
	is.scopes = scopes;
	is.id_token = (scopes & CLIENTS_SCOPE_OPENID) != 0;
	is.bound = (scopes & CLIENTS_SCOPE_OFFLINE_ACCESS) == 0;
	is.refresh_token = refresh ? rt : NULL;
	is.family = refresh ? fam : NULL;
	if ((r = issue_and_respond(t, &is)) != 0)
		goto out;
	r = audit_issue(t, "device_code", g.uid, refresh ? fam : NULL, is.jti, scopes, NULL);
out:
	if (r == YH_ERR_DENIED)   /* person gone or disabled */
		r = oidc_error(t->req, "invalid_grant", "the user cannot be issued tokens");
	yh_wipe(rt, sizeof(rt));
	yh_strfree_secret(code);
	free(payload);
	free(is.at);
	free(is.idt);
	oidc_grant_clear(&g);
	return r;
}

/* ---- client_credentials ------------------------------------------------------------- */

static int
grant_client_credentials(struct treq *t)
{
	char *scope = NULL;
	struct issue is;
	unsigned bits = 0;
	int r;

	memset(&is, 0, sizeof(is));
	if (t->c->auth == CLIENTS_AUTH_NONE ||
	    !clients_grant_ok(t->c, CLIENTS_GRANT_CLIENT_CREDENTIALS)) {
		r = oidc_error(t->req, "unauthorized_client", "grant not allowed for this client");
		goto out;
	}
	if ((r = form_param(t, "scope", OIDC_SCOPE_MAX, false, &scope)) != 0 ||
	    http_req_answered(t->req))
		goto out;
	if ((r = oidc_scope_grant(t->c, scope, &bits)) != 0) {
		r = oidc_error(t->req, "invalid_scope", "scope malformed");
		goto out;
	}
	/* No user: scopes about a person make no sense here. What can be granted of a
	 * request is granted and named in the answer's scope (RFC 6749 section 3.3); a
	 * request of which nothing can be (unknown scopes, scopes this client does not
	 * have, only scopes about a person) is refused rather than answered with a token
	 * of no scope, which the answer could not even name. */
	is.scopes = bits & ~(unsigned)(CLIENTS_SCOPE_OPENID | CLIENTS_SCOPE_OFFLINE_ACCESS |
	    CLIENTS_SCOPE_ID_NUMBER);
	if (scope != NULL && scope[0] != '\0' && is.scopes == 0) {
		r = oidc_error(t->req, "invalid_scope", "none of the requested scopes can be "
		    "granted to this client without a user");
		goto out;
	}
	if ((r = tok_jti_new(is.jti)) != 0)
		goto out;
	if (t->c->org != NULL &&
	    (r = oidc_org_client_claim(t->app->dir, t->c->org, &is.org)) != 0) {
		if (r == YH_ERR_DENIED)
			r = oidc_error(t->req, "unauthorized_client",
			    "the organization this app acts for is not active");
		goto out;
	}
	t->sign_later = true;
	if ((r = issue_and_respond(t, &is)) != 0)
		goto out;
	r = audit_issue(t, "client_credentials", NULL, NULL, is.jti, is.scopes, t->c->org);
out:
	free(scope);
	free(is.at);
	json_decref(is.org);
	return r;
}

/* ---- the endpoint ---------------------------------------------------------------------- */

static int
token_handler(struct http_req *req, void *arg)
{
	struct treq t;
	char *grant = NULL, url[CLIENTS_URI_MAX + 16];
	int r;

	memset(&t, 0, sizeof(t));
	t.app = arg;
	t.req = req;
	t.now = yh_now();
	http_resp_no_store(req);
	(void)clients_refresh_if_changed(t.app->clients);
	t.snap = clients_acquire(t.app->clients);
	r = http_req_form(req, "grant_type", 64, &grant);
	if (r == YH_ERR_ALLOC)
		goto out;
	if (r != 0) {
		r = oidc_error(req, "invalid_request", "grant_type missing or malformed "
		    "(the body must be application/x-www-form-urlencoded)");
		goto out;
	}
	snprintf(url, sizeof(url), "%s/token", t.app->issuer);
	if ((r = oidc_client_authenticate(req, t.app, t.snap, url, &t.ca)) != 0) {
		r = oidc_client_auth_fail(req, &t.ca, r);
		goto out;
	}
	t.c = t.ca.client;
	t.ring = tok_ring_acquire(t.app->ring);
	if ((t.id_key = oidc_client_key(t.ring, t.c, oidc_default_alg(t.app), false)) == NULL ||
	    (t.at_key = oidc_client_key(t.ring, t.c, oidc_default_alg(t.app), true)) == NULL) {
		r = YH_ERR_KEY;
		goto out;
	}
	if (strcmp(grant, "authorization_code") == 0)
		r = grant_code(&t);
	else if (strcmp(grant, "refresh_token") == 0)
		r = grant_refresh(&t);
	else if (strcmp(grant, "client_credentials") == 0)
		r = grant_client_credentials(&t);
	else if (strcmp(grant, OIDC_DEV_GRANT_TYPE) == 0)
		r = grant_device(&t);
	else
		r = oidc_error(req, "unsupported_grant_type", NULL);
out:
	if (r == 0)   /* the answer, success or refusal, is for the client it names */
		r = oidc_cors_named(req, t.snap);
	if (r == 0 && t.issued != NULL)
		r = hold_until_audited(&t);
	json_decref(t.issued);
	held_free(t.later);
	tok_snap_release(t.ring);
	clients_release(t.snap);
	free(grant);
	return r;
}

/* ---- revoked access tokens (shared with userinfo, introspection, the account page) -------- */

int
oidc_at_revoked(struct sess_store *sess, const char *jti)
{
	return sess_deny_check(sess, SESS_DENY_ACCESS, jti);
}

int
oidc_at_revoke(struct sess_store *sess, const char *jti, int64_t ttl_s)
{
	if (ttl_s < 1)
		ttl_s = 1;
	if (ttl_s > SESS_DENY_TTL_MAX)
		ttl_s = SESS_DENY_TTL_MAX;
	return sess_deny_add(sess, SESS_DENY_ACCESS, jti, ttl_s);
}

int
oidc_family_revoke(struct authd_app *app, const struct clients_client *owner,
    const char *family_id)
{
	int r;

	if ((r = sess_family_revoke(app->sess, family_id)) != 0 && r != YH_ERR_NOT_FOUND)
		return r;
	return sess_deny_add(app->sess, SESS_DENY_FAMILY, family_id,
	    at_lifetime(app, owner) + OIDC_LEEWAY);
}

int
oidc_family_revoked(struct sess_store *sess, const char *family_id)
{
	return sess_deny_check(sess, SESS_DENY_FAMILY, family_id);
}

/* How long an access token of client_id (NULL: of any registered client) can live, plus
 * the leeway: the denylist TTL of a revoked family. */
static int64_t
family_deny_ttl(struct authd_app *app, const char *client_id)
{
	struct clients_snap *snap = clients_acquire(app->clients);
	int64_t ttl = at_lifetime(app, NULL);

	if (client_id != NULL) {
		ttl = at_lifetime(app, clients_find(snap, client_id));
	} else {
		for (size_t i = 0; i < clients_count(snap); i++)
			if (at_lifetime(app, clients_at(snap, i)) > ttl)
				ttl = at_lifetime(app, clients_at(snap, i));
	}
	clients_release(snap);
	return ttl + OIDC_LEEWAY;
}

int
oidc_user_families_revoke(struct authd_app *app, const char *uid, const char *client_id,
    size_t *n)
{
	if (n != NULL)
		*n = 0;
	return sess_refresh_revoke_user(app->sess, uid, client_id,
	    family_deny_ttl(app, client_id), n);
}

int
oidc_user_end(struct authd_app *app, const char *uid, bool grants, size_t *sessions,
    size_t *families)
{
	int r;

	if (families != NULL)
		*families = 0;
	if ((r = sess_end_user(app->sess, uid, SESS_END_ADMIN, NULL, sessions)) == 0 && grants)
		r = oidc_user_families_revoke(app, uid, NULL, families);
	return r;
}

int
oidc_org_families_revoke(struct authd_app *app, const char *uid, const char *uscc,
    struct sess_family *out, size_t max, size_t *n)
{
	if (n != NULL)
		*n = 0;
	return sess_refresh_revoke_org(app->sess, uid, uscc, family_deny_ttl(app, NULL), out,
	    max, n);
}

/* Tells the apps of the revoked families bound to a session; returns how many were
 * queued. */
static size_t
org_logouts(struct authd_app *app, const struct sess_family *fams, size_t n)
{
	size_t queued = 0;

	for (size_t i = 0; i < n; i++) {
		if (fams[i].sid[0] == '\0')
			continue;
		if (bcl_client_logout(app->bcl, fams[i].uid, fams[i].sid, fams[i].client_id,
		    SESS_END_ADMIN) == 0)
			queued++;
		else
			yh_warn("back-channel logout to client %s (sid %s) not queued",
			    fams[i].client_id, fams[i].sid);
	}
	return queued;
}

int
oidc_org_relation_ended(struct authd_app *app, const char *uid, const struct dir_org *o,
    size_t *families, size_t *logouts)
{
	struct sess_family *fams;
	size_t n = 0;
	int r;

	*families = *logouts = 0;
	/* Grants name the organization by its credit code: none without one. */
	if (o->uscc == NULL)
		return 0;
	if ((fams = calloc(OIDC_ORG_FAMILIES_MAX, sizeof(*fams))) == NULL)
		return YH_ERR_ALLOC;
	r = oidc_org_families_revoke(app, uid, o->uscc, fams, OIDC_ORG_FAMILIES_MAX, &n);
	*logouts = org_logouts(app, fams, n < OIDC_ORG_FAMILIES_MAX ? n :
	    OIDC_ORG_FAMILIES_MAX);
	*families = n;
	free(fams);
	return r;
}

static const struct http_route token_routes[] = {
	{ "POST", "/token", token_handler, HTTP_ROUTE_NO_STORE | HTTP_ROUTE_PREAUTH },
	{ NULL, NULL, NULL, 0 },
};

int
oidc_token_register(struct http_server *srv, struct authd_app *app)
{
	return http_routes_add(srv, token_routes, app);
}
