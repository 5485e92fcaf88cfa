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
/* At the end, after fs_stop: stops n's threads (n may be NULL), then
 * unmounts and destroys se.  A thread still inside a notification after a
 * while (the kernel holds it for a request nobody answers any more) is
 * left to the process's exit, and so are se and what the thread uses:
 * they are never freed under it.  fs may be freed afterwards. */
void notifier_end_session(struct fs *fs, struct notifier *n, struct fuse_session *se);

#endif
