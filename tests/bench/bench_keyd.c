/*
 * What a round trip to keyd costs, measured in one run against the same keys in process:
 *   - a keyed MAC (keys_mac KEYS_MAC_CSRF: one HMAC, so nearly all of the remote figure
 *     is the round trip: two SOCK_SEQPACKET messages and a thread wake-up each way);
 *   - an ES256 JWS (tok_jws_sign with the ring's active key: the signature keyd makes);
 *   - the same JWS submitted without waiting (tok_jws_submit, DEPTH in flight per thread,
 *     as the token endpoint's client_credentials grants do): through keyd the signer
 *     threads sign them in batches, one SIGN_MANY round trip each, so the figure shows
 *     how much of the round trip's cost batching takes away;
 * each with 1 calling thread and with as many threads as CPUs, in alternating slices
 * (in process, then through keyd, ROUNDS times) so that a shared machine's load hits
 * both alike. Prints operations per second, wall microseconds per operation and per
 * thread, the CPU microseconds each operation costs (this process, plus keyd's for the
 * remote side: what a saturated machine pays) and the rate ratio.
 *
 * Usage: bench_keyd [seconds-per-measurement]   (default 1, at most 10)
 * Never fails on speed: the exit status only reflects errors.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authcore/authd_config.h"
#include "authd/keyd/client.h"
#include "authd/keyd/holder.h"
#include "authd/keyd/keys.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "token/jws.h"
#include "token/keyring.h"

#define ROUNDS 6
#define THREADS_MAX 16
#define DEPTH 16           /* submitted signatures in flight per thread */

enum op { OP_MAC, OP_SIGN, OP_SUBMIT };

static const char claims[] =
    "{\"iss\":\"https://id.example.gov.cn\",\"sub\":\"3bW2cK9sXn0pQ7rT4vY1uZ8aE5dF6gH2\","
    "\"aud\":\"portal-gov-service\",\"exp\":1790000000,\"iat\":1789996400,"
    "\"scope\":\"openid profile\",\"jti\":\"08a5019c17e149778f4265a12843ea02\"}";

struct side {
	struct keys *keys;
	struct tok_ring *ring;
	pid_t other;           /* keyd, whose CPU time counts too (0: none) */
};

/* User + system CPU ticks of a process. */
static long
cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	if (p == NULL || (p = strrchr(buf, ')')) == NULL)
		return 0;
	/* fields after ")": state is 3, utime 14, stime 15 */
	for (int field = 2; field < 14 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	if (p == NULL)
		return 0;
	ut = strtoul(p + 1, &p, 10);
	st = strtoul(p, NULL, 10);
	return (long)(ut + st);
}

static long
side_ticks(const struct side *s)
{
	return cpu_ticks(getpid()) + (s->other > 0 ? cpu_ticks(s->other) : 0);
}

struct job {
	const struct side *side;
	enum op op;
	int64_t until;
	long ops;
	int err;
};

/* One thread's submitted signatures: how many are in flight and how many came back. */
struct flight {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int inflight;
	long done;
	int err;
};

struct sub {
	struct tok_jws_job j;   /* first: done gets it back */
	struct flight *f;
};

static void
sub_done(struct tok_jws_job *j, int rc)
{
	struct sub *s = (struct sub *)j;
	struct flight *f = s->f;

	tok_jws_job_free(j);
	free(s);
	pthread_mutex_lock(&f->mu);
	if (rc != 0)
		f->err = rc;
	f->inflight--;
	f->done++;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

/* Keeps DEPTH signatures in flight until j->until, then waits for the last. */
static void
submit_loop(struct job *j, const struct tok_key *k)
{
	struct flight f = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0 };
	struct sub *s;

	while (yh_mono_ns() < j->until && j->err == 0) {
		pthread_mutex_lock(&f.mu);
		while (f.inflight >= DEPTH)
			pthread_cond_wait(&f.cv, &f.mu);
		f.inflight++;
		j->err = f.err;
		pthread_mutex_unlock(&f.mu);
		if ((s = malloc(sizeof(*s))) == NULL) {
			j->err = YH_ERR_ALLOC;
		} else {
			s->f = &f;
			if ((j->err = tok_jws_submit(&s->j, k, "at+jwt", claims, sizeof(claims) - 1,
			    sub_done)) != 0)
				free(s);
		}
		if (j->err != 0) {
			pthread_mutex_lock(&f.mu);
			f.inflight--;
			pthread_mutex_unlock(&f.mu);
		}
	}
	pthread_mutex_lock(&f.mu);
	while (f.inflight > 0)
		pthread_cond_wait(&f.cv, &f.mu);
	if (j->err == 0)
		j->err = f.err;
	j->ops = f.done;
	pthread_mutex_unlock(&f.mu);
}

