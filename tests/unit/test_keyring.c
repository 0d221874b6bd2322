/* Unit tests for token/keyring: first start, rotation, retirement, reload, files. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "common/err.h"
#include "token/jwk.h"
#include "token/jws.h"
#include "token/keyring.h"

static int64_t fake_now = 1700000000;

static int64_t
fake_clock(void)
{
	return fake_now;
}

struct fix {
	char dir[64];
	struct tok_ring_opts opts;
};

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/yh-ring-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	f->opts.create = true;
	f->opts.clock = fake_clock;
	f->opts.retire_after = 100;
	f->opts.purge_after = 50;
	fake_now = 1700000000;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;
	DIR *d = opendir(f->dir);
	struct dirent *e;
	char p[512];

	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' && (e->d_name[1] == '\0' || strcmp(e->d_name, "..") == 0))
			continue;
		snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name);
		unlink(p);
	}
	if (d != NULL)
		closedir(d);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void
path_of(const struct fix *f, const char *name, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s/%s", f->dir, name);
}

static void
pem_path(const struct fix *f, const char *kid, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s/%s.pem", f->dir, kid);
}

static bool
jwks_has(const struct tok_ring_snap *s, const char *kid)
{
	json_t *j = json_loads(tok_snap_jwks(s), 0, NULL), *k;
	size_t i;
	bool found = false;

	assert_non_null(j);
	json_array_foreach(json_object_get(j, "keys"), i, k) {
		const char *kk = json_string_value(json_object_get(k, "kid"));
		assert_null(json_object_get(k, "d"));  /* never private members */
		if (kk != NULL && strcmp(kk, kid) == 0)
			found = true;
	}
	json_decref(j);
	return found;
}

static size_t
jwks_count(const struct tok_ring_snap *s)
{
	json_t *j = json_loads(tok_snap_jwks(s), 0, NULL);
	size_t n;

	assert_non_null(j);
	n = json_array_size(json_object_get(j, "keys"));
	json_decref(j);
	return n;
}

/* kid of the first entry in state st for alg (NULL if none). */
static const char *
kid_in_state(const struct tok_ring_snap *s, enum tok_alg alg, enum tok_key_state st)
{
	struct tok_ring_entry e;

	for (size_t i = 0; tok_snap_entry(s, i, &e) == 0; i++)
		if (e.alg == alg && e.state == st)
			return e.kid;
	return NULL;
}

static mode_t
mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static char *
sign_with(const struct tok_ring_snap *s)
{
	char *tok = NULL;

	assert_int_equal(tok_jws_sign(tok_snap_signing_key(s, TOK_ALG_UNSET), NULL, "{}", 2,
	    &tok), 0);
	return tok;
}

static int
verify_with(const struct tok_ring_snap *s, const char *tok)
{
	struct tok_jws jws;
	int rc = tok_jws_verify(tok, strlen(tok), tok_snap_keyset(s), tok_snap_algs(s), &jws);

	tok_jws_clear(&jws);
	return rc;
}

static void
test_first_start(void **state)
{
	struct fix *f = *state;
	struct tok_ring *r = NULL, *r2 = NULL;
	struct tok_ring_snap *s, *s2;
	const struct tok_key *k;
	char err[256], p[256], tp[TOK_THUMBPRINT_LEN + 1], active[64], next[64];

	assert_int_equal(tok_ring_open(f->dir, &f->opts, &r, err, sizeof(err)), 0);
	s = tok_ring_acquire(r);
	k = tok_snap_signing_key(s, TOK_ALG_UNSET);
	assert_non_null(k);
	assert_true(tok_key_is_private(k));
	assert_int_equal(tok_key_alg(k), TOK_ALG_ES256);
	assert_int_equal(tok_snap_default_alg(s), TOK_ALG_ES256);
	assert_int_equal(tok_jwk_thumbprint(k, tp), 0);
	assert_string_equal(tok_key_kid(k), tp);
	assert_int_equal(tok_snap_count(s), 2);
	snprintf(active, sizeof(active), "%s", kid_in_state(s, TOK_ALG_ES256, TOK_KS_ACTIVE));
	snprintf(next, sizeof(next), "%s", kid_in_state(s, TOK_ALG_ES256, TOK_KS_NEXT));
	assert_string_equal(active, tp);
	assert_string_not_equal(active, next);
	assert_int_equal(jwks_count(s), 2);
	assert_true(jwks_has(s, active));
	assert_true(jwks_has(s, next));
	assert_null(tok_snap_signing_key(s, TOK_ALG_EDDSA));
	assert_int_equal(tok_snap_algs(s), TOK_ALGSET(TOK_ALG_ES256));
	assert_int_equal(tok_snap_keyset(s)->n, 2);
	assert_false(tok_key_is_private(tok_snap_keyset(s)->keys[0]));
	assert_string_equal(tok_key_kid(tok_snap_keyset(s)->keys[0]), active);

	/* file modes */
	assert_int_equal(mode_of(f->dir), 0700);
	pem_path(f, active, p, sizeof(p));
	assert_int_equal(mode_of(p), 0600);
	pem_path(f, next, p, sizeof(p));
	assert_int_equal(mode_of(p), 0600);
	path_of(f, "keyring.json", p, sizeof(p));
	assert_int_equal(mode_of(p), 0600);

	/* a second open (no create) finds the same keys, not new ones */
	f->opts.create = false;
	assert_int_equal(tok_ring_open(f->dir, &f->opts, &r2, err, sizeof(err)), 0);
	s2 = tok_ring_acquire(r2);
	assert_string_equal(tok_key_kid(tok_snap_signing_key(s2, TOK_ALG_UNSET)), active);
	assert_string_equal(tok_snap_jwks(s2), tok_snap_jwks(s));
	tok_snap_release(s2);
	tok_ring_free(r2);
	/* create on an existing ring keeps it too */
	f->opts.create = true;
	assert_int_equal(tok_ring_open(f->dir, &f->opts, &r2, err, sizeof(err)), 0);
	s2 = tok_ring_acquire(r2);
	assert_string_equal(tok_key_kid(tok_snap_signing_key(s2, TOK_ALG_UNSET)), active);
	tok_snap_release(s2);
	tok_ring_free(r2);

	tok_snap_release(s);
	tok_ring_free(r);
}

