#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fold.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/utf8.h"

#define LOG_MAX 8192   /* a record's message: at most LOG_MAX - 1 bytes */
#define LOG_SLACK 256  /* formatted past the cut, so that a number straddling it is
                        * redacted whole before the cut; a message cut short by the
                        * buffer loses as much again at its end, where a number whose
                        * rest was cut off (under 11 digits seen: at most 112 bytes with
                        * full-width digits and separators) may stand unredacted */

/* The level and the format change while other threads log (a reload). */
static atomic_int log_level = YH_LOG_INFO;
static int log_fd = 2;
static atomic_bool log_json;
static const char *log_prog = "yihao";
static yh_log_redactor log_redactor = yh_redact_default;

static const char *const level_names[] = { "debug", "info", "warn", "error", "off" };

void
yh_log_set_level(enum yh_log_level lvl)
{
	atomic_store_explicit(&log_level, (int)lvl, memory_order_relaxed);
}

int
yh_log_level_parse(const char *s, enum yh_log_level *out)
{
	for (int i = 0; i <= YH_LOG_OFF; i++)
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum yh_log_level)i;
			return 0;
		}
	return -1;
}

void
yh_log_set_fd(int fd)
{
	log_fd = fd;
}

void
yh_log_set_json(bool json)
{
	atomic_store_explicit(&log_json, json, memory_order_relaxed);
}

void
yh_log_set_prog(const char *prog)
{
	log_prog = prog;
}

void
yh_log_set_redactor(yh_log_redactor fn)
{
	log_redactor = fn != NULL ? fn : yh_redact_default;
}

size_t
yh_log_redact(char *msg, size_t len)
{
	return log_redactor(msg, len);
}

/*
 * The redactor's unit: a number as the login lookup reads one, wherever it stands in a
 * message. ASCII or full-width digits, joined by at most SPAN_GAP_MAX spaces or dashes
 * (common/fold.h: what the identifier folding drops), after an optional '+' and with an
 * 'X' closing 17 digits (a resident ID number's check character). Only the first
 * SPAN_HEAD and the last SPAN_TAIL characters are kept: the rest is masked anyway.
 */
#define SPAN_GAP_MAX 3
#define SPAN_HEAD 6
#define SPAN_TAIL 4

struct id_span {
	size_t start, end;         /* its bytes in the message: [start, end) */
	bool plus;                 /* led by '+' (kept: a country code is no secret) */
	size_t n;                  /* characters after folding: digits, and the 'X' */
	size_t digits;
	char head[SPAN_HEAD];      /* the first characters, folded */
	char tail[SPAN_TAIL];      /* the last ones, a ring: tail[(n - k) % SPAN_TAIL] */
};

/* The code point at msg[i] after yh_fold_width, and the bytes it takes (a malformed
 * byte is one byte of nothing foldable). */
static size_t
folded_at(const char *msg, size_t len, size_t i, uint32_t *cp)
{
	size_t step = yh_utf8_next(msg + i, len - i, cp);

	if (step == 0) {
		*cp = 0xfffd;
		return 1;
	}
	*cp = yh_fold_width(*cp);
	return step;
}

static bool
is_digit_cp(uint32_t cp)
{
	return cp >= '0' && cp <= '9';
}

static void
span_put(struct id_span *sp, char c)
{
	if (sp->n < SPAN_HEAD)
		sp->head[sp->n] = c;
	sp->tail[sp->n % SPAN_TAIL] = c;
	sp->n++;
}

/* Reads the number starting at msg[i], if one does (a digit, or '+' and a digit). */
static bool
span_at(const char *msg, size_t len, size_t i, struct id_span *sp)
{
	size_t p = i, step, gap = 0;
	uint32_t cp;

	memset(sp, 0, sizeof(*sp));
	sp->start = i;
	step = folded_at(msg, len, p, &cp);
	if (cp == '+') {
		if (p + step >= len)
			return false;
		(void)folded_at(msg, len, p + step, &cp);
		if (!is_digit_cp(cp))
			return false;
		sp->plus = true;
		p += step;
	} else if (!is_digit_cp(cp))
		return false;
	while (p < len) {
		step = folded_at(msg, len, p, &cp);
		if (is_digit_cp(cp)) {
			span_put(sp, (char)cp);
			sp->digits++;
			gap = 0;
			sp->end = p += step;
		} else if ((cp == 'X' || cp == 'x') && gap == 0 && sp->digits == 17) {
			span_put(sp, (char)cp);
			sp->end = p + step;
			break;
		} else if ((yh_fold_is_space(cp) || yh_fold_is_dash(cp)) && gap < SPAN_GAP_MAX) {
			gap++;
			p += step;
		} else
			break;
	}
	return true;
}

/* A byte that makes a number part of a word (a hex id, a token), not a number. */
static bool
word_byte(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    c == '_';
}

/*
 * Whether to mask a number: 11 digits or more standing on their own (an ID number, a
 * phone with or without country code and separators); inside a word only what the
 * shape gives away, 15 digits or more or a mobile-like 11 starting with 1.
 */
