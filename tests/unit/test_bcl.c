/*
 * Unit tests for back-channel logout delivery (authd/oidc/backchannel.h): a tiny HTTP receiver on
 * 127.0.0.1:0 in a thread answers with scripted statuses and keeps every logout token;
 * the tests verify them with tok_jwt_verify (kind LOGOUT) and check retries, give-up,
 * skipped clients, the queue cap, the session-store event path and the audit record.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "authcore/audit/audit.h"
#include "authd/keyd/keys.h"
#include "authd/oidc/backchannel.h"
#include "authcore/clients/clients.h"
#include "authd/http/http.h"
#include "common/metrics.h"
#include "authd/oidc/oidc.h"
#include "authd/session/sess.h"
#include "common/buf.h"
#include "common/log.h"
#include "token/jwt.h"
#include "token/keyring.h"

#define ISSUER "http://127.0.0.1:9"
#define RX_MAX_REQ 16
#define UID "0123456789abcdef0123456789abcdef"
#define SID "AAAAAAAAAAAAAAAAAAAAAA"

/* ---- the receiver ------------------------------------------------------------------ */

struct rx {
	int fd;
	uint16_t port;
	pthread_t th;
	pthread_mutex_t lock;
	int script[8];          /* the i-th request gets script[min(i, nscript - 1)] */
	size_t nscript;
	size_t nreq;
	char *tokens[RX_MAX_REQ];
	char *ctype[RX_MAX_REQ];
	char *path[RX_MAX_REQ];
	volatile int stop;
};

static char *
header_value(const char *req, const char *name)
{
	size_t nl = strlen(name);

	for (const char *p = strstr(req, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n")) {
		const char *h = p + 2;

		if (strncasecmp(h, name, nl) == 0 && h[nl] == ':') {
			const char *v = h + nl + 1, *e;

			while (*v == ' ')
				v++;
			e = strstr(v, "\r\n");
			return strndup(v, e != NULL ? (size_t)(e - v) : strlen(v));
		}
	}
	return NULL;
}

/* Reads one request (headers and a Content-Length body) from c into buf. */
static ssize_t
read_request(int c, char *buf, size_t bufsz)
{
	size_t len = 0;

	for (;;) {
		struct pollfd p = { .fd = c, .events = POLLIN };
		ssize_t n;
		char *end;

		if (poll(&p, 1, 3000) <= 0)
			return -1;
		if ((n = read(c, buf + len, bufsz - 1 - len)) <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL) {
			char *cl = header_value(buf, "Content-Length");
			uint64_t want = 0;
			int r = cl != NULL ? yh_parse_u64(cl, 0, bufsz, &want) : 0;

			free(cl);
			if (r != 0)
				return -1;
			if (len >= (size_t)(end + 4 - buf) + want)
				return (ssize_t)len;
		}
		if (len + 1 >= bufsz)
			return -1;
	}
}

static void
rx_handle(struct rx *x, int c)
{
	static char buf[65536];
	char resp[128];
	char *body, *tok = NULL, *line_end;
	struct yh_span bs;
	int status;
	size_t i;

	if (read_request(c, buf, sizeof(buf)) < 0)
		return;
	body = strstr(buf, "\r\n\r\n") + 4;
	bs = yh_span_cstr(body);
	if (http_form_get(bs, "logout_token", 16384, &tok) != 0)
		tok = NULL;
	pthread_mutex_lock(&x->lock);
	i = x->nreq++;
	status = x->script[i < x->nscript ? i : x->nscript - 1];
	if (i < RX_MAX_REQ) {
		x->tokens[i] = tok;
		x->ctype[i] = header_value(buf, "Content-Type");
		line_end = strstr(buf, " HTTP/");
		x->path[i] = line_end != NULL ? strndup(buf, (size_t)(line_end - buf)) : NULL;
		tok = NULL;
	}
	pthread_mutex_unlock(&x->lock);
	free(tok);
	snprintf(resp, sizeof(resp), "HTTP/1.1 %d X\r\nContent-Length: 0\r\n"
	    "Connection: close\r\nCache-Control: no-store\r\n\r\n", status);
	if (write(c, resp, strlen(resp)) < 0)
		return;
}

static void *
rx_thread(void *arg)
{
	struct rx *x = arg;

	while (!x->stop) {
		struct pollfd p = { .fd = x->fd, .events = POLLIN };
		int c;

		if (poll(&p, 1, 50) <= 0)
			continue;
		if ((c = accept(x->fd, NULL, NULL)) < 0)
			continue;
		rx_handle(x, c);
		close(c);
	}
	return NULL;
}

static struct rx *
rx_start(const int *script, size_t n)
{
	struct rx *x = calloc(1, sizeof(*x));
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);

	assert_non_null(x);
	assert_true(n >= 1 && n <= 8);
	memcpy(x->script, script, n * sizeof(int));
	x->nscript = n;
	pthread_mutex_init(&x->lock, NULL);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	x->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(x->fd >= 0);
	assert_int_equal(bind(x->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(x->fd, 16), 0);
	assert_int_equal(getsockname(x->fd, (struct sockaddr *)&a, &al), 0);
	x->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&x->th, NULL, rx_thread, x), 0);
	return x;
}

