/*
 * authd's HTTP layer over libmicrohttpd. Reading this file: the server (socket, daemon,
 * routes) first, then the life of a request (access handler -> handler -> queue ->
 * completion with metrics and access log), then the request accessors, then responses.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authd/http/http.h"
#include "authd/http/framing.h"
#include "authd/http/watch.h"
#include "common/netaddr.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/timeutil.h"
#include "common/url.h"

#define HTTP_MAX_ROUTES 256
#define HTTP_MAX_RESP_HEADERS 24
#define HTTP_MAX_HDR_VALUE 8192
#define HTTP_CODE_MIN 100
#define HTTP_CODE_MAX 599
#define HTTP_TLS_FILE_MAX (1024 * 1024)
#define HTTP_HSTS "max-age=31536000"
#define HTTP_CSP "default-src 'none'; frame-ancestors 'none'"

/* Per-route metrics: a lazily created counter per status code, a latency histogram. */
struct route_stats {
	char route[128];
	char method[16];
	_Atomic(struct mx_counter *) by_code[HTTP_CODE_MAX - HTTP_CODE_MIN + 1];
	struct mx_hist *latency;
};

struct route_ent {
	char method[16];
	char *path;
	http_handler_fn fn;
	void *arg;
	unsigned flags;
	size_t max_body;              /* this route's body cap */
	struct route_stats stats;
};

struct http_server {
	struct MHD_Daemon *daemon;
	int lfd;
	uint16_t port;
	int family;
	bool tls;
	char *cert_pem, *key_pem;
	size_t key_len;
	unsigned threads, timeout, max_conn, max_per_ip;
	unsigned head_timeout, body_timeout;
	size_t max_body, max_body_preauth, max_header;
	struct route_ent *routes[HTTP_MAX_ROUTES];
	size_t nroutes;
	struct route_stats unmatched;
	pthread_rwlock_t proxies_lock; /* the list changes while serving (a reload) */
	struct net_cidr proxies[NET_CIDR_LIST_MAX];
	size_t nproxies;
	struct mx_registry *mx;
	struct mx_gauge *open_conns;
	struct hw_set *watch;         /* head and body deadlines, while serving */
	atomic_bool quiescing;        /* http_server_quiesce: refuse new connections */
	uint64_t id_key;              /* request ids: random at start ... */
	_Atomic uint64_t id_seq;      /* ... mixed with a counter (req_id) */
	pthread_mutex_t log_lock;     /* guards starting and start_err */
	bool starting;
	char start_err[256];
};

enum req_state { REQ_NEW, REQ_SUSPENDED, REQ_RESPONDED, REQ_QUEUED };

struct resp_header {
	char *name, *value;
};

struct http_req {
	struct http_server *srv;
	struct MHD_Connection *conn;
	struct hw_conn *watch;     /* the connection's deadlines (NULL: none) */
	const struct route_ent *route;
	struct route_stats *stats;
	char id[17];
	char method[16];
	const char *path;          /* owned by the connection */
	char client_ip[INET6_ADDRSTRLEN];
	bool https;
	bool via_proxy;            /* the peer is one of the trusted proxies */
	int64_t start_ns;
	struct yh_buf body;
	bool too_large;
	bool in_handler;
	bool suspended;            /* set once by http_req_suspend, on the HTTP thread */
	enum req_state state;
	/* the response being built */
	unsigned status;
	char *ctype;
	char *rbody;
	size_t rlen;
	struct resp_header hdr[HTTP_MAX_RESP_HEADERS];
	size_t nhdr;
	bool no_store;
	pthread_mutex_t lock;      /* guards the response while suspended */
	/* http_req_defer: what runs when the request is resumed (NULL: nothing) */
	http_handler_fn cont;
	void (*cont_drop)(void *arg);
	void *cont_arg;
};

/* ------------------------------------------------------------------ addresses */

static bool
addr_trusted(const struct http_server *srv, const char *text)
{
	unsigned char addr[16];
	int family = strchr(text, ':') != NULL ? AF_INET6 : AF_INET;

	if (inet_pton(family, text, addr) != 1)
		return false;
	for (size_t i = 0; i < srv->nproxies; i++)
		if (net_cidr_contains(&srv->proxies[i], family, addr))
			return true;
	return false;
}

/* ------------------------------------------------------------------ server */

static int
open_listener(struct http_server *srv, const char *listen_s, char *errmsg, size_t errsz)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char host[64];
	uint16_t port;
	int one = 1, fd;

	if (net_listen_parse(listen_s, host, sizeof(host), &port) != 0) {
		yh_errf(errmsg, errsz, "bad listen address '%s' (expected ADDR:PORT)", listen_s);
		return YH_ERR_INVALID;
	}
	memset(&ss, 0, sizeof(ss));
	if (listen_s[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return YH_ERR_INVALID;
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return YH_ERR_INVALID;
		sl = sizeof(*s4);
	}
	srv->family = ss.ss_family;
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
		yh_errf(errmsg, errsz, "cannot create a socket: %s", strerror(errno));
		return YH_ERR_IO;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 511) != 0) {
		yh_errf(errmsg, errsz, "cannot listen on %s: %s", listen_s, strerror(errno));
		close(fd);
		return YH_ERR_IO;
	}
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		srv->port = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)(void *)&ss)->sin6_port :
		    ((struct sockaddr_in *)(void *)&ss)->sin_port);
	srv->lfd = fd;
	return 0;
}

/* Reads a whole small file into a NUL-terminated buffer. */
static int
read_small_file(const char *what, const char *path, char **out, size_t *outlen,
    char *errmsg, size_t errsz)
{
	struct yh_buf b;
	char chunk[4096];
	ssize_t n;
	int fd, r = 0;

	*out = NULL;
	yh_buf_init_secret(&b, HTTP_TLS_FILE_MAX);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		yh_errf(errmsg, errsz, "%s %s: cannot read: %s", what, path, strerror(errno));
		return YH_ERR_IO;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if ((r = yh_buf_append(&b, chunk, (size_t)n)) != 0)
			break;
	if (n < 0 || r != 0) {
		yh_errf(errmsg, errsz, "%s %s: cannot read: %s", what, path,
		    r != 0 ? "file too large" : strerror(errno));
		r = YH_ERR_IO;
	}
	close(fd);
	yh_wipe(chunk, sizeof(chunk));
	if (r == 0) {
		*outlen = b.len;
		if ((*out = yh_buf_steal(&b)) == NULL)
			r = YH_ERR_ALLOC;
	}
	yh_buf_free(&b);
	return r;
}

