/*
 * bench_passwd: argon2id password verifications per second for each of OWASP's
 * recommended argon2id settings and for authd's default, on one thread and on every
 * core at once: the capacity table of docs/operations.md (a password login costs one
 * verification). Beside them, in the same run, the baseline of the floor of this
 * machine: the same verifications with the test profile (64 KiB, one pass), which is
 * libargon2's fixed cost. Never passes or fails on time. Runs about 30 seconds.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/timeutil.h"
#include "identity/passwd/passwd.h"

#define SLICE_NS 1500000000LL    /* each measurement: 1.5 s */
#define THREADS_MAX 64

static const char password[] = "Correct horse battery staple 2026";

struct setting {
	const char *name;
	struct pw_params p;
};

struct run {
	const char *hash;
	const struct pw_params *p;
	int64_t until;
	unsigned long n;
	int err;
};

static void *
verify_loop(void *arg)
{
	struct run *r = arg;

	while (yh_mono_ns() < r->until) {
		int rc = pw_verify("argon2id", r->hash, NULL, password, sizeof(password) - 1,
		    r->p, NULL);

		if (rc != 0) {
			r->err = rc;
			break;
		}
		r->n++;
	}
	return NULL;
}

/* Verifications per second of hash with nthreads threads at once. */
static double
rate(const char *hash, const struct pw_params *p, unsigned nthreads)
{
	struct run runs[THREADS_MAX];
	pthread_t th[THREADS_MAX];
	int64_t t0 = yh_mono_ns();
	unsigned long n = 0;

	for (unsigned i = 0; i < nthreads; i++) {
		runs[i] = (struct run){ hash, p, t0 + SLICE_NS, 0, 0 };
		if (pthread_create(&th[i], NULL, verify_loop, &runs[i]) != 0) {
			fprintf(stderr, "bench_passwd: cannot start a thread\n");
			exit(1);
		}
	}
	for (unsigned i = 0; i < nthreads; i++) {
		pthread_join(th[i], NULL);
		if (runs[i].err != 0) {
			fprintf(stderr, "bench_passwd: verification failed (%d)\n", runs[i].err);
			exit(1);
		}
		n += runs[i].n;
	}
	return (double)n * 1e9 / (double)(yh_mono_ns() - t0);
}

int
main(void)
{
	static const struct setting settings[] = {
		{ "OWASP m=46 MiB t=1", { 1, 47104, 1 } },
		{ "OWASP m=19 MiB t=2", { 2, 19456, 1 } },
		{ "OWASP m=12 MiB t=3", { 3, 12288, 1 } },
		{ "OWASP m=9 MiB t=4", { 4, 9216, 1 } },
		{ "OWASP m=7 MiB t=5", { 5, 7168, 1 } },
		{ "m=64 MiB t=3", { 3, 65536, 1 } },
	};
	struct pw_params def, floor_p;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned cores = ncpu < 1 ? 1 : ncpu > THREADS_MAX ? THREADS_MAX : (unsigned)ncpu;
	double floor1;
	char *h = NULL;

	pw_params_default(&def);
	pw_params_test(&floor_p);
	if (pw_hash(&floor_p, password, sizeof(password) - 1, &h) != 0)
		return 1;
	floor1 = rate(h, &floor_p, 1);
	free(h);
	printf("bench_passwd: argon2id verifications/s (p=1), 1 thread and %u threads; "
	    "floor (64 KiB, t=1): %.0f/s on 1 thread\n", cores, floor1);
	printf("  %-22s %10s %10s %12s %10s\n", "setting", "1 thread", "all cores",
	    "ms/login", "vs floor");
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		const struct setting *s = &settings[i];
		bool is_def = memcmp(&s->p, &def, sizeof(def)) == 0;
		double r1, rn;

		if (pw_hash(&s->p, password, sizeof(password) - 1, &h) != 0)
			return 1;
		r1 = rate(h, &s->p, 1);
		rn = rate(h, &s->p, cores);
		free(h);
		printf("  %-22s %10.1f %10.1f %12.1f %9.0fx%s\n", s->name, r1, rn, 1000.0 / r1,
		    floor1 / r1, is_def ? "   <- authd's default" : "");
	}
	return 0;
}
