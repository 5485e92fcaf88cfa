/* partial.h: big message bodies fetched in windows where they are read.
 * A read at offset O of a body above PARTIAL_MIN_BYTES (by RFC822.SIZE)
 * that is not cached fetches a window around O (BODY.PEEK[]<start.len>)
 * into a sparse scratch file of the cache (cache_scratch_fd), so `head`,
 * `file` or a MUA reading headers pull little.  While reads stay
 * sequential the window grows fourfold (up to WINDOW_MAX) and the next
 * window is asked for before the reader gets there, pipelined on the same
 * connection: a whole-file reader gets one stream.  The real end is known
 * from a short literal (a window always reaches past RFC822.SIZE); until
 * then the file shows RFC822.SIZE.  Once every byte up to the end is
 * there, the body is committed to the cache like any other, and reads go
 * there.
 *
 * Waits: a reader waits for its window with fs_cond_wait (an interrupted
 * one leaves at once, the window still lands); the fetch itself has the
 * pool's deadlines, and a failed window is asked for once more before the
 * read fails with -EIO.
 * Errors: negative errno.  Threads: any; one fetching thread per body
 * being fetched, joined by partial_stop. */
#ifndef IMAPFS_PARTIAL_H
#define IMAPFS_PARTIAL_H

#include <stdbool.h>
#include <stdint.h>

#include "cache/cache.h"
#include "model/mailbox.h"
#include "read/prefetch.h"
#include "remote/pool.h"

/* Bodies above this size take the partial path, and read-ahead of the
 * following messages leaves them alone (fetched when read). */
#define PARTIAL_MIN_BYTES ((uint64_t)1 << 20)

static inline bool partial_big(uint64_t size)
{
	/* a size no file can have (beyond off_t, shown as 0) is a server's
	 * lie, which the whole fetch finds out */
	return size > PARTIAL_MIN_BYTES && size <= (uint64_t)INT64_MAX;
}

struct partial;

/* on_arrival: told the body's real length once it is known, and when the
 * body is committed to the cache. */
struct partial *partial_new(struct pool *p, struct cache *cache, prefetch_arrived_fn on_arrival, void *ctx);
/* Fetches nothing more and joins the fetching threads (their network
 * waits end by pool_stop first); waiting readers get -EIO. */
void partial_stop(struct partial *pt);
/* Stops if needed; NULL is ignored. */
void partial_free(struct partial *pt);
/* The bytes [off, off + len) of uid's body (declared: its RFC822.SIZE):
 * fetched if needed, then *out is where they are (out->fd the caller's to
 * close): the sparse file, or the cache once the body is committed.
 * out->size is the body's length as far as known (reads past it get no
 * bytes). */
int partial_read(struct partial *pt, struct mbox *m, uint32_t uidvalidity, uint32_t uid, uint64_t declared,
		 uint64_t off, uint64_t len, struct cache_span *out);

#endif
