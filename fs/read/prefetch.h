/* prefetch.h: getting message bodies into the cache, ahead of the reader.
 * A miss fetches a window of the following messages in one pipelined UID
 * FETCH; while opens stay sequential the window grows fourfold (up to
 * 1024) and the next window is queued before the reader reaches it.  A
 * process that opened the folder as a directory and reads its first
 * message walks it (grep -r, rsync, tar): its first window is a scan's,
 * the folder's first 1280 messages at once.  Once a scan has its folder's
 * end on the way, the folders the walk enters next are listed and their
 * first bodies fetched.  Windows are fetched by worker threads, one per
 * pool connection but one, the folder the walk reaches first first, and
 * one thread more lists the next folders meanwhile, so grep -r and rsync
 * pay no round trip per message, nor per folder.
 * Several readers of one folder (the threads of rg's walker, xargs -P),
 * reading up or down, each get a window of their own; the bodies read
 * ahead over all folders stay within a bound.
 * Errors: negative errno. */
#ifndef IMAPFS_PREFETCH_H
#define IMAPFS_PREFETCH_H

#include "cache/cache.h"
#include "model/mailbox.h"
#include "remote/pool.h"

struct prefetch;

/* A body of m's generation uidvalidity came into the cache (size: its real
 * length, which some servers' RFC822.SIZE is not). */
typedef void (*prefetch_arrived_fn)(void *ctx, struct mbox *m, uint32_t uidvalidity, uint32_t uid,
				    uint64_t size);

/* tree: where a scan that reaches the end of a folder goes next, whose
 * listing (when older than listing_max_age seconds) and first bodies are
 * then fetched ahead of it.  workers: threads streaming bodies, each on a
 * pool connection while it streams; with two or more, one thread more
 * lists the folders a scan goes to next while they all stream. */
int prefetch_new(struct prefetch **out, struct pool *p, struct cache *cache, struct mtree *tree,
		 int listing_max_age, unsigned workers, prefetch_arrived_fn on_arrival, void *ctx);
/* Ends the workers (their network waits end by pool_stop first) and
 * answers what is still queued as not had; pf stays usable for readers
 * still inside prefetch_open, which now fetches nothing.  prefetch_free
 * (which stops first if needed) once no reader is left. */
void prefetch_stop(struct prefetch *pf);
void prefetch_free(struct prefetch *pf);
/* Where uid's body (generation uidvalidity) is in the cache, fetching it
 * (and what follows it) if needed: blocks until it is there or failed.
 * reader: the process reading (0: unknown); the one that opened m as a
 * directory last (mbox_walked_by), reading its first message, is walking
 * it and gets the folder at once.  0 with *out filled (out->fd is the
 * caller's to close), or negative errno. */
int prefetch_open(struct prefetch *pf, struct mbox *m, uint32_t uidvalidity, uint32_t uid, pid_t reader,
		  struct cache_span *out);
/* Whether uid's body of m is asked for and not yet in (m->lock held). */
bool prefetch_in_flight(struct mbox *m, uint32_t uid);

#endif