static int
no_password(char *buf, int size, int rwflag, void *u)
{
	return -1;   /* never prompt: an encrypted key is refused with a clear message */
}

/* Checks the PEM pair with OpenSSL first, so a bad file is one clear line. */
static int
check_tls_pair(const struct http_server *srv, size_t cert_len, const char *cert_file,
    const char *key_file, char *errmsg, size_t errsz)
{
	BIO *cb = BIO_new_mem_buf(srv->cert_pem, (int)cert_len);
	BIO *kb = BIO_new_mem_buf(srv->key_pem, (int)srv->key_len);
	X509 *x = NULL;
	EVP_PKEY *pk = NULL;
	struct stat st;
	int r = YH_ERR_INVALID;

	if (cb == NULL || kb == NULL)
		r = YH_ERR_ALLOC;
	else if ((x = PEM_read_bio_X509(cb, NULL, no_password, NULL)) == NULL)
		yh_errf(errmsg, errsz, "tls.cert_file %s: no PEM certificate in it", cert_file);
	else if ((pk = PEM_read_bio_PrivateKey(kb, NULL, no_password, NULL)) == NULL)
		yh_errf(errmsg, errsz, "tls.key_file %s: not an unencrypted PEM private key",
		    key_file);
	else if (X509_check_private_key(x, pk) != 1)
		yh_errf(errmsg, errsz, "tls.key_file %s does not match the certificate in %s",
		    key_file, cert_file);
	else
		r = 0;
	ERR_clear_error();
	EVP_PKEY_free(pk);
	X509_free(x);
	BIO_free(cb);
	BIO_free(kb);
	if (r == 0 && stat(key_file, &st) == 0 && (st.st_mode & 077) != 0)
		yh_warn("tls.key_file %s is readable by group or others (mode %03o); use 0600",
		    key_file, (unsigned)(st.st_mode & 0777));
	return r;
}

static int
stats_init(struct http_server *srv, struct route_stats *st, const char *route,
    const char *method)
{
	struct yh_buf l;
	int r;

	if (yh_strlcpy(st->route, route, sizeof(st->route)) != 0 ||
	    yh_strlcpy(st->method, method, sizeof(st->method)) != 0)
		return YH_ERR_INVALID;
	if (srv->mx == NULL)
		return 0;
	yh_buf_init(&l, 512);
	if ((r = yh_buf_puts(&l, "route=\"")) == 0 && (r = mx_label_escape(&l, route)) == 0 &&
	    (r = yh_buf_puts(&l, "\",method=\"")) == 0 &&
	    (r = mx_label_escape(&l, method)) == 0 && (r = yh_buf_putc(&l, '"')) == 0)
		r = mx_hist_get(srv->mx, "yh_http_request_duration_seconds",
		    "HTTP request latency from first byte read to response sent.",
		    yh_buf_cstr(&l), mx_latency_buckets, mx_latency_nbuckets, &st->latency);
	yh_buf_free(&l);
	return r;
}

int
http_server_new(const struct http_opts *opts, struct http_server **out, char *errmsg,
    size_t errsz)
{
	struct http_server *srv;
	int r;

	*out = NULL;
	if (opts == NULL || opts->listen == NULL || opts->threads == 0 || opts->max_body == 0 ||
	    opts->max_header < 1024) {
		yh_errf(errmsg, errsz, "invalid HTTP options");
		return YH_ERR_INVALID;
	}
	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return YH_ERR_ALLOC;
	if (pthread_mutex_init(&srv->log_lock, NULL) != 0) {
		free(srv);
		return YH_ERR_ALLOC;
	}
	if (pthread_rwlock_init(&srv->proxies_lock, NULL) != 0) {
		pthread_mutex_destroy(&srv->log_lock);
		free(srv);
		return YH_ERR_ALLOC;
	}
	srv->lfd = -1;
	if ((r = yh_random(&srv->id_key, sizeof(srv->id_key))) != 0) {
		yh_errf(errmsg, errsz, "no random bytes for request ids");
		goto out;
	}
	srv->threads = opts->threads;
	srv->timeout = opts->connection_timeout;
	srv->max_conn = opts->max_connections;
	srv->max_per_ip = opts->max_per_ip;
	srv->head_timeout = opts->head_timeout;
	srv->body_timeout = opts->body_timeout;
	srv->max_body = opts->max_body;
	srv->max_body_preauth = opts->max_body_preauth > 0 &&
	    opts->max_body_preauth < opts->max_body ? opts->max_body_preauth : opts->max_body;
	srv->max_header = opts->max_header;
	srv->mx = opts->metrics;
	if ((r = http_server_set_trusted_proxies(srv, opts->trusted_proxies, errmsg,
	    errsz)) != 0)
		goto out;
	if ((opts->tls_cert_file == NULL) != (opts->tls_key_file == NULL)) {
		yh_errf(errmsg, errsz, "tls.cert_file and tls.key_file go together");
		r = YH_ERR_INVALID;
		goto out;
	}
	if (opts->tls_cert_file != NULL) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			yh_errf(errmsg, errsz, "this libmicrohttpd has no TLS support");
			r = YH_ERR_UNSUPPORTED;
			goto out;
		}
		size_t clen;

		if ((r = read_small_file("tls.cert_file", opts->tls_cert_file, &srv->cert_pem, &clen, errmsg,
		    errsz)) != 0 || (r = read_small_file("tls.key_file", opts->tls_key_file, &srv->key_pem,
		    &srv->key_len, errmsg, errsz)) != 0 || (r = check_tls_pair(srv, clen,
		    opts->tls_cert_file, opts->tls_key_file, errmsg, errsz)) != 0)
			goto out;
		srv->tls = true;
	}
	if ((r = stats_init(srv, &srv->unmatched, "unmatched", "any")) != 0)
		goto out;
	if (srv->mx != NULL && (r = mx_gauge_get(srv->mx, "yh_http_connections_open",
	    "Open HTTP connections.", NULL, &srv->open_conns)) != 0)
		goto out;
	r = open_listener(srv, opts->listen, errmsg, errsz);
