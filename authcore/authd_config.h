/*
 * authd's configuration: one declarative table (common/config.h) holding the identity
 * options (identity/identity_config.h: state_dir, directory.*, vault.*, password.*) and
 * authd's own (http.*, issuer, tls.*, log.*). Sources are applied in this order:
 * defaults, the file given with -c (if any), then -d STATE_DIR and -l ADDR:PORT from the
 * command line. authd_cfg_finish then checks what the table cannot (the listen address,
 * the issuer URL, the proxy list, the TLS pair) and fills in derived values; its errors
 * name the file:line where the offending option was set.
 *
 * Every option is IMMUTABLE (read at start: the listen address, the state directory,
 * thread counts, the Redis server, ...) or RELOADABLE. On SIGHUP authd_cfg_reload reads
 * the file again, checks it as at start, and applies what changed: log.* and the session
 * timeouts, trusted proxies and audit checkpoints through their hooks (the parts that
 * hold them are reached through struct authd_cfg_targets), login.* and token.* by the
 * new configuration replacing the old (they are read from it at each use).
 *
 * upstream.NAME.* blocks are a table of their own (federation/upstream_cfg.h), one
 * block per NAME the operator chooses. A new section (e.g. cert.*) is more rows of authd_cfg_opts and more fields
 * of struct authd_cfg; the table is the only place a default or a bound is written.
 */
#ifndef YH_AUTHD_AUTHD_CONFIG_H
#define YH_AUTHD_AUTHD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authcore/runas.h"
#include "common/buf.h"
#include "common/config.h"
#include "common/err.h"
#include "federation/registry.h"
#include "federation/ldapsrc.h"
#include "federation/sms.h"
#include "federation/upstream_cfg.h"
#include "federation/x509.h"
#include "identity/identity_config.h"
#include "token/jose_alg.h"

/* The state directory used when neither the file nor -d names one. */
#define AUTHD_DEFAULT_STATE_DIR "./state"
#define AUTHD_DEFAULT_LISTEN "127.0.0.1:8080"
/* The largest privacy notice file (registration.privacy_notice_file), in bytes. */
#define AUTHD_PRIVACY_NOTICE_MAX 65536

