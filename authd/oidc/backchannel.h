/*
 * Back-channel logout delivery (OpenID Connect Back-Channel Logout 1.0), prefix bcl_,
 * and on the same thread, queue, retries and record CAS single logout
 * (bcl_cas_session_ended).
 *
 * When a session ends (RP-initiated logout, expiry, the account page, an operator), every
 * app the session gave a code to and that registered a backchannel_logout_uri gets a
 * signed logout token (typ "logout+jwt": iss, aud = the client, pairwise sub, sid, jti,
 * iat, exp, events) POSTed as `logout_token=...` (application/x-www-form-urlencoded).
 *
 * Delivery never runs on the caller's thread: bcl_session_ended (and the session-store
 * event handler bcl_on_session_event) only copy what they need into a bounded queue. One
 * delivery thread mints the token (once per delivery: retries resend the same token, so
 * the receiver sees one jti) and runs up to max_parallel transfers at once with libcurl's
 * multi interface: connect timeout and total timeout per attempt, no redirects followed,
 * http and https only. A 2xx answer is delivered; anything else (another status, a
 * timeout, a refused connection) is retried after base_delay, 2 x base_delay, 4 x ...
 * until max_attempts; the defaults (5 attempts from a 4 s base) span about a minute.
 * For CAS single logout a 3xx counts as delivered too: CAS clients act on the
 * LogoutRequest and then send the requester, who has no session there, to the login
 * (mod_auth_cas answers 302).
 *
 * The record of delivery: one audit line "logout.delivery" per delivery when it ends
 * (actor "user:<uid>"; fields client, sid, protocol "oidc" | "cas", status "delivered" |
 * "failed", attempts, http_status, reason), and the metrics
 *   yh_bcl_deliveries_total{result="delivered|failed|dropped"}
 *   yh_bcl_attempts_total{result="ok|error"}
 *   yh_bcl_pending (deliveries queued or in flight).
 * Delivery targets are only the URI registered by the client at delivery time (read from
 * the client registry; a client removed meanwhile gets nothing).
 */
#ifndef YH_AUTHD_BCL_H
#define YH_AUTHD_BCL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authd/session/sess.h"
#include "common/err.h"
#include "token/jose_alg.h"

struct tok_ring;
struct clients_registry;
struct yh_audit;
struct mx_registry;
struct keys;
struct dir;

#define BCL_DEFAULT_ATTEMPTS 5
#define BCL_DEFAULT_BASE_DELAY_MS 4000
#define BCL_DEFAULT_CONNECT_TIMEOUT_MS 2000
#define BCL_DEFAULT_TIMEOUT_MS 5000
#define BCL_DEFAULT_MAX_PENDING 10000
#define BCL_DEFAULT_PARALLEL 16

/*
 * What the deliverer needs. The objects are borrowed and must outlive the struct bcl;
 * issuer is copied. Zero numeric fields take the defaults above.
 */
struct bcl_config {
	const char *issuer;                  /* "iss" of the logout tokens (required) */
	struct tok_ring *ring;               /* signs them (required) */
	enum tok_alg default_alg;            /* of an app that chose no id_token_signed_
	                                      * response_alg (keys.alg; UNSET: the ring's) */
	struct clients_registry *clients;    /* where the backchannel_logout_uri is read */
	struct yh_audit *audit;              /* NULL: no audit line (tests) */
	struct mx_registry *metrics;         /* NULL: no metrics */
	const struct keys *keys;             /* the pairwise sub (required) */
	struct dir *dir;                     /* its subject pins (oidc_pairwise_sub); NULL:
	                                      * none (tests without a directory) */
	unsigned max_attempts;               /* attempts per delivery (1..20) */
	int64_t base_delay_ms;               /* first retry delay; doubles each time */
	int64_t connect_timeout_ms;          /* per attempt */
	int64_t timeout_ms;                  /* per attempt, in total */
	size_t max_pending;                  /* deliveries queued or in flight; more are
	                                      * dropped (logged, counted) */
	unsigned max_parallel;               /* transfers at once (1..256) */
};

struct bcl;

/* Fills c with the defaults (no issuer, ring or registry). */
void bcl_config_defaults(struct bcl_config *c);

/*
 * Starts the deliverer and its thread (and libcurl's global state, reference-counted).
 * *out is NULL on error. Returns 0, YH_ERR_CONFIG (no issuer, ring or registry; a
 * value out of range), YH_ERR_ALLOC, YH_ERR_INTERNAL (thread or libcurl setup).
 */
int bcl_new(const struct bcl_config *c, struct bcl **out) YH_WUR;

/*
 * Stops the thread (transfers in flight are aborted, queued deliveries dropped, each
 * logged and counted as dropped) and frees everything. NULL is fine. For a graceful
 * shutdown call bcl_drain first.
 */
void bcl_free(struct bcl *b);

/*
 * Queues a delivery to every client recorded in the ended session info (those without
 * a backchannel_logout_uri are skipped at delivery time). why goes to the audit line.
 * Quick and thread-safe: copies uid, sid and the client ids. Returns 0, YH_ERR_INVALID
 * (no sid and no uid), YH_ERR_LIMIT (the queue is full: the deliveries that did not fit
 * are dropped and counted), YH_ERR_UNAVAILABLE (stopping).
 */
int bcl_session_ended(struct bcl *b, const struct sess_info *info, enum sess_reason why)
    YH_WUR;

/*
 * Queues a CAS single logout to every ticket of cas (the tickets the ended session info
 * issued, sess.h): a LogoutRequest naming the ticket (cas_slo_body, authd/cas/cas.h)
 * POSTed as logoutRequest=... to the ticket's service, with the retries and the record
 * of the logout tokens (the audit line's protocol "cas"), if at delivery time the app
 * still registers that service (else skipped) and it is http(s). cas NULL: nothing.
 * Returns as bcl_session_ended.
 */
int bcl_cas_session_ended(struct bcl *b, const struct sess_info *info,
    const struct sess_cas_list *cas, enum sess_reason why) YH_WUR;

/*
 * Queues one logout token for client_id naming the session sid of uid, while the session
 * itself goes on: what an app gets when the grant it holds in that session ends on its
 * own (the person no longer acts for the organization the grant was for). Returns as
 * bcl_session_ended; YH_ERR_INVALID also for an empty sid or client_id.
 */
int bcl_client_logout(struct bcl *b, const char *uid, const char *sid, const char *client_id,
    enum sess_reason why) YH_WUR;

/*
 * A session-store event handler (sess_event_fn, authd/session/sess.h) with ctx = a struct bcl *:
 * on SESS_EV_ENDED events of this process (origin, with the record) it calls
 * bcl_session_ended and, with the event's CAS tickets, bcl_cas_session_ended; every other event is ignored (the process that ended the session
 * delivers). Never blocks. Set it in struct sess_config before sess_open.
 */
void bcl_on_session_event(void *ctx, const struct sess_event *ev);

/*
 * Waits until nothing is queued or in flight, or max_ms passed (retries waiting for
 * their time count as queued). Returns the number of deliveries still pending.
 */
size_t bcl_drain(struct bcl *b, unsigned max_ms);

/* Counters since start (for tests and the operator). */
struct bcl_stats {
	uint64_t delivered;    /* got a 2xx */
	uint64_t failed;       /* gave up after max_attempts */
	uint64_t dropped;      /* queue full, stopping, no signing key, client gone... */
	uint64_t skipped;      /* the client has no backchannel_logout_uri */
	uint64_t attempts;     /* HTTP attempts made */
};

/* Copies the counters into *out. */
void bcl_stats(struct bcl *b, struct bcl_stats *out);

#endif
