/* fs_impl.h: the core's shared state, for the files that make up struct fs
 * (fs.c: lookup, attributes, reads; fswrite.c: changes to the tree;
 * staging.c: new messages; xattr.c: flags).  Not a public interface.
 *
 * Locking: nodes_lock guards the node table and the staged files; a
 * mailbox's listing has its own lock (mailbox.h).  Never hold nodes_lock
 * while talking to the server. */
#ifndef IMAPFS_FS_IMPL_H
#define IMAPFS_FS_IMPL_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "cache.h"
#include "fs.h"
#include "mailbox.h"
#include "remote/pool.h"

/* Message bytes never change: the kernel may keep names and attributes
 * long.  Directories change when mail arrives, so they are rechecked. */
#define MSG_TIMEOUT 3600.0
#define DIR_TIMEOUT 1.0
#define NEGATIVE_TIMEOUT 1.0
/* A file being written changes size with every write. */
#define STAGED_TIMEOUT 0.0

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
	uint64_t modseq;         /* as last read through user.imap.modseq/flags */
	uint64_t nlookup;
	struct staged *staged;
	struct mnode *next;
};

#define NODE_BUCKETS 4096

struct fs {
	struct fs_config cfg;
	struct pool *pool;
	struct cache *cache;
	struct prefetch *prefetch;
	struct watch *watch;
	struct mtree tree;
	pthread_mutex_t nodes_lock;
	struct mnode *buckets[NODE_BUCKETS];
	struct staged *staged;   /* new files, and names of ones just delivered */
	uint64_t staged_seq;
	struct fs_notifier notify;   /* all NULL without a mount */
	time_t started;
	pthread_mutex_t statfs_lock;
	time_t statfs_at;
	uint64_t quota_used_kb, quota_limit_kb;
};

/* fs.c */
struct mnode *fs_node_find_locked(struct fs *fs, uint64_t ino);
uint64_t fs_msg_ino(const struct mbox *m, uint32_t uidvalidity, uint32_t uid);
/* n->m = m, the node's reference moving along (nodes_lock held). */
void fs_node_set_mbox(struct mnode *n, struct mbox *m);
void fs_node_ref(struct fs *fs, struct mbox *m, uint32_t uidvalidity, const struct cache_msg *msg,
		 uint64_t ino);
/* The node ino (a message's) now stands for message uid of mailbox to. */
void fs_node_moved(struct fs *fs, uint64_t ino, struct mbox *to, uint32_t uidvalidity, uint32_t uid);
void fs_entry_dir(struct fs *fs, const struct mbox *m, struct fs_entry *e);
void fs_entry_msg(struct fs *fs, uint64_t ino, const struct cache_msg *msg, struct fs_entry *e);
void fs_entry_negative(struct fs_entry *e);
void fs_msg_stat(struct fs *fs, uint64_t ino, uint64_t size, int64_t date, struct stat *st);
void fs_child_path(const struct mbox *dir, const char *name, struct buf *out);
void fs_inval_entry(struct fs *fs, uint64_t parent, const char *name);
void fs_inval_inode(struct fs *fs, uint64_t ino);
/* The message uid of dir's current listing named name ("12.eml"), after
 * refreshing the listing: 0 with *msg and *uidvalidity, or -ENOENT. */
int fs_find_message(struct fs *fs, struct mbox *dir, const char *name, struct cache_msg *msg,
		    uint32_t *uidvalidity);

/* staging.c: new files, APPENDed when closed. */
/* A staged file (or a just delivered one's name) in dir called name:
 * fills e and counts a lookup.  false when there is none. */
bool staging_lookup(struct fs *fs, struct mbox *dir, const char *name, struct fs_entry *e);
/* Adds the staged files of dir being written to a directory listing. */
void staging_list(struct fs *fs, struct mbox *dir, struct fs_dir *d,
		  void (*add)(struct fs_dir *d, void *ctx, const char *name, const struct fs_entry *e),
		  void *ctx);
bool staging_any_in(struct fs *fs, const struct mbox *dir);
/* unlink/rename of a staged name: 0 done, 1 not a staged name, 2 the name
 * stood for a delivered message, *alias, which the caller removes or
 * moves like any message (and then puts alias->m, a reference). */
struct staged_alias {
	struct mbox *m;
	uint32_t uidvalidity, uid;
};
int staging_unlink(struct fs *fs, struct mbox *dir, const char *name, struct staged_alias *alias);
int staging_rename(struct fs *fs, struct mbox *dir, const char *name, struct mbox *newdir,
		   const char *newname, struct staged_alias *alias);
/* getattr/open/forget of a staged node (n->staged set; nodes_lock held
 * for stat and forget). */
void staging_stat_locked(struct fs *fs, struct mnode *n, struct stat *st);
int staging_open_locked(struct mnode *n);
/* Once a new file's bytes are delivered (and not changed since), a
 * read-only open reads its message (n->m, n->uidvalidity, n->uid) as the
 * server stores it, which need not be what was written. */
bool staging_reads_message_locked(const struct mnode *n, int flags);
/* A message's real size became known; new files delivered as it show it. */
void staging_size_known_locked(struct fs *fs, const struct mbox *m, uint32_t uidvalidity, uint32_t uid,
			       uint64_t size);
void staging_node_gone_locked(struct fs *fs, struct mnode *n);
/* setattr of a staged node: size and mtime; 1 when n is not staged. */
int staging_setattr(struct fs *fs, uint64_t ino, const struct stat *attr, int to_set);
int staging_set_flags(struct fs *fs, uint64_t ino, const char *flags, bool *was_staged);
int staging_get_flags(struct fs *fs, uint64_t ino, struct buf *out, bool *was_staged);
/* At unmount: what was never delivered goes to the recovery folder. */
void staging_free_all(struct fs *fs);

#endif
