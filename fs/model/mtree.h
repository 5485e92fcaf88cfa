/* mtree.h: the tree of mailboxes and its entries (filled from LIST by
 * mailbox.h's mtree_refresh; inode numbers from ino.h).
 *
 * Every directory of the mount is a struct mbox: a selectable mailbox, a
 * \Noselect one, or a path level the server never named.  The tree finds
 * one by path, server name or inode number in constant time, and a LIST
 * costs time linear in the number of mailboxes (and n log n to sort them).
 *
 * Lifetime: entries are reference counted.  Every struct mbox a function
 * here returns is a reference the caller owns and gives back with
 * mbox_put (arrays: mbox_put_all); whoever keeps a pointer (a node, a
 * staged file, a directory handle, a read-ahead job) holds one.  An entry
 * whose mailbox disappeared is marked (exists false) and taken out of the
 * directory tree; it is freed at a later LIST once no reference is left.
 * Until then its fields stay readable (name and path strings replaced by
 * a rename are kept as long as the entry) and a mailbox that comes back
 * under the same name and path takes it up again, inode number and all.
 *
 * Locks: nothing else is locked while the tree lock is held (a mailbox's
 * lock is taken after it is released), and mbox_get and mbox_put take no
 * lock (the counts are atomic): both are safe under nodes_lock, a
 * mailbox's lock or the read-ahead's. */
#ifndef IMAPFS_MTREE_H
#define IMAPFS_MTREE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "cache/cache.h"

struct ahead;
struct mtree;

/* struct mbox's magic: set when the tree makes an entry and overwritten
 * when it frees one, so that a use after the free shows (a reference put,
 * a test's check) even without a sanitizer. */
#define MBOX_MAGIC 0x6d626f78u
#define MBOX_FREED 0x66726565u

struct mbox_pending_name {
	uint32_t uidvalidity, uid, name;
};

struct mbox {
	struct mtree *tree;
	uint32_t magic;          /* MBOX_MAGIC while the entry lives */
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
	uint8_t *displaced;      /* by listing index: how many '~' its <UID>.eml has (names.c) */
	size_t nkept;            /* messages with a kept name */
	struct mbox_pending_name *pending;  /* names.c */
	size_t npending;
	bool loaded;
	time_t checked;
	time_t flags_checked;    /* without CONDSTORE: every message's flags last asked */
	time_t used;             /* last asked for (mbox_refresh): the watcher polls those of the last hour */
	/* the process that last opened it as a directory, and when (clock_ms):
	 * its first read of the first message is a walk's (prefetch.c) */
	pid_t walker;
	long long walked_ms;
	/* one refresh at a time: a slower one that began earlier must not
	 * put back what a later one removed */
	bool refreshing;
	bool changed_meanwhile;  /* the write path changed it during a refresh */
	pthread_cond_t refreshed;
	struct ahead *ahead;     /* read-ahead's own (prefetch.c), NULL until it reads here */
	/* the tree's (mtree.c), under tree->lock but refs */
	atomic_uint refs;        /* references held outside the tree */
	struct mbox *parent;     /* NULL while not in the directory tree */
	struct mbox *first_child, *last_child, *prev_sibling, *next_sibling;
	struct mbox *chain[3];   /* hash chains: by path, by name, by inode */
	unsigned indexed;        /* in which of them (bits) */
	struct mbox *prev_all, *next_all;
	uint64_t round;          /* the last LIST merge that found it (or a level below it) */
	uint64_t listed_round;   /* the last LIST merge that named it */
	char **old;              /* names and paths mtree_rename replaced */
	size_t nold;
};

struct mtree_index {
	struct mbox **slot;
	size_t nslots;           /* a power of two, or 0 */
	size_t n;
};

struct mtree {
	pthread_mutex_t lock;
	struct mbox *root;
	struct mbox *all;        /* every entry, gone ones not yet freed too */
	size_t nentries;
	struct mtree_index index[3];
	uint64_t key[2];         /* of the index hashes: a server cannot aim at one chain */
	uint64_t round;
	uint64_t steps;          /* entries looked at by lookups and merges (tests) */
	/* the mailbox in use, which the watcher IDLEs on: the loaded one whose
	 * use began last (a ticket from uses), kept here so that finding it
	 * costs nothing however many mailboxes there are */
	struct mbox *recent;
	uint64_t recent_use;
	uint64_t uses;
	char delim;
	bool utf8_names;         /* the server's names are UTF-8 (UTF8=ACCEPT), set before use */
	time_t listed;
	/* tickets of LIST answers, in the order they were asked for: one asked
	 * before a mailbox change through the mount may answer after the LIST
	 * that followed the change, and must not bring back what it removed */
	uint64_t lists_begun;
	uint64_t lists_merged;
	struct cache *cache;     /* where kept names are interned (NULL: none) */
	/* told of every message that left a listing (expunged, or a new
	 * UIDVALIDITY), so the kernel forgets its name */
	void (*msg_gone)(void *ctx, struct mbox *m, const struct cache_msg *msg);
	/* told of a message whose flags were seen changing at when, so its
	 * node's ctime moves and the kernel asks for it again */
	void (*msg_changed)(void *ctx, struct mbox *m, uint32_t uidvalidity, uint32_t uid, int64_t when);
	void *hook_ctx;
	/* frees an entry's read-ahead state (set by read-ahead, which owns it) */
	void (*ahead_free)(struct ahead *a);
};

