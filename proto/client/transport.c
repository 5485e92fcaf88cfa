/* transport.c: TCP connect, spawned commands, and the byte moving that both
 * share; TLS records go through tls.c, COMPRESS=DEFLATE through compress.c
 * (above TLS: deflate inside TLS). */
#include "config.h"
#include "transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "xalloc.h"
#include "tls.h"
#include "clock.h"
#include "compress.h"

extern char **environ;

enum transport_kind { TRANSPORT_TCP, TRANSPORT_SPAWN };

/* How long transport_close lets a spawned command exit by itself after its
 * input closes, and then after SIGTERM, before SIGKILL. */
#define TRANSPORT_EXIT_GRACE_MS 500
#define TRANSPORT_TERM_GRACE_MS 500
/* How long close and shutdown wait for a TLS close_notify to be sent. */
#define TRANSPORT_BYE_MS 200

struct transport {
	enum transport_kind kind;
	int fd;                /* TCP socket, or our end of the command's socketpair */
	pid_t pid;             /* the spawned command, 0 when none */
	int io_timeout_ms;     /* the connect timeout, reused for handshakes */
	int cancel_fd;         /* ends connect and handshake waits when readable; -1: none */
	bool eof;
	bool write_shut;
	char *host;            /* as given to connect: the default TLS server name */
	struct tls_conn *tls;
	struct zstream *z;     /* COMPRESS=DEFLATE once started */
	struct buf desc;       /* the peer, then the TLS parameters once started */
};

/* Milliseconds left until deadline for poll(): -1 when there is none. */
static int transport_ms_left(long long deadline)
{
	if (deadline < 0)
		return -1;
	long long left = deadline - clock_ms();
	if (left <= 0)
		return 0;
	return left > 1000000 ? 1000000 : (int)left;
}

static const char *transport_errno_text(int e)
{
	switch (e) {
	case ECONNREFUSED: return "connection refused";
	case ETIMEDOUT: return "timed out";
	case ENETUNREACH: return "network unreachable";
	case EHOSTUNREACH: return "host unreachable";
	case ECONNRESET: return "connection reset by peer";
	case EPIPE: return "connection closed by peer";
	case EADDRNOTAVAIL: return "address not available";
	case ECANCELED: return "interrupted";
	default: return strerror(e);
	}
}

static struct transport *transport_new(enum transport_kind kind, int fd)
{
	struct transport *t = xcalloc(1, sizeof *t);
	t->kind = kind;
	t->fd = fd;
	t->cancel_fd = -1;
	buf_init(&t->desc);
	return t;
}

static void transport_format_addr(const struct sockaddr *sa, struct buf *out)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
		port = ntohs(in->sin_port);
		buf_addf(out, "%s:%u", host, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
		port = ntohs(in6->sin6_port);
		buf_addf(out, "[%s]:%u", host, port);
	} else {
		buf_addstr(out, "?");
	}
}

/* One non-blocking connect attempt.  Returns the socket, or -1 with the
 * errno-style reason in *why (ETIMEDOUT when the deadline passed,
 * ECANCELED when cancel_fd became readable). */
static int transport_try_connect(const struct addrinfo *ai, long long deadline, int cancel_fd,
				 int *why)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			ai->ai_protocol);
	if (fd < 0) {
		*why = errno;
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS && errno != EINTR) {
		*why = errno;
		close(fd);
		return -1;
	}
	for (;;) {
		struct pollfd p[2] = { { .fd = fd, .events = POLLOUT },
				       { .fd = cancel_fd, .events = POLLIN } };
		int ms = transport_ms_left(deadline);
		if (ms == 0) {
			*why = ETIMEDOUT;
			close(fd);
			return -1;
		}
		int r = poll(p, cancel_fd >= 0 ? 2 : 1, ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			*why = errno;
			close(fd);
			return -1;
		}
		if (r == 0)
			continue; /* the loop re-checks the deadline */
		if (cancel_fd >= 0 && p[1].revents) {
			*why = ECANCELED;
			close(fd);
			return -1;
		}
		int soerr = 0;
		socklen_t len = sizeof soerr;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
			soerr = errno;
		if (soerr) {
			*why = soerr;
			close(fd);
			return -1;
		}
		return fd;
	}
}

