/*
 * authd's local control socket (see control.h): one thread accepts on
 * STATE_DIR/authd.sock, each connection gets a short-lived detached thread that reads one
 * bounded JSON line, checks the peer's uid, runs the command and answers one JSON line.
 * A pipe written once at stop wakes every poll at the same time.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>
#include <jansson.h>

#include "authcore/audit/audit.h"
#include "authd/control/control.h"
#include "authd/app.h"
#include "authd/oidc/token.h"
#include "authd/session/sess.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "identity/dir/dir.h"

#define CONTROL_BACKLOG 16
#define CONTROL_ACCEPT_PAUSE_MS 100     /* after a failed accept (EMFILE...) */
#define CONTROL_ACTOR_SIZE 32
#define CONTROL_DRAIN_MS 500            /* to let a refused peer finish sending */
#define CONTROL_DRAIN_MAX (4 * CONTROL_LINE_MAX)

struct control {
	struct authd_app *app;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int lfd;
	int wake[2];                   /* written once by control_stop */
	dev_t dev;                     /* our socket file, to unlink only our own */
	ino_t ino;
	uid_t self;
	pthread_t acceptor;
	bool acceptor_running;
	pthread_mutex_t lock;
	pthread_cond_t idle;
	unsigned active;               /* connection threads running */
};

struct conn {
	struct control *c;
	int fd;
};

/* A request being answered. */
struct request {
	struct control *c;
	struct ucred peer;
	json_t *req;                   /* the parsed line (borrowed) */
};

/* ---- answering ---- */

