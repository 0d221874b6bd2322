/*
 * The session store (sess_): browser sessions for single sign-on and the one-time
 * artefacts of the OIDC and CAS endpoints (authorization codes, CAS service tickets,
 * pushed requests, flow records of the device flow and the QR-code login, refresh-token
 * families, the
 * denylist of revoked access tokens, brute-force counters and lockouts), behind one
 * interface with two backends:
 *
 *   memory  the embedded default: sharded hash tables under mutexes, expiry on access
 *           and by a periodic sweep, bounded by max_entries;
 *   redis   hiredis, shared by any number of authd processes; keys carry TTLs, single
 *           use is atomic (GETDEL, Lua scripts), counters are INCR+PEXPIRE in a script,
 *           every command has a timeout, connections reconnect by themselves and every
 *           call returns YH_ERR_UNAVAILABLE at once while Redis is down.
 *
 * Secrets handed out (session ids, codes, refresh tokens) are 256-bit random
 * values written as 43 characters of base64url. The store keeps only their SHA-256 (the
 * "key", 64 hex digits): the raw value is hashed on entry and never stored or logged.
 * A malformed value is treated as an unknown one (YH_ERR_NOT_FOUND).
 *
 * Events: when a session ends or changes, the handler given in struct sess_config is
 * called. The process that caused the change gets the event synchronously (origin true,
 * with the full record, so it can send back-channel logout to the record's clients);
 * with Redis every other process sharing the store gets it through pub/sub (origin
 * false, no record). Sessions found expired by an access or by the sweep are ended by
 * exactly one process, which gets the origin event. The handler runs on the calling
 * thread, the sweep thread or the subscriber thread: it must be thread-safe and quick,
 * and must not call back into the store from the subscriber thread for long.
 *
 * Threads: a struct sess_store may be used by any number of threads at once.
 *
 * Return values of every call: 0, or a negative YH_ERR_*; YH_ERR_UNAVAILABLE always
 * means "the backend (Redis) cannot be reached now, try later" (answer 503).
 */
#ifndef YH_AUTHD_SESS_H
#define YH_AUTHD_SESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/err.h"

struct mx_registry;
struct mx_counter;
struct mx_gauge;

#define SESS_TOKEN_BYTES 32      /* raw bytes of a session id, code, refresh token */
#define SESS_TOKEN_SIZE 44       /* its base64url text (43) + NUL */
#define SESS_KEY_SIZE 65         /* hex SHA-256 of a token + NUL: the stored key */
#define SESS_PUBID_SIZE 23       /* public ids (sid, refresh family): 128 bits, 22 chars + NUL */
#define SESS_UID_MAX 128         /* user id bytes */
#define SESS_CLIENT_MAX 64       /* client id bytes */
#define SESS_ORG_MAX 32          /* bytes of the organization a refresh family acts for */
#define SESS_AMR_MAX 8           /* amr values per session */
#define SESS_AMR_LEN 16          /* bytes of one amr value ("pwd", "otp", "hwk", ...) */
#define SESS_CLIENTS_MAX 32      /* clients recorded per session */
#define SESS_UA_MAX 160          /* user-agent bytes kept (longer ones are cut) */
#define SESS_ADDR_MAX 64         /* client address bytes */
#define SESS_PAYLOAD_MAX 8192    /* bytes of a code / refresh payload */
#define SESS_NAME_MAX 256        /* counter / lock name bytes */
#define SESS_LIST_MAX 64         /* sessions returned per user */

enum sess_backend { SESS_BACKEND_MEMORY, SESS_BACKEND_REDIS };

/* Why a session ended. */
enum sess_reason {
	SESS_END_LOGOUT = 1,     /* the user logged out (RP-initiated or at authd) */
	SESS_END_EXPIRED,        /* idle or absolute timeout */
	SESS_END_USER,           /* ended from the account page */
	SESS_END_ADMIN,          /* ended by an operator or by policy (password change, ...) */
	SESS_END_EVICTED,        /* the user had too many sessions; the oldest went */
	SESS_CHANGED_ROTATED,    /* (changed) new authentication: id rotated, LoA/amr raised */
};

enum sess_event_type {
	SESS_EV_ENDED = 1,       /* the session is gone */
	SESS_EV_CHANGED,         /* the session got a new id (key); new_key names it */
	SESS_EV_RESYNC,          /* events may have been missed (pub/sub reconnected):
	                          * drop anything cached about sessions */
};

/* A session as stored. All strings NUL-terminated. */
struct sess_info {
	char key[SESS_KEY_SIZE];          /* hex SHA-256 of the session id */
	char sid[SESS_PUBID_SIZE];        /* public session id for OIDC "sid": random, stable
	                                   * across rotation, safe to show to apps */
	char uid[SESS_UID_MAX + 1];       /* the directory's internal user id */
	int64_t created_ms;               /* creation, ms since the epoch */
	int64_t seen_ms;                  /* last use (updated at most every few seconds) */
	int64_t expires_ms;               /* min(seen + idle, aexp) */
	int64_t idle_ms;                  /* idle timeout of this session */
	int64_t aexp_ms;                  /* created + the absolute timeout in force when
	                                   * the session was created */
	int64_t auth_time;                /* last authentication, seconds (OIDC auth_time) */
	int loa;                          /* 0..4: strongest authentication in the session */
	char amr[SESS_AMR_MAX][SESS_AMR_LEN];
	size_t namr;
	char clients[SESS_CLIENTS_MAX][SESS_CLIENT_MAX + 1]; /* apps that got a code */
	size_t nclients;
	size_t ncas;                      /* CAS tickets remembered for single logout
	                                   * (sess_add_cas_ticket; the list itself comes
	                                   * with the ENDED event) */
	char ua[SESS_UA_MAX + 1];         /* user agent at login (for the account page);
	                                   * Redis keeps its summary (ua_summary_text) */
	char addr[SESS_ADDR_MAX + 1];     /* client address at login */
};

/* One session event; every pointer is valid only during the handler call. */
struct sess_event {
	enum sess_event_type type;
	enum sess_reason reason;          /* 0 for RESYNC */
	const char *key;                  /* the session's key ("" for RESYNC) */
	const char *new_key;              /* CHANGED: the new key; else NULL */
	const char *sid;                  /* public session id ("" when unknown) */
	const char *uid;                  /* user id ("" when unknown) */
	bool origin;                      /* this process made the change */
	const struct sess_info *info;     /* origin events: the record (clients included,
	                                   * for back-channel logout); else NULL */
	const struct sess_cas_list *cas;  /* origin ENDED events: the CAS tickets the session
	                                   * issued (for CAS single logout); NULL when none */
};

