/*
 * authd: the daemon. Loads the configuration (embedded defaults when no -c), prepares
 * the state directory and the identity store (creating keys on first start), serves
 * HTTP until SIGTERM or SIGINT, then stops cleanly with exit status 0. Any startup
 * failure is one clear error line and a non-zero exit (1 for configuration, 2 for
 * everything else).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "authd/account/account.h"
#include "authd/appsync.h"
#include "authd/admin/admin.h"
#include "authd/counter/counter.h"
#include "authd/cas/cas.h"
#include "authcore/audit/audit.h"
#include "authcore/authd_config.h"
#include "authcore/layout.h"
#include "authcore/runas.h"
#include "authd/oidc/backchannel.h"
#include "authcore/clients/clients.h"
#include "authd/oidc/consent.h"
#include "authd/oidc/device.h"
#include "authd/control/control.h"
#include "authd/login/login.h"
#include "federation/upstream_oidc.h"
#include "authd/oidc/authorize.h"
#include "authd/oidc/token.h"
#include "authd/http/http.h"
#include "authd/keyd/client.h"
#include "authd/keyd/holder.h"
#include "authd/keyd/keys.h"
#include "common/metrics.h"
#include "authd/app.h"
#include "federation/registry.h"
#include "federation/sms.h"
#include "authd/notify.h"
#include "authd/reload.h"
#include "authd/session/sess.h"
#include "common/workers.h"
#include "common/log.h"
#include "common/secmem.h"
#include "identity/identity.h"
#include "token/keyring.h"

#ifndef YH_VERSION
#define YH_VERSION "0.1.0"
#endif

#define AUTHD_DRAIN_MS 2000   /* how long SIGTERM waits for requests in flight */
#define AUTHD_FD_RESERVE 256  /* descriptors besides connections: files, Redis, logout calls */
#define EXIT_CONFIG 1
#define EXIT_RUNTIME 2

struct args {
	const char *config, *state_dir, *listen;
	bool test, dump, reference;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: authd [-c FILE] [-d STATE_DIR] [-l ADDR:PORT] [-t | -T]\n"
	    "       authd --config-reference\n"
	    "  -c FILE       configuration file (default: embedded defaults)\n"
	    "  -d DIR        state directory (overrides state_dir; default ./state)\n"
	    "  -l ADDR:PORT  listen address (overrides http.listen; default %s)\n"
	    "  -t            check the configuration and exit\n"
	    "  -T            check the configuration, print the effective values and exit\n"
	    "  --config-reference  print every option as a Markdown table\n",
	    AUTHD_DEFAULT_LISTEN);
}

static int
parse_args(int argc, char **argv, struct args *a)
{
	memset(a, 0, sizeof(*a));
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];

		if (strcmp(o, "-t") == 0)
			a->test = true;
		else if (strcmp(o, "-T") == 0)
			a->test = a->dump = true;
		else if (strcmp(o, "--config-reference") == 0)
			a->reference = true;
		else if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
			usage(stdout);
			exit(0);
		} else if ((strcmp(o, "-c") == 0 || strcmp(o, "-d") == 0 ||
		    strcmp(o, "-l") == 0) && i + 1 < argc) {
			const char **slot = o[1] == 'c' ? &a->config :
			    o[1] == 'd' ? &a->state_dir : &a->listen;

			*slot = argv[++i];
		} else {
			fprintf(stderr, "authd: unknown or incomplete option '%s' (authd -h lists "
			    "them)\n", o);
			return -1;
		}
	}
	return 0;
}

/* Binds the listen socket (before anything is created on disk, so a busy port fails
 * early) but does not serve yet. */
static int
bind_http(const struct authd_cfg *cfg, struct mx_registry *mx, struct http_server **srv,
    char *err, size_t errsz)
{
	struct http_opts o = {
		.listen = cfg->http_listen,
		.threads = cfg->threads,
		.max_body = (size_t)cfg->http_max_body,
		.max_body_preauth = (size_t)cfg->http_max_body_preauth,
		.max_header = (size_t)cfg->http_max_header,
		.connection_timeout = (unsigned)cfg->http_connection_timeout,
		.head_timeout = (unsigned)cfg->http_head_timeout,
		.body_timeout = (unsigned)cfg->http_body_timeout,
		.max_connections = (unsigned)cfg->http_max_connections,
		.max_per_ip = (unsigned)cfg->http_max_connections_per_ip,
		.trusted_proxies = cfg->http_trusted_proxies,
		.tls_cert_file = cfg->tls_cert_file,
		.tls_key_file = cfg->tls_key_file,
		.metrics = mx,
	};

	return http_server_new(&o, srv, err, errsz);
}