static void *
worker(void *arg)
{
	struct job *j = arg;
	struct tok_ring_snap *s = tok_ring_acquire(j->side->ring);
	const struct tok_key *k = tok_snap_signing_key(s, TOK_ALG_UNSET);
	unsigned char mac[KEYS_MAC_LEN];
	char *tok;

	if (j->op == OP_SUBMIT) {
		submit_loop(j, k);
		tok_snap_release(s);
		return NULL;
	}
	while (yh_mono_ns() < j->until) {
		if (j->op == OP_SIGN) {
			if ((j->err = tok_jws_sign(k, "at+jwt", claims, sizeof(claims) - 1,
			    &tok)) != 0)
				break;
			free(tok);
		} else if ((j->err = keys_mac(j->side->keys, KEYS_MAC_CSRF, claims,
		    sizeof(claims) - 1, mac)) != 0)
			break;
		j->ops++;
	}
	tok_snap_release(s);
	return NULL;
}

/* Operations in ns nanoseconds with nth threads; -1 on error. */
static long
slice(const struct side *side, enum op op, unsigned nth, int64_t ns)
{
	struct job jobs[THREADS_MAX];
	pthread_t th[THREADS_MAX];
	int64_t until = yh_mono_ns() + ns;
	long ops = 0;

	for (unsigned i = 0; i < nth; i++) {
		jobs[i] = (struct job){ side, op, until, 0, 0 };
		if (pthread_create(&th[i], NULL, worker, &jobs[i]) != 0)
			return -1;
	}
	for (unsigned i = 0; i < nth; i++) {
		pthread_join(th[i], NULL);
		if (jobs[i].err != 0)
			return -1;
		ops += jobs[i].ops;
	}
	return ops;
}

static int
measure(const char *what, const struct side *local, const struct side *remote, enum op op,
    unsigned nth, double secs)
{
	int64_t ns = (int64_t)(secs * 1e9 / ROUNDS);
	long a = 0, b = 0, n, ca = 0, cb = 0, t0;
	double ra, rb, tick = 1e6 / (double)sysconf(_SC_CLK_TCK);

	for (int i = 0; i < ROUNDS; i++) {
		t0 = side_ticks(local);
		if ((n = slice(local, op, nth, ns)) < 0)
			return -1;
		ca += side_ticks(local) - t0;
		a += n;
		t0 = side_ticks(remote);
		if ((n = slice(remote, op, nth, ns)) < 0)
			return -1;
		cb += side_ticks(remote) - t0;
		b += n;
	}
	ra = (double)a / (secs);
	rb = (double)b / (secs);
	printf("%-29s %2u thr %9.0f/s %7.1f %7.1f   %9.0f/s %7.1f %7.1f   %6.3f\n", what, nth,
	    ra, 1e6 * nth / ra, (double)ca * tick / (double)a, rb, 1e6 * nth / rb,
	    (double)cb * tick / (double)b, rb / ra);
	return 0;
}

int
main(int argc, char **argv)
{
	char dir[] = "/tmp/yh-bench-keyd-XXXXXX", state[64], err[512], cmd[96];
	double secs = argc > 1 ? atof(argv[1]) : 1.0;
	struct side local = { 0 }, remote = { 0 };
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned nth = cpus < 1 ? 1 : cpus > THREADS_MAX ? THREADS_MAX : (unsigned)cpus;
	struct authd_cfg cfg;
	struct kdc *c = NULL;
	struct kh *kh = NULL;
	int rc = 1;

	if (secs <= 0 || secs > 10)
		secs = 1.0;
	signal(SIGPIPE, SIG_IGN);
	yh_log_set_level(YH_LOG_WARN);
	memset(&cfg, 0, sizeof(cfg));
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(state, sizeof(state), "%s/state", dir);
	if (authd_cfg_load(&cfg, NULL, state, "127.0.0.1:0", err, sizeof(err)) != 0 ||
	    kdc_spawn(&cfg, nth + 1, &c, err, sizeof(err)) != 0 ||
	    kdc_keys(c, &remote.keys) != 0 || kdc_ring(c, &remote.ring, err, sizeof(err)) != 0 ||
	    kh_open(&cfg, &kh, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_keyd: %s\n", err);
		goto out;
	}
	local.keys = kh->keys;
	local.ring = kh->ring;
	printf("bench_keyd: %ld CPUs, %.1f s per figure; in process vs through keyd (the same "
	    "keys)\n", cpus, secs);
	printf("%-36s %11s %7s %7s   %11s %7s %7s   %6s\n", "operation", "in process",
	    "wall us", "CPU us", "keyd", "wall us", "CPU us", "ratio");
	remote.other = kdc_pid(c);
	if (measure("keyed MAC (round trip)", &local, &remote, OP_MAC, 1, secs) != 0 ||
	    measure("keyed MAC (round trip)", &local, &remote, OP_MAC, nth, secs) != 0 ||
	    measure("ES256 JWS sign", &local, &remote, OP_SIGN, 1, secs) != 0 ||
	    measure("ES256 JWS sign", &local, &remote, OP_SIGN, nth, secs) != 0 ||
	    measure("ES256 JWS submitted (batches)", &local, &remote, OP_SUBMIT, 1, secs) != 0 ||
	    measure("ES256 JWS submitted (batches)", &local, &remote, OP_SUBMIT, nth, secs) !=
	    0) {
		fprintf(stderr, "bench_keyd: an operation failed\n");
		goto out;
	}
	rc = 0;
out:
	keys_free(remote.keys);
	tok_ring_free(remote.ring);
	kh_free(kh);
	kdc_close(c);
	authd_cfg_free(&cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
