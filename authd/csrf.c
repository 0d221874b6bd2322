/* CSRF tokens bound to the yh_csrf cookie: see csrf.h for the design and why. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "authd/csrf.h"
#include "authd/pages.h"
#include "common/b64.h"
#include "common/log.h"
#include "common/secmem.h"

#define CSRF_RAW_BYTES 32
#define CSRF_B64_LEN 43
#define CSRF_LABEL "yh-csrf-v1"
#define CSRF_KEY_LABEL "yihao/csrf/v1"

static int
hmac256(const unsigned char *key, size_t keylen, const unsigned char *in, size_t len,
    unsigned char out[32])
{
	unsigned int outlen = 0;

	if (HMAC(EVP_sha256(), key, (int)keylen, in, len, out, &outlen) == NULL || outlen != 32)
		return YH_ERR_CRYPTO;
	return 0;
}

int
csrf_key_derive(const unsigned char subject_key[32], unsigned char key[CSRF_KEY_BYTES])
{
	return hmac256(subject_key, 32, (const unsigned char *)CSRF_KEY_LABEL,
	    sizeof(CSRF_KEY_LABEL) - 1, key);
}

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

int
csrf_token_make(const unsigned char key[CSRF_KEY_BYTES], const char *cookie,
    const char *purpose, char out[CSRF_TOKEN_SIZE])
{
	unsigned char msg[sizeof(CSRF_LABEL) + CSRF_B64_LEN + 1 + CSRF_PURPOSE_MAX];
	unsigned char mac[32];
	size_t n = 0, plen;
	int r;

	out[0] = '\0';
	if (!csrf_cookie_ok(cookie) || !purpose_ok(purpose))
		return YH_ERR_INVALID;
	plen = strlen(purpose);
	memcpy(msg, CSRF_LABEL, sizeof(CSRF_LABEL));    /* with its NUL as separator */
	n = sizeof(CSRF_LABEL);
	memcpy(msg + n, cookie, CSRF_B64_LEN);
	n += CSRF_B64_LEN;
	msg[n++] = '\0';
	memcpy(msg + n, purpose, plen);
	n += plen;
	if ((r = hmac256(key, CSRF_KEY_BYTES, msg, n, mac)) == 0)
		yh_b64url_encode(mac, sizeof(mac), out);
	yh_wipe(mac, sizeof(mac));
	return r;
}

int
csrf_token_check(const unsigned char key[CSRF_KEY_BYTES], const char *cookie,
    const char *purpose, const char *token)
{
	char want[CSRF_TOKEN_SIZE];
	int r;

	if (token == NULL || strnlen(token, CSRF_B64_LEN + 1) != CSRF_B64_LEN)
		return YH_ERR_DENIED;
	if ((r = csrf_token_make(key, cookie, purpose, want)) != 0)
		return r == YH_ERR_INVALID ? YH_ERR_DENIED : r;
	r = yh_ct_eq(want, token, CSRF_B64_LEN) ? 0 : YH_ERR_DENIED;
	yh_wipe(want, sizeof(want));
	return r;
}

int
csrf_prepare(struct http_req *req, const unsigned char subject_key[32], const char *purpose,
    char token[CSRF_TOKEN_SIZE])
{
	unsigned char key[CSRF_KEY_BYTES];
	char fresh[CSRF_TOKEN_SIZE];
	const char *cookie = http_req_cookie(req, CSRF_COOKIE);
	int r;

	token[0] = '\0';
	if (!csrf_cookie_ok(cookie)) {
		if ((r = csrf_cookie_new(fresh)) != 0 ||
		    (r = page_set_cookie(req, CSRF_COOKIE, fresh, 0, http_req_is_https(req))) != 0)
			goto out;
		cookie = fresh;
	}
	if ((r = csrf_key_derive(subject_key, key)) != 0)
		goto out;
	r = csrf_token_make(key, cookie, purpose, token);
out:
	yh_wipe(key, sizeof(key));
	yh_wipe(fresh, sizeof(fresh));
	return r;
}

int
csrf_verify(struct http_req *req, const unsigned char subject_key[32], const char *purpose)
{
	unsigned char key[CSRF_KEY_BYTES];
	char *token = NULL;
	int r;

	if (http_req_form(req, CSRF_FIELD, CSRF_B64_LEN, &token) != 0) {
		r = YH_ERR_DENIED;
		goto out;
	}
	if ((r = csrf_key_derive(subject_key, key)) != 0)
		goto out;
	r = csrf_token_check(key, http_req_cookie(req, CSRF_COOKIE), purpose, token);
out:
	if (r == YH_ERR_DENIED)
		yh_info("form rejected: missing or wrong CSRF token (%s, %s)", purpose,
		    http_req_client_ip(req));
	yh_wipe(key, sizeof(key));
	free(token);
	return r;
}

int
csrf_respond_rejected(struct http_req *req)
{
	enum page_lang l = page_lang_of(req);

	return page_error_send(req, 400, page_msg(l, PAGE_MSG_CSRF), NULL, NULL);
}
