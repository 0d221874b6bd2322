/*
 * keyd, the key holder: the request table, the answers, the serving threads and the
 * process set-up. See keyd.h for what it is and proto.h for the messages.
 */
#define _GNU_SOURCE    /* dup3, close_range, CPU affinity */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "authd/keyd/holder.h"
#include "authd/keyd/keyd.h"
#include "authd/keyd/keys.h"
#include "authd/keyd/proto.h"
#include "authd/keyd/sandbox.h"
#include "common/b64.h"
#include "common/log.h"
#include "common/secmem.h"
#include "identity/vault/vault.h"
#include "token/jws.h"
#include "token/keyring.h"

#define KEYD_STACK (256 * 1024)    /* a serving thread's stack: the answers need ~20 KiB */
#define ALG_NAME_MAX 16

/* Request flags, after OpenSSH's monitor (MON_ONCE, MON_PERMIT). */
#define KD_CTL 0x1u     /* on the control channel only; else on work channels only */
#define KD_ONCE 0x2u    /* permitted once, then never again */
#define KD_PERMIT 0x4u  /* permitted now (in keyd.permit) */

struct keyd {
	struct kh *kh;
	pthread_mutex_t ring_mu;         /* one reload at a time; guards prev */
	struct tok_ring_snap *prev;      /* the snapshot the last reload replaced */
	const int *fds;                  /* fds[0]: control; fds[1..]: work channels */
	size_t nfds;
	unsigned permit[KD_REQ_COUNT];   /* KD_PERMIT bits, atomic */
	pthread_barrier_t gate;          /* no thread serves before the filter is in place */
};

/* ---- refusing ---------------------------------------------------------------------- */

static void refuse(size_t chan, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));

/* Logs why and exits: the HTTP process sent what it never sends. Nothing is cleaned up
 * (other threads may be mid-request); the kernel drops the keys with the process. */
static void
refuse(size_t chan, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	yh_error("refusing %s on %s channel %zu from the HTTP process: stopping the key holder "
	    "(authd stops with it)", why, chan == 0 ? "the control" : "work", chan);
	_exit(KEYD_EXIT_REFUSED);
}

/* ---- answers ----------------------------------------------------------------------- */

/* Each answer function reads its request's fields and writes the answer into ans. It
 * returns 0 once an answer is written (an error status is an answer), or the framing
 * error of a request that does not match its type: keyd then refuses it. */

static int
answer_err(struct yh_buf *ans, int status, const char *msg)
{
	if (kd_begin_answer(ans, status) != 0 || (msg != NULL && msg[0] != '\0' &&
	    kd_put(ans, msg, strnlen(msg, KD_ERR_MAX)) != 0))
		return YH_ERR_INTERNAL;
	return 0;
}

/* An answer of one field (p, n) on success, else status alone. */
static int
answer_one(struct yh_buf *ans, int status, const void *p, size_t n)
{
	if (status != 0)
		return answer_err(ans, status, NULL);
	if (kd_begin_answer(ans, 0) != 0 || kd_put(ans, p, n) != 0)
		return answer_err(ans, YH_ERR_INTERNAL, NULL);
	return 0;
}

/* The ring as the HTTP process sees it, into ans (or an error answer). */
static int
put_ring(struct keyd *k, struct yh_buf *ans)
{
	struct tok_ring_snap *s = tok_ring_acquire(k->kh->ring);
	char *doc = NULL;
	int r;

	if ((r = tok_snap_describe(s, &doc)) == 0 && strlen(doc) > KD_RING_DOC_MAX)
		r = YH_ERR_TOO_LONG;
	tok_snap_release(s);
	if (r != 0) {
		free(doc);
		return answer_err(ans, r, "the ring's description is too large");
	}
	r = kd_put_str(ans, doc);
	free(doc);
	return r == 0 ? 0 : answer_err(ans, YH_ERR_INTERNAL, NULL);
}

