/*
 * Unit tests for authd/keyd: keyd answers exactly as the keys would in process (the same
 * subjects, MACs, seals, signatures, hashes; its reload and a failed reload), and refuses
 * every request outside its table (an unknown type, a request before HELLO or after it
 * twice, on the wrong channel, malformed lengths, trailing bytes, a packet over the
 * limit, a signature of something not a JWS) by logging it and exiting.
 */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "authcore/authd_config.h"
#include "authcore/clients/clients.h"
#include "authd/keyd/client.h"
#include "authd/keyd/holder.h"
#include "authd/keyd/keyd.h"
#include "authd/keyd/keys.h"
#include "authd/keyd/proto.h"
#include "authd/keyd/sandbox.h"
#include "common/secmem.h"
#include "identity/vault/vault.h"
#include "token/jws.h"
#include "token/keyring.h"

struct fx {
	char root[64], state[96];
	struct authd_cfg cfg;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[512];

	if (f == NULL)
		return -1;
	snprintf(f->root, sizeof(f->root), "/tmp/yh-test-keyd-XXXXXX");
	if (mkdtemp(f->root) == NULL)
		return -1;
	snprintf(f->state, sizeof(f->state), "%s/state", f->root);
	if (authd_cfg_load(&f->cfg, NULL, f->state, "127.0.0.1:0", err, sizeof(err)) != 0) {
		print_error("authd_cfg_load: %s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	authd_cfg_free(&f->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* ---- the same answers as in process -------------------------------------------------- */

static void
check_keys(struct keys *remote, struct keys *local)
{
	static const enum keys_purpose purposes[] = { KEYS_MAC_CSRF, KEYS_MAC_REAUTH,
		KEYS_MAC_LOGIN_NAME, KEYS_MAC_AUDIT, KEYS_MAC_PEER_KEYS };
	unsigned char a[KEYS_MAC_LEN], b[KEYS_MAC_LEN];
	char ref[KEYS_UREF_MAX], uid[KEYS_UREF_UID_MAX + 1];

	/* Pairwise subjects, remembered by the client: more pairs than its table holds, twice
	 * over, so answers come from keyd, from the table, and after a slot was taken over
	 * by another pair; each one must be keyd's. */
	for (int round = 0; round < 2; round++)
		for (unsigned i = 0; i < 20000; i++) {
			const char *sector = i % 2 ? "portal.example" : "tax.example";
			char u[16];

			snprintf(u, sizeof(u), "u-%u", i / 2);
			assert_int_equal(keys_sub(remote, sector, u, a), 0);
			assert_int_equal(keys_sub(local, sector, u, b), 0);
			assert_memory_equal(a, b, sizeof(a));
		}
	assert_int_equal(keys_sub(remote, "portal.example", "u-1", a), 0);
	assert_int_equal(keys_sub(local, "portal.example", "u-1", b), 0);
	assert_memory_equal(a, b, sizeof(a));
	assert_int_equal(keys_sub(remote, "tax.example", "u-1", b), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	for (size_t i = 0; i < sizeof(purposes) / sizeof(purposes[0]); i++) {
		assert_int_equal(keys_mac(remote, purposes[i], "message", 7, a), 0);
		assert_int_equal(keys_mac(local, purposes[i], "message", 7, b), 0);
		assert_memory_equal(a, b, sizeof(a));
	}
	assert_int_equal(keys_mac(remote, KEYS_MAC_CSRF, "", 0, a), 0);
	assert_int_equal(keys_uref_seal(remote, "web", "u-1", ref), 0);
	assert_int_equal(keys_uref_open(local, "web", ref, uid, sizeof(uid)), 0);
	assert_string_equal(uid, "u-1");
	assert_int_equal(keys_uref_open(remote, "mobile", ref, uid, sizeof(uid)), YH_ERR_AUTH);
	assert_int_equal(keys_uref_seal(local, "web", "u-2", ref), 0);
	assert_int_equal(keys_uref_open(remote, "web", ref, uid, sizeof(uid)), 0);
	assert_string_equal(uid, "u-2");
	assert_int_equal(keys_uref_open(remote, "web", "AAAA", uid, sizeof(uid)), YH_ERR_INVALID);
}

static void
check_vault(struct vault *remote, struct vault *local)
{
	char a[VAULT_BLIND_HEX_LEN + 1], b[VAULT_BLIND_HEX_LEN + 1], *sealed, *pt;

	assert_string_equal(vault_kid(remote), vault_kid(local));
	assert_string_equal(vault_cipher(remote), vault_cipher(local));
	assert_int_equal(vault_seal(remote, VAULT_DOMAIN_IDNUM, "110101199003070011", 18,
	    &sealed), 0);
	assert_int_equal(vault_open_value(local, VAULT_DOMAIN_IDNUM, sealed, &pt), 0);
	assert_string_equal(pt, "110101199003070011");
	yh_strfree_secret(pt);
	assert_int_equal(vault_open_value(remote, VAULT_DOMAIN_IDNUM, sealed, &pt), 0);
	assert_string_equal(pt, "110101199003070011");
	yh_strfree_secret(pt);
	assert_int_equal(vault_open_value(remote, VAULT_DOMAIN_PHONE, sealed, &pt), YH_ERR_AUTH);
	free(sealed);
	assert_int_equal(vault_blind(remote, VAULT_DOMAIN_PHONE, "13812345678", a), 0);
	assert_int_equal(vault_blind(local, VAULT_DOMAIN_PHONE, "13812345678", b), 0);
	assert_string_equal(a, b);
}

/* A token from the remote ring's signing key verifies with the local ring's keys. */
static void
check_signs(struct tok_ring *remote, struct tok_ring *local)
{
	struct tok_ring_snap *rs = tok_ring_acquire(remote), *ls = tok_ring_acquire(local);
	const struct tok_key *k = tok_snap_signing_key(rs, TOK_ALG_UNSET);
	struct tok_jws jws;
	char *tok = NULL;

	assert_string_equal(tok_snap_jwks(rs), tok_snap_jwks(ls));
	assert_non_null(k);
	assert_false(tok_key_is_private(k));
	assert_string_equal(tok_key_kid(k), tok_key_kid(tok_snap_signing_key(ls,
	    TOK_ALG_UNSET)));
	assert_int_equal(tok_jws_sign(k, "JWT", "{\"a\":1}", 7, &tok), 0);
	assert_int_equal(tok_jws_verify(tok, strlen(tok), tok_snap_keyset(ls), tok_snap_algs(ls),
	    &jws), 0);
	tok_jws_clear(&jws);
	free(tok);
	tok_snap_release(rs);
	tok_snap_release(ls);
}

static void
check_secrets(const struct clients_hasher *h, struct kh *local)
{
	unsigned char a[CLIENTS_HASH_LEN], b[CLIENTS_HASH_LEN];
	char kid[CLIENTS_KID_LEN + 1], kid2[CLIENTS_KID_LEN + 1], err[256];
	static const char secret[] = "a-secret-of-at-least-thirty-two-bytes-000";

	assert_int_equal(h->kid(h->ctx, false, kid, err, sizeof(err)), YH_ERR_NOT_FOUND);
	assert_int_equal(h->kid(h->ctx, true, kid, err, sizeof(err)), 0);
	assert_int_equal(strlen(kid), CLIENTS_KID_LEN);
	assert_int_equal(h->hash(h->ctx, "svc", secret, strlen(secret), a, kid2), 0);
	assert_string_equal(kid, kid2);
	assert_int_equal(kh_secret_kid(local, false, kid2, err, sizeof(err)), 0);
	assert_string_equal(kid, kid2);
	assert_int_equal(kh_secret_hash(local, "svc", secret, strlen(secret), b, kid2), 0);
	assert_memory_equal(a, b, sizeof(a));
	/* again: the same answer (remembered in this process, see client.c) */
	assert_int_equal(h->hash(h->ctx, "svc", secret, strlen(secret), a, kid2), 0);
	assert_memory_equal(a, b, sizeof(a));
	assert_string_equal(kid, kid2);
}

/* A new client-secret key (an operator replaced it): what was remembered under the old
 * one is forgotten, the hashes follow the new key. */
static void
check_secret_key_change(const struct clients_hasher *h, struct kh *local, const char *state)
{
	unsigned char a[CLIENTS_HASH_LEN], b[CLIENTS_HASH_LEN];
	char kid[CLIENTS_KID_LEN + 1], old[CLIENTS_KID_LEN + 1], err[256], path[160];
	static const char secret[] = "a-secret-of-at-least-thirty-two-bytes-000";

	assert_int_equal(h->kid(h->ctx, false, old, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/%s", state, CLIENTS_KEY_FILE);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(h->kid(h->ctx, true, kid, err, sizeof(err)), 0);
	assert_string_not_equal(kid, old);
	assert_int_equal(h->hash(h->ctx, "svc", secret, strlen(secret), a, kid), 0);
	assert_int_equal(kh_secret_kid(local, false, old, err, sizeof(err)), 0);
	assert_int_equal(kh_secret_hash(local, "svc", secret, strlen(secret), b, old), 0);
	assert_string_equal(kid, old);
	assert_memory_equal(a, b, sizeof(a));
}

static void
test_same_answers(void **state)
{
	struct fx *f = *state;
	struct tok_ring *ring = NULL;
	struct vault *vault = NULL;
	struct keys *keys = NULL;
	struct kdc *c = NULL;
	struct kh *local = NULL;
	char err[512], path[160];
	int status;

	if (kdc_spawn(&f->cfg, 3, &c, err, sizeof(err)) != 0)
		fail_msg("kdc_spawn: %s", err);
	assert_int_equal(kdc_vault(c, &vault), 0);
	assert_int_equal(kdc_keys(c, &keys), 0);
	assert_int_equal(kdc_ring(c, &ring, err, sizeof(err)), 0);
	/* keyd made the keys; the same files opened here give the reference answers */
	if (kh_open(&f->cfg, &local, err, sizeof(err)) != 0)
		fail_msg("kh_open: %s", err);
	assert_string_equal(kdc_audit_kid(c), local->audit_kid);
	check_keys(keys, local->keys);
	check_vault(vault, local->vault);
	check_signs(ring, local->ring);
	check_secrets(kdc_hasher(c), local);
	check_secret_key_change(kdc_hasher(c), local, f->state);

	/* a rotation on disk: keyd's reload hands over the new ring */
	assert_int_equal(tok_ring_rotate(local->ring, TOK_ALG_UNSET, err, sizeof(err)), 0);
	assert_int_equal(tok_ring_reload(ring, err, sizeof(err)), 0);
	check_signs(ring, local->ring);
	/* a broken ring: keyd's reason comes back, and the previous keys still sign */
	snprintf(path, sizeof(path), "%s/keys/keyring.json", f->state);
	assert_int_equal(truncate(path, 10), 0);
	assert_int_not_equal(tok_ring_reload(ring, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "keyring.json"));
	{
		struct tok_ring_snap *s = tok_ring_acquire(ring);
		char *tok = NULL;

		assert_int_equal(tok_jws_sign(tok_snap_signing_key(s, TOK_ALG_UNSET), NULL, "{}",
		    2, &tok), 0);
		free(tok);
		tok_snap_release(s);
	}
	tok_ring_free(ring);
	keys_free(keys);
	vault_close(vault);
	kh_free(local);
	status = kdc_close(c);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- signatures in batches ------------------------------------------------------------ */

struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int left;
};

struct bjob {
	struct tok_jws_job j;         /* first: done gets it back */
	struct waiter *w;
	int rc;
	bool done;
	char *tok;
};

static void
bjob_done(struct tok_jws_job *j, int rc)
{
	struct bjob *b = (struct bjob *)j;

	b->rc = rc;
	if (rc == 0)
		b->tok = strdup(yh_buf_cstr(&j->tok));
	tok_jws_job_free(j);
	pthread_mutex_lock(&b->w->mu);
	b->done = true;
	b->w->left--;
	pthread_cond_broadcast(&b->w->cv);
	pthread_mutex_unlock(&b->w->mu);
}

/* Submits n jobs, the i-th with keys[i] and the payload {"n":i}, and waits for all. */
static void
submit_all(struct bjob *b, const struct tok_key *const *keys, size_t n)
{
	struct waiter w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, (int)n };
	char payload[32];

	for (size_t i = 0; i < n; i++) {
		memset(&b[i], 0, sizeof(b[i]));
		b[i].w = &w;
		snprintf(payload, sizeof(payload), "{\"n\":%zu}", i);
		assert_int_equal(tok_jws_submit(&b[i].j, keys[i], "at+jwt", payload,
		    strlen(payload), bjob_done), 0);
	}
	pthread_mutex_lock(&w.mu);
	while (w.left > 0)
		pthread_cond_wait(&w.cv, &w.mu);
	pthread_mutex_unlock(&w.mu);
}

/* Job i's token verifies with the local ring and carries {"n":i}. */
static void
check_batch_token(const struct bjob *b, size_t i, struct tok_ring *local)
{
	struct tok_ring_snap *ls = tok_ring_acquire(local);
	struct tok_jws jws;
	char want[32];

	assert_int_equal(b->rc, 0);
	assert_non_null(b->tok);
	assert_int_equal(tok_jws_verify(b->tok, strlen(b->tok), tok_snap_keyset(ls),
	    tok_snap_algs(ls), &jws), 0);
	snprintf(want, sizeof(want), "{\"n\":%zu}", i);
	assert_int_equal(jws.payload_len, strlen(want));
	assert_memory_equal(jws.payload, want, strlen(want));
	tok_jws_clear(&jws);
	tok_snap_release(ls);
}

/*
 * Signatures submitted at once are signed in batches (fewer round trips than
 * signatures, none over KD_SIGN_MANY_MAX), each token verifies with its own payload; a
 * key keyd no longer signs with fails alone in its batch; after kdc_sign_settle a
 * signature is made before tok_jws_submit returns.
 */
static void
test_sign_batches(void **state)
{
	struct fx *f = *state;
	enum { N = 40 };
	static struct bjob b[N];
	const struct tok_key *keys[N];
	struct tok_ring_snap *old, *cur;
	struct tok_ring *ring = NULL;
	struct kdc *c = NULL;
	struct kh *local = NULL;
	uint64_t batches, sigs, b0, s0;
	char err[512];

	if (kdc_spawn(&f->cfg, 3, &c, err, sizeof(err)) != 0)
		fail_msg("kdc_spawn: %s", err);
	assert_int_equal(kdc_ring(c, &ring, err, sizeof(err)), 0);
	if (kh_open(&f->cfg, &local, err, sizeof(err)) != 0)
		fail_msg("kh_open: %s", err);
	old = tok_ring_acquire(ring);
	for (size_t i = 0; i < N; i++)
		keys[i] = tok_snap_signing_key(old, TOK_ALG_UNSET);
	submit_all(b, keys, N);
	for (size_t i = 0; i < N; i++) {
		check_batch_token(&b[i], i, local->ring);
		free(b[i].tok);
	}
	kdc_sign_counts(c, &batches, &sigs);
	assert_int_equal(sigs, N);
	assert_true(batches >= (N + KD_SIGN_MANY_MAX - 1) / KD_SIGN_MANY_MAX);
	assert_true(batches < N);

	/* two rotations later keyd signs with neither the old key nor the one before */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(tok_ring_rotate(local->ring, TOK_ALG_UNSET, err, sizeof(err)), 0);
		assert_int_equal(tok_ring_reload(ring, err, sizeof(err)), 0);
	}
	cur = tok_ring_acquire(ring);
	for (size_t i = 0; i < 8; i++)
		keys[i] = tok_snap_signing_key(i == 3 ? old : cur, TOK_ALG_UNSET);
	kdc_sign_counts(c, &b0, &s0);
	submit_all(b, keys, 8);
	for (size_t i = 0; i < 8; i++) {
		if (i == 3)
			assert_int_equal(b[i].rc, YH_ERR_KEY);
		else
			check_batch_token(&b[i], i, local->ring);
		free(b[i].tok);
	}
	kdc_sign_counts(c, &batches, &sigs);
	assert_int_equal(sigs - s0, 7);     /* signatures made: not the retired key's */

	/* settled: signed on this thread, done before submit returns */
	kdc_sign_settle(c);
	{
		struct waiter w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 1 };

		memset(&b[0], 0, sizeof(b[0]));
		b[0].w = &w;
		assert_int_equal(tok_jws_submit(&b[0].j, keys[0], NULL, "{}", 2, bjob_done), 0);
		assert_true(b[0].done);
		assert_int_equal(b[0].rc, 0);
		free(b[0].tok);
	}
	kdc_sign_counts(c, &b0, &s0);
	assert_int_equal(s0, sigs);
	tok_snap_release(cur);
	tok_snap_release(old);
	tok_ring_free(ring);
	kh_free(local);
	assert_int_equal(kdc_close(c), 0);
}

/* A key that cannot be opened: keyd's reason is the error, and keyd is gone. */
static void
test_key_error(void **state)
{
	struct fx *f = *state;
	struct kdc *c = NULL;
	char err[512], path[160];

	if (kdc_spawn(&f->cfg, 1, &c, err, sizeof(err)) != 0)
		fail_msg("kdc_spawn: %s", err);
	assert_int_equal(kdc_close(c), 0);
	snprintf(path, sizeof(path), "%s/directory.db", f->state);
	assert_int_equal(close(open(path, O_CREAT | O_WRONLY, 0600)), 0);
	snprintf(path, sizeof(path), "%s/vault.key", f->state);
	assert_int_equal(unlink(path), 0);
	assert_int_not_equal(kdc_spawn(&f->cfg, 1, &c, err, sizeof(err)), 0);
	assert_null(c);
	assert_non_null(strstr(err, "vault.key"));
	assert_non_null(strstr(err, "restore the key file"));
}

/* The directories that hold key files: another account must not be able to swap the
 * files in them. */
static void
test_key_dirs(void **state)
{
	struct fx *f = *state;
	struct kh *k = NULL;
	char err[512];

	assert_int_equal(kh_open(&f->cfg, &k, err, sizeof(err)), 0);
	kh_free(k);
	/* group-writable without the sticky bit: refused, naming the directory */
	assert_int_equal(chmod(f->state, 0770), 0);
	assert_int_equal(kh_open(&f->cfg, &k, err, sizeof(err)), YH_ERR_PERM);
	assert_null(k);
	assert_non_null(strstr(err, "is writable by group or others without the sticky bit"));
	assert_non_null(strstr(err, f->state));
	/* with it (the layout under `user`): only the owner renames its files */
	assert_int_equal(chmod(f->state, 01770), 0);
	assert_int_equal(kh_open(&f->cfg, &k, err, sizeof(err)), 0);
	kh_free(k);
	assert_int_equal(chmod(f->state, 0700), 0);
	if (geteuid() != 0)
		return;
	/* owned by another account (not the holder's, not root's) */
	assert_int_equal(chown(f->state, 4242, 4242), 0);
	assert_int_equal(kh_open(&f->cfg, &k, err, sizeof(err)), YH_ERR_PERM);
	assert_non_null(strstr(err, "is owned by uid 4242"));
	assert_int_equal(chown(f->state, 0, 0), 0);
}

/* ---- refusals ------------------------------------------------------------------------ */

/* A keyd on raw socket pairs: fds[0] control, fds[1] a work channel (the test's ends);
 * its log goes to *logfd. */
static pid_t
raw_keyd(struct fx *f, int fds[2], int *logfd)
{
	int pairs[2][2], lp[2];
	pid_t me = getpid(), pid;

	for (int i = 0; i < 2; i++)
		assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pairs[i]), 0);
	assert_int_equal(pipe(lp), 0);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		int theirs[2] = { pairs[0][1], pairs[1][1] };

		dup2(lp[1], 2);
		keyd_main(&f->cfg, me, theirs, 2);
	}
	close(lp[1]);
	*logfd = lp[0];
	for (int i = 0; i < 2; i++) {
		close(pairs[i][1]);
		fds[i] = pairs[i][0];
	}
	return pid;
}

