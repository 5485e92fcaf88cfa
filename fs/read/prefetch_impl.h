/* prefetch_impl.h: what prefetch.c and its job queue (jobs.c) share:
 * the read-ahead's state and the jobs its workers take.  Not for use
 * outside fs/read/.  Locks: pf->w.lock guards the queue and the workers'
 * slots; m->lock a mailbox's struct ahead (but walk_pos). */
#ifndef IMAPFS_PREFETCH_IMPL_H
#define IMAPFS_PREFETCH_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/mtree.h"
#include "read/prefetch.h"
#include "uidset.h"
#include "worker.h"

/* Readers of one folder told apart (rg's walker reads a folder from its
 * end down while, from rg 14 on, the threads stealing its work read it
 * from its start up; xargs -P reads several ranges): each gets a window
 * of its own, as the kernel keeps per-file read-ahead state. */
enum { STREAMS = 4 };

/* Bodies of m to fetch, or (listing) m's listing and first windows. */
struct job {
	struct mbox *m;          /* a reference */
	uint32_t uidvalidity;
	uint32_t *uids;
	size_t n;
	bool listing;
	unsigned chain;          /* listing: how many small folders past m it may go on */
	unsigned walk_pos;       /* listing: m's place in the scan's walk */
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
	unsigned nstreamers;        /* workers 0..nstreamers-1 stream bodies; the one after
				       them, if any, only lists */
	unsigned planning;          /* job_plan_begin without job_plan_end: jobs wake no worker yet */
	struct mbox **streaming;    /* per worker: the mailbox it streams, or NULL */
	atomic_size_t inflight;     /* bodies asked for and not yet arrived, all mailboxes */
	pthread_mutex_t budget_lock;  /* read-ahead's look at inflight and what it adds to it */
};

/* One reader of a folder, as its opens show it (directory positions). */
struct stream {
	size_t lo, hi;           /* the positions planned for it: [lo, hi) */
	size_t front;            /* its furthest open in its direction */
	size_t start;            /* its first open */
	unsigned window;
	int dir;                 /* 1 up, -1 down, 0 not known yet */
	unsigned long used;      /* when it last opened (the oldest makes room) */
};

/* One mailbox's read-ahead (its m->ahead), under m->lock. */
struct ahead {
	struct stream streams[STREAMS];
	unsigned nstreams;
	unsigned long clock;
	bool next_planned;       /* a scan reached the end: the next folder is on its way */
	struct uidset inflight;  /* bodies asked for and not yet arrived */
	unsigned waiters;        /* readers waiting for a body */
	uint32_t waited_uid;     /* the body the (only) waiting reader wants */
	/* Its place in the walk of the scan that brought it in (0: none, or
	 * the first folder): streamers take the bodies of the folder a scan
	 * reaches first first, whichever listing came back first.  Read
	 * without m->lock by job_take. */
	atomic_uint walk_pos;
};

enum take_what { TAKE_BODIES_OF_M, TAKE_BODIES, TAKE_LISTING };

void job_free(struct job *job);
/* pf->w.lock held.  Unlinks and returns the first queued job of mailbox m
 * and generation uidvalidity (TAKE_BODIES_OF_M), of the folder a scan
 * reaches first among those no worker streams (TAKE_BODIES), or the first
 * listing job; NULL when there is none. */
struct job *job_take(struct prefetch *pf, enum take_what what, struct mbox *m, uint32_t uidvalidity);
/* Queues job and wakes the workers (unless a plan is being made); false
 * (nothing queued) once stopping: no worker would take it, and the queue
 * was emptied for the last time. */
bool job_enqueue(struct prefetch *pf, struct job *job);
/* The windows one open plans go out together: a worker woken by the first
 * would otherwise send it alone and find the next only a round trip
 * later, when the first answer comes.  Jobs queued between begin and end
 * wake the workers at the end. */
void job_plan_begin(struct prefetch *pf);
void job_plan_end(struct prefetch *pf);

#endif