/* Sends all of buf before the deadline (monotonic ms); false when it could not. */
static bool
send_all(struct control *c, int fd, const char *buf, size_t len, int64_t deadline)
{
	while (len > 0) {
		struct pollfd p[2] = { { fd, POLLOUT, 0 }, { c->wake[0], POLLIN, 0 } };
		int64_t left = deadline - yh_mono_ms();
		ssize_t n;
		int pr;

		if (left <= 0)
			return false;
		if ((pr = poll(p, 2, (int)left)) < 0 && errno == EINTR)
			continue;
		if (pr <= 0 || p[1].revents != 0)
			return false;
		n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

/* Answers reply (consumed) as one line. */
static void
answer(struct control *c, int fd, json_t *reply)
{
	char *s = reply != NULL ? json_dumps(reply, JSON_COMPACT) : NULL;
	size_t len;

	json_decref(reply);
	if (s == NULL) {
		s = strdup("{\"ok\":false,\"error\":\"out of memory\"}");
		if (s == NULL)
			return;
	}
	len = strlen(s);
	if (!send_all(c, fd, s, len, yh_mono_ms() + CONTROL_WRITE_TIMEOUT_MS) ||
	    !send_all(c, fd, "\n", 1, yh_mono_ms() + CONTROL_WRITE_TIMEOUT_MS))
		yh_debug("control: the client left before the answer was sent");
	free(s);
}

static json_t *
refuse(const char *why)
{
	return json_pack("{s:b, s:s}", "ok", 0, "error", why);
}

/* ---- commands ---- */

/* The member name ("uid", "org"): a directory uid (32 lower-case hex digits), or NULL. */
static const char *
req_uid(const json_t *req, const char *name)
{
	const char *uid = json_string_value(json_object_get(req, name));

	return uid != NULL && dir_uid_valid(uid) ? uid : NULL;
}

/* The optional "reason": [a-z0-9._-]{1,CONTROL_REASON_MAX}; "operator" when absent. */
static const char *
req_reason(const json_t *req)
{
	const json_t *v = json_object_get(req, "reason");
	const char *s;
	size_t n;

	if (v == NULL)
		return "operator";
	if ((s = json_string_value(v)) == NULL || (n = strlen(s)) == 0 ||
	    n > CONTROL_REASON_MAX || n != json_string_length(v))
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return NULL;
	return s;
}

static json_t *
cmd_ping(struct request *rq)
{
	(void)rq;
	return json_pack("{s:b, s:I}", "ok", 1, "pid", (json_int_t)getpid());
}

static json_t *
iso_time(int64_t ms)
{
	char buf[40];

	if (ms <= 0)
		return json_null();
	yh_time_iso8601(ms, buf, sizeof(buf));
	return json_string(buf);
}

/* A JSON string, or null for "" and for bytes that are not UTF-8 (json_string refuses
 * them; a user agent is whatever the browser sent). */
static json_t *
text_or_null(const char *s)
{
	json_t *v = s[0] != '\0' ? json_string(s) : NULL;

	return v != NULL ? v : json_null();
}

/* One session as the operator sees it (no key: that would be the session's handle). */
static json_t *
session_json(const struct sess_info *si)
{
	json_t *o = json_object(), *amr = json_array(), *clients = json_array();

	if (o == NULL || amr == NULL || clients == NULL) {
		json_decref(o);
		json_decref(amr);
		json_decref(clients);
		return NULL;
	}
	for (size_t i = 0; i < si->namr; i++)
		json_array_append_new(amr, json_string(si->amr[i]));
	for (size_t i = 0; i < si->nclients; i++)
		json_array_append_new(clients, json_string(si->clients[i]));
	json_object_set_new(o, "sid", json_string(si->sid));
	json_object_set_new(o, "created", iso_time(si->created_ms));
	json_object_set_new(o, "seen", iso_time(si->seen_ms));
	json_object_set_new(o, "expires", iso_time(si->expires_ms));
	json_object_set_new(o, "auth_time", iso_time(si->auth_time * 1000));
	json_object_set_new(o, "loa", json_integer(si->loa));
	json_object_set_new(o, "amr", amr);
	json_object_set_new(o, "clients", clients);
	json_object_set_new(o, "addr", text_or_null(si->addr));
	json_object_set_new(o, "ua", text_or_null(si->ua));
	return o;
}

static json_t *
cmd_list(struct request *rq)
{
	const char *uid = req_uid(rq->req, "uid");
	struct sess_info *list = NULL;
	json_t *arr, *s;
	size_t n = 0;
	int r;

	if (uid == NULL)
		return refuse("uid must be 32 lower-case hex digits");
	if ((r = sess_list_user(rq->c->app->sess, uid, &list, &n)) != 0)
		return refuse(yh_strerror(r));
	arr = json_array();
	for (size_t i = 0; arr != NULL && i < n; i++) {
		if ((s = session_json(&list[i])) == NULL) {
			json_decref(arr);
			arr = NULL;
			break;
		}
		json_array_append_new(arr, s);
	}
	free(list);
	if (arr == NULL)
		return refuse("out of memory");
	return json_pack("{s:b, s:o}", "ok", 1, "sessions", arr);
}

/*
 * Writes the audit line event of an operator's command about the person uid: the fields
 * f (taken; NULL when they could not be made) and then the peer's pid, the peer's uid as
 * the actor. Written before the answer. Returns 0 or the YH_ERR_* of the audit.
 */
static int
audit_operator(struct request *rq, const char *event, const char *uid, json_t *f)
{
	char actor[CONTROL_ACTOR_SIZE];
	int r;

	if (f == NULL || json_object_set_new(f, "pid", json_integer((json_int_t)rq->peer.pid)) != 0) {
		json_decref(f);
		return YH_ERR_ALLOC;
	}
	snprintf(actor, sizeof(actor), "operator:uid%u", (unsigned)rq->peer.uid);
	r = yh_audit_write(rq->c->app->audit, event, actor, f);
	json_decref(f);
	if (r != 0)
		yh_error("control: audit %s for %s: %s", event, uid, yh_strerror(r));
	return r;
}

/* The audit line of an operator's end_sessions (families: NULL when not asked). */
static int
audit_end(struct request *rq, const char *uid, const char *reason, size_t n,
    const size_t *families)
{
	json_t *f = json_pack("{s:s, s:s, s:s, s:I}", "by", "operator", "uid", uid, "reason",
	    reason, "count", (json_int_t)n);

	if (f != NULL && families != NULL)
		json_object_set_new(f, "families", json_integer((json_int_t)*families));
	return audit_operator(rq, "session.end", uid, f);
}

static json_t *
cmd_end(struct request *rq)
{
	const char *uid = req_uid(rq->req, "uid"), *reason = req_reason(rq->req);
	const json_t *g = json_object_get(rq->req, "grants");
	size_t n = 0, fams = 0;
	int r, ra = 0;

	if (uid == NULL)
		return refuse("uid must be 32 lower-case hex digits");
	if (reason == NULL)
		return refuse("reason must be 1..32 of [a-z0-9._-]");
	if (g != NULL && !json_is_boolean(g))
		return refuse("grants must be true or false");
	/* The session events of this process make bcl.c send the back-channel logouts; a
	 * lock or deregistration also ends the grants that outlive the sessions. */
	r = oidc_user_end(rq->c->app, uid, json_is_true(g), &n, &fams);
	if (r == 0 || n > 0)
		ra = audit_end(rq, uid, reason, n, json_is_true(g) ? &fams : NULL);
	yh_info("control: operator uid %u ended %zu session(s) of %s (%s)%s%s",
	    (unsigned)rq->peer.uid, n, uid, reason, r != 0 ? ": " : "",
	    r != 0 ? yh_strerror(r) : "");
	if (r != 0)
		return json_pack("{s:b, s:s, s:I}", "ok", 0, "error", yh_strerror(r), "ended",
		    (json_int_t)n);
	if (ra != 0)
		return json_pack("{s:b, s:s, s:I}", "ok", 0, "error",
		    "sessions ended but the audit line was not written", "ended", (json_int_t)n);
	return json_pack("{s:b, s:I, s:I}", "ok", 1, "ended", (json_int_t)n, "families",
	    (json_int_t)fams);
}

/* The audit line of org_relation_ended. */
static int
audit_org_end(struct request *rq, const char *uid, const struct dir_org *o, size_t fams,
    size_t logouts)
{
	return audit_operator(rq, "org.grants.end", uid, json_pack("{s:s, s:s, s:s, s:s?, s:I, "
	    "s:I}", "by", "operator", "uid", uid, "org_uid", o->uid, "org", o->uscc, "families",
	    (json_int_t)fams, "logouts", (json_int_t)logouts));
}

/*
 * org_relation_ended: the person uid no longer acts for the organization org (its
 * directory uid) in some role. Revokes the refresh families in which the person acts for
 * it, and their access tokens, and sends their apps back-channel logout for the session
 * each family is bound to (the session itself goes on).
 */
static json_t *
cmd_org_end(struct request *rq)
{
	const char *uid = req_uid(rq->req, "uid");
	const char *org = req_uid(rq->req, "org");
	struct dir_org o;
	json_t *rep = NULL;
	size_t n = 0, logouts = 0;
	int r;

	memset(&o, 0, sizeof(o));
	if (uid == NULL || org == NULL)
		return refuse("uid and org must be 32 lower-case hex digits");
	if ((r = dir_org_get(rq->c->app->dir, org, &o)) != 0)
		return refuse(r == YH_ERR_NOT_FOUND ? "no such organization" : yh_strerror(r));
	r = oidc_org_relation_ended(rq->c->app, uid, &o, &n, &logouts);
	yh_info("control: operator uid %u: %s no longer acts for organization %s: %zu "
	    "refresh famil%s revoked, %zu back-channel logout%s%s%s", (unsigned)rq->peer.uid,
	    uid, o.uid, n, n == 1 ? "y" : "ies", logouts, logouts == 1 ? "" : "s",
	    r != 0 ? ": " : "", r != 0 ? yh_strerror(r) : "");
	if (r == YH_ERR_ALLOC)
		rep = refuse("out of memory");
	else if ((r == 0 || n > 0) && audit_org_end(rq, uid, &o, n, logouts) != 0 && r == 0)
		rep = json_pack("{s:b, s:s, s:I}", "ok", 0, "error", "grants ended but the audit "
		    "line was not written", "families", (json_int_t)n);
	else if (r != 0)
		rep = json_pack("{s:b, s:s, s:I}", "ok", 0, "error", yh_strerror(r), "families",
		    (json_int_t)n);
	else
		rep = json_pack("{s:b, s:I, s:I}", "ok", 1, "families", (json_int_t)n,
		    "logouts", (json_int_t)logouts);
	dir_org_clear(&o);
	return rep;
}

static json_t *
dispatch(struct request *rq)
{
	static const struct {
		const char *name;
		json_t *(*fn)(struct request *);
	} cmds[] = {
		{ "ping", cmd_ping },
		{ "list_sessions", cmd_list },
		{ "end_sessions", cmd_end },
		{ "org_relation_ended", cmd_org_end },
	};
	const char *cmd;

	if (!json_is_object(rq->req))
		return refuse("the request must be a JSON object");
	if ((cmd = json_string_value(json_object_get(rq->req, "cmd"))) == NULL)
		return refuse("missing cmd");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmd, cmds[i].name) == 0)
			return cmds[i].fn(rq);
	return refuse("unknown cmd (ping, list_sessions, end_sessions, org_relation_ended)");
}

