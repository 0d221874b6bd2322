/*
 * idmerge internals: the pipeline between the readers (input/reader.h) and the outputs.
 *
 * A run has five passes over bounded temporary files, so memory does not grow with
 * the input:
 *   1. read + cleanse every record (cleanse.c); write it to one of K partition files by
 *      a hash of its match key: P (persons with a valid ID number), N (persons without
 *      one, keyed by name key + phone key) or O (organizations, keyed by organization
 *      code); rejects are written at once.
 *   2. each P partition: group by ID number, detect name conflicts, publish a
 *      (name key, phone key) -> uid index into the N partitions and resolve legal
 *      representatives into the O partitions (match.c).
 *   3. each N partition: an ID-less record joins the one identity its name and phone
 *      point to (appended to that identity's P partition), or goes to review or
 *      rejects (match.c).
 *   4. each P partition again: merge groups into identities (merge.c).
 *   5. each O partition: merge organizations (merge.c).
 * Passes 2-5 run the partitions on several threads (par.c): each thread writes one
 * partition's lines into memory and they reach the files in partition order, so the
 * bytes do not depend on the number of threads.
 * Temporary files live in a private 0700 directory inside the output directory and
 * are removed at the end; the outputs are written there too and moved into the output
 * directory only when the run has succeeded, so a failed run leaves none. Every pass
 * visits partitions in order and sorts inside a partition, so the same input gives the
 * same bytes.
 */
#ifndef YH_MIG_IDMERGE_MIG_H
#define YH_MIG_IDMERGE_MIG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "common/buf.h"
#include "migration-tools/idmerge/input/reader.h"

/* The values a cleansed record carries through the temporary files. */
enum mig_val {
	MV_LEGACY_ID,
	MV_NAME,        /* display name, trimmed */
	MV_NAME_KEY,    /* mk_name_key, "" when none */
	MV_PHONE,       /* mk_phone_key, "" when none */
	MV_EMAIL,
	MV_USERNAME,
	MV_PW_HASH,
	MV_PW_SALT,
	MV_STATUS,      /* active, disabled, locked, deregistered */
	MV_LAST_LOGIN,  /* yyyymmddhhmmss or "" */
	MV_ORG_NAME,
	MV_USCC,        /* canonical valid credit code or "" */
	MV_ORG_CODE,    /* canonical organization code (orgs; L lines: the org key) */
	MV_LEGAL_REP,   /* canonical legal representative ID number */
	MV_ID_RAW,      /* N records: the folded unusable ID value; I lines: the ID number */
	MV_REASON,      /* N records: why the ID was unusable; I lines: "conflict" or "" */
	MV_UID,         /* I and U lines */
	MV_PART,        /* I lines: the P partition of the identity */
	MV_COUNT
};

/* Line types in the temporary files. */
#define MIG_T_PERSON 'P'  /* person record with a valid ID number (key: the number) */
#define MIG_T_JOINED 'J'  /* ID-less person record joined by name+phone (P files) */
#define MIG_T_LEGALREQ 'L' /* P files: does a person with this ID exist? (org key in MV_ORG_CODE) */
#define MIG_T_NOID 'N'    /* person record without a usable ID (key: name key US phone key) */
#define MIG_T_INDEX 'I'   /* N files: an identity has this name key + phone key */
#define MIG_T_ORG 'O'     /* organization record (key: organization code) */
#define MIG_T_LEGALREP 'U' /* O files: the legal representative's uid (key: org code) */

/* One cleansed record (or auxiliary line). Values are never NULL ("" when absent). */
struct mig_rec {
	char type;
	uint32_t src;
	uint64_t seq;
	const char *key;
	const char *v[MV_COUNT];
};

/* ---------- cleanse.c ---------- */

/* Where a cleansed input record goes. */
enum mig_dest { MIG_DEST_KEEP, MIG_DEST_REJECT, MIG_DEST_REVIEW };

/* The result of cleansing one input record; strings point into buf. */
struct mig_clean {
	enum mig_dest dest;
	struct mig_rec rec;
	const char *reason;       /* reject/review reason code (static string) */
	const char *field;        /* the field a reject is about, or NULL */
	char value[64];           /* the masked offending value ("" when none) */
	char buf[4 * MIG_FIELD_MAX];
	size_t used;
};

