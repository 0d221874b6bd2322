/*
 * The app registry shared by the nodes of one installation (prefix appsync_): with
 * directory.backend = ldap every authd keeps its own STATE_DIR/clients.json and a thread
 * keeps it the same as the registry document in the directory (dir_shared_* "apps").
 *
 * Each round (every interval): the local file's SHA-256, the directory's document's, and
 * the one both had when they last agreed (kept in STATE_DIR/clients.synced, so that a
 * change made while authd was stopped is not lost). Only the file changed (authctl
 * client ..., the console, on this host): its bytes go to the directory. Only the
 * directory changed (another node): its document replaces the file, and the registry
 * reloads (clients_file_replace). Both changed: the directory wins, and the error log
 * says which local change was overwritten. A directory that does not answer is tried
 * again next round; the file keeps serving meanwhile.
 *
 * What the registry holds is the same on every node; what makes its client secrets
 * check out on every node is the same client-secret.key (docs/operations.md, "Running
 * on several hosts").
 *
 * The same thread publishes the node's own public signing keys (its ring's JWKS) as the
 * directory's document "jwks_NODE" ({"at": when, "jwks": ..., "mac": tag}; NODE the
 * random id in STATE_DIR/node.id), again each APPSYNC_KEYS_REFRESH_S while they do not
 * change, and gives the ring the other nodes' published keys (tok_ring_set_peers):
 * every node's /jwks lists them and every node verifies their tokens. The tag is an
 * HMAC-SHA256 computed by keyd (keys_mac KEYS_MAC_PEER_KEYS, a key derived from the
 * subject key every node holds) over the name, "at" and the JWKS: whoever can write the
 * directory but lacks the subject key (the LDAP server, its administrators, a stolen
 * bind password) cannot add a key the nodes trust. A document whose tag is missing or
 * wrong is left out and logged (a warning naming the node, once while it stays). A node's keys are dropped
 * once its document has not been refreshed for APPSYNC_KEYS_KEEP_S (the node is gone;
 * its tokens have expired). Private keys never leave keyd.
 */
#ifndef YH_AUTHD_APPSYNC_H
#define YH_AUTHD_APPSYNC_H

#include "authcore/clients/clients.h"
#include "identity/dir/dir.h"
#include "token/keyring.h"

struct keys;

#define APPSYNC_FILE "clients.synced"
#define APPSYNC_DOC "apps"
#define APPSYNC_INTERVAL_MS 1000   /* how often authd compares file and directory */
#define APPSYNC_NODE_FILE "node.id"
#define APPSYNC_KEYS_REFRESH_S 300
#define APPSYNC_KEYS_KEEP_S (2 * 86400)

struct appsync;

/* Starts the thread (one round at once, so that a node starting up has the shared
 * apps before it serves); keys (borrowed) tags and checks the published keys; a
 * registry larger than doc_max bytes (directory.ldap_value_max) is not sent to the
 * directory (an error in the log: the other nodes do not get it). err one line. */
int appsync_start(struct dir *d, struct clients_registry *reg, struct tok_ring *ring,
    const struct keys *keys, const char *state_dir, size_t doc_max, unsigned interval_ms, struct appsync **out, char *err,
    size_t errsz) YH_WUR;

/* One round now (the thread's, also for tests): 0, or the directory's or the file's
 * error (logged). */
int appsync_round(struct appsync *s);

/* Stops the thread and frees s (NULL is fine). */
void appsync_stop(struct appsync *s);

#endif
