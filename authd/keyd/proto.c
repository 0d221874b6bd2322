/* keyd's message framing: see proto.h. */
#define _GNU_SOURCE    /* sched_getaffinity, CPU_ISSET */
#include <sched.h>
#include <string.h>

#include "authd/keyd/proto.h"

int
kd_put_u32(struct yh_buf *b, uint32_t v)
{
	unsigned char le[4] = { (unsigned char)v, (unsigned char)(v >> 8),
	    (unsigned char)(v >> 16), (unsigned char)(v >> 24) };

	return yh_buf_append(b, le, sizeof(le));
}

int
kd_begin(struct yh_buf *b, enum kd_req type)
{
	yh_buf_reset(b);
	return kd_put_u32(b, (uint32_t)type);
}

int
kd_begin_answer(struct yh_buf *b, int status)
{
	yh_buf_reset(b);
	return kd_put_u32(b, (uint32_t)status);
}

int
kd_put(struct yh_buf *b, const void *p, size_t n)
{
	int r;

	if (n > UINT32_MAX)
		return YH_ERR_TOO_LONG;
	if ((r = kd_put_u32(b, (uint32_t)n)) != 0)
		return r;
	return n > 0 ? yh_buf_append(b, p, n) : 0;
}

int
kd_put_str(struct yh_buf *b, const char *s)
{
	return kd_put(b, s, strlen(s));
}

int
kd_get_u32(struct kd_rd *r, uint32_t *v)
{
	*v = 0;
	if (r->left < 4)
		return YH_ERR_INVALID;
	*v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 |
	    (uint32_t)r->p[3] << 24;
	r->p += 4;
	r->left -= 4;
	return 0;
}

int
kd_get(struct kd_rd *r, size_t max, const unsigned char **p, size_t *n)
{
	uint32_t len;
	int rc;

	*p = NULL;
	*n = 0;
	if ((rc = kd_get_u32(r, &len)) != 0)
		return rc;
	if (len > r->left)
		return YH_ERR_INVALID;
	if (len > max)
		return YH_ERR_TOO_LONG;
	*p = r->p;
	*n = len;
	r->p += len;
	r->left -= len;
	return 0;
}

int
kd_get_str(struct kd_rd *r, size_t max, char *out)
{
	const unsigned char *p;
	size_t n;
	int rc;

	out[0] = '\0';
	if ((rc = kd_get(r, max, &p, &n)) != 0)
		return rc;
	if (n > 0 && memchr(p, '\0', n) != NULL)
		return YH_ERR_INVALID;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

int
kd_end(const struct kd_rd *r)
{
	return r->left == 0 ? 0 : YH_ERR_INVALID;
}

const char *
kd_req_name(uint32_t type)
{
	static const char *const names[KD_REQ_COUNT] = {
		[KD_REQ_HELLO] = "hello", [KD_REQ_RELOAD] = "reload", [KD_REQ_SIGN] = "sign",
		[KD_REQ_SIGN_MANY] = "sign many",
		[KD_REQ_SEAL] = "vault seal", [KD_REQ_OPEN] = "vault open",
		[KD_REQ_BLIND] = "blind index", [KD_REQ_SUB] = "subject",
		[KD_REQ_MAC] = "mac", [KD_REQ_UREF_SEAL] = "uref seal",
		[KD_REQ_UREF_OPEN] = "uref open", [KD_REQ_SECRET_KID] = "secret key id",
		[KD_REQ_SECRET_HASH] = "secret hash",
	};

	return type < KD_REQ_COUNT && names[type] != NULL ? names[type] : "unknown";
}

size_t
kd_cpus(int *cpus, size_t max)
{
	cpu_set_t set;
	size_t n = 0;

	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		for (int i = 0; i < CPU_SETSIZE && n < max; i++)
			if (CPU_ISSET(i, &set))
				cpus[n++] = i;
	if (n == 0)
		cpus[n++] = -1;
	return n;
}
