/* slab.h: equal-sized items carved from big blocks, for the structures a
 * big account has one of per message (the kernel's nodes, cached bodies):
 * malloc would add its own header and rounding to each, a sixth or more
 * of such an item.  Freed items are reused, newest first; the blocks go
 * back with slab_destroy only.  Items are zeroed when handed out.
 *
 * Built with AddressSanitizer every item is its own calloc, so a use
 * after slab_free or a lost item still shows.
 *
 * Not thread-safe: the owner's lock guards it. */
#ifndef IMAPFS_SLAB_H
#define IMAPFS_SLAB_H

#include <stddef.h>

struct slab {
	size_t size;          /* of an item, rounded up to a pointer's alignment */
	size_t per_block;
	void *free;           /* the freed items, linked through their first bytes */
	char *block;          /* the newest block; its first word links the older */
	size_t carved;        /* items handed out of the newest block so far */
	size_t live;          /* items handed out and not freed */
	size_t blocks;
};

void slab_init(struct slab *s, size_t item_size);
void *slab_zalloc(struct slab *s);
/* p: NULL, or an item of s not freed since */
void slab_free(struct slab *s, void *p);
/* Frees every block: every item of s is gone. */
void slab_destroy(struct slab *s);
size_t slab_live(const struct slab *s);
/* Bytes the slab holds (its blocks), for tests. */
size_t slab_bytes(const struct slab *s);

#endif
