/* budget.c: the size bound: least recently used packs are evicted to make room. */
#include "config.h"

#include <unistd.h>

#include "cache/cache_impl.h"

/* Under c->mu: p's file goes, and p with it. */
static void cache_pack_evict(struct cache *c, struct cache_pack *p, struct buf *path)
{
	cache_pack_path(path, p);
	unlinkat(c->rootfd, path->data, 0);
	cache_pack_forget(c, p);
}

/* Under c->mu: evicts least recently used packs no writer holds until the
 * disk total is at most limit. */
static void cache_evict_to(struct cache *c, uint64_t limit)
{
	struct buf path = BUF_INIT;
	for (struct cache_pack *p = c->oldest, *next; p && c->disk > limit; p = next) {
		next = p->newer;
		if (!p->busy)
			cache_pack_evict(c, p, &path);
	}
	buf_free(&path);
}

/* Under c->mu: counts n more bytes on disk, first evicting what must go
 * for the total to stay within max_bytes.  false, with nothing evicted or
 * counted, when even evicting every pack no writer holds would not make
 * room: the bytes of writers in progress are the only ones that cannot
 * go. */
bool cache_make_room(struct cache *c, uint64_t n)
{
	if (c->max_bytes && (n > c->max_bytes || c->disk > c->max_bytes - n)) {
		if (n > c->max_bytes)
			return false;
		uint64_t limit = c->max_bytes - n, freeable = 0;
		for (struct cache_pack *p = c->oldest; p && c->disk - freeable > limit; p = p->newer)
			if (!p->busy)
				freeable += p->disk;
		if (c->disk - freeable > limit)
			return false;
		cache_evict_to(c, limit);
	}
	c->disk += n;
	return true;
}

void cache_trim(struct cache *c)
{
	cache_lock(c);
	if (c->max_bytes)
		cache_evict_to(c, c->max_bytes);
	cache_unlock(c);
}

uint64_t cache_bytes(const struct cache *c)
{
	struct cache *m = (struct cache *)c;  /* the mutex is not part of the value */
	cache_lock(m);
	uint64_t n = c->bytes;
	cache_unlock(m);
	return n;
}

uint64_t cache_disk_bytes(const struct cache *c)
{
	struct cache *m = (struct cache *)c;
	cache_lock(m);
	uint64_t n = c->disk;
	cache_unlock(m);
	return n;
}

bool cache_body_fits(const struct cache *c, uint64_t size)
{
	return !c->max_bytes || (size <= c->max_bytes && c->max_bytes - size >= CACHE_REC_HEADER);
}
