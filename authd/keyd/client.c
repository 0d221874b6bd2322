/* The HTTP process's side of keyd: channels, round trips, and the interfaces they serve.
 * See client.h. */
#define _GNU_SOURCE    /* sched_getcpu */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "authcore/clients/clients.h"
#include "authd/keyd/client.h"
#include "authd/keyd/keyd.h"
#include "authd/keyd/keys.h"
#include "authd/keyd/proto.h"
#include "common/digest.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/secmem.h"
#include "identity/vault/vault.h"
#include "token/jws.h"
#include "token/keyring.h"

#define KDC_CHANNELS_MAX 1024
#define KDC_EXIT 2                 /* authd's exit status for everything but config */
#define KDC_REAP_MS 2000
#define CIPHER_MAX 16
#define SECRET_CACHE 1024          /* remembered client authentications (a power of 2) */
#define SUB_CACHE 16384            /* remembered pairwise subjects (a power of 2) */
_Static_assert(SECRET_CACHE <= 65536 && SUB_CACHE <= 65536, "digest_slot uses 16 bits");
#define SIGNERS_MAX 8              /* signer threads (one per CPU keyd serves on) */
_Static_assert(4 + KD_SIGN_MANY_MAX * (8 + TOK_SIG_MAX) <= KD_MSG_MAX,
    "a SIGN_MANY answer always fits in one packet");

/* One work channel: its descriptor and buffers, used by one caller at a time. */
struct chan {
	int fd;
	size_t pool;                    /* the CPU keyd serves it on (index into pools) */
	struct yh_buf req;
	unsigned char ans[KD_MSG_MAX];
};

/* The free channels served on one CPU. */
struct pool {
	size_t *ids, n;
};

/* A client secret keyd hashed: the salted digest of what was presented and keyd's
 * answer (see r_secret_hash). */
struct seen_secret {
	unsigned char digest[CLIENTS_HASH_LEN];
	unsigned char hash[CLIENTS_HASH_LEN];
	char kid[CLIENTS_KID_LEN + 1];
	bool used;
};

/* A pairwise subject keyd computed: the salted digest of its sector and uid, and keyd's
 * MAC (see r_sub). */
struct seen_sub {
	unsigned char digest[CLIENTS_HASH_LEN];
	unsigned char mac[KEYS_MAC_LEN];
	bool used;
};

/*
 * Signatures asked for without waiting (tok_key_sign_submit, the token endpoint's): a
 * queue that the signer threads empty in batches, one SIGN_MANY round trip for up to
 * KD_SIGN_MANY_MAX of them. The grants that arrive while one batch is being signed
 * make the next, so under load keyd wakes once per batch rather than once per grant,
 * and no HTTP thread sleeps through a signature.
 */
struct signq {
	pthread_mutex_t mu;
	pthread_cond_t work;            /* a job was queued, or stop */
	pthread_cond_t idle;            /* a batch was answered */
	struct tok_sign_job *head, **tail;
	size_t busy;                    /* batches being signed */
	bool settled;                   /* kdc_sign_settle: sign on the caller's thread */
	bool stop;                      /* kdc_close: the signers end once the queue is empty */
	pthread_t th[SIGNERS_MAX];
	size_t nth;
	uint64_t batches, signatures;   /* answered so far (atomic; kdc_metrics) */
};

struct kdc {
	pid_t pid;
	bool reaped;
	int status;
	int64_t answer_s;               /* keys.answer_timeout (0 until HELLO was answered) */
	int ctl;                        /* the control channel */
	pthread_mutex_t ctl_mu;         /* one control round trip at a time; guards ctl_* */
	struct yh_buf ctl_req;
	unsigned char *ctl_ans;         /* KD_CTL_MSG_MAX bytes */
	struct chan *ch;
	size_t n;
	pthread_mutex_t mu;             /* guards the pools */
	pthread_cond_t cv;              /* a channel was put back */
	struct pool *pools;             /* one per CPU of cpus */
	size_t npools;
	int cpus[KD_CPUS_MAX];          /* kd_cpus: pools[i] is served on cpus[i] */
	char cipher[CIPHER_MAX + 1];
	char vault_kid[KD_KID_MAX + 1];
	char audit_kid[KD_KID_MAX + 1];
	char *ring_doc;                 /* HELLO's ring, until the ring is opened */
	struct clients_hasher hasher;
	pthread_mutex_t seen_mu;        /* guards seen, seen_kid */
	unsigned char salt[32];         /* of the digests in seen */
	struct seen_secret *seen;       /* SECRET_CACHE entries */
	char seen_kid[CLIENTS_KID_LEN + 1];  /* the key their hashes were made with */
	pthread_mutex_t subs_mu;        /* guards subs */
	struct seen_sub *subs;          /* SUB_CACHE entries */
	struct signq sq;
};

/* A field of a request. */
struct in {
	const void *p;
	size_t n;
};

/* Where a field of an answer goes: at most max bytes into dst, its length into *len
 * (NULL: dst gets a NUL after it, as text). */
struct out {
	void *dst;
	size_t max;
	size_t *len;
};

/* ---- round trips --------------------------------------------------------------------- */

static void lost(const struct kdc *c, const char *what) __attribute__((noreturn));

/* exchange's why for a keyd that took longer than keys.answer_timeout */
static const char too_late[] = "did not answer in time";

