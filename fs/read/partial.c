/* partial.c: big bodies fetched in windows, put together in sparse files. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cancel.h"
#include "log.h"
#include "read/partial.h"
#include "remote/range.h"
#include "remote/select.h"
#include "xalloc.h"

/* The first window is small (head, file, a MUA's headers); sequential
 * reads grow it fourfold.  Windows start on ALIGN boundaries; the one that
 * reaches RFC822.SIZE asks TAIL bytes past it, so its short literal tells
 * where the body really ends. */
enum {
	WINDOW_FIRST = 256 << 10,
	WINDOW_MAX = 16 << 20,
	ALIGN = 64 << 10,
	TAIL = 64 << 10,
};
/* Bodies kept being put together (each holds a scratch file); more are
 * let go, the least recently read first, once idle. */
enum { BODIES_MAX = 8 };
#define UNKNOWN UINT64_MAX

/* Byte ranges [start, end), sorted, disjoint and not touching. */
struct rng {
	uint64_t start, end;
};
struct rngset {
	struct rng *v;
	size_t n, cap;
};

static int cmp_rng(const void *a, const void *b)
{
	const struct rng *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static void set_add(struct rngset *s, uint64_t a, uint64_t b)
{
	if (a >= b)
		return;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->v = xrealloc(s->v, s->cap * sizeof *s->v);
	}
	s->v[s->n++] = (struct rng){ a, b };
	qsort(s->v, s->n, sizeof *s->v, cmp_rng);
	size_t k = 0;
	for (size_t i = 1; i < s->n; i++) {
		if (s->v[i].start <= s->v[k].end) {
			if (s->v[i].end > s->v[k].end)
				s->v[k].end = s->v[i].end;
		} else {
			s->v[++k] = s->v[i];
		}
	}
	s->n = k + 1;
}

static void set_remove(struct rngset *s, uint64_t a, uint64_t b)
{
	struct rngset out = { 0 };
	for (size_t i = 0; i < s->n; i++) {
		struct rng r = s->v[i];
		if (r.end <= a || r.start >= b) {
			set_add(&out, r.start, r.end);
			continue;
		}
		set_add(&out, r.start, a);
		set_add(&out, b, r.end);
	}
	free(s->v);
	*s = out;
}

/* The first part of [a, b) the set lacks: true with it in [*ga, *gb). */
static bool set_gap(const struct rngset *s, uint64_t a, uint64_t b, uint64_t *ga, uint64_t *gb)
{
	uint64_t pos = a;
	for (size_t i = 0; i < s->n && pos < b; i++) {
		if (s->v[i].end <= pos)
			continue;
		if (s->v[i].start > pos) {
			*ga = pos;
			*gb = s->v[i].start < b ? s->v[i].start : b;
			return true;
		}
		pos = s->v[i].end;
	}
	if (pos >= b)
		return false;
	*ga = pos;
	*gb = b;
	return true;
}

static bool set_covers(const struct rngset *s, uint64_t a, uint64_t b)
{
	uint64_t ga, gb;
	return a >= b || !set_gap(s, a, b, &ga, &gb);
}

struct win {
	uint64_t start, len;
};

/* One body being put together; fields under pt->lock. */
struct pbody {
	struct partial *pt;
	struct mbox *m;                /* a reference */
	uint32_t uidvalidity, uid;
	uint64_t declared;             /* RFC822.SIZE */
	int fd;                        /* the scratch file */
	struct rngset have, asked;     /* bytes written; bytes written or on their way */
	uint64_t end;                  /* the real length: UNKNOWN until a short literal */
	uint64_t end_below;            /* no byte at or past this (an empty answer's origin) */
	uint64_t read_end;             /* where the last read ended */
	uint64_t stream_end;           /* how far the sequential run has asked */
	uint64_t mark;                 /* a read past it asks for the next window */
	uint64_t window;
	struct win *queue;             /* asked, not yet sent */
	size_t nqueue, capqueue;
	bool fetching;                 /* a thread sends the queue */
	bool joinable;                 /* thread is to be joined */
	bool committed;                /* in the cache: read from there */
	pthread_t thread;
	unsigned readers;              /* inside partial_read */
	unsigned long used;            /* when last read (pt->clock) */
	struct pbody *next;
};

