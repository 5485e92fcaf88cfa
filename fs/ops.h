/* ops.h: the FUSE side: the low-level operations table (userdata is the
 * address of a struct fs pointer) and the thread that sends kernel cache invalidations. */
#ifndef IMAPFS_OPS_H
#define IMAPFS_OPS_H

#include "fs.h"

struct fuse_lowlevel_ops;
struct fuse_session;
struct notifier;

const struct fuse_lowlevel_ops *ops_table(void);
struct notifier *notifier_start(struct fs *fs, struct fuse_session *se);
void notifier_stop(struct fs *fs, struct notifier *n);

#endif