static size_t
rx_count(struct rx *x)
{
	size_t n;

	pthread_mutex_lock(&x->lock);
	n = x->nreq;
	pthread_mutex_unlock(&x->lock);
	return n;
}

static void
rx_stop(struct rx *x)
{
	if (x == NULL)
		return;
	x->stop = 1;
	pthread_join(x->th, NULL);
	close(x->fd);
	for (size_t i = 0; i < RX_MAX_REQ; i++) {
		free(x->tokens[i]);
		free(x->ctype[i]);
		free(x->path[i]);
	}
	pthread_mutex_destroy(&x->lock);
	free(x);
}

/* A port nobody listens on (bound, then closed). */
static uint16_t
dead_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* ---- the fixture -------------------------------------------------------------------- */

struct fix {
	char dir[64];
	char ringdir[96];
	char auditpath[96];
	struct tok_ring *ring;
	struct clients_registry *clients;
	struct yh_audit *audit;
	struct mx_registry *mx;
	struct bcl *bcl;
	struct rx *rx;
	unsigned char key[32];
	struct keys *keys;    /* over key */
};

static void
rm_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char p[512];
	struct stat st;

	while (d != NULL && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			rm_tree(p);
		else
			unlink(p);
	}
	if (d != NULL)
		closedir(d);
	rmdir(path);
}

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct tok_ring_opts ro = { .create = true };
	struct clients_opts co = { .create = false, .check_interval_ms = -1 };
	char err[256];

	if (f == NULL)
		return -1;
	yh_log_set_level(YH_LOG_ERROR);
	snprintf(f->dir, sizeof(f->dir), "/tmp/yh_bcl_XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->ringdir, sizeof(f->ringdir), "%s/keys", f->dir);
	snprintf(f->auditpath, sizeof(f->auditpath), "%s/audit.log", f->dir);
	if (tok_ring_open(f->ringdir, &ro, &f->ring, err, sizeof(err)) != 0 ||
	    clients_open(f->dir, &co, &f->clients, err, sizeof(err)) != 0 ||
	    yh_audit_open(f->auditpath, &f->audit, err, sizeof(err)) != 0 ||
	    mx_registry_new(&f->mx) != 0) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	for (size_t i = 0; i < sizeof(f->key); i++)
		f->key[i] = (unsigned char)(i * 7 + 1);
	assert_int_equal(keys_local_new(f->key, NULL, &f->keys), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	bcl_free(f->bcl);
	rx_stop(f->rx);
	yh_audit_close(f->audit);
	clients_close(f->clients);
	tok_ring_free(f->ring);
	keys_free(f->keys);
	mx_registry_free(f->mx);
	rm_tree(f->dir);
	free(f);
	return 0;
}

/* Registers a public client whose back-channel logout URI is bcl_uri (NULL: none). */
static void
add_client(struct fix *f, const char *id, const char *bcl_uri, const char *sector)
{
	struct clients_client c;
	const char *uris[1] = { "http://127.0.0.1/cb" };
	char err[256] = "";
	int r;

	clients_client_init(&c);
	assert_int_equal(yh_strlcpy(c.id, id, sizeof(c.id)), 0);
	c.auth = CLIENTS_AUTH_NONE;
	c.require_pkce = true;
	c.redirect_uris = uris;
	c.n_redirect_uris = 1;
	c.backchannel_logout_uri = bcl_uri;
	c.sector = sector;
	r = clients_add(f->clients, &c, NULL, err, sizeof(err));
	if (r != 0)
		print_error("clients_add: %s\n", err);
	assert_int_equal(r, 0);
}

static void
add_rx_client(struct fix *f, const char *id, const char *sector)
{
	char uri[128];

	snprintf(uri, sizeof(uri), "http://127.0.0.1:%u/bcl?x=1", (unsigned)f->rx->port);
	add_client(f, id, uri, sector);
}

/* start_bcl with the first retry base_delay_ms after the first attempt. */
static void
start_bcl_delay(struct fix *f, unsigned attempts, size_t max_pending, int64_t base_delay_ms)
{
	struct bcl_config c;

	bcl_config_defaults(&c);
	c.issuer = ISSUER;
	c.ring = f->ring;
	c.clients = f->clients;
	c.audit = f->audit;
	c.metrics = f->mx;
	c.keys = f->keys;
	c.max_attempts = attempts;
	c.base_delay_ms = base_delay_ms;
	c.connect_timeout_ms = 2000;
	c.timeout_ms = 3000;
	if (max_pending > 0)
		c.max_pending = max_pending;
	assert_int_equal(bcl_new(&c, &f->bcl), 0);
}

static void
start_bcl(struct fix *f, unsigned attempts, size_t max_pending)
{
	start_bcl_delay(f, attempts, max_pending, 20);
}

static void
info_init(struct sess_info *si, const char *const *clients, size_t n)
{
	memset(si, 0, sizeof(*si));
	snprintf(si->uid, sizeof(si->uid), "%s", UID);
	snprintf(si->sid, sizeof(si->sid), "%s", SID);
	for (size_t i = 0; i < n; i++)
		snprintf(si->clients[i], sizeof(si->clients[i]), "%s", clients[i]);
	si->nclients = n;
}

/* Verifies the i-th received token as a logout token for client (and sector). */
static void
check_token(struct fix *f, size_t i, const char *client, const char *sector)
{
	struct tok_ring_snap *snap = tok_ring_acquire(f->ring);
	struct tok_check chk = { .kind = TOK_KIND_LOGOUT, .iss = ISSUER, .aud = client };
	struct tok_jwt jwt;
	char why[256] = "", sub[OIDC_SUB_SIZE];
	const char *tok = f->rx->tokens[i];
	int r;

	assert_non_null(tok);
	r = tok_jwt_verify(tok, strlen(tok), tok_snap_keyset(snap), tok_snap_algs(snap), &chk,
	    &jwt, why, sizeof(why));
	if (r != 0)
		print_error("tok_jwt_verify: %s\n", why);
	assert_int_equal(r, 0);
	assert_string_equal(json_string_value(json_object_get(jwt.claims, "sid")), SID);
	assert_int_equal(oidc_pairwise_sub(f->keys, NULL, sector, UID, sub), 0);
	assert_string_equal(json_string_value(json_object_get(jwt.claims, "sub")), sub);
	assert_non_null(json_object_get(jwt.claims, "jti"));
	assert_null(json_object_get(jwt.claims, "nonce"));
	assert_string_equal(f->rx->ctype[i], "application/x-www-form-urlencoded");
	assert_string_equal(f->rx->path[i], "POST /bcl?x=1");
	tok_jwt_clear(&jwt);
	tok_snap_release(snap);
}

/* Counts audit lines of event logout.delivery with this status and client. */
static int
audit_count(struct fix *f, const char *client, const char *status, int attempts)
{
	FILE *fp = fopen(f->auditpath, "r");
	char line[AUDIT_LINE_MAX];
	int n = 0;

	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp) != NULL) {
		json_t *j = json_loads(line, 0, NULL);

		if (j != NULL && json_is_string(json_object_get(j, "event")) &&
		    strcmp(json_string_value(json_object_get(j, "event")), "logout.delivery") == 0 &&
		    strcmp(json_string_value(json_object_get(j, "client")), client) == 0 &&
		    strcmp(json_string_value(json_object_get(j, "status")), status) == 0 &&
		    json_integer_value(json_object_get(j, "attempts")) == attempts &&
		    strcmp(json_string_value(json_object_get(j, "actor")), "user:" UID) == 0)
			n++;
		json_decref(j);
	}
	fclose(fp);
	return n;
}

