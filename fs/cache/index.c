/* index.c: the index of bodies (under c->mu): records, packs, the LRU list. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/cache_impl.h"
#include "xalloc.h"

struct cache_rec **cache_rec_slot(struct cache *c, const struct cache_box *b, uint32_t uidvalidity,
				  uint32_t uid)
{
	struct cache_rec **p = &c->recs[cache_rec_hash(b, uidvalidity, uid) % c->nrec_buckets];
	for (; *p; p = &(*p)->hnext)
		if ((*p)->uid == uid && (*p)->pack->box == b && (*p)->pack->uidvalidity == uidvalidity)
			break;
	return p;
}

static void cache_lru_unlink(struct cache *c, struct cache_pack *p)
{
	if (p->older)
		p->older->newer = p->newer;
	else if (c->oldest == p)
		c->oldest = p->newer;
	if (p->newer)
		p->newer->older = p->older;
	else if (c->newest == p)
		c->newest = p->older;
	p->older = p->newer = NULL;
}

static void cache_lru_push_newest(struct cache *c, struct cache_pack *p)
{
	p->older = c->newest;
	p->newer = NULL;
	if (c->newest)
		c->newest->newer = p;
	else
		c->oldest = p;
	c->newest = p;
}

void cache_pack_touch(struct cache *c, struct cache_pack *p)
{
	if (c->newest != p) {
		cache_lru_unlink(c, p);
		cache_lru_push_newest(c, p);
	}
}

static void cache_recs_grow(struct cache *c)
{
	size_t n = c->nrec_buckets * 2;
	struct cache_rec **t = xcalloc(n, sizeof *t);

	for (size_t i = 0; i < c->nrec_buckets; i++) {
		struct cache_rec *r = c->recs[i], *next;
		for (; r; r = next) {
			next = r->hnext;
			size_t k = cache_rec_hash(r->pack->box, r->pack->uidvalidity, r->uid) % n;
			r->hnext = t[k];
			t[k] = r;
		}
	}
	free(c->recs);
	c->recs = t;
	c->nrec_buckets = n;
}

static void cache_index_remove(struct cache *c, struct cache_rec *r)
{
	struct cache_rec **slot = cache_rec_slot(c, r->pack->box, r->pack->uidvalidity, r->uid);
	*slot = r->hnext;
	if (r->pnext)
		r->pnext->pprev = r->pprev;
	*r->pprev = r->pnext;
	r->pack->bytes -= r->size;
	c->bytes -= r->size;
	c->nrecs--;
	slab_free(&c->rec_slab, r);
}

/* Records a body at offset in pack, replacing an older record of the same
 * body (whose bytes stay in their pack, unused, until it goes). */
void cache_index_put(struct cache *c, struct cache_pack *p, uint32_t uid, uint64_t offset, uint64_t size)
{
	struct cache_rec **slot = cache_rec_slot(c, p->box, p->uidvalidity, uid);
	if (*slot) {
		cache_index_remove(c, *slot);
		slot = cache_rec_slot(c, p->box, p->uidvalidity, uid);
	}
	if (c->nrecs >= c->nrec_buckets) {
		cache_recs_grow(c);
		slot = cache_rec_slot(c, p->box, p->uidvalidity, uid);
	}
	struct cache_rec *r = slab_zalloc(&c->rec_slab);
	r->uid = uid;
	r->offset = offset;
	r->size = size;
	r->pack = p;
	r->pnext = p->recs;
	if (p->recs)
		p->recs->pprev = &r->pnext;
	r->pprev = &p->recs;
	p->recs = r;
	*slot = r;
	c->nrecs++;
	p->bytes += size;
	c->bytes += size;
}

struct cache_pack *cache_pack_new(struct cache *c, struct cache_box *b, uint32_t uidvalidity,
				  const char *name)
{
	struct cache_pack *p = xcalloc(1, sizeof *p);
	p->box = b;
	p->uidvalidity = uidvalidity;
	snprintf(p->name, sizeof p->name, "%s", name);
	p->wfd = p->rfd = -1;
	cache_lru_push_newest(c, p);
	return p;
}

static void cache_pack_close_rfd(struct cache *c, struct cache_pack *p)
{
	if (p->rfd >= 0) {
		close(p->rfd);
		p->rfd = -1;
		c->nrfds--;
	}
}

void cache_pack_seal(struct cache *c, struct cache_pack *p)
{
	if (p->sealed)
		return;
	p->sealed = true;
	for (struct cache_pack **pp = &c->unsealed; *pp; pp = &(*pp)->onext) {
		if (*pp == p) {
			*pp = p->onext;
			c->nunsealed--;
			break;
		}
	}
	p->onext = NULL;
	if (p->wfd >= 0 && !p->busy) {
		close(p->wfd);
		p->wfd = -1;
	}
}

void cache_pack_free(struct cache_pack *p)
{
	if (p->wfd >= 0)
		close(p->wfd);
	free(p);
}

/* Takes p and its bodies out of the index (its file is the caller's
 * business).  A busy pack is left to its writer, whose commit then fails. */
void cache_pack_forget(struct cache *c, struct cache_pack *p)
{
	while (p->recs)
		cache_index_remove(c, p->recs);
	c->disk -= p->disk;
	p->disk = 0;
	cache_lru_unlink(c, p);
	cache_pack_seal(c, p);
	cache_pack_close_rfd(c, p);
	if (p->busy)
		p->gone = true;
	else
		cache_pack_free(p);
}

/* A read fd of p, kept open while p is among the recently read. */
int cache_pack_rfd(struct cache *c, struct cache_pack *p)
{
	if (p->rfd >= 0)
		return p->rfd;
	struct buf path = BUF_INIT;
	cache_pack_path(&path, p);
	int fd = openat(c->rootfd, path.data, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	buf_free(&path);
	struct stat st;
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
		errno = ENOENT;
	}
	if (fd < 0)
		return -1;
	p->rfd = fd;
	c->nrfds++;
	for (struct cache_pack *q = c->oldest; q && c->nrfds > CACHE_RFDS_MAX; q = q->newer)
		if (q != p)
			cache_pack_close_rfd(c, q);
	return fd;
}
