#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "authd/audit.h"
#include "common/atomicfile.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/timeutil.h"

#define GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

/*
 * Group commit. A writer formats its event outside the lock, queues it in memory and
 * waits. One writer at a time (the leader) takes everything queued, and with the lock
 * released chains it (seq, prev), writes it with one write() under the file's flock and
 * runs one fdatasync; then it settles every line of the batch and wakes their writers.
 * Lines queued meanwhile form the next batch. So each writer still returns only once
 * its own line is on disk, while one write and one flush serve a whole batch, and no
 * write() lands on a page the running flush is writing back (ext4 would make it wait
 * for that flush, holding up every writer behind it).
 */
enum { ENTRY_QUEUED, ENTRY_DONE };

struct audit_entry {
	struct audit_entry *next;
	const char *body;        /* "\"event\":...,<fields>": the line without seq, ts, prev */
	size_t len;
	int state;               /* ENTRY_QUEUED until the leader settles it */
	int rc;                  /* its result then */
};

struct yh_audit {
	int fd;
	char *path;              /* as opened, for the readiness check */
	pthread_mutex_t lock;
	pthread_cond_t settled_cv;
	struct audit_entry *queue, **queue_end;  /* queued lines, oldest first */
	bool leading;            /* a leader is writing and flushing a batch */
	/* The chain's tail as of our last write; reread when the file changed size. Only
	 * the leader touches these, so they need no lock. */
	char prev[65];
	uint64_t seq;
	off_t size;
	bool tail_known;
};

/* Hex SHA-256 of n bytes into out[65]. */
static int
sha256_hex(const char *p, size_t n, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	if (EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return YH_ERR_CRYPTO;
	yh_hex_encode(md, 32, out);
	return 0;
}

int
yh_audit_open(const char *path, struct yh_audit **out, char *err, size_t errsz)
{
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
	a->queue_end = &a->queue;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->settled_cv, NULL);
	*out = a;
	return 0;
}