struct authd_cfg {
	struct ident_cfg ident;           /* state_dir, directory.*, vault.*, password.* */
	char *http_listen;                /* http.listen: ADDR:PORT */
	char *issuer;                     /* issuer; NULL in the file = derived, see below */
	int64_t http_threads;             /* http.threads; 0 = 8 per CPU (at least 16) */
	int64_t http_max_body;            /* http.max_body: bytes */
	int64_t http_max_body_preauth;    /* http.max_body_preauth: bytes, routes before auth */
	int64_t http_max_header;          /* http.max_header: bytes */
	int64_t http_connection_timeout;  /* http.connection_timeout: seconds idle */
	int64_t http_head_timeout;        /* http.head_timeout: seconds from a head's first byte */
	int64_t http_body_timeout;        /* http.body_timeout: seconds after the head */
	int64_t http_max_connections;     /* http.max_connections */
	int64_t http_max_connections_per_ip; /* http.max_connections_per_ip; 0 = no cap */
	char *http_trusted_proxies;       /* http.trusted_proxies: addresses/CIDRs, comma list */
	char *tls_cert_file;              /* tls.cert_file: PEM chain */
	char *tls_key_file;               /* tls.key_file: PEM private key (SENSITIVE) */
	char *log_level;                  /* log.level: debug|info|warn|error */
	char *log_format;                 /* log.format: json|text */
	char *session_backend;            /* session.backend: memory|redis */
	int64_t session_idle;             /* session.idle_timeout: seconds */
	int64_t session_absolute;         /* session.absolute_timeout: seconds */
	char *redis_host;                 /* session.redis_host */
	int64_t redis_port;               /* session.redis_port */
	char *redis_password;             /* session.redis_password (SENSITIVE) */
	int64_t redis_db;                 /* session.redis_db */
	char *redis_prefix;               /* session.redis_prefix: key namespace */
	char *redis_sentinels;            /* session.redis_sentinels: HOST:PORT comma list */
	char *redis_master;               /* session.redis_master: the sentinels' master name */
	char *keys_dir;                   /* keys.dir: the signing key ring; "" = STATE_DIR/keys */
	char *keys_alg;                   /* keys.alg: the algorithm of apps that chose none */
	char *keys_algs;                  /* keys.algs: the enabled algorithms (a list) */
	bool keys_in_process;             /* keys.in_process: no keyd (measurement only) */
	int64_t keys_answer_timeout;      /* keys.answer_timeout: seconds keyd may take */
	char *user;                       /* user: the HTTP process's account; NULL: none */
	char *audit_file;                 /* audit.file; "" = STATE_DIR/audit.log */
	char *audit_key_file;             /* audit.key_file; "" = STATE_DIR/audit.key */
	int64_t audit_cp_lines;           /* audit.checkpoint_lines; 0 = not by count */
	int64_t audit_cp_interval;        /* audit.checkpoint_interval: seconds; 0 = not by time */
	int64_t audit_window_us;          /* audit.commit_window_us; 0 = none */
	char *clients_file;               /* clients.file: the operator's apps; NULL none */
	int64_t worker_threads;           /* workers.threads: slow-work pool (argon2, ...) */
	int64_t worker_queue;             /* workers.queue: jobs waiting before 503 */
	int64_t worker_nice;              /* workers.nice: niceness added to the workers */
	int64_t worker_max_wait;          /* workers.max_wait: seconds a job may expect */
	int64_t login_max_failures;       /* login.max_failures: of one account */
	int64_t login_addr_max_failures;  /* login.max_failures_per_address */
	int64_t login_lockout;            /* login.lockout: seconds */
	int64_t login_qr_lifetime;        /* login.qr_lifetime: seconds */
	int64_t login_failure_window;     /* login.failure_window: seconds failures count */
	char *login_staff_methods;        /* login.staff_methods: staff's second factor (totp) */
	int64_t access_token_lifetime;    /* token.access_lifetime: default for clients */
	int64_t id_token_lifetime;        /* token.id_lifetime */
	int64_t refresh_token_lifetime;   /* token.refresh_lifetime */
	int64_t offline_token_lifetime;   /* token.offline_lifetime */
	int64_t code_lifetime;            /* token.code_lifetime */
	int64_t par_lifetime;             /* oidc.par_lifetime */
	int64_t device_lifetime;          /* oidc.device_lifetime */
	int64_t device_interval;          /* oidc.device_interval */
	int64_t assertion_lifetime;       /* token.client_assertion_max_lifetime */
	int64_t cas_ticket_lifetime;      /* cas.ticket_lifetime: seconds */
	int64_t cas_pgt_lifetime;         /* cas.pgt_lifetime: seconds */
	char *cas_proxy_ca_file;          /* cas.proxy_ca_file: CAs of pgtUrl servers; NULL */
	struct fed_reg_cfg registry;      /* registry.person.*, registry.org.* */
	struct fed_sms_cfg sms;           /* sms.*: the SMS gateway */
	struct fed_ldap_cfg ldap;         /* ldap_source.NAME.*: department LDAP logins */
	int64_t sms_code_lifetime;        /* sms.code_lifetime: seconds */
	int64_t sms_resend_interval;      /* sms.resend_interval: seconds */
	int64_t sms_max_per_phone;        /* sms.max_per_phone: codes per phone per day */
	int64_t sms_max_per_address;      /* sms.max_per_address: codes per address per hour */
	int64_t sms_max_failures;         /* sms.max_failures: wrong codes before a lock */
	char *privacy_notice_file;        /* registration.privacy_notice_file; NULL: built in */
	char *privacy_notice_version;     /* registration.privacy_notice_version */
	struct fed_up_set upstreams;      /* upstream.NAME.*: read at start only (a change
	                                   * waits for a restart) */
	struct fed_x509_cfg cert;         /* cert.ca.*, cert.profile.* */
	char *cert_trust_dir;             /* cert.trust_dir; "" = STATE_DIR/ca */
	char *cert_proxy_header;          /* cert.proxy_header; NULL or "": none */
	bool cert_auto_register;          /* cert.auto_register: a person certificate of
	                                   * nobody creates the person */

	/* Not options: where the values came from, and values derived by finish. */
	char *config_path;                /* the -c file, or NULL (embedded defaults) */
	bool cli_state_dir, cli_listen;   /* set by -d / -l */
	bool issuer_derived;              /* issuer was not configured: made from http.listen */
	unsigned threads;                 /* http.threads resolved */
	unsigned key_algs;                /* keys.algs and keys.alg: TOK_ALGSET bits */
	enum tok_alg key_default_alg;     /* keys.alg */
	struct runas run_as;              /* user resolved (run_as.set false without it) */
	char *privacy_text;               /* the notice file's text (NUL-terminated), or NULL */
	size_t privacy_len;               /* its length in bytes */
	char privacy_sha256[65];          /* its SHA-256, lowercase hex ("" without a file) */
	struct fed_x509_trust *cert_trust; /* cert.ca.*'s certificates; NULL: no CA (or the
	                                    * built-in configuration) */
};

/* The whole table (identity options included), NULL-terminated. */
extern const struct yh_cfg_opt authd_cfg_opts[];

/* The option called name in authd_cfg_opts, or NULL. Modules that take a value of an
 * option from their caller check it against this row's bounds (yh_cfg_int_ok). */
