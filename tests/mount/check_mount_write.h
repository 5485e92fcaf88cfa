/* check_mount_write.h: what the parts of check_mount_write share: the
 * mount environment main() sets up over the private Dovecot, two path
 * helpers, and the part that adds its tests to main()'s TCase. */
#ifndef IMAPFS_CHECK_MOUNT_WRITE_H
#define IMAPFS_CHECK_MOUNT_WRITE_H

#include <check.h>
#include <stdbool.h>

#include "buf.h"
#include "harness_mount.h"

extern struct mount_env env;

/* out = the mount's directory / rel */
void path_of(struct buf *out, const struct fsmount *m, const char *rel);
bool exists(const char *path);

void check_mount_write_add_over(TCase *tc);

#endif
