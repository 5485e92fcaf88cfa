/* jobs.c: read-ahead's job queue (prefetch_impl.h): what the workers
 * take, in which order, and when they are woken. */
#include "config.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "read/prefetch_impl.h"

void job_free(struct job *job)
{
	mbox_put(job->m);
	free(job->uids);
	free(job);
}

/* Where a queued job is: the link to it and the job before it. */
struct job_at {
	struct job **pp;
	struct job *prev;
};

static struct job *unlink_job(struct prefetch *pf, struct job_at at)
{
	struct job *j = *at.pp;
	*at.pp = j->next;
	if (pf->tail == j)
		pf->tail = at.prev;
	j->next = NULL;
	return j;
}

/* pf->w.lock held: whether a streamer streams m. */
static bool is_streamed(const struct prefetch *pf, const struct mbox *m)
{
	for (unsigned i = 0; i < pf->nstreamers; i++)
		if (pf->streaming[i] == m)
			return true;
	return false;
}

/* pf->w.lock held.  Of the body jobs from *pp on whose mailboxes no worker
 * streams (the one at *pp is such a job), the one of the folder a scan
 * reaches first, the oldest of those. */
static struct job_at first_in_walk(struct prefetch *pf, struct job **pp, struct job *prev)
{
	struct job_at best = { pp, prev };
	unsigned best_pos = atomic_load(&(*pp)->m->ahead->walk_pos);
	for (; *pp; prev = *pp, pp = &(*pp)->next) {
		struct job *j = *pp;
		unsigned pos = j->listing ? UINT_MAX : atomic_load(&j->m->ahead->walk_pos);
		if (pos >= best_pos)
			continue;
		if (!is_streamed(pf, j->m)) {
			best = (struct job_at){ pp, prev };
			best_pos = pos;
		}
	}
	return best;
}

struct job *job_take(struct prefetch *pf, enum take_what what, struct mbox *m, uint32_t uidvalidity)
{
	for (struct job **pp = &pf->head, *prev = NULL; *pp; prev = *pp, pp = &(*pp)->next) {
		struct job *j = *pp;
		bool mine = j->listing == (what == TAKE_LISTING);
		if (mine && what == TAKE_BODIES_OF_M) {
			mine = j->m == m && j->uidvalidity == uidvalidity;
		} else if (mine && what == TAKE_BODIES) {
			mine = !is_streamed(pf, j->m);
			if (mine)
				return unlink_job(pf, first_in_walk(pf, pp, prev));
		}
		if (!mine)
			continue;
		return unlink_job(pf, (struct job_at){ pp, prev });
	}
	return NULL;
}

bool job_enqueue(struct prefetch *pf, struct job *job)
{
	pthread_mutex_lock(&pf->w.lock);
	bool queued = !pf->w.stop;
	if (queued) {
		if (pf->tail)
			pf->tail->next = job;
		else
			pf->head = job;
		pf->tail = job;
		/* all: the one worker_wake would pick may be the lister, who
		 * leaves a body job to the streamers */
		if (!pf->planning)
			worker_wake_all(&pf->w);
	}
	pthread_mutex_unlock(&pf->w.lock);
	return queued;
}

void job_plan_begin(struct prefetch *pf)
{
	pthread_mutex_lock(&pf->w.lock);
	pf->planning++;
	pthread_mutex_unlock(&pf->w.lock);
}

void job_plan_end(struct prefetch *pf)
{
	pthread_mutex_lock(&pf->w.lock);
	if (--pf->planning == 0 && pf->head)
		worker_wake_all(&pf->w);
	pthread_mutex_unlock(&pf->w.lock);
}