/* Sends n bytes on fd; returns the answer's status, or 1 when the channel closed. */
static int
ask(int fd, const void *msg, size_t n, unsigned char *ans, size_t *anslen)
{
	unsigned char buf[KD_CTL_MSG_MAX];
	ssize_t r;

	if (send(fd, msg, n, MSG_NOSIGNAL) != (ssize_t)n)
		return 1;
	if ((r = recv(fd, buf, sizeof(buf), 0)) <= 0)
		return 1;
	if (ans != NULL) {
		*anslen = (size_t)r - 4 < *anslen ? (size_t)r - 4 : *anslen;
		memcpy(ans, buf + 4, *anslen);
	}
	return (int)((uint32_t)buf[0] | (uint32_t)buf[1] << 8 | (uint32_t)buf[2] << 16 |
	    (uint32_t)buf[3] << 24);
}

static void
say_hello(int ctl)
{
	unsigned char hello[4] = { KD_REQ_HELLO, 0, 0, 0 };

	assert_int_equal(ask(ctl, hello, sizeof(hello), NULL, NULL), 0);
}

static void
le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* A message: type, then fields (length, bytes), into out; returns its length. */
static size_t
msg(unsigned char *out, uint32_t type, int nfields, ...)
{
	size_t n = 4;
	va_list ap;

	le32(out, type);
	va_start(ap, nfields);
	for (int i = 0; i < nfields; i++) {
		const char *p = va_arg(ap, const char *);
		size_t len = va_arg(ap, size_t);

		le32(out + n, (uint32_t)len);
		memcpy(out + n + 4, p, len);
		n += 4 + len;
	}
	va_end(ap);
	return n;
}

