/*
 * Inside the audit module only (audit.c writes, audit_verify.c checks, audit_cp.c holds
 * what both must agree on): the chain's first "prev", line hashes, and the bytes a
 * checkpoint's tag covers.
 */
#ifndef YH_AUTHD_AUDIT_INT_H
#define YH_AUTHD_AUDIT_INT_H

#include <stddef.h>
#include <stdint.h>
#include "authcore/audit/audit.h"
#include "common/buf.h"

/* The "prev" of line 1. */
#define AUDIT_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

/* Hex SHA-256 of n bytes into out[65]. Returns 0 or YH_ERR_CRYPTO. */
int audit_sha256_hex(const char *p, size_t n, char out[65]) YH_WUR;

/*
 * The bytes a checkpoint's tag authenticates: a versioned label, the checkpoint's own
 * sequence number, its time and its prev (the hash of the line before it, which chains
 * every earlier line), appended to b. Returns 0 or the buffer's error.
 */
int audit_cp_message(struct yh_buf *b, uint64_t seq, const char *ts, const char *prev)
    YH_WUR;

/* PATH.checkpoint into out. Returns 0 or YH_ERR_TOO_LONG. */
int audit_cp_path(const char *path, char *out, size_t outsz) YH_WUR;

#endif
