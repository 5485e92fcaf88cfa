/* harness_cyrus_proc.c: the processes of one private Cyrus, told from any
 * other Cyrus on the machine by the instance's directory on their command
 * line, so that a stop kills exactly its own; and whether its master (not
 * someone else) listens on the port picked for it. */
#include "config.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "harness_cyrus_impl.h"
#include "harness_os.h"

#define LOG_TAIL_BYTES 1500

struct cyrus_match {
	char dirslash[HARNESS_PATH_MAX + 2];
};

/* Every Cyrus process of an instance names a file below its directory on its
 * command line (-C for all of them, the namespace script's argument before
 * the master starts), and the directory's name is unique. */
static bool cyrus_proc_is_ours(const struct os_proc *p, void *ctx)
{
	const struct cyrus_match *m = ctx;
	return strstr(p->cmdline, m->dirslash) != NULL;
}

int cyrus_find_ours(const char *dir, pid_t *out, size_t max)
{
	struct cyrus_match m;
	snprintf(m.dirslash, sizeof m.dirslash, "%s/", dir);
	return os_find_procs(cyrus_proc_is_ours, &m, out, max);
}

int cyrus_count_processes(const struct cyrus *c)
{
	pid_t pids[1];
	return cyrus_find_ours(c->dir, pids, 0);
}

int cyrus_kill_leftovers(const char *dir)
{
	for (int waited = 0; waited < LEFTOVER_TIMEOUT_MS; waited += 20) {
		pid_t pids[256];
		int n = cyrus_find_ours(dir, pids, sizeof pids / sizeof pids[0]);
		if (n <= 0)
			return n;
		for (int i = 0; i < n && i < (int)(sizeof pids / sizeof pids[0]); i++)
			kill(pids[i], SIGKILL);
		os_sleep_ms(20);
	}
	return cyrus_find_ours(dir, NULL, 0);
}

void cyrus_log_tail(const struct cyrus *c, size_t max, struct buf *out)
{
	os_read_tail(c->log, max, out);
}

/* "; log: ..." with the tails of the syslog capture and of the master's
 * own output, for a failed start. */
void cyrus_add_log_tail(const struct cyrus *c, struct buf *err)
{
	struct buf tail = BUF_INIT;
	char out[HARNESS_PATH_MAX + 32];
	cyrus_log_tail(c, LOG_TAIL_BYTES, &tail);
	buf_addf(err, "; log%s: %s", c->syslog_captured ? "" : " (syslog not captured)",
		 tail.len ? tail.data : "(empty)");
	cyrus_path(c, "master.out", out, sizeof out);
	if (os_read_tail(out, LOG_TAIL_BYTES, &tail) == 0 && tail.len)
		buf_addf(err, "; master output: %s", tail.data);
	buf_free(&tail);
}

/* ---- the listening socket ---- */

/* True if the process has the socket with this inode open.  stat follows
 * /proc/PID/fd/N to the socket itself: no readlink, which valgrind 3.19
 * cannot take under --sim-hints=fuse-compatible (tests/valgrind-wrap.sh). */
static bool cyrus_proc_has_socket(pid_t pid, unsigned long inode)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return false;
	bool found = false;
	struct dirent *de;
	while (!found && (de = readdir(d)) != NULL) {
		char fd[HARNESS_PATH_MAX];
		snprintf(fd, sizeof fd, "%s/%s", path, de->d_name);
		struct stat st;
		found = stat(fd, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_ino == (ino_t)inode;
	}
	closedir(d);
	return found;
}

/* 1: the master listens on port; 0: nobody does yet; -1: only someone else
 * does (the port was taken between picking and binding).  Both address
 * families count: a listener on [::] takes the IPv4 port too. */
int cyrus_port_owner(int port, pid_t master)
{
	static const char *const tables[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	bool other = false;
	for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
		FILE *f = fopen(tables[i], "r");
		if (!f)
			continue;
		char line[512], local[64];
		unsigned state;
		unsigned long inode;
		while (fgets(line, sizeof line, f)) {
			if (sscanf(line, " %*u: %63s %*s %X %*s %*s %*s %*u %*u %lu", local, &state,
				   &inode) != 3 || state != 0x0A /* LISTEN */)
				continue;
			const char *colon = strrchr(local, ':');
			if (!colon || strtol(colon + 1, NULL, 16) != port)
				continue;
			if (cyrus_proc_has_socket(master, inode)) {
				fclose(f);
				return 1;
			}
			other = true;
		}
		fclose(f);
	}
	return other ? -1 : 0;
}
