/* range.h: the IMAP side of partial fetch: windows of one message's body,
 * UID FETCH uid (UID BODY.PEEK[]<start.len>), pipelined on one connection,
 * each literal written at its origin into a (sparse) file.
 *
 * The server's bytes are hostile: a literal is filed only when the one
 * parser says it is BODY[]<start> of the UID and a window still waiting
 * for it (BODY[] without an origin counts as origin 0); of its bytes only
 * the len asked for are written.  A window answered with NIL or "" got 0
 * bytes; one the server answered without it is not had.
 * Errors: negative errno; the connection is marked broken on an abort.
 * Threads: the thread holding the connection. */
#ifndef IMAPFS_RANGE_H
#define IMAPFS_RANGE_H

#include <stdbool.h>
#include <stdint.h>

#include "imap.h"
#include "remote/pool.h"

/* Whether r is a FETCH whose args hold a BODY[] (origin 0) or BODY[]<N>
 * item: *uid (0 when not named), *origin and *value (its value) filled. */
bool range_body_origin(const struct imap_resp *r, uint32_t *uid, uint64_t *origin,
		       const struct imap_arg **value);

/* A window is done: ok with got bytes written at start (got <= len; the
 * literal had lit bytes: lit < len means the body ends at start + lit), or
 * !ok when it could not be had (got then says nothing). */
typedef void (*range_fn)(void *ctx, uint64_t start, uint64_t len, bool ok, uint64_t got, uint64_t lit);
/* While a window streams in: its first got bytes are written (every
 * RANGE_PROGRESS_BYTES or so), so a reader need not wait for the rest. */
typedef void (*range_progress_fn)(void *ctx, uint64_t start, uint64_t got);
#define RANGE_PROGRESS_BYTES (256u << 10)

struct range_stream;
/* The connection must have the message's mailbox selected (the caller
 * checked its UIDVALIDITY); its literal hook is the stream's until end. */
void range_begin(struct range_stream **out, struct pool_conn *c, uint32_t uid, int fd, range_fn fn,
		 range_progress_fn progress, void *ctx);
/* Pipelines one more window behind those in flight; after a failure it is
 * reported !ok at once. */
void range_add(struct range_stream *st, uint64_t start, uint64_t len);
size_t range_pending(const struct range_stream *st);
/* Handles one response; 0, or the connection's failure (everything in
 * flight is then reported !ok). */
int range_step(struct range_stream *st);
/* Finishes what is in flight and frees st; 0 or the failure. */
int range_end(struct range_stream *st);

#endif
