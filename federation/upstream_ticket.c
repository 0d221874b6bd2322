/* A ticket upstream. See federation/upstream_ticket.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/b64.h"
#include "common/buf.h"
#include "common/secmem.h"
#include "common/timeutil.h"
#include "common/url.h"
#include "federation/http.h"
#include "federation/upstream_ticket.h"
#include "token/jose_alg.h"

#define TICKET_URL_MAX 8192
#define TICKET_FIELDS 7

/* Appends "&name=value" (the first without '&'), value percent-encoded. */
static int
param(struct yh_buf *b, bool first, const char *name, const char *value)
{
	int r;

	if ((!first && (r = yh_buf_putc(b, '&')) != 0) || (r = yh_url_pct_encode(b, name)) != 0 ||
	    (r = yh_buf_putc(b, '=')) != 0)
		return r;
	return yh_url_pct_encode(b, value);
}

int
fed_ticket_login_url(const struct fed_up_cfg *u, const char *return_url, char **url)
{
	struct yh_buf b;
	int r;

	*url = NULL;
	yh_buf_init(&b, TICKET_URL_MAX);
	if ((r = yh_buf_puts(&b, u->login_url)) == 0 &&
	    (r = yh_buf_putc(&b, strchr(u->login_url, '?') != NULL ? '&' : '?')) == 0 &&
	    (r = param(&b, true, u->app_id_param, u->app_id)) == 0 &&
	    (r = param(&b, false, u->return_param, return_url)) == 0 &&
	    (*url = yh_buf_steal(&b)) == NULL)
		r = YH_ERR_ALLOC;
	yh_buf_free(&b);
	return r != 0 ? YH_ERR_ALLOC : 0;
}

int
fed_ticket_sign_base(const char *const *names, const char *const *values, size_t n,
    char **out)
{
	size_t order[TICKET_FIELDS];
	struct yh_buf b;
	int r = 0;

	*out = NULL;
	if (n > TICKET_FIELDS)
		return YH_ERR_INVALID;
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	/* n is small: insertion sort by name */
	for (size_t i = 1; i < n; i++)
		for (size_t k = i; k > 0 && strcmp(names[order[k - 1]], names[order[k]]) > 0; k--) {
			size_t t = order[k];

			order[k] = order[k - 1];
			order[k - 1] = t;
		}
	yh_buf_init_secret(&b, TICKET_URL_MAX);
	for (size_t i = 0; i < n && r == 0; i++) {
		if (i > 0)
			r = yh_buf_putc(&b, '&');
		if (r == 0 && (r = yh_buf_puts(&b, names[order[i]])) == 0 &&
		    (r = yh_buf_putc(&b, '=')) == 0)
			r = yh_buf_puts(&b, values[order[i]]);
	}
	if (r == 0 && (*out = yh_buf_steal(&b)) == NULL)
		r = YH_ERR_ALLOC;
	yh_buf_free(&b);
	return r != 0 ? YH_ERR_ALLOC : 0;
}

/* The lowercase hex HMAC (digest "SHA256" or "SM3") of msg keyed with key into hex. */
static int
hmac_hex(const char *digest, const char *key, const char *msg, char hex[129])
{
	unsigned char md[64];
	size_t mdlen = 0;

	if (EVP_Q_mac(NULL, "HMAC", NULL, digest, NULL, key, strlen(key),
	    (const unsigned char *)msg, strlen(msg), md, sizeof(md), &mdlen) == NULL)
		return YH_ERR_CRYPTO;
	yh_hex_encode(md, mdlen, hex);
	return 0;
}

/* The base64 of the DER SM2 signature (SM3, GM/T 0009's default ID) of msg with the
 * private key in u's sign_key_file, into out (at most 129 bytes with the NUL). */
static int
sm2_b64(const struct fed_up_cfg *u, const char *msg, char out[129])
{
	unsigned char raw[TOK_SIG_MAX], *der = NULL;
	struct tok_key *k = NULL;
	size_t rawlen = 0, derlen = 0;
	int r;

	if ((r = tok_key_load_pem_file(u->sign_key_file, TOK_ALG_SM2, &k)) != 0 ||
	    (r = tok_key_sign(k, TOK_ALG_SM2, msg, strlen(msg), raw, sizeof(raw), &rawlen)) != 0 ||
	    (r = tok_sig_raw_to_der(TOK_ALG_SM2, raw, rawlen, &der, &derlen)) != 0)
		goto out;
	if ((derlen + 2) / 3 * 4 > 128) {   /* DER of two 256-bit integers: at most 72 bytes */
		r = YH_ERR_TOO_LONG;
		goto out;
	}
	yh_b64_encode(der, derlen, out);
out:
	free(der);
	tok_key_free(k);
	return r;
}

/* The request body for ticket. */
static int
request(const struct fed_up_cfg *u, const char *ticket, const char *return_url,
    struct yh_buf *form)
{
	const char *names[TICKET_FIELDS], *values[TICKET_FIELDS];
	char ts[24], nonce[33], sig[129], *base = NULL;
	unsigned char raw[16];
	size_t n = 0;
	int r;

