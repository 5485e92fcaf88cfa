/* mailbox.h: the mailbox tree (from LIST) and each mailbox's listing of
 * messages (UID, size, date), kept fresh cheaply: a listing younger than
 * max_age is used as it is; an older one is checked with one STATUS and
 * only what changed is fetched (new UIDs, vanished UIDs); a changed
 * UIDVALIDITY drops the mailbox's cache at once.
 *
 * Every directory of the mount is a struct mbox: a selectable mailbox, a
 * \Noselect one, or a path level the server never named.  They are never
 * freed while mounted (nodes point at them); one that disappears is marked.
 * Errors: negative errno. */
#ifndef IMAPFS_MAILBOX_H
#define IMAPFS_MAILBOX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "cache.h"
#include "pool.h"
#include "uidset.h"

struct mtree;

struct mbox {
	struct mtree *tree;
	char *name;              /* server name (modified UTF-7); NULL when not a mailbox */
	char *path;              /* UTF-8, relative to the root; "" is the root */
	uint64_t ino;
	bool selectable;
	bool exists;             /* in the last LIST (or a level above one that is) */
	pthread_mutex_t lock;    /* listing and read-ahead state */
	pthread_cond_t changed;  /* a body arrived or failed */
	struct cache_listing listing;
	/* Directory order: file names sort as strings ("10.eml" before
	 * "9.eml"), the order rsync and ls use, so readdir gives that order too
	 * and read-ahead follows it.  order[k] is the listing index of the k-th
	 * name, rank[i] the position of listing index i. */
	uint32_t *order, *rank;
	bool loaded;
	time_t checked;
	time_t used;             /* last asked for (mbox_refresh): the watcher IDLEs on the latest */
	/* one refresh at a time: a slower one that began earlier must not
	 * put back what a later one removed */
	bool refreshing;
	bool changed_meanwhile;  /* the write path changed it during a refresh */
	pthread_cond_t refreshed;
	/* read-ahead (prefetch.c) */
	size_t last_index;
	unsigned window;
	size_t ahead_end;
	size_t scan_start;       /* where the current sequential run began */
	bool next_planned;       /* a scan reached the end: the next folder is on its way */
	struct uidset inflight;  /* bodies asked for and not yet arrived */
	unsigned waiters;        /* readers waiting for a body */
	uint32_t waited_uid;     /* the body the (only) waiting reader wants */
};

struct mtree {
	pthread_mutex_t lock;
	struct mbox **v;
	size_t n;
	char delim;
	time_t listed;
	/* told of every message that left a listing (expunged, or a new
	 * UIDVALIDITY), so the kernel forgets its name */
	void (*msg_gone)(void *ctx, struct mbox *m, uint32_t uid);
	void *hook_ctx;
	char **old;              /* replaced names and paths (mtree_rename) */
	size_t nold;
};

void mtree_init(struct mtree *t);
void mtree_free(struct mtree *t);
/* LIST "" "*" and merge; at most every max_age seconds unless force. */
int mtree_refresh(struct mtree *t, struct pool *p, int max_age, bool force);
struct mbox *mtree_root(struct mtree *t);
struct mbox *mtree_by_path(struct mtree *t, const char *path);
struct mbox *mtree_by_ino(struct mtree *t, uint64_t ino);
/* The existing mailbox of that server name, or NULL. */
struct mbox *mtree_by_name(struct mtree *t, const char *name);
/* The existing selectable mailboxes (*v malloc'ed; the pointers stay valid). */
size_t mtree_selectable(struct mtree *t, struct mbox ***v);
/* The loaded, selectable mailbox used last, or NULL. */
struct mbox *mtree_recent(struct mtree *t);
/* The existing children of dir (names are the last path component);
 * *v is malloc'ed, the pointers stay valid. */
size_t mtree_children(struct mtree *t, const struct mbox *dir, struct mbox ***v);
const char *mbox_basename(const struct mbox *m);
/* The directory above m (the root for a top-level mailbox). */
struct mbox *mtree_parent(struct mtree *t, const struct mbox *m);
/* The mailbox whose messages a walk in directory order (grep -r, find;
 * a directory lists its subfolders before its messages) reads after m's,
 * or NULL after the last one. */
struct mbox *mtree_scan_next(struct mtree *t, const struct mbox *m);
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
void mbox_mark_stale(struct mbox *m);
/* After a confirmed RENAME: m and everything below it take the new path
 * and server name, keeping their inode numbers (the kernel moved them). */
void mtree_rename(struct mtree *t, struct mbox *m, const char *newpath, const char *newname);

uint64_t fs_hash_ino(const char *kind, const char *a, uint32_t x, uint32_t y);

#endif
