/*
 * The login room's routes, all in one table: the password form (password.c), the TOTP
 * step-up (totp.c) and self-registration (register.c). authd adds them with
 * login_register.
 */
#include "authd/login/login.h"
#include "authd/login/qr.h"
#include "authd/ui/pages.h"

static const struct http_route login_routes[] = {
	{ "GET", LOGIN_PATH, login_password_get, HTTP_ROUTE_NO_STORE },
	{ "POST", LOGIN_PATH, login_password_post, HTTP_ROUTE_NO_STORE | HTTP_ROUTE_PREAUTH },
	{ "GET", PAGE_FAVICON_PATH, page_favicon_get, 0 },
	{ "GET", LOGIN_FORGOT_PATH, login_forgot_get, HTTP_ROUTE_NO_STORE },
	{ "POST", LOGIN_FORGOT_PATH, login_forgot_post, HTTP_ROUTE_NO_STORE | HTTP_ROUTE_PREAUTH },
	{ "GET", LOGIN_SMS_PATH, login_sms_get, HTTP_ROUTE_NO_STORE },
	{ "POST", LOGIN_SMS_PATH, login_sms_post, HTTP_ROUTE_NO_STORE | HTTP_ROUTE_PREAUTH },
	{ "GET", LOGIN_CERT_PATH, login_cert_get, HTTP_ROUTE_NO_STORE },
	{ "GET", LOGIN_CERT_CHALLENGE_PATH, login_cert_challenge_get, HTTP_ROUTE_NO_STORE },
	{ "POST", LOGIN_CERT_PATH, login_cert_post, HTTP_ROUTE_NO_STORE | HTTP_ROUTE_PREAUTH },
	{ "POST", LOGIN_CERT_TLS_PATH, login_cert_tls_post,
	    HTTP_ROUTE_NO_STORE | HTTP_ROUTE_PREAUTH },
	{ "GET", LOGIN_TOTP_PATH, login_totp_get, HTTP_ROUTE_NO_STORE },
	{ "POST", LOGIN_TOTP_PATH, login_totp_post, HTTP_ROUTE_NO_STORE },
	{ "GET", LOGIN_REG_PATH, login_signup_get, HTTP_ROUTE_NO_STORE },
	{ "POST", LOGIN_REG_PATH, login_signup_post, HTTP_ROUTE_NO_STORE | HTTP_ROUTE_PREAUTH },
	{ "GET", LOGIN_PRIVACY_PATH, login_privacy_get, HTTP_ROUTE_NO_STORE },
	{ NULL, NULL, NULL, 0 },
};

int
login_register(struct http_server *srv, struct authd_app *app)
{
	int r = http_routes_add(srv, login_routes, app);

	if (r == 0)
		r = login_ups_register(srv, app);
	return r != 0 ? r : login_qr_register(srv, app);
}