/* ---- one connection ---- */

/*
 * Reads one line (newline excluded, NUL-terminated) into line (CONTROL_LINE_MAX + 1
 * bytes) before the read deadline. Returns 0, YH_ERR_TOO_LONG, YH_ERR_EXPIRED (timeout),
 * YH_ERR_INVALID (NUL byte, or closed before a complete line), YH_ERR_UNAVAILABLE
 * (stopping), YH_ERR_IO.
 */
static int
read_line(struct control *c, int fd, char *line, size_t *len)
{
	int64_t deadline = yh_mono_ms() + CONTROL_READ_TIMEOUT_MS;
	size_t have = 0;

	*len = 0;
	line[0] = '\0';
	for (;;) {
		struct pollfd p[2] = { { fd, POLLIN, 0 }, { c->wake[0], POLLIN, 0 } };
		int64_t left = deadline - yh_mono_ms();
		char *nl;
		ssize_t n;
		int pr;

		if (left <= 0)
			return YH_ERR_EXPIRED;
		if ((pr = poll(p, 2, (int)left)) < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return YH_ERR_IO;
		if (pr == 0)
			return YH_ERR_EXPIRED;
		if (p[1].revents != 0)
			return YH_ERR_UNAVAILABLE;
		n = recv(fd, line + have, CONTROL_LINE_MAX - have, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return YH_ERR_IO;
		if (n == 0)
			return YH_ERR_INVALID;
		if ((nl = memchr(line + have, '\n', (size_t)n)) != NULL) {
			*len = (size_t)(nl - line);
			line[*len] = '\0';
			return memchr(line, '\0', *len) != NULL ? YH_ERR_INVALID : 0;
		}
		have += (size_t)n;
		if (have >= CONTROL_LINE_MAX)
			return YH_ERR_TOO_LONG;
	}
}

/* Serves one connection: peer check, one request line, one answer line. */
static void
serve(struct control *c, int fd)
{
	struct request rq = { .c = c };
	socklen_t sl = sizeof(rq.peer);
	char line[CONTROL_LINE_MAX + 1];
	json_error_t jerr;
	size_t len;
	int r;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &rq.peer, &sl) != 0 ||
	    sl != sizeof(rq.peer)) {
		yh_warn("control: cannot read the peer's credentials: %s", strerror(errno));
		answer(c, fd, refuse("permission denied"));
		return;
	}
	if (rq.peer.uid != c->self && rq.peer.uid != 0) {
		yh_warn("control: refused a connection from uid %u (pid %d)",
		    (unsigned)rq.peer.uid, (int)rq.peer.pid);
		answer(c, fd, refuse("permission denied"));
		return;
	}
	if ((r = read_line(c, fd, line, &len)) != 0) {
		if (r != YH_ERR_UNAVAILABLE && r != YH_ERR_IO)
			answer(c, fd, refuse(r == YH_ERR_TOO_LONG ? "request line too long" :
			    r == YH_ERR_EXPIRED ? "timeout: send one JSON line" :
			    "malformed request line"));
		return;
	}
	if ((rq.req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		answer(c, fd, refuse("the request is not JSON"));
		return;
	}
	answer(c, fd, dispatch(&rq));
	json_decref(rq.req);
}

/*
 * Closes a connection after its answer without resetting it: a peer refused before its
 * request line was read (wrong uid, a line too long) may still be sending, and closing
 * a unix socket with unread input makes the peer's read fail with ECONNRESET, losing
 * the answer already sent. So: no more output, then read and drop what the peer sends
 * until it closes, at most CONTROL_DRAIN_MAX bytes or CONTROL_DRAIN_MS.
 */
static void
close_after_answer(struct control *c, int fd)
{
	int64_t deadline = yh_mono_ms() + CONTROL_DRAIN_MS;
	size_t drained = 0;
	char sink[4096];

	(void)shutdown(fd, SHUT_WR);
	while (drained < CONTROL_DRAIN_MAX) {
		struct pollfd p[2] = { { fd, POLLIN, 0 }, { c->wake[0], POLLIN, 0 } };
		int64_t left = deadline - yh_mono_ms();
		ssize_t n;

		if (left <= 0 || poll(p, 2, (int)left) <= 0 || p[1].revents != 0)
			break;
		n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		drained += (size_t)n;
	}
	close(fd);
}

static void *
conn_main(void *arg)
{
	struct conn *k = arg;
	struct control *c = k->c;

	serve(c, k->fd);
	close_after_answer(c, k->fd);
	free(k);
	pthread_mutex_lock(&c->lock);
	if (--c->active == 0)
		pthread_cond_broadcast(&c->idle);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* Hands a new connection to its own thread, or answers busy. */
static void
dispatch_conn(struct control *c, int fd)
{
	pthread_attr_t at;
	pthread_t t;
	struct conn *k;
	bool full;

	pthread_mutex_lock(&c->lock);
	full = c->active >= CONTROL_MAX_CONN;
	if (!full)
		c->active++;
	pthread_mutex_unlock(&c->lock);
	if (full) {
		/* Best effort and without waiting: the socket buffer takes a short line. */
		(void)!send(fd, "{\"ok\":false,\"error\":\"busy\"}\n", 28, MSG_NOSIGNAL |
		    MSG_DONTWAIT);
		close(fd);
		return;
	}
	if ((k = malloc(sizeof(*k))) != NULL) {
		k->c = c;
		k->fd = fd;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &at, conn_main, k) == 0) {
			pthread_attr_destroy(&at);
			return;
		}
		pthread_attr_destroy(&at);
		free(k);
	}
	yh_warn("control: cannot start a connection thread");
	close(fd);
	pthread_mutex_lock(&c->lock);
	if (--c->active == 0)
		pthread_cond_broadcast(&c->idle);
	pthread_mutex_unlock(&c->lock);
}