out:
	if (r != 0)
		http_server_free(srv);
	else
		*out = srv;
	return r;
}

int
http_routes_add(struct http_server *srv, const struct http_route *routes, void *arg)
{
	int r;

	if (srv == NULL || routes == NULL || srv->daemon != NULL)
		return YH_ERR_INVALID;
	for (const struct http_route *rt = routes; rt->path != NULL; rt++) {
		struct route_ent *e;

		if (rt->method == NULL || rt->fn == NULL || rt->path[0] != '/' ||
		    strlen(rt->method) >= sizeof(e->method))
			return YH_ERR_INVALID;
		for (size_t i = 0; i < srv->nroutes; i++)
			if (strcmp(srv->routes[i]->path, rt->path) == 0 &&
			    strcmp(srv->routes[i]->method, rt->method) == 0)
				return YH_ERR_EXISTS;
		if (srv->nroutes >= HTTP_MAX_ROUTES)
			return YH_ERR_LIMIT;
		if ((e = calloc(1, sizeof(*e))) == NULL || (e->path = strdup(rt->path)) == NULL) {
			free(e);
			return YH_ERR_ALLOC;
		}
		memcpy(e->method, rt->method, strlen(rt->method) + 1);  /* length checked above */
		e->fn = rt->fn;
		e->arg = arg;
		e->flags = rt->flags;
		e->max_body = (rt->flags & HTTP_ROUTE_PREAUTH) ? srv->max_body_preauth :
		    srv->max_body;
		srv->routes[srv->nroutes++] = e;
		if ((r = stats_init(srv, &e->stats, rt->path, rt->method)) != 0)
			return r;
	}
	return 0;
}

uint16_t
http_server_port(const struct http_server *srv)
{
	return srv->port;
}

bool
http_server_tls(const struct http_server *srv)
{
	return srv->tls;
}

void
http_server_quiesce(struct http_server *srv)
{
	if (srv == NULL || srv->daemon == NULL)
		return;
	/*
	 * Not MHD_quiesce_daemon: with a thread pool on epoll it races each pool thread's own
	 * removal of the listen socket from its epoll set, and the loser aborts the process
	 * ("Failed to remove listen FD from epoll set", an open libmicrohttpd defect seen
	 * here about once in 40 shutdowns). The accept policy refuses new connections
	 * instead: they are closed as soon as accepted, while open ones are still served.
	 */
	atomic_store(&srv->quiescing, true);
}

unsigned
http_server_drain(struct http_server *srv, unsigned max_ms)
{
	const union MHD_DaemonInfo *di;
	int64_t deadline = yh_mono_ms() + max_ms;

	if (srv == NULL || srv->daemon == NULL)
		return 0;
	for (;;) {
		di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
		if (di == NULL || di->num_connections == 0)
			return 0;
		if (yh_mono_ms() >= deadline)
			return di->num_connections;
		usleep(10000);
	}
}

static void
route_free(struct route_ent *e)
{
	if (e == NULL)
		return;
	free(e->path);
	free(e);
}

void
http_server_free(struct http_server *srv)
{
	if (srv == NULL)
		return;
	if (srv->daemon != NULL)
		MHD_stop_daemon(srv->daemon);
	hw_set_free(srv->watch);   /* after the daemon: its connections are gone */
	if (srv->lfd >= 0)
		close(srv->lfd);
	for (size_t i = 0; i < srv->nroutes; i++)
		route_free(srv->routes[i]);
	free(srv->cert_pem);
	yh_freezero(srv->key_pem, srv->key_len);
	pthread_rwlock_destroy(&srv->proxies_lock);
	pthread_mutex_destroy(&srv->log_lock);
	free(srv);
}

int
http_server_set_trusted_proxies(struct http_server *srv, const char *list, char *errmsg,
    size_t errsz)
{
	struct net_cidr nets[NET_CIDR_LIST_MAX];
	char bad[80];
	size_t n = 0;

	if (net_cidr_list_parse(list, nets, NET_CIDR_LIST_MAX, &n, bad, sizeof(bad)) != 0) {
		yh_errf(errmsg, errsz, "bad trusted proxy '%s'", bad);
		return YH_ERR_INVALID;
	}
	pthread_rwlock_wrlock(&srv->proxies_lock);
	memcpy(srv->proxies, nets, n * sizeof(nets[0]));
	srv->nproxies = n;
	pthread_rwlock_unlock(&srv->proxies_lock);
	return 0;
}

/* ------------------------------------------------------------------ a request's life */

/* Drops the headers a failed handler may have set (Location, Set-Cookie, ...). */
static void
drop_resp_headers(struct http_req *req)
{
	for (size_t i = 0; i < req->nhdr; i++) {
		free(req->hdr[i].name);
		free(req->hdr[i].value);
	}
	req->nhdr = 0;
}

static void
req_free(struct http_req *req)
{
	if (req == NULL)
		return;
	yh_buf_free(&req->body);
	free(req->ctype);
	free(req->rbody);
	drop_resp_headers(req);
	pthread_mutex_destroy(&req->lock);
	free(req);
}

/* The peer is a trusted proxy: the scheme and the client address it forwards
 * (proxies_lock held). */
static void
set_forwarded(struct http_req *req)
{
	const char *xff, *proto;

	proto = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-Forwarded-Proto");
	if (proto != NULL)
		req->https = strcasecmp(proto, "https") == 0;
	xff = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-Forwarded-For");
	if (xff == NULL || strlen(xff) > HTTP_MAX_HDR_VALUE)
		return;
	/* Walk from the right: the first address we do not trust is the client. */
	for (size_t end = strlen(xff); end > 0;) {
		size_t start = end;
		char one[INET6_ADDRSTRLEN];
		unsigned char tmp[16];
		struct yh_span t;

		while (start > 0 && xff[start - 1] != ',')
			start--;
		t = yh_span_trim(yh_span_mem(xff + start, end - start));
		end = start > 0 ? start - 1 : 0;
		if (t.len == 0 || t.len >= sizeof(one))
			break;
		memcpy(one, t.p, t.len);
		one[t.len] = '\0';
		if (inet_pton(strchr(one, ':') != NULL ? AF_INET6 : AF_INET, one, tmp) != 1)
			break;
		memcpy(req->client_ip, one, t.len + 1);
		if (!addr_trusted(req->srv, one))
			break;
	}
}