/*
 * Cleanses one input record of source src_index (kind from rec->src) as of today
 * (yyyymmdd). Fills *c: dest KEEP with rec typed P, N or O, or REJECT / REVIEW with a
 * reason code. Returns 0, or YH_ERR_TOO_LONG when the values do not fit (callers
 * reject the record as "too_long").
 */
int mig_cleanse(const struct mig_record *in, uint32_t src_index, int today,
    struct mig_clean *c) YH_WUR;

/* True when a raw identifier value is a placeholder ("无", "NULL", "-", "待补充",
 * 000000000000000000, 123456789012345678, ...). */
bool mig_is_placeholder(const char *raw);

/* Normalizes a last-login value ("2023-05-01 12:00:00", "2023/5/1 12:00", ISO 8601,
 * yyyymmddhhmmss, Unix seconds or milliseconds) into out as yyyymmddhhmmss; "" when it
 * cannot be read. */
void mig_norm_time(const char *in, char out[15]);

/* Maps a legacy status through the source's status_map (or the four canonical words
 * when the source has none). Missing -> "active"; unknown -> "disabled". */
const char *mig_norm_status(const struct mig_source *src, const char *raw);

/* Masks a value for rejects.jsonl: identifiers via idn_mask, anything non-ASCII fully. */
void mig_mask_value(const char *raw, char *out, size_t outsz);

/* True when an unusable ID value (folded, with its reason) cannot be the same number as
 * canonical: used before a record joins an identity through name and phone. */
bool mig_id_contradicts(const char *raw_folded, const char *reason, const char *canonical);

/* ---------- counts: where the records of each source went ---------- */

#define MIG_REASONS_MAX 48

struct mig_reason_count {
	const char *reason;   /* static string */
	uint64_t n;
};

struct mig_src_counts {
	uint64_t read, accounts, rejects, review;
	struct mig_reason_count rej[MIG_REASONS_MAX];
	size_t n_rej;
	struct mig_reason_count rev[MIG_REASONS_MAX];
	size_t n_rev;
};

struct mig_counts {
	struct mig_src_counts *src;   /* one per source */
	size_t n_src;
	uint64_t persons, orgs, conflicts;
};

/* ---------- output.c: temporary record files, JSON output files ---------- */

/* Writes one record as a tab-separated, escaped line. Returns 0 or YH_ERR_IO. */
int mig_rec_write(FILE *f, const struct mig_rec *r) YH_WUR;

/* A partition file loaded into memory: the records point into data. */
struct mig_part {
	char *data;
	size_t len;
	struct mig_rec *recs;
	size_t n;
};

/* Loads and parses a whole temporary file (a missing file is an empty partition).
 * Returns 0, YH_ERR_IO, YH_ERR_ALLOC or YH_ERR_INTERNAL for a malformed line. */
int mig_part_load(const char *path, struct mig_part *p) YH_WUR;

/* Sorts a partition so that records with equal keys are adjacent, ordered by type,
 * source, sequence (then content); keys themselves come in a fixed hash order.
 * 0 or YH_ERR_ALLOC. */
int mig_part_sort(struct mig_part *p) YH_WUR;

/* Frees a partition's memory. */
void mig_part_free(struct mig_part *p);

/* Partition of a key: FNV-1a 64 modulo nparts. */
unsigned mig_part_of(const char *key, unsigned nparts);

/* Creates (truncates) an output file with mode 0600 and returns a buffered stream. */
int mig_create_file(const char *path, FILE **out) YH_WUR;

/* Appends a JSON string ("..." or null for NULL/"") to b. */
int mig_json_str(struct yh_buf *b, const char *s) YH_WUR;

/* Reads one line (at most b's cap) into b. 0, YH_ERR_NOT_FOUND at the end,
 * YH_ERR_TOO_LONG, YH_ERR_IO. */
int mig_read_line(FILE *f, struct yh_buf *b) YH_WUR;
/* Appends ,"k":v to b (v as mig_json_str). */
int mig_json_kv(struct yh_buf *b, const char *k, const char *v) YH_WUR;
/* Adds one to a reason's count in a table. The reason is compared by content and
 * stored as idmerge's own static copy of the code ("other" for an unknown one), so the
 * caller's string may be freed afterwards. */
void mig_reason_add(struct mig_reason_count *t, size_t *n, const char *reason);

