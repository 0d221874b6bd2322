/*
 * CAS proxying (CAS Protocol 3.0, 2.5.4 and 2.7): the proxy-granting ticket that a
 * validation with pgtUrl hands to the app's proxy callback (cas_pgt_grant), and
 * GET /cas/proxy, which turns one into a proxy ticket for a back-end service. The rules
 * are at the top of authd/cas/cas.h.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "authcore/clients/clients.h"
#include "authd/app.h"
#include "authd/cas/cas.h"
#include "authd/login/login.h"
#include "authd/oidc/backchannel.h"
#include "authd/oidc/oidc.h"
#include "authd/session/sess.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/timeutil.h"
#include "federation/http.h"

#define CP_IOU_PREFIX "PGTIOU-"
#define CP_IOU_BYTES 32
#define CP_BODY_MAX 4096

int
cas_proxy_chain_push(const char *chain, const char *url, char out[SESS_PROXIES_BYTES + 1])
{
	size_t n = 0, ul, cl;

	out[0] = '\0';
	if (chain == NULL || url == NULL)
		return YH_ERR_INVALID;
	for (const char *p = chain; *p != '\0'; p++)
		n += *p == '\n';
	ul = strlen(url);
	cl = strlen(chain);
	if (ul == 0 || strchr(url, '\n') != NULL || (cl > 0 && chain[cl - 1] != '\n'))
		return YH_ERR_INVALID;
	if (n >= SESS_PROXIES_MAX || ul + 1 + cl > SESS_PROXIES_BYTES)
		return YH_ERR_LIMIT;
	memcpy(out, url, ul);
	out[ul] = '\n';
	memcpy(out + ul + 1, chain, cl + 1);
	return 0;
}

int
cas_session_live(struct authd_app *app, const char *uid, const char *sid, int64_t *aexp_ms)
{
	struct sess_info *v = NULL;
	size_t n = 0;
	int r;

	if (uid == NULL || sid == NULL || sid[0] == '\0')
		return YH_ERR_NOT_FOUND;
	if ((r = sess_list_user(app->sess, uid, &v, &n)) != 0)
		return r;
	r = YH_ERR_NOT_FOUND;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].sid, sid) == 0) {
			if (aexp_ms != NULL)
				*aexp_ms = v[i].aexp_ms;
			r = 0;
			break;
		}
	}
	free(v);
	return r;
}

/* ---- the proxy callback ------------------------------------------------------------- */

/*
 * GET pgt_url?pgtIou=IOU&pgtId=PGT over https, the server's certificate verified against
 * cas.proxy_ca_file (or the system's store), no redirect followed, the back-channel
 * sender's timeouts. *status: the HTTP status (0 without an answer); why: libcurl's
 * reason when there was none. Returns 0 or YH_ERR_ALLOC / YH_ERR_TOO_LONG /
 * YH_ERR_INTERNAL (the request could not be made).
 */
static int
cp_callback(struct authd_app *app, const char *pgt_url, const char *iou, const char *pgt,
    long *status, char why[CURL_ERROR_SIZE])
{
	const char *ca = app->cfg != NULL ? app->cfg->cas_proxy_ca_file : NULL;
	struct yh_buf b;
	CURL *e = NULL;
	CURLcode cc = CURLE_OK;
	int r;

	*status = 0;
	why[0] = '\0';
	yh_buf_init_secret(&b, SESS_SERVICE_MAX + 256);
	if ((r = yh_buf_puts(&b, pgt_url)) != 0 || (r = oidc_url_param(&b, "pgtIou", iou)) != 0 ||
	    (r = oidc_url_param(&b, "pgtId", pgt)) != 0)
		goto out;
	if ((e = curl_easy_init()) == NULL) {
		r = YH_ERR_INTERNAL;
		goto out;
	}
	cc = fed_http_setup(e, &(struct fed_http_opts){ .url = yh_buf_cstr(&b),
	    .user_agent = "yihao-authd cas-proxy-callback",
	    .connect_timeout_ms = BCL_DEFAULT_CONNECT_TIMEOUT_MS,
	    .timeout_ms = BCL_DEFAULT_TIMEOUT_MS, .ca_file = ca, .errbuf = why });
#define SET(opt, val) \
	do { if (cc == CURLE_OK) cc = curl_easy_setopt(e, opt, val); } while (0)
	SET(CURLOPT_HTTPGET, 1L);
	SET(CURLOPT_PROTOCOLS_STR, "https");   /* a callback is https only (registration) */
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_WRITEFUNCTION, fed_http_discard);
#undef SET
	if (cc != CURLE_OK) {
		yh_error("cas proxy callback: libcurl setup failed: %s", curl_easy_strerror(cc));
		r = YH_ERR_INTERNAL;
		goto out;
	}
	if ((cc = curl_easy_perform(e)) == CURLE_OK)
		(void)curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
	else if (why[0] == '\0')
		snprintf(why, CURL_ERROR_SIZE, "%s", curl_easy_strerror(cc));