typedef void (*sess_event_fn)(void *ctx, const struct sess_event *ev);

/*
 * What sess_config_defaults takes from authd's option table (authcore/authd_config.h),
 * whose defaults and bounds they have (sess_open refuses a value outside them): the
 * timeouts (session.idle_timeout, session.absolute_timeout) and the Redis server
 * (session.redis_*). The rest are the store's own.
 */
struct sess_config {
	enum sess_backend backend;
	int64_t idle_timeout_s;       /* session.idle_timeout (sess_set_timeouts changes it) */
	int64_t absolute_timeout_s;   /* session.absolute_timeout (likewise) */
	size_t max_per_user;          /* sessions per user before the oldest is evicted; 32 */
	int64_t sweep_interval_ms;    /* expiry sweep thread period; default 30000; 0 = none
	                               * (call sess_sweep yourself) */
	int64_t (*now_ms)(void *clock_ctx); /* the wall clock in ms since the epoch that
	                               * sessions, codes, refresh families, counters, locks
	                               * and the denylist are timed by; NULL (the default):
	                               * the real one. Tests inject a clock they move on
	                               * instead of sleeping. With Redis, session keys get
	                               * their Redis expiry (expiry + redis_grace_s) from it,
	                               * so it must not run behind the real clock by more
	                               * than the grace; codes, refresh families, counters,
	                               * locks and the denylist expire by Redis's own clock
	                               * there (relative TTLs) */
	void *clock_ctx;
	sess_event_fn on_event;       /* may be NULL */
	void *event_ctx;
	/* memory backend */
	size_t max_entries;           /* all records together; default 1000000 */
	unsigned shards;              /* default 16 */
	/* redis backend */
	const char *redis_host;       /* session.redis_host */
	int redis_port;               /* session.redis_port */
	const char *redis_password;   /* AUTH; NULL = none (borrowed, copied by sess_open) */
	int redis_db;                 /* SELECT; session.redis_db */
	const char *prefix;           /* key namespace, session.redis_prefix; also
	                               * [A-Za-z0-9:._-]{1,32} */
	const char *redis_sentinels;  /* session.redis_sentinels: HOST:PORT list; NULL: the
	                               * master is redis_host:redis_port */
	const char *redis_master;     /* session.redis_master (with redis_sentinels) */
	int64_t redis_timeout_ms;     /* connect and command timeout; default 500 */
	unsigned redis_pool;          /* connections; default 4 */
	int64_t redis_grace_s;        /* Redis keeps expired sessions this long for the sweep
	                               * to end them with an event; default 120 */
	struct mx_registry *metrics;  /* NULL: none. Else the store counts, in this process:
	                               * yh_sessions_created_total,
	                               * yh_sessions_ended_total{reason} (logout, expired,
	                               * user, admin, evicted), yh_sessions_reauth_total
	                               * (step-up, id rotation) and, memory backend only,
	                               * yh_sessions_active */
};

struct sess_store;

/* Fills c with the defaults: the option table's where it has the option, the store's own
 * listed above for the rest (memory backend, no event handler, the real clock). */
void sess_config_defaults(struct sess_config *c);

/*
 * Opens a store. The strings in c are copied. With Redis, a server that is down at open
 * is not an error: calls return YH_ERR_UNAVAILABLE until it answers. Starts the sweep
 * thread (sweep_interval_ms > 0) and, with Redis, the pub/sub subscriber thread.
 * Returns 0, YH_ERR_CONFIG (bad option), YH_ERR_ALLOC or YH_ERR_INTERNAL (thread).
 */
int sess_open(const struct sess_config *c, struct sess_store **out) YH_WUR;

/* Stops the threads and frees everything (wiping nothing secret: only hashes are held).
 * NULL is fine. No handler call is running or starts once it returns. */
void sess_close(struct sess_store *s);

/*
 * Sets the timeouts of the sessions created from now on (a configuration reload):
 * idle_s and absolute_s within the bounds of session.idle_timeout and
 * session.absolute_timeout. A session keeps the idle timeout and the absolute expiry it
 * was created with. Any thread. Returns 0 or YH_ERR_INVALID (nothing changed).
 */
int sess_set_timeouts(struct sess_store *s, int64_t idle_s, int64_t absolute_s) YH_WUR;

/* One round trip to the backend: 0 or YH_ERR_UNAVAILABLE with a short reason. Its
 * signature fits authd_check_fn (authd/app.h) with ctx = the store. */
int sess_check(void *ctx, char *reason, size_t reasonsz);

/* ---- sessions -------------------------------------------------------------------- */

/* What a login establishes. amr values are short method names ("pwd", "otp", ...). */
struct sess_auth {
	const char *uid;
	int64_t auth_time;            /* seconds; 0 = now */
	int loa;                      /* 0..4 */
	const char *const *amr;       /* namr strings (each < SESS_AMR_LEN) */
	size_t namr;
	const char *ua;               /* may be NULL; cut to SESS_UA_MAX */
	const char *addr;             /* may be NULL */
	bool replace;                 /* sess_reauth: a new login (a first factor), whose loa
	                               * and amr replace the session's: what was proven now;
	                               * false: a step-up, whose loa and amr add to them */
};

/*
 * Creates a session for a fresh login with a new random id, written to token (the
 * cookie value, SESS_TOKEN_SIZE bytes; wipe it after use), and its record to *out
 * (may be NULL). When the user then has more than max_per_user sessions, the oldest
 * are ended (SESS_END_EVICTED). Returns 0, YH_ERR_INVALID (bad uid/amr/loa),
 * YH_ERR_LIMIT (memory store full), YH_ERR_UNAVAILABLE.
 */
int sess_create(struct sess_store *s, const struct sess_auth *a, char token[SESS_TOKEN_SIZE],
    struct sess_info *out) YH_WUR;

#define SESS_TOUCH 1u                 /* count this access against the idle timeout */

/*
 * Looks a session up by its cookie value and checks both timeouts; with SESS_TOUCH
 * the idle timer restarts. Returns 0 (record in *out), YH_ERR_NOT_FOUND (unknown,
 * malformed or already ended), YH_ERR_EXPIRED (it was found past a timeout: it is
 * ended now, with an ENDED event, reason EXPIRED), YH_ERR_UNAVAILABLE. Callers treat
 * NOT_FOUND and EXPIRED alike: no session.
 */
