/*
 * bench_dir: the directory's person look-ups per second (by ID number, as a login
 * identifier) and password logins per second (look-up, credential, argon2id
 * verification with the floor profile of 64 KiB and one pass, so that the directory's
 * share shows) on the SQLite backend and on the LDAP backend, in the same run, with the
 * same persons, on 1 and on 4 threads. The LDAP server is Debian's slapd started by
 * tests/integration/slapd.sh on a loopback port (skipped, said so, when it is missing).
 * YH_BENCH_PERSONS sets how many persons each store holds (default 2000; e.g. 1000000
 * for a province-sized slapd, which takes a long time to fill: the adds per second are
 * printed; slapd is filled on 4 threads). After each fill it prints the store's size per
 * person: the SQLite file (its WAL checkpointed into it first), slapd's data.mdb (its
 * file and the bytes allocated on disk) and the growth of slapd's resident memory (all
 * of it, and the anonymous part: the rest is data.mdb's pages mapped from the page
 * cache). YH_BENCH_LDAP_NOSYNC=1 fills slapd with olcDbNoSync on (as for a bulk load:
 * one fsync at the end instead of one per add), then turns it off and writes data.mdb
 * out (timed) before the look-ups. Never passes or fails on time. Runs about 20 seconds
 * at the default.
 */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/config.h"
#include "common/timeutil.h"
#include "identity/dir/dir.h"
#include "identity/identity.h"
#include "identity/identity_config.h"
#include "identity/idn/idnum.h"
#include "identity/passwd/passwd.h"

#define PERSONS_DEFAULT 2000
#define PERSONS_MAX 10000000
#define SLICE_NS 1500000000LL
#define THREADS 4
#define SUFFIX "dc=yihao,dc=test"
#define ADMIN "cn=admin," SUFFIX
#define ADMIN_PW "yihao-test-secret"

static int persons = PERSONS_DEFAULT;   /* YH_BENCH_PERSONS */
static const char password[] = "Correct horse battery staple 2026";
static const struct pw_params floor_p = { 1, 64, 1 };

static void
make_id(int n, char out[19])
{
	/* Beijing, born on one of 28 days of 12 months of 60 years from 1950, sequence:
	 * 1000 a day, so 20 million distinct numbers */
	unsigned u = (unsigned)n, day = u / 1000;
	char buf[40];

	snprintf(buf, sizeof(buf), "110101%04u%02u%02u%03u", 1950 + day / 336 % 60,
	    day / 28 % 12 + 1, day % 28 + 1, u % 1000);
	memcpy(out, buf, 17);
	out[17] = idn_resident_check_char(out);
	out[18] = '\0';
}

struct run {
	struct dir *d;
	bool login;
	unsigned seed;
	int64_t until;
	unsigned long n, err;
};

static void *
loop(void *arg)
{
	struct run *r = arg;
	char id[19];

	while (yh_mono_ns() < r->until) {
		struct dir_person p;
		struct dir_cred c;

		r->seed = r->seed * 1103515245u + 12345u;
		make_id((int)((r->seed >> 8) % (unsigned)persons), id);
		if (dir_person_find_login(r->d, id, &p) != 0) {
			r->err++;
			continue;
		}
		if (r->login) {
			if (dir_cred_get(r->d, p.uid, &c) != 0 || pw_verify(c.scheme, c.hash, c.salt,
			    password, sizeof(password) - 1, &floor_p, NULL) != 0)
				r->err++;
			dir_cred_clear(&c);
		}
		dir_person_clear(&p);
		r->n++;
	}
	return NULL;
}

static double
rate(struct dir *d, bool login, unsigned nthreads, unsigned long *errs)
{
	struct run runs[THREADS];
	pthread_t th[THREADS];
	int64_t start = yh_mono_ns(), end;
	unsigned long n = 0;

	for (unsigned i = 0; i < nthreads; i++) {
		runs[i] = (struct run){ d, login, 7919u * (i + 1), start + SLICE_NS, 0, 0 };
		if (pthread_create(&th[i], NULL, loop, &runs[i]) != 0)
			return 0;
	}
	for (unsigned i = 0; i < nthreads; i++) {
		pthread_join(th[i], NULL);
		n += runs[i].n;
		*errs += runs[i].err;
	}
	end = yh_mono_ns();
	return (double)n * 1e9 / (double)(end - start);
}

