/*
 * authd: the daemon. Loads the configuration (embedded defaults when no -c), prepares
 * the state directory and the identity store (creating keys on first start), serves
 * HTTP until SIGTERM or SIGINT, then stops cleanly with exit status 0. Any startup
 * failure is one clear error line and a non-zero exit (1 for configuration, 2 for
 * everything else).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "authd/authd_config.h"
#include "authd/http.h"
#include "authd/metrics.h"
#include "authd/routes.h"
#include "common/log.h"
#include "identity/identity.h"

#ifndef YH_VERSION
#define YH_VERSION "0.1.0"
#endif

#define AUTHD_DRAIN_MS 2000   /* how long SIGTERM waits for requests in flight */
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
		.max_header = (size_t)cfg->http_max_header,
		.connection_timeout = (unsigned)cfg->http_connection_timeout,
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
	int r;

	if ((r = routes_health_register(srv, app)) != 0) {
		snprintf(err, errsz, "cannot register routes: %s", yh_strerror(r));
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
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC);
}

/* Waits for SIGTERM/SIGINT; SIGHUP is reserved for reloading (logged for now). */
static void
wait_for_stop(int sfd)
{
	struct signalfd_siginfo si;

	for (;;) {
		ssize_t n = read(sfd, &si, sizeof(si));

		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(si)) {
			yh_error("signalfd read failed: %s", n < 0 ? strerror(errno) : "short read");
			return;
		}
		if (si.ssi_signo == SIGHUP) {
			yh_info("SIGHUP received: configuration reload is not implemented yet");
			continue;
		}
		yh_info("%s received, stopping", si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
		return;
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

static int
check_only(const struct authd_cfg *cfg, bool dump)
{
	struct yh_buf b;
	int r = 0;

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

/* Everything the running daemon holds; released by daemon_stop. */
struct daemon {
	struct authd_cfg cfg;
	struct authd_app app;
	struct http_server *srv;
	struct ident *ident;
	int sfd;
	bool served;
};

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
	/* Creates the state directory (0700) and the vault key on first start; refuses a
	 * directory whose key file is missing. */
	if ((r = ident_open(&d->cfg.ident, true, &d->ident, err, errsz)) != 0)
		return r;
	d->app.cfg = &d->cfg;
	d->app.dir = d->ident->dir;
	if ((r = authd_add_check(&d->app, "directory", authd_check_directory,
	    d->app.dir)) != 0) {
		snprintf(err, errsz, "cannot add the directory check: %s", yh_strerror(r));
		return r;
	}
	return serve_http(d->srv, &d->app, err, errsz);
}

/* Finishes requests in flight (bounded), then releases everything. */
static void
daemon_stop(struct daemon *d)
{
	unsigned left;

	if (d->served) {
		http_server_quiesce(d->srv);
		if ((left = http_server_drain(d->srv, AUTHD_DRAIN_MS)) > 0)
			yh_info("closing %u idle or slow connections", left);
	}
	http_server_free(d->srv);
	ident_close(d->ident);
	mx_registry_free(d->app.metrics);
	authd_cfg_free(&d->cfg);
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
	wait_for_stop(d.sfd);
	rc = 0;
out:
	daemon_stop(&d);
	return rc;
}
