#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "authcore/audit/audit_int.h"
#include "common/atomicfile.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/secmem.h"
#include "common/timeutil.h"
#include "common/utf8.h"
#include "identity/dir/dir.h"

/*
 * Group commit. A writer formats its event outside the lock, queues it in memory and
 * waits. One writer at a time (the leader) takes everything queued, and with the lock
 * released chains it (seq, prev), writes it with one write() under the file's flock and
 * runs one fdatasync; then it settles every line of the batch and wakes their writers.
 * Lines queued meanwhile form the next batch. So each writer still returns only once
 * its own line is on disk, while one write and one flush serve a whole batch, and no
 * write() lands on a page the running flush is writing back (ext4 would make it wait
 * for that flush, holding up every writer behind it).
 *
 * yh_audit_submit's lines have no thread waiting: they are queued with a done call, and
 * a writer thread leads their batches (a yh_audit_write caller may lead them too). Its
 * callers (suspended HTTP requests) hold no thread through the flush, so the queue
 * fills with every line that arrives during one fdatasync and the next flush takes
 * them all.
 *
 * The commit window: on a busy log (the last batch held more than one line) the writer
 * thread waits until the window has passed since it took the last batch before it takes
 * the next, unless GATHER_MAX lines already wait. Each flush (on a virtual disk, a
 * round trip through the host) then covers the lines of a whole window instead of the
 * few that came during the last fdatasync, for at most the window's wait per line. A
 * lone writer's batches hold one line each and never wait, nor do yh_audit_write's
 * callers, who lead their own batches.
 *
 * A checkpoint is one more line at the end of a batch: when the batch takes the
 * sequence past a multiple of every_lines, when a request asks for one (the timer, the
 * start, the close), never when the last line already is one. Such a batch is flushed
 * before the file's lock is released and its checkpoint then copied to PATH.checkpoint,
 * so that copy never names a line that is not on disk, and copies made by several
 * processes land in the chain's order. Its cost is the tag and one small pwrite.
 */
enum { ENTRY_QUEUED, ENTRY_DONE };

#define GATHER_MAX 256           /* lines that end a commit window's wait at once */

struct audit_entry {
	struct audit_entry *next;
	const char *body;        /* "\"event\":...,<fields>": the line without seq, ts, prev;
	                          * NULL: a request for a checkpoint */
	size_t len;
	int state;               /* ENTRY_QUEUED until the leader settles it */
	int rc;                  /* its result then */
	/* A line of yh_audit_submit: nobody waits for it; the leader calls done and frees
	 * the entry and its body. NULL for yh_audit_write's lines. */
	yh_audit_done_fn done;
	void *done_arg;
	int64_t t0;              /* when queued (monotonic ns), for flush_hist */
};

struct yh_audit {
	int fd;
	char *path;              /* as opened, for the readiness check */
	pthread_mutex_t lock;
	pthread_cond_t settled_cv;
	struct audit_entry *queue, **queue_end;  /* queued lines, oldest first */
	bool leading;            /* a leader is writing and flushing a batch */
	/* The writer thread: leads the batches of yh_audit_submit's lines, which have no
	 * thread of their own waiting. Started at the first such line; stopping is under
	 * lock. */
	pthread_t writer;
	bool writer_on, writer_stop;
	size_t nasync;           /* queued lines of yh_audit_submit */
	pthread_cond_t work_cv;  /* an async line was queued, or a batch ended (on
	                          * CLOCK_MONOTONIC) */
	/* The commit window, under lock: its length (0: none), when the last batch was taken
	 * (monotonic ns) and how many lines it held, and whether the writer waits in one
	 * (a queued line then wakes it only when GATHER_MAX lines wait). */
	int64_t window_ns;
	int64_t batch_ns;
	size_t batch_lines;
	bool gathering;
	/* The chain's tail as of our last write; reread when the file changed size. Only
	 * the leader touches these, so they need no lock. */
	char prev[65];
	uint64_t seq;
	off_t size;
	bool tail_known;
	bool tail_cp;            /* the last line is a checkpoint */
	bool dirty;              /* we wrote lines after our last checkpoint */
	/* Checkpoints: set by yh_audit_checkpoints before the handle is shared; how often
	 * may change later (yh_audit_set_checkpoints). */
	bool cp_on;
	_Atomic uint64_t cp_every;
	int64_t cp_every_ms;     /* under lock */
	char kid[YH_AUDIT_KID_LEN + 1];
	int (*mac)(void *ctx, const void *msg, size_t len, unsigned char tag[YH_AUDIT_TAG_LEN]);
	void *mac_ctx;
	int cp_fd;               /* PATH.checkpoint; -1 */
	/* The checkpoint timer; stopping is under lock. */
	pthread_t timer;
	bool timer_on, stopping;
	pthread_cond_t timer_cv; /* on CLOCK_MONOTONIC */
	struct mx_hist *flush_hist; /* queued to durable, per line; NULL */
	struct mx_counter *flushes; /* batches flushed (write + fdatasync); NULL */
};