/* ---- the tests ----------------------------------------------------------------------- */

static void
test_delivered_first_try(void **state)
{
	struct fix *f = *state;
	static const int script[] = { 200 };
	const char *cl[] = { "app1" };
	struct sess_info si;
	struct bcl_stats st;

	f->rx = rx_start(script, 1);
	add_rx_client(f, "app1", NULL);
	start_bcl(f, 5, 0);
	info_init(&si, cl, 1);
	assert_int_equal(bcl_session_ended(f->bcl, &si, SESS_END_LOGOUT), 0);
	assert_int_equal(bcl_drain(f->bcl, 10000), 0);
	bcl_stats(f->bcl, &st);
	assert_int_equal(st.delivered, 1);
	assert_int_equal(st.attempts, 1);
	assert_int_equal(st.failed, 0);
	assert_int_equal(rx_count(f->rx), 1);
	check_token(f, 0, "app1", "app1");
	assert_int_equal(audit_count(f, "app1", "delivered", 1), 1);
}

static void
test_retry_after_500(void **state)
{
	struct fix *f = *state;
	static const int script[] = { 500, 204 };
	const char *cl[] = { "app2" };
	struct sess_info si;
	struct bcl_stats st;
	struct yh_buf m;

	f->rx = rx_start(script, 2);
	add_rx_client(f, "app2", "portal.example");
	start_bcl(f, 5, 0);
	info_init(&si, cl, 1);
	assert_int_equal(bcl_session_ended(f->bcl, &si, SESS_END_EXPIRED), 0);
	assert_int_equal(bcl_drain(f->bcl, 10000), 0);
	bcl_stats(f->bcl, &st);
	assert_int_equal(st.delivered, 1);
	assert_int_equal(st.attempts, 2);
	assert_int_equal(rx_count(f->rx), 2);
	check_token(f, 0, "app2", "portal.example");
	check_token(f, 1, "app2", "portal.example");
	/* The retry resends the same token: one event, one jti. */
	assert_string_equal(f->rx->tokens[0], f->rx->tokens[1]);
	assert_int_equal(audit_count(f, "app2", "delivered", 2), 1);
	yh_buf_init(&m, 1 << 20);
	assert_int_equal(mx_render(f->mx, &m), 0);
	assert_non_null(strstr(yh_buf_cstr(&m), "yh_bcl_deliveries_total{result=\"delivered\"} 1"));
	assert_non_null(strstr(yh_buf_cstr(&m), "yh_bcl_attempts_total{result=\"error\"} 1"));
	yh_buf_free(&m);
}

