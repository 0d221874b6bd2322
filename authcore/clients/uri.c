/*
 * Redirect URIs: the rules a registered one follows (clients.h), the exact match of a
 * requested one against a client's list, and the web origin of one (CORS, origin.c).
 *
 * An http(s) URI is parsed by libcurl's URL API, and what curl read is then held against
 * the text as written: the host must be the very characters between "//" and the port
 * (ASCII case aside), the port the digits after it. A URI that a parser would read
 * differently from how it is written (127.1 or 0x7f.0.0.1 for 127.0.0.1, %41 in a host,
 * an [IPv6] zone, a backslash before '@') is refused, so that Yihao, the app and the
 * browser cannot take one registered URI for different hosts. Nothing of curl's reading
 * is stored: the registration keeps the string as given and is matched byte for byte.
 *
 * A private-use scheme (com.example.app:/cb) is checked by its scheme alone: curl's URL
 * API knows only the scheme://authority form, and RFC 8252 7.1 URIs usually have none.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <curl/curl.h>

#include "authcore/clients/clients_int.h"
#include "common/url.h"
#include "common/utf8.h"

#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define DIGIT "0123456789"

/* The length of uri's scheme (RFC 3986 3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
 * before the ':'), or 0 when it has none. */
static size_t
scheme_len(const char *uri)
{
	size_t n = strspn(uri, LOWER UPPER DIGIT "+-.");

	if (n == 0 || uri[n] != ':' || strchr(LOWER UPPER, uri[0]) == NULL)
		return 0;
	return n;
}

/* Where the authority of an http(s) URI starts (after "scheme://"), or NULL. */
static const char *
authority_of(const char *uri)
{
	size_t s = scheme_len(uri);

	return s > 0 && strncmp(uri + s, "://", 3) == 0 ? uri + s + 3 : NULL;
}

/* Why the first byte of uri that may not stand in a registered URI is refused, or NULL
 * when there is none (printable ASCII only, no '#'). */
static const char *
char_check(const char *uri, size_t len)
{
	const char *auth = authority_of(uri);

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)uri[i];

		if (c >= 0x80 && auth != NULL && uri + i >= auth &&
		    uri + i < auth + strcspn(auth, "/?#"))
			return "non-ASCII host: register an internationalized domain name in its "
			    "A-label (xn--) form";
		if (c <= 0x20 || c >= 0x7f)
			return "space, control or non-ASCII character (percent-encode it)";
	}
	if (memchr(uri, '#', len) != NULL)
		return "fragment (#) not allowed";
	return NULL;
}

/* Why curl_url_set refused an http(s) URI. Static strings. */
static const char *
curl_why(CURLUcode cu)
{
	switch (cu) {
	case CURLUE_BAD_PORT_NUMBER:
		return "malformed port or port out of range";
	case CURLUE_BAD_IPV6:
		return "malformed [IPv6] host";
	case CURLUE_BAD_HOSTNAME:
	case CURLUE_NO_HOST:
		return "empty or malformed host";
	case CURLUE_BAD_LOGIN:
	case CURLUE_BAD_USER:
	case CURLUE_BAD_PASSWORD:
		return "userinfo (user@) not allowed";
	default:
		return curl_url_strerror(cu);
	}
}

/* True when curl read a part of the URI (a user, a zone id, ...). */
static bool
has_part(CURLU *u, CURLUPart what)
{
	char *v = NULL;
	bool has = curl_url_get(u, what, &v, 0) == CURLUE_OK;

	curl_free(v);
	return has;
}

/* The length of the host at the start of the authority a (alen bytes) as written: an
 * [IPv6] literal with its brackets, otherwise up to the port's ':'. */
static size_t
host_len(const char *a, size_t alen)
{
	const char *close;

	if (alen > 0 && a[0] == '[')
		return (close = memchr(a, ']', alen)) != NULL ? (size_t)(close - a) + 1 : alen;
	return strcspn(a, ":/?") < alen ? strcspn(a, ":/?") : alen;
}

/* The port as written after the host (":" 1*5DIGIT) against the one curl read (port,
 * NULL when it read none). */
static const char *
port_check(const char *p, size_t len, const char *port)
{
	unsigned long v = 0;

	if (len == 0)
		return NULL;
	if (p[0] != ':' || len < 2 || len > 6 || strspn(p + 1, DIGIT) < len - 1)
		return "malformed host or port";
	for (size_t i = 1; i < len; i++)
		v = v * 10 + (unsigned long)(p[i] - '0');
	if (v == 0 || v > 65535)
		return "port out of range";
	if (port == NULL || strtoul(port, NULL, 10) != v)
		return "the port is not written the way it is read";
	return NULL;
}