int sess_get(struct sess_store *s, const char *token, unsigned flags, struct sess_info *out)
    YH_WUR;

/*
 * Records a new authentication in an existing session (step-up, prompt=login, max_age)
 * and rotates its id against fixation: the session keeps its sid, clients and creation
 * time, gets auth_time, loa = max(old, new) and amr = union for a step-up (a->replace
 * false), loa = new and amr = new for a new login (a->replace: a password given again
 * does not carry a certificate's level from earlier into a fresh auth_time), and a new
 * id in token; the old
 * id stops working. a->uid must equal the session's uid (else YH_ERR_DENIED: log in
 * afresh with sess_create after ending it). Delivers a CHANGED event. Returns 0,
 * YH_ERR_NOT_FOUND / YH_ERR_EXPIRED (as sess_get), YH_ERR_DENIED, YH_ERR_INVALID,
 * YH_ERR_UNAVAILABLE.
 */
int sess_reauth(struct sess_store *s, const char *old_token, const struct sess_auth *a,
    char token[SESS_TOKEN_SIZE], struct sess_info *out) YH_WUR;

/*
 * Records that client_id received a code in the session with this key (for back-channel
 * logout). Idempotent. Returns 0, YH_ERR_NOT_FOUND, YH_ERR_LIMIT (SESS_CLIENTS_MAX
 * clients already), YH_ERR_INVALID (client id empty, too long or with NUL/control
 * bytes), YH_ERR_UNAVAILABLE.
 */
int sess_add_client(struct sess_store *s, const char *key, const char *client_id) YH_WUR;

/*
 * Ends the session with this key. The record as it was (clients included) goes to
 * *ended (may be NULL) and to the ENDED event, with the CAS tickets it remembered. Returns 0, YH_ERR_NOT_FOUND,
 * YH_ERR_UNAVAILABLE.
 */
int sess_end(struct sess_store *s, const char *key, enum sess_reason why,
    struct sess_info *ended) YH_WUR;

/* sess_end by cookie value (RP-initiated logout at authd). */
int sess_end_token(struct sess_store *s, const char *token, enum sess_reason why,
    struct sess_info *ended) YH_WUR;

/*
 * The user's live sessions, oldest first, at most SESS_LIST_MAX, as a malloc'd array
 * in *out (free() it; NULL when *n is 0). Returns 0, YH_ERR_INVALID, YH_ERR_UNAVAILABLE.
 */
int sess_list_user(struct sess_store *s, const char *uid, struct sess_info **out, size_t *n)
    YH_WUR;

/*
 * Ends the session of user uid whose public sid is sid (account page, "end this one").
 * A sid of another user is YH_ERR_NOT_FOUND. *ended as sess_end.
 */
int sess_end_sid(struct sess_store *s, const char *uid, const char *sid, enum sess_reason why,
    struct sess_info *ended) YH_WUR;

/*
 * Ends every session of uid ("log out everywhere", password change). The ended records
 * go to *ended (malloc'd, free(); may be NULL to discard) and their number to *n (may
 * be NULL). Returns 0 (also when there were none), YH_ERR_UNAVAILABLE (some may have
 * ended).
 */
int sess_end_user(struct sess_store *s, const char *uid, enum sess_reason why,
    struct sess_info **ended, size_t *n) YH_WUR;

/* Ends every expired session now and drops every other expired record (what the sweep
 * thread does); after a sweep that freed many records, hands free memory back to the
 * system (malloc_trim). *n (may be NULL) gets the number of sessions ended. Returns 0
 * or YH_ERR_UNAVAILABLE. */
int sess_sweep(struct sess_store *s, size_t *n) YH_WUR;

/* How many records of every kind (sessions, codes, flows, refresh families and tokens,
 * indexes, counters, locks, denylist entries, ...) this process holds in memory, into
 * *n: 0 or YH_ERR_UNSUPPORTED (a backend that keeps them elsewhere: Redis). */
int sess_mem_records(struct sess_store *s, size_t *n) YH_WUR;

/* ---- authorization codes ------------------------------------------------------------ */

/*
 * Codes are bound to the client they were issued to: the store keeps the SHA-256 of the
 * code's bytes followed by the client id, so the same code presented with another client
 * id names no stored record. Such an attempt finds nothing (YH_ERR_NOT_FOUND, as for an
 * unknown code), consumes nothing, learns nothing and extends nothing: the code stays
 * good for its own client (RFC 6749 4.1.3 refuses the other client; a refused request is
 * not a redemption). A replay by the client it was issued to is a replay.
 */

/*
 * Stores a new single-use code for client_id (1..SESS_CLIENT_MAX bytes, no control bytes)
 * for ttl_s seconds (within the bounds of token.code_lifetime) with an opaque payload
 * (the grant: client, redirect URI, PKCE challenge, scope, nonce, sid, ...; at most
 * SESS_PAYLOAD_MAX bytes, no NUL) and writes the code to code (SESS_TOKEN_SIZE).
 * Returns 0, YH_ERR_INVALID, YH_ERR_TOO_LONG, YH_ERR_LIMIT, YH_ERR_UNAVAILABLE.
 */
int sess_code_new(struct sess_store *s, const char *client_id, const char *payload,
    int64_t ttl_s, char code[SESS_TOKEN_SIZE]) YH_WUR;

/*
 * Redeems a code for client_id, atomically, once. issued (may be NULL; < SESS_NAME_MAX
 * bytes) names what the caller will issue for it (e.g. the refresh family id) and is
 * stored with the used code. *payload gets the code's payload (malloc'd, free()).
 *  - 0: first use;
 *  - YH_ERR_REPLAY: the code was redeemed before (and is still within its lifetime):
 *    *payload is set as well, and *prev_issued (may be NULL; malloc'd, "" when none)
 *    gets what the first redemption recorded, so the caller can revoke it;
 *  - YH_ERR_NOT_FOUND: unknown, malformed or expired (also a replay after the code's
 *    lifetime), or issued to another client (see above); YH_ERR_INVALID (client_id or
 *    issued malformed); YH_ERR_UNAVAILABLE.
 */
int sess_code_take(struct sess_store *s, const char *client_id, const char *code,
    const char *issued, char **payload, char **prev_issued) YH_WUR;

/* ---- pushed authorization requests (RFC 9126) ---------------------------------------------- */