int
yh_audit_open(const char *path, struct yh_audit **out, char *err, size_t errsz)
{
	pthread_condattr_t ca;
	struct yh_audit *a;
	struct stat st;
	int fd;

	*out = NULL;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errsz, "%s: cannot open audit log: %s", path, strerror(errno));
		return YH_ERR_IO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errsz, "%s: audit log is not a regular file", path);
		close(fd);
		return YH_ERR_IO;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errsz, "%s: audit log is readable by group or others (mode %03o)",
		    path, (unsigned)(st.st_mode & 0777));
		close(fd);
		return YH_ERR_PERM;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL || (a->path = strdup(path)) == NULL) {
		free(a);
		close(fd);
		snprintf(err, errsz, "out of memory");
		return YH_ERR_ALLOC;
	}
	a->fd = fd;
	a->cp_fd = -1;
	a->queue_end = &a->queue;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->settled_cv, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->work_cv, &ca);
	pthread_cond_init(&a->timer_cv, &ca);
	pthread_condattr_destroy(&ca);
	*out = a;
	return 0;
}

/*
 * Reads the last line of the file through a separate read-only descriptor (the write fd
 * is O_APPEND-only) and returns its hash, its sequence number and whether it is a
 * checkpoint; AUDIT_GENESIS and 0 when empty.
 */
static int
read_tail(int wfd, char prev[65], uint64_t *seq, bool *is_cp)
{
	char path[64], buf[AUDIT_LINE_MAX + 2];
	off_t size, start;
	ssize_t n;
	char *line, *end;
	json_t *obj, *js, *je;
	int fd, r = YH_ERR_IO;

	memcpy(prev, AUDIT_GENESIS, 65);
	*seq = 0;
	*is_cp = false;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", wfd);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return YH_ERR_IO;
	if ((size = lseek(fd, 0, SEEK_END)) < 0)
		goto out;
	if (size == 0) {
		r = 0;
		goto out;
	}
	start = size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0;
	if ((n = pread(fd, buf, (size_t)(size - start), start)) != size - start)
		goto out;
	buf[n] = '\0';
	end = buf + n;
	if (end[-1] != '\n') {
		/* A torn last line (crash mid-write): refuse to chain onto it. */
		r = YH_ERR_AUTH;
		goto out;
	}
	*--end = '\0';
	line = memrchr(buf, '\n', (size_t)(end - buf));
	line = line != NULL ? line + 1 : buf;
	if (line == buf && start != 0)
		goto out;
	if ((r = audit_sha256_hex(line, (size_t)(end - line), prev)) != 0)
		goto out;
	r = YH_ERR_AUTH;
	if ((obj = json_loadb(line, (size_t)(end - line), JSON_REJECT_DUPLICATES, NULL)) == NULL)
		goto out;
	js = json_object_get(obj, "seq");
	je = json_object_get(obj, "event");
	if (json_is_integer(js) && json_integer_value(js) > 0) {
		*seq = (uint64_t)json_integer_value(js);
		*is_cp = json_is_string(je) &&
		    strcmp(json_string_value(je), YH_AUDIT_CHECKPOINT_EVENT) == 0;
		r = 0;
	}
	json_decref(obj);
out:
	close(fd);
	return r;
}

/*
 * The fields whose value the code sets to a directory uid (identity/dir/dir.h): 128
 * random bits or a keyed hash, as 32 lower-case hex digits, never personal data. The
 * redactor would still mask a phone-like run of digits inside one (a uid holds one about
 * once in a hundred: "a1b2c12345678901f..."), and the line would lose the record it names.
 * Such a field keeps a value that is a uid; any other value of it is masked as usual.
 */
