/*
 * The apps part of the operators' console (permission apps; see admin.h):
 *
 *   GET  /admin/apps          the registered apps and the registration form
 *   POST /admin/apps/add      CSRF; registers an app (client id, name, redirect URIs,
 *                             scopes, confidential or public) through clients_add, the
 *                             checks `authctl client add` runs; a confidential app's
 *                             generated secret is shown once; audited admin.apps.add
 *   POST /admin/apps/rotate   CSRF; a new generated secret (clients_set_secret), shown
 *                             once, the old one refused from then on; audited
 *                             admin.apps.rotate
 *   POST /admin/apps/disable  CSRF; disables an app (clients_set_disabled): it stays in
 *                             the registry but authd refuses it everywhere; audited
 *                             admin.apps.disable
 *   POST /admin/apps/enable   CSRF; undoes it; audited admin.apps.enable
 *
 * The registry is authd's own handle (app->clients): clients_add writes clients.json
 * under its writer lock and reloads. When authd runs with `user`, clients.json and
 * clients.lock are the account's (authcore/layout.h), so the HTTP process writes them;
 * a write that fails all the same (a registry left root's by `authctl -d`) answers 503
 * with the reason and changes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "authd/admin/common.h"
#include "authd/app.h"
#include "authd/ui/csrf.h"
#include "authd/ui/pages.h"
#include "authd/ui/templates_gen.h"
#include "authcore/clients/clients.h"
#include "common/secmem.h"

#define APPS_PATH ADMIN_PATH "/apps"
#define URIS_MAX 8                 /* redirect URIs one registration takes */
#define URIS_FORM_MAX (URIS_MAX * (CLIENTS_URI_MAX + 1))
#define SCOPES_FORM_MAX 256

/* The page: every app, the form, a notice, an alert and its detail, a secret shown once. */
static int
render(struct authd_app *app, struct http_req *req, const struct op *o, const char *notice,
    const char *alert, const char *detail, const char *secret, unsigned status)
{
	enum page_lang l = page_lang_of(req);
	struct clients_snap *s = clients_acquire(app->clients);
	size_t n = clients_count(s);
	struct tpl_admin_apps_apps *rows = calloc(n + 1, sizeof(*rows));
	char (*uris)[CLIENTS_URI_MAX + 1] = calloc(n + 1, sizeof(*uris));
	char csrf[CSRF_TOKEN_SIZE];
	struct page pg;
	int r;

	if (rows == NULL || uris == NULL) {
		r = YH_ERR_ALLOC;
		goto out;
	}
	if ((r = csrf_prepare(req, app->keys, ADMIN_PURPOSE, o->si.key, csrf)) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct clients_client *c = clients_at(s, i);

		snprintf(uris[i], sizeof(uris[i]), "%s%s", c->n_redirect_uris > 0 ?
		    c->redirect_uris[0] : "-", c->n_redirect_uris > 1 ? " …" : "");
		rows[i] = (struct tpl_admin_apps_apps){ .id = c->id,
		    .name = c->name != NULL ? c->name : c->id,
		    .kind = page_msg(l, c->auth == CLIENTS_AUTH_NONE ? PAGE_MSG_ADMIN_APP_PUBLIC :
		    PAGE_MSG_ADMIN_APP_CONFIDENTIAL), .uris = uris[i],
		    .confidential = c->auth == CLIENTS_AUTH_SECRET && !c->from_apps_file,
		    .disabled = c->disabled, .enable = c->disabled && !c->from_apps_file,
		    .disable = !c->disabled && !c->from_apps_file };
	}
	page_init(&pg, req, APPS_PATH);
	page_begin(&pg, page_msg(pg.lang, PAGE_MSG_ADMIN_APPS));
	tpl_admin_apps_render(&pg, &(struct tpl_admin_apps){ .notice = notice, .alert = alert,
	    .detail = detail, .secret = secret, .csrf = csrf, .apps = rows, .apps_n = n });
	yh_wipe(csrf, sizeof(csrf));
	r = page_send(&pg, req, status);
out:
	free(rows);
	free(uris);
	clients_release(s);
	return r;
}

static int
apps_get(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct op o;
	int r;

	if ((r = admin_enter(app, req, false, DIR_CONSOLE_APPS, &o)) == 0 &&
	    !http_req_answered(req))
		r = render(app, req, &o, NULL, NULL, NULL, NULL, 200);
	admin_op_clear(&o);
	return r;
}

/* Splits text at newlines into at most URIS_MAX non-empty lines (in place, \r dropped).
 * The number of lines, or -1 for more. */
static int
split_lines(char *text, const char *out[URIS_MAX])
{
	int n = 0;

	for (char *p = text; p != NULL && *p != '\0';) {
		char *nl = strchr(p, '\n'), *end = nl != NULL ? nl : p + strlen(p);

		if (end > p && end[-1] == '\r')
			end[-1] = '\0';
		if (nl != NULL)
			*nl = '\0';
		if (*p != '\0') {
			if (n == URIS_MAX)
				return -1;
			out[n++] = p;
		}
		p = nl != NULL ? nl + 1 : NULL;
	}
	return n;
}

