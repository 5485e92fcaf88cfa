/* prefetch.c: read-ahead windows fetched by worker threads. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cancel.h"
#include "log.h"
#include "remote/fetch.h"
#include "remote/select.h"
#include "read/partial.h"
#include "read/prefetch.h"
#include "read/prefetch_impl.h"
#include "uidset.h"
#include "worker.h"
#include "xalloc.h"

/* WINDOW_SCAN: the first window of a folder a scan is about to enter */
enum { WINDOW_FIRST = 8, WINDOW_SCAN = 256, WINDOW_MAX = 1024 };
/* How many folders the listings a scan's end queues go through at most,
 * from the last of the FOLDERS_AHEAD on, while they are small enough to be
 * fetched whole (or empty): their reads, if any, come too late to ask for
 * the next ones in time. */
enum { SCAN_CHAIN = 8 };
/* How far an open may land outside a reader's planned positions and
 * still be its: threads taking a walk's files race each other. */
enum { STREAM_SLACK = WINDOW_FIRST };
/* A window read downwards goes in pieces, the highest first: a FETCH
 * answers in ascending order, and the reader wants the highest first. */
enum { DOWN_PIECE = 32 };
/* Bodies read ahead and not yet arrived, over all folders: beyond it a
 * reader gets what it waits for, and read-ahead waits for room. */
enum { AHEAD_BUDGET = 4096 };
/* How many folders past the one a scan finishes are brought in at once,
 * listed by the lister (and streamers with nothing to stream): the
 * listings and first bodies of the next ones are then on their way
 * folders before the scan gets there, so a long round trip is paid per
 * connection, not per folder. */
enum { FOLDERS_AHEAD = 5 };
/* How long after opening a folder as a directory a process reading its
 * first message is taken to walk it: grep -r, tar and cp read at once; a
 * file manager's viewer opened by hand comes later, and fetching the
 * folder for it would be a waste on a thin link (rsync, which lists the
 * whole tree first, may miss it: only its first folder then starts
 * small). */
enum { WALK_AGE = 10 };

/* m's read-ahead state, made at its first use (m->lock held). */
static struct ahead *ahead_of(struct mbox *m)
{
	if (!m->ahead)
		m->ahead = xcalloc(1, sizeof *m->ahead);
	return m->ahead;
}

/* The tree's ahead_free: an entry goes. */
static void ahead_free(struct ahead *a)
{
	uidset_free(&a->inflight);
	free(a);
}

bool prefetch_in_flight(struct mbox *m, uint32_t uid)
{
	return m->ahead && uidset_has(&m->ahead->inflight, uid);
}

/* ---- workers ---- */

struct job_ctx {
	struct prefetch *pf;
	struct mbox *m;
	uint32_t uidvalidity;
};

static void body_arrived(void *ctx, uint32_t uid, bool ok, uint64_t size)
{
	struct job_ctx *j = ctx;
	if (ok && j->pf->on_arrival)
		j->pf->on_arrival(j->pf->ctx, j->m, j->uidvalidity, uid, size);
	pthread_mutex_lock(&j->m->lock);
	struct ahead *a = ahead_of(j->m);
	if (uidset_remove(&a->inflight, uid))
		atomic_fetch_sub(&j->pf->inflight, 1);
	/* wake readers only for what they wait for: a window of a thousand
	 * bodies would otherwise wake a waiting reader a thousand times */
	if (a->waited_uid == uid || a->waiters > 1)
		pthread_cond_broadcast(&j->m->changed);
	pthread_mutex_unlock(&j->m->lock);
}

static long long job_clock_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* Streams job's mailbox on one connection: the jobs the reader queues for
 * it meanwhile are pipelined behind the FETCH in flight, so its bodies
 * come in the order they are wanted, with no round trip between windows,
 * and no other worker's FETCH of the same mailbox competes with the one
 * the reader waits for.  Returns with pf->w.lock held and the mailbox no
 * longer streamed by self. */
