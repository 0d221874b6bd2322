/*
 * Outbound HTTP with libcurl, prefix fed_http_: what every call authd and authctl make
 * to another party shares (back-channel and CAS single logout, the population and
 * legal-person registries). One place sets the rules of a transfer: http and https
 * only, no redirects followed, no signals (timeouts are safe in threads), a connect
 * timeout and a total timeout, loopback never through a proxy, an optional CA file,
 * and an answer body collected up to a bound.
 */
#ifndef YH_FEDERATION_HTTP_H
#define YH_FEDERATION_HTTP_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

/*
 * Takes a reference on libcurl's global state (curl_global_init on the first one).
 * Returns 0 or YH_ERR_INTERNAL. Thread-safe; pair it with fed_http_global_unref.
 */
int fed_http_global_ref(void) YH_WUR;

/* Drops a reference taken by fed_http_global_ref (curl_global_cleanup on the last). */
void fed_http_global_unref(void);

/* How one transfer is made. */
struct fed_http_opts {
	const char *url;              /* http:// or https:// (required) */
	const char *user_agent;       /* required */
	int64_t connect_timeout_ms;   /* 0: the total timeout */
	int64_t timeout_ms;           /* total, required (> 0) */
	const char *ca_file;          /* PEM CA bundle for https; NULL: the system's */
	char *errbuf;                 /* CURL_ERROR_SIZE bytes, or NULL */
};

/*
 * Sets the shared rules and o on the easy handle e (the caller adds the method, body,
 * headers and where the answer goes). Returns CURLE_OK or the first option that failed.
 */
CURLcode fed_http_setup(CURL *e, const struct fed_http_opts *o);

/*
 * A CURLOPT_WRITEFUNCTION that appends the answer to the struct yh_buf given as
 * CURLOPT_WRITEDATA, whose max bounds it: a longer answer ends the transfer
 * (CURLE_WRITE_ERROR), so a hostile or broken server cannot make us hold more.
 */
size_t fed_http_collect(char *ptr, size_t size, size_t nmemb, void *userdata);

/* A CURLOPT_WRITEFUNCTION that drops the answer (a call whose status is all it reads:
 * back-channel and CAS single logout, the CAS proxy callback). */
size_t fed_http_discard(char *ptr, size_t size, size_t nmemb, void *userdata);

#endif
