/* uidset.c: see uidset.h.  Linear probing, at most half full, deletion by
 * shifting the following run back (no tombstones, so a long-lived set of
 * a busy mailbox does not slow down). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "uidset.h"
#include "buf.h"
#include "xalloc.h"

#define FREE UINT32_MAX

/* Fibonacci hashing: the top bits of the product depend on every bit of
 * the UID, so UIDs a multiple of the table size apart do not collide. */
size_t uidset_home(const struct uidset *s, uint32_t uid)
{
	return (size_t)(((uint64_t)uid * UINT64_C(0x9e3779b97f4a7c15)) >> (64 - s->bits));
}

/* the slot holding uid, or the free slot where it would go */
static size_t probe(const struct uidset *s, uint32_t uid)
{
	size_t i = uidset_home(s, uid);
	while (s->slot[i] != FREE && s->slot[i] != uid)
		i = (i + 1) & (s->cap - 1);
	return i;
}

bool uidset_has(const struct uidset *s, uint32_t uid)
{
	if (uid == FREE)
		return s->has_free;
	return s->cap && s->slot[probe(s, uid)] == uid;
}

static void grow(struct uidset *s)
{
	struct uidset bigger = { .bits = s->cap ? s->bits + 1 : 6, .has_free = s->has_free };
	bigger.cap = (size_t)1 << bigger.bits;
	bigger.slot = xmalloc(bigger.cap * sizeof *bigger.slot);
	memset(bigger.slot, 0xff, bigger.cap * sizeof *bigger.slot);  /* every slot FREE */
	for (size_t i = 0; i < s->cap; i++) {
		if (s->slot[i] != FREE) {
			bigger.slot[probe(&bigger, s->slot[i])] = s->slot[i];
			bigger.n++;
		}
	}
	free(s->slot);
	*s = bigger;
}

bool uidset_add(struct uidset *s, uint32_t uid)
{
	if (uid == FREE) {
		bool added = !s->has_free;
		s->has_free = true;
		return added;
	}
	if (2 * (s->n + 1) > s->cap)
		grow(s);
	size_t i = probe(s, uid);
	if (s->slot[i] == uid)
		return false;
	s->slot[i] = uid;
	s->n++;
	return true;
}

bool uidset_remove(struct uidset *s, uint32_t uid)
{
	if (uid == FREE) {
		bool removed = s->has_free;
		s->has_free = false;
		return removed;
	}
	if (!s->cap)
		return false;
	size_t hole = probe(s, uid);
	if (s->slot[hole] != uid)
		return false;
	s->slot[hole] = FREE;
	if (--s->n == 0) {  /* a drained window gives its table back */
		bool keep = s->has_free;
		uidset_free(s);
		s->has_free = keep;
		return true;
	}
	/* a member further on in the run moves back into the hole when its
	 * home is not between the hole and it (cyclically): otherwise a
	 * lookup of it would stop at the hole */
	size_t mask = s->cap - 1;
	for (size_t j = (hole + 1) & mask; s->slot[j] != FREE; j = (j + 1) & mask) {
		size_t h = uidset_home(s, s->slot[j]);
		bool stays = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
		if (!stays) {
			s->slot[hole] = s->slot[j];
			s->slot[j] = FREE;
			hole = j;
		}
	}
	return true;
}

size_t uidset_count(const struct uidset *s)
{
	return s->n + (s->has_free ? 1 : 0);
}

void uidset_free(struct uidset *s)
{
	free(s->slot);
	*s = (struct uidset)UIDSET_INIT;
}

bool uidset_valid(const struct uidset *s)
{
	if (!s->cap)
		return !s->slot && s->n == 0;
	if (s->cap != (size_t)1 << s->bits || 2 * s->n > s->cap)
		return false;
	size_t members = 0, mask = s->cap - 1;
	for (size_t i = 0; i < s->cap; i++) {
		if (s->slot[i] == FREE)
			continue;
		members++;
		/* from its home to here: no free slot, no earlier copy of it (a
		 * later copy finds this one on its own way) */
		for (size_t j = uidset_home(s, s->slot[i]); j != i; j = (j + 1) & mask)
			if (s->slot[j] == FREE || s->slot[j] == s->slot[i])
				return false;
	}
	return members == s->n;
}
