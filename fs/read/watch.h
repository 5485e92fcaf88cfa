/* watch.h: keeps the mount fresh while nobody asks.  A thread of its own:
 *  - where the server has IDLE, it IDLEs on the mailbox used last, on a
 *    connection of its own (readers keep the whole pool);
 *  - a mailbox that changed (seen in IDLE, or by any pool connection that
 *    had it selected) is brought up to date at once, which tells the kernel
 *    to forget the names of expunged messages;
 *  - every poll seconds it lists the folders again (LIST) and checks the
 *    other mailboxes used within the last hour with one STATUS each;
 *  - while the server is away it retries with the pool's backoff, so the
 *    mount comes back online by itself.
 * Errors: watch_start returns a negative errno (no thread started). */
#ifndef IMAPFS_WATCH_H
#define IMAPFS_WATCH_H

#include "cache/cache.h"
#include "model/mailbox.h"
#include "remote/pool.h"

struct watch;

int watch_start(struct watch **out, struct mtree *tree, struct pool *pool, struct cache *cache,
		int poll_s, int timeout_s);
/* Stops the thread (within a second) and frees everything; NULL is fine. */
void watch_stop(struct watch *w);

#endif