/*
 * The parameters of a pushed authorization request (authd/oidc/par.c) are kept like a
 * code: the SHA-256 of the request_uri's random part followed by a binding of its own
 * (a control byte, "par:" and the client id, so that no request_uri is a code or a
 * ticket and another client's request_uri names nothing), taken atomically once
 * through the same backend operations as codes, so that any node can take it.
 */
#define SESS_PAR_TTL_MAX 600     /* the longest a pushed request is kept, seconds */
#define SESS_BIND_MAX (SESS_CLIENT_MAX + 8) /* bytes a stored token is bound to */

/*
 * Stores payload (at most SESS_PAYLOAD_MAX bytes, no NUL) for client_id for ttl_s
 * seconds (1..SESS_PAR_TTL_MAX) and writes its random reference to token
 * (SESS_TOKEN_SIZE). Returns 0, YH_ERR_INVALID, YH_ERR_TOO_LONG, YH_ERR_LIMIT,
 * YH_ERR_UNAVAILABLE.
 */
int sess_par_new(struct sess_store *s, const char *client_id, const char *payload,
    int64_t ttl_s, char token[SESS_TOKEN_SIZE]) YH_WUR;

/*
 * Takes the payload stored for client_id under token, atomically, once: 0 with *payload
 * (malloc'd); YH_ERR_NOT_FOUND when unknown, malformed, expired, taken before or stored
 * for another client; YH_ERR_INVALID (client_id malformed); YH_ERR_UNAVAILABLE.
 */
int sess_par_take(struct sess_store *s, const char *client_id, const char *token,
    char **payload) YH_WUR;

/* ---- flows: records that change state step by step ------------------------------------ */

/*
 * A flow (the device authorization grant, RFC 8628; the QR-code login) is one record
 * whose payload moves through states as several parties act on it: created by one
 * request, read and changed by others, finally marked done so that it is never used
 * twice. The store keeps it as it keeps a code: under a key that is a SHA-256 (of a
 * random token and what it is bound to, or of a short name and what it is bound to),
 * with a TTL; the payload (at most SESS_PAYLOAD_MAX bytes, no NUL) is the caller's.
 * A change is a compare-and-swap of the whole payload, atomic in both backends (a mutex
 * in memory, a Lua script in Redis), so that two nodes acting at once cannot both move
 * a record out of the same state.
 */
#define SESS_FLOW_TTL_MAX 3600   /* the longest a flow record is kept, seconds */
#define SESS_FLOW_NAMED_TTL_MAX (30 * 86400) /* the longest a record under a name
                                  * (sess_flow_put) is kept: a session's longest life,
                                  * for what a session's login remembers */
#define SESS_FLOW_NAME_MAX 256   /* bytes of a flow name: a device flow's user code, an
                                  * upstream's session id (up to 255 bytes kept) */

/*
 * The key of token (SESS_TOKEN_SIZE - 1 base64url characters of 32 random bytes, as
 * sess_flow_new writes) bound to bind (1..SESS_BIND_MAX bytes, no control bytes): the
 * same token under another binding names another record. Returns 0,
 * YH_ERR_NOT_FOUND (a malformed token), YH_ERR_INVALID (a malformed bind).
 */
int sess_flow_key(const char *bind, const char *token, char key[SESS_KEY_SIZE]) YH_WUR;

/* The key of name (1..SESS_FLOW_NAME_MAX bytes, no control bytes) bound to bind: for
 * a short value a person types (a user code). Returns 0 or YH_ERR_INVALID. */
int sess_flow_name_key(const char *bind, const char *name, char key[SESS_KEY_SIZE]) YH_WUR;

/*
 * Stores payload for ttl_s seconds (1..SESS_FLOW_TTL_MAX) under a new random token bound
 * to bind, written to token (wipe it after use), its key to key (may be NULL). Returns 0,
 * YH_ERR_INVALID, YH_ERR_TOO_LONG, YH_ERR_LIMIT, YH_ERR_UNAVAILABLE.
 */
int sess_flow_new(struct sess_store *s, const char *bind, const char *payload,
    int64_t ttl_s, char token[SESS_TOKEN_SIZE], char *key) YH_WUR;

/* Stores payload under key (from sess_flow_name_key) for ttl_s seconds
 * (1..SESS_FLOW_NAMED_TTL_MAX), unless the key is taken: 0, YH_ERR_EXISTS,
 * YH_ERR_INVALID, YH_ERR_TOO_LONG, YH_ERR_LIMIT, YH_ERR_UNAVAILABLE. */
int sess_flow_put(struct sess_store *s, const char *key, const char *payload, int64_t ttl_s)
    YH_WUR;

/* The payload under key (malloc'd into *payload): 0, YH_ERR_NOT_FOUND (unknown,
 * malformed or expired), YH_ERR_UNAVAILABLE. */
int sess_flow_get(struct sess_store *s, const char *key, char **payload) YH_WUR;

/*
 * Replaces the payload under key by payload when it is still expect (byte for byte),
 * keeping its expiry: 0; YH_ERR_BUSY when it changed since the caller read it (read it
 * again); YH_ERR_NOT_FOUND (gone or expired); YH_ERR_INVALID, YH_ERR_TOO_LONG,
 * YH_ERR_UNAVAILABLE.
 */
int sess_flow_swap(struct sess_store *s, const char *key, const char *expect,
    const char *payload) YH_WUR;

/* ---- short one-time codes (SMS) ---------------------------------------------------------- */

/*
 * A short code sent to a person (six digits by SMS) is kept like a code: the store holds
 * the SHA-256 of a separator, the code and what the caller binds it to (bind: its
 * purpose, a keyed name of the phone, a secret of the browser's), taken atomically once
 * through the same backend operations as codes. Six digits alone would be found from
 * their digest at once; bind must therefore hold a secret the store never sees (the
 * browser's pre-session cookie), so that a copy of the store does not reveal a code and
 * a code is good only in the browser it was asked for.
 */
#define SESS_OTC_MAX 16          /* bytes of a short code */
#define SESS_OTC_TTL_MAX 3600    /* the longest a short code is kept, seconds */

/*
 * Stores a short code (1..SESS_OTC_MAX bytes) bound to bind (1..SESS_NAME_MAX bytes) for
 * ttl_s seconds (1..SESS_OTC_TTL_MAX) with payload (as for codes). Returns 0,
 * YH_ERR_INVALID, YH_ERR_TOO_LONG, YH_ERR_EXISTS (the same code and bind are live: make
 * another code), YH_ERR_LIMIT, YH_ERR_UNAVAILABLE.
 */
