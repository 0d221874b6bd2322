/*
 * Ticket validation: GET /cas/validate (CAS 1.0), /cas/serviceValidate and
 * /cas/proxyValidate (2.0), /cas/p3/serviceValidate and /cas/p3/proxyValidate (3.0, with
 * attributes); XML, or JSON with format=JSON. The rules are at the top of
 * authd/cas/cas.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "authcore/clients/clients.h"
#include "authd/app.h"
#include "authd/cas/cas.h"
#include "authd/login/login.h"
#include "authd/oidc/oidc.h"
#include "authd/session/sess.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/timeutil.h"
#include "identity/dir/dir.h"

#define CV_BODY_MAX 65536             /* bytes of a response */
#define CV_ID_SCOPES (CLIENTS_SCOPE_PROFILE | CLIENTS_SCOPE_PHONE | CLIENTS_SCOPE_EMAIL | \
	CLIENTS_SCOPE_ID_NUMBER)

enum cv_version { CV_1 = 1, CV_2, CV_3 };

/* What a validation found. */
struct cv_result {
	const char *code;                 /* NULL: success; else the CAS error code */
	const char *description;          /* English, static */
	const struct clients_client *client;
	struct sess_ticket t;             /* the ticket's record (when it was found) */
	char sub[OIDC_SUB_SIZE];          /* the pairwise subject */
	char *legacy_id;                  /* the person's id in the app's old system; NULL */
	const char *user;                 /* <cas:user>: sub, or legacy_id (cas_user legacy) */
	json_t *claims;                   /* 3.0: the released claims */
	char iou[CAS_IOU_SIZE];           /* the PGTIOU of a proxy-granting ticket; "" */
};

static void
cv_fail(struct cv_result *res, const char *code, const char *description)
{
	res->code = code;
	res->description = description;
}

/* The user of an app with a legacy_source: its old id of the person, when the claims
 * carry one (moved out of them: 3.0 names it legacyId); without one, the pairwise
 * subject, or with legacy_required a code. */
static void
cv_legacy_user(json_t *claims, struct cv_result *res)
{
	const struct clients_client *c = res->client;
	const char *id = json_string_value(json_object_get(claims, "yh_legacy_id"));

	res->user = res->sub;
	if (id == NULL) {
		if (c->legacy_required)
			cv_fail(res, "INVALID_TICKET", "the person has no account in the system "
			    "this app was registered with (legacy_required)");
		return;
	}
	if ((res->legacy_id = strdup(id)) == NULL) {
		cv_fail(res, "INTERNAL_ERROR", "out of memory");
		return;
	}
	if (c->cas_user == CLIENTS_CAS_USER_LEGACY)
		res->user = res->legacy_id;
}

/* The person's subject and claims for the ticket's app; a code when they cannot be. */
static void
cv_person(struct authd_app *app, enum cv_version v, struct cv_result *res)
{
	const struct clients_client *c = res->client;
	json_t *claims = NULL;
	int r;

	r = oidc_user_claims(app->dir, c, res->t.uid, c->scopes & CV_ID_SCOPES, &claims);
	if (r == YH_ERR_NOT_FOUND || r == YH_ERR_DENIED) {
		cv_fail(res, "INVALID_TICKET", "the person is no longer active");
		return;
	}
	if (r != 0 || oidc_pairwise_sub(app->keys, app->dir, oidc_client_sector(c), res->t.uid,
	    res->sub) != 0) {
		json_decref(claims);
		cv_fail(res, "INTERNAL_ERROR", "the person could not be read");
		return;
	}
	cv_legacy_user(claims, res);
	if (res->code != NULL) {
		json_decref(claims);
		return;
	}
	if (v == CV_3)
		res->claims = claims;
	else
		json_decref(claims);
}

/* Takes the ticket, a service ticket or (proxy) a proxy ticket: a proxy ticket at an
 * endpoint that does not take them is used up all the same, and refused. */
static int
cv_take(struct authd_app *app, const char *ticket, bool proxy, struct cv_result *res)
{
	int r;

	if (strncmp(ticket, "PT-", 3) != 0)
		return sess_ticket_take(app->sess, ticket, &res->t);
	r = sess_cas_take(app->sess, SESS_CAS_PT, ticket, &res->t);
	if (!proxy && (r == 0 || r == YH_ERR_REPLAY)) {
		cv_fail(res, "INVALID_TICKET", "a proxy ticket is validated at /proxyValidate, "
		    "not here");
		return YH_ERR_DENIED;
	}
	return r;
}