out:
	if (e != NULL)
		curl_easy_cleanup(e);
	yh_buf_free(&b);
	return r;
}

/* The audit line "cas.pgt" of one grant or refusal (never the tickets themselves). */
static int
cp_pgt_audit(struct authd_app *app, const struct sess_ticket *t, const char *pgt_url,
    const char *result, const char *why)
{
	char actor[SESS_UID_MAX + 16];
	json_t *f;
	int r;

	snprintf(actor, sizeof(actor), "user:%s", t->uid);
	f = json_pack("{s:s, s:s, s:s, s:s?, s:s}", "client", t->client_id, "callback",
	    pgt_url, "result", result, "reason", why, "sid", t->sid);
	r = f != NULL ? login_audit(app, "cas.pgt", actor, f) : YH_ERR_ALLOC;
	json_decref(f);
	return r;
}

/* Why no proxy-granting ticket may be made for pgt_url (NULL: one may), and the chain
 * and lifetime of the one that may. */
static const char *
cp_pgt_why(struct authd_app *app, const struct clients_client *c, const struct sess_ticket *t,
    const char *pgt_url, struct sess_ticket *g, int64_t *ttl)
{
	int64_t aexp = 0, now = yh_now_ms(), max;
	int r;

	if (strncmp(pgt_url, "https://", 8) != 0)
		return "pgtUrl is not https";
	if (!clients_cas_proxy_callback_ok(c, pgt_url))
		return "pgtUrl is not a proxy callback registered for the app";
	*g = *t;
	g->renewed = false;
	if (cas_proxy_chain_push(t->proxies, pgt_url, g->proxies) != 0)
		return "the proxy chain is too long";
	if ((r = cas_session_live(app, t->uid, t->sid, &aexp)) == YH_ERR_NOT_FOUND)
		return "the login session has ended";
	if (r != 0)
		return "the session store is unavailable";
	max = app->cfg != NULL ? app->cfg->cas_pgt_lifetime :
	    authd_cfg_builtin()->cas_pgt_lifetime;
	*ttl = (aexp - now) / 1000;
	if (*ttl > max)
		*ttl = max;
	return *ttl < 1 ? "the login session ends now" : NULL;
}

int
cas_pgt_grant(struct authd_app *app, const struct clients_client *c,
    const struct sess_ticket *t, const char *pgt_url, char iou[CAS_IOU_SIZE])
{
	struct sess_ticket *g = NULL;
	char pgt[SESS_CAS_TICKET_SIZE], cwhy[CURL_ERROR_SIZE], msg[CURL_ERROR_SIZE + 64];
	unsigned char raw[CP_IOU_BYTES];
	const char *why = NULL;
	int64_t ttl = 0;
	long status = 0;
	int r = 0;

	iou[0] = pgt[0] = '\0';
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return YH_ERR_ALLOC;
	if ((why = cp_pgt_why(app, c, t, pgt_url, g, &ttl)) != NULL)
		goto out;
	if (sess_cas_make(SESS_CAS_PGT, pgt) != 0 || yh_random(raw, sizeof(raw)) != 0) {
		why = "no random bytes";
		goto out;
	}
	memcpy(iou, CP_IOU_PREFIX, sizeof(CP_IOU_PREFIX) - 1);
	yh_hex_encode(raw, sizeof(raw), iou + sizeof(CP_IOU_PREFIX) - 1);
	if (cp_callback(app, pgt_url, iou, pgt, &status, cwhy) != 0) {
		why = "the callback request could not be made";
	} else if (status != 200) {
		if (status == 0)
			snprintf(msg, sizeof(msg), "the callback failed: %s", cwhy);
		else
			snprintf(msg, sizeof(msg), "the callback answered HTTP %ld, not 200", status);
		why = msg;
	} else if (sess_cas_put(app->sess, SESS_CAS_PGT, pgt, g, ttl) != 0) {
		why = "the ticket store failed";
	}
out:
	if (why != NULL) {
		yh_warn("cas: no proxy-granting ticket for app %s: %s", t->client_id, why);
		iou[0] = '\0';
	}
	if (cp_pgt_audit(app, t, pgt_url, why == NULL ? "issued" : "refused", why) != 0)
		iou[0] = '\0';   /* an unrecorded ticket is not handed out; it expires unused */
	yh_wipe(pgt, sizeof(pgt));
	yh_wipe(raw, sizeof(raw));
	yh_wipe(g, sizeof(*g));
	free(g);
	return r;
}