static const char *const uid_fields[] = {
	"uid", "person", "org", "org_uid", "staff", "legal_rep", "granted_by", NULL,
};

/* True when key is one of uid_fields and s is a uid. */
static bool
names_uid(const char *key, const char *s)
{
	for (size_t i = 0; uid_fields[i] != NULL; i++)
		if (strcmp(key, uid_fields[i]) == 0)
			return dir_uid_valid(s);
	return false;
}

/* Appends the JSON string s (n bytes, UTF-8), quoted. */
static int
put_string(struct yh_buf *b, const char *s, size_t n)
{
	if (!yh_utf8_valid(s, n))
		return YH_ERR_INVALID;
	return yh_json_quote(b, s, n);
}

/* Appends ,"key":value for one field, masking personal data in a string value (but not
 * the uid of a uid_fields member); other values as jansson writes them. */
static int
put_field(struct yh_buf *b, const char *key, const json_t *v)
{
	const char *sv;
	char *text;
	int r;

	if ((r = yh_buf_putc(b, ',')) != 0 || (r = put_string(b, key, strlen(key))) != 0 ||
	    (r = yh_buf_putc(b, ':')) != 0)
		return r;
	if (json_is_string(v) && names_uid(key, (sv = json_string_value(v))))
		return put_string(b, sv, json_string_length(v));
	if (json_is_string(v)) {
		if ((text = strdup(json_string_value(v))) == NULL)
			return YH_ERR_ALLOC;
		r = put_string(b, text, yh_redact_default(text, strlen(text)));
		free(text);
		return r;
	}
	if ((text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER)) == NULL)
		return YH_ERR_ALLOC;
	r = yh_buf_puts(b, text);
	free(text);
	return r;
}

/* Appends every field of fields (an object, or NULL), in its order. A field may not take
 * the name of a member the line has already (event, actor) or that the leader adds (seq,
 * ts, prev). */
static int
put_fields(struct yh_buf *b, json_t *fields)
{
	static const char *const taken[] = { "event", "actor", "seq", "ts", "prev", NULL };
	const char *key;
	json_t *v;
	int r;

	if (fields == NULL)
		return 0;
	if (!json_is_object(fields))
		return YH_ERR_INVALID;
	json_object_foreach(fields, key, v) {
		for (size_t i = 0; taken[i] != NULL; i++)
			if (strcmp(key, taken[i]) == 0)
				return YH_ERR_INVALID;
		if ((r = put_field(b, key, v)) != 0)
			return r;
	}
	return 0;
}

/* The chain's tail: cached from our own last write unless the file changed size
 * (another process wrote), then read from the file. */
static int
tail(struct yh_audit *a)
{
	struct stat st;
	int r;

	if (fstat(a->fd, &st) != 0)
		return YH_ERR_IO;
	if (a->tail_known && st.st_size == a->size)
		return 0;
	a->tail_known = false;
	if ((r = read_tail(a->fd, a->prev, &a->seq, &a->tail_cp)) != 0)
		return r;
	a->size = st.st_size;
	a->tail_known = true;
	return 0;
}

/*
 * The body of one line, "event":...,"actor":...,<fields> (a compact JSON object without
 * its braces): the leader wraps it as {"seq":N,"ts":"...",<body>,"prev":"..."}. Written
 * straight into a buffer, as jansson would dump the object for the usual lines. *body is
 * a new string.
 */
static int
build_body(const char *event, const char *actor, json_t *fields, char **body, size_t *len)
{
	struct yh_buf b;
	int r;

	*body = NULL;
	*len = 0;
	/* {"seq":<20 digits>,"ts":"<39>",<body>,"prev":"<64>"} stays within the cap. */
	yh_buf_init(&b, AUDIT_LINE_MAX - 160);
	if ((r = yh_buf_reserve(&b, 256)) != 0 || (r = yh_buf_puts(&b, "\"event\":")) != 0 ||
	    (r = put_string(&b, event, strlen(event))) != 0 ||
	    (r = yh_buf_puts(&b, ",\"actor\":")) != 0 ||
	    (r = put_string(&b, actor != NULL ? actor : "system",
	    strlen(actor != NULL ? actor : "system"))) != 0 ||
	    (r = put_fields(&b, fields)) != 0)
		goto out;
	*len = b.len;
	if ((*body = yh_buf_steal(&b)) == NULL) {
		*len = 0;
		r = YH_ERR_ALLOC;
	}
out:
	yh_buf_free(&b);
	return r;
}

