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
#include <jansson.h>
#include <stdbool.h>
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

/* Appends the header line h to the list *l (which may be NULL). 0 or YH_ERR_ALLOC (*l
 * unchanged). */
int fed_http_header_add(struct curl_slist **l, const char *h) YH_WUR;

/* True when s is an http:// or https:// URL with a host and no blank or control byte
 * (what an option naming another party's endpoint must be). */
bool fed_http_url_ok(const char *s);

/*
 * Checks a credentials file named by an option: a regular file (not a link) that group
 * and others cannot access. Returns 0, or YH_ERR_CONFIG with msg (msgsz bytes) saying
 * what is wrong (the path and the problem).
 */
int fed_http_cred_check(const char *path, char *msg, size_t msgsz) YH_WUR;

/*
 * Reads a credentials file (yh_file_read_private: mode 0600, at most FED_HTTP_CRED_MAX
 * bytes) holding one line: a token, or user:password when auth is "basic". Trailing
 * blanks and line ends are dropped. *out (secret: yh_freezero(*out, *outlen + 1)) and
 * *outlen get the line. Returns 0, or YH_ERR_CONFIG with msg saying why, or
 * YH_ERR_ALLOC.
 */
#define FED_HTTP_CRED_MAX 4096
int fed_http_cred_read(const char *path, const char *auth, char **out, size_t *outlen,
    char *msg, size_t msgsz) YH_WUR;

#define FED_JSON_PATH_DEPTH 8   /* members in a dotted path */

/* The member of the JSON object o at the dotted path ("data.result"), or NULL (a part
 * missing, not an object, more than FED_JSON_PATH_DEPTH parts, a part over 128 bytes). */
json_t *fed_json_member(json_t *o, const char *path);

/* True when path is a dotted path fed_json_member can follow: 1 to FED_JSON_PATH_DEPTH
 * non-empty parts of at most 128 bytes, no blank or control byte. */
bool fed_json_path_ok(const char *path);

/* A scalar's text as an operator writes it in the configuration: a string as is, an
 * integer in decimal, true or false; "" for anything else. Cut to outsz - 1 bytes:
 * false when it was cut (where the whole value matters, an identifier or a result to
 * compare, a cut one is no value). */
bool fed_json_text(const json_t *v, char *out, size_t outsz);

/* fed_json_text where the whole value matters (an identifier, a result to compare): ""
 * when it does not fit in outsz - 1 bytes, for a cut one could name another. */
void fed_json_text_whole(const json_t *v, char *out, size_t outsz);

#endif