static void
test_open_missing(void **state)
{
	struct fix *f = *state;
	struct tok_ring *r = NULL;
	char err[256], sub[128];

	f->opts.create = false;
	assert_int_equal(tok_ring_open(f->dir, &f->opts, &r, err, sizeof(err)), YH_ERR_NOT_FOUND);
	assert_null(r);
	assert_non_null(strstr(err, "keyring.json"));
	/* create makes a missing directory, mode 0700 */
	snprintf(sub, sizeof(sub), "%s/sub", f->dir);
	f->opts.create = true;
	f->opts.alg = TOK_ALG_EDDSA;
	assert_int_equal(tok_ring_open(sub, &f->opts, &r, err, sizeof(err)), 0);
	assert_int_equal(mode_of(sub), 0700);
	{
		struct tok_ring_snap *s = tok_ring_acquire(r);
		assert_int_equal(tok_snap_default_alg(s), TOK_ALG_EDDSA);
		assert_int_equal(tok_key_alg(tok_snap_signing_key(s, TOK_ALG_UNSET)), TOK_ALG_EDDSA);
		for (size_t i = 0; i < 2; i++) {
			struct tok_ring_entry e;
			char p[256];
			assert_int_equal(tok_snap_entry(s, i, &e), 0);
			snprintf(p, sizeof(p), "%s/%s.pem", sub, e.kid);
			unlink(p);
		}
		tok_snap_release(s);
	}
	tok_ring_free(r);
	{
		char p[256];
		snprintf(p, sizeof(p), "%s/keyring.json", sub);
		unlink(p);
		snprintf(p, sizeof(p), "%s/keyring.lock", sub);
		unlink(p);
	}
	assert_int_equal(rmdir(sub), 0);
	/* a directory others can write to is refused */
	assert_int_equal(chmod(f->dir, 0777), 0);
	assert_int_equal(tok_ring_open(f->dir, &f->opts, &r, err, sizeof(err)), YH_ERR_PERM);
	assert_int_equal(chmod(f->dir, 0700), 0);
}

static void
test_rotation_publishes_next_first(void **state)
{
	struct fix *f = *state;
	struct tok_ring *r = NULL;
	struct tok_ring_snap *s1, *s2;
	char err[256], a1[64], n1[64], *old_tok;
	const char *n2;

	assert_int_equal(tok_ring_open(f->dir, &f->opts, &r, err, sizeof(err)), 0);
	s1 = tok_ring_acquire(r);
	snprintf(a1, sizeof(a1), "%s", kid_in_state(s1, TOK_ALG_ES256, TOK_KS_ACTIVE));
	snprintf(n1, sizeof(n1), "%s", kid_in_state(s1, TOK_ALG_ES256, TOK_KS_NEXT));
	/* the key that will sign next is already published, and does not sign yet */
	assert_true(jwks_has(s1, n1));
	assert_string_equal(tok_key_kid(tok_snap_signing_key(s1, TOK_ALG_UNSET)), a1);
	old_tok = sign_with(s1);

	fake_now += 10;
	assert_int_equal(tok_ring_rotate(r, TOK_ALG_UNSET, err, sizeof(err)), 0);
	s2 = tok_ring_acquire(r);
	/* the old next signs now */
	assert_string_equal(tok_key_kid(tok_snap_signing_key(s2, TOK_ALG_UNSET)), n1);
	assert_string_equal(kid_in_state(s2, TOK_ALG_ES256, TOK_KS_RETIRING), a1);
	n2 = kid_in_state(s2, TOK_ALG_ES256, TOK_KS_NEXT);
	assert_non_null(n2);
	assert_string_not_equal(n2, n1);
	assert_string_not_equal(n2, a1);
	/* JWKS: active, new next, retiring */
	assert_int_equal(jwks_count(s2), 3);
	assert_true(jwks_has(s2, a1));
	assert_true(jwks_has(s2, n1));
	assert_true(jwks_has(s2, n2));
	/* a token signed before the rotation still verifies */
	assert_int_equal(verify_with(s2, old_tok), 0);
	/* the snapshot taken before is unchanged */
	assert_string_equal(tok_key_kid(tok_snap_signing_key(s1, TOK_ALG_UNSET)), a1);
	assert_int_equal(jwks_count(s1), 2);
	{
		struct tok_ring_entry e;
		for (size_t i = 0; tok_snap_entry(s2, i, &e) == 0; i++) {
			if (strcmp(e.kid, a1) == 0) {
				assert_int_equal(e.retiring, fake_now);
				assert_int_equal(e.retire_at, fake_now + 100);
			}
			if (strcmp(e.kid, n1) == 0)
				assert_int_equal(e.activated, fake_now);
		}
	}
	free(old_tok);
	tok_snap_release(s1);
	tok_snap_release(s2);
	tok_ring_free(r);
}

