/*
 * yh_audit_verify: reads an audit file line by line with one line of look-ahead (the
 * next line tells an edited line from an edited prev, a removed run of lines from a
 * moved line, a forged checkpoint from a checkpoint edited in place), checks each
 * checkpoint's tag with the keys given, then what lies beyond the file: the copy of the
 * latest checkpoint in PATH.checkpoint and the head the operator recorded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <openssl/crypto.h>

#include "authcore/audit/audit_int.h"
#include "common/secmem.h"

/* One line as the verifier sees it. */
struct vline {
	bool present;
	uint64_t no;              /* line number in the file, 1-based */
	const char *bad;          /* why it is not a chain line; NULL when it is */
	uint64_t seq;
	char prev[65], hash[65];
	bool cp;                  /* a checkpoint: ts, kid and mac are set */
	bool has_ts;              /* ts is set */
	char ts[40], kid[YH_AUDIT_KID_LEN + 1], mac[2 * YH_AUDIT_TAG_LEN + 1];
};

struct vreader {
	FILE *f;
	off_t end;                /* the file's size when verification began */
	off_t off;
	char *buf;
	size_t cap;
	uint64_t no;
};

struct vstate {
	const struct yh_audit_verify_opts *o;
	struct yh_audit_report *rep;
	char prev[65];            /* hash of the last line checked */
	uint64_t seq;             /* its sequence number */
	uint64_t last_cp;         /* line of the last checkpoint */
	uint64_t good_cp;         /* line of the last checkpoint whose tag verified */
	/* The recorded head: LINE:HASH (has_line) or HASH. */
	bool has_head, has_line, head_found;
	uint64_t head_line;
	char head_hash[65], head_at[65];
	/* PATH.checkpoint. */
	char side_path[4096 + sizeof(YH_AUDIT_CHECKPOINT_SUFFIX)];
	bool side_exists, side_usable;
	struct vline side;
	char side_at[65];         /* hash of the file's line side.seq */
	char side_at_prev[65];    /* and its prev */
	/* A range: the window of lines checked (all when there is no range). */
	bool range;
	uint64_t begin, end;      /* first and last line checked */
	uint64_t total;           /* lines in the file */
};

static const char *const damage_names[] = {
	[YH_AUDIT_INTACT] = "intact",
	[YH_AUDIT_MALFORMED] = "malformed",
	[YH_AUDIT_EDITED] = "edited",
	[YH_AUDIT_GAP] = "gap",
	[YH_AUDIT_ORDER] = "order",
	[YH_AUDIT_REWRITTEN] = "rewritten",
	[YH_AUDIT_UNKNOWN_KEY] = "unknown_key",
	[YH_AUDIT_TRUNCATED] = "truncated",
	[YH_AUDIT_LAST_EDITED] = "last_line_edited",
	[YH_AUDIT_HEAD_NOT_FOUND] = "head_not_found",
};

const char *
yh_audit_damage_name(enum yh_audit_damage d)
{
	if ((unsigned)d >= sizeof(damage_names) / sizeof(damage_names[0]))
		return "unknown";
	return damage_names[d];
}

/* Records the damage found at line and why; returns YH_ERR_AUTH. */
static int __attribute__((format(printf, 4, 5)))
damage(struct yh_audit_report *rep, enum yh_audit_damage d, uint64_t line, const char *fmt,
    ...)
{
	va_list ap;

	rep->damage = d;
	rep->bad_line = line;
	va_start(ap, fmt);
	vsnprintf(rep->reason, sizeof(rep->reason), fmt, ap);
	va_end(ap);
	return YH_ERR_AUTH;
}

