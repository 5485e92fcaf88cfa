/* pagepush.h: message bodies offered to the kernel's page cache as they
 * arrive, from a thread of its own.  A scan (grep -r, rsync) that has the
 * files' inodes from a directory listing then finds the bytes there, and
 * its reads cost no FUSE request at all.  Purely an optimisation: a body
 * not pushed (queue full, inode forgotten, error) is read through FUSE as
 * before.  The queue is bounded; nothing here fails. */
#ifndef IMAPFS_PAGEPUSH_H
#define IMAPFS_PAGEPUSH_H

#include <stdbool.h>
#include <stdint.h>

#include "fs.h"

struct fuse_session;
struct pagepush;

struct pagepush *pagepush_start(struct fs *fs, struct fuse_session *se);
/* Queues message ino (fs_notifier's push hook); drops it when full. */
void pagepush_queue(struct pagepush *p, uint64_t ino);
/* Stops the thread, dropping what is still queued, and frees p: true.
 * False when the thread is still inside a store after a while (the kernel
 * holds it for a request nobody answers any more): p is then left to it,
 * and so must the FUSE session be (never destroyed under it).  NULL is
 * ignored (true). */
bool pagepush_stop(struct pagepush *p);

#endif
