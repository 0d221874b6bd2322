/*
 * The audit trail: an append-only file of JSON lines, one per security event. Each line
 * carries a sequence number and the SHA-256 of the previous line ("prev"), so editing,
 * removing or reordering any line breaks the chain that yh_audit_verify checks. Every
 * line is written and fsync'd before yh_audit_write returns, under an exclusive flock,
 * so several processes (authd nodes on one host, authctl) can share one file. String
 * values pass through the log redactor (yh_redact_default): ID numbers and phone numbers
 * are masked in whatever spelling, even if a caller forgot.
 *
 * The chain alone is unkeyed: whoever can write the file can edit a line and compute
 * every later "prev" again. Checkpoints close that: a checkpoint is one more line of the
 * chain, {"event":"audit.checkpoint","kid":...,"mac":...}, whose tag (HMAC-SHA256 with a
 * key kept out of the log, its own key and no other's) authenticates its sequence
 * number, its time and the hash of the line before it, and so every line before it. A
 * rewrite then fails at the next checkpoint. The latest checkpoint is also copied to
 * PATH.checkpoint, so that lines cut from the end show too.
 */
#ifndef YH_AUTHD_AUDIT_H
#define YH_AUTHD_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "common/err.h"

#define AUDIT_LINE_MAX (16 * 1024)

#define YH_AUDIT_KEY_LEN 32      /* bytes of a checkpoint key */
#define YH_AUDIT_TAG_LEN 32      /* bytes of a checkpoint tag */
#define YH_AUDIT_KID_LEN 16      /* hex digits of a key id */
#define YH_AUDIT_CHECKPOINT_EVENT "audit.checkpoint"
#define YH_AUDIT_CHECKPOINT_SUFFIX ".checkpoint"  /* PATH.checkpoint: the latest one */

struct yh_audit;

/* Opens (creating 0600 if missing) the audit file at path. Returns 0, YH_ERR_IO or
 * YH_ERR_PERM with a message in err. */
int yh_audit_open(const char *path, struct yh_audit **out, char *err, size_t errsz) YH_WUR;

/* Writes and settles the lines yh_audit_submit still has queued (their done calls run
 * before it returns), stops the writer and the checkpoint timer, writes a last
 * checkpoint when checkpoints are on and lines this handle wrote are not covered yet (a
 * failure is logged), and closes the file. NULL is fine. */
void yh_audit_close(struct yh_audit *a);

/*
 * Stops taking yh_audit_submit's lines (from now on it answers YH_ERR_UNAVAILABLE),
 * writes and settles those still queued (their done calls have all run when it
 * returns) and stops the writer thread; yh_audit_write goes on working. For a stop
 * that must free what done calls touch (held HTTP requests) before the handle closes.
 * Called by the thread that later closes the handle; more than once is fine; NULL is
 * fine.
 */
void yh_audit_settle(struct yh_audit *a);

/*
 * Appends one event: {"seq","ts","event","actor",<fields...>,"prev"}. event is a dotted
 * name ("login.failure", "user.lock"; not "audit.checkpoint"); actor who did it
 * ("operator:root", "user:<uid>", "client:<id>"); fields (borrowed, may be NULL) must be
 * an object whose keys do not clash with the fixed ones. Returns 0 once the line is on
 * disk (fsync), YH_ERR_NOSPACE when the disk or the quota is full, YH_ERR_IO on another
 * failure: callers must then fail the action they were recording (and so record an
 * action only once it is durable, never before). Thread-safe.
 */
int yh_audit_write(struct yh_audit *a, const char *event, const char *actor,
    json_t *fields) YH_WUR;

/* Called once a line of yh_audit_submit is settled: rc is 0 once it is on disk, else
 * yh_audit_write's errors. Runs on the thread that flushed the batch (the audit writer
 * thread, or a yh_audit_write caller that led it), without the handle's lock: keep it
 * short (set a response, resume a request). */
typedef void (*yh_audit_done_fn)(void *arg, int rc);

/*
 * Queues the same line as yh_audit_write and returns at once: done(arg, rc) is called
 * exactly once, from the audit writer thread (perhaps before this returns), when the
 * batch holding the line has been written and flushed (rc 0) or has failed. Lines of
 * one batch are settled in queue order, after the whole batch is on disk, so one flush
 * serves every line queued while the previous flush ran. For a caller that must not
 * hold a thread through the flush (an HTTP request suspended until its line is
 * durable). Returns 0 (queued), or YH_ERR_INVALID / YH_ERR_TOO_LONG / YH_ERR_ALLOC /
 * YH_ERR_UNAVAILABLE (the handle is closing) / YH_ERR_INTERNAL (no writer thread),
 * and then done is not called. Thread-safe.
 */
int yh_audit_submit(struct yh_audit *a, const char *event, const char *actor,
    json_t *fields, yh_audit_done_fn done, void *arg) YH_WUR;

struct mx_registry;

