/* harness_mount.h: imapfs mounted for real in a test, and a second IMAP
 * connection to check what the server holds.
 *
 * A struct mount_env says once per test program where things are (the
 * imapfs binary, a work directory for mount points and caches, the
 * password file, the Dovecot); mounts are made below env->work.  These
 * helpers fail the running Check test (ck_assert) instead of returning
 * errors, except mount_run, whose whole point is to see imapfs fail. */
#ifndef IMAPFS_HARNESS_MOUNT_H
#define IMAPFS_HARNESS_MOUNT_H

#include <stdbool.h>
#include <sys/types.h>

struct buf;
struct imap;

struct mount_env {
	char imapfs[1024];       /* the binary ($IMAPFS, else ./fs/imapfs) */
	char work[64];           /* mkdtemp'ed, 0755 (mail user must pass) */
	char passfile[128];      /* "secret" */
	int imap_port;           /* plain IMAP of the Dovecot, on 127.0.0.1 */
};

struct mount {
	char dir[192];
	char cache[192];         /* set before mount_start to reuse a cache */
	pid_t pid;
};

/* Makes env->work and the password file.  -1 on failure. */
int mount_env_init(struct mount_env *env);
/* Unmounts whatever is left below work (a failed test) and removes it;
 * the number of problems. */
int mount_env_cleanup(struct mount_env *env);
bool mount_is_mounted(const char *dir);
/* Runs imapfs -f; its exit status when it ends by itself, or -1 once the
 * mount is there.  stderr_out (may be NULL) gets what it printed. */
int mount_run(const struct mount_env *env, struct mount *m, const char *opts, const char *url,
	      struct buf *stderr_out);
/* Mounts user's account (password "secret") at work/mnt-NAME with cache
 * work/cache-NAME (unless m->cache is set) and the extra -o options. */
void mount_start_user(const struct mount_env *env, struct mount *m, const char *name,
		      const char *user, const char *extra_opts);
void mount_start(const struct mount_env *env, struct mount *m, const char *name,
		 const char *extra_opts);
/* Unmounts and checks that imapfs exited 0. */
void mount_stop(struct mount *m);
/* A logged-in connection (user, password "secret"). */
struct imap *mount_second(const struct mount_env *env, const char *user);
int mount_slurp(const char *path, struct buf *out);

#endif
