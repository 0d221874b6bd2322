/*
 * The HTTP process's side of keyd (prefix kdc_): starts the key holder and hands the rest
 * of authd the same interfaces the in-process keys have, answered by keyd:
 *
 *   kdc_vault   a struct vault that seals, opens and indexes through keyd
 *   kdc_ring    a key ring of public keys whose active keys sign through keyd (one
 *               round trip each, or queued and signed in batches: tok_key_sign_submit);
 *               its reload (SIGHUP) asks keyd to reload first and takes keyd's new ring
 *   kdc_keys    the pairwise sub, the MACs and the user reference (authd/keyd/keys.h)
 *   kdc_hasher  the client registry's secret hashing (clients_opts.hasher)
 *   kdc_audit_kid with keys_audit_mac over kdc_keys: the audit checkpoints' tag
 *
 * Channels: one control channel (start and reload, under a lock) and a pool of work
 * channels, one caller at a time each: a call takes a free channel (a short lock around
 * one stack of free channels per CPU: the caller's CPU first, see keyd.h), makes one
 * round trip on it and puts it back, so callers on different threads never wait for each
 * other unless every channel is busy. The pool should be as large as the number of
 * threads that call at once (HTTP threads, workers, a few others); past that, callers
 * wait for a channel.
 *
 * Client secrets: keyd's keyed hash of a presented secret is remembered (under a salted
 * SHA-256 of the client id and secret) so that a client's next token request with the
 * same secret costs no round trip; see client.c for why that holds no key.
 *
 * keyd never going away is an invariant: when a channel breaks (keyd exited, having
 * refused a request, or was killed), the calling thread logs it and the process exits
 * with status 2 at once, since nothing can be signed, sealed or opened any more.
 */
#ifndef YH_AUTHD_KEYD_CLIENT_H
#define YH_AUTHD_KEYD_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "authcore/authd_config.h"
#include "common/err.h"

struct kdc;
struct vault;
struct keys;
struct tok_ring;
struct clients_hasher;
struct mx_registry;

/*
 * Forks keyd with cfg (call it before any thread starts and before any key is read),
 * with nchan work channels (1..1024), and waits for its HELLO answer. On error err gets
 * one line (keyd's own, e.g. a vault key missing beside the directory) and keyd has been
 * reaped. Free *out with kdc_close.
 */
int kdc_spawn(const struct authd_cfg *cfg, unsigned nchan, struct kdc **out, char *err,
    size_t errsz) YH_WUR;

/*
 * Ends the signer threads once their queue is empty (a signature submitted after that
 * fails with YH_ERR_UNAVAILABLE), closes every channel (keyd, seeing the control channel
 * close, stops) and waits for keyd
 * (at most 2 s, then SIGKILL). Returns keyd's wait status (as waitpid's), -1 when it was
 * not reaped. Call it when nothing uses the interfaces any more. NULL: returns 0.
 */
int kdc_close(struct kdc *c);

/*
 * Waits until every signature queued for a batch (the ring's tok_key_sign_submit) has
 * been answered and handed to its caller; from then on such signatures are made on the
 * caller's thread. authd calls it while stopping, before it frees the requests those
 * callers hold.
 */
void kdc_sign_settle(struct kdc *c);

/* The batches signed so far and the signatures they held. */
void kdc_sign_counts(struct kdc *c, uint64_t *batches, uint64_t *signatures);

/* Shows kdc_sign_counts in reg (yh_keyd_sign_batches_total,
 * yh_keyd_batched_signatures_total, read at each rendering: c must outlive the
 * rendering). Returns 0 or mx_counter_fn_add's error. */
int kdc_metrics(struct kdc *c, struct mx_registry *reg) YH_WUR;

/* keyd's pid. */
pid_t kdc_pid(const struct kdc *c);

/* True once keyd has exited (reaped here; *status: its wait status). For SIGCHLD. */
bool kdc_exited(struct kdc *c, int *status);

/* The audit key's id (YH_AUDIT_KID_LEN hex digits), owned by c. */
const char *kdc_audit_kid(const struct kdc *c);

/* A vault served by keyd (vault_new_remote): free it with vault_close before kdc_close. */
int kdc_vault(struct kdc *c, struct vault **out) YH_WUR;

/* The keys served by keyd: free with keys_free before kdc_close. */
int kdc_keys(struct kdc *c, struct keys **out) YH_WUR;

/* The ring held by keyd (tok_ring_open_remote): free it with tok_ring_free before
 * kdc_close. */
int kdc_ring(struct kdc *c, struct tok_ring **out, char *err, size_t errsz) YH_WUR;

/* The client registry's hasher (owned by c). */
const struct clients_hasher *kdc_hasher(struct kdc *c);

#endif