/* Adds every endpoint family's routes and starts serving. */
static int
serve_http(struct http_server *srv, struct authd_app *app, char *err, size_t errsz)
{
	static const struct {
		const char *name;
		int (*fn)(struct http_server *, struct authd_app *);
	} families[] = {
		{ "health", routes_health_register },
		{ "discovery", oidc_discovery_register },
		{ "authorize", oidc_authorize_register },
		{ "token", oidc_token_register },
		{ "par", oidc_par_register },
		{ "userinfo", oidc_userinfo_register },
		{ "introspection", oidc_introspect_register },
		{ "cors", oidc_cors_register },
		{ "logout", oidc_logout_register },
		{ "login", login_register },
		{ "consent", consent_register },
		{ "device", oidc_device_register },
		{ "account", account_register },
		{ "counter", counter_register },
		{ "admin", admin_register },
		{ "cas", cas_register },
	};
	int r;

	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		if ((r = families[i].fn(srv, app)) != 0) {
			snprintf(err, errsz, "cannot register the %s routes: %s", families[i].name,
			    yh_strerror(r));
			return r;
		}
	return http_server_start(srv, err, errsz);
}

/* Blocks the signals we handle (before any thread starts) and returns a signalfd. */
static int
signals_setup(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);    /* keyd exited */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC);
}

/* SIGHUP: reloads what can change while running: the configuration file's reloadable
 * options (authd/reload.h; srv takes the trusted proxies), the keys rotated by authctl
 * and the clients. Each part that fails keeps its previous state and says so; the
 * summary line names only what of the keys and clients was really reloaded. */
static void
reload(struct authd_app *app, struct authd_reload *rl, struct http_server *srv)
{
	char err[512];
	bool ring_ok, clients_ok;

	authd_reload_config(rl, app, srv);    /* it logs what it did */
	login_crl_refresh(app->crl);          /* the CRLs by URL: fetched again now */
	ring_ok = tok_ring_reload(app->ring, err, sizeof(err)) == 0;
	if (!ring_ok)
		yh_error("SIGHUP: key ring not reloaded (the previous keys stay): %s", err);
	clients_ok = clients_reload(app->clients, err, sizeof(err)) == 0;
	if (!clients_ok)
		yh_error("SIGHUP: clients not reloaded (the previous list stays): %s", err);
	if (ring_ok && clients_ok)
		yh_info("SIGHUP: key ring and clients reloaded");
	else if (ring_ok || clients_ok)
		yh_warn("SIGHUP: only the %s reloaded", ring_ok ? "key ring" : "clients");
	else
		yh_warn("SIGHUP: nothing reloaded");
}