static void
test_gives_up(void **state)
{
	struct fix *f = *state;
	static const int script[] = { 503 };
	const char *cl[] = { "app3" };
	struct sess_info si;
	struct bcl_stats st;

	f->rx = rx_start(script, 1);
	add_rx_client(f, "app3", NULL);
	start_bcl(f, 3, 0);
	info_init(&si, cl, 1);
	assert_int_equal(bcl_session_ended(f->bcl, &si, SESS_END_ADMIN), 0);
	assert_int_equal(bcl_drain(f->bcl, 10000), 0);
	bcl_stats(f->bcl, &st);
	assert_int_equal(st.delivered, 0);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.attempts, 3);
	assert_int_equal(rx_count(f->rx), 3);
	assert_int_equal(audit_count(f, "app3", "failed", 3), 1);
}

/* A client removed between attempts gets no more: the retries stop, audited. */
static void
test_removed_between_attempts(void **state)
{
	struct fix *f = *state;
	static const int script[] = { 503 };
	const char *cl[] = { "app9" };
	struct sess_info si;
	struct bcl_stats st;
	char err[256] = "";

	f->rx = rx_start(script, 1);
	add_rx_client(f, "app9", NULL);
	start_bcl_delay(f, 5, 0, 1000);
	info_init(&si, cl, 1);
	assert_int_equal(bcl_session_ended(f->bcl, &si, SESS_END_LOGOUT), 0);
	for (int i = 0; i < 500 && rx_count(f->rx) < 1; i++)
		usleep(10000);
	assert_int_equal(rx_count(f->rx), 1);
	assert_int_equal(clients_remove(f->clients, "app9", err, sizeof(err)), 0);
	assert_int_equal(bcl_drain(f->bcl, 10000), 0);
	bcl_stats(f->bcl, &st);
	assert_int_equal(st.skipped, 1);
	assert_int_equal(st.failed, 0);
	assert_int_equal(rx_count(f->rx), 1);
	assert_int_equal(audit_count(f, "app9", "skipped", 1), 1);
}