/*
 * Registers the histogram yh_audit_flush_duration_seconds in reg and records in it, for
 * each line yh_audit_write or yh_audit_submit wrote, the time from its queueing to its
 * flush completing (the wait of the action it records: group commit, write and
 * fdatasync); failed writes are not counted. Also the counter yh_audit_flushes_total:
 * batches flushed, so lines per fdatasync can be told. Call once, before the handle is shared between threads; reg must
 * outlive the handle. Returns 0 or mx_hist_get's errors.
 */
int yh_audit_metrics(struct yh_audit *a, struct mx_registry *reg) YH_WUR;

/* Whether the audit file's file system can take more lines (for /readyz): 0,
 * YH_ERR_NOSPACE or YH_ERR_PERM with a short public reason in why (yh_file_room). */
int yh_audit_room(struct yh_audit *a, char *why, size_t whysz) YH_WUR;

/* A checkpoint key: the HMAC-SHA256 key and the id that names it in each checkpoint. */
struct yh_audit_key {
	unsigned char key[YH_AUDIT_KEY_LEN];
	char kid[YH_AUDIT_KID_LEN + 1];   /* hex; derived from the key, reveals nothing */
};

/*
 * Reads the checkpoint key at path (32 random bytes as hex, mode 0600), creating it
 * first when it does not exist and create is true. Errors as yh_keyfile_get's:
 * YH_ERR_KEY (missing without create, malformed), YH_ERR_PERM, YH_ERR_IO, YH_ERR_CRYPTO,
 * with one line in err naming the file. out is wiped on error; wipe it with
 * yh_audit_key_wipe when done.
 */
int yh_audit_key_load(const char *path, bool create, struct yh_audit_key *out, char *err,
    size_t errsz) YH_WUR;

/* Sets the key from raw bytes and derives its id (tests, a key holder). */
int yh_audit_key_set(struct yh_audit_key *k, const unsigned char key[YH_AUDIT_KEY_LEN])
    YH_WUR;

/* Wipes a key. NULL is fine. */
void yh_audit_key_wipe(struct yh_audit_key *k);

/*
 * The one operation a checkpoint needs from its key: tag = HMAC-SHA256(key, msg). ctx is
 * a struct yh_audit_key. This is the function a key-holder process will answer in its
 * place: it sees only the bytes to authenticate and returns only the tag. Returns 0 or
 * YH_ERR_CRYPTO.
 */
int yh_audit_key_mac(void *ctx, const void *msg, size_t len,
    unsigned char tag[YH_AUDIT_TAG_LEN]) YH_WUR;

/* When and with what the writer makes checkpoints. */
struct yh_audit_cp_opts {
	uint64_t every_lines;   /* one when a batch takes the sequence past a multiple of this
	                         * (1: after every batch); 0 = not by count */
	int64_t every_ms;       /* and this often, when lines are not covered yet (a thread
	                         * waits in between); 0 = not by time */
	const char *kid;        /* the key's id, copied */
	int (*mac)(void *ctx, const void *msg, size_t len, unsigned char tag[YH_AUDIT_TAG_LEN]);
	void *mac_ctx;          /* borrowed: must outlive the handle */
};

/*
 * Turns checkpoints on for a handle, once, before it is shared between threads: from
 * now on a checkpoint line rides in the same write and flush as the batch it closes
 * (written with the file's lock held through that flush, then copied to
 * PATH.checkpoint). Returns 0, YH_ERR_INVALID (no mac or kid, or already on), YH_ERR_IO
 * (PATH.checkpoint cannot be opened; err says why) or YH_ERR_INTERNAL (no timer thread).
 */
int yh_audit_checkpoints(struct yh_audit *a, const struct yh_audit_cp_opts *o, char *err,
    size_t errsz) YH_WUR;

/*
 * Changes how often checkpoints are made (a configuration reload), with the meaning of
 * every_lines and every_ms in struct yh_audit_cp_opts; the timer's next wait is
 * every_ms from now. Thread-safe. Returns 0, YH_ERR_INVALID (checkpoints are off, or
 * every_ms < 0) or YH_ERR_INTERNAL (no timer thread; the counts apply all the same).
 */
int yh_audit_set_checkpoints(struct yh_audit *a, uint64_t every_lines, int64_t every_ms)
    YH_WUR;

#define YH_AUDIT_WINDOW_MAX_US 1000000

/*
 * Sets the commit window (0, the default: none): while lines of yh_audit_submit come
 * from several callers at once (the last batch held more than one line), the writer
 * thread takes the next batch only once window_us has passed since it took the last one,
 * or once 256 lines wait, so that one fdatasync covers more lines. A line then waits at
 * most window_us more for its flush; a lone caller's lines and yh_audit_write's never
 * wait. Thread-safe (a configuration reload). Returns 0 or YH_ERR_INVALID (window_us
 * outside 0..YH_AUDIT_WINDOW_MAX_US).
 */
int yh_audit_set_commit_window(struct yh_audit *a, int64_t window_us) YH_WUR;