/*
 * cut_unflushed's work, with the file's flock held: the lines begin..end are cut off
 * when they are still the file's last bytes, else the log says where they stay.
 */
static void
cut_batch(struct yh_audit *a, off_t begin, off_t end)
{
	struct stat st;

	a->tail_known = false;
	if (fstat(a->fd, &st) == 0 && st.st_size == end) {
		if (ftruncate(a->fd, begin) != 0)
			yh_error("audit log: cannot remove lines whose flush failed: %s",
			    strerror(errno));
	} else
		yh_error("audit log: lines whose flush failed stay at bytes %lld..%lld: "
		    "another process wrote after them", (long long)begin, (long long)end);
}

/*
 * After a failed flush (a file system that finds out at fdatasync that it is full, an
 * I/O error) the batch's writers are told it failed, so its lines must not stay: they
 * are cut off while they are still the file's last bytes (begin..end). When another
 * process has appended since, they cannot be, and the log says so.
 */
static void
cut_unflushed(struct yh_audit *a, off_t begin, off_t end)
{
	a->tail_known = false;
	if (flock(a->fd, LOCK_EX) != 0) {
		yh_error("audit log: cannot lock it to remove lines whose flush failed: %s",
		    strerror(errno));
		return;
	}
	cut_batch(a, begin, end);
	flock(a->fd, LOCK_UN);
}

/*
 * Appends {"seq":N,"ts":"...",<body>,"prev":"<prev>"} and its newline to b, and puts
 * the new line's hash in prev.
 */
static int
put_line(struct yh_buf *b, uint64_t seq, const char *ts, const char *body, size_t len,
    char prev[65])
{
	size_t start = b->len;
	int r;

	if ((r = yh_buf_printf(b, "{\"seq\":%llu,\"ts\":\"%s\",", (unsigned long long)seq,
	    ts)) != 0 || (r = yh_buf_append(b, body, len)) != 0 ||
	    (r = yh_buf_printf(b, ",\"prev\":\"%s\"}", prev)) != 0 ||
	    (r = audit_sha256_hex(b->data + start, b->len - start, prev)) != 0)
		return r;
	return yh_buf_putc(b, '\n');
}

/*
 * Appends the checkpoint that follows prev as line seq. *tagged is false when the tag
 * could not be made (logged; the batch goes without it), and b is then unchanged.
 */
static int
put_checkpoint(struct yh_audit *a, struct yh_buf *b, uint64_t seq, char prev[65],
    bool *tagged)
{
	unsigned char tag[YH_AUDIT_TAG_LEN];
	char ts[40], hex[2 * YH_AUDIT_TAG_LEN + 1];
	struct yh_buf m;
	int r;

	*tagged = false;
	yh_time_iso8601(yh_now_ms(), ts, sizeof(ts));
	yh_buf_init(&m, 1024);
	if ((r = audit_cp_message(&m, seq, ts, prev)) == 0)
		r = a->mac(a->mac_ctx, m.data, m.len, tag);
	yh_buf_free(&m);
	if (r != 0) {
		yh_error("audit log: no checkpoint after line %llu: no tag: %s",
		    (unsigned long long)(seq - 1), yh_strerror(r));
		return 0;
	}
	yh_hex_encode(tag, sizeof(tag), hex);
	yh_buf_init(&m, 512);
	if ((r = yh_buf_printf(&m, "\"event\":\"" YH_AUDIT_CHECKPOINT_EVENT "\","
	    "\"actor\":\"system\",\"kid\":\"%s\",\"mac\":\"%s\"", a->kid, hex)) == 0 &&
	    (r = put_line(b, seq, ts, m.data, m.len, prev)) == 0)
		*tagged = true;
	yh_buf_free(&m);
	return r;
}

/* Whether a batch that took the sequence from seq0 to seq ends with a checkpoint. */
static bool
checkpoint_due(const struct yh_audit *a, bool asked, uint64_t seq0, uint64_t seq)
{
	if (!a->cp_on)
		return false;
	if (seq == seq0)
		return asked && seq0 > 0 && !a->tail_cp;
	uint64_t every = atomic_load(&a->cp_every);

	return asked || (every > 0 && seq / every > seq0 / every);
}