void
yh_audit_close(struct yh_audit *a)
{
	if (a == NULL)
		return;
	close(a->fd);
	free(a->path);
	pthread_cond_destroy(&a->settled_cv);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

/*
 * Reads the last line of the file through a separate read-only descriptor (the write fd
 * is O_APPEND-only) and returns its hash and sequence number; GENESIS and 0 when empty.
 */
static int
read_tail(int wfd, char prev[65], uint64_t *seq)
{
	char path[64], buf[AUDIT_LINE_MAX + 2];
	off_t size, start;
	ssize_t n;
	char *line, *end;
	json_t *obj, *js;
	int fd, r = YH_ERR_IO;

	memcpy(prev, GENESIS, 65);
	*seq = 0;
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
	if ((r = sha256_hex(line, (size_t)(end - line), prev)) != 0)
		goto out;
	r = YH_ERR_AUTH;
	if ((obj = json_loadb(line, (size_t)(end - line), JSON_REJECT_DUPLICATES, NULL)) == NULL)
		goto out;
	js = json_object_get(obj, "seq");
	if (json_is_integer(js) && json_integer_value(js) > 0) {
		*seq = (uint64_t)json_integer_value(js);
		r = 0;
	}
	json_decref(obj);
out:
	close(fd);
	return r;
}

/* Copies fields into line, masking personal data in string values. */
static int
add_fields(json_t *line, json_t *fields)
{
	const char *key;
	json_t *v;

	if (fields == NULL)
		return 0;
	if (!json_is_object(fields))
		return YH_ERR_INVALID;
	json_object_foreach(fields, key, v) {
		json_t *copy;

		if (json_object_get(line, key) != NULL || strcmp(key, "prev") == 0)
			return YH_ERR_INVALID;
		if (json_is_string(v)) {
			char *s = strdup(json_string_value(v));

			if (s == NULL)
				return YH_ERR_ALLOC;
			copy = json_stringn(s, yh_redact_default(s, strlen(s)));
			free(s);
		} else
			copy = json_deep_copy(v);
		if (copy == NULL || json_object_set_new(line, key, copy) != 0)
			return YH_ERR_ALLOC;
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
	if ((r = read_tail(a->fd, a->prev, &a->seq)) != 0)
		return r;
	a->size = st.st_size;
	a->tail_known = true;
	return 0;
}

/*
 * The body of one line, {"event","actor",<fields>} dumped compact without its braces:
 * the leader wraps it as {"seq":N,"ts":"...",<body>,"prev":"..."}, byte for byte what
 * json_dumps of the whole object would give. *body is a new string.
 */
static int
build_body(const char *event, const char *actor, json_t *fields, char **body, size_t *len)
{
	json_t *obj;
	char *text = NULL;
	size_t n;
	int r = YH_ERR_ALLOC;

	*body = NULL;
	*len = 0;
	obj = json_pack("{s:s,s:s}", "event", event, "actor", actor != NULL ? actor : "system");
	if (obj == NULL)
		return YH_ERR_ALLOC;
	/* seq, ts and prev are the leader's: a field may not take their names. */
	if (fields != NULL && (json_object_get(fields, "seq") != NULL ||
	    json_object_get(fields, "ts") != NULL)) {
		r = YH_ERR_INVALID;
		goto out;
	}
	if ((r = add_fields(obj, fields)) != 0)
		goto out;
	r = YH_ERR_ALLOC;
	if ((text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
		goto out;
	n = strlen(text);
	/* {"seq":<20 digits>,"ts":"<39>",<body>,"prev":"<64>"} stays within the cap. */
	r = YH_ERR_TOO_LONG;
	if (n < 2 || n - 2 + 160 > AUDIT_LINE_MAX)
		goto out;
	memmove(text, text + 1, n - 2);
	text[n - 2] = '\0';
	*body = text;
	*len = n - 2;
	text = NULL;
	r = 0;
out:
	free(text);
	json_decref(obj);
	return r;
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
	struct stat st;

	a->tail_known = false;
	if (flock(a->fd, LOCK_EX) != 0) {
		yh_error("audit log: cannot lock it to remove lines whose flush failed: %s",
		    strerror(errno));
		return;
	}
	if (fstat(a->fd, &st) == 0 && st.st_size == end) {
		if (ftruncate(a->fd, begin) != 0)
			yh_error("audit log: cannot remove lines whose flush failed: %s",
			    strerror(errno));
	} else
		yh_error("audit log: lines whose flush failed stay at bytes %lld..%lld: "
		    "another process wrote after them", (long long)begin, (long long)end);
	flock(a->fd, LOCK_UN);
}

/*
 * The leader's work, without the lock: chains the batch onto the file's tail, writes it
 * under the flock in one write() and flushes it. Each line's ts is taken under the flock,
 * so ts follows seq whichever process wrote the line before. The chain state advances
 * only with a successful write. A failed one (a full disk, a file size limit) may have
 * written part of the batch: the file is cut back to where the batch began, so no line
 * of a batch whose writers were told "failed" stays, and no torn line blocks the next;
 * so is a batch whose flush failed (cut_unflushed).
 */
static int
write_batch(struct yh_audit *a, const struct audit_entry *batch)
{
	struct yh_buf b;
	char prev[65];
	uint64_t seq;
	off_t begin = 0, end = 0;
	int r;

	yh_buf_init(&b, (size_t)1 << 30);
	if (flock(a->fd, LOCK_EX) != 0)
		return YH_ERR_IO;
	if ((r = tail(a)) != 0)
		goto out;
	memcpy(prev, a->prev, sizeof(prev));
	seq = a->seq;
	for (const struct audit_entry *e = batch; e != NULL; e = e->next) {
		size_t start = b.len;
		char ts[40];

		yh_time_iso8601(yh_now_ms(), ts, sizeof(ts));
		if ((r = yh_buf_printf(&b, "{\"seq\":%llu,\"ts\":\"%s\",",
		    (unsigned long long)(seq + 1), ts)) != 0 ||
		    (r = yh_buf_append(&b, e->body, e->len)) != 0 ||
		    (r = yh_buf_printf(&b, ",\"prev\":\"%s\"}", prev)) != 0)
			goto out;
		if ((r = sha256_hex(b.data + start, b.len - start, prev)) != 0 ||
		    (r = yh_buf_putc(&b, '\n')) != 0)
			goto out;
		seq++;
	}
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
out:
	flock(a->fd, LOCK_UN);
	yh_buf_free(&b);
	if (r == 0 && fdatasync(a->fd) != 0) {
		r = yh_err_from_errno(errno);
		cut_unflushed(a, begin, end);
	}
	return r;
}

int
yh_audit_write(struct yh_audit *a, const char *event, const char *actor, json_t *fields)
{
	struct audit_entry e = { .state = ENTRY_QUEUED };
	char *body = NULL;
	int r;

	if ((r = build_body(event, actor, fields, &body, &e.len)) != 0)
		goto out;
	e.body = body;
	pthread_mutex_lock(&a->lock);
	*a->queue_end = &e;
	a->queue_end = &e.next;
	while (e.state == ENTRY_QUEUED) {
		struct audit_entry *batch, *next;
		int br;

		if (a->leading) {
			pthread_cond_wait(&a->settled_cv, &a->lock);
			continue;
		}
		a->leading = true;
		batch = a->queue;
		a->queue = NULL;
		a->queue_end = &a->queue;
		pthread_mutex_unlock(&a->lock);
		br = write_batch(a, batch);
		pthread_mutex_lock(&a->lock);
		for (struct audit_entry *x = batch; x != NULL; x = next) {
			next = x->next;
			x->rc = br;
			x->state = ENTRY_DONE;
		}
		a->leading = false;
		pthread_cond_broadcast(&a->settled_cv);
	}
	r = e.rc;
	pthread_mutex_unlock(&a->lock);
out:
	if (r != 0)
		yh_error("audit write failed for event %s: %s", event, yh_strerror(r));
	free(body);
	return r;
}

int
yh_audit_room(struct yh_audit *a, char *why, size_t whysz)
{
	return yh_file_room(a->path, why, whysz);
}

static void
fail(struct yh_audit_report *rep, uint64_t line, const char *why)
{
	rep->bad_line = line;
	snprintf(rep->reason, sizeof(rep->reason), "%s", why);
}

/* Checks one line against the expected predecessor hash and sequence number. */
static int
check_line(const char *line, size_t len, const char *prev, uint64_t seq,
    struct yh_audit_report *rep)
{
	json_t *obj, *jp, *js;
	int r = YH_ERR_AUTH;

	if ((obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL)) == NULL) {
		fail(rep, seq, "not a JSON object");
		return r;
	}
	jp = json_object_get(obj, "prev");
	js = json_object_get(obj, "seq");
	if (!json_is_string(jp) || !json_is_integer(js))
		fail(rep, seq, "missing prev or seq");
	else if ((uint64_t)json_integer_value(js) != seq)
		fail(rep, seq, "sequence number out of order (a line was removed, inserted or moved)");
	else if (strcmp(json_string_value(jp), prev) != 0)
		fail(rep, seq, "hash chain broken (the previous line was edited or removed)");
	else
		r = 0;
	json_decref(obj);
	return r;
}

int
yh_audit_verify(const char *path, const char *expect_head, struct yh_audit_report *rep)
{
	char prev[65], *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int r = 0;

	memset(rep, 0, sizeof(*rep));
	memcpy(prev, GENESIS, 65);
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(rep->reason, sizeof(rep->reason), "cannot read: %s", strerror(errno));
		return YH_ERR_IO;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		rep->lines++;
		if (line[n - 1] != '\n') {
			fail(rep, rep->lines, "last line is incomplete");
			r = YH_ERR_AUTH;
			break;
		}
		line[--n] = '\0';
		if ((size_t)n > AUDIT_LINE_MAX) {
			fail(rep, rep->lines, "line too long");
			r = YH_ERR_AUTH;
			break;
		}
		if ((r = check_line(line, (size_t)n, prev, rep->lines, rep)) != 0)
			break;
		if ((r = sha256_hex(line, (size_t)n, prev)) != 0)
			break;
		memcpy(rep->head, prev, 65);
	}
	if (r == 0 && ferror(f)) {
		snprintf(rep->reason, sizeof(rep->reason), "read error");
		r = YH_ERR_IO;
	}
	if (r == 0 && expect_head != NULL && strcmp(expect_head, rep->lines ? prev : GENESIS) != 0) {
		fail(rep, rep->lines, "the last line is not the expected head (lines removed from the end)");
		r = YH_ERR_AUTH;
	}
	free(line);
	fclose(f);
	return r;
}
