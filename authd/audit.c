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
#include "common/buf.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/timeutil.h"

#define GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

/*
 * Group commit: a writer appends its line under the lock, then waits until a
 * fdatasync that started after its write has finished. One writer at a time (the
 * leader) runs the fdatasync with the lock released, so every line written meanwhile
 * shares the next one: durability per line, one disk flush per batch.
 */
struct yh_audit {
	int fd;
	pthread_mutex_t lock;
	pthread_cond_t synced_cv;
	/* The chain's tail as of our last write; reread when the file changed size. */
	char prev[65];
	uint64_t seq;
	off_t size;
	bool tail_known;
	uint64_t written;        /* lines this handle has written */
	uint64_t synced;         /* of those, lines known to be on disk */
	uint64_t failed_upto;    /* lines covered by a failed flush */
	bool syncing;            /* a leader is in fdatasync */
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
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		close(fd);
		snprintf(err, errsz, "out of memory");
		return YH_ERR_ALLOC;
	}
	a->fd = fd;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->synced_cv, NULL);
	*out = a;
	return 0;
}

void
yh_audit_close(struct yh_audit *a)
{
	if (a == NULL)
		return;
	close(a->fd);
	pthread_cond_destroy(&a->synced_cv);
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
			yh_redact_default(s, strlen(s));
			copy = json_string(s);
			free(s);
		} else
			copy = json_deep_copy(v);
		if (copy == NULL || json_object_set_new(line, key, copy) != 0)
			return YH_ERR_ALLOC;
	}
	return 0;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return YH_ERR_IO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Waits (lock held) until line number mine is on disk; leads a flush when none runs. */
static int
wait_synced(struct yh_audit *a, uint64_t mine)
{
	while (a->synced < mine && a->failed_upto < mine) {
		uint64_t target;
		int rc;

		if (a->syncing) {
			pthread_cond_wait(&a->synced_cv, &a->lock);
			continue;
		}
		a->syncing = true;
		target = a->written;
		pthread_mutex_unlock(&a->lock);
		rc = fdatasync(a->fd);
		pthread_mutex_lock(&a->lock);
		a->syncing = false;
		if (rc == 0 && target > a->synced)
			a->synced = target;
		else if (rc != 0 && target > a->failed_upto)
			a->failed_upto = target;
		pthread_cond_broadcast(&a->synced_cv);
	}
	return a->synced >= mine ? 0 : YH_ERR_IO;
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

/* Builds the line for the next sequence number; *text is a new string. */
static int
build_line(struct yh_audit *a, const char *event, const char *actor, json_t *fields,
    char **text)
{
	json_t *line;
	char ts[40];
	int r = YH_ERR_ALLOC;

	*text = NULL;
	yh_time_iso8601(yh_now_ms(), ts, sizeof(ts));
	line = json_pack("{s:I,s:s,s:s,s:s}", "seq", (json_int_t)(a->seq + 1), "ts", ts,
	    "event", event, "actor", actor != NULL ? actor : "system");
	if (line == NULL)
		return YH_ERR_ALLOC;
	if ((r = add_fields(line, fields)) != 0)
		goto out;
	r = YH_ERR_ALLOC;
	if (json_object_set_new(line, "prev", json_string(a->prev)) != 0)
		goto out;
	if ((*text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
		goto out;
	r = strlen(*text) > AUDIT_LINE_MAX ? YH_ERR_TOO_LONG : 0;
out:
	json_decref(line);
	return r;
}

int
yh_audit_write(struct yh_audit *a, const char *event, const char *actor, json_t *fields)
{
	char *text = NULL;
	uint64_t mine = 0;
	size_t n;
	int r, locked = 0;

	pthread_mutex_lock(&a->lock);
	if (flock(a->fd, LOCK_EX) != 0) {
		r = YH_ERR_IO;
		goto out;
	}
	locked = 1;
	if ((r = tail(a)) != 0 || (r = build_line(a, event, actor, fields, &text)) != 0)
		goto out;
	n = strlen(text);
	text[n] = '\n';
	r = write_all(a->fd, text, n + 1);
	text[n] = '\0';
	if (r != 0) {
		a->tail_known = false;
		goto out;
	}
	if ((r = sha256_hex(text, n, a->prev)) != 0) {
		a->tail_known = false;
		goto out;
	}
	a->seq++;
	a->size += (off_t)(n + 1);
	mine = ++a->written;
out:
	if (locked)
		flock(a->fd, LOCK_UN);
	if (r == 0)
		r = wait_synced(a, mine);
	pthread_mutex_unlock(&a->lock);
	if (r != 0)
		yh_error("audit write failed for event %s: %s", event, yh_strerror(r));
	free(text);
	return r;
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
