/* mailbox.h: each mailbox's listing of messages (UID, size, date, flags), kept
 * fresh cheaply (refresh.c): a listing younger than max_age is used as it
 * is; an older one is checked with one STATUS and only what changed is
 * fetched (new UIDs, vanished UIDs); a changed UIDVALIDITY drops the
 * mailbox's cache at once.  Also the LIST that fills the tree of mailboxes
 * (list.c; the tree is mtree.h), and the write path's own changes to
 * listings (patch.c).
 *
 * A listing lives in its struct mbox (mtree.h) under m->lock.
 * Errors: negative errno. */
#ifndef IMAPFS_MAILBOX_H
#define IMAPFS_MAILBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "cache/cache.h"
#include "model/mtree.h"
#include "remote/pool.h"

/* LIST "" "*" and merge; at most every max_age seconds unless force. */
int mtree_refresh(struct mtree *t, struct pool *p, int max_age, bool force);
/* Whether m has a listing (from the cache or the server); takes m->lock. */
bool mbox_loaded(struct mbox *m);

/* Makes m->listing current (see above), and marks m used.  A connection
 * that dies under it is replaced and the refresh tried once more; when the
 * server cannot be had a loaded listing is kept and 0 returned.  Call
 * without m->lock held. */
int mbox_refresh(struct mbox *m, struct pool *p, struct cache *cache, int max_age);
/* The same for read-ahead: m is not marked used (the watcher IDLEs on the
 * mailbox used last, which must stay the one the user is in). */
int mbox_refresh_ahead(struct mbox *m, struct pool *p, struct cache *cache, int max_age);
/* The same, and without CONDSTORE every message's flags asked again
 * when they are older than max_age (with it every refresh brings what
 * changed): for the flags of a listing's messages. */
int mbox_refresh_flags(struct mbox *m, struct pool *p, struct cache *cache, int max_age);
/* The folder's mtime: when a message was last seen arriving or going
 * (kept in the cached listing, so the same across remounts), or until
 * then the cache's creation.  Loads a cached listing if it has none yet;
 * asks no server.  Takes m->lock. */
int64_t mbox_mtime(struct mbox *m, struct cache *cache);
/* Rebuilds order and rank after the listing changed (m->lock held). */
void mbox_build_order(struct mbox *m);
/* Index of uid in the listing, or -1.  Call with m->lock held. */
long mbox_find(const struct mbox *m, uint32_t uid);
/* A copy of uid's listing entry and the listing's UIDVALIDITY, or -ENOENT;
 * takes m->lock itself. */
int mbox_msg(struct mbox *m, uint32_t uid, struct cache_msg *msg, uint32_t *uidvalidity);

/* The write path's own changes, applied without asking the server again:
 * a message this mount expunged or moved away, one it appended or moved in
 * (placed only when the listing is loaded and of that UIDVALIDITY; otherwise
 * the listing is just marked stale), and "ask the server next time". */
void mbox_msg_removed(struct mbox *m, struct cache *cache, uint32_t uid);
void mbox_msg_added(struct mbox *m, struct cache *cache, uint32_t uidvalidity, const struct cache_msg *msg);
/* Flags this mount stored (flags a cache_flags_id; modseq 0 when not
 * known), placed when uid is in the listing of that UIDVALIDITY. */
void mbox_msg_flags(struct mbox *m, uint32_t uidvalidity, uint32_t uid, uint32_t flags, uint64_t modseq);
void mbox_mark_stale(struct mbox *m);

#endif
