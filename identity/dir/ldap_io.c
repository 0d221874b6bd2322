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
	struct timespec at;     /* CLOCK_MONOTONIC deadline */
};

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
	w->fd = fd;
	/* a connection made after the deadline (the next URI of the list) goes too */
	if (w->fired && fd >= 0)
		(void)shutdown(fd, SHUT_RDWR);
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

static void *
watchdog(void *arg)
{
	struct watch *w = arg;
	int rc = 0;

	pthread_mutex_lock(&w->mu);
	while (!w->done && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&w->cond, &w->mu, &w->at);
	if (!w->done) {
		w->fired = true;
		if (w->fd >= 0)
			(void)shutdown(w->fd, SHUT_RDWR);
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
	clock_gettime(CLOCK_MONOTONIC, &w->at);
	w->at.tv_sec += (time_t)(deadline_ms / 1000);
	w->at.tv_nsec += (long)(deadline_ms % 1000) * 1000000L;
	if (w->at.tv_nsec >= 1000000000L) {
		w->at.tv_sec++;
		w->at.tv_nsec -= 1000000000L;
	}
	if ((rc = ldap_set_option(ld, LDAP_OPT_CONNECT_CB, &w->cb)) != LDAP_OPT_SUCCESS) {
		watch_del(ld, NULL, &w->cb);
		return rc;
	}
	/* From here the handle owns w (watch_del frees it with the handle). */
	if (pthread_create(&t, NULL, watchdog, w) != 0)
		return LDAP_LOCAL_ERROR;
	rc = ldap_connect(ld);
	if (rc == LDAP_SUCCESS && starttls)
		rc = ldap_start_tls_s(ld, NULL, NULL);
	pthread_mutex_lock(&w->mu);
	w->done = true;
	fired = w->fired;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->mu);
	pthread_join(t, NULL);
	return fired ? LDAP_TIMEOUT : rc;
}