struct partial {
	struct pool *pool;
	struct cache *cache;
	prefetch_arrived_fn on_arrival;
	void *ctx;
	pthread_mutex_t lock;
	pthread_cond_t changed;        /* a window came or failed, a fetcher ended */
	struct pbody *bodies;
	size_t nbodies;
	unsigned long clock;
	bool stop;
};

struct partial *partial_new(struct pool *p, struct cache *cache, prefetch_arrived_fn on_arrival, void *ctx)
{
	struct partial *pt = xcalloc(1, sizeof *pt);
	pt->pool = p;
	pt->cache = cache;
	pt->on_arrival = on_arrival;
	pt->ctx = ctx;
	pthread_mutex_init(&pt->lock, NULL);
	pthread_cond_init(&pt->changed, NULL);
	return pt;
}

/* ---- fetching ---- */

static void start_fetcher(struct partial *pt, struct pbody *e);

/* Asks for [s, s + w) of what is neither there nor on its way (pt->lock
 * held).  Never up to exactly RFC822.SIZE: past it, so the end shows. */
static void ask(struct partial *pt, struct pbody *e, uint64_t s, uint64_t w)
{
	uint64_t stop = s + w;
	if (e->end != UNKNOWN) {
		if (stop > e->end)
			stop = e->end;
	} else if (s < e->declared && stop >= e->declared) {
		stop = e->declared + TAIL;
	}
	if (stop > e->end_below)
		stop = e->end_below;
	uint64_t ga, gb;
	for (uint64_t pos = s; pos < stop && set_gap(&e->asked, pos, stop, &ga, &gb); pos = gb) {
		if (e->nqueue == e->capqueue) {
			e->capqueue = e->capqueue ? e->capqueue * 2 : 4;
			e->queue = xrealloc(e->queue, e->capqueue * sizeof *e->queue);
		}
		e->queue[e->nqueue++] = (struct win){ ga, gb - ga };
		set_add(&e->asked, ga, gb);
	}
	if (stop > e->stream_end)
		e->stream_end = stop;
	start_fetcher(pt, e);
}

/* range.h's report of a window (the fetching thread, pt->lock not held). */
static void window_arrived(void *ctx, uint64_t start, uint64_t len, bool ok, uint64_t got, uint64_t lit)
{
	struct pbody *e = ctx;
	struct partial *pt = e->pt;
	/* the body ends in this window; an empty answer only says where when
	 * the byte before it is known to be there */
	pthread_mutex_lock(&pt->lock);
	bool ends = ok && lit < len && e->end == UNKNOWN &&
		    (lit > 0 || start == 0 || set_covers(&e->have, start - 1, start));
	pthread_mutex_unlock(&pt->lock);
	/* the file shows its real size before a reader hears of these bytes
	 * (only this thread fetches e: e->end is still unknown below) */
	if (ends && start + lit != e->declared && pt->on_arrival)
		pt->on_arrival(pt->ctx, e->m, e->uidvalidity, e->uid, start + lit);
	pthread_mutex_lock(&pt->lock);
	if (!ok) {
		/* a later read asks for it again */
		set_remove(&e->asked, start, start + len);
	} else if (lit < len) {
		set_add(&e->have, start, start + got);
		if (ends) {
			e->end = start + lit;
		} else if (e->end == UNKNOWN && start < e->end_below) {
			e->end_below = start;
		}
	} else {
		set_add(&e->have, start, start + got);
		/* longer than RFC822.SIZE said: the end is further on */
		if (e->end == UNKNOWN && start + len > e->declared) {
			if (cache_body_fits(pt->cache, start + len + e->window))
				ask(pt, e, start + len, e->window);
			else
				e->end_below = start + len;
		}
	}
	pthread_cond_broadcast(&pt->changed);
	pthread_mutex_unlock(&pt->lock);
}

/* The first got bytes of a window streaming in are there: readers of
 * them go on before the rest arrives (and a sequential one asks for the
 * next window sooner). */
static void window_progress(void *ctx, uint64_t start, uint64_t got)
{
	struct pbody *e = ctx;
	struct partial *pt = e->pt;
	pthread_mutex_lock(&pt->lock);
	set_add(&e->have, start, start + got);
	pthread_cond_broadcast(&pt->changed);
	pthread_mutex_unlock(&pt->lock);
}

/* A connection with e's mailbox selected, of the right generation, and a
 * stream of windows on it. */
