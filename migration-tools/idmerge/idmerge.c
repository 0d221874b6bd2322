/*
 * idmerge: cleanse, match and merge the departments' legacy user databases, then
 * import the result into the directory; rekey moves uids made with the public key of
 * earlier versions to the secret uid key.
 *
 *   idmerge run --sources FILE --out DIR [--dry-run] [--today YYYYMMDD]
 *               [--uid-key FILE] [--partitions N] [--threads N] [--read-only]
 *   idmerge import --in DIR [-c authd.conf | -d STATE_DIR] [--uid-key FILE]
 *   idmerge rekey (--in DIR | --uid-key FILE) (-c authd.conf | -d STATE_DIR) [--apply]
 *
 * Exit status: 0 success, 1 the work failed (I/O, an internal check), 2 usage or
 * configuration error. See docs/idmerge.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "migration-tools/idmerge/mig.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: idmerge run --sources FILE --out DIR [--dry-run] [--today YYYYMMDD]\n"
	    "                   [--uid-key FILE] [--partitions N] [--threads N] [--read-only]\n"
	    "       idmerge import --in DIR [-c CONFIG | -d STATE_DIR] [--uid-key FILE]\n"
	    "       idmerge rekey (--in DIR | --uid-key FILE) (-c CONFIG | -d STATE_DIR)\n"
	    "                     [--apply]\n"
	    "run --threads N: threads for matching and merging (default: the online CPUs, at\n"
	    "                 most %u); the outputs are the same bytes on any number\n",
	    MIG_THREADS_DEFAULT_MAX);
}

static int
fail(const char *msg)
{
	fprintf(stderr, "idmerge: %s\n", msg);
	return 2;
}

static long
peak_rss_kib(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

/* --read-only: the readers alone, for the benchmark's baseline. */
static int
read_only(const struct mig_sources *s)
{
	char err[512];
	uint64_t n = 0, bad = 0;
	int64_t t0 = yh_mono_ms();
	int e = 0;

	for (size_t i = 0; i < s->n && e == 0; i++) {
		struct mig_reader *rd = NULL;
		struct mig_record rec;

		if ((e = mig_reader_open(&s->v[i], &rd, err, sizeof(err))) != 0) {
			fprintf(stderr, "idmerge: %s\n", err);
			return 2;
		}
		for (;;) {
			memset(&rec, 0, sizeof(rec));
			e = mig_reader_next(rd, &rec, err, sizeof(err));
			if (e == YH_ERR_NOT_FOUND) {
				e = mig_reader_check_keys(rd, err, sizeof(err));
				break;
			}
			if (e == YH_ERR_IO || e == YH_ERR_ALLOC)
				break;
			n++;
			bad += e != 0;
			e = 0;
		}
		mig_reader_close(rd);
	}
	if (e != 0) {
		fprintf(stderr, "idmerge: %s\n", err);
		return e == YH_ERR_CONFIG ? 2 : 1;
	}
	printf("read %llu records (%llu unreadable) in %.3f s\n", (unsigned long long)n,
	    (unsigned long long)bad, (double)(yh_mono_ms() - t0) / 1000.0);
	return 0;
}

static void
summary(const struct mig_counts *c, const char *out, bool dry, int64_t ms)
{
	uint64_t t[4] = { 0, 0, 0, 0 };

	for (size_t i = 0; i < c->n_src; i++) {
		t[0] += c->src[i].read;
		t[1] += c->src[i].accounts;
		t[2] += c->src[i].rejects;
		t[3] += c->src[i].review;
	}
	printf("idmerge: %llu records: %llu merged into %llu persons and %llu organizations, "
	    "%llu rejected, %llu for review%s; %s in %s\n", (unsigned long long)t[0],
	    (unsigned long long)t[1], (unsigned long long)c->persons, (unsigned long long)c->orgs,
	    (unsigned long long)t[2], (unsigned long long)t[3], dry ? " (dry run)" : "",
	    dry ? "report" : "outputs", out);
	fprintf(stderr, "idmerge: %.2f s, %.0f records/s, peak RSS %ld KiB\n", (double)ms / 1000.0,
	    ms > 0 ? (double)t[0] * 1000.0 / (double)ms : 0.0, peak_rss_kib());
}