static void
set_client(struct http_req *req)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;

	req->client_ip[0] = '\0';
	req->https = req->srv->tls;
	req->via_proxy = false;
	ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || (sa = ci->client_addr) == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		    req->client_ip, sizeof(req->client_ip));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		    req->client_ip, sizeof(req->client_ip));
	pthread_rwlock_rdlock(&req->srv->proxies_lock);
	if (req->srv->nproxies > 0 && addr_trusted(req->srv, req->client_ip)) {
		req->via_proxy = true;
		set_forwarded(req);
	}
	pthread_rwlock_unlock(&req->srv->proxies_lock);
}

/*
 * A request id: 16 hex digits, unique within this server's life and unrelated between
 * runs. The next value of a counter, offset by a random key drawn at start and passed
 * through SplitMix64's finalizer (a bijection of 64-bit values, so distinct counters
 * give distinct ids): no call into the random generator per request (OpenSSL's checks
 * for a fork with getpid(), a system call, on every draw) and no lock. Ids are for logs,
 * not secrets.
 */
static void
req_id(struct http_server *srv, char out[17])
{
	uint64_t z = srv->id_key + atomic_fetch_add_explicit(&srv->id_seq, 1,
	    memory_order_relaxed) * 0x9e3779b97f4a7c15ULL;
	unsigned char b[8];

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(z >> (56 - 8 * i));
	yh_hex_encode(b, sizeof(b), out);
}

static struct http_req *
req_new(struct http_server *srv, struct MHD_Connection *conn, const char *method,
    const char *url)
{
	const union MHD_ConnectionInfo *ci;
	struct http_req *req;

	if ((req = calloc(1, sizeof(*req))) == NULL)
		return NULL;
	if (pthread_mutex_init(&req->lock, NULL) != 0) {
		free(req);
		return NULL;
	}
	req->srv = srv;
	req->conn = conn;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	req->watch = ci != NULL ? ci->socket_context : NULL;
	req->start_ns = yh_mono_ns();
	req->path = url;
	req->stats = &srv->unmatched;
	if (yh_strlcpy(req->method, method, sizeof(req->method)) != 0)
		memcpy(req->method, "?", 2);   /* no route has such a method: 404/405 */
	req_id(srv, req->id);
	/* Bodies carry passwords and client secrets: wiped on growth and on free. */
	yh_buf_init_secret(&req->body, srv->max_body);
	set_client(req);
	return req;
}

/* Finds the route for method+path; *path_known tells 405 from 404. */
static const struct route_ent *
route_find(const struct http_server *srv, const char *method, const char *path,
    bool *path_known)
{
	const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;

	*path_known = false;
	for (size_t i = 0; i < srv->nroutes; i++) {
		if (strcmp(srv->routes[i]->path, path) != 0)
			continue;
		*path_known = true;
		if (strcmp(srv->routes[i]->method, m) == 0)
			return srv->routes[i];
	}
	return NULL;
}

static int
set_allow(struct http_req *req, const char *path)
{
	char allow[128] = "";
	size_t n = 0;

	for (size_t i = 0; i < req->srv->nroutes; i++) {
		const struct route_ent *e = req->srv->routes[i];
		int w;

		if (strcmp(e->path, path) != 0)
			continue;
		w = snprintf(allow + n, sizeof(allow) - n, "%s%s%s", n > 0 ? ", " : "",
		    e->method, strcmp(e->method, "GET") == 0 ? ", HEAD" : "");
		if (w < 0 || (size_t)w >= sizeof(allow) - n)
			break;
		n += (size_t)w;
	}
	return http_resp_header(req, "Allow", allow);
}

static enum MHD_Result
header_size_iter(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	size_t *total = cls;

	*total += strlen(key) + (value != NULL ? strlen(value) : 0) + 4;  /* ": " CRLF */
	return MHD_YES;
}

/* The request line plus headers, roughly as they came on the wire. */
static size_t
header_bytes(struct http_req *req)
{
	size_t total = strlen(req->method) + strlen(req->path) + 12;

	MHD_get_connection_values(req->conn, MHD_HEADER_KIND, header_size_iter, &total);
	return total;
}

/*
 * ---- message framing (RFC 9112 section 6): the decision is http_framing_check's (see
 * authd/http/framing.h); here only how libmicrohttpd hands the fields over.
 */

static enum MHD_Result
framing_iter(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
    const char *value, size_t value_size)
{
	struct http_framing *fr = cls;
	uintptr_t k = (uintptr_t)key, v = (uintptr_t)value;
	/*
	 * obs-fold: libmicrohttpd 0.9.75 appends a continuation line to the field *name*,
	 * moved to new memory, and leaves the value in the request buffer; an unfolded
	 * field's value always follows its name on the same line.
	 */
	struct http_field f = { .name = key, .name_len = key_size, .value = value,
		.value_len = value_size, .folded = value == NULL || v < k + key_size + 1 };

	(void)kind;
	return http_framing_field(fr, &f) ? MHD_YES : MHD_NO;
}

/*
 * Checks the framing of the request head, every header field before any of the body is
 * read. Returns 0 when the body length is unambiguous, else the status to answer (400,
 * or 501 for a transfer coding other than chunked) with *why saying what was wrong.
 */
static unsigned
framing_error(struct http_req *req, const char *version, const char **why)
{
	struct http_framing fr;

	http_framing_init(&fr);
	MHD_get_connection_values_n(req->conn, MHD_HEADER_KIND, framing_iter, &fr);
	return http_framing_result(&fr, version, why);
}

/* Answers an ambiguous request and closes its connection (nothing after it is read). */
static int
refuse_framing(struct http_req *req, unsigned status, const char *why)
{
	int r;

	if ((r = http_resp_header(req, "Connection", "close")) != 0)
		return r;
	return http_respond_error(req, status, status == 501 ? "not_implemented" : "bad_request",
	    why);
}