int sess_otc_put(struct sess_store *s, const char *code, const char *bind, const char *payload,
    int64_t ttl_s) YH_WUR;

/*
 * Takes the short code stored under code and bind, atomically, once: 0 with *payload
 * (malloc'd, free()); YH_ERR_REPLAY when it was taken before and is still within its
 * lifetime (*payload set); YH_ERR_NOT_FOUND when unknown, expired, malformed or bound to
 * something else; YH_ERR_UNAVAILABLE.
 */
int sess_otc_take(struct sess_store *s, const char *code, const char *bind, char **payload)
    YH_WUR;

/* ---- CAS service tickets ------------------------------------------------------------- */

/*
 * A CAS service ticket (authd/cas/) is a code of another kind: "ST-" followed by a
 * 256-bit random value in lower-case hex (the CAS protocol allows only letters, digits and
 * '-' in a ticket, and mod_auth_cas ignores a ticket with any other character), stored as the SHA-256 of those 32 bytes followed by
 * a separator no client id can contain (so that no code is ever a ticket and no ticket a
 * code), taken atomically once through the same backend operations as codes (the memory
 * table; GETDEL and the code script in Redis). Unlike a code, a ticket is taken by its
 * value alone: the caller compares the service it was issued for with the one presented,
 * and a ticket presented with another service is used up all the same, as the CAS
 * protocol asks (3.0, 2.5.3: the ticket is invalidated on every validation attempt).
 */
#define SESS_TICKET_PREFIX "ST-"
#define SESS_TICKET_SIZE (3 + 2 * SESS_TOKEN_BYTES + 1)  /* "ST-" + 64 hex + NUL */
#define SESS_SERVICE_MAX 2048                   /* bytes of a service URL */
#define SESS_PROXIES_MAX 4                      /* proxy callbacks in a chain */
#define SESS_PROXIES_BYTES 4096                 /* bytes of a chain, '\n'-separated */

/* What a ticket carries from /cas/login to its validation. */
struct sess_ticket {
	char service[SESS_SERVICE_MAX + 1];  /* the service URL it was issued for, exactly */
	char client_id[SESS_CLIENT_MAX + 1]; /* the registered app that service belongs to */
	char uid[SESS_UID_MAX + 1];
	char sid[SESS_PUBID_SIZE];           /* the SSO session's public id */
	int64_t auth_time;                   /* seconds */
	int loa;                             /* 1..4 */
	bool renewed;                        /* issued right after a login that renew=true
	                                      * forced (CAS "renew") */
	char proxies[SESS_PROXIES_BYTES + 1];/* proxy tickets and proxy-granting tickets: the
	                                      * chain of proxy callback URLs, most recent
	                                      * first, each ending in '\n'; "" otherwise */
};

/*
 * Stores a new single-use ticket with t's fields for ttl_s seconds (within the bounds
 * of cas.ticket_lifetime) and writes it to ticket (SESS_TICKET_SIZE; wipe it after use).
 * Returns 0, YH_ERR_INVALID (a field empty, malformed or too long), YH_ERR_LIMIT,
 * YH_ERR_UNAVAILABLE.
 */
int sess_ticket_new(struct sess_store *s, const struct sess_ticket *t, int64_t ttl_s,
    char ticket[SESS_TICKET_SIZE]) YH_WUR;

/*
 * Takes a ticket, atomically, once: 0 (first use, *out set), YH_ERR_REPLAY (taken before
 * and still within its lifetime; *out set, for the audit line), YH_ERR_NOT_FOUND
 * (unknown, malformed, expired), YH_ERR_UNAVAILABLE.
 */
int sess_ticket_take(struct sess_store *s, const char *ticket, struct sess_ticket *out)
    YH_WUR;

/*
 * The other CAS tickets, of the same form and store: a proxy ticket ("PT-" and 64 hex
 * digits) is single use and lives cas.ticket_lifetime, like a service ticket; a
 * proxy-granting ticket ("PGT-" and 64 hex digits) may be used any number of times
 * within its lifetime (ttl_s: 1 s up to cas.pgt_lifetime's maximum; the caller keeps it
 * within the login session, whose liveness it checks at each use by t.uid and t.sid).
 * Each kind's key is bound to its kind, so that no ticket is taken as one of another
 * kind: a proxy ticket is never a service ticket (CAS 3.0, 2.5: /serviceValidate refuses
 * proxy tickets).
 */
enum sess_cas_kind { SESS_CAS_ST, SESS_CAS_PT, SESS_CAS_PGT };

#define SESS_CAS_TICKET_SIZE (4 + 2 * SESS_TOKEN_BYTES + 1)  /* "PGT-" + 64 hex + NUL */

/* sess_ticket_new for a ticket of kind k (ticket: SESS_CAS_TICKET_SIZE; wipe it after
 * use). t->proxies must be empty for a service ticket and must not be for the others;
 * when not empty, each URL in it ends in '\n'. */
int sess_cas_new(struct sess_store *s, enum sess_cas_kind k, const struct sess_ticket *t,
    int64_t ttl_s, char ticket[SESS_CAS_TICKET_SIZE]) YH_WUR;

/* sess_cas_new in two steps, for a ticket that is stored only once it was handed out
 * (a proxy-granting ticket, after its callback answered 200): a new random ticket of
 * kind k (0 or yh_random's error), and the store of that ticket (YH_ERR_INVALID for a
 * ticket not of kind k, else as sess_cas_new). */
int sess_cas_make(enum sess_cas_kind k, char ticket[SESS_CAS_TICKET_SIZE]) YH_WUR;
int sess_cas_put(struct sess_store *s, enum sess_cas_kind k, const char *ticket,
    const struct sess_ticket *t, int64_t ttl_s) YH_WUR;

/* sess_ticket_take for a ticket of kind k; for a proxy-granting ticket every use within
 * its lifetime is 0 (never YH_ERR_REPLAY). A ticket of another kind: YH_ERR_NOT_FOUND. */
int sess_cas_take(struct sess_store *s, enum sess_cas_kind k, const char *ticket,
    struct sess_ticket *out) YH_WUR;

/*
 * CAS single logout: a session remembers, per ticket it issued, the ticket, the app and
 * the service URL, because the clients (mod_auth_cas, phpCAS) find their own session by
 * the ticket they validated when the LogoutRequest names it as SessionIndex. Keeping the
 * ticket's value in the session record is harmless: it is single-use and consumed (or
 * expired) within cas.ticket_lifetime, long before the session ends; what it still names
 * is a session of the app, which is what single logout ends. Its copies in authd's
 * memory are wiped when freed all the same. At most SESS_CAS_MAX tickets per session.
 */