/* keyd exits with KEYD_EXIT_REFUSED and logs why (containing words). */
static void
expect_refused(pid_t pid, int fds[2], int logfd, const char *words)
{
	char log[4096];
	ssize_t n;
	size_t got = 0;
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), KEYD_EXIT_REFUSED);
	while (got < sizeof(log) - 1 && (n = read(logfd, log + got, sizeof(log) - 1 - got)) > 0)
		got += (size_t)n;
	log[got] = '\0';
	if (strstr(log, words) == NULL)
		fail_msg("keyd's log lacks \"%s\": %s", words, log);
	assert_non_null(strstr(log, "refusing"));
	close(fds[0]);
	close(fds[1]);
	close(logfd);
}

/* A JWS signing input naming kid "kid": {"alg":"ES256","kid":"kid"} . {"x":1} */
#define JWS_KID "eyJhbGciOiJFUzI1NiIsImtpZCI6ImtpZCJ9.eyJ4IjoxfQ"

/* One refusal: a fresh keyd, HELLO first unless before_hello, then bad on channel chan. */
static void
refused(struct fx *f, bool before_hello, int chan, const void *bad, size_t n,
    const char *words)
{
	int fds[2], logfd;
	pid_t pid = raw_keyd(f, fds, &logfd);

	if (!before_hello)
		say_hello(fds[0]);
	assert_int_equal(ask(fds[chan], bad, n, NULL, NULL), 1);   /* no answer: closed */
	expect_refused(pid, fds, logfd, words);
}

