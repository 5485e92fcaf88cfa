/* fs_impl.h: the core's shared state, for the files that make up struct fs
 * (fs.c: lookup, attributes, reads; the write path in write/: fswrite.c
 * changes to the tree, staging.c and deliver.c new messages, xattr.c
 * flags).  Not a public interface.
 *
 * Locking: nodes_lock guards the node table and the staged files; a
 * mailbox's listing has its own lock (mailbox.h).  Never hold nodes_lock
 * while talking to the server. */
#ifndef IMAPFS_FS_IMPL_H
#define IMAPFS_FS_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "cache/cache.h"
#include "fs.h"
#include "model/mailbox.h"
#include "remote/pool.h"
#include "slab.h"

/* Message bytes never change: the kernel may keep names and attributes
 * long.  Directories change when mail arrives, so they are rechecked. */
#define MSG_TIMEOUT 3600.0
#define DIR_TIMEOUT 1.0
#define NEGATIVE_TIMEOUT 1.0
/* A file being written changes size with every write. */
#define STAGED_TIMEOUT 0.0

struct fs_newfiles;
struct labels;
struct staged;

/* A file the kernel knows: a message (m, uidvalidity, uid), or a new file
 * still being written (staged != NULL).  A staged node becomes a message
 * node once its APPEND is confirmed; m is NULL when it names nothing, and
 * a reference otherwise (set it with fs_node_set_mbox). */
struct mnode {
	uint64_t ino;
	struct mbox *m;
	uint32_t uidvalidity, uid;
	uint64_t size;
	int64_t date;
	int64_t changed;         /* when its flags were seen changing (its ctime), or 0 */
	uint64_t modseq;         /* as last read through user.imap.modseq/flags */
	uint64_t nlookup;
	struct staged *staged;
	struct mnode *next;
};

/* The node table starts with this many buckets (a power of two) and
 * doubles whenever it holds more nodes than buckets: a scan of a big
 * folder finds each of its nodes in one probe, where fixed buckets made
 * it walk chains of scattered nodes (cache misses) for every entry. */
#define NODE_BUCKETS_MIN 4096

enum { HELD_PUSHES = 8192 };

struct fs {
	struct fs_config cfg;
	struct pool *pool;
	struct cache *cache;
	struct prefetch *prefetch;
	struct partial *partial;     /* big bodies, fetched where they are read */
	struct watch *watch;
	struct mtree tree;
	pthread_mutex_t nodes_lock;
	struct mnode **buckets;
	size_t nbuckets, nnodes;
	struct slab node_slab;   /* the nodes' memory: one per file the kernel knows */
	struct staged *staged;   /* new files, and names of ones just delivered */
	uint64_t staged_seq;
	_Atomic(const struct fs_newfiles *) newfiles;  /* NULL until the first new file */
	struct fs_notifier notify;   /* all NULL without a mount */
	struct quota *quota;     /* statfs's */
	/* Bodies read ahead of the directory listing, before the kernel knew
	 * their files: pushed into its page cache once readdirplus hands the
	 * files over (fs_dir_entries_used, fs_push_held).  By inode, one per slot: one
	 * lost to another is read through FUSE.  Under nodes_lock. */
	uint64_t held_push[HELD_PUSHES];
	struct labels *labels;   /* Gmail's (remote/labels.h) */
};

/* The write path's new files, or NULL before the first one was made. */
static inline const struct fs_newfiles *fs_newfiles(struct fs *fs)
{
	return atomic_load_explicit(&fs->newfiles, memory_order_acquire);
}

/* fs.c */
struct mnode *fs_node_find_locked(struct fs *fs, uint64_t ino);
/* A zeroed node, not in the table yet; fs_node_free_locked gives it back. */
struct mnode *fs_node_new_locked(struct fs *fs);
void fs_node_free_locked(struct fs *fs, struct mnode *n);
/* Adds n (not in the table yet) to the table. */
void fs_node_insert_locked(struct fs *fs, struct mnode *n);
uint64_t fs_msg_ino(const struct mbox *m, uint32_t uidvalidity, uint32_t uid);
/* n->m = m, the node's reference moving along (nodes_lock held). */
void fs_node_set_mbox(struct mnode *n, struct mbox *m);
void fs_node_ref(struct fs *fs, struct mbox *m, uint32_t uidvalidity, const struct cache_msg *msg,
		 uint64_t ino);
/* The node ino (a message's) now stands for message uid of mailbox to. */
void fs_node_moved(struct fs *fs, uint64_t ino, struct mbox *to, uint32_t uidvalidity, uint32_t uid);
void fs_entry_dir(struct fs *fs, struct mbox *m, struct fs_entry *e);
void fs_entry_msg(struct fs *fs, uint64_t ino, const struct cache_msg *msg, struct fs_entry *e);
void fs_entry_negative(struct fs_entry *e);
void fs_msg_stat(struct fs *fs, uint64_t ino, uint64_t size, int64_t date, int64_t changed, struct stat *st);
void fs_child_path(const struct mbox *dir, const char *name, struct buf *out);
void fs_inval_entry(struct fs *fs, uint64_t parent, const char *name);
void fs_inval_inode(struct fs *fs, uint64_t ino);
/* The message uid of dir's current listing named name ("12.eml"), after
 * refreshing the listing: 0 with *msg and *uidvalidity, or -ENOENT. */
int fs_find_message(struct fs *fs, struct mbox *dir, const char *name, struct cache_msg *msg,
		    uint32_t *uidvalidity);

/* The write path's new files (write/), as the core's lookups, listings
 * and nodes see them.  Declared here so that the core never calls up into
 * the write path: it installs them (fs->newfiles) when it makes its first
 * new file, and before that there is no new file to ask about.  The
 * _locked ones run with nodes_lock held; n->staged is set for them. */
struct fs_newfiles {
	/* A new file (or a just delivered one's name) in dir called name:
	 * fills e and counts a lookup.  false when there is none. */
	bool (*lookup)(struct fs *fs, struct mbox *dir, const char *name, struct fs_entry *e);
	/* Adds the new files of dir being written to a directory listing. */
	void (*list)(struct fs *fs, struct mbox *dir, struct fs_dir *d,
		     void (*add)(struct fs_dir *d, void *ctx, const char *name, const struct fs_entry *e),
		     void *ctx);
	void (*stat_locked)(struct fs *fs, struct mnode *n, struct stat *st);
	/* Once a new file's bytes are delivered (and not changed since), a
	 * read-only open reads its message (n->m, n->uidvalidity, n->uid) as
	 * the server stores it, which need not be what was written. */
	bool (*reads_message_locked)(const struct mnode *n, int flags);
	/* An fd of the bytes written, or -errno. */
	int (*open_locked)(struct mnode *n);
	/* A message's real size became known; new files delivered as it show it. */
	void (*size_known_locked)(struct fs *fs, const struct mbox *m, uint32_t uidvalidity, uint32_t uid,
				  uint64_t size);
	/* The kernel forgot n. */
	void (*node_gone_locked)(struct fs *fs, struct mnode *n);
	/* At unmount: what was never delivered goes to the recovery folder. */
	void (*free_all)(struct fs *fs);
};

#endif