/* A broken channel: keyd is gone (it refused a request and exited, or was killed) or
 * stuck (no answer within keys.answer_timeout), so nothing can be signed or opened any
 * more. Stops the process at once. */
static void
lost(const struct kdc *c, const char *what)
{
	if (what == too_late)
		yh_error("the key holder keyd (pid %ld) did not take or answer a request within "
		    "%lld s (keys.answer_timeout): it is stuck; authd stops", (long)c->pid,
		    (long long)c->answer_s);
	else
		yh_error("the key holder keyd (pid %ld) %s: authd stops (see keyd's own line "
		    "above for why)", (long)c->pid, what);
	_exit(KDC_EXIT);
}

#define BROKEN 1   /* exchange: the channel broke (statuses are 0 or negative) */

/* Whether a send or receive ended on the channel's time limit (SO_SNDTIMEO/RCVTIMEO). */
static bool
timed_out(void)
{
	return errno == EAGAIN || errno == EWOULDBLOCK;
}

/* Sends req on fd and reads the answer into buf (max bytes): returns its status with *rd
 * after it, or BROKEN with *why saying how. */
static int
exchange(int fd, const struct yh_buf *req, unsigned char *buf, size_t max,
    struct kd_rd *rd, const char **why)
{
	struct iovec iov = { buf, max };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	uint32_t status;
	ssize_t n;

