/*
 * Redirect URIs: the rules a registered one follows, and the exact match of a requested
 * one against a client's list.
 */
#include <string.h>

#include "authcore/clients/clients_int.h"

/* HOST[:PORT] of an http(s) URI: a DNS name or IPv4 literal, or an [IPv6] literal. */
static int
authority_check(const char *a, size_t len, bool *loopback, const char **why)
{
	size_t h = 0, hlen;
	const char *host = a;

	*loopback = false;
	if (memchr(a, '@', len) != NULL) {
		*why = "userinfo (user@) not allowed";
		return YH_ERR_INVALID;
	}
	if (len > 0 && a[0] == '[') {
		const char *close = memchr(a, ']', len);
		if (close == NULL) {
			*why = "unterminated [IPv6] host";
			return YH_ERR_INVALID;
		}
		for (const char *p = a + 1; p < close; p++)
			if (!(clients_is_alnum(*p) || *p == ':' || *p == '.')) {
				*why = "bad character in the [IPv6] host";
				return YH_ERR_INVALID;
			}
		h = (size_t)(close - a) + 1;
		if (h == 2) {
			*why = "empty host";
			return YH_ERR_INVALID;
		}
	} else {
		while (h < len && (clients_is_alnum(a[h]) || a[h] == '.' || a[h] == '-'))
			h++;
		if (h == 0) {
			*why = "empty or malformed host";
			return YH_ERR_INVALID;
		}
	}
	hlen = h;
	if (h < len) {
		uint64_t port = 0;
		size_t digits = len - h - 1;

		if (a[h] != ':' || digits == 0 || digits > 5) {
			*why = "malformed host or port";
			return YH_ERR_INVALID;
		}
		for (size_t i = h + 1; i < len; i++) {
			if (a[i] < '0' || a[i] > '9') {
				*why = "malformed port";
				return YH_ERR_INVALID;
			}
			port = port * 10 + (uint64_t)(a[i] - '0');
		}
		if (port == 0 || port > 65535) {
			*why = "port out of range";
			return YH_ERR_INVALID;
		}
	}
	*loopback = (hlen == 9 && memcmp(host, "127.0.0.1", 9) == 0) ||
	    (hlen == 5 && memcmp(host, "[::1]", 5) == 0) ||
	    (hlen == 9 && memcmp(host, "localhost", 9) == 0);
	return 0;
}

int
clients_uri_check(const char *uri, bool loopback_or_https_only, const char **why)
{
	size_t len, s = 0, alen;
	const char *rest;
	bool https, http, loopback;
	int rc;

	*why = NULL;
	if (uri == NULL || (len = strnlen(uri, CLIENTS_URI_MAX + 1)) == 0) {
		*why = "empty";
		return YH_ERR_INVALID;
	}
	if (len > CLIENTS_URI_MAX) {
		*why = "longer than 1024 bytes";
		return YH_ERR_TOO_LONG;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)uri[i] <= 0x20 || (unsigned char)uri[i] >= 0x7f) {
			*why = "space, control or non-ASCII character (percent-encode it)";
			return YH_ERR_INVALID;
		}
	if (strchr(uri, '#') != NULL) {
		*why = "fragment (#) not allowed";
		return YH_ERR_INVALID;
	}
	while (s < len && (clients_is_alnum(uri[s]) || ((uri[s] == '+' || uri[s] == '.' ||
	    uri[s] == '-') && s > 0)))
		s++;
	if (s == 0 || s >= len || uri[s] != ':' || !((uri[0] >= 'a' && uri[0] <= 'z') ||
	    (uri[0] >= 'A' && uri[0] <= 'Z'))) {
		*why = "not an absolute URI (no scheme)";
		return YH_ERR_INVALID;
	}
	for (size_t i = 0; i < s; i++)
		if (uri[i] >= 'A' && uri[i] <= 'Z') {
			*why = "write the scheme in lower case";
			return YH_ERR_INVALID;
		}
	https = s == 5 && memcmp(uri, "https", 5) == 0;
	http = s == 4 && memcmp(uri, "http", 4) == 0;
	rest = uri + s + 1;
	if (!https && !http) {
		if (loopback_or_https_only) {
			*why = "must be https (or http on 127.0.0.1, [::1], localhost)";
			return YH_ERR_INVALID;
		}
		if (memchr(uri, '.', s) == NULL) {
			*why = "use https, http on loopback, or a private-use scheme with a dot "
			    "(reverse domain name, e.g. com.example.app:/cb)";
			return YH_ERR_INVALID;
		}
		if (rest[0] == '\0') {
			*why = "nothing after the scheme";
			return YH_ERR_INVALID;
		}
		return 0;
	}
	if (strncmp(rest, "//", 2) != 0) {
		*why = "http(s) URI without //host";
		return YH_ERR_INVALID;
	}
	rest += 2;
	alen = strcspn(rest, "/?");
	if ((rc = authority_check(rest, alen, &loopback, why)) != 0)
		return rc;
	if (http && !loopback) {
		*why = "http only on loopback (127.0.0.1, [::1], localhost); use https";
		return YH_ERR_INVALID;
	}
	return 0;
}

static bool
uri_in(const char *const *v, size_t n, const char *uri)
{
	if (uri == NULL || strnlen(uri, CLIENTS_URI_MAX + 1) > CLIENTS_URI_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], uri) == 0)
			return true;
	return false;
}

bool
clients_redirect_ok(const struct clients_client *c, const char *uri)
{
	return c != NULL && uri_in(c->redirect_uris, c->n_redirect_uris, uri);
}

bool
clients_post_logout_redirect_ok(const struct clients_client *c, const char *uri)
{
	return c != NULL && uri_in(c->post_logout_uris, c->n_post_logout_uris, uri);
}
