/* Opening an LDAP connection within a deadline (ldap_io.h). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "identity/dir/ldap_io.h"

/*
 * One handle's watch. libldap keeps the callback's address until the handle is freed,
 * so it lives on the heap and is freed by the callback's last call (lc_del without a
 * Sockbuf, just before the handle goes).
 */
struct watch {
	struct ldap_conncb cb;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int fd;                 /* the socket of the connection, once connected; -1 */
	bool done, fired;
	int64_t each_ms;        /* the time each connection (each URI) has */
	struct timespec at;     /* CLOCK_MONOTONIC deadline of the current connection */
};

/* w->at = now + w->each_ms. Called with w->mu held (or before the watchdog runs). */
static void
watch_restart(struct watch *w)
{
	clock_gettime(CLOCK_MONOTONIC, &w->at);
	w->at.tv_sec += (time_t)(w->each_ms / 1000);
	w->at.tv_nsec += (long)(w->each_ms % 1000) * 1000000L;
	if (w->at.tv_nsec >= 1000000000L) {
		w->at.tv_sec++;
		w->at.tv_nsec -= 1000000000L;
	}
}

static int
watch_add(LDAP *ld, Sockbuf *sb, LDAPURLDesc *srv, struct sockaddr *addr,
    struct ldap_conncb *ctx)
{
	struct watch *w = ctx->lc_arg;
	ber_socket_t fd = -1;

	(void)ld;
	(void)srv;
	(void)addr;
	if (ber_sockbuf_ctrl(sb, LBER_SB_OPT_GET_FD, &fd) != 1)
		fd = -1;
	pthread_mutex_lock(&w->mu);
	/* A new connection (the next URI of the list, after one that stalled) has its own
	 * time: the watchdog waits for it anew. */
	w->fd = fd;
	w->fired = false;
	watch_restart(w);
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

static void
watch_del(LDAP *ld, Sockbuf *sb, struct ldap_conncb *ctx)
{
	struct watch *w = ctx->lc_arg;

	(void)ld;
	if (sb != NULL) {
		pthread_mutex_lock(&w->mu);
		w->fd = -1;
		pthread_mutex_unlock(&w->mu);
		return;
	}
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

/* True once CLOCK_MONOTONIC is at or past at (a timed wait's ETIMEDOUT may be for a
 * deadline a new connection has moved since). */
static bool
past(const struct timespec *at)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > at->tv_sec || (now.tv_sec == at->tv_sec && now.tv_nsec >= at->tv_nsec);
}

static void *
watchdog(void *arg)
{
	struct watch *w = arg;
	int rc = 0;

	pthread_mutex_lock(&w->mu);
	while (!w->done) {
		/* fired: nothing to time until a next connection restarts the clock */
		rc = w->fired ? pthread_cond_wait(&w->cond, &w->mu) :
		    pthread_cond_timedwait(&w->cond, &w->mu, &w->at);
		if (rc == ETIMEDOUT && !w->done && !w->fired && past(&w->at)) {
			/* this connection's time is up: end it (a next one restarts the clock) */
			w->fired = true;
			if (w->fd >= 0)
				(void)shutdown(w->fd, SHUT_RDWR);
		}
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int
ldap_io_connect(LDAP *ld, bool starttls, int64_t deadline_ms)
{
	struct watch *w = calloc(1, sizeof(*w));
	pthread_condattr_t ca;
	pthread_t t;
	bool fired;
	int rc;

	if (deadline_ms <= 0) {   /* no deadline asked */
		free(w);
		rc = ldap_connect(ld);
		return rc == LDAP_SUCCESS && starttls ? ldap_start_tls_s(ld, NULL, NULL) : rc;
	}
	if (w == NULL)
		return LDAP_NO_MEMORY;
	w->fd = -1;
	w->cb = (struct ldap_conncb){ watch_add, watch_del, w };
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &ca);
	pthread_condattr_destroy(&ca);
	w->each_ms = deadline_ms;
	watch_restart(w);
	if ((rc = ldap_set_option(ld, LDAP_OPT_CONNECT_CB, &w->cb)) != LDAP_OPT_SUCCESS) {
		watch_del(ld, NULL, &w->cb);
		return rc;
	}
	/* From here the handle owns w (watch_del frees it with the handle). */
	if (pthread_create(&t, NULL, watchdog, w) != 0)
		return LDAP_LOCAL_ERROR;
	rc = ldap_connect(ld);
	if (rc == LDAP_SUCCESS && starttls) {
		pthread_mutex_lock(&w->mu);
		fired = w->fired;
		watch_restart(w);   /* StartTLS has its own time on the connection made */
		pthread_cond_signal(&w->cond);
		pthread_mutex_unlock(&w->mu);
		rc = fired ? LDAP_TIMEOUT : ldap_start_tls_s(ld, NULL, NULL);
	}
	pthread_mutex_lock(&w->mu);
	w->done = true;
	fired = w->fired;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->mu);
	pthread_join(t, NULL);
	return fired ? LDAP_TIMEOUT : rc;
}
