/*
 * The signing key ring (prefix tok_ring_ / tok_snap_).
 *
 * On disk, a ring is one directory (created 0700; refused when group- or world-writable):
 *
 *   DIR/<kid>.pem     one private key per file, PKCS#8 PEM, mode 0600; kid is the key's
 *                     RFC 7638 thumbprint (checked on every load)
 *   DIR/keyring.json  the state: format tag, default alg, and for each key its kid, alg,
 *                     state and timestamps (mode 0600)
 *   DIR/keyring.lock  flock(2) target: writers hold it exclusively, loaders shared
 *
 * Every file is written to a temporary name, fsync'd, renamed into place and the
 * directory fsync'd, so a crash leaves either the old or the new state. Key files are
 * written before the state that names them and deleted only after the state that drops
 * them, so a reader never finds a state naming a missing key.
 *
 * Each algorithm in the ring has its own chain of keys moving through
 *
 *   next -> active -> retiring -> retired -> (file deleted)
 *
 * "next" is published in the JWKS but never signs, so relying parties have it cached
 * before it starts signing. tok_ring_rotate() makes next active, active retiring (still
 * published, so tokens it signed keep verifying until retire_at = rotation time + the
 * longest token lifetime) and creates a fresh next. A retiring key past its retire_at is
 * treated as retired by every loader (not published, not accepted) and recorded as such at
 * the next rotation; a retired key's file is deleted purge_after seconds later.
 *
 * In memory, a struct tok_ring hands out immutable, reference-counted snapshots. A reload
 * builds a complete new snapshot and swaps it in under a mutex: readers holding the old
 * one keep using it until they release it, and never see a half-loaded ring. One struct
 * tok_ring may be shared by any number of threads.
 *
 * Errors carry a one-line explanation in the caller's err buffer (err may be NULL; errsz
 * of 256 is plenty), e.g. "DIR/keyring.json: line 3: ..." for a corrupted state file.
 */
#ifndef YH_TOKEN_KEYRING_H
#define YH_TOKEN_KEYRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "token/jose_alg.h"

enum tok_key_state {
	TOK_KS_NEXT = 0,   /* published, does not sign yet */
	TOK_KS_ACTIVE,     /* signs; one per algorithm */
	TOK_KS_RETIRING,   /* published until retire_at, does not sign */
	TOK_KS_RETIRED,    /* unpublished; file deleted after purge_after */
};

#define TOK_RING_MAX_KEYS 64           /* entries in keyring.json, every state counted */
#define TOK_RING_DEFAULT_RETIRE 86400  /* 1 day: keep retiring keys published this long */
#define TOK_RING_DEFAULT_PURGE 604800  /* 7 days: keep retired key files this long */

struct tok_ring_opts {
	enum tok_alg alg;        /* alg of the keys created for a new ring (UNSET: ES256) */
	unsigned rsa_bits;       /* RS256/PS256 modulus size for new keys (0: 2048) */
	int64_t retire_after;    /* seconds a retiring key stays published: at least the
	                          * longest lifetime of any token the ring signs
	                          * (0: TOK_RING_DEFAULT_RETIRE) */
	int64_t purge_after;     /* seconds from retirement to deleting the file
	                          * (0: TOK_RING_DEFAULT_PURGE) */
	int64_t next_min_age;    /* rotate refuses (YH_ERR_BUSY) while the next key has been
	                          * published for less than this many seconds (0: no minimum) */
	bool create;             /* tok_ring_open: initialize a missing or empty directory
	                          * with an active and a next key of alg */
	int64_t (*clock)(void);  /* seconds since the epoch; NULL: yh_now (tests inject one) */
};

/* A ring handle (owns a directory path, options and the current snapshot). */
struct tok_ring;

/* An immutable view of the ring at one load. */
struct tok_ring_snap;

/* One key's record, as listed by tok_snap_entry. Strings are owned by the snapshot. */
struct tok_ring_entry {
	const char *kid;
	enum tok_alg alg;
	enum tok_key_state state;  /* effective state (retiring past retire_at: retired) */
	int64_t created;           /* when generated (and published as next) */
	int64_t activated;         /* when it became active, 0 if never */
	int64_t retiring;          /* when it stopped signing, 0 if not yet */
	int64_t retire_at;         /* when it leaves the JWKS, 0 if not retiring */
	int64_t retired;           /* when it was recorded retired, 0 if not yet */
};