/* Adds every count of from (the same sources) to to, reasons in from's order, and
 * zeroes from: a partition's counts joining the run's. */
void mig_counts_move(struct mig_counts *to, struct mig_counts *from);

/* ---------- progress.c ---------- */

struct mig_progress;

/* Creates a progress reporter; it prints only when stderr is a terminal and CI is not
 * "true" (or when force is set). Returns NULL on allocation failure (then silent). */
struct mig_progress *mig_progress_new(bool force);

/* Starts a phase: label and the total of the unit being counted (0 when unknown). */
void mig_progress_phase(struct mig_progress *p, const char *label, uint64_t total);

/* Reports progress: done units of total and records handled so far in this phase.
 * Cheap; redraws at most a few times per second. */
void mig_progress_update(struct mig_progress *p, uint64_t done, uint64_t records);

/* Ends the current line and frees the reporter. NULL is fine. */
void mig_progress_free(struct mig_progress *p);

/* ---------- report.c ---------- */

/* Checks that every source's records are accounted for exactly once:
 * read == accounts + rejects + review. Returns 0 or YH_ERR_INTERNAL (message in err). */
int mig_counts_check(const struct mig_counts *c, const struct mig_sources *s, char *err,
    size_t errsz) YH_WUR;

/* Writes report.json and report.html (0600) into dir. */
int mig_report_write(const char *dir, const struct mig_sources *s,
    const struct mig_counts *c, bool dry_run) YH_WUR;

/* ---------- uid.c ---------- */

#define MIG_UID_KEY_MIN 16     /* bytes of a uid key */
#define MIG_UID_KEY_MAX 64
#define MIG_UID_KEY_FILE_LEN 32 /* bytes of the key a run makes */
#define MIG_UID_KEY_NAME "uid.key" /* the key file a run makes in its output directory */
#define MIG_UID_CANON_MAX 62   /* bytes of a canonical key (an ID number has 18) */

/* A uid key: HMAC-SHA256 keyed once (OpenSSL EVP_MAC). Used by one thread at a time. */
struct mig_uid_key;

/*
 * Makes a uid key from len secret bytes (MIG_UID_KEY_MIN..MIG_UID_KEY_MAX). Returns 0,
 * YH_ERR_KEY (no key, a length out of range, or the public key of earlier versions),
 * YH_ERR_ALLOC or YH_ERR_CRYPTO. *out is owned by the caller (mig_uid_key_free); the
 * key bytes may be wiped afterwards.
 */
int mig_uid_key_new(const unsigned char *key, size_t len, struct mig_uid_key **out) YH_WUR;

/*
 * Reads the uid key file at path: either the form a run makes (MIG_UID_KEY_FILE_LEN
 * random bytes as one line of hex, mode 0600; with create it is made first, atomically,
 * when missing, common/keyfile.h) or, without create, a file whose 16..64 bytes are the
 * key (--uid-key). The file must not be accessible by group or others. Returns 0;
 * YH_ERR_KEY (missing, malformed, the wrong length, the public key), YH_ERR_PERM,
 * YH_ERR_IO, YH_ERR_CRYPTO, YH_ERR_ALLOC, with one line in err naming the file.
 */
int mig_uid_key_load(const char *path, bool create, struct mig_uid_key **out, char *err,
    size_t errsz) YH_WUR;

/* The uid key of a run whose outputs are in dir: key_file (--uid-key) when not NULL,
 * else dir/uid.key. As mig_uid_key_load without create. */
int mig_uid_key_open(const char *dir, const char *key_file, struct mig_uid_key **out,
    char *err, size_t errsz) YH_WUR;

/* The uid key of the fixed public domain "yihao/idmerge/uid/v1" that earlier versions
 * used when given no key: only to recognise the uids made with it (idmerge rekey). */
int mig_uid_key_legacy(struct mig_uid_key **out) YH_WUR;

/* A second context holding the same key, for another thread. 0, YH_ERR_ALLOC or
 * YH_ERR_CRYPTO; *out is owned by the caller (mig_uid_key_free). */
int mig_uid_key_dup(const struct mig_uid_key *k, struct mig_uid_key **out) YH_WUR;

/* Frees a uid key (OpenSSL wipes the key). NULL is fine. */
void mig_uid_key_free(struct mig_uid_key *k);

