/* Network address text: see netaddr.h. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "common/buf.h"
#include "common/netaddr.h"

int
net_listen_parse(const char *s, char *host, size_t hostsz, uint16_t *port)
{
	struct in6_addr a6;
	struct in_addr a4;
	const char *colon, *hs, *he;
	uint64_t p;
	size_t hl;

	if (s == NULL || hostsz < 64 || (colon = strrchr(s, ':')) == NULL)
		return YH_ERR_INVALID;
	hs = s;
	he = colon;
	if (s[0] == '[') {
		if (colon == s || colon[-1] != ']')
			return YH_ERR_INVALID;
		hs = s + 1;
		he = colon - 1;
	}
	hl = (size_t)(he - hs);
	if (hl == 0 || hl >= hostsz || yh_parse_u64(colon + 1, 0, 65535, &p) != 0)
		return YH_ERR_INVALID;
	memcpy(host, hs, hl);
	host[hl] = '\0';
	if (s[0] == '[' ? inet_pton(AF_INET6, host, &a6) != 1 : inet_pton(AF_INET, host, &a4) != 1)
		return YH_ERR_INVALID;
	*port = (uint16_t)p;
	return 0;
}

/* Parses "ADDR" or "ADDR/PREFIX" (v4 or v6) of at most 63 bytes into vout (a struct
 * net_cidr). */
static int
parse_cidr(struct yh_span tok, void *vout)
{
	struct net_cidr *out = vout;
	char text[64], *slash;
	uint64_t prefix;
	unsigned maxp;

	tok = yh_span_trim(tok);
	if (tok.len == 0 || tok.len >= sizeof(text) || yh_span_check(tok, sizeof(text) - 1) != 0)
		return YH_ERR_INVALID;
	memcpy(text, tok.p, tok.len);
	text[tok.len] = '\0';
	if ((slash = strchr(text, '/')) != NULL)
		*slash = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, text, out->addr) == 1) {
		out->family = AF_INET;
		maxp = 32;
	} else if (inet_pton(AF_INET6, text, out->addr) == 1) {
		out->family = AF_INET6;
		maxp = 128;
	} else
		return YH_ERR_INVALID;
	out->prefix = maxp;
	if (slash != NULL) {
		if (yh_parse_u64(slash + 1, 0, maxp, &prefix) != 0)
			return YH_ERR_INVALID;
		out->prefix = (unsigned)prefix;
	}
	return 0;
}

/*
 * Walks a comma-separated list (empty entries skipped, NULL empty), parsing each entry
 * with one into a scratch item (item bytes at tmp) and copying it to out[*n] when out
 * is not NULL; at most max. YH_ERR_INVALID with the entry (cut at 64 bytes) in bad.
 */
static int
list_parse(const char *list, int (*one)(struct yh_span, void *), void *tmp, size_t item,
    void *out, size_t max, size_t *n, char *bad, size_t badsz)
{
	struct yh_span s = yh_span_cstr(list), tok;

	*n = 0;
	if (list == NULL)
		return 0;
	while (yh_span_split(&s, ',', &tok) == 0) {
		if (yh_span_trim(tok).len == 0)
			continue;
		if (one(tok, tmp) != 0 || *n >= max) {
			struct yh_span t = yh_span_trim(tok);

			if (bad != NULL)
				snprintf(bad, badsz, "%.*s", (int)(t.len > 64 ? 64 : t.len), t.p);
			return YH_ERR_INVALID;
		}
		if (out != NULL)
			memcpy((char *)out + *n * item, tmp, item);
		(*n)++;
	}
	return 0;
}

int
net_cidr_list_parse(const char *list, struct net_cidr *nets, size_t max, size_t *n,
    char *bad, size_t badsz)
{
	struct net_cidr tmp;

	return list_parse(list, parse_cidr, &tmp, sizeof(tmp), nets, max, n, bad, badsz);
}

/* One "HOST:PORT" (trimmed) into vout (a struct net_hostport). */
static int
parse_hostport(struct yh_span tok, void *vout)
{
	struct net_hostport *out = vout;
	struct in6_addr a6;
	const char *colon = NULL;
	struct yh_span host, port;
	uint64_t p;

	tok = yh_span_trim(tok);
	if (yh_span_check(tok, 300) != 0)
		return YH_ERR_INVALID;
	for (size_t i = 0; i < tok.len; i++)
		if (tok.p[i] == ':')
			colon = tok.p + i;
	if (colon == NULL)
		return YH_ERR_INVALID;
	host = yh_span_mem(tok.p, (size_t)(colon - tok.p));
	port = yh_span_mem(colon + 1, tok.len - host.len - 1);
	if (yh_span_u64(port, 1, 65535, &p) != 0)
		return YH_ERR_INVALID;
	if (host.len >= 2 && host.p[0] == '[' && host.p[host.len - 1] == ']') {
		host = yh_span_mem(host.p + 1, host.len - 2);
		if (host.len == 0 || host.len > NET_HOSTPORT_HOST_MAX)
			return YH_ERR_INVALID;
		memcpy(out->host, host.p, host.len);
		out->host[host.len] = '\0';
		if (inet_pton(AF_INET6, out->host, &a6) != 1)
			return YH_ERR_INVALID;
	} else {
		/* a host name or an IPv4 address: letters, digits, '.', '-' */
		if (host.len == 0 || host.len > NET_HOSTPORT_HOST_MAX)
			return YH_ERR_INVALID;
		for (size_t i = 0; i < host.len; i++) {
			char c = host.p[i];

			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '.' || c == '-'))
				return YH_ERR_INVALID;
		}
		memcpy(out->host, host.p, host.len);
		out->host[host.len] = '\0';
	}
	out->port = (uint16_t)p;
	return 0;
}

int
net_hostport_list_parse(const char *list, struct net_hostport *out, size_t max, size_t *n,
    char *bad, size_t badsz)
{
	struct net_hostport tmp;

	return list_parse(list, parse_hostport, &tmp, sizeof(tmp), out, max, n, bad, badsz);
}

int
net_cidr_list_check(const char *list, char *bad, size_t badsz)
{
	size_t n;

	return net_cidr_list_parse(list, NULL, NET_CIDR_LIST_MAX, &n, bad, badsz);
}

bool
net_cidr_contains(const struct net_cidr *net, int family, const unsigned char *addr)
{
	unsigned full = net->prefix / 8, rest = net->prefix % 8;

	if (net->family != family)
		return false;
	if (memcmp(net->addr, addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((net->addr[full] ^ addr[full]) & (0xffu << (8 - rest)) & 0xffu) == 0;
}