/* Opens the ring in dir and loads it. With opts->create, a missing directory is created
 * (0700) and a directory without keyring.json gets a fresh ring: one active and one next
 * key of opts->alg. opts may be NULL (all defaults, no create). *out is owned by the
 * caller (tok_ring_free).
 * Errors: YH_ERR_NOT_FOUND (no ring and no create), YH_ERR_INVALID (keyring.json
 * malformed: the message names file and line), YH_ERR_KEY (a key file missing, unreadable
 * or not matching its kid/alg), YH_ERR_PERM (directory or key file accessible to others),
 * YH_ERR_IO, YH_ERR_CRYPTO, YH_ERR_ALLOC. */
int tok_ring_open(const char *dir, const struct tok_ring_opts *opts, struct tok_ring **out,
    char *err, size_t errsz) YH_WUR;

/*
 * Where the private keys of a ring live when not in this process: a key holder (authd's
 * keyd; later a PKCS#11 token) that loads the ring from its directory and signs with it.
 */
struct tok_ring_source {
	/* Writes the holder's ring as tok_snap_describe makes it into *doc (malloc'd; the
	 * caller frees it). With reload, the holder first re-reads its ring from disk; a
	 * failed reload leaves the holder's keys as they were and returns its error (err:
	 * one line, the holder's explanation). */
	int (*describe)(void *ctx, bool reload, char **doc, char *err, size_t errsz);
	tok_sign_fn sign;  /* signs for the active keys (the kid names the key) */
	void *ctx;         /* for all three; must outlive the ring */
	tok_submit_fn submit;  /* NULL, or sign taking jobs (tok_key_sign_submit) */
};

/*
 * Opens a ring whose private keys are held elsewhere: its snapshots hold the public keys
 * of src's description (JWKS, algorithms, states: exactly what the holder's own
 * snapshot says), and each active key signs through src->sign. tok_ring_reload asks the
 * holder to reload and takes its new description; tok_ring_rotate and tok_ring_add_alg
 * answer YH_ERR_UNSUPPORTED (authctl changes the directory; a reload then picks it up).
 * src is copied. Errors: what src->describe returns, YH_ERR_INVALID (a malformed
 * description), YH_ERR_KEY (a key of the state missing from the JWKS), YH_ERR_ALLOC.
 */
int tok_ring_open_remote(const struct tok_ring_source *src, struct tok_ring **out,
    char *err, size_t errsz) YH_WUR;

/*
 * The public description of a snapshot, for a process that signs through its holder
 * (tok_ring_open_remote): {"format":"yihao-keyring-public/1","ring":<the keyring.json
 * object of the published keys, with their effective states>,"jwks":<the JWKS>}. No
 * private key material. *out is a malloc'd compact JSON string. Returns 0 or YH_ERR_ALLOC.
 */
int tok_snap_describe(const struct tok_ring_snap *s, char **out) YH_WUR;

/* The active (signing) key whose kid is kid, or NULL: how a key holder finds the key a
 * signing request names. Borrowed from the snapshot. */
const struct tok_key *tok_snap_active_key(const struct tok_ring_snap *s, const char *kid);

/* Frees the handle and drops its snapshot reference (snapshots still held by callers
 * stay valid until released). NULL is fine. */
void tok_ring_free(struct tok_ring *r);

/* Re-reads keyring.json and the key files and swaps the new snapshot in. On any error the
 * current snapshot stays in place untouched and the error is returned (so a bad edit on
 * disk never takes signing down). authd calls this on SIGHUP: set a flag in the signal
 * handler and call tok_ring_reload from a normal thread (it allocates and takes locks, so
 * it is not async-signal-safe). Safe to call concurrently with readers and other reloads.
 * Errors as tok_ring_open. */
int tok_ring_reload(struct tok_ring *r, char *err, size_t errsz) YH_WUR;

