/* authd's configuration table, loading order and the checks the table cannot express. */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "authcore/audit/audit.h"
#include "authcore/authd_config.h"
#include "authcore/clients/clients.h"
#include "common/log.h"
#include "common/atomicfile.h"
#include "common/netaddr.h"
#include "common/secmem.h"
#include "common/utf8.h"
#include "common/workers.h"

#define AUTHD_CFG_LINE_MAX 4096
#define AUTHD_THREADS_MAX 256

static const char *const log_levels[] = { "debug", "info", "warn", "error", NULL };
static const char *const log_formats[] = { "json", "text", NULL };
static const char *const session_backends[] = { "memory", "redis", NULL };
static const char *const staff_methods[] = { "totp", "cert", NULL };
static const char *const key_algs[] = { "ES256", "EdDSA", "RS256", "PS256", "SM2", NULL };

#define OFF(field) offsetof(struct authd_cfg, field)

/* ---- the apply hooks of the reloadable options (ctx: struct authd_cfg_targets) ---- */

/* log.level, log.format: the process's logger. */
static int
apply_log(void *ctx, const void *old, const void *new, char *err, size_t errsz)
{
	const struct authd_cfg *n = new;
	enum yh_log_level lvl;

	(void)ctx;
	(void)old;
	if (yh_log_level_parse(n->log_level, &lvl) != 0) {
		snprintf(err, errsz, "unknown level '%s'", n->log_level);
		return YH_ERR_INVALID;
	}
	yh_log_set_level(lvl);
	yh_log_set_json(strcmp(n->log_format, "json") == 0);
	return 0;
}

/* session.idle_timeout, session.absolute_timeout: of the sessions created from now on. */
static int
apply_sessions(void *ctx, const void *old, const void *new, char *err, size_t errsz)
{
	const struct authd_cfg_targets *t = ctx;
	const struct authd_cfg *n = new;

	(void)old;
	if (t->sessions == NULL)
		return 0;
	return t->sessions(t->arg, n->session_idle, n->session_absolute, err, errsz);
}

/* http.trusted_proxies: requests starting from now on. */
static int
apply_proxies(void *ctx, const void *old, const void *new, char *err, size_t errsz)
{
	const struct authd_cfg_targets *t = ctx;
	const struct authd_cfg *n = new;

	(void)old;
	return t->proxies != NULL ? t->proxies(t->arg, n->http_trusted_proxies, err, errsz) : 0;
}

/* audit.checkpoint_lines, audit.checkpoint_interval, audit.commit_window_us: the audit
 * writer. */
static int
apply_audit(void *ctx, const void *old, const void *new, char *err, size_t errsz)
{
	const struct authd_cfg_targets *t = ctx;
	const struct authd_cfg *n = new;
	int r;

	(void)old;
	if (t->audit == NULL)
		return 0;
	if ((r = yh_audit_set_checkpoints(t->audit, (uint64_t)n->audit_cp_lines,
	    n->audit_cp_interval * 1000)) != 0)
		snprintf(err, errsz, "the audit checkpoints cannot change: %s", yh_strerror(r));
	else if ((r = yh_audit_set_commit_window(t->audit, n->audit_window_us)) != 0)
		snprintf(err, errsz, "the audit commit window cannot change: %s",
		    yh_strerror(r));
	return r;
}

