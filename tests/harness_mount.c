/* harness_mount.c: see harness_mount.h. */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "harness_mount.h"
#include "imap.h"

int mount_env_init(struct mount_env *env)
{
	const char *bin = getenv("IMAPFS");
	snprintf(env->imapfs, sizeof env->imapfs, "%s", bin ? bin : "./fs/imapfs");
	snprintf(env->work, sizeof env->work, "/tmp/imapfs-mount-XXXXXX");
	if (!mkdtemp(env->work))
		return -1;
	chmod(env->work, 0755);
	snprintf(env->passfile, sizeof env->passfile, "%s/pass", env->work);
	FILE *f = fopen(env->passfile, "w");
	if (!f)
		return -1;
	fputs("secret\n", f);
	return fclose(f) == 0 ? 0 : -1;
}

int mount_env_cleanup(struct mount_env *env)
{
	char cmd[256];
	int problems = 0;
	/* a failed test may leave a mount behind: never leave one */
	snprintf(cmd, sizeof cmd, "grep -o ' %s/[^ ]*' /proc/mounts | xargs -r -n1 umount -l", env->work);
	if (system(cmd) != 0)
		problems++;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", env->work);
	if (system(cmd) != 0)
		problems++;
	return problems;
}

bool mount_is_mounted(const char *dir)
{
	FILE *f = fopen("/proc/mounts", "r");
	char line[2048];
	bool found = false;
	while (f && fgets(line, sizeof line, f)) {
		char *sp = strchr(line, ' ');
		if (sp && !strncmp(sp + 1, dir, strlen(dir)) && sp[1 + strlen(dir)] == ' ')
			found = true;
	}
	if (f)
		fclose(f);
	return found;
}

static void drain(int fd, struct buf *out)
{
	char chunk[512];
	ssize_t n;
	while ((n = read(fd, chunk, sizeof chunk)) > 0)
		if (out)
			buf_add(out, chunk, (size_t)n);
}

int mount_run(const struct mount_env *env, struct mount *m, const char *opts, const char *url,
	      struct buf *stderr_out)
{
	int pipefd[2];
	ck_assert_int_eq(pipe(pipefd), 0);
	m->pid = fork();
	ck_assert_int_ge(m->pid, 0);
	if (m->pid == 0) {
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		execl(env->imapfs, "imapfs", "-f", "-o", opts, url, m->dir, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
	int status = -1;
	for (int i = 0; i < 600; i++) {   /* at most 30 s */
		drain(pipefd[0], stderr_out);
		if (mount_is_mounted(m->dir))
			break;
		if (waitpid(m->pid, &status, WNOHANG) == m->pid) {
			drain(pipefd[0], stderr_out);
			close(pipefd[0]);
			m->pid = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
		}
		usleep(50000);
	}
	close(pipefd[0]);
	ck_assert_msg(mount_is_mounted(m->dir), "imapfs did not mount %s", m->dir);
	return -1;
}

void mount_start_user(const struct mount_env *env, struct mount *m, const char *name,
		      const char *user, const char *extra_opts)
{
	snprintf(m->dir, sizeof m->dir, "%s/mnt-%s", env->work, name);
	if (!m->cache[0])
		snprintf(m->cache, sizeof m->cache, "%s/cache-%s", env->work, name);
	mkdir(m->dir, 0755);
	char opts[1024], url[128];
	snprintf(opts, sizeof opts, "tls=none,passfile=%s,cachedir=%s%s%s", env->passfile, m->cache,
		 extra_opts ? "," : "", extra_opts ? extra_opts : "");
	snprintf(url, sizeof url, "imap://%s@127.0.0.1:%d", user, env->imap_port);
	struct buf err = BUF_INIT;
	int rc = mount_run(env, m, opts, url, &err);
	ck_assert_msg(rc == -1, "imapfs exited %d: %s", rc, err.data);
	buf_free(&err);
}

void mount_start(const struct mount_env *env, struct mount *m, const char *name,
		 const char *extra_opts)
{
	mount_start_user(env, m, name, "alice", extra_opts);
}

void mount_stop(struct mount *m)
{
	char cmd[256];
	snprintf(cmd, sizeof cmd, "fusermount3 -u '%s'", m->dir);
	ck_assert_int_eq(system(cmd), 0);
	int status;
	ck_assert_int_eq(waitpid(m->pid, &status, 0), m->pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "imapfs exit status %d", status);
	ck_assert(!mount_is_mounted(m->dir));
	rmdir(m->dir);
}

struct imap *mount_second(const struct mount_env *env, const char *user)
{
	struct imap_opts o = { .timeout_ms = 30000, .allow_plaintext = true };
	struct buf err = BUF_INIT;
	char port[16];
	snprintf(port, sizeof port, "%d", env->imap_port);
	struct imap *s;
	ck_assert_msg(imap_open(&s, "127.0.0.1", port, &o, &err) == 0, "%s", err.data);
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_login(s, user, "secret", &r), 0);
	imap_result_free(&r);
	buf_free(&err);
	return s;
}

int mount_slurp(const char *path, struct buf *out)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	char chunk[65536];
	ssize_t n;
	while ((n = read(fd, chunk, sizeof chunk)) > 0)
		buf_add(out, chunk, (size_t)n);
	close(fd);
	return n < 0 ? -1 : 0;
}
