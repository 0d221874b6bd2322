/*
 * The session store's backends, one row each. sess_open picks the configured one here,
 * so sess.c names no backend and a new one is one row (and its ops) away.
 */
#include <stddef.h>

#define YH_SESS_INTERNAL
#include "authd/session/sess.h"

static const struct {
	enum sess_backend kind;
	const struct sess_ops *ops;
} backends[] = {
	{ SESS_BACKEND_MEMORY, &sess_mem_ops },
	{ SESS_BACKEND_REDIS, &sess_redis_ops },
};

const struct sess_ops *
sess_backend_ops(enum sess_backend b)
{
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (backends[i].kind == b)
			return backends[i].ops;
	return NULL;
}