static void
permit_work(struct keyd *k)
{
	for (unsigned t = KD_REQ_RELOAD; t < KD_REQ_COUNT; t++)
		__atomic_or_fetch(&k->permit[t], KD_PERMIT, __ATOMIC_RELEASE);
}

/* HELLO: the public facts of the keys. Once; then every other request is permitted. */
static int
answer_hello(struct keyd *k, struct kd_rd *rd, struct yh_buf *ans)
{
	int r;

	if ((r = kd_end(rd)) != 0)
		return r;
	if (kd_begin_answer(ans, 0) != 0 || kd_put_str(ans, vault_cipher(k->kh->vault)) != 0 ||
	    kd_put_str(ans, vault_kid(k->kh->vault)) != 0 ||
	    kd_put_str(ans, k->kh->audit_kid) != 0)
		return answer_err(ans, YH_ERR_INTERNAL, NULL);
	if ((r = put_ring(k, ans)) == 0)
		permit_work(k);
	return r;
}

/* RELOAD: re-reads the ring. A failed reload keeps the keys and says why; after a good
 * one the active keys of the replaced snapshot still sign (requests of the HTTP process
 * that began before it took the new ring). */
static int
answer_reload(struct keyd *k, struct kd_rd *rd, struct yh_buf *ans)
{
	struct tok_ring_snap *old;
	char err[KD_ERR_MAX];
	int r;

	if ((r = kd_end(rd)) != 0)
		return r;
	pthread_mutex_lock(&k->ring_mu);
	old = tok_ring_acquire(k->kh->ring);
	if ((r = tok_ring_reload(k->kh->ring, err, sizeof(err))) == 0) {
		tok_snap_release(k->prev);
		k->prev = old;
	} else
		tok_snap_release(old);
	pthread_mutex_unlock(&k->ring_mu);
	if (r != 0)
		return answer_err(ans, r, err);
	if (kd_begin_answer(ans, 0) != 0)
		return answer_err(ans, YH_ERR_INTERNAL, NULL);
	return put_ring(k, ans);
}

/* True when input is a JWS signing input, BASE64URL(header) "." BASE64URL(payload),
 * whose header begins {"alg":"<alg>" and names kid: what tok_jws_sign asks to sign, and
 * nothing else (not a bare digest, not another format's bytes). */