static void
test_400_not_retried(void **state)
{
	struct fix *f = *state;
	static const int script[] = { 400, 200 };
	const char *cl[] = { "app4" };
	struct sess_info si;
	struct bcl_stats st;

	f->rx = rx_start(script, 2);
	add_rx_client(f, "app4", NULL);
	start_bcl(f, 5, 0);
	info_init(&si, cl, 1);
	assert_int_equal(bcl_session_ended(f->bcl, &si, SESS_END_LOGOUT), 0);
	assert_int_equal(bcl_drain(f->bcl, 10000), 0);
	bcl_stats(f->bcl, &st);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.attempts, 1);
	assert_int_equal(rx_count(f->rx), 1);
}

static void
test_connection_refused_retried(void **state)
{
	struct fix *f = *state;
	const char *cl[] = { "app5" };
	struct sess_info si;
	struct bcl_stats st;
	char uri[96];

	snprintf(uri, sizeof(uri), "http://127.0.0.1:%u/bcl", (unsigned)dead_port());
	add_client(f, "app5", uri, NULL);
	start_bcl(f, 2, 0);
	info_init(&si, cl, 1);
	assert_int_equal(bcl_session_ended(f->bcl, &si, SESS_END_LOGOUT), 0);
	assert_int_equal(bcl_drain(f->bcl, 15000), 0);
	bcl_stats(f->bcl, &st);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.attempts, 2);
	assert_int_equal(audit_count(f, "app5", "failed", 2), 1);
}

static void
test_skipped_clients(void **state)
{
	struct fix *f = *state;
	static const int script[] = { 200 };
	const char *cl[] = { "nouri", "gone", "app6" };
	struct sess_info si;
	struct bcl_stats st;

	f->rx = rx_start(script, 1);
	add_client(f, "nouri", NULL, NULL);
	add_rx_client(f, "app6", NULL);
	start_bcl(f, 5, 0);
	info_init(&si, cl, 3);
	assert_int_equal(bcl_session_ended(f->bcl, &si, SESS_END_USER), 0);
	assert_int_equal(bcl_drain(f->bcl, 10000), 0);
	bcl_stats(f->bcl, &st);
	assert_int_equal(st.skipped, 2);
	assert_int_equal(st.delivered, 1);
	assert_int_equal(rx_count(f->rx), 1);
	check_token(f, 0, "app6", "app6");
}

static void
test_queue_cap(void **state)
{
	struct fix *f = *state;
	static const int script[] = { 200 };
	const char *cl[] = { "a", "b", "c" };
	struct sess_info si;
	struct bcl_stats st;

	f->rx = rx_start(script, 1);
	start_bcl(f, 1, 2);
	info_init(&si, cl, 3);
	assert_int_equal(bcl_session_ended(f->bcl, &si, SESS_END_LOGOUT), YH_ERR_LIMIT);
	assert_int_equal(bcl_drain(f->bcl, 10000), 0);
	bcl_stats(f->bcl, &st);
	assert_true(st.dropped >= 1);
	assert_int_equal(st.dropped + st.skipped, 3);
	memset(&si, 0, sizeof(si));
	assert_int_equal(bcl_session_ended(f->bcl, &si, SESS_END_LOGOUT), YH_ERR_INVALID);
}