static void run_stream(struct prefetch *pf, unsigned self, struct job *job)
{
	long long t0 = job_clock_us();
	struct mbox *m = job->m;
	mbox_get(m);  /* the job goes before the stream ends */
	uint32_t uidvalidity = job->uidvalidity;
	struct job_ctx jc = { pf, m, uidvalidity };
	struct fetch_stream *st = NULL;
	struct pool_conn *c = NULL;
	size_t nbodies = job->n;
	struct imap_cmd *sel = NULL;
	int rc = pool_get(pf->pool, m->name, &c);
	if (rc == 0) {
		/* EXAMINE and FETCH go out together; fetch.c stores nothing unless
		 * the server named the expected UIDVALIDITY first */
		rc = select_begin(c, m->name, false, &sel);
		if (rc == 0) {
			fetch_stream_begin(&st, c, pf->cache, m->name, uidvalidity, body_arrived, &jc);
			fetch_stream_add(st, job->uids, job->n);
		}
	}
	if (!st) {
		for (size_t i = 0; i < job->n; i++)
			body_arrived(&jc, job->uids[i], false, 0);
	}
	job_free(job);
	while (st && rc == 0) {
		struct job *more = NULL, **tail = &more;
		pthread_mutex_lock(&pf->w.lock);
		while ((*tail = job_take(pf, TAKE_BODIES_OF_M, m, uidvalidity)))
			tail = &(*tail)->next;
		if (!more && !fetch_stream_pending(st) && !sel) {
			pf->streaming[self] = NULL;
			pthread_mutex_unlock(&pf->w.lock);
			break;
		}
		pthread_mutex_unlock(&pf->w.lock);
		while (more) {
			struct job *j = more;
			more = j->next;
			fetch_stream_add(st, j->uids, j->n);
			nbodies += j->n;
			job_free(j);
		}
		/* the EXAMINE is seen through while the FETCHes behind it are
		 * already out, and the windows queued meanwhile go right behind */
		if (fetch_stream_pending(st) && fetch_stream_step(st) < 0)
			break;
		if (sel && (!c->s || imap_cmd_done(sel) || !fetch_stream_pending(st))) {
			rc = c->s ? select_end(c, sel, m->name, false) : -EIO;
			if (!c->s)
				imap_cmd_free(sel);
			sel = NULL;
			if (rc == 0 && c->uidvalidity != uidvalidity) {
				fs_log(LOG_NOTICE, "%s: UIDVALIDITY is now %u, not %u: nothing fetched", m->path,
				       c->uidvalidity, uidvalidity);
				rc = -ESTALE;
			}
		}
	}
	if (sel) {  /* the connection failed before the EXAMINE's answer */
		if (c->s)
			select_end(c, sel, m->name, false);
		else
			imap_cmd_free(sel);
	}
	if (st)
		fetch_stream_end(st);
	if (c)
		pool_put(pf->pool, c);
	cache_trim(pf->cache);
	fs_log(LOG_DEBUG, "prefetch %s: %zu bodies in %lld us", m->path, nbodies, job_clock_us() - t0);
	pthread_mutex_lock(&pf->w.lock);
	/* jobs of the mailbox left behind (another generation, or queued after
	 * a failure) are anyone's now; the slot is cleared before the
	 * reference goes, as job_take compares queued jobs' mailboxes with it */
	pf->streaming[self] = NULL;
	mbox_put(m);
	if (pf->head)
		worker_wake_all(&pf->w);
}

static void queue_window(struct prefetch *pf, struct mbox *m, size_t from, size_t to);
static bool ahead_unread(struct mbox *m);
static void plan_scan(struct prefetch *pf, struct mbox *m);

static bool enqueue_listing(struct prefetch *pf, struct mbox *m, unsigned chain, unsigned walk_pos);

/* A scan is coming to job->m: it is listed and its first windows queued,
 * so the scan pays no round trip when it enters it; when that is the whole
 * folder (the scan goes through it at once), the one after it too, as
 * another job, so windows queued meanwhile are not held up behind a chain
 * of listings, up to job->chain folders on. */