static void
test_refusals(void **state)
{
	struct fx *f = *state;
	unsigned char m[KD_MSG_MAX + 64], hello[4] = { KD_REQ_HELLO, 0, 0, 0 };
	unsigned char ans[64];
	static unsigned char big[KD_MSG_MAX];
	size_t n, anslen = sizeof(ans);
	int fds[2], logfd, status;
	pid_t pid;

	/* the well-formed request answers: the refusals below are about their bytes */
	pid = raw_keyd(f, fds, &logfd);
	say_hello(fds[0]);
	n = msg(m, KD_REQ_SUB, 2, "sector", (size_t)6, "uid", (size_t)3);
	assert_int_equal(ask(fds[1], m, n, ans, &anslen), 0);
	assert_int_equal(anslen, 4 + KEYS_MAC_LEN);
	n = msg(m, KD_REQ_SUB, 2, "", (size_t)0, "uid", (size_t)3);
	assert_int_equal(ask(fds[1], m, n, NULL, NULL), YH_ERR_INVALID);  /* refused softly */
	/* two well-formed signatures for a key keyd does not hold: each item answers
	 * YH_ERR_KEY with no signature */
	n = msg(m, KD_REQ_SIGN_MANY, 6, "kid", (size_t)3, "ES256", (size_t)5, JWS_KID,
	    strlen(JWS_KID), "kid", (size_t)3, "ES256", (size_t)5, JWS_KID, strlen(JWS_KID));
	anslen = sizeof(ans);
	assert_int_equal(ask(fds[1], m, n, ans, &anslen), 0);
	assert_int_equal(anslen, 16);
	for (int i = 0; i < 2; i++) {
		unsigned char want[8];

		le32(want, (uint32_t)YH_ERR_KEY);
		le32(want + 4, 0);
		assert_memory_equal(ans + 8 * i, want, sizeof(want));
	}
	close(fds[0]);
	close(fds[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		fail_msg("keyd: status %d signal %d", WEXITSTATUS(status),
		    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	close(logfd);

	refused(f, false, 1, "\x63\0\0\0", 4, "unknown request type 99");
	n = msg(m, KD_REQ_SUB, 2, "sector", (size_t)6, "uid", (size_t)3);
	le32(m + 4, 1000);      /* the first field claims more bytes than the packet has */
	refused(f, false, 1, m, n, "malformed subject request");
	memset(big, 'x', 300);
	n = msg(m, KD_REQ_SUB, 2, (const char *)big, (size_t)300, "uid", (size_t)3);
	refused(f, false, 1, m, n, "malformed subject request");   /* a sector over 255 */
	n = msg(m, KD_REQ_MAC, 3, "\1", (size_t)1, "msg", (size_t)3, "more", (size_t)4);
	refused(f, false, 1, m, n, "malformed mac request");       /* trailing field */
	n = msg(m, KD_REQ_MAC, 2, "\7", (size_t)1, "msg", (size_t)3);
	refused(f, false, 1, m, n, "malformed mac request");       /* no such purpose */
	n = msg(m, KD_REQ_SUB, 2, "sec\0tor", (size_t)7, "uid", (size_t)3);
	refused(f, false, 1, m, n, "malformed subject request");   /* a NUL inside */
	refused(f, false, 1, "\3\0", 2, "without a type");
	n = msg(m, KD_REQ_SUB, 2, "sector", (size_t)6, "uid", (size_t)3);
	refused(f, true, 1, m, n, "unpermitted subject request");  /* before HELLO */
	refused(f, false, 0, hello, sizeof(hello), "unpermitted hello request");  /* twice */
	refused(f, false, 1, hello, sizeof(hello), "hello request on the wrong channel");
	n = msg(m, KD_REQ_SIGN, 3, "kid", (size_t)3, "ES256", (size_t)5, "a.b", (size_t)3);
	refused(f, false, 0, m, n, "sign request on the wrong channel");
	refused(f, false, 1, m, n, "malformed sign request");      /* not a JWS of that kid */
	/* A JWS whose header names another alg ({"alg":"ES256X","kid":"kid"}), another kid
	 * ({"alg":"ES256","kid":"kidX"}) or no kid ({"alg":"ES256"}). */
	n = msg(m, KD_REQ_SIGN, 3, "kid", (size_t)3, "ES256", (size_t)5,
	    "eyJhbGciOiJFUzI1NlgiLCJraWQiOiJraWQifQ.eyJ4IjoxfQ", (size_t)49);
	refused(f, false, 1, m, n, "malformed sign request");
	n = msg(m, KD_REQ_SIGN, 3, "kid", (size_t)3, "ES256", (size_t)5,
	    "eyJhbGciOiJFUzI1NiIsImtpZCI6ImtpZFgifQ.eyJ4IjoxfQ", (size_t)49);
	refused(f, false, 1, m, n, "malformed sign request");
	n = msg(m, KD_REQ_SIGN, 3, "kid", (size_t)3, "ES256", (size_t)5,
	    "eyJhbGciOiJFUzI1NiJ9.eyJ4IjoxfQ", (size_t)31);
	refused(f, false, 1, m, n, "malformed sign request");
	n = msg(m, KD_REQ_SEAL, 2, "idnum", (size_t)5, (const char *)big, sizeof(big));
	refused(f, false, 1, m, n, "longer than");

	/* SIGN_MANY: none, one more than KD_SIGN_MANY_MAX, one item not a JWS of its kid,
	 * an item cut short, the control channel */
	refused(f, false, 1, "\x0d\0\0\0", 4, "malformed sign many request");
	n = 4;
	le32(m, KD_REQ_SIGN_MANY);
	for (int i = 0; i <= KD_SIGN_MANY_MAX; i++)
		n += msg(m + n, 0, 3, "kid", (size_t)3, "ES256", (size_t)5, JWS_KID,
		    strlen(JWS_KID)) - 4;
	refused(f, false, 1, m, n, "malformed sign many request");
	n = msg(m, KD_REQ_SIGN_MANY, 6, "kid", (size_t)3, "ES256", (size_t)5, JWS_KID,
	    strlen(JWS_KID), "kid", (size_t)3, "ES256", (size_t)5, "a.b", (size_t)3);
	refused(f, false, 1, m, n, "malformed sign many request");
	n = msg(m, KD_REQ_SIGN_MANY, 5, "kid", (size_t)3, "ES256", (size_t)5, JWS_KID,
	    strlen(JWS_KID), "kid", (size_t)3, "ES256", (size_t)5);
	refused(f, false, 1, m, n, "malformed sign many request");
	n = msg(m, KD_REQ_SIGN_MANY, 3, "kid", (size_t)3, "ES256", (size_t)5, JWS_KID,
	    strlen(JWS_KID));
	refused(f, false, 0, m, n, "sign many request on the wrong channel");
}

/* keyd is not dumpable and, outside AddressSanitizer builds, filtered by seccomp. */
static void
test_process(void **state)
{
	struct fx *f = *state;
	char path[64], line[256];
	bool nnp = false, filtered = false, named = false;
	struct kdc *c = NULL;
	char err[512];
	FILE *st;

	if (kdc_spawn(&f->cfg, 1, &c, err, sizeof(err)) != 0)
		fail_msg("kdc_spawn: %s", err);
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)kdc_pid(c));
	assert_non_null(st = fopen(path, "r"));
	while (fgets(line, sizeof(line), st) != NULL) {
		named = named || strcmp(line, "Name:\tauthd-keyd\n") == 0;
		nnp = nnp || strcmp(line, "NoNewPrivs:\t1\n") == 0;
		filtered = filtered || strcmp(line, "Seccomp:\t2\n") == 0;
	}
	fclose(st);
	assert_true(named);
#if !defined(__SANITIZE_ADDRESS__)
	assert_true(nnp);
	assert_true(filtered);
#endif
	assert_int_equal(kdc_close(c), 0);
}

/* The filter itself, in a child: listed calls work, unlisted ones fail with EPERM, and
 * exec, socket and fork kill the process. */
static int
sandboxed(int what)
{
	char why[256], cwd[64];
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		if (kd_sandbox(why, sizeof(why)) != 0)
			_exit(10);
		if (write(2, "", 0) != 0 || getcwd(cwd, sizeof(cwd)) != NULL || errno != EPERM)
			_exit(11);
		if (what == 1)
			execl("/bin/true", "true", (char *)NULL);
		if (what == 2)
			(void)socket(AF_INET, SOCK_STREAM, 0);
		if (what == 3)
			(void)fork();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void
test_sandbox(void **state)
{
	int st;

	(void)state;
#if defined(__SANITIZE_ADDRESS__)
	skip();
#endif
	st = sandboxed(0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	for (int what = 1; what <= 3; what++) {
		st = sandboxed(what);
		assert_true(WIFSIGNALED(st));
		assert_int_equal(WTERMSIG(st), SIGSYS);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_same_answers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sign_batches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_dirs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_process, setup, teardown),
		cmocka_unit_test(test_sandbox),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
