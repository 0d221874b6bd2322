#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/timeutil.h"

int64_t
yh_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
yh_now(void)
{
	return yh_now_ms() / 1000;
}

int64_t
yh_mono_ms(void)
{
	return yh_mono_ns() / 1000000;
}

int64_t
yh_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void
yh_realtime_after_ms(int64_t ms, struct timespec *out)
{
	clock_gettime(CLOCK_REALTIME, out);
	out->tv_sec += (time_t)(ms / 1000);
	out->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (out->tv_nsec >= 1000000000L) {
		out->tv_sec++;
		out->tv_nsec -= 1000000000L;
	}
}

bool
yh_date_valid(int y, int m, int d)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int dim;

	if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1)
		return false;
	dim = mdays[m - 1];
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		dim = 29;
	return d <= dim;
}

bool
yh_date_parse(const char *s, int *y, int *m, int *d)
{
	int v[3] = { 0, 0, 0 }, k = 0;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++) {
		if (i == 4 || i == 7) {
			k++;
			continue;
		}
		if (s[i] < '0' || s[i] > '9')
			return false;
		v[k] = v[k] * 10 + (s[i] - '0');
	}
	*y = v[0];
	*m = v[1];
	*d = v[2];
	return yh_date_valid(*y, *m, *d);
}

int
yh_today_cst(void)
{
	time_t t = (time_t)(yh_now() + 8 * 3600);
	struct tm tm;

	gmtime_r(&t, &tm);
	return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's days_from_civil). */
static int64_t
days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int
yh_date_until_cst(const char *s, int64_t now, int64_t *until)
{
	int y = 0, m = 0, d = 0;

	*until = 0;
	if (s == NULL || !yh_date_parse(s, &y, &m, &d))
		return YH_ERR_INVALID;
	*until = (days_from_civil(y, m, d) + 1) * 86400 - 8 * 3600;
	return *until > now ? 0 : YH_ERR_EXPIRED;
}

void
yh_time_iso8601(int64_t ms, char *out, size_t outsz)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, outsz, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

int
yh_parse_duration(const char *s, int64_t max, int64_t *out)
{
	struct yh_span sp = yh_span_cstr(s);
	uint64_t v, mult = 1;
	int r;

	*out = 0;
	if (sp.len > 0) {
		switch (sp.p[sp.len - 1]) {
		case 's': mult = 1; sp.len--; break;
		case 'm': mult = 60; sp.len--; break;
		case 'h': mult = 3600; sp.len--; break;
		case 'd': mult = 86400; sp.len--; break;
		default: break;
		}
	}
	if ((r = yh_span_u64(sp, 0, (uint64_t)max, &v)) != 0)
		return r;
	if (v > (uint64_t)max / mult)
		return YH_ERR_INVALID;
	*out = (int64_t)(v * mult);
	return 0;
}