/* ---- GET /cas/proxy ------------------------------------------------------------------ */

/* What /cas/proxy found. */
struct cp_result {
	const char *code;                 /* NULL: success; else the CAS error code */
	const char *description;          /* English, static */
	const char *target;               /* the target service's app id, when found */
	char pt[SESS_CAS_TICKET_SIZE];
	struct sess_ticket g;             /* the proxy-granting ticket's record */
};

static void
cp_fail(struct cp_result *res, const char *code, const char *description)
{
	res->code = code;
	res->description = description;
}

/* The proxy-granting ticket, still good: its session live, its callback registered. */
static bool
cp_pgt_ok(struct authd_app *app, const struct clients_snap *cs, const char *pgt,
    struct cp_result *res)
{
	const struct clients_client *c;
	char first[SESS_SERVICE_MAX + 1];
	size_t n;
	int r = sess_cas_take(app->sess, SESS_CAS_PGT, pgt, &res->g);

	if (r == 0)
		r = cas_session_live(app, res->g.uid, res->g.sid, NULL);
	if (r == YH_ERR_NOT_FOUND) {
		cp_fail(res, "INVALID_TICKET", "the proxy-granting ticket is unknown or expired");
		return false;
	}
	if (r != 0) {
		cp_fail(res, "INTERNAL_ERROR", "the ticket store is unavailable");
		return false;
	}
	n = strcspn(res->g.proxies, "\n");
	c = clients_find(cs, res->g.client_id);
	if (n >= sizeof(first) || c == NULL || c->disabled) {
		cp_fail(res, "UNAUTHORIZED_SERVICE", "the proxying app is no longer registered "
		    "or is disabled");
		return false;
	}
	memcpy(first, res->g.proxies, n);
	first[n] = '\0';
	if (!clients_cas_proxy_callback_ok(c, first)) {
		cp_fail(res, "UNAUTHORIZED_SERVICE", "the proxy callback is no longer registered");
		return false;
	}
	return true;
}

/* Decides a /cas/proxy request and issues the proxy ticket. */
static void
cp_decide(struct authd_app *app, const struct clients_snap *cs, const char *pgt,
    const char *target, struct cp_result *res)
{
	const struct clients_client *tc;
	struct sess_ticket pt;
	int64_t ttl = app->cfg != NULL ? app->cfg->cas_ticket_lifetime :
	    authd_cfg_builtin()->cas_ticket_lifetime;

	if (pgt == NULL || target == NULL) {
		cp_fail(res, "INVALID_REQUEST", "'pgt' and 'targetService' are both required, "
		    "once each");
		return;
	}
	if (!cp_pgt_ok(app, cs, pgt, res))
		return;
	if ((tc = clients_cas_find(cs, target)) == NULL) {
		cp_fail(res, "INVALID_SERVICE", "no app registers the target service");
		return;
	}
	if (tc->disabled) {
		cp_fail(res, "UNAUTHORIZED_SERVICE", "the app of the target service is disabled");
		return;
	}
	res->target = tc->id;
	if (!tc->cas_accept_proxy) {
		cp_fail(res, "UNAUTHORIZED_SERVICE", "the target service's app does not accept "
		    "proxy tickets");
		return;
	}
	if (res->g.loa < tc->min_loa) {
		cp_fail(res, "UNAUTHORIZED_SERVICE", "the login's level of assurance is below "
		    "the target service's");
		return;
	}
	pt = res->g;
	if (yh_strlcpy(pt.service, target, sizeof(pt.service)) != 0 ||
	    yh_strlcpy(pt.client_id, tc->id, sizeof(pt.client_id)) != 0 ||
	    sess_cas_new(app->sess, SESS_CAS_PT, &pt, ttl, res->pt) != 0)
		cp_fail(res, "INTERNAL_ERROR", "the proxy ticket could not be stored");
	yh_wipe(&pt, sizeof(pt));
}

