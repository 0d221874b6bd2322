/*
 * What every format reader shares (format.h): the store the current record's values are
 * copied into, skipping one line of the window, and record-level messages naming the
 * file and line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "migration-tools/idmerge/input/format.h"

long
mig_store_add(struct mig_reader *r, const char *p, size_t n)
{
	long off = (long)r->store_len;

	if (n + 1 > r->store_cap - r->store_len)
		return -1;
	memcpy(r->store + r->store_len, p, n);
	r->store[r->store_len + n] = '\0';
	r->store_len += n + 1;
	return off;
}

int
mig_skip_line(struct mig_reader *r, bool *blank)
{
	const char *d, *lf;
	size_t seen = 0, avail;   /* seen: bytes of the line consumed in earlier windows */
	bool cr = false;          /* ... and they were one CR */
	int rc;

	*blank = false;
	for (;;) {
		d = mig_input_data(r->in);
		avail = mig_input_avail(r->in);
		if ((lf = memchr(d, '\n', avail)) != NULL) {
			size_t n = (size_t)(lf - d);

			*blank = seen + n == 0 || (seen + n == 1 && (n == 1 ? d[0] == '\r' : cr));
			mig_input_consume(r->in, n + 1);
			r->line++;
			return 1;
		}
		cr = seen + avail == 1 && (seen == 1 ? cr : d[0] == '\r');
		seen += avail;
		mig_input_consume(r->in, avail);
		if ((rc = mig_input_more(r->in)) == YH_ERR_NOT_FOUND)
			return 0;
		if (rc != 0)
			return rc;
	}
}

void
mig_record_error(const struct mig_reader *r, uint64_t line, char *err, size_t errsz,
    const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errsz, "%s:%llu: %s", r->src->path, (unsigned long long)line, msg);
}
