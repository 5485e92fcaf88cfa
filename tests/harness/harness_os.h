/* harness_os.h: the operating-system chores of the test harness: running
 * programs, finding and ending processes, free ports, removing trees.
 *
 * Errors: int functions return 0 on success and -1 on failure with a
 * one-line reason appended to err (err may be NULL).  Nothing here allocates
 * memory that outlives a call.  Every wait is bounded by a caller's timeout.
 */
#ifndef IMAPFS_HARNESS_OS_H
#define IMAPFS_HARNESS_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct buf;

struct os_spawn_opts {
	const char *output;    /* file that gets stdout and stderr (appended); NULL = /dev/null */
	bool new_session;      /* setsid(): the child leads a session of its own */
	bool die_with_parent;  /* SIGTERM to the child when the spawning thread dies */
	bool no_ptrace_cap;    /* CAP_SYS_PTRACE out of its bounding set: a root process
				* lacking it too may read the child's memory only while
				* the child is dumpable */
};

/* Closes every descriptor from up but those in keep: close_range by hand,
 * as valgrind 3.19 aborts on close_range under --sim-hints=fuse-compatible
 * (tests/valgrind-wrap.sh).  Async-signal-safe, for a child between fork
 * and exec: the numbers come from /proc/self/fd through getdents64, and
 * those at or above the soft limit (valgrind's own) stay. */
void os_close_fds_except(int from, const int *keep, size_t nkeep);
/* Starts argv[0] (an absolute path) with stdin from /dev/null and every
 * descriptor above 2 closed.  Returns the child's pid or -1. */
pid_t os_spawn(const char *const argv[], const struct os_spawn_opts *o, struct buf *err);
/* Spawns and waits; 0 only when the program exits with status 0.  On failure
 * err carries the program name and its exit status. */
int os_run(const char *const argv[], const char *output, struct buf *err);

/* An unprivileged system user called name (no home, no login shell),
 * created with useradd when missing (needs root): its uid and gid. */
int os_system_user(const char *name, uid_t *uid, gid_t *gid, struct buf *err);

/* True while pid exists and is not a zombie. */
bool os_alive(pid_t pid);
/* Reaps our child pid if it exited; waits (bounded) until it has.  Returns 0
 * when gone, -1 on timeout.  status (may be NULL) gets the wait status, or
 * -1 if the exit was not ours to see. */
int os_child_wait(pid_t pid, int timeout_ms, int *status);
/* Waits until a process that is not our child is gone or a zombie. */
int os_wait_gone(pid_t pid, int timeout_ms);

/* What a process looks like in /proc, for matching. */
struct os_proc {
	pid_t pid;
	pid_t sid;
	unsigned long long start;  /* since boot, in clock ticks: with pid, unique */
	char cmdline[512];  /* arguments joined by spaces, truncated */
};
/* Fills p for a live (non-zombie) process; false if there is none. */
bool os_proc_get(pid_t pid, struct os_proc *p);
typedef bool os_proc_match_fn(const struct os_proc *p, void *ctx);
/* Calls match for every live (non-zombie) process except ourselves and
 * stores the pids it accepts, up to max.  Returns how many matched (may
 * exceed max) or -1 if /proc cannot be read. */
int os_find_procs(os_proc_match_fn *match, void *ctx, pid_t *out, size_t max);

/* A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read it,
 * close): another process may still take it, so callers retry on a clash. */
int os_free_port(struct buf *err);
/* True if something accepts a TCP connection on 127.0.0.1:port right now. */
bool os_port_accepts(int port);

/* rm -rf that never follows symbolic links and stays on one file system. */
int os_rmtree(const char *path, struct buf *err);
/* Writes text to path (replacing it) with the given mode. */
int os_write_file(const char *path, const struct buf *text, mode_t mode, struct buf *err);
/* mkdir -p with the given mode for the directories it creates. */
int os_mkdirs(const char *path, mode_t mode, struct buf *err);
/* Reads up to max bytes from the end of a file into out (replacing it). */
int os_read_tail(const char *path, size_t max, struct buf *out);
void os_sleep_ms(int ms);
/* Runs fn(ctx) with standard error going to a file of its own, and appends
 * what was written there to out (fs_log's lines, say). */
int os_stderr_of(void (*fn)(void *), void *ctx, struct buf *out, struct buf *err);

#endif