static bool
jws_input_ok(const unsigned char *input, size_t n, const char *alg, const char *kid)
{
	static const char alg_at[] = "{\"alg\":\"", kid_at[] = "\"kid\":\"";
	unsigned char hdr[TOK_JWS_HEADER_MAX + 1];
	char want[sizeof(kid_at) + TOK_KID_MAX + 1];
	const unsigned char *dot;
	size_t hlen = 0, al = strlen(alg), kl = strlen(kid), ap = sizeof(alg_at) - 1;

	if ((dot = memchr(input, '.', n)) == NULL || memchr(dot + 1, '.',
	    n - (size_t)(dot + 1 - input)) != NULL)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = input[i];

		if (input + i != dot && !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	if (yh_b64url_decode((const char *)input, (size_t)(dot - input), hdr, sizeof(hdr) - 1,
	    &hlen) != 0)
		return false;
	hdr[hlen] = '\0';
	if (hlen < ap + al + 1 || memcmp(hdr, alg_at, ap) != 0 || memcmp(hdr + ap, alg, al) != 0 ||
	    hdr[ap + al] != '"' || memchr(hdr, '\0', hlen) != NULL || kl > TOK_KID_MAX)
		return false;
	/* "kid":"<kid>" */
	memcpy(want, kid_at, sizeof(kid_at) - 1);
	memcpy(want + sizeof(kid_at) - 1, kid, kl);
	memcpy(want + sizeof(kid_at) - 1 + kl, "\"", 2);
	return strstr((const char *)hdr, want) != NULL;
}

/* The active key kid of the current ring, or of the one the last reload replaced (then
 * *held is true and ring_mu is held: the caller unlocks it after signing). */
static const struct tok_key *
signing_key(struct keyd *k, struct tok_ring_snap *cur, const char *kid, bool *held)
{
	const struct tok_key *key;

	*held = false;
	if ((key = tok_snap_active_key(cur, kid)) != NULL)
		return key;
	pthread_mutex_lock(&k->ring_mu);
	if (k->prev != NULL && (key = tok_snap_active_key(k->prev, kid)) != NULL) {
		*held = true;
		return key;
	}
	pthread_mutex_unlock(&k->ring_mu);
	return NULL;
}

/* The fields of one signature asked for: kid, alg and a JWS signing input that names
 * them (a framing error, or YH_ERR_INVALID for anything else: keyd then refuses). */
static int
get_sign_fields(struct kd_rd *rd, char kid[TOK_KID_MAX + 1], enum tok_alg *a,
    const unsigned char **input, size_t *n)
{
	char alg[ALG_NAME_MAX + 1];
	int r;

	if ((r = kd_get_str(rd, TOK_KID_MAX, kid)) != 0 ||
	    (r = kd_get_str(rd, ALG_NAME_MAX, alg)) != 0 ||
	    (r = kd_get(rd, TOK_JWS_MAX, input, n)) != 0)
		return r;
	*a = TOK_ALG_UNSET;
	if (tok_alg_from_name(alg, a) != 0 || !jws_input_ok(*input, *n, alg, kid))
		return YH_ERR_INVALID;
	return 0;
}

/* Signs input with the active key kid of cur (or of the ring the last reload replaced):
 * 0, YH_ERR_KEY (not, or no longer, an active key), YH_ERR_UNSUPPORTED (the key is not
 * of alg a) or tok_key_sign's error. */
static int
sign_with(struct keyd *k, struct tok_ring_snap *cur, const char *kid, enum tok_alg a,
    const unsigned char *input, size_t n, unsigned char sig[TOK_SIG_MAX], size_t *siglen)
{
	const struct tok_key *key;
	bool held;
	int r;

	*siglen = 0;
	if ((key = signing_key(k, cur, kid, &held)) == NULL)
		return YH_ERR_KEY;
	if (tok_key_alg(key) != a)
		r = YH_ERR_UNSUPPORTED;
	else
		r = tok_key_sign(key, a, input, n, sig, TOK_SIG_MAX, siglen);
	if (held)
		pthread_mutex_unlock(&k->ring_mu);
	return r;
}

/* SIGN: kid, alg, input -> the signature of an active key of the ring. */
static int
answer_sign(struct keyd *k, struct kd_rd *rd, struct yh_buf *ans)
{
	char kid[TOK_KID_MAX + 1];
	unsigned char sig[TOK_SIG_MAX];
	const unsigned char *input;
	struct tok_ring_snap *cur;
	enum tok_alg a;
	size_t n, siglen = 0;
	int r;

	if ((r = get_sign_fields(rd, kid, &a, &input, &n)) != 0 || (r = kd_end(rd)) != 0)
		return r;
	cur = tok_ring_acquire(k->kh->ring);
	r = sign_with(k, cur, kid, a, input, n, sig, &siglen);
	tok_snap_release(cur);
	return answer_one(ans, r, sig, siglen);
}

/* SIGN_MANY: (kid, alg, input) x 1..KD_SIGN_MANY_MAX -> (status, signature) for each, in
 * order: what SIGN answers, for a batch the HTTP process gathered from several grants.
 * One malformed item refuses the whole request, as SIGN would refuse it. */
static int
answer_sign_many(struct keyd *k, struct kd_rd *rd, struct yh_buf *ans)
{
	char kid[TOK_KID_MAX + 1];
	unsigned char sig[TOK_SIG_MAX];
	const unsigned char *input;
	struct tok_ring_snap *cur;
	enum tok_alg a;
	size_t n, siglen, count = 0;
	int r = 0, st;

	if (kd_begin_answer(ans, 0) != 0)
		return answer_err(ans, YH_ERR_INTERNAL, NULL);
	cur = tok_ring_acquire(k->kh->ring);
	while (rd->left > 0 && r == 0) {
		if (++count > KD_SIGN_MANY_MAX ||
		    (r = get_sign_fields(rd, kid, &a, &input, &n)) != 0) {
			r = r != 0 ? r : YH_ERR_INVALID;
			break;
		}
		st = sign_with(k, cur, kid, a, input, n, sig, &siglen);
		if (st != 0)
			siglen = 0;
		if (kd_put_u32(ans, (uint32_t)st) != 0 || kd_put(ans, sig, siglen) != 0)
			r = YH_ERR_INTERNAL;   /* cannot happen: KD_SIGN_MANY_MAX fits */
	}
	tok_snap_release(cur);
	yh_wipe(sig, sizeof(sig));
	if (r == 0 && count == 0)
		r = YH_ERR_INVALID;
	if (r == YH_ERR_INTERNAL)
		return answer_err(ans, r, NULL);
	return r;
}

/* SEAL: domain, plaintext -> sealed value. */
static int
answer_seal(struct keyd *k, struct kd_rd *rd, struct yh_buf *ans)
{
	char domain[VAULT_DOMAIN_MAX + 1], *sealed = NULL;
	const unsigned char *pt;
	size_t n;
	int r;

	if ((r = kd_get_str(rd, VAULT_DOMAIN_MAX, domain)) != 0 ||
	    (r = kd_get(rd, VAULT_VALUE_MAX, &pt, &n)) != 0 || (r = kd_end(rd)) != 0)
		return r;
	r = vault_seal(k->kh->vault, domain, pt, n, &sealed);
	r = answer_one(ans, r, sealed, sealed != NULL ? strlen(sealed) : 0);
	free(sealed);
	return r;
}

/* OPEN: domain, sealed value -> plaintext (personal data: wiped after sending). */
static int
answer_open(struct keyd *k, struct kd_rd *rd, struct yh_buf *ans)
{
	char domain[VAULT_DOMAIN_MAX + 1], sealed[VAULT_SEALED_MAX + 1], *pt = NULL;
	int r;

	if ((r = kd_get_str(rd, VAULT_DOMAIN_MAX, domain)) != 0 ||
	    (r = kd_get_str(rd, VAULT_SEALED_MAX, sealed)) != 0 || (r = kd_end(rd)) != 0)
		return r;
	r = vault_open_value(k->kh->vault, domain, sealed, &pt);
	r = answer_one(ans, r, pt, pt != NULL ? strlen(pt) : 0);
	yh_strfree_secret(pt);
	return r;
}

/* BLIND: domain, value -> 64 hex digits. */
static int
answer_blind(struct keyd *k, struct kd_rd *rd, struct yh_buf *ans)
{
	char domain[VAULT_DOMAIN_MAX + 1], hex[VAULT_BLIND_HEX_LEN + 1];
	char *value;
	int r;

	if ((value = malloc(VAULT_VALUE_MAX + 1)) == NULL)
		return answer_err(ans, YH_ERR_ALLOC, NULL);
	if ((r = kd_get_str(rd, VAULT_DOMAIN_MAX, domain)) == 0 &&
	    (r = kd_get_str(rd, VAULT_VALUE_MAX, value)) == 0 && (r = kd_end(rd)) == 0) {
		r = vault_blind(k->kh->vault, domain, value, hex);
		r = answer_one(ans, r, hex, strlen(hex));
	}
	yh_freezero(value, VAULT_VALUE_MAX + 1);
	return r;
}

/* SUB: sector, uid -> the pairwise subject MAC. */
static int
answer_sub(struct keyd *k, struct kd_rd *rd, struct yh_buf *ans)
{
	char sector[KEYS_SECTOR_MAX + 1], uid[KEYS_UID_MAX + 1];
	unsigned char mac[KEYS_MAC_LEN];
	int r;

	if ((r = kd_get_str(rd, KEYS_SECTOR_MAX, sector)) != 0 ||
	    (r = kd_get_str(rd, KEYS_UID_MAX, uid)) != 0 || (r = kd_end(rd)) != 0)
		return r;
	r = keys_sub(k->kh->keys, sector, uid, mac);
	return answer_one(ans, r, mac, sizeof(mac));
}

/* MAC: purpose (one byte), message -> the MAC of that purpose. */
static int
answer_mac(struct keyd *k, struct kd_rd *rd, struct yh_buf *ans)
{
	const unsigned char *purpose, *msg;
	unsigned char mac[KEYS_MAC_LEN];
	size_t pn, n;
	int r;

	if ((r = kd_get(rd, 1, &purpose, &pn)) != 0 || pn != 1 ||
	    (r = kd_get(rd, KEYS_MSG_MAX, &msg, &n)) != 0 || (r = kd_end(rd)) != 0)
		return r != 0 ? r : YH_ERR_INVALID;
	if (purpose[0] < KEYS_MAC_CSRF || purpose[0] > KEYS_PURPOSE_MAX)
		return YH_ERR_INVALID;
	r = keys_mac(k->kh->keys, (enum keys_purpose)purpose[0], msg, n, mac);
	return answer_one(ans, r, mac, sizeof(mac));
}

/* UREF_SEAL: client id, uid -> user reference. */
static int
answer_uref_seal(struct keyd *k, struct kd_rd *rd, struct yh_buf *ans)
{
	char client[KEYS_CLIENT_ID_MAX + 1], uid[KEYS_UREF_UID_MAX + 1], ref[KEYS_UREF_MAX];
	int r;

	if ((r = kd_get_str(rd, KEYS_CLIENT_ID_MAX, client)) != 0 ||
	    (r = kd_get_str(rd, KEYS_UREF_UID_MAX, uid)) != 0 || (r = kd_end(rd)) != 0)
		return r;
	r = keys_uref_seal(k->kh->keys, client, uid, ref);
	return answer_one(ans, r, ref, strlen(ref));
}

/* UREF_OPEN: client id, user reference -> uid. */
static int
answer_uref_open(struct keyd *k, struct kd_rd *rd, struct yh_buf *ans)
{
	char client[KEYS_CLIENT_ID_MAX + 1], ref[KEYS_UREF_MAX], uid[KEYS_UREF_UID_MAX + 1];
	int r;

	if ((r = kd_get_str(rd, KEYS_CLIENT_ID_MAX, client)) != 0 ||
	    (r = kd_get_str(rd, KEYS_UREF_MAX - 1, ref)) != 0 || (r = kd_end(rd)) != 0)
		return r;
	r = keys_uref_open(k->kh->keys, client, ref, uid, sizeof(uid));
	return answer_one(ans, r, uid, strlen(uid));
}

/* SECRET_KID: create (one byte, 0 or 1) -> the client-secret key's id. */
static int
answer_secret_kid(struct keyd *k, struct kd_rd *rd, struct yh_buf *ans)
{
	char kid[KD_KID_MAX + 1], err[KD_ERR_MAX] = "";
	const unsigned char *create;
	size_t n;
	int r;

	if ((r = kd_get(rd, 1, &create, &n)) != 0 || n != 1 || create[0] > 1 ||
	    (r = kd_end(rd)) != 0)
		return r != 0 ? r : YH_ERR_INVALID;
	if ((r = kh_secret_kid(k->kh, create[0] == 1, kid, err, sizeof(err))) != 0)
		return answer_err(ans, r, err);
	return answer_one(ans, 0, kid, strlen(kid));
}

/* SECRET_HASH: client id, secret -> hash, key id. */
static int
answer_secret_hash(struct keyd *k, struct kd_rd *rd, struct yh_buf *ans)
{
	unsigned char hash[CLIENTS_HASH_LEN];
	char id[CLIENTS_ID_MAX + 1], kid[KD_KID_MAX + 1];
	const unsigned char *secret;
	size_t n;
	int r;

	if ((r = kd_get_str(rd, CLIENTS_ID_MAX, id)) != 0 ||
	    (r = kd_get(rd, CLIENTS_SECRET_MAX, &secret, &n)) != 0 || (r = kd_end(rd)) != 0)
		return r;
	if ((r = kh_secret_hash(k->kh, id, (const char *)secret, n, hash, kid)) != 0)
		r = answer_err(ans, r, NULL);
	else if (kd_begin_answer(ans, 0) != 0 || kd_put(ans, hash, sizeof(hash)) != 0 ||
	    kd_put_str(ans, kid) != 0)
		r = answer_err(ans, YH_ERR_INTERNAL, NULL);
	yh_wipe(hash, sizeof(hash));
	return r;
}

/* The requests keyd answers, and nothing else. */
static const struct kd_entry {
	enum kd_req type;
	unsigned flags;
	int (*answer)(struct keyd *k, struct kd_rd *rd, struct yh_buf *ans);
} kd_table[] = {
	{ KD_REQ_HELLO, KD_CTL | KD_ONCE, answer_hello },
	{ KD_REQ_RELOAD, KD_CTL, answer_reload },
	{ KD_REQ_SIGN, 0, answer_sign },
	{ KD_REQ_SIGN_MANY, 0, answer_sign_many },
	{ KD_REQ_SEAL, 0, answer_seal },
	{ KD_REQ_OPEN, 0, answer_open },
	{ KD_REQ_BLIND, 0, answer_blind },
	{ KD_REQ_SUB, 0, answer_sub },
	{ KD_REQ_MAC, 0, answer_mac },
	{ KD_REQ_UREF_SEAL, 0, answer_uref_seal },
	{ KD_REQ_UREF_OPEN, 0, answer_uref_open },
	{ KD_REQ_SECRET_KID, 0, answer_secret_kid },
	{ KD_REQ_SECRET_HASH, 0, answer_secret_hash },
};

static const struct kd_entry *
find_entry(uint32_t type)
{
	for (size_t i = 0; i < sizeof(kd_table) / sizeof(kd_table[0]); i++)
		if ((uint32_t)kd_table[i].type == type)
			return &kd_table[i];
	return NULL;
}

/* ---- serving ----------------------------------------------------------------------- */

enum served { SERVED, CLOSED };

/* Reads one request from channel chan (waiting for it), checks it against the table and
 * answers it. */
static enum served
serve_one(struct keyd *k, size_t chan, unsigned char *buf, struct yh_buf *ans)
{
	struct iovec iov = { buf, KD_MSG_MAX };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	const struct kd_entry *e;
	struct kd_rd rd;
	uint32_t type;
	ssize_t n;
	int fd = k->fds[chan];

	if ((n = recvmsg(fd, &mh, 0)) < 0)
		return errno == EINTR ? SERVED : CLOSED;
	if (n == 0)
		return CLOSED;
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		refuse(chan, "a request longer than %d bytes", KD_MSG_MAX);
	rd.p = buf;
	rd.left = (size_t)n;
	if (kd_get_u32(&rd, &type) != 0)
		refuse(chan, "a request of %zd bytes, without a type", n);
	if ((e = find_entry(type)) == NULL)
		refuse(chan, "an unknown request type %u", type);
	if ((e->flags & KD_CTL) != (chan == 0 ? KD_CTL : 0u))
		refuse(chan, "a %s request on the wrong channel", kd_req_name(type));
	if (!(__atomic_load_n(&k->permit[type], __ATOMIC_ACQUIRE) & KD_PERMIT))
		refuse(chan, "an unpermitted %s request", kd_req_name(type));
	if ((e->flags & KD_ONCE) &&
	    !(__atomic_fetch_and(&k->permit[type], ~KD_PERMIT, __ATOMIC_ACQ_REL) & KD_PERMIT))
		refuse(chan, "a second %s request", kd_req_name(type));
	if (e->answer(k, &rd, ans) != 0)
		refuse(chan, "a malformed %s request (%zd bytes)", kd_req_name(type), n);
	yh_wipe(buf, (size_t)n);
	n = send(fd, ans->data, ans->len, MSG_NOSIGNAL);
	yh_buf_reset(ans);
	return n < 0 ? CLOSED : SERVED;
}

/* One channel's thread. */
struct server {
	struct keyd *k;
	size_t chan;
	pthread_t th;
};

/* Serves one channel until it closes: the HTTP process uses a channel for one request at
 * a time, so a thread blocked on its socket is woken by exactly its own requests (no
 * thread wakes for another's). When the control channel closes (authd is done), the work
 * channels are shut down, which ends their threads. */
static void *
serve(void *arg)
{
	struct server *sv = arg;
	struct keyd *k = sv->k;
	struct yh_buf ans;
	unsigned char *buf;

	if ((buf = malloc(KD_MSG_MAX)) == NULL) {
		yh_error("out of memory");
		_exit(KEYD_EXIT_INTERNAL);
	}
	(void)pthread_barrier_wait(&k->gate);
	yh_buf_init_secret(&ans, sv->chan == 0 ? KD_CTL_MSG_MAX : KD_MSG_MAX);
	while (serve_one(k, sv->chan, buf, &ans) == SERVED)
		;
	if (sv->chan == 0)
		for (size_t i = 1; i < k->nfds; i++)
			(void)shutdown(k->fds[i], SHUT_RDWR);
	yh_buf_free(&ans);
	yh_freezero(buf, KD_MSG_MAX);
	return NULL;
}

/* keys could not be opened: the first request (which must be HELLO) gets the reason. */
static void __attribute__((noreturn))
tell_failure(const int *fds, int status, const char *err)
{
	unsigned char buf[64];
	struct yh_buf ans;
	uint32_t type = 0;
	struct kd_rd rd;
	ssize_t n;

	while ((n = recv(fds[0], buf, sizeof(buf), 0)) < 0 && errno == EINTR)
		;
	rd.p = buf;
	rd.left = n > 0 ? (size_t)n : 0;
	if (n <= 0 || kd_get_u32(&rd, &type) != 0 || type != KD_REQ_HELLO)
		_exit(KEYD_EXIT_KEYS);
	yh_buf_init(&ans, KD_MSG_MAX);
	if (answer_err(&ans, status, err) == 0)
		(void)!send(fds[0], ans.data, ans.len, MSG_NOSIGNAL);
	_exit(KEYD_EXIT_KEYS);
}

/* ---- the process ------------------------------------------------------------------- */

/* Dies with authd, cannot be traced or dumped by it, ignores the stop signals (authd
 * ends it by closing the channels once its requests are done). */
static void
harden(pid_t parent)
{
	static const int ignored[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGUSR1, SIGUSR2 };
	struct rlimit none = { 0, 0 };
	sigset_t all;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		_exit(KEYD_EXIT_INTERNAL);   /* authd is already gone */
	if (prctl(PR_SET_DUMPABLE, 0) != 0 || setrlimit(RLIMIT_CORE, &none) != 0) {
		yh_error("cannot make the key holder undumpable: %s", strerror(errno));
		_exit(KEYD_EXIT_INTERNAL);
	}
	(void)prctl(PR_SET_NAME, "authd-keyd");
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		signal(ignored[i], SIG_IGN);
	sigemptyset(&all);
	pthread_sigmask(SIG_SETMASK, &all, NULL);
}

/* Moves the channels to descriptors 3.. and closes every other one but 0, 1 and 2 (the
 * listening socket, the TLS files, anything authd had open). fds gets the new numbers. */
static void
keep_only(int *fds, size_t n)
{
	int high = 3;

	for (size_t i = 0; i < n; i++)
		if (fds[i] >= high)
			high = fds[i] + 1;
	if (high < 3 + (int)n)
		high = 3 + (int)n;
	for (size_t i = 0; i < n; i++)      /* out of the way first: no dup2 clobbers one */
		if ((fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, high)) < 0)
			_exit(KEYD_EXIT_INTERNAL);
	for (size_t i = 0; i < n; i++)
		if ((fds[i] = dup3(fds[i], 3 + (int)i, O_CLOEXEC)) != 3 + (int)i)
			_exit(KEYD_EXIT_INTERNAL);
	if (close_range(3 + (unsigned)n, ~0u, 0) != 0)
		_exit(KEYD_EXIT_INTERNAL);
}

