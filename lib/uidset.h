/* uidset.h: a set of UIDs (the bodies a mailbox has on the way), with
 * constant-time membership whatever its size: a read-ahead window puts up
 * to a thousand in at once and asks about each.  Any uint32_t is a valid
 * member, 0 included (a hostile server may send it).  The set owns its
 * memory; uidset_free releases it and leaves an empty set.  Not
 * thread-safe: its owner's lock guards it. */
#ifndef IMAPFS_UIDSET_H
#define IMAPFS_UIDSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct uidset {
	uint32_t *slot;   /* open addressing; FREE marks an empty slot */
	size_t cap;       /* 0 or 2^bits */
	unsigned bits;
	size_t n;         /* members stored in slot[] */
	bool has_free;    /* the one value that cannot sit in a slot */
};

#define UIDSET_INIT { NULL, 0, 0, 0, false }

bool uidset_has(const struct uidset *s, uint32_t uid);
/* false when uid was already there */
bool uidset_add(struct uidset *s, uint32_t uid);
/* false when uid was not there */
bool uidset_remove(struct uidset *s, uint32_t uid);
size_t uidset_count(const struct uidset *s);
/* An empty set holds no memory: the last removal frees it too. */
void uidset_free(struct uidset *s);

/* For tests: the slot where the search for uid begins (cap > 0), and
 * whether the table is consistent (every member findable from there, no
 * member twice, the count right, at most half full). */
size_t uidset_home(const struct uidset *s, uint32_t uid);
bool uidset_valid(const struct uidset *s);

#endif