struct filler {
	struct dir *d;
	const char *hash;
	int from, step;
	int failed;             /* the person whose add failed, or -1 */
};

/* Adds persons from, from + step, ... with the password hash. */
static void *
fill_part(void *arg)
{
	struct filler *f = arg;
	char idn[19];
	struct dir_person p;

	f->failed = -1;
	for (int i = f->from; i < persons; i += f->step) {
		memset(&p, 0, sizeof(p));
		make_id(i, idn);
		p.id_number = idn;
		p.name = (char *)"测试";
		if (dir_person_add_cred(f->d, &p, "argon2id", f->hash, NULL) != 0) {
			f->failed = i;
			break;
		}
	}
	return NULL;
}

/* Opens the directory cfg names (creating it) and fills it with the persons on nthreads
 * threads (1 for SQLite, whose bulk mode is one transaction), printing the adds per
 * second. */
static int
fill(struct ident_cfg *cfg, const char *hash, struct ident **id, const char *name,
    unsigned nthreads)
{
	char err[512];
	struct filler f[THREADS];
	pthread_t th[THREADS];
	int64_t t0 = yh_mono_ns();
	int rc = 0;

	if (ident_open(cfg, true, id, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_dir: %s\n", err);
		return 1;
	}
	if (dir_bulk_begin((*id)->dir) != 0)
		return 1;
	for (unsigned i = 0; i < nthreads; i++) {
		f[i] = (struct filler){ (*id)->dir, hash, (int)i, (int)nthreads, -1 };
		if (pthread_create(&th[i], NULL, fill_part, &f[i]) != 0)
			return 1;
	}
	for (unsigned i = 0; i < nthreads; i++) {
		pthread_join(th[i], NULL);
		if (f[i].failed >= 0) {
			fprintf(stderr, "bench_dir: adding person %d failed\n", f[i].failed);
			rc = 1;
		}
	}
	if (dir_bulk_end((*id)->dir) != 0 || rc != 0)
		return 1;
	printf("  %-7s filled: %d persons, %.0f adds/s (%u thread%s)\n", name, persons,
	    (double)persons * 1e9 / (double)(yh_mono_ns() - t0), nthreads,
	    nthreads == 1 ? "" : "s");
	return 0;
}

/* The VmRSS and RssAnon of process pid in KiB (0 when unreadable). */
static void
proc_rss(long pid, long *rss_kib, long *anon_kib)
{
	char path[64], line[256];
	FILE *f;

	*rss_kib = *anon_kib = 0;
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0)
			*rss_kib = strtol(line + 6, NULL, 10);
		else if (strncmp(line, "RssAnon:", 8) == 0)
			*anon_kib = strtol(line + 8, NULL, 10);
	}
	fclose(f);
}

/* The size of file path and the bytes allocated for it on disk (0 when absent). */
static void
file_bytes(const char *path, double *size, double *alloc)
{
	struct stat sb;

	*size = *alloc = 0;
	if (stat(path, &sb) == 0) {
		*size = (double)sb.st_size;
		*alloc = (double)sb.st_blocks * 512.0;
	}
}

/* Runs cmd through the shell; 0 when it exits with 0. */
static int
shell(const char *cmd)
{
	int st = system(cmd);

	return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

/* Sets olcDbNoSync of the bench's slapd (its cn=config over the unix socket, as root)
 * to val, TRUE or FALSE. */
static int
ldap_nosync(const char *root, const char *val)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd), "uri=$(sed -n 2p '%s/slapd/uris') && printf 'dn: "
	    "olcDatabase={1}mdb,cn=config\\nchangetype: modify\\nreplace: olcDbNoSync\\n"
	    "olcDbNoSync: %s\\n' | ldapmodify -Q -Y EXTERNAL -H \"$uri\" >/dev/null", root, val);
	return shell(cmd);
}