/* The passes' wall-clock times, on stderr (never in an output file). */
static void
print_times(const struct mig_run *r)
{
	int64_t ms[5];
	unsigned threads;

	mig_run_times(r, ms, &threads);
	fprintf(stderr, "idmerge: passes (s): read+cleanse %.2f, index %.2f, name+phone %.2f, "
	    "persons %.2f, organizations %.2f (passes 2-5 on %u thread%s)\n", ms[0] / 1000.0,
	    ms[1] / 1000.0, ms[2] / 1000.0, ms[3] / 1000.0, ms[4] / 1000.0, threads,
	    threads == 1 ? "" : "s");
}

static int
cmd_run(int argc, char **argv)
{
	const char *sources = NULL, *out = NULL, *keyfile = NULL;
	struct mig_run_opts o;
	struct mig_sources *s = NULL;
	struct mig_run *r = NULL;
	bool ro = false;
	char err[1024] = "";
	int64_t t0 = yh_mono_ms();
	int rc = 2, e;

	memset(&o, 0, sizeof(o));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t n;

		if (strcmp(a, "--dry-run") == 0)
			o.dry_run = true;
		else if (strcmp(a, "--read-only") == 0)
			ro = true;
		else if (v == NULL) {
			usage(stderr);
			return 2;
		} else if (strcmp(a, "--sources") == 0)
			sources = argv[++i];
		else if (strcmp(a, "--out") == 0)
			out = argv[++i];
		else if (strcmp(a, "--uid-key") == 0)
			keyfile = argv[++i];
		else if (strcmp(a, "--today") == 0) {
			if (yh_parse_u64(argv[++i], 19000101, 99991231, &n) != 0 ||
			    !yh_date_valid((int)(n / 10000), (int)(n / 100 % 100), (int)(n % 100)))
				return fail("--today wants a date YYYYMMDD");
			o.today = (int)n;
		} else if (strcmp(a, "--partitions") == 0) {
			if (yh_parse_u64(argv[++i], 1, 4096, &n) != 0)
				return fail("--partitions wants a number 1-4096");
			o.nparts = (unsigned)n;
		} else if (strcmp(a, "--threads") == 0) {
			if (yh_parse_u64(argv[++i], 1, MIG_THREADS_MAX, &n) != 0)
				return fail("--threads wants a number 1-64");
			o.threads = (unsigned)n;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (sources == NULL || (out == NULL && !ro)) {
		usage(stderr);
		return 2;
	}
	if ((e = mig_sources_load(sources, &s, err, sizeof(err))) != 0) {
		fprintf(stderr, "idmerge: %s\n", err);
		return 2;
	}
	if (ro) {
		rc = read_only(s);
		goto out;
	}
	if (mig_sources_check(s, err, sizeof(err)) != 0) {
		fprintf(stderr, "idmerge: %s\n", err);
		goto out;
	}
	o.uid_key_file = keyfile;
	o.out_dir = out;
	o.progress = true;
	if ((e = mig_run_open(&o, s, &r, err, sizeof(err))) != 0) {
		fprintf(stderr, "idmerge: %s\n", err);
		rc = e == YH_ERR_CONFIG || e == YH_ERR_KEY || e == YH_ERR_PERM ? 2 : 1;
		goto out;
	}
	if ((e = mig_run_read_all(r, err, sizeof(err))) != 0) {
		fprintf(stderr, "idmerge: %s\n", err);
		rc = e == YH_ERR_CONFIG || e == YH_ERR_INVALID || e == YH_ERR_UNSUPPORTED ? 2 : 1;
		goto out;
	}
	if ((e = mig_run_finish(r, err, sizeof(err))) != 0) {
		fprintf(stderr, "idmerge: %s\n", err);
		rc = 1;
		goto out;
	}
	summary(mig_run_counts(r), out, o.dry_run, yh_mono_ms() - t0);
	print_times(r);
	rc = 0;
out:
	mig_run_free(r);
	mig_sources_free(s);
	return rc;
}

/* Parses the options import and rekey share: --in DIR, -c FILE, -d DIR, --uid-key FILE,
 * and for rekey (apply not NULL) --apply, or its former name --accept-new-subjects
 * (from before subjects were pinned: scripts written then go on working, with a note).
 * 0, or 2 after the usage. */
static int
parse_where(int argc, char **argv, struct mig_where *w, bool *apply)
{
	memset(w, 0, sizeof(*w));
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], **slot = NULL;

		if (apply != NULL && strcmp(o, "--apply") == 0) {
			*apply = true;
			continue;
		}
		if (apply != NULL && strcmp(o, "--accept-new-subjects") == 0) {
			fprintf(stderr, "idmerge: note: --accept-new-subjects is the former name of "
			    "--apply: subjects no longer change (each app keeps the sub it knows "
			    "a person by), so there is nothing left to accept\n");
			*apply = true;
			continue;
		}
		if (strcmp(o, "--in") == 0)
			slot = &w->in_dir;
		else if (strcmp(o, "-c") == 0)
			slot = &w->config_path;
		else if (strcmp(o, "-d") == 0)
			slot = &w->state_dir;
		else if (strcmp(o, "--uid-key") == 0)
			slot = &w->uid_key_file;
		if (slot == NULL || i + 1 >= argc) {
			usage(stderr);
			return 2;
		}
		*slot = argv[++i];
	}
	if ((w->in_dir == NULL && (apply == NULL || w->uid_key_file == NULL)) ||
	    (w->config_path != NULL && w->state_dir != NULL)) {
		usage(stderr);
		return 2;
	}
	return 0;
}

