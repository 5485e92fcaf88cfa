/* check_mount.h: what the parts of check_mount share: the mount
 * environment that main() sets up over the private Dovecot before Check
 * runs the tests, and the part that adds its tests to main()'s TCase. */
#ifndef IMAPFS_CHECK_MOUNT_H
#define IMAPFS_CHECK_MOUNT_H

#include <check.h>

#include "harness_mount.h"

extern struct mount_env env;

void check_mount_add_privacy(TCase *tc);

#endif