/* The session store's event reaches the deliverer: create, add a client, end. */
static void
test_session_event(void **state)
{
	struct fix *f = *state;
	static const int script[] = { 200 };
	struct sess_config sc;
	struct sess_store *s = NULL;
	struct sess_auth a = { .uid = UID, .loa = 1 };
	const char *amr[] = { "pwd" };
	char token[SESS_TOKEN_SIZE];
	struct sess_info si, ended;
	struct sess_event ev;
	struct bcl_stats st;
	struct tok_ring_snap *snap;
	struct tok_check chk = { .kind = TOK_KIND_LOGOUT, .iss = ISSUER, .aud = "app7" };
	struct tok_jwt jwt;
	char why[128];

	f->rx = rx_start(script, 1);
	add_rx_client(f, "app7", NULL);
	start_bcl(f, 3, 0);
	sess_config_defaults(&sc);
	sc.sweep_interval_ms = 0;
	sc.on_event = bcl_on_session_event;
	sc.event_ctx = f->bcl;
	assert_int_equal(sess_open(&sc, &s), 0);
	a.amr = amr;
	a.namr = 1;
	assert_int_equal(sess_create(s, &a, token, &si), 0);
	assert_int_equal(sess_add_client(s, si.key, "app7"), 0);

	/* Events of other processes and CHANGED events deliver nothing. */
	memset(&ev, 0, sizeof(ev));
	ev.type = SESS_EV_ENDED;
	ev.origin = false;
	ev.key = si.key;
	ev.sid = si.sid;
	ev.uid = UID;
	bcl_on_session_event(f->bcl, &ev);
	ev.type = SESS_EV_CHANGED;
	ev.origin = true;
	ev.info = &si;
	bcl_on_session_event(f->bcl, &ev);
	assert_int_equal(bcl_drain(f->bcl, 1000), 0);
	assert_int_equal(rx_count(f->rx), 0);

	assert_int_equal(sess_end_token(s, token, SESS_END_LOGOUT, &ended), 0);
	assert_int_equal(bcl_drain(f->bcl, 10000), 0);
	bcl_stats(f->bcl, &st);
	assert_int_equal(st.delivered, 1);
	assert_int_equal(rx_count(f->rx), 1);
	snap = tok_ring_acquire(f->ring);
	assert_int_equal(tok_jwt_verify(f->rx->tokens[0], strlen(f->rx->tokens[0]),
	    tok_snap_keyset(snap), tok_snap_algs(snap), &chk, &jwt, why, sizeof(why)), 0);
	assert_string_equal(json_string_value(json_object_get(jwt.claims, "sid")), si.sid);
	tok_jwt_clear(&jwt);
	tok_snap_release(snap);
	sess_close(s);
}

/* bcl_free with deliveries waiting drops them (no hang, no leak). */
static void
test_free_with_pending(void **state)
{
	struct fix *f = *state;
	const char *cl[] = { "app8" };
	struct sess_info si;
	char uri[96];
	struct bcl_config c;

	snprintf(uri, sizeof(uri), "http://127.0.0.1:%u/bcl", (unsigned)dead_port());
	add_client(f, "app8", uri, NULL);
	bcl_config_defaults(&c);
	c.issuer = ISSUER;
	c.ring = f->ring;
	c.clients = f->clients;
	c.keys = f->keys;
	c.base_delay_ms = 60000;
	assert_int_equal(bcl_new(&c, &f->bcl), 0);
	info_init(&si, cl, 1);
	assert_int_equal(bcl_session_ended(f->bcl, &si, SESS_END_LOGOUT), 0);
	assert_int_equal(bcl_drain(f->bcl, 300), 1);
	bcl_free(f->bcl);
	f->bcl = NULL;
}

static void
test_config_checked(void **state)
{
	struct fix *f = *state;
	struct bcl_config c;
	struct bcl *b = NULL;

	bcl_config_defaults(&c);
	assert_int_equal(bcl_new(&c, &b), YH_ERR_CONFIG);
	assert_null(b);
	c.issuer = ISSUER;
	c.ring = f->ring;
	c.clients = f->clients;
	assert_int_equal(bcl_new(&c, &b), YH_ERR_CONFIG);   /* no keys for the sub */
	c.keys = f->keys;
	c.max_attempts = 99;
	assert_int_equal(bcl_new(&c, &b), YH_ERR_CONFIG);
	c.max_attempts = 0;   /* default */
	assert_int_equal(bcl_new(&c, &b), 0);
	bcl_free(b);
	bcl_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_delivered_first_try, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_after_500, setup, teardown),
		cmocka_unit_test_setup_teardown(test_removed_between_attempts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gives_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_400_not_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_refused_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(test_skipped_clients, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_event, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_with_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_checked, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