	names[n] = u->app_id_param, values[n++] = u->app_id;
	names[n] = u->ticket_param, values[n++] = ticket;
	names[n] = u->return_param, values[n++] = return_url;
	if (strcmp(u->sign, "secret") == 0) {
		names[n] = "appSecret", values[n++] = u->app_secret;
	} else {
		if (RAND_bytes(raw, sizeof(raw)) != 1)
			return YH_ERR_CRYPTO;
		yh_hex_encode(raw, sizeof(raw), nonce);
		snprintf(ts, sizeof(ts), "%lld", (long long)yh_now());
		names[n] = "timestamp", values[n++] = ts;
		names[n] = "nonce", values[n++] = nonce;
		if ((r = fed_ticket_sign_base(names, values, n, &base)) != 0)
			return r;
		if (strcmp(u->sign, "sm2-sm3") == 0)
			r = sm2_b64(u, base, sig);
		else
			r = hmac_hex(strcmp(u->sign, "hmac-sm3") == 0 ? "SM3" : "SHA256",
			    u->app_secret, base, sig);
		yh_freezero(base, strlen(base) + 1);
		if (r != 0)
			return r;
		names[n] = "sign", values[n++] = sig;
	}
	for (size_t i = 0; i < n; i++)
		if ((r = param(form, i == 0, names[i], values[i])) != 0)
			return r;
	return 0;
}

/* Maps the answer body (len bytes) into *out. */
static int
answer(const struct fed_up_cfg *u, const char *body, size_t len, struct fed_login *out,
    char *why, size_t whysz)
{
	char text[256];
	json_error_t je;
	json_t *root, *v;
	int r = YH_ERR_INVALID;

	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(root)) {
		snprintf(why, whysz, "the answer is not a JSON object");
		goto out;
	}
	text[0] = '\0';
	if ((v = fed_json_member(root, u->result_field)) != NULL)
		fed_json_text_whole(v, text, sizeof(text));
	if (strcmp(text, u->result_value) != 0) {
		snprintf(why, whysz, "the upstream refused the ticket (%s = %.64s)",
		    u->result_field, text);
		r = YH_ERR_DENIED;
		goto out;
	}
	r = fed_up_map(u, root, out, why, whysz);
out:
	json_decref(root);
	return r;
}

int
fed_ticket_validate(const struct fed_up_cfg *u, const char *ticket, const char *return_url,
    struct fed_login *out, char *why, size_t whysz)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *h = NULL;
	struct yh_buf form, body;
	long status = 0;
	CURLcode cc;
	CURL *e = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	why[0] = '\0';
	yh_buf_init_secret(&form, TICKET_URL_MAX);
	yh_buf_init_secret(&body, FED_TICKET_BODY_MAX);
	if (strlen(ticket) > FED_TICKET_MAX) {
		snprintf(why, whysz, "the ticket is over %d bytes", FED_TICKET_MAX);
		r = YH_ERR_INVALID;
		goto out;
	}
	if ((r = request(u, ticket, return_url, &form)) != 0 ||
	    (r = fed_http_header_add(&h, "Accept: application/json")) != 0)
		goto out;
	r = YH_ERR_UNAVAILABLE;
	if (fed_http_global_ref() != 0) {
		snprintf(why, whysz, "libcurl cannot start");
		goto out;
	}
	if ((e = curl_easy_init()) == NULL) {
		snprintf(why, whysz, "libcurl cannot make a handle");
		goto out_unref;
	}
	cc = fed_http_setup(e, &(struct fed_http_opts){ .url = u->validate_url,
	    .user_agent = "yihao upstream", .timeout_ms = u->timeout * 1000,
	    .ca_file = u->ca_file, .errbuf = errbuf });
#define SET(opt, val) \
	do { if (cc == CURLE_OK) cc = curl_easy_setopt(e, opt, val); } while (0)
	SET(CURLOPT_HTTPHEADER, h);
	SET(CURLOPT_POSTFIELDS, form.data);
	SET(CURLOPT_POSTFIELDSIZE, (long)form.len);
	SET(CURLOPT_WRITEFUNCTION, fed_http_collect);
	SET(CURLOPT_WRITEDATA, &body);
#undef SET
	if (cc == CURLE_OK)
		cc = curl_easy_perform(e);
	if (cc == CURLE_OK)
		(void)curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	if (cc == CURLE_WRITE_ERROR)
		snprintf(why, whysz, "the answer is over %d bytes", FED_TICKET_BODY_MAX);
	else if (cc != CURLE_OK)
		snprintf(why, whysz, "%.150s", errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc));
	else if (status < 200 || status > 299)
		snprintf(why, whysz, "HTTP status %ld", status);
	else
		r = answer(u, body.data != NULL ? body.data : "", body.len, out, why, whysz);
	curl_easy_cleanup(e);
out_unref:
	fed_http_global_unref();
out:
	curl_slist_free_all(h);
	yh_buf_free(&form);
	yh_buf_free(&body);
	if (r != 0)
		fed_login_clear(out);
	return r;
}