/* Copies the checkpoint line (with its newline) to PATH.checkpoint; only logs on error:
 * the copy helps the verifier see a cut tail, the lines themselves are on disk. */
static void
copy_checkpoint(struct yh_audit *a, const char *line, size_t len)
{
	ssize_t w = pwrite(a->cp_fd, line, len, 0);
	struct stat st;

	/* Lines grow with the sequence: only a shorter one (a new log) leaves a rest to
	 * cut, and a truncate that changes nothing would still cost a journal entry. */
	if (w == (ssize_t)len && (fstat(a->cp_fd, &st) != 0 ||
	    (st.st_size > (off_t)len && ftruncate(a->cp_fd, (off_t)len) != 0)))
		w = -1;
	if (w != (ssize_t)len)
		yh_warn("audit log: %s%s not updated: %s", a->path, YH_AUDIT_CHECKPOINT_SUFFIX,
		    w < 0 ? strerror(errno) : "short write");
}

/*
 * The leader's work, without the lock: chains the batch onto the file's tail, adds a
 * checkpoint when one is due, writes it under the flock in one write() and flushes it.
 * Each line's ts is taken under the flock, so ts follows seq whichever process wrote the
 * line before. The chain state advances only with a successful write. A failed one (a
 * full disk, a file size limit) may have written part of the batch: the file is cut back
 * to where the batch began, so no line of a batch whose writers were told "failed"
 * stays, and no torn line blocks the next; so is a batch whose flush failed (cut_batch
 * under the lock when it holds a checkpoint, which is then not copied; cut_unflushed
 * otherwise). *cp_rc gets YH_ERR_CRYPTO when a checkpoint was due but could not be
 * tagged (the lines are written all the same), else 0.
 */
static int
write_batch(struct yh_audit *a, const struct audit_entry *batch, int *cp_rc)
{
	struct yh_buf b;
	char prev[65];
	uint64_t seq, seq0;
	off_t begin = 0, end = 0;
	size_t cp_at = 0;
	bool asked = false, cp = false, synced = false;
	int r;

	*cp_rc = 0;
	yh_buf_init(&b, (size_t)1 << 30);
	if (flock(a->fd, LOCK_EX) != 0)
		return YH_ERR_IO;
	if ((r = tail(a)) != 0)
		goto out;
	memcpy(prev, a->prev, sizeof(prev));
	seq = seq0 = a->seq;
	for (const struct audit_entry *e = batch; e != NULL; e = e->next) {
		char ts[40];

		if (e->body == NULL) {
			asked = true;
			continue;
		}
		yh_time_iso8601(yh_now_ms(), ts, sizeof(ts));
		if ((r = put_line(&b, ++seq, ts, e->body, e->len, prev)) != 0)
			goto out;
	}
	if (checkpoint_due(a, asked, seq0, seq)) {
		cp_at = b.len;
		if ((r = put_checkpoint(a, &b, seq + 1, prev, &cp)) != 0)
			goto out;
		seq += cp ? 1 : 0;
		*cp_rc = cp ? 0 : YH_ERR_CRYPTO;
	}
	if (b.len == 0)
		goto out;
	if ((r = yh_file_write_fd(a->fd, b.data, b.len)) != 0) {
		r = yh_err_from_errno(errno);
		if (ftruncate(a->fd, a->size) != 0)
			yh_error("audit log: cannot cut a partly written batch back to %lld bytes: "
			    "%s", (long long)a->size, strerror(errno));
		a->tail_known = false;
		goto out;
	}
	memcpy(a->prev, prev, sizeof(prev));
	a->seq = seq;
	begin = a->size;
	end = a->size += (off_t)b.len;
	a->tail_cp = cp;
	if (!cp) {
		a->dirty = true;
	} else {
		/* flushed under the lock: the copy must never name a line not on disk */
		synced = true;
		if (fdatasync(a->fd) != 0) {
			r = yh_err_from_errno(errno);
			cut_batch(a, begin, end);
		} else {
			a->dirty = false;
			copy_checkpoint(a, b.data + cp_at, b.len - cp_at);
		}
	}
out:
	flock(a->fd, LOCK_UN);
	if (r == 0 && b.len > 0 && !synced && fdatasync(a->fd) != 0) {
		r = yh_err_from_errno(errno);
		cut_unflushed(a, begin, end);
	}
	yh_buf_free(&b);
	return r;
}

