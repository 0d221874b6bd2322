/* What every authctl group uses: the global options and the error line. */
#include <stdarg.h>
#include <stdio.h>

#include "authctl/ctl.h"

struct ctl_opts ctl_opts;

int
ctl_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("authctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}