/* Answers what the framing checks, the router and the limits can answer before the
 * body is read. */
static int
early_answer(struct http_req *req, const char *version)
{
	const char *cl, *why;
	unsigned status;
	bool path_known;
	uint64_t len = 0;

	if ((status = framing_error(req, version, &why)) != 0)
		return refuse_framing(req, status, why);
	/* Limits come before routing: oversized requests are refused whatever the path.
	 * (libmicrohttpd itself answers 431 past its memory pool, twice max_header.) */
	if (header_bytes(req) > req->srv->max_header)
		return http_respond_error(req, 431, "request_header_fields_too_large", NULL);
	cl = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl != NULL && (yh_parse_u64(cl, 0, UINT64_MAX, &len) != 0 || len > req->srv->max_body))
		return http_respond_error(req, 413, "request_too_large", NULL);
	req->route = route_find(req->srv, req->method, req->path, &path_known);
	if (req->route == NULL) {
		if (path_known) {
			int r = set_allow(req, req->path);

			return r != 0 ? r : http_respond_error(req, 405, "method_not_allowed", NULL);
		}
		return http_respond_error(req, 404, "not_found", NULL);
	}
	req->stats = (struct route_stats *)&req->route->stats;
	/* The route's own cap (HTTP_ROUTE_PREAUTH): announced, or met while reading. */
	if (cl != NULL && len > req->route->max_body)
		return http_respond_error(req, 413, "request_too_large", NULL);
	yh_buf_init_secret(&req->body, req->route->max_body);    /* empty so far */
	return 0;
}

static bool
has_header(const struct http_req *req, const char *name)
{
	for (size_t i = 0; i < req->nhdr; i++)
		if (strcasecmp(req->hdr[i].name, name) == 0)
			return true;
	return false;
}

/* Adds the headers every response carries unless the handler set its own. */
static int
add_standard_headers(struct http_req *req, struct MHD_Response *resp)
{
	bool ok = true;

	for (size_t i = 0; i < req->nhdr; i++)
		ok = ok && MHD_add_response_header(resp, req->hdr[i].name, req->hdr[i].value) == MHD_YES;
	if (req->ctype != NULL)
		ok = ok && MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, req->ctype) == MHD_YES;
	if (!has_header(req, "Content-Security-Policy"))
		ok = ok && MHD_add_response_header(resp, "Content-Security-Policy", HTTP_CSP) == MHD_YES;
	if (!has_header(req, "Referrer-Policy"))
		ok = ok && MHD_add_response_header(resp, "Referrer-Policy", "no-referrer") == MHD_YES;
	ok = ok && MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff") == MHD_YES;
	ok = ok && MHD_add_response_header(resp, "X-Frame-Options", "DENY") == MHD_YES;
	ok = ok && MHD_add_response_header(resp, "X-Request-ID", req->id) == MHD_YES;
	if (req->no_store && !has_header(req, "Cache-Control"))
		ok = ok && MHD_add_response_header(resp, "Cache-Control", "no-store") == MHD_YES &&
		    MHD_add_response_header(resp, "Pragma", "no-cache") == MHD_YES;
	if (req->https)
		ok = ok && MHD_add_response_header(resp, "Strict-Transport-Security", HTTP_HSTS) == MHD_YES;
	return ok ? 0 : YH_ERR_ALLOC;
}

static enum MHD_Result
queue_response(struct http_req *req)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (req->route != NULL && (req->route->flags & HTTP_ROUTE_NO_STORE))
		req->no_store = true;
	resp = MHD_create_response_from_buffer(req->rlen, req->rbody, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL)
		return MHD_NO;
	req->rbody = NULL;   /* the response owns it now */
	if (add_standard_headers(req, resp) != 0) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	req->state = REQ_QUEUED;
	ret = MHD_queue_response(req->conn, req->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Runs fn (the route's handler, or what http_req_defer left to run) and turns its result
 * into a response or a suspension. */
static enum MHD_Result
run_handler(struct http_req *req, http_handler_fn fn, void *arg)
{
	int r;

	req->in_handler = true;
	r = fn(req, arg);
	req->in_handler = false;
	if (req->suspended) {
		/* The job owns the request now (it may even have answered already). */
		if (r != HTTP_SUSPENDED)
			yh_error("handler for %s suspended but returned %d", req->route->path, r);
		return MHD_YES;
	}
	if (r != 0 || req->state != REQ_RESPONDED) {
		yh_error("handler for %s %s failed (request %s): %s", req->method,
		    req->route->path, req->id, r != 0 ? yh_strerror(r) : "no response set");
		if (http_respond_failure(req, r) != 0)
			return MHD_NO;
	}
	return queue_response(req);
}

static enum MHD_Result
on_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct http_server *srv = cls;
	struct http_req *req = *con_cls;
	enum req_state state;

	if (req == NULL) {
		if ((req = req_new(srv, conn, method, url)) == NULL)
			return MHD_NO;
		*con_cls = req;
		if (early_answer(req, version) != 0)
			return MHD_NO;
		if (req->state == REQ_RESPONDED) {
			hw_conn_phase(srv->watch, req->watch, HW_BUSY);
			return queue_response(req);
		}
		/* The head is complete: the body (if any) now has http.body_timeout. */
		hw_conn_phase(srv->watch, req->watch, HW_BODY);
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (!req->too_large &&
		    yh_buf_append(&req->body, upload_data, *upload_data_size) != 0)
			req->too_large = true;
		*upload_data_size = 0;
		/* A body past the cap without a Content-Length (chunked): libmicrohttpd
		 * cannot answer in the middle of an upload, so close the connection; it is
		 * counted and logged as 413. With a Content-Length, early_answer sent 413. */
		return req->too_large ? MHD_NO : MHD_YES;
	}
	pthread_mutex_lock(&req->lock);
	state = req->state;
	pthread_mutex_unlock(&req->lock);
	switch (state) {
	case REQ_NEW:
		hw_conn_phase(srv->watch, req->watch, HW_BUSY);
		return run_handler(req, req->route->fn, req->route->arg);
	case REQ_RESPONDED:
		return queue_response(req);     /* resumed with a response */
	case REQ_SUSPENDED:
		if (req->cont != NULL) {         /* http_req_defer: go on here */
			http_handler_fn fn = req->cont;

			req->cont = NULL;
			req->cont_drop = NULL;
			req->suspended = false;
			req->state = REQ_NEW;
			return run_handler(req, fn, req->cont_arg);
		}
		/* Resumed without a response: the job broke its contract. */
		yh_error("request %s resumed without a response", req->id);
		drop_resp_headers(req);
		if (http_respond_error(req, 500, "server_error", NULL) != 0)
			return MHD_NO;
		return queue_response(req);
	case REQ_QUEUED:
		break;
	}
	return MHD_YES;
}

/* Whether c may be part of a number the redactor reads: a digit, a separator it joins
 * digits over, or a byte of a multibyte character (a full-width digit, U+3000). */
static bool
number_byte(unsigned char c)
{
	return (c >= '0' && c <= '9') || c == ' ' || c == '-' || c == '+' || c >= 0x80;
}

/*
 * Keeps the path readable and bounded in the access log. The redactor runs first, over
 * the path as sent (its spaces and multibyte separators are what join a number's
 * digits: "/login/110101 19900307 1233"), and only then are the bytes it leaves outside
 * printable ASCII shown as '?'. A path cut at outsz loses the number it was cut in.
 */
static void
log_safe_path(const char *path, char *out, size_t outsz)
{
	size_t n = path != NULL ? strnlen(path, outsz) : 0;

	if (n == outsz) {   /* longer than out: cut before a number the cut may split */
		n = outsz - 1;
		while (n > 0 && number_byte((unsigned char)path[n - 1]))
			n--;
	}
	memcpy(out, path != NULL ? path : "", n);
	n = yh_log_redact(out, n);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)out[i];

		out[i] = c < 0x21 || c > 0x7e ? '?' : (char)c;
	}
	out[n] = '\0';
}