int
yh_audit_metrics(struct yh_audit *a, struct mx_registry *reg)
{
	int r;

	if ((r = mx_counter_get(reg, "yh_audit_flushes_total",
	    "Audit batches written and flushed (fdatasync), each covering one or more lines.",
	    NULL, &a->flushes)) != 0)
		return r;
	return mx_hist_get(reg, "yh_audit_flush_duration_seconds",
	    "Time from an audit line queued to its flush (fdatasync) completing.", NULL,
	    mx_latency_buckets, mx_latency_nbuckets, &a->flush_hist);
}

/* Frees an entry of yh_audit_submit (its body is the entry's own). */
static void
entry_free(struct audit_entry *e)
{
	free((char *)e->body);
	free(e);
}

/*
 * One batch, with the lock held on entry and on return: takes everything queued, writes
 * and flushes it without the lock, then settles each line. yh_audit_write's writers are
 * woken; yh_audit_submit's lines get their done call, in queue order and without the
 * lock, once the whole batch is on disk (or failed), and are freed.
 */
static void
lead(struct yh_audit *a)
{
	struct audit_entry *batch, *next, *async = NULL, **async_end = &async;
	int64_t now;
	int br, cr;

	a->leading = true;
	a->batch_ns = yh_mono_ns();
	a->batch_lines = 0;
	for (const struct audit_entry *x = a->queue; x != NULL; x = x->next)
		a->batch_lines++;
	batch = a->queue;
	a->queue = NULL;
	a->queue_end = &a->queue;
	a->nasync = 0;
	pthread_mutex_unlock(&a->lock);
	br = write_batch(a, batch, &cr);
	if (br == 0 && batch != NULL)
		mx_counter_add(a->flushes, 1);
	pthread_mutex_lock(&a->lock);
	for (struct audit_entry *x = batch; x != NULL; x = next) {
		next = x->next;
		x->rc = br != 0 || x->body != NULL ? br : cr;
		if (x->done != NULL) {
			x->next = NULL;
			*async_end = x;
			async_end = &x->next;
			continue;
		}
		x->state = ENTRY_DONE;   /* its writer may free it from now on */
	}
	a->leading = false;
	pthread_cond_broadcast(&a->settled_cv);
	if (a->queue != NULL)
		pthread_cond_signal(&a->work_cv);
	pthread_mutex_unlock(&a->lock);
	now = yh_mono_ns();
	for (struct audit_entry *x = async; x != NULL; x = next) {
		next = x->next;
		if (x->rc == 0)
			mx_hist_observe(a->flush_hist, (double)(now - x->t0) / 1e9);
		x->done(x->done_arg, x->rc);
		entry_free(x);
	}
	pthread_mutex_lock(&a->lock);
}

/* Queues e and returns its result once a leader (perhaps this thread) settled it; a
 * line's wait from queued to durable goes to flush_hist. */
static int
submit(struct yh_audit *a, struct audit_entry *e)
{
	int64_t t0 = yh_mono_ns();
	int r;

	pthread_mutex_lock(&a->lock);
	*a->queue_end = e;
	a->queue_end = &e->next;
	while (e->state == ENTRY_QUEUED) {
		if (a->leading) {
			pthread_cond_wait(&a->settled_cv, &a->lock);
			continue;
		}
		lead(a);
	}
	r = e->rc;
	pthread_mutex_unlock(&a->lock);
	if (r == 0 && e->body != NULL)
		mx_hist_observe(a->flush_hist, (double)(yh_mono_ns() - t0) / 1e9);
	return r;
}

/*
 * With the lock held: when the commit window is open (a window is set, the last batch
 * held more than one line, it was taken less than the window ago, fewer than GATHER_MAX
 * lines wait and the writer is not stopping), waits until it closes or GATHER_MAX lines
 * wait, and returns true (the caller looks again); else returns false at once.
 */
static bool
gather(struct yh_audit *a)
{
	int64_t due = a->batch_ns + a->window_ns;
	struct timespec at;

	if (a->window_ns <= 0 || a->batch_lines < 2 || a->writer_stop ||
	    a->nasync >= GATHER_MAX || yh_mono_ns() >= due)
		return false;
	at.tv_sec = (time_t)(due / 1000000000);
	at.tv_nsec = (long)(due % 1000000000);
	a->gathering = true;
	(void)pthread_cond_timedwait(&a->work_cv, &a->lock, &at);
	a->gathering = false;
	return true;
}