/* The stable uid of an identity: 32 lower-case hex digits (the directory's uid form)
 * of HMAC-SHA256(key, kind ':' canonical key), kind 'p' (ID number) or 'o'
 * (organization code). out >= 33 bytes. YH_ERR_KEY when k is NULL; YH_ERR_INTERNAL
 * (out too small, canon empty or over MIG_UID_CANON_MAX); YH_ERR_CRYPTO. */
int mig_uid(struct mig_uid_key *k, char kind, const char *canon, char *out, size_t outsz)
    YH_WUR;

/* ---------- run.c: the run ---------- */

struct mig_run_opts {
	const char *out_dir;
	bool dry_run;
	int today;                  /* yyyymmdd; 0 = today (CST) */
	const char *uid_key_file;   /* --uid-key FILE; NULL: OUT_DIR/uid.key (made when missing) */
	unsigned nparts;            /* 0 = chosen from the input size */
	unsigned threads;           /* passes 2-5; 0 = mig_default_threads() */
	bool progress;              /* allow a progress line (still only on a terminal) */
};

struct mig_run;

#define MIG_THREADS_MAX 64      /* --threads */
#define MIG_THREADS_DEFAULT_MAX 8 /* the default: the online CPUs, at most this many */

/* The default number of threads: the online CPUs, 1 to MIG_THREADS_DEFAULT_MAX. */
unsigned mig_default_threads(void);

/*
 * Where the work on one partition writes: the output streams, the temporary file sets
 * of the pass, the counts, the uid key and a scratch line. Pass 1 and a run on one
 * thread use the run's own sink, whose streams are the files themselves; a thread of a
 * parallel pass has its own, writing into memory until its partition's turn (par.c).
 */
struct mig_sink {
	const struct mig_sources *s;
	unsigned nparts;
	struct mig_uid_key *uid;
	FILE *ident, *rejects, *review; /* NULL in a dry run */
	FILE **pf, **nf, **of;      /* the temporary files a pass appends to, or NULL */
	struct mig_counts *c;
	struct yh_buf line;
};

/* Starts a run over the loaded sources: creates the output directory (0700), reads or
 * makes the uid key (see uid_key_file), the private temporary directory and the
 * partition files. err says what failed; YH_ERR_KEY / YH_ERR_PERM: the uid key. */
int mig_run_open(const struct mig_run_opts *o, const struct mig_sources *s,
    struct mig_run **out, char *err, size_t errsz) YH_WUR;

/* Pass 1 for one record of source src_index (the record's src must be that source). */
int mig_run_add(struct mig_run *r, uint32_t src_index, const struct mig_record *rec) YH_WUR;

/* Pass 1 for a record the reader could not parse: rejected as "unreadable". */
int mig_run_add_unreadable(struct mig_run *r, uint32_t src_index, uint64_t seq,
    uint64_t line) YH_WUR;

/* Opens and closes every source's reader: a missing column or an unreadable file is
 * reported (err) before a run creates anything. */
int mig_sources_check(const struct mig_sources *s, char *err, size_t errsz) YH_WUR;

/* Reads every source through the readers and feeds pass 1, one source per thread
 * when the run has several (each source's rejects and review lines then wait in a
 * temporary file and join the outputs in source order). A mapped JSONL key or LDIF
 * attribute that no record of its source holds is YH_ERR_CONFIG (mig_reader_check_keys)
 * once that source is read; the run must then be freed without finishing. */
int mig_run_read_all(struct mig_run *r, char *err, size_t errsz) YH_WUR;

/* Passes 2-5, the outputs, the report and the invariant check. */
int mig_run_finish(struct mig_run *r, char *err, size_t errsz) YH_WUR;

/* The counts (valid after mig_run_finish). Owned by the run. */
const struct mig_counts *mig_run_counts(const struct mig_run *r);

/* Wall-clock milliseconds of the five passes (valid after mig_run_finish), and the
 * number of threads passes 2-5 ran on. */
void mig_run_times(const struct mig_run *r, int64_t ms[5], unsigned *threads);

/* Removes the temporary directory and frees the run. NULL is fine. */
void mig_run_free(struct mig_run *r);