/* Rotates the chain of alg (TOK_ALG_UNSET: every algorithm in the ring): next becomes
 * active, active becomes retiring (retire_at = now + retire_after), a new next key is
 * generated and published; retiring keys past retire_at are recorded retired and retired
 * keys older than purge_after are dropped and their files deleted. Holds the directory
 * lock, works from the state on disk (not from this handle's snapshot), then reloads.
 * Errors: YH_ERR_NOT_FOUND (alg not in the ring, or its next key is missing),
 * YH_ERR_BUSY (the next key is younger than next_min_age), plus those of tok_ring_open. */
int tok_ring_rotate(struct tok_ring *r, enum tok_alg alg, char *err, size_t errsz) YH_WUR;

/* Adds a chain for another algorithm (an active and a next key) to an existing ring.
 * YH_ERR_EXISTS when the ring already has keys of alg (use tok_ring_rotate). Then
 * reloads. */
int tok_ring_add_alg(struct tok_ring *r, enum tok_alg alg, char *err, size_t errsz) YH_WUR;

/* Makes every algorithm of algs (TOK_ALGSET bits) one the ring signs with: a chain (an
 * active and a next key) is generated for each one the ring has no unretired key of, in
 * one update of keyring.json; chains of other algorithms are left as they are. How a ring
 * written for one algorithm is upgraded to the algorithms enabled now. *added (may be
 * NULL) gets the algorithms added (0: nothing to do, nothing written). Reloads after a
 * change. Errors: YH_ERR_UNSUPPORTED (a bit that is no algorithm), YH_ERR_UNSUPPORTED
 * for a ring held elsewhere, plus those of tok_ring_open. */
int tok_ring_ensure_algs(struct tok_ring *r, unsigned algs, unsigned *added, char *err,
    size_t errsz) YH_WUR;

/*
 * Adds the public keys other nodes publish (n JWKS documents, copied) to this ring's
 * published keys: every snapshot from now on, this one's reloads included, verifies
 * with them and lists them in its JWKS after its own (a kid already there is left out);
 * they never sign. n 0 takes them away again. Safe with readers and reloads at once.
 * Returns 0, YH_ERR_ALLOC (the snapshot in use stays).
 */
int tok_ring_set_peers(struct tok_ring *r, const char *const *jwks, size_t n) YH_WUR;

/* The JWKS of the ring's own keys (without the peers'), owned by the snapshot. */
const char *tok_snap_own_jwks(const struct tok_ring_snap *s);

/* Takes a reference to the current snapshot (never NULL for an open ring). Release it
 * with tok_snap_release; it stays valid and unchanged across reloads until then. */
struct tok_ring_snap *tok_ring_acquire(struct tok_ring *r);

/* Drops a reference taken by tok_ring_acquire. NULL is fine. */
void tok_snap_release(struct tok_ring_snap *s);

/* The key that signs for alg (TOK_ALG_UNSET: the ring's default algorithm), or NULL when
 * the ring has no active key of alg: the private key, or for a ring held elsewhere
 * (tok_ring_open_remote) its public key with the holder as signer. Borrowed from the
 * snapshot; it carries its kid and alg. */
const struct tok_key *tok_snap_signing_key(const struct tok_ring_snap *s, enum tok_alg alg);

/* The ring's default algorithm (the one new rings and "sign without --alg" use). */
enum tok_alg tok_snap_default_alg(const struct tok_ring_snap *s);

/* The public JWKS document (next, active and retiring keys; {"keys":[...]}), compact
 * JSON, NUL-terminated, owned by the snapshot. */
const char *tok_snap_jwks(const struct tok_ring_snap *s);

/* The public keys to verify our own tokens with (the same keys as the JWKS), owned by
 * the snapshot. Each key is pinned to its alg. */
const struct tok_keyset *tok_snap_keyset(const struct tok_ring_snap *s);

/* The allow-list (TOK_ALGSET bits) of every published key's alg. */
unsigned tok_snap_algs(const struct tok_ring_snap *s);

/* Number of entries in keyring.json at load time (all states) and the i-th one, in file
 * order. YH_ERR_NOT_FOUND past the end. */
size_t tok_snap_count(const struct tok_ring_snap *s);
int tok_snap_entry(const struct tok_ring_snap *s, size_t i, struct tok_ring_entry *out) YH_WUR;

/* "next", "active", "retiring", "retired" (static; "?" for a bad value). */
const char *tok_key_state_name(enum tok_key_state st);

#endif