static void
test_retire_and_purge(void **state)
{
	struct fix *f = *state;
	struct tok_ring *r = NULL;
	struct tok_ring_snap *s;
	char err[256], a1[64], p[256], *old_tok;
	int64_t t0 = fake_now;

	assert_int_equal(tok_ring_open(f->dir, &f->opts, &r, err, sizeof(err)), 0);
	s = tok_ring_acquire(r);
	snprintf(a1, sizeof(a1), "%s", kid_in_state(s, TOK_ALG_ES256, TOK_KS_ACTIVE));
	old_tok = sign_with(s);
	tok_snap_release(s);
	pem_path(f, a1, p, sizeof(p));

	assert_int_equal(tok_ring_rotate(r, TOK_ALG_UNSET, err, sizeof(err)), 0);
	/* one second before retire_at: still published and accepted */
	fake_now = t0 + 99;
	assert_int_equal(tok_ring_reload(r, err, sizeof(err)), 0);
	s = tok_ring_acquire(r);
	assert_true(jwks_has(s, a1));
	assert_int_equal(verify_with(s, old_tok), 0);
	tok_snap_release(s);
	/* at retire_at: unpublished, its tokens refused, file still there */
	fake_now = t0 + 100;
	assert_int_equal(tok_ring_reload(r, err, sizeof(err)), 0);
	s = tok_ring_acquire(r);
	assert_false(jwks_has(s, a1));
	assert_int_equal(jwks_count(s), 2);
	assert_int_equal(verify_with(s, old_tok), YH_ERR_NOT_FOUND);
	assert_string_equal(kid_in_state(s, TOK_ALG_ES256, TOK_KS_RETIRED), a1);
	tok_snap_release(s);
	assert_int_equal(access(p, F_OK), 0);

	/* the next rotation records it retired; the file stays for purge_after */
	fake_now = t0 + 200;
	assert_int_equal(tok_ring_rotate(r, TOK_ALG_UNSET, err, sizeof(err)), 0);
	assert_int_equal(access(p, F_OK), 0);
	s = tok_ring_acquire(r);
	{
		struct tok_ring_entry e;
		bool seen = false;
		for (size_t i = 0; tok_snap_entry(s, i, &e) == 0; i++)
			if (strcmp(e.kid, a1) == 0) {
				seen = true;
				assert_int_equal(e.state, TOK_KS_RETIRED);
				assert_int_equal(e.retired, t0 + 200);
			}
		assert_true(seen);
	}
	tok_snap_release(s);
	/* a rotation after purge_after deletes the file and the record */
	fake_now = t0 + 250;
	assert_int_equal(tok_ring_rotate(r, TOK_ALG_UNSET, err, sizeof(err)), 0);
	assert_int_equal(access(p, F_OK), -1);
	s = tok_ring_acquire(r);
	for (size_t i = 0; i < tok_snap_count(s); i++) {
		struct tok_ring_entry e;
		assert_int_equal(tok_snap_entry(s, i, &e), 0);
		assert_string_not_equal(e.kid, a1);
	}
	tok_snap_release(s);
	free(old_tok);
	tok_ring_free(r);
}

/*
 * Another node's public keys (tok_ring_set_peers): its tokens verify here, its keys are
 * in the JWKS after this ring's own (tok_snap_own_jwks stays the own ones), a reload
 * keeps them, they never sign, and setting none takes them away.
 */