/* The state of a run, shared by run.c, match.c, merge.c and output.c. */
struct mig_run {
	struct mig_run_opts o;
	const struct mig_sources *s;
	int today;
	struct mig_uid_key *uid;   /* the key of every uid of the run */
	char key_path[4200];       /* OUT_DIR/uid.key, when no uid_key_file was given */
	bool key_created;          /* this run made key_path */
	char tmp[4096];            /* private temporary directory */
	unsigned nparts;
	unsigned threads;          /* passes 2-5 */
	FILE **pf, **nf, **of;     /* pass-1 writers, nparts each */
	FILE *rejects, *review, *ident; /* NULL in a dry run */
	struct mig_counts c;
	struct mig_progress *prog;
	struct mig_sink sink;      /* the run's own: the files themselves, r->c */
	struct mig_clean clean;    /* scratch for pass 1 on the calling thread */
	pthread_mutex_t *part_locks; /* pass 1 on several threads: one per P, N, O file */
	uint64_t records;          /* records seen in pass 1 */
	int64_t pass_ms[5];        /* wall-clock time of each pass */
	bool finished;
	bool out_created;          /* this run made the output directory */
	bool published;            /* the outputs are in the output directory */
};

/* ---------- output.c: the files the passes write ---------- */

/* Path of temporary file type ('P', 'N', 'O') number i. */
void mig_tmp_path(const struct mig_run *r, char type, unsigned i, char *out, size_t outsz);

/* Opens the nparts temporary files of a type for writing (truncating, or appending).
 * *out is an array of nparts streams; close it with mig_close_set. */
int mig_open_set(const struct mig_run *r, char type, bool append, FILE ***out) YH_WUR;

/* Closes and frees a set of streams (NULL is fine). YH_ERR_IO when a flush failed. */
int mig_close_set(FILE **set, unsigned n) YH_WUR;

/* Writes one reject line and counts it against the source. value must already be
 * masked (mig_mask_value); field and value may be NULL. */
int mig_emit_reject(struct mig_sink *k, uint32_t src, const char *legacy_id,
    const char *reason, const char *field, const char *value) YH_WUR;

/* Writes one review line for record x (candidates: uids, sorted by the caller; group:
 * the uid of the conflicting group x belongs to, or NULL) and counts it. The line
 * carries x's values and legacy credential for the directory's review cases. */
int mig_emit_review(struct mig_sink *k, const struct mig_rec *x, const char *reason,
    const char *group, const char *const *cands, size_t ncands) YH_WUR;

/* ---------- par.c: a pass over the partitions on the run's threads ---------- */

/* The work on one loaded, sorted partition (number part) of a pass. */
typedef int (*mig_part_fn)(struct mig_sink *k, unsigned part, struct mig_part *p);

/*
 * Runs fn on every partition of temporary file type ('P', 'N', 'O') on r->threads
 * threads, the temporary files of the types in appends (e.g. "NO") opened for
 * appending in the sinks. What each partition writes reaches the files in partition
 * order, and its counts are added in that order: the outputs are the same bytes on any
 * number of threads. 0 or the first error.
 */
int mig_par_pass(struct mig_run *r, char type, const char *appends, const char *label,
    mig_part_fn fn) YH_WUR;

/* ---------- match.c (passes 2 and 3) ---------- */

/* Pass 2: every P partition publishes its identities' (name, phone) index entries and
 * answers legal-representative requests. */
int mig_pass_index(struct mig_run *r) YH_WUR;

/* Pass 3: every N partition: ID-less records join, go to review, or are rejected. */
int mig_pass_noid(struct mig_run *r) YH_WUR;

/* Decides whether a group of P records sharing one ID number is a name conflict
 * (more than one distinct non-empty name key). */
bool mig_group_conflicts(const struct mig_rec *g, size_t n);

/* ---------- merge.c (passes 4 and 5) ---------- */

/* Pass 4: persons out. */
int mig_pass_persons(struct mig_run *r) YH_WUR;

/* Pass 5: organizations out. */
int mig_pass_orgs(struct mig_run *r) YH_WUR;

/* ---------- state.c ---------- */

struct ident;

/* Where import and rekey find what they work on: a run's output directory (its
 * identities.jsonl and uid.key), the run's uid key when it was given one (--uid-key,
 * NULL: in_dir/uid.key), and Yihao's state (-c and/or -d, NULL when not given). */
struct mig_where {
	const char *in_dir;
	const char *uid_key_file;
	const char *config_path;
	const char *state_dir;
};

