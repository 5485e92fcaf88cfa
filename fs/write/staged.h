/* staged.h: a new file being written in a mailbox (staging.c keeps them,
 * deliver.c turns them into messages).  Internal to the write path.
 *
 * Life of one: created (FUSE create) -> written -> every close (FUSE
 * flush) APPENDs what was written since the last delivery, and once the
 * new copy is confirmed expunges the copy it replaces, so the server ends
 * up with exactly the last bytes closed -> ALIAS_SECONDS after its last
 * write, truncation or close it is finished: only its message is left
 * (its inode becomes the message's).  Until then its name still resolves
 * (write-then-rename, as rsync does, must work), and writing it again
 * replaces the message.  The kernel does not say when the last descriptor
 * closes (no RELEASE is sent in no-open mode, see ops.c), hence the time.
 *
 * Owned by fs->staged, guarded by fs->nodes_lock; freed once its name no
 * longer resolves and no node points at it. */
#ifndef IMAPFS_STAGED_H
#define IMAPFS_STAGED_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "fs_impl.h"

#define ALIAS_SECONDS 10

struct staged {
	struct mbox *m;          /* m and uid_m: references */
	char *name;
	uint64_t ino;
	int fd;                  /* the bytes, in an unnamed file; -1 once finished */
	bool visible;            /* its name resolves */
	bool on_node;            /* an mnode's staged points here */
	bool finished;           /* released: it is only its message now */
	bool failed;             /* APPEND refused; the bytes went to recovery */
	int64_t created, mtime;
	time_t active;           /* last write, truncation or close */
	bool mtime_set;
	char *flags;             /* for APPEND, normalised; NULL = none */
	uint64_t gen;            /* bumped by every write and truncation */
	uint64_t delivered_gen;  /* gen of the last delivery; 0 = none yet */
	bool delivering;
	int last_rc;             /* of the last delivery */
	struct mbox *uid_m;      /* where the delivered message is */
	uint32_t uidvalidity, uid;  /* the delivered message */
	bool held;               /* uid is a message the folder had (the same
				    bytes): not this file's to expunge */
	uint64_t size;
	int64_t date;
	time_t alias_until;
	/* A new version of a message, on that message's node (over.c): the
	 * node stands for it again once this is finished.  over_m: a
	 * reference, NULL for a new file. */
	struct mbox *over_m;
	uint32_t over_uidvalidity, over_uid;
	uint64_t over_size;
	int64_t over_date, over_changed;
	pthread_mutex_t io;      /* held while bytes are written or sent */
	pthread_cond_t delivered;
	struct staged *next;
};

/* staging.c: new files, APPENDed when closed (the core reaches them
 * through struct fs_newfiles). */
bool staging_any_in(struct fs *fs, const struct mbox *dir);
/* unlink/rename of a staged name: 0 done, 1 not a staged name, 2 the name
 * stood for a delivered message, *alias, which the caller removes or
 * moves like any message (and then puts alias->m, a reference); rename
 * only: 3 the same, renamed within its folder (the message takes the new
 * name). */
struct staged_alias {
	struct mbox *m;
	uint32_t uidvalidity, uid;
};
int staging_unlink(struct fs *fs, struct mbox *dir, const char *name, struct staged_alias *alias);
int staging_rename(struct fs *fs, struct mbox *dir, const char *name, struct mbox *newdir,
		   const char *newname, struct staged_alias *alias);
/* A message about to be removed that a new file stands for (it held the
 * same bytes): the message takes that file's name instead (*name,
 * malloc'ed) and stays, as the copy of a file stays when the original is
 * removed.  False when there is none. */
bool staging_take_over_name(struct fs *fs, struct mbox *dir, uint32_t uidvalidity, uint32_t uid, char **name);
/* A message moved into newdir under newname (now uid of uidvalidity there,
 * on the kernel's inode ino): that name answers for it for ALIAS_SECONDS,
 * so whoever moved it finds it where they put it (mv of several files
 * looks at each name it moved to), while the listing shows <UID>.eml. */
void staging_moved(struct fs *fs, struct mbox *newdir, const char *newname, uint64_t ino,
		   uint32_t uidvalidity, const struct cache_msg *msg);
/* setattr of a staged node: size and mtime; 1 when n is not staged, 2
 * when its message was sent already with another date (it is to go again:
 * fs_flush). */
int staging_setattr(struct fs *fs, uint64_t ino, const struct stat *attr, int to_set);
int staging_set_flags(struct fs *fs, uint64_t ino, const char *flags, bool *was_staged);
int staging_get_flags(struct fs *fs, uint64_t ino, struct buf *out, bool *was_staged);

/* staging.c, with fs->nodes_lock held */
struct staged *staged_by_ino_locked(struct fs *fs, uint64_t ino);
void staged_sweep_locked(struct fs *fs);
uint64_t staged_size(const struct staged *s);
int staged_unnamed_file(struct fs *fs);
/* Idle (or forgotten): the node, if any, becomes the message node. */
void staged_finish_locked(struct fs *fs, struct staged *s, struct mnode *n);
/* A new staged file named name in dir, its bytes in fd (taken), on node n
 * (which a new file has to be made for: n NULL). */
struct staged *staged_attach_locked(struct fs *fs, struct mbox *dir, const char *name, int fd, struct mnode *n);

/* over.c: a message written over (truncated to 0: its new bytes follow)
 * or redated (utimes: its bytes again with that INTERNALDATE).  1 when
 * ino is no message or neither applies, 2 when the new version is ready
 * to go (fs_flush), else 0 or a negative errno. */
int staging_over_message(struct fs *fs, uint64_t ino, const struct stat *attr, int to_set);

#endif