/* One mailbox of a LIST answer. */
struct mtree_listed {
	char *name;
	char delim;
	bool noselect;
};

void mtree_init(struct mtree *t);
/* Frees every entry, references or not: nothing may use the tree after. */
void mtree_free(struct mtree *t);
/* Makes the tree what a LIST answered (v is sorted in place; the caller
 * keeps the names).  Two names that map to one path both show: the one
 * the mount's delimiter maps that path back to (else the smallest name)
 * keeps it, each other one takes its alias (tree.h).  What happens does
 * not depend on the order of v: the same names give the same tree. */
void mtree_merge(struct mtree *t, struct mtree_listed *v, size_t n, time_t now);
/* The same for the answer to a LIST sent after mtree_list_begin gave
 * ticket: dropped when the answer of a LIST asked for later was merged
 * already (it may predate a change that one saw). */
uint64_t mtree_list_begin(struct mtree *t);
void mtree_merge_ticket(struct mtree *t, struct mtree_listed *v, size_t n, time_t now, uint64_t ticket);

/* References (see above).  mbox_get: the caller holds one already, or a
 * lock under which the pointer it read is held (nodes_lock for a node's).
 * Both accept NULL; mbox_put_all puts every one and frees v. */
void mbox_get(struct mbox *m);
void mbox_put(struct mbox *m);
void mbox_put_all(struct mbox **v, size_t n);

/* The root: no reference needed (nor to be put), it lives with the tree. */
struct mbox *mtree_root(struct mtree *t);
/* The existing directory at path, or NULL.  A reference. */
struct mbox *mtree_by_path(struct mtree *t, const char *path);
/* The entry of inode ino (one that is gone too, until it is freed), or
 * NULL.  A reference. */
struct mbox *mtree_by_ino(struct mtree *t, uint64_t ino);
/* The existing mailbox of that server name, or NULL.  A reference. */
struct mbox *mtree_by_name(struct mtree *t, const char *name);
/* The existing selectable mailboxes: *v malloc'ed, each a reference. */
size_t mtree_selectable(struct mtree *t, struct mbox ***v);
/* The loaded, selectable mailbox used last (mbox_refresh), or NULL when
 * that one is gone or not selectable any more.  Constant time (the
 * watcher asks every second).  A reference. */
struct mbox *mtree_recent(struct mtree *t);
/* A use of a mailbox begins: its ticket, larger than every earlier one. */
uint64_t mtree_use_begin(struct mtree *t);
/* m, loaded, is the mailbox in use now, unless a use that began after
 * this one (use, from mtree_use_begin) said so first. */
void mtree_use_loaded(struct mtree *t, struct mbox *m, uint64_t use);
/* The existing children of dir (names are the last path component), in
 * directory order: *v malloc'ed, each a reference. */
size_t mtree_children(struct mtree *t, const struct mbox *dir, struct mbox ***v);
const char *mbox_basename(const struct mbox *m);
/* The directory above m (the root for a top-level mailbox, or for one
 * that is gone).  A reference. */
struct mbox *mtree_parent(struct mtree *t, const struct mbox *m);
/* The mailbox whose messages a walk in directory order (grep -r, find;
 * a directory lists its subfolders before its messages) reads after m's,
 * or NULL after the last one (or when m is gone).  A reference. */
struct mbox *mtree_scan_next(struct mtree *t, const struct mbox *m);
/* For tests: entries allocated (existing or still referenced), and the
 * count of entries looked at so far. */
size_t mtree_entries(struct mtree *t);
uint64_t mtree_steps(struct mtree *t);
/* Tells the tree's msg_gone hook (if any) that msg left m's listing. */
void mtree_msg_gone(struct mbox *m, const struct cache_msg *msg);
/* Tells the tree's msg_changed hook (if any) that uid's flags changed. */
void mtree_msg_changed(struct mbox *m, uint32_t uidvalidity, uint32_t uid, int64_t when);
/* After a confirmed RENAME: m and everything below it take the new path
 * and server name, keeping their inode numbers (the kernel moved them);
 * m moves under the directory at newpath's parent. */
void mtree_rename(struct mtree *t, struct mbox *m, const char *newpath, const char *newname);

#endif
