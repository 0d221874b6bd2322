/*
 * The protocol of authd's control socket, shared by authd (authd/control/) and authctl
 * (authcore/control_client.c).
 *
 * The socket is STATE_DIR/authd.sock, a Unix stream socket created 0600 in the 0700
 * state directory; only a peer with authd's uid, or root, is served.
 *
 * The client sends one line of JSON (at most CONTROL_LINE_MAX bytes, within
 * CONTROL_READ_TIMEOUT_MS) and gets one line of JSON back, then the connection closes:
 *
 *   {"cmd":"ping"}                                  -> {"ok":true,"pid":N}
 *   {"cmd":"list_sessions","uid":"<32 hex>"}        -> {"ok":true,"sessions":[{"sid",
 *        "created","seen","expires" (ISO 8601),"loa","amr":[...],"clients":[...],
 *        "addr","ua"}, ...]}
 *   {"cmd":"end_sessions","uid":"<32 hex>","reason":"operator"[,"grants":true]}
 *                                                   -> {"ok":true,"ended":N[,"families":F]}
 *        with "grants" (a lock or deregistration) also the person's refresh families
 *        and their access tokens are revoked, offline ones too
 *   {"cmd":"org_relation_ended","uid":"<32 hex>","org":"<32 hex: the organization's uid>"}
 *                                                   -> {"ok":true,"families":N,"logouts":M}
 *   anything else                                   -> {"ok":false,"error":"..."}
 */
#ifndef YH_AUTHCORE_CONTROL_PROTO_H
#define YH_AUTHCORE_CONTROL_PROTO_H

#define CONTROL_SOCKET_NAME "authd.sock"
#define CONTROL_LINE_MAX 4096           /* request line bytes, newline included */
#define CONTROL_READ_TIMEOUT_MS 2000    /* to receive the whole request line */
#define CONTROL_WRITE_TIMEOUT_MS 2000   /* to send the whole answer */
#define CONTROL_REASON_MAX 32           /* end_sessions' reason */

#include <stddef.h>
#include "common/err.h"

/*
 * The socket path for state_dir into out (outsz bytes; a struct sockaddr_un's sun_path
 * holds 108). Returns 0 or YH_ERR_TOO_LONG. Shared with the client side.
 */
int control_socket_path(const char *state_dir, char *out, size_t outsz) YH_WUR;

/*
 * Sends request_json (one JSON object, no newline, under 4 KiB) to
 * the running authd's control socket STATE_DIR/authd.sock  and returns
 * its one-line JSON answer in *reply (malloc'd, free() it; NULL on error). err gets one
 * line on error. Returns 0, YH_ERR_UNAVAILABLE (no socket or nobody answers: authd is not
 * running), YH_ERR_PERM (not allowed to connect), YH_ERR_BUSY (no answer in time),
 * YH_ERR_TOO_LONG, YH_ERR_IO, YH_ERR_ALLOC. A reply with "ok":false is still 0.
 */
int control_call(const char *state_dir, const char *request_json, char **reply,
    char *err, size_t errsz);

#endif