const struct yh_cfg_opt authd_cfg_opts[] = {
	IDENT_CFG_OPTIONS(OFF(ident)),
	{ .name = "http.listen", .type = YH_CFG_STR, .def = AUTHD_DEFAULT_LISTEN, .max = 80,
	  .flags = YH_CFG_IMMUTABLE, .offset = OFF(http_listen),
	  .help = "address and port to listen on: ADDR:PORT or [IPV6]:PORT" },
	{ .name = "issuer", .type = YH_CFG_STR, .def = NULL, .max = 512,
	  .flags = YH_CFG_IMMUTABLE, .offset = OFF(issuer),
	  .help = "the OpenID Connect issuer URL; unset: http://ADDR:PORT of http.listen "
	      "(https:// with tls.*)" },
	{ .name = "http.threads", .type = YH_CFG_INT, .def = "0", .min = 0,
	  .max = AUTHD_THREADS_MAX, .flags = YH_CFG_IMMUTABLE, .offset = OFF(http_threads),
	  .help = "HTTP threads (each with its own epoll loop); 0 = 8 per CPU, at least 16 (handlers "
	      "wait on the audit fsync and Redis)" },
	{ .name = "http.max_body", .type = YH_CFG_INT, .def = "65536", .min = 1024,
	  .max = 16 * 1024 * 1024, .flags = YH_CFG_IMMUTABLE, .offset = OFF(http_max_body),
	  .help = "largest request body in bytes; larger requests get 413" },
	{ .name = "http.max_body_preauth", .type = YH_CFG_INT, .def = "16384", .min = 1024,
	  .max = 16 * 1024 * 1024, .flags = YH_CFG_IMMUTABLE,
	  .offset = OFF(http_max_body_preauth),
	  .help = "largest request body in bytes where nobody is authenticated yet (POST "
	      "/login, /register, /token, /introspect, /revoke, /authorize, /logout; at most "
	      "http.max_body); larger requests get 413" },
	{ .name = "http.max_header", .type = YH_CFG_INT, .def = "16384", .min = 2048,
	  .max = 1024 * 1024, .flags = YH_CFG_IMMUTABLE, .offset = OFF(http_max_header),
	  .help = "largest request line plus headers in bytes; larger requests get 431" },
	{ .name = "http.connection_timeout", .type = YH_CFG_DURATION, .def = "30s", .min = 1,
	  .max = 3600, .flags = YH_CFG_IMMUTABLE, .offset = OFF(http_connection_timeout),
	  .help = "an idle connection is closed after this long" },
	{ .name = "http.head_timeout", .type = YH_CFG_DURATION, .def = "10s", .min = 1,
	  .max = 3600, .flags = YH_CFG_IMMUTABLE, .offset = OFF(http_head_timeout),
	  .help = "the request line and headers must be complete this long after their first "
	      "byte, however slowly they trickle in; else the connection is closed" },
	{ .name = "http.body_timeout", .type = YH_CFG_DURATION, .def = "20s", .min = 1,
	  .max = 3600, .flags = YH_CFG_IMMUTABLE, .offset = OFF(http_body_timeout),
	  .help = "a request body must be complete this long after its headers; else the "
	      "connection is closed (raise it with http.max_body)" },
	{ .name = "http.max_connections", .type = YH_CFG_INT, .def = "10000", .min = 1,
	  .max = 65536, .flags = YH_CFG_IMMUTABLE, .offset = OFF(http_max_connections),
	  .help = "open connections in total; past it new ones wait in the listen backlog "
	      "(authd raises its open-file limit to fit, up to the hard limit)" },
	{ .name = "http.max_connections_per_ip", .type = YH_CFG_INT, .def = "128", .min = 0,
	  .max = 65536, .flags = YH_CFG_IMMUTABLE, .offset = OFF(http_max_connections_per_ip),
	  .help = "open connections from one client address; 0 = no cap (set 0 behind a "
	      "load balancer)" },
	{ .name = "http.trusted_proxies", .type = YH_CFG_STR, .def = NULL, .max = 2048,
	  .flags = YH_CFG_RELOADABLE,
	  .apply = apply_proxies, .offset = OFF(http_trusted_proxies),
	  .help = "comma-separated proxy addresses or CIDRs whose X-Forwarded-For and "
	      "X-Forwarded-Proto are believed" },
	{ .name = "tls.cert_file", .type = YH_CFG_PATH, .def = NULL, .max = 3072,
	  .flags = YH_CFG_IMMUTABLE, .offset = OFF(tls_cert_file),
	  .help = "PEM certificate chain; with tls.key_file authd speaks HTTPS itself" },
	{ .name = "tls.key_file", .type = YH_CFG_PATH, .def = NULL, .max = 3072,
	  .flags = YH_CFG_IMMUTABLE | YH_CFG_SENSITIVE, .offset = OFF(tls_key_file),
	  .help = "PEM private key for tls.cert_file (keep it 0600)" },
	{ .name = "log.level", .type = YH_CFG_ENUM, .def = "info", .max = 8,
	  .choices = log_levels, .flags = YH_CFG_RELOADABLE,
	  .apply = apply_log, .offset = OFF(log_level),
	  .help = "lowest level logged: debug, info, warn or error" },
	{ .name = "log.format", .type = YH_CFG_ENUM, .def = "json", .max = 8,
	  .choices = log_formats, .flags = YH_CFG_RELOADABLE,
	  .apply = apply_log, .offset = OFF(log_format),
	  .help = "json (one object per line) or text" },
	{ .name = "session.backend", .type = YH_CFG_ENUM, .def = "memory", .max = 8,
	  .choices = session_backends, .flags = YH_CFG_IMMUTABLE,
	  .offset = OFF(session_backend),
	  .help = "memory (one process) or redis (shared by any number of authd processes)" },
	{ .name = "session.idle_timeout", .type = YH_CFG_DURATION, .def = "30m", .min = 60,
	  .max = 86400, .flags = YH_CFG_RELOADABLE,
	  .apply = apply_sessions, .offset = OFF(session_idle),
	  .help = "a session unused this long ends" },
	{ .name = "session.absolute_timeout", .type = YH_CFG_DURATION, .def = "8h", .min = 300,
	  .max = 30 * 86400, .flags = YH_CFG_RELOADABLE,
	  .apply = apply_sessions, .offset = OFF(session_absolute),
	  .help = "a session ends this long after its login, used or not" },
	{ .name = "session.redis_host", .type = YH_CFG_STR, .def = "127.0.0.1", .max = 255,
	  .flags = YH_CFG_IMMUTABLE, .offset = OFF(redis_host), .help = "Redis host" },
	{ .name = "session.redis_port", .type = YH_CFG_INT, .def = "6379", .min = 1,
	  .max = 65535, .flags = YH_CFG_IMMUTABLE, .offset = OFF(redis_port),
	  .help = "Redis port" },
	{ .name = "session.redis_password", .type = YH_CFG_STR, .def = NULL, .max = 512,
	  .flags = YH_CFG_IMMUTABLE | YH_CFG_SENSITIVE, .offset = OFF(redis_password),
	  .help = "Redis AUTH password" },
	{ .name = "session.redis_db", .type = YH_CFG_INT, .def = "0", .min = 0, .max = 255,
	  .flags = YH_CFG_IMMUTABLE, .offset = OFF(redis_db), .help = "Redis database" },
	{ .name = "session.redis_prefix", .type = YH_CFG_STR, .def = "yh:", .max = 32,
	  .flags = YH_CFG_IMMUTABLE, .offset = OFF(redis_prefix),
	  .help = "key namespace, so several deployments can share one Redis" },
	{ .name = "session.redis_sentinels", .type = YH_CFG_STR, .def = NULL, .max = 1024,
	  .flags = YH_CFG_IMMUTABLE, .offset = OFF(redis_sentinels),
	  .help = "comma-separated HOST:PORT of Redis Sentinels (at most 16); when set, authd "
	      "asks them for session.redis_master's address instead of using "
	      "session.redis_host and session.redis_port, and follows a failover" },
	{ .name = "session.redis_master", .type = YH_CFG_STR, .def = NULL, .max = 64,
	  .flags = YH_CFG_IMMUTABLE, .offset = OFF(redis_master),
	  .help = "the master's name the sentinels monitor (with session.redis_sentinels)" },
	{ .name = "keys.dir", .type = YH_CFG_PATH, .def = NULL, .max = 3072,
	  .flags = YH_CFG_IMMUTABLE, .offset = OFF(keys_dir),
	  .help = "the signing key ring; unset = STATE_DIR/keys (created on first start)" },
	{ .name = "keys.alg", .type = YH_CFG_ENUM, .def = "ES256", .max = 8, .choices = key_algs,
	  .flags = YH_CFG_IMMUTABLE, .offset = OFF(keys_alg),
	  .help = "the algorithm of an app that chose none (its ID, access and logout tokens); "
	      "always enabled, as if listed in keys.algs" },
	{ .name = "keys.algs", .type = YH_CFG_STR, .def = "ES256 RS256 SM2", .max = 64,
	  .flags = YH_CFG_IMMUTABLE, .offset = OFF(keys_algs),
	  .help = "the algorithms the ring has an active key for and apps may choose "
	      "(ES256, EdDSA, RS256, PS256, SM2; RS256 required); missing keys are made at "
	      "start" },
	{ .name = "keys.in_process", .type = YH_CFG_BOOL, .def = "no", .max = 8,
	  .flags = YH_CFG_IMMUTABLE, .offset = OFF(keys_in_process),
	  .help = "yes: every key in the HTTP process itself instead of the key holder keyd. "
	      "For measurement and diagnosis only: whoever takes over the HTTP process then "
	      "has the keys" },
	{ .name = "keys.answer_timeout", .type = YH_CFG_DURATION, .def = "30s", .min = 1,
	  .max = 3600, .flags = YH_CFG_IMMUTABLE, .offset = OFF(keys_answer_timeout),
	  .help = "how long the HTTP process waits for the key holder keyd to take a request "
	      "and answer it (each takes microseconds); a keyd that does not answer in time "
	      "is stuck (stopped, or its machine stalled), and authd then stops with exit "
	      "status 2, as when keyd dies, for its supervisor to start both again" },
	{ .name = "user", .type = YH_CFG_STR, .def = NULL, .max = 128,
	  .flags = YH_CFG_IMMUTABLE, .offset = OFF(user),
	  .help = "the account authd's HTTP process switches to when authd starts as root: "
	      "NAME, NAME:GROUP or UID:GID. keyd keeps root and the key files, which that "
	      "account cannot read. Unset (or not started as root): both processes run as "
	      "the starting user, and the HTTP process can read the key files from disk" },
	{ .name = "audit.file", .type = YH_CFG_PATH, .def = NULL, .max = 3072,
	  .flags = YH_CFG_IMMUTABLE, .offset = OFF(audit_file),
	  .help = "the hash-chained audit log; unset = STATE_DIR/audit.log" },
	{ .name = "audit.key_file", .type = YH_CFG_PATH, .def = NULL, .max = 3072,
	  .flags = YH_CFG_IMMUTABLE, .offset = OFF(audit_key_file),
	  .help = "the HMAC-SHA256 key that tags audit checkpoints (created 0600 on first "
	      "start; used for nothing else); unset = STATE_DIR/audit.key. Keep it off the "
	      "log's disk, and keep every retired one as long as its logs" },
	{ .name = "audit.checkpoint_lines", .type = YH_CFG_INT, .def = "1000", .min = 0,
	  .max = 1000000, .flags = YH_CFG_RELOADABLE,
	  .apply = apply_audit, .offset = OFF(audit_cp_lines),
	  .help = "a tagged checkpoint at least every this many audit lines, in the same write "
	      "and flush as the lines; 0 = not by count" },
	{ .name = "audit.checkpoint_interval", .type = YH_CFG_DURATION, .def = "10s", .min = 0,
	  .max = 86400, .flags = YH_CFG_RELOADABLE,
	  .apply = apply_audit, .offset = OFF(audit_cp_interval),
	  .help = "and this often while audit lines are not covered by one; 0 = not by time "
	      "(there is always one at start and at a clean stop)" },
	{ .name = "audit.commit_window_us", .type = YH_CFG_INT, .def = "1000", .min = 0,
	  .max = YH_AUDIT_WINDOW_MAX_US, .flags = YH_CFG_RELOADABLE,
	  .apply = apply_audit, .offset = OFF(audit_window_us),
	  .help = "while token grants come from several clients at once, the audit log is "
	      "flushed at most once per this many microseconds, so that one fdatasync covers "
	      "the grants of a whole window (each waits at most this much more; a lone "
	      "client's grants never wait); 0 = flush as soon as the last flush returned" },
	CLIENTS_CFG_OPTIONS(OFF(clients_file)),
	{ .name = "workers.threads", .type = YH_CFG_INT, .def = "2", .min = 1,
	  .max = WK_THREADS_MAX,
	  .flags = YH_CFG_IMMUTABLE, .offset = OFF(worker_threads),
	  .help = "threads for slow work (password hashing, upstream calls)" },
	{ .name = "workers.queue", .type = YH_CFG_INT, .def = "1024", .min = 1,
	  .max = WK_QUEUE_MAX,
	  .flags = YH_CFG_IMMUTABLE, .offset = OFF(worker_queue),
	  .help = "slow jobs waiting before new ones get 503" },
	{ .name = "workers.max_wait", .type = YH_CFG_DURATION, .def = "2s", .min = 0,
	  .max = WK_WAIT_MAX_MS / 1000,
	  .flags = YH_CFG_IMMUTABLE, .offset = OFF(worker_max_wait),
	  .help = "a slow job (a login's password hash) that would have to wait and would "
	      "take longer than this, behind the jobs ahead of it at the recent average run "
	      "time, is refused at once with 503 and Retry-After instead of waiting (a job a "
	      "free worker takes at once never is); 0 = only workers.queue bounds the wait" },
	{ .name = "workers.nice", .type = YH_CFG_INT, .def = "10", .min = 0,
	  .max = WK_NICE_MAX,
	  .flags = YH_CFG_IMMUTABLE, .offset = OFF(worker_nice),
	  .help = "niceness added to the worker threads, so a burst of password hashing "
	      "yields the CPU to token and page requests (0: equal priority)" },
	{ .name = "login.max_failures", .type = YH_CFG_INT, .def = "5", .min = 1, .max = 1000,
	  .flags = YH_CFG_RELOADABLE, .offset = OFF(login_max_failures),
	  .help = "failures on one account before it is locked: password logins (known or "
	      "unknown identifier), TOTP codes, the current password or code on the account "
	      "page" },
	{ .name = "login.max_failures_per_address", .type = YH_CFG_INT, .def = "50", .min = 1,
	  .max = 1000000, .flags = YH_CFG_RELOADABLE, .offset = OFF(login_addr_max_failures),
	  .help = "failed password logins from one client address before the address is "
	      "locked (higher: a service hall sits behind one NAT)" },
	{ .name = "login.lockout", .type = YH_CFG_DURATION, .def = "30m", .min = 1,
	  .max = 7 * 86400, .flags = YH_CFG_RELOADABLE, .offset = OFF(login_lockout),
	  .help = "how long a lockout (of an account or an address) lasts" },
	{ .name = "login.failure_window", .type = YH_CFG_DURATION, .def = "30m", .min = 1,
	  .max = 7 * 86400, .flags = YH_CFG_RELOADABLE, .offset = OFF(login_failure_window),
	  .help = "failures older than this no longer count" },
	{ .name = "login.qr_lifetime", .type = YH_CFG_DURATION, .def = "2m", .min = 5,
	  .max = 600, .flags = YH_CFG_RELOADABLE, .offset = OFF(login_qr_lifetime),
	  .help = "how long a QR-code login request shown on the login page is good" },
	{ .name = "login.staff_methods", .type = YH_CFG_ENUM, .def = "totp", .max = 16,
	  .choices = staff_methods, .flags = YH_CFG_RELOADABLE,
	  .offset = OFF(login_staff_methods),
	  .help = "how a person with a current staff relation logs in: totp (a password or "
	      "SMS code plus a TOTP code) or cert (a certificate login only: a password, an SMS "
	      "code or an upstream login, even a right one, is refused with a page saying why)" },
	{ .name = "token.access_lifetime", .type = YH_CFG_DURATION, .def = "10m", .min = 30,
	  .max = 86400, .flags = YH_CFG_RELOADABLE, .offset = OFF(access_token_lifetime),
	  .help = "access token lifetime unless the client sets its own" },
	{ .name = "token.id_lifetime", .type = YH_CFG_DURATION, .def = "10m", .min = 30,
	  .max = 86400, .flags = YH_CFG_RELOADABLE, .offset = OFF(id_token_lifetime),
	  .help = "ID token lifetime unless the client sets its own" },
	{ .name = "token.refresh_lifetime", .type = YH_CFG_DURATION, .def = "8h", .min = 60,
	  .max = 90 * 86400, .flags = YH_CFG_RELOADABLE, .offset = OFF(refresh_token_lifetime),
	  .help = "lifetime of a refresh token family bound to the login session, unless "
	      "the client sets its own" },
	{ .name = "token.offline_lifetime", .type = YH_CFG_DURATION, .def = "30d", .min = 60,
	  .max = 365 * 86400, .flags = YH_CFG_RELOADABLE, .offset = OFF(offline_token_lifetime),
	  .help = "lifetime of a refresh token family granted offline_access" },
	{ .name = "token.code_lifetime", .type = YH_CFG_DURATION, .def = "60s", .min = 10,
	  .max = 600, .flags = YH_CFG_RELOADABLE,
	  .offset = OFF(code_lifetime), .help = "authorization code lifetime" },
	{ .name = "oidc.par_lifetime", .type = YH_CFG_DURATION, .def = "60s", .min = 5,
	  .max = 600, .flags = YH_CFG_RELOADABLE, .offset = OFF(par_lifetime),
	  .help = "how long a request_uri from /par (pushed authorization request) is good" },
	{ .name = "oidc.device_lifetime", .type = YH_CFG_DURATION, .def = "10m", .min = 5,
	  .max = 1800, .flags = YH_CFG_RELOADABLE, .offset = OFF(device_lifetime),
	  .help = "how long a device code and its user code (device authorization grant) "
	      "are good" },
	{ .name = "oidc.device_interval", .type = YH_CFG_DURATION, .def = "5s", .min = 1,
	  .max = 60, .flags = YH_CFG_RELOADABLE, .offset = OFF(device_interval),
	  .help = "the least time between two polls of a device code at /token" },
	{ .name = "token.client_assertion_max_lifetime", .type = YH_CFG_DURATION, .def = "1h",
	  .min = 60, .max = 86400, .flags = YH_CFG_RELOADABLE,
	  .offset = OFF(assertion_lifetime),
	  .help = "how far ahead a private_key_jwt client assertion's exp may lie (its jti "
	      "stays single-use until then); one hour takes the libraries' defaults (Authlib)" },
	{ .name = "cas.ticket_lifetime", .type = YH_CFG_DURATION, .def = "10s", .min = 1,
	  .max = 300, .flags = YH_CFG_RELOADABLE,
	  .offset = OFF(cas_ticket_lifetime),
	  .help = "CAS service ticket lifetime (from /cas/login to its validation)" },
	{ .name = "cas.pgt_lifetime", .type = YH_CFG_DURATION, .def = "2h", .min = 60,
	  .max = 86400, .flags = YH_CFG_RELOADABLE,
	  .offset = OFF(cas_pgt_lifetime),
	  .help = "CAS proxy-granting ticket lifetime; never beyond the end of the login "
	      "session it came from, and unusable once that session ends" },
	{ .name = "cas.proxy_ca_file", .type = YH_CFG_PATH, .def = NULL, .max = 3072,
	  .flags = YH_CFG_RELOADABLE, .offset = OFF(cas_proxy_ca_file),
	  .help = "PEM CA certificates that verify the https servers of CAS proxy callbacks "
	      "(pgtUrl); unset = the system's trust store" },
	FED_REG_CFG_OPTIONS(OFF(registry)),
	FED_SMS_CFG_OPTIONS(OFF(sms)),
	{ .name = "cert.ca.", .type = YH_CFG_FAMILY, .flags = YH_CFG_RELOADABLE,
	  .offset = OFF(cert), .family = fed_x509_cfg_line,
	  .help = "`cert.ca.NAME.FIELD` (roots, intermediates, cross_certs, crl (a file or an "
	      "http(s) URL), ocsp, revocation, fail, profile, policies): a CA whose certificates "
	      "log people in (docs/certificates.md)" },
	{ .name = "cert.profile.", .type = YH_CFG_FAMILY, .flags = YH_CFG_RELOADABLE,
	  .offset = OFF(cert), .family = fed_x509_cfg_line,
	  .help = "`cert.profile.NAME.FIELD` (id_number, credit_code, org_code, reg_number): "
	      "where a CA's certificates carry the identity (docs/certificates.md)" },
	{ .name = FED_UP_PREFIX, .type = YH_CFG_FAMILY, .flags = YH_CFG_IMMUTABLE,
	  .offset = OFF(upstreams),
	  .family = fed_up_cfg_line,
	  .help = "`upstream.NAME.FIELD` (kind, issuer, client_id, client_secret, scopes, map.*, "
	      "loa, acr_map, auto_register, link, logout, ...): an upstream identity provider "
	      "whose logins are accepted (docs/federation.md); a change waits for a restart" },
	{ .name = FED_LDAP_PREFIX, .type = YH_CFG_FAMILY, .flags = YH_CFG_RELOADABLE,
	  .offset = OFF(ldap), .family = fed_ldap_cfg_line,
	  .help = "`ldap_source.NAME.FIELD` (uri, bind_dn, bind_password, base, filter, attr_*, "
	      "starttls, ca_file, network_timeout, timeout, org, unit, loa): a department's LDAP directory as a "
	      "login source" },
	{ .name = "cert.trust_dir", .type = YH_CFG_PATH, .def = "", .max = 4096,
	  .flags = YH_CFG_RELOADABLE, .offset = OFF(cert_trust_dir),
	  .help = "CAs added by `authctl ca add` (a folder per CA); \"\" = STATE_DIR/ca" },
	{ .name = "cert.proxy_header", .type = YH_CFG_STR, .def = NULL, .max = 64,
	  .flags = YH_CFG_RELOADABLE, .offset = OFF(cert_proxy_header),
	  .help = "the request header in which a TLS-terminating proxy of "
	      "http.trusted_proxies forwards the client certificate, URL-encoded PEM "
	      "(nginx's $ssl_client_escaped_cert); unset: not accepted" },
	{ .name = "cert.auto_register", .type = YH_CFG_BOOL, .def = "no", .max = 8,
	  .flags = YH_CFG_RELOADABLE, .offset = OFF(cert_auto_register),
	  .help = "yes: a person certificate whose ID number names nobody creates the person "
	      "at its login (the name from the CA's profile, LoA 4, the certificate bound); "
	      "no: refused (no_account). Enterprise certificates never create an "
	      "organization" },
	{ .name = "sms.code_lifetime", .type = YH_CFG_DURATION, .def = "5m", .min = 60,
	  .max = 1800, .flags = YH_CFG_RELOADABLE, .offset = OFF(sms_code_lifetime),
	  .help = "how long an SMS code is good (single use, in the browser that asked for it)" },
	{ .name = "sms.resend_interval", .type = YH_CFG_DURATION, .def = "60s", .min = 10,
	  .max = 3600, .flags = YH_CFG_RELOADABLE, .offset = OFF(sms_resend_interval),
	  .help = "the least time between two codes sent to one phone number" },
	{ .name = "sms.max_per_phone", .type = YH_CFG_INT, .def = "10", .min = 1,
	  .max = 1000, .flags = YH_CFG_RELOADABLE, .offset = OFF(sms_max_per_phone),
	  .help = "codes sent to one phone number in a day (from its first code); then none "
	      "for a day" },
	{ .name = "sms.max_per_address", .type = YH_CFG_INT, .def = "30", .min = 1,
	  .max = 1000000, .flags = YH_CFG_RELOADABLE, .offset = OFF(sms_max_per_address),
	  .help = "codes asked for from one client address in an hour; then none for an hour" },
	{ .name = "sms.max_failures", .type = YH_CFG_INT, .def = "5", .min = 1, .max = 20,
	  .flags = YH_CFG_RELOADABLE, .offset = OFF(sms_max_failures),
	  .help = "wrong codes for one phone number within sms.code_lifetime before its codes "
	      "are locked for login.lockout (at least 5 minutes)" },
	{ .name = "registration.privacy_notice_file", .type = YH_CFG_PATH, .def = NULL,
	  .max = 3072, .flags = YH_CFG_RELOADABLE, .offset = OFF(privacy_notice_file),
	  .help = "the operator's privacy notice (UTF-8 text, at most 65536 bytes) shown on "
	      "/register and /privacy, read at start and on SIGHUP; set with "
	      "registration.privacy_notice_version. Unset: the built-in notice, whose contact "
	      "placeholder must be replaced" },
	{ .name = "registration.privacy_notice_version", .type = YH_CFG_STR, .def = NULL,
	  .max = 64, .flags = YH_CFG_RELOADABLE, .offset = OFF(privacy_notice_version),
	  .help = "the notice's version, recorded with every consent (letters, digits and "
	      ". _ - + :); bump it whenever the text changes: a changed text under the same "
	      "version is not published on SIGHUP" },
	{ .name = NULL },
};

