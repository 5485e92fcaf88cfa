/* fs.h: the filesystem core, independent of FUSE.  ops.c turns FUSE
 * low-level requests into calls of these functions and their results into
 * replies, so the whole filesystem can be driven without a mount (tests).
 *
 * Errors: functions return 0 or a negative errno (-ENOENT, -EIO, -EROFS...),
 * and log the reason once where it happens.
 * Ownership: struct fs owns the pool, the cache, the mailbox tree and the
 * inode table; fs_dir snapshots belong to the caller (fs_dir_free).
 * Threads: every function may be called from several threads at once.
 */
#ifndef IMAPFS_FS_H
#define IMAPFS_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include "buf.h"
#include "cache/cache.h"
#include "log.h"  /* its users log */
#include "options.h"

#define FS_ROOT_INO 1
#define FS_DIR_DOTS 2

struct fs;

/* An entry as lookup and readdirplus give it. */
struct fs_entry {
	uint64_t ino;            /* 0: a negative entry (cache the miss) */
	struct stat st;
	double entry_timeout;
	double attr_timeout;
};

struct mbox;

struct fs_dirent {
	char *name;
	struct fs_entry e;
	struct mbox *mbox;       /* messages: where it lives (a reference: fs_dir_free puts it) */
	uint32_t uidvalidity, uid;
};

struct fs_dir {
	size_t n;
	struct fs_dirent *v;
};

/* Connects once to check the URL, credentials and TLS, then prepares the
 * cache.  -1 with a one-line reason in err: nothing mounted. */
int fs_new(struct fs **out, const struct fs_config *cfg, struct buf *err);
void fs_free(struct fs *fs);
/* Called by ops.c with the FUSE session, for kernel cache invalidation.
 * The first two queue a notification; flush waits until everything queued
 * so far reached the kernel (never call it where the kernel may hold a
 * directory lock for us: in lookup, create, mkdir...). */
struct fs_notifier {
	void (*inval_inode)(void *ctx, uint64_t ino);
	void (*inval_entry)(void *ctx, uint64_t parent, const char *name);
	/* the attributes alone (the cached bytes stay) */
	void (*inval_attr)(void *ctx, uint64_t ino);
	void (*flush)(void *ctx);
	/* message ino, whose inode the kernel has, is now in the cache: may be
	 * offered to the kernel's page cache (fs_cached_body) */
	void (*push)(void *ctx, uint64_t ino);
	void *ctx;
};
void fs_set_notifier(struct fs *fs, const struct fs_notifier *n);

int fs_lookup(struct fs *fs, uint64_t parent, const char *name, struct fs_entry *e);
void fs_forget(struct fs *fs, uint64_t ino, uint64_t nlookup);
int fs_getattr(struct fs *fs, uint64_t ino, struct stat *st, double *timeout);
/* A snapshot of a directory, with attributes, "." and ".." first
 * (FS_DIR_DOTS entries), then subdirectories, then messages; entries counted as looked up
 * only when readdirplus hands them to the kernel (fs_dir_entries_used).
 * pid: the process opening it (0: unknown), whose reads of its messages
 * that begin at the first one are then taken for a walk's (read-ahead
 * fetches the folder at once). */
int fs_opendir(struct fs *fs, uint64_t ino, pid_t pid, struct fs_dir **out);
/* readdirplus hands entries [from, to) of d to the kernel: each counts
 * as a lookup.  Of them, the files whose bodies were read ahead before
 * the kernel knew them: their inodes into held (room for to - from; NULL:
 * none wanted), for fs_push_held once the reply is sent.  Returns how
 * many. */
size_t fs_dir_entries_used(struct fs *fs, const struct fs_dir *d, size_t from, size_t to, uint64_t *held);
/* Offers those bodies to the kernel's page cache. */
void fs_push_held(struct fs *fs, const uint64_t *held, size_t n);
void fs_dir_free(struct fs_dir *d);
/* The entry called name, or NULL. */
const struct fs_dirent *fs_dir_find(const struct fs_dir *d, const char *name);
/* Opens a message: its bytes are in the cache afterwards (fetched now if
 * needed, with read-ahead for sequential scans), [offset, offset + size)
 * of body->fd (size UINT64_MAX: up to its end), for pread; the cache keeps
 * many messages in one file.  Except a big message not cached yet
 * (read/partial.h): nothing is fetched at open, body->fd is -1 and
 * body->size its RFC822.SIZE; its reads go through fs_read_body. */
