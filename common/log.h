/*
 * Logging that cannot leak. Each record carries level, file:line and function; in JSON
 * mode it is one JSON object per line. The message passes through a redactor before it
 * is written: by default every run that looks like a resident ID number (15 or 17 digits
 * plus a digit or X) or a mainland mobile number is masked.
 */
#ifndef YH_COMMON_LOG_H
#define YH_COMMON_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum yh_log_level { YH_LOG_DEBUG, YH_LOG_INFO, YH_LOG_WARN, YH_LOG_ERROR, YH_LOG_OFF };

/* Rewrites msg (NUL-terminated, len bytes, same length after) in place to mask personal data. */
typedef void (*yh_log_redactor)(char *msg, size_t len);

/* Sets the threshold; records below it are dropped. Default INFO. */
void yh_log_set_level(enum yh_log_level lvl);

/* Parses "debug", "info", "warn", "error", "off". Returns 0 or -1. */
int yh_log_level_parse(const char *s, enum yh_log_level *out);

/* Where records go (default 2, stderr). */
void yh_log_set_fd(int fd);

/* JSON lines (true, the daemon) or "prog: level: message" text (false, the CLI tools). */
void yh_log_set_json(bool json);

/* The program name used in text mode. */
void yh_log_set_prog(const char *prog);

/* Replaces the redactor (NULL restores the default). */
void yh_log_set_redactor(yh_log_redactor fn);

/* The default redactor: masks ID-number-like and mobile-number-like digit runs. */
void yh_redact_default(char *msg, size_t len);

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

#endif