	rd->p = buf;
	rd->left = 0;
	while ((n = send(fd, req->data, req->len, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)req->len) {
		*why = n >= 0 ? "cannot be reached" : errno == EPIPE ? "has exited" :
		    timed_out() ? too_late : "cannot be reached";
		return BROKEN;
	}
	while ((n = recvmsg(fd, &mh, 0)) < 0 && errno == EINTR)
		;
	if (n <= 0) {
		*why = n == 0 ? "has exited" : timed_out() ? too_late : "cannot be reached";
		return BROKEN;
	}
	rd->left = (size_t)n;
	if ((mh.msg_flags & MSG_TRUNC) || kd_get_u32(rd, &status) != 0 || (int)status > 0) {
		*why = "sent an answer the protocol does not allow";
		return BROKEN;
	}
	return (int)status;
}

/* exchange, where a broken channel stops the process. */
static int
round_trip(const struct kdc *c, int fd, const struct yh_buf *req, unsigned char *buf,
    size_t max, struct kd_rd *rd)
{
	const char *why = NULL;
	int r = exchange(fd, req, buf, max, rd, &why);

	if (r == BROKEN)
		lost(c, why);
	return r;
}

/* The answer's bytes, read or not: what the caller wipes. */
static size_t
answer_len(const struct kd_rd *rd, const unsigned char *buf)
{
	return (size_t)(rd->p - buf) + rd->left;
}

/* Copies the answer's fields into out (or its error message into err). */
static int
take_answer(int status, struct kd_rd *rd, const struct out *out, size_t nout, char *err,
    size_t errsz)
{
	const unsigned char *p;
	size_t n;

	if (status != 0) {
		if (err != NULL && errsz > 0 && kd_get(rd, KD_ERR_MAX, &p, &n) == 0)
			snprintf(err, errsz, "%.*s", (int)n, (const char *)p);
		else if (err != NULL && errsz > 0)
			snprintf(err, errsz, "%s", yh_strerror(status));
		return status < 0 ? status : YH_ERR_INTERNAL;
	}
	for (size_t i = 0; i < nout; i++) {
		size_t room = out[i].len != NULL ? out[i].max : out[i].max - 1;

		if (kd_get(rd, room, &p, &n) != 0)
			return YH_ERR_INTERNAL;
		memcpy(out[i].dst, p, n);
		if (out[i].len != NULL)
			*out[i].len = n;
		else
			((char *)out[i].dst)[n] = '\0';
	}
	return kd_end(rd) == 0 ? 0 : YH_ERR_INTERNAL;
}

/* The pool of the CPU the calling thread runs on (0 when it is none of them). */
static size_t
my_pool(const struct kdc *c)
{
	int cpu = sched_getcpu();

	for (size_t i = 0; cpu >= 0 && i < c->npools; i++)
		if (c->cpus[i] == cpu)
			return i;
	return 0;
}

/* A free channel: one of this CPU's when there is one, else any other's, else waits. */
static struct chan *
take(struct kdc *c)
{
	size_t mine = my_pool(c);
	struct chan *ch = NULL;

	pthread_mutex_lock(&c->mu);
	while (ch == NULL) {
		for (size_t k = 0; k < c->npools && ch == NULL; k++) {
			struct pool *p = &c->pools[(mine + k) % c->npools];

			if (p->n > 0)
				ch = &c->ch[p->ids[--p->n]];
		}
		if (ch == NULL)
			pthread_cond_wait(&c->cv, &c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	return ch;
}

static void
give(struct kdc *c, struct chan *ch)
{
	struct pool *p = &c->pools[ch->pool];

	pthread_mutex_lock(&c->mu);
	p->ids[p->n++] = (size_t)(ch - c->ch);
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

/* One request of type with fields in on a work channel; the answer's fields into out.
 * Returns keyd's status (0 or a YH_ERR_*), or the local error of a request that does
 * not fit. */
static int
call(struct kdc *c, enum kd_req type, const struct in *in, size_t nin,
    const struct out *out, size_t nout, char *err, size_t errsz)
{
	struct chan *ch = take(c);
	struct kd_rd rd;
	int r;

	if ((r = kd_begin(&ch->req, type)) == 0)
		for (size_t i = 0; i < nin && r == 0; i++)
			r = kd_put(&ch->req, in[i].p, in[i].n);
	if (r == 0) {
		r = round_trip(c, ch->fd, &ch->req, ch->ans, sizeof(ch->ans), &rd);
		r = take_answer(r, &rd, out, nout, err, errsz);
		yh_wipe(ch->ans, answer_len(&rd, ch->ans));
	}
	yh_buf_reset(&ch->req);
	give(c, ch);
	return r;
}

/* One request on the control channel (no fields); the answer's fields into out. */
static int
call_ctl(struct kdc *c, enum kd_req type, const struct out *out, size_t nout, char *err,
    size_t errsz)
{
	struct kd_rd rd;
	int r;

	pthread_mutex_lock(&c->ctl_mu);
	if ((r = kd_begin(&c->ctl_req, type)) == 0) {
		r = round_trip(c, c->ctl, &c->ctl_req, c->ctl_ans, KD_CTL_MSG_MAX, &rd);
		r = take_answer(r, &rd, out, nout, err, errsz);
	}
	pthread_mutex_unlock(&c->ctl_mu);
	return r;
}

#define IN_STR(s) { (s), strlen(s) }

/* ---- the vault ----------------------------------------------------------------------- */

static int
r_seal(void *ctx, const char *domain, const void *pt, size_t n, char **out_b64)
{
	struct in in[] = { IN_STR(domain), { pt, n } };
	char *sealed;
	int r;

	*out_b64 = NULL;
	if ((sealed = malloc(VAULT_SEALED_MAX + 1)) == NULL)
		return YH_ERR_ALLOC;
	r = call(ctx, KD_REQ_SEAL, in, 2, &(struct out){ sealed, VAULT_SEALED_MAX + 1, NULL },
	    1, NULL, 0);
	if (r == 0)
		*out_b64 = sealed;
	else
		free(sealed);
	return r;
}

static int
r_open(void *ctx, const char *domain, const char *sealed, char **out_pt)
{
	struct in in[] = { IN_STR(domain), IN_STR(sealed) };
	char *pt;
	int r;

	*out_pt = NULL;
	if ((pt = malloc(VAULT_VALUE_MAX + 1)) == NULL)
		return YH_ERR_ALLOC;
	r = call(ctx, KD_REQ_OPEN, in, 2, &(struct out){ pt, VAULT_VALUE_MAX + 1, NULL }, 1,
	    NULL, 0);
	if (r == 0)
		*out_pt = pt;
	else
		yh_freezero(pt, VAULT_VALUE_MAX + 1);
	return r;
}

static int
r_blind(void *ctx, const char *domain, const char *value,
    char out_hex[VAULT_BLIND_HEX_LEN + 1])
{
	struct in in[] = { IN_STR(domain), IN_STR(value) };
	int r;

	r = call(ctx, KD_REQ_BLIND, in, 2, &(struct out){ out_hex, VAULT_BLIND_HEX_LEN + 1,
	    NULL }, 1, NULL, 0);
	if (r == 0 && strlen(out_hex) != VAULT_BLIND_HEX_LEN)
		r = YH_ERR_INTERNAL;
	if (r != 0)
		out_hex[0] = '\0';
	return r;
}

static const struct vault_ops vault_ops = { r_seal, r_open, r_blind };

int
kdc_vault(struct kdc *c, struct vault **out)
{
	return vault_new_remote(&vault_ops, c, c->cipher, c->vault_kid, out);
}

/* ---- the keys ------------------------------------------------------------------------ */

/* An answer of exactly KEYS_MAC_LEN bytes into out. */
static int
call_mac(struct kdc *c, enum kd_req type, const struct in *in, size_t nin,
    unsigned char out[KEYS_MAC_LEN])
{
	size_t n = 0;
	int r;

	r = call(c, type, in, nin, &(struct out){ out, KEYS_MAC_LEN, &n }, 1, NULL, 0);
	if (r == 0 && n != KEYS_MAC_LEN)
		r = YH_ERR_INTERNAL;
	return r;
}

/* ---- remembered answers -------------------------------------------------------------- */

/* SHA-256(salt, name and its NUL, len bytes of value): the key under which an answer of
 * keyd is remembered (pairwise subjects, client-secret hashes). */
static int
salted_digest(const struct kdc *c, const char *name, const void *value, size_t len,
    unsigned char out[CLIENTS_HASH_LEN])
{
	unsigned int n = 0;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	int ok = m != NULL && EVP_DigestInit_ex(m, yh_sha256_md(), NULL) == 1 &&
	    EVP_DigestUpdate(m, c->salt, sizeof(c->salt)) == 1 &&
	    EVP_DigestUpdate(m, name, strlen(name) + 1) == 1 &&
	    EVP_DigestUpdate(m, value, len) == 1 && EVP_DigestFinal_ex(m, out, &n) == 1 &&
	    n == CLIENTS_HASH_LEN;

	EVP_MD_CTX_free(m);
	return ok ? 0 : YH_ERR_CRYPTO;
}

/* The slot of a direct-mapped table of size entries (a power of 2, at most 65536) that
 * holds the answer remembered under digest. */
static size_t
digest_slot(const unsigned char digest[CLIENTS_HASH_LEN], size_t size)
{
	return ((size_t)digest[0] << 8 | digest[1]) & (size - 1);
}

/*
 * A person's pairwise sub is asked for at every grant, introspection and logout of an
 * app with pairwise subjects, so keyd's answers are remembered here under SHA-256(salt,
 * sector, uid). keyd's subject key never changes while it runs (a new one would change
 * every sub), so a remembered answer stays right; and a sub is no secret: every app of
 * the sector is given it.
 */
static int
r_sub(void *ctx, const char *sector, const char *uid, unsigned char out[KEYS_MAC_LEN])
{
	struct kdc *c = ctx;
	struct in in[] = { IN_STR(sector), IN_STR(uid) };
	unsigned char digest[CLIENTS_HASH_LEN];
	struct seen_sub *e;
	bool hit;
	int r;

	if (salted_digest(c, sector, uid, strlen(uid), digest) != 0)
		return call_mac(c, KD_REQ_SUB, in, 2, out);
	e = &c->subs[digest_slot(digest, SUB_CACHE)];
	pthread_mutex_lock(&c->subs_mu);
	if ((hit = e->used && memcmp(e->digest, digest, sizeof(digest)) == 0))
		memcpy(out, e->mac, KEYS_MAC_LEN);
	pthread_mutex_unlock(&c->subs_mu);
	if (hit || (r = call_mac(c, KD_REQ_SUB, in, 2, out)) != 0)
		return hit ? 0 : r;
	pthread_mutex_lock(&c->subs_mu);
	memcpy(e->digest, digest, sizeof(digest));
	memcpy(e->mac, out, KEYS_MAC_LEN);
	e->used = true;
	pthread_mutex_unlock(&c->subs_mu);
	return 0;
}

static int
r_mac(void *ctx, enum keys_purpose purpose, const void *msg, size_t len,
    unsigned char out[KEYS_MAC_LEN])
{
	unsigned char p = (unsigned char)purpose;
	struct in in[] = { { &p, 1 }, { msg, len } };

	return call_mac(ctx, KD_REQ_MAC, in, 2, out);
}

static int
r_uref_seal(void *ctx, const char *client_id, const char *uid, char out[KEYS_UREF_MAX])
{
	struct in in[] = { IN_STR(client_id), IN_STR(uid) };

	return call(ctx, KD_REQ_UREF_SEAL, in, 2, &(struct out){ out, KEYS_UREF_MAX, NULL }, 1,
	    NULL, 0);
}

static int
r_uref_open(void *ctx, const char *client_id, const char *ref, char *uid, size_t uidsz)
{
	struct in in[] = { IN_STR(client_id), IN_STR(ref) };
	char got[KEYS_UREF_UID_MAX + 1];
	int r;

	r = call(ctx, KD_REQ_UREF_OPEN, in, 2, &(struct out){ got, sizeof(got), NULL }, 1, NULL,
	    0);
	if (r == 0 && strlen(got) + 1 > uidsz)
		r = YH_ERR_INVALID;
	if (r == 0)
		memcpy(uid, got, strlen(got) + 1);
	yh_wipe(got, sizeof(got));
	return r;
}

static const struct keys_ops keys_ops = { r_sub, r_mac, r_uref_seal, r_uref_open, NULL };

int
kdc_keys(struct kdc *c, struct keys **out)
{
	return keys_new(&keys_ops, c, out);
}

const char *
kdc_audit_kid(const struct kdc *c)
{
	return c->audit_kid;
}

/* ---- the ring ------------------------------------------------------------------------ */

static int
r_describe(void *ctx, bool reload, char **doc, char *err, size_t errsz)
{
	struct kdc *c = ctx;
	char *text;
	int r;

	*doc = NULL;
	if (!reload && c->ring_doc != NULL) {   /* the first open: HELLO's ring */
		*doc = c->ring_doc;
		c->ring_doc = NULL;
		return 0;
	}
	if ((text = malloc(KD_RING_DOC_MAX + 1)) == NULL)
		return YH_ERR_ALLOC;
	r = call_ctl(c, KD_REQ_RELOAD, &(struct out){ text, KD_RING_DOC_MAX + 1, NULL }, 1, err,
	    errsz);
	if (r == 0)
		*doc = text;
	else
		free(text);
	return r;
}

static int
r_sign(void *ctx, const struct tok_key *key, enum tok_alg alg, const void *data,
    size_t len, unsigned char *sig, size_t sigmax, size_t *siglen)
{
	struct in in[] = { IN_STR(tok_key_kid(key)), IN_STR(tok_alg_name(alg)), { data, len } };
	unsigned char got[TOK_SIG_MAX];
	size_t n = 0;
	int r;

	*siglen = 0;
	if (len > TOK_JWS_MAX)
		return YH_ERR_TOO_LONG;
	if ((r = call(ctx, KD_REQ_SIGN, in, 3, &(struct out){ got, sizeof(got), &n }, 1, NULL,
	    0)) != 0)
		return r;
	if (n > sigmax)
		return YH_ERR_TOO_LONG;
	memcpy(sig, got, n);
	*siglen = n;
	return 0;
}

/* ---- signatures in batches ----------------------------------------------------------- */

/* A job's size in a SIGN_MANY request: its three fields. */
static size_t
sign_item_size(const struct tok_sign_job *job)
{
	return 12 + strlen(tok_key_kid(job->key)) + strlen(tok_alg_name(job->alg)) + job->len;
}

/* Takes the next batch off the queue (sq.mu held): as many jobs as one request holds. */
static size_t
next_batch(struct signq *q, struct tok_sign_job **batch)
{
	size_t n = 0, size = 4;

	while (q->head != NULL && n < KD_SIGN_MANY_MAX &&
	    size + sign_item_size(q->head) <= KD_MSG_MAX) {
		size += sign_item_size(q->head);
		batch[n++] = q->head;
		if ((q->head = q->head->next) == NULL)
			q->tail = &q->head;
	}
	return n;
}

/* Hands each job its status and signature from a SIGN_MANY answer (keyd's status r):
 * exactly n results, each a status (0 or a negative error) and a signature present
 * exactly when the status is 0. An answer malformed anywhere fails the whole batch. */
static void
take_signatures(int r, struct kd_rd *rd, struct tok_sign_job **batch, size_t n)
{
	const unsigned char *p;
	uint32_t st;
	size_t len;

	for (size_t i = 0; i < n && r == 0; i++) {
		if (kd_get_u32(rd, &st) != 0 || kd_get(rd, TOK_SIG_MAX, &p, &len) != 0 ||
		    (int)st > 0 || (st == 0) != (len > 0)) {
			r = YH_ERR_INTERNAL;
			break;
		}
		batch[i]->rc = (int)st;
		memcpy(batch[i]->sig, p, len);
		batch[i]->siglen = len;
	}
	if (r == 0 && kd_end(rd) != 0)
		r = YH_ERR_INTERNAL;
	for (size_t i = 0; r != 0 && i < n; i++) {
		batch[i]->rc = r < 0 ? r : YH_ERR_INTERNAL;
		batch[i]->siglen = 0;
	}
}

/* Signs a batch in one round trip and hands each job its result. */
static void
sign_batch(struct kdc *c, struct tok_sign_job **batch, size_t n)
{
	struct chan *ch = take(c);
	struct kd_rd rd = { ch->ans, 0 };
	size_t signed_ok = 0;
	int r;

	if ((r = kd_begin(&ch->req, KD_REQ_SIGN_MANY)) == 0)
		for (size_t i = 0; i < n && r == 0; i++)
			if ((r = kd_put_str(&ch->req, tok_key_kid(batch[i]->key))) == 0 &&
			    (r = kd_put_str(&ch->req, tok_alg_name(batch[i]->alg))) == 0)
				r = kd_put(&ch->req, batch[i]->data, batch[i]->len);
	if (r == 0)
		r = round_trip(c, ch->fd, &ch->req, ch->ans, sizeof(ch->ans), &rd);
	take_signatures(r, &rd, batch, n);
	yh_wipe(ch->ans, answer_len(&rd, ch->ans));
	yh_buf_reset(&ch->req);
	give(c, ch);
	for (size_t i = 0; i < n; i++)
		signed_ok += batch[i]->rc == 0;
	__atomic_add_fetch(&c->sq.batches, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&c->sq.signatures, signed_ok, __ATOMIC_RELAXED);
	for (size_t i = 0; i < n; i++)
		batch[i]->done(batch[i]);
}

static void *
signer_main(void *arg)
{
	struct kdc *c = arg;
	struct signq *q = &c->sq;
	struct tok_sign_job *batch[KD_SIGN_MANY_MAX];
	size_t n;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (q->head == NULL && !q->stop)
			pthread_cond_wait(&q->work, &q->mu);
		if (q->head == NULL)
			break;
		n = next_batch(q, batch);
		q->busy++;
		pthread_mutex_unlock(&q->mu);
		sign_batch(c, batch, n);
		pthread_mutex_lock(&q->mu);
		q->busy--;
		pthread_cond_broadcast(&q->idle);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* Starts the signer threads (sq.mu held): false when none could start. */
static bool
start_signers(struct kdc *c)
{
	struct signq *q = &c->sq;
	size_t want = c->npools < SIGNERS_MAX ? c->npools : SIGNERS_MAX;

	while (q->nth < want && pthread_create(&q->th[q->nth], NULL, signer_main, c) == 0)
		q->nth++;
	return q->nth > 0;
}

/* The ring's tok_submit_fn: queues job for the signers; signs it at once, on the calling
 * thread, once kdc_sign_settle ran (or when no signer thread could start). */
static void
r_submit(void *ctx, struct tok_sign_job *job)
{
	struct kdc *c = ctx;
	struct signq *q = &c->sq;
	bool now = false;

	job->next = NULL;
	if (job->len > TOK_JWS_MAX || 4 + sign_item_size(job) > KD_MSG_MAX) {
		job->rc = YH_ERR_TOO_LONG;
		job->done(job);
		return;
	}
	pthread_mutex_lock(&q->mu);
	if (q->stop) {
		/* kdc_close: the channels are closing, nothing can be signed any more */
		pthread_mutex_unlock(&q->mu);
		job->rc = YH_ERR_UNAVAILABLE;
		job->done(job);
		return;
	}
	if (q->settled || (q->nth == 0 && !start_signers(c))) {
		now = true;
	} else {
		*q->tail = job;
		q->tail = &job->next;
		pthread_cond_signal(&q->work);
	}
	pthread_mutex_unlock(&q->mu);
	if (now) {
		job->rc = r_sign(c, job->key, job->alg, job->data, job->len, job->sig,
		    sizeof(job->sig), &job->siglen);
		job->done(job);
	}
}

void
kdc_sign_settle(struct kdc *c)
{
	struct signq *q = &c->sq;

	pthread_mutex_lock(&q->mu);
	q->settled = true;
	while (q->head != NULL || q->busy > 0)
		pthread_cond_wait(&q->idle, &q->mu);
	pthread_mutex_unlock(&q->mu);
}

void
kdc_sign_counts(struct kdc *c, uint64_t *batches, uint64_t *signatures)
{
	*batches = __atomic_load_n(&c->sq.batches, __ATOMIC_RELAXED);
	*signatures = __atomic_load_n(&c->sq.signatures, __ATOMIC_RELAXED);
}

static int
read_batches(void *ctx, double *v)
{
	*v = (double)__atomic_load_n(&((struct kdc *)ctx)->sq.batches, __ATOMIC_RELAXED);
	return 0;
}

static int
read_signatures(void *ctx, double *v)
{
	*v = (double)__atomic_load_n(&((struct kdc *)ctx)->sq.signatures, __ATOMIC_RELAXED);
	return 0;
}

int
kdc_metrics(struct kdc *c, struct mx_registry *reg)
{
	int r;

	if ((r = mx_counter_fn_add(reg, "yh_keyd_sign_batches_total",
	    "Round trips to keyd that signed a batch of queued signatures.", NULL,
	    read_batches, c)) != 0)
		return r;
	return mx_counter_fn_add(reg, "yh_keyd_batched_signatures_total",
	    "Signatures made in those batches (divided by the batches: their mean size).",
	    NULL, read_signatures, c);
}

/* Ends the signer threads once the queue is empty; a later submission fails at once. */
static void
stop_signers(struct kdc *c)
{
	struct signq *q = &c->sq;
	size_t nth;

	pthread_mutex_lock(&q->mu);
	q->stop = q->settled = true;
	nth = q->nth;
	pthread_cond_broadcast(&q->work);
	pthread_mutex_unlock(&q->mu);
	for (size_t i = 0; i < nth; i++)   /* no thread starts once stop is set */
		pthread_join(q->th[i], NULL);
}

int
kdc_ring(struct kdc *c, struct tok_ring **out, char *err, size_t errsz)
{
	struct tok_ring_source src = { r_describe, r_sign, c, r_submit };

	return tok_ring_open_remote(&src, out, err, errsz);
}

/* ---- client secrets ------------------------------------------------------------------ */

/*
 * A client authenticates with the same secret at every token request, so keyd's keyed
 * hash of a secret is remembered here under SHA-256(salt, id, secret) (salt: random, per
 * process): presenting it again costs no round trip. What this process keeps is no key:
 * the hashes are what clients.json holds anyway, and a salted digest of a secret this
 * process was shown in clear (as it is shown again at every request). A new key id
 * (authctl made or replaced the key) forgets everything.
 */
static struct seen_secret *
seen_slot(const struct kdc *c, const unsigned char digest[CLIENTS_HASH_LEN])
{
	return &c->seen[digest_slot(digest, SECRET_CACHE)];
}

/* Forgets every remembered hash when keyd names a key other than theirs. */
static void
seen_key(struct kdc *c, const char kid[CLIENTS_KID_LEN + 1])
{
	pthread_mutex_lock(&c->seen_mu);
	if (strcmp(kid, c->seen_kid) != 0) {
		yh_wipe(c->seen, SECRET_CACHE * sizeof(*c->seen));
		memcpy(c->seen_kid, kid, sizeof(c->seen_kid));
	}
	pthread_mutex_unlock(&c->seen_mu);
}

static int
r_secret_kid(void *ctx, bool create, char kid[CLIENTS_KID_LEN + 1], char *err, size_t errsz)
{
	unsigned char flag = create ? 1 : 0;
	struct in in[] = { { &flag, 1 } };
	int r;

	r = call(ctx, KD_REQ_SECRET_KID, in, 1, &(struct out){ kid, CLIENTS_KID_LEN + 1,
	    NULL }, 1, err, errsz);
	seen_key(ctx, r == 0 ? kid : "");
	return r;
}

static int
r_secret_hash(void *ctx, const char *id, const char *secret, size_t len,
    unsigned char out[CLIENTS_HASH_LEN], char kid[CLIENTS_KID_LEN + 1])
{
	struct kdc *c = ctx;
	struct in in[] = { IN_STR(id), { secret, len } };
	struct out o[] = { { out, CLIENTS_HASH_LEN, NULL }, { kid, CLIENTS_KID_LEN + 1, NULL } };
	unsigned char digest[CLIENTS_HASH_LEN];
	struct seen_secret *e;
	bool hit;
	size_t n = 0;
	int r;

	kid[0] = '\0';
	if ((r = salted_digest(c, id, secret, len, digest)) != 0)
		return r;
	e = seen_slot(c, digest);
	pthread_mutex_lock(&c->seen_mu);
	if ((hit = e->used && yh_ct_eq(e->digest, digest, sizeof(digest)))) {
		memcpy(out, e->hash, CLIENTS_HASH_LEN);
		memcpy(kid, e->kid, CLIENTS_KID_LEN + 1);
	}
	pthread_mutex_unlock(&c->seen_mu);
	if (hit)
		return 0;
	o[0].len = &n;
	r = call(c, KD_REQ_SECRET_HASH, in, 2, o, 2, NULL, 0);
	if (r == 0 && n != CLIENTS_HASH_LEN)
		return YH_ERR_INTERNAL;
	pthread_mutex_lock(&c->seen_mu);
	if (r == 0 && strcmp(kid, c->seen_kid) == 0) {
		memcpy(e->digest, digest, sizeof(digest));
		memcpy(e->hash, out, CLIENTS_HASH_LEN);
		memcpy(e->kid, kid, sizeof(e->kid));
		e->used = true;
	}
	pthread_mutex_unlock(&c->seen_mu);
	return r;
}

const struct clients_hasher *
kdc_hasher(struct kdc *c)
{
	return &c->hasher;
}

/* ---- the process --------------------------------------------------------------------- */

pid_t
kdc_pid(const struct kdc *c)
{
	return c->pid;
}

bool
kdc_exited(struct kdc *c, int *status)
{
	if (!c->reaped && waitpid(c->pid, &c->status, WNOHANG) == c->pid)
		c->reaped = true;
	if (c->reaped && status != NULL)
		*status = c->status;
	return c->reaped;
}

/* Waits for keyd at most KDC_REAP_MS, then kills it. Under `user` the HTTP process may
 * no longer signal keyd (root's): it then leaves keyd to the kernel, which kills it
 * when this process exits (keyd's PR_SET_PDEATHSIG). */
static void
reap(struct kdc *c)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };

	for (int waited = 0; !kdc_exited(c, NULL) && waited < KDC_REAP_MS; waited += 10)
		nanosleep(&tick, NULL);
	if (c->reaped)
		return;
	if (kill(c->pid, SIGKILL) != 0) {
		yh_warn("the key holder keyd (pid %ld) did not end and cannot be killed from "
		    "here (%s): it ends with authd", (long)c->pid, strerror(errno));
		return;
	}
	if (waitpid(c->pid, &c->status, 0) == c->pid)
		c->reaped = true;
}

static void
close_fds(struct kdc *c)
{
	if (c->ctl >= 0)
		close(c->ctl);
	c->ctl = -1;
	for (size_t i = 0; c->ch != NULL && i < c->n; i++) {
		if (c->ch[i].fd >= 0)
			close(c->ch[i].fd);
		c->ch[i].fd = -1;
		yh_buf_free(&c->ch[i].req);
	}
}

int
kdc_close(struct kdc *c)
{
	int status;

	if (c == NULL)
		return 0;
	stop_signers(c);
	close_fds(c);
	if (c->pid > 0)
		reap(c);
	status = c->reaped ? c->status : -1;
	yh_buf_free(&c->ctl_req);
	free(c->ctl_ans);
	free(c->ring_doc);
	for (size_t i = 0; c->pools != NULL && i < c->npools; i++)
		free(c->pools[i].ids);
	free(c->pools);
	free(c->ch);
	yh_freezero(c->seen, SECRET_CACHE * sizeof(*c->seen));
	pthread_mutex_destroy(&c->seen_mu);
	yh_freezero(c->subs, SUB_CACHE * sizeof(*c->subs));
	pthread_mutex_destroy(&c->subs_mu);
	pthread_mutex_destroy(&c->ctl_mu);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->sq.mu);
	pthread_cond_destroy(&c->sq.work);
	pthread_cond_destroy(&c->sq.idle);
	yh_freezero(c, sizeof(*c));
	return status;
}

/* The handle and its buffers, before keyd exists. */
static int
kdc_new(unsigned nchan, struct kdc **out)
{
	struct kdc *c;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return YH_ERR_ALLOC;
	c->ctl = -1;
	pthread_mutex_init(&c->ctl_mu, NULL);
	pthread_mutex_init(&c->seen_mu, NULL);
	pthread_mutex_init(&c->subs_mu, NULL);
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	pthread_mutex_init(&c->sq.mu, NULL);
	pthread_cond_init(&c->sq.work, NULL);
	pthread_cond_init(&c->sq.idle, NULL);
	c->sq.tail = &c->sq.head;
	yh_buf_init(&c->ctl_req, KD_MSG_MAX);
	c->hasher = (struct clients_hasher){ r_secret_kid, r_secret_hash, c };
	c->n = nchan;
	c->npools = kd_cpus(c->cpus, KD_CPUS_MAX);
	if ((c->ch = calloc(nchan, sizeof(*c->ch))) == NULL ||
	    (c->pools = calloc(c->npools, sizeof(*c->pools))) == NULL ||
	    (c->ctl_ans = malloc(KD_CTL_MSG_MAX)) == NULL ||
	    (c->seen = calloc(SECRET_CACHE, sizeof(*c->seen))) == NULL ||
	    (c->subs = calloc(SUB_CACHE, sizeof(*c->subs))) == NULL ||
	    yh_random(c->salt, sizeof(c->salt)) != 0) {
		kdc_close(c);
		return YH_ERR_ALLOC;
	}
	for (size_t i = 0; i < c->npools; i++)
		if ((c->pools[i].ids = calloc(nchan, sizeof(size_t))) == NULL) {
			kdc_close(c);
			return YH_ERR_ALLOC;
		}
	for (size_t i = nchan; i-- > 0;) {   /* keyd binds work channel i to cpus[i % n] */
		struct pool *p = &c->pools[i % c->npools];

		c->ch[i].fd = -1;
		c->ch[i].pool = i % c->npools;
		yh_buf_init_secret(&c->ch[i].req, KD_MSG_MAX);
		p->ids[p->n++] = i;
	}
	*out = c;
	return 0;
}

/* The socket pairs: mine[i] for this process, theirs[i] for keyd; i = 0 is control. */
static int
make_pairs(int *mine, int *theirs, size_t n, char *err, size_t errsz)
{
	int sv[2], big = KD_CTL_MSG_MAX * 2;

	for (size_t i = 0; i < n; i++) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
			snprintf(err, errsz, "cannot make keyd's channels: %s", strerror(errno));
			return YH_ERR_IO;
		}
		mine[i] = sv[0];
		theirs[i] = sv[1];
	}
	/* The control channel carries a whole ring in one answer. */
	(void)setsockopt(theirs[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	return 0;
}

/* HELLO: the public facts of keyd's keys. A keyd that exits instead of answering (it
 * could not open a key: its answer says which, or it died) is an error to report here,
 * not a reason to stop. */
static int
hello(struct kdc *c, char *err, size_t errsz)
{
	struct out o[] = {
		{ c->cipher, sizeof(c->cipher), NULL },
		{ c->vault_kid, sizeof(c->vault_kid), NULL },
		{ c->audit_kid, sizeof(c->audit_kid), NULL },
		{ NULL, KD_RING_DOC_MAX + 1, NULL },
	};
	const char *why = NULL;
	struct kd_rd rd;
	int r;

	if ((c->ring_doc = malloc(KD_RING_DOC_MAX + 1)) == NULL)
		return YH_ERR_ALLOC;
	o[3].dst = c->ring_doc;
	if ((r = kd_begin(&c->ctl_req, KD_REQ_HELLO)) != 0)
		return r;
	if ((r = exchange(c->ctl, &c->ctl_req, c->ctl_ans, KD_CTL_MSG_MAX, &rd, &why)) ==
	    BROKEN) {
		reap(c);
		snprintf(err, errsz, "the key holder keyd %s before it answered (%s %d)", why,
		    WIFSIGNALED(c->status) ? "signal" : "exit status", WIFSIGNALED(c->status) ?
		    WTERMSIG(c->status) : WEXITSTATUS(c->status));
		return YH_ERR_INTERNAL;
	}
	return take_answer(r, &rd, o, 4, err, errsz);
}

/*
 * From HELLO on, every send to keyd and every wait for its answer ends after secs: keyd
 * answers each request in microseconds, so one that takes that long is stuck (stopped,
 * or its machine stalled), and round_trip then stops this process rather than leave its
 * threads waiting for ever. The start (HELLO) has no limit: keyd may be making keys.
 */
static int
set_answer_timeout(struct kdc *c, int64_t secs, char *err, size_t errsz)
{
	struct timeval tv = { .tv_sec = (time_t)secs };
	int fd;

	for (size_t i = 0; i <= c->n; i++) {
		fd = i == 0 ? c->ctl : c->ch[i - 1].fd;
		if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
		    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
			snprintf(err, errsz, "cannot bound the wait for keyd's answers: %s",
			    strerror(errno));
			return YH_ERR_IO;
		}
	}
	c->answer_s = secs;
	return 0;
}

int
kdc_spawn(const struct authd_cfg *cfg, unsigned nchan, struct kdc **out, char *err,
    size_t errsz)
{
	int mine[KDC_CHANNELS_MAX + 1], theirs[KDC_CHANNELS_MAX + 1], r;
	size_t n = (size_t)nchan + 1;
	struct kdc *c = NULL;
	pid_t me = getpid();

	*out = NULL;
	if (nchan == 0 || nchan > KDC_CHANNELS_MAX)
		return YH_ERR_INVALID;
	for (size_t i = 0; i < n; i++)
		mine[i] = theirs[i] = -1;
	if ((r = kdc_new(nchan, &c)) != 0 || (r = make_pairs(mine, theirs, n, err, errsz)) != 0)
		goto out;
	if ((c->pid = fork()) < 0) {
		snprintf(err, errsz, "cannot start the key holder keyd: %s", strerror(errno));
		r = YH_ERR_INTERNAL;
		goto out;
	}
	if (c->pid == 0) {
		for (size_t i = 0; i < n; i++)
			close(mine[i]);
		keyd_main(cfg, me, theirs, n);
	}
	c->ctl = mine[0];
	for (size_t i = 0; i < nchan; i++)
		c->ch[i].fd = mine[i + 1];
	for (size_t i = 0; i < n; i++) {   /* keyd's ends are keyd's alone: EOF when it exits */
		close(theirs[i]);
		mine[i] = theirs[i] = -1;
	}
	if ((r = hello(c, err, errsz)) != 0 ||
	    (r = set_answer_timeout(c, cfg->keys_answer_timeout, err, errsz)) != 0)
		goto out;
	*out = c;
	c = NULL;
out:
	for (size_t i = 0; i < n; i++) {
		if (mine[i] >= 0)
			close(mine[i]);
		if (theirs[i] >= 0)
			close(theirs[i]);
	}
	kdc_close(c);
	return r;
}
