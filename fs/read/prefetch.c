/* prefetch.c: read-ahead windows fetched by worker threads. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
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
/* How many folders past the one a scan finishes are brought in at once,
 * each by a worker of its own: the listings and first bodies of the next
 * ones are then on their way folders before the scan gets there, so a
 * long round trip is paid per connection, not per folder. */
enum { FOLDERS_AHEAD = 3 };

/* Bodies of m to fetch, or (listing) m's listing and first windows. */
struct job {
	struct mbox *m;          /* a reference */
	uint32_t uidvalidity;
	uint32_t *uids;
	size_t n;
	bool listing;
	unsigned chain;          /* listing: how many small folders past m it may go on */
	struct job *next;
};

struct prefetch {
	struct pool *pool;
	struct cache *cache;
	struct mtree *tree;
	int listing_max_age;
	prefetch_arrived_fn on_arrival;
	void *ctx;
	struct worker w;         /* its lock (pf->w.lock) guards the fields below; no job
				    is queued once it stops */
	struct job *head, *tail;
	unsigned nworkers;
	struct mbox **streaming;    /* per worker: the mailbox it streams, or NULL */
};

/* One mailbox's read-ahead (its m->ahead), under m->lock. */
struct ahead {
	size_t last_index;
	unsigned window;
	size_t ahead_end;
	size_t scan_start;       /* where the current sequential run began */
	bool next_planned;       /* a scan reached the end: the next folder is on its way */
	struct uidset inflight;  /* bodies asked for and not yet arrived */
	unsigned waiters;        /* readers waiting for a body */
	uint32_t waited_uid;     /* the body the (only) waiting reader wants */
};