static int open_stream(struct partial *pt, struct pbody *e, struct pool_conn **c, struct range_stream **st)
{
	int rc = pool_get(pt->pool, e->m->name, c);
	if (rc < 0) {
		*c = NULL;
		return rc;
	}
	rc = select_mailbox(*c, e->m->name, false);
	if (rc == 0 && (*c)->uidvalidity != e->uidvalidity) {
		fs_log(LOG_NOTICE, "%s: UIDVALIDITY is now %u, not %u: nothing fetched", e->m->path,
		       (*c)->uidvalidity, e->uidvalidity);
		rc = -ESTALE;
	}
	if (rc < 0)
		return rc;
	range_begin(st, *c, e->uid, e->fd, window_arrived, window_progress, e);
	return 0;
}

/* Once every byte up to the end is there, the body goes into the cache
 * like any other: the next mount reads it from there. */
static void commit_if_complete(struct partial *pt, struct pbody *e)
{
	pthread_mutex_lock(&pt->lock);
	bool complete = !e->committed && e->end != UNKNOWN && set_covers(&e->have, 0, e->end);
	uint64_t end = e->end;
	pthread_mutex_unlock(&pt->lock);
	if (!complete)
		return;
	struct cache_writer *w = NULL;
	struct buf err = BUF_INIT;
	int rc = cache_body_begin(pt->cache, e->m->name, e->uidvalidity, e->uid, &w, &err);
	char *chunk = xmalloc(256 << 10);
	for (uint64_t pos = 0; rc == 0 && pos < end;) {
		size_t want = end - pos < (256 << 10) ? (size_t)(end - pos) : (256 << 10);
		ssize_t k = pread(e->fd, chunk, want, (off_t)pos);
		if (k <= 0 || cache_writer_write(w, chunk, (size_t)k) < 0) {
			rc = -1;
			break;
		}
		pos += (uint64_t)k;
	}
	free(chunk);
	uint64_t size = 0;
	if (rc == 0)
		rc = cache_writer_commit(w, &size, &err);
	else if (w)
		cache_writer_abort(w);
	if (rc < 0)
		fs_log(LOG_WARNING, "%s/%u.eml: not cached (%s); read from its partial copy", e->m->path,
		       e->uid, err.len ? err.data : strerror(errno));
	buf_free(&err);
	if (rc < 0)
		return;
	pthread_mutex_lock(&pt->lock);
	e->committed = true;
	close(e->fd);  /* readers take the cache's copy from now on */
	e->fd = -1;
	pthread_mutex_unlock(&pt->lock);
	if (pt->on_arrival)
		pt->on_arrival(pt->ctx, e->m, e->uidvalidity, e->uid, size);
}

/* Sends e's queued windows on one connection, pipelined behind those in
 * flight, until none is left; a failed connection is given up and the
 * windows asked for meanwhile go on a fresh one. */
static void *fetcher(void *arg)
{
	struct pbody *e = arg;
	struct partial *pt = e->pt;
	pthread_mutex_lock(&pt->lock);
	while (e->nqueue && !pt->stop) {
		struct pool_conn *c = NULL;
		struct range_stream *st = NULL;
		bool opened = false;
		for (;;) {
			struct win *take = NULL;
			size_t ntake = 0;
			if (!pt->stop && e->nqueue) {
				take = e->queue;
				ntake = e->nqueue;
				e->queue = NULL;
				e->nqueue = e->capqueue = 0;
			}
			if (!ntake && (!st || !range_pending(st)))
				break;
			pthread_mutex_unlock(&pt->lock);
			if (ntake && !opened) {
				opened = true;
				open_stream(pt, e, &c, &st);
			}
			for (size_t i = 0; i < ntake; i++) {
				if (st)
					range_add(st, take[i].start, take[i].len);
				else
					window_arrived(e, take[i].start, take[i].len, false, 0, 0);
			}
			free(take);
			bool lost = st && range_pending(st) && range_step(st) < 0;
			pthread_mutex_lock(&pt->lock);
			if (lost || (opened && !st))
				break;
		}
		pthread_mutex_unlock(&pt->lock);
		if (st)
			range_end(st);
		if (c)
			pool_put(pt->pool, c);
		commit_if_complete(pt, e);
		pthread_mutex_lock(&pt->lock);
		if (opened && !st)
			break;  /* no connection: the readers see their windows fail */
	}
	/* stopping, or no connection to be had: nobody sends these, and their
	 * readers must see them fail (and ask once more) instead of waiting */
	for (size_t i = 0; i < e->nqueue; i++)
		set_remove(&e->asked, e->queue[i].start, e->queue[i].start + e->queue[i].len);
	e->nqueue = 0;
	e->fetching = false;
	pthread_cond_broadcast(&pt->changed);
	pthread_mutex_unlock(&pt->lock);
	return NULL;
}

