/*
 * authctl jwt sign|verify: sign a claims set with the key ring, verify a token.
 *
 *   jwt sign --dir DIR [--alg ALG] [--typ TYP] < claims.json
 *       prints the compact JWS signed by the ring's active key (of ALG when given)
 *   jwt verify --jwks FILE [--alg ALG]... [--iss ISS] [--aud AUD] [--typ TYP]
 *              [--kind jwt|id|access|logout] [--leeway SECONDS] < token
 *       prints the verified claims as JSON (exit 0), or one line naming the failure on
 *       stderr (exit 1). Without --alg the allow-list is every alg the JWKS keys declare
 *       (a key without "alg" declares its family's only alg; an RSA key without "alg"
 *       declares none: pass --alg RS256 or --alg PS256).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "authctl/ctl.h"
#include "common/buf.h"
#include "token/jwk.h"
#include "token/jws.h"
#include "token/jwt.h"
#include "token/keyring.h"

#define JWT_USAGE                                                                         \
	"usage: authctl jwt sign --dir DIR [--alg ALG] [--typ TYP] < claims.json\n"           \
	"       authctl jwt verify --jwks FILE [--alg ALG]... [--iss ISS] [--aud AUD] "        \
	"[--typ TYP] [--kind jwt|id|access|logout] [--leeway SECONDS] < token"

/* Reads all of fd into b (bounded by b's max). */
static int
read_fd(int fd, struct yh_buf *b)
{
	char chunk[4096];
	int rc;

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return YH_ERR_IO;
		if (n == 0)
			return 0;
		if ((rc = yh_buf_append(b, chunk, (size_t)n)) != 0)
			return rc;
	}
}

static int
read_path(const char *path, struct yh_buf *b)
{
	FILE *f = fopen(path, "r");
	int rc;

	if (f == NULL)
		return YH_ERR_IO;
	rc = read_fd(fileno(f), b);
	fclose(f);
	return rc;
}

static int
jwt_sign(int argc, char **argv)
{
	const char *dir = NULL, *typ = NULL;
	enum tok_alg alg = TOK_ALG_UNSET;
	struct tok_ring *r = NULL;
	struct tok_ring_snap *s = NULL;
	const struct tok_key *key;
	struct yh_buf in;
	json_error_t je;
	json_t *claims = NULL;
	char err[512], *tok = NULL;
	int rc, ex = 2;

	yh_buf_init(&in, TOK_JWS_MAX);
	/* Every option takes a value: step over both. */
	for (int i = 2; i < argc; i += 2) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (v != NULL && strcmp(argv[i], "--dir") == 0)
			dir = v;
		else if (v != NULL && strcmp(argv[i], "--typ") == 0)
			typ = v;
		else if (v != NULL && strcmp(argv[i], "--alg") == 0) {
			if (tok_alg_from_name(v, &alg) != 0) {
				ctl_fail("unsupported algorithm %s", v);
				goto out;
			}
		} else {
			ctl_fail("%s", JWT_USAGE);
			goto out;
		}
	}
	if (dir == NULL) {
		ctl_fail("jwt sign: --dir DIR is required");
		goto out;
	}
	if ((rc = read_fd(0, &in)) != 0) {
		ctl_fail("jwt sign: reading claims: %s", yh_strerror(rc));
		goto out;
	}
	claims = json_loadb(in.data != NULL ? in.data : "", in.len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(claims)) {
		ctl_fail("jwt sign: claims are not a JSON object (line %d: %s)", je.line,
		    claims == NULL ? je.text : "not an object");
		goto out;
	}
	if (tok_ring_open(dir, NULL, &r, err, sizeof(err)) != 0) {
		ctl_fail("jwt sign: %s", err);
		goto out;
	}
	s = tok_ring_acquire(r);
	if ((key = tok_snap_signing_key(s, alg)) == NULL) {
		ctl_fail("jwt sign: %s has no active %s key", dir,
		    tok_alg_name(alg != TOK_ALG_UNSET ? alg : tok_snap_default_alg(s)));
		goto out;
	}
	if ((rc = tok_jwt_sign(key, typ, claims, &tok)) != 0) {
		ctl_fail("jwt sign: %s", yh_strerror(rc));
		goto out;
	}
	printf("%s\n", tok);
	ex = 0;
out:
	free(tok);
	json_decref(claims);
	tok_snap_release(s);
	tok_ring_free(r);
	yh_buf_free(&in);
	return ex;
}

/* The algs the keys declare (see the top of this file). */
static unsigned
declared_algs(const struct tok_keyset *set)
{
	unsigned algs = 0;

	for (size_t i = 0; i < set->n; i++) {
		enum tok_alg a = tok_key_alg(set->keys[i]);
		if (a == TOK_ALG_UNSET && tok_key_family(set->keys[i]) != TOK_FAM_RSA)
			a = tok_key_sign_alg(set->keys[i]);
		if (a != TOK_ALG_UNSET)
			algs |= TOK_ALGSET(a);
	}
	return algs;
}