#define SESS_CAS_MAX 64

struct sess_cas_entry {
	char ticket[SESS_TICKET_SIZE];
	char client_id[SESS_CLIENT_MAX + 1];
	char service[SESS_SERVICE_MAX + 1];
};

/* The CAS tickets of an ended session (n entries, in no particular order). */
struct sess_cas_list {
	size_t n;
	struct sess_cas_entry e[];
};

/*
 * Remembers, in the session with this key, that ticket (ST-...) was issued to client_id
 * for service. Idempotent for the same ticket. Returns 0, YH_ERR_NOT_FOUND (no such
 * session), YH_ERR_LIMIT (SESS_CAS_MAX tickets already), YH_ERR_INVALID (a field empty,
 * too long or with control bytes), YH_ERR_UNAVAILABLE.
 */
int sess_add_cas_ticket(struct sess_store *s, const char *key, const char *ticket,
    const char *client_id, const char *service) YH_WUR;

/* ---- refresh tokens ----------------------------------------------------------------- */

/* A refresh-token family as the token endpoint sees it. */
struct sess_family {
	char id[SESS_PUBID_SIZE];        /* family id (public: audit, revocation) */
	char uid[SESS_UID_MAX + 1];
	char client_id[SESS_CLIENT_MAX + 1];
	char sid[SESS_PUBID_SIZE];       /* session it came from ("" for none) */
	char org[SESS_ORG_MAX + 1];      /* the organization acted for: its credit code
	                                  * (the grant's "org"), "" for none */
};

/* Writes a new random family id (for sess_code_take's issued, then sess_refresh_new). */
int sess_family_id_new(char id[SESS_PUBID_SIZE]) YH_WUR;

/*
 * Starts a refresh-token family that lives ttl_s seconds (absolute; within the bounds of
 * token.refresh_lifetime or of token.offline_lifetime) with its first token in token.
 * fam->id: a fresh id from sess_family_id_new, or "" to get one (written back).
 * fam->uid and fam->client_id are required, fam->sid optional. payload (opaque grant:
 * scope, claims, auth_time, acr, ...) as for codes. Returns 0, YH_ERR_INVALID,
 * YH_ERR_EXISTS (id taken), YH_ERR_LIMIT, YH_ERR_UNAVAILABLE.
 */
int sess_refresh_new(struct sess_store *s, struct sess_family *fam, const char *payload,
    int64_t ttl_s, char token[SESS_TOKEN_SIZE]) YH_WUR;

/*
 * Rotates a refresh token: when it is the family's current one, a new token is written
 * to token, the old one stops being current, and *fam / *payload (malloc'd, free()) are
 * set. Errors:
 *  - YH_ERR_REPLAY: the token was already rotated (reuse, maybe theft): the whole family
 *    is revoked now; fam is set so the caller can audit and revoke what it issued;
 *  - YH_ERR_DENIED: the family was revoked earlier (fam set);
 *  - YH_ERR_NOT_FOUND: unknown, malformed or expired; YH_ERR_UNAVAILABLE.
 */
int sess_refresh_rotate(struct sess_store *s, const char *old_token, char token[SESS_TOKEN_SIZE],
    struct sess_family *fam, char **payload) YH_WUR;

/*
 * Looks a refresh token up without rotating it (introspection). 0 when it is the
 * current token of a live family (fam, *payload set as for rotate; payload may be NULL),
 * YH_ERR_DENIED when rotated or revoked, YH_ERR_NOT_FOUND, YH_ERR_UNAVAILABLE.
 */
int sess_refresh_peek(struct sess_store *s, const char *token, struct sess_family *fam,
    char **payload) YH_WUR;

/* Revokes a family by id (code replay, operator). 0, YH_ERR_NOT_FOUND, YH_ERR_UNAVAILABLE. */
int sess_family_revoke(struct sess_store *s, const char *family_id) YH_WUR;

/*
 * Revokes every family of uid, or only those of client_id when it is not NULL ("my
 * apps: revoke"), and puts each family on the denylist (SESS_DENY_FAMILY) for deny_ttl_s
 * seconds, so that the access tokens issued from it are refused as well: pass how long
 * such a token can still live (1..SESS_DENY_TTL_MAX). The denylist entry is written
 * before the family is revoked. *n (may be NULL) gets how many were live and not revoked
 * before (a family revoked earlier is neither counted nor listed again). Returns 0,
 * YH_ERR_INVALID, YH_ERR_LIMIT (memory store full), YH_ERR_UNAVAILABLE (some may have
 * been revoked).
 */
int sess_refresh_revoke_user(struct sess_store *s, const char *uid, const char *client_id,
    int64_t deny_ttl_s, size_t *n) YH_WUR;

/*
 * As sess_refresh_revoke_user, for the families of uid that act for the organization org
 * (struct sess_family's org, compared exactly; families of no organization are kept).
 * The families revoked are copied to out (at most max of them; out may be NULL with max
 * 0), so that the caller can tell their apps; *n (may be NULL) gets how many were
 * revoked, which may exceed max. Returns as sess_refresh_revoke_user.
 */
int sess_refresh_revoke_org(struct sess_store *s, const char *uid, const char *org,
    int64_t deny_ttl_s, struct sess_family *out, size_t max, size_t *n) YH_WUR;

/* ---- the denylist: what was revoked before it expired ------------------------------------ */

/*
 * Access tokens are JWTs checked without the store; revoking one (RFC 7009), or every
 * one issued from a refresh family (reuse, replay, "revoke app"), puts its id here until
 * it would have expired anyway. Entries are keyed by a SHA-256 of kind and id; in Redis
 * a key with a TTL (P d:<hash>), in memory an entry of the bounded table, dropped by the
 * sweep and on access once past its TTL. A second add keeps the longer of the two TTLs.
 */
enum sess_deny_kind {
	SESS_DENY_ACCESS = 1,    /* an access token, by its jti */
	SESS_DENY_FAMILY,        /* every access token of a refresh family, by family id */
};

#define SESS_DENY_ID_MAX 128             /* bytes of an id */
#define SESS_DENY_TTL_MAX (366 * 86400)  /* seconds an entry may be kept */