/* The app the form describes into c (its strings borrowed from the form's values): 0,
 * or YH_ERR_INVALID with a line in err. */
static int
form_client(char *id, char *name, char *uris_text, const char *scopes, const char *kind,
    struct clients_client *c, const char *uris[URIS_MAX], char *err, size_t errsz)
{
	unsigned bits = 0, unknown = 0;
	int n;

	clients_client_init(c);
	if (!clients_id_valid(id)) {
		snprintf(err, errsz, "client_id: 1..%d of A-Z a-z 0-9 . _ -", CLIENTS_ID_MAX);
		return YH_ERR_INVALID;
	}
	snprintf(c->id, sizeof(c->id), "%s", id);
	c->name = name[0] != '\0' ? name : NULL;
	if ((n = split_lines(uris_text, uris)) <= 0) {
		snprintf(err, errsz, "redirect URIs: 1..%d, one a line", URIS_MAX);
		return YH_ERR_INVALID;
	}
	c->redirect_uris = uris;
	c->n_redirect_uris = (size_t)n;
	if (clients_scope_parse(scopes, &bits, &unknown) != 0 || unknown != 0) {
		snprintf(err, errsz, "scopes: unknown scope in '%s'", scopes);
		return YH_ERR_INVALID;
	}
	c->scopes = bits;
	if (strcmp(kind, "public") == 0) {
		c->auth = CLIENTS_AUTH_NONE;
		c->require_pkce = true;
	} else if (strcmp(kind, "confidential") == 0)
		c->auth = CLIENTS_AUTH_SECRET;
	else {
		snprintf(err, errsz, "kind: confidential or public");
		return YH_ERR_INVALID;
	}
	return clients_client_check(c, err, errsz);
}

/* The fields of admin.apps.add: the client id, its kind, its redirect URIs and scopes. */
static json_t *
apps_add_fields(const struct clients_client *c, const char *kind)
{
	char scopes[256];
	json_t *uris = json_array();

	if (uris == NULL || clients_scope_format(c->scopes, scopes, sizeof(scopes)) != 0) {
		json_decref(uris);
		return NULL;
	}
	for (size_t i = 0; i < c->n_redirect_uris; i++)
		if (json_array_append_new(uris, json_string(c->redirect_uris[i])) != 0) {
			json_decref(uris);
			return NULL;
		}
	return json_pack("{s:s, s:s, s:o, s:s}", "client_id", c->id, "kind", kind,
	    "redirect_uris", uris, "scopes", scopes);
}

static int
apps_add(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	enum page_lang l = page_lang_of(req);
	char *id = NULL, *name = NULL, *uris_text = NULL, *scopes = NULL, *kind = NULL;
	char err[512] = "", secret[CLIENTS_SECRET_GEN_LEN + 1] = "";
	const char *uris[URIS_MAX];
	struct clients_client c;
	struct op o;
	int r, fr;

	if ((r = admin_enter(app, req, true, DIR_CONSOLE_APPS, &o)) != 0 ||
	    http_req_answered(req))
		goto out;
	fr = http_req_form(req, "name", CLIENTS_NAME_MAX, &name);
	if (http_req_form(req, "client_id", CLIENTS_ID_MAX, &id) != 0 ||
	    http_req_form(req, "redirect_uris", URIS_FORM_MAX, &uris_text) != 0 ||
	    http_req_form(req, "scopes", SCOPES_FORM_MAX, &scopes) != 0 ||
	    http_req_form(req, "kind", 16, &kind) != 0 || (fr != 0 && fr != YH_ERR_NOT_FOUND)) {
		r = render(app, req, &o, NULL, page_msg(l, PAGE_MSG_ADMIN_APP_REFUSED),
		    page_msg(l, PAGE_MSG_BAD_REQUEST), NULL, 400);
		goto out;
	}
	if (form_client(id, name != NULL ? name : (char *)"", uris_text, scopes, kind, &c,
	    uris, err, sizeof(err)) != 0 ||
	    (c.auth == CLIENTS_AUTH_SECRET && clients_generate_secret(secret,
	    sizeof(secret)) != 0)) {
		r = render(app, req, &o, NULL, page_msg(l, PAGE_MSG_ADMIN_APP_REFUSED), err, NULL,
		    400);
		goto out;
	}
	if ((r = clients_add(app->clients, &c, secret[0] != '\0' ? secret : NULL, err,
	    sizeof(err))) != 0) {
		r = render(app, req, &o, NULL, page_msg(l, PAGE_MSG_ADMIN_APP_REFUSED), err, NULL,
		    r == YH_ERR_EXISTS ? 409 : r == YH_ERR_INVALID || r == YH_ERR_LIMIT ? 400 :
		    503);
		goto out;
	}
	/* what was registered, so that the trail shows where its codes may go */
	if ((r = admin_audit(app, &o, "admin.apps.add", apps_add_fields(&c, kind))) != 0) {
		r = page_failure_send(req, r);
		goto out;
	}
	r = render(app, req, &o, page_msg(l, PAGE_MSG_ADMIN_APP_ADDED), NULL, NULL,
	    secret[0] != '\0' ? secret : NULL, 200);
out:
	yh_wipe(secret, sizeof(secret));
	free(id);
	free(name);
	free(uris_text);
	free(scopes);
	free(kind);
	admin_op_clear(&o);
	return r;
}