/* Serves until authd closes the control channel; returns the exit status. */
static int
run(struct keyd *k)
{
	int cpus[KD_CPUS_MAX];
	struct server *sv;
	pthread_attr_t attr;
	size_t started = 0, ncpus;
	cpu_set_t all;
	char why[256];
	int r;

	k->permit[KD_REQ_HELLO] = KD_PERMIT;
	CPU_ZERO(&all);
	if (sched_getaffinity(0, sizeof(all), &all) != 0 ||
	    (sv = calloc(k->nfds, sizeof(*sv))) == NULL ||
	    pthread_barrier_init(&k->gate, NULL, (unsigned)k->nfds + 1) != 0 ||
	    pthread_attr_init(&attr) != 0 ||
	    pthread_attr_setstacksize(&attr, KEYD_STACK) != 0) {
		yh_error("cannot set up the serving threads");
		return KEYD_EXIT_INTERNAL;
	}
	ncpus = kd_cpus(cpus, KD_CPUS_MAX);
	for (; started < k->nfds; started++) {
		int cpu = started == 0 ? -1 : cpus[(started - 1) % ncpus];
		cpu_set_t one;

		CPU_ZERO(&one);
		if (cpu >= 0)
			CPU_SET(cpu, &one);
		sv[started] = (struct server){ k, started, 0 };
		if (pthread_attr_setaffinity_np(&attr, sizeof(one), cpu >= 0 ? &one : &all) != 0 ||
		    pthread_create(&sv[started].th, &attr, serve, &sv[started]) != 0)
			break;
	}
	pthread_attr_destroy(&attr);
	if (started < k->nfds) {
		yh_error("cannot start a serving thread for each of the %zu channels", k->nfds);
		_exit(KEYD_EXIT_INTERNAL);
	}
	/* The threads exist (the filter forbids making more) but serve nothing until the
	 * filter covers them all (TSYNC): no request is ever answered unfiltered. */
	if ((r = kd_sandbox(why, sizeof(why))) != 0)
		yh_log_msg(r == YH_ERR_UNSUPPORTED ? YH_LOG_INFO : YH_LOG_WARN, __FILE__,
		    __LINE__, __func__, "no system-call filter: %s", why);
	(void)pthread_barrier_wait(&k->gate);
	yh_info("holding the keys (pid %ld, a thread for each of the %zu channels)",
	    (long)getpid(), k->nfds);
	for (size_t i = 0; i < started; i++)
		pthread_join(sv[i].th, NULL);
	free(sv);
	return 0;
}

void
keyd_main(const struct authd_cfg *cfg, pid_t parent, const int *given, size_t n)
{
	char err[KD_ERR_MAX] = "";
	struct keyd k;
	int *fds, status;

	harden(parent);
	if ((fds = malloc(n * sizeof(*fds))) == NULL)
		_exit(KEYD_EXIT_INTERNAL);
	memcpy(fds, given, n * sizeof(*fds));
	keep_only(fds, n);
	yh_log_set_prog("authd-keyd");
	memset(&k, 0, sizeof(k));
	k.fds = fds;
	k.nfds = n;
	pthread_mutex_init(&k.ring_mu, NULL);
	if ((status = kh_open(cfg, &k.kh, err, sizeof(err))) != 0)
		tell_failure(fds, status, err);
	status = run(&k);
	tok_snap_release(k.prev);
	kh_free(k.kh);
	free(fds);
	exit(status);
}