const struct yh_cfg_opt *
authd_cfg_opt(const char *name)
{
	return yh_cfg_find(authd_cfg_opts, name);
}

int64_t
authd_cfg_max(const char *name)
{
	const struct yh_cfg_opt *o = authd_cfg_opt(name);

	return o != NULL && (o->type == YH_CFG_INT || o->type == YH_CFG_DURATION) ? o->max : 0;
}

static struct authd_cfg builtin;
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;

static void
builtin_init(void)
{
	struct yh_cfg_err e;

	if (yh_cfg_defaults(authd_cfg_opts, &builtin, &e) != 0)
		yh_error("authd's option table: %s: %s", e.where, e.msg);
}

const struct authd_cfg *
authd_cfg_builtin(void)
{
	pthread_once(&builtin_once, builtin_init);
	return &builtin;
}

/* Finds "path:line" of the line setting key in the config file ("" when none). */
static void
where_in_file(const char *path, const char *key, char *out, size_t outsz)
{
	char line[AUTHD_CFG_LINE_MAX + 2];
	unsigned lineno = 0;
	size_t klen = strlen(key);
	FILE *f;

	out[0] = '\0';
	if (path == NULL || (f = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *p = line;

		lineno++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, key, klen) != 0)
			continue;
		p += klen;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '=') {
			snprintf(out, outsz, "%s:%u", path, lineno);
			break;
		}
	}
	fclose(f);
}

