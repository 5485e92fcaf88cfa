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
#include "remote/run.h"

/* LIST "" "*" and merge; at most every max_age seconds unless force. */
int mtree_refresh(struct mtree *t, struct pool *p, int max_age, bool force);
/* Another command sent with the LIST, in the same round trip: make()
 * gives a new one for each attempt (NULL: none), and every untagged
 * response goes to on_untagged too; its tagged answer is read, not
 * judged.  The mount asks for the quota so. */
struct mtree_along {
	struct imap_cmd *(*make)(void *ctx);
	run_untagged_fn on_untagged;
	void *ctx;
};
/* mtree_refresh(t, p, 0, true), with along (may be NULL). */
int mtree_refresh_along(struct mtree *t, struct pool *p, const struct mtree_along *along);
/* Whether m has a listing (from the cache or the server); takes m->lock. */
bool mbox_loaded(struct mbox *m);
/* Process pid opened m as a directory now; takes m->lock. */
void mbox_walked_by(struct mbox *m, pid_t pid);
/* Whether pid was the last to open m as a directory, no longer than
 * max_age seconds ago (m->lock held). */
bool mbox_walked_by_locked(const struct mbox *m, pid_t pid, int max_age);

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
/* Whether name can be a message's here at all (a <UID>.eml form, or the
 * folder keeps names): other names need no round trip.  Asks no server. */
bool mbox_may_hold_name(struct mbox *m, struct cache *cache, const char *name);
/* Names given to messages the listing does not have yet are kept only
 * in memory: when there are any, a refresh now fetches the messages and
 * saves the listing with their names (an unmount would lose them). */
void mbox_settle_names(struct mbox *m, struct pool *p, struct cache *cache);
/* names.c: the names messages show under.  One written or moved through
 * the mount keeps that name (saved with the listing, so it lasts while
 * the cache does); any other is <UID>.eml, or <UID>~.eml while a kept
 * name is that string.  Rebuilds order, rank and the shown names after
 * the listing changed (m->lock held). */
void mbox_build_order(struct mbox *m);
#define MBOX_UID_NAME 24   /* "<UID>~.eml" and its NUL */
/* The name listing index i shows (m->lock held; buf may be used). */
const char *mbox_shown_name(const struct mbox *m, size_t i, char buf[MBOX_UID_NAME]);
/* The listing index that shows name, or -1 (m->lock held). */
long mbox_find_name(const struct mbox *m, const char *name);
/* A copy of the entry that shows name, or -ENOENT; takes m->lock. */
int mbox_msg_by_name(struct mbox *m, const char *name, struct cache_msg *msg, uint32_t *uidvalidity);
/* Gives uid's message name (NULL: none, it shows as <UID>.eml again),
 * taking it from any other message of the folder; saved with the
 * listing.  A message not listed yet takes it once it is. */
void mbox_msg_named(struct mbox *m, struct cache *cache, uint32_t uidvalidity, uint32_t uid, const char *name);
/* Saves m's listing under m's (new) name, when it has one loaded. */
void mbox_save_listing(struct mbox *m, struct cache *cache);
/* Gives listing index i the name id, taking it from any other message
 * (m->lock held; the order is the caller's to rebuild). */
void mbox_name_locked(struct mbox *m, long i, uint32_t id);
/* The name id given to uid of uidvalidity now (m->lock held): it waits
 * for the listing when it is not placed in it now, or while a refresh
 * works on a copy that would undo it (never without a UIDVALIDITY); and
 * an older name still waiting, for uid or elsewhere, never undoes it. */
void mbox_name_given_locked(struct mbox *m, uint32_t uidvalidity, uint32_t uid, uint32_t id, bool placed);
/* names.c: the index of uid in l (sorted by UID), or -1; mbox_find for
 * m's listing, with m->lock held. */
long listing_find(const struct cache_listing *l, uint32_t uid);
long mbox_find(const struct mbox *m, uint32_t uid);
/* Saves l as m's listing in the cache; a failure is logged (the listing
 * is asked again after a remount). */
void mbox_listing_save(const struct mbox *m, struct cache *cache, const struct cache_listing *l);
/* A copy of uid's listing entry and the listing's UIDVALIDITY, or -ENOENT;
 * takes m->lock itself. */
int mbox_msg(struct mbox *m, uint32_t uid, struct cache_msg *msg, uint32_t *uidvalidity);

/* The write path's own changes, applied without asking the server again:
 * a message this mount expunged or moved away, one it appended or moved in
 * (placed only when the listing is loaded and of that UIDVALIDITY; otherwise
 * the listing is just marked stale, and its kept name waits for it), and
 * "ask the server next time". */
void mbox_msg_removed(struct mbox *m, struct cache *cache, uint32_t uid);
void mbox_msg_added(struct mbox *m, struct cache *cache, uint32_t uidvalidity, const struct cache_msg *msg);
/* Flags this mount stored (flags a cache_flags_id; modseq 0 when not
 * known), placed when uid is in the listing of that UIDVALIDITY. */
void mbox_msg_flags(struct mbox *m, uint32_t uidvalidity, uint32_t uid, uint32_t flags, uint64_t modseq);
void mbox_mark_stale(struct mbox *m);

#endif