static int
cmd_import(int argc, char **argv)
{
	struct mig_import_opts o;
	struct mig_import_stats st;
	char err[1024] = "";
	int e;

	memset(&o, 0, sizeof(o));
	if (parse_where(argc, argv, &o.where, NULL) != 0)
		return 2;
	o.progress = true;
	if ((e = mig_import(&o, &st, err, sizeof(err))) != 0) {
		fprintf(stderr, "idmerge: %s\n", err[0] ? err : yh_strerror(e));
		return e == YH_ERR_CONFIG || e == YH_ERR_KEY || e == YH_ERR_PERM ? 2 : 1;
	}
	printf("idmerge: imported: persons %llu added %llu updated, organizations %llu added "
	    "%llu updated, %llu account links added, %llu credentials set, %llu unchanged\n",
	    (unsigned long long)st.persons_added, (unsigned long long)st.persons_updated,
	    (unsigned long long)st.orgs_added, (unsigned long long)st.orgs_updated,
	    (unsigned long long)st.links_added, (unsigned long long)st.credentials_set,
	    (unsigned long long)st.unchanged);
	printf("idmerge: review cases: %llu opened, %llu already in the directory (open or "
	    "decided)\n", (unsigned long long)st.cases_opened,
	    (unsigned long long)st.cases_known);
	if (st.legacy_uids > 0)
		fprintf(stderr, "idmerge: note: %llu of these identities were already in the "
		    "directory under uids made with the public key of earlier versions: see "
		    "'idmerge rekey' in docs/idmerge.md\n", (unsigned long long)st.legacy_uids);
	return 0;
}

/* rekey: without --apply it only counts and says what re-keying means. */
static int
cmd_rekey(int argc, char **argv)
{
	struct mig_rekey_opts o;
	struct mig_rekey_stats st;
	char err[1024] = "";
	int e;

	memset(&o, 0, sizeof(o));
	if (parse_where(argc, argv, &o.where, &o.apply) != 0)
		return 2;
	if ((e = mig_rekey(&o, &st, err, sizeof(err))) != 0) {
		fprintf(stderr, "idmerge: %s\n", err[0] ? err : yh_strerror(e));
		return e == YH_ERR_CONFIG || e == YH_ERR_KEY || e == YH_ERR_PERM ||
		    e == YH_ERR_NOT_FOUND || e == YH_ERR_INVALID ? 2 : 1;
	}
	printf("idmerge: %s %llu persons and %llu organizations with uids made with the "
	    "public key (%llu entities looked at)\n", o.apply ? "re-keyed" : "found",
	    (unsigned long long)st.persons, (unsigned long long)st.orgs,
	    (unsigned long long)st.scanned);
	printf("idmerge: %s %llu subject pins (%zu app sectors): each app keeps the sub it "
	    "knows a re-keyed person by\n", o.apply ? "recorded" : "would record",
	    (unsigned long long)st.pins, st.sectors);
	if (o.apply || st.persons + st.orgs == 0)
		return 0;
	fprintf(stderr, "idmerge: nothing changed. Re-keying gives each of them a new uid; "
	    "the subs of the apps registered now are pinned, an app registered later gets "
	    "the new uid's. Stop every authd, then run again with --apply; with Redis "
	    "sessions, clear them before authd starts again (docs/idmerge.md)\n");
	return 2;
}

int
main(int argc, char **argv)
{
	yh_log_set_prog("idmerge");
	yh_log_set_json(false);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "import") == 0)
		return cmd_import(argc - 1, argv + 1);
	if (strcmp(argv[1], "rekey") == 0)
		return cmd_rekey(argc - 1, argv + 1);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