/* pt->lock held. */
static void start_fetcher(struct partial *pt, struct pbody *e)
{
	if (e->fetching || !e->nqueue || pt->stop)
		return;
	if (e->joinable)  /* it ended (fetching false): the join is immediate */
		pthread_join(e->thread, NULL);
	e->joinable = false;
	if (pthread_create(&e->thread, NULL, fetcher, e) != 0) {
		for (size_t i = 0; i < e->nqueue; i++)
			set_remove(&e->asked, e->queue[i].start, e->queue[i].start + e->queue[i].len);
		e->nqueue = 0;
		pthread_cond_broadcast(&pt->changed);
		return;
	}
	e->fetching = e->joinable = true;
}

/* ---- bodies ---- */

static void body_free(struct pbody *e)
{
	if (e->joinable)
		pthread_join(e->thread, NULL);
	if (e->fd >= 0)
		close(e->fd);
	mbox_put(e->m);
	free(e->have.v);
	free(e->asked.v);
	free(e->queue);
	free(e);
}

/* Lets the least recently read idle body go when there are too many
 * (pt->lock held). */
static void bodies_trim(struct partial *pt)
{
	while (pt->nbodies >= BODIES_MAX) {
		struct pbody **victim = NULL;
		for (struct pbody **pp = &pt->bodies; *pp; pp = &(*pp)->next)
			if (!(*pp)->fetching && !(*pp)->readers && (!victim || (*pp)->used < (*victim)->used))
				victim = pp;
		if (!victim)
			return;
		struct pbody *e = *victim;
		*victim = e->next;
		pt->nbodies--;
		body_free(e);
	}
}

/* pt->lock held; NULL with errno when no scratch file can be had. */
static struct pbody *body_get(struct partial *pt, struct mbox *m, uint32_t uidvalidity, uint32_t uid,
			      uint64_t declared)
{
	for (struct pbody *e = pt->bodies; e; e = e->next)
		if (e->m == m && e->uidvalidity == uidvalidity && e->uid == uid)
			return e;
	bodies_trim(pt);
	int fd = cache_scratch_fd(pt->cache);
	if (fd < 0)
		return NULL;
	struct pbody *e = xcalloc(1, sizeof *e);
	e->pt = pt;
	e->m = m;
	mbox_get(m);
	e->uidvalidity = uidvalidity;
	e->uid = uid;
	e->declared = declared;
	e->fd = fd;
	e->end = e->end_below = UNKNOWN;
	e->window = WINDOW_FIRST;
	e->read_end = UNKNOWN;
	e->next = pt->bodies;
	pt->bodies = e;
	pt->nbodies++;
	return e;
}

/* Where a read of [off, off + len) fits the reader's run.  A jump asks
 * for a small window around it.  Sequential reads (the kernel's
 * read-ahead may skip a little) that pass the mark grow the window
 * fourfold and ask for the next one, so it is on its way before the
 * reader gets there. */
static void plan(struct partial *pt, struct pbody *e, uint64_t off, uint64_t len)
{
	uint64_t slack = e->read_end < WINDOW_FIRST ? e->read_end : WINDOW_FIRST;
	bool sequential = e->read_end != UNKNOWN && off + slack >= e->read_end && off <= e->stream_end;
	uint64_t from = off / ALIGN * ALIGN;
	if (!sequential) {
		uint64_t w = off + len - from > WINDOW_FIRST ? off + len - from : WINDOW_FIRST;
		e->window = WINDOW_FIRST;
		e->stream_end = from;
		ask(pt, e, from, w);
		e->mark = from + w / 2;
	} else if (off + len > e->mark) {
		if (e->window < WINDOW_MAX)
			e->window *= 4;
		e->mark = e->stream_end;
		ask(pt, e, e->stream_end, e->window);
	}
	e->read_end = off + len;
	/* what a failed window did not bring */
	ask(pt, e, from, off + len - from);
}

