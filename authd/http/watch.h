/*
 * Deadlines for the request head and body of every HTTP connection, which bytes
 * trickled one at a time do not extend (libmicrohttpd's own timeout restarts on each
 * byte, so a slow client could hold a connection for ever). Used by authd/http/server.c only.
 *
 * Each connection is registered when libmicrohttpd opens it and tells, from its HTTP
 * thread, which phase it is in:
 *
 *     HW_WAIT  between requests (and before the first). The head deadline starts when
 *              the first byte of the next head arrives (the kernel's count of bytes
 *              received moves; idle time is libmicrohttpd's connection timeout).
 *     HW_BODY  the head is complete and the body is being read: the body deadline runs
 *              from the moment the head was complete.
 *     HW_BUSY  a handler runs (or waits suspended) or the response is being sent: no
 *              deadline here.
 *
 * A sweeper thread looks at every connection twice a second and shuts down (SHUT_RDWR)
 * those past their deadline; libmicrohttpd then sees the close and cleans up. Cuts are
 * counted in yh_http_connections_cut_total{reason="head"|"body"} and logged as one
 * summary line at most every 10 s. The hot path costs an atomic store per phase
 * change; registering takes one of 16 shard locks.
 */
#ifndef YH_AUTHD_HTTP_WATCH_H
#define YH_AUTHD_HTTP_WATCH_H

#include <stdbool.h>

#include "common/metrics.h"
#include "common/err.h"

struct hw_set;
struct hw_conn;

enum hw_phase { HW_WAIT = 0, HW_BODY = 1, HW_BUSY = 2 };

/* Why the sweeper closed a connection. */
enum hw_cut { HW_CUT_NONE = 0, HW_CUT_HEAD = 1, HW_CUT_BODY = 2 };

struct hw_opts {
	unsigned head_timeout;     /* seconds for a request head from its first byte; 0 = none */
	unsigned body_timeout;     /* seconds for a body from the end of its head; 0 = none */
	unsigned max_conns;        /* the connection limit, for the warning when it is reached */
	struct mx_registry *metrics;   /* may be NULL; borrowed */
};

/*
 * Creates the set and starts its sweeper thread. *out is NULL on error. Returns 0,
 * YH_ERR_ALLOC or YH_ERR_INTERNAL (no thread).
 */
int hw_set_new(const struct hw_opts *opts, struct hw_set **out) YH_WUR;

/* Stops the sweeper and frees the set and any connection still registered (call it
 * after the HTTP daemon has closed its connections). NULL is fine. */
void hw_set_free(struct hw_set *s);

/*
 * Registers a new connection on socket fd, in HW_WAIT with nothing received yet. Warns
 * (at most every 10 s) when this connection reaches max_conns. Returns the connection,
 * or NULL when out of memory.
 */
struct hw_conn *hw_conn_add(struct hw_set *s, int fd);

/* Unregisters and frees c (before its socket is closed: the sweeper never touches a
 * socket number after this). NULL is fine. */
void hw_conn_remove(struct hw_set *s, struct hw_conn *c);

/* Moves c to phase p (on the connection's HTTP thread only); HW_BODY starts the body
 * deadline. NULL c is fine. */
void hw_conn_phase(struct hw_set *s, struct hw_conn *c, enum hw_phase p);

/* Whether, and why, the sweeper cut c (HW_CUT_NONE for NULL). */
enum hw_cut hw_conn_cut(const struct hw_conn *c);

#endif