/* Decides a validation: takes the ticket (once, whatever follows) and checks it. */
static void
cv_decide(struct authd_app *app, enum cv_version v, bool proxy, const char *service,
    const char *ticket, bool renew, const struct clients_snap *cs, struct cv_result *res)
{
	int r;

	if (service == NULL || ticket == NULL) {
		cv_fail(res, "INVALID_REQUEST", "service and ticket are required, once each");
		return;
	}
	if ((r = cv_take(app, ticket, proxy, res)) == YH_ERR_DENIED)
		return;
	if (r == YH_ERR_NOT_FOUND || r == YH_ERR_REPLAY) {
		cv_fail(res, "INVALID_TICKET", r == YH_ERR_REPLAY ?
		    "the ticket was used before" : "the ticket is unknown or expired");
		return;
	}
	if (r != 0) {
		cv_fail(res, "INTERNAL_ERROR", "the ticket store is unavailable");
		return;
	}
	res->client = clients_find(cs, res->t.client_id);
	if (strcmp(res->t.service, service) != 0 || res->client == NULL ||
	    !clients_cas_service_ok(res->client, service)) {
		cv_fail(res, "INVALID_SERVICE", "the ticket was not issued for this service");
		return;
	}
	if (res->client->disabled) {
		cv_fail(res, "UNAUTHORIZED_SERVICE", "the app of this service is disabled");
		return;
	}
	if (renew && !res->t.renewed) {
		cv_fail(res, "INVALID_TICKET", "renew: the ticket is not from a new login");
		return;
	}
	cv_person(app, v, res);
}

/* The audit line of a validation; a failure to write it turns a success into one. */
static void
cv_audit(struct authd_app *app, enum cv_version v, const char *service,
    struct cv_result *res)
{
	char actor[SESS_UID_MAX + 16];
	json_t *f;

	snprintf(actor, sizeof(actor), "user:%s", res->t.uid[0] != '\0' ? res->t.uid :
	    "unknown");
	f = json_pack("{s:s, s:s?, s:s, s:s, s:i, s:b}", "client", res->t.client_id, "service",
	    service, "result", res->code != NULL ? res->code : "success", "sid", res->t.sid,
	    "cas_version", (int)v, "proxied", res->t.proxies[0] != '\0');
	if (f == NULL || login_audit(app, "cas.validate", actor, f) != 0) {
		if (res->code == NULL)
			cv_fail(res, "INTERNAL_ERROR", "the validation could not be recorded");
	}
	json_decref(f);
}

/* ---- the answers --------------------------------------------------------------------- */

/* A claim's value as text (strings as they are, booleans and numbers written out). */
static const char *
claim_text(json_t *v, char *tmp, size_t tmpsz)
{
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_boolean(v))
		return json_is_true(v) ? "true" : "false";
	if (json_is_integer(v)) {
		snprintf(tmp, tmpsz, "%lld", (long long)json_integer_value(v));
		return tmp;
	}
	return NULL;
}

/* Renames member from of o (when there is one) to to. */
static int
attr_rename(json_t *o, const char *from, const char *to)
{
	json_t *v = json_object_get(o, from);

	if (v == NULL)
		return 0;
	if (json_object_set(o, to, v) != 0 || json_object_del(o, from) != 0)
		return YH_ERR_ALLOC;
	return 0;
}

