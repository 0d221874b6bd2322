/*
 * The cost of taking and dropping a snapshot: clients_acquire + clients_find +
 * clients_release and tok_ring_acquire + tok_snap_signing_key + tok_snap_release, the
 * pairs a token grant runs per request, with 1, 2 and 4 threads taking snapshots at once.
 * Prints nanoseconds per pair (wall time over the pairs of all threads).
 *
 * Usage: bench_snap [pairs-per-thread]   (default 2000000)
 * Never fails on speed: the exit status only reflects errors.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authcore/clients/clients.h"
#include "common/timeutil.h"
#include "token/keyring.h"

static long pairs = 2000000;
static struct clients_registry *reg;
static struct tok_ring *ring;

static void *
clients_loop(void *arg)
{
	long found = 0;

	for (long i = 0; i < pairs; i++) {
		struct clients_snap *s = clients_acquire(reg);

		found += clients_find(s, "portal") != NULL;
		clients_release(s);
	}
	*(long *)arg = found;
	return NULL;
}

static void *
ring_loop(void *arg)
{
	long found = 0;

	for (long i = 0; i < pairs; i++) {
		struct tok_ring_snap *s = tok_ring_acquire(ring);

		found += tok_snap_signing_key(s, TOK_ALG_UNSET) != NULL;
		tok_snap_release(s);
	}
	*(long *)arg = found;
	return NULL;
}

/* ns per pair with n threads running fn, or -1 when a pair failed. */
static double
run(void *(*fn)(void *), int n)
{
	pthread_t t[4];
	long found[4];
	int64_t start = yh_mono_ns();

	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, fn, &found[i]) != 0)
			return -1;
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < n; i++)
		if (found[i] != pairs)
			return -1;
	return (double)(yh_mono_ns() - start) / ((double)pairs * n);
}

int
main(int argc, char **argv)
{
	char dir[] = "/tmp/bench_snap.XXXXXX", kdir[512], err[512];
	struct clients_client c;
	const char *uris[] = { "https://portal.example.gov.cn/cb" };
	int rc = 1;

	if (argc > 1 && (pairs = strtol(argv[1], NULL, 10)) <= 0)
		pairs = 2000000;
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(kdir, sizeof(kdir), "%s/keys", dir);
	if (clients_open(dir, NULL, &reg, err, sizeof(err)) != 0 ||
	    tok_ring_open(kdir, &(struct tok_ring_opts){ .create = true }, &ring, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "bench_snap: %s\n", err);
		goto out;
	}
	clients_client_init(&c);
	snprintf(c.id, sizeof(c.id), "portal");
	c.auth = CLIENTS_AUTH_NONE;
	c.require_pkce = true;
	c.redirect_uris = uris;
	c.n_redirect_uris = 1;
	if (clients_add(reg, &c, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_snap: %s\n", err);
		goto out;
	}
	printf("snapshot acquire + lookup + release, ns per pair (%ld pairs per thread)\n",
	    pairs);
	printf("%-10s %10s %10s %10s\n", "", "1 thread", "2 threads", "4 threads");
	printf("%-10s %10.1f %10.1f %10.1f\n", "clients", run(clients_loop, 1),
	    run(clients_loop, 2), run(clients_loop, 4));
	printf("%-10s %10.1f %10.1f %10.1f\n", "key ring", run(ring_loop, 1), run(ring_loop, 2),
	    run(ring_loop, 4));
	rc = 0;
out:
	clients_close(reg);
	tok_ring_free(ring);
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			rc = 1;
	}
	return rc;
}