static void run_listing(struct prefetch *pf, struct job *job)
{
	struct mbox *m = job->m;
	unsigned chain = job->chain, walk_pos = job->walk_pos;
	mbox_get(m);
	job_free(job);
	if (mbox_refresh_ahead(m, pf->pool, pf->cache, pf->listing_max_age) < 0) {
		mbox_put(m);
		return;
	}
	pthread_mutex_lock(&m->lock);
	bool whole = m->listing.n <= WINDOW_SCAN;
	if (m->loaded && ahead_unread(m)) {
		atomic_store(&ahead_of(m)->walk_pos, walk_pos);
		job_plan_begin(pf);
		plan_scan(pf, m);
		job_plan_end(pf);
	}
	pthread_mutex_unlock(&m->lock);
	struct mbox *next = whole && chain ? mtree_scan_next(pf->tree, m) : NULL;
	if (next) {
		enqueue_listing(pf, next, chain - 1, walk_pos + 1);
		mbox_put(next);
	}
	mbox_put(m);
}

struct take {
	struct prefetch *pf;
	unsigned self;
	struct job *job;
};

/* A streamer takes bodies first, listings when there are none; the
 * lister only listings, so the next folders of a scan are listed while
 * every streamer is busy, and a foreground request waits at most a
 * listing's round trip for its connection. */
static bool job_taken(void *ctx)
{
	struct take *t = ctx;
	if (t->self < t->pf->nstreamers && (t->job = job_take(t->pf, TAKE_BODIES, NULL, 0)))
		return true;
	return (t->job = job_take(t->pf, TAKE_LISTING, NULL, 0)) != NULL;
}

static void worker(void *arg, unsigned self)
{
	struct take t = { arg, self, NULL };
	struct prefetch *pf = t.pf;
	pthread_mutex_lock(&pf->w.lock);
	while (worker_wait_until(&pf->w, job_taken, &t)) {
		struct job *job = t.job;
		if (job->listing) {
			pthread_mutex_unlock(&pf->w.lock);
			run_listing(pf, job);
			pthread_mutex_lock(&pf->w.lock);
			continue;
		}
		pf->streaming[self] = job->m;
		pthread_mutex_unlock(&pf->w.lock);
		run_stream(pf, self, job);
	}
	pthread_mutex_unlock(&pf->w.lock);
}

int prefetch_new(struct prefetch **out, struct pool *p, struct cache *cache, struct mtree *tree,
		 int listing_max_age, unsigned workers, prefetch_arrived_fn on_arrival, void *ctx)
{
	struct prefetch *pf = xcalloc(1, sizeof *pf);
	pf->pool = p;
	pf->cache = cache;
	pf->tree = tree;
	tree->ahead_free = ahead_free;
	pf->listing_max_age = listing_max_age;
	pf->on_arrival = on_arrival;
	pf->ctx = ctx;
	worker_init(&pf->w, pf, NULL);
	pthread_mutex_init(&pf->budget_lock, NULL);
	pf->nstreamers = workers ? workers : 1;
	pf->nworkers = pf->nstreamers + (pf->nstreamers > 1);
	pf->streaming = xcalloc(pf->nworkers, sizeof *pf->streaming);
	/* named for top -H and ps -L */
	int rc = worker_start(&pf->w, pf->nworkers, "imapfs-fetch", worker);
	if (rc < 0) {
		prefetch_free(pf);
		return rc;
	}
	*out = pf;
	return 0;
}

void prefetch_stop(struct prefetch *pf)
{
	if (!pf)
		return;
	worker_stop(&pf->w, 0);
	/* what nobody fetched any more is no longer in flight: a reader still
	 * waiting for it gets its answer (-EIO) instead of waiting for ever
	 * (nothing is queued after stopping) */
	while (pf->head) {
		struct job *j = pf->head;
		pf->head = j->next;
		struct job_ctx jc = { pf, j->m, j->uidvalidity };
		for (size_t i = 0; i < j->n; i++)
			body_arrived(&jc, j->uids[i], false, 0);
		job_free(j);
	}
	pf->tail = NULL;
}

void prefetch_free(struct prefetch *pf)
{
	if (!pf)
		return;
	prefetch_stop(pf);
	free(pf->streaming);
	pthread_mutex_destroy(&pf->budget_lock);
	worker_destroy(&pf->w);
	free(pf);
}

static bool is_cached(struct prefetch *pf, struct mbox *m, uint32_t uidvalidity, uint32_t uid)
{
	return cache_body_has(pf->cache, m->name, uidvalidity, uid);
}

