/*
 * The client side of authd's control socket (authcore/control_proto.h): connect to
 * STATE_DIR/authd.sock with a timeout, send one JSON line, read one JSON line back.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "authcore/control_proto.h"
#include "common/buf.h"
#include "common/timeutil.h"

#define CTL_CONNECT_TIMEOUT_MS 2000
#define CTL_REPLY_TIMEOUT_MS 15000     /* ending sessions in Redis and the audit fsync */
#define CTL_REPLY_MAX (256 * 1024)     /* list_sessions of SESS_LIST_MAX sessions fits */
#define CTL_CONNECT_RETRY_MS 20

/* Waits for events on fd until the deadline: 1 ready, 0 timeout, -1 error. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { fd, events, 0 };
		int64_t left = deadline - yh_mono_ms();
		int r;

		if (left <= 0)
			return 0;
		if ((r = poll(&p, 1, (int)left)) < 0 && errno == EINTR)
			continue;
		return r < 0 ? -1 : r;
	}
}

/* Connects to path before the deadline. 0 with *fd, or a YH_ERR_* with err set. */
static int
connect_by(const char *path, int64_t deadline, int *fd, char *err, size_t errsz)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int s;

	*fd = -1;
	memcpy(a.sun_path, path, strlen(path) + 1);
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
		snprintf(err, errsz, "socket: %s", strerror(errno));
		return YH_ERR_IO;
	}
	/* A Unix socket connects at once or, with a full backlog, says EAGAIN: retry. */
	while (connect(s, (struct sockaddr *)&a, sizeof(a)) != 0) {
		int e = errno;

		if ((e == EAGAIN || e == EINTR) && yh_mono_ms() < deadline) {
			(void)!poll(NULL, 0, CTL_CONNECT_RETRY_MS);
			continue;
		}
		close(s);
		if (e == ENOENT || e == ECONNREFUSED) {
			snprintf(err, errsz, "authd is not running (nothing answers on %s)", path);
			return YH_ERR_UNAVAILABLE;
		}
		if (e == EACCES || e == EPERM) {
			snprintf(err, errsz, "%s: permission denied (run authctl as authd's user "
			    "or root)", path);
			return YH_ERR_PERM;
		}
		if (e == EAGAIN) {
			snprintf(err, errsz, "authd is busy: %s did not accept within %d ms", path,
			    CTL_CONNECT_TIMEOUT_MS);
			return YH_ERR_BUSY;
		}
		snprintf(err, errsz, "connect %s: %s", path, strerror(e));
		return YH_ERR_IO;
	}
	*fd = s;
	return 0;
}

static int
send_line(int fd, const char *req, int64_t deadline, char *err, size_t errsz)
{
	struct yh_buf b;
	size_t off = 0;
	int r = 0;

	yh_buf_init(&b, CONTROL_LINE_MAX);
	if (yh_buf_puts(&b, req) != 0 || yh_buf_putc(&b, '\n') != 0) {
		snprintf(err, errsz, "request longer than %d bytes", CONTROL_LINE_MAX - 1);
		r = YH_ERR_TOO_LONG;
	}
	while (r == 0 && off < b.len) {
		ssize_t n = send(fd, b.data + off, b.len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && wait_fd(fd, POLLOUT, deadline) == 1)
			continue;
		if (n <= 0) {
			snprintf(err, errsz, "cannot send the request to authd: %s",
			    n < 0 && errno != EAGAIN ? strerror(errno) : "timeout");
			r = YH_ERR_IO;
			break;
		}
		off += (size_t)n;
	}
	yh_buf_free(&b);
	return r;
}

/* Reads one line (without the newline) into b before the deadline. */
static int
recv_line(int fd, struct yh_buf *b, int64_t deadline, char *err, size_t errsz)
{
	char chunk[4096], *nl;
	ssize_t n;

	for (;;) {
		int w = wait_fd(fd, POLLIN, deadline);

		if (w <= 0) {
			snprintf(err, errsz, "authd did not answer within %d s%s",
			    CTL_REPLY_TIMEOUT_MS / 1000, w < 0 ? " (poll failed)" : "");
			return YH_ERR_BUSY;
		}
		n = recv(fd, chunk, sizeof(chunk), 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			snprintf(err, errsz, "authd closed the control connection without an "
			    "answer%s%s", n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
			return YH_ERR_IO;
		}
		nl = memchr(chunk, '\n', (size_t)n);
		if (yh_buf_append(b, chunk, nl != NULL ? (size_t)(nl - chunk) : (size_t)n) != 0) {
			snprintf(err, errsz, "authd's answer is longer than %d bytes",
			    CTL_REPLY_MAX);
			return YH_ERR_TOO_LONG;
		}
		if (nl != NULL)
			break;
	}
	if (memchr(b->data, '\0', b->len) != NULL) {
		snprintf(err, errsz, "authd's answer has a NUL byte");
		return YH_ERR_INVALID;
	}
	return 0;
}

int
control_call(const char *state_dir, const char *request_json, char **reply, char *err,
    size_t errsz)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct yh_buf b;
	int fd = -1, r;

	*reply = NULL;
	if (errsz > 0)
		err[0] = '\0';
	yh_buf_init(&b, CTL_REPLY_MAX);
	if ((r = control_socket_path(state_dir, path, sizeof(path))) != 0) {
		snprintf(err, errsz, "the control socket path under %s is too long",
		    state_dir != NULL ? state_dir : "(none)");
		goto out;
	}
	if ((r = connect_by(path, yh_mono_ms() + CTL_CONNECT_TIMEOUT_MS, &fd, err,
	    errsz)) != 0)
		goto out;
	if ((r = send_line(fd, request_json, yh_mono_ms() + CTL_CONNECT_TIMEOUT_MS, err,
	    errsz)) != 0)
		goto out;
	if ((r = recv_line(fd, &b, yh_mono_ms() + CTL_REPLY_TIMEOUT_MS, err, errsz)) != 0)
		goto out;
	if ((*reply = yh_buf_steal(&b)) == NULL) {
		snprintf(err, errsz, "out of memory");
		r = YH_ERR_ALLOC;
	}
out:
	if (fd >= 0)
		close(fd);
	yh_buf_free(&b);
	return r;
}