static void
record_metrics(struct http_req *req, double secs)
{
	struct route_stats *st = req->stats;
	struct mx_counter *c;
	char labels[256];
	size_t idx;

	if (req->srv->mx == NULL || req->status < HTTP_CODE_MIN || req->status > HTTP_CODE_MAX)
		return;
	mx_hist_observe(st->latency, secs);
	idx = req->status - HTTP_CODE_MIN;
	c = atomic_load_explicit(&st->by_code[idx], memory_order_acquire);
	if (c == NULL) {
		/* route and method are ours (registered paths), never request bytes */
		snprintf(labels, sizeof(labels), "route=\"%s\",method=\"%s\",code=\"%u\"",
		    st->route, st->method, req->status);
		if (mx_counter_get(req->srv->mx, "yh_http_requests_total",
		    "HTTP requests by route, method and status code.", labels, &c) != 0)
			return;
		atomic_store_explicit(&st->by_code[idx], c, memory_order_release);
	}
	mx_counter_add(c, 1);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http_req *req = *con_cls;
	char path[201];
	double secs;

	if (req == NULL)
		return;
	*con_cls = NULL;
	if (req->cont_drop != NULL)   /* deferred, never resumed to go on: the server stops */
		req->cont_drop(req->cont_arg);
	secs = (double)(yh_mono_ns() - req->start_ns) / 1e9;
	if (req->state != REQ_QUEUED)
		req->status = req->too_large ? 413 :
		    hw_conn_cut(req->watch) == HW_CUT_BODY ? 408 : 0;
	/* Between requests: the next head's deadline starts with its first byte. */
	hw_conn_phase(req->srv->watch, req->watch, HW_WAIT);
	record_metrics(req, secs);
	log_safe_path(req->path, path, sizeof(path));
	yh_info("http method=%s path=%s status=%u duration_ms=%.3f client=%s request_id=%s%s",
	    req->method, path, req->status, secs * 1000.0, req->client_ip, req->id,
	    toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted=yes");
	req_free(req);
}

/* Registers each connection with the deadline sweeper (before libmicrohttpd closes its
 * socket, it is unregistered here). */
static void
on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	struct http_server *srv = cls;
	const union MHD_ConnectionInfo *ci;

	if (toe != MHD_CONNECTION_NOTIFY_STARTED) {
		hw_conn_remove(srv->watch, *socket_context);
		*socket_context = NULL;
		mx_gauge_add(srv->open_conns, -1);
		return;
	}
	mx_gauge_add(srv->open_conns, 1);
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci == NULL)
		return;
	/* Out of memory: closed at once rather than served without deadlines. */
	if ((*socket_context = hw_conn_add(srv->watch, ci->connect_fd)) == NULL)
		(void)shutdown(ci->connect_fd, SHUT_RDWR);
}

/* MHD's accept policy: every connection, until http_server_quiesce. */
static enum MHD_Result
on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct http_server *srv = cls;

	(void)addr;
	(void)addrlen;
	return atomic_load(&srv->quiescing) ? MHD_NO : MHD_YES;
}

/* libmicrohttpd's messages: logged, except while starting, when the first one is kept
 * for the single startup error line. */
static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct http_server *srv = cls;
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	pthread_mutex_lock(&srv->log_lock);
	if (srv->starting) {
		if (srv->start_err[0] == '\0')
			memcpy(srv->start_err, msg, n + 1 < sizeof(srv->start_err) ? n + 1 :
			    sizeof(srv->start_err));
		srv->start_err[sizeof(srv->start_err) - 1] = '\0';
		pthread_mutex_unlock(&srv->log_lock);
		return;
	}
	pthread_mutex_unlock(&srv->log_lock);
	yh_warn("libmicrohttpd: %s", msg);
}

