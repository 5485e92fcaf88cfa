/* worker.h: threads that wait for work under one lock and stop on request,
 * the one shape of the filesystem's background threads (kernel cache
 * invalidation, page-cache pushes, read-ahead, the mailbox watcher).
 *
 * The owner keeps its queue (a list, a ring, a table of jobs) in its own
 * struct and guards it with w->lock, the lock the threads wait under, so
 * "is there work?" and "stop?" are one decision.  A thread's body is
 *
 *	pthread_mutex_lock(&w->lock);
 *	while (worker_wait_for(w, <work queued>)) {
 *		take the work; unlock; do it; lock;
 *	}
 *	pthread_mutex_unlock(&w->lock);
 *
 * A thread that waits elsewhere (poll() on a socket) passes an on_wake
 * hook that interrupts that wait; worker_wake calls it under w->lock.
 *
 * Errors: worker_start returns 0 or a negative errno, and on failure no
 * thread is left running and w is as worker_init left it. */
#ifndef IMAPFS_WORKER_H
#define IMAPFS_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct worker {
	pthread_mutex_t lock;    /* stop, and the owner's queue */
	pthread_cond_t work;     /* worker_wake */
	bool stop;               /* worker_stop began: no new work is taken */
	size_t n;                /* threads started */
	size_t njoined;          /* of them, gone (worker_stop joins in order) */
	pthread_t *threads;
	void (*run)(void *arg, unsigned self);
	void *arg;
	void (*on_wake)(void *arg);   /* may be NULL */
};

/* Before anything else, and before the owner shares w: arg is what run
 * and on_wake (may be NULL) are given. */
void worker_init(struct worker *w, void *arg, void (*on_wake)(void *arg));
/* Starts n threads (at least one) named name (top -H, ps -L), each calling
 * run(arg, self) with self = 0..n-1. */
int worker_start(struct worker *w, size_t n, const char *name, void (*run)(void *arg, unsigned self));
/* With w->lock held: wakes one waiting thread (worker_wake) or all. */
void worker_wake(struct worker *w);
void worker_wake_all(struct worker *w);
/* With w->lock held: waits until ready(ctx) or worker_stop; true when
 * there is work, false once stopping (the thread then returns). */
bool worker_wait_until(struct worker *w, bool (*ready)(void *ctx), void *ctx);
/* Whether worker_stop began (any thread, w->lock not held). */
bool worker_stopping(struct worker *w);
/* Stops taking work, wakes every thread and joins them.  wait_s > 0: a
 * thread still busy after that many seconds (blocked in the kernel) is
 * left behind, and false returned: w and what the thread uses must then
 * stay allocated.  True once every thread is gone; calling it again
 * joins only what is left. */
bool worker_stop(struct worker *w, int wait_s);
/* After a worker_stop that returned true (or a failed or no start). */
void worker_destroy(struct worker *w);

#endif
