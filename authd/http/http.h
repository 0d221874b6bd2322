/*
 * authd's HTTP layer over libmicrohttpd: an internal thread pool with epoll, requests
 * with ambiguous framing refused (RFC 9112 section 6), limits on header size, body
 * size, idle time, the time a request's head and body may take however slowly they
 * trickle in (authd/http/watch.h), and connections in total and per address, a router
 * from (method, exact path) to a handler, responses built as data and sent with the
 * security headers every response carries, a request id, per-route metrics and a JSON
 * access log.
 *
 * Writing an endpoint family (authd/oidc/authorize.c, authd/oidc/token.c, ...): put the
 * handlers of one family in one file, list them in a `static const struct http_route[]`
 * and add them with http_routes_add(srv, routes, family_context) from that file's
 * register function (see authd/app.h). A handler:
 *
 *     static int
 *     token_handler(struct http_req *req, void *arg)
 *     {
 *             ... read with http_req_form / http_req_query / http_req_header ...
 *             return http_respond_json(req, 200, body);   // 0 = a response is set
 *     }
 *
 * returns 0 once it has set a response with one of the http_respond_* calls, or a
 * negative YH_ERR_* (the server answers 503 {"error":"temporarily_unavailable"} for
 * a temporary failure, yh_err_temporary: YH_ERR_UNAVAILABLE/YH_ERR_BUSY/YH_ERR_NOSPACE,
 * and 500 {"error":"server_error"} for the rest, and logs it), or HTTP_SUSPENDED (below).
 *
 * Slow work (argon2, LDAP, upstream HTTP) must not run on the HTTP threads. A handler
 * hands it to a worker pool like this:
 *
 *     if ((r = http_req_suspend(req)) != 0) return r;
 *     submit a job to the pool (copy what it needs from req first);
 *     return HTTP_SUSPENDED;
 *
 * and the job, on its own thread, sets the response (http_respond_* are safe to call
 * from any thread while the request is suspended) and then calls http_req_resume(req)
 * exactly once; after that it must not touch req. While suspended, the request's
 * header/query/body accessors must not be used from the worker (copy values first).
 * Suspended requests must all be resumed before http_server_free.
 *
 * A response that is ready but must not leave before something else is durable (a
 * token before its audit line is flushed) is held instead: the handler sets it, calls
 * http_req_hold(req), hands req to whoever finishes the work and returns HTTP_SUSPENDED;
 * that side calls http_req_resume(req) once done, or first replaces the response
 * (http_respond_failure) when it failed.
 */
#ifndef YH_AUTHD_HTTP_H
#define YH_AUTHD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "common/metrics.h"
#include "common/buf.h"
#include "common/err.h"

struct http_server;
struct http_req;

/* A handler's return value meaning "suspended; the response comes later". */
#define HTTP_SUSPENDED 1

typedef int (*http_handler_fn)(struct http_req *req, void *arg);

/* Route flags. */
#define HTTP_ROUTE_NO_STORE 0x1u  /* add Cache-Control: no-store, Pragma: no-cache */
/*
 * The route reads its body before anyone is authenticated (a login or registration
 * form, client credentials in a token request): its body may hold at most
 * http_opts.max_body_preauth bytes (413 past it), much less than the max_body of routes
 * whose requests carry a session or a bearer token. After Redis, which caps a client's
 * query buffer far lower until it has sent AUTH.
 */
#define HTTP_ROUTE_PREAUTH 0x2u

struct http_route {
	const char *method;   /* "GET", "POST", ...; GET routes answer HEAD too */
	const char *path;     /* exact path, e.g. "/token"; NULL ends an array */
	http_handler_fn fn;
	unsigned flags;       /* HTTP_ROUTE_* */
};

/* Settings for http_server_new; the strings are copied (or read) during the call. */
struct http_opts {
	const char *listen;            /* "ADDR:PORT", "[V6ADDR]:PORT"; port 0 = any free */
	unsigned threads;              /* HTTP threads (>= 1) */
	size_t max_body;               /* request body cap in bytes (413 past it) */
	size_t max_body_preauth;       /* the cap of HTTP_ROUTE_PREAUTH routes; 0 or more
	                                  than max_body: max_body */
	size_t max_header;             /* request line + headers cap in bytes (431 past it) */
	unsigned connection_timeout;   /* idle seconds before a connection is closed */
	unsigned head_timeout;         /* seconds for a request head from its first byte
	                                  however slowly it trickles; 0 = no limit */
	unsigned body_timeout;         /* seconds for a body after its head; 0 = no limit */
	unsigned max_connections;      /* open connections in total */
	unsigned max_per_ip;           /* open connections per client address (0 = no cap) */
	const char *trusted_proxies;   /* comma-separated addresses/CIDRs, or NULL */
	const char *tls_cert_file;     /* PEM; both set = HTTPS by libmicrohttpd itself */
	const char *tls_key_file;
	struct mx_registry *metrics;   /* may be NULL; borrowed, must outlive the server */
};


