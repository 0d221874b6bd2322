/*
 * Network address text (prefix net_): the "ADDR:PORT" of a listening socket and lists of
 * addresses and CIDR blocks such as a trusted-proxy list. Pure parsing, no sockets: the
 * config checker and the HTTP server read the same text the same way.
 */
#ifndef YH_COMMON_NETADDR_H
#define YH_COMMON_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* One address block: family AF_INET or AF_INET6, the address in network order, and
 * the prefix length (32 or 128 for a single address). */
#define NET_CIDR_LIST_MAX 64   /* entries one list may hold (trusted proxies) */

struct net_cidr {
	int family;
	unsigned char addr[16];
	unsigned prefix;
};

/*
 * Parses "ADDR:PORT" (IPv4 dotted quad, or an IPv6 address in brackets) into host text
 * and port. host must hold at least 64 bytes. Returns 0 or YH_ERR_INVALID.
 */
int net_listen_parse(const char *s, char *host, size_t hostsz, uint16_t *port) YH_WUR;

/*
 * Parses a comma-separated list of addresses and CIDR blocks ("10.0.0.1, 192.168.0.0/16,
 * ::1"; empty entries are skipped; NULL is an empty list) into nets (may be NULL to only
 * check), at most max entries; *n gets the count. Returns 0 or YH_ERR_INVALID, with the
 * offending entry (cut at 64 bytes) in bad when bad is not NULL.
 */
int net_cidr_list_parse(const char *list, struct net_cidr *nets, size_t max, size_t *n,
    char *bad, size_t badsz) YH_WUR;

/* net_cidr_list_parse to check a list of at most NET_CIDR_LIST_MAX entries. */
int net_cidr_list_check(const char *list, char *bad, size_t badsz) YH_WUR;

/* One "HOST:PORT" of a list of servers: a host name, an IPv4 address or an IPv6
 * address in brackets (kept here without them), and a port 1..65535. */
#define NET_HOSTPORT_HOST_MAX 254
#define NET_HOSTPORT_LIST_MAX 16
struct net_hostport {
	char host[NET_HOSTPORT_HOST_MAX + 1];
	uint16_t port;
};

/*
 * Parses a comma-separated list of "HOST:PORT" (empty entries skipped; NULL is an empty
 * list) into out (may be NULL to only check), at most max entries; *n gets the count.
 * Returns 0 or YH_ERR_INVALID with the offending entry (cut at 64 bytes) in bad.
 */
int net_hostport_list_parse(const char *list, struct net_hostport *out, size_t max, size_t *n,
    char *bad, size_t badsz) YH_WUR;

/* True when the address addr (of family, network order) lies in the block net. */
bool net_cidr_contains(const struct net_cidr *net, int family, const unsigned char *addr);

#endif
