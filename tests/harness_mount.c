/* harness_mount.c: imapfs daemons for mount tests. */
#include "config.h"
#include "harness_mount.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "buf.h"
#include "harness_os.h"

#define MOUNT_WAIT_MS 30000

bool fsmount_present(const char *dir)
{
	FILE *f = fopen("/proc/mounts", "r");
	char line[2048];
	bool found = false;
	size_t n = strlen(dir);
	while (f && fgets(line, sizeof line, f)) {
		char *sp = strchr(line, ' ');
		if (sp && !strncmp(sp + 1, dir, n) && sp[1 + n] == ' ')
			found = true;
	}
	if (f)
		fclose(f);
	return found;
}

int fsmount_start(struct fsmount *m, const char *imapfs, const char *opts, const char *url,
		  struct buf *err)
{
	if (mkdir(m->dir, 0755) < 0 && errno != EEXIST) {
		buf_addf(err, "mkdir %s: %s", m->dir, strerror(errno));
		return -1;
	}
	const char *argv[] = { imapfs, "-f", "-o", opts, url, m->dir, NULL };
	struct os_spawn_opts so = { .output = m->log, .die_with_parent = true };
	m->pid = os_spawn(argv, &so, err);
	if (m->pid < 0)
		return -1;
	for (int waited = 0; waited < MOUNT_WAIT_MS; waited += 20) {
		if (fsmount_present(m->dir))
			return 0;
		int st;
		if (os_child_wait(m->pid, 0, &st) == 0) {
			struct buf tail = BUF_INIT;
			os_read_tail(m->log, 1000, &tail);
			buf_addf(err, "imapfs exited before mounting: %s", tail.data);
			buf_free(&tail);
			m->pid = 0;
			return -1;
		}
		os_sleep_ms(20);
	}
	buf_addf(err, "imapfs did not mount %s within %d s", m->dir, MOUNT_WAIT_MS / 1000);
	kill(m->pid, SIGTERM);
	os_child_wait(m->pid, 5000, NULL);
	m->pid = 0;
	return -1;
}

int fsmount_stop(struct fsmount *m, struct buf *err)
{
	const char *argv[] = { "/bin/fusermount3", "-u", m->dir, NULL };
	if (os_run(argv, NULL, err) < 0)
		return -1;
	int st = 0;
	if (os_child_wait(m->pid, 30000, &st) < 0) {
		buf_addf(err, "imapfs did not exit after the unmount");
		kill(m->pid, SIGKILL);
		os_child_wait(m->pid, 5000, NULL);
		return -1;
	}
	m->pid = 0;
	rmdir(m->dir);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		struct buf tail = BUF_INIT;
		os_read_tail(m->log, 1000, &tail);
		buf_addf(err, "imapfs ended with status 0x%x: %s", (unsigned)st, tail.data);
		buf_free(&tail);
		return -1;
	}
	return 0;
}

bool fsmount_log_has(const struct fsmount *m, const char *text)
{
	struct buf log = BUF_INIT;
	os_read_tail(m->log, 1u << 20, &log);
	bool has = log.data && strstr(log.data, text);
	buf_free(&log);
	return has;
}

unsigned long fsmount_peak_kb(const struct fsmount *m)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)m->pid);
	FILE *f = fopen(path, "r");
	unsigned long kb = 0;
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "VmHWM:", 6))
			kb = strtoul(line + 6, NULL, 10);
	if (f)
		fclose(f);
	return kb;
}