/*
 * Creates a server: binds the listen socket (so a busy or foreign address fails here,
 * with errmsg saying why) but does not yet accept requests. *out is NULL on error.
 * Returns 0, YH_ERR_INVALID (bad option), YH_ERR_IO (bind/listen failed, or a TLS file
 * unreadable), YH_ERR_UNSUPPORTED (TLS asked for but libmicrohttpd lacks it), YH_ERR_ALLOC.
 */
int http_server_new(const struct http_opts *opts, struct http_server **out, char *errmsg,
    size_t errsz) YH_WUR;

/*
 * Adds routes (an array ended by path == NULL); arg is passed to their handlers. Only
 * before http_server_start. Returns 0, YH_ERR_EXISTS (a method+path pair twice),
 * YH_ERR_INVALID or YH_ERR_ALLOC.
 */
int http_routes_add(struct http_server *srv, const struct http_route *routes, void *arg) YH_WUR;

/* Starts serving on the HTTP threads. Returns 0 or YH_ERR_IO (errmsg says why). */
int http_server_start(struct http_server *srv, char *errmsg, size_t errsz) YH_WUR;

/*
 * Replaces the trusted proxies (trusted_proxies of http_opts) while serving: a request
 * that starts afterwards is judged by the new list. Any thread. Returns 0, or
 * YH_ERR_INVALID (errmsg names the entry; the list in force stays).
 */
int http_server_set_trusted_proxies(struct http_server *srv, const char *list, char *errmsg,
    size_t errsz) YH_WUR;

/* The bound port (useful after listening on port 0). */
uint16_t http_server_port(const struct http_server *srv);

/* True when the server speaks TLS itself. */
bool http_server_tls(const struct http_server *srv);

/* Stops accepting new connections (open ones are still served). For shutdown: quiesce,
 * drain the worker pool (which resumes every suspended request), then free. */
void http_server_quiesce(struct http_server *srv);

/* After http_server_quiesce: waits until no connection is open or max_ms passed
 * (idle keep-alive connections count as open). Returns the connections still open. */
unsigned http_server_drain(struct http_server *srv, unsigned max_ms);

/* Stops accepting, closes every connection, joins the threads and frees srv. NULL is fine. */
void http_server_free(struct http_server *srv);

/* --- reading a request (on the HTTP thread, before suspending) --- */

/* The method ("GET", ...) and the path without the query string. Owned by req. */
const char *http_req_method(const struct http_req *req);
const char *http_req_path(const struct http_req *req);

/* The request id (16 hex digits), also sent as X-Request-ID and logged. Owned by req. */
const char *http_req_id(const struct http_req *req);

/* The client address as text: the peer, or for a trusted proxy the nearest untrusted
 * address in X-Forwarded-For. Owned by req. */
const char *http_req_client_ip(const struct http_req *req);

/* True when the client reached us over HTTPS (our TLS, or X-Forwarded-Proto: https
 * from a trusted proxy). */
bool http_req_is_https(const struct http_req *req);

/* A request header (case-insensitive name), or NULL. Owned by the connection. */
const char *http_req_header(struct http_req *req, const char *name);

/* True when the peer is one of the trusted proxies (http_opts' trusted_proxies). */
bool http_req_via_trusted_proxy(const struct http_req *req);

/* A header's value percent-decoded (%XX; + stays +: nginx's $ssl_client_escaped_cert)
 * as a new string in *out (free it). 0, YH_ERR_NOT_FOUND (absent or empty),
 * YH_ERR_CONFLICT (the header more than once), YH_ERR_TOO_LONG (over max bytes
 * decoded), YH_ERR_INVALID (a bad escape, a NUL byte), YH_ERR_ALLOC. */
int http_req_header_unescaped(struct http_req *req, const char *name, size_t max,
    char **out) YH_WUR;

/* A cookie value, or NULL. Owned by the connection. */
const char *http_req_cookie(struct http_req *req, const char *name);

/*
 * A query parameter (already percent-decoded). *out is owned by the connection.
 * Returns 0, YH_ERR_NOT_FOUND, YH_ERR_CONFLICT (given more than once, which OAuth
 * forbids), YH_ERR_TOO_LONG (over max bytes) or YH_ERR_INVALID (a NUL byte).
 */
int http_req_query(struct http_req *req, const char *name, size_t max, const char **out) YH_WUR;

/*
 * A parameter of an application/x-www-form-urlencoded body, decoded into a new string
 * (*out, free() it; yh_strfree_secret for secrets). Same errors as http_req_query, and
 * YH_ERR_UNSUPPORTED when the body is not a form.
 */
