/* Time helpers: wall clock, monotonic clock, calendar checks, ISO 8601. */
#ifndef YH_COMMON_TIMEUTIL_H
#define YH_COMMON_TIMEUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/err.h"

/* Wall-clock milliseconds since the Unix epoch. */
int64_t yh_now_ms(void);

/* Wall-clock seconds since the Unix epoch. */
int64_t yh_now(void);

/* Monotonic milliseconds (for timeouts and latencies). */
int64_t yh_mono_ms(void);

/* Monotonic nanoseconds (for benchmarks). */
int64_t yh_mono_ns(void);

struct timespec;

/* Sets *out to the wall-clock time ms milliseconds from now: the absolute deadline that
 * pthread_cond_timedwait takes. */
void yh_realtime_after_ms(int64_t ms, struct timespec *out);

/* True when y-m-d is a real Gregorian date (year 1..9999). */
bool yh_date_valid(int y, int m, int d);

/* Reads s, exactly "YYYY-MM-DD" (ASCII digits), into *y, *m, *d. True when it is a real
 * date (yh_date_valid); on false *y, *m, *d hold what was read, if anything. */
bool yh_date_parse(const char *s, int *y, int *m, int *d);

/* Today's UTC+8 date (China Standard Time) as yyyymmdd. */
int yh_today_cst(void);

/*
 * The end of a grant valid "until YYYY-MM-DD" (through that day, China Standard Time):
 * the Unix seconds of the start of the next day in UTC+8, into *until. Returns 0,
 * YH_ERR_INVALID (s is not a real date YYYY-MM-DD) or YH_ERR_EXPIRED (that moment is not
 * after now, Unix seconds).
 */
int yh_date_until_cst(const char *s, int64_t now, int64_t *until) YH_WUR;

/* Formats ms since the epoch as "2026-11-22T03:57:37.123Z" into out (>= 25 bytes). */
void yh_time_iso8601(int64_t ms, char *out, size_t outsz);

/* Parses a duration "90", "90s", "15m", "8h", "30d" into seconds. */
int yh_parse_duration(const char *s, int64_t max, int64_t *out) YH_WUR;

#endif
