/*
 * The messages between authd's HTTP process and its key holder keyd (prefix kd_).
 *
 * They travel over AF_UNIX SOCK_SEQPACKET socket pairs made before keyd is forked: one
 * control channel (the process's main thread: HELLO at start, RELOAD on SIGHUP) and a
 * pool of work channels (one caller at a time each: the key operations). A message is
 * one packet, so its length is the packet's: a packet longer than the receiver's buffer
 * arrives cut (MSG_TRUNC) and is refused as such.
 *
 *   request  u32 type, then the fields of that type
 *   answer   u32 status (0, or a negative YH_ERR_* as two's complement), then the
 *            fields of the answer; an error answer may carry one field, a message
 *   field    u32 length, then that many bytes
 *
 * Integers are little-endian. Every field has a maximum length fixed by its request
 * type (the table in keyd.c); keyd refuses a packet whose fields do not match the type
 * exactly (count, lengths, a NUL inside a text field, trailing bytes) and stops: it
 * treats every byte from the HTTP process as hostile. See docs/architecture.md.
 */
#ifndef YH_AUTHD_KEYD_PROTO_H
#define YH_AUTHD_KEYD_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

#define KD_MSG_MAX (20 * 1024)       /* a request, or an answer on a work channel */
#define KD_CTL_MSG_MAX (160 * 1024)  /* an answer on the control channel (a ring) */
#define KD_RING_DOC_MAX (128 * 1024) /* a ring description (tok_snap_describe) */
#define KD_ERR_MAX 512               /* the message of an error answer */
#define KD_KID_MAX 16                /* vault, audit and client-secret key ids: hex */

/* Request types (values are the protocol: never renumber). */
enum kd_req {
	KD_REQ_HELLO = 1,        /* control, once: the public facts of the keys */
	KD_REQ_RELOAD = 2,       /* control: re-read the signing ring */
	KD_REQ_SIGN = 3,         /* kid, alg, JWS signing input -> signature */
	KD_REQ_SEAL = 4,         /* vault domain, plaintext -> sealed value */
	KD_REQ_OPEN = 5,         /* vault domain, sealed value -> plaintext */
	KD_REQ_BLIND = 6,        /* vault domain, value -> blind index (hex) */
	KD_REQ_SUB = 7,          /* sector, uid -> pairwise subject MAC */
	KD_REQ_MAC = 8,          /* purpose (1 byte), message -> MAC */
	KD_REQ_UREF_SEAL = 9,    /* client id, uid -> user reference */
	KD_REQ_UREF_OPEN = 10,   /* client id, user reference -> uid */
	KD_REQ_SECRET_KID = 11,  /* create (1 byte) -> client-secret key id */
	KD_REQ_SECRET_HASH = 12, /* client id, secret -> hash, key id */
	KD_REQ_SIGN_MANY = 13,   /* (kid, alg, JWS signing input) x 1..KD_SIGN_MANY_MAX ->
	                            (u32 status, signature) for each, in order */
};
#define KD_REQ_COUNT 14          /* one past the largest type */

/* The most signatures one SIGN_MANY asks for: their answer always fits in KD_MSG_MAX
 * (each at most 8 + TOK_SIG_MAX bytes). */
#define KD_SIGN_MANY_MAX 16

/* A message being read: the bytes not consumed yet. */
struct kd_rd {
	const unsigned char *p;
	size_t left;
};

/* Starts a request of type into b (a buffer capped at KD_MSG_MAX). Returns 0 or the
 * buffer's error. */
int kd_begin(struct yh_buf *b, enum kd_req type) YH_WUR;

/* Starts an answer with status into b. */
int kd_begin_answer(struct yh_buf *b, int status) YH_WUR;

/* Appends one field of n bytes (YH_ERR_TOO_LONG past the buffer's cap). */
int kd_put(struct yh_buf *b, const void *p, size_t n) YH_WUR;

/* Appends a bare u32 (a status inside an answer of several results). */
int kd_put_u32(struct yh_buf *b, uint32_t v) YH_WUR;

/* Appends a NUL-terminated string as one field (without its NUL). */
int kd_put_str(struct yh_buf *b, const char *s) YH_WUR;

/* Reads the leading u32 of a message (its type or status). YH_ERR_INVALID when short. */
int kd_get_u32(struct kd_rd *r, uint32_t *v) YH_WUR;

/* The next field, borrowed from the message: *p and *n. YH_ERR_INVALID when there is
 * none or it runs past the message, YH_ERR_TOO_LONG when longer than max. */
int kd_get(struct kd_rd *r, size_t max, const unsigned char **p, size_t *n) YH_WUR;

/* The next field as text: at most max bytes, no NUL inside, copied with a NUL into out
 * (max + 1 bytes). Errors as kd_get, and YH_ERR_INVALID for a NUL inside. */
int kd_get_str(struct kd_rd *r, size_t max, char *out) YH_WUR;

/* 0 when the whole message was read, YH_ERR_INVALID when bytes are left over. */
int kd_end(const struct kd_rd *r) YH_WUR;

#define KD_CPUS_MAX 256              /* CPUs work channels are spread over */

/*
 * The CPUs this process may run on (sched_getaffinity), at most max, into cpus; returns
 * how many (at least 1: {-1} when unknown). Work channel w (0-based) is served by a keyd
 * thread bound to cpus[w % n], and the HTTP process prefers a channel of the CPU its
 * calling thread is on: the request then wakes a thread on the same CPU (no
 * inter-processor wake-up, which a virtual machine pays dearly for). Both sides call
 * this before keyd is forked, so they agree.
 */
size_t kd_cpus(int *cpus, size_t max);

/* The name of a request type for log lines ("sign", ...; "unknown" past the table). */
const char *kd_req_name(uint32_t type);

#endif
