/* harness_cyrus_watchdog.c: the watchdog of a private Cyrus, a forked
 * process that writes Cyrus's syslog into the instance's log and, should
 * the test process die without stopping the instance (a crash, a failed
 * Check test's _exit()), stops the master so that no Cyrus is left
 * running. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "harness_cyrus_impl.h"
#include "harness_os.h"

static void cyrus_watchdog_drain(int sock, int logfd)
{
	char msg[8192];
	ssize_t n;
	while ((n = recv(sock, msg, sizeof msg - 1, MSG_DONTWAIT)) > 0) {
		while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\0'))
			n--;
		msg[n++] = '\n';
		if (write(logfd, msg, (size_t)n) < 0)
			return;
	}
}

/* Runs in a forked child of a possibly threaded process: only async-signal-
 * safe calls.  Appends every syslog datagram to the log; when the pipe ends
 * without a QUIT message (the starting process died), SIGTERMs the master. */
__attribute__((noreturn))
static void cyrus_watchdog_run(int ctl, int sock, int logfd)
{
	int32_t msg[2];
	pid_t master = 0;
	for (;;) {
		struct pollfd pf[2] = { { .fd = ctl, .events = POLLIN }, { .fd = sock, .events = POLLIN } };
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[1].revents)
			cyrus_watchdog_drain(sock, logfd);
		if (!pf[0].revents)
			continue;
		ssize_t n = read(ctl, msg, sizeof msg);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == (ssize_t)sizeof msg && msg[0] == CYRUS_WD_MASTER) {
			master = (pid_t)msg[1];
			continue;
		}
		if (n == (ssize_t)sizeof msg && msg[0] == CYRUS_WD_QUIT) {
			cyrus_watchdog_drain(sock, logfd);
			_exit(0);
		}
		break; /* end of file: nobody is left to stop the instance */
	}
	if (master > 0)
		kill(master, SIGTERM);
	_exit(0);
}

int cyrus_watchdog_start(struct cyrus *c, struct buf *err)
{
	char sockpath[HARNESS_PATH_MAX + 32];
	cyrus_path(c, "syslog.sock", sockpath, sizeof sockpath);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(sockpath) >= sizeof sa.sun_path) {
		buf_addf(err, "socket path too long: %s", sockpath);
		return -1;
	}
	memcpy(sa.sun_path, sockpath, strlen(sockpath) + 1);
	int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int logfd = open(c->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	int p[2] = { -1, -1 };
	if (sock < 0 || logfd < 0 || bind(sock, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    chmod(sockpath, 0666) < 0 || pipe2(p, O_CLOEXEC) < 0) {
		buf_addf(err, "watchdog for %s: %s", c->dir, strerror(errno));
		goto fail;
	}
	pid_t pid = fork();
	if (pid < 0) {
		buf_addf(err, "fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		int keep[3] = { p[0], sock, logfd };
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		os_close_fds_except(3, keep, 3);
		/* Out of the terminal's reach: Ctrl-C ends the test, and then
		 * this one stops Cyrus. */
		setsid();
		const int reset[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE };
		for (size_t i = 0; i < sizeof reset / sizeof reset[0]; i++)
			signal(reset[i], SIG_DFL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		cyrus_watchdog_run(p[0], sock, logfd);
	}
	close(p[0]);
	close(sock);
	close(logfd);
	c->watchdog = pid;
	c->watchdog_fd = p[1];
	return 0;
fail:
	if (sock >= 0)
		close(sock);
	if (logfd >= 0)
		close(logfd);
	if (p[0] >= 0) {
		close(p[0]);
		close(p[1]);
	}
	return -1;
}

void cyrus_watchdog_tell(const struct cyrus *c, int op, pid_t pid)
{
	int32_t msg[2] = { op, (int32_t)pid };
	if (c->watchdog_fd < 0)
		return;
	ssize_t n;
	do
		n = write(c->watchdog_fd, msg, sizeof msg);
	while (n < 0 && errno == EINTR);
}

/* Lets the watchdog log the last lines and leave; kills it if it will not. */
void cyrus_watchdog_stop(struct cyrus *c)
{
	if (c->watchdog <= 0)
		return;
	cyrus_watchdog_tell(c, CYRUS_WD_QUIT, 0);
	if (c->watchdog_fd >= 0)
		close(c->watchdog_fd);
	c->watchdog_fd = -1;
	if (os_child_wait(c->watchdog, LEFTOVER_TIMEOUT_MS, NULL) < 0) {
		kill(c->watchdog, SIGKILL);
		os_child_wait(c->watchdog, LEFTOVER_TIMEOUT_MS, NULL);
	}
	c->watchdog = 0;
}
