/* harness_mount.c: imapfs daemons for mount tests (harness_mount.h). */
#include "config.h"
#include "harness_mount.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "check_run.h"
#include "harness.h"
#include "harness_os.h"
#include "harness_proxy.h"
#include "imap.h"
#include "imaplib.h"

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
	/* IMAPFS_DAEMON_WRAPPER (e.g. valgrind) runs the daemon itself */
	const char *wrapper = getenv("IMAPFS_DAEMON_WRAPPER");
	const char *plain[] = { imapfs, "-f", "-o", opts, url, m->dir, NULL };
	const char *wrapped[] = { wrapper, imapfs, "-f", "-o", opts, url, m->dir, NULL };
	const char *const *argv = wrapper && *wrapper ? wrapped : plain;
	struct os_spawn_opts so = { .output = m->log, .die_with_parent = true,
				    .no_ptrace_cap = m->no_ptrace_cap };
	m->pid = os_spawn(argv, &so, err);
	if (m->pid < 0)
		return -1;
	for (int waited = 0; waited < MOUNT_WAIT_MS; waited += 20) {
		if (fsmount_present(m->dir))
			return 0;
		int st;
		if (os_child_wait(m->pid, 0, &st) == 0) {
			m->exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
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
	return fsmount_log_count(m, text) > 0;
}

size_t fsmount_log_count(const struct fsmount *m, const char *text)
{
	struct buf log = BUF_INIT;
	os_read_tail(m->log, 1u << 20, &log);
	size_t n = 0;
	for (const char *p = log.data; p && *text && (p = strstr(p, text)); p += strlen(text))
		n++;
	buf_free(&log);
	return n;
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

/* ---- for Check tests ---- */

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
	return fclose(f) == 0 && chmod(env->passfile, 0600) == 0 ? 0 : -1;
}

int mount_env_cleanup(struct mount_env *env)
{
	char cmd[256];
	int problems = 0;
	/* a failed test may leave a mount behind: never leave one */
	snprintf(cmd, sizeof cmd, "grep -o ' %s/[^ ]*' /proc/mounts | xargs -r -n1 umount -l", env->work);
	if (system(cmd) != 0)
		problems++;
	/* IMAPFS_KEEP_WORK keeps the daemons' logs and caches to read after a failure */
	if (getenv("IMAPFS_KEEP_WORK")) {
		fprintf(stderr, "kept %s\n", env->work);
		return problems;
	}
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", env->work);
	if (system(cmd) != 0)
		problems++;
	return problems;
}

int mount_run(const struct mount_env *env, struct fsmount *m, const char *opts, const char *url,
	      struct buf *output)
{
	if (!m->log[0])
		snprintf(m->log, sizeof m->log, "%s.log", m->dir);
	struct buf err = BUF_INIT;
	m->exit_status = 128;
	int rc = fsmount_start(m, env->imapfs, opts, url, &err);
	if (rc == 0) {
		buf_free(&err);
		return -1;
	}
	if (output)
		buf_add(output, err.data, err.len);
	buf_free(&err);
	return m->exit_status;
}

void mount_start_user(const struct mount_env *env, struct fsmount *m, const char *name,
		      const char *user, const char *extra_opts)
{
	snprintf(m->dir, sizeof m->dir, "%s/mnt-%s", env->work, name);
	snprintf(m->log, sizeof m->log, "%s/log-%s", env->work, name);
	if (!m->cache[0])
		snprintf(m->cache, sizeof m->cache, "%s/cache-%s", env->work, name);
	char opts[1024], url[128];
	snprintf(opts, sizeof opts, "tls=none,passfile=%s,cachedir=%s%s%s", env->passfile, m->cache,
		 extra_opts ? "," : "", extra_opts ? extra_opts : "");
	snprintf(url, sizeof url, "imap://%s@127.0.0.1:%d", user, env->imap_port);
	struct buf err = BUF_INIT;
	int rc = mount_run(env, m, opts, url, &err);
	ck_assert_msg(rc == -1, "imapfs exited %d: %s", rc, err.data);
	buf_free(&err);
}

struct proxy *mount_proxy_start(const struct mount_env *env, int mode)
{
	struct buf err = BUF_INIT;
	struct proxy *p = proxy_start(env->imap_port, (enum proxy_mode)mode, &err);
	ck_assert_msg(p, "%s", err.data);
	buf_free(&err);
	return p;
}

void mount_start_via(const struct mount_env *env, const struct proxy *p, struct fsmount *m,
		     const char *name, const char *user, const char *extra_opts)
{
	struct mount_env via = *env;
	via.imap_port = proxy_port(p);
	mount_start_user(&via, m, name, user, extra_opts);
}

void mount_start(const struct mount_env *env, struct fsmount *m, const char *name,
		 const char *extra_opts)
{
	mount_start_user(env, m, name, "alice", extra_opts);
}

void mount_stop(struct fsmount *m)
{
	struct buf err = BUF_INIT;
	ck_assert_msg(fsmount_stop(m, &err) == 0, "%s", err.data);
	ck_assert(!fsmount_present(m->dir));
	buf_free(&err);
}

struct imap *mount_second(const struct mount_env *env, const char *user)
{
	return harness_login(env->imap_port, user);
}

struct imap *harness_login(int port_number, const char *user)
{
	/* It reads whole messages into memory, as imaplib does: the core's
	 * limit for what is not streamed is for metadata.  And a command's
	 * whole exchange may take minutes on a loaded machine (Dovecot deleting
	 * 100,000 messages says only "* OK Hang in there.." meanwhile, which
	 * earns no time). */
	struct imap_opts o = { .timeout_ms = 180000, .allow_plaintext = true,
			       .limits = { .max_mem_literal = (size_t)256 << 20 } };
	struct buf err = BUF_INIT;
	char port[16];
	snprintf(port, sizeof port, "%d", port_number);
	struct imap *s;
	ck_assert_msg(imap_open(&s, "127.0.0.1", port, &o, &err) == 0, "%s", err.data);
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_login(s, user, "secret", &r), 0);
	imap_result_free(&r);
	buf_free(&err);
	return s;
}

