/* secret.c: the password or token of a mount, read when a login needs it. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "remote/secret.h"
#include "url.h"
#include "xalloc.h"

#define SECRET_TIMEOUT_MS 30000

struct secret {
	pthread_mutex_t lock;
	char *passfile;
	char *passcmd;
	char *user;
	char *host;
	int timeout_ms;
	int cwd;             /* the directory imapfs started in, for the command */
	struct buf value;    /* what was read last; a block of its own */
	bool have;
	bool given;          /* fixed at mount ($IMAPFS_PASSWORD) */
	unsigned runs;
	atomic_bool stopped; /* unmounting: a command running is ended */
};

struct secret *secret_new(const char *passfile, const char *passcmd, const char *given,
			  const char *user, const char *host, int timeout_ms)
{
	struct secret *s = xcalloc(1, sizeof *s);
	pthread_mutex_init(&s->lock, NULL);
	s->passfile = passfile ? xstrdup(passfile) : NULL;
	s->passcmd = passcmd && !passfile ? xstrdup(passcmd) : NULL;
	s->user = xstrdup(user ? user : "");
	s->host = xstrdup(host ? host : "");
	s->timeout_ms = timeout_ms > 0 ? timeout_ms : SECRET_TIMEOUT_MS;
	s->cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	buf_init(&s->value);
	if (given && !s->passfile && !s->passcmd) {
		buf_grow(&s->value, strlen(given) + 1);
		buf_addstr(&s->value, given);
		s->have = s->given = true;
	}
	return s;
}

