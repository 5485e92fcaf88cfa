/* fetch.h: the IMAP side of the read path.  Listings are UID FETCH of
 * (UID RFC822.SIZE INTERNALDATE); bodies are UID FETCH of BODY.PEEK[] for a
 * set of UIDs in one command, each literal streamed straight into its cache
 * file.  All functions need a connection with the mailbox selected.
 * Errors: negative errno; the connection is marked broken on an abort. */
#ifndef IMAPFS_FETCH_H
#define IMAPFS_FETCH_H

#include <stdint.h>

#include "cache.h"
#include "pool.h"

struct fetch_item {
	uint32_t uid;
	bool has_size, has_date, has_modseq;
	uint64_t size;
	int64_t date;
	uint64_t modseq;
};

/* Decodes the attributes of a FETCH response; false when it is not one or
 * carries no UID. */
bool fetch_decode(const struct imap_resp *r, struct fetch_item *out);

struct msgvec {
	size_t n, cap;
	struct cache_msg *v;
};
void msgvec_free(struct msgvec *v);

/* UID FETCH range (UID RFC822.SIZE INTERNALDATE): appends to out, sorted by
 * UID on return; only UIDs >= min_uid are kept (a "N:*" range returns the
 * last message even when its UID is lower). */
int fetch_listing(struct pool_conn *c, const char *range, uint32_t min_uid, struct msgvec *out);
/* UID SEARCH ALL: every UID of the selected mailbox, ascending. */
int fetch_all_uids(struct pool_conn *c, uint32_t **uids, size_t *n);

/* Called for each requested body: ok with its real size once it is in the
 * cache, or !ok when it could not be had. */
typedef void (*fetch_body_fn)(void *ctx, uint32_t uid, bool ok, uint64_t size);
int fetch_bodies(struct pool_conn *c, struct cache *cache, const char *mailbox,
		 uint32_t uidvalidity, const uint32_t *uids, size_t n, fetch_body_fn fn, void *ctx);

/* "1:3,7,9:12" for sorted UIDs. */
void fetch_uid_set(const uint32_t *uids, size_t n, struct buf *out);

#endif
