/* harness_mount.h: imapfs mounted for a test: the daemon in the foreground
 * with its log in a file, waited for until the mount is there, and
 * unmounted again.
 *
 * Errors: int functions return 0 or -1 with a one-line reason appended to
 * err.  The daemon gets SIGTERM if the thread that mounted dies. */
#ifndef IMAPFS_HARNESS_MOUNT_H
#define IMAPFS_HARNESS_MOUNT_H

#include <stdbool.h>
#include <sys/types.h>

struct buf;

struct fsmount {
	char dir[256];    /* the mount point (created) */
	char log[256];    /* imapfs's stdout and stderr */
	pid_t pid;
};

/* imapfs -f -o OPTS URL DIR; waits (30 s at most) until DIR is mounted. */
int fsmount_start(struct fsmount *m, const char *imapfs, const char *opts, const char *url,
		  struct buf *err);
/* fusermount3 -u, then the daemon must exit with status 0. */
int fsmount_stop(struct fsmount *m, struct buf *err);
bool fsmount_present(const char *dir);
/* True once imapfs's log holds text. */
bool fsmount_log_has(const struct fsmount *m, const char *text);
/* The daemon's peak resident memory (VmHWM) in KiB, or 0. */
unsigned long fsmount_peak_kb(const struct fsmount *m);

#endif
