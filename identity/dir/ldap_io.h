/*
 * Opening an LDAP connection within a deadline (prefix ldap_io_), for the directory on
 * LDAP (dir_ldap.c) and departments' LDAP login sources (federation/ldapsrc.c).
 */
#ifndef YH_IDENTITY_DIR_LDAP_IO_H
#define YH_IDENTITY_DIR_LDAP_IO_H

#include <stdbool.h>
#include <stdint.h>
#include <ldap.h>

/*
 * Connects ld (its URI list, options already set) and, with starttls, starts TLS on
 * it, each connection (each URI libldap tries) and the StartTLS within deadline_ms:
 * libldap bounds the TCP connect (LDAP_OPT_NETWORK_TIMEOUT) and the wait for a result
 * (LDAP_OPT_TIMEOUT), but not an ldaps:// or StartTLS handshake, so a server (or a load
 * balancer in front of it) that accepts and then says nothing would hold the calling
 * thread for ever. A watchdog thread shuts the socket down when its time is up, which
 * ends the handshake with an error, and libldap goes on to the next URI with time of
 * its own (deadline_ms <= 0: no deadline). Returns LDAP_SUCCESS, LDAP_TIMEOUT (the last
 * connection's time ran out) or libldap's error.
 */
int ldap_io_connect(LDAP *ld, bool starttls, int64_t deadline_ms);

#endif