/* The writer thread: leads a batch whenever yh_audit_submit's lines wait, no other
 * leader runs and no commit window is open; at stop, once none is left. */
static void *
writer_main(void *arg)
{
	struct yh_audit *a = arg;

	pthread_mutex_lock(&a->lock);
	for (;;) {
		if (a->queue != NULL && !a->leading && a->nasync > 0) {
			if (!gather(a))
				lead(a);
			continue;
		}
		if (a->writer_stop && a->nasync == 0)
			break;
		pthread_cond_wait(&a->work_cv, &a->lock);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

int
yh_audit_write(struct yh_audit *a, const char *event, const char *actor, json_t *fields)
{
	struct audit_entry e = { .state = ENTRY_QUEUED };
	char *body = NULL;
	int r = YH_ERR_INVALID;

	/* Only the writer makes checkpoints: an event may not pass for one. */
	if (strcmp(event, YH_AUDIT_CHECKPOINT_EVENT) == 0)
		goto out;
	if ((r = build_body(event, actor, fields, &body, &e.len)) != 0)
		goto out;
	e.body = body;
	r = submit(a, &e);
out:
	if (r != 0)
		yh_error("audit write failed for event %s: %s", event, yh_strerror(r));
	free(body);
	return r;
}

int
yh_audit_submit(struct yh_audit *a, const char *event, const char *actor, json_t *fields,
    yh_audit_done_fn done, void *arg)
{
	struct audit_entry *e;
	char *body = NULL;
	size_t len = 0;
	int r = YH_ERR_INVALID;

	/* Only the writer makes checkpoints: an event may not pass for one. */
	if (done == NULL || strcmp(event, YH_AUDIT_CHECKPOINT_EVENT) == 0)
		goto fail;
	if ((r = build_body(event, actor, fields, &body, &len)) != 0)
		goto fail;
	r = YH_ERR_ALLOC;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		goto fail;
	e->body = body;
	e->len = len;
	e->state = ENTRY_QUEUED;
	e->done = done;
	e->done_arg = arg;
	e->t0 = yh_mono_ns();
	pthread_mutex_lock(&a->lock);
	if (a->writer_stop) {
		r = YH_ERR_UNAVAILABLE;
	} else if (!a->writer_on && pthread_create(&a->writer, NULL, writer_main, a) != 0) {
		r = YH_ERR_INTERNAL;
	} else {
		a->writer_on = true;
		*a->queue_end = e;
		a->queue_end = &e->next;
		a->nasync++;
		if (!a->leading && (!a->gathering || a->nasync >= GATHER_MAX))
			pthread_cond_signal(&a->work_cv);
		r = 0;
	}
	pthread_mutex_unlock(&a->lock);
	if (r != 0) {
		free(e);
		goto fail;
	}
	return 0;
fail:
	yh_error("audit write failed for event %s: %s", event, yh_strerror(r));
	free(body);
	return r;
}

int
yh_audit_room(struct yh_audit *a, char *why, size_t whysz)
{
	return yh_file_room(a->path, why, whysz);
}

int
yh_audit_checkpoint(struct yh_audit *a)
{
	struct audit_entry e = { .state = ENTRY_QUEUED };

	if (!a->cp_on)
		return YH_ERR_INVALID;
	return submit(a, &e);
}

/* The checkpoint timer: asks for a checkpoint every cp_every_ms until stopping; waits
 * without one while cp_every_ms is 0, and starts its wait over when woken (stopping, or
 * a new interval). */
static void *
cp_timer(void *arg)
{
	struct yh_audit *a = arg;
	struct timespec at;
	int r;

	pthread_mutex_lock(&a->lock);
	while (!a->stopping) {
		if (a->cp_every_ms <= 0) {
			pthread_cond_wait(&a->timer_cv, &a->lock);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &at);
		at.tv_sec += (time_t)(a->cp_every_ms / 1000);
		at.tv_nsec += (long)(a->cp_every_ms % 1000) * 1000000L;
		if (at.tv_nsec >= 1000000000L) {
			at.tv_sec++;
			at.tv_nsec -= 1000000000L;
		}
		if (pthread_cond_timedwait(&a->timer_cv, &a->lock, &at) != ETIMEDOUT ||
		    a->stopping)
			continue;
		pthread_mutex_unlock(&a->lock);
		if ((r = yh_audit_checkpoint(a)) != 0)
			yh_error("audit log: timed checkpoint failed: %s", yh_strerror(r));
		pthread_mutex_lock(&a->lock);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

/* Starts the checkpoint timer thread. Returns 0 or YH_ERR_INTERNAL. */
static int
timer_start(struct yh_audit *a)
{
	if (pthread_create(&a->timer, NULL, cp_timer, a) != 0)
		return YH_ERR_INTERNAL;
	a->timer_on = true;
	return 0;
}

int
yh_audit_checkpoints(struct yh_audit *a, const struct yh_audit_cp_opts *o, char *err,
    size_t errsz)
{
	char path[4096 + sizeof(YH_AUDIT_CHECKPOINT_SUFFIX)];

	if (a->cp_on || o->mac == NULL || o->kid == NULL ||
	    yh_strlcpy(a->kid, o->kid, sizeof(a->kid)) != 0 || o->every_ms < 0) {
		snprintf(err, errsz, "audit log: bad checkpoint options");
		return YH_ERR_INVALID;
	}
	if (audit_cp_path(a->path, path, sizeof(path)) != 0) {
		snprintf(err, errsz, "%s: path too long", a->path);
		return YH_ERR_IO;
	}
	if ((a->cp_fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		snprintf(err, errsz, "%s: cannot open: %s", path, strerror(errno));
		return YH_ERR_IO;
	}
	atomic_store(&a->cp_every, o->every_lines);
	a->cp_every_ms = o->every_ms;
	a->mac = o->mac;
	a->mac_ctx = o->mac_ctx;
	a->cp_on = true;
	if (o->every_ms > 0 && timer_start(a) != 0) {
		snprintf(err, errsz, "audit log: cannot start the checkpoint timer");
		return YH_ERR_INTERNAL;
	}
	return 0;
}

int
yh_audit_set_checkpoints(struct yh_audit *a, uint64_t every_lines, int64_t every_ms)
{
	int r = 0;

	if (!a->cp_on || every_ms < 0)
		return YH_ERR_INVALID;
	atomic_store(&a->cp_every, every_lines);
	pthread_mutex_lock(&a->lock);
	a->cp_every_ms = every_ms;
	if (a->timer_on)
		pthread_cond_signal(&a->timer_cv);
	else if (every_ms > 0)
		r = timer_start(a);
	pthread_mutex_unlock(&a->lock);
	return r;
}

int
yh_audit_set_commit_window(struct yh_audit *a, int64_t window_us)
{
	if (window_us < 0 || window_us > YH_AUDIT_WINDOW_MAX_US)
		return YH_ERR_INVALID;
	pthread_mutex_lock(&a->lock);
	a->window_ns = window_us * 1000;
	pthread_cond_signal(&a->work_cv);   /* a shorter window may have closed already */
	pthread_mutex_unlock(&a->lock);
	return 0;
}

void
yh_audit_settle(struct yh_audit *a)
{
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	a->writer_stop = true;
	pthread_cond_signal(&a->work_cv);
	pthread_mutex_unlock(&a->lock);
	/* Only the thread that closes the handle calls this: writer_on needs no lock. */
	if (a->writer_on) {
		pthread_join(a->writer, NULL);
		a->writer_on = false;
	}
}

void
yh_audit_close(struct yh_audit *a)
{
	int r;

	if (a == NULL)
		return;
	/* Lines still queued by yh_audit_submit are written and settled first. */
	yh_audit_settle(a);
	if (a->timer_on) {
		pthread_mutex_lock(&a->lock);
		a->stopping = true;
		pthread_cond_signal(&a->timer_cv);
		pthread_mutex_unlock(&a->lock);
		pthread_join(a->timer, NULL);
	}
	/* A clean stop leaves none of our lines uncovered. */
	if (a->cp_on && a->dirty && (r = yh_audit_checkpoint(a)) != 0)
		yh_error("audit log: closing checkpoint failed: %s", yh_strerror(r));
	if (a->cp_fd >= 0)
		close(a->cp_fd);
	close(a->fd);
	pthread_cond_destroy(&a->timer_cv);
	pthread_cond_destroy(&a->settled_cv);
	pthread_cond_destroy(&a->work_cv);
	pthread_mutex_destroy(&a->lock);
	free(a->path);
	free(a);
}
