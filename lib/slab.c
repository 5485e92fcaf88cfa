/* slab.c: see slab.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "slab.h"
#include "xalloc.h"

#if defined(__SANITIZE_ADDRESS__)
#define SLAB_PLAIN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLAB_PLAIN 1
#endif
#endif

/* About 64 KiB a block: few blocks (a big account needs a few hundred),
 * and little left unused in the newest. */
#define SLAB_BLOCK_BYTES 65536u

void slab_init(struct slab *s, size_t item_size)
{
	memset(s, 0, sizeof *s);
	size_t align = sizeof(void *);
	if (item_size < sizeof(void *))
		item_size = sizeof(void *);
	s->size = (item_size + align - 1) / align * align;
	s->per_block = (SLAB_BLOCK_BYTES - sizeof(void *)) / s->size;
	if (s->per_block < 1)
		s->per_block = 1;
}

#ifdef SLAB_PLAIN

void *slab_zalloc(struct slab *s)
{
	s->live++;
	return xcalloc(1, s->size);
}

void slab_free(struct slab *s, void *p)
{
	if (!p)
		return;
	s->live--;
	free(p);
}

void slab_destroy(struct slab *s)
{
	s->live = 0;
}

#else

void *slab_zalloc(struct slab *s)
{
	void *p = s->free;
	if (p) {
		memcpy(&s->free, p, sizeof(void *));
	} else {
		if (!s->block || s->carved == s->per_block) {
			char *b = xmalloc(sizeof(void *) + s->per_block * s->size);
			memcpy(b, &s->block, sizeof(void *));
			s->block = b;
			s->carved = 0;
			s->blocks++;
		}
		p = s->block + sizeof(void *) + s->carved++ * s->size;
	}
	s->live++;
	return memset(p, 0, s->size);
}

void slab_free(struct slab *s, void *p)
{
	if (!p)
		return;
	memcpy(p, &s->free, sizeof(void *));
	s->free = p;
	s->live--;
}

void slab_destroy(struct slab *s)
{
	while (s->block) {
		char *b = s->block;
		memcpy(&s->block, b, sizeof(void *));
		free(b);
	}
	s->free = NULL;
	s->carved = s->live = s->blocks = 0;
}

#endif

size_t slab_live(const struct slab *s)
{
	return s->live;
}

size_t slab_bytes(const struct slab *s)
{
	return s->blocks * (sizeof(void *) + s->per_block * s->size);
}