/*
 * Opens the vault and the directory from an authd configuration file (config_path, its
 * identity options) and/or a state directory (state_dir), as authctl does; with create a
 * new state directory is made (ident_open). At least one of the two is required
 * (YH_ERR_CONFIG otherwise). Errors as ident_open, with one line in err. *out is owned
 * by the caller (ident_close).
 */
int mig_state_open(const char *config_path, const char *state_dir, bool create,
    struct ident **out, char *err, size_t errsz) YH_WUR;

/* ---------- import.c ---------- */

struct mig_import_opts {
	struct mig_where where;    /* in_dir is required */
	bool progress;
};

struct mig_import_stats {
	uint64_t persons_added, persons_updated, orgs_added, orgs_updated;
	uint64_t links_added, credentials_set, unchanged;
	uint64_t failed;          /* identities not (fully) imported: logged */
	uint64_t legacy_uids;     /* found in the directory under a public-key uid */
	uint64_t cases_opened;    /* review cases opened from review.jsonl */
	uint64_t cases_known;     /* review cases the directory had (open or decided) */
	uint64_t cases_failed;    /* review cases not opened: logged */
};

/*
 * Loads identities.jsonl from where.in_dir into the directory found through
 * where.config_path and/or where.state_dir (created when missing), idempotently: a
 * second import of the same file changes nothing. Every identity's uid must be the one
 * the run's uid key gives its ID number or organization code (where.uid_key_file, or
 * in_dir/uid.key): one made with
 * another key, or with the public key of earlier versions, is not imported. Returns 0;
 * YH_ERR_CONFIG/KEY/PERM (err: the uid key or the state cannot be opened); YH_ERR_IO;
 * YH_ERR_CONFLICT when some identities failed (counted in st->failed, each logged)
 * while the others were imported. Then opens the review cases of in_dir/review.jsonl
 * (mig_import_reviews).
 */
int mig_import(const struct mig_import_opts *o, struct mig_import_stats *st, char *err,
    size_t errsz) YH_WUR;

/* ---------- review.c ---------- */

/*
 * Opens a review case in id's directory for the records of in_dir/review.jsonl
 * (identity/review.h; none when the file is missing): the records that conflict under
 * one number are one case, every other record a case of its own. A case the directory
 * has already, open or decided, is left as it is (st->cases_known). Returns 0;
 * YH_ERR_CONFLICT when some cases were not opened (a record in another case; counted in
 * st->cases_failed, each logged); YH_ERR_INVALID (a line that is not idmerge's);
 * YH_ERR_IO. err gets one line.
 */
int mig_import_reviews(struct ident *id, const char *in_dir, struct mig_import_stats *st,
    char *err, size_t errsz) YH_WUR;

/* ---------- rekey.c ---------- */

struct mig_rekey_opts {
	struct mig_where where;    /* in_dir or uid_key_file: the uid key */
	bool apply;                /* re-key; false: only count what would be */
};

struct mig_rekey_stats {
	uint64_t scanned;          /* entities looked at */
	uint64_t persons, orgs;    /* those with a public-key uid (re-keyed when applied) */
	size_t sectors;            /* sectors of the apps registered now */
	uint64_t pins;             /* subject pins made (persons x sectors); a pin a person
	                            * already had for a sector stays instead */
};

/*
 * Finds every person and organization in the existing directory (where.config_path
 * and/or where.state_dir) whose uid was made with the public key of earlier versions,
 * and with apply gives each the uid the run's key gives (where.uid_key_file, or
 * where.in_dir/uid.key), every record
 * referring to it following in the same transaction (dir_uid_rekey). So that apps keep
 * knowing a re-keyed person by the same `sub`, the same transaction records for the
 * person, in every sector of an app registered now (the client registry as authd reads
 * it: clients.json and the configuration's clients.file), the sub the old uid gives
 * (keys_sub_str under STATE_DIR/subject.key) as a subject pin under the new uid; a
 * person who already had a pin keeps it. Idempotent. Returns 0, or an error with one
 * line in err: YH_ERR_KEY/PERM/CONFIG (the uid key, the subject key or the state),
 * YH_ERR_INVALID (the client registry does not load), YH_ERR_NOT_FOUND (no directory),
 * YH_ERR_DB, YH_ERR_ALLOC.
 */
int mig_rekey(const struct mig_rekey_opts *o, struct mig_rekey_stats *st, char *err,
    size_t errsz) YH_WUR;

#endif