/* Writes "origin: key: msg" where origin is the file:line, the command line or default. */
static int
fail(const struct authd_cfg *c, const char *key, char *err, size_t errsz, const char *msg)
{
	char where[400];

	if ((strcmp(key, "http.listen") == 0 && c->cli_listen) ||
	    (strcmp(key, "state_dir") == 0 && c->cli_state_dir))
		snprintf(where, sizeof(where), "command line");
	else {
		where_in_file(c->config_path, key, where, sizeof(where));
		if (where[0] == '\0')
			snprintf(where, sizeof(where), "%s",
			    c->config_path != NULL ? c->config_path : "default configuration");
	}
	snprintf(err, errsz, "%s: %s: %s", where, key, msg);
	return YH_ERR_CONFIG;
}

static bool
issuer_ok(const char *s, const char **why)
{
	const char *host;

	if (strncmp(s, "https://", 8) == 0)
		host = s + 8;
	else if (strncmp(s, "http://", 7) == 0)
		host = s + 7;
	else {
		*why = "must start with https:// (or http:// for testing)";
		return false;
	}
	if (*host == '\0' || *host == '/') {
		*why = "has no host";
		return false;
	}
	for (const char *p = s; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '?' ||
		    *p == '#' || *p == '"' || *p == '<' || *p == '>' || *p == '\\') {
			*why = "must be a plain URL without query, fragment, spaces or quotes";
			return false;
		}
	if (s[strlen(s) - 1] == '/') {
		*why = "must not end with '/' (clients compare the issuer byte for byte)";
		return false;
	}
	return true;
}