static bool
span_personal(const char *msg, size_t len, const struct id_span *sp)
{
	bool word = (sp->start > 0 && word_byte(msg[sp->start - 1])) ||
	    (sp->end < len && word_byte(msg[sp->end]));

	if (sp->digits >= 15 || (sp->digits == 11 && sp->head[0] == '1'))
		return true;
	return !word && sp->digits >= 11;
}

/* Writes the masked number at out: '+' if it had one, the folded characters with the
 * first 6 (ID numbers, 15 digits and more) or all but the last 8 (phones: the country
 * code and the 3-digit prefix) kept, and the last 4 kept. Returns the bytes written,
 * never more than the span took. */
static size_t
span_write_masked(const struct id_span *sp, char *out)
{
	size_t head = sp->digits >= 15 ? SPAN_HEAD : sp->digits - 8, o = 0;

	if (sp->plus)
		out[o++] = '+';
	for (size_t k = 0; k < sp->n; k++) {
		if (k < head)
			out[o++] = sp->head[k];
		else if (k + SPAN_TAIL >= sp->n)
			out[o++] = sp->tail[k % SPAN_TAIL];
		else
			out[o++] = '*';
	}
	return o;
}

size_t
yh_redact_default(char *msg, size_t len)
{
	struct id_span sp;
	size_t i = 0, o = 0;   /* read and write positions: the message only shrinks */

	while (i < len) {
		if (!span_at(msg, len, i, &sp)) {
			msg[o++] = msg[i++];
			continue;
		}
		if (span_personal(msg, len, &sp)) {
			o += span_write_masked(&sp, msg + o);
		} else {
			memmove(msg + o, msg + i, sp.end - i);
			o += sp.end - i;
		}
		i = sp.end;
	}
	msg[o] = '\0';
	return o;
}

/* True for bytes a JSON string may hold as they are (the rest are escaped). */
static bool
json_plain(unsigned char c)
{
	return c >= 0x20 && c != '"' && c != '\\' && c != 0x7f;
}

/* Appends the escape for one byte that json_plain refuses. */
static int
json_escape_byte(struct yh_buf *b, unsigned char c)
{
	switch (c) {
	case '"': return yh_buf_puts(b, "\\\"");
	case '\\': return yh_buf_puts(b, "\\\\");
	case '\n': return yh_buf_puts(b, "\\n");
	case '\r': return yh_buf_puts(b, "\\r");
	case '\t': return yh_buf_puts(b, "\\t");
	default: return yh_buf_printf(b, "\\u%04x", c);
	}
}

int
yh_json_escape(struct yh_buf *b, const char *s, size_t len)
{
	size_t i = 0, run;
	int r = 0;

	/* Runs that need no escaping (usually all of s) go in with one append. */
	while (i < len && r == 0) {
		for (run = i; i < len && json_plain((unsigned char)s[i]); i++)
			;
		if (i > run && (r = yh_buf_append(b, s + run, i - run)) != 0)
			break;
		if (i < len)
			r = json_escape_byte(b, (unsigned char)s[i++]);
	}
	return r;
}

int
yh_json_quote(struct yh_buf *b, const char *s, size_t len)
{
	int r;

	if ((r = yh_buf_putc(b, '"')) != 0 || (r = yh_json_escape(b, s, len)) != 0)
		return r;
	return yh_buf_putc(b, '"');
}

static void
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

void
yh_log_msg(enum yh_log_level lvl, const char *file, int line, const char *func,
    const char *fmt, ...)
{
	char msg[LOG_MAX + LOG_SLACK], ts[40];
	struct yh_buf out;
	va_list ap;
	size_t n;
	bool cut;
	int w, r = 0;

	if ((int)lvl < atomic_load_explicit(&log_level, memory_order_relaxed) ||
	    lvl >= YH_LOG_OFF)
		return;
	va_start(ap, fmt);
	w = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (w < 0)
		return;
	cut = (size_t)w >= sizeof(msg);
	n = log_redactor(msg, cut ? sizeof(msg) - 1 : (size_t)w);
	if (cut)
		n = n > LOG_SLACK ? n - LOG_SLACK : 0;
	if (n > LOG_MAX - 1)
		n = LOG_MAX - 1;
	msg[n] = '\0';

	yh_buf_init(&out, LOG_MAX * 6 + 512);
	if (atomic_load_explicit(&log_json, memory_order_relaxed)) {
		const char *base = strrchr(file, '/');

		yh_time_iso8601(yh_now_ms(), ts, sizeof(ts));
		r = yh_buf_printf(&out, "{\"ts\":\"%s\",\"level\":\"%s\",\"src\":\"%s:%d\","
		    "\"func\":\"%s\",\"msg\":\"", ts, level_names[lvl],
		    base != NULL ? base + 1 : file, line, func);
		if (r == 0)
			r = yh_json_escape(&out, msg, n);
		if (r == 0)
			r = yh_buf_puts(&out, "\"}\n");
	} else {
		r = yh_buf_printf(&out, "%s: %s%s%s\n", log_prog,
		    lvl >= YH_LOG_WARN ? level_names[lvl] : "",
		    lvl >= YH_LOG_WARN ? ": " : "", msg);
	}
	if (r == 0)
		write_all(log_fd, out.data, out.len);
	yh_buf_free(&out);
}
