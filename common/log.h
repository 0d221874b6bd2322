/*
 * Logging that cannot leak. Each record carries level, file:line and function; in JSON
 * mode it is one JSON object per line. The message passes through a redactor before it
 * is written: by default every number the login lookup could read as a resident ID
 * number or a phone number is masked, in whatever spelling (see yh_redact_default).
 */
#ifndef YH_COMMON_LOG_H
#define YH_COMMON_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum yh_log_level { YH_LOG_DEBUG, YH_LOG_INFO, YH_LOG_WARN, YH_LOG_ERROR, YH_LOG_OFF };

/* Rewrites msg (len bytes) in place to mask personal data; it may only shrink. Returns
 * the new length and leaves msg NUL-terminated there (msg has room for len + 1 bytes). */
typedef size_t (*yh_log_redactor)(char *msg, size_t len);

/* Sets the threshold; records below it are dropped. Default INFO. Safe while other
 * threads log (a configuration reload changes it). */
void yh_log_set_level(enum yh_log_level lvl);

/* Parses "debug", "info", "warn", "error", "off". Returns 0 or -1. */
int yh_log_level_parse(const char *s, enum yh_log_level *out);

/* Where records go (default 2, stderr). */
void yh_log_set_fd(int fd);

/* JSON lines (true, the daemon) or "prog: level: message" text (false, the CLI tools).
 * Safe while other threads log. */
void yh_log_set_json(bool json);

/* The program name used in text mode. */
void yh_log_set_prog(const char *prog);

/* Replaces the redactor (NULL restores the default). */
void yh_log_set_redactor(yh_log_redactor fn);

/* Runs the redactor every record goes through over msg (len bytes) now, for text that
 * is changed before it is logged (so that what was a number is still read as one);
 * returns the new length. */
size_t yh_log_redact(char *msg, size_t len);

/*
 * The default redactor. A number is ASCII or full-width digits joined by spaces or
 * dashes (up to 3 between two digits; the separators the login lookup's folding drops,
 * common/fold.h), after an optional '+', with an 'X' closing 17 digits. One with 11
 * digits or more that stands on its own, and one inside a word (a hex id, a token) with
 * 15 or more or a mobile-like 11 starting with 1, is replaced by its folded form masked:
 *   15 digits and more (ID numbers): the first 6 and the last 4 kept,
 *     "110101 19900307 0011" -> "110101********0011";
 *   11 to 14 (phones): the last 4 and what precedes the last 8 (a country code, the
 *     3-digit prefix) kept, "+86 138-0013-8000" -> "+86138****8000",
 *     "１３８００１３８０００" -> "138****8000".
 * Dots and parentheses do not join digits (IP addresses, OIDs stay readable). Returns
 * the new length (yh_log_redactor).
 */
size_t yh_redact_default(char *msg, size_t len);

/* Writes one record. Use the macros below. */
void yh_log_msg(enum yh_log_level lvl, const char *file, int line, const char *func,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#define yh_debug(...) yh_log_msg(YH_LOG_DEBUG, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define yh_info(...)  yh_log_msg(YH_LOG_INFO, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define yh_warn(...)  yh_log_msg(YH_LOG_WARN, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define yh_error(...) yh_log_msg(YH_LOG_ERROR, __FILE__, __LINE__, __func__, __VA_ARGS__)

/* Appends s as a JSON string body (no quotes) with all escapes; used by the logger and audit. */
struct yh_buf;
int yh_json_escape(struct yh_buf *b, const char *s, size_t len);

/* Appends s (len bytes) as a whole JSON string: quotes around yh_json_escape's body. */
int yh_json_quote(struct yh_buf *b, const char *s, size_t len);

#endif