/* issuer = http(s)://ADDR:PORT of the listen address, with port (0: as configured). */
static int
derive_issuer(struct authd_cfg *c, uint16_t port)
{
	const char *colon = strrchr(c->http_listen, ':');
	size_t n = strlen(c->http_listen) + 16;
	int hostlen = colon != NULL ? (int)(colon - c->http_listen) : 0;
	char *s;

	if ((s = malloc(n)) == NULL)
		return YH_ERR_ALLOC;
	if (port != 0 && colon != NULL)
		snprintf(s, n, "%s://%.*s:%u", c->tls_cert_file != NULL ? "https" : "http",
		    hostlen, c->http_listen, (unsigned)port);
	else
		snprintf(s, n, "%s://%s", c->tls_cert_file != NULL ? "https" : "http",
		    c->http_listen);
	free(c->issuer);
	c->issuer = s;
	c->issuer_derived = true;
	return 0;
}

char *
authd_cfg_state_path(const struct authd_cfg *c, const char *opt, const char *name)
{
	struct yh_buf b;

	if (opt != NULL && opt[0] != '\0')
		return strdup(opt);
	yh_buf_init(&b, 8192);
	if (yh_buf_printf(&b, "%s/%s", c->ident.state_dir, name) != 0) {
		yh_buf_free(&b);
		return NULL;
	}
	return yh_buf_steal(&b);
}

