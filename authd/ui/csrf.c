/* CSRF tokens bound to the session or to the yh_csrf pre-session cookie: see csrf.h
 * for the design and why. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authd/ui/csrf.h"
#include "authd/ui/pages.h"
#include "common/b64.h"
#include "common/log.h"
#include "common/secmem.h"

#define CSRF_RAW_BYTES 32
#define CSRF_B64_LEN 43
#define CSRF_LABEL "yh-csrf-v2"
#define CSRF_SESSION_KEY_LEN 64   /* hex SHA-256: sess_info.key */

bool
csrf_cookie_ok(const char *cookie)
{
	unsigned char raw[CSRF_RAW_BYTES];
	size_t n = 0;
	bool ok;

	if (cookie == NULL || strnlen(cookie, CSRF_B64_LEN + 1) != CSRF_B64_LEN)
		return false;
	ok = yh_b64url_decode(cookie, CSRF_B64_LEN, raw, sizeof(raw), &n) == 0 &&
	    n == CSRF_RAW_BYTES;
	yh_wipe(raw, sizeof(raw));
	return ok;
}

int
csrf_cookie_new(char out[CSRF_TOKEN_SIZE])
{
	unsigned char raw[CSRF_RAW_BYTES];
	int r;

	out[0] = '\0';
	if ((r = yh_random(raw, sizeof(raw))) != 0)
		return r;
	yh_b64url_encode(raw, sizeof(raw), out);
	yh_wipe(raw, sizeof(raw));
	return 0;
}

static bool
purpose_ok(const char *purpose)
{
	size_t n;

	if (purpose == NULL || (n = strnlen(purpose, CSRF_PURPOSE_MAX + 1)) == 0 ||
	    n > CSRF_PURPOSE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)purpose[i] < 0x20 || purpose[i] == 0x7f)
			return false;
	return true;
}

/* A well-formed binding of kind: a yh_csrf cookie, or a session key (64 lower-case hex). */
static bool
binding_ok(enum csrf_bind kind, const char *binding)
{
	if (kind == CSRF_BIND_PRE)
		return csrf_cookie_ok(binding);
	if (kind != CSRF_BIND_SESSION || binding == NULL ||
	    strnlen(binding, CSRF_SESSION_KEY_LEN + 1) != CSRF_SESSION_KEY_LEN)
		return false;
	for (size_t i = 0; i < CSRF_SESSION_KEY_LEN; i++)
		if (!((binding[i] >= '0' && binding[i] <= '9') ||
		    (binding[i] >= 'a' && binding[i] <= 'f')))
			return false;
	return true;
}

int
csrf_token_make(const struct keys *keys, enum csrf_bind kind,
    const char *binding, const char *purpose, char out[CSRF_TOKEN_SIZE])
{
	unsigned char msg[sizeof(CSRF_LABEL) + 5 + CSRF_SESSION_KEY_LEN + 1 + CSRF_PURPOSE_MAX];
	const char *kname = kind == CSRF_BIND_SESSION ? "sess" : "pre";
	unsigned char mac[32];
	size_t n = 0, blen, plen;
	int r;

	out[0] = '\0';
	if (!binding_ok(kind, binding) || !purpose_ok(purpose))
		return YH_ERR_INVALID;
	blen = strlen(binding);
	plen = strlen(purpose);
	/* Each part with a NUL after it: kind, binding and purpose cannot run together. */
	memcpy(msg, CSRF_LABEL, sizeof(CSRF_LABEL));
	n = sizeof(CSRF_LABEL);
	memcpy(msg + n, kname, strlen(kname) + 1);
	n += strlen(kname) + 1;
	memcpy(msg + n, binding, blen);
	n += blen;
	msg[n++] = '\0';
	memcpy(msg + n, purpose, plen);
	n += plen;
	if ((r = keys_mac(keys, KEYS_MAC_CSRF, msg, n, mac)) == 0)
		yh_b64url_encode(mac, sizeof(mac), out);
	yh_wipe(mac, sizeof(mac));
	yh_wipe(msg, sizeof(msg));
	return r;
}

int
csrf_token_check(const struct keys *keys, enum csrf_bind kind,
    const char *binding, const char *purpose, const char *token)
{
	char want[CSRF_TOKEN_SIZE];
	int r;

	if (token == NULL || strnlen(token, CSRF_B64_LEN + 1) != CSRF_B64_LEN)
		return YH_ERR_DENIED;
	if ((r = csrf_token_make(keys, kind, binding, purpose, want)) != 0)
		return r == YH_ERR_INVALID ? YH_ERR_DENIED : r;
	r = yh_ct_eq(want, token, CSRF_B64_LEN) ? 0 : YH_ERR_DENIED;
	yh_wipe(want, sizeof(want));
	return r;
}

int
csrf_browser(struct http_req *req, char out[CSRF_TOKEN_SIZE])
{
	const char *have = page_cookie(req, CSRF_COOKIE);
	int r;

	if (csrf_cookie_ok(have)) {
		memcpy(out, have, CSRF_TOKEN_SIZE);
		return 0;
	}
	if ((r = csrf_cookie_new(out)) == 0)
		r = page_set_cookie(req, CSRF_COOKIE, out, 0, http_req_is_https(req));
	if (r != 0)
		yh_wipe(out, CSRF_TOKEN_SIZE);
	return r;
}

bool
csrf_mark_binding(const char *sid, const char *browser, char out[CSRF_MARK_BINDING_SIZE])
{
	out[0] = '\0';
	if (csrf_cookie_ok(browser))
		snprintf(out, CSRF_MARK_BINDING_SIZE, "browser:%s", browser);
	else if (sid != NULL && sid[0] != '\0')
		snprintf(out, CSRF_MARK_BINDING_SIZE, "%s", sid);
	return out[0] != '\0';
}

int
csrf_prepare(struct http_req *req, const struct keys *keys, const char *purpose,
    const char *session_key, char token[CSRF_TOKEN_SIZE])
{
	char browser[CSRF_TOKEN_SIZE] = "";
	int r;

	token[0] = '\0';
	if (session_key != NULL)
		return csrf_token_make(keys, CSRF_BIND_SESSION, session_key, purpose, token);
	if ((r = csrf_browser(req, browser)) == 0)
		r = csrf_token_make(keys, CSRF_BIND_PRE, browser, purpose, token);
	yh_wipe(browser, sizeof(browser));
	return r;
}

int
csrf_verify(struct http_req *req, const struct keys *keys, const char *purpose,
    const char *session_key)
{
	char *token = NULL;
	int r;

	if (http_req_form(req, CSRF_FIELD, CSRF_B64_LEN, &token) != 0) {
		r = YH_ERR_DENIED;
		goto out;
	}
	if (session_key != NULL)
		r = csrf_token_check(keys, CSRF_BIND_SESSION, session_key, purpose, token);
	else
		r = csrf_token_check(keys, CSRF_BIND_PRE, page_cookie(req, CSRF_COOKIE), purpose,
		    token);
out:
	if (r == YH_ERR_DENIED)
		yh_info("form rejected: missing or wrong CSRF token (%s, %s)", purpose,
		    http_req_client_ip(req));
	free(token);
	return r;
}

int
csrf_respond_rejected(struct http_req *req)
{
	enum page_lang l = page_lang_of(req);

	return page_error_send(req, 400, page_msg(l, PAGE_MSG_CSRF), NULL, NULL);
}
