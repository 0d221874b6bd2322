/*
 * What authd's endpoint families share, and how each one joins the server. Every family
 * lives in its room (authd/login/, authd/oidc/, authd/account/, health.c, ...) and
 * exports one register function that adds its routes with http_routes_add(srv, routes,
 * app). Handlers reach everything through the struct authd_app they are given as arg;
 * main.c builds it once at start, and it outlives the HTTP server. Fields are set before
 * the server starts and only read afterwards (the objects they point to are thread-safe
 * themselves), except cfg, which a SIGHUP's reload replaces.
 */
#ifndef YH_AUTHD_APP_H
#define YH_AUTHD_APP_H

#include <stddef.h>

#include "authcore/authd_config.h"
#include "authd/http/http.h"
#include "common/metrics.h"
#include "common/err.h"
#include "identity/identity.h"

struct dir;
struct wk_pool;

/*
 * A readiness check for /readyz: returns 0 when the dependency answers, else a negative
 * YH_ERR_* with a short reason (no secrets, no personal data) in reason. Checks run on
 * the HTTP thread and must be cheap (one round trip, with the dependency's own timeout).
 */
typedef int (*authd_check_fn)(void *ctx, char *reason, size_t reasonsz);

#define AUTHD_MAX_CHECKS 8

struct authd_check {
	const char *name;      /* "directory", later "redis", ... (static storage) */
	authd_check_fn fn;
	void *ctx;
};

struct ident;
struct tok_ring;
struct sess_store;
struct clients_registry;
struct yh_audit;
struct wk_pool;
struct keys;
struct bcl;
struct fed_reg;
struct fed_sms;
struct login_ups;

struct authd_app {
	/* The configuration in force: a reload (authd/reload.c) puts a new one here while
	 * handlers run, hence atomic; read it once per use and keep that pointer (each
	 * configuration stays valid until the daemon stops). */
	const struct authd_cfg *_Atomic cfg;
	struct mx_registry *metrics;
	struct dir *dir;                 /* the directory (identity/dir/dir.h) */
	struct ident *ident;             /* vault + directory + password cost (identity.h) */
	struct tok_ring *ring;           /* signing keys, JWKS (token/keyring.h) */
	struct sess_store *sess;         /* sessions and one-time artefacts (authd/session/sess.h) */
	struct clients_registry *clients; /* registered apps (authcore/clients/clients.h) */
	struct yh_audit *audit;          /* the audit trail (authcore/audit/audit.h) */
	struct wk_pool *workers;         /* slow work off the HTTP threads (common/workers.h) */
	const char *issuer;              /* no trailing slash; owned by cfg */
	struct keys *keys;               /* pairwise sub, form MACs, user refs (keyd/keys.h) */
	const char *audit_kid;           /* the audit key's id: keys_audit_mac over keys tags
	                                  * the checkpoints; NULL: not known */
	struct bcl *bcl;                 /* back-channel logout (authd/oidc/backchannel.h) */
	struct login_crl *crl;           /* the CRLs fetched by URL (authd/login/login.h) */
	struct fed_reg *registry;        /* the registries (federation/registry.h) */
	struct fed_sms *sms;             /* the SMS gateway (federation/sms.h); NULL: none */
	struct login_ups *ups;           /* upstream identity providers (authd/login/login.h);
	                                  * NULL: none */
	struct authd_check checks[AUTHD_MAX_CHECKS];
	size_t nchecks;
};

/*
 * Adds a readiness check (before the server starts). Returns 0 or YH_ERR_LIMIT.
 */
int authd_add_check(struct authd_app *app, const char *name, authd_check_fn fn, void *ctx) YH_WUR;

/* The directory's readiness check (ctx is a struct dir *): dir_ping. */
int authd_check_directory(void *ctx, char *reason, size_t reasonsz);

/* The audit trail's readiness check (ctx is a struct yh_audit *): its file system can
 * take more lines (yh_audit_room). */
int authd_check_audit(void *ctx, char *reason, size_t reasonsz);

/* health.c: GET /healthz, GET /readyz, GET /metrics. */
int routes_health_register(struct http_server *srv, struct authd_app *app) YH_WUR;

#endif