void secret_free(struct secret *s)
{
	if (!s)
		return;
	buf_wipe(&s->value);
	if (s->cwd >= 0)
		close(s->cwd);
	free(s->passfile);
	free(s->passcmd);
	free(s->user);
	free(s->host);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

bool secret_renewable(const struct secret *s)
{
	return s->passfile || s->passcmd;
}

unsigned secret_runs(const struct secret *s)
{
	pthread_mutex_t *lock = (pthread_mutex_t *)&s->lock;
	pthread_mutex_lock(lock);
	unsigned n = s->runs;
	pthread_mutex_unlock(lock);
	return n;
}

const char *secret_source_name(const struct secret *s)
{
	return s->passfile ? "passfile" : s->passcmd ? "passcmd" : s->given ? "IMAPFS_PASSWORD" : "terminal";
}

/* The child: /bin/sh -c CMD with stdin /dev/null and stdout the pipe, in
 * the directory imapfs started in.  Only async-signal-safe calls: other
 * threads may hold locks the fork copied. */
static void passcmd_child(const struct secret *s, int devnull, int out)
{
	sigset_t none;
	struct sigaction dfl;
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	sigaction(SIGPIPE, &dfl, NULL);
	setpgid(0, 0);
	if (s->cwd >= 0 && fchdir(s->cwd) < 0) {
		/* the start directory is gone: stay where the daemon is */
	}
	if (dup2(devnull, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0)
		_exit(126);
	char *const argv[] = { (char *)"sh", (char *)"-c", s->passcmd, NULL };
	execv("/bin/sh", argv);
	_exit(127);
}

/* Reads fd until its end, the child's exit (a helper may leave a process
 * of its own behind that holds stdout) or the deadline: the first line
 * goes into line (at most URL_SECRET_MAX bytes, no CR LF), the rest is
 * read and dropped so the command never blocks writing it.  *status gets
 * the child's wait status when it was reaped here, else stays -1.  -1
 * past the deadline or once s is stopped (within 100 ms). */
static int passcmd_read(const struct secret *s, int fd, pid_t pid, long long deadline, struct buf *line,
			bool *too_long, int *status)
{
	char chunk[512];
	bool eol = false, exited = false;
	int rc = 0;
	for (;;) {
		long long left = deadline - clock_ms();
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (left <= 0 || atomic_load(&s->stopped)) {
			rc = -1;
			break;
		}
		/* once it exited, only what it wrote before: a process it left
		 * behind may hold the pipe open for ever */
		int r = poll(&p, 1, exited ? 0 : left > 100 ? 100 : (int)left);
		if (r < 0 && errno != EINTR) {
			rc = -1;
			break;
		}
		if (r == 0 && exited)
			break;
		int ws;
		if (r == 0 && waitpid(pid, &ws, WNOHANG) == pid) {
			*status = ws;
			exited = true;  /* it may have written and exited since the poll */
			continue;
		}
		if (r <= 0)
			continue;
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (!eol) {
			char *nl = memchr(chunk, '\n', (size_t)n);
			size_t take = nl ? (size_t)(nl - chunk) : (size_t)n;
			eol = nl != NULL;
			if (line->len + take > URL_SECRET_MAX) {
				*too_long = true;
				take = URL_SECRET_MAX - line->len;
			}
			buf_add(line, chunk, take);  /* room reserved: never moves */
		}
	}
	explicit_bzero(chunk, sizeof chunk);
	if (line->len && line->data[line->len - 1] == '\r')
		buf_truncate(line, line->len - 1);
	return rc;
}

/* Waits for the child until deadline, then kills its process group. */
static int passcmd_reap(pid_t pid, long long deadline)
{
	int st = 0;
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return st;
		if (r < 0 && errno != EINTR)
			return -1;
		if (clock_ms() >= deadline)
			break;
		usleep(10000);
	}
	kill(-pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return -1;
}

static int run_passcmd(struct secret *s, struct buf *out, struct buf *err)
{
	if (atomic_load(&s->stopped)) {
		buf_adderr(err, "passcmd not run: unmounting");
		return -1;
	}
	int fds[2];
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0 || pipe2(fds, O_CLOEXEC) < 0) {
		buf_adderr(err, "passcmd: %s", strerror(errno));
		if (devnull >= 0)
			close(devnull);
		return -1;
	}
	s->runs++;
	long long deadline = clock_ms() + s->timeout_ms;
	pid_t pid = fork();
	if (pid == 0)
		passcmd_child(s, devnull, fds[1]);
	close(devnull);
	close(fds[1]);
	if (pid < 0) {
		buf_adderr(err, "passcmd: fork: %s", strerror(errno));
		close(fds[0]);
		return -1;
	}
	setpgid(pid, pid);  /* also here: the kill below must not miss it */
	struct buf line = BUF_INIT;
	buf_grow(&line, URL_SECRET_MAX + 1);
	bool too_long = false;
	int st = -1;
	int rc = passcmd_read(s, fds[0], pid, deadline, &line, &too_long, &st);
	close(fds[0]);
	if (rc < 0)
		kill(-pid, SIGKILL);
	if (st == -1)
		st = passcmd_reap(pid, rc < 0 ? clock_ms() : deadline);
	if (rc < 0 && atomic_load(&s->stopped))
		buf_adderr(err, "passcmd ended: unmounting");
	else if (rc < 0 || st < 0)
		buf_adderr(err, "passcmd did not finish within %d s", s->timeout_ms / 1000);
	else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		buf_adderr(err, "passcmd failed (%s %d)", WIFEXITED(st) ? "exit status" : "signal",
			   WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	else if (too_long)
		buf_adderr(err, "passcmd: the first line is longer than %d bytes", URL_SECRET_MAX);
	if (rc < 0 || st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || too_long) {
		buf_wipe(&line);
		return -1;
	}
	buf_wipe(out);
	*out = line;
	return 0;
}

static int read_passfile(struct secret *s, struct buf *out, struct buf *err)
{
	struct url_options o = { .passfile = s->passfile };
	struct imap_url u = { .user = s->user };
	if (url_read_password(&o, &u, err) < 0)
		return -1;
	buf_wipe(out);
	buf_grow(out, strlen(u.password) + 1);
	buf_addstr(out, u.password);
	explicit_bzero(u.password, strlen(u.password));
	free(u.password);
	return 0;
}

/* Asks on the terminal without echo (read(2): stdio would keep a copy). */
static int ask_terminal(struct secret *s, struct buf *out, struct buf *err)
{
	if (!isatty(STDIN_FILENO)) {
		buf_adderr(err, "no password: give -o passfile=FILE or passcmd=CMD, or set IMAPFS_PASSWORD");
		return -1;
	}
	fprintf(stderr, "Password for %s@%s: ", s->user, s->host);
	struct termios old, quiet;
	bool tty = tcgetattr(STDIN_FILENO, &old) == 0;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	if (tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
	struct buf pw = BUF_INIT;
	int rc = url_read_secret_line(STDIN_FILENO, &pw, err);
	if (tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &old);
	fputc('\n', stderr);
	if (rc < 0)
		return -1;
	buf_wipe(out);
	buf_grow(out, pw.len + 1);
	buf_add(out, pw.data, pw.len);
	buf_wipe(&pw);
	return 0;
}

static int read_source(struct secret *s, struct buf *out, struct buf *err)
{
	if (s->passfile)
		return read_passfile(s, out, err);
	if (s->passcmd)
		return run_passcmd(s, out, err);
	return ask_terminal(s, out, err);
}

void secret_stop(struct secret *s)
{
	atomic_store(&s->stopped, true);
}

int secret_get(struct secret *s, bool fresh, struct buf *out, struct buf *err)
{
	pthread_mutex_lock(&s->lock);
	int rc = 0;
	if (!s->have || (fresh && secret_renewable(s))) {
		rc = read_source(s, &s->value, err);
		s->have = rc == 0;
	}
	if (rc == 0) {
		buf_wipe(out);
		buf_grow(out, s->value.len + 1);
		buf_add(out, s->value.data, s->value.len);
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}