static void transport_tune_tcp(int fd)
{
	int one = 1;
	/* IMAP commands are small and latency-bound. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	/* A mounted filesystem holds connections for hours: notice dead peers. */
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
}

int transport_connect_tcp(struct transport **out, const char *host, const char *port,
			  int connect_timeout_ms, struct buf *err)
{
	return transport_connect_tcp_or(out, host, port, connect_timeout_ms, -1, err);
}

int transport_connect_tcp_or(struct transport **out, const char *host, const char *port,
			     int connect_timeout_ms, int cancel_fd, struct buf *err)
{
	*out = NULL;
	if (!host || !*host || !port || !*port) {
		buf_adderr(err, "no host or port to connect to");
		return -1;
	}
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	int g = getaddrinfo(host, port, &hints, &res);
	if (g != 0) {
		buf_adderr(err, "host not found: %s port %s (%s)", host, port,
			   g == EAI_SYSTEM ? strerror(errno) : gai_strerror(g));
		return -1;
	}
	size_t naddr = 0;
	for (const struct addrinfo *ai = res; ai; ai = ai->ai_next)
		naddr++;

	long long deadline = connect_timeout_ms > 0 ? clock_ms() + connect_timeout_ms : -1;
	struct buf why = BUF_INIT;  /* "addr: reason; ..." for every failed address */
	int fd = -1, first_reason = 0;
	bool reasons_differ = false;
	size_t left_addrs = naddr;
	for (const struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next, left_addrs--) {
		int reason = ETIMEDOUT;
		long long attempt_deadline = deadline;
		bool out_of_time = false;
		if (deadline >= 0) {
			/* Share what is left among the remaining addresses so that
			 * one black hole does not use up the whole budget. */
			long long now = clock_ms(), left = deadline - now;
			out_of_time = left <= 0;
			attempt_deadline = now + left / (long long)left_addrs;
		}
		if (!out_of_time) {
			fd = transport_try_connect(ai, attempt_deadline, cancel_fd, &reason);
			if (fd >= 0)
				break;
		}
		if (reason == ECANCELED) {  /* the other addresses are not tried either */
			first_reason = reason;
			reasons_differ = false;
			break;
		}
		if (!first_reason)
			first_reason = reason;
		reasons_differ |= reason != first_reason;
		buf_addstr(&why, why.len ? "; " : "");
		transport_format_addr(ai->ai_addr, &why);
		buf_addf(&why, ": %s", transport_errno_text(reason));
	}
	if (fd < 0) {
		if (reasons_differ)
			buf_adderr(err, "cannot connect to %s port %s: %s", host, port, why.data);
		else
			buf_adderr(err, "cannot connect to %s port %s: %s", host, port,
				   transport_errno_text(first_reason));
		buf_free(&why);
		freeaddrinfo(res);
		return -1;
	}
	buf_free(&why);

	struct sockaddr_storage peer;
	socklen_t plen = sizeof peer;
	struct transport *t = transport_new(TRANSPORT_TCP, fd);
	t->host = xstrdup(host);
	t->io_timeout_ms = connect_timeout_ms > 0 ? connect_timeout_ms : 0;
	t->cancel_fd = cancel_fd;
	transport_tune_tcp(fd);
	buf_addf(&t->desc, "%s (", host);
	if (getpeername(fd, (struct sockaddr *)&peer, &plen) == 0)
		transport_format_addr((struct sockaddr *)&peer, &t->desc);
	else
		buf_addf(&t->desc, "port %s", port);
	buf_addch(&t->desc, ')');
	freeaddrinfo(res);
	*out = t;
	return 0;
}