/* True (and logged) when the key holder has exited: the daemon cannot go on. */
static bool
keyd_gone(struct kdc *keyd)
{
	int st = 0;

	if (keyd == NULL || !kdc_exited(keyd, &st))
		return false;
	yh_error("the key holder keyd (pid %ld) exited (%s %d): stopping",
	    (long)kdc_pid(keyd), WIFSIGNALED(st) ? "signal" : "status",
	    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	return true;
}

/* Waits for SIGTERM/SIGINT; SIGHUP reloads the configuration, the key ring and the
 * clients (telling the service manager, authd/notify.h). With the service manager's
 * watchdog on, pings it at half its interval while keyd lives. Returns 0, or -1 when the
 * key holder exited (SIGCHLD) or the signals cannot be read. */
static int
wait_for_stop(int sfd, struct authd_app *app, struct kdc *keyd, struct authd_reload *rl,
    struct http_server *srv)
{
	struct signalfd_siginfo si;
	struct pollfd pfd = { .fd = sfd, .events = POLLIN };
	int every = svc_watchdog_every_ms();

	for (;;) {
		ssize_t n;
		int p = poll(&pfd, 1, every > 0 ? every : -1);

		if (p < 0 && errno == EINTR)
			continue;
		if (p == 0) {             /* the watchdog's turn: alive, and so is keyd */
			if (keyd_gone(keyd))
				return -1;
			svc_watchdog_ping();
			continue;
		}
		n = read(sfd, &si, sizeof(si));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(si)) {
			yh_error("signalfd read failed: %s", n < 0 ? strerror(errno) : "short read");
			return -1;
		}
		if (si.ssi_signo == SIGHUP) {
			svc_notify_reloading();
			reload(app, rl, srv);
			svc_notify_ready(NULL);
			continue;
		}
		if (si.ssi_signo == SIGCHLD) {
			if (keyd_gone(keyd))
				return -1;
			continue;
		}
		yh_info("%s received, stopping", si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
		return 0;
	}
}

static int
print_reference(void)
{
	struct yh_buf b;
	int r;

	yh_buf_init(&b, 1024 * 1024);
	if ((r = authd_cfg_reference(&b)) == 0)
		fputs(yh_buf_cstr(&b), stdout);
	yh_buf_free(&b);
	return r == 0 ? 0 : EXIT_RUNTIME;
}

/* True when the HTTP process switches to `user`: configured, and authd started as root.
 * With `user` but another starting uid, says what that means (once, at start). */
static bool
splits_uid(const struct authd_cfg *cfg, bool say)
{
	if (!cfg->run_as.set)
		return false;
	if (geteuid() == 0)
		return true;
	if (say)
		yh_log_msg(geteuid() == cfg->run_as.uid ? YH_LOG_INFO : YH_LOG_WARN, __FILE__,
		    __LINE__, __func__, "user = %s: authd was not started as root, so both "
		    "processes run as uid %u and the HTTP process can read the key files", cfg->user,
		    (unsigned)geteuid());
	return false;
}

/* authd -t: each OpenID Connect upstream's discovery and JWKS, fetched once; one that
 * fails is a warning (authd starts with its button hidden), not an error. */
static void
check_upstreams(const struct authd_cfg *cfg)
{
	char why[512];

	for (size_t i = 0; i < cfg->upstreams.n; i++) {
		const struct fed_up_cfg *u = cfg->upstreams.up[i];
		struct fed_oidc *o = NULL;

		if (strcmp(u->kind, "oidc") != 0 || fed_oidc_new(u, "", &o) != 0)
			continue;
		if (fed_oidc_discover(o, true, why, sizeof(why)) != 0)
			yh_warn("upstream.%s: discovery failed (its login button stays hidden until "
			    "it succeeds): %s", u->name, why);
		fed_oidc_free(o);
	}
}

static int
check_only(const struct authd_cfg *cfg, bool dump)
{
	char err[1024];
	struct yh_buf b;
	int r = 0;

	/* The apps' secret files are read by the HTTP process: check them as its account. */
	if (splits_uid(cfg, false) && runas_become(&cfg->run_as, err, sizeof(err)) != 0) {
		yh_error("%s", err);
		return EXIT_RUNTIME;
	}
	if (cfg->clients_file != NULL && cfg->clients_file[0] != '\0' &&
	    clients_check_file(cfg->clients_file, err, sizeof(err)) != 0) {
		yh_error("%s", err);
		return EXIT_CONFIG;
	}
	check_upstreams(cfg);
	if (dump) {
		yh_buf_init(&b, 1024 * 1024);
		if ((r = yh_cfg_dump(authd_cfg_opts, cfg, &b)) == 0)
			fputs(yh_buf_cstr(&b), stdout);
		yh_buf_free(&b);
	}
	printf("configuration ok\n");
	return r == 0 ? 0 : EXIT_RUNTIME;
}

static void
setup_logging(const struct authd_cfg *cfg)
{
	enum yh_log_level lvl = YH_LOG_INFO;

	if (yh_log_level_parse(cfg->log_level, &lvl) == 0)
		yh_log_set_level(lvl);
	yh_log_set_json(strcmp(cfg->log_format, "json") == 0);
}

/* keyd's work channels: one per thread that may call at once (HTTP threads, workers,
 * and the main, audit timer, back-channel, sweeper and operator threads); none without
 * keyd. */
static unsigned
keyd_channels(const struct authd_cfg *cfg)
{
	unsigned n = cfg->threads + (unsigned)cfg->worker_threads + 16;

	if (cfg->keys_in_process)
		return 0;
	return n > 1024 ? 1024 : n;
}

/*
 * Each HTTP connection is a descriptor: raises the open-file soft limit to what
 * http.max_connections needs (never past the hard limit), and warns when even the hard
 * limit is short (accept then fails with EMFILE and clients wait in the backlog).
 */
static void
fit_fd_limit(const struct authd_cfg *cfg)
{
	rlim_t want = (rlim_t)cfg->http_max_connections + AUTHD_FD_RESERVE +
	    2 * (rlim_t)cfg->threads +   /* each HTTP thread's epoll and wake-up descriptors */
	    keyd_channels(cfg) + 1;      /* keyd's channels and its control channel */
	struct rlimit rl;
	rlim_t was;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	was = rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ? rl.rlim_max : want;
	if (rl.rlim_cur > was && setrlimit(RLIMIT_NOFILE, &rl) == 0)
		yh_info("raised the open-file limit from %llu to %llu for http.max_connections",
		    (unsigned long long)was, (unsigned long long)rl.rlim_cur);
	else
		rl.rlim_cur = was;
	if (rl.rlim_cur < want)
		yh_warn("http.max_connections = %lld needs about %llu open files, but the limit "
		    "is %llu: connections past it wait in the listen backlog; raise the hard "
		    "limit (systemd: LimitNOFILE=)", (long long)cfg->http_max_connections,
		    (unsigned long long)want, (unsigned long long)rl.rlim_cur);
}

/* Everything the running daemon holds; released by daemon_stop. */
struct daemon {
	struct authd_cfg cfg;
	struct authd_app app;
	struct http_server *srv;
	struct ident *ident;
	struct bcl *bcl;
	struct control *ctl;
	struct kdc *keyd;                /* the key holder (NULL with keys.in_process) */
	struct vault *vault;             /* until the directory takes it */
	struct authd_reload reload;      /* configurations SIGHUP loaded */
	struct appsync *appsync;         /* the registry shared through an LDAP directory */
	char audit_kid[YH_AUDIT_KID_LEN + 1];  /* the checkpoint key's id */
	int sfd;
	bool served;
};

static int
open_sessions(struct daemon *d, char *err, size_t errsz)
{
	struct sess_config sc;
	int r;

	sess_config_defaults(&sc);
	sc.backend = strcmp(d->cfg.session_backend, "redis") == 0 ? SESS_BACKEND_REDIS :
	    SESS_BACKEND_MEMORY;
	sc.idle_timeout_s = d->cfg.session_idle;
	sc.absolute_timeout_s = d->cfg.session_absolute;
	sc.redis_host = d->cfg.redis_host;
	sc.redis_port = (int)d->cfg.redis_port;
	sc.redis_password = d->cfg.redis_password;
	sc.redis_db = (int)d->cfg.redis_db;
	sc.prefix = d->cfg.redis_prefix;
	sc.redis_sentinels = d->cfg.redis_sentinels;
	sc.redis_master = d->cfg.redis_master;
	/* Ended sessions (logout, expiry, account page, operator) reach every app of the
	 * session through back-channel logout. */
	sc.on_event = bcl_on_session_event;
	sc.metrics = d->app.metrics;
	sc.event_ctx = d->bcl;
	if ((r = sess_open(&sc, &d->app.sess)) != 0) {
		snprintf(err, errsz, "cannot open the session store (%s): %s",
		    d->cfg.session_backend, yh_strerror(r));
		return r;
	}
	if (sc.backend == SESS_BACKEND_REDIS &&
	    (r = authd_add_check(&d->app, "redis", sess_check, d->app.sess)) != 0) {
		snprintf(err, errsz, "cannot add the redis check: %s", yh_strerror(r));
		return r;
	}
	return 0;
}

/* The back-channel logout deliverer (needs the final issuer, keys, clients, audit). */
static int
open_bcl(struct daemon *d, char *err, size_t errsz)
{
	struct bcl_config bc;
	int r;

	bcl_config_defaults(&bc);
	bc.issuer = d->app.issuer;
	bc.ring = d->app.ring;
	bc.default_alg = d->cfg.key_default_alg;
	bc.clients = d->app.clients;
	bc.audit = d->app.audit;
	bc.metrics = d->app.metrics;
	bc.keys = d->app.keys;
	bc.dir = d->app.dir;
	if ((r = bcl_new(&bc, &d->bcl)) != 0)
		snprintf(err, errsz, "cannot start back-channel logout: %s", yh_strerror(r));
	d->app.bcl = d->bcl;
	return r;
}

/*
 * The audit log and its checkpoints: tagged by the audit key (keys_audit_mac: the key
 * holder has the key), the timer, and a checkpoint now, covering what authctl wrote
 * while no authd ran.
 */
static int
open_audit(struct daemon *d, char *err, size_t errsz)
{
	struct yh_audit_cp_opts o = {
		.every_lines = (uint64_t)d->cfg.audit_cp_lines,
		.every_ms = d->cfg.audit_cp_interval * 1000,
		.kid = d->audit_kid,
		.mac = keys_audit_mac,
		.mac_ctx = d->app.keys,
	};
	char *path;
	int r = YH_ERR_ALLOC;

	d->app.audit_kid = d->audit_kid;
	if ((path = authd_cfg_state_path(&d->cfg, d->cfg.audit_file, "audit.log")) == NULL)
		goto out;
	if ((r = yh_audit_open(path, &d->app.audit, err, errsz)) != 0 ||
	    (r = yh_audit_checkpoints(d->app.audit, &o, err, errsz)) != 0)
		goto out;
	if ((r = yh_audit_set_commit_window(d->app.audit, d->cfg.audit_window_us)) != 0) {
		snprintf(err, errsz, "audit.commit_window_us: %s", yh_strerror(r));
		goto out;
	}
	if ((r = yh_audit_metrics(d->app.audit, d->app.metrics)) != 0) {
		snprintf(err, errsz, "cannot add the audit log's metrics: %s", yh_strerror(r));
		goto out;
	}
	if ((r = yh_audit_checkpoint(d->app.audit)) != 0) {
		snprintf(err, errsz, "%s: cannot write a checkpoint: %s", path,
		    r == YH_ERR_AUTH ? "its last line is cut short or not an audit line (see "
		    "authctl audit verify)" : yh_strerror(r));
		goto out;
	}
	yh_info("audit log %s: checkpoints tagged with key %s", path, d->audit_kid);
out:
	free(path);
	return r;
}

/*
 * The keys, before any thread starts: keyd is forked and loads them (the vault, the ring
 * and the keys of this process are served by it), or with keys.in_process they are
 * loaded here. Either way the vault waits in d->vault for the directory.
 */
static int
open_keys(struct daemon *d, char *err, size_t errsz)
{
	struct kh *kh = NULL;
	int r;

	if (!d->cfg.keys_in_process) {
		if ((r = kdc_spawn(&d->cfg, keyd_channels(&d->cfg), &d->keyd, err, errsz)) != 0)
			return r;
		snprintf(d->audit_kid, sizeof(d->audit_kid), "%s", kdc_audit_kid(d->keyd));
		if ((r = kdc_vault(d->keyd, &d->vault)) != 0 ||
		    (r = kdc_keys(d->keyd, &d->app.keys)) != 0) {
			snprintf(err, errsz, "cannot reach the keys held by keyd: %s", yh_strerror(r));
			return r;
		}
		if ((r = kdc_metrics(d->keyd, d->app.metrics)) != 0) {
			snprintf(err, errsz, "cannot add keyd's metrics: %s", yh_strerror(r));
			return r;
		}
		return kdc_ring(d->keyd, &d->app.ring, err, errsz);
	}
	yh_warn("keys.in_process = yes: the keys are in the HTTP process (for measurement "
	    "and diagnosis only)");
	if ((r = kh_open(&d->cfg, &kh, err, errsz)) != 0)
		return r;
	d->vault = kh->vault;
	d->app.keys = kh->keys;
	d->app.ring = kh->ring;
	kh->vault = NULL;
	kh->keys = NULL;
	kh->ring = NULL;
	snprintf(d->audit_kid, sizeof(d->audit_kid), "%s", kh->audit_kid);
	kh_free(kh);
	return 0;
}

/* Under `user`, before keyd starts: the state directory root's, the account's group,
 * mode 1770 (made on first start). */
static int
prepare_state(struct daemon *d, char *err, size_t errsz)
{
	bool changed = false;
	int r;

	if ((r = layout_prepare(&d->cfg, true, &changed, err, errsz)) == 0 && changed)
		yh_info("state directory %s: owner uid %u, group %u, mode 1770 (user = %s)",
		    d->cfg.ident.state_dir, (unsigned)geteuid(), (unsigned)d->cfg.run_as.gid,
		    d->cfg.user);
	return r;
}

/*
 * Under `user`, once keyd holds the keys and before anything is opened for the endpoints:
 * the files the HTTP process writes become the account's (layout_repair), the process
 * becomes the account for good (runas_become), and the account must reach and write the
 * state directory.
 */
static int
drop_root(struct daemon *d, char *err, size_t errsz)
{
	const struct runas *u = &d->cfg.run_as;
	unsigned changed = 0;
	int r;

	if ((r = layout_repair(&d->cfg, &changed, err, errsz)) != 0)
		return r;
	if (changed > 0)
		yh_info("gave %u file(s) of the state to uid %u gid %u (user = %s)", changed,
		    (unsigned)u->uid, (unsigned)u->gid, d->cfg.user);
	if ((r = runas_become(u, err, errsz)) != 0)
		return r;
	if (access(d->cfg.ident.state_dir, R_OK | W_OK | X_OK) != 0) {
		snprintf(err, errsz, "state directory %s: %s for uid %u (user = %s): every "
		    "directory above it must let that account through", d->cfg.ident.state_dir,
		    strerror(errno), (unsigned)u->uid, d->cfg.user);
		return YH_ERR_PERM;
	}
	yh_info("the HTTP process runs as uid %u gid %u; keyd (pid %ld) keeps uid 0 and the "
	    "key files", (unsigned)u->uid, (unsigned)u->gid, (long)kdc_pid(d->keyd));
	return 0;
}

/* Opens everything the endpoints share: sessions, clients, audit, workers. */
static int
open_app(struct daemon *d, char *err, size_t errsz)
{
	struct clients_opts co = { .create = true };
	int r;

	d->app.ident = d->ident;
	d->app.issuer = d->cfg.issuer;
	co.apps_file = d->cfg.clients_file;
	co.token_algs = d->cfg.key_algs;
	co.hasher = d->keyd != NULL ? kdc_hasher(d->keyd) : NULL;
	/* On an LDAP directory the registry is shared as one LDAP value (authd/appsync.h). */
	if (strcmp(d->cfg.ident.directory_backend, "ldap") == 0)
		co.file_max = (size_t)d->cfg.ident.ldap_value_max;
	if (d->cfg.run_as.set) {        /* the console writes clients.json as the account */
		co.group = d->cfg.run_as.gid;
		co.owner = d->cfg.run_as.uid;
	}
	if ((r = clients_open(d->cfg.ident.state_dir, &co, &d->app.clients, err, errsz)) != 0)
		return r;
	if ((r = open_audit(d, err, errsz)) != 0)
		return r;
	if ((r = authd_add_check(&d->app, "audit", authd_check_audit, d->app.audit)) != 0) {
		snprintf(err, errsz, "cannot add the audit check: %s", yh_strerror(r));
		return r;
	}
	if ((r = wk_pool_new((unsigned)d->cfg.worker_threads, (size_t)d->cfg.worker_queue,
	    (int)d->cfg.worker_nice, &d->app.workers)) != 0) {
		snprintf(err, errsz, "cannot start the worker pool: %s", yh_strerror(r));
		return r;
	}
	if ((r = wk_pool_limit_wait(d->app.workers, d->cfg.worker_max_wait * 1000, NULL)) != 0) {
		snprintf(err, errsz, "cannot bound the worker pool's wait: %s", yh_strerror(r));
		return r;
	}
	if ((r = wk_pool_metrics(d->app.workers, d->app.metrics)) != 0) {
		snprintf(err, errsz, "cannot add the worker pool's metrics: %s", yh_strerror(r));
		return r;
	}
	if ((r = open_bcl(d, err, errsz)) != 0)
		return r;
	/* After the switch: the credentials files are the HTTP account's to read. */
	if ((r = fed_reg_new(&d->cfg.registry, d->app.metrics, &d->app.registry, err,
	    errsz)) != 0)
		return r;
	if ((r = fed_sms_new(&d->cfg.sms, &d->app.sms, err, errsz)) != 0)
		return r;
	/* Each upstream's discovery is tried now; one that fails is a warning. */
	if ((r = login_ups_new(&d->app, &d->cfg, &d->app.ups, err, errsz)) != 0)
		return r;
	return open_sessions(d, err, errsz);
}

/* Binds the port, opens the identity core and starts serving. err gets one line. */
static int
daemon_start(struct daemon *d, char *err, size_t errsz)
{
	int r;

	if ((r = mx_registry_new(&d->app.metrics)) != 0 ||
	    (r = mx_register_process(d->app.metrics, YH_VERSION)) != 0) {
		snprintf(err, errsz, "cannot set up metrics: %s", yh_strerror(r));
		return r;
	}
	if ((r = bind_http(&d->cfg, d->app.metrics, &d->srv, err, errsz)) != 0)
		return r;
	if ((r = authd_cfg_bound_port(&d->cfg, http_server_port(d->srv))) != 0) {
		snprintf(err, errsz, "%s", yh_strerror(r));
		return r;
	}
	if (splits_uid(&d->cfg, true) && (r = prepare_state(d, err, errsz)) != 0)
		return r;
	/* Creates the state directory (0700), the vault key and the subject key on first
	 * start; refuses a directory whose vault key file is missing. */
	if ((r = open_keys(d, err, errsz)) != 0)
		return r;
	/* Root is needed no more: binding, the TLS key, keyd and the owners are done. */
	if (splits_uid(&d->cfg, false) && (r = drop_root(d, err, errsz)) != 0)
		return r;
	r = ident_open_dir(&d->cfg.ident, true, d->vault, &d->ident, err, errsz);
	d->vault = NULL;    /* the directory's now, or closed */
	if (r != 0)
		return r;
	d->app.cfg = &d->cfg;
	d->app.dir = d->ident->dir;
	if ((r = authd_add_check(&d->app, "directory", authd_check_directory,
	    d->app.dir)) != 0) {
		snprintf(err, errsz, "cannot add the directory check: %s", yh_strerror(r));
		return r;
	}
	if ((r = open_app(d, err, errsz)) != 0)
		return r;
	/* On an LDAP directory the nodes share it, and through it the app registry and
	 * their public signing keys. */
	if (strcmp(d->cfg.ident.directory_backend, "ldap") == 0 &&
	    (r = appsync_start(d->app.dir, d->app.clients, d->app.ring, d->app.keys,
	    d->cfg.ident.state_dir, (size_t)d->cfg.ident.ldap_value_max, APPSYNC_INTERVAL_MS, &d->appsync, err, errsz)) != 0)
		return r;
	if ((r = serve_http(d->srv, &d->app, err, errsz)) != 0)
		return r;
	if ((r = login_crl_start(&d->app, &d->app.crl)) != 0) {
		snprintf(err, errsz, "cannot start the CRL fetcher: %s", yh_strerror(r));
		return r;
	}
	/* The operator's way to the sessions (authctl user logout/lock/deregister). */
	r = control_start(&d->app, d->cfg.ident.state_dir, &d->ctl, err, errsz);
	if (r == YH_ERR_EXISTS) {
		yh_warn("%s: authctl reaches the sessions through that process", err);
		r = 0;
	}
	return r;
}

/* Finishes requests in flight (bounded), then releases everything. */
static void
daemon_stop(struct daemon *d)
{
	unsigned left;
	int st;

	/* First: it uses the sessions and the audit trail. */
	control_stop(d->ctl);
	d->ctl = NULL;
	login_crl_stop(d->app.crl);
	d->app.crl = NULL;
	if (d->served)
		http_server_quiesce(d->srv);
	/* Stopping the pool runs the queued jobs, which resume their suspended requests. */
	wk_pool_stop(d->app.workers);
	if (d->served && (left = http_server_drain(d->srv, AUTHD_DRAIN_MS)) > 0)
		yh_info("closing %u idle or slow connections", left);
	/* The signatures queued for keyd's batches are answered (a grant waits for its
	 * signature and its audit line), and later ones are made at once; then the audit
	 * writer resumes the token responses it still holds, and later grants are refused
	 * (503): http_server_free must not free a held request that the signers or the
	 * writer would resume afterwards. */
	if (d->keyd != NULL)
		kdc_sign_settle(d->keyd);
	yh_audit_settle(d->app.audit);
	http_server_free(d->srv);
	wk_pool_free(d->app.workers);
	sess_close(d->app.sess);
	/* Deliveries in flight get a moment; bcl reads the ring, clients and audit. */
	bcl_drain(d->bcl, AUTHD_DRAIN_MS);
	bcl_free(d->bcl);
	fed_reg_free(d->app.registry);
	fed_sms_free(d->app.sms);
	login_ups_free(d->app.ups);
	appsync_stop(d->appsync);
	d->appsync = NULL;
	clients_close(d->app.clients);
	tok_ring_free(d->app.ring);
	yh_audit_close(d->app.audit);
	keys_free(d->app.keys);
	ident_close(d->ident);
	vault_close(d->vault);
	/* Last: everything above may have asked it for a signature or a MAC. */
	if (d->keyd != NULL && (st = kdc_close(d->keyd)) != 0)
		yh_warn("the key holder keyd ended with wait status %d", st);
	mx_registry_free(d->app.metrics);
	authd_cfg_free(&d->cfg);
	authd_reload_free(&d->reload);
	if (d->sfd >= 0)
		close(d->sfd);
	if (d->served)
		yh_info("stopped");
}

int
main(int argc, char **argv)
{
	struct daemon d;
	char err[1024];
	struct args a;
	int rc = EXIT_RUNTIME;

	memset(&d, 0, sizeof(d));
	d.sfd = -1;
	yh_log_set_prog("authd");
	yh_log_set_json(false);
	if (parse_args(argc, argv, &a) != 0)
		return EXIT_CONFIG;
	if (a.reference)
		return print_reference();
	if (authd_cfg_load(&d.cfg, a.config, a.state_dir, a.listen, err, sizeof(err)) != 0) {
		yh_error("%s", err);
		rc = EXIT_CONFIG;
		goto out;
	}
	if (a.test) {
		rc = check_only(&d.cfg, a.dump);
		goto out;
	}
	setup_logging(&d.cfg);
	fit_fd_limit(&d.cfg);
	umask(077);
	/* Before any thread exists, so that every thread inherits the blocked mask. */
	if ((d.sfd = signals_setup()) < 0) {
		yh_error("cannot set up signal handling: %s", strerror(errno));
		goto out;
	}
	if (daemon_start(&d, err, sizeof(err)) != 0) {
		yh_error("%s", err);
		goto out;
	}
	yh_info("authd %s listening on %s (port %u, %u threads%s); issuer %s; state %s",
	    YH_VERSION, d.cfg.http_listen, (unsigned)http_server_port(d.srv), d.cfg.threads,
	    http_server_tls(d.srv) ? ", TLS" : "", d.cfg.issuer, d.cfg.ident.state_dir);
	d.served = true;
	snprintf(err, sizeof(err), "serving on %s, issuer %s", d.cfg.http_listen, d.cfg.issuer);
	svc_notify_ready(err);
	rc = wait_for_stop(d.sfd, &d.app, d.keyd, &d.reload, d.srv) == 0 ? 0 : EXIT_RUNTIME;
	svc_notify_stopping();
out:
	daemon_stop(&d);
	return rc;
}