/* Measures d and prints its figures; fig receives them (look-ups on 1 and THREADS
 * threads, logins on 1 and THREADS), and with base (the SQLite figures of the same run)
 * the ratios to it are printed too. */
static void
report(const char *name, struct dir *d, double fig[4], const double *base)
{
	unsigned long errs = 0;

	fig[0] = rate(d, false, 1, &errs);
	fig[1] = rate(d, false, THREADS, &errs);
	fig[2] = rate(d, true, 1, &errs);
	fig[3] = rate(d, true, THREADS, &errs);
	printf("  %-7s look-ups/s %8.0f (1 thread) %8.0f (%d threads)   "
	    "logins/s %7.0f (1) %7.0f (%d)%s\n", name, fig[0], fig[1], THREADS, fig[2], fig[3],
	    THREADS, errs != 0 ? "   ERRORS" : "");
	if (base != NULL && base[0] > 0 && base[1] > 0 && base[2] > 0 && base[3] > 0)
		printf("  %-7s look-ups   %8.2f            %8.2f               "
		    "logins   %7.2f     %7.2f       (%s / sqlite)\n", "ratio", fig[0] / base[0],
		    fig[1] / base[1], fig[2] / base[2], fig[3] / base[3], name);
}

static int
set(struct ident_cfg *c, const char *k, const char *v)
{
	struct yh_cfg_err cerr;

	return yh_cfg_set(ident_cfg_opts, c, k, v, "bench", &cerr);
}