int fs_open_body(struct fs *fs, uint64_t ino, int flags, pid_t pid, struct cache_span *body,
		 bool *keep_cache);
/* The body for a read of [off, off + len) of message ino: fs_open_body's,
 * or for a big message not cached yet, where that much of it has been
 * fetched (body->size: its length as far as known). */
int fs_read_body(struct fs *fs, uint64_t ino, uint64_t off, uint64_t len, pid_t pid,
		 struct cache_span *body);
/* The same as an fd of the message alone (a copy in memory when it shares
 * its cache file with others). */
int fs_open(struct fs *fs, uint64_t ino, int flags, int *fd, bool *keep_cache);
/* Where message ino's body is in the cache, without fetching anything or
 * counting as a read: 0 (body->fd is the caller's to close), or -ENOENT. */
int fs_cached_body(struct fs *fs, uint64_t ino, struct cache_span *body);
int fs_statfs(struct fs *fs, struct statvfs *st);

/* The write path.  Each call returns 0 only after the server confirmed the
 * change (see write.h for the errno of each refusal); -EROFS on a
 * read-only mount.
 * unlink: UID EXPUNGE of that message.  rename: a message to another
 * mailbox (UID MOVE; it shows there under its new UID), or a mailbox
 * (RENAME); a message within its mailbox is -EPERM.  mkdir/rmdir: CREATE
 * and DELETE (-ENOTEMPTY while it holds mail or mailboxes).
 * create/write/flush: a new file is kept locally; each close (flush)
 * APPENDs what changed since the last one, returns the server's answer,
 * and expunges the copy it replaced (staged.h); on failure the bytes are
 * kept in the cache's recovery folder.  It shows as <UID>.eml.
 * setattr: size of a file being written, its mtime (the INTERNALDATE);
 * other changes are accepted and ignored; a message's size is -EPERM. */
#define FS_SET_SIZE 1
#define FS_SET_MTIME 2
#define FS_RENAME_NOREPLACE 1
int fs_unlink(struct fs *fs, uint64_t parent, const char *name);
int fs_rename(struct fs *fs, uint64_t parent, const char *name, uint64_t newparent,
	      const char *newname, unsigned flags);
int fs_mkdir(struct fs *fs, uint64_t parent, const char *name, struct fs_entry *e);
int fs_rmdir(struct fs *fs, uint64_t parent, const char *name);
int fs_create(struct fs *fs, uint64_t parent, const char *name, struct fs_entry *e);
/* Bytes written, or a negative errno (-EPERM for a message). */
int fs_write(struct fs *fs, uint64_t ino, const void *data, size_t n, off_t off);
int fs_flush(struct fs *fs, uint64_t ino);
int fs_setattr(struct fs *fs, uint64_t ino, const struct stat *attr, int to_set, struct stat *out,
	       double *timeout);
/* Extended attributes user.imap.flags (read/write), user.imap.uid,
 * user.imap.internaldate, user.imap.modseq (read-only); out is replaced
 * (listxattr: NUL-terminated names).  Names outside user.* are -ENOTSUP. */
int fs_getxattr(struct fs *fs, uint64_t ino, const char *name, struct buf *out);
int fs_setxattr(struct fs *fs, uint64_t ino, const char *name, const char *value, size_t size);
int fs_removexattr(struct fs *fs, uint64_t ino, const char *name);
int fs_listxattr(struct fs *fs, uint64_t ino, struct buf *out);
/* A flag list as a user may write it, e.g. "\Seen  $Label" plus a newline,
 * made one space separated line; -EINVAL for anything that is not a list
 * of flags, or \Recent. */
int fs_flags_normalise(const char *in, size_t len, struct buf *out);
const struct fs_config *fs_config(const struct fs *fs);

/* Starts the worker threads: after daemonising (fork keeps no threads). */
int fs_start(struct fs *fs);
/* Stops the background threads (watcher, read-ahead): before the notifier
 * they call goes away.  Their network waits end at once, whatever the
 * server does; nothing reaches the server afterwards but the LOGOUTs of
 * fs_free. */
void fs_stop(struct fs *fs);

#endif