/* Denies kind/id (1..SESS_DENY_ID_MAX bytes, no control bytes) for ttl_s seconds
 * (1..SESS_DENY_TTL_MAX). Returns 0, YH_ERR_INVALID, YH_ERR_LIMIT (memory store full),
 * YH_ERR_UNAVAILABLE. */
int sess_deny_add(struct sess_store *s, enum sess_deny_kind kind, const char *id,
    int64_t ttl_s) YH_WUR;

/* 0 when kind/id is not denied, YH_ERR_DENIED when it is, YH_ERR_INVALID (a malformed
 * kind or id), YH_ERR_UNAVAILABLE. */
int sess_deny_check(struct sess_store *s, enum sess_deny_kind kind, const char *id) YH_WUR;

/* ---- brute-force counters and lockouts --------------------------------------------------- */

/*
 * Counters and locks are named by the caller, e.g. "acct:<uid or canonical login name>"
 * and "addr:<ip>" (1..SESS_NAME_MAX bytes). The store keeps only a SHA-256 of the name;
 * do not pass ID numbers (a plain hash of one can be guessed): use the internal uid.
 */

/*
 * Counts one failure for name in a fixed window of window_s seconds (starting at the
 * first failure). When the count reaches limit (> 0), name is locked for lockout_s
 * seconds, the counter restarts, and the call returns YH_ERR_LOCKED. *count (may be
 * NULL) gets the count after this failure. Returns 0, YH_ERR_LOCKED, YH_ERR_INVALID,
 * YH_ERR_UNAVAILABLE.
 */
/*
 * Counts one more request of name (a rate, not failures: "new QR codes from this
 * address"): 0 while fewer than limit (> 0) came in window_s seconds; YH_ERR_LOCKED at
 * the limit-th, and then for window_s seconds without counting. YH_ERR_INVALID,
 * YH_ERR_UNAVAILABLE.
 */
int sess_rate(struct sess_store *s, const char *name, int64_t window_s, int64_t limit) YH_WUR;

/*
 * The name of a per-address counter or lock, "<prefix><address>", into out (outsz
 * bytes, cut if short). An IPv6 address counts as its /64: one subscriber holds a whole
 * /64 and picks from it at will, so a limit on each address would be no limit at all.
 * An IPv4-mapped IPv6 address counts as the IPv4 address; IPv4 addresses, and anything
 * that is not an address, as themselves.
 */
void sess_addr_name(char *out, size_t outsz, const char *prefix, const char *ip);

int sess_fail(struct sess_store *s, const char *name, int64_t window_s, int64_t limit,
    int64_t lockout_s, int64_t *count) YH_WUR;

/* The current failure count of name (0 when none). */
int sess_fail_count(struct sess_store *s, const char *name, int64_t *count) YH_WUR;

/* Forgets the failures of name (after a successful login); a lock stays. */
int sess_fail_clear(struct sess_store *s, const char *name) YH_WUR;

/* 0 when name is not locked; YH_ERR_LOCKED with *remaining_s (may be NULL; rounded up)
 * when it is; YH_ERR_INVALID, YH_ERR_UNAVAILABLE. */
int sess_locked(struct sess_store *s, const char *name, int64_t *remaining_s) YH_WUR;

/* Locks name for lockout_s seconds (operator action), or unlocks it when lockout_s is 0. */
int sess_lock(struct sess_store *s, const char *name, int64_t lockout_s) YH_WUR;

/* Copies src (NULL: "") into dst, cut to dstsz - 1 bytes, control bytes as '?': how a
 * user agent, an address or a name goes into a record the store keeps. */
void sess_copy_cut(char *dst, size_t dstsz, const char *src);

/* ---- for the store and its backends only (sess.c, common.c, backends.c, mem.c,
 * redis.c) ------------------------------------------------------------------------------ */
#ifdef YH_SESS_INTERNAL
#include <pthread.h>

#define SESS_USER_KEYS_MAX 256    /* index entries read per user */
#define SESS_SWEEP_BATCH 256      /* expired sessions claimed per sweep round */

/*
 * What a backend implements. Keys are hex SHA-256 strings (SESS_KEY_SIZE); counter and
 * lock names arrive hashed the same way. "now" is the store's clock (sess_now), which a
 * backend also reads itself where no "now" is passed. Every op returns 0 or a YH_ERR_*
 * as documented on the public call that uses it; Redis adds YH_ERR_UNAVAILABLE.
 */
struct sess_ops {
	const char *name;
	int (*open)(struct sess_store *s);
	void (*close)(struct sess_store *s);
	int (*ping)(struct sess_store *s);
	/* sessions: put also links the user index; rotate relinks it */
	int (*s_put)(struct sess_store *s, const struct sess_info *rec);
	/* 0, NOT_FOUND, or EXPIRED (record found past its expiry; not removed, out set) */
	int (*s_get)(struct sess_store *s, const char *key, bool touch, int64_t now,
	    struct sess_info *out);
	/* removes and returns the record; with only_expired, YH_ERR_BUSY when still live;
	 * its CAS tickets, when it has some and cas is not NULL, to *cas (malloc'd) */
	int (*s_take)(struct sess_store *s, const char *key, bool only_expired, int64_t now,
	    struct sess_info *out, struct sess_cas_list **cas);
	/* moves old_key's record (clients kept) to rec->key with rec's other fields */
	int (*s_rotate)(struct sess_store *s, const char *old_key, const struct sess_info *rec);
	int (*s_add_client)(struct sess_store *s, const char *key, const char *client_id);
	int (*s_add_cas)(struct sess_store *s, const char *key, const struct sess_cas_entry *e);
	int (*s_user_keys)(struct sess_store *s, const char *uid, char (*keys)[SESS_KEY_SIZE],
	    size_t max, size_t *n);
	void (*s_user_unlink)(struct sess_store *s, const char *uid, const char *key);
	int (*s_expired_keys)(struct sess_store *s, int64_t now, char (*keys)[SESS_KEY_SIZE],
	    size_t max, size_t *n);
	void (*purge)(struct sess_store *s, int64_t now);   /* may be NULL */
	size_t (*count)(struct sess_store *s);   /* records held; may be NULL (Redis) */
	/* codes */
	int (*code_put)(struct sess_store *s, const char *key, const char *payload,
	    int64_t ttl_ms);
	int (*code_take)(struct sess_store *s, const char *key, const char *issued,
	    char **payload, char **prev_issued);
	/* flows: put as code_put (YH_ERR_EXISTS when taken); get; swap: 0, YH_ERR_BUSY
	 * (the payload is not expect), YH_ERR_NOT_FOUND */
	int (*flow_put)(struct sess_store *s, const char *key, const char *payload,
	    int64_t ttl_ms);
	int (*flow_get)(struct sess_store *s, const char *key, char **payload);
	int (*flow_swap)(struct sess_store *s, const char *key, const char *expect,
	    const char *payload);
	/* refresh families */
	int (*fam_put)(struct sess_store *s, const struct sess_family *f, const char *payload,
	    int64_t ttl_ms, const char *token_key);
	int (*rt_rotate)(struct sess_store *s, const char *old_key, const char *new_key,
	    struct sess_family *f, char **payload);
	int (*rt_peek)(struct sess_store *s, const char *key, struct sess_family *f,
	    char **payload);
	int (*rt_family)(struct sess_store *s, const char *key, char id[SESS_PUBID_SIZE]);
	int (*fam_get)(struct sess_store *s, const char *id, struct sess_family *f);
	int (*fam_revoke)(struct sess_store *s, const char *id);  /* YH_ERR_EXISTS: revoked
	                                                           * already */
	int (*fam_user)(struct sess_store *s, const char *uid, char (*ids)[SESS_PUBID_SIZE],
	    size_t max, size_t *n);
	/* counters and locks */
	int (*cnt_incr)(struct sess_store *s, const char *key, int64_t window_ms, int64_t *n);
	int (*cnt_get)(struct sess_store *s, const char *key, int64_t *n);
	int (*cnt_del)(struct sess_store *s, const char *key);
	int (*lock_set)(struct sess_store *s, const char *key, int64_t ms);
	int (*lock_ttl)(struct sess_store *s, const char *key, int64_t *ms);
	/* denylist: put keeps the longer TTL; get is 0 when present, else NOT_FOUND */
	int (*deny_put)(struct sess_store *s, const char *key, int64_t ms);
	int (*deny_get)(struct sess_store *s, const char *key);
	/* tells the other processes (Redis pub/sub); NULL for memory */
	void (*publish)(struct sess_store *s, const struct sess_event *ev);
};

