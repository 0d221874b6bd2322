#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/timeutil.h"

#define LOG_MAX 8192   /* a record's message: at most LOG_MAX - 1 bytes */
#define LOG_SLACK 32   /* formatted past the cut, so that a number straddling it is
                        * redacted whole before the cut (ID numbers are 18 bytes) */

static enum yh_log_level log_level = YH_LOG_INFO;
static int log_fd = 2;
static bool log_json;
static const char *log_prog = "yihao";
static yh_log_redactor log_redactor = yh_redact_default;

static const char *const level_names[] = { "debug", "info", "warn", "error", "off" };

void
yh_log_set_level(enum yh_log_level lvl)
{
	log_level = lvl;
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
	log_json = json;
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

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Masks [keep_head, len - keep_tail) of a run with '*'. */
static void
mask_run(char *p, size_t len, size_t keep_head, size_t keep_tail)
{
	for (size_t i = keep_head; i + keep_tail < len; i++)
		p[i] = '*';
}

void
yh_redact_default(char *msg, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t j = i;

		if (!is_digit(msg[i])) {
			i++;
			continue;
		}
		while (j < len && is_digit(msg[j]))
			j++;
		/* An 18th character 'X'/'x' after 17 digits belongs to the run. */
		if (j - i == 17 && j < len && (msg[j] == 'X' || msg[j] == 'x'))
			j++;
		if (j - i >= 15)
			mask_run(msg + i, j - i, 6, 4);
		else if (j - i == 11 && msg[i] == '1')
			mask_run(msg + i, j - i, 3, 4);
		i = j;
	}
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
	int n, r = 0;

	if (lvl < log_level || lvl >= YH_LOG_OFF)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	log_redactor(msg, (size_t)n);
	if (n > LOG_MAX - 1) {
		n = LOG_MAX - 1;
		msg[n] = '\0';
	}

	yh_buf_init(&out, LOG_MAX * 6 + 512);
	if (log_json) {
		const char *base = strrchr(file, '/');

		yh_time_iso8601(yh_now_ms(), ts, sizeof(ts));
		r = yh_buf_printf(&out, "{\"ts\":\"%s\",\"level\":\"%s\",\"src\":\"%s:%d\","
		    "\"func\":\"%s\",\"msg\":\"", ts, level_names[lvl],
		    base != NULL ? base + 1 : file, line, func);
		if (r == 0)
			r = yh_json_escape(&out, msg, (size_t)n);
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