const struct yh_cfg_opt *authd_cfg_opt(const char *name);

/* The upper bound of authd's INT or DURATION option name (0 when there is none). */
int64_t authd_cfg_max(const char *name);

/*
 * The table's defaults as a configuration (built once, static storage, never freed;
 * nothing derived: no state_dir, no issuer). What a module uses when it runs without
 * a loaded configuration (unit tests, a store opened with sess_config_defaults), so
 * that no default is written anywhere but in the table.
 */
const struct authd_cfg *authd_cfg_builtin(void);

/*
 * Builds a configuration: defaults, then the file at path (NULL: none; with no state_dir
 * anywhere, AUTHD_DEFAULT_STATE_DIR), then state_dir and listen from the command line
 * (NULL: not given), then authd_cfg_finish. On error c is still safe to free and err
 * (errsz bytes) holds one line, "file:line: option: problem" where a line is known.
 * Returns 0, YH_ERR_IO (the file cannot be read), YH_ERR_CONFIG or YH_ERR_ALLOC.
 */
int authd_cfg_load(struct authd_cfg *c, const char *path, const char *state_dir,
    const char *listen, char *err, size_t errsz) YH_WUR;

/*
 * The signing algorithms c enables (keys.algs, with keys.alg added: TOK_ALGSET bits) and
 * the algorithm of an app that chose none (keys.alg), from c's option strings (so also
 * for authd_cfg_builtin). Returns 0 or YH_ERR_CONFIG with one line in err: an unknown
 * name, an empty list, RS256 missing (OpenID Connect Discovery requires it).
 */
int authd_cfg_key_algs(const struct authd_cfg *c, unsigned *algs, enum tok_alg *def,
    char *err, size_t errsz) YH_WUR;

/*
 * What the apply hooks of authd's reloadable options reach (the ctx of struct
 * yh_cfg_reload for authd_cfg_reload): the parts of the running daemon that copied an
 * option at start. This layer cannot name authd's HTTP server and session store, so
 * authd hands in functions for those (authd/reload.c). A NULL member: that part does not
 * run here, nothing to apply. log.* is applied to the process's logger directly.
 */
struct authd_cfg_targets {
	struct yh_audit *audit;   /* audit.checkpoint_lines/_interval */
	void *arg;                /* for the functions below */
	/* session.idle_timeout, session.absolute_timeout: of sessions created from now on */
	int (*sessions)(void *arg, int64_t idle_s, int64_t absolute_s, char *err,
	    size_t errsz);
	/* http.trusted_proxies (NULL: none) */
	int (*proxies)(void *arg, const char *list, char *err, size_t errsz);
};

/*
 * Reloads cur's configuration (SIGHUP): loads it into next from the same sources as cur
 * (its -c file, -d and -l as given then) and checks it completely (authd_cfg_load),
 * then hands both to yh_cfg_reload with rl (rl->ctx: a struct authd_cfg_targets), which
 * reports every changed IMMUTABLE option through rl->note and keeps it as in cur, and
 * applies every changed RELOADABLE one. Values derived at start (the issuer made from
 * the bound port, the thread count) are cur's. On 0, next describes what runs from now
 * on: the caller puts it in cur's place (and frees it with authd_cfg_free when done).
 * On error nothing was applied, next is safe to free and err (errsz bytes) holds one
 * line naming file:line where the file is at fault. Returns 0, YH_ERR_NOT_FOUND (authd
 * runs without a file: nothing to reload), YH_ERR_IO, YH_ERR_CONFIG, YH_ERR_ALLOC or a
 * hook's error.
 */
int authd_cfg_reload(const struct authd_cfg *cur, struct authd_cfg *next,
    struct yh_cfg_reload *rl, char *err, size_t errsz) YH_WUR;

/*
 * The path of a file of the state directory that an option may put elsewhere: opt (the
 * option's value) when set, else STATE_DIR/name. Returns a new string (free it), or NULL
 * when out of memory.
 */
char *authd_cfg_state_path(const struct authd_cfg *c, const char *opt, const char *name);

/*
 * Tells the configuration the port actually bound (differs from http.listen's only for
 * port 0): a derived issuer then names the real port. Returns 0 or YH_ERR_ALLOC.
 */
int authd_cfg_bound_port(struct authd_cfg *c, uint16_t port) YH_WUR;

/* Frees every string in c (safe on a zeroed or already freed struct). */
void authd_cfg_free(struct authd_cfg *c);

/*
 * Appends the configuration reference (every option with its type, default, bounds
 * and help) as Markdown to out; docs/operations.md embeds it.
 */
int authd_cfg_reference(struct yh_buf *out) YH_WUR;

#endif