static void *
accept_main(void *arg)
{
	struct control *c = arg;

	for (;;) {
		struct pollfd p[2] = { { c->lfd, POLLIN, 0 }, { c->wake[0], POLLIN, 0 } };
		int fd;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			yh_error("control: poll: %s", strerror(errno));
			break;
		}
		if (p[1].revents != 0)
			break;
		if ((fd = accept4(c->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) < 0) {
			if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED) {
				yh_warn("control: accept: %s", strerror(errno));
				(void)!poll(&p[1], 1, CONTROL_ACCEPT_PAUSE_MS);
			}
			continue;
		}
		dispatch_conn(c, fd);
	}
	return NULL;
}

/* ---- start and stop ---- */

/*
 * Makes way for our socket: nothing there is fine; a socket nobody answers on (an authd
 * that died) is removed; a live one or anything that is not a socket is left alone.
 */
static int
clear_stale(const char *path, char *err, size_t errsz)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, r;

	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return YH_ERR_IO;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errsz, "%s exists and is not a socket: remove it", path);
		return YH_ERR_CONFLICT;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errsz, "socket: %s", strerror(errno));
		return YH_ERR_IO;
	}
	memcpy(a.sun_path, path, strlen(path) + 1);
	/* A blocking connect on a Unix socket does not wait for accept: it succeeds at
	 * once when something listens (EAGAIN: it listens but its backlog is full). */
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 || errno == EAGAIN)
		r = YH_ERR_EXISTS;
	else if (errno == ECONNREFUSED)
		r = 0;
	else {
		snprintf(err, errsz, "%s: cannot check the control socket: %s", path,
		    strerror(errno));
		r = YH_ERR_IO;
	}
	close(fd);
	if (r == YH_ERR_EXISTS)
		snprintf(err, errsz, "another authd answers on %s (it serves this state "
		    "directory's control socket)", path);
	if (r == 0 && unlink(path) != 0 && errno != ENOENT) {
		snprintf(err, errsz, "cannot remove the stale %s: %s", path, strerror(errno));
		r = YH_ERR_IO;
	}
	if (r == 0)
		yh_info("control: removed the stale socket %s", path);
	return r;
}