static void
test_peers(void **state)
{
	struct fix *f = *state;
	struct tok_ring *a = NULL, *b = NULL;
	struct tok_ring_snap *sa, *sb;
	char err[256], dir2[96], *tok;
	const char *peer;

	snprintf(dir2, sizeof(dir2), "%s/other", f->dir);
	assert_int_equal(mkdir(dir2, 0700), 0);
	assert_int_equal(tok_ring_open(f->dir, &f->opts, &a, err, sizeof(err)), 0);
	assert_int_equal(tok_ring_open(dir2, &f->opts, &b, err, sizeof(err)), 0);
	sb = tok_ring_acquire(b);
	tok = sign_with(sb);
	sa = tok_ring_acquire(a);
	assert_int_not_equal(verify_with(sa, tok), 0);
	tok_snap_release(sa);

	peer = tok_snap_own_jwks(sb);
	assert_int_equal(tok_ring_set_peers(a, &peer, 1), 0);
	sa = tok_ring_acquire(a);
	assert_int_equal(verify_with(sa, tok), 0);
	assert_int_equal(jwks_count(sa), 4);
	assert_int_equal(jwks_count(sb), 2);
	assert_null(strstr(tok_snap_own_jwks(sa), tok_key_kid(tok_snap_signing_key(sb,
	    TOK_ALG_UNSET))));
	assert_string_not_equal(tok_key_kid(tok_snap_signing_key(sa, TOK_ALG_UNSET)),
	    tok_key_kid(tok_snap_signing_key(sb, TOK_ALG_UNSET)));
	tok_snap_release(sa);
	/* a reload (after a rotation here) keeps the peers */
	assert_int_equal(tok_ring_rotate(a, TOK_ALG_UNSET, err, sizeof(err)), 0);
	assert_int_equal(tok_ring_reload(a, err, sizeof(err)), 0);
	sa = tok_ring_acquire(a);
	assert_int_equal(verify_with(sa, tok), 0);
	tok_snap_release(sa);
	/* none: gone */
	assert_int_equal(tok_ring_set_peers(a, NULL, 0), 0);
	sa = tok_ring_acquire(a);
	assert_int_not_equal(verify_with(sa, tok), 0);
	tok_snap_release(sa);
	free(tok);
	tok_snap_release(sb);
	tok_ring_free(a);
	tok_ring_free(b);
	/* teardown removes files only */
	{
		char p[512];
		DIR *d = opendir(dir2);
		struct dirent *e;

		while (d != NULL && (e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/%s", dir2, e->d_name);
			unlink(p);
		}
		if (d != NULL)
			closedir(d);
		rmdir(dir2);
	}
}

static void
test_reload_other_instance(void **state)
{
	struct fix *f = *state;
	struct tok_ring *a = NULL, *b = NULL;
	struct tok_ring_snap *sa, *sb, *held;
	char err[256], *tok;

	assert_int_equal(tok_ring_open(f->dir, &f->opts, &a, err, sizeof(err)), 0);
	assert_int_equal(tok_ring_open(f->dir, &f->opts, &b, err, sizeof(err)), 0);
	held = tok_ring_acquire(a);
	assert_int_equal(tok_ring_rotate(b, TOK_ALG_UNSET, err, sizeof(err)), 0);
	sb = tok_ring_acquire(b);
	/* a still signs with the old key until it reloads */
	sa = tok_ring_acquire(a);
	assert_string_not_equal(tok_key_kid(tok_snap_signing_key(sa, TOK_ALG_UNSET)),
	    tok_key_kid(tok_snap_signing_key(sb, TOK_ALG_UNSET)));
	tok_snap_release(sa);
	assert_int_equal(tok_ring_reload(a, err, sizeof(err)), 0);
	sa = tok_ring_acquire(a);
	assert_string_equal(tok_key_kid(tok_snap_signing_key(sa, TOK_ALG_UNSET)),
	    tok_key_kid(tok_snap_signing_key(sb, TOK_ALG_UNSET)));
	assert_string_equal(tok_snap_jwks(sa), tok_snap_jwks(sb));
	/* a token from b verifies at a */
	tok = sign_with(sb);
	assert_int_equal(verify_with(sa, tok), 0);
	/* the snapshot held across the reload is still whole and usable, and already knew
	 * the key that signs now (it was published as next) */
	assert_int_equal(verify_with(held, tok), 0);
	assert_int_equal(jwks_count(held), 2);
	free(tok);
	tok = sign_with(held);
	assert_int_equal(verify_with(sa, tok), 0);  /* retiring key still accepted */
	free(tok);
	tok_snap_release(held);
	tok_snap_release(sa);
	tok_snap_release(sb);
	tok_ring_free(a);
	tok_ring_free(b);
}

static void
write_text(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static char *
read_text(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf = calloc(1, 65536);
	size_t n;

	assert_non_null(fp);
	assert_non_null(buf);
	n = fread(buf, 1, 65535, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static void
test_corrupt_state(void **state)
{
	struct fix *f = *state;
	struct tok_ring *r = NULL, *r2 = NULL;
	struct tok_ring_snap *s;
	char err[256], p[256], *orig, *bad, *at;
	char kid[64];

	assert_int_equal(tok_ring_open(f->dir, &f->opts, &r, err, sizeof(err)), 0);
	s = tok_ring_acquire(r);
	snprintf(kid, sizeof(kid), "%s", tok_key_kid(tok_snap_signing_key(s, TOK_ALG_UNSET)));
	tok_snap_release(s);
	path_of(f, "keyring.json", p, sizeof(p));
	orig = read_text(p);

	/* truncated JSON: the message names the file and the line */
	write_text(p, "{\n  \"format\": \"yihao-keyring/1\",\n  \"keys\": [\n");
	err[0] = '\0';
	assert_int_equal(tok_ring_reload(r, err, sizeof(err)), YH_ERR_INVALID);
	assert_non_null(strstr(err, "keyring.json"));
	assert_non_null(strstr(err, "line"));
	/* the ring keeps its last good snapshot */
	s = tok_ring_acquire(r);
	assert_string_equal(tok_key_kid(tok_snap_signing_key(s, TOK_ALG_UNSET)), kid);
	tok_snap_release(s);
	f->opts.create = true;  /* create must not paper over a broken ring */
	assert_int_equal(tok_ring_open(f->dir, &f->opts, &r2, err, sizeof(err)), YH_ERR_INVALID);
	assert_null(r2);

	/* two active keys */
	at = strstr(orig, "\"state\": \"next\"");
	assert_non_null(at);
	{
		const char *from = "\"state\": \"next\"", *to = "\"state\": \"active\"";
		size_t pre = (size_t)(at - orig), rest = strlen(at + strlen(from));
		bad = calloc(1, strlen(orig) + 8);
		assert_non_null(bad);
		memcpy(bad, orig, pre);
		memcpy(bad + pre, to, strlen(to));
		memcpy(bad + pre + strlen(to), at + strlen(from), rest + 1);
		write_text(p, bad);
		assert_int_equal(tok_ring_reload(r, err, sizeof(err)), YH_ERR_INVALID);
		assert_non_null(strstr(err, "2 active"));
		/* an unknown state */
		memcpy(bad + pre, "\"state\": \"zzzzzz\"", strlen(to));
		write_text(p, bad);
		assert_int_equal(tok_ring_reload(r, err, sizeof(err)), YH_ERR_INVALID);
		assert_non_null(strstr(err, "state must be"));
	}
	/* an unknown member */
	write_text(p, "{\"format\":\"yihao-keyring/1\",\"default_alg\":\"ES256\",\"keys\":[],"
	    "\"extra\":1}");
	assert_int_equal(tok_ring_reload(r, err, sizeof(err)), YH_ERR_INVALID);
	assert_non_null(strstr(err, "extra"));
	/* a path-like kid */
	write_text(p, "{\"format\":\"yihao-keyring/1\",\"default_alg\":\"ES256\",\"keys\":[{\"kid\":"
	    "\"../../etc/passwd\",\"alg\":\"ES256\",\"state\":\"active\",\"created\":1}]}");
	assert_int_equal(tok_ring_reload(r, err, sizeof(err)), YH_ERR_INVALID);
	assert_non_null(strstr(err, "kid"));
	/* "none" is not an alg */
	write_text(p, "{\"format\":\"yihao-keyring/1\",\"default_alg\":\"none\",\"keys\":[]}");
	assert_int_equal(tok_ring_reload(r, err, sizeof(err)), YH_ERR_INVALID);
	/* back to the original: loads again */
	write_text(p, orig);
	assert_int_equal(chmod(p, 0600), 0);
	assert_int_equal(tok_ring_reload(r, err, sizeof(err)), 0);
	free(bad);
	free(orig);
	tok_ring_free(r);
}

static void
test_key_files(void **state)
{
	struct fix *f = *state;
	struct tok_ring *r = NULL;
	struct tok_ring_snap *s;
	char err[256], pa[256], pn[256], *a, *n;

	assert_int_equal(tok_ring_open(f->dir, &f->opts, &r, err, sizeof(err)), 0);
	s = tok_ring_acquire(r);
	pem_path(f, kid_in_state(s, TOK_ALG_ES256, TOK_KS_ACTIVE), pa, sizeof(pa));
	pem_path(f, kid_in_state(s, TOK_ALG_ES256, TOK_KS_NEXT), pn, sizeof(pn));
	tok_snap_release(s);
	a = read_text(pa);
	n = read_text(pn);

	/* group-readable key file: refused */
	assert_int_equal(chmod(pa, 0640), 0);
	assert_int_equal(tok_ring_reload(r, err, sizeof(err)), YH_ERR_PERM);
	assert_non_null(strstr(err, "chmod"));
	assert_int_equal(chmod(pa, 0600), 0);
	/* a key file holding another key than its kid says */
	write_text(pa, n);
	assert_int_equal(tok_ring_reload(r, err, sizeof(err)), YH_ERR_KEY);
	assert_non_null(strstr(err, "does not match"));
	write_text(pa, a);
	assert_int_equal(tok_ring_reload(r, err, sizeof(err)), 0);
	/* a missing key file */
	assert_int_equal(unlink(pn), 0);
	assert_int_equal(tok_ring_reload(r, err, sizeof(err)), YH_ERR_KEY);
	assert_non_null(strstr(err, "missing, though keyring.json names it"));
	write_text(pn, n);
	assert_int_equal(chmod(pn, 0600), 0);
	assert_int_equal(tok_ring_reload(r, err, sizeof(err)), 0);
	/* a directory others may read: refused (so is one they may write) */
	assert_int_equal(chmod(f->dir, 0750), 0);
	assert_int_equal(tok_ring_reload(r, err, sizeof(err)), YH_ERR_PERM);
	assert_non_null(strstr(err, "key directory accessible by group or others (mode 750)"));
	assert_int_equal(chmod(f->dir, 0700), 0);
	if (geteuid() == 0) {
		/* another account's key file, or directory: refused, never used (root can
		 * read them, so only the owner tells) */
		assert_int_equal(chown(pa, 4242, 4242), 0);
		assert_int_equal(tok_ring_reload(r, err, sizeof(err)), YH_ERR_PERM);
		assert_non_null(strstr(err, ".pem: owned by uid 4242, not by uid 0"));
		assert_int_equal(chown(pa, 0, 0), 0);
		assert_int_equal(chown(f->dir, 4242, 4242), 0);
		assert_int_equal(tok_ring_reload(r, err, sizeof(err)), YH_ERR_PERM);
		assert_non_null(strstr(err, "key directory owned by uid 4242"));
		assert_int_equal(chown(f->dir, 0, 0), 0);
	}
	assert_int_equal(tok_ring_reload(r, err, sizeof(err)), 0);
	free(a);
	free(n);
	tok_ring_free(r);
}

static void
test_add_alg_and_min_age(void **state)
{
	struct fix *f = *state;
	struct tok_ring *r = NULL;
	struct tok_ring_snap *s;
	char err[256], ed[64], es[64];

	f->opts.next_min_age = 3600;
	assert_int_equal(tok_ring_open(f->dir, &f->opts, &r, err, sizeof(err)), 0);
	assert_int_equal(tok_ring_add_alg(r, TOK_ALG_EDDSA, err, sizeof(err)), 0);
	assert_int_equal(tok_ring_add_alg(r, TOK_ALG_EDDSA, err, sizeof(err)), YH_ERR_EXISTS);
	s = tok_ring_acquire(r);
	assert_non_null(tok_snap_signing_key(s, TOK_ALG_EDDSA));
	assert_int_equal(tok_snap_default_alg(s), TOK_ALG_ES256);
	assert_int_equal(jwks_count(s), 4);
	assert_int_equal(tok_snap_algs(s), TOK_ALGSET(TOK_ALG_ES256) | TOK_ALGSET(TOK_ALG_EDDSA));
	snprintf(ed, sizeof(ed), "%s", kid_in_state(s, TOK_ALG_EDDSA, TOK_KS_NEXT));
	snprintf(es, sizeof(es), "%s", kid_in_state(s, TOK_ALG_ES256, TOK_KS_NEXT));
	tok_snap_release(s);

	/* the next keys are too fresh to promote */
	fake_now += 3599;
	assert_int_equal(tok_ring_rotate(r, TOK_ALG_UNSET, err, sizeof(err)), YH_ERR_BUSY);
	assert_non_null(strstr(err, "published"));
	assert_int_equal(tok_ring_rotate(r, TOK_ALG_RS256, err, sizeof(err)), YH_ERR_NOT_FOUND);
	fake_now += 1;
	/* one alg only */
	assert_int_equal(tok_ring_rotate(r, TOK_ALG_EDDSA, err, sizeof(err)), 0);
	s = tok_ring_acquire(r);
	assert_string_equal(tok_key_kid(tok_snap_signing_key(s, TOK_ALG_EDDSA)), ed);
	assert_string_equal(kid_in_state(s, TOK_ALG_ES256, TOK_KS_NEXT), es);
	assert_int_equal(jwks_count(s), 5);
	tok_snap_release(s);
	/* every alg */
	assert_int_equal(tok_ring_rotate(r, TOK_ALG_UNSET, err, sizeof(err)), YH_ERR_BUSY);
	fake_now += 3600;
	assert_int_equal(tok_ring_rotate(r, TOK_ALG_UNSET, err, sizeof(err)), 0);
	s = tok_ring_acquire(r);
	assert_string_equal(tok_key_kid(tok_snap_signing_key(s, TOK_ALG_ES256)), es);
	tok_snap_release(s);
	tok_ring_free(r);
}

/* Readers sign and verify while another thread rotates and reloads. */
struct race {
	struct tok_ring *r;
	int fails;
};

static void *
reader(void *arg)
{
	struct race *rc = arg;

	for (int i = 0; i < 200; i++) {
		struct tok_ring_snap *s = tok_ring_acquire(rc->r);
		char *tok = NULL;
		if (tok_jws_sign(tok_snap_signing_key(s, TOK_ALG_UNSET), NULL, "{}", 2, &tok) != 0 ||
		    verify_with(s, tok) != 0)
			__atomic_add_fetch(&rc->fails, 1, __ATOMIC_RELAXED);
		free(tok);
		tok_snap_release(s);
	}
	return NULL;
}

static void
test_concurrent_reload(void **state)
{
	struct fix *f = *state;
	struct race rc = { 0 };
	pthread_t th[2];
	char err[256];

	assert_int_equal(tok_ring_open(f->dir, &f->opts, &rc.r, err, sizeof(err)), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, reader, &rc), 0);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(tok_ring_rotate(rc.r, TOK_ALG_UNSET, err, sizeof(err)), 0);
		assert_int_equal(tok_ring_reload(rc.r, err, sizeof(err)), 0);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(rc.fails, 0);
	tok_ring_free(rc.r);
}

/* ---- a ring held elsewhere (tok_ring_open_remote) ---------------------------------- */

/* A stand-in key holder: the local ring of the directory, reached only through the
 * source's two functions, as authd reaches keyd. */
struct holder {
	struct tok_ring *ring;
	int signs, fail_reload;
	char last_kid[TOK_KID_MAX + 1];
};

static int
holder_describe(void *ctx, bool reload, char **doc, char *err, size_t errsz)
{
	struct holder *h = ctx;
	struct tok_ring_snap *s;
	int rc;

	*doc = NULL;
	if (reload && h->fail_reload) {
		snprintf(err, errsz, "keyring.json: broken on purpose");
		return YH_ERR_INVALID;
	}
	if (reload && (rc = tok_ring_reload(h->ring, err, errsz)) != 0)
		return rc;
	s = tok_ring_acquire(h->ring);
	rc = tok_snap_describe(s, doc);
	tok_snap_release(s);
	return rc;
}

static int
holder_sign(void *ctx, const struct tok_key *key, enum tok_alg alg, const void *data,
    size_t len, unsigned char *sig, size_t sigmax, size_t *siglen)
{
	struct holder *h = ctx;
	struct tok_ring_snap *s = tok_ring_acquire(h->ring);
	const struct tok_key *k = tok_snap_active_key(s, tok_key_kid(key));
	int rc = k == NULL ? YH_ERR_KEY : tok_key_sign(k, alg, data, len, sig, sigmax, siglen);

	h->signs++;
	snprintf(h->last_kid, sizeof(h->last_kid), "%s", tok_key_kid(key));
	tok_snap_release(s);
	return rc;
}

static void
test_remote_ring(void **state)
{
	struct fix *f = *state;
	struct holder h = { 0 };
	struct tok_ring_source src = { holder_describe, holder_sign, &h, NULL };
	struct tok_ring *remote = NULL;
	struct tok_ring_snap *ls, *rs;
	const struct tok_key *k;
	char err[256], *tok = NULL, *doc = NULL, active[64];

	assert_int_equal(tok_ring_open(f->dir, &f->opts, &h.ring, err, sizeof(err)), 0);
	assert_int_equal(tok_ring_open_remote(&src, &remote, err, sizeof(err)), 0);
	ls = tok_ring_acquire(h.ring);
	rs = tok_ring_acquire(remote);
	/* the same public face, and not one private key on this side */
	assert_string_equal(tok_snap_jwks(rs), tok_snap_jwks(ls));
	assert_int_equal(tok_snap_algs(rs), tok_snap_algs(ls));
	assert_int_equal(tok_snap_default_alg(rs), TOK_ALG_ES256);
	assert_non_null(k = tok_snap_signing_key(rs, TOK_ALG_UNSET));
	assert_false(tok_key_is_private(k));
	assert_true(tok_key_can_sign(k));
	for (size_t i = 0; i < tok_snap_keyset(rs)->n; i++)
		assert_false(tok_key_is_private(tok_snap_keyset(rs)->keys[i]));
	assert_int_equal(tok_snap_describe(rs, &doc), 0);
	assert_null(strstr(doc, "\"d\""));
	free(doc);
	/* signing goes to the holder, and the token verifies against the JWKS */
	snprintf(active, sizeof(active), "%s", tok_key_kid(tok_snap_signing_key(ls,
	    TOK_ALG_UNSET)));
	assert_int_equal(tok_jws_sign(k, "JWT", "{}", 2, &tok), 0);
	assert_int_equal(h.signs, 1);
	assert_string_equal(h.last_kid, active);
	assert_int_equal(verify_with(rs, tok), 0);
	free(tok);
	tok_snap_release(ls);
	tok_snap_release(rs);
	assert_int_equal(tok_ring_rotate(remote, TOK_ALG_UNSET, err, sizeof(err)),
	    YH_ERR_UNSUPPORTED);

	/* a rotation on disk shows only after a reload, which the holder does first */
	assert_int_equal(tok_ring_rotate(h.ring, TOK_ALG_UNSET, err, sizeof(err)), 0);
	assert_int_equal(tok_ring_reload(h.ring, err, sizeof(err)), 0);
	rs = tok_ring_acquire(remote);
	assert_string_equal(tok_key_kid(tok_snap_signing_key(rs, TOK_ALG_UNSET)), active);
	tok_snap_release(rs);
	assert_int_equal(tok_ring_reload(remote, err, sizeof(err)), 0);
	rs = tok_ring_acquire(remote);
	ls = tok_ring_acquire(h.ring);
	assert_string_not_equal(tok_key_kid(tok_snap_signing_key(rs, TOK_ALG_UNSET)), active);
	assert_string_equal(tok_snap_jwks(rs), tok_snap_jwks(ls));
	assert_true(jwks_has(rs, active));  /* retiring: still published */
	tok_snap_release(ls);
	tok_snap_release(rs);

	/* a holder whose reload fails: the error comes back, the previous keys stay */
	h.fail_reload = 1;
	rs = tok_ring_acquire(remote);
	assert_int_equal(tok_ring_reload(remote, err, sizeof(err)), YH_ERR_INVALID);
	assert_non_null(strstr(err, "broken on purpose"));
	ls = tok_ring_acquire(remote);
	assert_ptr_equal(ls, rs);
	tok_snap_release(ls);
	tok_snap_release(rs);
	tok_ring_free(remote);
	tok_ring_free(h.ring);
}

/* Signs "{}" with the key of alg and checks the token: header alg, verified by the
 * snapshot's keyset under alg alone. */
static void
sign_verify_alg(const struct tok_ring_snap *s, enum tok_alg alg)
{
	const struct tok_key *k = tok_snap_signing_key(s, alg);
	struct tok_jws jws;
	char *tok = NULL;

	assert_non_null(k);
	assert_int_equal(tok_key_alg(k), alg);
	assert_int_equal(tok_jws_sign(k, "JWT", "{}", 2, &tok), 0);
	assert_int_equal(tok_jws_verify(tok, strlen(tok), tok_snap_keyset(s), TOK_ALGSET(alg),
	    &jws), 0);
	assert_int_equal(jws.alg, alg);
	assert_string_equal(tok_key_kid(jws.key), tok_key_kid(k));
	tok_jws_clear(&jws);
	free(tok);
}

#define THREE (TOK_ALGSET(TOK_ALG_ES256) | TOK_ALGSET(TOK_ALG_RS256) | TOK_ALGSET(TOK_ALG_SM2))

/* A ring written for one algorithm (as every ring was before several could be enabled)
 * gets the other enabled algorithms' chains, once; its own keys stay as they were. */
static void
test_upgrade_single_alg_ring(void **state)
{
	struct fix *f = *state;
	struct tok_ring *r = NULL;
	struct tok_ring_snap *s;
	char err[256], path[512], es_active[64], es_next[64], *before, *after;
	unsigned added = 99;

	assert_int_equal(tok_ring_open(f->dir, &f->opts, &r, err, sizeof(err)), 0);
	s = tok_ring_acquire(r);
	assert_int_equal(tok_snap_algs(s), TOK_ALGSET(TOK_ALG_ES256));
	assert_null(tok_snap_signing_key(s, TOK_ALG_SM2));
	snprintf(es_active, sizeof(es_active), "%s", kid_in_state(s, TOK_ALG_ES256, TOK_KS_ACTIVE));
	snprintf(es_next, sizeof(es_next), "%s", kid_in_state(s, TOK_ALG_ES256, TOK_KS_NEXT));
	tok_snap_release(s);
	tok_ring_free(r);

	/* the next start: the old ring loads, the missing chains are generated */
	f->opts.create = false;
	assert_int_equal(tok_ring_open(f->dir, &f->opts, &r, err, sizeof(err)), 0);
	assert_int_equal(tok_ring_ensure_algs(r, THREE, &added, err, sizeof(err)), 0);
	assert_int_equal(added, TOK_ALGSET(TOK_ALG_RS256) | TOK_ALGSET(TOK_ALG_SM2));
	s = tok_ring_acquire(r);
	assert_int_equal(tok_snap_algs(s), THREE);
	assert_int_equal(jwks_count(s), 6);  /* active and next of each */
	assert_string_equal(kid_in_state(s, TOK_ALG_ES256, TOK_KS_ACTIVE), es_active);
	assert_string_equal(kid_in_state(s, TOK_ALG_ES256, TOK_KS_NEXT), es_next);
	assert_int_equal(tok_snap_default_alg(s), TOK_ALG_ES256);
	tok_snap_release(s);
	tok_ring_free(r);

	/* once: a second start changes nothing on disk */
	path_of(f, "keyring.json", path, sizeof(path));
	before = read_text(path);
	assert_int_equal(tok_ring_open(f->dir, &f->opts, &r, err, sizeof(err)), 0);
	assert_int_equal(tok_ring_ensure_algs(r, THREE, &added, err, sizeof(err)), 0);
	assert_int_equal(added, 0);
	after = read_text(path);
	assert_string_equal(before, after);
	free(before);
	free(after);
	assert_int_equal(tok_ring_ensure_algs(r, 1u << 30, &added, err, sizeof(err)),
	    YH_ERR_UNSUPPORTED);
	tok_ring_free(r);
}

/* Several algorithms active at once: each signs with its own key, found by its alg. */
static void
test_several_algs_active(void **state)
{
	struct fix *f = *state;
	struct tok_ring *r = NULL;
	struct tok_ring_snap *s;
	char err[256];
	const char *kids[TOK_ALG_COUNT] = { 0 };
	enum tok_alg algs[] = { TOK_ALG_ES256, TOK_ALG_RS256, TOK_ALG_SM2 };

	assert_int_equal(tok_ring_open(f->dir, &f->opts, &r, err, sizeof(err)), 0);
	assert_int_equal(tok_ring_ensure_algs(r, THREE, NULL, err, sizeof(err)), 0);
	s = tok_ring_acquire(r);
	for (size_t i = 0; i < 3; i++) {
		sign_verify_alg(s, algs[i]);
		kids[algs[i]] = tok_key_kid(tok_snap_signing_key(s, algs[i]));
		assert_string_equal(kids[algs[i]], kid_in_state(s, algs[i], TOK_KS_ACTIVE));
		/* a key holder finds each active key by its kid */
		assert_ptr_equal(tok_snap_active_key(s, kids[algs[i]]),
		    tok_snap_signing_key(s, algs[i]));
	}
	assert_string_not_equal(kids[TOK_ALG_ES256], kids[TOK_ALG_RS256]);
	assert_string_not_equal(kids[TOK_ALG_RS256], kids[TOK_ALG_SM2]);
	/* the default is the ring's first algorithm; a disabled one has no key */
	assert_ptr_equal(tok_snap_signing_key(s, TOK_ALG_UNSET),
	    tok_snap_signing_key(s, TOK_ALG_ES256));
	assert_null(tok_snap_signing_key(s, TOK_ALG_PS256));
	assert_null(tok_snap_signing_key(s, TOK_ALG_EDDSA));
	tok_snap_release(s);
	tok_ring_free(r);
}

/* Rotating one algorithm leaves the others' chains alone; rotating all moves each. */
static void
test_rotation_per_alg(void **state)
{
	struct fix *f = *state;
	struct tok_ring *r = NULL;
	struct tok_ring_snap *s;
	char err[256], act[TOK_ALG_COUNT][64], nxt[TOK_ALG_COUNT][64];
	enum tok_alg algs[] = { TOK_ALG_ES256, TOK_ALG_RS256, TOK_ALG_SM2 };

	assert_int_equal(tok_ring_open(f->dir, &f->opts, &r, err, sizeof(err)), 0);
	assert_int_equal(tok_ring_ensure_algs(r, THREE, NULL, err, sizeof(err)), 0);
	s = tok_ring_acquire(r);
	for (size_t i = 0; i < 3; i++) {
		snprintf(act[algs[i]], 64, "%s", kid_in_state(s, algs[i], TOK_KS_ACTIVE));
		snprintf(nxt[algs[i]], 64, "%s", kid_in_state(s, algs[i], TOK_KS_NEXT));
	}
	tok_snap_release(s);

	assert_int_equal(tok_ring_rotate(r, TOK_ALG_SM2, err, sizeof(err)), 0);
	s = tok_ring_acquire(r);
	assert_string_equal(tok_key_kid(tok_snap_signing_key(s, TOK_ALG_SM2)), nxt[TOK_ALG_SM2]);
	assert_string_equal(kid_in_state(s, TOK_ALG_SM2, TOK_KS_RETIRING), act[TOK_ALG_SM2]);
	assert_true(jwks_has(s, act[TOK_ALG_SM2]));
	assert_string_equal(tok_key_kid(tok_snap_signing_key(s, TOK_ALG_ES256)),
	    act[TOK_ALG_ES256]);
	assert_string_equal(tok_key_kid(tok_snap_signing_key(s, TOK_ALG_RS256)),
	    act[TOK_ALG_RS256]);
	assert_string_equal(kid_in_state(s, TOK_ALG_RS256, TOK_KS_NEXT), nxt[TOK_ALG_RS256]);
	assert_int_equal(jwks_count(s), 7);
	sign_verify_alg(s, TOK_ALG_SM2);
	tok_snap_release(s);

	assert_int_equal(tok_ring_rotate(r, TOK_ALG_UNSET, err, sizeof(err)), 0);
	s = tok_ring_acquire(r);
	assert_string_equal(tok_key_kid(tok_snap_signing_key(s, TOK_ALG_ES256)),
	    nxt[TOK_ALG_ES256]);
	assert_string_equal(tok_key_kid(tok_snap_signing_key(s, TOK_ALG_RS256)),
	    nxt[TOK_ALG_RS256]);
	assert_string_not_equal(tok_key_kid(tok_snap_signing_key(s, TOK_ALG_SM2)),
	    nxt[TOK_ALG_SM2]);
	for (size_t i = 0; i < 3; i++)
		sign_verify_alg(s, algs[i]);
	tok_snap_release(s);
	tok_ring_free(r);
}

/* A ring held elsewhere: every algorithm's key signs through the holder. */
static void
test_remote_several_algs(void **state)
{
	struct fix *f = *state;
	struct holder h = { 0 };
	struct tok_ring_source src = { holder_describe, holder_sign, &h, NULL };
	struct tok_ring *remote = NULL;
	struct tok_ring_snap *rs;
	char err[256];

	assert_int_equal(tok_ring_open(f->dir, &f->opts, &h.ring, err, sizeof(err)), 0);
	assert_int_equal(tok_ring_ensure_algs(h.ring, THREE, NULL, err, sizeof(err)), 0);
	assert_int_equal(tok_ring_open_remote(&src, &remote, err, sizeof(err)), 0);
	assert_int_equal(tok_ring_ensure_algs(remote, THREE, NULL, err, sizeof(err)),
	    YH_ERR_UNSUPPORTED);
	rs = tok_ring_acquire(remote);
	assert_int_equal(tok_snap_algs(rs), THREE);
	sign_verify_alg(rs, TOK_ALG_RS256);
	sign_verify_alg(rs, TOK_ALG_SM2);
	assert_string_equal(h.last_kid, tok_key_kid(tok_snap_signing_key(rs, TOK_ALG_SM2)));
	assert_int_equal(h.signs, 2);
	tok_snap_release(rs);
	tok_ring_free(remote);
	tok_ring_free(h.ring);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_first_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_publishes_next_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retire_and_purge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_other_instance, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_alg_and_min_age, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_reload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remote_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upgrade_single_alg_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_several_algs_active, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_per_alg, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remote_several_algs, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