/* The 3.0 attributes as a JSON object (a new reference; NULL: out of memory). */
static json_t *
cv_attributes(const struct cv_result *res)
{
	char acr[OIDC_ACR_SIZE], when[40];
	json_t *o = res->claims != NULL ? json_deep_copy(res->claims) : json_object();

	if (o == NULL || oidc_acr_format(res->t.loa, acr) != 0) {
		json_decref(o);
		return NULL;
	}
	yh_time_iso8601(res->t.auth_time * 1000, when, sizeof(when));
	if (attr_rename(o, "yh_legacy_id", "legacyId") != 0 ||
	    attr_rename(o, "yh_legacy_username", "legacyUsername") != 0 ||
	    json_object_set_new(o, "sub", json_string(res->sub)) != 0 ||
	    json_object_set_new(o, "loa", json_string(acr)) != 0 ||
	    json_object_set_new(o, "authenticationDate", json_string(when)) != 0 ||
	    json_object_set_new(o, "isFromNewLogin", json_boolean(res->t.renewed)) != 0 ||
	    json_object_set_new(o, "longTermAuthenticationRequestTokenUsed",
	    json_false()) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* <cas:proxyGrantingTicket> when one was granted, <cas:proxies> for a proxy ticket. */
static int
cv_xml_proxy(struct yh_buf *b, const struct cv_result *res)
{
	char url[SESS_SERVICE_MAX + 1];
	const char *p = res->t.proxies;
	int r = 0;

	if (res->iou[0] != '\0' && (r = yh_buf_puts(b, "    ")) == 0 &&
	    (r = cas_xml_elem(b, "proxyGrantingTicket", res->iou)) == 0)
		r = yh_buf_putc(b, '\n');
	if (r != 0 || *p == '\0')
		return r;
	r = yh_buf_puts(b, "    <cas:proxies>\n");
	while (r == 0 && *p != '\0') {
		size_t n = strcspn(p, "\n");

		if (n >= sizeof(url))
			return YH_ERR_INVALID;
		memcpy(url, p, n);
		url[n] = '\0';
		p += n + (p[n] == '\n');
		if ((r = yh_buf_puts(b, "      ")) == 0 && (r = cas_xml_elem(b, "proxy", url)) == 0)
			r = yh_buf_putc(b, '\n');
	}
	return r == 0 ? yh_buf_puts(b, "    </cas:proxies>\n") : r;
}

static int
cv_xml(struct yh_buf *b, enum cv_version v, const struct cv_result *res)
{
	char tmp[32];
	const char *k, *text;
	json_t *attrs = NULL, *val;
	int r;

	if ((r = yh_buf_puts(b, "<cas:serviceResponse xmlns:cas=\"" CAS_XML_NS "\">\n")) != 0)
		return r;
	if (res->code != NULL) {
		if ((r = yh_buf_printf(b, "  <cas:authenticationFailure code=\"%s\">",
		    res->code)) == 0 && (r = cas_xml_text(b, res->description)) == 0)
			r = yh_buf_puts(b, "</cas:authenticationFailure>\n");
		goto out;
	}
	if ((r = yh_buf_puts(b, "  <cas:authenticationSuccess>\n    ")) != 0 ||
	    (r = cas_xml_elem(b, "user", res->user)) != 0 || (r = yh_buf_putc(b, '\n')) != 0)
		goto out;
	if (v == CV_3) {
		if ((attrs = cv_attributes(res)) == NULL) {
			r = YH_ERR_ALLOC;
			goto out;
		}
		r = yh_buf_puts(b, "    <cas:attributes>\n");
		json_object_foreach(attrs, k, val) {
			if (r != 0 || (text = claim_text(val, tmp, sizeof(tmp))) == NULL)
				continue;
			if ((r = yh_buf_puts(b, "      ")) == 0 &&
			    (r = cas_xml_elem(b, k, text)) == 0)
				r = yh_buf_putc(b, '\n');
		}
		if (r == 0)
			r = yh_buf_puts(b, "    </cas:attributes>\n");
	}
	if (r == 0)
		r = cv_xml_proxy(b, res);
	if (r == 0)
		r = yh_buf_puts(b, "  </cas:authenticationSuccess>\n");
out:
	if (r == 0)
		r = yh_buf_puts(b, "</cas:serviceResponse>\n");
	json_decref(attrs);
	return r;
}

/* proxyGrantingTicket and proxies (in the chain's order, most recent first) into o. */
static int
cv_json_proxy(json_t *o, const struct cv_result *res)
{
	const char *p = res->t.proxies;
	json_t *a;

	if (res->iou[0] != '\0' &&
	    json_object_set_new(o, "proxyGrantingTicket", json_string(res->iou)) != 0)
		return YH_ERR_ALLOC;
	if (*p == '\0')
		return 0;
	if ((a = json_array()) == NULL || json_object_set_new(o, "proxies", a) != 0)
		return YH_ERR_ALLOC;
	while (*p != '\0') {
		size_t n = strcspn(p, "\n");

		if (json_array_append_new(a, json_stringn(p, n)) != 0)
			return YH_ERR_ALLOC;
		p += n + (p[n] == '\n');
	}
	return 0;
}

/* The JSON form of the same answer (CAS 3.0 appendix). */
static json_t *
cv_json(enum cv_version v, const struct cv_result *res)
{
	json_t *inner;

	if (res->code != NULL)
		inner = json_pack("{s:{s:s, s:s}}", "authenticationFailure", "code", res->code,
		    "description", res->description);
	else if (v == CV_3)
		inner = json_pack("{s:{s:s, s:o*}}", "authenticationSuccess", "user", res->user,
		    "attributes", cv_attributes(res));
	else
		inner = json_pack("{s:{s:s}}", "authenticationSuccess", "user", res->user);
	if (inner != NULL && res->code == NULL &&
	    cv_json_proxy(json_object_get(inner, "authenticationSuccess"), res) != 0) {
		json_decref(inner);
		inner = NULL;
	}
	return inner != NULL ? json_pack("{s:o}", "serviceResponse", inner) : NULL;
}

static int
cv_answer(struct http_req *req, enum cv_version v, bool json, const struct cv_result *res)
{
	struct yh_buf b;
	json_t *o;
	int r;

	if (v == CV_1) {
		char line[DIR_LEGACY_FIELD_MAX + OIDC_SUB_SIZE + 8];

		snprintf(line, sizeof(line), "%s", res->code != NULL ? "no\n" : "");
		if (res->code == NULL)
			snprintf(line, sizeof(line), "yes\n%s\n", res->user);
		return http_respond(req, 200, "text/plain; charset=UTF-8", line, strlen(line));
	}
	if (json) {
		if ((o = cv_json(v, res)) == NULL)
			return YH_ERR_ALLOC;
		return http_respond_json(req, 200, o);
	}
	yh_buf_init(&b, CV_BODY_MAX);
	if ((r = cv_xml(&b, v, res)) == 0)
		r = http_respond(req, 200, "application/xml; charset=UTF-8", b.data, b.len);
	yh_buf_free(&b);
	return r;
}

/* ---- HTTP ---------------------------------------------------------------------------- */

static int
cv_handle(struct http_req *req, struct authd_app *app, enum cv_version v, bool proxy)
{
	struct cv_result res;
	struct clients_snap *cs;
	const char *service, *ticket, *renew, *format, *pgt_url;
	bool bad = false, json;
	int r;

	memset(&res, 0, sizeof(res));
	service = cas_param(req, "service", SESS_SERVICE_MAX, &bad);
	ticket = cas_param(req, "ticket", CAS_TICKET_PARAM_MAX, &bad);
	renew = cas_param(req, "renew", 16, &bad);
	format = cas_param(req, "format", 16, &bad);
	pgt_url = v != CV_1 ? cas_param(req, "pgtUrl", SESS_SERVICE_MAX, &bad) : NULL;
	json = v != CV_1 && format != NULL && strcmp(format, "JSON") == 0;
	(void)clients_refresh_if_changed(app->clients);
	cs = clients_acquire(app->clients);
	if (bad)
		cv_fail(&res, "INVALID_REQUEST", "a parameter is repeated, too long or malformed");
	else
		cv_decide(app, v, proxy, service, ticket, renew != NULL &&
		    strcmp(renew, "false") != 0, cs, &res);
	if (res.code != NULL && strcmp(res.code, "INVALID_REQUEST") != 0)
		yh_debug("cas validate: %s (%s)", res.code, res.description);
	cv_audit(app, v, service, &res);
	/* a proxy-granting ticket only for a validation that succeeds and is recorded */
	if (res.code == NULL && pgt_url != NULL &&
	    cas_pgt_grant(app, res.client, &res.t, pgt_url, res.iou) != 0)
		res.iou[0] = '\0';
	r = cv_answer(req, v, json, &res);
	clients_release(cs);
	json_decref(res.claims);
	free(res.legacy_id);
	yh_wipe(&res.t, sizeof(res.t));
	yh_wipe(res.iou, sizeof(res.iou));
	return r;
}

static int
cas_validate_v1(struct http_req *req, void *arg)
{
	return cv_handle(req, arg, CV_1, false);
}

static int
cas_validate_v2(struct http_req *req, void *arg)
{
	return cv_handle(req, arg, CV_2, false);
}

static int
cas_validate_v3(struct http_req *req, void *arg)
{
	return cv_handle(req, arg, CV_3, false);
}

static int
cas_proxy_validate_v2(struct http_req *req, void *arg)
{
	return cv_handle(req, arg, CV_2, true);
}

static int
cas_proxy_validate_v3(struct http_req *req, void *arg)
{
	return cv_handle(req, arg, CV_3, true);
}

static const struct http_route cas_validate_routes[] = {
	{ "GET", "/cas/validate", cas_validate_v1, HTTP_ROUTE_NO_STORE | HTTP_ROUTE_PREAUTH },
	{ "GET", "/cas/serviceValidate", cas_validate_v2,
	  HTTP_ROUTE_NO_STORE | HTTP_ROUTE_PREAUTH },
	{ "GET", "/cas/p3/serviceValidate", cas_validate_v3,
	  HTTP_ROUTE_NO_STORE | HTTP_ROUTE_PREAUTH },
	{ "GET", "/cas/proxyValidate", cas_proxy_validate_v2,
	  HTTP_ROUTE_NO_STORE | HTTP_ROUTE_PREAUTH },
	{ "GET", "/cas/p3/proxyValidate", cas_proxy_validate_v3,
	  HTTP_ROUTE_NO_STORE | HTTP_ROUTE_PREAUTH },
	{ NULL, NULL, NULL, 0 },
};

int
cas_validate_register(struct http_server *srv, struct authd_app *app)
{
	return http_routes_add(srv, cas_validate_routes, app);
}
