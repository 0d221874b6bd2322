#include <stddef.h>

#include "common/snapshot.h"

void
yh_snap_init(struct yh_snap *s, void (*free_fn)(struct yh_snap *))
{
	s->refs = 1;
	s->free_fn = free_fn;
}

int
yh_snap_slot_init(struct yh_snap_slot *slot)
{
	slot->cur = NULL;
	return pthread_mutex_init(&slot->mu, NULL) == 0 ? 0 : YH_ERR_INTERNAL;
}

void
yh_snap_slot_destroy(struct yh_snap_slot *slot)
{
	yh_snap_release(slot->cur);
	slot->cur = NULL;
	pthread_mutex_destroy(&slot->mu);
}

void
yh_snap_publish(struct yh_snap_slot *slot, struct yh_snap *s)
{
	struct yh_snap *old;

	pthread_mutex_lock(&slot->mu);
	old = slot->cur;
	slot->cur = s;
	pthread_mutex_unlock(&slot->mu);
	yh_snap_release(old);
}