/* True when h (n bytes of letters, digits, dots and hyphens) is a DNS name as written
 * (RFC 1123): labels of 1 to 63 characters, none starting or ending with a hyphen, 253
 * characters at most, no empty label (so no trailing dot: "a.gov.cn." is another way of
 * writing a.gov.cn, and "." or "a..b" are no host at all). */
static bool
dns_name_ok(const char *h, size_t n)
{
	size_t start = 0;

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i <= n; i++) {
		size_t len = i - start;

		if (i < n && h[i] != '.')
			continue;
		if (len == 0 || len > 63 || h[start] == '-' || h[i - 1] == '-')
			return false;
		start = i + 1;
	}
	return true;
}

/* The authority of an http(s) URI, read by curl (u) and as written (a, alen bytes). */
static const char *
authority_check(CURLU *u, const char *a, size_t alen, bool *loopback)
{
	char *host = NULL, *port = NULL;
	size_t hlen = host_len(a, alen);
	const char *why = NULL;

	*loopback = false;
	if (memchr(a, '@', alen) != NULL || has_part(u, CURLUPART_USER) ||
	    has_part(u, CURLUPART_PASSWORD) || has_part(u, CURLUPART_OPTIONS))
		return "userinfo (user@) not allowed";
	if (has_part(u, CURLUPART_ZONEID))
		return "an [IPv6] zone id is not allowed";
	if (hlen == 0 || (a[0] == '[' && hlen == 2))
		return "empty host";
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || strlen(host) != hlen ||
	    strncasecmp(host, a, hlen) != 0)
		why = "the host is not written the way it is read (an IPv4 address in full, no "
		    "%-escapes)";
	else if (a[0] != '[' && (strspn(host, LOWER UPPER DIGIT ".-") != hlen ||
	    !dns_name_ok(host, hlen)))
		why = "malformed host (a DNS name is labels of letters, digits and hyphens "
		    "joined by single dots)";
	else if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
		port = NULL;
	if (why == NULL)
		why = port_check(a + hlen, alen - hlen, port);
	*loopback = why == NULL && ((hlen == 9 && memcmp(a, "127.0.0.1", 9) == 0) ||
	    (hlen == 5 && memcmp(a, "[::1]", 5) == 0) ||
	    (hlen == 9 && memcmp(a, "localhost", 9) == 0));
	curl_free(host);
	curl_free(port);
	return why;
}

/* An http(s) URI: parsed by curl, then its authority checked as written. */
static int
web_uri_check(const char *uri, bool http, const char **why)
{
	const char *a = authority_of(uri);
	bool loopback = false;
	CURLUcode cu;
	CURLU *u;

	if (a == NULL) {
		*why = "http(s) URI without //host";
		return YH_ERR_INVALID;
	}
	if ((u = curl_url()) == NULL) {
		*why = "out of memory";
		return YH_ERR_ALLOC;
	}
	cu = curl_url_set(u, CURLUPART_URL, uri, CURLU_NON_SUPPORT_SCHEME | CURLU_PATH_AS_IS);
	if (cu != CURLUE_OK)
		*why = curl_why(cu);
	else
		*why = authority_check(u, a, strcspn(a, "/?"), &loopback);
	curl_url_cleanup(u);
	if (cu == CURLUE_OUT_OF_MEMORY)
		return YH_ERR_ALLOC;
	if (*why == NULL && http && !loopback)
		*why = "http only on loopback (127.0.0.1, [::1], localhost); use https";
	return *why == NULL ? 0 : YH_ERR_INVALID;
}

int
clients_uri_check(const char *uri, bool loopback_or_https_only, const char **why)
{
	size_t len, s;

	*why = NULL;
	if (uri == NULL || (len = strnlen(uri, CLIENTS_URI_MAX + 1)) == 0) {
		*why = "empty";
		return YH_ERR_INVALID;
	}
	if (len > CLIENTS_URI_MAX) {
		*why = "longer than 1024 bytes";
		return YH_ERR_TOO_LONG;
	}
	if ((*why = char_check(uri, len)) != NULL)
		return YH_ERR_INVALID;
	if ((s = scheme_len(uri)) == 0) {
		*why = "not an absolute URI (no scheme)";
		return YH_ERR_INVALID;
	}
	if (strspn(uri, LOWER DIGIT "+-.") < s) {
		*why = "write the scheme in lower case";
		return YH_ERR_INVALID;
	}
	if ((s == 5 && memcmp(uri, "https", 5) == 0) || (s == 4 && memcmp(uri, "http", 4) == 0))
		return web_uri_check(uri, s == 4, why);
	if (loopback_or_https_only)
		*why = "must be https (or http on 127.0.0.1, [::1], localhost)";
	else if (memchr(uri, '.', s) == NULL)
		*why = "use https, http on loopback, or a private-use scheme with a dot "
		    "(reverse domain name, e.g. com.example.app:/cb)";
	else if (uri[s + 1] == '\0')
		*why = "nothing after the scheme";
	return *why == NULL ? 0 : YH_ERR_INVALID;
}