/* Binds and listens on c->path, mode 0600. */
static int
bind_socket(struct control *c, char *err, size_t errsz)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int r;

	if ((c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
		snprintf(err, errsz, "socket: %s", strerror(errno));
		return YH_ERR_IO;
	}
	memcpy(a.sun_path, c->path, strlen(c->path) + 1);
	/* The socket file is born 0600: the umask applies at bind. The umask is
	 * process-wide; for the instant it is set, other threads could only create files
	 * stricter than authd's own umask 077 (owner without x), and none creates
	 * directories or executables. */
	old = umask(0177);
	r = bind(c->lfd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (r != 0) {
		snprintf(err, errsz, "bind %s: %s", c->path, strerror(errno));
		return YH_ERR_IO;
	}
	if (chmod(c->path, 0600) != 0 || stat(c->path, &st) != 0) {
		snprintf(err, errsz, "%s: %s", c->path, strerror(errno));
		return YH_ERR_IO;
	}
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	if (listen(c->lfd, CONTROL_BACKLOG) != 0) {
		snprintf(err, errsz, "listen %s: %s", c->path, strerror(errno));
		return YH_ERR_IO;
	}
	return 0;
}

/* Removes the socket file when it is still the one we bound. */
static void
unlink_ours(struct control *c)
{
	struct stat st;

	if (c->ino != 0 && lstat(c->path, &st) == 0 && st.st_dev == c->dev &&
	    st.st_ino == c->ino && unlink(c->path) != 0)
		yh_warn("control: cannot remove %s: %s", c->path, strerror(errno));
}

static struct control *
control_alloc(struct authd_app *app)
{
	struct control *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->app = app;
	c->lfd = -1;
	c->wake[0] = c->wake[1] = -1;
	c->self = geteuid();
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->idle, NULL);
	return c;
}

