/*
 * The CAS room's routes: /cas/login (login.c), /cas/logout (logout.c) and the
 * validation endpoints (validate.c), registered together by cas_register.
 */
#include "authd/app.h"
#include "authd/cas/cas.h"

int
cas_register(struct http_server *srv, struct authd_app *app)
{
	int r;

	if (app == NULL || app->clients == NULL || app->sess == NULL || app->dir == NULL ||
	    app->keys == NULL)
		return YH_ERR_INVALID;
	if ((r = cas_login_register(srv, app)) != 0 || (r = cas_logout_register(srv, app)) != 0 ||
	    (r = cas_proxy_register(srv, app)) != 0)
		return r;
	return cas_validate_register(srv, app);
}