struct sess_store {
	struct sess_config cfg;        /* strings point at the copies below; the timeouts in
	                                * force are these: */
	_Atomic int64_t idle_s;        /* of new sessions (sess_set_timeouts) */
	_Atomic int64_t absolute_s;
	char *host, *password, *prefix, *sentinels, *master;
	const struct sess_ops *ops;
	void *be;                      /* the backend's state */
	char node[SESS_PUBID_SIZE];    /* this process's id in pub/sub messages */
	struct {                       /* NULL pointers when cfg.metrics is NULL */
		struct mx_counter *created, *reauth, *ended[SESS_END_EVICTED + 1];
		struct mx_gauge *active;
	} mx;
	pthread_t sweeper;
	bool sweeper_running, stopping;
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
};

/* The backends (mem.c, redis.c). sess_open finds the one configured through
 * sess_backend_ops (backends.c); nothing else names them. */
extern const struct sess_ops sess_mem_ops;
extern const struct sess_ops sess_redis_ops;

/* The ops of backend b, or NULL when no backend of that kind is built in. */
const struct sess_ops *sess_backend_ops(enum sess_backend b);

/* Expiry of a record from its fields: min(seen + idle, created + absolute), the sum
 * saturating at the ends of the range. */
int64_t sess_rec_expiry(int64_t seen_ms, int64_t idle_ms, int64_t aexp_ms);

/* The touch granularity: seen is rewritten only when older than this (ms). */
int64_t sess_touch_gran(int64_t idle_ms);

/* Hands an event from another process (origin false) to the handler. */
void sess_deliver_remote(struct sess_store *s, const struct sess_event *ev);

/* The store's wall clock (cfg.now_ms, else the real one), ms since the epoch. */
int64_t sess_now(const struct sess_store *s);

/* True when str is 1..max bytes with no control bytes (and no NUL within max). */
bool sess_str_ok(const char *str, size_t max);

/* True when v is an amr value: 1..SESS_AMR_LEN-1 bytes of [a-z0-9_-]. */
bool sess_amr_ok(const char *v);

/* True when str is a 64-digit lower-case hex key / a 22-char base64url public id. */
bool sess_key_ok(const char *key);
bool sess_pubid_ok(const char *id);

/* True when p is a key prefix: 1..32 bytes of base64url characters, ':' and '.'. */
bool sess_prefix_ok(const char *p);

/* A session as Redis keeps it: field, value pairs (see common.c). sess_rec_fields
 * writes rec's into t->v, t->l (all: every field; else last use and the attributes,
 * what a rotation rewrites); the values point into rec and t and may be binary. */
#define SESS_REC_NAMES "iukalmgpsdx"
#define SESS_REC_REQUIRED 0x71fu      /* i u k a l s d x: the rest may be missing */
struct sess_rec_text {
	const char *v[22];
	size_t l[22];
	size_t n;
	unsigned char sid[16];
	char num[6][24];
	char amr[SESS_AMR_MAX * SESS_AMR_LEN];
	char ua[48];                  /* UA_TEXT_MAX */
};
void sess_rec_fields(const struct sess_info *rec, bool all, struct sess_rec_text *t);

/* Reads one field (flen, vlen bytes) of a stored session into rec and marks it in
 * *have (bit i for SESS_REC_NAMES[i]); 0 also for a field that is not one of these
 * (c:, t:), YH_ERR_INVALID for a bad value: a time or loa outside what its readers
 * compute with, a string too long or holding a NUL, a bad amr value. */
int sess_rec_field(const char *f, size_t flen, const char *v, size_t vlen, struct sess_info *rec,
    unsigned *have) YH_WUR;

/* After the fields: checks that every required one came and turns the stored times
 * (last use and absolute expiry after creation) into rec's; 0 or YH_ERR_INVALID. */
int sess_rec_finish(struct sess_info *rec, unsigned have) YH_WUR;

/* A ticket's fields as compact JSON and back (every backend stores it as a code's
 * payload). sess_ticket_parse refuses what sess_ticket_json would not write. */
char *sess_ticket_json(const struct sess_ticket *t);
int sess_ticket_parse(const char *json, struct sess_ticket *t) YH_WUR;

/* Family attributes (uid, client, sid) as compact JSON and back. */
char *sess_family_json(const struct sess_family *f);
int sess_family_parse(const char *json, size_t len, struct sess_family *f) YH_WUR;
#endif

#endif