int http_req_form(struct http_req *req, const char *name, size_t max, char **out) YH_WUR;

/*
 * The parser behind http_req_form, usable on any application/x-www-form-urlencoded
 * text: finds name in body ('+' is a space, %XX a byte; a malformed escape or a NUL
 * byte in the name or value is YH_ERR_INVALID). *out is a new string (free() it).
 * Returns 0, YH_ERR_NOT_FOUND, YH_ERR_CONFLICT (name given twice), YH_ERR_TOO_LONG
 * (value over max bytes), YH_ERR_INVALID or YH_ERR_ALLOC.
 */
int http_form_get(struct yh_span body, const char *name, size_t max, char **out) YH_WUR;

/* The raw body (at most max_body bytes; empty when none). Owned by req. */
struct yh_span http_req_body(const struct http_req *req);

/* --- answering (any thread while suspended; else the HTTP thread) --- */

/*
 * Sets the response: status, Content-Type and a copy of len bytes of body. A second call
 * replaces the first. Returns 0 or YH_ERR_ALLOC / YH_ERR_INVALID (status out of range).
 */
int http_respond(struct http_req *req, unsigned status, const char *content_type,
    const void *body, size_t len) YH_WUR;

/* Sets a JSON response and consumes one reference to body (even on error). */
int http_respond_json(struct http_req *req, unsigned status, json_t *body) YH_WUR;

/* Sets {"error": error[, "error_description": description]} with status. */
int http_respond_error(struct http_req *req, unsigned status, const char *error,
    const char *description) YH_WUR;

/* Sets a redirect (302 or 303) to location, which must not contain CR or LF. */
int http_respond_redirect(struct http_req *req, unsigned status, const char *location) YH_WUR;

/*
 * Adds a response header (both copied). A handler's Content-Security-Policy,
 * Cache-Control or Referrer-Policy replaces the default one. Returns 0,
 * YH_ERR_INVALID (CR, LF or NUL in name or value, or a bad name), YH_ERR_LIMIT (too
 * many headers) or YH_ERR_ALLOC.
 */
int http_resp_header(struct http_req *req, const char *name, const char *value) YH_WUR;

/* Adds "Retry-After: seconds" (RFC 9110 10.2.3) to a 503. Errors as http_resp_header. */
int http_resp_retry_after(struct http_req *req, unsigned seconds) YH_WUR;

/* Asks for Cache-Control: no-store on this response (token responses, pages). */
void http_resp_no_store(struct http_req *req);

/*
 * True once a response has been set on req (any http_respond* call; headers alone do
 * not count). A helper that may answer the request itself (an OAuth error, an error
 * page) returns 0 or a negative error like any other call, and its caller asks this
 * to know whether to go on: no return value means "answered already".
 */
bool http_req_answered(struct http_req *req);

/* --- suspending (see the top of this file) --- */

/* Suspends the request's connection; the handler must then return HTTP_SUSPENDED.
 * Returns 0 or YH_ERR_INTERNAL (called twice or outside the handler). */
int http_req_suspend(struct http_req *req) YH_WUR;

/* Like http_req_suspend, after the handler has set a response (and its headers): the
 * response stays with the request until http_req_resume, and may be replaced from
 * another thread meanwhile. Returns 0 or YH_ERR_INTERNAL (no response set yet, called
 * twice or outside the handler). */
int http_req_hold(struct http_req *req) YH_WUR;

/*
 * Suspends the request like http_req_suspend, to go on with it on an HTTP thread once
 * something else is done (a line made durable by the audit writer) rather than on the
 * thread that finishes that work: when http_req_resume(req) is called, the request's
 * HTTP thread runs fn(req, arg) in place of a handler (same contract: 0 once a response
 * is set, a negative error, or HTTP_SUSPENDED after suspending, holding or deferring
 * again; the request's accessors work again). When the connection ends before fn ran
 * (the server stops), drop(arg) is called instead; exactly one of fn and drop is
 * called. Only from a handler that has set no response yet, which then returns
 * HTTP_SUSPENDED. Returns 0 or YH_ERR_INTERNAL.
 */
int http_req_defer(struct http_req *req, http_handler_fn fn, void (*drop)(void *arg),
    void *arg) YH_WUR;

/* Replaces the response with what the server answers for a handler's error r: 503
 * temporarily_unavailable for a temporary one (yh_err_temporary), else 500
 * server_error, both as JSON; headers set so far are dropped. For a held or suspended
 * request whose work failed, and for the server's own use. Returns 0 or
 * YH_ERR_ALLOC; even then the response it replaces is gone (an empty 500 is left). */
int http_respond_failure(struct http_req *req, int r) YH_WUR;

/* Resumes a suspended request after its response was set (any thread, once). When no
 * response was set, the client gets 500. */
void http_req_resume(struct http_req *req);

#endif