int transport_spawn(struct transport **out, const char *command, struct buf *err)
{
	*out = NULL;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		buf_adderr(err, "cannot create a socket pair: %s", strerror(errno));
		return -1;
	}
	/* dup2 onto itself would keep close-on-exec: keep the child's end
	 * clear of 0, 1 and 2 when our own standard descriptors are closed. */
	if (sv[1] <= 2) {
		int moved = fcntl(sv[1], F_DUPFD_CLOEXEC, 3);
		if (moved < 0) {
			buf_adderr(err, "cannot set up the command's descriptors: %s",
				   strerror(errno));
			close(sv[0]);
			close(sv[1]);
			return -1;
		}
		close(sv[1]);
		sv[1] = moved;
	}
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
	posix_spawn_file_actions_adddup2(&fa, sv[1], 1);
	posix_spawnattr_init(&attr);
	/* The command starts clean whatever this process (e.g. FUSE's threads)
	 * blocks or ignores. */
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

	char *argv[] = { (char *)"sh", (char *)"-c", (char *)command, NULL };
	pid_t pid = 0;
	int r = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(sv[1]);
	if (r != 0) {
		buf_adderr(err, "cannot run /bin/sh -c %s: %s", command, strerror(r));
		close(sv[0]);
		return -1;
	}
	struct transport *t = transport_new(TRANSPORT_SPAWN, sv[0]);
	t->pid = pid;
	int fl = fcntl(sv[0], F_GETFL);
	if (fl < 0 || fcntl(sv[0], F_SETFL, fl | O_NONBLOCK) < 0) {
		buf_adderr(err, "cannot make the command's socket non-blocking: %s",
			   strerror(errno));
		transport_close(t);
		return -1;
	}
	buf_addf(&t->desc, "command \"%s\" (pid %ld)", command, (long)pid);
	*out = t;
	return 0;
}

int transport_start_tls(struct transport *t, const struct tls_opts *o, struct buf *err)
{
	if (t->kind != TRANSPORT_TCP) {
		buf_adderr(err, "TLS is only available on a TCP connection");
		return -1;
	}
	if (t->tls) {
		buf_adderr(err, "TLS is already active on this connection");
		return -1;
	}
	if (t->eof) {
		buf_adderr(err, "cannot start TLS: the connection is closed");
		return -1;
	}
	int unread = 0;
	if (ioctl(t->fd, FIONREAD, &unread) == 0 && unread > 0) {
		buf_adderr(err, "refusing to start TLS: %d unread bytes arrived before the "
			   "handshake (a plaintext server, or an injection attempt)", unread);
		return -1;
	}
	int timeout = o && o->timeout_ms > 0 ? o->timeout_ms : t->io_timeout_ms;
	if (tls_conn_handshake(&t->tls, t->fd, t->host, o, timeout, t->cancel_fd, err) < 0)
		return -1;
	buf_addf(&t->desc, ", TLS %s", tls_conn_describe(t->tls));
	return 0;
}

/* Sends compressed bytes held back: 1 none left (or no COMPRESS), 0 some
 * left (the socket is full), -1 failure. */
static int transport_flush_z(struct transport *t)
{
	if (!t->z || t->write_shut || !zstream_out_pending(t->z))
		return 1;
	return zstream_flush(t->z, NULL);
}

/* The same, waiting up to timeout_ms for the socket to take them: the
 * last command (LOGOUT) must not stay behind in our buffer. */
static void transport_drain_z(struct transport *t, int timeout_ms)
{
	long long deadline = clock_ms() + timeout_ms;
	while (transport_flush_z(t) == 0) {
		struct pollfd p = { .fd = t->fd, .events = POLLOUT };
		int ms = transport_ms_left(deadline);
		if (ms == 0 || (poll(&p, 1, ms) < 0 && errno != EINTR))
			return;
	}
}

/* Waits for a child to end within timeout_ms.  True once it is reaped (or
 * was reaped by someone else: SIGCHLD ignored). */
static bool transport_reap(pid_t pid, int timeout_ms)
{
	long long deadline = clock_ms() + timeout_ms;
	long step_us = 1000;
	for (;;) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid || (r < 0 && errno == ECHILD))
			return true;
		if (r < 0 && errno != EINTR)
			return true; /* nothing sensible left to wait for */
		if (clock_ms() >= deadline)
			return false;
		struct timespec ts = { 0, step_us * 1000 };
		nanosleep(&ts, NULL);
		if (step_us < 20000)
			step_us *= 2;
	}
}