static int
apps_rotate(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	enum page_lang l = page_lang_of(req);
	char *id = NULL, err[512] = "", secret[CLIENTS_SECRET_GEN_LEN + 1] = "";
	struct op o;
	int r;

	if ((r = admin_enter(app, req, true, DIR_CONSOLE_APPS, &o)) != 0 ||
	    http_req_answered(req))
		goto out;
	if (http_req_form(req, "client_id", CLIENTS_ID_MAX, &id) != 0 ||
	    clients_generate_secret(secret, sizeof(secret)) != 0) {
		r = render(app, req, &o, NULL, page_msg(l, PAGE_MSG_BAD_REQUEST), NULL, NULL, 400);
		goto out;
	}
	if ((r = clients_set_secret(app->clients, id, secret, err, sizeof(err))) != 0) {
		r = render(app, req, &o, NULL, page_msg(l, PAGE_MSG_BAD_REQUEST), err, NULL,
		    r == YH_ERR_NOT_FOUND ? 404 : r == YH_ERR_INVALID ? 400 : 503);
		goto out;
	}
	if ((r = admin_audit(app, &o, "admin.apps.rotate", json_pack("{s:s}", "client_id",
	    id))) != 0) {
		r = page_failure_send(req, r);
		goto out;
	}
	r = render(app, req, &o, page_msg(l, PAGE_MSG_ADMIN_APP_ROTATED), NULL, NULL, secret,
	    200);
out:
	yh_wipe(secret, sizeof(secret));
	free(id);
	admin_op_clear(&o);
	return r;
}

/* Disables or enables again the app the form names. */
static int
apps_set_disabled(struct http_req *req, struct authd_app *app, bool disabled)
{
	enum page_lang l = page_lang_of(req);
	char *id = NULL, err[512] = "";
	struct op o;
	int r;

	if ((r = admin_enter(app, req, true, DIR_CONSOLE_APPS, &o)) != 0 ||
	    http_req_answered(req))
		goto out;
	if (http_req_form(req, "client_id", CLIENTS_ID_MAX, &id) != 0) {
		r = render(app, req, &o, NULL, page_msg(l, PAGE_MSG_BAD_REQUEST), NULL, NULL, 400);
		goto out;
	}
	if ((r = clients_set_disabled(app->clients, id, disabled, err, sizeof(err))) != 0) {
		r = render(app, req, &o, NULL, page_msg(l, PAGE_MSG_BAD_REQUEST), err, NULL,
		    r == YH_ERR_NOT_FOUND ? 404 : r == YH_ERR_EXISTS ? 409 : 503);
		goto out;
	}
	if ((r = admin_audit(app, &o, disabled ? "admin.apps.disable" : "admin.apps.enable",
	    json_pack("{s:s}", "client_id", id))) != 0) {
		r = page_failure_send(req, r);
		goto out;
	}
	r = render(app, req, &o, page_msg(l, disabled ? PAGE_MSG_ADMIN_APP_DISABLED :
	    PAGE_MSG_ADMIN_APP_ENABLED), NULL, NULL, NULL, 200);
out:
	free(id);
	admin_op_clear(&o);
	return r;
}

static int
apps_disable(struct http_req *req, void *arg)
{
	return apps_set_disabled(req, arg, true);
}

static int
apps_enable(struct http_req *req, void *arg)
{
	return apps_set_disabled(req, arg, false);
}

static const struct http_route apps_routes[] = {
	{ "GET", APPS_PATH, apps_get, HTTP_ROUTE_NO_STORE },
	{ "POST", APPS_PATH "/add", apps_add, HTTP_ROUTE_NO_STORE },
	{ "POST", APPS_PATH "/rotate", apps_rotate, HTTP_ROUTE_NO_STORE },
	{ "POST", APPS_PATH "/disable", apps_disable, HTTP_ROUTE_NO_STORE },
	{ "POST", APPS_PATH "/enable", apps_enable, HTTP_ROUTE_NO_STORE },
	{ NULL, NULL, NULL, 0 },
};

int
admin_apps_register(struct http_server *srv, struct authd_app *app)
{
	return http_routes_add(srv, apps_routes, app);
}