static void __attribute__((format(printf, 2, 3)))
warn(struct yh_audit_report *rep, const char *fmt, ...)
{
	va_list ap;

	if (rep->nwarnings >= YH_AUDIT_WARN_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(rep->warnings[rep->nwarnings++], sizeof(rep->warnings[0]), fmt, ap);
	va_end(ap);
}

static bool
is_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Copies the string member name of obj into out when it is a string of at most max
 * bytes (with hex: exactly max lowercase hex digits). */
static bool
get_str(json_t *obj, const char *name, char *out, size_t max, bool hex)
{
	json_t *v = json_object_get(obj, name);
	const char *s;

	if (!json_is_string(v) || json_string_length(v) > max)
		return false;
	s = json_string_value(v);
	if (hex && !is_hex(s, max))
		return false;
	memcpy(out, s, json_string_length(v) + 1);
	return true;
}

/* Fills l from one line's text (without its newline). */
static void
parse_vline(const char *text, size_t len, struct vline *l)
{
	json_t *obj, *js;
	char event[64];

	if (audit_sha256_hex(text, len, l->hash) != 0) {
		l->bad = "its hash cannot be computed";
		return;
	}
	if ((obj = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    !json_is_object(obj)) {
		l->bad = "it is not a JSON object";
		json_decref(obj);
		return;
	}
	js = json_object_get(obj, "seq");
	if (!json_is_integer(js) || json_integer_value(js) <= 0 ||
	    !get_str(obj, "prev", l->prev, 64, true))
		l->bad = "it has no valid seq or prev";
	else {
		l->seq = (uint64_t)json_integer_value(js);
		l->has_ts = get_str(obj, "ts", l->ts, sizeof(l->ts) - 1, false);
		l->cp = get_str(obj, "event", event, sizeof(event) - 1, false) &&
		    strcmp(event, YH_AUDIT_CHECKPOINT_EVENT) == 0;
		if (l->cp && (!get_str(obj, "ts", l->ts, sizeof(l->ts) - 1, false) ||
		    !get_str(obj, "kid", l->kid, YH_AUDIT_KID_LEN, true) ||
		    !get_str(obj, "mac", l->mac, 2 * YH_AUDIT_TAG_LEN, true)))
			l->bad = "it is a checkpoint without a valid ts, kid or mac";
	}
	json_decref(obj);
}

/* Reads the next line into l (l->present false at the end). Returns 0 or YH_ERR_IO. */
static int
read_vline(struct vreader *rd, struct vline *l)
{
	ssize_t n;

	memset(l, 0, sizeof(*l));
	if (rd->off >= rd->end)
		return 0;
	errno = 0;
	if ((n = getline(&rd->buf, &rd->cap, rd->f)) <= 0)
		return ferror(rd->f) ? YH_ERR_IO : 0;
	/* What was appended after verification began is not read. */
	if (n > rd->end - rd->off)
		n = (ssize_t)(rd->end - rd->off);
	rd->off += n;
	l->present = true;
	l->no = ++rd->no;
	if (rd->buf[n - 1] != '\n') {
		l->bad = "it is incomplete: the file ends inside it (cut short while being "
		    "written, or truncated)";
		return 0;
	}
	rd->buf[--n] = '\0';
	if ((size_t)n > AUDIT_LINE_MAX) {
		l->bad = "it is longer than any line the writer makes";
		return 0;
	}
	parse_vline(rd->buf, (size_t)n, l);
	return 0;
}

/* The key with kid among the keys given, or NULL. */
static const struct yh_audit_key *
find_key(const struct yh_audit_verify_opts *o, const char *kid)
{
	for (size_t i = 0; i < o->nkeys; i++)
		if (strcmp(o->keys[i].kid, kid) == 0)
			return &o->keys[i];
	return NULL;
}

/* Whether any key was given. */
static bool
any_key(const struct yh_audit_verify_opts *o)
{
	return o->nkeys > 0 || (o->mac != NULL && o->mac_kid != NULL);
}

/* Whether a key for kid was given, in keys or as the held key. */
static bool
have_key(const struct yh_audit_verify_opts *o, const char *kid)
{
	return find_key(o, kid) != NULL || (o->mac != NULL && o->mac_kid != NULL &&
	    strcmp(o->mac_kid, kid) == 0);
}

/* Whether checkpoint l's tag verifies with the key of its kid (have_key). */
static bool
tag_ok(const struct yh_audit_verify_opts *o, const struct vline *l)
{
	unsigned char want[YH_AUDIT_TAG_LEN], got[YH_AUDIT_TAG_LEN];
	const struct yh_audit_key *k = find_key(o, l->kid);
	struct yh_buf m;
	bool ok = false;

	yh_buf_init(&m, 1024);
	if (audit_cp_message(&m, l->seq, l->ts, l->prev) == 0 &&
	    (k != NULL ? yh_audit_key_mac((void *)k, m.data, m.len, want) :
	    o->mac != NULL ? o->mac(o->mac_ctx, m.data, m.len, want) : -1) == 0 &&
	    yh_hex_decode(l->mac, 2 * YH_AUDIT_TAG_LEN, got, sizeof(got)) == 0)
		ok = CRYPTO_memcmp(want, got, sizeof(want)) == 0;
	yh_buf_free(&m);
	return ok;
}

/* The sequence number: the next one, or a jump (lines removed) or a line out of place. */
static int
check_seq(struct vstate *st, const struct vline *cur, const struct vline *next)
{
	uint64_t want = st->seq + 1;

	if (cur->seq == want)
		return 0;
	if (cur->seq > want && (!next->present || next->bad != NULL ||
	    next->seq == cur->seq + 1)) {
		if (cur->seq == want + 1)
			return damage(st->rep, YH_AUDIT_GAP, cur->no, "line %" PRIu64 " was "
			    "removed: the sequence jumps from %" PRIu64 " to %" PRIu64 " at line "
			    "%" PRIu64, want, st->seq, cur->seq, cur->no);
		return damage(st->rep, YH_AUDIT_GAP, cur->no, "lines %" PRIu64 " to %" PRIu64
		    " were removed: the sequence jumps from %" PRIu64 " to %" PRIu64 " at line "
		    "%" PRIu64, want, cur->seq - 1, st->seq, cur->seq, cur->no);
	}
	return damage(st->rep, YH_AUDIT_ORDER, cur->no, "line %" PRIu64 " is out of place: "
	    "its sequence number is %" PRIu64 " where %" PRIu64 " was expected (a line was "
	    "moved, inserted or duplicated)", cur->no, cur->seq, want);
}

/* The prev: the hash of the line before. When it is not, the next line tells whether
 * the line before was edited or this one. */
static int
check_prev(struct vstate *st, const struct vline *cur, const struct vline *next)
{
	uint64_t n = cur->no;

	if (strcmp(cur->prev, st->prev) == 0)
		return 0;
	if (n == 1)
		return damage(st->rep, YH_AUDIT_EDITED, 1, "line 1 was edited: its prev is not "
		    "the start of a chain");
	if (next->present && next->bad == NULL && strcmp(next->prev, cur->hash) == 0)
		return damage(st->rep, YH_AUDIT_EDITED, n - 1, "line %" PRIu64 " was edited: "
		    "its hash no longer matches the prev recorded in line %" PRIu64, n - 1, n);
	if (!next->present)
		return damage(st->rep, YH_AUDIT_EDITED, n, "line %" PRIu64 " or line %" PRIu64
		    " (the last) was edited: the prev recorded in line %" PRIu64 " does not "
		    "match line %" PRIu64 "'s hash", n - 1, n, n, n - 1);
	return damage(st->rep, YH_AUDIT_EDITED, n, "line %" PRIu64 " was edited: its prev no "
	    "longer matches line %" PRIu64 "'s hash, and its hash no longer matches line "
	    "%" PRIu64 "'s prev", n, n - 1, n + 1);
}

/* Whether the copy in PATH.checkpoint shows that only checkpoint cur itself changed. */
static bool
side_shows_edit(const struct vstate *st, const struct vline *cur)
{
	return st->side_usable && st->side.seq == cur->seq &&
	    strcmp(st->side.prev, cur->prev) == 0 && have_key(st->o, st->side.kid) &&
	    tag_ok(st->o, &st->side);
}

/* A checkpoint's tag. One that does not verify means the lines since the last one that
 * does were rewritten (or the checkpoint itself was edited, which its neighbours show). */
static int
check_cp(struct vstate *st, const struct vline *cur, const struct vline *next)
{
	uint64_t n = cur->no, a = st->good_cp;

	if (!cur->cp)
		return 0;
	st->rep->checkpoints++;
	st->last_cp = n;
	if (!any_key(st->o))
		return 0;
	if (!have_key(st->o, cur->kid))
		return damage(st->rep, YH_AUDIT_UNKNOWN_KEY, n, "the checkpoint at line %" PRIu64
		    " was made with key %s, which is not among the keys given (give that key; a "
		    "forged checkpoint looks the same)", n, cur->kid);
	if (tag_ok(st->o, cur)) {
		st->rep->checked++;
		st->good_cp = n;
		return 0;
	}
	if (next->present && next->bad == NULL && strcmp(next->prev, cur->hash) != 0)
		return damage(st->rep, YH_AUDIT_EDITED, n, "line %" PRIu64 " (a checkpoint) was "
		    "edited: its tag does not verify, and line %" PRIu64 "'s prev no longer "
		    "matches it", n, n + 1);
	if (side_shows_edit(st, cur))
		return damage(st->rep, YH_AUDIT_EDITED, n, "line %" PRIu64 " (a checkpoint) was "
		    "edited: its tag does not verify, and it differs from its intact copy in %s",
		    n, st->side_path);
	if (a == 0)
		return damage(st->rep, YH_AUDIT_REWRITTEN, n, "the chain was rewritten before "
		    "line %" PRIu64 ": the checkpoint at line %" PRIu64 " does not verify (a line "
		    "before it was edited and the chain computed again after it, or the "
		    "checkpoint was forged)", n, n);
	return damage(st->rep, YH_AUDIT_REWRITTEN, n, "the chain was rewritten between line "
	    "%" PRIu64 " and line %" PRIu64 ": the checkpoint at line %" PRIu64 " verifies, the "
	    "one at line %" PRIu64 " does not (a line between them was edited and the chain "
	    "computed again after it, or the checkpoint was forged)", a, n, a, n);
}

/* Checks line cur, knowing the line after it (next, perhaps absent). */
static int
check_line(struct vstate *st, const struct vline *cur, const struct vline *next)
{
	int r;

	if (cur->bad != NULL)
		return damage(st->rep, YH_AUDIT_MALFORMED, cur->no, "line %" PRIu64 " is not an audit "
		    "line: %s", cur->no, cur->bad);
	if ((r = check_seq(st, cur, next)) != 0 || (r = check_prev(st, cur, next)) != 0 ||
	    (r = check_cp(st, cur, next)) != 0)
		return r;
	if (st->has_line && cur->seq == st->head_line)
		memcpy(st->head_at, cur->hash, 65);
	if (st->has_head && !st->has_line && strcmp(cur->hash, st->head_hash) == 0)
		st->head_found = true;
	if (st->side_usable && cur->seq == st->side.seq) {
		memcpy(st->side_at, cur->hash, 65);
		memcpy(st->side_at_prev, cur->prev, 65);
	}
	memcpy(st->prev, cur->hash, 65);
	st->seq = cur->seq;
	memcpy(st->rep->head, cur->hash, 65);
	return 0;
}

/* Parses the recorded head: "LINE:HASH" or "HASH" (64 lowercase hex digits). */
static int
parse_head(struct vstate *st, const char *head)
{
	const char *colon = strchr(head, ':');
	char num[24];

	if (colon != NULL) {
		if ((size_t)(colon - head) >= sizeof(num))
			return YH_ERR_INVALID;
		memcpy(num, head, (size_t)(colon - head));
		num[colon - head] = '\0';
		if (yh_parse_u64(num, 0, UINT64_MAX, &st->head_line) != 0)
			return YH_ERR_INVALID;
		st->has_line = true;
		head = colon + 1;
	}
	if (!is_hex(head, 64))
		return YH_ERR_INVALID;
	memcpy(st->head_hash, head, 65);
	memcpy(st->head_at, AUDIT_GENESIS, 65);   /* line 0's "hash" */
	st->has_head = true;
	return 0;
}

/* Reads PATH.checkpoint (before the file: it never names a line the file does not have
 * yet). A missing or unreadable copy only costs the check of the tail. */
static void
read_side(struct vstate *st, const char *path)
{
	char buf[AUDIT_LINE_MAX + 2], *nl;
	size_t n;
	FILE *f;

	if (audit_cp_path(path, st->side_path, sizeof(st->side_path)) != 0 ||
	    (f = fopen(st->side_path, "r")) == NULL)
		return;
	st->side_exists = true;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	if ((nl = memchr(buf, '\n', n)) == NULL)
		return;
	*nl = '\0';
	parse_vline(buf, (size_t)(nl - buf), &st->side);
	st->side_usable = st->side.bad == NULL && st->side.cp;
}

/* The tail against the copy of the latest checkpoint. */
static int
check_side(struct vstate *st)
{
	struct yh_audit_report *rep = st->rep;
	const struct vline *s = &st->side;

	if (!st->side_usable || st->end != st->total)
		return 0;
	if (any_key(st->o)) {
		if (!have_key(st->o, s->kid))
			return damage(rep, YH_AUDIT_UNKNOWN_KEY, s->seq, "the checkpoint in %s was "
			    "made with key %s, which is not among the keys given", st->side_path,
			    s->kid);
		if (!tag_ok(st->o, s))
			return damage(rep, YH_AUDIT_REWRITTEN, s->seq, "the checkpoint in %s does not "
			    "verify: it was forged or edited", st->side_path);
	}
	if (s->seq > st->seq)
		return damage(rep, YH_AUDIT_TRUNCATED, st->seq + 1, "lines removed from the end: "
		    "the last checkpoint (copied to %s) is line %" PRIu64 ", but the file ends at line "
		    "%" PRIu64, st->side_path, s->seq, st->seq);
	if (strcmp(st->side_at, s->hash) != 0 && strcmp(st->side_at_prev, s->prev) == 0)
		return damage(rep, YH_AUDIT_EDITED, s->seq, "line %" PRIu64 " (a checkpoint) was "
		    "edited: it differs from its copy in %s", s->seq, st->side_path);
	if (strcmp(st->side_at, s->hash) != 0)
		return damage(rep, YH_AUDIT_REWRITTEN, s->seq, "line %" PRIu64 " is not the checkpoint "
		    "copied to %s: the chain was rewritten at or before line %" PRIu64 " (or that copy "
		    "belongs to another log)", s->seq, st->side_path, s->seq);
	return 0;
}

/* The tail against the head the operator recorded. */
static int
check_head(struct vstate *st)
{
	struct yh_audit_report *rep = st->rep;

	if (!st->has_head)
		return 0;
	if (!st->has_line) {
		if (st->head_found || (st->seq == 0 && strcmp(st->head_hash, AUDIT_GENESIS) == 0))
			return 0;
		return damage(rep, YH_AUDIT_HEAD_NOT_FOUND, st->seq, "the recorded head is not in "
		    "the file: the line it names was edited, or lines were removed from the end "
		    "(a head recorded as LINE:HASH tells which)");
	}
	if (st->head_line > st->seq)
		return damage(rep, YH_AUDIT_TRUNCATED, st->seq + 1, "lines removed from the end: "
		    "the recorded head is line %" PRIu64 ", but the file ends at line %" PRIu64,
		    st->head_line, st->seq);
	if (strcmp(st->head_at, st->head_hash) == 0)
		return 0;
	if (st->head_line == st->seq)
		return damage(rep, YH_AUDIT_LAST_EDITED, st->seq, "the last line (line %" PRIu64 ") was "
		    "edited: it differs from the recorded head", st->seq);
	return damage(rep, YH_AUDIT_REWRITTEN, st->head_line, "line %" PRIu64 " differs from the "
	    "recorded head: it was edited and the chain computed again after it",
	    st->head_line);
}

/* What verified, but does not prove everything. */
static void
add_warnings(const struct vstate *st)
{
	struct yh_audit_report *rep = st->rep;
	uint64_t after;

	if (rep->lines == 0)
		return;
	if (st->range && rep->range_first == 0) {
		warn(rep, "no line of the file is in the range");
		return;
	}
	if (st->range) {
		if (rep->range_last > st->good_cp)
			warn(rep, "lines %" PRIu64 " to %" PRIu64 " of the range are not followed by "
			    "a verified checkpoint: nothing vouches for them yet", st->good_cp >=
			    rep->range_first ? st->good_cp + 1 : rep->range_first, rep->range_last);
		if (!any_key(st->o))
			warn(rep, "no checkpoint key was given: the range's checkpoints were not "
			    "checked");
		return;
	}
	if (rep->checkpoints == 0) {
		warn(rep, "no checkpoints: only the hash chain was checked, which anyone who can "
		    "write the file can compute again (a log from before checkpoints, or one "
		    "rewritten without them)");
		return;
	}
	if (!any_key(st->o))
		warn(rep, "%" PRIu64 " checkpoint%s not checked: no checkpoint key was given",
		    rep->checkpoints, rep->checkpoints == 1 ? "" : "s");
	if ((after = rep->lines - st->last_cp) > 0)
		warn(rep, "%" PRIu64 " line%s after the last checkpoint (line %" PRIu64 ") %s "
		    "not covered by a checkpoint yet", after, after == 1 ? "" : "s", st->last_cp,
		    after == 1 ? "is" : "are");
	if (!st->side_exists)
		warn(rep, "no %s: lines removed from the end can only be seen against a recorded "
		    "head", st->side_path);
	else if (!st->side_usable)
		warn(rep, "%s is not a checkpoint line: ignored (lines removed from the end can "
		    "only be seen against a recorded head)", st->side_path);
}

bool
yh_audit_range_ok(const char *s)
{
	static const char form[] = "0000-00-00T00:00:00.000Z";
	size_t n = strlen(s);

	if (n < 10 || n > sizeof(form) - 1 || (n != 10 && n != 13 && n != 16 && n != 19 &&
	    n != 23 && n != 24))
		return false;
	for (size_t i = 0; i < n; i++)
		if (form[i] == '0' ? s[i] < '0' || s[i] > '9' : s[i] != form[i])
			return false;
	return true;
}

/* Where line l stands against the range: -1 before it, 0 in it, 1 after it; a line
 * without a time is in it (it is checked). */
static int
range_cmp(const struct yh_audit_verify_opts *o, const struct vline *l)
{
	if (l->bad != NULL || !l->has_ts)
		return 0;
	if (o->from != NULL && strncmp(l->ts, o->from, strlen(o->from)) < 0)
		return -1;
	if (o->to != NULL && strncmp(l->ts, o->to, strlen(o->to)) > 0)
		return 1;
	return 0;
}

/*
 * The window a range is checked over (a first pass over the same snapshot): from the
 * last checkpoint before the range's first line to the first checkpoint at or after its
 * last line. Sets st->begin, st->end, st->total and the report's range and window.
 */
static int
find_window(struct vstate *st, const char *path, off_t end)
{
	struct vreader rd = { .end = end };
	uint64_t anchor = 0, closer = 0;
	struct yh_audit_report *rep = st->rep;
	struct vline l;
	int r = 0, c;

	if ((rd.f = fopen(path, "r")) == NULL) {
		snprintf(rep->reason, sizeof(rep->reason), "cannot read: %s", strerror(errno));
		return YH_ERR_IO;
	}
	while ((r = read_vline(&rd, &l)) == 0 && l.present) {
		c = range_cmp(st->o, &l);
		if (c < 0 && rep->range_first == 0 && l.cp && l.bad == NULL)
			anchor = l.no;
		if (c == 0) {
			if (rep->range_first == 0)
				rep->range_first = l.no;
			rep->range_last = l.no;
			closer = 0;
		}
		if (rep->range_first != 0 && closer == 0 && l.cp && l.bad == NULL)
			closer = l.no;
		st->total = l.no;
	}
	if (r != 0)
		snprintf(rep->reason, sizeof(rep->reason), "read error: %s", strerror(errno));
	fclose(rd.f);
	free(rd.buf);
	st->begin = anchor > 0 ? anchor : 1;
	st->end = rep->range_first == 0 ? 0 : closer > 0 ? closer : st->total;
	rep->window_first = rep->range_first == 0 ? 0 : st->begin;
	rep->window_last = st->end;
	return r;
}

/* Opens path and notes its size and the checkpoint copy under a shared lock, so that
 * both show one moment between two writers' batches. */
static int
snapshot(struct vstate *st, const char *path, struct vreader *rd)
{
	struct stat sb;
	bool locked;

	if ((rd->f = fopen(path, "r")) == NULL) {
		snprintf(st->rep->reason, sizeof(st->rep->reason), "cannot read: %s",
		    strerror(errno));
		return YH_ERR_IO;
	}
	locked = flock(fileno(rd->f), LOCK_SH) == 0;
	if (fstat(fileno(rd->f), &sb) != 0) {
		snprintf(st->rep->reason, sizeof(st->rep->reason), "cannot read: %s",
		    strerror(errno));
		if (locked)
			flock(fileno(rd->f), LOCK_UN);
		return YH_ERR_IO;
	}
	rd->end = sb.st_size;
	read_side(st, path);
	if (locked)
		flock(fileno(rd->f), LOCK_UN);
	return 0;
}

int
yh_audit_verify(const char *path, const struct yh_audit_verify_opts *o,
    struct yh_audit_report *rep)
{
	static const struct yh_audit_verify_opts none;
	struct vreader rd = { 0 };
	struct vline cur, next;
	struct vstate *st;
	int r;

	memset(rep, 0, sizeof(*rep));
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(rep->reason, sizeof(rep->reason), "out of memory");
		return YH_ERR_ALLOC;
	}
	st->o = o != NULL ? o : &none;
	st->rep = rep;
	memcpy(st->prev, AUDIT_GENESIS, 65);
	st->range = st->o->from != NULL || st->o->to != NULL;
	st->end = UINT64_MAX;
	if (st->o->head != NULL && (r = parse_head(st, st->o->head)) != 0) {
		snprintf(rep->reason, sizeof(rep->reason), "the head must be LINE:HASH or HASH "
		    "(64 lowercase hex digits)");
		goto out;
	}
	if (st->range && (st->o->head != NULL ||
	    (st->o->from != NULL && !yh_audit_range_ok(st->o->from)) ||
	    (st->o->to != NULL && !yh_audit_range_ok(st->o->to)))) {
		r = YH_ERR_INVALID;
		snprintf(rep->reason, sizeof(rep->reason), "a range is YYYY-MM-DD[THH[:MM[:SS"
		    "[.mmm]]]][Z] at each end, and not with a recorded head");
		goto out;
	}
	if ((r = snapshot(st, path, &rd)) != 0 ||
	    (st->range && (r = find_window(st, path, rd.end)) != 0))
		goto out;
	if ((r = read_vline(&rd, &next)) != 0)
		goto ioerr;
	while (next.present) {
		cur = next;
		if ((r = read_vline(&rd, &next)) != 0)
			goto ioerr;
		rep->lines++;
		if (st->range && (cur.no < st->begin || cur.no > st->end))
			continue;
		if (st->range && cur.no == st->begin && cur.no > 1 && cur.bad == NULL) {
			/* the anchor checkpoint: its own tag vouches for the lines before */
			memcpy(st->prev, cur.prev, 65);
			st->seq = cur.seq - 1;
		}
		if ((r = check_line(st, &cur, &next)) != 0)
			goto out;
	}
	if (st->range)
		st->total = rep->lines;
	else
		st->end = st->total = rep->lines;
	if ((r = check_side(st)) != 0 || (r = check_head(st)) != 0)
		goto out;
	if (st->good_cp > 0)
		rep->covered = st->good_cp;
	add_warnings(st);
	goto out;
ioerr:
	snprintf(rep->reason, sizeof(rep->reason), "read error: %s", strerror(errno));
out:
	if (rd.f != NULL)
		fclose(rd.f);
	free(rd.buf);
	free(st);
	return r;
}