static int cmp_uid(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Queues the messages at directory positions [from, to) that are neither
 * cached nor in flight.  m->lock held. */
static void queue_window(struct prefetch *pf, struct mbox *m, size_t from, size_t to)
{
	if (to > m->listing.n)
		to = m->listing.n;
	if (from >= to)
		return;
	struct ahead *a = ahead_of(m);
	struct job *job = xcalloc(1, sizeof *job);
	job->m = m;
	mbox_get(m);
	job->uidvalidity = m->listing.uidvalidity;
	job->uids = xcalloc(to - from, sizeof *job->uids);
	for (size_t i = from; i < to; i++) {
		uint32_t uid = m->listing.msgs[m->order[i]].uid;
		if (uidset_has(&a->inflight, uid) || is_cached(pf, m, job->uidvalidity, uid))
			continue;
		/* a big body is fetched where it is read (partial.h), not ahead */
		if (to - from > 1 && partial_big(m->listing.msgs[m->order[i]].size))
			continue;
		uidset_add(&a->inflight, uid);
		job->uids[job->n++] = uid;
	}
	atomic_fetch_add(&pf->inflight, job->n);
	if (!job->n) {
		job_free(job);
		return;
	}
	qsort(job->uids, job->n, sizeof *job->uids, cmp_uid);  /* fetch.c wants them ascending */
	if (!job_enqueue(pf, job)) {
		/* stopping: no longer in flight (only this reader, who holds
		 * m->lock, can have asked for them) */
		for (size_t i = 0; i < job->n; i++)
			uidset_remove(&a->inflight, job->uids[i]);
		atomic_fetch_sub(&pf->inflight, job->n);
		job_free(job);
	}
}

/* A listing job for m (which it references), chaining on up to chain
 * folders past it while they are small; false once stopping. */
static bool enqueue_listing(struct prefetch *pf, struct mbox *m, unsigned chain, unsigned walk_pos)
{
	struct job *job = xcalloc(1, sizeof *job);
	job->m = m;
	mbox_get(m);
	job->listing = true;
	job->chain = chain;
	job->walk_pos = walk_pos;
	if (job_enqueue(pf, job))
		return true;
	job_free(job);
	return false;
}

/* A scan walked through m: workers find and bring in what comes next
 * (run_listing), away from the reader's path: the FOLDERS_AHEAD folders
 * after m, one listing job each, placed in the walk after m's place, so
 * that their bodies are streamed in the walk's order; the chain of small
 * folders goes on from the last.  Those brought
 * in already cost nothing again (their listings are fresh, their first
 * windows queued). */
static void queue_next_folder(struct prefetch *pf, struct mbox *m)
{
	unsigned here = atomic_load(&m->ahead->walk_pos);  /* a reader made m->ahead */
	struct mbox *next = mtree_scan_next(pf->tree, m);
	for (unsigned k = 0; next && k < FOLDERS_AHEAD; k++) {
		bool last = k + 1 == FOLDERS_AHEAD;
		bool queued = enqueue_listing(pf, next, last ? SCAN_CHAIN - 1 : 0, here + k + 1);
		m = next;
		next = queued && !last ? mtree_scan_next(pf->tree, m) : NULL;
		mbox_put(m);
	}
	if (next)
		mbox_put(next);
}

static unsigned grown(unsigned window)
{
	return window >= WINDOW_MAX / 4 ? WINDOW_MAX : window * 4;
}

/* The reader an open at index belongs to: the one whose planned positions
 * (give or take STREAM_SLACK) hold it, the nearest to its front first;
 * NULL when there is none. */
static struct stream *stream_at(struct ahead *a, size_t index)
{
	struct stream *best = NULL;
	size_t best_distance = SIZE_MAX;
	for (unsigned k = 0; k < a->nstreams; k++) {
		struct stream *s = &a->streams[k];
		if (index + STREAM_SLACK < s->lo || index >= s->hi + STREAM_SLACK)
			continue;
		size_t distance = index > s->front ? index - s->front : s->front - index;
		if (distance < best_distance) {
			best = s;
			best_distance = distance;
		}
	}
	return best;
}

/* A reader beginning at index, in a free slot or the one used longest ago. */
static struct stream *stream_new(struct ahead *a, size_t index)
{
	struct stream *s = &a->streams[0];
	if (a->nstreams < STREAMS) {
		s = &a->streams[a->nstreams++];
	} else {
		for (unsigned k = 1; k < STREAMS; k++)
			if (a->streams[k].used < s->used)
				s = &a->streams[k];
	}
	*s = (struct stream){ .lo = index, .hi = index, .front = index, .start = index, .window = WINDOW_FIRST };
	return s;
}

/* Whether an open at index (one of s's) moves s on.  Its direction is
 * that of its first move, or of an open beyond the far side of what was
 * planned for it (its first opens raced each other). */
static bool moves_on(struct stream *s, size_t index)
{
	if (s->dir == 0 || (s->dir > 0 && index < s->lo) || (s->dir < 0 && index >= s->hi)) {
		if (index != s->front)
			s->dir = index > s->front ? 1 : -1;
	}
	bool on = s->dir > 0 ? index > s->front : s->dir < 0 && index < s->front;
	if (on)
		s->front = index;
	return on;
}

/* How many more bodies read-ahead may ask for. */
static size_t ahead_room(struct prefetch *pf)
{
	size_t n = atomic_load(&pf->inflight);
	return n < AHEAD_BUDGET ? AHEAD_BUDGET - n : 0;
}

/* Queues positions [from, to) for s, as many as the budget leaves room
 * for (the one a reader waits for at least: from going up, to - 1 going
 * down); going down in pieces, the highest first. */
static void plan_range(struct prefetch *pf, struct mbox *m, struct stream *s, size_t from, size_t to,
		       bool waited)
{
	if (from >= to)
		return;
	/* the room seen is the room taken, whatever other folders plan meanwhile */
	pthread_mutex_lock(&pf->budget_lock);
	size_t room = ahead_room(pf);
	if (waited && !room)
		room = 1;
	if (to - from > room) {
		if (s->dir < 0)
			from = to - room;
		else
			to = from + room;
	}
	if (s->dir < 0) {
		for (size_t top = to; top > from;) {
			size_t bottom = top - from > DOWN_PIECE ? top - DOWN_PIECE : from;
			queue_window(pf, m, bottom, top);
			top = bottom;
		}
	} else if (from < to) {
		queue_window(pf, m, from, to);
	}
	pthread_mutex_unlock(&pf->budget_lock);
	if (from < s->lo)
		s->lo = from;
	if (to > s->hi)
		s->hi = to;
}

/* Whether nobody opened anything of m yet (m->lock held). */
static bool ahead_unread(struct mbox *m)
{
	return ahead_of(m)->nstreams == 0;
}

/* s scans m from its first message: its first window at a scan's size,
 * and the window its second open would ask for, pipelined behind: no
 * round trip when it gets there. */
static void plan_scan_of(struct prefetch *pf, struct mbox *m, struct stream *s)
{
	s->window = WINDOW_SCAN;
	s->dir = 1;
	plan_range(pf, m, s, 0, WINDOW_SCAN, false);
	plan_range(pf, m, s, WINDOW_SCAN, WINDOW_SCAN + WINDOW_MAX, false);
}

/* A scan is about to enter m. */
static void plan_scan(struct prefetch *pf, struct mbox *m)
{
	struct ahead *a = ahead_of(m);
	struct stream *s = stream_new(a, 0);
	s->used = ++a->clock;
	plan_scan_of(pf, m, s);
}

/* Each reader's window grows fourfold while its opens move on in its
 * direction; an open away from every reader starts another, small (an
 * open of the first message after a scan up starts it again).  Opens
 * anywhere in what was planned for a reader are its: its threads race,
 * and the kernel's page cache answers reads of what was read before.
 * Beyond the window the next one is kept queued (at the size it will
 * have at the next open; after a miss, at the same size, so a single read
 * fetches little): the worker streaming the mailbox pipelines it behind
 * the FETCH in flight, with no round trip in between.  Read-ahead stays
 * within AHEAD_BUDGET.  Returns the reader. */
static struct stream *plan_readahead(struct prefetch *pf, struct mbox *m, size_t index, bool miss,
				     bool walk)
{
	struct ahead *a = ahead_of(m);
	struct stream *s = stream_at(a, index);
	bool fresh = !s || (index == 0 && s->dir > 0 && s->front > STREAM_SLACK);
	if (fresh) {
		if (!s)
			s = stream_new(a, index);
		else
			*s = (struct stream){ .window = WINDOW_FIRST };
		/* a reader that begins at the last message can only go down (rg's
		 * walker): no round trip to find that out at its second open */
		if (index > 0 && index + 1 == m->listing.n)
			s->dir = -1;
		if (index == 0)
			a->next_planned = false;
	}
	s->used = ++a->clock;
	if (fresh && index == 0 && walk) {
		plan_scan_of(pf, m, s);
		return s;
	}
	if (!fresh && index == s->front && !miss)
		return s;  /* the same message again */
	if (!fresh && moves_on(s, index))
		s->window = grown(s->window);
	size_t next = miss || fresh ? s->window : grown(s->window);
	if (s->dir >= 0) {
		if (miss || fresh)
			plan_range(pf, m, s, index, index + s->window, miss);
		if (s->hi < index + 1 + next) {
			size_t from = s->hi > index ? s->hi : index + 1;
			plan_range(pf, m, s, from, from + next, false);
		}
	} else {
		if (miss || fresh)
			plan_range(pf, m, s, index + 1 > s->window ? index + 1 - s->window : 0, index + 1, miss);
		if (s->lo + next > index) {
			size_t to = s->lo < index ? s->lo : index;
			plan_range(pf, m, s, to > next ? to - next : 0, to, false);
		}
	}
	return s;
}

/* true once for a scan up that began at the folder's first message and
 * has everything up to its end on the way (or reads its last message):
 * time to bring in the folder it enters next.  Reading the newest
 * messages of a folder is no scan of it. */
static bool scan_reaches_end(struct mbox *m, const struct stream *s, size_t index)
{
	struct ahead *a = ahead_of(m);
	if (a->next_planned || s->start != 0 || s->dir < 0)
		return false;
	size_t n = m->listing.n;
	if (index + 1 < n && (s->window == WINDOW_FIRST || s->hi < n))
		return false;
	a->next_planned = true;
	return true;
}

int prefetch_open(struct prefetch *pf, struct mbox *m, uint32_t uidvalidity, uint32_t uid, pid_t reader,
		  struct cache_span *out)
{
	bool have = cache_body_get(pf->cache, m->name, uidvalidity, uid, out) == 0;
	pthread_mutex_lock(&m->lock);
	job_plan_begin(pf);
	struct ahead *a = ahead_of(m);
	long found = m->listing.uidvalidity == uidvalidity ? mbox_find(m, uid) : -1;
	long index = found >= 0 ? (long)m->rank[found] : -1;  /* directory position */
	bool scan_ends = false;
	if (index >= 0) {
		bool walk = mbox_walked_by_locked(m, reader, WALK_AGE);
		struct stream *s = plan_readahead(pf, m, (size_t)index, !have, walk);
		scan_ends = scan_reaches_end(m, s, (size_t)index);
	}
	job_plan_end(pf);
	/* A read is safe to repeat: a fetch that failed (a connection lost
	 * mid-body, or past its deadline) is asked for once more, alone, on a
	 * fresh one, with a deadline of its own.  An interrupted reader leaves
	 * at once; the fetch goes on and lands in the cache. */
	bool interrupted = false;
	for (int attempt = 0; !have && !interrupted && index >= 0 && attempt < 2; attempt++) {
		/* a body that arrived since the first look is no longer in flight:
		 * look again before asking for it alone */
		if (!uidset_has(&a->inflight, uid)) {
			have = cache_body_get(pf->cache, m->name, uidvalidity, uid, out) == 0;
			if (have)
				break;
			queue_window(pf, m, (size_t)index, (size_t)index + 1);
		}
		a->waiters++;
		long long t0 = job_clock_us();
		while (!interrupted && uidset_has(&a->inflight, uid)) {
			a->waited_uid = uid;
			interrupted = fs_cond_wait(&m->changed, &m->lock) < 0;
		}
		a->waiters--;
		fs_log(LOG_DEBUG, "%s: a reader waited %lld us for UID %u", m->path, job_clock_us() - t0, uid);
		have = cache_body_get(pf->cache, m->name, uidvalidity, uid, out) == 0;
	}
	pthread_mutex_unlock(&m->lock);
	if (scan_ends)
		queue_next_folder(pf, m);
	if (have)
		return 0;
	return index < 0 ? -ENOENT : interrupted ? -EINTR : -EIO;
}
