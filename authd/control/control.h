/*
 * authd's local control socket (prefix control_): how `authctl` reaches the sessions a
 * running authd holds (in its memory, or the sessions this node must end so that it
 * sends the back-channel logout itself).
 *
 * The socket is STATE_DIR/authd.sock, a Unix stream socket created 0600 (the state
 * directory is 0700). Only a peer with the same uid as authd, or root, is served
 * (SO_PEERCRED); anyone else gets {"ok":false,"error":"permission denied"}.
 *
 * The protocol (one JSON line each way) is in authcore/control_proto.h.
 *
 * end_sessions ends every session of the person with sess_end_user (reason
 * SESS_END_ADMIN): the session events make authd/oidc/backchannel.c send back-channel logout tokens
 * to every app of those sessions. Then one audit line "session.end" (actor
 * "operator:uid<N>", N the peer's uid; fields by "operator", uid, reason, count) is
 * written before the answer. "reason" is optional (default "operator"; 1..32 bytes of
 * [a-z0-9._-]). With "grants": true (authctl's lock and deregister) the person's refresh
 * families, offline ones too, and their access tokens are revoked as well
 * (oidc_user_families_revoke), counted in the answer's and the audit line's "families".
 *
 * org_relation_ended revokes the refresh families in which the person acts for the
 * organization (oidc_org_families_revoke: their access tokens go on the denylist) and
 * sends each app whose family was bound to a session a back-channel logout token for that
 * session (bcl_client_logout; the session and the person's other apps go on): all of it
 * oidc_org_relation_ended (authd/oidc/token.h), which the account page calls too. Then one
 * audit line "org.grants.end" (actor as above; fields by, uid, org_uid, org (the credit
 * code), families, logouts) before the answer.
 *
 * Threads: one thread accepts; each connection is served on its own short-lived thread,
 * at most CONTROL_MAX_CONN at once (the ones past that get {"ok":false,"error":"busy"}).
 */
#ifndef YH_AUTHD_CONTROL_H
#define YH_AUTHD_CONTROL_H

#include <stddef.h>
#include "authcore/control_proto.h"
#include "common/err.h"

#define CONTROL_MAX_CONN 4              /* connections served at once */

struct authd_app;
struct control;

/*
 * Starts the control socket at STATE_DIR/authd.sock for app (borrowed: app->sess and
 * app->audit must stay open until control_stop returns). A socket file left by an authd
 * that is gone is removed first; one on which a live authd answers is left alone.
 * On success *out owns the socket and its thread; on error *out is NULL and err holds
 * one line. Returns 0, YH_ERR_EXISTS (another live authd serves this state directory:
 * authd goes on without its own socket), YH_ERR_TOO_LONG (the path does not fit a Unix
 * socket address), YH_ERR_INVALID (no state_dir), YH_ERR_CONFLICT (the path exists and
 * is not a socket), YH_ERR_IO (socket, bind, listen), YH_ERR_ALLOC, YH_ERR_INTERNAL
 * (thread, or sessions/audit not open).
 */
int control_start(struct authd_app *app, const char *state_dir, struct control **out,
    char *err, size_t errsz) YH_WUR;

/*
 * Stops accepting, interrupts and waits for the connections being served (a request in
 * the middle of sess_end_user finishes first), removes the socket file (when it is still
 * ours) and frees everything. NULL is fine.
 */
void control_stop(struct control *c);


#endif