/* Warns when others may enter the state directory, or a group that is not this
 * process's (under `user` the directory is root:GROUP 1770, GROUP being ours). */
static void
warn_dir_mode(const char *state_dir)
{
	struct stat st;

	if (stat(state_dir, &st) == 0 && ((st.st_mode & 007) != 0 ||
	    ((st.st_mode & 070) != 0 && st.st_gid != getegid())))
		yh_warn("control: %s is accessible to other users (mode %03o); the control "
		    "socket itself is 0600", state_dir, (unsigned)(st.st_mode & 0777));
}

int
control_start(struct authd_app *app, const char *state_dir, struct control **out,
    char *err, size_t errsz)
{
	struct control *c = NULL;
	int r;

	*out = NULL;
	if (errsz > 0)
		err[0] = '\0';
	if (app == NULL || app->sess == NULL || app->audit == NULL) {
		snprintf(err, errsz, "control socket: sessions and audit must be open first");
		return YH_ERR_INTERNAL;
	}
	if ((c = control_alloc(app)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return YH_ERR_ALLOC;
	}
	if ((r = control_socket_path(state_dir, c->path, sizeof(c->path))) != 0) {
		if (r == YH_ERR_INVALID)
			snprintf(err, errsz, "control socket: no state directory");
		else
			snprintf(err, errsz, "the control socket path %s/%s is too long for a "
			    "Unix socket (at most %zu bytes)", state_dir, CONTROL_SOCKET_NAME,
			    sizeof(c->path) - 1);
		goto out;
	}
	warn_dir_mode(state_dir);
	if ((r = clear_stale(c->path, err, errsz)) != 0 ||
	    (r = bind_socket(c, err, errsz)) != 0)
		goto out;
	if (pipe2(c->wake, O_CLOEXEC) != 0) {
		snprintf(err, errsz, "pipe: %s", strerror(errno));
		r = YH_ERR_IO;
		goto out;
	}
	if (pthread_create(&c->acceptor, NULL, accept_main, c) != 0) {
		snprintf(err, errsz, "cannot start the control socket thread");
		r = YH_ERR_INTERNAL;
		goto out;
	}
	c->acceptor_running = true;
	yh_info("control socket on %s", c->path);
	*out = c;
	c = NULL;
out:
	control_stop(c);
	return r;
}

void
control_stop(struct control *c)
{
	if (c == NULL)
		return;
	if (c->wake[1] >= 0)
		(void)!write(c->wake[1], "x", 1);
	if (c->acceptor_running)
		pthread_join(c->acceptor, NULL);
	/* Connection threads see the pipe at once, except one inside a command. */
	pthread_mutex_lock(&c->lock);
	while (c->active > 0)
		pthread_cond_wait(&c->idle, &c->lock);
	pthread_mutex_unlock(&c->lock);
	if (c->lfd >= 0)
		close(c->lfd);
	unlink_ours(c);
	if (c->wake[0] >= 0)
		close(c->wake[0]);
	if (c->wake[1] >= 0)
		close(c->wake[1]);
	pthread_cond_destroy(&c->idle);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