static void transport_end_child(pid_t pid)
{
	if (transport_reap(pid, TRANSPORT_EXIT_GRACE_MS))
		return;
	kill(pid, SIGTERM);
	if (transport_reap(pid, TRANSPORT_TERM_GRACE_MS))
		return;
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

void transport_close(struct transport *t)
{
	if (!t)
		return;
	if (t->z) {
		if (!t->eof && !t->write_shut)
			transport_drain_z(t, TRANSPORT_BYE_MS);
		zstream_free(t->z);
	}
	if (t->tls) {
		if (!t->eof && !t->write_shut)
			tls_conn_bye(t->tls, TRANSPORT_BYE_MS);
		tls_conn_free(t->tls);
	}
	if (t->fd >= 0)
		close(t->fd); /* the command sees end of input first */
	if (t->pid > 0)
		transport_end_child(t->pid);
	free(t->host);
	buf_free(&t->desc);
	free(t);
}

/* The bytes under COMPRESS: plain socket or TLS records. */
static ssize_t transport_lower_read(void *ctx, void *p, size_t n, struct buf *err)
{
	struct transport *t = ctx;
	if (t->eof) {
		buf_adderr(err, "connection closed by %s",
			   t->kind == TRANSPORT_SPAWN ? "the command" : "server");
		return -1;
	}
	if (n == 0)
		return 0;
	if (t->tls) {
		bool eof = false;
		ssize_t r = tls_conn_read(t->tls, p, n, &eof, err);
		t->eof = eof;
		return r;
	}
	for (;;) {
		ssize_t r = recv(t->fd, p, n, 0);
		if (r > 0)
			return r;
		if (r == 0) {
			t->eof = true;
			buf_adderr(err, "connection closed by %s",
				   t->kind == TRANSPORT_SPAWN ? "the command" : "server");
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		buf_adderr(err, "read failed: %s", transport_errno_text(errno));
		return -1;
	}
}

static ssize_t transport_lower_write(void *ctx, const void *p, size_t n, struct buf *err)
{
	struct transport *t = ctx;
	if (t->tls)
		return tls_conn_write(t->tls, p, n, err);
	if (n == 0)
		return 0;
	for (;;) {
		/* MSG_NOSIGNAL: a peer that went away must not kill us with SIGPIPE. */
		ssize_t r = send(t->fd, p, n, MSG_NOSIGNAL);
		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		buf_adderr(err, "write failed: %s", transport_errno_text(errno));
		return -1;
	}
}

ssize_t transport_read_some(struct transport *t, void *p, size_t n, struct buf *err)
{
	if (!t->z)
		return transport_lower_read(t, p, n, err);
	/* compressed bytes held back go out whenever the session comes by;
	 * a peer that stopped reading may still have said something (BYE),
	 * so a failed flush fails the read only when nothing came */
	struct buf ferr = BUF_INIT;
	int f = t->write_shut ? 1 : zstream_flush(t->z, &ferr);
	ssize_t r = zstream_read(t->z, p, n, err);
	if (f < 0 && r == 0) {
		buf_adderr(err, "%s", ferr.data ? ferr.data : "write failed");
		r = -1;
	}
	buf_free(&ferr);
	return r;
}

ssize_t transport_write_some(struct transport *t, const void *p, size_t n, struct buf *err)
{
	if (t->write_shut) {
		buf_adderr(err, "write after shutdown");
		return -1;
	}
	if (t->z)
		return zstream_write(t->z, p, n, err);
	return transport_lower_write(t, p, n, err);
}

int transport_start_compress(struct transport *t, const void *already, size_t n, struct buf *err)
{
	if (t->z) {
		buf_adderr(err, "COMPRESS is already active on this connection");
		return -1;
	}
	if (t->eof || t->write_shut) {
		buf_adderr(err, "cannot start COMPRESS: the connection is closed");
		return -1;
	}
	struct zlower lower = { transport_lower_read, transport_lower_write, t };
	t->z = zstream_new(&lower, already, n, err);
	if (!t->z)
		return -1;
	buf_addstr(&t->desc, ", COMPRESS=DEFLATE");
	return 0;
}

bool transport_is_compressed(const struct transport *t)
{
	return t->z != NULL;
}

void transport_compress_counts(const struct transport *t, unsigned long long *raw_in,
			       unsigned long long *plain_in, unsigned long long *plain_out,
			       unsigned long long *raw_out)
{
	*raw_in = *plain_in = *plain_out = *raw_out = 0;
	if (t->z)
		zstream_counts(t->z, raw_in, plain_in, plain_out, raw_out);
}

/* Whether fd is readable (or closed) right now. */
static bool transport_fd_ready(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r;
	while ((r = poll(&p, 1, 0)) < 0 && errno == EINTR)
		;
	return r > 0;
}

int transport_wait_any(struct transport *t, bool want_read, bool want_write, int timeout_ms,
		       int cancel_fd, int wake_fd, struct buf *err)
{
	if (want_read && (t->eof || transport_pending(t) > 0))
		return cancel_fd >= 0 && transport_fd_ready(cancel_fd) ? 2 : 1;
	long long deadline = timeout_ms >= 0 ? clock_ms() + timeout_ms : -1;
	/* negative fds are ignored by poll(2) */
	struct pollfd p[3] = { { .fd = t->fd }, { .fd = cancel_fd, .events = POLLIN },
			       { .fd = wake_fd, .events = POLLIN } };
	for (;;) {
		/* compressed bytes the session already handed over are sent
		 * while it waits, even when it has nothing more to write */
		int f = transport_flush_z(t);
		if (f < 0)
			return 1;  /* the next call reports it */
		bool z_out = f == 0;
		p[0].events = (short)((want_read ? POLLIN : 0) | (want_write || z_out ? POLLOUT : 0));
		p[0].revents = 0;
		int ms = transport_ms_left(deadline);
		int r = poll(p, wake_fd >= 0 ? 3 : cancel_fd >= 0 ? 2 : 1, ms);
		if (r > 0 && cancel_fd >= 0 && p[1].revents)
			return 2;  /* before the socket: a flooding server must not hide it */
		if (r > 0 && wake_fd >= 0 && p[2].revents)
			return 3;
		if (r > 0 && !want_write && p[0].revents == POLLOUT) {
			if (transport_ms_left(deadline) == 0)
				return 0;
			continue;  /* writable for our flush alone: flush and wait on */
		}
		if (r > 0)
			return 1; /* including POLLERR/POLLHUP: the next call reports them */
		if (r == 0) {
			if (ms == 0 || transport_ms_left(deadline) == 0)
				return 0;
			continue;
		}
		if (errno != EINTR) {
			buf_adderr(err, "poll failed: %s", strerror(errno));
			return -1;
		}
	}
}

int transport_wait_or(struct transport *t, bool want_read, bool want_write, int timeout_ms,
		      int cancel_fd, struct buf *err)
{
	return transport_wait_any(t, want_read, want_write, timeout_ms, cancel_fd, -1, err);
}

int transport_wait(struct transport *t, bool want_read, bool want_write, int timeout_ms,
		   struct buf *err)
{
	return transport_wait_or(t, want_read, want_write, timeout_ms, -1, err);
}

size_t transport_pending(struct transport *t)
{
	/* inflated bytes, and TLS bytes still to go through inflate: a read
	 * consumes both without the socket turning readable */
	size_t n = t->tls ? tls_conn_pending(t->tls) : 0;
	return n + (t->z ? zstream_pending(t->z) : 0);
}

bool transport_eof(const struct transport *t)
{
	return t->eof;
}

bool transport_is_tls(const struct transport *t)
{
	return t->tls != NULL;
}

void transport_shutdown(struct transport *t)
{
	if (t->write_shut)
		return;
	if (t->z)
		transport_drain_z(t, TRANSPORT_BYE_MS);
	if (t->tls)
		tls_conn_bye(t->tls, TRANSPORT_BYE_MS);
	shutdown(t->fd, SHUT_WR);
	t->write_shut = true;
}

void transport_set_cancel_fd(struct transport *t, int fd)
{
	t->cancel_fd = fd;
}

bool transport_peer_is_local(const struct transport *t)
{
	if (t->kind == TRANSPORT_SPAWN)
		return true;
	struct sockaddr_storage peer;
	socklen_t plen = sizeof peer;
	if (getpeername(t->fd, (struct sockaddr *)&peer, &plen) < 0)
		return false;
	if (peer.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&peer;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (peer.ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)&peer)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

int transport_fd(const struct transport *t)
{
	return t->fd;
}

const char *transport_describe(const struct transport *t)
{
	return t->desc.data;
}