int
authd_cfg_bound_port(struct authd_cfg *c, uint16_t port)
{
	return c->issuer_derived ? derive_issuer(c, port) : 0;
}

static unsigned
resolve_threads(int64_t configured)
{
	long n;

	if (configured > 0)
		return (unsigned)configured;
	/* Handlers wait for the audit log's fsync (shared by group commit) and for Redis
	 * round trips, so a thread is cheap concurrency: 8 per CPU, at least 16. */
	n = sysconf(_SC_NPROCESSORS_ONLN) * 8;
	if (n < 16)
		n = 16;
	if (n > AUTHD_THREADS_MAX)
		n = AUTHD_THREADS_MAX;
	return (unsigned)n;
}

/* `user`, resolved into run_as. keys.in_process cannot go with it: the HTTP process
 * would then need the key files, which stay with the starting user (root). */
static int
check_user(struct authd_cfg *c, char *err, size_t errsz)
{
	char why[256];

	if (runas_parse(c->user, &c->run_as, why, sizeof(why)) != 0)
		return fail(c, "user", err, errsz, why);
	if (c->run_as.set && c->keys_in_process)
		return fail(c, "keys.in_process", err, errsz, "cannot be combined with user: the "
		    "HTTP process would need the key files, which stay with the starting user");
	return 0;
}

/* A notice version: 1..64 of letters, digits and . _ - + : */
static bool
notice_version_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr("._-+:", *s) != NULL))
			return false;
	return true;
}

