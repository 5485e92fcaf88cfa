/* harness_os.c: programs, processes, ports and directory trees for the harness. */
#include "config.h"
#include "harness_os.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"

#define OS_RUN_TIMEOUT_MS 60000

/* Appends "what: strerror(errno)". */
__attribute__((format(printf, 2, 3)))
static void os_err(struct buf *err, const char *fmt, ...)
{
	int e = errno;
	va_list ap;
	va_start(ap, fmt);
	buf_vadderr(err, fmt, ap);
	va_end(ap);
	buf_adderr(err, ": %s", strerror(e));
}

void os_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static bool kept(long fd, const int *keep, size_t nkeep)
{
	for (size_t i = 0; i < nkeep; i++)
		if (keep[i] == fd)
			return true;
	return false;
}

void os_close_fds_except(int from, const int *keep, size_t nkeep)
{
	struct rlimit rl;
	long limit = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)INT_MAX ? (long)rl.rlim_cur
											: INT_MAX;
	int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0) {
		for (long fd = from; fd < limit && fd < 65536; fd++)
			if (!kept(fd, keep, nkeep))
				close((int)fd);
		return;
	}
	char chunk[4096];
	ssize_t n;
	while ((n = getdents64(dir, chunk, sizeof chunk)) > 0) {
		for (ssize_t at = 0; at < n;) {
			const struct dirent64 *d = (const struct dirent64 *)(chunk + at);
			long fd = 0;
			const char *c = d->d_name;
			for (; *c >= '0' && *c <= '9' && fd < INT_MAX / 10; c++)
				fd = fd * 10 + (*c - '0');
			if (!*c && c != d->d_name && fd >= from && fd < limit && fd != dir && !kept(fd, keep, nkeep))
				close((int)fd);
			at += d->d_reclen;
		}
	}
	close(dir);
}

/* Only async-signal-safe calls between fork() and exec(): the test program
 * may have threads.  A failure is reported to the parent through errno_fd. */
static void os_child_exec(const char *const argv[], const struct os_spawn_opts *o,
			  pid_t parent, int errno_fd)
{
	int e;
	if (o->die_with_parent) {
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
			goto fail;
	}
	if (o->new_session && setsid() < 0)
		goto fail;
	int in = open("/dev/null", O_RDONLY);
	int out = o->output ? open(o->output, O_WRONLY | O_CREAT | O_APPEND, 0644)
			    : open("/dev/null", O_WRONLY);
	if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		goto fail;
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	const int reset[] = { SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGQUIT };
	for (size_t i = 0; i < sizeof reset / sizeof reset[0]; i++)
		signal(reset[i], SIG_DFL);
	/* Everything above 2 goes, except the close-on-exec error pipe, so that
	 * no test's pipe or socket is held open by a long-lived server. */
	os_close_fds_except(3, &errno_fd, 1);
	if (o->no_ptrace_cap && prctl(PR_CAPBSET_DROP, CAP_SYS_PTRACE, 0, 0, 0) < 0)
		goto fail;
	execv(argv[0], (char *const *)argv);
fail:
	e = errno;
	if (write(errno_fd, &e, sizeof e) < 0) {
		/* nothing left to tell anyone */
	}
	_exit(127);
}

pid_t os_spawn(const char *const argv[], const struct os_spawn_opts *o, struct buf *err)
{
	static const struct os_spawn_opts defaults;
	if (!o)
		o = &defaults;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		os_err(err, "pipe for %s", argv[0]);
		return -1;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		os_err(err, "fork for %s", argv[0]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		os_child_exec(argv, o, parent, p[1]);
	}
	close(p[1]);
	int e = 0;
	ssize_t n;
	do
		n = read(p[0], &e, sizeof e);
	while (n < 0 && errno == EINTR);
	close(p[0]);
	if (n == (ssize_t)sizeof e) {
		waitpid(pid, NULL, 0);
		errno = e;
		os_err(err, "cannot run %s", argv[0]);
		return -1;
	}
	return pid;
}

static bool os_find_program(const char *name, char *out, size_t size)
{
	static const char *const dirs[] = { "/usr/sbin", "/usr/bin", "/sbin", "/bin" };
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		snprintf(out, size, "%s/%s", dirs[i], name);
		if (access(out, X_OK) == 0)
			return true;
	}
	return false;
}

