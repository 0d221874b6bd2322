/*
 * authctl keys generate|rotate|jwks|list: the signing key ring (token/keyring.h).
 *
 *   keys generate --alg ALG --dir DIR [--rsa-bits N]
 *       a new ring (active + next key of ALG), or an ALG chain added to an existing ring
 *   keys rotate --dir DIR [--alg ALG] [--keep DURATION] [--purge-after DURATION]
 *               [--min-age DURATION]
 *       next -> active -> retiring (published for --keep, default 1d) for ALG or every alg
 *   keys jwks --dir DIR      prints the public JWKS
 *   keys list --dir DIR      one line per key: state alg kid created
 *
 * Without --dir, the ring is STATE_DIR/keys when the global -d STATE_DIR was given.
 */
#include <stdio.h>
#include <string.h>

#include "authctl/ctl.h"
#include "common/buf.h"
#include "common/timeutil.h"
#include "token/keyring.h"

#define KEYS_USAGE                                                                        \
	"usage: authctl keys generate --alg ALG --dir DIR [--rsa-bits N]\n"                    \
	"       authctl keys rotate --dir DIR [--alg ALG] [--keep DURATION] "                  \
	"[--purge-after DURATION] [--min-age DURATION]\n"                                      \
	"       authctl keys jwks|list --dir DIR"

#define DURATION_MAX (3650LL * 86400)

struct keys_args {
	const char *dir;
	enum tok_alg alg;
	struct tok_ring_opts opts;
	char dirbuf[4096];
};

static int
parse_duration_opt(const char *name, const char *v, int64_t *out)
{
	if (yh_parse_duration(v, DURATION_MAX, out) != 0 || *out <= 0)
		return ctl_fail("%s: not a duration (e.g. 3600, 90m, 8h, 2d): %s", name, v);
	return 0;
}

/* Parses the options after the command word. Returns 0 or an exit code. */
static int
keys_parse(int argc, char **argv, struct keys_args *a)
{
	uint64_t bits;
	int rc;

	memset(a, 0, sizeof(*a));
	for (int i = 2; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (v == NULL)
			return ctl_fail("%s needs a value\n%s", o, KEYS_USAGE);
		i++;
		if (strcmp(o, "--dir") == 0) {
			a->dir = v;
		} else if (strcmp(o, "--alg") == 0) {
			if (tok_alg_from_name(v, &a->alg) != 0)
				return ctl_fail("unsupported algorithm %s (ES256, EdDSA, RS256, PS256, SM2)",
				    v);
		} else if (strcmp(o, "--rsa-bits") == 0) {
			if (yh_parse_u64(v, TOK_RSA_MIN_BITS, TOK_RSA_MAX_BITS, &bits) != 0)
				return ctl_fail("--rsa-bits: %d..%d", TOK_RSA_MIN_BITS, TOK_RSA_MAX_BITS);
			a->opts.rsa_bits = (unsigned)bits;
		} else if (strcmp(o, "--keep") == 0) {
			if ((rc = parse_duration_opt(o, v, &a->opts.retire_after)) != 0)
				return rc;
		} else if (strcmp(o, "--purge-after") == 0) {
			if ((rc = parse_duration_opt(o, v, &a->opts.purge_after)) != 0)
				return rc;
		} else if (strcmp(o, "--min-age") == 0) {
			if ((rc = parse_duration_opt(o, v, &a->opts.next_min_age)) != 0)
				return rc;
		} else {
			return ctl_fail("unknown option %s\n%s", o, KEYS_USAGE);
		}
	}
	if (a->dir == NULL && ctl_opts.state_dir != NULL) {
		int n = snprintf(a->dirbuf, sizeof(a->dirbuf), "%s/keys", ctl_opts.state_dir);
		if (n < 0 || (size_t)n >= sizeof(a->dirbuf))
			return ctl_fail("state directory path too long");
		a->dir = a->dirbuf;
	}
	if (a->dir == NULL)
		return ctl_fail("--dir DIR is required\n%s", KEYS_USAGE);
	return 0;
}

static void
print_list(const struct tok_ring_snap *s)
{
	struct tok_ring_entry e;
	char when[32];

	for (size_t i = 0; tok_snap_entry(s, i, &e) == 0; i++) {
		yh_time_iso8601(e.created * 1000, when, sizeof(when));
		printf("%-8s %-5s %s created %s", tok_key_state_name(e.state), tok_alg_name(e.alg),
		    e.kid, when);
		if (e.state == TOK_KS_RETIRING) {
			yh_time_iso8601(e.retire_at * 1000, when, sizeof(when));
			printf(" unpublished after %s", when);
		}
		putchar('\n');
	}
}

static int
keys_generate(struct keys_args *a)
{
	struct tok_ring *r = NULL;
	struct tok_ring_snap *s;
	char err[512], path[4200];
	FILE *f;
	int rc;

	if (a->alg == TOK_ALG_UNSET)
		return ctl_fail("keys generate: --alg ALG is required");
	snprintf(path, sizeof(path), "%s/keyring.json", a->dir);
	if ((f = fopen(path, "r")) == NULL) {
		a->opts.alg = a->alg;
		a->opts.create = true;
		rc = tok_ring_open(a->dir, &a->opts, &r, err, sizeof(err));
	} else {
		fclose(f);
		rc = tok_ring_open(a->dir, &a->opts, &r, err, sizeof(err));
		if (rc == 0)
			rc = tok_ring_add_alg(r, a->alg, err, sizeof(err));
	}
	if (rc != 0) {
		tok_ring_free(r);
		return ctl_fail("keys generate: %s", err);
	}
	s = tok_ring_acquire(r);
	print_list(s);
	tok_snap_release(s);
	tok_ring_free(r);
	return 0;
}

static int
keys_rotate(struct keys_args *a)
{
	struct tok_ring *r = NULL;
	struct tok_ring_snap *s;
	char err[512];
	int rc;

	if ((rc = tok_ring_open(a->dir, &a->opts, &r, err, sizeof(err))) != 0 ||
	    (rc = tok_ring_rotate(r, a->alg, err, sizeof(err))) != 0) {
		tok_ring_free(r);
		return ctl_fail("keys rotate: %s", err);
	}
	s = tok_ring_acquire(r);
	print_list(s);
	tok_snap_release(s);
	tok_ring_free(r);
	return 0;
}

static int
keys_show(struct keys_args *a, bool jwks)
{
	struct tok_ring *r = NULL;
	struct tok_ring_snap *s;
	char err[512];

	if (tok_ring_open(a->dir, &a->opts, &r, err, sizeof(err)) != 0)
		return ctl_fail("keys: %s", err);
	s = tok_ring_acquire(r);
	if (jwks)
		printf("%s\n", tok_snap_jwks(s));
	else
		print_list(s);
	tok_snap_release(s);
	tok_ring_free(r);
	return 0;
}

int
ctl_keys(int argc, char **argv)
{
	struct keys_args a;
	int rc;

	if (argc < 2)
		return ctl_fail("%s", KEYS_USAGE);
	if ((rc = keys_parse(argc, argv, &a)) != 0)
		return rc;
	if (strcmp(argv[1], "generate") == 0)
		return keys_generate(&a);
	if (strcmp(argv[1], "rotate") == 0)
		return keys_rotate(&a);
	if (strcmp(argv[1], "jwks") == 0)
		return keys_show(&a, true);
	if (strcmp(argv[1], "list") == 0)
		return keys_show(&a, false);
	return ctl_fail("%s", KEYS_USAGE);
}
