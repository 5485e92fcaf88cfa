/* fetch.h: the IMAP side of the read path.  Listings are UID FETCH of
 * (UID RFC822.SIZE INTERNALDATE); bodies are UID FETCH of BODY.PEEK[] for a
 * set of UIDs in one command, each literal streamed straight into its cache
 * file.  All functions need a connection with the mailbox selected.
 * Errors: negative errno; the connection is marked broken on an abort. */
#ifndef IMAPFS_FETCH_H
#define IMAPFS_FETCH_H

#include <stdint.h>

#include "cache/cache.h"
#include "remote/pool.h"

struct fetch_item {
	uint32_t uid;
	bool has_size, has_date, has_modseq;
	uint64_t size;
	int64_t date;
	uint64_t modseq;
	const struct imap_arg *flags;   /* the FLAGS list, NULL when not named; the response's */
};

/* Decodes the attributes of a FETCH response; false when it is not one or
 * carries no UID. */
bool fetch_decode(const struct imap_resp *r, struct fetch_item *out);
/* A FLAGS list as text: the flags space separated in the server's order,
 * \Recent left out (it belongs to the session: it can be neither stored
 * nor kept).  out is replaced. */
void fetch_flags_text(const struct imap_arg *flags, struct buf *out);

/* What a STATUS response said; fields it did not name are left alone. */
struct status_item {
	uint32_t uidvalidity, uidnext, messages;
	uint64_t highestmodseq;
	bool seen;               /* a STATUS response came */
};

/* Decodes a STATUS response into out (seen set); false when it is not one. */
bool status_decode(const struct imap_resp *r, struct status_item *out);
/* STATUS mailbox (items), into st (st->seen when the server answered
 * one); a refusal is refused (0: by its response code, run.h), not logged.
 * Any connection: STATUS of the selected mailbox may be the session's
 * older view (select_none). */
int fetch_status(struct pool_conn *c, const char *mailbox, const char *items, int refused,
		 struct status_item *st);

struct msgvec {
	size_t n, cap;
	struct cache_msg *v;
};
void msgvec_free(struct msgvec *v);

/* UID FETCH range (UID RFC822.SIZE INTERNALDATE FLAGS, and MODSEQ with
 * CONDSTORE): appends to out, sorted by UID on return, flags as cache's
 * ids; only UIDs >= min_uid are kept (a "N:*" range returns the last
 * message even when its UID is lower). */
int fetch_listing(struct pool_conn *c, struct cache *cache, const char *range, uint32_t min_uid,
		  struct msgvec *out);
/* UID SEARCH ALL: every UID of the selected mailbox, ascending. */
int fetch_all_uids(struct pool_conn *c, uint32_t **uids, size_t *n);

/* Called once for each requested body: ok with its real size once it is in
 * the cache, or !ok when it could not be had. */
typedef void (*fetch_body_fn)(void *ctx, uint32_t uid, bool ok, uint64_t size);

/* A stream of body fetches on one connection: every fetch_stream_add()
 * pipelines one more UID FETCH behind those in flight, so a reader moving
 * on never waits a round trip between windows, and bodies come in the
 * order they were asked for.  The connection is the stream's from begin to
 * end (its literal hook is taken). */
struct fetch_stream;
void fetch_stream_begin(struct fetch_stream **out, struct pool_conn *c, struct cache *cache,
			const char *mailbox, uint32_t uidvalidity, fetch_body_fn fn, void *ctx);
/* uids ascending; after a failure they are reported !ok at once. */
void fetch_stream_add(struct fetch_stream *st, const uint32_t *uids, size_t n);
/* Commands in flight. */
size_t fetch_stream_pending(const struct fetch_stream *st);
/* Handles one response (a body, usually): waits for it.  0, or the
 * connection's failure (everything in flight is then reported !ok, and
 * later adds are at once). */
int fetch_stream_step(struct fetch_stream *st);
/* Finishes what is in flight and frees st; 0, -EIO when a FETCH was
 * refused (NO, BAD), or the connection's failure. */
int fetch_stream_end(struct fetch_stream *st);

#endif