/* The audit line "cas.proxy"; a failure to write it turns a success into one. */
static void
cp_audit(struct authd_app *app, const char *target, struct cp_result *res)
{
	char actor[SESS_UID_MAX + 16];
	json_t *f;

	snprintf(actor, sizeof(actor), "user:%s", res->g.uid[0] != '\0' ? res->g.uid :
	    "unknown");
	f = json_pack("{s:s, s:s?, s:s?, s:s, s:s}", "client", res->g.client_id,
	    "target_client", res->target, "service", target, "result",
	    res->code != NULL ? res->code : "success", "sid", res->g.sid);
	if (f == NULL || login_audit(app, "cas.proxy", actor, f) != 0) {
		if (res->code == NULL)
			cp_fail(res, "INTERNAL_ERROR", "the proxy ticket could not be recorded");
	}
	json_decref(f);
}

static int
cp_answer(struct http_req *req, bool json, const struct cp_result *res)
{
	struct yh_buf b;
	json_t *o;
	int r;

	if (json) {
		if (res->code != NULL)
			o = json_pack("{s:{s:{s:s, s:s}}}", "serviceResponse", "proxyFailure",
			    "code", res->code, "description", res->description);
		else
			o = json_pack("{s:{s:{s:s}}}", "serviceResponse", "proxySuccess",
			    "proxyTicket", res->pt);
		return o != NULL ? http_respond_json(req, 200, o) : YH_ERR_ALLOC;
	}
	yh_buf_init_secret(&b, CP_BODY_MAX);
	r = yh_buf_puts(&b, "<cas:serviceResponse xmlns:cas=\"" CAS_XML_NS "\">\n");
	if (r == 0 && res->code != NULL) {
		if ((r = yh_buf_printf(&b, "  <cas:proxyFailure code=\"%s\">", res->code)) == 0 &&
		    (r = cas_xml_text(&b, res->description)) == 0)
			r = yh_buf_puts(&b, "</cas:proxyFailure>\n");
	} else if (r == 0) {
		if ((r = yh_buf_puts(&b, "  <cas:proxySuccess>\n    ")) == 0 &&
		    (r = cas_xml_elem(&b, "proxyTicket", res->pt)) == 0)
			r = yh_buf_puts(&b, "\n  </cas:proxySuccess>\n");
	}
	if (r == 0 && (r = yh_buf_puts(&b, "</cas:serviceResponse>\n")) == 0)
		r = http_respond(req, 200, "application/xml; charset=UTF-8", b.data, b.len);
	yh_buf_free(&b);
	return r;
}

static int
cas_proxy_handler(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct cp_result *res;
	struct clients_snap *cs;
	const char *pgt, *target, *format;
	bool bad = false;
	int r;

	if ((res = calloc(1, sizeof(*res))) == NULL)
		return YH_ERR_ALLOC;
	pgt = cas_param(req, "pgt", CAS_TICKET_PARAM_MAX, &bad);
	target = cas_param(req, "targetService", SESS_SERVICE_MAX, &bad);
	format = cas_param(req, "format", 16, &bad);
	(void)clients_refresh_if_changed(app->clients);
	cs = clients_acquire(app->clients);
	if (bad)
		cp_fail(res, "INVALID_REQUEST", "a parameter is repeated, too long or malformed");
	else
		cp_decide(app, cs, pgt, target, res);
	if (res->code != NULL && strcmp(res->code, "INVALID_REQUEST") != 0)
		yh_info("cas proxy: %s (%s)", res->code, res->description);
	cp_audit(app, target, res);
	r = cp_answer(req, format != NULL && strcmp(format, "JSON") == 0, res);
	clients_release(cs);
	yh_wipe(res, sizeof(*res));
	free(res);
	return r;
}

static const struct http_route cas_proxy_routes[] = {
	{ "GET", "/cas/proxy", cas_proxy_handler, HTTP_ROUTE_NO_STORE | HTTP_ROUTE_PREAUTH },
	{ NULL, NULL, NULL, 0 },
};

int
cas_proxy_register(struct http_server *srv, struct authd_app *app)
{
	return http_routes_add(srv, cas_proxy_routes, app);
}
