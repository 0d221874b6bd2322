/*
 * Reference-counted immutable snapshots published in a slot (prefix yh_snap_).
 *
 * A module that serves many threads from data it reloads now and then (the client
 * registry, the signing key ring) builds a new immutable snapshot, publishes it in its
 * slot, and lets readers take references to whatever is current. A reader's snapshot
 * never changes under it; the one that was replaced is freed when its last reader lets
 * go. The snapshot type embeds a struct yh_snap and names the function that frees it.
 *
 * The read path (yh_snap_acquire, yh_snap_release) is one uncontended mutex around a
 * pointer load and one atomic increment, then one atomic decrement: a few tens of
 * nanoseconds, cheap enough for every request. Publishing never waits for readers.
 */
#ifndef YH_COMMON_SNAPSHOT_H
#define YH_COMMON_SNAPSHOT_H

#include <pthread.h>
#include <stddef.h>

#include "common/err.h"

/* The header a snapshot type embeds. */
struct yh_snap {
	int refs;                              /* atomic */
	void (*free_fn)(struct yh_snap *);     /* frees the whole snapshot */
};

/* The snapshot of type type whose struct yh_snap member is named member, from a pointer
 * h to that member (not NULL). */
#define YH_SNAP_OF(h, type, member) ((type *)((char *)(h) - offsetof(type, member)))

/* Where the current snapshot is published. */
struct yh_snap_slot {
	pthread_mutex_t mu;                    /* guards cur */
	struct yh_snap *cur;
};

/* Starts s with one reference (the builder's) and the function that frees it. */
void yh_snap_init(struct yh_snap *s, void (*free_fn)(struct yh_snap *));

/* Drops one reference; the last one calls free_fn. NULL is fine. Inline: the read path
 * of every request. */
static inline void
yh_snap_release(struct yh_snap *s)
{
	if (s != NULL && __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0)
		s->free_fn(s);
}

/* An empty slot (yh_snap_acquire gives NULL until the first publish). Returns 0 or
 * YH_ERR_INTERNAL (the mutex could not be made). */
int yh_snap_slot_init(struct yh_snap_slot *slot) YH_WUR;

/* Drops the slot's reference to its snapshot and the mutex. Readers' references stay
 * valid until released. */
void yh_snap_slot_destroy(struct yh_snap_slot *slot);

/* A new reference to the current snapshot (NULL when none was published yet); the
 * caller drops it with yh_snap_release. Any number of threads at once. Inline, as is
 * yh_snap_release. */
static inline struct yh_snap *
yh_snap_acquire(struct yh_snap_slot *slot)
{
	struct yh_snap *s;

	pthread_mutex_lock(&slot->mu);
	if ((s = slot->cur) != NULL)
		__atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&slot->mu);
	return s;
}

/* Makes s current, taking over the caller's reference, and drops the slot's reference
 * to the previous one. */
void yh_snap_publish(struct yh_snap_slot *slot, struct yh_snap *s);

#endif