int os_system_user(const char *name, uid_t *uid, gid_t *gid, struct buf *err)
{
	char useradd[256];
	/* test programs may race to create it */
	for (int attempt = 0; attempt < 50; attempt++) {
		struct passwd *pw = getpwnam(name);
		if (pw) {
			*uid = pw->pw_uid;
			*gid = pw->pw_gid;
			return 0;
		}
		if (!os_find_program("useradd", useradd, sizeof useradd)) {
			buf_adderr(err, "useradd not found: cannot create user %s", name);
			return -1;
		}
		const char *argv[] = { useradd, "--system", "--user-group", "--no-create-home",
				       "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
				       "--comment", "imapfs test user", name, NULL };
		if (os_run(argv, NULL, NULL) < 0)
			os_sleep_ms(100);  /* another process may hold the lock of /etc/passwd */
	}
	buf_adderr(err, "could not create user %s with useradd", name);
	return -1;
}

int os_child_wait(pid_t pid, int timeout_ms, int *status)
{
	long long deadline = clock_ms() + timeout_ms;
	int delay = 2;
	for (;;) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid) {
			if (status)
				*status = st;
			return 0;
		}
		if (r < 0 && errno == ECHILD) {
			if (status)
				*status = -1;
			return os_wait_gone(pid, (int)(deadline - clock_ms()));
		}
		if (clock_ms() >= deadline)
			return -1;
		os_sleep_ms(delay);
		if (delay < 50)
			delay *= 2;
	}
}

int os_run(const char *const argv[], const char *output, struct buf *err)
{
	struct os_spawn_opts o = { .output = output };
	pid_t pid = os_spawn(argv, &o, err);
	if (pid < 0)
		return -1;
	int st;
	if (os_child_wait(pid, OS_RUN_TIMEOUT_MS, &st) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		buf_adderr(err, "%s did not finish within %d s", argv[0], OS_RUN_TIMEOUT_MS / 1000);
		return -1;
	}
	if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (st != -1 && WIFEXITED(st))
		buf_adderr(err, "%s exited with status %d", argv[0], WEXITSTATUS(st));
	else if (st != -1 && WIFSIGNALED(st))
		buf_adderr(err, "%s was killed by signal %d", argv[0], WTERMSIG(st));
	else
		buf_adderr(err, "%s: unknown exit status", argv[0]);
	return -1;
}

/* Reads /proc/PID/stat; returns the state letter or 0 if the process is gone. */
static char os_proc_state(pid_t pid, pid_t *sid, unsigned long long *start)
{
	char path[64], text[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, text, sizeof text - 1);
	close(fd);
	if (n <= 0)
		return 0;
	text[n] = '\0';
	/* The command name may itself contain ") ": the state follows the last one. */
	char *p = strrchr(text, ')');
	if (!p || p[1] != ' ' || !p[2])
		return 0;
	char state = p[2];
	int ppid, pgrp, session;
	unsigned long long v = 0;
	int got = sscanf(p + 3, " %d %d %d %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu",
			 &ppid, &pgrp, &session, &v);
	if (sid)
		*sid = got >= 3 ? session : -1;
	if (start)
		*start = got == 4 ? v : 0;
	return state;
}

bool os_alive(pid_t pid)
{
	if (pid <= 0)
		return false;
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return false;
	char s = os_proc_state(pid, NULL, NULL);
	return s != 0 && s != 'Z' && s != 'X';
}

int os_wait_gone(pid_t pid, int timeout_ms)
{
	long long deadline = clock_ms() + timeout_ms;
	int delay = 2;
	while (os_alive(pid)) {
		if (clock_ms() >= deadline)
			return -1;
		os_sleep_ms(delay);
		if (delay < 50)
			delay *= 2;
	}
	return 0;
}

static void os_proc_cmdline(pid_t pid, char *out, size_t size)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	out[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, out, size - 1);
	close(fd);
	if (n <= 0)
		return;
	for (ssize_t i = 0; i < n; i++)
		if (out[i] == '\0')
			out[i] = ' ';
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

bool os_proc_get(pid_t pid, struct os_proc *p)
{
	p->pid = pid;
	char state = os_proc_state(pid, &p->sid, &p->start);
	if (state == 0 || state == 'Z' || state == 'X')
		return false;
	os_proc_cmdline(pid, p->cmdline, sizeof p->cmdline);
	return true;
}

int os_find_procs(os_proc_match_fn *match, void *ctx, pid_t *out, size_t max)
{
	DIR *d = opendir("/proc");
	if (!d)
		return -1;
	int found = 0;
	pid_t self = getpid();
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		struct os_proc p;
		pid_t pid = (pid_t)strtol(de->d_name, NULL, 10);
		if (pid == self || !os_proc_get(pid, &p) || !match(&p, ctx))
			continue;
		if ((size_t)found < max)
			out[found] = p.pid;
		found++;
	}
	closedir(d);
	return found;
}