size_t mount_count_files(const char *dir)
{
	DIR *d = opendir(dir);
	ck_assert_msg(d != NULL, "%s: %s", dir, strerror(errno));
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += de->d_type == DT_REG;
	closedir(d);
	return n;
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

int mount_test_main(const char *name, struct dovecot *dc, struct mount_env *env,
		    void (*add_tests)(TCase *tc), int timeout_s)
{
	struct dovecot_opts o = { .dir = NULL };
	return mount_test_main_with(name, dc, &o, env, add_tests, timeout_s);
}

int mount_test_main_with(const char *name, struct dovecot *dc, const struct dovecot_opts *o,
			 struct mount_env *env, void (*add_tests)(TCase *tc), int timeout_s)
{
	/* the first reason a normal user meets: FUSE mounts as well as Dovecot */
	if (geteuid() != 0) {
		fprintf(stderr, "%s: SKIP: needs root for FUSE mounts and a private Dovecot\n", name);
		return HARNESS_EXIT_SKIP;
	}
	dovecot_require_or_skip(name);
	if (access("/dev/fuse", R_OK | W_OK) != 0) {
		fprintf(stderr, "%s: SKIP: no /dev/fuse\n", name);
		return HARNESS_EXIT_SKIP;
	}
	if (mount_env_init(env) < 0)
		return EXIT_FAILURE;
	dovecot_start_demo_with_or_exit(dc, o, name);
	env->imap_port = dc->imap_port;
	Suite *su = suite_create(name);
	TCase *tc = tcase_create("dovecot");
	tcase_set_timeout(tc, timeout_s);
	add_tests(tc);
	suite_add_tcase(su, tc);
	int failed = check_run_suite(su);
	dovecot_stop(dc, NULL);
	failed += mount_env_cleanup(env);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

int mount_sh(struct buf *out, const char *fmt, ...)
{
	struct buf cmd = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&cmd, fmt, ap);
	va_end(ap);
	FILE *f = popen(cmd.data, "r");
	buf_free(&cmd);
	ck_assert_ptr_nonnull(f);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		if (out)
			buf_add(out, chunk, n);
	int st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
