#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "common/err.h"

struct err_desc {
	int code;
	const char *name;
	const char *text;
};

static const struct err_desc errs[] = {
	{ YH_OK, "ok", "success" },
	{ YH_ERR_INTERNAL, "internal", "internal error" },
	{ YH_ERR_ALLOC, "alloc", "out of memory" },
	{ YH_ERR_INVALID, "invalid", "invalid input" },
	{ YH_ERR_TOO_LONG, "too_long", "input too long" },
	{ YH_ERR_NOT_FOUND, "not_found", "not found" },
	{ YH_ERR_EXISTS, "exists", "already exists" },
	{ YH_ERR_IO, "io", "input/output error" },
	{ YH_ERR_CRYPTO, "crypto", "cryptographic operation failed" },
	{ YH_ERR_AUTH, "auth", "authentication failed" },
	{ YH_ERR_EXPIRED, "expired", "expired" },
	{ YH_ERR_UNSUPPORTED, "unsupported", "not supported" },
	{ YH_ERR_CONFIG, "config", "configuration error" },
	{ YH_ERR_DB, "db", "directory error" },
	{ YH_ERR_DENIED, "denied", "denied by policy" },
	{ YH_ERR_BUSY, "busy", "busy, try again" },
	{ YH_ERR_UNAVAILABLE, "unavailable", "dependency unavailable" },
	{ YH_ERR_KEY, "key", "key missing or wrong" },
	{ YH_ERR_LOCKED, "locked", "locked" },
	{ YH_ERR_CONFLICT, "conflict", "conflicting data" },
	{ YH_ERR_LIMIT, "limit", "limit reached" },
	{ YH_ERR_REPLAY, "replay", "single-use value reused" },
	{ YH_ERR_PERM, "perm", "unsafe or insufficient permissions" },
	{ YH_ERR_NOSPACE, "nospace", "no space left on the device (disk full)" },
};

static const struct err_desc *
find(int err)
{
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
		if (errs[i].code == err)
			return &errs[i];
	return &errs[1];
}

const char *
yh_strerror(int err)
{
	return find(err)->text;
}

const char *
yh_errname(int err)
{
	return find(err)->name;
}

int
yh_err_from_errno(int errnum)
{
	return errnum == ENOSPC || errnum == EDQUOT ? YH_ERR_NOSPACE : YH_ERR_IO;
}

bool
yh_err_temporary(int err)
{
	return err == YH_ERR_UNAVAILABLE || err == YH_ERR_BUSY || err == YH_ERR_NOSPACE;
}

void
yh_errf(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errsz == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
}