static int
parse_kind(const char *v, enum tok_kind *k)
{
	static const char *const names[] = { "jwt", "id", "access", "logout" };

	for (int i = 0; i < 4; i++)
		if (strcmp(v, names[i]) == 0) {
			*k = (enum tok_kind)i;
			return 0;
		}
	return -1;
}

/* Parses the verify options into chk, jwks path and allow bits. Returns 0 or exit code. */
static int
verify_args(int argc, char **argv, struct tok_check *chk, const char **jwks,
    unsigned *allow)
{
	uint64_t u;
	enum tok_alg a;

	for (int i = 2; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (v == NULL)
			return ctl_fail("%s needs a value\n%s", o, JWT_USAGE);
		i++;
		if (strcmp(o, "--jwks") == 0)
			*jwks = v;
		else if (strcmp(o, "--iss") == 0)
			chk->iss = v;
		else if (strcmp(o, "--aud") == 0)
			chk->aud = v;
		else if (strcmp(o, "--typ") == 0)
			chk->typ = v;
		else if (strcmp(o, "--alg") == 0) {
			if (tok_alg_from_name(v, &a) != 0)
				return ctl_fail("unsupported algorithm %s", v);
			*allow |= TOK_ALGSET(a);
		} else if (strcmp(o, "--kind") == 0) {
			if (parse_kind(v, &chk->kind) != 0)
				return ctl_fail("--kind: jwt, id, access or logout");
		} else if (strcmp(o, "--leeway") == 0) {
			if (yh_parse_u64(v, 0, TOK_LEEWAY_MAX, &u) != 0)
				return ctl_fail("--leeway: 0..%d seconds", TOK_LEEWAY_MAX);
			chk->leeway = (int64_t)u;
		} else
			return ctl_fail("unknown option %s\n%s", o, JWT_USAGE);
	}
	if (*jwks == NULL)
		return ctl_fail("jwt verify: --jwks FILE is required");
	if (chk->kind != TOK_KIND_JWT && (chk->iss == NULL || chk->aud == NULL))
		return ctl_fail("jwt verify: --kind %s needs --iss and --aud",
		    chk->kind == TOK_KIND_ID ? "id" : chk->kind == TOK_KIND_ACCESS ? "access" :
		    "logout");
	return 0;
}

static int
jwt_verify(int argc, char **argv)
{
	struct tok_check chk;
	struct tok_keyset set;
	struct tok_jwt jwt;
	struct yh_buf jb, tb;
	struct yh_span t;
	const char *jwks = NULL;
	unsigned allow = 0;
	char why[256], *out = NULL;
	int rc, ex = 2;

	memset(&chk, 0, sizeof(chk));
	memset(&jwt, 0, sizeof(jwt));
	tok_keyset_init(&set);
	yh_buf_init(&jb, TOK_JWKS_MAX);
	yh_buf_init(&tb, TOK_JWS_MAX + 64);
	if ((ex = verify_args(argc, argv, &chk, &jwks, &allow)) != 0)
		goto out;
	ex = 2;
	if ((rc = read_path(jwks, &jb)) != 0) {
		ctl_fail("%s: %s", jwks, rc == YH_ERR_IO ? strerror(errno) : yh_strerror(rc));
		goto out;
	}
	if ((rc = tok_jwks_parse(yh_buf_cstr(&jb), jb.len, 0, &set)) != 0) {
		ctl_fail("%s: not a usable JWKS: %s", jwks, yh_strerror(rc));
		goto out;
	}
	if (allow == 0 && (allow = declared_algs(&set)) == 0) {
		ctl_fail("%s: no key declares an alg; pass --alg", jwks);
		goto out;
	}
	if ((rc = read_fd(0, &tb)) != 0) {
		ctl_fail("jwt verify: reading the token: %s", yh_strerror(rc));
		goto out;
	}
	ex = 1;
	t = yh_span_trim(yh_span_mem(tb.data != NULL ? tb.data : "", tb.len));
	if ((rc = tok_jwt_verify(t.p, t.len, &set, allow, &chk, &jwt, why, sizeof(why))) != 0) {
		fprintf(stderr, "authctl: jwt verify: %s (%s)\n", why, yh_errname(rc));
		goto out;
	}
	if ((out = json_dumps(jwt.claims, JSON_COMPACT)) == NULL) {
		ex = ctl_fail("out of memory");
		goto out;
	}
	printf("%s\n", out);
	ex = 0;
out:
	free(out);
	tok_jwt_clear(&jwt);
	tok_keyset_clear(&set);
	yh_buf_free(&jb);
	yh_buf_free(&tb);
	return ex;
}

int
ctl_jwt(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "sign") == 0)
		return jwt_sign(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "verify") == 0)
		return jwt_verify(argc, argv);
	return ctl_fail("%s", JWT_USAGE);
}