/* Reads the notice file into c->privacy_text, checked: text, UTF-8, not blank, bounded. */
static int
notice_read(struct authd_cfg *c, char *msg, size_t msgsz)
{
	const char *path = c->privacy_notice_file;
	unsigned char md[32];
	unsigned int mdlen = 0;
	size_t i;
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return YH_FAIL(YH_ERR_CONFIG, msg, msgsz, "cannot read %s: %s", path,
		    strerror(errno));
	r = yh_file_read_fd(fd, AUTHD_PRIVACY_NOTICE_MAX, false, &c->privacy_text,
	    &c->privacy_len);
	close(fd);
	if (r == YH_ERR_TOO_LONG)
		return YH_FAIL(YH_ERR_CONFIG, msg, msgsz, "%s is larger than %d bytes", path,
		    AUTHD_PRIVACY_NOTICE_MAX);
	if (r != 0)
		return YH_FAIL(YH_ERR_CONFIG, msg, msgsz, "cannot read %s: %s", path,
		    yh_strerror(r));
	if (memchr(c->privacy_text, '\0', c->privacy_len) != NULL ||
	    !yh_utf8_valid(c->privacy_text, c->privacy_len))
		return YH_FAIL(YH_ERR_CONFIG, msg, msgsz, "%s is not UTF-8 text", path);
	for (i = 0; i < c->privacy_len && strchr(" \t\r\n", c->privacy_text[i]) != NULL; i++)
		;
	if (i == c->privacy_len)
		return YH_FAIL(YH_ERR_CONFIG, msg, msgsz, "%s is empty", path);
	if (EVP_Digest(c->privacy_text, c->privacy_len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32)
		return YH_FAIL(YH_ERR_CONFIG, msg, msgsz, "cannot hash %s", path);
	yh_hex_encode(md, 32, c->privacy_sha256);
	return 0;
}

/* registration.privacy_notice_*: both or neither; the file read and hashed. */
static int
check_notice(struct authd_cfg *c, char *err, size_t errsz)
{
	char msg[3400];

	if (c->privacy_notice_file == NULL && c->privacy_notice_version == NULL)
		return 0;
	if (c->privacy_notice_file == NULL)
		return fail(c, "registration.privacy_notice_version", err, errsz, "set without "
		    "registration.privacy_notice_file (the built-in notice has its own version)");
	if (c->privacy_notice_version == NULL)
		return fail(c, "registration.privacy_notice_file", err, errsz, "set without "
		    "registration.privacy_notice_version (every consent records the version)");
	if (!notice_version_ok(c->privacy_notice_version))
		return fail(c, "registration.privacy_notice_version", err, errsz, "must be 1 to "
		    "64 letters, digits or . _ - + :");
	if (notice_read(c, msg, sizeof(msg)) != 0)
		return fail(c, "registration.privacy_notice_file", err, errsz, msg);
	return 0;
}

/* session.redis_sentinels and session.redis_master: both or neither, a list of
 * HOST:PORT, a name the SENTINEL command takes as one word. */
static int
check_sentinels(const struct authd_cfg *c, char *err, size_t errsz)
{
	char bad[80], msg[240];
	size_t n = 0;

	if (c->redis_sentinels == NULL && c->redis_master == NULL)
		return 0;
	if (c->redis_master == NULL)
		return fail(c, "session.redis_sentinels", err, errsz, "set without "
		    "session.redis_master (the name the sentinels know the master by)");
	if (c->redis_sentinels == NULL)
		return fail(c, "session.redis_master", err, errsz, "set without "
		    "session.redis_sentinels");
	if (net_hostport_list_parse(c->redis_sentinels, NULL, NET_HOSTPORT_LIST_MAX, &n, bad,
	    sizeof(bad)) != 0) {
		snprintf(msg, sizeof(msg), "'%s' is not HOST:PORT (port 1-65535; an IPv6 address "
		    "in brackets), or more than %d sentinels", bad, NET_HOSTPORT_LIST_MAX);
		return fail(c, "session.redis_sentinels", err, errsz, msg);
	}
	if (n == 0)
		return fail(c, "session.redis_sentinels", err, errsz, "no sentinel listed");
	if (c->redis_master[0] == '\0' || strcspn(c->redis_master, " \t\r\n\"'") !=
	    strlen(c->redis_master))
		return fail(c, "session.redis_master", err, errsz, "must be one word");
	return 0;
}

/* The CAs of cert.ca.* and of the trust directory, and their certificates. */
static int
cert_trust(struct authd_cfg *c, char *err, size_t errsz)
{
	char *dir = authd_cfg_state_path(c, c->cert_trust_dir, "ca");
	int r;

	if (dir == NULL)
		return YH_FAIL(YH_ERR_ALLOC, err, errsz, "out of memory");
	r = fed_x509_cfg_dir(&c->cert, dir, err, errsz);
	free(dir);
	if (r == YH_ERR_CONFIG) {
		/* The folder comes from cert.trust_dir, or from state_dir: name the line. */
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", err);
		return fail(c, c->cert_trust_dir != NULL && c->cert_trust_dir[0] != '\0' ?
		    "cert.trust_dir" : "state_dir", err, errsz, msg);
	}
	/* The last good copies of the CRLs fetched by URL: STATE_DIR/crl. */
	if (r == 0 && (c->cert.crl_dir = authd_cfg_state_path(c, NULL, "crl")) == NULL)
		r = YH_FAIL(YH_ERR_ALLOC, err, errsz, "out of memory");
	if (r == 0)
		r = fed_x509_cfg_check(&c->cert, err, errsz);
	if (r == 0 && c->cert.nca > 0)
		r = fed_x509_trust_load(&c->cert, &c->cert_trust, err, errsz);
	return r;
}

/* Checks what the table cannot and fills in derived values; state_dir is -d or NULL. */
static int
finish(struct authd_cfg *c, const char *state_dir, char *err, size_t errsz)
{
	char host[64], bad[80], ierr[400];
	const char *why, *key;
	uint16_t port;
	int r;

	if (net_listen_parse(c->http_listen, host, sizeof(host), &port) != 0)
		return fail(c, "http.listen", err, errsz, "expected ADDR:PORT with a numeric "
		    "IPv4 address or [IPv6] address and a port 0-65535");
	if (net_cidr_list_check(c->http_trusted_proxies, bad, sizeof(bad)) != 0) {
		char msg[160];

		snprintf(msg, sizeof(msg), "'%s' is not an address or CIDR", bad);
		return fail(c, "http.trusted_proxies", err, errsz, msg);
	}
	if ((c->tls_cert_file == NULL) != (c->tls_key_file == NULL))
		return fail(c, c->tls_cert_file == NULL ? "tls.key_file" : "tls.cert_file", err,
		    errsz, "tls.cert_file and tls.key_file must be set together");
	if (c->issuer != NULL && c->issuer[0] != '\0' && !issuer_ok(c->issuer, &why))
		return fail(c, "issuer", err, errsz, why);
	if ((r = check_user(c, err, errsz)) != 0)
		return r;
	if (fed_reg_cfg_check(&c->registry, &key, ierr, sizeof(ierr)) != 0)
		return fail(c, key, err, errsz, ierr);
	if (fed_sms_cfg_check(&c->sms, &key, ierr, sizeof(ierr)) != 0)
		return fail(c, key, err, errsz, ierr);
	if ((r = fed_up_check(&c->upstreams, err, errsz)) != 0)
		return r;
	if ((r = fed_ldap_cfg_check(&c->ldap, err, errsz)) != 0)
		return r;
	if ((r = check_notice(c, err, errsz)) != 0 || (r = check_sentinels(c, err, errsz)) != 0)
		return r;
	/* -d wins over the file's state_dir; with no file at all, ./state. */
	if ((r = ident_cfg_finish_dir(&c->ident, state_dir,
	    c->config_path == NULL ? AUTHD_DEFAULT_STATE_DIR : NULL, ierr, sizeof(ierr))) != 0) {
		/* The message starts with the option name: find the line that set it. */
		char key[64];
		const char *colon = strchr(ierr, ':');
		size_t kl = colon != NULL ? (size_t)(colon - ierr) : 0;

		if (r != YH_ERR_CONFIG || kl == 0 || kl >= sizeof(key) || ierr[0] == '-') {
			snprintf(err, errsz, "%s", ierr);
			return r;
		}
		memcpy(key, ierr, kl);
		key[kl] = '\0';
		return fail(c, key, err, errsz, colon[1] == ' ' ? colon + 2 : colon + 1);
	}
	if ((c->issuer == NULL || c->issuer[0] == '\0') && (r = derive_issuer(c, 0)) != 0) {
		snprintf(err, errsz, "out of memory");
		return r;
	}
	if ((r = authd_cfg_key_algs(c, &c->key_algs, &c->key_default_alg, ierr,
	    sizeof(ierr))) != 0)
		return fail(c, "keys.algs", err, errsz, ierr);
	c->threads = resolve_threads(c->http_threads);
	if (c->cert_proxy_header != NULL && c->cert_proxy_header[0] != '\0' &&
	    strspn(c->cert_proxy_header, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_") != strlen(c->cert_proxy_header))
		return fail(c, "cert.proxy_header", err, errsz,
		    "a header name: letters, digits, - and _");
	return cert_trust(c, err, errsz);
}

int
authd_cfg_key_algs(const struct authd_cfg *c, unsigned *algs, enum tok_alg *def, char *err,
    size_t errsz)
{
	const char *bad;
	int r;

	*algs = 0;
	*def = TOK_ALG_UNSET;
	if (tok_alg_from_name(c->keys_alg, def) != 0)
		return YH_FAIL(YH_ERR_CONFIG, err, errsz, "keys.alg %s: unsupported", c->keys_alg);
	if ((r = tok_algset_parse(c->keys_algs, algs, &bad)) == YH_ERR_UNSUPPORTED)
		return YH_FAIL(YH_ERR_CONFIG, err, errsz, "unsupported algorithm '%.*s' (ES256, "
		    "EdDSA, RS256, PS256, SM2)", (int)strcspn(bad, " ,\t"), bad);
	if (r != 0)
		return YH_FAIL(YH_ERR_CONFIG, err, errsz, "no algorithm listed");
	if ((*algs & TOK_ALGSET(TOK_ALG_RS256)) == 0)
		return YH_FAIL(YH_ERR_CONFIG, err, errsz, "RS256 must be listed: OpenID Connect "
		    "Discovery requires it among the ID token algorithms");
	*algs |= TOK_ALGSET(*def);
	return 0;
}

int
authd_cfg_load(struct authd_cfg *c, const char *path, const char *state_dir,
    const char *listen, char *err, size_t errsz)
{
	struct yh_cfg_err e;
	int r;

	memset(c, 0, sizeof(*c));
	err[0] = '\0';
	if ((r = yh_cfg_defaults(authd_cfg_opts, c, &e)) != 0)
		goto cfgerr;
	if (path != NULL) {
		if ((c->config_path = strdup(path)) == NULL) {
			snprintf(err, errsz, "out of memory");
			return YH_ERR_ALLOC;
		}
		if ((r = yh_cfg_load_file(authd_cfg_opts, c, path, 0, &e)) != 0)
			goto cfgerr;
	}
	c->cli_state_dir = state_dir != NULL;
	if (listen != NULL) {
		c->cli_listen = true;
		if ((r = yh_cfg_set(authd_cfg_opts, c, "http.listen", listen, "command line",
		    &e)) != 0)
			goto cfgerr;
	}
	return finish(c, state_dir, err, errsz);
cfgerr:
	yh_cfg_err_format(&e, err, errsz);
	return r;
}

/*
 * A notice whose text changed under the same version would be recorded as what people
 * consented to under that version: the text in force stays (cur's), with a warning.
 */
static int
keep_notice(const struct authd_cfg *cur, struct authd_cfg *next, char *err, size_t errsz)
{
	if (cur->privacy_text == NULL || next->privacy_text == NULL ||
	    strcmp(cur->privacy_notice_version, next->privacy_notice_version) != 0 ||
	    strcmp(cur->privacy_sha256, next->privacy_sha256) == 0)
		return 0;
	yh_warn("SIGHUP: %s changed but registration.privacy_notice_version is still %s: the "
	    "notice in force stays; raise the version to publish the new text",
	    next->privacy_notice_file, next->privacy_notice_version);
	free(next->privacy_text);
	if ((next->privacy_text = malloc(cur->privacy_len + 1)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return YH_ERR_ALLOC;
	}
	memcpy(next->privacy_text, cur->privacy_text, cur->privacy_len + 1);
	next->privacy_len = cur->privacy_len;
	memcpy(next->privacy_sha256, cur->privacy_sha256, sizeof(next->privacy_sha256));
	return 0;
}

int
authd_cfg_reload(const struct authd_cfg *cur, struct authd_cfg *next,
    struct yh_cfg_reload *rl, char *err, size_t errsz)
{
	struct yh_cfg_err e;
	int r;

	memset(next, 0, sizeof(*next));
	if (cur->config_path == NULL) {
		snprintf(err, errsz, "authd runs without a configuration file (-c): nothing to "
		    "reload");
		return YH_ERR_NOT_FOUND;
	}
	if ((r = authd_cfg_load(next, cur->config_path,
	    cur->cli_state_dir ? cur->ident.state_dir : NULL,
	    cur->cli_listen ? cur->http_listen : NULL, err, errsz)) != 0)
		return r;
	/* A derived issuer names the port bound at start; a changed http.listen says so
	 * itself. */
	if (cur->issuer_derived && next->issuer_derived) {
		free(next->issuer);
		if ((next->issuer = strdup(cur->issuer)) == NULL) {
			snprintf(err, errsz, "out of memory");
			return YH_ERR_ALLOC;
		}
	}
	if ((r = keep_notice(cur, next, err, errsz)) != 0)
		return r;
	if (!fed_up_equal(&cur->upstreams, &next->upstreams)) {
		yh_warn("SIGHUP: upstream.* changed: the upstreams in force stay until a "
		    "restart");
		fed_up_free(&next->upstreams);
		if ((r = fed_up_copy(&next->upstreams, &cur->upstreams)) != 0) {
			snprintf(err, errsz, "out of memory");
			return r;
		}
	}
	if ((r = yh_cfg_reload(authd_cfg_opts, cur, next, rl, &e)) != 0) {
		yh_cfg_err_format(&e, err, errsz);
		return r;
	}
	/* The ldap_source blocks are outside the table: a change in them is applied too. */
	if (!fed_ldap_cfg_same(&cur->ldap, &next->ldap)) {
		yh_info("SIGHUP: ldap_source blocks changed (%zu now)", next->ldap.n);
		rl->applied++;
	}
	next->issuer_derived = cur->issuer_derived;
	next->threads = cur->threads;
	/* The CAs' files and the trust directory were read again with the file: with a CA
	 * on either side, the new trust set is taken even when no line changed. */
	if (cur->cert.nca > 0 || next->cert.nca > 0)
		rl->applied++;
	return 0;
}

void
authd_cfg_free(struct authd_cfg *c)
{
	if (c == NULL)
		return;
	yh_cfg_free(authd_cfg_opts, c);
	fed_x509_trust_free(c->cert_trust);
	c->cert_trust = NULL;
	fed_x509_cfg_free(&c->cert);
	fed_ldap_cfg_free(&c->ldap);
	free(c->config_path);
	c->config_path = NULL;
	free(c->privacy_text);
	c->privacy_text = NULL;
	fed_up_free(&c->upstreams);
}

static const char *
type_name(const struct yh_cfg_opt *o)
{
	switch (o->type) {
	case YH_CFG_STR: return "string";
	case YH_CFG_PATH: return "path";
	case YH_CFG_ENUM: return "choice";
	case YH_CFG_INT: return "integer";
	case YH_CFG_DURATION: return "duration";
	case YH_CFG_BOOL: return "yes/no";
	case YH_CFG_FAMILY: return "family";
	}
	return "?";
}

static int
reference_row(struct yh_buf *out, const struct yh_cfg_opt *o)
{
	int r;

	r = yh_buf_printf(out, "| `%s` | %s | %s%s%s | ", o->name, type_name(o),
	    o->def != NULL && o->def[0] != '\0' ? "`" : "",
	    o->def != NULL && o->def[0] != '\0' ? o->def : "(unset)",
	    o->def != NULL && o->def[0] != '\0' ? "`" : "");
	if (r == 0 && (o->type == YH_CFG_INT || o->type == YH_CFG_DURATION))
		r = yh_buf_printf(out, "%lld..%lld%s", (long long)o->min, (long long)o->max,
		    o->type == YH_CFG_DURATION ? " s" : "");
	for (size_t i = 0; r == 0 && o->choices != NULL && o->choices[i] != NULL; i++)
		r = yh_buf_printf(out, "%s%s", i > 0 ? ", " : "", o->choices[i]);
	if (r == 0)
		r = yh_buf_printf(out, " | %s | %s%s |\n",
		    (o->flags & YH_CFG_RELOADABLE) ? "applied" : "restart",
		    o->help != NULL ? o->help : "",
		    (o->flags & YH_CFG_SENSITIVE) ? " (sensitive: never printed)" : "");
	return r;
}

int
authd_cfg_reference(struct yh_buf *out)
{
	int r;

	r = yh_buf_puts(out, "| option | type | default | allowed | on SIGHUP | meaning |\n"
	    "|---|---|---|---|---|---|\n");
	for (const struct yh_cfg_opt *o = authd_cfg_opts; o->name != NULL && r == 0; o++)
		r = reference_row(out, o);
	return r;
}
