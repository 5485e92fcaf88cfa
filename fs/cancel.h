/* cancel.h: ending a request's waits early, without FUSE.  ops.c runs each
 * request that may wait on the server with a token (fs_cancel_enter) and
 * fires it when the kernel sends FUSE INTERRUPT (the caller got a signal,
 * or was killed).  From then on the core's long waits in that request's
 * thread end at once: fs_cond_wait returns -EINTR (a body from the
 * read-ahead, a free pool connection, another thread's listing refresh),
 * and a pool connection the request holds has its wake-up fd written,
 * which ends its network wait with IMAP_ABORT (pool.c).  What the request
 * left to other threads (a body being fetched) goes on and lands in the
 * cache.
 *
 * Threads: a token is used by the thread it was entered in, and fired from
 * any thread between fs_cancel_init and fs_cancel_destroy.  A thread with
 * no token entered waits as before. */
#ifndef IMAPFS_CANCEL_H
#define IMAPFS_CANCEL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#define CANCEL_MAX_FDS 2

struct fs_cancel {
	atomic_bool fired;
	pthread_mutex_t lock;          /* the fields below */
	pthread_mutex_t *wait_lock;    /* the condition the thread waits on, if any */
	pthread_cond_t *wait_cond;
	int firing;                    /* fires still to broadcast on wait_cond */
	pthread_cond_t fired_all;      /* firing dropped to 0 */
	int fds[CANCEL_MAX_FDS];       /* wake-up fds of the connections it holds; -1: none */
};

void fs_cancel_init(struct fs_cancel *c);
void fs_cancel_destroy(struct fs_cancel *c);
/* Ends the waits of the request c stands for, now and later. */
void fs_cancel_fire(struct fs_cancel *c);
bool fs_cancel_fired(struct fs_cancel *c);
/* The calling thread works for c from now on (NULL: for nobody). */
void fs_cancel_enter(struct fs_cancel *c);

/* Whether the calling thread's request was cancelled. */
bool fs_cancelled(void);
/* pthread_cond_wait (lock held) that also ends when the calling thread's
 * request is cancelled: 0, or -EINTR.  Spurious wake-ups happen as with
 * pthread_cond_wait: loop on the condition.  Once it returns, no firing
 * touches lock or cond any more: they may go (an entry whose last
 * reference the caller drops, say). */
int fs_cond_wait(pthread_cond_t *cond, pthread_mutex_t *lock);
/* The calling thread's request holds a connection whose waits end when fd
 * becomes readable: firing the token writes to it (an eventfd).  -EINTR
 * (nothing held) when the request was cancelled already. */
int fs_cancel_hold_fd(int fd);
void fs_cancel_release_fd(int fd);

#endif