int
http_server_start(struct http_server *srv, char *errmsg, size_t errsz)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	size_t mem = srv->max_header * 2;
	struct hw_opts wo = { srv->head_timeout, srv->body_timeout, srv->max_conn, srv->mx };
	struct MHD_OptionItem opts[16];
	size_t n = 0;

	if (srv->family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (srv->tls)
		flags |= MHD_USE_TLS;
	if (mem < 8192)
		mem = 8192;
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_SOCKET, srv->lfd, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)mem, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT, srv->timeout, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT, srv->max_conn, NULL };
	if (srv->max_per_ip > 0)
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		    srv->max_per_ip, NULL };
	if (srv->threads > 1)
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE, srv->threads, NULL };
	if (srv->tls) {
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, srv->cert_pem };
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, srv->key_pem };
	}
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };

	if (hw_set_new(&wo, &srv->watch) != 0) {
		yh_errf(errmsg, errsz, "cannot start the HTTP deadline sweeper");
		return YH_ERR_INTERNAL;
	}
	srv->starting = true;
	srv->daemon = MHD_start_daemon(flags, 0, on_accept, srv, on_access, srv,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
	    MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	pthread_mutex_lock(&srv->log_lock);
	srv->starting = false;
	pthread_mutex_unlock(&srv->log_lock);
	if (srv->daemon == NULL) {
		yh_errf(errmsg, errsz, "cannot start the HTTP server: %s", srv->start_err[0] != '\0' ?
		    srv->start_err : "libmicrohttpd refused the settings");
		return YH_ERR_IO;
	}
	/* The daemon owns the socket now and closes it when stopped. */
	srv->lfd = -1;
	return 0;
}

/* ------------------------------------------------------------------ reading a request */

const char *
http_req_method(const struct http_req *req)
{
	return req->method;
}

const char *
http_req_path(const struct http_req *req)
{
	return req->path;
}

const char *
http_req_id(const struct http_req *req)
{
	return req->id;
}

const char *
http_req_client_ip(const struct http_req *req)
{
	return req->client_ip;
}

bool
http_req_is_https(const struct http_req *req)
{
	return req->https;
}