int os_free_port(struct buf *err)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		os_err(err, "free port: socket");
		return -1;
	}
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof a;
	if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		os_err(err, "free port: bind");
		close(fd);
		return -1;
	}
	close(fd);
	return ntohs(a.sin_port);
}

bool os_port_accepts(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
	close(fd);
	return ok;
}

/* nftw() has no context argument; the harness is single-threaded here. */
static int os_rmtree_failed_errno;
static char os_rmtree_failed_path[512];

static int os_rmtree_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	if (remove(path) < 0 && errno != ENOENT && !os_rmtree_failed_errno) {
		os_rmtree_failed_errno = errno;
		snprintf(os_rmtree_failed_path, sizeof os_rmtree_failed_path, "%s", path);
	}
	return 0;
}

int os_rmtree(const char *path, struct buf *err)
{
	struct stat st;
	/* Another process may be removing the same tree (a sweep of stale
	 * directories): parts vanishing under the walk are retried, not errors. */
	for (int attempt = 0; attempt < 3; attempt++) {
		if (lstat(path, &st) < 0) {
			if (errno == ENOENT)
				return 0;
			os_err(err, "%s", path);
			return -1;
		}
		os_rmtree_failed_errno = 0;
		int r = nftw(path, os_rmtree_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
		if (r == 0 && !os_rmtree_failed_errno)
			return 0;
	}
	if (lstat(path, &st) < 0 && errno == ENOENT)
		return 0;
	if (os_rmtree_failed_errno) {
		errno = os_rmtree_failed_errno;
		os_err(err, "cannot remove %s", os_rmtree_failed_path);
	} else {
		os_err(err, "walking %s", path);
	}
	return -1;
}

int os_mkdirs(const char *path, mode_t mode, struct buf *err)
{
	char tmp[1024];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof tmp) {
		buf_adderr(err, "bad directory path '%s'", path);
		return -1;
	}
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST) {
			os_err(err, "mkdir %s", tmp);
			return -1;
		}
		*p = c;
		if (!c)
			return 0;
	}
}

int os_read_tail(const char *path, size_t max, struct buf *out)
{
	buf_reset(out);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) == 0 && (size_t)st.st_size > max)
		lseek(fd, st.st_size - (off_t)max, SEEK_SET);
	char chunk[4096];
	ssize_t n;
	while (out->len < max && (n = read(fd, chunk, sizeof chunk)) > 0)
		buf_add(out, chunk, (size_t)n);
	close(fd);
	return 0;
}

int os_write_file(const char *path, const struct buf *text, mode_t mode, struct buf *err)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		buf_addf(err, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	bool ok = fwrite(text->data, 1, text->len, f) == text->len;
	ok = fclose(f) == 0 && ok;
	if (!ok || chmod(path, mode) < 0) {
		buf_addf(err, "cannot write %s", path);
		return -1;
	}
	return 0;
}

/* Appends the bytes of fd, from its start, to out. */
static int os_read_all(int fd, struct buf *out, struct buf *err)
{
	if (lseek(fd, 0, SEEK_SET) < 0) {
		os_err(err, "lseek");
		return -1;
	}
	char chunk[4096];
	ssize_t n;
	while ((n = read(fd, chunk, sizeof chunk)) > 0)
		buf_add(out, chunk, (size_t)n);
	if (n < 0) {
		os_err(err, "read");
		return -1;
	}
	return 0;
}

int os_stderr_of(void (*fn)(void *), void *ctx, struct buf *out, struct buf *err)
{
	char path[] = "/tmp/imapfs-stderr-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0) {
		os_err(err, "mkstemp %s", path);
		return -1;
	}
	unlink(path);
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	if (saved < 0 || dup2(fd, STDERR_FILENO) < 0) {
		os_err(err, "cannot send standard error to a file");
		if (saved >= 0)
			close(saved);
		close(fd);
		return -1;
	}
	fn(ctx);
	fflush(stderr);
	int rc = 0;
	if (dup2(saved, STDERR_FILENO) < 0) {
		os_err(err, "cannot restore standard error");
		rc = -1;
	}
	close(saved);
	if (rc == 0)
		rc = os_read_all(fd, out, err);
	close(fd);
	return rc;
}
