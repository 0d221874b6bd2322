/*
 * The audit writer's rate (lines on disk per second, group commit under THREADS writers)
 * without checkpoints and with a tagged checkpoint every 1000 and every 100 lines,
 * measured in the same run, in alternating slices (ROUNDS of them) so that load from
 * other processes on a shared machine affects every figure alike. Besides the rates over
 * all slices it prints the median of each round's ratio, which a burst of load in one
 * slice does not move.
 *
 * Usage: bench_audit [DIR [seconds-per-slice]]   (default $TMPDIR or /var/tmp, 0.25 s)
 * The file lives in a new directory under DIR, on the disk to be measured: the rate is
 * bounded by its fdatasync. Never fails on speed: the exit status only reflects errors.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authcore/audit/audit.h"
#include "common/timeutil.h"

#define THREADS 16
#define ROUNDS 21

static const uint64_t modes[] = { 0, 1000, 100 };   /* checkpoint every N lines; 0 off */
#define NMODES (sizeof(modes) / sizeof(modes[0]))

struct slice {
	struct yh_audit *a;
	int64_t deadline_ns;
	atomic_long lines;
	atomic_int errors;
};

static void *
writer(void *arg)
{
	struct slice *s = arg;
	json_t *f = json_pack("{s:s,s:s,s:s}", "client", "portal-gov-service", "grant",
	    "client_credentials", "scope", "openid profile");

	while (yh_mono_ns() < s->deadline_ns) {
		if (yh_audit_write(s->a, "token.issue", "client:portal-gov-service", f) != 0) {
			atomic_fetch_add(&s->errors, 1);
			break;
		}
		atomic_fetch_add(&s->lines, 1);
	}
	json_decref(f);
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One slice of mode m: adds lines written and ns spent. Returns -1 on error. */
static int
run_slice(const char *path, uint64_t every, const struct yh_audit_key *key, int64_t ns,
    long *lines, int64_t *spent)
{
	struct yh_audit_cp_opts o = { .every_lines = every, .kid = key->kid,
	    .mac = yh_audit_key_mac, .mac_ctx = (void *)key };
	struct slice s = { .lines = 0, .errors = 0 };
	pthread_t t[THREADS];
	char err[256];
	int64_t start;

	if (yh_audit_open(path, &s.a, err, sizeof(err)) != 0 ||
	    (every > 0 && yh_audit_checkpoints(s.a, &o, err, sizeof(err)) != 0)) {
		fprintf(stderr, "bench_audit: %s\n", err);
		return -1;
	}
	start = yh_mono_ns();
	s.deadline_ns = start + ns;
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, writer, &s) != 0)
			return -1;
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	*spent += yh_mono_ns() - start;
	*lines += atomic_load(&s.lines);
	yh_audit_close(s.a);
	return atomic_load(&s.errors) == 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	const char *base = argc > 1 ? argv[1] : getenv("TMPDIR") != NULL ? getenv("TMPDIR") :
	    "/var/tmp";
	double slice_s = argc > 2 ? strtod(argv[2], NULL) : 0.25;
	unsigned char raw[YH_AUDIT_KEY_LEN];
	struct yh_audit_key key;
	long lines[NMODES] = { 0 }, ln[NMODES];
	int64_t spent[NMODES] = { 0 }, sp[NMODES];
	double ratio[NMODES][ROUNDS];
	char dir[512], path[600], cp[640];
	struct yh_audit_report rep;
	double rate[NMODES];
	int rc = 1;

	if (slice_s <= 0 || slice_s > 5)
		slice_s = 0.25;
	memset(raw, 0x5a, sizeof(raw));
	snprintf(dir, sizeof(dir), "%s/bench-audit-XXXXXX", base);
	if (yh_audit_key_set(&key, raw) != 0 || mkdtemp(dir) == NULL) {
		perror("bench_audit: set up");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	snprintf(cp, sizeof(cp), "%s.checkpoint", path);
	for (int r = 0; r < ROUNDS; r++) {
		for (size_t m = 0; m < NMODES; m++) {
			ln[m] = 0;
			sp[m] = 0;
			if (run_slice(path, modes[m], &key, (int64_t)(slice_s * 1e9), &ln[m],
			    &sp[m]) != 0)
				goto out;
			lines[m] += ln[m];
			spent[m] += sp[m];
		}
		for (size_t m = 0; m < NMODES; m++)
			ratio[m][r] = ((double)ln[m] / (double)sp[m]) / ((double)ln[0] / (double)sp[0]);
	}
	printf("audit writer, %d threads, %s (%d rounds of %.2f s slices)\n", THREADS, base,
	    ROUNDS, slice_s);
	printf("| checkpoints | lines/s | vs none | median of the rounds' ratios |\n"
	    "|---|---|---|---|\n");
	for (size_t m = 0; m < NMODES; m++) {
		rate[m] = (double)lines[m] * 1e9 / (double)spent[m];
		qsort(ratio[m], ROUNDS, sizeof(double), cmp_double);
		if (modes[m] == 0)
			printf("| none | %.0f | 1.000 | 1.000 |\n", rate[m]);
		else
			printf("| every %llu lines | %.0f | %.3f | %.3f |\n",
			    (unsigned long long)modes[m], rate[m], rate[m] / rate[0],
			    ratio[m][ROUNDS / 2]);
	}
	{
		struct yh_audit_verify_opts vo = { .keys = &key, .nkeys = 1 };

		if (yh_audit_verify(path, &vo, &rep) != 0) {
			fprintf(stderr, "bench_audit: the log does not verify: %s\n", rep.reason);
			goto out;
		}
		printf("%llu lines, %llu checkpoints, all verified\n",
		    (unsigned long long)rep.lines, (unsigned long long)rep.checked);
	}
	rc = 0;
out:
	yh_audit_key_wipe(&key);
	unlink(path);
	unlink(cp);
	rmdir(dir);
	return rc;
}