/* The host of an authority (h, n bytes, as host_len measured it) as a browser writes it
 * in an origin: lower case, an [IPv6] literal in its RFC 5952 form. */
static int
origin_host(const char *h, size_t n, char *out, size_t outsz)
{
	char lit[INET6_ADDRSTRLEN + 1];
	unsigned char a6[16];

	if (n + 1 > outsz)
		return YH_ERR_TOO_LONG;
	if (n > 2 && h[0] == '[') {
		if (n - 2 >= sizeof(lit))
			return YH_ERR_INVALID;
		memcpy(lit, h + 1, n - 2);
		lit[n - 2] = '\0';
		if (inet_pton(AF_INET6, lit, a6) != 1 ||
		    inet_ntop(AF_INET6, a6, lit, sizeof(lit)) == NULL)
			return YH_ERR_INVALID;
		return snprintf(out, outsz, "[%s]", lit) < (int)outsz ? 0 : YH_ERR_TOO_LONG;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = (h[i] >= 'A' && h[i] <= 'Z') ? (char)(h[i] - 'A' + 'a') : h[i];
	out[n] = '\0';
	return 0;
}

int
clients_origin_of(const char *uri, char *out, size_t outsz)
{
	size_t slen = scheme_len(uri), alen, hlen;
	const char *a = authority_of(uri);
	char host[CLIENTS_URI_MAX + 1];
	unsigned long port = 0;
	int n, rc;

	if (!(slen == 5 && memcmp(uri, "https", 5) == 0) &&
	    !(slen == 4 && memcmp(uri, "http", 4) == 0))
		return slen > 0 ? YH_ERR_NOT_FOUND : YH_ERR_INVALID;
	if (a == NULL)
		return YH_ERR_INVALID;
	alen = strcspn(a, "/?#");
	hlen = host_len(a, alen);
	if (hlen == 0 || (rc = origin_host(a, hlen, host, sizeof(host))) != 0)
		return hlen == 0 ? YH_ERR_INVALID : rc;
	if (hlen < alen) {          /* ":" 1*5DIGIT, as clients_uri_check let through */
		if (a[hlen] != ':' || alen - hlen < 2 || alen - hlen > 6 ||
		    strspn(a + hlen + 1, DIGIT) < alen - hlen - 1)
			return YH_ERR_INVALID;
		port = strtoul(a + hlen + 1, NULL, 10);
	}
	if (port == (slen == 5 ? 443ul : 80ul))
		port = 0;
	if (port != 0)
		n = snprintf(out, outsz, "%.*s://%s:%lu", (int)slen, uri, host, port);
	else
		n = snprintf(out, outsz, "%.*s://%s", (int)slen, uri, host);
	return n > 0 && (size_t)n < outsz ? 0 : YH_ERR_TOO_LONG;
}

bool
clients_uri_in(const char *const *v, size_t n, const char *uri)
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
	return c != NULL && clients_uri_in(c->redirect_uris, c->n_redirect_uris, uri);
}

bool
clients_post_logout_redirect_ok(const struct clients_client *c, const char *uri)
{
	return c != NULL && clients_uri_in(c->post_logout_uris, c->n_post_logout_uris, uri);
}

/* ---- CAS services ------------------------------------------------------------------ */

/*
 * Why the path of a checked http(s) URL could name a page above where it is written, or
 * NULL. Each segment is read as servers read it: decoded (a backslash or '/' written
 * %5c or %2f, an overlong or invalid UTF-8 sequence such as %c0%ae for '.', or a '%'
 * decoded twice are refused) and without its parameters (Tomcat, Jetty and Spring take
 * "..;x" for ".."), so that no segment is "." or "..".
 */
