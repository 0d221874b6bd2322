/*
 * What the CAS endpoints read from a request (cas.h): one query parameter, refused when
 * it is repeated, too long or holds a NUL byte.
 */
#include "authd/cas/cas.h"

const char *
cas_param(struct http_req *req, const char *name, size_t max, bool *bad)
{
	const char *v = NULL;
	int r = http_req_query(req, name, max, &v);

	if (r != 0 && r != YH_ERR_NOT_FOUND)
		*bad = true;
	return r == 0 ? v : NULL;
}
