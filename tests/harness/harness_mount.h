/* harness_mount.h: imapfs mounted for real in a test: the daemon in the
 * foreground with its log in a file, waited for until the mount is there,
 * unmounted again; and a second IMAP connection to check what the server
 * holds.
 *
 * Two layers.  fsmount_*: int functions return 0 or -1 with a one-line
 * reason appended to err; the daemon gets SIGTERM if the thread that
 * mounted dies.  mount_*: for Check tests that share one struct mount_env
 * (the imapfs binary, a work directory for mount points, caches and logs,
 * the password file, the Dovecot port); they fail the running test
 * (ck_assert) instead of returning errors, except mount_run, whose point
 * is to see imapfs fail. */
#ifndef IMAPFS_HARNESS_MOUNT_H
#define IMAPFS_HARNESS_MOUNT_H

#include <stdbool.h>
#include <sys/types.h>

struct proxy;

struct buf;
struct dovecot;
struct dovecot_opts;
struct imap;
typedef struct TCase TCase;

struct fsmount {
	char dir[200];    /* the mount point (created); short enough for paths below it */
	char log[256];    /* imapfs's stdout and stderr */
	char cache[256];  /* cachedir= (mount_start* fill it unless set) */
	pid_t pid;
	int exit_status;  /* of a daemon that exited before mounting */
	bool no_ptrace_cap;  /* the daemon runs without CAP_SYS_PTRACE (see os_spawn_opts) */
};

/* A local user other than root and the mail user, for mount tests: one
 * who must not see another user's mail (os_system_user creates it). */
#define HARNESS_OTHER_USER "imapfs-other"

/* imapfs -f -o OPTS URL DIR; waits (30 s at most) until DIR is mounted.
 * With $IMAPFS_DAEMON_WRAPPER set, that program runs it (the arguments
 * follow), as tests/valgrind-daemon.sh does. */
int fsmount_start(struct fsmount *m, const char *imapfs, const char *opts, const char *url,
		  struct buf *err);
/* fusermount3 -u, then the daemon must exit with status 0. */
int fsmount_stop(struct fsmount *m, struct buf *err);
bool fsmount_present(const char *dir);
/* True once imapfs's log holds text. */
bool fsmount_log_has(const struct fsmount *m, const char *text);
/* The daemon's peak resident memory (VmHWM) in KiB, or 0. */
unsigned long fsmount_peak_kb(const struct fsmount *m);

struct mount_env {
	char imapfs[1024];       /* the binary ($IMAPFS, else ./fs/imapfs) */
	char work[64];           /* mkdtemp'ed, 0755 (the mail user must pass) */
	char passfile[128];      /* "secret" */
	int imap_port;           /* plain IMAP of the Dovecot, on 127.0.0.1 */
};

/* Makes env->work and the password file.  -1 on failure. */
int mount_env_init(struct mount_env *env);
/* Unmounts whatever is left below work (a failed test) and removes it;
 * the number of problems. */
int mount_env_cleanup(struct mount_env *env);
/* Runs imapfs -f at m->dir; imapfs's exit status when it ends by itself,
 * or -1 once the mount is there.  output (may be NULL) gets its log. */
int mount_run(const struct mount_env *env, struct fsmount *m, const char *opts, const char *url,
	      struct buf *output);
/* Mounts user's account (password "secret") at work/mnt-NAME, with cache
 * work/cache-NAME unless m->cache is set, and the extra -o options. */
void mount_start_user(const struct mount_env *env, struct fsmount *m, const char *name,
		      const char *user, const char *extra_opts);
void mount_start(const struct mount_env *env, struct fsmount *m, const char *name,
		 const char *extra_opts);
/* A proxy (harness_proxy.h) of mode (0: passing all) in front of env's
 * Dovecot, to count or shape what a mount sends; fails the test when it
 * cannot start.  proxy_stop ends it. */
struct proxy *mount_proxy_start(const struct mount_env *env, int mode);
/* mount_start_user with the server reached through proxy p. */
void mount_start_via(const struct mount_env *env, const struct proxy *p, struct fsmount *m,
		     const char *name, const char *user, const char *extra_opts);
/* Unmounts; imapfs must exit 0. */
void mount_stop(struct fsmount *m);
/* main() of a mount test program: skips (exit 77) without root, Dovecot
 * or /dev/fuse, makes env, starts the demo Dovecot in dc, runs the tests
 * add_tests puts in one TCase with timeout_s each, cleans up; the exit
 * status. */
int mount_test_main(const char *name, struct dovecot *dc, struct mount_env *env,
		    void (*add_tests)(TCase *tc), int timeout_s);
/* The same over a Dovecot started with o's settings. */
int mount_test_main_with(const char *name, struct dovecot *dc, const struct dovecot_opts *o,
			 struct mount_env *env, void (*add_tests)(TCase *tc), int timeout_s);
/* A logged-in plain connection to 127.0.0.1:port (user, password
 * "secret"): the second connection that checks what the server holds. */
struct imap *harness_login(int port, const char *user);
struct imap *mount_second(const struct mount_env *env, const char *user);
int mount_slurp(const char *path, struct buf *out);
/* Runs a shell command built printf-style (sh -c); its stdout is appended
 * to out (may be NULL).  Its exit status, or -1 when it did not exit. */
int mount_sh(struct buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* How many times text occurs in imapfs's log (the last MiB of it). */
size_t fsmount_log_count(const struct fsmount *m, const char *text);
/* How many regular files dir holds (the test fails if it cannot be read). */
size_t mount_count_files(const char *dir);

#endif