static const char *
service_path_check(const char *url)
{
	const char *a = authority_of(url), *p, *end, *d, *why = NULL;
	struct yh_buf seg;
	size_t n;

	if (a == NULL)
		return "not an http(s) URL";
	p = a + strcspn(a, "/?");
	end = p + strcspn(p, "?");
	yh_buf_init(&seg, CLIENTS_URI_MAX);
	while (why == NULL && p < end) {
		const char *s = ++p;  /* past the '/' */

		p += strcspn(p, "/?");
		if (p > end)
			p = end;
		yh_buf_reset(&seg);
		if (yh_url_pct_decode((struct yh_span){ s, (size_t)(p - s) }, false, &seg) != 0) {
			why = "a '%' without two hex digits after it (IIS's %u), or a NUL, in the path";
			break;
		}
		d = yh_buf_cstr(&seg);
		n = seg.len;
		if (memchr(d, '%', n) != NULL)
			why = "an encoded '%' in the path (decoded twice, it is another path)";
		else if (memchr(d, '\\', n) != NULL)
			why = "a backslash in the path";
		else if (memchr(d, '/', n) != NULL)
			why = "an encoded '/' in the path";
		else if (!yh_utf8_valid(d, n))
			why = "an invalid or overlong UTF-8 sequence in the path";
		else if ((n = strcspn(d, ";")) == 1 ? d[0] == '.' : n == 2 && d[0] == '.' &&
		    d[1] == '.')   /* the segment without its parameters */
			why = "a '.' or '..' segment in the path";
	}
	yh_buf_free(&seg);
	return why;
}

int
clients_cas_service_check(const char *url, bool prefix, const char **why)
{
	int rc;
	size_t n;

	if ((rc = clients_uri_check(url, true, why)) != 0)
		return rc;
	n = strlen(url);
	if (strchr(url, '?') != NULL)
		*why = "no query: a service's query is not matched (see docs/integration.md)";
	else if (prefix && url[n - 1] != '/')
		*why = "a service prefix ends in '/'";
	else
		*why = service_path_check(url);
	return *why == NULL ? 0 : YH_ERR_INVALID;
}

int
clients_cas_proxy_callback_check(const char *url, const char **why)
{
	int rc;

	if ((rc = clients_cas_service_check(url, false, why)) != 0)
		return rc;
	if (strncmp(url, "https://", 8) != 0) {
		*why = "a proxy callback must be https";
		return YH_ERR_INVALID;
	}
	return 0;
}

bool
clients_cas_proxy_callback_ok(const struct clients_client *c, const char *url)
{
	if (c == NULL || url == NULL)
		return false;
	for (size_t i = 0; i < c->n_cas_proxy_callbacks; i++)
		if (strcmp(c->cas_proxy_callbacks[i], url) == 0)
			return true;
	return false;
}

bool
clients_has_cas(const struct clients_client *c)
{
	return c != NULL && (c->n_cas_services > 0 || c->n_cas_prefixes > 0);
}

/* True when prefix p (ending in '/') covers s, an exact service or another prefix. */
static bool
covers(const char *p, const char *s)
{
	return strncmp(p, s, strlen(p)) == 0;
}

/* True when registration x of one app (exact unless xp) and y of another (exact unless
 * yp) can match the same service. */
static bool
cas_pair_overlaps(const char *x, bool xp, const char *y, bool yp)
{
	if (!xp && !yp)
		return strcmp(x, y) == 0;
	return (xp && covers(x, y)) || (yp && covers(y, x));
}

bool
clients_cas_overlap(const struct clients_client *a, const struct clients_client *b,
    const char **sa, const char **sb)
{
	const char *const *av[2] = { a->cas_services, a->cas_prefixes };
	const char *const *bv[2] = { b->cas_services, b->cas_prefixes };
	size_t an[2] = { a->n_cas_services, a->n_cas_prefixes };
	size_t bn[2] = { b->n_cas_services, b->n_cas_prefixes };

	for (int ka = 0; ka < 2; ka++)
		for (size_t i = 0; i < an[ka]; i++)
			for (int kb = 0; kb < 2; kb++)
				for (size_t j = 0; j < bn[kb]; j++) {
					if (!cas_pair_overlaps(av[ka][i], ka, bv[kb][j], kb))
						continue;
					if (sa != NULL)
						*sa = av[ka][i];
					if (sb != NULL)
						*sb = bv[kb][j];
					return true;
				}
	return false;
}

bool
clients_cas_service_presentable(const char *service)
{
	const char *why;

	return service != NULL && clients_uri_check(service, true, &why) == 0 &&
	    service_path_check(service) == NULL;
}

bool
clients_cas_service_matches(const struct clients_client *c, const char *service)
{
	size_t base = strcspn(service, "?");

	if (!clients_has_cas(c))
		return false;
	for (size_t i = 0; i < c->n_cas_services; i++)
		if (strlen(c->cas_services[i]) == base &&
		    memcmp(c->cas_services[i], service, base) == 0)
			return true;
	for (size_t i = 0; i < c->n_cas_prefixes; i++) {
		size_t n = strlen(c->cas_prefixes[i]);

		if (n <= base && memcmp(c->cas_prefixes[i], service, n) == 0)
			return true;
	}
	return false;
}

bool
clients_cas_service_ok(const struct clients_client *c, const char *service)
{
	return clients_has_cas(c) && clients_cas_service_presentable(service) &&
	    clients_cas_service_matches(c, service);
}