const char *
http_req_header(struct http_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *
http_req_cookie(struct http_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

struct yh_span
http_req_body(const struct http_req *req)
{
	return yh_span_mem(req->body.data, req->body.len);
}

struct query_scan {
	const char *name;
	const char *value;
	size_t value_len;
	unsigned count;
	bool fold;                 /* a header's name: compared without case */
};

static enum MHD_Result
query_iter(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
    const char *value, size_t value_size)
{
	struct query_scan *qs = cls;

	if (key != NULL && strlen(key) == key_size && (qs->fold ? strcasecmp(key, qs->name) :
	    strcmp(key, qs->name)) == 0) {
		qs->count++;
		qs->value = value != NULL ? value : "";
		qs->value_len = value != NULL ? value_size : 0;
	}
	return MHD_YES;
}

int
http_req_query(struct http_req *req, const char *name, size_t max, const char **out)
{
	struct query_scan qs = { name, NULL, 0, 0, false };

	*out = NULL;
	MHD_get_connection_values_n(req->conn, MHD_GET_ARGUMENT_KIND, query_iter, &qs);
	if (qs.count == 0)
		return YH_ERR_NOT_FOUND;
	if (qs.count > 1)
		return YH_ERR_CONFLICT;
	if (qs.value_len > max)
		return YH_ERR_TOO_LONG;
	/* %00 decodes to a NUL byte: the C string would silently be cut short. */
	if (strlen(qs.value) != qs.value_len)
		return YH_ERR_INVALID;
	*out = qs.value;
	return 0;
}

static bool
is_form(struct http_req *req)
{
	const char *ct = http_req_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
	static const char form[] = "application/x-www-form-urlencoded";
	size_t n = sizeof(form) - 1;

	return ct != NULL && strncasecmp(ct, form, n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Whether the form component key names name: compared where it stands when nothing in
 * it is encoded (the usual case: no copy), else decoded into kb first. A key that does
 * not decode, or is longer than any name we ask for, names nothing. */
static bool
key_is(struct yh_span key, const char *name, struct yh_buf *kb)
{
	if (memchr(key.p, '%', key.len) == NULL && memchr(key.p, '+', key.len) == NULL)
		return key.len == strlen(name) && memcmp(key.p, name, key.len) == 0;
	yh_buf_reset(kb);
	return yh_url_pct_decode(key, true, kb) == 0 && strcmp(yh_buf_cstr(kb), name) == 0;
}

int
http_form_get(struct yh_span s, const char *name, size_t max, char **out)
{
	struct yh_span pair, key;
	struct yh_buf kb, vb;
	unsigned count = 0;
	int r = 0;

	*out = NULL;
	yh_buf_init(&kb, 256);
	yh_buf_init_secret(&vb, max > 0 ? max : 1);
	if (s.len == 0)
		s.p = NULL;
	while (r == 0 && yh_span_split(&s, '&', &pair) == 0) {
		if (yh_span_split(&pair, '=', &key) != 0 || !key_is(key, name, &kb))
			continue;
		if (++count > 1) {
			r = YH_ERR_CONFLICT;
			break;
		}
		yh_buf_reset(&vb);
		if (pair.p != NULL)
			r = yh_url_pct_decode(pair, true, &vb);
	}
	if (r == 0 && count == 0)
		r = YH_ERR_NOT_FOUND;
	if (r == 0 && (max == 0 && vb.len > 0))
		r = YH_ERR_TOO_LONG;
	if (r == 0 && (*out = yh_buf_steal(&vb)) == NULL)
		r = YH_ERR_ALLOC;
	yh_buf_free(&kb);
	yh_buf_free(&vb);
	return r;
}

bool
http_req_via_trusted_proxy(const struct http_req *req)
{
	return req->via_proxy;
}

int
http_req_header_unescaped(struct http_req *req, const char *name, size_t max, char **out)
{
	struct query_scan qs = { name, NULL, 0, 0, true };
	const char *v;
	struct yh_buf b;
	int r;

	*out = NULL;
	MHD_get_connection_values_n(req->conn, MHD_HEADER_KIND, query_iter, &qs);
	/* sent twice: one may be the client's own, which the proxy added to, not replaced */
	if (qs.count > 1)
		return YH_ERR_CONFLICT;
	if ((v = qs.value) == NULL || v[0] == '\0')
		return YH_ERR_NOT_FOUND;
	yh_buf_init(&b, max);
	if ((r = yh_url_pct_decode(yh_span_cstr(v), false, &b)) == 0 && (*out = yh_buf_steal(&b)) == NULL)
		r = YH_ERR_ALLOC;
	yh_buf_free(&b);
	return r;
}

int
http_req_form(struct http_req *req, const char *name, size_t max, char **out)
{
	*out = NULL;
	if (!is_form(req))
		return YH_ERR_UNSUPPORTED;
	return http_form_get(http_req_body(req), name, max, out);
}

/* ------------------------------------------------------------------ answering */

static bool
header_text_ok(const char *s, bool is_name)
{
	if (s == NULL || (is_name && s[0] == '\0') || strlen(s) > HTTP_MAX_HDR_VALUE)
		return false;
	for (const char *p = s; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '\r' || c == '\n' || (is_name && (c <= 0x20 || c >= 0x7f || c == ':')))
			return false;
	}
	return true;
}

int
http_respond(struct http_req *req, unsigned status, const char *content_type,
    const void *body, size_t len)
{
	char *copy = NULL, *ct = NULL;

	if (status < HTTP_CODE_MIN || status > HTTP_CODE_MAX ||
	    (content_type != NULL && !header_text_ok(content_type, false)))
		return YH_ERR_INVALID;
	if (len > 0 && (copy = malloc(len)) == NULL)
		return YH_ERR_ALLOC;
	if (content_type != NULL && (ct = strdup(content_type)) == NULL) {
		free(copy);
		return YH_ERR_ALLOC;
	}
	if (len > 0)
		memcpy(copy, body, len);
	pthread_mutex_lock(&req->lock);
	free(req->rbody);
	free(req->ctype);
	req->rbody = copy;
	req->rlen = len;
	req->ctype = ct;
	req->status = status;
	if (req->state == REQ_NEW || req->state == REQ_SUSPENDED)
		req->state = REQ_RESPONDED;
	pthread_mutex_unlock(&req->lock);
	return 0;
}

int
http_respond_json(struct http_req *req, unsigned status, json_t *body)
{
	char *text;
	int r;

	if (body == NULL)
		return YH_ERR_ALLOC;
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (text == NULL)
		return YH_ERR_ALLOC;
	r = http_respond(req, status, "application/json", text, strlen(text));
	free(text);
	return r;
}

int
http_respond_error(struct http_req *req, unsigned status, const char *error,
    const char *description)
{
	json_t *o = json_object();

	if (o == NULL || json_object_set_new(o, "error", json_string(error)) != 0 ||
	    (description != NULL &&
	    json_object_set_new(o, "error_description", json_string(description)) != 0)) {
		json_decref(o);
		return YH_ERR_ALLOC;
	}
	return http_respond_json(req, status, o);
}

int
http_respond_failure(struct http_req *req, int r)
{
	bool busy = yh_err_temporary(r);

	int rr;

	pthread_mutex_lock(&req->lock);
	drop_resp_headers(req);
	pthread_mutex_unlock(&req->lock);
	rr = http_respond_error(req, busy ? 503 : 500,
	    busy ? "temporarily_unavailable" : "server_error",
	    r == YH_ERR_NOSPACE ? "the server cannot store anything at the moment; "
	    "try again shortly" : busy ? "a service authd depends on (such as the "
	    "session store) is unavailable; try again shortly" : "internal error; see "
	    "the server log for this request id");
	if (rr != 0) {
		/* No memory for the error: the response it replaces must go all the same. */
		pthread_mutex_lock(&req->lock);
		free(req->rbody);
		free(req->ctype);
		req->rbody = NULL;
		req->ctype = NULL;
		req->rlen = 0;
		req->status = 500;
		pthread_mutex_unlock(&req->lock);
	}
	return rr;
}

int
http_respond_redirect(struct http_req *req, unsigned status, const char *location)
{
	int r;

	if ((status != 302 && status != 303) || !header_text_ok(location, false))
		return YH_ERR_INVALID;
	if ((r = http_resp_header(req, "Location", location)) != 0)
		return r;
	return http_respond(req, status, NULL, NULL, 0);
}

int
http_resp_header(struct http_req *req, const char *name, const char *value)
{
	char *n, *v;

	if (!header_text_ok(name, true) || !header_text_ok(value, false))
		return YH_ERR_INVALID;
	if (req->nhdr >= HTTP_MAX_RESP_HEADERS)
		return YH_ERR_LIMIT;
	n = strdup(name);
	v = strdup(value);
	if (n == NULL || v == NULL) {
		free(n);
		free(v);
		return YH_ERR_ALLOC;
	}
	pthread_mutex_lock(&req->lock);
	req->hdr[req->nhdr].name = n;
	req->hdr[req->nhdr].value = v;
	req->nhdr++;
	pthread_mutex_unlock(&req->lock);
	return 0;
}

int
http_resp_retry_after(struct http_req *req, unsigned seconds)
{
	char v[16];

	snprintf(v, sizeof(v), "%u", seconds);
	return http_resp_header(req, "Retry-After", v);
}

void
http_resp_no_store(struct http_req *req)
{
	req->no_store = true;
}

bool
http_req_answered(struct http_req *req)
{
	bool set;

	pthread_mutex_lock(&req->lock);
	set = req->status != 0;
	pthread_mutex_unlock(&req->lock);
	return set;
}

/* ------------------------------------------------------------------ suspending */

int
http_req_suspend(struct http_req *req)
{
	if (!req->in_handler || req->suspended || req->state != REQ_NEW)
		return YH_ERR_INTERNAL;
	req->suspended = true;
	req->state = REQ_SUSPENDED;
	MHD_suspend_connection(req->conn);
	return 0;
}

int
http_req_hold(struct http_req *req)
{
	if (!req->in_handler || req->suspended || req->state != REQ_RESPONDED)
		return YH_ERR_INTERNAL;
	req->suspended = true;
	MHD_suspend_connection(req->conn);
	return 0;
}

int
http_req_defer(struct http_req *req, http_handler_fn fn, void (*drop)(void *arg), void *arg)
{
	int r;

	if (fn == NULL || drop == NULL)
		return YH_ERR_INTERNAL;
	if ((r = http_req_suspend(req)) != 0)
		return r;
	req->cont = fn;
	req->cont_drop = drop;
	req->cont_arg = arg;
	return 0;
}

void
http_req_resume(struct http_req *req)
{
	MHD_resume_connection(req->conn);
}