/* The body was committed, and is no longer in the cache (evicted): it is
 * put together again (pt->lock held, e not fetching). */
static int body_restart(struct partial *pt, struct pbody *e)
{
	int fd = cache_scratch_fd(pt->cache);
	if (fd < 0)
		return -errno;
	e->fd = fd;
	e->have.n = e->asked.n = 0;
	e->end = e->end_below = e->read_end = UNKNOWN;
	e->window = WINDOW_FIRST;
	e->committed = false;
	return 0;
}

int partial_read(struct partial *pt, struct mbox *m, uint32_t uidvalidity, uint32_t uid, uint64_t declared,
		 uint64_t off, uint64_t len, struct cache_span *out)
{
	pthread_mutex_lock(&pt->lock);
	if (pt->stop) {
		pthread_mutex_unlock(&pt->lock);
		return -EIO;
	}
	struct pbody *e = body_get(pt, m, uidvalidity, uid, declared);
	if (!e) {
		int err = errno;
		pthread_mutex_unlock(&pt->lock);
		fs_log(LOG_ERR, "%s/%u.eml: no scratch file in the cache: %s", m->path, uid, strerror(err));
		return -EIO;
	}
	e->used = ++pt->clock;
	e->readers++;
	int rc = 0;
	if (e->committed) {
		pthread_mutex_unlock(&pt->lock);
		rc = cache_body_get(pt->cache, m->name, uidvalidity, uid, out) == 0 ? 1 : 0;
		pthread_mutex_lock(&pt->lock);
		if (!rc && e->committed && !e->fetching)
			rc = body_restart(pt, e);
		else if (!rc)
			rc = -EIO;
		if (rc) {
			e->readers--;
			pthread_mutex_unlock(&pt->lock);
			return rc > 0 ? 0 : rc;
		}
	}
	plan(pt, e, off, len);
	for (int attempt = 0; attempt < 2; attempt++) {
		for (;;) {
			uint64_t end = off + len;
			if (e->end != UNKNOWN && end > e->end)
				end = e->end;
			if (end > e->end_below)
				end = e->end_below;
			if (set_covers(&e->have, off, end)) {
				rc = 0;
				break;
			}
			/* neither there nor on its way: its window failed */
			if (pt->stop || !set_covers(&e->asked, off, end)) {
				rc = -EIO;
				break;
			}
			if (fs_cond_wait(&pt->changed, &pt->lock) < 0) {
				rc = -EINTR;
				break;
			}
		}
		if (rc != -EIO || pt->stop || attempt > 0)
			break;
		ask(pt, e, off / ALIGN * ALIGN, e->window);  /* once more, maybe on a fresh connection */
	}
	uint64_t size = e->end != UNKNOWN ? e->end : e->declared;
	if (rc == 0 && e->end == UNKNOWN && off >= e->end_below)
		size = off;  /* nothing there */
	bool committed = e->committed;  /* while this reader waited */
	int fd = rc == 0 && !committed ? fcntl(e->fd, F_DUPFD_CLOEXEC, 0) : -1;
	if (rc == 0 && !committed && fd < 0)
		rc = -errno;
	e->readers--;
	pthread_mutex_unlock(&pt->lock);
	if (rc == 0 && committed)
		return cache_body_get(pt->cache, m->name, uidvalidity, uid, out) == 0 ? 0 : -EIO;
	if (rc == 0)
		*out = (struct cache_span){ .fd = fd, .offset = 0, .size = size };
	return rc;
}

void partial_stop(struct partial *pt)
{
	if (!pt)
		return;
	pthread_mutex_lock(&pt->lock);
	pt->stop = true;
	pthread_cond_broadcast(&pt->changed);
	for (struct pbody *e = pt->bodies; e; e = e->next) {
		if (!e->joinable)
			continue;
		pthread_mutex_unlock(&pt->lock);
		pthread_join(e->thread, NULL);
		pthread_mutex_lock(&pt->lock);
		e->joinable = false;
	}
	pthread_mutex_unlock(&pt->lock);
}

void partial_free(struct partial *pt)
{
	if (!pt)
		return;
	partial_stop(pt);
	while (pt->bodies) {
		struct pbody *e = pt->bodies;
		pt->bodies = e->next;
		body_free(e);
	}
	pthread_cond_destroy(&pt->changed);
	pthread_mutex_destroy(&pt->lock);
	free(pt);
}