/* m's read-ahead state, made at its first use (m->lock held). */
static struct ahead *ahead_of(struct mbox *m)
{
	if (!m->ahead) {
		m->ahead = xcalloc(1, sizeof *m->ahead);
		m->ahead->window = WINDOW_FIRST;
	}
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
	uidset_remove(&a->inflight, uid);
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

static void job_free(struct job *job)
{
	mbox_put(job->m);
	free(job->uids);
	free(job);
}

/* pf->w.lock held.  Unlinks and returns the first queued job of mailbox m
 * and generation uidvalidity, or when m is NULL the first listing job or
 * the first one of a mailbox no worker streams; NULL when there is none. */
static struct job *take_job(struct prefetch *pf, struct mbox *m, uint32_t uidvalidity)
{
	for (struct job **pp = &pf->head, *prev = NULL; *pp; prev = *pp, pp = &(*pp)->next) {
		struct job *j = *pp;
		bool mine = true;
		if (m) {
			mine = !j->listing && j->m == m && j->uidvalidity == uidvalidity;
		} else if (!j->listing) {  /* a listing job's m has no stream yet */
			for (unsigned i = 0; i < pf->nworkers && mine; i++)
				mine = pf->streaming[i] != j->m;
		}
		if (!mine)
			continue;
		*pp = j->next;
		if (pf->tail == j)
			pf->tail = prev;
		j->next = NULL;
		return j;
	}
	return NULL;
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
		while ((*tail = take_job(pf, m, uidvalidity)))
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
	 * reference goes, as take_job compares queued jobs' mailboxes with it */
	pf->streaming[self] = NULL;
	mbox_put(m);
	if (pf->head)
		worker_wake_all(&pf->w);
}

/* false (nothing queued) once stopping: no worker would take it, and the
 * queue was emptied for the last time */
static bool enqueue(struct prefetch *pf, struct job *job)
{
	pthread_mutex_lock(&pf->w.lock);
	bool queued = !pf->w.stop;
	if (queued) {
		if (pf->tail)
			pf->tail->next = job;
		else
			pf->head = job;
		pf->tail = job;
		worker_wake(&pf->w);
	}
	pthread_mutex_unlock(&pf->w.lock);
	return queued;
}

static void queue_window(struct prefetch *pf, struct mbox *m, size_t from, size_t to);

static bool enqueue_listing(struct prefetch *pf, struct mbox *m, unsigned chain);

/* A scan is coming to job->m: it is listed and its first windows queued,
 * so the scan pays no round trip when it enters it; when that is the whole
 * folder (the scan goes through it at once), the one after it too, as
 * another job, so windows queued meanwhile are not held up behind a chain
 * of listings, up to job->chain folders on. */
static void run_listing(struct prefetch *pf, struct job *job)
{
	struct mbox *m = job->m;
	unsigned chain = job->chain;
	mbox_get(m);
	job_free(job);
	if (mbox_refresh_ahead(m, pf->pool, pf->cache, pf->listing_max_age) < 0) {
		mbox_put(m);
		return;
	}
	pthread_mutex_lock(&m->lock);
	bool whole = m->listing.n <= WINDOW_SCAN;
	struct ahead *a = ahead_of(m);
	if (m->loaded && a->ahead_end == 0 && a->last_index == 0) {
		/* and the window the scan's second open would ask for,
		 * pipelined behind: no round trip when it gets there */
		a->window = WINDOW_SCAN;
		queue_window(pf, m, 0, WINDOW_SCAN);
		queue_window(pf, m, WINDOW_SCAN, WINDOW_SCAN + WINDOW_MAX);
	}
	pthread_mutex_unlock(&m->lock);
	struct mbox *next = whole && chain ? mtree_scan_next(pf->tree, m) : NULL;
	if (next) {
		enqueue_listing(pf, next, chain - 1);
		mbox_put(next);
	}
	mbox_put(m);
}

struct take {
	struct prefetch *pf;
	struct job *job;
};

static bool job_taken(void *ctx)
{
	struct take *t = ctx;
	return (t->job = take_job(t->pf, NULL, 0)) != NULL;
}

static void worker(void *arg, unsigned self)
{
	struct take t = { arg, NULL };
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
	pf->nworkers = workers ? workers : 1;
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
	if (to > a->ahead_end)
		a->ahead_end = to;
	if (!job->n) {
		job_free(job);
		return;
	}
	qsort(job->uids, job->n, sizeof *job->uids, cmp_uid);  /* fetch.c wants them ascending */
	if (!enqueue(pf, job)) {
		/* stopping: no longer in flight (only this reader, who holds
		 * m->lock, can have asked for them) */
		for (size_t i = 0; i < job->n; i++)
			uidset_remove(&a->inflight, job->uids[i]);
		job_free(job);
	}
}

/* A listing job for m (which it references), chaining on up to chain
 * folders past it while they are small; false once stopping. */
static bool enqueue_listing(struct prefetch *pf, struct mbox *m, unsigned chain)
{
	struct job *job = xcalloc(1, sizeof *job);
	job->m = m;
	mbox_get(m);
	job->listing = true;
	job->chain = chain;
	if (enqueue(pf, job))
		return true;
	job_free(job);
	return false;
}

/* A scan walked through m: workers find and bring in what comes next
 * (run_listing), away from the reader's path: the FOLDERS_AHEAD folders
 * after m, one listing job each, so that several workers list them at
 * once; the chain of small folders goes on from the last.  Those brought
 * in already cost nothing again (their listings are fresh, their first
 * windows queued). */
static void queue_next_folder(struct prefetch *pf, struct mbox *m)
{
	struct mbox *next = mtree_scan_next(pf->tree, m);
	for (unsigned k = 0; next && k < FOLDERS_AHEAD; k++) {
		bool last = k + 1 == FOLDERS_AHEAD;
		bool queued = enqueue_listing(pf, next, last ? SCAN_CHAIN - 1 : 0);
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

/* Sequential opens grow the window fourfold; a jump starts again small.
 * Beyond the window the next one is kept queued (at the size it will have
 * at the next sequential open; after a miss, at the same size, so a single
 * read fetches little): the worker streaming the mailbox pipelines it
 * behind the FETCH in flight, with no round trip in between. */
static void plan_readahead(struct prefetch *pf, struct mbox *m, size_t index, bool miss)
{
	struct ahead *a = ahead_of(m);
	if (index == a->last_index && !miss)
		return;  /* the same message again */
	/* forward, within what was planned: the messages in between were read
	 * from the kernel's page cache, where no read reaches us */
	size_t reach = a->ahead_end > a->last_index + 1 ? a->ahead_end : a->last_index + 1;
	bool sequential = index >= a->last_index && index <= reach;
	if (!sequential) {
		a->window = WINDOW_FIRST;
		a->next_planned = false;
		a->ahead_end = index;
		a->scan_start = index;
	} else if (index != a->last_index) {
		a->window = grown(a->window);
	}
	a->last_index = index;
	if (miss || !sequential)
		queue_window(pf, m, index, index + a->window);
	size_t next = miss || !sequential ? a->window : grown(a->window);
	if (a->ahead_end < index + 1 + next) {
		size_t from = a->ahead_end > index ? a->ahead_end : index + 1;
		queue_window(pf, m, from, from + next);
	}
}

/* true once for a scan that began at the folder's first message and has
 * everything up to its end on the way (or reads its last message): time
 * to bring in the folder it enters next.  Reading the newest messages of
 * a folder is no scan of it. */
static bool scan_reaches_end(struct mbox *m, size_t index)
{
	struct ahead *a = ahead_of(m);
	if (a->next_planned || a->scan_start != 0)
		return false;
	size_t n = m->listing.n;
	if (index + 1 < n && (a->window == WINDOW_FIRST || a->ahead_end < n))
		return false;
	a->next_planned = true;
	return true;
}

int prefetch_open(struct prefetch *pf, struct mbox *m, uint32_t uidvalidity, uint32_t uid,
		  struct cache_span *out)
{
	bool have = cache_body_get(pf->cache, m->name, uidvalidity, uid, out) == 0;
	pthread_mutex_lock(&m->lock);
	struct ahead *a = ahead_of(m);
	long found = m->listing.uidvalidity == uidvalidity ? mbox_find(m, uid) : -1;
	long index = found >= 0 ? (long)m->rank[found] : -1;  /* directory position */
	bool scan_ends = false;
	if (index >= 0) {
		plan_readahead(pf, m, (size_t)index, !have);
		scan_ends = scan_reaches_end(m, (size_t)index);
	}
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
		while (!interrupted && uidset_has(&a->inflight, uid)) {
			a->waited_uid = uid;
			interrupted = fs_cond_wait(&m->changed, &m->lock) < 0;
		}
		a->waiters--;
		have = cache_body_get(pf->cache, m->name, uidvalidity, uid, out) == 0;
	}
	pthread_mutex_unlock(&m->lock);
	if (scan_ends)
		queue_next_folder(pf, m);
	if (have)
		return 0;
	return index < 0 ? -ENOENT : interrupted ? -EINTR : -EIO;
}