int
main(void)
{
	char root[] = "/tmp/yh-bench-dir-XXXXXX", dir[128], cmd[1024], line[256], err[512];
	char path[PATH_MAX];
	bool nosync = getenv("YH_BENCH_LDAP_NOSYNC") != NULL &&
	    strcmp(getenv("YH_BENCH_LDAP_NOSYNC"), "1") == 0;
	double size, alloc, wal, walloc;
	long slapd_pid, rss0, anon0, rss1, anon1;
	double fsq[4] = { 0 }, fld[4];
	const char *src = getenv("YH_SRCDIR") != NULL ? getenv("YH_SRCDIR") : YH_SRCDIR;
	struct ident_cfg sq, ld;
	struct ident *isq = NULL, *ild = NULL;
	struct yh_cfg_err cerr;
	char *hash = NULL;
	FILE *pf;
	int st, rc = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);       /* progress in a log file during long fills */
	if (getenv("YH_BENCH_PERSONS") != NULL) {
		long v = strtol(getenv("YH_BENCH_PERSONS"), NULL, 10);

		if (v < 1 || v > PERSONS_MAX) {
			fprintf(stderr, "bench_dir: YH_BENCH_PERSONS: 1..%d\n", PERSONS_MAX);
			return 1;
		}
		persons = (int)v;
	}
	if (mkdtemp(root) == NULL || pw_hash(&floor_p, password, sizeof(password) - 1, &hash) != 0)
		return 1;
	snprintf(dir, sizeof(dir), "%s/state", root);
	if (ident_cfg_init(&sq, &cerr) != 0 || set(&sq, "state_dir", dir) != 0 ||
	    ident_cfg_finish(&sq, err, sizeof(err)) != 0 || fill(&sq, hash, &isq, "sqlite", 1) != 0)
		goto out;
	printf("bench_dir: %d persons; argon2id floor profile (64 KiB, t=1) for logins\n",
	    persons);
	/* its WAL folded into the file first, so that the file holds the whole store */
	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null",
	    sq.sqlite_path);
	if (shell(cmd) != 0)
		printf("  sqlite  (the WAL could not be checkpointed: sqlite3 missing?)\n");
	snprintf(path, sizeof(path), "%s-wal", sq.sqlite_path);
	file_bytes(sq.sqlite_path, &size, &alloc);
	file_bytes(path, &wal, &walloc);
	printf("  %-7s size: %.0f bytes/person (directory.db %.1f MiB, its WAL %.1f MiB)\n",
	    "sqlite", (size + wal) / persons, size / 1048576.0, wal / 1048576.0);
	report("sqlite", isq->dir, fsq, NULL);
	snprintf(cmd, sizeof(cmd), "bash '%s/tests/integration/slapd.sh' start '%s/slapd'", src,
	    root);
	line[0] = '\0';
	if ((pf = popen(cmd, "r")) == NULL)
		goto out;
	if (fgets(line, sizeof(line), pf) == NULL)
		line[0] = '\0';
	st = pclose(pf);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
		printf("  ldap    skipped: slapd is not installed\n");
		rc = 0;
		goto out;
	}
	slapd_pid = strtol(line + strcspn(line, " "), NULL, 10);
	line[strcspn(line, " \n")] = '\0';
	snprintf(cmd, sizeof(cmd), "printf 'dn: " SUFFIX "\\nobjectClass: dcObject\\n"
	    "objectClass: organization\\ndc: yihao\\no: yihao\\n' | ldapadd -x -H '%s' -D '"
	    ADMIN "' -w '" ADMIN_PW "' >/dev/null", line);
	if (st != 0 || line[0] == '\0' || system(cmd) != 0)
		goto stop;
	if (nosync && ldap_nosync(root, "TRUE") != 0)
		goto stop;
	proc_rss(slapd_pid, &rss0, &anon0);
	if (ident_cfg_init(&ld, &cerr) != 0 || set(&ld, "state_dir", dir) != 0 ||
	    set(&ld, "directory.backend", "ldap") != 0 ||
	    set(&ld, "directory.ldap_uris", line) != 0 ||
	    set(&ld, "directory.ldap_base", "ou=bench," SUFFIX) != 0 ||
	    set(&ld, "directory.ldap_bind_dn", ADMIN) != 0 ||
	    set(&ld, "directory.ldap_password", ADMIN_PW) != 0 ||
	    /* a shared machine can stall slapd's writes for longer than the default 5 s */
	    set(&ld, "directory.ldap_timeout", "60") != 0 ||
	    ident_cfg_finish(&ld, err, sizeof(err)) != 0 || fill(&ld, hash, &ild, "ldap", THREADS) != 0) {
		ident_cfg_free(&ld);
		goto stop;
	}
	if (nosync) {
		/* what olcDbNoSync left in the page cache written out before the look-ups, so
		 * that they do not run beside the kernel's writeback of the whole fill */
		int64_t t0 = yh_mono_ns();

		snprintf(cmd, sizeof(cmd), "sync '%s/slapd/data/data.mdb'", root);
		if (ldap_nosync(root, "FALSE") != 0 || shell(cmd) != 0)
			goto stop;
		printf("  %-7s data.mdb flushed to disk in %.1f s\n", "ldap",
		    (double)(yh_mono_ns() - t0) / 1e9);
	}
	proc_rss(slapd_pid, &rss1, &anon1);
	snprintf(path, sizeof(path), "%s/slapd/data/data.mdb", root);
	file_bytes(path, &size, &alloc);
	printf("  %-7s size: data.mdb %.0f bytes/person (%.1f MiB, %.1f MiB allocated on disk); "
	    "slapd RSS +%.0f bytes/person (%ld -> %ld MiB; anonymous +%.0f bytes/person)%s\n",
	    "ldap", size / persons, size / 1048576.0, alloc / 1048576.0,
	    (double)(rss1 - rss0) * 1024.0 / persons, rss0 / 1024, rss1 / 1024,
	    (double)(anon1 - anon0) * 1024.0 / persons,
	    nosync ? "; filled with olcDbNoSync" : "");
	report("ldap", ild->dir, fld, fsq);
	ident_close(ild);
	ident_cfg_free(&ld);
	rc = 0;
stop:
	snprintf(cmd, sizeof(cmd), "bash '%s/tests/integration/slapd.sh' stop '%s/slapd'", src,
	    root);
	if (system(cmd) != 0)
		rc = 1;
out:
	ident_close(isq);
	ident_cfg_free(&sq);
	free(hash);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