/*
 * Writes a checkpoint now unless the file's last line already is one (or the file is
 * empty), and returns once it is on disk: authd calls it at start, so that lines written
 * while no checkpointing process ran are covered. Returns 0, YH_ERR_INVALID (checkpoints
 * are off), or the write's error. Thread-safe.
 */
int yh_audit_checkpoint(struct yh_audit *a) YH_WUR;

/* What yh_audit_verify found; YH_AUDIT_INTACT when nothing. */
enum yh_audit_damage {
	YH_AUDIT_INTACT = 0,
	YH_AUDIT_MALFORMED,     /* a line that is not a chain line (not JSON, cut short, ...) */
	YH_AUDIT_EDITED,        /* a line edited in place: the chain breaks at it */
	YH_AUDIT_GAP,           /* lines removed in the middle: the sequence jumps */
	YH_AUDIT_ORDER,         /* a line moved, inserted or duplicated */
	YH_AUDIT_REWRITTEN,     /* lines edited and the chain computed again after them: a
	                         * checkpoint (or the recorded head) no longer matches */
	YH_AUDIT_UNKNOWN_KEY,   /* a checkpoint made with a key that was not given */
	YH_AUDIT_TRUNCATED,     /* lines removed from the end */
	YH_AUDIT_LAST_EDITED,   /* the last line differs from the recorded head */
	YH_AUDIT_HEAD_NOT_FOUND,/* a bare recorded head hash names no line of the file */
};

/* The stable short name of a damage kind ("edited", "gap", ...), never NULL. */
const char *yh_audit_damage_name(enum yh_audit_damage d);

#define YH_AUDIT_WARN_MAX 6

/* The result of verifying a file. */
struct yh_audit_report {
	uint64_t lines;          /* lines read */
	uint64_t bad_line;       /* the line at fault (1-based), 0 when intact */
	enum yh_audit_damage damage;
	char reason[320];        /* what is wrong, in words naming the lines */
	char head[65];           /* hash of the last good line (hex) */
	uint64_t checkpoints;    /* checkpoint lines read */
	uint64_t checked;        /* of which the tag verified */
	uint64_t covered;        /* lines up to and with the last verified checkpoint */
	uint64_t range_first;    /* with a range: its first and last line (0: no line */
	uint64_t range_last;     /* is in the range) */
	uint64_t window_first;   /* with a range: the lines checked, from the checkpoint */
	uint64_t window_last;    /* before the range to the one after it (see below) */
	unsigned nwarnings;      /* intact, but not everything could be vouched for: */
	char warnings[YH_AUDIT_WARN_MAX][320];
};

/* What to check beyond the chain; every field may be left zero. */
struct yh_audit_verify_opts {
	const char *head;                 /* recorded head, "LINE:HASH" or "HASH" (the
	                                   * `lines` and `head` a verify printed) */
	const struct yh_audit_key *keys;  /* checkpoint keys (old ones too); none: tags are
	                                   * not checked, and a warning says so */
	size_t nkeys;
	/* A key held elsewhere (authd's keyd): checkpoints made with mac_kid are checked
	 * with mac(mac_ctx, ...), the function the writer used. NULL: none. */
	const char *mac_kid;
	int (*mac)(void *ctx, const void *msg, size_t len, unsigned char tag[YH_AUDIT_TAG_LEN]);
	void *mac_ctx;
	/* A time range (yh_audit_range_ok: a prefix of the lines' "ts", UTC, e.g.
	 * "2026-12-06" or "2026-12-06T08:30"), both ends inclusive; NULL: open. With
	 * either, only the range is checked: from the last checkpoint before its first
	 * line (whose tag must verify; the file's start when there is none) to the first
	 * checkpoint after its last line (the file's end when there is none), so damage
	 * outside that window is not seen, while any inside is, and a line of the range
	 * not followed by a verified checkpoint is a warning. PATH.checkpoint is checked
	 * only when the window reaches the file's end. Not with head. */
	const char *from;
	const char *to;
};

/* Whether s is a time a range may start or end at: "YYYY-MM-DD", optionally followed
 * by "THH", ":MM", ":SS", ".mmm" and "Z", each only after the ones before. */
bool yh_audit_range_ok(const char *s);

/*
 * Checks the file at path (o may be NULL): the chain, each checkpoint's tag, PATH.checkpoint
 * (a copy of the latest checkpoint: it may not claim more lines than the file has) and
 * the recorded head. Lines appended while it runs are not read. Returns 0 when intact
 * (rep->warnings may still say that lines are not covered by a checkpoint, that the file
 * has none, or that no key was given), YH_ERR_AUTH when damaged (rep->damage, bad_line and
 * reason say which line and how), YH_ERR_INVALID for a malformed o->head or range (or both), YH_ERR_IO when
 * the file cannot be read (reason says why).
 */
int yh_audit_verify(const char *path, const struct yh_audit_verify_opts *o,
    struct yh_audit_report *rep) YH_WUR;

#endif
